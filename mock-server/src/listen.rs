//! Accepting connections: HTTP/1.1 on each, a bound on how long a client
//! may take to send what it owes and to read what it is sent, and a stop
//! that lets open requests end (for at most [`STOP_GRACE`]).
//!
//! `axum::serve` would do, but it sets no read timeout: a client that
//! opens a connection and sends its head a byte a minute would hold it
//! forever. Here hyper closes a connection whose request head is not
//! whole within [`ReadLimits::head`] (an idle keep-alive connection too,
//! as servers do), and the pipeline answers a body not whole within
//! [`ReadLimits::body`]. A client that stops reading would hold its
//! answer (a whole rendered stream) as long as it likes: a connection
//! whose writes make no progress for the write timeout is closed, and the
//! request it was answering gets `write-timeout` in the journal.
//!
//! A request followed by a half-close (`shutdown(SHUT_WR)`, as `curl` and
//! some proxies send) is answered: hyper's `half_close` is on, so the end
//! of the client's side does not end the request.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::journal::{FrameRecord, Journal};

/// How long a client may take to send a request, in real time (a fixed
/// clock does not move these: they bound the network, not the account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadLimits {
    /// From the first byte a connection waits for to the end of a
    /// request's head. Past it the connection is closed unanswered.
    pub head: Duration,
    /// From the head to the end of the body. Past it the request is
    /// answered 408 and the connection closed.
    pub body: Duration,
}

impl ReadLimits {
    /// Limits of `head` for a request's head and `body` for its body.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_mock_server::{MockBedrock, ReadLimits};
    ///
    /// let builder = MockBedrock::builder()
    ///     .read_limits(ReadLimits::new(Duration::from_secs(5), Duration::from_secs(10)));
    /// # drop(builder);
    /// ```
    pub fn new(head: Duration, body: Duration) -> Self {
        Self { head, body }
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            head: Duration::from_secs(60),
            body: Duration::from_secs(60),
        }
    }
}

/// Marks a response that must not be sent: the connection is closed
/// instead, the client left with no answer at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CloseUnanswered;

impl std::fmt::Display for CloseUnanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a rule closes the connection before the answer")
    }
}

impl std::error::Error for CloseUnanswered {}

/// Marks a response with the journal's number (`seq`) of the request it
/// answers, so that a write timeout is recorded on that request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answers(pub u64);

/// The app, except that a response marked [`CloseUnanswered`] becomes a
/// service error, on which hyper closes the connection without writing.
#[derive(Clone)]
struct Answering {
    app: TowerToHyperService<Router>,
    /// The request whose answer the connection is writing (0: none the
    /// journal has), for [`WriteDeadline`].
    writing: Arc<AtomicU64>,
}

impl hyper::service::Service<http::Request<Incoming>> for Answering {
    type Response = Response;
    type Error = CloseUnanswered;
    type Future = Pin<Box<dyn Future<Output = Result<Response, CloseUnanswered>> + Send>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let answer = self.app.call(request);
        let writing = Arc::clone(&self.writing);
        Box::pin(async move {
            let response = answer.await.unwrap_or_else(|never| match never {});
            let seq = response.extensions().get::<Answers>().map_or(0, |a| a.0);
            // HTTP/1.1 answers one request at a time on a connection: this
            // one is written next.
            writing.store(seq, Ordering::Relaxed);
            if response.extensions().get::<CloseUnanswered>().is_some() {
                Err(CloseUnanswered)
            } else {
                Ok(response)
            }
        })
    }
}

/// A connection's socket, whose writes may make no progress for at most
/// `limit` (real time): past it a write fails, hyper drops the
/// connection, and the request being answered gets `write-timeout` in the
/// journal. Only a write the client's window holds back counts: a stream
/// paced or stalled by a rule writes nothing and waits for no one.
struct WriteDeadline {
    tcp: TcpStream,
    limit: Duration,
    /// Runs while a write waits; made at the first wait.
    waiting: Option<Pin<Box<Sleep>>>,
    /// Whether `waiting` runs for the current wait (a write that makes
    /// progress ends the wait).
    armed: bool,
    writing: Arc<AtomicU64>,
    journal: Arc<Journal>,
}

impl WriteDeadline {
    /// `written` as the write's outcome, unless it is a wait past the
    /// limit.
    fn deadline<T>(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if written.is_ready() {
            self.armed = false;
            return written;
        }
        let limit = self.limit;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if !self.armed {
            waiting.as_mut().reset(Instant::now() + limit);
            self.armed = true;
        }
        if waiting.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let seq = self.writing.load(Ordering::Relaxed);
        if seq != 0 {
            self.journal.frame_sent(seq, FrameRecord::WriteTimeout);
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {} s", limit.as_secs_f64()),
        )))
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

/// `bufs` up to the end of the first HTTP chunk they hold, all of them if
/// none ends there. hyper queues a chunked body's chunks (each its size
/// line, its data and a `\r\n` of its own) and writes as many as it has
/// at once; written one chunk at a time, each of a stream's frames (a
/// chunk each, see `stream_body`) reaches the socket in its own write,
/// while hyper goes on writing, without waiting for the scheduler. A write
/// shorter than offered is ordinary: hyper writes the rest next. Data that
/// happens to be just `\r\n` only moves where one write ends.
fn up_to_one_chunk<'a, 'b>(bufs: &'a [io::IoSlice<'b>]) -> &'a [io::IoSlice<'b>] {
    match bufs.iter().position(|buf| **buf == *b"\r\n") {
        Some(end) => &bufs[..=end],
        None => bufs,
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.deadline(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write_vectored(cx, up_to_one_chunk(bufs));
        self.deadline(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    /// A socket's flush has nothing to wait for: it is no sign of progress.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// What bounds a connection: how long its client may take to send a
/// request, and to read an answer; and the journal that records a write
/// timeout.
#[derive(Clone)]
pub(crate) struct Bounds {
    pub read: ReadLimits,
    pub write: Duration,
    pub journal: Arc<Journal>,
}

/// Serves one connection until it ends or, once `closing` changes, until
/// its current request is answered.
async fn connection(tcp: TcpStream, app: Router, bounds: Bounds, mut closing: watch::Receiver<()>) {
    // Nagle's algorithm stays on, as `axum::serve` leaves it: every frame
    // is still its own write and HTTP chunk, and TCP_NODELAY (a segment
    // per frame) cost the mock_server bench 30 % (0.98 to 0.70 of a bare
    // socket's rate with one client).
    let writing = Arc::new(AtomicU64::new(0));
    let service = Answering {
        app: TowerToHyperService::new(app),
        writing: Arc::clone(&writing),
    };
    let io = WriteDeadline {
        tcp,
        limit: bounds.write,
        waiting: None,
        armed: false,
        writing,
        journal: bounds.journal,
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.read.head)
        // Without it hyper takes the end of the client's side, read while
        // the request is answered, for a broken request, and drops it.
        .half_close(true);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = closing.changed() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}

/// The most connections the kernel may hold accepted-but-not-yet-taken
/// for a listener (Linux caps it at `net.core.somaxconn`, 4096 by default
/// since 5.4). The standard library's `TcpListener::bind` asks for 128:
/// when 1,000 clients connect in the same millisecond, the SYNs past the
/// 128th are dropped (`ListenOverflows` in `nstat`) and those clients
/// retry a second later, served out of their order of arrival.
const BACKLOG: u32 = 4096;

/// A listener on `address` with room for [`BACKLOG`] connections waiting
/// to be accepted, address reuse on as the standard library sets it.
/// Needs a tokio runtime, as `TcpListener::from_std` does.
pub(crate) fn bind(address: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// Serves `app` on `listener` until `stop` fires, then stops accepting,
/// asks each open connection to close after its current request, and
/// returns once all have, or after [`STOP_GRACE`] with the rest cut.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: Bounds,
    stop: oneshot::Receiver<()>,
) {
    let (closing, closing_seen) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut stop = pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let closing = closing_seen.clone();
                    connections.spawn(connection(tcp, app.clone(), bounds.clone(), closing));
                }
                // Out of file descriptors, or a connection reset before it
                // was accepted: the listener itself is fine, so go on after
                // a moment instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = closing.send(());
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drained).await.is_err() {
        // A paced or dribbled answer can run for hours by design; a stop
        // waits for it no longer than this, then cuts what is left.
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// How long a stop lets open requests end before it cuts their
/// connections: one of the longest pauses a rule or pace may ask for.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use super::*;

    /// hyper's slices for a head and two chunks: `5\r\n`, the data, `\r\n`.
    #[test]
    fn a_write_goes_up_to_the_end_of_the_first_chunk() {
        let bufs = [
            IoSlice::new(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"),
            IoSlice::new(b"5\r\n"),
            IoSlice::new(b"hello"),
            IoSlice::new(b"\r\n"),
            IoSlice::new(b"3\r\n"),
            IoSlice::new(b"abc"),
            IoSlice::new(b"\r\n"),
        ];
        assert_eq!(up_to_one_chunk(&bufs).len(), 4);
        assert_eq!(up_to_one_chunk(&bufs[4..]).len(), 3);
        // The last chunk ends with the body's end: all of it goes.
        let last = [
            IoSlice::new(b"3\r\n"),
            IoSlice::new(b"abc"),
            IoSlice::new(b"\r\n0\r\n\r\n"),
        ];
        assert_eq!(up_to_one_chunk(&last).len(), 3);
        // A whole body (content-length) is one write.
        let whole = [
            IoSlice::new(b"HTTP/1.1 200 OK\r\n\r\n"),
            IoSlice::new(b"{}"),
        ];
        assert_eq!(up_to_one_chunk(&whole).len(), 2);
    }
}
