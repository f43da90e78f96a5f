//! Running many scenario files at once, and reporting them: a line per
//! scenario as it finishes (under a progress bar on a terminal), a summary
//! table by folder, JUnit XML for CI systems, JSON for scripts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Report, Verdict, run_file};

/// Runs `files`, at most `jobs` at a time, calling `on_done` as each
/// finishes; returns the reports in file order.
pub async fn run_all(
    files: Vec<PathBuf>,
    jobs: usize,
    mut on_done: impl FnMut(&Report, usize, usize),
) -> Vec<Report> {
    let total = files.len();
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut set = JoinSet::new();
    let mut tasks = HashMap::new();
    for (index, path) in files.iter().enumerate() {
        let permits = Arc::clone(&permits);
        let path = path.clone();
        let task = set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            run_file(&path).await
        });
        tasks.insert(task.id(), index);
    }
    let mut reports: Vec<Option<Report>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    while let Some(joined) = set.join_next_with_id().await {
        // A panic in the client or the mock is that scenario's failure
        // (and a bug to report), not the end of the suite.
        let (id, report) = match joined {
            Ok((id, report)) => (id, report),
            Err(e) => {
                let index = tasks.get(&e.id()).copied().unwrap_or_default();
                let report = Report {
                    path: files[index].clone(),
                    name: files[index]
                        .file_stem()
                        .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                    took: std::time::Duration::ZERO,
                    verdict: Verdict::Error(format!(
                        "the run panicked (a bug in bedrock-harness, please report it): {e}"
                    )),
                    snapshot: String::new(),
                    output: Default::default(),
                };
                (e.id(), report)
            }
        };
        done += 1;
        on_done(&report, done, total);
        if let Some(&index) = tasks.get(&id) {
            reports[index] = Some(report);
        }
    }
    reports.into_iter().flatten().collect()
}

/// The scenario's path relative to `root`, for display.
pub fn display_path(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").unwrap_or(&text).to_owned()
}

/// Prints one line per finished scenario; on a terminal, also redraws a
/// progress bar under them.
pub struct Progress {
    terminal: bool,
    verbose: bool,
}

impl Progress {
    /// Plain lines, or lines and a bar when stderr is a terminal; with
    /// `verbose`, each scenario's output and journal after its line.
    pub fn new(verbose: bool) -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            verbose,
        }
    }

    /// Reports `report`, the `done`-th of `total`.
    pub fn finished(&self, report: &Report, done: usize, total: usize) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{}", line(report));
        if self.verbose {
            let (stdout, stderr) = &report.output;
            let _ = writeln!(
                err,
                "--- stdout\n{stdout}--- stderr\n{stderr}--- journal\n{}---",
                report.snapshot
            );
        }
        if self.terminal && done < total {
            let width = 30;
            let filled = done * width / total.max(1);
            let _ = write!(
                err,
                "[{}{}] {done}/{total}",
                "#".repeat(filled),
                "-".repeat(width - filled)
            );
        }
        let _ = err.flush();
    }
}

/// `PASS  auth/api-key  (0.21 s)`.
pub fn line(report: &Report) -> String {
    let word = match report.verdict {
        Verdict::Passed => "PASS ",
        Verdict::Failed(_) => "FAIL ",
        Verdict::Error(_) => "ERROR",
    };
    format!(
        "{word} {}  ({:.2} s)",
        display_path(&report.path),
        report.took.as_secs_f64()
    )
}

/// A table of passes and failures per folder, the failures in full, and
/// the totals.
pub fn summary(reports: &[Report]) -> String {
    let mut by_folder: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for report in reports {
        let folder = report.path.parent().map_or_else(String::new, display_path);
        let counts = by_folder.entry(folder).or_default();
        match report.verdict {
            Verdict::Passed => counts[0] += 1,
            Verdict::Failed(_) => counts[1] += 1,
            Verdict::Error(_) => counts[2] += 1,
        }
    }
    let width = by_folder.keys().map(String::len).max().unwrap_or(6).max(6);
    let mut out = String::new();
    let _ = writeln!(out, "\n{:<width$}  passed  failed  errors", "folder");
    let mut totals = [0; 3];
    for (folder, counts) in &by_folder {
        let _ = writeln!(
            out,
            "{folder:<width$}  {:>6}  {:>6}  {:>6}",
            counts[0], counts[1], counts[2]
        );
        for (total, n) in totals.iter_mut().zip(counts) {
            *total += n;
        }
    }
    let _ = writeln!(
        out,
        "{:<width$}  {:>6}  {:>6}  {:>6}",
        "total", totals[0], totals[1], totals[2]
    );
    for report in reports.iter().filter(|r| !r.passed()) {
        let _ = writeln!(
            out,
            "\n{}:\n{}",
            display_path(&report.path),
            report.failure_text()
        );
    }
    let _ = write!(
        out,
        "\n{} scenarios: {} passed, {} failed, {} could not run",
        reports.len(),
        totals[0],
        totals[1],
        totals[2]
    );
    out
}

/// JUnit XML: one suite, a test case per scenario (class = its folder).
pub fn junit(reports: &[Report]) -> String {
    let failures = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Failed(_)))
        .count();
    let errors = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Error(_)))
        .count();
    let seconds: f64 = reports.iter().map(|r| r.took.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"bedrock-harness\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">",
        reports.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">",
        reports.len()
    );
    for report in reports {
        let class = report
            .path
            .parent()
            .map_or_else(String::new, |p| display_path(p).replace('/', "."));
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            xml(&class),
            xml(&report.name),
            xml(&display_path(&report.path)),
            report.took.as_secs_f64()
        );
        match &report.verdict {
            Verdict::Passed => out.push_str("/>\n"),
            Verdict::Failed(differences) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(differences
                        .first()
                        .map_or("", |d| d.lines().next().unwrap_or(""))),
                    xml(&report.failure_text())
                );
            }
            Verdict::Error(e) => {
                let _ = writeln!(
                    out,
                    ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                    xml(e.lines().next().unwrap_or("")),
                    xml(e)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The reports as a JSON array.
pub fn json(reports: &[Report]) -> serde_json::Value {
    serde_json::Value::Array(
        reports
            .iter()
            .map(|r| {
                let (status, failures) = match &r.verdict {
                    Verdict::Passed => ("passed", Vec::new()),
                    Verdict::Failed(d) => ("failed", d.clone()),
                    Verdict::Error(e) => ("error", vec![e.clone()]),
                };
                serde_json::json!({
                    "path": display_path(&r.path),
                    "name": r.name,
                    "status": status,
                    "seconds": r.took.as_secs_f64(),
                    "failures": failures,
                })
            })
            .collect(),
    )
}

/// Escapes text for XML attributes and content; drops characters XML 1.0
/// cannot hold (controls, U+FFFE, U+FFFF).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(path: &str, verdict: Verdict) -> Report {
        Report {
            path: PathBuf::from(path),
            name: Path::new(path)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into(),
            took: Duration::from_millis(250),
            verdict,
            snapshot: String::new(),
            output: Default::default(),
        }
    }

    #[test]
    fn junit_names_each_case_by_folder_and_escapes_text() {
        let xml = junit(&[
            report("scenarios/auth/api-key.toml", Verdict::Passed),
            report(
                "scenarios/models/pin.toml",
                Verdict::Failed(vec!["stdout lacks \"<b>\" & more".into()]),
            ),
        ]);
        assert!(
            xml.contains(r#"<testsuites name="bedrock-harness" tests="2" failures="1" errors="0""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase classname="scenarios.auth" name="api-key""#),
            "{xml}"
        );
        assert!(
            xml.contains("stdout lacks &quot;&lt;b&gt;&quot; &amp; more"),
            "{xml}"
        );
        assert_eq!(super::xml("a\u{1}b\u{FFFF}c\u{FFFE}\u{e9}"), "abc\u{e9}");
    }

    #[test]
    fn the_summary_counts_per_folder() {
        let text = summary(&[
            report("scenarios/auth/a.toml", Verdict::Passed),
            report("scenarios/auth/b.toml", Verdict::Error("bad file".into())),
            report("scenarios/models/c.toml", Verdict::Passed),
        ]);
        assert!(
            text.contains("scenarios/auth         1       0       1"),
            "{text}"
        );
        assert!(
            text.contains("3 scenarios: 2 passed, 0 failed, 1 could not run"),
            "{text}"
        );
        assert!(
            text.contains("scenarios/auth/b.toml:\n  - bad file"),
            "{text}"
        );
    }
}
