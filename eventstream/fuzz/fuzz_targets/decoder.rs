//! Feeds arbitrary bytes to the decoder, split at sizes the input chooses,
//! and checks what must hold for any input:
//! - no panic, no buffering past the limit;
//! - the result (frames or error, with its offset) does not depend on the split;
//! - every accepted frame re-encodes to exactly the bytes it was decoded from;
//! - the Bedrock layer never panics on an accepted frame.

#![no_main]

use bedrock_eventstream::bedrock::EventReader;
use bedrock_eventstream::{DecodeError, Decoder, Header, Limits, encode};
use libfuzzer_sys::fuzz_target;

// Headers under 8 KiB keep every header value under the 32,767 bytes the
// encoder allows, so "every accepted frame re-encodes" is a fair demand.
const LIMITS: Limits = Limits::new(64 * 1024, 8 * 1024);

/// Each accepted frame as its re-encoded bytes, or the error.
fn decode(data: &[u8], split: usize) -> Result<Vec<Vec<u8>>, DecodeError> {
    let mut decoder = Decoder::with_limits(LIMITS);
    let mut reader = EventReader::new();
    let mut frames = Vec::new();
    for mut piece in data.chunks(split) {
        while let Some(frame) = decoder.decode(&mut piece)? {
            let headers: Vec<Header<'_>> = frame.headers().collect();
            assert_eq!(headers.len(), frame.header_count());
            let mut again = Vec::new();
            encode(&headers, frame.payload(), &mut again).expect("a decoded frame re-encodes");
            assert_eq!(again.len(), frame.encoded_len());
            frames.push(again);
            let _ = reader.read(&frame);
        }
        assert!(decoder.buffer_capacity() <= LIMITS.max_message_len as usize);
    }
    decoder.finish()?;
    Ok(frames)
}

fuzz_target!(|input: &[u8]| {
    let Some((&split, data)) = input.split_first() else { return };
    let whole = decode(data, data.len().max(1));
    let split = decode(data, split as usize % 64 + 1);
    assert_eq!(whole, split);
    if let Ok(frames) = whole {
        assert_eq!(frames.concat(), data, "re-encoding changed the bytes");
    }
});
