//! Bedrock's runtime and control plane as one [`Api`]: operations named by
//! the path, SigV4 or Bedrock API keys, REST-JSON errors, event-stream
//! frames. The runtime's own checks and frames are in `runtime`, the
//! inference profile calls in `control_plane`.

use crate::api::{Api, Exchange, Planned, Requested, WireError, rest_json_error};
use crate::catalogue;
use crate::control_plane;
use crate::errors::{AwsError, ErrorCode};
use crate::guardrail;
use crate::operation::{Operation, Protocol};
use crate::policy;
use crate::reply::{self, Reply};
use crate::routes::Route;
use crate::rules::RuleContent;
use crate::runtime::{self, StreamFault};
use crate::stream_body::Framing;

/// The Bedrock endpoints.
pub(crate) struct Bedrock;

/// A Bedrock request that passed the service's checks.
pub(crate) enum Checked {
    Invoke(Invocation),
    InvokeWithResponseStream(Invocation),
    ListInferenceProfiles,
    GetInferenceProfile,
}

/// An invoke request that passed Bedrock's checks.
pub(crate) struct Invocation {
    model_id: String,
    reply: Reply,
    body: serde_json::Value,
    /// What the guardrail the request names made of it.
    guardrail: guardrail::Verdict,
}

impl Api for Bedrock {
    type Checked = Checked;

    fn protocol(&self) -> Protocol {
        Protocol::Bedrock
    }

    fn identify(&self, route: Route, _: &str, _: &[u8]) -> Result<Requested, AwsError> {
        match route {
            Route::Aws { operation, target } => Ok(Requested {
                operation,
                model: target,
            }),
            _ => Err(ErrorCode::UnknownOperationException.into()),
        }
    }

    fn check(&self, call: &Exchange<'_>) -> Result<Checked, AwsError> {
        match call.operation {
            Operation::InvokeModel => check_invocation(call).map(Checked::Invoke),
            Operation::InvokeModelWithResponseStream => {
                check_invocation(call).map(Checked::InvokeWithResponseStream)
            }
            Operation::ListInferenceProfiles => Ok(Checked::ListInferenceProfiles),
            Operation::GetInferenceProfile => Ok(Checked::GetInferenceProfile),
            _ => Err(ErrorCode::UnknownOperationException.into()),
        }
    }

    fn has_content(&self, checked: &Checked) -> bool {
        matches!(
            checked,
            Checked::Invoke(_) | Checked::InvokeWithResponseStream(_)
        )
    }

    fn answer(
        &self,
        call: &Exchange<'_>,
        checked: Checked,
        content: Option<RuleContent<'_>>,
    ) -> Result<Planned, AwsError> {
        let region = &call.caller.region;
        match checked {
            Checked::ListInferenceProfiles => {
                control_plane::list_profiles(call.config, call.raw_query, region)
                    .map(|v| Planned::json(&v))
            }
            Checked::GetInferenceProfile => {
                control_plane::get_profile(call.config, call.model.unwrap_or_default(), region)
                    .map(|v| Planned::json(&v))
            }
            Checked::Invoke(invocation) => invoke(call, invocation, content),
            Checked::InvokeWithResponseStream(invocation) => {
                Ok(invoke_with_response_stream(call, invocation, content))
            }
        }
    }

    fn wire_error(&self, error: &AwsError, _: &str) -> WireError {
        rest_json_error(error)
    }
}

/// Bedrock's checks of an invoke request, in its order: the model id (as
/// the region offers it), the policies' denies, the model's access, the
/// headers, the body, the model's output cap, then its quotas.
fn check_invocation(call: &Exchange<'_>) -> Result<Invocation, AwsError> {
    let model = call.model.unwrap_or_default();
    let region = call.caller.region.as_str();
    let resolved = catalogue::resolve_offered(call.config, model, region)?;
    // Most accounts deny nothing: the resources' ARNs are built only for
    // one that does.
    if !call.config.denies.is_empty() {
        let resources = catalogue::resources(call.config, &resolved, region);
        policy::check_denies(
            call.config,
            &policy::Request {
                principal: &call.caller.principal,
                operation: call.operation,
                region,
                resources: &resources,
            },
        )?;
    }
    let resolved = catalogue::check_access(call.config, model, resolved)?;
    check_service_tier(call.headers)?;
    let body = runtime::validate_body(call.config, call.body)?;
    let max_tokens = body["max_tokens"].as_u64().unwrap_or_default();
    if let Some(limit) = resolved.model.max_output_tokens.filter(|l| max_tokens > *l) {
        return Err(AwsError::max_tokens_over_limit(limit));
    }
    if let Some(quota) = resolved.model.quota {
        let tokens = reply::input_tokens(&body).saturating_add(max_tokens);
        call.shared
            .quotas
            .take(&resolved.model.id, quota, tokens, call.now)?;
    }
    let reply = resolved
        .model
        .reply
        .clone()
        .unwrap_or_else(|| call.config.reply.clone());
    let guardrail = guardrail::judge(call.config, call.headers, region, &body, &reply)?;
    Ok(Invocation {
        guardrail,
        model_id: resolved.model.id.clone(),
        reply,
        body,
    })
}

/// `X-Amzn-Bedrock-Service-Tier` takes one of the service model's values.
fn check_service_tier(headers: &http::HeaderMap) -> Result<(), AwsError> {
    let Some(tier) = headers.get("x-amzn-bedrock-service-tier") else {
        return Ok(());
    };
    let tier = String::from_utf8_lossy(tier.as_bytes());
    if ["reserved", "priority", "default", "flex"].contains(&tier.as_ref()) {
        return Ok(());
    }
    Err(AwsError::validation(format!(
        "1 validation error detected: Value '{tier}' at 'serviceTier' failed to satisfy constraint: Member must satisfy enum value set: [reserved, priority, default, flex]"
    )))
}

/// `InvokeModel`: the whole answer, or, for a rule's stream exception, the
/// same failure as an HTTP error.
fn invoke(
    call: &Exchange<'_>,
    invocation: Invocation,
    content: Option<RuleContent<'_>>,
) -> Result<Planned, AwsError> {
    let blocked = invocation.blocked_reply();
    let reply = match content {
        None => blocked.as_ref().unwrap_or(&invocation.reply),
        Some(RuleContent::Reply(reply)) => reply,
        Some(RuleContent::Exception {
            exception, message, ..
        }) => {
            let code = exception.code();
            return Err(code.with_message(message.unwrap_or(code.stream_message())));
        }
    };
    let answer = runtime::invoke(
        reply,
        &invocation.body,
        &invocation.model_id,
        invocation.guardrail.action(),
        &mut call.shared.rng(),
    );
    let mut headers = token_headers(answer.input_tokens, answer.output_tokens);
    headers.extend(echoed_service_tier(call.headers));
    Ok(Planned::Whole {
        content_type: "application/json",
        body: answer.body,
        headers,
    })
}

/// `InvokeModelWithResponseStream`: the event-stream frames, ending in a
/// rule's exception if it names one.
fn invoke_with_response_stream(
    call: &Exchange<'_>,
    invocation: Invocation,
    content: Option<RuleContent<'_>>,
) -> Planned {
    let blocked = invocation.blocked_reply();
    let (reply, fault) = match content {
        None => (blocked.as_ref().unwrap_or(&invocation.reply), None),
        Some(RuleContent::Reply(reply)) => (reply, None),
        Some(RuleContent::Exception {
            after_events,
            exception,
            message,
        }) => (
            &invocation.reply,
            Some(StreamFault::new(after_events, exception, message)),
        ),
    };
    let frames = runtime::stream_frames(
        reply,
        &invocation.body,
        &invocation.model_id,
        invocation.guardrail.action(),
        || call.shared.rng(),
        fault,
    );
    Planned::Stream {
        framing: Framing::EventStream,
        frames,
        headers: echoed_service_tier(call.headers).into_iter().collect(),
    }
}

impl Invocation {
    /// The guardrail's message, when it intervened: its reply is not sent.
    fn blocked_reply(&self) -> Option<Reply> {
        match &self.guardrail {
            guardrail::Verdict::Intervened(message) => Some(Reply::text(message.clone())),
            guardrail::Verdict::NotNamed | guardrail::Verdict::Passed => None,
        }
    }
}

pub(crate) fn token_headers(input_tokens: u64, output_tokens: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-amzn-bedrock-invocation-latency", "0".to_owned()),
        (
            "x-amzn-bedrock-output-token-count",
            output_tokens.to_string(),
        ),
        ("x-amzn-bedrock-input-token-count", input_tokens.to_string()),
    ]
}

/// The runtime echoes the service tier on model answers.
fn echoed_service_tier(request_headers: &http::HeaderMap) -> Option<(&'static str, String)> {
    let tier = request_headers.get("x-amzn-bedrock-service-tier")?;
    Some((
        "x-amzn-bedrock-service-tier",
        String::from_utf8_lossy(tier.as_bytes()).into_owned(),
    ))
}
