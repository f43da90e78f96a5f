//! Any request head (method, path, query, headers, above all
//! `Authorization`) and body through the mock's authentication: an AWS
//! answer, never a panic, and no secret in what it reports.
//!
//! Input: `METHOD\nPATH\nQUERY\nName: value\n...\n\nBODY`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.split('\n');
    let method = lines.next().unwrap_or("POST");
    let path = lines.next().unwrap_or("/");
    let query = lines.next().unwrap_or("");
    let headers: Vec<(&[u8], &[u8])> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().as_bytes(), value.trim().as_bytes()))
        .collect();
    let status = bedrock_mock_server::fuzzing::authenticate(method, path, query, &headers, body.as_bytes());
    assert!((200..600).contains(&status), "status {status}");
});
