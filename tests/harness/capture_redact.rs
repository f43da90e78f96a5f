//! Redaction of real traffic: a session with the mock (an STS web identity
//! exchange, a streamed InvokeModel, a Mantle stream, a whole answer), its
//! requests and answers as a capture holds them, each passed through one
//! `Redactor` as the writer does. Nothing secret, nothing of the prompt
//! or the answer, may be left in what is written or in the report.

use base64::Engine as _;
use bedrock_eventstream::Decoder;
use bedrock_harness::capture::redact::Redactor;
use bedrock_mock_server::{MockBedrock, Reply, ServerConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ACCOUNT: &str = "210987654321";
const API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1jdXN0b21lci1yZWFsLWtleS0wMDE=";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm93bmVyL3JlYWwifQ.c2lnbmF0dXJlLXJlYWw";
const PROMPT: &str = "Summarise /home/alice/payroll.csv for me";
const COMMAND: &str = "grep -c \"alice\" /home/alice/payroll.csv";
const STREAM: &str =
    "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream";
const INVOKE: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";

struct Answer {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Sends one request as given and reads the whole answer (de-chunked).
async fn send(mock: &MockBedrock, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut request = format!("POST {path} HTTP/1.1\r\nhost: {}\r\n", mock.address());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut socket = TcpStream::connect(mock.address()).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{path}: {head}\n{}",
        String::from_utf8_lossy(&raw[split..])
    );
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    if !chunked {
        return Answer {
            headers,
            body: rest.to_vec(),
        };
    }
    let mut body = Vec::new();
    loop {
        let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        if size == 0 {
            return Answer { headers, body };
        }
        body.extend_from_slice(&rest[line + 2..line + 2 + size]);
        rest = &rest[line + 4 + size..];
    }
}

/// Between `<tag>` and `</tag>`.
fn element<'x>(xml: &'x str, tag: &str) -> &'x str {
    let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>")).unwrap();
    &xml[start..start + len]
}

/// Every string value of `value` longer than 4 characters (shorter ones
/// may be found anywhere).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.chars().count() > 4 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The answer text of stream events: text, thinking and tool inputs.
fn answer_texts(events: &[Value], out: &mut Vec<String>) {
    let mut inputs = String::new();
    for event in events {
        let delta = &event["delta"];
        for field in ["text", "thinking"] {
            if let Some(text) = delta[field].as_str().filter(|t| t.chars().count() > 4) {
                out.push(text.to_owned());
            }
        }
        inputs.push_str(delta["partial_json"].as_str().unwrap_or_default());
    }
    if !inputs.is_empty() {
        strings(&serde_json::from_str(&inputs).unwrap(), out);
    }
}

fn request_body(stream: Option<&str>) -> String {
    let mut body = json!({
        "max_tokens": 1000,
        "system": "You are the payroll assistant of Example Corp.",
        "messages": [{"role": "user", "content": PROMPT}]
    });
    match stream {
        Some(model) => {
            body["model"] = json!(model);
            body["stream"] = json!(true);
        }
        None => body["anthropic_version"] = json!("bedrock-2023-05-31"),
    }
    body.to_string()
}

#[tokio::test]
async fn a_session_with_the_mock_leaves_nothing_to_find() {
    let reply: Reply = serde_json::from_value(json!({"content": [
        {"type": "text", "text": "The payroll totals 1,234,567 dollars.\nAlice earns most."},
        {"type": "tool_use", "name": "Bash", "input": {"command": COMMAND, "timeout": 5}}
    ]}))
    .unwrap();
    let mut config = ServerConfig::default().api_key(API_KEY).reply(reply);
    config.account_id = ACCOUNT.to_owned();
    let mock = MockBedrock::start_with(config).await;
    let mut r = Redactor::new(false);
    let mut written = Vec::<String>::new();
    let mut secrets: Vec<String> = vec![API_KEY.into(), JWT.into(), ACCOUNT.into(), PROMPT.into()];

    // STS: a web identity token for credentials.
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2Fbedrock-user&RoleSessionName=gha&WebIdentityToken={JWT}"
    );
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let sts = send(&mock, "/", &[form_type], form.as_bytes()).await;
    let xml = String::from_utf8(sts.body.clone()).unwrap();
    for tag in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        secrets.push(element(&xml, tag).to_owned());
    }
    written.push(String::from_utf8(r.other_body(form.as_bytes())).unwrap());
    written.push(String::from_utf8(r.other_body(&sts.body)).unwrap());
    written.extend(sts.headers.iter().filter_map(|(n, v)| r.header(n, v)));

    // A streamed InvokeModel with the API key: frames, each chunk's event.
    let bearer = format!("Bearer {API_KEY}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    written.extend(headers.iter().filter_map(|(n, v)| r.header(n, v)));
    written.push(r.text(STREAM));
    let sent = request_body(None);
    written.push(String::from_utf8(r.prompt_body(sent.as_bytes())).unwrap());
    let answer = send(&mock, STREAM, &headers, sent.as_bytes()).await;
    let mut decoder = Decoder::new();
    let mut input = answer.body.as_slice();
    let (mut sent_events, mut written_events) = (Vec::new(), Vec::new());
    let engine = base64::engine::general_purpose::STANDARD;
    while let Some(frame) = decoder.decode(&mut input).unwrap() {
        let payload = std::str::from_utf8(frame.payload()).unwrap().to_owned();
        let chunk: Value = serde_json::from_str(&payload).unwrap();
        let inner = engine.decode(chunk["bytes"].as_str().unwrap()).unwrap();
        sent_events.push(serde_json::from_slice::<Value>(&inner).unwrap());
        let out: Value = serde_json::from_str(&r.answer_event(0, &payload)).unwrap();
        let inner = engine.decode(out["bytes"].as_str().unwrap()).unwrap();
        written_events.push(serde_json::from_slice::<Value>(&inner).unwrap());
    }
    assert!(sent_events.len() > 5, "{sent_events:?}");
    answer_texts(&sent_events, &mut secrets);
    // The tool input, in fragments, still joins to JSON with its keys.
    let joined: String = written_events
        .iter()
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    let input: Value = serde_json::from_str(&joined).expect(&joined);
    let command = "x".repeat(COMMAND.chars().count());
    assert_eq!(input, json!({"command": command, "timeout": 5}));
    written.extend(written_events.iter().map(Value::to_string));

    // Mantle: the same key in x-api-key, Server-Sent Events.
    let headers = [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
        ("x-api-key", API_KEY),
    ];
    assert!(r.header("x-api-key", API_KEY).is_none());
    let sent = request_body(Some("anthropic.claude-haiku-4-5"));
    written.push(String::from_utf8(r.prompt_body(sent.as_bytes())).unwrap());
    let answer = send(&mock, "/anthropic/v1/messages", &headers, sent.as_bytes()).await;
    let text = String::from_utf8(answer.body).unwrap();
    let datas: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert!(datas.len() > 5, "{text}");
    let events: Vec<Value> = datas
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    answer_texts(&events, &mut secrets);
    written.extend(datas.iter().map(|d| r.answer_event(1, d)));

    // A whole answer.
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let answer = send(&mock, INVOKE, &headers, request_body(None).as_bytes()).await;
    let message: Value = serde_json::from_slice(&answer.body).unwrap();
    for block in message["content"].as_array().unwrap() {
        strings(&block["text"], &mut secrets);
        strings(&block["input"], &mut secrets);
    }
    let whole = String::from_utf8(r.answer_body(&answer.body)).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&whole).unwrap()["content"][1]["name"],
        "Bash",
        "{whole}"
    );
    written.push(whole);

    let all = written.join("\n");
    let report = r.report().to_string();
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "{secret} written:\n{all}");
        assert!(
            !report.contains(secret.as_str()),
            "{secret} in the report:\n{report}"
        );
    }
    for line in [
        "1 secret access key → the mock's example secret key",
        "1 session token → a placeholder",
        "1 API key (seen 2 times) → the mock's example API key",
        "1 web identity token → <redacted>",
        "access key ASIA…",
        "account 2109…4321 → 123456789012",
        "prompt text: 4 fields",
        "answer text: ",
    ] {
        assert!(report.contains(line), "{line} not in:\n{report}");
    }
}
