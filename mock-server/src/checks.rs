//! The checks every account state and rule passes before a server uses
//! it, whichever way it comes in: the builder's `start`, `mount` and
//! `update_config`, the admin API's `PUT /config` and `POST /rules`, a
//! config file ([`ServerConfig::from_file`], the standalone server's
//! `--config`) and a scenario's `[server]` table.
//!
//! Serde refuses what has the wrong shape or a name the mock does not
//! know; these refuse what has the right shape but cannot be served: a
//! pause the server could not wait out, an account nobody can reach, a
//! name that would change nothing, an answer that would break HTTP's
//! framing. Each finding is one [`ConfigError`] naming the field and what
//! to give instead.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::config::{Credential, MAX_PACE_MS, Pace, PolicyKind, Quota, ServerConfig};
use crate::effects::{Effects, MAX_DRIBBLE_PAUSE_MS, MAX_STALL_SECONDS};
use crate::geography::{self, Geography};
use crate::journal::FrameRecord;
use crate::operation::Operation;
use crate::recorded::{RecordedBody, RecordedEvent, Recording, gap_problem};
use crate::rules::{Answer, BodyCondition, MAX_RETRY_AFTER_SECONDS, Match, Rule};

/// Why a config (or a rule) cannot be served: where, which field, what
/// kind of problem, and what to give instead.
///
/// ```
/// use bedrock_mock_server::{ConfigErrorKind, ServerConfig};
///
/// let mut config = ServerConfig::default();
/// config.regions.clear();
/// let error = config.check().unwrap_err();
/// assert_eq!(error.kind, ConfigErrorKind::Empty);
/// assert_eq!(error.field.as_deref(), Some("regions"));
/// assert!(error.to_string().starts_with("field `regions`: an account must serve"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file the config was read from, when it was.
    pub file: Option<PathBuf>,
    /// 1-based line and column in the file (or in an admin call's body),
    /// when known.
    pub position: Option<(usize, usize)>,
    /// The field at fault, as a path from the config's root
    /// (`rules[0].stall.seconds`; from the rule's, `stall.seconds`, for a
    /// rule on its own), when there is one. A map key with a `.` in it is
    /// quoted: `model_state."anthropic.claude-opus-4-7"`.
    pub field: Option<String>,
    /// What kind of problem it is.
    pub kind: ConfigErrorKind,
    /// What is wrong, and what to do about it.
    pub message: String,
}

/// The kinds of [`ConfigError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Unreadable,
    /// The file is not UTF-8 text.
    NotUtf8,
    /// The file's name says neither JSON nor TOML.
    UnknownFormat,
    /// Not JSON (or TOML) at all: a syntax error.
    Syntax,
    /// Well-formed, but not a config: a field of the wrong type, missing
    /// or unknown, or a name the mock does not know (an error code).
    Shape,
    /// A number past what the server can honour.
    OutOfRange,
    /// Empty where something is needed.
    Empty,
    /// The same id twice, where only one could ever be used.
    Duplicate,
    /// A name the account does not have, so it would change nothing.
    Unknown,
    /// A value not in its form (a region, an account id, a header name).
    Malformed,
    /// An answer whose status or headers would break HTTP's framing.
    BreaksFraming,
    /// Settings that contradict each other, so they can never be met.
    Unmeetable,
}

impl ConfigError {
    /// A finding about `field`.
    pub(crate) fn new(
        kind: ConfigErrorKind,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::unplaced(kind, message)
        }
    }

    /// A finding about no field in particular.
    pub(crate) fn unplaced(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        Self {
            file: None,
            position: None,
            field: None,
            kind,
            message: message.into(),
        }
    }

    /// The same finding, its field under `prefix` (`rules[2]`).
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field.take() {
            Some(field) if field.starts_with('[') => format!("{prefix}{field}"),
            Some(field) => format!("{prefix}.{field}"),
            None => prefix.to_owned(),
        });
        self
    }

    /// The same finding, in file `path`.
    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_owned());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.position) {
            (Some(file), Some((line, column))) => {
                write!(f, "{}:{line}:{column}: ", file.display())?
            }
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some((line, column))) => write!(f, "line {line}, column {column}: ")?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

use ConfigErrorKind::{
    BreaksFraming, Duplicate, Empty, Malformed, OutOfRange, Unknown, Unmeetable,
};

/// One check of a whole config.
type Check = fn(&ServerConfig) -> Result<(), ConfigError>;

impl ServerConfig {
    /// Checks what serde cannot: that every value can be served. Every way
    /// a config comes in runs this (the builder's `start`, `PUT
    /// /__bedrock_mock/config`, [`ServerConfig::from_file`], scenario
    /// files); the first problem found is the error.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Rule, ServerConfig, Stall};
    ///
    /// assert!(ServerConfig::default().check().is_ok());
    /// let config = ServerConfig::default().rule(Rule::stalling(Match::any(), Stall::before_head(f64::NAN)));
    /// let error = config.check().unwrap_err();
    /// assert_eq!(error.field.as_deref(), Some("rules[0].stall.seconds"));
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        const CHECKS: &[Check] = &[
            check_account_id,
            check_regions,
            check_credentials,
            check_keys,
            check_models,
            check_model_state,
            check_model_changes,
            check_denies,
            check_guardrails,
            check_application_profiles,
            check_pace,
            check_rules,
        ];
        CHECKS.iter().try_for_each(|check| check(self))
    }
}

impl Rule {
    /// Checks the rule as [`ServerConfig::check`] checks each of a
    /// config's rules; the error's field is from the rule
    /// (`stall.seconds`). `MockBedrock::mount` and `POST
    /// /__bedrock_mock/rules` run it.
    ///
    /// ```
    /// use bedrock_mock_server::{Answer, ConfigErrorKind, Match, Rule};
    ///
    /// let framed = Answer::http(200, &[("content-length", "5")], "hello world");
    /// let error = Rule::new(Match::any(), framed).check().unwrap_err();
    /// assert_eq!(error.kind, ConfigErrorKind::BreaksFraming);
    /// assert_eq!(error.field.as_deref(), Some("answer.http.headers.content-length"));
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        check_when(&self.when).map_err(|e| e.under("when"))?;
        if let Some(answer) = &self.answer {
            check_answer(answer).map_err(|e| e.under("answer"))?;
        }
        check_effects(&self.effects)?;
        match (self.times, self.expect) {
            (_, Some(expect)) if expect.is_empty() => {
                Err(ConfigError::new(Unmeetable, "expect", expect.why_empty()))
            }
            (Some(times), Some(expect)) if expect.at_least > times => Err(ConfigError::new(
                Unmeetable,
                "expect",
                format!(
                    "the rule answers at most {times} requests (`times`), so it can never have answered {expect}; raise `times` or lower `expect`"
                ),
            )),
            _ => Ok(()),
        }
    }
}

fn check_account_id(config: &ServerConfig) -> Result<(), ConfigError> {
    let id = &config.account_id;
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(ConfigError::new(
        Malformed,
        "account_id",
        format!("`{id}` is not an AWS account id: give 12 digits, like 123456789012"),
    ))
}

fn check_regions(config: &ServerConfig) -> Result<(), ConfigError> {
    if config.regions.is_empty() {
        return Err(ConfigError::new(
            Empty,
            "regions",
            "an account must serve at least one region (the first is the region of requests that name none); give e.g. [\"us-east-1\"]",
        ));
    }
    match config
        .regions
        .iter()
        .enumerate()
        .find(|(_, region)| !is_region_name(region))
    {
        Some((n, region)) => Err(ConfigError::new(
            Malformed,
            format!("regions[{n}]"),
            format!(
                "`{region}` is not a region name: lowercase words and a number joined by `-`, like `us-east-1` or `us-gov-west-1`"
            ),
        )),
        None => Ok(()),
    }
}

/// Whether `name` has the form of every AWS region's name: two or more
/// lowercase words, then a number, joined by `-`.
fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Access key ids: present, sendable in a SigV4 scope, and each known once
/// (a second with the same id would never be checked).
fn check_credentials(config: &ServerConfig) -> Result<(), ConfigError> {
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (n, credential) in config.credentials.iter().enumerate() {
        let field = format!("credentials[{n}].access_key_id");
        check_key_id(&field, credential)?;
        let id = credential.access_key_id.as_str();
        if let Some(first) = first_at.insert(id, n) {
            return Err(ConfigError::new(
                Duplicate,
                field,
                format!(
                    "`{id}` is also credentials[{first}]: only one of them would ever be checked; give each access key once"
                ),
            ));
        }
    }
    for (n, credential) in config.next_credentials.iter().enumerate() {
        check_key_id(&format!("next_credentials[{n}].access_key_id"), credential)?;
    }
    Ok(())
}

fn check_key_id(field: &str, credential: &Credential) -> Result<(), ConfigError> {
    let id = &credential.access_key_id;
    if id.is_empty() {
        return Err(ConfigError::new(
            Empty,
            field,
            "an empty access key id names no key in a SigV4 scope; give one like AKIDEXAMPLE",
        ));
    }
    let sendable = id
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b',' | b'='));
    if sendable {
        return Ok(());
    }
    Err(ConfigError::new(
        Malformed,
        field,
        format!(
            "`{id}` cannot be sent in a SigV4 `Credential=` scope (no spaces, `/`, `,` or `=`); give letters and digits, like AKIDEXAMPLE"
        ),
    ))
}

/// Bedrock API keys and SSO tokens: an empty one would match a bare
/// `Bearer`.
fn check_keys(config: &ServerConfig) -> Result<(), ConfigError> {
    let lists = [
        ("api_keys", &config.api_keys),
        ("sso_tokens", &config.sso_tokens),
    ];
    for (list, keys) in lists {
        if let Some(n) = keys.iter().position(|k| k.key.trim().is_empty()) {
            return Err(ConfigError::new(
                Empty,
                format!("{list}[{n}].key"),
                "an empty key would accept a bare `Bearer` with nothing after it; give the key a client sends",
            ));
        }
    }
    Ok(())
}

/// Model ids are present and known once; a model's profiles name
/// geographies the mock knows.
fn check_models(config: &ServerConfig) -> Result<(), ConfigError> {
    let base = config.models.iter().map(|m| m.id.as_str());
    unique_ids("models", base)?;
    unique_ids(
        "mantle_models",
        config.mantle_models.iter().map(|m| m.id.as_str()),
    )?;
    for (n, model) in config.models.iter().enumerate() {
        let fields = CatalogueFields {
            profiles: Some(&model.profiles),
            regions: model.regions.as_deref(),
            max_output_tokens: model.max_output_tokens,
            quota: model.quota,
        };
        fields
            .check(config)
            .map_err(|e| e.under(&format!("models[{n}]")))?;
    }
    Ok(())
}

/// What a model's entry and a change to it may both say.
struct CatalogueFields<'a> {
    profiles: Option<&'a [String]>,
    regions: Option<&'a [String]>,
    max_output_tokens: Option<u64>,
    quota: Option<Quota>,
}

impl CatalogueFields<'_> {
    /// Profiles name geographies the mock knows, regions the account's own
    /// (a model offered only where no request can come from is never
    /// offered), and every number is one a request can stay within.
    fn check(&self, config: &ServerConfig) -> Result<(), ConfigError> {
        let profiles = self.profiles.unwrap_or_default().iter().enumerate();
        if let Some((k, unknown)) = profiles
            .clone()
            .find(|(_, g)| Geography::named(g).is_none())
        {
            return Err(ConfigError::new(
                Unknown,
                format!("profiles[{k}]"),
                format!(
                    "`{unknown}` is not a geography of inference profiles; one of {}",
                    geography::every_prefix().join(", ")
                ),
            ));
        }
        let regions = self.regions.unwrap_or_default().iter().enumerate();
        if let Some((k, region)) = regions.clone().find(|(_, r)| !config.regions.contains(r)) {
            return Err(ConfigError::new(
                Unknown,
                format!("regions[{k}]"),
                format!(
                    "`{region}` is not one of the account's `regions` ({}), so no request could come from it; add it there too",
                    config.regions.join(", ")
                ),
            ));
        }
        let quota = self.quota.unwrap_or_default();
        let numbers = [
            (
                "max_output_tokens",
                self.max_output_tokens,
                "a model that writes nothing answers no request; give its output cap, like 64000",
            ),
            (
                "quota.requests_per_minute",
                quota.requests_per_minute,
                "a quota of 0 refuses every request; for that, answer with a rule's ThrottlingException",
            ),
            (
                "quota.tokens_per_minute",
                quota.tokens_per_minute,
                "a quota of 0 refuses every request; for that, answer with a rule's ThrottlingException",
            ),
        ];
        match numbers.into_iter().find(|(_, n, _)| *n == Some(0)) {
            Some((field, _, why)) => Err(ConfigError::new(OutOfRange, field, format!("0: {why}"))),
            None => Ok(()),
        }
    }
}

/// `model_changes` changes catalogue models by exact id, with what a
/// model's own entry may say.
fn check_model_changes(config: &ServerConfig) -> Result<(), ConfigError> {
    for (id, change) in &config.model_changes {
        let field = format!("model_changes.{}", map_key(id));
        if !config.models.iter().any(|m| &m.id == id) {
            return Err(ConfigError::new(
                Unknown,
                field,
                format!(
                    "`{id}` is not the id of a model in `models`, so the change would change nothing; give an exact id, like `anthropic.claude-opus-4-7`"
                ),
            ));
        }
        let fields = CatalogueFields {
            profiles: change.profiles.as_deref(),
            regions: change.regions.as_deref(),
            max_output_tokens: change.max_output_tokens,
            quota: change.quota,
        };
        fields.check(config).map_err(|e| e.under(&field))?;
    }
    Ok(())
}

/// Guardrails: ids as AWS forms them (lowercase letters and digits), each
/// given once, a version a request can name, and no empty word (it would
/// block every request).
fn check_guardrails(config: &ServerConfig) -> Result<(), ConfigError> {
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (n, guardrail) in config.guardrails.iter().enumerate() {
        let at = |field: &str| format!("guardrails[{n}].{field}");
        let id = guardrail.id.as_str();
        let formed = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !formed {
            return Err(ConfigError::new(
                Malformed,
                at("id"),
                format!(
                    "`{id}` is not a guardrail id (lowercase letters and digits, like `gr7x2abc9d1e`), so Bedrock would refuse every request naming it"
                ),
            ));
        }
        if let Some(first) = first_at.insert(id, n) {
            return Err(ConfigError::new(
                Duplicate,
                at("id"),
                format!(
                    "`{id}` is also guardrails[{first}]: only the first would ever judge; give each guardrail once"
                ),
            ));
        }
        let version = guardrail.version.as_str();
        let numbered = !version.starts_with('0')
            && !version.is_empty()
            && version.len() <= 8
            && version.bytes().all(|b| b.is_ascii_digit());
        if version != "DRAFT" && !numbered {
            return Err(ConfigError::new(
                Malformed,
                at("version"),
                format!(
                    "`{version}` is not a guardrail version; give `DRAFT` or a number from 1, like `1`"
                ),
            ));
        }
        if let Some(k) = guardrail.blocked.iter().position(|w| w.trim().is_empty()) {
            return Err(ConfigError::new(
                Empty,
                at(&format!("blocked[{k}]")),
                "an empty word is in every conversation, so the guardrail would block every request; give the words or phrases it blocks",
            ));
        }
    }
    Ok(())
}

/// Denies deny the invoke actions, and name regions and resources a
/// request can have.
fn check_denies(config: &ServerConfig) -> Result<(), ConfigError> {
    for (n, deny) in config.denies.iter().enumerate() {
        let at = |field: String| format!("denies[{n}].{field}");
        if let Some((k, op)) = deny.actions.iter().enumerate().find(|(_, op)| {
            !matches!(
                op,
                Operation::InvokeModel | Operation::InvokeModelWithResponseStream
            )
        }) {
            return Err(ConfigError::new(
                Unknown,
                at(format!("actions[{k}]")),
                format!(
                    "`{}` is not an action a deny here can refuse; give InvokeModel or InvokeModelWithResponseStream",
                    op.name()
                ),
            ));
        }
        if let Some(k) = deny.regions.iter().position(|r| r.is_empty()) {
            return Err(ConfigError::new(
                Empty,
                at(format!("regions[{k}]")),
                "an empty pattern matches no region; give one like `eu-*` or `us-west-2`",
            ));
        }
        if let Some((k, pattern)) = deny
            .resources
            .iter()
            .enumerate()
            .find(|(_, p)| !p.starts_with("arn:"))
        {
            return Err(ConfigError::new(
                Malformed,
                at(format!("resources[{k}]")),
                format!(
                    "`{pattern}` is not an ARN pattern, so it matches no resource; give one like `arn:aws:bedrock:::foundation-model/*` or `arn:aws:bedrock:*:*:inference-profile/global.*`"
                ),
            ));
        }
        if deny.policy_arn.is_some() && deny.policy == PolicyKind::IdentityBased {
            return Err(ConfigError::new(
                Unmeetable,
                at("policy_arn".to_owned()),
                "AWS names the policy only for a service control policy; an identity-based deny's refusal says `in an identity-based policy`: drop `policy_arn` or make the policy `service_control_policy`",
            ));
        }
        if let Some(arn) = &deny.policy_arn
            && !arn.starts_with("arn:aws:organizations::")
        {
            return Err(ConfigError::new(
                Malformed,
                at("policy_arn".to_owned()),
                format!(
                    "`{arn}` is not a service control policy's ARN; give one like `arn:aws:organizations::111122223333:policy/o-a1b2c3d4e5/service_control_policy/p-a1b2c3d4`"
                ),
            ));
        }
    }
    Ok(())
}

/// Each id of `list` is present and given once.
fn unique_ids<'a>(list: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (n, id) in ids.enumerate() {
        let field = format!("{list}[{n}].id");
        if id.is_empty() {
            return Err(ConfigError::new(Empty, field, "a model needs an id"));
        }
        if let Some(first) = first_at.insert(id, n) {
            return Err(ConfigError::new(
                Duplicate,
                field,
                format!(
                    "`{id}` is also {list}[{first}]: only the first would ever answer; give each model once"
                ),
            ));
        }
    }
    Ok(())
}

/// `model_state` changes models by exact id: one that names none changes
/// nothing, which is a typo.
fn check_model_state(config: &ServerConfig) -> Result<(), ConfigError> {
    let known = |id: &str| {
        config.models.iter().any(|m| m.id == id) || config.mantle_models.iter().any(|m| m.id == id)
    };
    match config.model_state.keys().find(|id| !known(id)) {
        Some(id) => Err(ConfigError::new(
            Unknown,
            format!("model_state.{}", map_key(id)),
            format!(
                "`{id}` is not the id of a model in `models` or `mantle_models`, so it would change nothing; give an exact id, like `anthropic.claude-opus-4-7`"
            ),
        )),
        None => Ok(()),
    }
}

fn check_application_profiles(config: &ServerConfig) -> Result<(), ConfigError> {
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (n, profile) in config.application_profiles.iter().enumerate() {
        let field = format!("application_profiles[{n}].id");
        let id = profile.id.as_str();
        if id.is_empty() || id.contains('/') {
            return Err(ConfigError::new(
                Malformed,
                field,
                format!("`{id}` is not the last part of an ARN; give one like `abc123`"),
            ));
        }
        if let Some(first) = first_at.insert(id, n) {
            return Err(ConfigError::new(
                Duplicate,
                field,
                format!(
                    "`{id}` is also application_profiles[{first}]: only the first would ever be used; give each profile once"
                ),
            ));
        }
    }
    Ok(())
}

/// Pace pauses are real time before every frame: bounded, so no stream
/// sends its head and then nothing for hours.
fn check_pace(config: &ServerConfig) -> Result<(), ConfigError> {
    let (first_byte, between_events) = match config.pace {
        Pace::Paced {
            first_byte,
            between_events,
        } => (first_byte, between_events),
        Pace::Burst { first_byte } => (first_byte, Duration::ZERO),
    };
    let max = Duration::from_millis(MAX_PACE_MS);
    for (field, pause, what) in [
        (
            "pace.first_byte_ms",
            first_byte,
            "before a stream's first frame",
        ),
        (
            "pace.between_events_ms",
            between_events,
            "between two frames",
        ),
    ] {
        if pause > max {
            return Err(ConfigError::new(
                OutOfRange,
                field,
                format!(
                    "{} ms is past the {MAX_PACE_MS} ms a stream may pause {what} (pace pauses are real time; for a long silence use a rule's `stall`)",
                    pause.as_millis()
                ),
            ));
        }
    }
    Ok(())
}

fn check_rules(config: &ServerConfig) -> Result<(), ConfigError> {
    config
        .rules
        .iter()
        .enumerate()
        .try_for_each(|(n, rule)| rule.check().map_err(|e| e.under(&format!("rules[{n}]"))))
}

fn check_when(when: &Match) -> Result<(), ConfigError> {
    if when.nth == Some(0) {
        return Err(ConfigError::new(
            OutOfRange,
            "nth",
            "requests are counted from 1, so 0 matches none; give 1 or more",
        ));
    }
    if when.region.as_deref() == Some("") {
        return Err(ConfigError::new(
            Empty,
            "region",
            "an empty region matches no request; give one like `eu-west-1` or `eu-*`",
        ));
    }
    if let Some(name) = when
        .headers
        .keys()
        .find(|name| HeaderName::from_bytes(name.as_bytes()).is_err())
    {
        return Err(ConfigError::new(
            Malformed,
            format!("headers.{}", map_key(name)),
            format!("`{name}` is not an HTTP header name, so no request has it"),
        ));
    }
    if when.path.as_deref() == Some("") {
        return Err(ConfigError::new(
            Empty,
            "path",
            "an empty path matches no request; give one like `/model/*/invoke` or `*/invoke`",
        ));
    }
    if when.query.contains_key("") {
        return Err(ConfigError::new(
            Empty,
            "query",
            "a query parameter needs a name, like `maxResults`",
        ));
    }
    if when.custom.iter().any(|c| c.label().trim().is_empty()) {
        return Err(ConfigError::new(
            Empty,
            "custom",
            "a custom predicate needs a label, shown when it says no: `Match::custom(\"has a tool\", ...)`",
        ));
    }
    when.body
        .iter()
        .try_for_each(|(pointer, condition)| check_body_condition(pointer, condition))
}

/// A JSON pointer (RFC 6901: empty, or `/`-separated tokens where `~` is
/// only `~0` or `~1`) with at least one comparison whose limits are
/// numbers.
fn check_body_condition(pointer: &str, condition: &BodyCondition) -> Result<(), ConfigError> {
    let field = format!("body.{}", map_key(pointer));
    let escapes_ok = pointer
        .match_indices('~')
        .all(|(at, _)| matches!(pointer.as_bytes().get(at + 1), Some(b'0' | b'1')));
    if !(pointer.is_empty() || pointer.starts_with('/')) || !escapes_ok {
        return Err(ConfigError::new(
            Malformed,
            field,
            format!(
                "`{pointer}` is not a JSON pointer: start it with `/` and write `~` as `~0`, `/` inside a key as `~1` (`/max_tokens`, `/messages/0/content`)"
            ),
        ));
    }
    if condition.is_empty() {
        return Err(ConfigError::new(
            Empty,
            field,
            "a condition needs a comparison: `equals`, `contains`, `less_than` or `greater_than`",
        ));
    }
    let limits = [
        ("less_than", condition.less_than),
        ("greater_than", condition.greater_than),
    ];
    match limits
        .into_iter()
        .find(|(_, limit)| limit.is_some_and(|n| !n.is_finite()))
    {
        Some((name, _)) => Err(ConfigError::new(
            OutOfRange,
            format!("{field}.{name}"),
            "give a finite number",
        )),
        None => Ok(()),
    }
}

/// A stall the clock can wait out, a dribble that sends something and
/// pauses briefly (its pauses are real time).
fn check_effects(effects: &Effects) -> Result<(), ConfigError> {
    if let Some(stall) = &effects.stall
        && !(stall.seconds.is_finite() && (0.0..=MAX_STALL_SECONDS).contains(&stall.seconds))
    {
        return Err(ConfigError::new(
            OutOfRange,
            "stall.seconds",
            format!(
                "{} is not a stall; give 0 to {MAX_STALL_SECONDS} seconds",
                stall.seconds
            ),
        ));
    }
    if let (Some(reset), Some(_)) = (effects.reset, effects.cut) {
        return Err(ConfigError::new(
            Unmeetable,
            "cut",
            format!(
                "`reset = \"{}\"` sends no body, so there is nothing to cut; give one of them",
                match reset {
                    crate::effects::Reset::BeforeHead => "before_head",
                    crate::effects::Reset::AfterHead => "after_head",
                }
            ),
        ));
    }
    if let Some(dribble) = &effects.dribble {
        if dribble.bytes == 0 {
            return Err(ConfigError::new(
                OutOfRange,
                "dribble.bytes",
                "0 bytes a piece sends nothing; give 1 or more",
            ));
        }
        if dribble.every_ms > MAX_DRIBBLE_PAUSE_MS {
            return Err(ConfigError::new(
                OutOfRange,
                "dribble.every_ms",
                format!(
                    "{} ms is past the {MAX_DRIBBLE_PAUSE_MS} ms a dribble may pause (its pauses are real time; for a long silence use `stall`)",
                    dribble.every_ms
                ),
            ));
        }
    }
    Ok(())
}

/// Statuses and headers a client can read as one answer. The server
/// frames every body itself (its length, or chunks for a stream), so a
/// rule may not frame it too.
fn check_answer(answer: &Answer) -> Result<(), ConfigError> {
    check_retry_after(answer)?;
    match answer {
        Answer::Error {
            status: Some(status),
            ..
        } => check_status(*status, true).map_err(|e| e.under("error.status")),
        Answer::CustomError { code, status, .. } => {
            if code.is_empty() || HeaderValue::from_str(code).is_err() {
                return Err(ConfigError::new(
                    Malformed,
                    "custom_error.code",
                    format!(
                        "`{code}` cannot be sent as an error code (it goes in a header): give visible ASCII, like `GatewayTimeoutException`"
                    ),
                ));
            }
            check_status(*status, true).map_err(|e| e.under("custom_error.status"))
        }
        Answer::Http {
            status,
            headers,
            body,
        } => {
            check_status(*status, !body.is_empty()).map_err(|e| e.under("http.status"))?;
            headers.iter().try_for_each(|(name, value)| {
                check_header(name, value)
                    .map_err(|e| e.under(&format!("http.headers.{}", map_key(name))))
            })
        }
        Answer::Recorded(recording) => check_recording(recording).map_err(|e| e.under("recorded")),
        Answer::Error { status: None, .. } | Answer::Reply(_) | Answer::StreamException { .. } => {
            Ok(())
        }
    }
}

/// A recording the server can send: a status and headers as an `http`
/// answer's, gaps it can wait (a stall's bound), events of one kind, each
/// of which can be written and journaled (a frame that decodes, a chunk
/// naming its event type, an event of one line).
fn check_recording(recording: &Recording) -> Result<(), ConfigError> {
    let has_body = match &recording.body {
        RecordedBody::Events(events) => !events.is_empty(),
        RecordedBody::Whole(bytes) => !bytes.is_empty(),
    };
    check_status(recording.status, has_body).map_err(|e| e.under("status"))?;
    recording.headers.iter().try_for_each(|(name, value)| {
        check_header(name, value).map_err(|e| e.under(&format!("headers.{}", map_key(name))))
    })?;
    if let Some(problem) = gap_problem(recording.head_after) {
        return Err(ConfigError::new(OutOfRange, "head_after_ms", problem));
    }
    let RecordedBody::Events(events) = &recording.body else {
        return Ok(());
    };
    let kind = recording.event_kind();
    for (n, event) in events.iter().enumerate() {
        let at = format!("events[{n}]");
        if let Some(problem) = gap_problem(event.after) {
            return Err(ConfigError::new(
                OutOfRange,
                format!("{at}.after_ms"),
                problem,
            ));
        }
        let field = format!("{at}.{}", event.kind.field());
        if Some(event.kind.event_kind()) != kind {
            return Err(ConfigError::new(
                Unmeetable,
                field,
                "a recording's events are all event-stream frames (`chunk`, `exception`, `frame_base64`) or all Server-Sent Events (`event`), as one answer is framed one way; this one differs from `events[0]`",
            ));
        }
        event.label().map_err(|e| e.under(&at))?;
    }
    Ok(())
}

impl RecordedEvent {
    /// What the mock's journal records when it sends this event
    /// ([`FrameRecord`]; its text is `chunk:message_start`,
    /// `exception:throttlingException`, `sse:ping`), or why the mock cannot
    /// send it: a [`ConfigError`] naming the event's field as a file names
    /// it (`chunk`, `p`, `message`, `frame_base64`, `event`, `data`).
    ///
    /// A chunk is labelled by its JSON's `type`; a frame by what it
    /// carries (a chunk's event type, an exception's `:exception-type`, an
    /// error's `:error-code`). An event is refused when its JSON or frame
    /// cannot be read ([`ConfigErrorKind::Malformed`]) or when it is larger
    /// than an event-stream frame may be, 16 MiB
    /// ([`ConfigErrorKind::OutOfRange`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_mock_server::{ConfigErrorKind, RecordedEvent};
    ///
    /// let start = RecordedEvent::chunk(Duration::ZERO, r#"{"type":"message_start","message":{}}"#);
    /// assert_eq!(start.label().unwrap().to_string(), "chunk:message_start");
    ///
    /// let error = RecordedEvent::chunk(Duration::ZERO, "not JSON").label().unwrap_err();
    /// assert_eq!((error.kind, error.field.as_deref()), (ConfigErrorKind::Malformed, Some("chunk")));
    /// ```
    pub fn label(&self) -> Result<FrameRecord, ConfigError> {
        self.kind.label().map_err(|problem| {
            let kind = if problem.too_large {
                OutOfRange
            } else {
                Malformed
            };
            ConfigError::new(kind, problem.field, problem.message)
        })
    }
}

/// A `retry-after` a client can wait out: at most a day, as no service
/// asks for longer and a larger one overflows some clients' timers.
fn check_retry_after(answer: &Answer) -> Result<(), ConfigError> {
    let (field, seconds) = match answer {
        Answer::Error {
            retry_after: Some(s),
            ..
        } => ("error.retry_after", *s),
        Answer::CustomError {
            retry_after: Some(s),
            ..
        } => ("custom_error.retry_after", *s),
        _ => return Ok(()),
    };
    if seconds <= MAX_RETRY_AFTER_SECONDS {
        return Ok(());
    }
    Err(ConfigError::new(
        OutOfRange,
        field,
        format!(
            "{seconds} s is past the {MAX_RETRY_AFTER_SECONDS} s (a day) a retry-after may ask for"
        ),
    ))
}

/// A final status (1xx are interim answers; 101 switches protocols) that
/// can carry `has_body`. The error has no field: the caller places it.
fn check_status(status: u16, has_body: bool) -> Result<(), ConfigError> {
    if !(100..=599).contains(&status) {
        return Err(ConfigError::unplaced(
            OutOfRange,
            format!("{status} is not an HTTP status; give 200 to 599"),
        ));
    }
    if status < 200 {
        return Err(ConfigError::unplaced(
            BreaksFraming,
            format!(
                "{status} is an interim answer (101 switches protocols): the client would wait for a final answer after it, or stop speaking HTTP; give a final status, 200 to 599"
            ),
        ));
    }
    if matches!(status, 204 | 304) && has_body {
        return Err(ConfigError::unplaced(
            BreaksFraming,
            format!(
                "a {status} answer has no body, so a body would be read as the start of the next answer; leave the body empty or give another status"
            ),
        ));
    }
    Ok(())
}

/// Headers that frame the body; the server sets them from the body.
const FRAMING_HEADERS: &[&str] = &["content-length", "transfer-encoding"];

/// Headers about the connection, not the answer (RFC 9110, 7.6.1); the
/// server manages the connection.
const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// Whether header `name` frames a body (`content-length`,
/// `transfer-encoding`): the server sets it from the body, so an answer
/// may not give it. Case-insensitive.
///
/// ```
/// assert!(bedrock_mock_server::frames_the_body("Content-Length"));
/// assert!(!bedrock_mock_server::frames_the_body("content-type"));
/// ```
pub fn frames_the_body(name: &str) -> bool {
    FRAMING_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Whether header `name` is about the connection, not the message
/// (RFC 9110, 7.6.1: `connection`, `keep-alive`, `te`, …): a proxy does
/// not pass it on, and an answer may not give it. Case-insensitive.
///
/// ```
/// assert!(bedrock_mock_server::is_hop_by_hop("Keep-Alive"));
/// assert!(!bedrock_mock_server::is_hop_by_hop("x-amzn-errortype"));
/// ```
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// One header of an `http` answer. The error has no field: the caller
/// places it.
fn check_header(name: &str, value: &str) -> Result<(), ConfigError> {
    if frames_the_body(name) {
        return Err(ConfigError::unplaced(
            BreaksFraming,
            format!(
                "the server frames the body itself (its length from `body`), so `{name}` would contradict it: too short cuts the answer, too long hangs the client; leave it out"
            ),
        ));
    }
    if is_hop_by_hop(name) {
        return Err(ConfigError::unplaced(
            BreaksFraming,
            format!(
                "`{name}` is a hop-by-hop header: it is about the connection, which the server manages, not the answer; leave it out"
            ),
        ));
    }
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(ConfigError::unplaced(
            Malformed,
            format!("`{name}` is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"),
        ));
    }
    if HeaderValue::from_str(value).is_err() {
        return Err(ConfigError::unplaced(
            Malformed,
            format!(
                "{value:?} is not a header value: it may not hold control characters (a line break would end the header)"
            ),
        ));
    }
    Ok(())
}

/// A map key as a field path writes it: quoted when it has a `.`.
fn map_key(key: &str) -> String {
    if key.contains('.') {
        format!("\"{key}\"")
    } else {
        key.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{ApiKey, ApplicationProfile, ModelState};
    use crate::effects::{Dribble, Stall};
    use crate::errors::ErrorCode;

    fn refused(config: &ServerConfig) -> (ConfigErrorKind, String) {
        let e = config.check().expect_err("a config the checks refuse");
        assert!(!e.message.is_empty());
        (e.kind, e.field.unwrap_or_default())
    }

    fn with(change: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
        let mut config = ServerConfig::default();
        change(&mut config);
        config
    }

    fn http(status: u16, header: Option<(&str, &str)>, body: &str) -> Rule {
        let headers = header
            .map(|(n, v)| BTreeMap::from([(n.to_owned(), v.to_owned())]))
            .unwrap_or_default();
        Rule::new(
            Match::any(),
            Answer::Http {
                status,
                headers,
                body: body.to_owned().into(),
            },
        )
    }

    #[test]
    fn catalogue_changes_and_denies_name_what_cannot_be_served() {
        use crate::config::{Deny, ModelChange, PolicyKind, Quota};
        let opus = "anthropic.claude-opus-4-6-v1";
        let change = |change: ModelChange| ServerConfig::default().model_change(opus, change);
        assert_eq!(
            refused(
                &ServerConfig::default().model_change("anthropic.nope", ModelChange::default())
            ),
            (Unknown, "model_changes.\"anthropic.nope\"".to_owned())
        );
        assert_eq!(
            refused(&change(ModelChange {
                regions: Some(vec!["eu-west-2".to_owned()]),
                ..ModelChange::default()
            })),
            (Unknown, format!("model_changes.\"{opus}\".regions[0]"))
        );
        assert_eq!(
            refused(&change(ModelChange {
                quota: Some(Quota {
                    tokens_per_minute: Some(0),
                    ..Quota::default()
                }),
                ..ModelChange::default()
            })),
            (
                OutOfRange,
                format!("model_changes.\"{opus}\".quota.tokens_per_minute")
            )
        );
        assert_eq!(
            refused(&with(|c| c.models[0].max_output_tokens = Some(0))),
            (OutOfRange, "models[0].max_output_tokens".to_owned())
        );
        assert_eq!(
            refused(&with(|c| c.models[0].profiles = vec!["jp".to_owned()])),
            (Unknown, "models[0].profiles[0]".to_owned())
        );
        let deny = Deny {
            policy: PolicyKind::ServiceControlPolicy,
            policy_arn: None,
            actions: vec![Operation::GetInferenceProfile],
            regions: Vec::new(),
            resources: Vec::new(),
        };
        assert_eq!(
            refused(&ServerConfig::default().deny(deny.clone())),
            (Unknown, "denies[0].actions[0]".to_owned())
        );
        let named_identity_policy = Deny {
            policy: PolicyKind::IdentityBased,
            policy_arn: Some(
                "arn:aws:organizations::111122223333:policy/o-x/service_control_policy/p-x"
                    .to_owned(),
            ),
            actions: Vec::new(),
            ..deny.clone()
        };
        assert_eq!(
            refused(&ServerConfig::default().deny(named_identity_policy)),
            (Unmeetable, "denies[0].policy_arn".to_owned())
        );
        let not_an_arn = Deny {
            actions: Vec::new(),
            resources: vec!["global.*".to_owned()],
            ..deny
        };
        assert_eq!(
            refused(&ServerConfig::default().deny(not_an_arn)),
            (Malformed, "denies[0].resources[0]".to_owned())
        );
        let guardrail = |id: &str, version: &str, blocked: &str| crate::config::Guardrail {
            id: id.to_owned(),
            version: version.to_owned(),
            blocked: vec![blocked.to_owned()],
            blocked_input_message: "no".to_owned(),
            blocked_output_message: "no".to_owned(),
        };
        for (bad, field) in [
            (guardrail("gr-abc123", "1", "x"), "guardrails[0].id"),
            (guardrail("abc", "v1", "x"), "guardrails[0].version"),
            (guardrail("abc", "DRAFT", " "), "guardrails[0].blocked[0]"),
        ] {
            assert_eq!(refused(&ServerConfig::default().guardrail(bad)).1, field);
        }
        assert!(
            ServerConfig::default()
                .guardrail(guardrail("abc", "12", "x"))
                .check()
                .is_ok()
        );
        let mut rule = Rule::new(
            Match::any().region(""),
            Answer::error(ErrorCode::ThrottlingException),
        );
        rule.times = None;
        assert_eq!(
            refused(&ServerConfig::default().rule(rule)),
            (Empty, "rules[0].when.region".to_owned())
        );
    }

    #[test]
    fn the_default_account_and_its_catalogue_pass() {
        ServerConfig::default().check().unwrap();
        let busy = ServerConfig::default()
            .region("us-gov-west-1")
            .model_state("anthropic.claude-opus-4-7", ModelState::NotEnabled)
            .model_state("anthropic.claude-haiku-4-5", ModelState::NotFound)
            .application_profile(ApplicationProfile::new(
                "abc123",
                "us.anthropic.claude-opus-4-7",
            ))
            .pace(Pace::between_events(Duration::from_millis(MAX_PACE_MS)))
            .rule(http(204, None, ""))
            .rule(http(503, Some(("Retry-After", "3")), "busy"))
            .rule(
                Rule::stalling(Match::any(), Stall::before_head(MAX_STALL_SECONDS))
                    .times(2)
                    .expect(2),
            );
        busy.check().unwrap();
    }

    #[test]
    fn each_account_problem_is_named_by_its_field() {
        let nan = Rule::stalling(Match::any(), Stall::before_head(f64::NAN));
        let cases: Vec<(ServerConfig, ConfigErrorKind, &str)> = vec![
            (
                with(|c| c.account_id = "12345".into()),
                Malformed,
                "account_id",
            ),
            (with(|c| c.regions.clear()), Empty, "regions"),
            (
                ServerConfig::default().region("US East"),
                Malformed,
                "regions[1]",
            ),
            (
                ServerConfig::default().region("useast1"),
                Malformed,
                "regions[1]",
            ),
            (
                ServerConfig::default().credential(Credential::new("", "s")),
                Empty,
                "credentials[1].access_key_id",
            ),
            (
                ServerConfig::default().credential(Credential::new("AKIDEXAMPLE", "other")),
                Duplicate,
                "credentials[1].access_key_id",
            ),
            (
                ServerConfig::default().credential(Credential::new("AKID/X", "s")),
                Malformed,
                "credentials[1].access_key_id",
            ),
            (
                ServerConfig::default().next_credential(Credential::new("", "s")),
                Empty,
                "next_credentials[0].access_key_id",
            ),
            (
                ServerConfig::default().api_key(""),
                Empty,
                "api_keys[1].key",
            ),
            (
                with(|c| {
                    c.sso_tokens.push(ApiKey {
                        key: " ".into(),
                        expires_at: None,
                    })
                }),
                Empty,
                "sso_tokens[1].key",
            ),
            (
                with(|c| c.models.push(c.models[0].clone())),
                Duplicate,
                "models[15].id",
            ),
            (
                with(|c| c.models[2].profiles.push("mars".into())),
                Unknown,
                "models[2].profiles[4]",
            ),
            (
                ServerConfig::default()
                    .model_state("anthropic.claude-opus-9", ModelState::NotFound),
                Unknown,
                "model_state.\"anthropic.claude-opus-9\"",
            ),
            (
                ServerConfig::default()
                    .application_profile(ApplicationProfile::new("a", "m"))
                    .application_profile(ApplicationProfile::new("a", "n")),
                Duplicate,
                "application_profiles[1].id",
            ),
            (
                ServerConfig::default().pace(Pace::between_events(Duration::from_millis(u64::MAX))),
                OutOfRange,
                "pace.between_events_ms",
            ),
            (
                ServerConfig::default().pace(Pace::Burst {
                    first_byte: Duration::from_secs(11),
                }),
                OutOfRange,
                "pace.first_byte_ms",
            ),
            (
                ServerConfig::default().rule(nan),
                OutOfRange,
                "rules[0].stall.seconds",
            ),
        ];
        for (config, kind, field) in cases {
            assert_eq!(refused(&config), (kind, field.to_owned()), "{field}");
        }
    }

    #[test]
    fn each_rule_problem_is_named_by_its_field() {
        let stall = |s| Rule::stalling(Match::any(), Stall::after_events(1, s));
        let dribble = |bytes, every_ms| Rule::dribbling(Match::any(), Dribble { bytes, every_ms });
        let error_status = |status| {
            Rule::new(
                Match::any(),
                Answer::Error {
                    code: ErrorCode::ThrottlingException,
                    status: Some(status),
                    message: None,
                    retry_after: None,
                },
            )
        };
        let cases: Vec<(Rule, ConfigErrorKind, &str)> = vec![
            (stall(f64::INFINITY), OutOfRange, "stall.seconds"),
            (stall(-5.0), OutOfRange, "stall.seconds"),
            (stall(MAX_STALL_SECONDS + 1.0), OutOfRange, "stall.seconds"),
            (dribble(0, 1), OutOfRange, "dribble.bytes"),
            (dribble(1, u64::MAX), OutOfRange, "dribble.every_ms"),
            (
                Rule::new(Match::any().nth(0), Answer::Reply(Default::default())),
                OutOfRange,
                "when.nth",
            ),
            (
                Rule::new(
                    Match::any().header("bad header", "x"),
                    Answer::Reply(Default::default()),
                ),
                Malformed,
                "when.headers.bad header",
            ),
            (
                Rule::stalling(
                    Match::any().body("max_tokens", BodyCondition::greater_than(1.0)),
                    Stall::before_head(1.0),
                ),
                Malformed,
                "when.body.max_tokens",
            ),
            (
                Rule::stalling(
                    Match::any().body("/a~2b", BodyCondition::equals(1)),
                    Stall::before_head(1.0),
                ),
                Malformed,
                "when.body./a~2b",
            ),
            (
                Rule::stalling(
                    Match::any().body("/max_tokens", BodyCondition::default()),
                    Stall::before_head(1.0),
                ),
                Empty,
                "when.body./max_tokens",
            ),
            (
                Rule::stalling(
                    Match::any().body("/max_tokens", BodyCondition::less_than(f64::NAN)),
                    Stall::before_head(1.0),
                ),
                OutOfRange,
                "when.body./max_tokens.less_than",
            ),
            (
                Rule::resetting(Match::any(), crate::effects::Reset::AfterHead).cut_after(10),
                Unmeetable,
                "cut",
            ),
            (stall(1.0).times(1).expect(2), Unmeetable, "expect"),
            (error_status(700), OutOfRange, "answer.error.status"),
            (error_status(204), BreaksFraming, "answer.error.status"),
            (
                Rule::new(Match::any(), Answer::custom_error(101, "X", "m")),
                BreaksFraming,
                "answer.custom_error.status",
            ),
            (
                Rule::new(Match::any(), Answer::custom_error(500, "X\nY", "m")),
                Malformed,
                "answer.custom_error.code",
            ),
            (http(99, None, ""), OutOfRange, "answer.http.status"),
            (http(100, None, ""), BreaksFraming, "answer.http.status"),
            (http(101, None, ""), BreaksFraming, "answer.http.status"),
            (http(204, None, "x"), BreaksFraming, "answer.http.status"),
            (http(304, None, "x"), BreaksFraming, "answer.http.status"),
            (http(600, None, ""), OutOfRange, "answer.http.status"),
        ];
        for (rule, kind, field) in cases {
            let e = rule.check().expect_err(field);
            assert_eq!((e.kind, e.field.as_deref()), (kind, Some(field)), "{e}");
        }
    }

    #[test]
    fn http_answers_may_not_frame_their_body_or_touch_the_connection() {
        for name in [
            "content-length",
            "Content-Length",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "upgrade",
        ] {
            let e = http(200, Some((name, "x")), "body").check().unwrap_err();
            assert_eq!(e.kind, BreaksFraming, "{name}");
            assert_eq!(e.field, Some(format!("answer.http.headers.{name}")));
        }
        let e = http(200, Some(("content-length", "3")), "hello")
            .check()
            .unwrap_err();
        assert!(
            e.message.contains("the server frames the body itself"),
            "{e}"
        );
        let e = http(200, Some(("x-note", "one\r\nx-two: 2")), "")
            .check()
            .unwrap_err();
        assert_eq!(e.kind, Malformed);
        let e = http(200, Some(("x:note", "1")), "").check().unwrap_err();
        assert_eq!(e.kind, Malformed);
        http(200, Some(("X-Gateway", "on")), "{}").check().unwrap();
    }

    #[test]
    fn a_rules_error_sits_under_its_place_in_the_config() {
        let config = ServerConfig::default()
            .rule(Rule::stalling(Match::any(), Stall::before_head(1.0)))
            .rule(http(200, Some(("transfer-encoding", "chunked")), "x"));
        let e = config.check().unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `rules[1].answer.http.headers.transfer-encoding`: the server frames the body itself (its length from `body`), so `transfer-encoding` would contradict it: too short cuts the answer, too long hangs the client; leave it out"
        );
    }

    #[test]
    fn region_names_have_the_form_of_aws_regions() {
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
            "cn-north-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "us-east-",
            "US-EAST-1",
            "us--1",
            "us-east-1a",
            "us east-1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
