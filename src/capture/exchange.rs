//! What a capture holds before it becomes a scenario: each request as the
//! client sent it and its answer as it arrived, piece by piece with the
//! time of each piece. The proxy (`record`) and every importer
//! (`import`: a HAR file, a proxy log, an event-stream body) produce
//! these; `write` turns them into rules and expectations.
//!
//! Nothing here is redacted yet: an [`Exchange`] lives in memory only,
//! and `write` redacts as it writes.

use std::time::Duration;

use bytes::Bytes;

/// One request and what came back.
///
/// ```
/// use std::time::Duration;
/// use bedrock_harness::capture::exchange::{Answered, BodyEnd, Exchange, Outcome, Piece};
///
/// let answer = Answered::new(Duration::from_millis(40), 200, vec![("content-type".into(), "application/json".into())])
///     .piece(Piece::new(Duration::ZERO, &b"{}"[..]))
///     .ended(BodyEnd::Complete);
/// let exchange = Exchange::new("GET", "/inference-profiles", Outcome::Answered(answer));
/// assert_eq!(exchange.started, Duration::ZERO);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Exchange {
    /// When the request started, from the first request of the session.
    pub started: Duration,
    /// `POST`, `GET`.
    pub method: String,
    /// The path as the client sent it (percent-encoded as it was).
    pub path: String,
    /// The query as sent, without `?`; empty when there was none.
    pub query: String,
    /// The request's headers in the order they came, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The request's body.
    pub body: Bytes,
    /// What came back.
    pub outcome: Outcome,
}

/// What came back for a request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// An answer's head arrived.
    Answered(Answered),
    /// No head arrived: the connection was refused, reset or closed first,
    /// `after` the request was sent.
    NoAnswer {
        /// How long after the request the connection failed.
        after: Duration,
        /// Why, as the transport said it.
        why: String,
    },
    /// The client went away before the answer's head came, `after` the
    /// request was sent (it gave up waiting).
    ClientLeft {
        /// How long the client waited.
        after: Duration,
    },
}

/// An answer as it arrived.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Answered {
    /// How long after the request its head came (time to first byte).
    pub head_after: Duration,
    /// The status.
    pub status: u16,
    /// The answer's headers in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body's pieces in order, each with how long after the head it
    /// arrived. Streams arrive in many; a HAR's body is one.
    pub pieces: Vec<Piece>,
    /// How the body ended.
    pub end: BodyEnd,
}

/// A piece of an answer's body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Piece {
    /// When it arrived, from the answer's head.
    pub at: Duration,
    /// Its bytes.
    pub bytes: Bytes,
}

/// How an answer's body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyEnd {
    /// It ended as HTTP says a body ends.
    Complete,
    /// The connection broke before the body's end (a reset, a body
    /// shorter than its length, an aborted chunked body), `at` after the
    /// head.
    Broken {
        /// When, from the answer's head.
        at: Duration,
    },
    /// The client went away before the body's end (it gave up reading),
    /// `at` after the head.
    ClientLeft {
        /// When, from the answer's head.
        at: Duration,
    },
}

impl Exchange {
    /// A request with no query, headers or body, started at the session's
    /// start; set the rest with the `with_…` methods or the fields.
    pub fn new(method: impl Into<String>, path: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            started: Duration::ZERO,
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: Vec::new(),
            body: Bytes::new(),
            outcome,
        }
    }

    /// The same request, with these headers (names lower-case).
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    /// The same request, with this body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The same request, started `at` into the session.
    pub fn started_at(mut self, at: Duration) -> Self {
        self.started = at;
        self
    }

    /// The value of request header `name` (lower-case), the first if
    /// repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl Answered {
    /// An answer whose head came `head_after` the request, with no body
    /// yet, complete.
    pub fn new(head_after: Duration, status: u16, headers: Vec<(String, String)>) -> Self {
        Self {
            head_after,
            status,
            headers,
            pieces: Vec::new(),
            end: BodyEnd::Complete,
        }
    }

    /// The same answer, with one more piece of body.
    pub fn piece(mut self, piece: Piece) -> Self {
        self.pieces.push(piece);
        self
    }

    /// The same answer, ended so.
    pub fn ended(mut self, end: BodyEnd) -> Self {
        self.end = end;
        self
    }

    /// The value of answer header `name` (lower-case), the first if
    /// repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The whole body, the pieces joined.
    pub fn body(&self) -> Bytes {
        match self.pieces.as_slice() {
            [one] => one.bytes.clone(),
            pieces => pieces
                .iter()
                .flat_map(|p| p.bytes.iter().copied())
                .collect::<Vec<u8>>()
                .into(),
        }
    }
}

impl Piece {
    /// `bytes` that arrived `at` after the head.
    pub fn new(at: Duration, bytes: impl Into<Bytes>) -> Self {
        Self {
            at,
            bytes: bytes.into(),
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
