//! The credentials the proxy log leaves out. The log sits on the
//! customer's disk and may be sent on; what a replay needs of a
//! credential is only which one it was, so each is written as
//! `<redacted 1a2b3c4d>`: a tag from a hash of it, the same for the same
//! secret, that cannot be turned back into it. Everything else (key ids,
//! prompts, answers) stays: `import` redacts those as it writes the
//! scenario.
//!
//! Left out: every header that may hold a secret (the mock's
//! vocabulary, [`may_hold_a_secret`]: session tokens, API and gateway
//! keys, cookies; of a SigV4 `Authorization` only the signature), the
//! secrets assigned in a query or a form body as the scenario writer's
//! redaction finds them ([`assigned_at`]: `X-Amz-Signature=`,
//! `X-Amz-Security-Token=`, `WebIdentityToken=`, `TokenCode=`,
//! `SAMLAssertion=`), and the secrets in credential answers (STS's
//! `SecretAccessKey` and `SessionToken`, the SSO portal's and OIDC's
//! `secretAccessKey`, `sessionToken`, `accessToken`, `refreshToken`,
//! `clientSecret`).

use std::borrow::Cow;
use std::hash::BuildHasher;

use bedrock_mock_server::may_hold_a_secret;

use crate::capture::redact::assigned_at;

/// Body fields whose values are secrets: JSON keys and XML elements of
/// credential answers (and OIDC's requests).
const SECRET_FIELDS: &[&str] = &[
    "SecretAccessKey",
    "SessionToken",
    "secretAccessKey",
    "sessionToken",
    "accessToken",
    "refreshToken",
    "clientSecret",
    "deviceCode",
];

const MARK: &str = "<redacted";

/// `secret` as the log writes it.
fn tag(secret: &str) -> String {
    if secret.starts_with(MARK) {
        // Already masked: reading a log and writing it again changes nothing.
        return secret.to_owned();
    }
    // Keyed once per process: the same secret gets the same tag through
    // a session's log, and a short one (an MFA code) cannot be found
    // from its tag by trying every value.
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let hash = KEY.get_or_init(Default::default).hash_one(secret);
    format!("{MARK} {:08x}>", hash as u32)
}

/// A header's value as the log writes it.
pub(super) fn header(name: &str, value: &str) -> String {
    if !may_hold_a_secret(name) {
        return value.to_owned();
    }
    if !name.eq_ignore_ascii_case("authorization") {
        return tag(value);
    }
    if value.starts_with("AWS4-") {
        // Algorithm, key id, scope and signed headers say how the client
        // signed; only the signature is secret.
        return match value.split_once("Signature=") {
            Some((head, signature)) => format!("{head}Signature={}", tag(signature.trim())),
            None => value.to_owned(),
        };
    }
    match value.split_once(' ') {
        Some((scheme, credential)) => format!("{scheme} {}", tag(credential)),
        None => tag(value),
    }
}

/// A query as the log writes it: the secrets assigned in it masked (a
/// presigned request's signature and token), the rest as sent.
pub(super) fn query(query: &str) -> String {
    assigned(query).into_owned()
}

/// A request's body with the secrets assigned in it masked (a form
/// body's `WebIdentityToken=`, `SAMLAssertion=`) and those of [`body`],
/// or `None` when it has none.
pub(super) fn request_body(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    match assigned(text) {
        Cow::Borrowed(_) => self::body(body),
        Cow::Owned(masked) => Some(self::body(masked.as_bytes()).unwrap_or(masked.into_bytes())),
    }
}

/// A body with the values of [`SECRET_FIELDS`] masked (JSON `"name":
/// "value"` and XML `<Name>value</Name>`), or `None` when it has none.
/// An answer's body is masked so (a model's text that quotes a
/// `Signature=` is the customer's content, and masking it would join a
/// stream's pieces, losing their times).
pub(super) fn body(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    if !SECRET_FIELDS.iter().any(|f| text.contains(f)) {
        return None;
    }
    let mut masked = text.to_owned();
    for field in SECRET_FIELDS {
        let element = format!("<{field}>");
        masked = mask_values(&masked, &element, |_| Some(0), xml_text_len);
        let key = format!("\"{field}\"");
        masked = mask_values(&masked, &key, json_value_start, json_string_len);
    }
    // A field's name in a model's text masks nothing: the body stays in
    // its timed pieces.
    (masked != text).then(|| masked.into_bytes())
}

/// `text` with the value of each secret assigned in it ([`assigned_at`])
/// tagged; borrowed when it has none.
fn assigned(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        match text
            .is_char_boundary(i)
            .then(|| assigned_at(text, i))
            .flatten()
        {
            Some((value, _, _)) => {
                out.push_str(&text[copied..value.start]);
                out.push_str(&tag(&text[value.clone()]));
                copied = value.end;
                i = value.end;
            }
            None => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// `text` with each value after `opening` masked: `start` finds where
/// the value starts in what follows `opening` (`None`: no value to mask
/// there), `len` how long it is from there (`None`: unterminated).
fn mask_values(
    text: &str,
    opening: &str,
    start: fn(&str) -> Option<usize>,
    len: fn(&str) -> Option<usize>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(opening) {
        let (before, after) = rest.split_at(at + opening.len());
        out.push_str(before);
        rest = after;
        let Some(start) = start(after) else { continue };
        let Some(len) = len(&after[start..]) else {
            continue;
        };
        out.push_str(&after[..start]);
        out.push_str(&tag(&after[start..start + len]));
        rest = &after[start + len..];
    }
    out.push_str(rest);
    out
}

/// The length of an XML element's text: up to the next tag (a masked
/// value's `<redacted …>` included).
fn xml_text_len(text: &str) -> Option<usize> {
    if text.starts_with(MARK) {
        return text.find('>').map(|i| i + 1);
    }
    text.find('<')
}

/// Where a JSON string value starts after its key: past `:` and `"`.
fn json_value_start(after_key: &str) -> Option<usize> {
    let colon = after_key.len() - after_key.trim_start().len();
    let rest = after_key[colon..].strip_prefix(':')?;
    let space = rest.len() - rest.trim_start().len();
    rest[space..].strip_prefix('"')?;
    Some(colon + 1 + space + 1)
}

/// The length of a JSON string's content up to its closing quote.
fn json_string_len(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_tokens_and_keys_are_tagged() {
        let sigv4 = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79";
        let masked = header("Authorization", sigv4);
        assert!(masked.starts_with("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=<redacted "));
        assert!(!masked.contains("5d672d79"));
        assert_eq!(header("authorization", &masked), masked);

        let bearer = header("authorization", "Bearer ABSKsecret");
        assert!(bearer.starts_with("Bearer <redacted ") && !bearer.contains("ABSKsecret"));
        assert_eq!(
            header("x-amz-security-token", "IQoJtoken"),
            header("X-Amz-Security-Token", "IQoJtoken")
        );
        assert_ne!(
            header("x-amz-security-token", "IQoJtoken"),
            header("x-amz-security-token", "IQoJother")
        );
        assert_eq!(
            header("content-type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn presigned_queries_keep_all_but_the_secrets() {
        let q = query("X-Amz-Credential=AKID%2F2026&X-Amz-Signature=abc123&x=1");
        assert!(q.starts_with("X-Amz-Credential=AKID%2F2026&X-Amz-Signature=<redacted "));
        assert!(q.ends_with(">&x=1") && !q.contains("abc123"));
        assert_eq!(query("type=SYSTEM_DEFINED"), "type=SYSTEM_DEFINED");
    }

    #[test]
    fn every_header_that_may_hold_a_secret_is_tagged() {
        for name in [
            "x-portkey-api-key",
            "Ocp-Apim-Subscription-Key",
            "api-key",
            "x-auth-token",
            "set-cookie",
            "proxy-authorization",
            "x-amz-sso_bearer_token",
        ] {
            let masked = header(name, "gw-secret-0123456789");
            assert!(masked.starts_with("<redacted "), "{name}: {masked}");
            assert!(!masked.contains("gw-secret"), "{name}");
        }
        for (name, value) in [
            ("x-amzn-bedrock-input-token-count", "12"),
            (
                "x-claude-code-session-id",
                "59b017f8-757e-40fd-a2e3-1226f1ccbcb0",
            ),
            ("user-agent", "claude-cli/2.1.328 (external, sdk-cli)"),
        ] {
            assert_eq!(header(name, value), value, "{name}");
        }
    }

    #[test]
    fn secrets_assigned_in_a_form_body_or_a_query_are_tagged() {
        let form = "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci&RoleSessionName=ci&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl&Version=2011-06-15";
        let masked = String::from_utf8(request_body(form.as_bytes()).unwrap()).unwrap();
        assert!(masked.starts_with("Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci&RoleSessionName=ci&WebIdentityToken=<redacted "), "{masked}");
        assert!(masked.ends_with(">&Version=2011-06-15"), "{masked}");
        assert!(!masked.contains("eyJ"), "{masked}");
        assert_eq!(
            body(masked.as_bytes()),
            None,
            "a masked body is left as it is"
        );

        let mfa = "Action=AssumeRole&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fme&TokenCode=987654";
        let saml = "Action=AssumeRoleWithSAML&SAMLAssertion=PHNhbWxwOlJlc3BvbnNlPg%3D%3D&Version=2011-06-15";
        for (text, secret) in [(mfa, "987654"), (saml, "PHNhbWxw")] {
            let masked = String::from_utf8(request_body(text.as_bytes()).unwrap()).unwrap();
            assert!(!masked.contains(secret), "{masked}");
            assert!(query(text).contains("=<redacted "), "{}", query(text));
        }
        assert_eq!(
            request_body(b"Action=GetCallerIdentity&Version=2011-06-15"),
            None
        );
    }

    #[test]
    fn credential_answers_lose_their_secrets() {
        let xml = "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>wJalr/K7</SecretAccessKey><SessionToken>FwoG+z</SessionToken></Credentials>";
        let masked = String::from_utf8(body(xml.as_bytes()).unwrap()).unwrap();
        assert!(masked.contains("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey><redacted "));
        assert!(!masked.contains("wJalr") && !masked.contains("FwoG"));

        let json = r#"{"roleCredentials":{"accessKeyId":"ASIAX","secretAccessKey" : "wJa\"lr","sessionToken":"FwoG","expiration":1}}"#;
        let masked = String::from_utf8(body(json.as_bytes()).unwrap()).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&masked).unwrap();
        let credentials = &parsed["roleCredentials"];
        assert_eq!(credentials["accessKeyId"], "ASIAX");
        assert!(
            credentials["secretAccessKey"]
                .as_str()
                .unwrap()
                .starts_with("<redacted ")
        );
        assert!(!masked.contains("wJa") && !masked.contains("FwoG"));
        // Masked once, nothing is left to mask.
        assert_eq!(body(masked.as_bytes()), None);

        assert_eq!(body(br#"{"messages":[]}"#), None);
        assert_eq!(body(b"\xff\xfe"), None);
    }
}
