//! What a recording tells of the client that made it: how it
//! authenticated, its region, which endpoints it used, its models, its
//! version, and the headers it sent from its settings. The scenario's
//! `[client]` is written from these, so the replay's client asks what the
//! recorded one asked.

use std::collections::BTreeSet;

use bedrock_mock_server::{Identified, Operation};

use super::exchange::Exchange;
use super::redact::Redactor;

/// The client side of a recording.
#[derive(Debug, Default, PartialEq)]
pub struct ClientSide {
    /// The scenario's `credentials` shorthand: `keys`, `api-key` or `none`.
    pub credentials: &'static str,
    /// `[client.env]`, in order.
    pub env: Vec<(String, String)>,
    /// The prompt of the first turn, redacted unless text is kept.
    pub prompt: Option<String>,
    /// What was inferred and how, as comments for the file.
    pub notes: Vec<String>,
}

/// Request headers every Claude client sends on its own (the SDKs', the
/// CLI's, SigV4's, HTTP's): any other came from the user's settings
/// (`ANTHROPIC_CUSTOM_HEADERS`).
const CLIENT_OWN_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "anthropic-version",
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "host",
    "sec-fetch-mode",
    "transfer-encoding",
    "user-agent",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-user-agent",
    "x-amzn-bedrock-accept",
    "x-amzn-bedrock-trace",
    "x-amzn-trace-id",
    "x-api-key",
    "x-app",
    "x-claude-code-session-id",
    "x-client-request-id",
    "content-encoding",
    "expect",
];

/// Infers the client side from the requests (each with what it was taken
/// to ask), redacting what it writes.
pub fn infer(requests: &[(&Exchange, Option<&Identified>)], redactor: &mut Redactor) -> ClientSide {
    let mut side = ClientSide {
        credentials: credentials(requests),
        ..ClientSide::default()
    };
    endpoints(requests, &mut side);
    region(requests, &mut side);
    model(requests, redactor, &mut side);
    version(requests, &mut side);
    custom_headers(requests, redactor, &mut side);
    side.prompt = prompt(requests, redactor);
    side
}

fn credentials(requests: &[(&Exchange, Option<&Identified>)]) -> &'static str {
    let schemes: BTreeSet<&str> = requests
        .iter()
        .filter_map(|(e, _)| e.header("authorization"))
        .filter_map(|a| a.split_whitespace().next())
        .collect();
    if schemes.contains("Bearer") {
        "api-key"
    } else if schemes.contains("AWS4-HMAC-SHA256") {
        "keys"
    } else {
        "none"
    }
}

fn endpoints(requests: &[(&Exchange, Option<&Identified>)], side: &mut ClientSide) {
    let operations: Vec<Operation> = requests
        .iter()
        .filter_map(|(_, i)| Some(i.as_ref()?.operation))
        .collect();
    let mantle = operations.iter().any(|o| {
        matches!(
            o,
            Operation::MantleMessages | Operation::MantleMessagesStream
        )
    });
    let bedrock = operations.iter().any(|o| {
        matches!(
            o,
            Operation::InvokeModel
                | Operation::InvokeModelWithResponseStream
                | Operation::ListInferenceProfiles
                | Operation::GetInferenceProfile
        )
    });
    if bedrock || !mantle {
        side.env
            .push(("CLAUDE_CODE_USE_BEDROCK".into(), "1".into()));
    }
    if mantle {
        side.env.push(("CLAUDE_CODE_USE_MANTLE".into(), "1".into()));
    }
}

/// The region of the first SigV4 signature (its scope), else of the
/// first AWS host name; us-east-1 with a note when neither says.
fn region(requests: &[(&Exchange, Option<&Identified>)], side: &mut ClientSide) {
    let from_scope = requests.iter().find_map(|(e, _)| {
        let credential = e.header("authorization")?.split("Credential=").nth(1)?;
        credential.split('/').nth(2).map(str::to_owned)
    });
    let from_host = || {
        requests.iter().find_map(|(e, _)| {
            let host = e.header("host")?;
            let mut labels = host.split('.');
            let service = labels.next()?;
            let region = labels.next()?;
            (service.starts_with("bedrock") || service == "sts").then(|| region.to_owned())
        })
    };
    let region = from_scope.or_else(from_host).unwrap_or_else(|| {
        side.notes.push(
            "No request said its region (no SigV4 scope, no AWS host); us-east-1 is assumed."
                .into(),
        );
        "us-east-1".into()
    });
    side.env.push(("AWS_REGION".into(), region));
}

/// The model of the first turn: the first streamed request's (else the
/// first non-probe invocation's), as `ANTHROPIC_MODEL`.
fn model(
    requests: &[(&Exchange, Option<&Identified>)],
    redactor: &mut Redactor,
    side: &mut ClientSide,
) {
    let streamed = |o: Operation| {
        matches!(
            o,
            Operation::InvokeModelWithResponseStream | Operation::MantleMessagesStream
        )
    };
    let model = requests
        .iter()
        .filter_map(|(_, i)| i.as_ref())
        .find(|i| streamed(i.operation))
        .and_then(|i| i.model.as_deref())
        .map(|model| redactor.text(model));
    if let Some(model) = model {
        side.notes.push(format!(
            "ANTHROPIC_MODEL is the first turn's model ({model}); drop it if the client chose it by default."
        ));
        side.env.push(("ANTHROPIC_MODEL".into(), model));
    }
}

/// The Claude Code version in the user agent (`claude-cli/2.1.328 …`):
/// bedrock-client behaves as it when it knows it.
fn version(requests: &[(&Exchange, Option<&Identified>)], side: &mut ClientSide) {
    let version = requests.iter().find_map(|(e, _)| {
        let agent = e.header("user-agent")?;
        let rest = agent.split("claude-cli/").nth(1)?;
        Some(rest.split([' ', '(']).next()?.to_owned())
    });
    let Some(version) = version else {
        return;
    };
    let known = bedrock_client::profile::BUILT_IN
        .iter()
        .any(|(v, _)| *v == version);
    if known {
        side.env
            .push(("BEDROCK_CLIENT_CLI_VERSION".into(), version.clone()));
        side.notes.push(format!(
            "Recorded from Claude Code {version}: replay with the real CLI by `run --client claude-code@{version}`."
        ));
    } else {
        side.notes.push(format!(
            "Recorded from Claude Code {version}, a version bedrock-client does not imitate: it replays as its newest."
        ));
    }
}

/// Headers no client sends on its own, so they came from the user's
/// settings: `ANTHROPIC_CUSTOM_HEADERS`, the names kept and every value
/// withheld (a gateway's key is one; which is cannot be told), on the
/// first Bedrock or Mantle request.
fn custom_headers(
    requests: &[(&Exchange, Option<&Identified>)],
    redactor: &mut Redactor,
    side: &mut ClientSide,
) {
    let Some((first, _)) = requests.iter().find(|(_, i)| {
        i.as_ref()
            .is_some_and(|i| !i.operation.serves_credentials())
    }) else {
        return;
    };
    let names: Vec<&str> = first
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !CLIENT_OWN_HEADERS.contains(name) && !name.starts_with("x-stainless-"))
        .collect();
    if names.is_empty() {
        return;
    }
    for (name, value) in first
        .headers
        .iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
    {
        // Counted in the report like every header.
        let _ = redactor.header(name, value);
    }
    side.notes.push(format!(
        "ANTHROPIC_CUSTOM_HEADERS: the values of {} were withheld; put the customer's in if the case needs them.",
        names.join(", ")
    ));
    let lines: Vec<String> = names
        .iter()
        .map(|name| format!("{name}: <redacted>"))
        .collect();
    side.env
        .push(("ANTHROPIC_CUSTOM_HEADERS".into(), lines.join("\n")));
}

/// The first turn's prompt: the last text of the last user message of the
/// first streamed (else any Messages) request, redacted.
fn prompt(
    requests: &[(&Exchange, Option<&Identified>)],
    redactor: &mut Redactor,
) -> Option<String> {
    let (exchange, _) = requests.iter().find(|(_, i)| {
        i.as_ref().is_some_and(|i| {
            matches!(
                i.operation,
                Operation::InvokeModelWithResponseStream | Operation::MantleMessagesStream
            )
        })
    })?;
    let body: serde_json::Value =
        serde_json::from_slice(&redactor.prompt_body(&exchange.body)).ok()?;
    let last_user = body
        .get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(|r| r.as_str()) == Some("user"))?;
    match last_user.get("content")? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(blocks) => blocks
            .iter()
            .rev()
            .find_map(|b| b.get("text")?.as_str().map(str::to_owned)),
        _ => None,
    }
}
