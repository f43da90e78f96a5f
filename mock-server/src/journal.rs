//! The journal: every request the server saw ([`RecordedRequest`]), with
//! what authentication decided ([`AuthRecord`]) and what the answer's body
//! was made of ([`FrameRecord`]). Secrets are removed (`redact`) before
//! anything is stored. The account's own secrets live in
//! [`crate::ServerConfig`], which a test wrote and may read back; they are
//! never copied into the journal.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::effects::FrameFaultKind;
use crate::listed::listed_enum;
use crate::operation::Operation;
use crate::timefmt::Timestamp;

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// When it arrived, by the server's clock.
    pub time: Timestamp,
    /// HTTP method.
    pub method: String,
    /// The path as received, before percent-decoding.
    pub raw_path: String,
    /// The query as received, without `?`, presigning secrets redacted.
    pub query: String,
    /// Headers, secrets redacted (grouped by name, first-arrival order).
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 (lossy), cut after [`MAX_RECORDED_BODY`](crate::MAX_RECORDED_BODY) bytes.
    pub body: String,
    /// The operation the path named, if any.
    pub operation: Option<Operation>,
    /// The model or profile id, decoded from the path.
    pub model_id: Option<String>,
    /// What authentication decided.
    pub auth: AuthRecord,
    /// The rule that answered, if one did.
    pub rule: Option<String>,
    /// Response status; `None` when nothing was sent (a rule cut the
    /// connection before the answer's head). Written as `0` then.
    #[serde(serialize_with = "status_or_zero")]
    pub status: Option<u16>,
    /// The error code, for error answers.
    pub error_type: Option<String>,
    /// `x-amzn-requestid` of the answer.
    pub request_id: String,
    /// What the answer's body was made of, in order: stream frames,
    /// faults, stalls, a client giving up, a cut connection.
    pub frames: Vec<FrameRecord>,
}

fn status_or_zero<S: serde::Serializer>(status: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.unwrap_or(0))
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), as recorded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthRecord {
    /// What the request authenticated with.
    pub scheme: AuthScheme,
    /// The access key id (SigV4); never the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The region of the SigV4 scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The service of the SigV4 scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Whether the request was let through.
    pub accepted: bool,
    /// Why it was rejected, in AWS's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AuthRecord {
    /// A request that presents `scheme`, before anything is checked.
    pub(crate) fn presenting(scheme: AuthScheme) -> Self {
        Self {
            scheme,
            access_key_id: None,
            region: None,
            service: None,
            accepted: false,
            reason: None,
        }
    }
}

listed_enum! {
/// What a request authenticated with. Written as the names below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AuthScheme {
    /// `none`: no credentials at all.
    #[serde(rename = "none")]
    None,
    /// `off`: the account checks nothing (a gateway in front of Bedrock).
    #[serde(rename = "off")]
    Off,
    /// `sigv4`: an AWS Signature Version 4.
    #[serde(rename = "sigv4")]
    SigV4,
    /// `bearer`: a Bedrock API key in `Authorization: Bearer`.
    #[serde(rename = "bearer")]
    Bearer,
    /// `x-api-key`: an API key in Mantle's `x-api-key` header.
    #[serde(rename = "x-api-key")]
    XApiKey,
    /// `web-identity`: STS `AssumeRoleWithWebIdentity`, whose token in the
    /// form is the credential.
    #[serde(rename = "web-identity")]
    WebIdentity,
    /// `sso-token`: the SSO portal's access token header.
    #[serde(rename = "sso-token")]
    SsoToken,
    /// `not checked`: the body never arrived whole, so there was nothing
    /// to verify a signature against.
    #[serde(rename = "not checked")]
    NotChecked,
}
}

impl AuthScheme {
    /// The scheme's name, as the journal writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Off => "off",
            Self::SigV4 => "sigv4",
            Self::Bearer => "bearer",
            Self::XApiKey => "x-api-key",
            Self::WebIdentity => "web-identity",
            Self::SsoToken => "sso-token",
            Self::NotChecked => "not checked",
        }
    }
}

impl std::fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Compares with the scheme's name: `assert_eq!(auth.scheme, "sigv4")`.
impl PartialEq<&str> for AuthScheme {
    fn eq(&self, name: &&str) -> bool {
        self.name() == *name
    }
}

/// One thing the answer's body was made of, as the journal records it.
/// Written (and read back, in scenario files' expectations) as text:
/// `chunk:message_start`, `sse:ping`, `exception:throttlingException`,
/// `bad_message_crc:chunk:content_block_delta`, `stall`, `gave-up`,
/// `reset`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FrameRecord {
    /// An Invoke stream's `chunk` frame carrying this event type.
    Chunk(String),
    /// A Mantle Server-Sent Event of this type (`error` for a mid-stream
    /// error).
    Sse(String),
    /// An Invoke stream's exception frame of this type.
    Exception(String),
    /// `frame`, broken by a rule's fault.
    Fault {
        /// What broke it.
        kind: FrameFaultKind,
        /// The frame as it would have been.
        frame: Box<FrameRecord>,
    },
    /// A rule's stall began here (alone: a stall before the head).
    Stall,
    /// The in-process client sharing a fixed clock gave up during the
    /// stall.
    GaveUp,
    /// A rule cut the connection (before the head, or right after it).
    Reset,
}

impl FrameRecord {
    /// Whether the stream is unreadable from this frame on: a fault that
    /// breaks framing or data, or the `message_start` left out. What the
    /// server writes after it depends on when the reader hung up.
    pub fn breaks_stream(&self) -> bool {
        match self {
            Self::Fault { kind, frame } => {
                kind.breaks_stream()
                    || (*kind == FrameFaultKind::Dropped && frame.is_event("message_start"))
            }
            _ => false,
        }
    }

    /// Whether the service reported the request failed here: an exception
    /// frame or an error event, a client that gave up, a cut connection. A
    /// frame a fault broke counts only when what it carried was an error
    /// (the breakage itself is the reader's to find).
    pub fn is_failure(&self) -> bool {
        match self {
            Self::Exception(_) | Self::GaveUp | Self::Reset => true,
            Self::Chunk(_) | Self::Sse(_) | Self::Fault { .. } => self.carries_an_error(),
            Self::Stall => false,
        }
    }

    /// Whether the frame's event or exception type names an error
    /// (`sse:error`, `exception:overloaded_error`).
    fn carries_an_error(&self) -> bool {
        match self {
            Self::Chunk(name) | Self::Sse(name) | Self::Exception(name) => name.contains("error"),
            Self::Fault { frame, .. } => frame.carries_an_error(),
            Self::Stall | Self::GaveUp | Self::Reset => false,
        }
    }

    /// Whether this is a frame (`chunk:` or `sse:`) of event type `event`.
    pub fn is_event(&self, event: &str) -> bool {
        matches!(self, Self::Chunk(e) | Self::Sse(e) if e == event)
    }
}

impl std::fmt::Display for FrameRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chunk(event) => write!(f, "chunk:{event}"),
            Self::Sse(event) => write!(f, "sse:{event}"),
            Self::Exception(kind) => write!(f, "exception:{kind}"),
            Self::Fault { kind, frame } => write!(f, "{}:{frame}", kind.name()),
            Self::Stall => f.write_str("stall"),
            Self::GaveUp => f.write_str("gave-up"),
            Self::Reset => f.write_str("reset"),
        }
    }
}

/// Compares with the record's text, so a test can write
/// `assert_eq!(request.frames[0], "chunk:message_start")`.
impl PartialEq<str> for FrameRecord {
    fn eq(&self, text: &str) -> bool {
        text.parse::<FrameRecord>()
            .is_ok_and(|record| record == *self)
    }
}

impl PartialEq<&str> for FrameRecord {
    fn eq(&self, text: &&str) -> bool {
        self == *text
    }
}

impl PartialEq<String> for FrameRecord {
    fn eq(&self, text: &String) -> bool {
        self == text.as_str()
    }
}

/// Text that is no frame record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFrameRecord(String);

impl std::fmt::Display for UnknownFrameRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a frame record: write `chunk:<event>`, `sse:<event>`, `exception:<type>`, `<fault kind>:<frame>`, `stall`, `gave-up` or `reset`",
            self.0
        )
    }
}

impl std::error::Error for UnknownFrameRecord {}

impl std::str::FromStr for FrameRecord {
    type Err = UnknownFrameRecord;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownFrameRecord(text.to_owned());
        match text {
            "stall" => return Ok(Self::Stall),
            "gave-up" => return Ok(Self::GaveUp),
            "reset" => return Ok(Self::Reset),
            _ => {}
        }
        let (head, rest) = text.split_once(':').ok_or_else(unknown)?;
        match head {
            "chunk" => Ok(Self::Chunk(rest.to_owned())),
            "sse" => Ok(Self::Sse(rest.to_owned())),
            "exception" => Ok(Self::Exception(rest.to_owned())),
            fault => Ok(Self::Fault {
                kind: FrameFaultKind::named(fault).ok_or_else(unknown)?,
                frame: Box::new(rest.parse().map_err(|_| unknown())?),
            }),
        }
    }
}

impl Serialize for FrameRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FrameRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for FrameRecord {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FrameRecord".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "chunk:<event>, sse:<event>, exception:<type>, <fault kind>:<frame>, stall, gave-up or reset"
        })
    }
}

/// The journal itself: append-only until reset.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    list: Vec<RecordedRequest>,
    /// Where each request's entry is in `list`, by its `seq`: a streamed
    /// frame finds its entry at once, however many streams are open.
    position: std::collections::HashMap<u64, usize>,
}

impl Journal {
    pub fn push(&self, entry: RecordedRequest) {
        let mut entries = self.lock();
        let at = entries.list.len();
        entries.position.insert(entry.seq, at);
        entries.list.push(entry);
    }

    /// Marks request `seq` `gave-up` when called: handed to a stall, for
    /// the moment its client gives up.
    pub(crate) fn gave_up_mark(self: &Arc<Self>, seq: u64) -> Box<dyn FnOnce() + Send> {
        let journal = Arc::clone(self);
        Box::new(move || journal.frame_sent(seq, FrameRecord::GaveUp))
    }

    /// Appends a frame to request `seq`'s record.
    pub fn frame_sent(&self, seq: u64, label: FrameRecord) {
        let mut entries = self.lock();
        if let Some(&at) = entries.position.get(&seq) {
            entries.list[at].frames.push(label);
        }
    }

    /// How many requests are recorded.
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// Every entry in order of arrival (entries are pushed when answered,
    /// so a slow upload can finish after a later request).
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        let mut entries = self.lock().list.clone();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    /// How many requests each access key id signed (accepted or not).
    pub fn requests_by_access_key(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for key in self
            .lock()
            .list
            .iter()
            .filter_map(|r| r.auth.access_key_id.as_ref())
        {
            *counts.entry(key.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.list.clear();
        entries.position.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Entries are whole values pushed under the lock; a panic elsewhere
        // cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_records_read_and_write_as_the_journal_writes_them() {
        for text in [
            "chunk:message_start",
            "sse:ping",
            "exception:throttlingException",
            "bad_message_crc:chunk:content_block_delta",
            "dropped:sse:message_start",
            "stall",
            "gave-up",
            "reset",
        ] {
            let record: FrameRecord = text.parse().unwrap();
            assert_eq!(record.to_string(), text);
            assert_eq!(serde_json::to_value(&record).unwrap(), text);
        }
        for bad in ["", "chunk", "nonsense:chunk:x", "bad_message_crc:nope"] {
            assert!(bad.parse::<FrameRecord>().is_err(), "{bad}");
        }
    }

    #[test]
    fn failures_are_what_the_service_reported() {
        let failed = |text: &str| text.parse::<FrameRecord>().unwrap().is_failure();
        for text in [
            "exception:throttlingException",
            "sse:error",
            "gave-up",
            "reset",
            "truncated:sse:error",
        ] {
            assert!(failed(text), "{text}");
        }
        for text in [
            "chunk:message_stop",
            "stall",
            "bad_message_crc:chunk:content_block_delta",
            "dropped:exception:throttlingException",
        ] {
            assert!(!failed(text), "{text}");
        }
    }

    #[test]
    fn scheme_names_are_the_serialized_names() {
        for &scheme in AuthScheme::ALL {
            assert_eq!(serde_json::to_value(scheme).unwrap(), scheme.name());
        }
    }

    #[test]
    fn nothing_sent_is_written_as_status_0() {
        let request = RecordedRequest {
            seq: 1,
            time: Timestamp(std::time::UNIX_EPOCH),
            method: "POST".to_owned(),
            raw_path: "/".to_owned(),
            query: String::new(),
            headers: Vec::new(),
            body: String::new(),
            operation: None,
            model_id: None,
            auth: AuthRecord::presenting(AuthScheme::None),
            rule: None,
            status: None,
            error_type: None,
            request_id: String::new(),
            frames: vec![FrameRecord::Reset],
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            (json["status"].clone(), json["frames"][0].clone()),
            (0.into(), "reset".into())
        );
    }
}
