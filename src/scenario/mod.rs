//! Scenario files: one situation a Claude client meets on Bedrock (the
//! client's environment and settings, the fake account's state and
//! faults) and what must happen. The same files drive `bedrock-harness
//! run`, `cargo test` (one test per file) and `bedrock-harness serve
//! --scenario`.
//!
//! Layers, each using only those before it: vocabulary (`format`, `template`) → loading (`load`) → running (`run`, `external`) → checking (`check`) → reporting (`snapshot`, `index`, `suite`).
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() {
//! let report = bedrock_harness::scenario::run_file("scenarios/auth/api-key.toml".as_ref()).await;
//! assert!(report.passed(), "{}", report.failure_text());
//! # }
//! ```

pub mod check;
pub mod external;
pub mod format;
pub mod index;
pub mod load;
pub mod run;
pub mod snapshot;
pub mod suite;
pub mod template;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use format::Scenario;
pub use load::{LoadError, load};

/// What became of one scenario file.
#[derive(Debug)]
pub struct Report {
    /// The file.
    pub path: PathBuf,
    /// The scenario's name (the file stem when it could not be read).
    pub name: String,
    /// Wall-clock time the run took.
    pub took: Duration,
    /// How it ended.
    pub verdict: Verdict,
    /// The normalized journal (empty when the run did not happen).
    pub snapshot: String,
    /// What the client printed: stdout, then stderr.
    pub output: (String, String),
}

/// Pass, fail, or could not run.
#[derive(Debug)]
pub enum Verdict {
    /// Everything in `[expect]` held.
    Passed,
    /// These expectations did not hold.
    Failed(Vec<String>),
    /// The file could not be read, or the run could not be made.
    Error(String),
}

impl Report {
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
        }
    }
}

/// Loads, runs and checks one scenario file.
pub async fn run_file(path: &Path) -> Report {
    let started = Instant::now();
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let scenario = match load(path) {
        Ok(scenario) => scenario,
        Err(e) => {
            return Report {
                path: path.to_owned(),
                name: stem,
                took: started.elapsed(),
                verdict: Verdict::Error(e.to_string()),
                snapshot: String::new(),
                output: Default::default(),
            };
        }
    };
    let (verdict, snapshot, output) = match run::execute(&scenario).await {
        Ok(run) => {
            let snapshot = snapshot::render(&run.journal, &run.mock_uri);
            let differences = check::differences(&scenario.expect, &run, &snapshot);
            // What is reported, printed or stored never shows a secret,
            // even one the client leaked (the leak itself is a failure).
            let hide = |text: &str| check::redact(text, &run.secrets);
            let verdict = if differences.is_empty() {
                Verdict::Passed
            } else {
                Verdict::Failed(differences.iter().map(|d| hide(d)).collect())
            };
            (
                verdict,
                hide(&snapshot),
                (hide(&run.stdout), hide(&run.stderr)),
            )
        }
        Err(e) => (
            Verdict::Error(format!("{}: {e}", path.display())),
            String::new(),
            Default::default(),
        ),
    };
    Report {
        path: path.to_owned(),
        name: scenario.name,
        took: started.elapsed(),
        verdict,
        snapshot,
        output,
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
