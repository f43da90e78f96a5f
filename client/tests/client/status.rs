//! `bedrock-client status` as a user runs it: a fresh HOME and project
//! folder, a chosen environment (nothing inherited), settings files on disk.

use std::path::Path;
use std::process::Output;

use crate::support::{Sandbox, text};

fn status(sandbox: &Sandbox, env: &[(&str, &str)]) -> Output {
    sandbox.run(&["status"], env)
}

fn shows(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn status_shows_provider_region_auth_and_settings_without_secrets() {
    let dirs = Sandbox::new("ok");
    let user = dirs.write(
        "home/.claude/settings.json",
        r#"{"env": {"CLAUDE_CODE_USE_MANTLE": "1", "AWS_BEARER_TOKEN_BEDROCK": "ABSK-do-not-print"},
            "awsAuthRefresh": "aws sso login --profile dev"}"#,
    );
    let local = dirs.write(
        "project/.claude/settings.local.json",
        r#"{"env": {"AWS_REGION": "eu-central-1"}}"#,
    );
    let out = status(
        &dirs,
        &[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
            (
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "us.anthropic.claude-opus-4-7",
            ),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for line in [
        "API provider: Amazon Bedrock + Amazon Bedrock (Mantle)",
        "AWS region: eu-central-1",
        "Bedrock auth: Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)",
        "Opus model: us.anthropic.claude-opus-4-7",
        "awsAuthRefresh: aws sso login --profile dev",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    assert!(stdout.contains(&format!("Settings (User): {}", shows(&user))));
    assert!(stdout.contains(&format!("Settings (Local): {}", shows(&local))));
    assert!(!stdout.contains("ABSK-do-not-print"));
    assert!(!text(&out.stderr).contains("ABSK-do-not-print"));
}

#[test]
fn configuration_errors_exit_1_naming_what_to_fix() {
    let dirs = Sandbox::new("errors");
    let out = status(&dirs, &[("CLAUDE_CODE_USE_BEDROCK", "1")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("bedrock-client: AWS_REGION is not set"),
        "{}",
        text(&out.stderr)
    );

    let settings = dirs.write(
        "project/.claude/settings.json",
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": true}}"#,
    );
    let out = status(&dirs, &[("AWS_REGION", "us-east-1")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&shows(&settings)), "{stderr}");
    assert!(
        stderr.contains("`env.CLAUDE_CODE_USE_BEDROCK` must be a string, not a boolean"),
        "{stderr}"
    );
}

#[test]
fn the_cli_version_comes_from_the_flag_then_the_variable_then_the_newest() {
    let dirs = Sandbox::new("cli-version");
    let env = [
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
    ];
    let newest = bedrock_client::profile::NEWEST;
    let shown = |args: &[&str], extra: &[(&str, &str)]| {
        let mut all = env.to_vec();
        all.extend_from_slice(extra);
        let out = dirs.run(args, &all);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(shown(&["status"], &[]).contains(&format!("Behaves as: Claude Code {newest}\n")));
    let variable = [("BEDROCK_CLIENT_CLI_VERSION", "2.1.328")];
    assert!(shown(&["status"], &variable).contains("Behaves as: Claude Code 2.1.328\n"));
    let flag = ["status", "--cli-version", newest];
    assert!(shown(&flag, &variable).contains(&format!("Behaves as: Claude Code {newest}\n")));
    // An unknown version is refused with the known ones: on the command
    // line as a usage error, in the variable as a configuration error.
    let out = dirs.run(&["--cli-version", "2.1.96", "status"], &env);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("2.1.96") && stderr.contains("2.1.328") && stderr.contains(newest),
        "{stderr}"
    );
    let mut all = env.to_vec();
    all.push(("BEDROCK_CLIENT_CLI_VERSION", "2.1.96"));
    let out = dirs.run(&["status"], &all);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("bedrock-client: there is no profile of Claude Code 2.1.96: this bedrock-client imitates 2.1.328"),
        "{stderr}"
    );
}
