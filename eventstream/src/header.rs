//! Event-stream headers: the ten value types, how they are laid out on the
//! wire, and the one pass that validates a headers section.
//!
//! A header is `name_len u8, name, type u8, value`. Validation walks the
//! section once when a frame is decoded; afterwards [`Headers`] iterates
//! it again without any checks, because every byte has been vouched for.

use crate::error::{DecodeError, DecodeErrorKind, Detail};

const TYPE_TRUE: u8 = 0;
const TYPE_FALSE: u8 = 1;
const TYPE_BYTE: u8 = 2;
const TYPE_INT16: u8 = 3;
const TYPE_INT32: u8 = 4;
const TYPE_INT64: u8 = 5;
const TYPE_BYTES: u8 = 6;
const TYPE_STRING: u8 = 7;
const TYPE_TIMESTAMP: u8 = 8;
const TYPE_UUID: u8 = 9;

/// A header value, borrowing its bytes from the frame (or, when encoding,
/// from the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderValue<'a> {
    /// Types 0 and 1: the value is the type itself.
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3, big-endian.
    Int16(i16),
    /// Type 4, big-endian.
    Int32(i32),
    /// Type 5, big-endian.
    Int64(i64),
    /// Type 6: `u16` length, then the bytes.
    Bytes(&'a [u8]),
    /// Type 7: `u16` length, then UTF-8.
    String(&'a str),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9: 16 bytes.
    Uuid([u8; 16]),
}

impl<'a> HeaderValue<'a> {
    /// The string, if this is a string header.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }

    fn type_byte(&self) -> u8 {
        match self {
            HeaderValue::Bool(true) => TYPE_TRUE,
            HeaderValue::Bool(false) => TYPE_FALSE,
            HeaderValue::Byte(_) => TYPE_BYTE,
            HeaderValue::Int16(_) => TYPE_INT16,
            HeaderValue::Int32(_) => TYPE_INT32,
            HeaderValue::Int64(_) => TYPE_INT64,
            HeaderValue::Bytes(_) => TYPE_BYTES,
            HeaderValue::String(_) => TYPE_STRING,
            HeaderValue::Timestamp(_) => TYPE_TIMESTAMP,
            HeaderValue::Uuid(_) => TYPE_UUID,
        }
    }

    /// Bytes this value takes on the wire, type byte included.
    pub(crate) fn encoded_len(&self) -> usize {
        1 + match self {
            HeaderValue::Bool(_) => 0,
            HeaderValue::Byte(_) => 1,
            HeaderValue::Int16(_) => 2,
            HeaderValue::Int32(_) => 4,
            HeaderValue::Int64(_) | HeaderValue::Timestamp(_) => 8,
            HeaderValue::Bytes(b) => 2 + b.len(),
            HeaderValue::String(s) => 2 + s.len(),
            HeaderValue::Uuid(_) => 16,
        }
    }

    /// Length of a variable-length value, for the encoder's limit check.
    pub(crate) fn variable_len(&self) -> usize {
        match self {
            HeaderValue::Bytes(b) => b.len(),
            HeaderValue::String(s) => s.len(),
            _ => 0,
        }
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.push(self.type_byte());
        match *self {
            HeaderValue::Bool(_) => {}
            HeaderValue::Byte(v) => out.push(v as u8),
            HeaderValue::Int16(v) => out.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int32(v) => out.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int64(v) | HeaderValue::Timestamp(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            HeaderValue::Bytes(b) => {
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
                out.extend_from_slice(b);
            }
            HeaderValue::String(s) => {
                out.extend_from_slice(&(s.len() as u16).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            HeaderValue::Uuid(u) => out.extend_from_slice(&u),
        }
    }
}

/// One header: a name and a typed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header<'a> {
    /// The header name, for example `:event-type`.
    pub name: &'a str,
    /// The typed value.
    pub value: HeaderValue<'a>,
}

impl<'a> Header<'a> {
    /// A header with a string value, the kind Bedrock frames carry.
    pub const fn string(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value: HeaderValue::String(value),
        }
    }
}

/// Size of a fixed-width value by type byte, or `None` for the two
/// length-prefixed types and for undefined types.
#[inline]
fn fixed_value_len(type_byte: u8) -> Option<usize> {
    match type_byte {
        TYPE_TRUE | TYPE_FALSE => Some(0),
        TYPE_BYTE => Some(1),
        TYPE_INT16 => Some(2),
        TYPE_INT32 => Some(4),
        TYPE_INT64 | TYPE_TIMESTAMP => Some(8),
        TYPE_UUID => Some(16),
        _ => None,
    }
}

/// True when every byte is below 0x80. Eight bytes at a time: headers are
/// short, and this is on the per-frame hot path.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= u64::from_ne_bytes(c.try_into().expect("chunks_exact yields 8 bytes"));
    }
    let mut tail = 0u8;
    for &b in chunks.remainder() {
        tail |= b;
    }
    (acc & 0x8080_8080_8080_8080) == 0 && tail < 0x80
}

/// Checks that `section` is a well-formed sequence of headers and returns how
/// many there are. `base` is the stream offset of `section[0]`, for errors.
///
/// If the whole section is ASCII then every name and string in it is valid
/// UTF-8, so the per-string check is skipped: Bedrock's headers always take
/// that path.
pub(crate) fn validate(section: &[u8], base: u64) -> Result<usize, DecodeError> {
    let all_ascii = is_ascii(section);
    let mut pos = 0usize;
    let mut count = 0usize;
    while pos < section.len() {
        let start = pos;
        pos = validate_header(section, start, count + 1, all_ascii)
            .map_err(|(kind, detail)| DecodeError::new(kind, base + start as u64, detail))?;
        count += 1;
    }
    Ok(count)
}

/// What is wrong with one header, before its stream offset is known.
type HeaderError = (DecodeErrorKind, Detail);

/// Checks header number `index`, which starts at `section[start]`, and
/// returns where the next one starts.
#[inline]
fn validate_header(
    section: &[u8],
    start: usize,
    index: usize,
    all_ascii: bool,
) -> Result<usize, HeaderError> {
    let about = |what| Detail::Header { index, what };
    let past_the_end = |what| (DecodeErrorKind::BadHeader, about(what));
    let name_len = section[start] as usize;
    let name_start = start + 1;
    // The name, then at least the type byte.
    if section.len() - name_start < name_len + 1 {
        return Err(past_the_end(
            "name or type runs past the end of the headers section",
        ));
    }
    let pos = name_start + name_len;
    let name = &section[name_start..pos];
    let type_byte = section[pos];
    let (value_start, value_len) = locate_value(section, pos + 1, type_byte, index)?;
    if section.len() - value_start < value_len {
        return Err(past_the_end(
            "value runs past the end of the headers section",
        ));
    }
    let value_end = value_start + value_len;
    if !all_ascii {
        check_utf8(name, type_byte, &section[value_start..value_end])
            .map_err(|what| (DecodeErrorKind::BadUtf8, about(what)))?;
    }
    Ok(value_end)
}

/// Where the value of type `type_byte` that follows `section[..pos]`
/// starts (after its length prefix, if it has one), and how long it is.
#[inline]
fn locate_value(
    section: &[u8],
    pos: usize,
    type_byte: u8,
    index: usize,
) -> Result<(usize, usize), HeaderError> {
    if let Some(n) = fixed_value_len(type_byte) {
        return Ok((pos, n));
    }
    if type_byte != TYPE_BYTES && type_byte != TYPE_STRING {
        return Err((
            DecodeErrorKind::BadHeaderType,
            Detail::HeaderType { index, type_byte },
        ));
    }
    if section.len() - pos < 2 {
        return Err((
            DecodeErrorKind::BadHeader,
            Detail::Header {
                index,
                what: "value length runs past the end of the headers section",
            },
        ));
    }
    let n = u16::from_be_bytes([section[pos], section[pos + 1]]) as usize;
    Ok((pos + 2, n))
}

/// Checks a header's name, and its value if it is a string, are UTF-8;
/// on failure names which one is not.
fn check_utf8(name: &[u8], type_byte: u8, value: &[u8]) -> Result<(), &'static str> {
    if std::str::from_utf8(name).is_err() {
        return Err("name");
    }
    if type_byte == TYPE_STRING && std::str::from_utf8(value).is_err() {
        return Err("string value");
    }
    Ok(())
}

/// The last headers section that passed [`validate`], kept by a decoder.
///
/// A service writes the same headers on nearly every frame of a stream
/// (Bedrock: `:event-type`, `:content-type`, `:message-type`, always the
/// same three values), so comparing with the last good section usually
/// replaces the walk with one short `memcmp`.
#[derive(Debug, Clone)]
pub(crate) struct KnownHeaders {
    bytes: [u8; Self::CAPACITY],
    len: usize,
    count: usize,
}

impl Default for KnownHeaders {
    fn default() -> Self {
        Self {
            bytes: [0; Self::CAPACITY],
            len: usize::MAX,
            count: 0,
        }
    }
}

impl KnownHeaders {
    const CAPACITY: usize = 192;

    /// [`validate`], skipped when `section` equals the last section that
    /// passed.
    #[inline]
    pub(crate) fn validate(&mut self, section: &[u8], base: u64) -> Result<usize, DecodeError> {
        if section.len() == self.len && section == &self.bytes[..self.len] {
            return Ok(self.count);
        }
        let count = validate(section, base)?;
        if section.len() <= Self::CAPACITY {
            self.bytes[..section.len()].copy_from_slice(section);
            self.len = section.len();
            self.count = count;
        }
        Ok(count)
    }
}

/// Iterator over the headers of a decoded frame.
///
/// Created by [`Frame::headers`](crate::Frame::headers). The section was
/// validated when the frame was decoded, so iteration cannot fail.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Headers<'a> {
    /// `section` must have passed [`validate`].
    pub(crate) fn new(section: &'a [u8]) -> Self {
        Self { rest: section }
    }
}

/// Text that [`validate`] has already checked.
#[inline]
fn checked_str(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: `Headers` is only built over a section that passed `validate`
    // (see `Frame`, whose constructor is private to this crate), and
    // `validate` checked every header name and string value is UTF-8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        let s = self.rest;
        let (&name_len, s) = s.split_first()?;
        let (name, s) = s.split_at(name_len as usize);
        let (&type_byte, s) = s.split_first()?;
        let (value, rest) = match type_byte {
            TYPE_TRUE => (HeaderValue::Bool(true), s),
            TYPE_FALSE => (HeaderValue::Bool(false), s),
            TYPE_BYTE => (HeaderValue::Byte(s[0] as i8), &s[1..]),
            TYPE_INT16 => (
                HeaderValue::Int16(i16::from_be_bytes(s[..2].try_into().ok()?)),
                &s[2..],
            ),
            TYPE_INT32 => (
                HeaderValue::Int32(i32::from_be_bytes(s[..4].try_into().ok()?)),
                &s[4..],
            ),
            TYPE_INT64 => (
                HeaderValue::Int64(i64::from_be_bytes(s[..8].try_into().ok()?)),
                &s[8..],
            ),
            TYPE_TIMESTAMP => (
                HeaderValue::Timestamp(i64::from_be_bytes(s[..8].try_into().ok()?)),
                &s[8..],
            ),
            TYPE_UUID => (HeaderValue::Uuid(s[..16].try_into().ok()?), &s[16..]),
            _ => {
                let n = u16::from_be_bytes([s[0], s[1]]) as usize;
                let (bytes, rest) = s[2..].split_at(n);
                if type_byte == TYPE_STRING {
                    (HeaderValue::String(checked_str(bytes)), rest)
                } else {
                    (HeaderValue::Bytes(bytes), rest)
                }
            }
        };
        self.rest = rest;
        Some(Header {
            name: checked_str(name),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_check_sees_a_high_bit_anywhere() {
        for len in 0..40 {
            let mut v = vec![b'a'; len];
            assert!(is_ascii(&v));
            for i in 0..len {
                v[i] = 0xC3;
                assert!(!is_ascii(&v), "len {len} pos {i}");
                v[i] = b'a';
            }
        }
    }
}
