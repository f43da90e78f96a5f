//! A fake Amazon Bedrock for offline tests: runtime (`invoke`,
//! `invoke-with-response-stream`), control plane (inference profiles), the
//! Mantle endpoint and STS, with AWS's own authentication checks, error
//! texts, fault injection and a request journal.
//!
//! This crate is laid out but holds no server yet; it is built by the
//! `[mock-server]` issues. Stream bodies will be produced with
//! [`bedrock_eventstream`], which already encodes Bedrock chunk and
//! exception frames.
