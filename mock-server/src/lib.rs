//! A fake Amazon Bedrock that real AWS clients accept: the runtime
//! (`invoke`, `invoke-with-response-stream` with real event-stream frames),
//! the control plane's inference profiles, Mantle (the Anthropic Messages
//! API, JSON and Server-Sent Events), STS `GetCallerIdentity`, SigV4 and
//! API-key authentication verified as AWS does it, each endpoint's exact
//! error answers, credentials that expire and rotate, and a journal of
//! every request with secrets redacted. One server answers all endpoints,
//! told apart by path, so one base URL serves every variable a client
//! reads.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use bedrock_mock_server::{MockBedrock, ModelState, ServerConfig};
//!
//! let server = MockBedrock::start_with(
//!     ServerConfig::default().model_state("anthropic.claude-opus-5-5", ModelState::NotFound),
//! )
//! .await;
//! // Point a client's ANTHROPIC_BEDROCK_BASE_URL / AWS_ENDPOINT_URL here:
//! let base_url = server.uri();
//! # assert!(base_url.starts_with("http://127.0.0.1:"));
//! # }
//! ```
//!
//! # Compared with wiremock
//! [`MockBedrock`] is started and dropped like `wiremock::MockServer`, and
//! [`Rule`]s play the part of wiremock's mocks (`times`, `expect`, checked
//! on drop). The difference is that an unmatched request is not a 404: it
//! gets what Bedrock would answer for this account, so a test states only
//! what is unusual about its situation.
//!
//! As with wiremock, a test can match with a closure
//! ([`Match::custom`]), on the path, the query or the body as JSON
//! ([`Match::body_partial_json`]), answer with any bytes
//! ([`Answer::raw`]), expect a range of calls ([`Times`]), and nest the
//! mock in an axum app of its own ([`MockBedrock::router`]). An unmet
//! expectation says, for each request, why it missed the rule.
//!
//! # Features
//! None is on by default; each adds what another crate of your tests
//! already builds.
//! - `aws-sdk`: `MockBedrock::sdk_config()` (an `aws_types::SdkConfig`
//!   for this server: endpoint, home region, the example credentials,
//!   plain HTTP, quick retries, the mock's clock) and `runtime_client()`
//!   (aws-sdk-bedrockruntime);
//! - `aws-sdk-bedrock`, `aws-sdk-sts`: `control_client()` and
//!   `sts_client()` as well;
//! - `wiremock`: the module `wiremock`, Bedrock's answers as `Respond`
//!   implementations and a SigV4 matcher for a `wiremock::MockServer`;
//! - `schema`: a JSON Schema of [`ServerConfig`] and [`Rule`] (schemars).
//!
//! Without a feature, [`render`] gives the same answers and SigV4 checks
//! as functions.
//!
//! The crate builds with Rust 1.89; the `aws-sdk*` features need what the
//! AWS SDK for Rust needs (1.94.1 for the versions this crate is tested
//! with).
//!
//! # Where things are
//! Layers, each using only those before it: vocabulary (`listed`, `operation`, `errors`, `timefmt`, `percent`, `rng`, `geography`, `effects`, `clock`, `json_patch`, `secret_headers`) → account (`reply`, `recorded`, `rules`, `config`, `checks`, `config_file`, `catalogue`, `policy`, `quota`, `guardrail`, `credentials`, `journal`, `redact`, `state`) → wire (`sigv4`, `auth`, `routes`, `stream_body`, `frame_fault`, `listen`) → protocols (`api`, `messages_body`, `delta_memo`, `runtime`, `control_plane`, `bedrock`, `render`, `mantle`, `replay`, `sts`, `sso`, `identify`) → pipeline (`delivery`, `pipeline`, `admin_access`, `admin`) → server (`server`, `fuzzing`, `sdk`, `wiremock`)
//!
//! A request goes from `server` (the router; admin calls to `admin`) to
//! `pipeline` (route, read the body, identify, authenticate, choose a rule,
//! answer, render, journal), which runs its protocol's steps (`api`: one
//! implementation each in `bedrock`, `mantle`, `sts` and `sso`) and the
//! rule's effects (`delivery`). Every error the mock can send is one row of
//! [`ErrorCode`]. Every config and rule, whichever way it comes in (the
//! builder, the admin API, a config file, a scenario), passes the same
//! checks (`checks`: [`ServerConfig::check`], [`Rule::check`]) and fails
//! with the same [`ConfigError`]. The workspace's ARCHITECTURE.md says where each kind of
//! change goes.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
mod admin_access;
mod api;
mod auth;
mod bedrock;
mod catalogue;
mod checks;
mod clock;
mod config;
mod config_file;
mod control_plane;
mod credentials;
mod delivery;
mod delta_memo;
mod effects;
mod errors;
mod frame_fault;
#[doc(hidden)]
pub mod fuzzing;
mod geography;
mod guardrail;
mod identify;
mod journal;
mod json_patch;
mod listed;
mod listen;
mod mantle;
mod messages_body;
mod operation;
mod percent;
mod pipeline;
mod policy;
mod quota;
mod recorded;
mod redact;
pub mod render;
mod replay;
mod reply;
mod rng;
mod routes;
mod rules;
mod runtime;
#[cfg(feature = "aws-sdk")]
mod sdk;
mod secret_headers;
mod server;
mod sigv4;
mod sso;
mod state;
mod stream_body;
mod sts;
mod timefmt;
#[cfg(feature = "wiremock")]
pub mod wiremock;

pub use admin::PREFIX as ADMIN_PREFIX;
pub use admin_access::{ADMIN_TOKEN_VARIABLE, AdminAccess, AdminToken};
pub use checks::{ConfigError, ConfigErrorKind, frames_the_body, is_hop_by_hop};
pub use clock::{Clock, Hold};
pub use config::{
    ApiKey, ApplicationProfile, AuthMode, Credential, Deny, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_API_KEY,
    EXAMPLE_SECRET_ACCESS_KEY, EXAMPLE_SSO_TOKEN, FoundationModel, MAX_PACE_MS, MantleModel,
    ModelChange, ModelState, Pace, PolicyKind, Quota, ServerConfig,
};
pub use credentials::CredentialReport;
pub use effects::{
    Cut, Dribble, Effects, FrameFault, FrameFaultKind, MAX_DRIBBLE_PAUSE_MS, MAX_STALL_SECONDS,
    Reset, Stall, StallPoint,
};
pub use errors::{
    AwsError, ErrorCode, ErrorOrigin, ExceptionType, UnknownErrorCode, UnknownExceptionType,
};
pub use identify::{Identified, identify};
pub use journal::{
    AuthRecord, AuthScheme, FrameRecord, JournalLimits, RecordedRequest, UnknownFrameRecord,
};
pub use listen::ReadLimits;
pub use operation::Operation;
pub use recorded::{
    RecordedBody, RecordedError, RecordedEvent, RecordedKind, Recording, recorded_error,
};
pub use redact::MAX_RECORDED_BODY;
pub use reply::{Reply, ReplyBlock};
pub use rules::{
    Answer, BodyCondition, Custom, MAX_RETRY_AFTER_SECONDS, Match, RequestView, Rule, Times, glob,
};
pub use secret_headers::may_hold_a_secret;
pub use server::{MockBedrock, MockBedrockBuilder, StartError};
pub use state::{ExpectationError, UnmetExpectation};
pub use timefmt::Timestamp;

/// The README's examples, run as doc tests (they need the `aws-sdk` and
/// `wiremock` features, which the crate's own tests enable).
#[cfg(all(doctest, feature = "aws-sdk", feature = "wiremock"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
