//! The geometry of one run's timeline, apart from how it is drawn: a lane
//! per client and endpoint, a bar per request, the time that passed
//! between requests, retries, and the moments credentials were issued and
//! the run ended.
//!
//! The horizontal axis is the run's clock, read in order: each request
//! takes one slot, in arrival order, and the time that passed before it
//! opens a gap whose width grows with its length (logarithmically, up to
//! [`MAX_GAP`]), so a 0.5 s backoff and an 8 h night both show, and
//! requests at one moment of the session's clock (which moves only when
//! the client waits) still stand apart.

use std::time::Duration;

use bedrock_mock_server::{FrameRecord, Operation, RecordedRequest};

use crate::scenario::check::resends;
use crate::scenario::record::{Recording, RequestRecord};

/// Where the first slot starts (room for the lane names).
pub const LEFT: f64 = 170.0;
/// The width of one request's slot.
pub const SLOT: f64 = 34.0;
/// The height of one lane.
pub const LANE_HEIGHT: f64 = 40.0;
/// The widest gap, for the longest waits.
pub const MAX_GAP: f64 = 120.0;
/// A gap at least this wide gets its length written under it.
pub const LABELLED_GAP: f64 = 16.0;

/// The endpoint a request went to, one lane each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// Bedrock's runtime: the invoke calls.
    Runtime,
    /// Bedrock's control plane: inference profiles.
    ControlPlane,
    /// Mantle, the Anthropic Messages API on Bedrock.
    Mantle,
    /// STS.
    Sts,
    /// The IAM Identity Center (SSO) portal.
    Sso,
    /// A path the mock routes to no operation.
    Unrouted,
}

impl Endpoint {
    /// The endpoint that serves `operation`.
    pub fn of(operation: Option<Operation>) -> Self {
        use Operation::*;
        match operation {
            Some(InvokeModel | InvokeModelWithResponseStream) => Self::Runtime,
            Some(ListInferenceProfiles | GetInferenceProfile) => Self::ControlPlane,
            Some(MantleMessages | MantleMessagesStream) => Self::Mantle,
            Some(GetCallerIdentity | AssumeRole | AssumeRoleWithWebIdentity) => Self::Sts,
            Some(GetRoleCredentials) => Self::Sso,
            // `Operation` is non-exhaustive: one the mock adds later is
            // drawn in the lane of requests it did not route until it is
            // given a lane here.
            Some(_) | None => Self::Unrouted,
        }
    }

    /// Its name, as the lane is labelled.
    pub fn name(self) -> &'static str {
        match self {
            Self::Runtime => "runtime",
            Self::ControlPlane => "control plane",
            Self::Mantle => "Mantle",
            Self::Sts => "STS",
            Self::Sso => "SSO",
            Self::Unrouted => "no operation",
        }
    }
}

/// What a request's answer was, as its bar is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// 2xx (or 1xx, 3xx), the stream whole.
    Ok,
    /// 429.
    Throttled,
    /// Another 4xx.
    ClientError,
    /// 5xx.
    ServerError,
    /// Nothing was sent: the connection was cut before the head.
    NoAnswer,
    /// A 2xx whose stream failed or broke (an exception frame, a fault,
    /// a cut, a client that gave up).
    Broken,
}

impl Tone {
    /// The tone of `request`'s answer.
    pub fn of(request: &RecordedRequest) -> Self {
        let broken = request
            .frames
            .iter()
            .any(|f| f.is_failure() || f.breaks_stream());
        match request.status {
            None => Self::NoAnswer,
            Some(429) => Self::Throttled,
            Some(500..) => Self::ServerError,
            Some(400..) => Self::ClientError,
            Some(_) if broken => Self::Broken,
            Some(_) => Self::Ok,
        }
    }

    /// Every tone, in the legend's order.
    pub const ALL: [Tone; 6] = [
        Self::Ok,
        Self::Throttled,
        Self::ClientError,
        Self::ServerError,
        Self::Broken,
        Self::NoAnswer,
    ];

    /// Its CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Throttled => "throttled",
            Self::ClientError => "client-error",
            Self::ServerError => "server-error",
            Self::NoAnswer => "no-answer",
            Self::Broken => "broken",
        }
    }

    /// What it means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Ok => "2xx",
            Self::Throttled => "429 throttled",
            Self::ClientError => "other 4xx",
            Self::ServerError => "5xx",
            Self::Broken => "2xx, stream failed or broke",
            Self::NoAnswer => "no answer (connection cut)",
        }
    }
}

/// One lane: a client's requests to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The client's name.
    pub client: String,
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// One request's bar.
#[derive(Debug)]
pub struct Bar<'a> {
    /// The request.
    pub request: &'a RequestRecord,
    /// Where its slot starts.
    pub x: f64,
    /// Its lane (an index into [`Timeline::lanes`]).
    pub lane: usize,
    /// Its colour.
    pub tone: Tone,
    /// What rules did to its answer and how its stream ended badly:
    /// `stall`, `reset`, `gave up`, a fault's kind, an exception's type.
    pub effects: Vec<String>,
}

/// Time that passed before a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// Where it starts.
    pub x: f64,
    /// How wide it is drawn.
    pub width: f64,
    /// How much time passed.
    pub length: Duration,
}

/// A request resent after the one before failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The failed request's bar (an index into [`Timeline::bars`]).
    pub from: usize,
    /// The resent request's bar.
    pub to: usize,
    /// The time between them.
    pub after: Duration,
}

/// A moment across every lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Where it is drawn.
    pub x: f64,
    /// When, from the run's start.
    pub at: Duration,
    /// What happened.
    pub what: String,
}

/// One run's timeline.
#[derive(Debug)]
pub struct Timeline<'a> {
    /// The lanes, top to bottom: by client, then endpoint.
    pub lanes: Vec<Lane>,
    /// A bar per request, in arrival order.
    pub bars: Vec<Bar<'a>>,
    /// The time before each bar, in the same order.
    pub gaps: Vec<Gap>,
    /// Requests resent after a failure.
    pub retries: Vec<Retry>,
    /// Credentials issued, the run's end.
    pub marks: Vec<Mark>,
    /// Its whole width.
    pub width: f64,
}

/// How wide the gap of `length` is drawn: nothing under a millisecond,
/// then growing with the logarithm of its length up to [`MAX_GAP`].
pub fn gap_width(length: Duration) -> f64 {
    let ms = length.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        return 0.0;
    }
    ((1.0 + ms / 100.0).log2() * 12.0).min(MAX_GAP)
}

/// Lays out `recording`'s timeline.
pub fn layout(recording: &Recording) -> Timeline<'_> {
    let lanes = lanes(recording);
    let mut bars = Vec::with_capacity(recording.requests.len());
    let mut gaps = Vec::with_capacity(recording.requests.len());
    let mut x = LEFT;
    let mut before = Duration::ZERO;
    for request in &recording.requests {
        let length = request.at.saturating_sub(before);
        let width = gap_width(length);
        gaps.push(Gap { x, width, length });
        x += width;
        let lane = Lane {
            client: request.client.clone(),
            endpoint: Endpoint::of(request.request.operation),
        };
        bars.push(Bar {
            request,
            x,
            lane: lanes.iter().position(|l| *l == lane).unwrap_or_default(),
            tone: Tone::of(&request.request),
            effects: effects(&request.request),
        });
        x += SLOT;
        before = request.at;
    }
    let end_gap = gap_width(recording.length.saturating_sub(before));
    let mut timeline = Timeline {
        lanes,
        retries: retries(&bars),
        bars,
        gaps,
        marks: Vec::new(),
        width: x + end_gap + SLOT,
    };
    timeline.marks = marks(recording, &timeline, x + end_gap);
    timeline
}

/// The lanes that have requests: each client's (in the order the
/// recording lists them), its endpoints in [`Endpoint`]'s order.
fn lanes(recording: &Recording) -> Vec<Lane> {
    let mut lanes: Vec<(usize, Lane)> = Vec::new();
    for request in &recording.requests {
        let lane = Lane {
            client: request.client.clone(),
            endpoint: Endpoint::of(request.request.operation),
        };
        if !lanes.iter().any(|(_, l)| *l == lane) {
            let order = recording
                .clients
                .iter()
                .position(|c| c.name == request.client)
                .unwrap_or(usize::MAX);
            lanes.push((order, lane));
        }
    }
    lanes.sort_by(|(a, x), (b, y)| (a, &x.client, x.endpoint).cmp(&(b, &y.client, y.endpoint)));
    lanes.into_iter().map(|(_, lane)| lane).collect()
}

/// What rules did to `request`'s answer and how its stream ended badly.
fn effects(request: &RecordedRequest) -> Vec<String> {
    request
        .frames
        .iter()
        .filter_map(|frame| match frame {
            FrameRecord::Stall => Some("stall".to_owned()),
            FrameRecord::GaveUp => Some("gave up".to_owned()),
            FrameRecord::Reset => Some("reset".to_owned()),
            FrameRecord::Cut(bytes) => Some(format!("cut after {bytes} bytes")),
            FrameRecord::WriteTimeout => Some("write timeout".to_owned()),
            FrameRecord::Fault { kind, .. } => Some(kind.name().to_owned()),
            FrameRecord::Exception(kind) => Some(format!("exception {kind}")),
            FrameRecord::Sse(event) if frame.is_failure() => Some(format!("event {event}")),
            FrameRecord::Chunk(_) | FrameRecord::Sse(_) => None,
            // `FrameRecord` is non-exhaustive: a record the mock adds later
            // is shown by its journal name.
            other => Some(other.to_string()),
        })
        .collect()
}

/// Each request that resends the one its client sent before it (calls
/// that serve credentials in between left out, as the retry count does).
fn retries(bars: &[Bar<'_>]) -> Vec<Retry> {
    let mut found = Vec::new();
    for (to, bar) in bars.iter().enumerate() {
        let request = &bar.request.request;
        if request.operation.is_some_and(Operation::serves_credentials) {
            continue;
        }
        let before = bars[..to].iter().rposition(|b| {
            b.request.client == bar.request.client
                && !b
                    .request
                    .request
                    .operation
                    .is_some_and(Operation::serves_credentials)
        });
        if let Some(from) = before
            && resends(&bars[from].request.request, request)
        {
            found.push(Retry {
                from,
                to,
                after: bar.request.at.saturating_sub(bars[from].request.at),
            });
        }
    }
    found
}

/// The moments credentials were issued, and the run's end at `end_x`.
fn marks(recording: &Recording, timeline: &Timeline<'_>, end_x: f64) -> Vec<Mark> {
    let first_uses = first_uses_of_keys(timeline);
    let issued = &recording.issued_at;
    let mut marks: Vec<Mark> = issued
        .iter()
        .enumerate()
        .map(|(n, &at)| {
            // New credentials are first used right after they are issued:
            // at one moment of the session's clock, the last first uses of
            // an access key at that moment say where the issues were.
            let at_once = issued.iter().filter(|&&t| t == at).count();
            let rank = issued[..n].iter().filter(|&&t| t == at).count();
            let uses: Vec<usize> = first_uses
                .iter()
                .copied()
                .filter(|&b| timeline.bars[b].request.at == at)
                .collect();
            let x = match uses.len().checked_sub(at_once) {
                Some(skip) => timeline.bars[uses[skip + rank]].x,
                None => x_at(timeline, at, end_x),
            };
            Mark {
                x,
                at,
                what: format!("credentials #{} issued", n + 1),
            }
        })
        .collect();
    let ends: Vec<String> = recording
        .clients
        .iter()
        .map(|c| match recording.clients.len() {
            1 => c.ended.clone(),
            _ => format!("{}: {}", c.name, c.ended),
        })
        .collect();
    marks.push(Mark {
        x: end_x,
        at: recording.length,
        what: format!("end: {}", ends.join("; ")),
    });
    marks
}

/// The bars of the requests that used an access key no request before
/// them used (the first use of credentials), in order.
fn first_uses_of_keys(timeline: &Timeline<'_>) -> Vec<usize> {
    let mut seen: Vec<&str> = Vec::new();
    let mut first = Vec::new();
    for (n, bar) in timeline.bars.iter().enumerate() {
        if let Some(key) = bar.request.request.auth.access_key_id.as_deref()
            && !seen.contains(&key)
        {
            seen.push(key);
            first.push(n);
        }
    }
    first
}

/// Where moment `at` is on `timeline`: inside the gap it falls in, in
/// proportion; at the middle of the slots of requests that arrived at that
/// very moment (the order within one moment of the session's clock is not
/// recorded); past the last request, before `end_x`.
fn x_at(timeline: &Timeline<'_>, at: Duration, end_x: f64) -> f64 {
    let same: Vec<&Bar<'_>> = timeline
        .bars
        .iter()
        .filter(|b| b.request.at == at)
        .collect();
    if let (Some(first), Some(last)) = (same.first(), same.last()) {
        return (first.x + last.x + SLOT) / 2.0;
    }
    let mut before = Duration::ZERO;
    for (bar, gap) in timeline.bars.iter().zip(&timeline.gaps) {
        if bar.request.at > at {
            let span = (bar.request.at - before).as_secs_f64();
            let into = (at.saturating_sub(before)).as_secs_f64();
            return gap.x + gap.width * (into / span);
        }
        before = bar.request.at;
    }
    let last_x = timeline.bars.last().map_or(LEFT, |b| b.x + SLOT);
    last_x + (end_x - last_x) / 2.0
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use bedrock_mock_server::{AuthRecord, AuthScheme, Timestamp};

    use super::*;
    use crate::scenario::record::{ClientRecord, RunClock};

    fn request(
        client: &str,
        at_ms: u64,
        operation: Operation,
        status: u16,
        key: &str,
    ) -> RequestRecord {
        RequestRecord {
            client: client.to_owned(),
            at: Duration::from_millis(at_ms),
            request: {
                let mut request = RecordedRequest::new("POST", "/model/m/invoke");
                request.client = Some(client.to_owned());
                request.time = Timestamp(UNIX_EPOCH + Duration::from_millis(at_ms));
                request.operation = Some(operation);
                request.model_id = Some("m".into());
                request.auth = AuthRecord::new(AuthScheme::SigV4);
                request.auth.access_key_id = Some(key.into());
                request.auth.region = Some("us-east-1".into());
                request.auth.service = Some("bedrock".into());
                request.auth.accepted = status != 403;
                request.status = Some(status);
                request
            },
            listed_as: 0,
        }
    }

    fn client(name: &str) -> ClientRecord {
        ClientRecord {
            name: name.into(),
            program: "bedrock-client (in-process)".into(),
            stdout: String::new(),
            stderr: String::new(),
            ended: "exit 0".into(),
            credential_counts: Vec::new(),
        }
    }

    #[test]
    fn each_client_has_its_lanes_and_its_own_retries() {
        use Operation::*;
        let recording = Recording {
            clock: RunClock::Session,
            start: SystemTime::UNIX_EPOCH,
            length: Duration::from_secs(2),
            clients: vec![client("first"), client("second")],
            requests: vec![
                request("second", 0, GetCallerIdentity, 200, "AKIDSECOND"),
                request("first", 0, InvokeModel, 429, "AKIDFIRST"),
                request("second", 0, InvokeModel, 200, "AKIDSECOND"),
                request("first", 500, InvokeModel, 200, "ASIAISSUED"),
            ],
            issued_at: vec![Duration::from_millis(500)],
            unmet_rules: None,
        };
        let timeline = layout(&recording);
        let lanes: Vec<(&str, Endpoint)> = timeline
            .lanes
            .iter()
            .map(|l| (l.client.as_str(), l.endpoint))
            .collect();
        assert_eq!(
            lanes,
            [
                ("first", Endpoint::Runtime),
                ("second", Endpoint::Runtime),
                ("second", Endpoint::Sts)
            ]
        );
        assert_eq!(timeline.bars[0].lane, 2);
        assert_eq!(timeline.bars[1].tone, Tone::Throttled);
        // The first client's resend, across the second client's request
        // between them; the 0.5 s before it drawn as a gap.
        assert_eq!(
            timeline.retries,
            [Retry {
                from: 1,
                to: 3,
                after: Duration::from_millis(500)
            }]
        );
        assert_eq!(timeline.gaps[3].length, Duration::from_millis(500));
        assert!(timeline.gaps[3].width >= LABELLED_GAP);
        assert_eq!(
            timeline.bars[3].x,
            timeline.gaps[3].x + timeline.gaps[3].width
        );
        // Credentials issued at the moment of a request are drawn before
        // the request that first used their key; the run's end after the
        // last bar.
        assert_eq!(timeline.marks[0].x, timeline.bars[3].x);
        assert_eq!(timeline.marks[1].what, "end: first: exit 0; second: exit 0");
        assert!(timeline.marks[1].x > timeline.bars[3].x);
    }

    #[test]
    fn gaps_grow_with_the_wait_and_stop_growing() {
        assert_eq!(gap_width(Duration::ZERO), 0.0);
        let half = gap_width(Duration::from_millis(500));
        let one = gap_width(Duration::from_secs(1));
        let minute = gap_width(Duration::from_secs(60));
        assert!(
            half >= LABELLED_GAP && half < one && one < minute,
            "{half} {one} {minute}"
        );
        assert_eq!(gap_width(Duration::from_secs(8 * 3600)), MAX_GAP);
    }
}
