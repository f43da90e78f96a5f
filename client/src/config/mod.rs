//! Configuration, resolved once: the environment, the settings files, and
//! what they mean. Everything else in the client reads [`Config`].
//!
//! ```
//! use std::collections::BTreeMap;
//! use bedrock_client::config::{Config, Sources};
//!
//! let sources = Sources::new(BTreeMap::from([
//!     ("CLAUDE_CODE_USE_BEDROCK".to_owned(), "1".to_owned()),
//!     ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
//! ]));
//! let config = Config::load(&sources).unwrap();
//! assert_eq!(config.region, "eu-west-1");
//! assert_eq!(config.providers.label(), "Amazon Bedrock");
//! ```

mod settings;
mod vars;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use settings::Scope;
pub(crate) use settings::{Settings, write_env};
pub use vars::{ServiceTier, TurnLimits, Vars};

use crate::error::{Error, ErrorKind};
use crate::profile::{self, Profile};
use crate::secret::Secret;

/// Where configuration comes from. Tests build one by hand (a temp home,
/// a chosen environment); the CLI takes the process's with
/// [`Sources::from_process`]. `Debug` shows variable names only.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Sources {
    /// The process environment.
    pub env: BTreeMap<String, String>,
    /// The home directory: user settings are `~/.claude/settings.json`
    /// unless `CLAUDE_CONFIG_DIR` names another folder.
    pub home: Option<PathBuf>,
    /// The project directory, holding `.claude/settings.json` and
    /// `.claude/settings.local.json`.
    pub project: Option<PathBuf>,
    /// The managed settings file.
    pub managed: Option<PathBuf>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .field("project", &self.project)
            .field("managed", &self.managed)
            .finish()
    }
}

impl Sources {
    /// The environment `env` with no home, project or managed settings
    /// file (add them with the `with_` methods).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use bedrock_client::config::Sources;
    ///
    /// let env = BTreeMap::from([("AWS_REGION".to_owned(), "us-east-1".to_owned())]);
    /// let sources = Sources::new(env)
    ///     .with_home("/tmp/home")
    ///     .with_project("/tmp/project");
    /// assert_eq!(sources.settings_paths().len(), 3);
    /// ```
    pub fn new(env: BTreeMap<String, String>) -> Self {
        Self {
            env,
            ..Self::default()
        }
    }

    /// These sources with `home` as the home directory.
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// These sources with `project` as the project directory.
    pub fn with_project(mut self, project: impl Into<PathBuf>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// These sources with `managed` as the managed settings file.
    pub fn with_managed(mut self, managed: impl Into<PathBuf>) -> Self {
        self.managed = Some(managed.into());
        self
    }

    /// The process's environment, `$HOME`, the current directory, and the
    /// system's managed settings file.
    pub fn from_process() -> Self {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self {
            home: env.get("HOME").map(PathBuf::from),
            project: std::env::current_dir().ok(),
            managed: Some(PathBuf::from("/etc/claude-code/managed-settings.json")),
            env,
        }
    }

    /// The settings files to read, with their scopes.
    pub fn settings_paths(&self) -> Vec<(Scope, PathBuf)> {
        let mut paths = Vec::new();
        let user_dir = match (self.env.get("CLAUDE_CONFIG_DIR"), &self.home) {
            (Some(dir), _) if !dir.is_empty() => Some(PathBuf::from(dir)),
            (_, Some(home)) => Some(home.join(".claude")),
            _ => None,
        };
        if let Some(dir) = user_dir {
            paths.push((Scope::User, dir.join("settings.json")));
        }
        if let Some(project) = &self.project {
            let dir = project.join(".claude");
            paths.push((Scope::Project, dir.join("settings.json")));
            paths.push((Scope::Local, dir.join("settings.local.json")));
        }
        if let Some(managed) = &self.managed {
            paths.push((Scope::Managed, managed.clone()));
        }
        paths
    }
}

/// Which endpoints are enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Providers {
    /// `CLAUDE_CODE_USE_BEDROCK`: the Invoke runtime and control plane.
    pub bedrock: bool,
    /// `CLAUDE_CODE_USE_MANTLE`: the Messages API endpoint.
    pub mantle: bool,
}

impl Providers {
    /// The endpoints `CLAUDE_CODE_USE_BEDROCK` and `CLAUDE_CODE_USE_MANTLE`
    /// turn on; at least one must be.
    fn from_vars(vars: &Vars) -> Result<Self, Error> {
        let providers = Providers {
            bedrock: vars.is_truthy("CLAUDE_CODE_USE_BEDROCK"),
            mantle: vars.is_truthy("CLAUDE_CODE_USE_MANTLE"),
        };
        if !providers.bedrock && !providers.mantle {
            return Err(Error::new(
                ErrorKind::NoProvider,
                "neither Bedrock nor Mantle is enabled: export CLAUDE_CODE_USE_BEDROCK=1 (or CLAUDE_CODE_USE_MANTLE=1), or set it in the env block of your settings file",
            ));
        }
        Ok(providers)
    }

    /// The provider line `/status` shows.
    pub fn label(self) -> &'static str {
        match (self.bedrock, self.mantle) {
            (true, true) => "Amazon Bedrock + Amazon Bedrock (Mantle)",
            (false, true) => "Amazon Bedrock (Mantle)",
            _ => "Amazon Bedrock",
        }
    }
}

/// How requests to one endpoint authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer` with a Bedrock API key
    /// (`AWS_BEARER_TOKEN_BEDROCK`).
    BearerKey(Secret),
    /// SigV4 with credentials from the AWS chain (with `AWS_PROFILE`
    /// when set).
    AwsCredentials {
        /// The profile the chain reads, if one was named.
        profile: Option<String>,
    },
    /// No authentication (`CLAUDE_CODE_SKIP_*_AUTH`): a gateway signs.
    Skipped,
}

impl Auth {
    /// How an endpoint whose skip variable is `skip_var` authenticates:
    /// not at all when it is set, else with the Bedrock API key when there
    /// is one, else with AWS credentials (`AWS_PROFILE`'s, when named).
    fn from_vars(vars: &Vars, skip_var: &str) -> Self {
        if vars.is_truthy(skip_var) {
            Auth::Skipped
        } else if let Some(key) = vars.get("AWS_BEARER_TOKEN_BEDROCK") {
            Auth::BearerKey(Secret::new(key))
        } else {
            Auth::AwsCredentials {
                profile: vars.get("AWS_PROFILE").map(str::to_owned),
            }
        }
    }

    /// Where credentials come from, for `status` (never the secret).
    pub fn describe(&self) -> String {
        match self {
            Auth::BearerKey(_) => "Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)".to_owned(),
            Auth::AwsCredentials {
                profile: Some(profile),
            } => format!("AWS credentials, profile {profile}"),
            Auth::AwsCredentials { profile: None } => "AWS credentials (default chain)".to_owned(),
            Auth::Skipped => "none (skipped; a gateway authenticates)".to_owned(),
        }
    }
}

/// Prompt caching markers on requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptCaching {
    /// `{"type":"ephemeral"}`.
    Default,
    /// `{"type":"ephemeral","ttl":"1h"}` (`ENABLE_PROMPT_CACHING_1H`).
    OneHour,
    /// No markers (`DISABLE_PROMPT_CACHING`).
    Off,
}

impl PromptCaching {
    /// The markers the caching variables ask for.
    fn from_vars(vars: &Vars) -> Self {
        if vars.is_truthy("DISABLE_PROMPT_CACHING") {
            PromptCaching::Off
        } else if vars.is_truthy("ENABLE_PROMPT_CACHING_1H") {
            PromptCaching::OneHour
        } else {
            PromptCaching::Default
        }
    }
}

/// The model settings, as given (resolution happens elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelChoices {
    /// `ANTHROPIC_MODEL`, else the settings' `model`.
    pub model: Option<String>,
    /// `ANTHROPIC_DEFAULT_OPUS_MODEL`.
    pub opus: Option<String>,
    /// `ANTHROPIC_DEFAULT_SONNET_MODEL`.
    pub sonnet: Option<String>,
    /// `ANTHROPIC_DEFAULT_HAIKU_MODEL`.
    pub haiku: Option<String>,
    /// `modelOverrides`.
    pub overrides: BTreeMap<String, String>,
    /// `availableModels`.
    pub available: Option<Vec<String>>,
}

/// `ANTHROPIC_CUSTOM_HEADERS`: `(name, value)` pairs in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CustomHeaders(pub Vec<(String, String)>);

impl std::fmt::Debug for CustomHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The client's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Which endpoints are on.
    pub providers: Providers,
    /// `AWS_REGION`: signing and endpoint region.
    pub region: String,
    /// `ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION`: the region of the
    /// Haiku-class model (Invoke and Mantle).
    pub small_fast_region: Option<String>,
    /// `ANTHROPIC_BEDROCK_BASE_URL`, else the regional runtime host.
    pub bedrock_base_url: String,
    /// `ANTHROPIC_BEDROCK_MANTLE_BASE_URL`, else the regional Mantle host.
    pub mantle_base_url: String,
    /// How Invoke and control-plane requests authenticate.
    pub bedrock_auth: Auth,
    /// How Mantle requests authenticate.
    pub mantle_auth: Auth,
    /// Model choices.
    pub models: ModelChoices,
    /// Prompt caching markers.
    pub prompt_caching: PromptCaching,
    /// `ANTHROPIC_BEDROCK_SERVICE_TIER`.
    pub service_tier: Option<ServiceTier>,
    /// `ANTHROPIC_CUSTOM_HEADERS`, in order (values are often gateway
    /// tokens: `Debug` shows names only).
    pub custom_headers: CustomHeaders,
    /// `awsAuthRefresh`.
    pub aws_auth_refresh: Option<String>,
    /// `awsCredentialExport`.
    pub aws_credential_export: Option<String>,
    /// `CLAUDE_CODE_MAX_RETRIES`: retries after the first attempt (the
    /// profile's default when unset).
    pub max_retries: u32,
    /// The version of Claude Code the client behaves as: `--cli-version`,
    /// else `BEDROCK_CLIENT_CLI_VERSION`, else the newest profile.
    pub cli: Arc<Profile>,
    /// The turn's limits and choices beyond the seed (`max_tokens`,
    /// thinking, effort).
    pub turn_limits: TurnLimits,
    /// The environment refresh commands run with: the process's, with the
    /// settings' `env` over it.
    pub vars: Vars,
    /// The settings files that were read, lowest precedence first.
    pub settings_files: Vec<(Scope, PathBuf)>,
}

impl Config {
    /// Reads the settings files and the environment, and checks them; the
    /// CLI version is `BEDROCK_CLIENT_CLI_VERSION`'s, else the newest.
    pub fn load(sources: &Sources) -> Result<Self, Error> {
        Self::load_as(sources, None)
    }

    /// [`Config::load`] as `cli_version` (`--cli-version`) when given,
    /// whatever `BEDROCK_CLIENT_CLI_VERSION` says.
    pub fn load_as(sources: &Sources, cli_version: Option<&str>) -> Result<Self, Error> {
        let settings = settings::load(&sources.settings_paths())?;
        Self::resolve(&sources.env, settings, cli_version)
    }

    fn resolve(
        process: &BTreeMap<String, String>,
        settings: Settings,
        cli_version: Option<&str>,
    ) -> Result<Self, Error> {
        let vars = Vars::new(process.clone(), &settings.env);
        let version = cli_version
            .or_else(|| vars.get(profile::VARIABLE))
            .unwrap_or(profile::NEWEST);
        let cli = profile::load(version.trim())?;
        let providers = Providers::from_vars(&vars)?;
        let region = main_region(&vars)?;
        let small_fast_region = vars
            .get("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION")
            .map(|r| checked_region("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION", r))
            .transpose()?;
        let owned = |name: &str| vars.get(name).map(str::to_owned);
        Ok(Self {
            providers,
            small_fast_region,
            bedrock_base_url: base_url(
                vars.get("ANTHROPIC_BEDROCK_BASE_URL"),
                || default_bedrock_url(&region),
                "ANTHROPIC_BEDROCK_BASE_URL",
            )?,
            mantle_base_url: base_url(
                vars.get("ANTHROPIC_BEDROCK_MANTLE_BASE_URL"),
                || default_mantle_url(&region),
                "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
            )?,
            bedrock_auth: Auth::from_vars(&vars, "CLAUDE_CODE_SKIP_BEDROCK_AUTH"),
            mantle_auth: Auth::from_vars(&vars, "CLAUDE_CODE_SKIP_MANTLE_AUTH"),
            models: ModelChoices {
                model: owned("ANTHROPIC_MODEL").or(settings.model),
                opus: owned("ANTHROPIC_DEFAULT_OPUS_MODEL"),
                sonnet: owned("ANTHROPIC_DEFAULT_SONNET_MODEL"),
                // The CLI's small/fast model pins the Haiku tier: it is not
                // probed (conformance's turn-limits cases).
                haiku: owned("ANTHROPIC_DEFAULT_HAIKU_MODEL")
                    .or_else(|| owned("ANTHROPIC_SMALL_FAST_MODEL")),
                overrides: settings.model_overrides,
                available: settings.available_models,
            },
            prompt_caching: PromptCaching::from_vars(&vars),
            service_tier: ServiceTier::from_var(&vars)?,
            custom_headers: CustomHeaders(vars::custom_headers(&vars)?),
            aws_auth_refresh: settings.aws_auth_refresh,
            aws_credential_export: settings.aws_credential_export,
            max_retries: vars.number("CLAUDE_CODE_MAX_RETRIES", cli.retries.default_max_retries)?,
            cli: Arc::new(cli),
            turn_limits: vars::turn_limits(&vars)?,
            settings_files: settings.files,
            region,
            vars,
        })
    }

    /// The `status` report, one `label: value` line each, the way
    /// `/status` shows the provider. No secret appears in it.
    pub fn status_lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("Behaves as: Claude Code {}", self.cli.version),
            format!("API provider: {}", self.providers.label()),
            format!("AWS region: {}", self.region),
        ];
        if let Some(region) = &self.small_fast_region {
            lines.push(format!("Small/fast model region: {region}"));
        }
        if self.providers.bedrock {
            lines.push(format!("Bedrock base URL: {}", self.bedrock_base_url));
            lines.push(format!("Bedrock auth: {}", self.bedrock_auth.describe()));
        }
        if self.providers.mantle {
            lines.push(format!("Mantle base URL: {}", self.mantle_base_url));
            lines.push(format!("Mantle auth: {}", self.mantle_auth.describe()));
        }
        let pinned = |value: &Option<String>| value.as_deref().unwrap_or("(default)").to_owned();
        lines.push(format!("Model: {}", pinned(&self.models.model)));
        lines.push(format!("Opus model: {}", pinned(&self.models.opus)));
        lines.push(format!("Sonnet model: {}", pinned(&self.models.sonnet)));
        lines.push(format!("Haiku model: {}", pinned(&self.models.haiku)));
        if let Some(tier) = self.service_tier {
            lines.push(format!("Service tier: {}", tier.as_str()));
        }
        if let Some(command) = &self.aws_auth_refresh {
            lines.push(format!("awsAuthRefresh: {command}"));
        }
        if self.aws_credential_export.is_some() {
            lines.push("awsCredentialExport: set".to_owned());
        }
        for (scope, path) in &self.settings_files {
            lines.push(format!("Settings ({scope:?}): {}", path.display()));
        }
        lines
    }
}

/// The Bedrock runtime's host for `region`.
pub(crate) fn default_bedrock_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

/// Mantle's base URL for `region`.
pub(crate) fn default_mantle_url(region: &str) -> String {
    format!("https://bedrock-mantle.{region}.api.aws/anthropic")
}

/// `AWS_REGION`, else the region of the profile in use in the AWS config
/// file.
fn main_region(vars: &Vars) -> Result<String, Error> {
    match vars.get("AWS_REGION") {
        Some(region) => checked_region("AWS_REGION", region),
        None => region_from_aws_config(vars).ok_or_else(|| {
            Error::new(
                ErrorKind::MissingVariable,
                "AWS_REGION is not set and the AWS config file names no region for this profile: export AWS_REGION=us-east-1",
            )
        })?,
    }
}

/// The region of the profile in use (`AWS_PROFILE`, else `default`) in
/// the AWS config file (`AWS_CONFIG_FILE`, else `~/.aws/config`): Claude
/// Code reads it when `AWS_REGION` is not set (CLI 2.1.172's release note,
/// customer-scenarios: region-from-aws-config-ignored; the seed, older,
/// says AWS_REGION is required).
fn region_from_aws_config(vars: &Vars) -> Option<Result<String, Error>> {
    let path = match vars.get("AWS_CONFIG_FILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(vars.get("HOME")?).join(".aws/config"),
    };
    let text = std::fs::read_to_string(&path).ok()?;
    let profile = vars.get("AWS_PROFILE").unwrap_or("default");
    let wanted = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let mut in_profile = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.trim() == wanted;
        } else if in_profile
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "region"
        {
            let setting = format!("region in {} [{wanted}]", path.display());
            return Some(checked_region(&setting, value.trim()));
        }
    }
    None
}

/// A region name, trimmed; it becomes part of host names and signatures,
/// so only `a-z`, digits and `-` are accepted.
fn checked_region(name: &str, value: &str) -> Result<String, Error> {
    let region = value.trim();
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(region.to_owned())
    } else {
        Err(Error::new(
            ErrorKind::InvalidVariable,
            format!("{name} is `{region}`: use a region name such as us-east-1"),
        ))
    }
}

/// A base URL as given (without a trailing `/`), or the default; it must
/// be http(s).
fn base_url(
    given: Option<&str>,
    default: impl FnOnce() -> String,
    name: &str,
) -> Result<String, Error> {
    let Some(url) = given else {
        return Ok(default());
    };
    let url = url.trim().trim_end_matches('/');
    let valid = ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    });
    if !valid {
        return Err(Error::new(
            ErrorKind::InvalidVariable,
            format!("{name} is `{url}`: it must be an http:// or https:// URL"),
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn resolve(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        Config::resolve(&env(pairs), Settings::default(), None)
    }

    #[test]
    fn provider_lines_match_status() {
        let line = |pairs: &[(&str, &str)]| resolve(pairs).unwrap().providers.label();
        let region = ("AWS_REGION", "us-east-1");
        assert_eq!(
            line(&[("CLAUDE_CODE_USE_BEDROCK", "1"), region]),
            "Amazon Bedrock"
        );
        assert_eq!(
            line(&[("CLAUDE_CODE_USE_MANTLE", "true"), region]),
            "Amazon Bedrock (Mantle)"
        );
        assert_eq!(
            line(&[
                ("CLAUDE_CODE_USE_BEDROCK", "1"),
                ("CLAUDE_CODE_USE_MANTLE", "1"),
                region
            ]),
            "Amazon Bedrock + Amazon Bedrock (Mantle)"
        );
        assert_eq!(
            resolve(&[region]).unwrap_err().kind(),
            ErrorKind::NoProvider
        );
    }

    #[test]
    fn the_region_falls_back_to_the_profile_in_the_aws_config_file() {
        let dir = std::env::temp_dir().join(format!("bc-region-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(
            dir.join(".aws/config"),
            "[default]\nregion = eu-west-1\n\n[profile dev]\noutput = json\nregion=ap-northeast-1\n",
        )
        .unwrap();
        let home = dir.display().to_string();
        let bedrock = ("CLAUDE_CODE_USE_BEDROCK", "1");
        let region = |pairs: &[(&str, &str)]| resolve(pairs).map(|c| c.region);
        assert_eq!(region(&[bedrock, ("HOME", &home)]).unwrap(), "eu-west-1");
        assert_eq!(
            region(&[bedrock, ("HOME", &home), ("AWS_PROFILE", "dev")]).unwrap(),
            "ap-northeast-1"
        );
        assert_eq!(
            region(&[bedrock, ("HOME", &home), ("AWS_REGION", "us-west-2")]).unwrap(),
            "us-west-2"
        );
        let e = region(&[bedrock, ("HOME", &home), ("AWS_PROFILE", "none")]).unwrap_err();
        assert!(e.message().starts_with("AWS_REGION is not set"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn region_is_required_and_defaults_follow_it() {
        let e = resolve(&[("CLAUDE_CODE_USE_BEDROCK", "1")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingVariable);
        assert!(e.message().contains("AWS_REGION"));
        for bad in [
            ("AWS_REGION", "us-east-1/x"),
            ("AWS_REGION", " "),
            ("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION", "us west 2"),
        ] {
            let mut pairs = vec![
                ("CLAUDE_CODE_USE_BEDROCK", "1"),
                ("AWS_REGION", "us-east-1"),
            ];
            pairs.retain(|(k, _)| *k != bad.0);
            pairs.push(bad);
            let e = resolve(&pairs).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidVariable, "{bad:?}");
        }
        let c = resolve(&[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "eu-west-3"),
        ])
        .unwrap();
        assert_eq!(
            c.bedrock_base_url,
            "https://bedrock-runtime.eu-west-3.amazonaws.com"
        );
        assert_eq!(
            c.mantle_base_url,
            "https://bedrock-mantle.eu-west-3.api.aws/anthropic"
        );
        assert_eq!(c.max_retries, c.cli.retries.default_max_retries);
        assert_eq!(c.prompt_caching, PromptCaching::Default);
    }

    #[test]
    fn auth_per_endpoint_and_no_secret_in_status() {
        let c = resolve(&[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("CLAUDE_CODE_USE_MANTLE", "1"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_BEARER_TOKEN_BEDROCK", "ABSK-secret-key"),
            ("CLAUDE_CODE_SKIP_MANTLE_AUTH", "1"),
            (
                "ANTHROPIC_CUSTOM_HEADERS",
                "X-Gateway-Token: gw-secret-token",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.bedrock_auth,
            Auth::BearerKey(Secret::new("ABSK-secret-key"))
        );
        assert_eq!(c.mantle_auth, Auth::Skipped);
        let shown = format!("{}\n{c:?}", c.status_lines().join("\n"));
        assert!(shown.contains("Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"));
        assert!(!shown.contains("ABSK-secret-key"), "{shown}");
        assert!(!shown.contains("gw-secret-token"), "{shown}");
        assert!(shown.contains("X-Gateway-Token"), "{shown}");
        let sources = Sources {
            env: env(&[("AWS_SECRET_ACCESS_KEY", "env-secret-value")]),
            ..Sources::default()
        };
        assert!(!format!("{sources:?}").contains("env-secret-value"));
        let c = resolve(&[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_PROFILE", "dev"),
        ])
        .unwrap();
        assert_eq!(
            c.bedrock_auth,
            Auth::AwsCredentials {
                profile: Some("dev".to_owned())
            }
        );
    }

    #[test]
    fn caching_tier_headers_and_urls() {
        let base = [
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            resolve(&pairs)
        };
        assert_eq!(
            with(&[("ENABLE_PROMPT_CACHING_1H", "1")])
                .unwrap()
                .prompt_caching,
            PromptCaching::OneHour
        );
        assert_eq!(
            with(&[
                ("ENABLE_PROMPT_CACHING_1H", "1"),
                ("DISABLE_PROMPT_CACHING", "1")
            ])
            .unwrap()
            .prompt_caching,
            PromptCaching::Off
        );
        assert_eq!(
            with(&[("ANTHROPIC_BEDROCK_BASE_URL", "http://127.0.0.1:18080/")])
                .unwrap()
                .bedrock_base_url,
            "http://127.0.0.1:18080"
        );
        let e = with(&[("ANTHROPIC_BEDROCK_BASE_URL", "127.0.0.1:18080")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidVariable);
        assert!(with(&[("ANTHROPIC_BEDROCK_SERVICE_TIER", "gold")]).is_err());
        assert!(with(&[("ANTHROPIC_CUSTOM_HEADERS", "nocolon")]).is_err());
        assert_eq!(
            with(&[("ANTHROPIC_CUSTOM_HEADERS", "X-A: 1")])
                .unwrap()
                .custom_headers
                .0,
            [("X-A".to_owned(), "1".to_owned())]
        );
        assert_eq!(
            with(&[("CLAUDE_CODE_MAX_RETRIES", "3")])
                .unwrap()
                .max_retries,
            3
        );
    }

    #[test]
    fn settings_env_counts_as_environment_and_model_falls_back_to_settings() {
        let settings = Settings {
            env: env(&[("CLAUDE_CODE_USE_MANTLE", "1"), ("AWS_REGION", "us-west-2")]),
            model: Some("opus".to_owned()),
            aws_auth_refresh: Some("aws sso login --profile p".to_owned()),
            ..Settings::default()
        };
        let c = Config::resolve(&env(&[("AWS_REGION", "us-east-1")]), settings, None).unwrap();
        assert_eq!(c.region, "us-west-2");
        assert!(c.providers.mantle);
        assert_eq!(c.models.model.as_deref(), Some("opus"));
        assert_eq!(c.vars.get("AWS_REGION"), Some("us-west-2"));
        assert!(
            c.status_lines()
                .contains(&"awsAuthRefresh: aws sso login --profile p".to_owned())
        );
    }

    #[test]
    fn user_settings_follow_claude_config_dir() {
        let sources = Sources {
            env: env(&[("CLAUDE_CONFIG_DIR", "/cfg")]),
            home: Some(PathBuf::from("/home/u")),
            project: Some(PathBuf::from("/repo")),
            managed: None,
        };
        assert_eq!(
            sources.settings_paths(),
            [
                (Scope::User, PathBuf::from("/cfg/settings.json")),
                (Scope::Project, PathBuf::from("/repo/.claude/settings.json")),
                (
                    Scope::Local,
                    PathBuf::from("/repo/.claude/settings.local.json")
                ),
            ]
        );
    }
}
