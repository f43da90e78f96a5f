//! The mock's Bedrock answers and its SigV4 check as public functions, for
//! a test that serves Bedrock from a server of its own (a
//! `wiremock::MockServer`, an axum app): [`Renderer`] writes the answers
//! the mock sends (InvokeModel's JSON, the event stream with Bedrock's
//! padding, an error in Bedrock's REST-JSON shape, a recorded answer)
//! through the mock's own code, and [`SigV4Verifier`] authenticates a
//! request as the mock does.

use std::time::SystemTime;

use crate::api::{RecordedAnswer, RecordedPlan, rest_json_error};
use crate::auth;
use crate::bedrock::token_headers;
use crate::catalogue;
use crate::clock::Clock;
use crate::config::{Credential, ServerConfig};
use crate::credentials::IssuedKeys;
use crate::errors::{AwsError, ExceptionType};
use crate::journal::AuthScheme;
use crate::operation::Protocol;
use crate::recorded::Recording;
use crate::replay;
use crate::reply::Reply;
use crate::rng::Rng;
use crate::runtime::{self, StreamFault};
use crate::sigv4::SignedRequest;
use crate::stream_body::Framing;

/// One HTTP answer as the mock sends it: status, headers in order, body.
///
/// ```
/// use bedrock_mock_server::{ErrorCode, render::Renderer};
///
/// let answer = Renderer::default().error(&ErrorCode::ThrottlingException.into());
/// assert_eq!(answer.status, 429);
/// assert_eq!(
///     answer.header("x-amzn-errortype"),
///     Some("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
/// );
/// let response: http::Response<Vec<u8>> = answer.into_response().unwrap();
/// assert_eq!(response.status(), 429);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The headers, names lower-case, in the order the mock sends them
    /// (`x-amzn-requestid` first).
    pub headers: Vec<(String, String)>,
    /// The whole body: JSON, or every event-stream frame one after another.
    pub body: Vec<u8>,
}

impl WireAnswer {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// This answer as an `http::Response`. Err: a status or header that
    /// is not valid HTTP (only an error made with `AwsError::new` can
    /// carry one).
    pub fn into_response(self) -> Result<http::Response<Vec<u8>>, http::Error> {
        self.headers
            .iter()
            .fold(
                http::Response::builder().status(self.status),
                |b, (name, value)| b.header(name.as_str(), value.as_str()),
            )
            .body(self.body)
    }

    fn new(status: u16, request_id: String, headers: Vec<(&str, String)>, body: Vec<u8>) -> Self {
        let mut all = vec![("x-amzn-requestid".to_owned(), request_id)];
        all.extend(headers.into_iter().map(|(n, v)| (n.to_owned(), v)));
        WireAnswer {
            status,
            headers: all,
            body,
        }
    }
}

/// Writes Bedrock's answers with the mock's own renderer. Seeded like the
/// mock (`ServerConfig::seed`): the same seed and calls give the same
/// bytes (message ids, chunk padding, request ids).
///
/// It renders the answer to a request the account lets through, and
/// refuses a body Bedrock's own validation refuses (`anthropic_version`,
/// `stream`, betas, tools) with Bedrock's error. What the account decides
/// about the caller and the model is the server's, not the renderer's:
/// model access and the region's catalogue, policies, quotas, guardrails,
/// a model's output limit and the service-tier header are answered only
/// by a running [`MockBedrock`](crate::MockBedrock).
///
/// ```
/// use bedrock_mock_server::{Reply, render::Renderer};
///
/// let mut renderer = Renderer::default();
/// let request = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":2,
///     "messages":[{"role":"user","content":"one two three"}]}"#;
///
/// let whole = renderer.invoke(&Reply::echo(), request, "anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
/// let message: serde_json::Value = serde_json::from_slice(&whole.body).unwrap();
/// assert_eq!(message["content"][0]["text"], "one two");
/// assert_eq!(message["stop_reason"], "max_tokens");
///
/// let stream = renderer.stream(&Reply::text("hi"), request, "anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
/// assert_eq!(stream.header("content-type"), Some("application/vnd.amazon.eventstream"));
/// // The frames one after another; the first is a chunk.
/// let length = u32::from_be_bytes(stream.body[..4].try_into().unwrap()) as usize;
/// let first = bedrock_eventstream::decode_frame(&stream.body[..length]).unwrap();
/// assert_eq!(first.str_header(":event-type"), Some("chunk"));
///
/// // A body Bedrock refuses gets Bedrock's refusal:
/// let refused = renderer.invoke(&Reply::default(), b"{}", "m").unwrap_err();
/// assert_eq!(refused.message, "anthropic_version: Field required");
/// assert_eq!(renderer.error(&refused).status, 400);
/// ```
#[derive(Debug, Clone)]
pub struct Renderer {
    account: ServerConfig,
    rng: Rng,
}

impl Default for Renderer {
    /// The default account, with its seed.
    fn default() -> Self {
        Renderer::for_account(ServerConfig::default())
    }
}

impl Renderer {
    /// The default account, seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Renderer::for_account(ServerConfig {
            seed,
            ..ServerConfig::default()
        })
    }

    /// Renders for `account`: its seed, and the betas its checks of a
    /// request body accept.
    pub fn for_account(account: ServerConfig) -> Self {
        Renderer {
            rng: Rng::new(account.seed),
            account,
        }
    }

    /// InvokeModel's answer to `request_body` (the request's JSON) for
    /// `model_id` (a model or inference profile id, as the path names it):
    /// the message with `reply` made concrete (echo, `max_tokens`, token
    /// counts) and Bedrock's token headers. Err: Bedrock's
    /// ValidationException for a body it refuses (render it with
    /// [`Renderer::error`]).
    pub fn invoke(
        &mut self,
        reply: &Reply,
        request_body: &[u8],
        model_id: &str,
    ) -> Result<WireAnswer, AwsError> {
        // The mock draws the request id first, as a request arrives.
        let request_id = self.rng.uuid();
        let body = runtime::validate_body(&self.account, request_body)?;
        let model_id = self.model(model_id);
        let answer = runtime::invoke(reply, &body, &model_id, None, &mut self.rng);
        let mut headers = vec![("content-type", "application/json".to_owned())];
        headers.extend(token_headers(answer.input_tokens, answer.output_tokens));
        Ok(WireAnswer::new(200, request_id, headers, answer.body))
    }

    /// InvokeModelWithResponseStream's answer: every event-stream frame
    /// the mock would send (chunks carrying the Anthropic events, base64,
    /// with Bedrock's `p` padding; metrics on the last), one after another.
    pub fn stream(
        &mut self,
        reply: &Reply,
        request_body: &[u8],
        model_id: &str,
    ) -> Result<WireAnswer, AwsError> {
        self.stream_frames(reply, request_body, model_id, None)
    }

    /// The stream of [`Renderer::stream`] cut after `after_events` events
    /// by an exception frame of type `exception`, with the catalogue's
    /// message for it, as a rule's `Answer::StreamException` does.
    pub fn stream_with_exception(
        &mut self,
        reply: &Reply,
        request_body: &[u8],
        model_id: &str,
        after_events: usize,
        exception: ExceptionType,
    ) -> Result<WireAnswer, AwsError> {
        let fault = StreamFault::new(after_events, exception, None);
        self.stream_frames(reply, request_body, model_id, Some(fault))
    }

    fn stream_frames(
        &mut self,
        reply: &Reply,
        request_body: &[u8],
        model_id: &str,
        fault: Option<StreamFault>,
    ) -> Result<WireAnswer, AwsError> {
        let request_id = self.rng.uuid();
        let body = runtime::validate_body(&self.account, request_body)?;
        let model_id = self.model(model_id);
        let frames = runtime::stream_frames(reply, &body, &model_id, None, || &mut self.rng, fault);
        let bytes = frames
            .iter()
            .flat_map(|f| f.bytes.iter().copied())
            .collect();
        let headers = Framing::EventStream
            .headers()
            .map(|(name, value)| (name, value.to_owned()))
            .to_vec();
        Ok(WireAnswer::new(200, request_id, headers, bytes))
    }

    /// A [`Recording`]'s answer as the mock sends it: its status, the
    /// mock's `x-amzn-requestid` then the recording's headers (a stream's
    /// kind's `content-type` when it gives none), and its events written
    /// as the mock writes them (chunks without a recorded padding padded
    /// from the seed), one after another. The gaps are not in it: a
    /// `WireAnswer` is one body, so a server of your own sends it at once
    /// (or paces it by `recording`'s own gaps).
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_mock_server::{RecordedEvent, Recording, render::Renderer};
    ///
    /// let recording = Recording::events(
    ///     200,
    ///     &[],
    ///     vec![RecordedEvent::sse(Duration::from_millis(5), "message_stop", r#"{"type":"message_stop"}"#)],
    /// );
    /// let answer = Renderer::default().recorded(&recording);
    /// assert_eq!(answer.header("content-type"), Some("text/event-stream; charset=utf-8"));
    /// assert_eq!(answer.body, b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    /// ```
    pub fn recorded(&mut self, recording: &Recording) -> WireAnswer {
        let request_id = self.rng.uuid();
        let RecordedAnswer {
            status,
            headers,
            body,
            ..
        } = replay::plan(recording, &["x-amzn-requestid", "date"], || &mut self.rng);
        let body = match body {
            RecordedPlan::Whole(bytes) => bytes.to_vec(),
            RecordedPlan::Stream { frames, .. } => frames
                .iter()
                .flat_map(|f| f.bytes.iter().copied())
                .collect(),
        };
        let mut all = vec![("x-amzn-requestid".to_owned(), request_id)];
        all.extend(headers);
        WireAnswer {
            status,
            headers: all,
            body,
        }
    }

    /// The model `id` names (a profile's model) in the account's home
    /// region, as the answer's `model` names it; an id the account does
    /// not know, as given.
    fn model(&self, id: &str) -> String {
        let region = self.account.home_region();
        catalogue::resolve(&self.account, id, region)
            .map_or_else(|_| id.to_owned(), |resolved| resolved.model.id.clone())
    }

    /// `error` as Bedrock's runtime sends it: status, `x-amzn-errortype`,
    /// `retry-after` when it has one, the JSON `message` (or the front
    /// door's `Message`). Make one from the catalogue with
    /// `AwsError::from(ErrorCode::…)`.
    pub fn error(&mut self, error: &AwsError) -> WireAnswer {
        let wire = rest_json_error(error);
        let headers = wire.headers(error);
        WireAnswer::new(wire.status, self.rng.uuid(), headers, wire.body)
    }
}

/// Who a verified request is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// How it authenticated: `SigV4`, or `Bearer` for one of the
    /// account's API keys (Bedrock takes both).
    pub scheme: AuthScheme,
    /// The access key that signed (SigV4 only).
    pub access_key_id: Option<String>,
    /// The region it was signed for (the account's home region for an
    /// API key).
    pub region: String,
    /// The identity's ARN.
    pub principal: String,
}

/// Authenticates a request to Bedrock's runtime as the mock does, at
/// `now`: SigV4 against the credentials of `account` (its checks in
/// AWS's order: header, date, clock skew, scope, key and token, then the
/// signature), or one of its API keys. Err: the error AWS sends, its
/// message free of the account's secrets; render it with
/// [`Renderer::error`].
///
/// ```
/// use std::time::SystemTime;
/// use bedrock_mock_server::{ServerConfig, render::verify_sigv4};
///
/// let unsigned = http::Request::post("http://127.0.0.1/model/m/invoke").body(Vec::new()).unwrap();
/// let refused = verify_sigv4(&unsigned, &ServerConfig::default(), SystemTime::now()).unwrap_err();
/// assert_eq!((refused.status, refused.message.as_str()), (403, "Authorization header is missing"));
/// ```
pub fn verify_sigv4<B: AsRef<[u8]>>(
    request: &http::Request<B>,
    account: &ServerConfig,
    now: SystemTime,
) -> Result<Verified, AwsError> {
    verify_parts(
        request.method(),
        request.uri(),
        request.headers(),
        request.body().as_ref(),
        account,
        now,
    )
}

/// [`verify_sigv4`] for a request in parts: its method, its URI as sent
/// (the raw path and query are what was signed), its headers (with
/// `host`) and its body.
pub fn verify_parts(
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
    account: &ServerConfig,
    now: SystemTime,
) -> Result<Verified, AwsError> {
    let signed = SignedRequest {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers,
        body,
    };
    let issued = IssuedKeys::default();
    let (record, outcome) = auth::authenticate(account, &issued, now, &signed, Protocol::Bedrock);
    outcome.map(|caller| Verified {
        scheme: record.scheme,
        access_key_id: caller.access_key_id,
        region: caller.region,
        principal: caller.principal,
    })
}

/// [`verify_sigv4`] with an account and a [`Clock`] kept together: the
/// default account (the example credentials) on the system clock, unless
/// told otherwise.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bedrock_mock_server::{Clock, Credential, render::SigV4Verifier};
///
/// let clock = Clock::fixed(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_623_841));
/// let verifier = SigV4Verifier::new()
///     .accepting(Credential::new("AKIAOTHEREXAMPLE", "otherSecret"))
///     .clock(clock.clone());
/// let request = http::Request::post("http://127.0.0.1/model/m/invoke")
///     .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIAOTHEREXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
///     .header("x-amz-date", "20261125T162401Z")
///     .header("host", "127.0.0.1")
///     .body(Vec::new())
///     .unwrap();
/// // Known key, fresh date, wrong signature:
/// assert_eq!(verifier.verify(&request).unwrap_err().code, "InvalidSignatureException");
/// clock.advance(Duration::from_secs(3600));
/// assert!(verifier.verify(&request).unwrap_err().message.starts_with("Signature expired"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SigV4Verifier {
    account: ServerConfig,
    clock: Clock,
}

impl SigV4Verifier {
    /// The default account (`EXAMPLE_ACCESS_KEY_ID` and its secret) on the
    /// system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies against `account`'s credentials, regions and API keys.
    pub fn for_account(account: ServerConfig) -> Self {
        SigV4Verifier {
            account,
            clock: Clock::default(),
        }
    }

    /// Accepts `credential` too.
    pub fn accepting(mut self, credential: Credential) -> Self {
        self.account.credentials.push(credential);
        self
    }

    /// Reads the time from `clock` (a clone shares it: moving it moves
    /// the verifier's "now").
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Authenticates `request` now; see [`verify_sigv4`].
    pub fn verify<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> Result<Verified, AwsError> {
        verify_sigv4(request, &self.account, self.clock.now())
    }

    /// Authenticates a request given in parts now; see [`verify_parts`].
    pub fn verify_parts(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Verified, AwsError> {
        verify_parts(method, uri, headers, body, &self.account, self.clock.now())
    }
}
