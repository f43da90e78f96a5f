//! Claude Code's settings files: where they are, the keys this client
//! reads, and how the files merge.
//!
//! Files are read lowest precedence first: user (`~/.claude/settings.json`,
//! or `$CLAUDE_CONFIG_DIR/settings.json`), shared project
//! (`.claude/settings.json`), local project (`.claude/settings.local.json`),
//! then managed (`/etc/claude-code/managed-settings.json` on Linux). A key
//! set in a later file wins; `env` and `modelOverrides` merge key by key.
//! Settings files hold many keys this client has no use for (permissions,
//! hooks, ...); those are left alone, but a key it does read must have the
//! right type, or loading fails naming the file and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// Where a settings file sits in the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `~/.claude/settings.json`: you, every project.
    User,
    /// `.claude/settings.json`: everyone in the project.
    Project,
    /// `.claude/settings.local.json`: you, this project.
    Local,
    /// Deployed by an organization; nothing overrides it.
    Managed,
}

/// The settings this client reads, merged across files. `Debug` shows the
/// `env` block's names only (the setup wizard stores keys there).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Environment variables applied to the client (and its refresh
    /// commands), over the process's own.
    pub env: BTreeMap<String, String>,
    /// `awsAuthRefresh`: a command that refreshes `~/.aws` (SSO login).
    pub aws_auth_refresh: Option<String>,
    /// `awsCredentialExport`: a command that prints credentials as JSON.
    pub aws_credential_export: Option<String>,
    /// `modelOverrides`: model version name → Bedrock id or ARN.
    pub model_overrides: BTreeMap<String, String>,
    /// `availableModels`: the models a user may pick.
    pub available_models: Option<Vec<String>>,
    /// `model`: the model to start with.
    pub model: Option<String>,
    /// The files read, in precedence order, lowest first.
    pub files: Vec<(Scope, PathBuf)>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("aws_auth_refresh", &self.aws_auth_refresh)
            .field("aws_credential_export", &self.aws_credential_export)
            .field("model_overrides", &self.model_overrides)
            .field("available_models", &self.available_models)
            .field("model", &self.model)
            .field("files", &self.files)
            .finish()
    }
}

/// Reads the settings files that exist at `paths` (in any order) and merges
/// them by precedence.
pub fn load(paths: &[(Scope, PathBuf)]) -> Result<Settings, Error> {
    let mut ordered: Vec<&(Scope, PathBuf)> = paths.iter().collect();
    ordered.sort_by_key(|(scope, _)| *scope);
    let mut merged = Settings::default();
    for (scope, path) in ordered {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(settings_error(
                    path,
                    format!("cannot be read ({e}); fix its permissions or remove it"),
                ));
            }
        };
        merge(&mut merged, parse(path, &text)?);
        merged.files.push((*scope, path.clone()));
    }
    Ok(merged)
}

/// One file's settings, checked.
fn parse(path: &Path, text: &str) -> Result<Settings, Error> {
    // An empty file is what an editor leaves behind; Claude Code reads it
    // as no settings.
    if text.trim().is_empty() {
        return Ok(Settings::default());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        settings_error(
            path,
            format!(
                "is not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(settings_error(path, "must be a JSON object (`{ ... }`)"));
    };
    let keys = Keys {
        path,
        object: &object,
    };
    // Read first: when several keys are wrong, its error is the one named.
    let available_models = keys.strings("availableModels")?;
    Ok(Settings {
        env: keys.string_map("env")?,
        aws_auth_refresh: keys.string("awsAuthRefresh")?,
        aws_credential_export: keys.string("awsCredentialExport")?,
        model_overrides: keys.string_map("modelOverrides")?,
        available_models,
        model: keys.string("model")?,
        files: Vec::new(),
    })
}

/// The keys of one settings file, read by type; a key of the wrong type
/// is an error naming the file and the key.
struct Keys<'a> {
    path: &'a Path,
    object: &'a serde_json::Map<String, Value>,
}

impl Keys<'_> {
    /// A string, or nothing.
    fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong_type(self.path, key, "a string", other)),
        }
    }

    /// An object of strings (empty when absent).
    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, Error> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(name, value)| match value {
                    Value::String(s) => Ok((name.clone(), s.clone())),
                    // Numbers and booleans in `env` are a common slip
                    // (`"DISABLE_PROMPT_CACHING": 1`); say how to write them.
                    other => Err(wrong_type(
                        self.path,
                        &format!("{key}.{name}"),
                        "a string",
                        other,
                    )),
                })
                .collect(),
            Some(other) => Err(wrong_type(self.path, key, "an object of strings", other)),
        }
    }

    /// An array of strings, or nothing.
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong_type(
                        self.path,
                        &format!("{key}[{i}]"),
                        "a string",
                        other,
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(wrong_type(self.path, key, "an array of strings", other)),
        }
    }
}

/// Lays `higher` over `lower`: a key `higher` sets wins; maps merge.
fn merge(lower: &mut Settings, higher: Settings) {
    lower.env.extend(higher.env);
    lower.model_overrides.extend(higher.model_overrides);
    if higher.aws_auth_refresh.is_some() {
        lower.aws_auth_refresh = higher.aws_auth_refresh;
    }
    if higher.aws_credential_export.is_some() {
        lower.aws_credential_export = higher.aws_credential_export;
    }
    if higher.available_models.is_some() {
        lower.available_models = higher.available_models;
    }
    if higher.model.is_some() {
        lower.model = higher.model;
    }
}

/// Sets `pairs` in the `env` block of the settings file at `path` (the
/// user settings, where Claude Code writes accepted pins), keeping every
/// other key (sorted, or in the file's order when the build enables
/// serde_json's `preserve_order`, as the harness does); creates the file and its folder
/// when missing. The new file replaces the old in one rename. A file that
/// is not a JSON object is left alone and named in the error.
pub fn write_env(path: &Path, pairs: &[(String, String)]) -> Result<(), Error> {
    let mut root = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| {
            settings_error(
                path,
                format!("is not valid JSON ({e}); fix it before writing to it"),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Object(Default::default()),
        Err(e) => return Err(settings_error(path, format!("cannot be read: {e}"))),
    };
    let Some(object) = root.as_object_mut() else {
        return Err(settings_error(
            path,
            "is not a JSON object; fix it before writing to it",
        ));
    };
    let env = object
        .entry("env")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(env) = env.as_object_mut() else {
        return Err(wrong_type(path, "env", "an object", env));
    };
    for (name, value) in pairs {
        env.insert(name.clone(), Value::String(value.clone()));
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| settings_error(path, format!("cannot be written: {e}")))?;
    }
    let text = serde_json::to_string_pretty(&root).expect("a JSON value serialises");
    // Written beside it and renamed over it: a crash or a full disk leaves
    // the old file whole. (The keys' order is the `Value`'s: sorted unless
    // the build enables serde_json's `preserve_order`.)
    let cannot = |e: std::io::Error| settings_error(path, format!("cannot be written: {e}"));
    let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text + "\n").map_err(cannot)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        cannot(e)
    })
}

fn settings_error(path: &Path, problem: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Settings,
        format!("settings file {}: {problem}", path.display()),
    )
}

fn wrong_type(path: &Path, key: &str, expected: &str, found: &Value) -> Error {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    settings_error(
        path,
        format!("`{key}` must be {expected}, not {found}; quote it like \"1\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A folder removed when the test ends.
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_dir(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "bedrock-client-settings-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    #[test]
    fn later_scopes_win_key_by_key_and_maps_merge() {
        let dir = temp_dir("merge");
        let user = write(
            &dir,
            "user.json",
            r#"{"awsAuthRefresh": "aws sso login", "env": {"AWS_PROFILE": "user", "AWS_REGION": "us-east-1"},
                "modelOverrides": {"claude-opus-4-6": "arn:a"}, "permissions": {"allow": []}}"#,
        );
        let project = write(
            &dir,
            "project.json",
            r#"{"env": {"AWS_PROFILE": "project"}, "availableModels": ["opus", "anthropic.claude-haiku-4-5"]}"#,
        );
        let local = write(
            &dir,
            "local.json",
            r#"{"env": {"AWS_REGION": "eu-west-1"}, "modelOverrides": {"claude-sonnet-4-6": "arn:b"}}"#,
        );
        // Given out of order: precedence, not argument order, decides.
        let settings = load(&[
            (Scope::Local, local.clone()),
            (Scope::User, user.clone()),
            (Scope::Project, project.clone()),
            (Scope::Managed, dir.join("absent.json")),
        ])
        .unwrap();
        assert_eq!(settings.env["AWS_PROFILE"], "project");
        assert_eq!(settings.env["AWS_REGION"], "eu-west-1");
        assert_eq!(settings.aws_auth_refresh.as_deref(), Some("aws sso login"));
        assert_eq!(settings.model_overrides.len(), 2);
        assert_eq!(
            settings.available_models,
            Some(vec![
                "opus".to_owned(),
                "anthropic.claude-haiku-4-5".to_owned()
            ])
        );
        assert_eq!(
            settings.files,
            [
                (Scope::User, user),
                (Scope::Project, project),
                (Scope::Local, local)
            ]
        );
    }

    #[test]
    fn writing_env_keeps_every_other_key() {
        let dir = temp_dir("write-env");
        let path = write(
            &dir,
            "settings.json",
            r#"{"awsAuthRefresh": "aws sso login", "env": {"AWS_REGION": "eu-west-1"}}"#,
        );
        write_env(
            &path,
            &[(
                "ANTHROPIC_DEFAULT_OPUS_MODEL".into(),
                "eu.anthropic.claude-opus-5-5".into(),
            )],
        )
        .unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written["awsAuthRefresh"], "aws sso login");
        assert_eq!(written["env"]["AWS_REGION"], "eu-west-1");
        assert_eq!(
            written["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
            "eu.anthropic.claude-opus-5-5"
        );
        let fresh = dir.join("new/settings.json");
        write_env(&fresh, &[("A".into(), "1".into())]).unwrap();
        assert!(
            std::fs::read_to_string(&fresh)
                .unwrap()
                .contains("\"A\": \"1\"")
        );
        let broken = write(&dir, "broken.json", "[1]");
        let e = write_env(&broken, &[("A".into(), "1".into())]).unwrap_err();
        assert!(e.message().contains("is not a JSON object"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let dir = temp_dir("errors");
        let message = |text: &str| {
            let path = write(&dir, "settings.json", text);
            load(&[(Scope::User, path)]).unwrap_err().to_string()
        };
        let m = message(r#"{"env": {"DISABLE_PROMPT_CACHING": 1}}"#);
        assert!(m.contains("settings.json"), "{m}");
        assert!(
            m.contains("`env.DISABLE_PROMPT_CACHING` must be a string, not a number"),
            "{m}"
        );
        let m = message(r#"{"awsAuthRefresh": ["aws", "sso"]}"#);
        assert!(
            m.contains("`awsAuthRefresh` must be a string, not an array"),
            "{m}"
        );
        let m = message(r#"{"availableModels": ["opus", 4]}"#);
        assert!(m.contains("`availableModels[1]`"), "{m}");
        let m = message("{\n  \"env\": {\n    \"A\": \"b\",\n  }\n}");
        assert!(
            m.contains("is not valid JSON") && m.contains("line 4"),
            "{m}"
        );
        let m = message("[]");
        assert!(m.contains("must be a JSON object"), "{m}");
        assert_eq!(
            load(&[(Scope::User, write(&dir, "empty.json", "  \n"))]).unwrap(),
            Settings {
                files: vec![(Scope::User, dir.join("empty.json"))],
                ..Settings::default()
            }
        );
    }
}
