//! The incremental decoder: bytes in, in chunks of any size; verified frames
//! out, borrowed from the input whenever a frame arrived whole.

use std::fmt;

use crc32fast::Hasher;

use crate::error::{DecodeError, DecodeErrorKind, Detail};
use crate::frame::{self, Frame, PRELUDE_LEN, Prelude};
use crate::header::KnownHeaders;
use crate::limits::Limits;

/// Buffer capacity kept between frames; more is released after use.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Incremental event-stream decoder.
///
/// Feed it the bytes of a stream as they arrive, in chunks of any size. A
/// frame that lies whole inside the chunk is returned as a view into the
/// chunk itself: nothing is copied. Only a frame split across chunks is
/// gathered in the decoder's buffer, which never grows past
/// [`Limits::max_message_len`].
///
/// Every frame is checked before it is returned: the prelude checksum before
/// the lengths are believed, then the limits, then the message checksum,
/// then each header. The first error poisons the decoder (the next frame
/// cannot be located once a length is suspect). At the end of the stream
/// call [`finish`](Decoder::finish): a stream that stopped inside a frame is
/// [`DecodeErrorKind::Truncated`], never a clean end.
///
/// ```
/// use bedrock_eventstream::{encode, Decoder, Header};
///
/// let mut wire = Vec::new();
/// for text in ["one", "two"] {
///     encode(&[Header::string(":event-type", "chunk")], text.as_bytes(), &mut wire).unwrap();
/// }
///
/// let mut decoder = Decoder::new();
/// let mut payloads = Vec::new();
/// // The network hands over 5 bytes at a time.
/// for mut chunk in wire.chunks(5) {
///     while let Some(frame) = decoder.decode(&mut chunk).unwrap() {
///         payloads.push(frame.payload().to_vec());
///     }
/// }
/// decoder.finish().unwrap();
/// assert_eq!(payloads, [b"one".to_vec(), b"two".to_vec()]);
/// ```
#[derive(Clone)]
pub struct Decoder {
    limits: Limits,
    /// Room for the frame being gathered across chunks: `buf[..filled]`
    /// holds it from its first byte, the rest is left over from earlier
    /// frames. All of `buf` is initialized, so a piece is copied in with
    /// fixed-width moves (`copy_piece`) in safe code.
    buf: Vec<u8>,
    /// Bytes of the gathered frame in `buf`.
    filled: usize,
    /// The gathered frame's prelude, once its checksum and limits passed,
    /// with the checksum state after it.
    prelude: Option<(Prelude, Hasher)>,
    /// A fresh checksum state. Cloning it skips the CPU feature detection
    /// that `Hasher::new` does, which costs as much as hashing a small frame.
    fresh_crc: Hasher,
    known_headers: KnownHeaders,
    /// Stream offset of `buf[0]`.
    frame_start: u64,
    /// Bytes taken from all inputs so far.
    consumed: u64,
    /// The last frame returned was a view of `buf`; clear it on the next call.
    lent_buf: bool,
    failed: Option<DecodeError>,
}

/// Shows the frame being gathered, not what is left in the buffer from
/// earlier frames.
impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("gathered", &&self.buf[..self.filled])
            .field("buffer_capacity", &self.buf.capacity())
            .field("prelude", &self.prelude.as_ref().map(|p| p.0))
            .field("frame_start", &self.frame_start)
            .field("consumed", &self.consumed)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::with_limits(Limits::AWS)
    }
}

impl Decoder {
    /// A decoder with AWS's limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with caller-chosen limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            filled: 0,
            prelude: None,
            fresh_crc: Hasher::new(),
            known_headers: KnownHeaders::default(),
            frame_start: 0,
            consumed: 0,
            lent_buf: false,
            failed: None,
        }
    }

    /// Decodes the next frame from `input`, advancing `input` past every
    /// byte it consumed.
    ///
    /// Returns `Ok(None)` once `input` is used up without completing a
    /// frame (the partial frame is kept for the next call). The frame
    /// borrows from `input` or from the decoder, so it must be dropped
    /// before the next call.
    #[inline]
    pub fn decode<'o, 'i: 'o>(
        &'o mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Frame<'o>>, DecodeError> {
        // The hot case of a stream in small pieces: a piece that adds to the
        // frame being gathered without finishing it. (A prelude is held only
        // while gathering, never once the decoder has failed.)
        if let Some((prelude, _)) = &self.prelude {
            let end = self.filled + input.len();
            if end < prelude.total_len && end <= self.buf.len() {
                copy_piece(&mut self.buf[self.filled..end], input);
                self.filled = end;
                self.consumed += input.len() as u64;
                *input = &[];
                return Ok(None);
            }
        }
        self.decode_any(input)
    }

    /// Forgets the frame last lent out of `buf`, if there is one.
    #[inline]
    fn release_lent_buf(&mut self) {
        if self.lent_buf {
            self.filled = 0;
            // One large frame should not pin its memory for the rest of a
            // long stream of small ones.
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
            self.prelude = None;
            self.lent_buf = false;
        }
    }

    fn decode_any<'o, 'i: 'o>(
        &'o mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Frame<'o>>, DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        self.release_lent_buf();
        if self.filled == 0 {
            if let Some(frame) = self.decode_in_place(input)? {
                return Ok(Some(frame));
            }
            if input.is_empty() {
                return Ok(None);
            }
            self.frame_start = self.consumed;
        }
        self.gather(input)
    }

    /// The fast path: a frame lying whole in `input` is verified there and
    /// lent out without a copy. Records the prelude when only part of the
    /// frame is present, so the slow path need not check it again.
    #[inline]
    fn decode_in_place<'i>(
        &mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Frame<'i>>, DecodeError> {
        let data: &'i [u8] = input;
        if data.len() < PRELUDE_LEN {
            return Ok(None);
        }
        let start = self.consumed;
        let mut crc = self.fresh_crc.clone();
        let prelude =
            frame::check_prelude(data, &self.limits, start, &mut crc).map_err(|e| self.fail(e))?;
        if data.len() < prelude.total_len {
            self.prelude = Some((prelude, crc));
            return Ok(None);
        }
        let (bytes, rest) = data.split_at(prelude.total_len);
        let layout = frame::verify(bytes, prelude, start, crc, &mut self.known_headers)
            .map_err(|e| self.fail(e))?;
        *input = rest;
        self.consumed += bytes.len() as u64;
        Ok(Some(layout.frame(bytes)))
    }

    /// The slow path: copy just the bytes the current frame still needs
    /// into `buf`, and verify it once complete.
    fn gather<'o>(&'o mut self, input: &mut &[u8]) -> Result<Option<Frame<'o>>, DecodeError> {
        loop {
            let want = self.prelude.as_ref().map_or(PRELUDE_LEN, |p| p.0.total_len);
            let take = (want - self.filled).min(input.len());
            self.reserve_up_to(take, want);
            let end = self.filled + take;
            copy_piece(&mut self.buf[self.filled..end], &input[..take]);
            self.filled = end;
            *input = &input[take..];
            self.consumed += take as u64;
            if self.filled < want {
                return Ok(None);
            }
            match self.prelude.take() {
                None => {
                    let mut crc = self.fresh_crc.clone();
                    let prelude = frame::check_prelude(
                        &self.buf[..PRELUDE_LEN],
                        &self.limits,
                        self.frame_start,
                        &mut crc,
                    )
                    .map_err(|e| self.fail(e))?;
                    self.prelude = Some((prelude, crc));
                }
                Some((prelude, crc)) => {
                    let verified = frame::verify(
                        &self.buf[..self.filled],
                        prelude,
                        self.frame_start,
                        crc,
                        &mut self.known_headers,
                    );
                    let layout = verified.map_err(|e| self.fail(e))?;
                    self.lent_buf = true;
                    return Ok(Some(layout.frame(&self.buf[..self.filled])));
                }
            }
        }
    }

    /// Grows `buf` geometrically for small chunks, but never beyond the
    /// frame's announced length: that length is capped by the limits, so
    /// memory is too, however the input is split.
    fn reserve_up_to(&mut self, take: usize, want: usize) {
        let needed = self.filled + take;
        if needed > self.buf.len() {
            let target = (self.buf.len() * 2).max(needed).min(want);
            self.buf.reserve_exact(target - self.buf.len());
            self.buf.resize(target, 0);
        }
    }

    fn fail(&mut self, err: DecodeError) -> DecodeError {
        self.failed = Some(err);
        err
    }

    /// Call at the end of the stream. Fails with
    /// [`DecodeErrorKind::Truncated`] if the stream stopped inside a frame,
    /// or with the error that poisoned the decoder.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.lent_buf || self.filled == 0 {
            return Ok(());
        }
        let need = self.prelude.as_ref().map_or(PRELUDE_LEN, |p| p.0.total_len);
        Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            self.frame_start,
            Detail::Partial {
                have: self.filled,
                need,
            },
        ))
    }

    /// Bytes of memory the decoder holds for gathering split frames: at most
    /// [`Limits::max_message_len`] while a frame is gathered, at most 64 KiB
    /// between frames.
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Total bytes consumed from all inputs.
    pub fn position(&self) -> u64 {
        self.consumed
    }
}

/// `dst.copy_from_slice(src)` for the small pieces a stream arrives in: at
/// most two fixed-width moves that overlap, inline, instead of a call to
/// `memcpy`, whose entry and size dispatch cost as much as a short copy.
#[inline(always)]
fn copy_piece(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    assert_eq!(
        dst.len(),
        n,
        "copy_piece between slices of different lengths"
    );
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => two_moves::<4>(dst, src),
        8..=15 => two_moves::<8>(dst, src),
        16..=31 => two_moves::<16>(dst, src),
        32..=64 => two_moves::<32>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// The first and the last `W` bytes of `src` into `dst`: all of it when
/// `W <= src.len() <= 2 * W`.
#[inline(always)]
fn two_moves<const W: usize>(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let head: [u8; W] = src[..W].try_into().expect("W <= n");
    let tail: [u8; W] = src[n - W..].try_into().expect("W <= n");
    dst[..W].copy_from_slice(&head);
    dst[n - W..].copy_from_slice(&tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_piece_copies_every_length() {
        let src: Vec<u8> = (1..=200).collect();
        for n in 0..=src.len() {
            let mut dst = vec![0u8; n];
            copy_piece(&mut dst, &src[..n]);
            assert_eq!(dst, &src[..n], "length {n}");
        }
    }

    #[test]
    fn debug_shows_only_the_frame_being_gathered() {
        let mut wire = Vec::new();
        crate::encode(&[], b"an earlier frame's payload", &mut wire).unwrap();
        let mut decoder = Decoder::new();
        for mut piece in wire.chunks(5) {
            while decoder.decode(&mut piece).unwrap().is_some() {}
        }
        let mut next = &b"\0\0"[..];
        assert!(decoder.decode(&mut next).unwrap().is_none());
        let shown = format!("{decoder:?}");
        assert!(shown.contains("gathered: [0, 0]"), "{shown}");
        assert!(!shown.contains("101, 97, 114"), "{shown}");
    }
}
