//! STS in the AWS query protocol: a form (or query) names the action, the
//! answer and the errors are XML. `GetCallerIdentity` is the call clients
//! make to ask "are my credentials still good?" (Claude Code makes it
//! before deciding to run `awsAuthRefresh`); `AssumeRole` and
//! `AssumeRoleWithWebIdentity` are what the AWS credential chain calls for
//! a profile with `role_arn` and for web identity (EKS, CI OIDC).

use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::api::{Api, Exchange, Planned, Requested, WireError};
use crate::auth::{self, Caller};
use crate::config::{Credential, ServerConfig};
use crate::credentials::IssuedKeys;
use crate::errors::{AwsError, ErrorCode};
use crate::journal::{AuthRecord, AuthScheme};
use crate::operation::{Operation, Protocol};
use crate::percent::Form;
use crate::redact;
use crate::rng::Rng;
use crate::routes::Route;
use crate::rules::RuleContent;
use crate::sigv4::SignedRequest;
use crate::timefmt::{Timestamp, Utc};

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The one API version STS has.
const VERSION: &str = "2011-06-15";

/// A query-protocol request's parameters: the form body's when it names
/// an action, else the query's (`GET /?Action=...`).
fn params(raw_query: &str, body: &[u8]) -> Form {
    let body = Form::parse(std::str::from_utf8(body).unwrap_or_default());
    if body.get("Action").is_some() {
        body
    } else {
        Form::parse(raw_query)
    }
}

/// The STS endpoint.
pub(crate) struct Sts;

/// The STS actions the server has.
pub(crate) enum Action {
    GetCallerIdentity,
    AssumeRole,
    AssumeRoleWithWebIdentity,
}

impl Api for Sts {
    type Checked = Action;

    fn protocol(&self) -> Protocol {
        Protocol::Sts
    }

    fn identify(&self, _: Route, raw_query: &str, body: &[u8]) -> Result<Requested, AwsError> {
        let params = params(raw_query, body);
        // Operations exist for one API version; STS names the version it
        // could not find them in.
        if params.get("Version") != Some(VERSION) {
            return Err(unknown_action(&params));
        }
        let operation = match params.get("Action") {
            Some("GetCallerIdentity") => Operation::GetCallerIdentity,
            Some("AssumeRole") => Operation::AssumeRole,
            Some("AssumeRoleWithWebIdentity") => Operation::AssumeRoleWithWebIdentity,
            _ => return Err(unknown_action(&params)),
        };
        Ok(Requested {
            operation,
            model: None,
        })
    }

    /// The web identity token in the form is the credential of
    /// `AssumeRoleWithWebIdentity`: STS takes that call unsigned.
    fn authenticate(
        &self,
        config: &ServerConfig,
        issued: &IssuedKeys,
        now: SystemTime,
        request: &SignedRequest<'_>,
        operation: Option<Operation>,
    ) -> (AuthRecord, Result<Caller, AwsError>) {
        if operation == Some(Operation::AssumeRoleWithWebIdentity) {
            auth::unsigned(config, AuthScheme::WebIdentity)
        } else {
            auth::authenticate(config, issued, now, request, Protocol::Sts)
        }
    }

    fn check(&self, call: &Exchange<'_>) -> Result<Action, AwsError> {
        match call.operation {
            Operation::GetCallerIdentity => Ok(Action::GetCallerIdentity),
            Operation::AssumeRole => Ok(Action::AssumeRole),
            Operation::AssumeRoleWithWebIdentity => Ok(Action::AssumeRoleWithWebIdentity),
            _ => Err(unknown_action(&params(call.raw_query, call.body))),
        }
    }

    fn has_content(&self, _: &Action) -> bool {
        false
    }

    fn answer(
        &self,
        call: &Exchange<'_>,
        action: Action,
        _: Option<RuleContent<'_>>,
    ) -> Result<Planned, AwsError> {
        let signer = signer(call);
        match action {
            Action::GetCallerIdentity => Ok(Planned::xml(caller_identity(
                call.config,
                signer.as_ref(),
                call.request_id,
            ))),
            Action::AssumeRole => assume_role(call, "AssumeRole", false),
            Action::AssumeRoleWithWebIdentity => {
                assume_role(call, "AssumeRoleWithWebIdentity", true)
            }
        }
    }

    fn wire_error(&self, error: &AwsError, request_id: &str) -> WireError {
        let error = error.clone().sent_by(Protocol::Sts);
        WireError {
            status: error.status,
            body: error_body(error.status, &error.code, &error.message, request_id),
            code: error.code,
            message: error.message,
            content_type: "text/xml",
            error_type_header: None,
        }
    }

    /// STS forms can carry a web identity token.
    fn recorded_body(&self, body: &[u8]) -> String {
        redact::redact_query(&redact::recorded_body(body))
    }
}

/// `AssumeRole` or `AssumeRoleWithWebIdentity`: new credentials, which the
/// account knows from then on.
fn assume_role(
    call: &Exchange<'_>,
    action: &str,
    with_web_identity: bool,
) -> Result<Planned, AwsError> {
    let params = params(call.raw_query, call.body);
    let assumed = assume(
        call.config,
        &params,
        signer(call).as_ref(),
        with_web_identity,
        call.now,
        &mut call.shared.rng(),
    )?;
    let body = assumed_response(action, &assumed, call.request_id);
    call.shared.add_assumed_credential(assumed.credential);
    Ok(Planned::xml(body))
}

/// 400 for an action this server (or STS) does not have, in STS's words.
/// (A request with no `Action` at all is redirected by AWS to the IAM home
/// page; this server answers it as an unknown action instead.)
fn unknown_action(params: &Form) -> AwsError {
    ErrorCode::InvalidAction.with_message(format!(
        "Could not find operation {} for version {}",
        params.get("Action").unwrap_or_default(),
        params.get("Version").unwrap_or("NO_VERSION_SPECIFIED")
    ))
}

/// The XML body of an error answer.
fn error_body(status: u16, code: &str, message: &str, request_id: &str) -> Vec<u8> {
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{fault}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message),
        xml_escape(request_id)
    )
    .into_bytes()
}

/// The key that signed the call: one handed out while the server runs, or
/// the config's.
fn signer(call: &Exchange<'_>) -> Option<Credential> {
    let id = call.caller.access_key_id.as_deref()?;
    call.shared.keys.find(id).or_else(|| {
        call.config
            .credentials
            .iter()
            .find(|c| c.access_key_id == id)
            .cloned()
    })
}

/// The `GetCallerIdentity` answer for the caller that signed with
/// `signer` (the account's first key when nothing was checked).
fn caller_identity(
    config: &ServerConfig,
    signer: Option<&Credential>,
    request_id: &str,
) -> Vec<u8> {
    let credential = signer.or(config.credentials.first());
    let (arn, user_id) = match credential {
        Some(c) => identity(config, c),
        None => (
            format!("arn:aws:iam::{}:root", config.account_id),
            config.account_id.clone(),
        ),
    };
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        xml_escape(&arn),
        xml_escape(&user_id),
        xml_escape(&config.account_id),
        xml_escape(request_id)
    )
    .into_bytes()
}

/// Credentials STS minted for an `AssumeRole*` call.
pub(crate) struct Assumed {
    pub credential: Credential,
    pub role_arn: String,
    pub assumed_role_id: String,
}

/// The role session limits: 15 minutes to 12 hours, 1 hour by default.
const DURATION_SECONDS: (u64, u64, u64) = (900, 43_200, 3_600);

/// `AssumeRole` (signed by `caller`) or `AssumeRoleWithWebIdentity`
/// (unsigned, any non-empty token trusted): checks the parameters as STS
/// does and mints temporary credentials for the role session.
fn assume(
    config: &ServerConfig,
    params: &Form,
    signer: Option<&Credential>,
    with_web_identity: bool,
    now: SystemTime,
    rng: &mut Rng,
) -> Result<Assumed, AwsError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    let session = required(params, "RoleSessionName", "roleSessionName")?;
    if with_web_identity {
        required(params, "WebIdentityToken", "webIdentityToken")?;
    }
    let duration = session_duration(params)?;
    let role_name = role_name_in_account(role_arn, &config.account_id)
        .ok_or_else(|| not_authorized(config, signer, role_arn, with_web_identity))?;
    let arn = format!(
        "arn:aws:sts::{}:assumed-role/{role_name}/{session}",
        config.account_id
    );
    let credential = Credential {
        access_key_id: format!("ASIA{}", rng.base32_upper(16)),
        secret_access_key: rng.base62(40),
        session_token: Some(format!("IQoJb3JpZ2luX2Vj{}", rng.base62(280))),
        expires_at: Some(Timestamp(now + Duration::from_secs(duration))),
        revoked_at: None,
        arn: Some(arn.clone()),
    };
    let (_, assumed_role_id) = identity(config, &credential);
    Ok(Assumed {
        credential,
        role_arn: arn,
        assumed_role_id,
    })
}

/// `DurationSeconds`, within the role session limits.
fn session_duration(params: &Form) -> Result<u64, AwsError> {
    let (min, max, default) = DURATION_SECONDS;
    let Some(text) = params.get("DurationSeconds") else {
        return Ok(default);
    };
    let (value, constraint) = match text.parse::<u64>() {
        Ok(n) if n < min => (
            n.to_string(),
            format!("have value greater than or equal to {min}"),
        ),
        Ok(n) if n > max => (
            n.to_string(),
            format!("have value less than or equal to {max}"),
        ),
        Ok(n) => return Ok(n),
        Err(_) => (text.to_owned(), "be a number".to_owned()),
    };
    Err(validation(format!(
        "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must {constraint}"
    )))
}

/// STS's refusal of a role the caller may not assume (one of another
/// account, or not a role at all), naming the caller as STS does.
fn not_authorized(
    config: &ServerConfig,
    signer: Option<&Credential>,
    role_arn: &str,
    with_web_identity: bool,
) -> AwsError {
    if with_web_identity {
        return ErrorCode::AccessDenied
            .with_message("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    }
    let who = signer.map_or_else(
        || format!("arn:aws:iam::{}:root", config.account_id),
        |c| identity(config, c).0,
    );
    ErrorCode::AccessDenied.with_message(format!(
        "User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    ))
}

fn required<'p>(params: &'p Form, name: &str, member: &str) -> Result<&'p str, AwsError> {
    match params.get(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))),
    }
}

fn validation(message: String) -> AwsError {
    ErrorCode::ValidationError.with_message(message)
}

/// The role name of an IAM role ARN in `account`; `None` for anything
/// else (another account's role is not trusted by this fake account).
fn role_name_in_account<'a>(arn: &'a str, account: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (arn_account, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix("role/")?;
    let name = name.rsplit('/').next()?;
    (arn_account == account && !name.is_empty()).then_some(name)
}

/// The XML answer of an `AssumeRole*` call.
fn assumed_response(action: &str, assumed: &Assumed, request_id: &str) -> Vec<u8> {
    let c = &assumed.credential;
    let expiration = c
        .expires_at
        .map(|t| Utc::from_system(t.0).iso8601())
        .unwrap_or_default();
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\">\n  <{action}Result>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        xml_escape(&assumed.assumed_role_id),
        xml_escape(&assumed.role_arn),
        xml_escape(&c.access_key_id),
        xml_escape(&c.secret_access_key),
        xml_escape(c.session_token.as_deref().unwrap_or_default()),
        xml_escape(request_id)
    )
    .into_bytes()
}

/// The ARN and unique id STS reports for a credential: its own ARN if it
/// has one, else an assumed role for temporary keys and an IAM user for
/// long-term ones. Unique ids are stable per key, as AWS's are.
fn identity(config: &ServerConfig, credential: &Credential) -> (String, String) {
    let arn = credential.identity_arn(&config.account_id);
    let digest = Sha256::digest(arn.as_bytes());
    let unique: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(crate::rng::BASE32_UPPER[usize::from(b % 32)]))
        .collect();
    let user_id = match arn.split_once(":assumed-role/") {
        Some((_, role_and_session)) => {
            let session = role_and_session.rsplit('/').next().unwrap_or_default();
            format!("AROA{unique}:{session}")
        }
        None => format!("AIDA{unique}"),
    };
    (arn, user_id)
}

/// Escapes text for an element's content: only `&`, `<` and `>` need it,
/// and quotes stay as they are (AWS's messages quote names with `'`, and a
/// script grepping the raw XML should find them as written).
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_come_from_the_form_or_the_query() {
        let form = "Action=GetCallerIdentity&Version=2011-06-15";
        for params in [params("", form.as_bytes()), params(form, b"")] {
            assert_eq!(params.get("Action"), Some("GetCallerIdentity"));
            assert_eq!(params.get("Version"), Some("2011-06-15"));
        }
        assert_eq!(params("", b"Version=2011-06-15").get("Action"), None);
        let other = params(
            "",
            b"Action=Decode%41uthorizationMessage&RoleSessionName=a+b",
        );
        assert_eq!(other.get("RoleSessionName"), Some("a b"));
        assert_eq!(
            unknown_action(&other).message,
            "Could not find operation DecodeAuthorizationMessage for version NO_VERSION_SPECIFIED"
        );
    }

    #[test]
    fn assume_role_checks_parameters_and_mints_a_session() {
        let config = ServerConfig::default();
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_795_624_234);
        let assume = |form: &str| {
            assume(
                &config,
                &params("", form.as_bytes()),
                config.credentials.first(),
                false,
                now,
                &mut Rng::new(1),
            )
        };
        let assumed = assume(
            "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/path/dev&RoleSessionName=s1&DurationSeconds=900",
        )
        .ok()
        .unwrap();
        assert_eq!(
            assumed.role_arn,
            "arn:aws:sts::123456789012:assumed-role/dev/s1"
        );
        assert!(assumed.credential.access_key_id.starts_with("ASIA"));
        assert_eq!(assumed.credential.access_key_id.len(), 20);
        assert_eq!(
            assumed.credential.expires_at,
            Some(Timestamp(now + Duration::from_secs(900)))
        );
        assert!(
            assumed.assumed_role_id.starts_with("AROA") && assumed.assumed_role_id.ends_with(":s1")
        );
        let message = |form: &str| assume(form).err().unwrap().message;
        assert!(message("Action=AssumeRole&RoleSessionName=s").contains("at 'roleArn'"));
        assert!(
            message("Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/dev&RoleSessionName=s&DurationSeconds=60")
                .contains("greater than or equal to 900")
        );
        assert_eq!(
            message(
                "Action=AssumeRole&RoleArn=arn:aws:iam::999999999999:role/dev&RoleSessionName=s"
            ),
            "User: arn:aws:iam::123456789012:user/bedrock-harness is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/dev"
        );
    }

    #[test]
    fn bedrock_authentication_errors_take_sts_codes() {
        let code = |e: AwsError| {
            let e = e.sent_by(crate::operation::Protocol::Sts);
            (e.status, e.code)
        };
        assert_eq!(
            code(ErrorCode::ExpiredTokenException.into()),
            (403, "ExpiredToken".to_owned())
        );
        assert_eq!(
            code(ErrorCode::UnrecognizedClientException.into()),
            (403, "InvalidClientTokenId".to_owned())
        );
        assert_eq!(
            code(ErrorCode::InvalidSignatureException.into()),
            (403, "SignatureDoesNotMatch".to_owned())
        );
        assert_eq!(
            code(AwsError::front_door("Authorization header is missing")),
            (403, "MissingAuthenticationToken".to_owned())
        );
    }

    #[test]
    fn identities_are_stable_and_shaped_like_aws_ids() {
        let config = ServerConfig::default();
        let body =
            String::from_utf8(caller_identity(&config, config.credentials.first(), "r-1")).unwrap();
        assert!(body.contains("<Arn>arn:aws:iam::123456789012:user/bedrock-harness</Arn>"));
        assert!(body.contains("<Account>123456789012</Account>"));
        let user_id = body
            .split("<UserId>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        assert!(
            user_id.starts_with("AIDA") && user_id.len() == 21,
            "{user_id}"
        );
        assert_eq!(
            body,
            String::from_utf8(caller_identity(&config, config.credentials.first(), "r-1")).unwrap()
        );
        let session =
            Credential::new("ASIATEMP", "s").session("tok", std::time::SystemTime::UNIX_EPOCH);
        let (arn, user_id) = identity(&config, &session);
        assert_eq!(
            arn,
            "arn:aws:sts::123456789012:assumed-role/bedrock-harness/ASIATEMP"
        );
        assert!(
            user_id.starts_with("AROA") && user_id.ends_with(":ASIATEMP"),
            "{user_id}"
        );
    }

    #[test]
    fn messages_are_escaped() {
        let body = String::from_utf8(error_body(400, "X", "a <b> & 'c'", "id")).unwrap();
        assert!(body.contains("<Message>a &lt;b&gt; &amp; 'c'</Message>"));
        assert!(body.contains("<Type>Sender</Type>"));
    }
}
