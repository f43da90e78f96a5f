//! Scenario files: one situation a Claude client meets on Bedrock (the
//! client's environment and settings, the fake account's state and
//! faults) and what must happen. The same files drive `bedrock-harness
//! run` (with the in-process `bedrock-client`, or a client program such
//! as the real Claude Code CLI), `cargo test` (one test per file) and
//! `bedrock-harness serve --scenario`.
//!
//! Layers, each using only those before it: vocabulary (`format`, `template`, `timeshift`) → loading (`load`) → preparing (`setup`, `observed`, `external`, `transit`) → running (`run`, `clients`, `process`) → checking (`check`) → reporting (`snapshot`, `record`, `index`, `suite`).
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() {
//! let report = bedrock_harness::scenario::run_file("scenarios/auth/api-key.toml".as_ref()).await;
//! assert!(report.passed(), "{}", report.failure_text());
//! # }
//! ```

pub mod check;
pub mod clients;
pub mod external;
pub mod format;
pub mod index;
pub mod load;
pub mod observed;
pub mod process;
pub mod record;
pub mod run;
pub mod setup;
pub mod snapshot;
pub mod suite;
pub mod template;
pub mod timeshift;
pub mod transit;

use observed::Run;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use format::Scenario;
pub use load::{LoadError, load};

/// The client that runs the scenarios.
#[derive(Debug, Clone, Default)]
pub enum Client {
    /// `bedrock-client`, in this process, on the session's clock.
    #[default]
    InProcess,
    /// A program in place of it (the real Claude Code CLI), on the real
    /// clock.
    Program(process::Program),
}

impl Client {
    /// When a run of `scenario` by this client starts on its clock: the
    /// scenario's start in-process, now on the real clock (where a
    /// program's run moves the scenario's times to now).
    fn clock_start(&self, scenario: &Scenario) -> std::time::SystemTime {
        match self {
            Client::InProcess => scenario.clock.start_time(),
            Client::Program(_) => std::time::SystemTime::now(),
        }
    }

    /// What reports call it.
    pub fn name(&self) -> String {
        match self {
            Client::InProcess => "bedrock-client (in-process)".into(),
            Client::Program(program) => program.name.clone(),
        }
    }
}

/// What became of one scenario file.
#[derive(Debug)]
pub struct Report {
    /// The file.
    pub path: PathBuf,
    /// The scenario's name (the file stem when it could not be read).
    pub name: String,
    /// What the scenario is, from its file; empty when the file could not
    /// be read.
    pub about: About,
    /// The client that ran it ([`Client::name`]).
    pub client: String,
    /// Wall-clock time the run took.
    pub took: Duration,
    /// How it ended.
    pub verdict: Verdict,
    /// Expectations this client's run cannot be held to, each with why:
    /// never counted as held.
    pub not_checked: Vec<String>,
    /// The normalized journal (empty when the run did not happen).
    pub snapshot: String,
    /// What the client printed: stdout, then stderr.
    pub output: (String, String),
    /// What the run did, to show it (`None` when it did not happen).
    pub recording: Option<record::Recording>,
}

/// What a scenario is, from its file.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// Its `description`.
    pub description: String,
    /// What it reproduces: its `source`.
    pub source: String,
    /// The file's text (the whole recipe of the reproduction), the
    /// scenario's secrets hidden as `<secret #n>`.
    pub file: String,
}

/// Pass, fail, could not run, or not for this client.
#[derive(Debug)]
pub enum Verdict {
    /// Everything in `[expect]` that could be checked held.
    Passed,
    /// These expectations did not hold.
    Failed(Vec<String>),
    /// The file could not be read, or the run could not be made.
    Error(String),
    /// The client cannot run this scenario, for this reason.
    Skipped(String),
}

impl Report {
    /// A report of `path` that never ran.
    fn unrun(path: &Path, name: String, client: &Client, took: Duration, verdict: Verdict) -> Self {
        Report {
            path: path.to_owned(),
            name,
            about: Default::default(),
            client: client.name(),
            took,
            verdict,
            not_checked: Vec::new(),
            snapshot: String::new(),
            output: Default::default(),
            recording: None,
        }
    }

    /// A report of `scenario`, read from `path`, that never ran.
    fn unrun_of(
        path: &Path,
        scenario: Scenario,
        client: &Client,
        took: Duration,
        verdict: Verdict,
    ) -> Self {
        Report {
            about: about(&scenario, path),
            ..Self::unrun(path, scenario.name, client, took, verdict)
        }
    }

    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Passed)
    }

    /// The failures, one paragraph each; empty when passed.
    pub fn failure_text(&self) -> String {
        match &self.verdict {
            Verdict::Passed => String::new(),
            Verdict::Failed(differences) => differences
                .iter()
                .map(|d| format!("  - {d}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Verdict::Error(e) => format!("  - {e}"),
            Verdict::Skipped(why) => format!("  - skipped: {why}"),
        }
    }
}

/// Loads, runs and checks one scenario file with the in-process client.
pub async fn run_file(path: &Path) -> Report {
    run_file_with(path, &Client::InProcess).await
}

/// Loads, runs and checks one scenario file with `client`.
pub async fn run_file_with(path: &Path, client: &Client) -> Report {
    let started = Instant::now();
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let scenario = match load(path) {
        Ok(scenario) => scenario,
        Err(e) => {
            let verdict = Verdict::Error(e.to_string());
            return Report::unrun(path, stem, client, started.elapsed(), verdict);
        }
    };
    let clock_start = client.clock_start(&scenario);
    let run = match execute(&scenario, client).await {
        Ok(run) => run,
        Err(verdict) => {
            let verdict = match verdict {
                Verdict::Error(e) => Verdict::Error(format!("{}: {e}", path.display())),
                other => other,
            };
            return Report::unrun_of(path, scenario, client, started.elapsed(), verdict);
        }
    };
    let snapshot = snapshot::render(&run.journal, &run.mock_uri, run.at_once());
    let comparison = check::compare_clients(&scenario, &run, &snapshot);
    // What is reported, printed or stored never shows a secret, even one
    // the client leaked (the leak itself is a failure).
    let hide = |text: &str| check::redact(text, &run.secrets);
    let verdict = if comparison.differences.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(comparison.differences.iter().map(|d| hide(d)).collect())
    };
    let took = started.elapsed();
    Report {
        path: path.to_owned(),
        about: about(&scenario, path),
        name: scenario.name,
        client: client.name(),
        took,
        verdict,
        not_checked: comparison.not_checked,
        snapshot: hide(&snapshot),
        output: (hide(&run.stdout), hide(&run.stderr)),
        recording: Some(record::Recording::of(
            &run,
            &client.name(),
            clock_start,
            took,
            &hide,
        )),
    }
}

/// Runs `scenario` with `client`: the run, or why there is none (a
/// program that cannot run it is skipped; a set-up that failed is an
/// error).
async fn execute(scenario: &Scenario, client: &Client) -> Result<Run, Verdict> {
    let result = match client {
        Client::InProcess if !scenario.clients.is_empty() => clients::execute(scenario).await,
        Client::InProcess => run::execute(scenario).await,
        Client::Program(program) => match process::refusal(scenario, program) {
            Some(why) => return Err(Verdict::Skipped(why)),
            None => process::execute(scenario, program).await,
        },
    };
    result.map_err(Verdict::Error)
}

/// A report's [`Report::about`] of `scenario`, read from `path`.
fn about(scenario: &Scenario, path: &Path) -> About {
    let file = std::fs::read_to_string(path).unwrap_or_default();
    About {
        description: scenario.description.clone(),
        source: scenario.source.clone(),
        file: check::redact(&file, &setup::secrets_of(scenario)),
    }
}

/// Every `.toml` file under `paths` (files are taken as given), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut found).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        } else if path.exists() {
            found.push(path.clone());
        } else {
            return Err(format!("{} does not exist", path.display()));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    Ok(())
}
