//! The client's authentication and signer against the mock's SigV4
//! verifier: every service and region it signs for is accepted, the path
//! goes out as the real CLI sends it, a bearer key and skipped auth send
//! what the CLI sends.

use std::time::{Duration, SystemTime};

use super::{ModelRegion, authorization_headers, base_url_for, region_for};
use crate::config::{Auth, Config, Sources};
use crate::endpoint::Endpoint;
use crate::secret::Secret;
use crate::signing::{AwsCredentials, Service, ToSign};
use crate::transport::{HttpClient, Outgoing};
use bedrock_mock_server::{
    AuthMode, Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY, EXAMPLE_SECRET_ACCESS_KEY,
    MockBedrock, Operation, ServerConfig,
};
use bytes::Bytes;

const LIMIT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 1 << 20;

#[test]
fn a_bearer_key_is_the_authorization_header() {
    let headers = vec![("host".to_owned(), "example.com".to_owned())];
    let request = ToSign {
        method: "GET",
        url: "https://example.com/inference-profiles",
        headers: &headers,
        body: b"",
    };
    let bearer = Auth::BearerKey(Secret::new("ABSK-key"));
    let added = authorization_headers(
        &request,
        &bearer,
        None,
        "us-east-1",
        Service::Bedrock,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(
        added,
        [("authorization".to_owned(), "Bearer ABSK-key".to_owned())]
    );
}

fn example() -> AwsCredentials {
    AwsCredentials {
        access_key_id: EXAMPLE_ACCESS_KEY_ID.to_owned(),
        secret_access_key: Secret::new(EXAMPLE_SECRET_ACCESS_KEY),
        session_token: None,
        expires_at: None,
    }
}

/// How a request authenticates, where, for what.
struct Signer<'a> {
    auth: Auth,
    /// The credentials SigV4 signs with.
    credentials: Option<&'a AwsCredentials>,
    region: &'a str,
    service: Service,
}

impl<'a> Signer<'a> {
    fn sigv4(credentials: &'a AwsCredentials, region: &'a str, service: Service) -> Self {
        Self {
            auth: Auth::AwsCredentials { profile: None },
            credentials: Some(credentials),
            region,
            service,
        }
    }
}

/// Authenticates `headers` (plus `host`) as `signer` says and sends,
/// adding an unsigned `user-agent` as the CLI does.
async fn signed(
    server: &MockBedrock,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    signer: Signer<'_>,
) -> (u16, String) {
    let url = format!("{}{path}", server.uri());
    let mut to_sign = vec![("host".to_owned(), server.address().to_string())];
    to_sign.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let request = ToSign {
        method: method.as_str(),
        url: &url,
        headers: &to_sign,
        body: body.as_bytes(),
    };
    let added = authorization_headers(
        &request,
        &signer.auth,
        signer.credentials,
        signer.region,
        signer.service,
        SystemTime::now(),
    )
    .unwrap();
    let mut all = to_sign.clone();
    all.extend(added);
    all.push(("user-agent".to_owned(), "bedrock-client/test".to_owned()));
    let response = HttpClient::new()
        .send(
            Outgoing {
                method,
                url,
                headers: all,
                body: Bytes::from(body.to_owned()),
            },
            LIMIT,
        )
        .await
        .unwrap();
    let status = response.status;
    let body = response.bytes(MAX_BODY, LIMIT).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_service_the_client_signs_for_is_accepted() {
    let server = MockBedrock::start().await;
    let c = example();
    let (status, body) = signed(
        &server,
        http::Method::GET,
        "/inference-profiles?type=SYSTEM_DEFINED",
        &[],
        "",
        Signer::sigv4(&c, "us-east-1", Service::Bedrock),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // `:` goes out raw, as the CLI sends it; the signer encodes it in the
    // canonical request and the mock agrees.
    let (status, body) = signed(
        &server,
        http::Method::POST,
        "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
        &[("content-type", "application/json")],
        r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#,
        Signer::sigv4(&c, "us-east-1", Service::Bedrock),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = signed(
        &server,
        http::Method::POST,
        "/v1/messages?beta=true",
        &[("content-type", "application/json"), ("anthropic-version", "2023-06-01")],
        r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#,
        Signer::sigv4(&c, "us-east-1", Service::BedrockMantle),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = signed(
        &server,
        http::Method::POST,
        "/",
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        "Action=GetCallerIdentity&Version=2011-06-15",
        Signer::sigv4(&c, "us-east-1", Service::Sts),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Account>123456789012</Account>"), "{body}");

    let journal = server.received_requests();
    let seen: Vec<_> = journal
        .iter()
        .map(|r| (r.operation, r.auth.service.clone(), r.auth.accepted))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some(Operation::ListInferenceProfiles),
                Some("bedrock".to_owned()),
                true
            ),
            (
                Some(Operation::InvokeModel),
                Some("bedrock".to_owned()),
                true
            ),
            (
                Some(Operation::MantleMessages),
                Some("bedrock-mantle".to_owned()),
                true
            ),
            (
                Some(Operation::GetCallerIdentity),
                Some("sts".to_owned()),
                true
            ),
        ]
    );
    // The CLI always sends and signs the body hash; it never signs the
    // user agent.
    let invoke = &journal[1];
    assert!(invoke.header("x-amz-content-sha256").is_some());
    let authorization = invoke.header("authorization").unwrap();
    assert!(
        authorization.contains("x-amz-content-sha256"),
        "{authorization}"
    );
    assert!(!authorization.contains("user-agent"), "{authorization}");
    assert_eq!(
        invoke.raw_path,
        "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke"
    );
}

#[tokio::test]
async fn session_credentials_and_other_regions_are_signed_correctly() {
    let token = "IQoJb3JpZ2luX2VjSESSION//token+DoNotLeak==";
    let secret = "sessionSecret/DoNotLeak";
    let server = MockBedrock::start_with(
        ServerConfig::default().region("us-west-2").credential(
            Credential::new("ASIATEMPORARY", secret)
                .session(token, SystemTime::now() + Duration::from_secs(3600)),
        ),
    )
    .await;
    let session = AwsCredentials {
        access_key_id: "ASIATEMPORARY".to_owned(),
        secret_access_key: Secret::new(secret),
        session_token: Some(Secret::new(token)),
        expires_at: None,
    };
    let (status, body) = signed(
        &server,
        http::Method::GET,
        "/inference-profiles",
        &[],
        "",
        Signer::sigv4(&session, "us-west-2", Service::Bedrock),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let recorded = &server.received_requests()[0];
    assert_eq!(recorded.auth.region.as_deref(), Some("us-west-2"));
    let journal = serde_json::to_string(&server.received_requests()).unwrap();
    assert!(!journal.contains(token) && !journal.contains(secret));
}

// ---------------------------------------------------------------------------
// Bearer keys, skipped auth, and the small/fast region
// ---------------------------------------------------------------------------

/// Sends `path` with the headers `auth` produces; returns the status.
async fn with_auth(
    server: &MockBedrock,
    path: &str,
    extra: &[(&str, &str)],
    body: &str,
    auth: &Auth,
    service: Service,
) -> u16 {
    let example = example();
    let signer = Signer {
        auth: auth.clone(),
        credentials: Some(&example),
        region: "us-east-1",
        service,
    };
    signed(server, http::Method::POST, path, extra, body, signer)
        .await
        .0
}

const INVOKE_PATH: &str = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke";
const INVOKE_BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;
const MANTLE_BODY: &str = r#"{"model":"anthropic.claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"."}]}"#;

#[tokio::test]
async fn a_bearer_key_opens_invoke_and_mantle_with_no_sigv4_headers() {
    let server = MockBedrock::start().await;
    let bearer = Auth::BearerKey(Secret::new(EXAMPLE_API_KEY));
    let json = [("content-type", "application/json")];
    assert_eq!(
        with_auth(
            &server,
            INVOKE_PATH,
            &json,
            INVOKE_BODY,
            &bearer,
            Service::Bedrock
        )
        .await,
        200
    );
    let mantle = [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
    ];
    assert_eq!(
        with_auth(
            &server,
            "/v1/messages",
            &mantle,
            MANTLE_BODY,
            &bearer,
            Service::BedrockMantle
        )
        .await,
        200
    );
    // The control plane too (a GET with no body).
    let signer = Signer {
        auth: bearer.clone(),
        credentials: None,
        region: "us-east-1",
        service: Service::Bedrock,
    };
    let (listed, _) = signed(
        &server,
        http::Method::GET,
        "/inference-profiles?type=SYSTEM_DEFINED",
        &[],
        "",
        signer,
    )
    .await;
    assert_eq!(listed, 200);
    assert_eq!(server.received_requests().len(), 3);
    for r in server.received_requests() {
        assert_eq!(r.auth.scheme, "bearer");
        assert!(
            r.headers.iter().all(|(n, _)| !n.starts_with("x-amz-")),
            "{:?}",
            r.headers
        );
    }
}

#[tokio::test]
async fn skipped_auth_sends_nothing() {
    let json = [("content-type", "application/json")];
    let gateway = MockBedrock::start_with(ServerConfig::default().auth(AuthMode::Off)).await;
    assert_eq!(
        with_auth(
            &gateway,
            INVOKE_PATH,
            &json,
            INVOKE_BODY,
            &Auth::Skipped,
            Service::Bedrock
        )
        .await,
        200
    );
    // Against real AWS, the missing header is what gets refused.
    let aws = MockBedrock::start().await;
    assert_eq!(
        with_auth(
            &aws,
            INVOKE_PATH,
            &json,
            INVOKE_BODY,
            &Auth::Skipped,
            Service::Bedrock
        )
        .await,
        403
    );
    let recorded = &aws.received_requests()[0];
    assert_eq!(recorded.header("authorization"), None);
    assert_eq!(
        recorded.auth.reason.as_deref(),
        Some("AccessDeniedException: Authorization header is missing")
    );
}

#[test]
fn the_small_fast_model_has_its_own_region() {
    let sources = Sources {
        env: [
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
            ("ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION", "us-west-2"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
        ..Sources::default()
    };
    let config = Config::load(&sources).unwrap();
    assert_eq!(region_for(&config, ModelRegion::Main), "us-east-1");
    assert_eq!(region_for(&config, ModelRegion::SmallFast), "us-west-2");
    // Host and signature move together.
    assert_eq!(
        base_url_for(&config, Endpoint::Bedrock, ModelRegion::SmallFast),
        "https://bedrock-runtime.us-west-2.amazonaws.com"
    );
    assert_eq!(
        base_url_for(&config, Endpoint::Mantle, ModelRegion::SmallFast),
        "https://bedrock-mantle.us-west-2.api.aws/anthropic"
    );
    assert_eq!(
        base_url_for(&config, Endpoint::Bedrock, ModelRegion::Main),
        "https://bedrock-runtime.us-east-1.amazonaws.com"
    );
    // A configured base URL (a gateway, the mock) serves every region.
    let mut gateway = sources.clone();
    gateway.env.insert(
        "ANTHROPIC_BEDROCK_BASE_URL".to_owned(),
        "http://127.0.0.1:18080".to_owned(),
    );
    let config = Config::load(&gateway).unwrap();
    assert_eq!(
        base_url_for(&config, Endpoint::Bedrock, ModelRegion::SmallFast),
        "http://127.0.0.1:18080"
    );
}
