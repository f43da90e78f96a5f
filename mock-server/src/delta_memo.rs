//! The chunk frames of text deltas, made ready once per thread and reused.
//!
//! Most of a stream is `content_block_delta` events, and a mock replays
//! the same reply to many requests: the same few words, grouped as the
//! seeded generator groups them, in the same blocks. Serializing such an
//! event and encoding it in base64 was most of the cost of rendering a
//! stream; here it is done once for each (block, kind, text) a thread
//! meets, and each frame after that only adds its padding and checksums.
//! The bytes sent are those [`encode_chunk`](bedrock_eventstream::bedrock::encode_chunk)
//! writes for the same event: only the time to make them changes.
//!
//! The memo is per thread, so no lock is taken per frame, and bounded: past
//! [`MAX_BYTES`] it is emptied and fills again with what the streams use.

use std::cell::RefCell;
use std::collections::HashMap;

use bedrock_eventstream::bedrock::PreparedEvent;

use crate::reply::{DeltaKind, PlannedEvent};

/// The most a thread's memo holds, keys and events together, before it
/// starts afresh: a reply of a few thousand words fits, and a thread of
/// the host's runtime keeps no more than this for it.
const MAX_BYTES: usize = 2 * 1024 * 1024;

/// What an entry costs beyond its key and event: the map's slot and the
/// two allocations' bookkeeping, roughly.
const ENTRY_OVERHEAD: usize = 64;

/// The most room the key buffer keeps between lookups: a huge delta's
/// text is not held for the thread's life.
const KEEP_KEY_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct Memo {
    /// Key: the kind's byte, the block's index, then the text.
    events: HashMap<Box<[u8]>, PreparedEvent>,
    bytes: usize,
    /// The key being looked up, built in place.
    key: Vec<u8>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Appends the `chunk` frame of a delta of block `index`, padded with
/// `padding`.
pub(crate) fn encode_delta_chunk(
    index: u32,
    kind: DeltaKind,
    text: &str,
    padding: &str,
    out: &mut Vec<u8>,
) {
    MEMO.with_borrow_mut(|memo| memo.encode(index, kind, text, padding, out));
}

impl Memo {
    fn encode(
        &mut self,
        index: u32,
        kind: DeltaKind,
        text: &str,
        padding: &str,
        out: &mut Vec<u8>,
    ) {
        self.key.clear();
        self.key.push(kind as u8);
        self.key.extend_from_slice(&index.to_le_bytes());
        self.key.extend_from_slice(text.as_bytes());
        match self.events.get(self.key.as_slice()) {
            Some(event) => event.encode_chunk(padding, out),
            None => {
                let delta = PlannedEvent::Delta { index, kind, text }.into_event();
                let event = PreparedEvent::new(&delta);
                event.encode_chunk(padding, out);
                self.remember(event);
            }
        }
        // A huge delta's key does not keep its room for the thread's life.
        if self.key.capacity() > KEEP_KEY_CAPACITY {
            self.key = Vec::new();
        }
    }

    /// Keeps `event` under the key just looked up, within [`MAX_BYTES`]:
    /// one larger than the whole bound is not kept (and does not empty
    /// the memo).
    fn remember(&mut self, event: PreparedEvent) {
        let cost = self.key.len() + event.encoded_len() + ENTRY_OVERHEAD;
        if cost > MAX_BYTES {
            return;
        }
        if self.bytes + cost > MAX_BYTES {
            self.events = HashMap::new();
            self.bytes = 0;
        }
        self.bytes += cost;
        self.events.insert(self.key.as_slice().into(), event);
    }
}

#[cfg(test)]
mod tests {
    use bedrock_eventstream::bedrock::encode_chunk;

    use super::*;

    fn uncached(index: u32, kind: DeltaKind, text: &str, padding: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let event = PlannedEvent::Delta { index, kind, text }.into_event();
        encode_chunk(&event, padding, &mut out);
        out
    }

    fn cached(memo: &mut Memo, index: u32, kind: DeltaKind, text: &str, padding: &str) -> Vec<u8> {
        let mut out = Vec::new();
        memo.encode(index, kind, text, padding, &mut out);
        out
    }

    #[test]
    fn a_remembered_delta_is_sent_as_the_same_bytes() {
        let mut memo = Memo::default();
        let cases = [
            (0, DeltaKind::Text, " the quick", "abc"),
            (0, DeltaKind::Text, " the quick", "abcdefgh"),
            (1, DeltaKind::Text, " the quick", "abc"),
            (1, DeltaKind::Thinking, " the quick", "abc"),
            (2, DeltaKind::InputJson, r#"{"path": "a\"b"#, "a"),
            (0, DeltaKind::Text, "line\n\t\u{1}é", "xyz"),
        ];
        for _ in 0..2 {
            for (index, kind, text, padding) in cases {
                assert_eq!(
                    cached(&mut memo, index, kind, text, padding),
                    uncached(index, kind, text, padding),
                    "{index} {kind:?} {text:?}"
                );
            }
        }
        // Block, kind and text each tell entries apart.
        assert_eq!(memo.events.len(), 5);
    }

    #[test]
    fn the_memo_starts_afresh_past_its_bound_and_keeps_answering() {
        let mut memo = Memo::default();
        let long = "w".repeat(MAX_BYTES / 8);
        for n in 0..20 {
            let text = format!("{n}{long}");
            assert_eq!(
                cached(&mut memo, 0, DeltaKind::Text, &text, "p"),
                uncached(0, DeltaKind::Text, &text, "p")
            );
            assert!(memo.bytes <= MAX_BYTES, "{} held", memo.bytes);
        }
        // The last of them is remembered: sent again, it is found, and the
        // key's room is let go after the hit too.
        let last = format!("19{long}");
        let entries = memo.events.len();
        assert_eq!(
            cached(&mut memo, 0, DeltaKind::Text, &last, "q"),
            uncached(0, DeltaKind::Text, &last, "q")
        );
        assert_eq!(memo.events.len(), entries);
        assert!(memo.key.capacity() <= KEEP_KEY_CAPACITY);
        // One text larger than the whole bound is sent, not kept, and the
        // rest stays; nor does the key's buffer keep its size.
        let (held, bytes) = (memo.events.len(), memo.bytes);
        assert!(held > 0);
        let huge = "h".repeat(MAX_BYTES);
        assert_eq!(
            cached(&mut memo, 0, DeltaKind::Text, &huge, "p"),
            uncached(0, DeltaKind::Text, &huge, "p")
        );
        assert_eq!((memo.events.len(), memo.bytes), (held, bytes));
        assert!(memo.key.capacity() <= KEEP_KEY_CAPACITY);
    }
}
