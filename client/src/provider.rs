//! The provider: sends one call the way Claude Code does, from the
//! resolved [`Config`]: to the right host and region, with the CLI's
//! headers, authenticated as the endpoint says (SigV4 with credentials the
//! [`credentials`](crate::credentials) keep fresh, a bearer key, or nothing), retried
//! as the CLI retries. What a call *is* (which model, which body) is the
//! caller's: probes, the turn and the control plane all come through here.
//!
//! A provider is made from a [`Config`] and handed to a
//! [`Session`](crate::session::Session), which sends the startup checks and
//! the turn through it:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use bedrock_client::config::Sources;
//! use bedrock_client::provider::Provider;
//! use bedrock_client::session::{Session, lineup, load_catalogue};
//! use bedrock_client::Config;
//!
//! let config = Config::load(&Sources::from_process())?;
//! let catalogue = load_catalogue(&config)?;
//! let cli = lineup(&catalogue, "cli")?.clone();
//! let mut provider = Provider::from_config(config, std::sync::Arc::new(|_: &[u8]| {}));
//! let mut session = Session::start(&mut provider, catalogue, &cli, Some("haiku")).await?;
//! let answer = session
//!     .run(&mut provider, "Hello", &mut |text| print!("{text}"))
//!     .await
//!     .map_err(|failed| format!("{failed:?}"))?;
//! assert!(answer.stop_reason.is_some());
//! # Ok(()) }
//! ```
//!
//! [`sign_request`] signs a request as the CLI does, for callers (load
//! generators) that send their own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::authorize::{ModelRegion, authorization_headers, base_url_for, region_for};
use crate::clock::{SystemClock, TimeSource};
use crate::command::OutputSink;
use crate::config::{Auth, Config};
use crate::credentials::{
    AwsCredentials, CredentialManager, CredentialSource, SourceCounts, SystemSources,
};
use crate::error::{Error, ErrorKind};
use crate::failure::ApiFailure;
use crate::request::{
    CallKind, MessagesRequest, ModelCall, control_plane_headers, invocation_id, is_signed,
    model_call_headers, model_path, random_bytes, wire_order,
};
use crate::retry::RetryPolicy;
use crate::retrying::run_with_retries;
use crate::transport::{Outgoing, Response};

pub use crate::endpoint::{Endpoint, is_mantle_id};
pub use crate::request::Identity;
pub use crate::retrying::{AttemptError, GaveUp};
pub use crate::signing::{Service, ToSign, sign_request};
pub use crate::transport::HttpClient;

/// The most of an error answer read (AWS error bodies are a few hundred
/// bytes; a proxy's HTML page is cut here).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How long an error answer's body may take to arrive.
const ERROR_BODY_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Which of Bedrock's planes a call is on, which decides its headers and
/// retries: the CLI makes model calls with the Anthropic SDK and control
/// plane calls with the AWS JS SDK.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Plane<'a> {
    /// The data plane's model calls (Invoke or Mantle): the Anthropic
    /// SDK's headers, `CLAUDE_CODE_MAX_RETRIES` retries.
    Data {
        /// Probe or turn.
        kind: CallKind,
        /// The `anthropic-beta` header (turns only).
        betas: &'a [String],
    },
    /// `ListInferenceProfiles` and `GetInferenceProfile`: the AWS JS SDK's
    /// headers and its three attempts.
    Control,
}

/// One call.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    /// Which endpoint's host and auth.
    pub endpoint: Endpoint,
    /// A model call, or one on the control plane.
    pub plane: Plane<'a>,
    /// The region setting its model uses.
    pub region: ModelRegion,
    /// `GET` or `POST`.
    pub method: http::Method,
    /// The path (already encoded as it goes on the wire) and query.
    pub path_and_query: String,
    /// The body.
    pub body: Bytes,
    /// Time limit for the answer's head (the profile's: 8 s for probes,
    /// 600 s turns).
    pub timeout: Duration,
}

impl Call<'static> {
    /// The availability probe of `model` on `endpoint`: `request` (see
    /// [`MessagesRequest::probe`]) to `/model/{id}/invoke` or Mantle's
    /// `/v1/messages`, within `timeout` (the profile's), no betas.
    pub fn probe(
        endpoint: Endpoint,
        model: &str,
        region: ModelRegion,
        request: &MessagesRequest,
        timeout: Duration,
    ) -> Self {
        Call {
            endpoint,
            plane: Plane::Data {
                kind: CallKind::Probe,
                betas: &[],
            },
            region,
            method: http::Method::POST,
            path_and_query: match endpoint {
                Endpoint::Bedrock => model_path(model, "invoke"),
                Endpoint::Mantle => "/v1/messages".to_owned(),
            },
            body: request
                .to_body(endpoint, CallKind::Probe, model, false)
                .into(),
            timeout,
        }
    }
}

/// Sends calls for one session.
pub struct Provider<S, C> {
    config: Config,
    identity: Identity,
    http: HttpClient,
    clock: C,
    credentials: CredentialManager<S>,
    jitter: Box<dyn FnMut() -> f64 + Send>,
}

impl<S, C> std::fmt::Debug for Provider<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Provider<SystemSources, SystemClock> {
    /// The real thing: the machine's credential sources, the system clock,
    /// a new session. `awsAuthRefresh` output goes to `show`.
    pub fn from_config(config: Config, show: OutputSink) -> Self {
        let http = HttpClient::new();
        let sources = SystemSources::new(&config, http.clone(), show);
        Self::new(
            config,
            sources,
            SystemClock::default(),
            http,
            Identity::new_session(),
        )
    }
}

impl<S: CredentialSource, C: TimeSource> Provider<S, C> {
    /// A provider with the given parts (tests pass scripted sources and a
    /// virtual clock).
    pub fn new(config: Config, source: S, clock: C, http: HttpClient, identity: Identity) -> Self {
        let credentials = CredentialManager::new(
            source,
            config.aws_credential_export.clone(),
            config.aws_auth_refresh.clone(),
            &config.cli.credentials,
        );
        Self {
            config,
            identity,
            http,
            clock,
            credentials,
            jitter: Box::new(random_unit),
        }
    }

    /// Replaces the backoff jitter (0 to 1 per draw; random by default).
    pub fn with_jitter(mut self, jitter: impl FnMut() -> f64 + Send + 'static) -> Self {
        self.jitter = Box::new(jitter);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The clock retries wait on.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The session's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// How often each credential source was used.
    pub fn credential_counts(&self) -> SourceCounts {
        self.credentials.counts()
    }

    /// The explanation for a run that ended on refused credentials after
    /// `awsAuthRefresh` ran: the loop the seed's troubleshooting describes
    /// (a refresh that finishes but leaves the credentials bad), and what
    /// to do instead. `None` if the command never ran.
    pub fn refresh_loop_hint(&self) -> Option<String> {
        self.credentials.refresh_loop_hint()
    }

    /// Loads the credentials SigV4 would sign with (for `setup`): their
    /// access key id, never a secret; `None` when no endpoint signs.
    pub async fn load_credentials(&mut self) -> Result<Option<String>, Error> {
        let signs = [&self.config.bedrock_auth, &self.config.mantle_auth]
            .iter()
            .any(|auth| matches!(auth, Auth::AwsCredentials { .. }));
        if !signs {
            return Ok(None);
        }
        let credentials = self.credentials.credentials(&self.clock).await?;
        Ok(Some(credentials.access_key_id))
    }

    /// Sends each of `calls` once, all at the same time, with the same
    /// credentials (loaded once): the startup probes, which are not
    /// retried. Results come back in the order of `calls`.
    pub(crate) async fn send_each_once(
        &mut self,
        calls: &[Call<'_>],
    ) -> Vec<Result<Response, AttemptError>> {
        let signed = calls.iter().any(|call| {
            matches!(
                auth_for(&self.config, call.endpoint),
                Auth::AwsCredentials { .. }
            )
        });
        let credentials = if signed {
            match self.credentials.credentials(&self.clock).await {
                Ok(credentials) => Some(credentials),
                Err(e) => {
                    return calls
                        .iter()
                        .map(|_| Err(AttemptError::Transport(e.clone())))
                        .collect();
                }
            }
        } else {
            None
        };
        let time = self.clock.now();
        let senders: Vec<Sender<'_>> = calls
            .iter()
            .map(|call| Sender::new(&self.config, &self.identity, &self.http, call.endpoint))
            .collect();
        let attempts = calls
            .iter()
            .zip(&senders)
            .map(|(call, sender)| sender.attempt(call, credentials.clone(), time))
            .collect();
        self.http.all_at_once(attempts).await
    }

    /// Sends `call`, retrying as the CLI does; a 2xx answer comes back
    /// unread (a stream is read as it arrives), anything else as the
    /// reason the run gave up.
    pub(crate) async fn send(&mut self, call: &Call<'_>) -> Result<Response, GaveUp> {
        let auth = auth_for(&self.config, call.endpoint);
        let policy = match call.plane {
            Plane::Data { .. } => {
                RetryPolicy::new(self.config.max_retries, &self.config.cli.retries)
            }
            Plane::Control => RetryPolicy::aws_sdk(&self.config.cli.retries),
        };
        let manager = matches!(auth, Auth::AwsCredentials { .. }).then_some(&mut self.credentials);
        let sender = Sender::new(&self.config, &self.identity, &self.http, call.endpoint);
        let clock = &self.clock;
        run_with_retries(policy, clock, &mut self.jitter, manager, |credentials| {
            sender.attempt(call, credentials, clock.now())
        })
        .await
    }
}

/// How calls to `endpoint` authenticate.
fn auth_for(config: &Config, endpoint: Endpoint) -> &Auth {
    match endpoint {
        Endpoint::Bedrock => &config.bedrock_auth,
        Endpoint::Mantle => &config.mantle_auth,
    }
}

/// The parts one attempt needs, borrowed from the provider.
struct Sender<'a> {
    config: &'a Config,
    identity: &'a Identity,
    http: &'a HttpClient,
    auth: &'a Auth,
    attempt: AtomicU32,
    invocation_id: String,
}

impl<'a> Sender<'a> {
    /// The sender of one operation to `endpoint`; its invocation id is kept
    /// across the operation's attempts (the AWS JS SDK's
    /// `amz-sdk-invocation-id`).
    fn new(
        config: &'a Config,
        identity: &'a Identity,
        http: &'a HttpClient,
        endpoint: Endpoint,
    ) -> Self {
        Sender {
            config,
            identity,
            http,
            auth: auth_for(config, endpoint),
            attempt: AtomicU32::new(0),
            invocation_id: invocation_id(),
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        credentials: Option<AwsCredentials>,
        time: SystemTime,
    ) -> Result<Response, AttemptError> {
        self.attempt.fetch_add(1, Ordering::Relaxed);
        let outgoing = self
            .prepare(call, credentials.as_ref(), time)
            .map_err(AttemptError::Transport)?;
        let response = self
            .http
            .send(outgoing, call.timeout)
            .await
            .map_err(AttemptError::Transport)?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        let status = response.status;
        let headers = response.headers.clone();
        let body = response
            .bytes(MAX_ERROR_BODY, ERROR_BODY_TIME_LIMIT)
            .await
            .map_err(AttemptError::Transport)?;
        Err(AttemptError::Api(ApiFailure::from_answer(
            status, &headers, &body,
        )))
    }

    /// The request as it goes on the wire.
    fn prepare(
        &self,
        call: &Call<'_>,
        credentials: Option<&AwsCredentials>,
        time: SystemTime,
    ) -> Result<Outgoing, Error> {
        let base = base_url_for(self.config, call.endpoint, call.region);
        let url = format!("{}{}", base.trim_end_matches('/'), call.path_and_query);
        let host = host_of(&url)?;
        let mut headers = self.headers(call, host);
        if !matches!(self.auth, Auth::Skipped) {
            // The client's authentication wins over a custom header of the
            // same name (with skipped auth, a gateway's `Authorization`
            // in ANTHROPIC_CUSTOM_HEADERS is the authentication).
            headers.retain(|(name, _)| !is_authentication(name));
        }
        let added = self.authentication(call, &url, &headers, credentials, time)?;
        match call.plane {
            Plane::Data { .. } => {
                headers.extend(added);
                let signed = matches!(self.auth, Auth::AwsCredentials { .. });
                let leading = &self.config.cli.headers.signed_first;
                headers = wire_order(headers, signed.then_some(leading.as_slice()));
            }
            Plane::Control => headers.extend(js_sdk_signer_order(
                added,
                &self.config.cli.headers.aws_sdk_signer_order,
            )),
        }
        Ok(Outgoing {
            method: call.method.clone(),
            url,
            headers,
            body: call.body.clone(),
        })
    }

    /// `call`'s headers before authentication, `host` among them: the
    /// Anthropic SDK's for a model call, the AWS JS SDK's on the control
    /// plane.
    fn headers(&self, call: &Call<'_>, host: String) -> Vec<(String, String)> {
        match call.plane {
            Plane::Data { kind, betas } => {
                let mut headers = model_call_headers(
                    self.config,
                    self.identity,
                    &ModelCall {
                        endpoint: call.endpoint,
                        kind,
                        betas,
                        timeout: call.timeout,
                    },
                );
                headers.push(("host".to_owned(), host));
                headers
            }
            Plane::Control => control_plane_headers(
                self.identity,
                &host,
                &self.invocation_id,
                (
                    self.attempt.load(Ordering::Relaxed),
                    self.config.cli.retries.aws_sdk_attempts,
                ),
            ),
        }
    }

    /// The headers that authenticate `call` (sent to `url` with `headers`)
    /// as its endpoint does: SigV4 signs the headers the CLI signs and the
    /// body, for the endpoint's service and the model's region; a bearer
    /// key or skipped auth needs neither.
    fn authentication(
        &self,
        call: &Call<'_>,
        url: &str,
        headers: &[(String, String)],
        credentials: Option<&AwsCredentials>,
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, Error> {
        let service = match call.endpoint {
            Endpoint::Bedrock => Service::Bedrock,
            Endpoint::Mantle => Service::BedrockMantle,
        };
        let signed = matches!(self.auth, Auth::AwsCredentials { .. });
        let (to_sign, body): (Vec<(String, String)>, &[u8]) = if signed {
            let to_sign = headers
                .iter()
                .filter(|(name, _)| is_signed(name))
                .cloned()
                .collect();
            (to_sign, &call.body)
        } else {
            (Vec::new(), &[])
        };
        let request = ToSign {
            method: call.method.as_str(),
            url,
            headers: &to_sign,
            body,
        };
        let region = region_for(self.config, call.region);
        authorization_headers(&request, self.auth, credentials, region, service, time)
    }
}

/// `host[:port]` of `url`, as the `host` header (and the signature) has it.
fn host_of(url: &str) -> Result<String, Error> {
    let uri: http::Uri = url.parse().map_err(|e| {
        Error::new(
            ErrorKind::Request,
            format!("{url} is not a valid URL ({e}): check ANTHROPIC_BEDROCK_BASE_URL and ANTHROPIC_BEDROCK_MANTLE_BASE_URL"),
        )
    })?;
    uri.authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| Error::new(ErrorKind::Request, format!("{url} has no host")))
}

/// Headers that carry authentication, which the client sets itself.
fn is_authentication(name: &str) -> bool {
    matches!(
        name,
        "authorization" | "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256"
    )
}

/// The signer's headers in the order the AWS JS SDK adds them, as the
/// profile has it (golden/a_happy seq 1: `x-amz-date`,
/// `x-amz-content-sha256`, `authorization`; the session token after the
/// date).
fn js_sdk_signer_order(
    mut added: Vec<(String, String)>,
    order: &[String],
) -> Vec<(String, String)> {
    added.sort_by_key(|(name, _)| order.iter().position(|o| o == name).unwrap_or(order.len()));
    added
}

/// A random number from 0 to 1 for the backoff jitter.
fn random_unit() -> f64 {
    let bytes = random_bytes::<8>();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
