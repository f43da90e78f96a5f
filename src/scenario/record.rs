//! What a report keeps of a run to show it afterwards (the HTML report,
//! `run --report`, draws it; `run -v` prints its error messages): every
//! request with the client that sent it and when, on the run's clock; each
//! client's output and how it ended; when credentials were issued. Every
//! text is kept with the scenario's secrets hidden, as everything else a
//! run shows.
//!
//! A run holds a list of clients and each request names its client, so a
//! scenario with several clients fills in more than one without a change
//! of shape.

use std::time::{Duration, SystemTime};

use bedrock_client::FailureKind;
use bedrock_mock_server::RecordedRequest;

use super::observed::{ClientSide, Ended, Run};
use super::snapshot;

/// What a report keeps of one run, secrets hidden.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The clock the run was on.
    pub clock: RunClock,
    /// When that clock started: the scenario's start in-process, the
    /// moment the run began on the real clock.
    pub start: SystemTime,
    /// How long the run lasted on its clock.
    pub length: Duration,
    /// The clients that ran, in the order they started.
    pub clients: Vec<ClientRecord>,
    /// Every request the mock received, in arrival order.
    pub requests: Vec<RequestRecord>,
    /// When each queued credential set was issued, from `start`.
    pub issued_at: Vec<Duration>,
    /// Rules whose `expect` count was not met.
    pub unmet_rules: Option<String>,
}

/// The clock a run was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunClock {
    /// The session's virtual clock: it moves only when the client waits.
    Session,
    /// The real clock (a client program).
    Real,
}

/// One client of a run.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// Its name, as its requests name it ([`ONLY_CLIENT`] when alone).
    pub name: String,
    /// What ran as it: `bedrock-client (in-process)`, `claude-code 2.1.332`.
    pub program: String,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// How it ended: `exit 1 (credentials)`, `signal 9`, `stopped at the
    /// time limit (180 s)`.
    pub ended: String,
    /// What it did with its credentials, by name (`awsAuthRefresh runs`),
    /// `None` where the run cannot count it.
    pub credential_counts: Vec<(&'static str, Option<u32>)>,
}

/// One request, with the client that sent it and when.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// The name of the client that sent it ([`ClientRecord::name`]).
    pub client: String,
    /// When it arrived, from the run's start.
    pub at: Duration,
    /// The journal's entry, the scenario's secrets hidden.
    pub request: RecordedRequest,
    /// Its number in the journal as `run -v` and the snapshot list it
    /// (requests sent at once are listed sorted, so this is not always
    /// its place of arrival).
    pub listed_as: usize,
}

/// The name of a run's only client.
pub const ONLY_CLIENT: &str = "client";

impl Recording {
    /// What to keep of `run` by `program` whose clock started at `start`
    /// (`took`: the wall-clock time it took), every text passed through
    /// `hide`.
    pub fn of(
        run: &Run,
        program: &str,
        start: SystemTime,
        took: Duration,
        hide: &dyn Fn(&str) -> String,
    ) -> Self {
        let since_start = |t: SystemTime| t.duration_since(start).unwrap_or_default();
        let listing = snapshot::stable_order(&run.journal, &run.mock_uri, run.at_once());
        let listed_as = |r: &RecordedRequest| {
            listing
                .iter()
                .position(|l| std::ptr::eq(*l, r))
                .map_or(0, |i| i + 1)
        };
        let requests: Vec<RequestRecord> = run
            .journal
            .iter()
            .map(|r| RequestRecord {
                client: r.client.clone().unwrap_or_else(|| ONLY_CLIENT.to_owned()),
                at: since_start(r.time.0),
                request: hidden(r, hide),
                listed_as: listed_as(r),
            })
            .collect();
        let (clock, length) = match &run.client {
            ClientSide::InProcess(session) => (RunClock::Session, session.virtual_time),
            ClientSide::Process(_) => (RunClock::Real, took),
        };
        let last = requests.iter().map(|r| r.at).max().unwrap_or_default();
        let clients = if run.clients.is_empty() {
            vec![client_record(ONLY_CLIENT, program, run, hide)]
        } else {
            run.clients
                .iter()
                .map(|c| client_record(&c.name, program, &c.run, hide))
                .collect()
        };
        Self {
            clock,
            start,
            length: length.max(last),
            clients,
            requests,
            issued_at: run.issued_at.clone(),
            unmet_rules: run.unmet_rules.as_deref().map(hide),
        }
    }
}

/// What to show of one client's run under `name`.
fn client_record(
    name: &str,
    program: &str,
    run: &Run,
    hide: &dyn Fn(&str) -> String,
) -> ClientRecord {
    ClientRecord {
        name: name.to_owned(),
        program: program.to_owned(),
        stdout: hide(&run.stdout),
        stderr: hide(&run.stderr),
        ended: ended(run),
        credential_counts: credential_counts(run),
    }
}

/// `request` with every text it holds passed through `hide`. The mock
/// has already redacted what it knows to be secret; this hides what only
/// the scenario knows (a client's own keys sent where they do not
/// belong).
fn hidden(request: &RecordedRequest, hide: &dyn Fn(&str) -> String) -> RecordedRequest {
    let mut r = request.clone();
    r.raw_path = hide(&r.raw_path);
    r.query = hide(&r.query);
    r.body = hide(&r.body);
    for (_, value) in &mut r.headers {
        *value = hide(value);
    }
    r.error_message = r.error_message.as_deref().map(hide);
    r.auth.reason = r.auth.reason.as_deref().map(hide);
    r
}

/// How the client ended, in words.
fn ended(run: &Run) -> String {
    match &run.client {
        ClientSide::InProcess(session) => {
            let code = session.outcome.exit.code();
            match session.outcome.error {
                Some(kind) => format!("exit {code} ({})", FailureKind::name(kind)),
                None => format!("exit {code}"),
            }
        }
        ClientSide::Process(end) => match end.ended {
            Ended::Exited(code) => format!("exit {code}"),
            Ended::Signalled(signal) => format!("signal {signal}"),
            Ended::TimedOut(limit) => {
                format!("stopped at the time limit ({} s)", limit.as_secs())
            }
        },
    }
}

/// The credential counts a run has: all of `bedrock-client`'s own; of a
/// program, the runs of the refresh commands the harness wrote.
fn credential_counts(run: &Run) -> Vec<(&'static str, Option<u32>)> {
    match &run.client {
        ClientSide::InProcess(session) => {
            let counted = session.outcome.credentials.unwrap_or_default();
            vec![
                ("awsAuthRefresh runs", Some(counted.auth_refreshes)),
                ("awsCredentialExport runs", Some(counted.exports)),
                ("STS checks", Some(counted.sts_checks)),
                ("credential chain loads", Some(counted.chain)),
            ]
        }
        ClientSide::Process(end) => vec![
            ("awsAuthRefresh runs", end.refresh_runs.auth),
            ("awsCredentialExport runs", end.refresh_runs.export),
        ],
    }
}
