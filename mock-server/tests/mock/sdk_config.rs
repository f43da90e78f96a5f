//! `MockBedrock::sdk_config()` and its clients (feature `aws-sdk`): the
//! SDK signs at the mock's clock, retries quickly, and the public renderer
//! writes the same bytes the server sends.

use std::time::Duration;

use aws_sdk_bedrockruntime as runtime;
use bedrock_mock_server::render::Renderer;
use bedrock_mock_server::{
    Answer, AuthMode, Clock, Credential, ErrorCode, Match, MockBedrock, Operation, Reply, Rule,
    ServerConfig,
};
use runtime::error::{DisplayErrorContext, ProvideErrorMetadata};
use runtime::primitives::Blob;
use runtime::types::ResponseStream;

use crate::common::{send, signing_time};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SESSION_KEY_ID: &str = "ASIAGLUEEXAMPLE";
const SESSION_SECRET: &str = "glueSessionSecret/DoNotLeak+0123456789";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjGLUETOKEN//DoNotLeak==";

fn body(max_tokens: u64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
    }))
    .unwrap()
}

async fn invoke(client: &runtime::Client) -> Result<String, String> {
    client
        .invoke_model()
        .model_id(SONNET)
        .body(Blob::new(body(64, "Say hi")))
        .send()
        .await
        .map(|out| String::from_utf8_lossy(out.body().as_ref()).into_owned())
        .map_err(|e| e.code().unwrap_or("no code").to_owned())
}

#[tokio::test]
async fn the_sdk_signs_at_the_mocks_clock_and_sees_a_session_expire_when_it_moves() {
    // Far from the system's time: a signature made at the system's clock
    // would be refused as skewed.
    let clock = Clock::fixed(signing_time());
    let expires = signing_time() + Duration::from_secs(3600);
    let config = ServerConfig::default().credential(
        Credential::new(SESSION_KEY_ID, SESSION_SECRET).session(SESSION_TOKEN, expires),
    );
    let server = MockBedrock::builder()
        .config(config)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let session = runtime::config::Credentials::new(
        SESSION_KEY_ID,
        SESSION_SECRET,
        Some(SESSION_TOKEN.to_owned()),
        None,
        "test",
    );
    let client = runtime::Client::from_conf(
        runtime::config::Builder::from(&server.sdk_config())
            .credentials_provider(session)
            .build(),
    );

    invoke(&client).await.expect("signed at the mock's time");
    clock.advance(Duration::from_secs(2 * 3600));
    let expired = invoke(&client).await.unwrap_err();
    assert_eq!(expired, "ExpiredTokenException");
    // The example credentials still work at the new time: the SDK signed
    // at it (a signature two hours old would be "Signature expired").
    invoke(&server.runtime_client())
        .await
        .expect("example credentials");
    let dates: Vec<String> = server
        .received_requests()
        .iter()
        .map(|r| r.header("x-amz-date").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        dates,
        ["20261125T162401Z", "20261125T182401Z", "20261125T182401Z"]
    );
    let journal = format!("{:?}", server.received_requests());
    assert!(!journal.contains(SESSION_SECRET) && !journal.contains(SESSION_TOKEN));
}

#[tokio::test]
async fn a_throttle_is_retried_quickly_by_the_sdk_config() {
    let server = MockBedrock::start().await;
    server.mount(
        Rule::new(
            Match::operation(Operation::InvokeModel),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .times(2),
    );
    let started = std::time::Instant::now();
    let message = invoke(&server.runtime_client())
        .await
        .expect("the third attempt succeeds");
    assert!(message.contains("\"text\":\"hi\""), "{message}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let statuses: Vec<Option<u16>> = server
        .received_requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);
}

#[tokio::test]
async fn the_region_is_the_accounts_home_region() {
    let server = MockBedrock::start().await;
    server.update_config(|c| c.regions = vec!["eu-west-1".to_owned(), "us-east-1".to_owned()]);
    assert_eq!(
        server.sdk_config().region().map(|r| r.as_ref()),
        Some("eu-west-1")
    );
    assert_eq!(
        server.sdk_config().endpoint_url(),
        Some(server.uri().as_str())
    );
    let out = server
        .runtime_client()
        .invoke_model()
        .model_id("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .body(Blob::new(body(8, "hello")))
        .send()
        .await;
    out.unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let journal = server.received_requests();
    assert_eq!(journal[0].auth.region.as_deref(), Some("eu-west-1"));
}

#[tokio::test]
async fn the_control_plane_and_sts_clients_reach_the_mock() {
    let server = MockBedrock::start().await;
    let profiles = server
        .control_client()
        .list_inference_profiles()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    assert!(!profiles.inference_profile_summaries().is_empty());
    let me = server
        .sts_client()
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    assert_eq!(me.account(), Some("123456789012"));
}

#[tokio::test]
async fn the_sdk_decodes_a_stream_and_the_journal_has_it() {
    let server =
        MockBedrock::start_with(ServerConfig::default().reply(Reply::text("one two three"))).await;
    let mut output = server
        .runtime_client()
        .invoke_model_with_response_stream()
        .model_id(SONNET)
        .body(Blob::new(body(64, "Count")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let mut text = String::new();
    while let Some(event) = output.body.recv().await.unwrap() {
        let ResponseStream::Chunk(chunk) = event else {
            panic!("{event:?}")
        };
        let json: serde_json::Value =
            serde_json::from_slice(chunk.bytes().unwrap().as_ref()).unwrap();
        if let Some(t) = json["delta"]["text"].as_str() {
            text.push_str(t);
        }
    }
    assert_eq!(text, "one two three");
    let request = &server.received_requests()[0];
    assert_eq!(
        request.operation,
        Some(Operation::InvokeModelWithResponseStream)
    );
    assert!(request.frames.iter().any(|f| f.is_event("message_stop")));
}

// ---------------------------------------------------------------------------
// The public renderer writes what the server sends.
// ---------------------------------------------------------------------------

async fn open_server() -> MockBedrock {
    MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await
}

#[tokio::test]
async fn the_renderer_writes_the_servers_bytes() {
    let request = body(3, "alpha beta gamma delta");
    let model = SONNET;
    for (operation, echo) in [("invoke", false), ("invoke-with-response-stream", true)] {
        let server = open_server().await;
        let reply = if echo {
            Reply::echo()
        } else {
            Reply::text("a b c d e")
        };
        server.update_config(|c| c.reply = reply.clone());
        let sent = send(
            server.address(),
            "POST",
            &format!("/model/{model}/{operation}"),
            &[("content-type", "application/json")],
            &request,
        )
        .await;
        let mut renderer = Renderer::default();
        let rendered = if echo {
            renderer.stream(&reply, &request, model).unwrap()
        } else {
            renderer.invoke(&reply, &request, model).unwrap()
        };
        assert_eq!(sent.status, rendered.status, "{operation}: {}", sent.text());
        assert_eq!(sent.body, rendered.body, "{operation}");
        for (name, value) in &rendered.headers {
            assert_eq!(
                sent.header(name),
                Some(value.as_str()),
                "{operation}: {name}"
            );
        }
    }
}

#[tokio::test]
async fn the_renderers_error_is_the_servers() {
    let server = open_server().await;
    server.mount(Rule::new(
        Match::any(),
        Answer::error(ErrorCode::ServiceQuotaExceededException),
    ));
    let sent = send(server.address(), "POST", "/model/m/invoke", &[], b"{}").await;
    let error = bedrock_mock_server::AwsError::from(ErrorCode::ServiceQuotaExceededException);
    let rendered = Renderer::default().error(&error);
    assert_eq!(sent.status, rendered.status);
    assert_eq!(sent.body, rendered.body);
    let names = |h: &[(String, String)]| h.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let sent_names: Vec<String> = names(&sent.headers)
        .into_iter()
        .filter(|n| !["content-length", "date", "connection"].contains(&n.as_str()))
        .collect();
    assert_eq!(sent_names, names(&rendered.headers));
    assert_eq!(
        sent.header("x-amzn-errortype"),
        rendered.header("x-amzn-errortype")
    );
}

#[test]
fn the_verifier_refuses_in_aws_words_and_never_quotes_a_secret() {
    let secret = bedrock_mock_server::EXAMPLE_SECRET_ACCESS_KEY;
    // A secret key sent where the key id belongs.
    let request = http::Request::post("http://127.0.0.1/model/m/invoke")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={secret}/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
        )
        .header("x-amz-date", "20261125T162401Z")
        .header("host", "127.0.0.1")
        .body(Vec::new())
        .unwrap();
    let refused = bedrock_mock_server::render::verify_sigv4(
        &request,
        &ServerConfig::default(),
        signing_time(),
    )
    .unwrap_err();
    assert_eq!(refused.status, 403);
    assert!(!refused.message.contains(secret), "{refused}");
    let answer = Renderer::default().error(&refused);
    assert!(!String::from_utf8_lossy(&answer.body).contains(secret));
}

#[tokio::test]
async fn the_sdk_signs_with_the_accounts_own_first_key() {
    let mut config = ServerConfig::default();
    config.credentials = vec![Credential::new(SESSION_KEY_ID, SESSION_SECRET).session(
        SESSION_TOKEN,
        std::time::SystemTime::now() + Duration::from_secs(3600),
    )];
    let server = MockBedrock::start_with(config).await;
    invoke(&server.runtime_client()).await.unwrap();
    let journal = server.received_requests();
    assert_eq!(
        journal[0].auth.access_key_id.as_deref(),
        Some(SESSION_KEY_ID)
    );
    assert!(
        journal[0]
            .headers
            .iter()
            .any(|(name, value)| name == "x-amz-security-token" && value == "<redacted>")
    );
}
