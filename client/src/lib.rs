//! A Claude client for Amazon Bedrock and Mantle that behaves like Claude
//! Code's provider: configuration, the AWS credential chain, refresh loops,
//! model resolution and fallback, routing, retries and streaming.
//!
//! Built so far: configuration ([`config`]): the environment variables
//! Claude Code reads, its settings files with their precedence, and the
//! `status` report; the retry schedule ([`retry`]); what a failed request
//! means and how the CLI words it ([`failure`]); refresh commands run with
//! a time limit ([`command`]), `awsCredentialExport`'s output and the
//! `awsAuthRefresh` 30-second gate ([`credentials`]); SigV4 signing as the
//! CLI signs ([`signing`]) and the auth each endpoint gets ([`authorize`]);
//! one pooled HTTP/HTTPS client ([`transport`]);
//! the default AWS chain and when credentials are reloaded
//! ([`credentials`]); the retry loop around a request ([`retrying`]), on an
//! injectable clock ([`clock`]). The rest is built by the
//! `[client]` issues. The client
//! reads streams with [`bedrock_eventstream`] and never depends on the
//! mock server: what it knows of the server it learns from the wire.

#![warn(missing_docs)]

pub mod authorize;
pub mod clock;
pub mod command;
pub mod config;
pub mod credentials;
mod error;
pub mod failure;
pub mod provider;
pub mod request;
pub mod retry;
pub mod retrying;
mod secret;
pub mod signing;
pub mod stream;
pub mod transport;
pub mod turn;

pub use config::Config;
pub use error::{Error, ErrorKind};
pub use secret::Secret;
