//! `bedrock-harness run`, `new`, `schema` and `index`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use bedrock_harness::scenario::process::{DEFAULT_TIME_LIMIT, Program};
use bedrock_harness::scenario::{self, Client, Report, Verdict, suite, template};

use crate::claude_code::{self, Cache};
use crate::isolation::{self, Isolation};

/// `run`'s options.
pub struct Options {
    pub filter: Option<String>,
    pub junit: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub json: bool,
    pub jobs: Option<usize>,
    pub verbose: bool,
    pub client: String,
    pub client_program: Option<PathBuf>,
    pub time_limit: Option<u64>,
}

/// Runs the scenarios under `paths` (default `scenarios/`).
pub fn run(paths: Vec<PathBuf>, options: &Options) -> ExitCode {
    let files = match scenario_files(paths, options.filter.as_deref()) {
        Ok(files) => files,
        Err(e) => return refuse(&e),
    };
    let client = match chosen_client(options) {
        Ok(client) => client,
        Err(e) => return refuse(&e),
    };
    if let Client::Program(program) = &client {
        let network = match isolation::decide(isolation::probe()) {
            Isolation::Inside => "inside a private network namespace (unshare -n)".to_owned(),
            Isolation::Enter => {
                let e = isolation::enter();
                return refuse(&format!("cannot run again inside `unshare -n`: {e}"));
            }
            Isolation::PinnedOnly(why) => {
                eprintln!(
                    "bedrock-harness run: {why}; the client is pinned to the mock by its variables only"
                );
                "pinned to the mock by its variables only (no private network namespace)".to_owned()
            }
        };
        // The output's first line; on stderr when stdout is JSON.
        let line = header_line(program, &network);
        if options.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    // A client program is a process of its own (the real CLI, a few
    // hundred MB): one per CPU.
    let jobs = options.jobs.unwrap_or(match client {
        Client::InProcess => 2 * cpus,
        Client::Program(_) => cpus,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus.max(2))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return refuse(&format!("cannot start the async runtime: {e}")),
    };
    let progress = suite::Progress::new(options.verbose);
    let reports = runtime.block_on(suite::run_all(
        files,
        &client,
        jobs,
        |report, done, total| {
            progress.finished(report, done, total);
        },
    ));
    report(&reports, options)
}

/// `client: claude-code 2.1.332 (PATH); time limit 180 s per scenario; …`:
/// what ran the scenarios, and how.
fn header_line(program: &Program, network: &str) -> String {
    format!(
        "client: {} ({}); time limit {} s per scenario; real clock, each scenario's times moved to now; {network}",
        program.name,
        program.path.display(),
        program.time_limit.as_secs()
    )
}

/// The client `options` name: bedrock-client in-process, the real CLI
/// (installed first if need be), or a program.
fn chosen_client(options: &Options) -> Result<Client, String> {
    let time_limit = options
        .time_limit
        .map_or(DEFAULT_TIME_LIMIT, Duration::from_secs);
    if let Some(path) = &options.client_program {
        // Absolute: the program runs in each scenario's project folder.
        let absolute = std::fs::canonicalize(path)
            .ok()
            .filter(|p| p.is_file())
            .ok_or_else(|| format!("--client-program {}: no such file", path.display()))?;
        return Ok(Client::Program(Program {
            path: absolute,
            name: format!("program {}", path.display()),
            version: None,
            time_limit,
        }));
    }
    let Some(version) = claude_code::chosen_version(&options.client)? else {
        if options.time_limit.is_some() {
            return Err(
                "--time-limit is for a client program (--client claude-code…, --client-program); bedrock-client in-process is bounded by its virtual clock".into(),
            );
        }
        return Ok(Client::InProcess);
    };
    let cache = Cache::new(claude_code::cache_root(&|name| std::env::var_os(name))?);
    let path = if cache.program(&version).is_file() {
        cache.program(&version)
    } else {
        let npm = claude_code::on_path("npm").ok_or_else(|| {
            format!(
                "npm is not on PATH: install Node.js (which brings npm) to let the harness install {}@{version}, or pass --client-program with a claude you installed",
                claude_code::PACKAGE
            )
        })?;
        cache.install(&version, &npm, &mut |said| {
            eprintln!("bedrock-harness run: {said}");
        })?
    };
    Ok(Client::Program(Program {
        path,
        name: format!("claude-code {version}"),
        version: Some(version.to_string()),
        time_limit,
    }))
}

/// `run` could not run: says why, exits 2.
fn refuse(why: &str) -> ExitCode {
    eprintln!("bedrock-harness run: {why}");
    ExitCode::from(2)
}

/// The scenario files under `paths` (default `scenarios/`) whose path
/// contains `filter`; an error when there are none.
fn scenario_files(paths: Vec<PathBuf>, filter: Option<&str>) -> Result<Vec<PathBuf>, String> {
    let paths = if paths.is_empty() {
        vec![scenarios_dir()]
    } else {
        paths
    };
    let mut files = scenario::discover(&paths)?;
    if let Some(filter) = filter {
        files.retain(|f| f.display().to_string().contains(filter));
    }
    if files.is_empty() {
        return Err(format!(
            "no scenario files (*.toml) under {}{}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            filter.map_or(String::new(), |f| format!(" match `{f}`"))
        ));
    }
    Ok(files)
}

/// Prints the reports (a table, or JSON), writes the JUnit file if
/// asked, and exits 0 when every scenario passed (or was skipped), 1 when
/// any did not, 2 when every one was skipped.
fn report(reports: &[Report], options: &Options) -> ExitCode {
    if options.json {
        println!("{:#}", suite::json(reports));
    } else {
        println!("{}", suite::summary(reports));
    }
    if let Some(path) = &options.junit
        && let Err(e) = std::fs::write(path, suite::junit(reports))
    {
        return refuse(&format!("cannot write {}: {e}", path.display()));
    }
    if let Some(path) = &options.report
        && let Err(e) = std::fs::write(
            path,
            bedrock_harness::report::html(reports, SystemTime::now()),
        )
    {
        return refuse(&format!("cannot write {}: {e}", path.display()));
    }
    let skipped = |r: &Report| matches!(r.verdict, Verdict::Skipped(_));
    if reports.iter().all(skipped) {
        return refuse(&format!(
            "this client can run none of the {} scenarios (each is skipped above, with why)",
            reports.len()
        ));
    }
    if reports.iter().all(|r| r.passed() || skipped(r)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints the JSON Schema of scenario files.
pub fn schema() -> ExitCode {
    println!("{}", scenario::format::json_schema());
    ExitCode::SUCCESS
}

/// Prints the Markdown table of the scenarios under `scenarios/`.
pub fn index() -> ExitCode {
    match scenario::discover(&[scenarios_dir()]) {
        Ok(files) => {
            println!("{}", scenario::index::markdown(&scenarios_dir(), &files));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bedrock-harness index: {e}");
            ExitCode::from(2)
        }
    }
}

/// The project's `scenarios/` folder: in the current directory or the
/// nearest one above it that has `scenarios/schema.json` (so `run` works
/// from inside the tree), else `scenarios` as given.
pub fn scenarios_dir() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_default();
    let found = here
        .ancestors()
        .map(|dir| dir.join("scenarios"))
        .find(|dir| dir.join("schema.json").is_file())
        .unwrap_or_else(|| PathBuf::from("scenarios"));
    // Shown relative when it is here, as the user would type it.
    match found.strip_prefix(&here) {
        Ok(relative) => relative.to_owned(),
        Err(_) => found,
    }
}

/// Writes a commented template for scenario `name`, its `#:schema` line
/// the path from the written file to the project's schema.
pub fn new(name: &str, output: Option<PathBuf>) -> ExitCode {
    let refuse = |why: String| {
        eprintln!("bedrock-harness new: {why}");
        ExitCode::from(2)
    };
    if !scenario::load::is_scenario_name(name) {
        return refuse(format!("`{name}` {}", scenario::load::NOT_A_NAME));
    }
    let path = output.unwrap_or_else(|| scenarios_dir().join(format!("{name}.toml")));
    if path.exists() {
        return refuse(format!(
            "{} exists; choose another name or --output",
            path.display()
        ));
    }
    let folder = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => parent.to_owned(),
        None => PathBuf::from("."),
    };
    if let Err(e) = std::fs::create_dir_all(&folder) {
        return refuse(format!("cannot make {}: {e}", folder.display()));
    }
    let schema = schema_line(&folder);
    if schema.is_none() {
        eprintln!(
            "bedrock-harness new: no scenarios/schema.json above {} or here, so the file has no `#:schema` line; `bedrock-harness schema > schema.json` writes one to point it at",
            folder.display()
        );
    }
    match std::fs::write(&path, template::text(name, schema.as_deref())) {
        Ok(()) => {
            println!(
                "wrote {}; run it with: bedrock-harness run {}",
                path.display(),
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => refuse(format!("cannot write {}: {e}", path.display())),
    }
}

/// The path of the project's `scenarios/schema.json` relative to
/// `folder`: the nearest one above `folder`, else the one `run` finds
/// from here. Editors resolve it against the file's folder, so it holds
/// wherever the file is written (and while neither moves).
pub fn schema_line(folder: &Path) -> Option<String> {
    let folder = std::fs::canonicalize(folder).ok()?;
    let schema = folder
        .ancestors()
        .map(|dir| dir.join("scenarios").join("schema.json"))
        .chain([scenarios_dir().join("schema.json")])
        .find(|file| file.is_file())?;
    template::relative_path(&folder, &std::fs::canonicalize(schema).ok()?)
}
