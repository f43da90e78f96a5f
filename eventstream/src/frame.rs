//! One event-stream frame: the prelude checks, the whole-frame checks, and the
//! borrowed view a caller reads.
//!
//! ```text
//! | total_len u32 | headers_len u32 | prelude_crc u32 | headers | payload | message_crc u32 |
//! ```

use crate::error::{DecodeError, DecodeErrorKind, Detail};
use crc32fast::Hasher;

use crate::header::{HeaderValue, Headers, KnownHeaders};
use crate::limits::Limits;

/// Bytes before the headers: two lengths and the prelude's CRC.
pub const PRELUDE_LEN: usize = 12;
/// Smallest possible frame: a prelude and a message CRC, nothing else.
pub const MIN_FRAME_LEN: usize = PRELUDE_LEN + 4;

/// A decoded frame. Headers and payload borrow from the bytes it was decoded
/// from; both checksums and every header have been verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    headers: &'a [u8],
    header_count: usize,
    payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The frame's payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The headers in wire order.
    pub fn headers(&self) -> Headers<'a> {
        Headers::new(self.headers)
    }

    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.header_count
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<HeaderValue<'a>> {
        self.headers().find(|h| h.name == name).map(|h| h.value)
    }

    /// The value of the first header called `name` if it is a string.
    pub fn str_header(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| v.as_str())
    }

    /// Bytes this frame takes on the wire.
    pub fn encoded_len(&self) -> usize {
        MIN_FRAME_LEN + self.headers.len() + self.payload.len()
    }
}

/// The two lengths a prelude announces, once its checksum and the limits
/// have been checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prelude {
    pub total_len: usize,
    pub headers_len: usize,
}

#[inline]
fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline(always)]
fn check_crc(
    crc: Hasher,
    stored: u32,
    kind: DecodeErrorKind,
    offset: u64,
) -> Result<(), DecodeError> {
    let computed = crc.finalize();
    if computed == stored {
        return Ok(());
    }
    Err(DecodeError::new(
        kind,
        offset,
        Detail::Crc { computed, stored },
    ))
}

/// Validates the 12-byte prelude at `bytes[..12]`. The checksum comes first:
/// until it matches, the lengths are noise and must not size anything.
///
/// `crc` arrives fresh and leaves holding the checksum state after the first
/// 8 bytes: the message checksum covers them too, so [`verify`] goes on from
/// there instead of hashing them again.
#[inline(always)]
pub(crate) fn check_prelude(
    bytes: &[u8],
    limits: &Limits,
    offset: u64,
    crc: &mut Hasher,
) -> Result<Prelude, DecodeError> {
    let total = be_u32(bytes, 0);
    let headers = be_u32(bytes, 4);
    crc.update(&bytes[..8]);
    check_crc(
        crc.clone(),
        be_u32(bytes, 8),
        DecodeErrorKind::PreludeCrc,
        offset,
    )?;
    if (total as usize) < MIN_FRAME_LEN || headers > total - MIN_FRAME_LEN as u32 {
        return Err(DecodeError::new(
            DecodeErrorKind::BadLength,
            offset,
            Detail::Lengths { total, headers },
        ));
    }
    if total > limits.max_message_len {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            offset,
            Detail::Limit {
                what: "frame",
                len: total,
                limit: limits.max_message_len,
            },
        ));
    }
    if headers > limits.max_headers_len {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            offset,
            Detail::Limit {
                what: "headers section",
                len: headers,
                limit: limits.max_headers_len,
            },
        ));
    }
    Ok(Prelude {
        total_len: total as usize,
        headers_len: headers as usize,
    })
}

/// Where the parts of a verified frame lie. Holding no borrow lets the
/// decoder record an error on itself before it lends out a frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    total_len: usize,
    headers_end: usize,
    header_count: usize,
}

impl Layout {
    /// The frame view over the same bytes [`verify`] checked. `Frame`'s
    /// header iterator trusts those bytes, so any others are refused.
    #[inline]
    pub(crate) fn frame(self, bytes: &[u8]) -> Frame<'_> {
        assert_eq!(bytes.len(), self.total_len, "layout applied to other bytes");
        Frame {
            headers: &bytes[PRELUDE_LEN..self.headers_end],
            header_count: self.header_count,
            payload: &bytes[self.headers_end..bytes.len() - 4],
        }
    }
}

/// Checks the message CRC, then the headers, of a complete frame whose
/// prelude passed [`check_prelude`] (`crc` is the state it left);
/// `bytes.len()` is exactly `prelude.total_len`. Headers are read only once
/// the checksum vouches for them.
#[inline(always)]
pub(crate) fn verify(
    bytes: &[u8],
    prelude: Prelude,
    offset: u64,
    mut crc: Hasher,
    known: &mut KnownHeaders,
) -> Result<Layout, DecodeError> {
    debug_assert_eq!(bytes.len(), prelude.total_len);
    let crc_at = bytes.len() - 4;
    crc.update(&bytes[8..crc_at]);
    check_crc(
        crc,
        be_u32(bytes, crc_at),
        DecodeErrorKind::MessageCrc,
        offset,
    )?;
    let headers_end = PRELUDE_LEN + prelude.headers_len;
    let header_count = known.validate(
        &bytes[PRELUDE_LEN..headers_end],
        offset + PRELUDE_LEN as u64,
    )?;
    Ok(Layout {
        total_len: bytes.len(),
        headers_end,
        header_count,
    })
}

/// Decodes exactly one frame that fills `bytes`.
///
/// For a stream, or a buffer holding several frames, use
/// [`Decoder`](crate::Decoder). Errors report offsets relative to
/// `bytes[0]`; trailing bytes after the frame are an error
/// ([`DecodeErrorKind::BadLength`]).
///
/// ```
/// use bedrock_eventstream::{decode_frame, encode, Header};
///
/// let mut wire = Vec::new();
/// encode(&[Header::string(":event-type", "chunk")], b"{}", &mut wire).unwrap();
/// let frame = decode_frame(&wire).unwrap();
/// assert_eq!(frame.str_header(":event-type"), Some("chunk"));
/// assert_eq!(frame.payload(), b"{}");
/// ```
pub fn decode_frame(bytes: &[u8]) -> Result<Frame<'_>, DecodeError> {
    decode_frame_with_limits(bytes, &Limits::AWS)
}

/// [`decode_frame`] with caller-chosen limits.
pub fn decode_frame_with_limits<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<Frame<'a>, DecodeError> {
    if bytes.len() < PRELUDE_LEN {
        return Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            0,
            Detail::Partial {
                have: bytes.len(),
                need: PRELUDE_LEN,
            },
        ));
    }
    let mut crc = Hasher::new();
    let prelude = check_prelude(bytes, limits, 0, &mut crc)?;
    match bytes.len().cmp(&prelude.total_len) {
        std::cmp::Ordering::Less => Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            0,
            Detail::Partial {
                have: bytes.len(),
                need: prelude.total_len,
            },
        )),
        std::cmp::Ordering::Greater => Err(DecodeError::new(
            DecodeErrorKind::BadLength,
            0,
            Detail::Trailing {
                frame: prelude.total_len,
                have: bytes.len(),
            },
        )),
        std::cmp::Ordering::Equal => {
            let layout = verify(bytes, prelude, 0, crc, &mut KnownHeaders::default())?;
            Ok(layout.frame(bytes))
        }
    }
}
