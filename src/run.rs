//! `bedrock-harness run`, `new` and `schema`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bedrock_harness::scenario::{Scenario, suite};

/// `run`'s options.
pub struct Options {
    pub filter: Option<String>,
    pub junit: Option<PathBuf>,
    pub json: bool,
    pub jobs: Option<usize>,
    pub verbose: bool,
}

/// Runs the scenarios under `paths` (default `scenarios/`).
pub fn run(paths: Vec<PathBuf>, options: &Options) -> ExitCode {
    let filter = options.filter.as_deref();
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    };
    let mut files = match bedrock_harness::scenario::discover(&paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("bedrock-harness run: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(filter) = filter {
        files.retain(|f| f.display().to_string().contains(filter));
    }
    if files.is_empty() {
        eprintln!(
            "bedrock-harness run: no scenario files (*.toml) under {}{}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            filter.map_or(String::new(), |f| format!(" match `{f}`"))
        );
        return ExitCode::from(2);
    }
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    let jobs = options.jobs.unwrap_or(2 * cpus);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus.max(2))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bedrock-harness run: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = suite::Progress::new(options.verbose);
    let reports = runtime.block_on(suite::run_all(files, jobs, |report, done, total| {
        progress.finished(report, done, total);
    }));
    if let Some(path) = &options.junit
        && let Err(e) = std::fs::write(path, suite::junit(&reports))
    {
        eprintln!("bedrock-harness run: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if options.json {
        println!("{:#}", suite::json(&reports));
    } else {
        println!("{}", suite::summary(&reports));
    }
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes a commented template for scenario `name`.
pub fn new(name: &str, output: Option<PathBuf>) -> ExitCode {
    let good = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !good {
        eprintln!(
            "bedrock-harness new: `{name}` is not a kebab-case name (lowercase letters, digits, `-`)"
        );
        return ExitCode::from(2);
    }
    let path = output.unwrap_or_else(|| PathBuf::from(format!("scenarios/{name}.toml")));
    // The `#:schema` line is relative to the file: scenarios/ or a theme
    // folder under it.
    let in_scenarios = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "scenarios");
    let schema = if in_scenarios {
        "schema.json"
    } else {
        "../schema.json"
    };
    if path.exists() {
        eprintln!(
            "bedrock-harness new: {} exists; choose another name or --output",
            path.display()
        );
        return ExitCode::from(2);
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        eprintln!("bedrock-harness new: cannot make {}: {e}", parent.display());
        return ExitCode::from(2);
    }
    match std::fs::write(&path, template(name).replace("../schema.json", schema)) {
        Ok(()) => {
            println!(
                "wrote {}; run it with: bedrock-harness run {}",
                path.display(),
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bedrock-harness new: cannot write {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

/// The template `new` writes: a passing scenario with every section shown.
pub fn template(name: &str) -> String {
    TEMPLATE.replace("NAME", name)
}

const TEMPLATE: &str = r#"#:schema ../schema.json
# A scenario: one situation a Claude client meets on Amazon Bedrock, and
# what must happen. Run it with `bedrock-harness run scenarios/NAME.toml`.
# Every key is in scenarios/schema.json; unknown keys are errors.
schema = 1
name = "NAME"
description = "What happens, in a sentence or two."
# The customer report (its title in customer-scenarios.md), the section of
# the Bedrock page, or the golden capture this reproduces.
source = "seed: Quick start"

[client]
# The mock's example access key; or "api-key", or "none" and set your own.
credentials = "keys"
# `bedrock-client` arguments; without a command the runner adds -p PROMPT.
args = []
prompt = "hi"
# `{mock}` is the mock's URL, `{home}` the client's fresh HOME. The runner
# already points every endpoint variable at the mock.
[client.env]
CLAUDE_CODE_USE_BEDROCK = "1"
AWS_REGION = "us-east-1"

# Settings files, as TOML tables written out as JSON:
# [client.settings.user]
# awsAuthRefresh = "echo 'Attempting SSO login...'"
# [client.settings.user.env]
# ANTHROPIC_DEFAULT_OPUS_MODEL = "us.anthropic.claude-opus-4-6-v1"

# Refresh commands as built-in actions: issue-next, no-op, fail, print-garbage.
# [client.refresh]
# export = "issue-next"

# The fake account: the fields of bedrock_mock_server::ServerConfig.
# Everything left out is the default account (us-east-1, the Claude
# catalogue, AKIDEXAMPLE).
[server]
# regions = ["us-east-1", "us-west-2"]
# [server.model_state]
# "anthropic.claude-opus-5-5" = "not_found"
# [[server.rules]]
# when = { operation = "InvokeModelWithResponseStream" }
# answer = { error = { code = "ThrottlingException" } }
# times = 2

# [clock]
# start = "2026-11-25T12:00:00Z"

[expect]
exit = 0
error = "none"
stdout = ["hi"]
# The requests, in order (runs of one operation in any order among
# themselves); `order = "subsequence"` or `"set"` to loosen.
[[expect.requests]]
operation = "ListInferenceProfiles"
[[expect.requests]]
operation = "InvokeModel"
repeat = 3
[[expect.requests]]
operation = "InvokeModelWithResponseStream"
model = "us.anthropic.claude-opus-5-5"
status = 200
[expect.counts]
requests = 5
retries = 0
"#;

/// The JSON Schema of scenario files.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
