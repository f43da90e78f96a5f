//! A rule's [`Effects`] applied to the answer it bends, one step per
//! effect and in this order: a frame fault (`frame_fault`), a stall
//! inside the stream or before the head, the body dribbled, the
//! connection closed partway through the body, the connection cut. The
//! body wrappers of the last three are here; a connection cut before the
//! head is `listen`'s [`CloseUnanswered`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body as AxumBody;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body, Frame};

use crate::api::{Planned, RecordedAnswer, RecordedPlan};
use crate::effects::{Cut, Dribble, Effects, Reset, StallPoint};
use crate::frame_fault;
use crate::journal::{FrameRecord, Journal, RecordedRequest};
use crate::listen::CloseUnanswered;
use crate::state::Shared;
use crate::stream_body::{FLUSH_YIELDS, Framing, PlannedFrame, StreamStall};

/// A rendered answer, and the stall to wait out before its head goes.
pub(crate) struct Delivered<'a> {
    pub response: Response,
    pub stall_before_head: Option<HeadStall<'a>>,
}

/// A rule's stall before the response head, and a recorded answer's wait
/// before it (pacing, not journaled as a stall).
pub(crate) struct HeadStall<'a> {
    to: Recipient<'a>,
    /// The rule's stall (journaled), if it has one before the head.
    stall: Option<Duration>,
    pacing: Duration,
}

/// The request an answer is delivered to, as the effects need it.
#[derive(Clone)]
pub(crate) struct Recipient<'a> {
    /// The journal and the clock.
    pub shared: &'a Shared,
    /// The request's number in the journal.
    pub seq: u64,
    /// The request as sent, which keys a stall on the clock's timeline.
    pub request_line: String,
}

/// Renders `planned` (with `render`) with `effects` applied; `record` is
/// the journal's entry, not yet in the journal.
pub(crate) fn deliver<'a>(
    effects: &Effects,
    mut planned: Planned,
    to: Recipient<'a>,
    record: &mut RecordedRequest,
    render: impl FnOnce(Planned, Option<StreamStall>, &mut RecordedRequest) -> Response,
) -> Delivered<'a> {
    // Every effect is named here, so a new one cannot be left unapplied.
    let Effects {
        stall,
        fault,
        reset,
        dribble,
        cut: cut_after,
    } = effects;
    if let (Some(fault), Some((framing, frames))) = (fault, frames_of(&mut planned)) {
        frame_fault::apply(*fault, framing, frames);
    }
    let in_stream = frames_of(&mut planned).is_some();
    let pacing = match planned {
        Planned::Recorded(RecordedAnswer { head_after, .. }) => head_after,
        _ => Duration::ZERO,
    };
    let journal = Arc::clone(&to.shared.journal);
    let seq = to.seq;
    let (stall_before_head, stream_stall) = match stall {
        Some(stall) => match stall.at {
            StallPoint::AfterEvents(after_frames) if in_stream => (
                HeadStall::pacing(to.clone(), pacing),
                Some(StreamStall {
                    after_frames,
                    duration: stall.duration(),
                    request: to.request_line,
                }),
            ),
            _ => (
                Some(HeadStall {
                    to,
                    stall: Some(stall.duration()),
                    pacing,
                }),
                None,
            ),
        },
        None => (HeadStall::pacing(to, pacing), None),
    };
    let mut response = render(planned, stream_stall, record);
    if let Some(dribble) = *dribble {
        response = response.map(|body| AxumBody::new(Dribbled::new(body, dribble)));
    }
    if let Some(cut) = *cut_after {
        response = response.map(|body| AxumBody::new(CutAfterBytes::new(body, cut, journal, seq)));
    }
    Delivered {
        response: cut(*reset, response, record),
        stall_before_head,
    }
}

/// A streamed answer's framing and frames (the mock's own, or a
/// recording's); `None` for a whole one.
fn frames_of(planned: &mut Planned) -> Option<(Framing, &mut Vec<PlannedFrame>)> {
    match planned {
        Planned::Stream {
            framing, frames, ..
        }
        | Planned::Recorded(RecordedAnswer {
            body: RecordedPlan::Stream { framing, frames },
            ..
        }) => Some((*framing, frames)),
        _ => None,
    }
}

/// A rule's reset: nothing sent at all, or the head and then nothing.
fn cut(reset: Option<Reset>, mut response: Response, record: &mut RecordedRequest) -> Response {
    match reset {
        Some(Reset::BeforeHead) => {
            record.status = None;
            record.error_type = None;
            record.error_message = None;
            record.frames.push(FrameRecord::Reset);
            response.extensions_mut().insert(CloseUnanswered);
            response
        }
        Some(Reset::AfterHead) => {
            // The body planned (frames included) is never sent.
            record.frames.push(FrameRecord::Reset);
            response.map(|_| AxumBody::new(CutAfterHead::default()))
        }
        None => response,
    }
}

impl<'a> HeadStall<'a> {
    /// A recorded answer's wait before its head alone, if it has one.
    fn pacing(to: Recipient<'a>, pacing: Duration) -> Option<Self> {
        (!pacing.is_zero()).then_some(Self {
            to,
            stall: None,
            pacing,
        })
    }

    /// Waits the stall out, the request already in the journal (a request
    /// that is stalling shows there), then the pacing (not journaled).
    pub(crate) async fn wait(self) {
        let Recipient {
            shared,
            seq,
            request_line,
        } = self.to;
        if self.stall.is_some() {
            shared.journal.frame_sent(seq, FrameRecord::Stall);
        }
        let duration = self.stall.unwrap_or_default() + self.pacing;
        // The stall, and the silence after a client gave up on it, end
        // when the server stops: its shutdown waits for no one.
        let stopped = shared.stopped();
        tokio::pin!(stopped);
        let gave_up = shared.journal.gave_up_mark(seq);
        let stall = shared
            .clock
            .stall(request_line, None, duration, Some(gave_up));
        let over = tokio::select! {
            over = stall => over,
            () = &mut stopped => true,
        };
        if !over {
            // The client gave up first: like a server still stalling, send
            // nothing (the connection's close may drop this sooner).
            stopped.await;
        }
    }
}

/// `inner`'s bytes, `piece` at a time, a pause between pieces.
pub(crate) struct Dribbled {
    inner: AxumBody,
    pending: Bytes,
    piece: usize,
    every: Duration,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Dribbled {
    pub fn new(inner: AxumBody, dribble: Dribble) -> Self {
        Self {
            inner,
            pending: Bytes::new(),
            piece: dribble.bytes.max(1),
            every: Duration::from_millis(dribble.every_ms),
            pause: None,
        }
    }
}

impl Body for Dribbled {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                if let Some(pause) = &mut this.pause {
                    ready!(pause.as_mut().poll(cx));
                    this.pause = None;
                }
                let n = this.piece.min(this.pending.len());
                let piece = this.pending.split_to(n);
                if !this.every.is_zero() {
                    this.pause = Some(Box::pin(tokio::time::sleep(this.every)));
                }
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    // Trailers pass as they are.
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return Poll::Ready(other),
            }
        }
    }
}

/// `inner`'s first `cut.after_bytes` bytes, then a failure, which makes
/// hyper close the connection: the client has part of the body (part of
/// a frame, if that is where the bytes end) and then nothing. The cut goes
/// in the journal when it happens; a body no longer than the limit ends
/// as it would have.
pub(crate) struct CutAfterBytes {
    inner: AxumBody,
    /// Bytes still to send before the cut.
    left: u64,
    /// The journal entry the cut goes in, until it is written.
    record: Option<(Arc<Journal>, u64)>,
    after_bytes: u64,
    /// Polls still to answer "not ready" once the last bytes went out, so
    /// hyper flushes them ([`FLUSH_YIELDS`]).
    flush_yields: u8,
}

impl CutAfterBytes {
    pub fn new(inner: AxumBody, cut: Cut, journal: Arc<Journal>, seq: u64) -> Self {
        Self {
            inner,
            left: cut.after_bytes,
            record: Some((journal, seq)),
            after_bytes: cut.after_bytes,
            flush_yields: FLUSH_YIELDS,
        }
    }

    /// The failure that closes the connection, journalled once.
    fn cut(&mut self) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Some((journal, seq)) = self.record.take() {
            journal.frame_sent(seq, FrameRecord::Cut(self.after_bytes));
        }
        Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "a rule closes the connection partway through the body",
        )))))
    }
}

impl Body for CutAfterBytes {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.left == 0 {
            if this.flush_yields > 0 {
                // Not ready: hyper writes out what it has before it polls
                // again.
                this.flush_yields -= 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            return this.cut();
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                    if len >= this.left {
                        // `left` is below `data.len()`, so it fits a usize.
                        data.truncate(usize::try_from(this.left).unwrap_or(usize::MAX));
                        this.left = 0;
                    } else {
                        this.left -= len;
                    }
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => Poll::Ready(other),
        }
    }

    /// The whole body's size: a whole answer keeps its `content-length`,
    /// so the client knows it got less than was promised.
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A body that lets the head go out, then fails, which makes hyper cut
/// the connection: the client has a status and headers and then nothing.
#[derive(Default)]
pub(crate) struct CutAfterHead {
    head_flushed: bool,
}

impl Body for CutAfterHead {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if !self.head_flushed {
            // Not ready once: hyper writes out what it has (the head)
            // before it polls again.
            self.head_flushed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "a rule cuts the connection after the head",
        ))))
    }
}
