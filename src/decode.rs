//! `bedrock-harness decode`: a captured event-stream body as JSON lines.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use base64::Engine as _;
use bedrock_eventstream::bedrock::{EventReader, ReadError};
use bedrock_eventstream::{DecodeError, Decoder, Frame, HeaderValue};
use serde_json::{Value, json};

/// Why decoding stopped early.
#[derive(Debug)]
pub enum Error {
    /// The bytes are not a valid event stream from this offset on.
    Stream(DecodeError),
    /// Writing the output failed.
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stream(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

/// `bedrock-harness decode`: decodes `file` (standard input when absent
/// or `-`) to standard output; exits 1 at a corrupt frame, 2 when the
/// input cannot be read.
pub fn run(file: Option<&Path>, raw: bool) -> ExitCode {
    let input = match read_input(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            let name = file.map_or("standard input".into(), |p| p.display().to_string());
            eprintln!("bedrock-harness decode: cannot read {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = print_frames(&input, raw, &mut out);
    let _ = out.flush();
    match result {
        Ok(count) => {
            eprintln!("{count} frames, {} bytes", input.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bedrock-harness decode: {e}");
            ExitCode::from(1)
        }
    }
}

fn read_input(file: Option<&Path>) -> io::Result<Vec<u8>> {
    match file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path),
        _ => {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes)?;
            Ok(bytes)
        }
    }
}

/// Writes one JSON line per frame of `input` to `out`; returns the number of
/// frames. With `raw`, payloads are shown as text (lossy UTF-8) instead of
/// being read as Bedrock chunks.
pub fn print_frames(input: &[u8], raw: bool, out: &mut impl Write) -> Result<usize, Error> {
    let mut decoder = Decoder::new();
    let mut reader = EventReader::new();
    let mut rest = input;
    let mut count = 0;
    loop {
        let offset = decoder.position();
        let Some(frame) = decoder.decode(&mut rest).map_err(Error::Stream)? else {
            break;
        };
        let reader = if raw { None } else { Some(&mut reader) };
        let line = describe(&frame, offset, reader);
        serde_json::to_writer(&mut *out, &line).map_err(|e| Error::Io(e.into()))?;
        out.write_all(b"\n").map_err(Error::Io)?;
        count += 1;
    }
    decoder.finish().map_err(Error::Stream)?;
    Ok(count)
}

fn describe(frame: &Frame<'_>, offset: u64, reader: Option<&mut EventReader>) -> Value {
    // Pairs rather than an object: order and repeated names are part of
    // what a capture shows.
    let headers: Vec<Value> = frame
        .headers()
        .map(|h| json!([h.name, header_json(h.value)]))
        .collect();
    let mut line = json!({ "offset": offset, "headers": headers });
    let payload = || Value::String(String::from_utf8_lossy(frame.payload()).into_owned());
    match reader.map(|r| r.read(frame)) {
        None => line["payload"] = payload(),
        Some(Ok(event)) => line["event"] = serde_json::to_value(&event).expect("events serialize"),
        Some(Err(ReadError::Exception(e))) => {
            line["exception"] = json!({
                "type": e.exception_type,
                "message": e.message,
                "originalStatusCode": e.original_status_code,
                "originalMessage": e.original_message,
            })
        }
        Some(Err(e)) => {
            line["not_bedrock"] = Value::String(e.to_string());
            line["payload"] = payload();
        }
    }
    line
}

fn header_json(value: HeaderValue<'_>) -> Value {
    match value {
        HeaderValue::Bool(b) => b.into(),
        HeaderValue::Byte(v) => v.into(),
        HeaderValue::Int16(v) => v.into(),
        HeaderValue::Int32(v) => v.into(),
        HeaderValue::Int64(v) | HeaderValue::Timestamp(v) => v.into(),
        HeaderValue::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
        HeaderValue::String(s) => s.into(),
        HeaderValue::Uuid(u) => u
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_eventstream::anthropic::{Delta, StreamEvent};
    use bedrock_eventstream::bedrock::{self, Exception};

    fn decode_lines(input: &[u8], raw: bool) -> (Result<usize, Error>, Vec<Value>) {
        let mut out = Vec::new();
        let result = print_frames(input, raw, &mut out);
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (result, lines)
    }

    #[test]
    fn chunks_and_exceptions_become_json_lines() {
        let mut wire = bedrock::encode_event_frames(&[StreamEvent::ContentBlockDelta {
            index: 0,
            delta: Delta::Text { text: "Hi".into() },
        }]);
        let second = wire.len();
        bedrock::encode_exception(
            &Exception::new(
                "throttlingException",
                "Too many requests, please wait before trying again.",
            ),
            &mut wire,
        );
        let (result, lines) = decode_lines(&wire, false);
        assert_eq!(result.unwrap(), 2);
        assert_eq!(lines[0]["headers"][0], json!([":event-type", "chunk"]));
        assert_eq!(lines[0]["event"]["delta"]["text"], "Hi");
        assert_eq!(lines[1]["offset"], second);
        assert_eq!(lines[1]["exception"]["type"], "throttlingException");

        let (_, raw) = decode_lines(&wire, true);
        assert!(
            raw[0]["payload"]
                .as_str()
                .unwrap()
                .starts_with(r#"{"bytes":""#)
        );
    }

    #[test]
    fn a_cut_stream_prints_what_it_could_then_fails() {
        let wire = bedrock::encode_event_frames(&[StreamEvent::Ping, StreamEvent::Ping]);
        let (result, lines) = decode_lines(&wire[..wire.len() - 3], false);
        assert_eq!(lines.len(), 1);
        let Err(Error::Stream(e)) = result else {
            panic!("{result:?}")
        };
        assert_eq!(e.kind(), bedrock_eventstream::DecodeErrorKind::Truncated);
    }
}
