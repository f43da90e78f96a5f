//! Running the user's refresh commands (`awsAuthRefresh`,
//! `awsCredentialExport`) the way Claude Code does: through the shell, with
//! the client's environment (the settings' `env` included), output
//! captured, and a time limit so a hung command cannot hang the client.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// The most output kept from a command; more is read and dropped, so a
/// command printing without end cannot exhaust memory.
const MAX_OUTPUT: usize = 1 << 20;

/// What a finished command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit status (`None` when killed by a signal).
    pub status: Option<i32>,
    /// Standard output, at most 1 MiB.
    pub stdout: Vec<u8>,
    /// Standard error, at most 1 MiB.
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Runs `command` with `sh -c`, with exactly `env` as its environment, and
/// waits at most `limit`. `setting` names the setting the command came
/// from, for error messages.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use bedrock_client::command::run_shell;
///
/// let env = BTreeMap::from([("GREETING".to_owned(), "hi".to_owned())]);
/// let out = run_shell("awsCredentialExport", "echo $GREETING", &env, Duration::from_secs(10)).unwrap();
/// assert_eq!(out.stdout, b"hi\n");
/// ```
pub fn run_shell(
    setting: &str,
    command: &str,
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Result<CommandOutput, Error> {
    let mut child = Command::new("sh")
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
        .map_err(|e| {
            Error::new(
                ErrorKind::Command,
                format!("{setting} (`{command}`) could not start: {e}"),
            )
        })?;
    // Both pipes are drained while the command runs: a command filling one
    // pipe's buffer would otherwise block forever.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::new(
                    ErrorKind::Command,
                    format!(
                        "{setting} (`{command}`) did not finish within {} s and was stopped; make it non-interactive or run it yourself first",
                        limit.as_secs()
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Command,
                    format!("{setting} (`{command}`) could not be waited on: {e}"),
                ));
            }
        }
    };
    let join = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader.and_then(|r| r.join().ok()).unwrap_or_default()
    };
    Ok(CommandOutput {
        status: status.code(),
        stdout: join(stdout),
        stderr: join(stderr),
    })
}

/// Stops the command's whole process group (`sh` and what it started).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_OUTPUT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
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
