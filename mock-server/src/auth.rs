//! Authentication, decided as AWS decides it: SigV4 verified against the
//! account's secrets, Bedrock API keys looked up, or nothing checked when
//! the server stands in for a gateway.
//!
//! The order of the checks follows what a caller sees from AWS: a
//! malformed header before an unknown key, an unknown key before an
//! expired token, the clock before the signature.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::config::{AuthMode, Credential, ServerConfig};
use crate::credentials::IssuedKeys;
use crate::errors::{AwsError, ErrorCode, SIGNATURE_MISMATCH};
use crate::journal::{AuthRecord, AuthScheme};
use crate::operation::Protocol;
use crate::sigv4::{self, Authorization, SignedRequest};
use crate::timefmt::Utc;

/// How far `x-amz-date` may be from the server's clock, in minutes: five
/// for Bedrock and Mantle, fifteen for STS (its "Signature expired" texts
/// say "- 15 min.").
fn max_skew_minutes(protocol: Protocol) -> u64 {
    if protocol == Protocol::Sts { 15 } else { 5 }
}

/// Who a request is, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The region the request is for: the SigV4 scope's, or the account's
    /// home region for API keys and gateway mode.
    pub region: String,
    /// The access key that signed (SigV4 only).
    pub access_key_id: Option<String>,
}

/// Authenticates `req` for an endpoint speaking `protocol`: SigV4 for its
/// signing name, and the API keys that endpoint takes (Bedrock and Mantle
/// take `Authorization: Bearer`, Mantle also `x-api-key`; STS takes none).
pub(crate) fn authenticate(
    config: &ServerConfig,
    issued: &IssuedKeys,
    now: SystemTime,
    req: &SignedRequest<'_>,
    protocol: Protocol,
) -> (AuthRecord, Result<Caller, AwsError>) {
    let mut record = AuthRecord::presenting(AuthScheme::None);
    let home = Caller {
        region: config.home_region().to_owned(),
        access_key_id: None,
    };
    let x_api_key = (protocol == Protocol::Mantle)
        .then(|| req.headers.get("x-api-key"))
        .flatten();
    let outcome = if config.auth == AuthMode::Off {
        record.scheme = AuthScheme::Off;
        Ok(home)
    } else {
        match req
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str())
        {
            None => match x_api_key.map(|v| v.to_str()) {
                Some(Ok(key)) => {
                    record.scheme = AuthScheme::XApiKey;
                    check_api_key(config, now, key.trim()).map(|()| home)
                }
                Some(Err(_)) => Err(AwsError::front_door(
                    "Invalid API Key format: Must start with pre-defined prefix",
                )),
                None => Err(AwsError::front_door("Authorization header is missing")),
            },
            Some(Err(_)) => Err(incomplete(
                "Authorization header is not valid ASCII.".to_owned(),
            )),
            Some(Ok(value)) => {
                let bearer = strip_scheme(value, "Bearer").filter(|_| protocol != Protocol::Sts);
                if let Some(key) = bearer {
                    record.scheme = AuthScheme::Bearer;
                    check_api_key(config, now, key.trim()).map(|()| home)
                } else {
                    record.scheme = AuthScheme::SigV4;
                    let params = strip_scheme(value, sigv4::ALGORITHM).unwrap_or("");
                    check_sigv4(config, issued, now, req, protocol, params, &mut record)
                }
            }
        }
    };
    match &outcome {
        Ok(_) => record.accepted = true,
        Err(e) => record.reason = Some(format!("{}: {}", e.code, e.message)),
    }
    (record, outcome)
}

/// For calls whose credential is not a signature (STS
/// `AssumeRoleWithWebIdentity`'s token in the form, the SSO portal's
/// access token): nothing to verify here.
pub(crate) fn unsigned(
    config: &ServerConfig,
    scheme: AuthScheme,
) -> (AuthRecord, Result<Caller, AwsError>) {
    let record = AuthRecord {
        accepted: true,
        ..AuthRecord::presenting(scheme)
    };
    let caller = Caller {
        region: config.home_region().to_owned(),
        access_key_id: None,
    };
    (record, Ok(caller))
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = value.split_once(' ')?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Bedrock API keys: long-term keys start `ABSK`, short-term ones
/// `bedrock-api-key-`; anything else is refused before any lookup.
fn check_api_key(config: &ServerConfig, now: SystemTime, key: &str) -> Result<(), AwsError> {
    if !(key.starts_with("ABSK") || key.starts_with("bedrock-api-key-")) {
        return Err(AwsError::front_door(
            "Invalid API Key format: Must start with pre-defined prefix",
        ));
    }
    let valid = config
        .api_keys
        .iter()
        .any(|k| k.key == key && k.expires_at.is_none_or(|t| now < t.0));
    if valid {
        Ok(())
    } else {
        Err(AwsError::front_door(
            "Authentication failed: Please make sure your API Key is valid.",
        ))
    }
}

/// SigV4, checked in AWS's order: the header's shape, the date, the
/// scope, the key and its token, the clock, then the signature.
fn check_sigv4(
    config: &ServerConfig,
    issued: &IssuedKeys,
    now: SystemTime,
    req: &SignedRequest<'_>,
    protocol: Protocol,
    params: &str,
    record: &mut AuthRecord,
) -> Result<Caller, AwsError> {
    let auth = Authorization::parse(params).map_err(|m| incomplete(m.0))?;
    record.access_key_id = Some(auth.access_key_id.clone());
    record.region = Some(auth.region.clone());
    record.service = Some(auth.service.clone());
    let Some((amz_date, signed_at)) = sigv4::request_time(req.headers) else {
        return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .to_owned(),
        ));
    };
    check_scope(config, &auth, protocol)?;
    let credential = signing_credential(config, issued, now, req, &auth)?;
    check_clock(now, &amz_date, signed_at, max_skew_minutes(protocol))?;
    let http_date = &amz_date[..8];
    if auth.scope_date != http_date {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{http_date}', from 'x-amz-date'.",
            auth.scope_date
        )));
    }
    if !sigv4::signature_matches(req, &auth, &amz_date, &credential.secret_access_key) {
        return Err(invalid_signature(SIGNATURE_MISMATCH.to_owned()));
    }
    Ok(Caller {
        region: auth.region,
        access_key_id: Some(auth.access_key_id),
    })
}

/// The signed headers include `host`, and the scope names the endpoint's
/// service and one of the account's regions.
fn check_scope(
    config: &ServerConfig,
    auth: &Authorization,
    protocol: Protocol,
) -> Result<(), AwsError> {
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    let service = protocol.signing_name();
    if auth.service != service {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{service}'."
        )));
    }
    // STS's global endpoint signs for us-east-1 whatever the account's
    // regions.
    let sts_global = protocol == Protocol::Sts && auth.region == "us-east-1";
    if !config.regions.contains(&auth.region) && !sts_global {
        return Err(invalid_signature(
            "Credential should be scoped to a valid region.".to_owned(),
        ));
    }
    Ok(())
}

/// The account's credential the request was signed with: a key AWS knows
/// at `now`, sent with its session token, not expired. A key handed out
/// while the server runs takes the place of the config's with its id.
fn signing_credential<'c>(
    config: &'c ServerConfig,
    issued: &IssuedKeys,
    now: SystemTime,
    req: &SignedRequest<'_>,
    auth: &Authorization,
) -> Result<Cow<'c, Credential>, AwsError> {
    let known = |c: &Credential| c.access_key_id == auth.access_key_id && c.is_known_at(now);
    let credential = match issued.find(&auth.access_key_id) {
        Some(handed_out) => known(&handed_out).then_some(Cow::Owned(handed_out)),
        None => config
            .credentials
            .iter()
            .find(|c| known(c))
            .map(Cow::Borrowed),
    };
    let Some(credential) = credential else {
        return Err(ErrorCode::UnrecognizedClientException.into());
    };
    let sent_token = req
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    if sent_token != credential.session_token.as_deref() {
        return Err(ErrorCode::UnrecognizedClientException.into());
    }
    if credential.expires_at.is_some_and(|t| now >= t.0) {
        return Err(ErrorCode::ExpiredTokenException.into());
    }
    Ok(credential)
}

/// AWS refuses a request signed more than `minutes` from its clock.
fn check_clock(
    now: SystemTime,
    amz_date: &str,
    signed_at: Utc,
    minutes: u64,
) -> Result<(), AwsError> {
    let skew = Duration::from_secs(minutes * 60);
    let signed_at = signed_at.to_system();
    let fmt = |t: SystemTime| Utc::from_system(t).amz_date();
    if signed_at + skew < now {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - {minutes} min.)",
            fmt(now - skew),
            fmt(now)
        )));
    }
    if signed_at > now + skew {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + {minutes} min.)",
            fmt(now + skew),
            fmt(now)
        )));
    }
    Ok(())
}

fn invalid_signature(message: String) -> AwsError {
    ErrorCode::InvalidSignatureException.with_message(message)
}

/// AWS echoes the whole `Authorization` value after these sentences; this
/// server leaves it out, because that value holds the signature and a
/// signature must not reach an error body or a log.
fn incomplete(message: String) -> AwsError {
    ErrorCode::IncompleteSignatureException.with_message(message)
}
