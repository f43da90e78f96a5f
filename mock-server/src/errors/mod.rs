//! Errors: the catalogue of every error the mock can send ([`ErrorCode`],
//! one row each in `table`), and [`AwsError`], one error answer as it goes
//! on the wire: status, code, message, and the layer of AWS that sends it.
//! How each endpoint words an error (Mantle's Anthropic types, STS's
//! codes) is derived from the catalogue's twins, in [`AwsError::sent_by`].

mod table;

use serde::{Deserialize, Serialize};

use crate::operation::Protocol;

pub use table::{ErrorCode, ExceptionType, UnknownErrorCode, UnknownExceptionType};
pub(crate) use table::{SIGNATURE_MISMATCH, TOO_MANY_TOKENS};

/// Which layer of AWS answered. Bedrock's own errors and the errors of the
/// front door that checks API keys before Bedrock sees the request differ in
/// the `x-amzn-ErrorType` namespace and in the body's key (`message` vs
/// `Message`), as captures of the real service show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorOrigin {
    /// Bedrock itself: `...coral/com.amazon.bedrock/`, `{"message":...}`.
    #[default]
    Service,
    /// The authentication front door that answers for API keys and a
    /// missing `Authorization`: `...coral/com.amazon.coral.service/`,
    /// `{"Message":...}`.
    FrontDoor,
    /// The SigV4 authenticator: `...coral/com.amazon.coral.service/`, but
    /// `{"message":...}` (one recorded Bedrock answer shows this pairing
    /// for UnrecognizedClientException).
    SigV4,
    /// The IAM Identity Center portal (SSO role credentials):
    /// `...coral/com.amazon.switchboard.portal/`, `{"message":...}`.
    SsoPortal,
    /// A test's own error (a rule's `custom_error`): sent as given on
    /// every endpoint, in its error shape; on Bedrock's, in Bedrock's
    /// namespace.
    Custom,
}

impl ErrorOrigin {
    fn namespace(self) -> &'static str {
        match self {
            ErrorOrigin::Service | ErrorOrigin::Custom => {
                "http://internal.amazon.com/coral/com.amazon.bedrock/"
            }
            ErrorOrigin::FrontDoor | ErrorOrigin::SigV4 => {
                "http://internal.amazon.com/coral/com.amazon.coral.service/"
            }
            ErrorOrigin::SsoPortal => {
                "http://internal.amazon.com/coral/com.amazon.switchboard.portal/"
            }
        }
    }

    fn message_key(self) -> &'static str {
        match self {
            ErrorOrigin::Service
            | ErrorOrigin::SigV4
            | ErrorOrigin::SsoPortal
            | ErrorOrigin::Custom => "message",
            ErrorOrigin::FrontDoor => "Message",
        }
    }
}

/// One AWS error answer.
///
/// ```
/// use bedrock_mock_server::{AwsError, ErrorCode};
///
/// let e = AwsError::from(ErrorCode::AccessDeniedException);
/// assert_eq!(e.status, 403);
/// assert_eq!(e.code, "AccessDeniedException");
/// assert_eq!(e.message, "You don't have access to the model with the specified model ID.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AwsError {
    /// HTTP status.
    pub status: u16,
    /// The error code, e.g. `ValidationException`.
    pub code: String,
    /// The `message` of the body.
    pub message: String,
    /// Seconds for a `retry-after` header, when the error carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Which layer of AWS answered; decides the namespace and body key.
    #[serde(default)]
    pub origin: ErrorOrigin,
}

impl From<ErrorCode> for AwsError {
    fn from(code: ErrorCode) -> Self {
        let spec = code.spec();
        Self {
            status: spec.status,
            code: spec.code.to_owned(),
            message: spec.message.to_owned(),
            retry_after: None,
            origin: spec.origin,
        }
    }
}

impl ErrorCode {
    /// This error with a message of its own.
    pub fn with_message(self, message: impl Into<String>) -> AwsError {
        AwsError {
            message: message.into(),
            ..AwsError::from(self)
        }
    }
}

impl AwsError {
    /// An error the catalogue does not have, from Bedrock itself. Errors
    /// the mock knows are made from their [`ErrorCode`]; a test's own is a
    /// rule's [`crate::Answer::CustomError`].
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            origin: ErrorOrigin::Service,
        }
    }

    /// An error from the authentication front door (API keys, missing
    /// `Authorization`): 403 AccessDeniedException, `{"Message":...}`.
    pub fn front_door(message: impl Into<String>) -> Self {
        Self {
            origin: ErrorOrigin::FrontDoor,
            ..ErrorCode::AccessDeniedException.with_message(message)
        }
    }

    /// Adds a `retry-after` header (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400: the model or profile id is not one this account can name.
    pub fn invalid_model_identifier() -> Self {
        ErrorCode::ValidationException.into()
    }

    /// 400: a base model id that can only be invoked through an inference
    /// profile. The apostrophe is U+2019, as AWS sends it.
    pub fn on_demand_not_supported(model_id: &str) -> Self {
        ErrorCode::ValidationException.with_message(format!(
            "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. \
             Retry your request with the ID or ARN of an inference profile that contains this model."
        ))
    }

    /// 400 ValidationException with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        ErrorCode::ValidationException.with_message(message)
    }

    /// 403: the model exists but is not enabled for this account.
    pub fn access_denied_model() -> Self {
        ErrorCode::AccessDeniedException.into()
    }

    /// 429 ThrottlingException.
    pub fn throttling() -> Self {
        ErrorCode::ThrottlingException.into()
    }

    /// 429 ThrottlingException for a spent tokens-per-minute quota.
    pub(crate) fn too_many_tokens() -> Self {
        ErrorCode::ThrottlingException.with_message(TOO_MANY_TOKENS)
    }

    /// 400: `max_tokens` above the model's output cap, in Bedrock's words
    /// (vercel/ai#2772, aws-samples/bedrock-access-gateway#41).
    pub(crate) fn max_tokens_over_limit(limit: u64) -> Self {
        Self::validation(format!(
            "The maximum tokens you requested exceeds the model limit of {limit}. Try again with a maximum tokens value that is lower than {limit}."
        ))
    }

    /// The value of `x-amzn-ErrorType`.
    pub fn error_type_header(&self) -> String {
        format!("{}:{}", self.code, self.origin.namespace())
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert(
            self.origin.message_key().into(),
            self.message.clone().into(),
        );
        serde_json::to_vec(&body).expect("a JSON object serializes")
    }

    /// This error as the endpoint speaking `protocol` sends it. An error of
    /// that endpoint's own, or of Bedrock's REST-JSON family sent by it, is
    /// sent as it is; a Bedrock error on Mantle or STS becomes the
    /// catalogue's twin for the same failure. Whoever could not be
    /// identified (a missing or bad key, an unknown access key, an expired
    /// token, a bad signature) is Mantle's `authentication_error`, and a
    /// request with no credentials at all is STS's
    /// `MissingAuthenticationToken`.
    pub(crate) fn sent_by(self, protocol: Protocol) -> Self {
        if self.origin == ErrorOrigin::Custom {
            return self;
        }
        match protocol {
            Protocol::Bedrock | Protocol::SsoPortal => self,
            Protocol::Mantle => self.on_mantle(),
            Protocol::Sts => self.on_sts(),
        }
    }

    fn on_mantle(self) -> Self {
        let known = ErrorCode::named(&self.code);
        if known.is_some_and(|c| c.protocol() == Protocol::Mantle) {
            return self;
        }
        let twin = match self.origin {
            ErrorOrigin::FrontDoor | ErrorOrigin::SigV4 => Some(ErrorCode::AuthenticationError),
            ErrorOrigin::Service | ErrorOrigin::SsoPortal | ErrorOrigin::Custom => {
                known.and_then(|c| c.spec().mantle)
            }
        };
        // An error the catalogue has no twin for keeps a server-side
        // status; anything else is the request's fault.
        let (status, twin) = match twin {
            Some(twin) => (twin.status(), twin),
            None if self.status >= 500 => (self.status, ErrorCode::ApiError),
            None => (400, ErrorCode::InvalidRequestError),
        };
        Self {
            status,
            code: twin.code().to_owned(),
            ..self
        }
    }

    fn on_sts(self) -> Self {
        let known = ErrorCode::named(&self.code);
        let twin = match self.origin {
            ErrorOrigin::FrontDoor => Some(ErrorCode::MissingAuthenticationToken),
            _ => known.and_then(|c| c.spec().sts),
        };
        let Some(twin) = twin else {
            return self;
        };
        let message = if known.is_some_and(|c| c.spec().detailed) {
            self.message
        } else {
            twin.message().to_owned()
        };
        Self {
            status: twin.status(),
            code: twin.code().to_owned(),
            message,
            ..self
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_demand_text_is_aws_verbatim() {
        let e = AwsError::on_demand_not_supported("anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(
            e.message,
            "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        );
        assert_eq!(
            e.error_type_header(),
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            format!(r#"{{"message":"{}"}}"#, e.message)
        );
    }

    #[test]
    fn the_signature_checks_errors_use_the_coral_namespace_and_lower_case_message() {
        let e = AwsError::from(ErrorCode::ExpiredTokenException);
        assert_eq!(
            e.error_type_header(),
            "ExpiredTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/"
        );
        assert_eq!(
            e.body(),
            br#"{"message":"The security token included in the request is expired"}"#.to_vec()
        );
    }

    #[test]
    fn each_endpoint_words_a_shared_failure_its_own_way() {
        let sent = |code: ErrorCode, protocol| {
            let e = AwsError::from(code).sent_by(protocol);
            (e.status, e.code, e.message)
        };
        let throttled = sent(ErrorCode::ThrottlingException, Protocol::Sts);
        assert_eq!(
            throttled,
            (400, "Throttling".to_owned(), "Rate exceeded".to_owned())
        );
        let skewed = ErrorCode::InvalidSignatureException
            .with_message("Signature expired: 20261125T160000Z is now earlier than …")
            .sent_by(Protocol::Sts);
        assert_eq!(
            (skewed.code.as_str(), skewed.message.as_str()),
            (
                "SignatureDoesNotMatch",
                "Signature expired: 20261125T160000Z is now earlier than …"
            )
        );
        let unsigned = AwsError::front_door("Authorization header is missing");
        assert_eq!(
            unsigned.clone().sent_by(Protocol::Sts).code,
            "MissingAuthenticationToken"
        );
        let on_mantle = unsigned.sent_by(Protocol::Mantle);
        assert_eq!(
            (
                on_mantle.status,
                on_mantle.code.as_str(),
                on_mantle.message.as_str()
            ),
            (
                401,
                "authentication_error",
                "Authorization header is missing"
            )
        );
        assert_eq!(
            sent(ErrorCode::ServiceUnavailableException, Protocol::Mantle).1,
            "overloaded_error"
        );
        let unknown = AwsError::new(502, "BadGateway", "upstream").sent_by(Protocol::Mantle);
        assert_eq!((unknown.status, unknown.code.as_str()), (502, "api_error"));
        let unknown = AwsError::new(403, "Gateway", "no").sent_by(Protocol::Mantle);
        assert_eq!(
            (unknown.status, unknown.code.as_str()),
            (400, "invalid_request_error")
        );
        for protocol in [Protocol::Mantle, Protocol::Sts] {
            let custom = AwsError {
                origin: ErrorOrigin::Custom,
                ..AwsError::new(403, "ThrottlingException", "as given")
            }
            .sent_by(protocol);
            assert_eq!(
                (custom.status, custom.code.as_str(), custom.message.as_str()),
                (403, "ThrottlingException", "as given"),
                "{protocol:?}"
            );
        }
    }

    #[test]
    fn front_door_errors_use_the_coral_namespace_and_capital_message() {
        let e = AwsError::front_door("Authorization header is missing");
        assert_eq!(
            e.body(),
            br#"{"Message":"Authorization header is missing"}"#.to_vec()
        );
        assert_eq!(
            e.error_type_header(),
            "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"
        );
    }
}
