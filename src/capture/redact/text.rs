//! Secrets in free text (a path, a query, a header, an error message, a
//! string in a body, an XML body): access key ids and account ids mapped
//! consistently, signatures, tokens and keys replaced, and every secret
//! seen once replaced wherever it comes back.
//!
//! One left-to-right scan: at each position the rules are tried in turn,
//! and what a rule writes is not scanned again.

use std::borrow::Cow;

use bedrock_mock_server::{EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY, EXAMPLE_SECRET_ACCESS_KEY};

use super::report::{Redactions, SecretKind};

/// What a session token becomes: it cannot be the mock's (the mock has no
/// session token of its own), so a placeholder that reads as one.
pub const SESSION_TOKEN_PLACEHOLDER: &str = "EXAMPLE-SESSION-TOKEN-REDACTED";

/// What a signature, a web identity token or another opaque secret
/// becomes.
pub(crate) const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not remembered to be searched for
/// elsewhere: they would be found inside unrelated words.
const SHORTEST_REMEMBERED: usize = 16;

/// The mappings and remembered secrets of one capture, and the tally.
pub(crate) struct Secrets {
    /// Access key ids, real → written, in the order first seen.
    key_ids: Vec<(String, String)>,
    /// Account ids, real → written, in the order first seen.
    accounts: Vec<(String, String)>,
    /// The mock's account id, which the first account becomes.
    mock_account: String,
    /// Secrets seen (a header's token, a body's secret key): each is
    /// replaced wherever it appears again.
    known: Vec<(String, SecretKind, &'static str)>,
    pub(crate) tally: Redactions,
}

/// A name whose value (after `=`) is a secret, in a query, a form body or
/// an `Authorization` header.
const ASSIGNED: &[(&str, SecretKind, &str)] = &[
    ("signature=", SecretKind::Signature, REDACTED),
    (
        "x-amz-security-token=",
        SecretKind::SessionToken,
        SESSION_TOKEN_PLACEHOLDER,
    ),
    ("webidentitytoken=", SecretKind::WebIdentityToken, REDACTED),
    ("tokencode=", SecretKind::OtherToken, REDACTED),
    ("samlassertion=", SecretKind::OtherToken, REDACTED),
];

/// The secret assigned at byte `i` of `text`, when a name of [`ASSIGNED`]
/// starts there as a word (any case: `WebIdentityToken=eyJ…` in a form
/// body, `X-Amz-Signature=…` in a query): where its value lies (up to
/// the next `&`, `,`, `;`, quote, angle bracket or space; never empty),
/// its kind and what replaces it. The proxy log's masking
/// (`capture::import::mask`) finds the same values.
pub(crate) fn assigned_at(
    text: &str,
    i: usize,
) -> Option<(std::ops::Range<usize>, SecretKind, &'static str)> {
    let at_word = i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric();
    if !at_word {
        return None;
    }
    let (name, kind, with) = ASSIGNED
        .iter()
        .find(|(name, _, _)| starts_with_ignore_case(&text[i..], name))?;
    let start = i + name.len();
    let end = start + run(&text[start..], |b| !b"&,;\"'<> \t\r\n".contains(&b));
    (end > start).then_some((start..end, *kind, *with))
}

/// Query parameters that name an account (the SSO portal's
/// `GetRoleCredentials` and `ListAccountRoles`).
const ACCOUNT_PARAMS: &[&str] = &["account_id=", "accountid="];

/// Names of secrets as credential files, environment variables and JSON
/// texts write them (`aws_secret_access_key = …`, `"SecretAccessKey":
/// "…"`), found in free text such as a tool's output.
const NAMED: &[(&str, SecretKind, &str)] = &[
    (
        "secret_access_key",
        SecretKind::SecretKey,
        EXAMPLE_SECRET_ACCESS_KEY,
    ),
    (
        "secretaccesskey",
        SecretKind::SecretKey,
        EXAMPLE_SECRET_ACCESS_KEY,
    ),
    (
        "session_token",
        SecretKind::SessionToken,
        SESSION_TOKEN_PLACEHOLDER,
    ),
    (
        "sessiontoken",
        SecretKind::SessionToken,
        SESSION_TOKEN_PLACEHOLDER,
    ),
];

impl Secrets {
    pub(crate) fn new(keep_text: bool) -> Self {
        Self {
            key_ids: Vec::new(),
            accounts: Vec::new(),
            mock_account: bedrock_mock_server::ServerConfig::default().account_id,
            known: Vec::new(),
            tally: Redactions::new(keep_text),
        }
    }

    /// How many secrets are remembered (for `Debug`, which shows no value).
    pub(crate) fn remembered(&self) -> usize {
        self.known.len()
    }

    /// The id access key `real` is written as: the mock's example id for
    /// the first, the same with a number for each other.
    pub(crate) fn key_id(&mut self, real: &str) -> String {
        if let Some((_, mapped)) = self.key_ids.iter().find(|(r, _)| r == real) {
            return mapped.clone();
        }
        let mapped = match self.key_ids.len() {
            0 => EXAMPLE_ACCESS_KEY_ID.to_owned(),
            n => format!("{EXAMPLE_ACCESS_KEY_ID}{}", n + 1),
        };
        self.tally.key_id(real, &mapped);
        self.key_ids.push((real.to_owned(), mapped.clone()));
        mapped
    }

    /// The id account `real` is written as: the mock's for the first, the
    /// ids after it for each other.
    pub(crate) fn account(&mut self, real: &str) -> String {
        if let Some((_, mapped)) = self.accounts.iter().find(|(r, _)| r == real) {
            return mapped.clone();
        }
        let n = self.accounts.len() as u64;
        let mapped = match self.mock_account.parse::<u64>() {
            Ok(base) => format!("{:012}", (base + n) % 1_000_000_000_000),
            Err(_) => self.mock_account.clone(),
        };
        self.tally.account(real, &mapped);
        self.accounts.push((real.to_owned(), mapped.clone()));
        mapped
    }

    /// Counts secret `value` of `kind` replaced by `with`, and remembers
    /// it so it is replaced wherever it appears again.
    pub(crate) fn replaced(&mut self, kind: SecretKind, value: &str, with: &'static str) -> String {
        if value == with {
            return with.to_owned();
        }
        self.tally.secret(kind, value);
        if value.len() >= SHORTEST_REMEMBERED && !self.known.iter().any(|(k, _, _)| k == value) {
            self.known.push((value.to_owned(), kind, with));
        }
        with.to_owned()
    }

    /// `text` with every secret the rules find replaced; borrowed when
    /// nothing was.
    pub(crate) fn text<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            match self.rule_at(text, i) {
                Some((end, replacement)) => {
                    out.push_str(&text[copied..i]);
                    out.push_str(&replacement);
                    copied = end;
                    i = end;
                }
                None => i += utf8_len(bytes[i]),
            }
        }
        if copied == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// The first rule that matches at byte `i` (a character boundary):
    /// where its match ends, and what replaces it.
    fn rule_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let rest = &text[i..];
        if let Some((secret, kind, with)) = self
            .known
            .iter()
            .find(|(k, _, _)| rest.starts_with(k.as_str()))
            .cloned()
        {
            self.tally.secret(kind, &secret);
            return Some((i + secret.len(), with.to_owned()));
        }
        let bytes = text.as_bytes();
        let at_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !at_word {
            return None;
        }
        self.assigned_at(text, i)
            .or_else(|| self.named_at(text, i))
            .or_else(|| self.key_at(text, i))
            .or_else(|| self.arn_at(text, i))
            .or_else(|| self.account_param_at(text, i))
            .or_else(|| self.known_account_at(text, i))
    }

    /// `signature=…`, `X-Amz-Security-Token=…`, `WebIdentityToken=…`.
    fn assigned_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let (value, kind, with) = assigned_at(text, i)?;
        let written = self.replaced(kind, &text[value.clone()], with);
        Some((value.end, format!("{}{written}", &text[i..value.start])))
    }

    /// `aws_secret_access_key = …`, `"SessionToken": "…"` and the like.
    fn named_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let (name, kind, with) = NAMED
            .iter()
            .find(|(name, _, _)| starts_with_ignore_case(&text[i..], name))?;
        let after = i + name.len();
        let gap = |s: &str| run(s, |b| b" \t\"'\\".contains(&b));
        let mut start = after + gap(&text[after..]);
        if !matches!(text.as_bytes().get(start), Some(b'=' | b':')) {
            return None;
        }
        start += 1;
        start += gap(&text[start..]);
        let end = start
            + run(&text[start..], |b| {
                b.is_ascii_alphanumeric() || b"/+=%".contains(&b)
            });
        if end - start < SHORTEST_REMEMBERED {
            return None;
        }
        let written = self.replaced(*kind, &text[start..end], with);
        Some((end, format!("{}{written}", &text[i..start])))
    }

    /// An access key id (`AKIA`/`ASIA` and 16 more), a Bedrock API key
    /// (`ABSK…`, `bedrock-api-key-…`), a bearer token.
    fn key_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let rest = &text[i..];
        if rest.starts_with("AKIA") || rest.starts_with("ASIA") {
            let len = run(rest, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if len == 20 {
                return Some((i + 20, self.key_id(&rest[..20])));
            }
            return None;
        }
        let base64 = |b: u8| b.is_ascii_alphanumeric() || b"+/=".contains(&b);
        let (prefix, token) = if rest.starts_with("ABSK") || rest.starts_with("bedrock-api-key-") {
            ("", rest)
        } else if starts_with_ignore_case(rest, "bearer ") {
            (&rest[..7], &rest[7..])
        } else {
            return None;
        };
        let len = run(token, |b| base64(b) || b"%-_.~".contains(&b));
        if len < SHORTEST_REMEMBERED {
            return None;
        }
        let written = self.replaced(SecretKind::ApiKey, &token[..len], EXAMPLE_API_KEY);
        Some((i + prefix.len() + len, format!("{prefix}{written}")))
    }

    /// An ARN (`arn:aws:service:region:123456789012:…`, or with `%3A` for
    /// `:` in a path) whose account is replaced.
    fn arn_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let rest = &text[i..];
        let sep = if starts_with_ignore_case(rest, "arn:") {
            &rest[3..4]
        } else if starts_with_ignore_case(rest, "arn%3a") {
            &rest[3..6]
        } else {
            return None;
        };
        let mut at = 3 + sep.len();
        // Partition, service, region: each up to the next separator.
        for part in 0..3 {
            let len = run(&rest[at..], |b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
            });
            if (part == 0 && !rest[at..].starts_with("aws")) || !rest[at + len..].starts_with(sep) {
                return None;
            }
            at += len + sep.len();
        }
        let digits = run(&rest[at..], |b| b.is_ascii_digit());
        if digits != 12 {
            return None;
        }
        let mapped = self.account(&rest[at..at + 12]);
        Some((i + at + 12, format!("{}{mapped}", &rest[..at])))
    }

    /// `account_id=123456789012` in a query.
    fn account_param_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let name = ACCOUNT_PARAMS
            .iter()
            .find(|name| starts_with_ignore_case(&text[i..], name))?;
        let start = i + name.len();
        let value = &text[start..];
        if run(value, |b| b.is_ascii_digit()) != 12 {
            return None;
        }
        let mapped = self.account(&value[..12]);
        Some((start + 12, format!("{}{mapped}", &text[i..start])))
    }

    /// A 12-digit number that is an account seen before (in an ARN, an
    /// `<Account>`, a JSON `accountId`).
    fn known_account_at(&mut self, text: &str, i: usize) -> Option<(usize, String)> {
        let rest = &text[i..];
        if run(rest, |b| b.is_ascii_digit()) != 12 {
            return None;
        }
        let mapped = self
            .accounts
            .iter()
            .find(|(real, _)| real == &rest[..12])?
            .1
            .clone();
        Some((i + 12, mapped))
    }

    /// An XML or other non-JSON text body: the values of STS's secret
    /// elements replaced, then [`Secrets::text`].
    pub(crate) fn markup<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        for (tag, kind, with) in [
            (
                "SecretAccessKey",
                Some(SecretKind::SecretKey),
                EXAMPLE_SECRET_ACCESS_KEY,
            ),
            (
                "SessionToken",
                Some(SecretKind::SessionToken),
                SESSION_TOKEN_PLACEHOLDER,
            ),
            (
                "WebIdentityToken",
                Some(SecretKind::WebIdentityToken),
                REDACTED,
            ),
            ("Account", None, ""),
        ] {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            let mut out = String::new();
            let mut rest: &str = &text;
            let mut changed = false;
            while let Some(start) = rest.find(&open) {
                let value_start = start + open.len();
                let Some(len) = rest[value_start..].find(&close) else {
                    break;
                };
                let value = rest[value_start..value_start + len].trim();
                let written = match kind {
                    Some(kind) => self.replaced(kind, value, with),
                    None if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) => {
                        self.account(value)
                    }
                    None => value.to_owned(),
                };
                out.push_str(&rest[..value_start]);
                out.push_str(&written);
                rest = &rest[value_start + len..];
                changed = true;
            }
            if changed {
                out.push_str(rest);
                text = Cow::Owned(out);
            }
        }
        match text {
            Cow::Borrowed(text) => self.text(text),
            Cow::Owned(text) => Cow::Owned(self.text(&text).into_owned()),
        }
    }
}

/// How many bytes at the start of `s` satisfy `keep`.
fn run(s: &str, keep: impl Fn(u8) -> bool) -> usize {
    s.bytes().take_while(|&b| keep(b)).count()
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The length of the UTF-8 character starting with `first`.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::new(false)
    }

    #[test]
    fn key_ids_map_in_order_of_first_sight() {
        let mut s = secrets();
        let out = s.text("a AKIAAAAAAAAAAAAAAAAA b ASIABBBBBBBBBBBBBBBB c AKIAAAAAAAAAAAAAAAAA");
        assert_eq!(out, "a AKIDEXAMPLE b AKIDEXAMPLE2 c AKIDEXAMPLE");
        // Not a key id: too long, inside a word.
        let text = "AKIAAAAAAAAAAAAAAAAAAA xAKIAAAAAAAAAAAAAAAAA";
        assert_eq!(s.text(text), text);
    }

    #[test]
    fn arns_and_then_their_accounts_anywhere() {
        let mut s = secrets();
        let out =
            s.text("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A111122223333%3Ainference-profile%2Fx");
        assert_eq!(
            out,
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fx"
        );
        assert_eq!(
            s.text("arn:aws:iam::444455556666:role/r then 111122223333, not 1111222233334"),
            "arn:aws:iam::123456789013:role/r then 123456789012, not 1111222233334"
        );
    }

    #[test]
    fn account_parameters() {
        let mut s = secrets();
        assert_eq!(
            s.text("/federation/credentials?account_id=111122223333&role_name=Dev"),
            "/federation/credentials?account_id=123456789012&role_name=Dev"
        );
        assert_eq!(s.text("TokenCode=123456&x=1"), "TokenCode=<redacted>&x=1");
        assert_eq!(
            s.text("Action=AssumeRoleWithSAML&SAMLAssertion=PHNhbWxwOlJlc3BvbnNlPg%3D%3D&Version=2011-06-15"),
            "Action=AssumeRoleWithSAML&SAMLAssertion=<redacted>&Version=2011-06-15"
        );
        // A name inside a word is not one.
        assert_eq!(assigned_at("xsignature=1", 1), None);
        assert_eq!(
            assigned_at("a&Signature=ab;", 2).map(|(value, _, _)| value),
            Some(12..14)
        );
    }

    #[test]
    fn assigned_and_named_secrets_are_remembered() {
        let mut s = secrets();
        let token = "FwoGZXIvYXdzEXAMPLEtoken0123456789";
        let out = s
            .text(&format!(
                "a=1&X-Amz-Security-Token={token}&X-Amz-Signature=abcdef"
            ))
            .into_owned();
        assert_eq!(
            out,
            format!(
                "a=1&X-Amz-Security-Token={SESSION_TOKEN_PLACEHOLDER}&X-Amz-Signature=<redacted>"
            )
        );
        assert_eq!(
            s.text(&format!("echo: {token}!")),
            format!("echo: {SESSION_TOKEN_PLACEHOLDER}!")
        );
        let secret = "abcdEFGHijklMNOPqrstUVWXyz0123456789/+AB";
        let out = s
            .text(&format!("[p]\naws_secret_access_key = {secret}\n"))
            .into_owned();
        assert_eq!(
            out,
            format!("[p]\naws_secret_access_key = {EXAMPLE_SECRET_ACCESS_KEY}\n")
        );
        let out = s
            .text(&format!(r#"{{\"SecretAccessKey\": \"{secret}\"}}"#))
            .into_owned();
        assert!(!out.contains(secret), "{out}");
    }

    #[test]
    fn xml_elements() {
        let mut s = secrets();
        let xml = "<Credentials><AccessKeyId>ASIAQQQQQQQQQQQQQQQQ</AccessKeyId><SecretAccessKey>sEcReT/0123456789abcdefghij</SecretAccessKey><SessionToken>tok0123456789abcdef</SessionToken></Credentials><Account>999988887777</Account>";
        let out = s.markup(xml);
        assert_eq!(
            out,
            format!(
                "<Credentials><AccessKeyId>AKIDEXAMPLE</AccessKeyId><SecretAccessKey>{EXAMPLE_SECRET_ACCESS_KEY}</SecretAccessKey><SessionToken>{SESSION_TOKEN_PLACEHOLDER}</SessionToken></Credentials><Account>123456789012</Account>"
            )
        );
    }

    #[test]
    fn any_text_is_scanned_without_panicking() {
        let mut s = secrets();
        for text in [
            "",
            "é",
            "arn:",
            "arn%3A",
            "arn:aws:",
            "AKIA",
            "Bearer ",
            "signature=",
            "aws_session_token=",
            "<SessionToken>",
            "ABSK",
            "arn:aws:s3:::",
            "1234567890123",
            "日本語 AKIA",
        ] {
            let _ = s.text(text);
            let _ = s.markup(text);
        }
    }
}
