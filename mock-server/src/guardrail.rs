//! Guardrails: a model request that names one of the account's guardrails
//! (`X-Amzn-Bedrock-GuardrailIdentifier`, `X-Amzn-Bedrock-GuardrailVersion`)
//! is judged over its whole conversation, every message, so a blocked word
//! in an earlier turn blocks every later one that sends it back, and then
//! over the model's answer. When it intervenes, the answer is the
//! guardrail's message for the input or the output, marked
//! `"amazon-bedrock-guardrailAction": "INTERVENED"`. A rule's reply is the
//! test's own answer and is not judged.

use serde_json::Value;

use crate::config::{Guardrail, ServerConfig};
use crate::errors::AwsError;
use crate::reply::{Reply, ReplyBlock};

/// The field Bedrock adds to an answer a guardrail judged.
pub(crate) const ACTION_FIELD: &str = "amazon-bedrock-guardrailAction";

/// What the guardrail a request names made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No guardrail named (or the account models none).
    NotNamed,
    /// The guardrail let it through: the answer says `NONE`.
    Passed,
    /// It intervened: the answer is this message, marked `INTERVENED`.
    Intervened(String),
}

impl Verdict {
    /// The value of [`ACTION_FIELD`] in the answer, if it has one.
    pub(crate) fn action(&self) -> Option<&'static str> {
        match self {
            Verdict::NotNamed => None,
            Verdict::Passed => Some("NONE"),
            Verdict::Intervened(_) => Some("INTERVENED"),
        }
    }
}

/// Judges `body`, then the model's `answer`, by the guardrail the
/// request's headers name, if any.
pub(crate) fn judge(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    region: &str,
    body: &Value,
    answer: &Reply,
) -> Result<Verdict, AwsError> {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    // An account without guardrails ignores the headers, as before they
    // existed here (`guardrail-headers`).
    let Some(identifier) =
        header("x-amzn-bedrock-guardrailidentifier").filter(|_| !config.guardrails.is_empty())
    else {
        return Ok(Verdict::NotNamed);
    };
    let version = header("x-amzn-bedrock-guardrailversion").unwrap_or_default();
    let guardrail = named(config, &identifier, region)
        .filter(|g| g.version == version)
        .ok_or_else(invalid_identifier)?;
    let blocks = |text: String| {
        let text = text.to_lowercase();
        guardrail
            .blocked
            .iter()
            .any(|word| text.contains(&word.to_lowercase()))
    };
    Ok(if blocks(conversation_text(body)) {
        Verdict::Intervened(guardrail.blocked_input_message.clone())
    } else if blocks(answer_text(answer)) {
        Verdict::Intervened(guardrail.blocked_output_message.clone())
    } else {
        Verdict::Passed
    })
}

/// The text the model would write: its text, thinking and tool inputs (an
/// echo repeats the conversation, judged already), as scripted, before
/// `max_tokens` cuts it.
fn answer_text(answer: &Reply) -> String {
    answer
        .content
        .iter()
        .map(|block| match block {
            ReplyBlock::Text { text } => text.clone(),
            ReplyBlock::Thinking { thinking } => thinking.clone(),
            ReplyBlock::ToolUse { input, .. } => input.to_string(),
            ReplyBlock::Echo => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The guardrail `identifier` names: its id, or its ARN in `region`.
fn named<'c>(config: &'c ServerConfig, identifier: &str, region: &str) -> Option<&'c Guardrail> {
    let arn_prefix = format!("arn:aws:bedrock:{region}:{}:guardrail/", config.account_id);
    let id = identifier.strip_prefix(&arn_prefix).unwrap_or(identifier);
    config.guardrails.iter().find(|g| g.id == id)
}

/// Bedrock's refusal of a guardrail it does not have (openclaw/openclaw#58588
/// records it for an invalid id). No capture of a wrong version exists: it
/// is refused the same way.
fn invalid_identifier() -> AwsError {
    AwsError::validation("The provided guardrail identifier is invalid.")
}

/// Every text of every message: string contents, text blocks, and the
/// text inside tool results.
fn conversation_text(body: &Value) -> String {
    fn texts(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
            Value::Object(map) => {
                for key in ["text", "content"] {
                    if let Some(v) = map.get(key) {
                        texts(v, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(messages) = body.get("messages") {
        texts(messages, &mut out);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> ServerConfig {
        ServerConfig::default().guardrail(Guardrail {
            id: "gr1abc".to_owned(),
            version: "1".to_owned(),
            blocked: vec!["Project Falcon".to_owned()],
            blocked_input_message: "Blocked by policy.".to_owned(),
            blocked_output_message: "Answer withheld.".to_owned(),
        })
    }

    fn judge_hi(
        config: &ServerConfig,
        headers: &http::HeaderMap,
        body: &Value,
    ) -> Result<Verdict, AwsError> {
        judge(config, headers, "us-east-1", body, &Reply::text("hi"))
    }

    fn headers(id: &str, version: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("x-amzn-bedrock-guardrailidentifier", id.parse().unwrap());
        h.insert("x-amzn-bedrock-guardrailversion", version.parse().unwrap());
        h
    }

    #[test]
    fn judges_every_message_of_the_conversation() {
        let config = config();
        let second_turn = json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "tell me about project falcon"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Blocked by policy."}]},
            {"role": "user", "content": "and now something else"},
        ]});
        let arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1abc";
        for id in ["gr1abc", arn] {
            assert_eq!(
                judge_hi(&config, &headers(id, "1"), &second_turn),
                Ok(Verdict::Intervened("Blocked by policy.".to_owned()))
            );
        }
        let clean = json!({"messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(
            judge_hi(&config, &headers("gr1abc", "1"), &clean),
            Ok(Verdict::Passed)
        );
        assert_eq!(
            judge_hi(&config, &http::HeaderMap::new(), &second_turn),
            Ok(Verdict::NotNamed)
        );
    }

    #[test]
    fn the_models_answer_is_judged_after_the_conversation() {
        let config = config();
        let clean = json!({"messages": [{"role": "user", "content": "what is next?"}]});
        let answer = Reply::text("The next launch is Project Falcon.");
        assert_eq!(
            judge(
                &config,
                &headers("gr1abc", "1"),
                "us-east-1",
                &clean,
                &answer
            ),
            Ok(Verdict::Intervened("Answer withheld.".to_owned()))
        );
        assert_eq!(
            judge(
                &config,
                &headers("gr1abc", "1"),
                "us-east-1",
                &clean,
                &Reply::echo()
            ),
            Ok(Verdict::Passed)
        );
    }

    #[test]
    fn a_guardrail_the_account_lacks_is_refused() {
        let config = config();
        let body = json!({"messages": []});
        for (id, version) in [("nope", "1"), ("gr1abc", "2")] {
            let e = judge_hi(&config, &headers(id, version), &body).unwrap_err();
            assert_eq!(
                (e.status, e.message.as_str()),
                (400, "The provided guardrail identifier is invalid.")
            );
        }
        // An account without guardrails does not check the headers.
        let body = json!({"messages": [{"role": "user", "content": "project falcon"}]});
        assert_eq!(
            judge_hi(&ServerConfig::default(), &headers("gr-abc123", "1"), &body),
            Ok(Verdict::NotNamed)
        );
    }
}
