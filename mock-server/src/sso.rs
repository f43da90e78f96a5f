//! The IAM Identity Center (SSO) portal's `GetRoleCredentials`: what the
//! AWS credential chain calls for an SSO profile, with the access token of
//! `~/.aws/sso/cache` in `x-amz-sso_bearer_token`. An expired or unknown
//! token is the 401 every "SSO session expired" report starts from.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::{Api, Exchange, Planned, Requested, WireError, rest_json_error};
use crate::auth::{self, Caller};
use crate::config::{Credential, ServerConfig};
use crate::credentials::IssuedKeys;
use crate::errors::{AwsError, ErrorCode};
use crate::journal::{AuthRecord, AuthScheme};
use crate::operation::{Operation, Protocol};
use crate::percent::Form;
use crate::rng::Rng;
use crate::routes::Route;
use crate::rules::RuleContent;
use crate::sigv4::SignedRequest;
use crate::timefmt::Timestamp;

/// How long minted role credentials last (the portal's usual hour).
const SESSION: Duration = Duration::from_secs(3600);

/// The SSO portal.
pub(crate) struct SsoPortal;

/// The role a `GetRoleCredentials` call names.
pub(crate) struct RoleInAccount {
    role: String,
    account: String,
}

impl Api for SsoPortal {
    type Checked = RoleInAccount;

    fn protocol(&self) -> Protocol {
        Protocol::SsoPortal
    }

    fn identify(&self, _: Route, _: &str, _: &[u8]) -> Result<Requested, AwsError> {
        Ok(Requested {
            operation: Operation::GetRoleCredentials,
            model: None,
        })
    }

    /// Not SigV4: the SSO access token is the credential.
    fn authenticate(
        &self,
        config: &ServerConfig,
        _: &IssuedKeys,
        now: SystemTime,
        request: &SignedRequest<'_>,
        _: Option<Operation>,
    ) -> (AuthRecord, Result<Caller, AwsError>) {
        let (mut record, caller) = auth::unsigned(config, AuthScheme::SsoToken);
        match check_token(config, request.headers, now) {
            Ok(()) => (record, caller),
            Err(e) => {
                record.accepted = false;
                record.reason = Some(format!("{}: {}", e.code, e.message));
                (record, Err(e))
            }
        }
    }

    fn check(&self, call: &Exchange<'_>) -> Result<RoleInAccount, AwsError> {
        let (role, account) = role(call.raw_query)?;
        Ok(RoleInAccount { role, account })
    }

    fn has_content(&self, _: &RoleInAccount) -> bool {
        false
    }

    /// The next queued set if any (so a scenario can make SSO hand out bad
    /// credentials), else a fresh session.
    fn answer(
        &self,
        call: &Exchange<'_>,
        named: RoleInAccount,
        _: Option<RuleContent<'_>>,
    ) -> Result<Planned, AwsError> {
        let credential = match call.shared.issue_credential() {
            Some(queued) => queued,
            None => {
                let mut rng = call.shared.rng();
                let minted = mint(&named.role, &named.account, call.now, &mut rng);
                drop(rng);
                call.shared.add_assumed_credential(minted.clone());
                minted
            }
        };
        Ok(Planned::Whole {
            content_type: "application/json",
            body: response(&credential, call.now),
            headers: Vec::new(),
        })
    }

    /// REST-JSON, as Bedrock's, in the portal's namespace.
    fn wire_error(&self, error: &AwsError, _: &str) -> WireError {
        rest_json_error(error)
    }
}

/// Checks the SSO access token in `x-amz-sso_bearer_token`.
fn check_token(
    config: &ServerConfig,
    headers: &http::HeaderMap,
    now: SystemTime,
) -> Result<(), AwsError> {
    let token = headers
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let known = config
        .sso_tokens
        .iter()
        .any(|t| t.key == token && t.expires_at.is_none_or(|at| now < at.0));
    if known {
        return Ok(());
    }
    Err(ErrorCode::UnauthorizedException.into())
}

/// The role's name and account from the query.
fn role(raw_query: &str) -> Result<(String, String), AwsError> {
    let params = Form::parse(raw_query);
    let required = |name: &str| match params.get(name) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ErrorCode::InvalidRequestException.with_message(format!("{name} is required"))),
    };
    Ok((required("role_name")?, required("account_id")?))
}

/// Fresh role credentials for `role` in `account`.
fn mint(role: &str, account: &str, now: SystemTime, rng: &mut Rng) -> Credential {
    Credential {
        access_key_id: format!("ASIA{}", rng.base32_upper(16)),
        secret_access_key: rng.base62(40),
        session_token: Some(format!("IQoJb3JpZ2luX2Vj{}", rng.base62(280))),
        expires_at: Some(Timestamp(now + SESSION)),
        revoked_at: None,
        arn: Some(format!(
            "arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}/sso-user"
        )),
    }
}

/// The portal's answer: `expiration` in milliseconds since the epoch (a
/// queued set without an expiry gets the usual hour from `now`: clients
/// read a missing one as already expired).
fn response(credential: &Credential, now: SystemTime) -> Vec<u8> {
    let expires_at = credential.expires_at.map_or(now + SESSION, |t| t.0);
    let expiration = expires_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    serde_json::to_vec(&PortalAnswer {
        role_credentials: RoleCredentials {
            access_key_id: &credential.access_key_id,
            secret_access_key: &credential.secret_access_key,
            session_token: credential.session_token.as_deref(),
            expiration,
        },
    })
    .expect("a portal answer serializes")
}

/// GetRoleCredentials' answer, its keys in the portal's order (serde
/// writes a struct's fields in declaration order, whatever serde_json's
/// features). A set without a session token says `null`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PortalAnswer<'a> {
    role_credentials: RoleCredentials<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: Option<&'a str>,
    expiration: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApiKey, EXAMPLE_SSO_TOKEN};

    fn headers(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("x-amz-sso_bearer_token", token.parse().unwrap());
        h
    }

    #[test]
    fn tokens_are_checked_then_the_query() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_624_234);
        let mut config = ServerConfig::default();
        config.sso_tokens.push(ApiKey {
            key: "expired".to_owned(),
            expires_at: Some(Timestamp(now)),
        });
        let query = "role_name=Dev&account_id=123456789012";
        assert!(check_token(&config, &headers(EXAMPLE_SSO_TOKEN), now).is_ok());
        assert_eq!(
            role(query).unwrap(),
            ("Dev".to_owned(), "123456789012".to_owned())
        );
        for token in ["expired", "unknown"] {
            let e = check_token(&config, &headers(token), now).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (401, "UnauthorizedException"));
            assert_eq!(
                e.error_type_header(),
                "UnauthorizedException:http://internal.amazon.com/coral/com.amazon.switchboard.portal/"
            );
        }
        assert_eq!(
            role("role_name=Dev").unwrap_err().message,
            "account_id is required"
        );
    }

    #[test]
    fn the_answer_is_the_portals_shape() {
        let c = mint("Dev", "123456789012", UNIX_EPOCH, &mut Rng::new(1));
        let body: serde_json::Value = serde_json::from_slice(&response(&c, UNIX_EPOCH)).unwrap();
        assert_eq!(body["roleCredentials"]["expiration"], 3_600_000);
        assert_eq!(
            body["roleCredentials"]["accessKeyId"],
            c.access_key_id.as_str()
        );
    }

    /// Byte for byte: the portal's key order (not the sorted order of a
    /// `serde_json::Value` built without `preserve_order`); a set without
    /// a session token says `null`.
    #[test]
    fn the_answer_keeps_the_portals_key_order() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_624_234);
        let c = Credential::new("ASIAX", "s/e").session("tok", at);
        assert_eq!(
            String::from_utf8(response(&c, UNIX_EPOCH)).unwrap(),
            r#"{"roleCredentials":{"accessKeyId":"ASIAX","secretAccessKey":"s/e","sessionToken":"tok","expiration":1795624234000}}"#
        );
        let long_term = Credential::new("AKIAX", "s");
        assert_eq!(
            String::from_utf8(response(&long_term, UNIX_EPOCH)).unwrap(),
            r#"{"roleCredentials":{"accessKeyId":"AKIAX","secretAccessKey":"s","sessionToken":null,"expiration":3600000}}"#
        );
    }
}
