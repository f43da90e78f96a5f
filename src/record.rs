//! `bedrock-harness record` and `import`: a session recorded through the
//! proxy, or a capture read from a file, written as a scenario; then what
//! was redacted, for the user to see before sending it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use bedrock_harness::capture::exchange::Exchange;
use bedrock_harness::capture::import::{self, ImportOptions};
use bedrock_harness::capture::proxy::{RecordOptions, Recorder};
use bedrock_harness::capture::write::{WriteOptions, Written, write};
use bedrock_harness::scenario::load;
use bedrock_mock_server::Timestamp;

use crate::run::schema_line;
use crate::serve::{StopSignals, shell_quote};

/// The scenario `record` and `import` write.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// Where to write the scenario.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Replace the output (and record's --log) if it exists.
    #[arg(long)]
    force: bool,
    /// The scenario's name, which is its file's (checked).
    #[arg(long)]
    name: Option<String>,
    /// Keep prompt and answer text (else placeholders of the same length).
    #[arg(long)]
    keep_text: bool,
}

/// `record`'s command line.
#[derive(clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    written: OutputArgs,
    /// The proxy's port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The region of requests that do not say (bearer keys) [default:
    /// $AWS_REGION, else us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Send everything to this base URL instead of AWS (a gateway,
    /// `bedrock-harness serve`).
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Also write each exchange to this proxy log as it ends (JSON
    /// Lines; credentials masked, text kept), so a crash leaves what was
    /// seen: `import` reads it back.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// The client to run with its endpoints on the proxy; the session
    /// ends when it exits. Without it, the session ends at Ctrl-C.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// `import`'s command line.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// A HAR file, a `record --log` proxy log, or an event-stream body.
    file: PathBuf,
    #[command(flatten)]
    written: OutputArgs,
    /// The file's format, when telling it from its content is not wanted:
    /// har, log or eventstream.
    #[arg(long)]
    format: Option<String>,
    /// The model of an event-stream body that does not name one.
    #[arg(long)]
    model: Option<String>,
}

/// `bedrock-harness record`: exit 0 when the scenario is written, 2 when
/// the recorder cannot start or the file cannot be written.
pub fn record(args: RecordArgs) -> ExitCode {
    outcome("record", record_session(args))
}

/// `bedrock-harness import`.
pub fn import(args: ImportArgs) -> ExitCode {
    outcome("import", import_file(args))
}

fn outcome(command: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bedrock-harness {command}: {e}");
            ExitCode::from(2)
        }
    }
}

fn record_session(args: RecordArgs) -> Result<(), String> {
    args.written.check()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (exchanges, exit) = runtime.block_on(proxy_session(&args))?;
    let when = Timestamp(SystemTime::now());
    let mut options = args
        .written
        .options()
        .source(format!("bedrock-harness record, {when}"));
    if let Some(code) = exit {
        options = options.exit(code);
    }
    args.written.finish(&exchanges, &options)
}

/// The session's exchanges, and how the client exited when the recorder
/// ran it.
async fn proxy_session(args: &RecordArgs) -> Result<(Vec<Exchange>, Option<u8>), String> {
    let region = args
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut options = RecordOptions::new(region);
    if let Some(url) = &args.upstream {
        options = options.upstream_url(url);
    }
    if let Some(path) = &args.log {
        let log = ProxyLog::create(path, args.written.force)?;
        options = options.on_exchange(move |exchange| log.append(exchange));
    }
    let recorder = Recorder::start(options, args.port)
        .await
        .map_err(|e| e.to_string())?;
    let endpoints = recorded_endpoints(recorder.uri());
    // Installed before anything is printed: a script that reads the
    // exports and stops the recorder at once still gets its scenario.
    let signals = StopSignals::install();
    // A variable already set for a gateway would be overridden: the
    // gateway belongs in --upstream.
    for (name, _) in endpoints.iter().filter(|_| args.upstream.is_none()) {
        if let Ok(set) = std::env::var(name) {
            eprintln!(
                "note: {name} was {set}; the client now goes through the recorder to AWS. For a gateway, pass --upstream {set}."
            );
        }
    }
    let mut exit = None;
    if args.command.is_empty() {
        eprintln!(
            "Recording through {}. Point the client at it (it keeps its own credentials):",
            recorder.uri()
        );
        for (name, value) in &endpoints {
            println!("export {name}={}", shell_quote(value));
        }
        eprintln!(
            "Ctrl-C ends the session and writes {}.",
            args.written.output.display()
        );
        signals.wait().await;
    } else {
        exit = run_client(&args.command, &endpoints, signals).await?;
    }
    Ok((recorder.finish().await, exit))
}

/// The variables that point a client's Bedrock, Mantle and STS calls at
/// the recorder, service by service. Not the global `AWS_ENDPOINT_URL`:
/// the client's own credential calls (SSO's portal and token refresh)
/// go to AWS as they would, so recording changes nothing of how it signs
/// in (Claude Code 2.1.328 and 2.1.332 read `AWS_ENDPOINT_URL_BEDROCK`
/// for the control plane).
fn recorded_endpoints(uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.to_owned()),
        (
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
            format!("{uri}/anthropic"),
        ),
        ("AWS_ENDPOINT_URL_BEDROCK", uri.to_owned()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", uri.to_owned()),
        ("AWS_ENDPOINT_URL_STS", uri.to_owned()),
    ]
}

/// `--log`: each exchange appended as it ends, so a session that crashes
/// still leaves what it saw.
struct ProxyLog(std::sync::Mutex<std::fs::File>);

impl ProxyLog {
    /// A new log (one session per log: `import` reads a log as one
    /// session); `force` replaces an old one.
    fn create(path: &Path, force: bool) -> Result<Self, String> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if force {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        options
            .open(path)
            .map(|file| Self(std::sync::Mutex::new(file)))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!(
                        "--log {} exists; pass --force to replace it",
                        path.display()
                    )
                }
                _ => format!("--log {}: {e}", path.display()),
            })
    }

    fn append(&self, exchange: &Exchange) {
        let line = import::log_line(exchange) + "\n";
        let mut file = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("bedrock-harness record: the proxy log: {e}");
        }
    }
}

/// Runs the client with its endpoints on the proxy until it exits; its
/// exit code, when it ended on its own (`None` after a stop: a replay
/// cannot stop it so, so its exit is not expected). Ctrl-C reaches the
/// client too (the terminal sends it to both); then, or at SIGTERM to the
/// recorder alone, the recorder waits for the client to end, ten seconds
/// at most (stopping it after), and writes what it has.
async fn run_client(
    command: &[String],
    endpoints: &[(&str, String)],
    signals: StopSignals,
) -> Result<Option<u8>, String> {
    let (program, arguments) = command.split_first().ok_or("no command to run")?;
    let mut child = tokio::process::Command::new(program);
    child.args(arguments).kill_on_drop(true);
    for (name, value) in endpoints {
        child.env(name, value);
    }
    let mut child = child
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let mut stopped = false;
    let status = tokio::select! {
        status = child.wait() => Some(status),
        () = signals.wait() => {
            stopped = true;
            eprintln!("Stopping: waiting for {program} to end, then writing the session.");
            tokio::time::timeout(CLIENT_GRACE, child.wait()).await.ok()
        }
    };
    match status {
        Some(Ok(status)) if stopped => {
            eprintln!("{program} exited with {status} after the stop; its exit is not expected.");
            Ok(None)
        }
        Some(Ok(status)) => {
            eprintln!("{program} exited with {status}.");
            Ok(status.code().and_then(|c| u8::try_from(c).ok()))
        }
        Some(Err(e)) => Err(format!("waiting for {program}: {e}")),
        None => {
            eprintln!(
                "{program} did not end within {} s: stopped.",
                CLIENT_GRACE.as_secs()
            );
            let _ = child.kill().await;
            Ok(None)
        }
    }
}

/// How long the client may take to end after Ctrl-C.
const CLIENT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

fn import_file(args: ImportArgs) -> Result<(), String> {
    args.written.check()?;
    let mut options = ImportOptions::new();
    if let Some(format) = &args.format {
        let format: import::Format = format.parse().map_err(|e| format!("--format: {e}"))?;
        options = options.format(format);
    }
    if let Some(model) = &args.model {
        options = options.model(model);
    }
    let imported = import::read_file(&args.file, &options).map_err(|e| e.to_string())?;
    for skipped in &imported.skipped {
        eprintln!("skipped: {skipped}");
    }
    let source = format!("bedrock-harness import of {}", file_name(&args.file));
    let options = args.written.options().source(source);
    args.written.finish(&imported.exchanges, &options)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl OutputArgs {
    /// Refuses, before anything is recorded, an output that exists
    /// (unless `--force`) or whose name is no scenario's (a scenario's
    /// `name` is its file's); makes its folder.
    fn check(&self) -> Result<(), String> {
        let output = &self.output;
        if output.exists() && !self.force {
            return Err(format!(
                "{} exists; pass --force to replace it",
                output.display()
            ));
        }
        if output.extension().is_none_or(|e| e != "toml") {
            return Err(format!(
                "--output {}: a scenario file ends in .toml",
                output.display()
            ));
        }
        let stem = self.scenario_name();
        if !load::is_scenario_name(&stem) {
            return Err(format!(
                "--output {}: `{stem}` {}",
                output.display(),
                load::NOT_A_NAME
            ));
        }
        if let Some(name) = self.name.as_deref().filter(|n| *n != stem) {
            return Err(format!(
                "--name {name}: a scenario's name is its file's name, `{stem}`; leave --name out or write to {name}.toml"
            ));
        }
        // Made now, so a session is not recorded only to find nowhere to write.
        match output.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) => std::fs::create_dir_all(folder)
                .map_err(|e| format!("cannot make {}: {e}", folder.display())),
            None => Ok(()),
        }
    }

    fn scenario_name(&self) -> String {
        self.output
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    }

    fn options(&self) -> WriteOptions {
        WriteOptions::new(self.scenario_name()).keep_text(self.keep_text)
    }

    /// Writes the scenario and says what it holds and what was redacted.
    fn finish(&self, exchanges: &[Exchange], options: &WriteOptions) -> Result<(), String> {
        let output = &self.output;
        let written: Written = write(exchanges, options);
        // Editors check the file against the project's schema, when there
        // is one above it.
        let folder = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let text = match schema_line(folder) {
            Some(schema) => format!("#:schema {schema}\n{}", written.toml),
            None => written.toml.clone(),
        };
        std::fs::write(output, text)
            .map_err(|e| format!("could not write {}: {e}", output.display()))?;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "Wrote {} ({} requests).",
            output.display(),
            written.requests
        );
        let _ = writeln!(err, "Redacted:\n{}", written.redactions);
        for note in &written.notes {
            let _ = writeln!(err, "note: {note}");
        }
        let _ = writeln!(err, "Replay it: bedrock-harness run {}", output.display());
        Ok(())
    }
}
