//! What redaction replaced, counted: the lines `record` and `import` print
//! at the end, so the customer sees what they are sending. Real values
//! are never held here, only counts, hashes (to count distinct values)
//! and masked forms (first 4 … last 4).

use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A kind of secret that is replaced wherever it is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SecretKind {
    /// A SigV4 signature (`Signature=`, `X-Amz-Signature=`).
    Signature,
    /// A secret access key.
    SecretKey,
    /// A session token.
    SessionToken,
    /// A Bedrock API key or another bearer key.
    ApiKey,
    /// A web identity token sent to STS.
    WebIdentityToken,
    /// A `Cookie` or `Set-Cookie` header.
    Cookie,
    /// An SSO access or refresh token, a client secret, another header
    /// that may hold a secret.
    OtherToken,
}

impl SecretKind {
    const ALL: [SecretKind; 7] = [
        SecretKind::Signature,
        SecretKind::SecretKey,
        SecretKind::SessionToken,
        SecretKind::ApiKey,
        SecretKind::WebIdentityToken,
        SecretKind::Cookie,
        SecretKind::OtherToken,
    ];

    /// The name of one, and of several.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            SecretKind::Signature => ("signature", "signatures"),
            SecretKind::SecretKey => ("secret access key", "secret access keys"),
            SecretKind::SessionToken => ("session token", "session tokens"),
            SecretKind::ApiKey => ("API key", "API keys"),
            SecretKind::WebIdentityToken => ("web identity token", "web identity tokens"),
            SecretKind::Cookie => ("cookie header", "cookie headers"),
            SecretKind::OtherToken => ("other secret", "other secrets"),
        }
    }

    /// What it became.
    fn became(self) -> &'static str {
        match self {
            SecretKind::Signature => "<redacted>",
            SecretKind::SecretKey => "the mock's example secret key",
            SecretKind::SessionToken => "a placeholder",
            SecretKind::ApiKey => "the mock's example API key",
            SecretKind::WebIdentityToken | SecretKind::OtherToken => "<redacted>",
            SecretKind::Cookie => "left out",
        }
    }
}

/// Text counted by redaction: how many string fields and characters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TextCount {
    pub(crate) fields: usize,
    pub(crate) chars: usize,
}

/// What a [`Redactor`](super::Redactor) replaced so far; its `Display`
/// prints the lines the tool shows at the end, one per kind, real values
/// masked (first 4 … last 4). Nothing in it can give a secret back.
///
/// ```
/// use bedrock_harness::capture::redact::Redactor;
///
/// let mut redactor = Redactor::new(false);
/// assert_eq!(redactor.report().to_string(), "nothing redacted\n");
/// redactor.header("x-amz-security-token", "IQoJb3JpZ2luX2VjEXAMPLEtokenEXAMPLEtoken");
/// assert_eq!(
///     redactor.report().to_string(),
///     "1 session token → a placeholder\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Redactions {
    /// Per kind of secret: the hashes of the distinct values, and how many
    /// times one was replaced.
    secrets: Vec<(SecretKind, BTreeSet<u64>, usize)>,
    /// Access key ids: masked real id, the id written instead.
    key_ids: Vec<(String, String)>,
    /// Account ids: masked real id, the id written instead.
    accounts: Vec<(String, String)>,
    /// Prompt text replaced (or kept, with `--keep-text`).
    prompt: TextCount,
    /// Answer text replaced (or kept).
    answer: TextCount,
    /// Whether text was kept.
    keep_text: bool,
}

impl Redactions {
    pub(crate) fn new(keep_text: bool) -> Self {
        Self {
            keep_text,
            ..Self::default()
        }
    }

    /// Whether nothing was redacted (with `--keep-text`, kept text does not
    /// count).
    ///
    /// ```
    /// use bedrock_harness::capture::redact::Redactor;
    ///
    /// let mut redactor = Redactor::new(false);
    /// redactor.header("content-type", "application/json");
    /// assert!(redactor.report().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
            && self.key_ids.is_empty()
            && self.accounts.is_empty()
            && (self.keep_text || (self.prompt.fields == 0 && self.answer.fields == 0))
    }

    /// Counts one replaced `value` of `kind`.
    pub(crate) fn secret(&mut self, kind: SecretKind, value: &str) {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        let hash = hasher.finish();
        match self.secrets.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, distinct, seen)) => {
                distinct.insert(hash);
                *seen += 1;
            }
            None => self.secrets.push((kind, BTreeSet::from([hash]), 1)),
        }
    }

    pub(crate) fn key_id(&mut self, real: &str, mapped: &str) {
        self.key_ids.push((mask(real), mapped.to_owned()));
    }

    pub(crate) fn account(&mut self, real: &str, mapped: &str) {
        self.accounts.push((mask(real), mapped.to_owned()));
    }

    /// Counts one prompt (`answer` false) or answer text field of `chars`
    /// characters.
    pub(crate) fn text(&mut self, answer: bool, chars: usize) {
        let count = if answer {
            &mut self.answer
        } else {
            &mut self.prompt
        };
        count.fields += 1;
        count.chars += chars;
    }

    /// Adds characters to the last field counted (a stream's text arrives
    /// in pieces: one field, many deltas).
    pub(crate) fn more_text(&mut self, answer: bool, chars: usize) {
        if answer {
            self.answer.chars += chars;
        } else {
            self.prompt.chars += chars;
        }
    }

    fn text_line(&self, f: &mut fmt::Formatter<'_>, what: &str, count: TextCount) -> fmt::Result {
        if count.fields == 0 {
            return Ok(());
        }
        let fields = plural(count.fields, "field", "fields");
        let chars = plural(count.chars, "character", "characters");
        if self.keep_text {
            writeln!(f, "{what}: {fields}, {chars} kept as sent (--keep-text)")
        } else {
            writeln!(
                f,
                "{what}: {fields}, {chars} → placeholders (--keep-text keeps them)"
            )
        }
    }
}

impl fmt::Display for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() && self.prompt.fields == 0 && self.answer.fields == 0 {
            return writeln!(f, "nothing redacted");
        }
        for kind in SecretKind::ALL {
            let Some((_, distinct, seen)) = self.secrets.iter().find(|(k, _, _)| *k == kind) else {
                continue;
            };
            let (one, many) = kind.names();
            let distinct = distinct.len();
            if kind == SecretKind::Signature || distinct == *seen {
                write!(f, "{}", plural(*seen, one, many))?;
            } else {
                write!(f, "{} (seen {seen} times)", plural(distinct, one, many))?;
            }
            writeln!(f, " → {}", kind.became())?;
        }
        for (real, mapped) in &self.key_ids {
            writeln!(f, "access key {real} → {mapped}")?;
        }
        for (real, mapped) in &self.accounts {
            writeln!(f, "account {real} → {mapped}")?;
        }
        self.text_line(f, "prompt text", self.prompt)?;
        self.text_line(f, "answer text", self.answer)
    }
}

/// `value` masked: its first 4 and last 4 characters, or nothing of it
/// when it is too short to hide anything that way.
pub(crate) fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `1 field`, `3 fields`, `1,204 characters`.
fn plural(n: usize, one: &str, many: &str) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_names_agree_with_them() {
        assert_eq!(plural(1, "field", "fields"), "1 field");
        assert_eq!(plural(1204, "character", "characters"), "1,204 characters");
        assert_eq!(plural(1_234_567, "x", "xs"), "1,234,567 xs");
        assert_eq!(plural(999, "x", "xs"), "999 xs");
    }

    #[test]
    fn masks_show_the_ends_only() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask("123456789012"), "1234…9012");
        assert_eq!(mask("short"), "…");
    }
}
