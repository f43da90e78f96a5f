//! [`MockBedrock`], the handle a test or the standalone server holds: it
//! starts the listener with the app (the admin API under its prefix,
//! every other path through the request pipeline) and reads and changes
//! the state the requests share (`state`).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin_access::{AdminAccess, Gate, is_loopback};
use crate::checks::{ConfigError, ConfigErrorKind};
use crate::clock::Clock;
use crate::config::{Credential, ServerConfig};
use crate::credentials::CredentialReport;
use crate::journal::{JournalLimits, RecordedRequest};
use crate::listen::{Bounds, ReadLimits};
use crate::rules::Rule;
use crate::state::{ExpectationError, Shared};

/// A running fake Bedrock. Dropping it stops the server and checks the
/// rules' expectations (panicking, like wiremock, when one is not met;
/// [`MockBedrock::verify`] checks them at a line of your choosing, and
/// [`MockBedrock::reset`] forgets them).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bedrock_mock_server::{Answer, ErrorCode, Match, MockBedrock, Operation, Rule};
///
/// let server = MockBedrock::start().await;
/// server.mount(
///     Rule::new(Match::operation(Operation::InvokeModel), Answer::error(ErrorCode::ThrottlingException)).times(1),
/// );
/// assert!(server.uri().starts_with("http://127.0.0.1:"));
/// assert!(server.received_requests().is_empty());
/// # }
/// ```
pub struct MockBedrock {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// How the server was set up, for the listeners added for one client
    /// each ([`MockBedrock::listen_for`]).
    setup: Listening,
    /// Those listeners: each one's stop and task.
    client_listeners: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// What every listener of a server shares: its admin access, read and
/// write limits.
#[derive(Debug, Clone)]
struct Listening {
    admin_access: AdminAccess,
    read_limits: ReadLimits,
    write_timeout: Duration,
}

/// Options for starting a [`MockBedrock`].
#[derive(Debug, Clone)]
pub struct MockBedrockBuilder {
    config: ServerConfig,
    clock: Clock,
    address: SocketAddr,
    log_requests: bool,
    read_limits: ReadLimits,
    admin_access: AdminAccess,
    write_timeout: Duration,
    journal_limits: JournalLimits,
}

/// Why a server could not start: its address could not be bound, or its
/// config failed [`ServerConfig::check`].
#[derive(Debug)]
pub struct StartError {
    address: SocketAddr,
    cause: StartCause,
}

#[derive(Debug)]
enum StartCause {
    Listen(std::io::Error),
    Config(ConfigError),
    /// An open admin API on an address others can reach.
    OpenBeyondLoopback,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            StartCause::Listen(source) => write!(
                f,
                "could not listen on {}: {source} (pick another port, or 0 for any free one)",
                self.address
            ),
            StartCause::Config(error) => write!(f, "the config cannot be served: {error}"),
            StartCause::OpenBeyondLoopback => write!(
                f,
                "will not listen on {} with the admin API open: it is not a loopback \
                 address, and anyone who reaches it could read the account's secrets and \
                 script the answers; give AdminAccess::Token or AdminAccess::Off, or listen \
                 on 127.0.0.1",
                self.address
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            StartCause::Listen(source) => Some(source),
            StartCause::Config(error) => Some(error),
            StartCause::OpenBeyondLoopback => None,
        }
    }
}

impl StartError {
    /// The underlying I/O error's kind (`AddrInUse`, `PermissionDenied`,
    /// ...); `InvalidInput` for a config that failed its checks or an open
    /// admin API beyond loopback.
    pub fn kind(&self) -> std::io::ErrorKind {
        match &self.cause {
            StartCause::Listen(source) => source.kind(),
            StartCause::Config(_) | StartCause::OpenBeyondLoopback => {
                std::io::ErrorKind::InvalidInput
            }
        }
    }

    /// The config's problem, when that is why the server did not start.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bedrock_mock_server::{MockBedrock, ServerConfig};
    ///
    /// let mut config = ServerConfig::default();
    /// config.regions.clear();
    /// let error = MockBedrock::builder().config(config).start().await.err().unwrap();
    /// assert_eq!(error.config_error().unwrap().field.as_deref(), Some("regions"));
    /// # }
    /// ```
    pub fn config_error(&self) -> Option<&ConfigError> {
        match &self.cause {
            StartCause::Listen(_) | StartCause::OpenBeyondLoopback => None,
            StartCause::Config(error) => Some(error),
        }
    }
}

impl Default for MockBedrockBuilder {
    fn default() -> Self {
        Self {
            config: ServerConfig::default(),
            clock: Clock::system(),
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log_requests: false,
            read_limits: ReadLimits::default(),
            admin_access: AdminAccess::Open,
            write_timeout: Duration::from_secs(60),
            journal_limits: JournalLimits::default(),
        }
    }
}

impl MockBedrockBuilder {
    /// The account state to serve.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock expiry and skew are judged by.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Where to listen; `127.0.0.1:0` (any free port) by default. An
    /// address beyond loopback (`0.0.0.0`, a LAN address) also needs
    /// [`MockBedrockBuilder::admin_access`] other than open.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Prints one line per request to stderr.
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// How long a client may take to send a request's head and its body
    /// (60 s each by default), in real time.
    pub fn read_limits(mut self, limits: ReadLimits) -> Self {
        self.read_limits = limits;
        self
    }

    /// Who may call the admin API: [`AdminAccess::Open`] by default,
    /// which only a loopback address may have.
    pub fn admin_access(mut self, access: AdminAccess) -> Self {
        self.admin_access = access;
        self
    }

    /// How long a client may leave the server's writes without progress
    /// (not reading its answer) before its connection is closed: 60 s by
    /// default, in real time. The request being answered gets
    /// `write-timeout` in the journal.
    pub fn write_timeout(mut self, limit: Duration) -> Self {
        self.write_timeout = limit;
        self
    }

    /// How much the journal keeps before it drops its oldest entries
    /// (counted in [`MockBedrock::dropped_requests`]).
    pub fn journal_limits(mut self, limits: JournalLimits) -> Self {
        self.journal_limits = limits;
        self
    }

    /// The builder's own bounds: a zero limit would close every
    /// connection at once, and a journal that keeps nothing could not be
    /// read.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        let zero = |field: &str, what: &str| {
            ConfigError::new(
                ConfigErrorKind::OutOfRange,
                field,
                format!("0 {what} would cut every connection or keep nothing; give 1 or more"),
            )
        };
        let limits = [
            (self.read_limits.head.is_zero(), "read_limits.head", "s"),
            (self.read_limits.body.is_zero(), "read_limits.body", "s"),
            (self.write_timeout.is_zero(), "write_timeout", "s"),
            (
                self.journal_limits.entries == 0,
                "journal_limits.entries",
                "entries",
            ),
            (
                self.journal_limits.bytes == 0,
                "journal_limits.bytes",
                "bytes",
            ),
        ];
        match limits.into_iter().find(|(is_zero, _, _)| *is_zero) {
            Some((_, field, what)) => Err(zero(field, what)),
            None => Ok(()),
        }
    }

    /// Checks the config ([`ServerConfig::check`]) and the builder's
    /// bounds, and refuses an open
    /// admin API on an address beyond loopback, both before binding; then
    /// binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<MockBedrock, StartError> {
        let refuse = |cause| StartError {
            address: self.address,
            cause,
        };
        self.config
            .check()
            .and_then(|()| self.check_bounds())
            .map_err(|error| refuse(StartCause::Config(error)))?;
        if matches!(self.admin_access, AdminAccess::Open) && !is_loopback(self.address.ip()) {
            return Err(refuse(StartCause::OpenBeyondLoopback));
        }
        let fail = |source| StartError {
            address: self.address,
            cause: StartCause::Listen(source),
        };
        let listener = crate::listen::bind(self.address).map_err(fail)?;
        let address = listener.local_addr().map_err(fail)?;
        let shared = Arc::new(Shared::new(
            self.config,
            self.clock,
            self.log_requests,
            self.read_limits.body,
            self.journal_limits,
        ));
        let setup = Listening {
            admin_access: self.admin_access,
            read_limits: self.read_limits,
            write_timeout: self.write_timeout,
        };
        let (shutdown, task) = setup.serve(listener, address, &shared, None);
        Ok(MockBedrock {
            address,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
            setup,
            client_listeners: Vec::new(),
        })
    }
}

impl Listening {
    /// Serves `shared` on `listener` (bound to `address`), its requests
    /// journaled as `client`'s when given; the stop and the task.
    fn serve(
        &self,
        listener: tokio::net::TcpListener,
        address: SocketAddr,
        shared: &Arc<Shared>,
        client: Option<&str>,
    ) -> (oneshot::Sender<()>, JoinHandle<()>) {
        let mut app = axum::Router::new()
            .merge(crate::admin::router(
                Gate::new(self.admin_access.clone(), address),
                self.read_limits.body,
            ))
            .fallback(crate::pipeline::handle)
            .with_state(Arc::clone(shared));
        if let Some(name) = client {
            app = app.layer(axum::Extension(crate::pipeline::ClientName(
                name.to_owned(),
            )));
        }
        let (shutdown, stopped) = oneshot::channel::<()>();
        let bounds = Bounds {
            read: self.read_limits,
            write: self.write_timeout,
            journal: Arc::clone(&shared.journal),
        };
        let task = tokio::spawn(crate::listen::serve(listener, app, bounds, stopped));
        (shutdown, task)
    }
}

impl MockBedrock {
    /// Listens on another loopback port for `client` alone, in front of
    /// the same account, rules, clock and journal: every request that
    /// arrives there is journaled with the client's name
    /// ([`crate::RecordedRequest::client`]), without anything on the wire
    /// telling it. The listener's base URL, or why it could not bind.
    pub fn listen_for(&mut self, client: &str) -> Result<String, std::io::Error> {
        let ip = if is_loopback(self.address.ip()) {
            self.address.ip()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };
        let listener = crate::listen::bind(SocketAddr::new(ip, 0))?;
        let address = listener.local_addr()?;
        let served = self
            .setup
            .serve(listener, address, &self.shared, Some(client));
        self.client_listeners.push(served);
        Ok(format!("http://{address}"))
    }

    /// The mock's app as a tower `Service`, to nest in an axum app of
    /// your own: it answers the AWS endpoints (Bedrock, Mantle, STS, the
    /// SSO portal) from the same account, rules, clock and journal as
    /// this handle, which still mounts rules, moves the clock, reads the
    /// journal and verifies expectations.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bedrock_mock_server::MockBedrock;
    ///
    /// let server = MockBedrock::start().await;
    /// let app: axum::Router = axum::Router::new().nest_service("/bedrock", server.router());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let base_url = format!("http://{}/bedrock", listener.local_addr().unwrap());
    /// tokio::spawn(async move { axum::serve(listener, app).await });
    /// // Point a client's endpoint at `base_url`.
    /// # let _ = base_url;
    /// # }
    /// ```
    ///
    /// Nested under a prefix, the mock verifies SigV4 signatures against
    /// the whole path the client signed (prefix included: axum's
    /// `OriginalUri`, which `Router::nest_service` keeps), routes what
    /// follows the prefix as it routes a gateway's, and journals the whole
    /// path (so [`Match::path`](crate::Match::path) sees it too). A host
    /// that strips the prefix some other way must keep the original URI
    /// in an `OriginalUri` extension, or signatures fail.
    ///
    /// What the nested app does not do: it has no admin API (admin paths
    /// are answered as unknown AWS paths; use this handle's methods, or
    /// the listener's API at [`MockBedrock::uri`]), no time limits on a
    /// request's head or on writes (the host server's own apply; the
    /// body's read limit still does), no write per streamed frame (each
    /// frame is still its own HTTP chunk, but the host's connection writes
    /// as many as it has at once), and no per-client listeners
    /// ([`MockBedrock::listen_for`]). It keeps answering after this handle
    /// is dropped (expectations are checked then), but stalls end.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .fallback(crate::pipeline::handle)
            .with_state(Arc::clone(&self.shared))
    }

    /// Starts a server with the default account on 127.0.0.1, any free port.
    ///
    /// # Panics
    /// If no loopback port can be bound; use [`MockBedrock::builder`] to
    /// handle that.
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .unwrap_or_else(|e| panic!("bedrock mock: {e}"))
    }

    /// Starts a server serving `config`.
    ///
    /// # Panics
    /// If `config` fails [`ServerConfig::check`], or no loopback port can
    /// be bound; use [`MockBedrock::builder`] to handle either.
    pub async fn start_with(config: ServerConfig) -> Self {
        Self::builder()
            .config(config)
            .start()
            .await
            .unwrap_or_else(|e| panic!("bedrock mock: {e}"))
    }

    /// Options for starting a server.
    pub fn builder() -> MockBedrockBuilder {
        MockBedrockBuilder::default()
    }

    /// `http://127.0.0.1:{port}`: the base URL for every endpoint variable.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's clock; move it to test expiry and skew.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Every AWS request received so far, secrets redacted (the latest
    /// only, once the journal dropped some over its limits).
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.shared.journal.snapshot()
    }

    /// How many requests the journal dropped, the oldest first, over its
    /// [`JournalLimits`] since the start (or the last reset). While it is
    /// not 0, [`MockBedrock::received_requests`] is not every request;
    /// rules' expectations count apart from the journal and still hold.
    pub fn dropped_requests(&self) -> u64 {
        self.shared.journal.count().dropped
    }

    /// Adds a rule after those already mounted.
    ///
    /// # Panics
    /// If the rule fails [`Rule::check`] (a test's mistake, reported like
    /// wiremock's); [`MockBedrock::try_mount`] returns the error instead.
    pub fn mount(&self, rule: Rule) {
        let label = rule.label();
        if let Err(e) = self.try_mount(rule) {
            panic!("bedrock mock: rule `{label}` not mounted: {e}");
        }
    }

    /// Adds a rule after those already mounted, if it passes
    /// [`Rule::check`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bedrock_mock_server::{Dribble, Match, MockBedrock, Rule};
    ///
    /// let server = MockBedrock::start().await;
    /// let silent = Rule::dribbling(Match::any(), Dribble::new(0, 0));
    /// let error = server.try_mount(silent).unwrap_err();
    /// assert_eq!(error.field.as_deref(), Some("dribble.bytes"));
    /// # }
    /// ```
    pub fn try_mount(&self, rule: Rule) -> Result<(), ConfigError> {
        rule.check()?;
        self.shared.mount(rule);
        Ok(())
    }

    /// Changes the account state. Mounted rules are kept; changes to the
    /// config's own `rules` and `seed` take effect at the next
    /// [`MockBedrock::reset`] only if made to the starting config, so mount
    /// rules with [`MockBedrock::mount`] instead. `change` sees the config
    /// as set, without the keys issued or minted since (those are kept
    /// apart, and shown by [`MockBedrock::config`]). It may read the
    /// server but must not issue credentials (that waits for this change).
    ///
    /// # Panics
    /// If the changed config fails [`ServerConfig::check`]; the config is
    /// then left as it was.
    pub fn update_config(&self, change: impl FnOnce(&mut ServerConfig)) {
        let mut refused = None;
        self.shared.update_config(|config| {
            let before = config.clone();
            change(config);
            if let Err(e) = config.check() {
                *config = before;
                refused = Some(e);
            }
        });
        if let Some(e) = refused {
            panic!("bedrock mock: config not changed: {e}");
        }
    }

    /// Hands out the next of the config's `next_credentials`, as the admin
    /// API's `POST /__bedrock_mock/credentials/next` does, and makes it a
    /// key of the account. `None` when nothing is queued.
    pub fn issue_credential(&self) -> Option<Credential> {
        self.shared.issue_credential()
    }

    /// How many credential sets were issued (from the queue, and minted by
    /// STS), and how many requests each access key signed.
    pub fn credential_report(&self) -> CredentialReport {
        self.shared.credential_report()
    }

    /// A copy of the current account state (with the keys issued and the
    /// sessions minted since it was set among its credentials).
    pub fn config(&self) -> ServerConfig {
        self.shared.account()
    }

    /// Forgets the journal and the rules, restores the starting account
    /// state, and runs the clock as it ran at the start: fixed at the
    /// time it was fixed at, or following the system clock (with the same
    /// skew). A client sharing the clock sees it move too.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Checks every rule's `expect`; the error lists each one not met.
    pub fn verify(&self) -> Result<(), ExpectationError> {
        self.shared.verify()
    }

    /// Stops accepting connections and waits for open ones to finish.
    pub async fn shutdown(mut self) {
        self.shared.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for (stop, task) in std::mem::take(&mut self.client_listeners) {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockBedrock {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for (_, task) in &self.client_listeners {
            task.abort();
        }
        if !std::thread::panicking()
            && let Err(e) = self.shared.verify()
        {
            // A panic in `drop` points at this line, not the test's: say
            // how to get the failure at the test's own line.
            panic!(
                "{e}(checked as the MockBedrock was dropped; end the test with \
                 `server.verify().unwrap()` to fail at your own line)"
            );
        }
    }
}
