//! Running a scenario of several clients (`[[clients]]`) in-process: one
//! mock, each client at a loopback address of its own in front of it (so
//! the journal names whose each request was), its own HOME or an earlier
//! client's, all on one virtual clock that moves only when every client
//! still running waits (`Timeline`): a client that starts at `2h`, or
//! waits eight hours between turns, lets the others run meanwhile, as on
//! a real clock, without a real wait.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bedrock_client::cli::{self, Environment, Outcome};
use bedrock_client::clock::Deadlines;
use bedrock_client::conversation::Input;
use bedrock_client::credentials::SourceCounts;
use bedrock_mock_server::{Clock, MockBedrock, RecordedRequest};

use super::format::{NamedClient, Scenario, parse_span};
use super::observed::{ClientRun, ClientSide, Run, Seen, Session, start_mock};
use super::run::{MockDeadlines, Output, RUN_TIME_LIMIT, client_cli, client_sources};
use super::setup::{
    Sandbox, client_env, conversation_lines, fill_in, secrets_of, user_settings, write_files,
    written_files,
};

/// Runs `scenario`'s clients side by side and returns what happened: a
/// run per client, and the whole journal; `Err` when it could not be run
/// at all.
pub async fn execute(scenario: &Scenario) -> Result<Run, String> {
    match tokio::time::timeout(RUN_TIME_LIMIT, execute_all(scenario)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the run did not finish in {} s and was stopped",
            RUN_TIME_LIMIT.as_secs()
        )),
    }
}

/// One client, set up and ready to run.
struct Prepared {
    named: NamedClient,
    view: Scenario,
    sandbox: Arc<Sandbox>,
    uri: String,
    started: Duration,
    output: Output,
}

async fn execute_all(scenario: &Scenario) -> Result<Run, String> {
    let start = scenario.clock.start_time();
    let mock_clock = Clock::fixed(start);
    let mut server = start_mock(&scenario.server, mock_clock.clone()).await?;
    let prepared = prepare(scenario, &mut server);
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            Seen::finish(server, start).await;
            return Err(e);
        }
    };
    let timeline = Timeline::new(mock_clock, prepared.len());
    let outcomes = futures_util::future::join_all(
        prepared
            .iter()
            .map(|client| run_client(client, timeline.clone(), start)),
    )
    .await;
    let uri = server.uri();
    let seen = Seen::finish(server, start).await;
    let mut runs = Vec::new();
    for (client, outcome) in prepared.into_iter().zip(outcomes) {
        runs.push(client_run(client, outcome?, &seen, &uri));
    }
    Ok(whole_run(scenario, runs, seen, uri))
}

/// Each client's sandbox (its own, or the one whose HOME it uses), its
/// listener on the mock, its files written.
fn prepare(scenario: &Scenario, server: &mut MockBedrock) -> Result<Vec<Prepared>, String> {
    let mut prepared: Vec<Prepared> = Vec::new();
    for named in &scenario.clients {
        let view = scenario.for_client(named);
        let uri = server
            .listen_for(&named.name)
            .map_err(|e| format!("clients.{}: no listener for it: {e}", named.name))?;
        let sandbox = match &named.home_of {
            Some(owner) => prepared
                .iter()
                .find(|p| &p.named.name == owner)
                .map(|p| Arc::clone(&p.sandbox))
                .ok_or_else(|| format!("clients.{}: no client `{owner}`", named.name))?,
            None => {
                let sandbox = Sandbox::new(&format!("{}-{}", scenario.name, named.name))?;
                let fill = |text: &str| fill_in(text, &uri, &sandbox);
                write_files(&view, &sandbox, user_settings(&view)?.as_ref(), &fill)?;
                Arc::new(sandbox)
            }
        };
        let started = named
            .start
            .as_deref()
            .map_or(Ok(Duration::ZERO), parse_span)?;
        prepared.push(Prepared {
            named: named.clone(),
            view,
            sandbox,
            uri,
            started,
            output: Output::default(),
        });
    }
    Ok(prepared)
}

/// Runs one client once its start time has come; whatever becomes of it,
/// the timeline no longer waits for it.
async fn run_client(
    client: &Prepared,
    timeline: Timeline,
    start: SystemTime,
) -> Result<Outcome, String> {
    let ran = async {
        timeline.sleep(client.started).await;
        let fill = |text: &str| fill_in(text, &client.uri, &client.sandbox);
        let env = client_env(&client.view, &client.uri, &client.sandbox, &[], &fill);
        let cli = client_cli(&client.view)?;
        let mut environment = Environment::new(
            client_sources(&client.view, &client.sandbox, env),
            client.output.console(),
            ClientClock {
                timeline: timeline.clone(),
                origin: start + client.started,
            },
        );
        environment.jitter = Some(0.0);
        environment.input = Input::Scripted(conversation_lines(&client.view));
        Ok(cli::run(&cli, &environment).await)
    }
    .await;
    timeline.finished();
    ran
}

/// One client's run: its output, its requests, the files under its HOME.
fn client_run(client: Prepared, outcome: Outcome, seen: &Seen, uri: &str) -> ClientRun {
    let name = client.named.name;
    let journal: Vec<RecordedRequest> = seen
        .journal
        .iter()
        .filter(|r| r.client.as_deref() == Some(name.as_str()))
        .cloned()
        .collect();
    ClientRun {
        started: client.started,
        run: Run {
            stdout: client.output.stdout(),
            stderr: client.output.stderr(),
            journal,
            issued_at: seen.issued_at.clone(),
            files: written_files(&client.view, &client.sandbox.home()),
            unmet_rules: None,
            secrets: secrets_of(&client.view),
            mock_uri: uri.to_owned(),
            client: ClientSide::InProcess(Session {
                outcome,
                trace: client.output.trace(),
                virtual_time: seen.moved,
            }),
            clients: Vec::new(),
        },
        name,
    }
}

/// The run of them all: every request, each client's output under its
/// name, the secrets of every client, the rules' unmet expectations.
fn whole_run(scenario: &Scenario, runs: Vec<ClientRun>, seen: Seen, uri: String) -> Run {
    let under_names = |part: fn(&Run) -> &str| {
        runs.iter()
            .map(|c| format!("--- {}\n{}", c.name, part(&c.run)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let stdout = under_names(|r| &r.stdout);
    let stderr = under_names(|r| &r.stderr);
    let mut secrets = secrets_of(scenario);
    for client in &runs {
        secrets.extend(client.run.secrets.iter().cloned());
    }
    // Counts of credential work are the clients' together; the exit and
    // failure of the whole are not read (each client's are its own).
    let counted = runs
        .iter()
        .filter_map(|c| c.run.session()?.outcome.credentials)
        .fold(SourceCounts::default(), |mut sum, c| {
            sum.chain += c.chain;
            sum.exports += c.exports;
            sum.sts_checks += c.sts_checks;
            sum.auth_refreshes += c.auth_refreshes;
            sum
        });
    let mut outcome = Outcome::default();
    outcome.credentials = Some(counted);
    Run {
        stdout,
        stderr,
        journal: seen.journal,
        issued_at: seen.issued_at,
        files: Default::default(),
        unmet_rules: seen.unmet_rules,
        secrets,
        mock_uri: uri,
        client: ClientSide::InProcess(Session {
            outcome,
            trace: String::new(),
            virtual_time: seen.moved,
        }),
        clients: runs,
    }
}

/// Time for several clients on the mock's clock: it moves only when every
/// client still running waits, to the earliest moment one of them wakes.
#[derive(Clone)]
struct Timeline {
    shared: Arc<Waits>,
}

struct Waits {
    mock: Clock,
    state: Mutex<WaitState>,
    changed: tokio::sync::Notify,
}

/// The clients still running, and when each waiting one wakes.
struct WaitState {
    running: usize,
    wakes: Vec<SystemTime>,
}

impl Timeline {
    fn new(mock: Clock, clients: usize) -> Self {
        Self {
            shared: Arc::new(Waits {
                mock,
                state: Mutex::new(WaitState {
                    running: clients,
                    wakes: Vec::new(),
                }),
                changed: tokio::sync::Notify::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WaitState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits `duration` of the shared time: returns once the clock has
    /// reached it, moving the clock there itself when every running
    /// client waits and this one wakes first.
    async fn sleep(&self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let mock = &self.shared.mock;
        let wake = mock.now() + duration;
        self.lock().wakes.push(wake);
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                let now = mock.now();
                if now >= wake {
                    if let Some(at) = state.wakes.iter().position(|w| *w == wake) {
                        state.wakes.swap_remove(at);
                    }
                    drop(state);
                    self.shared.changed.notify_waiters();
                    return;
                }
                // Every running client waits, none has woken yet: time
                // passes to the first wake-up. (One already due wakes on
                // its own notification.)
                if state.wakes.len() >= state.running
                    && let Some(earliest) = state.wakes.iter().min().copied()
                    && earliest > now
                {
                    mock.advance(earliest.duration_since(now).unwrap_or_default());
                    drop(state);
                    self.shared.changed.notify_waiters();
                    continue;
                }
            }
            notified.await;
        }
    }

    /// A client has ended: the others no longer wait for it.
    fn finished(&self) {
        self.lock().running -= 1;
        self.shared.changed.notify_waiters();
    }
}

/// One client's view of the [`Timeline`]: its time since it started.
#[derive(Clone)]
struct ClientClock {
    timeline: Timeline,
    origin: SystemTime,
}

impl std::fmt::Debug for ClientClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientClock")
    }
}

impl bedrock_client::clock::TimeSource for ClientClock {
    fn elapsed(&self) -> Duration {
        self.now().duration_since(self.origin).unwrap_or_default()
    }

    fn now(&self) -> SystemTime {
        self.timeline.shared.mock.now()
    }

    async fn sleep(&self, duration: Duration) {
        self.timeline.sleep(duration).await;
    }

    fn deadlines(&self) -> Arc<dyn Deadlines> {
        Arc::new(MockDeadlines(self.timeline.shared.mock.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[tokio::test]
    async fn the_clock_moves_only_when_every_running_client_waits() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let timeline = Timeline::new(clock.clone(), 2);
        let (long, other) = (timeline.clone(), timeline.clone());
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        let first = async move {
            long.sleep(Duration::from_secs(8 * 3600)).await;
            let woke = long.shared.mock.now();
            long.finished();
            woke
        };
        let second = async move {
            other.sleep(Duration::from_secs(60)).await;
            let woke = other.shared.mock.now();
            // Still running: the first client's eight hours wait for it.
            other.sleep(Duration::from_secs(30)).await;
            let again = other.shared.mock.now();
            other.finished();
            (woke, again)
        };
        let (first, (second, again)) = tokio::join!(first, second);
        assert_eq!(second, at(60));
        assert_eq!(again, at(90));
        assert_eq!(first, at(8 * 3600));
        assert_eq!(clock.now(), at(8 * 3600));
    }
}
