//! A response body that sends its frames one at a time, paced like a real
//! service, each flushed to the socket on its own.
//!
//! After each frame the body reports "not ready" once (and wakes itself):
//! hyper flushes what it has whenever the body is not ready, so even with
//! zero pacing every frame reaches the client in its own write instead of
//! all of them coalescing into one. A client's incremental parser is then
//! really exercised. [`Pace::Burst`] turns this off for throughput
//! benchmarks.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
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
        self.bytes.shrink_to_fit();
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
    yield_before_next: bool,
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
            yield_before_next: false,
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
            self.sleep = None;
        }
        if self.poll_stall(cx).is_pending() {
            return Poll::Pending;
        }
        if self.yield_before_next {
            self.yield_before_next = false;
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
        if self.gap.is_zero() || self.frames.is_empty() || self.reset {
            // A burst lets hyper gather frames into large writes.
            self.yield_before_next = !self.burst || self.reset;
        } else {
            self.sleep = Some(Box::pin(tokio::time::sleep(self.gap)));
        }
        Poll::Ready(Some(Ok(Frame::data(frame.bytes))))
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
