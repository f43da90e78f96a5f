//! The tampering proxy of a scenario's `[client.transit]`: it sits
//! between the client and the mock, changes each request the way a broken
//! client or a rewriting gateway would (a signed header changed or
//! removed, the path encoded again, a signature for the wrong service),
//! and passes the answer back as it comes, byte for byte, cuts
//! and all. So the mock's refusal of a broken request can be reproduced
//! with any client, `bedrock-client` in-process or the real CLI.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bedrock_mock_server::{MockBedrock, Timestamp};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::format::{Scenario, Transit};

/// Where the mock's admin API lives: requests to it pass untouched (the
/// refresh commands the runner writes call it).
const ADMIN_PREFIX: &str = "/__bedrock_mock/";

/// A running proxy; it stops when dropped.
pub struct Proxy {
    uri: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// The URI the client is given as `{mock}`.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

/// The URI the client of `scenario` is given as `{mock}`: the mock's, or,
/// when the scenario has a transit, a proxy's in front of it (kept alive
/// by the returned [`Proxy`]).
pub async fn client_uri(
    scenario: &Scenario,
    server: &MockBedrock,
) -> Result<(String, Option<Proxy>), String> {
    let transit = &scenario.client.transit;
    if transit.is_empty() {
        return Ok((server.uri(), None));
    }
    let proxy = start(transit.clone(), server.address(), secrets(scenario)).await?;
    Ok((proxy.uri.clone(), Some(proxy)))
}

/// The account's secret keys by access key id, for re-signing.
fn secrets(scenario: &Scenario) -> BTreeMap<String, String> {
    let server = &scenario.server;
    server
        .credentials
        .iter()
        .chain(&server.next_credentials)
        .map(|c| (c.access_key_id.clone(), c.secret_access_key.clone()))
        .collect()
}

/// What the proxy holds for each request.
struct Tamper {
    transit: Transit,
    upstream: SocketAddr,
    secrets: BTreeMap<String, String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Starts a proxy on 127.0.0.1 (port 0) in front of `upstream`.
async fn start(
    transit: Transit,
    upstream: SocketAddr,
    secrets: BTreeMap<String, String>,
) -> Result<Proxy, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("client.transit: the proxy could not listen: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("client.transit: {e}"))?;
    let tamper = Arc::new(Tamper {
        transit,
        upstream,
        secrets,
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tamper = Arc::clone(&tamper);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let tamper = Arc::clone(&tamper);
                    async move { tamper.pass_on(request).await }
                });
                // A connection the mock cut is cut here too: the service's
                // error closes it without an answer.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Ok(Proxy {
        uri: format!("http://{address}"),
        task,
    })
}

/// A body passed back as it comes, or the proxy's own refusal.
type Answer = Response<BoxBody<Bytes, hyper::Error>>;

/// Why a request got no answer from upstream: a proxy's service returns
/// it so the client's connection is closed too (the transit's, and
/// `record`'s).
#[derive(Debug)]
pub(crate) struct NoAnswer(pub String);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoAnswer {}

impl Tamper {
    /// The request, changed, to the mock; its answer back.
    async fn pass_on(&self, request: Request<Incoming>) -> Result<Answer, NoAnswer> {
        let (mut parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| NoAnswer(format!("the client's body: {e}")))?
            .to_bytes();
        let path = parts.uri.path().to_owned();
        let mut path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), ToString::to_string);
        if !path.starts_with(ADMIN_PREFIX) {
            let method = parts.method.clone();
            let changed = self.change(&method, &mut parts.headers, &mut path_and_query, &body);
            if let Err(refusal) = changed {
                return Ok(refused(&refusal));
            }
        }
        parts.uri = format!("http://{}{path_and_query}", self.upstream)
            .parse()
            .map_err(|e| NoAnswer(format!("the changed path: {e}")))?;
        let forwarded = Request::from_parts(parts, Full::new(body));
        let answer = self
            .client
            .request(forwarded)
            .await
            .map_err(|e| NoAnswer(format!("the mock gave no answer: {e}")))?;
        Ok(answer.map(|body: Incoming| body.boxed()))
    }

    /// Applies the transit to a request: headers removed, set (replacing
    /// every value of the name), the path encoded again, and last
    /// the signature made again, over the changed request.
    fn change(
        &self,
        method: &http::Method,
        headers: &mut HeaderMap,
        path_and_query: &mut String,
        body: &[u8],
    ) -> Result<(), String> {
        let transit = &self.transit;
        for name in &transit.remove_headers {
            headers.remove(header_name(name)?);
        }
        for (name, value) in &transit.set_headers {
            headers.insert(header_name(name)?, header_value(value)?);
        }
        if transit.reencode_path {
            let (path, query) = match path_and_query.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (path_and_query.as_str(), None),
            };
            let encoded = encode_again(path);
            *path_and_query = match query {
                Some(query) => format!("{encoded}?{query}"),
                None => encoded,
            };
        }
        if let Some(service) = &transit.resign_service {
            self.sign_again(method, headers, path_and_query, body, service)?;
        }
        Ok(())
    }

    /// Signs the request again for `service`, with the secret of the
    /// access key it was signed with and its scope's region and time.
    fn sign_again(
        &self,
        method: &http::Method,
        headers: &mut HeaderMap,
        path_and_query: &str,
        body: &[u8],
        service: &str,
    ) -> Result<(), String> {
        let scope = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(SigV4Scope::of)
            .ok_or("the request is not signed with SigV4, so it cannot be signed again")?;
        let secret = self.secrets.get(&scope.access_key_id).ok_or_else(|| {
            format!(
                "access key {} is not one of the account's `credentials`, so its secret is unknown",
                scope.access_key_id
            )
        })?;
        let token = headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let time = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .and_then(amz_date)
            .unwrap_or_else(SystemTime::now);
        for name in ["authorization", "x-amz-date", "x-amz-security-token"] {
            headers.remove(name);
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let credentials = aws_credential_types::Credentials::new(
            scope.access_key_id,
            secret.clone(),
            token,
            None,
            "transit",
        );
        let url = format!("http://{host}{path_and_query}");
        let signing = Signing {
            credentials,
            region: &scope.region,
            service,
            time,
        };
        let added = signature_headers(method, &url, headers, body, signing)?;
        for (name, value) in added {
            headers.insert(header_name(&name)?, header_value(&value)?);
        }
        Ok(())
    }
}

/// Who signs, for what and when.
pub(crate) struct Signing<'a> {
    pub credentials: aws_credential_types::Credentials,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

/// The headers SigV4 adds to a request (`authorization`, `x-amz-date`,
/// `x-amz-security-token`), signed as `signing` says over every header it
/// has.
pub(crate) fn signature_headers(
    method: &http::Method,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
    signing: Signing<'_>,
) -> Result<Vec<(String, String)>, String> {
    let identity = signing.credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(aws_sigv4::http_request::SigningSettings::default())
        .build()
        .map_err(|e| format!("signing again: {e}"))?
        .into();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = aws_sigv4::http_request::SignableRequest::new(
        method.as_str(),
        url,
        pairs.into_iter(),
        aws_sigv4::http_request::SignableBody::Bytes(body),
    )
    .map_err(|e| format!("signing again: {e}"))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| format!("signing again: {e}"))?
        .into_parts();
    let (added, _) = instructions.into_parts();
    Ok(added
        .iter()
        .map(|h| (h.name().to_owned(), h.value().to_owned()))
        .collect())
}

/// The parts of a SigV4 `Authorization` the proxy signs again with.
pub(crate) struct SigV4Scope {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

impl SigV4Scope {
    /// `AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock/aws4_request, …`.
    pub(crate) fn of(authorization: &str) -> Option<Self> {
        let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let credential = rest
            .split(',')
            .find_map(|part| part.trim().strip_prefix("Credential="))?;
        let mut scope = credential.split('/');
        let access_key_id = scope.next()?.to_owned();
        let region = scope.nth(1)?.to_owned();
        let service = scope.next()?.to_owned();
        Some(Self {
            access_key_id,
            region,
            service,
        })
    }
}

/// `x-amz-date` (`20261125T120000Z`) as a time.
pub(crate) fn amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    serde_json::from_value::<Timestamp>(iso.into())
        .ok()
        .map(|t| t.0)
}

/// `path` percent-encoded once more: every byte but unreserved ones and
/// `/` (so `%` itself becomes `%25`).
fn encode_again(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not an HTTP header name"))
}

fn header_value(value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| format!("`{value}` is not an HTTP header value"))
}

/// The proxy's own answer when it cannot do what the transit says: a 502
/// naming why, which the scenario's expectations then show.
fn refused(why: &str) -> Answer {
    let body = Full::new(Bytes::from(format!("client.transit: {why}")))
        .map_err(|never: Infallible| match never {})
        .boxed();
    let mut answer = Response::new(body);
    *answer.status_mut() = http::StatusCode::BAD_GATEWAY;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_once_more() {
        assert_eq!(
            encode_again("/model/us.anthropic.claude-opus-4-5-20251101-v1:0/invoke"),
            "/model/us.anthropic.claude-opus-4-5-20251101-v1%3A0/invoke"
        );
        assert_eq!(
            encode_again("/model/arn%3Aaws%2Fx/invoke"),
            "/model/arn%253Aaws%252Fx/invoke"
        );
    }

    #[test]
    fn the_scope_and_time_of_a_signature_are_read() {
        let scope = SigV4Scope::of(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/bedrock/aws4_request, SignedHeaders=host, Signature=00",
        )
        .unwrap();
        assert_eq!(
            (scope.access_key_id.as_str(), scope.region.as_str()),
            ("AKIDEXAMPLE", "eu-west-1")
        );
        assert!(SigV4Scope::of("Bearer abc").is_none());
        let at = amz_date("20261125T120000Z").unwrap();
        assert_eq!(at, crate::scenario::format::default_start());
        assert_eq!(amz_date("2026-11-25"), None);
    }
}
