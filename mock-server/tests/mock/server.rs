//! The mock server over real sockets: authentication answers, streams sent
//! frame by frame, the journal, rules and the admin API.

use std::time::{Duration, SystemTime};

use crate::common::{
    RawResponse, SIGNATURE_MISMATCH, ToSign, as_pairs, example_credentials, send, sign_headers,
    signing_time,
};
use aws_sdk_bedrockruntime::config::Credentials;
use bedrock_eventstream::Decoder;
use bedrock_mock_server::{
    Answer, AuthMode, Clock, Credential, Dribble, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    ErrorCode, FrameRecord, Match, MockBedrock, Operation, Pace, ReadLimits, Reset, Rule,
    ServerConfig,
};

const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
/// What an admin call with a body says it carries.
const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const STREAM: &str =
    "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream";

/// Signs with the aws-sigv4 crate (the AWS SDKs' signer) and sends.
pub(crate) async fn signed(
    server: &MockBedrock,
    method: &str,
    target: &str,
    body: &str,
    credentials: Credentials,
    at: SystemTime,
) -> RawResponse {
    let host = server.address().to_string();
    let base = [
        ("host".to_owned(), host.clone()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    let headers = sign_headers(
        &ToSign {
            method,
            url: &format!("http://{host}{target}"),
            headers: &base,
            body: body.as_bytes(),
            region: "us-east-1",
            service: "bedrock",
            time: at,
        },
        credentials,
    );
    send(
        server.address(),
        method,
        target,
        &as_pairs(&headers),
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn signatures_from_the_aws_signer_verify_for_every_path_encoding() {
    let server = MockBedrock::start_with(ServerConfig::default().application_profile(
        bedrock_mock_server::ApplicationProfile::new("abc123", "us.anthropic.claude-opus-4-6-v1"),
    ))
    .await;
    let now = SystemTime::now();
    for (method, target, body) in [
        ("POST", INVOKE, PROBE),
        (
            "POST",
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke",
            PROBE,
        ),
        (
            "POST",
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/invoke",
            PROBE,
        ),
        (
            "GET",
            "/inference-profiles?type=SYSTEM_DEFINED&maxResults=2",
            "",
        ),
        (
            "GET",
            "/inference-profiles/us.anthropic.claude-opus-4-6-v1",
            "",
        ),
    ] {
        let r = signed(&server, method, target, body, example_credentials(), now).await;
        assert_eq!(
            r.status,
            200,
            "{target}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

/// The SigV4 details real clients differ in (conformance/DIFFERENCES.md):
/// each form verifies.
#[tokio::test]
async fn sigv4_variants_of_the_real_clients_all_verify() {
    use aws_sigv4::http_request::{PayloadChecksumKind, SigningSettings};
    let server = MockBedrock::start().await;
    let with_port = server.address().to_string();
    let aws_host = "bedrock-runtime.us-east-1.amazonaws.com".to_owned();
    let hashed = || {
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings
    };
    // (what, path as sent, host signed, host sent, signer settings)
    let cases = [
        // The Anthropic SDKs and Claude Code: `:` raw.
        (
            "`:` raw",
            INVOKE,
            &with_port,
            &with_port,
            SigningSettings::default(),
        ),
        // botocore and the Rust SDK: `:` as `%3A`.
        (
            "`:` encoded",
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke",
            &with_port,
            &with_port,
            SigningSettings::default(),
        ),
        // Through a proxy, or at a default port: the host has no port.
        (
            "host without a port",
            INVOKE,
            &aws_host,
            &aws_host,
            SigningSettings::default(),
        ),
        // Signed without the port the request then carries.
        (
            "port sent, not signed",
            INVOKE,
            &without_port(&with_port),
            &with_port,
            SigningSettings::default(),
        ),
        // The Rust SDK and Claude Code sign `x-amz-content-sha256`;
        // botocore (all the above) sends none.
        (
            "x-amz-content-sha256 signed",
            INVOKE,
            &with_port,
            &with_port,
            hashed(),
        ),
    ];
    for (what, target, signed_host, sent_host, settings) in cases {
        let base = [
            ("host".to_owned(), signed_host.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let mut headers = crate::common::sign_headers_with(
            &ToSign {
                method: "POST",
                url: &format!("http://{signed_host}{target}"),
                headers: &base,
                body: PROBE.as_bytes(),
                region: "us-east-1",
                service: "bedrock",
                time: SystemTime::now(),
            },
            example_credentials(),
            settings,
        );
        headers[0].1 = sent_host.clone();
        let r = send(
            server.address(),
            "POST",
            target,
            &as_pairs(&headers),
            PROBE.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let journaled = server.received_requests().pop().unwrap();
        assert!(journaled.auth.accepted, "{what}");
        let hash_sent = journaled.header("x-amz-content-sha256").is_some();
        assert_eq!(
            hash_sent,
            what.starts_with("x-amz-content-sha256"),
            "{what}"
        );
    }
}

/// A `host:port` without its port.
fn without_port(with_port: &str) -> String {
    with_port
        .rsplit_once(':')
        .map_or(with_port, |(h, _)| h)
        .to_owned()
}

#[tokio::test]
async fn sigv4_rejections_use_aws_codes_and_texts() {
    let past = SystemTime::now() - Duration::from_secs(60);
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .credential(
                Credential::new("ASIAEXPIRED", "s3cr3t-expired").session("tok-expired", past),
            )
            .credential(
                Credential::new("ASIAVALID", "s3cr3t-valid")
                    .session("tok-valid", SystemTime::now() + Duration::from_secs(3600)),
            ),
    )
    .await;
    let now = SystemTime::now();
    let cases = [
        (
            Credentials::new(EXAMPLE_ACCESS_KEY_ID, "wrong", None, None, "t"),
            now,
            (403, "InvalidSignatureException", SIGNATURE_MISMATCH),
        ),
        (
            Credentials::new("AKIAUNKNOWN", "x", None, None, "t"),
            now,
            (
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
        ),
        (
            Credentials::new(
                "ASIAEXPIRED",
                "s3cr3t-expired",
                Some("tok-expired".into()),
                None,
                "t",
            ),
            now,
            (
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ),
        ),
        (
            Credentials::new(
                "ASIAVALID",
                "s3cr3t-valid",
                Some("forged".into()),
                None,
                "t",
            ),
            now,
            (
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
        ),
    ];
    for (credentials, at, (status, code, message)) in cases {
        let r = signed(&server, "POST", INVOKE, PROBE, credentials, at).await;
        assert_eq!(
            r.bedrock_error(),
            (status, code.to_owned(), message.to_owned())
        );
    }
    let valid = Credentials::new(
        "ASIAVALID",
        "s3cr3t-valid",
        Some("tok-valid".into()),
        None,
        "t",
    );
    assert_eq!(
        signed(&server, "POST", INVOKE, PROBE, valid.clone(), now)
            .await
            .status,
        200
    );
    let (status, code, message) = signed(
        &server,
        "POST",
        INVOKE,
        PROBE,
        valid,
        now + Duration::from_secs(400),
    )
    .await
    .bedrock_error();
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );
}

#[tokio::test]
async fn api_keys_are_checked_like_bedrocks_front_door() {
    let server = MockBedrock::start().await;
    let bearer = |key: &str| format!("Bearer {key}");
    let cases = [
        (Some(bearer(EXAMPLE_API_KEY)), None),
        (None, Some("Authorization header is missing")),
        (
            Some(bearer("sk-not-bedrock")),
            Some("Invalid API Key format: Must start with pre-defined prefix"),
        ),
        (
            Some(bearer("ABSKdW5rbm93bg==")),
            Some("Authentication failed: Please make sure your API Key is valid."),
        ),
    ];
    for (authorization, rejection) in cases {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &authorization {
            headers.push(("authorization", a.as_str()));
        }
        let r = send(server.address(), "POST", INVOKE, &headers, PROBE.as_bytes()).await;
        match rejection {
            None => assert_eq!(r.status, 200),
            Some(text) => {
                assert_eq!(r.status, 403);
                assert_eq!(
                    r.header("x-amzn-errortype"),
                    Some(
                        "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"
                    )
                );
                assert_eq!(r.json(), serde_json::json!({ "Message": text }));
            }
        }
    }
}

#[tokio::test]
async fn gateway_mode_checks_nothing() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(server.received_requests()[0].auth.scheme, "off");
}

#[tokio::test]
async fn streams_go_out_chunked_one_frame_per_chunk() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off).reply(
        bedrock_mock_server::Reply::text("one two three four five six seven eight"),
    ))
    .await;
    let body = PROBE.replace("\"max_tokens\":1", "\"max_tokens\":100");
    let r = send(server.address(), "POST", STREAM, &[], body.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert_eq!(
        r.header("x-amzn-bedrock-content-type"),
        Some("application/json")
    );
    assert!(r.header("x-amzn-requestid").is_some());
    assert_eq!(r.header("content-length"), None);
    let mut decoder = Decoder::new();
    let mut input = &r.body[..];
    let mut frame_lengths = Vec::new();
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        frame_lengths.push(frame.encoded_len());
    }
    decoder.finish().unwrap();
    assert_eq!(
        r.chunks, frame_lengths,
        "each HTTP chunk is exactly one frame"
    );
    let journal = server.received_requests();
    assert_eq!(journal[0].frames.len(), frame_lengths.len());
    assert_eq!(
        journal[0]
            .frames
            .first()
            .map(ToString::to_string)
            .as_deref(),
        Some("chunk:message_start")
    );
    assert_eq!(
        journal[0].frames.last().map(ToString::to_string).as_deref(),
        Some("chunk:message_stop")
    );
}

#[tokio::test]
async fn paced_streams_hold_back_later_frames() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .auth(AuthMode::Off)
            .pace(Pace::between_events(std::time::Duration::from_millis(400))),
    )
    .await;
    let mut socket = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let head = format!(
        "POST {STREAM} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{PROBE}",
        PROBE.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut first = vec![0u8; 4096];
    let n = socket.read(&mut first).await.unwrap();
    // The first read holds the head and at most the first frame: the rest
    // is still waiting on the pace.
    let text = String::from_utf8_lossy(&first[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the stream ended at once: {text}"
    );
    // Six frames paced 400 ms apart take two seconds; right after the first
    // read the server has not sent them all.
    assert!(server.received_requests()[0].frames.len() < 6);
}

/// Waits (boundedly) until request 0's journal entry shows `label`.
async fn journal_shows(server: &MockBedrock, label: &str) {
    for _ in 0..500 {
        let frames = server
            .received_requests()
            .first()
            .map(|r| r.frames.clone())
            .unwrap_or_default();
        if frames.iter().any(|f| f == label) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the journal never showed {label}");
}

#[tokio::test]
async fn a_stall_on_a_fixed_clock_holds_the_stream_until_time_moves() {
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .clock(Clock::fixed(signing_time()))
        .start()
        .await
        .unwrap();
    server.mount(Rule::stalling(
        Match::operation(Operation::InvokeModelWithResponseStream),
        bedrock_mock_server::Stall::after_events(2, 60.0),
    ));
    let address = server.address();
    let reading =
        tokio::spawn(async move { send(address, "POST", STREAM, &[], PROBE.as_bytes()).await });
    journal_shows(&server, "stall").await;
    assert_eq!(
        server.received_requests()[0].frames,
        ["chunk:message_start", "chunk:content_block_start", "stall"],
        "two frames, then nothing"
    );
    assert!(!reading.is_finished());
    // No client shares the clock: the stall ends when the test moves it.
    server.clock().advance(Duration::from_secs(60));
    let r = reading.await.unwrap();
    assert_eq!(r.status, 200);
    let frames = &server.received_requests()[0].frames;
    assert_eq!(
        frames.last().map(ToString::to_string).as_deref(),
        Some("chunk:message_stop")
    );
    let mut decoder = Decoder::new();
    let mut input = &r.body[..];
    let mut decoded = 0;
    while decoder.decode(&mut input).unwrap().is_some() {
        decoded += 1;
    }
    assert_eq!(
        decoded,
        frames.len() - 1,
        "every frame but the stall label arrived"
    );
}

#[tokio::test]
async fn a_stall_before_the_head_on_a_running_clock_is_a_real_wait() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    server.mount(Rule::stalling(
        Match::operation(Operation::InvokeModel),
        bedrock_mock_server::Stall::before_head(0.3),
    ));
    let started = std::time::Instant::now();
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200, "the normal answer, after the stall");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.received_requests()[0].frames, ["stall"]);
}

#[tokio::test]
async fn date_is_the_server_clock_as_the_head_leaves_and_a_rule_s_own_is_kept() {
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .clock(Clock::fixed(SystemTime::UNIX_EPOCH))
        .start()
        .await
        .unwrap();
    server.mount(
        Rule::stalling(
            Match::default(),
            bedrock_mock_server::Stall::before_head(60.0),
        )
        .times(1),
    );
    let address = server.address();
    let stalled =
        tokio::spawn(async move { send(address, "POST", INVOKE, &[], PROBE.as_bytes()).await });
    journal_shows(&server, "stall").await;
    server.clock().advance(Duration::from_secs(60));
    // Stamped when the head left, after the stall: a `Date` from the
    // request's arrival would make a client's clock skew a minute off.
    let answer = stalled.await.unwrap();
    assert_eq!(answer.header("date"), Some("Thu, 01 Jan 1970 00:01:00 GMT"));

    let own_date = "Mon, 07 Dec 2026 10:00:00 GMT";
    server.mount(Rule::new(
        Match::default(),
        Answer::http(503, &[("date", own_date)], "busy"),
    ));
    let answer = send(address, "POST", INVOKE, &[], PROBE.as_bytes()).await;
    let dates: Vec<_> = answer.headers.iter().filter(|(n, _)| n == "date").collect();
    assert_eq!(dates, [&("date".to_owned(), own_date.to_owned())]);
}

#[tokio::test]
async fn a_stopping_server_ends_its_stalls() {
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .clock(Clock::fixed(SystemTime::UNIX_EPOCH))
        .start()
        .await
        .unwrap();
    server.mount(Rule::stalling(
        Match::default(),
        bedrock_mock_server::Stall::before_head(86_400.0),
    ));
    let address = server.address();
    let waiting =
        tokio::spawn(async move { send(address, "POST", INVOKE, &[], PROBE.as_bytes()).await });
    journal_shows(&server, "stall").await;
    // Shutdown waits for open connections: the stall must not hold it.
    tokio::time::timeout(Duration::from_secs(30), server.shutdown())
        .await
        .expect("shutdown finished");
    let _ = waiting.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_are_each_journaled_whole() {
    // Bounded: 200 streams, 8 frames each, all at once.
    const STREAMS: usize = 200;
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let address = server.address();
    let body = PROBE.replace("\"max_tokens\":1", "\"max_tokens\":100");
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { send(address, "POST", STREAM, &[], body.as_bytes()).await })
        })
        .collect();
    for stream in streams {
        assert_eq!(stream.await.unwrap().status, 200);
    }
    let journal = server.received_requests();
    assert_eq!(journal.len(), STREAMS, "one entry per request");
    let mut seqs: Vec<u64> = journal.iter().map(|r| r.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), STREAMS, "each under its own number");
    for entry in &journal {
        assert_eq!(
            entry.frames.last().map(ToString::to_string).as_deref(),
            Some("chunk:message_stop"),
            "every frame recorded under its own request"
        );
    }
}

#[tokio::test]
async fn rules_answer_in_order_then_fall_through() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    server.mount(
        Rule::new(
            Match::operation(Operation::InvokeModel).model("us.anthropic.claude-haiku-*"),
            Answer::Error {
                code: ErrorCode::ThrottlingException,
                status: None,
                message: None,
                retry_after: Some(2),
            },
        )
        .named("throttle twice")
        .times(2)
        .expect(2),
    );
    server.mount(
        Rule::new(
            Match::any().nth(4),
            Answer::error(ErrorCode::ServiceUnavailableException),
        )
        .expect(1),
    );
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
        if r.status == 429 {
            assert_eq!(r.header("retry-after"), Some("2"));
            assert_eq!(
                r.json()["message"],
                "Too many requests, please wait before trying again."
            );
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [429, 429, 200, 503, 200]);
    let journal = server.received_requests();
    assert_eq!(journal[0].rule.as_deref(), Some("throttle twice"));
    assert_eq!(journal[2].rule, None);
    server.verify().unwrap();
}

#[tokio::test]
#[should_panic(expected = "rule `must be called`: expected 1 matching request(s), answered 0")]
async fn unmet_expectations_fail_the_test_on_drop() {
    let server = MockBedrock::start().await;
    server.mount(
        Rule::new(Match::any(), Answer::error(ErrorCode::ThrottlingException))
            .named("must be called")
            .expect(1),
    );
}

#[tokio::test]
#[should_panic(
    expected = "dropped; end the test with `server.verify().unwrap()` to fail at your own line"
)]
async fn the_drop_panic_says_how_to_fail_at_the_tests_own_line() {
    let server = MockBedrock::start().await;
    server.mount(Rule::new(Match::any(), Answer::error(ErrorCode::ThrottlingException)).expect(1));
}

#[tokio::test]
async fn the_admin_api_drives_a_server_from_outside() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let admin = |p: &str| format!("{}{p}", bedrock_mock_server::ADMIN_PREFIX);
    let rule = r#"{"when":{"operation":"InvokeModel"},"answer":{"error":{"code":"AccessDeniedException"}},"times":1}"#;
    assert_eq!(
        send(
            server.address(),
            "POST",
            &admin("rules"),
            JSON,
            rule.as_bytes()
        )
        .await
        .status,
        201
    );
    assert_eq!(
        send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes())
            .await
            .status,
        403
    );
    let journal = send(server.address(), "GET", &admin("journal"), &[], b"")
        .await
        .json();
    assert_eq!(
        journal.as_array().unwrap().len(),
        1,
        "admin calls are not journaled"
    );
    assert_eq!(journal[0]["error_type"], "AccessDeniedException");
    let bad = send(
        server.address(),
        "PUT",
        &admin("config"),
        JSON,
        br#"{"regoins":[]}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("unknown field `regoins`"));
    // A code the mock does not know is refused where it is read, not
    // answered later as a 400 with an empty message.
    let misspelled = r#"{"answer":{"error":{"code":"ThrottlingExeption"}}}"#;
    let refused = send(
        server.address(),
        "POST",
        &admin("rules"),
        JSON,
        misspelled.as_bytes(),
    )
    .await;
    assert_eq!(refused.status, 400);
    let text = String::from_utf8_lossy(&refused.body);
    assert!(
        text.starts_with(
            "rule: line 1, column 48: field `answer.error.code`: `ThrottlingExeption` is not an error the mock knows; known codes: "
        ),
        "{text}"
    );
    let clock = send(
        server.address(),
        "POST",
        &admin("clock"),
        JSON,
        br#"{"set":"2030-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(clock.status, 204);
    assert_eq!(
        server.clock().now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000)
    );
    assert_eq!(
        send(server.address(), "POST", &admin("reset"), &[], b"")
            .await
            .status,
        204
    );
    assert!(server.received_requests().is_empty());
}

/// `POST /__bedrock_mock/clock` with `body`; panics unless it is taken.
async fn move_clock(server: &MockBedrock, body: &str) {
    let target = format!("{}clock", bedrock_mock_server::ADMIN_PREFIX);
    let r = send(server.address(), "POST", &target, JSON, body.as_bytes()).await;
    assert_eq!(r.status, 204, "{body}: {}", r.text());
}

/// The status of an Invoke signed now, by the system clock.
async fn signed_now(server: &MockBedrock) -> u16 {
    signed(
        server,
        "POST",
        INVOKE,
        PROBE,
        example_credentials(),
        SystemTime::now(),
    )
    .await
    .status
}

#[tokio::test]
async fn a_set_clock_goes_back_to_the_real_one() {
    let server = MockBedrock::start().await;
    assert_eq!(signed_now(&server).await, 200);
    move_clock(&server, r#"{"set":"2030-01-01T00:00:00Z"}"#).await;
    assert_eq!(
        signed_now(&server).await,
        403,
        "signed years before the server's now"
    );
    move_clock(&server, r#"{"real":true}"#).await;
    assert_eq!(signed_now(&server).await, 200);
    let drift = server.clock().now().duration_since(SystemTime::now());
    assert!(drift.is_err() || drift.unwrap() < Duration::from_secs(60));
    let target = format!("{}clock", bedrock_mock_server::ADMIN_PREFIX);
    let refused = send(
        server.address(),
        "POST",
        &target,
        JSON,
        br#"{"real":false}"#,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("`real` takes only `true`"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn a_reset_puts_a_running_clock_back_to_the_real_one() {
    let server = MockBedrock::start().await;
    move_clock(&server, r#"{"set":"2030-01-01T00:00:00Z"}"#).await;
    let reset = format!("{}reset", bedrock_mock_server::ADMIN_PREFIX);
    assert_eq!(
        send(server.address(), "POST", &reset, &[], b"")
            .await
            .status,
        204
    );
    assert_eq!(
        signed_now(&server).await,
        200,
        "after the admin API's reset"
    );
    server.clock().set(SystemTime::UNIX_EPOCH);
    server.clock().advance(Duration::from_secs(3600));
    server.reset();
    assert_eq!(signed_now(&server).await, 200, "after the Rust reset");
}

#[tokio::test]
async fn a_reset_puts_a_fixed_clock_back_to_its_start() {
    let start = SystemTime::now() - Duration::from_secs(86_400);
    let server = MockBedrock::builder()
        .clock(Clock::fixed(start))
        .start()
        .await
        .unwrap();
    move_clock(&server, r#"{"advance_seconds":7200}"#).await;
    let at_start = || signed(&server, "POST", INVOKE, PROBE, example_credentials(), start);
    assert_eq!(at_start().await.status, 403, "two hours off");
    let reset = format!("{}reset", bedrock_mock_server::ADMIN_PREFIX);
    assert_eq!(
        send(server.address(), "POST", &reset, &[], b"")
            .await
            .status,
        204
    );
    assert_eq!(server.clock().now(), start);
    assert_eq!(at_start().await.status, 200);
    move_clock(&server, r#"{"real":true}"#).await;
    server.reset();
    assert_eq!(
        server.clock().now(),
        start,
        "the Rust reset, from the real clock"
    );
}

#[tokio::test]
async fn bad_input_gets_aws_answers_not_crashes() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let cases: [(&str, &str, &[u8], u16, &str); 5] = [
        ("POST", INVOKE, b"{not json", 400, "ValidationException"),
        ("POST", INVOKE, b"\xff\xfe", 400, "ValidationException"),
        (
            "POST",
            "/model/nope/invoke",
            PROBE.as_bytes(),
            400,
            "ValidationException",
        ),
        (
            "GET",
            "/model/x/invoke",
            b"",
            404,
            "UnknownOperationException",
        ),
        (
            "POST",
            "/model/..%2F..%2Fetc%2Fpasswd/invoke",
            PROBE.as_bytes(),
            400,
            "ValidationException",
        ),
    ];
    for (method, target, body, status, code) in cases {
        let r = send(server.address(), method, target, &[], body).await;
        assert_eq!(
            (r.status, r.bedrock_error().1.as_str()),
            (status, code),
            "{method} {target}"
        );
    }
    // Odd encodings in the model id: double-encoded, overlong UTF-8, NUL,
    // a cut or bad escape, a right-to-left override, a 3,000-byte id. Each
    // is an id no model has; none reaches a file or panics.
    let long = format!("/model/{}/invoke", "a".repeat(3000));
    for target in [
        "/model/..%252F..%252Fetc%252Fpasswd/invoke",
        "/model/%C0%AF%C0%AF/invoke",
        "/model/anthropic.claude%00/invoke",
        "/model/anthropic.claude%/invoke",
        "/model/anthropic.claude%G1/invoke",
        "/model/%E2%80%AEanthropic/invoke",
        long.as_str(),
    ] {
        let r = send(server.address(), "POST", target, &[], PROBE.as_bytes()).await;
        let (status, code, _) = r.bedrock_error();
        assert_eq!(
            (status, code.as_str()),
            (400, "ValidationException"),
            "{target}"
        );
    }
    let huge = vec![b' '; 25_000_001];
    let r = send(server.address(), "POST", INVOKE, &[], &huge).await;
    assert_eq!(
        r.bedrock_error(),
        (
            400,
            "ValidationException".to_owned(),
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 25000000".to_owned()
        )
    );
}

#[tokio::test]
async fn absurd_headers_are_refused_and_the_server_goes_on() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let many: Vec<(String, String)> = (0..500)
        .map(|n| (format!("x-h{n}"), "v".to_owned()))
        .collect();
    let long = vec![("x-long".to_owned(), "v".repeat(1 << 20))];
    for headers in [many, long] {
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let r = send(server.address(), "POST", INVOKE, &pairs, PROBE.as_bytes()).await;
        assert!((400..500).contains(&r.status), "status {}", r.status);
    }
    // The refused requests never reached a handler; the next one does.
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(server.received_requests().len(), 1);
}

/// Writes `bytes` on a fresh connection, then sends nothing more, and
/// reads until the server closes it (within 10 s, or the test fails).
async fn send_and_go_quiet(server: &MockBedrock, bytes: &[u8]) -> String {
    String::from_utf8_lossy(&send_and_read_all(server, bytes).await).into_owned()
}

/// Sends `bytes` and reads until the server closes the connection.
async fn send_and_read_all(server: &MockBedrock, bytes: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    socket.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .expect("the server must close a connection whose client went quiet")
        .unwrap();
    answer
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_the_server_goes_on() {
    let limits = ReadLimits::new(Duration::from_millis(300), Duration::from_millis(300));
    let server = MockBedrock::builder()
        .config(ServerConfig::default().auth(AuthMode::Off))
        .read_limits(limits)
        .start()
        .await
        .unwrap();
    // Half a head, then silence: closed unanswered, nothing journaled.
    let half_head = format!("POST {INVOKE} HTTP/1.1\r\nhost: x\r\ncontent-le");
    assert_eq!(send_and_go_quiet(&server, half_head.as_bytes()).await, "");
    // A connection that never sends a byte is closed too.
    assert_eq!(send_and_go_quiet(&server, b"").await, "");
    assert!(server.received_requests().is_empty());
    // A whole head and part of the body: answered 408, connection closed,
    // and the journal shows why.
    let part_body = format!(
        "POST {INVOKE} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        PROBE.len(),
        &PROBE[..10]
    );
    let answer = send_and_go_quiet(&server, part_body.as_bytes()).await;
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
    // A client that hangs up mid-body is journaled as such, not as one
    // whose body was too large.
    {
        use tokio::io::AsyncWriteExt;
        let mut socket = tokio::net::TcpStream::connect(server.address())
            .await
            .unwrap();
        socket.write_all(part_body.as_bytes()).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.received_requests().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the broken upload was not journaled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        server.received_requests()[1].auth.reason.as_deref(),
        Some("the connection broke before the body was whole")
    );
    // Clients that are not slow are served as before.
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn resets_cut_the_connection_before_or_right_after_the_head() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let stream = Match::operation(Operation::InvokeModelWithResponseStream);
    server.mount(Rule::resetting(stream.clone(), Reset::BeforeHead).times(1));
    server.mount(Rule::resetting(stream, Reset::AfterHead).times(1));
    let request = format!(
        "POST {STREAM} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PROBE}",
        PROBE.len()
    );
    // Before the head: not a byte back.
    assert_eq!(send_and_go_quiet(&server, request.as_bytes()).await, "");
    // After the head: a 200 head for an event stream, then the cut (the
    // chunked body never ends).
    let answer = send_and_go_quiet(&server, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("application/vnd.amazon.eventstream"),
        "{answer}"
    );
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body, "", "no byte of the body: {answer}");
    // The journal says what happened; the third stream is whole.
    let r = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    let journal = server.received_requests();
    let seen: Vec<(Option<u16>, Vec<FrameRecord>)> = journal
        .iter()
        .map(|r| (r.status, r.frames.clone()))
        .collect();
    assert_eq!(seen[0], (None, vec![FrameRecord::Reset]));
    assert_eq!(seen[1], (Some(200), vec![FrameRecord::Reset]));
    assert_eq!(
        seen[2].1.last().map(ToString::to_string).as_deref(),
        Some("chunk:message_stop")
    );
}

#[tokio::test]
async fn a_dribbled_answer_arrives_whole_a_few_bytes_at_a_time() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let whole = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    server.mount(Rule::dribbling(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Dribble::new(7, 0),
    ));
    let dribbled = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    assert_eq!(dribbled.status, 200);
    assert!(
        dribbled.chunks.iter().all(|&n| n <= 7),
        "{:?}",
        dribbled.chunks
    );
    // The same frames (ids and padding differ per answer, so compare
    // what they carry).
    let events = |body: &[u8]| {
        let mut decoder = Decoder::new();
        let mut input = body;
        let mut reader = bedrock_eventstream::bedrock::EventReader::new();
        let mut events = Vec::new();
        while let Some(frame) = decoder.decode(&mut input).unwrap() {
            events.push(std::mem::discriminant(&reader.read(&frame).unwrap()));
        }
        events
    };
    assert_eq!(events(&dribbled.body), events(&whole.body));
    assert!(dribbled.chunks.len() > whole.chunks.len() * 5);
}

#[tokio::test]
async fn a_skewed_server_clock_rejects_fresh_signatures() {
    let clock = Clock::system();
    clock.skew(-10 * 60 * 1000);
    let server = MockBedrock::builder().clock(clock).start().await.unwrap();
    let r = signed(
        &server,
        "POST",
        INVOKE,
        PROBE,
        example_credentials(),
        SystemTime::now(),
    )
    .await;
    let (status, code, message) = r.bedrock_error();
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );
}

#[tokio::test]
async fn a_reply_rule_is_spent_only_on_requests_it_answers() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    server.mount(
        Rule::new(
            Match::any(),
            Answer::Reply(bedrock_mock_server::Reply::text("scripted")),
        )
        .times(1)
        .expect(1),
    );
    let bad_beta = PROBE.replace(
        "\"max_tokens\":1",
        "\"max_tokens\":5,\"anthropic_beta\":[\"nope\"]",
    );
    let r = send(server.address(), "POST", INVOKE, &[], bad_beta.as_bytes()).await;
    assert_eq!(r.bedrock_error().2, "invalid beta flag");
    let listed = send(server.address(), "GET", "/inference-profiles", &[], b"").await;
    assert_eq!(listed.status, 200);
    let good = PROBE.replace("\"max_tokens\":1", "\"max_tokens\":5");
    let r = send(server.address(), "POST", INVOKE, &[], good.as_bytes()).await;
    assert_eq!(r.json()["content"][0]["text"], "scripted");
    let journal = server.received_requests();
    assert_eq!(
        journal.iter().map(|r| r.rule.is_some()).collect::<Vec<_>>(),
        [false, false, true]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_cannot_share_a_times_one_rule() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    server.mount(
        Rule::new(Match::any(), Answer::error(ErrorCode::ThrottlingException))
            .times(1)
            .expect(1),
    );
    let address = server.address();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn(async move {
                send(address, "POST", INVOKE, &[], PROBE.as_bytes())
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 15);
    let seqs: Vec<u64> = server.received_requests().iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=16).collect::<Vec<_>>(),
        "the journal is in arrival order"
    );
}

#[tokio::test]
async fn a_listener_for_one_client_journals_its_requests_as_that_clients() {
    let mut server = MockBedrock::start().await;
    let terminal = server.listen_for("terminal-b").unwrap();
    let address: std::net::SocketAddr = terminal.trim_start_matches("http://").parse().unwrap();
    assert_ne!(address, server.address());
    // The same account and journal behind both: one request to each.
    send(server.address(), "GET", "/inference-profiles", &[], b"").await;
    let answer = send(address, "GET", "/inference-profiles", &[], b"").await;
    assert_eq!(answer.status, 403, "unsigned, refused as on the main port");
    let journal = server.received_requests();
    let clients: Vec<Option<&str>> = journal.iter().map(|r| r.client.as_deref()).collect();
    assert_eq!(clients, [None, Some("terminal-b")]);
    assert_eq!(journal[1].seq, 2, "one journal, one sequence");
    server.shutdown().await;
}

/// The event-stream frames in `body`.
fn count_frames(body: &[u8]) -> usize {
    let mut decoder = Decoder::new();
    let mut input = body;
    let mut n = 0;
    while decoder.decode(&mut input).unwrap().is_some() {
        n += 1;
    }
    n
}

/// The head of a raw answer, and its body.
fn split_answer(raw: &[u8]) -> (String, &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    (
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        &raw[at + 4..],
    )
}

/// The data of a chunked body as far as it arrived, and whether its last
/// chunk (`0`) did.
fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..line_end]).unwrap();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 {
            return (data, true);
        }
        let rest = &raw[line_end + 2..];
        data.extend_from_slice(&rest[..size.min(rest.len())]);
        raw = rest.get(size + 2..).unwrap_or_default();
    }
    (data, false)
}

#[tokio::test]
async fn a_cut_closes_the_connection_after_the_nth_byte_of_the_body() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let stream = Match::operation(Operation::InvokeModelWithResponseStream);
    let whole = send(server.address(), "POST", STREAM, &[], PROBE.as_bytes()).await;
    // Halfway through the stream.
    let cut_at = whole.body.len() / 2;
    server.mount(
        Rule::default_answer(stream)
            .cut_after(cut_at as u64)
            .times(1),
    );
    let request = format!(
        "POST {STREAM} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PROBE}",
        PROBE.len()
    );
    let answer = send_and_read_all(&server, request.as_bytes()).await;
    let (head, body) = split_answer(&answer);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let (body, ended) = dechunk(body);
    assert!(!ended, "a cut body never sends its last chunk");
    assert_eq!(body.len(), cut_at);
    // Whole frames, then part of one (frames' padding differs per answer,
    // so where the cut falls differs too).
    let mut decoder = Decoder::new();
    let mut input = body.as_slice();
    let mut complete = 0;
    while decoder.decode(&mut input).unwrap().is_some() {
        complete += 1;
    }
    let partial = usize::from(decoder.finish().is_err());
    assert!(
        complete >= 1 && complete < count_frames(&whole.body),
        "{complete}"
    );
    // The journal lists the frames begun, then the cut.
    let journal = server.received_requests();
    let frames = &journal[1].frames;
    assert_eq!(
        frames.last(),
        Some(&FrameRecord::Cut(cut_at as u64)),
        "{frames:?}"
    );
    assert_eq!(frames.len(), complete + partial + 1, "{frames:?}");
    // A whole answer is cut too: fewer bytes than its content-length says.
    server.mount(Rule::default_answer(Match::operation(Operation::InvokeModel)).cut_after(5));
    let invoke = format!(
        "POST {INVOKE} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PROBE}",
        PROBE.len()
    );
    let answer = send_and_read_all(&server, invoke.as_bytes()).await;
    let (head, body) = split_answer(&answer);
    assert_eq!(body.len(), 5, "{head}");
    let promised: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("a whole answer keeps its length")
        .parse()
        .unwrap();
    assert!(promised > 5, "{head}");
    // A body no longer than the limit goes whole, and no cut is journalled.
    server.reset();
    server
        .mount(Rule::default_answer(Match::operation(Operation::InvokeModel)).cut_after(1_000_000));
    let r = send(server.address(), "POST", INVOKE, &[], PROBE.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert!(server.received_requests().last().unwrap().frames.is_empty());
}

#[tokio::test]
async fn body_rules_answer_only_the_requests_whose_body_matches() {
    use bedrock_mock_server::BodyCondition;
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    // Bedrock's body and Mantle's alike.
    server.mount(
        Rule::new(
            Match::any().body("/max_tokens", BodyCondition::greater_than(16384.0)),
            Answer::error(ErrorCode::ThrottlingException),
        )
        .named("tokens over 16384"),
    );
    let big = PROBE.replace("\"max_tokens\":1", "\"max_tokens\":32000");
    let mantle = r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":32000,"messages":[{"role":"user","content":"."}]}"#;
    for (target, body, status) in [
        (INVOKE, PROBE, 200),
        (INVOKE, big.as_str(), 429),
        ("/anthropic/v1/messages", mantle, 429),
        (
            "/anthropic/v1/messages",
            &mantle.replace("32000", "100"),
            200,
        ),
        // Not JSON: no condition holds.
        (INVOKE, "max_tokens=32000", 400),
    ] {
        let headers = [JSON[0], ("anthropic-version", "2023-06-01")];
        let r = send(server.address(), "POST", target, &headers, body.as_bytes()).await;
        assert_eq!(
            r.status,
            status,
            "{target} {body}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let rules: Vec<Option<String>> = server
        .received_requests()
        .iter()
        .map(|r| r.rule.clone())
        .collect();
    let matched = Some("tokens over 16384".to_owned());
    assert_eq!(rules, [None, matched.clone(), matched, None, None]);
}

/// A server answering 900 words (some 370 frames) and a request for them
/// that reads them all.
async fn long_stream() -> (MockBedrock, String) {
    let words = vec!["word"; 900].join(" ");
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .auth(AuthMode::Off)
            .reply(bedrock_mock_server::Reply::text(words)),
    )
    .await;
    let body = PROBE.replace("\"max_tokens\":1", "\"max_tokens\":1000");
    let request = format!(
        "POST {STREAM} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    (server, request)
}

/// A reset deep in a long stream: every frame before it reaches the
/// client, then half the reset frame. hyper queues up to 16 chunks and
/// writes them only while the body is not ready, and tokio's budget (128
/// writes a poll) can end a flush early: the body must not hand over the
/// reset before what it sent is written. Every point from 100 to 300, so
/// some fall where the budget runs out.
#[tokio::test]
async fn a_reset_deep_in_a_stream_delivers_every_frame_before_it() {
    use bedrock_mock_server::{FrameFault, FrameFaultKind};
    let (server, request) = long_stream().await;
    for at in 100..=300 {
        server.reset();
        server.mount(Rule::faulting(
            Match::operation(Operation::InvokeModelWithResponseStream),
            FrameFault::at(FrameFaultKind::Reset, at),
        ));
        let raw = send_and_read_all(&server, request.as_bytes()).await;
        let (head, chunked) = split_answer(&raw);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let (data, ended) = dechunk(chunked);
        assert!(!ended, "a reset stream never ends its chunked body");
        assert_eq!(
            count_frames(&data),
            at,
            "every frame before a reset at {at}"
        );
    }
}

/// A cut deep in a long stream: every byte before it reaches the client
/// (as a reset, see above).
#[tokio::test]
async fn a_cut_deep_in_a_stream_delivers_every_byte_before_it() {
    let (server, request) = long_stream().await;
    for after_bytes in (30_000..=90_000).step_by(301) {
        server.reset();
        server.mount(
            Rule::default_answer(Match::operation(Operation::InvokeModelWithResponseStream))
                .cut_after(after_bytes),
        );
        let raw = send_and_read_all(&server, request.as_bytes()).await;
        let (_, chunked) = split_answer(&raw);
        let (data, ended) = dechunk(chunked);
        assert!(!ended, "a cut stream never ends its chunked body");
        assert_eq!(data.len() as u64, after_bytes, "every byte before the cut");
    }
}
