//! Running one scenario in-process: the mock on 127.0.0.1 (port 0), the
//! client's command line in a fresh HOME with only the scenario's
//! environment, both on one clock that moves only when the client waits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bedrock_client::cli::{self, Cli, Console, Environment, Outcome};
use bedrock_client::clock::Deadlines;
use bedrock_client::config::Sources;
use bedrock_client::conversation::Input;
use bedrock_mock_server::Clock;
use clap::Parser;

use super::format::Scenario;
use super::observed::{ClientSide, Run, Seen, Session, start_mock};
use super::setup::{
    Sandbox, client_args, client_env, conversation_lines, fill_in, secrets_of, user_settings,
    write_files, written_files,
};
use super::transit;

/// A whole run may take this long before it is stopped and failed.
pub const RUN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs `scenario` and returns what happened; `Err` when it could not be
/// run at all (a bad setting, a run past [`RUN_TIME_LIMIT`]).
pub async fn execute(scenario: &Scenario) -> Result<Run, String> {
    execute_through(scenario, None).await
}

/// What keeps a front running until the session ends.
pub type FrontGuard = Box<dyn std::any::Any + Send>;

/// A proxy the client's requests pass through on their way to the mock
/// (`record`'s, in its tests): given the mock's URL, it returns the URL
/// the client is given.
pub type Front = Box<
    dyn FnOnce(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(String, FrontGuard), String>> + Send>,
        > + Send,
>;

/// Runs `scenario` as [`execute`] does, the client's requests passing
/// through `front` when one is given (else through the scenario's own
/// `[client.transit]`, if any).
pub async fn execute_through(scenario: &Scenario, front: Option<Front>) -> Result<Run, String> {
    let sandbox = Sandbox::new(&scenario.name)?;
    match tokio::time::timeout(RUN_TIME_LIMIT, execute_in(scenario, &sandbox, front)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the run did not finish in {} s and was stopped",
            RUN_TIME_LIMIT.as_secs()
        )),
    }
}

async fn execute_in(
    scenario: &Scenario,
    sandbox: &Sandbox,
    front: Option<Front>,
) -> Result<Run, String> {
    let start = scenario.clock.start_time();
    let mock_clock = Clock::fixed(start);
    let server = start_mock(&scenario.server, mock_clock.clone()).await?;
    let fronted = match front {
        Some(front) => front(server.uri()).await,
        None => transit::client_uri(scenario, &server)
            .await
            .map(|(uri, proxy)| (uri, Box::new(proxy) as FrontGuard)),
    };
    let (uri, proxy) = match fronted {
        Ok(front) => front,
        Err(e) => {
            Seen::finish(server, start).await;
            return Err(e);
        }
    };
    // The mock is stopped and read whatever became of the session.
    let session = session(scenario, sandbox, &uri, &mock_clock, start).await;
    drop(proxy);
    let seen = Seen::finish(server, start).await;
    let (output, outcome) = session?;
    Ok(Run {
        stdout: output.stdout(),
        stderr: output.stderr(),
        journal: seen.journal,
        issued_at: seen.issued_at,
        files: written_files(scenario, &sandbox.home()),
        unmet_rules: seen.unmet_rules,
        secrets: secrets_of(scenario),
        mock_uri: uri,
        client: ClientSide::InProcess(Session {
            outcome,
            trace: output.trace(),
            virtual_time: seen.moved,
        }),
        clients: Vec::new(),
    })
}

/// The client's session against the mock at `uri`: its files written,
/// its command line run on the shared clock.
async fn session(
    scenario: &Scenario,
    sandbox: &Sandbox,
    uri: &str,
    mock_clock: &Clock,
    start: SystemTime,
) -> Result<(Output, Outcome), String> {
    let fill = |text: &str| fill_in(text, uri, sandbox);
    let env = client_env(scenario, uri, sandbox, &[], &fill);
    write_files(scenario, sandbox, user_settings(scenario)?.as_ref(), &fill)?;
    let cli = client_cli(scenario)?;
    let output = Output::default();
    let mut environment = Environment::new(
        client_sources(scenario, sandbox, env),
        output.console(),
        SharedClock {
            mock: mock_clock.clone(),
            start,
        },
    );
    // Backoff without randomness: the same scenario takes the same
    // virtual time and sends the same requests every run.
    environment.jitter = Some(0.0);
    environment.input = Input::Scripted(conversation_lines(scenario));
    let outcome = cli::run(&cli, &environment).await;
    Ok((output, outcome))
}

/// The scenario's arguments, as `bedrock-client` parses them.
pub(super) fn client_cli(scenario: &Scenario) -> Result<Cli, String> {
    let args = client_args(scenario);
    Cli::try_parse_from(&args).map_err(|e| {
        format!(
            "client.args: bedrock-client does not accept {:?}: {}",
            &args[1..],
            e.render().to_string().lines().next().unwrap_or_default()
        )
    })
}

/// Where the client reads its configuration: the scenario's environment
/// and the sandbox's settings folders.
pub(super) fn client_sources(
    scenario: &Scenario,
    sandbox: &Sandbox,
    env: BTreeMap<String, String>,
) -> Sources {
    let mut sources = Sources::new(env)
        .with_home(sandbox.home())
        .with_project(sandbox.project());
    if scenario.client.settings.managed.is_some() {
        sources = sources.with_managed(sandbox.managed());
    }
    sources
}

/// What the client printed and traced.
#[derive(Default)]
pub(super) struct Output {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    trace: Arc<Mutex<Vec<u8>>>,
}

impl Output {
    pub(super) fn console(&self) -> Console {
        Console::writing_to(Arc::clone(&self.stdout), Arc::clone(&self.stderr))
            .tracing_to(Arc::clone(&self.trace))
    }

    pub(super) fn stdout(&self) -> String {
        text_of(&self.stdout)
    }

    pub(super) fn stderr(&self) -> String {
        text_of(&self.stderr)
    }

    pub(super) fn trace(&self) -> String {
        text_of(&self.trace)
    }
}

fn text_of(buffer: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// The client's clock, reading and moving the mock's: when the client
/// backs off, time passes for the server too (credentials expire, SigV4
/// dates agree), without a real wait.
#[derive(Debug, Clone)]
struct SharedClock {
    mock: Clock,
    start: SystemTime,
}

impl bedrock_client::clock::TimeSource for SharedClock {
    fn elapsed(&self) -> Duration {
        self.mock
            .now()
            .duration_since(self.start)
            .unwrap_or_default()
    }

    fn now(&self) -> SystemTime {
        self.mock.now()
    }

    async fn sleep(&self, duration: Duration) {
        self.mock.advance(duration);
        tokio::task::yield_now().await;
    }

    fn deadlines(&self) -> Arc<dyn Deadlines> {
        Arc::new(MockDeadlines(self.mock.clone()))
    }
}

/// The client's waits for answers, on the mock's timeline: a stalled
/// answer's wait gives up when the mock's clock says so, without a real
/// wait.
pub(super) struct MockDeadlines(pub(super) Clock);

impl Deadlines for MockDeadlines {
    fn give_up(
        &self,
        request: &str,
        received: Option<u64>,
        limit: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(self.0.wait(request, received, limit))
    }

    fn hold(&self) -> Box<dyn Send> {
        Box::new(self.0.hold())
    }
}
