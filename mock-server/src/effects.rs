//! What a rule does to delivery, beside choosing the answer: a silence
//! ([`Stall`]), a broken frame ([`FrameFault`]), a cut connection
//! ([`Reset`]), a body sent a few bytes at a time ([`Dribble`]), a
//! connection closed partway through the body ([`Cut`]). A rule
//! carries them as one [`Effects`] value, and so does the rule the server
//! chose for a request; `delivery` applies them. A new effect is a field
//! here, its field in a rule's file format (`rules`), and its step in
//! `delivery`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::listed::listed_enum;

/// Everything a rule does to the delivery of its answer.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Effects {
    /// A time the server says nothing, before the answer's head or inside
    /// its stream.
    pub stall: Option<Stall>,
    /// A fault in one frame of a streamed answer (whole answers are sent
    /// as they are).
    pub fault: Option<FrameFault>,
    /// The connection cut outside any frame: before the answer's head, or
    /// right after it.
    pub reset: Option<Reset>,
    /// The answer's body sent a few bytes at a time.
    pub dribble: Option<Dribble>,
    /// The connection closed partway through the answer's body.
    pub cut: Option<Cut>,
}

impl Effects {
    /// These effects with `stall`.
    ///
    /// ```
    /// use bedrock_mock_server::{Cut, Dribble, Effects, Stall};
    ///
    /// let effects = Effects::default()
    ///     .with_stall(Stall::before_head(2.0))
    ///     .with_dribble(Dribble::new(7, 10));
    /// assert!(effects.cut.is_none());
    /// let cut = Effects::default().with_cut(Cut::after(100));
    /// assert_eq!(cut.cut.unwrap().after_bytes, 100);
    /// ```
    pub fn with_stall(mut self, stall: Stall) -> Self {
        self.stall = Some(stall);
        self
    }

    /// These effects with a fault in one frame.
    pub fn with_fault(mut self, fault: FrameFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// These effects with the connection reset.
    pub fn with_reset(mut self, reset: Reset) -> Self {
        self.reset = Some(reset);
        self
    }

    /// These effects with the body dribbled.
    pub fn with_dribble(mut self, dribble: Dribble) -> Self {
        self.dribble = Some(dribble);
        self
    }

    /// These effects with the body cut.
    pub fn with_cut(mut self, cut: Cut) -> Self {
        self.cut = Some(cut);
        self
    }

    /// Whether the effects change what a normal answer's stream contains
    /// (so they apply only where there is a normal answer).
    pub(crate) fn changes_content(&self) -> bool {
        self.fault.is_some()
    }
}

/// The longest stall a rule may ask for: a day, far past every client
/// deadline.
pub const MAX_STALL_SECONDS: f64 = 86_400.0;

/// The longest pause of a dribble. Its pauses are real time (also on a
/// fixed clock) and come between every two pieces, so a long one would
/// hold a connection for pieces × pause; a long silence is a [`Stall`],
/// which follows the clock and ends when the server stops.
pub const MAX_DRIBBLE_PAUSE_MS: u64 = 1000;

/// A time the server says nothing. On a running clock it is real time; on
/// a fixed clock it is virtual: decided against the deadlines of an
/// in-process client sharing the clock (see [`crate::Clock::wait`]), or
/// over when the test moves the clock past it. A client that gave up
/// gets nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StallFields", into = "StallFields")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(with = "StallFields"))]
#[non_exhaustive]
pub struct Stall {
    /// How long, in seconds: 0 to 86400 (a day).
    pub seconds: f64,
    /// Where.
    pub at: StallPoint,
}

/// Where a stall happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StallPoint {
    /// Before the response's head, for any answer.
    BeforeHead,
    /// Inside a stream, after this many frames (events on Mantle; the
    /// stream's length or more stalls before its end).
    AfterEvents(usize),
}

/// A time the server says nothing. On a running clock it is real time; on
/// a fixed clock it is virtual: decided against the deadlines of an
/// in-process client sharing the clock, or over when the test moves the
/// clock past it. A client that gave up gets nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Stall"))]
struct StallFields {
    /// How long, in seconds: 0 to 86400 (a day).
    seconds: f64,
    /// Where in a stream: after this many frames (events on Mantle; the
    /// stream's length or more stalls before its end). Absent: before the
    /// response's head, for any answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_events: Option<usize>,
}

impl From<StallFields> for Stall {
    fn from(fields: StallFields) -> Self {
        Self {
            seconds: fields.seconds,
            at: fields
                .after_events
                .map_or(StallPoint::BeforeHead, StallPoint::AfterEvents),
        }
    }
}

impl From<Stall> for StallFields {
    fn from(stall: Stall) -> Self {
        Self {
            seconds: stall.seconds,
            after_events: match stall.at {
                StallPoint::BeforeHead => None,
                StallPoint::AfterEvents(n) => Some(n),
            },
        }
    }
}

impl Stall {
    /// Nothing for `seconds` before the response's head.
    pub fn before_head(seconds: f64) -> Self {
        Self {
            seconds,
            at: StallPoint::BeforeHead,
        }
    }

    /// Nothing for `seconds` after `events` frames of a stream.
    pub fn after_events(events: usize, seconds: f64) -> Self {
        Self {
            seconds,
            at: StallPoint::AfterEvents(events),
        }
    }

    /// The stall's length; a negative or non-finite number is no stall,
    /// and anything past a day is a day (`ServerConfig::check` and
    /// `Rule::check` refuse both, so only a rule built and never checked
    /// gets here with one).
    pub fn duration(&self) -> Duration {
        if self.seconds.is_finite() && self.seconds > 0.0 {
            Duration::from_secs_f64(self.seconds.min(MAX_STALL_SECONDS))
        } else {
            Duration::ZERO
        }
    }
}

/// Where a rule cuts a connection outside any frame (`fault.kind =
/// "reset"` cuts one mid-frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Dribble {
    /// Bytes in each piece (1 or more).
    pub bytes: usize,
    /// Milliseconds between pieces, at most 1000 (for a long silence, use
    /// a stall).
    #[serde(default)]
    pub every_ms: u64,
}

impl Dribble {
    /// Pieces of `bytes` bytes, `every_ms` milliseconds apart.
    ///
    /// ```
    /// use bedrock_mock_server::{Dribble, Match, Operation, Rule};
    ///
    /// let rule = Rule::dribbling(Match::operation(Operation::InvokeModel), Dribble::new(1, 5));
    /// # drop(rule);
    /// ```
    pub fn new(bytes: usize, every_ms: u64) -> Self {
        Self { bytes, every_ms }
    }
}

/// The connection closed after the first `after_bytes` bytes of the
/// answer's body, wherever they end: inside a frame, a JSON answer or
/// an event's line, as a gateway that drops the connection does. The head
/// goes out whole; an answer no longer than `after_bytes` is sent whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Cut {
    /// Bytes of the body sent before the connection closes (0: none, as
    /// `reset = "after_head"`).
    pub after_bytes: u64,
}

impl Cut {
    /// The connection closed after `after_bytes` bytes of the body.
    ///
    /// ```
    /// use bedrock_mock_server::Cut;
    ///
    /// assert_eq!(Cut::after(512).after_bytes, 512);
    /// ```
    pub fn after(after_bytes: u64) -> Self {
        Self { after_bytes }
    }
}

/// A fault in one frame of a streamed answer.
///
/// ```
/// use bedrock_mock_server::{FrameFault, FrameFaultKind, Match, Operation, Rule};
///
/// // The third event's message CRC is wrong.
/// let rule = Rule::faulting(
///     Match::operation(Operation::InvokeModelWithResponseStream),
///     FrameFault::at(FrameFaultKind::BadMessageCrc, 2),
/// );
/// assert!(rule.answer.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FrameFault {
    /// What goes wrong.
    pub kind: FrameFaultKind,
    /// The frame it hits, from 0 (past the end: the last one).
    #[serde(default)]
    pub at_event: usize,
}

impl FrameFault {
    /// `kind` at frame `at_event`.
    pub fn at(kind: FrameFaultKind, at_event: usize) -> Self {
        Self { kind, at_event }
    }
}

listed_enum! {
/// The ways a frame goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum FrameFaultKind {
    /// Half the frame is sent, then the stream ends cleanly.
    Truncated,
    /// Half the frame is sent, then the connection is reset (the chunked
    /// body never ends).
    Reset,
    /// The prelude's CRC is wrong.
    BadPreludeCrc,
    /// The message's CRC is wrong.
    BadMessageCrc,
    /// The prelude claims a 2 GiB frame (its CRC made to match).
    ForgedLength,
    /// The first header has value type 15, which does not exist (both
    /// CRCs made to match).
    UnknownHeaderType,
    /// A well-formed frame whose content is not an event: a chunk whose
    /// `bytes` is not base64 of JSON; on Mantle, `data:` that is not JSON.
    BadData,
    /// The frame is sent twice.
    Duplicated,
    /// The frame is left out (at 0: no `message_start`; at the last: no
    /// `message_stop`).
    Dropped,
    /// No frame at all: a 200 with an empty stream.
    Empty,
}
}

impl FrameFaultKind {
    /// The kind's name, as scenario files and the journal write it
    /// (`bad_message_crc`; serde's name, which a test holds it to).
    pub fn name(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::Reset => "reset",
            Self::BadPreludeCrc => "bad_prelude_crc",
            Self::BadMessageCrc => "bad_message_crc",
            Self::ForgedLength => "forged_length",
            Self::UnknownHeaderType => "unknown_header_type",
            Self::BadData => "bad_data",
            Self::Duplicated => "duplicated",
            Self::Dropped => "dropped",
            Self::Empty => "empty",
        }
    }

    /// The kind named `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// Whether the fault breaks the binary framing itself (a CRC, a
    /// length, a header's type), which Server-Sent Events do not have.
    pub(crate) fn breaks_framing(self) -> bool {
        match self {
            Self::BadPreludeCrc
            | Self::BadMessageCrc
            | Self::ForgedLength
            | Self::UnknownHeaderType => true,
            Self::Truncated
            | Self::Reset
            | Self::BadData
            | Self::Duplicated
            | Self::Dropped
            | Self::Empty => false,
        }
    }

    /// Whether a frame hit by this fault leaves the stream unreadable from
    /// there on: the reader fails at it, so what the server wrote after it
    /// depends on when the reader hung up.
    pub fn breaks_stream(self) -> bool {
        match self {
            Self::Truncated
            | Self::Reset
            | Self::BadPreludeCrc
            | Self::BadMessageCrc
            | Self::ForgedLength
            | Self::UnknownHeaderType
            | Self::BadData => true,
            Self::Duplicated | Self::Dropped | Self::Empty => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_reads_and_writes_as_before() {
        let head: Stall = serde_json::from_str(r#"{"seconds": 600}"#).unwrap();
        assert_eq!(head, Stall::before_head(600.0));
        let inside: Stall = serde_json::from_str(r#"{"seconds": 2.5, "after_events": 3}"#).unwrap();
        assert_eq!(inside, Stall::after_events(3, 2.5));
        assert_eq!(
            serde_json::to_string(&inside).unwrap(),
            r#"{"seconds":2.5,"after_events":3}"#
        );
        assert_eq!(
            serde_json::to_string(&head).unwrap(),
            r#"{"seconds":600.0}"#
        );
        let typo = serde_json::from_str::<Stall>(r#"{"seconds": 1, "after": 3}"#).unwrap_err();
        assert!(typo.to_string().contains("unknown field `after`"), "{typo}");
    }

    #[test]
    fn fault_kinds_are_named_as_serde_names_them() {
        for &kind in FrameFaultKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(FrameFaultKind::named(kind.name()), Some(kind));
        }
        assert_eq!(FrameFaultKind::BadPreludeCrc.name(), "bad_prelude_crc");
        assert_eq!(FrameFaultKind::named("bad_crc"), None);
    }
}
