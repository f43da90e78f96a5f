//! Mantle, the Anthropic Messages API as Bedrock serves it, over real
//! sockets: `POST /v1/messages` and `POST /anthropic/v1/messages` (with or
//! without `?beta=true`), answered as JSON or as Server-Sent Events.
//!
//! The tests check what a client of the Anthropic SDKs relies on: one SSE
//! event per HTTP chunk, the event grammar (`message_start`, blocks, `ping`,
//! `message_delta`, `message_stop`), errors in the Anthropic API's shape and
//! status codes, SigV4 scoped to `bedrock-mantle` (and only there), Bedrock
//! API keys in `x-api-key` or `Authorization: Bearer`, rules written once
//! for every endpoint, the 32 MiB body limit, and the journal.
//!
//! Requests are sent with the raw client of `common`, so every header and
//! every chunk boundary is under the test's control.

use std::convert::Infallible;
use std::time::SystemTime;

use crate::common::{RawResponse, ToSign, as_pairs, example_credentials, send, sign_headers};
use bedrock_mock_server::{
    Answer, AuthMode, AuthScheme, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Match, MockBedrock, ModelState, Operation, Pace,
    RecordedRequest, Reply, ReplyBlock, Rule, ServerConfig,
};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Every path Mantle's Messages endpoint answers on: the bare host (what
/// Claude Code posts to) and the documented `/anthropic` base URL, each
/// with and without the query the Anthropic SDK adds for betas.
const MESSAGES_PATHS: [&str; 4] = [
    "/v1/messages",
    "/v1/messages?beta=true",
    "/anthropic/v1/messages",
    "/anthropic/v1/messages?beta=true",
];
const MESSAGES: &str = "/v1/messages";
/// A model of the default Mantle lineup.
const HAIKU: &str = "anthropic.claude-haiku-4-5";
/// The version header every Anthropic SDK sends.
const ANTHROPIC_VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");
const JSON_CONTENT: (&str, &str) = ("content-type", "application/json");
/// Mantle's request size limit (`mantle::MAX_BODY`, crate-private).
const MANTLE_MAX_BODY: usize = 32 * 1024 * 1024;

/// An Invoke path and a valid Invoke body, for checks that cross endpoints.
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
const INVOKE_PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// A Messages API body for `model`.
fn messages_body(model: &str, max_tokens: u64, stream: bool) -> String {
    let mut body = json!({
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "say hi"}],
    });
    if stream {
        body["stream"] = json!(true);
    }
    body.to_string()
}

fn stream_body(model: &str) -> String {
    messages_body(model, 1000, true)
}

/// Sends a request signed with the aws-sigv4 crate (the AWS SDKs' signer)
/// for `service` in `region`; `headers` are sent and signed along with
/// `host` and `content-type`.
async fn send_signed(
    server: &MockBedrock,
    service: &str,
    region: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let host = server.address().to_string();
    let mut unsigned = vec![
        ("host".to_owned(), host.clone()),
        (JSON_CONTENT.0.to_owned(), JSON_CONTENT.1.to_owned()),
    ];
    unsigned.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let all = sign_headers(
        &ToSign {
            method: "POST",
            url: &format!("http://{host}{target}"),
            headers: &unsigned,
            body: body.as_bytes(),
            region,
            service,
            time: SystemTime::now(),
        },
        example_credentials(),
    );
    send(
        server.address(),
        "POST",
        target,
        &as_pairs(&all),
        body.as_bytes(),
    )
    .await
}

/// A Mantle request as Claude Code sends it: SigV4 for `bedrock-mantle`
/// in us-east-1, `anthropic-version` signed.
async fn mantle_signed(server: &MockBedrock, target: &str, body: &str) -> RawResponse {
    send_signed(
        server,
        "bedrock-mantle",
        "us-east-1",
        target,
        &[ANTHROPIC_VERSION],
        body,
    )
    .await
}

/// A Mantle request with the given auth headers (none for a server with
/// auth off) plus `content-type` and `anthropic-version`.
async fn mantle_with(
    server: &MockBedrock,
    auth: &[(&str, &str)],
    target: &str,
    body: &str,
) -> RawResponse {
    let mut headers = vec![JSON_CONTENT, ANTHROPIC_VERSION];
    headers.extend_from_slice(auth);
    send(server.address(), "POST", target, &headers, body.as_bytes()).await
}

/// A server with authentication off, for tests about something else.
async fn open_server(config: ServerConfig) -> MockBedrock {
    MockBedrock::start_with(config.auth(AuthMode::Off)).await
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/// An Anthropic API error answer, its shape checked: `(status, type,
/// message)`.
fn anthropic_error(r: &RawResponse) -> (u16, String, String) {
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("x-amzn-errortype"),
        None,
        "Mantle errors carry no AWS error type"
    );
    let body = r.json();
    let object = body.as_object().expect("an error body is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error", "request_id", "type"], "{body}");
    assert_eq!(body["type"], "error");
    assert_eq!(
        body["request_id"].as_str(),
        r.header("request-id"),
        "the body's request_id is the request-id header"
    );
    let error = body["error"].as_object().expect("`error` is an object");
    assert_eq!(error.len(), 2, "{body}");
    (
        r.status,
        error["type"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

/// `(status, type)` of an Anthropic API error answer.
fn anthropic_error_type(r: &RawResponse) -> (u16, String) {
    let (status, error_type, _) = anthropic_error(r);
    (status, error_type)
}

// ---------------------------------------------------------------------------
// Server-Sent Events
// ---------------------------------------------------------------------------

/// One parsed SSE event.
#[derive(Debug, Clone)]
struct SseEvent {
    name: String,
    data: Value,
}

/// The body cut at the HTTP chunk boundaries it arrived in.
fn http_chunks(r: &RawResponse) -> Vec<&[u8]> {
    let mut rest = &r.body[..];
    let chunks = r
        .chunks
        .iter()
        .map(|&size| {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            chunk
        })
        .collect();
    assert!(rest.is_empty(), "chunk sizes cover the whole body");
    chunks
}

/// Parses SSE arriving in `chunks` with the `eventsource-stream` parser,
/// fed chunk by chunk as a client reads them; every `data` must be JSON.
async fn parse_sse(chunks: &[&[u8]]) -> Vec<SseEvent> {
    futures_util::stream::iter(chunks.iter().map(Ok::<_, Infallible>))
        .eventsource()
        .map(|event| {
            let event = event.expect("well-formed SSE");
            let data = serde_json::from_str(&event.data).unwrap_or_else(|e| {
                panic!("`{}` data is not JSON ({e}): {}", event.event, event.data)
            });
            SseEvent {
                name: event.event,
                data,
            }
        })
        .collect()
        .await
}

/// A streamed answer's checks common to every stream: 200, SSE content
/// type, chunked with no length, exactly one event per HTTP chunk, and
/// every event's `data.type` naming the event. Returns the events.
async fn sse_events(r: &RawResponse) -> Vec<SseEvent> {
    assert_eq!(r.status, 200, "{}", r.text());
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let chunks = http_chunks(r);
    assert!(!chunks.is_empty(), "a stream has chunks");
    for chunk in &chunks {
        let alone = parse_sse(&[chunk]).await;
        assert_eq!(
            alone.len(),
            1,
            "one event per chunk: {:?}",
            String::from_utf8_lossy(chunk)
        );
        assert!(chunk.ends_with(b"\n\n"), "a chunk ends its event");
    }
    let events = parse_sse(&chunks).await;
    assert_eq!(events.len(), chunks.len());
    for event in &events {
        assert_eq!(event.data["type"], event.name.as_str(), "{event:?}");
    }
    events
}

fn names(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

/// Checks the Messages stream grammar: `message_start`, then blocks
/// (`content_block_start`, deltas, `content_block_stop`, indexes from 0),
/// one `ping` right after the first block starts, then `message_delta`
/// and `message_stop` and nothing after.
fn assert_complete_message_grammar(events: &[SseEvent]) {
    let all = names(events);
    assert_eq!(
        &all[..3],
        ["message_start", "content_block_start", "ping"],
        "{all:?}"
    );
    assert_eq!(all.iter().filter(|n| **n == "ping").count(), 1, "{all:?}");
    assert_eq!(&all[all.len() - 2..], ["message_delta", "message_stop"]);
    let blocks: Vec<&SseEvent> = events[1..events.len() - 2]
        .iter()
        .filter(|e| e.name != "ping")
        .collect();
    let mut index = 0;
    let mut at = 0;
    while at < blocks.len() {
        assert_eq!(blocks[at].name, "content_block_start", "{all:?}");
        assert_eq!(blocks[at].data["index"], index);
        at += 1;
        let deltas = blocks[at..]
            .iter()
            .take_while(|e| e.name == "content_block_delta")
            .count();
        assert!(deltas >= 1, "block {index} has deltas: {all:?}");
        for delta in &blocks[at..at + deltas] {
            assert_eq!(delta.data["index"], index);
        }
        at += deltas;
        assert_eq!(
            blocks.get(at).map(|e| e.name.as_str()),
            Some("content_block_stop")
        );
        assert_eq!(blocks[at].data["index"], index);
        at += 1;
        index += 1;
    }
    assert!(index >= 1, "at least one block");
}

/// One content block as the stream built it.
#[derive(Debug)]
struct StreamedBlock {
    start: Value,
    deltas: Vec<Value>,
}

impl StreamedBlock {
    fn delta_types(&self) -> Vec<&str> {
        self.deltas
            .iter()
            .map(|d| d["type"].as_str().unwrap())
            .collect()
    }

    /// The `field` of every delta of type `delta_type`, concatenated.
    fn concat(&self, delta_type: &str, field: &str) -> String {
        self.deltas
            .iter()
            .filter(|d| d["type"] == delta_type)
            .map(|d| d[field].as_str().unwrap())
            .collect()
    }
}

fn streamed_blocks(events: &[SseEvent]) -> Vec<StreamedBlock> {
    let mut blocks: Vec<StreamedBlock> = Vec::new();
    for event in events {
        match event.name.as_str() {
            "content_block_start" => blocks.push(StreamedBlock {
                start: event.data["content_block"].clone(),
                deltas: Vec::new(),
            }),
            "content_block_delta" => {
                let index = event.data["index"].as_u64().unwrap() as usize;
                blocks[index].deltas.push(event.data["delta"].clone());
            }
            _ => {}
        }
    }
    blocks
}

/// The data of the first event named `name`.
fn event<'e>(events: &'e [SseEvent], name: &str) -> &'e Value {
    &events
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no `{name}` in {:?}", names(events)))
        .data
}

// ---------------------------------------------------------------------------
// 1. Streams
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_streamed_text_answer_is_one_sse_event_per_chunk_on_every_path() {
    let reply = "Hello from Mantle, one chunk at a time, as the Anthropic API streams.";
    let server = MockBedrock::start_with(ServerConfig::default().reply(Reply::text(reply))).await;
    for path in MESSAGES_PATHS {
        let r = mantle_signed(&server, path, &stream_body(HAIKU)).await;
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        let events = sse_events(&r).await;
        assert_complete_message_grammar(&events);
        assert_eq!(
            names(&events)
                .iter()
                .filter(|n| **n == "content_block_start")
                .count(),
            1,
            "{path}"
        );
        let message = &event(&events, "message_start")["message"];
        assert_eq!(message["model"], HAIKU, "{path}: the model as requested");
        assert_eq!(message["role"], "assistant");
        assert_eq!(message["content"], json!([]));
        let blocks = streamed_blocks(&events);
        assert_eq!(blocks[0].start, json!({"type": "text", "text": ""}));
        assert!(blocks[0].delta_types().iter().all(|t| *t == "text_delta"));
        assert_eq!(blocks[0].concat("text_delta", "text"), reply, "{path}");
        assert_eq!(
            event(&events, "message_delta")["delta"]["stop_reason"],
            "end_turn"
        );
        let stop = event(&events, "message_stop");
        assert_eq!(stop, &json!({"type": "message_stop"}));
        assert!(stop.get("amazon-bedrock-invocationMetrics").is_none());
        assert_eq!(event(&events, "ping"), &json!({"type": "ping"}));
    }
    let journal = server.received_requests();
    assert_eq!(journal.len(), MESSAGES_PATHS.len());
    for entry in &journal {
        assert_eq!(entry.operation, Some(Operation::MantleMessagesStream));
        assert_eq!(entry.status, Some(200));
    }
}

#[tokio::test]
async fn a_streamed_answer_carries_thinking_text_and_tool_use_blocks() {
    let thinking = "The user wants to see what is in the temporary directory.";
    let text = "Let me list the files there.";
    let tool_input = json!({"command": "ls -la /tmp", "description": "List /tmp"});
    let reply = Reply::new(vec![
        ReplyBlock::Thinking {
            thinking: thinking.into(),
        },
        ReplyBlock::Text { text: text.into() },
        ReplyBlock::ToolUse {
            name: "Bash".into(),
            input: tool_input.clone(),
        },
    ]);
    let server = MockBedrock::start_with(ServerConfig::default().reply(reply)).await;
    let r = mantle_signed(
        &server,
        "/anthropic/v1/messages?beta=true",
        &stream_body(HAIKU),
    )
    .await;
    let events = sse_events(&r).await;
    assert_complete_message_grammar(&events);
    let blocks = streamed_blocks(&events);
    assert_eq!(blocks.len(), 3);

    let [thinking_block, text_block, tool_block] = &blocks[..] else {
        unreachable!()
    };
    assert_eq!(
        thinking_block.start,
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    let types = thinking_block.delta_types();
    assert_eq!(types.last(), Some(&"signature_delta"), "{types:?}");
    assert!(
        types[..types.len() - 1]
            .iter()
            .all(|t| *t == "thinking_delta")
    );
    assert_eq!(
        thinking_block.concat("thinking_delta", "thinking"),
        thinking
    );
    assert!(
        !thinking_block
            .concat("signature_delta", "signature")
            .is_empty()
    );

    assert_eq!(text_block.start, json!({"type": "text", "text": ""}));
    assert_eq!(text_block.concat("text_delta", "text"), text);

    assert_eq!(tool_block.start["type"], "tool_use");
    assert_eq!(tool_block.start["name"], "Bash");
    assert_eq!(tool_block.start["input"], json!({}));
    assert!(
        tool_block.start["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
    assert!(
        tool_block
            .delta_types()
            .iter()
            .all(|t| *t == "input_json_delta")
    );
    let streamed_input: Value =
        serde_json::from_str(&tool_block.concat("input_json_delta", "partial_json")).unwrap();
    assert_eq!(streamed_input, tool_input);

    let message_delta = event(&events, "message_delta");
    assert_eq!(message_delta["delta"]["stop_reason"], "tool_use");
    assert!(message_delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        event(&events, "message_stop"),
        &json!({"type": "message_stop"})
    );
}

/// The headers Claude Code sent with its streaming request in the golden
/// capture `m_mantle_only` (besides `host`, `content-type` and SigV4's).
const CLAUDE_CODE_HEADERS: &[(&str, &str)] = &[
    ("accept", "application/json"),
    ("user-agent", "claude-cli/2.1.328 (external, sdk-cli)"),
    (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,thinking-token-count-2026-05-13,tool-search-tool-2025-10-19,effort-2025-11-24",
    ),
    ("anthropic-dangerous-direct-browser-access", "true"),
    ANTHROPIC_VERSION,
    ("x-app", "cli"),
    (
        "x-claude-code-session-id",
        "df90048c-fc5d-4761-aad3-17c8076d4f6a",
    ),
    ("x-stainless-arch", "x64"),
    ("x-stainless-lang", "js"),
    ("x-stainless-os", "Linux"),
    ("x-stainless-package-version", "0.128.0"),
    ("x-stainless-retry-count", "0"),
    ("x-stainless-runtime", "node"),
    ("x-stainless-runtime-version", "v26.12.1"),
    ("x-stainless-timeout", "600"),
];

#[tokio::test]
async fn claude_codes_captured_probe_and_stream_are_answered() {
    let server = MockBedrock::start().await;
    let opus = "anthropic.claude-opus-5-5";
    let probe = send_signed(
        &server,
        "bedrock-mantle",
        "us-east-1",
        MESSAGES,
        CLAUDE_CODE_HEADERS,
        &messages_body(opus, 1, false),
    )
    .await;
    assert_eq!(probe.status, 200, "{}", probe.text());
    assert_eq!(probe.json()["stop_reason"], "end_turn");
    let body = json!({
        "model": opus,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "say hi"}]}],
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object"}}],
        "metadata": {"user_id": "user_0123"},
        "max_tokens": 128000,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "stream": true,
    });
    let r = send_signed(
        &server,
        "bedrock-mantle",
        "us-east-1",
        "/v1/messages?beta=true",
        CLAUDE_CODE_HEADERS,
        &body.to_string(),
    )
    .await;
    let events = sse_events(&r).await;
    assert_complete_message_grammar(&events);
    // The CLI printed `hi`: the default reply.
    assert_eq!(
        streamed_blocks(&events)[0].concat("text_delta", "text"),
        "hi"
    );
    assert_eq!(event(&events, "message_start")["message"]["model"], opus);
}

// ---------------------------------------------------------------------------
// 2. Whole answers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_non_streaming_request_gets_a_messages_body_and_its_request_id() {
    let reply = "A whole answer at once.";
    let server = MockBedrock::start_with(ServerConfig::default().reply(Reply::text(reply))).await;
    for path in MESSAGES_PATHS {
        let r = mantle_signed(&server, path, &messages_body(HAIKU, 100, false)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let request_id = r.header("request-id").expect("request-id header");
        assert_eq!(Some(request_id), r.header("x-amzn-requestid"));
        let body = r.json();
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        assert_eq!(body["model"], HAIKU);
        assert!(body["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(body["content"], json!([{"type": "text", "text": reply}]));
        assert_eq!(body["stop_reason"], "end_turn");
        assert_eq!(body["stop_sequence"], Value::Null);
        assert_eq!(body["usage"]["output_tokens"], 5);
        let recorded = server.received_requests().pop().unwrap();
        assert_eq!(recorded.request_id, request_id);
        assert_eq!(recorded.operation, Some(Operation::MantleMessages));
    }
}

// ---------------------------------------------------------------------------
// 3. Authentication
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sigv4_must_be_scoped_to_bedrock_mantle_on_mantle_and_bedrock_on_invoke() {
    let server = MockBedrock::start().await;
    let probe = messages_body(HAIKU, 1, false);

    let accepted = mantle_signed(&server, MESSAGES, &probe).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());

    let bedrock_scope = send_signed(
        &server,
        "bedrock",
        "us-east-1",
        MESSAGES,
        &[ANTHROPIC_VERSION],
        &probe,
    )
    .await;
    assert_eq!(
        anthropic_error(&bedrock_scope),
        (
            401,
            "authentication_error".to_owned(),
            "Credential should be scoped to correct service: 'bedrock-mantle'.".to_owned()
        )
    );

    let mantle_scope_on_invoke = send_signed(
        &server,
        "bedrock-mantle",
        "us-east-1",
        INVOKE,
        &[],
        INVOKE_PROBE,
    )
    .await;
    assert_eq!(
        mantle_scope_on_invoke.bedrock_error(),
        (
            403,
            "InvalidSignatureException".to_owned(),
            "Credential should be scoped to correct service: 'bedrock'.".to_owned()
        )
    );

    let journal = server.received_requests();
    let services: Vec<Option<&str>> = journal.iter().map(|r| r.auth.service.as_deref()).collect();
    assert_eq!(
        services,
        [
            Some("bedrock-mantle"),
            Some("bedrock"),
            Some("bedrock-mantle")
        ]
    );
    let accepted: Vec<bool> = journal.iter().map(|r| r.auth.accepted).collect();
    assert_eq!(accepted, [true, false, false]);
}

#[tokio::test]
async fn api_keys_work_in_x_api_key_and_bearer_and_bad_ones_are_401s() {
    let server = MockBedrock::start().await;
    let probe = messages_body(HAIKU, 1, false);
    let bearer = format!("Bearer {EXAMPLE_API_KEY}");
    let accepted: [&[(&str, &str)]; 2] = [
        &[("x-api-key", EXAMPLE_API_KEY)],
        &[("authorization", &bearer)],
    ];
    for auth in accepted {
        let r = mantle_with(&server, auth, MESSAGES, &probe).await;
        assert_eq!(r.status, 200, "{auth:?}: {}", r.text());
    }

    let wrong_bearer = "Bearer ABSKwrong".to_owned();
    let not_a_bedrock_key_bearer = "Bearer sk-ant-api03-not-bedrock".to_owned();
    let rejected: [(&[(&str, &str)], &str); 5] = [
        (
            &[("x-api-key", "ABSKwrong")],
            "Authentication failed: Please make sure your API Key is valid.",
        ),
        (
            &[("authorization", &wrong_bearer)],
            "Authentication failed: Please make sure your API Key is valid.",
        ),
        (
            &[("x-api-key", "sk-ant-api03-not-bedrock")],
            "Invalid API Key format: Must start with pre-defined prefix",
        ),
        (
            &[("authorization", &not_a_bedrock_key_bearer)],
            "Invalid API Key format: Must start with pre-defined prefix",
        ),
        (&[], "Authorization header is missing"),
    ];
    for (auth, message) in rejected {
        let r = mantle_with(&server, auth, MESSAGES, &probe).await;
        assert_eq!(
            anthropic_error(&r),
            (401, "authentication_error".to_owned(), message.to_owned()),
            "{auth:?}"
        );
    }
}

#[tokio::test]
async fn with_auth_off_mantle_needs_no_auth_headers() {
    let server = open_server(ServerConfig::default()).await;
    let r = mantle_with(&server, &[], MESSAGES, &messages_body(HAIKU, 1, false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = mantle_with(&server, &[], MESSAGES, &stream_body(HAIKU)).await;
    sse_events(&r).await;
    let schemes: Vec<AuthScheme> = server
        .received_requests()
        .into_iter()
        .map(|r| r.auth.scheme)
        .collect();
    assert_eq!(schemes, ["off", "off"]);
}

/// A journal entry in one line: operation, model, auth scheme, whether
/// authentication let it through, status.
fn journal_line(r: &RecordedRequest) -> String {
    let operation = r.operation.map(|o| format!("{o:?}")).unwrap_or_default();
    let model = r.model_id.as_deref().unwrap_or("-");
    let verdict = if r.auth.accepted {
        "accepted"
    } else {
        "refused"
    };
    format!(
        "{operation} {model} {} {verdict} {}",
        r.auth.scheme,
        r.status.unwrap_or(0)
    )
}

#[tokio::test]
async fn the_journal_records_operation_model_and_scheme_but_never_the_key() {
    let server = MockBedrock::start().await;
    let opus = "anthropic.claude-opus-5-5";
    let bearer = format!("Bearer {EXAMPLE_API_KEY}");
    mantle_with(
        &server,
        &[("x-api-key", EXAMPLE_API_KEY)],
        MESSAGES,
        &messages_body(HAIKU, 1, false),
    )
    .await;
    let r = mantle_with(
        &server,
        &[("authorization", &bearer)],
        "/anthropic/v1/messages",
        &stream_body(opus),
    )
    .await;
    sse_events(&r).await;
    mantle_signed(&server, "/v1/messages?beta=true", &stream_body(HAIKU)).await;
    mantle_with(
        &server,
        &[("x-api-key", "ABSKwrong")],
        MESSAGES,
        &messages_body(HAIKU, 1, false),
    )
    .await;

    let journal = server.received_requests();
    let lines: Vec<String> = journal.iter().map(journal_line).collect();
    assert_eq!(
        lines,
        [
            "MantleMessages anthropic.claude-haiku-4-5 x-api-key accepted 200",
            "MantleMessagesStream anthropic.claude-opus-5-5 bearer accepted 200",
            "MantleMessagesStream anthropic.claude-haiku-4-5 sigv4 accepted 200",
            "MantleMessages anthropic.claude-haiku-4-5 x-api-key refused 401",
        ]
    );
    assert_eq!(
        journal[2].auth.access_key_id.as_deref(),
        Some(EXAMPLE_ACCESS_KEY_ID)
    );
    assert_eq!(
        journal[3].error_type.as_deref(),
        Some("authentication_error")
    );
    assert_eq!(journal[0].header("x-api-key"), Some("<redacted>"));
    assert_eq!(
        journal[1].header("authorization"),
        Some("Bearer <redacted>")
    );
    let everything = serde_json::to_string(&journal).unwrap();
    for secret in [EXAMPLE_API_KEY, "ABSKwrong", EXAMPLE_SECRET_ACCESS_KEY] {
        assert!(
            !everything.contains(secret),
            "`{secret}` leaked: {everything}"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Models and headers
// ---------------------------------------------------------------------------

#[tokio::test]
async fn models_mantle_does_not_serve_or_the_account_cannot_use_are_refused() {
    let not_enabled = "anthropic.claude-opus-5-5";
    let server = MockBedrock::start_with(
        ServerConfig::default().model_state(not_enabled, ModelState::NotEnabled),
    )
    .await;
    let profile_id = "us.anthropic.claude-sonnet-4-6";
    for stream in [false, true] {
        let r = mantle_signed(&server, MESSAGES, &messages_body(profile_id, 1, stream)).await;
        assert_eq!(
            anthropic_error(&r),
            (
                404,
                "not_found_error".to_owned(),
                format!("The model '{profile_id}' does not exist")
            ),
            "stream: {stream}"
        );
        let r = mantle_signed(&server, MESSAGES, &messages_body(not_enabled, 1, stream)).await;
        let (status, error_type, message) = anthropic_error(&r);
        assert_eq!((status, error_type.as_str()), (403, "permission_error"));
        assert!(message.contains(not_enabled), "{message}");
    }
}

#[tokio::test]
async fn a_request_without_anthropic_version_is_a_400() {
    let server = MockBedrock::start().await;
    for body in [messages_body(HAIKU, 1, false), stream_body(HAIKU)] {
        let r = send_signed(&server, "bedrock-mantle", "us-east-1", MESSAGES, &[], &body).await;
        assert_eq!(
            anthropic_error(&r),
            (
                400,
                "invalid_request_error".to_owned(),
                "anthropic-version: header is required".to_owned()
            )
        );
    }
}

// ---------------------------------------------------------------------------
// 5. Rules
// ---------------------------------------------------------------------------

/// The rule's matcher: no operation, so one rule covers Mantle's JSON and
/// stream requests alike.
fn haiku_requests() -> Match {
    Match::any().model(HAIKU)
}

#[tokio::test]
async fn a_bedrock_throttling_rule_is_a_429_rate_limit_error_with_retry_after() {
    let server = open_server(ServerConfig::default()).await;
    server.mount(
        Rule::new(
            haiku_requests(),
            Answer::Error {
                code: ErrorCode::ThrottlingException,
                status: None,
                message: None,
                retry_after: Some(3),
            },
        )
        .expect(2),
    );
    for body in [messages_body(HAIKU, 1, false), stream_body(HAIKU)] {
        let r = mantle_with(&server, &[], MESSAGES, &body).await;
        assert_eq!(
            anthropic_error(&r),
            (
                429,
                "rate_limit_error".to_owned(),
                "Too many requests, please wait before trying again.".to_owned()
            )
        );
        assert_eq!(r.header("retry-after"), Some("3"));
    }
    let other_model = mantle_with(
        &server,
        &[],
        MESSAGES,
        &messages_body("anthropic.claude-opus-5-5", 1, false),
    )
    .await;
    assert_eq!(other_model.status, 200, "the rule names one model");
    server.verify().unwrap();
}

#[tokio::test]
async fn an_anthropic_error_type_rule_is_sent_as_is() {
    let server = open_server(ServerConfig::default()).await;
    server.mount(Rule::new(
        haiku_requests(),
        Answer::error(ErrorCode::OverloadedError),
    ));
    let r = mantle_with(&server, &[], MESSAGES, &stream_body(HAIKU)).await;
    assert_eq!(
        anthropic_error(&r),
        (529, "overloaded_error".to_owned(), "Overloaded".to_owned())
    );
    assert_eq!(
        server.received_requests()[0].error_type.as_deref(),
        Some("overloaded_error")
    );
}

#[tokio::test]
async fn a_stream_exception_rule_ends_the_sse_stream_with_an_error_event() {
    let server = open_server(ServerConfig::default().reply(Reply::text(
        "one two three four five six seven eight nine ten eleven twelve",
    )))
    .await;
    server.mount(Rule::new(
        haiku_requests(),
        Answer::StreamException {
            after_events: 3,
            exception: "serviceUnavailableException".parse().unwrap(),
            message: None,
        },
    ));
    let r = mantle_with(&server, &[], MESSAGES, &stream_body(HAIKU)).await;
    let events = sse_events(&r).await;
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "error"
        ]
    );
    let error = &events.last().unwrap().data;
    assert_eq!(
        error["error"],
        json!({"type": "overloaded_error", "message": "Overloaded"})
    );
    assert_eq!(error["request_id"].as_str(), r.header("request-id"));
    assert!(!names(&events).contains(&"message_stop"));
    let recorded = &server.received_requests()[0];
    assert_eq!(
        recorded.frames.last().map(ToString::to_string).as_deref(),
        Some("sse:error")
    );

    // Outside a stream the same failure is an HTTP error.
    let whole = mantle_with(&server, &[], MESSAGES, &messages_body(HAIKU, 100, false)).await;
    assert_eq!(
        anthropic_error(&whole),
        (529, "overloaded_error".to_owned(), "Overloaded".to_owned())
    );
}

#[tokio::test]
async fn a_reply_rule_changes_the_mantle_answer() {
    let server =
        open_server(ServerConfig::default().reply(Reply::text("the account's reply"))).await;
    server.mount(
        Rule::new(haiku_requests(), Answer::Reply(Reply::text("from a rule")))
            .named("scripted")
            .expect(2),
    );
    let whole = mantle_with(&server, &[], MESSAGES, &messages_body(HAIKU, 100, false)).await;
    assert_eq!(
        whole.json()["content"],
        json!([{"type": "text", "text": "from a rule"}])
    );
    let streamed = mantle_with(&server, &[], MESSAGES, &stream_body(HAIKU)).await;
    let events = sse_events(&streamed).await;
    assert_eq!(
        streamed_blocks(&events)[0].concat("text_delta", "text"),
        "from a rule"
    );
    // A request that fails Mantle's own checks is not answered by it.
    let unversioned = send(
        server.address(),
        "POST",
        MESSAGES,
        &[JSON_CONTENT],
        messages_body(HAIKU, 100, false).as_bytes(),
    )
    .await;
    assert_eq!(
        anthropic_error_type(&unversioned),
        (400, "invalid_request_error".to_owned())
    );
    let rules: Vec<Option<String>> = server
        .received_requests()
        .into_iter()
        .map(|r| r.rule)
        .collect();
    assert_eq!(
        rules,
        [
            Some("scripted".to_owned()),
            Some("scripted".to_owned()),
            None
        ]
    );
    server.verify().unwrap();
}

// ---------------------------------------------------------------------------
// 6. Size limit
// ---------------------------------------------------------------------------

/// A valid Messages body padded with whitespace to exactly `size` bytes.
fn padded_body(size: usize) -> Vec<u8> {
    let mut body = messages_body(HAIKU, 1, false).into_bytes();
    assert!(body.len() <= size);
    body.resize(size, b' ');
    body
}

#[tokio::test]
async fn a_body_over_32_mib_is_a_413_and_one_at_the_limit_is_answered() {
    let server = MockBedrock::start().await;
    let over = padded_body(MANTLE_MAX_BODY + 1);
    let r = send(
        server.address(),
        "POST",
        MESSAGES,
        &[
            JSON_CONTENT,
            ANTHROPIC_VERSION,
            ("x-api-key", EXAMPLE_API_KEY),
        ],
        &over,
    )
    .await;
    drop(over);
    assert_eq!(
        anthropic_error(&r),
        (
            413,
            "request_too_large".to_owned(),
            "Request exceeds the maximum allowed number of bytes.".to_owned()
        )
    );
    let recorded = server.received_requests().pop().unwrap();
    assert_eq!(recorded.auth.scheme, "not checked");
    assert_eq!(recorded.error_type.as_deref(), Some("request_too_large"));

    let at_limit = padded_body(MANTLE_MAX_BODY);
    let r = send(
        server.address(),
        "POST",
        MESSAGES,
        &[
            JSON_CONTENT,
            ANTHROPIC_VERSION,
            ("x-api-key", EXAMPLE_API_KEY),
        ],
        &at_limit,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// ---------------------------------------------------------------------------
// 7. Pacing and the journal's frames
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_paced_stream_journals_one_sse_label_per_event_sent() {
    let server = open_server(
        ServerConfig::default()
            .reply(Reply::text("paced words arrive one group at a time"))
            .pace(Pace::between_events(std::time::Duration::from_millis(20))),
    )
    .await;
    let r = mantle_with(&server, &[], "/anthropic/v1/messages", &stream_body(HAIKU)).await;
    let events = sse_events(&r).await;
    assert_complete_message_grammar(&events);
    let expected: Vec<String> = events.iter().map(|e| format!("sse:{}", e.name)).collect();
    assert_eq!(server.received_requests()[0].frames, expected);
}

// ---------------------------------------------------------------------------
// 8. Messages API paths Mantle's route does not serve
// ---------------------------------------------------------------------------

#[tokio::test]
async fn other_messages_api_paths_are_refused_in_the_anthropic_shape_not_as_auth_failures() {
    let server = MockBedrock::start().await;
    let body = messages_body(HAIKU, 1, false);
    let count_tokens = "/v1/messages/count_tokens";
    let with_key = mantle_with(
        &server,
        &[("x-api-key", EXAMPLE_API_KEY)],
        count_tokens,
        &body,
    )
    .await;
    let signed = mantle_signed(&server, count_tokens, &body).await;
    for r in [with_key, signed] {
        assert_eq!(
            r.json()["type"],
            "error",
            "an Anthropic-shaped error, not an auth failure: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(
            anthropic_error_type(&r),
            (404, "not_found_error".to_owned())
        );
    }
}

// ---------------------------------------------------------------------------
// SigV4 failures on the credential side, and rule overrides
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sigv4_credential_failures_are_401_authentication_errors() {
    let body = messages_body(HAIKU, 1, false);
    // A signature made now, checked by a server ten minutes ahead.
    let ahead = MockBedrock::builder()
        .clock(bedrock_mock_server::Clock::fixed(
            SystemTime::now() + std::time::Duration::from_secs(600),
        ))
        .start()
        .await
        .unwrap();
    let r = mantle_signed(&ahead, MESSAGES, &body).await;
    let (status, error_type, message) = anthropic_error(&r);
    assert_eq!((status, error_type.as_str()), (401, "authentication_error"));
    assert!(message.starts_with("Signature expired: "), "{message}");
    // The key was deleted a minute ago.
    let mut revoked = ServerConfig::default();
    revoked.credentials = vec![
        bedrock_mock_server::Credential::new(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
            .revoked(SystemTime::now() - std::time::Duration::from_secs(60)),
    ];
    let server = MockBedrock::start_with(revoked).await;
    let r = mantle_signed(&server, MESSAGES, &body).await;
    assert_eq!(
        anthropic_error(&r),
        (
            401,
            "authentication_error".to_owned(),
            "The security token included in the request is invalid.".to_owned()
        )
    );
}

#[tokio::test]
async fn a_rules_status_and_message_survive_translation() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(
        Match::any().model(HAIKU),
        Answer::Error {
            code: ErrorCode::ThrottlingException,
            status: Some(503),
            message: Some("slow down, custom".to_owned()),
            retry_after: None,
        },
    ));
    let r = mantle_signed(&server, MESSAGES, &messages_body(HAIKU, 1, false)).await;
    assert_eq!(
        anthropic_error(&r),
        (
            503,
            "rate_limit_error".to_owned(),
            "slow down, custom".to_owned()
        )
    );
}
