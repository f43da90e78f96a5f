//! The journal: every request the server saw, with secrets redacted before
//! anything is stored.
//!
//! Redaction happens when a request is recorded, not when it is shown, so
//! nothing read from the journal (admin API, `Debug`, a test's failure
//! message, the request log) can leak a signature, session token or API
//! key. The account's own secrets live in [`crate::ServerConfig`], which a
//! test wrote and may read back; they are never copied into the journal.

use std::sync::{Arc, Mutex};

use http::HeaderMap;
use serde::Serialize;

use crate::config::Timestamp;
use crate::rules::Operation;

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// When it arrived, by the server's clock.
    pub time: Timestamp,
    /// HTTP method.
    pub method: String,
    /// The path as received, before percent-decoding.
    pub raw_path: String,
    /// The query as received, without `?`, presigning secrets redacted.
    pub query: String,
    /// Headers, secrets redacted (grouped by name, first-arrival order).
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 (lossy), cut after [`MAX_RECORDED_BODY`] bytes.
    pub body: String,
    /// The operation the path named, if any.
    pub operation: Option<Operation>,
    /// The model or profile id, decoded from the path.
    pub model_id: Option<String>,
    /// What authentication decided.
    pub auth: AuthRecord,
    /// The rule that answered, if one did.
    pub rule: Option<String>,
    /// Response status.
    pub status: u16,
    /// The error code, for error answers.
    pub error_type: Option<String>,
    /// `x-amzn-requestid` of the answer.
    pub request_id: String,
    /// What the answer's body was made of, in order: stream frames
    /// (`chunk:<event type>`, `exception:<exception type>`, Mantle's
    /// `sse:<event type>`) and `stall` where a rule's stall began (alone for a
    /// stall before the head), then `gave-up` if the in-process client
    /// sharing a fixed clock gave up during it.
    pub frames: Vec<String>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), as recorded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthRecord {
    /// `sigv4`, `bearer`, `none` or `off`.
    pub scheme: String,
    /// The access key id (SigV4); never the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The region of the SigV4 scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The service of the SigV4 scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Whether the request was let through.
    pub accepted: bool,
    /// Why it was rejected, in AWS's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Header names whose values are secrets in full.
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-sso_bearer_token",
    "x-api-key",
    "cookie",
    "proxy-authorization",
];

/// `headers` in arrival order with every secret replaced.
pub(crate) fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let shown = if name == http::header::AUTHORIZATION {
                redact_authorization(&value)
            } else if SECRET_HEADERS.contains(&name.as_str()) {
                "<redacted>".to_owned()
            } else {
                value.into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// Keeps what identifies the caller (scheme, access key id, scope, signed
/// headers) and drops what would let anyone act as it. Only the first word
/// of a kept value survives, so a header with spaces where commas belong
/// cannot smuggle its signature through.
pub(crate) fn redact_authorization(value: &str) -> String {
    if let Some(params) = value.strip_prefix("AWS4-HMAC-SHA256") {
        let kept: Vec<String> = params
            .split(',')
            .map(|part| {
                let part = part.trim();
                match part.split_once('=') {
                    Some((key @ ("Credential" | "SignedHeaders"), value)) => {
                        let value = value.split_whitespace().next().unwrap_or_default();
                        let rest = if part.len() > key.len() + 1 + value.len() {
                            " <redacted>"
                        } else {
                            ""
                        };
                        format!("{key}={value}{rest}")
                    }
                    Some(("Signature", _)) => "Signature=<redacted>".to_owned(),
                    _ => "<redacted>".to_owned(),
                }
            })
            .collect();
        return format!("AWS4-HMAC-SHA256 {}", kept.join(", "));
    }
    let scheme = value.split_whitespace().next().unwrap_or_default();
    if scheme.eq_ignore_ascii_case("bearer") {
        "Bearer <redacted>".to_owned()
    } else {
        "<redacted>".to_owned()
    }
}

/// Query (and STS form) parameters whose values are secrets: presigning's
/// signature and token, a web identity token, an MFA code.
const SECRET_QUERY_PARAMS: &[&str] = &[
    "x-amz-signature",
    "x-amz-security-token",
    "WebIdentityToken",
    "TokenCode",
];

/// The raw query with the values of secret parameters replaced.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            // Names are compared decoded: the service decodes them, so
            // `WebIdentity%54oken` is the same parameter.
            Some((name, _))
                if SECRET_QUERY_PARAMS.iter().any(|s| {
                    s.eq_ignore_ascii_case(&crate::sigv4::percent_decode(&name.replace('+', " ")))
                }) =>
            {
                format!("{name}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The most body bytes a journal entry keeps, so a long-running server's
/// journal stays bounded however large the requests.
pub const MAX_RECORDED_BODY: usize = 1 << 20;

/// The body as recorded: UTF-8 (lossy), cut after [`MAX_RECORDED_BODY`].
pub(crate) fn recorded_body(body: &[u8]) -> String {
    if body.len() <= MAX_RECORDED_BODY {
        return String::from_utf8_lossy(body).into_owned();
    }
    format!(
        "{}…[{} more bytes]",
        String::from_utf8_lossy(&body[..MAX_RECORDED_BODY]),
        body.len() - MAX_RECORDED_BODY
    )
}

/// The journal itself: append-only until reset.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    list: Vec<RecordedRequest>,
    /// Where each request's entry is in `list`, by its `seq`: a streamed
    /// frame finds its entry at once, however many streams are open.
    position: std::collections::HashMap<u64, usize>,
}

impl Journal {
    pub fn push(&self, entry: RecordedRequest) {
        let mut entries = self.lock();
        let at = entries.list.len();
        entries.position.insert(entry.seq, at);
        entries.list.push(entry);
    }

    /// Marks request `seq` `gave-up` when called: handed to a stall, for
    /// the moment its client gives up.
    pub(crate) fn gave_up_mark(self: &Arc<Self>, seq: u64) -> Box<dyn FnOnce() + Send> {
        let journal = Arc::clone(self);
        Box::new(move || journal.frame_sent(seq, "gave-up".to_owned()))
    }

    /// Appends a frame label to request `seq`'s record.
    pub fn frame_sent(&self, seq: u64, label: String) {
        let mut entries = self.lock();
        if let Some(&at) = entries.position.get(&seq) {
            entries.list[at].frames.push(label);
        }
    }

    /// How many requests are recorded.
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// Every entry in order of arrival (entries are pushed when answered,
    /// so a slow upload can finish after a later request).
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        let mut entries = self.lock().list.clone();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    /// How many requests each access key id signed (accepted or not).
    pub fn requests_by_access_key(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for key in self
            .lock()
            .list
            .iter()
            .filter_map(|r| r.auth.access_key_id.as_ref())
        {
            *counts.entry(key.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.list.clear();
        entries.position.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Entries are whole values pushed under the lock; a panic elsewhere
        // cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_and_tokens_never_survive() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=deadbeef"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-security-token", "SESSIONTOKEN".parse().unwrap());
        let shown = format!("{:?}", redact_headers(&headers));
        assert!(
            !shown.contains("deadbeef") && !shown.contains("SESSIONTOKEN"),
            "{shown}"
        );
        assert!(shown.contains("Credential=AKID/20261125/us-east-1/bedrock/aws4_request"));
        assert_eq!(
            redact_authorization("Bearer ABSKsecret"),
            "Bearer <redacted>"
        );
        let spaced = redact_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/bedrock/aws4_request SignedHeaders=host Signature=c0ffee",
        );
        assert!(!spaced.contains("c0ffee"), "{spaced}");
        assert_eq!(
            redact_query("X-Amz-Credential=AKID&X-Amz-Signature=c0ffee&x-amz-security-token=tok"),
            "X-Amz-Credential=AKID&X-Amz-Signature=<redacted>&x-amz-security-token=<redacted>"
        );
        assert_eq!(redact_authorization("Basic dXNlcjpwYXNz"), "<redacted>");
        assert_eq!(
            redact_authorization("AWS4-HMAC-SHA256 Credential=A/x, Junk=secret"),
            "AWS4-HMAC-SHA256 Credential=A/x, <redacted>"
        );
    }
}
