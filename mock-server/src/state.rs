//! The state a running server's requests share: the account (its
//! config, and the credentials issued while it runs), the mounted rules
//! and what each has answered, the journal, the clock and the random
//! choices. [`crate::MockBedrock`] is a handle on it; the pipeline and the
//! admin API read and change it.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use crate::clock::{Clock, Setting};
use crate::config::{Credential, ServerConfig};
use crate::credentials::{CredentialReport, IssuedKeys, queue_index};
use crate::effects::Effects;
use crate::journal::{Journal, JournalLimits, RecordedRequest};
use crate::quota::QuotaUse;
use crate::rng::Rng;
use crate::rules::{Answer, RequestView, Rule, Times, excerpt};
use crate::timefmt::Timestamp;

struct MountedRule {
    rule: Rule,
    /// Requests that met the conditions (for `nth`).
    seen: u32,
    /// Requests this rule answered (for `times` and `expect`).
    answered: u32,
    /// Requests that reached the rules while it was mounted.
    tried: u32,
    /// Why requests it did not answer missed it, the first
    /// [`MISSES_KEPT`]; kept only for a rule with an `expect`.
    misses: Vec<String>,
    /// Misses past those kept.
    more_misses: u32,
}

/// How many misses a rule with an `expect` keeps for its message.
const MISSES_KEPT: usize = 10;

/// How many requests (the latest) an expectation message lists.
const REQUESTS_LISTED: usize = 10;

/// How much of a request's body an expectation message shows.
const BODY_EXCERPT: usize = 300;

impl MountedRule {
    fn new(rule: Rule) -> Self {
        Self {
            rule,
            seen: 0,
            answered: 0,
            tried: 0,
            misses: Vec::new(),
            more_misses: 0,
        }
    }

    /// Notes why `request` did not count towards the rule's `expect`.
    fn missed(&mut self, request: &RequestView<'_>, seq: u64, reason: impl FnOnce() -> String) {
        if self.rule.expect.is_none() {
            return;
        }
        if self.misses.len() >= MISSES_KEPT {
            self.more_misses = self.more_misses.saturating_add(1);
            return;
        }
        self.misses.push(format!(
            "#{seq} {} {}: {}",
            request.method(),
            excerpt(request.raw_path(), 100),
            reason()
        ));
    }
}

/// The rule that answers a request: its label for the journal, its
/// answer, and what it does to the answer's delivery.
pub(crate) struct ChosenRule {
    pub label: String,
    pub answer: Option<Answer>,
    pub effects: Effects,
}

/// Whether a request's normal answer has content a rule could change: a
/// model request that passed the service's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NormalAnswer {
    Changeable,
    Fixed,
}

/// How far into `next_credentials` issuing is.
#[derive(Debug, Default)]
struct Issued {
    /// When each set from `next_credentials` was issued (their number is
    /// how far into the queue the next one is).
    issued_at: Vec<Timestamp>,
}

/// What every request and the handle share.
pub(crate) struct Shared {
    initial: ServerConfig,
    config: RwLock<Arc<ServerConfig>>,
    rules: Mutex<Vec<MountedRule>>,
    pub(crate) clock: Clock,
    /// How the clock ran when the server started, for `reset`.
    clock_start: Setting,
    pub(crate) journal: Arc<Journal>,
    rng: Mutex<Rng>,
    /// How many credential sets were handed out from `next_credentials`.
    issued: Mutex<Issued>,
    /// The keys handed out while the server runs, apart from the config.
    pub(crate) keys: IssuedKeys,
    /// What each model's quotas have counted this minute.
    pub(crate) quotas: QuotaUse,
    pub(crate) seq: AtomicU64,
    pub(crate) log_requests: bool,
    /// How long a request's body may take to arrive.
    pub(crate) body_read_limit: std::time::Duration,
    /// Set when the server stops: answers held back for a client that
    /// gave up end then, so shutdown does not wait for them.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(
        config: ServerConfig,
        clock: Clock,
        log_requests: bool,
        body_read_limit: std::time::Duration,
        journal_limits: JournalLimits,
    ) -> Self {
        let config = config.with_changes_applied();
        let shared = Self {
            rng: Mutex::new(Rng::new(config.seed)),
            initial: config.clone(),
            config: RwLock::new(Arc::new(config)),
            rules: Mutex::new(Vec::new()),
            issued: Mutex::default(),
            clock_start: clock.setting(),
            keys: IssuedKeys::default(),
            quotas: QuotaUse::default(),
            clock,
            journal: Arc::new(Journal::new(journal_limits)),
            seq: AtomicU64::new(0),
            stopping: tokio::sync::watch::Sender::new(false),
            log_requests,
            body_read_limit,
        };
        shared.load_rules_from_config();
        shared
    }

    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// A copy of the account as a test or the admin API shows it: the
    /// config, with the keys handed out since it was set among its
    /// credentials.
    pub(crate) fn account(&self) -> ServerConfig {
        let mut account = ServerConfig::clone(&self.config());
        for key in self.keys.all() {
            account
                .credentials
                .retain(|c| c.access_key_id != key.access_key_id);
            account.credentials.push(key);
        }
        account
    }

    pub(crate) fn replace_config(&self, config: ServerConfig) {
        let config = config.with_changes_applied();
        *self.rng() = Rng::new(config.seed);
        {
            let mut issued = self.writer();
            *issued = Issued::default();
            self.keys.clear();
            self.quotas.clear();
            *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        }
        self.rules().clear();
        self.load_rules_from_config();
    }

    /// Issuing and every change to the config go through this lock (taken
    /// before the config's own): two refresh commands running at once get
    /// consecutive sets, and a config replaced starts its queue afresh.
    fn writer(&self) -> std::sync::MutexGuard<'_, Issued> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn update_config(&self, change: impl FnOnce(&mut ServerConfig)) {
        let _writer = self.writer();
        // Changed on a copy, outside the config lock: `change` may read
        // the server.
        let mut config = ServerConfig::clone(&self.config());
        change(&mut config);
        let config = config.with_changes_applied();
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    pub(crate) fn reset(&self) {
        // `seq` keeps counting: a stream still running from before the reset
        // records its frames under its own number, not a new request's.
        self.journal.clear();
        self.replace_config(self.initial.clone());
        // A clock left fixed by a test would refuse every freshly signed
        // request after the reset.
        self.clock.restore(self.clock_start);
    }

    /// Resolves when the server stops.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    pub(crate) fn stop(&self) {
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
        let config = self.config();
        let at = queue_index(issued.issued_at.len(), config.next_credentials.len())?;
        let credential = config.next_credentials[at].clone();
        self.keys.issue(credential.clone());
        issued.issued_at.push(Timestamp(self.clock.now()));
        Some(credential)
    }

    /// Makes credentials STS or the SSO portal minted known to the
    /// account (the oldest forgotten past a bound: see [`IssuedKeys`]).
    pub(crate) fn add_assumed_credential(&self, credential: Credential) {
        self.keys.mint(credential);
    }

    pub(crate) fn credential_report(&self) -> CredentialReport {
        let issued_at = self.writer().issued_at.clone();
        let from_queue = issued_at.len();
        CredentialReport {
            issued: from_queue,
            issued_at,
            assumed: self.keys.minted(),
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
        let failures: Vec<UnmetExpectation> = self
            .rules()
            .iter()
            .filter_map(|m| {
                let expected = m.rule.expect?;
                (!expected.admits(m.answered)).then(|| UnmetExpectation {
                    rule: m.rule.label(),
                    expected,
                    answered: m.answered,
                    tried: m.tried,
                    misses: m.misses.clone(),
                    more_misses: m.more_misses,
                })
            })
            .collect();
        // Expectations count the requests each rule matched, kept apart
        // from the journal, so entries it dropped change no verdict; a
        // failure says they are missing from the requests it lists.
        if failures.is_empty() {
            return Ok(());
        }
        let dropped = self.journal.count().dropped;
        let journal = self.journal.shared_snapshot();
        let omitted = journal.len().saturating_sub(REQUESTS_LISTED);
        let received = journal[omitted..]
            .iter()
            .map(|r| received_request(r))
            .collect();
        Err(ExpectationError {
            failures,
            received,
            omitted,
            dropped,
        })
    }

    /// The first rule that matches and still answers; counts the request
    /// against every rule whose conditions it meets. Counting and choosing
    /// happen under one lock, so concurrent requests (a client's parallel
    /// probes) cannot both take a `times(1)` rule. Rules that change a
    /// normal answer's content (a reply, a stream exception, a frame fault)
    /// take part only when that answer is [`NormalAnswer::Changeable`].
    pub(crate) fn answering_rule(
        &self,
        request: &RequestView<'_>,
        normal_answer: NormalAnswer,
        seq: u64,
    ) -> Option<ChosenRule> {
        let mut chosen: Option<ChosenRule> = None;
        for mounted in self.rules().iter_mut() {
            mounted.tried = mounted.tried.saturating_add(1);
            if let Some(miss) = mounted.rule.when.first_miss(request) {
                // Said now only for a rule that explains its misses: the
                // miss borrows the rule, which `missed` changes.
                let reason = mounted.rule.expect.map(|_| miss.to_string());
                mounted.missed(request, seq, || reason.unwrap_or_default());
                continue;
            }
            if normal_answer == NormalAnswer::Fixed && mounted.rule.changes_content() {
                mounted.missed(request, seq, || {
                    "matched, but the rule changes a normal answer's content and this request's answer is an error".to_owned()
                });
                continue;
            }
            mounted.seen = mounted.seen.saturating_add(1);
            if let Some(first) = &chosen {
                mounted.missed(request, seq, || {
                    format!("matched, but rule `{}` before it answered", first.label)
                });
                continue;
            }
            let seen = mounted.seen;
            if let Some(n) = mounted.rule.when.nth.filter(|n| *n != seen) {
                mounted.missed(request, seq, || {
                    format!("nth: was call #{seen}, rule wants #{n}")
                });
                continue;
            }
            if let Some(times) = mounted.rule.times.filter(|t| mounted.answered >= *t) {
                mounted.missed(request, seq, || {
                    format!("matched, but `times` ({times}) was used up")
                });
                continue;
            }
            mounted.answered = mounted.answered.saturating_add(1);
            chosen = Some(ChosenRule {
                label: mounted.rule.label(),
                answer: mounted.rule.answer.clone(),
                effects: mounted.rule.effects.clone(),
            });
        }
        chosen
    }
}

/// A request as an expectation message lists it: its line and status,
/// its headers as the journal redacted them, and the start of its body
/// (as the journal recorded it, secrets redacted).
fn received_request(r: &RecordedRequest) -> String {
    let status = r.status.unwrap_or(0);
    let query = if r.query.is_empty() { "" } else { "?" };
    let mut text = format!(
        "#{} {} {}{query}{} -> {status}",
        r.seq, r.method, r.raw_path, r.query
    );
    if let Some(error) = &r.error_type {
        text.push_str(&format!(" {error}"));
    }
    if let Some(rule) = &r.rule {
        text.push_str(&format!(" (rule `{rule}`)"));
    }
    for (name, value) in &r.headers {
        text.push_str(&format!("\n    {name}: {}", excerpt(value, 240)));
    }
    if !r.body.is_empty() {
        let body = excerpt(&r.body.replace(['\n', '\r'], " "), BODY_EXCERPT);
        text.push_str(&format!("\n    body: {body}"));
    }
    text
}

/// Rules whose `expect` was not met, why the requests each saw missed
/// it, and the latest requests the journal holds (redacted) for context.
/// Its `Display` is the message a failing test shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpectationError {
    /// One per unmet expectation.
    pub failures: Vec<UnmetExpectation>,
    /// The latest requests the journal holds, each its line and status,
    /// its redacted headers and the start of its body.
    pub received: Vec<String>,
    /// Requests the journal holds but `received` leaves out (the oldest).
    pub omitted: usize,
    /// Requests the journal dropped over its limits, the oldest first
    /// (see [`crate::JournalLimits`]).
    pub dropped: u64,
}

/// One rule whose `expect` was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnmetExpectation {
    /// The rule's name, or a description of its matcher.
    pub rule: String,
    /// What its `expect` asked.
    pub expected: Times,
    /// How many requests it answered.
    pub answered: u32,
    /// How many requests reached the rules while it was mounted (the
    /// others were refused before: authentication, an unknown operation,
    /// a body not read whole).
    pub tried: u32,
    /// Why each request it did not answer missed it (`#2 POST
    /// /model/…/invoke: operation InvokeModel, rule wants
    /// InvokeModelWithResponseStream`), the first ten.
    pub misses: Vec<String>,
    /// Misses past those listed.
    pub more_misses: u32,
}

impl ExpectationError {
    /// An error for `failures`, with no requests listed.
    pub fn new(failures: Vec<UnmetExpectation>) -> Self {
        Self {
            failures,
            received: Vec::new(),
            omitted: 0,
            dropped: 0,
        }
    }
}

impl UnmetExpectation {
    /// Rule `rule` expected `expected` requests and answered `answered`.
    ///
    /// ```
    /// use bedrock_mock_server::{ExpectationError, Times, UnmetExpectation};
    ///
    /// let error = ExpectationError::new(vec![UnmetExpectation::new("throttle once", Times::between(1, 3), 0)]);
    /// assert!(error.to_string().contains("rule `throttle once`: expected between 1 and 3 matching request(s), answered 0"));
    /// ```
    pub fn new(rule: impl Into<String>, expected: Times, answered: u32) -> Self {
        Self {
            rule: rule.into(),
            expected,
            answered,
            tried: 0,
            misses: Vec::new(),
            more_misses: 0,
        }
    }
}

impl std::fmt::Display for UnmetExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule `{}`: expected {} matching request(s), answered {}",
            self.rule, self.expected, self.answered
        )?;
        if self.tried == 0 {
            return write!(
                f,
                "\n      no request reached the rules while it was mounted"
            );
        }
        for miss in &self.misses {
            write!(f, "\n      {miss}")?;
        }
        if self.more_misses > 0 {
            write!(
                f,
                "\n      ... and {} more it did not answer",
                self.more_misses
            )?;
        }
        Ok(())
    }
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
        if self.dropped > 0 {
            writeln!(
                f,
                "bedrock mock: the journal dropped its {} oldest request(s) over its limits, so the list below is incomplete (raise them with MockBedrockBuilder::journal_limits)",
                self.dropped
            )?;
        }
        let total = self.received.len() + self.omitted;
        if self.omitted > 0 {
            writeln!(
                f,
                "requests received ({total}; the latest {} below, MockBedrock::received_requests has all):",
                self.received.len()
            )?;
        } else {
            writeln!(f, "requests received ({total}):")?;
        }
        for request in &self.received {
            writeln!(f, "  {request}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExpectationError {}
