//! What a run of a scenario produced, whichever client ran it: what the
//! client printed and left in its HOME, what the mock received, and what
//! only one kind of client has (`bedrock-client`'s outcome, trace and
//! virtual time in-process; a program's exit on the real clock).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bedrock_client::cli::Outcome;
use bedrock_mock_server::{Clock, MockBedrock, RecordedRequest, ServerConfig};

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    /// What the client printed on stdout.
    pub stdout: String,
    /// What the client printed on stderr.
    pub stderr: String,
    /// Every request the mock received, in arrival order.
    pub journal: Vec<RecordedRequest>,
    /// When each credential set the mock's queue issued was issued, from
    /// the clock's start (their number is how many were).
    pub issued_at: Vec<Duration>,
    /// The files `expect.files` names, read back after the run (`None`:
    /// missing).
    pub files: BTreeMap<String, Option<String>>,
    /// Rules whose `expect` count was not met.
    pub unmet_rules: Option<String>,
    /// Every secret the scenario used, to look for in the outputs.
    pub secrets: Vec<String>,
    /// The mock's base URL during the run.
    pub mock_uri: String,
    /// What only this kind of client has.
    pub client: ClientSide,
    /// With `[[clients]]`, each client's own run (its output, the
    /// journal's entries of its requests, its files and its session), in
    /// the scenario's order; empty for one client. This run's journal is
    /// then every client's, and its output each one's under its name.
    pub clients: Vec<ClientRun>,
}

/// One of several clients' runs.
#[derive(Debug)]
pub struct ClientRun {
    /// The client's name.
    pub name: String,
    /// When it started, after the clock's start.
    pub started: Duration,
    /// What it printed, sent and left.
    pub run: Run,
}

/// What only one kind of client has.
#[derive(Debug)]
pub enum ClientSide {
    /// `bedrock-client` in this process, on the session's clock.
    InProcess(Session),
    /// A program run as a process (the real Claude Code CLI), on the real
    /// clock.
    Process(ProcessEnd),
}

/// An in-process `bedrock-client` session.
#[derive(Debug)]
pub struct Session {
    /// How the client ended.
    pub outcome: Outcome,
    /// The client's trace log: every request it sent, every answer's head
    /// and error body (kept apart from stderr, which it never changes).
    pub trace: String,
    /// How far the session's clock moved.
    pub virtual_time: Duration,
}

/// How a client program's run ended.
#[derive(Debug)]
pub struct ProcessEnd {
    /// Its exit.
    pub ended: Ended,
    /// How often it ran the refresh commands the harness wrote.
    pub refresh_runs: RefreshRuns,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal stopped it.
    Signalled(i32),
    /// It ran past the time limit and was stopped, with everything it
    /// started.
    TimedOut(Duration),
}

/// Runs of the refresh commands the harness wrote (the scenario's
/// built-in actions); `None` for a command it did not write, which it
/// cannot count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshRuns {
    /// `awsAuthRefresh`.
    pub auth: Option<u32>,
    /// `awsCredentialExport`.
    pub export: Option<u32>,
}

/// How one turn of a conversation ended, as the client printed it (a
/// `result` event of `--output-format stream-json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnEnd {
    /// Which turn, from 0 (`result_index`).
    pub index: u64,
    /// Whether it ended on an error (`is_error`).
    pub is_error: bool,
    /// The HTTP status of the refusal it ended on (`api_error_status`).
    pub status: Option<u16>,
    /// The answer, or the error line (`result`).
    pub result: String,
}

impl Run {
    /// The turns the client reported, in order: every `result` event on
    /// stdout (a conversation prints one per turn; `bedrock-client` and
    /// the CLI alike). Empty for a run that printed none.
    pub fn turns(&self) -> Vec<TurnEnd> {
        self.stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| event["type"] == "result")
            .map(|event| TurnEnd {
                index: event["result_index"].as_u64().unwrap_or_default(),
                is_error: event["is_error"].as_bool().unwrap_or_default(),
                status: event["api_error_status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok()),
                result: event["result"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The in-process session, when `bedrock-client` ran in-process.
    pub fn session(&self) -> Option<&Session> {
        match &self.client {
            ClientSide::InProcess(session) => Some(session),
            ClientSide::Process(_) => None,
        }
    }

    /// How long requests may arrive apart and still have been sent at
    /// once (the startup probes): on the session's clock, at one moment;
    /// on the real clock, within [`AT_ONCE_ON_THE_REAL_CLOCK`].
    pub fn at_once(&self) -> Duration {
        match self.client {
            ClientSide::InProcess(_) => Duration::ZERO,
            ClientSide::Process(_) => AT_ONCE_ON_THE_REAL_CLOCK,
        }
    }
}

/// Requests sent at once arrive this close on the real clock; a retry
/// comes at least a backoff later (0.5 s, the CLI's first), so it is
/// never taken for one of them.
pub const AT_ONCE_ON_THE_REAL_CLOCK: Duration = Duration::from_millis(250);

/// What the mock saw of the run, read before it stops.
pub struct Seen {
    /// Its journal.
    pub journal: Vec<RecordedRequest>,
    /// When it issued each queued credential set, from `start`.
    pub issued_at: Vec<Duration>,
    /// Rules whose `expect` count was not met.
    pub unmet_rules: Option<String>,
    /// How far its clock moved from `start`.
    pub moved: Duration,
}

/// Starts the mock of one run: `config` on `clock`, its rules mounted
/// (in order) rather than configured, so that [`Seen::finish`] can make
/// it forget them.
pub async fn start_mock(config: &ServerConfig, clock: Clock) -> Result<MockBedrock, String> {
    let mut account = config.clone();
    let rules = std::mem::take(&mut account.rules);
    let server = MockBedrock::builder()
        .config(account)
        .clock(clock)
        .start()
        .await
        .map_err(|e| format!("the mock could not start: {e}"))?;
    for rule in rules {
        let label = rule.label();
        if let Err(e) = server.try_mount(rule) {
            let e = format!("server.rules: rule `{label}`: {e}");
            Seen::finish(server, SystemTime::now()).await;
            return Err(e);
        }
    }
    Ok(server)
}

impl Seen {
    /// Reads `server`, its times counted from `start`, and stops it.
    /// Its rules' unmet expectations are read here and reported as the
    /// run's; the server then forgets its rules (mounted by
    /// [`start_mock`]), so that stopping it does not raise them again as a
    /// panic.
    pub async fn finish(server: MockBedrock, start: SystemTime) -> Self {
        let seen = Self::read(&server, start);
        server.reset();
        server.shutdown().await;
        seen
    }

    fn read(server: &MockBedrock, start: SystemTime) -> Self {
        let since_start = |t: SystemTime| t.duration_since(start).unwrap_or_default();
        Self {
            journal: server.received_requests(),
            issued_at: server
                .credential_report()
                .issued_at
                .iter()
                .map(|t| since_start(t.0))
                .collect(),
            unmet_rules: server.verify().err().map(|e| e.to_string()),
            moved: since_start(server.clock().now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversations_turns_are_read_from_its_result_events() {
        let stdout = [
            r#"{"type":"system","subtype":"init"}"#,
            r#"{"type":"result","is_error":true,"api_error_status":503,"result":"API Error: 503 …","result_index":0}"#,
            "not an event",
            r#"{"type":"result","is_error":false,"api_error_status":null,"result":"hi","result_index":1}"#,
        ]
        .join("\n");
        let run = Run {
            stdout,
            stderr: String::new(),
            journal: Vec::new(),
            issued_at: Vec::new(),
            files: BTreeMap::new(),
            unmet_rules: None,
            secrets: Vec::new(),
            mock_uri: String::new(),
            client: ClientSide::Process(ProcessEnd {
                ended: Ended::Exited(0),
                refresh_runs: RefreshRuns::default(),
            }),
            clients: Vec::new(),
        };
        let turns = run.turns();
        assert_eq!(turns.len(), 2);
        assert_eq!(
            (turns[0].index, turns[0].is_error, turns[0].status),
            (0, true, Some(503))
        );
        assert_eq!((turns[1].index, turns[1].result.as_str()), (1, "hi"));
    }
}
