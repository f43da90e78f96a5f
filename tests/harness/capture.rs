//! `record` end to end, without AWS: a session recorded through the proxy
//! with the mock as the upstream (its own signer and credentials), with a
//! throttle, an expired token and a stream cut; the written scenario then
//! replayed against the mock must show the same normalized journal, and
//! pass its own expectations.

use std::sync::{Arc, Mutex};

use bedrock_harness::capture::exchange::Exchange;
use bedrock_harness::capture::import::{ImportOptions, log_line, read_file};
use bedrock_harness::capture::proxy::{RecordOptions, Recorder};
use bedrock_harness::capture::write::{WriteOptions, write};
use bedrock_harness::scenario::run::{Front, FrontGuard, execute, execute_through};
use bedrock_harness::scenario::{self, load, snapshot};
use bedrock_mock_server::{EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY};

use crate::Scratch;

/// Runs the scenario at `path` with the recorder between client and mock;
/// returns the mock's journal (normalized) and what the recorder caught.
async fn record(path: &str) -> (String, Vec<Exchange>) {
    record_logging(path, Arc::default()).await
}

/// [`record`], each exchange's proxy log line added to `log` as it ends.
async fn record_logging(path: &str, log: Arc<Mutex<Vec<String>>>) -> (String, Vec<Exchange>) {
    let scenario = load::load(std::path::Path::new(path)).expect("the upstream scenario loads");
    let slot: Arc<Mutex<Option<Recorder>>> = Arc::default();
    let kept = Arc::clone(&slot);
    let front: Front = Box::new(move |mock_uri: String| {
        Box::pin(async move {
            let credentials = aws_credential_types::Credentials::new(
                EXAMPLE_ACCESS_KEY_ID,
                EXAMPLE_SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            );
            let options = RecordOptions::new("us-east-1")
                .upstream_url(mock_uri)
                .credentials(credentials)
                .on_exchange(move |exchange| log.lock().unwrap().push(log_line(exchange)));
            let recorder = Recorder::start(options, 0)
                .await
                .map_err(|e| e.to_string())?;
            let uri = recorder.uri().to_owned();
            *kept.lock().unwrap() = Some(recorder);
            Ok((uri, Box::new(()) as FrontGuard))
        })
    });
    let run = execute_through(&scenario, Some(front))
        .await
        .expect("the recorded session runs");
    let recorder = slot.lock().unwrap().take().expect("the front started");
    let exchanges = recorder.finish().await;
    (normalized(&run), exchanges)
}

/// The journal as snapshots show it, without the names of the rules that
/// answered (the recording's and the replay's rules differ by design).
fn normalized(run: &scenario::observed::Run) -> String {
    let text = snapshot::render(&run.journal, &run.mock_uri, run.at_once());
    text.lines()
        .map(|line| match line.find(" (rule: ") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The prompt of the upstream scenarios, and what the replay sends in its
/// place when text is not kept.
const PROMPT: &str = "Say the pangram.";
const PLACEHOLDER: &str = "xxxxxxxxxxxxxxxx";

/// Writes `exchanges` as a scenario, runs it, and returns its journal and
/// whether its own expectations held.
async fn replay(
    exchanges: &[Exchange],
    keep_text: bool,
    name: &str,
) -> (String, scenario::Report, String) {
    let written = write(exchanges, &WriteOptions::new(name).keep_text(keep_text));
    let scratch = Scratch::new(name);
    let path = scratch.0.join(format!("{name}.toml"));
    std::fs::write(&path, &written.toml).unwrap();
    let scenario = load::load(&path)
        .unwrap_or_else(|e| panic!("the written scenario loads: {e}\n{}", written.toml));
    let run = execute(&scenario).await.expect("the replay runs");
    let report = scenario::run_file(&path).await;
    (normalized(&run), report, written.toml)
}

/// Records the session of the scenario at `path`, checks the recorded
/// journal shows each of `signs`, and replays what was recorded with text
/// kept and not: the same journal each time, and the written scenario's
/// own expectations hold.
async fn assert_replays(path: &str, name: &str, signs: &[&str]) {
    let (recorded, exchanges) = record(path).await;
    for sign in signs {
        assert!(recorded.contains(sign), "{sign} in:\n{recorded}");
    }
    for keep_text in [true, false] {
        let (replayed, report, toml) =
            replay(&exchanges, keep_text, &format!("{name}-{keep_text}")).await;
        let expected = if keep_text {
            recorded.clone()
        } else {
            recorded.replace(PROMPT, PLACEHOLDER)
        };
        assert_eq!(
            replayed, expected,
            "keep_text {keep_text}; the written scenario:\n{toml}"
        );
        assert!(report.passed(), "{}\n{toml}", report.failure_text());
    }
}

#[tokio::test]
async fn a_bedrock_session_replays_with_the_same_journal() {
    let signs = ["ThrottlingException", "ExpiredTokenException", "cut:600"];
    assert_replays(
        "tests/data/capture/upstream-bedrock.toml",
        "bedrock-replay",
        &signs,
    )
    .await;
}

#[tokio::test]
async fn a_mantle_session_replays_with_the_same_journal() {
    let (recorded, exchanges) = record("tests/data/capture/upstream-mantle.toml").await;
    assert!(recorded.contains("overloaded_error"), "{recorded}");
    assert!(recorded.contains("cut:700"), "{recorded}");
    let (replayed, report, toml) = replay(&exchanges, false, "mantle-replay").await;
    assert_eq!(
        replayed,
        recorded.replace(PROMPT, PLACEHOLDER),
        "the written scenario:\n{toml}"
    );
    assert!(report.passed(), "{}\n{toml}", report.failure_text());
}

#[tokio::test]
async fn nothing_secret_reaches_the_written_file() {
    let (_, exchanges) = record("tests/data/capture/upstream-bedrock.toml").await;
    let written = write(&exchanges, &WriteOptions::new("secrets"));
    let secrets = [
        "ASIAQCUSTOMERKEY0001",
        "customerSecret/K7MDENG+bPxRfiCYCUSTOMER1",
        "IQoJb3JpZ2luX2VjCUSTOMERsessionTOKEN",
        EXAMPLE_SECRET_ACCESS_KEY,
        "Say the pangram",
        "quick brown fox",
    ];
    for secret in secrets {
        assert!(
            !written.toml.contains(secret),
            "{secret} in:\n{}",
            written.toml
        );
        assert!(
            !written.redactions.contains(secret),
            "{secret} in:\n{}",
            written.redactions
        );
    }
    assert!(
        written.redactions.contains("session token"),
        "{}",
        written.redactions
    );
}

#[tokio::test]
async fn the_proxy_log_reads_back_as_the_same_scenario() {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let (_, exchanges) = record_logging(
        "tests/data/capture/upstream-bedrock.toml",
        Arc::clone(&lines),
    )
    .await;
    let scratch = Scratch::new("proxy-log");
    let path = scratch.0.join("session.jsonl");
    std::fs::write(&path, lines.lock().unwrap().join("\n") + "\n").unwrap();
    let imported = read_file(&path, &ImportOptions::new()).expect("the proxy log reads");
    assert_eq!(imported.exchanges.len(), exchanges.len());
    let options = WriteOptions::new("same");
    assert_eq!(
        write(&imported.exchanges, &options).toml,
        write(&exchanges, &options).toml
    );
}

#[tokio::test]
async fn streams_cut_short_bodies_cut_and_resets_replay_as_they_happened() {
    let signs = ["truncated:chunk:", "cut:50", "reset"];
    assert_replays(
        "tests/data/capture/upstream-faults.toml",
        "faults-replay",
        &signs,
    )
    .await;
}

/// A chunk frame carrying `json`, as Bedrock writes one.
fn chunk_frame(json: &str) -> Vec<u8> {
    use bedrock_eventstream::{Header, bedrock::chunk_payload, encode};
    let headers = [
        Header::string(":event-type", "chunk"),
        Header::string(":content-type", "application/json"),
        Header::string(":message-type", "event"),
    ];
    let mut out = Vec::new();
    encode(&headers, &chunk_payload(json.as_bytes(), "abcd"), &mut out).unwrap();
    out
}

/// `written` as a file named for its scenario, loaded back.
fn loads(written: &bedrock_harness::capture::write::Written, name: &str) -> scenario::Scenario {
    let scratch = Scratch::new(name);
    let path = scratch.0.join(format!("{name}.toml"));
    std::fs::write(&path, &written.toml).unwrap();
    load::load(&path).unwrap_or_else(|e| panic!("{e}\n{}", written.toml))
}

#[test]
fn what_a_session_holds_beyond_the_mock_is_written_so_it_loads_and_leaks_nothing() {
    use std::time::Duration;

    use bedrock_harness::capture::exchange::{Answered, BodyEnd, Outcome, Piece};

    let arn =
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A111122223333%3Aapplication-inference-profile%2Fabc";
    let headers = vec![
        (
            "authorization".to_owned(),
            "AWS4-HMAC-SHA256 Credential=AKIAREALKEY000000001/20261207/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd".to_owned(),
        ),
        ("x-portkey-api-key".to_owned(), "pk-live-secret-123".to_owned()),
    ];
    // A stream whose last bytes are a gateway's JSON error, not a frame:
    // their first four bytes read as a length of some 2 GB.
    let mut stream = chunk_frame(r#"{"type":"message_start","message":{"id":"m","content":[]}}"#);
    stream.extend_from_slice(br#"{"message":"Internal server error"}"#);
    let answer = Answered::new(
        Duration::from_millis(5),
        200,
        vec![
            (
                "content-type".into(),
                "application/vnd.amazon.eventstream".into(),
            ),
            ("vary".into(), "origin".into()),
            ("vary".into(), "accept-encoding".into()),
        ],
    )
    .piece(Piece::new(Duration::from_millis(1), stream))
    .ended(BodyEnd::Broken {
        at: Duration::from_millis(2),
    });
    let streamed = Exchange::new(
        "POST",
        format!("/model/{arn}/invoke-with-response-stream"),
        Outcome::Answered(answer),
    )
    .with_headers(headers)
    .with_body(&br#"{"messages":[{"role":"user","content":"the customer's secret plan"}]}"#[..]);
    let sso = Exchange::new(
        "GET",
        "/federation/credentials",
        Outcome::Answered(Answered::new(Duration::ZERO, 200, Vec::new())),
    )
    .started_at(Duration::from_millis(1));
    let written = write(&[streamed, sso], &WriteOptions::new("beyond-the-mock"));
    let scenario = loads(&written, "beyond-the-mock");
    for secret in [
        "111122223333",
        "AKIAREALKEY",
        "pk-live-secret",
        "0123abcd",
        "secret plan",
    ] {
        assert!(
            !written.toml.contains(secret),
            "{secret} in:\n{}",
            written.toml
        );
        assert!(
            !written.notes.join("\n").contains(secret),
            "{secret} in {:?}",
            written.notes
        );
    }
    assert!(
        written
            .toml
            .contains(r#""vary" = "origin, accept-encoding""#),
        "{}",
        written.toml
    );
    assert!(
        written.toml.contains("x-portkey-api-key: <redacted>"),
        "{}",
        written.toml
    );
    assert!(
        written.toml.len() < 20_000,
        "a garbage tail made {} bytes",
        written.toml.len()
    );
    assert_eq!(
        scenario.client.env.get("AWS_REGION").map(String::as_str),
        Some("us-west-2")
    );
    assert!(
        written
            .notes
            .iter()
            .any(|n| n.contains("GetRoleCredentials was left out")),
        "{:?}",
        written.notes
    );
    assert_eq!(
        scenario.expect.requests.len(),
        1,
        "the SSO call is not expected"
    );
}

#[test]
fn a_mantle_event_of_several_lines_is_left_out_with_a_note() {
    use std::time::Duration;

    use bedrock_harness::capture::exchange::{Answered, Outcome, Piece};

    let sse = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: odd\ndata: one\ndata: two\n\n";
    let answer = Answered::new(
        Duration::ZERO,
        200,
        vec![("content-type".into(), "text/event-stream".into())],
    )
    .piece(Piece::new(Duration::ZERO, sse.as_bytes().to_vec()));
    let exchange = Exchange::new("POST", "/anthropic/v1/messages", Outcome::Answered(answer))
        .with_body(&br#"{"model":"anthropic.claude-opus-5-5","stream":true,"messages":[]}"#[..]);
    let written = write(&[exchange], &WriteOptions::new("mantle-lines"));
    loads(&written, "mantle-lines");
    assert!(
        written.notes.iter().any(|n| n.contains("line break")),
        "{:?}",
        written.notes
    );
    assert!(
        written.toml.contains(r#"frames = ["sse:message_start"]"#),
        "{}",
        written.toml
    );
}

#[test]
fn a_chunk_with_fields_of_its_own_keeps_no_answer_text() {
    use std::time::Duration;

    use base64::Engine as _;
    use bedrock_eventstream::{Header, encode};
    use bedrock_harness::capture::exchange::{Answered, Outcome, Piece};

    // A chunk whose payload has a field beyond `bytes` and `p`: written as
    // the frame it is, its event's text redacted all the same.
    let event = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the customer's secret plan"}}"#;
    let encoded = base64::engine::general_purpose::STANDARD.encode(event);
    let payload = format!(r#"{{"bytes":"{encoded}","p":"ab","extra":1}}"#);
    let headers = [
        Header::string(":event-type", "chunk"),
        Header::string(":content-type", "application/json"),
        Header::string(":message-type", "event"),
    ];
    let mut frame = Vec::new();
    encode(&headers, payload.as_bytes(), &mut frame).unwrap();
    let answer = Answered::new(
        Duration::ZERO,
        200,
        vec![(
            "content-type".into(),
            "application/vnd.amazon.eventstream".into(),
        )],
    )
    .piece(Piece::new(Duration::ZERO, frame));
    let exchange = Exchange::new(
        "POST",
        "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream",
        Outcome::Answered(answer),
    );
    let written = write(&[exchange], &WriteOptions::new("chunk-fields"));
    loads(&written, "chunk-fields");
    assert!(written.toml.contains("frame_base64"), "{}", written.toml);
    assert!(!written.toml.contains(&encoded), "{}", written.toml);
    assert!(
        written
            .toml
            .contains(r#"frames = ["chunk:content_block_delta"]"#),
        "{}",
        written.toml
    );
}
