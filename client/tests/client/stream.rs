//! Reading streamed answers off the wire: whole streams in small pieces,
//! and every way a stream can go wrong (bad CRC, a cut mid-frame, an
//! exception frame, no `message_start`, no `message_stop`, Mantle `error`
//! events). A raw TCP server on 127.0.0.1 writes exactly the bytes given.

use std::time::Duration;

use bedrock_client::stream::{Answer, StreamFailure, read_invoke_stream, read_mantle_stream};
use bedrock_client::transport::{HttpClient, Outgoing};
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
async fn serve(body: Vec<u8>, piece: usize) -> hyper::body::Incoming {
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

async fn invoke(body: Vec<u8>, piece: usize) -> (Result<Answer, StreamFailure>, Vec<String>) {
    let mut shown = Vec::new();
    let outcome =
        read_invoke_stream(serve(body, piece).await, &mut |t| shown.push(t.to_owned())).await;
    (outcome, shown)
}

fn broken(outcome: &Result<Answer, StreamFailure>, says: &str) {
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

async fn mantle(body: Vec<u8>, piece: usize) -> Result<Answer, StreamFailure> {
    read_mantle_stream(serve(body, piece).await, &mut |_| {}).await
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
