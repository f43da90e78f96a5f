//! Faults in a streamed answer's frames: the ways an event stream breaks
//! on the wire, applied to the frames a normal answer would send.
//!
//! Each fault ([`FrameFault`], defined with the other rule effects) hits
//! one frame (`at_event`, from 0; past the end, the last) and the journal
//! records it as [`FrameRecord::Fault`] (`<fault>:<frame>`). The framing faults (CRCs,
//! the length, a header's type) exist only in Bedrock's binary event
//! stream; on Mantle's Server-Sent Events they become `bad_data`, an
//! event whose `data:` is not JSON.

use bytes::Bytes;

use crate::effects::{FrameFault, FrameFaultKind};
use crate::journal::FrameRecord;
use crate::stream_body::{Framing, PlannedFrame};

/// Applies `fault` to `frames`.
pub(crate) fn apply(fault: FrameFault, framing: Framing, frames: &mut Vec<PlannedFrame>) {
    if frames.is_empty() {
        return;
    }
    let at = fault.at_event.min(frames.len() - 1);
    let frame = &mut frames[at];
    let original = frame.clone();
    // Server-Sent Events have no binary framing to break: their data is
    // broken instead.
    let kind = if framing == Framing::ServerSentEvents && fault.kind.breaks_framing() {
        FrameFaultKind::BadData
    } else {
        fault.kind
    };
    frame.label = FrameRecord::Fault {
        kind,
        frame: Box::new(frame.label.clone()),
    };
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
        FrameFaultKind::Empty => frames.clear(),
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
        // Not faults of the framing: `apply` never brings them here.
        FrameFaultKind::Truncated
        | FrameFaultKind::Reset
        | FrameFaultKind::BadData
        | FrameFaultKind::Duplicated
        | FrameFaultKind::Dropped
        | FrameFaultKind::Empty => {}
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
                    label: FrameRecord::Chunk(n.to_string()),
                    reset_after: false,
                    gap: std::time::Duration::ZERO,
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
            assert_eq!(
                planned[1].label.to_string(),
                format!("{}:chunk:1", kind.name())
            );
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
            label: FrameRecord::Sse("ping".to_owned()),
            reset_after: false,
            gap: std::time::Duration::ZERO,
        }];
        apply(
            FrameFault::at(FrameFaultKind::BadMessageCrc, 0),
            Framing::ServerSentEvents,
            &mut planned,
        );
        assert_eq!(planned[0].label.to_string(), "bad_data:sse:ping");
        assert_eq!(
            &planned[0].bytes[..],
            b"event: ping\ndata: {\"type\": not json\n\n"
        );
    }
}
