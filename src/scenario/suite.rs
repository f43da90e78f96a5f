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

use super::{Client, Report, Verdict, run_file_with};

/// Runs `files` with `client`, at most `jobs` at a time, calling
/// `on_done` as each finishes; returns the reports in file order.
pub async fn run_all(
    files: Vec<PathBuf>,
    client: &Client,
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
        let client = client.clone();
        let task = set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            run_file_with(&path, &client).await
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
                    about: Default::default(),
                    client: client.name(),
                    took: std::time::Duration::ZERO,
                    verdict: Verdict::Error(format!(
                        "the run panicked (a bug in bedrock-harness, please report it): {e}"
                    )),
                    not_checked: Vec::new(),
                    snapshot: String::new(),
                    output: Default::default(),
                    recording: None,
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
                "--- stdout\n{stdout}--- stderr\n{stderr}--- journal\n{}{}---",
                report.snapshot,
                error_messages(report)
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

/// The messages of the run's error answers, one line each, numbered and
/// ordered as the journal above them lists the requests (`#3 429
/// ThrottlingException: Too many requests, ...`), under a heading; empty
/// when there were none. The snapshot leaves them out (it holds the
/// codes); a support engineer reads them here.
pub fn error_messages(report: &Report) -> String {
    let mut failed: Vec<_> = report
        .recording
        .iter()
        .flat_map(|r| &r.requests)
        .filter(|r| r.request.error_message.is_some())
        .collect();
    failed.sort_by_key(|r| r.listed_as);
    let lines: String = failed
        .iter()
        .map(|r| {
            let request = &r.request;
            format!(
                "#{} {} {}: {}\n",
                r.listed_as,
                request.status.unwrap_or(0),
                request.error_type.as_deref().unwrap_or_default(),
                request.error_message.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if lines.is_empty() {
        return lines;
    }
    format!("--- error messages\n{lines}")
}

/// `PASS  auth/api-key  (0.21 s)`; `(0.21 s, 2 not checked)` when some
/// expectations could not be checked; `SKIP  models/x  (why)`.
pub fn line(report: &Report) -> String {
    let word = match report.verdict {
        Verdict::Passed => "PASS ",
        Verdict::Failed(_) => "FAIL ",
        Verdict::Error(_) => "ERROR",
        Verdict::Skipped(_) => "SKIP ",
    };
    let path = display_path(&report.path);
    if let Verdict::Skipped(why) = &report.verdict {
        return format!("{word} {path}  ({why})");
    }
    let unchecked = match report.not_checked.len() {
        0 => String::new(),
        n => format!(", {n} not checked"),
    };
    format!(
        "{word} {path}  ({:.2} s{unchecked})",
        report.took.as_secs_f64()
    )
}

/// A table of passes and failures per folder (and skips, when any), the
/// failures in full, what was not checked, and the totals.
pub fn summary(reports: &[Report]) -> String {
    let (mut out, totals) = table(reports);
    for report in reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Failed(_) | Verdict::Error(_)))
    {
        let _ = writeln!(
            out,
            "\n{}:\n{}",
            display_path(&report.path),
            report.failure_text()
        );
    }
    for report in reports.iter().filter(|r| !r.not_checked.is_empty()) {
        let _ = writeln!(
            out,
            "\n{} (not checked on this client):",
            display_path(&report.path)
        );
        for item in &report.not_checked {
            let _ = writeln!(out, "  - {item}");
        }
    }
    let _ = write!(
        out,
        "\n{} scenarios: {} passed, {} failed, {} could not run",
        reports.len(),
        totals[0],
        totals[1],
        totals[2]
    );
    if totals[3] > 0 {
        let _ = write!(out, ", {} skipped", totals[3]);
    }
    out
}

/// The table by folder, its `skipped` column only when some were, and
/// the totals by [`column`].
fn table(reports: &[Report]) -> (String, [usize; 4]) {
    const TITLES: [&str; 4] = ["passed", "failed", "errors", "skipped"];
    let mut by_folder: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut totals = [0; 4];
    for report in reports {
        let folder = report.path.parent().map_or_else(String::new, display_path);
        by_folder.entry(folder).or_default()[column(&report.verdict)] += 1;
        totals[column(&report.verdict)] += 1;
    }
    let columns = if totals[3] > 0 { 4 } else { 3 };
    let width = by_folder.keys().map(String::len).max().unwrap_or(6).max(6);
    let row = |name: &str, counts: &[usize; 4]| {
        let cells: Vec<String> = counts[..columns]
            .iter()
            .zip(TITLES)
            .map(|(n, title)| format!("{n:>w$}", w = title.len()))
            .collect();
        format!("{name:<width$}  {}\n", cells.join("  "))
    };
    let mut out = format!("\n{:<width$}  {}\n", "folder", TITLES[..columns].join("  "));
    for (folder, counts) in &by_folder {
        out.push_str(&row(folder, counts));
    }
    out.push_str(&row("total", &totals));
    (out, totals)
}

/// The summary table's column of `verdict`.
fn column(verdict: &Verdict) -> usize {
    match verdict {
        Verdict::Passed => 0,
        Verdict::Failed(_) => 1,
        Verdict::Error(_) => 2,
        Verdict::Skipped(_) => 3,
    }
}

/// JUnit XML: one suite, a test case per scenario (class = its folder),
/// the client as the suite's property, what was not checked in each
/// case's output.
pub fn junit(reports: &[Report]) -> String {
    let counted = |column_of: usize| {
        reports
            .iter()
            .filter(|r| column(&r.verdict) == column_of)
            .count()
    };
    let (failures, errors, skipped) = (counted(1), counted(2), counted(3));
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\"",
        reports.len(),
        reports.iter().map(|r| r.took.as_secs_f64()).sum::<f64>()
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"bedrock-harness\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"scenarios\" {counts}>");
    if let Some(first) = reports.first() {
        let _ = writeln!(
            out,
            "    <properties><property name=\"client\" value=\"{}\"/></properties>",
            xml(&first.client)
        );
    }
    for report in reports {
        junit_case(&mut out, report);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// One `<testcase>`.
fn junit_case(out: &mut String, report: &Report) {
    let class = report
        .path
        .parent()
        .map_or_else(String::new, |p| display_path(p).replace('/', "."));
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">",
        xml(&class),
        xml(&report.name),
        xml(&display_path(&report.path)),
        report.took.as_secs_f64()
    );
    let first_line = |text: &str| xml(text.lines().next().unwrap_or(""));
    match &report.verdict {
        Verdict::Passed => {}
        Verdict::Failed(differences) => {
            let _ = write!(
                out,
                "\n      <failure message=\"{}\">{}</failure>",
                first_line(differences.first().map_or("", String::as_str)),
                xml(&report.failure_text())
            );
        }
        Verdict::Error(e) => {
            let _ = write!(
                out,
                "\n      <error message=\"{}\">{}</error>",
                first_line(e),
                xml(e)
            );
        }
        Verdict::Skipped(why) => {
            let _ = write!(out, "\n      <skipped message=\"{}\"/>", xml(why));
        }
    }
    if !report.not_checked.is_empty() {
        let _ = write!(
            out,
            "\n      <system-out>{}</system-out>",
            xml(&report
                .not_checked
                .iter()
                .map(|n| format!("{n}\n"))
                .collect::<String>())
        );
    }
    let _ = writeln!(out, "\n    </testcase>");
}

/// The reports as a JSON array: each one's path, name, client, status
/// (`passed`, `failed`, `error`, `skipped`), seconds, failures (or why it
/// was skipped) and what was not checked.
pub fn json(reports: &[Report]) -> serde_json::Value {
    serde_json::Value::Array(
        reports
            .iter()
            .map(|r| {
                let (status, failures) = match &r.verdict {
                    Verdict::Passed => ("passed", Vec::new()),
                    Verdict::Failed(d) => ("failed", d.clone()),
                    Verdict::Error(e) => ("error", vec![e.clone()]),
                    Verdict::Skipped(why) => ("skipped", vec![why.clone()]),
                };
                serde_json::json!({
                    "path": display_path(&r.path),
                    "name": r.name,
                    "client": r.client,
                    "status": status,
                    "seconds": r.took.as_secs_f64(),
                    "failures": failures,
                    "not_checked": r.not_checked,
                })
            })
            .collect(),
    )
}

/// Escapes text for XML and HTML attributes and content; drops characters
/// XML 1.0 cannot hold (controls, U+FFFE, U+FFFF). The JUnit file and the
/// HTML report (`report::page`) both write through it.
pub(crate) fn xml(text: &str) -> String {
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
            about: Default::default(),
            client: "bedrock-client (in-process)".into(),
            took: Duration::from_millis(250),
            verdict,
            not_checked: Vec::new(),
            snapshot: String::new(),
            output: Default::default(),
            recording: None,
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

    #[test]
    fn skips_and_what_was_not_checked_are_reported_never_as_passes() {
        let mut checked_less = report("scenarios/customers/a.toml", Verdict::Passed);
        checked_less.not_checked = vec!["virtual_seconds = 3.5: not checked (real clock)".into()];
        let skipped = report(
            "scenarios/models/b.toml",
            Verdict::Skipped("uses `models`, a bedrock-client command".into()),
        );
        assert!(!skipped.passed());
        assert_eq!(
            line(&skipped),
            "SKIP  scenarios/models/b.toml  (uses `models`, a bedrock-client command)"
        );
        assert_eq!(
            line(&checked_less),
            "PASS  scenarios/customers/a.toml  (0.25 s, 1 not checked)"
        );
        let reports = [checked_less, skipped];
        let text = summary(&reports);
        assert!(
            text.contains("folder               passed  failed  errors  skipped\n"),
            "{text}"
        );
        assert!(
            text.contains("scenarios/models          0       0       0        1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "scenarios/customers/a.toml (not checked on this client):\n  - virtual_seconds = 3.5: not checked (real clock)"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("2 scenarios: 1 passed, 0 failed, 0 could not run, 1 skipped"),
            "{text}"
        );
        let xml = junit(&reports);
        assert!(
            xml.contains("failures=\"0\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"uses `models`, a bedrock-client command\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<system-out>virtual_seconds = 3.5: not checked (real clock)\n</system-out>"
            ),
            "{xml}"
        );
        let json = json(&reports);
        assert_eq!(json[0]["status"], "passed");
        assert_eq!(
            json[0]["not_checked"][0],
            "virtual_seconds = 3.5: not checked (real clock)"
        );
        assert_eq!(json[1]["status"], "skipped");
        assert_eq!(json[1]["client"], "bedrock-client (in-process)");
    }
}
