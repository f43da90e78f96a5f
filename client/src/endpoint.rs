//! The two endpoints model requests go to, and which one a model id goes
//! to: Mantle ids (`anthropic.<name>`, no version suffix) to Mantle when it
//! is on, every id to Mantle when it is on alone, everything else to the
//! Invoke runtime. A `[1m]` suffix never goes on the wire.

use crate::config::Providers;
use crate::error::{Error, ErrorKind};

/// The two endpoints model requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The Invoke runtime (and the control plane's region).
    Bedrock,
    /// Mantle.
    Mantle,
}

/// `model` without a `[1m]` suffix, and whether it had one: the suffix
/// never goes on the wire; it asks for the 1M-token context beta.
pub fn split_context_suffix(model: &str) -> (&str, bool) {
    match model.strip_suffix("[1m]") {
        Some(id) => (id, true),
        None => (model, false),
    }
}

/// Whether `model` is a Mantle id: `anthropic.<name>` with no version
/// suffix (`-v1:0`), as opposed to a Bedrock id, profile id or ARN.
pub fn is_mantle_id(model: &str) -> bool {
    let Some(name) = model.strip_prefix("anthropic.") else {
        return false;
    };
    !name.is_empty() && !name.contains(':') && !has_version_suffix(name)
}

/// `-v1`, `-v2` at the end (before any `:n`).
fn has_version_suffix(name: &str) -> bool {
    name.rsplit_once("-v")
        .is_some_and(|(_, v)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

/// Where a turn on `model` goes: Mantle ids to Mantle when it is on,
/// every id to Mantle when it is on alone; everything else to Invoke.
pub fn endpoint_for(model: &str, providers: Providers) -> Result<Endpoint, Error> {
    // With Mantle alone every id goes there, as the CLI sends it: an
    // inference profile id gets Mantle's refusal naming the model (the
    // seed's "Mantle endpoint errors"), not one made up here.
    if providers.mantle && (is_mantle_id(model) || !providers.bedrock) {
        return Ok(Endpoint::Mantle);
    }
    if providers.bedrock {
        return Ok(Endpoint::Bedrock);
    }
    Err(Error::new(
        ErrorKind::NoProvider,
        "neither Bedrock nor Mantle is enabled: set CLAUDE_CODE_USE_BEDROCK=1 or CLAUDE_CODE_USE_MANTLE=1",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mantle_ids_are_told_from_bedrock_ids() {
        for mantle in ["anthropic.claude-haiku-4-5", "anthropic.claude-opus-5-5"] {
            assert!(is_mantle_id(mantle), "{mantle}");
        }
        for bedrock in [
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-v2",
            "us.anthropic.claude-opus-5-5",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
            "anthropic.",
            "claude-opus-4-6",
        ] {
            assert!(!is_mantle_id(bedrock), "{bedrock}");
        }
    }

    #[test]
    fn routing_follows_the_enabled_endpoints() {
        let bedrock = Providers {
            bedrock: true,
            mantle: false,
        };
        let mantle = Providers {
            bedrock: false,
            mantle: true,
        };
        assert_eq!(
            endpoint_for("anthropic.claude-haiku-4-5", bedrock).unwrap(),
            Endpoint::Bedrock
        );
        assert_eq!(
            endpoint_for("anthropic.claude-haiku-4-5", mantle).unwrap(),
            Endpoint::Mantle
        );
        // Mantle alone takes any id; Mantle refuses what it does not serve.
        assert_eq!(
            endpoint_for("us.anthropic.claude-opus-5-5", mantle).unwrap(),
            Endpoint::Mantle
        );
        let neither = Providers {
            bedrock: false,
            mantle: false,
        };
        let refused = endpoint_for("us.anthropic.claude-opus-5-5", neither).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::NoProvider);
        let both = Providers {
            bedrock: true,
            mantle: true,
        };
        assert_eq!(
            endpoint_for("anthropic.claude-haiku-4-5", both).unwrap(),
            Endpoint::Mantle
        );
        assert_eq!(
            endpoint_for("us.anthropic.claude-haiku-4-5-20251001-v1:0", both).unwrap(),
            Endpoint::Bedrock
        );
    }

    #[test]
    fn the_1m_suffix_is_split_off() {
        assert_eq!(
            split_context_suffix("us.anthropic.claude-sonnet-4-6[1m]"),
            ("us.anthropic.claude-sonnet-4-6", true)
        );
        assert_eq!(
            split_context_suffix("us.anthropic.claude-sonnet-4-6"),
            ("us.anthropic.claude-sonnet-4-6", false)
        );
    }
}
