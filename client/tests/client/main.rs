//! The client's integration tests, through its public API, in one test
//! binary: each module below was its own binary, and linking several
//! binaries against the AWS SDKs and rustls cost more build time than
//! compiling them. Tests of the crate's internals (the turn on the wire,
//! refresh loops, streams, signing, the credential chain) are unit tests
//! beside the code they test.

mod cli;
mod session;
mod status;
mod support;
