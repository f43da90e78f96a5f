//! A raw HTTP/1.1 client for tests that must control every byte a request
//! carries (captured headers in their order, forged auth) and see every
//! byte of the answer (chunk boundaries).

#![allow(dead_code)]

use std::time::SystemTime;

use aws_sdk_bedrockruntime::config::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// AWS's answer to a signature that does not match (wire.md).
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// AWS's answer to a key id or session token it does not know.
pub const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// 2026-11-25T16:24:01Z: the golden captures' signing time, the fixed
/// "now" of the tests that sign by hand.
pub fn signing_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_623_841)
}

/// The account's example key, as the AWS SDKs take credentials.
pub fn example_credentials() -> Credentials {
    Credentials::new(
        bedrock_mock_server::EXAMPLE_ACCESS_KEY_ID,
        bedrock_mock_server::EXAMPLE_SECRET_ACCESS_KEY,
        None,
        None,
        "test",
    )
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body with chunked encoding removed.
    pub body: Vec<u8>,
    /// The sizes of the HTTP chunks, when the body was chunked.
    pub chunks: Vec<usize>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `(status, code, message)` of a Bedrock REST-JSON error answer: the
    /// code from `x-amzn-ErrorType` (before its `:`), the message from
    /// `message` or the front door's `Message`.
    pub fn bedrock_error(&self) -> (u16, String, String) {
        let code = self
            .header("x-amzn-errortype")
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let json = self.json();
        let message = json
            .get("message")
            .or_else(|| json.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        (self.status, code, message)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends `method target` with `headers` exactly as given (plus
/// `connection: close` unless given) and reads the whole answer.
pub async fn send(
    address: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut request = format!("{method} {target} HTTP/1.1\r\n");
    let mut has_length = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        has_length |= name.eq_ignore_ascii_case("content-length");
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("host: {address}\r\n"));
    }
    if !has_length {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("connection: close\r\n\r\n");
    let mut stream = TcpStream::connect(address)
        .await
        .expect("connect to the mock");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> RawResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if !chunked {
        return RawResponse {
            status,
            headers,
            body: rest.to_vec(),
            chunks: Vec::new(),
        };
    }
    let (mut body, mut chunks, mut at) = (Vec::new(), Vec::new(), 0);
    loop {
        let line_end = at
            + rest[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size line");
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[at..line_end]).unwrap().trim(), 16)
                .unwrap();
        at = line_end + 2;
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[at..at + size]);
        chunks.push(size);
        at += size + 2;
    }
    RawResponse {
        status,
        headers,
        body,
        chunks,
    }
}

/// A request to sign with the aws-sigv4 crate (the AWS SDKs' signer).
pub struct ToSign<'a> {
    pub method: &'a str,
    /// `http://{host}{target}`.
    pub url: &'a str,
    /// The headers to sign, `host` among them.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

/// `request.headers` followed by the ones the signer adds (no
/// `x-amz-content-sha256`, as botocore signs).
pub fn sign_headers(request: &ToSign<'_>, credentials: Credentials) -> Vec<(String, String)> {
    sign_headers_with(request, credentials, SigningSettings::default())
}

/// [`sign_headers`] with the signer's `settings` (the Rust SDK and Claude
/// Code add a signed `x-amz-content-sha256`).
pub fn sign_headers_with(
    request: &ToSign<'_>,
    credentials: Credentials,
    settings: SigningSettings,
) -> Vec<(String, String)> {
    let identity = credentials.into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name(request.service)
        .time(request.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(request.body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (added, _) = instructions.into_parts();
    let mut all = request.headers.to_vec();
    all.extend(
        added
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned())),
    );
    all
}

/// Owned header pairs as the `(&str, &str)` pairs [`send`] takes.
pub fn as_pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}
