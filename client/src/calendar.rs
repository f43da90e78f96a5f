//! Dates and times as the client reads them, on one calendar (the `time`
//! crate's): ISO 8601 timestamps as AWS writes them
//! (`2026-11-25T16:30:34Z`, with optional fractional seconds or a numeric
//! offset), and dates as the CLI's deprecation table writes them
//! (`April 28, 2026`). A date that does not exist (February 30) is
//! refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::{Date, Month};

/// Parses an AWS timestamp; `None` for anything else.
pub(crate) fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if text.len() < 19 || !text.is_char_boundary(19) {
        return None;
    }
    let (main, rest) = text.split_at(19);
    let b = main.as_bytes();
    let separators_ok = b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = main.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Fractional seconds, then `Z` or `±hh:mm`.
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let days = days_since_epoch(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    u64::try_from(seconds)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// `April 28, 2026` as the start of that day (UTC); `None` when it is not
/// a date in that form.
pub(crate) fn parse_date(text: &str) -> Option<SystemTime> {
    let (month, rest) = text.split_once(' ')?;
    let (day, year) = rest.split_once(", ")?;
    let month: Month = month.parse().ok()?;
    let days = days_since_epoch(year.parse().ok()?, month, day.parse().ok()?)?;
    let seconds = u64::try_from(days.checked_mul(86_400)?).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to the given date; `None` when there is no such
/// date.
fn days_since_epoch(year: i32, month: Month, day: u8) -> Option<i64> {
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let epoch = Date::from_calendar_date(1970, Month::January, 1).ok()?;
    Some(i64::from(date.to_julian_day() - epoch.to_julian_day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn forms_aws_writes() {
        assert_eq!(parse_iso8601("2026-11-25T16:30:34Z"), at(1_795_624_234));
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), at(0));
        assert_eq!(parse_iso8601("2026-11-25T16:30:34.123Z"), at(1_795_624_234));
        assert_eq!(
            parse_iso8601("2026-11-25T17:30:34+01:00"),
            at(1_795_624_234)
        );
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), at(1_709_164_800));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "tomorrow",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-11-25T16:30:34",
            "2026-11-25T16:30:34+0100",
            "2026-11-25T1é:30:34Z",
            "1960-01-01T00:00:00Z",
            // Days that do not exist.
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_as_the_deprecation_table_writes_them() {
        // 2026-10-14T00:00:00Z is 1_791_936_000 s after the epoch.
        assert_eq!(parse_date("October 14, 2026"), at(1_791_936_000));
        assert_eq!(parse_date("Octember 14, 2026"), None);
        assert_eq!(parse_date("October 32, 2026"), None);
        assert_eq!(parse_date("February 30, 2026"), None);
        assert_eq!(parse_date("2026-10-14"), None);
    }
}
