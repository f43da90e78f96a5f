//! The scenario file format, version 1: the Rust types a `.toml` file
//! deserializes into. Unknown keys are errors everywhere, so a typo fails
//! loudly; `scenarios/schema.json` is generated from these types
//! (`bedrock-harness schema`) for editors to complete and validate with.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bedrock_mock_server::{AuthScheme, FrameRecord, Operation, ServerConfig, Times, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The JSON Schema of scenario files, as checked in at
/// `scenarios/schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// The format version this runner reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One situation: the client's configuration, the fake account's state,
/// and what must happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The format version; must be 1.
    pub schema: u32,
    /// A short kebab-case name; by convention the file's stem.
    pub name: String,
    /// What happens, in a sentence or two.
    pub description: String,
    /// What it reproduces: a customer report (by its title in
    /// `customer-scenarios.md`), a section of the Bedrock page, a golden
    /// capture.
    pub source: String,
    /// The client: environment, settings files, command line.
    #[serde(default)]
    pub client: ClientSpec,
    /// Several clients at once, instead of `[client]`: each with its own
    /// name, start time, HOME (or another's) and expectations, against
    /// the same account on the same clock. Each reaches the mock at a
    /// loopback address of its own, so the journal tells whose each
    /// request was without a change on the wire.
    #[serde(default)]
    pub clients: Vec<NamedClient>,
    /// The fake account: the mock server's whole configuration (the
    /// fields of `bedrock_mock_server::ServerConfig`), rules and faults
    /// included. Anything left out is the default account.
    #[serde(default)]
    pub server: ServerConfig,
    /// The time both sides start at. It moves only when the client
    /// waits (backoff, refresh gates), so a run is reproducible.
    #[serde(default)]
    pub clock: ClockSpec,
    /// What must happen.
    #[serde(default)]
    pub expect: Expect,
}

/// The client's side of a scenario. The runner always adds `HOME` (a
/// fresh folder), `PATH`, `AWS_EC2_METADATA_DISABLED=true`,
/// `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, `BEDROCK_MOCK_URL`, and
/// every endpoint variable pointed at the mock:
/// `ANTHROPIC_BEDROCK_BASE_URL`, `ANTHROPIC_BEDROCK_MANTLE_BASE_URL`
/// (`{mock}/anthropic`), `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_STS`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSpec {
    /// Environment variables. `{mock}` in a value is the mock's URL and
    /// `{home}` the client's HOME. An endpoint variable may be set only to
    /// a URL on the mock (starting with `{mock}`).
    pub env: BTreeMap<String, String>,
    /// Shorthand for the credentials in `env`: `keys` adds the mock's
    /// example access key (`AKIDEXAMPLE`), `api-key` its example Bedrock
    /// API key as `AWS_BEARER_TOKEN_BEDROCK`.
    pub credentials: CredentialShorthand,
    /// Settings files, as TOML tables written out as JSON.
    pub settings: SettingsFiles,
    /// Other files, by path under HOME (`.aws/config`); `{mock}` and
    /// `{home}` are replaced as in `env`.
    pub files: BTreeMap<String, String>,
    /// `bedrock-client` arguments: `--model opus`, `--output-format
    /// json`, or a command (`status`, `models`, `setup`). Without a
    /// command or `-p`, the runner adds `-p PROMPT`.
    pub args: Vec<String>,
    /// The prompt of the turn; `hi` by default.
    pub prompt: Option<String>,
    /// A conversation instead of one prompt: each turn is a user message
    /// the client reads on stdin, in one session (`-p --input-format
    /// stream-json --output-format stream-json --verbose`, the CLI's
    /// multi-turn form, which the runner adds), sent once its `after` has
    /// passed on the scenario's clock. Leave `prompt` out.
    pub turns: Vec<TurnSpec>,
    /// Refresh commands as built-in actions, written into the user
    /// settings (a command written in `settings` works too).
    pub refresh: RefreshSpec,
    /// What happens to the client's requests on their way to the mock: a
    /// tampering proxy standing for a broken client or a gateway that
    /// rewrites requests, so the mock's refusal of what it sends can be
    /// reproduced with any client. Nothing when empty.
    pub transit: Transit,
}

/// A proxy between the client and the mock that changes every request
/// (the mock's admin API aside) before passing it on, and passes the
/// answer back as it comes. The client is given the proxy's address as
/// `{mock}`; the mock's journal shows each request as the proxy sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Transit {
    /// Headers set to these values, replacing the client's (`host`, or
    /// `content-type = "application/json; charset=utf-8"`): a signed
    /// header changed after signing.
    pub set_headers: BTreeMap<String, String>,
    /// Headers removed (`authorization`: a client that sends none).
    pub remove_headers: Vec<String>,
    /// The path percent-encoded once more (`:` becomes `%3A`, `%3A`
    /// becomes `%253A`), as a client or proxy that encodes an encoded path.
    pub reencode_path: bool,
    /// The request signed again with SigV4 for this service (its access
    /// key's secret from the account, the same region and time): a
    /// client that signs for the wrong service (`execute-api`, `bedrock`
    /// on Mantle).
    pub resign_service: Option<String>,
}

impl Transit {
    /// Whether it changes nothing, so no proxy is needed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Scenario {
    /// The scenario as `named` sees it: its client in `[client]`, its
    /// expectations in `[expect]`, the rest shared (what the setup and
    /// the comparisons of one client take).
    pub fn for_client(&self, named: &NamedClient) -> Scenario {
        Scenario {
            client: named.spec.clone(),
            clients: Vec::new(),
            expect: named.expect.clone(),
            ..self.clone()
        }
    }
}

/// One of several clients (`[[clients]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct NamedClient {
    /// Its name, kebab-case: its requests carry it in the journal, and
    /// reports name it.
    pub name: String,
    /// When it starts, after the scenario's clock start: `0s` (the
    /// default), `90m`, `2h`.
    pub start: Option<String>,
    /// The name of a client listed before it whose HOME it uses (the same
    /// `~/.aws/credentials`, settings and caches: two terminals of one
    /// user); its own `files` and `settings` are then not allowed.
    /// Without it, a HOME of its own.
    pub home_of: Option<String>,
    /// What it is given: every field of `[client]`.
    #[serde(flatten)]
    pub spec: ClientSpec,
    /// What must happen to it: the fields of `[expect]`, about its own
    /// output, exit, requests (the journal's entries of this client only)
    /// and the files under its HOME.
    pub expect: Expect,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnSpec {
    /// What the user says.
    pub prompt: String,
    /// How long the user waits before saying it, after the previous turn
    /// ended (or the session started): `90s`, `45m`, `8h`, `1h30m`, `2d`.
    /// Virtual time: credentials and tokens expire meanwhile, as on a
    /// session left open overnight.
    #[serde(default)]
    pub after: Option<String>,
}

impl TurnSpec {
    /// How long the user waits: `after` read, or nothing.
    pub fn wait(&self) -> Result<std::time::Duration, String> {
        self.after
            .as_deref()
            .map_or(Ok(std::time::Duration::ZERO), parse_span)
    }
}

/// A span of time written `1h30m`: whole numbers each followed by `d`,
/// `h`, `m` or `s`, largest first.
pub fn parse_span(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not a span of time such as `90s`, `45m`, `8h` or `1h30m`");
    let units = [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)];
    let mut rest = text.trim();
    let mut seconds = 0u64;
    let mut last_unit = usize::MAX;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let at = units.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if last_unit != usize::MAX && at <= last_unit {
            return Err(bad());
        }
        last_unit = at;
        seconds = number
            .checked_mul(units[at].1)
            .and_then(|s| s.checked_add(seconds))
            .ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    Ok(std::time::Duration::from_secs(seconds))
}

impl SettingsFiles {
    /// The `env` blocks of the settings files, lowest precedence first:
    /// variables the client reads as if exported.
    pub fn env(&self) -> impl Iterator<Item = (String, String)> + '_ {
        [&self.user, &self.project, &self.local, &self.managed]
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("env").and_then(|e| e.as_object()))
            .flat_map(|e| e.iter())
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
    }
}

/// Credentials to put in the client's environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialShorthand {
    /// None beyond what `env` and `files` give.
    #[default]
    None,
    /// `AWS_ACCESS_KEY_ID=AKIDEXAMPLE` and its secret.
    Keys,
    /// `AWS_BEARER_TOKEN_BEDROCK` set to the mock's example API key.
    ApiKey,
}

impl CredentialShorthand {
    /// The variables the shorthand stands for.
    pub fn env(self) -> Vec<(&'static str, &'static str)> {
        use bedrock_mock_server::{
            EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY, EXAMPLE_SECRET_ACCESS_KEY,
        };
        match self {
            CredentialShorthand::None => Vec::new(),
            CredentialShorthand::Keys => vec![
                ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
                ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
            ],
            CredentialShorthand::ApiKey => vec![("AWS_BEARER_TOKEN_BEDROCK", EXAMPLE_API_KEY)],
        }
    }
}

/// The settings files Claude Code reads, lowest precedence first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsFiles {
    /// `~/.claude/settings.json`.
    pub user: Option<serde_json::Value>,
    /// `.claude/settings.json` in the project.
    pub project: Option<serde_json::Value>,
    /// `.claude/settings.local.json` in the project.
    pub local: Option<serde_json::Value>,
    /// The managed settings file (highest precedence).
    pub managed: Option<serde_json::Value>,
}

/// Refresh commands as built-in actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RefreshSpec {
    /// `awsAuthRefresh`.
    pub auth: Option<RefreshAction>,
    /// `awsCredentialExport`.
    pub export: Option<RefreshAction>,
}

/// What a built-in refresh command does. The runner writes it as a
/// shell command (curl to the mock's admin API), so the client runs it
/// like any user's command and counts its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshAction {
    /// Takes the next of `server.next_credentials`: printed as
    /// `aws sts assume-role` JSON for `awsCredentialExport`, written to
    /// `~/.aws/credentials` (profile `$AWS_PROFILE` or `default`) for
    /// `awsAuthRefresh`.
    IssueNext,
    /// Prints `Attempting SSO login...` and succeeds without changing
    /// anything: the seed's SSO loop.
    NoOp,
    /// Prints an error and exits 1.
    Fail,
    /// Succeeds printing something that is not JSON.
    PrintGarbage,
}

/// The clock's start when a scenario names none.
pub const DEFAULT_START: &str = "2026-11-25T12:00:00Z";

/// The shared clock's start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSpec {
    /// The time both the client and the mock read at the start;
    /// `2026-11-25T12:00:00Z` by default.
    pub start: Option<Timestamp>,
}

impl ClockSpec {
    /// The start: the scenario's, else [`DEFAULT_START`].
    pub fn start_time(&self) -> SystemTime {
        self.start.map_or_else(default_start, |t| t.0)
    }
}

/// [`DEFAULT_START`] as a time.
pub fn default_start() -> SystemTime {
    // A constant of this module; parsing it cannot fail.
    serde_json::from_value::<Timestamp>(DEFAULT_START.into())
        .map(|t| t.0)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// What must happen. Every part left out is not checked, except
/// `no_secrets`, which is on by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// The client's exit status: 0 answered, 1 failed, 2 usage.
    pub exit: Option<u8>,
    /// The kind of failure that ended the run (the client's
    /// `FailureKind`: `credentials`, `model-access`, `retryable`, `final`,
    /// `stream`, …), or `none` for a run that did not fail.
    #[schemars(schema_with = "failure_kind_schema")]
    pub error: Option<String>,
    /// Texts stdout must contain, exactly.
    pub stdout: Vec<String>,
    /// Texts stderr must contain, exactly.
    pub stderr: Vec<String>,
    /// Texts stdout must not contain.
    pub stdout_lacks: Vec<String>,
    /// stdout in full, when given (`""`: nothing printed).
    pub stdout_exact: Option<String>,
    /// stderr in full, when given (`""`: nothing printed).
    pub stderr_exact: Option<String>,
    /// Texts stderr must not contain.
    pub stderr_lacks: Vec<String>,
    /// The requests the mock must have received (its admin API aside).
    pub requests: Vec<ExpectedRequest>,
    /// How `requests` is compared with what arrived.
    pub order: Order,
    /// Counts of requests and credential activity.
    pub counts: Counts,
    /// Files under HOME that must exist after the run, with texts each
    /// must contain (`models --accept-update`, `setup --write`).
    pub files: BTreeMap<String, Vec<String>>,
    /// Texts files under HOME must not contain (the old pin an update
    /// replaced); a missing file lacks everything.
    pub files_lack: BTreeMap<String, Vec<String>>,
    /// How far the session's clock moved, in seconds: the backoff and
    /// refresh gates the client waited through (exact to the millisecond;
    /// jitter is 0 in a run).
    pub virtual_seconds: Option<f64>,
    /// No secret of the scenario (secret keys, session tokens, API keys,
    /// SSO tokens, SigV4 signatures) appears in stdout, stderr, the
    /// journal or the snapshot.
    pub no_secrets: bool,
}

impl Default for Expect {
    fn default() -> Self {
        Self {
            exit: None,
            error: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_lacks: Vec::new(),
            stdout_exact: None,
            stderr_exact: None,
            requests: Vec::new(),
            order: Order::default(),
            counts: Counts::default(),
            files: BTreeMap::new(),
            files_lack: BTreeMap::new(),
            virtual_seconds: None,
            no_secrets: true,
        }
    }
}

/// How expected requests are compared with the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Every request, in order; requests of the same operation that
    /// arrive one after another may be in any order among themselves
    /// (the startup probes are sent all at once).
    #[default]
    Exact,
    /// These requests, in this order, among others.
    Subsequence,
    /// Every request, in any order.
    Set,
}

/// One expected request; each field given must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExpectedRequest {
    /// The operation.
    pub operation: Option<Operation>,
    /// The model or profile id from the path (or, on Mantle, the body's
    /// `model`); `*` matches any run of characters.
    pub model: Option<String>,
    /// The path as sent, before percent-decoding; `*` matches any run of
    /// characters (`/anthropic/v1/messages`).
    pub path: Option<String>,
    /// The query as sent, without `?` (`beta=true`); its parameters may come
    /// in any order.
    pub query: Option<String>,
    /// The answer's status.
    pub status: Option<u16>,
    /// The answer's error code (`ValidationException`), or `none`.
    pub error: Option<String>,
    /// How it authenticated: `sigv4`, `bearer`, `x-api-key`, `sso-token`,
    /// `web-identity`, `none`, `off` (the account checks nothing) or `not
    /// checked` (the body never arrived whole).
    pub auth: Option<AuthScheme>,
    /// The SigV4 access key id; `*` matches any run of characters
    /// (`ASIA*`: any temporary key).
    pub access_key_id: Option<String>,
    /// The SigV4 scope's region; `*` matches any run of characters
    /// (`eu-*`).
    pub region: Option<String>,
    /// The SigV4 scope's service; `*` matches any run of characters.
    pub service: Option<String>,
    /// Headers with these values (names case-insensitive; `*` in a
    /// value matches any run of characters, so `"*"` means "present").
    pub headers: BTreeMap<String, String>,
    /// Headers that must be absent.
    pub absent_headers: Vec<String>,
    /// Body values by JSON pointer (`/anthropic_beta`, `/max_tokens`).
    pub body: BTreeMap<String, serde_json::Value>,
    /// JSON pointers that must not be in the body.
    pub absent_body: Vec<String>,
    /// Texts the body must not contain, as sent (JSON's escapes included),
    /// within the part the journal keeps (its first
    /// `bedrock_mock_server::MAX_RECORDED_BODY` bytes).
    pub body_lacks: Vec<String>,
    /// Body arrays by JSON pointer that must contain this value
    /// (`"/anthropic_beta" = "context-1m-2025-08-07"`), wherever it is.
    pub body_contains: BTreeMap<String, serde_json::Value>,
    /// Stream frames of the answer, in order (`chunk:message_start`,
    /// `exception:throttlingException`); checked as a prefix list.
    pub frames: Vec<FrameRecord>,
    /// This row stands for this many requests in a row (retries).
    pub repeat: Option<u32>,
}

/// Counts to check, each exactly (`requests = 3`) or within a range
/// (`requests = { at_least = 2, at_most = 4 }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Counts {
    /// Requests the mock received (its admin API aside).
    pub requests: Option<Times>,
    /// Requests by operation.
    pub operations: BTreeMap<String, Times>,
    /// Requests that repeated the one before (same operation and model)
    /// after it failed: the retry loop's resends. Credential calls in
    /// between (STS, SSO) do not break the repeat.
    pub retries: Option<Times>,
    /// `awsCredentialExport` runs.
    pub exports: Option<Times>,
    /// `awsAuthRefresh` runs.
    pub auth_refreshes: Option<Times>,
    /// STS checks the client made before `awsAuthRefresh`.
    pub sts_checks: Option<Times>,
    /// Loads from the default AWS credential chain.
    pub chain_loads: Option<Times>,
    /// Credentials the mock's queue issued.
    pub credentials_issued: Option<Times>,
}

/// `expect.error`'s values, from the client's own list.
fn failure_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let kinds: Vec<&str> = std::iter::once("none")
        .chain(bedrock_client::FailureKind::ALL.map(bedrock_client::FailureKind::name))
        .collect();
    schemars::json_schema!({ "type": "string", "enum": kinds })
}
