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
/// [`SECRET_HEADERS`] and `Authorization` (whose scheme and key id the
/// journal keeps, and a rule's description does not).
pub(crate) fn may_hold_a_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}
