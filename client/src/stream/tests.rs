//! Reading streamed answers off the wire: whole streams in small pieces,
//! and every way a stream can go wrong (bad CRC, a cut mid-frame, an
//! exception frame, no `message_start`, no `message_stop`, Mantle `error`
//! events). A raw TCP server on 127.0.0.1 writes exactly the bytes given.
//! A property covers any text, any chunking and any single fault.

use std::time::Duration;

use super::{Completion, StreamFailure, read_invoke_stream, read_mantle_stream};
use crate::transport::{HttpClient, Outgoing};
use bedrock_eventstream::anthropic::StreamEvent;
use bedrock_eventstream::bedrock::{Exception, encode_event_frames, encode_exception};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVENTS: [&str; 7] = [
    r#"{"type":"message_start","message":{"id":"msg_bdrk_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hel"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#,
    r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":2,"invocationLatency":40,"firstByteLatency":10}}"#,
];

fn events(json: &[&str]) -> Vec<StreamEvent> {
    json.iter()
        .map(|j| StreamEvent::from_json(j.as_bytes()).unwrap())
        .collect()
}

/// Serves one HTTP answer whose body is `body`, written `piece` bytes at a
/// time, then closes; returns the body as the client reads it.
async fn serve(body: Vec<u8>, piece: usize) -> crate::transport::ResponseBody {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        for chunk in body.chunks(piece.max(1)) {
            if socket.write_all(chunk).await.is_err() {
                return;
            }
            let _ = socket.flush().await;
        }
    });
    let response = HttpClient::new()
        .send(
            Outgoing {
                method: http::Method::POST,
                url: format!("http://{address}/stream"),
                headers: vec![],
                body: bytes::Bytes::new(),
            },
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    response.into_body()
}

async fn invoke(body: Vec<u8>, piece: usize) -> (Result<Completion, StreamFailure>, Vec<String>) {
    let mut shown = Vec::new();
    let outcome = read_invoke_stream(
        serve(body, piece).await,
        &crate::profile::newest(),
        &mut |t| shown.push(t.to_owned()),
    )
    .await;
    (outcome, shown)
}

fn broken(outcome: &Result<Completion, StreamFailure>, says: &str) {
    match outcome {
        Err(StreamFailure::Broken(e)) => assert!(e.message().contains(says), "{e}"),
        other => panic!("expected a broken stream ({says}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_whole_stream_in_any_pieces_is_read_as_it_arrives() {
    let wire = encode_event_frames(&events(&EVENTS));
    for piece in [1, 7, 4096] {
        let (outcome, shown) = invoke(wire.clone(), piece).await;
        let answer = outcome.unwrap();
        assert_eq!(answer.text, "hello");
        assert_eq!(shown, ["hel", "lo"], "printed delta by delta");
        assert_eq!(answer.stop_reason.as_deref(), Some("end_turn"));
        assert_eq!(
            (answer.usage.input_tokens, answer.usage.output_tokens),
            (Some(12), Some(2))
        );
        assert_eq!(answer.metrics.unwrap().output_token_count, 2);
    }
}

#[tokio::test]
async fn corrupt_cut_and_incomplete_streams_are_errors() {
    let wire = encode_event_frames(&events(&EVENTS));
    // A flipped payload byte in the third frame: its CRC no longer matches.
    let first_two: usize = events(&EVENTS[..2])
        .iter()
        .map(|e| encode_event_frames(std::slice::from_ref(e)).len())
        .sum();
    let mut corrupt = wire.clone();
    corrupt[first_two + 40] ^= 0x55;
    broken(&invoke(corrupt, 64).await.0, "corrupt");
    // Cut in the middle of a frame.
    broken(
        &invoke(wire[..wire.len() - 5].to_vec(), 64).await.0,
        "Truncated event message received.",
    );
    // Cut between frames, before message_stop.
    let without_stop = encode_event_frames(&events(&EVENTS[..6]));
    broken(&invoke(without_stop, 64).await.0, "before message_stop");
    // No message_start.
    let headless = encode_event_frames(&events(&EVENTS[1..]));
    broken(&invoke(headless, 64).await.0, "message_start");
    // Not an event stream at all (a JSON 200).
    broken(
        &invoke(br#"{"content":[]}"#.to_vec(), 64).await.0,
        "corrupt",
    );
}

#[tokio::test]
async fn an_exception_frame_is_reported_with_its_type() {
    let mut wire = encode_event_frames(&events(&EVENTS[..3]));
    encode_exception(
        &Exception::new(
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        ),
        &mut wire,
    );
    let (outcome, shown) = invoke(wire, 16).await;
    assert_eq!(shown, ["hel"]);
    assert_eq!(
        outcome.unwrap_err(),
        StreamFailure::Reported {
            kind: "throttlingException".into(),
            message: "Too many tokens, please wait before trying again.".into()
        }
    );
}

fn sse(events: &[&str], line_end: &str) -> Vec<u8> {
    let mut out = String::new();
    for json in events {
        let kind: serde_json::Value = serde_json::from_str(json).unwrap();
        out.push_str(&format!(
            ": keep-alive comment{line_end}event: {}{line_end}data: {json}{line_end}{line_end}",
            kind["type"].as_str().unwrap()
        ));
    }
    out.into_bytes()
}

async fn mantle(body: Vec<u8>, piece: usize) -> Result<Completion, StreamFailure> {
    read_mantle_stream(
        serve(body, piece).await,
        &crate::profile::newest(),
        &mut |_| {},
    )
    .await
}

#[tokio::test]
async fn mantle_server_sent_events_are_read_with_either_line_ending() {
    let mantle_events: Vec<&str> = EVENTS[..6]
        .iter()
        .copied()
        .chain([r#"{"type":"message_stop"}"#])
        .collect();
    for line_end in ["\n", "\r\n"] {
        for piece in [1, 5, 4096] {
            let answer = mantle(sse(&mantle_events, line_end), piece).await.unwrap();
            assert_eq!(answer.text, "hello", "{line_end:?} {piece}");
            assert_eq!(answer.metrics, None);
        }
    }
    broken(
        &mantle(sse(&mantle_events[..6], "\n"), 9).await,
        "before message_stop",
    );
    broken(
        &mantle(b"data: {not json}\n\n".to_vec(), 9).await,
        "not an Anthropic event",
    );
    // An overloaded stream may open with the error.
    assert_eq!(
        mantle(
            sse(
                &[r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#],
                "\n"
            ),
            64
        )
        .await
        .unwrap_err(),
        StreamFailure::Reported {
            kind: "overloaded_error".into(),
            message: "Overloaded".into()
        }
    );
    let with_error: Vec<&str> = mantle_events[..3]
        .iter()
        .copied()
        .chain([r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#])
        .collect();
    assert_eq!(
        mantle(sse(&with_error, "\n"), 64).await.unwrap_err(),
        StreamFailure::Reported {
            kind: "overloaded_error".into(),
            message: "Overloaded".into()
        }
    );
}

/// One fault in an otherwise whole stream.
#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    /// A byte flipped at this fraction of the stream (a CRC no longer
    /// matches).
    Flip(f64),
    /// The stream cut at this fraction.
    Cut(f64),
    /// An exception frame after this many events.
    Exception(usize),
    /// The last frame (`message_stop`) missing.
    NoStop,
}

fn fault() -> impl proptest::strategy::Strategy<Value = Fault> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Fault::None),
        (0.0f64..1.0).prop_map(Fault::Flip),
        (0.0f64..1.0).prop_map(Fault::Cut),
        (0usize..12).prop_map(Fault::Exception),
        Just(Fault::NoStop),
    ]
}

/// A stream of `pieces` of text as Bedrock frames, with `fault` applied.
fn faulty_stream(pieces: &[String], fault: Fault) -> Vec<u8> {
    let mut json: Vec<String> = EVENTS[..2].iter().map(|e| (*e).to_owned()).collect();
    for piece in pieces {
        json.push(
            serde_json::json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}})
            .to_string(),
        );
    }
    json.extend(EVENTS[4..].iter().map(|e| (*e).to_owned()));
    if let Fault::NoStop = fault {
        json.pop();
    }
    let all: Vec<StreamEvent> = json
        .iter()
        .map(|j| StreamEvent::from_json(j.as_bytes()).unwrap())
        .collect();
    let mut wire = match fault {
        Fault::Exception(after) => {
            let after = after.min(all.len());
            let mut wire = encode_event_frames(&all[..after]);
            encode_exception(
                &Exception::new(
                    "internalServerException",
                    "The system encountered an unexpected error",
                ),
                &mut wire,
            );
            wire
        }
        _ => encode_event_frames(&all),
    };
    let at =
        |fraction: f64, len: usize| ((len as f64 * fraction) as usize).min(len.saturating_sub(1));
    match fault {
        Fault::Flip(fraction) => {
            let i = at(fraction, wire.len());
            wire[i] ^= 0x5a;
        }
        Fault::Cut(fraction) => wire.truncate(at(fraction, wire.len())),
        _ => {}
    }
    wire
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// Whatever the pieces, however the bytes are chunked and whatever
    /// single fault hits the stream: either the whole scripted text comes
    /// back as the answer, or the stream is an error and what was shown is
    /// a prefix of the text. Partial text is never an answer.
    #[test]
    fn a_stream_is_whole_or_an_error_never_partial_success(
        pieces in proptest::collection::vec("[a-zA-Z0-9 .,é😀]{1,12}", 1..8),
        chunk in 1usize..300,
        fault in fault(),
    ) {
        let wire = faulty_stream(&pieces, fault);
        let text: String = pieces.concat();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (outcome, shown) = runtime.block_on(invoke(wire, chunk));
        let shown = shown.concat();
        match outcome {
            Ok(answer) => {
                proptest::prop_assert_eq!(&answer.text, &text, "{:?}", fault);
                proptest::prop_assert_eq!(&shown, &text);
            }
            Err(_) => {
                proptest::prop_assert!(text.starts_with(&shown),
                    "shown {shown:?} is not a prefix of {text:?} ({fault:?})");
                proptest::prop_assert!(!matches!(fault, Fault::None), "a whole stream failed");
            }
        }
    }
}

#[test]
fn mantle_bytes_in_memory_without_message_stop_are_not_an_answer() {
    let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n";
    let (first, rest) = body.as_bytes().split_at(30);
    let outcome = super::read_mantle_pieces(&[first, rest], &mut |_| {});
    assert!(outcome.is_err(), "no message_stop: not an answer");
}
