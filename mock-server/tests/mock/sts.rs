//! STS `GetCallerIdentity` and credentials that change over time.
//!
//! - The real `aws-sdk-sts` client (built without `aws-config`, pointed at
//!   the mock over plain http, one attempt per call): identities, the
//!   request id, and the STS error codes of each authentication failure.
//! - Raw sockets, for what the SDK hides: the XML envelopes, unknown
//!   actions, missing or foreign authentication, the global endpoint's
//!   region, STS's skew window next to Bedrock's.
//! - Scenarios on a fixed clock: a session that expires, a refresh command
//!   fetching `[expired, expired, good]` from the admin API, the report of
//!   what was issued and used, and a key revoked while a client runs.

use std::time::{Duration, SystemTime};

use crate::common::{
    INVALID_TOKEN, RawResponse, SIGNATURE_MISMATCH, ToSign, as_pairs, example_credentials, send,
    sign_headers, signing_time,
};
use aws_sdk_sts as sts;
use bedrock_mock_server::{
    ADMIN_PREFIX, Answer, Clock, Credential, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    EXAMPLE_SECRET_ACCESS_KEY, ErrorCode, Match, MockBedrock, Operation, Rule, ServerConfig,
};
use serde_json::Value;
use sts::config::retry::RetryConfig;
use sts::config::{Credentials, Region};
use sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sts::operation::RequestId;
use sts::operation::get_caller_identity::{GetCallerIdentityError, GetCallerIdentityOutput};

const ACCOUNT: &str = "123456789012";
const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const LIST_PROFILES: &str = "/inference-profiles?type=SYSTEM_DEFINED";

const SESSION_KEY_ID: &str = "ASIASESSIONEXAMPLE01";
const SESSION_SECRET: &str = "sessionSecret/DoNotLeak+0123456789abcdef";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjSESSIONTOKEN//DoNotLeak==";

const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn session_credentials(key: &str, secret: &str, token: &str) -> Credentials {
    Credentials::new(key, secret, Some(token.to_owned()), None, "test")
}

// ---------------------------------------------------------------------------
// The real STS client
// ---------------------------------------------------------------------------

/// An STS client for `server` (its `sdk_config()`) signing with
/// `credentials`, one attempt per call. It signs at the server's clock.
fn sts_client(server: &MockBedrock, credentials: Credentials) -> sts::Client {
    let config = sts::config::Builder::from(&server.sdk_config())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .build();
    sts::Client::from_conf(config)
}

/// A clock standing still at the system's current time, so that the SDK's
/// signatures are fresh and expiry is decided by the test alone.
fn near_now() -> Clock {
    Clock::fixed(SystemTime::now())
}

async fn start(config: ServerConfig, clock: Clock) -> MockBedrock {
    MockBedrock::builder()
        .config(config)
        .clock(clock)
        .start()
        .await
        .unwrap()
}

type CallerIdentityResult = Result<GetCallerIdentityOutput, SdkError<GetCallerIdentityError>>;

async fn get_caller_identity(client: &sts::Client) -> CallerIdentityResult {
    client.get_caller_identity().send().await
}

/// The identity `credentials` are, as the SDK reads it; panics on failure.
async fn identity_of(server: &MockBedrock, credentials: Credentials) -> GetCallerIdentityOutput {
    get_caller_identity(&sts_client(server, credentials))
        .await
        .unwrap_or_else(|e| panic!("GetCallerIdentity failed: {}", DisplayErrorContext(&e)))
}

/// `(code, message)` of a GetCallerIdentity call that must fail with a
/// service error.
async fn sts_rejection(server: &MockBedrock, credentials: Credentials) -> (String, String) {
    match get_caller_identity(&sts_client(server, credentials)).await {
        Ok(output) => panic!("expected an STS error, got {output:?}"),
        Err(SdkError::ServiceError(e)) => {
            let e = e.into_err();
            (
                e.code().unwrap_or_default().to_owned(),
                e.message().unwrap_or_default().to_owned(),
            )
        }
        Err(other) => panic!(
            "expected a service error, got {}",
            DisplayErrorContext(&other)
        ),
    }
}

fn pair(code: &str, message: &str) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

#[tokio::test]
async fn long_term_keys_are_the_harness_iam_user() {
    let server = start(ServerConfig::default(), near_now()).await;
    let output = identity_of(&server, example_credentials()).await;

    assert_eq!(output.account(), Some(ACCOUNT));
    assert_eq!(
        output.arn(),
        Some("arn:aws:iam::123456789012:user/bedrock-harness")
    );
    let user_id = output.user_id().unwrap_or_default();
    assert!(
        user_id.starts_with("AIDA") && user_id.len() == 21,
        "{user_id}"
    );

    let recorded = server.received_requests();
    assert_eq!(recorded.len(), 1);
    let request = &recorded[0];
    assert_eq!(request.operation, Some(Operation::GetCallerIdentity));
    assert_eq!(
        (request.method.as_str(), request.raw_path.as_str()),
        ("POST", "/")
    );
    assert_eq!(request.status, Some(200));
    assert!(request.auth.accepted, "{:?}", request.auth);
    assert_eq!(request.auth.service.as_deref(), Some("sts"));
    assert_eq!(
        request.auth.access_key_id.as_deref(),
        Some(EXAMPLE_ACCESS_KEY_ID)
    );
    assert!(
        request.body.contains("Action=GetCallerIdentity"),
        "{}",
        request.body
    );
}

#[tokio::test]
async fn the_sdk_reads_the_request_id_the_server_sent() {
    let server = start(ServerConfig::default(), near_now()).await;
    let output = identity_of(&server, example_credentials()).await;
    let request_id = output.request_id().expect("the SDK saw x-amzn-requestid");
    assert!(!request_id.is_empty());
    assert_eq!(request_id, server.received_requests()[0].request_id);

    // Failures carry it too.
    let error = get_caller_identity(&sts_client(
        &server,
        Credentials::new("AKIAUNKNOWNKEY000000", "x", None, None, "test"),
    ))
    .await
    .unwrap_err()
    .into_service_error();
    let failed = &server.received_requests()[1];
    assert_eq!(failed.status, Some(403));
    assert_eq!(error.request_id(), Some(failed.request_id.as_str()));
    assert_ne!(failed.request_id, request_id, "each request has its own id");
}

#[tokio::test]
async fn session_credentials_are_an_assumed_role() {
    let server = start(
        ServerConfig::default().credential(
            Credential::new(SESSION_KEY_ID, SESSION_SECRET)
                .session(SESSION_TOKEN, SystemTime::now() + secs(3600)),
        ),
        near_now(),
    )
    .await;
    let output = identity_of(
        &server,
        session_credentials(SESSION_KEY_ID, SESSION_SECRET, SESSION_TOKEN),
    )
    .await;
    assert_eq!(output.account(), Some(ACCOUNT));
    assert_eq!(
        output.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/bedrock-harness/ASIASESSIONEXAMPLE01")
    );
    let user_id = output.user_id().unwrap_or_default();
    assert!(
        user_id.starts_with("AROA") && user_id.ends_with(":ASIASESSIONEXAMPLE01"),
        "{user_id}"
    );
}

#[tokio::test]
async fn a_credential_with_an_arn_is_that_identity() {
    let arn = "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com";
    let iam_arn = "arn:aws:iam::123456789012:user/ci/deployer";
    let server = start(
        ServerConfig::default()
            .credential(
                Credential::new(SESSION_KEY_ID, SESSION_SECRET)
                    .session(SESSION_TOKEN, SystemTime::now() + secs(3600))
                    .with_arn(arn),
            )
            .credential(
                Credential::new("AKIADEPLOYER00000000", "deployer-secret").with_arn(iam_arn),
            ),
        near_now(),
    )
    .await;

    let assumed = identity_of(
        &server,
        session_credentials(SESSION_KEY_ID, SESSION_SECRET, SESSION_TOKEN),
    )
    .await;
    assert_eq!(assumed.arn(), Some(arn));
    let user_id = assumed.user_id().unwrap_or_default();
    assert!(
        user_id.starts_with("AROA") && user_id.ends_with(":alice@example.com"),
        "{user_id}"
    );

    let user = identity_of(
        &server,
        Credentials::new(
            "AKIADEPLOYER00000000",
            "deployer-secret",
            None,
            None,
            "test",
        ),
    )
    .await;
    assert_eq!(user.arn(), Some(iam_arn));
    assert!(user.user_id().unwrap_or_default().starts_with("AIDA"));
    assert_ne!(assumed.user_id(), user.user_id());

    // Unique ids are stable per identity.
    let again = identity_of(&server, example_credentials()).await;
    let once_more = identity_of(&server, example_credentials()).await;
    assert_eq!(again.user_id(), once_more.user_id());
}

#[tokio::test]
async fn an_expired_session_token_is_expired_token() {
    let clock = near_now();
    let server = start(
        ServerConfig::default().credential(
            Credential::new(SESSION_KEY_ID, SESSION_SECRET)
                .session(SESSION_TOKEN, clock.now() - secs(60)),
        ),
        clock,
    )
    .await;
    assert_eq!(
        sts_rejection(
            &server,
            session_credentials(SESSION_KEY_ID, SESSION_SECRET, SESSION_TOKEN)
        )
        .await,
        pair("ExpiredToken", EXPIRED_TOKEN)
    );
    let recorded = &server.received_requests()[0];
    assert_eq!(recorded.status, Some(403));
    assert_eq!(recorded.error_type.as_deref(), Some("ExpiredToken"));
}

#[tokio::test]
async fn an_unknown_key_is_invalid_client_token_id() {
    let server = start(ServerConfig::default(), near_now()).await;
    assert_eq!(
        sts_rejection(
            &server,
            Credentials::new(
                "AKIAUNKNOWNKEY000000",
                EXAMPLE_SECRET_ACCESS_KEY,
                None,
                None,
                "test"
            )
        )
        .await,
        pair("InvalidClientTokenId", INVALID_TOKEN)
    );
}

#[tokio::test]
async fn a_wrong_secret_is_signature_does_not_match() {
    let server = start(ServerConfig::default(), near_now()).await;
    assert_eq!(
        sts_rejection(
            &server,
            Credentials::new(EXAMPLE_ACCESS_KEY_ID, "not-the-secret", None, None, "test")
        )
        .await,
        pair("SignatureDoesNotMatch", SIGNATURE_MISMATCH)
    );
}

#[tokio::test]
async fn a_revoked_key_is_invalid_client_token_id() {
    let clock = near_now();
    let now = clock.now();
    let server = start(
        ServerConfig::default()
            // Revoked at this very instant: `revoked_at <= now` is revoked.
            .credential(Credential::new("AKIAREVOKEDNOW000000", "r1").revoked(now))
            .credential(Credential::new("AKIAREVOKEDEARLIER00", "r2").revoked(now - secs(3600))),
        clock,
    )
    .await;
    for key in ["AKIAREVOKEDNOW000000", "AKIAREVOKEDEARLIER00"] {
        let secret = if key.ends_with("NOW000000") {
            "r1"
        } else {
            "r2"
        };
        assert_eq!(
            sts_rejection(&server, Credentials::new(key, secret, None, None, "test")).await,
            pair("InvalidClientTokenId", INVALID_TOKEN),
            "{key}"
        );
    }
}

// ---------------------------------------------------------------------------
// Raw STS and Bedrock requests, signed by hand
// ---------------------------------------------------------------------------

/// A request to sign with the aws-sigv4 crate (the SDKs' signer).
#[derive(Debug, Clone)]
struct Unsigned {
    method: &'static str,
    target: String,
    body: String,
    content_type: Option<&'static str>,
    service: &'static str,
    region: &'static str,
}

impl Unsigned {
    /// `GetCallerIdentity` posted as a form, for the global endpoint.
    fn sts() -> Self {
        Self::sts_form(GET_CALLER_IDENTITY)
    }

    /// An STS form post carrying `form`.
    fn sts_form(form: &str) -> Self {
        Self {
            method: "POST",
            target: "/".to_owned(),
            body: form.to_owned(),
            content_type: Some(FORM),
            service: "sts",
            region: "us-east-1",
        }
    }

    /// Bedrock's `ListInferenceProfiles` (system-defined).
    fn bedrock() -> Self {
        Self {
            method: "GET",
            target: LIST_PROFILES.to_owned(),
            body: String::new(),
            content_type: None,
            service: "bedrock",
            region: "us-east-1",
        }
    }

    fn service(mut self, service: &'static str) -> Self {
        self.service = service;
        self
    }

    fn region(mut self, region: &'static str) -> Self {
        self.region = region;
        self
    }

    /// The headers to send: the base ones, then the signer's.
    fn signed_headers(
        &self,
        server: &MockBedrock,
        credentials: Credentials,
        at: SystemTime,
    ) -> Vec<(String, String)> {
        let host = server.address().to_string();
        let mut base = vec![("host".to_owned(), host.clone())];
        if let Some(content_type) = self.content_type {
            base.push(("content-type".to_owned(), content_type.to_owned()));
        }
        sign_headers(
            &ToSign {
                method: self.method,
                url: &format!("http://{host}{}", self.target),
                headers: &base,
                body: self.body.as_bytes(),
                region: self.region,
                service: self.service,
                time: at,
            },
            credentials,
        )
    }

    /// Signs with `credentials` at `at` and sends.
    async fn send_signed(
        &self,
        server: &MockBedrock,
        credentials: Credentials,
        at: SystemTime,
    ) -> RawResponse {
        let headers = self.signed_headers(server, credentials, at);
        self.send_with(server, &headers).await
    }

    /// Sends with exactly `headers` (no signing).
    async fn send_with(&self, server: &MockBedrock, headers: &[(String, String)]) -> RawResponse {
        send(
            server.address(),
            self.method,
            &self.target,
            &as_pairs(headers),
            self.body.as_bytes(),
        )
        .await
    }
}

/// The text of the first `<tag>` element of `xml`, entities decoded.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..start + end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// `(status, Code, Message)` of an STS error answer, after checking its
/// envelope: `text/xml`, STS's namespace, the fault party, and the request
/// id both in the body and in `x-amzn-requestid`.
fn sts_error(r: &RawResponse) -> (u16, String, String) {
    let xml = r.text();
    assert_eq!(r.header("content-type"), Some("text/xml"), "{xml}");
    assert!(
        xml.starts_with(&format!("<ErrorResponse xmlns=\"{STS_NAMESPACE}\">")),
        "{xml}"
    );
    let fault = if r.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    assert_eq!(xml_field(&xml, "Type").as_deref(), Some(fault), "{xml}");
    let request_id = r.header("x-amzn-requestid").expect("x-amzn-requestid");
    assert_eq!(
        xml_field(&xml, "RequestId").as_deref(),
        Some(request_id),
        "{xml}"
    );
    let field = |tag| xml_field(&xml, tag).unwrap_or_default().to_owned();
    (r.status, field("Code"), field("Message"))
}

fn triple(status: u16, code: &str, message: &str) -> (u16, String, String) {
    (status, code.to_owned(), message.to_owned())
}

#[tokio::test]
async fn the_xml_answer_is_sts_own_envelope() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts()
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    let xml = r.text();
    assert_eq!(r.status, 200, "{xml}");
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(
        xml.starts_with(&format!(
            "<GetCallerIdentityResponse xmlns=\"{STS_NAMESPACE}\">\n  <GetCallerIdentityResult>\n"
        )),
        "{xml}"
    );
    assert_eq!(
        xml_field(&xml, "Arn").as_deref(),
        Some("arn:aws:iam::123456789012:user/bedrock-harness")
    );
    assert_eq!(xml_field(&xml, "Account").as_deref(), Some(ACCOUNT));
    assert!(xml_field(&xml, "UserId").unwrap().starts_with("AIDA"));
    let request_id = r.header("x-amzn-requestid").unwrap();
    assert_eq!(
        xml_field(&xml_field(&xml, "ResponseMetadata").unwrap(), "RequestId").as_deref(),
        Some(request_id)
    );

    // The action may come in the query instead (`GET /?Action=...`).
    let query = Unsigned {
        method: "GET",
        target: format!("/?{GET_CALLER_IDENTITY}"),
        body: String::new(),
        content_type: None,
        ..Unsigned::sts()
    };
    let r = query
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        xml_field(&r.text(), "Account").as_deref(),
        Some(ACCOUNT),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn an_unknown_action_is_invalid_action() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts_form("Action=DecodeAuthorizationMessage&Version=2011-06-15")
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        sts_error(&r),
        triple(
            400,
            "InvalidAction",
            "Could not find operation DecodeAuthorizationMessage for version 2011-06-15"
        )
    );
    let r = Unsigned::sts_form("Action=DecodeAuthorizationMessage")
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        sts_error(&r).2,
        "Could not find operation DecodeAuthorizationMessage for version NO_VERSION_SPECIFIED"
    );
    let recorded = server.received_requests();
    assert!(recorded[0].auth.accepted, "authenticated, then refused");
    assert_eq!(recorded[0].operation, None);
    assert_eq!(recorded[0].error_type.as_deref(), Some("InvalidAction"));
}

#[tokio::test]
async fn no_authorization_is_missing_authentication_token() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let unsigned = Unsigned::sts();
    let r = unsigned
        .send_with(&server, &[("content-type".to_owned(), FORM.to_owned())])
        .await;
    assert_eq!(
        sts_error(&r),
        triple(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token"
        )
    );
    // Authentication is checked before the action.
    let r = Unsigned::sts_form("Action=DecodeAuthorizationMessage&Version=2011-06-15")
        .send_with(&server, &[])
        .await;
    assert_eq!(sts_error(&r).1, "MissingAuthenticationToken");
}

#[tokio::test]
async fn sts_takes_the_global_endpoint_region_whatever_the_account_regions() {
    let mut config = ServerConfig::default();
    config.regions = vec!["eu-west-1".to_owned()];
    let server = start(config, Clock::fixed(signing_time())).await;
    for region in ["us-east-1", "eu-west-1"] {
        let r = Unsigned::sts()
            .region(region)
            .send_signed(&server, example_credentials(), signing_time())
            .await;
        assert_eq!(r.status, 200, "{region}: {}", r.text());
    }
    let r = Unsigned::sts()
        .region("ap-south-1")
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        sts_error(&r),
        triple(
            403,
            "SignatureDoesNotMatch",
            "Credential should be scoped to a valid region."
        )
    );
    // The exception is STS's: Bedrock in us-east-1 is outside this account.
    let r = Unsigned::bedrock()
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        r.bedrock_error(),
        triple(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to a valid region."
        )
    );
}

#[tokio::test]
async fn a_bedrock_scoped_signature_is_refused_by_sts() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts()
        .service("bedrock")
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        sts_error(&r),
        triple(
            403,
            "SignatureDoesNotMatch",
            "Credential should be scoped to correct service: 'sts'."
        )
    );
    let auth = &server.received_requests()[0].auth;
    assert_eq!(auth.service.as_deref(), Some("bedrock"));
    assert!(!auth.accepted);
}

#[tokio::test]
async fn bedrock_refuses_a_signature_ten_minutes_old() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::bedrock()
        .send_signed(&server, example_credentials(), signing_time() - secs(600))
        .await;
    let (status, code, message) = r.bedrock_error();
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    assert_eq!(
        message,
        "Signature expired: 20261125T161401Z is now earlier than 20261125T161901Z (20261125T162401Z - 5 min.)"
    );
}

#[tokio::test]
async fn sts_refuses_a_signature_twenty_minutes_old() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts()
        .send_signed(
            &server,
            example_credentials(),
            signing_time() - secs(20 * 60),
        )
        .await;
    let (status, code, message) = sts_error(&r);
    assert_eq!((status, code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(message.starts_with("Signature expired: "), "{message}");
}

#[tokio::test]
async fn sts_accepts_a_signature_ten_minutes_old() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts()
        .send_signed(&server, example_credentials(), signing_time() - secs(600))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = Unsigned::sts()
        .send_signed(
            &server,
            example_credentials(),
            signing_time() - secs(20 * 60),
        )
        .await;
    assert_eq!(
        sts_error(&r).2,
        "Signature expired: 20261125T160401Z is now earlier than 20261125T160901Z (20261125T162401Z - 15 min.)"
    );
}

#[tokio::test]
async fn a_bedrock_api_key_is_not_sts_authentication() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let bearer = format!("Bearer {EXAMPLE_API_KEY}");
    let r = Unsigned::sts()
        .send_with(
            &server,
            &[
                ("content-type".to_owned(), FORM.to_owned()),
                ("authorization".to_owned(), bearer),
            ],
        )
        .await;
    // STS takes no API keys: the value is read as a malformed SigV4 header.
    let (status, code, message) = sts_error(&r);
    assert_eq!(
        (status, code.as_str()),
        (400, "IncompleteSignature"),
        "{message}"
    );
    assert!(!message.contains(EXAMPLE_API_KEY), "{message}");
    let recorded = &server.received_requests()[0];
    assert!(!recorded.auth.accepted, "{:?}", recorded.auth);
    assert_eq!(recorded.status, Some(status));
    // The same key opens Bedrock.
    let r = Unsigned::bedrock()
        .send_with(
            &server,
            &[(
                "authorization".to_owned(),
                format!("Bearer {EXAMPLE_API_KEY}"),
            )],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

// ---------------------------------------------------------------------------
// Credentials that change over time
// ---------------------------------------------------------------------------

/// The admin API path `rest` (e.g. `credentials/next?format=ini`).
fn admin(rest: &str) -> String {
    format!("{ADMIN_PREFIX}{rest}")
}

async fn admin_call(server: &MockBedrock, method: &str, rest: &str) -> RawResponse {
    send(server.address(), method, &admin(rest), &[], b"").await
}

/// One set fetched from `POST /__bedrock_mock/credentials/next`, as a
/// refresh command (`awsCredentialExport`) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fetched {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

impl Fetched {
    fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "refresh",
        )
    }
}

/// Fetches the next queued set as JSON; panics unless it is one.
async fn fetch_next(server: &MockBedrock) -> Fetched {
    let r = admin_call(server, "POST", "credentials/next").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let json = r.json();
    let object = json["Credentials"]
        .as_object()
        .unwrap_or_else(|| panic!("no Credentials object: {json}"));
    let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    Fetched {
        access_key_id: field("AccessKeyId").expect("AccessKeyId"),
        secret_access_key: field("SecretAccessKey").expect("SecretAccessKey"),
        session_token: field("SessionToken"),
        expiration: field("Expiration"),
    }
}

/// A queued session credential `n`, valid until `expires_at`.
fn queued(n: u32, expires_at: SystemTime) -> Credential {
    Credential::new(
        format!("ASIANEXT{n:012}"),
        format!("next-secret-{n}/DoNotLeak"),
    )
    .session(format!("next-token-{n}//DoNotLeak=="), expires_at)
}

/// The account of the refresh scenario: a session expiring at T+60s on a
/// clock standing at T, and a queue of two expired sets then a good one.
fn refresh_scenario_config() -> ServerConfig {
    ServerConfig::default()
        .credential(
            Credential::new(SESSION_KEY_ID, SESSION_SECRET)
                .session(SESSION_TOKEN, signing_time() + secs(60)),
        )
        .next_credential(queued(1, signing_time() - secs(3600)))
        .next_credential(queued(2, signing_time() - secs(60)))
        .next_credential(queued(3, signing_time() + secs(3600)))
}

fn session() -> Credentials {
    session_credentials(SESSION_KEY_ID, SESSION_SECRET, SESSION_TOKEN)
}

/// The Bedrock call the scenario's client makes, signed at the server's
/// current time.
async fn list_profiles(server: &MockBedrock, credentials: Credentials) -> RawResponse {
    Unsigned::bedrock()
        .send_signed(server, credentials, server.clock().now())
        .await
}

fn assert_expired(r: &RawResponse, step: &str) {
    assert_eq!(
        r.bedrock_error(),
        triple(403, "ExpiredTokenException", EXPIRED_TOKEN),
        "{step}"
    );
}

#[tokio::test]
async fn a_refresh_through_expired_sets_reaches_a_good_one() {
    let server = start(refresh_scenario_config(), Clock::fixed(signing_time())).await;

    // The session works until it expires.
    let r = list_profiles(&server, session()).await;
    assert_eq!(r.status, 200, "before expiry: {}", r.text());
    server.clock().advance(secs(120));
    assert_expired(&list_profiles(&server, session()).await, "after expiry");

    // The refresh command is run until its credentials work.
    let mut fetched = Vec::new();
    for (n, expected_status) in [(1, 403), (2, 403), (3, 200)] {
        let set = fetch_next(&server).await;
        assert_eq!(set.access_key_id, format!("ASIANEXT{n:012}"), "fetch {n}");
        assert_eq!(
            set.session_token.as_deref(),
            Some(format!("next-token-{n}//DoNotLeak==").as_str())
        );
        let r = list_profiles(&server, set.credentials()).await;
        if expected_status == 403 {
            assert_expired(&r, &format!("fetched set {n}"));
        } else {
            assert_eq!(r.status, 200, "fetched set {n}: {}", r.text());
            assert!(r.json()["inferenceProfileSummaries"].is_array());
        }
        fetched.push(set);
    }
    assert_eq!(
        fetched[0].expiration.as_deref(),
        Some("2026-11-25T15:24:01Z")
    );
    assert_eq!(
        fetched[2].expiration.as_deref(),
        Some("2026-11-25T17:24:01Z")
    );

    // The last set is handed out again, and still works.
    let fourth = fetch_next(&server).await;
    assert_eq!(fourth, fetched[2]);
    let r = list_profiles(&server, fourth.credentials()).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The report, from the admin API and from Rust.
    let report = admin_call(&server, "GET", "credentials").await;
    assert_eq!(report.status, 200);
    let mut report = report.json();
    // When each set was handed out, by the server's clock.
    let issued_at = report
        .as_object_mut()
        .and_then(|r| r.remove("issued_at"))
        .expect("issued_at");
    let rust_times: Vec<serde_json::Value> = server
        .credential_report()
        .issued_at
        .iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    assert_eq!(issued_at, serde_json::Value::Array(rust_times));
    // All four after the two minutes the test moved the clock.
    assert_eq!(
        issued_at,
        serde_json::json!(vec!["2026-11-25T16:26:01Z"; 4])
    );
    assert_eq!(
        report,
        serde_json::json!({
            "issued": 4,
            "assumed": 0,
            "remaining": 0,
            "requests_by_key": {
                "ASIANEXT000000000001": 1,
                "ASIANEXT000000000002": 1,
                "ASIANEXT000000000003": 2,
                SESSION_KEY_ID: 2,
            },
        })
    );
    let rust_report = server.credential_report();
    assert_eq!(rust_report.issued, 4);
    assert_eq!(rust_report.remaining, 0);
    assert_eq!(rust_report.requests_by_key[SESSION_KEY_ID], 2);

    // The journal says which key each request carried, and what came of it.
    let recorded = server.received_requests();
    let carried: Vec<(Option<&str>, u16)> = recorded
        .iter()
        .map(|r| (r.auth.access_key_id.as_deref(), r.status.unwrap_or(0)))
        .collect();
    assert_eq!(
        carried,
        [
            (Some(SESSION_KEY_ID), 200),
            (Some(SESSION_KEY_ID), 403),
            (Some("ASIANEXT000000000001"), 403),
            (Some("ASIANEXT000000000002"), 403),
            (Some("ASIANEXT000000000003"), 200),
            (Some("ASIANEXT000000000003"), 200),
        ]
    );
    assert_eq!(recorded[1].time.0, signing_time() + secs(120));
    assert!(
        recorded[1..4]
            .iter()
            .all(|r| r.error_type.as_deref() == Some("ExpiredTokenException"))
    );

    // No secret reached the journal.
    let journal = serde_json::to_string(&recorded).unwrap();
    assert!(journal.contains("ASIANEXT000000000003"), "key ids are kept");
    let mut secrets = vec![
        SESSION_SECRET.to_owned(),
        SESSION_TOKEN.to_owned(),
        EXAMPLE_SECRET_ACCESS_KEY.to_owned(),
    ];
    for set in &fetched {
        secrets.push(set.secret_access_key.clone());
        secrets.extend(set.session_token.clone());
    }
    for secret in &secrets {
        assert!(
            !journal.contains(secret.as_str()),
            "journal holds `{secret}`"
        );
    }
    assert!(!journal.contains("DoNotLeak"), "{journal}");
}

#[tokio::test]
async fn a_refresh_reaches_sts_too() {
    // STS sees the same credentials change, in its own codes.
    let server = start(refresh_scenario_config(), Clock::fixed(signing_time())).await;
    server.clock().advance(secs(120));
    let later = signing_time() + secs(120);
    let r = Unsigned::sts().send_signed(&server, session(), later).await;
    assert_eq!(sts_error(&r), triple(403, "ExpiredToken", EXPIRED_TOKEN));
    let first = fetch_next(&server).await;
    let r = Unsigned::sts()
        .send_signed(&server, first.credentials(), later)
        .await;
    assert_eq!(sts_error(&r).1, "ExpiredToken");
    fetch_next(&server).await;
    let good = fetch_next(&server).await;
    let r = Unsigned::sts()
        .send_signed(&server, good.credentials(), later)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        xml_field(&r.text(), "Arn").as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/bedrock-harness/ASIANEXT000000000003")
    );
}

#[tokio::test]
async fn credentials_come_as_ini_or_shell_exports() {
    let server = start(
        ServerConfig::default()
            .next_credential(queued(1, signing_time() + secs(3600)))
            .next_credential(Credential::new("AKIALONGTERM00000000", "it's-a/secret")),
        Clock::fixed(signing_time()),
    )
    .await;

    let ini = admin_call(&server, "POST", "credentials/next?format=ini&profile=p").await;
    assert_eq!(ini.status, 200);
    assert_eq!(ini.header("content-type"), Some("text/plain"));
    assert_eq!(
        ini.text(),
        "[p]\naws_access_key_id = ASIANEXT000000000001\naws_secret_access_key = next-secret-1/DoNotLeak\naws_session_token = next-token-1//DoNotLeak==\n"
    );

    let env = admin_call(&server, "POST", "credentials/next?format=env").await;
    assert_eq!(env.status, 200);
    assert_eq!(env.header("content-type"), Some("text/plain"));
    assert_eq!(
        env.text(),
        "export AWS_ACCESS_KEY_ID='AKIALONGTERM00000000'\nexport AWS_SECRET_ACCESS_KEY='it'\\''s-a/secret'\nunset AWS_SESSION_TOKEN\n"
    );

    // Long-term keys come without a token or an expiration.
    let json = fetch_next(&server).await;
    assert_eq!(json.access_key_id, "AKIALONGTERM00000000");
    assert_eq!((json.session_token, json.expiration), (None, None));

    // A format that does not exist is refused without using up a set.
    let xml = admin_call(&server, "POST", "credentials/next?format=xml").await;
    assert_eq!(xml.status, 400);
    assert!(
        xml.text().contains("unknown format `xml`"),
        "{}",
        xml.text()
    );
    let bad_profile =
        admin_call(&server, "POST", "credentials/next?format=ini&profile=a%0Ab").await;
    assert_eq!(bad_profile.status, 400);
    assert_eq!(server.credential_report().issued, 3);

    // Issued sets are keys of the account.
    let r = Unsigned::sts()
        .send_signed(
            &server,
            Credentials::new("AKIALONGTERM00000000", "it's-a/secret", None, None, "t"),
            signing_time(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn an_empty_queue_is_404() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    for rest in [
        "credentials/next",
        "credentials/next?format=ini&profile=p",
        "credentials/next?format=env",
    ] {
        let r = admin_call(&server, "POST", rest).await;
        assert_eq!(r.status, 404, "{rest}");
        assert!(r.text().contains("no credentials are queued"), "{rest}");
    }
    assert_eq!(server.issue_credential(), None);
    let report = admin_call(&server, "GET", "credentials").await.json();
    assert_eq!(
        report,
        serde_json::json!({"issued": 0, "issued_at": [], "assumed": 0, "remaining": 0, "requests_by_key": {}})
    );
}

#[tokio::test]
async fn issue_credential_from_rust_and_reset() {
    let server = start(
        ServerConfig::default()
            .next_credential(queued(1, signing_time() + secs(3600)))
            .next_credential(queued(2, signing_time() + secs(7200))),
        Clock::fixed(signing_time()),
    )
    .await;
    let first = server.issue_credential().expect("a queued set");
    assert_eq!(first, queued(1, signing_time() + secs(3600)));
    assert!(
        server.config().credentials.contains(&first),
        "an issued set joins the account"
    );
    let r = list_profiles(
        &server,
        session_credentials(
            &first.access_key_id,
            &first.secret_access_key,
            first.session_token.as_deref().unwrap(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The admin API and Rust share one queue.
    assert_eq!(
        fetch_next(&server).await.access_key_id,
        "ASIANEXT000000000002"
    );
    assert_eq!(
        server.issue_credential().map(|c| c.access_key_id),
        Some("ASIANEXT000000000002".to_owned())
    );
    let report = server.credential_report();
    assert_eq!((report.issued, report.remaining), (3, 0));
    assert_eq!(report.requests_by_key["ASIANEXT000000000001"], 1);

    server.reset();
    let report = server.credential_report();
    assert_eq!((report.issued, report.remaining), (0, 2));
    assert!(report.requests_by_key.is_empty());
    assert!(
        !server
            .config()
            .credentials
            .iter()
            .any(|c| c.access_key_id.starts_with("ASIANEXT")),
        "reset forgets issued keys"
    );
    assert_eq!(
        server.issue_credential().map(|c| c.access_key_id),
        Some("ASIANEXT000000000001".to_owned()),
        "the queue starts over"
    );
}

#[tokio::test]
async fn a_key_revoked_while_the_client_runs_stops_working() {
    let key = "AKIAREVOKEDLATER0000";
    let secret = "revoked-later-secret";
    let server = start(
        ServerConfig::default()
            .credential(Credential::new(key, secret).revoked(signing_time() + secs(30))),
        Clock::fixed(signing_time()),
    )
    .await;
    let credentials = || Credentials::new(key, secret, None, None, "test");

    let r = list_profiles(&server, credentials()).await;
    assert_eq!(r.status, 200, "before revocation: {}", r.text());
    let r = Unsigned::sts()
        .send_signed(&server, credentials(), server.clock().now())
        .await;
    assert_eq!(r.status, 200, "STS before revocation: {}", r.text());

    server.clock().advance(secs(60));
    assert_eq!(
        list_profiles(&server, credentials()).await.bedrock_error(),
        triple(403, "UnrecognizedClientException", INVALID_TOKEN)
    );
    let r = Unsigned::sts()
        .send_signed(&server, credentials(), server.clock().now())
        .await;
    assert_eq!(
        sts_error(&r),
        triple(403, "InvalidClientTokenId", INVALID_TOKEN)
    );
    // Other keys are untouched.
    assert_eq!(
        list_profiles(&server, example_credentials()).await.status,
        200
    );
}

// ---------------------------------------------------------------------------
// AssumeRole and AssumeRoleWithWebIdentity: what the credential chain calls
// ---------------------------------------------------------------------------

const ROLE: &str = "arn:aws:iam::123456789012:role/bedrock-user";
const WEB_IDENTITY_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.DoNotLeakSignature";

/// The SDK's credentials from an `AssumeRole*` answer.
fn minted(c: &sts::types::Credentials) -> Credentials {
    session_credentials(c.access_key_id(), c.secret_access_key(), c.session_token())
}

#[tokio::test]
async fn assume_role_mints_a_session_the_account_then_accepts() {
    let server = start(ServerConfig::default(), near_now()).await;
    let client = sts_client(&server, example_credentials());
    let out = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("ci-run")
        .duration_seconds(900)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::123456789012:assumed-role/bedrock-user/ci-run"
    );
    assert!(user.assumed_role_id().ends_with(":ci-run"));
    let credentials = out.credentials().unwrap();
    assert!(credentials.access_key_id().starts_with("ASIA"));
    let now = server.clock().now();
    let expires = SystemTime::try_from(*credentials.expiration()).unwrap();
    // Expirations are whole seconds on the wire; the clock need not be.
    let lasts = expires.duration_since(now - secs(1)).unwrap().as_secs();
    assert!((900..=901).contains(&lasts), "{lasts}");

    let who = identity_of(&server, minted(credentials)).await;
    assert_eq!(who.arn(), Some(user.arn()));
    let report = server.credential_report();
    assert_eq!((report.issued, report.assumed), (0, 1));

    // The session ends when STS said it would. Signed at the server's
    // clock: AWS checks the clock before the token.
    server.clock().advance(secs(901));
    let r = Unsigned::sts()
        .send_signed(&server, minted(credentials), server.clock().now())
        .await;
    assert_eq!(sts_error(&r).1, "ExpiredToken");
}

#[tokio::test]
async fn assume_role_refusals_are_sts_errors() {
    let server = start(ServerConfig::default(), near_now()).await;
    let client = sts_client(&server, example_credentials());
    let error = client
        .assume_role()
        .role_arn("arn:aws:iam::999999999999:role/elsewhere")
        .role_session_name("s")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDenied"));
    assert_eq!(
        error.message(),
        Some(
            "User: arn:aws:iam::123456789012:user/bedrock-harness is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/elsewhere"
        )
    );
    let error = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("s")
        .duration_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationError"));
    assert!(
        error
            .message()
            .unwrap()
            .contains("Member must have value greater than or equal to 900")
    );
    // An unknown caller is refused before any of that.
    let stranger = sts_client(
        &server,
        Credentials::new("AKIASTRANGER", "secret", None, None, "test"),
    );
    let error = stranger
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("s")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InvalidClientTokenId"));
    assert_eq!(server.credential_report().assumed, 0);
}

#[tokio::test]
async fn web_identity_is_unsigned_and_its_token_is_never_journaled() {
    let server = start(ServerConfig::default(), near_now()).await;
    // The SDK sends this call without a signature; a client with no
    // credentials at all must get through.
    let mut builder = sts::config::Builder::from(&server.sdk_config())
        .region(Region::new("us-east-1"))
        .retry_config(RetryConfig::disabled());
    builder.set_credentials_provider(None);
    let config = builder.build();
    let client = sts::Client::from_conf(config);
    let out = client
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("gha")
        .web_identity_token(WEB_IDENTITY_TOKEN)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", DisplayErrorContext(&e)));
    let credentials = out.credentials().unwrap();
    let who = identity_of(&server, minted(credentials)).await;
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/bedrock-user/gha")
    );

    let error = client
        .assume_role_with_web_identity()
        .role_arn("arn:aws:iam::999999999999:role/elsewhere")
        .role_session_name("gha")
        .web_identity_token(WEB_IDENTITY_TOKEN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDenied"));

    let journal = server.received_requests();
    assert_eq!(journal[0].auth.scheme, "web-identity");
    assert_eq!(
        journal[0].operation,
        Some(bedrock_mock_server::Operation::AssumeRoleWithWebIdentity)
    );
    let recorded = serde_json::to_string(&journal).unwrap();
    assert!(!recorded.contains(WEB_IDENTITY_TOKEN), "{recorded}");
    assert!(!recorded.contains("DoNotLeakSignature"));
    assert!(!recorded.contains(credentials.secret_access_key()));
    assert!(!recorded.contains(credentials.session_token()));
}

// ---------------------------------------------------------------------------
// Rules on STS, versions, bounds and redaction
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rules_without_an_operation_leave_sts_alone() {
    let server = start(ServerConfig::default(), near_now()).await;
    server.mount(Rule::new(Match::any(), Answer::error(ErrorCode::ThrottlingException)).expect(1));
    // The credential check a client makes is not a model call.
    identity_of(&server, example_credentials()).await;
    // The rule still answers Bedrock.
    let r = Unsigned::bedrock()
        .send_signed(&server, example_credentials(), server.clock().now())
        .await;
    assert_eq!(r.status, 429);
    // Naming the STS operation targets it, with the rule's overrides kept.
    server.mount(Rule::new(
        Match::operation(Operation::GetCallerIdentity),
        Answer::Error {
            code: ErrorCode::ThrottlingException,
            status: Some(503),
            message: Some("custom".to_owned()),
            retry_after: None,
        },
    ));
    let error = get_caller_identity(&sts_client(&server, example_credentials()))
        .await
        .unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        (Some("Throttling"), Some("custom"))
    );
    assert_eq!(server.received_requests().last().unwrap().status, Some(503));
}

#[tokio::test]
async fn an_unknown_version_is_an_invalid_action() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let r = Unsigned::sts_form("Action=GetCallerIdentity&Version=2099-01-01")
        .send_signed(&server, example_credentials(), signing_time())
        .await;
    assert_eq!(
        sts_error(&r),
        triple(
            400,
            "InvalidAction",
            "Could not find operation GetCallerIdentity for version 2099-01-01"
        )
    );
}

#[tokio::test]
async fn a_web_identity_token_is_redacted_however_its_name_is_encoded() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={ROLE}&RoleSessionName=s&WebIdentity%54oken={WEB_IDENTITY_TOKEN}"
    );
    let r = Unsigned::sts_form(&form)
        .send_with(&server, &[("content-type".to_owned(), FORM.to_owned())])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let recorded = serde_json::to_string(&server.received_requests()).unwrap();
    assert!(!recorded.contains("DoNotLeakSignature"), "{recorded}");
}

#[tokio::test]
async fn unsigned_sessions_cannot_grow_the_account_without_bound() {
    let server = start(ServerConfig::default(), Clock::fixed(signing_time())).await;
    let form = format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={ROLE}&RoleSessionName=s&WebIdentityToken=t"
    );
    let headers = [("content-type".to_owned(), FORM.to_owned())];
    let first = Unsigned::sts_form(&form).send_with(&server, &headers).await;
    let first_key = xml_field(&first.text(), "AccessKeyId").unwrap();
    for _ in 0..1100 {
        let r = Unsigned::sts_form(&form).send_with(&server, &headers).await;
        assert_eq!(r.status, 200);
    }
    let keys = server.config().credentials;
    assert!(keys.len() <= 1 + 1024, "{} keys", keys.len());
    assert_eq!(server.credential_report().assumed, 1101);
    // The oldest sessions were forgotten first; the account's own key stays.
    assert!(!keys.iter().any(|c| c.access_key_id == first_key));
    assert!(
        keys.iter()
            .any(|c| c.access_key_id == EXAMPLE_ACCESS_KEY_ID)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_issued_while_a_test_edits_the_config_are_kept() {
    let queued: Vec<Credential> = (0..40)
        .map(|n| Credential::new(format!("AKIANEXT{n:04}"), "s"))
        .collect();
    let mut config = ServerConfig::default();
    config.next_credentials = queued.clone();
    let server = start(config, Clock::fixed(signing_time())).await;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..40 {
                // A slow edit: a set issued meanwhile must not be lost
                // when the edited copy is stored.
                server.update_config(|c| {
                    std::thread::sleep(Duration::from_millis(2));
                    c.seed += 1;
                });
            }
        });
        scope.spawn(|| {
            for _ in 0..40 {
                server.issue_credential().unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
    });
    let config = server.config();
    for c in &queued {
        assert!(
            config
                .credentials
                .iter()
                .any(|k| k.access_key_id == c.access_key_id),
            "{} was issued, then lost",
            c.access_key_id
        );
    }
}
