//! The date formats AWS puts on the wire, without a calendar crate:
//! SigV4's `20261125T162401Z`, its scope date `20261125`, and ISO 8601
//! (`2026-11-25T16:24:01Z`) for JSON timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC date and time to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Utc {
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    pub fn from_system(t: SystemTime) -> Self {
        Self::from_unix(crate::clock::unix_seconds(t))
    }

    pub fn to_unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }

    pub fn to_system(self) -> SystemTime {
        let secs = self.to_unix();
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    }

    /// `20261125T162401Z`, the `x-amz-date` format.
    pub fn amz_date(self) -> String {
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.scope_date(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `20261125`, the date in a SigV4 credential scope.
    pub fn scope_date(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `2026-11-25T16:24:01Z`.
    pub fn iso8601(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// Parses `20261125T162401Z` strictly: sixteen characters, real ranges.
    pub fn parse_amz_date(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(range)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let utc = Utc {
            year: i64::from(num(0..4)?),
            month: num(4..6)?,
            day: num(6..8)?,
            hour: num(9..11)?,
            minute: num(11..13)?,
            second: num(13..15)?,
        };
        let valid = (1..=12).contains(&utc.month)
            && (1..=days_in_month(utc.year, utc.month)).contains(&utc.day)
            && utc.hour < 24
            && utc.minute < 60
            && utc.second < 60;
        valid.then_some(utc)
    }

    /// Parses ISO 8601 as AWS credential files and scenario files write it:
    /// `2026-11-25T16:24:01Z`, optionally with fractional seconds.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let s = s.strip_suffix('Z')?;
        let (date, time) = s.split_once('T')?;
        let time = time.split('.').next()?;
        let compact = format!("{}T{}Z", date.replace('-', ""), time.replace(':', ""));
        if date.len() != 10 || time.len() != 8 {
            return None;
        }
        Self::parse_amz_date(&compact)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for the
// proleptic Gregorian calendar, no tables.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_golden_capture_time() {
        // journal.jsonl of golden/a_happy: time 1795623841.77 = 20261125T162401Z.
        let t = Utc::from_unix(1_795_623_841);
        assert_eq!(t.amz_date(), "20261125T162401Z");
        assert_eq!(t.iso8601(), "2026-11-25T16:24:01Z");
        assert_eq!(
            Utc::parse_amz_date("20261125T162401Z").unwrap().to_unix(),
            1_795_623_841
        );
        assert_eq!(
            Utc::parse_iso8601("2026-11-25T16:24:01.123Z")
                .unwrap()
                .to_unix(),
            1_795_623_841
        );
    }

    #[test]
    fn every_day_for_centuries_round_trips() {
        for days in (-200_000..200_000).step_by(7) {
            let t = Utc::from_unix(days * 86_400 + 3_599);
            assert_eq!(t.to_unix(), days * 86_400 + 3_599);
        }
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "20261125T162401",
            "20261325T162401Z",
            "20260230T000000Z",
            "20261125T246001Z",
            "2026112aT162401Z",
            "+0261125T162401Z",
        ] {
            assert_eq!(Utc::parse_amz_date(bad), None, "{bad}");
        }
        assert!(Utc::parse_amz_date("20240229T000000Z").is_some());
    }
}
