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
/// let decoder = Decoder::with_limits(Limits::AWS.with_max_message_len(1 << 20));
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

    /// Limits of `max_message_len` per frame and `max_headers_len` of
    /// headers.
    ///
    /// ```
    /// use bedrock_eventstream::{Decoder, Limits};
    ///
    /// let limits = Limits::new(64 * 1024, 4 * 1024);
    /// assert_eq!(limits.max_message_len, 65536);
    /// let _decoder = Decoder::with_limits(limits);
    /// ```
    pub const fn new(max_message_len: u32, max_headers_len: u32) -> Limits {
        Limits {
            max_message_len,
            max_headers_len,
        }
    }

    /// These limits with frames of at most `max_message_len` bytes.
    ///
    /// ```
    /// use bedrock_eventstream::Limits;
    ///
    /// let limits = Limits::AWS.with_max_message_len(64).with_max_headers_len(16);
    /// assert_eq!((limits.max_message_len, limits.max_headers_len), (64, 16));
    /// ```
    pub const fn with_max_message_len(mut self, max_message_len: u32) -> Limits {
        self.max_message_len = max_message_len;
        self
    }

    /// These limits with headers sections of at most `max_headers_len` bytes.
    pub const fn with_max_headers_len(mut self, max_headers_len: u32) -> Limits {
        self.max_headers_len = max_headers_len;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::AWS
    }
}
