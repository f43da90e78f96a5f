//! Slow and stopped clients, and memory: a reader that stops reading is
//! closed after a write timeout, and the journal stays within its limits.

use std::time::Duration;

use bedrock_mock_server::{
    Answer, AuthMode, Dribble, ErrorCode, FrameRecord, JournalLimits, Match, MockBedrock,
    MockBedrockBuilder, Operation, ReadLimits, Reply, Rule, ServerConfig, Stall,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::send;

const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
/// Asks for as many tokens as a long reply has, within Haiku 4.5's output
/// cap (64000; more is a 400).
const LONG_PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":64000,"messages":[{"role":"user","content":"."}]}"#;
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
const STREAM: &str =
    "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream";

/// Many times every limit the servers here are given: past it, a test has
/// found a hang.
const HANG: Duration = Duration::from_secs(10);

/// The limits of these tests' servers, short so that the tests are.
const SHORT: Duration = Duration::from_millis(300);

fn builder() -> MockBedrockBuilder {
    MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .read_limits(ReadLimits::new(SHORT, SHORT))
        .write_timeout(SHORT)
}

fn request(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads until the server closes the connection (a reset ends it too);
/// failing the test past [`HANG`].
async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut piece = [0u8; 64 * 1024];
    let read = async {
        while let Ok(n @ 1..) = socket.read(&mut piece).await {
            answer.extend_from_slice(&piece[..n]);
        }
    };
    tokio::time::timeout(HANG, read)
        .await
        .expect("the server must close the connection");
    answer
}

/// Sends `at_once`, then `trickled` a byte at a time, `gap` apart, until
/// all are sent, the server answers, or it closes the connection; then
/// reads what it says.
async fn trickle(server: &MockBedrock, at_once: &[u8], trickled: &[u8], gap: Duration) -> String {
    let mut socket = TcpStream::connect(server.address()).await.unwrap();
    socket.write_all(at_once).await.unwrap();
    let mut answer = Vec::new();
    let mut piece = [0u8; 4096];
    for byte in trickled {
        tokio::select! {
            read = socket.read(&mut piece) => {
                if let Ok(n @ 1..) = read {
                    answer.extend_from_slice(&piece[..n]);
                }
                break;
            }
            () = tokio::time::sleep(gap) => {
                if socket.write_all(&[*byte]).await.is_err() {
                    break;
                }
            }
        }
    }
    answer.extend(read_until_closed(&mut socket).await);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_closed_at_the_head_limit() {
    let server = builder().start().await.unwrap();
    // About 2 s of bytes at this pace: many times the head limit.
    let gap = Duration::from_millis(10);
    let answer = trickle(&server, b"", &request(INVOKE, PROBE), gap).await;
    assert_eq!(answer, "", "closed unanswered");
    assert!(server.received_requests().is_empty());
    let normal = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(normal.status, 200);
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_is_answered_408_at_the_body_limit() {
    let server = builder().start().await.unwrap();
    let whole = request(INVOKE, PROBE);
    let (head, body) = whole.split_at(whole.len() - PROBE.len());
    let answer = trickle(&server, head, body, Duration::from_millis(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let journal = server.received_requests();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].status, Some(408));
    assert_eq!(
        journal[0].auth.reason.as_deref(),
        Some("body not received within 0.3 s")
    );
}

/// The admin API reads its bodies within the same limit: a rule sent a
/// byte at a time does not hold the connection.
#[tokio::test]
async fn an_admin_body_sent_a_byte_at_a_time_is_answered_408_at_the_body_limit() {
    let server = builder().start().await.unwrap();
    let rule = r#"{"answer":{"error":{"code":"ThrottlingException"}}}"#;
    let head = format!(
        "POST /__bedrock_mock/rules HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        server.address(),
        rule.len()
    );
    let answer = trickle(
        &server,
        head.as_bytes(),
        rule.as_bytes(),
        Duration::from_millis(20),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains("not received within 0.3 s"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let next = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(next.status, 200, "no rule was mounted: {}", next.text());
}

/// A dribble of a byte a second would run for hours: a stop waits for it
/// no longer than its grace (10 s), then cuts the connection.
#[tokio::test]
async fn a_stop_does_not_wait_out_a_dribble_of_hours() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    server.mount(Rule::dribbling(Match::any(), Dribble::new(1, 1000)));
    let mut socket = TcpStream::connect(server.address()).await.unwrap();
    socket.write_all(&request(INVOKE, PROBE)).await.unwrap();
    let mut first = [0u8; 1];
    socket.read_exact(&mut first).await.unwrap();
    let reading = tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
        rest
    });
    tokio::time::timeout(Duration::from_secs(30), server.shutdown())
        .await
        .expect("the stop cut the dribble");
    let rest = tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .expect("the connection was closed")
        .unwrap();
    // The head, then a byte a second for the 10 s of grace: a dribbled
    // body is chunked, and a cut one lacks the last chunk.
    let text = String::from_utf8_lossy(&rest).into_owned();
    assert!(text.contains("\r\n\r\n"), "the head came: {text}");
    assert!(!text.ends_with("0\r\n\r\n"), "cut short: {text}");
}

/// A reply long enough that its stream does not fit in the sockets'
/// buffers (some MiB of frames).
fn long_reply() -> Rule {
    let text: String = (0..30_000).map(|n| format!("word{} ", n % 100)).collect();
    Rule::new(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Answer::Reply(Reply::text(text)),
    )
}

/// Polls the journal until request `n` (from 0) satisfies `done`.
async fn journal_until(server: &MockBedrock, done: impl Fn(&[FrameRecord]) -> bool) {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        let journal = server.received_requests();
        if journal.first().is_some_and(|r| done(&r.frames)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the journal never showed it: {:?}",
            journal
                .first()
                .map(|r| r.frames.iter().rev().take(3).collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_closed_by_the_write_timeout_and_journaled() {
    let server = builder().start().await.unwrap();
    server.mount(long_reply());
    let socket = TcpSocket::new_v4().unwrap();
    // A small window, so the server's writes stop soon.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut socket = socket.connect(server.address()).await.unwrap();
    socket
        .write_all(&request(STREAM, LONG_PROBE))
        .await
        .unwrap();
    // Reads nothing until the server gives up on it.
    journal_until(&server, |frames| {
        frames.last() == Some(&FrameRecord::WriteTimeout)
    })
    .await;
    read_until_closed(&mut socket).await;
    let entry = &server.received_requests()[0];
    assert_eq!(entry.status, Some(200));
    assert_eq!(entry.frames[0], "chunk:message_start");
    // What was handed to the connection, then the timeout: not the
    // stream's end.
    assert!(!entry.frames.iter().any(|f| f == "chunk:message_stop"));
    assert!(entry.frames.last().unwrap().is_failure());
    let normal = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(normal.status, 200);
}

#[tokio::test]
async fn a_stall_longer_than_the_write_timeout_is_not_a_stopped_reader() {
    let server = builder().start().await.unwrap();
    // The server writes nothing during the stall: no write waits on the
    // reader, so the write timeout has nothing to cut.
    server.mount(Rule::stalling(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Stall::after_events(2, 1.0),
    ));
    let r = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    let frames = &server.received_requests()[0].frames;
    assert_eq!(frames.last().unwrap(), "chunk:message_stop", "{frames:?}");
    assert!(frames.contains(&FrameRecord::Stall));
}

#[tokio::test]
async fn idle_connections_are_closed_at_the_head_limit() {
    let server = builder().start().await.unwrap();
    // Connections that never send a byte...
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(server.address()).await.unwrap());
    }
    // ...and one kept alive after its answer.
    let mut kept = TcpStream::connect(server.address()).await.unwrap();
    kept.write_all(&request(INVOKE, PROBE)).await.unwrap();
    idle.push(kept);
    let mut answers = Vec::new();
    for socket in &mut idle {
        answers.push(read_until_closed(socket).await);
    }
    assert!(answers[..50].iter().all(Vec::is_empty));
    assert!(String::from_utf8_lossy(&answers[50]).starts_with("HTTP/1.1 200 "));
    let normal = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(normal.status, 200);
}

/// `GET` of an admin call, as `(status, header, body)`.
async fn admin(server: &MockBedrock, call: &str, header: &str) -> (u16, Option<String>, String) {
    let r = send(
        server.address(),
        "GET",
        &format!("/__bedrock_mock/{call}"),
        &[],
        b"",
    )
    .await;
    (r.status, r.header(header).map(str::to_owned), r.text())
}

#[tokio::test]
async fn the_journal_drops_its_oldest_entries_past_its_limits_and_says_so() {
    let limits = JournalLimits::default().with_entries(5);
    let server = builder().journal_limits(limits).start().await.unwrap();
    for _ in 0..8 {
        send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    }
    let seqs: Vec<u64> = server.received_requests().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [4, 5, 6, 7, 8]);
    assert_eq!(server.dropped_requests(), 3);
    let (_, _, count) = admin(&server, "journal/count", "").await;
    assert_eq!(count, r#"{"requests":5,"dropped":3}"#);
    let (status, dropped, journal) =
        admin(&server, "journal", "x-bedrock-mock-journal-dropped").await;
    assert_eq!((status, dropped.as_deref()), (200, Some("3")));
    let journal: Vec<serde_json::Value> = serde_json::from_str(&journal).unwrap();
    assert_eq!(journal.len(), 5);
    assert_eq!(journal[0]["seq"], 4);
    // Expectations count the requests a rule matched, not the journal's
    // entries, so they still hold; verify shows what was dropped.
    assert!(server.verify().is_ok());
    let (status, _, text) = admin(&server, "verify", "").await;
    assert_eq!((status, text.as_str()), (200, r#"{"ok":true,"dropped":3}"#));
    server.mount(
        Rule::new(
            Match::operation(Operation::GetCallerIdentity),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .expect(1),
    );
    let error = server.verify().unwrap_err();
    assert_eq!((error.failures.len(), error.dropped), (1, 3));
    let (status, _, text) = admin(&server, "verify", "").await;
    assert_eq!(status, 409);
    assert!(
        text.contains("the journal dropped its 3 oldest request(s)"),
        "{text}"
    );
    server.reset();
    // Forgetting the journal forgets what it dropped.
    let r = send(
        server.address(),
        "DELETE",
        "/__bedrock_mock/journal",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        admin(&server, "journal/count", "").await.2,
        r#"{"requests":0,"dropped":0}"#
    );
    assert!(server.verify().is_ok());
}

#[tokio::test]
async fn the_journal_keeps_within_its_bytes() {
    let limits = JournalLimits::default().with_bytes(64 << 10);
    let server = builder().journal_limits(limits).start().await.unwrap();
    // Each entry holds its 40 KiB body: one fits, not two.
    let big = "x".repeat(40 << 10);
    for _ in 0..4 {
        send(server.address(), "POST", INVOKE, &[], big.as_bytes()).await;
    }
    let kept = server.received_requests();
    assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [4]);
    assert_eq!(kept[0].body.len(), big.len());
    assert_eq!(server.dropped_requests(), 3);
    // A stream's frames count too: its entry grows as it is sent, and
    // the older entry goes.
    server.mount(long_reply());
    let r = send(server.address(), "POST", STREAM, &[], LONG_PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    let kept = server.received_requests();
    assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [5]);
    assert_eq!(server.dropped_requests(), 4);
    server.reset();
    assert_eq!(server.dropped_requests(), 0);
}
