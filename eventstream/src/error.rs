//! Errors of the codec: one type for decoding, one for encoding, each with a
//! `kind` to match on and a message that says what went wrong and where.

use std::fmt;

use crate::limits::{Limits, MAX_NAME_LEN, MAX_VALUE_LEN};

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
    /// or a headers length that does not fit inside the total. Also returned
    /// by [`decode_frame`](crate::decode_frame) when bytes follow the frame.
    BadLength,
    /// The frame or its headers exceed the decoder's [`Limits`].
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
    Crc {
        computed: u32,
        stored: u32,
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
    HeaderType {
        index: usize,
        type_byte: u8,
    },
    Header {
        index: usize,
        what: &'static str,
    },
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
            Detail::Crc { computed, stored } => write!(
                f,
                ": computed {computed:#010x}, frame says {stored:#010x}; the bytes were damaged in transit or by whatever stored them"
            ),
            Detail::Lengths { total, headers } => write!(
                f,
                ": total length {total}, headers length {headers}; a frame is at least 16 bytes and its headers fit inside it"
            ),
            Detail::Limit { what, len, limit } => write!(
                f,
                ": {what} is {len} bytes, the limit is {limit}; a length this large usually means the input is not an event stream or is corrupt (raise `Limits` only if the peer really sends frames this large)"
            ),
            Detail::HeaderType { index, type_byte } => write!(
                f,
                ": header #{index} has type byte {type_byte}, valid types are 0 to 9"
            ),
            Detail::Header { index, what } => write!(f, ": header #{index} {what}"),
            Detail::Partial { have, need } => write!(
                f,
                ": the input ended {have} bytes into a frame of {need} bytes (a cut connection or a partial capture)"
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
    /// The offending header's name (its first 64 bytes), for header errors.
    header: Option<String>,
}

impl EncodeError {
    pub(crate) fn new(kind: EncodeErrorKind, len: usize) -> Self {
        Self {
            kind,
            len,
            header: None,
        }
    }

    pub(crate) fn in_header(mut self, name: &str) -> Self {
        let mut end = name.len().min(64);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        self.header = Some(name[..end].to_owned());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> EncodeErrorKind {
        self.kind
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, limit, advice) = match self.kind {
            EncodeErrorKind::HeaderNameTooLong => {
                ("header name", MAX_NAME_LEN, "use a shorter name")
            }
            EncodeErrorKind::HeaderValueTooLong => (
                "header value",
                MAX_VALUE_LEN,
                "move large data into the payload",
            ),
            EncodeErrorKind::HeadersTooLong => (
                "headers section",
                Limits::AWS.max_headers_len as usize,
                "send fewer or smaller headers",
            ),
            EncodeErrorKind::MessageTooLong => (
                "frame",
                Limits::AWS.max_message_len as usize,
                "split the payload across frames",
            ),
        };
        write!(f, "{what} ")?;
        if let Some(name) = &self.header {
            write!(f, "of `{name}` ")?;
        }
        write!(
            f,
            "is {} bytes, AWS allows at most {limit}; {advice}",
            self.len
        )
    }
}

impl std::error::Error for EncodeError {}
