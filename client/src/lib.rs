//! A Claude client for Amazon Bedrock and Mantle that behaves like Claude
//! Code's provider: configuration, the AWS credential chain, refresh loops,
//! model resolution and fallback, routing, retries and streaming.
//!
//! # Using it
//! The command line is a library function ([`cli::run`]), so the same code
//! runs as the `bedrock-client` binary and in-process. Below it:
//! [`config::Config`] reads the environment variables Claude Code reads
//! and its settings files, and which version of Claude Code to behave as:
//! its [`profile`] (`--cli-version`, `BEDROCK_CLIENT_CLI_VERSION`, default
//! the newest) holds everything of that version the client imitates
//! (retry schedule, time limits, header orders, the lines it prints, the
//! rules that changed between versions, and its model [`catalogue`]);
//! [`resolve`] says how a choice resolves to an id; a
//! [`provider::Provider`] sends calls as the CLI does, with credentials
//! from [`credentials`] (the AWS chain, `awsCredentialExport`,
//! `awsAuthRefresh`) on a [`clock`] that tests can make virtual; a
//! [`session::Session`] runs the startup checks and the turn as `claude
//! -p` does; [`failure`] says what a refusal means and how the CLI words
//! it.
//!
//! # Profiles
//! Each version of Claude Code the client imitates is a [`profile`]:
//! data in `client/data/profiles/<version>.toml`, compiled in and checked
//! when loaded, a newer one inheriting an older one's and giving only what
//! changed (2.1.332's file is its two changed rules). `--cli-version`, else
//! `BEDROCK_CLIENT_CLI_VERSION`, picks one, default
//! [`profile::NEWEST`]; [`config::Config::cli`] carries it to every layer
//! (no global state), and an unknown version is refused with the list of
//! known ones ([`profile::known_versions`]).
//!
//! # Inside
//! The rest is the crate's own: what goes on the wire (`request`: headers,
//! bodies, caching markers, the shape per model; `endpoint`: which
//! endpoint an id goes to), SigV4 and authentication per endpoint
//! (`signing`, `authorize`), one pooled HTTP/HTTPS client (`transport`)
//! with a redacted trace log (`trace`), the retry policy and loop
//! (`retry`, `retrying`), the startup checks (`startup`), the turn with
//! its resends and non-streaming retry (`turn`), streams read as they
//! arrive (`stream`, with [`bedrock_eventstream`]), refresh commands run
//! with a time limit (`command`), and dates (`calendar`). It never
//! depends on the mock server: what it knows of the server it learns from
//! the wire.
//!
//! Layers, each using only those before it: vocabulary (`error`, `secret`, `clock`, `calendar`) → imitated (`catalogue`, `profile`) → io (`command`, `trace`, `transport`) → configuration (`config`, `endpoint`, `resolve`) → wire (`request`, `signing`, `authorize`, `stream`) → credentials (`credentials`) → sending (`failure`, `retry`, `retrying`, `provider`) → behaviour (`turn`, `startup`) → session (`session`, `conversation`) → front (`cli`, `internals`)

#![warn(missing_docs)]

mod authorize;
mod calendar;
pub mod catalogue;
pub mod cli;
pub mod clock;
mod command;
pub mod config;
pub mod conversation;
pub mod credentials;
mod endpoint;
mod error;
pub mod failure;
#[doc(hidden)]
pub mod internals;
pub mod profile;
pub mod provider;
mod request;
pub mod resolve;
mod retry;
mod retrying;
mod secret;
pub mod session;
mod signing;
mod startup;
mod stream;
mod trace;
mod transport;
mod turn;

#[cfg(test)]
mod tests;

pub use config::Config;
pub use error::{Error, ErrorKind, FailureKind, UnknownFailureKind};
pub use secret::Secret;

/// The README's example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
