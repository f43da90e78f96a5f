//! A response body that sends its frames one at a time, paced like a real
//! service, each its own HTTP chunk.
//!
//! Each frame is handed to hyper as a chunk of its own, and the mock's
//! connections write one chunk per write (`listen`'s `WriteDeadline`): even
//! with zero pacing every frame reaches the socket in its own write instead
//! of coalescing with the next, and a client's incremental parser is really
//! exercised. The frames follow one another without a trip through the
//! scheduler in between, as a server writing them in a loop would.
//! [`Pace::Burst`] sends many frames to a chunk instead, for throughput
//! benchmarks.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

use crate::clock::Clock;
use crate::config::Pace;
use crate::journal::{FrameRecord, Journal};

/// A stall inside a stream: nothing for `duration` once `after_frames`
/// frames are out.
pub(crate) struct StreamStall {
    pub after_frames: usize,
    pub duration: Duration,
    /// The request, as the clock's timeline knows it.
    pub request: String,
}

/// How a stream's frames are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Bedrock's binary event stream.
    EventStream,
    /// Mantle's Server-Sent Events.
    ServerSentEvents,
}

impl Framing {
    /// The stream's `content-type` and the other headers its answers carry.
    pub(crate) fn headers(self) -> [(&'static str, &'static str); 2] {
        match self {
            Framing::EventStream => [
                ("content-type", "application/vnd.amazon.eventstream"),
                ("x-amzn-bedrock-content-type", "application/json"),
            ],
            Framing::ServerSentEvents => [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("cache-control", "no-cache"),
            ],
        }
    }
}

/// One frame to send, with what the journal records of it. Empty bytes
/// send nothing (a frame a fault left out) but are recorded.
#[derive(Clone)]
pub(crate) struct PlannedFrame {
    pub bytes: Bytes,
    pub label: FrameRecord,
    /// After this frame the connection is reset.
    pub reset_after: bool,
    /// The wait before it, on the server's clock (a recording's gap);
    /// nothing for the mock's own frames, which the config's pace spaces.
    pub gap: Duration,
}

/// A stream's frames written one after another into one buffer, each sent
/// as its own slice of it: a long stream (a reply of a MiB is some 80,000
/// frames) holds one allocation of its bytes, not one per frame, each
/// rounded up.
#[derive(Default)]
pub(crate) struct FrameWriter {
    bytes: Vec<u8>,
    /// Each frame's end in `bytes`, its record and the gap before it.
    frames: Vec<(usize, FrameRecord, Duration)>,
}

impl FrameWriter {
    /// A writer for about `frames` frames of about `frame_len` bytes each:
    /// room made once, not grown and copied a doubling at a time.
    pub fn with_capacity(frames: usize, frame_len: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(frames.saturating_mul(frame_len)),
            frames: Vec::with_capacity(frames),
        }
    }

    /// Adds the frame `write` appends to the buffer it is given.
    pub fn push(&mut self, label: FrameRecord, write: impl FnOnce(&mut Vec<u8>)) {
        self.push_after(Duration::ZERO, label, write);
    }

    /// Adds the frame `write` appends, sent `gap` after the one before.
    pub fn push_after(
        &mut self,
        gap: Duration,
        label: FrameRecord,
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        write(&mut self.bytes);
        self.frames.push((self.bytes.len(), label, gap));
    }

    pub fn finish(mut self) -> Vec<PlannedFrame> {
        // Shrinking copies the whole stream: worth it only for much room
        // left over (an estimate far off), which an open stream would hold.
        if self.bytes.capacity() - self.bytes.len() > self.bytes.len() / 4 {
            self.bytes.shrink_to_fit();
        }
        let bytes = Bytes::from(self.bytes);
        let mut start = 0;
        self.frames
            .into_iter()
            .map(|(end, label, gap)| {
                let frame = PlannedFrame {
                    bytes: bytes.slice(start..end),
                    label,
                    reset_after: false,
                    gap,
                };
                start = end;
                frame
            })
            .collect()
    }
}

pub(crate) struct PacedBody {
    frames: VecDeque<PlannedFrame>,
    gap: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The last pause's timer, over, kept to be set again: a paced stream
    /// then allocates one timer, not one per frame.
    spare_sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Polls still to answer "not ready" before the reset: see
    /// [`FLUSH_YIELDS`].
    flush_yields: u8,
    burst: bool,
    journal: Arc<Journal>,
    seq: u64,
    /// Frames and bytes sent so far.
    sent: usize,
    sent_bytes: u64,
    stall: Option<(StreamStall, Clock)>,
    stalling: Option<Pin<Box<dyn Future<Output = bool> + Send>>>,
    /// The client gave up during the stall: then nothing more is sent
    /// until the server stops.
    given_up: bool,
    /// A fault reset the connection after the last frame sent.
    reset: bool,
    stopped: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// The clock frames' gaps are waited on, and the request as its
    /// timeline knows it (see [`PacedBody::with_gaps`]).
    gaps: Option<(Clock, String)>,
    /// The gap before the next frame, under way.
    gap_wait: Option<Pin<Box<dyn Future<Output = bool> + Send>>>,
    /// The gap before the next frame is over.
    gap_waited: bool,
}

impl PacedBody {
    pub fn new(frames: Vec<PlannedFrame>, pace: Pace, journal: Arc<Journal>, seq: u64) -> Self {
        let (first_byte, gap, burst) = match pace {
            Pace::Paced {
                first_byte,
                between_events,
            } => (first_byte, between_events, false),
            Pace::Burst { first_byte } => (first_byte, Duration::ZERO, true),
        };
        Self {
            frames: frames.into(),
            gap,
            sleep: (!first_byte.is_zero()).then(|| Box::pin(tokio::time::sleep(first_byte))),
            spare_sleep: None,
            flush_yields: 0,
            burst,
            journal,
            seq,
            sent: 0,
            sent_bytes: 0,
            stall: None,
            stalling: None,
            given_up: false,
            reset: false,
            stopped: None,
            gaps: None,
            gap_wait: None,
            gap_waited: false,
        }
    }

    /// Waits each frame's gap on `clock` (as a stall, `request` keying it
    /// on a fixed clock's timeline, but not journaled as one); a client
    /// that gives up during a gap is journaled and sent nothing more, like
    /// one that gives up during a stall. `stopped` resolves when the server
    /// stops.
    pub fn with_gaps(
        mut self,
        clock: &Clock,
        request: String,
        stopped: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        if self.stopped.is_none() {
            self.stopped = Some(Box::pin(stopped));
        }
        self.gaps = Some((clock.clone(), request));
        self
    }

    /// Whether the gap before the next frame is over (and starts it).
    fn poll_gap(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let gap = match self.frames.front() {
            Some(frame) if !self.gap_waited && !frame.gap.is_zero() => frame.gap,
            _ => return Poll::Ready(()),
        };
        let Some((clock, request)) = &self.gaps else {
            return Poll::Ready(());
        };
        if self.gap_wait.is_none() {
            let gave_up = self.journal.gave_up_mark(self.seq);
            self.gap_wait =
                Some(clock.stall(request.clone(), Some(self.sent_bytes), gap, Some(gave_up)));
        }
        if let Some(stopped) = self.stopped.as_mut()
            && stopped.as_mut().poll(cx).is_ready()
        {
            self.gap_wait = None;
            self.frames.clear();
            return Poll::Ready(());
        }
        if let Some(waiting) = self.gap_wait.as_mut() {
            let over = ready!(waiting.as_mut().poll(cx));
            self.gap_wait = None;
            self.gap_waited = true;
            if !over {
                self.given_up = true;
                return Poll::Pending;
            }
        }
        Poll::Ready(())
    }

    /// Adds a stall, timed by `clock`; `stopped` resolves when the server
    /// stops.
    pub fn with_stall(
        mut self,
        stall: Option<StreamStall>,
        clock: &Clock,
        stopped: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        if stall.is_some() {
            self.stopped = Some(Box::pin(stopped));
        }
        self.stall = stall.map(|s| (s, clock.clone()));
        self
    }

    /// Whether the stall is due now (and starts it), or under way.
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.stalling.is_none()
            && let Some((stall, _)) = &self.stall
            && (self.sent >= stall.after_frames || self.frames.is_empty())
        {
            let (stall, clock) = self.stall.take().expect("checked above");
            self.journal.frame_sent(self.seq, FrameRecord::Stall);
            let gave_up = self.journal.gave_up_mark(self.seq);
            self.stalling = Some(clock.stall(
                stall.request,
                Some(self.sent_bytes),
                stall.duration,
                Some(gave_up),
            ));
        }
        if self.stalling.is_none() && !self.given_up {
            return Poll::Ready(());
        }
        // The stall, and the silence after a client gave up on it, end
        // when the server stops: its shutdown waits for no one.
        if let Some(stopped) = self.stopped.as_mut()
            && stopped.as_mut().poll(cx).is_ready()
        {
            self.stalling = None;
            self.given_up = false;
            self.frames.clear();
            return Poll::Ready(());
        }
        if self.given_up {
            // The client gave up first: like a server still stalling, send
            // nothing more.
            return Poll::Pending;
        }
        if let Some(stalling) = self.stalling.as_mut() {
            let over = ready!(stalling.as_mut().poll(cx));
            self.stalling = None;
            if !over {
                self.given_up = true;
                return Poll::Pending;
            }
        }
        Poll::Ready(())
    }
}

/// How many times a body answers "not ready" before an error that drops
/// the connection (a reset, a cut), so that what it sent before is on the
/// socket first. hyper writes its queue (up to 16 chunks) only while the
/// body is not ready, and the first such flush may find the task's tokio
/// budget (128 writes a poll) spent by the frames before; the second comes
/// in a poll of its own, with a fresh budget.
pub(crate) const FLUSH_YIELDS: u8 = 2;

/// The most a burst gathers into one chunk.
const BURST_CHUNK: usize = 64 * 1024;

impl PacedBody {
    /// Pauses `gap` before the next frame, on the spare timer if there is one.
    fn pause(&mut self, gap: Duration) {
        let deadline = tokio::time::Instant::now() + gap;
        self.sleep = Some(match self.spare_sleep.take() {
            Some(mut sleep) => {
                sleep.as_mut().reset(deadline);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        });
    }

    /// `first` and the frames after it that a burst sends with it, in one
    /// chunk of up to [`BURST_CHUNK`] bytes: up to a frame that waits, a
    /// reset, a frame a fault left out, or a stall's point. Each is
    /// journaled as it joins the chunk, so a rule's `cut` inside a burst's
    /// chunk leaves the journal showing that chunk's later frames too.
    fn gather(&mut self, first: Bytes) -> Bytes {
        let mut chunk: Option<BytesMut> = None;
        let mut len = first.len();
        while let Some(next) = self.frames.front() {
            let stall_due =
                matches!(&self.stall, Some((stall, _)) if self.sent >= stall.after_frames);
            if stall_due
                || next.reset_after
                || !next.gap.is_zero()
                || next.bytes.is_empty()
                || len + next.bytes.len() > BURST_CHUNK
            {
                break;
            }
            let Some(next) = self.frames.pop_front() else {
                break;
            };
            self.journal.frame_sent(self.seq, next.label);
            self.sent += 1;
            self.sent_bytes += next.bytes.len() as u64;
            len += next.bytes.len();
            chunk
                .get_or_insert_with(|| {
                    let mut chunk = BytesMut::with_capacity(BURST_CHUNK.min(len * 4));
                    chunk.extend_from_slice(&first);
                    chunk
                })
                .extend_from_slice(&next.bytes);
        }
        chunk.map_or(first, BytesMut::freeze)
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    /// Only a fault's reset: hyper then drops the connection without
    /// ending the chunked body.
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.spare_sleep = self.sleep.take();
        }
        if self.poll_stall(cx).is_pending() {
            return Poll::Pending;
        }
        if self.flush_yields > 0 {
            self.flush_yields -= 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.reset {
            // After the frames before it were flushed (the yield above):
            // the client has the head and those frames, then a broken
            // connection.
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "a rule's fault resets the connection",
            ))));
        }
        if self.poll_gap(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(frame) = self.frames.pop_front() else {
            return Poll::Ready(None);
        };
        self.gap_waited = false;
        self.journal.frame_sent(self.seq, frame.label);
        self.reset = frame.reset_after;
        if frame.bytes.is_empty() && !self.reset {
            // Left out by a fault: recorded, not sent.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.sent += 1;
        self.sent_bytes += frame.bytes.len() as u64;
        let bytes = if self.burst && !self.reset {
            self.gather(frame.bytes)
        } else {
            frame.bytes
        };
        if self.gap.is_zero() || self.frames.is_empty() || self.reset {
            // A reset waits for the frames before it to be flushed.
            if self.reset {
                self.flush_yields = FLUSH_YIELDS;
            }
        } else {
            let gap = self.gap;
            self.pause(gap);
        }
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && !self.reset
            && self.sleep.is_none()
            && self.stall.is_none()
            && self.stalling.is_none()
            && self.gap_wait.is_none()
            && !self.given_up
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: the response goes out chunked, like AWS's.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;
    use crate::journal::{JournalLimits, RecordedRequest};

    /// Frames `a`, `bb`, `ccc`... as a stream plans them.
    fn frames(count: usize) -> Vec<PlannedFrame> {
        let mut writer = FrameWriter::default();
        for n in 0..count {
            let byte = b'a' + n as u8;
            writer.push(FrameRecord::Chunk(format!("e{n}")), |out| {
                out.extend(std::iter::repeat_n(byte, n + 1))
            });
        }
        writer.finish()
    }

    /// The chunks `frames` go out in under `pace`, and the frames the
    /// journal recorded.
    async fn send(frames: Vec<PlannedFrame>, pace: Pace) -> (Vec<String>, Vec<String>) {
        let journal = Arc::new(Journal::new(JournalLimits::default()));
        let mut entry = RecordedRequest::new("POST", "/");
        entry.seq = 1;
        journal.push(entry);
        let body = PacedBody::new(frames, pace, Arc::clone(&journal), 1);
        let chunks = collect(body)
            .await
            .iter()
            .map(|data| String::from_utf8(data.to_vec()).unwrap())
            .collect();
        let recorded = journal.snapshot()[0]
            .frames
            .iter()
            .map(ToString::to_string)
            .collect();
        (chunks, recorded)
    }

    #[tokio::test]
    async fn paced_frames_go_one_to_a_chunk() {
        let (chunks, recorded) = send(frames(3), Pace::default()).await;
        assert_eq!(chunks, ["a", "bb", "ccc"]);
        assert_eq!(recorded, ["chunk:e0", "chunk:e1", "chunk:e2"]);
    }

    /// A burst gathers frames into one chunk, each journaled, but never
    /// past a frame that waits, one a fault left out, or a reset.
    #[tokio::test]
    async fn a_burst_gathers_frames_up_to_a_wait_a_gap_or_a_reset() {
        let (chunks, recorded) = send(frames(4), Pace::burst()).await;
        assert_eq!(chunks, ["abbcccdddd"]);
        assert_eq!(recorded.len(), 4);

        let mut waits = frames(4);
        waits[2].gap = Duration::from_millis(1);
        let clock = Clock::default();
        let journal = Arc::new(Journal::new(JournalLimits::default()));
        let body = PacedBody::new(waits, Pace::burst(), journal, 1).with_gaps(
            &clock,
            "POST /".into(),
            std::future::pending(),
        );
        let chunks: Vec<Bytes> = collect(body).await;
        assert_eq!(chunks, ["abb", "cccdddd"]);

        let mut left_out = frames(4);
        left_out[1].bytes = Bytes::new();
        let (chunks, recorded) = send(left_out, Pace::burst()).await;
        assert_eq!(chunks, ["a", "cccdddd"]);
        assert_eq!(recorded.len(), 4);

        let mut reset = frames(4);
        reset[1].reset_after = true;
        let journal = Arc::new(Journal::new(JournalLimits::default()));
        let mut body = PacedBody::new(reset, Pace::burst(), journal, 1);
        let mut sent = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => sent.push(frame.into_data().unwrap()),
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
                    break;
                }
            }
        }
        assert_eq!(sent, ["a", "bb"]);
    }

    async fn collect(mut body: PacedBody) -> Vec<Bytes> {
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            chunks.push(frame.unwrap().into_data().unwrap());
        }
        chunks
    }
}
