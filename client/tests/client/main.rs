//! The client's integration tests, in one test binary: each module below
//! was its own binary, and linking eight binaries against the AWS SDKs
//! and rustls cost more build time than compiling them.

mod chain;
mod cli;
mod refresh;
mod session;
mod status;
mod stream;
mod support;
mod turn;
mod wire;
