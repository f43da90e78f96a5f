//! AWS errors as Bedrock puts them on the wire: status, `x-amzn-ErrorType`,
//! and a JSON body `{"message": "..."}`.
//!
//! The texts are AWS's own (wire.md section 2 and captures); clients match
//! on them, so they are copied, not paraphrased.

use serde::{Deserialize, Serialize};

/// Which layer of AWS answered. Bedrock's own errors and the errors of the
/// front door that checks API keys before Bedrock sees the request differ in
/// the `x-amzn-ErrorType` namespace and in the body's key (`message` vs
/// `Message`), as captures of the real service show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

impl ErrorOrigin {
    fn namespace(self) -> &'static str {
        match self {
            ErrorOrigin::Service => "http://internal.amazon.com/coral/com.amazon.bedrock/",
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
            ErrorOrigin::Service | ErrorOrigin::SigV4 | ErrorOrigin::SsoPortal => "message",
            ErrorOrigin::FrontDoor => "Message",
        }
    }
}

/// One AWS error answer.
///
/// ```
/// use bedrock_mock_server::AwsError;
///
/// let e = AwsError::access_denied_model();
/// assert_eq!(e.status, 403);
/// assert_eq!(e.code, "AccessDeniedException");
/// assert_eq!(e.message, "You don't have access to the model with the specified model ID.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl AwsError {
    /// An error with the given status, code and message.
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
            ..Self::new(403, "AccessDeniedException", message)
        }
    }

    /// The error named `code` with AWS's usual status and message, e.g.
    /// `ThrottlingException` → 429 "Too many requests, please wait before
    /// trying again.". `None` for a code this server does not know; use
    /// [`AwsError::new`] to send it anyway.
    pub fn by_name(code: &str) -> Option<Self> {
        let (status, message) = match code {
            "ValidationException" => (400, "The provided model identifier is invalid."),
            "AccessDeniedException" => (
                403,
                "You don't have access to the model with the specified model ID.",
            ),
            "UnrecognizedClientException" => (403, UNRECOGNIZED_CLIENT),
            "ExpiredTokenException" => (403, EXPIRED_TOKEN),
            "InvalidSignatureException" => (403, SIGNATURE_MISMATCH),
            "ResourceNotFoundException" => (404, "Model not found."),
            "ModelTimeoutException" => (408, "Model has timed out in processing the request."),
            "ModelErrorException" => (424, "The request failed in the model container."),
            // No capture of these two texts exists; the words are the
            // service model's description of the error.
            "ModelNotReadyException" => (
                429,
                "The model specified in the request is not ready to serve inference requests.",
            ),
            "ServiceQuotaExceededException" => (
                400,
                "Your request exceeds the service quota for your account.",
            ),
            "ThrottlingException" => (429, TOO_MANY_REQUESTS),
            "InternalServerException" => (
                500,
                "The system encountered an unexpected error during processing. Try your request again.",
            ),
            "ServiceUnavailableException" => (503, "Bedrock is unable to process your request."),
            _ => return None,
        };
        Some(match code {
            "UnrecognizedClientException"
            | "ExpiredTokenException"
            | "InvalidSignatureException" => Self::sigv4(status, code, message),
            _ => Self::new(status, code, message),
        })
    }

    /// An error of the SigV4 authenticator (unknown key, expired token,
    /// bad signature): coral's namespace, lower-case `message`.
    pub fn sigv4(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: ErrorOrigin::SigV4,
            ..Self::new(status, code, message)
        }
    }

    /// Adds a `retry-after` header (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400: the model or profile id is not one this account can name.
    pub fn invalid_model_identifier() -> Self {
        Self::new(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        )
    }

    /// 400: a base model id that can only be invoked through an inference
    /// profile. The apostrophe is U+2019, as AWS sends it.
    pub fn on_demand_not_supported(model_id: &str) -> Self {
        Self::new(
            400,
            "ValidationException",
            format!(
                "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. \
                 Retry your request with the ID or ARN of an inference profile that contains this model."
            ),
        )
    }

    /// 400 ValidationException with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationException", message)
    }

    /// 403: the model exists but is not enabled for this account.
    pub fn access_denied_model() -> Self {
        Self::by_name("AccessDeniedException").expect("known code")
    }

    /// 429 ThrottlingException.
    pub fn throttling() -> Self {
        Self::by_name("ThrottlingException").expect("known code")
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
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

pub(crate) const UNRECOGNIZED_CLIENT: &str =
    "The security token included in the request is invalid.";
pub(crate) const EXPIRED_TOKEN: &str = "The security token included in the request is expired";
pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
pub(crate) const TOO_MANY_REQUESTS: &str = "Too many requests, please wait before trying again.";

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
    fn every_named_error_has_a_client_or_server_status() {
        for code in [
            "ValidationException",
            "AccessDeniedException",
            "UnrecognizedClientException",
            "ExpiredTokenException",
            "InvalidSignatureException",
            "ResourceNotFoundException",
            "ModelTimeoutException",
            "ModelErrorException",
            "ModelNotReadyException",
            "ThrottlingException",
            "ServiceQuotaExceededException",
            "InternalServerException",
            "ServiceUnavailableException",
        ] {
            let e = AwsError::by_name(code).unwrap();
            assert!((400..600).contains(&e.status), "{code}");
            assert!(!e.message.is_empty());
        }
        assert_eq!(AwsError::by_name("NoSuchThing"), None);
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
