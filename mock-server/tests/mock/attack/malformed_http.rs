//! Malformed HTTP and half-closed connections: each request is answered
//! (or refused) and journaled, none lost, nothing panics or hangs.

use std::time::Duration;

use bedrock_mock_server::{AuthMode, MockBedrock, ReadLimits, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::send;

const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";

/// How long a case may take before it counts as a hang: many times the
/// read limits the server is given.
const HANG: Duration = Duration::from_secs(10);

/// A server that checks no signature (so a well-formed request is a 200),
/// with short read limits.
async fn server() -> MockBedrock {
    MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .read_limits(ReadLimits::new(
            Duration::from_millis(500),
            Duration::from_millis(500),
        ))
        .start()
        .await
        .unwrap()
}

/// Writes `bytes` on a fresh connection (ignoring a write the server's
/// close cuts short), half-closes it if asked, and reads until the server
/// closes it. The bytes read, however the read ended; a hang fails.
async fn exchange(server: &MockBedrock, bytes: &[u8], half_close: bool) -> Vec<u8> {
    let mut socket = TcpStream::connect(server.address()).await.unwrap();
    let talk = async {
        if socket.write_all(bytes).await.is_ok() && half_close {
            let _ = socket.shutdown().await;
        }
        let mut answer = Vec::new();
        let mut piece = [0u8; 64 * 1024];
        // A reset after a refusal ends the read like a close does.
        while let Ok(n @ 1..) = socket.read(&mut piece).await {
            answer.extend_from_slice(&piece[..n]);
        }
        answer
    };
    tokio::time::timeout(HANG, talk)
        .await
        .expect("the server must answer or close within the time limit")
}

/// The statuses of the final responses in `raw`, in order (an interim
/// `100 Continue` is left out; bodies framed by `content-length` or
/// chunked; a response cut short ends the list).
fn statuses(raw: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
        let Some(status) = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()) else {
            break;
        };
        rest = &rest[end + 4..];
        if status < 200 {
            continue;
        }
        out.push(status);
        let length = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
        match length {
            Some(n) => rest = &rest[n.min(rest.len())..],
            None if head.contains("transfer-encoding: chunked") => {
                rest = match rest.windows(5).position(|w| w == b"0\r\n\r\n") {
                    Some(at) => &rest[at + 5..],
                    None => &[],
                }
            }
            None => {}
        }
    }
    out
}

fn request(extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {INVOKE} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A request whose body is cut short of its `content-length`.
fn cut_short() -> Vec<u8> {
    let mut bytes = request("", PROBE);
    bytes.truncate(bytes.len() - PROBE.len() + 10);
    bytes
}

/// What a malformed request must get.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// A 4xx, or the connection closed with no answer.
    Refused,
    /// This many answers, each a 200.
    Answered(usize),
}

/// Bytes: `parts` joined.
fn bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Every case: its name, its bytes, whether the client half-closes after
/// them, and what it must get.
// Long because it is a table, a line or two per case.
fn cases() -> Vec<(&'static str, Vec<u8>, bool, Outcome)> {
    use Outcome::*;
    let line = format!("POST {INVOKE} HTTP/1.1\r\nhost: x\r\n");
    let head_with = |header: &str| format!("{line}{header}\r\n\r\n").into_bytes();
    let chunked = |body: &str| {
        format!("{line}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{body}")
            .into_bytes()
    };
    let probe_chunks = format!("{:x}\r\n{PROBE}\r\n0\r\n\r\n", PROBE.len());
    let length = format!("content-length: {}\r\n", PROBE.len());
    let mut expect_continue = request("expect: 100-continue\r\n", PROBE);
    expect_continue.truncate(expect_continue.len() - PROBE.len());
    let many_headers: String = (0..200).map(|n| format!("x-h{n}: v\r\n")).collect();
    vec![
        ("a request line that is not one", b"GARBAGE\r\n\r\n".to_vec(), false, Refused),
        ("a request line without a version", format!("POST {INVOKE}\r\nhost: x\r\n\r\n").into_bytes(), false, Refused),
        ("a header without a colon", head_with("host-without-colon"), false, Refused),
        ("a header folded over two lines", head_with("x-a: 1\r\n 2"), false, Refused),
        ("a NUL in a header", head_with("x-a: a\0b"), false, Refused),
        ("a 1 MiB header", head_with(&format!("x-big: {}", "a".repeat(1 << 20))), false, Refused),
        ("200 headers", head_with(&many_headers), false, Refused),
        ("two different content-lengths", request("content-length: 3\r\n", PROBE), false, Refused),
        ("a negative content-length", head_with("content-length: -1"), false, Refused),
        ("a content-length past u64", head_with("content-length: 99999999999999999999999"), false, Refused),
        ("a content-length of a terabyte", head_with("content-length: 1000000000000"), false, Refused),
        ("a transfer-encoding that is not chunked", head_with("transfer-encoding: gzip"), false, Refused),
        ("a bad chunk size", chunked("zz\r\nhello\r\n0\r\n\r\n"), false, Refused),
        ("a chunk longer than its size", chunked("2\r\nhello\r\n0\r\n\r\n"), false, Refused),
        ("a body shorter than its content-length, then a half-close", cut_short(), true, Refused),
        ("a head that never ends, then a half-close", line.clone().into_bytes(), true, Refused),
        ("expect: 100-continue, then no body", expect_continue, false, Refused),
        ("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), false, Refused),
        // RFC 9112 6.3: Transfer-Encoding overrides Content-Length. The
        // body is framed by its chunks, never by the length (which would
        // leave the rest to be read as a second request).
        (
            "content-length and transfer-encoding",
            bytes(&[
                line.as_bytes(),
                b"content-type: application/json\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
                probe_chunks.as_bytes(),
            ]),
            true,
            Answered(1),
        ),
        (
            "bytes that are not UTF-8 in a header",
            bytes(&[line.as_bytes(), b"x-odd: caf\xff\xfe\r\ncontent-type: application/json\r\n", length.as_bytes(), b"\r\n", PROBE.as_bytes()]),
            true,
            Answered(1),
        ),
        (
            "HTTP/1.0",
            bytes(&[format!("POST {INVOKE} HTTP/1.0\r\nhost: x\r\n").as_bytes(), length.as_bytes(), b"\r\n", PROBE.as_bytes()]),
            false,
            Answered(1),
        ),
        (
            "three pipelined requests",
            [request("", PROBE), request("", PROBE), request("connection: close\r\n", PROBE)].concat(),
            false,
            Answered(3),
        ),
    ]
}

#[tokio::test]
async fn malformed_requests_are_refused_or_answered_never_hang() {
    let server = server().await;
    let mut wrong = Vec::new();
    for (name, bytes, half_close, outcome) in cases() {
        let answer = exchange(&server, &bytes, half_close).await;
        let got = statuses(&answer);
        let right = match outcome {
            Outcome::Refused => got.iter().all(|s| (400..500).contains(s)) && got.len() <= 1,
            Outcome::Answered(n) => got.len() == n && got.iter().all(|&s| s == 200),
        };
        if !right {
            wrong.push(format!(
                "{name}: expected {outcome:?}, got {got:?}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(300)])
            ));
        }
        // The server goes on answering after each.
        let normal = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
        assert_eq!(normal.status, 200, "after {name}: {}", normal.text());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn malformed_requests_that_reach_the_pipeline_are_journaled_with_why() {
    let server = server().await;
    exchange(&server, &cut_short(), true).await;
    let bad_chunk =
        format!("POST {INVOKE} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
    exchange(&server, bad_chunk.as_bytes(), false).await;
    let journal = server.received_requests();
    let reasons: Vec<(Option<u16>, Option<&str>)> = journal
        .iter()
        .map(|r| (r.status, r.auth.reason.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                Some(400),
                Some("the connection broke before the body was whole")
            ),
            (Some(400), Some("the body's chunked framing is malformed")),
        ]
    );
}

/// Half-closed connections: a complete request followed by
/// `shutdown(SHUT_WR)` is answered and journaled, with a body or without,
/// asking to keep the connection alive or not. Each on its own connection,
/// all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_followed_by_a_half_close_are_all_answered_and_journaled() {
    const N: usize = 200;
    let server = server().await;
    let mut clients = tokio::task::JoinSet::new();
    for n in 0..N {
        let request = match n % 4 {
            0 => request("", PROBE),
            1 => request("connection: close\r\n", PROBE),
            2 => b"GET /inference-profiles HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            _ => {
                b"GET /inference-profiles HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec()
            }
        };
        let address = server.address();
        clients.spawn(async move {
            let mut socket = TcpStream::connect(address).await.unwrap();
            socket.write_all(&request).await.unwrap();
            socket.shutdown().await.unwrap();
            let mut answer = Vec::new();
            let read = tokio::time::timeout(HANG, socket.read_to_end(&mut answer)).await;
            (n, read.is_ok(), statuses(&answer))
        });
    }
    let mut unanswered = Vec::new();
    while let Some(result) = clients.join_next().await {
        let (n, in_time, got) = result.unwrap();
        if !in_time || got != [200] {
            unanswered.push(format!("#{n}: in time {in_time}, statuses {got:?}"));
        }
    }
    assert!(unanswered.is_empty(), "{}", unanswered.join("\n"));
    assert_eq!(server.received_requests().len(), N);
}
