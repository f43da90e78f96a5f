//! The journal: every request the server saw ([`RecordedRequest`]), with
//! what authentication decided ([`AuthRecord`]) and what the answer's body
//! was made of ([`FrameRecord`]). Secrets are removed (`redact`) before
//! anything is stored. The account's own secrets live in
//! [`crate::ServerConfig`], which a test wrote and may read back; they are
//! never copied into the journal.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::effects::FrameFaultKind;
use crate::listed::listed_enum;
use crate::operation::Operation;
use crate::timefmt::Timestamp;

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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
    /// The error's message, as the answer's body carried it (its
    /// `message`), for error answers; anything quoted of the request in it
    /// scrubbed of secrets as the headers are.
    pub error_message: Option<String>,
    /// `x-amzn-requestid` of the answer.
    pub request_id: String,
    /// What the answer's body was made of, in order: stream frames,
    /// faults, stalls, a client giving up, a cut connection.
    pub frames: Vec<FrameRecord>,
    /// The client that sent it, when it came to an address the server
    /// listens on for one client ([`crate::MockBedrock::listen_for`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

fn status_or_zero<S: serde::Serializer>(status: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.unwrap_or(0))
}

impl RecordedRequest {
    /// A record of a `method` request to `raw_path` with nothing else
    /// known: sequence 0 at the Unix epoch, no headers, body, operation or
    /// answer, authentication not checked. The server writes the records
    /// of its journal itself; this is for testing code that reads them.
    ///
    /// ```
    /// use bedrock_mock_server::{AuthRecord, AuthScheme, Operation, RecordedRequest};
    ///
    /// let mut request = RecordedRequest::new("POST", "/model/m/invoke");
    /// request.operation = Some(Operation::InvokeModel);
    /// request.status = Some(429);
    /// request.auth = AuthRecord::new(AuthScheme::SigV4);
    /// request.auth.accepted = true;
    /// assert_eq!(request.header("content-type"), None);
    /// ```
    pub fn new(method: impl Into<String>, raw_path: impl Into<String>) -> Self {
        RecordedRequest {
            seq: 0,
            time: Timestamp(std::time::SystemTime::UNIX_EPOCH),
            method: method.into(),
            raw_path: raw_path.into(),
            query: String::new(),
            headers: Vec::new(),
            body: String::new(),
            operation: None,
            model_id: None,
            auth: AuthRecord::new(AuthScheme::NotChecked),
            rule: None,
            status: None,
            error_type: None,
            error_message: None,
            request_id: String::new(),
            frames: Vec::new(),
            client: None,
        }
    }

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
#[non_exhaustive]
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
    /// A request that presents `scheme`, before anything is checked (not
    /// accepted, no key, scope or reason); for testing code that reads
    /// journals (see [`RecordedRequest::new`]).
    pub fn new(scheme: AuthScheme) -> Self {
        Self::presenting(scheme)
    }

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
#[non_exhaustive]
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
/// `reset`, `cut:300`, `write-timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// A rule closed the connection after this many bytes of the body; the
    /// frame before it is the one the cut fell in or after.
    Cut(u64),
    /// The client stopped reading: the server's writes made no progress
    /// for its write timeout, and it closed the connection. The frames
    /// before it are those handed to the connection, not all of them read.
    WriteTimeout,
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
            Self::Exception(_) | Self::GaveUp | Self::Reset | Self::Cut(_) | Self::WriteTimeout => {
                true
            }
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
            Self::Stall | Self::GaveUp | Self::Reset | Self::Cut(_) | Self::WriteTimeout => false,
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
            Self::Cut(bytes) => write!(f, "cut:{bytes}"),
            Self::WriteTimeout => f.write_str("write-timeout"),
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
            "`{}` is not a frame record: write `chunk:<event>`, `sse:<event>`, `exception:<type>`, `<fault kind>:<frame>`, `stall`, `gave-up`, `reset`, `cut:<bytes>` or `write-timeout`",
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
            "write-timeout" => return Ok(Self::WriteTimeout),
            _ => {}
        }
        let (head, rest) = text.split_once(':').ok_or_else(unknown)?;
        match head {
            "chunk" => Ok(Self::Chunk(rest.to_owned())),
            "sse" => Ok(Self::Sse(rest.to_owned())),
            "exception" => Ok(Self::Exception(rest.to_owned())),
            "cut" => rest.parse().map(Self::Cut).map_err(|_| unknown()),
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
            "description": "chunk:<event>, sse:<event>, exception:<type>, <fault kind>:<frame>, stall, gave-up, reset, cut:<bytes> or write-timeout"
        })
    }
}

/// How much the journal keeps: past either limit the oldest entries are
/// dropped, and counted ([`MockBedrock::dropped_requests`], the admin API's
/// `journal/count`). The defaults hold a long load test's journal (a
/// streamed answer's entry is a few KiB) and stop a flood of large
/// requests from taking the machine's memory.
///
/// ```
/// use bedrock_mock_server::{JournalLimits, MockBedrock};
///
/// let builder = MockBedrock::builder().journal_limits(JournalLimits::default().with_entries(1_000));
/// # drop(builder);
/// ```
///
/// [`MockBedrock::dropped_requests`]: crate::MockBedrock::dropped_requests
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalLimits {
    /// The most entries kept (100,000 by default).
    pub entries: usize,
    /// The most bytes kept, counted as the text an entry holds (its body,
    /// headers, frames...) plus a fixed cost per entry, header and frame
    /// (256 MiB by default). The latest entry is kept even if it alone is
    /// larger.
    pub bytes: usize,
}

impl JournalLimits {
    /// At most `entries` entries and `bytes` bytes.
    ///
    /// ```
    /// use bedrock_mock_server::{JournalLimits, MockBedrock};
    ///
    /// let builder = MockBedrock::builder().journal_limits(JournalLimits::new(1_000, 16 << 20));
    /// assert_eq!(JournalLimits::default().with_entries(5).entries, 5);
    /// # drop(builder);
    /// ```
    pub fn new(entries: usize, bytes: usize) -> Self {
        Self { entries, bytes }
    }

    /// These limits with at most `entries` entries.
    pub fn with_entries(mut self, entries: usize) -> Self {
        self.entries = entries;
        self
    }

    /// These limits with at most `bytes` bytes.
    pub fn with_bytes(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }
}

impl Default for JournalLimits {
    fn default() -> Self {
        Self {
            entries: 100_000,
            bytes: 256 << 20,
        }
    }
}

/// The journal itself: append-only until reset, the oldest entries
/// dropped past its [`JournalLimits`].
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Shared with snapshots being read (`GET /journal`), so reading the
    /// journal copies no entry; one changed while read is copied then.
    list: VecDeque<Arc<RecordedRequest>>,
    /// Where each request's entry is, by its `seq`, counted from the
    /// first entry ever pushed (`list[at - first]`): a streamed frame finds
    /// its entry at once, however many streams are open.
    position: HashMap<u64, u64, BuildHasherDefault<SeqHasher>>,
    /// How many entries were ever taken off the front of `list`.
    first: u64,
    /// The entries' cost in bytes ([`cost`]).
    bytes: usize,
    /// Entries dropped over the limits since the last reset.
    dropped: u64,
    limits: JournalLimits,
}

impl Entries {
    /// Drops the oldest entries until the journal is within its limits,
    /// keeping the latest.
    fn trim(&mut self) {
        while self.list.len() > 1
            && (self.list.len() > self.limits.entries || self.bytes > self.limits.bytes)
        {
            let Some(oldest) = self.list.pop_front() else {
                break;
            };
            self.position.remove(&oldest.seq);
            self.first += 1;
            self.bytes = self.bytes.saturating_sub(cost(&oldest));
            self.dropped += 1;
        }
    }
}

/// Hashes a request's `seq` with one multiplication (Fibonacci hashing),
/// not SipHash: every streamed frame looks its entry up under the
/// journal's lock, and a `seq` is a counter, never chosen by a client.
#[derive(Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(self.0 ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // The golden ratio's odd multiplier spreads a counter's values
        // over the high bits the table's probing uses.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// What an entry costs against [`JournalLimits::bytes`]: the text it holds
/// and a fixed cost for itself and each of its parts.
fn cost(entry: &RecordedRequest) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let auth = &entry.auth;
    std::mem::size_of::<RecordedRequest>()
        + entry.method.len()
        + entry.raw_path.len()
        + entry.query.len()
        + entry.body.len()
        + entry.request_id.len()
        + text(&entry.model_id)
        + text(&entry.rule)
        + text(&entry.error_type)
        + text(&entry.error_message)
        + text(&auth.access_key_id)
        + text(&auth.region)
        + text(&auth.service)
        + text(&auth.reason)
        + entry
            .headers
            .iter()
            .map(|(name, value)| std::mem::size_of::<(String, String)>() + name.len() + value.len())
            .sum::<usize>()
        + entry.frames.iter().map(frame_cost).sum::<usize>()
}

fn frame_cost(frame: &FrameRecord) -> usize {
    std::mem::size_of::<FrameRecord>()
        + match frame {
            FrameRecord::Chunk(text) | FrameRecord::Sse(text) | FrameRecord::Exception(text) => {
                text.len()
            }
            FrameRecord::Fault { frame, .. } => frame_cost(frame),
            FrameRecord::Stall
            | FrameRecord::GaveUp
            | FrameRecord::Reset
            | FrameRecord::Cut(_)
            | FrameRecord::WriteTimeout => 0,
        }
}

/// How many requests the journal holds, and how many it dropped over its
/// limits (the admin API's `journal/count`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct JournalCount {
    pub requests: u64,
    pub dropped: u64,
}

impl Journal {
    pub fn new(limits: JournalLimits) -> Self {
        Self {
            entries: Mutex::new(Entries {
                limits,
                ..Entries::default()
            }),
        }
    }

    pub fn push(&self, entry: RecordedRequest) {
        let mut entries = self.lock();
        let at = entries.first + entries.list.len() as u64;
        entries.position.insert(entry.seq, at);
        entries.bytes += cost(&entry);
        entries.list.push_back(Arc::new(entry));
        entries.trim();
    }

    /// Marks request `seq` `gave-up` when called: handed to a stall, for
    /// the moment its client gives up.
    pub(crate) fn gave_up_mark(self: &Arc<Self>, seq: u64) -> Box<dyn FnOnce() + Send> {
        let journal = Arc::clone(self);
        Box::new(move || journal.frame_sent(seq, FrameRecord::GaveUp))
    }

    /// Appends a frame to request `seq`'s record (if it is still kept).
    pub fn frame_sent(&self, seq: u64, label: FrameRecord) {
        let mut entries = self.lock();
        let Some(&at) = entries.position.get(&seq) else {
            return;
        };
        let Some(index) = at
            .checked_sub(entries.first)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return;
        };
        entries.bytes += frame_cost(&label);
        if let Some(entry) = entries.list.get_mut(index) {
            Arc::make_mut(entry).frames.push(label);
        }
        entries.trim();
    }

    /// How many requests are recorded, and how many were dropped.
    pub fn count(&self) -> JournalCount {
        let entries = self.lock();
        JournalCount {
            requests: entries.list.len() as u64,
            dropped: entries.dropped,
        }
    }

    /// Every entry kept, in order of arrival (entries are pushed when
    /// answered, so a slow upload can finish after a later request),
    /// shared with the journal: nothing is copied.
    pub fn shared_snapshot(&self) -> Vec<Arc<RecordedRequest>> {
        let mut entries: Vec<Arc<RecordedRequest>> = self.lock().list.iter().cloned().collect();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    /// Every entry kept, in order of arrival, as copies.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.shared_snapshot()
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect()
    }

    /// How many requests each access key id signed (accepted or not), of
    /// those kept.
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

    /// Forgets every entry and the count of those dropped.
    pub fn clear(&self) {
        let mut entries = self.lock();
        let limits = entries.limits;
        *entries = Entries {
            limits,
            ..Entries::default()
        };
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

    /// An entry as `GET /__bedrock_mock/journal` writes it, byte for byte:
    /// fields in declaration order, the body as the client's text.
    #[test]
    fn a_journal_entry_keeps_its_field_order() {
        let mut entry = RecordedRequest::new("POST", "/model/m/invoke");
        entry.seq = 3;
        entry.headers = vec![("content-type".into(), "application/json".into())];
        entry.body = r#"{"messages":[],"max_tokens":5}"#.into();
        entry.operation = Some(Operation::InvokeModel);
        entry.model_id = Some("m".into());
        entry.auth.accepted = true;
        entry.auth.access_key_id = Some("AKIAEXAMPLE".into());
        entry.status = Some(200);
        entry.request_id = "r-1".into();
        entry.frames = vec![FrameRecord::Stall];
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            concat!(
                r#"{"seq":3,"time":"1970-01-01T00:00:00Z","method":"POST","raw_path":"/model/m/invoke","#,
                r#""query":"","headers":[["content-type","application/json"]],"#,
                r#""body":"{\"messages\":[],\"max_tokens\":5}","operation":"InvokeModel","model_id":"m","#,
                r#""auth":{"scheme":"not checked","access_key_id":"AKIAEXAMPLE","accepted":true},"#,
                r#""rule":null,"status":200,"error_type":null,"error_message":null,"request_id":"r-1","#,
                r#""frames":["stall"]}"#
            )
        );
    }

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
            "cut:300",
            "write-timeout",
        ] {
            let record: FrameRecord = text.parse().unwrap();
            assert_eq!(record.to_string(), text);
            assert_eq!(serde_json::to_value(&record).unwrap(), text);
        }
        for bad in [
            "",
            "chunk",
            "nonsense:chunk:x",
            "bad_message_crc:nope",
            "cut:x",
            "cut:-1",
        ] {
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
            "cut:0",
            "write-timeout",
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

    fn entry(seq: u64, body: &str) -> RecordedRequest {
        RecordedRequest {
            seq,
            body: body.to_owned(),
            status: Some(200),
            frames: Vec::new(),
            client: None,
            ..blank()
        }
    }

    fn seqs(journal: &Journal) -> Vec<u64> {
        journal.snapshot().iter().map(|e| e.seq).collect()
    }

    #[test]
    fn past_its_entries_the_journal_drops_the_oldest_and_counts_them() {
        let journal = Journal::new(JournalLimits {
            entries: 3,
            ..JournalLimits::default()
        });
        for seq in 1..=5 {
            journal.push(entry(seq, ""));
        }
        assert_eq!(seqs(&journal), [3, 4, 5]);
        assert_eq!(
            journal.count(),
            JournalCount {
                requests: 3,
                dropped: 2
            }
        );
        // A frame for a dropped entry is let go; one for a kept entry lands.
        journal.frame_sent(1, FrameRecord::Stall);
        journal.frame_sent(4, FrameRecord::Stall);
        let frames: Vec<usize> = journal.snapshot().iter().map(|e| e.frames.len()).collect();
        assert_eq!(frames, [0, 1, 0]);
        journal.clear();
        assert_eq!(journal.count(), JournalCount::default());
        journal.push(entry(6, ""));
        assert_eq!(seqs(&journal), [6]);
    }

    #[test]
    fn past_its_bytes_the_journal_drops_the_oldest_but_keeps_the_latest() {
        let body = "x".repeat(1000);
        let one = cost(&entry(1, &body));
        let journal = Journal::new(JournalLimits {
            entries: 100,
            bytes: 2 * one + one / 2,
        });
        for seq in 1..=4 {
            journal.push(entry(seq, &body));
        }
        assert_eq!(seqs(&journal), [3, 4]);
        // Frames count: enough of them on the latest push out the other.
        for _ in 0..one / frame_cost(&FrameRecord::Sse("ping".to_owned())) {
            journal.frame_sent(4, FrameRecord::Sse("ping".to_owned()));
        }
        assert_eq!(seqs(&journal), [4]);
        assert_eq!(journal.count().dropped, 3);
        // An entry larger than the limit alone is kept, as the latest.
        journal.push(entry(5, &"x".repeat(3 * one)));
        assert_eq!(seqs(&journal), [5]);
    }

    #[test]
    fn a_snapshot_shares_the_entries_and_sees_no_later_frame() {
        let journal = Journal::new(JournalLimits::default());
        journal.push(entry(1, "body"));
        let before = journal.shared_snapshot();
        journal.frame_sent(1, FrameRecord::Reset);
        assert!(before[0].frames.is_empty());
        assert_eq!(journal.snapshot()[0].frames, [FrameRecord::Reset]);
    }

    fn blank() -> RecordedRequest {
        RecordedRequest {
            auth: AuthRecord::presenting(AuthScheme::None),
            ..RecordedRequest::new("POST", "/")
        }
    }

    #[test]
    fn nothing_sent_is_written_as_status_0() {
        let request = RecordedRequest {
            seq: 1,
            frames: vec![FrameRecord::Reset],
            client: None,
            ..blank()
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            (json["status"].clone(), json["frames"][0].clone()),
            (0.into(), "reset".into())
        );
    }
}
