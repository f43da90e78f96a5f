//! The server: one pipeline every AWS request goes through (read, route,
//! authenticate, rules, handler, journal), and [`MockBedrock`], the handle a
//! test or the standalone server holds.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bedrock_eventstream::bedrock::Exception;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{self, Caller};
use crate::aws_error::AwsError;
use crate::catalog;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::control_plane;
use crate::journal::{AuthRecord, Journal, RecordedRequest, redact_headers};
use crate::reply::Reply;
use crate::rng::Rng;
use crate::routes::{self, Route};
use crate::rules::{Answer, Operation, RequestFacts, Rule};
use crate::runtime::{self, StreamFault};
use crate::sigv4::SignedRequest;
use crate::stream_body::{PacedBody, PlannedFrame};
use crate::timefmt::Utc;

/// A running fake Bedrock. Dropping it stops the server and checks the
/// rules' expectations (panicking, like wiremock, when one is not met).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bedrock_mock_server::{Answer, Match, MockBedrock, Operation, Rule};
///
/// let server = MockBedrock::start().await;
/// server.mount(
///     Rule::new(Match::operation(Operation::InvokeModel), Answer::error("ThrottlingException")).times(1),
/// );
/// assert!(server.uri().starts_with("http://127.0.0.1:"));
/// assert!(server.received_requests().is_empty());
/// # }
/// ```
pub struct MockBedrock {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Options for starting a [`MockBedrock`].
#[derive(Debug, Clone)]
pub struct MockBedrockBuilder {
    config: ServerConfig,
    clock: Clock,
    address: SocketAddr,
    log_requests: bool,
}

/// Why a server could not start.
#[derive(Debug)]
pub struct StartError {
    address: SocketAddr,
    source: std::io::Error,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "could not listen on {}: {} (pick another port, or 0 for any free one)",
            self.address, self.source
        )
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl StartError {
    /// The underlying I/O error's kind (`AddrInUse`, `PermissionDenied`, ...).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }
}

impl Default for MockBedrockBuilder {
    fn default() -> Self {
        Self {
            config: ServerConfig::default(),
            clock: Clock::system(),
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log_requests: false,
        }
    }
}

impl MockBedrockBuilder {
    /// The account state to serve.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock expiry and skew are judged by.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Where to listen; `127.0.0.1:0` (any free port) by default.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Prints one line per request to stderr.
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<MockBedrock, StartError> {
        let fail = |source| StartError {
            address: self.address,
            source,
        };
        let listener = std::net::TcpListener::bind(self.address).map_err(fail)?;
        listener.set_nonblocking(true).map_err(fail)?;
        let address = listener.local_addr().map_err(fail)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(fail)?;
        let shared = Arc::new(Shared::new(self.config, self.clock, self.log_requests));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // Accept errors are retried inside axum; `serve` returns only on
            // shutdown.
            let _ = serving.await;
        });
        Ok(MockBedrock {
            address,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

impl MockBedrock {
    /// Starts a server with the default account on 127.0.0.1, any free port.
    ///
    /// # Panics
    /// If no loopback port can be bound; use [`MockBedrock::builder`] to
    /// handle that.
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .unwrap_or_else(|e| panic!("bedrock mock: {e}"))
    }

    /// Starts a server serving `config`.
    pub async fn start_with(config: ServerConfig) -> Self {
        Self::builder()
            .config(config)
            .start()
            .await
            .unwrap_or_else(|e| panic!("bedrock mock: {e}"))
    }

    /// Options for starting a server.
    pub fn builder() -> MockBedrockBuilder {
        MockBedrockBuilder::default()
    }

    /// `http://127.0.0.1:{port}`: the base URL for every endpoint variable.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's clock; move it to test expiry and skew.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Every AWS request received so far, secrets redacted.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.shared.journal.snapshot()
    }

    /// Adds a rule after those already mounted.
    pub fn mount(&self, rule: Rule) {
        self.shared.mount(rule);
    }

    /// Changes the account state. Mounted rules are kept; changes to the
    /// config's own `rules` and `seed` take effect at the next
    /// [`MockBedrock::reset`] only if made to the starting config, so mount
    /// rules with [`MockBedrock::mount`] instead.
    pub fn update_config(&self, change: impl FnOnce(&mut ServerConfig)) {
        // Changed on a copy, outside the lock: `change` may read the server.
        let mut config = ServerConfig::clone(&self.shared.config());
        change(&mut config);
        *self
            .shared
            .config
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    /// A copy of the current account state.
    pub fn config(&self) -> ServerConfig {
        ServerConfig::clone(&self.shared.config())
    }

    /// Forgets the journal and the rules, and restores the starting account
    /// state (the clock is left as it is).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Checks every rule's `expect`; the error lists each one not met.
    pub fn verify(&self) -> Result<(), ExpectationError> {
        self.shared.verify()
    }

    /// Stops accepting connections and waits for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockBedrock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if !std::thread::panicking()
            && let Err(e) = self.shared.verify()
        {
            panic!("{e}");
        }
    }
}

/// Rules whose `expect` was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationError {
    /// One line per unmet expectation.
    pub failures: Vec<String>,
    /// One line per request received, for context.
    pub received: Vec<String>,
}

impl std::fmt::Display for ExpectationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "bedrock mock: {} expectation(s) not met:",
            self.failures.len()
        )?;
        for failure in &self.failures {
            writeln!(f, "  - {failure}")?;
        }
        writeln!(f, "requests received ({}):", self.received.len())?;
        for line in &self.received {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExpectationError {}

struct MountedRule {
    rule: Rule,
    /// Requests that met the conditions (for `nth`).
    seen: u32,
    /// Requests this rule answered (for `times` and `expect`).
    answered: u32,
}

impl MountedRule {
    fn new(rule: Rule) -> Self {
        Self {
            rule,
            seen: 0,
            answered: 0,
        }
    }
}

pub(crate) struct Shared {
    initial: ServerConfig,
    config: RwLock<Arc<ServerConfig>>,
    rules: Mutex<Vec<MountedRule>>,
    pub(crate) clock: Clock,
    pub(crate) journal: Arc<Journal>,
    rng: Mutex<Rng>,
    seq: AtomicU64,
    log_requests: bool,
}

impl Shared {
    fn new(config: ServerConfig, clock: Clock, log_requests: bool) -> Self {
        let shared = Self {
            rng: Mutex::new(Rng::new(config.seed)),
            initial: config.clone(),
            config: RwLock::new(Arc::new(config)),
            rules: Mutex::new(Vec::new()),
            clock,
            journal: Arc::default(),
            seq: AtomicU64::new(0),
            log_requests,
        };
        shared.load_rules_from_config();
        shared
    }

    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn replace_config(&self, config: ServerConfig) {
        *self.rng() = Rng::new(config.seed);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        self.rules().clear();
        self.load_rules_from_config();
    }

    pub(crate) fn reset(&self) {
        // `seq` keeps counting: a stream still running from before the reset
        // records its frames under its own number, not a new request's.
        self.journal.clear();
        self.replace_config(self.initial.clone());
    }

    pub(crate) fn mount(&self, rule: Rule) {
        self.rules().push(MountedRule::new(rule));
    }

    fn load_rules_from_config(&self) {
        let config = self.config();
        self.rules()
            .extend(config.rules.iter().cloned().map(MountedRule::new));
    }

    // The guarded values below are whole values replaced under the lock; a
    // panic elsewhere cannot leave them half-written, so poisoning is ignored.
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<MountedRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn verify(&self) -> Result<(), ExpectationError> {
        let failures: Vec<String> = self
            .rules()
            .iter()
            .filter_map(|m| {
                let expected = m.rule.expect?;
                (expected != m.answered).then(|| {
                    format!(
                        "rule `{}`: expected {expected} matching request(s), answered {}",
                        m.rule.label(),
                        m.answered
                    )
                })
            })
            .collect();
        if failures.is_empty() {
            return Ok(());
        }
        let received = self
            .journal
            .snapshot()
            .iter()
            .map(|r| format!("#{} {} {} -> {}", r.seq, r.method, r.raw_path, r.status))
            .collect();
        Err(ExpectationError { failures, received })
    }

    /// The first rule that matches and still answers; counts the request
    /// against every rule whose conditions it meets. Counting and choosing
    /// happen under one lock, so concurrent requests (a client's parallel
    /// probes) cannot both take a `times(1)` rule. Rules that change a
    /// normal answer's content (`Reply`, `StreamException`) take part only
    /// when `content_rules`: the request is an invoke that passed Bedrock's
    /// checks.
    fn answering_rule(
        &self,
        facts: &RequestFacts<'_>,
        content_rules: bool,
    ) -> Option<(String, Answer)> {
        let mut chosen = None;
        for mounted in self.rules().iter_mut() {
            let changes_content = matches!(
                mounted.rule.answer,
                Answer::Reply(_) | Answer::StreamException { .. }
            );
            if (changes_content && !content_rules) || !mounted.rule.when.matches(facts) {
                continue;
            }
            mounted.seen = mounted.seen.saturating_add(1);
            if chosen.is_some() {
                continue;
            }
            let nth_ok = mounted.rule.when.nth.is_none_or(|n| n == mounted.seen);
            let uses_left = mounted.rule.times.is_none_or(|t| mounted.answered < t);
            if nth_ok && uses_left {
                mounted.answered = mounted.answered.saturating_add(1);
                chosen = Some((mounted.rule.label(), mounted.rule.answer.clone()));
            }
        }
        chosen
    }
}

/// What the pipeline decided to send.
enum Outcome {
    Error(AwsError),
    Json {
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
    Stream {
        frames: Vec<PlannedFrame>,
    },
    Custom(Answer),
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let route = routes::classify(&parts.method, &raw_path);
    if let Route::Admin(rest) = route {
        return crate::admin::handle(&shared, &parts.method, &rest, body).await;
    }
    let now = shared.clock.now();
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let request_id = shared.rng().uuid();
    let (operation, target) = match route {
        Route::Aws { operation, target } => (Some(operation), target),
        _ => (None, None),
    };
    let config = shared.config();
    let body = axum::body::to_bytes(body, runtime::MAX_BODY).await;
    let (auth, outcome, rule) = match &body {
        // The body was not read whole, so there is nothing to verify a
        // signature against; AWS's size check answers first as well.
        Err(_) => (
            not_checked(),
            Outcome::Error(runtime::body_too_large()),
            None,
        ),
        Ok(bytes) => {
            let signed = SignedRequest {
                method: parts.method.as_str(),
                raw_path: &raw_path,
                raw_query: &raw_query,
                headers: &parts.headers,
                body: bytes,
            };
            let service = operation.map_or("bedrock", Operation::signing_name);
            let (auth, caller) = auth::authenticate(&config, now, &signed, service);
            let (outcome, rule) = match (caller, operation) {
                (Err(e), _) => (Outcome::Error(e), None),
                (Ok(_), None) => (Outcome::Error(unknown_operation()), None),
                (Ok(caller), Some(op)) => {
                    let facts = RequestFacts {
                        operation: Some(op),
                        model_id: target.as_deref(),
                        headers: &parts.headers,
                    };
                    let request = AwsRequest {
                        operation: op,
                        target: target.as_deref().unwrap_or_default(),
                        raw_query: &raw_query,
                        headers: &parts.headers,
                        body: bytes,
                    };
                    let prepared = matches!(
                        op,
                        Operation::InvokeModel | Operation::InvokeModelWithResponseStream
                    )
                    .then(|| prepare_invoke(&config, &caller, &request));
                    // A rule that changes the content of a normal answer
                    // applies only where there is one to change.
                    let content_rules = matches!(prepared, Some(Ok(_)));
                    let rule = shared.answering_rule(&facts, content_rules);
                    let answer = rule.as_ref().map(|(_, a)| a.clone());
                    let outcome =
                        answer_request(&shared, &config, &caller, &request, prepared, answer);
                    (outcome, rule.map(|(label, _)| label))
                }
            };
            (auth, outcome, rule)
        }
    };
    let mut record = RecordedRequest {
        seq,
        time: crate::config::Timestamp(now),
        method: parts.method.to_string(),
        raw_path: raw_path.clone(),
        query: crate::journal::redact_query(&raw_query),
        headers: redact_headers(&parts.headers),
        body: body
            .as_ref()
            .map(|b| crate::journal::recorded_body(b))
            .unwrap_or_default(),
        operation,
        model_id: target,
        auth,
        rule,
        status: 0,
        error_type: None,
        request_id: request_id.clone(),
        frames: Vec::new(),
    };
    let response = into_response(
        &shared,
        outcome,
        &request_id,
        &parts.headers,
        seq,
        &config,
        &mut record,
    );
    if shared.log_requests {
        eprintln!("{}", log_line(&record));
    }
    shared.journal.push(record);
    response
}

fn not_checked() -> AuthRecord {
    AuthRecord {
        scheme: "not checked".to_owned(),
        access_key_id: None,
        region: None,
        service: None,
        accepted: false,
        reason: Some("body over the size limit".to_owned()),
    }
}

/// No capture of AWS's answer to an unknown path exists; this is the error
/// code AWS's REST front end uses for it.
fn unknown_operation() -> AwsError {
    AwsError::new(404, "UnknownOperationException", "Unknown operation")
}

/// Answers an authenticated request: the rule's answer if one applies,
/// else the operation's normal answer.
fn answer_request(
    shared: &Shared,
    config: &ServerConfig,
    caller: &Caller,
    request: &AwsRequest<'_>,
    prepared: Option<Result<PreparedInvoke, AwsError>>,
    rule: Option<Answer>,
) -> Outcome {
    let result = match (request.operation, rule) {
        (_, Some(answer @ Answer::Error { .. })) => {
            Err(answer.as_aws_error().expect("an error answer"))
        }
        (_, Some(answer @ Answer::Http { .. })) => Ok(Outcome::Custom(answer)),
        (Operation::ListInferenceProfiles, _) => {
            control_plane::list_profiles(config, request.raw_query, &caller.region)
                .map(json_outcome)
        }
        (Operation::GetInferenceProfile, _) => {
            control_plane::get_profile(config, request.target, &caller.region).map(json_outcome)
        }
        (Operation::InvokeModel | Operation::InvokeModelWithResponseStream, rule) => {
            match prepared.unwrap_or_else(|| prepare_invoke(config, caller, request)) {
                Ok(prepared) => answer_invoke(shared, request.operation, prepared, rule.as_ref()),
                Err(e) => Err(e),
            }
        }
    };
    result.unwrap_or_else(Outcome::Error)
}

/// The parts of a request the answer is made from.
pub(crate) struct AwsRequest<'a> {
    operation: Operation,
    /// The decoded model or profile id ("" when the operation has none).
    target: &'a str,
    raw_query: &'a str,
    headers: &'a http::HeaderMap,
    body: &'a Bytes,
}

fn json_outcome(value: serde_json::Value) -> Outcome {
    Outcome::Json {
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
        return Ok(Outcome::Json {
            body: answer.body,
            headers: vec![
                ("x-amzn-bedrock-invocation-latency", "0".to_owned()),
                (
                    "x-amzn-bedrock-output-token-count",
                    answer.output_tokens.to_string(),
                ),
                (
                    "x-amzn-bedrock-input-token-count",
                    answer.input_tokens.to_string(),
                ),
            ],
        });
    }
    Ok(Outcome::Stream {
        frames: runtime::stream_frames(&reply, &prepared.body, &prepared.model_id, &mut rng, fault),
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

fn into_response(
    shared: &Shared,
    outcome: Outcome,
    request_id: &str,
    request_headers: &http::HeaderMap,
    seq: u64,
    config: &ServerConfig,
    record: &mut RecordedRequest,
) -> Response {
    let mut builder = http::Response::builder().header("x-amzn-requestid", request_id);
    let response = match outcome {
        Outcome::Error(error) => {
            record.error_type = Some(error.code.clone());
            builder = builder
                .status(error.status)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", error.error_type_header());
            if let Some(seconds) = error.retry_after {
                builder = builder.header("retry-after", seconds.to_string());
            }
            builder.body(Body::from(error.body()))
        }
        Outcome::Json { body, headers } => {
            builder = builder
                .status(StatusCode::OK)
                .header("content-type", "application/json");
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            if record.operation == Some(Operation::InvokeModel) {
                builder = echo_service_tier(builder, request_headers);
            }
            builder.body(Body::from(body))
        }
        Outcome::Stream { frames } => {
            builder = builder
                .status(StatusCode::OK)
                .header("content-type", "application/vnd.amazon.eventstream")
                .header("x-amzn-bedrock-content-type", "application/json");
            builder = echo_service_tier(builder, request_headers);
            let pace = config.pace;
            let body = PacedBody::new(
                frames,
                Duration::from_millis(pace.first_byte_ms),
                Duration::from_millis(pace.between_events_ms),
                Arc::clone(&shared.journal),
                seq,
            );
            builder.body(Body::new(body))
        }
        Outcome::Custom(Answer::Http {
            status,
            headers,
            body,
        }) => {
            builder = builder.status(status);
            for (name, value) in &headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            builder.body(Body::from(body))
        }
        Outcome::Custom(_) => unreachable!("only Http answers are sent as given"),
    };
    let response = response.unwrap_or_else(|e| {
        // Only a rule's hand-written status or header can be invalid HTTP.
        let error = AwsError::new(
            500,
            "InternalServerException",
            format!("the rule's answer is not valid HTTP: {e}"),
        );
        let mut r = Response::new(Body::from(error.body()));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let headers = r.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&error.error_type_header()) {
            headers.insert("x-amzn-errortype", v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        record.error_type = Some(error.code);
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
