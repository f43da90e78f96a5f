//! `-p --input-format stream-json`, the CLI's multi-turn form without a
//! terminal: user messages as JSON lines on stdin, one session, one turn
//! per line; and what `--output-format stream-json --verbose` prints of
//! each turn. Recorded from Claude Code 2.1.328 and 2.1.332
//! (conformance's `conversation-*` cases):
//!
//! - each turn prints a `system` `init` event, then one `assistant` event
//!   (the whole answer, or a synthetic message holding the error line),
//!   then a `result` event whose `result_index` counts the turns;
//! - a turn that fails does not end the session: the next line is the
//!   next turn, and the failed prompt joins its message
//!   ([`crate::session::Session::run`]); the exit status is the last
//!   turn's;
//! - a line that is not JSON ends the run with exit status 1 and
//!   `Error parsing streaming input line (type=unknown, N chars):
//!   SyntaxError` on stderr.
//!
//! The events carry the fields this client can fill honestly; the CLI's
//! others (its tools, slash commands, costs, timings, uuids) are left out
//! (conformance/DIFFERENCES.md).

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::TimeSource;

/// Where `--input-format stream-json` reads the user's messages.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Input {
    /// The process's stdin, a line at a time as it comes.
    #[default]
    Stdin,
    /// These lines, each after its wait on the run's clock (the user
    /// typing the next message hours later): how the scenario runner
    /// holds a conversation in-process.
    Scripted(Vec<ScriptedLine>),
}

/// One line of a scripted conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptedLine {
    /// How long the user waits before sending it.
    pub wait: Duration,
    /// The line, as stdin would carry it.
    pub text: String,
}

impl ScriptedLine {
    /// `text`, sent after waiting `wait`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_client::conversation::ScriptedLine;
    ///
    /// let line = ScriptedLine::new(Duration::from_secs(3600), ScriptedLine::user_message("hi again"));
    /// assert!(line.text.contains("hi again"));
    /// ```
    pub fn new(wait: Duration, text: impl Into<String>) -> Self {
        Self {
            wait,
            text: text.into(),
        }
    }

    /// The stdin line the CLI takes for a user's `prompt`.
    pub fn user_message(prompt: &str) -> String {
        json!({"type": "user", "message": {"role": "user", "content": prompt}}).to_string()
    }
}

/// Reads an [`Input`]'s lines in turn.
pub(crate) enum Lines<'a> {
    /// What is left of a scripted conversation.
    Scripted(VecDeque<&'a ScriptedLine>),
    /// The process's stdin.
    Stdin(tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>),
}

impl<'a> Lines<'a> {
    pub(crate) fn of(input: &'a Input) -> Self {
        match input {
            Input::Stdin => {
                use tokio::io::AsyncBufReadExt;
                Self::Stdin(tokio::io::BufReader::new(tokio::io::stdin()).lines())
            }
            Input::Scripted(lines) => Self::Scripted(lines.iter().collect()),
        }
    }

    /// The next line, after its wait on `clock` when scripted; `None` at
    /// the end (or when stdin cannot be read).
    pub(crate) async fn next(&mut self, clock: &impl TimeSource) -> Option<String> {
        match self {
            Self::Scripted(scripted) => {
                let line = scripted.pop_front()?;
                if !line.wait.is_zero() {
                    clock.sleep(line.wait).await;
                }
                Some(line.text.clone())
            }
            Self::Stdin(stdin) => stdin.next_line().await.ok().flatten(),
        }
    }
}

/// What one input line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Said {
    /// A user message: the turn's prompt.
    Prompt(String),
    /// Nothing (a blank line).
    Nothing,
}

/// Reads one input line; `Err` is the line to print on stderr before the
/// run ends.
pub(crate) fn read_line(line: &str) -> Result<Said, String> {
    if line.trim().is_empty() {
        return Ok(Said::Nothing);
    }
    let value: Value = serde_json::from_str(line).map_err(|_| {
        // The CLI's words (2.1.328 and 2.1.332, conformance's
        // `conversation-bad-line`): the `type` its pattern finds in the
        // line, the line's length, the JavaScript error's name.
        format!(
            "Error parsing streaming input line (type={}, {} chars): SyntaxError",
            line_type(line).unwrap_or("unknown"),
            line.chars().count()
        )
    })?;
    if value["type"] != "user" {
        return Err(format!(
            "bedrock-client: only user messages are read on stdin, not `{}`",
            value["type"].as_str().unwrap_or("(no type)")
        ));
    }
    match &value["message"]["content"] {
        Value::String(text) => Ok(Said::Prompt(text.clone())),
        Value::Array(blocks) => {
            let texts: Option<Vec<&str>> = blocks
                .iter()
                .map(|b| (b["type"] == "text").then(|| b["text"].as_str()).flatten())
                .collect();
            texts
                .map(|texts| Said::Prompt(texts.join("\n")))
                .ok_or_else(|| {
                    "bedrock-client: a user message's content blocks must all be text".to_owned()
                })
        }
        _ => Err("bedrock-client: a user message needs `message.content`".to_owned()),
    }
}

/// The `"type": "…"` the CLI's pattern (`"type"\s*:\s*"([\w-]{1,40})"`)
/// finds in a line it could not parse.
fn line_type(line: &str) -> Option<&str> {
    let after = &line[line.find("\"type\"")? + "\"type\"".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let value = after.strip_prefix('"')?;
    let end = value.find('"')?;
    let found = &value[..end];
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    (!found.is_empty() && found.len() <= 40 && found.chars().all(word)).then_some(found)
}

/// What every event of a session carries.
pub(crate) struct Turn<'a> {
    /// The session's id (`x-claude-code-session-id`).
    pub session_id: &'a str,
    /// The turn's model id.
    pub model: &'a str,
    /// Which turn of the session, from 0.
    pub index: usize,
}

/// The `system` `init` event printed before each turn.
pub(crate) fn init_event(turn: &Turn<'_>, cwd: Option<&Path>, version: &str) -> Value {
    json!({
        "type": "system",
        "subtype": "init",
        "cwd": cwd.map(|p| p.display().to_string()),
        "session_id": turn.session_id,
        "model": turn.model,
        "permissionMode": "default",
        "apiKeySource": "none",
        "claude_code_version": version,
    })
}

/// How a turn ended, as the events tell it.
pub(crate) enum Ending<'a> {
    /// The answer, its stop reason and usage.
    Answered {
        /// The text.
        text: &'a str,
        /// `end_turn`, …
        stop_reason: Option<&'a str>,
        /// The usage, as the result reports it.
        usage: Value,
    },
    /// The error line printed instead, with the refusal's status if one
    /// came.
    Failed {
        /// The line (`API Error: …`).
        line: &'a str,
        /// The HTTP status of the refusal.
        status: Option<u16>,
    },
}

/// The `assistant` event: the answer, or the CLI's synthetic message
/// holding the error line.
pub(crate) fn assistant_event(turn: &Turn<'_>, ending: &Ending<'_>) -> Value {
    match ending {
        Ending::Answered { text, usage, .. } => json!({
            "type": "assistant",
            "message": {
                "type": "message",
                "role": "assistant",
                "model": turn.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": null,
                "usage": usage,
            },
            "parent_tool_use_id": null,
            "session_id": turn.session_id,
        }),
        Ending::Failed { line, status } => json!({
            "type": "assistant",
            "message": {
                "type": "message",
                "role": "assistant",
                "model": "<synthetic>",
                "content": [{"type": "text", "text": line}],
                "stop_reason": "stop_sequence",
            },
            "parent_tool_use_id": null,
            "session_id": turn.session_id,
            "is_api_error_message": true,
            "api_error_status": status,
        }),
    }
}

/// The `result` event closing a turn (the CLI calls a failed turn's a
/// `success` too, with `is_error`).
pub(crate) fn result_event(turn: &Turn<'_>, ending: &Ending<'_>) -> Value {
    let (is_error, result, stop_reason, status, usage) = match ending {
        Ending::Answered {
            text,
            stop_reason,
            usage,
        } => (false, *text, *stop_reason, None, usage.clone()),
        Ending::Failed { line, status } => (true, *line, Some("stop_sequence"), *status, json!({})),
    };
    json!({
        "type": "result",
        "subtype": "success",
        "is_error": is_error,
        "api_error_status": status,
        "num_turns": 1,
        "result": result,
        "stop_reason": stop_reason,
        "session_id": turn.session_id,
        "terminal_reason": if is_error { "api_error" } else { "completed" },
        "result_index": turn.index,
        "usage": usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_line_is_a_prompt_and_a_broken_one_is_worded_as_the_cli_words_it() {
        let line = ScriptedLine::user_message("say hi");
        assert_eq!(read_line(&line), Ok(Said::Prompt("say hi".to_owned())));
        let blocks = r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}"#;
        assert_eq!(read_line(blocks), Ok(Said::Prompt("a\nb".to_owned())));
        assert_eq!(read_line("  "), Ok(Said::Nothing));
        assert_eq!(
            read_line("not json").unwrap_err(),
            "Error parsing streaming input line (type=unknown, 8 chars): SyntaxError"
        );
        assert_eq!(
            read_line(r#"{"type": "user", oops"#).unwrap_err(),
            "Error parsing streaming input line (type=user, 21 chars): SyntaxError"
        );
        assert!(
            read_line(r#"{"type":"control_request"}"#)
                .unwrap_err()
                .contains("control_request")
        );
    }
}
