//! One HTTP client for every endpoint: HTTP/1.1 over plain TCP or TLS
//! (rustls, the Mozilla root set), connections pooled, a time limit per
//! call, headers sent in the order given.
//!
//! Time limits are real time unless the client is given other
//! [`Deadlines`]: a test running the client on a virtual clock shared with
//! an in-process fake server lets that clock decide when a wait on a
//! stalled answer gives up, so a 600-second stall costs no real time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::clock::{Deadlines, RealTime};
use crate::error::{Error, ErrorKind};
use crate::trace::Trace;

/// A request as it goes on the wire. `Debug` shows header names only: the
/// values include signatures, tokens and keys.
#[derive(Clone)]
pub struct Outgoing {
    /// `GET`, `POST`.
    pub method: http::Method,
    /// The whole URL.
    pub url: String,
    /// Headers in the order to send them (`host` included when signed).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// What an answer is waited for with: the deadlines, and the request they
/// are for.
#[derive(Clone)]
struct Waiting {
    deadlines: Arc<dyn Deadlines>,
    request: Arc<str>,
    trace: Option<Trace>,
}

impl Waiting {
    /// `work`'s output, or `None` when `limit` ran out first (`received`:
    /// see [`Deadlines::give_up`]).
    async fn within<F: Future>(
        &self,
        limit: Duration,
        received: Option<u64>,
        work: F,
    ) -> Option<F::Output> {
        let give_up = self.deadlines.give_up(&self.request, received, limit);
        tokio::select! {
            biased;
            done = work => Some(done),
            () = give_up => None,
        }
    }
}

impl std::fmt::Debug for Waiting {
    /// The method and path, without the query (it may hold a credential).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.request.split('?').next().unwrap_or_default())
    }
}

/// A response whose body has not been read yet (streams are read as they
/// arrive).
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    body: Incoming,
    waiting: Waiting,
}

/// A response body read as it arrives, each piece within a time limit.
#[derive(Debug)]
pub struct ResponseBody {
    body: Incoming,
    waiting: Waiting,
    received: u64,
}

impl ResponseBody {
    /// The next piece of data, or `None` at the body's end. A `Timeout`
    /// error when nothing came within `idle_limit`, a `Connection` error
    /// when the body broke.
    pub async fn next_data(&mut self, idle_limit: Duration) -> Result<Option<Bytes>, Error> {
        loop {
            let frame = self
                .waiting
                .within(idle_limit, Some(self.received), self.body.frame())
                .await
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("nothing arrived for {} s", idle_limit.as_secs_f64()),
                    )
                })?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::new(ErrorKind::Connection, e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.received += data.len() as u64;
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// The pooled HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    deadlines: Arc<dyn Deadlines>,
    trace: Option<Trace>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// A client for `http://` and `https://` URLs.
    pub fn new() -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            // hyper-util would resend a request on a reused connection
            // that closed before answering, silently and at once. The CLI's
            // Node stack does not: the connection error reaches the
            // Anthropic SDK, which retries it with backoff as a new
            // request. So every such failure goes to the client's retry
            // loop.
            client: Client::builder(TokioExecutor::new())
                .retry_canceled_requests(false)
                .build(connector),
            deadlines: Arc::new(RealTime),
            trace: None,
        }
    }

    /// The same client, writing every request and answer head to `trace`.
    pub(crate) fn with_trace(mut self, trace: Option<Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// Runs `requests` (each sending on this client) at once, as the
    /// startup probes go, and returns their outputs in order. With
    /// deadlines on a virtual clock, the clock is held until every request
    /// has been sent and is being waited on, so a stall on the first
    /// cannot move time before the last is sent.
    pub(crate) async fn all_at_once<F: Future>(&self, requests: Vec<F>) -> Vec<F::Output> {
        let mut hold = Some(self.deadlines.hold());
        let mut all = std::pin::pin!(futures_util::future::join_all(requests));
        std::future::poll_fn(|cx| {
            let polled = all.as_mut().poll(cx);
            // One poll sends every request: each is now done or waited on.
            hold = None;
            polled
        })
        .await
    }

    /// The same client, its time limits decided by `deadlines`.
    pub fn with_deadlines(mut self, deadlines: Arc<dyn Deadlines>) -> Self {
        self.deadlines = deadlines;
        self
    }

    /// Sends `request`; the response head must arrive within `limit`.
    pub(crate) async fn send(&self, request: Outgoing, limit: Duration) -> Result<Response, Error> {
        let url = request.url.clone();
        let http_request = self.build(request)?;
        let waiting = Waiting {
            trace: self.trace.clone(),
            deadlines: Arc::clone(&self.deadlines),
            request: Arc::from(format!(
                "{} {}",
                http_request.method(),
                http_request
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
            )),
        };
        let response = waiting
            .head(&url, limit, self.client.request(http_request))
            .await?;
        let (parts, body) = response.into_parts();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            waiting,
        })
    }

    /// `request` as hyper takes it, written to the trace log.
    fn build(&self, request: Outgoing) -> Result<http::Request<Full<Bytes>>, Error> {
        let body_bytes = request.body.len();
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder.body(Full::new(request.body)).map_err(|e| {
            Error::new(
                ErrorKind::Request,
                format!("the request to {} is not valid HTTP: {e}", request.url),
            )
        })?;
        if let Some(trace) = &self.trace {
            trace.request(
                http_request.method().as_str(),
                &request.url,
                &request.headers,
                body_bytes,
            );
        }
        Ok(http_request)
    }
}

impl Waiting {
    /// The answer's head to the request `sent` is sending to `url`, within
    /// `limit`; the head, or why there is none, goes to the trace log.
    async fn head<F, E>(
        &self,
        url: &str,
        limit: Duration,
        sent: F,
    ) -> Result<http::Response<Incoming>, Error>
    where
        F: Future<Output = Result<http::Response<Incoming>, E>>,
        E: std::error::Error + 'static,
    {
        let response = self
            .within(limit, None, sent)
            .await
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("no answer from {url} within {} s", limit.as_secs_f64()),
                )
            })
            .and_then(|sent| {
                sent.map_err(|e| {
                    Error::new(
                        ErrorKind::Connection,
                        format!("request to {url} failed: {}", describe(&e)),
                    )
                })
            });
        match (&self.trace, &response) {
            (Some(trace), Ok(head)) => {
                trace.response(&self.request, head.status().as_u16(), head.headers())
            }
            (Some(trace), Err(e)) => trace.failed(&self.request, &e.to_string()),
            (None, _) => {}
        }
        response
    }
}

/// The innermost cause: "connection refused" says more than hyper's
/// "client error (Connect)".
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

impl Response {
    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads the whole body, at most `max` bytes, within `limit`.
    pub async fn bytes(self, max: usize, limit: Duration) -> Result<Bytes, Error> {
        let trace = (self.status >= 400)
            .then(|| self.waiting.trace.clone())
            .flatten()
            .map(|t| (t, Arc::clone(&self.waiting.request)));
        let collected = self
            .waiting
            .within(limit, Some(0), Limited::new(self.body, max).collect())
            .await
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the response body did not finish within {} s",
                        limit.as_secs_f64()
                    ),
                )
            })?
            .map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    format!("the response body could not be read: {e}"),
                )
            })?;
        let bytes = collected.to_bytes();
        if let Some((trace, request)) = trace {
            trace.error_body(&request, &bytes);
        }
        Ok(bytes)
    }

    /// The body, for reading as it arrives.
    pub fn into_body(self) -> ResponseBody {
        ResponseBody {
            body: self.body,
            waiting: self.waiting,
            received: 0,
        }
    }
}

#[cfg(test)]
mod tests;
