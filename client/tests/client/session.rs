//! Whole sessions against the in-process mock, compared with the real
//! CLI's recorded traffic (`../shared/golden`): startup discovery and
//! probes, the 404 fallback and its notice, pinned tiers, `[1m]`,
//! application profiles, Mantle routing, a broken stream's non-streaming
//! retry, the content-type guard, and model resolution errors.

use crate::support::{Sandbox, provider};
use bedrock_client::catalogue::Family;
use bedrock_client::clock::VirtualClock;
use bedrock_client::credentials::SystemSources;
use bedrock_client::provider::Provider;
use bedrock_client::resolve::Source;
use bedrock_client::session::{Completion, Session, TurnError, lineup};
use bedrock_client::{Error, ErrorKind};
use bedrock_mock_server::{
    Answer, ApplicationProfile, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Match,
    MockBedrock, ModelState, Operation, RecordedRequest, Rule, ServerConfig,
};
use serde_json::Value;

const KEYS: [(&str, &str); 3] = [
    ("CLAUDE_CODE_USE_BEDROCK", "1"),
    ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
];

struct Run {
    session: Result<Session, Error>,
    outcome: Option<Result<Completion, TurnError>>,
    shown: String,
    journal: Vec<RecordedRequest>,
}

/// Starts a session with `env` (Bedrock on and the example keys unless
/// `env` says otherwise) and `flag` as `--model`, and sends "say hi".
async fn session(
    server: &MockBedrock,
    name: &str,
    env: &[(&str, &str)],
    flag: Option<&str>,
) -> Run {
    let sandbox = Sandbox::new(name);
    let mut all = KEYS.to_vec();
    all.extend_from_slice(env);
    let (mut provider, _): (Provider<SystemSources, VirtualClock>, _) =
        provider(&sandbox, server, &all);
    let catalogue = provider.config().cli.catalogue.clone();
    let lineup_name = provider
        .config()
        .vars
        .get("BEDROCK_CLIENT_LINEUP")
        .unwrap_or("cli")
        .to_owned();
    let lineup = lineup(&catalogue, &lineup_name).unwrap().clone();
    let mut session = Session::start(&mut provider, catalogue, &lineup, flag).await;
    let mut shown = String::new();
    let outcome = match &mut session {
        Ok(session) => Some(
            session
                .run(&mut provider, "say hi", &mut |t| shown.push_str(t))
                .await,
        ),
        Err(_) => None,
    };
    Run {
        session,
        outcome,
        shown,
        journal: server.received_requests(),
    }
}

fn paths(journal: &[RecordedRequest]) -> Vec<String> {
    journal
        .iter()
        .map(|r| match r.query.as_str() {
            "" => r.raw_path.clone(),
            query => format!("{}?{query}", r.raw_path),
        })
        .collect()
}

/// The probes' paths, sorted (they are sent at once).
fn probes(journal: &[RecordedRequest]) -> Vec<String> {
    let mut probes: Vec<String> = journal
        .iter()
        .filter(|r| {
            r.operation == Some(Operation::InvokeModel) && r.body.contains("\"max_tokens\":1,")
        })
        .map(|r| r.raw_path.clone())
        .collect();
    probes.sort();
    probes
}

fn turn_body(journal: &[RecordedRequest]) -> Value {
    let turn = journal.last().unwrap();
    serde_json::from_str(&turn.body).unwrap()
}

#[tokio::test]
async fn defaults_discover_probe_every_tier_and_turn_on_opus_5_5() {
    let server = MockBedrock::start().await;
    let run = session(&server, "session-happy", &[], None).await;
    assert_eq!(run.outcome.unwrap().unwrap().text, "hi");
    // golden/a_happy.
    let sent = paths(&run.journal);
    assert_eq!(sent[0], "/inference-profiles?type=SYSTEM_DEFINED");
    assert_eq!(
        probes(&run.journal),
        [
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
            "/model/us.anthropic.claude-opus-5-5/invoke",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
        ]
    );
    assert_eq!(
        sent[4],
        "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream"
    );
    assert_eq!(sent.len(), 5);
    let turn = run.journal.last().unwrap();
    assert_eq!(
        turn.header("anthropic-beta"),
        Some("claude-code-20250219,thinking-token-count-2026-05-13,effort-2025-11-24")
    );
    let body = turn_body(&run.journal);
    assert_eq!(body["max_tokens"], 128000);
    assert_eq!(body["output_config"]["effort"], "medium");
    // The haiku probe is the small/fast model's; the others are not.
    let probe = run
        .journal
        .iter()
        .find(|r| r.raw_path.contains("haiku"))
        .unwrap();
    assert_eq!(probe.header("x-stainless-timeout"), Some("8"));
    assert_eq!(probe.header("anthropic-beta"), None);
}

#[tokio::test]
async fn an_unavailable_default_falls_back_to_the_newest_version_that_answers() {
    let server = MockBedrock::start_with(
        ServerConfig::default().model_state("anthropic.claude-opus-5-5", ModelState::NotFound),
    )
    .await;
    let run = session(&server, "session-fallback", &[], None).await;
    let session = run.session.unwrap();
    // golden/c_fallback_404.
    assert_eq!(
        session.notices,
        ["Warning: Opus: Opus 5.5 not available — using Opus 5 for this session"]
    );
    assert_eq!(run.outcome.unwrap().unwrap().text, "hi");
    assert_eq!(
        probes(&run.journal).len(),
        3 + 7,
        "the three defaults, then every older Opus"
    );
    let turn = run.journal.last().unwrap();
    assert_eq!(
        turn.raw_path,
        "/model/us.anthropic.claude-opus-5/invoke-with-response-stream"
    );
    assert_eq!(turn_body(&run.journal)["max_tokens"], 64000);
    assert_eq!(turn_body(&run.journal)["output_config"]["effort"], "high");
}

/// An account where no Opus version is offered (404 for each).
fn no_opus_answers() -> ServerConfig {
    let mut config = ServerConfig::default();
    for id in [
        "anthropic.claude-opus-5-5",
        "anthropic.claude-opus-5",
        "anthropic.claude-opus-4-8",
        "anthropic.claude-opus-4-7",
        "anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-opus-4-20250514-v1:0",
    ] {
        config = config.model_state(id, ModelState::NotFound);
    }
    config
}

#[tokio::test]
async fn a_family_with_nothing_available_falls_back_to_the_next_family() {
    // The CLI 2.1.328 probes Sonnet's default again and names it, and the
    // turn goes to Sonnet's pin when it has one (a version name, resolved
    // through the catalogue).
    for (pin, path) in [
        (None, "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        (Some("claude-sonnet-4-6"), "us.anthropic.claude-sonnet-4-6"),
    ] {
        let server = MockBedrock::start_with(no_opus_answers()).await;
        let env: Vec<_> = pin
            .map(|p| ("ANTHROPIC_DEFAULT_SONNET_MODEL", p))
            .into_iter()
            .collect();
        let run = session(&server, "session-next-family", &env, None).await;
        assert_eq!(
            run.session.unwrap().notices,
            [
                "Warning: Opus: Opus 5.5 not available — using Sonnet 4.5. Enable Opus 5.5 in the Bedrock console to upgrade."
            ]
        );
        let sonnet_probes = probes(&run.journal)
            .iter()
            .filter(|path| path.contains("claude-sonnet-4-5-20250929"))
            .count();
        // Probed as its own tier's default (unless pinned), and again
        // before Opus takes it.
        assert_eq!(sonnet_probes, if pin.is_some() { 1 } else { 2 });
        assert_eq!(
            run.journal.last().unwrap().raw_path,
            format!("/model/{path}/invoke-with-response-stream")
        );
    }
}

#[tokio::test]
async fn other_probe_failures_keep_the_default_and_probe_nothing_more() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModel).model("*claude-opus-5-5"),
        Answer::error(ErrorCode::ThrottlingException),
    ));
    let run = session(&server, "session-429", &[], None).await;
    let session = run.session.unwrap();
    assert!(session.notices.is_empty());
    // The real CLI 2.1.328 (conformance/DIFFERENCES.md).
    assert_eq!(probes(&run.journal).len(), 3);
    assert_eq!(session.turn.id, "us.anthropic.claude-opus-5-5");
    assert!(matches!(run.outcome, Some(Ok(_))), "the turn answers");
}

/// As the real CLI 2.1.328 does (conformance/DIFFERENCES.md): a default
/// refused because it is not enabled falls back like one not found.
#[tokio::test]
async fn a_default_not_enabled_falls_back_like_one_not_found() {
    let server = MockBedrock::start_with(
        ServerConfig::default().model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled),
    )
    .await;
    let run = session(&server, "session-403", &[], None).await;
    let session = run.session.unwrap();
    assert_eq!(
        session.notices,
        ["Warning: Opus: Opus 5.5 not available — using Opus 5 for this session"]
    );
    assert_eq!(probes(&run.journal).len(), 3 + 7);
    assert_eq!(session.turn.id, "us.anthropic.claude-opus-5");
    assert!(matches!(run.outcome, Some(Ok(_))), "the turn answers");
}

#[tokio::test]
async fn pinned_tiers_are_not_probed_and_the_pin_shapes_the_turn() {
    let server = MockBedrock::start().await;
    // golden/b_tiers_pinned.
    let run = session(
        &server,
        "session-pinned",
        &[
            (
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "us.anthropic.claude-opus-4-5-20251101-v1:0",
            ),
            (
                "ANTHROPIC_DEFAULT_SONNET_MODEL",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
        ],
        None,
    )
    .await;
    run.outcome.unwrap().unwrap();
    assert_eq!(
        paths(&run.journal),
        [
            "/inference-profiles?type=SYSTEM_DEFINED",
            "/model/us.anthropic.claude-opus-4-5-20251101-v1:0/invoke-with-response-stream"
        ]
    );
    let body = turn_body(&run.journal);
    assert_eq!(body["max_tokens"], 32000);
    assert_eq!(
        body["thinking"],
        serde_json::json!({"budget_tokens": 31999, "type": "enabled"})
    );
    assert_eq!(
        run.journal[1].header("anthropic-beta"),
        Some("claude-code-20250219")
    );
}

#[tokio::test]
async fn an_explicit_model_skips_its_tiers_probe_and_1m_becomes_a_beta() {
    let server = MockBedrock::start().await;
    // golden/k_1m_suffix.
    let run = session(
        &server,
        "session-1m",
        &[("ANTHROPIC_MODEL", "us.anthropic.claude-sonnet-4-6[1m]")],
        None,
    )
    .await;
    run.outcome.unwrap().unwrap();
    assert_eq!(
        probes(&run.journal),
        [
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
            "/model/us.anthropic.claude-opus-5-5/invoke"
        ]
    );
    let turn = run.journal.last().unwrap();
    assert_eq!(
        turn.raw_path,
        "/model/us.anthropic.claude-sonnet-4-6/invoke-with-response-stream"
    );
    assert_eq!(
        turn.header("anthropic-beta"),
        Some("claude-code-20250219,effort-2025-11-24")
    );
    assert_eq!(
        turn_body(&run.journal)["anthropic_beta"],
        serde_json::json!([
            "context-1m-2025-08-07",
            "interleaved-thinking-2025-05-14",
            "tool-search-tool-2025-10-19"
        ])
    );
}

#[tokio::test]
async fn an_application_profile_is_looked_up_and_its_model_shapes_the_turn() {
    let server = MockBedrock::start_with(ServerConfig::default().application_profile(
        ApplicationProfile::new("abc123", "us.anthropic.claude-opus-4-5-20251101-v1:0"),
    ))
    .await;
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let run = session(&server, "session-arn", &[("ANTHROPIC_MODEL", arn)], None).await;
    run.outcome.unwrap().unwrap();
    // golden/l_app_profile_arn: all three tiers probed, the lookup, the turn.
    let sent = paths(&run.journal);
    assert_eq!(probes(&run.journal).len(), 3);
    assert_eq!(
        sent[4],
        "/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123"
    );
    assert_eq!(
        sent[5],
        "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc123/invoke-with-response-stream"
    );
    assert_eq!(
        turn_body(&run.journal)["thinking"]["type"],
        "enabled",
        "Opus 4.5's shape"
    );
}

#[tokio::test]
async fn a_refused_profile_lookup_guesses_a_shape() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::operation(Operation::GetInferenceProfile),
        Answer::error(ErrorCode::AccessDeniedException),
    ));
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let run = session(
        &server,
        "session-arn-403",
        &[("ANTHROPIC_MODEL", arn)],
        None,
    )
    .await;
    // The mock knows no such profile: the guessed shape is sent, refused,
    // and the other shape is tried once.
    assert!(run.outcome.unwrap().is_err());
    let turns: Vec<Value> = run
        .journal
        .iter()
        .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["thinking"]["type"], "adaptive");
    assert_eq!(turns[1]["thinking"]["type"], "enabled");
}

#[tokio::test]
async fn with_both_endpoints_a_mantle_id_goes_to_mantle_after_the_bedrock_startup() {
    let server = MockBedrock::start().await;
    // golden/o_bedrock_and_mantle_haiku.
    let run = session(
        &server,
        "session-both",
        &[("CLAUDE_CODE_USE_MANTLE", "1")],
        Some("anthropic.claude-haiku-4-5"),
    )
    .await;
    run.outcome.unwrap().unwrap();
    assert_eq!(probes(&run.journal).len(), 3);
    let turn = run.journal.last().unwrap();
    assert_eq!(turn.operation, Some(Operation::MantleMessagesStream));
    assert_eq!(
        turn.header("anthropic-beta"),
        Some(
            "interleaved-thinking-2025-05-14,context-management-2025-06-27,claude-code-20250219,tool-search-tool-2025-10-19"
        )
    );
}

#[tokio::test]
async fn mantle_alone_probes_once_and_skipped_auth_not_at_all() {
    let server = MockBedrock::start().await;
    // golden/m_mantle_only.
    let run = session(
        &server,
        "session-mantle",
        &[
            ("CLAUDE_CODE_USE_BEDROCK", "0"),
            ("CLAUDE_CODE_USE_MANTLE", "1"),
        ],
        None,
    )
    .await;
    run.outcome.unwrap().unwrap();
    let operations: Vec<_> = run.journal.iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            Some(Operation::MantleMessages),
            Some(Operation::MantleMessagesStream)
        ]
    );
    assert_eq!(
        turn_body(&run.journal)["model"],
        "anthropic.claude-opus-5-5"
    );
    // golden/n_mantle_skip_auth: exactly one request.
    let server =
        MockBedrock::start_with(ServerConfig::default().auth(bedrock_mock_server::AuthMode::Off))
            .await;
    let run = session(
        &server,
        "session-mantle-skip",
        &[
            ("CLAUDE_CODE_USE_BEDROCK", "0"),
            ("CLAUDE_CODE_USE_MANTLE", "1"),
            ("CLAUDE_CODE_SKIP_MANTLE_AUTH", "1"),
        ],
        None,
    )
    .await;
    run.outcome.unwrap().unwrap();
    assert_eq!(run.journal.len(), 1);
}

#[tokio::test]
async fn a_broken_stream_is_retried_once_without_streaming() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::StreamException {
            after_events: 3,
            exception: "internalServerException".parse().unwrap(),
            message: None,
        },
    ));
    let run = session(&server, "session-p", &[], None).await;
    // golden/p_stream_exception: the stream, then one invoke with 64000.
    assert_eq!(run.outcome.unwrap().unwrap().text, "hi");
    assert_eq!(run.shown, "hi", "text shown once");
    let last = run.journal.last().unwrap();
    assert_eq!(last.raw_path, "/model/us.anthropic.claude-opus-5-5/invoke");
    assert_eq!(last.header("x-stainless-timeout"), Some("300"));
    assert_eq!(
        serde_json::from_str::<Value>(&last.body).unwrap()["max_tokens"],
        64000
    );
}

#[tokio::test]
async fn a_json_answer_to_the_stream_call_is_refused_or_with_the_guard_off_read_as_a_stream() {
    let server = MockBedrock::start().await;
    let json = r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"from a proxy"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":3}}"#;
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::Http {
            status: 200,
            headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
            body: json.into(),
        },
    ));
    let run = session(&server, "session-guard", &[], None).await;
    let Some(Err(TurnError::Stream(failure))) = run.outcome else {
        panic!("refused")
    };
    assert!(
        failure.to_string().starts_with(
            "Bedrock streaming response has content-type \"application/json\"; expected"
        ),
        "{failure}"
    );
    assert!(
        failure
            .to_string()
            .contains("CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD=1"),
        "{failure}"
    );
    server.reset();
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::Http {
            status: 200,
            headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
            body: json.into(),
        },
    ));
    let run = session(
        &server,
        "session-guard-off",
        &[("CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD", "1")],
        None,
    )
    .await;
    // Read as the CLI reads it, as an event stream: the JSON is none, so
    // the stream breaks and the non-streaming retry answers.
    assert_eq!(run.outcome.unwrap().unwrap().text, "hi");
    assert_eq!(run.shown, "hi", "the proxy's text is never shown");
    let last = run.journal.last().unwrap();
    assert_eq!(last.raw_path, "/model/us.anthropic.claude-opus-5-5/invoke");
}

#[tokio::test]
async fn resolution_follows_aliases_overrides_lineups_and_refuses_what_it_must() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("session-resolve");
    sandbox.write(
        "home/.claude/settings.json",
        r#"{"modelOverrides": {"claude-opus-4-6": "arn:aws:bedrock:us-east-2:123456789012:application-inference-profile/opus-46-prod"},
            "availableModels": ["opus", "haiku", "claude-opus-4-6", "anthropic.claude-haiku-4-5"]}"#,
    );
    let mut env = KEYS.to_vec();
    env.push(("CLAUDE_CODE_USE_MANTLE", "1"));
    let (provider, _) = provider(&sandbox, &server, &env);
    let catalogue = bedrock_client::profile::newest().catalogue;
    let cli = lineup(&catalogue, "cli").unwrap();
    let resolver = bedrock_client::resolve::Resolver::new(provider.config(), &catalogue, cli, None);
    let opus = resolver.turn(Some("opus")).unwrap();
    assert_eq!(
        (opus.id.as_str(), &opus.source),
        (
            "us.anthropic.claude-opus-5-5",
            &Source::Default(Family::Opus)
        )
    );
    let mapped = resolver.turn(Some("claude-opus-4-6")).unwrap();
    assert!(
        mapped
            .id
            .ends_with("application-inference-profile/opus-46-prod"),
        "{}",
        mapped.id
    );
    assert_eq!(mapped.source, Source::Override("claude-opus-4-6".into()));
    assert_eq!(
        resolver
            .turn(Some("anthropic.claude-haiku-4-5"))
            .unwrap()
            .endpoint,
        bedrock_client::provider::Endpoint::Mantle
    );
    let refused = resolver.turn(Some("sonnet")).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidVariable);
    assert!(refused.message().contains("availableModels"), "{refused}");
    let one_million = resolver.turn(Some("haiku[1m]")).unwrap_err();
    assert!(
        one_million
            .message()
            .contains("Haiku 4.5 does not support the 1M-token context window"),
        "{one_million}"
    );
    // The seed's lineup: the turn is Sonnet 4.5, `opus` is Opus 4.6.
    let seed = lineup(&catalogue, "seed").unwrap();
    let resolver =
        bedrock_client::resolve::Resolver::new(provider.config(), &catalogue, seed, None);
    assert_eq!(
        resolver.turn(None).unwrap().id,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert!(
        lineup(&catalogue, "nope")
            .unwrap_err()
            .message()
            .contains("cli, seed")
    );
}

#[tokio::test]
async fn pins_overrides_and_the_small_fast_region_resolve_as_the_cli_would() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("session-pins");
    sandbox.write(
        "home/.claude/settings.json",
        r#"{"modelOverrides": {"claude-haiku-4-5-20251001": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/haiku"}}"#,
    );
    let mut env = KEYS.to_vec();
    env.push(("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION", "ap-southeast-2"));
    env.push((
        "ANTHROPIC_DEFAULT_OPUS_MODEL",
        "us.anthropic.claude-opus-4-5-20251101-v1:0[1m]",
    ));
    let (first, _) = provider(&sandbox, &server, &env);
    let catalogue = bedrock_client::profile::newest().catalogue;
    let cli = lineup(&catalogue, "cli").unwrap();
    let resolver = bedrock_client::resolve::Resolver::new(first.config(), &catalogue, cli, None);
    // An override to an ARN keeps its tier (and so the small/fast region).
    let haiku = resolver.tier(Family::Haiku).unwrap();
    assert_eq!(haiku.family, Some(Family::Haiku));
    assert!(haiku.is_arn());
    // A pin with [1m] on a model without it is refused, like any choice.
    let e = resolver.tier(Family::Opus).unwrap_err();
    assert!(
        e.message()
            .contains("does not support the 1M-token context window"),
        "{e}"
    );
    // The small/fast model's prefix is still the main region's: the CLI
    // 2.1.328 and 2.1.332 send `us.` Haiku ids to ap-southeast-2
    // (scenario models/small-fast-region-other-geography).
    sandbox.write("home/.claude/settings.json", "{}");
    let (provider, _) = provider(&sandbox, &server, &env[..4]);
    let resolver = bedrock_client::resolve::Resolver::new(provider.config(), &catalogue, cli, None);
    assert_eq!(
        resolver.tier(Family::Haiku).unwrap().id,
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert_eq!(
        resolver.tier(Family::Sonnet).unwrap().id,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    // Discovery can name another regional profile (Tokyo's jp.), or only
    // global; the Haiku tier takes it too, as every id keeps the main
    // region's profiles whatever the small/fast region.
    let discovered = vec![
        "jp.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
        "jp.anthropic.claude-haiku-4-5-20251001-v1:0".to_owned(),
        "global.anthropic.claude-opus-5-5".to_owned(),
    ];
    let resolver = bedrock_client::resolve::Resolver::new(
        provider.config(),
        &catalogue,
        cli,
        Some(&discovered),
    );
    assert_eq!(
        resolver.tier(Family::Sonnet).unwrap().id,
        "jp.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(
        resolver.tier(Family::Opus).unwrap().id,
        "global.anthropic.claude-opus-5-5"
    );
    assert_eq!(
        resolver.tier(Family::Haiku).unwrap().id,
        "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
}

#[tokio::test]
async fn a_real_stream_under_the_wrong_label_is_read_when_the_guard_is_off() {
    let server = MockBedrock::start().await;
    let events = [
        r#"{"type":"message_start","message":{"id":"msg_bdrk_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"relabelled"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    let frames = bedrock_eventstream::bedrock::encode_event_frames(
        &events
            .iter()
            .map(|j| bedrock_eventstream::anthropic::StreamEvent::from_json(j.as_bytes()).unwrap())
            .collect::<Vec<_>>(),
    );
    // A rule's body is text and frames are bytes: a raw socket serves them
    // (to every request, discovery included, which only notes the failure).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 1 << 16];
            let _ = socket.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                frames.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&frames).await;
        }
    });
    let base = format!("http://{address}");
    let run = session(
        &server,
        "session-relabelled",
        &[
            ("ANTHROPIC_BEDROCK_BASE_URL", base.as_str()),
            (
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "us.anthropic.claude-opus-5-5",
            ),
            (
                "ANTHROPIC_DEFAULT_SONNET_MODEL",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            (
                "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
            ("CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(run.outcome.unwrap().unwrap().text, "relabelled");
}

/// The stream calls of `journal` and the probes after startup's, in the
/// order sent: `turn <id>` and `probe <id>`.
fn calls_after_startup(journal: &[RecordedRequest]) -> Vec<String> {
    let first_turn = journal
        .iter()
        .position(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
        .expect("a turn was sent");
    journal[first_turn..]
        .iter()
        .map(|r| {
            let model = r.model_id.clone().unwrap_or_default();
            match r.operation {
                Some(Operation::InvokeModelWithResponseStream) => format!("turn {model}"),
                _ => format!("probe {model}"),
            }
        })
        .collect()
}

#[tokio::test]
async fn a_malformed_request_moves_down_the_ladder_as_2_1_332_and_not_as_2_1_328() {
    let server = MockBedrock::start().await;
    let every_turn_malformed = || {
        Rule::new(
            Match::operation(Operation::InvokeModelWithResponseStream),
            Answer::Error {
                code: ErrorCode::ValidationException,
                status: None,
                message: Some("Malformed input request: #/messages/0: extraneous key [foo] is not permitted, please reformat your input and try again.".to_owned()),
                retry_after: None,
            },
        )
    };
    server.mount(every_turn_malformed());
    let sonnet_4_5 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    // conformance/golden/claude-code/2.1.328/turn-400-malformed: the
    // resends, then the error.
    let older = session(
        &server,
        "session-malformed-328",
        &[("BEDROCK_CLIENT_CLI_VERSION", "2.1.328")],
        Some("sonnet"),
    )
    .await;
    assert!(matches!(older.outcome, Some(Err(TurnError::Refused(_)))));
    assert_eq!(
        calls_after_startup(&older.journal),
        [format!("turn {sonnet_4_5}"), format!("turn {sonnet_4_5}")]
    );
    // .../2.1.332/turn-400-malformed: after each model's resends, the next
    // is probed and takes the turn, down to 3.5 Sonnet v2.
    server.reset();
    server.mount(every_turn_malformed());
    let newer = session(
        &server,
        "session-malformed-332",
        &[("BEDROCK_CLIENT_CLI_VERSION", "2.1.332")],
        Some("sonnet"),
    )
    .await;
    assert!(matches!(newer.outcome, Some(Err(TurnError::Refused(_)))));
    let sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    let sonnet_3_7 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
    let sonnet_3_5 = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
    assert_eq!(
        calls_after_startup(&newer.journal),
        [
            format!("turn {sonnet_4_5}"),
            format!("turn {sonnet_4_5}"),
            format!("probe {sonnet_4}"),
            format!("turn {sonnet_4}"),
            format!("turn {sonnet_4}"),
            format!("probe {sonnet_3_7}"),
            format!("turn {sonnet_3_7}"),
            format!("probe {sonnet_3_5}"),
            format!("turn {sonnet_3_5}"),
        ]
    );
    assert_eq!(newer.session.unwrap().turn.id, sonnet_3_5);
}

#[tokio::test]
async fn opus_falls_back_to_an_older_sonnet_as_2_1_332_and_not_as_2_1_328() {
    // No Opus and no Sonnet 4.5 offered; Sonnet 4 answers. Both versions
    // move Sonnet's own tier to Sonnet 4; Opus, after the Sonnet default's
    // second probe, takes Sonnet 4 only as 2.1.332 (conformance's
    // every-call-403 and on-demand-400-every-call: the older Sonnets
    // probed a second time).
    let sonnet_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    let sonnet_notice =
        "Warning: Sonnet: Sonnet 4.5 not available — using Sonnet 4 for this session";
    let opus_notice = "Warning: Opus: Opus 5.5 not available — using Sonnet 4. Enable Opus 5.5 in the Bedrock console to upgrade.";
    for (version, older_sonnet_probes) in [("2.1.328", 1), ("2.1.332", 2)] {
        let server = MockBedrock::start_with(no_opus_answers().model_state(
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ModelState::NotFound,
        ))
        .await;
        let env = [("BEDROCK_CLIENT_CLI_VERSION", version)];
        let run = session(&server, "session-older-sonnet", &env, None).await;
        let session = run.session.unwrap();
        let probes = probes(&run.journal);
        for older in [sonnet_4, "claude-3-7-sonnet", "claude-3-5-sonnet"] {
            let count = probes.iter().filter(|p| p.contains(older)).count();
            assert_eq!(count, older_sonnet_probes, "{version}: {older}");
        }
        if version == "2.1.332" {
            assert_eq!(session.notices, [opus_notice, sonnet_notice]);
            assert_eq!(
                run.journal.last().unwrap().raw_path,
                format!("/model/{sonnet_4}/invoke-with-response-stream")
            );
        } else {
            assert_eq!(session.notices, [sonnet_notice]);
        }
    }
}
