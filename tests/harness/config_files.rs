//! `bedrock-harness serve --config FILE` as a user runs it: the config
//! files users write (a BOM from Notepad, TOML without an extension) are
//! read, and every bad one is refused before the server starts, naming the
//! file, the line and column, the field and the cause, as every other
//! way a config comes in does (`ServerConfig::from_file`).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::Scratch;
use std::process::{Command, Stdio};

/// Starts `serve --config path`: its banner when it serves (the server is
/// then stopped), or its exit code and stderr when it refuses.
fn serve(path: &Path) -> Result<String, (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-harness"))
        .args(["serve", "--quiet", "--port", "0", "--config"])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("# journal: ") {
        if stdout.read_line(&mut banner).unwrap() == 0 {
            // Refused: the process ends without a banner.
            let status = child.wait().unwrap();
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Err((status.code(), stderr));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    Ok(banner)
}

/// The refusal of `path`: exit 2, and stderr's one line.
fn refusal(path: &Path) -> String {
    let (code, stderr) = serve(path).expect_err("a config serve refuses");
    assert_eq!(code, Some(2), "{stderr}");
    stderr.trim_end().to_owned()
}

#[test]
fn a_json_file_with_a_byte_order_mark_is_served() {
    let scratch = Scratch::new("bom");
    let path = scratch.file(
        "account.json",
        b"\xEF\xBB\xBF{\"regions\": [\"eu-west-1\"]}\n",
    );
    let banner = serve(&path).unwrap();
    assert!(banner.contains("export AWS_REGION=eu-west-1"), "{banner}");
}

#[test]
fn a_file_without_an_extension_is_read_by_its_first_character() {
    let scratch = Scratch::new("bare");
    let toml = scratch.file("account", b"# my account\nregions = [\"ap-southeast-2\"]\n");
    let banner = serve(&toml).unwrap();
    assert!(
        banner.contains("export AWS_REGION=ap-southeast-2"),
        "{banner}"
    );
    let json = scratch.file("account-json", b"{\"regions\": [\"us-west-2\"]}");
    let banner = serve(&json).unwrap();
    assert!(banner.contains("export AWS_REGION=us-west-2"), "{banner}");
}

#[test]
fn an_unknown_extension_is_refused_naming_the_two_known_ones() {
    let scratch = Scratch::new("yaml");
    let path = scratch.file("account.yaml", b"regions: [us-east-1]\n");
    assert_eq!(
        refusal(&path),
        format!(
            "bedrock-harness serve: {}: `.yaml` is not a format the mock reads: write the config as JSON (`.json`) or TOML (`.toml`)",
            path.display()
        )
    );
}

#[test]
fn invalid_utf8_is_refused_naming_its_offset_line_and_column() {
    let scratch = Scratch::new("utf8");
    let path = scratch.file("account.toml", b"seed = 7\nregions = [\"eu-w\xE9st-1\"]\n");
    assert_eq!(
        refusal(&path),
        format!(
            "bedrock-harness serve: {}:2:17: byte 0xE9 at offset 25 (line 2, column 17) is not UTF-8; save the text as UTF-8",
            path.display()
        )
    );
}

#[test]
fn syntax_errors_are_refused_with_their_position_and_cause() {
    let scratch = Scratch::new("syntax");
    let json = scratch.file(
        "account.json",
        b"{\n  \"seed\": 7,\n  \"regions\": [\"us-east-1\"\n}\n",
    );
    assert_eq!(
        refusal(&json),
        format!(
            "bedrock-harness serve: {}:4:1: field `regions`: expected `,` or `]`",
            json.display()
        )
    );
    let toml = scratch.file("account.toml", b"seed = 7\nregions = [\"us-east-1\"\n");
    let stderr = refusal(&toml);
    assert!(
        stderr.starts_with(&format!("bedrock-harness serve: {}:2:", toml.display())),
        "{stderr}"
    );
}

#[test]
fn a_config_the_checks_refuse_is_refused_naming_the_field() {
    let scratch = Scratch::new("checks");
    let path = scratch.file(
        "account.toml",
        b"[[rules]]\nwhen = { operation = \"InvokeModel\" }\nstall = { seconds = nan }\n",
    );
    assert_eq!(
        refusal(&path),
        format!(
            "bedrock-harness serve: {}: field `rules[0].stall.seconds`: NaN is not a stall; give 0 to 86400 seconds",
            path.display()
        )
    );
    let empty = scratch.file("regions.json", b"{\"regions\": []}");
    let stderr = refusal(&empty);
    assert!(
        stderr.contains(": field `regions`: an account must serve"),
        "{stderr}"
    );
}
