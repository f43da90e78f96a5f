//! One behaviour profile per version of Claude Code the client imitates:
//! the numbers, names, words, rules and model catalogue that are the
//! CLI's own rather than the client's, read from its recorded traffic
//! (`conformance/golden/claude-code/<version>/`), its JavaScript, and
//! `conformance/DIFFERENCES.md`.
//!
//! Profiles are data, compiled in from `client/data/profiles/<version>.toml`
//! ([`BUILT_IN`]) and checked when loaded. A profile may say `inherits =
//! "<older version>"` and give only what changed: tables merge key by
//! key, an array replaces the inherited one whole, except the catalogue's
//! `[[catalogue.models]]`, which merge by `name` (an entry with a new name
//! goes before the model its `before` names, or last). A new version of
//! the CLI is then a new file listed in [`BUILT_IN`], and its goldens.
//!
//! The client runs as one version: `--cli-version`, else
//! `BEDROCK_CLIENT_CLI_VERSION` ([`VARIABLE`]), else the newest
//! ([`NEWEST`]). It reaches the code through the configuration
//! ([`Config::cli`](crate::config::Config::cli)).
//!
//! ```
//! use bedrock_client::profile::{self, NEWEST};
//!
//! let newest = profile::load(NEWEST).unwrap();
//! assert_eq!(newest.version, NEWEST);
//! assert_eq!(newest.retries.default_max_retries, 10);
//! let e = profile::load("2.0.0").unwrap_err();
//! assert!(e.message().contains("2.1.328"), "{e}");
//! ```
//!
//! What is *not* here is the client's own: its user agent and
//! `x-stainless-*` values (honest, not the CLI's Node runtime), its system
//! prompts, and the limits that only keep a misbehaving server or command
//! from holding it (body sizes, command time limits, the longest
//! `retry-after` obeyed).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::catalogue::{Catalogue, Retirement};
use crate::error::{Error, ErrorKind};

/// The built-in profiles, oldest first: each version and its file.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("2.1.328", include_str!("../data/profiles/2.1.328.toml")),
    ("2.1.332", include_str!("../data/profiles/2.1.332.toml")),
];

/// The newest built-in version: the default, and the version the
/// conformance suite and `bedrock-harness run --client claude-code` pin.
pub const NEWEST: &str = BUILT_IN[BUILT_IN.len() - 1].0;

/// The variable that picks the version when `--cli-version` does not.
pub const VARIABLE: &str = "BEDROCK_CLIENT_CLI_VERSION";

/// The versions with a built-in profile, oldest first.
pub fn known_versions() -> Vec<&'static str> {
    BUILT_IN.iter().map(|(version, _)| *version).collect()
}

/// The newest profile.
pub fn newest() -> Profile {
    load(NEWEST).expect("the built-in profiles are valid (checked by the tests)")
}

/// The built-in profile of `version`, its inheritance resolved and
/// checked; an unknown version is refused with the list of known ones.
pub fn load(version: &str) -> Result<Profile, Error> {
    load_from(BUILT_IN, version)
}

/// [`load`] from another list of profiles (tests give broken ones).
fn load_from(profiles: &[(&str, &str)], version: &str) -> Result<Profile, Error> {
    let table = merged_table(profiles, version)?;
    let origin = origin(version);
    let profile: Profile = toml::Value::Table(table)
        .try_into()
        .map_err(|e| invalid(&origin, &e.to_string()))?;
    let profile = Profile {
        version: version.to_owned(),
        ..profile
    };
    profile.check(&origin)?;
    Ok(profile)
}

/// `version`'s file as one table: parsed, then laid over the profile it
/// inherits (which must come before it in `profiles`).
fn merged_table(profiles: &[(&str, &str)], version: &str) -> Result<toml::Table, Error> {
    let Some(at) = profiles.iter().position(|(v, _)| *v == version) else {
        let known: Vec<&str> = profiles.iter().map(|(v, _)| *v).collect();
        return Err(Error::new(
            ErrorKind::InvalidVariable,
            format!(
                "there is no profile of Claude Code {version}: this bedrock-client imitates {} (set --cli-version or {VARIABLE} to one of them)",
                known.join(", ")
            ),
        ));
    };
    let origin = origin(version);
    let mut table: toml::Table =
        toml::from_str(profiles[at].1).map_err(|e| invalid(&origin, &format!("not TOML: {e}")))?;
    let Some(parent) = table.remove("inherits") else {
        return Ok(table);
    };
    let parent = match parent.as_str() {
        Some(parent) if profiles[..at].iter().any(|(v, _)| *v == parent) => parent.to_owned(),
        _ => {
            return Err(invalid(
                &origin,
                &format!("`inherits` is {parent}: name an older version listed before it"),
            ));
        }
    };
    let mut base = merged_table(profiles, &parent)?;
    merge(&mut base, table, "").map_err(|why| invalid(&origin, &why))?;
    Ok(base)
}

/// Lays `over` over `base`: tables merge key by key, other values replace;
/// `catalogue.models` merges by model name. `path` is where `base` is.
fn merge(base: &mut toml::Table, over: toml::Table, path: &str) -> Result<(), String> {
    for (key, value) in over {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => {
                merge(inner, value, &at)?;
            }
            (Some(toml::Value::Array(models)), toml::Value::Array(value))
                if at == "catalogue.models" =>
            {
                merge_models(models, value)?;
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
    Ok(())
}

/// The models of a child profile laid over its parent's: by `name`, a new
/// one before the model its `before` names (or last).
fn merge_models(models: &mut Vec<toml::Value>, over: Vec<toml::Value>) -> Result<(), String> {
    let name_of = |model: &toml::Value| {
        model
            .get("name")
            .and_then(|n| n.as_str().map(str::to_owned))
    };
    for model in over {
        let toml::Value::Table(mut model) = model else {
            return Err("`catalogue.models` holds something that is not a model table".to_owned());
        };
        let Some(name) = model
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned)
        else {
            return Err("a `catalogue.models` entry has no `name`".to_owned());
        };
        let before = model.remove("before");
        if let Some(existing) = models
            .iter_mut()
            .find(|m| name_of(m).as_deref() == Some(&name))
        {
            if before.is_some() {
                return Err(format!(
                    "`before` places a new model only: `{name}` is inherited and keeps its place"
                ));
            }
            if let toml::Value::Table(existing) = existing {
                existing.extend(model);
            }
            continue;
        }
        let at = match before {
            None => models.len(),
            Some(before) => models
                .iter()
                .position(|m| name_of(m).as_deref() == before.as_str())
                .ok_or_else(|| {
                    format!("the new model `{name}` goes `before` {before}, which is not in the inherited catalogue")
                })?,
        };
        models.insert(at, toml::Value::Table(model));
    }
    Ok(())
}

/// How errors name a profile.
fn origin(version: &str) -> String {
    format!("the Claude Code {version} profile (client/data/profiles/{version}.toml)")
}

fn invalid(origin: &str, why: &str) -> Error {
    Error::new(ErrorKind::Settings, format!("{origin} is not valid: {why}"))
}

/// What one version of Claude Code does, as the client imitates it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Profile {
    /// The CLI's version (`2.1.332`): the file's name.
    #[serde(skip)]
    pub version: String,
    /// The retry schedule and budget.
    pub retries: Retries,
    /// How long each kind of call may take.
    pub time_limits: TimeLimits,
    /// When credentials are reloaded and `awsAuthRefresh` may run.
    pub credentials: CredentialTimes,
    /// What goes into requests beyond the catalogue's shapes.
    pub requests: Requests,
    /// The CLI's own headers, and header orders.
    pub headers: HeaderOrders,
    /// The lines the CLI prints.
    pub texts: Texts,
    /// Words the CLI looks for in a refusal.
    pub words: Words,
    /// Rules that changed between versions.
    pub rules: Rules,
    /// The models, their lineups, shapes, suggestions and retirements.
    pub catalogue: Catalogue,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The retry schedule and budget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Retries {
    /// Retries after the first attempt unless `CLAUDE_CODE_MAX_RETRIES`
    /// says otherwise.
    pub default_max_retries: u32,
    /// The first backoff; waits double from it.
    #[serde(deserialize_with = "milliseconds", rename = "backoff_base_ms")]
    pub backoff_base: Duration,
    /// The longest computed backoff, before jitter.
    #[serde(deserialize_with = "milliseconds", rename = "backoff_cap_ms")]
    pub backoff_cap: Duration,
    /// Jitter adds up to this share of the backoff, in percent.
    pub backoff_jitter_percent: u32,
    /// Attempts past the budget for a 403 refusing the credentials.
    pub credential_renewals: u32,
    /// The AWS JS SDK's attempts (`max=` in `amz-sdk-request`): the
    /// control plane's calls and the STS check.
    pub aws_sdk_attempts: u32,
}

/// How long each kind of call may take.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TimeLimits {
    /// A startup probe's answer head (`x-stainless-timeout`).
    #[serde(deserialize_with = "seconds", rename = "probe_seconds")]
    pub probe: Duration,
    /// The turn's answer head (`x-stainless-timeout`).
    #[serde(deserialize_with = "seconds", rename = "turn_seconds")]
    pub turn: Duration,
    /// The non-streaming retry's answer.
    #[serde(deserialize_with = "seconds", rename = "non_streaming_seconds")]
    pub non_streaming: Duration,
    /// `ListInferenceProfiles`.
    #[serde(deserialize_with = "seconds", rename = "discovery_seconds")]
    pub discovery: Duration,
    /// `GetInferenceProfile` (an application profile's model).
    #[serde(deserialize_with = "seconds", rename = "profile_lookup_seconds")]
    pub profile_lookup: Duration,
    /// How long a stream may go quiet before it counts as stalled.
    #[serde(deserialize_with = "seconds", rename = "stream_idle_seconds")]
    pub stream_idle: Duration,
}

/// When credentials are reloaded and `awsAuthRefresh` may run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialTimes {
    /// The least time between two `awsAuthRefresh` runs (the refresh
    /// gate).
    #[serde(deserialize_with = "seconds", rename = "auth_refresh_interval_seconds")]
    pub auth_refresh_interval: Duration,
    /// Credentials that expire within this are reloaded before signing.
    #[serde(deserialize_with = "seconds", rename = "expiry_margin_seconds")]
    pub expiry_margin: Duration,
}

/// What goes into requests beyond the catalogue's shapes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Requests {
    /// The beta every turn carries, the only one of a model the catalogue
    /// does not know.
    pub claude_code_beta: String,
    /// `max_tokens` of a turn on a model the catalogue does not know.
    pub default_max_tokens: u32,
    /// `max_tokens` of the non-streaming retry (at most the turn's).
    pub non_streaming_max_tokens: u32,
    /// The deferred tools' beta, dropped in the second round of resends
    /// after a 400.
    pub tool_search_beta: String,
    /// The thinking token count's beta, dropped first.
    pub thinking_token_count_beta: String,
    /// The beta that replaces adaptive thinking's `display` when the CLI
    /// prints `--output-format stream-json` (2.1.328 and 2.1.332,
    /// conformance's `conversation-*` cases); dropped where `display`
    /// is.
    pub display_updates_beta: String,
    /// Words of a 400 the CLI answers with a recovery of its own rather
    /// than the general resends.
    pub own_recovery: Vec<String>,
    /// The catalogue model whose shape is guessed for an application
    /// inference profile of unknown backing model.
    pub guessed_shape: String,
    /// The shape tried once after the model rejects the guessed one.
    pub alternate_shape: String,
}

/// The CLI's own headers on model calls, and header orders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HeaderOrders {
    /// What every model call carries after the SDK's headers (name in
    /// lower case, value), in order.
    pub model_call: Vec<(String, String)>,
    /// What a turn carries after its `anthropic-beta`, before
    /// [`HeaderOrders::model_call`]'s.
    pub turn: Vec<(String, String)>,
    /// The names the SigV4 signer puts first on a model call, in this
    /// order; the rest follow sorted.
    pub signed_first: Vec<String>,
    /// The order the AWS JS SDK's signer adds its headers to a
    /// control-plane call.
    pub aws_sdk_signer_order: Vec<String>,
}

/// The lines the CLI prints (`-p` mode: on stdout, exit status 1), and
/// their parts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Texts {
    /// How a line about a failed request begins.
    pub api_error: String,
    /// How the parts of a credentials line are joined.
    pub separator: String,
    /// A 401 that does not speak of AWS credentials.
    pub not_logged_in: String,
    /// The head of a line about refused credentials or model access.
    pub auth_failed: String,
    /// The head of a 401 line that speaks of AWS credentials.
    pub credentials_expired: String,
    /// What a credentials line says when the credentials may be current.
    pub check_permissions: String,
    /// What a model-access line tells the user to do.
    pub enable_the_model: String,
    /// What a credentials line says to do when no `awsAuthRefresh` is
    /// configured.
    pub refresh_by_hand: String,
    /// A 400 naming the model, with another to suggest (before the id and
    /// a full stop).
    pub switch_model: String,
    /// A 400 naming the model, with none to suggest.
    pub pick_another_model: String,
    /// What follows a 5xx's message when it outlasts the retries;
    /// `{service}` is where to look (`Amazon Bedrock`, or `Amazon Bedrock
    /// (Mantle)` for a Mantle model).
    pub server_error: String,
    /// The line when no credentials can be loaded: the chain finds
    /// nothing, or `awsCredentialExport` gives nothing usable.
    pub no_credentials: String,
    /// A connection that failed.
    pub connection_error: String,
    /// A request that timed out.
    pub timed_out: String,
    /// A stream cut inside a frame.
    pub truncated_event: String,
    /// Why a 200 on the Invoke stream call that is not an event stream is
    /// refused (the content-type guard): `{content_type}`, the answer's.
    pub content_type_guard: String,
    /// On stderr each time `awsCredentialExport` gives nothing usable,
    /// before why.
    pub export_failed: String,
    /// Why, when the command failed or printed no JSON.
    pub export_no_value: String,
    /// Why, when its JSON holds no key, secret and session token.
    pub export_not_sts: String,
    /// The notice of a tier that falls back to an older version of its
    /// own: `{tier}` (`Opus`), `{wanted}` and `{fallback}` (display names).
    pub older_version_notice: String,
    /// The notice of a tier that falls back to the next family's model:
    /// `{tier}`, `{wanted}`, `{fallback}`.
    pub next_family_notice: String,
    /// The startup warning for a model Bedrock retires: `{model}` (the
    /// deprecation table's name), `{tense}`, `{date}`.
    pub retirement_warning: String,
    /// `{tense}` once the date has passed.
    pub retired: String,
    /// `{tense}` before the date.
    pub retiring: String,
}

/// The placeholders each template of [`Texts`] may hold.
const TEMPLATES: [(&str, &[&str]); 4] = [
    ("content_type_guard", &["content_type"]),
    ("older_version_notice", &["tier", "wanted", "fallback"]),
    ("next_family_notice", &["tier", "wanted", "fallback"]),
    ("retirement_warning", &["model", "tense", "date"]),
];

impl Texts {
    /// The template named `field` (one of [`TEMPLATES`]).
    fn template(&self, field: &str) -> &str {
        match field {
            "content_type_guard" => &self.content_type_guard,
            "older_version_notice" => &self.older_version_notice,
            "next_family_notice" => &self.next_family_notice,
            _ => &self.retirement_warning,
        }
    }

    /// `template` with each `{name}` of `values` filled in.
    pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(template.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// The CLI's startup warning for `retirement` at `now`, in the past
    /// tense once the date has passed: `⚠ Claude 3.7 Sonnet was retired on
    /// April 28, 2026. Consider switching to a newer model.`
    pub fn retirement_warning_at(
        &self,
        retirement: &Retirement,
        now: std::time::SystemTime,
    ) -> String {
        let tense = if retirement.has_passed(now) {
            &self.retired
        } else {
            &self.retiring
        };
        Self::fill(
            &self.retirement_warning,
            &[
                ("model", &retirement.name),
                ("tense", tense),
                ("date", &retirement.bedrock),
            ],
        )
    }

    /// The first `{placeholder}` of a template that it may not hold.
    fn unknown_placeholder(&self) -> Option<String> {
        TEMPLATES.iter().find_map(|(field, names)| {
            let template = self.template(field);
            template.split('{').skip(1).find_map(|rest| {
                let name = rest.split('}').next().unwrap_or_default();
                (!names.contains(&name)).then(|| {
                    format!(
                        "`texts.{field}` holds `{{{name}}}`: it may hold {}",
                        names
                            .iter()
                            .map(|n| format!("{{{n}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
        })
    }
}

/// Words the CLI looks for in a refusal (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Words {
    /// Words that make a refusal about AWS credentials (and point at
    /// `awsAuthRefresh`).
    pub credential: Vec<String>,
}

/// Rules that changed between versions, each recorded from the real CLI.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rules {
    /// Whether a 400 naming the model suggests its catalogue `suggest`
    /// version even when Bedrock has retired that version (2.1.328 does;
    /// 2.1.332 then offers none: `Run --model to pick a different
    /// model.`).
    pub suggests_retired_models: bool,
    /// Whether a refusal the CLI cannot place (a 4xx that is neither about
    /// the model's access nor the credentials, such as a malformed
    /// request), once its resends are spent, moves a tier's turn down its
    /// ladder: the next model is probed, and the turn goes to the first
    /// that answers (2.1.332; 2.1.328 ends the run).
    pub unplaced_refusal_moves_down: bool,
    /// Whether Opus, with none of its own versions answering and the
    /// Sonnet default refused too, then probes the Sonnet default's older
    /// versions (at once) and takes the newest that answers (2.1.332;
    /// 2.1.328 stops at the Sonnet default).
    pub opus_falls_back_to_older_sonnets: bool,
}

impl Requests {
    /// Whether the CLI answers a 400 saying `message` with a recovery of
    /// its own ([`Requests::own_recovery`]) rather than resends or a move
    /// down the ladder.
    pub fn has_own_recovery(&self, message: &str) -> bool {
        let message = message.to_lowercase();
        self.own_recovery
            .iter()
            .any(|words| message.contains(words.as_str()))
    }
}

impl Profile {
    /// Checks what serde cannot: the catalogue, the models the profile
    /// names, the bounds.
    fn check(&self, origin: &str) -> Result<(), Error> {
        self.catalogue.check(origin)?;
        let bad = |why: String| Err(invalid(origin, &why));
        for (field, name) in [
            ("requests.guessed_shape", &self.requests.guessed_shape),
            ("requests.alternate_shape", &self.requests.alternate_shape),
        ] {
            if self.catalogue.model(name).is_none() {
                return bad(format!(
                    "`{field}` names `{name}`, which is not in its catalogue"
                ));
            }
        }
        let retries = &self.retries;
        if retries.backoff_base.is_zero() || retries.backoff_base > retries.backoff_cap {
            return bad(
                "`retries.backoff_base_ms` must be above 0 and at most `backoff_cap_ms`".to_owned(),
            );
        }
        if retries.backoff_jitter_percent > 100 {
            return bad("`retries.backoff_jitter_percent` must be at most 100".to_owned());
        }
        if retries.aws_sdk_attempts == 0 {
            return bad("`retries.aws_sdk_attempts` must be at least 1".to_owned());
        }
        let limits = &self.time_limits;
        let named = [
            ("probe_seconds", limits.probe),
            ("turn_seconds", limits.turn),
            ("non_streaming_seconds", limits.non_streaming),
            ("discovery_seconds", limits.discovery),
            ("profile_lookup_seconds", limits.profile_lookup),
            ("stream_idle_seconds", limits.stream_idle),
        ];
        if let Some((name, _)) = named.iter().find(|(_, limit)| limit.is_zero()) {
            return bad(format!("`time_limits.{name}` must be above 0"));
        }
        if let Some(why) = self.texts.unknown_placeholder() {
            return bad(why);
        }
        let headers = &self.headers;
        let own = headers.model_call.iter().chain(&headers.turn);
        if let Some((name, _)) = own
            .clone()
            .find(|(name, _)| name.is_empty() || name.to_lowercase() != *name)
        {
            return bad(format!(
                "the header name `{name}` in `headers` must be lower case and not empty"
            ));
        }
        Ok(())
    }
}

/// A whole number of seconds.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

/// A whole number of milliseconds.
fn milliseconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

#[cfg(test)]
mod tests;
