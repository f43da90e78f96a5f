//! The `bedrock-client` command line as a library function, so the same
//! code runs as the binary and in-process (the scenario runner runs many
//! side by side): configuration comes from a [`Sources`], output goes to
//! a [`Console`], time from any [`TimeSource`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//!
//! use bedrock_client::cli::{Cli, Console, Environment, Exit};
//! use bedrock_client::clock::SystemClock;
//! use bedrock_client::config::Sources;
//! use clap::Parser;
//!
//! let sources = Sources::new(BTreeMap::from([
//!     ("CLAUDE_CODE_USE_BEDROCK".to_owned(), "1".to_owned()),
//!     ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
//! ]));
//! let stdout = Arc::new(Mutex::new(Vec::new()));
//! let console = Console::writing_to(Arc::clone(&stdout), Arc::default());
//! let cli = Cli::parse_from(["bedrock-client", "status"]);
//! let outcome = bedrock_client::cli::run(&cli, &Environment::new(sources, console, SystemClock::default())).await;
//! assert_eq!(outcome.exit, Exit::Success);
//! assert!(String::from_utf8_lossy(&stdout.lock().unwrap()).contains("eu-west-1"));
//! # }
//! ```

use std::sync::{Arc, Mutex};

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand, ValueEnum};

use crate::catalogue::{Catalogue, Family, Lineup, Model};
use crate::clock::TimeSource;
use crate::config::{Config, Scope, Sources, write_env};
use crate::conversation::{self, Ending, Input, Lines, Said, UsageOut};
use crate::credentials::{SourceCounts, SystemSources};
use crate::failure::{ApiFailure, classify, user_message_for};
use crate::profile::{self, Profile};
use crate::provider::Provider;
use crate::request::Identity;
use crate::resolve::{Resolved, Resolver};
use crate::retrying::{AttemptError, GaveUp};
use crate::session::{Session, lineup, load_catalogue};
use crate::startup::{Probe, UpdateOffer, discover, probe_catalogue, update_offers};
use crate::stream::Completion;
use crate::trace::Trace;
use crate::transport::HttpClient;
use crate::turn::TurnError;
use crate::{Error, ErrorKind, FailureKind};

pub use crate::command::{OutputSink, stop_running_commands};

const EXIT_CODES: &str = "\
Exit status:
  0  the answer was printed in full
  1  the run failed: configuration, credentials, the service's refusal
     (printed on stdout in Claude Code's words, as `claude -p` prints it),
     or a stream that broke
  2  the command line is wrong

Environment beyond Claude Code's: BEDROCK_CLIENT_CLI_VERSION picks the
version of Claude Code to behave as when --cli-version does not (default:
the newest this client imitates); BEDROCK_CLIENT_MODELS names a model
catalogue file to use instead of that version's; BEDROCK_CLIENT_LINEUP
picks its lineup (default `cli`, the real CLI's; `seed`, the seed
document's). BEDROCK_CLIENT_EXPLAIN=1 does what --explain does.
ANTHROPIC_LOG=debug (as the Anthropic SDKs read it) writes a trace of
every request, answer head and error body to stderr, credentials
redacted.";

/// A Claude client for Amazon Bedrock and Mantle that behaves like Claude
/// Code's provider.
#[derive(Debug, Parser)]
#[command(name = "bedrock-client", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Sends PROMPT as one turn and prints the answer (Claude Code's `-p`).
    /// With `--input-format stream-json` and no PROMPT, each user message
    /// read on stdin is a turn of one conversation.
    #[arg(short = 'p', long = "print", value_name = "PROMPT", num_args = 0..=1)]
    pub print: Option<Option<String>>,
    /// The turn's model: an alias (opus, sonnet, haiku), a version name
    /// (claude-opus-4-6), a Bedrock model or inference profile id, an
    /// application inference profile ARN, or a Mantle id
    /// (anthropic.claude-opus-5-5); `[1m]` asks for the 1M context.
    /// Default: ANTHROPIC_MODEL, then the settings' `model`, then the
    /// lineup's turn model.
    #[arg(long)]
    pub model: Option<String>,
    /// How `-p` prints: the text when the turn ends, one JSON result, or
    /// (with `--verbose`) the CLI's events per turn: `system` `init`, the
    /// `assistant` message, the `result`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    /// How `-p` reads its input: the PROMPT, or (`stream-json`, which
    /// needs `--output-format stream-json`) user messages as JSON lines on
    /// stdin, `{"type":"user","message":{"role":"user","content":"…"}}`,
    /// each a turn of one session.
    #[arg(long, value_enum, default_value_t = InputFormat::Text)]
    pub input_format: InputFormat,
    /// Prints every event: what `--output-format stream-json` needs with
    /// `-p`, as the CLI asks.
    #[arg(long)]
    pub verbose: bool,
    /// The catalogue lineup: `cli` (the default, unless
    /// BEDROCK_CLIENT_LINEUP says otherwise) or `seed`.
    #[arg(long)]
    pub lineup: Option<String>,
    /// The version of Claude Code to behave as: its retries, time limits,
    /// headers, printed lines, rules and model catalogue. Default:
    /// BEDROCK_CLIENT_CLI_VERSION, else the newest.
    #[arg(long, global = true, value_name = "VERSION", value_parser = PossibleValuesParser::new(profile::known_versions()))]
    pub cli_version: Option<String>,
    /// Also prints what `claude -p` keeps to itself (BEDROCK_CLIENT_EXPLAIN=1
    /// does the same): `awsAuthRefresh`'s output as it runs, why a run
    /// ended refused after it ran, why no credentials could be loaded,
    /// and a line when a signal stops the run. Without it the output is
    /// the CLI's.
    #[arg(long)]
    pub explain: bool,
    /// A command instead of a prompt.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How `-p` prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum OutputFormat {
    /// The text, when the turn ends (as `claude -p` prints it).
    Text,
    /// One JSON result.
    Json,
    /// One JSON line per text delta, then the result.
    StreamJson,
}

/// How `-p` reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum InputFormat {
    /// The prompt given with `-p`.
    Text,
    /// User messages as JSON lines on stdin, one turn each.
    StreamJson,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
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

/// Where the command's output goes: the process's stdout and stderr for
/// the binary, buffers for a test. `awsAuthRefresh`'s output goes to
/// stderr, keeping stdout for the answer.
#[derive(Clone)]
pub struct Console {
    /// Receives what the command prints on stdout.
    pub stdout: OutputSink,
    /// Receives what the command prints on stderr.
    pub stderr: OutputSink,
    /// Receives the trace log (every request and answer head, error
    /// bodies whole, credentials redacted) whatever
    /// `ANTHROPIC_LOG` says, besides stderr when it asks for one: a
    /// test's way to read every request the client made.
    pub trace: Option<OutputSink>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console")
    }
}

impl Console {
    /// The process's stdout and stderr, flushed on every write (the
    /// answer streams).
    pub fn process() -> Self {
        use std::io::Write;
        Self {
            stdout: Arc::new(|bytes: &[u8]| {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes);
                let _ = out.flush();
            }),
            stderr: Arc::new(|bytes: &[u8]| {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(bytes);
                let _ = err.flush();
            }),
            trace: None,
        }
    }

    /// Appends stdout and stderr to the given buffers, for the caller to
    /// read when the run is over.
    pub fn writing_to(stdout: Arc<Mutex<Vec<u8>>>, stderr: Arc<Mutex<Vec<u8>>>) -> Self {
        Self {
            stdout: appending_to(stdout),
            stderr: appending_to(stderr),
            trace: None,
        }
    }

    /// The same console, also keeping the trace log in `buffer`.
    pub fn tracing_to(mut self, buffer: Arc<Mutex<Vec<u8>>>) -> Self {
        self.trace = Some(appending_to(buffer));
        self
    }

    fn out(&self, text: &str) {
        (self.stdout)(text.as_bytes());
    }

    fn line(&self, text: &str) {
        (self.stdout)(format!("{text}\n").as_bytes());
    }

    fn err_line(&self, text: &str) {
        (self.stderr)(format!("{text}\n").as_bytes());
    }
}

/// A sink appending to `buffer`.
fn appending_to(buffer: Arc<Mutex<Vec<u8>>>) -> OutputSink {
    Arc::new(move |bytes: &[u8]| {
        buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes)
    })
}

/// The trace log's destination: the console's own trace sink, stderr
/// when `ANTHROPIC_LOG` asks, both, or none.
fn trace_for(console: &Console, vars: &crate::config::Vars) -> Option<Trace> {
    let asked = Trace::from_level(vars.get("ANTHROPIC_LOG"), &console.stderr);
    match (&console.trace, asked) {
        (None, asked) => asked,
        (Some(sink), None) => Some(Trace::new(Arc::clone(sink))),
        (Some(sink), Some(_)) => {
            let (sink, stderr) = (Arc::clone(sink), Arc::clone(&console.stderr));
            Some(Trace::new(Arc::new(move |bytes: &[u8]| {
                sink(bytes);
                stderr(bytes);
            })))
        }
    }
}

/// What a run of the command line starts from.
#[derive(Debug)]
pub struct Environment<C> {
    /// Environment variables, HOME, the project folder, managed settings.
    pub sources: Sources,
    /// Where output goes.
    pub console: Console,
    /// Time: [`crate::clock::SystemClock`] for the binary, a virtual one
    /// in tests, where backoff and refresh gates take no real time.
    pub clock: C,
    /// A fixed backoff jitter (0 to 1) instead of a random one, for
    /// reproducible runs.
    pub jitter: Option<f64>,
    /// Where `--input-format stream-json` reads the user's messages:
    /// stdin, or lines a scenario scripts.
    pub input: Input,
}

impl<C: TimeSource + Clone> Environment<C> {
    /// Runs with `sources`, printing to `console`, on `clock`, with random
    /// jitter.
    pub fn new(sources: Sources, console: Console, clock: C) -> Self {
        Self {
            sources,
            console,
            clock,
            jitter: None,
            input: Input::Stdin,
        }
    }
}

/// The exit status of a run (see `--help`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Exit {
    /// 0: the answer was printed in full (or the command did its work).
    #[default]
    Success,
    /// 1: the run failed: configuration, credentials, the service's
    /// refusal, or a stream that broke.
    Failed,
    /// 2: the command line is wrong.
    Usage,
}

impl Exit {
    /// The status a run ending on `failure` exits with.
    pub fn after(failure: Option<FailureKind>) -> Self {
        match failure {
            None => Exit::Success,
            Some(FailureKind::Usage) => Exit::Usage,
            Some(_) => Exit::Failed,
        }
    }

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// The exit status.
    pub exit: Exit,
    /// How often each credential source was used, when the run got as
    /// far as making a provider.
    pub credentials: Option<SourceCounts>,
    /// What kind of failure ended the run; `None` when it did not fail.
    pub error: Option<FailureKind>,
}

/// How a command ended: done, or the kind of failure it ended on (which
/// decides the exit status).
type End = Result<(), FailureKind>;

const SUCCESS: End = Ok(());

impl Outcome {
    fn ended(end: End) -> Self {
        let error = end.err();
        Self {
            exit: Exit::after(error),
            credentials: None,
            error,
        }
    }
}

/// What the command line asks for, read from it once.
enum Task<'a> {
    /// `status`: the configuration, no request.
    Status,
    /// Everything else, which needs the catalogue and a provider.
    Work(Work<'a>),
}

/// A task that sends requests.
enum Work<'a> {
    /// `setup`: every model probed, a pin per tier.
    Setup {
        /// Writes the proposed pins.
        write: bool,
    },
    /// A task done in a session, after its startup checks.
    Session(InSession<'a>),
}

/// What a session is started for.
enum InSession<'a> {
    /// `-p PROMPT`: the turn (a command given too wins).
    Turn(&'a str),
    /// `-p --input-format stream-json`: a turn per user message on stdin.
    Conversation,
    /// `models`: the tiers, and the update offer.
    Models {
        /// Writes the offered pins.
        accept_update: bool,
    },
}

impl<'a> Task<'a> {
    /// The task `cli` asks for; `None` when it asks for none.
    fn of(cli: &'a Cli) -> Option<Self> {
        let print = cli.print.as_ref().map(Option::as_deref);
        let work = match (&cli.command, print) {
            (Some(Command::Status), _) => return Some(Task::Status),
            (Some(Command::Models { accept_update }), _) => Work::Session(InSession::Models {
                accept_update: *accept_update,
            }),
            (Some(Command::Setup { write }), _) => Work::Setup { write: *write },
            (None, Some(None)) if cli.input_format == InputFormat::StreamJson => {
                Work::Session(InSession::Conversation)
            }
            (None, Some(Some(prompt))) => Work::Session(InSession::Turn(prompt)),
            (None, _) => return None,
        };
        Some(Task::Work(work))
    }
}

/// The variable that does what `--explain` does.
pub const EXPLAIN_VARIABLE: &str = "BEDROCK_CLIENT_EXPLAIN";

/// Whether to print what `claude -p` keeps to itself: `--explain`, or
/// `variable` ([`EXPLAIN_VARIABLE`]'s value) anything but empty, `0` or
/// `false`.
pub fn explains(cli: &Cli, variable: Option<&str>) -> bool {
    cli.explain || variable.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The CLI's refusal of `-p`'s formats, checked in its order (2.1.328 and
/// 2.1.332 word them alike; the CLI exits 1, this client 2 as for any
/// wrong command line: conformance/DIFFERENCES.md).
fn format_refusal(cli: &Cli) -> Option<&'static str> {
    cli.print.as_ref()?;
    if cli.input_format == InputFormat::StreamJson && cli.output_format != OutputFormat::StreamJson
    {
        return Some("Error: --input-format=stream-json requires output-format=stream-json.");
    }
    if cli.output_format == OutputFormat::StreamJson && !cli.verbose {
        return Some("Error: When using --print, --output-format=stream-json requires --verbose");
    }
    None
}

/// Runs the parsed command line.
pub async fn run<C: TimeSource + Clone>(cli: &Cli, env: &Environment<C>) -> Outcome {
    let console = &env.console;
    if let Some(refusal) = format_refusal(cli) {
        console.err_line(refusal);
        return Outcome::ended(Err(FailureKind::Usage));
    }
    let Some(task) = Task::of(cli) else {
        console.err_line("bedrock-client: give a prompt with -p, or a command (see --help)");
        return Outcome::ended(Err(FailureKind::Usage));
    };
    let config = match Config::load_as(&env.sources, cli.cli_version.as_deref()) {
        Ok(config) => config,
        Err(e) => return Outcome::ended(fail_setup(console, &e)),
    };
    let work = match task {
        Task::Status => {
            for line in config.status_lines() {
                console.line(&line);
            }
            return Outcome::ended(SUCCESS);
        }
        Task::Work(work) => work,
    };
    let catalogue = match load_catalogue(&config) {
        Ok(catalogue) => catalogue,
        Err(e) => return Outcome::ended(fail_setup(console, &e)),
    };
    let explain = explains(cli, config.vars.get(EXPLAIN_VARIABLE));
    let mut provider = provider_for(config, env, explain);
    let end = do_work(cli, env, &mut provider, catalogue, work).await;
    Outcome {
        credentials: Some(provider.credential_counts()),
        ..Outcome::ended(end)
    }
}

/// The provider a run sends through: the machine's credential sources,
/// the environment's clock and jitter, stderr for `awsAuthRefresh` when
/// `explain` (`claude -p` shows it nowhere), the trace log when asked for.
fn provider_for<C: TimeSource + Clone>(
    config: Config,
    env: &Environment<C>,
    explain: bool,
) -> Provider<SystemSources, C> {
    let http = HttpClient::new()
        .with_deadlines(env.clock.deadlines())
        .with_trace(trace_for(&env.console, &config.vars));
    let sources = SystemSources::new(&config, http.clone(), Arc::clone(&env.console.stderr));
    let sources = if explain {
        sources
    } else {
        sources.hiding_refresh_output()
    };
    let provider = Provider::new(
        config,
        sources,
        env.clock.clone(),
        http,
        Identity::new_session(),
    );
    match env.jitter {
        Some(jitter) => provider.with_jitter(move || jitter),
        None => provider,
    }
}

/// Does `work` with the lineup the flag or `BEDROCK_CLIENT_LINEUP`
/// names: `setup`'s probes, or a session's turn or model report.
async fn do_work<C: TimeSource>(
    cli: &Cli,
    env: &Environment<C>,
    provider: &mut Provider<SystemSources, C>,
    catalogue: Catalogue,
    work: Work<'_>,
) -> End {
    let console = &env.console;
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
        Err(e) => return fail_setup(console, &e),
    };
    let task = match work {
        Work::Setup { write } => return setup(env, provider, &catalogue, &lineup, write).await,
        Work::Session(task) => task,
    };
    let mut session = match Session::start(provider, catalogue, &lineup, cli.model.as_deref()).await
    {
        Ok(session) => session,
        Err(e) => return fail_setup(console, &e),
    };
    for notice in &session.notices {
        console.err_line(notice);
    }
    session.display_updates = cli.output_format == OutputFormat::StreamJson;
    match task {
        InSession::Turn(prompt) => {
            let explain = explains(cli, provider.config().vars.get(EXPLAIN_VARIABLE));
            print_turn(
                console,
                provider,
                &mut session,
                &lineup,
                prompt,
                (cli.output_format, explain),
            )
            .await
        }
        InSession::Conversation => {
            let explain = explains(cli, provider.config().vars.get(EXPLAIN_VARIABLE));
            converse(env, provider, &mut session, &lineup, explain).await
        }
        InSession::Models { accept_update } => {
            report_models(console, provider, &session, &lineup);
            offer_updates(env, provider, &session, &lineup, accept_update).await
        }
    }
}

fn fail_setup(console: &Console, e: &Error) -> End {
    console.err_line(&format!("bedrock-client: {e}"));
    Err(e.kind().into())
}

/// `-p`: one streamed turn. Text goes to stdout when the turn ends, as
/// `claude -p` prints it (a run stopped mid-turn prints nothing:
/// conformance's `sigterm-mid-turn`); `json` prints the result;
/// `stream-json` the CLI's events ([`stream_turn`]). `how` is the output
/// format and whether to explain.
async fn print_turn<C: TimeSource>(
    console: &Console,
    provider: &mut Provider<SystemSources, C>,
    session: &mut Session,
    lineup: &Lineup,
    prompt: &str,
    how: (OutputFormat, bool),
) -> End {
    let (format, explain) = how;
    if format == OutputFormat::StreamJson {
        let events = Events {
            console,
            cwd: None,
            explain,
        };
        return stream_turn(&events, provider, session, lineup, (prompt, 0)).await;
    }
    let mut text = String::new();
    let mut print_text = |delta: &str| {
        if format == OutputFormat::Text {
            text.push_str(delta);
        }
    };
    let outcome = session.run(provider, prompt, &mut print_text).await;
    if format == OutputFormat::Text && !text.is_empty() {
        console.out(&text);
        if !text.ends_with('\n') {
            console.out("\n");
        }
    }
    let error_line = match turn_error_line(provider, session, lineup, &outcome) {
        Ok(line) => line,
        Err(e) => return fail_setup(console, e),
    };
    if format == OutputFormat::Json {
        console.line(&result_json(
            &outcome,
            error_line.as_deref(),
            &session.turn.id,
        ));
    } else if let Some(line) = &error_line {
        console.line(line);
    }
    explain_refusal(console, provider, &outcome, error_line.as_deref(), explain);
    turn_end(&outcome)
}

/// Where a session's `stream-json` events go.
struct Events<'a> {
    console: &'a Console,
    /// The folder the `init` event names.
    cwd: Option<&'a std::path::Path>,
    /// Whether to print the hints on stderr.
    explain: bool,
}

/// `-p --input-format stream-json`: each user message on the input is a
/// turn of the session, its events printed as it ends; a turn that fails
/// does not end the session. The run ends as its last turn did, or at
/// the first line that cannot be read. `explain`: the hints on stderr.
async fn converse<C: TimeSource>(
    env: &Environment<C>,
    provider: &mut Provider<SystemSources, C>,
    session: &mut Session,
    lineup: &Lineup,
    explain: bool,
) -> End {
    let events = Events {
        console: &env.console,
        cwd: env.sources.project.as_deref(),
        explain,
    };
    let mut lines = Lines::of(&env.input);
    let mut end = SUCCESS;
    let mut index = 0;
    while let Some(line) = lines.next(&env.clock).await {
        match conversation::read_line(&line) {
            Ok(Said::Nothing) => {}
            Ok(Said::Prompt(prompt)) => {
                end = stream_turn(&events, provider, session, lineup, (&prompt, index)).await;
                index += 1;
            }
            Err(refusal) => {
                env.console.err_line(&refusal);
                return Err(FailureKind::Usage);
            }
        }
    }
    end
}

/// One turn as `--output-format stream-json --verbose` prints it: the
/// `init` event, then the answer (or the error line) as an `assistant`
/// event and the `result`. `(prompt, index)`: the prompt, and which turn
/// of the session it is.
async fn stream_turn<C: TimeSource>(
    events: &Events<'_>,
    provider: &mut Provider<SystemSources, C>,
    session: &mut Session,
    lineup: &Lineup,
    (prompt, index): (&str, usize),
) -> End {
    let session_id = provider.identity().session_id.clone();
    let model = session.turn.id.clone();
    let version = provider.config().cli.version.clone();
    let turn = conversation::Turn {
        session_id: &session_id,
        model: &model,
        index,
    };
    let console = events.console;
    console.line(&conversation::init_event(&turn, events.cwd, &version));
    let outcome = session.run(provider, prompt, &mut |_| {}).await;
    let error_line = match turn_error_line(provider, session, lineup, &outcome) {
        Ok(line) => line,
        Err(e) => return fail_setup(console, e),
    };
    let ending = match (&outcome, &error_line) {
        (Ok(answer), _) => Ending::Answered {
            text: &answer.text,
            stop_reason: answer.stop_reason.as_deref(),
            usage: usage_json(answer),
        },
        (Err(e), line) => Ending::Failed {
            line: line.as_deref().unwrap_or_default(),
            status: refusal_status(e),
        },
    };
    console.line(&conversation::assistant_event(&turn, &ending));
    console.line(&conversation::result_event(&turn, &ending));
    explain_refusal(
        console,
        provider,
        &outcome,
        error_line.as_deref(),
        events.explain,
    );
    turn_end(&outcome)
}

/// The HTTP status of the refusal a turn gave up on.
fn refusal_status(error: &TurnError) -> Option<u16> {
    match error {
        TurnError::Refused(gave_up) => given_up_on(gave_up).ok().map(|f| f.status),
        _ => None,
    }
}

/// The line `claude -p` prints for a turn that failed (`None` when it
/// answered); `Err` for a failure to set the turn up.
fn turn_error_line<'o, C: TimeSource>(
    provider: &Provider<SystemSources, C>,
    session: &Session,
    lineup: &Lineup,
    outcome: &'o Result<Completion, TurnError>,
) -> Result<Option<String>, &'o Error> {
    let config = provider.config();
    let resolver = Resolver::new(
        config,
        &session.catalogue,
        lineup,
        session.startup.discovered.as_deref(),
    );
    let cli = &config.cli;
    Ok(match outcome {
        Ok(_) => None,
        Err(TurnError::Setup(e)) => return Err(e),
        Err(TurnError::Stream(failure)) => Some(format!("{}: {failure}", cli.texts.api_error)),
        Err(TurnError::Refused(gave_up)) => Some(refusal_line(
            cli,
            gave_up,
            config.aws_auth_refresh.as_deref(),
            &session.turn.id,
            session
                .suggestion(&resolver, cli, provider.clock().now())
                .as_deref(),
        )),
    })
}

/// With `explain`, the hints on stderr after a refusal: a refresh loop,
/// why no credentials could be loaded.
fn explain_refusal<C: TimeSource>(
    console: &Console,
    provider: &Provider<SystemSources, C>,
    outcome: &Result<Completion, TurnError>,
    error_line: Option<&str>,
    explain: bool,
) {
    let Err(TurnError::Refused(gave_up)) = outcome else {
        return;
    };
    if !explain {
        return;
    }
    if let Some(hint) = provider.refresh_loop_hint() {
        console.err_line(&hint);
    }
    if error_line == Some(provider.config().cli.texts.no_credentials.as_str())
        && let AttemptError::Transport(e) = &gave_up.last
    {
        console.err_line(&format!("bedrock-client: {e}"));
    }
}

/// How a run ends after a turn's `outcome`.
fn turn_end(outcome: &Result<Completion, TurnError>) -> End {
    match outcome {
        Ok(_) => SUCCESS,
        Err(TurnError::Refused(gave_up)) => Err(refusal_kind(gave_up)),
        Err(_) => Err(FailureKind::Stream),
    }
}

/// An answer's usage, as the results report it.
fn usage_json(answer: &Completion) -> UsageOut {
    UsageOut {
        input_tokens: answer.usage.input_tokens,
        output_tokens: answer.usage.output_tokens,
        cache_creation_input_tokens: answer.usage.cache_creation_input_tokens,
        cache_read_input_tokens: answer.usage.cache_read_input_tokens,
    }
}

/// The `result` object of `--output-format json`, as its line: a struct,
/// so the keys keep the CLI's order whatever serde_json's features.
fn result_json(
    outcome: &Result<Completion, TurnError>,
    error: Option<&str>,
    model: &str,
) -> String {
    #[derive(serde::Serialize)]
    struct ResultJson<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        subtype: &'static str,
        is_error: bool,
        result: &'a str,
        model: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        stop_reason: Option<Option<&'a str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<UsageOut>,
    }
    let result = match (outcome, error) {
        (Ok(answer), _) => ResultJson {
            kind: "result",
            subtype: "success",
            is_error: false,
            result: &answer.text,
            model,
            stop_reason: Some(answer.stop_reason.as_deref()),
            usage: Some(usage_json(answer)),
        },
        // The real CLI reports an API error as a "success" result with
        // is_error (customer-scenarios: truncated-event-byte-complete).
        (Err(_), error) => ResultJson {
            kind: "result",
            subtype: "success",
            is_error: true,
            result: error.unwrap_or_default(),
            model,
            stop_reason: None,
            usage: None,
        },
    };
    serde_json::to_string(&result).expect("a result serializes")
}

/// `models`: per tier, the model in use, where it came from, the probes.
fn report_models<C: TimeSource>(
    console: &Console,
    provider: &Provider<SystemSources, C>,
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
    console.line(&discovery_line(
        session.startup.discovered.as_deref(),
        session.startup.discovery_error.as_deref(),
    ));
    console.line(&format!("Lineup: {}", lineup.description));
    for family in Family::ALL {
        let check = session.startup.tiers.iter().find(|t| t.family == family);
        let model = match check {
            Some(check) => Ok(check.model.clone()),
            None => resolver.tier(family),
        };
        match model {
            Ok(model) => console.line(&format!(
                "{}: {} ({:?})",
                family.title(),
                model.id,
                model.source
            )),
            Err(e) => console.line(&format!("{}: {e}", family.title())),
        }
        for (id, probe) in check.map(|c| c.probes.as_slice()).unwrap_or_default() {
            console.line(&format!("  probe {id}: {}", probe.summary()));
        }
    }
    console.line(&format!(
        "Turn: {} ({:?}, {:?})",
        session.turn.id, session.turn.endpoint, session.turn.source
    ));
}

/// Writes `pins` to the user settings, or says why it could not.
fn write_pins(sources: &Sources, console: &Console, pins: &[(String, String)]) -> End {
    let user_settings = sources
        .settings_paths()
        .into_iter()
        .find(|(scope, _)| *scope == Scope::User)
        .map(|(_, path)| path);
    let Some(path) = user_settings else {
        return fail_setup(
            console,
            &Error::new(
                ErrorKind::MissingVariable,
                "HOME is not set, so there is no user settings file to write: set HOME or CLAUDE_CONFIG_DIR",
            ),
        );
    };
    if let Err(e) = write_env(&path, pins) {
        return fail_setup(console, &e);
    }
    for (name, value) in pins {
        console.line(&format!("Wrote {name}={value} to {}", path.display()));
    }
    // A project, local or managed settings file may set the same variable
    // and take precedence: say so rather than claim the pin is in effect.
    if let Ok(config) = Config::load(sources) {
        for (name, value) in pins {
            if config.vars.get(name) != Some(value.as_str()) {
                console.err_line(&format!(
                    "bedrock-client: {name} is also set in a settings file that takes precedence over {}; the new pin has no effect until you change it there",
                    path.display()
                ));
            }
        }
    }
    SUCCESS
}

/// `models`: the seed's update offer, printed; written when accepted.
async fn offer_updates<C: TimeSource>(
    env: &Environment<C>,
    provider: &mut Provider<SystemSources, C>,
    session: &Session,
    lineup: &Lineup,
    accept: bool,
) -> End {
    let offers = update_offers(
        provider,
        &session.catalogue,
        lineup,
        session.startup.discovered.as_deref(),
    )
    .await;
    for offer in &offers {
        env.console.line(&format!(
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
        ));
    }
    if accept && !offers.is_empty() {
        let pins: Vec<(String, String)> = offers.iter().map(UpdateOffer::pin).collect();
        return write_pins(&env.sources, &env.console, &pins);
    }
    SUCCESS
}

/// `setup`: region, credentials, every model probed, a pin per tier.
async fn setup<C: TimeSource>(
    env: &Environment<C>,
    provider: &mut Provider<SystemSources, C>,
    catalogue: &Catalogue,
    lineup: &Lineup,
    write: bool,
) -> End {
    let console = &env.console;
    if let Err(e) = show_setup(console, provider).await {
        return fail_setup(console, &e);
    }
    let discovered = discover(provider).await;
    console.line(&discovery_line(
        discovered.as_deref().ok(),
        discovered.as_ref().err().map(String::as_str),
    ));
    let discovered = discovered.ok();
    let results = probe_catalogue(provider, catalogue, lineup, discovered.as_deref()).await;
    let pins = pins_from_probes(console, &results);
    for (name, value) in &pins {
        console.line(&format!("export {name}='{value}'"));
    }
    if pins.is_empty() {
        return fail_setup(
            console,
            &Error::new(
                ErrorKind::Credentials,
                "no model of the catalogue answers: enable model access in the Amazon Bedrock console, or check the region and the credentials",
            ),
        );
    }
    if write {
        write_pins(&env.sources, console, &pins)
    } else {
        SUCCESS
    }
}

/// What `setup` shows before it probes: the provider, the region, where
/// credentials come from and, once loaded, their access key id. An error
/// when they cannot be loaded, or Bedrock is off.
async fn show_setup<C: TimeSource>(
    console: &Console,
    provider: &mut Provider<SystemSources, C>,
) -> Result<(), Error> {
    let config = provider.config().clone();
    console.line(&format!("API provider: {}", config.providers.label()));
    console.line(&format!("AWS region: {}", config.region));
    console.line(&format!("Bedrock auth: {}", config.bedrock_auth.describe()));
    if let Some(key) = provider.load_credentials().await? {
        console.line(&format!("AWS credentials: found (access key {key})"));
    }
    if !config.providers.bedrock {
        return Err(Error::new(
            ErrorKind::NoProvider,
            "setup probes Bedrock models: export CLAUDE_CODE_USE_BEDROCK=1",
        ));
    }
    Ok(())
}

/// Per tier, every version's probe, then its pin: the newest version that
/// answered (or a line saying none did). The pins, as variable and id.
fn pins_from_probes(
    console: &Console,
    results: &[(Model, Resolved, Probe)],
) -> Vec<(String, String)> {
    let mut pins = Vec::new();
    for family in Family::ALL {
        let of_family: Vec<_> = results
            .iter()
            .filter(|(m, _, _)| m.family == family)
            .collect();
        for (model, resolved, probe) in &of_family {
            console.line(&format!(
                "  {} ({}): {}",
                model.display,
                resolved.id,
                probe.summary()
            ));
        }
        match of_family
            .iter()
            .find(|(_, _, probe)| *probe == Probe::Available)
        {
            Some((model, resolved, _)) => {
                console.line(&format!(
                    "{}: {} ({})",
                    family.title(),
                    model.display,
                    resolved.id
                ));
                pins.push((family.pin_variable().to_owned(), resolved.id.clone()));
            }
            None => console.line(&format!(
                "{}: no version answers in this account and region",
                family.title()
            )),
        }
    }
    pins
}

/// The line about startup discovery: how many profiles it found, or why
/// it found none (with neither, Bedrock is off).
fn discovery_line(discovered: Option<&[String]>, error: Option<&str>) -> String {
    match (discovered, error) {
        (Some(ids), _) => format!("Inference profiles discovered: {}", ids.len()),
        (None, Some(why)) => {
            format!("Inference profiles: not discovered ({why}); built-in ids used")
        }
        (None, None) => "Inference profiles: not discovered (Bedrock is off)".to_owned(),
    }
}

/// What a turn gave up on: the service's refusal to quote (the last
/// answer, or the refusal before credentials could not be reloaded), or
/// the error of an attempt that got no answer.
fn given_up_on(gave_up: &GaveUp) -> Result<&ApiFailure, &Error> {
    match (&gave_up.last, &gave_up.last_refusal) {
        (AttemptError::Api(failure), _) => Ok(failure),
        // The run ended loading credentials after the service had refused
        // them: the refusal is what the user needs to see.
        (AttemptError::Transport(e), Some(failure)) if e.kind() == ErrorKind::Credentials => {
            Ok(failure)
        }
        (AttemptError::Transport(e), _) => Err(e),
    }
}

/// The kind of failure a turn gave up on.
fn refusal_kind(gave_up: &GaveUp) -> FailureKind {
    match given_up_on(gave_up) {
        Ok(failure) => classify(failure).into(),
        Err(e) => e.kind().into(),
    }
}

/// The line `claude -p` (as `cli`'s version) prints when a turn gives up.
fn refusal_line(
    cli: &Profile,
    gave_up: &GaveUp,
    auth_refresh: Option<&str>,
    model: &str,
    switch_to: Option<&str>,
) -> String {
    let texts = &cli.texts;
    match given_up_on(gave_up) {
        Ok(failure) => user_message_for(cli, failure, auth_refresh, Some((model, switch_to))),
        // The Anthropic SDK's words for a connection that failed or timed
        // out, then ours with the detail.
        Err(e) if e.kind() == ErrorKind::Connection => format!("{} ({e})", texts.connection_error),
        Err(e) if e.kind() == ErrorKind::Timeout => format!("{} ({e})", texts.timed_out),
        // The CLI's words when no credentials can be loaded (the chain
        // finds nothing, or awsCredentialExport gives nothing usable); why
        // goes to stderr with --explain.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Credentials | ErrorKind::CredentialExport
            ) =>
        {
            texts.no_credentials.clone()
        }
        Err(e) => format!("{}: {e}", texts.api_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_every_exit_status_and_the_failure_decides_it() {
        for exit in [Exit::Success, Exit::Failed, Exit::Usage] {
            assert!(EXIT_CODES.contains(&format!("\n  {}  ", exit.code())));
        }
        assert_eq!(Exit::after(None), Exit::Success);
        assert_eq!(Exit::after(Some(FailureKind::Usage)).code(), 2);
        assert_eq!(Exit::after(Some(FailureKind::Stream)).code(), 1);
    }

    /// `--output-format json`'s result byte for byte: the CLI's key
    /// order in any build (a `Value` sorts keys without `preserve_order`).
    #[test]
    fn the_json_result_keeps_the_clis_key_order() {
        let answer = Completion {
            text: "Hi".into(),
            stop_reason: Some("end_turn".into()),
            usage: bedrock_eventstream::anthropic::Usage::default()
                .with_input_tokens(5)
                .with_output_tokens(1),
            metrics: None,
        };
        assert_eq!(
            result_json(&Ok(answer), None, "m"),
            r#"{"type":"result","subtype":"success","is_error":false,"result":"Hi","model":"m","stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}}"#
        );
        let failed = Err(TurnError::Setup(crate::Error::new(
            crate::ErrorKind::Request,
            "x",
        )));
        assert_eq!(
            result_json(&failed, Some("API Error: 500"), "m"),
            r#"{"type":"result","subtype":"success","is_error":true,"result":"API Error: 500","model":"m"}"#
        );
    }
}
