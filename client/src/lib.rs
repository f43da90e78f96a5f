//! A Claude client for Amazon Bedrock and Mantle that behaves like Claude
//! Code's provider: configuration, the AWS credential chain, refresh loops,
//! model resolution and fallback, routing, retries and streaming.
//!
//! The parts: configuration ([`config`]): the environment variables Claude
//! Code reads, its settings files with their precedence, and the `status`
//! report; the model catalogue ([`catalogue`]): versions, lineups, how a
//! choice resolves to an id and which endpoint (`endpoint`) it goes to;
//! credentials ([`credentials`]): the default AWS chain,
//! `awsCredentialExport`, `awsAuthRefresh` behind its STS check and
//! 30-second gate; what goes on the wire ([`request`]): headers, bodies and
//! caching markers as the CLI writes them; sending ([`provider`]): host,
//! region and auth per endpoint, SigV4 as the CLI signs ([`signing`],
//! [`authorize`]), one pooled HTTP/HTTPS client ([`transport`]), the retry
//! loop ([`retrying`], [`retry`]) on an injectable clock ([`clock`]); what a
//! failure means and how the CLI words it ([`failure`]); the startup checks
//! ([`startup`]); the turn ([`turn`]): routing, on-demand resends, the
//! non-streaming retry, streams read as they arrive ([`stream`]); a whole
//! session as `claude -p` runs one ([`session`]); refresh commands run with
//! a time limit ([`command`]). The client reads streams with
//! [`bedrock_eventstream`]; the command line is a library function too
//! ([`cli`]). It never depends on the mock server: what it knows of the
//! server it learns from the wire.
//!
//! Layers, each using only those before it: vocabulary (`error`, `secret`, `clock`, `calendar`, `imitated`) → io (`command`, `trace`, `transport`) → configuration (`config`, `endpoint`, `catalogue`) → wire (`request`, `signing`, `authorize`, `stream`) → credentials (`credentials`) → sending (`failure`, `retry`, `retrying`, `provider`) → behaviour (`turn`, `startup`) → session (`session`) → front (`cli`)

#![warn(missing_docs)]

pub mod authorize;
mod calendar;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod credentials;
mod endpoint;
mod error;
pub mod failure;
pub mod imitated;
pub mod provider;
pub mod request;
pub mod retry;
pub mod retrying;
mod secret;
pub mod session;
pub mod signing;
pub mod startup;
pub mod stream;
pub mod trace;
pub mod transport;
pub mod turn;

pub use config::Config;
pub use error::{Error, ErrorKind, FailureKind, UnknownFailureKind};
pub use secret::Secret;
