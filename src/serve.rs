//! `bedrock-harness serve`: the mock as a standalone server for any client.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::builder::RangedU64ValueParser;

use bedrock_harness::scenario::{Scenario, external, setup, timeshift};
use bedrock_mock_server::{
    ADMIN_PREFIX, ADMIN_TOKEN_VARIABLE as TOKEN_VARIABLE, AdminAccess, AdminToken, JournalLimits,
    MockBedrock, ServerConfig,
};

/// Variables a user's shell may hold that would win over, or mix with,
/// the ones `serve` prints; each is unset unless printed. In each SDK's
/// order (botocore 1.44's `credentials.py` and `configprovider.py`, the
/// JavaScript SDK v3's `defaultProvider`):
///
/// - `AWS_PROFILE`: the JavaScript SDK (the Claude Code CLI, the Anthropic
///   TypeScript SDK) skips the environment's keys when it is set and takes
///   the profile's ("AWS_PROFILE is set, skipping fromEnv provider");
///   botocore keeps the environment's keys first but fails with
///   `ProfileNotFound` on a profile its config files lack.
/// - `AWS_DEFAULT_PROFILE`: botocore's older name for it, read first.
/// - `AWS_SESSION_TOKEN` (when the account's key has none) and
///   `AWS_SECURITY_TOKEN` (botocore reads it before `AWS_SESSION_TOKEN`):
///   another session's token would be sent with the printed keys.
/// - `AWS_CREDENTIAL_EXPIRATION`: botocore makes the environment's keys
///   refreshable with it, and refuses them once it has passed.
/// - `AWS_BEARER_TOKEN_BEDROCK`: an API key goes before SigV4 keys, in
///   botocore (bearer auth for `bedrock`) and in the Claude Code CLI.
/// - `AWS_ENDPOINT_URL_BEDROCK`, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`: a
///   service's own endpoint goes before `AWS_ENDPOINT_URL`.
/// - `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`: the SDKs would ignore
///   `AWS_ENDPOINT_URL` and call AWS.
/// - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
///   `AWS_DEFAULT_REGION`: printed for the account; unset only for a
///   scenario whose client is not given them (its credentials come from a
///   profile or an API key), as they go before a profile in botocore.
///
/// Left alone: `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` (with no
/// profile named only their `default` profile is read, and the
/// environment's keys, region and endpoints go before it in every SDK), and
/// the container and web-identity variables (after the environment's keys
/// in every chain).
pub const STALE: [&str; 13] = [
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// What `serve` gives a client's shell: variables to set, in order, and
/// the [`STALE`] ones to unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEnv {
    pub set: Vec<(String, String)>,
    pub unset: Vec<&'static str>,
}

impl ClientEnv {
    /// `set`, with `AWS_DEFAULT_REGION` beside `AWS_REGION` (boto3 and
    /// the AWS CLI v1 read only the former) and every [`STALE`] variable
    /// not set in `unset`.
    pub fn new(mut set: Vec<(String, String)>) -> Self {
        let has = |set: &[(String, String)], name: &str| set.iter().any(|(n, _)| n == name);
        if !has(&set, "AWS_DEFAULT_REGION") {
            let region = set.iter().position(|(n, _)| n == "AWS_REGION");
            if let Some(at) = region {
                let value = set[at].1.clone();
                set.insert(at + 1, ("AWS_DEFAULT_REGION".to_owned(), value));
            }
        }
        let unset = STALE.into_iter().filter(|name| !has(&set, name)).collect();
        Self { set, unset }
    }

    /// Lines a POSIX shell `eval`s: `export NAME=value` (quoted when it
    /// needs it), then one `unset`.
    pub fn shell_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .set
            .iter()
            .map(|(name, value)| format!("export {name}={}", shell_quote(value)))
            .collect();
        if !self.unset.is_empty() {
            lines.push(format!("unset {}", self.unset.join(" ")));
        }
        lines
    }

    /// `{"set": {NAME: value, ...}, "unset": [NAME, ...]}`.
    pub fn json(&self) -> serde_json::Value {
        let set: serde_json::Map<String, serde_json::Value> = self
            .set
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().into()))
            .collect();
        serde_json::json!({"set": set, "unset": self.unset})
    }
}

/// What points a client at `uri` with the account's test credentials.
pub fn client_env(uri: &str, config: &ServerConfig) -> ClientEnv {
    // One server answers every endpoint, so every variable a client reads
    // for one points here.
    let mut set: Vec<(String, String)> = setup::mock_endpoints(uri)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let mut add = |name: &str, value: &str| set.push((name.to_owned(), value.to_owned()));
    add(
        "AWS_REGION",
        config.regions.first().map_or("us-east-1", String::as_str),
    );
    if let Some(c) = config.credentials.first() {
        add("AWS_ACCESS_KEY_ID", &c.access_key_id);
        add("AWS_SECRET_ACCESS_KEY", &c.secret_access_key);
        if let Some(token) = &c.session_token {
            add("AWS_SESSION_TOKEN", token);
        }
    }
    for (name, value) in setup::STAY_LOCAL
        .iter()
        .chain(&[("CLAUDE_CODE_USE_BEDROCK", "1")])
    {
        add(name, value);
    }
    ClientEnv::new(set)
}

/// A scenario's client environment (`external::client_env_lines`).
fn scenario_env(scenario: &Scenario, uri: &str) -> ClientEnv {
    ClientEnv::new(
        external::client_env_lines(scenario, uri)
            .into_iter()
            .map(|line| {
                let (name, value) = line.split_once('=').unwrap_or((&line, ""));
                (name.to_owned(), value.to_owned())
            })
            .collect(),
    )
}

/// How `serve` prints the client's environment (`--print-env`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PrintEnv {
    /// `export` and `unset` lines among the banner's comments, all on
    /// stdout.
    #[default]
    Shell,
    /// One JSON object on stdout, one line, once the server listens (the
    /// banner goes to stderr): `url`, `admin` (the admin API's URL, or
    /// null with --no-admin), `set` (an object of variables to set) and
    /// `unset` (an array of variables to remove); for a scenario with
    /// `[[clients]]`, `clients` instead: one object per client, with its
    /// `name`, `set` and `unset`.
    Json,
}

/// Where `serve` listens, and who may call its admin API.
pub struct Listen {
    pub host: IpAddr,
    pub port: u16,
    /// Others may reach the server: the admin API needs a token.
    pub allow_remote: bool,
    /// No admin API at all.
    pub no_admin: bool,
}

impl Listen {
    /// The admin API's access: refused beyond loopback without
    /// --allow-remote, a fresh token with it, off with --no-admin.
    fn access(&self) -> Result<AdminAccess, String> {
        let loopback = self.host.to_canonical().is_loopback();
        if !loopback && !self.allow_remote {
            return Err(format!(
                "--host {} is not a loopback address: anyone who reaches it could use the \
                 test credentials, read the account's secrets and script the model's answers. \
                 Add --allow-remote to listen there anyway (the admin API then needs the token \
                 printed at start; --no-admin turns it off), or leave --host at 127.0.0.1",
                self.host
            ));
        }
        if self.no_admin {
            Ok(AdminAccess::Off)
        } else if self.allow_remote {
            admin_token().map(AdminAccess::Token)
        } else {
            Ok(AdminAccess::Open)
        }
    }
}

/// The token a user gave in [`TOKEN_VARIABLE`] (a compose file's, a CI
/// secret), or a fresh random one.
fn admin_token() -> Result<AdminToken, String> {
    match std::env::var(TOKEN_VARIABLE) {
        Ok(given) if !given.is_empty() => {
            AdminToken::given(given).map_err(|e| format!("{TOKEN_VARIABLE}: {e}"))
        }
        _ => AdminToken::random().map_err(|e| e.to_string()),
    }
}

/// How much a standalone server holds: its journal, and how long it waits
/// on a client that stopped reading (the builder's `journal_limits` and
/// `write_timeout`).
#[derive(Debug, clap::Args)]
pub struct Bounds {
    /// The most requests the journal keeps; past it the oldest are
    /// dropped and counted (`journal/count`, `verify`).
    #[arg(long, default_value_t = JournalLimits::default().entries,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    journal_max_entries: usize,
    /// The most the journal keeps, in MiB, counted as the text it holds.
    #[arg(long, default_value_t = JournalLimits::default().bytes >> 20,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    journal_max_mib: usize,
    /// Seconds a client may read nothing of its answer before its
    /// connection is closed (the journal records `write-timeout`).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    write_timeout: u64,
}

impl Bounds {
    fn journal(&self) -> JournalLimits {
        JournalLimits::new(self.journal_max_entries, self.journal_max_mib << 20)
    }
}

/// `bedrock-harness serve`: [`serve`], exiting 2 when it cannot.
pub fn run(
    listen: &Listen,
    bounds: &Bounds,
    config: Option<&Path>,
    scenario: Option<&Path>,
    quiet: bool,
    print_env: PrintEnv,
) -> ExitCode {
    match serve(listen, bounds, config, scenario, quiet, print_env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bedrock-harness serve: {e}");
            ExitCode::from(2)
        }
    }
}

/// Serves until Ctrl-C or SIGTERM: `config`, or `scenario`'s server
/// state, or the default account.
// Long because it is the command's whole life in order: the account read,
// the server started, the banner, the wait, and what the stop reports.
fn serve(
    listen: &Listen,
    bounds: &Bounds,
    config: Option<&Path>,
    scenario: Option<&Path>,
    quiet: bool,
    print_env: PrintEnv,
) -> Result<(), String> {
    let access = listen.access()?;
    // A scenario's times moved to now: a client outside signs with the
    // real clock.
    let scenario = scenario
        .map(|path| {
            let scenario = bedrock_harness::scenario::load(path).map_err(|e| e.to_string())?;
            timeshift::scenario_at(&scenario, SystemTime::now()).map(|(moved, _, _)| moved)
        })
        .transpose()?;
    let config = match (config, &scenario) {
        (Some(path), _) => ServerConfig::from_file(path).map_err(|e| e.to_string())?,
        (None, Some(scenario)) => scenario.server.clone(),
        (None, None) => ServerConfig::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let server = MockBedrock::builder()
            .config(config.clone())
            .address(SocketAddr::new(listen.host, listen.port))
            .admin_access(access.clone())
            .log_requests(!quiet)
            .journal_limits(bounds.journal())
            .write_timeout(Duration::from_secs(bounds.write_timeout))
            .start()
            .await
            .map_err(|e| e.to_string())?;
        // The handlers go in before the URL is printed: whoever reads it
        // may send SIGTERM at once.
        let stop = StopSignals::install();
        let banner = Banner {
            uri: reachable_uri(server.address()),
            access: &access,
            scenario: scenario.as_ref(),
            config: &config,
        };
        if listen.allow_remote {
            warn_remote(server.address(), &access);
        }
        banner
            .print(print_env)
            .map_err(|e| format!("cannot write the banner to stdout: {e}"))?;
        until_stopped(stop, &server, bounds).await;
        stop_reporting(server, bounds).await;
        Ok(())
    })
}

/// Says how many requests the journal's bound dropped, if any, and stops
/// `server`. Counted as the stop begins: a stream still finishing in the
/// stop's grace may push out a few more (the count is the server's handle's
/// to read, and the stop consumes the handle).
async fn stop_reporting(server: MockBedrock, bounds: &Bounds) {
    eprintln!("stopping");
    let dropped = server.dropped_requests();
    if dropped > 0 {
        eprintln!("{}", dropped_line(dropped, bounds));
    }
    server.shutdown().await;
}

/// Waits for `stop`, saying on stderr (once) when the journal reaches its
/// bound and starts dropping its oldest entries: a long run under load
/// learns it when it happens, not only from the total at the end.
async fn until_stopped(stop: StopSignals, server: &MockBedrock, bounds: &Bounds) {
    let mut stopped = std::pin::pin!(stop.wait());
    let mut every = tokio::time::interval(DROPPED_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut said = false;
    loop {
        tokio::select! {
            () = &mut stopped => return,
            _ = every.tick(), if !said => {
                let dropped = server.dropped_requests();
                if dropped > 0 {
                    eprintln!(
                        "journal: its bound is reached {}: from now on the oldest requests are \
                         dropped and counted (GET {ADMIN_PREFIX}journal/count; the total is said \
                         at the stop)",
                        bound(bounds)
                    );
                    said = true;
                }
            }
        }
    }
}

/// How often `serve` looks whether its journal has started dropping.
const DROPPED_CHECK: Duration = Duration::from_secs(5);

/// The journal's bound, as `serve` was given it.
fn bound(bounds: &Bounds) -> String {
    format!(
        "(--journal-max-entries {}, --journal-max-mib {})",
        bounds.journal_max_entries, bounds.journal_max_mib
    )
}

/// The line `serve` ends with when its journal's bound dropped requests.
fn dropped_line(dropped: u64, bounds: &Bounds) -> String {
    format!(
        "journal: {dropped} requests dropped by its bound {}, oldest first; each was \
         answered and recorded before",
        bound(bounds)
    )
}

/// What `serve` prints once it listens: its URL, the admin API's access,
/// the client's environment (the scenario's or the account's), and how to
/// read the journal and stop.
struct Banner<'a> {
    uri: String,
    access: &'a AdminAccess,
    scenario: Option<&'a Scenario>,
    config: &'a ServerConfig,
}

impl Banner<'_> {
    /// As a shell reads it on stdout, or as one JSON line on stdout with
    /// the rest (for a person) on stderr.
    fn print(&self, format: PrintEnv) -> std::io::Result<()> {
        match format {
            PrintEnv::Shell => self.write(&mut std::io::stdout().lock(), true),
            PrintEnv::Json => {
                self.write(&mut std::io::stderr().lock(), false)?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", self.json())?;
                out.flush()
            }
        }
    }

    /// The banner; `with_env` in it (else the environment is only in the
    /// JSON, and so is the admin token: stderr may be a CI log).
    fn write(&self, out: &mut dyn Write, with_env: bool) -> std::io::Result<()> {
        let uri = &self.uri;
        writeln!(out, "bedrock mock listening on {uri}")?;
        write_admin_access(out, self.access, with_env)?;
        match self.scenario {
            Some(scenario) => write_scenario_client(out, scenario, uri, with_env)?,
            None if with_env => {
                writeln!(
                    out,
                    "# point a client at it (the test credentials are the mock's own):"
                )?;
                for line in client_env(uri, self.config).shell_lines() {
                    writeln!(out, "{line}")?;
                }
            }
            None => {}
        }
        match self.access {
            AdminAccess::Open => {
                writeln!(out, "# journal: {uri}{ADMIN_PREFIX}journal   stop: Ctrl-C")
            }
            AdminAccess::Token(_) => writeln!(
                out,
                "# journal: curl -H \"Authorization: Bearer ${TOKEN_VARIABLE}\" \
                 {uri}{ADMIN_PREFIX}journal   stop: Ctrl-C"
            ),
            AdminAccess::Off => writeln!(out, "# stop: Ctrl-C"),
        }?;
        out.flush()
    }

    /// `--print-env json`'s object (see [`PrintEnv::Json`]).
    fn json(&self) -> serde_json::Value {
        let uri = &self.uri;
        let admin = match self.access {
            AdminAccess::Off => serde_json::Value::Null,
            _ => format!("{uri}{ADMIN_PREFIX}").into(),
        };
        let token = shown_token(self.access);
        let with_token = |mut env: ClientEnv| {
            if let Some(token) = token {
                env.set
                    .insert(0, (TOKEN_VARIABLE.to_owned(), token.to_owned()));
            }
            env.json()
        };
        let mut object = serde_json::json!({"url": uri, "admin": admin});
        match self.scenario {
            Some(scenario) if !scenario.clients.is_empty() => {
                let clients: Vec<serde_json::Value> = scenario
                    .clients
                    .iter()
                    .map(|named| {
                        let mut env = with_token(scenario_env(&scenario.for_client(named), uri));
                        env["name"] = named.name.clone().into();
                        env
                    })
                    .collect();
                object["clients"] = clients.into();
            }
            Some(scenario) => merge_into(&mut object, with_token(scenario_env(scenario, uri))),
            None => merge_into(&mut object, with_token(client_env(uri, self.config))),
        }
        object
    }
}

/// `from`'s members added to `object`.
fn merge_into(object: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(object), serde_json::Value::Object(from)) = (object.as_object_mut(), from) {
        object.extend(from);
    }
}

/// The URL a client on this machine uses: a server listening on every
/// interface (`0.0.0.0`, `::`) is reached through loopback, as a client
/// cannot connect to "every interface" everywhere.
fn reachable_uri(address: SocketAddr) -> String {
    let ip = match address.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// The warning of a server others may reach (on stderr, where a person
/// reads it; stdout is for the lines a script takes).
fn warn_remote(address: SocketAddr, access: &AdminAccess) {
    let admin = match access {
        AdminAccess::Off => "the admin API is off",
        _ => "the admin API needs the token printed on stdout",
    };
    let reach = if address.ip().to_canonical().is_loopback() {
        "through whatever forwards to it"
    } else {
        "beyond this machine"
    };
    eprintln!(
        "warning: --allow-remote: {address} may be reached {reach}; anyone who reaches it \
         can call the mock with the test credentials it prints ({admin})"
    );
}

/// The admin token to show: a fresh one; not one the user gave in
/// [`TOKEN_VARIABLE`], theirs already.
fn shown_token(access: &AdminAccess) -> Option<&str> {
    match access {
        AdminAccess::Token(token)
            if !std::env::var(TOKEN_VARIABLE).is_ok_and(|given| given == token.reveal()) =>
        {
            Some(token.reveal())
        }
        _ => None,
    }
}

/// How to call the admin API, and the one line that shows its token (a
/// secret: shown nowhere else, and only `with_token`).
fn write_admin_access(
    out: &mut dyn Write,
    access: &AdminAccess,
    with_token: bool,
) -> std::io::Result<()> {
    match access {
        AdminAccess::Open => Ok(()),
        AdminAccess::Token(_) => {
            writeln!(
                out,
                "# admin API ({ADMIN_PREFIX}): send \"Authorization: Bearer ${TOKEN_VARIABLE}\""
            )?;
            match shown_token(access) {
                Some(token) if with_token => writeln!(out, "export {TOKEN_VARIABLE}={token}"),
                Some(_) => writeln!(out, "# the token is in the JSON on stdout"),
                None => writeln!(out, "# the token is the one given in ${TOKEN_VARIABLE}"),
            }
        }
        AdminAccess::Off => writeln!(out, "# admin API: off (--no-admin)"),
    }
}

/// What a support engineer needs to point a real client at a scenario:
/// its environment (`with_env`), its settings files, and what should
/// happen.
fn write_scenario_client(
    out: &mut dyn Write,
    scenario: &Scenario,
    uri: &str,
    with_env: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "# scenario {}: {}",
        scenario.name, scenario.description
    )?;
    writeln!(out, "# source: {}", scenario.source)?;
    for named in &scenario.clients {
        writeln!(
            out,
            "# client {}: starts at {} after the scenario's start, {}",
            named.name,
            named.start.as_deref().unwrap_or("0s"),
            named.home_of.as_deref().map_or_else(
                || "with a HOME of its own".to_owned(),
                |owner| format!("with {owner}'s HOME")
            )
        )?;
        let side = ClientSide {
            scenario: &scenario.for_client(named),
            uri,
            fresh_home: named.home_of.is_none(),
            with_env,
        };
        side.write(out)?;
    }
    if scenario.clients.is_empty() {
        let side = ClientSide {
            scenario,
            uri,
            fresh_home: true,
            with_env,
        };
        side.write(out)?;
    }
    Ok(())
}

/// One client's side of a scenario.
struct ClientSide<'a> {
    scenario: &'a Scenario,
    uri: &'a str,
    /// It has a HOME of its own.
    fresh_home: bool,
    /// Its environment is printed here (else it is in the JSON).
    with_env: bool,
}

impl ClientSide<'_> {
    /// Its environment, settings, files, arguments, and a conversation's
    /// lines.
    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let (scenario, uri) = (self.scenario, self.uri);
        if !self.with_env {
            writeln!(out, "# its environment is in the JSON on stdout")?;
        } else if self.fresh_home {
            writeln!(
                out,
                "# point a client at it (run it with a fresh HOME; write $HOME below as that folder):"
            )?;
        } else {
            writeln!(out, "# point a client at it (in the HOME named above):")?;
        }
        if self.with_env {
            for line in scenario_env(scenario, uri).shell_lines() {
                writeln!(out, "{line}")?;
            }
        }
        let settings = &scenario.client.settings;
        let user = setup::user_settings(scenario).unwrap_or_else(|_| settings.user.clone());
        for (file, value) in [
            ("~/.claude/settings.json", &user),
            (".claude/settings.json", &settings.project),
            (".claude/settings.local.json", &settings.local),
            ("the managed settings file", &settings.managed),
        ] {
            if let Some(value) = value {
                let text = serde_json::to_string_pretty(value)
                    .unwrap_or_default()
                    .replace("{mock}", uri)
                    .replace("{home}", "$HOME");
                writeln!(out, "# {file}:\n{text}")?;
            }
        }
        for (path, text) in &scenario.client.files {
            let text = text.replace("{mock}", uri).replace("{home}", "$HOME");
            writeln!(out, "# ~/{path}:\n{}", text.trim_end())?;
        }
        if !scenario.client.args.is_empty() {
            writeln!(
                out,
                "# client arguments: {}",
                scenario.client.args.join(" ")
            )?;
        }
        if !scenario.client.turns.is_empty() {
            writeln!(
                out,
                "# a conversation: run `claude {}` and give it these lines on stdin, each after its wait:",
                setup::CONVERSATION_ARGS.join(" ")
            )?;
            for line in setup::conversation_lines(scenario) {
                writeln!(out, "# after {} s: {}", line.wait.as_secs(), line.text)?;
            }
        }
        Ok(())
    }
}

/// `value` quoted for a POSIX shell when it needs it; `${HOME}` in it is
/// left for the shell to expand.
pub fn shell_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain && !value.is_empty() {
        return value.to_owned();
    }
    if value.contains("${HOME}") {
        let escaped: Vec<String> = value
            .split("${HOME}")
            .map(|part| {
                part.chars()
                    .flat_map(|c| {
                        let escape = matches!(c, '\\' | '"' | '`' | '$').then_some('\\');
                        escape.into_iter().chain(std::iter::once(c))
                    })
                    .collect()
            })
            .collect();
        return format!("\"{}\"", escaped.join("${HOME}"));
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Ctrl-C and SIGTERM, their handlers installed when made.
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the first of the two; never, where neither could be
    /// installed.
    pub async fn wait(self) {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = (self.interrupt, self.terminate);
            let interrupted = async {
                match &mut interrupt {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let terminated = async {
                match &mut terminate {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = interrupted => {}
                () = terminated => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting_leaves_home_to_the_shell() {
        assert_eq!(super::shell_quote("us-east-1"), "us-east-1");
        assert_eq!(super::shell_quote("a b"), "'a b'");
        assert_eq!(super::shell_quote("it's"), "'it'\\''s'");
        assert_eq!(
            super::shell_quote("${HOME}/.aws/my \"config\" $x"),
            "\"${HOME}/.aws/my \\\"config\\\" \\$x\""
        );
    }
}
