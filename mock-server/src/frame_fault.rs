//! Faults in a streamed answer's frames: the ways an event stream breaks
//! on the wire, applied to the frames a normal answer would send.
//!
//! Each fault hits one frame (`at_event`, from 0; past the end, the last)
//! and the journal labels it `<fault>:<frame>`. The framing faults (CRCs,
//! the length, a header's type) exist only in Bedrock's binary event
//! stream; on Mantle's Server-Sent Events they become `bad_data`, an
//! event whose `data:` is not JSON.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::stream_body::PlannedFrame;

/// A fault in one frame of a streamed answer.
///
/// ```
/// use bedrock_mock_server::{FrameFault, FrameFaultKind, Match, Operation, Rule};
///
/// // The third event's message CRC is wrong.
/// let rule = Rule::faulting(
///     Match::operation(Operation::InvokeModelWithResponseStream),
///     FrameFault::at(FrameFaultKind::BadMessageCrc, 2),
/// );
/// assert!(rule.answer.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FrameFault {
    /// What goes wrong.
    pub kind: FrameFaultKind,
    /// The frame it hits, from 0 (past the end: the last one).
    #[serde(default)]
    pub at_event: usize,
}

impl FrameFault {
    /// `kind` at frame `at_event`.
    pub fn at(kind: FrameFaultKind, at_event: usize) -> Self {
        Self { kind, at_event }
    }
}

/// The ways a frame goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum FrameFaultKind {
    /// Half the frame is sent, then the stream ends cleanly.
    Truncated,
    /// Half the frame is sent, then the connection is reset (the chunked
    /// body never ends).
    Reset,
    /// The prelude's CRC is wrong.
    BadPreludeCrc,
    /// The message's CRC is wrong.
    BadMessageCrc,
    /// The prelude claims a 2 GiB frame (its CRC made to match).
    ForgedLength,
    /// The first header has value type 15, which does not exist (both
    /// CRCs made to match).
    UnknownHeaderType,
    /// A well-formed frame whose content is not an event: a chunk whose
    /// `bytes` is not base64 of JSON; on Mantle, `data:` that is not JSON.
    BadData,
    /// The frame is sent twice.
    Duplicated,
    /// The frame is left out (at 0: no `message_start`; at the last: no
    /// `message_stop`).
    Dropped,
    /// No frame at all: a 200 with an empty stream.
    Empty,
}

impl FrameFaultKind {
    fn label(self) -> &'static str {
        match self {
            FrameFaultKind::Truncated => "truncated",
            FrameFaultKind::Reset => "reset",
            FrameFaultKind::BadPreludeCrc => "bad_prelude_crc",
            FrameFaultKind::BadMessageCrc => "bad_message_crc",
            FrameFaultKind::ForgedLength => "forged_length",
            FrameFaultKind::UnknownHeaderType => "unknown_header_type",
            FrameFaultKind::BadData => "bad_data",
            FrameFaultKind::Duplicated => "duplicated",
            FrameFaultKind::Dropped => "dropped",
            FrameFaultKind::Empty => "empty",
        }
    }
}

/// The wire format of the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    EventStream,
    ServerSentEvents,
}

/// Applies `fault` to `frames`.
pub(crate) fn apply(fault: FrameFault, framing: Framing, frames: &mut Vec<PlannedFrame>) {
    if fault.kind == FrameFaultKind::Empty || frames.is_empty() {
        frames.clear();
        return;
    }
    let at = fault.at_event.min(frames.len() - 1);
    let frame = &mut frames[at];
    let original = frame.clone();
    let kind = match (fault.kind, framing) {
        (
            FrameFaultKind::BadPreludeCrc
            | FrameFaultKind::BadMessageCrc
            | FrameFaultKind::ForgedLength
            | FrameFaultKind::UnknownHeaderType,
            Framing::ServerSentEvents,
        ) => FrameFaultKind::BadData,
        (kind, _) => kind,
    };
    frame.label = format!("{}:{}", kind.label(), frame.label);
    let bytes = frame.bytes.to_vec();
    match kind {
        FrameFaultKind::Truncated | FrameFaultKind::Reset => {
            frame.bytes = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            frame.reset_after = kind == FrameFaultKind::Reset;
            frames.truncate(at + 1);
        }
        FrameFaultKind::Duplicated => {
            // The first copy is the frame as it was; the second is the fault.
            let copy = frame.clone();
            *frame = original;
            frames.insert(at + 1, copy);
        }
        FrameFaultKind::Dropped => frame.bytes = Bytes::new(),
        FrameFaultKind::BadData => {
            frame.bytes = Bytes::from(match framing {
                Framing::EventStream => chunk_of_garbage(),
                Framing::ServerSentEvents => corrupt_data(&bytes),
            });
        }
        FrameFaultKind::BadPreludeCrc
        | FrameFaultKind::BadMessageCrc
        | FrameFaultKind::ForgedLength
        | FrameFaultKind::UnknownHeaderType => {
            frame.bytes = Bytes::from(corrupt_frame(kind, bytes));
        }
        FrameFaultKind::Empty => unreachable!("handled above"),
    }
}

/// An event-stream frame with one framing fault. The layout: total length
/// (4), headers length (4), prelude CRC (4), headers, payload, message
/// CRC (4).
fn corrupt_frame(kind: FrameFaultKind, mut bytes: Vec<u8>) -> Vec<u8> {
    let end = bytes.len();
    if end < 16 {
        return bytes;
    }
    match kind {
        FrameFaultKind::BadPreludeCrc => bytes[8] ^= 0x01,
        FrameFaultKind::BadMessageCrc => bytes[end - 1] ^= 0x01,
        FrameFaultKind::ForgedLength => {
            bytes[0..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
            let crc = crc32fast::hash(&bytes[0..8]);
            bytes[8..12].copy_from_slice(&crc.to_be_bytes());
        }
        FrameFaultKind::UnknownHeaderType => {
            // The first header: name length (1), name, value type (1).
            let type_at = 12 + 1 + usize::from(bytes[12]);
            if type_at < end - 4 {
                bytes[type_at] = 15;
                let crc = crc32fast::hash(&bytes[..end - 4]);
                bytes[end - 4..].copy_from_slice(&crc.to_be_bytes());
            }
        }
        _ => {}
    }
    bytes
}

/// A well-formed chunk frame whose `bytes` is not base64 of JSON.
fn chunk_of_garbage() -> Vec<u8> {
    let mut out = Vec::new();
    bedrock_eventstream::encode(
        &[
            bedrock_eventstream::Header::string(":event-type", "chunk"),
            bedrock_eventstream::Header::string(":content-type", "application/json"),
            bedrock_eventstream::Header::string(":message-type", "event"),
        ],
        br#"{"bytes":"not base64!"}"#,
        &mut out,
    )
    .expect("a small frame is within the limits");
    out
}

/// A Server-Sent Event whose `data:` is not JSON.
fn corrupt_data(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let event = text
        .lines()
        .find(|l| l.starts_with("event:"))
        .unwrap_or("event: message");
    format!("{event}\ndata: {{\"type\": not json\n\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_eventstream::{DecodeErrorKind, Decoder, Header};

    fn frames() -> Vec<PlannedFrame> {
        (0..3)
            .map(|n| {
                let mut bytes = Vec::new();
                bedrock_eventstream::encode(
                    &[Header::string(":event-type", "chunk")],
                    format!("{{\"n\":{n}}}").as_bytes(),
                    &mut bytes,
                )
                .unwrap();
                PlannedFrame {
                    bytes: Bytes::from(bytes),
                    label: format!("chunk:{n}"),
                    reset_after: false,
                }
            })
            .collect()
    }

    /// Decodes the frames' bytes: how many frames, then the error.
    fn decode(frames: &[PlannedFrame]) -> (usize, Option<DecodeErrorKind>) {
        let wire: Vec<u8> = frames.iter().flat_map(|f| f.bytes.to_vec()).collect();
        let mut decoder = Decoder::new();
        let mut input = &wire[..];
        let mut count = 0;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(_)) => count += 1,
                Ok(None) => return (count, decoder.finish().err().map(|e| e.kind())),
                Err(e) => return (count, Some(e.kind())),
            }
        }
    }

    #[test]
    fn each_framing_fault_is_the_decoder_error_it_names() {
        for (kind, error) in [
            (FrameFaultKind::BadPreludeCrc, DecodeErrorKind::PreludeCrc),
            (FrameFaultKind::BadMessageCrc, DecodeErrorKind::MessageCrc),
            (FrameFaultKind::ForgedLength, DecodeErrorKind::TooLarge),
            (
                FrameFaultKind::UnknownHeaderType,
                DecodeErrorKind::BadHeaderType,
            ),
            (FrameFaultKind::Truncated, DecodeErrorKind::Truncated),
        ] {
            let mut planned = frames();
            apply(FrameFault::at(kind, 1), Framing::EventStream, &mut planned);
            assert_eq!(decode(&planned), (1, Some(error)), "{kind:?}");
            assert_eq!(planned[1].label, format!("{}:chunk:1", kind.label()));
        }
    }

    #[test]
    fn frames_are_left_out_repeated_or_all_gone() {
        let mut planned = frames();
        apply(
            FrameFault::at(FrameFaultKind::Dropped, 0),
            Framing::EventStream,
            &mut planned,
        );
        assert_eq!(decode(&planned), (2, None));
        let mut planned = frames();
        apply(
            FrameFault::at(FrameFaultKind::Duplicated, 9),
            Framing::EventStream,
            &mut planned,
        );
        assert_eq!(decode(&planned), (4, None), "past the end hits the last");
        let mut planned = frames();
        apply(
            FrameFault::at(FrameFaultKind::BadData, 1),
            Framing::EventStream,
            &mut planned,
        );
        assert_eq!(
            decode(&planned),
            (3, None),
            "well-formed frames, bad content"
        );
        let mut planned = frames();
        apply(
            FrameFault::at(FrameFaultKind::Empty, 1),
            Framing::EventStream,
            &mut planned,
        );
        assert!(planned.is_empty());
        let mut planned = frames();
        apply(
            FrameFault::at(FrameFaultKind::Reset, 2),
            Framing::EventStream,
            &mut planned,
        );
        assert!(planned[2].reset_after && planned.len() == 3);
    }

    #[test]
    fn on_server_sent_events_a_framing_fault_is_data_that_is_not_json() {
        let mut planned = vec![PlannedFrame {
            bytes: Bytes::from_static(b"event: ping\ndata: {\"type\": \"ping\"}\n\n"),
            label: "sse:ping".to_owned(),
            reset_after: false,
        }];
        apply(
            FrameFault::at(FrameFaultKind::BadMessageCrc, 0),
            Framing::ServerSentEvents,
            &mut planned,
        );
        assert_eq!(planned[0].label, "bad_data:sse:ping");
        assert_eq!(
            &planned[0].bytes[..],
            b"event: ping\ndata: {\"type\": not json\n\n"
        );
    }
}
