//! Any text as a scenario file: a scenario or an error naming the file
//! (and, for a bad field, where), never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = bedrock_harness::scenario::load::parse(Path::new("scenarios/x/fuzz.toml"), text) {
        let message = e.to_string();
        assert!(message.starts_with("scenarios/x/fuzz.toml"), "{message}");
    }
});
