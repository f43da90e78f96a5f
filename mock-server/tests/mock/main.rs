//! The mock's integration tests, in one test binary: each module below
//! was its own binary, and linking five binaries against the AWS SDKs
//! cost more build time than compiling them.

mod admin_patch;
mod attack;
mod common;
mod golden_sigv4;
mod mantle;
mod matchers;
mod recorded;
mod sdk;
mod sdk_config;
mod server;
mod sigv4_properties;
mod sts;
mod wiremock_glue;
