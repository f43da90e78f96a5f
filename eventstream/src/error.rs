//! Errors of the codec: one type for decoding, one for encoding, each with a
//! `kind` to match on and a message that says what went wrong and where.

use std::fmt;

/// What went wrong while decoding an event stream.
///
/// The kinds are stable for matching; the human-readable detail (expected and
/// actual checksums, lengths, the offending type byte) is in the `Display` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The CRC32 of the first 8 bytes does not match the prelude's checksum:
    /// the lengths cannot be trusted, so nothing after them is read.
    PreludeCrc,
    /// The CRC32 of the whole frame does not match its trailing checksum.
    MessageCrc,
    /// The prelude's lengths are impossible: a total below the 16-byte minimum,
    /// or a headers length that does not fit inside the total.
    BadLength,
    /// The frame or its headers exceed the decoder's [`Limits`](crate::Limits).
    TooLarge,
    /// A header's value type byte is not one of the ten defined types.
    BadHeaderType,
    /// A header runs past the end of the headers section, or the section ends
    /// in the middle of a header.
    BadHeader,
    /// A header name or string value is not valid UTF-8.
    BadUtf8,
    /// The stream ended inside a frame.
    Truncated,
}

impl DecodeErrorKind {
    fn summary(self) -> &'static str {
        match self {
            Self::PreludeCrc => "prelude checksum mismatch",
            Self::MessageCrc => "message checksum mismatch",
            Self::BadLength => "impossible frame lengths",
            Self::TooLarge => "frame exceeds the decoder's limits",
            Self::BadHeaderType => "unknown header value type",
            Self::BadHeader => "malformed header",
            Self::BadUtf8 => "header text is not valid UTF-8",
            Self::Truncated => "Truncated event message received",
        }
    }
}

/// Numbers that explain a [`DecodeError`]; kept apart from the kind so the
/// kind stays a plain value to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    None,
    Crc {
        expected: u32,
        actual: u32,
    },
    Lengths {
        total: u32,
        headers: u32,
    },
    Limit {
        what: &'static str,
        len: u32,
        limit: u32,
    },
    HeaderType(u8),
    Partial {
        have: usize,
        need: usize,
    },
    Trailing {
        frame: usize,
        have: usize,
    },
}

/// An event stream could not be decoded.
///
/// `offset` is the position in the whole stream (counting every byte fed to
/// the decoder since it was created) of the frame that failed, or of the
/// header that failed for header errors. After an error the decoder is
/// poisoned: the lengths that would locate the next frame cannot be trusted,
/// so every later call returns the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    offset: u64,
    detail: Detail,
}

impl DecodeError {
    pub(crate) fn new(kind: DecodeErrorKind, offset: u64, detail: Detail) -> Self {
        Self {
            kind,
            offset,
            detail,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Byte position in the stream of the failing frame or header.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.summary(), self.offset)?;
        match self.detail {
            Detail::None => Ok(()),
            Detail::Crc { expected, actual } => write!(
                f,
                ": computed {expected:#010x}, frame says {actual:#010x}; the stream is corrupt"
            ),
            Detail::Lengths { total, headers } => write!(
                f,
                ": total length {total}, headers length {headers}; a frame is at least 16 bytes and its headers fit inside it"
            ),
            Detail::Limit { what, len, limit } => write!(
                f,
                ": {what} is {len} bytes, the limit is {limit}; raise `Limits` if this peer really sends frames that large"
            ),
            Detail::HeaderType(t) => write!(f, ": type byte {t}, valid types are 0 to 9"),
            Detail::Partial { have, need } => write!(
                f,
                ": the stream ended {have} bytes into a frame that needs {need}; the connection was cut"
            ),
            Detail::Trailing { frame, have } => write!(
                f,
                ": the frame is {frame} bytes but {have} were given; decode several frames with `Decoder`"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// What went wrong while encoding a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeErrorKind {
    /// A header name is longer than 255 bytes.
    HeaderNameTooLong,
    /// A string or byte-array header value is longer than 32,767 bytes (the
    /// limit the AWS C, Java, Go and Rust implementations enforce).
    HeaderValueTooLong,
    /// The encoded headers exceed the 128 KiB AWS limit.
    HeadersTooLong,
    /// The whole frame would exceed the 16 MiB AWS limit.
    MessageTooLong,
}

/// A frame could not be encoded; nothing was written to the output buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    kind: EncodeErrorKind,
    len: usize,
}

impl EncodeError {
    pub(crate) fn new(kind: EncodeErrorKind, len: usize) -> Self {
        Self { kind, len }
    }

    /// What went wrong.
    pub fn kind(&self) -> EncodeErrorKind {
        self.kind
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, limit) = match self.kind {
            EncodeErrorKind::HeaderNameTooLong => ("header name", crate::header::MAX_NAME_LEN),
            EncodeErrorKind::HeaderValueTooLong => ("header value", crate::header::MAX_VALUE_LEN),
            EncodeErrorKind::HeadersTooLong => (
                "headers section",
                crate::Limits::AWS.max_headers_len as usize,
            ),
            EncodeErrorKind::MessageTooLong => {
                ("frame", crate::Limits::AWS.max_message_len as usize)
            }
        };
        write!(
            f,
            "{what} is {} bytes, AWS allows at most {limit}; send less in one frame",
            self.len
        )
    }
}

impl std::error::Error for EncodeError {}
