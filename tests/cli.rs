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

mod serve {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::Stdio;

    use super::harness;

    fn get(url_host: &str, path: &str) -> String {
        let mut socket = TcpStream::connect(url_host).unwrap();
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nhost: {url_host}\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn serves_prints_env_lines_logs_requests_and_stops_on_sigterm() {
        let mut child = harness()
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let uri = first
            .trim()
            .strip_prefix("bedrock mock listening on ")
            .unwrap()
            .to_owned();
        let mut banner = String::new();
        while !banner.contains("# journal: ") {
            assert!(
                stdout.read_line(&mut banner).unwrap() > 0,
                "banner ended early: {banner}"
            );
        }
        assert!(
            banner.contains(&format!("export ANTHROPIC_BEDROCK_BASE_URL={uri}")),
            "{banner}"
        );
        assert!(banner.contains(&format!("export AWS_ENDPOINT_URL={uri}")));
        assert!(banner.contains(&format!("export AWS_ENDPOINT_URL_STS={uri}")));
        assert!(banner.contains(&format!(
            "export ANTHROPIC_BEDROCK_MANTLE_BASE_URL={uri}/anthropic"
        )));
        assert!(banner.contains("export AWS_ACCESS_KEY_ID=AKIDEXAMPLE"));

        let host = uri.strip_prefix("http://").unwrap();
        let answer = get(host, "/inference-profiles");
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains(r#"{"Message":"Authorization header is missing"}"#));
        assert!(
            get(host, "/__bedrock_mock/journal").contains("\"raw_path\":\"/inference-profiles\"")
        );

        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{status:?} {stderr}");
        assert!(
            stderr.contains("#1 GET /inference-profiles -> 403 AccessDeniedException [none]"),
            "{stderr}"
        );
    }

    #[test]
    fn a_bad_config_file_is_named_with_its_line() {
        let dir = std::env::temp_dir().join(format!("bh-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("account.toml");
        std::fs::write(
            &file,
            "account_id = \"111122223333\"\nregoins = [\"us-east-1\"]\n",
        )
        .unwrap();
        let out = harness()
            .args(["serve", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        assert!(
            stderr.contains("line 2") && stderr.contains("unknown field `regoins`"),
            "{stderr}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
