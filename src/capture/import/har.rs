//! HAR 1.2 files (browser devtools, mitmproxy, Charles, Fiddler,
//! Proxyman): each entry to a Bedrock, Mantle, STS or SSO endpoint, in
//! `startedDateTime` order, as one exchange.
//!
//! What a HAR cannot say, and what is made of it:
//! - The body's timing: a HAR times the body as a whole, so it is one
//!   piece, `timings.receive` after the head; a stream's frames arrive
//!   together.
//! - The body as it went over the wire: HAR bodies are decoded, so a
//!   `content-encoding` header (which no longer describes the body) is
//!   left out.
//! - Request headers an exporter did not keep: HTTP/2's `:authority`
//!   becomes `host`; other pseudo-headers are left out; a request with
//!   neither gets a `host` from its URL, as HTTP/1.1 sends one.
//! - A failed request: status 0 (or no status) with `_error` (Chrome,
//!   Firefox) is a request with no answer; `_error` on an answered entry
//!   is a body that broke `timings.receive` after the head.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use super::error::without_values;
use super::scope::in_scope;
use super::{ImportError, ImportErrorKind, Place, decode_base64, duration_from_ms};
use crate::capture::exchange::{Answered, BodyEnd, Exchange, Outcome, Piece};

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "startedDateTime")]
    started: String,
    request: Request,
    response: Response,
    #[serde(default)]
    timings: Timings,
    #[serde(default, rename = "_error")]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default, rename = "postData")]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct PostData {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    params: Vec<NameValue>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    content: Content,
    #[serde(default, rename = "_error")]
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Content {
    #[serde(default)]
    size: Option<f64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct Timings {
    #[serde(default = "not_applicable")]
    wait: f64,
    #[serde(default = "not_applicable")]
    receive: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            wait: not_applicable(),
            receive: not_applicable(),
        }
    }
}

/// HAR's "does not apply" time.
fn not_applicable() -> f64 {
    -1.0
}

/// The exchanges of a HAR file, and what was left out.
pub(super) fn read(bytes: &[u8]) -> Result<(Vec<Exchange>, Vec<String>), ImportError> {
    let har = parse(bytes)?;
    let total = har.log.entries.len();
    let mut timed = Vec::with_capacity(total);
    for (index, entry) in har.log.entries.into_iter().enumerate() {
        let field = |name: &str| format!("log.entries[{index}].{name}");
        let at = instant_nanos(&entry.started).ok_or_else(|| {
            ImportError::new(
                ImportErrorKind::Shape,
                "not an ISO 8601 date and time (like 2026-12-07T10:00:00.123Z)",
            )
            .at(Some(Place::Entry(index)))
            .field(field("startedDateTime"))
        })?;
        timed.push((at, index, entry));
    }
    timed.sort_by_key(|(at, index, _)| (*at, *index));
    let first = timed.first().map_or(0, |(at, ..)| *at);
    let mut exchanges = Vec::new();
    let mut skipped = Vec::new();
    let mut hosts = Vec::new();
    for (at, index, entry) in timed {
        let started = Duration::from_nanos(u64::try_from(at - first).unwrap_or(u64::MAX));
        match exchange(entry, index, started, &mut skipped)? {
            Ok(exchange) => exchanges.push(exchange),
            Err(host) => hosts.push(host),
        }
    }
    if exchanges.is_empty() {
        hosts.sort();
        hosts.dedup();
        let message = if total == 0 {
            "it has no entries: record the session with the devtools' Network tab (or the proxy) open, then export it as HAR".to_owned()
        } else {
            format!(
                "none of its {total} entries is a Bedrock, Mantle, STS or SSO request (hosts: {}): capture the client's traffic to Bedrock",
                hosts.join(", ")
            )
        };
        return Err(ImportError::new(ImportErrorKind::Nothing, message));
    }
    Ok((exchanges, skipped))
}

fn parse(bytes: &[u8]) -> Result<Har, ImportError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let har: Har = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let text = without_values(&inner.to_string());
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return ImportError::new(
                ImportErrorKind::Syntax,
                format!("not JSON ({text}): a HAR file is JSON; export it again, whole"),
            );
        }
        ImportError::new(
            ImportErrorKind::Shape,
            format!(
                "{text}: not a HAR 1.2 file as this reads one (export the session as HAR, or pass --format log or eventstream)"
            ),
        )
        .at(entry_of(&field).map(Place::Entry))
        .field(field)
    })?;
    deserializer.end().map_err(|e| {
        ImportError::new(
            ImportErrorKind::Syntax,
            format!(
                "more after the HAR's JSON ({}): export it again, whole",
                without_values(&e.to_string())
            ),
        )
    })?;
    Ok(har)
}

/// The entry a field path (`log.entries[3].response`) is in.
fn entry_of(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("log.entries[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// Entry `index` as an exchange; `Ok(Err(host))` when it is out of scope
/// (said in `skipped`).
fn exchange(
    mut entry: Entry,
    index: usize,
    started: Duration,
    skipped: &mut Vec<String>,
) -> Result<Result<Exchange, String>, ImportError> {
    let fail = |kind, message: &str, name: &str| failure(index, kind, message, name);
    let Some(url) = split_url(&entry.request.url) else {
        return Err(fail(
            ImportErrorKind::Shape,
            "not an absolute URL (scheme://host/path)",
            "request.url",
        ));
    };
    let body = request_body(entry.request.post_data.as_ref())
        .map_err(|e| fail(ImportErrorKind::Syntax, &e, "request.postData.text"))?;
    let method = entry.request.method;
    if method.eq_ignore_ascii_case("OPTIONS") {
        skipped.push(format!(
            "entry {index} (OPTIONS {}{}): a browser's CORS preflight, not the client's request",
            url.host, url.path
        ));
        return Ok(Err(url.host.to_owned()));
    }
    if !in_scope(url.host, &method, url.path, &body) {
        skipped.push(format!(
            "entry {index} ({method} {}{}): not a Bedrock, Mantle, STS or SSO endpoint",
            url.host, url.path
        ));
        return Ok(Err(url.host.to_owned()));
    }
    let error = entry.response.error.take().or(entry.error);
    let outcome = outcome(entry.response, error, &entry.timings, index, skipped)?;
    Ok(Ok(Exchange {
        started,
        method,
        path: url.path.to_owned(),
        query: url.query.to_owned(),
        headers: request_headers(entry.request.headers, url.authority),
        body,
        outcome,
    }))
}

fn failure(index: usize, kind: ImportErrorKind, message: &str, name: &str) -> ImportError {
    ImportError::new(kind, message)
        .at(Some(Place::Entry(index)))
        .field(format!("log.entries[{index}].{name}"))
}

/// What came back for entry `index`: no answer for status 0, else the
/// answer, its body one piece.
fn outcome(
    response: Response,
    error: Option<String>,
    timings: &Timings,
    index: usize,
    skipped: &mut Vec<String>,
) -> Result<Outcome, ImportError> {
    let time = |ms: f64, name: &str| {
        // HAR says -1 for a time that does not apply.
        duration_from_ms(ms.max(0.0)).ok_or_else(|| {
            let message = "not a time: milliseconds up to 10^12";
            failure(index, ImportErrorKind::Shape, message, name)
        })
    };
    let head_after = time(timings.wait, "timings.wait")?;
    let receive = time(timings.receive, "timings.receive")?;
    if response.status == 0 {
        return Ok(Outcome::NoAnswer {
            after: head_after,
            why: error.unwrap_or_else(|| "no answer (status 0 in the HAR)".into()),
        });
    }
    let content = response.content;
    let body = response_body(&content)
        .map_err(|e| failure(index, ImportErrorKind::Syntax, &e, "response.content.text"))?;
    if content.text.is_none() && content.size.is_some_and(|s| s > 0.0) {
        skipped.push(format!(
            "entry {index}: the answer's body is not in the HAR: export it with content (Chrome: \"Save all as HAR with content\")"
        ));
    }
    let decoded = content.text.is_some();
    let headers = lower_case(response.headers)
        .filter(|(name, _)| !(decoded && name == "content-encoding"))
        .collect();
    let pieces = if body.is_empty() {
        Vec::new()
    } else {
        vec![Piece {
            at: receive,
            bytes: body,
        }]
    };
    Ok(Outcome::Answered(Answered {
        head_after,
        status: response.status,
        headers,
        pieces,
        end: match error {
            Some(_) => BodyEnd::Broken { at: receive },
            None => BodyEnd::Complete,
        },
    }))
}

/// Names lower-case, HTTP/2 pseudo-headers left out.
fn lower_case(headers: Vec<NameValue>) -> impl Iterator<Item = (String, String)> {
    headers
        .into_iter()
        .filter(|h| !h.name.starts_with(':'))
        .map(|h| (h.name.to_ascii_lowercase(), h.value))
}

/// A request's headers: `:authority` as `host` (unless there is one),
/// and a `host` from the URL when neither was kept.
fn request_headers(headers: Vec<NameValue>, authority: &str) -> Vec<(String, String)> {
    let has_host = headers.iter().any(|h| h.name.eq_ignore_ascii_case("host"));
    let mut out = Vec::with_capacity(headers.len() + 1);
    let mut host_given = has_host;
    for h in headers {
        if h.name.eq_ignore_ascii_case(":authority") && !host_given {
            out.push(("host".to_owned(), h.value));
            host_given = true;
        } else if !h.name.starts_with(':') {
            out.push((h.name.to_ascii_lowercase(), h.value));
        }
    }
    if !host_given {
        out.insert(0, ("host".to_owned(), authority.to_owned()));
    }
    out
}

fn request_body(post: Option<&PostData>) -> Result<Bytes, String> {
    let Some(post) = post else {
        return Ok(Bytes::new());
    };
    match &post.text {
        Some(text) => decoded(text, post.encoding.as_deref()),
        // Some exporters keep a form only as its parameters.
        None => Ok(post
            .params
            .iter()
            .map(|p| format!("{}={}", p.name, p.value))
            .collect::<Vec<_>>()
            .join("&")
            .into()),
    }
}

fn response_body(content: &Content) -> Result<Bytes, String> {
    match &content.text {
        Some(text) => decoded(text, content.encoding.as_deref()),
        None => Ok(Bytes::new()),
    }
}

fn decoded(text: &str, encoding: Option<&str>) -> Result<Bytes, String> {
    match encoding {
        Some(e) if e.eq_ignore_ascii_case("base64") => {
            decode_base64(text).map(Bytes::from).map_err(|e| {
                format!("`encoding` says base64, but it is not ({e}): export the HAR again")
            })
        }
        _ => Ok(Bytes::copy_from_slice(text.as_bytes())),
    }
}

struct Url<'a> {
    authority: &'a str,
    host: &'a str,
    path: &'a str,
    query: &'a str,
}

/// An absolute URL's parts, the path and query exactly as written.
fn split_url(url: &str) -> Option<Url<'_>> {
    let (_, rest) = url.split_once("://")?;
    let rest = rest.split('#').next().unwrap_or_default();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return None;
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Some(Url {
        authority,
        host,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// An ISO 8601 date and time (`2026-12-07T10:00:00.1234567+01:00`; no
/// offset is UTC) as nanoseconds from 1970.
fn instant_nanos(text: &str) -> Option<i128> {
    let b = text.trim().as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(digits).ok()?.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for i in 0..9 {
            let digit = fraction[..digits].get(i).map_or(0, |d| d - b'0');
            nanos = nanos * 10 + i128::from(digit);
        }
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let tail: Vec<u8> = tail.iter().copied().filter(|&c| c != b':').collect();
            if tail.len() != 4 || !tail.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = |s: &[u8]| i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0');
            let minutes = value(&tail[..2]) * 60 + value(&tail[2..]);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_with_fractions_and_offsets() {
        assert_eq!(instant_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            instant_nanos("1970-01-01T01:00:00.5+01:00"),
            Some(500_000_000)
        );
        assert_eq!(
            instant_nanos("2026-12-07T10:00:00.1234567891-0030"),
            instant_nanos("2026-12-07T10:30:00.123456789Z")
        );
        assert_eq!(
            instant_nanos("2000-03-01T00:00:00Z"),
            Some(951_868_800 * 1_000_000_000)
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-07T10:00:00.Z",
            "2026-12-07T10:00:00+1",
            "2026-12-07 10:00",
            "2026-12-07T10:00:00Zjunk",
            "２０２６-12-07T10:00:00Z",
        ] {
            assert_eq!(instant_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn urls_keep_path_and_query_as_written() {
        let url = split_url("https://user@[::1]:8443/model/a%3Ab/invoke?x=1&y=%2F#frag").unwrap();
        assert_eq!(
            (url.authority, url.host, url.path, url.query),
            ("[::1]:8443", "::1", "/model/a%3Ab/invoke", "x=1&y=%2F")
        );
        let bare = split_url("http://127.0.0.1:8080?Action=x").unwrap();
        assert_eq!((bare.path, bare.query), ("/", "Action=x"));
        assert!(split_url("/relative/path").is_none());
        assert!(split_url("https:///path").is_none());
    }
}
