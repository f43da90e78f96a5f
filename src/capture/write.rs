//! Exchanges written as a scenario file: the client side it can infer,
//! one rule per request in the order they came (each answer, error or
//! stream with its frames and the gaps between them, stalls and cuts as
//! they happened), and an `[expect]` of the requests as recorded.
//! Everything written passes through the [`Redactor`] first.

use std::fmt::Write as _;
use std::time::Duration;

use bedrock_mock_server::render::Renderer;
use bedrock_mock_server::{
    ErrorCode, ExceptionType, Identified, Operation, RecordedEvent, Recording, frames_the_body,
    identify, is_hop_by_hop, recorded_error,
};

use super::client_side::{self, ClientSide};
use super::exchange::{Answered, BodyEnd, Exchange, Outcome};
use super::redact::Redactor;
use super::stream::{self, EventBody, Partial, TimedEvents};

/// How to write a scenario.
///
/// ```
/// use bedrock_harness::capture::write::{WriteOptions, write};
///
/// let written = write(&[], &WriteOptions::new("empty-session"));
/// assert!(written.toml.contains("name = \"empty-session\""));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The scenario's `name`.
    pub name: String,
    /// Its `source`: where the capture came from.
    pub source: String,
    /// Keep prompt and answer text (else same-length placeholders).
    pub keep_text: bool,
    /// How the client exited, when the recorder ran it: the scenario then
    /// expects the same.
    pub exit: Option<u8>,
}

impl WriteOptions {
    /// A scenario named `name`, text redacted.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            source: "bedrock-harness record".into(),
            keep_text: false,
            exit: None,
        }
    }

    /// Expects the client to exit with `code`, as the recorded one did.
    pub fn exit(mut self, code: u8) -> Self {
        self.exit = Some(code);
        self
    }

    /// Says where the capture came from.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Keeps prompt and answer text.
    pub fn keep_text(mut self, keep: bool) -> Self {
        self.keep_text = keep;
        self
    }
}

/// A written scenario, and what was redacted to write it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Written {
    /// The scenario file's text.
    pub toml: String,
    /// What was redacted, one line each, for the user to see.
    pub redactions: String,
    /// What could not be written as it happened, one line each.
    pub notes: Vec<String>,
    /// How many requests the scenario expects.
    pub requests: usize,
}

/// Writes `exchanges` (in any order: they are sorted by start) as a
/// scenario.
pub fn write(exchanges: &[Exchange], options: &WriteOptions) -> Written {
    let mut sorted: Vec<&Exchange> = exchanges.iter().collect();
    sorted.sort_by_key(|e| e.started);
    let identified: Vec<Option<Identified>> = sorted
        .iter()
        .map(|e| identify(&e.method, &e.path, &e.query, &e.body))
        .collect();
    let mut redactor = Redactor::new(options.keep_text);
    // Every credential the session carried is counted, though the file
    // keeps no request header: the report tells the user what the
    // traffic held and the file does not.
    for exchange in &sorted {
        for (name, value) in &exchange.headers {
            let _ = redactor.header(name, value);
        }
        let _ = redactor.text(&exchange.query);
    }
    let (requests, left_out) = replayable(&sorted, &identified);
    let client = client_side::infer(&requests, &mut redactor);
    let mut notes = client.notes.clone();
    notes.extend(left_out);
    let mut written = Vec::new();
    for (n, (exchange, identified)) in requests.iter().enumerate() {
        let path = redactor.text(&exchange.path);
        let request = Request {
            n: n + 1,
            exchange,
            identified: *identified,
            path,
        };
        written.push(request.write(&mut redactor, &mut notes));
    }
    Written {
        toml: scenario_text(options, &client, &written),
        redactions: redactor.report().to_string(),
        notes,
        requests: requests.len(),
    }
}

/// Operations whose answers are credentials: the replay's client has
/// the mock's keys, so it never asks for them.
const CREDENTIAL_CALLS: [Operation; 3] = [
    Operation::AssumeRole,
    Operation::AssumeRoleWithWebIdentity,
    Operation::GetRoleCredentials,
];

/// The requests a replay makes, each with what it asks for, and a note
/// for each left out (a credential call).
fn replayable<'a>(
    sorted: &[&'a Exchange],
    identified: &'a [Option<Identified>],
) -> (Vec<(&'a Exchange, Option<&'a Identified>)>, Vec<String>) {
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for (exchange, id) in sorted.iter().copied().zip(identified) {
        match id.as_ref().map(|i| i.operation) {
            Some(operation) if CREDENTIAL_CALLS.contains(&operation) => notes.push(format!(
                "{} was left out: the replay's client signs with the mock's keys and asks for no credentials.",
                operation.name()
            )),
            _ => kept.push((exchange, id.as_ref())),
        }
    }
    (kept, notes)
}

/// The whole file: its head, the rules, the expectations.
fn scenario_text(
    options: &WriteOptions,
    client: &ClientSide,
    written: &[WrittenRequest],
) -> String {
    let failures: Vec<String> = written.iter().filter_map(|w| w.failure.clone()).collect();
    let mut toml = header(options, client, written.len(), &failures);
    for request in written {
        toml.push_str(&request.rule);
    }
    toml.push_str("\n[expect]\norder = \"exact\"\n");
    if let Some(code) = options.exit {
        let _ = writeln!(toml, "exit = {code}");
    }
    for request in written {
        toml.push_str(&request.expected);
    }
    let _ = write!(toml, "\n[expect.counts]\nrequests = {}\n", written.len());
    toml
}

/// The scenario's head: what it is (what went wrong in it), and its
/// `[client]`.
fn header(
    options: &WriteOptions,
    client: &ClientSide,
    requests: usize,
    failures: &[String],
) -> String {
    let mut out = String::from("schema = 1\n");
    let _ = writeln!(out, "name = {}", quoted(&options.name));
    let text = if options.keep_text {
        "kept"
    } else {
        "replaced by placeholders of the same length"
    };
    let went_wrong = if failures.is_empty() {
        "none failed".to_owned()
    } else {
        failures.join("; ")
    };
    let description = format!(
        "A recorded session of {requests} requests, each answered as it was ({went_wrong}); prompt and answer text {text}."
    );
    let _ = writeln!(out, "description = {}", quoted(&description));
    let _ = writeln!(out, "source = {}", quoted(&options.source));
    out.push_str("\n[client]\n");
    let _ = writeln!(out, "credentials = {}", quoted(client.credentials));
    if let Some(prompt) = &client.prompt {
        let _ = writeln!(out, "prompt = {}", quoted(prompt));
    }
    out.push_str("\n[client.env]\n");
    for note in &client.notes {
        let _ = writeln!(out, "# {}", note.replace(['\n', '\r'], " "));
    }
    for (name, value) in &client.env {
        let _ = writeln!(out, "{name} = {}", quoted(value));
    }
    out
}

/// A TOML string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// One request of the recording, numbered from 1.
struct Request<'a> {
    n: usize,
    exchange: &'a Exchange,
    identified: Option<&'a Identified>,
    /// The path as the file may hold it.
    path: String,
}

/// A request's rule and its expectation, as TOML, and what went wrong
/// in it for the description.
struct WrittenRequest {
    rule: String,
    expected: String,
    failure: Option<String>,
}

/// What a rule says besides its match: effects, then the answer.
#[derive(Default)]
struct RuleBody {
    /// `key = value` lines of the rule itself (effects).
    effects: Vec<String>,
    /// The answer: a `key = value` line, or a `[server.rules.answer.…]`
    /// section (written last).
    answer: Option<String>,
    /// The journal's frame labels the replay must show.
    frames: Vec<String>,
    /// The status and error code the journal shows.
    status: Option<u16>,
    error: Option<String>,
}

impl Request<'_> {
    fn write(&self, redactor: &mut Redactor, notes: &mut Vec<String>) -> WrittenRequest {
        let body = match &self.exchange.outcome {
            Outcome::NoAnswer { after, .. } => unanswered(*after),
            Outcome::ClientLeft { after } => RuleBody {
                effects: vec![format!("stall = {{ seconds = {} }}", stall_seconds(*after))],
                frames: vec!["stall".into()],
                ..RuleBody::default()
            },
            Outcome::Answered(answered) => self.answered(answered, redactor, notes),
        };
        WrittenRequest {
            rule: self.rule_text(&body, redactor),
            expected: self.expected_text(&body, redactor),
            failure: self.failure(&body),
        }
    }

    /// `#4 InvokeModelWithResponseStream 429 ThrottlingException`, `#6 …
    /// cut:600`: a request that failed, as the description lists it.
    fn failure(&self, body: &RuleBody) -> Option<String> {
        let ending = body.frames.iter().find(|f| {
            f.starts_with("cut:")
                || f.starts_with("exception:")
                || f.starts_with("truncated:")
                || *f == "reset"
                || *f == "stall"
        });
        let failed = body.status.is_none_or(|s| s >= 400) || ending.is_some();
        if !failed {
            return None;
        }
        let mut text = self.label();
        match body.status {
            Some(status) => {
                let _ = write!(text, " {status}");
            }
            None => text.push_str(" unanswered"),
        }
        for part in body.error.iter().chain(ending) {
            let _ = write!(text, " {part}");
        }
        Some(text)
    }

    fn label(&self) -> String {
        match self.identified {
            Some(id) => format!("#{} {}", self.n, id.operation.name()),
            None => format!("#{} {} {}", self.n, self.exchange.method, self.path),
        }
    }

    /// The rule's match: operation and model, else method and path.
    fn when(&self, redactor: &mut Redactor) -> String {
        match self.identified {
            Some(id) => {
                let mut when = format!("{{ operation = {}", quoted(id.operation.name()));
                if let Some(model) = &id.model {
                    let _ = write!(
                        when,
                        ", model = {}",
                        quoted(&glob_literal(&redactor.text(model)))
                    );
                }
                when + " }"
            }
            None => format!(
                "{{ method = {}, path = {} }}",
                quoted(&self.exchange.method),
                quoted(&glob_literal(&self.path))
            ),
        }
    }

    fn rule_text(&self, body: &RuleBody, redactor: &mut Redactor) -> String {
        let mut out = String::from("\n[[server.rules]]\n");
        let _ = writeln!(out, "name = {}", quoted(&self.label()));
        let _ = writeln!(out, "when = {}", self.when(redactor));
        out.push_str("times = 1\nexpect = 1\n");
        for line in &body.effects {
            let _ = writeln!(out, "{line}");
        }
        if let Some(answer) = &body.answer {
            out.push_str(answer);
        }
        out
    }

    fn expected_text(&self, body: &RuleBody, redactor: &mut Redactor) -> String {
        let mut out = String::from("\n[[expect.requests]]\n");
        match self.identified {
            Some(id) => {
                let _ = writeln!(out, "operation = {}", quoted(id.operation.name()));
                if let Some(model) = &id.model {
                    let _ = writeln!(out, "model = {}", quoted(&redactor.text(model)));
                }
            }
            None => {
                let _ = writeln!(out, "path = {}", quoted(&self.path));
            }
        }
        if let Some(status) = body.status {
            let _ = writeln!(out, "status = {status}");
        }
        if let Some(error) = &body.error {
            let _ = writeln!(out, "error = {}", quoted(error));
        }
        if !body.frames.is_empty() {
            let frames: Vec<String> = body.frames.iter().map(|f| quoted(f)).collect();
            let _ = writeln!(out, "frames = [{}]", frames.join(", "));
        }
        out
    }

    fn answered(
        &self,
        answered: &Answered,
        redactor: &mut Redactor,
        notes: &mut Vec<String>,
    ) -> RuleBody {
        let content_type = answered.header("content-type").unwrap_or_default();
        let streamed = if content_type.starts_with("application/vnd.amazon.eventstream") {
            Some(stream::event_stream(&answered.pieces))
        } else if content_type.starts_with("text/event-stream") {
            Some(stream::server_sent_events(&answered.pieces))
        } else {
            None
        };
        let mut body = match streamed {
            Some(events) if answered.status < 300 => {
                self.stream_answer(answered, events, redactor, notes)
            }
            _ => self.whole_answer(answered, redactor),
        };
        body.status = Some(answered.status);
        body
    }

    /// A whole answer: an error the mock sends byte for byte as it came
    /// is written as that error; anything else as recorded.
    fn whole_answer(&self, answered: &Answered, redactor: &mut Redactor) -> RuleBody {
        let raw = answered.body();
        let body = match self.identified.map(|i| i.operation) {
            Some(
                Operation::InvokeModel
                | Operation::InvokeModelWithResponseStream
                | Operation::MantleMessages
                | Operation::MantleMessagesStream,
            ) if answered.status < 300 => redactor.answer_body(&raw),
            _ => redactor.other_body(&raw),
        };
        let error = recorded_error(answered.status, &answered.headers, &body).map(|e| e.code);
        // An error that took its time keeps it: a recorded answer waits.
        if let Some(code) = &error
            && answered.head_after < Duration::from_secs(1)
            && answered.end == BodyEnd::Complete
            && let Some(line) = catalogue_error(answered, code, &body)
        {
            return RuleBody {
                answer: Some(line),
                error: error.clone(),
                ..RuleBody::default()
            };
        }
        let mut section = recorded_head(answered, redactor);
        let mut effects = Vec::new();
        let mut frames = Vec::new();
        let mut body = body;
        if let BodyEnd::Broken { .. } | BodyEnd::ClientLeft { .. } = answered.end {
            // The body broke off (or the client stopped reading it): the
            // replay sends what came, of a body announced a byte longer,
            // and closes the connection there, so the client finds the
            // body short as it did.
            let cut = body.len();
            body.push(b' ');
            effects.push(format!("cut = {{ after_bytes = {cut} }}"));
            frames.push(format!("cut:{cut}"));
        }
        section.push_str(&body_line(&body));
        RuleBody {
            answer: Some(section),
            error,
            effects,
            frames,
            ..RuleBody::default()
        }
    }

    /// A stream: its events with the gaps before them, then how it ended.
    fn stream_answer(
        &self,
        answered: &Answered,
        read: TimedEvents,
        redactor: &mut Redactor,
        notes: &mut Vec<String>,
    ) -> RuleBody {
        if let Some(trouble) = &read.trouble {
            notes.push(format!(
                "{}: {trouble}; the replay ends the stream there.",
                self.label()
            ));
        }
        let mut stream = WrittenStream {
            section: recorded_head(answered, redactor) + "events = [\n",
            ..WrittenStream::default()
        };
        for event in &read.events {
            let before = stream.last;
            match event_line(stream.gap_to(event.at), &event.body, self.n, redactor) {
                Ok(written) => stream.add(written),
                Err(why) => {
                    // Its wait is the next event's.
                    stream.last = before;
                    notes.push(format!("{}: an event was left out: {why}.", self.label()));
                }
            }
        }
        self.stream_end(
            answered,
            read.partial.as_ref(),
            &mut stream,
            redactor,
            notes,
        );
        stream.section.push_str("]\n");
        stream.body.answer = Some(stream.section);
        stream.body
    }

    /// How a stream ended, as the replay ends it: the half event that
    /// came, then a clean end (a frame fault `truncated`) or a cut; a
    /// stall until the client leaves; a cut after the last whole event.
    fn stream_end(
        &self,
        answered: &Answered,
        partial: Option<&Partial>,
        stream: &mut WrittenStream,
        redactor: &mut Redactor,
        notes: &mut Vec<String>,
    ) {
        let sse = answered
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"));
        match (partial, answered.end) {
            (Some(partial), BodyEnd::Complete) => {
                self.truncated_end(partial, sse, stream, redactor, notes);
            }
            (Some(partial), BodyEnd::Broken { .. }) => {
                let wanted = partial.frame_len.unwrap_or(0).max(partial.bytes + 1);
                let filler = filler(partial, sse, wanted);
                let whole = stream.sent;
                let cut = match stream.add_filler(partial, &filler, self.n, redactor) {
                    Some(_) => whole + partial.bytes,
                    None => whole,
                };
                stream.cut(cut);
            }
            (partial, BodyEnd::ClientLeft { at }) => {
                if partial.is_some() {
                    notes.push(format!(
                        "{}: the half event before the client left is not replayed; the stall is.",
                        self.label()
                    ));
                }
                let waited = at.saturating_sub(stream.last);
                let after_events = stream.body.frames.len();
                stream.body.effects.push(format!(
                    "stall = {{ seconds = {}, after_events = {after_events} }}",
                    stall_seconds(waited)
                ));
                stream.body.frames.push("stall".into());
            }
            (None, BodyEnd::Broken { .. }) => {
                let cut = stream.sent;
                stream.cut(cut);
            }
            (None, BodyEnd::Complete) => {}
        }
    }

    /// A stream that ended cleanly inside a frame: the frame's first half
    /// is what came (a frame fault `truncated` sends the first half of a
    /// frame twice as long), then the body ends.
    fn truncated_end(
        &self,
        partial: &Partial,
        sse: bool,
        stream: &mut WrittenStream,
        redactor: &mut Redactor,
        notes: &mut Vec<String>,
    ) {
        let filler = filler(partial, sse, 2 * partial.bytes);
        let at_event = stream.body.frames.len();
        let Some(len) = stream.add_filler(partial, &filler, self.n, redactor) else {
            notes.push(format!(
                "{}: the event cut short could not be written; the replay ends the stream after the last whole one.",
                self.label()
            ));
            return;
        };
        let half = len / 2;
        if half != partial.bytes {
            notes.push(format!(
                "{}: the event cut short replays {half} bytes long, not {}.",
                self.label(),
                partial.bytes
            ));
        }
        stream.body.effects.push(format!(
            "fault = {{ kind = \"truncated\", at_event = {at_event} }}"
        ));
        let label = stream.body.frames.pop().unwrap_or_default();
        stream.body.frames.push(format!("truncated:{label}"));
    }
}

/// A stream's answer as it is written.
#[derive(Default)]
struct WrittenStream {
    /// The `recorded` section so far.
    section: String,
    body: RuleBody,
    /// The bytes the replay sends before the end: redaction may change an
    /// event's length, so they are counted as the replay writes them.
    sent: usize,
    /// When the last event came, from the head.
    last: Duration,
}

impl WrittenStream {
    fn add(&mut self, written: WrittenEvent) {
        let _ = writeln!(self.section, "  {},", written.line);
        self.sent += written.len;
        self.body.frames.push(written.label);
    }

    /// The gap before an event that came `at`: whole milliseconds of the
    /// times since the head, so rounding does not add up over a stream.
    fn gap_to(&mut self, at: Duration) -> Duration {
        let gap = Duration::from_millis(millis(at).saturating_sub(millis(self.last)));
        self.last = at;
        gap
    }

    /// The event the stream was cut in, replayed by `filler`; its
    /// length, or `None` when the mock would refuse it (too large).
    fn add_filler(
        &mut self,
        partial: &Partial,
        filler: &EventBody,
        stream: usize,
        redactor: &mut Redactor,
    ) -> Option<usize> {
        let before = self.last;
        let gap = self.gap_to(partial.at.max(self.last));
        match event_line(gap, filler, stream, redactor) {
            Ok(written) => {
                let len = written.len;
                self.add(written);
                Some(len)
            }
            Err(_) => {
                self.last = before;
                None
            }
        }
    }

    /// The connection closed after `bytes` of the body.
    fn cut(&mut self, bytes: usize) {
        self.body
            .effects
            .push(format!("cut = {{ after_bytes = {bytes} }}"));
        self.body.frames.push(format!("cut:{bytes}"));
    }
}

/// A time as whole milliseconds, rounded.
fn millis(at: Duration) -> u64 {
    (at.as_secs_f64() * 1000.0).round() as u64
}

/// A request whose connection failed before any answer: reset there,
/// after the wait it took when that was a second or more.
fn unanswered(after: Duration) -> RuleBody {
    let mut body = RuleBody::default();
    if after >= Duration::from_secs(1) {
        body.effects
            .push(format!("stall = {{ seconds = {} }}", after.as_secs()));
        body.frames.push("stall".into());
    }
    body.effects.push("reset = \"before_head\"".into());
    body.frames.push("reset".into());
    body
}

/// A whole body's line: text when it is, else base64.
fn body_line(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => format!("body = {}\n", quoted(text)),
        Err(_) => {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(body);
            format!("body_base64 = {}\n", quoted(&encoded))
        }
    }
}

/// Long enough that the client gives up first again: twice what it
/// waited, at least a second.
fn stall_seconds(waited: Duration) -> u64 {
    (waited.as_secs_f64() * 2.0).ceil().max(1.0) as u64
}

/// A model id or path as a rule's glob that matches only itself.
fn glob_literal(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' => vec!['[', c, ']'],
            c => vec![c],
        })
        .collect()
}

/// The start of a `recorded` answer: status, headers, the wait for the head.
fn recorded_head(answered: &Answered, redactor: &mut Redactor) -> String {
    let mut out = String::from("[server.rules.answer.recorded]\n");
    let _ = writeln!(out, "status = {}", answered.status);
    // A name sent twice is one header of both values (the file's table
    // holds each name once).
    let mut joined: Vec<(String, String)> = Vec::new();
    for (name, value) in &answered.headers {
        match joined.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => {
                values.push_str(", ");
                values.push_str(value);
            }
            None => joined.push((name.clone(), value.clone())),
        }
    }
    let headers: Vec<String> = joined
        .iter()
        .filter(|(name, _)| {
            !MOCK_OWN_HEADERS.contains(&name.as_str())
                && !frames_the_body(name)
                && !is_hop_by_hop(name)
        })
        .filter_map(|(name, value)| {
            Some(format!(
                "{} = {}",
                quoted(name),
                quoted(&redactor.header(name, value)?)
            ))
        })
        .collect();
    let _ = writeln!(out, "headers = {{ {} }}", headers.join(", "));
    let ms = answered.head_after.as_millis();
    if ms > 0 {
        let _ = writeln!(out, "head_after_ms = {ms}");
    }
    out
}

/// Answer headers that differ with every request (dates, ids) or name the
/// path the answer took: the mock writes its own, so the recorded ones are
/// not replayed. (What frames the body or the connection, the mock refuses
/// in an answer: `frames_the_body`, `is_hop_by_hop`.)
const MOCK_OWN_HEADERS: &[&str] = &[
    "date",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-id-2",
    "x-amzn-trace-id",
    "x-amz-apigw-id",
    "server",
    "via",
    "x-cache",
    "request-id",
];

/// An event as the file writes it, how many bytes the replay sends for
/// it, and the journal's label of it: both the mock's own (its writer,
/// its labels), so they cannot drift from what the replay does.
struct WrittenEvent {
    line: String,
    len: usize,
    label: String,
}

impl WrittenEvent {
    /// `line`, as the mock replays `event`; why not, for an event the
    /// mock refuses (too large for a frame, a frame it cannot read).
    fn of(line: String, event: RecordedEvent) -> Result<Self, String> {
        let label = event.label().map_err(|e| e.to_string())?.to_string();
        let replay = Renderer::new(0).recorded(&Recording::events(200, &[], vec![event]));
        Ok(Self {
            line,
            len: replay.body.len(),
            label,
        })
    }
}

/// One event, as an inline table of the `events` array; why not, for an
/// event a recording cannot hold.
// Long because it has one arm per kind of event, each writing the event's
// line and the mock's event from the same values, where they must agree.
fn event_line(
    gap: Duration,
    event: &EventBody,
    stream: usize,
    redactor: &mut Redactor,
) -> Result<WrittenEvent, String> {
    let after = format!("after_ms = {}", gap.as_millis());
    match event {
        EventBody::Chunk { json, padding } => {
            // A chunk without padding gets an empty one: the mock's own
            // would be random, and the cut offsets follow these bytes.
            let json = redactor.answer_event(stream, json);
            let padding = padding.as_deref().unwrap_or_default();
            let line = format!(
                "{{ {after}, chunk = {}, p = {} }}",
                quoted(&json),
                quoted(padding)
            );
            WrittenEvent::of(line, RecordedEvent::chunk(gap, json).padded(padding))
        }
        EventBody::Exception { kind, message } => {
            let message = redactor.text(message);
            let exception: ExceptionType = kind.parse().map_err(|e| format!("{e}"))?;
            let line = format!(
                "{{ {after}, exception = {}, message = {} }}",
                quoted(kind),
                quoted(&message)
            );
            WrittenEvent::of(line, RecordedEvent::exception(gap, exception, message))
        }
        EventBody::Frame { headers, bytes } => {
            use base64::Engine as _;
            let bytes = stream::redacted_frame(headers, bytes, stream, redactor)
                .ok_or("a frame whose payload held a secret cannot be written again")?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let line = format!("{{ {after}, frame_base64 = {} }}", quoted(&encoded));
            WrittenEvent::of(line, RecordedEvent::frame(gap, bytes))
        }
        EventBody::Sse { event, data } => {
            let data = if stream::json_type(data).is_some() {
                redactor.answer_event(stream, data)
            } else {
                redactor.text(data)
            };
            let line = format!(
                "{{ {after}, event = {}, data = {} }}",
                quoted(event),
                quoted(&data)
            );
            WrittenEvent::of(line, RecordedEvent::sse(gap, event.clone(), data))
        }
    }
}

/// The event the replay cuts inside: of the type the cut one carried (as
/// far as it arrived), padded to `wanted` bytes when it can be.
fn filler(partial: &Partial, sse: bool, wanted: usize) -> EventBody {
    let kind = partial
        .event_type
        .clone()
        .unwrap_or_else(|| "content_block_delta".to_owned());
    if sse {
        let bare = |p: usize| format!("{{\"type\":\"{kind}\",\"p\":\"{}\"}}", "x".repeat(p));
        let short = Renderer::new(0)
            .recorded(&Recording::events(
                200,
                &[],
                vec![RecordedEvent::sse(Duration::ZERO, kind.as_str(), bare(0))],
            ))
            .body
            .len();
        let data = bare(wanted.saturating_sub(short));
        return EventBody::Sse { event: kind, data };
    }
    let json = format!("{{\"type\":\"{kind}\"}}");
    let bare = Renderer::new(0)
        .recorded(&Recording::events(
            200,
            &[],
            vec![RecordedEvent::chunk(Duration::ZERO, json.as_str()).padded("")],
        ))
        .body
        .len();
    EventBody::Chunk {
        json,
        padding: Some("x".repeat(wanted.saturating_sub(bare))),
    }
}

/// The error as a catalogue `error` answer, when the mock renders exactly
/// these bytes for it (Bedrock's REST-JSON shape); `None` otherwise.
fn catalogue_error(answered: &Answered, code: &str, body: &[u8]) -> Option<String> {
    let known = ErrorCode::named(code)?;
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("message")?
        .as_str()?
        .to_owned();
    let retry_after: Option<u64> = answered.header("retry-after").and_then(|v| v.parse().ok());
    let mut error = known.with_message(message.clone());
    if let Some(seconds) = retry_after {
        error = error.with_retry_after(seconds);
    }
    let rendered = Renderer::new(0).error(&error);
    let same = rendered.status == answered.status
        && rendered.body == body
        && rendered.header("x-amzn-errortype") == answered.header("x-amzn-errortype");
    if !same {
        return None;
    }
    let mut line = format!("answer = {{ error = {{ code = {}", quoted(code));
    if message != known.message() {
        let _ = write!(line, ", message = {}", quoted(&message));
    }
    if let Some(seconds) = retry_after {
        let _ = write!(line, ", retry_after = {seconds}");
    }
    line.push_str(" } }\n");
    Some(line)
}
