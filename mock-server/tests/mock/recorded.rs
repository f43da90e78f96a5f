//! Recorded answers (`Answer::recorded`): a stream replays the frames the
//! mock itself writes for the same events, byte for byte; its gaps are
//! waited on the server's clock; the rule's effects still apply; whole
//! bodies are journaled with their error; a recording that cannot be sent
//! is refused, naming the field.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bedrock_eventstream::Decoder;
use bedrock_mock_server::{
    Answer, AuthMode, Clock, ConfigErrorKind, ErrorCode, ExceptionType, Match, MockBedrock,
    Operation, RecordedEvent, Recording, Rule, ServerConfig,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{RawResponse, send};

const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const STREAM: &str =
    "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream";
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":40,"messages":[{"role":"user","content":"."}]}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn open_server() -> MockBedrock {
    MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await
}

fn streams() -> Match {
    Match::operation(Operation::InvokeModelWithResponseStream)
}

/// Each event-stream frame of `body`, as its bytes.
fn frames(body: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = Decoder::new();
    let mut input = body;
    let mut out = Vec::new();
    loop {
        let before = input.len();
        let Some(frame) = decoder.decode(&mut input).unwrap() else {
            break;
        };
        let len = frame.encoded_len();
        assert!(before >= len);
        let start = body.len() - before;
        out.push(body[start..start + len].to_vec());
    }
    assert!(input.is_empty(), "the body is whole frames");
    out
}

/// The recorded event that writes `frame` again: a chunk with its JSON
/// and padding, or an exception with its type and message.
fn as_recorded(frame: &[u8], after: Duration) -> RecordedEvent {
    #[derive(Deserialize)]
    struct Chunk {
        bytes: String,
        p: String,
    }
    let decoded = bedrock_eventstream::decode_frame(frame).unwrap();
    match decoded.str_header(":message-type") {
        Some("event") => {
            let chunk: Chunk = serde_json::from_slice(decoded.payload()).unwrap();
            let json = base64::engine::general_purpose::STANDARD
                .decode(chunk.bytes)
                .unwrap();
            RecordedEvent::chunk(after, String::from_utf8(json).unwrap()).padded(chunk.p)
        }
        Some("exception") => {
            let exception: ExceptionType = decoded
                .str_header(":exception-type")
                .unwrap()
                .parse()
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(decoded.payload()).unwrap();
            RecordedEvent::exception(after, exception, body["message"].as_str().unwrap())
        }
        other => panic!("unexpected frame {other:?}"),
    }
}

/// Sends `path` over HTTP/1.0 (the body is the bytes after the head, no
/// chunk framing) and reads until the connection ends, cleanly or not:
/// the head, and the body's bytes.
async fn send_http10(address: SocketAddr, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.0\r\nhost: {address}\r\ncontent-length: {}\r\n\r\n",
        PROBE.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(PROBE.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    (head, raw[split + 4..].to_vec())
}

fn labels(server: &MockBedrock, n: usize) -> Vec<String> {
    server.received_requests()[n]
        .frames
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn a_recorded_stream_sends_the_mocks_own_frames_byte_for_byte() {
    let server = open_server().await;
    server.mount(
        Rule::new(
            streams(),
            Answer::stream_exception(3, "throttlingException".parse().unwrap()),
        )
        .times(1),
    );
    let own = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(own.status, 200);
    let own_frames = frames(&own.body);
    assert_eq!(own_frames.len(), 4);
    // Chunks and the exception by what they carry; the third frame as its
    // bytes.
    let events: Vec<RecordedEvent> = own_frames
        .iter()
        .enumerate()
        .map(|(n, frame)| match n {
            2 => RecordedEvent::frame(ms(0), frame.clone()),
            _ => as_recorded(frame, ms(0)),
        })
        .collect();
    server.mount(Rule::new(
        streams(),
        Answer::recorded(Recording::events(200, &[], events)),
    ));
    let replayed = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.body, own.body, "the same bytes");
    assert_eq!(
        replayed.chunks.len(),
        own.chunks.len(),
        "each frame in its own write, as the mock's own"
    );
    for header in ["content-type", "x-amzn-bedrock-content-type"] {
        assert_eq!(replayed.header(header), own.header(header), "{header}");
    }
    assert!(replayed.header("x-amzn-requestid").is_some());
    assert_eq!(labels(&server, 1), labels(&server, 0));
    assert_eq!(
        labels(&server, 1),
        [
            "chunk:message_start",
            "chunk:content_block_start",
            "chunk:content_block_delta",
            "exception:throttlingException"
        ]
    );
}

#[tokio::test]
async fn a_recording_answers_any_request_as_given_with_its_headers() {
    let server = open_server().await;
    let recording = Recording::events(
        200,
        &[
            ("content-type", "application/vnd.amazon.eventstream"),
            ("x-amzn-requestid", "recorded-id"),
            ("x-amzn-bedrock-invocation-latency", "412"),
        ],
        vec![RecordedEvent::chunk(ms(0), r#"{"type":"message_stop"}"#)],
    );
    // A non-stream operation, and a model the account does not serve.
    server.mount(Rule::new(Match::any(), Answer::recorded(recording)));
    let r = send(
        server.address(),
        "POST",
        "/model/anthropic.nobody/invoke",
        &[],
        PROBE.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-amzn-bedrock-invocation-latency"), Some("412"));
    assert_eq!(
        r.header("x-amzn-bedrock-content-type"),
        None,
        "the recording's content-type: no default headers"
    );
    let ids: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "x-amzn-requestid")
        .collect();
    assert_eq!(ids.len(), 1, "the mock's id only");
    assert_eq!(ids[0].1, server.received_requests()[0].request_id);
    assert_eq!(labels(&server, 0), ["chunk:message_stop"]);
}

/// A client in the test's process that reads a stream as an in-process
/// client sharing a fixed clock does: whenever nothing has come, it waits
/// on the clock (with what it has read so far), so the server's timeline
/// can jump past a gap nothing else could end. HTTP/1.0, so the body is
/// the bytes after the head (no chunk framing to count around).
async fn read_on_the_clock(
    address: SocketAddr,
    clock: &Clock,
    path: &str,
    body: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.0\r\nhost: {address}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let request = format!("POST {path}");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let body_start = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| at + 4);
        let received = body_start.map(|start| (raw.len() - start) as u64);
        let n = tokio::select! {
            biased;
            n = stream.read(&mut buf) => n.unwrap(),
            () = clock.wait(&request, received, Duration::from_secs(3600)) => {
                return Err("gave up: nothing came for an hour")
            }
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    Ok(raw[start..].to_vec())
}

#[tokio::test]
async fn gaps_are_waited_on_a_fixed_clock_which_moves_past_them() {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .clock(Clock::fixed(start))
        .start()
        .await
        .unwrap();
    let recording = Recording::events(
        200,
        &[],
        vec![
            RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
            RecordedEvent::chunk(ms(100_000), r#"{"type":"ping"}"#),
            RecordedEvent::chunk(ms(50_000), r#"{"type":"message_stop"}"#),
        ],
    )
    .head_after(ms(30_000));
    server.mount(Rule::new(streams(), Answer::recorded(recording)));
    let clock = server.clock();
    let body = read_on_the_clock(server.address(), clock, STREAM, PROBE.as_bytes())
        .await
        .unwrap();
    assert_eq!(frames(&body).len(), 3);
    assert_eq!(
        clock.now(),
        start + Duration::from_secs(180),
        "the clock moved by the head's wait and each gap, and no further"
    );
    assert_eq!(
        labels(&server, 0),
        ["chunk:message_start", "chunk:ping", "chunk:message_stop"],
        "gaps are pacing, not stalls"
    );
}

#[tokio::test]
async fn a_client_that_gives_up_in_a_gap_is_journaled_and_sent_nothing_more() {
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .clock(Clock::fixed(SystemTime::UNIX_EPOCH))
        .start()
        .await
        .unwrap();
    let recording = Recording::events(
        200,
        &[],
        vec![
            RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
            RecordedEvent::chunk(ms(7_200_000), r#"{"type":"message_stop"}"#),
        ],
    );
    server.mount(Rule::new(streams(), Answer::recorded(recording)));
    let clock = server.clock();
    let read = read_on_the_clock(server.address(), clock, STREAM, PROBE.as_bytes()).await;
    assert!(read.is_err(), "the client's hour ran out first");
    assert_eq!(
        clock.now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(3600)
    );
    assert_eq!(labels(&server, 0), ["chunk:message_start", "gave-up"]);
}

#[tokio::test]
async fn a_gap_on_the_system_clock_is_a_real_wait() {
    let server = open_server().await;
    let recording = Recording::events(
        200,
        &[],
        vec![
            RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
            RecordedEvent::chunk(ms(200), r#"{"type":"message_stop"}"#),
        ],
    );
    server.mount(Rule::new(streams(), Answer::recorded(recording)));
    let sent = Instant::now();
    let (_, body) = send_http10(server.address(), STREAM).await;
    let whole = sent.elapsed();
    assert_eq!(frames(&body).len(), 2);
    // A lower bound only: the second frame cannot have come sooner.
    assert!(whole >= Duration::from_millis(200), "{whole:?}");
}

#[tokio::test]
async fn a_cut_after_bytes_cuts_a_recording() {
    let server = open_server().await;
    let events = vec![
        RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
        RecordedEvent::chunk(ms(0), r#"{"type":"message_stop"}"#),
    ];
    server.mount(
        Rule::new(
            streams(),
            Answer::recorded(Recording::events(200, &[], events)),
        )
        .cut_after(100),
    );
    let (_, body) = send_http10(server.address(), STREAM).await;
    assert_eq!(body.len(), 100, "100 bytes, then the cut");
    let journal = labels(&server, 0);
    assert_eq!(
        journal.last().map(String::as_str),
        Some("cut:100"),
        "{journal:?}"
    );
}

#[tokio::test]
async fn a_recorded_sse_stream_sends_mantles_own_events_byte_for_byte() {
    let server = open_server().await;
    let headers = [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
    ];
    let body = serde_json::json!({
        "model": "anthropic.claude-haiku-4-5",
        "max_tokens": 40,
        "messages": [{"role": "user", "content": "."}],
        "stream": true,
    })
    .to_string();
    let own = send(
        server.address(),
        "POST",
        "/v1/messages",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text());
    let text = own.text();
    let events: Vec<RecordedEvent> = text
        .split_terminator("\n\n")
        .map(|block| {
            let (event, data) = block
                .strip_prefix("event: ")
                .and_then(|rest| rest.split_once("\ndata: "))
                .unwrap_or_else(|| panic!("an event: {block:?}"));
            RecordedEvent::sse(ms(1), event, data)
        })
        .collect();
    assert!(events.len() >= 5);
    server.mount(Rule::new(
        Match::any(),
        Answer::recorded(Recording::events(200, &[], events)),
    ));
    let replayed = send(
        server.address(),
        "POST",
        "/v1/messages",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(replayed.body, own.body);
    assert_eq!(replayed.header("content-type"), own.header("content-type"));
    assert_eq!(replayed.header("cache-control"), Some("no-cache"));
    let ids: Vec<_> = replayed
        .headers
        .iter()
        .filter(|(n, _)| n == "request-id")
        .collect();
    assert_eq!(ids.len(), 1, "Mantle's request-id, once");
    assert_eq!(labels(&server, 1), labels(&server, 0));
    assert!(labels(&server, 1).iter().all(|l| l.starts_with("sse:")));
}

#[tokio::test]
async fn a_whole_recorded_error_is_journaled_with_its_type_and_message() {
    let server = open_server().await;
    let error = bedrock_mock_server::AwsError::from(ErrorCode::ThrottlingException);
    let wire_type = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/";
    let body = format!(r#"{{"message":"{}"}}"#, error.message);
    let recording = Recording::whole(
        429,
        &[
            ("content-type", "application/json"),
            ("x-amzn-errortype", wire_type),
        ],
        body.clone(),
    )
    .head_after(ms(50));
    server.mount(Rule::new(Match::any(), Answer::recorded(recording)));
    let started = Instant::now();
    let r: RawResponse = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert!(started.elapsed() >= ms(50));
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), body);
    let (status, code, message) = r.bedrock_error();
    assert_eq!((status, code.as_str()), (429, "ThrottlingException"));
    let entry = &server.received_requests()[0];
    assert_eq!(entry.status, Some(429));
    assert_eq!(entry.error_type.as_deref(), Some("ThrottlingException"));
    assert_eq!(entry.error_message.as_deref(), Some(message.as_str()));
    assert!(entry.frames.is_empty(), "a head wait is not a stall");
}

#[tokio::test]
async fn a_recorded_sts_xml_error_is_journaled_with_its_code_and_message() {
    let server = open_server().await;
    // The XML STS sends, as the mock itself sends it.
    server.mount(
        Rule::new(
            Match::operation(Operation::GetCallerIdentity),
            Answer::error(ErrorCode::ExpiredToken),
        )
        .times(1),
    );
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let call = "Action=GetCallerIdentity&Version=2011-06-15";
    let sent = send(server.address(), "POST", "/", &form, call.as_bytes()).await;
    assert_eq!(sent.status, 403);
    assert!(
        sent.text().contains("<Code>ExpiredToken</Code>"),
        "{}",
        sent.text()
    );
    assert_eq!(
        sent.header("x-amzn-errortype"),
        None,
        "only the XML says it"
    );
    let content_type = sent.header("content-type").unwrap_or("text/xml");
    let recording = Recording::whole(403, &[("content-type", content_type)], sent.body.clone());
    let replayer = open_server().await;
    replayer.mount(Rule::new(
        Match::operation(Operation::GetCallerIdentity),
        Answer::recorded(recording),
    ));
    let replayed = send(replayer.address(), "POST", "/", &form, call.as_bytes()).await;
    assert_eq!(replayed.body, sent.body);
    let (first, second) = (
        &server.received_requests()[0],
        &replayer.received_requests()[0],
    );
    assert_eq!(first.error_type.as_deref(), Some("ExpiredToken"));
    assert_eq!(second.error_type, first.error_type);
    assert_eq!(second.error_message, first.error_message);
    assert!(second.error_message.is_some());
}

#[tokio::test]
async fn the_sdk_decodes_a_replayed_stream() {
    use aws_sdk_bedrockruntime::primitives::Blob;
    use aws_sdk_bedrockruntime::types::ResponseStream;

    let server = open_server().await;
    let sent = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
    ];
    let mut events: Vec<RecordedEvent> = sent
        .iter()
        .map(|json| RecordedEvent::chunk(ms(5), *json))
        .collect();
    events.push(RecordedEvent::exception(
        ms(5),
        "modelStreamErrorException".parse().unwrap(),
        "The model stopped.",
    ));
    server.mount(Rule::new(
        streams(),
        Answer::recorded(Recording::events(200, &[], events)),
    ));
    let client = server.runtime_client();
    let mut output = client
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .content_type("application/json")
        .body(Blob::new(PROBE.as_bytes()))
        .send()
        .await
        .expect("the head");
    let mut got = Vec::new();
    let failure = loop {
        match output.body.recv().await {
            Ok(Some(ResponseStream::Chunk(part))) => {
                got.push(String::from_utf8(part.bytes().unwrap().as_ref().to_vec()).unwrap());
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, sent);
    let said = format!(
        "{}",
        aws_sdk_bedrockruntime::error::DisplayErrorContext(&failure)
    );
    assert!(said.contains("The model stopped."), "{said}");
}

fn refused(answer: Answer) -> (ConfigErrorKind, String) {
    let error = Rule::new(Match::any(), answer)
        .check()
        .expect_err("a recording the checks refuse");
    (error.kind, error.field.unwrap_or_default())
}

#[test]
fn a_recording_that_cannot_be_sent_is_refused_naming_the_field() {
    let chunk = |after| RecordedEvent::chunk(after, r#"{"type":"ping"}"#);
    let stream = |events| Answer::recorded(Recording::events(200, &[], events));
    assert_eq!(
        refused(stream(vec![
            chunk(ms(0)),
            RecordedEvent::sse(ms(0), "ping", "{}")
        ])),
        (
            ConfigErrorKind::Unmeetable,
            "answer.recorded.events[1].event".to_owned()
        ),
        "mixed kinds"
    );
    assert_eq!(
        refused(stream(vec![
            chunk(ms(0)),
            RecordedEvent::frame(ms(0), vec![0u8; 20])
        ])),
        (
            ConfigErrorKind::Malformed,
            "answer.recorded.events[1].frame_base64".to_owned()
        ),
        "a frame that does not decode"
    );
    assert_eq!(
        refused(stream(vec![chunk(ms(86_400_001))])),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.events[0].after_ms".to_owned()
        ),
        "a gap past the longest stall"
    );
    assert_eq!(
        refused(Answer::recorded(
            Recording::events(200, &[], vec![]).head_after(Duration::from_secs(86_401))
        )),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.head_after_ms".to_owned()
        )
    );
    assert_eq!(
        refused(stream(vec![RecordedEvent::chunk(ms(0), "not json")])),
        (
            ConfigErrorKind::Malformed,
            "answer.recorded.events[0].chunk".to_owned()
        )
    );
    assert_eq!(
        refused(Answer::recorded(Recording::whole(
            200,
            &[("transfer-encoding", "chunked")],
            "x"
        ))),
        (
            ConfigErrorKind::BreaksFraming,
            "answer.recorded.headers.transfer-encoding".to_owned()
        )
    );
    // No event larger than an event-stream frame may be (16 MiB): the
    // server would otherwise fail writing it.
    let huge = "x".repeat(16 * 1024 * 1024);
    let big_json = format!(r#"{{"type":"ping","p":"{huge}"}}"#);
    assert_eq!(
        refused(stream(vec![
            chunk(ms(0)),
            RecordedEvent::chunk(ms(0), big_json)
        ])),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.events[1].chunk".to_owned()
        ),
        "a chunk past a frame's limit"
    );
    assert_eq!(
        refused(stream(vec![chunk(ms(0)).padded(huge.clone())])),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.events[0].p".to_owned()
        ),
        "padding past a frame's limit"
    );
    assert_eq!(
        refused(stream(vec![RecordedEvent::exception(
            ms(0),
            "throttlingException".parse().unwrap(),
            huge.clone()
        )])),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.events[0].message".to_owned()
        ),
        "an exception message past a frame's limit"
    );
    assert_eq!(
        refused(stream(vec![RecordedEvent::sse(ms(0), "ping", huge)])),
        (
            ConfigErrorKind::OutOfRange,
            "answer.recorded.events[0].data".to_owned()
        ),
        "an event's data past a frame's limit"
    );
    // In a config, the rule is named too.
    let config = ServerConfig::default().rule(Rule::new(
        Match::any(),
        stream(vec![RecordedEvent::sse(ms(0), "ping\nevent: x", "{}")]),
    ));
    let error = config.check().unwrap_err();
    assert_eq!(
        error.field.as_deref(),
        Some("rules[0].answer.recorded.events[0].event")
    );
    // Bad base64 is refused where the file is read, naming the event.
    let read = serde_json::from_str::<Rule>(
        r#"{"answer": {"recorded": {"status": 200, "events": [{"chunk": "{\"type\":\"ping\"}"}, {"after_ms": 3, "frame_base64": "not base64!"}]}}}"#,
    )
    .unwrap_err();
    assert!(
        read.to_string()
            .contains("`events[1].frame_base64` is not base64"),
        "{read}"
    );
}

#[test]
fn a_recording_reads_from_a_scenario_s_toml() {
    let text = r##"
        name = "#5 InvokeModelWithResponseStream"
        when = { operation = "InvokeModelWithResponseStream", model = "us.anthropic.claude-opus-5-5" }
        times = 1
        expect = 1
        [answer.recorded]
        status = 200
        headers = { "content-type" = "application/vnd.amazon.eventstream", "x-amzn-bedrock-content-type" = "application/json" }
        head_after_ms = 412
        events = [
          { after_ms = 0, chunk = '{"type":"message_start","message":{}}' },
          { after_ms = 5, exception = "throttlingException", message = "Too many requests, please wait before trying again." },
        ]
    "##;
    let rule: Rule = toml::from_str(text).unwrap();
    assert!(rule.check().is_ok());
    let Some(Answer::Recorded(recording)) = &rule.answer else {
        panic!("a recording")
    };
    assert_eq!(recording.head_after, ms(412));
    let written = serde_json::to_string(&rule).unwrap();
    assert_eq!(serde_json::from_str::<Rule>(&written).unwrap(), rule);
}

#[tokio::test]
async fn the_renderer_writes_a_recording_as_the_server_sends_it() {
    let recording = Recording::events(
        200,
        &[("x-amzn-bedrock-invocation-latency", "9")],
        vec![
            RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
            RecordedEvent::chunk(ms(3), r#"{"type":"message_stop"}"#),
        ],
    );
    let rendered = bedrock_mock_server::render::Renderer::default().recorded(&recording);
    let server = open_server().await;
    server.mount(Rule::new(streams(), Answer::recorded(recording)));
    let sent = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(rendered.body, sent.body, "the same seed, the same padding");
    assert_eq!(rendered.status, sent.status);
    assert_eq!(
        rendered.header("x-amzn-requestid"),
        sent.header("x-amzn-requestid")
    );
    for (name, value) in &rendered.headers {
        assert_eq!(sent.header(name), Some(value.as_str()), "{name}");
    }
}

#[tokio::test]
async fn a_recorded_error_s_message_reaches_the_journal_without_the_account_s_secrets() {
    let server = open_server().await;
    let secret = bedrock_mock_server::EXAMPLE_SECRET_ACCESS_KEY;
    let body = format!(r#"{{"message":"The key {secret} is not valid."}}"#);
    server.mount(Rule::new(
        Match::any(),
        Answer::recorded(Recording::whole(
            403,
            &[("x-amzn-errortype", "UnrecognizedClientException")],
            body,
        )),
    ));
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 403);
    let entry = &server.received_requests()[0];
    assert_eq!(
        entry.error_type.as_deref(),
        Some("UnrecognizedClientException")
    );
    let message = entry.error_message.as_deref().unwrap_or_default();
    assert!(message.starts_with("The key "), "{message}");
    assert!(!message.contains(secret), "{message}");
    assert!(!format!("{entry:?}").contains(secret));
}

#[tokio::test]
async fn a_rule_s_fault_and_reset_apply_to_a_recording() {
    use bedrock_mock_server::{FrameFault, FrameFaultKind, Reset};
    let server = open_server().await;
    let events = || {
        vec![
            RecordedEvent::chunk(ms(0), r#"{"type":"message_start"}"#),
            RecordedEvent::chunk(ms(0), r#"{"type":"message_stop"}"#),
        ]
    };
    let mut faulted = Rule::new(
        streams(),
        Answer::recorded(Recording::events(200, &[], events())),
    )
    .times(1);
    faulted.effects.fault = Some(FrameFault::at(FrameFaultKind::BadMessageCrc, 1));
    server.mount(faulted);
    let r = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    let mut decoder = Decoder::new();
    let mut input = &r.body[..];
    assert!(
        decoder.decode(&mut input).unwrap().is_some(),
        "the first frame is whole"
    );
    assert!(
        decoder.decode(&mut input).is_err(),
        "the second's CRC is broken"
    );
    assert_eq!(
        labels(&server, 0),
        ["chunk:message_start", "bad_message_crc:chunk:message_stop"]
    );

    let mut reset = Rule::new(
        streams(),
        Answer::recorded(Recording::events(200, &[], events())),
    );
    reset.effects.reset = Some(Reset::AfterHead);
    server.mount(reset);
    let (head, body) = send_http10(server.address(), STREAM).await;
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(body.is_empty(), "the head, then nothing");
    assert_eq!(labels(&server, 1), ["reset"]);
}
