//! The default AWS credential chain, given the client's environment: each
//! source works from a throwaway HOME, and the ones that call STS
//! (web identity, `role_arn` profiles) get their credentials from the
//! mock's STS.

use super::from_default_chain_at;
use crate::error::ErrorKind;
use crate::tests::Sandbox;
use bedrock_mock_server::{Credential, EXAMPLE_SSO_TOKEN, MockBedrock, Operation, ServerConfig};

#[tokio::test]
async fn environment_keys_come_first() {
    let home = Sandbox::new("chain-env");
    let vars = home.vars(&[
        ("AWS_ACCESS_KEY_ID", "AKIAFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", "secret-from-env"),
    ]);
    let c = from_default_chain_at(&vars, "us-east-1", None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "AKIAFROMENV");
    assert_eq!(c.secret_access_key.expose(), "secret-from-env");
}

#[tokio::test]
async fn a_named_profile_is_read_from_the_shared_files() {
    let home = Sandbox::new("chain-profile");
    home.write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = devsecret\n",
    );
    let c = from_default_chain_at(&home.vars(&[("AWS_PROFILE", "dev")]), "us-east-1", None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "AKIADEV");
    // The settings' env wins over the process's, as the client applies it.
    let overridden = crate::config::Vars::new(
        home.vars(&[("AWS_PROFILE", "default")]).all().clone(),
        &std::collections::BTreeMap::from([("AWS_PROFILE".to_owned(), "dev".to_owned())]),
    );
    let c = from_default_chain_at(&overridden, "us-east-1", None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "AKIADEV");
}

#[tokio::test]
async fn credential_process_output_is_used() {
    let home = Sandbox::new("chain-process");
    let script = home.write("home/creds.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
    );
    home.write(
        "home/.aws/config",
        &format!(
            "[profile ci]\ncredential_process = sh {}\n",
            script.display()
        ),
    );
    let c = from_default_chain_at(&home.vars(&[("AWS_PROFILE", "ci")]), "us-east-1", None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "ASIAPROCESS");
    assert_eq!(c.session_token.as_ref().map(|t| t.expose()), Some("t"));
    assert!(c.expires_at.is_some());
}

#[tokio::test]
async fn web_identity_and_role_profiles_call_sts() {
    let server = MockBedrock::start().await;
    let home = Sandbox::new("chain-sts");
    let token = home.write(
        "home/token.jwt",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.sig",
    );
    let role = "arn:aws:iam::123456789012:role/bedrock-user";
    let web = home.vars(&[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", &token.display().to_string()),
        ("AWS_ROLE_ARN", role),
        ("AWS_ROLE_SESSION_NAME", "ci-run"),
        ("AWS_ENDPOINT_URL_STS", &server.uri()),
    ]);
    let c = from_default_chain_at(&web, "us-east-1", None)
        .await
        .unwrap();
    assert!(c.access_key_id.starts_with("ASIA"), "{}", c.access_key_id);
    assert!(c.session_token.is_some() && c.expires_at.is_some());

    home.write("home/.aws/credentials",
        "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n",
    );
    home.write(
        "home/.aws/config",
        &format!("[profile assumer]\nrole_arn = {role}\nsource_profile = base\n"),
    );
    let assumed = home.vars(&[
        ("AWS_PROFILE", "assumer"),
        ("AWS_ENDPOINT_URL_STS", &server.uri()),
    ]);
    let c = from_default_chain_at(&assumed, "us-east-1", None)
        .await
        .unwrap();
    assert!(c.access_key_id.starts_with("ASIA"));

    let operations: Vec<_> = server
        .received_requests()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        operations,
        [
            (Some(Operation::AssumeRoleWithWebIdentity), Some(200)),
            (Some(Operation::AssumeRole), Some(200))
        ]
    );
    assert_eq!(server.credential_report().assumed, 2);
}

#[tokio::test]
async fn no_source_is_a_credentials_error_that_says_what_to_do() {
    let home = Sandbox::new("chain-none");
    let e = from_default_chain_at(&home.vars(&[]), "us-east-1", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials);
    assert!(e.message().starts_with("no AWS credentials: "), "{e}");
    assert!(e.message().contains("AWS_BEARER_TOKEN_BEDROCK"), "{e}");
}

#[tokio::test]
async fn a_container_credentials_endpoint_is_read() {
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let server = MockBedrock::start_with(
        ServerConfig::default()
            .next_credential(Credential::new("ASIACONTAINER", "s").session("t", expires)),
    )
    .await;
    let home = Sandbox::new("chain-container");
    let uri = format!("{}/__bedrock_mock/credentials/container", server.uri());
    let vars = home.vars(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]);
    let c = from_default_chain_at(&vars, "us-east-1", None)
        .await
        .unwrap();
    assert_eq!(c.access_key_id, "ASIACONTAINER");
    assert_eq!(c.session_token.as_ref().map(|t| t.expose()), Some("t"));
    assert_eq!(server.credential_report().issued, 1);
}

#[tokio::test]
async fn an_sso_profile_fetches_role_credentials_from_the_portal() {
    const START_URL: &str = "https://bedrock-harness.awsapps.com/start";
    // aws-config names the token cache file after the SHA-1 of the start URL.
    const CACHE_FILE: &str = "4932a604bf2425a82823f0b21c372daff18c2b3a.json";
    let server = MockBedrock::start().await;
    let home = Sandbox::new("chain-sso");
    home.write("home/.aws/config",
        &format!(
            "[profile sso-dev]\nsso_start_url = {START_URL}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\n"
        ),
    );
    let cache = format!("home/.aws/sso/cache/{CACHE_FILE}");
    home.write(
        &cache,
        &format!(
            r#"{{"accessToken": "{EXAMPLE_SSO_TOKEN}", "expiresAt": "2099-01-01T00:00:00Z"}}"#
        ),
    );
    let vars = home.vars(&[
        ("AWS_PROFILE", "sso-dev"),
        ("AWS_ENDPOINT_URL_SSO", &server.uri()),
    ]);
    let c = from_default_chain_at(&vars, "us-east-1", None)
        .await
        .unwrap();
    assert!(c.access_key_id.starts_with("ASIA"), "{}", c.access_key_id);
    let portal = &server.received_requests()[0];
    assert_eq!(portal.operation, Some(Operation::GetRoleCredentials));
    assert_eq!(portal.header("x-amz-sso_bearer_token"), Some("<redacted>"));

    // The session has ended: the cached token is refused, and the chain
    // says so (this is when awsAuthRefresh's `aws sso login` would run).
    server.update_config(|c| c.sso_tokens.clear());
    let e = from_default_chain_at(&vars, "us-east-1", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials);
    assert!(!e.message().contains(EXAMPLE_SSO_TOKEN), "{e}");
    let refused = server.received_requests().pop().unwrap();
    assert_eq!((refused.status, refused.auth.accepted), (Some(401), false));
}
