//! The mock against the real AWS Rust SDK: `aws-sdk-bedrockruntime` and
//! `aws-sdk-bedrock`, built without `aws-config`, signing with SigV4 and
//! pointed at the mock over plain http. Whatever the SDK cannot decode, or
//! decodes into the wrong typed error, fails here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::common::SIGNATURE_MISMATCH;
use aws_sdk_bedrock as control;
use aws_sdk_bedrockruntime as runtime;
use bedrock_mock_server::{
    Answer, ApplicationProfile, Clock, Credential, EXAMPLE_ACCESS_KEY_ID,
    EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Match, MockBedrock, ModelState, Operation, Reply, Rule,
    ServerConfig,
};
use control::types::InferenceProfileType;
use runtime::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use runtime::config::retry::RetryConfig;
use runtime::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use runtime::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use runtime::operation::invoke_model::InvokeModelError;
use runtime::primitives::Blob;
use runtime::types::ResponseStream;
use runtime::types::error::ResponseStreamError;
use serde_json::{Value, json};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const APP_PROFILE_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
/// `2024-09-30T00:00:00Z`, when the mock's profiles were created.
const PROFILES_CREATED_AT: i64 = 1_727_654_400;
const SESSION_KEY_ID: &str = "ASIAEXAMPLE";
const SESSION_SECRET: &str = "sessionSecretKey/DoNotLeak+0123456789abcdef";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//DoNotLeak==";

// ---------------------------------------------------------------------------
// Shared helpers: who signs, the two clients, and a request body.
// ---------------------------------------------------------------------------

/// A response's headers, in order.
type Headers = Vec<(String, String)>;

/// What went over the wire, seen from the SDK's side: the `Authorization`
/// headers it sent and the headers of each response it got.
#[derive(Debug, Clone, Default)]
struct Wire {
    authorizations: Arc<Mutex<Vec<String>>>,
    response_headers: Arc<Mutex<Vec<Headers>>>,
}

impl Wire {
    /// The `Signature=` values of every request sent.
    fn signatures(&self) -> Vec<String> {
        self.authorizations
            .lock()
            .unwrap()
            .iter()
            .filter_map(|a| a.split("Signature=").nth(1).map(str::to_owned))
            .collect()
    }

    /// Header `name` of the last response.
    fn last_response_header(&self, name: &str) -> Option<String> {
        let responses = self.response_headers.lock().unwrap();
        responses
            .last()?
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "Wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(auth) = context.request().headers().get("authorization") {
            self.authorizations.lock().unwrap().push(auth.to_owned());
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context
            .response()
            .headers()
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        self.response_headers.lock().unwrap().push(headers);
        Ok(())
    }
}

/// Who a client signs as, and where it records the wire.
#[derive(Debug, Clone)]
struct Caller {
    region: &'static str,
    credentials: Credentials,
    wire: Wire,
}

impl Default for Caller {
    fn default() -> Self {
        Self::keys(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    }
}

impl Caller {
    /// Long-term keys in us-east-1.
    fn keys(access_key_id: &str, secret: &str) -> Self {
        Self {
            region: "us-east-1",
            credentials: Credentials::new(access_key_id, secret, None, None, "test"),
            wire: Wire::default(),
        }
    }

    /// The mock's session credential with `secret`.
    fn session(secret: &str) -> Self {
        Self {
            credentials: Credentials::new(
                SESSION_KEY_ID,
                secret,
                Some(SESSION_TOKEN.to_owned()),
                None,
                "test",
            ),
            ..Self::default()
        }
    }

    fn in_region(mut self, region: &'static str) -> Self {
        self.region = region;
        self
    }
}

/// A runtime client for `server` (its `sdk_config()`) signing as
/// `caller`, one attempt per call.
fn runtime_client(server: &MockBedrock, caller: &Caller) -> runtime::Client {
    let config = runtime::config::Builder::from(&server.sdk_config())
        .region(Region::new(caller.region))
        .credentials_provider(caller.credentials.clone())
        .retry_config(RetryConfig::disabled())
        .interceptor(caller.wire.clone())
        .build();
    runtime::Client::from_conf(config)
}

/// A control-plane client for `server` signing as `caller`, one attempt
/// per call.
fn control_client(server: &MockBedrock, caller: &Caller) -> control::Client {
    let config = control::config::Builder::from(&server.sdk_config())
        .region(control::config::Region::new(caller.region))
        .credentials_provider(caller.credentials.clone())
        .retry_config(control::config::retry::RetryConfig::disabled())
        .interceptor(caller.wire.clone())
        .build();
    control::Client::from_conf(config)
}

fn request_body() -> Value {
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Say hi"}],
    })
}

async fn invoke(
    client: &runtime::Client,
    model_id: &str,
    body: &Value,
) -> Result<runtime::operation::invoke_model::InvokeModelOutput, SdkError<InvokeModelError>> {
    client
        .invoke_model()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(serde_json::to_vec(body).unwrap()))
        .send()
        .await
}

/// The service error of a failed call; panics, with the whole error, on a
/// success or on a failure the SDK could not read as a service error.
fn service_error<T: std::fmt::Debug, E, R>(result: Result<T, SdkError<E, R>>) -> E
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(output) => panic!("expected an error, got {output:?}"),
        Err(SdkError::ServiceError(e)) => e.into_err(),
        Err(other) => panic!(
            "expected a service error, got {}",
            DisplayErrorContext(&other)
        ),
    }
}

/// The error of an InvokeModel call that must fail.
async fn invoke_error(client: &runtime::Client, model_id: &str, body: &Value) -> InvokeModelError {
    service_error(invoke(client, model_id, body).await)
}

/// `(code, message)` of a SigV4 rejection of InvokeModel by `caller`.
async fn auth_rejection(server: &MockBedrock, caller: &Caller) -> (String, String) {
    let e = invoke_error(&runtime_client(server, caller), SONNET, &request_body()).await;
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

// ---------------------------------------------------------------------------
// 1. InvokeModel
// ---------------------------------------------------------------------------

#[tokio::test]
async fn invoke_model_returns_the_anthropic_message_and_token_headers() {
    let server = MockBedrock::start().await;
    let caller = Caller::default();
    let client = runtime_client(&server, &caller);

    let output = invoke(&client, SONNET, &request_body())
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));

    assert_eq!(output.content_type(), "application/json");
    let message: Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"][0]["type"], "text");
    assert_eq!(message["content"][0]["text"], "hi");
    assert_eq!(message["stop_reason"], "end_turn");
    let usage = &message["usage"];
    let input_tokens = usage["input_tokens"].as_u64().expect("usage.input_tokens");
    let output_tokens = usage["output_tokens"]
        .as_u64()
        .expect("usage.output_tokens");
    assert!(output_tokens >= 1, "{usage}");

    let count = |name: &str| -> u64 {
        let value = caller
            .wire
            .last_response_header(name)
            .unwrap_or_else(|| panic!("no {name} header"));
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}: `{value}` is not a count"))
    };
    assert_eq!(count("x-amzn-bedrock-input-token-count"), input_tokens);
    assert_eq!(count("x-amzn-bedrock-output-token-count"), output_tokens);
    count("x-amzn-bedrock-invocation-latency");

    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 1);
    let request = &recorded[0];
    assert!(request.auth.accepted, "{:?}", request.auth);
    assert_eq!(request.auth.scheme, "sigv4");
    assert_eq!(request.operation, Some(Operation::InvokeModel));
    assert_eq!(request.model_id.as_deref(), Some(SONNET));
    assert!(
        request.raw_path.contains("%3A"),
        "the SDK percent-encodes `:`: {}",
        request.raw_path
    );
    assert_eq!(
        request.raw_path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
    );
    assert_eq!(request.status, Some(200));
}

// ---------------------------------------------------------------------------
// 2 and 3. InvokeModelWithResponseStream
// ---------------------------------------------------------------------------

/// Opens a stream for `SONNET`.
async fn open_stream(
    client: &runtime::Client,
) -> runtime::operation::invoke_model_with_response_stream::InvokeModelWithResponseStreamOutput {
    client
        .invoke_model_with_response_stream()
        .model_id(SONNET)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(serde_json::to_vec(&request_body()).unwrap()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)))
}

/// The JSON event a decoded stream event carries.
fn chunk_json(event: ResponseStream) -> Value {
    let ResponseStream::Chunk(part) = event else {
        panic!("expected a chunk, got {event:?}");
    };
    let bytes = part.bytes().expect("a chunk carries bytes");
    serde_json::from_slice(bytes.as_ref()).unwrap()
}

#[tokio::test]
async fn stream_events_all_arrive_decoded_by_the_sdk() {
    let text = "The quick brown fox jumps over the lazy dog, twice over.";
    let server = MockBedrock::start_with(ServerConfig::default().reply(Reply::text(text))).await;
    let client = runtime_client(&server, &Caller::default());

    let mut output = open_stream(&client).await;
    let mut events = Vec::new();
    loop {
        match output.body.recv().await {
            Ok(Some(event)) => events.push(chunk_json(event)),
            Ok(None) => break,
            Err(e) => panic!("stream failed: {}", DisplayErrorContext(&e)),
        }
    }

    let types: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().expect("every event has a type"))
        .collect();
    let n = types.len();
    assert!(n >= 6, "{types:?}");
    assert_eq!(types[..2], ["message_start", "content_block_start"]);
    assert!(
        types[2..n - 3].iter().all(|t| *t == "content_block_delta"),
        "{types:?}"
    );
    assert_eq!(
        types[n - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let deltas = n - 5;
    assert!(
        deltas >= 2,
        "a multi-word reply is sent in pieces: {types:?}"
    );

    let streamed: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| {
            assert_eq!(e["delta"]["type"], "text_delta");
            e["delta"]["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(streamed, text);

    assert_eq!(events[0]["message"]["role"], "assistant");
    assert_eq!(events[n - 2]["delta"]["stop_reason"], "end_turn");
    let metrics = &events[n - 1]["amazon-bedrock-invocationMetrics"];
    for key in [
        "inputTokenCount",
        "outputTokenCount",
        "invocationLatency",
        "firstByteLatency",
    ] {
        assert!(metrics[key].is_u64(), "{key} in {metrics}");
    }
    assert_eq!(
        metrics["outputTokenCount"],
        events[n - 2]["usage"]["output_tokens"]
    );

    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, Some(200));
    assert_eq!(
        recorded[0].raw_path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
    );
    let sent: Vec<String> = types.iter().map(|t| format!("chunk:{t}")).collect();
    assert_eq!(recorded[0].frames, sent, "every frame sent was received");
}

#[tokio::test]
async fn stream_exception_is_the_sdks_typed_throttling_error() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::StreamException {
            after_events: 2,
            exception: "throttlingException".parse().unwrap(),
            message: None,
        },
    ));
    let client = runtime_client(&server, &Caller::default());

    let mut output = open_stream(&client).await;
    let mut types = Vec::new();
    let error = loop {
        match output.body.recv().await {
            Ok(Some(event)) => types.push(chunk_json(event)["type"].clone()),
            Ok(None) => panic!("the stream ended without the exception after {types:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(types, ["message_start", "content_block_start"]);
    let error = service_error::<(), _, _>(Err(error));
    let ResponseStreamError::ThrottlingException(throttling) = &error else {
        panic!("expected ThrottlingException, got {error:?}");
    };
    // The SDK leaves an exception frame's code out of its metadata: a
    // test must match the variant (the README says so).
    assert_eq!(error.code(), None);
    assert_eq!(
        throttling.message(),
        Some("Too many requests, please wait before trying again.")
    );
    assert_eq!(
        server.received_requests()[0].frames,
        [
            "chunk:message_start",
            "chunk:content_block_start",
            "exception:throttlingException"
        ]
    );
}

// ---------------------------------------------------------------------------
// 4. Control plane: inference profiles
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_inference_profiles_pages_to_the_same_set_as_one_call() {
    let server = MockBedrock::start().await;
    let client = control_client(&server, &Caller::default());

    let whole = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    assert_eq!(whole.next_token(), None);
    let all: Vec<&str> = whole
        .inference_profile_summaries()
        .iter()
        .map(|p| p.inference_profile_id())
        .collect();
    assert!(all.len() > 5, "enough profiles to page: {all:?}");
    assert!(all.contains(&SONNET));
    for summary in whole.inference_profile_summaries() {
        let id = summary.inference_profile_id();
        assert!(id.starts_with("us.") || id.starts_with("global."), "{id}");
        assert_eq!(summary.r#type(), &InferenceProfileType::SystemDefined);
        assert_eq!(
            summary.created_at().map(|t| t.secs()),
            Some(PROFILES_CREATED_AT)
        );
        assert!(!summary.models().is_empty(), "{id}");
    }

    let mut paged = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_inference_profiles()
            .type_equals(InferenceProfileType::SystemDefined)
            .max_results(5)
            .set_next_token(token.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("page {pages}: {}", DisplayErrorContext(&e)));
        pages += 1;
        assert!(page.inference_profile_summaries().len() <= 5);
        paged.extend(
            page.inference_profile_summaries()
                .iter()
                .map(|p| p.inference_profile_id().to_owned()),
        );
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 100, "pagination never ends");
    }
    assert_eq!(pages, all.len().div_ceil(5));
    assert_eq!(paged.len(), all.len());
    assert_eq!(paged, all);
}

#[tokio::test]
async fn get_inference_profile_by_id_and_by_application_arn() {
    let server = MockBedrock::start_with(ServerConfig::default().application_profile(
        ApplicationProfile::new("abc123", "us.anthropic.claude-opus-4-6-v1"),
    ))
    .await;
    let client = control_client(&server, &Caller::default());

    let system = client
        .get_inference_profile()
        .inference_profile_identifier(SONNET)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    assert_eq!(system.inference_profile_id(), SONNET);
    assert_eq!(system.r#type(), &InferenceProfileType::SystemDefined);
    assert_eq!(
        system.inference_profile_arn(),
        format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET}")
    );
    assert_eq!(
        system.created_at().map(|t| t.secs()),
        Some(PROFILES_CREATED_AT)
    );
    assert_eq!(system.models().len(), 3);

    let app = client
        .get_inference_profile()
        .inference_profile_identifier(APP_PROFILE_ARN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    assert_eq!(app.inference_profile_id(), "abc123");
    assert_eq!(app.inference_profile_arn(), APP_PROFILE_ARN);
    assert_eq!(app.r#type(), &InferenceProfileType::Application);
    assert_eq!(
        app.created_at().map(|t| t.secs()),
        Some(PROFILES_CREATED_AT)
    );
    let models: Vec<&str> = app.models().iter().filter_map(|m| m.model_arn()).collect();
    assert_eq!(models.len(), 3, "{models:?}");
    assert!(
        models
            .iter()
            .all(|arn| arn.ends_with("::foundation-model/anthropic.claude-opus-4-6-v1")),
        "{models:?}"
    );

    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 2);
    assert!(
        recorded
            .iter()
            .all(|r| r.auth.accepted && r.status == Some(200))
    );
    assert_eq!(recorded[1].model_id.as_deref(), Some(APP_PROFILE_ARN));
}

// ---------------------------------------------------------------------------
// 5. Errors as the SDK's typed errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unknown_model_is_a_validation_exception() {
    let server = MockBedrock::start().await;
    let client = runtime_client(&server, &Caller::default());
    let e = invoke_error(
        &client,
        "us.anthropic.claude-nonexistent-v9",
        &request_body(),
    )
    .await;
    assert!(
        matches!(e, InvokeModelError::ValidationException(_)),
        "{e:?}"
    );
    assert_eq!(
        e.message(),
        Some("The provided model identifier is invalid.")
    );
}

#[tokio::test]
async fn base_model_id_without_on_demand_is_a_validation_exception() {
    let server = MockBedrock::start().await;
    let client = runtime_client(&server, &Caller::default());
    let e = invoke_error(&client, "anthropic.claude-opus-4-6-v1", &request_body()).await;
    assert!(
        matches!(e, InvokeModelError::ValidationException(_)),
        "{e:?}"
    );
    assert_eq!(
        e.message(),
        Some(
            "Invocation of model ID anthropic.claude-opus-4-6-v1 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        )
    );
}

#[tokio::test]
async fn model_states_are_access_denied_and_not_found() {
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .model_state("anthropic.claude-opus-4-7", ModelState::NotEnabled)
            .model_state("anthropic.claude-opus-4-8", ModelState::NotFound),
    )
    .await;
    let client = runtime_client(&server, &Caller::default());

    let e = invoke_error(&client, "us.anthropic.claude-opus-4-7", &request_body()).await;
    assert!(
        matches!(e, InvokeModelError::AccessDeniedException(_)),
        "{e:?}"
    );
    assert_eq!(
        e.message(),
        Some("You don't have access to the model with the specified model ID.")
    );

    let e = invoke_error(&client, "us.anthropic.claude-opus-4-8", &request_body()).await;
    assert!(
        matches!(e, InvokeModelError::ResourceNotFoundException(_)),
        "{e:?}"
    );
    assert_eq!(e.message(), Some("Model not found."));
}

#[tokio::test]
async fn throttling_rule_is_a_throttling_exception_in_one_attempt() {
    let server = MockBedrock::start().await;
    server.mount(
        Rule::new(
            Match::operation(Operation::InvokeModel),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .expect(1),
    );
    let client = runtime_client(&server, &Caller::default());
    let e = invoke_error(&client, SONNET, &request_body()).await;
    assert!(
        matches!(e, InvokeModelError::ThrottlingException(_)),
        "{e:?}"
    );
    assert_eq!(
        e.message(),
        Some("Too many requests, please wait before trying again.")
    );
    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 1, "retries are off");
    assert_eq!(recorded[0].status, Some(429));
}

#[tokio::test]
async fn stream_field_in_the_body_is_a_validation_exception() {
    let server = MockBedrock::start().await;
    let client = runtime_client(&server, &Caller::default());
    let mut body = request_body();
    body["stream"] = json!(true);
    let e = invoke_error(&client, SONNET, &body).await;
    assert!(
        matches!(e, InvokeModelError::ValidationException(_)),
        "{e:?}"
    );
    assert_eq!(e.message(), Some("stream: Extra inputs are not permitted"));
}

#[tokio::test]
async fn unknown_inference_profile_is_resource_not_found() {
    use control::operation::get_inference_profile::GetInferenceProfileError;

    let server = MockBedrock::start().await;
    let client = control_client(&server, &Caller::default());
    let e = service_error(
        client
            .get_inference_profile()
            .inference_profile_identifier("us.anthropic.claude-nonexistent-v9")
            .send()
            .await,
    );
    assert!(
        matches!(e, GetInferenceProfileError::ResourceNotFoundException(_)),
        "{e:?}"
    );
    assert!(
        e.message()
            .is_some_and(|m| m.contains("us.anthropic.claude-nonexistent-v9")),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// 6. Authentication
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_secret_is_an_invalid_signature() {
    let server = MockBedrock::start().await;
    let caller = Caller::keys(EXAMPLE_ACCESS_KEY_ID, "not-the-secret");
    assert_eq!(
        auth_rejection(&server, &caller).await,
        (
            "InvalidSignatureException".to_owned(),
            SIGNATURE_MISMATCH.to_owned()
        )
    );
    assert_eq!(server.received_requests()[0].status, Some(403));
}

#[tokio::test]
async fn unknown_access_key_is_an_unrecognized_client() {
    let server = MockBedrock::start().await;
    let caller = Caller::keys("AKIAUNKNOWNKEY000000", EXAMPLE_SECRET_ACCESS_KEY);
    assert_eq!(
        auth_rejection(&server, &caller).await,
        (
            "UnrecognizedClientException".to_owned(),
            "The security token included in the request is invalid.".to_owned()
        )
    );
}

#[tokio::test]
async fn expired_session_credential_is_an_expired_token() {
    let expired = SystemTime::now() - Duration::from_secs(3600);
    let server = MockBedrock::start_with(ServerConfig::default().credential(
        Credential::new(SESSION_KEY_ID, SESSION_SECRET).session(SESSION_TOKEN, expired),
    ))
    .await;
    assert_eq!(
        auth_rejection(&server, &Caller::session(SESSION_SECRET)).await,
        (
            "ExpiredTokenException".to_owned(),
            "The security token included in the request is expired".to_owned()
        )
    );
}

#[tokio::test]
async fn valid_session_credential_is_accepted() {
    let valid_until = SystemTime::now() + Duration::from_secs(3600);
    let server = MockBedrock::start_with(ServerConfig::default().credential(
        Credential::new(SESSION_KEY_ID, SESSION_SECRET).session(SESSION_TOKEN, valid_until),
    ))
    .await;
    let client = runtime_client(&server, &Caller::session(SESSION_SECRET));
    let output = invoke(&client, SONNET, &request_body())
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let message: Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(message["content"][0]["text"], "hi");
    let auth = &server.received_requests()[0].auth;
    assert!(auth.accepted, "{auth:?}");
    assert_eq!(auth.access_key_id.as_deref(), Some(SESSION_KEY_ID));
}

#[tokio::test]
async fn server_clock_ahead_is_an_expired_signature() {
    let server = MockBedrock::builder()
        .clock(Clock::fixed(SystemTime::now() + Duration::from_secs(600)))
        .start()
        .await
        .unwrap();
    // `sdk_config()` signs at the server's clock; this client signs at the
    // system's, ten minutes behind it.
    let config = runtime::config::Builder::from(&server.sdk_config())
        .time_source(aws_types::sdk_config::SharedTimeSource::default())
        .retry_config(RetryConfig::disabled())
        .build();
    let client = runtime::Client::from_conf(config);
    let e = invoke_error(&client, SONNET, &request_body()).await;
    let (code, message) = (
        e.code().unwrap_or_default(),
        e.message().unwrap_or_default(),
    );
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 5 min.)"), "{message}");
}

#[tokio::test]
async fn region_outside_the_account_is_an_invalid_signature() {
    let server = MockBedrock::start().await;
    let caller = Caller::default().in_region("eu-west-3");
    assert_eq!(
        auth_rejection(&server, &caller).await,
        (
            "InvalidSignatureException".to_owned(),
            "Credential should be scoped to a valid region.".to_owned()
        )
    );
    assert_eq!(
        server.received_requests()[0].auth.region.as_deref(),
        Some("eu-west-3")
    );
}

// ---------------------------------------------------------------------------
// 7. No secret leaks
// ---------------------------------------------------------------------------

/// Every run of exactly 64 hex digits in `text`.
fn hex64_runs(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|run| run.len() == 64)
        .collect()
}

#[tokio::test]
async fn neither_journal_nor_error_bodies_leak_secrets() {
    let valid_until = SystemTime::now() + Duration::from_secs(3600);
    let server = MockBedrock::start_with(ServerConfig::default().credential(
        Credential::new(SESSION_KEY_ID, SESSION_SECRET).session(SESSION_TOKEN, valid_until),
    ))
    .await;
    server.mount(
        Rule::new(
            Match::operation(Operation::InvokeModel).model("us.anthropic.claude-haiku-*"),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .times(1),
    );
    let good = Caller::session(SESSION_SECRET);
    let bad = Caller::session("a-wrong-secret-for-the-session-key");
    let runtime = runtime_client(&server, &good);
    let control = control_client(&server, &good);
    let mut seen_errors = Vec::new();
    let mut messages = Vec::new();

    // Successes.
    invoke(&runtime, SONNET, &request_body()).await.unwrap();
    let mut stream = open_stream(&runtime).await;
    while stream.body.recv().await.unwrap().is_some() {}
    control
        .list_inference_profiles()
        .max_results(3)
        .send()
        .await
        .unwrap();
    control
        .get_inference_profile()
        .inference_profile_identifier(SONNET)
        .send()
        .await
        .unwrap();

    // Failures: Bedrock's own, a rule's, and the signature check's.
    for (client, model) in [
        (&runtime, "us.anthropic.claude-nonexistent-v9"),
        (&runtime, "anthropic.claude-opus-4-6-v1"),
        (&runtime, "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        (&runtime_client(&server, &bad), SONNET),
    ] {
        let error = invoke(client, model, &request_body()).await.unwrap_err();
        seen_errors.push(format!("{error:?}"));
        seen_errors.push(DisplayErrorContext(&error).to_string());
        let service = service_error::<(), _, _>(Err(error));
        seen_errors.push(service.message().unwrap_or_default().to_owned());
        messages.push(service.message().unwrap_or_default().to_owned());
    }
    let profile_error = control
        .get_inference_profile()
        .inference_profile_identifier("nope")
        .send()
        .await
        .unwrap_err();
    seen_errors.push(format!("{profile_error:?}"));

    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 9);
    assert_eq!(
        recorded.iter().filter(|r| r.status == Some(200)).count(),
        4,
        "the four successes succeeded"
    );
    // Each failure's message is in the journal as the client read it.
    let journaled: Vec<&str> = recorded[4..8]
        .iter()
        .map(|r| r.error_message.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(journaled, messages);
    assert!(messages.iter().all(|m| !m.is_empty()), "{messages:?}");
    assert_eq!(recorded[0].error_message, None, "a success has no message");
    let journal = serde_json::to_string(&recorded).unwrap();
    let mut signatures = good.wire.signatures();
    signatures.extend(bad.wire.signatures());
    assert_eq!(signatures.len(), 9, "one signature per request");
    assert!(journal.contains(SESSION_KEY_ID), "the key id is not secret");

    for (place, text) in std::iter::once(("journal", &journal)).chain(
        seen_errors
            .iter()
            .map(|text| ("an error the SDK received", text)),
    ) {
        for secret in [SESSION_SECRET, SESSION_TOKEN, EXAMPLE_SECRET_ACCESS_KEY] {
            assert!(!text.contains(secret), "{place} holds `{secret}`: {text}");
        }
        for signature in &signatures {
            assert!(
                !text.contains(signature.as_str()),
                "{place} holds signature {signature}: {text}"
            );
        }
        assert_eq!(hex64_runs(text), Vec::<&str>::new(), "{place}: {text}");
    }
    // The journal stays useful: who signed, and that something was hidden.
    assert!(journal.contains("<redacted>"));
    assert!(
        recorded
            .iter()
            .all(|r| r.header("x-amz-security-token") == Some("<redacted>"))
    );
}
