//! A turn through the provider against the in-process mock: each variable
//! of the seed changes what goes on the wire as the real CLI's does
//! (`../shared/golden`), every auth mode is accepted by the mock's
//! verifier, and retries, resends and refreshes end where the CLI's do.
//! Backoff runs on a virtual clock. Refresh loops end to end are in
//! `refresh`.

mod refresh;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{TurnError, prompt_request, run_turn};
use crate::authorize::ModelRegion;
use crate::endpoint::Endpoint;
use crate::failure::{Failure, classify};
use crate::provider::{Call, Plane};
use crate::request::{MessagesRequest, TextBlock, Thinking};
use crate::retrying::AttemptError;
use crate::tests::{Sandbox, provider};
use bedrock_mock_server::{
    Answer, AuthMode, Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Match, MockBedrock, ModelState, Operation,
    RecordedRequest, Rule, ServerConfig,
};
use serde_json::{Value, json};

const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
];
const OPUS: &str = "us.anthropic.claude-opus-5-5";

/// Runs one `-p`-style turn on `model` with `env` (Bedrock on, the example
/// keys, unless `env` says otherwise); returns the outcome and what the
/// server received.
async fn turn_with(
    server: &MockBedrock,
    sandbox: &Sandbox,
    model: &str,
    env: &[(&str, &str)],
) -> (Result<String, TurnError>, Vec<RecordedRequest>) {
    let mut all = vec![("CLAUDE_CODE_USE_BEDROCK", "1")];
    all.extend_from_slice(&KEYS);
    all.extend_from_slice(env);
    let (mut provider, _) = provider(sandbox, server, &all);
    let request = prompt_request(provider.config(), provider.identity(), "say hi");
    let outcome = run_turn(&mut provider, model, request, &mut |_| {})
        .await
        .map(|answer| answer.text);
    (outcome, server.received_requests())
}

fn names(request: &RecordedRequest) -> Vec<&str> {
    request.headers.iter().map(|(n, _)| n.as_str()).collect()
}

fn signed_headers(request: &RecordedRequest) -> String {
    let authorization = request.header("authorization").unwrap_or_default();
    authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_default()
        .to_owned()
}

fn body(request: &RecordedRequest) -> Value {
    serde_json::from_str(&request.body).unwrap()
}

#[tokio::test]
async fn a_signed_invoke_turn_is_sent_as_the_cli_sends_it() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-signed");
    let (outcome, journal) = turn_with(&server, &sandbox, OPUS, &[]).await;
    assert_eq!(outcome.unwrap(), "hi");
    let [turn] = journal.as_slice() else {
        panic!("{journal:?}")
    };
    assert_eq!(
        turn.raw_path,
        "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream"
    );
    assert!(turn.auth.accepted, "{:?}", turn.auth);
    assert_eq!(turn.auth.service.as_deref(), Some("bedrock"));
    // golden/a_happy seq 5, less `anthropic-beta` (this turn asks for none)
    // and the transport's own connection and encoding headers.
    assert_eq!(
        signed_headers(turn),
        "accept;anthropic-dangerous-direct-browser-access;anthropic-version;content-type;host;x-amz-content-sha256;x-amz-date;x-app;x-claude-code-session-id;x-stainless-arch;x-stainless-lang;x-stainless-os;x-stainless-package-version;x-stainless-retry-count;x-stainless-runtime;x-stainless-runtime-version;x-stainless-timeout"
    );
    assert_eq!(
        &names(turn)[..5],
        [
            "accept",
            "authorization",
            "content-type",
            "host",
            "user-agent"
        ]
    );
    assert_eq!(turn.header("x-stainless-timeout"), Some("600"));
    assert_eq!(turn.header("x-stainless-retry-count"), Some("0"));
    let body = body(turn);
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert!(body.get("model").is_none() && body.get("stream").is_none());
    let user_id: Value =
        serde_json::from_str(body["metadata"]["user_id"].as_str().unwrap()).unwrap();
    assert_eq!(
        Some(user_id["session_id"].as_str().unwrap()),
        turn.header("x-claude-code-session-id")
    );
}

/// The caching markers of a turn's body.
fn markers(body: &Value) -> Vec<Value> {
    let mut found: Vec<Value> = body["system"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["cache_control"].clone())
        .collect();
    found.push(body["messages"][0]["content"][0]["cache_control"].clone());
    found.retain(|m| !m.is_null());
    found
}

#[tokio::test]
async fn the_caching_variables_change_the_markers_and_nothing_else() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-caching");
    let mut bodies = Vec::new();
    for env in [
        &[][..],
        &[("DISABLE_PROMPT_CACHING", "1")][..],
        &[("ENABLE_PROMPT_CACHING_1H", "true")][..],
    ] {
        server.reset();
        let (outcome, journal) = turn_with(&server, &sandbox, OPUS, env).await;
        outcome.unwrap();
        bodies.push((body(&journal[0]), names(&journal[0]).len()));
    }
    assert_eq!(markers(&bodies[0].0), vec![json!({"type": "ephemeral"}); 2]);
    assert_eq!(markers(&bodies[1].0), Vec::<Value>::new());
    assert_eq!(
        markers(&bodies[2].0),
        vec![json!({"type": "ephemeral", "ttl": "1h"}); 2]
    );
    // No header change (golden/j1, j2).
    assert!(bodies.iter().all(|(_, headers)| *headers == bodies[0].1));
}

#[tokio::test]
async fn the_service_tier_and_custom_headers_go_out_signed() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-tier");
    // golden/i_tier_headers.
    let (outcome, journal) = turn_with(
        &server,
        &sandbox,
        OPUS,
        &[
            ("ANTHROPIC_BEDROCK_SERVICE_TIER", "priority"),
            (
                "ANTHROPIC_CUSTOM_HEADERS",
                "X-Amzn-Bedrock-GuardrailIdentifier: gr-abc123\nX-Amzn-Bedrock-GuardrailVersion: 1",
            ),
        ],
    )
    .await;
    outcome.unwrap();
    let turn = &journal[0];
    assert!(turn.auth.accepted);
    assert_eq!(turn.header("x-amzn-bedrock-service-tier"), Some("priority"));
    assert_eq!(
        turn.header("x-amzn-bedrock-guardrailidentifier"),
        Some("gr-abc123")
    );
    assert_eq!(turn.header("x-amzn-bedrock-guardrailversion"), Some("1"));
    assert!(signed_headers(turn).contains(
        ";x-amz-date;x-amzn-bedrock-guardrailidentifier;x-amzn-bedrock-guardrailversion;x-amzn-bedrock-service-tier;x-app;"
    ));
}

#[tokio::test]
async fn a_probe_carries_custom_headers_but_no_tier_and_no_betas() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-probe");
    let mut env = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("ANTHROPIC_BEDROCK_SERVICE_TIER", "flex"),
        ("ANTHROPIC_CUSTOM_HEADERS", "X-Gateway-Route: blue"),
    ];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    let probe = MessagesRequest::probe(
        vec![TextBlock::new("sys")],
        provider.identity().metadata_user_id(),
    );
    let call = Call::probe(
        Endpoint::Bedrock,
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ModelRegion::Main,
        &probe,
        provider.config().cli.time_limits.probe,
    );
    let response = provider.send(&call).await.unwrap();
    assert_eq!(response.status, 200);
    let journal = server.received_requests();
    let sent = &journal[0];
    assert!(sent.auth.accepted);
    assert_eq!(sent.header("x-gateway-route"), Some("blue"));
    assert_eq!(sent.header("x-stainless-timeout"), Some("8"));
    for absent in [
        "x-amzn-bedrock-service-tier",
        "anthropic-beta",
        "anthropic-dangerous-direct-browser-access",
    ] {
        assert_eq!(sent.header(absent), None, "{absent}");
    }
    assert_eq!(sent.body.len(), call.body.len());
    assert!(
        sent.body
            .starts_with(r#"{"max_tokens":1,"messages":[{"role":"user","content":"."}]"#)
    );
}

#[tokio::test]
async fn a_bearer_key_replaces_sigv4_on_every_call() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-bearer");
    let (outcome, journal) = turn_with(
        &server,
        &sandbox,
        OPUS,
        &[("AWS_BEARER_TOKEN_BEDROCK", EXAMPLE_API_KEY)],
    )
    .await;
    outcome.unwrap();
    let turn = &journal[0];
    assert_eq!(turn.auth.scheme, "bearer");
    assert!(turn.auth.accepted);
    assert!(
        !names(turn).iter().any(|n| n.starts_with("x-amz-")),
        "{:?}",
        names(turn)
    );
    // golden/f_bearer: the SDK's order, host last.
    assert_eq!(
        &names(turn)[..4],
        ["accept", "authorization", "content-type", "user-agent"]
    );
    assert_eq!(
        names(turn).iter().rev().find(|n| **n != "content-length"),
        Some(&"host")
    );
    // The key never reaches the journal.
    assert!(
        !serde_json::to_string(&journal)
            .unwrap()
            .contains(EXAMPLE_API_KEY)
    );
}

#[tokio::test]
async fn skipped_auth_sends_no_credentials_at_all() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let sandbox = Sandbox::new("turn-skip");
    for (env, model) in [
        (vec![("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1")], OPUS),
        (
            vec![
                ("CLAUDE_CODE_USE_MANTLE", "1"),
                ("CLAUDE_CODE_SKIP_MANTLE_AUTH", "1"),
            ],
            "anthropic.claude-haiku-4-5",
        ),
    ] {
        server.reset();
        let (outcome, journal) = turn_with(&server, &sandbox, model, &env).await;
        assert_eq!(outcome.unwrap(), "hi");
        let sent = &journal[0];
        assert_eq!(sent.header("authorization"), None);
        assert!(
            !names(sent).iter().any(|n| n.starts_with("x-amz-")),
            "{:?}",
            names(sent)
        );
    }
}

#[tokio::test]
async fn mantle_turns_carry_model_stream_and_betas_in_the_header() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-mantle");
    let mut env = vec![("CLAUDE_CODE_USE_MANTLE", "1")];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    let mut request = prompt_request(provider.config(), provider.identity(), "say hi");
    request.header_betas = vec!["claude-code-20250219".into()];
    request.body_betas = vec!["interleaved-thinking-2025-05-14".into()];
    let answer = run_turn(
        &mut provider,
        "anthropic.claude-opus-5-5",
        request,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(answer.text, "hi");
    assert_eq!(answer.stop_reason.as_deref(), Some("end_turn"));
    let journal = server.received_requests();
    let turn = &journal[0];
    // golden/m_mantle_only seq 2.
    assert_eq!(turn.raw_path, "/anthropic/v1/messages");
    assert_eq!(turn.query, "beta=true");
    assert_eq!(turn.auth.service.as_deref(), Some("bedrock-mantle"));
    assert!(turn.auth.accepted);
    assert_eq!(
        turn.header("anthropic-beta"),
        Some("claude-code-20250219,interleaved-thinking-2025-05-14")
    );
    let body = body(turn);
    assert_eq!(
        (body["model"].as_str(), body["stream"].as_bool()),
        (Some("anthropic.claude-opus-5-5"), Some(true))
    );
    assert!(body.get("anthropic_beta").is_none() && body.get("anthropic_version").is_none());
}

#[tokio::test]
async fn with_both_endpoints_the_model_id_picks_the_endpoint() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-both");
    let both = [("CLAUDE_CODE_USE_MANTLE", "1")];
    let (outcome, journal) =
        turn_with(&server, &sandbox, "anthropic.claude-haiku-4-5", &both).await;
    outcome.unwrap();
    assert_eq!(journal[0].operation, Some(Operation::MantleMessagesStream));
    server.reset();
    let (outcome, journal) = turn_with(&server, &sandbox, OPUS, &both).await;
    outcome.unwrap();
    assert_eq!(
        journal[0].operation,
        Some(Operation::InvokeModelWithResponseStream)
    );
}

#[tokio::test]
async fn the_region_variables_choose_the_signing_region() {
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .region("eu-west-1")
            .region("ap-southeast-2"),
    )
    .await;
    let sandbox = Sandbox::new("turn-region");
    let (outcome, journal) = turn_with(
        &server,
        &sandbox,
        "eu.anthropic.claude-opus-5-5",
        &[("AWS_REGION", "eu-west-1")],
    )
    .await;
    outcome.unwrap();
    assert_eq!(journal[0].auth.region.as_deref(), Some("eu-west-1"));
    // The small/fast model's calls (and only they) move.
    let mut env = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION", "ap-southeast-2"),
    ];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    for region in [ModelRegion::SmallFast, ModelRegion::Main] {
        server.reset();
        let probe = MessagesRequest::probe(Vec::new(), provider.identity().metadata_user_id());
        // Each region's own geography prefix.
        let model = format!(
            "{}.anthropic.claude-haiku-4-5-20251001-v1:0",
            if region == ModelRegion::SmallFast {
                "apac"
            } else {
                "us"
            }
        );
        let timeout = provider.config().cli.time_limits.probe;
        let call = Call::probe(Endpoint::Bedrock, &model, region, &probe, timeout);
        provider.send(&call).await.unwrap();
        let expected = if region == ModelRegion::SmallFast {
            "ap-southeast-2"
        } else {
            "us-east-1"
        };
        assert_eq!(
            server.received_requests()[0].auth.region.as_deref(),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn aws_profile_and_the_settings_env_block_are_read() {
    let server = MockBedrock::start_with(
        ServerConfig::default().credential(Credential::new("AKIAPROFILEDEV", "profile-dev-secret")),
    )
    .await;
    let sandbox = Sandbox::new("turn-profile");
    sandbox.write(
        "home/.aws/credentials",
        "[dev]\naws_access_key_id = AKIAPROFILEDEV\naws_secret_access_key = profile-dev-secret\n",
    );
    sandbox.write(
        "home/.claude/settings.json",
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_PROFILE": "dev", "ANTHROPIC_BEDROCK_SERVICE_TIER": "flex"}}"#,
    );
    let (mut provider, _) = provider(&sandbox, &server, &[]);
    let request = prompt_request(provider.config(), provider.identity(), "say hi");
    run_turn(&mut provider, OPUS, request, &mut |_| {})
        .await
        .unwrap();
    let journal = server.received_requests();
    assert_eq!(
        journal[0].auth.access_key_id.as_deref(),
        Some("AKIAPROFILEDEV")
    );
    assert_eq!(
        journal[0].header("x-amzn-bedrock-service-tier"),
        Some("flex")
    );
    assert!(
        !serde_json::to_string(&journal)
            .unwrap()
            .contains("profile-dev-secret")
    );
}

#[tokio::test]
async fn throttling_is_retried_within_claude_code_max_retries() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::error(ErrorCode::ThrottlingException),
    ));
    let sandbox = Sandbox::new("turn-retries");
    let mut env = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("CLAUDE_CODE_MAX_RETRIES", "3"),
    ];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    let request = prompt_request(provider.config(), provider.identity(), "say hi");
    let Err(TurnError::Refused(gave_up)) =
        run_turn(&mut provider, OPUS, request, &mut |_| {}).await
    else {
        panic!("throttled to the end")
    };
    assert_eq!(gave_up.attempts, 4);
    assert_eq!(server.received_requests().len(), 4);
    assert_eq!(
        provider.clock().slept(),
        [
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
    // Each retry is a new request: a new signature, the count still 0.
    let journal = server.received_requests();
    assert!(
        journal
            .iter()
            .all(|r| r.header("x-stainless-retry-count") == Some("0"))
    );
}

#[tokio::test]
async fn refused_model_access_and_invalid_ids_are_not_retried() {
    let server = MockBedrock::start_with(
        ServerConfig::default().model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled),
    )
    .await;
    let sandbox = Sandbox::new("turn-final");
    for model in [OPUS, "us.anthropic.claude-nope-v1:0"] {
        server.reset();
        let (outcome, journal) = turn_with(&server, &sandbox, model, &[]).await;
        let Err(TurnError::Refused(gave_up)) = outcome else {
            panic!("{model} refused")
        };
        assert_eq!((gave_up.attempts, journal.len()), (1, 1), "{model}");
        let AttemptError::Api(failure) = &gave_up.last else {
            panic!()
        };
        let expected = if model == OPUS {
            Failure::ModelAccess
        } else {
            Failure::Final
        };
        assert_eq!(classify(failure), expected, "{failure:?}");
    }
}

#[tokio::test]
async fn on_demand_refusals_are_resent_in_the_clis_two_rounds_then_end() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-on-demand");
    let mut env = vec![("CLAUDE_CODE_USE_BEDROCK", "1")];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    let mut request = prompt_request(provider.config(), provider.identity(), "say hi");
    request.body_betas = vec![
        "interleaved-thinking-2025-05-14".into(),
        "tool-search-tool-2025-10-19".into(),
    ];
    request.header_betas = vec!["claude-code-20250219".into()];
    request.thinking = Some(Thinking::Adaptive {
        display: Some("omitted".into()),
    });
    // A bare foundation-model id: AWS refuses it on demand.
    let bare = "anthropic.claude-3-7-sonnet-20250219-v1:0";
    let Err(TurnError::Refused(gave_up)) =
        run_turn(&mut provider, bare, request, &mut |_| {}).await
    else {
        panic!("refused")
    };
    let AttemptError::Api(failure) = &gave_up.last else {
        panic!()
    };
    assert_eq!(classify(failure), Failure::OnDemandThroughput);
    let journal = server.received_requests();
    // As the CLI 2.1.328 (conformance's on-demand-400*): the first send
    // and one without `thinking.display`; then the same two without the
    // tool-search beta.
    assert_eq!(journal.len(), 4);
    let betas: Vec<(usize, Option<&str>, bool)> = journal
        .iter()
        .map(|r| {
            let body = body(r);
            (
                body.get("anthropic_beta")
                    .map_or(0, |b| b.as_array().unwrap().len()),
                r.header("anthropic-beta"),
                body["thinking"].get("display").is_some(),
            )
        })
        .collect();
    assert_eq!(
        betas,
        [
            (2, Some("claude-code-20250219"), true),
            (2, Some("claude-code-20250219"), false),
            (1, Some("claude-code-20250219"), true),
            (1, Some("claude-code-20250219"), false),
        ]
    );
    assert!(
        provider.clock().slept().is_empty(),
        "resends do not back off"
    );
}

#[tokio::test]
async fn expired_credentials_are_exported_again_and_the_turn_passes() {
    let expired = |key: &str| {
        Credential::new(key, format!("{key}-secret")).session(format!("{key}-token"), UNIX_EPOCH)
    };
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .next_credential(expired("ASIAFIRST"))
            .next_credential(expired("ASIAMIDDLE"))
            .next_credential(Credential::new("ASIASECOND", "ASIASECOND-secret").session(
                "ASIASECOND-token",
                SystemTime::now() + Duration::from_secs(3600),
            )),
    )
    .await;
    let sandbox = Sandbox::new("turn-export");
    sandbox.write(
        "home/.claude/settings.json",
        &format!(
            r#"{{"awsCredentialExport": "curl -sf -X POST {}/__bedrock_mock/credentials/next", "env": {{"CLAUDE_CODE_USE_BEDROCK": "1"}}}}"#,
            server.uri()
        ),
    );
    let (mut provider, _) = provider(&sandbox, &server, &[]);
    let request = prompt_request(provider.config(), provider.identity(), "say hi");
    let answer = run_turn(&mut provider, OPUS, request, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(answer.text, "hi");
    assert_eq!(provider.credential_counts().exports, 3);
    assert_eq!(server.credential_report().issued, 3);
    let journal = server.received_requests();
    let sent: Vec<_> = journal
        .iter()
        .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
        .map(|r| {
            (
                r.auth.access_key_id.as_deref(),
                r.status,
                r.header("x-amz-security-token").is_some(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            (Some("ASIAFIRST"), Some(403), true),
            (Some("ASIAMIDDLE"), Some(403), true),
            (Some("ASIASECOND"), Some(200), true)
        ]
    );
    let journal = serde_json::to_string(&journal).unwrap();
    assert!(!journal.contains("ASIASECOND-secret") && !journal.contains("ASIASECOND-token"));
}

#[tokio::test]
async fn a_stream_cut_short_is_an_error_not_an_answer() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-cut");
    for endpoint_env in [vec![], vec![("CLAUDE_CODE_USE_MANTLE", "1")]] {
        server.reset();
        server.mount(Rule::new(
            Match::any(),
            Answer::StreamException {
                after_events: 3,
                exception: "internalServerException".parse().unwrap(),
                message: None,
            },
        ));
        let model = if endpoint_env.is_empty() {
            OPUS
        } else {
            "anthropic.claude-haiku-4-5"
        };
        let (outcome, _) = turn_with(&server, &sandbox, model, &endpoint_env).await;
        // On Bedrock the non-streaming retry gets the same rule, which it
        // takes as a 500: its refusal ends the turn, as the CLI's does.
        let failure = match outcome {
            Err(TurnError::Stream(failure)) if !endpoint_env.is_empty() => failure.to_string(),
            Err(TurnError::Refused(gave_up)) if endpoint_env.is_empty() => {
                format!("{:?}", gave_up.last)
            }
            other => panic!("{model}: {other:?}"),
        };
        assert!(failure.contains("nternal"), "{failure}");
    }
}

#[tokio::test]
async fn the_control_plane_is_called_as_the_aws_js_sdk_calls_it() {
    let server = MockBedrock::start().await;
    // Two throttled attempts, then the answer: the SDK's three attempts.
    server.mount(
        Rule::new(
            Match::operation(Operation::ListInferenceProfiles),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .times(2),
    );
    let sandbox = Sandbox::new("turn-control-plane");
    let mut env = vec![("CLAUDE_CODE_USE_BEDROCK", "1")];
    env.extend_from_slice(&KEYS);
    let (mut provider, _) = provider(&sandbox, &server, &env);
    let call = Call {
        endpoint: Endpoint::Bedrock,
        plane: Plane::Control,
        region: ModelRegion::Main,
        method: http::Method::GET,
        path_and_query: "/inference-profiles?type=SYSTEM_DEFINED".into(),
        body: bytes::Bytes::new(),
        timeout: Duration::from_secs(10),
    };
    assert_eq!(provider.send(&call).await.unwrap().status, 200);
    let journal = server.received_requests();
    assert_eq!(journal.len(), 3);
    // golden/a_happy seq 1.
    assert_eq!(
        names(&journal[2]),
        [
            "x-amz-user-agent",
            "user-agent",
            "host",
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "x-amz-date",
            "x-amz-content-sha256",
            "authorization"
        ]
    );
    assert_eq!(
        signed_headers(&journal[2]),
        "amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent"
    );
    let attempts: Vec<_> = journal
        .iter()
        .map(|r| r.header("amz-sdk-request").unwrap())
        .collect();
    assert_eq!(
        attempts,
        ["attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3"]
    );
    let ids: Vec<_> = journal
        .iter()
        .map(|r| r.header("amz-sdk-invocation-id").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id per operation: {ids:?}"
    );
    assert_eq!(journal[2].header("x-amz-bedrock-service-tier"), None);
}

#[tokio::test]
async fn the_1m_suffix_becomes_a_beta_and_never_reaches_the_path() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-1m");
    let (outcome, journal) =
        turn_with(&server, &sandbox, "us.anthropic.claude-sonnet-4-6[1m]", &[]).await;
    outcome.unwrap();
    // golden/k_1m_suffix.
    assert_eq!(
        journal[0].raw_path,
        "/model/us.anthropic.claude-sonnet-4-6/invoke-with-response-stream"
    );
    assert_eq!(
        body(&journal[0])["anthropic_beta"],
        json!(["context-1m-2025-08-07"])
    );
}

#[tokio::test]
async fn a_custom_authorization_header_is_the_gateways_only_when_auth_is_skipped() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("turn-custom-auth");
    let custom = (
        "ANTHROPIC_CUSTOM_HEADERS",
        "Authorization: Bearer gateway-token",
    );
    let (outcome, journal) = turn_with(&server, &sandbox, OPUS, &[custom]).await;
    outcome.unwrap();
    let authorizations: Vec<_> = journal[0]
        .headers
        .iter()
        .filter(|(n, _)| n == "authorization")
        .collect();
    assert_eq!(authorizations.len(), 1);
    assert!(
        journal[0].auth.accepted,
        "SigV4 wins over the custom header"
    );
    server.reset();
    server.update_config(|c| c.auth = AuthMode::Off);
    let (outcome, journal) = turn_with(
        &server,
        &sandbox,
        OPUS,
        &[custom, ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1")],
    )
    .await;
    outcome.unwrap();
    assert_eq!(
        journal[0].header("authorization"),
        Some("Bearer <redacted>")
    );
}
