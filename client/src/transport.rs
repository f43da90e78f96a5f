//! One HTTP client for every endpoint: HTTP/1.1 over plain TCP or TLS
//! (rustls, the Mozilla root set), connections pooled, a time limit per
//! call, headers sent in the order given.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::{Error, ErrorKind};

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

/// A response whose body has not been read yet (streams are read as they
/// arrive).
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    body: Incoming,
}

/// The pooled HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
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
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends `request`; the response head must arrive within `limit`.
    pub async fn send(&self, request: Outgoing, limit: Duration) -> Result<Response, Error> {
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
        let response = tokio::time::timeout(limit, self.client.request(http_request))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no answer from {} within {} s",
                        request.url,
                        limit.as_secs_f64()
                    ),
                )
            })?
            .map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    format!("request to {} failed: {}", request.url, describe(&e)),
                )
            })?;
        let (parts, body) = response.into_parts();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
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
        let collected = tokio::time::timeout(limit, Limited::new(self.body, max).collect())
            .await
            .map_err(|_| {
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
        Ok(collected.to_bytes())
    }

    /// The body, for reading as it arrives.
    pub fn into_body(self) -> Incoming {
        self.body
    }
}
