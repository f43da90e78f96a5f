//! `record`'s proxy: the client's endpoints point here; each request is
//! signed again for the real endpoint with the recorder's own AWS
//! credentials (a bearer key passes as it is), forwarded, and its answer
//! streamed back unchanged as it comes, every piece timed, so the session
//! can be written as a scenario when it ends.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bedrock_mock_server::{Operation, frames_the_body, identify, is_hop_by_hop};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::exchange::{Answered, BodyEnd, Exchange, Outcome, Piece};
use crate::scenario::transit::{NoAnswer, SigV4Scope, Signing, amz_date, signature_headers};

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upstream {
    /// Each service's regional AWS endpoint (the runtime, the control
    /// plane, Mantle, STS, the SSO portal), in the request's region.
    Aws,
    /// One base URL for everything (`serve`, a gateway), paths kept.
    Url(String),
}

/// What is handed each exchange as it ends.
pub type ExchangeSink = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// How to record.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordOptions {
    /// Where requests go.
    pub upstream: Upstream,
    /// The region of a request that does not say (a bearer key's).
    pub region: String,
    /// Who signs the forwarded requests: the AWS credential chain's when
    /// `None` (environment, profile, SSO, …, as `aws-sigv4-proxy` does).
    pub credentials: Option<Credentials>,
    /// Each finished exchange is handed here too (the proxy log).
    pub on_exchange: Option<ExchangeSink>,
}

impl RecordOptions {
    /// To AWS in `region`, signed by the credential chain.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            upstream: Upstream::Aws,
            region: region.into(),
            credentials: None,
            on_exchange: None,
        }
    }

    /// Everything to one base URL.
    pub fn upstream_url(mut self, url: impl Into<String>) -> Self {
        self.upstream = Upstream::Url(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Signs with these credentials instead of the chain's.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Hands each finished exchange to `sink` as well.
    pub fn on_exchange(mut self, sink: impl Fn(&Exchange) + Send + Sync + 'static) -> Self {
        self.on_exchange = Some(Arc::new(sink));
        self
    }
}

/// Why recording could not start.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecordError {
    /// What kind of failure.
    pub kind: RecordErrorKind,
    /// What went wrong and what to do.
    pub message: String,
}

/// The kinds of [`RecordError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordErrorKind {
    /// The port could not be listened on (taken, or not allowed).
    Listen,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RecordError {}

/// A running recording proxy on 127.0.0.1.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use bedrock_harness::capture::proxy::{RecordOptions, Recorder};
/// use bedrock_harness::capture::write::{WriteOptions, write};
///
/// let recorder = Recorder::start(RecordOptions::new("us-east-1"), 0).await?;
/// // Point the client's endpoints at recorder.uri(), run the session…
/// let exchanges = recorder.finish().await;
/// let written = write(&exchanges, &WriteOptions::new("my-case"));
/// std::fs::write("case.toml", written.toml)?;
/// # Ok(()) }
/// ```
pub struct Recorder {
    uri: String,
    session: Arc<Session>,
    task: tokio::task::JoinHandle<()>,
}

/// What every connection shares.
struct Session {
    options: RecordOptions,
    signer: Option<SharedCredentialsProvider>,
    client: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    began: Instant,
    finished: Mutex<Vec<Exchange>>,
    in_flight: tokio::sync::watch::Sender<usize>,
    /// Set when the session ends: connections still open are closed, and
    /// what was under way on them recorded as it stood.
    stop: tokio::sync::watch::Sender<bool>,
    /// The recorder's credentials, until they near their expiry: the
    /// chain's provider does not cache them itself.
    credentials: tokio::sync::Mutex<Option<Credentials>>,
}

impl Recorder {
    /// Starts the proxy on 127.0.0.1:`port` (0: any free port). Without
    /// explicit credentials it sets up the AWS credential chain here; the
    /// credentials are fetched at the first SigV4 request and kept until
    /// they near their expiry.
    pub async fn start(options: RecordOptions, port: u16) -> Result<Self, RecordError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| RecordError {
                kind: RecordErrorKind::Listen,
                message: format!(
                    "record: could not listen on 127.0.0.1:{port}: {e}; choose another --port"
                ),
            })?;
        let address = listener.local_addr().map_err(|e| RecordError {
            kind: RecordErrorKind::Listen,
            message: format!("record: {e}"),
        })?;
        let signer = match &options.credentials {
            Some(c) => Some(SharedCredentialsProvider::new(c.clone())),
            None => chain(&options.region).await,
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let session = Arc::new(Session {
            options,
            signer,
            client: Client::builder(TokioExecutor::new())
                .retry_canceled_requests(false)
                .build(connector),
            began: Instant::now(),
            finished: Mutex::new(Vec::new()),
            in_flight: tokio::sync::watch::Sender::new(0),
            stop: tokio::sync::watch::Sender::new(false),
            credentials: tokio::sync::Mutex::new(None),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&session)));
        Ok(Self {
            uri: format!("http://{address}"),
            session,
            task,
        })
    }

    /// The URL to point the client's endpoints at.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// How many exchanges have finished so far.
    pub fn finished(&self) -> usize {
        self.session.finished.lock().map_or(0, |f| f.len())
    }

    /// Stops taking connections, lets the exchanges under way end (up to
    /// five seconds), then closes the connections still open: what was
    /// under way on them is kept as it stood (an answer that never came, a
    /// stream still running: often the very symptom). Returns every
    /// exchange in the order they began.
    pub async fn finish(self) -> Vec<Exchange> {
        self.task.abort();
        let mut watch = self.session.in_flight.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(5), watch.wait_for(|n| *n == 0)).await;
        self.session.stop.send_replace(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), watch.wait_for(|n| *n == 0)).await;
        let mut exchanges = std::mem::take(
            &mut *self
                .session
                .finished
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        exchanges.sort_by_key(|e| e.started);
        exchanges
    }
}

/// The credential chain's provider (`None` only where the AWS config
/// has no credential provider at all); whether it finds credentials is
/// known at the first SigV4 request, which is refused saying so when it
/// does not.
async fn chain(region: &str) -> Option<SharedCredentialsProvider> {
    // The chain's own calls (SSO, STS, the instance metadata) go over
    // the same rustls-on-ring HTTPS the client uses.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(region.to_owned()))
        .http_client(http)
        .load()
        .await;
    config.credentials_provider()
}

async fn accept(listener: tokio::net::TcpListener, session: Arc<Session>) {
    loop {
        // A failed accept (too many open files, a connection aborted
        // while queued) ends no session: the next one is waited for.
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut stop = session.stop.subscribe();
        let session = Arc::clone(&session);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let session = Arc::clone(&session);
                async move { session.pass_on(request).await }
            });
            // An upstream connection that broke before its head breaks the
            // client's too: the service's error closes it unanswered.
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service);
            tokio::select! {
                _ = connection => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        });
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Dropped without `finish`: stop listening and close what is open.
        self.task.abort();
        self.session.stop.send_replace(true);
    }
}

/// A body passed back as it comes.
type Passed = Response<BoxBody<Bytes, hyper::Error>>;

/// An exchange under way: finished into the session when its answer ends
/// (or it is dropped: the client went away).
struct Pending {
    session: Arc<Session>,
    exchange: Option<Exchange>,
    sent_at: Instant,
}

impl Pending {
    fn new(session: &Arc<Session>, exchange: Exchange) -> Self {
        session.in_flight.send_modify(|n| *n += 1);
        Self {
            session: Arc::clone(session),
            exchange: Some(exchange),
            sent_at: Instant::now(),
        }
    }

    /// Not recorded: the recorder refused the request itself.
    fn discard(&mut self) {
        if self.exchange.take().is_some() {
            self.session
                .in_flight
                .send_modify(|n| *n = n.saturating_sub(1));
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if let Some(mut exchange) = self.exchange.take() {
            exchange.outcome = outcome;
            if let Some(sink) = &self.session.options.on_exchange {
                sink(&exchange);
            }
            if let Ok(mut finished) = self.session.finished.lock() {
                finished.push(exchange);
            }
            self.session
                .in_flight
                .send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let after = self.sent_at.elapsed();
        self.finish(Outcome::ClientLeft { after });
    }
}

impl Session {
    async fn pass_on(self: Arc<Self>, request: Request<Incoming>) -> Result<Passed, NoAnswer> {
        let started = self.began.elapsed();
        let (parts, body) = request.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_REQUEST_BODY)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Ok(refused(&format!(
                    "the request's body is over {} MiB, more than Bedrock takes",
                    MAX_REQUEST_BODY >> 20
                )));
            }
            Err(e) => return Err(NoAnswer(format!("the client's body: {e}"))),
        };
        let exchange = captured(started, &parts, body);
        // Counted from here: a session that ends while the credentials
        // load still waits for this request.
        let mut pending = Pending::new(&self, exchange.clone());
        let forwarded = match self.target(&exchange) {
            Ok(target) => self.forward(&exchange, &target).await,
            Err(why) => Err(why),
        };
        let forwarded = match forwarded {
            Ok(forwarded) => forwarded,
            Err(why) => {
                pending.discard();
                return Ok(refused(&why));
            }
        };
        pending.sent_at = Instant::now();
        match self.client.request(forwarded).await {
            Ok(answer) => Ok(recorded_answer(answer, pending)),
            Err(e) => {
                let after = pending.sent_at.elapsed();
                let why = format!("the upstream gave no answer: {e}");
                pending.finish(Outcome::NoAnswer {
                    after,
                    why: why.clone(),
                });
                Err(NoAnswer(why))
            }
        }
    }

    /// The URL a request goes to.
    fn target(&self, exchange: &Exchange) -> Result<String, String> {
        let path_and_query = if exchange.query.is_empty() {
            exchange.path.clone()
        } else {
            format!("{}?{}", exchange.path, exchange.query)
        };
        let base = match &self.options.upstream {
            Upstream::Url(url) => url.clone(),
            Upstream::Aws => {
                let region =
                    request_region(exchange).unwrap_or_else(|| self.options.region.clone());
                let identified = identify(
                    &exchange.method,
                    &exchange.path,
                    &exchange.query,
                    &exchange.body,
                );
                match identified {
                    Some(identified) => aws_endpoint(identified.operation, &region),
                    None => signed_endpoint(exchange, &region).ok_or_else(|| {
                        format!(
                            "{} {} is no operation the recorder knows, and it is not signed with SigV4 to tell its service",
                            exchange.method, exchange.path
                        )
                    })?,
                }
            }
        };
        Ok(format!("{base}{path_and_query}"))
    }

    /// The request for `url`: its host, hop-by-hop headers gone, signed
    /// again when it was signed; the headers in the order the client sent
    /// them.
    async fn forward(
        &self,
        exchange: &Exchange,
        url: &str,
    ) -> Result<Request<Full<Bytes>>, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("the upstream URL {url}: {e}"))?;
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let signature = match exchange.header("authorization").and_then(SigV4Scope::of) {
            Some(scope) => Some(self.signature(exchange, url, &authority, &scope).await?),
            None => None,
        };
        let headers = ordered_headers(exchange, &authority, signature)?;
        let mut request = Request::builder()
            .method(exchange.method.as_str())
            .uri(uri)
            .body(Full::new(exchange.body.clone()))
            .map_err(|e| format!("the forwarded request: {e}"))?;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// The recorder's credentials: the cached ones while more than five
    /// minutes from their expiry, else the chain's again.
    async fn credentials(&self) -> Result<Credentials, String> {
        let mut cached = self.credentials.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let provider = self.signer.as_ref().ok_or(
            "the request is signed with SigV4, but the recorder has no AWS credentials: set them up as for the AWS CLI (AWS_PROFILE, aws sso login, …)",
        )?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("the recorder's AWS credentials: {e}"))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// The signature headers for the request to `url`, made with the
    /// recorder's credentials over the headers the client signed, at the
    /// client's own signing time.
    async fn signature(
        &self,
        exchange: &Exchange,
        url: &str,
        authority: &str,
        scope: &SigV4Scope,
    ) -> Result<Vec<(String, String)>, String> {
        let credentials = self.credentials().await?;
        // Signed at the client's own time: a client whose clock is off
        // is refused by AWS as it was without the recorder.
        let time = exchange
            .header("x-amz-date")
            .and_then(amz_date)
            .unwrap_or_else(SystemTime::now);
        let signed: Vec<&str> = exchange
            .header("authorization")
            .and_then(|a| a.split("SignedHeaders=").nth(1))
            .and_then(|s| s.split(',').next())
            .map(|list| list.split(';').collect())
            .unwrap_or_default();
        let mut to_sign = HeaderMap::new();
        for (name, value) in &exchange.headers {
            if signed.contains(&name.as_str()) && !SIGNATURE_HEADERS.contains(&name.as_str()) {
                let value = if name == "host" { authority } else { value };
                to_sign.append(header_name(name)?, header_value(value)?);
            }
        }
        let method =
            http::Method::from_bytes(exchange.method.as_bytes()).map_err(|e| e.to_string())?;
        let signing = Signing {
            credentials,
            region: &scope.region,
            service: &scope.service,
            time,
        };
        signature_headers(&method, url, &to_sign, &exchange.body, signing)
    }
}

/// The headers SigV4 adds, which the recorder's signature replaces.
const SIGNATURE_HEADERS: &[&str] = &["authorization", "x-amz-date", "x-amz-security-token"];

/// The client's headers in its order: hop-by-hop ones gone, `host` the
/// upstream's, and when `signature` is given, its headers where the
/// client's were (any the client had not, last).
fn ordered_headers(
    exchange: &Exchange,
    authority: &str,
    signature: Option<Vec<(String, String)>>,
) -> Result<HeaderMap, String> {
    let mut out = HeaderMap::new();
    let mut signature = signature;
    for (name, value) in &exchange.headers {
        // The body goes whole, as the same bytes: its `content-length`
        // stays where the client put it, a `transfer-encoding` does not.
        if is_hop_by_hop(name) || (frames_the_body(name) && name != "content-length") {
            continue;
        }
        let value = match (&mut signature, name.as_str()) {
            (_, "host") => authority.to_owned(),
            (Some(new), name) if SIGNATURE_HEADERS.contains(&name) => {
                match new.iter().position(|(n, _)| n == name) {
                    Some(at) => new.remove(at).1,
                    None => continue,
                }
            }
            _ => value.clone(),
        };
        out.append(header_name(name)?, header_value(&value)?);
    }
    for (name, value) in signature.unwrap_or_default() {
        out.append(header_name(&name)?, header_value(&value)?);
    }
    Ok(out)
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("a header name: {e}"))
}

/// The largest request body the recorder takes: more than any Bedrock
/// operation accepts, so a real request is never refused here.
const MAX_REQUEST_BODY: usize = 64 << 20;

fn header_value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|e| format!("a header value: {e}"))
}

/// The request as the client sent it.
fn captured(started: Duration, parts: &http::request::Parts, body: Bytes) -> Exchange {
    Exchange {
        started,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: header_pairs(&parts.headers),
        body,
        outcome: Outcome::NoAnswer {
            after: Duration::ZERO,
            why: "under way".into(),
        },
    }
}

/// Headers as an exchange keeps them: in order, names lower-case.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The region of a SigV4 signature's scope.
fn request_region(exchange: &Exchange) -> Option<String> {
    exchange
        .header("authorization")
        .and_then(SigV4Scope::of)
        .map(|s| s.region)
}

/// The regional endpoint that serves `operation`.
fn aws_endpoint(operation: Operation, region: &str) -> String {
    match operation {
        Operation::InvokeModel | Operation::InvokeModelWithResponseStream => {
            format!("https://bedrock-runtime.{region}.amazonaws.com")
        }
        Operation::MantleMessages | Operation::MantleMessagesStream => {
            format!("https://bedrock-mantle.{region}.api.aws")
        }
        Operation::GetCallerIdentity
        | Operation::AssumeRole
        | Operation::AssumeRoleWithWebIdentity => {
            format!("https://sts.{region}.amazonaws.com")
        }
        Operation::GetRoleCredentials => format!("https://portal.sso.{region}.amazonaws.com"),
        _ => format!("https://bedrock.{region}.amazonaws.com"),
    }
}

/// The endpoint of an operation the mock does not know (CountTokens,
/// Converse, ListFoundationModels…): the service its SigV4 scope names,
/// the runtime for a model's path.
fn signed_endpoint(exchange: &Exchange, region: &str) -> Option<String> {
    let scope = exchange.header("authorization").and_then(SigV4Scope::of)?;
    let host = match scope.service.as_str() {
        "bedrock" if exchange.path.starts_with("/model/") => "bedrock-runtime",
        service => service,
    };
    let suffix = if host == "bedrock-mantle" {
        "api.aws"
    } else {
        "amazonaws.com"
    };
    Some(format!("https://{host}.{region}.{suffix}"))
}

/// The recorder's own refusal (a request it cannot forward), not recorded.
fn refused(why: &str) -> Passed {
    let body =
        serde_json::json!({ "message": format!("bedrock-harness record: {why}") }).to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *response.status_mut() = http::StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The upstream's answer, passed back as it comes and timed.
fn recorded_answer(answer: Response<Incoming>, mut pending: Pending) -> Passed {
    let head_after = pending.sent_at.elapsed();
    let (parts, body) = answer.into_parts();
    let answered = Answered {
        head_after,
        status: parts.status.as_u16(),
        headers: header_pairs(&parts.headers),
        pieces: Vec::new(),
        end: BodyEnd::Complete,
    };
    if let Some(exchange) = pending.exchange.as_mut() {
        exchange.outcome = Outcome::Answered(answered);
    }
    let body = Timed {
        inner: body,
        head_at: Instant::now(),
        pending,
    };
    Response::from_parts(parts, body.boxed())
}

/// An answer's body passed through, each piece recorded with its time.
struct Timed {
    inner: Incoming,
    head_at: Instant,
    pending: Pending,
}

impl Timed {
    fn answered(&mut self) -> Option<&mut Answered> {
        match self.pending.exchange.as_mut().map(|e| &mut e.outcome) {
            Some(Outcome::Answered(answered)) => Some(answered),
            _ => None,
        }
    }

    fn end(&mut self, end: BodyEnd) {
        if let Some(answered) = self.answered() {
            answered.end = end;
        }
        if let Some(outcome) = self.pending.exchange.as_ref().map(|e| e.outcome.clone()) {
            self.pending.finish(outcome);
        }
    }
}

impl Body for Timed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let at = self.head_at.elapsed();
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(bytes) = frame.data_ref().cloned()
                    && let Some(answered) = self.answered()
                {
                    answered.pieces.push(Piece { at, bytes });
                }
            }
            Poll::Ready(Some(Err(_))) => self.end(BodyEnd::Broken { at }),
            Poll::Ready(None) => self.end(BodyEnd::Complete),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        // Dropped with all of it read: hyper need not poll a body past
        // its last byte. Dropped before: the client stopped reading.
        let at = self.head_at.elapsed();
        if self.pending.exchange.is_some() {
            let end = if self.inner.is_end_stream() {
                BodyEnd::Complete
            } else {
                BodyEnd::ClientLeft { at }
            };
            self.end(end);
        }
    }
}
