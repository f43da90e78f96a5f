//! Refresh loops end to end: the client's real sources (the AWS chain,
//! the user's commands as shell scripts, STS over HTTP) and its retry loop
//! against the mock, whose credentials expire and rotate. Backoff runs on
//! a virtual clock, so thirteen attempts take no time. (`awsCredentialExport`
//! after an expiry is with the other turns, in `super`.)

use std::time::UNIX_EPOCH;

use crate::failure::user_message;
use crate::retrying::AttemptError;
use crate::tests::{Sandbox, provider};
use crate::turn::{TurnError, prompt_request, run_turn};
use bedrock_mock_server::{Credential, MockBedrock, ServerConfig};

fn expired(key: &str) -> Credential {
    Credential::new(key, format!("{key}-secret")).session(format!("{key}-token"), UNIX_EPOCH)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_refresh_that_never_helps_is_bounded_and_named_in_the_error() {
    // The chain's credentials have expired, STS says so, and the refresh
    // command "succeeds" without changing them: the seed's SSO loop.
    let server =
        MockBedrock::start_with(ServerConfig::default().credential(expired("ASIASTALE"))).await;
    let sandbox = Sandbox::new("refresh-sso");
    let counter = sandbox.path("refresh-runs");
    let refresh = format!(
        "echo 'Attempting SSO login'; echo run >> {}",
        counter.display()
    );
    sandbox.write(
        "home/.claude/settings.json",
        &serde_json::json!({ "awsAuthRefresh": refresh }).to_string(),
    );
    let (mut provider, shown) = provider(
        &sandbox,
        &server,
        &[
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_ACCESS_KEY_ID", "ASIASTALE"),
            ("AWS_SECRET_ACCESS_KEY", "ASIASTALE-secret"),
            ("AWS_SESSION_TOKEN", "ASIASTALE-token"),
        ],
    );
    let request = prompt_request(provider.config(), provider.identity(), "say hi");
    let Err(TurnError::Refused(gave_up)) = run_turn(
        &mut provider,
        "us.anthropic.claude-opus-5-5",
        request,
        &mut |_| {},
    )
    .await
    else {
        panic!("the credentials stay refused")
    };
    // Eleven attempts in the budget and the CLI's two renewals, as the
    // real CLI 2.1.328 makes (conformance's aws-auth-refresh-never-helps).
    assert_eq!(gave_up.attempts, 13);
    // Thirteen loads over 223.5 virtual seconds; the command ran at most
    // once per 30 s: at 0, 31.5, 63.5, 95.5, 127.5, 159.5, 191.5 and 223.5 s.
    let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
    assert_eq!(runs, 8);
    assert_eq!(provider.credential_counts().auth_refreshes, 8);
    assert_eq!(provider.credential_counts().sts_checks, 13);
    assert!(String::from_utf8_lossy(&shown.lock().unwrap()).contains("Attempting SSO login"));
    let AttemptError::Api(failure) = &gave_up.last else {
        panic!("{gave_up:?}")
    };
    assert_eq!(gave_up.last_refusal.as_ref(), Some(failure));
    let hint = provider.refresh_loop_hint().expect("the refresh ran");
    assert!(hint.starts_with(&format!("awsAuthRefresh (`{refresh}`) ran 8 times and finished, but AWS still refused the credentials.")), "{hint}");
    assert!(
        hint.contains("remove awsAuthRefresh from your settings and run `aws sso login` yourself")
    );
    assert_eq!(
        user_message(&provider.config().cli, failure, Some(&refresh)),
        format!(
            "AWS authentication failed · run `{refresh}` and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired"
        )
    );
    // The STS check signs content-length and the SDK's own headers, as the
    // AWS JS SDK does (conformance's aws-auth-refresh-never-helps).
    let sts_check = server
        .received_requests()
        .into_iter()
        .find(|r| r.operation == Some(bedrock_mock_server::Operation::GetCallerIdentity))
        .expect("an STS check");
    let authorization = sts_check.header("authorization").unwrap().to_owned();
    assert!(
        authorization.contains(
            "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-user-agent,"
        ),
        "{authorization}"
    );
    // Every STS check and Bedrock call carried the stale key, never a secret
    // in the journal.
    let journal = serde_json::to_string(&server.received_requests()).unwrap();
    assert!(!journal.contains("ASIASTALE-secret") && !journal.contains("ASIASTALE-token"));
}
