//! Bedrock's `InvokeModelWithResponseStream` layer on top of the frames:
//! `chunk` events carrying base64 Anthropic events, and exception frames.
//!
//! A chunk frame's payload is `{"bytes":"<base64 event JSON>","p":"<padding>"}`;
//! the padding hides the event's length from an eavesdropper and is ignored.
//! An exception frame (`:message-type` = `exception`) carries
//! `{"message":"..."}`, and for `modelStreamErrorException` also
//! `originalStatusCode` and `originalMessage`.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::anthropic::StreamEvent;
use crate::frame::Frame;
use crate::header::Header;

/// Reads Bedrock frames into Anthropic events, reusing one scratch buffer
/// for the base64 decoding across frames.
///
/// ```
/// use bedrock_eventstream::anthropic::StreamEvent;
/// use bedrock_eventstream::{bedrock, decode_frame};
///
/// let mut wire = Vec::new();
/// bedrock::encode_chunk(&StreamEvent::Ping, "abcdef", &mut wire);
/// let frame = decode_frame(&wire).unwrap();
/// assert_eq!(bedrock::EventReader::new().read(&frame).unwrap(), StreamEvent::Ping);
/// ```
#[derive(Debug, Default)]
pub struct EventReader {
    scratch: Vec<u8>,
}

impl EventReader {
    /// A reader with an empty scratch buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The event a frame carries, or the exception it reports.
    pub fn read(&mut self, frame: &Frame<'_>) -> Result<StreamEvent, ReadError> {
        // The first of each header counts, whatever its type.
        let message_type = frame.str_header(":message-type");
        let event_type = frame.str_header(":event-type");
        match message_type {
            Some("event") => {}
            Some("exception") => return Err(ReadError::Exception(Exception::from_frame(frame))),
            Some("error") => return Err(ReadError::Exception(Exception::from_error_frame(frame))),
            Some(other) => {
                return Err(ReadError::malformed(format!(
                    "`:message-type` is `{other}`; Bedrock sends `event`, `exception` or `error`"
                )));
            }
            None => {
                return Err(ReadError::malformed(
                    "frame has no string `:message-type` header".to_owned(),
                ));
            }
        }
        match event_type {
            Some("chunk") => {}
            Some(other) => {
                return Err(ReadError::malformed(format!(
                    "event frame has `:event-type` `{other}`; Bedrock streams carry only `chunk`"
                )));
            }
            None => {
                return Err(ReadError::malformed(
                    "event frame has no string `:event-type` header".to_owned(),
                ));
            }
        }
        let payload = frame.payload();
        self.scratch.clear();
        let decoded = match chunk_bytes_fast(payload) {
            // Base64 has no quotes, backslashes or control bytes and the
            // padding was checked for them, so if this decodes, the payload
            // really was the plain `{"bytes":"...","p":"..."}` shape.
            Some(b64) => STANDARD.decode_vec(b64, &mut self.scratch).is_ok(),
            None => false,
        };
        if !decoded {
            self.scratch.clear();
            let b64 = chunk_bytes(payload)?;
            STANDARD
                .decode_vec(b64.as_bytes(), &mut self.scratch)
                .map_err(|e| ReadError::malformed(format!("chunk `bytes` is not base64: {e}")))?;
        }
        StreamEvent::from_json(&self.scratch).map_err(|e| {
            ReadError::malformed(format!(
                "chunk does not hold an Anthropic stream event: {e}"
            ))
        })
    }
}

/// The base64 of a chunk in the shape Bedrock always writes,
/// `{"bytes":"<base64>","p":"<padding>"}` or `{"bytes":"<base64>"}`, found
/// without reading the base64 itself: only the short padding is scanned,
/// from the end. The caller must still check the base64 decodes; anything
/// else goes through [`chunk_bytes`].
#[inline]
fn chunk_bytes_fast(payload: &[u8]) -> Option<&[u8]> {
    const PREFIX: &[u8] = br#"{"bytes":""#;
    const PADDING_KEY: &[u8] = br#"","p":""#;
    let body = payload.strip_prefix(PREFIX)?.strip_suffix(br#""}"#)?;
    match memchr::memrchr(b'"', body) {
        Some(quote) => {
            let padding_starts = quote + 1;
            let b64_ends = padding_starts.checked_sub(PADDING_KEY.len())?;
            // Printable ASCII without escapes, so the padding string is
            // well-formed JSON without being parsed.
            let plain = body[padding_starts..]
                .iter()
                .all(|&b| (0x20..0x80).contains(&b) && b != b'\\');
            (plain && &body[b64_ends..padding_starts] == PADDING_KEY).then(|| &body[..b64_ends])
        }
        None => Some(body),
    }
}

/// The base64 text of a chunk payload in any JSON shape (other key order,
/// whitespace, escapes), through serde_json.
fn chunk_bytes(payload: &[u8]) -> Result<Cow<'_, str>, ReadError> {
    #[derive(Deserialize)]
    struct Chunk<'a> {
        #[serde(borrow)]
        bytes: Option<Cow<'a, str>>,
    }
    let chunk: Chunk<'_> = serde_json::from_slice(payload)
        .map_err(|e| ReadError::malformed(format!("chunk payload is not JSON: {e}")))?;
    chunk
        .bytes
        .ok_or_else(|| ReadError::malformed("chunk payload has no `bytes` field".to_owned()))
}

/// Appends a `chunk` frame carrying `event`, padded with `padding` (any
/// text without quotes or backslashes; AWS uses random letters and digits).
pub fn encode_chunk(event: &StreamEvent, padding: &str, out: &mut Vec<u8>) {
    // The event's JSON is written into a buffer kept by the thread, not a
    // new one per frame: a stream is hundreds of frames.
    thread_local! {
        static EVENT_JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    EVENT_JSON.with_borrow_mut(|json| {
        json.clear();
        serde_json::to_writer(&mut *json, event).expect("stream events always serialize");
        encode_chunk_json(json, padding, out);
        // A huge event's buffer is not kept for the thread's life.
        if json.capacity() > 64 * 1024 {
            *json = Vec::new();
        }
    });
}

/// Appends a `chunk` frame carrying `event_json` byte for byte (an
/// event's JSON as a service wrote it, or with fields the event types do
/// not have), padded with `padding` as [`encode_chunk`] pads.
///
/// ```
/// use bedrock_eventstream::anthropic::StreamEvent;
/// use bedrock_eventstream::{bedrock, decode_frame};
///
/// let mut wire = Vec::new();
/// bedrock::encode_chunk_json(br#"{"type":"ping"}"#, "abc", &mut wire);
/// let frame = decode_frame(&wire).unwrap();
/// assert_eq!(bedrock::EventReader::new().read(&frame).unwrap(), StreamEvent::Ping);
/// ```
pub fn encode_chunk_json(event_json: &[u8], padding: &str, out: &mut Vec<u8>) {
    let base64_len = base64_len(event_json.len());
    let payload_len =
        CHUNK_OPEN.len() + base64_len + CHUNK_PADDING.len() + padding.len() + CHUNK_CLOSE.len();
    crate::encoder::encode_with(&CHUNK_HEADERS, payload_len, out, |out| {
        write_chunk_payload(event_json, base64_len, padding, out)
    })
    .expect("a chunk frame is within AWS limits");
}

/// An event made ready once for many `chunk` frames: its JSON, in
/// base64. A server that sends the same event in many streams (a mock
/// replaying one reply to many clients) then skips serializing and
/// encoding it each time; only the padding and the frame's checksums
/// differ from frame to frame.
///
/// ```
/// use bedrock_eventstream::anthropic::{Delta, StreamEvent};
/// use bedrock_eventstream::bedrock::{self, PreparedEvent};
///
/// let event = StreamEvent::ContentBlockDelta {
///     index: 0,
///     delta: Delta::Text { text: "Hello".into() },
/// };
/// let prepared = PreparedEvent::new(&event);
/// assert_eq!(prepared, PreparedEvent::from_json(&event.to_json()));
/// // Prepared once, sent in frames of any padding: the bytes
/// // `encode_chunk` writes each time.
/// for padding in ["abc", "abcdefghij"] {
///     let (mut prepared_frame, mut fresh_frame) = (Vec::new(), Vec::new());
///     prepared.encode_chunk(padding, &mut prepared_frame);
///     bedrock::encode_chunk(&event, padding, &mut fresh_frame);
///     assert_eq!(prepared_frame, fresh_frame);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEvent {
    base64: Box<[u8]>,
}

impl PreparedEvent {
    /// `event`, serialized and encoded as [`encode_chunk`] does.
    pub fn new(event: &StreamEvent) -> Self {
        Self::from_json(&event.to_json())
    }

    /// An event's JSON byte for byte, as [`encode_chunk_json`] takes it.
    pub fn from_json(event_json: &[u8]) -> Self {
        Self {
            base64: STANDARD.encode(event_json).into_bytes().into_boxed_slice(),
        }
    }

    /// The length of the base64 it holds: what a cache of prepared events
    /// counts against its bound.
    pub fn encoded_len(&self) -> usize {
        self.base64.len()
    }

    /// Appends a `chunk` frame carrying the event, padded with `padding`:
    /// the same bytes [`encode_chunk`] writes for it.
    pub fn encode_chunk(&self, padding: &str, out: &mut Vec<u8>) {
        let payload_len = CHUNK_OPEN.len()
            + self.base64.len()
            + CHUNK_PADDING.len()
            + padding.len()
            + CHUNK_CLOSE.len();
        crate::encoder::encode_with(&CHUNK_HEADERS, payload_len, out, |out| {
            out.extend_from_slice(CHUNK_OPEN);
            out.extend_from_slice(&self.base64);
            close_chunk_payload(padding, out);
        })
        .expect("a chunk frame is within AWS limits");
    }
}

/// `{"bytes":"<base64 of json>","p":"<padding>"}`.
pub fn chunk_payload(event_json: &[u8], padding: &str) -> Vec<u8> {
    let base64_len = base64_len(event_json.len());
    let mut payload = Vec::with_capacity(
        CHUNK_OPEN.len() + base64_len + CHUNK_PADDING.len() + padding.len() + CHUNK_CLOSE.len(),
    );
    write_chunk_payload(event_json, base64_len, padding, &mut payload);
    payload
}

/// A `chunk` frame's headers.
const CHUNK_HEADERS: [Header<'static>; 3] = [
    Header::string(":event-type", "chunk"),
    Header::string(":content-type", "application/json"),
    Header::string(":message-type", "event"),
];

/// A chunk payload's parts around the base64 and the padding.
const CHUNK_OPEN: &[u8] = br#"{"bytes":""#;
const CHUNK_PADDING: &[u8] = br#"","p":""#;
const CHUNK_CLOSE: &[u8] = br#""}"#;

/// The length of `len` bytes in padded base64.
fn base64_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Appends a chunk's payload, the base64 (`base64_len` long) encoded in
/// place.
fn write_chunk_payload(event_json: &[u8], base64_len: usize, padding: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(CHUNK_OPEN);
    let at = out.len();
    out.resize(at + base64_len, 0);
    let written = STANDARD
        .encode_slice(event_json, &mut out[at..])
        .expect("the slice is base64_len long");
    debug_assert_eq!(written, base64_len);
    close_chunk_payload(padding, out);
}

/// Appends the end of a chunk's payload after its base64: the padding.
fn close_chunk_payload(padding: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(CHUNK_PADDING);
    out.extend_from_slice(padding.as_bytes());
    out.extend_from_slice(CHUNK_CLOSE);
}

/// Appends an exception frame as Bedrock sends it mid-stream.
pub fn encode_exception(exception: &Exception, out: &mut Vec<u8>) {
    let mut body = serde_json::Map::new();
    body.insert("message".into(), exception.message.clone().into());
    if let Some(code) = exception.original_status_code {
        body.insert("originalStatusCode".into(), code.into());
    }
    if let Some(original) = &exception.original_message {
        body.insert("originalMessage".into(), original.clone().into());
    }
    let payload = serde_json::to_vec(&body).expect("a JSON map serializes");
    let headers = [
        Header::string(":exception-type", &exception.exception_type),
        Header::string(":content-type", "application/json"),
        Header::string(":message-type", "exception"),
    ];
    crate::encode(&headers, &payload, out).expect("an exception frame is within AWS limits");
}

/// A whole stream body for `events`, with fixed padding: handy for tests
/// and examples that need real frames.
pub fn encode_event_frames(events: &[StreamEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        encode_chunk(
            event,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
            &mut out,
        );
    }
    out
}

/// The exceptions Bedrock sends as mid-stream frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExceptionKind {
    /// `internalServerException` (HTTP 500 equivalent).
    InternalServer,
    /// `modelStreamErrorException` (HTTP 424): the model failed mid-stream.
    ModelStreamError,
    /// `validationException` (HTTP 400).
    Validation,
    /// `throttlingException` (HTTP 429).
    Throttling,
    /// `modelTimeoutException` (HTTP 408).
    ModelTimeout,
    /// `serviceUnavailableException` (HTTP 503).
    ServiceUnavailable,
    /// Any other `:exception-type`, or a generic `:message-type` `error` frame.
    Other,
}

impl ExceptionKind {
    /// Every known kind (not [`ExceptionKind::Other`]): the kinds
    /// [`ExceptionKind::from_type`] recognizes.
    pub const ALL: &'static [ExceptionKind] = &[
        Self::InternalServer,
        Self::ModelStreamError,
        Self::Validation,
        Self::Throttling,
        Self::ModelTimeout,
        Self::ServiceUnavailable,
    ];

    /// Parses the `:exception-type` header value.
    pub fn from_type(exception_type: &str) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.exception_type() == Some(exception_type))
            .unwrap_or(Self::Other)
    }

    /// The `:exception-type` header value (`None` for [`ExceptionKind::Other`]).
    pub fn exception_type(self) -> Option<&'static str> {
        match self {
            Self::InternalServer => Some("internalServerException"),
            Self::ModelStreamError => Some("modelStreamErrorException"),
            Self::Validation => Some("validationException"),
            Self::Throttling => Some("throttlingException"),
            Self::ModelTimeout => Some("modelTimeoutException"),
            Self::ServiceUnavailable => Some("serviceUnavailableException"),
            Self::Other => None,
        }
    }

    /// The HTTP status Bedrock uses for the same error outside a stream.
    pub fn http_status(self) -> Option<u16> {
        match self {
            Self::InternalServer => Some(500),
            Self::ModelStreamError => Some(424),
            Self::Validation => Some(400),
            Self::Throttling => Some(429),
            Self::ModelTimeout => Some(408),
            Self::ServiceUnavailable => Some(503),
            Self::Other => None,
        }
    }
}

/// An exception frame: the service gave up on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exception {
    /// The `:exception-type` header (or `:error-code` of an `error` frame).
    pub exception_type: String,
    /// The payload's `message`.
    pub message: String,
    /// `originalStatusCode` of a `modelStreamErrorException`.
    pub original_status_code: Option<u16>,
    /// `originalMessage` of a `modelStreamErrorException`.
    pub original_message: Option<String>,
}

impl Exception {
    /// An exception of `exception_type` with `message` and nothing else.
    pub fn new(exception_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            exception_type: exception_type.into(),
            message: message.into(),
            original_status_code: None,
            original_message: None,
        }
    }

    /// Which of the known exceptions this is.
    pub fn kind(&self) -> ExceptionKind {
        ExceptionKind::from_type(&self.exception_type)
    }

    fn from_frame(frame: &Frame<'_>) -> Self {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            #[serde(alias = "Message")]
            message: Option<String>,
            #[serde(rename = "originalStatusCode")]
            original_status_code: Option<u16>,
            #[serde(rename = "originalMessage")]
            original_message: Option<String>,
        }
        let payload = frame.payload();
        // A payload that is not the documented JSON is still the service's
        // words: keep it as the message rather than lose it.
        let body: Body = serde_json::from_slice(payload).unwrap_or_else(|_| Body {
            message: Some(String::from_utf8_lossy(payload).into_owned()),
            ..Body::default()
        });
        Self {
            exception_type: frame
                .str_header(":exception-type")
                .unwrap_or("unknownException")
                .to_owned(),
            message: body.message.unwrap_or_default(),
            original_status_code: body.original_status_code,
            original_message: body.original_message,
        }
    }

    fn from_error_frame(frame: &Frame<'_>) -> Self {
        Self::new(
            frame.str_header(":error-code").unwrap_or("unknownError"),
            frame.str_header(":error-message").unwrap_or_default(),
        )
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exception_type, self.message)?;
        if let Some(code) = self.original_status_code {
            write!(f, " (model answered {code}")?;
            if let Some(original) = &self.original_message {
                write!(f, ": {original}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// A frame that did not yield an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// The service reported an error in the stream.
    Exception(Exception),
    /// The frame is well-formed but is not what Bedrock sends: wrong
    /// headers, a payload that is not a chunk, bad base64, or an event that
    /// is not an Anthropic stream event.
    Malformed(String),
}

impl ReadError {
    fn malformed(why: String) -> Self {
        Self::Malformed(why)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Exception(e) => write!(f, "Bedrock stream exception: {e}"),
            ReadError::Malformed(why) => write!(f, "malformed Bedrock stream frame: {why}"),
        }
    }
}

impl std::error::Error for ReadError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anthropic::Delta;
    use crate::{Decoder, decode_frame, encode};

    /// One frame with `headers` and `payload`, through a fresh reader.
    fn read_frame(headers: &[Header<'_>], payload: &[u8]) -> Result<StreamEvent, ReadError> {
        let mut wire = Vec::new();
        encode(headers, payload, &mut wire).unwrap();
        EventReader::new().read(&decode_frame(&wire).unwrap())
    }

    fn read_chunk(payload: &str) -> Result<StreamEvent, ReadError> {
        let headers = [
            Header::string(":message-type", "event"),
            Header::string(":event-type", "chunk"),
        ];
        read_frame(&headers, payload.as_bytes())
    }

    fn text(t: &str) -> StreamEvent {
        StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text { text: t.into() },
        }
    }

    #[test]
    fn chunk_round_trip() {
        let mut wire = Vec::new();
        encode_chunk(&text("Hello \"world\"\n"), "xyz", &mut wire);
        let frame = decode_frame(&wire).unwrap();
        assert_eq!(
            EventReader::new().read(&frame).unwrap(),
            text("Hello \"world\"\n")
        );
    }

    #[test]
    fn chunk_payload_in_other_shapes_goes_through_serde() {
        let b64 = STANDARD.encode(text("x").to_json());
        for payload in [
            format!(r#"{{"p":"abc","bytes":"{b64}"}}"#),
            format!(r#"{{ "bytes" : "{b64}" }}"#),
            format!(r#"{{"bytes":"{}"}}"#, b64.replace('/', "\\/")),
            format!(r#"{{"bytes":"{b64}","p":"a\"b"}}"#),
        ] {
            assert_eq!(read_chunk(&payload).unwrap(), text("x"), "{payload}");
        }
    }

    /// The shortcut must not accept what is not JSON: a padding that never
    /// closes its string, or holds raw control bytes, is refused as serde
    /// refuses it.
    #[test]
    fn chunk_shortcut_checks_the_padding() {
        let b64 = STANDARD.encode(text("x").to_json());
        for padding in ["\\", "a\u{1}b", "a\\q"] {
            let payload = format!(r#"{{"bytes":"{b64}","p":"{padding}"}}"#);
            assert_eq!(chunk_bytes_fast(payload.as_bytes()), None, "{payload:?}");
            let err = read_chunk(&payload).unwrap_err();
            assert!(err.to_string().contains("not JSON"), "{err}");
        }
    }

    #[test]
    fn exception_frames_become_typed_errors() {
        let mut wire = Vec::new();
        let sent = Exception {
            exception_type: "modelStreamErrorException".into(),
            message: "The model failed".into(),
            original_status_code: Some(500),
            original_message: Some("upstream".into()),
        };
        encode_exception(&sent, &mut wire);
        encode_exception(
            &Exception::new(
                "throttlingException",
                "Too many requests, please wait before trying again.",
            ),
            &mut wire,
        );
        let mut decoder = Decoder::new();
        let mut input = &wire[..];
        let mut reader = EventReader::new();
        let first = decoder.decode(&mut input).unwrap().unwrap();
        let ReadError::Exception(got) = reader.read(&first).unwrap_err() else {
            panic!()
        };
        assert_eq!(got, sent);
        assert_eq!(got.kind(), ExceptionKind::ModelStreamError);
        assert_eq!(got.kind().http_status(), Some(424));
        let second = decoder.decode(&mut input).unwrap().unwrap();
        let ReadError::Exception(got) = reader.read(&second).unwrap_err() else {
            panic!()
        };
        assert_eq!(got.kind(), ExceptionKind::Throttling);
        assert_eq!(
            got.message,
            "Too many requests, please wait before trying again."
        );
    }

    #[test]
    fn error_frames_and_odd_frames() {
        let err = read_frame(
            &[
                Header::string(":message-type", "error"),
                Header::string(":error-code", "InternalFailure"),
                Header::string(":error-message", "boom"),
            ],
            b"",
        )
        .unwrap_err();
        let boom = Exception::new("InternalFailure", "boom");
        assert_eq!(err, ReadError::Exception(boom));

        let err = read_frame(&[Header::string(":event-type", "chunk")], b"{}").unwrap_err();
        assert!(
            err.to_string().contains("no string `:message-type`"),
            "{err}"
        );
        let err = read_frame(&[Header::string(":message-type", "event")], b"{}").unwrap_err();
        assert!(err.to_string().contains("no string `:event-type`"), "{err}");
        let initial = [
            Header::string(":message-type", "event"),
            Header::string(":event-type", "initial-response"),
        ];
        let err = read_frame(&initial, b"{}").unwrap_err();
        assert!(
            err.to_string().contains("`:event-type` `initial-response`"),
            "{err}"
        );
        // The first of a repeated header counts, as in `Frame::header`.
        let repeated = [
            Header::string(":message-type", "exception"),
            Header::string(":message-type", "event"),
            Header::string(":exception-type", "validationException"),
        ];
        let err = read_frame(&repeated, br#"{"message":"bad"}"#).unwrap_err();
        assert!(matches!(err, ReadError::Exception(_)), "{err}");

        let err = read_chunk(r#"{"bytes":"!!!!"}"#).unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        let err = read_chunk(r#"{"p":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("no `bytes`"), "{err}");
        let not_event = STANDARD.encode(b"[1,2]");
        let err = read_chunk(&format!(r#"{{"bytes":"{not_event}"}}"#)).unwrap_err();
        assert!(err.to_string().contains("Anthropic stream event"), "{err}");
    }
}
