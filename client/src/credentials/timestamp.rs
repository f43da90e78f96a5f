//! ISO 8601 times as AWS writes them (`2026-11-25T16:30:34Z`, with
//! optional fractional seconds or a numeric offset).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an AWS timestamp; `None` for anything else.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bedrock_client::credentials::parse_iso8601;
///
/// assert_eq!(
///     parse_iso8601("2026-11-25T16:30:34Z"),
///     Some(UNIX_EPOCH + Duration::from_secs(1_795_624_234))
/// );
/// ```
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
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
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
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
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    u64::try_from(seconds)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn forms_aws_writes() {
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
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
