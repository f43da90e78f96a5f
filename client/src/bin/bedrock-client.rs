//! `bedrock-client`: the client's command line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use bedrock_client::clock::SystemClock;
use bedrock_client::config::{Config, Scope, Sources, write_env};
use bedrock_client::credentials::SystemSources;
use bedrock_client::failure::user_message_for;
use bedrock_client::models::startup::{
    Probe, UpdateOffer, discover, probe_catalogue, update_offers,
};
use bedrock_client::models::{Catalogue, Family, Lineup, Resolver};
use bedrock_client::provider::Provider;
use bedrock_client::retrying::{AttemptError, GaveUp};
use bedrock_client::session::{Session, lineup, load_catalogue};
use bedrock_client::stream::Answer;
use bedrock_client::turn::TurnError;
use bedrock_client::{Error, ErrorKind};
use clap::{Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0  the answer was printed in full
  1  the run failed: configuration, credentials, the service's refusal
     (printed on stdout in Claude Code's words, as `claude -p` prints it),
     or a stream that broke
  2  the command line is wrong

Environment beyond Claude Code's: BEDROCK_CLIENT_MODELS names a model
catalogue file to use instead of the built-in one; BEDROCK_CLIENT_LINEUP
picks its lineup (default `cli`, the real CLI 2.1.328's; `seed`, the
seed document's).";

/// A Claude client for Amazon Bedrock and Mantle that behaves like Claude
/// Code's provider.
#[derive(Parser)]
#[command(name = "bedrock-client", version, after_help = EXIT_CODES)]
struct Cli {
    /// Sends PROMPT as one turn and prints the answer as it streams
    /// (Claude Code's `-p`).
    #[arg(short = 'p', long = "print", value_name = "PROMPT")]
    print: Option<String>,
    /// The turn's model: an alias (opus, sonnet, haiku), a version name
    /// (claude-opus-4-6), a Bedrock model or inference profile id, an
    /// application inference profile ARN, or a Mantle id
    /// (anthropic.claude-opus-5-5); `[1m]` asks for the 1M context.
    /// Default: ANTHROPIC_MODEL, then the settings' `model`, then the
    /// lineup's turn model.
    #[arg(long)]
    model: Option<String>,
    /// How `-p` prints: the text as it streams, one JSON result, or one
    /// JSON line per text delta then the result.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
    /// The catalogue lineup: `cli` (the default, unless
    /// BEDROCK_CLIENT_LINEUP says otherwise) or `seed`.
    #[arg(long)]
    lineup: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
    StreamJson,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the resolved configuration the way `/status` shows it:
    /// provider, region, where credentials come from (never a secret),
    /// models, and the settings files read.
    Status,
    /// Runs the startup checks and prints, per tier, the model the
    /// session would use, where it came from, and every probe's result;
    /// then the update offer for pinned tiers older than the default
    /// whose newer version answers.
    Models {
        /// Writes the offered pins to the user settings' `env` block.
        #[arg(long)]
        accept_update: bool,
    },
    /// The setup wizard's job without prompts: shows the region and where
    /// credentials come from, probes every model of the catalogue, and
    /// proposes a pin per tier (the newest version that answers).
    Setup {
        /// Writes the proposed pins to the user settings' `env` block.
        #[arg(long)]
        write: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() && cli.print.is_none() {
        eprintln!("bedrock-client: give a prompt with -p, or a command (see --help)");
        return ExitCode::from(2);
    }
    let config = match Config::load(&Sources::from_process()) {
        Ok(config) => config,
        Err(e) => return fail_setup(&e),
    };
    match (&cli.command, &cli.print) {
        (Some(Command::Status), _) => {
            for line in config.status_lines() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        (Some(Command::Models { .. } | Command::Setup { .. }), _) => run(config, &cli, None),
        (None, Some(prompt)) => run(config, &cli, Some(prompt)),
        (None, None) => ExitCode::from(2),
    }
}

fn fail_setup(e: &Error) -> ExitCode {
    eprintln!("bedrock-client: {e}");
    ExitCode::from(1)
}

/// Starts a session; with a prompt, sends the turn, else reports the
/// models.
fn run(config: Config, cli: &Cli, prompt: Option<&str>) -> ExitCode {
    let catalogue = match load_catalogue(&config.vars) {
        Ok(catalogue) => catalogue,
        Err(e) => return fail_setup(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail_setup(&Error::new(
                ErrorKind::Connection,
                format!("could not start the network runtime: {e}"),
            ));
        }
    };
    // awsAuthRefresh's output (a sign-in code, a URL) is for the user;
    // stderr keeps stdout for the answer.
    let show = Arc::new(|bytes: &[u8]| {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    });
    let mut provider = Provider::from_config(config, show);
    runtime.block_on(async {
        let name = cli
            .lineup
            .clone()
            .or_else(|| {
                provider
                    .config()
                    .vars
                    .get("BEDROCK_CLIENT_LINEUP")
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "cli".to_owned());
        let lineup = match lineup(&catalogue, &name) {
            Ok(lineup) => lineup.clone(),
            Err(e) => return fail_setup(&e),
        };
        if let Some(Command::Setup { write }) = cli.command {
            return setup(&mut provider, &catalogue, &lineup, write).await;
        }
        let session =
            match Session::start(&mut provider, catalogue, &lineup, cli.model.as_deref()).await {
                Ok(session) => session,
                Err(e) => return fail_setup(&e),
            };
        for notice in &session.notices {
            eprintln!("{notice}");
        }
        match prompt {
            Some(prompt) => {
                print_turn(&mut provider, &session, &lineup, prompt, cli.output_format).await
            }
            None => {
                report_models(&provider, &session, &lineup);
                let accept = matches!(
                    cli.command,
                    Some(Command::Models {
                        accept_update: true
                    })
                );
                offer_updates(&mut provider, &session, &lineup, accept).await
            }
        }
    })
}

/// `-p`: one streamed turn, the answer on stdout as it arrives.
async fn print_turn(
    provider: &mut Provider<SystemSources, SystemClock>,
    session: &Session,
    lineup: &Lineup,
    prompt: &str,
    format: OutputFormat,
) -> ExitCode {
    let mut stdout = std::io::stdout();
    let mut ends_with_newline = true;
    let mut print_text = |text: &str| {
        let line = match format {
            OutputFormat::Text => text.to_owned(),
            OutputFormat::StreamJson => {
                format!(
                    "{}\n",
                    serde_json::json!({"type": "text_delta", "text": text})
                )
            }
            OutputFormat::Json => return,
        };
        let _ = stdout.write_all(line.as_bytes());
        let _ = stdout.flush();
        if !text.is_empty() {
            ends_with_newline = line.ends_with('\n');
        }
    };
    let outcome = session.run(provider, prompt, &mut print_text).await;
    if format == OutputFormat::Text && !ends_with_newline {
        println!();
    }
    let config = provider.config().clone();
    let resolver = Resolver::new(
        &config,
        &session.catalogue,
        lineup,
        session.startup.discovered.as_deref(),
    );
    let error_line = match &outcome {
        Ok(_) => None,
        Err(TurnError::Setup(e)) => return fail_setup(e),
        Err(TurnError::Stream(failure)) => Some(format!("API Error: {failure}")),
        Err(TurnError::Refused(gave_up)) => Some(refusal_line(
            gave_up,
            config.aws_auth_refresh.as_deref(),
            &session.turn.id,
            session.suggestion(&resolver).as_deref(),
        )),
    };
    if format != OutputFormat::Text {
        println!(
            "{}",
            result_json(&outcome, error_line.as_deref(), &session.turn.id)
        );
    } else if let Some(line) = &error_line {
        println!("{line}");
    }
    if let Err(TurnError::Refused(_)) = &outcome
        && let Some(hint) = provider.refresh_loop_hint()
    {
        eprintln!("{hint}");
    }
    if error_line.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The `result` object of `--output-format json` and `stream-json`.
fn result_json(
    outcome: &Result<Answer, TurnError>,
    error: Option<&str>,
    model: &str,
) -> serde_json::Value {
    match (outcome, error) {
        (Ok(answer), _) => serde_json::json!({
            "type": "result",
            "subtype": "success",
            "is_error": false,
            "result": answer.text,
            "model": model,
            "stop_reason": answer.stop_reason,
            "usage": {
                "input_tokens": answer.usage.input_tokens,
                "output_tokens": answer.usage.output_tokens,
                "cache_creation_input_tokens": answer.usage.cache_creation_input_tokens,
                "cache_read_input_tokens": answer.usage.cache_read_input_tokens,
            },
        }),
        // The real CLI reports an API error as a "success" result with
        // is_error (customer-scenarios: truncated-event-byte-complete).
        (Err(_), error) => serde_json::json!({
            "type": "result",
            "subtype": "success",
            "is_error": true,
            "result": error.unwrap_or_default(),
            "model": model,
        }),
    }
}

/// `models`: per tier, the model in use, where it came from, the probes.
fn report_models(
    provider: &Provider<SystemSources, SystemClock>,
    session: &Session,
    lineup: &Lineup,
) {
    let config = provider.config();
    let resolver = Resolver::new(
        config,
        &session.catalogue,
        lineup,
        session.startup.discovered.as_deref(),
    );
    match (
        &session.startup.discovered,
        &session.startup.discovery_error,
    ) {
        (Some(ids), _) => println!("Inference profiles discovered: {}", ids.len()),
        (None, Some(why)) => {
            println!("Inference profiles: not discovered ({why}); built-in ids used")
        }
        (None, None) => println!("Inference profiles: not discovered (Bedrock is off)"),
    }
    println!("Lineup: {}", lineup.description);
    for family in Family::ALL {
        let check = session.startup.tiers.iter().find(|t| t.family == family);
        let model = match check {
            Some(check) => Ok(check.model.clone()),
            None => resolver.tier(family),
        };
        match model {
            Ok(model) => println!("{}: {} ({:?})", family.title(), model.id, model.source),
            Err(e) => println!("{}: {e}", family.title()),
        }
        for (id, probe) in check.map(|c| c.probes.as_slice()).unwrap_or_default() {
            println!("  probe {id}: {}", probe.summary());
        }
    }
    println!(
        "Turn: {} ({:?}, {:?})",
        session.turn.id, session.turn.endpoint, session.turn.source
    );
}

/// The user settings file, where accepted pins are written.
fn user_settings() -> Option<std::path::PathBuf> {
    Sources::from_process()
        .settings_paths()
        .into_iter()
        .find(|(scope, _)| *scope == Scope::User)
        .map(|(_, path)| path)
}

/// Writes `pins` to the user settings, or says why it could not.
fn write_pins(pins: &[(String, String)]) -> ExitCode {
    let Some(path) = user_settings() else {
        return fail_setup(&Error::new(
            ErrorKind::MissingVariable,
            "HOME is not set, so there is no user settings file to write: set HOME or CLAUDE_CONFIG_DIR",
        ));
    };
    if let Err(e) = write_env(&path, pins) {
        return fail_setup(&e);
    }
    for (name, value) in pins {
        println!("Wrote {name}={value} to {}", path.display());
    }
    // A project, local or managed settings file may set the same variable
    // and take precedence: say so rather than claim the pin is in effect.
    if let Ok(config) = Config::load(&Sources::from_process()) {
        for (name, value) in pins {
            if config.vars.get(name) != Some(value.as_str()) {
                eprintln!(
                    "bedrock-client: {name} is also set in a settings file that takes precedence over {}; the new pin has no effect until you change it there",
                    path.display()
                );
            }
        }
    }
    ExitCode::SUCCESS
}

/// `models`: the seed's update offer, printed; written when accepted.
async fn offer_updates(
    provider: &mut Provider<SystemSources, SystemClock>,
    session: &Session,
    lineup: &Lineup,
    accept: bool,
) -> ExitCode {
    let offers = update_offers(
        provider,
        &session.catalogue,
        lineup,
        session.startup.discovered.as_deref(),
    )
    .await;
    for offer in &offers {
        println!(
            "Update available: {} pins {}; {} ({}) answers in this account. {}",
            offer.family.pin_variable(),
            offer.pinned,
            offer.newer,
            offer.id,
            if accept {
                "Pinning it."
            } else {
                "Run `bedrock-client models --accept-update` to pin it."
            }
        );
    }
    if accept && !offers.is_empty() {
        let pins: Vec<(String, String)> = offers.iter().map(UpdateOffer::pin).collect();
        return write_pins(&pins);
    }
    ExitCode::SUCCESS
}

/// `setup`: region, credentials, every model probed, a pin per tier.
async fn setup(
    provider: &mut Provider<SystemSources, SystemClock>,
    catalogue: &Catalogue,
    lineup: &Lineup,
    write: bool,
) -> ExitCode {
    let config = provider.config().clone();
    println!("API provider: {}", config.providers.label());
    println!("AWS region: {}", config.region);
    println!("Bedrock auth: {}", config.bedrock_auth.describe());
    match provider.load_credentials().await {
        Ok(Some(key)) => println!("AWS credentials: found (access key {key})"),
        Ok(None) => {}
        Err(e) => return fail_setup(&e),
    }
    if !config.providers.bedrock {
        return fail_setup(&Error::new(
            ErrorKind::NoProvider,
            "setup probes Bedrock models: export CLAUDE_CODE_USE_BEDROCK=1",
        ));
    }
    let discovered = match discover(provider).await {
        Ok(ids) => {
            println!("Inference profiles discovered: {}", ids.len());
            Some(ids)
        }
        Err(why) => {
            println!("Inference profiles: not discovered ({why}); built-in ids used");
            None
        }
    };
    let results = probe_catalogue(provider, catalogue, lineup, discovered.as_deref()).await;
    let mut pins = Vec::new();
    for family in Family::ALL {
        let of_family: Vec<_> = results
            .iter()
            .filter(|(m, _, _)| m.family == family)
            .collect();
        for (model, resolved, probe) in &of_family {
            println!("  {} ({}): {}", model.display, resolved.id, probe.summary());
        }
        match of_family
            .iter()
            .find(|(_, _, probe)| *probe == Probe::Available)
        {
            Some((model, resolved, _)) => {
                println!("{}: {} ({})", family.title(), model.display, resolved.id);
                pins.push((family.pin_variable().to_owned(), resolved.id.clone()));
            }
            None => println!(
                "{}: no version answers in this account and region",
                family.title()
            ),
        }
    }
    for (name, value) in &pins {
        println!("export {name}='{value}'");
    }
    if pins.is_empty() {
        return fail_setup(&Error::new(
            ErrorKind::Credentials,
            "no model of the catalogue answers: enable model access in the Amazon Bedrock console, or check the region and the credentials",
        ));
    }
    if write {
        write_pins(&pins)
    } else {
        ExitCode::SUCCESS
    }
}

/// The line `claude -p` prints when a turn gives up.
fn refusal_line(
    gave_up: &GaveUp,
    auth_refresh: Option<&str>,
    model: &str,
    switch_to: Option<&str>,
) -> String {
    match (&gave_up.last, &gave_up.last_refusal) {
        (AttemptError::Api(failure), _) => {
            user_message_for(failure, auth_refresh, Some((model, switch_to)))
        }
        // The run ended loading credentials after the service had refused
        // them: the refusal is what the user needs to see.
        (AttemptError::Transport(e), Some(failure)) if e.kind() == ErrorKind::Credentials => {
            user_message_for(failure, auth_refresh, Some((model, switch_to)))
        }
        // The Anthropic SDK's words for a connection that failed or timed
        // out, then ours with the detail.
        (AttemptError::Transport(e), _) if e.kind() == ErrorKind::Connection => {
            format!("API Error: Connection error. ({e})")
        }
        (AttemptError::Transport(e), _) if e.kind() == ErrorKind::Timeout => {
            format!("API Error: Request timed out. ({e})")
        }
        (AttemptError::Transport(e), _) => format!("API Error: {e}"),
    }
}
