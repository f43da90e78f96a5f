//! The user's turn: which endpoint a model goes to, the streamed request,
//! and the CLI's resends of a turn refused with a 400 it has no other
//! answer for, such as the on-demand throughput refusal (optional parts
//! dropped in two rounds, [`MessagesRequest::resends_after_400`], then
//! the error). A refusal of the model itself and a prompt too long are
//! not sent again.
//!
//! A turn's shape per model comes from the catalogue (see
//! [`crate::request::turn_request`]); [`prompt_request`] alone sends none
//! of it. A 200 on the stream call that is not an event stream is refused
//! (the content-type guard, `CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD`
//! turns it off, and the body is read as a stream); a stream that breaks,
//! and a 404 on the stream call, get one non-streaming retry. When the retried answer does not begin with
//! the text already shown, it is shown whole after a line break: it is a
//! new answer, not the rest of the old one.

use crate::authorize::ModelRegion;
use crate::clock::TimeSource;
use crate::config::Config;
use crate::credentials::CredentialSource;
use crate::endpoint::{Endpoint, endpoint_for, split_context_suffix};
use crate::error::{Error, ErrorKind};
use crate::failure::{Failure, ModelRefusal, classify, model_refusal};
use crate::profile::{Profile, Texts};
use crate::provider::{Call, Plane, Provider};
use crate::request::{
    CallKind, Identity, Message, MessagesRequest, TextBlock, Thinking, model_path,
};
use crate::retrying::{AttemptError, GaveUp};
use crate::stream::{Completion, StreamFailure, read_invoke_stream, read_mantle_stream};
use crate::transport::Response;

/// Whether the CLI sends a turn again, with parts dropped, after
/// `failure`: a 400 that is final or the on-demand throughput refusal,
/// but not a refusal of the model (the ladder's business) or one with a
/// recovery of its own (the profile's `own_recovery` words).
fn sent_again_after(cli: &Profile, failure: &crate::failure::ApiFailure) -> bool {
    failure.status == 400
        && matches!(
            classify(failure),
            Failure::Final | Failure::OnDemandThroughput
        )
        && model_refusal(failure) != Some(ModelRefusal::Refused)
        && !cli.requests.has_own_recovery(&failure.message)
}

/// The system prompt of a turn from the command line.
pub const SYSTEM_PROMPT: &str = "You are bedrock-client, a command-line client for Claude on Amazon Bedrock. Answer the user's request.";

/// The request for a one-prompt turn (`bedrock-client -p`): the prompt as
/// the user message, the client's system prompt, caching markers as the
/// configuration says.
pub fn prompt_request(config: &Config, identity: &Identity, prompt: &str) -> MessagesRequest {
    conversation_request(config, identity, vec![Message::user_block(prompt)])
}

/// The request for a turn of a conversation: `messages` (the history and
/// the new prompt, unmarked), the client's system prompt, caching markers
/// as the configuration says.
pub fn conversation_request(
    config: &Config,
    identity: &Identity,
    messages: Vec<Message>,
) -> MessagesRequest {
    let mut request = MessagesRequest {
        messages,
        system: vec![TextBlock::new(SYSTEM_PROMPT)],
        tools: Vec::new(),
        user_id: identity.metadata_user_id(),
        max_tokens: config.cli.requests.default_max_tokens,
        thinking: None,
        context_management: None,
        output_config: None,
        header_betas: Vec::new(),
        body_betas: Vec::new(),
    };
    request.mark_for_caching(config.prompt_caching);
    request
}

/// Why a turn failed.
#[derive(Debug)]
pub enum TurnError {
    /// The model or endpoint cannot be used as configured.
    Setup(Error),
    /// The service refused, after the retries (and resends) it allows.
    Refused(GaveUp),
    /// The answer began but its stream did not finish.
    Stream(StreamFailure),
}

/// Sends `request` to `model` as a streamed turn and reads the answer,
/// handing text to `on_text` as it arrives.
pub async fn run_turn<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    model: &str,
    request: MessagesRequest,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, TurnError> {
    run_turn_for(provider, model, ModelRegion::Main, request, on_text).await
}

/// [`run_turn`] for a model that may be the small/fast one: in
/// [`ModelRegion::SmallFast`], the turn goes to
/// `ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION` (where that model's id was
/// chosen for).
pub async fn run_turn_for<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    model: &str,
    region: ModelRegion,
    mut request: MessagesRequest,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, TurnError> {
    run_turn_sending(provider, model, region, &mut request, on_text).await
}

/// [`run_turn_for`], leaving in `request` the last request sent (after
/// resends, what a session's later turns start from).
pub async fn run_turn_sending<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    model: &str,
    region: ModelRegion,
    request: &mut MessagesRequest,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, TurnError> {
    let (model, one_million) = split_context_suffix(model);
    let endpoint = endpoint_for(model, provider.config().providers).map_err(TurnError::Setup)?;
    if one_million {
        request.ask_for_context_1m(endpoint);
    }
    let target = Target {
        model,
        endpoint,
        region,
    };
    let response = match send_with_resends(provider, target, request).await {
        Ok(response) => response,
        // A 404 on the stream call is retried without streaming.
        Err(gave_up)
            if endpoint == Endpoint::Bedrock
                && matches!(&gave_up.last, AttemptError::Api(f) if f.status == 404) =>
        {
            return invoke_once(provider, target, request, "", on_text)
                .await
                .map_err(|_| TurnError::Refused(gave_up));
        }
        Err(gave_up) => return Err(TurnError::Refused(gave_up)),
    };
    if endpoint == Endpoint::Bedrock
        && let Some(refusal) = content_type_guard(provider.config(), &response)
    {
        return Err(TurnError::Stream(StreamFailure::Broken(Error::new(
            ErrorKind::Request,
            refusal,
        ))));
    }
    read_stream(provider, target, request, response, on_text).await
}

/// Where a turn goes: the model's id as sent, its endpoint and region.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    model: &'a str,
    endpoint: Endpoint,
    region: ModelRegion,
}

/// Sends `request` as a streamed turn to `target`. After a 400 the CLI
/// answers with resends, they are sent one by one (`request` becomes the
/// last one sent) until one is answered or none is left.
async fn send_with_resends<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    target: Target<'_>,
    request: &mut MessagesRequest,
) -> Result<Response, GaveUp> {
    let Target {
        model,
        endpoint,
        region,
    } = target;
    let cli = std::sync::Arc::clone(&provider.config().cli);
    // Filled on the first 400 that may be sent again; drained one by one.
    let mut resends: Option<std::vec::IntoIter<MessagesRequest>> = None;
    loop {
        let betas = request.header_betas_for(endpoint);
        let call = Call {
            endpoint,
            plane: Plane::Data {
                kind: CallKind::Turn,
                betas: &betas,
            },
            region,
            method: http::Method::POST,
            path_and_query: match endpoint {
                Endpoint::Bedrock => model_path(model, "invoke-with-response-stream"),
                Endpoint::Mantle => "/v1/messages?beta=true".to_owned(),
            },
            body: request
                .to_body(endpoint, CallKind::Turn, model, true)
                .into(),
            timeout: cli.time_limits.turn,
        };
        let gave_up = match provider.send(&call).await {
            Ok(response) => return Ok(response),
            Err(gave_up) => gave_up,
        };
        if !matches!(&gave_up.last, AttemptError::Api(f) if sent_again_after(&cli, f)) {
            return Err(gave_up);
        }
        match resends
            .get_or_insert_with(|| request.resends_after_400(&cli.requests).into_iter())
            .next()
        {
            Some(next) => *request = next,
            None => return Err(gave_up),
        }
    }
}

/// A 200 on the Invoke stream call that is not an event stream is
/// refused (the content-type guard), unless
/// `CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD` turns the guard off.
/// Then the body is read as an event stream whatever its label, as the CLI
/// reads it (2.1.328 and 2.1.332, `wire/content-type-guard-disabled`): a
/// gateway's JSON message is no stream, so it breaks, and the turn gets
/// the non-streaming retry like any broken stream. The refusal's words,
/// if it is refused.
fn content_type_guard(config: &Config, response: &Response) -> Option<String> {
    let content_type = response.header("content-type").unwrap_or_default();
    let passes = content_type.starts_with(EVENT_STREAM)
        || config
            .vars
            .is_truthy("CLAUDE_CODE_DISABLE_BEDROCK_CONTENT_TYPE_GUARD");
    (!passes).then(|| {
        Texts::fill(
            &config.cli.texts.content_type_guard,
            &[("content_type", content_type)],
        )
    })
}

/// Reads the turn's stream as it arrives; on Invoke, a stream that breaks
/// gets the CLI's one non-streaming retry of `request`.
async fn read_stream<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    target: Target<'_>,
    request: &MessagesRequest,
    response: Response,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, TurnError> {
    let mut shown = String::new();
    let outcome = {
        let mut show = |text: &str| {
            shown.push_str(text);
            on_text(text);
        };
        let body = response.into_body();
        let cli = &provider.config().cli;
        match target.endpoint {
            Endpoint::Bedrock => read_invoke_stream(body, cli, &mut show).await,
            Endpoint::Mantle => read_mantle_stream(body, cli, &mut show).await,
        }
    };
    match outcome {
        Ok(answer) => Ok(answer),
        // An exception frame, a bad CRC, a cut: one non-streaming retry
        // (golden/p_stream_exception), the text shown not shown again. If
        // the retry is refused, its refusal ends the turn (the CLI 2.1.328
        // and 2.1.332, customers/truncated-event-byte-complete); if it
        // breaks too, the stream's failure does.
        Err(failure) if target.endpoint == Endpoint::Bedrock => {
            match invoke_once(provider, target, request, &shown, on_text).await {
                Err(TurnError::Stream(_)) => Err(TurnError::Stream(failure)),
                retried => retried,
            }
        }
        Err(failure) => Err(TurnError::Stream(failure)),
    }
}

/// The content type of an Invoke stream.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// The largest non-streamed answer read.
const MAX_MESSAGE_BODY: usize = 32 << 20;

/// The CLI's one non-streaming retry of a turn: `POST /model/{id}/invoke`
/// with at most the profile's tokens and time (64,000, 300 s). Text in
/// `shown` was already printed; only the rest is handed on.
async fn invoke_once<S: CredentialSource, C: TimeSource>(
    provider: &mut Provider<S, C>,
    target: Target<'_>,
    request: &MessagesRequest,
    shown: &str,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, TurnError> {
    let (max_tokens, time_limit) = {
        let cli = &provider.config().cli;
        (
            cli.requests.non_streaming_max_tokens,
            cli.time_limits.non_streaming,
        )
    };
    let mut request = request.clone();
    request.max_tokens = request.max_tokens.min(max_tokens);
    if let Some(Thinking::Budget { budget_tokens }) = &mut request.thinking {
        *budget_tokens = (*budget_tokens).min(request.max_tokens.saturating_sub(1));
    }
    let betas = request.header_betas_for(Endpoint::Bedrock);
    let call = Call {
        endpoint: Endpoint::Bedrock,
        plane: Plane::Data {
            kind: CallKind::Turn,
            betas: &betas,
        },
        region: target.region,
        method: http::Method::POST,
        path_and_query: model_path(target.model, "invoke"),
        body: request
            .to_body(Endpoint::Bedrock, CallKind::Turn, target.model, false)
            .into(),
        timeout: time_limit,
    };
    let response = provider.send(&call).await.map_err(TurnError::Refused)?;
    let body = response
        .bytes(MAX_MESSAGE_BODY, time_limit)
        .await
        .map_err(|e| TurnError::Stream(StreamFailure::Broken(e)))?;
    answer_from_json(&body, shown, on_text).map_err(TurnError::Stream)
}

/// Reads a non-streamed Messages answer; hands on the text beyond what
/// `shown` already printed.
fn answer_from_json(
    body: &[u8],
    shown: &str,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, StreamFailure> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        StreamFailure::Broken(Error::new(
            ErrorKind::Request,
            format!("the answer is not a Messages JSON document: {e}"),
        ))
    })?;
    let text: String = json["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect()
        })
        .unwrap_or_default();
    match text.strip_prefix(shown) {
        Some(rest) => on_text(rest),
        None => {
            on_text("\n");
            on_text(&text);
        }
    }
    let usage = serde_json::from_value(json["usage"].clone()).unwrap_or_default();
    Ok(Completion {
        text,
        stop_reason: json["stop_reason"].as_str().map(str::to_owned),
        usage,
        metrics: None,
    })
}

#[cfg(test)]
mod tests;
