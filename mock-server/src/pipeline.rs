//! The request pipeline every AWS request goes through: read the body,
//! tell the operation, authenticate, let a rule answer or the operation's
//! handler, render the answer in the endpoint's protocol, journal it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bedrock_eventstream::bedrock::Exception;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::auth::{self, Caller};
use crate::aws_error::AwsError;
use crate::catalog;
use crate::config::{ServerConfig, Timestamp};
use crate::control_plane;
use crate::delivery::{CutAfterHead, Dribbled};
use crate::frame_fault::{self, Framing};
use crate::journal::{AuthRecord, RecordedRequest, recorded_body, redact_headers, redact_query};
use crate::listen::CloseUnanswered;
use crate::mantle;
use crate::reply::Reply;
use crate::routes::{self, Route};
use crate::rules::{Answer, Operation, Protocol, RequestFacts, Reset};
use crate::runtime::{self, StreamFault};
use crate::server::Shared;
use crate::sigv4::SignedRequest;
use crate::stream_body::{PacedBody, PlannedFrame, StreamStall};
use crate::sts;
use crate::timefmt::Utc;

/// What the pipeline decided to send.
enum Outcome {
    Error(AwsError),
    /// A whole body.
    Whole {
        content_type: &'static str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
    /// Frames written one at a time (event-stream or SSE).
    Stream {
        content_type: &'static str,
        frames: Vec<PlannedFrame>,
    },
    /// A rule's `Http` answer, sent as given.
    Custom {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

/// What a request is, once its path (and for Mantle and STS, its body) has
/// been read.
enum Identified {
    Operation {
        operation: Operation,
        /// The model or profile id: from the path, or Mantle's body.
        target: Option<String>,
    },
    /// No operation: the error the endpoint answers for it, after
    /// authentication.
    Unknown(AwsError),
}

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let route = routes::classify(&parts.method, &raw_path);
    if let Route::Admin(rest) = route {
        return crate::admin::handle(&shared, &parts.method, &rest, &raw_query, body).await;
    }
    let now = shared.clock.now();
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let request_id = shared.rng().uuid();
    let protocol = match &route {
        Route::Aws { operation, .. } => operation.protocol(),
        Route::Mantle | Route::UnknownMantle => Protocol::Mantle,
        Route::Sts => Protocol::Sts,
        Route::Admin(_) | Route::Unknown => Protocol::Bedrock,
    };
    let config = shared.config();
    let limit = match protocol {
        Protocol::Mantle => mantle::MAX_BODY,
        Protocol::Bedrock | Protocol::Sts => runtime::MAX_BODY,
    };
    let body = read_body(body, limit, shared.body_read_limit).await;
    let identified = identify(route, &raw_query, body.as_deref().unwrap_or_default());
    let (operation, target) = match &identified {
        Identified::Operation { operation, target } => (Some(*operation), target.clone()),
        Identified::Unknown(_) => (None, None),
    };
    let (auth, mut outcome, rule) = match &body {
        // The body was not read whole, so there is nothing to verify a
        // signature against; AWS's size check answers first as well.
        Err(unread) => (not_checked(*unread), unread.outcome(protocol), None),
        Ok(bytes) => {
            let signed = SignedRequest {
                method: parts.method.as_str(),
                raw_path: &raw_path,
                raw_query: &raw_query,
                headers: &parts.headers,
                body: bytes,
            };
            let (auth, caller) = if operation == Some(Operation::AssumeRoleWithWebIdentity) {
                // The web identity token is the credential; STS takes the
                // call unsigned.
                auth::unsigned(&config, "web-identity")
            } else if operation == Some(Operation::GetRoleCredentials) {
                // Not SigV4: the SSO access token is the credential.
                let (mut record, caller) = auth::unsigned(&config, "sso-token");
                match crate::sso::check_token(&config, &parts.headers, now) {
                    Ok(()) => (record, caller),
                    Err(e) => {
                        record.accepted = false;
                        record.reason = Some(format!("{}: {}", e.code, e.message));
                        (record, Err(e))
                    }
                }
            } else {
                auth::authenticate(&config, now, &signed, protocol)
            };
            let (outcome, rule) = match (caller, identified) {
                (Err(e), _) => (Outcome::Error(e), None),
                (Ok(_), Identified::Unknown(e)) => (Outcome::Error(e), None),
                (Ok(caller), Identified::Operation { operation, target }) => {
                    let request = AwsRequest {
                        operation,
                        target: target.as_deref().unwrap_or_default(),
                        raw_query: &raw_query,
                        headers: &parts.headers,
                        body: bytes,
                        request_id: &request_id,
                        now,
                    };
                    let prepared = prepare(&config, &caller, &request);
                    // A rule that changes the content of a normal answer
                    // applies only where there is one to change.
                    let content_rules = matches!(prepared, Some(Ok(_)));
                    let facts = RequestFacts {
                        operation: Some(operation),
                        model_id: target.as_deref(),
                        headers: &parts.headers,
                    };
                    let rule = shared.answering_rule(&facts, content_rules);
                    let answer = rule.as_ref().and_then(|r| r.answer.clone());
                    let outcome =
                        answer_request(&shared, &config, &caller, &request, prepared, answer);
                    (outcome, rule)
                }
            };
            (auth, outcome, rule)
        }
    };
    let mut record = RecordedRequest {
        seq,
        time: Timestamp(now),
        method: parts.method.to_string(),
        raw_path: raw_path.clone(),
        query: redact_query(&raw_query),
        headers: redact_headers(&parts.headers),
        body: match &body {
            // STS forms can carry a web identity token.
            Ok(b) if protocol == Protocol::Sts => redact_query(&recorded_body(b)),
            Ok(b) => recorded_body(b),
            Err(_) => String::new(),
        },
        operation,
        model_id: target,
        auth,
        rule: rule.as_ref().map(|r| r.label.clone()),
        status: 0,
        error_type: None,
        request_id: request_id.clone(),
        frames: Vec::new(),
    };
    // A stall is keyed by what the client sent, so a client sharing the
    // clock can tell its wait on this request from its others.
    let request_line = if raw_query.is_empty() {
        format!("{} {raw_path}", parts.method)
    } else {
        format!("{} {raw_path}?{raw_query}", parts.method)
    };
    let (stall, fault, reset, dribble) = rule.map_or((None, None, None, None), |r| {
        (r.stall, r.fault, r.reset, r.dribble)
    });
    if let (Some(fault), Outcome::Stream { frames, .. }) = (fault, &mut outcome) {
        let framing = match protocol {
            Protocol::Mantle => Framing::ServerSentEvents,
            Protocol::Bedrock | Protocol::Sts => Framing::EventStream,
        };
        frame_fault::apply(fault, framing, frames);
    }
    let in_stream = matches!(outcome, Outcome::Stream { .. });
    let (head_stall, stream_stall) = match stall {
        Some(stall) if in_stream && stall.after_events.is_some() => (
            None,
            Some(StreamStall {
                after_frames: stall.after_events.unwrap_or_default(),
                duration: stall.duration(),
                request: request_line.clone(),
            }),
        ),
        Some(stall) => (Some(stall.duration()), None),
        None => (None, None),
    };
    let mut response = into_response(
        &shared,
        protocol,
        outcome,
        &request_id,
        &parts.headers,
        (seq, stream_stall),
        &config,
        &mut record,
    );
    if let Some(dribble) = dribble {
        response = response.map(|body| Body::new(Dribbled::new(body, dribble)));
    }
    match reset {
        Some(Reset::BeforeHead) => {
            // Nothing is sent: status 0 in the journal says so.
            record.status = 0;
            record.error_type = None;
            record.frames.push("reset".to_owned());
            response.extensions_mut().insert(CloseUnanswered);
        }
        Some(Reset::AfterHead) => {
            // The body planned (frames included) is never sent.
            record.frames.push("reset".to_owned());
            response = response.map(|_| Body::new(CutAfterHead::default()));
        }
        None => {}
    }
    if shared.log_requests {
        eprintln!("{}", log_line(&record));
    }
    shared.journal.push(record);
    if let Some(duration) = head_stall {
        stall_before_head(&shared, seq, request_line, duration).await;
    }
    response
}

/// A rule's stall before the response head, request `seq` already in the
/// journal (a request that is stalling shows there).
async fn stall_before_head(shared: &Shared, seq: u64, request_line: String, duration: Duration) {
    shared.journal.frame_sent(seq, "stall".to_owned());
    // The stall, and the silence after a client gave up on it, end when
    // the server stops: its shutdown waits for no one.
    let stopped = shared.stopped();
    tokio::pin!(stopped);
    let gave_up = shared.journal.gave_up_mark(seq);
    let stall = shared
        .clock
        .stall(request_line, None, duration, Some(gave_up));
    let over = tokio::select! {
        over = stall => over,
        () = &mut stopped => true,
    };
    if !over {
        // The client gave up first: like a server still stalling, send
        // nothing (the connection's close may drop this sooner).
        stopped.await;
    }
}

fn identify(route: Route, raw_query: &str, body: &[u8]) -> Identified {
    match route {
        Route::Aws { operation, target } => Identified::Operation { operation, target },
        Route::Mantle => {
            let (operation, target) = mantle::peek(body);
            Identified::Operation { operation, target }
        }
        Route::Sts => {
            let params = sts::Params::read(raw_query, body);
            // Operations exist for one API version; STS names the version
            // it could not find them in.
            if params.get("Version") != Some(sts::VERSION) {
                return Identified::Unknown(sts::unknown_action(&params));
            }
            let operation = match params.get("Action") {
                Some("GetCallerIdentity") => Operation::GetCallerIdentity,
                Some("AssumeRole") => Operation::AssumeRole,
                Some("AssumeRoleWithWebIdentity") => Operation::AssumeRoleWithWebIdentity,
                _ => return Identified::Unknown(sts::unknown_action(&params)),
            };
            Identified::Operation {
                operation,
                target: None,
            }
        }
        Route::UnknownMantle => Identified::Unknown(mantle::unknown_path()),
        Route::Admin(_) | Route::Unknown => Identified::Unknown(unknown_operation()),
    }
}

/// Why a request's body was not read whole.
#[derive(Debug, Clone, Copy)]
enum Unread {
    /// Over the endpoint's size limit.
    TooLarge,
    /// Not whole within the read limit (a stalled or dribbling upload).
    TooSlow(Duration),
    /// The connection broke mid-body: nobody is left to answer.
    Broken,
}

impl Unread {
    fn outcome(self, protocol: Protocol) -> Outcome {
        match self {
            Unread::TooLarge => Outcome::Error(too_large(protocol)),
            // Sent nowhere, but the journal's entry needs an answer.
            Unread::Broken => Outcome::Custom {
                status: 400,
                headers: vec![("connection".to_owned(), "close".to_owned())],
                body: String::new(),
            },
            // No capture of AWS's answer to a stalled upload exists: this
            // is HTTP's own, and the connection is not kept.
            Unread::TooSlow(_) => Outcome::Custom {
                status: 408,
                headers: vec![("connection".to_owned(), "close".to_owned())],
                body: String::new(),
            },
        }
    }
}

async fn read_body(body: Body, size_limit: usize, time_limit: Duration) -> Result<Bytes, Unread> {
    match tokio::time::timeout(time_limit, axum::body::to_bytes(body, size_limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let over_limit = e
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            Err(if over_limit {
                Unread::TooLarge
            } else {
                Unread::Broken
            })
        }
        Err(_) => Err(Unread::TooSlow(time_limit)),
    }
}

fn not_checked(unread: Unread) -> AuthRecord {
    AuthRecord {
        scheme: "not checked".to_owned(),
        access_key_id: None,
        region: None,
        service: None,
        accepted: false,
        reason: Some(match unread {
            Unread::TooLarge => "body over the size limit".to_owned(),
            Unread::TooSlow(limit) => format!("body not received within {} s", limit.as_secs_f64()),
            Unread::Broken => "the connection broke before the body was whole".to_owned(),
        }),
    }
}

fn too_large(protocol: Protocol) -> AwsError {
    match protocol {
        Protocol::Mantle => mantle::error_by_type("request_too_large").expect("a known type"),
        Protocol::Bedrock | Protocol::Sts => runtime::body_too_large(),
    }
}

/// No capture of AWS's answer to an unknown path exists; this is the error
/// code AWS's REST front end uses for it.
fn unknown_operation() -> AwsError {
    AwsError::new(404, "UnknownOperationException", "Unknown operation")
}

/// The parts of a request the answer is made from.
struct AwsRequest<'a> {
    operation: Operation,
    /// The model or profile id ("" when the operation has none).
    target: &'a str,
    raw_query: &'a str,
    headers: &'a http::HeaderMap,
    body: &'a Bytes,
    request_id: &'a str,
    now: std::time::SystemTime,
}

/// A model request that passed the service's checks.
enum Prepared {
    Invoke(PreparedInvoke),
    Mantle(mantle::Prepared),
}

/// The service's own checks of a model request (`None` for other
/// operations), made before rules are consulted so that a content rule
/// only ever changes an answer that would have succeeded.
fn prepare(
    config: &ServerConfig,
    caller: &Caller,
    request: &AwsRequest<'_>,
) -> Option<Result<Prepared, AwsError>> {
    match request.operation {
        Operation::InvokeModel | Operation::InvokeModelWithResponseStream => {
            Some(prepare_invoke(config, caller, request).map(Prepared::Invoke))
        }
        Operation::MantleMessages | Operation::MantleMessagesStream => {
            Some(mantle::prepare(config, request.headers, request.body).map(Prepared::Mantle))
        }
        Operation::ListInferenceProfiles
        | Operation::GetInferenceProfile
        | Operation::GetCallerIdentity
        | Operation::AssumeRole
        | Operation::AssumeRoleWithWebIdentity
        | Operation::GetRoleCredentials => None,
    }
}

/// Answers an authenticated request: the rule's answer if one applies,
/// else the operation's normal answer.
fn answer_request(
    shared: &Shared,
    config: &ServerConfig,
    caller: &Caller,
    request: &AwsRequest<'_>,
    prepared: Option<Result<Prepared, AwsError>>,
    rule: Option<Answer>,
) -> Outcome {
    let protocol = request.operation.protocol();
    if let Some(error) = rule.as_ref().and_then(|a| a.as_error(protocol)) {
        return Outcome::Error(error);
    }
    if let Some(Answer::Http {
        status,
        headers,
        body,
    }) = rule
    {
        return Outcome::Custom {
            status,
            headers: headers.into_iter().collect(),
            body,
        };
    }
    let result = match (request.operation, prepared) {
        (Operation::ListInferenceProfiles, _) => {
            control_plane::list_profiles(config, request.raw_query, &caller.region).map(json)
        }
        (Operation::GetInferenceProfile, _) => {
            control_plane::get_profile(config, request.target, &caller.region).map(json)
        }
        (Operation::GetCallerIdentity, _) => Ok(Outcome::Whole {
            content_type: "text/xml",
            body: sts::caller_identity(config, caller.access_key_id.as_deref(), request.request_id),
            headers: Vec::new(),
        }),
        (operation @ (Operation::AssumeRole | Operation::AssumeRoleWithWebIdentity), _) => {
            assume_role(shared, config, caller, request, operation)
        }
        (Operation::GetRoleCredentials, _) => role_credentials(shared, request),
        (_, Some(Err(e))) => Err(e),
        (operation, Some(Ok(Prepared::Invoke(p)))) => {
            answer_invoke(shared, operation, p, rule.as_ref())
        }
        (operation, Some(Ok(Prepared::Mantle(p)))) => {
            answer_mantle(shared, operation, &p, rule.as_ref(), request.request_id)
        }
        (operation, None) => unreachable!("{operation:?} is prepared before it is answered"),
    };
    result.unwrap_or_else(Outcome::Error)
}

fn assume_role(
    shared: &Shared,
    config: &ServerConfig,
    caller: &Caller,
    request: &AwsRequest<'_>,
    operation: Operation,
) -> Result<Outcome, AwsError> {
    let params = sts::Params::read(request.raw_query, request.body);
    let with_web_identity = operation == Operation::AssumeRoleWithWebIdentity;
    let assumed = sts::assume(
        config,
        &params,
        caller.access_key_id.as_deref(),
        with_web_identity,
        request.now,
        &mut shared.rng(),
    )?;
    let action = if with_web_identity {
        "AssumeRoleWithWebIdentity"
    } else {
        "AssumeRole"
    };
    let body = sts::assumed_response(action, &assumed, request.request_id);
    shared.add_assumed_credential(assumed.credential);
    Ok(Outcome::Whole {
        content_type: "text/xml",
        body,
        headers: Vec::new(),
    })
}

/// The SSO portal, once the token passed: the next queued set if any (so
/// a scenario can make SSO hand out bad credentials), else a fresh session.
fn role_credentials(shared: &Shared, request: &AwsRequest<'_>) -> Result<Outcome, AwsError> {
    let (role, account) = crate::sso::role(request.raw_query)?;
    let credential = match shared.issue_credential() {
        Some(queued) => queued,
        None => {
            let minted = crate::sso::mint(&role, &account, request.now, &mut shared.rng());
            shared.add_assumed_credential(minted.clone());
            minted
        }
    };
    Ok(Outcome::Whole {
        content_type: "application/json",
        body: crate::sso::response(&credential, request.now),
        headers: Vec::new(),
    })
}

fn json(value: serde_json::Value) -> Outcome {
    Outcome::Whole {
        content_type: "application/json",
        body: serde_json::to_vec(&value).expect("a JSON value serializes"),
        headers: Vec::new(),
    }
}

/// An invoke request that passed Bedrock's checks.
struct PreparedInvoke {
    model_id: String,
    reply: Reply,
    body: serde_json::Value,
}

/// Bedrock's checks of an invoke request, in its order: the model id, the
/// headers, the body.
fn prepare_invoke(
    config: &ServerConfig,
    caller: &Caller,
    request: &AwsRequest<'_>,
) -> Result<PreparedInvoke, AwsError> {
    let resolved = catalog::resolve_for_invoke(config, request.target, &caller.region)?;
    check_service_tier(request.headers)?;
    let body = runtime::validate_body(config, request.body)?;
    Ok(PreparedInvoke {
        model_id: resolved.model.id.clone(),
        reply: resolved
            .model
            .reply
            .clone()
            .unwrap_or_else(|| config.reply.clone()),
        body,
    })
}

fn answer_invoke(
    shared: &Shared,
    operation: Operation,
    prepared: PreparedInvoke,
    rule: Option<&Answer>,
) -> Result<Outcome, AwsError> {
    let (reply, fault) = match rule {
        Some(Answer::Reply(reply)) => (reply.clone(), None),
        Some(Answer::StreamException {
            after_events,
            exception,
            message,
        }) => {
            let message = message
                .clone()
                .unwrap_or_else(|| runtime::default_exception_message(exception).to_owned());
            if operation == Operation::InvokeModel {
                // Outside a stream the same failure is an HTTP error.
                let status = Exception::new(exception.clone(), "")
                    .kind()
                    .http_status()
                    .unwrap_or(500);
                return Err(AwsError::new(status, upper_first(exception), message));
            }
            let fault = StreamFault {
                after_events: *after_events,
                exception: Exception::new(exception.clone(), message),
            };
            (prepared.reply, Some(fault))
        }
        _ => (prepared.reply, None),
    };
    let mut rng = shared.rng();
    if operation == Operation::InvokeModel {
        let answer = runtime::invoke(&reply, &prepared.body, &prepared.model_id, &mut rng);
        return Ok(Outcome::Whole {
            content_type: "application/json",
            body: answer.body,
            headers: token_headers(answer.input_tokens, answer.output_tokens),
        });
    }
    Ok(Outcome::Stream {
        content_type: "application/vnd.amazon.eventstream",
        frames: runtime::stream_frames(&reply, &prepared.body, &prepared.model_id, &mut rng, fault),
    })
}

fn token_headers(input_tokens: u64, output_tokens: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-amzn-bedrock-invocation-latency", "0".to_owned()),
        (
            "x-amzn-bedrock-output-token-count",
            output_tokens.to_string(),
        ),
        ("x-amzn-bedrock-input-token-count", input_tokens.to_string()),
    ]
}

fn answer_mantle(
    shared: &Shared,
    operation: Operation,
    prepared: &mantle::Prepared,
    rule: Option<&Answer>,
    request_id: &str,
) -> Result<Outcome, AwsError> {
    let (reply, fault) = match rule {
        Some(Answer::Reply(reply)) => (reply, None),
        Some(Answer::StreamException {
            after_events,
            exception,
            message,
        }) => {
            let error = mantle::stream_error(exception, message.as_deref());
            if operation == Operation::MantleMessages {
                // Outside a stream the same failure is an HTTP error.
                let mut http = mantle::error_by_type(&error.error_type).expect("a known type");
                http.message = error.message;
                return Err(http);
            }
            let fault = mantle::SseFault {
                after_events: *after_events,
                error,
            };
            (&prepared.reply, Some(fault))
        }
        _ => (&prepared.reply, None),
    };
    let mut rng = shared.rng();
    if operation == Operation::MantleMessages {
        let body = mantle::message(prepared, reply, &mut rng);
        return Ok(Outcome::Whole {
            content_type: "application/json",
            body,
            headers: Vec::new(),
        });
    }
    Ok(Outcome::Stream {
        content_type: "text/event-stream; charset=utf-8",
        frames: mantle::sse_frames(prepared, reply, &mut rng, fault, request_id),
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

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// An error as the endpoint's protocol puts it on the wire.
struct WireError {
    status: u16,
    /// The code or type the client sees, for the journal.
    code: String,
    content_type: &'static str,
    body: Vec<u8>,
    /// `x-amzn-ErrorType`, sent by Bedrock's REST-JSON endpoints only.
    error_type_header: Option<String>,
}

fn wire_error(protocol: Protocol, error: &AwsError, request_id: &str) -> WireError {
    match protocol {
        Protocol::Bedrock => WireError {
            status: error.status,
            code: error.code.clone(),
            content_type: "application/json",
            body: error.body(),
            error_type_header: Some(error.error_type_header()),
        },
        Protocol::Mantle => {
            let (status, error_type, message) = mantle::on_the_wire(error);
            WireError {
                status,
                body: mantle::error_body(&error_type, &message, request_id),
                code: error_type,
                content_type: "application/json",
                error_type_header: None,
            }
        }
        Protocol::Sts => {
            let (status, code, message) = sts::on_the_wire(error);
            WireError {
                status,
                body: sts::error_body(status, &code, &message, request_id),
                code,
                content_type: "text/xml",
                error_type_header: None,
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn into_response(
    shared: &Shared,
    protocol: Protocol,
    outcome: Outcome,
    request_id: &str,
    request_headers: &http::HeaderMap,
    (seq, stall): (u64, Option<StreamStall>),
    config: &ServerConfig,
    record: &mut RecordedRequest,
) -> Response {
    let mut builder = http::Response::builder().header("x-amzn-requestid", request_id);
    if protocol == Protocol::Mantle {
        // The Anthropic SDKs read the request id from this header.
        builder = builder.header("request-id", request_id);
    }
    // Service tier is echoed by the runtime on model answers only.
    let echoes_tier = matches!(
        record.operation,
        Some(Operation::InvokeModel | Operation::InvokeModelWithResponseStream)
    );
    let response = match outcome {
        Outcome::Error(error) => {
            let wire = wire_error(protocol, &error, request_id);
            record.error_type = Some(wire.code);
            builder = builder
                .status(wire.status)
                .header("content-type", wire.content_type);
            if let Some(value) = wire.error_type_header {
                builder = builder.header("x-amzn-errortype", value);
            }
            if let Some(seconds) = error.retry_after {
                builder = builder.header("retry-after", seconds.to_string());
            }
            builder.body(Body::from(wire.body))
        }
        Outcome::Whole {
            content_type,
            body,
            headers,
        } => {
            builder = builder
                .status(StatusCode::OK)
                .header("content-type", content_type);
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            if echoes_tier {
                builder = echo_service_tier(builder, request_headers);
            }
            builder.body(Body::from(body))
        }
        Outcome::Stream {
            content_type,
            frames,
        } => {
            builder = builder
                .status(StatusCode::OK)
                .header("content-type", content_type);
            if protocol == Protocol::Bedrock {
                builder = builder.header("x-amzn-bedrock-content-type", "application/json");
            } else {
                builder = builder.header("cache-control", "no-cache");
            }
            if echoes_tier {
                builder = echo_service_tier(builder, request_headers);
            }
            let pace = config.pace;
            let body = PacedBody::new(
                frames,
                Duration::from_millis(pace.first_byte_ms),
                Duration::from_millis(pace.between_events_ms),
                pace.burst,
                Arc::clone(&shared.journal),
                seq,
            )
            .with_stall(stall, &shared.clock, shared.stopped());
            builder.body(Body::new(body))
        }
        Outcome::Custom {
            status,
            headers,
            body,
        } => {
            builder = builder.status(status);
            for (name, value) in &headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            builder.body(Body::from(body))
        }
    };
    let response = response.unwrap_or_else(|e| {
        // Only a rule's hand-written status or header can be invalid HTTP.
        let error = AwsError::new(
            500,
            "InternalServerException",
            format!("the rule's answer is not valid HTTP: {e}"),
        );
        let wire = wire_error(protocol, &error, request_id);
        let mut r = Response::new(Body::from(wire.body));
        *r.status_mut() =
            StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = r.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(wire.content_type));
        if let Some(v) = wire
            .error_type_header
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert("x-amzn-errortype", v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        record.error_type = Some(wire.code);
        r
    });
    record.status = response.status().as_u16();
    response
}

fn echo_service_tier(
    builder: http::response::Builder,
    request_headers: &http::HeaderMap,
) -> http::response::Builder {
    match request_headers.get("x-amzn-bedrock-service-tier") {
        Some(tier) => builder.header("x-amzn-bedrock-service-tier", HeaderValue::clone(tier)),
        None => builder,
    }
}

fn log_line(r: &RecordedRequest) -> String {
    let who = match (&r.auth.scheme[..], &r.auth.access_key_id) {
        ("sigv4", Some(key)) => format!("sigv4 {key}"),
        (scheme, _) => scheme.to_owned(),
    };
    let mut line = format!(
        "{} #{} {} {}{}{} -> {}",
        Utc::from_system(r.time.0).iso8601(),
        r.seq,
        r.method,
        r.raw_path,
        if r.query.is_empty() { "" } else { "?" },
        r.query,
        r.status
    );
    if let Some(error) = &r.error_type {
        line.push_str(&format!(" {error}"));
    }
    line.push_str(&format!(" [{who}]"));
    if let Some(rule) = &r.rule {
        line.push_str(&format!(" rule `{rule}`"));
    }
    line
}
