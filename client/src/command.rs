//! Running the user's refresh commands (`awsAuthRefresh`,
//! `awsCredentialExport`) the way Claude Code does: through the shell, with
//! the client's environment (the settings' `env` included), output
//! captured, and a time limit so a hung command cannot hang the client.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// The most output kept from a command; more is read and dropped, so a
/// command printing without end cannot exhaust memory.
const MAX_OUTPUT: usize = 1 << 20;

/// What a finished command printed. `Debug` shows sizes only: the output
/// of `awsCredentialExport` is credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit status (`None` when killed by a signal).
    pub status: Option<i32>,
    /// Standard output, at most 1 MiB.
    pub stdout: Vec<u8>,
    /// Standard error, at most 1 MiB.
    pub stderr: Vec<u8>,
}

impl std::fmt::Debug for CommandOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandOutput")
            .field("status", &self.status)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

impl CommandOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Runs `command` with `sh -c`, with exactly `env` as its environment, and
/// waits at most `limit`, output included (a process the command leaves
/// behind holding its output open does not hold the client). `setting`
/// names the setting the command came from, for error messages. This
/// blocks the thread: call it from `spawn_blocking` in async code.
pub fn run_shell(
    setting: &str,
    command: &str,
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Result<CommandOutput, Error> {
    run(setting, command, env, limit, None)
}

/// Where a command's output is shown while it runs.
pub type OutputSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// [`run_shell`], with the output also passed to `show` as it arrives:
/// `awsAuthRefresh` prints a sign-in URL or code the user must act on
/// while the command waits.
pub fn run_shell_showing(
    setting: &str,
    command: &str,
    env: &BTreeMap<String, String>,
    limit: Duration,
    show: OutputSink,
) -> Result<CommandOutput, Error> {
    run(setting, command, env, limit, Some(show))
}

fn run(
    setting: &str,
    command: &str,
    env: &BTreeMap<String, String>,
    limit: Duration,
    show: Option<OutputSink>,
) -> Result<CommandOutput, Error> {
    let named = || format!("{setting} (`{command}`)");
    let mut child = spawn(command, env).map_err(|e| {
        Error::new(
            ErrorKind::Command,
            format!("{} could not start: {e}", named()),
        )
    })?;
    let running = Running::register(child.id());
    // Both pipes are drained while the command runs: a command filling one
    // pipe's buffer would otherwise block forever.
    let stdout = child.stdout.take().map(|p| drain(p, show.clone()));
    let stderr = child.stderr.take().map(|p| drain(p, show));
    let deadline = Instant::now() + limit;
    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            return Err(Error::new(
                ErrorKind::Command,
                format!(
                    "{} did not finish within {} s and was stopped; make it non-interactive or run it yourself first",
                    named(),
                    limit.as_secs()
                ),
            ));
        }
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Command,
                format!("{} could not be waited on: {e}", named()),
            ));
        }
    };
    drop(running);
    // What the command printed before it exited. Something it started may
    // still hold its output (`aws sso login` leaves a browser running in
    // its own session): that gets a short grace, then the client goes on
    // without it, leaving it alone; `sh` is reaped, so its process group
    // may no longer be the command's to stop.
    let grace = (Instant::now() + EXIT_GRACE).min(deadline);
    let collect = |reader: Option<Drained>| reader.map_or(Vec::new(), |r| r.collect(grace));
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    Ok(CommandOutput {
        status: status.code(),
        stdout,
        stderr,
    })
}

/// Starts `sh -c command` with exactly `env`, in a process group of its
/// own, its output piped.
fn spawn(command: &str, env: &BTreeMap<String, String>) -> std::io::Result<Child> {
    let mut child = Command::new("sh");
    // The working directory is the one the environment names (`PWD`, as
    // a shell keeps it): the process's own for the CLI, the session's
    // project folder when the client runs in-process.
    if let Some(dir) = env.get("PWD").filter(|d| Path::new(d).is_dir()) {
        child.current_dir(dir);
    }
    child
        .arg("-c")
        .arg(command)
        // Its own process group, so that stopping it stops what it started.
        .process_group(0)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Waits for `child` to exit until `deadline`; past it, stops the
/// command's whole process group and gives `None`.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        match child.try_wait()? {
            Some(status) => return Ok(Some(status)),
            None if Instant::now() >= deadline => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Stops the command's whole process group (`sh` and what it started).
/// Called only while `sh` is alive and unreaped, so the group is the
/// command's own.
fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: `kill` has no memory-safety preconditions; a negative pid
    // names the process group the command was started in.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// The process groups of the commands running now, for
/// [`stop_running_commands`].
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A command's place in [`RUNNING`] while it runs.
struct Running(u32);

impl Running {
    fn register(pid: u32) -> Self {
        lock_running().push(pid);
        Self(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        lock_running().retain(|&p| p != self.0);
    }
}

fn lock_running() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Stops every `awsAuthRefresh` or `awsCredentialExport` command running
/// now, with all it started: for a client interrupted by Ctrl-C, whose
/// commands, each in its own process group, the terminal's signal does
/// not reach. (A command is unregistered as soon as `sh` is reaped, so a
/// group stopped here is still the command's.)
pub fn stop_running_commands() {
    for pid in lock_running().iter() {
        kill_group(*pid);
    }
}

/// How long output may keep arriving after the command exits.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Output read so far from one pipe, and word when the pipe closes.
struct Drained {
    kept: Arc<Mutex<Vec<u8>>>,
    closed: mpsc::Receiver<()>,
    /// Set when the client stops listening: a reader outliving the command
    /// (its pipe held by a leftover process) must not show anything more.
    detached: Arc<AtomicBool>,
}

impl Drained {
    /// Everything read once the pipe closes or `until` passes; a reader
    /// still waiting then is detached.
    fn collect(self, until: Instant) -> Vec<u8> {
        let closed = self
            .closed
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .is_ok();
        if !closed {
            self.detached.store(true, Ordering::SeqCst);
        }
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn drain(mut pipe: impl Read + Send + 'static, show: Option<OutputSink>) -> Drained {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let (done, closed) = mpsc::channel();
    let detached = Arc::new(AtomicBool::new(false));
    let sink = Arc::clone(&kept);
    let stop = Arc::clone(&detached);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                // Whatever still holds the pipe is no longer the client's
                // concern; stop reading (the thread ends).
                Ok(_) if stop.load(Ordering::SeqCst) => break,
                Ok(n) => {
                    if let Some(show) = &show {
                        show(&buf[..n]);
                    }
                    let mut kept = sink.lock().unwrap_or_else(|e| e.into_inner());
                    let room = MAX_OUTPUT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        let _ = done.send(());
    });
    Drained {
        kept,
        closed,
        detached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_given_environment_reaches_the_command() {
        let env = BTreeMap::from([("ONLY".to_owned(), "this".to_owned())]);
        let out = run_shell("t", "echo \"$ONLY:$HOME\"", &env, Duration::from_secs(10)).unwrap();
        assert_eq!(out.stdout, b"this:\n");
        assert!(out.success());
    }

    #[test]
    fn exit_status_and_stderr_are_kept() {
        let out = run_shell(
            "t",
            "echo oops >&2; exit 3",
            &BTreeMap::new(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            (out.status, out.stderr.as_slice()),
            (Some(3), &b"oops\n"[..])
        );
        assert!(!out.success());
    }

    #[test]
    fn a_hung_command_is_stopped() {
        let path = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
        let e = run_shell(
            "awsAuthRefresh",
            "sleep 30",
            &path,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Command);
        assert!(
            e.message()
                .starts_with("awsAuthRefresh (`sleep 30`) did not finish"),
            "{e}"
        );
    }

    #[test]
    fn a_process_left_holding_the_output_does_not_hold_the_client() {
        let path = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
        // `sh` exits at once; the background `sleep` keeps stdout open,
        // in the command's group or, like a browser, in a session of its
        // own. The time limit is long: returning before it is the point.
        for leftover in ["sleep 30 &", "setsid sleep 30 &"] {
            let started = Instant::now();
            let out = run_shell(
                "awsAuthRefresh",
                &format!("echo opened a browser; {leftover}"),
                &path,
                Duration::from_secs(60),
            )
            .unwrap();
            assert!(out.success());
            assert!(out.stdout.starts_with(b"opened a browser"));
            assert!(!format!("{out:?}").contains("browser"));
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "`{leftover}` held the client"
            );
        }
    }

    #[test]
    fn output_is_shown_while_the_command_still_runs() {
        let path = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&shown);
        // The command waits until it sees its own first line was shown.
        let marker = std::env::temp_dir().join(format!("shown-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let watcher_marker = marker.clone();
        let show: OutputSink = Arc::new(move |bytes| {
            sink.lock().unwrap().extend_from_slice(bytes);
            let _ = std::fs::write(&watcher_marker, b"seen");
        });
        let command = format!(
            "echo 'Open https://device.sso/ABCD'; i=0; while [ ! -f {} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; test -f {}",
            marker.display(),
            marker.display()
        );
        let out = run_shell_showing(
            "awsAuthRefresh",
            &command,
            &path,
            Duration::from_secs(20),
            show,
        )
        .unwrap();
        assert!(
            out.success(),
            "the output was not shown before the command ended"
        );
        assert_eq!(&*shown.lock().unwrap(), b"Open https://device.sso/ABCD\n");
        let _ = std::fs::remove_file(&marker);
    }

    #[test]
    fn endless_output_is_capped() {
        let out = run_shell(
            "t",
            "head -c 3000000 /dev/zero",
            &BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(out.stdout.len(), MAX_OUTPUT);
    }
}
