//! Any bytes as a Mantle server-sent-event body, split anywhere: the same
//! outcome whole or in two pieces, an answer's text exactly what was
//! shown, never a panic.
#![no_main]

use bedrock_client::internals::read_mantle_pieces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(body.len());
    let mut shown_whole = String::new();
    let whole = read_mantle_pieces(&[body], &mut |t| shown_whole.push_str(t));
    let mut shown_split = String::new();
    let (a, b) = body.split_at(at);
    let split = read_mantle_pieces(&[a, b], &mut |t| shown_split.push_str(t));
    assert_eq!(whole.is_ok(), split.is_ok());
    assert_eq!(shown_whole, shown_split);
    if let Ok(answer) = whole {
        assert_eq!(answer.text, shown_whole);
    }
});
