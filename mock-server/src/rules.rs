//! Rules: answers that override the account's normal behaviour for the
//! requests they match, like wiremock's mocks.
//!
//! A rule is data (it deserializes from a scenario file) and is checked
//! before the normal handlers, after authentication. Rules are tried in the
//! order they were added; the first that matches and still has uses left
//! answers. Besides its [`Answer`], a rule may bend the answer's delivery
//! ([`Effects`]: stalls, frame faults, resets, dribbles).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::effects::{Cut, Dribble, Effects, FrameFault, Reset, Stall};
use crate::errors::{AwsError, ErrorCode, ErrorOrigin, ExceptionType};
use crate::operation::{Operation, Protocol};
use crate::recorded::{Recording, RecordingForm};
use crate::reply::Reply;
use crate::secret_headers::may_hold_a_secret;

/// A rule: which requests, what answer, how often.
///
/// ```
/// use bedrock_mock_server::{Answer, ErrorCode, Match, Operation, Rule};
///
/// let rule = Rule::new(
///     Match::operation(Operation::InvokeModel).model("us.anthropic.claude-opus-5-5"),
///     Answer::error(ErrorCode::ResourceNotFoundException),
/// )
/// .times(1)
/// .expect(1);
/// assert_eq!(rule.times, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(from = "RuleFields", into = "RuleFields")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(with = "RuleFields"))]
pub struct Rule {
    /// A name for the journal and for expectation failures.
    pub name: Option<String>,
    /// Which requests it answers.
    pub when: Match,
    /// What it answers; the request's normal answer when absent (a rule
    /// that only stalls).
    pub answer: Option<Answer>,
    /// What it does to the delivery of the answer.
    pub effects: Effects,
    /// Answers this many requests, then lets later requests fall through.
    pub times: Option<u32>,
    /// How many requests it must have answered by the end (a number or
    /// a range); checked when the server stops (or by
    /// `MockBedrock::verify`).
    pub expect: Option<Times>,
}

/// A rule: which requests, what answer, how often. (As files write it:
/// the effects are fields of the rule itself.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Rule"))]
struct RuleFields {
    /// A name for the journal and for expectation failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Which requests it answers.
    #[serde(default)]
    when: Match,
    /// What it answers; the request's normal answer when absent (a rule
    /// that only stalls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer: Option<Answer>,
    /// A time the server says nothing, before the answer's head or inside
    /// its stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stall: Option<Stall>,
    /// A fault in one frame of a streamed answer (whole answers are sent
    /// as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fault: Option<FrameFault>,
    /// The connection cut outside any frame: before the answer's head, or
    /// right after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reset: Option<Reset>,
    /// The answer's body sent a few bytes at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dribble: Option<Dribble>,
    /// The connection closed after this many bytes of the answer's body,
    /// mid-frame if that is where they end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cut: Option<Cut>,
    /// Answers this many requests, then lets later requests fall through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
    /// How many requests it must have answered by the end: a number
    /// (`expect = 2`) or a range (`expect = { at_least = 1, at_most = 3 }`,
    /// either bound alone); checked when the server stops (or by
    /// `MockBedrock::verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect: Option<Times>,
}

impl From<RuleFields> for Rule {
    fn from(f: RuleFields) -> Self {
        let effects = Effects {
            stall: f.stall,
            fault: f.fault,
            reset: f.reset,
            dribble: f.dribble,
            cut: f.cut,
        };
        Self {
            name: f.name,
            when: f.when,
            answer: f.answer,
            effects,
            times: f.times,
            expect: f.expect,
        }
    }
}

impl From<Rule> for RuleFields {
    fn from(rule: Rule) -> Self {
        let Effects {
            stall,
            fault,
            reset,
            dribble,
            cut,
        } = rule.effects;
        Self {
            name: rule.name,
            when: rule.when,
            answer: rule.answer,
            stall,
            fault,
            reset,
            dribble,
            cut,
            times: rule.times,
            expect: rule.expect,
        }
    }
}

impl Rule {
    /// A rule matching `when` that does nothing yet: each constructor
    /// below sets the one thing it does.
    fn matching(when: Match) -> Self {
        Self {
            name: None,
            when,
            answer: None,
            effects: Effects::default(),
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
        Self::matching(when).with_stall(stall)
    }

    /// A rule that sends every stream `when` matches with `fault` in one
    /// of its frames.
    pub fn faulting(when: Match, fault: FrameFault) -> Self {
        let mut rule = Self::matching(when);
        rule.effects.fault = Some(fault);
        rule
    }

    /// A rule that cuts the connection of every request `when` matches.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Operation, Reset, Rule};
    ///
    /// // The first stream's connection drops before any answer.
    /// let rule = Rule::resetting(Match::operation(Operation::InvokeModelWithResponseStream), Reset::BeforeHead).times(1);
    /// assert_eq!(rule.effects.reset, Some(Reset::BeforeHead));
    /// ```
    pub fn resetting(when: Match, reset: Reset) -> Self {
        let mut rule = Self::matching(when);
        rule.effects.reset = Some(reset);
        rule
    }

    /// A rule that sends the normal answer of every request `when`
    /// matches `dribble.bytes` at a time.
    pub fn dribbling(when: Match, dribble: Dribble) -> Self {
        Self::matching(when).with_dribble(dribble)
    }

    /// Sends the rule's answer `dribble.bytes` at a time.
    pub fn with_dribble(mut self, dribble: Dribble) -> Self {
        self.effects.dribble = Some(dribble);
        self
    }

    /// Closes the connection after `after_bytes` bytes of the rule's
    /// answer's body.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Operation, Rule};
    ///
    /// // The stream's connection drops 300 bytes in, inside a frame.
    /// let rule = Rule::default_answer(Match::operation(Operation::InvokeModelWithResponseStream)).cut_after(300);
    /// assert_eq!(rule.effects.cut.map(|c| c.after_bytes), Some(300));
    /// ```
    pub fn cut_after(mut self, after_bytes: u64) -> Self {
        self.effects.cut = Some(Cut { after_bytes });
        self
    }

    /// A rule that gives every request `when` matches its normal answer;
    /// the effects added to it bend that answer's delivery.
    pub fn default_answer(when: Match) -> Self {
        Self::matching(when)
    }

    /// Adds a stall to the rule's answer.
    pub fn with_stall(mut self, stall: Stall) -> Self {
        self.effects.stall = Some(stall);
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

    /// Requires the rule to have answered `n` requests by the end: a
    /// number (exactly), or a range as wiremock's `Times` takes.
    ///
    /// ```
    /// use bedrock_mock_server::{Match, Rule, Times};
    ///
    /// let rule = Rule::default_answer(Match::any());
    /// assert_eq!(rule.clone().expect(2).expect, Some(Times::exactly(2)));
    /// assert_eq!(rule.clone().expect(1..=3).expect, Some(Times::between(1, 3)));
    /// assert_eq!(rule.clone().expect(2..).expect, Some(Times::at_least(2)));
    /// assert_eq!(rule.expect(..=1).expect, Some(Times::at_most(1)));
    /// ```
    pub fn expect(mut self, n: impl Into<Times>) -> Self {
        self.expect = Some(n.into());
        self
    }

    /// The rule's name, or a description of its matcher.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.when.to_string())
    }

    /// Whether the rule changes what a normal answer contains (its reply,
    /// an exception mid-stream, a broken frame), so it applies only where
    /// there is a normal answer to change.
    pub(crate) fn changes_content(&self) -> bool {
        self.effects.changes_content()
            || matches!(
                self.answer,
                Some(Answer::Reply(_) | Answer::StreamException { .. })
            )
    }
}

/// How many requests a rule must have answered by the end, like wiremock's
/// `Times`: exactly a number, or within a range. Built from a `u32` or a
/// range (`2`, `1..=3`, `2..`, `..=1`, `1..4`); files write `expect = 2`
/// or `expect = { at_least = 1, at_most = 3 }` (either bound alone).
/// [`Rule::check`] refuses a range no count is within (`3..=1`, `..0`).
///
/// ```
/// use bedrock_mock_server::Times;
///
/// let times = Times::from(1..=3);
/// assert!(times.admits(2) && !times.admits(0));
/// assert_eq!(times.to_string(), "between 1 and 3");
/// assert_eq!(Times::from(2).to_string(), "2");
/// assert_eq!(Times::from(2..).to_string(), "at least 2");
/// assert!(Times::from(..0).is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Times {
    /// The least it may be.
    pub at_least: u32,
    /// The most it may be; no limit when absent.
    pub at_most: Option<u32>,
}

impl Times {
    /// Exactly `n`.
    pub fn exactly(n: u32) -> Self {
        Self::between(n, n)
    }

    /// `n` or more.
    pub fn at_least(n: u32) -> Self {
        Self {
            at_least: n,
            at_most: None,
        }
    }

    /// `n` or fewer.
    pub fn at_most(n: u32) -> Self {
        Self::between(0, n)
    }

    /// From `least` to `most`, both included.
    pub fn between(least: u32, most: u32) -> Self {
        Self {
            at_least: least,
            at_most: Some(most),
        }
    }

    /// Whether `n` is within it.
    pub fn admits(self, n: u32) -> bool {
        n >= self.at_least && self.at_most.is_none_or(|most| n <= most)
    }

    /// Whether no count is within it.
    pub fn is_empty(self) -> bool {
        self.at_most.is_some_and(|most| most < self.at_least)
    }

    /// Why an empty range is refused, where it is read and where a rule
    /// is checked.
    pub(crate) fn why_empty(self) -> String {
        format!(
            "at_least = {} is above at_most = {}, so no count is within it; give bounds in order (or one number)",
            self.at_least,
            self.at_most.unwrap_or_default()
        )
    }

    /// Below `end`: empty when `end` is 0.
    fn below(least: u32, end: u32) -> Self {
        match end.checked_sub(1) {
            Some(most) => Self::between(least, most),
            None => Self::between(least.max(1), 0),
        }
    }
}

impl From<u32> for Times {
    fn from(n: u32) -> Self {
        Self::exactly(n)
    }
}

impl From<std::ops::RangeInclusive<u32>> for Times {
    fn from(range: std::ops::RangeInclusive<u32>) -> Self {
        Self::between(*range.start(), *range.end())
    }
}

impl From<std::ops::Range<u32>> for Times {
    fn from(range: std::ops::Range<u32>) -> Self {
        Self::below(range.start, range.end)
    }
}

impl From<std::ops::RangeFrom<u32>> for Times {
    fn from(range: std::ops::RangeFrom<u32>) -> Self {
        Self::at_least(range.start)
    }
}

impl From<std::ops::RangeToInclusive<u32>> for Times {
    fn from(range: std::ops::RangeToInclusive<u32>) -> Self {
        Self::at_most(range.end)
    }
}

impl From<std::ops::RangeTo<u32>> for Times {
    fn from(range: std::ops::RangeTo<u32>) -> Self {
        Self::below(0, range.end)
    }
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.at_least, self.at_most) {
            (least, Some(most)) if least == most => write!(f, "{least}"),
            (0, Some(most)) => write!(f, "at most {most}"),
            (least, Some(most)) => write!(f, "between {least} and {most}"),
            (least, None) => write!(f, "at least {least}"),
        }
    }
}

/// A range of counts, as files write it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct TimesRange {
    /// The least it may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_least: Option<u32>,
    /// The most it may be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_most: Option<u32>,
}

/// A count as files write it: a number, or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Times"))]
enum TimesForm {
    /// Exactly this many.
    Exactly(u32),
    /// Within this range.
    Range(TimesRange),
}

impl Serialize for Times {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self {
                at_least,
                at_most: Some(most),
            } if at_least == most => TimesForm::Exactly(most),
            // A bound of 0 is left out, unless it is the only one: a
            // range names at least one bound (`{}` is refused when read).
            Self { at_least, at_most } => TimesForm::Range(TimesRange {
                at_least: (at_least > 0 || at_most.is_none()).then_some(at_least),
                at_most,
            }),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, Visitor};

        struct Form;

        impl<'de> Visitor<'de> for Form {
            type Value = Times;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a count (`2`) or a range (`{ at_least = 1, at_most = 3 }`)")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Times, E> {
                u32::try_from(n)
                    .map(Times::exactly)
                    .map_err(|_| E::custom(format!("{n} is past the largest count, {}", u32::MAX)))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Times, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n} is below 0; a count is 0 or more"))),
                }
            }

            fn visit_map<M: de::MapAccess<'de>>(self, map: M) -> Result<Times, M::Error> {
                // Read as the range's own struct, so a misspelt bound is
                // named.
                let range = TimesRange::deserialize(de::value::MapAccessDeserializer::new(map))?;
                match range {
                    TimesRange {
                        at_least: None,
                        at_most: None,
                    } => Err(de::Error::custom(
                        "a count range needs `at_least`, `at_most` or both (or give a number)",
                    )),
                    TimesRange {
                        at_least: Some(least),
                        at_most: Some(most),
                    } if least > most => {
                        Err(de::Error::custom(Times::between(least, most).why_empty()))
                    }
                    TimesRange { at_least, at_most } => Ok(Times {
                        at_least: at_least.unwrap_or(0),
                        at_most,
                    }),
                }
            }
        }

        d.deserialize_any(Form)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Times {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        TimesForm::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TimesForm::json_schema(generator)
    }
}

/// Which requests a rule answers. Every condition given must hold. A rule
/// that names no operation answers Bedrock and Mantle requests but not STS
/// or the SSO portal: a rule written to fail model calls must not also
/// fail the credential calls a client makes; name the operation to target
/// one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// The request's region (its SigV4 scope's; the account's first
    /// region for API keys and gateway mode, as the endpoint's region is
    /// theirs); `*` matches any run of characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The request's path as the client sent it (a gateway's or a host
    /// app's prefix included), percent-decoded; `*` matches any run of
    /// characters (`/model/*/invoke`, `*/converse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Query parameters that must be present with these values (decoded
    /// as forms are; names and values exact).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Conditions on the request's JSON body, by JSON pointer
    /// (`"/max_tokens" = { greater_than = 16384 }`): Bedrock's and Mantle's
    /// bodies alike. A body that is not JSON, or lacks the pointer, meets
    /// none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, BodyCondition>,
    /// The whole body is this JSON value (as wiremock's `body_json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_json: Option<serde_json::Value>,
    /// The body includes this JSON value (as wiremock's
    /// `body_partial_json`): every field of an object present with a value
    /// that includes the given one, recursively; an array's elements
    /// compared by position (the body's array may be longer); any other
    /// value equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_partial_json: Option<serde_json::Value>,
    /// Predicates of the test's own ([`Match::custom`]). They are code,
    /// not data: a rule with one serializes without it (the admin API's
    /// `GET config` shows the rule without it), and files cannot give
    /// one. Each one's label shows wherever the rule's description does:
    /// the journal's `rule`, expectation messages.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub custom: Vec<Custom>,
    /// Only the nth request (from 1) that meets the other conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nth: Option<u32>,
}

/// A labelled predicate on a request ([`Match::custom`]). Two are equal
/// only if they are the same predicate (cloned from one another).
#[derive(Clone)]
pub struct Custom {
    label: String,
    predicate: Arc<CustomPredicate>,
}

/// The closure a [`Custom`] holds.
type CustomPredicate = dyn Fn(&RequestView<'_>) -> bool + Send + Sync + 'static;

impl Custom {
    /// A predicate named `label` in the rule's description.
    pub fn new(
        label: impl Into<String>,
        predicate: impl Fn(&RequestView<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            label: label.into(),
            predicate: Arc::new(predicate),
        }
    }

    /// Its label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether `request` meets it.
    pub fn holds(&self, request: &RequestView<'_>) -> bool {
        (self.predicate)(request)
    }
}

impl std::fmt::Debug for Custom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Custom")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Custom {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.predicate, &other.predicate)
    }
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

    /// Also requires the request's region to match `pattern` (`*`
    /// wildcards).
    pub fn region(mut self, pattern: impl Into<String>) -> Self {
        self.region = Some(pattern.into());
        self
    }

    /// Also requires the decoded path, as the client sent it, to match
    /// `pattern` (`*` wildcards).
    ///
    /// ```
    /// use bedrock_mock_server::Match;
    ///
    /// let when = Match::any().path("/model/*/invoke").query("maxResults", "5");
    /// assert_eq!(when.to_string(), "path /model/*/invoke, query maxResults=5");
    /// ```
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.path = Some(pattern.into());
        self
    }

    /// Also requires query parameter `name` with `value` (decoded).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// Also requires the body's value at JSON `pointer` to meet
    /// `condition`.
    ///
    /// ```
    /// use bedrock_mock_server::{BodyCondition, Match, Operation};
    ///
    /// // Only turns asking for more than 16384 output tokens.
    /// let when = Match::operation(Operation::InvokeModelWithResponseStream)
    ///     .body("/max_tokens", BodyCondition::greater_than(16384.0));
    /// assert_eq!(when.to_string(), "InvokeModelWithResponseStream, body /max_tokens > 16384");
    /// ```
    pub fn body(mut self, pointer: impl Into<String>, condition: BodyCondition) -> Self {
        self.body.insert(pointer.into(), condition);
        self
    }

    /// Also requires the whole body to be `value` as JSON.
    pub fn body_json(mut self, value: impl Into<serde_json::Value>) -> Self {
        self.body_json = Some(value.into());
        self
    }

    /// Also requires the body to include `value` as JSON: every field
    /// given, recursively (see [`Match::body_partial_json`](Match#structfield.body_partial_json)).
    ///
    /// ```
    /// use bedrock_mock_server::Match;
    /// use serde_json::json;
    ///
    /// let when = Match::any().body_partial_json(json!({"anthropic_version": "bedrock-2023-05-31"}));
    /// assert_eq!(when.to_string(), r#"body includes {"anthropic_version":"bedrock-2023-05-31"}"#);
    /// ```
    pub fn body_partial_json(mut self, value: impl Into<serde_json::Value>) -> Self {
        self.body_partial_json = Some(value.into());
        self
    }

    /// Also requires `predicate` to hold, named `label` in the rule's
    /// description and in messages. It sees the request as the rules do
    /// ([`RequestView`]), after authentication, and is asked only when
    /// the other conditions hold. It runs while the server holds its
    /// rules, so it must be quick and must not call the server's
    /// `mount`, `verify` or `reset` (reading the journal is fine).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bedrock_mock_server::{Answer, ErrorCode, Match, MockBedrock, Rule};
    ///
    /// let with_tools = Match::any().custom("has a tool", |r| {
    ///     r.json().is_some_and(|body| body.get("tools").is_some())
    /// });
    /// assert_eq!(with_tools.to_string(), "custom `has a tool`");
    /// let server = MockBedrock::start().await;
    /// server.mount(Rule::new(with_tools, Answer::error(ErrorCode::ValidationException)));
    /// # }
    /// ```
    pub fn custom(
        mut self,
        label: impl Into<String>,
        predicate: impl Fn(&RequestView<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.custom.push(Custom::new(label, predicate));
        self
    }

    /// Only the nth request meeting the other conditions.
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = Some(n);
        self
    }

    /// Whether a request meets every condition but `nth`.
    #[cfg(test)]
    pub(crate) fn matches(&self, request: &RequestView<'_>) -> bool {
        self.miss(request).is_none()
    }

    /// The first condition but `nth` a request does not meet, said as a
    /// reason; `None` when it meets them all.
    #[cfg(test)]
    pub(crate) fn miss(&self, request: &RequestView<'_>) -> Option<String> {
        self.first_miss(request).map(|miss| miss.to_string())
    }

    /// The first condition but `nth` a request does not meet; `None` when
    /// it meets them all. Said only when a message needs it: every request
    /// tries every rule, and most rules have no `expect` to explain.
    // Long because each condition is one arm, in the order they are
    // cheapest to test (the body is parsed last).
    pub(crate) fn first_miss<'a>(&'a self, request: &'a RequestView<'_>) -> Option<Miss<'a>> {
        match self.operation {
            Some(wants) if Some(wants) != request.operation => {
                return Some(Miss::Operation {
                    got: request.operation,
                    wants,
                });
            }
            None => {
                if let Some(op) = request.operation.filter(|op| op.serves_credentials()) {
                    return Some(Miss::CredentialCall(op));
                }
            }
            _ => {}
        }
        if let Some(pattern) = &self.model
            && !request.model_id.is_some_and(|id| glob(pattern, id))
        {
            let got = request.model_id;
            return Some(Miss::Model { got, pattern });
        }
        if let Some(pattern) = &self.region
            && !request.region.is_some_and(|r| glob(pattern, r))
        {
            let got = request.region;
            return Some(Miss::Region { got, pattern });
        }
        if let Some(pattern) = &self.path {
            let path = request.decoded_path();
            if !glob(pattern, &path) {
                return Some(Miss::Path { path, pattern });
            }
        }
        for (name, value) in &self.query {
            if !request.query_values(name).iter().any(|v| v == value) {
                return Some(Miss::Query { name, value });
            }
        }
        for (name, value) in &self.headers {
            let mut values = request.headers.get_all(name.as_str()).iter().peekable();
            if values.peek().is_none() {
                return Some(Miss::HeaderMissing(name));
            }
            if !values.any(|v| v.as_bytes() == value.as_bytes()) {
                return Some(Miss::HeaderDiffers(name));
            }
        }
        if let Some(miss) = self.body_miss(request) {
            return Some(miss);
        }
        self.custom
            .iter()
            .find(|custom| !custom.holds(request))
            .map(|custom| Miss::Custom(&custom.label))
    }

    /// The first body condition a request does not meet.
    fn body_miss<'a>(&'a self, request: &'a RequestView<'_>) -> Option<Miss<'a>> {
        if self.body.is_empty() && self.body_json.is_none() && self.body_partial_json.is_none() {
            return None;
        }
        let Some(body) = request.json() else {
            return Some(Miss::NotJson);
        };
        for (pointer, condition) in &self.body {
            match body.pointer(pointer) {
                None => return Some(Miss::BodyLacks(pointer)),
                Some(value) if !condition.holds(value) => {
                    return Some(Miss::BodyValue {
                        pointer,
                        value,
                        condition,
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(wanted) = &self.body_json
            && wanted != body
        {
            return Some(Miss::BodyNot(wanted));
        }
        if let Some(wanted) = &self.body_partial_json
            && let Err(reversed) = includes(body, wanted)
        {
            return Some(Miss::BodyLacksPart { wanted, reversed });
        }
        None
    }
}

/// Why a request missed a rule: the first of its conditions the request
/// does not meet, with what the request had (never a header's value:
/// either may be a secret, an API key; the rule's description names the
/// one it wants, and the request's redacted headers are listed with it).
pub(crate) enum Miss<'a> {
    Operation {
        got: Option<Operation>,
        wants: Operation,
    },
    /// A rule naming no operation leaves credential calls alone.
    CredentialCall(Operation),
    Model {
        got: Option<&'a str>,
        pattern: &'a str,
    },
    Region {
        got: Option<&'a str>,
        pattern: &'a str,
    },
    Path {
        path: String,
        pattern: &'a str,
    },
    Query {
        name: &'a str,
        value: &'a str,
    },
    HeaderMissing(&'a str),
    HeaderDiffers(&'a str),
    NotJson,
    BodyLacks(&'a str),
    BodyValue {
        pointer: &'a str,
        value: &'a serde_json::Value,
        condition: &'a BodyCondition,
    },
    BodyNot(&'a serde_json::Value),
    /// The pointer's tokens of the first place it differs, innermost
    /// first.
    BodyLacksPart {
        wanted: &'a serde_json::Value,
        reversed: Vec<String>,
    },
    Custom(&'a str),
}

impl std::fmt::Display for Miss<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::Operation {
                got: Some(got),
                wants,
            } => write!(f, "operation {got:?}, rule wants {wants:?}"),
            Miss::Operation { got: None, wants } => {
                write!(f, "no known operation, rule wants {wants:?}")
            }
            Miss::CredentialCall(op) => write!(
                f,
                "operation {op:?} is a credential call, which only a rule naming it answers"
            ),
            Miss::Model {
                got: Some(id),
                pattern,
            } => write!(f, "model {id} does not match {pattern}"),
            Miss::Model { got: None, pattern } => {
                write!(f, "no model in the request, rule wants {pattern}")
            }
            Miss::Region {
                got: Some(region),
                pattern,
            } => write!(f, "region {region} does not match {pattern}"),
            Miss::Region { got: None, pattern } => write!(f, "no region, rule wants {pattern}"),
            Miss::Path { path, pattern } => {
                write!(f, "path {} does not match {pattern}", excerpt(path, 120))
            }
            Miss::Query { name, value } => write!(f, "query parameter {name} is not {value}"),
            Miss::HeaderMissing(name) => write!(f, "header {name} missing"),
            Miss::HeaderDiffers(name) => write!(f, "header {name} has another value"),
            Miss::NotJson => f.write_str("the body is not JSON"),
            Miss::BodyLacks(pointer) => write!(f, "body has no {pointer}"),
            Miss::BodyValue {
                pointer,
                value,
                condition,
            } => write!(
                f,
                "body {pointer} = {}, rule wants {condition}",
                excerpt(&value.to_string(), 80)
            ),
            Miss::BodyNot(wanted) => {
                write!(f, "body is not {}", excerpt(&wanted.to_string(), 80))
            }
            Miss::BodyLacksPart { wanted, reversed } => {
                let at: String = reversed
                    .iter()
                    .rev()
                    .map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1")))
                    .collect();
                write!(
                    f,
                    "body does not include {} (at `{at}`)",
                    excerpt(&wanted.to_string(), 80)
                )
            }
            Miss::Custom(label) => write!(f, "custom `{label}` said no"),
        }
    }
}

/// Whether `value` includes `wanted` (wiremock's `body_partial_json`).
/// Err: the JSON pointer's tokens of the first place it does not,
/// innermost first (built on the way out, so a body that includes it
/// costs no allocation).
fn includes(value: &serde_json::Value, wanted: &serde_json::Value) -> Result<(), Vec<String>> {
    use serde_json::Value;
    let under = |token: String| {
        move |mut reversed: Vec<String>| {
            reversed.push(token);
            reversed
        }
    };
    match (value, wanted) {
        (Value::Object(fields), Value::Object(wanted)) => {
            wanted
                .iter()
                .try_for_each(|(key, wanted)| match fields.get(key) {
                    Some(value) => includes(value, wanted).map_err(under(key.clone())),
                    None => Err(vec![key.clone()]),
                })
        }
        (Value::Array(items), Value::Array(wanted)) => {
            wanted
                .iter()
                .enumerate()
                .try_for_each(|(n, wanted)| match items.get(n) {
                    Some(value) => includes(value, wanted).map_err(under(n.to_string())),
                    None => Err(vec![n.to_string()]),
                })
        }
        _ if value == wanted => Ok(()),
        _ => Err(Vec::new()),
    }
}

/// `text` cut to at most `max` characters, marked when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// What the body's value at a pointer must be; every comparison given must
/// hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BodyCondition {
    /// Exactly this JSON value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// Text: a string at or anywhere under the pointer holds it (so
    /// `"/messages" = { contains = "deploy" }` finds a prompt in whichever
    /// block a client puts it). Another value: an array with it as an
    /// element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains: Option<serde_json::Value>,
    /// A number below this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub less_than: Option<f64>,
    /// A number above this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<f64>,
}

impl BodyCondition {
    /// Exactly `value`.
    pub fn equals(value: impl Into<serde_json::Value>) -> Self {
        Self {
            equals: Some(value.into()),
            ..Self::default()
        }
    }

    /// Text anywhere at or under the pointer holding `value` (a string),
    /// or an array with `value` (any other value) as an element.
    pub fn contains(value: impl Into<serde_json::Value>) -> Self {
        Self {
            contains: Some(value.into()),
            ..Self::default()
        }
    }

    /// A number below `limit`.
    pub fn less_than(limit: f64) -> Self {
        Self {
            less_than: Some(limit),
            ..Self::default()
        }
    }

    /// A number above `limit`.
    pub fn greater_than(limit: f64) -> Self {
        Self {
            greater_than: Some(limit),
            ..Self::default()
        }
    }

    /// Whether it names no comparison (`Rule::check` refuses that: it
    /// would say only "present").
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `value` meets every comparison given.
    pub(crate) fn holds(&self, value: &serde_json::Value) -> bool {
        let number = value.as_f64();
        self.equals.as_ref().is_none_or(|wanted| wanted == value)
            && self
                .contains
                .as_ref()
                .is_none_or(|wanted| contains(value, wanted))
            && self
                .less_than
                .is_none_or(|limit| number.is_some_and(|n| n < limit))
            && self
                .greater_than
                .is_none_or(|limit| number.is_some_and(|n| n > limit))
    }
}

/// Text: `value` or a string anywhere inside it holds `wanted`'s. Another
/// value: `value` is an array holding it.
fn contains(value: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (value, wanted) {
        (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
        (Value::Array(items), Value::String(_)) => items.iter().any(|v| contains(v, wanted)),
        (Value::Object(fields), Value::String(_)) => fields.values().any(|v| contains(v, wanted)),
        (Value::Array(items), _) => items.contains(wanted),
        _ => false,
    }
}

impl std::fmt::Display for BodyCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(value) = &self.equals {
            parts.push(format!("= {value}"));
        }
        if let Some(value) = &self.contains {
            parts.push(format!("contains {value}"));
        }
        if let Some(limit) = self.less_than {
            parts.push(format!("< {limit}"));
        }
        if let Some(limit) = self.greater_than {
            parts.push(format!("> {limit}"));
        }
        f.write_str(&parts.join(" and "))
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
        if let Some(region) = &self.region {
            parts.push(format!("region {region}"));
        }
        for (name, value) in &self.headers {
            // The description reaches the journal and failure messages:
            // what a matcher wants of a secret header is not shown.
            let shown = if may_hold_a_secret(name) {
                "<redacted>"
            } else {
                value
            };
            parts.push(format!("{name}: {shown}"));
        }
        if let Some(path) = &self.path {
            parts.push(format!("path {path}"));
        }
        for (name, value) in &self.query {
            parts.push(format!("query {name}={value}"));
        }
        for (pointer, condition) in &self.body {
            parts.push(format!("body {pointer} {condition}"));
        }
        if let Some(value) = &self.body_json {
            parts.push(format!("body {}", excerpt(&value.to_string(), 80)));
        }
        if let Some(value) = &self.body_partial_json {
            parts.push(format!("body includes {}", excerpt(&value.to_string(), 80)));
        }
        for custom in &self.custom {
            parts.push(format!("custom `{}`", custom.label));
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

/// A request as rules see it (read-only), for [`Match::custom`]
/// predicates: what the client sent, and what the mock identified.
///
/// ```
/// use bedrock_mock_server::{Match, Operation};
///
/// let streams_opus = Match::any().custom("streams an Opus model", |r| {
///     r.operation() == Some(Operation::InvokeModelWithResponseStream)
///         && r.model_id().is_some_and(|id| id.contains("opus"))
///         && r.method() == "POST"
/// });
/// # let _ = streams_opus;
/// ```
pub struct RequestView<'a> {
    method: &'a str,
    /// The path as the client sent it (percent-encoded).
    raw_path: &'a str,
    raw_query: &'a str,
    operation: Option<Operation>,
    model_id: Option<&'a str>,
    /// The caller's region, once authenticated.
    region: Option<&'a str>,
    headers: &'a http::HeaderMap,
    /// The body as sent.
    body: &'a [u8],
    /// The body as JSON, parsed the first time a rule asks (most rules
    /// never look at it, and bodies can be large).
    parsed_body: std::cell::OnceCell<Option<serde_json::Value>>,
}

impl<'a> RequestView<'a> {
    /// The view of a request `method raw_path?raw_query`; its body is
    /// parsed only if a rule asks.
    pub(crate) fn new(
        (method, raw_path, raw_query): (&'a str, &'a str, &'a str),
        operation: Option<Operation>,
        model_id: Option<&'a str>,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Self {
            method,
            raw_path,
            raw_query,
            operation,
            model_id,
            region: None,
            headers,
            body,
            parsed_body: std::cell::OnceCell::new(),
        }
    }

    /// The same view, with the authenticated caller's region.
    pub(crate) fn in_region(self, region: &'a str) -> Self {
        Self {
            region: Some(region),
            ..self
        }
    }

    /// The HTTP method (`POST`).
    pub fn method(&self) -> &str {
        self.method
    }

    /// The path as the client sent it, percent-encoded
    /// (`/model/us.anthropic.claude-opus-5-5/invoke`; a host app's prefix
    /// included when the mock is nested, see `MockBedrock::router`).
    pub fn raw_path(&self) -> &str {
        self.raw_path
    }

    /// The path, percent-decoded.
    pub fn decoded_path(&self) -> String {
        crate::percent::percent_decode(self.raw_path)
    }

    /// The query string as sent, without `?` (empty when none).
    pub fn raw_query(&self) -> &str {
        self.raw_query
    }

    /// Every value of query parameter `name`, decoded as forms are.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        crate::percent::Form::parse(self.raw_query).all(name)
    }

    /// The request's headers.
    pub fn headers(&self) -> &http::HeaderMap {
        self.headers
    }

    /// The body as sent.
    pub fn body(&self) -> &[u8] {
        self.body
    }

    /// The body as JSON, if it is JSON (parsed once, shared by every rule).
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.parsed_body
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// The operation the mock identified.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// The model or profile id, decoded from the path.
    pub fn model_id(&self) -> Option<&str> {
        self.model_id
    }

    /// The authenticated caller's region (its SigV4 scope's; the
    /// account's first for API keys and gateway mode).
    pub fn region(&self) -> Option<&str> {
        self.region
    }
}

impl std::fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers and body left out: they hold the request's secrets.
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("raw_path", &self.raw_path)
            .field("operation", &self.operation)
            .field("model_id", &self.model_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
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

/// The longest `retry-after` an error answer may carry: a day.
pub const MAX_RETRY_AFTER_SECONDS: u64 = 86_400;

/// What a rule answers. The same answer fits every endpoint: an error by a
/// Bedrock code takes the matching Anthropic type on Mantle and the
/// matching STS code on STS (the error catalogue's twins), and a stream
/// exception becomes an `error` event on Mantle.
///
/// Files write an `http` answer's body as text (`body`) or as base64
/// (`body_base64`), not both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(try_from = "AnswerForm", into = "AnswerForm")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(with = "AnswerForm"))]
pub enum Answer {
    /// An error the mock knows, with its status and message unless given.
    Error {
        /// The error code, e.g. `ThrottlingException` (or an endpoint's
        /// own: `overloaded_error` on Mantle, `ExpiredToken` on STS).
        code: ErrorCode,
        /// Overrides the status.
        status: Option<u16>,
        /// Overrides the message.
        message: Option<String>,
        /// Adds `retry-after` (seconds; at most
        /// [`MAX_RETRY_AFTER_SECONDS`]).
        retry_after: Option<u64>,
    },
    /// An error of your own (a gateway's, an invented one): sent as given on
    /// every endpoint, in its error shape, and never translated.
    CustomError {
        /// The error code.
        code: String,
        /// The status.
        status: u16,
        /// The message.
        message: String,
        /// Adds `retry-after` (seconds).
        retry_after: Option<u64>,
    },
    /// Any status, headers and body.
    Http {
        /// Status code.
        status: u16,
        /// Response headers.
        headers: BTreeMap<String, String>,
        /// Response body.
        body: bytes::Bytes,
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
        /// `:exception-type`, e.g. `throttlingException` (or an Anthropic
        /// error type, for Mantle).
        exception: ExceptionType,
        /// The exception's message; the catalogue's for its type when
        /// absent.
        message: Option<String>,
    },
    /// An answer as a real service sent it: its status and headers, then
    /// its events paced by their recorded gaps (or its whole body); sent
    /// as given to any request.
    Recorded(Recording),
}

/// What a rule answers, as files write it. The same answer fits every endpoint: an error by a
/// Bedrock code takes the matching Anthropic type on Mantle and the
/// matching STS code on STS (the error catalogue's twins), and a stream
/// exception becomes an `error` event on Mantle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Answer"))]
enum AnswerForm {
    /// An error the mock knows, with its status and message unless given.
    Error {
        /// The error code, e.g. `ThrottlingException` (or an endpoint's
        /// own: `overloaded_error` on Mantle, `ExpiredToken` on STS).
        code: ErrorCode,
        /// Overrides the status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Overrides the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Adds `retry-after` (seconds; at most
        /// [`MAX_RETRY_AFTER_SECONDS`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// An error of your own (a gateway's, an invented one): sent as given on
    /// every endpoint, in its error shape, and never translated.
    CustomError {
        /// The error code.
        code: String,
        /// The status.
        status: u16,
        /// The message.
        message: String,
        /// Adds `retry-after` (seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Any status, headers and body (`body` text or `body_base64`).
    Http {
        /// Status code.
        status: u16,
        /// Response headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Response body, as text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// Response body, as base64 (bytes that are not text); not
        /// together with `body`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body_base64: Option<String>,
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
        /// `:exception-type`, e.g. `throttlingException` (or an Anthropic
        /// error type, for Mantle).
        exception: ExceptionType,
        /// The exception's message; the catalogue's for its type when
        /// absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// An answer as a real service sent it (`bedrock-harness record`
    /// writes these): `status`, `headers`, then `events` (each after its
    /// `after_ms` gap: `chunk`, `exception`, `frame_base64`, or
    /// Server-Sent Events' `event` with `data`), or a whole `body` /
    /// `body_base64`; `head_after_ms` before the head.
    Recorded(RecordingForm),
}

impl TryFrom<AnswerForm> for Answer {
    type Error = String;

    fn try_from(form: AnswerForm) -> Result<Self, String> {
        Ok(match form {
            AnswerForm::Error {
                code,
                status,
                message,
                retry_after,
            } => Answer::Error {
                code,
                status,
                message,
                retry_after,
            },
            AnswerForm::CustomError {
                code,
                status,
                message,
                retry_after,
            } => Answer::CustomError {
                code,
                status,
                message,
                retry_after,
            },
            AnswerForm::Http {
                status,
                headers,
                body,
                body_base64,
            } => {
                let body = http_body(body, body_base64)?;
                Answer::Http {
                    status,
                    headers,
                    body,
                }
            }
            AnswerForm::Reply(reply) => Answer::Reply(reply),
            AnswerForm::StreamException {
                after_events,
                exception,
                message,
            } => Answer::StreamException {
                after_events,
                exception,
                message,
            },
            AnswerForm::Recorded(form) => Answer::Recorded(Recording::try_from(form)?),
        })
    }
}

/// An `http` answer's body as files give it: text, or base64, not both.
fn http_body(text: Option<String>, base64: Option<String>) -> Result<bytes::Bytes, String> {
    use base64::Engine as _;
    match (text, base64) {
        (Some(_), Some(_)) => Err(
            "an `http` answer takes `body` (text) or `body_base64` (bytes), not both; keep one"
                .to_owned(),
        ),
        (Some(text), None) => Ok(text.into()),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map(Into::into)
            .map_err(|e| {
                format!(
                    "`body_base64` is not base64 ({e}); give standard base64 with padding, like `/wA=`"
                )
            }),
        (None, None) => Ok(bytes::Bytes::new()),
    }
}

impl From<Answer> for AnswerForm {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Error {
                code,
                status,
                message,
                retry_after,
            } => AnswerForm::Error {
                code,
                status,
                message,
                retry_after,
            },
            Answer::CustomError {
                code,
                status,
                message,
                retry_after,
            } => AnswerForm::CustomError {
                code,
                status,
                message,
                retry_after,
            },
            Answer::Http {
                status,
                headers,
                body,
            } => {
                let (body, body_base64) = body_form(&body);
                AnswerForm::Http {
                    status,
                    headers,
                    body,
                    body_base64,
                }
            }
            Answer::Reply(reply) => AnswerForm::Reply(reply),
            Answer::StreamException {
                after_events,
                exception,
                message,
            } => AnswerForm::StreamException {
                after_events,
                exception,
                message,
            },
            Answer::Recorded(recording) => AnswerForm::Recorded(recording.into()),
        }
    }
}

/// A body as files write it: text stays readable (`body`); other bytes go
/// as base64 (`body_base64`); nothing, neither.
fn body_form(body: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(body) {
        Ok("") => (None, None),
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => {
            use base64::Engine as _;
            (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(body)),
            )
        }
    }
}

/// What a rule changes in a normal answer: its reply, or an exception
/// partway through it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RuleContent<'a> {
    Reply(&'a Reply),
    Exception {
        after_events: usize,
        exception: ExceptionType,
        message: Option<&'a str>,
    },
}

impl Answer {
    /// The error `code` with its usual status and message.
    pub fn error(code: ErrorCode) -> Self {
        Answer::Error {
            code,
            status: None,
            message: None,
            retry_after: None,
        }
    }

    /// Any status, headers and text body, sent as given (the server
    /// frames the body: give no `content-length`).
    ///
    /// ```
    /// use bedrock_mock_server::{Answer, Match, Rule};
    ///
    /// let answer = Answer::http(502, &[("content-type", "text/html")], "<html>Bad Gateway</html>");
    /// assert!(Rule::new(Match::any(), answer).check().is_ok());
    /// ```
    pub fn http(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Self {
        Self::raw(status, headers, body.into())
    }

    /// Any status, headers and body bytes, sent as given (a body that is
    /// not text: a broken frame, a gzip a proxy sent). Written to a file,
    /// a body that is not UTF-8 is `body_base64`.
    ///
    /// ```
    /// use bedrock_mock_server::Answer;
    ///
    /// let answer = Answer::raw(200, &[("content-type", "application/octet-stream")], vec![0xff, 0x00]);
    /// assert_eq!(
    ///     serde_json::to_string(&answer).unwrap(),
    ///     r#"{"http":{"status":200,"headers":{"content-type":"application/octet-stream"},"body_base64":"/wA="}}"#
    /// );
    /// ```
    pub fn raw(status: u16, headers: &[(&str, &str)], body: impl Into<bytes::Bytes>) -> Self {
        Answer::Http {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: body.into(),
        }
    }

    /// An error the mock does not know, as given.
    pub fn custom_error(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Answer::CustomError {
            code: code.into(),
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer a service sent, replayed as it came (see
    /// [`Recording`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use bedrock_mock_server::{Answer, Match, RecordedEvent, Recording, Rule};
    ///
    /// let answer = Answer::recorded(Recording::events(
    ///     200,
    ///     &[],
    ///     vec![RecordedEvent::sse(Duration::from_millis(20), "message_stop", r#"{"type":"message_stop"}"#)],
    /// ));
    /// let text = serde_json::to_string(&answer).unwrap();
    /// assert_eq!(
    ///     text,
    ///     r#"{"recorded":{"status":200,"headers":{},"events":[{"after_ms":20,"event":"message_stop","data":"{\"type\":\"message_stop\"}"}]}}"#
    /// );
    /// assert!(Rule::new(Match::any(), answer).check().is_ok());
    /// ```
    pub fn recorded(recording: Recording) -> Self {
        Answer::Recorded(recording)
    }

    /// A stream of `after_events` events, then `exception`.
    pub fn stream_exception(after_events: usize, exception: ExceptionType) -> Self {
        Answer::StreamException {
            after_events,
            exception,
            message: None,
        }
    }

    /// What the answer changes in a normal answer, if it is a content
    /// answer.
    pub(crate) fn content(&self) -> Option<RuleContent<'_>> {
        match self {
            Answer::Reply(reply) => Some(RuleContent::Reply(reply)),
            Answer::StreamException {
                after_events,
                exception,
                message,
            } => Some(RuleContent::Exception {
                after_events: *after_events,
                exception: *exception,
                message: message.as_deref(),
            }),
            Answer::Error { .. }
            | Answer::CustomError { .. }
            | Answer::Http { .. }
            | Answer::Recorded(_) => None,
        }
    }

    /// The error this answer sends on an endpoint speaking `protocol`, if
    /// it is one; `None` for the other kinds. The error is translated for
    /// the endpoint before the rule's overrides, so they apply to what is
    /// sent.
    pub(crate) fn as_error(&self, protocol: Protocol) -> Option<AwsError> {
        match self {
            Answer::Error {
                code,
                status,
                message,
                retry_after,
            } => {
                let mut error = AwsError::from(*code).sent_by(protocol);
                if let Some(status) = status {
                    error.status = *status;
                }
                if let Some(message) = message {
                    error.message.clone_from(message);
                }
                error.retry_after = *retry_after;
                Some(error)
            }
            Answer::CustomError {
                code,
                status,
                message,
                retry_after,
            } => Some(AwsError {
                retry_after: *retry_after,
                origin: ErrorOrigin::Custom,
                ..AwsError::new(*status, code.clone(), message.clone())
            }),
            Answer::Http { .. }
            | Answer::Reply(_)
            | Answer::StreamException { .. }
            | Answer::Recorded(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_times_reads_back_as_written() {
        for times in [
            Times::exactly(0),
            Times::exactly(2),
            Times::at_least(0),
            Times::at_least(3),
            Times::at_most(4),
            Times::between(1, 3),
        ] {
            let text = serde_json::to_string(&times).unwrap();
            let read: Times = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(read, times, "{text}");
        }
        assert_eq!(
            serde_json::to_string(&Times::at_least(0)).unwrap(),
            r#"{"at_least":0}"#
        );
    }

    #[test]
    fn a_rule_s_description_shows_no_secret_a_header_matcher_wants() {
        let when = Match::any()
            .header("X-Api-Key", "sk-ant-api-key-secret")
            .header("authorization", "Bearer ABSKsecretbearer")
            .header("anthropic-beta", "context-1m-2025-08-07");
        let shown = when.to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("x-api-key: <redacted>"), "{shown}");
        assert!(shown.contains("authorization: <redacted>"), "{shown}");
        assert!(
            shown.contains("anthropic-beta: context-1m-2025-08-07"),
            "{shown}"
        );
    }

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

    fn facts<'a>(headers: &'a http::HeaderMap, body: &'a str) -> RequestView<'a> {
        RequestView::new(
            (
                "POST",
                "/model/us.anthropic.claude-opus-5-5/invoke-with-response-stream",
                "",
            ),
            Some(Operation::InvokeModelWithResponseStream),
            Some("us.anthropic.claude-opus-5-5"),
            headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn body_conditions_compare_values_by_pointer() {
        let headers = http::HeaderMap::new();
        let body = r#"{"max_tokens": 32000, "anthropic_beta": ["context-1m-2025-08-07"],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "deploy the app"}]}]}"#;
        let request = facts(&headers, body);
        let holds = |pointer: &str, condition: BodyCondition| {
            Match::any().body(pointer, condition).matches(&request)
        };
        assert!(holds("/max_tokens", BodyCondition::greater_than(16384.0)));
        assert!(!holds("/max_tokens", BodyCondition::greater_than(32000.0)));
        assert!(holds("/max_tokens", BodyCondition::less_than(32001.0)));
        assert!(holds("/max_tokens", BodyCondition::equals(32000)));
        assert!(!holds("/max_tokens", BodyCondition::equals("32000")));
        assert!(holds(
            "/messages/0/content/0/text",
            BodyCondition::contains("deploy")
        ));
        assert!(!holds(
            "/messages/0/content/0/text",
            BodyCondition::contains("Deploy")
        ));
        assert!(holds(
            "/anthropic_beta",
            BodyCondition::contains("context-1m-2025-08-07")
        ));
        // Text is found anywhere under the pointer, in whichever block.
        assert!(holds(
            "/anthropic_beta",
            BodyCondition::contains("context-1m")
        ));
        assert!(holds("/messages", BodyCondition::contains("deploy the")));
        assert!(!holds("/messages", BodyCondition::contains("undeploy")));
        assert!(holds("", BodyCondition::contains("deploy")));
        // Other values are elements of an array.
        let user = serde_json::json!({"role": "user"});
        assert!(!holds("/messages", BodyCondition::contains(user)));
        assert!(holds("/max_tokens", BodyCondition::equals(32000)));
        assert!(!holds("/anthropic_beta", BodyCondition::contains(7)));
        // A missing pointer, a string compared as a number, a number
        // searched as text: none holds.
        assert!(!holds("/stream", BodyCondition::equals(true)));
        assert!(!holds("/messages/0/role", BodyCondition::greater_than(0.0)));
        assert!(!holds("/max_tokens", BodyCondition::contains("32")));
        let both = BodyCondition {
            greater_than: Some(1000.0),
            less_than: Some(32000.0),
            ..BodyCondition::default()
        };
        assert!(!holds("/max_tokens", both));
        let not_json = facts(&headers, "max_tokens=32000");
        assert!(
            !Match::any()
                .body("/max_tokens", BodyCondition::greater_than(0.0))
                .matches(&not_json)
        );
        // Without body conditions the body is never parsed.
        let unread = facts(&headers, body);
        assert!(Match::any().matches(&unread));
        assert!(unread.parsed_body.get().is_none());
    }

    #[test]
    fn partial_json_includes_fields_recursively_and_arrays_by_position() {
        let headers = http::HeaderMap::new();
        let body = r#"{"max_tokens": 5, "tools": [{"name": "a", "x": 1}, {"name": "b/c"}],
            "metadata": {"user_id": "u", "a/b": {"c": true}}}"#;
        let request = facts(&headers, body);
        let miss =
            |wanted: serde_json::Value| Match::any().body_partial_json(wanted).miss(&request);
        assert_eq!(miss(serde_json::json!({})), None);
        assert_eq!(miss(serde_json::json!({"max_tokens": 5})), None);
        assert_eq!(miss(serde_json::json!({"tools": [{"name": "a"}]})), None);
        assert_eq!(
            miss(serde_json::json!({"tools": [{}, {"name": "b/c"}]})),
            None
        );
        assert_eq!(
            miss(serde_json::json!({"metadata": {"a/b": {"c": true}}})),
            None
        );
        let said = |wanted| miss(wanted).unwrap_or_default();
        assert!(
            said(serde_json::json!({"tools": [{"name": "b/c"}]})).ends_with("(at `/tools/0/name`)")
        );
        assert!(said(serde_json::json!({"tools": [{}, {}, {}]})).ends_with("(at `/tools/2`)"));
        assert!(
            said(serde_json::json!({"metadata": {"a/b": {"c": false}}}))
                .ends_with("(at `/metadata/a~1b/c`)")
        );
        assert!(said(serde_json::json!({"max_tokens": "5"})).ends_with("(at `/max_tokens`)"));
        // The whole body: exactly, not included.
        let whole = |wanted: serde_json::Value| Match::any().body_json(wanted).miss(&request);
        assert_eq!(
            whole(serde_json::json!({"max_tokens": 5})).as_deref(),
            Some(r#"body is not {"max_tokens":5}"#)
        );
        let not_json = facts(&headers, "max_tokens=5");
        assert_eq!(
            Match::any()
                .body_json(serde_json::json!({}))
                .miss(&not_json)
                .as_deref(),
            Some("the body is not JSON")
        );
    }

    #[test]
    fn path_and_query_are_matched_decoded() {
        let headers = http::HeaderMap::new();
        let request = RequestView::new(
            (
                "GET",
                "/bedrock/inference-profiles/us.anthropic.claude%3Aopus",
                "maxResults=5&type=SYSTEM%5FDEFINED&type=x",
            ),
            Some(Operation::GetInferenceProfile),
            None,
            &headers,
            b"",
        );
        assert!(
            Match::any()
                .path("*/us.anthropic.claude:opus")
                .matches(&request)
        );
        assert!(
            Match::any()
                .query("type", "SYSTEM_DEFINED")
                .query("type", "SYSTEM_DEFINED")
                .matches(&request)
        );
        assert!(Match::any().query("type", "x").matches(&request));
        assert_eq!(
            Match::any()
                .path("/inference-profiles/*")
                .miss(&request)
                .as_deref(),
            Some(
                "path /bedrock/inference-profiles/us.anthropic.claude:opus does not match /inference-profiles/*"
            )
        );
        assert_eq!(
            Match::any()
                .query("maxResults", "6")
                .miss(&request)
                .as_deref(),
            Some("query parameter maxResults is not 6")
        );
    }

    #[test]
    fn body_conditions_read_from_data() {
        let rule: Rule = serde_json::from_str(
            r#"{"when": {"body": {"/max_tokens": {"greater_than": 16384}, "/model": {"equals": "anthropic.claude-opus-5-5"}}},
                "answer": {"error": {"code": "ThrottlingException"}}}"#,
        )
        .unwrap();
        assert_eq!(
            rule.label(),
            "body /max_tokens > 16384, body /model = \"anthropic.claude-opus-5-5\""
        );
        let unknown =
            serde_json::from_str::<Rule>(r#"{"when": {"body": {"/max_tokens": {"lt": 5}}}}"#)
                .unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `lt`"),
            "{unknown}"
        );
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

    #[test]
    fn a_rule_reads_and_writes_as_before() {
        let text = r#"{"when":{"operation":"InvokeModelWithResponseStream"},"stall":{"seconds":600.0,"after_events":2},"fault":{"kind":"bad_message_crc","at_event":1},"times":1}"#;
        let rule: Rule = serde_json::from_str(text).unwrap();
        assert_eq!(rule.effects.stall, Some(Stall::after_events(2, 600.0)));
        assert_eq!(serde_json::to_string(&rule).unwrap(), text);
        let typo = serde_json::from_str::<Rule>(r#"{"stal": {"seconds": 1}}"#).unwrap_err();
        assert!(typo.to_string().contains("unknown field `stal`"), "{typo}");
    }

    #[test]
    fn unknown_codes_are_refused_when_read_and_custom_errors_say_so() {
        let unknown = serde_json::from_str::<Answer>(r#"{"error": {"code": "X"}}"#).unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("`X` is not an error the mock knows"),
            "{unknown}"
        );
        let cased = serde_json::from_str::<Answer>(
            r#"{"stream_exception": {"after_events": 1, "exception": "ThrottlingException"}}"#,
        )
        .unwrap_err();
        assert!(
            cased.to_string().contains("`throttlingException`"),
            "{cased}"
        );
        let custom: Answer = serde_json::from_str(
            r#"{"custom_error": {"code": "MissingAuthenticationTokenException", "status": 403, "message": "Missing Authentication Token"}}"#,
        )
        .unwrap();
        let error = custom.as_error(Protocol::Bedrock).unwrap();
        assert_eq!(
            (error.status, error.code.as_str(), error.message.as_str()),
            (
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token"
            )
        );
        let incomplete =
            serde_json::from_str::<Answer>(r#"{"custom_error": {"code": "X", "status": 418}}"#)
                .unwrap_err();
        assert!(
            incomplete.to_string().contains("missing field `message`"),
            "{incomplete}"
        );
    }

    #[test]
    fn an_error_is_translated_before_the_rules_overrides() {
        let answer = Answer::Error {
            code: ErrorCode::ThrottlingException,
            status: None,
            message: Some("slow down".to_owned()),
            retry_after: Some(2),
        };
        let on_sts = answer.as_error(Protocol::Sts).unwrap();
        assert_eq!(
            (
                on_sts.status,
                on_sts.code.as_str(),
                on_sts.message.as_str(),
                on_sts.retry_after
            ),
            (400, "Throttling", "slow down", Some(2))
        );
        let on_mantle = Answer::error(ErrorCode::ThrottlingException)
            .as_error(Protocol::Mantle)
            .unwrap();
        assert_eq!(
            (on_mantle.status, on_mantle.code.as_str()),
            (429, "rate_limit_error")
        );
    }
}
