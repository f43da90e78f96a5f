//! STS in the AWS query protocol: a form (or query) names the action, the
//! answer and the errors are XML. Only `GetCallerIdentity` is served; it is
//! the call clients make to ask "are my credentials still good?" (Claude
//! Code makes it before deciding to run `awsAuthRefresh`).

use sha2::{Digest, Sha256};

use crate::aws_error::{AwsError, ErrorOrigin};
use crate::config::{Credential, ServerConfig};
use crate::sigv4::percent_decode;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The `Action` and `Version` parameters, from the form body or else the
/// query.
pub(crate) fn action(raw_query: &str, body: &[u8]) -> Option<(String, Option<String>)> {
    let form = std::str::from_utf8(body).unwrap_or_default();
    [form, raw_query].into_iter().find_map(|params| {
        let action = param(params, "Action")?;
        Some((action, param(params, "Version")))
    })
}

fn param(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_form(key) == name).then(|| decode_form(value))
    })
}

/// Form encoding: `+` is a space, then percent-decoding.
fn decode_form(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// 400 for an action this server (or STS) does not have, in STS's words.
/// (A request with no `Action` at all is redirected by AWS to the IAM home
/// page; this server answers it as an unknown action instead.)
pub(crate) fn unknown_action(action: Option<(String, Option<String>)>) -> AwsError {
    let (action, version) = action.unwrap_or_default();
    let version = version.unwrap_or_else(|| "NO_VERSION_SPECIFIED".to_owned());
    AwsError::new(
        400,
        "InvalidAction",
        format!("Could not find operation {action} for version {version}"),
    )
}

/// The STS error named `code` with its status and usual message, for
/// rules that name STS's own codes; `None` for other names.
pub(crate) fn error_by_code(code: &str) -> Option<AwsError> {
    let (status, message) = match code {
        "ExpiredToken" => (403, crate::aws_error::EXPIRED_TOKEN),
        "InvalidClientTokenId" => (403, crate::aws_error::UNRECOGNIZED_CLIENT),
        "SignatureDoesNotMatch" => (403, crate::aws_error::SIGNATURE_MISMATCH),
        "MissingAuthenticationToken" => (403, MISSING_AUTHENTICATION),
        "AccessDenied" => (403, "User is not authorized to perform this action."),
        "Throttling" => (400, "Rate exceeded"),
        "InternalFailure" => (500, "An internal error has occurred."),
        "ServiceUnavailable" => (503, "Service is unavailable."),
        _ => return None,
    };
    Some(AwsError::new(status, code, message))
}

const MISSING_AUTHENTICATION: &str = "Request is missing Authentication Token";

/// How `error` looks from STS: status, code, message. Authentication
/// failures shared with Bedrock take STS's codes for the same failure.
pub(crate) fn on_the_wire(error: &AwsError) -> (u16, String, String) {
    let translated = match (error.code.as_str(), error.origin) {
        ("UnrecognizedClientException", _) => error_by_code("InvalidClientTokenId"),
        ("ExpiredTokenException", _) => error_by_code("ExpiredToken"),
        ("InvalidSignatureException", _) => Some(AwsError::new(
            403,
            "SignatureDoesNotMatch",
            error.message.clone(),
        )),
        ("IncompleteSignatureException", _) => Some(AwsError::new(
            400,
            "IncompleteSignature",
            error.message.clone(),
        )),
        (_, ErrorOrigin::FrontDoor) => error_by_code("MissingAuthenticationToken"),
        ("ThrottlingException", _) => error_by_code("Throttling"),
        ("AccessDeniedException", _) => error_by_code("AccessDenied"),
        ("InternalServerException", _) => error_by_code("InternalFailure"),
        ("ServiceUnavailableException", _) => error_by_code("ServiceUnavailable"),
        _ => None,
    };
    let e = translated.unwrap_or_else(|| error.clone());
    (e.status, e.code, e.message)
}

/// The XML body of an error answer.
pub(crate) fn error_body(status: u16, code: &str, message: &str, request_id: &str) -> Vec<u8> {
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{fault}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message),
        xml_escape(request_id)
    )
    .into_bytes()
}

/// The `GetCallerIdentity` answer for the caller that signed with
/// `access_key_id` (the account's first key when nothing was checked).
pub(crate) fn caller_identity(
    config: &ServerConfig,
    access_key_id: Option<&str>,
    request_id: &str,
) -> Vec<u8> {
    let credential = access_key_id
        .and_then(|id| config.credentials.iter().find(|c| c.access_key_id == id))
        .or(config.credentials.first());
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

/// The ARN and unique id STS reports for a credential: its own ARN if it
/// has one, else an assumed role for temporary keys and an IAM user for
/// long-term ones. Unique ids are stable per key, as AWS's are.
fn identity(config: &ServerConfig, credential: &Credential) -> (String, String) {
    let temporary = credential.session_token.is_some();
    let arn = credential.arn.clone().unwrap_or_else(|| {
        if temporary {
            format!(
                "arn:aws:sts::{}:assumed-role/bedrock-harness/{}",
                config.account_id, credential.access_key_id
            )
        } else {
            format!("arn:aws:iam::{}:user/bedrock-harness", config.account_id)
        }
    });
    let digest = Sha256::digest(arn.as_bytes());
    let unique: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[usize::from(b % 32)]))
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
    fn action_comes_from_the_form_or_the_query() {
        let form = "Action=GetCallerIdentity&Version=2011-06-15";
        let expected = Some((
            "GetCallerIdentity".to_owned(),
            Some("2011-06-15".to_owned()),
        ));
        assert_eq!(action("", form.as_bytes()), expected);
        assert_eq!(action(form, b""), expected);
        assert_eq!(action("", b"Version=2011-06-15"), None);
        let other = action("", b"Action=Assume%52ole");
        assert_eq!(other, Some(("AssumeRole".to_owned(), None)));
        assert_eq!(
            unknown_action(other).message,
            "Could not find operation AssumeRole for version NO_VERSION_SPECIFIED"
        );
    }

    #[test]
    fn bedrock_authentication_errors_take_sts_codes() {
        let code = |e: AwsError| {
            let (status, code, _) = on_the_wire(&e);
            (status, code)
        };
        assert_eq!(
            code(AwsError::by_name("ExpiredTokenException").unwrap()),
            (403, "ExpiredToken".to_owned())
        );
        assert_eq!(
            code(AwsError::by_name("UnrecognizedClientException").unwrap()),
            (403, "InvalidClientTokenId".to_owned())
        );
        assert_eq!(
            code(AwsError::by_name("InvalidSignatureException").unwrap()),
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
        let body = String::from_utf8(caller_identity(&config, Some("AKIDEXAMPLE"), "r-1")).unwrap();
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
            String::from_utf8(caller_identity(&config, Some("AKIDEXAMPLE"), "r-1")).unwrap()
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
