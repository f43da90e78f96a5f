//! [`MockBedrock`], the handle a test or the standalone server holds, and
//! the state its requests share (account, rules, journal, clock). The
//! request pipeline itself is in `pipeline`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{Credential, ServerConfig, Timestamp};
use crate::credentials::{CredentialReport, queue_index};
use crate::journal::{Journal, RecordedRequest};
use crate::listen::ReadLimits;
use crate::rng::Rng;
use crate::rules::{Answer, RequestFacts, Rule, Stall};

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
    read_limits: ReadLimits,
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
            read_limits: ReadLimits::default(),
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

    /// How long a client may take to send a request's head and its body
    /// (60 s each by default), in real time.
    pub fn read_limits(mut self, limits: ReadLimits) -> Self {
        self.read_limits = limits;
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
        let mut shared = Shared::new(self.config, self.clock, self.log_requests);
        shared.body_read_limit = self.read_limits.body;
        let shared = Arc::new(shared);
        let app = axum::Router::new()
            .fallback(crate::pipeline::handle)
            .with_state(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::listen::serve(
            listener,
            app,
            self.read_limits,
            stopped,
        ));
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
    /// rules with [`MockBedrock::mount`] instead. `change` may read the
    /// server but must not issue credentials (that waits for this change).
    pub fn update_config(&self, change: impl FnOnce(&mut ServerConfig)) {
        self.shared.update_config(change);
    }

    /// Hands out the next of the config's `next_credentials`, as the admin
    /// API's `POST /__bedrock_mock/credentials/next` does, and makes it a
    /// key of the account. `None` when nothing is queued.
    pub fn issue_credential(&self) -> Option<Credential> {
        self.shared.issue_credential()
    }

    /// How many credential sets were issued (from the queue, and minted by
    /// STS), and how many requests each access key signed.
    pub fn credential_report(&self) -> CredentialReport {
        self.shared.credential_report()
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
        self.shared.stop();
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
        self.shared.stop();
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

/// The rule that answers a request.
pub(crate) struct ChosenRule {
    pub label: String,
    pub answer: Option<Answer>,
    pub stall: Option<Stall>,
    pub fault: Option<crate::FrameFault>,
    pub reset: Option<crate::Reset>,
    pub dribble: Option<crate::Dribble>,
}

/// The most STS-minted sessions the account keeps at once.
const MAX_MINTED: usize = 1024;

/// Credentials handed out while the server runs.
#[derive(Debug, Default)]
struct Issued {
    /// When each set from `next_credentials` was issued (their number is
    /// how far into the queue the next one is).
    issued_at: Vec<Timestamp>,
    /// Sets minted by STS `AssumeRole*`.
    by_sts: usize,
    /// Key ids of the minted sets the account still knows, oldest first.
    minted: std::collections::VecDeque<String>,
}

/// `config` with `credential` added, replacing a set with the same key id.
fn with_credential(config: &ServerConfig, credential: Credential) -> ServerConfig {
    let mut next = ServerConfig::clone(config);
    next.credentials
        .retain(|c| c.access_key_id != credential.access_key_id);
    next.credentials.push(credential);
    next
}

pub(crate) struct Shared {
    initial: ServerConfig,
    config: RwLock<Arc<ServerConfig>>,
    rules: Mutex<Vec<MountedRule>>,
    pub(crate) clock: Clock,
    pub(crate) journal: Arc<Journal>,
    rng: Mutex<Rng>,
    /// How many credential sets were handed out: from `next_credentials`,
    /// and minted by STS `AssumeRole*`.
    issued: Mutex<Issued>,
    pub(crate) seq: AtomicU64,
    pub(crate) log_requests: bool,
    /// How long a request's body may take to arrive.
    pub(crate) body_read_limit: std::time::Duration,
    /// Set when the server stops: answers held back for a client that
    /// gave up end then, so shutdown does not wait for them.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn new(config: ServerConfig, clock: Clock, log_requests: bool) -> Self {
        let shared = Self {
            rng: Mutex::new(Rng::new(config.seed)),
            initial: config.clone(),
            config: RwLock::new(Arc::new(config)),
            rules: Mutex::new(Vec::new()),
            issued: Mutex::default(),
            clock,
            journal: Arc::default(),
            seq: AtomicU64::new(0),
            stopping: tokio::sync::watch::Sender::new(false),
            log_requests,
            body_read_limit: ReadLimits::default().body,
        };
        shared.load_rules_from_config();
        shared
    }

    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn replace_config(&self, config: ServerConfig) {
        *self.rng() = Rng::new(config.seed);
        {
            let mut issued = self.writer();
            *issued = Issued::default();
            *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        }
        self.rules().clear();
        self.load_rules_from_config();
    }

    /// Every change to the config goes through this lock (taken before the
    /// config's own), so a credential issued while a test edits the config
    /// is not lost when the edited copy is stored.
    fn writer(&self) -> std::sync::MutexGuard<'_, Issued> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update_config(&self, change: impl FnOnce(&mut ServerConfig)) {
        let _writer = self.writer();
        // Changed on a copy, outside the config lock: `change` may read
        // the server.
        let mut config = ServerConfig::clone(&self.config());
        change(&mut config);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    pub(crate) fn reset(&self) {
        // `seq` keeps counting: a stream still running from before the reset
        // records its frames under its own number, not a new request's.
        self.journal.clear();
        self.replace_config(self.initial.clone());
    }

    /// Resolves when the server stops.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    fn stop(&self) {
        self.stopping.send_replace(true);
    }

    pub(crate) fn mount(&self, rule: Rule) {
        self.rules().push(MountedRule::new(rule));
    }

    /// Hands out the next queued credentials and makes them known to the
    /// account.
    pub(crate) fn issue_credential(&self) -> Option<Credential> {
        // The writer lock is held across the update so that two refresh
        // commands running at once get consecutive sets.
        let mut issued = self.writer();
        let mut current = self.config.write().unwrap_or_else(|e| e.into_inner());
        let at = queue_index(issued.issued_at.len(), current.next_credentials.len())?;
        let credential = current.next_credentials[at].clone();
        *current = Arc::new(with_credential(&current, credential.clone()));
        issued.issued_at.push(Timestamp(self.clock.now()));
        Some(credential)
    }

    /// Makes credentials STS minted known to the account.
    /// Keeps at most [`MAX_MINTED`] of them: `AssumeRoleWithWebIdentity`
    /// needs no signature, so without a bound any caller could grow the
    /// account without limit. The oldest session is forgotten first.
    pub(crate) fn add_assumed_credential(&self, credential: Credential) {
        let mut issued = self.writer();
        let mut current = self.config.write().unwrap_or_else(|e| e.into_inner());
        issued.minted.push_back(credential.access_key_id.clone());
        let mut next = with_credential(&current, credential);
        while issued.minted.len() > MAX_MINTED {
            if let Some(oldest) = issued.minted.pop_front() {
                next.credentials.retain(|c| c.access_key_id != oldest);
            }
        }
        *current = Arc::new(next);
        issued.by_sts += 1;
    }

    pub(crate) fn credential_report(&self) -> CredentialReport {
        let (issued_at, by_sts) = {
            let issued = self.writer();
            (issued.issued_at.clone(), issued.by_sts)
        };
        let from_queue = issued_at.len();
        CredentialReport {
            issued: from_queue,
            issued_at,
            assumed: by_sts,
            remaining: self
                .config()
                .next_credentials
                .len()
                .saturating_sub(from_queue),
            requests_by_key: self.journal.requests_by_access_key(),
        }
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

    pub(crate) fn rng(&self) -> std::sync::MutexGuard<'_, Rng> {
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
    pub(crate) fn answering_rule(
        &self,
        facts: &RequestFacts<'_>,
        content_rules: bool,
    ) -> Option<ChosenRule> {
        let mut chosen = None;
        for mounted in self.rules().iter_mut() {
            let changes_content = mounted.rule.fault.is_some()
                || matches!(
                    mounted.rule.answer,
                    Some(Answer::Reply(_) | Answer::StreamException { .. })
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
                chosen = Some(ChosenRule {
                    label: mounted.rule.label(),
                    answer: mounted.rule.answer.clone(),
                    stall: mounted.rule.stall.clone(),
                    fault: mounted.rule.fault,
                    reset: mounted.rule.reset,
                    dribble: mounted.rule.dribble,
                });
            }
        }
        chosen
    }
}
