//! Reading the environment variables Claude Code's Bedrock and Mantle
//! provider reads, each with the check that makes a bad value an error
//! naming the variable.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind};

/// The environment as the client sees it: the process's variables with the
/// settings files' `env` laid over them. `Debug` shows names only: the
/// environment holds secret keys and tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars")
            .field("names", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Vars {
    /// `process` with `overrides` laid over it.
    pub fn new(process: BTreeMap<String, String>, overrides: &BTreeMap<String, String>) -> Self {
        let mut vars = process;
        vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Self(vars)
    }

    /// The value of `name`, when set and not empty (an empty variable is
    /// unset, as a shell `export X=` means).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Claude Code's truthiness: `1`, `true`, `yes`, `on`, any case.
    pub fn is_truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    }

    /// A whole number, or the default when unset.
    pub fn number(&self, name: &str, default: u32) -> Result<u32, Error> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                Error::new(
                    ErrorKind::InvalidVariable,
                    format!("{name} is `{v}`: it must be a whole number such as {default}"),
                )
            }),
        }
    }

    /// All the variables, for the commands the client runs (refresh
    /// commands see the settings' `env` too).
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// What the CLI reads beyond the seed to shape a turn (recorded with the
/// CLI 2.1.328 and 2.1.332: conformance's `turn-limits-*` cases).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnLimits {
    /// `CLAUDE_CODE_MAX_OUTPUT_TOKENS`: the turn's `max_tokens`, at most
    /// the model's own (a budget-thinking model's budget follows it).
    pub max_output_tokens: Option<u32>,
    /// `MAX_THINKING_TOKENS`: a budget-thinking model's `budget_tokens`
    /// (adaptive thinking does not take it).
    pub max_thinking_tokens: Option<u32>,
    /// `CLAUDE_CODE_DISABLE_THINKING`: no `thinking` (the betas stay).
    pub thinking_off: bool,
    /// `CLAUDE_CODE_EFFORT_LEVEL`: `output_config.effort`, for a model
    /// that takes one.
    pub effort: Option<String>,
}

/// The effort levels `CLAUDE_CODE_EFFORT_LEVEL` may name.
const EFFORT_LEVELS: [&str; 5] = ["low", "medium", "high", "xhigh", "max"];

/// Reads [`TurnLimits`]; a value that is not a positive whole number, or
/// an effort the CLI does not know, is an error naming the variable.
pub fn turn_limits(vars: &Vars) -> Result<TurnLimits, Error> {
    let tokens = |name: &str| -> Result<Option<u32>, Error> {
        let Some(value) = vars.get(name) else {
            return Ok(None);
        };
        match value.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::new(
                ErrorKind::InvalidVariable,
                format!("{name} is `{value}`: it must be a whole number of tokens such as 8192"),
            )),
        }
    };
    let effort = match vars.get("CLAUDE_CODE_EFFORT_LEVEL") {
        None => None,
        Some(level) if EFFORT_LEVELS.contains(&level.trim()) => Some(level.trim().to_owned()),
        Some(level) => {
            return Err(Error::new(
                ErrorKind::InvalidVariable,
                format!(
                    "CLAUDE_CODE_EFFORT_LEVEL is `{level}`: use one of {}",
                    EFFORT_LEVELS.join(", ")
                ),
            ));
        }
    };
    Ok(TurnLimits {
        max_output_tokens: tokens("CLAUDE_CODE_MAX_OUTPUT_TOKENS")?,
        max_thinking_tokens: tokens("MAX_THINKING_TOKENS")?,
        thinking_off: vars.is_truthy("CLAUDE_CODE_DISABLE_THINKING"),
        effort,
    })
}

/// `X-Amzn-Bedrock-Service-Tier` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceTier {
    /// `default`.
    Default,
    /// `flex`: cheaper, slower.
    Flex,
    /// `priority`: faster, dearer.
    Priority,
}

impl ServiceTier {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Default => "default",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }

    pub(crate) fn from_var(vars: &Vars) -> Result<Option<Self>, Error> {
        const NAME: &str = "ANTHROPIC_BEDROCK_SERVICE_TIER";
        let Some(value) = vars.get(NAME) else {
            return Ok(None);
        };
        match value.trim() {
            "default" => Ok(Some(Self::Default)),
            "flex" => Ok(Some(Self::Flex)),
            "priority" => Ok(Some(Self::Priority)),
            other => Err(Error::new(
                ErrorKind::InvalidVariable,
                format!("{NAME} is `{other}`: use default, flex or priority"),
            )),
        }
    }
}

/// `ANTHROPIC_CUSTOM_HEADERS`: one `Name: value` per line. A malformed line
/// is an error naming its number and its first word only (the rest could
/// be a token).
pub(crate) fn custom_headers(vars: &Vars) -> Result<Vec<(String, String)>, Error> {
    const NAME: &str = "ANTHROPIC_CUSTOM_HEADERS";
    let Some(text) = vars.get(NAME) else {
        return Ok(Vec::new());
    };
    let mut headers = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let malformed = |why: &str| {
            let first_word: String = line
                .split(|c: char| c.is_whitespace() || c == ':')
                .next()
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            Error::new(
                ErrorKind::InvalidVariable,
                format!(
                    "{NAME} line {} (`{first_word}…`) {why}: write one `Name: value` per line",
                    n + 1
                ),
            )
        };
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("has no `:`"));
        };
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(malformed("has no valid header name before the `:`"));
        }
        let value = value.trim();
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(malformed("has a control character in its value"));
        }
        headers.push((name.to_owned(), value.to_owned()));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn truthiness_is_claude_codes() {
        for yes in ["1", "true", "TRUE", " yes ", "on"] {
            assert!(vars(&[("X", yes)]).is_truthy("X"), "{yes}");
        }
        for no in ["0", "false", "", "2", "enabled"] {
            assert!(!vars(&[("X", no)]).is_truthy("X"), "{no}");
        }
        assert!(!vars(&[]).is_truthy("X"));
    }

    #[test]
    fn settings_env_overrides_the_process() {
        let overrides = BTreeMap::from([("AWS_PROFILE".to_owned(), "settings".to_owned())]);
        let v = Vars::new(
            BTreeMap::from([("AWS_PROFILE".to_owned(), "shell".to_owned())]),
            &overrides,
        );
        assert_eq!(v.get("AWS_PROFILE"), Some("settings"));
    }

    #[test]
    fn service_tier_values() {
        let tier = |v: &str| ServiceTier::from_var(&vars(&[("ANTHROPIC_BEDROCK_SERVICE_TIER", v)]));
        assert_eq!(tier("flex").unwrap(), Some(ServiceTier::Flex));
        assert_eq!(tier("").unwrap(), None);
        let e = tier("reserved").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidVariable);
        assert_eq!(
            e.message(),
            "ANTHROPIC_BEDROCK_SERVICE_TIER is `reserved`: use default, flex or priority"
        );
    }

    #[test]
    fn custom_headers_parse_and_malformed_lines_are_named_without_their_values() {
        let headers = custom_headers(&vars(&[(
            "ANTHROPIC_CUSTOM_HEADERS",
            "X-Amzn-Bedrock-GuardrailIdentifier: gr-1\n\nX-Amzn-Bedrock-GuardrailVersion:  2 \n",
        )]))
        .unwrap();
        assert_eq!(
            headers,
            [
                (
                    "X-Amzn-Bedrock-GuardrailIdentifier".to_owned(),
                    "gr-1".to_owned()
                ),
                ("X-Amzn-Bedrock-GuardrailVersion".to_owned(), "2".to_owned())
            ]
        );
        let e = custom_headers(&vars(&[(
            "ANTHROPIC_CUSTOM_HEADERS",
            "X-Ok: 1\nAuthorization Bearer sk-secret-value",
        )]))
        .unwrap_err();
        assert_eq!(
            e.message(),
            "ANTHROPIC_CUSTOM_HEADERS line 2 (`Authorization…`) has no `:`: write one `Name: value` per line"
        );
        assert!(!e.message().contains("sk-secret"));
        let e = custom_headers(&vars(&[("ANTHROPIC_CUSTOM_HEADERS", "Bad Name: v")])).unwrap_err();
        assert!(e.message().contains("no valid header name"), "{e}");
    }

    #[test]
    fn numbers_and_required_values_name_the_variable() {
        let e = vars(&[("CLAUDE_CODE_MAX_RETRIES", "many")])
            .number("CLAUDE_CODE_MAX_RETRIES", 10)
            .unwrap_err();
        assert!(
            e.message().starts_with("CLAUDE_CODE_MAX_RETRIES is `many`"),
            "{e}"
        );
    }

    #[test]
    fn turn_limits_are_read_and_bad_values_named() {
        assert_eq!(turn_limits(&vars(&[])).unwrap(), TurnLimits::default());
        let limits = turn_limits(&vars(&[
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
            ("MAX_THINKING_TOKENS", "2048"),
            ("CLAUDE_CODE_DISABLE_THINKING", "true"),
            ("CLAUDE_CODE_EFFORT_LEVEL", "low"),
        ]))
        .unwrap();
        assert_eq!(limits.max_output_tokens, Some(4096));
        assert_eq!(limits.max_thinking_tokens, Some(2048));
        assert!(limits.thinking_off);
        assert_eq!(limits.effort.as_deref(), Some("low"));
        for (name, value) in [
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "lots"),
            ("MAX_THINKING_TOKENS", "0"),
            ("CLAUDE_CODE_EFFORT_LEVEL", "extreme"),
        ] {
            let e = turn_limits(&vars(&[(name, value)])).unwrap_err();
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }
}
