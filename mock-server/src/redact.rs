//! Redaction: what the journal keeps of a request's headers, query and
//! body. Secrets are removed when a request is recorded, not when it is
//! shown, so nothing read from the journal (admin API, `Debug`, a test's
//! failure message, the request log) can leak a signature, session token
//! or API key.

use http::HeaderMap;

use crate::config::{Credential, ServerConfig};

/// Header names whose values are secrets in full.
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-sso_bearer_token",
    "x-api-key",
    "cookie",
    "proxy-authorization",
];

/// Every secret of the account: its secret keys and session tokens (set,
/// queued, and `handed_out` while it runs), API keys and SSO tokens. For
/// texts that quote what a request sent, where a secret sent in the wrong
/// place (a secret key where the key id belongs) would otherwise show.
pub(crate) fn account_secrets<'a>(
    config: &'a ServerConfig,
    handed_out: &'a [Credential],
) -> impl Iterator<Item = &'a str> {
    let keys = config
        .credentials
        .iter()
        .chain(&config.next_credentials)
        .chain(handed_out)
        .flat_map(|c| {
            [
                Some(c.secret_access_key.as_str()),
                c.session_token.as_deref(),
            ]
        })
        .flatten();
    let bearers = config
        .api_keys
        .iter()
        .chain(&config.sso_tokens)
        .map(|k| k.key.as_str());
    keys.chain(bearers)
}

/// `headers` in arrival order with every secret replaced: the known
/// secret headers whole, the `Authorization` signature, any of the
/// account's `secrets` wherever it was put, and a signature-length hex run
/// in the two headers a SigV4 refusal quotes (`Authorization`,
/// `x-amz-date`; elsewhere such runs are hashes and trace ids).
pub(crate) fn redact_headers(headers: &HeaderMap, secrets: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let secrets = secrets.iter().copied();
            let shown = if name == http::header::AUTHORIZATION {
                scrub(&redact_authorization(&value), secrets)
            } else if SECRET_HEADERS.contains(&name.as_str()) {
                "<redacted>".to_owned()
            } else if name == "x-amz-date" {
                scrub(&value, secrets)
            } else {
                without(&value, secrets)
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

/// `text` with each of `secrets` (the empty one aside) and every run of
/// 32 or more hex digits (a signature, wherever it was put) replaced by
/// `<redacted>`: for refusals that quote what a request sent, as AWS's
/// do, when what it sent may hold a secret in the wrong place.
pub(crate) fn scrub<'s>(text: &str, secrets: impl IntoIterator<Item = &'s str>) -> String {
    let text = without(text, secrets);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        out.push_str(if run.len() >= 32 { "<redacted>" } else { run });
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `text` with each of `secrets` (the empty one aside) replaced by
/// `<redacted>`.
fn without<'s>(text: &str, secrets: impl IntoIterator<Item = &'s str>) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() && text.contains(secret) {
            text = text.replace(secret, "<redacted>");
        }
    }
    text
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
        let shown = format!("{:?}", redact_headers(&headers, &[]));
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

    #[test]
    fn scrub_removes_known_secrets_and_long_hex_runs() {
        let signature = "43c15e157073869d2464a1f9932e9c92b5a113acca9cc523203444a5b7a0978c";
        let text =
            format!("got 'wJalr/K7MDENG/20261125/us-east-1/{signature}' at 20261125T162401Z");
        assert_eq!(
            scrub(&text, ["wJalr/K7MDENG", ""]),
            "got '<redacted>/20261125/us-east-1/<redacted>' at 20261125T162401Z"
        );
        assert_eq!(scrub("AKIDEXAMPLE", []), "AKIDEXAMPLE");
    }
}
