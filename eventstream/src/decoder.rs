//! The incremental decoder: bytes in, in chunks of any size; verified frames
//! out, borrowed from the input whenever a frame arrived whole.

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
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    /// The frame being gathered across chunks, from its first byte.
    buf: Vec<u8>,
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
            let missing = prelude.total_len - self.buf.len();
            let room = self.buf.capacity() - self.buf.len();
            if input.len() < missing && input.len() <= room {
                self.buf.extend_from_slice(input);
                self.consumed += input.len() as u64;
                *input = &[];
                return Ok(None);
            }
        }
        self.decode_any(input)
    }

    fn decode_any<'o, 'i: 'o>(
        &'o mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Frame<'o>>, DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.lent_buf {
            self.buf.clear();
            // One large frame should not pin its memory for the rest of a
            // long stream of small ones.
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
            self.prelude = None;
            self.lent_buf = false;
        }
        if self.buf.is_empty() {
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
            let take = (want - self.buf.len()).min(input.len());
            self.reserve_up_to(take, want);
            self.buf.extend_from_slice(&input[..take]);
            *input = &input[take..];
            self.consumed += take as u64;
            if self.buf.len() < want {
                return Ok(None);
            }
            match self.prelude.take() {
                None => {
                    let mut crc = self.fresh_crc.clone();
                    let prelude =
                        frame::check_prelude(&self.buf, &self.limits, self.frame_start, &mut crc)
                            .map_err(|e| self.fail(e))?;
                    self.prelude = Some((prelude, crc));
                }
                Some((prelude, crc)) => {
                    let verified = frame::verify(
                        &self.buf,
                        prelude,
                        self.frame_start,
                        crc,
                        &mut self.known_headers,
                    );
                    let layout = verified.map_err(|e| self.fail(e))?;
                    self.lent_buf = true;
                    return Ok(Some(layout.frame(&self.buf)));
                }
            }
        }
    }

    /// Grows `buf` geometrically for small chunks, but never beyond the
    /// frame's announced length: that length is capped by the limits, so
    /// memory is too, however the input is split.
    fn reserve_up_to(&mut self, take: usize, want: usize) {
        let needed = self.buf.len() + take;
        if needed > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).max(needed).min(want);
            self.buf.reserve_exact(target - self.buf.len());
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
        if self.lent_buf || self.buf.is_empty() {
            return Ok(());
        }
        let need = self.prelude.as_ref().map_or(PRELUDE_LEN, |p| p.0.total_len);
        Err(DecodeError::new(
            DecodeErrorKind::Truncated,
            self.frame_start,
            Detail::Partial {
                have: self.buf.len(),
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
