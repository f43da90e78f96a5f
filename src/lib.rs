//! bedrock-harness: scenario files that drive the fake Bedrock
//! ([`bedrock_mock_server`]) and the Claude-Code-like client
//! ([`bedrock_client`]) together, in-process. The `bedrock-harness` binary
//! runs them (`run`), serves a scenario's account to any client
//! (`serve --scenario`), and writes new ones (`new`).
//!
//! Its one module is [`scenario`], whose docs state its modules' layers
//! (the binary's commands are `src/main.rs`'s).

#![warn(missing_docs)]

pub mod scenario;
