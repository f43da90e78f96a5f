//! Which request headers carry secrets: known to the journal's redaction
//! (`redact`) and to a rule's description (`rules`), which shows what a
//! header matcher wants but never a secret.

/// Header names whose values are secrets in full.
pub(crate) const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-sso_bearer_token",
    "x-api-key",
    "cookie",
    "proxy-authorization",
];

/// Whether a header's value may hold a secret anywhere in it: the
/// secret headers (`x-amz-security-token`, `x-amz-sso_bearer_token`,
/// `x-api-key`, `cookie`, `proxy-authorization`) and `Authorization`
/// (whose scheme and key id the journal keeps, and a rule's description
/// does not). Names are compared ignoring case.
///
/// ```
/// use bedrock_mock_server::may_hold_a_secret;
///
/// assert!(may_hold_a_secret("Authorization"));
/// assert!(may_hold_a_secret("x-amz-security-token"));
/// assert!(!may_hold_a_secret("content-type"));
/// ```
pub fn may_hold_a_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}
