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
use crate::journal::{Journal, JournalLimits};
use crate::quota::QuotaUse;
use crate::rng::Rng;
use crate::rules::{Answer, RequestFacts, Rule};
use crate::timefmt::Timestamp;

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
        // Expectations count the requests each rule matched, kept apart
        // from the journal, so entries it dropped change no verdict; a
        // failure says they are missing from the requests it lists.
        if failures.is_empty() {
            return Ok(());
        }
        let dropped = self.journal.count().dropped;
        let received = self
            .journal
            .shared_snapshot()
            .iter()
            .map(|r| {
                let status = r.status.unwrap_or(0);
                format!("#{} {} {} -> {status}", r.seq, r.method, r.raw_path)
            })
            .collect();
        Err(ExpectationError {
            failures,
            received,
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
        facts: &RequestFacts<'_>,
        normal_answer: NormalAnswer,
    ) -> Option<ChosenRule> {
        let mut chosen = None;
        for mounted in self.rules().iter_mut() {
            let applies =
                normal_answer == NormalAnswer::Changeable || !mounted.rule.changes_content();
            if !applies || !mounted.rule.when.matches(facts) {
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
                    effects: mounted.rule.effects.clone(),
                });
            }
        }
        chosen
    }
}

/// Rules whose `expect` was not met, with the requests the journal holds
/// (and how many it dropped) for context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationError {
    /// One line per unmet expectation.
    pub failures: Vec<String>,
    /// One line per request the journal holds, for context.
    pub received: Vec<String>,
    /// Requests the journal dropped over its limits, the oldest first
    /// (see [`crate::JournalLimits`]).
    pub dropped: u64,
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
        writeln!(f, "requests received ({}):", self.received.len())?;
        for line in &self.received {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExpectationError {}
