//! What a model answers: a scripted reply turned into an Anthropic
//! Messages response, whole (InvokeModel) or as stream events
//! (InvokeModelWithResponseStream).
//!
//! Token counts are a fixed rule, not a tokenizer: a word with its leading
//! space is one output token, and input tokens are a quarter of the
//! prompt's characters. Deterministic, so scenarios can assert on them.

use bedrock_eventstream::anthropic::{
    ContentBlock, Delta, InvocationMetrics, Message, MessageDelta, StreamEvent, Usage,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rng::Rng;

/// A scripted answer.
///
/// ```
/// use bedrock_mock_server::{Reply, ReplyBlock};
///
/// let reply = Reply::text("Hello there");
/// assert_eq!(reply.content, [ReplyBlock::Text { text: "Hello there".into() }]);
/// let toml_like: Reply = serde_json::from_str(
///     r#"{"content": [{"type": "thinking", "thinking": "Hmm"}, {"type": "echo"}]}"#,
/// ).unwrap();
/// assert_eq!(toml_like.content.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Reply {
    /// The content blocks, in order.
    pub content: Vec<ReplyBlock>,
    /// `stop_reason` when the reply is not cut by `max_tokens`; by default
    /// `tool_use` if a tool is called, else `end_turn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

impl Default for Reply {
    /// `hi`, the answer the golden captures of the real CLI got.
    fn default() -> Self {
        Reply::text("hi")
    }
}

impl Reply {
    /// A reply of `content`, in order.
    ///
    /// ```
    /// use bedrock_mock_server::{Reply, ReplyBlock};
    ///
    /// let reply = Reply::new(vec![ReplyBlock::Text { text: "hello".into() }])
    ///     .with_stop_reason("max_tokens");
    /// assert_eq!(reply.stop_reason.as_deref(), Some("max_tokens"));
    /// ```
    pub fn new(content: Vec<ReplyBlock>) -> Self {
        Reply {
            content,
            stop_reason: None,
        }
    }

    /// The reply with `stop_reason` instead of the one its content implies.
    pub fn with_stop_reason(mut self, stop_reason: impl Into<String>) -> Self {
        self.stop_reason = Some(stop_reason.into());
        self
    }

    /// One text block.
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            content: vec![ReplyBlock::Text { text: text.into() }],
            stop_reason: None,
        }
    }

    /// Repeats the last user message.
    pub fn echo() -> Self {
        Reply {
            content: vec![ReplyBlock::Echo],
            stop_reason: None,
        }
    }
}

/// One block of a scripted answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum ReplyBlock {
    /// Fixed text.
    Text {
        /// The text.
        text: String,
    },
    /// The text of the last user message.
    Echo,
    /// A tool call.
    ToolUse {
        /// Tool name.
        name: String,
        /// Tool input. Its keys go out in the order given when the build
        /// enables serde_json's `preserve_order` (bedrock-harness, and so
        /// scenario files, do), sorted otherwise: a `Value` keeps no
        /// order without it, and this crate does not force it on yours.
        input: Value,
    },
    /// Extended thinking, followed by its signature.
    Thinking {
        /// The thinking text.
        thinking: String,
    },
}

/// A reply made concrete for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    pub message_id: String,
    pub model: String,
    pub blocks: Vec<RenderedBlock>,
    pub stop_reason: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RenderedBlock {
    Text(Pieces),
    ToolUse {
        id: String,
        name: String,
        json_pieces: Pieces,
    },
    Thinking {
        pieces: Pieces,
        signature: String,
    },
}

/// Applies `reply` to a request body: resolves echoes, counts tokens, and
/// cuts the output at `max_tokens`.
pub(crate) fn render(reply: &Reply, body: &Value, model_id: &str, rng: &mut Rng) -> Rendered {
    let max_tokens = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let mut budget = max_tokens;
    let mut blocks = Vec::new();
    let mut truncated = false;
    for block in &reply.content {
        if budget == 0 {
            truncated = true;
            break;
        }
        let mut take = |mut pieces: Pieces| {
            if pieces.len() as u64 > budget {
                truncated = true;
                pieces.truncate(budget as usize);
            }
            budget -= pieces.len() as u64;
            pieces
        };
        blocks.push(match block {
            ReplyBlock::Text { text } => RenderedBlock::Text(take(words(text.clone()))),
            ReplyBlock::Echo => RenderedBlock::Text(take(words(last_user_text(body)))),
            ReplyBlock::ToolUse { name, input } => RenderedBlock::ToolUse {
                id: format!("toolu_bdrk_{}", rng.base62(24)),
                name: name.clone(),
                json_pieces: take(json_pieces(input.to_string())),
            },
            ReplyBlock::Thinking { thinking } => RenderedBlock::Thinking {
                pieces: take(words(thinking.clone())),
                signature: rng.base62(88),
            },
        });
    }
    let output_tokens = max_tokens - budget;
    let called_tool = blocks
        .iter()
        .any(|b| matches!(b, RenderedBlock::ToolUse { .. }));
    let stop_reason = if truncated {
        "max_tokens".to_owned()
    } else if let Some(reason) = &reply.stop_reason {
        reason.clone()
    } else if called_tool {
        "tool_use".to_owned()
    } else {
        "end_turn".to_owned()
    };
    Rendered {
        message_id: format!("msg_bdrk_{}", rng.base62(24)),
        model: response_model_name(model_id),
        blocks,
        stop_reason,
        input_tokens: input_tokens(body),
        output_tokens,
    }
}

impl Rendered {
    /// The InvokeModel (and Mantle Messages) response body, its keys in
    /// the order Bedrock writes them whatever serde_json's features.
    pub fn message_body(&self) -> Vec<u8> {
        serde_json::to_vec(&MessageBody::of(self)).expect("a message serializes")
    }

    /// The stream events, deltas grouped a few tokens at a time as Bedrock
    /// sends them. `message_stop` carries `metrics` (Bedrock's invocation
    /// metrics; Mantle sends none).
    pub fn stream_events(
        &self,
        rng: &mut Rng,
        metrics: Option<InvocationMetrics>,
    ) -> Vec<StreamEvent> {
        self.planned_events(rng, metrics)
            .into_iter()
            .map(PlannedEvent::into_event)
            .collect()
    }

    /// [`stream_events`](Self::stream_events), each delta borrowing its
    /// text from the reply instead of owning a copy: a stream is mostly
    /// deltas. The same draws from `rng`, in the same order.
    pub fn planned_events(
        &self,
        rng: &mut Rng,
        metrics: Option<InvocationMetrics>,
    ) -> Vec<PlannedEvent<'_>> {
        let mut events = vec![PlannedEvent::Whole(self.message_start())];
        for (index, block) in self.blocks.iter().enumerate() {
            block.push_events(index as u32, rng, &mut events);
        }
        events.push(PlannedEvent::Whole(StreamEvent::MessageDelta {
            delta: MessageDelta::stop(self.stop_reason.clone()),
            usage: Usage::default().with_output_tokens(self.output_tokens),
        }));
        events.push(PlannedEvent::Whole(StreamEvent::MessageStop {
            invocation_metrics: metrics,
        }));
        events
    }

    fn message_start(&self) -> StreamEvent {
        StreamEvent::MessageStart {
            message: Message::new(self.message_id.clone(), self.model.clone()).with_usage(
                Usage::default()
                    .with_input_tokens(self.input_tokens)
                    .with_cache_creation_input_tokens(0)
                    .with_cache_read_input_tokens(0)
                    .with_output_tokens(1),
            ),
        }
    }
}

/// A stream event as a rendered reply plans it: a delta of the reply's
/// own text, borrowed, or any other event whole.
#[derive(Debug)]
pub(crate) enum PlannedEvent<'a> {
    /// A `content_block_delta` of block `index`: `text`, of `kind`.
    Delta {
        index: u32,
        kind: DeltaKind,
        text: &'a str,
    },
    Whole(StreamEvent),
}

/// The kinds of delta that carry a piece of a block's text.
/// A memo's key holds it as its `u8`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DeltaKind {
    Text,
    InputJson,
    Thinking,
}

impl DeltaKind {
    fn delta(self, text: String) -> Delta {
        match self {
            DeltaKind::Text => Delta::Text { text },
            DeltaKind::InputJson => Delta::InputJson { partial_json: text },
            DeltaKind::Thinking => Delta::Thinking { thinking: text },
        }
    }
}

impl PlannedEvent<'_> {
    /// The event's `type`.
    pub fn event_type(&self) -> &str {
        match self {
            PlannedEvent::Delta { .. } => "content_block_delta",
            PlannedEvent::Whole(event) => event.event_type(),
        }
    }

    /// The event, owning its text.
    pub fn into_event(self) -> StreamEvent {
        match self {
            PlannedEvent::Delta { index, kind, text } => StreamEvent::ContentBlockDelta {
                index,
                delta: kind.delta(text.to_owned()),
            },
            PlannedEvent::Whole(event) => event,
        }
    }
}

impl RenderedBlock {
    /// Appends the block's events at `index`: its start, its deltas, its
    /// stop.
    fn push_events<'a>(&'a self, index: u32, rng: &mut Rng, events: &mut Vec<PlannedEvent<'a>>) {
        let deltas = |pieces: &'a Pieces, kind, rng: &mut Rng, events: &mut Vec<_>| {
            events.extend(group(pieces, rng).map(|text| PlannedEvent::Delta { index, kind, text }));
        };
        match self {
            RenderedBlock::Text(pieces) => {
                events.push(PlannedEvent::Whole(StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::Text {
                        text: String::new(),
                    },
                }));
                deltas(pieces, DeltaKind::Text, rng, events);
            }
            RenderedBlock::ToolUse {
                id,
                name,
                json_pieces,
            } => {
                events.push(PlannedEvent::Whole(StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::ToolUse {
                        id: id.clone(),
                        name: name.clone(),
                        input: Value::Object(Default::default()),
                    },
                }));
                deltas(json_pieces, DeltaKind::InputJson, rng, events);
            }
            RenderedBlock::Thinking { pieces, signature } => {
                events.push(PlannedEvent::Whole(StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::Thinking {
                        thinking: String::new(),
                        signature: Some(String::new()),
                    },
                }));
                deltas(pieces, DeltaKind::Thinking, rng, events);
                events.push(PlannedEvent::Whole(StreamEvent::ContentBlockDelta {
                    index,
                    delta: Delta::Signature {
                        signature: signature.clone(),
                    },
                }));
            }
        }
        events.push(PlannedEvent::Whole(StreamEvent::ContentBlockStop { index }));
    }
}

/// An Anthropic Messages response as Bedrock writes it: fields in this
/// order (serde writes a struct's fields in declaration order, so the
/// order does not depend on serde_json's `preserve_order`).
#[derive(Serialize)]
struct MessageBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<ContentJson<'a>>,
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
    usage: UsageJson,
}

/// A content block of [`MessageBody`]: `type` first, then its fields.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentJson<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: ToolInput,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
}

/// The usage of a whole message.
#[derive(Serialize)]
struct UsageJson {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

/// A tool call's input as its deltas spelled it (kept as text, so its
/// keys keep their order), or `{}` when `max_tokens` cut the text short
/// of valid JSON.
struct ToolInput(Option<Box<serde_json::value::RawValue>>);

impl Serialize for ToolInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(raw) => raw.serialize(s),
            None => serde_json::Map::new().serialize(s),
        }
    }
}

impl<'a> MessageBody<'a> {
    fn of(rendered: &'a Rendered) -> Self {
        let content = rendered
            .blocks
            .iter()
            .map(|block| match block {
                RenderedBlock::Text(pieces) => ContentJson::Text {
                    text: pieces.whole(),
                },
                RenderedBlock::ToolUse {
                    id,
                    name,
                    json_pieces,
                } => ContentJson::ToolUse {
                    id,
                    name,
                    input: ToolInput(
                        serde_json::value::RawValue::from_string(json_pieces.whole().to_owned())
                            .ok(),
                    ),
                },
                RenderedBlock::Thinking { pieces, signature } => ContentJson::Thinking {
                    thinking: pieces.whole(),
                    signature,
                },
            })
            .collect();
        MessageBody {
            id: &rendered.message_id,
            kind: "message",
            role: "assistant",
            model: &rendered.model,
            content,
            stop_reason: &rendered.stop_reason,
            stop_sequence: None,
            usage: UsageJson {
                input_tokens: rendered.input_tokens,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 0,
                output_tokens: rendered.output_tokens,
            },
        }
    }
}

/// Groups of one to four pieces, the way Bedrock batches tokens.
fn group<'a, 'r>(pieces: &'a Pieces, rng: &'r mut Rng) -> impl Iterator<Item = &'a str> + 'r
where
    'a: 'r,
{
    let mut next = 0;
    std::iter::from_fn(move || {
        if next == pieces.len() {
            return None;
        }
        let n = rng.between(1, 4).min(pieces.len() - next);
        let text = pieces.span(next, next + n);
        next += n;
        Some(text)
    })
}

/// A text cut into pieces, one output token each: the text kept whole,
/// with where each piece ends. A reply of a few hundred words is then two
/// allocations, not one per word.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Pieces {
    text: String,
    /// Each piece's end in `text`, in bytes; the last is `text`'s length.
    ends: Vec<usize>,
}

impl Pieces {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The pieces' text, all of it.
    fn whole(&self) -> &str {
        &self.text
    }

    /// Pieces `from..to` as one text.
    fn span(&self, from: usize, to: usize) -> &str {
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        &self.text[start..self.ends[to - 1]]
    }

    /// Keeps the first `n` pieces.
    fn truncate(&mut self, n: usize) {
        if n < self.ends.len() {
            self.text
                .truncate(if n == 0 { 0 } else { self.ends[n - 1] });
            self.ends.truncate(n);
        }
    }

    /// The pieces `parts`, in order (tests build renderings by hand).
    #[cfg(test)]
    fn of(parts: &[&str]) -> Self {
        let mut pieces = Pieces::default();
        for part in parts {
            pieces.text.push_str(part);
            pieces.ends.push(pieces.text.len());
        }
        pieces
    }

    /// Each piece on its own.
    #[cfg(test)]
    fn to_vec(&self) -> Vec<&str> {
        (0..self.len()).map(|i| self.span(i, i + 1)).collect()
    }
}

/// Ends a piece of `text` at `end` (it starts at `start`), cut into pieces
/// of at most `most` characters.
fn push_piece(text: &str, start: usize, end: usize, most: usize, ends: &mut Vec<usize>) {
    for (count, (at, _)) in text[start..end].char_indices().enumerate() {
        if count > 0 && count % most == 0 {
            ends.push(start + at);
        }
    }
    ends.push(end);
}

/// Splits text into "tokens": each word keeps the whitespace before it.
/// A "word" longer than a real token would make one huge delta (and, past
/// 16 MiB, a frame no AWS decoder takes): it is split as a tokenizer would.
fn words(text: String) -> Pieces {
    let mut ends = Vec::new();
    let (mut start, mut in_word) = (0, false);
    for (at, c) in text.char_indices() {
        if c.is_whitespace() && in_word {
            push_piece(&text, start, at, MAX_TOKEN_CHARS, &mut ends);
            start = at;
            in_word = false;
        }
        if !c.is_whitespace() {
            in_word = true;
        }
    }
    if start < text.len() {
        push_piece(&text, start, text.len(), MAX_TOKEN_CHARS, &mut ends);
    }
    Pieces { text, ends }
}

/// The longest piece of text one output token stands for.
const MAX_TOKEN_CHARS: usize = 16;

/// JSON text in pieces of up to eight characters.
fn json_pieces(json: String) -> Pieces {
    let mut ends = Vec::new();
    if !json.is_empty() {
        push_piece(&json, 0, json.len(), 8, &mut ends);
    }
    Pieces { text: json, ends }
}

/// The text of the last user message: a string, or its text blocks joined.
fn last_user_text(body: &Value) -> String {
    let Some(message) = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
    else {
        return String::new();
    };
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A quarter of the characters of the system prompt and messages, at least 1.
pub(crate) fn input_tokens(body: &Value) -> u64 {
    fn text_len(v: &Value) -> usize {
        match v {
            Value::String(s) => s.chars().count(),
            Value::Array(items) => items.iter().map(text_len).sum(),
            Value::Object(map) => map
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "text" | "content"))
                .map(|(_, v)| text_len(v))
                .sum(),
            _ => 0,
        }
    }
    let chars = body.get("system").map_or(0, text_len) + body.get("messages").map_or(0, text_len);
    (chars as u64).div_ceil(4).max(1)
}

/// The `model` Bedrock reports: the base id without `anthropic.` and
/// without the `-v1:0` version suffix.
pub(crate) fn response_model_name(model_id: &str) -> String {
    let name = model_id.strip_prefix("anthropic.").unwrap_or(model_id);
    match name.rsplit_once("-v") {
        Some((base, version))
            if !version.is_empty()
                && version
                    .split(':')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            base.to_owned()
        }
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(max_tokens: u64) -> Value {
        serde_json::json!({"max_tokens": max_tokens, "messages": [{"role": "user", "content": "say hi to everyone"}]})
    }

    fn message_json(r: &Rendered) -> Value {
        serde_json::from_slice(&r.message_body()).unwrap()
    }

    /// The bytes of a message, keys in Bedrock's order (not sorted, which
    /// is what a `serde_json::Value` gives without `preserve_order`), a
    /// tool input's keys as its text had them, and `{}` for a tool input
    /// `max_tokens` cut short.
    #[test]
    fn a_message_body_keeps_bedrocks_key_order() {
        let rendered = Rendered {
            message_id: "msg_bdrk_1".into(),
            model: "claude-x".into(),
            blocks: vec![
                RenderedBlock::Thinking {
                    pieces: Pieces::of(&["Hm", "m"]),
                    signature: "sig".into(),
                },
                RenderedBlock::Text(Pieces::of(&["Hi", " there"])),
                RenderedBlock::ToolUse {
                    id: "toolu_bdrk_1".into(),
                    name: "Bash".into(),
                    json_pieces: json_pieces(r#"{"path":"/tmp","command":"ls"}"#.into()),
                },
                RenderedBlock::ToolUse {
                    id: "toolu_bdrk_2".into(),
                    name: "Bash".into(),
                    json_pieces: Pieces::of(&[r#"{"path":"#]),
                },
            ],
            stop_reason: "max_tokens".into(),
            input_tokens: 12,
            output_tokens: 7,
        };
        assert_eq!(
            String::from_utf8(rendered.message_body()).unwrap(),
            concat!(
                r#"{"id":"msg_bdrk_1","type":"message","role":"assistant","model":"claude-x","content":["#,
                r#"{"type":"thinking","thinking":"Hmm","signature":"sig"},"#,
                r#"{"type":"text","text":"Hi there"},"#,
                r#"{"type":"tool_use","id":"toolu_bdrk_1","name":"Bash","input":{"path":"/tmp","command":"ls"}},"#,
                r#"{"type":"tool_use","id":"toolu_bdrk_2","name":"Bash","input":{}}],"#,
                r#""stop_reason":"max_tokens","stop_sequence":null,"#,
                r#""usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7}}"#,
            )
        );
    }

    #[test]
    fn max_tokens_cuts_the_reply() {
        let reply = Reply::text("one two three");
        let r = render(
            &reply,
            &body(1),
            "anthropic.claude-opus-5-5",
            &mut Rng::new(1),
        );
        assert_eq!(r.stop_reason, "max_tokens");
        assert_eq!(r.output_tokens, 1);
        assert_eq!(message_json(&r)["content"][0]["text"], "one");
        let r = render(
            &reply,
            &body(100),
            "anthropic.claude-opus-5-5",
            &mut Rng::new(1),
        );
        assert_eq!(r.stop_reason, "end_turn");
        assert_eq!(r.output_tokens, 3);
    }

    #[test]
    fn stream_deltas_concatenate_to_the_whole_text() {
        let reply = Reply::echo();
        let r = render(
            &reply,
            &body(100),
            "anthropic.claude-opus-5-5",
            &mut Rng::new(3),
        );
        let events = r.stream_events(&mut Rng::new(3), Some(InvocationMetrics::default()));
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ContentBlockDelta {
                    delta: Delta::Text { text },
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "say hi to everyone");
        assert!(matches!(
            events.last(),
            Some(StreamEvent::MessageStop {
                invocation_metrics: Some(_)
            })
        ));
    }

    #[test]
    fn tool_input_survives_splitting() {
        let reply = Reply {
            content: vec![ReplyBlock::ToolUse {
                name: "Bash".into(),
                input: serde_json::json!({"command": "ls -la /tmp"}),
            }],
            stop_reason: None,
        };
        let r = render(&reply, &body(100), "m", &mut Rng::new(1));
        assert_eq!(r.stop_reason, "tool_use");
        assert_eq!(
            message_json(&r)["content"][0]["input"]["command"],
            "ls -la /tmp"
        );
    }

    #[test]
    fn a_giant_word_is_many_tokens() {
        let pieces = words("x".repeat(100));
        assert_eq!(pieces.len(), 7);
        assert_eq!(pieces.whole(), "x".repeat(100));
    }

    /// How words were cut when each was its own `String`: the pieces must
    /// not change (a seeded stream's deltas are compared byte for byte).
    fn words_one_string_each(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        let mut in_word = false;
        for c in text.chars() {
            if c.is_whitespace() && in_word {
                out.push(std::mem::take(&mut current));
                in_word = false;
            }
            if !c.is_whitespace() {
                in_word = true;
            }
            current.push(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out.into_iter()
            .flat_map(|w| {
                let chars: Vec<char> = w.chars().collect();
                chars
                    .chunks(MAX_TOKEN_CHARS)
                    .map(|c| c.iter().collect())
                    .collect::<Vec<String>>()
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn words_cut_as_before(text in "([a-zé😀]{0,40}[ \\t\\n]{0,2}){0,6}") {
            let pieces = words(text.clone());
            proptest::prop_assert_eq!(pieces.to_vec(), words_one_string_each(&text));
            for keep in 0..=pieces.len() {
                let mut kept = pieces.clone();
                kept.truncate(keep);
                proptest::prop_assert_eq!(kept.to_vec(), &pieces.to_vec()[..keep]);
                proptest::prop_assert_eq!(kept.whole(), pieces.to_vec()[..keep].concat());
            }
        }

        #[test]
        fn json_is_cut_every_eight_characters(text in "[{}\"a-zé😀:,]{0,40}") {
            let chars: Vec<char> = text.chars().collect();
            let before: Vec<String> = chars.chunks(8).map(|c| c.iter().collect()).collect();
            let pieces = json_pieces(text.clone());
            proptest::prop_assert_eq!(pieces.to_vec(), before);
        }
    }

    #[test]
    fn model_name_drops_prefix_and_version() {
        assert_eq!(
            response_model_name("anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5-20250929"
        );
        assert_eq!(
            response_model_name("anthropic.claude-opus-4-6-v1"),
            "claude-opus-4-6"
        );
        assert_eq!(
            response_model_name("anthropic.claude-opus-5-5"),
            "claude-opus-5-5"
        );
    }
}
