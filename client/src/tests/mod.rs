//! What the crate's unit tests share: a sandbox (HOME, project folder,
//! environment) and a provider pointed at the in-process mock, from
//! `sandbox.rs`, which the integration tests include as well.

use crate::clock::VirtualClock;
use crate::config::{Config, Sources, Vars};
use crate::credentials::SystemSources;
use crate::provider::{HttpClient, Identity, Provider};
use bedrock_mock_server::MockBedrock;

#[allow(dead_code)] // each test module uses a part
mod sandbox;

pub(crate) use sandbox::{Sandbox, provider};
