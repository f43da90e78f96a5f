//! Faults in how an answer is delivered rather than in what it says: a
//! body sent a few bytes at a time, and a connection cut right after the
//! head. (A connection cut before the head is `listen`'s
//! [`CloseUnanswered`](crate::listen::CloseUnanswered); frame faults are
//! `frame_fault`'s.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body as AxumBody;
use bytes::Bytes;
use http_body::{Body, Frame};

use crate::rules::Dribble;

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
