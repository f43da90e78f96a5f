//! `bedrock-harness serve`: the mock as a standalone server for any client.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use bedrock_harness::scenario::{Scenario, external, run};
use bedrock_mock_server::{ADMIN_PREFIX, MockBedrock, ServerConfig};

/// The environment lines that point a client at `uri` with the account's
/// test credentials.
pub fn client_env(uri: &str, config: &ServerConfig) -> Vec<String> {
    // One server answers every endpoint, so every variable a client reads
    // for one points here.
    let mut lines: Vec<String> = run::mock_endpoints(uri)
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
    lines.push("AWS_EC2_METADATA_DISABLED=true".to_owned());
    lines.push("CLAUDE_CODE_USE_BEDROCK=1".to_owned());
    lines.push("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1".to_owned());
    lines
}

/// `bedrock-harness serve`: [`serve`], exiting 2 when it cannot.
pub fn run(
    host: IpAddr,
    port: u16,
    config: Option<&Path>,
    scenario: Option<&Path>,
    quiet: bool,
) -> ExitCode {
    match serve(host, port, config, scenario, quiet) {
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
    host: IpAddr,
    port: u16,
    config: Option<&Path>,
    scenario: Option<&Path>,
    quiet: bool,
) -> Result<(), String> {
    let scenario = scenario
        .map(|path| bedrock_harness::scenario::load(path).map_err(|e| e.to_string()))
        .transpose()?;
    let config = match (config, &scenario) {
        (Some(path), _) => ServerConfig::from_file(path).map_err(|e| e.to_string())?,
        (None, Some(scenario)) => external::server_at(scenario, SystemTime::now()),
        (None, None) => ServerConfig::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let server = MockBedrock::builder()
            .config(config.clone())
            .address(SocketAddr::new(host, port))
            .log_requests(!quiet)
            .start()
            .await
            .map_err(|e| e.to_string())?;
        // The handlers go in before the URL is printed: whoever reads it
        // may send SIGTERM at once.
        let stop = StopSignals::install();
        let uri = server.uri();
        println!("bedrock mock listening on {uri}");
        match &scenario {
            Some(scenario) => print_scenario_client(scenario, &uri),
            None => {
                println!("# point a client at it (the test credentials are the mock's own):");
                for line in client_env(&uri, &config) {
                    println!("export {line}");
                }
            }
        }
        println!("# journal: {uri}{ADMIN_PREFIX}journal   stop: Ctrl-C");
        stop.wait().await;
        eprintln!("stopping");
        server.shutdown().await;
        Ok(())
    })
}

/// What a support engineer needs to point a real client at a scenario:
/// its environment, its settings files, and what should happen.
fn print_scenario_client(scenario: &Scenario, uri: &str) {
    println!("# scenario {}: {}", scenario.name, scenario.description);
    println!("# source: {}", scenario.source);
    println!(
        "# point a client at it (run it with a fresh HOME; write $HOME below as that folder):"
    );
    for line in external::client_env_lines(scenario, uri) {
        let (name, value) = line.split_once('=').unwrap_or((&line, ""));
        println!("export {name}={}", shell_quote(value));
    }
    let settings = &scenario.client.settings;
    let user = run::user_settings(scenario).unwrap_or_else(|_| settings.user.clone());
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
