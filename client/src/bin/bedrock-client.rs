//! `bedrock-client`: the client's command line.

use std::process::ExitCode;

use bedrock_client::config::{Config, Sources};
use clap::{Parser, Subcommand};

/// A Claude client for Amazon Bedrock and Mantle that behaves like Claude
/// Code's provider.
#[derive(Parser)]
#[command(name = "bedrock-client", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    match cli.command {
        Command::Status => match Config::load(&Sources::from_process()) {
            Ok(config) => {
                for line in config.status_lines() {
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bedrock-client: {e}");
                ExitCode::from(1)
            }
        },
    }
}
