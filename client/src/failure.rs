//! What a failed request means, and how Claude Code words it for the user.
//!
//! A failure is one of: worth retrying (throttling, server errors,
//! timeouts, dropped connections), a credential problem (refresh, then
//! retry within the same budget), model access not granted, the on-demand
//! throughput refusal, or final. The texts are the real CLI's
//! (`client-behaviour.md`), so a support engineer can match a customer's
//! screen against ours.

use std::time::Duration;

use crate::error::FailureKind;
use crate::profile::Profile;

/// A service's error answer, as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// `x-should-retry`, which the Anthropic SDKs obey over the status.
    pub should_retry: Option<bool>,
}

impl ApiFailure {
    /// An answer of `status` saying `message`, with no code, no
    /// `retry-after` and no `x-should-retry`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_client::failure::{classify, ApiFailure, Failure};
    ///
    /// let throttled = ApiFailure::new(429, "Too many requests, please wait before trying again.")
    ///     .with_code("ThrottlingException")
    ///     .with_retry_after(Duration::from_secs(2));
    /// assert_eq!(throttled.retry_after, Some(Duration::from_secs(2)));
    /// # let _ = classify(&throttled);
    /// ```
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            retry_after: None,
            should_retry: None,
        }
    }

    /// The answer with its error `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The answer with the `retry-after` it carried.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The answer with the `x-should-retry` it carried.
    pub fn with_should_retry(mut self, should_retry: bool) -> Self {
        self.should_retry = Some(should_retry);
        self
    }

    /// Reads an error answer: the code from `x-amzn-ErrorType` (up to its
    /// `:`) or the body's `__type` (Bedrock), or `error.type` (Mantle);
    /// the message from `message` / `Message` / `error.message`; a body
    /// that is not JSON (a proxy's page) is quoted, trimmed.
    ///
    /// ```
    /// use bedrock_client::failure::ApiFailure;
    ///
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".parse().unwrap());
    /// headers.insert("retry-after", "3".parse().unwrap());
    /// let failure = ApiFailure::from_answer(429, &headers, br#"{"message":"Too many requests, please wait before trying again."}"#);
    /// assert_eq!(failure.code.as_deref(), Some("ThrottlingException"));
    /// assert_eq!(failure.retry_after, Some(std::time::Duration::from_secs(3)));
    /// ```
    pub fn from_answer(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |path: &[&str]| {
            let mut value = json.as_ref()?;
            for key in path {
                value = value.get(key)?;
            }
            value.as_str().map(str::to_owned)
        };
        let code = header("x-amzn-errortype")
            .map(str::to_owned)
            .or_else(|| field(&["__type"]))
            .or_else(|| field(&["error", "type"]))
            .map(|c| {
                // `ValidationException:http://internal…` and
                // `com.amazon.coral#ValidationException`.
                let c = c.split(':').next().unwrap_or_default();
                c.rsplit('#').next().unwrap_or_default().to_owned()
            })
            .filter(|c| !c.is_empty());
        // Only `message` (and the Anthropic shape's): a body whose field is
        // `Message` (Bedrock's authentication refusals) is shown whole, as
        // the CLI shows it (`API Error: 403 {"Message":"Authorization header
        // is missing"}` in customer-scenarios' bearer-token-header-missing;
        // `faulty-clients/bearer-instead-of-sigv4`, recorded with 2.1.328
        // and 2.1.332).
        let message = field(&["message"])
            .or_else(|| field(&["error", "message"]))
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if text.is_empty() {
                    "(no body)".to_owned()
                } else {
                    text.chars().take(500).collect()
                }
            });
        Self {
            status,
            code,
            message,
            retry_after: header("retry-after").and_then(crate::retry::parse_retry_after),
            should_retry: match header("x-should-retry") {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
        }
    }
}

/// What to do about a failure (2.1.328 and 2.1.332 alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Try again after the backoff: 408, 429, 5xx, 529.
    Retryable,
    /// The credentials were refused: refresh them, then retry.
    Credentials,
    /// The account may not use this model: not retried (a session may
    /// move the turn down its ladder, see [`model_refusal`]).
    ModelAccess,
    /// A base model id that needs an inference profile: the request is
    /// sent again with optional parts dropped
    /// (`MessagesRequest::resends_after_400`), then the run stops.
    OnDemandThroughput,
    /// Anything else: stop.
    Final,
}

impl From<Failure> for FailureKind {
    /// The kind of failure a run that gave up on this refusal ended on.
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Retryable => FailureKind::Retryable,
            Failure::Credentials => FailureKind::Credentials,
            Failure::ModelAccess => FailureKind::ModelAccess,
            Failure::OnDemandThroughput => FailureKind::OnDemandThroughput,
            Failure::Final => FailureKind::Final,
        }
    }
}

/// Whether `failure` says in so many words that the credentials were
/// refused: a credentials code, Mantle's 403 `permission_error` (the CLI
/// refreshes and retries whatever its message: conformance/DIFFERENCES.md),
/// or the front door's refusal of an API key. Other 403s count as refused
/// credentials only on a turn ([`classify`]): a probe that gets one widens
/// the probing, as a refusal of the model does (the CLI 2.1.328,
/// customers/truncated-event-byte-complete).
pub fn names_refused_credentials(failure: &ApiFailure) -> bool {
    let code = failure.code.as_deref().unwrap_or_default();
    CREDENTIAL_CODES.contains(&code)
        || (failure.status == 403 && code == "permission_error")
        || (failure.status == 403
            && code == "AccessDeniedException"
            && is_front_door_refusal(&failure.message))
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
/// let expired = ApiFailure::new(403, "The security token included in the request is expired").with_code("ExpiredTokenException");
/// assert_eq!(classify(&expired), Failure::Credentials);
/// ```
pub fn classify(failure: &ApiFailure) -> Failure {
    if names_refused_credentials(failure) {
        return Failure::Credentials;
    }
    let by_status = match failure.status {
        403 if failure.code.as_deref() == Some("AccessDeniedException") => Failure::ModelAccess,
        // Any other 403 (API Gateway's `Missing Authentication Token`, a
        // proxy's `Forbidden`) is about the credentials to the CLI when a
        // turn gets it: retried with the renewals, then the credentials
        // line (the CLI 2.1.328 and 2.1.332, `run --client claude-code@V`
        // on customers/truncated-event-byte-complete).
        403 => Failure::Credentials,
        400 if failure
            .message
            .contains("with on-demand throughput isn\u{2019}t supported")
            || failure
                .message
                .contains("with on-demand throughput isn't supported") =>
        {
            Failure::OnDemandThroughput
        }
        // 409 too, as the Anthropic SDKs retry it.
        408 | 409 | 429 | 529 => Failure::Retryable,
        500..=599 => Failure::Retryable,
        _ => Failure::Final,
    };
    // The Anthropic SDKs let `x-should-retry` decide whether to retry;
    // model access and the on-demand resends are the CLI's own decisions.
    match (by_status, failure.should_retry) {
        (Failure::Retryable | Failure::Final, Some(true)) => Failure::Retryable,
        (Failure::Retryable | Failure::Final, Some(false)) => Failure::Final,
        (decided, _) => decided,
    }
}

/// What Claude Code makes of a Bedrock refusal of the model itself (not of
/// the credentials): the verdicts that move a turn down its tier's ladder
/// (`conformance/DIFFERENCES.md`; 2.1.328 and 2.1.332 alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelRefusal {
    /// The account may not use the model: 403 "You don't have access to
    /// the model with the specified model ID.", "anthropic.… is not
    /// available for this account", a Marketplace subscription that
    /// cannot be completed, or 400 "The provided model identifier is
    /// invalid." (not the on-demand throughput 400). The turn moves to
    /// the next model at once.
    Refused,
    /// An IAM policy refuses `bedrock:InvokeModel…`: the turn is sent once
    /// more, then the next model is probed before the turn moves to it.
    Denied,
}

/// The CLI's verdict on a Bedrock refusal, if it is about the model.
///
/// ```
/// use bedrock_client::failure::{ApiFailure, ModelRefusal, model_refusal};
///
/// let refusal = ApiFailure::new(403, "You don't have access to the model with the specified model ID.").with_code("AccessDeniedException");
/// assert_eq!(model_refusal(&refusal), Some(ModelRefusal::Refused));
/// ```
pub fn model_refusal(failure: &ApiFailure) -> Option<ModelRefusal> {
    if classify(failure) == Failure::Credentials {
        return None;
    }
    let message = failure.message.to_lowercase();
    let refused = match failure.status {
        403 => {
            message.contains("you don't have access to the model with the specified model id")
                || names_an_unavailable_model(&message)
                || message.contains("marketplace subscription for this model cannot be completed")
        }
        400 => {
            message.contains("the provided model identifier is invalid")
                && !message.contains("on-demand throughput")
        }
        _ => false,
    };
    if refused {
        Some(ModelRefusal::Refused)
    } else if failure.status == 403
        && message.contains("is not authorized to perform: bedrock:invokemodel")
    {
        Some(ModelRefusal::Denied)
    } else {
        None
    }
}

/// Whether `failure` is a refusal Claude Code cannot place: a 4xx that is
/// neither about the credentials nor a verdict on the model
/// ([`model_refusal`]), such as a malformed request's 400. 2.1.332 moves a
/// tier's turn down its ladder on one, once its resends are spent
/// (`Rules::unplaced_refusal_moves_down`); 2.1.328 ends the run.
///
/// Left out, as the CLI leaves them out: 404 (the turn's non-streaming
/// retry), 407, 408, 409, 413, 424, 429 and 451. And 401 and 403, which
/// the CLI first retries as refused credentials and then checks by probing
/// the turn's own model: read in its JavaScript, not recorded, so not
/// imitated.
///
/// ```
/// use bedrock_client::failure::{ApiFailure, is_unplaced};
///
/// let malformed = ApiFailure::new(400, "Malformed input request: #/messages/0: extraneous key [foo] is not permitted").with_code("ValidationException");
/// assert!(is_unplaced(&malformed));
/// ```
pub fn is_unplaced(failure: &ApiFailure) -> bool {
    const LEFT_OUT: [u16; 10] = [401, 403, 404, 407, 408, 409, 413, 424, 429, 451];
    (400..500).contains(&failure.status)
        && !LEFT_OUT.contains(&failure.status)
        && classify(failure) != Failure::Credentials
        && model_refusal(failure).is_none()
}

/// `… anthropic.<id> is not available for this account …` (lower case).
fn names_an_unavailable_model(message: &str) -> bool {
    message
        .match_indices(" is not available for this account")
        .any(|(at, _)| {
            let before = &message[..at];
            let word = before
                .rsplit(char::is_whitespace)
                .next()
                .unwrap_or_default();
            word.len() > "anthropic.".len() && word.starts_with("anthropic.")
        })
}

/// What a credentials line tells the user to do: run the configured
/// refresh command, or refresh the credentials by hand.
fn refresh_advice(cli: &Profile, aws_auth_refresh: Option<&str>) -> String {
    match aws_auth_refresh {
        Some(command) => format!("run `{command}` and retry"),
        None => cli.texts.refresh_by_hand.clone(),
    }
}

/// Whether `message` speaks of AWS credentials, in the words the CLI looks
/// for: an expired or invalid token or key, a bad signature, a refused
/// Bedrock API key.
fn names_aws_credentials(cli: &Profile, message: &str) -> bool {
    let lower = message.to_lowercase();
    cli.words
        .credential
        .iter()
        .any(|w| lower.contains(w.as_str()))
        || (lower.contains("security token")
            && (lower.contains("invalid") || lower.contains("expired")))
        || lower
            .split_once("authentication failed")
            .is_some_and(|(_, rest)| rest.contains("api key"))
}

/// The front door's refusals of a missing or bad API key (403
/// AccessDeniedException, but about credentials, not model access).
fn is_front_door_refusal(message: &str) -> bool {
    // The front door words its refusals `{"Message": …}`, which the CLI
    // shows whole (see `ApiFailure::from_answer`); its words are inside.
    let inner: Option<String> = serde_json::from_str::<serde_json::Value>(message)
        .ok()
        .and_then(|body| body.get("Message")?.as_str().map(str::to_owned));
    let message = inner.as_deref().unwrap_or(message);
    message == "Authorization header is missing"
        || message.starts_with("Invalid API Key format")
        || message.starts_with("Authentication failed")
}

/// The line `cli`'s version of Claude Code prints when a run ends on
/// `failure` (`-p` mode: on stdout, exit status 1). `aws_auth_refresh` is
/// the configured refresh command, which the credential message names.
///
/// ```
/// use bedrock_client::failure::{ApiFailure, user_message};
///
/// let expired = ApiFailure::new(403, "The security token included in the request is expired").with_code("ExpiredTokenException");
/// let cli = bedrock_client::profile::newest();
/// assert!(user_message(&cli, &expired, None).starts_with("AWS authentication failed · "));
/// ```
pub fn user_message(cli: &Profile, failure: &ApiFailure, aws_auth_refresh: Option<&str>) -> String {
    user_message_for(cli, failure, aws_auth_refresh, None)
}

/// The line for a 400 about the id of `model` (the turn's, and the one to
/// suggest): `None` for any other failure.
fn model_line(
    cli: &Profile,
    failure: &ApiFailure,
    model: Option<(&str, Option<&str>)>,
) -> Option<String> {
    // Only a refusal of the model itself names it and suggests another
    // (observed for on-demand throughput); other 400s ("Input is too long
    // for requested model.", a guardrail's) print plainly, as users'
    // reports show.
    let about_the_model = failure.message.to_lowercase().contains("model id");
    let (model, switch_to) = model.filter(|_| failure.status == 400 && about_the_model)?;
    let (texts, message) = (&cli.texts, &failure.message);
    let head = format!("{} ({model}): 400 {message}.", texts.api_error);
    Some(match switch_to {
        Some(other) => format!("{head} {} {other}.", texts.switch_model),
        None => format!("{head} {}", texts.pick_another_model),
    })
}

/// [`user_message`] for a turn on `model`: a 400 about the model id (an
/// invalid identifier, on-demand throughput) names the model, and
/// suggests `switch_to` when there is one to offer, else says `Run
/// --model to pick a different model.`, as the CLI does:
/// `API Error (claude-opus-4-6): 400 The provided model identifier is invalid.. Try --model to switch to us.anthropic.claude-opus-4-1-20250805-v1:0.`
/// (the doubled full stop is the CLI's).
pub fn user_message_for(
    cli: &Profile,
    failure: &ApiFailure,
    aws_auth_refresh: Option<&str>,
    model: Option<(&str, Option<&str>)>,
) -> String {
    if let Some(line) = model_line(cli, failure, model) {
        return line;
    }
    let texts = &cli.texts;
    let api_error = format!(
        "{}: {} {}",
        texts.api_error, failure.status, failure.message
    );
    let what_to_do = || refresh_advice(cli, aws_auth_refresh);
    let separator = texts.separator.as_str();
    match classify(failure) {
        // Mantle's 401: the CLI names AWS credentials only when the words
        // are about them, else it speaks as the first-party client
        // (conformance's mantle-401).
        Failure::Credentials if failure.status == 401 => {
            if names_aws_credentials(cli, &failure.message) {
                [
                    texts.credentials_expired.as_str(),
                    &what_to_do(),
                    &api_error,
                ]
                .join(separator)
            } else {
                texts.not_logged_in.clone()
            }
        }
        // The CLI says "enable this model" only of a refusal of the model
        // itself; a policy's denial (`is not authorized to perform`) and
        // any other AccessDenied get the credentials line (the CLI 2.1.328
        // and 2.1.332 on regions/scp-denies-global-profiles).
        Failure::ModelAccess if model_refusal(failure) == Some(ModelRefusal::Refused) => [
            texts.auth_failed.as_str(),
            &texts.enable_the_model,
            &api_error,
        ]
        .join(separator),
        Failure::Credentials | Failure::ModelAccess => [
            texts.auth_failed.as_str(),
            &what_to_do(),
            &texts.check_permissions,
            &api_error,
        ]
        .join(separator),
        Failure::Retryable | Failure::OnDemandThroughput | Failure::Final
            if failure.status >= 500 =>
        {
            server_error_line(cli, failure, model.map(|(id, _)| id))
        }
        Failure::Retryable | Failure::OnDemandThroughput | Failure::Final => api_error,
    }
}

/// The CLI's line after a 5xx: the status and message without their
/// final stops, one put back, then its advice naming the service of
/// `model` (Bedrock's unless a Mantle id).
fn server_error_line(cli: &Profile, failure: &ApiFailure, model: Option<&str>) -> String {
    let service = if model.is_some_and(crate::endpoint::is_mantle_id) {
        "Amazon Bedrock (Mantle)"
    } else {
        "Amazon Bedrock"
    };
    let message = failure
        .message
        .trim_end_matches(['.', '!', '?', '\u{2026}']);
    format!(
        "{}: {} {message}. {}",
        cli.texts.api_error,
        failure.status,
        cli.texts.server_error.replace("{service}", service)
    )
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
            should_retry: None,
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
                Failure::Credentials,
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
        let cli = crate::profile::newest();
        let user_message = |f: &ApiFailure, refresh| user_message(&cli, f, refresh);
        let user_message_for =
            |f: &ApiFailure, refresh, model| user_message_for(&cli, f, refresh, model);
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
        // A policy's denial is not the model's refusal: the credentials
        // line (the CLI 2.1.328 and 2.1.332, regions/scp-denies-global-profiles).
        let denied = failure(
            403,
            "AccessDeniedException",
            r#"{"Message":"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: x with an explicit deny in an identity-based policy"}"#,
        );
        assert_eq!(
            user_message(&denied, None),
            format!(
                "AWS authentication failed · refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry · if credentials are current, check AWS permissions and model access · API Error: 403 {}",
                denied.message
            )
        );
        // A 5xx: its final stops dropped and one put back, then the advice
        // (conformance's conversation-first-fails; Mantle's service name
        // read in the CLI's JavaScript).
        let unavailable = failure(
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        );
        assert_eq!(
            user_message(&unavailable, None),
            "API Error: 503 Bedrock is unable to process your request. This is a server-side issue, usually temporary \u{2014} try again in a moment. If it persists, check your Amazon Bedrock service status."
        );
        assert_eq!(
            user_message_for(
                &failure(500, "api_error", "boom!!"),
                None,
                Some(("anthropic.claude-opus-5-5", None))
            ),
            "API Error: 500 boom. This is a server-side issue, usually temporary \u{2014} try again in a moment. If it persists, check your Amazon Bedrock (Mantle) service status."
        );
        // Mantle's 401s (conformance's mantle-401, and a Bedrock API key
        // Mantle does not know, recorded by hand).
        assert_eq!(
            user_message(
                &failure(401, "authentication_error", "invalid x-api-key"),
                None
            ),
            "Not logged in · Please run /login"
        );
        assert_eq!(
            user_message(
                &failure(
                    401,
                    "authentication_error",
                    "Authentication failed: Please make sure your API Key is valid."
                ),
                None
            ),
            "AWS credentials expired or invalid · refresh your AWS credentials (SSO sign-in, access keys, API key or proxy token) and retry · API Error: 401 Authentication failed: Please make sure your API Key is valid."
        );
        let invalid = failure(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        );
        assert_eq!(
            user_message_for(
                &invalid,
                None,
                Some((
                    "claude-opus-4-6",
                    Some("us.anthropic.claude-opus-4-1-20250805-v1:0")
                ))
            ),
            "API Error (claude-opus-4-6): 400 The provided model identifier is invalid.. Try --model to switch to us.anthropic.claude-opus-4-1-20250805-v1:0."
        );
        assert_eq!(
            user_message_for(&invalid, None, Some(("m", None))),
            // conformance/golden/claude-code/*/on-demand-400-retired: no
            // model to suggest.
            "API Error (m): 400 The provided model identifier is invalid.. Run --model to pick a different model."
        );
    }

    #[test]
    fn refusals_of_the_model_follow_the_real_cli() {
        let cases = [
            (
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
                Some(ModelRefusal::Refused),
            ),
            (
                403,
                "AccessDeniedException",
                "Model access is denied: anthropic.claude-opus-5-5 is not available for this account.",
                Some(ModelRefusal::Refused),
            ),
            (
                403,
                "AccessDeniedException",
                "The model is not available for this account.",
                None,
            ),
            (
                403,
                "AccessDeniedException",
                "Your AWS Marketplace subscription for this model cannot be completed at this time.",
                Some(ModelRefusal::Refused),
            ),
            (
                400,
                "ValidationException",
                "The provided model identifier is invalid.",
                Some(ModelRefusal::Refused),
            ),
            (
                400,
                "ValidationException",
                "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
                None,
            ),
            (
                400,
                "ValidationException",
                "Input is too long for requested model.",
                None,
            ),
            (
                403,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: x",
                Some(ModelRefusal::Denied),
            ),
            (
                403,
                "ExpiredTokenException",
                "You don't have access to the model with the specified model ID.",
                None,
            ),
            (404, "ResourceNotFoundException", "Model not found", None),
            (
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
                None,
            ),
        ];
        for (status, code, message, verdict) in cases {
            assert_eq!(
                model_refusal(&failure(status, code, message)),
                verdict,
                "{status} {message}"
            );
        }
    }

    #[test]
    fn the_server_decides_with_x_should_retry() {
        let mut f = failure(400, "ValidationException", "x");
        f.should_retry = Some(true);
        assert_eq!(classify(&f), Failure::Retryable);
        let mut f = failure(503, "ServiceUnavailableException", "x");
        f.should_retry = Some(false);
        assert_eq!(classify(&f), Failure::Final);
        assert_eq!(classify(&failure(409, "", "conflict")), Failure::Retryable);
        let mut f = failure(
            400,
            "ValidationException",
            "Invocation of model ID x with on-demand throughput isn't supported.",
        );
        f.should_retry = Some(false);
        assert_eq!(classify(&f), Failure::OnDemandThroughput);
    }

    #[test]
    fn error_answers_are_read_from_either_protocol() {
        let mut headers = http::HeaderMap::new();
        let bedrock = ApiFailure::from_answer(
            400,
            &headers,
            br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#,
        );
        // No `message`: quoted whole, in the body's order, as the
        // Anthropic SDKs do.
        assert_eq!(
            (bedrock.code.as_deref(), bedrock.message.as_str()),
            (
                Some("ValidationException"),
                r#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#
            )
        );
        let lower = ApiFailure::from_answer(403, &headers, br#"{"message":"no","Message":"x"}"#);
        assert_eq!(lower.message, "no");
        // The front door's `Message` is not read: the body is the message.
        let front_door = br#"{"Message":"Authorization header is missing"}"#;
        let refused = ApiFailure::from_answer(403, &headers, front_door);
        assert_eq!(refused.message.as_bytes(), front_door);
        let mantle = ApiFailure::from_answer(
            404,
            &headers,
            br#"{"type":"error","error":{"type":"not_found_error","message":"The model 'x' does not exist"},"request_id":"r"}"#,
        );
        assert_eq!(mantle.code.as_deref(), Some("not_found_error"));
        assert_eq!(mantle.message, "The model 'x' does not exist");
        let proxy = ApiFailure::from_answer(502, &headers, b"  <html>Bad Gateway</html>\n");
        assert_eq!(
            (proxy.code, proxy.message.as_str()),
            (None, "<html>Bad Gateway</html>")
        );
        assert_eq!(
            ApiFailure::from_answer(500, &headers, b"").message,
            "(no body)"
        );
        headers.insert("x-should-retry", "false".parse().unwrap());
        assert_eq!(
            ApiFailure::from_answer(500, &headers, b"{}").should_retry,
            Some(false)
        );
    }
}
