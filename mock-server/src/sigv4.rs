//! SigV4 verification: the `Authorization` header parsed, the canonical
//! request rebuilt from the request as it arrived, and the signature
//! recomputed with the account's secret.
//!
//! The canonical request is built from the *raw* path bytes: every service
//! but S3 encodes each path segment once more before signing, so the wire
//! path `/model/a%3Ab/invoke` is signed as `/model/a%253Ab/invoke` and the
//! wire path `/model/a:b/invoke` as `/model/a%3Ab/invoke`. A router that
//! percent-decodes first cannot verify either.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::percent::{percent_decode_bytes, uri_encode};
use crate::timefmt::Utc;

/// The parsed `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub access_key_id: String,
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
}

/// Why an `Authorization` header could not be parsed. The texts are AWS's
/// IncompleteSignatureException sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

impl Authorization {
    /// Parses the part after `AWS4-HMAC-SHA256 `, refusing what AWS
    /// refuses, in its order: a part that is not `key=value`, missing
    /// parts, a credential scope of the wrong shape, a signature that is
    /// not 64 hex digits.
    pub fn parse(params: &str) -> Result<Self, Malformed> {
        let [credential, signature, signed_headers] = named_parts(params)?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, scope_date, region, service, terminator] = scope[..] else {
            return Err(Malformed(format!(
                "Credential should have exactly 5 parts: {{access key id}}/{{date}}/{{region}}/{{service}}/aws4_request, \
                 but had {}.",
                scope.len()
            )));
        };
        if terminator != "aws4_request" {
            return Err(Malformed(
                "Credential should be scoped with a valid terminator: 'aws4_request'.".to_owned(),
            ));
        }
        if !(signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(Malformed(
                "Signature should be 64 hexadecimal characters.".to_owned(),
            ));
        }
        Ok(Authorization {
            access_key_id: access_key_id.to_owned(),
            scope_date: scope_date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
            signature: signature.to_ascii_lowercase(),
        })
    }
}

/// The header's `Credential`, `Signature` and `SignedHeaders`, in that
/// order; every missing one is named.
fn named_parts(params: &str) -> Result<[&str; 3], Malformed> {
    const NAMES: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];
    let mut found: [Option<&str>; 3] = [None; 3];
    for part in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            // AWS quotes the offending part; it may hold the signature,
            // which must not reach an error body.
            return Err(Malformed(
                "A part of the Authorization header is not a valid key=value pair (missing equal-sign)."
                    .to_owned(),
            ));
        };
        if let Some(at) = NAMES.iter().position(|name| *name == key) {
            found[at] = Some(value);
        }
    }
    let missing: Vec<String> = NAMES
        .iter()
        .zip(found)
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
        .collect();
    if !missing.is_empty() {
        return Err(Malformed(missing.join(" ")));
    }
    Ok(found.map(Option::unwrap_or_default))
}

/// The parts of a received request that SigV4 covers.
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as received, before any percent-decoding.
    pub raw_path: &'a str,
    /// The query exactly as received, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// How the `host` header is put into the canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostForm {
    /// As received.
    AsSent,
    /// Without its `:port`: some SDKs sign the host without a port they
    /// nonetheless send.
    WithoutPort,
}

/// `CanonicalRequest` as the SigV4 specification defines it.
pub(crate) fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
    host_form: HostForm,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.raw_path));
    out.push('\n');
    out.push_str(&canonical_query(req.raw_query));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                let v = collapse_spaces(&String::from_utf8_lossy(v.as_bytes()));
                if name == "host" && host_form == HostForm::WithoutPort {
                    strip_port(&v).to_owned()
                } else {
                    v
                }
            })
            .collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&hex(&Sha256::digest(req.body)));
    out
}

/// Each segment of the raw path, URI-encoded once more.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    raw_path
        .split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Parameters decoded, re-encoded strictly, and sorted by name then value.
pub(crate) fn canonical_query(raw_query: &str) -> String {
    let mut params: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(percent_decode_bytes(k)),
                uri_encode(percent_decode_bytes(v)),
            )
        })
        .collect();
    params.sort();
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string SigV4 signs.
pub(crate) fn string_to_sign(amz_date: &str, auth: &Authorization, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.scope_date,
        auth.region,
        auth.service,
        hex(&Sha256::digest(canonical.as_bytes()))
    )
}

/// The hex signature of `string_to_sign` with the key derived from `secret`.
pub(crate) fn signature(secret: &str, auth: &Authorization, string_to_sign: &str) -> String {
    let mut key = hmac(
        format!("AWS4{secret}").as_bytes(),
        auth.scope_date.as_bytes(),
    );
    for part in [auth.region.as_str(), auth.service.as_str(), "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// Whether `auth.signature` is right for this request, trying the host as
/// sent and then without its port.
pub(crate) fn signature_matches(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    amz_date: &str,
    secret: &str,
) -> bool {
    [HostForm::AsSent, HostForm::WithoutPort]
        .into_iter()
        .any(|form| {
            let canonical = canonical_request(req, &auth.signed_headers, form);
            let expected = signature(secret, auth, &string_to_sign(amz_date, auth, &canonical));
            constant_time_eq(expected.as_bytes(), auth.signature.as_bytes())
        })
}

/// The `x-amz-date` of a request, parsed.
pub(crate) fn request_time(headers: &HeaderMap) -> Option<(String, Utc)> {
    let raw = headers.get("x-amz-date")?.to_str().ok()?;
    Utc::parse_amz_date(raw).map(|t| (raw.to_owned(), t))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Equal secrets, compared without stopping at the first difference, so
/// the time taken does not tell how much of a guess was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SigV4's header value rule: trim, and turn runs of spaces into one.
fn collapse_spaces(v: &str) -> String {
    let words: Vec<&str> = v
        .trim_matches([' ', '\t'])
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    words.join(" ")
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        // An IPv6 literal without a port ends in `]`.
        Some((h, port)) if !port.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_encodes_the_wire_path_once_more() {
        assert_eq!(
            canonical_uri("/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"),
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
        );
        assert_eq!(
            canonical_uri(
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fabc/invoke"
            ),
            "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Aapplication-inference-profile%252Fabc/invoke"
        );
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        assert_eq!(
            canonical_query("type=SYSTEM_DEFINED&maxResults=5"),
            "maxResults=5&type=SYSTEM_DEFINED"
        );
        assert_eq!(
            canonical_query("nextToken=a%2Fb%3D&x"),
            "nextToken=a%2Fb%3D&x="
        );
        assert_eq!(canonical_query(""), "");
        // Bytes that are not UTF-8 are signed as sent.
        assert_eq!(canonical_query("v=%FF"), "v=%FF");
    }

    #[test]
    fn parses_the_header_real_clients_send() {
        let auth = Authorization::parse(
            "Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=43c15e157073869d2464a1f9932e9c92b5a113acca9cc523203444a5b7a0978c",
        )
        .unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.region, "us-east-1");
        assert_eq!(auth.service, "bedrock");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
    }

    #[test]
    fn names_every_missing_part() {
        let err = Authorization::parse("Credential=AKID/20261125/us-east-1/bedrock/aws4_request")
            .unwrap_err();
        assert_eq!(
            err.0,
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
        );
        assert!(
            Authorization::parse(
                "Credential=AKID/x/aws4_request, SignedHeaders=host, Signature=00"
            )
            .is_err()
        );
        let err = Authorization::parse("Signature 0123abcd").unwrap_err();
        assert!(
            err.0.contains("missing equal-sign") && !err.0.contains("0123abcd"),
            "{}",
            err.0
        );
    }

    #[test]
    fn the_signing_key_chain_matches_the_aws_documentation_example() {
        // AWS's documented example (IAM ListUsers, GET, 2015-08-30).
        let auth = Authorization {
            access_key_id: "AKIDEXAMPLE".into(),
            scope_date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            signed_headers: vec![],
            signature: String::new(),
        };
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
        assert_eq!(
            signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &auth, sts),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn port_is_stripped_only_from_host_port_pairs() {
        assert_eq!(strip_port("127.0.0.1:18080"), "127.0.0.1");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
    }
}
