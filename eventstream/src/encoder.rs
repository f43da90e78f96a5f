//! Writing frames.

use crate::error::{EncodeError, EncodeErrorKind};
use crate::frame::MIN_FRAME_LEN;
use crate::header::Header;
use crate::limits::{Limits, MAX_NAME_LEN, MAX_VALUE_LEN};

/// Appends one frame with `headers` and `payload` to `out`.
///
/// The frame respects AWS's limits (names up to 255 bytes, string and byte
/// values up to 32,767 bytes, 128 KiB of headers, 16 MiB in all), so any AWS
/// decoder accepts it. On error nothing is appended.
///
/// ```
/// use bedrock_eventstream::{encode, Header, HeaderValue};
///
/// let mut out = Vec::new();
/// encode(
///     &[
///         Header::string(":message-type", "event"),
///         Header { name: "attempt", value: HeaderValue::Int32(1) },
///     ],
///     br#"{"bytes":"e30="}"#,
///     &mut out,
/// )
/// .unwrap();
/// assert_eq!(out.len(), 12 + (1 + 13 + 1 + 2 + 5) + (1 + 7 + 1 + 4) + 16 + 4);
/// ```
pub fn encode(
    headers: &[Header<'_>],
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_with(headers, payload.len(), out, |out| {
        out.extend_from_slice(payload)
    })
}

/// [`encode`] for a payload of `payload_len` bytes that `write_payload`
/// appends to the buffer it is given, straight into the frame: a payload
/// built from parts (a chunk's base64 and padding) is then never gathered
/// in a buffer of its own. `write_payload` must append exactly
/// `payload_len` bytes; it is not called when the frame would break a
/// limit.
pub(crate) fn encode_with(
    headers: &[Header<'_>],
    payload_len: usize,
    out: &mut Vec<u8>,
    write_payload: impl FnOnce(&mut Vec<u8>),
) -> Result<(), EncodeError> {
    let headers_len = headers_len(headers)?;
    let total = MIN_FRAME_LEN + headers_len + payload_len;
    if total > Limits::AWS.max_message_len as usize {
        return Err(EncodeError::new(EncodeErrorKind::MessageTooLong, total));
    }

    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers_len as u32).to_be_bytes());
    // One hasher over the prelude, then on over the rest of the frame:
    // the prelude is hashed once, and cloning a hasher made once skips the
    // CPU feature detection `Hasher::new` does (as much work as hashing a
    // small frame).
    let mut crc = fresh_crc();
    crc.update(&out[start..start + 8]);
    let prelude_crc = crc.clone().finalize().to_be_bytes();
    out.extend_from_slice(&prelude_crc);
    for h in headers {
        out.push(h.name.len() as u8);
        out.extend_from_slice(h.name.as_bytes());
        h.value.write_to(out);
    }
    write_payload(out);
    // A payload of another length than announced would be a corrupt frame.
    assert_eq!(
        out.len() - start,
        total - 4,
        "the payload's announced length"
    );
    crc.update(&out[start + 8..]);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    debug_assert_eq!(out.len() - start, total);
    Ok(())
}

/// The length `headers` take in a frame, or the AWS limit one breaks.
fn headers_len(headers: &[Header<'_>]) -> Result<usize, EncodeError> {
    let mut headers_len = 0usize;
    for h in headers {
        if h.name.len() > MAX_NAME_LEN {
            return Err(EncodeError::new(
                EncodeErrorKind::HeaderNameTooLong,
                h.name.len(),
            ));
        }
        if h.value.variable_len() > MAX_VALUE_LEN {
            return Err(EncodeError::new(
                EncodeErrorKind::HeaderValueTooLong,
                h.value.variable_len(),
            )
            .in_header(h.name));
        }
        headers_len += 1 + h.name.len() + h.value.encoded_len();
    }
    if headers_len > Limits::AWS.max_headers_len as usize {
        return Err(EncodeError::new(
            EncodeErrorKind::HeadersTooLong,
            headers_len,
        ));
    }
    Ok(headers_len)
}

/// A CRC32 hasher in its initial state, its CPU features detected once
/// per process.
fn fresh_crc() -> crc32fast::Hasher {
    static FRESH: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    FRESH.get_or_init(crc32fast::Hasher::new).clone()
}
