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
}
