//! AWS credentials as the client holds them: the default AWS chain, and
//! the pieces of Claude Code's refresh behaviour: `awsCredentialExport`'s
//! JSON, and the gate that keeps `awsAuthRefresh` from running more than
//! once in 30 seconds.

mod chain;
mod export;
mod manager;
mod refresh_gate;
mod system;

pub use chain::{from_default_chain, from_default_chain_at};
pub use export::{credentials_from_export, run_credential_export};
pub use manager::{CredentialManager, CredentialSource, SourceCounts};
pub use refresh_gate::RefreshGate;
pub use system::{AUTH_REFRESH_TIME_LIMIT, SystemSources};

pub use crate::signing::AwsCredentials;
