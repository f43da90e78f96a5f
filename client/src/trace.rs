//! The trace log: every request the client sends and every answer's head,
//! error bodies whole, for seeing what a session did on the wire. On with
//! `ANTHROPIC_LOG=debug` (or `trace`, `info`), the variable the Anthropic
//! SDKs read; it goes to stderr.
//!
//! Credentials never reach it: `authorization` keeps its scheme, access
//! key id, scope and signed header names but not its signature or key;
//! session tokens, API keys and cookies are replaced whole; so are the
//! signature and token parameters of a presigned URL.

use std::sync::Arc;

use crate::command::OutputSink;

/// Where trace lines go.
#[derive(Clone)]
pub struct Trace {
    sink: OutputSink,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

/// The most of an error body the log shows.
const MAX_BODY_SHOWN: usize = 4096;

impl Trace {
    /// A trace writing to `sink`.
    pub fn new(sink: OutputSink) -> Self {
        Self { sink }
    }

    /// A trace on `stderr` when `ANTHROPIC_LOG` asks for one.
    pub fn from_level(level: Option<&str>, stderr: &OutputSink) -> Option<Self> {
        let level = level?.trim().to_ascii_lowercase();
        matches!(level.as_str(), "trace" | "debug" | "info").then(|| Self::new(Arc::clone(stderr)))
    }

    fn write(&self, text: &str) {
        (self.sink)(text.as_bytes());
    }

    /// A request about to be sent: its line, headers (redacted) and size.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body_bytes: usize,
    ) {
        let mut text = format!("[trace] -> {method} {}\n", redact_url(url));
        for (name, value) in headers {
            text += &format!("[trace]    {name}: {}\n", redact_header(name, value));
        }
        text += &format!("[trace]    ({body_bytes} body bytes)\n");
        self.write(&text);
    }

    /// An answer's head.
    pub fn response(&self, request: &str, status: u16, headers: &http::HeaderMap) {
        let mut text = format!("[trace] <- {status} for {}\n", redact_url(request));
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            text += &format!(
                "[trace]    {name}: {}\n",
                redact_header(name.as_str(), &value)
            );
        }
        self.write(&text);
    }

    /// An error answer's body.
    pub fn error_body(&self, request: &str, body: &[u8]) {
        let shown = &body[..body.len().min(MAX_BODY_SHOWN)];
        let more = body.len() - shown.len();
        let mut text = format!(
            "[trace] <- body of {}: {}",
            redact_url(request),
            String::from_utf8_lossy(shown)
        );
        if more > 0 {
            text += &format!(" ... ({more} more bytes)");
        }
        text.push('\n');
        self.write(&text);
    }

    /// A request that got no answer.
    pub fn failed(&self, request: &str, why: &str) {
        self.write(&format!(
            "[trace] <- no answer for {}: {why}\n",
            redact_url(request)
        ));
    }
}

/// A header's value as the log shows it.
pub fn redact_header(name: &str, value: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "authorization" => redact_authorization(value),
        "x-amz-security-token" | "x-api-key" | "cookie" | "set-cookie" | "proxy-authorization" => {
            "<redacted>".to_owned()
        }
        _ => value.to_owned(),
    }
}

/// SigV4: everything but the signature; any other scheme: the scheme.
fn redact_authorization(value: &str) -> String {
    if value.starts_with("AWS4-HMAC-SHA256 ") {
        if let Some(at) = value.find("Signature=") {
            return format!("{}Signature=<redacted>", &value[..at]);
        }
        return "AWS4-HMAC-SHA256 <redacted>".to_owned();
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} <redacted>"),
        None => "<redacted>".to_owned(),
    }
}

/// A URL or request line with a presigned URL's secrets replaced.
fn redact_url(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let secret = [
                "x-amz-signature",
                "x-amz-security-token",
                "x-amz-credential",
            ]
            .contains(&name.to_ascii_lowercase().as_str());
            if secret {
                format!("{name}=<redacted>")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_traced_without_its_credentials() {
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let trace = Trace::new(Arc::new(move |b: &[u8]| {
            sink.lock().unwrap().extend_from_slice(b)
        }));
        trace.request(
            "POST",
            "http://127.0.0.1:1/model/m/invoke",
            &[("authorization".into(), "Bearer ABSK-secret".into())],
            12,
        );
        let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        assert!(text.contains("authorization: Bearer <redacted>"));
        assert!(!text.contains("ABSK-secret"));
    }

    #[test]
    fn no_credential_survives() {
        let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd";
        assert_eq!(
            redact_header("Authorization", sigv4),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=<redacted>"
        );
        assert_eq!(
            redact_header("authorization", "Bearer ABSKsecret"),
            "Bearer <redacted>"
        );
        assert_eq!(redact_header("authorization", "ABSKsecret"), "<redacted>");
        assert_eq!(
            redact_header("X-Amz-Security-Token", "IQoJsecret"),
            "<redacted>"
        );
        assert_eq!(redact_header("x-api-key", "sk-ant-secret"), "<redacted>");
        assert_eq!(
            redact_header("content-type", "application/json"),
            "application/json"
        );
        assert_eq!(
            redact_url("GET /x?a=1&X-Amz-Signature=abc&X-Amz-Security-Token=tok"),
            "GET /x?a=1&X-Amz-Signature=<redacted>&X-Amz-Security-Token=<redacted>"
        );
    }

    #[test]
    fn only_known_levels_turn_it_on() {
        let sink: OutputSink = Arc::new(|_: &[u8]| {});
        assert!(Trace::from_level(Some("debug"), &sink).is_some());
        assert!(Trace::from_level(Some("TRACE"), &sink).is_some());
        assert!(Trace::from_level(Some("off"), &sink).is_none());
        assert!(Trace::from_level(None, &sink).is_none());
    }
}
