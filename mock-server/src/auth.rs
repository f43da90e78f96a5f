//! Authentication, decided as AWS decides it: SigV4 verified against the
//! account's secrets, Bedrock API keys looked up, or nothing checked when
//! the server stands in for a gateway.
//!
//! The order of the checks and their texts follow what callers see from
//! AWS (the mock's README lists the sources): a malformed header, then
//! the date, the clock, the credential scope, the key and its token, and
//! the signature last.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::config::{AuthMode, Credential, ServerConfig, default_user_arn};
use crate::credentials::IssuedKeys;
use crate::errors::{AwsError, ErrorCode, SIGNATURE_MISMATCH};
use crate::journal::{AuthRecord, AuthScheme};
use crate::operation::Protocol;
use crate::percent::percent_decode;
use crate::redact::{redact_authorization, scrub_quoted};
use crate::sigv4::{self, Authorization, Malformed, RequestDate, Scope, SignedRequest};
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
    /// The identity's ARN, as an AccessDenied names it: the signing
    /// credential's, or the account's default user for API keys and
    /// gateway mode.
    pub principal: String,
}

impl Caller {
    /// A caller that named no region: the account's home region.
    fn at_home(config: &ServerConfig) -> Self {
        Caller {
            region: config.home_region().to_owned(),
            access_key_id: None,
            principal: default_user_arn(&config.account_id),
        }
    }
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
    let home = Caller::at_home(config);
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
                    check_sigv4(config, issued, now, req, protocol, value, &mut record)
                        .map_err(|e| without_secrets(e, config, issued))
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
    (record, Ok(Caller::at_home(config)))
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

/// SigV4, checked in AWS's order: both header and query-string auth, the
/// header's shape, the signed headers, the date, the clock, the scope,
/// the key and its token, then the signature.
fn check_sigv4(
    config: &ServerConfig,
    issued: &IssuedKeys,
    now: SystemTime,
    req: &SignedRequest<'_>,
    protocol: Protocol,
    header: &str,
    record: &mut AuthRecord,
) -> Result<Caller, AwsError> {
    if has_query_algorithm(req.raw_query) {
        return Err(invalid_signature(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
                .to_owned(),
        ));
    }
    let date = RequestDate::read(req.headers);
    let malformed = |m: Malformed| incomplete(m.message(&shown(header), header));
    let auth = Authorization::parse(header, date.is_some()).map_err(malformed)?;
    if let Ok(scope) = auth.scope() {
        record.access_key_id = Some(scope.access_key_id);
        record.region = Some(scope.region);
        record.service = Some(scope.service);
    }
    let Some(date) = date else {
        // The parse has refused it already.
        return Err(malformed(Malformed::Missing {
            parameters: Vec::new(),
            date: true,
        }));
    };
    check_signed_headers(&auth, &date)?;
    let signed_at = date.time().map_err(incomplete)?;
    check_clock(now, &date.raw, signed_at, max_skew_minutes(protocol))?;
    let scope = auth.scope().map_err(malformed)?;
    check_scope(config, &scope, protocol, &date.raw, signed_at)?;
    let credential = signing_credential(config, issued, now, req, &scope)?;
    if !sigv4::signature_matches(req, &auth, &scope, &date.raw, &credential.secret_access_key) {
        return Err(invalid_signature(SIGNATURE_MISMATCH.to_owned()));
    }
    Ok(Caller {
        region: scope.region,
        access_key_id: Some(scope.access_key_id),
        principal: credential.identity_arn(&config.account_id),
    })
}

/// Whether the query names `X-Amz-Algorithm` (query-string auth), compared
/// decoded and case-sensitively as AWS reads it.
fn has_query_algorithm(raw_query: &str) -> bool {
    raw_query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .any(|name| percent_decode(name) == "X-Amz-Algorithm")
}

/// The signed headers include `host`, and the header the date came from.
/// AWS's answer to an unsigned date is not known: it is refused, in the
/// words AWS uses for an unsigned `host`.
fn check_signed_headers(auth: &Authorization, date: &RequestDate) -> Result<(), AwsError> {
    if !auth.signs("host") {
        return Err(invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    if !auth.signs(date.signed_name) {
        return Err(invalid_signature(format!(
            "'{}' must be a 'SignedHeader' in the AWS Authorization.",
            date.header
        )));
    }
    Ok(())
}

/// The scope names one of the account's regions, the endpoint's service,
/// the terminator and the request's date; AWS names every part that is
/// wrong, in one message.
fn check_scope(
    config: &ServerConfig,
    scope: &Scope,
    protocol: Protocol,
    amz_date: &str,
    signed_at: Utc,
) -> Result<(), AwsError> {
    let mut wrong = Vec::new();
    // STS's global endpoint signs for us-east-1 whatever the account's
    // regions.
    let sts_global = protocol == Protocol::Sts && scope.region == "us-east-1";
    if !config.regions.contains(&scope.region) && !sts_global {
        wrong.push("Credential should be scoped to a valid region.".to_owned());
    }
    let service = protocol.signing_name();
    if scope.service != service {
        wrong.push(format!(
            "Credential should be scoped to correct service: '{service}'."
        ));
    }
    if scope.terminator != "aws4_request" {
        wrong.push(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            scope.terminator
        ));
    }
    let http_date = signed_at.scope_date();
    if scope.date != http_date {
        wrong.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{http_date}', from '{amz_date}'.",
            scope.date
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(invalid_signature(wrong.join(" ")))
    }
}

/// The account's credential the request was signed with: a key AWS knows
/// at `now`, sent with its session token (once), not expired. A key handed out
/// while the server runs takes the place of the config's with its id.
fn signing_credential<'c>(
    config: &'c ServerConfig,
    issued: &IssuedKeys,
    now: SystemTime,
    req: &SignedRequest<'_>,
    scope: &Scope,
) -> Result<Cow<'c, Credential>, AwsError> {
    let known = |c: &Credential| c.access_key_id == scope.access_key_id && c.is_known_at(now);
    let credential = match issued.find(&scope.access_key_id) {
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
    let mut tokens = req.headers.get_all("x-amz-security-token").iter();
    let sent_token = tokens.next().and_then(|v| v.to_str().ok());
    // AWS's answer to two tokens is not known: refused as a token it does
    // not recognise.
    if tokens.next().is_some() {
        return Err(ErrorCode::UnrecognizedClientException.into());
    }
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

fn incomplete(message: String) -> AwsError {
    ErrorCode::IncompleteSignatureException.with_message(message)
}

/// The `Authorization` value as a refusal quotes it: AWS quotes it whole,
/// this server as its journal keeps it, the signature redacted.
fn shown(header: &str) -> String {
    if header.trim().is_empty() {
        String::new()
    } else {
        redact_authorization(header)
    }
}

/// A SigV4 refusal quotes what the request sent (a part of its header, its
/// credential, its date), as AWS's do; a secret sent in the wrong place
/// (a secret key where the key id belongs, a signature in the credential)
/// must not come back in it, nor reach the journal.
fn without_secrets(mut error: AwsError, config: &ServerConfig, issued: &IssuedKeys) -> AwsError {
    error.message = scrub_quoted(&error.message, config, issued);
    error
}
