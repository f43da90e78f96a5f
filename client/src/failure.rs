//! What a failed request means, and how Claude Code words it for the user.
//!
//! A failure is one of: worth retrying (throttling, server errors,
//! timeouts, dropped connections), a credential problem (refresh, then
//! retry within the same budget), model access not granted, the on-demand
//! throughput refusal, or final. The texts are the real CLI's
//! (`client-behaviour.md`), so a support engineer can match a customer's
//! screen against ours.

use std::time::Duration;

/// A service's error answer, as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status.
    pub status: u16,
    /// The error code: `x-amzn-ErrorType` up to its `:` on Bedrock, the
    /// `error.type` on Mantle.
    pub code: Option<String>,
    /// The service's message.
    pub message: String,
    /// The `retry-after` the answer carried.
    pub retry_after: Option<Duration>,
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Try again after the backoff: 408, 429, 5xx, 529.
    Retryable,
    /// The credentials were refused: refresh them, then retry.
    Credentials,
    /// The account may not use this model: stop.
    ModelAccess,
    /// A base model id that needs an inference profile: the request is
    /// resent with optional parts stripped, then the run stops.
    OnDemandThroughput,
    /// Anything else: stop.
    Final,
}

/// Codes of refused credentials on Bedrock (SigV4 and API keys).
const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "authentication_error",
];

/// Decides what `failure` means.
///
/// ```
/// use bedrock_client::failure::{classify, ApiFailure, Failure};
///
/// let expired = ApiFailure {
///     status: 403,
///     code: Some("ExpiredTokenException".into()),
///     message: "The security token included in the request is expired".into(),
///     retry_after: None,
/// };
/// assert_eq!(classify(&expired), Failure::Credentials);
/// ```
pub fn classify(failure: &ApiFailure) -> Failure {
    let code = failure.code.as_deref().unwrap_or_default();
    if CREDENTIAL_CODES.contains(&code) {
        return Failure::Credentials;
    }
    match failure.status {
        403 if code == "AccessDeniedException" || code == "permission_error" => {
            if is_front_door_refusal(&failure.message) {
                Failure::Credentials
            } else {
                Failure::ModelAccess
            }
        }
        400 if failure
            .message
            .contains("with on-demand throughput isn\u{2019}t supported")
            || failure
                .message
                .contains("with on-demand throughput isn't supported") =>
        {
            Failure::OnDemandThroughput
        }
        408 | 429 | 529 => Failure::Retryable,
        500..=599 => Failure::Retryable,
        _ => Failure::Final,
    }
}

/// The front door's refusals of a missing or bad API key (403
/// AccessDeniedException, but about credentials, not model access).
fn is_front_door_refusal(message: &str) -> bool {
    message == "Authorization header is missing"
        || message.starts_with("Invalid API Key format")
        || message.starts_with("Authentication failed")
}

/// The line Claude Code prints when a run ends on `failure` (`-p` mode:
/// on stdout, exit status 1). `aws_auth_refresh` is the configured
/// refresh command, which the credential message names.
pub fn user_message(failure: &ApiFailure, aws_auth_refresh: Option<&str>) -> String {
    let api_error = format!("API Error: {} {}", failure.status, failure.message);
    match classify(failure) {
        Failure::Credentials => {
            let what_to_do = match aws_auth_refresh {
                Some(command) => format!("run `{command}` and retry"),
                None => "refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry".to_owned(),
            };
            format!(
                "AWS authentication failed · {what_to_do} · if credentials are current, check AWS permissions and model access · {api_error}"
            )
        }
        Failure::ModelAccess => format!(
            "AWS authentication failed · enable this model for your account and region in the Amazon Bedrock console, or run --model to pick another model · {api_error}"
        ),
        Failure::Retryable | Failure::OnDemandThroughput | Failure::Final => api_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, code: &str, message: &str) -> ApiFailure {
        ApiFailure {
            status,
            code: (!code.is_empty()).then(|| code.to_owned()),
            message: message.to_owned(),
            retry_after: None,
        }
    }

    #[test]
    fn classification_follows_the_real_cli() {
        let cases = [
            (
                failure(429, "ThrottlingException", "Too many requests"),
                Failure::Retryable,
            ),
            (
                failure(503, "ServiceUnavailableException", ""),
                Failure::Retryable,
            ),
            (
                failure(529, "overloaded_error", "Overloaded"),
                Failure::Retryable,
            ),
            (
                failure(408, "ModelTimeoutException", ""),
                Failure::Retryable,
            ),
            (
                failure(403, "ExpiredTokenException", ""),
                Failure::Credentials,
            ),
            (
                failure(403, "UnrecognizedClientException", ""),
                Failure::Credentials,
            ),
            (
                failure(401, "authentication_error", "invalid x-api-key"),
                Failure::Credentials,
            ),
            (
                failure(
                    403,
                    "AccessDeniedException",
                    "Authentication failed: Please make sure your API Key is valid.",
                ),
                Failure::Credentials,
            ),
            (
                failure(
                    403,
                    "AccessDeniedException",
                    "You don't have access to the model with the specified model ID.",
                ),
                Failure::ModelAccess,
            ),
            (
                failure(403, "permission_error", "no access"),
                Failure::ModelAccess,
            ),
            (
                failure(
                    400,
                    "ValidationException",
                    "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
                ),
                Failure::OnDemandThroughput,
            ),
            (
                failure(
                    400,
                    "ValidationException",
                    "The provided model identifier is invalid.",
                ),
                Failure::Final,
            ),
            (failure(424, "ModelErrorException", ""), Failure::Final),
            (
                failure(404, "ResourceNotFoundException", "Model not found."),
                Failure::Final,
            ),
        ];
        for (f, expected) in cases {
            assert_eq!(classify(&f), expected, "{f:?}");
        }
    }

    #[test]
    fn messages_are_the_real_clis_words() {
        let expired = failure(
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        );
        assert_eq!(
            user_message(&expired, None),
            "AWS authentication failed · refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired"
        );
        assert_eq!(
            user_message(&expired, Some("aws sso login --profile dev")),
            "AWS authentication failed · run `aws sso login --profile dev` and retry · if credentials are current, check AWS permissions and model access · API Error: 403 The security token included in the request is expired"
        );
        let access = failure(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        );
        assert_eq!(
            user_message(&access, None),
            "AWS authentication failed · enable this model for your account and region in the Amazon Bedrock console, or run --model to pick another model · API Error: 403 You don't have access to the model with the specified model ID."
        );
        assert_eq!(
            user_message(&failure(500, "InternalServerException", "boom"), None),
            "API Error: 500 boom"
        );
    }
}
