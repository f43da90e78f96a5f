//! Mantle: the Anthropic Messages API as Bedrock serves it at
//! `https://bedrock-mantle.{region}.api.aws/anthropic/v1/messages`.
//!
//! Mantle differs from the Invoke runtime in every visible way: its own
//! model lineup (`anthropic.claude-haiku-4-5`, no version suffix), the plain
//! Anthropic body (with `model` and `stream`, betas in the `anthropic-beta`
//! header), Server-Sent Events instead of event-stream frames, and errors in
//! the Anthropic API's shape with the Anthropic API's status codes.

use std::ops::DerefMut;

use bedrock_eventstream::anthropic::{ApiError, StreamEvent};
use serde_json::Value;

use crate::api::{Api, Exchange, Planned, Requested, WireError};
use crate::config::{MantleModel, ModelState, ServerConfig};
use crate::errors::{AwsError, ErrorCode, ExceptionType};
use crate::journal::FrameRecord;
use crate::messages_body;
use crate::operation::{Operation, Protocol};
use crate::reply::{Reply, render};
use crate::rng::Rng;
use crate::routes::Route;
use crate::rules::RuleContent;
use crate::stream_body::{FrameWriter, Framing, PlannedFrame};

/// Mantle's request size limit: the Anthropic API's 32 MB for the Messages
/// endpoint.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;

fn anthropic_error(code: ErrorCode, message: impl Into<String>) -> AwsError {
    code.with_message(message)
}

/// The Mantle endpoint.
pub(crate) struct Mantle;

/// A Mantle request that passed the checks.
pub(crate) struct Checked {
    prepared: Prepared,
    stream: bool,
}

impl Api for Mantle {
    type Checked = Checked;

    fn protocol(&self) -> Protocol {
        Protocol::Mantle
    }

    fn body_limit(&self) -> usize {
        MAX_BODY
    }

    fn too_large(&self) -> AwsError {
        ErrorCode::RequestTooLarge.into()
    }

    fn identify(&self, route: Route, _: &str, body: &[u8]) -> Result<Requested, AwsError> {
        match route {
            Route::Mantle => {
                let (operation, model) = peek(body);
                Ok(Requested { operation, model })
            }
            _ => Err(unknown_path()),
        }
    }

    fn check(&self, call: &Exchange<'_>) -> Result<Checked, AwsError> {
        Ok(Checked {
            prepared: prepare(call.config, call.headers, call.body)?,
            stream: call.operation == Operation::MantleMessagesStream,
        })
    }

    fn has_content(&self, _: &Checked) -> bool {
        true
    }

    fn answer(
        &self,
        call: &Exchange<'_>,
        checked: Checked,
        content: Option<RuleContent<'_>>,
    ) -> Result<Planned, AwsError> {
        let prepared = &checked.prepared;
        let (reply, fault) = match content {
            None => (&prepared.reply, None),
            Some(RuleContent::Reply(reply)) => (reply, None),
            Some(RuleContent::Exception {
                after_events,
                exception,
                message,
            }) => {
                let error = stream_error(exception, message);
                if !checked.stream {
                    // Outside a stream the same failure is an HTTP error.
                    return Err(exception.on_mantle().with_message(error.message));
                }
                (
                    &prepared.reply,
                    Some(SseFault {
                        after_events,
                        error,
                    }),
                )
            }
        };
        if !checked.stream {
            return Ok(Planned::Whole {
                content_type: "application/json",
                body: message(prepared, reply, &mut call.shared.rng()),
                headers: Vec::new(),
            });
        }
        Ok(Planned::Stream {
            framing: Framing::ServerSentEvents,
            frames: sse_frames(
                prepared,
                reply,
                || call.shared.rng(),
                fault,
                call.request_id,
            ),
            headers: Vec::new(),
        })
    }

    fn wire_error(&self, error: &AwsError, request_id: &str) -> WireError {
        let error = error.clone().sent_by(Protocol::Mantle);
        WireError {
            status: error.status,
            body: error_body(&error.code, &error.message, request_id),
            code: error.code,
            message: error.message,
            content_type: "application/json",
            error_type_header: None,
        }
    }

    /// The Anthropic SDKs read the request id from `request-id`.
    fn answer_headers(&self, request_id: &str) -> Vec<(&'static str, String)> {
        vec![("request-id", request_id.to_owned())]
    }
}

/// The body of an error answer (and the data of a mid-stream `error`
/// event): the Anthropic API's shape, with its `request_id`.
pub(crate) fn error_body(error_type: &str, message: &str, request_id: &str) -> Vec<u8> {
    /// The Anthropic API's order: `type`, `error`, `request_id`.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        error: Error<'a>,
        request_id: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Error<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        message: &'a str,
    }
    serde_json::to_vec(&Body {
        kind: "error",
        error: Error {
            kind: error_type,
            message,
        },
        request_id,
    })
    .expect("an error body serializes")
}

/// A path under Mantle's prefixes that is not the Messages endpoint, in
/// the Anthropic API's words.
pub(crate) fn unknown_path() -> AwsError {
    anthropic_error(ErrorCode::NotFoundError, "Not Found")
}

/// Whether a Mantle body asks for a stream, and the model it names. Only
/// routing needs this; [`prepare`] reports what is wrong with the body.
pub(crate) fn peek(body: &[u8]) -> (Operation, Option<String>) {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name| value.as_ref().and_then(|v| v.get(name));
    let operation = if field("stream") == Some(&Value::Bool(true)) {
        Operation::MantleMessagesStream
    } else {
        Operation::MantleMessages
    };
    let model = field("model").and_then(Value::as_str).map(str::to_owned);
    (operation, model)
}

/// A Mantle request that passed the checks.
pub(crate) struct Prepared {
    pub model_id: String,
    pub reply: Reply,
    pub body: Value,
}

/// Mantle's checks, first problem only: the version header, the body's
/// shape, the model, the beta header.
pub(crate) fn prepare(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Prepared, AwsError> {
    // AWS's Mantle documentation makes the header required, as the
    // Anthropic API does.
    if !headers.contains_key("anthropic-version") {
        return Err(invalid("anthropic-version: header is required"));
    }
    let body = validate_body(body)?;
    let model_id = body["model"].as_str().unwrap_or_default().to_owned();
    let model = resolve(config, &model_id)?;
    check_betas(config, headers, &model_id)?;
    Ok(Prepared {
        reply: model.reply.clone().unwrap_or_else(|| config.reply.clone()),
        model_id,
        body,
    })
}

fn invalid(message: impl Into<String>) -> AwsError {
    anthropic_error(ErrorCode::InvalidRequestError, message)
}

fn validate_body(body: &[u8]) -> Result<Value, AwsError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "There was an error parsing the body of your request: {e}. Please make sure the request body is valid JSON."
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(invalid("Input should be a valid dictionary or object"));
    };
    match object.get("model") {
        None => return Err(invalid("model: Field required")),
        Some(Value::String(_)) => {}
        Some(_) => return Err(invalid("model: Input should be a valid string")),
    }
    if let Some(problem) = messages_body::max_tokens_problem(object)
        .or_else(|| messages_body::messages_problem(object))
    {
        return Err(invalid(problem));
    }
    match object.get("stream") {
        None | Some(Value::Bool(_)) => {}
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    }
    // Fields of the Invoke body that the Messages API does not have: a
    // client that sends an Invoke body to Mantle learns it here.
    match messages_body::extra_field_problem(object, &["anthropic_version", "anthropic_beta"]) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(value),
    }
}

/// What Mantle answers for a model it does not serve, in users' reports:
/// an inference profile id (`us.anthropic...`), a model not in the region,
/// and (misleadingly) a beta it does not support all get this 404.
fn model_does_not_exist(model_id: &str) -> AwsError {
    anthropic_error(
        ErrorCode::NotFoundError,
        format!("The model '{model_id}' does not exist"),
    )
}

/// Finds `model_id` in the Mantle lineup and checks the account may use it.
fn resolve<'c>(config: &'c ServerConfig, model_id: &str) -> Result<&'c MantleModel, AwsError> {
    let Some(model) = config.mantle_models.iter().find(|m| m.id == model_id) else {
        return Err(model_does_not_exist(model_id));
    };
    match config.effective_state(&model.id, model.state) {
        ModelState::Enabled => Ok(model),
        ModelState::NotEnabled => Err(anthropic_error(
            ErrorCode::PermissionError,
            format!(
                "You don't have access to the model {model_id}. Request access to it in the Amazon Bedrock console."
            ),
        )),
        ModelState::NotFound => Err(model_does_not_exist(model_id)),
    }
}

/// Betas go in the `anthropic-beta` header on Mantle. One it does not
/// support gets the same 404 as an unknown model (users' reports).
fn check_betas(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    model_id: &str,
) -> Result<(), AwsError> {
    let supported = |beta: &str| beta.is_empty() || config.betas.iter().any(|k| k == beta);
    let all_supported = headers.get_all("anthropic-beta").iter().all(|value| {
        String::from_utf8_lossy(value.as_bytes())
            .split(',')
            .all(|beta| supported(beta.trim()))
    });
    if all_supported {
        Ok(())
    } else {
        Err(model_does_not_exist(model_id))
    }
}

/// The non-streaming answer's body.
pub(crate) fn message(prepared: &Prepared, reply: &Reply, rng: &mut Rng) -> Vec<u8> {
    let mut rendered = render(reply, &prepared.body, &prepared.model_id, rng);
    // The Messages API reports the model as it was asked for.
    rendered.model = prepared.model_id.clone();
    rendered.message_body()
}

/// A mid-stream failure: after `after_events` events (pings not counted),
/// an `error` event.
pub(crate) struct SseFault {
    pub after_events: usize,
    pub error: ApiError,
}

/// The Server-Sent Events of a streamed answer, one planned write each:
/// the Anthropic API's events, a `ping` after the first block starts, no
/// Bedrock invocation metrics. `rng` is held for the reply's draws only,
/// not while the events are written (as `runtime::stream_frames` does).
pub(crate) fn sse_frames<R: DerefMut<Target = Rng>>(
    prepared: &Prepared,
    reply: &Reply,
    rng: impl FnOnce() -> R,
    fault: Option<SseFault>,
    request_id: &str,
) -> Vec<PlannedFrame> {
    let events = {
        let mut rng = rng();
        let mut rendered = render(reply, &prepared.body, &prepared.model_id, &mut rng);
        rendered.model = prepared.model_id.clone();
        rendered.stream_events(&mut rng, None)
    };
    let limit = fault
        .as_ref()
        .map_or(events.len(), |f| f.after_events.min(events.len()));
    // Each event and the ping, about 160 bytes each.
    let mut frames = FrameWriter::with_capacity(limit + 2, 160);
    for (n, event) in events[..limit].iter().enumerate() {
        sse_frame(&mut frames, event);
        let ping_here = match event {
            StreamEvent::ContentBlockStart { index: 0, .. } => true,
            StreamEvent::MessageStart { .. } => !matches!(
                events.get(n + 1),
                Some(StreamEvent::ContentBlockStart { .. })
            ),
            _ => false,
        };
        if ping_here {
            sse_frame(&mut frames, &StreamEvent::Ping);
        }
    }
    if let Some(fault) = fault {
        // After an error event the stream ends: no `message_stop`.
        let data = error_body(&fault.error.error_type, &fault.error.message, request_id);
        frames.push(FrameRecord::Sse("error".to_owned()), |out| {
            write_sse(b"error", &data, out);
        });
    }
    frames.finish()
}

fn sse_frame(frames: &mut FrameWriter, event: &StreamEvent) {
    let event_type = event.event_type();
    // The Anthropic API writes every event as compact JSON except `ping`,
    // which has a space after the colon (its recorded streams show both).
    frames.push(FrameRecord::Sse(event_type.to_owned()), |out| {
        write_sse_with(event_type.as_bytes(), out, |out| match event {
            StreamEvent::Ping => out.extend_from_slice(br#"{"type": "ping"}"#),
            // Straight into the stream's buffer, not a buffer of its own.
            _ => serde_json::to_writer(out, event).expect("stream events always serialize"),
        });
    });
}

/// Appends one Server-Sent Event as the Anthropic API writes it: `event:`
/// and one `data:` line, then a blank line.
pub(crate) fn write_sse(event: &[u8], data: &[u8], out: &mut Vec<u8>) {
    write_sse_with(event, out, |out| out.extend_from_slice(data));
}

/// [`write_sse`] with the data that `write_data` appends.
fn write_sse_with(event: &[u8], out: &mut Vec<u8>, write_data: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event);
    out.extend_from_slice(b"\ndata: ");
    write_data(out);
    out.extend_from_slice(b"\n\n");
}

/// The Anthropic error a stream exception sends on Mantle: its Anthropic
/// type, with the type's message unless the rule gives one.
pub(crate) fn stream_error(exception: ExceptionType, message: Option<&str>) -> ApiError {
    let error_type = exception.on_mantle();
    ApiError::new(error_type.code(), message.unwrap_or(error_type.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mantle's error body and message, byte for byte: the Anthropic
    /// API's key order, not the sorted order of a `serde_json::Value`
    /// built without `preserve_order`.
    #[test]
    fn the_error_and_the_message_keep_the_anthropic_apis_key_order() {
        assert_eq!(
            String::from_utf8(error_body("not_found_error", "Not \"Found\"", "req_1")).unwrap(),
            r#"{"type":"error","error":{"type":"not_found_error","message":"Not \"Found\""},"request_id":"req_1"}"#
        );
        let prepared = Prepared {
            model_id: "anthropic.claude-x".into(),
            reply: Reply::text("Hi there"),
            body: serde_json::json!({"max_tokens": 10, "messages": [{"role": "user", "content": "hello you"}]}),
        };
        let text =
            String::from_utf8(message(&prepared, &prepared.reply, &mut Rng::new(1))).unwrap();
        let id = text.split('"').nth(3).unwrap();
        assert!(id.starts_with("msg_bdrk_"), "{text}");
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"{{"id":"{id}","type":"message","role":"assistant","model":"anthropic.claude-x","#,
                    r#""content":[{{"type":"text","text":"Hi there"}}],"stop_reason":"end_turn","stop_sequence":null,"#,
                    r#""usage":{{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}}}"#
                ),
                id = id
            )
        );
    }

    /// How `error` looks on Mantle: status, Anthropic type, message.
    fn on_the_wire(error: &AwsError) -> (u16, String, String) {
        let e = error.clone().sent_by(Protocol::Mantle);
        (e.status, e.code, e.message)
    }

    fn headers() -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "anthropic-version",
            http::HeaderValue::from_static("2023-06-01"),
        );
        headers
    }

    fn answer(
        config: &ServerConfig,
        headers: &http::HeaderMap,
        body: &str,
    ) -> Result<Prepared, (u16, String, String)> {
        prepare(config, headers, body.as_bytes()).map_err(|e| on_the_wire(&e))
    }

    fn check(body: &str) -> Result<Prepared, (u16, String, String)> {
        answer(&ServerConfig::default(), &headers(), body)
    }

    fn probe(model: &str) -> String {
        format!(
            r#"{{"model":"{model}","max_tokens":1,"messages":[{{"role":"user","content":"."}}]}}"#
        )
    }

    #[test]
    fn ids_mantle_does_not_serve_are_404s_naming_the_model() {
        for id in [
            "us.anthropic.claude-sonnet-4-6",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
            "anthropic.claude-nothing",
        ] {
            let (status, error_type, message) = check(&probe(id)).err().unwrap();
            assert_eq!((status, error_type.as_str()), (404, "not_found_error"));
            assert_eq!(message, format!("The model '{id}' does not exist"));
        }
    }

    #[test]
    fn lineup_states_decide_403_and_404() {
        let config = ServerConfig::default()
            .model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled)
            .model_state("anthropic.claude-opus-5", ModelState::NotFound);
        let status = |id: &str| {
            answer(&config, &headers(), &probe(id))
                .map(|p| p.model_id)
                .map_err(|e| e.0)
        };
        assert_eq!(status("anthropic.claude-opus-5-5"), Err(403));
        assert_eq!(status("anthropic.claude-opus-5"), Err(404));
        assert_eq!(
            status("anthropic.claude-haiku-4-5"),
            Ok("anthropic.claude-haiku-4-5".to_owned())
        );
    }

    #[test]
    fn body_problems_in_the_messages_apis_words() {
        let message = |body: &str| check(body).err().unwrap().2;
        assert_eq!(
            message(r#"{"max_tokens":1,"messages":[{}]}"#),
            "model: Field required"
        );
        assert_eq!(
            message(r#"{"model":"anthropic.claude-haiku-4-5","messages":[{}]}"#),
            "max_tokens: Field required"
        );
        assert_eq!(
            message(
                r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":1,"messages":[{}],"anthropic_version":"bedrock-2023-05-31"}"#
            ),
            "anthropic_version: Extra inputs are not permitted"
        );
        assert_eq!(
            message(
                r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":1,"messages":[{}],"stream":"yes"}"#
            ),
            "stream: Input should be a valid boolean"
        );
        assert!(message("{oops").starts_with("There was an error parsing the body"));
    }

    #[test]
    fn version_header_required_and_unknown_betas_404() {
        let ok = probe("anthropic.claude-haiku-4-5");
        let config = ServerConfig::default();
        assert_eq!(
            answer(&config, &http::HeaderMap::new(), &ok).err().unwrap(),
            (
                400,
                "invalid_request_error".to_owned(),
                "anthropic-version: header is required".to_owned()
            )
        );
        let mut with_beta = headers();
        with_beta.insert(
            "anthropic-beta",
            http::HeaderValue::from_static("claude-code-20250219,context-1m-2025-08-07"),
        );
        assert!(answer(&config, &with_beta, &ok).is_ok());
        with_beta.insert(
            "anthropic-beta",
            http::HeaderValue::from_static("claude-code-20250219, no-such-beta"),
        );
        let (status, _, message) = answer(&config, &with_beta, &ok).err().unwrap();
        assert_eq!(
            (status, message.as_str()),
            (404, "The model 'anthropic.claude-haiku-4-5' does not exist")
        );
    }

    #[test]
    fn shared_errors_take_the_anthropic_type_for_the_same_failure() {
        let wire = |e: AwsError| {
            let (status, t, _) = on_the_wire(&e);
            (status, t)
        };
        let expect = |status: u16, t: &str| (status, t.to_owned());
        assert_eq!(
            wire(AwsError::from(ErrorCode::ExpiredTokenException)),
            expect(401, "authentication_error")
        );
        assert_eq!(
            wire(AwsError::front_door("Authorization header is missing")),
            expect(401, "authentication_error")
        );
        assert_eq!(
            wire(AwsError::access_denied_model()),
            expect(403, "permission_error")
        );
        assert_eq!(
            wire(AwsError::throttling()),
            expect(429, "rate_limit_error")
        );
        assert_eq!(
            wire(AwsError::from(ErrorCode::ServiceUnavailableException)),
            expect(529, "overloaded_error")
        );
        assert_eq!(
            wire(AwsError::from(ErrorCode::OverloadedError)),
            expect(529, "overloaded_error")
        );
    }

    #[test]
    fn sse_has_a_ping_after_the_first_block_starts_and_no_bedrock_metrics() {
        let mut rng = Rng::new(1);
        let prepared = check(
            r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"."}]}"#,
        )
        .ok()
        .unwrap();
        let reply = Reply::text("hello there");
        let frames = sse_frames(&prepared, &reply, || &mut rng, None, "r-1");
        let labels: Vec<String> = frames.iter().map(|f| f.label.to_string()).collect();
        assert_eq!(
            &labels[..3],
            ["sse:message_start", "sse:content_block_start", "sse:ping"]
        );
        assert_eq!(
            &frames[2].bytes[..],
            b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
        );
        assert_eq!(
            &frames.last().unwrap().bytes[..],
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let fault = SseFault {
            after_events: 2,
            error: stream_error("throttlingException".parse().unwrap(), None),
        };
        let faulted = sse_frames(&prepared, &reply, || &mut rng, Some(fault), "r-2");
        let labels: Vec<String> = faulted.iter().map(|f| f.label.to_string()).collect();
        assert_eq!(
            labels,
            [
                "sse:message_start",
                "sse:content_block_start",
                "sse:ping",
                "sse:error"
            ]
        );
        let last = String::from_utf8(faulted.last().unwrap().bytes.to_vec()).unwrap();
        let data: serde_json::Value = serde_json::from_str(
            last.strip_prefix("event: error\ndata: ")
                .unwrap()
                .trim_end(),
        )
        .unwrap();
        assert_eq!(
            data,
            serde_json::json!({"type": "error", "request_id": "r-2", "error": {
                "type": "rate_limit_error",
                "message": "Too many requests, please wait before trying again."}})
        );
    }
}
