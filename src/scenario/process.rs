//! Running one scenario with a client program in place of the in-process
//! `bedrock-client`: the real Claude Code CLI at a customer's version, or
//! any program that takes its arguments and reads its variables. The
//! program gets what the in-process client gets (the same sandbox,
//! files, environment, arguments and refresh commands, from `setup`),
//! plus [`CLAUDE_CODE_QUIET`]; the mock runs on the real clock, the
//! scenario's times moved to now (`timeshift`); the run is bounded by a
//! time limit, past which the program and everything it started are
//! stopped.
//!
//! Refresh commands the program runs are stopped with it even when it
//! starts them in process groups of their own (`bedrock-client` does):
//! every process of a run carries [`RUN_MARK`] in its environment, and
//! whatever still carries it when the run ends is stopped.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bedrock_mock_server::Clock;

use super::format::Scenario;
use super::observed::{ClientSide, Ended, ProcessEnd, RefreshRuns, Run, Seen, start_mock};
use super::setup::{
    AUTH_REFRESH, BEDROCK_CLIENT_COMMANDS, CREDENTIAL_EXPORT, REFRESH_SETTINGS, Sandbox,
    client_args, client_env, conversation_lines, fill_in, secrets_of, user_settings_with,
    write_files, written_files,
};
use super::timeshift::scenario_at;
use super::transit;

/// What the real Claude Code CLI gets beyond what every client gets: no
/// update checks, telemetry or error reports (nothing leaves the
/// machine), and a plain terminal and locale, as the conformance suite
/// runs it (`conformance/claude_code.py`, `cli_env`).
pub const CLAUDE_CODE_QUIET: [(&str, &str); 5] = [
    ("DISABLE_AUTOUPDATER", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("TERM", "dumb"),
    ("LANG", "C.UTF-8"),
];

/// The variable that marks every process of one run (its value is the
/// run's own), so that what the program started is found and stopped.
pub const RUN_MARK: &str = "BEDROCK_HARNESS_RUN";

/// `bedrock-client`'s flags that Claude Code does not have: a scenario
/// using one cannot run with another client.
pub const BEDROCK_CLIENT_FLAGS: [&str; 3] = ["--lineup", "--cli-version", "--explain"];

/// The prefix of the variables only `bedrock-client` reads
/// (`BEDROCK_CLIENT_MODELS`, `BEDROCK_CLIENT_LINEUP`).
pub const BEDROCK_CLIENT_VARIABLES: &str = "BEDROCK_CLIENT_";

/// The variable that names the Claude Code version `bedrock-client`
/// imitates: a program that is that version runs the scenario as it is
/// (a recorded session names the version it was recorded from).
pub const CLI_VERSION_VARIABLE: &str = "BEDROCK_CLIENT_CLI_VERSION";

/// How long a client program may take per scenario, unless `run
/// --time-limit` says otherwise. Three minutes holds a few retries after
/// backoff; a scenario that waits through a whole retry schedule on the
/// real clock (ten backoffs, about 160 s before jitter, then renewals)
/// needs more.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(180);

/// How long output may keep arriving after the program is stopped.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Output kept of each stream; the rest is read and dropped.
const OUTPUT_LIMIT: usize = 4 << 20;

/// A client program and how it runs.
#[derive(Debug, Clone)]
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// What reports call it: `claude-code 2.1.332`.
    pub name: String,
    /// The Claude Code version it is, when known (`--client
    /// claude-code@VERSION`).
    pub version: Option<String>,
    /// How long one scenario's run may take.
    pub time_limit: Duration,
}

/// Why a client program cannot run `scenario`, if it cannot: it uses a
/// command, a flag or a variable only `bedrock-client` has, or managed
/// settings (Claude Code reads them from one place on the machine,
/// `/etc/claude-code/managed-settings.json`, which a run cannot give it
/// without taking the machine's own).
pub fn refusal(scenario: &Scenario, program: &Program) -> Option<String> {
    if !scenario.clients.is_empty() {
        return Some(
            "has several clients (`[[clients]]`): the runner of a program runs one, so only \
             the in-process clients hold it"
                .to_owned(),
        );
    }
    let client = &scenario.client;
    if let Some(command) = client
        .args
        .iter()
        .find(|a| BEDROCK_CLIENT_COMMANDS.contains(&a.as_str()))
    {
        return Some(format!("uses `{command}`, a bedrock-client command"));
    }
    if let Some(flag) = client.args.iter().find(|a| {
        let name = a.split('=').next().unwrap_or_default();
        BEDROCK_CLIENT_FLAGS.contains(&name)
    }) {
        return Some(format!("uses `{flag}`, a bedrock-client flag"));
    }
    let variables = client
        .env
        .keys()
        .cloned()
        .chain(client.settings.env().map(|(k, _)| k));
    if let Some(name) = variables
        .into_iter()
        .find(|name| name.starts_with(BEDROCK_CLIENT_VARIABLES) && name != CLI_VERSION_VARIABLE)
    {
        return Some(format!("uses {name}, a bedrock-client variable"));
    }
    if let Some(version) = client.env.get(CLI_VERSION_VARIABLE)
        && program.version.as_ref() != Some(version)
    {
        return Some(format!(
            "is about Claude Code {version} ({CLI_VERSION_VARIABLE}): run it with --client claude-code@{version}"
        ));
    }
    if let Some(turn) = client.turns.iter().find(|t| t.after.is_some()) {
        return Some(format!(
            "a turn waits `{}` before it is sent (`after`): a program runs on the real clock, \
             which the runner cannot move for it, so only the in-process client holds it",
            turn.after.as_deref().unwrap_or_default()
        ));
    }
    client.settings.managed.as_ref().map(|_| {
        "uses managed settings, which Claude Code reads only from \
         /etc/claude-code/managed-settings.json (the machine's own)"
            .to_owned()
    })
}

/// Runs `scenario` with `program` and returns what happened; `Err` when
/// it could not be run at all (the program would not start, a file could
/// not be written). A run past the time limit is a `Run` that ended
/// [`Ended::TimedOut`].
pub async fn execute(scenario: &Scenario, program: &Program) -> Result<Run, String> {
    let now = SystemTime::now();
    let (scenario, _, _) = scenario_at(scenario, now)?;
    let sandbox = Sandbox::new(&scenario.name)?;
    let server = start_mock(&scenario.server, Clock::system()).await?;
    let (uri, proxy) = match transit::client_uri(&scenario, &server).await {
        Ok(front) => front,
        Err(e) => {
            Seen::finish(server, now).await;
            return Err(e);
        }
    };
    // The mock is stopped and read whatever became of the program.
    let finished = drive(&scenario, &sandbox, &uri, program).await;
    drop(proxy);
    let seen = Seen::finish(server, now).await;
    let (finished, refresh_runs) = finished?;
    Ok(Run {
        stdout: finished.stdout,
        stderr: finished.stderr,
        journal: seen.journal,
        issued_at: seen.issued_at,
        files: written_files(&scenario, &sandbox.home()),
        unmet_rules: seen.unmet_rules,
        secrets: secrets_of(&scenario),
        mock_uri: uri,
        client: ClientSide::Process(ProcessEnd {
            ended: finished.ended,
            refresh_runs,
        }),
        clients: Vec::new(),
    })
}

/// Writes the program's files into `sandbox` and runs it against the mock
/// at `uri`.
async fn drive(
    scenario: &Scenario,
    sandbox: &Sandbox,
    uri: &str,
    program: &Program,
) -> Result<(Finished, RefreshRuns), String> {
    let fill = |text: &str| fill_in(text, uri, sandbox);
    let mark = sandbox
        .root()
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let extra: Vec<(&str, &str)> = CLAUDE_CODE_QUIET
        .into_iter()
        .chain([(RUN_MARK, mark.as_str())])
        .collect();
    let env = client_env(scenario, uri, sandbox, &extra, &fill);
    let counters = RefreshCounters::new(scenario, sandbox.root());
    let user = user_settings_with(scenario, &|key, command| counters.counted(key, command))?;
    write_files(scenario, sandbox, user.as_ref(), &fill)?;
    let args = client_args(scenario).split_off(1);
    // A conversation's lines go in at once: the CLI takes them one turn at
    // a time (none has an `after`: `refusal`).
    let stdin: String = conversation_lines(scenario)
        .into_iter()
        .map(|line| line.text + "\n")
        .collect();
    let launch = Launch {
        args: &args,
        env: &env,
        dir: &sandbox.project(),
        stdin,
    };
    let finished = run_program(program, &launch, &mark).await?;
    Ok((finished, counters.runs()))
}

/// Where the refresh commands the harness writes count their runs: one
/// file per setting, a byte per run. A setting some settings file names
/// itself runs a command the harness did not write, and is not counted.
struct RefreshCounters {
    /// The count file of each counted setting.
    files: BTreeMap<&'static str, PathBuf>,
}

impl RefreshCounters {
    fn new(scenario: &Scenario, root: &Path) -> Self {
        let settings = &scenario.client.settings;
        let written_by_hand = |key: &str| {
            [
                &settings.user,
                &settings.project,
                &settings.local,
                &settings.managed,
            ]
            .into_iter()
            .flatten()
            .any(|file| file.get(key).is_some())
        };
        let files = REFRESH_SETTINGS
            .iter()
            .filter(|(key, _)| !written_by_hand(key))
            .map(|(key, _)| (*key, root.join(format!("{key}.runs"))))
            .collect();
        Self { files }
    }

    /// `command` counting its runs first.
    fn counted(&self, key: &str, command: String) -> String {
        match self.files.get(key) {
            Some(file) => format!(
                "printf x >> {}; {command}",
                shell_quote(&file.display().to_string())
            ),
            None => command,
        }
    }

    fn runs(&self) -> RefreshRuns {
        let count = |key: &str| {
            let file = self.files.get(key)?;
            let bytes = std::fs::metadata(file).map_or(0, |m| m.len());
            Some(u32::try_from(bytes).unwrap_or(u32::MAX))
        };
        RefreshRuns {
            auth: count(AUTH_REFRESH),
            export: count(CREDENTIAL_EXPORT),
        }
    }
}

/// `text` in single quotes for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What the program printed and how it ended.
struct Finished {
    stdout: String,
    stderr: String,
    ended: Ended,
}

/// How a program is started: its arguments, exactly this environment,
/// the folder it runs in, what it reads on stdin (nothing when empty).
struct Launch<'a> {
    args: &'a [String],
    env: &'a BTreeMap<String, String>,
    dir: &'a Path,
    stdin: String,
}

/// Starts `program` as `launch` says, in a process group of its own, its
/// stdin written from a thread of its own (or none).
fn spawn(program: &Program, launch: &Launch<'_>) -> Result<std::process::Child, String> {
    let mut child = Command::new(&program.path)
        .args(launch.args)
        .env_clear()
        .envs(launch.env)
        .current_dir(launch.dir)
        .process_group(0)
        .stdin(if launch.stdin.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.path.display()))?;
    if let Some(mut input) = child.stdin.take() {
        let text = launch.stdin.clone();
        // Written from a thread of its own, then closed: a program that
        // stops reading cannot hold the run.
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = input.write_all(text.as_bytes());
        });
    }
    Ok(child)
}

/// Runs `program` as `launch` says, in a process group of its own, within
/// its time limit; then stops whatever of the run is left.
async fn run_program(
    program: &Program,
    launch: &Launch<'_>,
    mark: &str,
) -> Result<Finished, String> {
    let mut child = spawn(program, launch)?;
    let pid = child.id();
    let stdout = Drain::start(child.stdout.take());
    let stderr = Drain::start(child.stderr.take());
    let (exited, has_exited) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        wait_without_reaping(pid);
        let _ = exited.send(());
    });
    let timed_out = tokio::time::timeout(program.time_limit, has_exited)
        .await
        .is_err();
    let mark = format!("{RUN_MARK}={mark}");
    let status = tokio::task::spawn_blocking(move || {
        // The program is not reaped yet, so its group is still its own.
        kill_group(pid);
        stop_marked(&mark);
        child.wait()
    })
    .await
    .map_err(|e| format!("waiting for {} failed: {e}", program.name))?
    .map_err(|e| format!("waiting for {} failed: {e}", program.name))?;
    let ended = match (timed_out, status.code(), status.signal()) {
        (true, _, _) => Ended::TimedOut(program.time_limit),
        (false, Some(code), _) => Ended::Exited(code),
        (false, None, signal) => Ended::Signalled(signal.unwrap_or_default()),
    };
    Ok(Finished {
        stdout: stdout.collect().await,
        stderr: stderr.collect().await,
        ended,
    })
}

/// Blocks until process `pid` has exited, leaving it unreaped (so its
/// pid and process group cannot be taken by another process yet).
fn wait_without_reaping(pid: u32) {
    let id: libc::id_t = pid;
    loop {
        // SAFETY: `info` is a zeroed `siginfo_t` that `waitid` fills in;
        // the call has no other memory-safety preconditions.
        let done = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if done == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// Stops process group `pid` (the program and what it started there).
fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: `kill` has no memory-safety preconditions; a negative pid
    // names a process group.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Stops every process whose environment holds `mark` (`NAME=value`):
/// what the program started outside its group. Looks again until none is
/// left, as one may start another while they are stopped.
fn stop_marked(mark: &str) {
    for _ in 0..10 {
        let marked = marked_processes(mark);
        if marked.is_empty() {
            return;
        }
        for pid in marked {
            // SAFETY: as in `kill_group`; `pid` is a process's own id.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The processes of this machine whose environment holds `mark`
/// (`/proc/PID/environ`; none where there is no `/proc`).
fn marked_processes(mark: &str) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: libc::pid_t = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|&b| b == 0)
                .any(|variable| variable == mark.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// One of the program's output streams, read on a thread of its own so
/// the program never blocks on a full pipe.
struct Drain {
    text: Arc<Mutex<Vec<u8>>>,
    closed: tokio::sync::oneshot::Receiver<()>,
}

impl Drain {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let (done, closed) = tokio::sync::oneshot::channel();
        let into = Arc::clone(&text);
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut buffer = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                    let mut kept = into.lock().unwrap_or_else(|e| e.into_inner());
                    let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                }
            }
            let _ = done.send(());
        });
        Self { text, closed }
    }

    /// What was read, once the pipe closed or after [`OUTPUT_GRACE`] (a
    /// process that escaped being stopped may hold it open).
    async fn collect(self) -> String {
        let _ = tokio::time::timeout(OUTPUT_GRACE, self.closed).await;
        let bytes = self.text.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    fn scenario(client: &str) -> Scenario {
        super::super::load::parse(
            Path::new("x.toml"),
            &format!(
                "schema = 1\nname = \"x\"\ndescription = \"d\"\nsource = \"s\"\n{client}\n[expect]\nexit = 0\n"
            ),
        )
        .unwrap()
    }

    #[test]
    fn what_only_bedrock_client_has_is_refused_with_its_reason() {
        for (client, reason) in [
            (
                "[client]\nargs = [\"status\"]",
                "uses `status`, a bedrock-client command",
            ),
            (
                "[client]\nargs = [\"models\", \"--accept-update\"]",
                "uses `models`, a bedrock-client command",
            ),
            (
                "[client]\nargs = [\"--lineup=seed\"]",
                "uses `--lineup=seed`, a bedrock-client flag",
            ),
            (
                "[client]\nenv = { BEDROCK_CLIENT_LINEUP = \"seed\" }",
                "uses BEDROCK_CLIENT_LINEUP, a bedrock-client variable",
            ),
            (
                "[client.settings.user]\nenv = { BEDROCK_CLIENT_MODELS = \"/m.toml\" }",
                "uses BEDROCK_CLIENT_MODELS, a bedrock-client variable",
            ),
            (
                "[client.settings.managed]\nmodel = \"opus\"",
                "uses managed settings, which Claude Code reads only from /etc/claude-code/managed-settings.json (the machine's own)",
            ),
        ] {
            assert_eq!(
                refusal(&scenario(client), &cli("2.1.332")).as_deref(),
                Some(reason),
                "{client}"
            );
        }
        let plain = "[client]\nargs = [\"--model\", \"opus\", \"--output-format\", \"json\"]";
        assert_eq!(refusal(&scenario(plain), &cli("2.1.332")), None);
        // A conversation runs, unless a turn waits on the virtual clock.
        let now = "[client]\nturns = [{ prompt = \"a\" }, { prompt = \"b\" }]";
        assert_eq!(refusal(&scenario(now), &cli("2.1.332")), None);
        let later = "[client]\nturns = [{ prompt = \"a\" }, { prompt = \"b\", after = \"8h\" }]";
        assert!(refusal(&scenario(later), &cli("2.1.332")).is_some_and(|why| why.contains("`8h`")));
        // A scenario about one version runs with that version only.
        let pinned = scenario("[client]\nenv = { BEDROCK_CLIENT_CLI_VERSION = \"2.1.328\" }");
        assert_eq!(refusal(&pinned, &cli("2.1.328")), None);
        assert_eq!(
            refusal(&pinned, &cli("2.1.332")).as_deref(),
            Some(
                "is about Claude Code 2.1.328 (BEDROCK_CLIENT_CLI_VERSION): run it with --client claude-code@2.1.328"
            )
        );
    }

    fn cli(version: &str) -> Program {
        Program {
            path: "/bin/claude".into(),
            name: format!("claude-code {version}"),
            version: Some(version.to_owned()),
            time_limit: Duration::from_secs(1),
        }
    }

    /// Every flag and command of `bedrock-client` is either one Claude
    /// Code has too or refused: a new one must be placed.
    #[test]
    fn every_bedrock_client_flag_and_command_is_placed() {
        const CLAUDE_CODE_HAS_TOO: [&str; 7] = [
            "--print",
            "--model",
            "--output-format",
            "--input-format",
            "--verbose",
            "--help",
            "--version",
        ];
        let cli = bedrock_client::cli::Cli::command();
        for arg in cli.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let flag = format!("--{long}");
            assert!(
                CLAUDE_CODE_HAS_TOO.contains(&flag.as_str())
                    || BEDROCK_CLIENT_FLAGS.contains(&flag.as_str()),
                "bedrock-client's `{flag}`: does Claude Code take it? Add it to one of the lists"
            );
        }
        for command in cli.get_subcommands() {
            assert!(
                BEDROCK_CLIENT_COMMANDS.contains(&command.get_name()),
                "bedrock-client's `{}` command: add it to BEDROCK_CLIENT_COMMANDS",
                command.get_name()
            );
        }
    }

    #[test]
    fn refresh_commands_count_their_runs_unless_a_settings_file_names_its_own() {
        let root = std::env::temp_dir().join(format!("bh-counters-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let built_in = scenario("[client]\nrefresh = { auth = \"no-op\" }");
        let counters = RefreshCounters::new(&built_in, &root);
        let command = counters.counted("awsAuthRefresh", "echo hi".into());
        assert!(command.starts_with("printf x >> '"), "{command}");
        assert!(
            command.ends_with("awsAuthRefresh.runs'; echo hi"),
            "{command}"
        );
        for _ in 0..3 {
            let out = Command::new("sh").arg("-c").arg(&command).output().unwrap();
            assert!(out.status.success());
        }
        assert_eq!(
            counters.runs(),
            RefreshRuns {
                auth: Some(3),
                export: Some(0)
            }
        );
        let own = scenario("[client.settings.project]\nawsCredentialExport = \"my-export\"");
        let counters = RefreshCounters::new(&own, &root);
        assert_eq!(counters.counted("awsCredentialExport", "x".into()), "x");
        assert_eq!(counters.runs().export, None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// Whether process `pid` is gone (or a zombie, stopped and waiting
    /// for a parent that is not this test to reap it).
    fn gone(pid: &str) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
    }

    #[tokio::test]
    async fn what_a_program_starts_outside_its_group_is_stopped_with_it() {
        let dir = std::env::temp_dir().join(format!("bh-stop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // `set -m`: the background job gets a process group of its own,
        // as bedrock-client gives its refresh commands.
        let script = dir.join("client");
        std::fs::write(
            &script,
            "#!/bin/sh\nset -m\nsleep 300 &\necho $! > \"$1\"\necho started\n[ \"$2\" = wait ] && sleep 300\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let env: BTreeMap<String, String> = [
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            (RUN_MARK.to_owned(), format!("test-{}", std::process::id())),
        ]
        .into();
        let mark = &env[RUN_MARK];
        for (how, ended) in [
            ("wait", Ended::TimedOut(Duration::from_secs(1))),
            ("exit", Ended::Exited(3)),
        ] {
            let program = Program {
                path: script.clone(),
                name: "test client".into(),
                version: None,
                time_limit: Duration::from_secs(1),
            };
            let pid_file = dir.join(format!("{how}.pid"));
            let args = [pid_file.display().to_string(), how.to_owned()];
            let launch = Launch {
                args: &args,
                env: &env,
                dir: &dir,
                stdin: String::new(),
            };
            let finished = run_program(&program, &launch, mark).await.unwrap();
            assert_eq!(finished.ended, ended, "{how}");
            assert_eq!(finished.stdout, "started\n", "{how}");
            let pid = std::fs::read_to_string(&pid_file).unwrap();
            // The kill is sent before `run_program` returns; the kernel
            // ends the process in its own time (a busy CI machine can take
            // a moment), so the check waits for it, boundedly.
            let mut waited = 0;
            while !gone(pid.trim()) && waited < 100 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                waited += 1;
            }
            assert!(
                gone(pid.trim()),
                "{how}: the background sleep {pid} still runs 5 s after the stop"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_conversation_is_written_to_the_programs_stdin_and_closed() {
        let env: BTreeMap<String, String> = [
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            (RUN_MARK.to_owned(), format!("stdin-{}", std::process::id())),
        ]
        .into();
        let program = Program {
            path: "/bin/cat".into(),
            name: "cat".into(),
            version: None,
            time_limit: Duration::from_secs(10),
        };
        let launch = Launch {
            args: &[],
            env: &env,
            dir: Path::new("/"),
            stdin: "{\"type\":\"user\"}\nsecond\n".to_owned(),
        };
        let finished = run_program(&program, &launch, &env[RUN_MARK])
            .await
            .unwrap();
        // cat ends only when its stdin is closed.
        assert_eq!(finished.ended, Ended::Exited(0));
        assert_eq!(finished.stdout, launch.stdin);
    }

    #[test]
    fn quoting_survives_a_quote() {
        let quoted = shell_quote("/tmp/it's here");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {quoted}"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/tmp/it's here");
    }
}
