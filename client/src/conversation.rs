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

use serde::Serialize;
use serde_json::Value;

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
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            message: UserMessage<'a>,
        }
        #[derive(Serialize)]
        struct UserMessage<'a> {
            role: &'static str,
            content: &'a str,
        }
        let line = Line {
            kind: "user",
            message: UserMessage {
                role: "user",
                content: prompt,
            },
        };
        serde_json::to_string(&line).expect("a user line serializes")
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

// The events below are structs, not `json!` values: serde writes a
// struct's fields in declaration order (the CLI's), whatever serde_json's
// features; a `Value` would sort them in a build without `preserve_order`
// (`cargo build -p bedrock-client`).

/// The `system` `init` event printed before each turn.
pub(crate) fn init_event(turn: &Turn<'_>, cwd: Option<&Path>, version: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Init<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        subtype: &'static str,
        cwd: Option<String>,
        #[serde(rename = "session_id")]
        session_id: &'a str,
        model: &'a str,
        permission_mode: &'static str,
        api_key_source: &'static str,
        #[serde(rename = "claude_code_version")]
        claude_code_version: &'a str,
    }
    line(&Init {
        kind: "system",
        subtype: "init",
        cwd: cwd.map(|p| p.display().to_string()),
        session_id: turn.session_id,
        model: turn.model,
        permission_mode: "default",
        api_key_source: "none",
        claude_code_version: version,
    })
}

/// One event as its line of JSON.
fn line(event: &impl Serialize) -> String {
    serde_json::to_string(event).expect("an event serializes")
}

/// An answer's usage, as the events and results report it: in this order,
/// `null` for a count the stream did not give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct UsageOut {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
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
        usage: UsageOut,
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

/// A text block of an `assistant` event.
#[derive(Serialize)]
struct TextOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// The `assistant` event: the answer, or the CLI's synthetic message
/// holding the error line.
pub(crate) fn assistant_event(turn: &Turn<'_>, ending: &Ending<'_>) -> String {
    #[derive(Serialize)]
    struct Assistant<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        message: AssistantMessage<'a>,
        parent_tool_use_id: Option<&'a str>,
        session_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        is_api_error_message: Option<bool>,
        /// Present (maybe `null`) on a failed turn only.
        #[serde(skip_serializing_if = "Option::is_none")]
        api_error_status: Option<Option<u16>>,
    }
    #[derive(Serialize)]
    struct AssistantMessage<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        role: &'static str,
        model: &'a str,
        content: [TextOut<'a>; 1],
        stop_reason: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<UsageOut>,
    }
    let (model, text, stop_reason, usage, failed) = match ending {
        Ending::Answered { text, usage, .. } => (turn.model, *text, None, Some(*usage), None),
        Ending::Failed { line, status } => (
            "<synthetic>",
            *line,
            Some("stop_sequence"),
            None,
            Some(*status),
        ),
    };
    line(&Assistant {
        kind: "assistant",
        message: AssistantMessage {
            kind: "message",
            role: "assistant",
            model,
            content: [TextOut { kind: "text", text }],
            stop_reason,
            usage,
        },
        parent_tool_use_id: None,
        session_id: turn.session_id,
        is_api_error_message: failed.map(|_| true),
        api_error_status: failed,
    })
}

/// The `result` event closing a turn (the CLI calls a failed turn's a
/// `success` too, with `is_error`).
pub(crate) fn result_event(turn: &Turn<'_>, ending: &Ending<'_>) -> String {
    #[derive(Serialize)]
    struct Result<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        subtype: &'static str,
        is_error: bool,
        api_error_status: Option<u16>,
        num_turns: u32,
        result: &'a str,
        stop_reason: Option<&'a str>,
        session_id: &'a str,
        terminal_reason: &'static str,
        result_index: usize,
        /// `{}` on a failed turn.
        usage: UsageOrEmpty,
    }
    let (is_error, result, stop_reason, status, usage) = match ending {
        Ending::Answered {
            text,
            stop_reason,
            usage,
        } => (false, *text, *stop_reason, None, Some(*usage)),
        Ending::Failed { line, status } => (true, *line, Some("stop_sequence"), *status, None),
    };
    line(&Result {
        kind: "result",
        subtype: "success",
        is_error,
        api_error_status: status,
        num_turns: 1,
        result,
        stop_reason,
        session_id: turn.session_id,
        terminal_reason: if is_error { "api_error" } else { "completed" },
        result_index: turn.index,
        usage: UsageOrEmpty(usage),
    })
}

/// A usage, or `{}` where the CLI reports none.
struct UsageOrEmpty(Option<UsageOut>);

impl Serialize for UsageOrEmpty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.0 {
            Some(usage) => usage.serialize(s),
            None => serde::ser::SerializeMap::end(s.serialize_map(Some(0))?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events byte for byte, keys in the CLI's order: the same in a
    /// build without serde_json's `preserve_order` (`cargo test -p
    /// bedrock-client`) as in the workspace's.
    #[test]
    fn events_keep_the_clis_key_order() {
        assert_eq!(
            ScriptedLine::user_message("hi \"you\""),
            r#"{"type":"user","message":{"role":"user","content":"hi \"you\""}}"#
        );
        let turn = Turn {
            session_id: "s-1",
            model: "m",
            index: 2,
        };
        assert_eq!(
            init_event(&turn, Some(Path::new("/w")), "2.1.0"),
            r#"{"type":"system","subtype":"init","cwd":"/w","session_id":"s-1","model":"m","permissionMode":"default","apiKeySource":"none","claude_code_version":"2.1.0"}"#
        );
        let usage = UsageOut {
            input_tokens: Some(5),
            output_tokens: Some(2),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: None,
        };
        let answered = Ending::Answered {
            text: "Hi",
            stop_reason: Some("end_turn"),
            usage,
        };
        let usage_text = r#"{"input_tokens":5,"output_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":null}"#;
        assert_eq!(
            assistant_event(&turn, &answered),
            format!(
                r#"{{"type":"assistant","message":{{"type":"message","role":"assistant","model":"m","content":[{{"type":"text","text":"Hi"}}],"stop_reason":null,"usage":{usage_text}}},"parent_tool_use_id":null,"session_id":"s-1"}}"#
            )
        );
        assert_eq!(
            result_event(&turn, &answered),
            format!(
                r#"{{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"num_turns":1,"result":"Hi","stop_reason":"end_turn","session_id":"s-1","terminal_reason":"completed","result_index":2,"usage":{usage_text}}}"#
            )
        );
        let failed = Ending::Failed {
            line: "API Error: 400",
            status: Some(400),
        };
        assert_eq!(
            assistant_event(&turn, &failed),
            r#"{"type":"assistant","message":{"type":"message","role":"assistant","model":"<synthetic>","content":[{"type":"text","text":"API Error: 400"}],"stop_reason":"stop_sequence"},"parent_tool_use_id":null,"session_id":"s-1","is_api_error_message":true,"api_error_status":400}"#
        );
        let unanswered = Ending::Failed {
            line: "API Error: gone",
            status: None,
        };
        assert!(
            assistant_event(&turn, &unanswered)
                .ends_with(r#""is_api_error_message":true,"api_error_status":null}"#)
        );
        assert_eq!(
            result_event(&turn, &failed),
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":400,"num_turns":1,"result":"API Error: 400","stop_reason":"stop_sequence","session_id":"s-1","terminal_reason":"api_error","result_index":2,"usage":{}}"#
        );
    }

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
