//! The error catalogue: one row per error the mock can send, with its
//! status, the message it carries when nothing more specific is said, the
//! stream exception it becomes inside an Invoke stream, and its twins on
//! the other endpoints (Mantle's Anthropic type, STS's code). Every other
//! view of an error (a rule naming it, Mantle's and STS's translations,
//! an exception frame's default text) is read from here.
//!
//! The texts are AWS's and Anthropic's own (wire.md section 2, captures
//! of the real services, the services' documentation where no capture
//! exists): clients match on them, so they are copied, not paraphrased.

use super::ErrorOrigin;
use crate::operation::Protocol;

const UNRECOGNIZED_CLIENT: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";
pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const TOO_MANY_REQUESTS: &str = "Too many requests, please wait before trying again.";
/// ThrottlingException's text when a tokens-per-minute quota is spent
/// (users' reports: anthropics/claude-code#236, RooCodeInc/Roo-Code#5050,
/// aws-samples/amazon-bedrock-client-for-mac#99); the requests quota's is
/// the row's own, [`TOO_MANY_REQUESTS`].
pub(crate) const TOO_MANY_TOKENS: &str = "Too many tokens, please wait before trying again.";
const INTERNAL_ERROR: &str =
    "The system encountered an unexpected error during processing. Try your request again.";
/// What AWS says of an `Authorization` header with none of its parts.
const INCOMPLETE_SIGNATURE: &str = "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.";

/// One row of the catalogue.
#[derive(Debug)]
pub(crate) struct ErrorSpec {
    /// The code on the wire: `x-amzn-ErrorType`'s first part on Bedrock,
    /// `error.type` on Mantle, `<Code>` on STS.
    pub code: &'static str,
    /// The endpoint whose code it is.
    pub protocol: Protocol,
    pub status: u16,
    /// Which layer of AWS sends it.
    pub origin: ErrorOrigin,
    /// The message when nothing more specific is said.
    pub message: &'static str,
    /// The exception it is inside an Invoke stream: `:exception-type` and
    /// the message an exception frame carries when a rule names none.
    pub stream: Option<(&'static str, &'static str)>,
    /// The Anthropic error type Mantle sends for the same failure.
    pub mantle: Option<ErrorCode>,
    /// The code STS sends for the same failure.
    pub sts: Option<ErrorCode>,
    /// Its message describes the one case (a date, a scope) and is kept
    /// when the error is translated for another endpoint.
    pub detailed: bool,
}

/// A row with the usual defaults: a service error, no twins.
const fn row(
    code: &'static str,
    protocol: Protocol,
    status: u16,
    message: &'static str,
) -> ErrorSpec {
    ErrorSpec {
        code,
        protocol,
        status,
        origin: ErrorOrigin::Service,
        message,
        stream: None,
        mantle: None,
        sts: None,
        detailed: false,
    }
}

/// Declares [`ErrorCode`] from the rows, so a new error is one row here.
macro_rules! catalogue {
    ($($(#[doc = $doc:literal])* $variant:ident => $spec:expr;)*) => {
        /// An error the mock knows, by its code on the wire. A rule, a
        /// scenario file or the admin API naming any other code is refused
        /// when it is read (an invented error is a custom one, with its own
        /// status and message: [`crate::Answer::CustomError`]).
        ///
        /// ```
        /// use bedrock_mock_server::ErrorCode;
        ///
        /// let code: ErrorCode = "ThrottlingException".parse().unwrap();
        /// assert_eq!((code.status(), code.message()), (429, "Too many requests, please wait before trying again."));
        /// assert_eq!(code.stream_exception_type(), Some("throttlingException"));
        /// assert!("ThrottlingExeption".parse::<ErrorCode>().is_err());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the catalogue's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub(crate) fn spec(self) -> &'static ErrorSpec {
                match self {
                    $(ErrorCode::$variant => {
                        const SPEC: ErrorSpec = $spec;
                        &SPEC
                    })*
                }
            }
        }
    };
}

catalogue! {
    // Bedrock's runtime and control plane.

    /// 400: a request Bedrock's validation refuses.
    ValidationException => ErrorSpec {
        stream: Some(("validationException", "Input is too long for requested model.")),
        mantle: Some(ErrorCode::InvalidRequestError),
        ..row("ValidationException", Protocol::Bedrock, 400, "The provided model identifier is invalid.")
    };
    /// 403: the model is not enabled for this account (the authentication
    /// front door sends the same code for API key problems).
    AccessDeniedException => ErrorSpec {
        mantle: Some(ErrorCode::PermissionError),
        sts: Some(ErrorCode::AccessDenied),
        ..row("AccessDeniedException", Protocol::Bedrock, 403, "You don't have access to the model with the specified model ID.")
    };
    /// 403: an access key AWS does not know.
    UnrecognizedClientException => ErrorSpec {
        origin: ErrorOrigin::SigV4,
        mantle: Some(ErrorCode::AuthenticationError),
        sts: Some(ErrorCode::InvalidClientTokenId),
        ..row("UnrecognizedClientException", Protocol::Bedrock, 403, UNRECOGNIZED_CLIENT)
    };
    /// 403: temporary credentials past their expiry.
    ExpiredTokenException => ErrorSpec {
        origin: ErrorOrigin::SigV4,
        mantle: Some(ErrorCode::AuthenticationError),
        sts: Some(ErrorCode::ExpiredToken),
        ..row("ExpiredTokenException", Protocol::Bedrock, 403, EXPIRED_TOKEN)
    };
    /// 403: a signature that does not verify, a clock too far off, a scope
    /// for the wrong service or region.
    InvalidSignatureException => ErrorSpec {
        origin: ErrorOrigin::SigV4,
        mantle: Some(ErrorCode::AuthenticationError),
        sts: Some(ErrorCode::SignatureDoesNotMatch),
        detailed: true,
        ..row("InvalidSignatureException", Protocol::Bedrock, 403, SIGNATURE_MISMATCH)
    };
    /// 403: an `Authorization` header SigV4 cannot read. Bedrock's REST
    /// front end answers it 403, as users' reports of a bare token sent
    /// as `Authorization` show (anthropics/claude-code#45081, #45128:
    /// "API Error: 403 Authorization header requires 'Credential'
    /// parameter. …"); the JSON-RPC and query services answer 400 (STS's
    /// twin below).
    IncompleteSignatureException => ErrorSpec {
        origin: ErrorOrigin::SigV4,
        mantle: Some(ErrorCode::AuthenticationError),
        sts: Some(ErrorCode::IncompleteSignature),
        detailed: true,
        ..row("IncompleteSignatureException", Protocol::Bedrock, 403, INCOMPLETE_SIGNATURE)
    };
    /// 404: a model this account or region does not offer.
    ResourceNotFoundException => ErrorSpec {
        mantle: Some(ErrorCode::NotFoundError),
        ..row("ResourceNotFoundException", Protocol::Bedrock, 404, "Model not found.")
    };
    /// 404: a path no operation has. No capture of AWS's answer exists;
    /// this is the code AWS's REST front end uses for it.
    UnknownOperationException => ErrorSpec {
        mantle: Some(ErrorCode::NotFoundError),
        ..row("UnknownOperationException", Protocol::Bedrock, 404, "Unknown operation")
    };
    /// 408: the model took too long.
    ModelTimeoutException => ErrorSpec {
        stream: Some(("modelTimeoutException", "Model has timed out in processing the request.")),
        mantle: Some(ErrorCode::TimeoutError),
        ..row("ModelTimeoutException", Protocol::Bedrock, 408, "Model has timed out in processing the request.")
    };
    /// 424: the model container failed.
    ModelErrorException => ErrorSpec {
        mantle: Some(ErrorCode::ApiError),
        ..row("ModelErrorException", Protocol::Bedrock, 424, "The request failed in the model container.")
    };
    /// 424: the model failed mid-stream (`modelStreamErrorException`).
    ModelStreamErrorException => ErrorSpec {
        stream: Some(("modelStreamErrorException", "The model encountered an error while streaming the response.")),
        mantle: Some(ErrorCode::ApiError),
        ..row("ModelStreamErrorException", Protocol::Bedrock, 424, "The model encountered an error while streaming the response.")
    };
    /// 429: the model is not ready. No capture of the text exists; the
    /// words are the service model's description of the error.
    ModelNotReadyException => ErrorSpec {
        mantle: Some(ErrorCode::RateLimitError),
        ..row("ModelNotReadyException", Protocol::Bedrock, 429, "The model specified in the request is not ready to serve inference requests.")
    };
    /// 400: over an account quota. No capture of the text exists; the
    /// words are the service model's description of the error.
    ServiceQuotaExceededException => ErrorSpec {
        mantle: Some(ErrorCode::InvalidRequestError),
        ..row("ServiceQuotaExceededException", Protocol::Bedrock, 400, "Your request exceeds the service quota for your account.")
    };
    /// 429: throttled (may carry `retry-after`).
    ThrottlingException => ErrorSpec {
        stream: Some(("throttlingException", TOO_MANY_REQUESTS)),
        mantle: Some(ErrorCode::RateLimitError),
        sts: Some(ErrorCode::Throttling),
        ..row("ThrottlingException", Protocol::Bedrock, 429, TOO_MANY_REQUESTS)
    };
    /// 500: the service failed.
    InternalServerException => ErrorSpec {
        stream: Some(("internalServerException", INTERNAL_ERROR)),
        mantle: Some(ErrorCode::ApiError),
        sts: Some(ErrorCode::InternalFailure),
        ..row("InternalServerException", Protocol::Bedrock, 500, INTERNAL_ERROR)
    };
    /// 503: the service cannot take the request now.
    ServiceUnavailableException => ErrorSpec {
        stream: Some(("serviceUnavailableException", "Bedrock is unable to process your request.")),
        mantle: Some(ErrorCode::OverloadedError),
        sts: Some(ErrorCode::ServiceUnavailable),
        ..row("ServiceUnavailableException", Protocol::Bedrock, 503, "Bedrock is unable to process your request.")
    };

    // Mantle: the Anthropic API's error types.

    /// 400 `invalid_request_error`.
    InvalidRequestError => row("invalid_request_error", Protocol::Mantle, 400, "Invalid request.");
    /// 401 `authentication_error`.
    AuthenticationError => row("authentication_error", Protocol::Mantle, 401, "invalid x-api-key");
    /// 402 `billing_error`.
    BillingError => row("billing_error", Protocol::Mantle, 402, "Your credit balance is too low.");
    /// 403 `permission_error`.
    PermissionError => row("permission_error", Protocol::Mantle, 403, "Your API key does not have permission to use the specified resource.");
    /// 404 `not_found_error`.
    NotFoundError => row("not_found_error", Protocol::Mantle, 404, "Not found.");
    /// 413 `request_too_large`.
    RequestTooLarge => row("request_too_large", Protocol::Mantle, 413, "Request exceeds the maximum allowed number of bytes.");
    /// 429 `rate_limit_error`.
    RateLimitError => row("rate_limit_error", Protocol::Mantle, 429, TOO_MANY_REQUESTS);
    /// 500 `api_error`.
    ApiError => row("api_error", Protocol::Mantle, 500, "Internal server error");
    /// 504 `timeout_error`.
    TimeoutError => row("timeout_error", Protocol::Mantle, 504, "Request timed out.");
    /// 529 `overloaded_error`.
    OverloadedError => row("overloaded_error", Protocol::Mantle, 529, "Overloaded");

    // STS, in the AWS query protocol.

    /// 403: STS's expired session token.
    ExpiredToken => row("ExpiredToken", Protocol::Sts, 403, EXPIRED_TOKEN);
    /// 403: STS's unknown access key.
    InvalidClientTokenId => row("InvalidClientTokenId", Protocol::Sts, 403, UNRECOGNIZED_CLIENT);
    /// 403: STS's bad signature.
    SignatureDoesNotMatch => ErrorSpec {
        detailed: true,
        ..row("SignatureDoesNotMatch", Protocol::Sts, 403, SIGNATURE_MISMATCH)
    };
    /// 400: STS's unreadable `Authorization`.
    IncompleteSignature => ErrorSpec {
        detailed: true,
        ..row("IncompleteSignature", Protocol::Sts, 400, INCOMPLETE_SIGNATURE)
    };
    /// 403: no credentials at all.
    MissingAuthenticationToken => row("MissingAuthenticationToken", Protocol::Sts, 403, "Request is missing Authentication Token");
    /// 403: not allowed (a role the caller may not assume).
    AccessDenied => row("AccessDenied", Protocol::Sts, 403, "User is not authorized to perform this action.");
    /// 400: STS's throttling.
    Throttling => row("Throttling", Protocol::Sts, 400, "Rate exceeded");
    /// 400: a web identity token STS cannot verify.
    InvalidIdentityToken => row("InvalidIdentityToken", Protocol::Sts, 400, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements");
    /// 500: STS failed.
    InternalFailure => row("InternalFailure", Protocol::Sts, 500, "An internal error has occurred.");
    /// 503: STS cannot take the request now.
    ServiceUnavailable => row("ServiceUnavailable", Protocol::Sts, 503, "Service is unavailable.");
    /// 400: an action or API version STS does not have (its message names
    /// them; this is AWS's general description).
    InvalidAction => row("InvalidAction", Protocol::Sts, 400, "The action or operation requested is invalid. Verify that the action is typed correctly.");
    /// 400: a parameter outside its constraints (its message names it;
    /// this is AWS's general description).
    ValidationError => row("ValidationError", Protocol::Sts, 400, "The input fails to satisfy the constraints specified by an AWS service.");

    // The IAM Identity Center (SSO) portal.

    /// 401: an SSO access token the portal does not know or that expired.
    UnauthorizedException => ErrorSpec {
        origin: ErrorOrigin::SsoPortal,
        ..row("UnauthorizedException", Protocol::SsoPortal, 401, "Session token not found or invalid")
    };
    /// 400: a request missing a parameter (its message names it; this is
    /// the portal's general description).
    InvalidRequestException => ErrorSpec {
        origin: ErrorOrigin::SsoPortal,
        ..row("InvalidRequestException", Protocol::SsoPortal, 400, "Indicates that a problem occurred with the input to the request.")
    };
}

impl ErrorCode {
    /// The code on the wire, e.g. `ThrottlingException`, `overloaded_error`,
    /// `ExpiredToken`.
    pub fn code(self) -> &'static str {
        self.spec().code
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        self.spec().status
    }

    /// The message it carries when nothing more specific is said.
    pub fn message(self) -> &'static str {
        self.spec().message
    }

    /// `:exception-type` of the same failure inside an Invoke stream
    /// (`throttlingException`), for the errors Bedrock sends mid-stream.
    pub fn stream_exception_type(self) -> Option<&'static str> {
        self.spec().stream.map(|(exception_type, _)| exception_type)
    }

    /// The message an exception frame of this error carries when nothing
    /// more specific is said (its own message when it has no stream type).
    pub(crate) fn stream_message(self) -> &'static str {
        self.spec()
            .stream
            .map_or(self.message(), |(_, message)| message)
    }

    /// The error with this code, or `None` for a code the mock does not know.
    pub fn named(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The error whose stream exception type is `exception_type`.
    pub(crate) fn from_stream_type(exception_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.stream_exception_type() == Some(exception_type))
    }

    pub(crate) fn protocol(self) -> Protocol {
        self.spec().protocol
    }

    /// Every code, comma-separated: for errors that must list them.
    pub(crate) fn list() -> String {
        Self::ALL
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A code the catalogue does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownErrorCode {
    name: String,
    hint: Option<String>,
}

impl std::fmt::Display for UnknownErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not an error the mock knows", self.name)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        write!(
            f,
            "; known codes: {}. For an error of your own, answer with `custom_error` and give its status and message",
            ErrorCode::list()
        )
    }
}

impl std::error::Error for UnknownErrorCode {}

impl std::str::FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::named(name).ok_or_else(|| UnknownErrorCode {
            name: name.to_owned(),
            hint: Self::from_stream_type(name).map(|c| {
                format!("`{name}` is the stream exception type; an error answer names its HTTP code `{c}`")
            }),
        })
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Self::ALL.iter().map(|c| c.code()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": codes,
            "description": "An error the mock knows, by its code on the wire"
        })
    }
}

/// The exception a rule sends inside a stream: a Bedrock `:exception-type`
/// (`throttlingException`) or an Anthropic error type (`overloaded_error`,
/// which Mantle sends as is). Refused when read if it is neither.
///
/// ```
/// use bedrock_mock_server::{ErrorCode, ExceptionType};
///
/// let throttled: ExceptionType = "throttlingException".parse().unwrap();
/// assert_eq!(throttled.code(), ErrorCode::ThrottlingException);
/// assert!("ThrottlingException".parse::<ExceptionType>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionType(ErrorCode);

impl ExceptionType {
    /// The exception `code` is inside a stream, if it has one.
    pub fn of(code: ErrorCode) -> Option<Self> {
        (code.stream_exception_type().is_some() || code.protocol() == Protocol::Mantle)
            .then_some(Self(code))
    }

    /// The error it is outside a stream.
    pub fn code(self) -> ErrorCode {
        self.0
    }

    /// As a scenario file and the wire name it.
    pub fn as_str(self) -> &'static str {
        self.0.stream_exception_type().unwrap_or(self.0.code())
    }

    /// The Anthropic error type it is on Mantle.
    pub(crate) fn on_mantle(self) -> ErrorCode {
        self.0.spec().mantle.unwrap_or(self.0)
    }

    /// Every name a rule may give.
    pub fn every_name() -> Vec<&'static str> {
        ErrorCode::ALL
            .iter()
            .filter_map(|c| Self::of(*c))
            .map(Self::as_str)
            .collect()
    }
}

impl std::fmt::Display for ExceptionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no stream exception the mock knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownExceptionType(String);

impl std::fmt::Display for UnknownExceptionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a stream exception the mock knows", self.0)?;
        if let Some(stream) = ErrorCode::named(&self.0).and_then(ErrorCode::stream_exception_type) {
            write!(f, " (in a stream, `{}` is `{stream}`)", self.0)?;
        }
        write!(f, "; known: {}", ExceptionType::every_name().join(", "))
    }
}

impl std::error::Error for UnknownExceptionType {}

impl std::str::FromStr for ExceptionType {
    type Err = UnknownExceptionType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ErrorCode::from_stream_type(name)
            .or_else(|| ErrorCode::named(name).filter(|c| c.protocol() == Protocol::Mantle))
            .map(Self)
            .ok_or_else(|| UnknownExceptionType(name.to_owned()))
    }
}

impl serde::Serialize for ExceptionType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ExceptionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ExceptionType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExceptionType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": Self::every_name(),
            "description": "A Bedrock stream exception type (throttlingException) or an Anthropic error type (overloaded_error)"
        })
    }
}

#[cfg(test)]
mod tests {
    use bedrock_eventstream::bedrock::ExceptionKind;

    use super::*;

    #[test]
    fn codes_are_unique_and_every_row_is_complete() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "{code} twice");
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.message().is_empty(), "{code}");
            let spec = code.spec();
            for twin in [spec.mantle, spec.sts].into_iter().flatten() {
                assert_ne!(twin.protocol(), code.protocol(), "{code}'s twin {twin}");
            }
            if let Some(twin) = spec.mantle {
                assert_eq!(twin.protocol(), Protocol::Mantle, "{code}");
            }
            if let Some(twin) = spec.sts {
                assert_eq!(twin.protocol(), Protocol::Sts, "{code}");
            }
        }
    }

    /// A row's code is its variant's name (in CamelCase for Mantle's
    /// snake_case types), so a typo in either shows.
    #[test]
    fn each_code_is_its_variants_name() {
        for code in ErrorCode::ALL {
            let camel: String = code
                .code()
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect();
            assert_eq!(format!("{code:?}"), camel, "{code}");
        }
    }

    /// The client's view of stream exceptions (`bedrock-eventstream`'s
    /// `ExceptionKind`) agrees with the catalogue: every exception the
    /// mock sends is a kind the reader knows, with the same status.
    #[test]
    fn the_readers_exception_kinds_agree_with_the_catalogue() {
        let mut kinds = Vec::new();
        for code in ErrorCode::ALL {
            let Some(exception_type) = code.stream_exception_type() else {
                continue;
            };
            let kind = ExceptionKind::from_type(exception_type);
            assert_ne!(kind, ExceptionKind::Other, "{exception_type}");
            assert_eq!(kind.http_status(), Some(code.status()), "{exception_type}");
            kinds.push(kind);
        }
        for kind in ExceptionKind::ALL {
            assert!(
                kinds.contains(kind),
                "{kind:?} has no row with its stream type"
            );
        }
    }

    #[test]
    fn every_stream_exception_has_an_anthropic_type_on_mantle() {
        for name in ExceptionType::every_name() {
            let exception: ExceptionType = name.parse().unwrap();
            assert_eq!(exception.to_string(), name);
            assert_eq!(exception.on_mantle().protocol(), Protocol::Mantle, "{name}");
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones_listed() {
        let e = "ThrottlingExeption"
            .parse::<ErrorCode>()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("`ThrottlingExeption` is not an error the mock knows; known codes: ValidationException, "), "{e}");
        assert!(e.contains("custom_error"), "{e}");
        let e = "throttlingException"
            .parse::<ErrorCode>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("names its HTTP code `ThrottlingException`"),
            "{e}"
        );
        let e = "ThrottlingException"
            .parse::<ExceptionType>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("in a stream, `ThrottlingException` is `throttlingException`"),
            "{e}"
        );
        assert_eq!(
            "overloaded_error"
                .parse::<ExceptionType>()
                .map(ExceptionType::code),
            Ok(ErrorCode::OverloadedError)
        );
        assert!("ExpiredToken".parse::<ExceptionType>().is_err());
    }
}
