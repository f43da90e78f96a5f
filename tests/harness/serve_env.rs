//! What `serve` prints for a client's shell (`export` and `unset` lines)
//! and for a script (`--print-env json`), run as a user runs it; and the
//! README's pytest example, the file the conformance suite runs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::Scratch;

fn serve(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bedrock-harness"));
    command
        .args(["serve", "--port", "0", "--quiet"])
        .args(args)
        .env_remove("BEDROCK_MOCK_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running `serve` and what it printed on stdout up to `until`.
struct Running {
    child: Child,
    stdout: String,
}

impl Running {
    fn start(mut command: Command, until: &str) -> Self {
        let mut child = command.spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        while !stdout.contains(until) {
            assert!(
                reader.read_line(&mut stdout).unwrap() > 0,
                "stdout ended early: {stdout}"
            );
        }
        Self { child, stdout }
    }

    /// The URL from the banner's first line.
    fn uri(&self) -> &str {
        self.stdout
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("bedrock mock listening on "))
            .unwrap()
    }

    /// Stops it; its stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stderr = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr);
        stderr
    }
}

/// The lines a shell evaluates: `export …` and `unset …`.
fn shell_lines(banner: &str) -> Vec<&str> {
    banner
        .lines()
        .filter(|l| l.starts_with("export ") || l.starts_with("unset "))
        .collect()
}

#[test]
fn the_exports_are_exact_and_eval_leaves_no_stale_variable_in_force() {
    let running = Running::start(serve(&[]), "stop: Ctrl-C");
    let uri = running.uri().to_owned();
    let lines = shell_lines(&running.stdout).join("\n");
    running.stop();
    let expected = format!(
        "export ANTHROPIC_BEDROCK_BASE_URL={uri}
export ANTHROPIC_BEDROCK_MANTLE_BASE_URL={uri}/anthropic
export AWS_ENDPOINT_URL={uri}
export AWS_ENDPOINT_URL_STS={uri}
export BEDROCK_MOCK_URL={uri}
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_EC2_METADATA_DISABLED=true
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
export CLAUDE_CODE_USE_BEDROCK=1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
AWS_CREDENTIAL_EXPIRATION AWS_BEARER_TOKEN_BEDROCK AWS_ENDPOINT_URL_BEDROCK \
AWS_ENDPOINT_URL_BEDROCK_RUNTIME AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    );
    assert_eq!(lines, expected);

    // A shell holding another session's variables.
    let stale = [
        ("AWS_PROFILE", "production"),
        ("AWS_DEFAULT_PROFILE", "production"),
        ("AWS_SESSION_TOKEN", "stale-session-token"),
        ("AWS_SECURITY_TOKEN", "stale-session-token"),
        ("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z"),
        ("AWS_BEARER_TOKEN_BEDROCK", "stale-api-key"),
        (
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
            "https://bedrock-runtime.example",
        ),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_DEFAULT_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIASTALE"),
    ];
    let out = Command::new("sh")
        .args(["-c", "eval \"$EXPORTS\" && env"])
        .env("EXPORTS", &lines)
        .envs(stale)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let env = String::from_utf8(out.stdout).unwrap();
    let value = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
    };
    for (name, _) in stale {
        match name {
            "AWS_REGION" | "AWS_DEFAULT_REGION" => {
                assert_eq!(value(name).as_deref(), Some("us-east-1"), "{name}");
            }
            "AWS_ACCESS_KEY_ID" => {
                assert_eq!(value(name).as_deref(), Some("AKIDEXAMPLE"));
            }
            _ => assert_eq!(value(name), None, "{name} is still set: {env}"),
        }
    }
}

#[test]
fn print_env_json_is_the_same_settings_as_one_line_of_json() {
    let shell = Running::start(serve(&[]), "stop: Ctrl-C");
    let shell_uri = shell.uri().to_owned();
    let lines: Vec<String> = shell_lines(&shell.stdout)
        .into_iter()
        .map(str::to_owned)
        .collect();
    shell.stop();

    let json = Running::start(serve(&["--print-env", "json"]), "\n");
    let object: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let stderr = json.stop();
    let uri = object["url"].as_str().unwrap();
    assert_eq!(object["admin"], format!("{uri}/__bedrock_mock/"));
    assert!(
        stderr.starts_with(&format!("bedrock mock listening on {uri}\n")),
        "the banner goes to stderr: {stderr}"
    );
    assert!(!stderr.contains("export "), "{stderr}");

    let set: Vec<String> = object["set"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| format!("export {name}={}", value.as_str().unwrap()))
        .collect();
    let unset: Vec<&str> = object["unset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut from_json = set;
    from_json.push(format!("unset {}", unset.join(" ")));
    let mut from_shell: Vec<String> = lines.iter().map(|l| l.replace(&shell_uri, uri)).collect();
    // A JSON object's members need not keep their order.
    from_json.sort();
    from_shell.sort();
    assert_eq!(from_json, from_shell);
}

#[test]
fn a_session_token_is_exported_not_unset_and_the_admin_token_stays_off_stderr() {
    let scratch = Scratch::new("serve-env-token");
    let config = scratch.file(
        "account.json",
        br#"{"regions":["eu-west-1"],"credentials":[{"access_key_id":"ASIATEMP",
             "secret_access_key":"temp-secret","session_token":"temp token"}]}"#,
    );
    let config = config.to_str().unwrap();
    let running = Running::start(serve(&["--config", config]), "stop: Ctrl-C");
    let lines = shell_lines(&running.stdout).join("\n");
    running.stop();
    assert!(
        lines.contains("\nexport AWS_DEFAULT_REGION=eu-west-1\n"),
        "{lines}"
    );
    assert!(
        lines.contains("\nexport AWS_SESSION_TOKEN='temp token'\n"),
        "{lines}"
    );
    let unset = lines.lines().last().unwrap();
    assert!(!unset.contains(" AWS_SESSION_TOKEN"), "{unset}");
    assert!(unset.contains(" AWS_SECURITY_TOKEN"), "{unset}");

    let remote = serve(&["--print-env", "json", "--allow-remote"]);
    let running = Running::start(remote, "\n");
    let object: serde_json::Value = serde_json::from_str(&running.stdout).unwrap();
    let stderr = running.stop();
    let token = object["set"]["BEDROCK_MOCK_ADMIN_TOKEN"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(
        !stderr.contains(token),
        "the token is on stdout only: {stderr}"
    );
    assert!(
        stderr.contains("# the token is in the JSON on stdout"),
        "{stderr}"
    );
}

#[test]
fn a_scenario_s_environment_in_json_unsets_what_it_does_not_give() {
    let scratch = Scratch::new("serve-env-scenario");
    let path = scratch.file(
        "key.toml",
        br#"schema = 1
name = "key"
description = "An API key."
source = "test"
[client]
credentials = "api-key"
env = { CLAUDE_CODE_USE_BEDROCK = "1", AWS_REGION = "eu-west-1" }
[server]
regions = ["eu-west-1"]
[expect]
exit = 0
"#,
    );
    let mut command = serve(&["--print-env", "json", "--scenario"]);
    command.arg(&path);
    let running = Running::start(command, "\n");
    let object: serde_json::Value = serde_json::from_str(&running.stdout).unwrap();
    let stderr = running.stop();
    assert!(stderr.contains("# scenario key: An API key."), "{stderr}");
    assert_eq!(object["set"]["AWS_DEFAULT_REGION"], "eu-west-1");
    assert!(object["set"]["AWS_BEARER_TOKEN_BEDROCK"].is_string());
    let unset = object["unset"].as_array().unwrap();
    assert!(unset.contains(&"AWS_ACCESS_KEY_ID".into()), "{unset:?}");
    assert!(
        !unset.contains(&"AWS_BEARER_TOKEN_BEDROCK".into()),
        "{unset:?}"
    );
}

#[test]
fn the_readme_s_pytest_example_is_the_file_the_suite_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = "conformance/pytest_example/test_bedrock_mock.py";
    let file = std::fs::read_to_string(root.join(example)).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split_once("\n### From pytest\n")
        .map(|(_, after)| after)
        .expect("README.md has a section `### From pytest`");
    let block = section
        .split_once("\n```python\n")
        .and_then(|(_, after)| after.split_once("\n```\n"))
        .map(|(block, _)| format!("{block}\n"))
        .expect("a ```python block in it");
    assert!(
        block == file,
        "README.md's pytest block and {example} differ: copy the file into the block"
    );
    let suite = std::fs::read_to_string(root.join("conformance/run.py")).unwrap();
    assert!(
        suite.contains("\"conformance\" / \"pytest_example\""),
        "the suite runs it"
    );
}

/// A `serve` whose journal's bound dropped requests says how many when it
/// is stopped (SIGTERM, as `load` and a user stop it), naming the bound.
#[cfg(unix)]
#[test]
fn serve_says_at_its_stop_how_many_requests_its_journal_s_bound_dropped() {
    use std::io::Write;
    // The whole banner read: a pipe closed early would stop the server.
    let running = Running::start(serve(&["--journal-max-entries", "2"]), "stop: Ctrl-C");
    let address = running.uri().trim_start_matches("http://").to_owned();
    for _ in 0..5 {
        let mut tcp = std::net::TcpStream::connect(&address).unwrap();
        write!(
            tcp,
            "GET /foundation-models HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    }
    let mut child = running.child;
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert!(child.wait().unwrap().success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains(
            "journal: 3 requests dropped by its bound (--journal-max-entries 2, --journal-max-mib 256), oldest first"
        ),
        "{stderr}"
    );
}
