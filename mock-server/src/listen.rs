//! Accepting connections: HTTP/1.1 on each, a bound on how long a client
//! may take to send what it owes, and a stop that lets open requests end.
//!
//! `axum::serve` would do, but it sets no read timeout: a client that
//! opens a connection and sends its head a byte a minute would hold it
//! forever. Here hyper closes a connection whose request head is not
//! whole within [`ReadLimits::head`] (an idle keep-alive connection too,
//! as servers do), and the pipeline answers a body not whole within
//! [`ReadLimits::body`].

use std::future::Future;
use std::pin::{Pin, pin};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// How long a client may take to send a request, in real time (a fixed
/// clock does not move these: they bound the network, not the account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// From the first byte a connection waits for to the end of a
    /// request's head. Past it the connection is closed unanswered.
    pub head: Duration,
    /// From the head to the end of the body. Past it the request is
    /// answered 408 and the connection closed.
    pub body: Duration,
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

/// The app, except that a response marked [`CloseUnanswered`] becomes a
/// service error, on which hyper closes the connection without writing.
#[derive(Clone)]
struct Answering(TowerToHyperService<Router>);

impl hyper::service::Service<http::Request<Incoming>> for Answering {
    type Response = Response;
    type Error = CloseUnanswered;
    type Future = Pin<Box<dyn Future<Output = Result<Response, CloseUnanswered>> + Send>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer.await.unwrap_or_else(|never| match never {});
            if response.extensions().get::<CloseUnanswered>().is_some() {
                Err(CloseUnanswered)
            } else {
                Ok(response)
            }
        })
    }
}

/// Serves `app` on `listener` until `stop` fires, then stops accepting,
/// asks each open connection to close after its current request, and
/// returns once all have.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ReadLimits,
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
                    // Nagle's algorithm stays on, as `axum::serve` leaves
                    // it: every frame is still its own write and HTTP
                    // chunk, and TCP_NODELAY (a segment per frame) cost
                    // the mock_server bench 30 % (0.98 to 0.70 of a bare
                    // socket's rate with one client).
                    let service = Answering(TowerToHyperService::new(app.clone()));
                    let mut closing = closing_seen.clone();
                    connections.spawn(async move {
                        let mut builder = http1::Builder::new();
                        builder.timer(TokioTimer::new()).header_read_timeout(limits.head);
                        let mut connection = pin!(builder.serve_connection(TokioIo::new(tcp), service));
                        tokio::select! {
                            _ = connection.as_mut() => return,
                            _ = closing.changed() => connection.as_mut().graceful_shutdown(),
                        }
                        let _ = connection.await;
                    });
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
    while connections.join_next().await.is_some() {}
}
