//! Rules: answers that override the account's normal behaviour for the
//! requests they match, like wiremock's mocks.
//!
//! A rule is data (it deserializes from a scenario file) and is checked
//! before the normal handlers, after authentication. Rules are tried in the
//! order they were added; the first that matches and still has uses left
//! answers. Frame-level faults will be further [`Answer`] variants.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws_error::AwsError;
use crate::reply::Reply;

/// The operations the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Operation {
    /// `POST /model/{id}/invoke`.
    InvokeModel,
    /// `POST /model/{id}/invoke-with-response-stream`.
    InvokeModelWithResponseStream,
    /// `GET /inference-profiles`.
    ListInferenceProfiles,
    /// `GET /inference-profiles/{id}`.
    GetInferenceProfile,
    /// Mantle `POST /v1/messages` (or `/anthropic/v1/messages`) without
    /// `"stream": true`: one JSON answer.
    MantleMessages,
    /// Mantle `POST /v1/messages` with `"stream": true`: Server-Sent Events.
    MantleMessagesStream,
    /// STS `GetCallerIdentity` (`POST /`, `Action=GetCallerIdentity`).
    GetCallerIdentity,
    /// STS `AssumeRole`: temporary credentials for a role, signed by the
    /// caller.
    AssumeRole,
    /// STS `AssumeRoleWithWebIdentity`: temporary credentials for an OIDC
    /// token; not signed.
    AssumeRoleWithWebIdentity,
    /// The IAM Identity Center (SSO) portal's `GetRoleCredentials`
    /// (`GET /federation/credentials`): role credentials for a cached SSO
    /// access token, as the AWS credential chain fetches them for an SSO
    /// profile.
    GetRoleCredentials,
}

impl Operation {
    /// The SigV4 service name requests for this operation are signed with.
    pub fn signing_name(self) -> &'static str {
        self.protocol().signing_name()
    }

    /// Whether the operation hands out or checks credentials (STS, the SSO
    /// portal) rather than serving models.
    pub fn serves_credentials(self) -> bool {
        matches!(
            self,
            Operation::GetCallerIdentity
                | Operation::AssumeRole
                | Operation::AssumeRoleWithWebIdentity
                | Operation::GetRoleCredentials
        )
    }

    /// The wire protocol, which decides how errors look.
    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Operation::InvokeModel
            | Operation::InvokeModelWithResponseStream
            | Operation::ListInferenceProfiles
            | Operation::GetInferenceProfile
            // The SSO portal is REST-JSON too, errors in the same shape.
            | Operation::GetRoleCredentials => Protocol::Bedrock,
            Operation::MantleMessages | Operation::MantleMessagesStream => Protocol::Mantle,
            Operation::GetCallerIdentity
            | Operation::AssumeRole
            | Operation::AssumeRoleWithWebIdentity => Protocol::Sts,
        }
    }
}

/// `error` as the endpoint speaking `protocol` sends it.
fn translate(protocol: Protocol, error: AwsError) -> AwsError {
    let (status, code, message) = match protocol {
        Protocol::Bedrock => return error,
        Protocol::Mantle => crate::mantle::on_the_wire(&error),
        Protocol::Sts => crate::sts::on_the_wire(&error),
    };
    AwsError {
        status,
        code,
        message,
        ..error
    }
}

/// The three wire protocols the server speaks; each has its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Bedrock runtime and control plane: REST-JSON, `x-amzn-ErrorType`.
    Bedrock,
    /// Mantle: the Anthropic Messages API, `{"type":"error",...}`.
    Mantle,
    /// STS: the AWS query protocol, XML.
    Sts,
}

impl Protocol {
    /// The SigV4 service name.
    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Protocol::Bedrock => "bedrock",
            Protocol::Mantle => "bedrock-mantle",
            Protocol::Sts => "sts",
        }
    }
}

/// A rule: which requests, what answer, how often.
///
/// ```
/// use bedrock_mock_server::{Answer, Match, Operation, Rule};
///
/// let rule = Rule::new(
///     Match::operation(Operation::InvokeModel).model("us.anthropic.claude-opus-5-5"),
///     Answer::error("ResourceNotFoundException"),
/// )
/// .times(1)
/// .expect(1);
/// assert_eq!(rule.times, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Rule {
    /// A name for the journal and for expectation failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests it answers.
    #[serde(default)]
    pub when: Match,
    /// What it answers; the request's normal answer when absent (a rule
    /// that only stalls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// A time the server says nothing, before the answer's head or inside
    /// its stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
    /// A fault in one frame of a streamed answer (whole answers are sent
    /// as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::FrameFault>,
    /// The connection cut outside any frame: before the answer's head, or
    /// right after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
    /// The answer's body sent a few bytes at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dribble: Option<Dribble>,
    /// Answers this many requests, then lets later requests fall through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// The number of requests it must have answered by the end; checked
    /// when the server stops (or by `MockBedrock::verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u32>,
}

impl Rule {
    /// A rule matching `when` that does nothing yet: each constructor
    /// below sets the one thing it does.
    fn matching(when: Match) -> Self {
        Self {
            name: None,
            when,
            answer: None,
            stall: None,
            fault: None,
            reset: None,
            dribble: None,
            times: None,
            expect: None,
        }
    }

    /// A rule answering every request `when` matches with `answer`.
    pub fn new(when: Match, answer: Answer) -> Self {
        Self {
            answer: Some(answer),
            ..Self::matching(when)
        }
    }

    /// A rule that gives every request `when` matches its normal answer
    /// after `stall`.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Operation, Rule, Stall};
    ///
    /// // A probe that never answers within the client's deadline.
    /// let rule = Rule::stalling(Match::operation(Operation::InvokeModel), Stall::before_head(600.0));
    /// assert!(rule.answer.is_none());
    /// ```
    pub fn stalling(when: Match, stall: Stall) -> Self {
        Self {
            stall: Some(stall),
            ..Self::matching(when)
        }
    }

    /// A rule that sends every stream `when` matches with `fault` in one
    /// of its frames.
    pub fn faulting(when: Match, fault: crate::FrameFault) -> Self {
        Self {
            fault: Some(fault),
            ..Self::matching(when)
        }
    }

    /// A rule that cuts the connection of every request `when` matches.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Operation, Reset, Rule};
    ///
    /// // The first stream's connection drops before any answer.
    /// let rule = Rule::resetting(Match::operation(Operation::InvokeModelWithResponseStream), Reset::BeforeHead).times(1);
    /// assert_eq!(rule.reset, Some(Reset::BeforeHead));
    /// ```
    pub fn resetting(when: Match, reset: Reset) -> Self {
        Self {
            reset: Some(reset),
            ..Self::matching(when)
        }
    }

    /// A rule that sends the normal answer of every request `when`
    /// matches `dribble.bytes` at a time.
    pub fn dribbling(when: Match, dribble: Dribble) -> Self {
        Self {
            dribble: Some(dribble),
            ..Self::matching(when)
        }
    }

    /// Sends the rule's answer `dribble.bytes` at a time.
    pub fn with_dribble(mut self, dribble: Dribble) -> Self {
        self.dribble = Some(dribble);
        self
    }

    /// Adds a stall to the rule's answer.
    pub fn with_stall(mut self, stall: Stall) -> Self {
        self.stall = Some(stall);
        self
    }

    /// Names the rule.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Answers only the first `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Requires exactly `n` answered requests by the end.
    pub fn expect(mut self, n: u32) -> Self {
        self.expect = Some(n);
        self
    }

    /// The rule's name, or a description of its matcher.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.when.to_string())
    }
}

/// Which requests a rule answers. Every condition given must hold. A rule
/// that names no operation answers Bedrock and Mantle requests but not STS
/// or the SSO portal: a rule written to fail model calls must not also
/// fail the credential calls a client makes; name the operation to target
/// one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Match {
    /// The operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// The model or profile id as decoded from the path; `*` matches any run
    /// of characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Headers that must be present with these values (names are
    /// case-insensitive, values exact).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Only the nth request (from 1) that meets the other conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nth: Option<u32>,
}

impl Match {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests for `operation`.
    pub fn operation(operation: Operation) -> Self {
        Self {
            operation: Some(operation),
            ..Self::default()
        }
    }

    /// Also requires the model id to match `pattern` (`*` wildcards).
    pub fn model(mut self, pattern: impl Into<String>) -> Self {
        self.model = Some(pattern.into());
        self
    }

    /// Also requires a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.into().to_ascii_lowercase(), value.into());
        self
    }

    /// Only the nth request meeting the other conditions.
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = Some(n);
        self
    }

    /// Whether a request meets every condition but `nth`.
    pub(crate) fn matches(&self, request: &RequestFacts<'_>) -> bool {
        let operation_ok = match self.operation {
            Some(op) => Some(op) == request.operation,
            None => request.operation.is_none_or(|op| !op.serves_credentials()),
        };
        operation_ok
            && self
                .model
                .as_deref()
                .is_none_or(|p| request.model_id.is_some_and(|id| glob(p, id)))
            && self.headers.iter().all(|(name, value)| {
                request
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .any(|v| v.as_bytes() == value.as_bytes())
            })
    }
}

impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(op) = self.operation {
            parts.push(format!("{op:?}"));
        }
        if let Some(model) = &self.model {
            parts.push(format!("model {model}"));
        }
        for (name, value) in &self.headers {
            parts.push(format!("{name}: {value}"));
        }
        if let Some(n) = self.nth {
            parts.push(format!("call #{n}"));
        }
        if parts.is_empty() {
            f.write_str("any request")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What a request looks like to a matcher.
pub(crate) struct RequestFacts<'a> {
    pub operation: Option<Operation>,
    pub model_id: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
}

/// Whether `text` fits `pattern`, where `*` matches any run of
/// characters and everything else is literal: how rules match model ids.
///
/// ```
/// assert!(bedrock_mock_server::glob("us.anthropic.claude-*-5", "us.anthropic.claude-opus-5-5"));
/// assert!(!bedrock_mock_server::glob("eu.*", "us.anthropic.claude-opus-5-5"));
/// ```
pub fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(head) else {
        return false;
    };
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let tail = pieces.pop().unwrap_or_default();
    for piece in pieces {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= tail.len() && remaining.ends_with(tail)
}

/// A time the server says nothing. On a running clock it is real time; on
/// a fixed clock it is virtual: decided against the deadlines of an
/// in-process client sharing the clock (see [`crate::Clock::wait`]), or
/// over when the test moves the clock past it. A client that gave up
/// gets nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stall {
    /// How long, in seconds.
    pub seconds: f64,
    /// Where in a stream: after this many frames (events on Mantle; the
    /// stream's length or more stalls before its end). Absent: before the
    /// response's head, for any answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_events: Option<usize>,
}

/// Where a rule cuts a connection outside any frame (`fault.kind =
/// "reset"` cuts one mid-frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Reset {
    /// The request is read, then the connection closes with no answer.
    BeforeHead,
    /// The answer's head is sent, then the connection closes before any
    /// of its body.
    AfterHead,
}

/// An answer's body sent a few bytes at a time, like a congested link.
/// The pauses are real time, also on a fixed clock: they are meant to be
/// short, to make a client read a frame in many pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Dribble {
    /// Bytes in each piece (1 or more).
    pub bytes: usize,
    /// Milliseconds between pieces.
    #[serde(default)]
    pub every_ms: u64,
}

impl Stall {
    /// Nothing for `seconds` before the response's head.
    pub fn before_head(seconds: f64) -> Self {
        Self {
            seconds,
            after_events: None,
        }
    }

    /// Nothing for `seconds` after `events` frames of a stream.
    pub fn after_events(events: usize, seconds: f64) -> Self {
        Self {
            seconds,
            after_events: Some(events),
        }
    }

    /// The stall's length; a negative or non-finite number is no stall,
    /// and anything past a day is a day (the loader refuses both).
    pub fn duration(&self) -> std::time::Duration {
        if self.seconds.is_finite() && self.seconds > 0.0 {
            std::time::Duration::from_secs_f64(self.seconds.min(86_400.0))
        } else {
            std::time::Duration::ZERO
        }
    }
}

/// What a rule answers. The same answer fits every endpoint: an error by a
/// Bedrock code takes the matching Anthropic type on Mantle and the
/// matching STS code on STS, and a stream fault becomes an `error` event
/// on Mantle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Answer {
    /// An AWS error by name, with AWS's status and message unless given.
    Error {
        /// The error code, e.g. `ThrottlingException`.
        code: String,
        /// Overrides the status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Overrides the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Adds `retry-after` (seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Any status, headers and body.
    Http {
        /// Status code.
        status: u16,
        /// Response headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Response body.
        #[serde(default)]
        body: String,
    },
    /// A normal answer with this content (streamed for a stream request).
    Reply(Reply),
    /// A stream that sends `after_events` events, then an exception frame
    /// (on Mantle, an `error` event; `ping`s are not counted). A count at
    /// or past the stream's end sends the whole stream first. Outside a
    /// stream (InvokeModel, Mantle without `stream`) the same failure is an
    /// HTTP error.
    StreamException {
        /// Events sent before the exception.
        after_events: usize,
        /// `:exception-type`, e.g. `throttlingException`.
        exception: String,
        /// The exception's message; a default per type when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

impl Answer {
    /// The AWS error `code` with its usual status and message.
    pub fn error(code: impl Into<String>) -> Self {
        Answer::Error {
            code: code.into(),
            status: None,
            message: None,
            retry_after: None,
        }
    }

    /// The error this answer sends on an endpoint speaking `protocol`, if
    /// it is one; `None` for the other kinds. `code` may be a Bedrock code
    /// (`ThrottlingException`, translated for Mantle and STS) or the
    /// endpoint's own (`overloaded_error` on Mantle, `ExpiredToken` on STS).
    pub(crate) fn as_error(&self, protocol: Protocol) -> Option<AwsError> {
        let Answer::Error {
            code,
            status,
            message,
            retry_after,
        } = self
        else {
            return None;
        };
        let native = match protocol {
            Protocol::Bedrock => None,
            Protocol::Mantle => crate::mantle::error_by_type(code),
            Protocol::Sts => crate::sts::error_by_code(code),
        };
        // A Bedrock code is translated into the endpoint's own error
        // before the rule's overrides, so they apply to what is sent.
        let mut error = native
            .or_else(|| AwsError::by_name(code).map(|e| translate(protocol, e)))
            .unwrap_or_else(|| AwsError::new(400, code.clone(), ""));
        if let Some(status) = status {
            error.status = *status;
        }
        if let Some(message) = message {
            error.message = message.clone();
        }
        error.retry_after = *retry_after;
        Some(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob(
            "us.anthropic.claude-opus-*",
            "us.anthropic.claude-opus-5-5"
        ));
        assert!(glob("*opus*", "us.anthropic.claude-opus-5-5"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("*-5-5", "us.anthropic.claude-opus-5"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn answers_read_from_data() {
        let rule: Rule = serde_json::from_str(
            r#"{"when": {"operation": "InvokeModel", "model": "*opus-5-5"},
                "answer": {"error": {"code": "ThrottlingException", "retry_after": 3}},
                "times": 2}"#,
        )
        .unwrap();
        let error = rule
            .answer
            .as_ref()
            .unwrap()
            .as_error(Protocol::Bedrock)
            .unwrap();
        assert_eq!((error.status, error.retry_after), (429, Some(3)));
        assert_eq!(rule.label(), "InvokeModel, model *opus-5-5");
    }
}
