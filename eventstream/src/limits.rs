//! How large a frame the decoder agrees to buffer, and the fixed limits
//! of the format itself, which the encoder enforces and its errors name.

/// Longest header name the format can carry.
pub(crate) const MAX_NAME_LEN: usize = u8::MAX as usize;
/// Longest string or byte-array value AWS implementations accept on encode.
pub(crate) const MAX_VALUE_LEN: usize = i16::MAX as usize;

/// Upper bounds a decoder enforces before it buffers anything.
///
/// A prelude announcing more than these is rejected as soon as its checksum
/// is verified, so a forged length can never make the decoder allocate more
/// than `max_message_len` bytes.
///
/// ```
/// use bedrock_eventstream::{Decoder, Limits};
///
/// // A client that knows its peer sends small frames can say so.
/// let decoder = Decoder::with_limits(Limits { max_message_len: 1 << 20, ..Limits::AWS });
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole frame, prelude and checksums included.
    pub max_message_len: u32,
    /// Largest headers section.
    pub max_headers_len: u32,
}

impl Limits {
    /// The limits of AWS's own implementation (aws-c-event-stream): 16 MiB
    /// per frame, 128 KiB of headers.
    pub const AWS: Limits = Limits {
        max_message_len: 16 * 1024 * 1024,
        max_headers_len: 128 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::AWS
    }
}
