//! The real AWS SDK against a plain `wiremock::MockServer` answering with
//! the mock's responders and checking SigV4 with its matcher (feature
//! `wiremock`).

use std::time::Duration;

use aws_sdk_bedrockruntime as runtime;
use bedrock_mock_server::wiremock::{BedrockError, BedrockInvoke, BedrockStream, ValidSigV4};
use bedrock_mock_server::{
    Clock, Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Reply,
};
use runtime::config::retry::RetryConfig;
use runtime::config::{BehaviorVersion, Credentials, Region};
use runtime::error::{DisplayErrorContext, SdkError};
use runtime::operation::invoke_model::InvokeModelError;
use runtime::primitives::Blob;
use runtime::types::ResponseStream;
use runtime::types::error::ResponseStreamError;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

use crate::common::signing_time;

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const STREAM_PATH: &str = "^/model/[^/]+/invoke-with-response-stream$";
const INVOKE_PATH: &str = "^/model/[^/]+/invoke$";

/// The SDK pointed at `server`, signing with `key`/`secret`, one attempt.
fn client(server: &MockServer, key: &str, secret: &str) -> runtime::Client {
    let config = runtime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.uri())
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    runtime::Client::from_conf(config)
}

fn example_client(server: &MockServer) -> runtime::Client {
    client(server, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
}

fn body(max_tokens: u64, text: &str) -> Blob {
    Blob::new(
        serde_json::to_vec(&serde_json::json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}],
        }))
        .unwrap(),
    )
}

/// The text of every `text_delta` of a stream, and the error ending it.
async fn read_stream(
    client: &runtime::Client,
    max_tokens: u64,
    prompt: &str,
) -> (String, Vec<String>, Option<ResponseStreamError>) {
    let mut output = client
        .invoke_model_with_response_stream()
        .model_id(SONNET)
        .body(body(max_tokens, prompt))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let (mut text, mut types) = (String::new(), Vec::new());
    loop {
        match output.body.recv().await {
            Ok(Some(ResponseStream::Chunk(chunk))) => {
                let json: serde_json::Value =
                    serde_json::from_slice(chunk.bytes().unwrap().as_ref()).unwrap();
                types.push(json["type"].as_str().unwrap_or_default().to_owned());
                text.push_str(json["delta"]["text"].as_str().unwrap_or_default());
            }
            Ok(Some(other)) => panic!("{other:?}"),
            Ok(None) => return (text, types, None),
            Err(SdkError::ServiceError(e)) => return (text, types, Some(e.into_err())),
            Err(e) => panic!("{}", DisplayErrorContext(&e)),
        }
    }
}

#[tokio::test]
async fn the_sdk_decodes_the_responders_stream_rendered_against_its_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(STREAM_PATH))
        .and(ValidSigV4::new())
        .respond_with(BedrockStream::new(Reply::echo()))
        .expect(1)
        .mount(&server)
        .await;
    let (text, types, error) =
        read_stream(&example_client(&server), 3, "one two three four five").await;
    assert!(error.is_none());
    // Echoed and cut at max_tokens, as the mock does.
    assert_eq!(text, "one two three");
    assert_eq!(types.first().map(String::as_str), Some("message_start"));
    assert_eq!(types.last().map(String::as_str), Some("message_stop"));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
}

#[tokio::test]
async fn a_stream_exception_is_the_sdks_typed_error_mid_stream() {
    let server = MockServer::start().await;
    let exception = "throttlingException".parse().unwrap();
    Mock::given(path_regex(STREAM_PATH))
        .respond_with(BedrockStream::new(Reply::text("never sent")).exception_after(2, exception))
        .mount(&server)
        .await;
    let (_, types, error) = read_stream(&example_client(&server), 64, "hi").await;
    assert_eq!(types, ["message_start", "content_block_start"]);
    let Some(ResponseStreamError::ThrottlingException(e)) = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        e.message(),
        Some("Too many requests, please wait before trying again.")
    );
}

#[tokio::test]
async fn an_error_responder_is_the_sdks_typed_error_and_invoke_answers_json() {
    let server = MockServer::start().await;
    Mock::given(path_regex(INVOKE_PATH))
        .respond_with(BedrockError::new(ErrorCode::ThrottlingException))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path_regex(INVOKE_PATH))
        .respond_with(BedrockInvoke::new(Reply::text("after the throttle")))
        .mount(&server)
        .await;
    let client = example_client(&server);
    let send = || {
        client
            .invoke_model()
            .model_id(SONNET)
            .body(body(64, "hi"))
            .send()
    };
    let error = send().await.unwrap_err().into_service_error();
    let InvokeModelError::ThrottlingException(e) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        e.message(),
        Some("Too many requests, please wait before trying again.")
    );
    let output = send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let message: serde_json::Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(message["content"][0]["text"], "after the throttle");
    assert_eq!(message["usage"]["output_tokens"], 3);
    assert_eq!(message["model"], "claude-sonnet-4-5-20250929");
}

#[tokio::test]
async fn the_matcher_refuses_a_wrong_secret_and_takes_a_given_credential() {
    let server = MockServer::start().await;
    Mock::given(path_regex(INVOKE_PATH))
        .and(ValidSigV4::new().accepting(Credential::new("AKIAGIVENEXAMPLE", "givenSecret")))
        .respond_with(BedrockInvoke::new(Reply::text("signed")))
        .mount(&server)
        .await;
    let send = |client: runtime::Client| async move {
        client
            .invoke_model()
            .model_id(SONNET)
            .body(body(8, "hi"))
            .send()
            .await
    };
    let wrong = send(client(&server, EXAMPLE_ACCESS_KEY_ID, "not-the-secret")).await;
    let raw = wrong.unwrap_err();
    assert_eq!(raw.raw_response().map(|r| r.status().as_u16()), Some(404));
    send(example_client(&server))
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    send(client(&server, "AKIAGIVENEXAMPLE", "givenSecret"))
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
}

#[tokio::test]
async fn the_matcher_reads_its_clock() {
    let server = MockServer::start().await;
    // A clock far from the SDK's (the system's): its signatures are stale.
    let clock = Clock::fixed(signing_time());
    Mock::given(path_regex(INVOKE_PATH))
        .and(ValidSigV4::new().clock(clock.clone()))
        .respond_with(BedrockInvoke::new(Reply::default()))
        .mount(&server)
        .await;
    let send = || {
        example_client(&server)
            .invoke_model()
            .model_id(SONNET)
            .body(body(8, "hi"))
            .send()
    };
    let stale = send().await.unwrap_err();
    assert_eq!(stale.raw_response().map(|r| r.status().as_u16()), Some(404));
    clock.set(std::time::SystemTime::now());
    clock.advance(Duration::from_secs(1));
    send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
}

#[tokio::test]
async fn an_error_that_is_not_valid_http_is_bedrocks_500_not_a_panic() {
    let server = MockServer::start().await;
    let invalid = bedrock_mock_server::AwsError::new(1000, "Bad\nCode", "no such status");
    Mock::given(path_regex(INVOKE_PATH))
        .respond_with(BedrockError::from(invalid))
        .mount(&server)
        .await;
    let error = example_client(&server)
        .invoke_model()
        .model_id(SONNET)
        .body(body(8, "hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(500));
    let error = error.into_service_error();
    assert!(error.is_internal_server_exception(), "{error:?}");
    let message = runtime::error::ProvideErrorMetadata::message(&error).unwrap_or_default();
    assert!(
        message.starts_with("the answer is not valid HTTP: "),
        "{message}"
    );
}
