//! A response body that sends its frames one at a time, paced like a real
//! service, each flushed to the socket on its own.
//!
//! After each frame the body reports "not ready" once (and wakes itself):
//! hyper flushes what it has whenever the body is not ready, so even with
//! zero pacing every frame reaches the client in its own write instead of
//! all of them coalescing into one. A client's incremental parser is then
//! really exercised. `Pace::burst` turns this off for throughput
//! benchmarks.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::journal::Journal;

/// One frame to send, with the label the journal records for it.
pub(crate) struct PlannedFrame {
    pub bytes: Bytes,
    pub label: String,
}

pub(crate) struct PacedBody {
    frames: VecDeque<PlannedFrame>,
    gap: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    yield_before_next: bool,
    burst: bool,
    journal: Arc<Journal>,
    seq: u64,
}

impl PacedBody {
    pub fn new(
        frames: Vec<PlannedFrame>,
        first_byte: Duration,
        gap: Duration,
        burst: bool,
        journal: Arc<Journal>,
        seq: u64,
    ) -> Self {
        Self {
            frames: frames.into(),
            gap,
            sleep: (!first_byte.is_zero()).then(|| Box::pin(tokio::time::sleep(first_byte))),
            yield_before_next: false,
            burst,
            journal,
            seq,
        }
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        if self.yield_before_next {
            self.yield_before_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let Some(frame) = self.frames.pop_front() else {
            return Poll::Ready(None);
        };
        self.journal.frame_sent(self.seq, frame.label);
        if self.gap.is_zero() || self.frames.is_empty() {
            // A burst lets hyper gather frames into large writes.
            self.yield_before_next = !self.burst;
        } else {
            self.sleep = Some(Box::pin(tokio::time::sleep(self.gap)));
        }
        Poll::Ready(Some(Ok(Frame::data(frame.bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: the response goes out chunked, like AWS's.
        SizeHint::default()
    }
}
