//! Running one scenario in-process: the mock on 127.0.0.1 (port 0), the
//! client's command line in a fresh HOME with only the scenario's
//! environment, both on one clock that moves only when the client waits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bedrock_client::cli::{self, Cli, Console, Environment, Outcome};
use bedrock_client::clock::Deadlines;
use bedrock_client::config::Sources;
use bedrock_mock_server::{
    ADMIN_PREFIX, ADMIN_TOKEN_VARIABLE, Clock, MockBedrock, RecordedRequest,
};
use clap::Parser;

use super::format::{RefreshAction, Scenario};
use super::load::check_inside_home;

/// The clock's start when a scenario names none.
pub const DEFAULT_START: &str = "2026-11-25T12:00:00Z";

/// A whole run may take this long before it is stopped and failed.
pub const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    /// What the client printed on stdout.
    pub stdout: String,
    /// What the client printed on stderr.
    pub stderr: String,
    /// The client's trace log: every request it sent, every answer's head
    /// and error body (kept apart from stderr, which it never changes).
    pub trace: String,
    /// How the client ended.
    pub outcome: Outcome,
    /// Every request the mock received, in arrival order.
    pub journal: Vec<RecordedRequest>,
    /// When each credential set the mock's queue issued was issued, on
    /// the session's clock (their number is how many were).
    pub issued_at: Vec<Duration>,
    /// The files `expect.files` names, read back after the run (`None`:
    /// missing).
    pub files: BTreeMap<String, Option<String>>,
    /// Rules whose `expect` count was not met.
    pub unmet_rules: Option<String>,
    /// Every secret the scenario used, to look for in the outputs.
    pub secrets: Vec<String>,
    /// The mock's base URL during the run.
    pub mock_uri: String,
    /// How far the session's clock moved.
    pub virtual_time: Duration,
}

/// Runs `scenario` and returns what happened; `Err` when it could not be
/// run at all (a bad setting, a run past [`RUN_TIME_LIMIT`]).
pub async fn execute(scenario: &Scenario) -> Result<Run, String> {
    let sandbox = Sandbox::new(&scenario.name)?;
    match tokio::time::timeout(RUN_TIME_LIMIT, execute_in(scenario, &sandbox)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the run did not finish in {} s and was stopped",
            RUN_TIME_LIMIT.as_secs()
        )),
    }
}

async fn execute_in(scenario: &Scenario, sandbox: &Sandbox) -> Result<Run, String> {
    let start = match &scenario.clock.start {
        Some(t) => t.0,
        None => default_start(),
    };
    let mock_clock = Clock::fixed(start);
    let server = MockBedrock::builder()
        .config(scenario.server.clone())
        .clock(mock_clock.clone())
        .start()
        .await
        .map_err(|e| format!("the mock could not start: {e}"))?;
    let uri = server.uri();
    let home = sandbox.home();
    let fill = |text: &str| {
        text.replace("{mock}", &uri)
            .replace("{home}", &home.display().to_string())
    };
    let env = client_env(scenario, &uri, sandbox, &fill);
    write_files(scenario, sandbox, &fill)?;
    let cli = client_cli(scenario)?;
    let output = Output::default();
    let mut environment = Environment::new(
        client_sources(scenario, sandbox, env),
        output.console(),
        SharedClock {
            mock: mock_clock,
            start,
        },
    );
    // Backoff without randomness: the same scenario takes the same
    // virtual time and sends the same requests every run.
    environment.jitter = Some(0.0);
    let outcome = cli::run(&cli, &environment).await;
    let seen = Seen::from(&server, start);
    server.shutdown().await;
    let expect = &scenario.expect;
    let files = expect
        .files
        .keys()
        .chain(expect.files_lack.keys())
        .map(|path| (path.clone(), read_written_file(&home, path)))
        .collect();
    Ok(Run {
        stdout: output.stdout(),
        stderr: output.stderr(),
        trace: output.trace(),
        outcome,
        journal: seen.journal,
        issued_at: seen.issued_at,
        files,
        unmet_rules: seen.unmet_rules,
        secrets: secrets_of(scenario),
        mock_uri: uri,
        virtual_time: seen.virtual_time,
    })
}

/// The scenario's arguments, as `bedrock-client` parses them.
fn client_cli(scenario: &Scenario) -> Result<Cli, String> {
    let args = client_args(scenario);
    Cli::try_parse_from(&args).map_err(|e| {
        format!(
            "client.args: bedrock-client does not accept {:?}: {}",
            &args[1..],
            e.render().to_string().lines().next().unwrap_or_default()
        )
    })
}

/// Where the client reads its configuration: the scenario's environment
/// and the sandbox's settings folders.
fn client_sources(
    scenario: &Scenario,
    sandbox: &Sandbox,
    env: BTreeMap<String, String>,
) -> Sources {
    Sources {
        env,
        home: Some(sandbox.home()),
        project: Some(sandbox.project()),
        managed: scenario
            .client
            .settings
            .managed
            .as_ref()
            .map(|_| sandbox.managed()),
    }
}

/// What the client printed and traced.
#[derive(Default)]
struct Output {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    trace: Arc<Mutex<Vec<u8>>>,
}

impl Output {
    fn console(&self) -> Console {
        Console::writing_to(Arc::clone(&self.stdout), Arc::clone(&self.stderr))
            .tracing_to(Arc::clone(&self.trace))
    }

    fn stdout(&self) -> String {
        text_of(&self.stdout)
    }

    fn stderr(&self) -> String {
        text_of(&self.stderr)
    }

    fn trace(&self) -> String {
        text_of(&self.trace)
    }
}

fn text_of(buffer: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// What the mock saw of the run, read before it stops.
struct Seen {
    journal: Vec<RecordedRequest>,
    issued_at: Vec<Duration>,
    unmet_rules: Option<String>,
    virtual_time: Duration,
}

impl Seen {
    fn from(server: &MockBedrock, start: SystemTime) -> Self {
        let since_start = |t: SystemTime| t.duration_since(start).unwrap_or_default();
        Self {
            journal: server.received_requests(),
            issued_at: server
                .credential_report()
                .issued_at
                .iter()
                .map(|t| since_start(t.0))
                .collect(),
            unmet_rules: server.verify().err().map(|e| e.to_string()),
            virtual_time: since_start(server.clock().now()),
        }
    }
}

/// A file the client was expected to write under `home`: a regular file
/// inside it, read up to 1 MiB (`None` when missing or anything else).
fn read_written_file(home: &Path, relative: &str) -> Option<String> {
    check_inside_home("expect.files", relative).ok()?;
    let path = home.join(relative);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(std::fs::File::open(path).ok()?, 1 << 20),
        &mut text,
    )
    .ok()?;
    Some(text)
}

/// The clock start of a scenario that names none.
pub fn default_start() -> SystemTime {
    // A constant of this module; parsing it cannot fail.
    serde_json::from_value::<bedrock_mock_server::Timestamp>(DEFAULT_START.into())
        .map(|t| t.0)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// What every client of `scenario` gets besides the endpoints: no
/// instance metadata, no nonessential traffic (nothing leaves the
/// machine), and the variables of its credential shorthand.
pub fn scenario_client_basics(scenario: &Scenario) -> Vec<(&'static str, String)> {
    [
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ]
    .into_iter()
    .chain(scenario.client.credentials.env())
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// Every endpoint variable a client reads, pointed at the mock at `uri`:
/// Invoke and the control plane, Mantle (under `/anthropic`, as its real
/// base URL is), STS; and `BEDROCK_MOCK_URL` for refresh scripts.
pub fn mock_endpoints(uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.to_owned()),
        (
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
            format!("{uri}/anthropic"),
        ),
        ("AWS_ENDPOINT_URL", uri.to_owned()),
        ("AWS_ENDPOINT_URL_STS", uri.to_owned()),
        ("BEDROCK_MOCK_URL", uri.to_owned()),
    ]
}

/// The client's whole environment: nothing inherited from this process.
fn client_env(
    scenario: &Scenario,
    uri: &str,
    sandbox: &Sandbox,
    fill: &dyn Fn(&str) -> String,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("HOME", sandbox.home().display().to_string()),
        // Where refresh commands run: the project folder, as a shell in
        // it would say.
        ("PWD", sandbox.project().display().to_string()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .chain(mock_endpoints(uri))
    .chain(scenario_client_basics(scenario))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in &scenario.client.env {
        env.insert(name.clone(), fill(value));
    }
    env
}

/// `bedrock-client` and the scenario's arguments, with `-p PROMPT` unless
/// they hold a command or a prompt already.
fn client_args(scenario: &Scenario) -> Vec<String> {
    let mut args = vec!["bedrock-client".to_owned()];
    args.extend(scenario.client.args.iter().cloned());
    let has_command = scenario
        .client
        .args
        .iter()
        .any(|a| matches!(a.as_str(), "status" | "models" | "setup" | "-p" | "--print"));
    if !has_command {
        args.push("-p".into());
        args.push(
            scenario
                .client
                .prompt
                .clone()
                .unwrap_or_else(|| "hi".into()),
        );
    }
    args
}

/// The shell command of a built-in refresh action. The admin call carries
/// the token of a server started with `--allow-remote` when the shell has
/// it (`serve` prints it as [`ADMIN_TOKEN_VARIABLE`]), and nothing more
/// otherwise.
fn refresh_command(action: RefreshAction, export: bool) -> String {
    let issue_next = |then: &str| {
        format!(
            r#"curl -sf -X POST ${{{token}:+-H "Authorization: Bearer ${token}"}} "$BEDROCK_MOCK_URL{ADMIN_PREFIX}credentials/next{then}"#,
            token = ADMIN_TOKEN_VARIABLE
        )
    };
    match (action, export) {
        (RefreshAction::IssueNext, true) => issue_next(r#"""#),
        (RefreshAction::IssueNext, false) => issue_next(
            r#"?format=ini&profile=${AWS_PROFILE:-default}" -o "$HOME/.aws/credentials""#,
        ),
        (RefreshAction::NoOp, _) => "echo 'Attempting SSO login...'".to_owned(),
        (RefreshAction::Fail, _) => {
            "echo 'error: the identity provider could not be reached' >&2; exit 1".to_owned()
        }
        (RefreshAction::PrintGarbage, _) => "echo 'Login succeeded'".to_owned(),
    }
}

/// The user settings file's contents: the scenario's, with the built-in
/// refresh actions written in as commands.
pub fn user_settings(scenario: &Scenario) -> Result<Option<serde_json::Value>, String> {
    let mut user = scenario.client.settings.user.clone();
    let refresh = &scenario.client.refresh;
    for (key, action, export) in [
        ("awsAuthRefresh", refresh.auth, false),
        ("awsCredentialExport", refresh.export, true),
    ] {
        if let Some(action) = action {
            let object = user.get_or_insert_with(|| serde_json::json!({}));
            let Some(object) = object.as_object_mut() else {
                return Err("client.settings.user: must be a table".into());
            };
            object.insert(key.into(), refresh_command(action, export).into());
        }
    }
    Ok(user)
}

/// Writes the settings files and other files into the sandbox.
fn write_files(
    scenario: &Scenario,
    sandbox: &Sandbox,
    fill: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    let settings = &scenario.client.settings;
    let user = user_settings(scenario)?;
    let targets = [
        (user.as_ref(), sandbox.home().join(".claude/settings.json")),
        (
            settings.project.as_ref(),
            sandbox.project().join(".claude/settings.json"),
        ),
        (
            settings.local.as_ref(),
            sandbox.project().join(".claude/settings.local.json"),
        ),
        (settings.managed.as_ref(), sandbox.managed()),
    ];
    for (value, path) in targets {
        if let Some(value) = value {
            let text = fill(&serde_json::to_string_pretty(value).unwrap_or_default());
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    for (relative, text) in &scenario.client.files {
        check_inside_home(&format!("client.files.\"{relative}\""), relative)
            .map_err(|(field, message)| format!("{field}: {message}"))?;
        let path = sandbox.home().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, fill(text))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Every secret the scenario puts anywhere: the account's secret keys,
/// session tokens, API keys and SSO tokens, and secret-looking values of
/// the client's environment, settings and files.
fn secrets_of(scenario: &Scenario) -> Vec<String> {
    let mut secrets = account_secrets(scenario);
    secrets.extend(client_secrets(scenario));
    // Short values ("1", "true") are not secrets worth looking for and
    // would match anywhere.
    secrets.retain(|s| s.len() >= 8);
    secrets.sort();
    secrets.dedup();
    secrets
}

fn account_secrets(scenario: &Scenario) -> Vec<String> {
    let server = &scenario.server;
    let mut secrets: Vec<String> = Vec::new();
    for credential in server.credentials.iter().chain(&server.next_credentials) {
        secrets.push(credential.secret_access_key.clone());
        secrets.extend(credential.session_token.clone());
    }
    secrets.extend(server.api_keys.iter().map(|k| k.key.clone()));
    secrets.extend(server.sso_tokens.iter().map(|k| k.key.clone()));
    secrets
}

/// The client's secrets: the credentials shorthand's (its access key id is
/// no secret), and values under secret names in its environment, settings
/// and files.
fn client_secrets(scenario: &Scenario) -> Vec<String> {
    let client = &scenario.client;
    let mut secrets: Vec<String> = client
        .credentials
        .env()
        .into_iter()
        .filter(|(name, _)| *name != "AWS_ACCESS_KEY_ID")
        .map(|(_, value)| value.to_owned())
        .collect();
    let env = client.env.iter().map(|(k, v)| (k.clone(), v.clone()));
    secrets.extend(
        env.chain(client.settings.env())
            .filter(|(name, _)| is_secret_name(name))
            .map(|(_, value)| value),
    );
    for text in client.files.values() {
        // INI files (`aws_secret_access_key = ...`) and JSON ones (an SSO
        // cache's `accessToken`, `credential_process` output).
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=')
                && is_secret_name(key.trim())
            {
                secrets.push(value.trim().to_owned());
            }
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            collect_json_secrets(&json, &is_secret_name, &mut secrets);
        }
    }
    secrets
}

/// Names of secrets, not of paths to them (`AWS_WEB_IDENTITY_TOKEN_FILE`)
/// or of token counts (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`).
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    (name.contains("SECRET")
        || name.contains("TOKEN")
        || name.ends_with("API_KEY")
        || name.ends_with("APIKEY"))
        && !name.ends_with("_FILE")
        && !name.contains("TOKENS")
}

/// String values under secret-looking keys anywhere in `json`.
fn collect_json_secrets(
    json: &serde_json::Value,
    is_secret_name: &dyn Fn(&str) -> bool,
    secrets: &mut Vec<String>,
) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                // JSON keys are camelCase: `accessToken`, `SecretAccessKey`.
                let name: String = key
                    .chars()
                    .flat_map(|c| {
                        let upper = c.is_ascii_uppercase().then_some('_');
                        upper.into_iter().chain(std::iter::once(c))
                    })
                    .collect();
                match value.as_str() {
                    Some(text) if is_secret_name(&name) => secrets.push(text.to_owned()),
                    _ => collect_json_secrets(value, is_secret_name, secrets),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_json_secrets(item, is_secret_name, secrets);
            }
        }
        _ => {}
    }
}

/// The client's clock, reading and moving the mock's: when the client
/// backs off, time passes for the server too (credentials expire, SigV4
/// dates agree), without a real wait.
#[derive(Debug, Clone)]
struct SharedClock {
    mock: Clock,
    start: SystemTime,
}

impl bedrock_client::clock::TimeSource for SharedClock {
    fn elapsed(&self) -> Duration {
        self.mock
            .now()
            .duration_since(self.start)
            .unwrap_or_default()
    }

    fn now(&self) -> SystemTime {
        self.mock.now()
    }

    async fn sleep(&self, duration: Duration) {
        self.mock.advance(duration);
        tokio::task::yield_now().await;
    }

    fn deadlines(&self) -> Arc<dyn Deadlines> {
        Arc::new(MockDeadlines(self.mock.clone()))
    }
}

/// The client's waits for answers, on the mock's timeline: a stalled
/// answer's wait gives up when the mock's clock says so, without a real
/// wait.
struct MockDeadlines(Clock);

impl Deadlines for MockDeadlines {
    fn give_up(
        &self,
        request: &str,
        received: Option<u64>,
        limit: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(self.0.wait(request, received, limit))
    }

    fn hold(&self) -> Box<dyn Send> {
        Box::new(self.0.hold())
    }
}

/// A fresh folder per run: `home` (with `.aws` and `.claude`), `project`
/// (with `.claude`), and the managed settings file; removed on drop.
struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "bedrock-harness-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["home/.aws", "home/.claude", "project/.claude"] {
            std::fs::create_dir_all(root.join(dir))
                .map_err(|e| format!("cannot make {}: {e}", root.join(dir).display()))?;
        }
        Ok(Self { root })
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn project(&self) -> PathBuf {
        self.root.join("project")
    }

    fn managed(&self) -> PathBuf {
        self.root.join("managed-settings.json")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
