//! The attack suite: the mock attacked from outside, as LocalStack's and
//! moto's maintainers test theirs. Each module is one kind of attack; every
//! test is bounded in time and count, so the suite runs in CI. RELIABILITY.md
//! at the repository's root lists what each test holds the server to.

mod admin_posture;
mod bad_configs;
mod malformed_http;
mod sigv4_edges;
mod slow_clients;
