//! AWS credentials as the client holds them: the default AWS chain, and
//! the pieces of Claude Code's refresh behaviour: `awsCredentialExport`'s
//! JSON, and the gate that keeps `awsAuthRefresh` from running more than
//! once in the profile's interval.

mod chain;
mod export;
mod manager;
mod refresh_gate;
mod system;

pub use manager::{CredentialSource, SourceCounts};
pub use system::SystemSources;

pub use crate::signing::AwsCredentials;

pub(crate) use chain::from_default_chain_at;
pub(crate) use export::run_credential_export;
pub(crate) use manager::CredentialManager;
pub(crate) use refresh_gate::RefreshGate;
