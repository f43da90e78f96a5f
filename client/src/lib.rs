//! A Claude client for Amazon Bedrock and Mantle that behaves like Claude
//! Code's provider: configuration, the AWS credential chain, refresh loops,
//! model resolution and fallback, routing, retries and streaming.
//!
//! This crate is laid out but holds no client yet; it is built by the
//! `[client]` issues. It will read streams with [`bedrock_eventstream`]
//! and never depends on the mock server: what it knows of the server it
//! learns from the wire.
