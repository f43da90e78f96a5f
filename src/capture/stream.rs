//! A streamed answer's body read back into its events, each with the time
//! it arrived: Bedrock's event-stream frames or Mantle's Server-Sent
//! Events. What a stream ended on (a frame or event cut short) is kept
//! too, so the writer can cut the replay at the same byte.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bedrock_eventstream::{Decoder, Frame, Header, encode};
use bytes::Bytes;

use super::exchange::Piece;

/// A stream's events, and what was left unfinished at its end.
#[derive(Debug, Default)]
pub struct TimedEvents {
    /// Every whole event, in order.
    pub events: Vec<TimedEvent>,
    /// The bytes after the last whole event, if any.
    pub partial: Option<Partial>,
    /// Why reading stopped before the end, if it did (a frame that does
    /// not decode); the bytes from there on are the `partial`.
    pub trouble: Option<String>,
}

/// One event and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    /// When its last byte arrived, from the answer's head.
    pub at: Duration,
    /// What it was.
    pub body: EventBody,
}

/// What an event carried.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// An event-stream `chunk` frame: the Anthropic event's JSON, and the
    /// frame's padding (`p`), kept so the frame keeps its length.
    Chunk {
        /// The event JSON the frame's `bytes` carried.
        json: String,
        /// The padding, when the frame had one.
        padding: Option<String>,
    },
    /// An event-stream exception frame whose payload is a `message` alone.
    Exception {
        /// `:exception-type`.
        kind: String,
        /// The payload's `message`.
        message: String,
    },
    /// Any other event-stream frame: its headers (name, string value;
    /// `None` for a header that is not a string) and payload.
    Frame {
        /// Its headers in order.
        headers: Vec<(String, Option<String>)>,
        /// The whole frame as it came.
        bytes: Bytes,
    },
    /// A Server-Sent Event.
    Sse {
        /// Its `event:` name (`message` when it had none).
        event: String,
        /// Its `data:` lines, joined by line breaks.
        data: String,
    },
}

/// The unfinished end of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// How many bytes of it arrived.
    pub bytes: usize,
    /// When its last byte arrived, from the answer's head.
    pub at: Duration,
    /// The whole frame's length, when its prelude arrived whole with a
    /// checksum that holds, the length is within AWS's limits and longer
    /// than what came.
    pub frame_len: Option<usize>,
    /// The event type it carried, when enough of it arrived to tell.
    pub event_type: Option<String>,
}

impl EventBody {
    /// The event's type, as the mock's journal labels it (`message_start`,
    /// an exception's type, an SSE event's name).
    pub fn label(&self) -> String {
        match self {
            EventBody::Chunk { json, .. } => json_type(json).unwrap_or_default(),
            EventBody::Exception { kind, .. } => kind.clone(),
            EventBody::Frame { headers, .. } => header(headers, ":event-type")
                .or_else(|| header(headers, ":exception-type"))
                .unwrap_or_default(),
            EventBody::Sse { event, .. } => event.clone(),
        }
    }
}

fn header(headers: &[(String, Option<String>)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.clone())
}

/// Where each byte of the joined body arrived: the time of the piece that
/// holds the byte at `offset`.
struct Arrivals<'a> {
    pieces: &'a [Piece],
}

impl Arrivals<'_> {
    fn at(&self, offset: usize) -> Duration {
        let mut end = 0;
        for piece in self.pieces {
            end += piece.bytes.len();
            if offset < end {
                return piece.at;
            }
        }
        self.pieces.last().map_or(Duration::ZERO, |p| p.at)
    }
}

fn joined(pieces: &[Piece]) -> Vec<u8> {
    pieces
        .iter()
        .flat_map(|p| p.bytes.iter().copied())
        .collect()
}

/// Bedrock's event stream, frame by frame.
pub fn event_stream(pieces: &[Piece]) -> TimedEvents {
    let body = joined(pieces);
    let arrivals = Arrivals { pieces };
    let mut decoder = Decoder::new();
    let mut rest: &[u8] = &body;
    let mut out = TimedEvents::default();
    let mut start = 0;
    loop {
        match decoder.decode(&mut rest) {
            Ok(Some(frame)) => {
                let end = start + frame.encoded_len();
                let event = frame_event(&frame, Bytes::copy_from_slice(&body[start..end]));
                out.events.push(TimedEvent {
                    at: arrivals.at(end - 1),
                    body: event,
                });
                start = end;
            }
            Ok(None) => break,
            Err(e) => {
                out.trouble = Some(format!("the frame at byte {start} does not decode: {e}"));
                break;
            }
        }
    }
    if start < body.len() {
        let previous = out.events.last().map(|e| e.body.label());
        let mut partial = partial_frame(&body[start..], previous.as_deref());
        partial.at = arrivals.at(body.len() - 1);
        out.partial = Some(partial);
    }
    out
}

fn frame_event(frame: &Frame<'_>, bytes: Bytes) -> EventBody {
    let message_type = frame.str_header(":message-type");
    let payload: Option<serde_json::Value> = serde_json::from_slice(frame.payload()).ok();
    let field = |name: &str| {
        payload
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|v| v.as_str())
    };
    if message_type == Some("event") && frame.str_header(":event-type") == Some("chunk") {
        let fields = payload
            .as_ref()
            .and_then(|p| p.as_object())
            .map_or(0, |o| o.len());
        let json = field("bytes")
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let padding = field("p").map(str::to_owned);
        if let Some(json) = json
            && fields == 1 + usize::from(padding.is_some())
        {
            return EventBody::Chunk { json, padding };
        }
    }
    if message_type == Some("exception")
        && let (Some(kind), Some(message)) = (frame.str_header(":exception-type"), field("message"))
        && payload
            .as_ref()
            .and_then(|p| p.as_object())
            .map(|o| o.len())
            == Some(1)
        && kind.parse::<bedrock_mock_server::ExceptionType>().is_ok()
    {
        return EventBody::Exception {
            kind: kind.to_owned(),
            message: message.to_owned(),
        };
    }
    let headers = frame
        .headers()
        .map(|h| (h.name.to_owned(), h.value.as_str().map(str::to_owned)))
        .collect();
    EventBody::Frame { headers, bytes }
}

/// A frame written as it came, its payload redacted: the same bytes when
/// redaction changed nothing, else the frame encoded again (`None` when a
/// header is not a string, so the frame cannot be). A chunk this reader
/// did not take apart (a payload with fields beyond `bytes` and `p`) has
/// its event redacted as answer text, like every other chunk of
/// `stream`.
pub fn redacted_frame(
    headers: &[(String, Option<String>)],
    bytes: &[u8],
    stream: usize,
    redactor: &mut super::redact::Redactor,
) -> Option<Vec<u8>> {
    let frame = bedrock_eventstream::decode_frame(bytes).ok()?;
    let payload = match redacted_chunk(frame.payload(), stream, redactor) {
        Some(payload) => payload,
        None => redactor.other_body(frame.payload()),
    };
    if payload == frame.payload() {
        return Some(bytes.to_vec());
    }
    let strings: Option<Vec<(&str, &str)>> = headers
        .iter()
        .map(|(n, v)| Some((n.as_str(), v.as_deref()?)))
        .collect();
    let headers: Vec<Header<'_>> = strings?
        .into_iter()
        .map(|(n, v)| Header::string(n, v))
        .collect();
    let mut out = Vec::new();
    encode(&headers, &payload, &mut out).ok()?;
    Some(out)
}

/// A chunk payload (`{"bytes": "<base64 event>", …}`) with its event
/// redacted as answer text and the rest as any body; `None` for a payload
/// that is not one.
fn redacted_chunk(
    payload: &[u8],
    stream: usize,
    redactor: &mut super::redact::Redactor,
) -> Option<Vec<u8>> {
    let mut value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let object = value.as_object_mut()?;
    let event = STANDARD.decode(object.get("bytes")?.as_str()?).ok()?;
    let event = String::from_utf8(event).ok()?;
    let redacted = redactor.answer_event(stream, &event);
    object.insert("bytes".into(), STANDARD.encode(redacted).into());
    for (name, field) in object.iter_mut().filter(|(name, _)| *name != "bytes") {
        let text = serde_json::to_vec(field).ok()?;
        let redacted = redactor.other_body(&text);
        if redacted != text {
            *field = serde_json::from_slice(&redacted)
                .unwrap_or_else(|_| format!("<redacted {name}>").into());
        }
    }
    serde_json::to_vec(&value).ok()
}

/// What can be told of a frame cut short: its length from the prelude
/// (when the prelude's checksum holds and the length is one AWS allows:
/// a tail of other bytes, a gateway's JSON error, tells nothing), and the
/// event type from the start of its base64 `bytes` (with the event before
/// it, when the cut left only the type's first letters).
fn partial_frame(bytes: &[u8], previous: Option<&str>) -> Partial {
    let frame_len = prelude_len(bytes).filter(|len| *len > bytes.len());
    let event_type = find_after(bytes, br#""bytes":""#).and_then(|start| {
        let b64: Vec<u8> = bytes[start..]
            .iter()
            .copied()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
            .collect();
        let whole = b64.len() / 4 * 4;
        let json = STANDARD.decode(&b64[..whole]).ok()?;
        type_in_prefix(&String::from_utf8_lossy(&json), previous)
    });
    // Cut before its type: the event most likely after the one before.
    let event_type = event_type.or_else(|| likely_next(previous).first().map(|e| (*e).to_owned()));
    Partial {
        bytes: bytes.len(),
        at: Duration::ZERO,
        frame_len,
        event_type,
    }
}

/// A frame's total length from its prelude, when the prelude is whole,
/// its checksum holds, and the length is within AWS's limits.
fn prelude_len(bytes: &[u8]) -> Option<usize> {
    let prelude = bytes.get(..bedrock_eventstream::PRELUDE_LEN)?;
    let word = |at: usize| {
        u32::from_be_bytes([
            prelude[at],
            prelude[at + 1],
            prelude[at + 2],
            prelude[at + 3],
        ])
    };
    let len = word(0) as usize;
    let fits = (bedrock_eventstream::MIN_FRAME_LEN
        ..=bedrock_eventstream::Limits::AWS.max_message_len as usize)
        .contains(&len);
    (crc32fast::hash(&prelude[..8]) == word(8) && fits).then_some(len)
}

fn find_after(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + needle.len())
}

/// The Anthropic stream's events, each with those that may follow it.
const EVENT_ORDER: &[(&str, &[&str])] = &[
    (
        "message_start",
        &["content_block_start", "ping", "message_delta"],
    ),
    (
        "ping",
        &[
            "content_block_start",
            "content_block_delta",
            "message_delta",
        ],
    ),
    (
        "content_block_start",
        &["content_block_delta", "content_block_stop", "ping"],
    ),
    (
        "content_block_delta",
        &["content_block_delta", "content_block_stop"],
    ),
    (
        "content_block_stop",
        &["content_block_start", "message_delta"],
    ),
    ("message_delta", &["message_stop"]),
    ("message_stop", &[]),
];

/// The events that may follow `previous` (the first when there is none).
fn likely_next(previous: Option<&str>) -> &'static [&'static str] {
    match previous {
        None => &["message_start"],
        Some(previous) => EVENT_ORDER
            .iter()
            .find(|(event, _)| *event == previous)
            .map_or(&[], |(_, next)| next),
    }
}

/// The first `"type":"…"` of a JSON text that may be cut short. Cut
/// inside the type's name, the name is the event that may follow
/// `previous` and starts so (else the first known event that does).
fn type_in_prefix(json: &str, previous: Option<&str>) -> Option<String> {
    let start = json.find(r#""type":""#)? + r#""type":""#.len();
    let rest = &json[start..];
    if let Some(len) = rest.find('"') {
        return Some(rest[..len].to_owned());
    }
    likely_next(previous)
        .iter()
        .chain(EVENT_ORDER.iter().map(|(event, _)| event))
        .find(|event| event.starts_with(rest))
        .map(|event| (*event).to_owned())
}

/// The `type` of an event's JSON.
pub fn json_type(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("type")?.as_str().map(str::to_owned)
}

/// Mantle's Server-Sent Events, event by event.
pub fn server_sent_events(pieces: &[Piece]) -> TimedEvents {
    let body = joined(pieces);
    let arrivals = Arrivals { pieces };
    let mut out = TimedEvents::default();
    let mut start = 0;
    while let Some((len, gap)) = next_event_end(&body[start..]) {
        let text = String::from_utf8_lossy(&body[start..start + len]);
        if let Some(body) = sse_event(&text) {
            out.events.push(TimedEvent {
                at: arrivals.at(start + len + gap - 1),
                body,
            });
        }
        start += len + gap;
    }
    let rest = String::from_utf8_lossy(&body[start..]);
    // Bytes after the last event that start no event (a stray line
    // break, a comment line) are no event cut short.
    let starts_one = rest
        .lines()
        .any(|line| !line.trim().is_empty() && !line.starts_with(':'));
    if starts_one {
        let event_type = sse_event(&rest)
            .map(|e| e.label())
            .filter(|l| !l.is_empty());
        out.partial = Some(Partial {
            bytes: body.len() - start,
            at: arrivals.at(body.len() - 1),
            frame_len: None,
            event_type,
        });
    }
    out
}

/// The length of the next event's lines, and of the blank line ending it
/// (`\n\n` or `\r\n\r\n`): one pass up to the first.
fn next_event_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|b| *b == b'\n') {
        let at = from + offset;
        if bytes.get(at + 1) == Some(&b'\n') {
            return Some((at, 2));
        }
        if at >= 1 && bytes[at - 1] == b'\r' && bytes.get(at + 1..at + 3) == Some(b"\r\n") {
            return Some((at - 1, 4));
        }
        from = at + 1;
    }
    None
}

/// One event's lines: `event:` and `data:` (comments and other fields
/// ignored, as a reader does); `None` for an event with neither.
fn sse_event(text: &str) -> Option<EventBody> {
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if event.is_none() && data.is_empty() {
        return None;
    }
    Some(EventBody::Sse {
        event: event.unwrap_or_else(|| "message".to_owned()),
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_eventstream::bedrock::{Exception, chunk_payload, encode_exception};

    fn chunk(json: &str, p: &str) -> Vec<u8> {
        let headers = [
            Header::string(":event-type", "chunk"),
            Header::string(":content-type", "application/json"),
            Header::string(":message-type", "event"),
        ];
        let mut out = Vec::new();
        encode(&headers, &chunk_payload(json.as_bytes(), p), &mut out).unwrap();
        out
    }

    fn piece(ms: u64, bytes: Vec<u8>) -> Piece {
        Piece {
            at: Duration::from_millis(ms),
            bytes: bytes.into(),
        }
    }

    #[test]
    fn frames_keep_their_arrival_times_and_a_cut_frame_its_type() {
        let start = chunk(r#"{"type":"message_start"}"#, "abc");
        let delta = chunk(r#"{"type":"content_block_delta","index":0}"#, "xy");
        let mut exception = Vec::new();
        encode_exception(
            &Exception::new("throttlingException", "slow down"),
            &mut exception,
        );
        let mut tail = delta.clone();
        tail.truncate(delta.len() - 8);
        let mut second = delta.clone();
        second.extend_from_slice(&exception);
        second.extend_from_slice(&tail);
        let read = event_stream(&[piece(5, start), piece(30, second)]);
        let labels: Vec<_> = read
            .events
            .iter()
            .map(|e| (e.at.as_millis(), e.body.label()))
            .collect();
        assert_eq!(
            labels,
            [
                (5, "message_start".to_owned()),
                (30, "content_block_delta".to_owned()),
                (30, "throttlingException".to_owned())
            ]
        );
        assert_eq!(
            read.events[0].body,
            EventBody::Chunk {
                json: r#"{"type":"message_start"}"#.into(),
                padding: Some("abc".into())
            }
        );
        let partial = read.partial.unwrap();
        assert_eq!(
            (partial.bytes, partial.frame_len),
            (delta.len() - 8, Some(delta.len()))
        );
        assert_eq!(partial.event_type.as_deref(), Some("content_block_delta"));
    }

    #[test]
    fn server_sent_events_are_split_on_blank_lines_and_a_cut_one_is_kept() {
        let body = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n: comment\n\nevent: ping\ndata: {}\n\nevent: content_block_delta\ndata: {\"ty";
        let (a, b) = body.split_at(30);
        let read = server_sent_events(&[piece(1, a.into()), piece(9, b.into())]);
        let labels: Vec<_> = read
            .events
            .iter()
            .map(|e| (e.at.as_millis(), e.body.label()))
            .collect();
        assert_eq!(
            labels,
            [(9, "message_start".to_owned()), (9, "ping".to_owned())]
        );
        let partial = read.partial.unwrap();
        assert_eq!(partial.event_type.as_deref(), Some("content_block_delta"));
    }

    #[test]
    fn bytes_after_the_last_event_that_start_none_are_no_cut_event() {
        for tail in ["\n", ": keep-alive\n", "\r\n"] {
            let body = format!("event: ping\ndata: {{}}\n\n{tail}");
            let read = server_sent_events(&[piece(0, body.into_bytes())]);
            assert_eq!(read.events.len(), 1, "{tail:?}");
            assert_eq!(read.partial, None, "{tail:?}");
        }
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        let read = event_stream(&[piece(0, b"\x00\x00\x00\x10garbage-garbage!".to_vec())]);
        assert!(read.events.is_empty());
        assert!(read.trouble.is_some() || read.partial.is_some());
        let read = server_sent_events(&[piece(0, vec![0xff, 0xfe, b'\n'])]);
        assert!(read.events.is_empty());
    }
}
