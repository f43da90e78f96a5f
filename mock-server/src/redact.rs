//! Redaction: what the journal keeps of a request's headers, query and
//! body. Secrets are removed when a request is recorded, not when it is
//! shown, so nothing read from the journal (admin API, `Debug`, a test's
//! failure message, the request log) can leak a signature, session token
//! or API key.

use http::HeaderMap;

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
                    s.eq_ignore_ascii_case(&crate::percent::percent_decode(&name.replace('+', " ")))
                }) =>
            {
                format!("{name}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The most body bytes a journal entry keeps, so one large request does
/// not make a large entry (the journal's total has its own bound,
/// [`JournalLimits`](crate::JournalLimits)).
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
