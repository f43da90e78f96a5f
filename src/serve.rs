//! `bedrock-harness serve`: the mock as a standalone server for any client.

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

/// The environment lines that point a client at `uri` with the account's
/// test credentials.
pub fn client_env(uri: &str, config: &ServerConfig) -> Vec<String> {
    // One server answers every endpoint, so every variable a client reads
    // for one points here.
    let mut lines: Vec<String> = setup::mock_endpoints(uri)
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    lines.push(format!(
        "AWS_REGION={}",
        config.regions.first().map_or("us-east-1", String::as_str)
    ));
    if let Some(c) = config.credentials.first() {
        lines.push(format!("AWS_ACCESS_KEY_ID={}", c.access_key_id));
        lines.push(format!("AWS_SECRET_ACCESS_KEY={}", c.secret_access_key));
        if let Some(token) = &c.session_token {
            lines.push(format!("AWS_SESSION_TOKEN={token}"));
        }
    }
    lines.extend(
        setup::STAY_LOCAL
            .iter()
            .chain(&[("CLAUDE_CODE_USE_BEDROCK", "1")])
            .map(|(name, value)| format!("{name}={value}")),
    );
    lines
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
) -> ExitCode {
    match serve(listen, bounds, config, scenario, quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bedrock-harness serve: {e}");
            ExitCode::from(2)
        }
    }
}

/// Serves until Ctrl-C or SIGTERM: `config`, or `scenario`'s server
/// state, or the default account.
fn serve(
    listen: &Listen,
    bounds: &Bounds,
    config: Option<&Path>,
    scenario: Option<&Path>,
    quiet: bool,
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
        print_banner(&server, listen, &access, scenario.as_ref(), &config);
        stop.wait().await;
        eprintln!("stopping");
        server.shutdown().await;
        Ok(())
    })
}

/// What `serve` prints once it listens: its URL, the admin API's access,
/// the client's environment (the scenario's or the account's), and how to
/// read the journal and stop.
fn print_banner(
    server: &MockBedrock,
    listen: &Listen,
    access: &AdminAccess,
    scenario: Option<&Scenario>,
    config: &ServerConfig,
) {
    let uri = reachable_uri(server.address());
    println!("bedrock mock listening on {uri}");
    if listen.allow_remote {
        warn_remote(server.address(), access);
    }
    print_admin_access(access);
    match scenario {
        Some(scenario) => print_scenario_client(scenario, &uri),
        None => {
            println!("# point a client at it (the test credentials are the mock's own):");
            for line in client_env(&uri, config) {
                println!("export {line}");
            }
        }
    }
    match access {
        AdminAccess::Open => println!("# journal: {uri}{ADMIN_PREFIX}journal   stop: Ctrl-C"),
        AdminAccess::Token(_) => println!(
            "# journal: curl -H \"Authorization: Bearer ${TOKEN_VARIABLE}\" \
             {uri}{ADMIN_PREFIX}journal   stop: Ctrl-C"
        ),
        AdminAccess::Off => println!("# stop: Ctrl-C"),
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

/// The one line that shows the admin token (a secret: shown nowhere else),
/// or that the API is off.
fn print_admin_access(access: &AdminAccess) {
    match access {
        AdminAccess::Open => {}
        AdminAccess::Token(token) => {
            println!(
                "# admin API ({ADMIN_PREFIX}): send \"Authorization: Bearer ${TOKEN_VARIABLE}\""
            );
            // A token the user gave is theirs already: not shown again.
            if std::env::var(TOKEN_VARIABLE).is_ok_and(|given| given == token.reveal()) {
                println!("# the token is the one given in ${TOKEN_VARIABLE}");
            } else {
                println!("export {TOKEN_VARIABLE}={}", token.reveal());
            }
        }
        AdminAccess::Off => println!("# admin API: off (--no-admin)"),
    }
}

/// What a support engineer needs to point a real client at a scenario:
/// its environment, its settings files, and what should happen.
fn print_scenario_client(scenario: &Scenario, uri: &str) {
    println!("# scenario {}: {}", scenario.name, scenario.description);
    println!("# source: {}", scenario.source);
    for named in &scenario.clients {
        println!(
            "# client {}: starts at {} after the scenario's start, {}",
            named.name,
            named.start.as_deref().unwrap_or("0s"),
            named.home_of.as_deref().map_or_else(
                || "with a HOME of its own".to_owned(),
                |owner| format!("with {owner}'s HOME")
            )
        );
        print_client_side(&scenario.for_client(named), uri, named.home_of.is_none());
    }
    if scenario.clients.is_empty() {
        print_client_side(scenario, uri, true);
    }
}

/// One client's side of a scenario: its environment, settings, files,
/// arguments, and a conversation's lines; `fresh_home` when it has a HOME
/// of its own.
fn print_client_side(scenario: &Scenario, uri: &str, fresh_home: bool) {
    if fresh_home {
        println!(
            "# point a client at it (run it with a fresh HOME; write $HOME below as that folder):"
        );
    } else {
        println!("# point a client at it (in the HOME named above):");
    }
    for line in external::client_env_lines(scenario, uri) {
        let (name, value) = line.split_once('=').unwrap_or((&line, ""));
        println!("export {name}={}", shell_quote(value));
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
            println!("# {file}:\n{text}");
        }
    }
    for (path, text) in &scenario.client.files {
        let text = text.replace("{mock}", uri).replace("{home}", "$HOME");
        println!("# ~/{path}:\n{}", text.trim_end());
    }
    if !scenario.client.args.is_empty() {
        println!("# client arguments: {}", scenario.client.args.join(" "));
    }
    if !scenario.client.turns.is_empty() {
        println!(
            "# a conversation: run `claude {}` and give it these lines on stdin, each after its wait:",
            setup::CONVERSATION_ARGS.join(" ")
        );
        for line in setup::conversation_lines(scenario) {
            println!("# after {} s: {}", line.wait.as_secs(), line.text);
        }
    }
}

/// `value` quoted for a POSIX shell when it needs it; `${HOME}` in it is
/// left for the shell to expand.
fn shell_quote(value: &str) -> String {
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
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn install() -> Self {
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
    async fn wait(self) {
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
