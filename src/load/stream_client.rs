//! One load client: a keep-alive HTTP/1.1 connection over which it asks
//! for one streamed answer after another, decoding every frame, and
//! timing the first byte of each.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bedrock_client::Secret;
use bedrock_client::credentials::AwsCredentials;
use bedrock_client::provider::{Service, ToSign, sign_request};
use bedrock_eventstream::Decoder;
use bedrock_eventstream::anthropic::StreamEvent;
use bedrock_eventstream::bedrock::EventReader;
use bedrock_mock_server::{
    ADMIN_PREFIX, ADMIN_TOKEN_VARIABLE, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    EXAMPLE_SECRET_ACCESS_KEY,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::measure::{Journaled, Latencies, Tally};

/// How the load clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// SigV4 with the mock's example access key: a signature made and
    /// checked per request.
    Sigv4,
    /// The mock's example Bedrock API key as a bearer token.
    ApiKey,
    /// No authentication (the server checks nothing).
    Off,
}

impl Auth {
    pub fn name(self) -> &'static str {
        match self {
            Auth::Sigv4 => "sigv4",
            Auth::ApiKey => "api-key",
            Auth::Off => "no",
        }
    }
}

/// The model every load stream asks for (a cross-region profile of the
/// default catalogue), its `:` encoded as the AWS SDKs send it.
const PATH: &str =
    "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream";
const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":"Tell me a story."}]}"#;

/// What the clients share: where to connect and how to sign.
pub struct StreamClient {
    address: SocketAddr,
    host: String,
    url: String,
    auth: Auth,
    credentials: AwsCredentials,
}

/// A client's connection, kept between its streams, and when its socket
/// last took a write.
type Connection = Option<(SendRequest<Full<Bytes>>, Arc<LastWrite>)>;

/// When a connection's socket last took bytes: the moment a request was
/// sent, which `send_request` is not (it hands the request to the
/// connection's task, which writes it when the generator's scheduler runs
/// it; with 1,000 clients starting at once that wait is the generator's,
/// not the server's).
#[derive(Default)]
struct LastWrite(std::sync::Mutex<Option<Instant>>);

impl LastWrite {
    fn mark(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    fn get(&self) -> Option<Instant> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A socket that marks when it takes a write.
struct WriteTimed {
    tcp: TcpStream,
    last_write: Arc<LastWrite>,
}

impl tokio::io::AsyncRead for WriteTimed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for WriteTimed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.last_write.mark();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.last_write.mark();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// How one stream went.
#[derive(Default)]
struct Streamed {
    /// The request reached the server (a connect failure sends nothing).
    sent: bool,
    first_byte: Option<Duration>,
    events: u64,
    error: Option<String>,
}

/// Counts a stream as open from its head to its end, however it ends.
struct OpenStream<'a>(&'a AtomicUsize);

impl<'a> OpenStream<'a> {
    fn new(open: &'a AtomicUsize) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self(open)
    }
}

impl Drop for OpenStream<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl StreamClient {
    pub fn new(url: &str, auth: Auth) -> Result<Self, String> {
        let host = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: not an http:// URL"))?
            .trim_end_matches('/')
            .to_owned();
        let address = host
            .parse()
            .map_err(|_| format!("{url}: give the server as http://IP:PORT"))?;
        Ok(Self {
            address,
            url: format!("http://{host}"),
            host,
            auth,
            credentials: AwsCredentials {
                access_key_id: EXAMPLE_ACCESS_KEY_ID.to_owned(),
                secret_access_key: Secret::new(EXAMPLE_SECRET_ACCESS_KEY),
                session_token: None,
                expires_at: None,
            },
        })
    }

    /// Streams one answer after another until `deadline`, each within
    /// `limit`.
    pub async fn stream_until(
        &self,
        deadline: Instant,
        limit: Duration,
        open: &AtomicUsize,
    ) -> (Tally, Latencies) {
        let mut tally = Tally::default();
        let mut first_bytes = Latencies::default();
        let mut connection = None;
        while Instant::now() < deadline {
            let streamed = tokio::time::timeout(limit, self.stream(&mut connection, open)).await;
            let streamed = streamed.unwrap_or_else(|_| Streamed {
                sent: true,
                first_byte: None,
                events: 0,
                error: Some(format!("no end within {} s", limit.as_secs())),
            });
            tally.sent += u64::from(streamed.sent);
            tally.events += streamed.events;
            if let Some(d) = streamed.first_byte {
                first_bytes.record(d);
            }
            match streamed.error {
                None => tally.completed += 1,
                Some(why) => {
                    tally.error(why);
                    // Whatever state the connection is in, start afresh.
                    connection = None;
                }
            }
        }
        (tally, first_bytes)
    }

    /// One stream on a fresh connection, for the warm-up.
    pub async fn stream_once(&self, open: &AtomicUsize) -> Result<(), String> {
        let streamed = self.stream(&mut None, open).await;
        streamed.error.map_or(Ok(()), Err)
    }

    /// One request and its streamed answer, read to the end. A failure at
    /// any step ends the stream, keeping what was measured until then.
    async fn stream(&self, connection: &mut Connection, open: &AtomicUsize) -> Streamed {
        let mut streamed = Streamed::default();
        if let Err(e) = self.stream_into(&mut streamed, connection, open).await {
            streamed.error = Some(e);
        }
        streamed
    }

    /// [`stream`](Self::stream)'s steps: connect, send, check the status,
    /// then read the events (the stream counts as open while they are read).
    async fn stream_into(
        &self,
        streamed: &mut Streamed,
        connection: &mut Connection,
        open: &AtomicUsize,
    ) -> Result<(), String> {
        let (sender, last_write) = self.ready(connection).await?;
        let request = self.request()?;
        let handed_over = Instant::now();
        streamed.sent = true;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("sending: {}", error_chain(&e)))?;
        let status = response.status();
        let body = response.into_body();
        if status != 200 {
            return Err(refusal(status, body).await);
        }
        let _open = OpenStream::new(open);
        // The answer's head is in, so the request's last write is behind
        // it: time runs from there.
        let sent = last_write
            .get()
            .filter(|t| *t >= handed_over)
            .unwrap_or(handed_over);
        read_events(body, sent, streamed).await
    }

    /// The connection, ready for a request: the kept one, or a new one if
    /// the server closed it.
    async fn ready<'c>(
        &self,
        connection: &'c mut Connection,
    ) -> Result<&'c mut (SendRequest<Full<Bytes>>, Arc<LastWrite>), String> {
        if let Some((sender, _)) = connection.as_mut()
            && sender.ready().await.is_err()
        {
            *connection = None;
        }
        if connection.is_none() {
            *connection = Some(self.connect().await?);
        }
        Ok(connection.as_mut().expect("set above"))
    }

    async fn connect<B>(&self) -> Result<(SendRequest<B>, Arc<LastWrite>), String>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let tcp = TcpStream::connect(self.address)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let last_write = Arc::new(LastWrite::default());
        let timed = WriteTimed {
            tcp,
            last_write: Arc::clone(&last_write),
        };
        let (sender, connection) = http1::handshake(TokioIo::new(timed))
            .await
            .map_err(|e| format!("connecting: {}", error_chain(&e)))?;
        // Drives the connection until either side closes it.
        tokio::spawn(connection);
        Ok((sender, last_write))
    }

    fn request(&self) -> Result<http::Request<Full<Bytes>>, String> {
        let mut headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "accept".to_owned(),
                "application/vnd.amazon.eventstream".to_owned(),
            ),
        ];
        match self.auth {
            Auth::Sigv4 => {
                let url = format!("{}{PATH}", self.url);
                let to_sign = ToSign {
                    method: "POST",
                    url: &url,
                    headers: &headers,
                    body: BODY.as_bytes(),
                };
                let added = sign_request(
                    &to_sign,
                    &self.credentials,
                    "us-east-1",
                    Service::Bedrock,
                    SystemTime::now(),
                )
                .map_err(|e| format!("signing: {e}"))?;
                headers.extend(added);
            }
            Auth::ApiKey => {
                headers.push((
                    "authorization".to_owned(),
                    format!("Bearer {EXAMPLE_API_KEY}"),
                ));
            }
            Auth::Off => {}
        }
        let mut builder = http::Request::post(PATH);
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
            .map_err(|e| format!("building the request: {e}"))
    }

    /// How many requests the server's journal recorded: those it holds
    /// and those it dropped over its limits.
    pub async fn journal_count(&self) -> Result<Journaled, String> {
        let (mut sender, _) = self.connect::<Empty<Bytes>>().await?;
        let mut request =
            http::Request::get(format!("{ADMIN_PREFIX}journal/count")).header("host", &self.host);
        // A server started with --allow-remote wants the token it printed.
        if let Ok(token) = std::env::var(ADMIN_TOKEN_VARIABLE) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("asking for the journal: {}", error_chain(&e)))?;
        // A server whose admin API needs a token or is off says so.
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err(refusal(status, response.into_body()).await);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the journal count: {e}"))?
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| format!("the journal count is not JSON: {e}"))?;
        // Entries dropped over the journal's limits were received too.
        let dropped = value["dropped"].as_u64().unwrap_or(0);
        value["requests"]
            .as_u64()
            .map(|held| Journaled { held, dropped })
            .ok_or_else(|| "the server has no journal count (an older server?)".to_owned())
    }
}

/// A non-200 answer as an error: its status and the start of its body.
async fn refusal(status: StatusCode, body: Incoming) -> String {
    let text = body
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    format!(
        "HTTP {status}: {}",
        text.chars().take(200).collect::<String>()
    )
}

/// Reads the answer's body as it arrives to its end, timing the first
/// byte (from `start`, when the request was sent) and counting events.
async fn read_events(
    mut body: Incoming,
    start: Instant,
    streamed: &mut Streamed,
) -> Result<(), String> {
    let mut events = EventCounter::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading the stream: {}", error_chain(&e)))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if streamed.first_byte.is_none() && !data.is_empty() {
            streamed.first_byte = Some(start.elapsed());
        }
        events.read(&data, &mut streamed.events)?;
    }
    events.end()
}

/// Decodes a streamed answer's bytes as they come, and watches for the
/// `message_stop` that says it is whole.
struct EventCounter {
    decoder: Decoder,
    reader: EventReader,
    stopped: bool,
}

impl EventCounter {
    fn new() -> Self {
        Self {
            decoder: Decoder::new(),
            reader: EventReader::new(),
            stopped: false,
        }
    }

    /// Decodes the events in `input`, adding each to `events`.
    fn read(&mut self, mut input: &[u8], events: &mut u64) -> Result<(), String> {
        while let Some(frame) = self
            .decoder
            .decode(&mut input)
            .map_err(|e| format!("a broken frame: {e}"))?
        {
            let event = self
                .reader
                .read(&frame)
                .map_err(|e| format!("a frame that is not an event: {e}"))?;
            *events += 1;
            self.stopped |= matches!(event, StreamEvent::MessageStop { .. });
        }
        Ok(())
    }

    /// Whether the answer ended whole: on a frame boundary, after
    /// `message_stop`.
    fn end(self) -> Result<(), String> {
        self.decoder
            .finish()
            .map_err(|e| format!("the stream ended mid-frame: {e}"))?;
        if !self.stopped {
            return Err("the stream ended without message_stop".to_owned());
        }
        Ok(())
    }
}

/// An error and its causes, on one line (hyper's own message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}
