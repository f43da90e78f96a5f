//! Reading a [`ServerConfig`] (or a [`Rule`]) from text: a config file
//! (the standalone server's `--config`, [`ServerConfig::from_file`]) or
//! the JSON body of an admin call. Every error is a [`ConfigError`] with
//! the place (file, line, column), the field and the cause, and what is
//! read is held to the checks of `checks` before anyone uses it.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::checks::{ConfigError, ConfigErrorKind};
use crate::config::ServerConfig;
use crate::rules::Rule;

/// The UTF-8 byte order mark some editors write first (Notepad, and
/// PowerShell's `Out-File -Encoding utf8` before version 6).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a config file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Toml,
}

impl ServerConfig {
    /// Reads the config in file `path` and checks it
    /// ([`ServerConfig::check`]). The file is JSON (`.json`) or TOML
    /// (`.toml`); one without an extension is JSON when its first
    /// character (after white space) is `{`, which no TOML file starts
    /// with, and TOML otherwise. A UTF-8 byte order mark is skipped. The
    /// error names the file, the line and column when there is one, and
    /// the field.
    ///
    /// ```
    /// use bedrock_mock_server::{ConfigErrorKind, ServerConfig};
    ///
    /// let dir = std::env::temp_dir().join(format!("bedrock-mock-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("account.toml");
    /// std::fs::write(&path, "regions = [\"eu-west-1\"]\n").unwrap();
    /// assert_eq!(ServerConfig::from_file(&path).unwrap().regions, ["eu-west-1"]);
    ///
    /// std::fs::write(&path, "regions = [\"eu-west-1\"]\n[[rules]]\nstall = { seconds = nan }\n").unwrap();
    /// let error = ServerConfig::from_file(&path).unwrap_err();
    /// assert_eq!(error.kind, ConfigErrorKind::OutOfRange);
    /// assert_eq!(error.field.as_deref(), Some("rules[0].stall.seconds"));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServerConfig, ConfigError> {
        let path = path.as_ref();
        read_file(path).map_err(|e| e.in_file(path))
    }
}

fn read_file(path: &Path) -> Result<ServerConfig, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError::unplaced(ConfigErrorKind::Unreadable, format!("cannot read it: {e}"))
    })?;
    let text = utf8_text(&bytes)?;
    let config: ServerConfig = match format_of(path, text)? {
        Format::Json => parse_json(text)?,
        Format::Toml => parse_toml(text)?,
    };
    config.check()?;
    Ok(config)
}

/// The account state in an admin call's JSON `body`, checked.
pub(crate) fn config_from_json(body: &[u8]) -> Result<ServerConfig, ConfigError> {
    let config: ServerConfig = parse_json(utf8_text(body)?)?;
    config.check()?;
    Ok(config)
}

/// The rule in an admin call's JSON `body`, checked.
pub(crate) fn rule_from_json(body: &[u8]) -> Result<Rule, ConfigError> {
    let rule: Rule = parse_json(utf8_text(body)?)?;
    rule.check()?;
    Ok(rule)
}

/// `bytes` as text, without a UTF-8 byte order mark; an error names the
/// first byte that is not UTF-8 by its offset, line and column.
fn utf8_text(bytes: &[u8]) -> Result<&str, ConfigError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ConfigError::unplaced(
            ConfigErrorKind::NotUtf8,
            "the text is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8",
        ));
    }
    let skipped = if bytes.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    std::str::from_utf8(&bytes[skipped..]).map_err(|e| {
        let valid = e.valid_up_to();
        let prefix = std::str::from_utf8(&bytes[skipped..skipped + valid]).unwrap_or_default();
        let (line, column) = line_column(prefix, valid);
        let offset = skipped + valid;
        ConfigError {
            position: Some((line, column)),
            ..ConfigError::unplaced(
                ConfigErrorKind::NotUtf8,
                format!(
                    "byte 0x{:02X} at offset {offset} (line {line}, column {column}) is not UTF-8; save the text as UTF-8",
                    bytes[offset]
                ),
            )
        }
    })
}

/// The format of a file: by its extension, or for a file without one by
/// its first character.
fn format_of(path: &Path, text: &str) -> Result<Format, ConfigError> {
    match path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    {
        Some(e) if e == "json" => Ok(Format::Json),
        Some(e) if e == "toml" => Ok(Format::Toml),
        None if text.trim_start().starts_with('{') => Ok(Format::Json),
        None => Ok(Format::Toml),
        Some(other) => Err(ConfigError::unplaced(
            ConfigErrorKind::UnknownFormat,
            format!(
                "`.{other}` is not a format the mock reads: write the config as JSON (`.json`) or TOML (`.toml`)"
            ),
        )),
    }
}

fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = field_of(e.path());
        ConfigError {
            field,
            ..json_error(&e.into_inner())
        }
    })?;
    deserializer.end().map_err(|e| json_error(&e))?;
    Ok(value)
}

fn json_error(e: &serde_json::Error) -> ConfigError {
    let kind = match e.classify() {
        serde_json::error::Category::Data => ConfigErrorKind::Shape,
        _ => ConfigErrorKind::Syntax,
    };
    let text = e.to_string();
    // The position is the error's own field, not part of its message.
    let message = text
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&text);
    ConfigError {
        position: (e.line() > 0).then(|| (e.line(), e.column().max(1))),
        ..ConfigError::unplaced(kind, message)
    }
}

fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_column(text, s.start));
    let deserializer = toml::Deserializer::parse(text).map_err(|e| ConfigError {
        position: at(e.span()),
        ..ConfigError::unplaced(ConfigErrorKind::Syntax, e.message().trim())
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = field_of(e.path());
        let inner = e.into_inner();
        ConfigError {
            position: at(inner.span()),
            field,
            ..ConfigError::unplaced(ConfigErrorKind::Shape, inner.message().trim())
        }
    })
}

/// The field a deserialization error is about; none at the root.
fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let field = path.to_string();
    (field != ".").then_some(field)
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder of this process, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("bedrock-mock-config-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn file(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_utf16_is_named() {
        let scratch = Scratch::new("bom");
        let json = scratch.file("a.json", b"\xEF\xBB\xBF{\"regions\": [\"eu-west-1\"]}");
        assert_eq!(
            ServerConfig::from_file(&json).unwrap().regions,
            ["eu-west-1"]
        );
        let toml = scratch.file("a.toml", b"\xEF\xBB\xBFregions = [\"eu-west-1\"]\n");
        assert_eq!(
            ServerConfig::from_file(&toml).unwrap().regions,
            ["eu-west-1"]
        );
        let utf16 = scratch.file("b.json", b"\xFF\xFE{\0}\0");
        let e = ServerConfig::from_file(&utf16).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::NotUtf8);
        assert!(e.to_string().contains("is UTF-16"), "{e}");
    }

    #[test]
    fn a_file_without_an_extension_is_json_when_it_starts_with_a_brace() {
        let scratch = Scratch::new("bare");
        let json = scratch.file("account", b"\n  {\"regions\": [\"us-west-2\"]}\n");
        assert_eq!(
            ServerConfig::from_file(&json).unwrap().regions,
            ["us-west-2"]
        );
        let toml = scratch.file("account2", b"regions = [\"us-west-2\"]\n");
        assert_eq!(
            ServerConfig::from_file(&toml).unwrap().regions,
            ["us-west-2"]
        );
        let yaml = scratch.file("account.yaml", b"regions: [us-west-2]\n");
        let e = ServerConfig::from_file(&yaml).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnknownFormat);
        assert!(
            e.to_string().ends_with(
                "account.yaml: `.yaml` is not a format the mock reads: write the config as JSON (`.json`) or TOML (`.toml`)"
            ),
            "{e}"
        );
    }

    #[test]
    fn invalid_utf8_is_named_by_offset_line_and_column() {
        let scratch = Scratch::new("utf8");
        let path = scratch.file(
            "a.toml",
            b"account_id = \"123456789012\"\nregions = [\"\xE9u\"]\n",
        );
        let e = ServerConfig::from_file(&path).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (ConfigErrorKind::NotUtf8, Some((2, 13)))
        );
        assert!(
            e.to_string().ends_with(
                "a.toml:2:13: byte 0xE9 at offset 40 (line 2, column 13) is not UTF-8; save the text as UTF-8"
            ),
            "{e}"
        );
    }

    #[test]
    fn parse_errors_name_file_line_column_field_and_cause() {
        let scratch = Scratch::new("syntax");
        let json = scratch.file("a.json", b"{\n  \"regions\": [\"us-east-1\",]\n}\n");
        let e = ServerConfig::from_file(&json).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (ConfigErrorKind::Syntax, Some((2, 27)))
        );
        assert!(
            e.to_string()
                .ends_with("a.json:2:27: field `regions`: trailing comma"),
            "{e}"
        );
        let toml = scratch.file("a.toml", b"regions = [\"us-east-1\"\nseed = 1\n");
        let e = ServerConfig::from_file(&toml).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Syntax);
        assert_eq!(e.position.map(|p| p.0), Some(2), "{e}");
        let typed = scratch.file(
            "b.json",
            b"{\"rules\": [{\"answer\": {\"error\": {\"code\": \"Nope\"}}}]}",
        );
        let e = ServerConfig::from_file(&typed).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Shape);
        assert_eq!(e.field.as_deref(), Some("rules[0].answer.error.code"));
        assert!(
            e.message.starts_with(
                "`Nope` is not an error the mock knows; known codes: ValidationException,"
            ),
            "{e}"
        );
        let typo = scratch.file("b.toml", b"seed = 1\nregoins = []\n");
        let e = ServerConfig::from_file(&typo).unwrap_err();
        assert_eq!(
            (e.kind, e.position.map(|p| p.0)),
            (ConfigErrorKind::Shape, Some(2))
        );
        assert!(e.message.starts_with("unknown field `regoins`"), "{e}");
        let missing = scratch.0.join("absent.json");
        let e = ServerConfig::from_file(&missing).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Unreadable);
    }

    #[test]
    fn what_is_read_is_checked() {
        let scratch = Scratch::new("checked");
        let path = scratch.file("a.toml", b"regions = []\n");
        let e = ServerConfig::from_file(&path).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_deref()),
            (ConfigErrorKind::Empty, Some("regions"))
        );
        let e = config_from_json(br#"{"pace": {"between_events_ms": 18446744073709551615}}"#)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("pace.between_events_ms"));
        let e = rule_from_json(br#"{"stall": {"seconds": -5}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `stall.seconds`: -5 is not a stall; give 0 to 86400 seconds"
        );
        let e = rule_from_json(b"{\"stall\": ").unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (ConfigErrorKind::Syntax, Some((1, 10)))
        );
    }
}
