//! A scenario's client side made real, for any client: a sandbox (a fresh
//! HOME, a project folder), the settings and other files written into it,
//! the client's whole environment with every endpoint on the mock, its
//! arguments, the refresh commands of the built-in actions, and the
//! secrets to look for in what comes out. The in-process runner (`run`)
//! and the runner of a client program (`process`) both build their
//! client from these.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bedrock_client::conversation::ScriptedLine;
use bedrock_mock_server::{ADMIN_PREFIX, ADMIN_TOKEN_VARIABLE};

use super::format::{RefreshAction, Scenario};
use super::load::check_inside_home;

/// What keeps every client on this machine, whatever else it is given:
/// no instance metadata, no nonessential traffic.
pub const STAY_LOCAL: [(&str, &str); 2] = [
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
];

/// What every client of `scenario` gets besides the endpoints:
/// [`STAY_LOCAL`], and the variables of its credential shorthand.
pub fn scenario_client_basics(scenario: &Scenario) -> Vec<(&'static str, String)> {
    STAY_LOCAL
        .into_iter()
        .chain(scenario.client.credentials.env())
        .map(|(name, value)| (name, value.to_owned()))
        .collect()
}

/// Every endpoint variable a client reads, pointed at the mock at `uri`:
/// Invoke and the control plane, Mantle (under `/anthropic`, as its real
/// base URL is), STS; and `BEDROCK_MOCK_URL` for refresh scripts.
pub fn mock_endpoints(uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.to_owned()),
        (
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
            format!("{uri}/anthropic"),
        ),
        ("AWS_ENDPOINT_URL", uri.to_owned()),
        ("AWS_ENDPOINT_URL_STS", uri.to_owned()),
        ("BEDROCK_MOCK_URL", uri.to_owned()),
    ]
}

/// `text` with `{mock}` as the mock's URL (`uri`) and `{home}` as the
/// sandbox's HOME, as scenario files write them.
pub fn fill_in(text: &str, uri: &str, sandbox: &Sandbox) -> String {
    text.replace("{mock}", uri)
        .replace("{home}", &sandbox.home().display().to_string())
}

/// The client's whole environment, nothing inherited from this process:
/// HOME, PWD and PATH, the endpoints, the basics, then `extra` (what a
/// kind of client needs beyond them), then the scenario's own variables,
/// which win.
pub fn client_env(
    scenario: &Scenario,
    uri: &str,
    sandbox: &Sandbox,
    extra: &[(&str, &str)],
    fill: &dyn Fn(&str) -> String,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("HOME", sandbox.home().display().to_string()),
        // Where refresh commands run: the project folder, as a shell in
        // it would say.
        ("PWD", sandbox.project().display().to_string()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .chain(mock_endpoints(uri))
    .chain(scenario_client_basics(scenario))
    .chain(extra.iter().map(|&(name, value)| (name, value.to_owned())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in &scenario.client.env {
        env.insert(name.clone(), fill(value));
    }
    env
}

/// The commands `bedrock-client` has and Claude Code does not.
pub const BEDROCK_CLIENT_COMMANDS: [&str; 3] = ["status", "models", "setup"];

/// `bedrock-client` and the scenario's arguments, with `-p PROMPT` unless
/// they hold a command or a prompt already (Claude Code takes the same:
/// `-p` and a prompt).
pub fn client_args(scenario: &Scenario) -> Vec<String> {
    let mut args = vec!["bedrock-client".to_owned()];
    args.extend(scenario.client.args.iter().cloned());
    let has_command = scenario.client.args.iter().any(|a| {
        BEDROCK_CLIENT_COMMANDS.contains(&a.as_str()) || matches!(a.as_str(), "-p" | "--print")
    });
    if !scenario.client.turns.is_empty() {
        args.extend(CONVERSATION_ARGS.map(str::to_owned));
    } else if !has_command {
        args.push("-p".into());
        args.push(
            scenario
                .client
                .prompt
                .clone()
                .unwrap_or_else(|| "hi".into()),
        );
    }
    args
}

/// The arguments of a conversation (`[client] turns`): the CLI's
/// multi-turn form, user messages as JSON lines on stdin.
pub const CONVERSATION_ARGS: [&str; 6] = [
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
];

/// The stdin lines of a conversation, each with how long the user waits
/// before sending it (`after`, checked when the scenario was loaded).
pub fn conversation_lines(scenario: &Scenario) -> Vec<ScriptedLine> {
    scenario
        .client
        .turns
        .iter()
        .map(|turn| {
            ScriptedLine::new(
                turn.wait().unwrap_or_default(),
                ScriptedLine::user_message(&turn.prompt),
            )
        })
        .collect()
}

/// The setting of the command that renews credentials by side effect.
pub const AUTH_REFRESH: &str = "awsAuthRefresh";
/// The setting of the command that prints credentials.
pub const CREDENTIAL_EXPORT: &str = "awsCredentialExport";

/// The two refresh commands a scenario's built-in actions write into the
/// user settings, and whether each is the one that prints credentials.
pub const REFRESH_SETTINGS: [(&str, bool); 2] = [(AUTH_REFRESH, false), (CREDENTIAL_EXPORT, true)];

/// The shell command of a built-in refresh action. The admin call carries
/// the token of a server started with `--allow-remote` when the shell has
/// it (`serve` prints it as [`ADMIN_TOKEN_VARIABLE`]), and nothing more
/// otherwise.
pub fn refresh_command(action: RefreshAction, export: bool) -> String {
    let issue_next = |then: &str| {
        format!(
            r#"curl -sf -X POST ${{{token}:+-H "Authorization: Bearer ${token}"}} "$BEDROCK_MOCK_URL{ADMIN_PREFIX}credentials/next{then}"#,
            token = ADMIN_TOKEN_VARIABLE
        )
    };
    match (action, export) {
        (RefreshAction::IssueNext, true) => issue_next(r#"""#),
        (RefreshAction::IssueNext, false) => issue_next(
            r#"?format=ini&profile=${AWS_PROFILE:-default}" -o "$HOME/.aws/credentials""#,
        ),
        (RefreshAction::NoOp, _) => "echo 'Attempting SSO login...'".to_owned(),
        (RefreshAction::Fail, _) => {
            "echo 'error: the identity provider could not be reached' >&2; exit 1".to_owned()
        }
        (RefreshAction::PrintGarbage, _) => "echo 'Login succeeded'".to_owned(),
    }
}

/// The user settings file's contents: the scenario's, with the built-in
/// refresh actions written in as commands.
pub fn user_settings(scenario: &Scenario) -> Result<Option<serde_json::Value>, String> {
    user_settings_with(scenario, &|_, command| command)
}

/// [`user_settings`], each built-in refresh command passed through
/// `write` (with its setting's name) before it is written in.
pub fn user_settings_with(
    scenario: &Scenario,
    write: &dyn Fn(&str, String) -> String,
) -> Result<Option<serde_json::Value>, String> {
    let mut user = scenario.client.settings.user.clone();
    let refresh = &scenario.client.refresh;
    for ((key, export), action) in REFRESH_SETTINGS
        .into_iter()
        .zip([refresh.auth, refresh.export])
    {
        if let Some(action) = action {
            let object = user.get_or_insert_with(|| serde_json::json!({}));
            let Some(object) = object.as_object_mut() else {
                return Err("client.settings.user: must be a table".into());
            };
            object.insert(
                key.into(),
                write(key, refresh_command(action, export)).into(),
            );
        }
    }
    Ok(user)
}

/// Writes the settings files (`user` is the user settings file's
/// contents, from [`user_settings`]) and the scenario's other files into
/// the sandbox.
pub fn write_files(
    scenario: &Scenario,
    sandbox: &Sandbox,
    user: Option<&serde_json::Value>,
    fill: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    let settings = &scenario.client.settings;
    let targets = [
        (user, sandbox.home().join(".claude/settings.json")),
        (
            settings.project.as_ref(),
            sandbox.project().join(".claude/settings.json"),
        ),
        (
            settings.local.as_ref(),
            sandbox.project().join(".claude/settings.local.json"),
        ),
        (settings.managed.as_ref(), sandbox.managed()),
    ];
    for (value, path) in targets {
        if let Some(value) = value {
            let text = fill(&serde_json::to_string_pretty(value).unwrap_or_default());
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    for (relative, text) in &scenario.client.files {
        check_inside_home(&format!("client.files.\"{relative}\""), relative)
            .map_err(|(field, message)| format!("{field}: {message}"))?;
        let path = sandbox.home().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, fill(text))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The files `expect.files` and `expect.files_lack` name, read back from
/// `home` after the run (`None`: missing).
pub fn written_files(scenario: &Scenario, home: &Path) -> BTreeMap<String, Option<String>> {
    let expect = &scenario.expect;
    expect
        .files
        .keys()
        .chain(expect.files_lack.keys())
        .map(|path| (path.clone(), read_written_file(home, path)))
        .collect()
}

/// A file the client was expected to write under `home`: a regular file
/// inside it, read up to 1 MiB (`None` when missing or anything else).
fn read_written_file(home: &Path, relative: &str) -> Option<String> {
    check_inside_home("expect.files", relative).ok()?;
    let path = home.join(relative);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(std::fs::File::open(path).ok()?, 1 << 20),
        &mut text,
    )
    .ok()?;
    Some(text)
}

/// Every secret the scenario puts anywhere: the account's secret keys,
/// session tokens, API keys and SSO tokens, and secret-looking values of
/// the client's environment, settings and files.
pub fn secrets_of(scenario: &Scenario) -> Vec<String> {
    let mut secrets = account_secrets(scenario);
    secrets.extend(client_secrets(scenario));
    // Short values ("1", "true") are not secrets worth looking for and
    // would match anywhere.
    secrets.retain(|s| s.len() >= 8);
    secrets.sort();
    secrets.dedup();
    secrets
}

fn account_secrets(scenario: &Scenario) -> Vec<String> {
    let server = &scenario.server;
    let mut secrets: Vec<String> = Vec::new();
    for credential in server.credentials.iter().chain(&server.next_credentials) {
        secrets.push(credential.secret_access_key.clone());
        secrets.extend(credential.session_token.clone());
    }
    secrets.extend(server.api_keys.iter().map(|k| k.key.clone()));
    secrets.extend(server.sso_tokens.iter().map(|k| k.key.clone()));
    secrets
}

/// The client's secrets: the credentials shorthand's (its access key id is
/// no secret), and values under secret names in its environment, settings
/// and files.
fn client_secrets(scenario: &Scenario) -> Vec<String> {
    let client = &scenario.client;
    let mut secrets: Vec<String> = client
        .credentials
        .env()
        .into_iter()
        .filter(|(name, _)| *name != "AWS_ACCESS_KEY_ID")
        .map(|(_, value)| value.to_owned())
        .collect();
    let env = client.env.iter().map(|(k, v)| (k.clone(), v.clone()));
    secrets.extend(
        env.chain(client.settings.env())
            .filter(|(name, _)| is_secret_name(name))
            .map(|(_, value)| value),
    );
    for text in client.files.values() {
        // INI files (`aws_secret_access_key = ...`) and JSON ones (an SSO
        // cache's `accessToken`, `credential_process` output).
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=')
                && is_secret_name(key.trim())
            {
                secrets.push(value.trim().to_owned());
            }
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            collect_json_secrets(&json, &is_secret_name, &mut secrets);
        }
    }
    secrets
}

/// Names of secrets, not of paths to them (`AWS_WEB_IDENTITY_TOKEN_FILE`)
/// or of token counts (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`).
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    (name.contains("SECRET")
        || name.contains("TOKEN")
        || name.ends_with("API_KEY")
        || name.ends_with("APIKEY"))
        && !name.ends_with("_FILE")
        && !name.contains("TOKENS")
}

/// String values under secret-looking keys anywhere in `json`.
fn collect_json_secrets(
    json: &serde_json::Value,
    is_secret_name: &dyn Fn(&str) -> bool,
    secrets: &mut Vec<String>,
) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                // JSON keys are camelCase: `accessToken`, `SecretAccessKey`.
                let name: String = key
                    .chars()
                    .flat_map(|c| {
                        let upper = c.is_ascii_uppercase().then_some('_');
                        upper.into_iter().chain(std::iter::once(c))
                    })
                    .collect();
                match value.as_str() {
                    Some(text) if is_secret_name(&name) => secrets.push(text.to_owned()),
                    _ => collect_json_secrets(value, is_secret_name, secrets),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_json_secrets(item, is_secret_name, secrets);
            }
        }
        _ => {}
    }
}

/// A fresh folder per run: `home` (with `.aws` and `.claude`), `project`
/// (with `.claude`), and the managed settings file; removed on drop.
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    /// Makes the folders of a run of scenario `name`.
    pub fn new(name: &str) -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "bedrock-harness-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["home/.aws", "home/.claude", "project/.claude"] {
            std::fs::create_dir_all(root.join(dir))
                .map_err(|e| format!("cannot make {}: {e}", root.join(dir).display()))?;
        }
        Ok(Self { root })
    }

    /// The sandbox itself: what is kept beside HOME and the project.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The client's HOME.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// The project folder: where the client runs.
    pub fn project(&self) -> PathBuf {
        self.root.join("project")
    }

    /// Where the managed settings file is written (read by an in-process
    /// client only: a program reads the machine's own).
    pub fn managed(&self) -> PathBuf {
        self.root.join("managed-settings.json")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
