//! `bedrock-client -p` as a user runs it, against the in-process mock: the
//! answer on stdout as it streams, and every way a run ends printed where
//! and how `claude -p` prints it (client-behaviour.md): the service's
//! refusals on stdout with exit status 1, setup errors on stderr, usage
//! errors with 2. No secret ever printed.

use std::process::Output;
use std::time::UNIX_EPOCH;

use crate::support::{Sandbox, text};
use bedrock_mock_server::{
    Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, MockBedrock, ModelState,
    Operation, ServerConfig,
};

const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const CREDENTIAL_LINE: &str = "AWS authentication failed · refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired\n";

/// Runs `bedrock-client args…` pointed at `server`, Bedrock on, the
/// example keys, no retries unless `env` says otherwise.
fn run(server: &MockBedrock, sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
    let uri = server.uri();
    let mantle = format!("{uri}/anthropic");
    let mut all = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.as_str()),
        ("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", mantle.as_str()),
        ("AWS_ENDPOINT_URL_STS", uri.as_str()),
        ("CLAUDE_CODE_MAX_RETRIES", "0"),
    ];
    all.extend_from_slice(env);
    sandbox.run(args, &all)
}

/// A mock whose account knows the `ASIASTALE` session, expired since 1970.
async fn with_stale_session() -> MockBedrock {
    let stale =
        Credential::new("ASIASTALE", "ASIASTALE-secret").session("ASIASTALE-token", UNIX_EPOCH);
    MockBedrock::start_with(ServerConfig::default().credential(stale)).await
}

fn assert_no_secret(out: &Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text(&out.stdout).contains(secret) && !text(&out.stderr).contains(secret),
            "{secret} printed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_streams_to_stdout_and_the_run_exits_0() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-ok");
    let out = run(&server, &sandbox, &["-p", "say hi"], &[]);
    assert_eq!(
        (text(&out.stdout).as_str(), text(&out.stderr).as_str()),
        ("hi\n", "")
    );
    assert_eq!(out.status.code(), Some(0));
    // golden/a_happy: discovery, three probes at once, the turn.
    let journal = server.received_requests();
    let sent: Vec<_> = journal.iter().map(|r| r.raw_path.as_str()).collect();
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert_eq!(
        (sent[0], journal[0].query.as_str()),
        ("/inference-profiles", "type=SYSTEM_DEFINED")
    );
    let mut probes = sent[1..4].to_vec();
    probes.sort_unstable();
    assert_eq!(
        probes,
        [
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
            "/model/us.anthropic.claude-opus-5-5/invoke",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke",
        ]
    );
    assert_eq!(
        sent[4],
        "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream"
    );
    assert_no_secret(&out, &[EXAMPLE_SECRET_ACCESS_KEY]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_model_picks_the_model_and_model_overrides_it() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-model");
    let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi"],
        &[("ANTHROPIC_MODEL", sonnet)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--model", HAIKU],
        &[("ANTHROPIC_MODEL", sonnet)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let models: Vec<_> = server
        .received_requests()
        .into_iter()
        .filter(|r| r.operation == Some(Operation::InvokeModelWithResponseStream))
        .map(|r| r.model_id.unwrap())
        .collect();
    assert_eq!(
        models,
        [sonnet, "us.anthropic.claude-haiku-4-5-20251001-v1:0"]
    );
    // Mantle only: the default is the Mantle id, sent to Mantle.
    server.reset();
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi"],
        &[
            ("CLAUDE_CODE_USE_BEDROCK", "0"),
            ("CLAUDE_CODE_USE_MANTLE", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // golden/m_mantle_only: one probe on Mantle, then the turn.
    let operations: Vec<_> = server
        .received_requests()
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert_eq!(
        operations,
        [
            Some(Operation::MantleMessages),
            Some(Operation::MantleMessagesStream)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_print_the_clis_line_on_stdout_and_exit_1() {
    let stale =
        Credential::new("ASIASTALE", "ASIASTALE-secret").session("ASIASTALE-token", UNIX_EPOCH);
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .credential(stale)
            .model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled),
    )
    .await;
    let sandbox = Sandbox::new("cli-refusals");
    let expired = [
        ("AWS_ACCESS_KEY_ID", "ASIASTALE"),
        ("AWS_SECRET_ACCESS_KEY", "ASIASTALE-secret"),
        ("AWS_SESSION_TOKEN", "ASIASTALE-token"),
    ];
    let out = run(&server, &sandbox, &["-p", "hi", "--model", HAIKU], &expired);
    assert_eq!(text(&out.stdout), CREDENTIAL_LINE);
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret(&out, &["ASIASTALE-secret", "ASIASTALE-token"]);

    // Asked for by name: a default refused at startup would be left for an
    // older version instead (startup.rs).
    let opus = "us.anthropic.claude-opus-5-5";
    let out = run(&server, &sandbox, &["-p", "hi", "--model", opus], &[]);
    assert_eq!(
        text(&out.stdout),
        "AWS authentication failed · enable this model for your account and region in the Amazon Bedrock console, or run --model to pick another model · API Error: 403 You don't have access to the model with the specified model ID.\n"
    );
    assert_eq!(out.status.code(), Some(1));

    let bare = "anthropic.claude-3-7-sonnet-20250219-v1:0";
    let out = run(&server, &sandbox, &["-p", "hi", "--model", bare], &[]);
    assert_eq!(
        text(&out.stdout),
        format!(
            "API Error ({bare}): 400 Invocation of model ID {bare} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.. Run --model to pick a different model.\n"
        )
    );
    assert_eq!(out.status.code(), Some(1));
    // Retired before today (conformance's on-demand-400-retired).
    assert!(
        text(&out.stderr).contains(
            "\u{26a0} Claude 3.7 Sonnet was retired on April 28, 2026. Consider switching to a newer model."
        ),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_log_traces_each_request_on_stderr_without_secrets() {
    let server = with_stale_session().await;
    let sandbox = Sandbox::new("cli-trace");
    let env = [
        ("AWS_ACCESS_KEY_ID", "ASIASTALE"),
        ("AWS_SECRET_ACCESS_KEY", "ASIASTALE-secret"),
        ("AWS_SESSION_TOKEN", "ASIASTALE-token"),
        ("ANTHROPIC_LOG", "debug"),
    ];
    let out = run(&server, &sandbox, &["-p", "hi", "--model", HAIKU], &env);
    // The answer's line is unchanged on stdout; the trace is on stderr.
    assert_eq!(text(&out.stdout), CREDENTIAL_LINE);
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("[trace] -> ").count(),
        server.received_requests().len(),
        "{stderr}"
    );
    assert!(
        stderr.contains("[trace] <- 403 for POST /model/"),
        "{stderr}"
    );
    assert!(
        stderr.contains("The security token included in the request is expired"),
        "the error body is traced: {stderr}"
    );
    assert!(
        stderr.contains("x-amz-security-token: <redacted>"),
        "{stderr}"
    );
    assert!(stderr.contains("Signature=<redacted>"), "{stderr}");
    assert_no_secret(&out, &["ASIASTALE-secret", "ASIASTALE-token"]);
    // Without the variable, nothing of it.
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--model", HAIKU],
        &env[..3],
    );
    assert!(!text(&out.stderr).contains("[trace]"));
}

/// Starts `bedrock-client args…` like [`run`], without waiting for it.
fn spawn(
    server: &MockBedrock,
    sandbox: &Sandbox,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Child {
    let uri = server.uri();
    let mut all = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
        ("ANTHROPIC_BEDROCK_BASE_URL", uri.as_str()),
        ("AWS_ENDPOINT_URL_STS", uri.as_str()),
    ];
    all.extend_from_slice(env);
    std::process::Command::new(env!("CARGO_BIN_EXE_bedrock-client"))
        .args(args)
        .env_clear()
        .envs(sandbox.env(&all))
        .current_dir(sandbox.project())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 20 s) for `child` to end; its output.
fn wait_briefly(mut child: std::process::Child) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the client did not stop");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_client_and_the_refresh_command_it_was_waiting_on() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-ctrl-c");
    let pid_file = sandbox.path("command.pid");
    // An export that never finishes, in its own process group as every
    // refresh command is: the terminal's Ctrl-C would not reach it.
    sandbox.write(
        "home/.claude/settings.json",
        &format!(
            r#"{{"awsCredentialExport": "echo $$ > {}; exec sleep 60"}}"#,
            pid_file.display()
        ),
    );
    let child = spawn(&server, &sandbox, &["-p", "hi", "--explain"], &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let group: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the export never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY: signals to a child this test started, and a probe (0) of the
    // command's process group.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = wait_briefly(child);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        "bedrock-client: stopped by Ctrl-C; the answer was not printed\n"
    );
    // The command's whole group is gone (give the kernel a moment to
    // reap it: its parent, the client, has exited).
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        (unsafe { libc::kill(-group, 0) }) == -1
    });
    if !gone {
        // SAFETY: as above; leave nothing running behind a failed test.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    assert!(gone, "the export's process group {group} is still running");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_prints_nothing_as_claude_p_does() {
    // conformance's sigterm-mid-turn: the CLI 2.1.328 prints the text when
    // the turn ends, so a run stopped mid-turn prints nothing, and says
    // nothing (without --explain).
    use bedrock_mock_server::{Match, Rule, Stall};
    let server = MockBedrock::start().await;
    server.mount(Rule::stalling(
        Match::operation(Operation::InvokeModelWithResponseStream),
        Stall::after_events(3, 600.0),
    ));
    let sandbox = Sandbox::new("cli-sigterm");
    let keys = [
        ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
    ];
    let child = spawn(&server, &sandbox, &["-p", "hi", "--model", HAIKU], &keys);
    // The stream has sent its first word and gone quiet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server
        .received_requests()
        .iter()
        .any(|r| r.frames.iter().any(|f| f == "stall"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream never stalled"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: a signal to a child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = wait_briefly(child);
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_errors_go_to_stderr_naming_what_to_fix() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-setup");
    for (env, says) in [
        (vec![("AWS_REGION", "")], "AWS_REGION is not set"),
        (
            vec![("ANTHROPIC_BEDROCK_SERVICE_TIER", "gold")],
            "ANTHROPIC_BEDROCK_SERVICE_TIER",
        ),
        (
            vec![("ANTHROPIC_CUSTOM_HEADERS", "no colon here")],
            "ANTHROPIC_CUSTOM_HEADERS",
        ),
    ] {
        let out = run(&server, &sandbox, &["-p", "hi"], &env);
        assert_eq!(out.status.code(), Some(1), "{env:?}");
        assert_eq!(text(&out.stdout), "", "{env:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{env:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(server.received_requests().is_empty(), "nothing sent");
    let out = run(&server, &sandbox, &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("-p"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_never_helps_ends_with_the_explanation() {
    let server = with_stale_session().await;
    let sandbox = Sandbox::new("cli-sso-loop");
    let refresh = format!(
        "echo 'Attempting SSO login'; echo run >> {}",
        sandbox.path("runs").display()
    );
    sandbox.write(
        "home/.claude/settings.json",
        &serde_json::json!({ "awsAuthRefresh": refresh }).to_string(),
    );
    // The output and the explanation are --explain's: `claude -p` shows
    // neither (conformance's aws-auth-refresh-never-helps-short).
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--explain"],
        &[
            ("AWS_ACCESS_KEY_ID", "ASIASTALE"),
            ("AWS_SECRET_ACCESS_KEY", "ASIASTALE-secret"),
            ("AWS_SESSION_TOKEN", "ASIASTALE-token"),
            ("CLAUDE_CODE_MAX_RETRIES", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!(
            "AWS authentication failed · run `{refresh}` and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired\n"
        )
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Attempting SSO login"),
        "the refresh's output is shown: {stderr}"
    );
    assert!(
        stderr
            .contains("remove awsAuthRefresh from your settings and run `aws sso login` yourself"),
        "{stderr}"
    );
    // Two attempts within 30 s: the command ran once.
    assert_eq!(
        std::fs::read_to_string(sandbox.path("runs"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert_no_secret(&out, &["ASIASTALE-secret", "ASIASTALE-token"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_is_not_there_is_a_connection_error() {
    let server = MockBedrock::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let sandbox = Sandbox::new("cli-refused");
    let base = format!("http://{closed}");
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi"],
        &[("ANTHROPIC_BEDROCK_BASE_URL", &base)],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("API Error: Connection error. ("),
        "{stdout}"
    );
    assert!(stdout.contains(&closed.to_string()), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_is_announced_on_stderr_and_the_answer_still_printed() {
    let server = MockBedrock::start_with(
        ServerConfig::default().model_state("anthropic.claude-opus-5-5", ModelState::NotFound),
    )
    .await;
    let sandbox = Sandbox::new("cli-fallback");
    let out = run(&server, &sandbox, &["-p", "say hi"], &[]);
    // golden/c_fallback_404: stdout "hi", the notice on stderr, exit 0.
    assert_eq!(text(&out.stdout), "hi\n");
    assert_eq!(
        text(&out.stderr),
        "Warning: Opus: Opus 5.5 not available — using Opus 5 for this session\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_formats_carry_the_result() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-json");
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--output-format", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "hi");
    assert_eq!(result["model"], "us.anthropic.claude-opus-5-5");
    assert_eq!(result["stop_reason"], "end_turn");
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--output-format", "stream-json", "--verbose"],
        &[],
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The CLI's events: init, the whole answer, the result.
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["system", "assistant", "result"]);
    assert_eq!(lines[1]["message"]["content"][0]["text"], "hi");
    assert_eq!(lines[2]["result"], "hi");
    // Without --verbose the CLI refuses stream-json, in its words.
    let out = run(
        &server,
        &sandbox,
        &["-p", "hi", "--output-format", "stream-json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "Error: When using --print, --output-format=stream-json requires --verbose"
    );
    // A refusal is a result too, with exit 1.
    let out = run(
        &server,
        &sandbox,
        &[
            "-p",
            "hi",
            "--output-format",
            "json",
            "--model",
            "us.anthropic.claude-nope-v1:0",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["is_error"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .starts_with("API Error (us.anthropic.claude-nope-v1:0): 400")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_reports_each_tier_and_offers_and_writes_updates() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-models");
    let pin = (
        "ANTHROPIC_DEFAULT_OPUS_MODEL",
        "us.anthropic.claude-opus-4-5-20251101-v1:0",
    );
    let out = run(&server, &sandbox, &["models"], &[pin]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "Opus: us.anthropic.claude-opus-4-5-20251101-v1:0 (Pin(Opus))",
        "Sonnet: us.anthropic.claude-sonnet-4-5-20250929-v1:0 (Default(Sonnet))",
        "  probe us.anthropic.claude-haiku-4-5-20251001-v1:0: available",
        "Update available: ANTHROPIC_DEFAULT_OPUS_MODEL pins Opus 4.5; Opus 5.5 (us.anthropic.claude-opus-5-5) answers in this account. Run `bedrock-client models --accept-update` to pin it.",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    // The offer keeps the pin's own geography.
    let out = run(
        &server,
        &sandbox,
        &["models"],
        &[(
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "global.anthropic.claude-opus-4-5-20251101-v1:0",
        )],
    );
    assert!(
        text(&out.stdout).contains("Opus 5.5 (global.anthropic.claude-opus-5-5) answers"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        !sandbox.path("home/.claude/settings.json").exists(),
        "nothing written unasked"
    );
    let out = run(&server, &sandbox, &["models", "--accept-update"], &[pin]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path("home/.claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        written["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
        "us.anthropic.claude-opus-5-5"
    );
    // An ARN pin is never nagged about.
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let out = run(
        &server,
        &sandbox,
        &["models"],
        &[("ANTHROPIC_DEFAULT_OPUS_MODEL", arn)],
    );
    assert!(
        !text(&out.stdout).contains("Update available"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_probes_the_catalogue_and_writes_the_newest_pins() {
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .model_state("anthropic.claude-opus-5-5", ModelState::NotEnabled)
            .model_state("anthropic.claude-opus-5", ModelState::NotFound),
    )
    .await;
    let sandbox = Sandbox::new("cli-setup-wizard");
    sandbox.write(
        "home/.claude/settings.json",
        r#"{"awsAuthRefresh": "aws sso login"}"#,
    );
    let out = run(&server, &sandbox, &["setup", "--write"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "AWS region: us-east-1",
        "AWS credentials: found (access key AKIDEXAMPLE)",
        "Opus: Opus 4.8 (us.anthropic.claude-opus-4-8)",
        "export ANTHROPIC_DEFAULT_SONNET_MODEL='us.anthropic.claude-sonnet-4-6'",
        "export ANTHROPIC_DEFAULT_HAIKU_MODEL='us.anthropic.claude-haiku-4-5-20251001-v1:0'",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    assert_no_secret(&out, &[EXAMPLE_SECRET_ACCESS_KEY]);
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path("home/.claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written["awsAuthRefresh"], "aws sso login");
    assert_eq!(
        written["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
        "us.anthropic.claude-opus-4-8"
    );
}

/// `-p --input-format stream-json`: each stdin line a turn of one
/// session, the CLI's events per turn (conformance's
/// `conversation-two-turns`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_on_stdin_is_one_session_with_its_history() {
    let server = MockBedrock::start().await;
    let sandbox = Sandbox::new("cli-conversation");
    let mut all = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY),
        ("CLAUDE_CODE_MAX_RETRIES", "0"),
    ];
    let uri = server.uri();
    all.push(("ANTHROPIC_BEDROCK_BASE_URL", uri.as_str()));
    let lines = "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"say hi\"}}\n\n{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"and again\"}}\n";
    let args = [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
    ];
    let out = sandbox.run_with_stdin(&args, &all, lines);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "system",
            "assistant",
            "result",
            "system",
            "assistant",
            "result"
        ]
    );
    assert_eq!(events[5]["result_index"], 1);
    assert_eq!(events[0]["session_id"], events[3]["session_id"]);
    // One session: the startup checks once, then the turns (the second
    // with the first's question and answer).
    let journal = server.received_requests();
    let turns: Vec<_> = journal
        .iter()
        .filter(|r| {
            r.operation == Some(Operation::InvokeModelWithResponseStream) && r.status == Some(200)
        })
        .collect();
    assert_eq!(turns.len(), 2);
    let second = turns[1].json().unwrap();
    let roles: Vec<&str> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "system", "assistant", "user"]);
    assert_eq!(second["messages"][3]["content"][0]["text"], "and again");
    // A line that is not JSON ends the run in the CLI's words.
    let out = sandbox.run_with_stdin(&args, &all, "not json\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "Error parsing streaming input line (type=unknown, 8 chars): SyntaxError"
    );
    // Input as stream-json needs stream-json output, in the CLI's words.
    let out = sandbox.run_with_stdin(&args[..3], &all, "");
    assert_eq!(
        text(&out.stderr).trim(),
        "Error: --input-format=stream-json requires output-format=stream-json."
    );
}
