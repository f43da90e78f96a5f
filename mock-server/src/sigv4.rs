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

/// The parsed `Authorization: AWS4-HMAC-SHA256 ...` header, its parts
/// as sent: the credential scope is checked later, in AWS's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    /// `{access key id}/{date}/{region}/{service}/aws4_request`, unchecked.
    pub credential: String,
    pub signed_headers: Vec<String>,
    /// As sent: AWS compares it byte for byte with the lower-case hex it
    /// computes, so upper-case hex does not match.
    pub signature: String,
}

/// The credential scope: the `Credential` part split at its slashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    /// `aws4_request` when well formed.
    pub terminator: String,
}

/// Why an `Authorization` header could not be read; [`Malformed::message`]
/// words it as AWS's IncompleteSignatureException does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The first word is an `AWS4-` algorithm, but not this one (AWS
    /// compares it case-sensitively).
    UnsupportedAlgorithm(String),
    /// A part that is not `key=value`.
    NotKeyValue(String),
    /// Parameters missing (by name), and whether the date is missing too.
    Missing {
        parameters: Vec<&'static str>,
        date: bool,
    },
    /// A `Credential` that is not five slash-delimited elements.
    ScopeParts(String),
}

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parameters AWS requires, in the order its messages name them.
const PARAMETERS: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];

impl Authorization {
    /// Parses the whole header value in AWS's order: the algorithm, each
    /// part a `key=value` (parts are separated by commas or whitespace, and
    /// a repeated part's last value counts), then every missing parameter
    /// and a missing date (`has_date` says whether the request has one)
    /// named together. A scheme that is not `AWS4-…` (`Basic`, `X`) is read
    /// as a header with no parameters, as AWS answers it.
    pub fn parse(value: &str, has_date: bool) -> Result<Self, Malformed> {
        let value = value.trim_matches([' ', '\t']);
        let (word, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        let params = if word == ALGORITHM {
            rest
        } else if word
            .as_bytes()
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case(b"AWS4-"))
        {
            return Err(Malformed::UnsupportedAlgorithm(word.to_owned()));
        } else {
            ""
        };
        let mut found: [Option<&str>; 3] = [None; 3];
        for part in params.split([',', ' ', '\t']).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(Malformed::NotKeyValue(part.to_owned()));
            };
            if let Some(at) = PARAMETERS.iter().position(|name| *name == key) {
                found[at] = Some(value);
            }
        }
        let parameters: Vec<&'static str> = PARAMETERS
            .iter()
            .zip(found)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        match (found, has_date) {
            ([Some(credential), Some(signature), Some(signed_headers)], true) => {
                Ok(Authorization {
                    credential: credential.to_owned(),
                    signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
                    signature: signature.to_owned(),
                })
            }
            _ => Err(Malformed::Missing {
                parameters,
                date: !has_date,
            }),
        }
    }

    /// The credential scope. AWS splits it as Java's `String.split` does,
    /// so trailing slashes are ignored.
    pub fn scope(&self) -> Result<Scope, Malformed> {
        let mut parts: Vec<&str> = self.credential.split('/').collect();
        while parts.last() == Some(&"") {
            parts.pop();
        }
        let [access_key_id, date, region, service, terminator] = parts[..] else {
            return Err(Malformed::ScopeParts(self.credential.clone()));
        };
        Ok(Scope {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            terminator: terminator.to_owned(),
        })
    }

    /// Whether `name` (lower case) is among the signed headers.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

impl Malformed {
    /// AWS's sentence. `header` is the `Authorization` value as it may be
    /// shown (the caller passes it redacted); `raw` is the value as sent,
    /// which the missing-parameter sentence quotes only hashed.
    pub fn message(&self, header: &str, raw: &str) -> String {
        match self {
            Malformed::UnsupportedAlgorithm(word) => {
                format!("Unsupported AWS 'algorithm': '{word}'.")
            }
            Malformed::NotKeyValue(part) => format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            ),
            Malformed::Missing { parameters, date } => {
                let mut sentences: Vec<String> = parameters
                    .iter()
                    .map(|name| format!("Authorization header requires '{name}' parameter."))
                    .collect();
                if *date {
                    sentences.push(MISSING_DATE.to_owned());
                }
                sentences.push(hashed_header(raw));
                sentences.join(" ")
            }
            Malformed::ScopeParts(credential) => format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
            ),
        }
    }
}

/// How Bedrock quotes an `Authorization` header it cannot read: hashed,
/// never as sent. Users' reports of Claude Code sending a bare token
/// (anthropics/claude-code#45081, #45128, claude-code-action#1193) show
/// `… 'SignedHeaders' parameter. (Hashed with SHA-256 and encoded with
/// Base64) Authorization=cQ4NvdQimYUQF6TWcmXs0EbxtO23QVJZkqGmqPqAElg=`,
/// refused with 403.
fn hashed_header(raw: &str) -> String {
    use base64::Engine as _;
    let digest = Sha256::digest(raw.as_bytes());
    format!(
        "(Hashed with SHA-256 and encoded with Base64) Authorization={}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

const MISSING_DATE: &str =
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";

/// The header a request's time is read from: `x-amz-date`, else `date`
/// (AWS's documented order), as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestDate {
    /// `X-Amz-Date` or `Date`, as AWS's messages name it.
    pub header: &'static str,
    /// Its name as signed: lower case.
    pub signed_name: &'static str,
    pub raw: String,
}

impl RequestDate {
    /// The first `x-amz-date`, else the first `date`, if there is one.
    pub fn read(headers: &HeaderMap) -> Option<Self> {
        [("x-amz-date", "X-Amz-Date"), ("date", "Date")]
            .into_iter()
            .find_map(|(signed_name, header)| {
                let value = headers.get(signed_name)?;
                Some(RequestDate {
                    header,
                    signed_name,
                    raw: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                })
            })
    }

    /// The time, in ISO 8601 basic format only, or AWS's sentence saying so.
    pub fn time(&self) -> Result<Utc, String> {
        Utc::parse_amz_date(&self.raw).ok_or_else(|| {
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
                self.raw
            )
        })
    }
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
pub(crate) fn string_to_sign(amz_date: &str, scope: &Scope, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/{}\n{}",
        scope.date,
        scope.region,
        scope.service,
        scope.terminator,
        hex(&Sha256::digest(canonical.as_bytes()))
    )
}

/// The hex signature of `string_to_sign` with the key derived from `secret`
/// (the derived key taken from [`SIGNING_KEYS`] when it holds it).
pub(crate) fn signature(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    let key = SIGNING_KEYS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_derive(secret, scope);
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// The signing key SigV4 derives from `secret` for a scope's date, region,
/// service and terminator: four HMACs.
fn derive_signing_key(secret: &str, scope: &Scope) -> SigningKey {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    for part in [
        scope.region.as_str(),
        scope.service.as_str(),
        scope.terminator.as_str(),
    ] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

type SigningKey = [u8; 32];

/// How many derived signing keys [`SIGNING_KEYS`] holds: a test of many
/// keys, regions or days cannot grow it past this.
const SIGNING_KEYS_HELD: usize = 64;

/// The derived signing keys of the requests checked lately, shared by every
/// server of the process, as the AWS SDKs keep theirs (the JavaScript
/// SDK's `signingKeyCache`, 50 keys; smithy-java's `SigningCache`): a
/// signature check costs one HMAC instead of five while a client signs
/// with the same key, day, region and service.
static SIGNING_KEYS: std::sync::Mutex<SigningKeys> =
    std::sync::Mutex::new(SigningKeys::new(SIGNING_KEYS_HELD));

/// A bounded map from (secret, date, region, service, terminator) to the
/// key derived from them; the oldest entry leaves first when it is full
/// (first in, first out, as both SDKs evict). It holds secrets, so it has
/// no `Debug`: nothing can print it.
struct SigningKeys {
    /// Oldest first; a handful of entries, so a scan is as quick as a hash.
    entries: std::collections::VecDeque<(KeyScope, SigningKey)>,
    bound: usize,
}

/// What a derived key depends on.
#[derive(PartialEq, Eq)]
struct KeyScope {
    secret: String,
    date: String,
    region: String,
    service: String,
    terminator: String,
}

impl KeyScope {
    fn matches(&self, secret: &str, scope: &Scope) -> bool {
        self.date == scope.date
            && self.region == scope.region
            && self.service == scope.service
            && self.terminator == scope.terminator
            && constant_time_eq(self.secret.as_bytes(), secret.as_bytes())
    }
}

impl SigningKeys {
    const fn new(bound: usize) -> Self {
        Self {
            entries: std::collections::VecDeque::new(),
            bound,
        }
    }

    /// The key for `secret` and `scope`: the one held, else derived and
    /// held (the oldest dropped if that makes one too many).
    fn get_or_derive(&mut self, secret: &str, scope: &Scope) -> SigningKey {
        if let Some((_, key)) = self.entries.iter().find(|(k, _)| k.matches(secret, scope)) {
            return *key;
        }
        let key = derive_signing_key(secret, scope);
        if self.entries.len() >= self.bound {
            self.entries.pop_front();
        }
        self.entries.push_back((
            KeyScope {
                secret: secret.to_owned(),
                date: scope.date.clone(),
                region: scope.region.clone(),
                service: scope.service.clone(),
                terminator: scope.terminator.clone(),
            },
            key,
        ));
        key
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Whether `auth.signature` is right for this request, trying the host as
/// sent and then without its port.
pub(crate) fn signature_matches(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    scope: &Scope,
    amz_date: &str,
    secret: &str,
) -> bool {
    [HostForm::AsSent, HostForm::WithoutPort]
        .into_iter()
        .any(|form| {
            let canonical = canonical_request(req, &auth.signed_headers, form);
            let expected = signature(secret, scope, &string_to_sign(amz_date, scope, &canonical));
            constant_time_eq(expected.as_bytes(), auth.signature.as_bytes())
        })
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
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

    const HEADER: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=43c15e157073869d2464a1f9932e9c92b5a113acca9cc523203444a5b7a0978c";

    #[test]
    fn parses_the_header_real_clients_send() {
        let auth = Authorization::parse(HEADER, true).unwrap();
        let scope = auth.scope().unwrap();
        assert_eq!(scope.access_key_id, "AKIDEXAMPLE");
        assert_eq!(scope.region, "us-east-1");
        assert_eq!(scope.service, "bedrock");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        // Whitespace separates parts as commas do, as AWS reads them.
        let spaced = HEADER.replace(", ", " ");
        assert_eq!(Authorization::parse(&spaced, true), Ok(auth));
    }

    #[test]
    fn a_repeated_part_counts_with_its_last_value() {
        let twice = format!("{HEADER}, Signature=00ff");
        assert_eq!(
            Authorization::parse(&twice, true).unwrap().signature,
            "00ff"
        );
    }

    #[test]
    fn the_algorithm_is_compared_case_sensitively() {
        let lower = HEADER.replacen(ALGORITHM, "aws4-hmac-sha256", 1);
        let err = Authorization::parse(&lower, true).unwrap_err();
        assert_eq!(
            err.message("shown", &lower),
            "Unsupported AWS 'algorithm': 'aws4-hmac-sha256'."
        );
        // Another scheme is a header without parameters, quoted hashed
        // (SHA-256 of the value as sent, in base64).
        let err = Authorization::parse("Basic dXNlcjpwYXNz", true).unwrap_err();
        assert_eq!(
            err.message("<redacted>", "Basic dXNlcjpwYXNz"),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. (Hashed with SHA-256 and encoded with Base64) Authorization=AK+rg3mIGeouojwZwNRMjBjZouASr4mu4FWMTXQQcD0="
        );
    }

    #[test]
    fn names_every_missing_part_and_the_date() {
        let raw = "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock/aws4_request";
        let err = Authorization::parse(raw, false).unwrap_err();
        assert_eq!(
            err.message("shown", raw),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. (Hashed with SHA-256 and encoded with Base64) Authorization=SZqPw4wlXU4bUyb5j+MvbBJmtSK/3jAMhqHZTQqEKmk="
        );
        let err = Authorization::parse(HEADER, false).unwrap_err();
        assert_eq!(
            err,
            Malformed::Missing {
                parameters: vec![],
                date: true
            }
        );
        let err = Authorization::parse("AWS4-HMAC-SHA256 Signature 0123abcd", true).unwrap_err();
        assert_eq!(err, Malformed::NotKeyValue("Signature".to_owned()));
        assert_eq!(
            err.message(
                "AWS4-HMAC-SHA256 <redacted>",
                "AWS4-HMAC-SHA256 Signature 0123abcd"
            ),
            "'Signature' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 <redacted>'."
        );
    }

    #[test]
    fn the_scope_has_five_parts_trailing_slashes_ignored() {
        let with = |credential: &str| Authorization {
            credential: credential.to_owned(),
            signed_headers: vec![],
            signature: String::new(),
        };
        assert!(
            with("AKID/20261125/us-east-1/bedrock/aws4_request//")
                .scope()
                .is_ok()
        );
        let err = with("foo/bar/20210531/us-east-1/sts/aws4_request")
            .scope()
            .unwrap_err();
        assert_eq!(
            err.message("", ""),
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'foo/bar/20210531/us-east-1/sts/aws4_request'"
        );
        assert!(with("/AKID/20261125/us-east-1/bedrock").scope().is_ok());
        assert!(with("AKID/x/aws4_request").scope().is_err());
    }

    #[test]
    fn the_date_comes_from_x_amz_date_then_date_in_basic_format() {
        let mut headers = HeaderMap::new();
        assert_eq!(RequestDate::read(&headers), None);
        headers.insert("date", "20261125T162401Z".parse().unwrap());
        let date = RequestDate::read(&headers).unwrap();
        assert_eq!((date.header, date.signed_name), ("Date", "date"));
        assert!(date.time().is_ok());
        headers.insert("x-amz-date", "2026-11-25T16:24:01Z".parse().unwrap());
        let date = RequestDate::read(&headers).unwrap();
        assert_eq!(date.header, "X-Amz-Date");
        assert_eq!(
            date.time().unwrap_err(),
            "Date must be in ISO-8601 'basic format'. Got '2026-11-25T16:24:01Z'. See http://en.wikipedia.org/wiki/ISO_8601"
        );
    }

    #[test]
    fn the_signing_key_chain_matches_the_aws_documentation_example() {
        // AWS's documented example (IAM ListUsers, GET, 2015-08-30).
        let scope = Scope {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            terminator: "aws4_request".into(),
        };
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
        assert_eq!(
            signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope, sts),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    fn iam_example() -> (Scope, &'static str, &'static str) {
        let scope = Scope {
            access_key_id: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            terminator: "aws4_request".into(),
        };
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
        (scope, sts, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    }

    /// The signature made with a key derived afresh, never cached.
    fn uncached(secret: &str, scope: &Scope, sts: &str) -> String {
        hex(&hmac(&derive_signing_key(secret, scope), sts.as_bytes()))
    }

    #[test]
    fn a_cached_key_signs_as_a_derived_one() {
        let (scope, sts, secret) = iam_example();
        let expected = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        assert_eq!(uncached(secret, &scope, sts), expected);
        let mut keys = SigningKeys::new(4);
        for _ in 0..2 {
            let key = keys.get_or_derive(secret, &scope);
            assert_eq!(hex(&hmac(&key, sts.as_bytes())), expected);
        }
        assert_eq!(keys.len(), 1, "the second look-up found the first's key");
        // Through the process's cache, a miss and then a hit.
        for _ in 0..2 {
            assert_eq!(signature(secret, &scope, sts), expected);
        }
        // A wrong secret fails cached as it fails uncached.
        let wrong = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
        assert_ne!(signature(wrong, &scope, sts), expected);
        assert_eq!(signature(wrong, &scope, sts), uncached(wrong, &scope, sts));
    }

    #[test]
    fn another_secret_date_region_or_service_misses() {
        let (scope, sts, secret) = iam_example();
        let mut keys = SigningKeys::new(SIGNING_KEYS_HELD);
        keys.get_or_derive(secret, &scope);
        let mut others: Vec<(String, Scope)> = Vec::new();
        others.push(("another secret".to_owned(), scope.clone()));
        for change in 0..4 {
            let mut other = scope.clone();
            match change {
                0 => other.date = "20150831".into(),
                1 => other.region = "us-west-2".into(),
                2 => other.service = "bedrock".into(),
                _ => other.terminator = "aws4_requesx".into(),
            }
            others.push((secret.to_owned(), other));
        }
        for (n, (secret, other)) in others.iter().enumerate() {
            let key = keys.get_or_derive(secret, other);
            assert_eq!(keys.len(), n + 2, "{n}: a new entry");
            assert_eq!(key, derive_signing_key(secret, other));
            // A request signed for the first scope fails with this key.
            assert_ne!(
                hex(&hmac(&key, sts.as_bytes())),
                uncached("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope, sts)
            );
        }
    }

    #[test]
    fn the_cache_holds_at_most_its_bound_dropping_the_oldest() {
        let (scope, sts, _) = iam_example();
        let mut keys = SigningKeys::new(SIGNING_KEYS_HELD);
        let secret = |n: usize| format!("secret {n}");
        for n in 0..SIGNING_KEYS_HELD * 3 {
            let key = keys.get_or_derive(&secret(n), &scope);
            assert_eq!(
                hex(&hmac(&key, sts.as_bytes())),
                uncached(&secret(n), &scope, sts)
            );
            assert!(keys.len() <= SIGNING_KEYS_HELD);
        }
        assert_eq!(keys.len(), SIGNING_KEYS_HELD);
        // The newest are held, the oldest gone.
        let newest = SIGNING_KEYS_HELD * 3 - 1;
        keys.get_or_derive(&secret(newest), &scope);
        assert_eq!(keys.len(), SIGNING_KEYS_HELD);
        assert!(keys.entries.iter().any(|(k, _)| k.secret == secret(newest)));
        assert!(!keys.entries.iter().any(|(k, _)| k.secret == secret(0)));
    }

    #[test]
    fn port_is_stripped_only_from_host_port_pairs() {
        assert_eq!(strip_port("127.0.0.1:18080"), "127.0.0.1");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
    }
}
