//! The Bedrock runtime: InvokeModel and InvokeModelWithResponseStream for
//! Anthropic models, with the request validation Bedrock applies.

use std::ops::DerefMut;

use bedrock_eventstream::anthropic::{InvocationMetrics, StreamEvent};
use bedrock_eventstream::bedrock::{Exception, encode_chunk, encode_chunk_json, encode_exception};
use serde_json::Value;

use crate::config::ServerConfig;
use crate::delta_memo;
use crate::errors::{AwsError, ExceptionType};
use crate::guardrail;
use crate::journal::FrameRecord;
use crate::messages_body::{self, Fields};
use crate::reply::{PlannedEvent, Reply, render};
use crate::rng::Rng;
use crate::stream_body::{FrameWriter, PlannedFrame};

/// Bedrock's limit on an InvokeModel body, in bytes.
pub(crate) const MAX_BODY: usize = 25_000_000;

/// An `anthropic_version` Bedrock takes: `bedrock-2023-05-31`, the one
/// wire.md and Claude Code use, or a dated Anthropic API version
/// (`2026-10-21`), which the Anthropic Python SDK 2.14 sends from
/// `AnthropicBedrock` (conformance/DIFFERENCES.md). The refusal below
/// keeps naming the first, as Bedrock's validator text did.
fn is_accepted_version(v: &str) -> bool {
    let dated = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    v == "bedrock-2023-05-31" || (dated && v >= "2023-06-01")
}

/// The error for a body over [`MAX_BODY`], in the words of AWS's request
/// validation layer.
pub(crate) fn body_too_large() -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to {MAX_BODY}"
    ))
}

/// Checks an Anthropic request body the way Bedrock does and returns it
/// parsed. Bedrock reports the first problem only, in Anthropic's
/// `field: problem` style.
pub(crate) fn validate_body(config: &ServerConfig, body: &[u8]) -> Result<Value, AwsError> {
    // No capture of Bedrock's text for a body that is not JSON exists; this
    // is the wording of its earlier schema validator.
    let malformed = || {
        AwsError::validation(
            "Malformed input request: expected a JSON object, please reformat your input and try again.",
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| malformed())?;
    let fields = value.as_object().ok_or_else(malformed)?;
    let problem = version_problem(fields)
        .or_else(|| messages_body::max_tokens_problem(fields).map(str::to_owned))
        .or_else(|| messages_body::messages_problem(fields).map(str::to_owned))
        // Fields of the Messages API that the Invoke body does not have.
        .or_else(|| messages_body::extra_field_problem(fields, &["model", "stream"]))
        .or_else(|| betas_problem(config, fields))
        .or_else(|| tools_problem(fields));
    match problem {
        Some(problem) => Err(AwsError::validation(problem)),
        None => Ok(value),
    }
}

fn version_problem(fields: &Fields) -> Option<String> {
    match fields.get("anthropic_version") {
        None => Some("anthropic_version: Field required".to_owned()),
        Some(Value::String(v)) if is_accepted_version(v) => None,
        Some(_) => Some("anthropic_version: Input should be 'bedrock-2023-05-31'".to_owned()),
    }
}

/// Betas go in the body on Bedrock; each must be one the models accept.
fn betas_problem(config: &ServerConfig, fields: &Fields) -> Option<String> {
    let betas = fields.get("anthropic_beta")?;
    let Some(list) = betas.as_array() else {
        return Some("anthropic_beta: Input should be a valid list".to_owned());
    };
    let known = |b: &Value| {
        b.as_str()
            .is_some_and(|b| config.betas.iter().any(|k| k == b))
    };
    (!list.iter().all(known)).then(|| "invalid beta flag".to_owned())
}

/// The fields a custom tool may have on Invoke, and the beta (in the
/// body's `anthropic_beta`) each of the optional ones needs. Claude Code
/// sends `name`, `description`, `input_schema`, and `defer_loading` with
/// the tool-search beta (every golden capture); users' reports show the
/// rest refused, in the Anthropic API's words: `tools.11.custom.defer_loading`
/// (anthropics/claude-code#82549, a gateway that dropped the beta),
/// `tools.0.custom.eager_input_streaming` (anthropics/claude-code#63532).
const TOOL_FIELDS: &[(&str, Option<&str>)] = &[
    ("type", None),
    ("name", None),
    ("description", None),
    ("input_schema", None),
    ("cache_control", None),
    ("defer_loading", Some("tool-search-tool-2025-10-19")),
    ("input_examples", Some("tool-examples-2025-10-29")),
    (
        "eager_input_streaming",
        Some("fine-grained-tool-streaming-2025-05-14"),
    ),
];

/// The first custom tool field the request's betas do not allow. Server
/// tools (a `type` other than `custom`) have shapes of their own and are
/// not checked.
fn tools_problem(fields: &Fields) -> Option<String> {
    let tools = fields.get("tools")?.as_array()?;
    let betas: Vec<&str> = fields
        .get("anthropic_beta")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let allowed = |key: &str| {
        TOOL_FIELDS
            .iter()
            .any(|(name, beta)| *name == key && beta.is_none_or(|b| betas.contains(&b)))
    };
    tools.iter().enumerate().find_map(|(n, tool)| {
        let tool = tool.as_object()?;
        let custom = tool.get("type").is_none_or(|t| t == "custom");
        let extra = tool.keys().find(|key| !allowed(key))?;
        custom.then(|| format!("tools.{n}.custom.{extra}: Extra inputs are not permitted"))
    })
}

/// A whole InvokeModel answer.
pub(crate) struct InvokeAnswer {
    pub body: Vec<u8>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The whole answer; `guardrail_action` is the guardrail's verdict when
/// the request named one, a field of the message as Bedrock adds it.
pub(crate) fn invoke(
    reply: &Reply,
    body: &Value,
    model_id: &str,
    guardrail_action: Option<&str>,
    rng: &mut Rng,
) -> InvokeAnswer {
    let rendered = render(reply, body, model_id, rng);
    let mut message = rendered.message_body();
    if let Some(action) = guardrail_action {
        message = with_last_field(message, guardrail::ACTION_FIELD, action);
    }
    InvokeAnswer {
        body: message,
        input_tokens: rendered.input_tokens,
        output_tokens: rendered.output_tokens,
    }
}

/// An exception frame to send after `after_events` events.
pub(crate) struct StreamFault {
    pub after_events: usize,
    pub exception: Exception,
}

impl StreamFault {
    /// `exception` after `after_events` events, with `message` or the
    /// catalogue's for it.
    pub(crate) fn new(
        after_events: usize,
        exception: ExceptionType,
        message: Option<&str>,
    ) -> Self {
        let message = message.unwrap_or(exception.code().stream_message());
        Self {
            after_events,
            exception: Exception::new(exception.as_str(), message),
        }
    }
}

/// About what a chunk frame of a few words takes: 100 bytes of headers,
/// checksums and JSON around the base64, some 60 of padding, and a delta.
const TYPICAL_CHUNK_FRAME_LEN: usize = 320;

/// The frames of an InvokeModelWithResponseStream answer. A guardrail's
/// verdict (`guardrail_action`) rides on the last chunk, beside the
/// invocation metrics Bedrock adds there; no capture shows where Bedrock
/// puts it in a stream, so it goes where Bedrock's own fields go.
///
/// `rng` is held only while the reply is rendered and its draws are made
/// (ids, how deltas group, each frame's padding), not while the frames are
/// encoded, which is most of a stream's work: requests answered at the
/// same time on other threads wait for it. The draws come in the same
/// order as before, so a seed still gives the same bytes.
pub(crate) fn stream_frames<R: DerefMut<Target = Rng>>(
    reply: &Reply,
    body: &Value,
    model_id: &str,
    guardrail_action: Option<&str>,
    rng: impl FnOnce() -> R,
    fault: Option<StreamFault>,
) -> Vec<PlannedFrame> {
    let mut rng = rng();
    let rendered = render(reply, body, model_id, &mut rng);
    let metrics = InvocationMetrics::new(rendered.input_tokens, rendered.output_tokens);
    let events = rendered.planned_events(&mut rng, Some(metrics));
    let limit = fault
        .as_ref()
        .map_or(events.len(), |f| f.after_events.min(events.len()));
    let paddings: Vec<&'static str> = (0..limit).map(|_| rng.padding()).collect();
    drop(rng);
    let mut frames = FrameWriter::with_capacity(limit + 1, TYPICAL_CHUNK_FRAME_LEN);
    let last = events.len();
    for ((n, event), padding) in events.into_iter().enumerate().zip(paddings) {
        let label = FrameRecord::Chunk(event.event_type().to_owned());
        let marked = guardrail_action.filter(|_| n + 1 == last);
        frames.push(label, |out| match (marked, event) {
            (Some(action), event) => encode_marked_chunk(&event.into_event(), action, padding, out),
            (None, PlannedEvent::Delta { index, kind, text }) => {
                delta_memo::encode_delta_chunk(index, kind, text, padding, out)
            }
            (None, PlannedEvent::Whole(event)) => encode_chunk(&event, padding, out),
        });
    }
    if let Some(fault) = fault {
        let label = FrameRecord::Exception(fault.exception.exception_type.clone());
        frames.push(label, |out| encode_exception(&fault.exception, out));
    }
    frames.finish()
}

/// A chunk whose event carries the guardrail's verdict.
fn encode_marked_chunk(event: &StreamEvent, action: &str, padding: &str, out: &mut Vec<u8>) {
    let json = with_last_field(event.to_json(), guardrail::ACTION_FIELD, action);
    encode_chunk_json(&json, padding, out);
}

/// `object` (a JSON object's text) with `key` added after its last field.
/// Written into the text rather than through a `serde_json::Value`, which
/// sorts its keys unless the build enables serde_json's `preserve_order`:
/// the fields before keep their order. Text that is not an object is
/// returned as it is.
fn with_last_field(mut object: Vec<u8>, key: &str, value: &str) -> Vec<u8> {
    let Some(end) = object.iter().rposition(|b| !b.is_ascii_whitespace()) else {
        return object;
    };
    if !object.starts_with(b"{") || object[end] != b'}' {
        return object;
    }
    object.truncate(end);
    if object[1..].iter().any(|b| !b.is_ascii_whitespace()) {
        object.push(b',');
    }
    serde_json::to_writer(&mut object, key).expect("a string serializes");
    object.push(b':');
    serde_json::to_writer(&mut object, value).expect("a string serializes");
    object.push(b'}');
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<Value, String> {
        validate_body(&ServerConfig::default(), body.as_bytes()).map_err(|e| e.message)
    }

    #[test]
    fn a_field_goes_last_and_the_fields_before_keep_their_order() {
        let add =
            |text: &str| String::from_utf8(with_last_field(text.into(), "k\"", "v\n")).unwrap();
        assert_eq!(
            add(r#"{"b":1,"a":{"d":2,"c":3}}"#),
            r#"{"b":1,"a":{"d":2,"c":3},"k\"":"v\n"}"#
        );
        assert_eq!(add("{ }"), r#"{ "k\"":"v\n"}"#);
        assert_eq!(add("{}"), r#"{"k\"":"v\n"}"#);
        assert_eq!(add(r#"{"z":[1] } "#), r#"{"z":[1] ,"k\"":"v\n"}"#);
        assert_eq!(add("[1]"), "[1]");
    }

    /// The whole answer with a guardrail's verdict: Bedrock's message in
    /// its order, the verdict last.
    #[test]
    fn a_marked_answer_keeps_the_messages_key_order() {
        let body: Value =
            serde_json::json!({"max_tokens": 10, "messages": [{"role": "user", "content": "."}]});
        let whole = invoke(
            &Reply::text("no"),
            &body,
            "anthropic.claude-x-v1:0",
            Some("NONE"),
            &mut Rng::new(1),
        );
        let text = String::from_utf8(whole.body).unwrap();
        let keys = [
            "\"id\":",
            "\"type\":\"message\"",
            "\"role\":",
            "\"model\":",
            "\"content\":",
            "\"stop_reason\":",
            "\"stop_sequence\":",
            "\"usage\":",
            "\"amazon-bedrock-guardrailAction\":\"NONE\"}",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} in {text}")))
            .collect();
        assert!(at.is_sorted(), "{text}");
        assert!(text.ends_with(keys[8]), "{text}");
    }

    #[test]
    fn a_guardrails_verdict_marks_the_answer_and_the_last_chunk_only() {
        let body: Value =
            serde_json::json!({"max_tokens": 10, "messages": [{"role": "user", "content": "."}]});
        let reply = Reply::text("no");
        let whole = invoke(&reply, &body, "m", Some("INTERVENED"), &mut Rng::new(1));
        let whole: Value = serde_json::from_slice(&whole.body).unwrap();
        assert_eq!(whole[guardrail::ACTION_FIELD], "INTERVENED");
        let plain = invoke(&reply, &body, "m", None, &mut Rng::new(1));
        let plain: Value = serde_json::from_slice(&plain.body).unwrap();
        assert!(plain.get(guardrail::ACTION_FIELD).is_none());

        let mut rng = Rng::new(1);
        let frames = stream_frames(&reply, &body, "m", Some("NONE"), || &mut rng, None);
        let mut marked: Vec<Option<Value>> = frames
            .iter()
            .map(|planned| {
                let frame = bedrock_eventstream::decode_frame(&planned.bytes).unwrap();
                let payload: Value = serde_json::from_slice(frame.payload()).unwrap();
                let bytes = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    payload["bytes"].as_str().unwrap(),
                )
                .unwrap();
                let event: Value = serde_json::from_slice(&bytes).unwrap();
                event.get(guardrail::ACTION_FIELD).cloned()
            })
            .collect();
        let last = marked.pop().unwrap();
        assert_eq!(last, Some(Value::String("NONE".to_owned())));
        assert!(marked.iter().all(Option::is_none), "{marked:?}");
    }

    #[test]
    fn custom_tool_fields_need_their_betas() {
        let body = |tools: &str, betas: &str| {
            format!(
                r#"{{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{{"role":"user","content":"."}}],"tools":{tools},"anthropic_beta":[{betas}]}}"#
            )
        };
        let plain = r#"{"name":"Read","description":"d","input_schema":{"type":"object"}}"#;
        let deferred = r#"{"name":"T","description":"d","input_schema":{},"defer_loading":true}"#;
        let eager = r#"{"name":"T","input_schema":{},"eager_input_streaming":true}"#;
        // What Claude Code sends: plain tools, one deferred, the tool-search beta.
        let claude_code = body(
            &format!("[{plain},{deferred}]"),
            r#""tool-search-tool-2025-10-19""#,
        );
        assert!(check(&claude_code).is_ok());
        assert_eq!(
            check(&body(&format!("[{plain},{deferred}]"), "")).unwrap_err(),
            "tools.1.custom.defer_loading: Extra inputs are not permitted"
        );
        assert_eq!(
            check(&body(
                &format!("[{eager}]"),
                r#""tool-search-tool-2025-10-19""#
            ))
            .unwrap_err(),
            "tools.0.custom.eager_input_streaming: Extra inputs are not permitted"
        );
        assert!(
            check(&body(
                &format!("[{eager}]"),
                r#""fine-grained-tool-streaming-2025-05-14""#
            ))
            .is_ok()
        );
        let server_tool = r#"{"type":"web_search_20250305","name":"web_search","max_uses":5}"#;
        assert!(check(&body(&format!("[{server_tool}]"), "")).is_ok());
        let typo = r#"{"type":"custom","name":"T","input_schema":{},"bogus_field":true}"#;
        assert_eq!(
            check(&body(&format!("[{typo}]"), "")).unwrap_err(),
            "tools.0.custom.bogus_field: Extra inputs are not permitted"
        );
    }

    #[test]
    fn the_anthropic_sdks_dated_versions_are_taken() {
        for v in ["bedrock-2023-05-31", "2023-06-01", "2026-10-21"] {
            assert!(is_accepted_version(v), "{v}");
        }
        for v in [
            "bedrock-2023-05-30",
            "2023-05-31",
            "2026-1-21",
            "latest",
            "",
        ] {
            assert!(!is_accepted_version(v), "{v}");
        }
    }

    #[test]
    fn reports_the_first_problem_in_bedrocks_words() {
        let ok = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
        assert!(check(ok).is_ok());
        assert_eq!(
            check(r#"{"max_tokens":1,"messages":[]}"#).unwrap_err(),
            "anthropic_version: Field required"
        );
        assert_eq!(
            check(r#"{"anthropic_version":"bedrock-2023-05-31","messages":[1]}"#).unwrap_err(),
            "max_tokens: Field required"
        );
        assert_eq!(
            check(r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}"#)
                .unwrap_err(),
            "messages: at least one message is required"
        );
        assert_eq!(
            check(r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{}],"stream":true}"#)
                .unwrap_err(),
            "stream: Extra inputs are not permitted"
        );
        assert_eq!(
            check(r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{}],"anthropic_beta":["nope"]}"#)
                .unwrap_err(),
            "invalid beta flag"
        );
        assert!(
            check("{not json")
                .unwrap_err()
                .starts_with("Malformed input request")
        );
        assert!(
            check("[]")
                .unwrap_err()
                .starts_with("Malformed input request")
        );
    }

    /// A seeded stream of thinking, text, a tool call and an echo, with
    /// `guardrail` marking its last chunk, a throttling exception after
    /// `fault_after` events, and `max_tokens`: the digest of its bytes,
    /// and the generator's next draw after it.
    fn seeded_stream(
        guardrail: Option<&str>,
        fault_after: Option<usize>,
        max_tokens: u64,
    ) -> (String, u64) {
        use crate::reply::ReplyBlock;
        use sha2::{Digest, Sha256};
        let reply = Reply::new(vec![
            ReplyBlock::Thinking {
                thinking: "Let me think about \"quotes\" and\nnew lines.".into(),
            },
            ReplyBlock::Text {
                text: "the quick brown fox jumps over a lazy dog. ".repeat(12),
            },
            ReplyBlock::ToolUse {
                name: "read".into(),
                // Keys in sorted order: the same bytes with serde_json's
                // `preserve_order` (the workspace's builds) and without.
                input: serde_json::json!({"lines": [1, 2, 3], "path": "/tmp/a b"}),
            },
            ReplyBlock::Echo,
        ]);
        let body = serde_json::json!({
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "échos, tabs\tand all"}],
        });
        let fault = fault_after
            .map(|after| StreamFault::new(after, "throttlingException".parse().unwrap(), None));
        let mut rng = Rng::new(7);
        let frames = stream_frames(
            &reply,
            &body,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            guardrail,
            || &mut rng,
            fault,
        );
        let bytes: Vec<u8> = frames
            .iter()
            .flat_map(|f| f.bytes.iter().copied())
            .collect();
        let hex = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (hex, rng.next_u64())
    }

    /// Pinned from the code before delta frames were remembered per
    /// thread and the generator let go before encoding (2eab4b8): the same
    /// bytes and the same draws, plain, with a guardrail's mark, cut by an
    /// exception, and cut by `max_tokens`. Each twice, so the second run
    /// takes the remembered frames.
    #[test]
    fn a_seed_gives_the_stream_it_gave_before_deltas_were_remembered() {
        let pinned = [
            (
                (None, None, 4000),
                "0a16d9ec28fc43665b0bb8e7b94009f5752d140027292081b733435d67816ae3",
                5000647452653208348,
            ),
            (
                (Some("NONE"), None, 4000),
                "32e2d95731a2ebf57ac94baf85f2c92f0fc3fc64e0c6d3066c6f7b3e46ec5164",
                5000647452653208348,
            ),
            (
                (None, Some(5), 4000),
                "71cd4b7d246ef9dbcb816dd4871767307c6151602cf421a4bce51121b669a0b9",
                15990905969994512476,
            ),
            (
                (None, None, 7),
                "16d24a06d502405e3fd2be484149b520f2963f73887104da6c457a17f6b816ef",
                16801926558693758238,
            ),
        ];
        for ((guardrail, fault_after, max_tokens), digest, next) in pinned {
            for _ in 0..2 {
                assert_eq!(
                    seeded_stream(guardrail, fault_after, max_tokens),
                    (digest.to_owned(), next),
                    "{guardrail:?} {fault_after:?} {max_tokens}"
                );
            }
        }
    }
}
