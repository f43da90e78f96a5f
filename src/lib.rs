//! bedrock-harness: scenario files that drive the fake Bedrock
//! ([`bedrock_mock_server`]) and the Claude-Code-like client
//! ([`bedrock_client`]) together, in-process. The `bedrock-harness` binary
//! runs them (`run`), serves a scenario's account to any client
//! (`serve --scenario`), and writes new ones (`new`).
//!
//! Its modules: [`scenario`], whose docs state its modules' layers, and
//! [`report`], the HTML page of a run (the binary's commands are
//! `src/main.rs`'s).
//!
//! Layers, each using only those before it: scenarios (`scenario`) → reporting (`report`) → capturing (`capture`).

#![warn(missing_docs)]

pub mod capture;
pub mod report;
pub mod scenario;
