//! Refresh loops end to end: the client's real sources (the AWS chain,
//! the user's commands as shell scripts, STS over HTTP) and its retry loop
//! against the mock, whose credentials expire and rotate. Backoff runs on
//! a virtual clock, so eleven attempts take no time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bedrock_client::clock::VirtualClock;
use bedrock_client::config::Vars;
use bedrock_client::credentials::{AwsCredentials, CredentialManager, SystemSources};
use bedrock_client::failure::{ApiFailure, user_message};
use bedrock_client::retry::RetryPolicy;
use bedrock_client::retrying::{AttemptError, run_with_retries};
use bedrock_client::signing::{Service, ToSign, sign_request};
use bedrock_client::transport::{HttpClient, Outgoing};
use bedrock_mock_server::{Credential, MockBedrock, ServerConfig};
use bytes::Bytes;

const LIMIT: Duration = Duration::from_secs(10);

/// A throwaway folder for scripts and their counters.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "bedrock-client-refresh-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join(".aws")).unwrap();
        Self(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn vars(home: &Dir, extra: &[(&str, &str)]) -> Vars {
    let mut env = BTreeMap::from([
        ("HOME".to_owned(), home.0.display().to_string()),
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ]);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Vars::new(env, &BTreeMap::new())
}

/// One signed `ListInferenceProfiles` call: the request each attempt makes.
async fn list_profiles(
    server: &MockBedrock,
    http: &HttpClient,
    credentials: AwsCredentials,
) -> Result<(), AttemptError> {
    let url = format!("{}/inference-profiles?type=SYSTEM_DEFINED", server.uri());
    let mut headers = vec![("host".to_owned(), server.address().to_string())];
    let request = ToSign {
        method: "GET",
        url: &url,
        headers: &headers,
        body: b"",
    };
    let added = sign_request(
        &request,
        &credentials,
        "us-east-1",
        Service::Bedrock,
        SystemTime::now(),
    )
    .map_err(AttemptError::Transport)?;
    headers.extend(added);
    let response = http
        .send(
            Outgoing {
                method: http::Method::GET,
                url,
                headers,
                body: Bytes::new(),
            },
            LIMIT,
        )
        .await
        .map_err(AttemptError::Transport)?;
    if response.status == 200 {
        return Ok(());
    }
    let status = response.status;
    let code = response
        .header("x-amzn-errortype")
        .map(|v| v.split(':').next().unwrap_or_default().to_owned());
    let body = response.bytes(1 << 16, LIMIT).await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let message = json["message"]
        .as_str()
        .or(json["Message"].as_str())
        .unwrap_or_default();
    Err(AttemptError::Api(ApiFailure {
        status,
        code,
        message: message.to_owned(),
        retry_after: None,
        should_retry: None,
    }))
}

fn expired(key: &str) -> Credential {
    Credential::new(key, format!("{key}-secret")).session(format!("{key}-token"), UNIX_EPOCH)
}

fn good(key: &str) -> Credential {
    Credential::new(key, format!("{key}-secret")).session(
        format!("{key}-token"),
        SystemTime::now() + Duration::from_secs(3600),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_are_exported_again_and_the_retry_passes() {
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .next_credential(expired("ASIAFIRST"))
            .next_credential(expired("ASIASECOND"))
            .next_credential(good("ASIATHIRD")),
    )
    .await;
    let home = Dir::new("export");
    let export = format!(
        "curl -sf -X POST {}/__bedrock_mock/credentials/next",
        server.uri()
    );
    let http = HttpClient::new();
    let sources = SystemSources::new(
        vars(&home, &[]),
        "us-east-1",
        http.clone(),
        Arc::new(|_| {}),
    );
    let mut manager = CredentialManager::new(sources, Some(export), None);
    let clock = VirtualClock::starting_at(SystemTime::now());
    let result = run_with_retries(
        RetryPolicy::new(10),
        &clock,
        &mut || 0.0,
        Some(&mut manager),
        |c| list_profiles(&server, &http, c.expect("SigV4")),
    )
    .await;
    assert_eq!(result, Ok(()));
    assert_eq!(manager.counts().exports, 3);
    let keys: Vec<_> = server
        .received_requests()
        .iter()
        .map(|r| (r.auth.access_key_id.clone().unwrap(), r.status))
        .collect();
    assert_eq!(
        keys,
        [
            ("ASIAFIRST".to_owned(), 403),
            ("ASIASECOND".to_owned(), 403),
            ("ASIATHIRD".to_owned(), 200)
        ]
    );
    assert_eq!(server.credential_report().issued, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_refresh_that_never_helps_is_bounded_and_named_in_the_error() {
    // The chain's credentials have expired, STS says so, and the refresh
    // command "succeeds" without changing them: the seed's SSO loop.
    let server =
        MockBedrock::start_with(ServerConfig::default().credential(expired("ASIASTALE"))).await;
    let home = Dir::new("sso");
    let counter = home.path("refresh-runs");
    let refresh = format!(
        "echo 'Attempting SSO login'; echo run >> {}",
        counter.display()
    );
    let shown = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&shown);
    let sources = SystemSources::new(
        vars(
            &home,
            &[
                ("AWS_ACCESS_KEY_ID", "ASIASTALE"),
                ("AWS_SECRET_ACCESS_KEY", "ASIASTALE-secret"),
                ("AWS_SESSION_TOKEN", "ASIASTALE-token"),
                ("AWS_ENDPOINT_URL_STS", &server.uri()),
            ],
        ),
        "us-east-1",
        HttpClient::new(),
        Arc::new(move |bytes| sink.lock().unwrap().extend_from_slice(bytes)),
    );
    let http = HttpClient::new();
    let mut manager = CredentialManager::new(sources, None, Some(refresh.clone()));
    let clock = VirtualClock::starting_at(SystemTime::now());
    let gave_up = run_with_retries(
        RetryPolicy::new(10),
        &clock,
        &mut || 0.0,
        Some(&mut manager),
        |c| list_profiles(&server, &http, c.expect("SigV4")),
    )
    .await
    .unwrap_err();
    assert_eq!(gave_up.attempts, 11);
    // Eleven loads over 159.5 virtual seconds; the command ran at most once
    // per 30 s: at 0, 31.5, 63.5, 95.5, 127.5 and 159.5 s.
    let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
    assert_eq!(runs, 6);
    assert_eq!(manager.counts().auth_refreshes, 6);
    assert_eq!(manager.counts().sts_checks, 11);
    assert!(String::from_utf8_lossy(&shown.lock().unwrap()).contains("Attempting SSO login"));
    let AttemptError::Api(failure) = &gave_up.last else {
        panic!("{gave_up:?}")
    };
    assert_eq!(gave_up.last_refusal.as_ref(), Some(failure));
    let hint = manager.refresh_loop_hint().expect("the refresh ran");
    assert!(hint.starts_with(&format!("awsAuthRefresh (`{refresh}`) ran 6 times and finished, but AWS still refused the credentials.")), "{hint}");
    assert!(
        hint.contains("remove awsAuthRefresh from your settings and run `aws sso login` yourself")
    );
    assert_eq!(
        user_message(failure, Some(&refresh)),
        format!(
            "AWS authentication failed · run `{refresh}` and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired"
        )
    );
    // The STS check signs content-length, as the AWS JS SDK does.
    let sts_check = server
        .received_requests()
        .into_iter()
        .find(|r| r.operation == Some(bedrock_mock_server::Operation::GetCallerIdentity))
        .expect("an STS check");
    let authorization = sts_check.header("authorization").unwrap().to_owned();
    assert!(
        authorization.contains("SignedHeaders=content-length;content-type;host;"),
        "{authorization}"
    );
    // Every STS check and Bedrock call carried the stale key, never a secret
    // in the journal.
    let journal = serde_json::to_string(&server.received_requests()).unwrap();
    assert!(!journal.contains("ASIASTALE-secret") && !journal.contains("ASIASTALE-token"));
}
