//! Every way a config or rule comes in (`PUT /config`, `POST /rules`, the
//! builder, `mount`) is held to the same checks, with the same kind of
//! error.
//!
//! One table of bad configs, each sent every way it can come: as a whole
//! config to `PUT /__bedrock_mock/config` and to the builder's `start`,
//! and, when it is one bad rule, as that rule to `POST
//! /__bedrock_mock/rules` and to `try_mount`. Each must be refused with a
//! 400 (or a typed error) naming the field, and leave the server as it
//! was.

use bedrock_mock_server::{
    AuthMode, ConfigErrorKind, Dribble, JournalLimits, Match, MockBedrock, Pace, ReadLimits, Rule,
    ServerConfig, Stall,
};
use serde_json::{Value, json};

use crate::common::{RawResponse, send};

/// A config no way in may accept, and the field its error must name.
struct Bad {
    what: &'static str,
    config: Value,
    /// From the config's root.
    field: String,
    /// `None`: refused where it is read, before any check.
    kind: Option<ConfigErrorKind>,
}

fn bad(what: &'static str, config: Value, field: &str, kind: ConfigErrorKind) -> Bad {
    Bad {
        what,
        config,
        field: field.to_owned(),
        kind: Some(kind),
    }
}

/// A config whose only rule is `rule`.
fn rule(rule: Value) -> Value {
    json!({ "rules": [rule] })
}

/// A rule answering with `status`, `headers` and `body`.
fn http(status: u16, headers: Value, body: &str) -> Value {
    rule(json!({ "answer": { "http": { "status": status, "headers": headers, "body": body } } }))
}

// Long because it is the table: one row per bad config.
fn table() -> Vec<Bad> {
    use ConfigErrorKind::*;
    let max = u64::MAX;
    let mut rows = vec![
        bad(
            "a negative stall",
            rule(json!({"stall": {"seconds": -5}})),
            "rules[0].stall.seconds",
            OutOfRange,
        ),
        bad(
            "a stall of years",
            rule(json!({"stall": {"seconds": 1e12, "after_events": 1}})),
            "rules[0].stall.seconds",
            OutOfRange,
        ),
        bad(
            "a retry-after near u64::MAX",
            rule(json!({"answer": {"error": {"code": "ThrottlingException", "retry_after": max}}})),
            "rules[0].answer.error.retry_after",
            OutOfRange,
        ),
        bad(
            "a pace gap near u64::MAX",
            json!({"pace": {"between_events_ms": max}}),
            "pace.between_events_ms",
            OutOfRange,
        ),
        bad(
            "a first byte near u64::MAX",
            json!({"pace": {"first_byte_ms": max - 1}}),
            "pace.first_byte_ms",
            OutOfRange,
        ),
        bad(
            "a burst's first byte near u64::MAX",
            json!({"pace": {"burst": true, "first_byte_ms": max}}),
            "pace.first_byte_ms",
            OutOfRange,
        ),
        bad(
            "a dribble pause near u64::MAX",
            rule(json!({"dribble": {"bytes": 1, "every_ms": max}})),
            "rules[0].dribble.every_ms",
            OutOfRange,
        ),
        bad(
            "a dribble of 0 bytes",
            rule(json!({"dribble": {"bytes": 0}})),
            "rules[0].dribble.bytes",
            OutOfRange,
        ),
        bad("no region", json!({"regions": []}), "regions", Empty),
        bad(
            "a region that is not one",
            json!({"regions": ["moon"]}),
            "regions[0]",
            Malformed,
        ),
        bad(
            "an account id that is not one",
            json!({"account_id": "acct"}),
            "account_id",
            Malformed,
        ),
        bad(
            "an empty access key id",
            json!({"credentials": [{"access_key_id": "", "secret_access_key": "s"}]}),
            "credentials[0].access_key_id",
            Empty,
        ),
        bad(
            "an access key id given twice",
            json!({"credentials": [
                {"access_key_id": "AKIDTWICE", "secret_access_key": "one"},
                {"access_key_id": "AKIDTWICE", "secret_access_key": "two"}
            ]}),
            "credentials[1].access_key_id",
            Duplicate,
        ),
        bad(
            "an empty API key",
            json!({"api_keys": [{"key": ""}]}),
            "api_keys[0].key",
            Empty,
        ),
        bad(
            "a model state for no model",
            json!({"model_state": {"anthropic.claude-opus-9": "not_found"}}),
            "model_state.\"anthropic.claude-opus-9\"",
            Unknown,
        ),
        bad(
            "an nth of 0",
            rule(json!({"when": {"nth": 0}, "answer": {"error": {"code": "ThrottlingException"}}})),
            "rules[0].when.nth",
            OutOfRange,
        ),
        bad(
            "an expect past times",
            rule(json!({"stall": {"seconds": 1}, "times": 1, "expect": 2})),
            "rules[0].expect",
            Unmeetable,
        ),
        bad(
            "an error status past 599",
            rule(json!({"answer": {"error": {"code": "ThrottlingException", "status": 1000}}})),
            "rules[0].answer.error.status",
            OutOfRange,
        ),
        bad(
            "a custom error of 101",
            rule(json!({"answer": {"custom_error": {"code": "X", "status": 101, "message": "m"}}})),
            "rules[0].answer.custom_error.status",
            BreaksFraming,
        ),
        bad(
            "an http 101",
            http(101, json!({"upgrade": "websocket"}), ""),
            "rules[0].answer.http.status",
            BreaksFraming,
        ),
        bad(
            "an http 100",
            http(100, json!({}), ""),
            "rules[0].answer.http.status",
            BreaksFraming,
        ),
        bad(
            "an http 204 with a body",
            http(204, json!({}), "body"),
            "rules[0].answer.http.status",
            BreaksFraming,
        ),
        bad(
            "an http 304 with a body",
            http(304, json!({}), "body"),
            "rules[0].answer.http.status",
            BreaksFraming,
        ),
        bad(
            "an http status of 99",
            http(99, json!({}), ""),
            "rules[0].answer.http.status",
            OutOfRange,
        ),
        bad(
            "an http status of 600",
            http(600, json!({}), ""),
            "rules[0].answer.http.status",
            OutOfRange,
        ),
        bad(
            "a header with a line break",
            http(200, json!({"x-a": "1\r\nx-b: 2"}), ""),
            "rules[0].answer.http.headers.x-a",
            Malformed,
        ),
    ];
    // Each framing or hop-by-hop header, in either case.
    for (name, value) in [
        ("content-length", "5"),
        ("Content-Length", "500"),
        ("transfer-encoding", "chunked"),
        ("connection", "close"),
        ("upgrade", "h2c"),
        ("te", "trailers"),
        ("trailer", "x-checksum"),
        ("keep-alive", "timeout=5"),
    ] {
        rows.push(Bad {
            what: "an http answer framing its own body",
            config: http(200, json!({ name: value }), "hello world"),
            field: format!("rules[0].answer.http.headers.{name}"),
            kind: Some(BreaksFraming),
        });
    }
    // Refused where it is read (issue 21), with the field named here.
    rows.push(Bad {
        what: "an unknown error code",
        config: rule(json!({"answer": {"error": {"code": "Nope"}}})),
        field: "rules[0].answer.error.code".to_owned(),
        kind: None,
    });
    rows
}

fn admin(call: &str) -> String {
    format!("{}{call}", bedrock_mock_server::ADMIN_PREFIX)
}

/// An admin call as a test or a script makes it: JSON, to the address the
/// server listens on, from no web page.
async fn admin_call(server: &MockBedrock, method: &str, call: &str, body: &[u8]) -> RawResponse {
    let headers = [("content-type", "application/json")];
    send(server.address(), method, &admin(call), &headers, body).await
}

/// The answer names the field and says something after it.
fn assert_names(answer: &RawResponse, prefix: &str, field: &str, what: &str) {
    let text = answer.text();
    assert_eq!(answer.status, 400, "{what}: {text}");
    assert!(text.starts_with(prefix), "{what}: {text}");
    let named = format!("field `{field}`: ");
    let after = text.split_once(&named).map(|(_, rest)| rest);
    assert!(
        after.is_some_and(|rest| rest.len() > 10),
        "{what}: the answer must name `{field}` and say what is wrong: {text}"
    );
}

#[tokio::test]
async fn put_config_refuses_each_bad_config_naming_the_field() {
    let server = MockBedrock::start().await;
    for case in table() {
        let body = serde_json::to_vec(&case.config).unwrap();
        let answer = admin_call(&server, "PUT", "config", &body).await;
        assert_names(&answer, "config: ", &case.field, case.what);
        if case.kind.is_none() {
            // Not an empty message: the codes the mock knows.
            assert!(
                answer.text().contains("known codes: ValidationException, "),
                "{}",
                answer.text()
            );
        }
    }
    // Nothing refused was applied.
    assert_eq!(server.config(), ServerConfig::default());
    assert!(server.received_requests().is_empty());
}

#[tokio::test]
async fn post_rules_refuses_each_bad_rule_naming_the_field() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let mut rules = 0;
    for case in table() {
        let Some(field) = case.field.strip_prefix("rules[0].") else {
            continue;
        };
        let body = serde_json::to_vec(&case.config["rules"][0]).unwrap();
        let answer = admin_call(&server, "POST", "rules", &body).await;
        assert_names(&answer, "rule: ", field, case.what);
        rules += 1;
    }
    assert!(rules >= 20, "the table has {rules} bad rules");
    // None was mounted: a model call gets the account's normal answer.
    let probe = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
    let invoke = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
    let answer = send(server.address(), "POST", invoke, &[], probe).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(server.received_requests()[0].rule, None);
}

#[tokio::test]
async fn the_builder_refuses_each_bad_config_with_a_typed_error() {
    for case in table() {
        let config = match serde_json::from_value::<ServerConfig>(case.config.clone()) {
            Ok(config) => config,
            // Refused where it is read, before any way in.
            Err(e) if case.kind.is_none() => {
                assert!(
                    e.to_string().contains("known codes: "),
                    "{}: {e}",
                    case.what
                );
                continue;
            }
            Err(e) => panic!("{}: not even read: {e}", case.what),
        };
        let error = MockBedrock::builder()
            .config(config)
            .start()
            .await
            .err()
            .unwrap_or_else(|| panic!("{}: the server started", case.what));
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        let found = error.config_error().expect("a config error");
        assert_eq!(
            (found.field.as_deref(), Some(found.kind)),
            (Some(case.field.as_str()), case.kind),
            "{}: {error}",
            case.what
        );
        assert!(
            error.to_string().starts_with(&format!(
                "the config cannot be served: field `{}`: ",
                case.field
            )),
            "{error}"
        );
    }
}

#[tokio::test]
async fn the_builder_refuses_what_json_cannot_say() {
    // JSON has no NaN or infinity; TOML and Rust do.
    for (config, field) in [
        (
            ServerConfig::default()
                .rule(Rule::stalling(Match::any(), Stall::before_head(f64::NAN))),
            "rules[0].stall.seconds",
        ),
        (
            ServerConfig::default().rule(Rule::stalling(
                Match::any(),
                Stall::after_events(2, f64::INFINITY),
            )),
            "rules[0].stall.seconds",
        ),
        (
            ServerConfig::default().pace(Pace::between_events(std::time::Duration::MAX)),
            "pace.between_events_ms",
        ),
    ] {
        let error = MockBedrock::builder()
            .config(config)
            .start()
            .await
            .err()
            .unwrap();
        let found = error.config_error().unwrap();
        assert_eq!(
            (found.kind, found.field.as_deref()),
            (ConfigErrorKind::OutOfRange, Some(field))
        );
    }
}

#[tokio::test]
async fn the_builder_refuses_bounds_that_would_cut_every_connection() {
    use std::time::Duration;
    let builders = [
        (
            MockBedrock::builder()
                .read_limits(ReadLimits::new(Duration::ZERO, Duration::from_secs(1))),
            "read_limits.head",
        ),
        (
            MockBedrock::builder().write_timeout(Duration::ZERO),
            "write_timeout",
        ),
        (
            MockBedrock::builder().journal_limits(JournalLimits::default().with_entries(0)),
            "journal_limits.entries",
        ),
    ];
    for (builder, field) in builders {
        let error = builder.start().await.err().unwrap();
        let found = error.config_error().unwrap();
        assert_eq!(
            (found.kind, found.field.as_deref()),
            (ConfigErrorKind::OutOfRange, Some(field))
        );
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn mounting_a_bad_rule_is_refused_and_changes_nothing() {
    let server = MockBedrock::start().await;
    for case in table() {
        let (Some(field), Ok(config)) = (
            case.field.strip_prefix("rules[0]."),
            serde_json::from_value::<ServerConfig>(case.config.clone()),
        ) else {
            continue;
        };
        let rule = config.rules[0].clone();
        let error = server.try_mount(rule).unwrap_err();
        assert_eq!(error.field.as_deref(), Some(field), "{}", case.what);
    }
    let inf = Rule::stalling(Match::any(), Stall::before_head(f64::INFINITY));
    assert_eq!(
        server.try_mount(inf).unwrap_err().field.as_deref(),
        Some("stall.seconds")
    );
    server.verify().unwrap();
}

#[tokio::test]
#[should_panic(
    expected = "rule `silent` not mounted: field `dribble.bytes`: 0 bytes a piece sends nothing"
)]
async fn mount_panics_on_a_bad_rule_like_a_test_mistake() {
    let server = MockBedrock::start().await;
    server.mount(Rule::dribbling(Match::any(), Dribble::new(0, 0)).named("silent"));
}

#[tokio::test]
async fn update_config_leaves_the_config_as_it_was_when_the_change_is_bad() {
    let server = MockBedrock::start().await;
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        server.update_config(|c| c.regions.clear());
    }))
    .unwrap_err();
    let text = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.starts_with("bedrock mock: config not changed: field `regions`: "),
        "{text}"
    );
    assert_eq!(server.config().regions, ["us-east-1"]);
}

#[tokio::test]
async fn a_config_with_a_byte_order_mark_is_taken_and_a_bad_one_is_placed() {
    let server = MockBedrock::start().await;
    let accepted = admin_call(
        &server,
        "PUT",
        "config",
        b"\xEF\xBB\xBF{\"regions\": [\"eu-west-1\"]}",
    )
    .await;
    assert_eq!(accepted.status, 204, "{}", accepted.text());
    assert_eq!(server.config().regions, ["eu-west-1"]);
    let not_json = admin_call(
        &server,
        "PUT",
        "config",
        b"{\n \"regions\": [\"eu-west-1\",]\n}",
    )
    .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(
        not_json.text(),
        "config: line 2, column 26: field `regions`: trailing comma"
    );
    let not_utf8 = admin_call(&server, "POST", "rules", b"{\"name\": \"\xFF\"}").await;
    assert_eq!(not_utf8.status, 400);
    assert!(
        not_utf8
            .text()
            .starts_with("rule: line 1, column 11: byte 0xFF at offset 10"),
        "{}",
        not_utf8.text()
    );
}
