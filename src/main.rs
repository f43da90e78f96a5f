//! `bedrock-harness`: the scenario runner and support tools.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decode;
mod serve;

/// Test Claude clients against a fake Amazon Bedrock, offline.
#[derive(Parser)]
#[command(name = "bedrock-harness", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files against the in-process mock and client.
    ///
    /// Not built yet: the runner arrives with the scenario format. Until
    /// then this command runs nothing and exits with status 2.
    Run {
        /// Scenario files or folders [default: scenarios/]
        paths: Vec<PathBuf>,
    },
    /// Serve the fake Bedrock to any client until Ctrl-C.
    ///
    /// Prints the URL and the environment lines that point a client (the
    /// Claude Code CLI, boto3, the Anthropic SDKs) at it, then one line per
    /// request on stderr. The account state comes from --config (JSON, or
    /// TOML by extension; the fields of `ServerConfig`), or is the default
    /// account: region us-east-1, the Claude catalogue, test credentials
    /// AKIDEXAMPLE. The journal and an admin API are under /__bedrock_mock/.
    Serve {
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Account state to serve (JSON or TOML).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Do not log requests.
        #[arg(long)]
        quiet: bool,
    },
    /// Decode a captured `application/vnd.amazon.eventstream` body.
    ///
    /// Prints one JSON line per frame: its offset, headers (as [name, value]
    /// pairs in wire order), and for Bedrock
    /// `chunk` frames the Anthropic event inside (base64 and padding
    /// removed); exception frames show their type and message. Stops at the
    /// first corrupt frame, naming its byte offset, and exits with status 1.
    /// Reads standard input when FILE is `-` or absent.
    Decode {
        /// The captured response body.
        file: Option<PathBuf>,
        /// Print payloads as text instead of decoding Bedrock chunks.
        #[arg(long)]
        raw: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { .. } => {
            eprintln!(
                "bedrock-harness run: the scenario runner is not built yet, so no scenario was run.\n\
                 It arrives with the scenario file format; `cargo test --workspace` runs the tests that exist today."
            );
            ExitCode::from(2)
        }
        Command::Serve {
            port,
            host,
            config,
            quiet,
        } => match serve::run(host, port, config.as_deref(), quiet) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bedrock-harness serve: {e}");
                ExitCode::from(2)
            }
        },
        Command::Decode { file, raw } => {
            let input = match read_input(file.as_ref()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let name = file.map_or("standard input".into(), |p| p.display().to_string());
                    eprintln!("bedrock-harness decode: cannot read {name}: {e}");
                    return ExitCode::from(2);
                }
            };
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let result = decode::print_frames(&input, raw, &mut out);
            let _ = out.flush();
            match result {
                Ok(count) => {
                    eprintln!("{count} frames, {} bytes", input.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("bedrock-harness decode: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn read_input(file: Option<&PathBuf>) -> io::Result<Vec<u8>> {
    match file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path),
        _ => {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes)?;
            Ok(bytes)
        }
    }
}
