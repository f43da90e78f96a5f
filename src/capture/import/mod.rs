//! `bedrock-harness import`: a capture a customer already has, read into
//! the [`Exchange`]s that `record` produces, so the same writer turns it
//! into a scenario.
//!
//! Three formats, told apart by their content (or named with
//! [`ImportOptions::format`]):
//! - [`Format::Har`]: a HAR 1.2 file, as browser devtools, mitmproxy,
//!   Charles, Fiddler and Proxyman export it. Each entry to a Bedrock,
//!   Mantle, STS or SSO endpoint becomes one exchange; other entries
//!   (telemetry, the Anthropic API) are left out and listed in
//!   [`Imported::skipped`]. A HAR times an answer's body as a whole, not
//!   piece by piece: its body becomes one piece, `timings.receive` after
//!   the head, so a stream's gaps between frames are not in it.
//! - [`Format::Log`]: the proxy log `bedrock-harness record --log` writes,
//!   one JSON line per exchange ([`log_line`]), every piece with its time
//!   and every credential left out (a tag in its place).
//! - [`Format::EventStream`]: an `application/vnd.amazon.eventstream`
//!   body, as `bedrock-harness decode` reads it (the bytes), or as base64
//!   or hex text of them. It has no request and no timing: one
//!   `InvokeModelWithResponseStream` exchange, each frame a piece at the
//!   head's time.
//!
//! ```
//! use bedrock_harness::capture::exchange::Outcome;
//! use bedrock_harness::capture::import::{Format, ImportOptions, read_file};
//!
//! let har = r#"{"log": {"version": "1.2", "entries": [{
//!     "startedDateTime": "2026-12-07T10:00:00.000Z",
//!     "request": {"method": "GET",
//!         "url": "https://bedrock.us-east-1.amazonaws.com/inference-profiles?type=SYSTEM_DEFINED",
//!         "headers": [{"name": "Host", "value": "bedrock.us-east-1.amazonaws.com"}]},
//!     "response": {"status": 200, "headers": [],
//!         "content": {"mimeType": "application/json", "text": "{\"inferenceProfileSummaries\":[]}"}},
//!     "timings": {"wait": 80.5, "receive": 1.5}
//! }]}}"#;
//! let dir = std::env::temp_dir().join(format!("import-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("session.har");
//! std::fs::write(&path, har).unwrap();
//!
//! let imported = read_file(&path, &ImportOptions::new()).unwrap();
//! assert_eq!(imported.format, Format::Har);
//! let exchange = &imported.exchanges[0];
//! assert_eq!((exchange.path.as_str(), exchange.query.as_str()), ("/inference-profiles", "type=SYSTEM_DEFINED"));
//! let Outcome::Answered(answer) = &exchange.outcome else { panic!() };
//! assert_eq!(answer.status, 200);
//! assert_eq!(answer.head_after, std::time::Duration::from_micros(80_500));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod error;
mod eventstream;
mod har;
mod log;
mod mask;
mod scope;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;

use crate::capture::exchange::Exchange;

pub use error::{ImportError, ImportErrorKind, Place};
pub use log::{LOG_VERSION, log_line};

/// A capture's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A HAR 1.2 file (`har`).
    Har,
    /// `bedrock-harness record --log`'s JSON lines (`log`).
    Log,
    /// An event-stream body: its bytes, or base64 or hex text of them
    /// (`eventstream`).
    EventStream,
}

impl Format {
    /// Its name on the command line: `har`, `log`, `eventstream`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Har => "har",
            Format::Log => "log",
            Format::EventStream => "eventstream",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--format` name; an unknown one is refused with the names there are.
///
/// ```
/// use bedrock_harness::capture::import::Format;
///
/// assert_eq!("har".parse::<Format>().unwrap(), Format::Har);
/// let error = "pcap".parse::<Format>().unwrap_err();
/// assert_eq!(error.to_string(), "unknown import format `pcap`: use har, log or eventstream");
/// ```
impl FromStr for Format {
    type Err = ImportError;

    fn from_str(name: &str) -> Result<Self, ImportError> {
        [Format::Har, Format::Log, Format::EventStream]
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                ImportError::new(
                    ImportErrorKind::UnknownFormat,
                    format!("unknown import format `{name}`: use har, log or eventstream"),
                )
            })
    }
}

/// How to read a capture: [`ImportOptions::new`], then the setters.
///
/// ```
/// use bedrock_harness::capture::import::{Format, ImportOptions};
///
/// let options = ImportOptions::new()
///     .format(Format::EventStream)
///     .model("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
/// assert_eq!(options.model.as_deref(), Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The format, when not left to the content to say.
    pub format: Option<Format>,
    /// The model an event-stream body was asked of (it has no request);
    /// without it, the `message_start` event's `message.model`.
    pub model: Option<String>,
}

impl ImportOptions {
    /// The format from the content; an event-stream body's model from its
    /// `message_start`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the capture as `format`, whatever its content looks like.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// The model an event-stream body's request named.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}

/// What a capture held.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Imported {
    /// Its exchanges, in the order their requests started.
    pub exchanges: Vec<Exchange>,
    /// What was left out and why, one line each (`entry 4 (GET
    /// statsig.anthropic.com/v1/rgstr): not a Bedrock, Mantle, STS or SSO
    /// endpoint`); no query strings or header values, which may hold
    /// secrets.
    pub skipped: Vec<String>,
    /// The format it was read as.
    pub format: Format,
}

/// Reads the capture at `path`: a HAR file, a proxy log or an event-stream
/// body (see the [module docs](self) for each).
///
/// Errors: the file cannot be read or is empty; it is none of the formats
/// (or not the one `options` names); a field is missing or wrong (the
/// error names the entry, line or byte and the field); a proxy log of
/// another version; an event-stream body with no model; a HAR with no
/// Bedrock, Mantle, STS or SSO request in it.
pub fn read_file(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ImportError::new(
            ImportErrorKind::Unreadable,
            format!("cannot read it ({e}): check the path and its permissions"),
        )
        .in_file(path)
    })?;
    read_bytes(&bytes, options).map_err(|e| e.in_file(path))
}

fn read_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::new(
            ImportErrorKind::Empty,
            "the file is empty: nothing to import",
        ));
    }
    let format = options.format.unwrap_or_else(|| detect(bytes));
    // Editors on Windows open text with a byte order mark; JSON has none.
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let (exchanges, skipped) = match format {
        Format::Har => har::read(text)?,
        Format::Log => log::read(text)?,
        Format::EventStream => (
            vec![eventstream::read(bytes, options.model.as_deref())?],
            Vec::new(),
        ),
    };
    Ok(Imported {
        exchanges,
        skipped,
        format,
    })
}

/// The format a capture's content says: JSON whose first line opens
/// with a `v` field is a proxy log (even cut short), other JSON a HAR,
/// anything else an event-stream body (bytes or text).
fn detect(bytes: &[u8]) -> Format {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| text[i]) {
        Some(b'{' | b'[') => {
            let first = text
                .split(|&b| b == b'\n')
                .find(|l| !l.trim_ascii().is_empty());
            let opening: Vec<u8> = first
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .take(5)
                .collect();
            if opening == b"{\"v\":" {
                Format::Log
            } else {
                Format::Har
            }
        }
        _ => Format::EventStream,
    }
}

/// The longest time a capture may give (about 31 years, in ms): past it a
/// number is not a time.
const MAX_MS: f64 = 1e12;

/// `ms` milliseconds as a duration, to the nanosecond; `None` when
/// negative or past [`MAX_MS`].
fn duration_from_ms(ms: f64) -> Option<Duration> {
    (0.0..=MAX_MS)
        .contains(&ms)
        .then(|| Duration::from_nanos((ms * 1e6).round() as u64))
}

/// `duration` in milliseconds, exact to the nanosecond when read back by
/// [`duration_from_ms`].
fn ms_from_duration(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e6
}

/// Base64 as captures write it: padded or not, wrapped or not.
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact)
}

fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(detect(b"{\"v\":1,\"started_ms\":0}\n{}"), Format::Log);
        assert_eq!(detect(b"\xef\xbb\xbf\n {\"log\": {}}"), Format::Har);
        assert_eq!(detect(b"{\n  \"log\": {\"v\": 1}\n}"), Format::Har);
        assert_eq!(detect(b"{ \"v\" :1,\"started_ms\":0.0,\"meth"), Format::Log);
        assert_eq!(detect(b"\0\0\0\x10"), Format::EventStream);
        assert_eq!(detect(b"AAAAZQAAAEs"), Format::EventStream);
    }

    proptest::proptest! {
        /// Whatever the bytes, in whatever format, an answer or an
        /// error: never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            format in 0..4usize,
        ) {
            let mut options = ImportOptions::new();
            options.format = [None, Some(Format::Har), Some(Format::Log), Some(Format::EventStream)][format];
            let _ = read_bytes(&bytes, &options.model("m"));
        }
    }

    /// Cuts of a HAR, a log and a stream: read or refused, never a
    /// panic (`tests/harness/capture_import.rs` has the files whole).
    #[test]
    fn every_cut_of_a_capture_is_read_or_refused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let har = std::fs::read(root.join("tests/data/capture/session.har")).unwrap();
        let stream = std::fs::read(root.join("eventstream/tests/data/bedrock_stream.bin")).unwrap();
        let exchanges = read_bytes(&har, &ImportOptions::new()).unwrap().exchanges;
        let log: String = exchanges.iter().map(|e| log_line(e) + "\n").collect();
        let options = ImportOptions::new().model("m");
        // Every byte of the stream; of the JSON, cuts a few bytes apart
        // (each cut parses anew: every one would take seconds).
        let cuts = [
            ("har", har.as_slice(), 17),
            ("log", log.as_bytes(), 5),
            ("stream", stream.as_slice(), 1),
        ];
        for (name, bytes, step) in cuts {
            for end in (0..bytes.len()).step_by(step) {
                match read_bytes(&bytes[..end], &options) {
                    Ok(imported) => assert!(!imported.exchanges.is_empty(), "{name} cut at {end}"),
                    Err(e) => assert!(!e.message.is_empty()),
                }
            }
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_json() {
        let log = "\u{feff}{\"v\":1,\"started_ms\":0.0,\"method\":\"GET\",\"path\":\"/\",\"query\":\"\",\"headers\":[],\"body\":\"\",\"outcome\":{\"kind\":\"no_answer\",\"after_ms\":0.0,\"why\":\"reset\"}}\n";
        let imported = read_bytes(log.as_bytes(), &ImportOptions::new()).unwrap();
        assert_eq!(
            (imported.format, imported.exchanges.len()),
            (Format::Log, 1)
        );
    }

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        for nanos in [0, 1, 999_999, 1_234_567_891, 86_400_000_000_001] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(duration_from_ms(ms_from_duration(d)), Some(d));
        }
        assert_eq!(duration_from_ms(-1.0), None);
        assert_eq!(duration_from_ms(1e300), None);
    }
}
