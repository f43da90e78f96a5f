//! Reading a streamed answer as it arrives, into one kind of event for
//! both endpoints: Invoke's event-stream frames through the codec's
//! incremental decoder (nothing buffered beyond the frame being read),
//! Mantle's server-sent events line by line. A stream that ends before
//! `message_stop` is an error, never a short answer.

use bedrock_eventstream::Decoder;
use bedrock_eventstream::anthropic::{Delta, InvocationMetrics, StreamEvent, Usage};
use bedrock_eventstream::bedrock::{EventReader, ReadError};

use crate::error::{Error, ErrorKind};
use crate::profile::Profile;
use crate::transport::ResponseBody;

/// The largest Mantle event (one line, or its `data:` lines together)
/// accepted.
const MAX_SSE_EVENT: usize = 16 << 20;

/// What a finished turn said: its stream read to `message_stop` (or the
/// non-streaming retry's answer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// The text blocks, joined.
    pub text: String,
    /// `end_turn`, `max_tokens`, …
    pub stop_reason: Option<String>,
    /// Usage from `message_start`, updated by `message_delta`.
    pub usage: Usage,
    /// Bedrock's invocation metrics from `message_stop`.
    pub metrics: Option<InvocationMetrics>,
}

/// Why a stream did not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamFailure {
    /// The service reported an error in the stream (an exception frame,
    /// or a Mantle `error` event): `kind` is its type.
    Reported {
        /// `throttlingException`, `overloaded_error`, …
        kind: String,
        /// The service's message.
        message: String,
    },
    /// The bytes are not a valid stream (bad CRC, forged length, bad
    /// event), or it ended or stalled before `message_stop`.
    Broken(Error),
}

impl std::fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamFailure::Reported { kind, message } => write!(f, "{kind}: {message}"),
            StreamFailure::Broken(e) => write!(f, "{e}"),
        }
    }
}

/// Builds the [`Completion`] from events, printing text as it comes.
struct Assembler<'a> {
    completion: Completion,
    started: bool,
    finished: bool,
    on_text: &'a mut (dyn FnMut(&str) + Send),
}

impl<'a> Assembler<'a> {
    fn new(on_text: &'a mut (dyn FnMut(&str) + Send)) -> Self {
        Self {
            completion: Completion::default(),
            started: false,
            finished: false,
            on_text,
        }
    }

    fn take(&mut self, event: StreamEvent) -> Result<(), StreamFailure> {
        if self.finished {
            if event == StreamEvent::Ping {
                return Ok(());
            }
            return Err(broken("the stream went on after message_stop"));
        }
        match event {
            StreamEvent::MessageStart { message } => {
                self.started = true;
                self.completion.usage = message.usage;
            }
            // Reported as itself even before message_start (an overloaded
            // Mantle stream may open with it).
            StreamEvent::Error { error } => {
                return Err(StreamFailure::Reported {
                    kind: error.error_type,
                    message: error.message,
                });
            }
            _ if !self.started => {
                return Err(broken("the stream did not begin with message_start"));
            }
            StreamEvent::ContentBlockDelta {
                delta: Delta::Text { text },
                ..
            } => {
                (self.on_text)(&text);
                self.completion.text.push_str(&text);
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.completion.stop_reason = delta.stop_reason;
                if usage.output_tokens.is_some() {
                    self.completion.usage.output_tokens = usage.output_tokens;
                }
            }
            StreamEvent::MessageStop { invocation_metrics } => {
                self.completion.metrics = invocation_metrics;
                self.finished = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, StreamFailure> {
        if self.finished {
            Ok(self.completion)
        } else {
            Err(broken("the stream ended before message_stop"))
        }
    }
}

fn broken(why: impl Into<String>) -> StreamFailure {
    StreamFailure::Broken(Error::new(ErrorKind::Connection, why))
}

/// The next piece of the body, or `None` at its end; a body quiet for
/// the profile's idle limit has stalled.
async fn next_piece(
    body: &mut ResponseBody,
    cli: &Profile,
) -> Result<Option<bytes::Bytes>, StreamFailure> {
    let idle_limit = cli.time_limits.stream_idle;
    body.next_data(idle_limit).await.map_err(|e| {
        broken(match e.kind() {
            ErrorKind::Timeout => format!("the stream sent nothing for {} s", idle_limit.as_secs()),
            _ => format!("the stream broke: {}", e.message()),
        })
    })
}

/// Reads an `invoke-with-response-stream` body, as `cli`'s version does.
pub async fn read_invoke_stream(
    mut body: ResponseBody,
    cli: &Profile,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, StreamFailure> {
    let mut reader = InvokeReader::new(on_text, cli);
    while let Some(piece) = next_piece(&mut body, cli).await? {
        reader.feed(&piece)?;
    }
    reader.finish()
}

/// Frames in, events out, the answer assembled: fed piece by piece.
struct InvokeReader<'a> {
    decoder: Decoder,
    reader: EventReader,
    assembler: Assembler<'a>,
    /// The words of a stream cut inside a frame.
    truncated_event: &'a str,
}

impl<'a> InvokeReader<'a> {
    fn new(on_text: &'a mut (dyn FnMut(&str) + Send), cli: &'a Profile) -> Self {
        Self {
            decoder: Decoder::new(),
            reader: EventReader::new(),
            assembler: Assembler::new(on_text),
            truncated_event: &cli.texts.truncated_event,
        }
    }

    fn feed(&mut self, piece: &[u8]) -> Result<(), StreamFailure> {
        let mut input = piece;
        loop {
            let frame = self
                .decoder
                .decode(&mut input)
                .map_err(|e| broken(format!("the event stream is corrupt: {e}")))?;
            let Some(frame) = frame else { return Ok(()) };
            let event = self.reader.read(&frame).map_err(|e| match e {
                ReadError::Exception(exception) => StreamFailure::Reported {
                    kind: exception.exception_type.clone(),
                    message: exception.message.clone(),
                },
                other => broken(format!("the event stream is not Bedrock's: {other}")),
            })?;
            self.assembler.take(event)?;
        }
    }

    fn finish(self) -> Result<Completion, StreamFailure> {
        self.decoder
            .finish()
            // The AWS SDKs' words first (what `claude -p` prints,
            // customer-scenarios: truncated-event-byte-complete), then where.
            .map_err(|e| broken(format!("{} ({e})", self.truncated_event)))?;
        self.assembler.finish()
    }
}

/// Reads a Mantle (Anthropic API) server-sent-event body, as `cli`'s
/// version does.
pub async fn read_mantle_stream(
    mut body: ResponseBody,
    cli: &Profile,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, StreamFailure> {
    let mut reader = MantleReader::new(on_text);
    while let Some(piece) = next_piece(&mut body, cli).await? {
        reader.feed(&piece)?;
    }
    reader.finish()
}

/// Reads server-sent-event bytes already in memory, in `pieces` as they
/// would arrive (the fuzz target feeds any split).
pub fn read_mantle_pieces(
    pieces: &[&[u8]],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, StreamFailure> {
    let mut reader = MantleReader::new(on_text);
    for piece in pieces {
        reader.feed(piece)?;
    }
    reader.finish()
}

/// Lines in, events out, the answer assembled: fed piece by piece.
struct MantleReader<'a> {
    assembler: Assembler<'a>,
    line: Vec<u8>,
    data: Vec<u8>,
}

impl<'a> MantleReader<'a> {
    fn new(on_text: &'a mut (dyn FnMut(&str) + Send)) -> Self {
        Self {
            assembler: Assembler::new(on_text),
            line: Vec::new(),
            data: Vec::new(),
        }
    }

    fn feed(&mut self, piece: &[u8]) -> Result<(), StreamFailure> {
        for &byte in piece {
            if byte != b'\n' {
                self.line.push(byte);
                if self.line.len() + self.data.len() > MAX_SSE_EVENT {
                    return Err(broken("a server-sent event is over 16 MiB"));
                }
                continue;
            }
            let text = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
            if text.is_empty() {
                if !self.data.is_empty() {
                    let event = StreamEvent::from_json(&self.data).map_err(|e| {
                        broken(format!(
                            "a server-sent event is not an Anthropic event: {e}"
                        ))
                    })?;
                    self.assembler.take(event)?;
                    self.data.clear();
                }
            } else if let Some(value) = text.strip_prefix(b"data:") {
                if !self.data.is_empty() {
                    self.data.push(b'\n');
                }
                self.data
                    .extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
            }
            // `event:` repeats the data's `type`; comments and ids are ignored.
            self.line.clear();
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, StreamFailure> {
        self.assembler.finish()
    }
}

#[cfg(test)]
mod tests;
