//! `capture::import`: a HAR file, the proxy log and an event-stream body
//! read into exchanges, and each refusal's message (file, entry or line or
//! byte, field).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use bedrock_harness::capture::exchange::{Answered, BodyEnd, Exchange, Outcome};
use bedrock_harness::capture::import::{
    Format, ImportError, ImportErrorKind, ImportOptions, Place, log_line, read_file,
};
use bedrock_mock_server::AwsError;
use serde_json::{Value, json};

use crate::Scratch;

/// A browser's HAR of a Claude Code session on Bedrock (entries out of
/// order, as exporters may write them): ListInferenceProfiles, a
/// telemetry post, a stream's 429, the retried stream (HTTP/2, base64
/// event-stream content), a request whose connection was reset.
fn session_har() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/capture/session.har")
}

/// A real Bedrock stream: seven chunk frames, `message_start` naming
/// `claude-sonnet-4-5-20250929`.
fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eventstream/tests/data")
        .join(name)
}

const SECRETS: [&str; 3] = [
    "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "client-key",
];

fn answered(exchange: &Exchange) -> &Answered {
    match &exchange.outcome {
        Outcome::Answered(answer) => answer,
        other => panic!("no answer: {other:?}"),
    }
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms / 1000.0)
}

#[test]
fn a_har_becomes_its_bedrock_exchanges_in_start_order() {
    let imported = read_file(&session_har(), &ImportOptions::new()).unwrap();
    assert_eq!(imported.format, Format::Har);
    let [list, throttled, stream, reset] = imported.exchanges.as_slice() else {
        panic!("{:#?}", imported.exchanges)
    };
    let starts: Vec<Duration> = imported.exchanges.iter().map(|e| e.started).collect();
    assert_eq!(
        starts,
        [0, 1000, 1900, 3000].map(Duration::from_millis).to_vec()
    );

    assert_eq!(
        (
            list.method.as_str(),
            list.path.as_str(),
            list.query.as_str()
        ),
        (
            "GET",
            "/inference-profiles",
            "type=SYSTEM_DEFINED&maxResults=1000"
        )
    );
    assert_eq!(list.header("host"), Some("bedrock.us-east-1.amazonaws.com"));
    let answer = answered(list);
    assert_eq!(
        (answer.status, answer.head_after),
        (200, Duration::from_nanos(85_200_000))
    );
    assert_eq!(answer.pieces.len(), 1);
    assert_eq!(answer.pieces[0].at, Duration::from_nanos(800_000));
    let profiles: Value = serde_json::from_slice(&answer.body()).unwrap();
    assert_eq!(
        profiles["inferenceProfileSummaries"][0]["inferenceProfileId"],
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );

    // The throttle, exactly as the mock writes one.
    let answer = answered(throttled);
    let throttling = AwsError::throttling();
    assert_eq!(answer.status, 429);
    assert_eq!(&answer.body()[..], &throttling.body()[..]);
    assert_eq!(
        answer.header("x-amzn-errortype"),
        Some(throttling.error_type_header().as_str())
    );
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(answer.end, BodyEnd::Complete);

    // HTTP/2: `:authority` is the host, the other pseudo-headers are gone;
    // the base64 content is the stream's bytes, one piece.
    assert_eq!(
        stream.path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    );
    assert_eq!(
        stream.headers[0],
        (
            "host".to_owned(),
            "bedrock-runtime.us-east-1.amazonaws.com".to_owned()
        )
    );
    assert!(
        stream
            .headers
            .iter()
            .all(|(n, _)| !n.starts_with(':') && *n == n.to_ascii_lowercase())
    );
    assert!(
        serde_json::from_slice::<Value>(&stream.body).unwrap()["anthropic_version"]
            == "bedrock-2023-05-31"
    );
    let answer = answered(stream);
    assert_eq!(
        &answer.body()[..],
        &std::fs::read(golden("bedrock_stream.bin")).unwrap()[..]
    );
    assert_eq!(answer.pieces.len(), 1);
    assert_eq!(answer.pieces[0].at, millis(640.3));
    assert_eq!(answer.head_after, millis(210.0));

    assert_eq!(
        reset.outcome,
        Outcome::NoAnswer {
            after: millis(1500.0),
            why: "net::ERR_CONNECTION_RESET".into()
        }
    );
    assert_eq!(reset.header("host"), stream.header("host"));

    assert_eq!(imported.skipped.len(), 1, "{:?}", imported.skipped);
    assert_eq!(
        imported.skipped[0],
        "entry 1 (POST statsig.anthropic.com/v1/rgstr): not a Bedrock, Mantle, STS or SSO endpoint"
    );
}

#[test]
fn a_har_body_cut_by_an_error_is_broken_and_one_left_out_is_said() {
    let dir = Scratch::new("import-har-broken");
    let mut har: Value = serde_json::from_slice(&std::fs::read(session_har()).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array_mut().unwrap();
    entries[2]["response"]["_error"] = json!("net::ERR_HTTP2_PROTOCOL_ERROR");
    let content = entries[0]["response"]["content"].as_object_mut().unwrap();
    content.remove("text");
    let path = dir.file("broken.har", har.to_string().as_bytes());

    let imported = read_file(&path, &ImportOptions::new()).unwrap();
    let stream = answered(&imported.exchanges[2]);
    assert_eq!(stream.end, BodyEnd::Broken { at: millis(640.3) });
    let list = answered(&imported.exchanges[0]);
    assert!(list.pieces.is_empty());
    assert!(
        imported
            .skipped
            .iter()
            .any(|s| s.starts_with("entry 0: the answer's body is not in the HAR")),
        "{:?}",
        imported.skipped
    );
}

#[test]
fn imported_exchanges_round_trip_through_the_proxy_log() {
    let dir = Scratch::new("import-log-round-trip");
    let mut har: Value = serde_json::from_slice(&std::fs::read(session_har()).unwrap()).unwrap();
    har["log"]["entries"][2]["response"]["_error"] = json!("net::ERR_HTTP2_PROTOCOL_ERROR");
    let har = dir.file("session.har", har.to_string().as_bytes());
    let exchanges = read_file(&har, &ImportOptions::new()).unwrap().exchanges;
    assert!(matches!(exchanges[3].outcome, Outcome::NoAnswer { .. }));
    assert!(matches!(
        answered(&exchanges[2]).end,
        BodyEnd::Broken { .. }
    ));

    let log: String = exchanges.iter().map(|e| log_line(e) + "\n").collect();
    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
    let path = dir.file("session.log", log.as_bytes());
    let read_back = read_file(&path, &ImportOptions::new()).unwrap();
    assert_eq!(read_back.format, Format::Log);
    assert!(read_back.skipped.is_empty());
    // What comes back is what went in but the credentials, each one the
    // same tag wherever it was; writing it again changes nothing.
    let secret = |name: &str| matches!(name, "authorization" | "x-amz-security-token");
    assert_eq!(read_back.exchanges.len(), exchanges.len());
    let mut tokens = std::collections::BTreeSet::new();
    for (back, sent) in read_back.exchanges.iter().zip(&exchanges) {
        assert_eq!(back.outcome, sent.outcome);
        assert_eq!(
            (
                &back.method,
                &back.path,
                &back.query,
                &back.body,
                back.started
            ),
            (
                &sent.method,
                &sent.path,
                &sent.query,
                &sent.body,
                sent.started
            )
        );
        let names = |e: &Exchange| e.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(back), names(sent));
        for ((name, back), (_, sent)) in back.headers.iter().zip(&sent.headers) {
            if secret(name) {
                assert_ne!(back, sent);
                assert!(back.contains("<redacted "), "{name}: {back}");
            } else {
                assert_eq!(back, sent);
            }
        }
        tokens.extend(back.header("x-amz-security-token").map(str::to_owned));
    }
    assert_eq!(tokens.len(), 1, "one session token, one tag: {tokens:?}");
    let again: String = read_back
        .exchanges
        .iter()
        .map(|e| log_line(e) + "\n")
        .collect();
    assert_eq!(again, log);
}

#[test]
fn an_event_stream_body_is_one_streamed_invoke_in_every_form() {
    let dir = Scratch::new("import-eventstream");
    let wire = std::fs::read(golden("bedrock_stream.bin")).unwrap();
    let binary = read_file(&golden("bedrock_stream.bin"), &ImportOptions::new()).unwrap();
    assert_eq!(binary.format, Format::EventStream);
    let [exchange] = binary.exchanges.as_slice() else {
        panic!("{binary:?}")
    };
    assert_eq!(
        (exchange.method.as_str(), exchange.path.as_str()),
        (
            "POST",
            "/model/claude-sonnet-4-5-20250929/invoke-with-response-stream"
        )
    );
    assert!(exchange.body.is_empty() && exchange.headers.is_empty());
    let answer = answered(exchange);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert_eq!(answer.pieces.len(), 7);
    assert!(answer.pieces.iter().all(|p| p.at == Duration::ZERO));
    assert_eq!(&answer.body()[..], &wire[..]);
    assert_eq!(answer.end, BodyEnd::Complete);

    let base64 = base64::engine::general_purpose::STANDARD.encode(&wire);
    let wrapped: Vec<&str> = base64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let hex: String = wire.iter().map(|b| format!("{b:02x}")).collect();
    for (name, text) in [
        ("body.b64", base64.clone()),
        ("wrapped.b64", wrapped.join("\n") + "\n"),
        ("body.hex", hex.clone() + "\n"),
        (
            "spaced.hex",
            hex.as_bytes()
                .chunks(32)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(" \n"),
        ),
    ] {
        let path = dir.file(name, text.as_bytes());
        let imported = read_file(&path, &ImportOptions::new()).unwrap();
        assert_eq!(imported.exchanges, binary.exchanges, "{name}");
    }

    let given = ImportOptions::new().model("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    let imported = read_file(&golden("bedrock_stream.bin"), &given).unwrap();
    assert_eq!(
        imported.exchanges[0].path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    );

    // A cut last frame stays as its bytes, and the body is broken.
    let cut = dir.file("cut.bin", &wire[..wire.len() - 100]);
    let imported = read_file(&cut, &ImportOptions::new()).unwrap();
    let answer = answered(&imported.exchanges[0]);
    assert_eq!(answer.pieces.len(), 7);
    assert_eq!(answer.pieces[6].bytes.len(), 350 - 100);
    assert_eq!(&answer.body()[..], &wire[..wire.len() - 100]);
    assert_eq!(answer.end, BodyEnd::Broken { at: Duration::ZERO });
}

/// The refusal of `bytes` as file `name` read with `options`.
fn refusal(dir: &Scratch, name: &str, bytes: &[u8], options: &ImportOptions) -> ImportError {
    let path = dir.file(name, bytes);
    let error = read_file(&path, options).unwrap_err();
    assert_eq!(error.file.as_deref(), Some(path.as_path()));
    let text = error.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{text}");
    }
    error
}

fn session_with(change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut har: Value = serde_json::from_slice(&std::fs::read(session_har()).unwrap()).unwrap();
    change(&mut har);
    har.to_string().into_bytes()
}

#[test]
fn a_bad_har_is_refused_naming_entry_and_field() {
    let dir = Scratch::new("import-har-refusals");
    let har = std::fs::read(session_har()).unwrap();
    let none = ImportOptions::new();

    let e = refusal(&dir, "cut.har", &har[..har.len() / 2], &none);
    assert_eq!(e.kind, ImportErrorKind::Syntax);
    assert!(
        e.message.starts_with("not JSON (EOF while parsing") && e.message.contains("at line"),
        "{e}"
    );

    let bad = session_with(|h| h["log"]["entries"][3]["response"]["status"] = json!("429"));
    let e = refusal(&dir, "status.har", &bad, &none);
    assert_eq!(
        (e.kind, e.place, e.field.as_deref()),
        (
            ImportErrorKind::Shape,
            Some(Place::Entry(3)),
            Some("log.entries[3].response.status")
        )
    );
    assert!(e.to_string().contains(": entry 3, field `log.entries[3].response.status`: invalid type: string \"…\", expected u16"), "{e}");

    // A wrong type never shows the value: it may be a secret.
    let bad = session_with(|h| {
        h["log"]["entries"][0]["request"]["headers"] =
            json!("X-Amz-Security-Token: IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN")
    });
    let e = refusal(&dir, "headers.har", &bad, &none);
    assert_eq!(e.field.as_deref(), Some("log.entries[0].request.headers"));

    let bad = session_with(|h| h["log"]["entries"][4]["startedDateTime"] = json!("07/12/2026"));
    let e = refusal(&dir, "date.har", &bad, &none);
    assert_eq!(
        (e.place, e.field.as_deref()),
        (
            Some(Place::Entry(4)),
            Some("log.entries[4].startedDateTime")
        )
    );
    assert!(e.message.contains("ISO 8601"), "{e}");

    let bad = session_with(|h| {
        h["log"]["entries"][2]["response"]["content"]["text"] = json!("not base64!")
    });
    let e = refusal(&dir, "content.har", &bad, &none);
    assert_eq!(
        (e.kind, e.place, e.field.as_deref()),
        (
            ImportErrorKind::Syntax,
            Some(Place::Entry(2)),
            Some("log.entries[2].response.content.text")
        )
    );

    let bad =
        session_with(|h| h["log"]["entries"][0]["request"]["url"] = json!("/inference-profiles"));
    let e = refusal(&dir, "url.har", &bad, &none);
    assert_eq!(e.field.as_deref(), Some("log.entries[0].request.url"));

    let bad = session_with(|h| {
        let entries = h["log"]["entries"].as_array_mut().unwrap();
        entries.retain(|e| e["request"]["url"].as_str().unwrap().contains("statsig"));
    });
    let e = refusal(&dir, "telemetry.har", &bad, &none);
    assert_eq!(e.kind, ImportErrorKind::Nothing);
    assert!(
        e.message.contains("none of its 1 entries") && e.message.contains("statsig.anthropic.com"),
        "{e}"
    );

    let e = refusal(
        &dir,
        "empty-log.har",
        br#"{"log":{"version":"1.2","entries":[]}}"#,
        &none,
    );
    assert_eq!(e.kind, ImportErrorKind::Nothing);

    let e = refusal(&dir, "not-har.json", br#"{"entries":[]}"#, &none);
    assert_eq!(e.kind, ImportErrorKind::Shape);
    assert!(e.message.starts_with("missing field `log`"), "{e}");

    let e = refusal(
        &dir,
        "utf8.har",
        b"{\"log\":{\"entries\":[{\"startedDateTime\":\"\xff\xfe\"}]}}",
        &none,
    );
    assert_eq!(e.kind, ImportErrorKind::Syntax);

    // Forced: a binary body is not a HAR.
    let e = refusal(
        &dir,
        "stream.bin",
        &std::fs::read(golden("bedrock_stream.bin")).unwrap(),
        &ImportOptions::new().format(Format::Har),
    );
    assert_eq!(e.kind, ImportErrorKind::Syntax);
}

#[test]
fn the_proxy_log_masks_form_tokens_and_gateway_keys() {
    let dir = Scratch::new("import-log-masks");
    let har = read_file(&session_har(), &ImportOptions::new()).unwrap();
    let web_identity = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNpIn0.c2lnbmF0dXJlLWJ5dGVz";
    let saml = "PHNhbWxwOlJlc3BvbnNlIElEPSJfMSI%2BPC9zYW1scDpSZXNwb25zZT4%3D";
    let gateway_key = "pk-live-0123456789abcdef";
    let mut exchange = har.exchanges[0].clone();
    exchange.method = "POST".to_owned();
    exchange.path = "/".to_owned();
    exchange.query = format!("Action=AssumeRoleWithSAML&SAMLAssertion={saml}");
    exchange.body = format!(
        "Action=AssumeRoleWithWebIdentity&RoleSessionName=ci&WebIdentityToken={web_identity}&Version=2011-06-15"
    )
    .into_bytes()
    .into();
    for name in ["x-portkey-api-key", "ocp-apim-subscription-key", "api-key"] {
        exchange
            .headers
            .push((name.to_owned(), gateway_key.to_owned()));
    }
    let line = log_line(&exchange);
    for secret in [web_identity, saml, gateway_key] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
    let path = dir.file("masks.log", format!("{line}\n").as_bytes());
    let back = read_file(&path, &ImportOptions::new()).unwrap().exchanges;
    let body = String::from_utf8(back[0].body.to_vec()).unwrap();
    assert!(
        body.starts_with(
            "Action=AssumeRoleWithWebIdentity&RoleSessionName=ci&WebIdentityToken=<redacted "
        ),
        "{body}"
    );
    assert!(body.ends_with(">&Version=2011-06-15"), "{body}");
    assert!(!body.contains(web_identity));
    assert!(
        back[0]
            .query
            .starts_with("Action=AssumeRoleWithSAML&SAMLAssertion=<redacted "),
        "{}",
        back[0].query
    );
    for name in ["x-portkey-api-key", "ocp-apim-subscription-key", "api-key"] {
        let value = back[0].header(name).unwrap();
        assert!(value.starts_with("<redacted "), "{name}: {value}");
    }
    assert_eq!(
        log_line(&back[0]),
        line,
        "masking a masked log changes nothing"
    );
}

#[test]
fn a_bad_log_is_refused_naming_line_and_field() {
    let dir = Scratch::new("import-log-refusals");
    let har = read_file(&session_har(), &ImportOptions::new()).unwrap();
    let good = log_line(&har.exchanges[0]);
    let none = ImportOptions::new();

    let other = good.replacen("{\"v\":1,", "{\"v\":2,", 1);
    let e = refusal(
        &dir,
        "v2.log",
        format!("{good}\n{other}\n").as_bytes(),
        &none,
    );
    assert_eq!(
        (e.kind, e.place, e.field.as_deref()),
        (ImportErrorKind::Version, Some(Place::Line(2)), Some("v"))
    );
    assert!(
        e.message
            .starts_with("log version 2: this bedrock-harness reads version 1"),
        "{e}"
    );

    let wrong = good.replacen("\"status\":200", "\"status\":\"OK\"", 1);
    let e = refusal(
        &dir,
        "status.log",
        format!("{good}\n{wrong}\n{good}\n").as_bytes(),
        &none,
    );
    assert_eq!(
        (e.kind, e.place, e.field.as_deref()),
        (
            ImportErrorKind::Shape,
            Some(Place::Line(2)),
            Some("outcome.status")
        )
    );

    let kind = good.replacen("\"kind\":\"answered\"", "\"kind\":\"answer\"", 1);
    let e = refusal(&dir, "kind.log", format!("{kind}\n").as_bytes(), &none);
    assert_eq!(e.field.as_deref(), Some("outcome.kind"));

    let stream = log_line(&har.exchanges[2]);
    let piece = stream.replacen("\"bytes\":\"AAAB", "\"bytes\":\"*AAB", 1);
    assert_ne!(piece, stream);
    let e = refusal(&dir, "piece.log", format!("{piece}\n").as_bytes(), &none);
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ImportErrorKind::Syntax, Some("outcome.pieces[0].bytes"))
    );

    let bad_body = good.replacen("\"body\":\"\"", "\"body\":\"%%%\"", 1);
    let e = refusal(&dir, "body.log", format!("{bad_body}\n").as_bytes(), &none);
    assert_eq!(
        (e.kind, e.place, e.field.as_deref()),
        (ImportErrorKind::Syntax, Some(Place::Line(1)), Some("body"))
    );

    let negative = good.replacen("\"started_ms\":0.0", "\"started_ms\":-5.0", 1);
    let e = refusal(&dir, "time.log", format!("{negative}\n").as_bytes(), &none);
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ImportErrorKind::Shape, Some("started_ms"))
    );

    let unknown = good.replacen("\"query\"", "\"extra\":1,\"query\"", 1);
    let e = refusal(
        &dir,
        "unknown.log",
        format!("{unknown}\n").as_bytes(),
        &none,
    );
    assert!(e.message.contains("unknown field `extra`"), "{e}");

    // A cut line is refused unless it is the last (a crash's).
    let cut = &good[..good.len() / 2];
    let e = refusal(
        &dir,
        "cut.log",
        format!("{cut}\n{good}\n").as_bytes(),
        &none,
    );
    assert_eq!(
        (e.kind, e.place),
        (ImportErrorKind::Syntax, Some(Place::Line(1)))
    );

    let mut bytes = good.clone().into_bytes();
    let at = good.find("\"GET\"").unwrap() + 1;
    bytes[at] = 0xff;
    bytes.push(b'\n');
    let e = refusal(&dir, "utf8.log", &bytes, &none);
    assert_eq!(
        (e.kind, e.place),
        (ImportErrorKind::Syntax, Some(Place::Line(1)))
    );

    let e = refusal(&dir, "crashed.log", cut.as_bytes(), &none);
    assert_eq!(e.kind, ImportErrorKind::Nothing);
    assert!(e.message.starts_with("no whole line"), "{e}");

    let e = refusal(
        &dir,
        "bare.log",
        b"{\"started_ms\":1}\n",
        &ImportOptions::new().format(Format::Log),
    );
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ImportErrorKind::Shape, Some("v"))
    );
}

#[test]
fn a_bad_event_stream_body_is_refused_naming_byte_or_option() {
    let dir = Scratch::new("import-eventstream-refusals");
    let none = ImportOptions::new();

    let e = refusal(
        &dir,
        "exception.bin",
        &std::fs::read(golden("bedrock_model_stream_error.bin")).unwrap(),
        &none,
    );
    assert_eq!(e.kind, ImportErrorKind::NoModel);
    assert!(e.message.contains("--model"), "{e}");

    let e = refusal(
        &dir,
        "crc.bin",
        &std::fs::read(golden("bad_message_crc.bin")).unwrap(),
        &none.clone().model("m"),
    );
    assert_eq!(
        (e.kind, e.place),
        (ImportErrorKind::Syntax, Some(Place::Byte(0)))
    );
    assert!(e.message.contains("message checksum mismatch"), "{e}");

    let e = refusal(&dir, "text.txt", b"hello, this is not a stream\n", &none);
    assert_eq!(e.kind, ImportErrorKind::Syntax);

    let e = refusal(&dir, "blank.bin", b" \n\n", &none);
    assert_eq!(e.kind, ImportErrorKind::Empty);
    assert!(
        e.to_string()
            .ends_with(": the file is empty: nothing to import"),
        "{e}"
    );

    let missing = dir.0.join("absent.bin");
    let e = read_file(&missing, &none).unwrap_err();
    assert_eq!(e.kind, ImportErrorKind::Unreadable);
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read it", missing.display())),
        "{e}"
    );

    let e = "pcap".parse::<Format>().unwrap_err();
    assert_eq!((e.kind, e.file), (ImportErrorKind::UnknownFormat, None));
}
