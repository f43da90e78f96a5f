//! The reference implementation, aws-smithy-eventstream, seen through our
//! types: an independent encoder for golden data and a decoder to compare
//! against.

#![allow(dead_code)]

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder, write_message_to};
use aws_smithy_types::DateTime;
use aws_smithy_types::event_stream::{Header as SHeader, HeaderValue as SValue, Message};
use bedrock_eventstream::{Header, HeaderValue};
use bytes::{Buf, Bytes, BytesMut};

/// An owned header, comparable across both implementations.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Byte(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Bytes(Vec<u8>),
    String(String),
    Timestamp(i64),
    Uuid([u8; 16]),
}

pub type OwnedFrame = (Vec<(String, Value)>, Vec<u8>);

pub fn owned(frame: &bedrock_eventstream::Frame<'_>) -> OwnedFrame {
    let headers = frame
        .headers()
        .map(|h| {
            let v = match h.value {
                HeaderValue::Bool(b) => Value::Bool(b),
                HeaderValue::Byte(b) => Value::Byte(b),
                HeaderValue::Int16(v) => Value::Int16(v),
                HeaderValue::Int32(v) => Value::Int32(v),
                HeaderValue::Int64(v) => Value::Int64(v),
                HeaderValue::Bytes(b) => Value::Bytes(b.to_vec()),
                HeaderValue::String(s) => Value::String(s.to_owned()),
                HeaderValue::Timestamp(t) => Value::Timestamp(t),
                HeaderValue::Uuid(u) => Value::Uuid(u),
            };
            (h.name.to_owned(), v)
        })
        .collect();
    (headers, frame.payload().to_vec())
}

pub fn borrowed(headers: &[(String, Value)]) -> Vec<Header<'_>> {
    headers
        .iter()
        .map(|(name, v)| Header {
            name,
            value: match v {
                Value::Bool(b) => HeaderValue::Bool(*b),
                Value::Byte(b) => HeaderValue::Byte(*b),
                Value::Int16(v) => HeaderValue::Int16(*v),
                Value::Int32(v) => HeaderValue::Int32(*v),
                Value::Int64(v) => HeaderValue::Int64(*v),
                Value::Bytes(b) => HeaderValue::Bytes(b),
                Value::String(s) => HeaderValue::String(s),
                Value::Timestamp(t) => HeaderValue::Timestamp(*t),
                Value::Uuid(u) => HeaderValue::Uuid(*u),
            },
        })
        .collect()
}

fn to_smithy(v: &Value) -> SValue {
    match v {
        Value::Bool(b) => SValue::Bool(*b),
        Value::Byte(b) => SValue::Byte(*b),
        Value::Int16(v) => SValue::Int16(*v),
        Value::Int32(v) => SValue::Int32(*v),
        Value::Int64(v) => SValue::Int64(*v),
        Value::Bytes(b) => SValue::ByteArray(Bytes::from(b.clone())),
        Value::String(s) => SValue::String(s.clone().into()),
        Value::Timestamp(t) => SValue::Timestamp(DateTime::from_millis(*t)),
        Value::Uuid(u) => SValue::Uuid(u128::from_be_bytes(*u)),
    }
}

fn from_smithy(v: &SValue) -> Value {
    match v {
        SValue::Bool(b) => Value::Bool(*b),
        SValue::Byte(b) => Value::Byte(*b),
        SValue::Int16(v) => Value::Int16(*v),
        SValue::Int32(v) => Value::Int32(*v),
        SValue::Int64(v) => Value::Int64(*v),
        SValue::ByteArray(b) => Value::Bytes(b.to_vec()),
        SValue::String(s) => Value::String(s.as_str().to_owned()),
        SValue::Timestamp(t) => Value::Timestamp(t.to_millis().expect("millis fit")),
        SValue::Uuid(u) => Value::Uuid(u.to_be_bytes()),
        other => panic!("unexpected smithy header value {other:?}"),
    }
}

/// Encodes a frame with the reference implementation.
pub fn smithy_encode(headers: &[(String, Value)], payload: &[u8]) -> Vec<u8> {
    let mut message = Message::new(Bytes::copy_from_slice(payload));
    for (name, v) in headers {
        message = message.add_header(SHeader::new(name.clone(), to_smithy(v)));
    }
    let mut out = Vec::new();
    write_message_to(&message, &mut out).expect("reference encoder accepts the frame");
    out
}

/// Decodes a whole stream with the reference decoder, fed in `chunk`-sized
/// pieces the way an SDK feeds it from the network. A stream that ends with
/// bytes the decoder has not consumed is an error, as in the SDKs
/// ("Truncated event message received.").
pub fn smithy_decode_all(stream: &[u8], chunk: usize) -> Result<Vec<OwnedFrame>, String> {
    let mut decoder = MessageFrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let DecodedFrame::Complete(m) =
            decoder.decode_frame(&mut buf).map_err(|e| e.to_string())?
        {
            frames.push((
                m.headers()
                    .iter()
                    .map(|h| (h.name().as_str().to_owned(), from_smithy(h.value())))
                    .collect(),
                m.payload().to_vec(),
            ));
        }
    }
    // The reference decoder keeps a prelude it has read inside itself; it has
    // finished cleanly only if nothing at all is pending.
    if buf.has_remaining() || pending_prelude(&decoder) {
        return Err("Truncated event message received.".into());
    }
    Ok(frames)
}

fn pending_prelude(decoder: &MessageFrameDecoder) -> bool {
    // `MessageFrameDecoder` has no accessor for its state; its Debug output
    // shows whether a prelude is held.
    format!("{decoder:?}").contains("prelude_read: true")
}

/// Decodes a whole stream with our decoder, fed in `chunk`-sized pieces.
pub fn ours_decode_all(
    stream: &[u8],
    chunk: usize,
) -> Result<Vec<OwnedFrame>, bedrock_eventstream::DecodeError> {
    let mut decoder = bedrock_eventstream::Decoder::new();
    let mut frames = Vec::new();
    for mut piece in stream.chunks(chunk.max(1)) {
        while let Some(frame) = decoder.decode(&mut piece)? {
            frames.push(owned(&frame));
        }
    }
    decoder.finish()?;
    Ok(frames)
}

/// Recomputes both checksums after a test has edited a frame's bytes, so the
/// edit is seen by the structural checks rather than by the CRCs.
pub fn fix_crcs(frame: &mut [u8]) {
    let prelude = crc32fast::hash(&frame[..8]);
    frame[8..12].copy_from_slice(&prelude.to_be_bytes());
    let end = frame.len() - 4;
    let message = crc32fast::hash(&frame[..end]);
    frame[end..].copy_from_slice(&message.to_be_bytes());
}
