//! Who the client says it is on every model call: a session id (one per
//! process, as Claude Code makes one per session), a device id, and the
//! `x-stainless-*` description of the runtime that Anthropic SDKs send.
//!
//! The header *set* is the real CLI's, so a mock, gateway or scenario sees
//! the same shape; the *values* describe this client honestly (its own
//! user agent, `x-stainless-lang: rust`) rather than impersonating the
//! CLI's Node runtime.

/// The values that identify this client and session on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `x-claude-code-session-id`, and `session_id` in the body's
    /// `metadata.user_id`: a random UUID v4.
    pub session_id: String,
    /// `device_id` in `metadata.user_id`: 64 random hex digits (the CLI
    /// keeps one per machine; this client makes one per process).
    pub device_id: String,
    /// `user-agent`.
    pub user_agent: String,
    /// `x-stainless-arch`: `x64` or `arm64`, as Node names them.
    pub arch: String,
    /// `x-stainless-os`: `Linux`, `MacOS`, `Windows`.
    pub os: String,
}

impl Identity {
    /// A new session on this machine.
    pub fn new_session() -> Self {
        Self::from_random(&random_bytes::<48>())
    }

    /// The identity `random` (48 bytes) makes: 16 for the session id, 32
    /// for the device id. Tests pass fixed bytes.
    pub fn from_random(random: &[u8; 48]) -> Self {
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&random[..16]);
        // Version 4, RFC 4122 variant: the builder sets those bits.
        let session_id = uuid::Builder::from_random_bytes(uuid)
            .into_uuid()
            .to_string();
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Self {
            session_id,
            device_id: hex(&random[16..]),
            user_agent: format!(
                "bedrock-client/{} (external, sdk-cli)",
                env!("CARGO_PKG_VERSION")
            ),
            arch: match std::env::consts::ARCH {
                "x86_64" => "x64".to_owned(),
                "aarch64" => "arm64".to_owned(),
                other => other.to_owned(),
            },
            os: match std::env::consts::OS {
                "linux" => "Linux".to_owned(),
                "macos" => "MacOS".to_owned(),
                "windows" => "Windows".to_owned(),
                other => other.to_owned(),
            },
        }
    }

    /// The body's `metadata.user_id`: a JSON document in a string, as the
    /// CLI sends it.
    pub fn metadata_user_id(&self) -> String {
        format!(
            r#"{{"device_id":"{}","account_uuid":"","session_id":"{}"}}"#,
            self.device_id, self.session_id
        )
    }
}

/// A fresh UUID v4, as the AWS JS SDK makes one per operation for
/// `amz-sdk-invocation-id`.
pub(crate) fn invocation_id() -> String {
    uuid::Builder::from_random_bytes(random_bytes::<16>())
        .into_uuid()
        .to_string()
}

/// Operating-system randomness; a session id that repeats across runs
/// would merge two sessions in a gateway's logs.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS randomness (never seen on the supported platforms): the
        // time and the process id still keep sessions apart.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (seed.rotate_left((i % 16) as u32 * 8) & 0xff) as u8 ^ i as u8;
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_version_4_uuids() {
        let identity = Identity::from_random(&[0xff; 48]);
        assert_eq!(identity.session_id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(identity.device_id, "ff".repeat(32));
        // The bytes as they come, but for the version and variant bits.
        let counting: [u8; 48] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            Identity::from_random(&counting).session_id,
            "00010203-0405-4607-8809-0a0b0c0d0e0f"
        );
        let a = Identity::new_session();
        let b = Identity::new_session();
        assert_ne!(a.session_id, b.session_id);
        assert_eq!(a.session_id.len(), 36);
    }

    #[test]
    fn the_user_id_is_json_in_a_string() {
        let identity = Identity::from_random(&[0; 48]);
        let parsed: serde_json::Value = serde_json::from_str(&identity.metadata_user_id()).unwrap();
        assert_eq!(parsed["session_id"], identity.session_id.as_str());
        assert_eq!(parsed["account_uuid"], "");
    }
}
