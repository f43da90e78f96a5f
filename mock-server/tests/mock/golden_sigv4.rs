//! The SigV4 verifier against signatures the real Claude Code CLI made
//! (golden captures, `tests/mock/data/golden_signed_requests.jsonl`): every one
//! must verify at the time it was signed, and any change to a signed part
//! must break it.

use std::time::{Duration, UNIX_EPOCH};

use bedrock_mock_server::{ApplicationProfile, Clock, MockBedrock, ServerConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Captured {
    source: String,
    time: f64,
    method: String,
    raw_path: String,
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
}

fn captures() -> Vec<Captured> {
    include_str!("data/golden_signed_requests.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn server_at(time: f64) -> MockBedrock {
    MockBedrock::builder()
        .config(
            ServerConfig::default().application_profile(ApplicationProfile::new(
                "abc123",
                "us.anthropic.claude-opus-4-6-v1",
            )),
        )
        .clock(Clock::fixed(UNIX_EPOCH + Duration::from_secs_f64(time)))
        .start()
        .await
        .unwrap()
}

async fn replay(
    server: &MockBedrock,
    c: &Captured,
    body: &str,
    path: &str,
) -> crate::common::RawResponse {
    let headers = crate::common::as_pairs(&c.headers);
    crate::common::send(server.address(), &c.method, path, &headers, body.as_bytes()).await
}

#[tokio::test]
async fn every_captured_cli_signature_verifies() {
    for c in captures() {
        let server = server_at(c.time).await;
        let response = replay(&server, &c, &c.body, &c.raw_path).await;
        let recorded = server.received_requests();
        assert_eq!(
            (response.status, recorded[0].auth.accepted),
            (c.status, true),
            "{} {}: {:?} {}",
            c.source,
            c.raw_path,
            recorded[0].auth.reason,
            String::from_utf8_lossy(&response.body)
        );
    }
}

#[tokio::test]
async fn a_changed_body_or_path_breaks_the_signature() {
    let all = captures();
    let probe = all.iter().find(|c| c.method == "POST").unwrap();
    let server = server_at(probe.time).await;
    let tampered = probe
        .body
        .replacen("\"max_tokens\":1", "\"max_tokens\":2", 1);
    assert_ne!(tampered, probe.body);
    let response = replay(&server, probe, &tampered, &probe.raw_path).await;
    assert_eq!(response.status, 403);
    assert_eq!(
        response
            .header("x-amzn-errortype")
            .unwrap()
            .split(':')
            .next(),
        Some("InvalidSignatureException")
    );
    // `:` and `%3A` are the same id to the router but not to SigV4.
    let encoded_path = probe.raw_path.replace(':', "%3A");
    let response = replay(&server, probe, &probe.body, &encoded_path).await;
    assert_eq!(response.status, 403, "{encoded_path}");
}

#[tokio::test]
async fn a_capture_replayed_six_minutes_later_has_expired() {
    let probe = captures().into_iter().find(|c| c.method == "POST").unwrap();
    let server = server_at(probe.time + 360.0).await;
    let response = replay(&server, &probe, &probe.body, &probe.raw_path).await;
    assert_eq!(response.status, 403);
    let message = response.json()["message"].as_str().unwrap().to_owned();
    assert_eq!(
        message,
        "Signature expired: 20261125T162401Z is now earlier than 20261125T162501Z (20261125T163001Z - 5 min.)"
    );
}
