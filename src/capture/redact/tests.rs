//! Every kind of secret and text the redactor replaces: each test checks
//! the real value is absent from what is written AND from the report
//! (which may show it masked only).

use bedrock_mock_server::{EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY, EXAMPLE_SECRET_ACCESS_KEY};
use proptest::prelude::*;
use serde_json::Value;

use super::*;

const KEY_ID: &str = "AKIAQWERTYUIOPASWXYZ";
const KEY_ID_2: &str = "ASIAZXCVBNMLKJHGFDSA";
const KEY_ID_3: &str = "AKIA1111222233334444";
const SECRET: &str = "Zx9+realSecretAccessKey/0123456789abcdefg";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDrealtoken==";
const ACCOUNT: &str = "210987654321";
const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const BEARER: &str = "ABSKQmVkcm9ja0FQSUtleS1yZWFsLWtleS0xMjM0NTY3ODk=";

/// `written` (and the report) hold none of `secrets`.
fn assert_absent(redactor: &Redactor, written: &str, secrets: &[&str]) {
    let report = redactor.report().to_string();
    let debug = format!("{redactor:?}");
    for secret in secrets {
        assert!(!written.contains(secret), "{secret} in:\n{written}");
        assert!(
            !report.contains(secret),
            "{secret} in the report:\n{report}"
        );
        assert!(!debug.contains(secret), "{secret} in Debug:\n{debug}");
    }
}

fn str_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("UTF-8 in, UTF-8 out")
}

fn sigv4(key_id: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/20260101/us-east-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={SIGNATURE}"
    )
}

#[test]
fn sigv4_authorization_keeps_its_scope_and_loses_its_signature() {
    let mut r = Redactor::new(false);
    let written = r.header("Authorization", &sigv4(KEY_ID)).unwrap();
    assert_eq!(
        written,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=<redacted>"
    );
    // A signature smuggled after a space, an unknown parameter: gone too.
    let smuggled = format!(
        "AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/bedrock/aws4_request {SIGNATURE}, Other={SIGNATURE}"
    );
    let written2 = r.header("authorization", &smuggled).unwrap();
    assert_absent(&r, &format!("{written}{written2}"), &[SIGNATURE, KEY_ID]);
    let report = r.report().to_string();
    assert!(report.contains("1 signature → <redacted>"), "{report}");
    assert!(
        report.contains("access key AKIA…WXYZ → AKIDEXAMPLE"),
        "{report}"
    );
}

#[test]
fn key_ids_map_stably_first_to_the_example_and_the_others_numbered() {
    let mut r = Redactor::new(false);
    let seen = [
        r.header("authorization", &sigv4(KEY_ID)).unwrap(),
        r.header("authorization", &sigv4(KEY_ID_2)).unwrap(),
        r.text(&format!("X-Amz-Credential={KEY_ID_3}%2F20260101")),
        r.header("authorization", &sigv4(KEY_ID)).unwrap(),
        str_of(r.other_body(format!("<AccessKeyId>{KEY_ID_2}</AccessKeyId>").as_bytes())),
    ];
    let ids: Vec<&str> = seen
        .iter()
        .map(|s| {
            let start = s.find("AKIDEXAMPLE").expect(s);
            let len = s[start..]
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(s.len() - start);
            &s[start..start + len]
        })
        .collect();
    assert_eq!(
        ids,
        [
            EXAMPLE_ACCESS_KEY_ID,
            "AKIDEXAMPLE2",
            "AKIDEXAMPLE3",
            EXAMPLE_ACCESS_KEY_ID,
            "AKIDEXAMPLE2"
        ]
    );
    assert_absent(&r, &seen.concat(), &[KEY_ID, KEY_ID_2, KEY_ID_3]);
    let report = r.report().to_string();
    assert!(
        report.contains("access key ASIA…FDSA → AKIDEXAMPLE2\n"),
        "{report}"
    );
    assert!(
        report.contains("access key AKIA…4444 → AKIDEXAMPLE3\n"),
        "{report}"
    );
}

#[test]
fn secret_headers_are_left_out_or_redacted_and_remembered() {
    let mut r = Redactor::new(false);
    assert_eq!(r.header("x-amz-security-token", TOKEN), None);
    assert_eq!(r.header("X-Api-Key", BEARER), None);
    assert_eq!(r.header("cookie", "session=abcdef0123456789abcdef"), None);
    assert_eq!(r.header("set-cookie", "id=1; HttpOnly"), None);
    assert_eq!(
        r.header("proxy-authorization", "Basic dXNlcjpwYXNzd29yZA==")
            .as_deref(),
        Some("<redacted>")
    );
    assert_eq!(
        r.header("x-amz-sso_bearer_token", "aoaAAAAAGrealssotoken")
            .as_deref(),
        Some("<redacted>")
    );
    assert_eq!(
        r.header("authorization", &format!("Bearer {BEARER}"))
            .as_deref(),
        Some(format!("Bearer {EXAMPLE_API_KEY}").as_str())
    );
    assert_eq!(
        r.header("Authorization", "Basic dXNlcjpwYXNzd29yZA==")
            .as_deref(),
        Some("<redacted>")
    );
    assert_eq!(
        r.header("content-type", "application/json").as_deref(),
        Some("application/json")
    );
    // The token comes back in an error message: replaced there too.
    let echoed = r.text(&format!(
        "The security token included in the request is invalid: {TOKEN}"
    ));
    assert!(echoed.ends_with(SESSION_TOKEN_PLACEHOLDER), "{echoed}");
    assert_absent(
        &r,
        &echoed,
        &[
            TOKEN,
            BEARER,
            "abcdef0123456789abcdef",
            "dXNlcjpwYXNzd29yZA==",
            "realssotoken",
        ],
    );
    let report = r.report().to_string();
    assert!(
        report.contains("1 session token (seen 2 times) → a placeholder"),
        "{report}"
    );
    assert!(
        report.contains("1 API key (seen 2 times) → the mock's example API key"),
        "{report}"
    );
    assert!(report.contains("2 cookie headers → left out"), "{report}");
}

#[test]
fn presigned_queries_and_web_identity_tokens() {
    let mut r = Redactor::new(false);
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY_ID}%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Security-Token={}&X-Amz-Signature={SIGNATURE}",
        TOKEN.replace('/', "%2F").replace('=', "%3D")
    );
    let written = r.text(&query);
    assert_eq!(
        written,
        format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Security-Token={SESSION_TOKEN_PLACEHOLDER}&X-Amz-Signature=<redacted>"
        )
    );
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWFsIn0.c2lnbmF0dXJl";
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2Fr&WebIdentityToken={jwt}&Version=2011-06-15"
    );
    let body = str_of(r.other_body(form.as_bytes()));
    assert_eq!(
        body,
        "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&WebIdentityToken=<redacted>&Version=2011-06-15"
    );
    assert_absent(
        &r,
        &format!("{written}{body}"),
        &[KEY_ID, SIGNATURE, jwt, ACCOUNT, "realtoken"],
    );
}

#[test]
fn sts_answers_lose_their_credentials_and_account() {
    let mut r = Redactor::new(false);
    let assume = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <Arn>arn:aws:sts::{ACCOUNT}:assumed-role/dev/s</Arn>\n      <AssumedRoleId>AROAEXAMPLEROLEID:s</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{KEY_ID_2}</AccessKeyId>\n      <SecretAccessKey>{SECRET}</SecretAccessKey>\n      <SessionToken>{TOKEN}</SessionToken>\n      <Expiration>2026-01-01T00:00:00Z</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n</AssumeRoleResponse>\n"
    );
    let written = str_of(r.other_body(assume.as_bytes()));
    let expected = assume
        .replace(ACCOUNT, "123456789012")
        .replace(KEY_ID_2, EXAMPLE_ACCESS_KEY_ID)
        .replace(SECRET, EXAMPLE_SECRET_ACCESS_KEY)
        .replace(TOKEN, SESSION_TOKEN_PLACEHOLDER);
    assert_eq!(written, expected);
    let identity = format!(
        "<GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/u</Arn><UserId>AIDAEXAMPLE</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
    );
    let identity = str_of(r.other_body(identity.as_bytes()));
    assert!(
        identity.contains("<Account>123456789012</Account>"),
        "{identity}"
    );
    // The secret key comes back, in any body: replaced.
    let echoed = str_of(r.other_body(format!("{{\"message\":\"bad key {SECRET}\"}}").as_bytes()));
    assert_absent(
        &r,
        &format!("{written}{identity}{echoed}"),
        &[ACCOUNT, KEY_ID_2, SECRET, TOKEN],
    );
    let report = r.report().to_string();
    assert!(
        report.contains("account 2109…4321 → 123456789012"),
        "{report}"
    );
    assert!(
        report.contains("1 secret access key (seen 2 times) → the mock's example secret key"),
        "{report}"
    );
}

#[test]
fn json_credentials_sso_tokens_and_accounts() {
    let mut r = Redactor::new(false);
    let process = format!(
        r#"{{"Version": 1, "AccessKeyId": "{KEY_ID}", "SecretAccessKey": "{SECRET}", "SessionToken": "{TOKEN}", "Expiration": "2026-01-01T00:00:00Z"}}"#
    );
    let written = str_of(r.other_body(process.as_bytes()));
    assert_eq!(
        written,
        format!(
            r#"{{"Version": 1, "AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "{EXAMPLE_SECRET_ACCESS_KEY}", "SessionToken": "{SESSION_TOKEN_PLACEHOLDER}", "Expiration": "2026-01-01T00:00:00Z"}}"#
        )
    );
    let oidc = r#"{"accessToken":"aoaAAAAAGrealAccessToken0123","refreshToken":"aorAAAAAGrealRefresh0123","idToken":"eyJreal","clientSecret":"eyJrealsecret","expiresIn":3600}"#;
    let oidc_written = str_of(r.other_body(oidc.as_bytes()));
    assert_eq!(
        oidc_written,
        r#"{"accessToken":"<redacted>","refreshToken":"<redacted>","idToken":"<redacted>","clientSecret":"<redacted>","expiresIn":3600}"#
    );
    let accounts = format!(
        r#"{{"accountList":[{{"accountId":"{ACCOUNT}","accountName":"dev"}},{{"accountId":"333344445555"}}],"account":"{ACCOUNT}"}}"#
    );
    let accounts = str_of(r.other_body(accounts.as_bytes()));
    assert_eq!(
        accounts,
        r#"{"accountList":[{"accountId":"123456789012","accountName":"dev"},{"accountId":"123456789013"}],"account":"123456789012"}"#
    );
    assert_absent(
        &r,
        &format!("{written}{oidc_written}{accounts}"),
        &[
            KEY_ID,
            SECRET,
            TOKEN,
            "realAccessToken",
            "realRefresh",
            "eyJreal",
            ACCOUNT,
            "333344445555",
        ],
    );
}

#[test]
fn tokens_in_a_request_body_are_replaced_even_with_keep_text() {
    let body = r#"{"messages":[],"mcp_servers":[{"type":"url","url":"https://mcp.example.com/sse","name":"ex","authorization_token":"mcp-real-token-0123456789"}]}"#;
    let mut r = Redactor::new(true);
    let written = str_of(r.prompt_body(body.as_bytes()));
    assert_eq!(
        written,
        body.replace("mcp-real-token-0123456789", "<redacted>")
    );
    assert_absent(&r, &written, &["mcp-real-token"]);
    assert_eq!(r.report().to_string(), "1 other secret → <redacted>\n");
}

/// A Messages request with every kind of prompt text, and a few things
/// that are kept.
fn request() -> String {
    serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code.\nBe brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Summarise \"notes.txt\" — please ☕"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "They want a summary.", "signature": "EqoBCkgIARABGAIiQL"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va"},
                {"type": "text", "text": "Reading it."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/home/me/notes.txt", "limit": 20, "flags": ["all", "raw"]}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "secret plans"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": [{"type": "text", "text": "more plans"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}, "title": "Plans.pdf"},
                {"type": "text", "text": "Thanks!", "cache_control": {"type": "ephemeral"}}
            ]}
        ],
        "tools": [{"name": "Read", "description": "Reads a file.", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string", "description": "The text path"}}}}],
        "metadata": {"user_id": "user_abc123_account__session_42"},
        "temperature": 1
    })
    .to_string()
}

/// The texts of [`request`] that are prompt text.
const PROMPT_TEXTS: &[&str] = &[
    "You are Claude Code.\nBe brief.",
    "Summarise \"notes.txt\" — please ☕",
    "They want a summary.",
    "EqoBCkgIARABGAIiQL",
    "EmwKAhgBEgy3va",
    "Reading it.",
    "/home/me/notes.txt",
    "all",
    "raw",
    "secret plans",
    "more plans",
    "iVBORw0KGgo=",
    "JVBERi0xLjQ=",
    "Plans.pdf",
    "Thanks!",
];

/// Every string value of `value`, in document order, with its keys in
/// order.
fn strings_and_keys(value: &Value, strings: &mut Vec<String>, keys: &mut Vec<String>) {
    match value {
        Value::String(s) => strings.push(s.clone()),
        Value::Array(items) => items
            .iter()
            .for_each(|v| strings_and_keys(v, strings, keys)),
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                strings_and_keys(v, strings, keys);
            }
        }
        _ => {}
    }
}

#[test]
fn prompt_text_becomes_same_length_placeholders_and_the_rest_stays() {
    let sent = request();
    let mut r = Redactor::new(false);
    let written = str_of(r.prompt_body(sent.as_bytes()));
    let (before, after): (Value, Value) = (
        serde_json::from_str(&sent).unwrap(),
        serde_json::from_str(&written).expect("still JSON"),
    );
    let (mut s1, mut k1, mut s2, mut k2) = (vec![], vec![], vec![], vec![]);
    strings_and_keys(&before, &mut s1, &mut k1);
    strings_and_keys(&after, &mut s2, &mut k2);
    assert_eq!(k1, k2, "same keys, same order");
    let mut replaced = 0;
    for (old, new) in s1.iter().zip(&s2) {
        if PROMPT_TEXTS.contains(&old.as_str()) {
            assert_eq!(new, &placeholder(old));
            assert_eq!(new.chars().count(), old.chars().count());
            replaced += 1;
        } else {
            assert_eq!(new, old, "kept");
        }
    }
    assert_eq!(replaced, PROMPT_TEXTS.len());
    assert!(
        written.contains(r#""text":"xxxxxxxxxxxxxxxxxxxx\nxxxxxxxxx""#),
        "{written}"
    );
    let prompt_chars: usize = PROMPT_TEXTS.iter().map(|t| t.chars().count()).sum();
    assert_eq!(
        r.report().to_string(),
        format!(
            "prompt text: {} fields, {prompt_chars} characters → placeholders (--keep-text keeps them)\n",
            PROMPT_TEXTS.len()
        )
    );
    assert_absent(
        &r,
        &written,
        &["secret plans", "Summarise", "iVBORw0KGgo=", "Plans.pdf"],
    );
}

#[test]
fn keep_text_keeps_text_byte_for_byte_but_not_secrets() {
    let sent = request();
    let mut r = Redactor::new(true);
    assert_eq!(str_of(r.prompt_body(sent.as_bytes())), sent);
    assert!(r.report().is_empty(), "{}", r.report());
    assert!(
        r.report()
            .to_string()
            .contains("kept as sent (--keep-text)")
    );
    // A tool read the credentials file: the text is kept, the secrets not.
    let leaky = serde_json::json!({
        "model": format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/abc"),
        "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": format!("[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n")}]}]
    })
    .to_string();
    let written = str_of(r.prompt_body(leaky.as_bytes()));
    assert!(
        written.contains("[default]\\naws_access_key_id = AKIDEXAMPLE\\n"),
        "{written}"
    );
    assert!(written.contains(EXAMPLE_SECRET_ACCESS_KEY), "{written}");
    assert!(
        written.contains("application-inference-profile/abc"),
        "{written}"
    );
    assert_absent(&r, &written, &[KEY_ID, SECRET, TOKEN, ACCOUNT]);
    // Headers are the same with and without.
    assert_eq!(r.header("x-amz-security-token", TOKEN), None);
    assert!(
        !r.header("authorization", &sigv4(KEY_ID))
            .unwrap()
            .contains(SIGNATURE)
    );
}

#[test]
fn a_model_arn_in_a_path_or_body_loses_its_account() {
    let mut r = Redactor::new(false);
    let path = r.text(&format!(
        "/model/arn%3aaws%3abedrock%3aus-east-1%3a{ACCOUNT}%3aapplication-inference-profile%2Fabc/invoke-with-response-stream"
    ));
    assert_eq!(
        path,
        "/model/arn%3aaws%3abedrock%3aus-east-1%3a123456789012%3aapplication-inference-profile%2Fabc/invoke-with-response-stream"
    );
    let body = format!(
        r#"{{"model":"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude","messages":[]}}"#
    );
    let written = str_of(r.prompt_body(body.as_bytes()));
    assert_absent(&r, &format!("{path}{written}"), &[ACCOUNT]);
}

#[test]
fn answer_text_becomes_placeholders() {
    let answer = serde_json::json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "Let me think.", "signature": "ErUBCkYIB"},
            {"type": "text", "text": "Here:\n- one", "citations": [{"type": "char_location", "cited_text": "quoted", "document_index": 0}]},
            {"type": "tool_use", "id": "toolu_9", "name": "Bash", "input": {"command": "cat secrets.txt", "timeout": 5}}
        ],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 20}
    })
    .to_string();
    let mut r = Redactor::new(false);
    let written = str_of(r.answer_body(answer.as_bytes()));
    let expected = answer
        .replace("Let me think.", "xxxxxxxxxxxxx")
        .replace("ErUBCkYIB", "xxxxxxxxx")
        .replace("Here:\\n- one", "xxxxx\\nxxxxx")
        .replace("\"quoted\"", "\"xxxxxx\"")
        .replace("cat secrets.txt", "xxxxxxxxxxxxxxx");
    assert_eq!(written, expected);
    assert!(
        r.report()
            .to_string()
            .starts_with("answer text: 5 fields, 54 characters → placeholders"),
        "{}",
        r.report()
    );
    assert_absent(&r, &written, &["Let me", "secrets.txt", "ErUBCkYIB"]);
    // An error answer keeps its message.
    let error = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(str_of(r.answer_body(error.as_bytes())), error);
}

#[test]
fn converse_bodies_lose_their_text_too() {
    let request = serde_json::json!({
        "system": [{"text": "Be terse."}],
        "messages": [
            {"role": "user", "content": [{"text": "hello there"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]},
            {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "pondering", "signature": "sig-opaque"}}},
                {"toolUse": {"toolUseId": "t1", "name": "Read", "input": {"path": "/home/me/secret.txt"}}}
            ]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "file body"}, {"json": {"k": "json value"}}], "status": "success"}}]}
        ],
        "inferenceConfig": {"maxTokens": 100}
    })
    .to_string();
    let mut r = Redactor::new(false);
    let written = str_of(r.prompt_body(request.as_bytes()));
    for kept in ["\"Read\"", "\"t1\"", "\"png\"", "\"success\"", "maxTokens"] {
        assert!(written.contains(kept), "{kept} in {written}");
    }
    let answer = r#"{"output":{"message":{"role":"assistant","content":[{"text":"the answer"}]}},"stopReason":"end_turn"}"#;
    let answer = str_of(r.answer_body(answer.as_bytes()));
    assert_eq!(
        answer,
        r#"{"output":{"message":{"role":"assistant","content":[{"text":"xxxxxxxxxx"}]}},"stopReason":"end_turn"}"#
    );
    assert_absent(
        &r,
        &format!("{written}{answer}"),
        &[
            "Be terse",
            "hello",
            "iVBORw0KGgo=",
            "pondering",
            "sig-opaque",
            "secret.txt",
            "file body",
            "json value",
        ],
    );
}

fn delta(index: u64, kind: &str, field: &str, text: &str) -> String {
    serde_json::json!({"type": "content_block_delta", "index": index, "delta": {"type": kind, field: text}})
        .to_string()
}

#[test]
fn stream_events_lose_their_text_deltas() {
    let mut r = Redactor::new(false);
    let events = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","usage":{"input_tokens":3,"output_tokens":1}}}"#.to_owned(),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#.to_owned(),
        delta(0, "thinking_delta", "thinking", "Hmm, the user"),
        delta(0, "signature_delta", "signature", "EqQBCgIYAhIM1gbcDa"),
        r#"{"type":"content_block_stop","index":0}"#.to_owned(),
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#.to_owned(),
        delta(1, "text_delta", "text", "Hello"),
        delta(1, "text_delta", "text", ", world\n"),
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#.to_owned(),
        r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":9}}"#.to_owned(),
    ];
    let written: Vec<String> = events.iter().map(|e| r.answer_event(7, e)).collect();
    for (i, (sent, out)) in events.iter().zip(&written).enumerate() {
        serde_json::from_str::<Value>(out).expect(out);
        if ![2, 3, 6, 7].contains(&i) {
            assert_eq!(out, sent, "kept as sent");
        }
    }
    assert_eq!(
        written[2],
        delta(0, "thinking_delta", "thinking", "xxxxxxxxxxxxx")
    );
    assert_eq!(
        written[3],
        delta(0, "signature_delta", "signature", "xxxxxxxxxxxxxxxxxx")
    );
    assert_eq!(written[7], delta(1, "text_delta", "text", "xxxxxxx\n"));
    assert_eq!(
        r.report().to_string(),
        "answer text: 3 fields, 44 characters → placeholders (--keep-text keeps them)\n"
    );
    assert_absent(
        &r,
        &written.concat(),
        &["Hello", "world", "Hmm", "EqQBCgIYAhIM1gbcDa"],
    );
}

#[test]
fn partial_json_fragments_join_to_the_same_json_with_the_same_keys() {
    let input = serde_json::json!({
        "command": "grep -rn \"TODO\" src/ | head\n",
        "description": "Find TODOs — ünïcödé 😀",
        "timeout": 120000,
        "options": {"nested": ["a", {"deep": "b\\c"}], "on": true, "off": null}
    })
    .to_string();
    // Cut it into fragments of 1 to 7 characters, two streams interleaved,
    // the cuts falling inside escapes and keys.
    let chars: Vec<char> = input.chars().collect();
    let mut fragments = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let len = (1 + (at * 5 + 3) % 7).min(chars.len() - at);
        fragments.push(chars[at..at + len].iter().collect::<String>());
        at += len;
    }
    let mut r = Redactor::new(false);
    let start = r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}}"#;
    let mut outs = [Vec::new(), Vec::new()];
    for stream in 0..2 {
        r.answer_event(stream, start);
    }
    for fragment in &fragments {
        for (stream, outs) in outs.iter_mut().enumerate() {
            let event = r.answer_event(
                stream,
                &delta(2, "input_json_delta", "partial_json", fragment),
            );
            let event: Value = serde_json::from_str(&event).expect(&event);
            outs.push(event["delta"]["partial_json"].as_str().unwrap().to_owned());
        }
    }
    let sent: Value = serde_json::from_str(&input).unwrap();
    for outs in &outs {
        let joined = outs.concat();
        let value: Value = serde_json::from_str(&joined).expect(&joined);
        let (mut s1, mut k1, mut s2, mut k2) = (vec![], vec![], vec![], vec![]);
        strings_and_keys(&sent, &mut s1, &mut k1);
        strings_and_keys(&value, &mut s2, &mut k2);
        assert_eq!(k1, k2);
        let placeholders: Vec<String> = s1.iter().map(|s| placeholder(s)).collect();
        assert_eq!(s2, placeholders);
        assert_eq!(value["timeout"], 120000);
        assert_eq!(value["options"]["on"], true);
        assert_eq!(outs.len(), fragments.len());
        // Each fragment keeps its length, but for escapes (one `x` each).
        for (sent, written) in fragments.iter().zip(outs) {
            let escapes = sent.matches('\\').count();
            let (s, w) = (sent.chars().count(), written.chars().count());
            assert!(
                w <= s + 1 && w + 2 * escapes + 1 >= s,
                "{sent:?} → {written:?}"
            );
        }
        assert_absent(
            &r,
            &joined,
            &["grep", "TODO", "ünïcödé", "😀", "deep\":\"b"],
        );
    }
}

#[test]
fn a_bedrock_chunk_is_opened_redacted_and_closed() {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let inner = delta(0, "text_delta", "text", "private words");
    let chunk = format!(r#"{{"bytes":"{}","p":"abcdefgh"}}"#, engine.encode(&inner));
    let mut r = Redactor::new(false);
    let written: Value = serde_json::from_str(&r.answer_event(0, &chunk)).unwrap();
    let decoded = engine.decode(written["bytes"].as_str().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        delta(0, "text_delta", "text", "xxxxxxxxxxxxx")
    );
    assert_eq!(written["p"], "abcdefgh");
}

#[test]
fn broken_and_binary_bodies() {
    let mut r = Redactor::new(false);
    // Truncated: the rest after the break is a placeholder whole.
    let truncated = r#"{"messages":[{"role":"user","content":"my private prompt that was cut"#;
    let written = str_of(r.prompt_body(truncated.as_bytes()));
    assert_eq!(written.len(), truncated.len());
    assert!(
        written.starts_with(r#"{"messages":[{"role":"user","content":"#),
        "{written}"
    );
    // Not JSON at all: secrets only.
    let text = format!("Internal error for {KEY_ID}");
    assert_eq!(
        str_of(r.prompt_body(text.as_bytes())),
        "Internal error for AKIDEXAMPLE"
    );
    // Not UTF-8: the invalid bytes kept, the text between redacted.
    let mut binary = vec![0x00, 0xff, 0xfe];
    binary.extend_from_slice(format!("Credential={KEY_ID}/x").as_bytes());
    binary.push(0xc3);
    let out = r.other_body(&binary);
    assert_eq!(out[..3], [0x00, 0xff, 0xfe]);
    assert_eq!(out.last(), Some(&0xc3));
    assert!(!out.windows(KEY_ID.len()).any(|w| w == KEY_ID.as_bytes()));
    assert_absent(&r, &written, &["private", "was cut"]);
}

#[test]
fn nothing_redacted_says_so() {
    let mut r = Redactor::new(false);
    assert_eq!(
        r.header("content-type", "application/json").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        r.text("/model/anthropic.claude-opus-5-5/invoke"),
        "/model/anthropic.claude-opus-5-5/invoke"
    );
    let control = br#"{"modelSummaries":[{"modelId":"anthropic.claude","modelArn":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude"}]}"#;
    assert_eq!(r.other_body(control), control);
    assert!(r.report().is_empty());
    assert_eq!(r.report().to_string(), "nothing redacted\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), text in ".{0,200}") {
        let mut r = Redactor::new(false);
        let _ = r.prompt_body(&bytes);
        let _ = r.answer_body(&bytes);
        let _ = r.other_body(&bytes);
        let _ = r.header("authorization", &text);
        let _ = r.header("x-custom", &text);
        let _ = r.text(&text);
        let _ = r.answer_event(0, &text);
        let _ = r.answer_event(1, &delta(0, "input_json_delta", "partial_json", &text));
        let _ = r.report().to_string();
    }

    #[test]
    fn any_prompt_text_becomes_a_placeholder_of_its_length(text in "\\PC{0,80}") {
        let body = serde_json::json!({"messages": [{"role": "user", "content": text}]}).to_string();
        let mut r = Redactor::new(false);
        let written: Value = serde_json::from_slice(&r.prompt_body(body.as_bytes())).unwrap();
        let content = written["messages"][0]["content"].as_str().unwrap();
        prop_assert_eq!(content.chars().count(), text.chars().count());
        prop_assert!(content.chars().all(|c| c == 'x' || c == '\n'));
    }

    #[test]
    fn truncated_prompt_bodies_never_show_their_text(cut in 0usize..400) {
        let sent = request();
        let cut = (0..=cut.min(sent.len())).rev().find(|&i| sent.is_char_boundary(i)).unwrap();
        let mut r = Redactor::new(false);
        let written = str_of(r.prompt_body(&sent.as_bytes()[..cut]));
        for text in ["Summarise", "You are", "Be brief"] {
            prop_assert!(!written.contains(text), "{} in {}", text, written);
        }
    }
}
