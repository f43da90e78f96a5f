//! Time as AWS writes it: SigV4's `20261125T162401Z` and its scope date
//! `20261125`, ISO 8601 (`2026-11-25T16:24:01Z`) for JSON and XML, and
//! [`Timestamp`], a time in the account's data. The calendar is the
//! `time` crate's; this module only lays the fields out as AWS does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A UTC date and time to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Utc(PrimitiveDateTime);

impl Utc {
    /// `t`, to the second. A time outside the years -9999 to 9999 (a
    /// test's clock moved to the ends of `SystemTime`) is shown as the
    /// nearest end of that range rather than refused: it only labels a
    /// time.
    pub fn from_system(t: SystemTime) -> Self {
        let seconds = match t.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        let first = PrimitiveDateTime::new(Date::MIN, Time::MIDNIGHT);
        let last_second = Time::from_hms(23, 59, 59).expect("a time of day");
        let last = PrimitiveDateTime::new(Date::MAX, last_second);
        let clamped = seconds.clamp(
            first.assume_utc().unix_timestamp(),
            last.assume_utc().unix_timestamp(),
        );
        let at = OffsetDateTime::from_unix_timestamp(clamped).expect("clamped into range");
        Utc(PrimitiveDateTime::new(at.date(), at.time()))
    }

    pub fn to_system(self) -> SystemTime {
        let seconds = self.0.assume_utc().unix_timestamp();
        if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        }
    }

    /// `20261125T162401Z`, the `x-amz-date` format.
    pub fn amz_date(self) -> String {
        let t = self.0.time();
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.scope_date(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// `20261125`, the date in a SigV4 credential scope.
    pub fn scope_date(self) -> String {
        let d = self.0.date();
        format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// `Wed, 25 Nov 2026 16:24:01 GMT`, HTTP's `Date` (RFC 9110's
    /// IMF-fixdate).
    pub fn http_date(self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (d, t) = (self.0.date(), self.0.time());
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            DAYS[usize::from(d.weekday().number_days_from_monday())],
            d.day(),
            MONTHS[usize::from(u8::from(d.month())) - 1],
            d.year(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// `2026-11-25T16:24:01Z`.
    pub fn iso8601(self) -> String {
        let (d, t) = (self.0.date(), self.0.time());
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// Parses `20261125T162401Z` strictly: sixteen characters, a real date
    /// and time.
    pub fn parse_amz_date(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = s.get(range)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let small = |range| number(range).and_then(|n| u8::try_from(n).ok());
        let month = Month::try_from(small(4..6)?).ok()?;
        let date = Date::from_calendar_date(i32::from(number(0..4)?), month, small(6..8)?).ok()?;
        let time = Time::from_hms(small(9..11)?, small(11..13)?, small(13..15)?).ok()?;
        Some(Utc(PrimitiveDateTime::new(date, time)))
    }

    /// Parses ISO 8601 as AWS credential files and scenario files write it:
    /// `2026-11-25T16:24:01Z`, optionally with fractional seconds.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let s = s.strip_suffix('Z')?;
        let (date, time) = s.split_once('T')?;
        let time = time.split('.').next()?;
        if date.len() != 10 || time.len() != 8 {
            return None;
        }
        let compact = format!("{}T{}Z", date.replace('-', ""), time.replace(':', ""));
        Self::parse_amz_date(&compact)
    }
}

/// A point in time, written as ISO 8601 (`2026-11-25T16:24:01Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub SystemTime);

/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bedrock_mock_server::Timestamp;
///
/// let at = Timestamp(UNIX_EPOCH + Duration::from_secs(1_795_623_841));
/// assert_eq!(at.to_string(), "2026-11-25T16:24:01Z");
/// ```
impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Utc::from_system(self.0).iso8601())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "A UTC time like 2026-11-25T16:24:01Z"
        })
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Utc::parse_iso8601(&s)
            .map(|t| Timestamp(t.to_system()))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{s}` is not a UTC time like 2026-11-25T16:24:01Z"
                ))
            })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn http_date_is_imf_fixdate() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_623_841);
        assert_eq!(
            Utc::from_system(t).http_date(),
            "Wed, 25 Nov 2026 16:24:01 GMT"
        );
        assert_eq!(
            Utc::from_system(UNIX_EPOCH).http_date(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn round_trips_the_golden_capture_time() {
        // journal.jsonl of golden/a_happy: time 1795623841.77 = 20261125T162401Z.
        let t = Utc::from_system(at(1_795_623_841));
        assert_eq!(t.amz_date(), "20261125T162401Z");
        assert_eq!(t.iso8601(), "2026-11-25T16:24:01Z");
        assert_eq!(
            Utc::parse_amz_date("20261125T162401Z").unwrap().to_system(),
            at(1_795_623_841)
        );
        assert_eq!(
            Utc::parse_iso8601("2026-11-25T16:24:01.123Z")
                .unwrap()
                .to_system(),
            at(1_795_623_841)
        );
    }

    #[test]
    fn every_day_for_centuries_round_trips() {
        for days in (0..200_000).step_by(7) {
            let t = at(days * 86_400 + 3_599);
            assert_eq!(Utc::from_system(t).to_system(), t);
        }
        let before = UNIX_EPOCH - Duration::from_secs(86_400 * 365);
        assert_eq!(Utc::from_system(before).iso8601(), "1969-01-01T00:00:00Z");
    }

    #[test]
    fn times_past_the_calendar_are_shown_at_its_ends() {
        assert_eq!(
            Utc::from_system(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4)).iso8601(),
            "9999-12-31T23:59:59Z"
        );
        let never = Utc::parse_iso8601("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(
            Utc::from_system(never.to_system()).iso8601(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "20261125T162401",
            "20261325T162401Z",
            "20260230T000000Z",
            "20261125T246001Z",
            "20261125T235960Z",
            "2026112aT162401Z",
            "+0261125T162401Z",
        ] {
            assert_eq!(Utc::parse_amz_date(bad), None, "{bad}");
        }
        assert!(Utc::parse_amz_date("20240229T000000Z").is_some());
        assert!(Utc::parse_amz_date("00000101T000000Z").is_some());
    }
}
