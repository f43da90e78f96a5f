//! Moving a scenario's times onto the real clock. A client that signs
//! with the system clock (the real Claude Code CLI) must meet the account
//! as it stood at the scenario's start: a credential that expires 30
//! minutes after the start expires 30 minutes after now. So every time
//! the scenario gives (credential expiries and revocations, API keys' and
//! SSO tokens' expiries, the times in the client's files, such as an SSO
//! cache's `expiresAt`) moves by the distance from the scenario's start to
//! now.
//!
//! Times are found by their shape, not by field: a UTC time as RFC 3339
//! and AWS write it, `2026-11-25T12:00:00Z`, with or without fractional
//! seconds, or with a numeric offset (`+00:00`, as botocore's caches
//! write it). A moved time keeps its fraction and its offset.

use std::fmt;
use std::time::{Duration, SystemTime};

use bedrock_mock_server::Timestamp;

use super::format::Scenario;

/// A distance to move times by, in whole seconds (negative: earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift(pub i64);

impl Shift {
    /// From `from` to `to`, to the second.
    pub fn between(from: SystemTime, to: SystemTime) -> Self {
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        match to.duration_since(from) {
            Ok(later) => Shift(seconds(later)),
            Err(earlier) => Shift(-seconds(earlier.duration())),
        }
    }

    /// `t` moved; unchanged when the result would leave `SystemTime`'s
    /// range.
    pub fn apply(self, t: SystemTime) -> SystemTime {
        let by = Duration::from_secs(self.0.unsigned_abs());
        let moved = if self.0 >= 0 {
            t.checked_add(by)
        } else {
            t.checked_sub(by)
        };
        moved.unwrap_or(t)
    }
}

impl fmt::Display for Shift {
    /// `+12 d 01:56:08`, `-00:00:30`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let all = self.0.unsigned_abs();
        let (days, rest) = (all / 86_400, all % 86_400);
        let clock = format!(
            "{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        );
        if days > 0 {
            write!(f, "{sign}{days} d {clock}")
        } else {
            write!(f, "{sign}{clock}")
        }
    }
}

/// `scenario` as it stands at `now` on the real clock: its clock starts at
/// `now`, its account's times (any string of the `[server]` table's JSON
/// form that is a time) and the times in its client's environment,
/// settings and files moved by as much. Also the shift, and how many
/// times moved.
pub fn scenario_at(
    scenario: &Scenario,
    now: SystemTime,
) -> Result<(Scenario, Shift, usize), String> {
    let shift = Shift::between(scenario.clock.start_time(), now);
    let mut moved = scenario.clone();
    let mut count = 0;
    let mut server = serde_json::to_value(&scenario.server)
        .map_err(|e| format!("server: cannot read its times: {e}"))?;
    count += shift_json(&mut server, shift);
    moved.server = serde_json::from_value(server)
        .map_err(|e| format!("server: cannot move its times: {e}"))?;
    let client = &mut moved.client;
    for text in client.env.values_mut().chain(client.files.values_mut()) {
        count += shift_in_place(text, shift);
    }
    let settings = &mut client.settings;
    for file in [
        &mut settings.user,
        &mut settings.project,
        &mut settings.local,
        &mut settings.managed,
    ]
    .into_iter()
    .flatten()
    {
        count += shift_strings(file, shift);
    }
    moved.clock.start = Some(Timestamp(now));
    Ok((moved, shift, count))
}

/// `value` with every string that is wholly a time moved; how many were.
pub fn shift_json(value: &mut serde_json::Value, shift: Shift) -> usize {
    visit_strings(value, &mut |text| match whole_time(text) {
        Some(time) => {
            *text = time.moved(text, shift);
            1
        }
        None => 0,
    })
}

/// `text` with every time in it moved, the rest unchanged; how many were.
pub fn shift_text(text: &str, shift: Shift) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = 0;
    let mut at = 0;
    while at < text.len() {
        match time_at(text, at) {
            Some(time) => {
                out.push_str(&text[rest..at]);
                out.push_str(&time.moved(text, shift));
                count += 1;
                at = time.end;
                rest = at;
            }
            // Times are ASCII: step a whole character.
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    out.push_str(&text[rest..]);
    (out, count)
}

fn shift_in_place(text: &mut String, shift: Shift) -> usize {
    let (moved, count) = shift_text(text, shift);
    *text = moved;
    count
}

/// Every string in `value` (a settings file: a refresh command may print
/// a time) with the times in it moved.
fn shift_strings(value: &mut serde_json::Value, shift: Shift) -> usize {
    visit_strings(value, &mut |text| shift_in_place(text, shift))
}

fn visit_strings(
    value: &mut serde_json::Value,
    visit: &mut dyn FnMut(&mut String) -> usize,
) -> usize {
    match value {
        serde_json::Value::String(text) => visit(text),
        serde_json::Value::Array(items) => items.iter_mut().map(|v| visit_strings(v, visit)).sum(),
        serde_json::Value::Object(map) => map.values_mut().map(|v| visit_strings(v, visit)).sum(),
        _ => 0,
    }
}

/// A time found in a text: `text[start..end]`, its date and time of day
/// ending at `start + 19`, then a fraction and the zone.
struct Found {
    start: usize,
    end: usize,
    time: SystemTime,
}

impl Found {
    /// The time moved, written as it was: the same fraction and zone.
    fn moved(&self, text: &str, shift: Shift) -> String {
        let written = serde_json::to_value(Timestamp(shift.apply(self.time)))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let date_and_time = written.trim_end_matches('Z');
        format!("{date_and_time}{}", &text[self.start + 19..self.end])
    }
}

fn whole_time(text: &str) -> Option<Found> {
    time_at(text, 0).filter(|t| t.end == text.len())
}

/// The time that starts at byte `at` of `text`, if one does:
/// `YYYY-MM-DDTHH:MM:SS`, an optional `.fraction`, then `Z` or `±HH:MM`;
/// not inside a longer run of digits.
fn time_at(text: &str, at: usize) -> Option<Found> {
    let bytes = text.as_bytes();
    if at > 0 && bytes[at - 1].is_ascii_digit() {
        return None;
    }
    let head = bytes.get(at..at + 19)?;
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let fits = head.iter().zip(shape).all(|(&c, &s)| match s {
        b'd' => c.is_ascii_digit(),
        _ => c == s,
    });
    if !fits {
        return None;
    }
    let mut end = at + 19;
    if bytes.get(end) == Some(&b'.') {
        let digits = bytes[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        end += 1 + digits;
    }
    end += zone_length(&bytes[end..])?;
    let parsed: Timestamp =
        serde_json::from_value(format!("{}Z", &text[at..at + 19]).into()).ok()?;
    Some(Found {
        start: at,
        end,
        time: parsed.0,
    })
}

/// The length of a zone at the start of `rest`: `Z` or `±HH:MM`.
fn zone_length(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b'Z' => Some(1),
        b'+' | b'-' => {
            let zone = rest.get(..6)?;
            let fits = zone[1..3].iter().all(u8::is_ascii_digit)
                && zone[3] == b':'
                && zone[4..6].iter().all(u8::is_ascii_digit);
            fits.then_some(6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    #[test]
    fn times_in_text_move_and_keep_their_fraction_and_zone() {
        let text = "{\"expiresAt\": \"2026-11-25T20:00:00Z\"}\n\
                    expiration = 2026-11-25T12:30:00.123Z\n\
                    botocore: 2026-11-25T13:00:00+00:00 and 2026-11-25T13:00:00-05:00\n\
                    not times: 12026-11-25T13:00:00Z, 2026-11-25T13:00:00 (no zone), 2026-13-45T99:00:00Z\n\
                    é 2026-11-25T23:59:59Z";
        let (moved, count) = shift_text(text, Shift(2 * HOUR));
        assert_eq!(count, 5, "{moved}");
        assert_eq!(
            moved,
            "{\"expiresAt\": \"2026-11-25T22:00:00Z\"}\n\
             expiration = 2026-11-25T14:30:00.123Z\n\
             botocore: 2026-11-25T15:00:00+00:00 and 2026-11-25T15:00:00-05:00\n\
             not times: 12026-11-25T13:00:00Z, 2026-11-25T13:00:00 (no zone), 2026-13-45T99:00:00Z\n\
             é 2026-11-26T01:59:59Z"
        );
        let (back, _) = shift_text(&moved, Shift(-2 * HOUR));
        assert_eq!(back, text);
    }

    #[test]
    fn json_moves_only_strings_that_are_wholly_times() {
        let mut value = serde_json::json!({
            "expires_at": "2026-11-25T12:30:00Z",
            "list": [{"revoked_at": "2026-11-25T11:00:00Z"}],
            "message": "expired at 2026-11-25T12:30:00Z",
            "number": 20_261_125,
        });
        assert_eq!(shift_json(&mut value, Shift(-30 * 60)), 2);
        assert_eq!(value["expires_at"], "2026-11-25T12:00:00Z");
        assert_eq!(value["list"][0]["revoked_at"], "2026-11-25T10:30:00Z");
        assert_eq!(value["message"], "expired at 2026-11-25T12:30:00Z");
    }

    #[test]
    fn the_shift_is_the_distance_to_now_and_reads_as_days_and_time() {
        let start = crate::scenario::format::default_start();
        let now = start + Duration::from_secs(12 * 86_400 + 7_000);
        let shift = Shift::between(start, now);
        assert_eq!(shift, Shift(12 * 86_400 + 7_000));
        assert_eq!(shift.to_string(), "+12 d 01:56:40");
        assert_eq!(Shift::between(now, start).to_string(), "-12 d 01:56:40");
        assert_eq!(Shift(-30).to_string(), "-00:00:30");
        assert_eq!(shift.apply(start), now);
        assert_eq!(
            Shift(i64::MAX).apply(start),
            start,
            "out of range: unchanged"
        );
    }
}
