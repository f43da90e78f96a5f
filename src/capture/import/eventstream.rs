//! An event-stream body on its own (what `bedrock-harness decode` reads):
//! one `InvokeModelWithResponseStream` exchange whose answer is its
//! frames. It has no request and no timing: the request is `POST
//! /model/{model}/invoke-with-response-stream` with no headers and an
//! empty body, every piece arrives with the head.

use std::time::Duration;

use bedrock_eventstream::anthropic::StreamEvent;
use bedrock_eventstream::bedrock::EventReader;
use bedrock_eventstream::{DecodeErrorKind, Decoder};
use bytes::Bytes;

use super::{ImportError, ImportErrorKind, Place, decode_base64};
use crate::capture::exchange::{Answered, BodyEnd, Exchange, Outcome, Piece};

/// The exchange of body `file` (its bytes, or base64 or hex text of
/// them), asked of `model` or else of the model its `message_start` names.
pub(super) fn read(file: &[u8], model: Option<&str>) -> Result<Exchange, ImportError> {
    let body = body_bytes(file)?;
    let (pieces, end, named) = frames(&body)?;
    let model = match (model, named) {
        (Some(given), _) => given.to_owned(),
        (None, Some(named)) if !named.is_empty() => named,
        _ => {
            return Err(ImportError::new(
                ImportErrorKind::NoModel,
                "no model: the body has no `message_start` event naming one; pass the model it was asked of with --model",
            )
            .field("message_start.message.model"));
        }
    };
    Ok(Exchange {
        started: Duration::ZERO,
        method: "POST".into(),
        path: format!(
            "/model/{}/invoke-with-response-stream",
            model.replace('/', "%2F")
        ),
        query: String::new(),
        headers: Vec::new(),
        body: Bytes::new(),
        outcome: Outcome::Answered(Answered {
            head_after: Duration::ZERO,
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/vnd.amazon.eventstream".into(),
            )],
            pieces,
            end,
        }),
    })
}

/// `body`'s frames, each a piece (a cut last one too: the body is then
/// broken), and the model its `message_start` names.
fn frames(body: &[u8]) -> Result<(Vec<Piece>, BodyEnd, Option<String>), ImportError> {
    let mut decoder = Decoder::new();
    let mut reader = EventReader::new();
    let mut rest = body;
    let mut pieces = Vec::new();
    let mut named = None;
    loop {
        let start = body.len() - rest.len();
        let frame = decoder.decode(&mut rest).map_err(|e| {
            ImportError::new(
                ImportErrorKind::Syntax,
                format!(
                    "not an event stream from here on: {}; `bedrock-harness decode` shows the frames before it (pass --format har or log if the file is one of those)",
                    // The error's place is said once, before the message.
                    e.to_string().replacen(&format!(" at byte {}", e.offset()), "", 1)
                ),
            )
            .at(Some(Place::Byte(e.offset())))
        })?;
        let Some(frame) = frame else { break };
        if named.is_none()
            && let Ok(StreamEvent::MessageStart { message }) = reader.read(&frame)
        {
            named = Some(message.model);
        }
        let end = body.len() - rest.len();
        pieces.push(piece(&body[start..end]));
    }
    let complete: usize = pieces.iter().map(|p: &Piece| p.bytes.len()).sum();
    let end = match decoder.finish() {
        Ok(()) if complete == 0 => {
            let message = "no frame in it: nothing to import";
            return Err(ImportError::new(ImportErrorKind::Empty, message));
        }
        Ok(()) => BodyEnd::Complete,
        Err(e) if e.kind() == DecodeErrorKind::Truncated => {
            pieces.push(piece(&body[complete..]));
            BodyEnd::Broken { at: Duration::ZERO }
        }
        Err(e) => {
            let error = ImportError::new(ImportErrorKind::Syntax, e.to_string());
            return Err(error.at(Some(Place::Byte(e.offset()))));
        }
    };
    Ok((pieces, end, named))
}

fn piece(bytes: &[u8]) -> Piece {
    Piece {
        at: Duration::ZERO,
        bytes: Bytes::copy_from_slice(bytes),
    }
}

/// The body's bytes: the file itself, or the bytes its text spells. Text
/// is what a log or a HAR shows of a body: hex (`xxd -p`, only hex digits
/// and white space) or base64. A binary body is never all text: its
/// first bytes are a frame's length, `00 00 ...` for any frame under
/// 16 MiB.
fn body_bytes(file: &[u8]) -> Result<Vec<u8>, ImportError> {
    let text = file.trim_ascii();
    let printable = |b: &u8| b.is_ascii_graphic() || b.is_ascii_whitespace();
    if text.is_empty() || !text.iter().all(printable) {
        return Ok(file.to_vec());
    }
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if digits.iter().all(u8::is_ascii_hexdigit) && digits.len().is_multiple_of(2) {
        return Ok(digits
            .chunks(2)
            .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
            .collect());
    }
    let text = std::str::from_utf8(text).expect("printable ASCII is UTF-8");
    decode_base64(text).map_err(|e| {
        ImportError::new(
            ImportErrorKind::Syntax,
            format!(
                "text, but neither hex nor base64 of an event-stream body ({e}): pass the body's bytes, or --format har or log if the file is one of those"
            ),
        )
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_eventstream::anthropic::{Delta, Message};
    use bedrock_eventstream::bedrock;

    fn stream() -> Vec<u8> {
        bedrock::encode_event_frames(&[
            StreamEvent::MessageStart {
                message: Message::new("msg_1", "claude-haiku-4-5-20251001"),
            },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::Text { text: "Hi".into() },
            },
        ])
    }

    fn answer(exchange: &Exchange) -> &Answered {
        let Outcome::Answered(answer) = &exchange.outcome else {
            panic!("{exchange:?}")
        };
        answer
    }

    #[test]
    fn each_frame_is_a_piece_and_the_model_comes_from_message_start() {
        let wire = stream();
        let exchange = read(&wire, None).unwrap();
        assert_eq!(
            exchange.path,
            "/model/claude-haiku-4-5-20251001/invoke-with-response-stream"
        );
        let answer = answer(&exchange);
        assert_eq!(answer.pieces.len(), 2);
        assert_eq!(&answer.body()[..], &wire[..]);
        assert_eq!(answer.end, BodyEnd::Complete);
    }

    #[test]
    fn a_cut_last_frame_is_kept_as_bytes() {
        let wire = stream();
        let cut = &wire[..wire.len() - 5];
        let exchange = read(cut, Some("arn:aws:bedrock:us-east-1::foundation-model/x")).unwrap();
        assert_eq!(
            exchange.path,
            "/model/arn:aws:bedrock:us-east-1::foundation-model%2Fx/invoke-with-response-stream"
        );
        let answer = answer(&exchange);
        assert_eq!(answer.pieces.len(), 2);
        assert_eq!(&answer.body()[..], cut);
        assert_eq!(answer.end, BodyEnd::Broken { at: Duration::ZERO });
    }

    #[test]
    fn hex_text_is_read_as_its_bytes() {
        let wire = stream();
        let hex: String = wire.iter().map(|b| format!("{b:02X}")).collect();
        let wrapped = hex
            .as_bytes()
            .chunks(60)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(body_bytes(wrapped.as_bytes()).unwrap(), wire);
    }
}
