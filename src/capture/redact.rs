//! What of a capture may reach a scenario file: secrets never, prompt and
//! answer text only when asked (`--keep-text`). The writer passes every
//! header, body, path and message it writes through one [`Redactor`],
//! which keeps the mappings of a whole capture (so a key id or an account
//! is written the same everywhere, and a rotation stays visible) and
//! counts what it replaced ([`Redactions`], printed at the end).
//!
//! What becomes what (the mock's values, so a replay against it is
//! consistent):
//! - signatures (`Signature=`, `X-Amz-Signature=`) → `<redacted>`;
//! - access key ids (`AKIA…`, `ASIA…`) → the mock's example id, later
//!   distinct ones numbered after it (`AKIDEXAMPLE2`, …);
//! - secret access keys → the mock's example secret; session tokens →
//!   [`SESSION_TOKEN_PLACEHOLDER`]; Bedrock API keys and bearer keys →
//!   the mock's example API key; web identity tokens, SSO tokens, client
//!   secrets → `<redacted>`;
//! - account ids (in ARNs, `%3A`-encoded ARNs in paths, `<Account>`, JSON
//!   `account`/`accountId`, and anywhere once seen) → the mock's account,
//!   later distinct ones the ids after it;
//! - prompt text (a request's message text, system prompt, thinking,
//!   tool inputs and results, image and document data) and answer text
//!   (text, thinking, signatures, tool inputs, streamed deltas) → a
//!   placeholder of the same length in characters (`x`, line breaks
//!   kept), unless text is kept. Tool *definitions* (names, descriptions,
//!   schemas) are the client program's, not the user's: they are kept, as
//!   are models, roles, types, ids, `metadata` and numbers. The Converse
//!   API's blocks (`toolUse`, `toolResult`, `reasoningContent`, image and
//!   document `bytes`) are text too, though the mock does not serve it.
//!
//! Layers, each using only those before it: counting (`report`) → free
//! text (`text`) → JSON (`json`).

mod json;
mod report;
mod text;

pub(crate) use text::assigned_at;

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use bedrock_mock_server::{EXAMPLE_API_KEY, may_hold_a_secret};

use json::{LeafStream, Seg, placeholder, rewrite};
pub use report::Redactions;
use report::SecretKind;
pub use text::SESSION_TOKEN_PLACEHOLDER;
use text::{REDACTED, Secrets};

/// Redacts one capture: every header, body, path and message the writer
/// writes goes through it, in the order they are written.
///
/// ```
/// use bedrock_harness::capture::redact::Redactor;
///
/// let mut redactor = Redactor::new(false);
/// let auth = redactor.header(
///     "authorization",
///     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, \
///      SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef",
/// );
/// assert_eq!(
///     auth.as_deref(),
///     Some(
///         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, \
///          SignedHeaders=host;x-amz-date, Signature=<redacted>"
///     )
/// );
/// let body = redactor.prompt_body(br#"{"messages":[{"role":"user","content":"Hi there"}]}"#);
/// assert_eq!(body, br#"{"messages":[{"role":"user","content":"xxxxxxxx"}]}"#);
/// assert_eq!(
///     redactor.report().to_string(),
///     "1 signature → <redacted>\n\
///      access key AKIA…MPLE → AKIDEXAMPLE\n\
///      prompt text: 1 field, 8 characters → placeholders (--keep-text keeps them)\n"
/// );
/// ```
pub struct Redactor {
    keep_text: bool,
    secrets: Secrets,
    /// The tool inputs being streamed: (stream, content block index) →
    /// where its JSON is.
    inputs: HashMap<(usize, u64), LeafStream>,
}

/// What a body is, which says which of its strings are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Prompt,
    Answer,
    /// One stream event, of stream `.0`.
    Event(usize),
    Other,
}

impl Redactor {
    /// A redactor for one capture; `keep_text` keeps prompt and answer text
    /// as sent (secrets are replaced all the same).
    pub fn new(keep_text: bool) -> Self {
        Self {
            keep_text,
            secrets: Secrets::new(keep_text),
            inputs: HashMap::new(),
        }
    }

    /// A request or answer header as the file may hold it, `None` to
    /// leave it out (`x-amz-security-token`, `x-api-key`, `cookie`,
    /// `set-cookie`). A SigV4 `Authorization` keeps its scope and signed
    /// headers, its key id mapped and its signature `<redacted>`; a bearer
    /// key becomes the mock's example API key; another header that may
    /// hold a secret is `<redacted>`; any other goes through
    /// [`text`](Self::text).
    pub fn header(&mut self, name: &str, value: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let dropped = match lower.as_str() {
            "x-amz-security-token" => Some((SecretKind::SessionToken, SESSION_TOKEN_PLACEHOLDER)),
            "x-api-key" => Some((SecretKind::ApiKey, EXAMPLE_API_KEY)),
            "cookie" | "set-cookie" => Some((SecretKind::Cookie, REDACTED)),
            _ => None,
        };
        if let Some((kind, with)) = dropped {
            self.secrets.replaced(kind, value.trim(), with);
            return None;
        }
        if lower == "authorization" {
            return Some(self.authorization(value));
        }
        if may_hold_a_secret(&lower) {
            return Some(
                self.secrets
                    .replaced(SecretKind::OtherToken, value.trim(), REDACTED),
            );
        }
        Some(self.secrets.text(value).into_owned())
    }

    fn authorization(&mut self, value: &str) -> String {
        let value = value.trim();
        if let Some(params) = value.strip_prefix("AWS4-HMAC-SHA256") {
            let mut kept = Vec::new();
            for part in params.split(',') {
                let Some((key, val)) = part.trim().split_once('=') else {
                    continue;
                };
                let val = val.trim();
                match key {
                    "Credential" | "SignedHeaders" => {
                        // Only the first word: spaces where commas belong
                        // must not smuggle a signature through.
                        let word = val.split_whitespace().next().unwrap_or_default();
                        kept.push(format!("{key}={}", self.secrets.text(word)));
                    }
                    "Signature" => {
                        self.secrets.replaced(SecretKind::Signature, val, REDACTED);
                        kept.push(format!("Signature={REDACTED}"));
                    }
                    _ => {}
                }
            }
            return format!("AWS4-HMAC-SHA256 {}", kept.join(", "));
        }
        let mut words = value.splitn(2, char::is_whitespace);
        let scheme = words.next().unwrap_or_default();
        let key = words.next().unwrap_or_default().trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let written = self
                .secrets
                .replaced(SecretKind::ApiKey, key, EXAMPLE_API_KEY);
            format!("{scheme} {written}")
        } else {
            self.secrets
                .replaced(SecretKind::OtherToken, value, REDACTED)
        }
    }

    /// A Messages API request body (InvokeModel's, Mantle's, as JSON):
    /// prompt text made placeholders unless text is kept, then
    /// [`other_body`](Self::other_body)'s rules. A body that is not JSON
    /// goes to `other_body`; the part of a JSON body after it breaks (a
    /// truncated body) is made a placeholder whole.
    ///
    /// ```
    /// use bedrock_harness::capture::redact::Redactor;
    ///
    /// let sent = br#"{"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"two\nlines"}]}],"max_tokens":9}"#;
    /// let written = Redactor::new(false).prompt_body(sent);
    /// assert_eq!(
    ///     String::from_utf8(written).unwrap(),
    ///     r#"{"system":"xxxxxxxxx","messages":[{"role":"user","content":[{"type":"text","text":"xxx\nxxxxx"}]}],"max_tokens":9}"#
    /// );
    /// assert_eq!(Redactor::new(true).prompt_body(sent), sent);
    /// ```
    pub fn prompt_body(&mut self, body: &[u8]) -> Vec<u8> {
        self.json_body(body, Body::Prompt)
    }

    /// A whole Messages answer (InvokeModel's, Mantle's without
    /// streaming): answer text made placeholders unless text is kept, then
    /// [`other_body`](Self::other_body)'s rules.
    pub fn answer_body(&mut self, body: &[u8]) -> Vec<u8> {
        self.json_body(body, Body::Answer)
    }

    /// One Anthropic stream event (the JSON a chunk frame carries, or an
    /// SSE event's data), called in stream order; `stream` tells streams
    /// apart. A tool input's `partial_json` fragments are redacted as one
    /// JSON text: joined, they still parse, with the same keys, and each
    /// keeps its length (an escape other than `\n` becomes one `x`). A
    /// chunk's `{"bytes": "<base64>"}` is opened and closed again.
    ///
    /// ```
    /// use bedrock_harness::capture::redact::Redactor;
    ///
    /// let mut redactor = Redactor::new(false);
    /// let events = [
    ///     r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}}"#,
    ///     r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"rm -"}}"#,
    ///     r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"rf /\"}"}}"#,
    /// ];
    /// let written: Vec<String> = events.iter().map(|e| redactor.answer_event(0, e)).collect();
    /// assert_eq!(written[0], events[0]);
    /// assert!(written[1].ends_with(r#""partial_json":"{\"command\": \"xxxx"}}"#));
    /// assert!(written[2].ends_with(r#""partial_json":"xxxx\"}"}}"#));
    /// ```
    pub fn answer_event(&mut self, stream: usize, json: &str) -> String {
        let event = serde_json::from_str::<serde_json::Value>(json).ok();
        let field = |name: &str| event.as_ref().and_then(|e| e.get(name));
        if let Some(index) = field("index").and_then(serde_json::Value::as_u64) {
            let kind = field("type").and_then(serde_json::Value::as_str);
            if matches!(kind, Some("content_block_start" | "content_block_stop")) {
                self.inputs.remove(&(stream, index));
            }
        }
        let index = field("index").and_then(serde_json::Value::as_u64);
        self.json_text(json, Body::Event(stream), index)
    }

    /// Any other body (control plane JSON, STS and SSO answers, error
    /// bodies; XML, JSON or other text): secret keys, session tokens,
    /// tokens and signatures replaced, key ids and account ids mapped.
    /// Bytes that are not UTF-8 are kept; the text between them is
    /// redacted.
    ///
    /// ```
    /// use bedrock_harness::capture::redact::Redactor;
    ///
    /// let mut redactor = Redactor::new(false);
    /// let sso = br#"{"roleCredentials":{"accessKeyId":"ASIAZZZZZZZZZZZZZZZZ","secretAccessKey":"real/secret/key/0123456789abcdefghijkl","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE0123456789","expiration":1}}"#;
    /// let written = String::from_utf8(redactor.other_body(sso)).unwrap();
    /// assert_eq!(
    ///     written,
    ///     r#"{"roleCredentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","sessionToken":"EXAMPLE-SESSION-TOKEN-REDACTED","expiration":1}}"#
    /// );
    /// ```
    pub fn other_body(&mut self, body: &[u8]) -> Vec<u8> {
        self.json_body(body, Body::Other)
    }

    /// Free text (a path, a query, an error message, a model ARN): key
    /// ids and account ids mapped, signatures, tokens and keys replaced,
    /// and any secret seen before replaced again.
    ///
    /// ```
    /// use bedrock_harness::capture::redact::Redactor;
    ///
    /// let mut redactor = Redactor::new(false);
    /// assert_eq!(
    ///     redactor.text("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A111122223333%3Aapplication-inference-profile%2Fabc/invoke"),
    ///     "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc/invoke"
    /// );
    /// ```
    pub fn text(&mut self, text: &str) -> String {
        self.secrets.text(text).into_owned()
    }

    /// What was redacted so far; its `Display` prints the lines the tool
    /// shows at the end.
    pub fn report(&self) -> &Redactions {
        &self.secrets.tally
    }

    fn json_body(&mut self, body: &[u8], kind: Body) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(body) else {
            return self.bytes(body);
        };
        self.json_text(text, kind, None).into_bytes()
    }

    /// Non-UTF-8 bytes: the text between invalid sequences redacted, the
    /// invalid bytes kept.
    fn bytes(&mut self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        for chunk in body.utf8_chunks() {
            out.extend_from_slice(self.secrets.markup(chunk.valid()).as_bytes());
            out.extend_from_slice(chunk.invalid());
        }
        out
    }

    /// `text` of `kind`, whose stream event has content block `index`.
    fn json_text(&mut self, text: &str, kind: Body, index: Option<u64>) -> String {
        if !text.trim_start().starts_with(['{', '[']) {
            return self.secrets.markup(text).into_owned();
        }
        let rewritten = rewrite(text, &mut |path: &[Seg], value: &str| {
            self.decide(kind, index, path, value)
        });
        let Some(rest) = rewritten.rest else {
            return rewritten.out;
        };
        let rest = &text[rest..];
        let mut out = rewritten.out;
        if kind == Body::Other || self.keep_text {
            out.push_str(&self.secrets.text(rest));
        } else {
            self.secrets
                .tally
                .text(kind != Body::Prompt, rest.chars().count());
            out.push_str(&placeholder(rest));
        }
        out
    }

    /// What string `value` at `path` of a body of `kind` becomes: `None`
    /// to keep it as written.
    fn decide(
        &mut self,
        kind: Body,
        index: Option<u64>,
        path: &[Seg],
        value: &str,
    ) -> Option<String> {
        if let Some(Seg::Key(key)) = path.last()
            && let Some(written) = self.secret_member(key, value)
        {
            return Some(written);
        }
        let answer = kind != Body::Prompt;
        let (is_text, delta) = match kind {
            Body::Prompt => (prompt_field(path), false),
            Body::Answer => (answer_field(path), false),
            Body::Event(stream) => match path {
                [Seg::Key(d), Seg::Key(p)] if d == "delta" && p == "partial_json" => {
                    return self.partial_json(stream, index.unwrap_or(u64::MAX), value);
                }
                [Seg::Key(b)] if b == "bytes" => return self.chunk(stream, value),
                _ => (
                    event_field(path),
                    matches!(path.first(), Some(Seg::Key(d)) if d == "delta"),
                ),
            },
            Body::Other => (false, false),
        };
        if !is_text {
            return self.changed(value);
        }
        let chars = value.chars().count();
        if delta {
            self.secrets.tally.more_text(answer, chars);
        } else {
            self.secrets.tally.text(answer, chars);
        }
        if self.keep_text {
            self.changed(value)
        } else {
            Some(placeholder(value))
        }
    }

    /// [`Secrets::text`] of `value`, `None` if it changed nothing.
    fn changed(&mut self, value: &str) -> Option<String> {
        match self.secrets.text(value) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(new) => Some(new),
        }
    }

    /// A JSON member whose name says its value is a secret or an account.
    fn secret_member(&mut self, key: &str, value: &str) -> Option<String> {
        let name: String = key
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let (kind, with) = match name.as_str() {
            "secretaccesskey" => (
                SecretKind::SecretKey,
                bedrock_mock_server::EXAMPLE_SECRET_ACCESS_KEY,
            ),
            "sessiontoken" => (SecretKind::SessionToken, SESSION_TOKEN_PLACEHOLDER),
            "apikey" | "bearertoken" => (SecretKind::ApiKey, EXAMPLE_API_KEY),
            "webidentitytoken" => (SecretKind::WebIdentityToken, REDACTED),
            "accesstoken" | "refreshtoken" | "idtoken" | "clientsecret" | "password"
            | "authorizationtoken" | "token" | "secret" | "privatekey" => {
                (SecretKind::OtherToken, REDACTED)
            }
            "account" | "accountid" | "awsaccountid"
                if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                return Some(self.secrets.account(value));
            }
            _ => return None,
        };
        if value.is_empty() {
            return None;
        }
        Some(self.secrets.replaced(kind, value, with))
    }

    /// One `partial_json` fragment of the tool input of content block
    /// `index` of `stream`.
    fn partial_json(&mut self, stream: usize, index: u64, fragment: &str) -> Option<String> {
        if self.keep_text {
            self.secrets.tally.more_text(true, fragment.chars().count());
            return self.changed(fragment);
        }
        let fed = self
            .inputs
            .entry((stream, index))
            .or_default()
            .feed(fragment);
        for _ in 0..fed.values {
            self.secrets.tally.text(true, 0);
        }
        self.secrets.tally.more_text(true, fed.chars);
        Some(fed.out)
    }

    /// A Bedrock chunk's `bytes`: the base64 of one event.
    fn chunk(&mut self, stream: usize, value: &str) -> Option<String> {
        let engine = base64::engine::general_purpose::STANDARD;
        let inner = engine
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match inner {
            Some(inner) => Some(engine.encode(self.answer_event(stream, &inner))),
            None => self.changed(value),
        }
    }
}

impl fmt::Debug for Redactor {
    /// Counts only: a redactor remembers the secrets it replaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("keep_text", &self.keep_text)
            .field("remembered_secrets", &self.secrets.remembered())
            .field("streamed_inputs", &self.inputs.len())
            .field("report", self.report())
            .finish()
    }
}

/// Whether the string at `path` of a Messages request is prompt text.
fn prompt_field(path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => k == "system" || k == "prompt",
        [Seg::Key(k), Seg::Index(_), rest @ ..] if k == "system" => block_field(rest),
        [Seg::Key(m), Seg::Index(_), Seg::Key(c), rest @ ..]
            if m == "messages" && c == "content" =>
        {
            match rest {
                [] => true,
                [Seg::Index(_), rest @ ..] => block_field(rest),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether the string at `path` of a whole Messages answer is answer
/// text.
fn answer_field(path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => k == "completion",
        [Seg::Key(c), Seg::Index(_), rest @ ..] if c == "content" => block_field(rest),
        // Converse's answer.
        [
            Seg::Key(o),
            Seg::Key(m),
            Seg::Key(c),
            Seg::Index(_),
            rest @ ..,
        ] if o == "output" && m == "message" && c == "content" => block_field(rest),
        _ => false,
    }
}

/// Whether the string at `path` of a stream event is answer text
/// (`partial_json` and `bytes` are the caller's).
fn event_field(path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => k == "completion",
        [Seg::Key(m), Seg::Key(c), Seg::Index(_), rest @ ..]
            if m == "message" && c == "content" =>
        {
            block_field(rest)
        }
        [Seg::Key(b), rest @ ..] if b == "content_block" => block_field(rest),
        [Seg::Key(d), Seg::Key(k)] if d == "delta" => {
            matches!(k.as_str(), "text" | "thinking" | "signature")
        }
        [Seg::Key(d), rest @ ..] if d == "delta" => block_field(rest),
        _ => false,
    }
}

/// The Converse API's content blocks (`{"toolUse": {...}}`,
/// `{"reasoningContent": {"reasoningText": {...}}}`): the mock does not
/// serve Converse, but a customer's capture may hold it.
const CONVERSE_WRAPPERS: &[&str] = &[
    "toolUse",
    "toolResult",
    "reasoningContent",
    "reasoningText",
    "guardContent",
    "image",
    "document",
    "video",
    "text",
];

/// Whether the string at `rest`, a path inside a content block, is text:
/// the block's text, thinking, signature, data, input, content, title,
/// context, URL, citations; a nested block's (a tool result's).
fn block_field(rest: &[Seg]) -> bool {
    match rest {
        [Seg::Key(k)] => matches!(
            k.as_str(),
            "text"
                | "thinking"
                | "signature"
                | "data"
                | "input"
                | "content"
                | "title"
                | "context"
                | "url"
                | "cited_text"
                | "document_title"
                | "encrypted_content"
                | "encrypted_index"
                | "bytes"
                | "json"
                | "redactedContent"
        ),
        [Seg::Key(k), _, ..] if k == "input" => true,
        [Seg::Key(k), Seg::Index(_), rest @ ..] if k == "content" || k == "citations" => {
            block_field(rest)
        }
        [Seg::Key(k), rest @ ..] if k == "source" || k == "citation" => block_field(rest),
        // The Converse API's blocks, which wrap theirs one level deeper.
        [Seg::Key(k), _, ..] if k == "json" => true,
        [Seg::Key(k), rest @ ..] if CONVERSE_WRAPPERS.contains(&k.as_str()) => block_field(rest),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
