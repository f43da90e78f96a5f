//! The Anthropic Messages streaming events, as both Bedrock (inside `chunk`
//! frames) and Mantle (as Server-Sent Events) deliver them.
//!
//! One vocabulary for the mock server, which produces these events, and for
//! the client, which consumes them. Parsing is tuned for the hot case, a
//! `content_block_delta`: one pass of serde over a flat shape, no
//! intermediate `serde_json::Value`. Event, delta and block types this
//! crate does not know are kept whole as [`StreamEvent::Other`],
//! [`Delta::Other`] and [`ContentBlock::Other`], the way the Anthropic SDKs
//! pass over them: as [`RawJson`], the text they arrived in, so relaying
//! one writes it back byte for byte (field order, number spelling and
//! spacing unchanged) whichever `serde_json` features the build enables.
//!
//! ```
//! use bedrock_eventstream::anthropic::{Delta, StreamEvent};
//!
//! let event = StreamEvent::from_json(
//!     br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
//! )
//! .unwrap();
//! assert_eq!(
//!     event,
//!     StreamEvent::ContentBlockDelta { index: 0, delta: Delta::Text { text: "Hi".into() } }
//! );
//! assert_eq!(StreamEvent::from_json(&event.to_json()).unwrap(), event);
//! ```

use std::borrow::Cow;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON value kept as the text it arrived in: what an event, delta or
/// block this crate does not model holds, so that writing it again gives
/// back the same bytes. Two are equal when their texts are.
///
/// It deserializes from serde_json only (`serde_json::from_str`,
/// `from_slice`, `from_reader`): the text it keeps is what serde_json's
/// reader hands over. Inside a `#[serde(untagged)]` or `flatten` type of
/// your own, or from another format, read the event with
/// [`StreamEvent::from_json`] first, or hold a `serde_json::Value`.
///
/// ```
/// use bedrock_eventstream::anthropic::RawJson;
///
/// let raw = RawJson::from_text(r#"{"b":1,"a":1.0000000000000002}"#).unwrap();
/// assert_eq!(raw.as_str(), r#"{"b":1,"a":1.0000000000000002}"#);
/// assert_eq!(raw.to_value().unwrap()["b"], 1);
/// assert!(RawJson::from_text("{not json").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Checks that `text` is one JSON value and keeps it as it is
    /// (surrounding whitespace dropped).
    pub fn from_text(text: &str) -> Result<RawJson, serde_json::Error> {
        serde_json::from_str(text).map(RawJson)
    }

    /// The JSON text, exactly as it arrived.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The value parsed, to look inside it.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The value parsed into any type.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl std::fmt::Display for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&RawValue> for RawJson {
    fn from(raw: &RawValue) -> Self {
        RawJson(raw.to_owned())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(RawJson)
    }
}

/// One event of a streamed Messages response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// `message_start`: the message with empty content and initial usage.
    MessageStart {
        /// The message so far.
        message: Message,
    },
    /// `content_block_start`.
    ContentBlockStart {
        /// Position of the block in the message's content.
        index: u32,
        /// The block, with empty text or input.
        content_block: ContentBlock,
    },
    /// `content_block_delta`.
    ContentBlockDelta {
        /// Position of the block being extended.
        index: u32,
        /// What to append.
        delta: Delta,
    },
    /// `content_block_stop`.
    ContentBlockStop {
        /// Position of the finished block.
        index: u32,
    },
    /// `message_delta`: the stop reason and final output usage.
    MessageDelta {
        /// Stop reason and sequence.
        delta: MessageDelta,
        /// Cumulative usage.
        usage: Usage,
    },
    /// `message_stop`. On Bedrock it carries the invocation metrics.
    MessageStop {
        /// `amazon-bedrock-invocationMetrics`, present on Bedrock streams.
        invocation_metrics: Option<InvocationMetrics>,
    },
    /// `ping`, sent by the Anthropic API (and Mantle) to keep a stream alive.
    Ping,
    /// `error`: a mid-stream error in the Anthropic API's shape (Mantle SSE).
    Error {
        /// The error's type and message.
        error: ApiError,
    },
    /// An event type this crate does not model, kept whole.
    Other {
        /// The event's `type`.
        event_type: String,
        /// The whole event object, as it arrived.
        json: RawJson,
    },
}

/// The `message` of a `message_start` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Message id (`msg_...`; `msg_bdrk_...` on Bedrock).
    pub id: String,
    /// Always `assistant` for responses.
    pub role: String,
    /// The model id as the service reports it.
    pub model: String,
    /// Content blocks; empty at `message_start`.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// Why generation stopped; null at `message_start`.
    pub stop_reason: Option<String>,
    /// The stop sequence that matched, if any.
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
}

impl Message {
    /// A message as `message_start` announces it: `role` `assistant`, no
    /// content, no stop reason yet, empty usage (set it with
    /// [`Message::with_usage`]).
    ///
    /// ```
    /// use bedrock_eventstream::anthropic::{Message, StreamEvent, Usage};
    ///
    /// let message = Message::new("msg_bdrk_01", "claude-sonnet-4-5-20250929")
    ///     .with_usage(Usage::default().with_input_tokens(12).with_output_tokens(1));
    /// let event = StreamEvent::MessageStart { message };
    /// assert!(String::from_utf8(event.to_json()).unwrap().contains(r#""input_tokens":12"#));
    /// ```
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Message {
        Message {
            id: id.into(),
            role: "assistant".to_owned(),
            model: model.into(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage::default(),
        }
    }

    /// The message with `usage`.
    pub fn with_usage(mut self, usage: Usage) -> Message {
        self.usage = usage;
        self
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("type", "message")?;
        m.serialize_entry("role", &self.role)?;
        m.serialize_entry("model", &self.model)?;
        m.serialize_entry("content", &self.content)?;
        m.serialize_entry("stop_reason", &self.stop_reason)?;
        m.serialize_entry("stop_sequence", &self.stop_sequence)?;
        m.serialize_entry("usage", &self.usage)?;
        m.end()
    }
}

/// Token counts. Which fields appear depends on the event: `message_start`
/// has input and output tokens, `message_delta` at least the output tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens not read from or written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
}

impl Usage {
    /// The usage with `input_tokens` set.
    ///
    /// ```
    /// use bedrock_eventstream::anthropic::Usage;
    ///
    /// let usage = Usage::default()
    ///     .with_input_tokens(12)
    ///     .with_cache_creation_input_tokens(0)
    ///     .with_cache_read_input_tokens(0)
    ///     .with_output_tokens(15);
    /// assert_eq!((usage.input_tokens, usage.output_tokens), (Some(12), Some(15)));
    /// ```
    pub fn with_input_tokens(mut self, tokens: u64) -> Usage {
        self.input_tokens = Some(tokens);
        self
    }

    /// The usage with `cache_creation_input_tokens` set.
    pub fn with_cache_creation_input_tokens(mut self, tokens: u64) -> Usage {
        self.cache_creation_input_tokens = Some(tokens);
        self
    }

    /// The usage with `cache_read_input_tokens` set.
    pub fn with_cache_read_input_tokens(mut self, tokens: u64) -> Usage {
        self.cache_read_input_tokens = Some(tokens);
        self
    }

    /// The usage with `output_tokens` set.
    pub fn with_output_tokens(mut self, tokens: u64) -> Usage {
        self.output_tokens = Some(tokens);
        self
    }
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDelta {
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, ...
    pub stop_reason: Option<String>,
    /// The stop sequence that matched, if any.
    pub stop_sequence: Option<String>,
}

impl MessageDelta {
    /// A delta that stops the message for `stop_reason`, with no stop
    /// sequence.
    ///
    /// ```
    /// use bedrock_eventstream::anthropic::{MessageDelta, StreamEvent, Usage};
    ///
    /// let event = StreamEvent::MessageDelta {
    ///     delta: MessageDelta::stop("end_turn"),
    ///     usage: Usage::default().with_output_tokens(15),
    /// };
    /// assert_eq!(
    ///     event.to_json(),
    ///     br#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#
    /// );
    /// ```
    pub fn stop(stop_reason: impl Into<String>) -> MessageDelta {
        MessageDelta {
            stop_reason: Some(stop_reason.into()),
            stop_sequence: None,
        }
    }

    /// The delta with the stop sequence that matched.
    pub fn with_stop_sequence(mut self, sequence: impl Into<String>) -> MessageDelta {
        self.stop_sequence = Some(sequence.into());
        self
    }
}

/// `amazon-bedrock-invocationMetrics`, which Bedrock adds to `message_stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InvocationMetrics {
    /// Prompt tokens.
    pub input_token_count: u64,
    /// Generated tokens.
    pub output_token_count: u64,
    /// Milliseconds from request to last byte.
    pub invocation_latency: u64,
    /// Milliseconds from request to first byte.
    pub first_byte_latency: u64,
    /// Tokens read from the prompt cache, when caching was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_token_count: Option<u64>,
    /// Tokens written to the prompt cache, when caching was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_token_count: Option<u64>,
}

impl InvocationMetrics {
    /// Metrics of `input_token_count` prompt tokens and
    /// `output_token_count` generated ones, with zero latencies and no
    /// cache counts.
    ///
    /// ```
    /// use bedrock_eventstream::anthropic::{InvocationMetrics, StreamEvent};
    ///
    /// let metrics = InvocationMetrics::new(12, 15).with_latencies(812, 301);
    /// let event = StreamEvent::MessageStop { invocation_metrics: Some(metrics) };
    /// assert!(String::from_utf8(event.to_json()).unwrap().contains(r#""invocationLatency":812"#));
    /// ```
    pub fn new(input_token_count: u64, output_token_count: u64) -> InvocationMetrics {
        InvocationMetrics {
            input_token_count,
            output_token_count,
            ..InvocationMetrics::default()
        }
    }

    /// The metrics with `invocation_latency` (request to last byte) and
    /// `first_byte_latency`, in milliseconds.
    pub fn with_latencies(mut self, invocation_latency: u64, first_byte_latency: u64) -> Self {
        self.invocation_latency = invocation_latency;
        self.first_byte_latency = first_byte_latency;
        self
    }

    /// The metrics with the prompt cache's `read` and `write` token counts.
    pub fn with_cache_counts(mut self, read: u64, write: u64) -> Self {
        self.cache_read_input_token_count = Some(read);
        self.cache_write_input_token_count = Some(write);
        self
    }
}

/// The `error` of an `error` event: `{"type":"overloaded_error","message":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// `invalid_request_error`, `overloaded_error`, `api_error`, ...
    #[serde(rename = "type")]
    pub error_type: String,
    /// Human-readable text.
    pub message: String,
}

impl ApiError {
    /// An error of `error_type` (`overloaded_error`, ...) saying `message`.
    ///
    /// ```
    /// use bedrock_eventstream::anthropic::{ApiError, StreamEvent};
    ///
    /// let event = StreamEvent::Error { error: ApiError::new("overloaded_error", "Overloaded") };
    /// assert_eq!(
    ///     event.to_json(),
    ///     br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
    /// );
    /// ```
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

/// A content block as `content_block_start` announces it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentBlock {
    /// `text`.
    Text {
        /// Initial text, usually empty.
        text: String,
    },
    /// `tool_use`: the input arrives as `input_json_delta` fragments.
    ToolUse {
        /// Tool call id (`toolu_...`).
        id: String,
        /// Tool name.
        name: String,
        /// Initial input, usually `{}`. A modelled value: written again with
        /// serde_json's map order (sorted keys unless the build enables its
        /// `preserve_order` feature).
        input: Value,
    },
    /// `thinking`.
    Thinking {
        /// Initial thinking text, usually empty.
        thinking: String,
        /// Signature, when already known.
        signature: Option<String>,
    },
    /// `redacted_thinking`: encrypted thinking.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
    /// A block type this crate does not model, kept whole.
    Other {
        /// The block's `type`.
        block_type: String,
        /// The whole block object, as it arrived.
        json: RawJson,
    },
}

impl ContentBlock {
    fn from_raw(raw_block: &RawValue) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            text: Option<String>,
            id: Option<String>,
            name: Option<String>,
            input: Option<Value>,
            thinking: Option<String>,
            signature: Option<String>,
            data: Option<String>,
        }
        let raw: Raw = serde_json::from_str(raw_block.get())?;
        Ok(match raw.kind.as_str() {
            "text" => ContentBlock::Text {
                text: required(raw.text, "text block", "text")?,
            },
            "tool_use" => ContentBlock::ToolUse {
                id: required(raw.id, "tool_use block", "id")?,
                name: required(raw.name, "tool_use block", "name")?,
                input: raw
                    .input
                    .unwrap_or_else(|| Value::Object(Default::default())),
            },
            "thinking" => ContentBlock::Thinking {
                thinking: required(raw.thinking, "thinking block", "thinking")?,
                signature: raw.signature,
            },
            "redacted_thinking" => ContentBlock::RedactedThinking {
                data: required(raw.data, "redacted_thinking block", "data")?,
            },
            _ => ContentBlock::Other {
                block_type: raw.kind,
                json: RawJson::from(raw_block),
            },
        })
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        ContentBlock::from_raw(&raw).map_err(D::Error::custom)
    }
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let ContentBlock::Other { json, .. } = self {
            return json.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        match self {
            ContentBlock::Text { text } => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", text)?;
            }
            ContentBlock::ToolUse { id, name, input } => {
                m.serialize_entry("type", "tool_use")?;
                m.serialize_entry("id", id)?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("input", input)?;
            }
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                m.serialize_entry("type", "thinking")?;
                m.serialize_entry("thinking", thinking)?;
                if let Some(sig) = signature {
                    m.serialize_entry("signature", sig)?;
                }
            }
            ContentBlock::RedactedThinking { data } => {
                m.serialize_entry("type", "redacted_thinking")?;
                m.serialize_entry("data", data)?;
            }
            ContentBlock::Other { .. } => {}
        }
        m.end()
    }
}

/// What a `content_block_delta` appends to its block.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Delta {
    /// `text_delta`.
    Text {
        /// Text to append.
        text: String,
    },
    /// `input_json_delta`: a fragment of a tool call's JSON input.
    InputJson {
        /// JSON text to append (not valid JSON on its own).
        partial_json: String,
    },
    /// `thinking_delta`.
    Thinking {
        /// Thinking text to append.
        thinking: String,
    },
    /// `signature_delta`: the signature of a thinking block.
    Signature {
        /// The signature.
        signature: String,
    },
    /// A delta type this crate does not model, kept whole.
    Other {
        /// The delta's `type`.
        delta_type: String,
        /// The whole delta object, as it arrived.
        json: RawJson,
    },
}

impl Serialize for Delta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (kind, field, value) = match self {
            Delta::Text { text } => ("text_delta", "text", text),
            Delta::InputJson { partial_json } => ("input_json_delta", "partial_json", partial_json),
            Delta::Thinking { thinking } => ("thinking_delta", "thinking", thinking),
            Delta::Signature { signature } => ("signature_delta", "signature", signature),
            Delta::Other { json, .. } => return json.serialize(s),
        };
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", kind)?;
        m.serialize_entry(field, value)?;
        m.end()
    }
}

fn required<T>(field: Option<T>, what: &str, name: &str) -> Result<T, serde_json::Error> {
    field.ok_or_else(|| serde_json::Error::custom(format!("{what} without `{name}`")))
}

/// Every field any event or delta can have, in one flat shape, so a single
/// serde pass reads any event without buffering it first. The fields that
/// only rare events carry are boxed: this value is built and moved once per
/// event, and keeping it small keeps the hot `content_block_delta` cheap.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: Option<u32>,
    delta: Option<RawDelta<'a>>,
    #[serde(borrow)]
    content_block: Option<&'a RawValue>,
    message: Option<Box<Message>>,
    usage: Option<Box<Usage>>,
    error: Option<Box<ApiError>>,
    #[serde(rename = "amazon-bedrock-invocationMetrics")]
    invocation_metrics: Option<Box<InvocationMetrics>>,
}

/// The union of a content block delta and a message delta.
#[derive(Deserialize)]
struct RawDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
}

impl RawDelta<'_> {
    /// The delta of a `content_block_delta` event, or `Unmodelled` when its
    /// type is not one this crate models.
    fn into_content_delta(self) -> Result<Result<Delta, Unmodelled>, serde_json::Error> {
        let kind = required(self.kind, "content_block_delta", "delta.type")?;
        let delta = match &*kind {
            "text_delta" => Delta::Text {
                text: required(self.text, "text_delta", "text")?,
            },
            "input_json_delta" => Delta::InputJson {
                partial_json: required(self.partial_json, "input_json_delta", "partial_json")?,
            },
            "thinking_delta" => Delta::Thinking {
                thinking: required(self.thinking, "thinking_delta", "thinking")?,
            },
            "signature_delta" => Delta::Signature {
                signature: required(self.signature, "signature_delta", "signature")?,
            },
            _ => return Ok(Err(Unmodelled)),
        };
        Ok(Ok(delta))
    }
}

#[derive(Clone, Copy)]
enum DeltaKind {
    Text,
    InputJson,
    Thinking,
    Signature,
}

/// The flat parse met an event or delta type this crate does not model.
struct Unmodelled;

const MODELLED_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

const MODELLED_DELTAS: [&str; 4] = [
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
];

impl StreamEvent {
    /// Parses one event from its JSON text.
    pub fn from_json(json: &[u8]) -> Result<StreamEvent, serde_json::Error> {
        if let Some(event) = Self::delta_in_canonical_layout(json) {
            return Ok(event);
        }
        match serde_json::from_slice::<RawEvent<'_>>(json) {
            Ok(raw) => match Self::from_raw(raw)? {
                Ok(event) => Ok(event),
                Err(Unmodelled) => Self::unmodelled(json)?.ok_or_else(|| {
                    serde_json::Error::custom("event neither modelled nor kept whole")
                }),
            },
            // A future event or delta type may use a field name this crate
            // knows with another type (`"message": "text"`): that is not an
            // error, the event is simply not one of ours.
            Err(err) => Self::unmodelled(json).ok().flatten().ok_or(err),
        }
    }

    /// The event kept whole, as its text, if its type, or its delta's
    /// type, is one this crate does not model (`Ok(None)` if it is one
    /// this crate models; `Err` if it is not a JSON object with a string
    /// `type`).
    fn unmodelled(json: &[u8]) -> Result<Option<StreamEvent>, serde_json::Error> {
        /// The parts that say whether and how an event is kept whole; the
        /// rest is only checked to be JSON.
        #[derive(Deserialize)]
        struct Outline<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(borrow)]
            index: Option<&'a RawValue>,
            #[serde(borrow)]
            delta: Option<&'a RawValue>,
        }
        #[derive(Deserialize)]
        struct DeltaOutline<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
        }
        let outline: Outline<'_> = serde_json::from_slice(json)?;
        if !MODELLED_EVENTS.contains(&&*outline.kind) {
            return Ok(Some(StreamEvent::Other {
                event_type: outline.kind.into_owned(),
                json: serde_json::from_slice(json)?,
            }));
        }
        if outline.kind != "content_block_delta" {
            return Ok(None);
        }
        let (Some(index), Some(delta)) = (outline.index, outline.delta) else {
            return Ok(None);
        };
        let Ok(delta_outline) = serde_json::from_str::<DeltaOutline<'_>>(delta.get()) else {
            return Ok(None);
        };
        if MODELLED_DELTAS.contains(&&*delta_outline.kind) {
            return Ok(None);
        }
        let Ok(index) = serde_json::from_str::<u32>(index.get()) else {
            return Ok(None);
        };
        Ok(Some(StreamEvent::ContentBlockDelta {
            index,
            delta: Delta::Other {
                delta_type: delta_outline.kind.into_owned(),
                json: RawJson::from(delta),
            },
        }))
    }

    /// Most of a stream is `content_block_delta` events, and the Anthropic
    /// API and Bedrock write them in one layout:
    /// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}`.
    /// Recognising that layout by its fixed parts leaves serde only the one
    /// string to read. Anything else, including the same event with other
    /// spacing or key order, returns `None` and takes the general path, which
    /// reads it to the same value.
    fn delta_in_canonical_layout(json: &[u8]) -> Option<StreamEvent> {
        let rest = json.strip_prefix(br#"{"type":"content_block_delta","index":"#)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        // JSON has no leading zeros; leave such input to the strict parser.
        if digits == 0 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        let index: u32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        let rest = rest[digits..].strip_prefix(br#","delta":{"type":""#)?;
        let (kind, literal) = [
            (DeltaKind::Text, &br#"text_delta","text":"#[..]),
            (
                DeltaKind::InputJson,
                br#"input_json_delta","partial_json":"#,
            ),
            (DeltaKind::Thinking, br#"thinking_delta","thinking":"#),
            (DeltaKind::Signature, br#"signature_delta","signature":"#),
        ]
        .into_iter()
        .find_map(|(kind, key)| Some((kind, rest.strip_prefix(key)?)))?;
        // What remains is one string literal and the two closing braces; if
        // the slice is not exactly one JSON string, the layout was not ours.
        let literal = literal.strip_suffix(b"}}")?;
        if literal.first() != Some(&b'"') {
            return None;
        }
        let value: String = serde_json::from_slice(literal).ok()?;
        let delta = match kind {
            DeltaKind::Text => Delta::Text { text: value },
            DeltaKind::InputJson => Delta::InputJson {
                partial_json: value,
            },
            DeltaKind::Thinking => Delta::Thinking { thinking: value },
            DeltaKind::Signature => Delta::Signature { signature: value },
        };
        Some(StreamEvent::ContentBlockDelta { index, delta })
    }

    /// The event the flat parse read, or `Unmodelled` when its type (or
    /// its delta's type) is not one this crate models.
    fn from_raw(raw: RawEvent<'_>) -> Result<Result<StreamEvent, Unmodelled>, serde_json::Error> {
        let index = || required(raw.index, &raw.kind, "index");
        let event = match &*raw.kind {
            "content_block_delta" => {
                let d = required(raw.delta, "content_block_delta", "delta")?;
                let Ok(delta) = d.into_content_delta()? else {
                    // Every delta has an index, whatever its type.
                    index()?;
                    return Ok(Err(Unmodelled));
                };
                StreamEvent::ContentBlockDelta {
                    index: index()?,
                    delta,
                }
            }
            "content_block_start" => StreamEvent::ContentBlockStart {
                index: index()?,
                content_block: ContentBlock::from_raw(required(
                    raw.content_block,
                    "content_block_start",
                    "content_block",
                )?)?,
            },
            "content_block_stop" => StreamEvent::ContentBlockStop { index: index()? },
            "message_start" => StreamEvent::MessageStart {
                message: *required(raw.message, "message_start", "message")?,
            },
            "message_delta" => {
                let d = required(raw.delta, "message_delta", "delta")?;
                StreamEvent::MessageDelta {
                    delta: MessageDelta {
                        stop_reason: d.stop_reason,
                        stop_sequence: d.stop_sequence,
                    },
                    usage: raw.usage.map(|u| *u).unwrap_or_default(),
                }
            }
            "message_stop" => StreamEvent::MessageStop {
                invocation_metrics: raw.invocation_metrics.map(|m| *m),
            },
            "ping" => StreamEvent::Ping,
            "error" => StreamEvent::Error {
                error: *required(raw.error, "error event", "error")?,
            },
            _ => return Ok(Err(Unmodelled)),
        };
        Ok(Ok(event))
    }

    /// The event's `type` string, as it appears on the wire (and as the SSE
    /// `event:` line names it).
    pub fn event_type(&self) -> &str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop { .. } => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
            StreamEvent::Other { event_type, .. } => event_type,
        }
    }

    /// The event as compact JSON, in the field order the Anthropic API uses.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("stream events always serialize")
    }
}

impl Serialize for StreamEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let StreamEvent::Other { json, .. } = self {
            return json.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.event_type())?;
        match self {
            StreamEvent::MessageStart { message } => m.serialize_entry("message", message)?,
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("content_block", content_block)?;
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("delta", delta)?;
            }
            StreamEvent::ContentBlockStop { index } => m.serialize_entry("index", index)?,
            StreamEvent::MessageDelta { delta, usage } => {
                m.serialize_entry("delta", delta)?;
                m.serialize_entry("usage", usage)?;
            }
            StreamEvent::MessageStop { invocation_metrics } => {
                if let Some(metrics) = invocation_metrics {
                    m.serialize_entry("amazon-bedrock-invocationMetrics", metrics)?;
                }
            }
            StreamEvent::Error { error } => m.serialize_entry("error", error)?,
            StreamEvent::Ping | StreamEvent::Other { .. } => {}
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> StreamEvent {
        let event = StreamEvent::from_json(json.as_bytes()).unwrap();
        let again = StreamEvent::from_json(&event.to_json()).unwrap();
        assert_eq!(again, event, "{json}");
        event
    }

    #[test]
    fn parses_every_event_bedrock_sends() {
        let start = round_trip(
            r#"{"type":"message_start","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_bdrk_01","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
        );
        let StreamEvent::MessageStart { message } = start else {
            panic!("{start:?}")
        };
        assert_eq!(message.id, "msg_bdrk_01");
        assert_eq!(message.usage.input_tokens, Some(12));

        assert_eq!(
            round_trip(
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#
            ),
            StreamEvent::ContentBlockStart {
                index: 1,
                content_block: ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    input: serde_json::json!({}),
                }
            }
        );
        assert_eq!(
            round_trip(
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#
            ),
            StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::InputJson {
                    partial_json: "{\"city\": ".into()
                }
            }
        );
        round_trip(
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        );
        round_trip(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}"#,
        );
        round_trip(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}"#,
        );
        round_trip(r#"{"type":"content_block_stop","index":0}"#);
        assert_eq!(
            round_trip(
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#
            ),
            StreamEvent::MessageDelta {
                delta: MessageDelta {
                    stop_reason: Some("end_turn".into()),
                    stop_sequence: None
                },
                usage: Usage {
                    output_tokens: Some(15),
                    ..Usage::default()
                }
            }
        );
        let stop = round_trip(
            r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":15,"invocationLatency":812,"firstByteLatency":301}}"#,
        );
        assert_eq!(
            stop,
            StreamEvent::MessageStop {
                invocation_metrics: Some(InvocationMetrics {
                    input_token_count: 12,
                    output_token_count: 15,
                    invocation_latency: 812,
                    first_byte_latency: 301,
                    ..Default::default()
                })
            }
        );
        round_trip(r#"{"type":"ping"}"#);
        round_trip(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
    }

    #[test]
    fn serializes_in_anthropic_field_order() {
        let event = StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text {
                text: "Hello".into(),
            },
        };
        assert_eq!(
            String::from_utf8(event.to_json()).unwrap(),
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#
        );
        let delta = StreamEvent::MessageDelta {
            delta: MessageDelta {
                stop_reason: Some("end_turn".into()),
                stop_sequence: None,
            },
            usage: Usage {
                output_tokens: Some(15),
                ..Usage::default()
            },
        };
        assert_eq!(
            String::from_utf8(delta.to_json()).unwrap(),
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#
        );
    }

    #[test]
    fn unknown_types_are_kept_whole() {
        let json = r#"{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"cited_text":"x"}}}"#;
        let event = round_trip(json);
        let StreamEvent::ContentBlockDelta {
            index: 2,
            delta: Delta::Other { delta_type, json },
        } = &event
        else {
            panic!("{event:?}")
        };
        assert_eq!(delta_type, "citations_delta");
        assert_eq!(json.to_value().unwrap()["citation"]["cited_text"], "x");

        let event = round_trip(r#"{"type":"future_event","extra":[1,2]}"#);
        assert_eq!(event.event_type(), "future_event");
        assert_eq!(
            String::from_utf8(event.to_json()).unwrap(),
            r#"{"type":"future_event","extra":[1,2]}"#
        );

        let block = round_trip(
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
        );
        assert!(matches!(
            block,
            StreamEvent::ContentBlockStart {
                content_block: ContentBlock::Other { .. },
                ..
            }
        ));
    }

    /// The general path alone, to compare the canonical-layout shortcut with.
    fn general(json: &[u8]) -> Result<StreamEvent, serde_json::Error> {
        let raw: RawEvent<'_> = serde_json::from_slice(json)?;
        match StreamEvent::from_raw(raw)? {
            Ok(event) => Ok(event),
            Err(_) => Err(serde_json::Error::custom("unmodelled")),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Whatever the shortcut accepts, the general parser reads to the
        /// same event; and it does accept the canonical layout of every delta.
        #[test]
        fn canonical_delta_shortcut_agrees_with_serde(
            index in proptest::prelude::any::<u32>(),
            kind in 0usize..4,
            text in "\\PC*|[\\x00-\\x7f]{0,8}|\"|\\\\",
        ) {
            let delta = match kind {
                0 => Delta::Text { text },
                1 => Delta::InputJson { partial_json: text },
                2 => Delta::Thinking { thinking: text },
                _ => Delta::Signature { signature: text },
            };
            let event = StreamEvent::ContentBlockDelta { index, delta };
            let json = event.to_json();
            proptest::prop_assert_eq!(StreamEvent::delta_in_canonical_layout(&json), Some(event.clone()));
            proptest::prop_assert_eq!(general(&json).unwrap(), event);
        }

        /// Canonical deltas with one byte inserted, removed or replaced: the
        /// shortcut either declines or reads what serde reads.
        #[test]
        fn shortcut_never_accepts_what_serde_reads_differently(
            text in "\\PC{0,12}|[\\x00-\\x7f]{0,8}",
            at in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<u8>(),
            edit in 0usize..3,
        ) {
            let event = StreamEvent::ContentBlockDelta { index: 7, delta: Delta::Text { text } };
            let mut json = event.to_json();
            let at = at.index(json.len() + 1);
            match edit {
                0 => json.insert(at, byte),
                1 if at < json.len() => { json.remove(at); }
                _ if at < json.len() => json[at] = byte,
                _ => {}
            }
            if let Some(event) = StreamEvent::delta_in_canonical_layout(&json) {
                proptest::prop_assert_eq!(general(&json).ok(), Some(event));
            }
        }
    }

    /// Found by the `stream_event` fuzz target: an integer too large for u64
    /// becomes a float, and serde_json's default float parsing can land one
    /// ulp away from the value its own printer wrote, so an unknown event
    /// kept whole changed when relayed. It is now kept as its text
    /// ([`RawJson`]), with no serde_json feature needed.
    #[test]
    fn unknown_events_relay_large_numbers_exactly() {
        round_trip(
            r#"{"type":"message_]stop","amazon-berics":{"inputTokenCount":12,"outputTokenCountVVVVVVVVVVVVVVVVVVVVVVVV":152222222222222222222222222222,"invocationLatency":2812,"firsteLatency":302}}"#,
        );
    }

    /// What is kept whole is relayed as it came: keys out of alphabetical
    /// order, a float one ulp above 1, an integer past u64 and past f64's
    /// range, an exponent f64 cannot hold, spacing. This holds with
    /// serde_json's default features (`cargo test -p bedrock-eventstream`
    /// builds it without `preserve_order` or `float_roundtrip`).
    #[test]
    fn kept_whole_means_byte_for_byte() {
        let huge = format!("1{}", "0".repeat(400));
        let event = format!(
            r#"{{"type":"zz_future","z":1,"a":1.0000000000000002,"m":{huge},"e":1e400,"neg":-0.0,"s": [ 1 , 2 ]}}"#
        );
        let parsed = StreamEvent::from_json(event.as_bytes()).unwrap();
        assert_eq!(parsed.event_type(), "zz_future");
        assert_eq!(String::from_utf8(parsed.to_json()).unwrap(), event);

        let delta = format!(
            r#"{{"type":"content_block_delta","index":4,"delta":{{"type":"zz_delta","b":{huge},"a":0.30000000000000004}}}}"#
        );
        let parsed = StreamEvent::from_json(delta.as_bytes()).unwrap();
        let StreamEvent::ContentBlockDelta {
            index: 4,
            delta: Delta::Other { delta_type, json },
        } = &parsed
        else {
            panic!("{parsed:?}")
        };
        assert_eq!(delta_type, "zz_delta");
        assert_eq!(
            json.as_str(),
            format!(r#"{{"type":"zz_delta","b":{huge},"a":0.30000000000000004}}"#)
        );
        assert_eq!(String::from_utf8(parsed.to_json()).unwrap(), delta);

        let block = r#"{"type":"content_block_start","index":0,"content_block":{"type":"zz_block","y":2,"x":1.0000000000000002}}"#;
        let parsed = StreamEvent::from_json(block.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(parsed.to_json()).unwrap(), block);

        // Through Bedrock's chunk frames, as the mock relays it.
        let wire = crate::bedrock::encode_event_frames(&[
            StreamEvent::from_json(event.as_bytes()).unwrap()
        ]);
        let frame = crate::decode_frame(&wire).unwrap();
        let relayed = crate::bedrock::EventReader::new().read(&frame).unwrap();
        assert_eq!(String::from_utf8(relayed.to_json()).unwrap(), event);
    }

    #[test]
    fn raw_json_refuses_what_is_not_one_value() {
        for text in ["", "{", "1 2", r#"{"a":}"#] {
            let err = RawJson::from_text(text).unwrap_err();
            assert!(!err.to_string().is_empty(), "{text}");
        }
        assert_eq!(RawJson::from_text(" [1] ").unwrap().as_str(), "[1]");
        // Unknown events still need a string `type`.
        assert!(StreamEvent::from_json(br#"{"type":7}"#).is_err());
        assert!(StreamEvent::from_json(br#"{"type":"x","a":}"#).is_err());
    }

    #[test]
    fn shortcut_declines_what_it_does_not_own() {
        for json in [
            br#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}"#.as_slice(),
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}} "#,
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","y":"z"}}"#,
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"e":1}"#,
            br#"{"type":"content_block_delta","index":4294967296,"delta":{"type":"text_delta","text":"x"}}"#,
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":null}}"#,
        ] {
            assert_eq!(StreamEvent::delta_in_canonical_layout(json), None, "{}", String::from_utf8_lossy(json));
        }
        // The general path still reads the well-formed ones.
        let spaced = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}} "#;
        assert!(matches!(
            StreamEvent::from_json(spaced).unwrap(),
            StreamEvent::ContentBlockDelta { index: 0, .. }
        ));
        let extra = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","y":"z"}}"#;
        assert!(StreamEvent::from_json(extra).is_ok());
    }

    #[test]
    fn future_events_may_reuse_known_field_names_with_other_types() {
        let event = round_trip(r#"{"type":"future","message":"x","index":"first"}"#);
        assert_eq!(event.event_type(), "future");
        let event = round_trip(
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"rich_delta","text":{"runs":[]}}}"#,
        );
        assert!(matches!(
            event,
            StreamEvent::ContentBlockDelta { index: 3, delta: Delta::Other { ref delta_type, .. } }
                if delta_type == "rich_delta"
        ));
        // A known event with a wrongly typed field is still an error.
        assert!(StreamEvent::from_json(br#"{"type":"message_start","message":"x"}"#).is_err());
        // So is an unknown delta without the index every delta has.
        let err = StreamEvent::from_json(
            br#"{"type":"content_block_delta","delta":{"type":"new_delta"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`index`"), "{err}");
    }

    #[test]
    fn missing_fields_are_errors_that_name_them() {
        let err = StreamEvent::from_json(
            br#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("`index`"), "{err}");
        let err = StreamEvent::from_json(
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("text_delta without `text`"),
            "{err}"
        );
        assert!(StreamEvent::from_json(b"not json").is_err());
        assert!(StreamEvent::from_json(br#"{"index":0}"#).is_err());
    }
}
