//! The `bedrock-harness` binary as a user runs it.

use std::path::Path;
use std::process::Command;

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bedrock-harness"))
}

fn golden(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eventstream/tests/data")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn decode_prints_one_json_line_per_frame() {
    let out = harness()
        .args(["decode", &golden("bedrock_stream.bin")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "7 frames, 1989 bytes\n"
    );
}

#[test]
fn decode_names_the_offset_of_a_corrupt_frame_and_fails() {
    let out = harness()
        .args(["decode", &golden("bad_message_crc.bin")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("message checksum mismatch at byte 0"),
        "{stderr}"
    );

    let out = harness()
        .args(["decode", "/nonexistent/capture.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/capture.bin"));
}

#[test]
fn run_says_it_ran_nothing_until_the_runner_exists() {
    let out = harness().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario was run"));
}
