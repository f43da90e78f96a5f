//! Open matchers and answers over real sockets: path, query and body-JSON
//! matchers, a test's own predicate, an answer of raw bytes, `expect`
//! ranges, the messages of unmet expectations, and the mock nested in a
//! host app (`MockBedrock::router`).

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::common::{
    RawResponse, SIGNATURE_MISMATCH, ToSign, as_pairs, example_credentials, send, sign_headers,
};
use bedrock_mock_server::{
    Answer, BodyCondition, ConfigErrorKind, EXAMPLE_API_KEY, EXAMPLE_SECRET_ACCESS_KEY, ErrorCode,
    Match, MockBedrock, Operation, Rule, Times,
};
use serde_json::json;

const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1000,"messages":[{"role":"user","content":"deploy the app"}]}"#;
const OPUS: &str = "us.anthropic.claude-opus-4-6-v1";

fn invoke(model: &str) -> String {
    format!("/model/{model}/invoke")
}

/// Signs `method target` for `address` with the example key, as the AWS
/// SDKs sign, and sends it there; `signed_target` is the path (and query)
/// the signature covers, when it is not `target`.
async fn signed_to(
    address: SocketAddr,
    method: &str,
    target: &str,
    signed_target: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let host = address.to_string();
    let mut base = vec![
        ("host".to_owned(), host.clone()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    base.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let headers = sign_headers(
        &ToSign {
            method,
            url: &format!("http://{host}{}", signed_target.unwrap_or(target)),
            headers: &base,
            body: body.as_bytes(),
            region: "us-east-1",
            service: "bedrock",
            time: SystemTime::now(),
        },
        example_credentials(),
    );
    send(
        address,
        method,
        target,
        &as_pairs(&headers),
        body.as_bytes(),
    )
    .await
}

async fn signed(server: &MockBedrock, target: &str, body: &str) -> RawResponse {
    signed_to(server.address(), "POST", target, None, &[], body).await
}

#[tokio::test]
async fn path_query_and_body_json_matchers_pick_their_requests() {
    let server = MockBedrock::start().await;
    let teapot = |n: &str| Answer::custom_error(418, n, "matched");
    server.mount(Rule::new(
        Match::any().path("*claude-opus-4-6-v1/invoke"),
        teapot("Path"),
    ));
    server.mount(Rule::new(
        Match::operation(Operation::ListInferenceProfiles).query("maxResults", "5"),
        teapot("Query"),
    ));
    server.mount(Rule::new(
        Match::any()
            .body_partial_json(json!({"messages": [{"content": "partial"}], "max_tokens": 7})),
        teapot("Partial"),
    ));
    server.mount(Rule::new(
        Match::any().body_json(
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 9, "messages": []}),
        ),
        teapot("Whole"),
    ));
    let code = |r: RawResponse| r.bedrock_error().1;

    assert_eq!(code(signed(&server, &invoke(OPUS), PROBE).await), "Path");
    // The path is matched decoded: `:` arrives as `%3A`.
    let haiku = invoke("us.anthropic.claude-haiku-4-5-20251001-v1%3A0");
    assert_eq!(signed(&server, &haiku, PROBE).await.status, 200);

    let listed = signed_to(
        server.address(),
        "GET",
        "/inference-profiles?maxResults=5",
        None,
        &[],
        "",
    )
    .await;
    assert_eq!(code(listed), "Query");
    let other = signed_to(
        server.address(),
        "GET",
        "/inference-profiles?maxResults=6",
        None,
        &[],
        "",
    )
    .await;
    assert_eq!(other.status, 200);

    let partial = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":7,"messages":[{"role":"user","content":"partial"},{"role":"assistant","content":"x"}]}"#;
    assert_eq!(code(signed(&server, &haiku, partial).await), "Partial");
    let missing_field = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":7,"messages":[{"role":"user","content":"other"}]}"#;
    assert_eq!(signed(&server, &haiku, missing_field).await.status, 200);

    let whole = r#"{"messages":[],"max_tokens":9,"anthropic_version":"bedrock-2023-05-31"}"#;
    assert_eq!(code(signed(&server, &haiku, whole).await), "Whole");
    // One field more is not the whole body.
    let more =
        r#"{"messages":[],"max_tokens":9,"anthropic_version":"bedrock-2023-05-31","system":"s"}"#;
    assert_ne!(signed(&server, &haiku, more).await.status, 418);
}

#[test]
fn the_new_matchers_and_ranges_read_from_files_and_are_checked() {
    let rule: Rule = serde_json::from_str(
        r#"{"when": {"path": "*/invoke", "query": {"maxResults": "5"},
                     "body_json": {"a": 1}, "body_partial_json": {"b": [2]}},
            "answer": {"http": {"status": 200, "body_base64": "/wA="}},
            "expect": {"at_least": 1, "at_most": 3}}"#,
    )
    .unwrap();
    let expected = Match::any()
        .path("*/invoke")
        .query("maxResults", "5")
        .body_json(json!({"a": 1}))
        .body_partial_json(json!({"b": [2]}));
    assert_eq!(rule.when, expected);
    assert_eq!(rule.expect, Some(Times::between(1, 3)));
    assert_eq!(rule.answer, Some(Answer::raw(200, &[], vec![0xff, 0x00])));
    // Written back as read.
    let again: Rule = serde_json::from_str(&serde_json::to_string(&rule).unwrap()).unwrap();
    assert_eq!(again, rule);
    for (text, wanted) in [
        (r#"{"expect": 2}"#, Times::exactly(2)),
        (r#"{"expect": {"at_least": 2}}"#, Times::at_least(2)),
        (r#"{"expect": {"at_most": 1}}"#, Times::at_most(1)),
    ] {
        let rule: Rule = serde_json::from_str(text).unwrap();
        assert_eq!(rule.expect, Some(wanted), "{text}");
        let written = serde_json::to_value(&rule).unwrap();
        let read = serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(written["expect"], read["expect"], "{text}");
    }
    let no_bound = serde_json::from_str::<Rule>(r#"{"expect": {}}"#).unwrap_err();
    assert!(
        no_bound
            .to_string()
            .contains("needs `at_least`, `at_most` or both"),
        "{no_bound}"
    );
    let typo = serde_json::from_str::<Rule>(r#"{"expect": {"at_lest": 1}}"#).unwrap_err();
    assert!(
        typo.to_string().contains("unknown field `at_lest`"),
        "{typo}"
    );
    let text = serde_json::from_str::<Rule>(r#"{"expect": "2"}"#).unwrap_err();
    assert!(
        text.to_string()
            .contains("expected a count (`2`) or a range"),
        "{text}"
    );
    let negative = serde_json::from_str::<Rule>(r#"{"expect": -1}"#).unwrap_err();
    assert!(negative.to_string().contains("-1 is below 0"), "{negative}");

    let both = serde_json::from_str::<Rule>(
        r#"{"answer": {"http": {"status": 200, "body": "x", "body_base64": "eA=="}}}"#,
    )
    .unwrap_err();
    assert!(
        both.to_string()
            .contains("`body` (text) or `body_base64` (bytes), not both"),
        "{both}"
    );
    let not_base64 = serde_json::from_str::<Rule>(
        r#"{"answer": {"http": {"status": 200, "body_base64": "*"}}}"#,
    )
    .unwrap_err();
    assert!(
        not_base64
            .to_string()
            .contains("`body_base64` is not base64"),
        "{not_base64}"
    );

    let refused = |rule: Rule| rule.check().unwrap_err();
    let empty = refused(Rule::default_answer(Match::any()).expect(Times::between(3, 1)));
    assert_eq!(
        (empty.kind, empty.field.as_deref()),
        (ConfigErrorKind::Unmeetable, Some("expect"))
    );
    assert!(
        empty
            .to_string()
            .contains("at_least = 3 is above at_most = 1"),
        "{empty}"
    );
    let none = refused(Rule::default_answer(Match::any()).expect(..0));
    assert_eq!(none.field.as_deref(), Some("expect"));
    let over = refused(Rule::default_answer(Match::any()).times(1).expect(2..));
    assert!(
        over.to_string().contains("never have answered at least 2"),
        "{over}"
    );
    assert!(
        Rule::default_answer(Match::any())
            .times(1)
            .expect(..=3)
            .check()
            .is_ok()
    );
    let path = refused(Rule::default_answer(Match::any().path("")));
    assert_eq!(path.field.as_deref(), Some("when.path"));
    let query = refused(Rule::default_answer(Match::any().query("", "x")));
    assert_eq!(query.field.as_deref(), Some("when.query"));
    let label = refused(Rule::default_answer(Match::any().custom(" ", |_| true)));
    assert_eq!(label.field.as_deref(), Some("when.custom"));
}

#[test]
fn a_custom_predicate_is_code_not_data() {
    let predicate = Match::any().custom("has a tool", |r| {
        r.json().is_some_and(|body| body.get("tools").is_some())
    });
    // Equal to its clones only: two closures cannot be compared.
    assert_eq!(predicate, predicate.clone());
    assert_ne!(predicate, Match::any().custom("has a tool", |_| true));
    // Written without it; its label is in the rule's description.
    let rule = Rule::new(
        Match::operation(Operation::InvokeModel).custom("has a tool", |_| true),
        Answer::error(ErrorCode::ThrottlingException),
    );
    assert_eq!(
        serde_json::to_value(&rule).unwrap(),
        json!({"when": {"operation": "InvokeModel"}, "answer": {"error": {"code": "ThrottlingException"}}})
    );
    assert_eq!(rule.label(), "InvokeModel, custom `has a tool`");
    // A file cannot give one.
    let refused = serde_json::from_str::<Rule>(r#"{"when": {"custom": ["x"]}}"#).unwrap_err();
    assert!(
        refused.to_string().contains("unknown field `custom`"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_custom_predicate_sees_the_request_as_identified() {
    let server = MockBedrock::start().await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    server.mount(
        Rule::new(
            Match::any().custom("has a tool", move |r| {
                log.lock().unwrap().push((
                    r.method().to_owned(),
                    r.decoded_path(),
                    r.operation(),
                    r.model_id().map(str::to_owned),
                    r.region().map(str::to_owned),
                    r.headers().contains_key("content-type"),
                ));
                r.json().is_some_and(|body| body.get("tools").is_some())
            }),
            Answer::custom_error(418, "Tools", "matched"),
        )
        .named("tools"),
    );
    let with_tools =
        r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"tools":[]}"#;
    let answered = signed(&server, &invoke(OPUS), with_tools).await;
    assert_eq!(answered.bedrock_error().1, "Tools");
    assert_eq!(signed(&server, &invoke(OPUS), PROBE).await.status, 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        (
            "POST".to_owned(),
            invoke(OPUS),
            Some(Operation::InvokeModel),
            Some(OPUS.to_owned()),
            Some("us-east-1".to_owned()),
            true
        )
    );
    assert_eq!(seen.len(), 2);
    let journal = server.received_requests();
    assert_eq!(journal[0].rule.as_deref(), Some("tools"));
    assert_eq!(journal[1].rule, None);
}

#[tokio::test]
async fn an_answer_of_raw_bytes_is_sent_as_given() {
    let server = MockBedrock::start().await;
    let bytes: Vec<u8> = vec![0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x80];
    server.mount(Rule::new(
        Match::operation(Operation::InvokeModel),
        Answer::raw(
            200,
            &[("content-type", "application/octet-stream")],
            bytes.clone(),
        ),
    ));
    let answer = signed(&server, &invoke(OPUS), PROBE).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(answer.body, bytes);
    assert_eq!(answer.header("content-length"), Some("8"));
}

#[tokio::test]
async fn expect_takes_ranges() {
    let server = MockBedrock::start().await;
    let invoke_rule = || Rule::default_answer(Match::operation(Operation::InvokeModel));
    server.mount(invoke_rule().named("one to three").expect(1..=3));
    server.mount(invoke_rule().named("at most one").expect(..=1));
    server.mount(invoke_rule().named("at least three").expect(3..));
    server.mount(invoke_rule().named("exactly two").expect(2));
    for _ in 0..2 {
        // The first rule answers each; the others only see them.
        assert_eq!(signed(&server, &invoke(OPUS), PROBE).await.status, 200);
    }
    let error = server.verify().unwrap_err();
    let names: Vec<_> = error.failures.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(names, ["at least three", "exactly two"]);
    let text = error.to_string();
    assert!(
        text.contains("rule `at least three`: expected at least 3 matching request(s), answered 0"),
        "{text}"
    );
    assert!(
        text.contains("rule `exactly two`: expected 2 matching request(s), answered 0"),
        "{text}"
    );
    server.reset();
    server.mount(invoke_rule().named("one to three").expect(1..=3));
    let text = server.verify().unwrap_err().to_string();
    assert!(
        text.contains("rule `one to three`: expected between 1 and 3 matching request(s), answered 0\n      no request reached the rules while it was mounted"),
        "{text}"
    );
    server.reset();
}

#[tokio::test]
async fn unmet_expectations_say_why_each_request_missed() {
    let server = MockBedrock::start().await;
    let stream = Match::operation(Operation::InvokeModelWithResponseStream);
    let invoke_op = || Match::operation(Operation::InvokeModel);
    server.mount(Rule::default_answer(stream).named("stream").expect(1));
    server.mount(
        Rule::default_answer(invoke_op().model("eu.*"))
            .named("eu")
            .expect(1),
    );
    server.mount(
        Rule::default_answer(invoke_op().header("anthropic-beta", "x"))
            .named("beta")
            .expect(1),
    );
    server.mount(
        Rule::default_answer(invoke_op().body("/max_tokens", BodyCondition::greater_than(16384.0)))
            .named("big")
            .expect(1),
    );
    server.mount(
        Rule::default_answer(invoke_op().custom("has a tool", |r| {
            r.json().is_some_and(|b| b.get("tools").is_some())
        }))
        .named("tools")
        .expect(1),
    );
    server.mount(
        Rule::default_answer(invoke_op().nth(2))
            .named("second")
            .expect(2),
    );
    server.mount(
        Rule::default_answer(invoke_op())
            .named("once")
            .times(1)
            .expect(..=0),
    );
    for _ in 0..3 {
        assert_eq!(signed(&server, &invoke(OPUS), PROBE).await.status, 200);
    }
    // Requests carrying API keys (Mantle's header, Bedrock's bearer).
    let mantle = r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
    let keyed = send(
        server.address(),
        "POST",
        "/v1/messages",
        &[
            ("x-api-key", EXAMPLE_API_KEY),
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
        mantle.as_bytes(),
    )
    .await;
    assert_eq!(keyed.status, 200, "{}", keyed.text());
    let bearer = format!("Bearer {EXAMPLE_API_KEY}");
    let keyed = send(
        server.address(),
        "POST",
        &invoke(OPUS),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            ("anthropic-beta", "y"),
        ],
        PROBE.as_bytes(),
    )
    .await;
    assert_eq!(keyed.status, 200, "{}", keyed.text());
    let error = server.verify().unwrap_err();
    let text = error.to_string();
    let path = invoke(OPUS);
    for line in [
        format!("#1 POST {path}: operation InvokeModel, rule wants InvokeModelWithResponseStream"),
        format!("#1 POST {path}: model {OPUS} does not match eu.*"),
        format!("#1 POST {path}: header anthropic-beta missing"),
        format!("#1 POST {path}: body /max_tokens = 1000, rule wants > 16384"),
        format!("#2 POST {path}: custom `has a tool` said no"),
        format!("#1 POST {path}: nth: was call #1, rule wants #2"),
        format!("#3 POST {path}: nth: was call #3, rule wants #2"),
        format!("#2 POST {path}: matched, but rule `second` before it answered"),
        format!("#3 POST {path}: matched, but `times` (1) was used up"),
        "rule `once`: expected 0 matching request(s), answered 1".to_owned(),
    ] {
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    // `once` answered the first request, `second` the second, and the
    // third found `once` used up.
    let once = error.failures.iter().find(|f| f.rule == "once").unwrap();
    assert_eq!(once.answered, 1);
    assert_eq!(
        once.misses[..2],
        [
            format!("#2 POST {path}: matched, but rule `second` before it answered"),
            format!("#3 POST {path}: matched, but `times` (1) was used up"),
        ]
    );
    // Each request with its redacted headers and a body excerpt, never a
    // secret.
    assert!(text.contains(&format!("#1 POST {path} -> 200")), "{text}");
    assert!(text.contains("-> 200\n    host: 127.0.0.1:"), "{text}");
    assert!(
        text.contains("body: {\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":1000"),
        "{text}"
    );
    assert!(text.contains("Signature=<redacted>"), "{text}");
    let hex_run = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|run| run.len() >= 64);
    assert_eq!(hex_run, None, "a signature in:\n{text}");
    assert!(!text.contains(EXAMPLE_SECRET_ACCESS_KEY), "{text}");
    assert!(!text.contains(EXAMPLE_API_KEY), "{text}");
    assert!(text.contains("#5 POST /model/us.anthropic.claude-opus-4-6-v1/invoke: header anthropic-beta has another value"), "{text}");
    server.reset();
}

#[tokio::test]
async fn many_requests_are_listed_within_bounds() {
    let server = MockBedrock::start().await;
    server.mount(
        Rule::default_answer(Match::operation(Operation::InvokeModel).model("eu.*"))
            .named("eu")
            .expect(1),
    );
    let long = format!(
        r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(2000)
    );
    for _ in 0..14 {
        assert_eq!(signed(&server, &invoke(OPUS), &long).await.status, 200);
    }
    let error = server.verify().unwrap_err();
    let text = error.to_string();
    assert_eq!(error.failures[0].misses.len(), 10);
    assert!(text.contains("... and 4 more it did not answer"), "{text}");
    assert!(
        text.contains(
            "requests received (14; the latest 10 below, MockBedrock::received_requests has all):"
        ),
        "{text}"
    );
    assert_eq!((error.received.len(), error.omitted), (10, 4));
    assert!(
        error.received[0].starts_with("#5 POST"),
        "{}",
        error.received[0]
    );
    assert!(text.len() < 12_000, "{} bytes:\n{text}", text.len());
    server.reset();
}

#[tokio::test]
async fn a_mock_nested_in_a_host_app_shares_its_state_and_verifies_the_signed_path() {
    let server = MockBedrock::start().await;
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "host app" }))
        .nest_service("/bedrock", server.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let host = tokio::spawn(async move { axum::serve(listener, app).await });

    server.mount(
        Rule::new(
            Match::operation(Operation::InvokeModel).path("/bedrock/*"),
            Answer::http(
                200,
                &[("content-type", "application/json")],
                r#"{"nested":true}"#,
            ),
        )
        .expect(1),
    );
    let target = format!("/bedrock{}", invoke(OPUS));
    let answered = signed_to(address, "POST", &target, None, &[], PROBE).await;
    assert_eq!(answered.status, 200, "{}", answered.text());
    assert_eq!(answered.json(), json!({"nested": true}));
    // Signed without the prefix it is sent with: refused, as AWS would.
    let unprefixed = invoke(OPUS);
    let refused = signed_to(address, "POST", &target, Some(&unprefixed), &[], PROBE).await;
    assert_eq!(
        refused.bedrock_error(),
        (
            403,
            "InvalidSignatureException".to_owned(),
            SIGNATURE_MISMATCH.to_owned()
        )
    );
    // The host's own routes are its own; the admin API is not mounted.
    let health = send(address, "GET", "/health", &[], b"").await;
    assert_eq!(health.text(), "host app");
    let admin = send(address, "GET", "/bedrock/__bedrock_mock/journal", &[], b"").await;
    assert_ne!(admin.status, 200);
    // One journal, one clock, one set of rules with the handle.
    let journal = server.received_requests();
    assert_eq!(journal[0].raw_path, target);
    assert!(journal[0].auth.accepted);
    assert_eq!(journal.len(), 3);
    server.verify().unwrap();
    host.abort();
}

#[tokio::test]
async fn a_gateway_s_key_headers_are_journaled_redacted() {
    let server = MockBedrock::start().await;
    let secret = "gw-secret-0123456789abcdef";
    let headers = [
        ("content-type", "application/json"),
        ("x-portkey-api-key", secret),
        ("ocp-apim-subscription-key", secret),
        ("api-key", secret),
        (
            "x-claude-code-session-id",
            "59b017f8-757e-40fd-a2e3-1226f1ccbcb0",
        ),
    ];
    send(
        server.address(),
        "POST",
        &invoke(OPUS),
        &headers,
        PROBE.as_bytes(),
    )
    .await;
    let entry = &server.received_requests()[0];
    for name in ["x-portkey-api-key", "ocp-apim-subscription-key", "api-key"] {
        assert_eq!(entry.header(name), Some("<redacted>"), "{name}");
    }
    assert_eq!(
        entry.header("x-claude-code-session-id"),
        Some("59b017f8-757e-40fd-a2e3-1226f1ccbcb0"),
        "an id is no secret"
    );
    assert!(!format!("{entry:?}").contains(secret));
}
