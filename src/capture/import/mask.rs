//! The credentials the proxy log leaves out. The log sits on the
//! customer's disk and may be sent on; what a replay needs of a
//! credential is only which one it was, so each is written as
//! `<redacted 1a2b3c4d>`: a tag from a hash of it, the same for the same
//! secret, that cannot be turned back into it. Everything else (key ids,
//! prompts, answers) stays: `import` redacts those as it writes the
//! scenario.
//!
//! Left out: SigV4 signatures (`Signature=`, `X-Amz-Signature=`), session
//! tokens, bearer and API keys, cookies, and the secrets in credential
//! answers (STS's `SecretAccessKey` and `SessionToken`, the SSO portal's
//! and OIDC's `secretAccessKey`, `sessionToken`, `accessToken`,
//! `refreshToken`, `clientSecret`).

use std::hash::{Hash, Hasher};

/// Header names whose values are secrets in full (the mock's journal
/// redacts the same ones: `mock-server/src/secret_headers.rs`).
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-sso_bearer_token",
    "x-api-key",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Query parameters of a presigned request that are secrets.
const SECRET_PARAMETERS: &[&str] = &["X-Amz-Signature", "X-Amz-Security-Token"];

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
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut hasher);
    format!("{MARK} {:08x}>", hasher.finish() as u32)
}

/// A header's value as the log writes it.
pub(super) fn header(name: &str, value: &str) -> String {
    if SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return tag(value);
    }
    if !name.eq_ignore_ascii_case("authorization") {
        return value.to_owned();
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

/// A query as the log writes it: a presigned request's signature and
/// token masked, the rest as sent.
pub(super) fn query(query: &str) -> String {
    if !SECRET_PARAMETERS.iter().any(|p| query.contains(p)) {
        return query.to_owned();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if SECRET_PARAMETERS.contains(&name) => {
                format!("{name}={}", tag(value))
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body with the values of [`SECRET_FIELDS`] masked (JSON `"name":
/// "value"` and XML `<Name>value</Name>`), or `None` when it has none.
pub(super) fn body(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    if !SECRET_FIELDS.iter().any(|f| text.contains(f)) {
        return None;
    }
    let mut text = text.to_owned();
    for field in SECRET_FIELDS {
        let element = format!("<{field}>");
        text = mask_values(&text, &element, |_| Some(0), xml_text_len);
        let key = format!("\"{field}\"");
        text = mask_values(&text, &key, json_value_start, json_string_len);
    }
    Some(text.into_bytes())
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
        assert_eq!(body(masked.as_bytes()).unwrap(), masked.as_bytes());

        assert_eq!(body(br#"{"messages":[]}"#), None);
        assert_eq!(body(b"\xff\xfe"), None);
    }
}
