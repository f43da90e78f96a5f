//! `run` with a client program inside a private network namespace: the
//! program (and the mock, which must be where it is) can reach nothing
//! but loopback, whatever variable it was not told about. Once everything
//! that needs the network is done (npm), `run` runs itself again under
//! `unshare -n`, loopback brought up, with [`INSIDE`] set so the second
//! run goes on instead of starting a third. Where that is not possible,
//! it says so in one line and goes on, the program pinned to the mock by
//! its variables only.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Set in the run inside the namespace.
pub const INSIDE: &str = "BEDROCK_HARNESS_IN_NETNS";

/// What this machine allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// [`INSIDE`] is set: this is the run inside.
    pub inside: bool,
    /// `unshare -n true` works (it needs root, or user namespaces).
    pub unshare: bool,
    /// `ip` is there to bring loopback up in the new namespace.
    pub ip: bool,
}

/// Where the client program runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// In the private namespace already.
    Inside,
    /// Run again inside one.
    Enter,
    /// Not possible here, for this reason: the program is pinned to the
    /// mock by its variables only.
    PinnedOnly(String),
}

/// What to do, given what the machine allows.
pub fn decide(probe: Probe) -> Isolation {
    if probe.inside {
        Isolation::Inside
    } else if !probe.unshare {
        Isolation::PinnedOnly(
            "no private network namespace here (`unshare -n true` failed: it needs util-linux's unshare, and root or user namespaces)"
                .into(),
        )
    } else if !probe.ip {
        Isolation::PinnedOnly(
            "no private network namespace here (`ip`, from iproute2, is needed to bring its loopback up)"
                .into(),
        )
    } else {
        Isolation::Enter
    }
}

/// What this machine allows, found by trying.
pub fn probe() -> Probe {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Probe {
        inside: std::env::var_os(INSIDE).is_some(),
        unshare: works("unshare", &["-n", "true"]),
        ip: works("ip", &["-V"]),
    }
}

/// The command that runs this program again inside a private network
/// namespace with `args`: `unshare -n sh -c 'ip link set lo up && exec
/// "$0" "$@"' PROGRAM ARGS...` (the script is fixed; the arguments are
/// passed as arguments, never as shell text).
pub fn inside_command(program: OsString, args: Vec<OsString>) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["-n", "sh", "-c"])
        .arg(
            "ip link set lo up || { echo 'bedrock-harness: cannot bring loopback up in the new network namespace' >&2; exit 2; }; exec \"$0\" \"$@\"",
        )
        .arg(program)
        .args(args)
        .env(INSIDE, "1");
    command
}

/// Replaces this process with itself inside a private network namespace;
/// returns only when that could not be done.
pub fn enter() -> std::io::Error {
    let program = match std::env::current_exe() {
        Ok(path) => path.into_os_string(),
        Err(e) => return e,
    };
    inside_command(program, std::env::args_os().skip(1).collect()).exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_inside_goes_on_and_a_machine_that_cannot_says_why() {
        let machine = |inside, unshare, ip| {
            decide(Probe {
                inside,
                unshare,
                ip,
            })
        };
        assert_eq!(machine(false, true, true), Isolation::Enter);
        // Inside: never again, whatever else holds (no loop).
        for (unshare, ip) in [(true, true), (false, false), (true, false)] {
            assert_eq!(machine(true, unshare, ip), Isolation::Inside);
        }
        let Isolation::PinnedOnly(why) = machine(false, false, true) else {
            panic!("no unshare: pinned only");
        };
        assert!(why.contains("`unshare -n true` failed"), "{why}");
        let Isolation::PinnedOnly(why) = machine(false, true, false) else {
            panic!("no ip: pinned only");
        };
        assert!(why.contains("iproute2"), "{why}");
    }

    #[test]
    fn the_second_run_gets_the_same_arguments_as_arguments_and_the_mark() {
        let args: Vec<OsString> = ["run", "--client", "claude-code@2.1.332", "a b'; rm -rf /"]
            .map(OsString::from)
            .to_vec();
        let command = inside_command("/bin/bedrock-harness".into(), args.clone());
        assert_eq!(command.get_program(), "unshare");
        let got: Vec<&std::ffi::OsStr> = command.get_args().collect();
        assert_eq!(got[..3], ["-n", "sh", "-c"]);
        assert!(got[3].to_string_lossy().ends_with("exec \"$0\" \"$@\""));
        assert_eq!(got[4], "/bin/bedrock-harness");
        assert_eq!(
            got[5..],
            args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>()[..]
        );
        let marked = command
            .get_envs()
            .any(|(name, value)| name == INSIDE && value == Some("1".as_ref()));
        assert!(marked);
    }
}
