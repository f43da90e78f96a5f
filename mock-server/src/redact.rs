//! Redaction: what the journal keeps of a request's headers, query and
//! body. Secrets are removed when a request is recorded, not when it is
//! shown, so nothing read from the journal (admin API, `Debug`, a test's
//! failure message, the request log) can leak a signature, session token
//! or API key.

use http::HeaderMap;

use crate::config::ServerConfig;
use crate::credentials::IssuedKeys;
use crate::secret_headers::may_hold_a_secret;

/// The account's own secrets: its secret keys and session tokens (set and
/// queued), API keys and SSO tokens.
fn config_secrets(config: &ServerConfig) -> impl Iterator<Item = &str> {
    let keys = config
        .credentials
        .iter()
        .chain(&config.next_credentials)
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

/// `text`, a quote of what a request sent, with every secret of the
/// account (the config's, and the keys `issued` while it runs) and every
/// signature-length hex run replaced: a secret sent in the wrong place (a
/// secret key where the key id belongs, a signature in the date) must not
/// come back in a refusal or reach the journal.
pub(crate) fn scrub_quoted(text: &str, config: &ServerConfig, issued: &IssuedKeys) -> String {
    let handed_out = issued.secrets_in(text);
    let secrets = config_secrets(config).chain(handed_out.iter().map(String::as_str));
    scrub(text, secrets)
}

/// `headers` in arrival order with every secret replaced: every header
/// that may hold one ([`may_hold_a_secret`]) whole, the `Authorization`
/// signature, and in the two
/// headers a SigV4 refusal quotes (`Authorization`, `x-amz-date`) what
/// [`scrub_quoted`] finds. Other headers are kept as sent: a secret has no
/// place there, and their long hex runs are hashes and trace ids.
pub(crate) fn redact_headers(
    headers: &HeaderMap,
    config: &ServerConfig,
    issued: &IssuedKeys,
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let shown = if name == http::header::AUTHORIZATION {
                scrub_quoted(&redact_authorization(&value), config, issued)
            } else if may_hold_a_secret(name.as_str()) {
                "<redacted>".to_owned()
            } else if name == "x-amz-date" {
                scrub_quoted(&value, config, issued)
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

/// `text` with each of `secrets` (as [`without`] finds them) and every run
/// of 32 or more hex digits (a signature, wherever it was put) replaced by
/// `<redacted>`.
fn scrub<'s>(text: &str, secrets: impl IntoIterator<Item = &'s str>) -> String {
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

/// Secrets shorter than this are not searched for: test accounts use
/// placeholders such as `test` or `s`, which would be found inside
/// unrelated words and garble the text; a real secret key, token or API
/// key is far longer.
const SHORTEST_SCRUBBED: usize = 16;

/// `text` with each of `secrets` (those of [`SHORTEST_SCRUBBED`] or more
/// bytes) replaced by `<redacted>`.
fn without<'s>(text: &str, secrets: impl IntoIterator<Item = &'s str>) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if secret.len() >= SHORTEST_SCRUBBED && text.contains(secret) {
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
        let config = ServerConfig::default();
        let shown = format!(
            "{:?}",
            redact_headers(&headers, &config, &IssuedKeys::default())
        );
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
        let text = format!(
            "got 'wJalr/K7MDENG/key0/20261125/us-east-1/{signature}' at 20261125T162401Z, a test"
        );
        assert_eq!(
            scrub(&text, ["wJalr/K7MDENG/key0", "test", ""]),
            "got '<redacted>/20261125/us-east-1/<redacted>' at 20261125T162401Z, a test",
            "a placeholder secret (`test`) is not searched for"
        );
        assert_eq!(scrub("AKIDEXAMPLE", []), "AKIDEXAMPLE");
    }
}
