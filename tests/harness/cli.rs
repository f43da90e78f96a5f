//! The `bedrock-harness` binary as a user runs it.

use std::path::Path;
use std::process::Command;

use crate::Scratch;

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bedrock-harness"))
}

fn golden(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eventstream/tests/data")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn decode_prints_one_json_line_per_frame() {
    let out = harness()
        .args(["decode", &golden("bedrock_stream.bin")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "7 frames, 1989 bytes\n"
    );
}

#[test]
fn decode_names_the_offset_of_a_corrupt_frame_and_fails() {
    let out = harness()
        .args(["decode", &golden("bad_message_crc.bin")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("message checksum mismatch at byte 0"),
        "{stderr}"
    );

    let out = harness()
        .args(["decode", "/nonexistent/capture.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/capture.bin"));
}

/// `Scratch` (the test binary's) writes the `new` template too.
impl Scratch {
    /// Writes the `new` template for `name` into `folder` and returns its path.
    fn scenario(&self, folder: &str, name: &str) -> std::path::PathBuf {
        let path = self.0.join(folder).join(format!("{name}.toml"));
        let out = harness()
            .args(["new", name, "--output"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        path
    }
}

#[test]
fn run_reports_each_scenario_a_table_junit_and_json_and_fails_on_any_failure() {
    let scratch = Scratch::new("run");
    scratch.scenario("good", "passes");
    let failing = scratch.scenario("bad", "fails");
    let text = std::fs::read_to_string(&failing).unwrap();
    std::fs::write(
        &failing,
        text.replace("stdout = [\"hi\"]", "stdout = [\"bye\"]"),
    )
    .unwrap();
    let broken = scratch.0.join("bad/broken.toml");
    std::fs::write(
        &broken,
        "schema = 1\nname = \"broken\"\ndescription = \"d\"\nsource = \"s\"\n[client]\nprompt = 3\n",
    )
    .unwrap();
    let junit = scratch.0.join("junit.xml");
    let out = harness()
        .arg("run")
        .arg(&scratch.0)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PASS  ") && stderr.contains("good/passes.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL  ") && stderr.contains("bad/fails.toml"),
        "{stderr}"
    );
    assert!(
        stdout.contains("3 scenarios: 1 passed, 1 failed, 1 could not run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stdout lacks \"bye\"; it was:\n    hi"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "broken.toml:6:10: field `client.prompt`: invalid type: integer `3`, expected a string"
        ),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
        "{xml}"
    );

    let out = harness()
        .arg("run")
        .arg(&scratch.0)
        .args(["--json", "--filter", "good"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results[0]["status"], "passed");
    assert_eq!(results.as_array().unwrap().len(), 1);
}

/// The built `bedrock-client` binary, beside this test's own:
/// `cargo test --workspace` builds it (with the features the workspace's
/// tests unify, so it is not built again here); `cargo test -p
/// bedrock-harness` alone does not, and then it is built once.
fn bedrock_client_binary() -> std::path::PathBuf {
    // target/debug/deps/harness-HASH → target/debug/bedrock-client.
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("bedrock-client");
    if !binary.is_file() {
        let built = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "bedrock-client",
                "--bin",
                "bedrock-client",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(built.success(), "cargo build -p bedrock-client failed");
    }
    binary
}

fn scenario_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(relative)
        .display()
        .to_string()
}

/// `run --client-program` with `bedrock-client` as the program: the path
/// the real Claude Code CLI takes (a process on the real clock, its times
/// moved, what only bedrock-client has skipped, what the real clock cannot
/// hold not checked), offline.
#[test]
fn run_with_a_client_program_checks_what_it_can_and_says_what_it_cannot() {
    let program = bedrock_client_binary();
    let scratch = Scratch::new("program-report");
    let page = scratch.0.join("report.html");
    let out = harness()
        .args(["run", "--json", "-v", "--report"])
        .arg(&page)
        .arg("--client-program")
        .arg(&program)
        .args([
            scenario_file("faults/stream-reset-before-head.toml"),
            scenario_file("customers/bedrock-424-not-retried.toml"),
            scenario_file("auth/sso-profile.toml"),
            scenario_file("models/update-offer-skips-arn.toml"),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "time limit 180 s per scenario; real clock, each scenario's times moved to now"
        ),
        "{stderr}"
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |name: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {results:#}"))
            .clone()
    };
    let reset = by_name("stream-reset-before-head");
    assert_eq!(reset["status"], "passed", "{reset:#}\n{stderr}");
    assert_eq!(
        reset["client"],
        format!("program {}", program.canonicalize().unwrap().display())
    );
    let not_checked = reset["not_checked"].as_array().unwrap();
    assert!(
        not_checked.contains(&"virtual_seconds = 0.5: not checked (real clock)".into()),
        "{reset:#}"
    );
    let refused = by_name("bedrock-424-not-retried");
    assert_eq!(refused["status"], "passed", "{refused:#}");
    assert_eq!(
        refused["not_checked"][0],
        "error = \"final\": not checked (bedrock-client's own failure kind)"
    );
    // Its SSO cache's expiry moved with the clock: the token is still good.
    let sso = by_name("sso-profile");
    assert_eq!(sso["status"], "passed", "{sso:#}");
    let skipped = by_name("update-offer-skips-arn");
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(
        skipped["failures"][0],
        "uses `models`, a bedrock-client command"
    );
    // `-v` shows each error answer's message after the journal.
    assert!(
        stderr.contains("--- error messages\n#5 424 ModelErrorException: The system encountered an unexpected error during processing. Try your request again.\n"),
        "{stderr}"
    );
    // The page draws the program's runs on the real clock, and says why
    // one was skipped.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("On the real clock, from "), "{html}");
    assert!(html.contains("4 scenarios: 3 passed, 0 failed, 0 could not run, 1 skipped"));
    assert!(html.contains("Not run with program "));
    assert!(
        html.contains("class=\"bar no-answer\""),
        "the reset before the head"
    );
}

/// Past `--time-limit` the program is stopped and the scenario fails with
/// that reason, in about the limit's time.
#[test]
fn a_client_program_past_its_time_limit_fails_the_scenario() {
    let program = bedrock_client_binary();
    let started = std::time::Instant::now();
    let out = harness()
        .args(["run", "--time-limit", "1", "--client-program"])
        .arg(&program)
        // Three throttled turns: 3.5 s of backoff.
        .arg(scenario_file("customers/backoff-broken-0-2-56.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("  - the client did not finish within the time limit (1 s): it was stopped, with everything it started"),
        "{stdout}"
    );
    assert!(stdout.starts_with("client: program "), "{stdout}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let out = harness()
        .args(["run", "--time-limit", "5"])
        .arg(scenario_file("customers/backoff-broken-0-2-56.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--time-limit is for a client program"));
}

#[test]
fn run_with_nothing_to_run_says_so() {
    let scratch = Scratch::new("empty");
    let out = harness().arg("run").arg(&scratch.0).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario files (*.toml) under"));
    let out = harness()
        .args(["run", "/nonexistent/scenarios"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/scenarios does not exist"));
}

/// The file's `#:schema` path, resolved as an editor resolves it:
/// against the file's folder.
fn schema_of(file: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().next().unwrap();
    let relative = line
        .strip_prefix("#:schema ")
        .unwrap_or_else(|| panic!("{line}"));
    file.parent()
        .unwrap()
        .join(relative)
        .canonicalize()
        .unwrap()
}

#[test]
fn new_points_its_schema_line_at_the_project_schema_wherever_it_writes() {
    let scratch = Scratch::new("new-schema");
    let ours = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/schema.json")
        .canonicalize()
        .unwrap();
    // Outside the project: the path climbs out to it.
    let outside = scratch.scenario("a/b", "outside");
    assert_eq!(schema_of(&outside), ours);
    // In another project's scenarios, however deep: that project's.
    let project = scratch.0.join("project/scenarios");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("schema.json"), "{}").unwrap();
    for (relative, line) in [
        ("x.toml", "#:schema ./schema.json\n"),
        (
            "customers/acme/2026/x.toml",
            "#:schema ../../../schema.json\n",
        ),
    ] {
        let file = project.join(relative);
        let out = harness()
            .args(["new", "x", "--output"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(std::fs::read_to_string(&file).unwrap().starts_with(line));
        assert_eq!(
            schema_of(&file),
            project.join("schema.json").canonicalize().unwrap()
        );
    }
    // With no schema anywhere above or here: no line, and a word why.
    let out = harness()
        .args(["new", "lonely", "--output"])
        .arg(scratch.0.join("lonely.toml"))
        .current_dir(&scratch.0)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenarios/schema.json above"));
    let text = std::fs::read_to_string(scratch.0.join("lonely.toml")).unwrap();
    assert!(text.starts_with("# A scenario"), "{text}");
}

#[test]
fn a_name_may_start_with_a_digit() {
    let scratch = Scratch::new("new-digit");
    let path = scratch.scenario("reports", "403-after-rotation");
    let out = harness().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for bad in ["-x", "x-", "a--b", "Ab", "a_b", ""] {
        let out = harness()
            .args(["new", "--output"])
            .arg(scratch.0.join("bad.toml"))
            .args(["--", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("is not a kebab-case name"));
    }
}

#[test]
fn new_refuses_to_overwrite_and_bad_names() {
    let scratch = Scratch::new("new");
    let path = scratch.scenario("t", "first");
    let again = harness()
        .args(["new", "first", "--output"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let bad = harness().args(["new", "Not Kebab"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a kebab-case name"));
}

mod serve {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::Stdio;

    use super::harness;

    fn get(url_host: &str, path: &str) -> String {
        get_with(url_host, path, "")
    }

    /// A GET with `extra` header lines (each ending in `\r\n`).
    fn get_with(url_host: &str, path: &str, extra: &str) -> String {
        let mut socket = TcpStream::connect(url_host).unwrap();
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nhost: {url_host}\r\n{extra}connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Starts `serve` with `args`; returns it, its banner (stdout up to
    /// the `# ... stop: Ctrl-C` line) and its `host:port`.
    fn start(args: &[&str]) -> (std::process::Child, String, String) {
        start_with_env(args, &[])
    }

    fn start_with_env(
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (std::process::Child, String, String) {
        let mut child = harness()
            .arg("serve")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("stop: Ctrl-C") {
            assert!(
                stdout.read_line(&mut banner).unwrap() > 0,
                "banner ended early: {banner}"
            );
        }
        let host = banner
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("bedrock mock listening on http://"))
            .unwrap()
            .to_owned();
        (child, banner, host)
    }

    /// Stops `child` with SIGTERM; its stderr.
    fn stop(mut child: std::process::Child) -> String {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(child.wait().unwrap().success());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        stderr
    }

    #[test]
    fn serves_prints_env_lines_logs_requests_and_stops_on_sigterm() {
        let mut child = harness()
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let uri = first
            .trim()
            .strip_prefix("bedrock mock listening on ")
            .unwrap()
            .to_owned();
        let mut banner = String::new();
        while !banner.contains("# journal: ") {
            assert!(
                stdout.read_line(&mut banner).unwrap() > 0,
                "banner ended early: {banner}"
            );
        }
        assert!(
            banner.contains(&format!("export ANTHROPIC_BEDROCK_BASE_URL={uri}")),
            "{banner}"
        );
        assert!(banner.contains(&format!("export AWS_ENDPOINT_URL={uri}")));
        assert!(banner.contains(&format!("export AWS_ENDPOINT_URL_STS={uri}")));
        assert!(banner.contains(&format!(
            "export ANTHROPIC_BEDROCK_MANTLE_BASE_URL={uri}/anthropic"
        )));
        assert!(banner.contains("export AWS_ACCESS_KEY_ID=AKIDEXAMPLE"));

        let host = uri.strip_prefix("http://").unwrap();
        let answer = get(host, "/inference-profiles");
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains(r#"{"Message":"Authorization header is missing"}"#));
        assert!(
            get(host, "/__bedrock_mock/journal").contains("\"raw_path\":\"/inference-profiles\"")
        );

        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{status:?} {stderr}");
        assert!(
            stderr.contains("#1 GET /inference-profiles -> 403 AccessDeniedException [none]"),
            "{stderr}"
        );
    }

    #[test]
    fn refuses_a_host_beyond_loopback_without_allow_remote() {
        for host in ["0.0.0.0", "::", "192.0.2.1"] {
            let out = harness()
                .args(["serve", "--port", "0", "--host", host])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{host}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("--host {host} is not a loopback address"))
                    && stderr.contains("Add --allow-remote"),
                "{stderr}"
            );
            assert!(out.stdout.is_empty(), "nothing was served");
        }
        let help = harness().args(["serve", "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        for option in ["--host", "--allow-remote", "--no-admin"] {
            assert!(help.contains(option), "{help}");
        }
    }

    #[test]
    fn allow_remote_warns_and_puts_the_admin_api_behind_a_printed_token() {
        let (child, banner, host) = start(&["--port", "0", "--quiet", "--allow-remote"]);
        let token = banner
            .lines()
            .find_map(|l| l.strip_prefix("export BEDROCK_MOCK_ADMIN_TOKEN="))
            .unwrap_or_else(|| panic!("no token line: {banner}"))
            .to_owned();
        assert_eq!(token.len(), 64, "{token}");
        assert_eq!(banner.matches(&token).count(), 1, "shown once: {banner}");
        let without = get(&host, "/__bedrock_mock/journal");
        assert!(without.starts_with("HTTP/1.1 401"), "{without}");
        let auth = format!("authorization: Bearer {token}\r\n");
        let with = get_with(&host, "/__bedrock_mock/journal", &auth);
        assert!(with.starts_with("HTTP/1.1 200"), "{with}");
        let stderr = stop(child);
        assert!(stderr.contains("warning: --allow-remote: "), "{stderr}");
        assert!(!stderr.contains(&token), "{stderr}");
    }

    #[test]
    fn allow_remote_on_every_interface_takes_a_given_token_and_does_not_show_it() {
        let token = "given-token-0123456789abcdef0123456789";
        let env = [("BEDROCK_MOCK_ADMIN_TOKEN", token)];
        let (child, banner, host) = start_with_env(
            &[
                "--host",
                "0.0.0.0",
                "--port",
                "0",
                "--quiet",
                "--allow-remote",
            ],
            &env,
        );
        assert!(
            host.starts_with("127.0.0.1:"),
            "reached through loopback: {banner}"
        );
        assert!(!banner.contains(token), "{banner}");
        assert!(
            banner.contains("the one given in $BEDROCK_MOCK_ADMIN_TOKEN"),
            "{banner}"
        );
        let auth = format!("authorization: Bearer {token}\r\n");
        let with = get_with(&host, "/__bedrock_mock/journal", &auth);
        assert!(with.starts_with("HTTP/1.1 200"), "{with}");
        stop(child);
        let short = harness()
            .args(["serve", "--port", "0", "--allow-remote"])
            .env("BEDROCK_MOCK_ADMIN_TOKEN", "short")
            .output()
            .unwrap();
        assert_eq!(short.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&short.stderr);
        assert!(
            stderr.contains("BEDROCK_MOCK_ADMIN_TOKEN: an admin token is 32 to 256"),
            "{stderr}"
        );
    }

    #[test]
    fn the_journal_and_write_bounds_are_set_from_the_command_line() {
        let args = ["--port", "0", "--quiet", "--journal-max-entries", "2"];
        let (child, _, host) = start(&args);
        for _ in 0..3 {
            let refused = get(&host, "/foundation-models");
            assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
        }
        let count = get(&host, "/__bedrock_mock/journal/count");
        assert!(count.ends_with(r#"{"requests":2,"dropped":1}"#), "{count}");
        stop(child);
        for bad in [
            ["--journal-max-entries", "0"],
            ["--journal-max-mib", "0"],
            ["--write-timeout", "0"],
        ] {
            let out = harness().arg("serve").args(bad).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{bad:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(bad[0]), "{stderr}");
        }
    }

    #[test]
    fn no_admin_turns_the_admin_api_off() {
        let (child, banner, host) = start(&["--port", "0", "--quiet", "--no-admin"]);
        assert!(banner.contains("# admin API: off (--no-admin)"), "{banner}");
        let journal = get(&host, "/__bedrock_mock/journal");
        assert!(journal.starts_with("HTTP/1.1 403"), "{journal}");
        stop(child);
    }

    #[test]
    fn serves_a_scenario_and_prints_its_client_environment() {
        let scratch = super::Scratch::new("serve-scenario");
        let path = scratch.0.join("region.toml");
        std::fs::write(
            &path,
            r#"schema = 1
name = "region"
description = "Opus 5.5 is not offered."
source = "seed: Troubleshooting / Region issues"
[client]
credentials = "api-key"
env = { CLAUDE_CODE_USE_BEDROCK = "1", AWS_REGION = "eu-west-1" }
[server]
regions = ["eu-west-1"]
model_state = { "anthropic.claude-opus-5-5" = "not_found" }
[expect]
exit = 1
"#,
        )
        .unwrap();
        let mut child = harness()
            .args(["serve", "--quiet", "--scenario"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("# journal: ") {
            assert!(
                stdout.read_line(&mut banner).unwrap() > 0,
                "banner ended early: {banner}"
            );
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            banner.contains("# scenario region: Opus 5.5 is not offered."),
            "{banner}"
        );
        assert!(banner.contains("export AWS_REGION=eu-west-1"), "{banner}");
        assert!(
            banner.contains("export CLAUDE_CODE_USE_BEDROCK=1"),
            "{banner}"
        );
        assert!(
            banner.contains("export AWS_BEARER_TOKEN_BEDROCK="),
            "{banner}"
        );
        assert!(!banner.contains("export AWS_ACCESS_KEY_ID"), "{banner}");
    }

    #[test]
    fn a_bad_config_file_is_named_with_its_line() {
        let dir = std::env::temp_dir().join(format!("bh-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("account.toml");
        std::fs::write(
            &file,
            "account_id = \"111122223333\"\nregoins = [\"us-east-1\"]\n",
        )
        .unwrap();
        let out = harness()
            .args(["serve", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!(
                "bedrock-harness serve: {}:2:1: field `regoins`: unknown field `regoins`",
                file.display()
            )),
            "{stderr}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn load_streams_for_the_time_given_and_loses_nothing() {
    let out = harness()
        .args(["load", "--streams", "20", "--seconds", "1", "--words", "10"])
        .args(["--gap-ms", "0", "--ramp-ms", "0", "--auth", "api-key"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains(" completed ("), "{stdout}");
    assert!(stdout.contains(", 0 failed, "), "{stdout}");
    // Every request sent is in the server's journal, and there was at
    // least the warm-up and one stream per client.
    let journal = stdout.lines().find(|l| l.starts_with("journal")).unwrap();
    let numbers: Vec<u64> = journal
        .split_whitespace()
        .filter_map(|w| w.trim_end_matches(',').parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{journal}");
    assert_eq!(numbers[0], numbers[1], "{journal}");
    assert!(numbers[0] >= 21, "{journal}");
    assert!(journal.ends_with("nothing lost"), "{journal}");
    assert!(stdout.contains("first byte  p50 "), "{stdout}");
    #[cfg(target_os = "linux")]
    assert!(stdout.contains(" streams open: "), "{stdout}");
}

#[test]
fn load_stops_at_once_when_the_server_refuses_the_first_stream() {
    use bedrock_mock_server::{Answer, ErrorCode, Match, MockBedrock, Operation, Rule};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        let server = MockBedrock::start().await;
        server.mount(Rule::new(
            Match::operation(Operation::InvokeModelWithResponseStream),
            Answer::error(ErrorCode::ThrottlingException),
        ));
        server
    });
    let out = harness()
        .args(["load", "--streams", "5", "--seconds", "1", "--server"])
        .arg(server.uri())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr.contains("the first stream failed: HTTP 429 Too Many Requests"),
        "{stderr}"
    );
    assert_eq!(server.received_requests().len(), 1);
}

#[test]
fn load_refuses_unbounded_runs() {
    for args in [
        ["--streams", "0"],
        ["--seconds", "601"],
        ["--streams", "10001"],
    ] {
        let out = harness().arg("load").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// `record` and `import` as a support engineer runs them.
mod record {
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Child, Stdio};

    use bedrock_harness::scenario::load;
    use bedrock_mock_server::{EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY};

    use super::{Scratch, bedrock_client_binary, harness};

    fn data(file: &str) -> String {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/capture")
            .join(file)
            .display()
            .to_string()
    }

    /// `serve --scenario FILE`: the running server and its URL.
    fn serve(scenario: &str) -> (Child, String) {
        let mut child = harness()
            .args(["serve", "--scenario", scenario, "--print-env", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let printed: serde_json::Value = serde_json::from_str(&line).unwrap();
        (child, printed["url"].as_str().unwrap().to_owned())
    }

    #[test]
    fn record_runs_the_client_through_the_proxy_and_writes_a_scenario_that_replays() {
        let (mut server, url) = serve(&data("upstream-bedrock.toml"));
        let scratch = Scratch::new("record-cli");
        let home = scratch.0.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let output = scratch.0.join("cases").join("throttled-then-cut.toml");
        let log = scratch.0.join("session.jsonl");
        let out = harness()
            .args(["record", "--upstream", &url, "--output"])
            .arg(&output)
            .arg("--log")
            .arg(&log)
            .arg("--")
            .arg(bedrock_client_binary())
            .args(["-p", "Say the pangram."])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CLAUDE_CODE_USE_BEDROCK", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("ANTHROPIC_MODEL", "us.anthropic.claude-opus-5-5")
            .output()
            .unwrap();
        let _ = server.kill();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("The quick brown fox"),
            "{out:?}"
        );
        assert!(
            stderr.contains("Redacted:") && stderr.contains("signatures"),
            "{stderr}"
        );
        assert!(!stderr.contains(EXAMPLE_SECRET_ACCESS_KEY), "{stderr}");
        let written = std::fs::read_to_string(&output).unwrap();
        assert!(written.contains("\nexit = 0\n"), "{written}");
        assert!(
            written.contains("ThrottlingException")
                && written.contains("cut = { after_bytes = 600 }"),
            "{written}"
        );
        assert!(
            !written.contains("Say the pangram") && !written.contains("quick brown"),
            "{written}"
        );
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(lines.lines().count(), 7, "{lines}");
        // Every signature masked: none is followed by its hex.
        assert!(lines.contains("Signature="), "{lines}");
        for (at, _) in lines.match_indices("Signature=") {
            let next = lines[at + "Signature=".len()..].chars().next();
            assert!(!next.is_some_and(|c| c.is_ascii_hexdigit()), "{lines}");
        }

        let replay = harness().arg("run").arg(&output).output().unwrap();
        assert!(
            replay.status.success(),
            "{}",
            String::from_utf8_lossy(&replay.stdout)
        );
        let imported = scratch.0.join("cases").join("from-the-log.toml");
        let out = harness()
            .arg("import")
            .arg(&log)
            .arg("--output")
            .arg(&imported)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replay = harness().arg("run").arg(&imported).output().unwrap();
        assert!(
            replay.status.success(),
            "{}",
            String::from_utf8_lossy(&replay.stdout)
        );
    }

    #[test]
    fn import_turns_a_har_into_a_scenario_that_loads() {
        let scratch = Scratch::new("import-har");
        let output = scratch.0.join("customer-har.toml");
        let out = harness()
            .args(["import", &data("session.har"), "--output"])
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("skipped:"), "{stderr}");
        let scenario = load::load(&output).unwrap_or_else(|e| panic!("{e}"));
        let errors: Vec<String> = scenario
            .expect
            .requests
            .iter()
            .filter_map(|r| r.error.clone())
            .collect();
        assert!(
            errors.iter().any(|e| e == "ThrottlingException"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_bad_output_is_refused_before_anything_runs() {
        let scratch = Scratch::new("record-refusals");
        let taken = scratch.0.join("taken.toml");
        std::fs::write(&taken, "").unwrap();
        let cases: [(&[&str], &str); 4] = [
            (
                &["--output", taken.to_str().unwrap()],
                "exists; pass --force",
            ),
            (
                &["--output", "Bad Name.toml"],
                "--output Bad Name.toml: `Bad Name`",
            ),
            (&["--output", "case.json"], "a scenario file ends in .toml"),
            (
                &["--output", "case.toml", "--name", "other"],
                "a scenario's name is its file's name, `case`",
            ),
        ];
        for (args, says) in cases {
            for command in ["record", "import"] {
                let mut run = harness();
                run.arg(command);
                if command == "import" {
                    run.arg(data("session.har")).args(args);
                } else {
                    // Nothing runs: the refusal comes before the proxy starts.
                    run.args(args).args(["--", "/nonexistent/client"]);
                }
                let out = run.output().unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{command} {args:?}: {stderr}");
                assert!(stderr.contains(says), "{command} {args:?}: {stderr}");
            }
        }
    }
}
