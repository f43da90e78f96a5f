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

use std::time::{Duration, SystemTime};

use crate::secret::Secret;

/// A set of AWS credentials. The secret parts never print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AKIA...` or `ASIA...`; not a secret, shown in logs and status.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials stop working, if known.
    pub expires_at: Option<SystemTime>,
}

/// How close to their expiry credentials are reloaded: the AWS JS SDK's
/// default chain (which Claude Code uses) treats credentials that expire
/// within five minutes as expired, so a request is never signed with a key
/// that dies in flight.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

impl AwsCredentials {
    /// Whether the credentials are known to have expired at `now`; such
    /// credentials are refreshed before use instead of being sent.
    pub fn expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether they should be reloaded before signing at `now`: expired,
    /// or expiring within [`EXPIRY_MARGIN`].
    pub fn due_for_refresh(&self, now: SystemTime) -> bool {
        self.expired_at(now + EXPIRY_MARGIN)
    }
}
