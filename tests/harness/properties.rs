//! Properties of routing, retries, refresh loops, startup fallback and
//! the turn's ladder over generated scenarios: the same `Scenario` values the files
//! deserialize into, run in-process against the mock on the shared
//! virtual clock, so each case takes milliseconds.
//! A failing case is printed as a scenario file, ready to be checked in
//! under `scenarios/` once fixed.
//!
//! `PROPTEST_CASES` sets the number of cases (default 24 per property);
//! `PROPTEST_CASES=2000 cargo test --test harness properties` is a deep run.

use std::collections::BTreeMap;
use std::time::Duration;

use bedrock_client::provider::is_mantle_id;
use bedrock_harness::scenario::format::{CredentialShorthand, Scenario};
use bedrock_harness::scenario::observed::{Run, Session};
use bedrock_harness::scenario::run::execute;
use bedrock_mock_server::{
    Answer, ErrorCode, FrameFault, FrameFaultKind, Match, Operation, RecordedRequest, Reset, Rule,
    Stall,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

use crate::scenario_value;

/// Cases per property: `PROPTEST_CASES`, else 24 (the whole file stays
/// under ten seconds).
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `scenario`; the error names the scenario as a file.
fn run(runtime: &tokio::runtime::Runtime, scenario: &Scenario) -> Result<Run, TestCaseError> {
    runtime
        .block_on(execute(scenario))
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", as_file(scenario))))
}

/// The session of a run: every run here is `bedrock-client` in-process.
fn session(run: &Run) -> &Session {
    run.session().expect("an in-process run")
}

/// The scenario as the TOML a file would hold, with only what differs
/// from the default account in `[server]`.
fn as_file(scenario: &Scenario) -> String {
    let written = toml::Value::try_from(scenario).and_then(|mut value| {
        let default = toml::Value::try_from(bedrock_mock_server::ServerConfig::default())?;
        if let Some(toml::Value::Table(server)) = value.get_mut("server") {
            server.retain(|key, v| default.get(key) != Some(v));
        }
        toml::to_string(&value)
    });
    format!(
        "--- the case as a scenario file ---\n{}",
        written.unwrap_or_else(|e| format!("(cannot write it: {e})"))
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Bedrock in us-east-1 with every tier pinned, so there are no startup
/// probes and only the turn meets what a property scripts; a retry
/// budget when given.
fn turn_only_env(max_retries: Option<u32>) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
        (
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "us.anthropic.claude-opus-5-5",
        ),
        (
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "us.anthropic.claude-sonnet-4-6",
        ),
        (
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(retries) = max_retries {
        env.insert("CLAUDE_CODE_MAX_RETRIES".into(), retries.to_string());
    }
    env
}

/// The model a request named, from its path or Mantle's body.
fn model_of(r: &RecordedRequest) -> Option<String> {
    bedrock_harness::scenario::check::model_of(r)
}

fn is_mantle_call(op: Operation) -> bool {
    matches!(
        op,
        Operation::MantleMessages | Operation::MantleMessagesStream
    )
}

fn is_invoke_call(op: Operation) -> bool {
    matches!(
        op,
        Operation::InvokeModel | Operation::InvokeModelWithResponseStream
    )
}

/// What a user may choose as the model, every kind the resolver knows.
const CHOICES: &[&str] = &[
    "opus",
    "sonnet",
    "haiku",
    "opus[1m]",
    "sonnet[1m]",
    "claude-opus-4-6",
    "claude-sonnet-4-6[1m]",
    "us.anthropic.claude-sonnet-4-6",
    "us.anthropic.claude-sonnet-4-6[1m]",
    "global.anthropic.claude-opus-4-7[1m]",
    "anthropic.claude-haiku-4-5",
    "anthropic.claude-opus-5-5",
    "anthropic.claude-sonnet-4-6",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/prof1",
];

const OPUS_PINS: &[&str] = &[
    "us.anthropic.claude-opus-4-6-v1",
    "us.anthropic.claude-opus-4-7[1m]",
    "claude-opus-4-5-20251101",
];
const HAIKU_PINS: &[&str] = &["us.anthropic.claude-haiku-4-5-20251001-v1:0", "haiku"];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(list).prop_map(str::to_owned))
}

/// A client configuration: endpoints, region, small/fast region, the
/// model choice (flag or variable), pins and availableModels.
#[derive(Debug, Clone)]
struct Routing {
    bedrock: bool,
    mantle: bool,
    region: &'static str,
    small_fast_region: Option<&'static str>,
    choice: Option<String>,
    by_flag: bool,
    opus_pin: Option<String>,
    haiku_pin: Option<String>,
    restrict: bool,
    overrides: bool,
}

fn routing() -> impl Strategy<Value = Routing> {
    (
        prop::sample::select(&[(true, false), (false, true), (true, true)][..]),
        prop::sample::select(&["us-east-1", "eu-west-1", "us-west-2"][..]),
        prop::option::of(prop::sample::select(&["us-west-2", "ap-southeast-2"][..])),
        pick(CHOICES),
        any::<bool>(),
        pick(OPUS_PINS),
        pick(HAIKU_PINS),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(
                (bedrock, mantle),
                region,
                small_fast_region,
                choice,
                by_flag,
                opus_pin,
                haiku_pin,
                restrict,
                overrides,
            )| {
                Routing {
                    bedrock,
                    mantle,
                    region,
                    small_fast_region,
                    choice,
                    by_flag,
                    opus_pin,
                    haiku_pin,
                    restrict,
                    overrides,
                }
            },
        )
}

impl Routing {
    fn scenario(&self) -> Scenario {
        let mut env = BTreeMap::from([("AWS_REGION".to_owned(), self.region.to_owned())]);
        if self.bedrock {
            env.insert("CLAUDE_CODE_USE_BEDROCK".into(), "1".into());
        }
        if self.mantle {
            env.insert("CLAUDE_CODE_USE_MANTLE".into(), "1".into());
        }
        if let Some(region) = self.small_fast_region {
            env.insert(
                "ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION".into(),
                region.into(),
            );
        }
        if let Some(pin) = &self.opus_pin {
            env.insert("ANTHROPIC_DEFAULT_OPUS_MODEL".into(), pin.clone());
        }
        if let Some(pin) = &self.haiku_pin {
            env.insert("ANTHROPIC_DEFAULT_HAIKU_MODEL".into(), pin.clone());
        }
        let mut args = Vec::new();
        match (&self.choice, self.by_flag) {
            (Some(choice), true) => args = vec!["--model".to_owned(), choice.clone()],
            (Some(choice), false) => {
                env.insert("ANTHROPIC_MODEL".into(), choice.clone());
            }
            (None, _) => {}
        }
        let mut scenario = scenario_value("generated-routing");
        scenario.client.env = env;
        scenario.client.args = args;
        scenario.client.credentials = CredentialShorthand::Keys;
        let mut user = serde_json::Map::new();
        if self.restrict {
            user.insert(
                "availableModels".into(),
                serde_json::json!(["opus", "haiku", "anthropic.claude-haiku-4-5"]),
            );
        }
        if self.overrides {
            user.insert(
                "modelOverrides".into(),
                serde_json::json!({
                    "claude-opus-4-6": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/prof1",
                    "claude-sonnet-4-6": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
                }),
            );
        }
        if !user.is_empty() {
            scenario.client.settings.user = Some(serde_json::Value::Object(user));
        }
        let mut server = scenario.server.clone();
        for region in [self.region, "us-west-2", "ap-southeast-2"] {
            server = server.region(region);
        }
        server
            .application_profiles
            .push(bedrock_mock_server::ApplicationProfile::new(
                "prof1",
                "us.anthropic.claude-opus-4-6-v1",
            ));
        scenario.server = server;
        scenario
    }
}

/// The AWS region request `r` for `model` must be signed for: the
/// small/fast region for the Haiku tier's startup probes (their body asks
/// for one token), AWS_REGION for everything else, a Haiku turn included
/// (the main loop's, as the CLI 2.1.328 and 2.1.332 sign it).
fn expected_region<'a>(routing: &'a Routing, r: &RecordedRequest, model: &str) -> &'a str {
    let probe = r.json().is_some_and(|body| body["max_tokens"] == 1);
    match routing.small_fast_region {
        Some(region) if probe && model.contains("haiku") => region,
        _ => routing.region,
    }
}

proptest! {
    #![proptest_config(config())]

    /// Every request goes to the one endpoint the routing rule names,
    /// signed for that endpoint's service and the model's region, and no
    /// wire id carries `[1m]`.
    #[test]
    fn every_request_goes_where_the_routing_rule_says(routing in routing()) {
        let runtime = runtime();
        let scenario = routing.scenario();
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        prop_assert!(session(&run).outcome.exit.code() <= 1, "exit {}\n{file}", session(&run).outcome.exit.code());
        for r in &run.journal {
            let Some(op) = r.operation else { continue };
            let model = model_of(r).unwrap_or_default();
            prop_assert!(!r.raw_path.contains("[1m]") && !r.raw_path.contains("%5B1m%5D") && !model.contains("[1m]"),
                "[1m] on the wire: {} {model}\n{file}", r.raw_path);
            if is_mantle_call(op) {
                prop_assert!(routing.mantle, "Mantle called with Mantle off: {model}\n{file}");
                prop_assert!(!routing.bedrock || is_mantle_id(&model),
                    "with both endpoints on, Mantle got a Bedrock id: {model}\n{file}");
                prop_assert_eq!(r.auth.service.as_deref(), Some("bedrock-mantle"), "{}", file);
            }
            if is_invoke_call(op) {
                prop_assert!(routing.bedrock, "Invoke called with Bedrock off: {model}\n{file}");
                prop_assert!(!(routing.mantle && is_mantle_id(&model)),
                    "a Mantle-format id went to Invoke with Mantle on: {model}\n{file}");
                prop_assert_eq!(r.auth.service.as_deref(), Some("bedrock"), "{}", file);
                prop_assert_eq!(r.auth.region.as_deref(), Some(expected_region(&routing, r, &model)),
                    "{} signed for the wrong region\n{}", model, file);
            }
            if matches!(op, Operation::ListInferenceProfiles | Operation::GetInferenceProfile) {
                prop_assert!(routing.bedrock, "control plane called with Bedrock off\n{file}");
                prop_assert_eq!(r.auth.region.as_deref(), Some(routing.region), "{}", file);
            }
        }
    }
}

/// One answer to the turn's stream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Throttled { retry_after: Option<u64> },
    ServerError,
    Unavailable,
    Invalid,
    AccessDenied,
    ModelError,
}

impl Failure {
    fn retryable(self) -> bool {
        matches!(
            self,
            Failure::Throttled { .. } | Failure::ServerError | Failure::Unavailable
        )
    }

    fn answer(self) -> Answer {
        let (code, retry_after) = match self {
            Failure::Throttled { retry_after } => (ErrorCode::ThrottlingException, retry_after),
            Failure::ServerError => (ErrorCode::InternalServerException, None),
            Failure::Unavailable => (ErrorCode::ServiceUnavailableException, None),
            Failure::Invalid => (ErrorCode::ValidationException, None),
            Failure::AccessDenied => (ErrorCode::AccessDeniedException, None),
            Failure::ModelError => (ErrorCode::ModelErrorException, None),
        };
        Answer::Error {
            code,
            status: None,
            message: None,
            retry_after,
        }
    }

    /// The wait before the retry after this failure, the `retry`-th (from
    /// 1): `retry-after` if sent, else 0.5 s doubling to 32 s (jitter 0).
    fn delay(self, retry: u32) -> f64 {
        match self {
            Failure::Throttled {
                retry_after: Some(s),
            } => s.min(300) as f64,
            _ => (0.5 * f64::from(1u32 << (retry - 1).min(10))).min(32.0),
        }
    }
}

fn failure() -> impl Strategy<Value = Failure> {
    prop_oneof![
        // `retry-after` small, or past the client's 300 s cap.
        3 => prop::option::of(prop_oneof![0u64..5, 290u64..400])
            .prop_map(|retry_after| Failure::Throttled { retry_after }),
        2 => Just(Failure::ServerError),
        2 => Just(Failure::Unavailable),
        1 => Just(Failure::Invalid),
        1 => Just(Failure::AccessDenied),
        1 => Just(Failure::ModelError),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// For any run of failures before success and any budget, the turn is
    /// attempted exactly as often as the retry rule says, never more than
    /// the budget, a non-retryable failure is never retried, the backoff
    /// adds up to the schedule, and the run succeeds exactly when a good
    /// answer comes within the budget.
    #[test]
    fn retries_follow_the_rule_and_stay_in_the_budget(
        failures in prop::collection::vec(failure(), 0..6),
        max_retries in 0u32..5,
    ) {
        let runtime = runtime();
        let mut scenario = scenario_value("generated-retries");
        scenario.client.credentials = CredentialShorthand::Keys;
        scenario.client.env = turn_only_env(Some(max_retries));
        for (n, failure) in failures.iter().enumerate() {
            scenario.server.rules.push(Rule::new(
                Match::operation(Operation::InvokeModelWithResponseStream).nth(n as u32 + 1),
                failure.answer(),
            ));
        }
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        let attempts = run
            .journal
            .iter()
            .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
            .count() as u32;
        let budget = max_retries + 1;
        // The rule: stop at the first non-retryable failure, at the first
        // success, or when the budget is spent.
        let stop = failures.iter().position(|f| !f.retryable());
        let (want_attempts, succeeds) = match stop {
            Some(i) if (i as u32) < budget => (i as u32 + 1, false),
            _ if (failures.len() as u32) < budget => (failures.len() as u32 + 1, true),
            _ => (budget, false),
        };
        prop_assert!(attempts <= budget, "{attempts} attempts over a budget of {budget}\n{file}");
        prop_assert_eq!(attempts, want_attempts, "{}", file);
        prop_assert_eq!(session(&run).outcome.exit.code() == 0, succeeds, "exit {}\n{}", session(&run).outcome.exit.code(), file);
        if !succeeds {
            prop_assert!(!run.stdout.contains("hi\n") || run.stdout.starts_with("API Error"),
                "a failed run printed an answer\n{file}");
        }
        let waited: f64 = failures
            .iter()
            .take(want_attempts.saturating_sub(1) as usize)
            .enumerate()
            .map(|(n, f)| f.delay(n as u32 + 1))
            .sum();
        let moved = session(&run).virtual_time.as_secs_f64();
        prop_assert!((moved - waited).abs() < 0.001,
            "the clock moved {moved} s, the schedule says {waited} s\n{file}");
    }
}

/// A credential the mock's queue hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issued {
    /// Valid for an hour.
    Good,
    /// Its session expired before the run.
    Expired,
    /// Deleted before the run: AWS no longer knows it.
    Revoked,
}

fn issued_credential(n: usize, state: Issued) -> bedrock_mock_server::Credential {
    use std::time::Duration;
    let start = bedrock_harness::scenario::format::default_start();
    let key = format!("ASIAQUEUE{n:011}");
    let credential = bedrock_mock_server::Credential::new(&key, format!("secret/{key}/EXAMPLEKEY"));
    match state {
        Issued::Good => credential.session(
            format!("token-{key}-good"),
            start + Duration::from_secs(3600),
        ),
        Issued::Expired => credential.session(
            format!("token-{key}-expired"),
            start - Duration::from_secs(3600),
        ),
        // A session like the others (an export must print a session
        // token, as the CLI requires), deleted before the run.
        Issued::Revoked => credential
            .session(
                format!("token-{key}-revoked"),
                start + Duration::from_secs(3600),
            )
            .revoked(start - Duration::from_secs(60)),
    }
}

/// How the client gets fresh credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// `awsCredentialExport` prints the next queued credentials.
    Export,
    /// `awsAuthRefresh` writes them to `~/.aws/credentials`, which
    /// starts with an expired session.
    AuthRefresh,
}

proptest! {
    #![proptest_config(config())]

    /// For any queue of credentials, any budget and any throttling, 5xx or
    /// access-denied answers on the way, a refresh loop ends;
    /// the turn is attempted no more than the budget and the two
    /// renewals a refusal of the credentials gets after it allow; an export
    /// runs at most once per credential load; `awsAuthRefresh` never runs
    /// twice within 30 s of the session's clock; and when a good
    /// credential comes within the budget, the turn succeeds.
    #[test]
    fn refresh_loops_are_bounded_and_recover_when_they_can(
        queue in prop::collection::vec(
            prop::sample::select(&[Issued::Good, Issued::Expired, Issued::Revoked][..]),
            1..5,
        ),
        refresh in prop::sample::select(&[Refresh::Export, Refresh::AuthRefresh][..]),
        max_retries in 0u32..6,
        interruptions in prop::collection::vec(
            prop::sample::select(&[ErrorCode::ThrottlingException, ErrorCode::ServiceUnavailableException, ErrorCode::AccessDeniedException][..]),
            0..3,
        ),
    ) {
        use bedrock_harness::scenario::format::RefreshAction;
        let runtime = runtime();
        let mut scenario = scenario_value("generated-refresh");
        scenario.client.env = turn_only_env(Some(max_retries));
        scenario.server.next_credentials = queue
            .iter()
            .enumerate()
            .map(|(n, state)| issued_credential(n, *state))
            .collect();
        match refresh {
            Refresh::Export => scenario.client.refresh.export = Some(RefreshAction::IssueNext),
            Refresh::AuthRefresh => {
                scenario.client.refresh.auth = Some(RefreshAction::IssueNext);
                let stale = issued_credential(99, Issued::Expired);
                scenario.server.credentials.push(stale.clone());
                scenario.client.files.insert(
                    ".aws/credentials".into(),
                    format!(
                        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
                        stale.access_key_id,
                        stale.secret_access_key,
                        stale.session_token.unwrap_or_default()
                    ),
                );
            }
        }
        // The first turn attempts answered with these (throttled and 5xx
        // are retried with the same credentials; access denied ends the run).
        for (n, code) in interruptions.iter().enumerate() {
            scenario.server.rules.push(Rule::new(
                Match::operation(Operation::InvokeModelWithResponseStream).nth(n as u32 + 1),
                Answer::error(*code),
            ));
        }
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        let counts = session(&run).outcome.credentials.unwrap_or_default();
        let attempts = run
            .journal
            .iter()
            .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
            .count() as u32;
        let cli = bedrock_client::profile::newest();
        let budget = max_retries + 1 + cli.retries.credential_renewals;
        prop_assert!(attempts <= budget, "{attempts} turn attempts over a budget of {budget}\n{file}");
        // Credential loads: the profile listing's one, and one per turn attempt.
        prop_assert!(counts.exports <= budget + 1, "{} exports\n{file}", counts.exports);
        let interval = cli.credentials.auth_refresh_interval.as_secs_f64();
        let gates = (session(&run).virtual_time.as_secs_f64() / interval).floor() as u32 + 1;
        prop_assert!(counts.auth_refreshes <= gates,
            "{} awsAuthRefresh runs in {:?} of session time\n{file}", counts.auth_refreshes, session(&run).virtual_time);
        if refresh == Refresh::AuthRefresh {
            // Each run of the command issues one credential: when they
            // were issued is when it ran.
            prop_assert_eq!(run.issued_at.len() as u32, counts.auth_refreshes, "{}", file);
            for pair in run.issued_at.windows(2) {
                prop_assert!(pair[1] - pair[0] >= Duration::from_secs(30),
                    "awsAuthRefresh ran at {:?} and again at {:?} of session time\n{}", pair[0], pair[1], file);
            }
        }
        let issued = run.issued_at.len() as u32;
        prop_assert!(issued <= budget + 1, "{} credentials issued\n{file}", issued);
        if session(&run).outcome.exit.code() == 0 {
            prop_assert!(queue.contains(&Issued::Good), "success without a good credential\n{file}");
        }
        // Export: each load takes the next credential, the last again and
        // again; the listing takes the first, each failed attempt the next.
        if refresh == Refresh::Export && interruptions.is_empty() {
            // Every refusal here is of the credentials: the renewals count.
            let reachable = (budget as usize).min(queue.len() - 1);
            let good_in_time = queue[..=reachable].contains(&Issued::Good);
            prop_assert_eq!(session(&run).outcome.exit.code() == 0, good_in_time,
                "queue {:?}, budget {}: exit {}\n{}", queue, budget, session(&run).outcome.exit.code(), file);
        }
    }
}

/// What the default Opus's startup probe gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probed {
    Answers,
    NotFound,
    Denied,
    /// 400 ValidationException.
    Invalid,
    Throttled,
    ServerError,
    /// The credentials refused for this one call (an expired token).
    CredentialError,
    /// No answer for this many tenths of a second (the probe gives up
    /// after 8 s).
    Stalls(u32),
}

/// The probe's time limit.
const PROBE_LIMIT: Duration = Duration::from_secs(8);

proptest! {
    #![proptest_config(config())]

    /// For any set of available Opus versions and any answer to the
    /// default's probe: a pinned tier is never probed and is used; "not
    /// found", a 400 or a 403 AccessDenied moves the session to the newest
    /// older Opus that answers (probing all of them), or to Sonnet's model
    /// when none does; any other failure keeps the default and probes
    /// nothing more; the notice appears exactly when the model changed;
    /// nothing is written to the settings.
    #[test]
    fn fallback_takes_the_newest_version_that_answers(
        probed in prop::sample::select(&[
            Probed::Answers, Probed::NotFound, Probed::NotFound, Probed::NotFound,
            Probed::Denied, Probed::Invalid, Probed::Throttled, Probed::ServerError, Probed::CredentialError,
            Probed::Stalls(20), Probed::Stalls(79), Probed::Stalls(80), Probed::Stalls(81),
            Probed::Stalls(36_000),
        ][..]),
        available in prop::collection::vec(prop::bool::weighted(0.3), 7),
        pin in prop::option::weighted(0.2, 0usize..8),
    ) {
        use bedrock_client::catalogue::Family;
        let catalogue = bedrock_client::profile::newest().catalogue;
        let lineup = catalogue.lineup("cli").expect("the cli lineup");
        let default = catalogue.model(lineup.default_for(Family::Opus)).expect("the default Opus");
        let older: Vec<_> = catalogue.older_than(&default.name);
        let opus: Vec<_> = std::iter::once(default).chain(older.iter().copied()).collect();
        let runtime = runtime();
        let mut scenario = scenario_value("generated-fallback");
        scenario.client.credentials = CredentialShorthand::Keys;
        scenario.client.env = BTreeMap::from([
            ("CLAUDE_CODE_USE_BEDROCK".to_owned(), "1".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ]);
        let pinned = pin.map(|i| opus[i % opus.len()]);
        if let Some(model) = pinned {
            scenario.client.env.insert(
                "ANTHROPIC_DEFAULT_OPUS_MODEL".into(),
                format!("us.{}", model.bedrock),
            );
        }
        let server = &mut scenario.server;
        for (model, up) in older.iter().zip(&available) {
            if !up {
                server.model_state.insert(model.bedrock.clone(), bedrock_mock_server::ModelState::NotFound);
            }
        }
        let probe_of_default = Match::operation(Operation::InvokeModel).model(format!("*{}", default.bedrock));
        match probed {
            Probed::Answers => {}
            Probed::NotFound => {
                server.model_state.insert(default.bedrock.clone(), bedrock_mock_server::ModelState::NotFound);
            }
            Probed::Denied => server.rules.push(Rule::new(probe_of_default, Answer::error(ErrorCode::AccessDeniedException))),
            Probed::Invalid => server.rules.push(Rule::new(probe_of_default, Answer::error(ErrorCode::ValidationException))),
            Probed::Throttled => server.rules.push(Rule::new(probe_of_default, Answer::error(ErrorCode::ThrottlingException))),
            Probed::ServerError => server.rules.push(Rule::new(probe_of_default, Answer::error(ErrorCode::InternalServerException))),
            Probed::CredentialError => server.rules.push(Rule::new(probe_of_default, Answer::error(ErrorCode::ExpiredTokenException))),
            Probed::Stalls(tenths) => server.rules.push(Rule::stalling(
                probe_of_default,
                Stall::before_head(f64::from(tenths) / 10.0),
            )),
        }
        // A pin the account does not serve still answers the turn here:
        // the property is about the choice, not the pin's health.
        if let Some(model) = pinned {
            server.model_state.insert(model.bedrock.clone(), bedrock_mock_server::ModelState::Enabled);
        }
        scenario.expect.files_lack.insert(".claude/settings.json".into(), Vec::new());
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        let turn = run
            .journal
            .iter()
            .rfind(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
            .and_then(model_of)
            .unwrap_or_default();
        let opus_probes = run
            .journal
            .iter()
            .filter(|r| r.operation == Some(Operation::InvokeModel))
            .filter_map(model_of)
            .filter(|m| m.contains("opus"))
            .count();
        let sonnet = catalogue.model(lineup.default_for(Family::Sonnet)).expect("the default Sonnet");
        let expected = match (pinned, probed) {
            (Some(model), _) => model,
            // A 403 AccessDenied or a 400 moves too, as the real CLI does
            // (conformance/DIFFERENCES.md).
            (None, Probed::NotFound | Probed::Denied | Probed::Invalid) => older
                .iter()
                .zip(&available)
                .find(|(_, up)| **up)
                .map_or(sonnet, |(m, _)| *m),
            (None, _) => default,
        };
        prop_assert!(turn.ends_with(&expected.bedrock),
            "the turn went to {turn}, expected {}\n{file}", expected.bedrock);
        let stall = match probed {
            Probed::Stalls(tenths) => Duration::from_millis(u64::from(tenths) * 100),
            _ => Duration::ZERO,
        };
        let refused_for_good = matches!(probed, Probed::NotFound | Probed::Denied | Probed::Invalid);
        if pinned.is_some() {
            prop_assert_eq!(opus_probes, 0, "a pinned tier was probed\n{}", file);
        } else if refused_for_good {
            // The probing widens to every older version.
            prop_assert_eq!(opus_probes, opus.len(), "{}", file);
        } else {
            // An answer, a throttled or failing probe, a timeout: nothing
            // more is probed, as the real CLI does (DIFFERENCES.md).
            prop_assert_eq!(opus_probes, 1, "the probing widened\n{}", file);
        }
        if pinned.is_none() && stall > Duration::ZERO {
            // A stall is over, or the probe gave up, exactly on time.
            prop_assert_eq!(session(&run).virtual_time, stall.min(PROBE_LIMIT), "{}", file);
        }
        let fell_back = pinned.is_none() && refused_for_good;
        let notice = format!("Warning: Opus: {} not available — using", default.display);
        prop_assert_eq!(run.stderr.contains(&notice), fell_back,
            "notice {:?} in stderr {:?}\n{}", notice, run.stderr, file);
        prop_assert_eq!(session(&run).outcome.exit.code(), 0, "{}", file);
        prop_assert!(run.files.get(".claude/settings.json").is_some_and(Option::is_none),
            "the settings file was written\n{file}");
    }
}

/// What the turn's stream call gets on one model of the Opus ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TurnAnswer {
    Answers,
    /// 403 "You don't have access to the model with the specified model ID."
    NoAccess,
    /// 400 "The provided model identifier is invalid."
    InvalidId,
    /// 403 from an IAM policy.
    IamDenied,
    /// A 400 that is about the request, not the model.
    TooLong,
}

/// AWS's words for an IAM policy's refusal.
const IAM_DENIAL: &str = "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:us-east-1::foundation-model/x because no identity-based policy allows the bedrock:InvokeModelWithResponseStream action";

proptest! {
    #![proptest_config(config())]

    /// Whatever each model of the Opus ladder answers the turn with: the
    /// turn moves down the ladder (every older Opus, then the Sonnet
    /// default) past each refusal of the model, at once after a refusal
    /// and after one more send and a probe of the next model after an IAM
    /// denial, and stops at the first model that answers (exit 0) or at
    /// any other refusal (exit 1); a pinned Opus has no ladder. Each model
    /// gets at most two sends, so the loop is bounded; when the ladder is
    /// spent, Sonnet's older versions are probed (the CLI's tier check).
    #[test]
    fn a_refused_turn_walks_down_the_ladder(
        answers in prop::collection::vec(prop::sample::select(&[
            TurnAnswer::Answers, TurnAnswer::NoAccess, TurnAnswer::NoAccess, TurnAnswer::NoAccess,
            TurnAnswer::InvalidId, TurnAnswer::IamDenied, TurnAnswer::TooLong,
        ][..]), 9),
        pinned in prop::bool::weighted(0.2),
    ) {
        use bedrock_client::catalogue::Family;
        let catalogue = bedrock_client::profile::newest().catalogue;
        let lineup = catalogue.lineup("cli").expect("the cli lineup");
        let default = catalogue.model(lineup.default_for(Family::Opus)).expect("the default Opus");
        let sonnet = catalogue.model(lineup.default_for(Family::Sonnet)).expect("the default Sonnet");
        let ladder: Vec<_> = std::iter::once(default)
            .chain(catalogue.older_than(&default.name))
            .chain(std::iter::once(sonnet))
            .collect();
        prop_assert_eq!(ladder.len(), answers.len());
        let runtime = runtime();
        let mut scenario = scenario_value("generated-ladder");
        scenario.client.credentials = CredentialShorthand::Keys;
        scenario.client.env = BTreeMap::from([
            ("CLAUDE_CODE_USE_BEDROCK".to_owned(), "1".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ]);
        if pinned {
            scenario.client.env.insert(
                "ANTHROPIC_DEFAULT_OPUS_MODEL".into(),
                format!("us.{}", default.bedrock),
            );
        }
        for (model, answer) in ladder.iter().zip(&answers) {
            let (code, message) = match answer {
                TurnAnswer::Answers => continue,
                TurnAnswer::NoAccess => (ErrorCode::AccessDeniedException, None),
                TurnAnswer::InvalidId => (ErrorCode::ValidationException, None),
                TurnAnswer::IamDenied => (ErrorCode::AccessDeniedException, Some(IAM_DENIAL.to_owned())),
                TurnAnswer::TooLong => (ErrorCode::ValidationException, Some("Input is too long for requested model.".to_owned())),
            };
            scenario.server.rules.push(Rule::new(
                Match::operation(Operation::InvokeModelWithResponseStream)
                    .model(format!("us.{}", model.bedrock)),
                Answer::Error { code, status: None, message, retry_after: None },
            ));
        }
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        // The sends the ladder predicts, model by model.
        let mut expected = Vec::new();
        let mut exit = 1;
        let rungs = if pinned { 1 } else { ladder.len() };
        for (model, answer) in ladder.iter().zip(&answers).take(rungs) {
            let id = format!("us.{}", model.bedrock);
            expected.push(id.clone());
            match answer {
                TurnAnswer::Answers => { exit = 0; break; }
                TurnAnswer::NoAccess | TurnAnswer::InvalidId => {}
                TurnAnswer::IamDenied => expected.push(id),
                TurnAnswer::TooLong => break,
            }
        }
        let sent: Vec<String> = run
            .journal
            .iter()
            .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
            .filter_map(model_of)
            .collect();
        prop_assert_eq!(&sent, &expected, "{}", file);
        prop_assert_eq!(session(&run).outcome.exit.code(), exit, "{}", file);
        prop_assert!(sent.len() <= 2 * ladder.len(), "unbounded: {} sends\n{}", sent.len(), file);
        // Sonnet's older versions are probed only when the whole ladder
        // was refused for the model.
        let spent = !pinned
            && answers.iter().all(|a| matches!(a, TurnAnswer::NoAccess | TurnAnswer::InvalidId | TurnAnswer::IamDenied));
        let older_sonnet = catalogue.older_than(&sonnet.name)[0];
        let tier_check = run
            .journal
            .iter()
            .filter(|r| r.operation == Some(Operation::InvokeModel))
            .filter_map(model_of)
            .any(|m| m.ends_with(&older_sonnet.bedrock));
        prop_assert_eq!(tier_check, spent, "{}", file);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever event an exception frame (of any type), a broken frame or
    /// a silence interrupts the turn's stream at, or a connection cut
    /// before or right after the head, however long the silence, and
    /// whether the non-streaming retry then answers: the run prints the
    /// whole answer exactly once and succeeds, or fails without claiming
    /// the partial text as an answer. A silence shorter than the idle
    /// limit only delays the answer. (A frame lost or repeated between
    /// valid ones changes the text undetectably, as for any client: see
    /// `scenarios/faults/`.)
    #[test]
    fn a_broken_stream_is_recovered_whole_or_reported(
        after_events in 0usize..12,
        silence in prop::option::weighted(0.4, prop::sample::select(&[10u64, 179, 180, 181, 600, 86_400][..])),
        broken_frame in prop::option::weighted(0.4, prop::sample::select(&[
            FrameFaultKind::Truncated, FrameFaultKind::Reset, FrameFaultKind::BadPreludeCrc,
            FrameFaultKind::BadMessageCrc, FrameFaultKind::ForgedLength,
            FrameFaultKind::UnknownHeaderType, FrameFaultKind::BadData, FrameFaultKind::Empty,
        ][..])),
        cut in prop::option::weighted(0.2, prop::sample::select(&[Reset::BeforeHead, Reset::AfterHead][..])),
        exception in prop::sample::select(&[
            "internalServerException", "modelStreamErrorException", "validationException",
            "throttlingException", "modelTimeoutException", "serviceUnavailableException",
        ][..]),
        words in prop::collection::vec("[a-z]{1,8}", 1..6),
        retry_answers in any::<bool>(),
    ) {
        use bedrock_mock_server::Reply;
        let runtime = runtime();
        let text = words.join(" ");
        let mut scenario = scenario_value("generated-stream");
        scenario.client.credentials = CredentialShorthand::Keys;
        scenario.client.env = turn_only_env(None);
        scenario.server.reply = Reply::text(text.clone());
        let stream = Match::operation(Operation::InvokeModelWithResponseStream);
        scenario.server.rules.push(match (silence, broken_frame, cut) {
            (Some(seconds), _, _) => Rule::stalling(stream, Stall::after_events(after_events, seconds as f64)),
            (None, Some(kind), _) => Rule::faulting(stream, FrameFault::at(kind, after_events)),
            // The first stream call's connection cut outside any frame.
            (None, None, Some(reset)) => Rule::resetting(stream, reset).times(1),
            (None, None, None) => Rule::new(
                stream,
                Answer::StreamException {
                    after_events,
                    exception: exception.parse().expect("a stream exception the mock knows"),
                    message: None,
                },
            ),
        });
        if !retry_answers {
            scenario.server.rules.push(Rule::new(
                Match::operation(Operation::InvokeModel),
                Answer::error(ErrorCode::ServiceUnavailableException),
            ));
        }
        let run = run(&runtime, &scenario)?;
        let file = as_file(&scenario);
        if session(&run).outcome.exit.code() == 0 {
            prop_assert_eq!(run.stdout.matches(text.as_str()).count(), 1,
                "stdout {:?}\n{}", run.stdout, file);
            prop_assert_eq!(run.stdout.trim_end(), text.as_str(), "{}", file);
        } else {
            prop_assert!(run.stdout.contains("API Error"), "a failure without its line: {:?}\n{file}", run.stdout);
            prop_assert!(!retry_answers, "the retry answered but the run failed\n{file}");
        }
        let idle_limit = bedrock_client::profile::newest().time_limits.stream_idle.as_secs();
        if let Some(seconds) = silence.filter(|s| *s < idle_limit) {
            prop_assert_eq!(session(&run).outcome.exit.code(), 0, "{}", file);
            let model_calls = run.journal.iter().filter(|r| matches!(
                r.operation,
                Some(Operation::InvokeModel | Operation::InvokeModelWithResponseStream)
            ));
            prop_assert_eq!(model_calls.count(), 1, "a short silence made the client retry\n{}", file);
            prop_assert_eq!(session(&run).virtual_time, Duration::from_secs(seconds), "{}", file);
        }
    }
}
