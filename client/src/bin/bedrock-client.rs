//! `bedrock-client`: the client's command line.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use bedrock_client::config::{Config, Sources};
use bedrock_client::failure::user_message_for;
use bedrock_client::provider::Provider;
use bedrock_client::retrying::{AttemptError, GaveUp};
use bedrock_client::turn::{TurnError, prompt_request, run_turn};
use bedrock_client::{Error, ErrorKind};
use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit status:
  0  the answer was printed in full
  1  the run failed: configuration, credentials, the service's refusal
     (printed on stdout in Claude Code's words, as `claude -p` prints it),
     or a stream that broke
  2  the command line is wrong";

/// The turn's model when none is chosen: the real CLI's default (Opus 5.5).
/// The models issue replaces this with the catalogue and startup checks.
const DEFAULT_BEDROCK_MODEL: &str = "us.anthropic.claude-opus-5-5";
const DEFAULT_MANTLE_MODEL: &str = "anthropic.claude-opus-5-5";

/// A Claude client for Amazon Bedrock and Mantle that behaves like Claude
/// Code's provider.
#[derive(Parser)]
#[command(name = "bedrock-client", version, after_help = EXIT_CODES)]
struct Cli {
    /// Sends PROMPT as one turn and prints the answer as it streams
    /// (Claude Code's `-p`).
    #[arg(short = 'p', long = "print", value_name = "PROMPT")]
    print: Option<String>,
    /// The turn's model: a Bedrock model or inference profile id, an
    /// application inference profile ARN, or a Mantle id
    /// (`anthropic.claude-opus-5-5`). Default: ANTHROPIC_MODEL, then the
    /// settings' `model`, then Opus 5.5.
    #[arg(long)]
    model: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the resolved configuration the way `/status` shows it:
    /// provider, region, where credentials come from (never a secret),
    /// models, and the settings files read.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let prompt = match (&cli.command, cli.print) {
        (Some(Command::Status), _) => None,
        (None, Some(prompt)) => Some(prompt),
        (None, None) => {
            eprintln!("bedrock-client: give a prompt with -p, or a command (see --help)");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(&Sources::from_process()) {
        Ok(config) => config,
        Err(e) => return fail_setup(&e),
    };
    match prompt {
        Some(prompt) => print_turn(config, cli.model, &prompt),
        None => {
            for line in config.status_lines() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
    }
}

fn fail_setup(e: &Error) -> ExitCode {
    eprintln!("bedrock-client: {e}");
    ExitCode::from(1)
}

/// `-p`: one streamed turn, the answer on stdout as it arrives.
fn print_turn(config: Config, model: Option<String>, prompt: &str) -> ExitCode {
    let model = model
        .or_else(|| config.models.model.clone())
        .unwrap_or_else(|| {
            if config.providers.bedrock {
                DEFAULT_BEDROCK_MODEL
            } else {
                DEFAULT_MANTLE_MODEL
            }
            .to_owned()
        });
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
    let auth_refresh = config.aws_auth_refresh.clone();
    // awsAuthRefresh's output (a sign-in code, a URL) is for the user;
    // stderr keeps stdout for the answer.
    let show = Arc::new(|bytes: &[u8]| {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    });
    let mut provider = Provider::from_config(config, show);
    let request = prompt_request(provider.config(), provider.identity(), prompt);
    let mut stdout = std::io::stdout();
    let mut ends_with_newline = true;
    let mut print_text = |text: &str| {
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        if !text.is_empty() {
            ends_with_newline = text.ends_with('\n');
        }
    };
    let outcome = runtime.block_on(run_turn(&mut provider, &model, request, &mut print_text));
    if !ends_with_newline {
        println!();
    }
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(TurnError::Setup(e)) => fail_setup(&e),
        Err(TurnError::Stream(failure)) => {
            println!("API Error: {failure}");
            ExitCode::from(1)
        }
        Err(TurnError::Refused(gave_up)) => {
            println!(
                "{}",
                refusal_line(&gave_up, auth_refresh.as_deref(), &model)
            );
            if let Some(hint) = provider.refresh_loop_hint() {
                eprintln!("{hint}");
            }
            ExitCode::from(1)
        }
    }
}

/// The line `claude -p` prints when a turn gives up.
fn refusal_line(gave_up: &GaveUp, auth_refresh: Option<&str>, model: &str) -> String {
    match (&gave_up.last, &gave_up.last_refusal) {
        (AttemptError::Api(failure), _) => {
            user_message_for(failure, auth_refresh, Some((model, None)))
        }
        // The run ended loading credentials after the service had refused
        // them: the refusal is what the user needs to see.
        (AttemptError::Transport(e), Some(failure)) if e.kind() == ErrorKind::Credentials => {
            user_message_for(failure, auth_refresh, Some((model, None)))
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
