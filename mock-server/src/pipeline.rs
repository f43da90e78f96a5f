//! The request path every AWS request takes, in stages: route it, read
//! its body, identify and authenticate it, choose the rule that answers,
//! answer (each protocol's own steps: [`Api`]), render the answer,
//! apply the rule's effects (`delivery`), journal it. Admin calls never
//! come here: the server's router sends them to `admin`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::api::{Api, Exchange, Planned, RecordedAnswer, RecordedPlan, Requested, WireError};
use crate::bedrock::Bedrock;
use crate::config::{Pace, ServerConfig};
use crate::credentials::IssuedKeys;
use crate::delivery::{self, Delivered, Recipient};
use crate::errors::{AwsError, ErrorCode};
use crate::journal::{AuthRecord, AuthScheme, RecordedRequest};
use crate::listen::Answers;
use crate::mantle::Mantle;
use crate::operation::Protocol;
use crate::recorded;
use crate::redact::{redact_headers, redact_query, scrub_quoted};
use crate::replay;
use crate::routes;
use crate::rules::{Answer, RequestView};
use crate::sigv4::SignedRequest;
use crate::sso::SsoPortal;
use crate::state::{ChosenRule, NormalAnswer, Shared};
use crate::stream_body::{PacedBody, StreamStall};
use crate::sts::Sts;
use crate::timefmt::{Timestamp, Utc};

/// Sends the request to its protocol's path.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let route = routes::classify(request.method(), request.uri().path());
    match route.protocol() {
        Protocol::Bedrock => serve(&Bedrock, &shared, route, request).await,
        Protocol::Mantle => serve(&Mantle, &shared, route, request).await,
        Protocol::Sts => serve(&Sts, &shared, route, request).await,
        Protocol::SsoPortal => serve(&SsoPortal, &shared, route, request).await,
    }
}

/// The client a listener serves alone, put in each request's extensions
/// by that listener ([`crate::MockBedrock::listen_for`]) and journaled
/// with it.
#[derive(Debug, Clone)]
pub(crate) struct ClientName(pub String);

/// A request as it arrived, and the account as it was then.
struct Arrival {
    seq: u64,
    now: SystemTime,
    config: Arc<ServerConfig>,
    request_id: String,
    parts: Parts,
    raw_path: String,
    raw_query: String,
}

impl Arrival {
    fn new(shared: &Shared, parts: Parts) -> Self {
        // Nested in a host app (`MockBedrock::router`), the mock sees the
        // path under its prefix; the client signed (and sent) the whole
        // one, which axum keeps as the original URI.
        let sent = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        Self {
            now: shared.clock.now(),
            config: shared.config(),
            seq: shared.seq.fetch_add(1, Ordering::SeqCst) + 1,
            request_id: shared.rng().uuid(),
            raw_path: sent.path().to_owned(),
            raw_query: sent.query().unwrap_or_default().to_owned(),
            parts,
        }
    }

    /// The request as the client sent it, which keys a stall on the
    /// clock's timeline: a client sharing the clock tells its wait on this
    /// request from its others by it.
    fn request_line(&self) -> String {
        if self.raw_query.is_empty() {
            format!("{} {}", self.parts.method, self.raw_path)
        } else {
            format!("{} {}?{}", self.parts.method, self.raw_path, self.raw_query)
        }
    }
}

/// What the pipeline decided for a request, before rendering.
struct Decision {
    auth: AuthRecord,
    operation: Option<crate::Operation>,
    model_id: Option<String>,
    planned: Planned,
    rule: Option<ChosenRule>,
}

async fn serve<A: Api>(
    api: &A,
    shared: &Shared,
    route: routes::Route,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let arrival = Arrival::new(shared, parts);
    let body = read_body(body, api.body_limit(), shared.body_read_limit).await;
    let target = api.identify(
        route,
        &arrival.raw_query,
        body.as_deref().unwrap_or_default(),
    );
    let decision = match &body {
        Err(unread) => unread.decision(api, target),
        Ok(bytes) => decide(api, shared, &arrival, target, bytes),
    };
    let mut record = record(api, &arrival, &shared.keys, &body, &decision);
    let effects = decision.rule.map(|r| r.effects).unwrap_or_default();
    let Delivered {
        mut response,
        stall_before_head,
    } = delivery::deliver(
        &effects,
        decision.planned,
        Recipient {
            shared,
            seq: arrival.seq,
            request_line: arrival.request_line(),
        },
        &mut record,
        |planned, stall, record| render(api, shared, &arrival, planned, stall, record),
    );
    if shared.log_requests {
        eprintln!("{}", log_line(&record));
    }
    shared.journal.push(record);
    response.extensions_mut().insert(Answers(arrival.seq));
    if let Some(stall) = stall_before_head {
        stall.wait().await;
    }
    stamp_date(&mut response, &shared.clock);
    response
}

/// `Date` from the server's clock as the head leaves (after any stall
/// before it), unless a rule's answer gave its own. The server's clock,
/// not the system's: an AWS SDK corrects its signing time by the `Date`
/// of an answer (its clock skew), so a client sees the time the mock
/// keeps, as it sees AWS's.
fn stamp_date(response: &mut Response, clock: &crate::clock::Clock) {
    response
        .headers_mut()
        .entry(http::header::DATE)
        .or_insert_with(|| {
            http::HeaderValue::from_str(&Utc::from_system(clock.now()).http_date())
                .expect("an HTTP date is a valid header value")
        });
}

/// Identifies and authenticates a request whose body arrived whole, then
/// answers it: a rule's error or HTTP answer, else the protocol's.
fn decide<A: Api>(
    api: &A,
    shared: &Shared,
    arrival: &Arrival,
    target: Result<Requested, AwsError>,
    body: &Bytes,
) -> Decision {
    let operation = target.as_ref().ok().map(|t| t.operation);
    let model_id = target.as_ref().ok().and_then(|t| t.model.clone());
    let config = &arrival.config;
    let signed = SignedRequest {
        method: arrival.parts.method.as_str(),
        raw_path: &arrival.raw_path,
        raw_query: &arrival.raw_query,
        headers: &arrival.parts.headers,
        body,
    };
    // A request naming nothing the endpoint has is authenticated too: AWS
    // authenticates before it routes.
    let (auth, caller) = api.authenticate(config, &shared.keys, arrival.now, &signed, operation);
    let (planned, rule) = match (caller, target) {
        (Err(e), _) | (Ok(_), Err(e)) => (Planned::Error(e), None),
        (Ok(caller), Ok(target)) => {
            let call = Exchange {
                shared,
                config,
                caller: &caller,
                operation: target.operation,
                model: target.model.as_deref(),
                method: arrival.parts.method.as_str(),
                raw_path: &arrival.raw_path,
                raw_query: &arrival.raw_query,
                headers: &arrival.parts.headers,
                body,
                request_id: &arrival.request_id,
                now: arrival.now,
            };
            answer(api, &call, arrival.seq)
        }
    };
    Decision {
        auth,
        operation,
        model_id,
        planned,
        rule,
    }
}

/// The service's checks, the rule that answers, and the answer.
fn answer<A: Api>(api: &A, call: &Exchange<'_>, seq: u64) -> (Planned, Option<ChosenRule>) {
    let checked = api.check(call);
    let normal_answer = match &checked {
        Ok(checked) if api.has_content(checked) => NormalAnswer::Changeable,
        _ => NormalAnswer::Fixed,
    };
    let facts = RequestView::new(
        (call.method, call.raw_path, call.raw_query),
        Some(call.operation),
        call.model,
        call.headers,
        call.body,
    )
    .in_region(&call.caller.region);
    let rule = call.shared.answering_rule(&facts, normal_answer, seq);
    let normal = |content| {
        checked
            .and_then(|checked| api.answer(call, checked, content))
            .unwrap_or_else(Planned::Error)
    };
    let planned = match rule.as_ref().and_then(|r| r.answer.as_ref()) {
        Some(Answer::Http {
            status,
            headers,
            body,
        }) => Planned::Custom {
            status: *status,
            headers: headers.clone().into_iter().collect(),
            body: body.clone(),
        },
        Some(Answer::Recorded(recording)) => {
            let endpoint = api.answer_headers(call.request_id);
            let own: Vec<&str> = ["x-amzn-requestid", "date"]
                .into_iter()
                .chain(endpoint.iter().map(|(name, _)| *name))
                .collect();
            Planned::Recorded(replay::plan(recording, &own, || call.shared.rng()))
        }
        Some(answer) => answer
            .as_error(api.protocol())
            .map_or_else(|| normal(answer.content()), Planned::Error),
        None => normal(None),
    };
    (planned, rule)
}

/// Why a request's body was not read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unread {
    /// Over the endpoint's size limit.
    TooLarge,
    /// Not whole within the read limit (a stalled or dribbling upload).
    TooSlow(Duration),
    /// The connection broke mid-body: nobody is left to answer.
    Broken,
    /// The chunked framing broke (a chunk size that is not hex, a chunk
    /// longer than its size).
    Malformed,
}

impl Unread {
    /// The body was not read whole, so there is nothing to verify a
    /// signature against; AWS's size check answers first as well.
    fn decision(self, api: &impl Api, target: Result<Requested, AwsError>) -> Decision {
        let closing = |status| Planned::Custom {
            status,
            headers: vec![("connection".to_owned(), "close".to_owned())],
            body: Bytes::new(),
        };
        let planned = match self {
            Unread::TooLarge => Planned::Error(api.too_large()),
            // Sent nowhere, but the journal's entry needs an answer.
            Unread::Broken => closing(400),
            // HTTP's own answer: the request cannot be read to its end.
            Unread::Malformed => closing(400),
            // No capture of AWS's answer to a stalled upload exists: this
            // is HTTP's own, and the connection is not kept.
            Unread::TooSlow(_) => closing(408),
        };
        let reason = match self {
            Unread::TooLarge => "body over the size limit".to_owned(),
            Unread::TooSlow(limit) => format!("body not received within {} s", limit.as_secs_f64()),
            Unread::Broken => "the connection broke before the body was whole".to_owned(),
            Unread::Malformed => "the body's chunked framing is malformed".to_owned(),
        };
        Decision {
            auth: AuthRecord {
                reason: Some(reason),
                ..AuthRecord::presenting(AuthScheme::NotChecked)
            },
            operation: target.as_ref().ok().map(|t| t.operation),
            model_id: target.ok().and_then(|t| t.model),
            planned,
            rule: None,
        }
    }
}

/// `body` whole, within `size_limit` bytes and `time_limit` (real time),
/// or why not; the admin API reads its bodies the same way.
pub(crate) async fn read_body(
    body: Body,
    size_limit: usize,
    time_limit: Duration,
) -> Result<Bytes, Unread> {
    match tokio::time::timeout(time_limit, axum::body::to_bytes(body, size_limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(unread_because(e.into_inner())),
        Err(_) => Err(Unread::TooSlow(time_limit)),
    }
}

/// Why reading a body failed: its size, its framing (hyper's decoder
/// reports invalid input or data), or the connection.
fn unread_because(error: Box<dyn std::error::Error + Send + Sync>) -> Unread {
    if error.is::<http_body_util::LengthLimitError>() {
        return Unread::TooLarge;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                    Unread::Malformed
                }
                _ => Unread::Broken,
            };
        }
        cause = e.source();
    }
    Unread::Broken
}

/// The journal's entry, before the answer is rendered.
fn record(
    api: &impl Api,
    arrival: &Arrival,
    issued: &IssuedKeys,
    body: &Result<Bytes, Unread>,
    decision: &Decision,
) -> RecordedRequest {
    RecordedRequest {
        seq: arrival.seq,
        time: Timestamp(arrival.now),
        method: arrival.parts.method.to_string(),
        raw_path: arrival.raw_path.clone(),
        query: redact_query(&arrival.raw_query),
        headers: redact_headers(&arrival.parts.headers, &arrival.config, issued),
        body: body
            .as_ref()
            .map(|b| api.recorded_body(b))
            .unwrap_or_default(),
        operation: decision.operation,
        model_id: decision.model_id.clone(),
        auth: decision.auth.clone(),
        rule: decision.rule.as_ref().map(|r| r.label.clone()),
        status: None,
        error_type: None,
        error_message: None,
        request_id: arrival.request_id.clone(),
        frames: Vec::new(),
        client: arrival
            .parts
            .extensions
            .get::<ClientName>()
            .map(|name| name.0.clone()),
    }
}

/// The answer as an HTTP response, in the endpoint's shapes; the status
/// and error code go in `record`.
fn render(
    api: &impl Api,
    shared: &Shared,
    arrival: &Arrival,
    planned: Planned,
    stall: Option<StreamStall>,
    record: &mut RecordedRequest,
) -> Response {
    let request_id = arrival.request_id.as_str();
    let mut builder = http::Response::builder().header("x-amzn-requestid", request_id);
    for (name, value) in api.answer_headers(request_id) {
        builder = builder.header(name, value);
    }
    let response = match planned {
        Planned::Error(error) => {
            let wire = api.wire_error(&error, request_id);
            record_error(record, &wire, shared, arrival);
            error_response(builder, &error, wire)
        }
        Planned::Whole {
            content_type,
            body,
            headers,
        } => with_headers(builder, StatusCode::OK, content_type, &headers).body(Body::from(body)),
        Planned::Stream {
            framing,
            frames,
            headers,
        } => {
            let [(_, content_type), extra] = framing.headers();
            let builder = with_headers(builder, StatusCode::OK, content_type, &[extra]);
            let builder = headers
                .into_iter()
                .fold(builder, |b, (name, value)| b.header(name, value));
            let pace = arrival.config.pace;
            let body = PacedBody::new(frames, pace, Arc::clone(&shared.journal), arrival.seq)
                .with_stall(stall, &shared.clock, shared.stopped());
            builder.body(Body::new(body))
        }
        Planned::Custom {
            status,
            headers,
            body,
        } => headers
            .iter()
            .fold(builder.status(status), |b, (name, value)| {
                b.header(name.as_str(), value.as_str())
            })
            .body(Body::from(body)),
        Planned::Recorded(answer) => {
            render_recorded(builder, answer, stall, shared, arrival, record)
        }
    };
    let response = response.unwrap_or_else(|e| invalid_rule_answer(api, request_id, &e, record));
    record.status = Some(response.status().as_u16());
    response
}

/// A recorded answer: its status and headers, then its frames paced by
/// their gaps (not the config's pace) or its whole body, whose error (if
/// its status is one) goes in `record` as an error answer's does.
fn render_recorded(
    builder: http::response::Builder,
    answer: RecordedAnswer,
    stall: Option<StreamStall>,
    shared: &Shared,
    arrival: &Arrival,
    record: &mut RecordedRequest,
) -> http::Result<Response> {
    let RecordedAnswer {
        status,
        headers,
        head_after: _,
        body,
    } = answer;
    let builder = headers
        .iter()
        .fold(builder.status(status), |b, (name, value)| {
            b.header(name.as_str(), value.as_str())
        });
    match body {
        RecordedPlan::Stream { frames, .. } => {
            let body = PacedBody::new(
                frames,
                Pace::default(),
                Arc::clone(&shared.journal),
                arrival.seq,
            )
            .with_stall(stall, &shared.clock, shared.stopped())
            .with_gaps(&shared.clock, arrival.request_line(), shared.stopped());
            builder.body(Body::new(body))
        }
        RecordedPlan::Whole(bytes) => {
            if let Some(error) = recorded::recorded_error(status, &headers, &bytes) {
                record.error_type = Some(error.code);
                record.error_message = error
                    .message
                    .map(|m| scrub_quoted(&m, &arrival.config, &shared.keys));
            }
            builder.body(Body::from(bytes))
        }
    }
}

/// The error's code and message in `record`; the message scrubbed of the
/// account's secrets as a quoted header is (a rule's message is the
/// scenario's own text, a refusal's may quote the request).
fn record_error(
    record: &mut RecordedRequest,
    wire: &WireError,
    shared: &Shared,
    arrival: &Arrival,
) {
    record.error_type = Some(wire.code.clone());
    record.error_message = Some(scrub_quoted(&wire.message, &arrival.config, &shared.keys));
}

fn with_headers(
    builder: http::response::Builder,
    status: StatusCode,
    content_type: &'static str,
    headers: &[(&'static str, impl AsRef<str>)],
) -> http::response::Builder {
    headers.iter().fold(
        builder.status(status).header("content-type", content_type),
        |b, (name, value)| b.header(*name, value.as_ref()),
    )
}

fn error_response(
    builder: http::response::Builder,
    error: &AwsError,
    wire: WireError,
) -> http::Result<Response> {
    let builder = wire
        .headers(error)
        .into_iter()
        .fold(builder.status(wire.status), |b, (name, value)| {
            b.header(name, value)
        });
    builder.body(Body::from(wire.body))
}

/// Only a rule's hand-written status or header can be invalid HTTP: the
/// answer is then the endpoint's 500, saying so.
fn invalid_rule_answer(
    api: &impl Api,
    request_id: &str,
    e: &http::Error,
    record: &mut RecordedRequest,
) -> Response {
    let error = ErrorCode::InternalServerException
        .with_message(format!("the rule's answer is not valid HTTP: {e}"));
    let wire = api.wire_error(&error, request_id);
    record.error_type = Some(wire.code.clone());
    record.error_message = Some(wire.message.clone());
    let mut response = error_response(http::Response::builder(), &error, wire)
        .expect("a catalogue error's status and headers are valid HTTP");
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// One line per request for `serve`'s log.
fn log_line(r: &RecordedRequest) -> String {
    let who = match (r.auth.scheme, &r.auth.access_key_id) {
        (AuthScheme::SigV4, Some(key)) => format!("sigv4 {key}"),
        (scheme, _) => scheme.to_string(),
    };
    let mut line = format!(
        "{} #{} {} {}{}{} -> {}",
        Utc::from_system(r.time.0).iso8601(),
        r.seq,
        r.method,
        r.raw_path,
        if r.query.is_empty() { "" } else { "?" },
        r.query,
        r.status.unwrap_or(0)
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
