//! What the fake AWS account holds: regions, models, inference profiles,
//! credentials, API keys, and what the models answer.
//!
//! One type, [`ServerConfig`], set from Rust with builder methods or read
//! from JSON/TOML (the standalone server's `--config`, a scenario's
//! `[server]` table, the admin API's `PUT /config`). Unknown keys are
//! errors, so a typo in a scenario fails loudly instead of being ignored;
//! what serde cannot check (bounds, ids, HTTP framing) is `checks`, and
//! reading files is `config_file`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::geography;
use crate::reply::Reply;
use crate::rules::Rule;
use crate::timefmt::Timestamp;

/// The test credentials the golden captures were signed with; also the
/// default credentials of a new server.
pub const EXAMPLE_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// The secret of [`EXAMPLE_ACCESS_KEY_ID`].
pub const EXAMPLE_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// A Bedrock API key a new server accepts: the long-term key format
/// (`ABSK` + base64 of `BedrockAPIKey-...`).
pub const EXAMPLE_API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1tb2NrLWFjY291bnQtZXhhbXBsZQ==";

/// An SSO access token a new server accepts at the SSO portal: the
/// `accessToken` of a `~/.aws/sso/cache` file.
pub const EXAMPLE_SSO_TOKEN: &str = "aoaAAAAAGeXAMPLEssoACCESStoken";

/// The whole state of the fake account.
///
/// ```
/// use bedrock_mock_server::{ModelState, ServerConfig};
///
/// let config = ServerConfig::default()
///     .region("eu-west-1")
///     .model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled);
/// assert_eq!(config.regions, ["us-east-1", "eu-west-1"]);
///
/// let from_json: ServerConfig =
///     serde_json::from_str(r#"{"regions": ["us-west-2"], "account_id": "111122223333"}"#).unwrap();
/// assert_eq!(from_json.account_id, "111122223333");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ServerConfig {
    /// The 12-digit account id, used in ARNs.
    pub account_id: String,
    /// Regions a SigV4 scope may name. The first is the region of requests
    /// that carry no scope (API keys, auth off).
    pub regions: Vec<String>,
    /// How requests must authenticate.
    pub auth: AuthMode,
    /// Access keys the account knows.
    pub credentials: Vec<Credential>,
    /// Bedrock API keys the account knows.
    pub api_keys: Vec<ApiKey>,
    /// SSO access tokens the SSO portal accepts (`key` is the token).
    pub sso_tokens: Vec<ApiKey>,
    /// The foundation models; defaults to the Claude catalogue.
    pub models: Vec<FoundationModel>,
    /// The models Mantle serves, under Mantle's own ids
    /// (`anthropic.claude-haiku-4-5`); a lineup separate from `models`.
    pub mantle_models: Vec<MantleModel>,
    /// Changes the state of models by id, without restating them. An id
    /// found in both `models` and `mantle_models` changes both.
    pub model_state: BTreeMap<String, ModelState>,
    /// Changes catalogue models by id, without restating them: only the
    /// fields given change (`on_demand`, `profiles`, `regions`,
    /// `max_output_tokens`, `quota`).
    pub model_changes: BTreeMap<String, ModelChange>,
    /// The account's guardrails. A model request naming one
    /// (`X-Amzn-Bedrock-GuardrailIdentifier` and `-GuardrailVersion`) is
    /// judged by it; when the account has none, the headers are not
    /// checked (an account whose guardrails the test does not model).
    pub guardrails: Vec<Guardrail>,
    /// Explicit denies of IAM policies or service control policies:
    /// invoke requests they match are refused with 403
    /// AccessDeniedException naming the caller, the action and the
    /// resource.
    pub denies: Vec<Deny>,
    /// Application inference profiles.
    pub application_profiles: Vec<ApplicationProfile>,
    /// What every model answers unless the model or a rule says otherwise.
    pub reply: Reply,
    /// The `anthropic_beta` values the models accept.
    pub betas: Vec<String>,
    /// Pacing of streamed responses.
    pub pace: Pace,
    /// Seed of the random choices (padding, ids, delta split points).
    pub seed: u64,
    /// Credentials handed out, in order, to whoever asks the admin API
    /// (`POST /__bedrock_mock/credentials/next`): a test's
    /// `awsCredentialExport` or `awsAuthRefresh` command. Each joins
    /// `credentials` when issued; once only one is left it is issued again
    /// and again, so `[expired, expired, good]` means "two refreshes that
    /// don't help, then ones that do".
    pub next_credentials: Vec<Credential>,
    /// Answers that override the account's normal behaviour.
    pub rules: Vec<Rule>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            account_id: "123456789012".to_owned(),
            regions: vec!["us-east-1".to_owned()],
            auth: AuthMode::default(),
            credentials: vec![Credential::new(
                EXAMPLE_ACCESS_KEY_ID,
                EXAMPLE_SECRET_ACCESS_KEY,
            )],
            api_keys: vec![ApiKey {
                key: EXAMPLE_API_KEY.to_owned(),
                expires_at: None,
            }],
            sso_tokens: vec![ApiKey {
                key: EXAMPLE_SSO_TOKEN.to_owned(),
                expires_at: None,
            }],
            models: default_models(),
            mantle_models: default_mantle_models(),
            model_state: BTreeMap::new(),
            model_changes: BTreeMap::new(),
            denies: Vec::new(),
            guardrails: Vec::new(),
            application_profiles: Vec::new(),
            reply: Reply::default(),
            betas: DEFAULT_BETAS.iter().map(|b| (*b).to_owned()).collect(),
            pace: Pace::default(),
            seed: 0x0062_6564_726f_636b,
            next_credentials: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// The Claude catalogue a new server offers; the real CLI's lineup
/// (client-behaviour.md) plus the models its fallback chains reach.
fn default_models() -> Vec<FoundationModel> {
    serde_json::from_str(include_str!("../data/claude_models.json"))
        .expect("the built-in catalogue is valid")
}

/// Mantle's lineup on a new server: the current Claude models, under
/// Mantle's unversioned ids.
fn default_mantle_models() -> Vec<MantleModel> {
    serde_json::from_str(include_str!("../data/mantle_models.json"))
        .expect("the built-in Mantle lineup is valid")
}

/// Betas Bedrock accepts in `anthropic_beta` for Claude models, from the
/// captures of the real CLI and Bedrock's documentation.
const DEFAULT_BETAS: &[&str] = &[
    "claude-code-20250219",
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "computer-use-2025-11-24",
    "token-efficient-tools-2025-02-19",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "dev-full-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "tool-search-tool-2025-10-19",
    "tool-examples-2025-10-29",
    "fine-grained-tool-streaming-2025-05-14",
    "thinking-token-count-2026-05-13",
];

impl ServerConfig {
    /// Adds a region a SigV4 scope may name.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        let region = region.into();
        if !self.regions.contains(&region) {
            self.regions.push(region);
        }
        self
    }

    /// Adds an access key.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credentials.push(credential);
        self
    }

    /// Adds a Bedrock API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_keys.push(ApiKey {
            key: key.into(),
            expires_at: None,
        });
        self
    }

    /// Sets how requests authenticate.
    pub fn auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the state of one catalogue model.
    pub fn model_state(mut self, model_id: impl Into<String>, state: ModelState) -> Self {
        self.model_state.insert(model_id.into(), state);
        self
    }

    /// Changes one catalogue model: the fields `change` gives.
    pub fn model_change(mut self, model_id: impl Into<String>, change: ModelChange) -> Self {
        self.model_changes.insert(model_id.into(), change);
        self
    }

    /// Adds a guardrail.
    pub fn guardrail(mut self, guardrail: Guardrail) -> Self {
        self.guardrails.push(guardrail);
        self
    }

    /// Adds an explicit deny.
    pub fn deny(mut self, deny: Deny) -> Self {
        self.denies.push(deny);
        self
    }

    /// The account as the server uses it: `model_changes` written into
    /// the models they name (and then emptied, so applying twice changes
    /// nothing more). The checks have refused a change naming no model.
    pub(crate) fn with_changes_applied(mut self) -> Self {
        for (id, change) in std::mem::take(&mut self.model_changes) {
            if let Some(model) = self.models.iter_mut().find(|m| m.id == id) {
                change.apply_to(model);
            }
        }
        self
    }

    /// Whether model `model` is offered in `region`.
    pub(crate) fn offers_in(&self, model: &FoundationModel, region: &str) -> bool {
        model
            .regions
            .as_ref()
            .is_none_or(|regions| regions.iter().any(|r| r == region))
    }

    /// Adds an application inference profile.
    pub fn application_profile(mut self, profile: ApplicationProfile) -> Self {
        self.application_profiles.push(profile);
        self
    }

    /// Sets what every model answers.
    pub fn reply(mut self, reply: Reply) -> Self {
        self.reply = reply;
        self
    }

    /// Sets the pacing of streams.
    pub fn pace(mut self, pace: Pace) -> Self {
        self.pace = pace;
        self
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Queues credentials for the admin API to issue.
    pub fn next_credential(mut self, credential: Credential) -> Self {
        self.next_credentials.push(credential);
        self
    }

    /// The state of model `id` whose catalogue entry says `listed`, with
    /// [`ServerConfig::model_state`] applied.
    pub(crate) fn effective_state(&self, id: &str, listed: ModelState) -> ModelState {
        self.model_state.get(id).copied().unwrap_or(listed)
    }

    /// The region of requests that name none.
    pub(crate) fn home_region(&self) -> &str {
        self.regions.first().map_or("us-east-1", String::as_str)
    }
}

/// How requests must authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum AuthMode {
    /// SigV4 or a Bedrock API key, as AWS accepts. To refuse one of the
    /// two, leave `credentials` or `api_keys` empty.
    #[default]
    Aws,
    /// Nothing is checked: an LLM gateway in front of Bedrock.
    Off,
}

/// An access key of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Credential {
    /// `AKIA...` or `ASIA...`.
    pub access_key_id: String,
    /// The secret; never journaled.
    pub secret_access_key: String,
    /// The session token temporary credentials must send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the key was deleted or deactivated: from then on AWS no longer
    /// knows it (`UnrecognizedClientException`, STS `InvalidClientTokenId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// The identity STS reports for it. By default an IAM user for
    /// long-term keys and an assumed role for temporary ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

impl Credential {
    /// Long-term credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            expires_at: None,
            revoked_at: None,
            arn: None,
        }
    }

    /// Makes the key unknown to AWS from `at` on.
    pub fn revoked(mut self, at: SystemTime) -> Self {
        self.revoked_at = Some(Timestamp(at));
        self
    }

    /// Whether AWS knows the key at `now`.
    pub(crate) fn is_known_at(&self, now: SystemTime) -> bool {
        self.revoked_at.is_none_or(|t| now < t.0)
    }

    /// The identity AWS reports for it (STS's `GetCallerIdentity`, an
    /// AccessDenied's `User:`): its own ARN if it has one, else an assumed
    /// role for temporary keys and an IAM user for long-term ones.
    pub(crate) fn identity_arn(&self, account_id: &str) -> String {
        self.arn
            .clone()
            .unwrap_or_else(|| match self.session_token {
                Some(_) => format!(
                    "arn:aws:sts::{account_id}:assumed-role/bedrock-harness/{}",
                    self.access_key_id
                ),
                None => default_user_arn(account_id),
            })
    }

    /// The identity STS reports for the key, instead of the default IAM
    /// user or assumed role.
    ///
    /// ```
    /// use bedrock_mock_server::{Credential, ServerConfig};
    ///
    /// let deployer = Credential::new("AKIADEPLOYER00000000", "deployer-secret")
    ///     .with_arn("arn:aws:iam::123456789012:user/deployer");
    /// let config = ServerConfig::default().credential(deployer);
    /// # drop(config);
    /// ```
    pub fn with_arn(mut self, arn: impl Into<String>) -> Self {
        self.arn = Some(arn.into());
        self
    }

    /// Makes these temporary credentials with `token`, valid until `expires_at`.
    pub fn session(mut self, token: impl Into<String>, expires_at: SystemTime) -> Self {
        self.session_token = Some(token.into());
        self.expires_at = Some(Timestamp(expires_at));
        self
    }
}

/// The IAM user of long-term keys that name no ARN, and of callers with
/// API keys.
pub(crate) fn default_user_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:user/bedrock-harness")
}

/// A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), or an SSO access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ApiKey {
    /// The key as the client sends it after `Bearer `.
    pub key: String,
    /// When a short-term key stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// A foundation model of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FoundationModel {
    /// Base model id, e.g. `anthropic.claude-opus-4-6-v1`.
    pub id: String,
    /// Display name, e.g. `Claude Opus 4.6`.
    pub name: String,
    /// Whether this account can use it.
    #[serde(default)]
    pub state: ModelState,
    /// Whether the base id can be invoked directly (on-demand throughput);
    /// when false, only an inference profile reaches the model.
    #[serde(default)]
    pub on_demand: bool,
    /// The geographies with a system-defined inference profile for it:
    /// `us`, `eu`, `apac`, `global`; all of them when absent.
    #[serde(default = "geography::every_prefix")]
    pub profiles: Vec<String>,
    /// The regions that offer it (by its base id or any of its profiles);
    /// every region of the account when absent. Elsewhere Bedrock answers
    /// 400 `The provided model identifier is invalid.` and lists none of
    /// its profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// The most tokens it writes in one answer: a request's `max_tokens`
    /// above it is refused with 400 ValidationException `The maximum
    /// tokens you requested exceeds the model limit of N. …`. No cap when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Its quotas per minute; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// What this model answers, instead of the server's reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
}

/// A change to one catalogue model (`[server.model_changes."<id>"]`):
/// each field given replaces the model's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ModelChange {
    /// Whether the base id can be invoked directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand: Option<bool>,
    /// The geographies with a system-defined inference profile for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// The regions that offer it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// The most tokens it writes in one answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Its quotas per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
}

impl ModelChange {
    fn apply_to(self, model: &mut FoundationModel) {
        if let Some(on_demand) = self.on_demand {
            model.on_demand = on_demand;
        }
        if let Some(profiles) = self.profiles {
            model.profiles = profiles;
        }
        if self.regions.is_some() {
            model.regions = self.regions;
        }
        if self.max_output_tokens.is_some() {
            model.max_output_tokens = self.max_output_tokens;
        }
        if self.quota.is_some() {
            model.quota = self.quota;
        }
    }
}

/// A model's quotas per minute, as Bedrock's service quotas count them:
/// requests, and tokens (a request's input and its `max_tokens`, counted
/// when it arrives). Minutes are the server clock's, so a scenario's
/// virtual time moves them. Past one, Bedrock answers 429
/// ThrottlingException.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Quota {
    /// Requests per minute (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// Tokens per minute (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
}

/// An explicit deny in a policy: the invoke requests it matches are
/// refused with 403 AccessDeniedException `User: {caller} is not
/// authorized to perform: bedrock:{action} on resource: {resource} with an
/// explicit deny in a service control policy: {policy}` (or `in an
/// identity-based policy`), as AWS words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Deny {
    /// Which kind of policy denies.
    pub policy: PolicyKind,
    /// The policy's ARN, for a service control policy; an example
    /// organization's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    /// The actions denied: `InvokeModel`, `InvokeModelWithResponseStream`;
    /// both when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<crate::operation::Operation>,
    /// The requests' regions denied (`*` wildcards); every region when
    /// empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The resources denied, as ARN patterns (`*` wildcards): the
    /// inference profile called, then the foundation models it routes to
    /// (`arn:aws:bedrock:::foundation-model/…` for a global profile). The
    /// first resource a pattern matches is the one the refusal names.
    /// Every resource when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// A guardrail of the account: the words and phrases it blocks (a word
/// filter's words, a denied topic's phrases), found case-insensitively in
/// any message of the conversation, or in the model's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Guardrail {
    /// Its id: lowercase letters and digits, the last part of its ARN
    /// (`arn:aws:bedrock:{region}:{account}:guardrail/{id}`), which a
    /// request may send instead.
    pub id: String,
    /// The version requests must name: `DRAFT` or a number.
    #[serde(default = "draft_version")]
    pub version: String,
    /// Words and phrases that make it intervene.
    pub blocked: Vec<String>,
    /// What the answer says instead when the request's conversation has
    /// a blocked word.
    #[serde(default = "default_blocked_message")]
    pub blocked_input_message: String,
    /// What the answer says instead when the model's answer has one.
    #[serde(default = "default_blocked_message")]
    pub blocked_output_message: String,
}

fn draft_version() -> String {
    "DRAFT".to_owned()
}

/// The console's default blocked-input and blocked-output message (as a
/// listed guardrail shows them: turbot/steampipe-plugin-aws#2661).
fn default_blocked_message() -> String {
    "Sorry, the model cannot answer this question.".to_owned()
}

/// The kind of policy an explicit deny is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum PolicyKind {
    /// An AWS Organizations service control policy.
    ServiceControlPolicy,
    /// A policy attached to the caller's user or role.
    IdentityBased,
}

/// A model of Mantle's lineup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct MantleModel {
    /// Mantle's id: `anthropic.` and the name, no version suffix, e.g.
    /// `anthropic.claude-haiku-4-5`.
    pub id: String,
    /// Display name, e.g. `Claude Haiku 4.5`.
    pub name: String,
    /// Whether this account can use it.
    #[serde(default)]
    pub state: ModelState,
    /// What this model answers, instead of the server's reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
}

/// Whether the account can use a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum ModelState {
    /// Invocable.
    #[default]
    Enabled,
    /// Model access not granted: 403 AccessDeniedException.
    NotEnabled,
    /// Not offered in this account or region: 404 ResourceNotFoundException.
    NotFound,
}

/// An application inference profile: an ARN a customer made for a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ApplicationProfile {
    /// The last part of the ARN, e.g. `abc123`.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The model or system-defined profile it copies from, e.g.
    /// `us.anthropic.claude-opus-4-6-v1`.
    pub model: String,
}

impl ApplicationProfile {
    /// A profile `id` backed by `model` (a base id or system profile id).
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            name: format!("profile-{id}"),
            id,
            model: model.into(),
        }
    }
}

/// The longest pause [`Pace`] may make, before the first frame or between
/// two: 10 s. Its pauses are real time (also on a fixed clock) and come
/// before every frame, so a long one holds a connection for frames ×
/// pause; a long silence is a rule's stall, which follows the clock and
/// ends when the server stops.
pub const MAX_PACE_MS: u64 = 10_000;

/// Pacing of streamed responses. Zero by default: tests stay fast, and
/// each frame still goes out in its own write. Each pause is at most 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PaceFields", into = "PaceFields")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(with = "PaceFields"))]
#[non_exhaustive]
pub enum Pace {
    /// Each frame its own HTTP chunk and write, `between_events` apart.
    Paced {
        /// Between the response head and the first frame.
        first_byte: Duration,
        /// Between frames.
        between_events: Duration,
    },
    /// Frames written as fast as the connection takes them, many to a
    /// chunk and a write (up to 64 KiB): for throughput benchmarks of a
    /// client's stream parsing, where a write per frame would make the
    /// server the bottleneck.
    Burst {
        /// Between the response head and the first frame.
        first_byte: Duration,
    },
}

impl Default for Pace {
    fn default() -> Self {
        Self::between_events(Duration::ZERO)
    }
}

impl Pace {
    /// Each frame its own HTTP chunk and write, `gap` apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_mock_server::Pace;
    ///
    /// let slow = Pace::between_events(Duration::from_millis(20));
    /// let read: Pace = serde_json::from_str(r#"{"between_events_ms": 20}"#).unwrap();
    /// assert_eq!(read, slow);
    /// ```
    pub fn between_events(gap: Duration) -> Self {
        Pace::Paced {
            first_byte: Duration::ZERO,
            between_events: gap,
        }
    }

    /// Frames as fast as the connection takes them.
    pub fn burst() -> Self {
        Pace::Burst {
            first_byte: Duration::ZERO,
        }
    }

    /// Between the response head and the first frame.
    pub fn first_byte(self) -> Duration {
        match self {
            Pace::Paced { first_byte, .. } | Pace::Burst { first_byte } => first_byte,
        }
    }
}

/// Pacing of streamed responses, as files write it. Zero by default:
/// tests stay fast, and each frame still goes out in its own write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Pace"))]
struct PaceFields {
    /// Milliseconds between the response headers and the first frame (at
    /// most 10000).
    first_byte_ms: u64,
    /// Milliseconds between frames (at most 10000).
    between_events_ms: u64,
    /// Write frames as fast as the connection takes them, many to a write,
    /// instead of each in its own: for throughput benchmarks of a client's
    /// stream parsing, where a write per frame would make the server the
    /// bottleneck. Not with `between_events_ms`.
    burst: bool,
}

impl TryFrom<PaceFields> for Pace {
    type Error = String;

    fn try_from(fields: PaceFields) -> Result<Self, String> {
        let first_byte = Duration::from_millis(fields.first_byte_ms);
        match (fields.burst, fields.between_events_ms) {
            (true, 0) => Ok(Pace::Burst { first_byte }),
            (true, _) => Err(
                "`burst` writes frames as fast as the connection takes them; it cannot also wait `between_events_ms` between them: give one or the other".to_owned(),
            ),
            (false, ms) => Ok(Pace::Paced {
                first_byte,
                between_events: Duration::from_millis(ms),
            }),
        }
    }
}

impl From<Pace> for PaceFields {
    fn from(pace: Pace) -> Self {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match pace {
            Pace::Paced {
                first_byte,
                between_events,
            } => PaceFields {
                first_byte_ms: millis(first_byte),
                between_events_ms: millis(between_events),
                burst: false,
            },
            Pace::Burst { first_byte } => PaceFields {
                first_byte_ms: millis(first_byte),
                between_events_ms: 0,
                burst: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let config = ServerConfig::default()
            .credential(Credential::new("ASIAX", "s").session("tok", SystemTime::UNIX_EPOCH))
            .application_profile(ApplicationProfile::new(
                "abc123",
                "us.anthropic.claude-opus-4-6-v1",
            ));
        let json = serde_json::to_string(&config).unwrap();
        let back: ServerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
        assert!(json.contains(r#""expires_at":"1970-01-01T00:00:00Z""#));
    }

    #[test]
    fn a_change_rewrites_only_the_fields_it_gives_and_applies_once() {
        let id = "anthropic.claude-opus-4-6-v1";
        let config: ServerConfig = serde_json::from_str(&format!(
            r#"{{"model_changes": {{"{id}": {{"on_demand": true, "max_output_tokens": 4096}}}}}}"#
        ))
        .unwrap();
        let applied = config.with_changes_applied();
        let model = applied.models.iter().find(|m| m.id == id).unwrap();
        assert!(model.on_demand);
        assert_eq!(model.max_output_tokens, Some(4096));
        assert_eq!(model.profiles, geography::every_prefix());
        assert!(applied.model_changes.is_empty());
        let untouched = ServerConfig::default();
        assert_eq!(
            applied
                .models
                .iter()
                .filter(|m| m.id != id)
                .collect::<Vec<_>>(),
            untouched
                .models
                .iter()
                .filter(|m| m.id != id)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn unknown_keys_and_bad_times_are_named() {
        let err = serde_json::from_str::<ServerConfig>(r#"{"regoins": []}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `regoins`"), "{err}");
        let err = serde_json::from_str::<ApiKey>(r#"{"key": "k", "expires_at": "tomorrow"}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("`tomorrow` is not a UTC time"),
            "{err}"
        );
    }
}
