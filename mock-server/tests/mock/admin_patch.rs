//! `PATCH /__bedrock_mock/config` over real sockets: part of the account
//! changed while a server runs, everything else it holds kept, and every
//! refused patch answered in JSON with the config left as it was.

use std::time::SystemTime;

use crate::common::{RawResponse, example_credentials, send};
use crate::server::signed;
use aws_sdk_bedrockruntime::config::Credentials;
use bedrock_mock_server::{ADMIN_PREFIX, AuthMode, Credential, MockBedrock, ServerConfig};
use serde_json::{Value, json};

const PROBE: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
const HAIKU: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";

fn invoke() -> String {
    format!("/model/us.{HAIKU}/invoke")
}

async fn admin(
    server: &MockBedrock,
    method: &str,
    call: &str,
    body: Option<&Value>,
) -> RawResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("content-type", "application/json")]
    };
    send(
        server.address(),
        method,
        &format!("{ADMIN_PREFIX}{call}"),
        headers,
        body.as_bytes(),
    )
    .await
}

/// `PATCH /config` with `body` as `content_type`.
async fn patch(server: &MockBedrock, content_type: &str, body: &str) -> RawResponse {
    send(
        server.address(),
        "PATCH",
        &format!("{ADMIN_PREFIX}config"),
        &[("content-type", content_type)],
        body.as_bytes(),
    )
    .await
}

async fn invoke_as(server: &MockBedrock, credentials: Credentials) -> u16 {
    signed(
        server,
        "POST",
        &invoke(),
        PROBE,
        credentials,
        SystemTime::now(),
    )
    .await
    .status
}

fn key(id: &str, secret: &str) -> Credentials {
    Credentials::new(id, secret, None, None, "test")
}

#[tokio::test]
async fn a_json_patch_adds_a_credential_and_keeps_the_journal_rules_and_issued_keys() {
    let config =
        ServerConfig::default().next_credential(Credential::new("AKIDQUEUED", "queued-secret"));
    let server = MockBedrock::start_with(config).await;
    let rule = json!({"when": {"operation": "InvokeModel"},
                      "answer": {"error": {"code": "ThrottlingException"}}, "times": 1});
    assert_eq!(
        admin(&server, "POST", "rules", Some(&rule)).await.status,
        201
    );
    assert_eq!(
        admin(&server, "POST", "credentials/next", None)
            .await
            .status,
        200
    );
    assert_eq!(
        invoke_as(&server, example_credentials()).await,
        429,
        "the rule answers"
    );
    assert_eq!(
        invoke_as(&server, key("AKIDADDED", "added-secret")).await,
        403
    );

    let added = patch(
        &server,
        "application/json-patch+json",
        r#"[{"op":"add","path":"/credentials/-",
             "value":{"access_key_id":"AKIDADDED","secret_access_key":"added-secret"}}]"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text());
    let account = added.json();
    let ids: Vec<&str> = account["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["access_key_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["AKIDEXAMPLE", "AKIDADDED", "AKIDQUEUED"],
        "the issued key is kept"
    );

    assert_eq!(
        invoke_as(&server, key("AKIDADDED", "added-secret")).await,
        200
    );
    assert_eq!(
        invoke_as(&server, key("AKIDQUEUED", "queued-secret")).await,
        200
    );
    assert_eq!(server.received_requests().len(), 4, "the journal is kept");
    let report = admin(&server, "GET", "credentials", None).await.json();
    assert_eq!(report["issued"], 1, "the queue keeps its place: {report}");
    // The rule answered once before the patch (`times: 1`); a remounted
    // copy would answer again.
    assert_eq!(invoke_as(&server, example_credentials()).await, 200);
}

#[tokio::test]
async fn one_model_changes_by_id_with_a_merge_patch_or_by_test_and_replace() {
    let server = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    let call = |server: &MockBedrock| {
        let address = server.address();
        async move { send(address, "POST", &invoke(), &[], PROBE.as_bytes()).await }
    };
    assert_eq!(call(&server).await.status, 200);

    let merge = format!(r#"{{"model_state":{{"{HAIKU}":"not_enabled"}}}}"#);
    let r = patch(&server, "application/merge-patch+json", &merge).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        call(&server).await.bedrock_error().1,
        "AccessDeniedException"
    );
    // Plain JSON is a merge patch too; `null` removes the entry.
    let back = format!(r#"{{"model_state":{{"{HAIKU}":null}}}}"#);
    assert_eq!(patch(&server, "application/json", &back).await.status, 200);
    assert_eq!(call(&server).await.status, 200);

    // In `models` (an array) a model is found by its id first: `test`
    // fails the patch if the index holds another model.
    let account = admin(&server, "GET", "config", None).await;
    assert_eq!(
        account.header("accept-patch"),
        Some("application/merge-patch+json, application/json-patch+json")
    );
    let models = account.json()["models"].as_array().unwrap().clone();
    let at = models.iter().position(|m| m["id"] == HAIKU).unwrap();
    let wrong = format!(
        r#"[{{"op":"test","path":"/models/{}/id","value":"{HAIKU}"}},
            {{"op":"replace","path":"/models/{}/state","value":"not_found"}}]"#,
        at + 1,
        at + 1
    );
    let r = patch(&server, "application/json-patch+json", &wrong).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"], "test_failed");
    let right = wrong.replace(&format!("/{}/", at + 1), &format!("/{at}/"));
    assert_eq!(
        patch(&server, "application/json-patch+json", &right)
            .await
            .status,
        200
    );
    let refused = call(&server).await;
    assert_eq!(refused.status, 404, "{}", refused.text());
}

#[tokio::test]
async fn a_refused_patch_says_why_in_json_and_changes_nothing() {
    let server = MockBedrock::start().await;
    let before = admin(&server, "GET", "config", None).await.json();
    let cases: [(&str, &str, u16, Value); 8] = [
        (
            "application/json-patch+json",
            "[{\"op\":",
            400,
            json!({"error": "malformed_patch"}),
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"append","path":"/regions/-","value":"eu-west-1"}]"#,
            400,
            json!({"error": "malformed_patch", "operation": 0}),
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"add","path":"regions","value":[]}]"#,
            400,
            json!({"error": "bad_pointer", "operation": 0}),
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"add","path":"/regions/-","value":"eu-west-1"},
                {"op":"test","path":"/regions/0","value":"eu-west-1"}]"#,
            409,
            json!({"error": "test_failed", "operation": 1}),
        ),
        (
            "application/json-patch+json",
            r#"[{"op":"remove","path":"/credentials/7"}]"#,
            409,
            json!({"error": "no_such_path", "operation": 0}),
        ),
        (
            "application/merge-patch+json",
            r#"{"credentials":[{"access_key_id":"","secret_access_key":"x"}]}"#,
            422,
            json!({"error": "invalid_config", "field": "credentials[0].access_key_id"}),
        ),
        (
            "application/merge-patch+json",
            r#"{"regoins":["eu-west-1"]}"#,
            422,
            json!({"error": "invalid_config", "field": "regoins"}),
        ),
        (
            "application/merge-patch+json",
            r#"{"rules":[{"answer":{"error":{"code":"ThrottlingException"}}}]}"#,
            422,
            json!({"error": "not_patchable", "field": "rules"}),
        ),
    ];
    for (content_type, body, status, expected) in cases {
        let r = patch(&server, content_type, body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let answer = r.json();
        for (name, value) in expected.as_object().unwrap() {
            assert_eq!(&answer[name], value, "{body}: {answer}");
        }
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    let wrong_type = patch(&server, "text/plain", "{}").await;
    assert_eq!(wrong_type.status, 415);
    assert!(wrong_type.text().contains("application/merge-patch+json"));
    assert_eq!(admin(&server, "GET", "config", None).await.json(), before);
}

#[tokio::test]
async fn a_patch_keeps_the_config_s_rules_as_they_were_built_predicates_included() {
    use bedrock_mock_server::{Answer, ErrorCode, Match, Rule};
    // A predicate is not JSON: read back from the patched document, the
    // rule would lose it.
    let rule = Rule::new(
        Match::any().custom("never", |_| false),
        Answer::error(ErrorCode::ThrottlingException),
    );
    let server = MockBedrock::start_with(ServerConfig::default().rule(rule.clone())).await;
    let answer = patch(
        &server,
        "application/merge-patch+json",
        r#"{"regions":["us-east-1","eu-west-1"]}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let config = server.config();
    assert_eq!(config.regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(config.rules, [rule]);
}
