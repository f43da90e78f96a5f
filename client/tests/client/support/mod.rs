//! What the client's integration tests share: the sandbox and provider
//! the unit tests use too (one file, `src/tests/sandbox.rs`, included here
//! through the public API), and running the `bedrock-client` binary in a
//! sandbox.

use std::process::{Command, Output};

use bedrock_client::clock::VirtualClock;
use bedrock_client::config::{Config, Sources, Vars};
use bedrock_client::credentials::SystemSources;
use bedrock_client::provider::{HttpClient, Identity, Provider};
use bedrock_mock_server::MockBedrock;

#[allow(dead_code)] // each test file uses a part
#[path = "../../../src/tests/sandbox.rs"]
mod sandbox;

#[allow(unused_imports)] // each test file uses a part
pub use sandbox::{Sandbox, provider, text};

impl Sandbox {
    /// Runs `bedrock-client args…` in the project folder with
    /// [`Sandbox::env`].
    pub fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_bedrock-client"))
            .args(args)
            .env_clear()
            .envs(self.env(extra))
            .current_dir(self.project())
            .output()
            .unwrap()
    }

    /// [`Sandbox::run`] with `input` on stdin, closed after it.
    pub fn run_with_stdin(&self, args: &[&str], extra: &[(&str, &str)], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-client"))
            .args(args)
            .env_clear()
            .envs(self.env(extra))
            .current_dir(self.project())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}
