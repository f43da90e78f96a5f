//! The steps of the request path that each wire protocol takes its own
//! way, as one trait ([`Api`]) with one implementation per protocol:
//! `bedrock` (the runtime and the control plane), `mantle`, `sts`, `sso`.
//! The pipeline runs the steps in order and does everything else (reading
//! the body, choosing a rule, effects, the journal) the same way for all.

use std::time::SystemTime;

use bytes::Bytes;

use crate::auth::{self, Caller};
use crate::config::ServerConfig;
use crate::credentials::IssuedKeys;
use crate::errors::AwsError;
use crate::journal::AuthRecord;
use crate::operation::{Operation, Protocol};
use crate::redact;
use crate::routes::Route;
use crate::rules::RuleContent;
use crate::runtime;
use crate::sigv4::SignedRequest;
use crate::state::Shared;
use crate::stream_body::{Framing, PlannedFrame};

/// What a request asks for, once its route (and for Mantle and STS, its
/// body) has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    pub operation: Operation,
    /// The model or profile id: from the path, or Mantle's body.
    pub model: Option<String>,
}

/// One authenticated request, as the protocol's steps see it.
pub(crate) struct Exchange<'a> {
    pub shared: &'a Shared,
    pub config: &'a ServerConfig,
    pub caller: &'a Caller,
    pub operation: Operation,
    /// The model or profile id: from the path, or Mantle's body.
    pub model: Option<&'a str>,
    pub method: &'a str,
    /// The path as the client sent (and signed) it.
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a Bytes,
    pub request_id: &'a str,
    pub now: SystemTime,
}

/// What the server will send, before a rule's effects.
pub(crate) enum Planned {
    Error(AwsError),
    /// A whole body.
    Whole {
        content_type: &'static str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    },
    /// Frames written one at a time.
    Stream {
        framing: Framing,
        frames: Vec<PlannedFrame>,
        headers: Vec<(&'static str, String)>,
    },
    /// A rule's `Http` answer, or HTTP's own, sent as given.
    Custom {
        status: u16,
        headers: Vec<(String, String)>,
        body: bytes::Bytes,
    },
    /// A rule's recorded answer (`replay`).
    Recorded(RecordedAnswer),
}

/// A recorded answer as the server sends it: its status and headers after
/// its wait, then its body.
pub(crate) struct RecordedAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub head_after: std::time::Duration,
    pub body: RecordedPlan,
}

/// A recorded answer's body: frames, each after its gap, or bytes.
pub(crate) enum RecordedPlan {
    Stream {
        framing: Framing,
        frames: Vec<PlannedFrame>,
    },
    Whole(Bytes),
}

impl Planned {
    /// A whole JSON answer.
    pub(crate) fn json(value: &impl serde::Serialize) -> Self {
        Planned::Whole {
            content_type: "application/json",
            body: serde_json::to_vec(value).expect("an answer serializes"),
            headers: Vec::new(),
        }
    }

    /// A whole XML answer (STS).
    pub(crate) fn xml(body: Vec<u8>) -> Self {
        Planned::Whole {
            content_type: "text/xml",
            body,
            headers: Vec::new(),
        }
    }
}

/// An error as a protocol puts it on the wire.
pub(crate) struct WireError {
    pub status: u16,
    /// The code or type the client sees, for the journal.
    pub code: String,
    /// The message the body carries, for the journal.
    pub message: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// `x-amzn-ErrorType`, sent by Bedrock's REST-JSON endpoints only.
    pub error_type_header: Option<String>,
}

/// Bedrock's REST-JSON error shape (the SSO portal's too):
/// `x-amzn-ErrorType` and a JSON `message`.
pub(crate) fn rest_json_error(error: &AwsError) -> WireError {
    WireError {
        status: error.status,
        code: error.code.clone(),
        message: error.message.clone(),
        content_type: "application/json",
        body: error.body(),
        error_type_header: Some(error.error_type_header()),
    }
}

impl WireError {
    /// The headers of this error's answer after `x-amzn-requestid` and the
    /// endpoint's own: `content-type`, `x-amzn-errortype` (Bedrock's
    /// REST-JSON endpoints) and `retry-after` (when `error` carries one).
    /// The server and `render` both send these.
    pub(crate) fn headers(&self, error: &AwsError) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", self.content_type.to_owned())];
        if let Some(value) = &self.error_type_header {
            headers.push(("x-amzn-errortype", value.clone()));
        }
        if let Some(seconds) = error.retry_after {
            headers.push(("retry-after", seconds.to_string()));
        }
        headers
    }
}

/// What each wire protocol does its own way.
pub(crate) trait Api: Sync {
    /// What the service's checks make of a request that passed them.
    type Checked;

    /// Which protocol this is.
    fn protocol(&self) -> Protocol;

    /// The largest request body the endpoint reads: Bedrock's 25 MB
    /// unless the protocol says otherwise.
    fn body_limit(&self) -> usize {
        runtime::MAX_BODY
    }

    /// The error for a body over [`Api::body_limit`]: AWS's request
    /// validation's.
    fn too_large(&self) -> AwsError {
        runtime::body_too_large()
    }

    /// What the request asks for; the endpoint's error when it asks for
    /// nothing it has (answered after authentication).
    fn identify(&self, route: Route, raw_query: &str, body: &[u8]) -> Result<Requested, AwsError>;

    /// Who sent it (`operation`: what it asks for, if it names anything the
    /// endpoint has): SigV4 for the endpoint's service, or the API keys it
    /// takes (see `auth`).
    fn authenticate(
        &self,
        config: &ServerConfig,
        issued: &IssuedKeys,
        now: SystemTime,
        request: &SignedRequest<'_>,
        _operation: Option<Operation>,
    ) -> (AuthRecord, Result<Caller, AwsError>) {
        auth::authenticate(config, issued, now, request, self.protocol())
    }

    /// The service's own checks, made before rules are consulted so that
    /// a rule changing an answer's content only ever changes one that
    /// would have succeeded.
    fn check(&self, call: &Exchange<'_>) -> Result<Self::Checked, AwsError>;

    /// Whether the answer to `checked` has content a rule may change (a
    /// model's reply).
    fn has_content(&self, checked: &Self::Checked) -> bool;

    /// The answer, with a rule's content (its reply, a stream exception)
    /// in place of the model's.
    fn answer(
        &self,
        call: &Exchange<'_>,
        checked: Self::Checked,
        content: Option<RuleContent<'_>>,
    ) -> Result<Planned, AwsError>;

    /// An error as this protocol sends it.
    fn wire_error(&self, error: &AwsError, request_id: &str) -> WireError;

    /// Headers every answer of this endpoint carries, beyond
    /// `x-amzn-requestid`.
    fn answer_headers(&self, _request_id: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The request body as the journal keeps it.
    fn recorded_body(&self, body: &[u8]) -> String {
        redact::recorded_body(body)
    }
}
