//! Arbitrary bytes as an Anthropic stream event, the way a Bedrock chunk or
//! a Mantle SSE `data:` line delivers them. Must hold for any input:
//! - no panic;
//! - an event that parses serializes to JSON that parses back to itself.

#![no_main]

use bedrock_eventstream::anthropic::StreamEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|json: &[u8]| {
    if let Ok(event) = StreamEvent::from_json(json) {
        let again = StreamEvent::from_json(&event.to_json()).expect("our own JSON parses");
        assert_eq!(again, event);
    }
});
