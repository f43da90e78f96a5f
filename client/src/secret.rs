//! A value that must never be printed: bearer keys, secret keys, tokens.

/// Holds a secret; `Debug` and `Display` show `<redacted>`, so a secret in
/// a config, an error or a log line cannot leak by formatting.
///
/// ```
/// use bedrock_client::Secret;
///
/// let key = Secret::new("ABSK-very-secret");
/// assert_eq!(format!("{key:?} {key}"), "<redacted> <redacted>");
/// assert_eq!(key.expose(), "ABSK-very-secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
