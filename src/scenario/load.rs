//! Reading scenario files: TOML into [`Scenario`], with errors that name
//! the file, line, column and field, and the checks serde cannot make.

use std::fmt;
use std::path::{Path, PathBuf};

use bedrock_mock_server::Operation;

use super::format::{SCHEMA_VERSION, Scenario};

/// Why a scenario file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field at fault (`server.rules[0].answer`), when known.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks one scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: path.to_owned(),
        position: None,
        field: None,
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// Parses scenario `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, LoadError> {
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_column(text, s.start));
    let deserializer = toml::Deserializer::parse(text).map_err(|e| LoadError {
        path: path.to_owned(),
        position: at(e.span()),
        field: None,
        message: e.message().trim().to_owned(),
    })?;
    let scenario: Scenario = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        LoadError {
            path: path.to_owned(),
            position: at(inner.span()),
            field: (field != ".").then_some(field),
            message: inner.message().trim().to_owned(),
        }
    })?;
    check(&scenario)
        .and_then(|()| name_is_stem(path, &scenario.name))
        .map_err(|(field, message)| LoadError {
            path: path.to_owned(),
            position: find_key(text, field.rsplit('.').next().unwrap_or(&field)),
            field: Some(field),
            message,
        })?;
    Ok(scenario)
}

/// Variables the runner points at the mock; a scenario may only point
/// them elsewhere on the mock.
pub const ENDPOINT_VARIABLES: &[&str] = &[
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_SSO",
    "ANTHROPIC_BASE_URL",
];

/// The failure kinds `expect.error` may name (`bedrock_client::cli::Outcome::error`).
const ERROR_KINDS: &[&str] = &[
    "none",
    "usage",
    "missing-variable",
    "invalid-variable",
    "settings",
    "no-provider",
    "command",
    "credentials",
    "signing",
    "request",
    "connection",
    "timeout",
    "retryable",
    "model-access",
    "on-demand-throughput",
    "final",
    "stream",
];

/// What serde cannot check: the version, names, the endpoints staying on
/// the mock, operation names used as keys.
fn check(scenario: &Scenario) -> Result<(), (String, String)> {
    if scenario.schema != SCHEMA_VERSION {
        return Err((
            "schema".into(),
            format!(
                "this runner reads schema {SCHEMA_VERSION}, the file says {}",
                scenario.schema
            ),
        ));
    }
    let good_name = !scenario.name.is_empty()
        && scenario
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !good_name {
        return Err((
            "name".into(),
            format!(
                "`{}` is not a kebab-case name (lowercase letters, digits, `-`)",
                scenario.name
            ),
        ));
    }
    for (name, value) in &scenario.client.env {
        if ENDPOINT_VARIABLES.contains(&name.as_str()) && !value.starts_with("{mock}") {
            return Err((
                format!("client.env.{name}"),
                format!(
                    "the runner points {name} at the mock; a scenario may only move it within the mock (`{{mock}}/...`), never off this machine"
                ),
            ));
        }
    }
    for name in scenario.expect.counts.operations.keys() {
        if operation_named(name).is_none() {
            return Err((
                format!("expect.counts.operations.{name}"),
                format!(
                    "`{name}` is not an operation the mock knows (e.g. InvokeModel, InvokeModelWithResponseStream, MantleMessagesStream, GetCallerIdentity)"
                ),
            ));
        }
    }
    if let Some(kind) = &scenario.expect.error
        && !ERROR_KINDS.contains(&kind.as_str())
    {
        return Err((
            "expect.error".into(),
            format!(
                "`{kind}` is not a failure kind; one of {}",
                ERROR_KINDS.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The operation called `name`, as the journal spells it.
pub fn operation_named(name: &str) -> Option<Operation> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// The name must be the file's stem, so a report's name finds its file.
fn name_is_stem(path: &Path, name: &str) -> Result<(), (String, String)> {
    match path.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if stem != name => Err((
            "name".into(),
            format!("`{name}` must be the file's name without `.toml`: `{stem}`"),
        )),
        _ => Ok(()),
    }
}

/// 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where key `key` is first set in `text` (`key =` at a line's start),
/// for errors found after parsing.
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(line_column(text, offset + line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "schema = 1\nname = \"x\"\ndescription = \"d\"\nsource = \"s\"\n";

    fn error(text: &str) -> String {
        parse(Path::new("scenarios/x.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_minimal_file_is_the_default_account_and_a_prompt() {
        let s = parse(Path::new("x.toml"), MINIMAL).unwrap();
        let e = parse(Path::new("y.toml"), MINIMAL).unwrap_err().to_string();
        assert!(
            e.contains("`x` must be the file's name without `.toml`: `y`"),
            "{e}"
        );
        assert_eq!(s.server, bedrock_mock_server::ServerConfig::default());
        assert!(s.expect.no_secrets);
    }

    #[test]
    fn unknown_keys_name_file_line_column_and_field() {
        let text = format!("{MINIMAL}[server]\nregoins = [\"us-west-2\"]\n");
        let e = error(&text);
        assert!(e.starts_with("scenarios/x.toml:6:1: field `server"), "{e}");
        assert!(e.contains("unknown field `regoins`"), "{e}");
    }

    #[test]
    fn nested_type_errors_name_the_field_path() {
        let text = format!("{MINIMAL}[[server.rules]]\nanswer = {{ error = {{ code = 7 }} }}\n");
        let e = error(&text);
        assert!(
            e.contains("field `server.rules[0].answer.error.code`"),
            "{e}"
        );
        assert!(e.contains(":6:"), "{e}");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = error("schema = 1\nname = \"x\nsource = 1\n");
        assert!(e.starts_with("scenarios/x.toml:2:"), "{e}");
    }

    #[test]
    fn checks_after_parsing_name_the_field() {
        let e = error(&MINIMAL.replace("schema = 1", "schema = 2"));
        assert!(
            e.contains("field `schema`") && e.contains("reads schema 1"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[client.env]\nANTHROPIC_BEDROCK_BASE_URL = \"https://bedrock-runtime.us-east-1.amazonaws.com\"\n"
        ));
        assert!(
            e.contains(":6:1: field `client.env.ANTHROPIC_BEDROCK_BASE_URL`"),
            "{e}"
        );
        let e = error(&format!(
            "{MINIMAL}[expect.counts.operations]\nInvoke = 1\n"
        ));
        assert!(e.contains("`Invoke` is not an operation"), "{e}");
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let e = error("schema = 1\nname = \"x\"\ndescription = \"d\"\n");
        assert!(e.contains("missing field `source`"), "{e}");
    }
}
