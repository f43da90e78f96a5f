//! Which headers carry secrets: known to the journal's redaction
//! (`redact`) and to a rule's description (`rules`), which shows what a
//! header matcher wants but never a secret.

/// Header names whose values are secrets in full.
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-sso_bearer_token",
    "x-api-key",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// Words that mark a header name as one that may carry a credential:
/// gateways name their keys freely (`x-portkey-api-key`,
/// `ocp-apim-subscription-key`, `api-key`, `x-auth-token`).
const SECRET_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "auth",
    "password",
    "signature",
    "cookie",
    "session",
    "credential",
    "bearer",
];

/// Endings of names that say what the value is, and it is no secret: a
/// count (`x-amzn-bedrock-input-token-count`) or an id
/// (`x-claude-code-session-id`, `x-api-key-id`), which identifies and
/// grants nothing.
const PLAIN_ENDINGS: &[&str] = &["-count", "_count", "-id", "_id"];

/// Whether a header's value may hold a secret anywhere in it: the
/// secret headers (`x-amz-security-token`, `x-amz-sso_bearer_token`,
/// `x-api-key`, `cookie`, `set-cookie`, `proxy-authorization`),
/// `Authorization` (whose scheme and key id the journal keeps, and a
/// rule's description does not), and any name holding `key`, `token`,
/// `secret`, `auth`, `password`, `signature`, `cookie` or `session`
/// (a gateway's `x-portkey-api-key`), unless it ends in `-count` or `-id`
/// (`x-amzn-bedrock-input-token-count`, `x-claude-code-session-id`) or is
/// HTTP/2's `:authority`. Names are compared ignoring case.
///
/// ```
/// use bedrock_mock_server::may_hold_a_secret;
///
/// assert!(may_hold_a_secret("Authorization"));
/// assert!(may_hold_a_secret("x-amz-security-token"));
/// assert!(may_hold_a_secret("Ocp-Apim-Subscription-Key"));
/// assert!(!may_hold_a_secret("content-type"));
/// assert!(!may_hold_a_secret("x-amzn-bedrock-output-token-count"));
/// ```
pub fn may_hold_a_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name == "authorization" || SECRET_HEADERS.contains(&name.as_str()) {
        return true;
    }
    if name == ":authority" || PLAIN_ENDINGS.iter().any(|e| name.ends_with(e)) {
        return false;
    }
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_keys_are_secrets_and_counts_and_ids_are_not() {
        for name in [
            "x-portkey-api-key",
            "ocp-apim-subscription-key",
            "api-key",
            "X-Auth-Token",
            "x-gateway-secret",
            "x-db-password",
            "x-amz-signature",
            "x-session",
            "Set-Cookie",
            "proxy-authorization",
        ] {
            assert!(may_hold_a_secret(name), "{name}");
        }
        for name in [
            "x-amzn-bedrock-input-token-count",
            "x-amzn-bedrock-cache-read-input-token-count",
            "x-claude-code-session-id",
            ":authority",
            "x-amz-date",
            "x-amz-content-sha256",
            "anthropic-beta",
            "keep-alive",
            "x-stainless-retry-count",
        ] {
            assert!(!may_hold_a_secret(name), "{name}");
        }
    }
}
