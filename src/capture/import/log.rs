//! The proxy log: `bedrock-harness record --log FILE` writes one JSON line
//! per exchange as each one ends, so a session that crashes still leaves
//! what it saw. Version 1, fields in this order:
//!
//! ```text
//! {"v":1,"started_ms":0.0,"method":"POST","path":"/model/…/invoke","query":"",
//!  "headers":[["host","…"],…],"body":"<base64>",
//!  "outcome":{"kind":"answered","head_after_ms":412.5,"status":200,
//!             "headers":[["content-type","…"],…],
//!             "pieces":[{"at_ms":0.0,"bytes":"<base64>"},…],
//!             "end":{"kind":"complete"}}}
//! ```
//!
//! `outcome` is `{"kind":"client_left","after_ms":…}` when the client went
//! away before the head, and `{"kind":"no_answer","after_ms":…,"why":"…"}` when no head
//! came; `end` is `complete`, `broken` or `client_left`, the last two with
//! `at_ms`. Times are milliseconds (fractions to the nanosecond), bodies
//! and pieces base64. The log holds what went over the wire but the
//! credentials: signatures, session tokens, keys (any header that may
//! hold one), the tokens a request's form body or query assigns
//! (`WebIdentityToken=`, `TokenCode=`, `SAMLAssertion=`) and the secrets
//! of credential answers are written as `<redacted 1a2b3c4d>`, a tag that
//! tells one from another (a body masked so is one piece). Key ids,
//! prompts and answers stay: `import` redacts them as it writes the
//! scenario.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::without_values;
use super::mask;
use super::{
    ImportError, ImportErrorKind, Place, decode_base64, duration_from_ms, encode_base64,
    ms_from_duration,
};
use crate::capture::exchange::{Answered, BodyEnd, Exchange, Outcome, Piece};

/// The proxy log's version, its lines' `"v"`: a reader refuses others.
pub const LOG_VERSION: u32 = 1;

/// A line; its outcome is read apart (`Line<Value>`) so that an error
/// inside it names its field (serde's tagged enums lose the path).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<O = LineOutcome> {
    v: u32,
    started_ms: f64,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
    outcome: O,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LineOutcome {
    Answered(LineAnswered),
    NoAnswer(LineNoAnswer),
    ClientLeft(LineClientLeft),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineClientLeft {
    after_ms: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineAnswered {
    head_after_ms: f64,
    status: u16,
    headers: Vec<(String, String)>,
    pieces: Vec<LinePiece>,
    end: LineEnd,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineNoAnswer {
    after_ms: f64,
    why: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinePiece {
    at_ms: f64,
    bytes: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum LineEnd {
    Complete,
    Broken { at_ms: f64 },
    ClientLeft { at_ms: f64 },
}

/// `exchange` as one line of the proxy log (no newline at its end): what
/// `record --log` appends after each exchange, and what
/// [`read_file`](super::read_file) reads back as the same exchange.
///
/// ```
/// use bedrock_harness::capture::import::{ImportOptions, log_line, read_file};
///
/// let line = r#"{"v":1,"started_ms":1500.0,"method":"POST","path":"/","query":"","headers":[["host","sts.amazonaws.com"]],"body":"QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ==","outcome":{"kind":"no_answer","after_ms":3.25,"why":"connection refused"}}"#;
/// let dir = std::env::temp_dir().join(format!("log-line-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("session.log");
/// std::fs::write(&path, format!("{line}\n")).unwrap();
///
/// let imported = read_file(&path, &ImportOptions::new()).unwrap();
/// let exchange = &imported.exchanges[0];
/// assert_eq!(&exchange.body[..], b"Action=GetCallerIdentity&Version=2011-06-15");
/// assert_eq!(log_line(exchange), line);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn log_line(exchange: &Exchange) -> String {
    let outcome = match &exchange.outcome {
        Outcome::Answered(answer) => LineOutcome::Answered(LineAnswered {
            head_after_ms: ms_from_duration(answer.head_after),
            status: answer.status,
            headers: masked_headers(&answer.headers),
            pieces: line_pieces(answer),
            end: match answer.end {
                BodyEnd::Complete => LineEnd::Complete,
                BodyEnd::Broken { at } => LineEnd::Broken {
                    at_ms: ms_from_duration(at),
                },
                BodyEnd::ClientLeft { at } => LineEnd::ClientLeft {
                    at_ms: ms_from_duration(at),
                },
            },
        }),
        Outcome::NoAnswer { after, why } => LineOutcome::NoAnswer(LineNoAnswer {
            after_ms: ms_from_duration(*after),
            why: why.clone(),
        }),
        Outcome::ClientLeft { after } => LineOutcome::ClientLeft(LineClientLeft {
            after_ms: ms_from_duration(*after),
        }),
    };
    let body = mask::request_body(&exchange.body);
    let line = Line {
        v: LOG_VERSION,
        started_ms: ms_from_duration(exchange.started),
        method: exchange.method.clone(),
        path: exchange.path.clone(),
        query: mask::query(&exchange.query),
        headers: masked_headers(&exchange.headers),
        body: encode_base64(body.as_deref().unwrap_or(&exchange.body)),
        outcome,
    };
    serde_json::to_string(&line).expect("a log line is plain data: it serializes")
}

fn masked_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.clone(), mask::header(name, value)))
        .collect()
}

/// The answer's pieces; one, at the first's time, when its body had a
/// credential to mask.
fn line_pieces(answer: &Answered) -> Vec<LinePiece> {
    let piece = |at, bytes: &[u8]| LinePiece {
        at_ms: ms_from_duration(at),
        bytes: encode_base64(bytes),
    };
    let masked = match answer.pieces.as_slice() {
        [] => None,
        [one] => mask::body(&one.bytes),
        _ => mask::body(&answer.body()),
    };
    match masked {
        Some(body) => vec![piece(answer.pieces[0].at, &body)],
        None => answer
            .pieces
            .iter()
            .map(|p| piece(p.at, &p.bytes))
            .collect(),
    }
}

/// The exchanges of a proxy log, in the order their requests started. A
/// last line cut short (the recorder stopped while writing it) is left
/// out and said in the second list; any other bad line is refused.
pub(super) fn read(bytes: &[u8]) -> Result<(Vec<Exchange>, Vec<String>), ImportError> {
    let mut exchanges = Vec::new();
    let mut skipped = Vec::new();
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((index, text)) = lines.next() {
        let number = index + 1;
        if text.trim_ascii().is_empty() {
            continue;
        }
        let last = lines.peek().is_none();
        match read_line(text) {
            Ok(exchange) => exchanges.push(exchange),
            Err((e, true)) if last => skipped.push(format!(
                "line {number}: cut short (the recorder stopped while writing it): {}",
                e.message
            )),
            Err((e, _)) => return Err(e.at(Some(Place::Line(number)))),
        }
    }
    if exchanges.is_empty() {
        return Err(ImportError::new(
            ImportErrorKind::Nothing,
            "no whole line: the recorder stopped before its first exchange ended; record the session again",
        ));
    }
    exchanges.sort_by_key(|e| e.started);
    Ok((exchanges, skipped))
}

/// One line's exchange; the error says whether the JSON merely ended too
/// soon.
fn read_line(text: &[u8]) -> Result<Exchange, (ImportError, bool)> {
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        let message = format!(
            "not JSON ({}): a proxy log holds one JSON object a line, as `bedrock-harness record --log` writes it",
            without_values(&e.to_string())
        );
        (ImportError::new(ImportErrorKind::Syntax, message), e.is_eof())
    })?;
    let whole = |e: ImportError| (e, false);
    match value.get("v") {
        Some(v) if v.as_u64() == Some(u64::from(LOG_VERSION)) => {}
        Some(v) => {
            return Err(whole(
                ImportError::new(
                    ImportErrorKind::Version,
                    format!(
                        "log version {v}: this bedrock-harness reads version {LOG_VERSION}; import it with the bedrock-harness that recorded it"
                    ),
                )
                .field("v"),
            ));
        }
        None => {
            return Err(whole(
                ImportError::new(
                    ImportErrorKind::Shape,
                    "missing: not a `bedrock-harness record --log` line (pass --format har or eventstream if the file is one of those)",
                )
                .field("v"),
            ));
        }
    }
    let mut line: Line<serde_json::Value> = fields(value, "")?;
    let outcome = outcome(line.outcome.take())?;
    exchange(line, outcome)
}

/// `value` as a `T`; an error names the field, under `prefix`.
fn fields<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, (ImportError, bool)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix, path.as_str()) {
            (_, ".") => prefix.trim_end_matches('.').to_owned(),
            _ => format!("{prefix}{path}"),
        };
        let message = format!(
            "{}: a log line is as `bedrock-harness record --log` writes it; edit it back, or record the session again",
            without_values(&e.into_inner().to_string())
        );
        (ImportError::new(ImportErrorKind::Shape, message).field(field), false)
    })
}

fn outcome(mut value: serde_json::Value) -> Result<LineOutcome, (ImportError, bool)> {
    let kind = value.as_object_mut().and_then(|o| o.remove("kind"));
    match kind.as_ref().and_then(|k| k.as_str()) {
        Some("answered") => fields(value, "outcome.").map(LineOutcome::Answered),
        Some("no_answer") => fields(value, "outcome.").map(LineOutcome::NoAnswer),
        Some("client_left") => fields(value, "outcome.").map(LineOutcome::ClientLeft),
        _ => Err((
            ImportError::new(
                ImportErrorKind::Shape,
                "missing or unknown: `answered`, `no_answer` or `client_left`",
            )
            .field("outcome.kind"),
            false,
        )),
    }
}

fn exchange(
    line: Line<serde_json::Value>,
    outcome: LineOutcome,
) -> Result<Exchange, (ImportError, bool)> {
    let whole = |e: ImportError| (e, false);
    let outcome = match outcome {
        LineOutcome::Answered(LineAnswered {
            head_after_ms,
            status,
            headers,
            pieces,
            end,
        }) => {
            let pieces = pieces
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    Ok(Piece {
                        at: time(p.at_ms, &format!("outcome.pieces[{i}].at_ms"))?,
                        bytes: bytes(&p.bytes, &format!("outcome.pieces[{i}].bytes"))?,
                    })
                })
                .collect::<Result<_, ImportError>>()
                .map_err(whole)?;
            let end = match end {
                LineEnd::Complete => BodyEnd::Complete,
                LineEnd::Broken { at_ms } => BodyEnd::Broken {
                    at: time(at_ms, "outcome.end.at_ms").map_err(whole)?,
                },
                LineEnd::ClientLeft { at_ms } => BodyEnd::ClientLeft {
                    at: time(at_ms, "outcome.end.at_ms").map_err(whole)?,
                },
            };
            Outcome::Answered(Answered {
                head_after: time(head_after_ms, "outcome.head_after_ms").map_err(whole)?,
                status,
                headers,
                pieces,
                end,
            })
        }
        LineOutcome::NoAnswer(LineNoAnswer { after_ms, why }) => Outcome::NoAnswer {
            after: time(after_ms, "outcome.after_ms").map_err(whole)?,
            why,
        },
        LineOutcome::ClientLeft(LineClientLeft { after_ms }) => Outcome::ClientLeft {
            after: time(after_ms, "outcome.after_ms").map_err(whole)?,
        },
    };
    Ok(Exchange {
        started: time(line.started_ms, "started_ms").map_err(whole)?,
        method: line.method,
        path: line.path,
        query: line.query,
        headers: line.headers,
        body: bytes(&line.body, "body").map_err(whole)?,
        outcome,
    })
}

fn time(ms: f64, field: &str) -> Result<std::time::Duration, ImportError> {
    duration_from_ms(ms).ok_or_else(|| {
        ImportError::new(
            ImportErrorKind::Shape,
            "not a time: milliseconds from 0 to 10^12",
        )
        .field(field)
    })
}

fn bytes(text: &str, field: &str) -> Result<Bytes, ImportError> {
    decode_base64(text).map(Bytes::from).map_err(|e| {
        ImportError::new(
            ImportErrorKind::Syntax,
            format!("not base64 ({e}): bodies and pieces are base64 in the log"),
        )
        .field(field)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn exchanges() -> Vec<Exchange> {
        let request =
            |started: Duration, outcome| {
                Exchange {
            started,
            method: "POST".into(),
            path: "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream"
                .into(),
            query: String::new(),
            headers: vec![
                ("host".into(), "bedrock-runtime.us-east-1.amazonaws.com".into()),
                ("x-amz-date".into(), "20261207T100000Z".into()),
            ],
            body: Bytes::from_static(b"{\"messages\":[]}\xff"),
            outcome,
        }
            };
        let answered = |pieces: Vec<(u64, &'static [u8])>, end| {
            Outcome::Answered(Answered {
                head_after: Duration::from_nanos(412_500_001),
                status: 200,
                headers: vec![(
                    "content-type".into(),
                    "application/vnd.amazon.eventstream".into(),
                )],
                pieces: pieces
                    .into_iter()
                    .map(|(at, bytes)| Piece {
                        at: Duration::from_micros(at),
                        bytes: Bytes::from_static(bytes),
                    })
                    .collect(),
                end,
            })
        };
        vec![
            request(
                Duration::ZERO,
                answered(
                    vec![(0, b"\0\0\0\x10"), (1_500, b"rest")],
                    BodyEnd::Complete,
                ),
            ),
            request(
                Duration::from_millis(2_000),
                answered(
                    vec![(7, b"\0\0")],
                    BodyEnd::Broken {
                        at: Duration::from_nanos(30_000_000_123),
                    },
                ),
            ),
            request(
                Duration::from_nanos(2_500_000_001),
                answered(
                    Vec::new(),
                    BodyEnd::ClientLeft {
                        at: Duration::from_secs(600),
                    },
                ),
            ),
            request(
                Duration::from_secs(3),
                Outcome::NoAnswer {
                    after: Duration::from_micros(1),
                    why: "connection reset by peer".into(),
                },
            ),
        ]
    }

    #[test]
    fn lines_read_back_as_the_exchanges_written() {
        let written = exchanges();
        let log: String = written.iter().map(|e| log_line(e) + "\n").collect();
        let (read_back, skipped) = read(log.as_bytes()).unwrap();
        assert_eq!(read_back, written);
        assert!(skipped.is_empty());
    }

    #[test]
    fn lines_are_sorted_by_start_and_a_cut_last_line_is_left_out() {
        let written = exchanges();
        let last = log_line(&written[0]);
        let log = format!(
            "{}\n\n{}\n{}",
            log_line(&written[3]),
            log_line(&written[1]),
            &last[..last.len() / 2]
        );
        let (read_back, skipped) = read(log.as_bytes()).unwrap();
        assert_eq!(read_back, vec![written[1].clone(), written[3].clone()]);
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].starts_with("line 4: cut short (the recorder stopped while writing it)"),
            "{skipped:?}"
        );
    }

    #[test]
    fn fields_keep_their_order() {
        let line = log_line(&exchanges()[1]);
        let keys = [
            "\"v\":1,\"started_ms\":2000.0,\"method\"",
            "\"path\"",
            "\"query\"",
            "\"headers\"",
            "\"body\"",
            "\"outcome\":{\"kind\":\"answered\",\"head_after_ms\":412.500001,\"status\":200",
            "\"pieces\":[{\"at_ms\":0.007,\"bytes\":\"AAA=\"}]",
            "\"end\":{\"kind\":\"broken\",\"at_ms\":30000.000123}}}",
        ];
        let mut from = 0;
        for key in keys {
            let at = line[from..]
                .find(key)
                .unwrap_or_else(|| panic!("{key} in {line}"));
            from += at + key.len();
        }
        assert_eq!(from, line.len());
    }
}
