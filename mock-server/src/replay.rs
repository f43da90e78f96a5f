//! A [`Recording`] planned as the server sends it: its events written by
//! the protocols' own writers (a chunk as the runtime writes its chunks,
//! an exception as its stream exceptions, a Server-Sent Event as Mantle
//! writes its events), each with its gap; a whole body as given.

use std::ops::DerefMut;

use bedrock_eventstream::bedrock::{Exception, encode_chunk_json, encode_exception};

use crate::api::{RecordedAnswer, RecordedPlan};
use crate::mantle::write_sse;
use crate::recorded::{EventKind, RecordedBody, RecordedEvent, RecordedKind, Recording};
use crate::rng::Rng;
use crate::stream_body::{FrameWriter, Framing, PlannedFrame};

/// What the server sends for `recording`; `rng` pads chunks that carry no
/// recorded padding. A stream without a `content-type` gets its framing's
/// headers; headers the server sends itself (`own`: `x-amzn-requestid`,
/// `date`, the endpoint's) keep the server's values.
pub(crate) fn plan<R: DerefMut<Target = Rng>>(
    recording: &Recording,
    own: &[&str],
    rng: impl FnOnce() -> R,
) -> RecordedAnswer {
    let mut headers: Vec<(String, String)> = Vec::new();
    let body = match &recording.body {
        RecordedBody::Whole(bytes) => RecordedPlan::Whole(bytes.clone()),
        RecordedBody::Events(events) => {
            let framing = match recording.event_kind() {
                Some(EventKind::ServerSentEvents) => Framing::ServerSentEvents,
                _ => Framing::EventStream,
            };
            if !recording.has_content_type() {
                headers.extend(
                    framing
                        .headers()
                        .map(|(name, value)| (name.to_owned(), value.to_owned())),
                );
            }
            RecordedPlan::Stream {
                framing,
                frames: stream_frames(events, rng),
            }
        }
    };
    headers.extend(
        recording
            .headers
            .iter()
            .filter(|(name, _)| !own.iter().any(|own| name.eq_ignore_ascii_case(own)))
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    RecordedAnswer {
        status: recording.status,
        headers,
        head_after: recording.head_after,
        body,
    }
}

/// A recorded stream's frames, each after its gap. `rng` pads the chunks
/// that carry no recorded padding: held for those draws only, not while
/// the frames are written (as `runtime::stream_frames` does).
fn stream_frames<R: DerefMut<Target = Rng>>(
    events: &[RecordedEvent],
    rng: impl FnOnce() -> R,
) -> Vec<PlannedFrame> {
    // The checks every rule passes refuse an event without a label
    // (unreadable, or larger than a frame may be), so none is skipped
    // here; were one not, it could not be written without breaking the
    // stream.
    let labelled: Vec<_> = events
        .iter()
        .filter_map(|event| Some((event, event.kind.label().ok()?)))
        .collect();
    let paddings: Vec<Option<&'static str>> = {
        let mut rng = rng();
        labelled
            .iter()
            .map(|(event, _)| match &event.kind {
                RecordedKind::Chunk { padding: None, .. } => Some(rng.padding()),
                _ => None,
            })
            .collect()
    };
    let mut frames = FrameWriter::default();
    for ((event, label), drawn) in labelled.into_iter().zip(paddings) {
        frames.push_after(event.after, label, |out| write(&event.kind, drawn, out));
    }
    frames.finish()
}

/// Writes `kind`, which [`RecordedKind::label`] accepted: within the
/// frame limits its encoders hold to. A chunk without recorded padding
/// takes `drawn`.
fn write(kind: &RecordedKind, drawn: Option<&str>, out: &mut Vec<u8>) {
    match kind {
        RecordedKind::Chunk { json, padding } => {
            let padding = padding
                .as_deref()
                .or(drawn)
                .expect("a chunk without recorded padding has one drawn");
            encode_chunk_json(json.as_bytes(), padding, out);
        }
        RecordedKind::Exception { exception, message } => {
            encode_exception(&Exception::new(exception.as_str(), message.as_str()), out);
        }
        RecordedKind::Frame(bytes) => out.extend_from_slice(bytes),
        RecordedKind::Sse { event, data } => write_sse(event.as_bytes(), data.as_bytes(), out),
    }
}
