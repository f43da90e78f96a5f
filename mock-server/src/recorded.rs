//! A recorded answer ([`Recording`]): what a real service sent for one
//! request, replayed as it came. Its status and headers, then its events
//! one at a time with the gap before each (event-stream frames or
//! Server-Sent Events), or a whole body. A rule answers with it through
//! [`crate::Answer::recorded`]; `bedrock-harness record` and `import` write
//! scenarios of them.
//!
//! This module holds the data and its file form; the checks a recording
//! passes are `checks`' (gaps within [`MAX_STALL_SECONDS`], one kind of
//! event, frames that decode), its frames are written by the protocols'
//! own writers (`replay`), and its pacing is `stream_body`'s.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use bedrock_eventstream::Limits;
use bedrock_eventstream::bedrock::{Exception, encode_chunk_json, encode_exception};

use crate::effects::MAX_STALL_SECONDS;
use crate::errors::ExceptionType;
use crate::journal::FrameRecord;
use crate::rng::PADDING_ALPHABET;

/// An answer as a real service sent it: its status, its headers, and its
/// body, either events with the gap before each or the whole body at once.
///
/// The mock still sends its own `x-amzn-requestid` and `date` (a recorded
/// header of either name is not sent: the journal keeps the mock's id, and
/// the date is the mock's clock) and frames the body itself (no
/// `content-length` or `transfer-encoding`: [`crate::Rule::check`] refuses
/// them). A recording answers any request of any endpoint as given, stream
/// or not; the rule's effects (`cut`, `reset`, `fault`, `stall`) still
/// apply, and its gaps take the place of the server's
/// [`crate::Pace`].
///
/// ```
/// use std::time::Duration;
/// use bedrock_mock_server::{Answer, ExceptionType, Match, Operation, RecordedEvent, Recording, Rule};
///
/// let ms = Duration::from_millis;
/// let recording = Recording::events(
///     200,
///     &[("content-type", "application/vnd.amazon.eventstream")],
///     vec![
///         RecordedEvent::chunk(ms(0), r#"{"type":"message_start","message":{"id":"msg_1"}}"#),
///         RecordedEvent::exception(
///             ms(35),
///             "throttlingException".parse::<ExceptionType>().unwrap(),
///             "Too many requests, please wait before trying again.",
///         ),
///     ],
/// )
/// .head_after(ms(412));
/// let rule = Rule::new(
///     Match::operation(Operation::InvokeModelWithResponseStream),
///     Answer::recorded(recording),
/// )
/// .times(1);
/// assert!(rule.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Recording {
    /// The status.
    pub status: u16,
    /// The headers, sent after the mock's own `x-amzn-requestid`; a stream
    /// without a `content-type` gets its kind's (the event stream's, or
    /// Server-Sent Events').
    pub headers: BTreeMap<String, String>,
    /// The wait before the head (time to first byte).
    pub head_after: Duration,
    /// The body.
    pub body: RecordedBody,
}

/// A recording's body: events sent one at a time, or bytes at once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordedBody {
    /// Events, each after its gap; all of one kind (event-stream frames,
    /// or Server-Sent Events).
    Events(Vec<RecordedEvent>),
    /// The whole body, sent as given.
    Whole(Bytes),
}

/// One event of a recorded stream, and the wait before it.
///
/// ```
/// use std::time::Duration;
/// use bedrock_mock_server::{RecordedEvent, RecordedKind};
///
/// let event = RecordedEvent::sse(Duration::from_millis(9), "ping", r#"{"type": "ping"}"#);
/// assert!(matches!(event.kind, RecordedKind::Sse { .. }));
/// assert_eq!(event.after, Duration::from_millis(9));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedEvent {
    /// The wait before it, after the event before (or the head).
    pub after: Duration,
    /// What it is.
    pub kind: RecordedKind,
}

/// What a recorded event is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordedKind {
    /// An event-stream `chunk` frame carrying this Anthropic event JSON,
    /// written as the mock writes its own.
    Chunk {
        /// The event's JSON, as text (sent byte for byte, base64 inside
        /// the frame).
        json: String,
        /// The payload's `p` padding; the mock's own random padding when
        /// absent.
        padding: Option<String>,
    },
    /// An event-stream exception frame, written as the mock writes its
    /// own.
    Exception {
        /// `:exception-type`.
        exception: ExceptionType,
        /// The payload's `message`.
        message: String,
    },
    /// Any event-stream frame, as its bytes (one whole frame).
    Frame(Bytes),
    /// A Server-Sent Event, written as the mock writes Mantle's.
    Sse {
        /// `event:`.
        event: String,
        /// `data:` (one line).
        data: String,
    },
}

/// How a recording's events are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// Bedrock's binary event stream (chunks, exceptions, frames).
    EventStream,
    /// Server-Sent Events.
    ServerSentEvents,
}

impl Recording {
    /// A stream of `events` with `status` and `headers`.
    pub fn events(status: u16, headers: &[(&str, &str)], events: Vec<RecordedEvent>) -> Self {
        Self {
            status,
            headers: header_map(headers),
            head_after: Duration::ZERO,
            body: RecordedBody::Events(events),
        }
    }

    /// A whole body with `status` and `headers`, as an `http` answer sends
    /// it.
    ///
    /// ```
    /// use bedrock_mock_server::{Answer, Match, Recording, Rule};
    ///
    /// let recording = Recording::whole(
    ///     429,
    ///     &[("content-type", "application/json"), ("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
    ///     r#"{"message":"Too many requests, please wait before trying again."}"#,
    /// );
    /// assert!(Rule::new(Match::any(), Answer::recorded(recording)).check().is_ok());
    /// ```
    pub fn whole(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: header_map(headers),
            head_after: Duration::ZERO,
            body: RecordedBody::Whole(body.into()),
        }
    }

    /// Waits `wait` before the head.
    pub fn head_after(mut self, wait: Duration) -> Self {
        self.head_after = wait;
        self
    }

    /// The kind of its events: the first's (an empty stream is an event
    /// stream); `None` for a whole body.
    pub(crate) fn event_kind(&self) -> Option<EventKind> {
        match &self.body {
            RecordedBody::Events(events) => Some(
                events
                    .first()
                    .map_or(EventKind::EventStream, |e| e.kind.event_kind()),
            ),
            RecordedBody::Whole(_) => None,
        }
    }

    /// Whether the headers name a `content-type`.
    pub(crate) fn has_content_type(&self) -> bool {
        self.headers
            .keys()
            .any(|name| name.eq_ignore_ascii_case("content-type"))
    }
}

fn header_map(headers: &[(&str, &str)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

impl RecordedEvent {
    /// A `chunk` frame carrying `json` (an Anthropic stream event), after
    /// `after`.
    pub fn chunk(after: Duration, json: impl Into<String>) -> Self {
        Self {
            after,
            kind: RecordedKind::Chunk {
                json: json.into(),
                padding: None,
            },
        }
    }

    /// An exception frame of `exception` with `message`, after `after`.
    pub fn exception(
        after: Duration,
        exception: ExceptionType,
        message: impl Into<String>,
    ) -> Self {
        Self {
            after,
            kind: RecordedKind::Exception {
                exception,
                message: message.into(),
            },
        }
    }

    /// Any event-stream frame as its bytes, after `after`.
    pub fn frame(after: Duration, bytes: impl Into<Bytes>) -> Self {
        Self {
            after,
            kind: RecordedKind::Frame(bytes.into()),
        }
    }

    /// A Server-Sent Event `event` with `data`, after `after`.
    pub fn sse(after: Duration, event: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            after,
            kind: RecordedKind::Sse {
                event: event.into(),
                data: data.into(),
            },
        }
    }

    /// A chunk's `p` padding as the service sent it (the mock's own random
    /// padding otherwise), so the frame's bytes are the recorded ones.
    /// Other kinds are unchanged.
    pub fn padded(mut self, padding: impl Into<String>) -> Self {
        if let RecordedKind::Chunk { padding: p, .. } = &mut self.kind {
            *p = Some(padding.into());
        }
        self
    }
}

impl RecordedKind {
    pub(crate) fn event_kind(&self) -> EventKind {
        match self {
            Self::Chunk { .. } | Self::Exception { .. } | Self::Frame(_) => EventKind::EventStream,
            Self::Sse { .. } => EventKind::ServerSentEvents,
        }
    }

    /// The field a file names it by.
    pub(crate) fn field(&self) -> &'static str {
        match self {
            Self::Chunk { .. } => "chunk",
            Self::Exception { .. } => "exception",
            Self::Frame(_) => "frame_base64",
            Self::Sse { .. } => "event",
        }
    }

    /// What the journal records of it, or why it cannot be sent: a
    /// chunk's JSON names its `type`, a frame decodes as a chunk, an
    /// exception or an error, an event's name and data are one line each,
    /// and no event is larger than an event-stream frame may be
    /// ([`Limits::AWS`]: the frame a chunk or an exception is written as,
    /// an event's name and data).
    pub(crate) fn label(&self) -> Result<FrameRecord, EventProblem> {
        match self {
            Self::Chunk { json, padding } => {
                if let Some(p) = padding
                    && p.bytes()
                        .any(|b| b == b'"' || b == b'\\' || b.is_ascii_control())
                {
                    return Err(EventProblem::malformed(
                        "p",
                        format!(
                            "padding {p:?} would break the chunk's JSON: give letters and digits, as AWS pads"
                        ),
                    ));
                }
                chunk_size(json, padding.as_deref())?;
                event_type(json.as_bytes())
                    .map(FrameRecord::Chunk)
                    .map_err(|e| EventProblem::malformed("chunk", e))
            }
            Self::Exception { exception, message } => {
                let len = exception_frame_len(exception, message);
                if len > MAX_FRAME {
                    return Err(EventProblem::too_large(
                        "message",
                        format!(
                            "the exception's frame would be {len} bytes, past the {MAX_FRAME} an event-stream frame may hold (AWS's limit, which clients enforce); give the message the service sent"
                        ),
                    ));
                }
                Ok(FrameRecord::Exception(exception.as_str().to_owned()))
            }
            Self::Frame(bytes) => {
                frame_label(bytes).map_err(|e| EventProblem::malformed("frame_base64", e))
            }
            Self::Sse { event, data } => sse_label(event, data),
        }
    }
}

/// A Server-Sent Event's label, or why it cannot be sent: a name and data
/// of one line each, together within [`MAX_FRAME`].
fn sse_label(event: &str, data: &str) -> Result<FrameRecord, EventProblem> {
    if event.is_empty() || event.contains(['\n', '\r']) {
        return Err(EventProblem::malformed(
            "event",
            format!("{event:?} is not an event name: give one line, like `message_start`"),
        ));
    }
    if data.contains(['\n', '\r']) {
        return Err(EventProblem::malformed(
            "data",
            "`data` holds a line break, which would end the event early: give the event's JSON on one line",
        ));
    }
    let len = event.len() + data.len();
    if len > MAX_FRAME {
        return Err(EventProblem::too_large(
            "data",
            format!(
                "the event's name and data are {len} bytes, past the {MAX_FRAME} the mock sends in one event (an event-stream frame's limit); give the event the service sent"
            ),
        ));
    }
    Ok(FrameRecord::Sse(event.to_owned()))
}

/// The largest event the mock sends: an event-stream frame's limit
/// ([`Limits::AWS`]), which AWS's clients enforce as they read.
const MAX_FRAME: usize = Limits::AWS.max_message_len as usize;

/// Why an event cannot be sent: the field at fault (`chunk`, `p`,
/// `message`, `frame_base64`, `event`, `data`), whether it is too large
/// (else malformed), and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventProblem {
    pub(crate) field: &'static str,
    pub(crate) too_large: bool,
    pub(crate) message: String,
}

impl EventProblem {
    fn malformed(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            too_large: false,
            message: message.into(),
        }
    }

    fn too_large(field: &'static str, message: String) -> Self {
        Self {
            field,
            too_large: true,
            message,
        }
    }
}

/// Refuses a chunk whose frame would pass [`MAX_FRAME`]: blamed on its
/// padding (`p`) when the frame fits without it, else on its JSON. A
/// chunk without recorded padding is counted with the longest the mock
/// pads with.
fn chunk_size(json: &str, padding: Option<&str>) -> Result<(), EventProblem> {
    let bare = chunk_frame_len(json, 0);
    let padding_len = padding.map_or(PADDING_ALPHABET.len(), str::len);
    let len = bare.saturating_add(padding_len);
    if len <= MAX_FRAME {
        return Ok(());
    }
    let (field, what) = match padding {
        Some(_) if bare <= MAX_FRAME => ("p", "the padding makes the chunk's frame"),
        _ => ("chunk", "the chunk's frame would be"),
    };
    Err(EventProblem::too_large(
        field,
        format!(
            "{what} {len} bytes, past the {MAX_FRAME} an event-stream frame may hold (AWS's limit, which clients enforce); give the event the service sent"
        ),
    ))
}

/// The length of the `chunk` frame carrying `json` with `padding_len`
/// bytes of padding, as [`encode_chunk_json`] writes it: an empty chunk's
/// frame, and the JSON's base64 and the padding inside its payload.
fn chunk_frame_len(json: &str, padding_len: usize) -> usize {
    let mut empty = Vec::new();
    encode_chunk_json(b"", "", &mut empty);
    let encoded = base64::encoded_len(json.len(), true).unwrap_or(usize::MAX);
    empty
        .len()
        .saturating_add(encoded)
        .saturating_add(padding_len)
}

/// The length of the exception frame [`encode_exception`] writes for
/// `exception` and `message`: the frame of an empty message, and the
/// message as a JSON string's content.
fn exception_frame_len(exception: &ExceptionType, message: &str) -> usize {
    let mut empty = Vec::new();
    encode_exception(&Exception::new(exception.as_str(), ""), &mut empty);
    let escaped: usize = message
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..0x20 => 6,
            _ => 1,
        })
        .sum();
    empty.len().saturating_add(escaped)
}

/// The `type` of an Anthropic event's JSON.
fn event_type(json: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        event_type: String,
    }
    serde_json::from_slice::<Typed>(json)
        .map(|t| t.event_type)
        .map_err(|e| {
            format!(
                "not an Anthropic stream event ({e}): give its JSON, like `{{\"type\":\"message_stop\"}}`"
            )
        })
}

/// The journal's label of an event-stream frame: `Chunk(type)` for a
/// chunk event, `Exception(type)` for an exception (or an error frame's
/// `:error-code`).
fn frame_label(bytes: &[u8]) -> Result<FrameRecord, String> {
    let frame = bedrock_eventstream::decode_frame(bytes).map_err(|e| {
        format!(
            "not one event-stream frame ({e}); give each frame the service sent as its own event"
        )
    })?;
    let header = |name| frame.str_header(name);
    match (header(":message-type"), header(":event-type")) {
        (Some("event"), Some("chunk")) => {
            #[derive(Deserialize)]
            struct Chunk {
                bytes: String,
            }
            let chunk: Chunk = serde_json::from_slice(frame.payload())
                .map_err(|e| format!("a chunk frame whose payload has no `bytes` ({e})"))?;
            let json = base64::engine::general_purpose::STANDARD
                .decode(chunk.bytes)
                .map_err(|e| format!("a chunk frame whose `bytes` is not base64 ({e})"))?;
            event_type(&json)
                .map(FrameRecord::Chunk)
                .map_err(|e| format!("a chunk frame carrying {e}"))
        }
        (Some("exception"), _) => header(":exception-type")
            .map(|t| FrameRecord::Exception(t.to_owned()))
            .ok_or_else(|| "an exception frame without `:exception-type`".to_owned()),
        (Some("error"), _) => header(":error-code")
            .map(|t| FrameRecord::Exception(t.to_owned()))
            .ok_or_else(|| "an error frame without `:error-code`".to_owned()),
        (message_type, event_type) => Err(format!(
            "a frame of `:message-type` {message_type:?}, `:event-type` {event_type:?}; a Bedrock stream carries `chunk` events, exceptions and errors"
        )),
    }
}

/// Why a gap cannot be waited, if it cannot.
pub(crate) fn gap_problem(gap: Duration) -> Option<String> {
    (gap.as_secs_f64() > MAX_STALL_SECONDS).then(|| {
        format!(
            "{} ms is past the {MAX_STALL_SECONDS} seconds a gap may last (the longest stall); give less",
            gap.as_millis()
        )
    })
}

/// The error an answer reports: its code and, when the body says one, its
/// message. What `bedrock-harness record` writes of an error answer and
/// what the mock journals when it replays one ([`RecordedRequest`]'s
/// `error_type` and `error_message`) both come from [`recorded_error`].
///
/// [`RecordedRequest`]: crate::RecordedRequest
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedError {
    /// The error's code (`ThrottlingException`, `ExpiredToken`,
    /// `overloaded_error`).
    pub code: String,
    /// Its message, when the body gives one.
    pub message: Option<String>,
}

/// The error an answer of `status` with `headers` and `body` reports, as
/// each endpoint writes one: `None` below 400, or when nothing names a
/// code.
///
/// The code is the first of: the `x-amzn-errortype` header (Bedrock's
/// REST-JSON errors; the part before `:`), the body's `__type` (AWS
/// JSON 1.1, the SSO portal; the part after `#`), Anthropic's
/// `{"type":"error","error":{"type":…}}` (Mantle), and STS's XML
/// `<Error><Code>`. The message is the body's `message` or `Message`,
/// Anthropic's `error.message`, or the XML's `<Message>` (its entities
/// read). Header names are compared ignoring case.
///
/// ```
/// use bedrock_mock_server::recorded_error;
///
/// let sts = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
///   <Error><Type>Sender</Type><Code>ExpiredToken</Code>\
///   <Message>The security token included in the request is expired</Message></Error>\
///   <RequestId>4c8a1b7e</RequestId></ErrorResponse>";
/// let error = recorded_error(403, &[("Content-Type".into(), "text/xml".into())], sts.as_bytes()).unwrap();
/// assert_eq!(error.code, "ExpiredToken");
/// assert_eq!(error.message.as_deref(), Some("The security token included in the request is expired"));
///
/// let headers = [("x-amzn-errortype".to_owned(), "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".to_owned())];
/// let error = recorded_error(429, &headers, br#"{"message":"Too many requests, please wait before trying again."}"#).unwrap();
/// assert_eq!(error.code, "ThrottlingException");
///
/// assert_eq!(recorded_error(200, &headers, b"{}"), None);
/// ```
pub fn recorded_error(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<RecordedError> {
    if status < 400 {
        return None;
    }
    let header = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-errortype"))
        .and_then(|(_, value)| value.split(':').next())
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned);
    let (json_code, json_message) = json_error(body);
    let (xml_code, xml_message) = if json_code.is_none() && json_message.is_none() {
        xml_error(body)
    } else {
        (None, None)
    };
    let code = header.or(json_code).or(xml_code)?;
    Some(RecordedError {
        code,
        message: json_message.or(xml_message),
    })
}

/// A JSON error body's code (`__type` after any `#`, or Anthropic's
/// `error.type`) and message (`message`, `Message`, or Anthropic's
/// `error.message`).
fn json_error(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Anthropic {
        #[serde(rename = "type")]
        error_type: Option<String>,
        message: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Shape {
        #[serde(rename = "__type")]
        aws_type: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
        error: Option<Anthropic>,
    }
    let shape: Shape = serde_json::from_slice(body).unwrap_or_default();
    let (anthropic_type, anthropic_message) = shape
        .error
        .map(|e| (e.error_type, e.message))
        .unwrap_or_default();
    let code = shape
        .aws_type
        .map(|t| t.rsplit('#').next().unwrap_or_default().to_owned())
        .filter(|t| !t.is_empty())
        .or(anthropic_type);
    (code, shape.message.or(anthropic_message))
}

/// An XML error body's `<Code>` and `<Message>` (STS's
/// `<ErrorResponse><Error>…`), their entities read.
fn xml_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        return (None, None);
    };
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{name}>"))?;
        Some(xml_unescape(text[start..start + len].trim()))
    };
    (
        element("Code").filter(|c| !c.is_empty()),
        element("Message"),
    )
}

/// `text` with XML's five entities and character references read.
fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let read = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match read {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A recording as files write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Recording"))]
pub(crate) struct RecordingForm {
    /// The status.
    status: u16,
    /// The headers, after the mock's own `x-amzn-requestid` and `date`
    /// (recorded ones of those names are not sent); the mock frames the
    /// body (no `content-length` or `transfer-encoding`). A stream without
    /// `content-type` gets its kind's.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The wait before the head, in milliseconds (0 when absent).
    #[serde(default, skip_serializing_if = "is_zero")]
    head_after_ms: u64,
    /// The events, each after its gap: all event-stream kinds (`chunk`,
    /// `exception`, `frame_base64`) or all Server-Sent Events (`event`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<Vec<RecordedEventForm>>,
    /// Instead of `events`: the whole body, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    /// Instead of `events`: the whole body, as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

/// One recorded event as files write it: its gap and one of `chunk`,
/// `exception` (with `message`), `frame_base64`, or `event` (with `data`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "RecordedEvent"))]
struct RecordedEventForm {
    /// The wait before it, in milliseconds, after the event before (or
    /// the head).
    #[serde(default)]
    after_ms: u64,
    /// An event-stream `chunk` frame carrying this Anthropic event JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk: Option<String>,
    /// A chunk's `p` padding as sent; the mock's random padding when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    /// An event-stream exception frame of this `:exception-type`
    /// (`throttlingException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exception: Option<String>,
    /// The exception's message; its type's usual one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// Any event-stream frame, as base64 of its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frame_base64: Option<String>,
    /// A Server-Sent Event of this name (`message_start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    /// The Server-Sent Event's data (one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decode_base64(field: &str, text: &str) -> Result<Bytes, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(Bytes::from)
        .map_err(|e| {
            format!("`{field}` is not base64 ({e}); give standard base64 with padding, like `/wA=`")
        })
}

impl TryFrom<RecordingForm> for Recording {
    type Error = String;

    fn try_from(form: RecordingForm) -> Result<Self, String> {
        let body = match (form.events, form.body, form.body_base64) {
            (Some(events), None, None) => RecordedBody::Events(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(n, e)| e.read(n))
                    .collect::<Result<_, _>>()?,
            ),
            (None, Some(text), None) => RecordedBody::Whole(text.into()),
            (None, None, Some(encoded)) => {
                RecordedBody::Whole(decode_base64("body_base64", &encoded)?)
            }
            (None, None, None) => {
                return Err(
                    "a recording needs its body: `events`, `body` (text) or `body_base64`"
                        .to_owned(),
                );
            }
            _ => {
                return Err(
                    "a recording takes one of `events`, `body` and `body_base64`; keep one"
                        .to_owned(),
                );
            }
        };
        Ok(Self {
            status: form.status,
            headers: form.headers,
            head_after: Duration::from_millis(form.head_after_ms),
            body,
        })
    }
}

impl RecordedEventForm {
    /// The event `events[n]` says, or why it says none (or several).
    fn read(self, n: usize) -> Result<RecordedEvent, String> {
        let at = format!("events[{n}]");
        let after = Duration::from_millis(self.after_ms);
        let only = |kind: &str, allowed: &[&str]| {
            let given = [
                ("chunk", self.chunk.is_some()),
                ("p", self.p.is_some()),
                ("exception", self.exception.is_some()),
                ("message", self.message.is_some()),
                ("frame_base64", self.frame_base64.is_some()),
                ("event", self.event.is_some()),
                ("data", self.data.is_some()),
            ];
            match given
                .iter()
                .find(|(name, set)| *set && *name != kind && !allowed.contains(name))
            {
                Some((other, _)) => Err(format!(
                    "`{at}` has `{kind}` and `{other}`: an event is one of `chunk`, `exception`, `frame_base64` or `event`"
                )),
                None => Ok(()),
            }
        };
        if let Some(json) = &self.chunk {
            only("chunk", &["p"])?;
            let event = RecordedEvent::chunk(after, json.clone());
            return Ok(match self.p {
                Some(p) => event.padded(p),
                None => event,
            });
        }
        if let Some(name) = &self.exception {
            only("exception", &["message"])?;
            let exception: ExceptionType = name.parse().map_err(|e| {
                format!("`{at}.exception`: {e}; for any other, give its frame as `frame_base64`")
            })?;
            let message = self
                .message
                .unwrap_or_else(|| exception.code().stream_message().to_owned());
            return Ok(RecordedEvent::exception(after, exception, message));
        }
        if let Some(encoded) = &self.frame_base64 {
            only("frame_base64", &[])?;
            let bytes = decode_base64(&format!("{at}.frame_base64"), encoded)?;
            return Ok(RecordedEvent::frame(after, bytes));
        }
        if let Some(event) = &self.event {
            only("event", &["data"])?;
            return Ok(RecordedEvent::sse(
                after,
                event.clone(),
                self.data.unwrap_or_default(),
            ));
        }
        Err(format!(
            "`{at}` says no event: give `chunk`, `exception`, `frame_base64` or `event` (with `data`)"
        ))
    }
}

impl From<Recording> for RecordingForm {
    fn from(recording: Recording) -> Self {
        let (events, body, body_base64) = match recording.body {
            RecordedBody::Events(events) => (
                Some(events.into_iter().map(RecordedEventForm::from).collect()),
                None,
                None,
            ),
            RecordedBody::Whole(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => (None, Some(text.to_owned()), None),
                Err(_) => (
                    None,
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                ),
            },
        };
        Self {
            status: recording.status,
            headers: recording.headers,
            head_after_ms: millis(recording.head_after),
            events,
            body,
            body_base64,
        }
    }
}

impl From<RecordedEvent> for RecordedEventForm {
    fn from(event: RecordedEvent) -> Self {
        let form = Self {
            after_ms: millis(event.after),
            ..Self::default()
        };
        match event.kind {
            RecordedKind::Chunk { json, padding } => Self {
                chunk: Some(json),
                p: padding,
                ..form
            },
            RecordedKind::Exception { exception, message } => Self {
                exception: Some(exception.as_str().to_owned()),
                message: Some(message),
                ..form
            },
            RecordedKind::Frame(bytes) => Self {
                frame_base64: Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                ..form
            },
            RecordedKind::Sse { event, data } => Self {
                event: Some(event),
                data: Some(data),
                ..form
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(toml_text: &str) -> Result<Recording, String> {
        let form: RecordingForm = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Recording::try_from(form)
    }

    #[test]
    fn a_recording_reads_and_writes_as_files_give_it() {
        let recording = read(
            r#"
            status = 200
            head_after_ms = 412
            events = [
              { after_ms = 0, chunk = '{"type":"message_start"}', p = "abc" },
              { after_ms = 5, exception = "throttlingException" },
              { after_ms = 3, frame_base64 = "AAAA" },
            ]
            "#,
        )
        .unwrap();
        assert_eq!(recording.head_after, Duration::from_millis(412));
        let RecordedBody::Events(events) = &recording.body else {
            panic!("events")
        };
        assert_eq!(
            events[1].kind,
            RecordedKind::Exception {
                exception: "throttlingException".parse().unwrap(),
                message: "Too many requests, please wait before trying again.".to_owned(),
            }
        );
        assert_eq!(
            events[2].kind,
            RecordedKind::Frame(Bytes::from_static(&[0, 0, 0]))
        );
        let written = RecordingForm::from(recording.clone());
        assert_eq!(Recording::try_from(written).unwrap(), recording);
    }

    #[test]
    fn a_file_s_mistakes_name_the_field() {
        let said = |text| read(text).unwrap_err();
        assert!(
            said(
                r#"status = 200
events = [{ after_ms = 0, frame_base64 = "%%" }]"#
            )
            .contains("`events[0].frame_base64` is not base64"),
        );
        assert!(
            said(
                r#"status = 200
events = [{ chunk = "{}" }, { exception = "ThrottlingException" }]"#
            )
            .contains("`events[1].exception`"),
        );
        assert!(
            said(
                r#"status = 200
events = [{ chunk = "{}", event = "ping" }]"#
            )
            .contains("`events[0]` has `chunk` and `event`"),
        );
        assert!(said("status = 200\nbody = 'a'\nbody_base64 = 'YQ=='").contains("keep one"));
        assert!(said("status = 200").contains("needs its body"));
        assert!(
            said("status = 200\nevents = [{ after_ms = 1 }]").contains("`events[0]` says no event")
        );
    }

    #[test]
    fn an_error_is_read_from_each_endpoint_s_shape() {
        let error = |status, headers: &[(String, String)], body: &[u8]| {
            recorded_error(status, headers, body).map(|e| (e.code, e.message))
        };
        let header = |v: &str| vec![("X-Amzn-ErrorType".to_owned(), v.to_owned())];
        let some =
            |code: &str, message: Option<&str>| Some((code.to_owned(), message.map(str::to_owned)));
        assert_eq!(
            error(
                429,
                &header("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
                br#"{"message":"slow"}"#
            ),
            some("ThrottlingException", Some("slow"))
        );
        assert_eq!(
            error(
                403,
                &[],
                br#"{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"bad"}"#
            ),
            some("UnrecognizedClientException", Some("bad"))
        );
        assert_eq!(
            error(
                529,
                &[],
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"r"}"#
            ),
            some("overloaded_error", Some("Overloaded"))
        );
        let sts = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>ExpiredToken</Code>\n    <Message>The security token &amp; its &quot;key&quot; &#x2014; expired</Message>\n  </Error>\n  <RequestId>r</RequestId>\n</ErrorResponse>";
        assert_eq!(
            error(403, &[], sts.as_bytes()),
            some(
                "ExpiredToken",
                Some("The security token & its \"key\" \u{2014} expired")
            )
        );
        assert_eq!(error(502, &[], b"<html>Bad Gateway</html>"), None);
        assert_eq!(
            error(504, &header("GatewayTimeout"), b"<html/>"),
            some("GatewayTimeout", None)
        );
        assert_eq!(error(200, &header("GatewayTimeout"), b"{}"), None);
        assert_eq!(xml_unescape("a &bogus; &amp"), "a &bogus; &amp");
    }

    #[test]
    fn no_event_is_larger_than_a_frame_may_be() {
        let big = |n| "x".repeat(n);
        let json = |n| format!(r#"{{"type":"ping","p":"{}"}}"#, big(n));
        // The predicted lengths are the written ones.
        for (text, padding) in [(json(3), "ab"), (json(0), "")] {
            let mut written = Vec::new();
            encode_chunk_json(text.as_bytes(), padding, &mut written);
            assert_eq!(chunk_frame_len(&text, padding.len()), written.len());
        }
        let exception: ExceptionType = "throttlingException".parse().unwrap();
        let message = "a \"quoted\" \\ line\n\t\u{1} \u{7f} \u{e9}";
        let mut written = Vec::new();
        encode_exception(&Exception::new(exception.as_str(), message), &mut written);
        assert_eq!(exception_frame_len(&exception, message), written.len());

        let problem = |kind: RecordedKind| kind.label().unwrap_err();
        let too_big = problem(RecordedEvent::chunk(Duration::ZERO, json(MAX_FRAME)).kind);
        assert_eq!((too_big.field, too_big.too_large), ("chunk", true));
        assert!(too_big.message.contains("past the 16777216"), "{too_big:?}");
        // Just fits with the mock's own padding, and not with one more byte.
        let fits = MAX_FRAME - chunk_frame_len("", PADDING_ALPHABET.len());
        let base64_fits = fits / 4 * 3;
        let event = |n| RecordedEvent::chunk(Duration::ZERO, json(n - json(0).len()));
        assert!(event(base64_fits).kind.label().is_ok());
        assert!(event(base64_fits + 1).kind.label().is_err());
        let padded = problem(
            RecordedEvent::chunk(Duration::ZERO, json(0))
                .padded(big(MAX_FRAME))
                .kind,
        );
        assert_eq!(padded.field, "p");
        let exception =
            problem(RecordedEvent::exception(Duration::ZERO, exception, big(MAX_FRAME)).kind);
        assert_eq!(exception.field, "message");
        let sse = problem(RecordedEvent::sse(Duration::ZERO, "ping", big(MAX_FRAME)).kind);
        assert_eq!(sse.field, "data");
    }

    #[test]
    fn frames_are_labelled_by_what_they_carry() {
        let mut chunk = Vec::new();
        bedrock_eventstream::bedrock::encode_chunk_json(br#"{"type":"ping"}"#, "x", &mut chunk);
        assert_eq!(
            frame_label(&chunk),
            Ok(FrameRecord::Chunk("ping".to_owned()))
        );
        let mut exception = Vec::new();
        bedrock_eventstream::bedrock::encode_exception(
            &bedrock_eventstream::bedrock::Exception::new("modelStreamErrorException", "m"),
            &mut exception,
        );
        assert_eq!(
            frame_label(&exception),
            Ok(FrameRecord::Exception(
                "modelStreamErrorException".to_owned()
            ))
        );
        assert!(frame_label(&chunk[..chunk.len() - 1]).is_err());
        let mut two = chunk.clone();
        two.extend_from_slice(&chunk);
        assert!(
            frame_label(&two)
                .unwrap_err()
                .contains("not one event-stream frame")
        );
        let mut other = Vec::new();
        bedrock_eventstream::encode(
            &[
                bedrock_eventstream::Header::string(":message-type", "event"),
                bedrock_eventstream::Header::string(":event-type", "initial-response"),
            ],
            b"{}",
            &mut other,
        )
        .unwrap();
        assert!(
            frame_label(&other)
                .unwrap_err()
                .contains("initial-response")
        );
    }
}
