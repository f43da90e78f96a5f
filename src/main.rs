//! `bedrock-harness`: the scenario runner and support tools. `main` reads
//! the command line and hands each command to the module that does it.
//!
//! Layers, each using only those before it: support (`claude_code`, `isolation`) → commands (`decode`, `load`, `run`, `serve`) → commands that share theirs (`record`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod claude_code;
mod decode;
mod isolation;
mod load;
mod record;
mod run;
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
    /// Run scenario files against the in-process mock and client, or
    /// the real Claude Code CLI.
    ///
    /// Each scenario gets its own mock on 127.0.0.1 and a client with a
    /// fresh HOME and only the scenario's environment. Prints a line per
    /// scenario, then a table by folder, every failure in full, and what
    /// could not be checked. Exit status: 0 all passed (or skipped), 1
    /// any failed or could not run, 2 nothing to run (no file, none this
    /// client can run, or the client could not be installed).
    ///
    /// With --client claude-code[@VERSION] the real CLI runs each
    /// scenario in place of bedrock-client: installed with npm into
    /// $BEDROCK_HARNESS_CACHE (else $XDG_CACHE_HOME/bedrock-harness, else
    /// ~/.cache/bedrock-harness) once per version, given the same HOME,
    /// files, environment and arguments, every endpoint on the mock,
    /// inside a private network namespace (`unshare -n`) where the
    /// machine allows it. The mock runs on the real clock, the
    /// scenario's times moved to now; what cannot hold on it
    /// (virtual_seconds, bedrock-client's own failure kinds and counts)
    /// is reported as not checked, and scenarios that use what only
    /// bedrock-client has (status, models, setup, --lineup, managed
    /// settings) are skipped.
    Run {
        /// Scenario files or folders [default: scenarios/]
        paths: Vec<PathBuf>,
        /// Only scenarios whose path contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Also write JUnit XML here, for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write one self-contained HTML page here: a summary, then
        /// each scenario's differences, a timeline of its requests, its
        /// requests with their error messages, and what the client
        /// printed (secrets hidden; it loads nothing from the network).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the results as JSON on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Scenarios run at once [default: 2 per CPU].
        #[arg(long)]
        jobs: Option<usize>,
        /// After each scenario's line, print what the client printed and
        /// the normalized request journal.
        #[arg(short, long)]
        verbose: bool,
        /// The client: bedrock-client (in-process), claude-code (the
        /// version the conformance suite pins) or claude-code@VERSION.
        #[arg(long, value_name = "CLIENT", default_value = "bedrock-client")]
        client: String,
        /// Run this program in place of bedrock-client: anything that
        /// takes Claude Code's arguments and reads its variables (a
        /// claude you installed yourself).
        #[arg(long, value_name = "PATH", conflicts_with = "client")]
        client_program: Option<PathBuf>,
        /// Seconds a client program may take per scenario before it is
        /// stopped, with all it started, and the scenario failed
        /// [default: 180].
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        time_limit: Option<u64>,
    },
    /// Write a commented template for a new scenario.
    New {
        /// The scenario's name (kebab-case); written to scenarios/NAME.toml
        /// unless --output says where.
        name: String,
        /// Where to write it.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema of scenario files (checked in as
    /// scenarios/schema.json).
    Schema,
    /// Print the Markdown table of the scenarios under scenarios/ (the
    /// one in scenarios/README.md).
    Index,
    /// Serve the fake Bedrock to any client until Ctrl-C.
    ///
    /// Prints the URL and the environment lines that point a client (the
    /// Claude Code CLI, boto3, the Anthropic SDKs) at it: `export` lines,
    /// then an `unset` of the variables from your shell that would win over
    /// them (AWS_PROFILE, another session's AWS_SESSION_TOKEN, ...), or the
    /// same as JSON (--print-env json); then one line per request on
    /// stderr. The account state comes from --config (JSON, or
    /// TOML by extension; the fields of `ServerConfig`), or is the default
    /// account: region us-east-1, the Claude catalogue, test credentials
    /// AKIDEXAMPLE. The journal and an admin API are under /__bedrock_mock/
    /// (their table: mock-server/ADMIN.md).
    ///
    /// The admin API reads the account's secrets and scripts what a model
    /// answers, so by default only programs on this machine reach it: the
    /// server listens on 127.0.0.1, and admin calls carrying an Origin or
    /// Sec-Fetch-Site header (web pages) or naming another server in Host
    /// are refused.
    /// Listening beyond loopback takes --allow-remote; the admin API then
    /// needs the token printed at start, as `Authorization: Bearer TOKEN`
    /// (or is turned off with --no-admin). Exit status: 2 when it cannot
    /// start.
    Serve {
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Address to listen on. Anything but a loopback address
        /// (0.0.0.0, a LAN address) needs --allow-remote.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Let other machines reach the server (a --host beyond loopback, a
        /// forwarded port): anyone who reaches it can use the test
        /// credentials it prints. Warns on stderr, and the admin API needs
        /// the token printed at start (`Authorization: Bearer TOKEN`), or the
        /// one given in $BEDROCK_MOCK_ADMIN_TOKEN.
        #[arg(long)]
        allow_remote: bool,
        /// Turn the admin API off: every call under /__bedrock_mock/ is
        /// refused (403).
        #[arg(long)]
        no_admin: bool,
        /// Account state to serve (JSON or TOML).
        #[arg(long, conflicts_with = "scenario")]
        config: Option<PathBuf>,
        /// Serve this scenario's `[server]` state, its times moved to now,
        /// and print its client environment.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Do not log requests.
        #[arg(long)]
        quiet: bool,
        /// How to print the client's environment: `shell`, export and
        /// unset lines to `eval`; `json`, one line on stdout,
        /// `{"url":…,"admin":…,"set":{NAME:value,…},"unset":[NAME,…]}`
        /// (a scenario with [[clients]]: `"clients":[{"name":…,"set":…,
        /// "unset":…}]`), the rest on stderr.
        #[arg(long, value_enum, default_value_t = serve::PrintEnv::Shell)]
        print_env: serve::PrintEnv,
        #[command(flatten)]
        bounds: serve::Bounds,
    },
    /// Load-test the mock: N clients stream answers for a fixed time.
    ///
    /// Starts `bedrock-harness serve` as a child process on 127.0.0.1
    /// (unless --server names a running one), then runs --streams
    /// clients, each on one keep-alive connection, asking for one streamed
    /// answer after another until --seconds have passed; streams in flight
    /// then finish (each within 60 s). Prints streams and events per
    /// second, time to first byte (p50, p99, max), failures by cause, the
    /// server's resident memory (idle, with the most streams open, peak)
    /// and whether its journal holds every request sent. Exit status: 0
    /// no failure and nothing lost, 1 otherwise, 2 could not run.
    Load(load::Options),
    /// Decode a captured `application/vnd.amazon.eventstream` body.
    ///
    /// Prints one JSON line per frame: its offset, headers (as [name, value]
    /// pairs in wire order), and for Bedrock
    /// `chunk` frames the Anthropic event inside (base64 and padding
    /// removed); exception frames show their type and message. Stops at the
    /// first corrupt frame, naming its byte offset, and exits with status 1.
    /// Reads standard input when FILE is `-` or absent.
    /// Record a client's session with AWS as a scenario: a proxy on
    /// 127.0.0.1 the client's endpoints point at.
    ///
    /// Each request is signed again with your own AWS credentials (the
    /// AWS CLI's chain: environment, profile, SSO) for the real regional
    /// endpoint, or keeps its bearer key, and its answer is streamed back
    /// unchanged, with its timing. When the session ends (the COMMAND
    /// after `--` exits, or Ctrl-C) the scenario is written: the client's
    /// settings it can tell, one rule per answer in order (errors, streams
    /// with their frames and gaps, stalls and cuts), and the requests as
    /// expected. Signatures, tokens, keys and account ids never reach the
    /// file; prompt and answer text only with --keep-text. What was
    /// redacted is printed at the end.
    Record(record::RecordArgs),
    /// Turn a capture into a scenario as `record` writes one: a HAR file
    /// (browser devtools, mitmproxy, Charles, Fiddler), a `record --log`
    /// proxy log, or an event-stream body (what `decode` reads).
    Import(record::ImportArgs),
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
        Command::Run {
            paths,
            filter,
            junit,
            report,
            json,
            jobs,
            verbose,
            client,
            client_program,
            time_limit,
        } => run::run(
            paths,
            &run::Options {
                filter,
                junit,
                report,
                json,
                jobs,
                verbose,
                client,
                client_program,
                time_limit,
            },
        ),
        Command::New { name, output } => run::new(&name, output),
        Command::Index => run::index(),
        Command::Schema => run::schema(),
        Command::Serve {
            port,
            host,
            allow_remote,
            no_admin,
            config,
            scenario,
            quiet,
            print_env,
            bounds,
        } => serve::run(
            &serve::Listen {
                host,
                port,
                allow_remote,
                no_admin,
            },
            &bounds,
            config.as_deref(),
            scenario.as_deref(),
            quiet,
            print_env,
        ),
        Command::Load(options) => load::run(&options),
        Command::Record(args) => record::record(args),
        Command::Import(args) => record::import(args),
        Command::Decode { file, raw } => decode::run(file.as_deref(), raw),
    }
}
