//! AWS event-stream codec, and the Anthropic stream events that Amazon
//! Bedrock carries in it.
//!
//! - [`Decoder`]: incremental, zero-copy decoding of
//!   `application/vnd.amazon.eventstream` bodies, hardened against hostile
//!   input (checksums verified before lengths are trusted, bounded memory,
//!   typed errors with byte offsets).
//! - [`encode`]: writes frames with headers of all ten types.
//! - [`anthropic`]: the Anthropic Messages stream events (`message_start`
//!   ... `message_stop`), shared by Bedrock's Invoke stream and Mantle's
//!   Server-Sent Events.
//! - [`bedrock`]: turns Bedrock `chunk` and `exception` frames into those
//!   events and typed errors.
//!
//! Layers, each using only those before it: vocabulary (`error`, `limits`) → frames (`header`, `frame`) → codec (`decoder`, `encoder`) → domain (`anthropic`, `bedrock`).
//!
//! ```
//! use bedrock_eventstream::{bedrock, Decoder};
//! # let wire = bedrock::encode_event_frames(&[
//! #     bedrock_eventstream::anthropic::StreamEvent::Ping,
//! # ]);
//!
//! let mut decoder = Decoder::new();
//! let mut events = bedrock::EventReader::new();
//! let mut input = &wire[..];
//! while let Some(frame) = decoder.decode(&mut input)? {
//!     let event = events.read(&frame)?;
//!     println!("{event:?}");
//! }
//! decoder.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod anthropic;
pub mod bedrock;
mod decoder;
mod encoder;
mod error;
mod frame;
mod header;
mod limits;

pub use decoder::Decoder;
pub use encoder::encode;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, EncodeErrorKind};
pub use frame::{Frame, MIN_FRAME_LEN, PRELUDE_LEN, decode_frame, decode_frame_with_limits};
pub use header::{Header, HeaderValue, Headers};
pub use limits::Limits;

/// The README's example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
