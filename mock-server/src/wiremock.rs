//! Bedrock for a `wiremock::MockServer` (feature `wiremock`): responders
//! that write the mock's own answers ([`BedrockStream`],
//! [`BedrockInvoke`], [`BedrockError`]) and a matcher that checks SigV4
//! with the mock's own verifier ([`ValidSigV4`]).
//!
//! Each responder renders against the request it answers: the model id
//! of its path, its body (echo, `max_tokens`, token counts), a body
//! Bedrock would refuse refused in Bedrock's words.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use bedrock_mock_server::wiremock::{BedrockStream, ValidSigV4};
//! use bedrock_mock_server::Reply;
//! use wiremock::matchers::{method, path_regex};
//! use wiremock::{Mock, MockServer};
//!
//! let server = MockServer::start().await;
//! Mock::given(method("POST"))
//!     .and(path_regex("^/model/[^/]+/invoke-with-response-stream$"))
//!     .and(ValidSigV4::new())
//!     .respond_with(BedrockStream::new(Reply::text("Hello from wiremock")))
//!     .mount(&server)
//!     .await;
//! // An unsigned request does not match: wiremock's 404.
//! let status = unsigned_post(&server.uri()).await;
//! assert_eq!(status, 404);
//! # }
//! # async fn unsigned_post(uri: &str) -> u16 {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let address = uri.trim_start_matches("http://");
//! #     let mut s = tokio::net::TcpStream::connect(address).await.unwrap();
//! #     s.write_all(b"POST /model/m/invoke-with-response-stream HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await.unwrap();
//! #     let mut out = String::new();
//! #     s.read_to_string(&mut out).await.unwrap();
//! #     out[9..12].parse().unwrap()
//! # }
//! ```

use std::sync::{Mutex, PoisonError};

use ::wiremock::{Match, Request, Respond, ResponseTemplate};

use crate::clock::Clock;
use crate::config::{Credential, ServerConfig};
use crate::errors::{AwsError, ErrorCode, ExceptionType};
use crate::journal::AuthScheme;
use crate::render::{Renderer, SigV4Verifier, WireAnswer};
use crate::reply::Reply;
use crate::routes::{Route, classify};

/// The model id a request's path names (`/model/{id}/…`), decoded; empty
/// if it names none.
fn model_id(request: &Request) -> String {
    match classify(&request.method, request.url.path()) {
        Route::Aws {
            target: Some(id), ..
        } => id,
        _ => String::new(),
    }
}

/// `answer` for wiremock; an answer that is not valid HTTP (an
/// `AwsError::new` with a status over 999 or a code with a line break)
/// becomes Bedrock's 500 saying so, as the mock answers a rule's invalid
/// answer.
fn template(renderer: &mut Renderer, answer: WireAnswer) -> ResponseTemplate {
    let response = answer.into_response().unwrap_or_else(|e| {
        let error = ErrorCode::InternalServerException
            .with_message(format!("the answer is not valid HTTP: {e}"));
        renderer
            .error(&error)
            .into_response()
            .expect("a catalogue error is valid HTTP")
    });
    let (parts, body) = response.into_parts();
    parts
        .headers
        .iter()
        .fold(ResponseTemplate::new(parts.status), |t, (name, value)| {
            t.append_header(name.clone(), value.clone())
        })
        .set_body_bytes(body)
}

/// A renderer shared by a responder's answers.
#[derive(Debug)]
struct Shared(Mutex<Renderer>);

impl Shared {
    fn new(seed: Option<u64>) -> Self {
        Shared(Mutex::new(
            seed.map_or_else(Renderer::default, Renderer::new),
        ))
    }

    fn answer(
        &self,
        render: impl FnOnce(&mut Renderer) -> Result<WireAnswer, AwsError>,
    ) -> ResponseTemplate {
        let mut renderer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = render(&mut renderer).unwrap_or_else(|error| renderer.error(&error));
        template(&mut renderer, answer)
    }
}

/// Answers InvokeModelWithResponseStream as the mock does: status 200,
/// `content-type: application/vnd.amazon.eventstream`, the event-stream
/// frames of `reply` rendered against the request's body; optionally cut
/// by a stream exception ([`BedrockStream::exception_after`]).
///
/// The whole stream is one body: wiremock sends it at once, so a client
/// sees every frame in one read (the mock itself paces frames).
#[derive(Debug)]
pub struct BedrockStream {
    reply: Reply,
    exception: Option<(usize, ExceptionType)>,
    renderer: Shared,
}

impl BedrockStream {
    /// Streams `reply`, seeded as the mock is by default.
    pub fn new(reply: Reply) -> Self {
        BedrockStream {
            reply,
            exception: None,
            renderer: Shared::new(None),
        }
    }

    /// Seeds the ids and padding with `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.renderer = Shared::new(Some(seed));
        self
    }

    /// Ends the stream after `after_events` events with an `exception`
    /// frame carrying the catalogue's message (what the SDK reports as
    /// e.g. `ResponseStreamError::ThrottlingException`).
    pub fn exception_after(mut self, after_events: usize, exception: ExceptionType) -> Self {
        self.exception = Some((after_events, exception));
        self
    }
}

impl Respond for BedrockStream {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let model = model_id(request);
        self.renderer.answer(|r| match self.exception {
            None => r.stream(&self.reply, &request.body, &model),
            Some((after, exception)) => {
                r.stream_with_exception(&self.reply, &request.body, &model, after, exception)
            }
        })
    }
}

/// Answers InvokeModel as the mock does: the message JSON of `reply`
/// rendered against the request's body, with Bedrock's token headers.
#[derive(Debug)]
pub struct BedrockInvoke {
    reply: Reply,
    renderer: Shared,
}

impl BedrockInvoke {
    /// Answers with `reply`, seeded as the mock is by default.
    pub fn new(reply: Reply) -> Self {
        BedrockInvoke {
            reply,
            renderer: Shared::new(None),
        }
    }

    /// Seeds the ids with `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.renderer = Shared::new(Some(seed));
        self
    }
}

impl Respond for BedrockInvoke {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let model = model_id(request);
        self.renderer
            .answer(|r| r.invoke(&self.reply, &request.body, &model))
    }
}

/// Answers with a Bedrock error as the mock sends it: its status,
/// `x-amzn-errortype`, `retry-after` if it has one, and its JSON message
/// (`BedrockError::new(ErrorCode::ThrottlingException)` is what the SDK
/// reports as `ThrottlingException`).
#[derive(Debug)]
pub struct BedrockError {
    error: AwsError,
    renderer: Shared,
}

impl BedrockError {
    /// The catalogue's error `code`, with its message.
    pub fn new(code: ErrorCode) -> Self {
        Self::from(AwsError::from(code))
    }
}

impl From<AwsError> for BedrockError {
    /// An error of one's own (`ErrorCode::X.with_message(..)`,
    /// `.with_retry_after(..)`).
    fn from(error: AwsError) -> Self {
        BedrockError {
            error,
            renderer: Shared::new(None),
        }
    }
}

impl Respond for BedrockError {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.renderer.answer(|r| Ok(r.error(&self.error)))
    }
}

/// Matches a request signed with SigV4 that the mock's verifier accepts:
/// the example credentials
/// ([`EXAMPLE_ACCESS_KEY_ID`](crate::EXAMPLE_ACCESS_KEY_ID)) unless told
/// otherwise, signed for the `bedrock` service in one of the account's
/// regions, within five minutes of the clock. A request that fails does
/// not match, so it falls through to another mock or wiremock's 404;
/// to see why, use [`crate::render::SigV4Verifier`] directly.
#[derive(Debug, Clone, Default)]
pub struct ValidSigV4 {
    verifier: SigV4Verifier,
}

impl ValidSigV4 {
    /// The example credentials of the default account, on the system
    /// clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The credentials and regions of `account`.
    pub fn for_account(account: ServerConfig) -> Self {
        ValidSigV4 {
            verifier: SigV4Verifier::for_account(account),
        }
    }

    /// Accepts `credential` too.
    pub fn accepting(self, credential: Credential) -> Self {
        ValidSigV4 {
            verifier: self.verifier.accepting(credential),
        }
    }

    /// Checks the signing time and expiries against `clock`.
    pub fn clock(self, clock: Clock) -> Self {
        ValidSigV4 {
            verifier: self.verifier.clock(clock),
        }
    }
}

impl Match for ValidSigV4 {
    fn matches(&self, request: &Request) -> bool {
        let Ok(uri) = request.url.as_str().parse::<http::Uri>() else {
            return false;
        };
        self.verifier
            .verify_parts(&request.method, &uri, &request.headers, &request.body)
            .is_ok_and(|verified| verified.scheme == AuthScheme::SigV4)
    }
}
