//! Mantle: the Anthropic Messages API as Bedrock serves it at
//! `https://bedrock-mantle.{region}.api.aws/anthropic/v1/messages`.
//!
//! Mantle differs from the Invoke runtime in every visible way: its own
//! model lineup (`anthropic.claude-haiku-4-5`, no version suffix), the plain
//! Anthropic body (with `model` and `stream`, betas in the `anthropic-beta`
//! header), Server-Sent Events instead of event-stream frames, and errors in
//! the Anthropic API's shape with the Anthropic API's status codes.

use bedrock_eventstream::anthropic::{ApiError, StreamEvent};
use bytes::Bytes;
use serde_json::Value;

use crate::aws_error::{AwsError, ErrorOrigin};
use crate::config::{MantleModel, ModelState, ServerConfig};
use crate::reply::{Reply, render};
use crate::rng::Rng;
use crate::rules::Operation;
use crate::stream_body::PlannedFrame;

/// Mantle's request size limit: the Anthropic API's 32 MB for the Messages
/// endpoint.
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;

/// The Anthropic API's error types, their status codes, and the message
/// sent when a rule names the type without one.
const ERROR_TYPES: &[(&str, u16, &str)] = &[
    ("invalid_request_error", 400, "Invalid request."),
    ("authentication_error", 401, "invalid x-api-key"),
    ("billing_error", 402, "Your credit balance is too low."),
    (
        "permission_error",
        403,
        "Your API key does not have permission to use the specified resource.",
    ),
    ("not_found_error", 404, "Not found."),
    (
        "request_too_large",
        413,
        "Request exceeds the maximum allowed number of bytes.",
    ),
    (
        "rate_limit_error",
        429,
        "Too many requests, please wait before trying again.",
    ),
    ("api_error", 500, "Internal server error"),
    ("timeout_error", 504, "Request timed out."),
    ("overloaded_error", 529, "Overloaded"),
];

/// The error of Anthropic type `error_type` with its status and usual
/// message; `None` for a name that is not an Anthropic error type.
pub(crate) fn error_by_type(error_type: &str) -> Option<AwsError> {
    ERROR_TYPES
        .iter()
        .find(|(t, _, _)| *t == error_type)
        .map(|&(t, status, message)| AwsError::new(status, t, message))
}

fn anthropic_error(error_type: &str, message: impl Into<String>) -> AwsError {
    let mut error = error_by_type(error_type).expect("a known Anthropic error type");
    error.message = message.into();
    error
}

/// How `error` looks on Mantle: the Anthropic status, type and message.
/// Errors made here are already Anthropic-typed; errors shared with the
/// other endpoints (authentication, rules naming AWS codes) are translated
/// to the type the Anthropic API uses for the same failure.
pub(crate) fn on_the_wire(error: &AwsError) -> (u16, String, String) {
    if ERROR_TYPES.iter().any(|(t, _, _)| *t == error.code) {
        return (error.status, error.code.clone(), error.message.clone());
    }
    let (status, error_type) = match (error.code.as_str(), error.origin) {
        // Whoever could not be identified: a missing or bad key, an
        // unknown access key, an expired token, a bad signature.
        (_, ErrorOrigin::FrontDoor | ErrorOrigin::SigV4) => (401, "authentication_error"),
        ("AccessDeniedException", _) => (403, "permission_error"),
        ("ResourceNotFoundException" | "UnknownOperationException", _) => (404, "not_found_error"),
        ("ThrottlingException" | "ModelNotReadyException", _) => (429, "rate_limit_error"),
        ("ServiceUnavailableException", _) => (529, "overloaded_error"),
        ("ModelTimeoutException", _) => (504, "timeout_error"),
        ("InternalServerException" | "ModelErrorException", _) => (500, "api_error"),
        (_, _) if error.status >= 500 => (error.status, "api_error"),
        _ => (400, "invalid_request_error"),
    };
    (status, error_type.to_owned(), error.message.clone())
}

/// The body of an error answer.
pub(crate) fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "error",
        "error": {"type": error_type, "message": message},
    }))
    .expect("a JSON value serializes")
}

/// Whether a Mantle body asks for a stream, and the model it names. Only
/// routing needs this; [`validate`] reports what is wrong with the body.
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

/// The Anthropic API's checks, first problem only: the body's shape, the
/// model, then the beta header.
pub(crate) fn prepare(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Prepared, AwsError> {
    let body = validate_body(body)?;
    let model_id = body["model"].as_str().unwrap_or_default().to_owned();
    let model = resolve(config, &model_id)?;
    check_betas(config, headers)?;
    Ok(Prepared {
        reply: model.reply.clone().unwrap_or_else(|| config.reply.clone()),
        model_id,
        body,
    })
}

fn invalid(message: impl Into<String>) -> AwsError {
    anthropic_error("invalid_request_error", message)
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
    match object.get("max_tokens") {
        None => return Err(invalid("max_tokens: Field required")),
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
        Some(v) if v.is_u64() || v.is_i64() => {
            return Err(invalid(
                "max_tokens: Input should be greater than or equal to 1",
            ));
        }
        Some(_) => return Err(invalid("max_tokens: Input should be a valid integer")),
    }
    match object.get("messages") {
        None => return Err(invalid("messages: Field required")),
        Some(Value::Array(m)) if m.is_empty() => {
            return Err(invalid("messages: at least one message is required"));
        }
        Some(Value::Array(_)) => {}
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
    }
    match object.get("stream") {
        None | Some(Value::Bool(_)) => {}
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    }
    // Fields of the Invoke body that the Messages API does not have: a
    // client that sends an Invoke body to Mantle learns it here.
    for field in ["anthropic_version", "anthropic_beta"] {
        if object.contains_key(field) {
            return Err(invalid(format!("{field}: Extra inputs are not permitted")));
        }
    }
    Ok(value)
}

/// Finds `model_id` in the Mantle lineup and checks the account may use it.
fn resolve<'c>(config: &'c ServerConfig, model_id: &str) -> Result<&'c MantleModel, AwsError> {
    let Some(model) = config.mantle_models.iter().find(|m| m.id == model_id) else {
        if is_invoke_id(model_id) {
            return Err(invalid(format!(
                "model: {model_id} is a Bedrock InvokeModel identifier; Mantle serves models by their Mantle id (for example anthropic.claude-sonnet-4-6), not by inference profile, version or ARN"
            )));
        }
        return Err(anthropic_error(
            "not_found_error",
            format!("model: {model_id}"),
        ));
    };
    match config.effective_state(&model.id, model.state) {
        ModelState::Enabled => Ok(model),
        ModelState::NotEnabled => Err(anthropic_error(
            "permission_error",
            format!(
                "You don't have access to the model {model_id}. Request access to it in the Amazon Bedrock console."
            ),
        )),
        ModelState::NotFound => Err(anthropic_error(
            "not_found_error",
            format!("model: {model_id}"),
        )),
    }
}

/// Ids only the Invoke runtime understands: an inference profile
/// (`us.anthropic...`), a versioned base id (`...-v1:0`), or an ARN.
fn is_invoke_id(model_id: &str) -> bool {
    let geography = ["us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au."]
        .iter()
        .any(|p| model_id.starts_with(p));
    let versioned = model_id.rsplit_once("-v").is_some_and(|(_, v)| {
        v.split(':')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    geography || versioned || model_id.starts_with("arn:")
}

fn check_betas(config: &ServerConfig, headers: &http::HeaderMap) -> Result<(), AwsError> {
    let unknown: Vec<String> = headers
        .get_all("anthropic-beta")
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .into_owned()
                .split(',')
                .map(|b| b.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|b| !b.is_empty() && !config.betas.iter().any(|k| k == b))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "Unexpected value(s) `{}` for the `anthropic-beta` header. Please consult our documentation at docs.anthropic.com or try again without the header.",
        unknown.join("`, `")
    )))
}

/// The non-streaming answer.
pub(crate) fn message(prepared: &Prepared, reply: &Reply, rng: &mut Rng) -> (Vec<u8>, u64, u64) {
    let mut rendered = render(reply, &prepared.body, &prepared.model_id, rng);
    // The Messages API reports the model as it was asked for.
    rendered.model = prepared.model_id.clone();
    let body = serde_json::to_vec(&rendered.message_json()).expect("a JSON value serializes");
    (body, rendered.input_tokens, rendered.output_tokens)
}

/// A mid-stream failure: after `after_events` events (pings not counted),
/// an `error` event.
pub(crate) struct SseFault {
    pub after_events: usize,
    pub error: ApiError,
}

/// The Server-Sent Events of a streamed answer, one planned write each:
/// the Anthropic API's events, a `ping` after the first block starts, no
/// Bedrock invocation metrics.
pub(crate) fn sse_frames(
    prepared: &Prepared,
    reply: &Reply,
    rng: &mut Rng,
    fault: Option<SseFault>,
) -> Vec<PlannedFrame> {
    let mut rendered = render(reply, &prepared.body, &prepared.model_id, rng);
    rendered.model = prepared.model_id.clone();
    let events = rendered.stream_events(rng, None);
    let limit = fault
        .as_ref()
        .map_or(events.len(), |f| f.after_events.min(events.len()));
    let mut frames = Vec::with_capacity(limit + 2);
    for (n, event) in events[..limit].iter().enumerate() {
        frames.push(sse_frame(event));
        let ping_here = match event {
            StreamEvent::ContentBlockStart { index: 0, .. } => true,
            StreamEvent::MessageStart { .. } => !matches!(
                events.get(n + 1),
                Some(StreamEvent::ContentBlockStart { .. })
            ),
            _ => false,
        };
        if ping_here {
            frames.push(sse_frame(&StreamEvent::Ping));
        }
    }
    if let Some(fault) = fault {
        frames.push(sse_frame(&StreamEvent::Error { error: fault.error }));
    }
    frames
}

fn sse_frame(event: &StreamEvent) -> PlannedFrame {
    let event_type = event.event_type();
    let json = event.to_json();
    let mut bytes = Vec::with_capacity(json.len() + event_type.len() + 16);
    bytes.extend_from_slice(b"event: ");
    bytes.extend_from_slice(event_type.as_bytes());
    bytes.extend_from_slice(b"\ndata: ");
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(b"\n\n");
    PlannedFrame {
        bytes: Bytes::from(bytes),
        label: format!("sse:{event_type}"),
    }
}

/// The Anthropic error a stream fault named `exception` sends: an
/// Anthropic type is used as is, a Bedrock exception type is translated.
pub(crate) fn stream_error(exception: &str, message: Option<&str>) -> ApiError {
    let error_type = if error_by_type(exception).is_some() {
        exception
    } else {
        match exception {
            "throttlingException" => "rate_limit_error",
            "serviceUnavailableException" => "overloaded_error",
            "validationException" => "invalid_request_error",
            "modelTimeoutException" => "timeout_error",
            _ => "api_error",
        }
    };
    let default = error_by_type(error_type).expect("a known Anthropic error type");
    ApiError {
        error_type: error_type.to_owned(),
        message: message.map_or(default.message, str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<Prepared, (u16, String, String)> {
        prepare(
            &ServerConfig::default(),
            &http::HeaderMap::new(),
            body.as_bytes(),
        )
        .map_err(|e| on_the_wire(&e))
    }

    #[test]
    fn invoke_ids_are_refused_naming_the_model() {
        for id in [
            "us.anthropic.claude-sonnet-4-6",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
        ] {
            let body = format!(
                r#"{{"model":"{id}","max_tokens":1,"messages":[{{"role":"user","content":"."}}]}}"#
            );
            let (status, error_type, message) = check(&body).err().unwrap();
            assert_eq!(
                (status, error_type.as_str()),
                (400, "invalid_request_error")
            );
            assert!(message.contains(id), "{message}");
        }
    }

    #[test]
    fn lineup_states_decide_403_and_404() {
        let config = ServerConfig::default()
            .model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled)
            .model_state("anthropic.claude-opus-5", ModelState::NotFound);
        let answer = |id: &str| {
            let body = format!(
                r#"{{"model":"{id}","max_tokens":1,"messages":[{{"role":"user","content":"."}}]}}"#
            );
            prepare(&config, &http::HeaderMap::new(), body.as_bytes())
                .map(|p| p.model_id)
                .map_err(|e| on_the_wire(&e).0)
        };
        assert_eq!(answer("anthropic.claude-opus-5-5"), Err(403));
        assert_eq!(answer("anthropic.claude-opus-5"), Err(404));
        assert_eq!(answer("anthropic.claude-nothing"), Err(404));
        assert_eq!(
            answer("anthropic.claude-haiku-4-5"),
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
    fn shared_errors_take_the_anthropic_type_for_the_same_failure() {
        let wire = |e: AwsError| {
            let (status, t, _) = on_the_wire(&e);
            (status, t)
        };
        assert_eq!(
            wire(AwsError::by_name("ExpiredTokenException").unwrap()),
            (401, "authentication_error".into())
        );
        assert_eq!(
            wire(AwsError::front_door("Authorization header is missing")),
            (401, "authentication_error".into())
        );
        assert_eq!(
            wire(AwsError::access_denied_model()),
            (403, "permission_error".into())
        );
        assert_eq!(
            wire(AwsError::throttling()),
            (429, "rate_limit_error".into())
        );
        assert_eq!(
            wire(AwsError::by_name("ServiceUnavailableException").unwrap()),
            (529, "overloaded_error".into())
        );
        assert_eq!(
            wire(error_by_type("overloaded_error").unwrap()),
            (529, "overloaded_error".into())
        );
    }

    #[test]
    fn sse_has_a_ping_after_the_first_block_starts_and_no_bedrock_metrics() {
        let mut rng = Rng::new(1);
        let prepared = check(r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"."}]}"#).ok().unwrap();
        let frames = sse_frames(&prepared, &Reply::text("hello there"), &mut rng, None);
        let labels: Vec<&str> = frames.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            &labels[..3],
            ["sse:message_start", "sse:content_block_start", "sse:ping"]
        );
        assert_eq!(labels.last(), Some(&"sse:message_stop"));
        let last = String::from_utf8(frames.last().unwrap().bytes.to_vec()).unwrap();
        assert_eq!(
            last,
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let faulted = sse_frames(
            &prepared,
            &Reply::text("hello there"),
            &mut rng,
            Some(SseFault {
                after_events: 2,
                error: stream_error("throttlingException", None),
            }),
        );
        let labels: Vec<&str> = faulted.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "sse:message_start",
                "sse:content_block_start",
                "sse:ping",
                "sse:error"
            ]
        );
    }
}
