//! The headers of each kind of call, in the order the real CLI sends them
//! (`../shared/golden`): model calls (probes and the turn, Invoke and
//! Mantle) carry the Anthropic SDK's set; the control plane carries the
//! AWS JS SDK's.
//!
//! Order differs by auth, because the CLI's SigV4 signer rebuilds the
//! header list: signed requests go out with the profile's leading names
//! (`accept`, `authorization`, `content-type`, `host`, `user-agent`),
//! then the rest sorted by name;
//! bearer and unauthenticated requests keep the SDK's own order with
//! `host` last. Names go out in lower case (HTTP/1 names are
//! case-insensitive; the CLI's mixed case carries no meaning).

use std::time::Duration;

use super::Identity;
use crate::config::{Config, CustomHeaders};
use crate::endpoint::Endpoint;

/// What a model call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A startup availability probe (`max_tokens: 1`): no betas, no
    /// service tier.
    Probe,
    /// The user's turn (streamed, or its non-streaming retry): betas, the
    /// browser-access flag and the service tier.
    Turn,
}

/// One model call's header inputs.
#[derive(Debug, Clone, Copy)]
pub struct ModelCall<'a> {
    /// Invoke or Mantle.
    pub endpoint: Endpoint,
    /// Probe or turn.
    pub kind: CallKind,
    /// The `anthropic-beta` header's values (turns only).
    pub betas: &'a [String],
    /// The call's time limit, announced as `x-stainless-timeout`.
    pub timeout: Duration,
}

/// A model call's headers, before `host` and authentication, in the
/// Anthropic SDK's order: the SDK's own (the client's honest values), then
/// the betas and the CLI version's turn headers on a turn, then its
/// headers on every model call (`anthropic-version`, `x-app`), as the
/// profile lists them. Custom headers (`ANTHROPIC_CUSTOM_HEADERS`) go on
/// every model call; the service tier only on Invoke turns (it is a
/// Bedrock runtime header, `X-Amzn-Bedrock-Service-Tier`).
pub fn model_call_headers(
    config: &Config,
    identity: &Identity,
    call: &ModelCall<'_>,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = [
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("user-agent", &identity.user_agent),
        ("x-claude-code-session-id", &identity.session_id),
        ("x-stainless-arch", &identity.arch),
        ("x-stainless-lang", "rust"),
        ("x-stainless-os", &identity.os),
        ("x-stainless-package-version", env!("CARGO_PKG_VERSION")),
        // Each retry is a new request: the CLI never counts up.
        ("x-stainless-retry-count", "0"),
        ("x-stainless-runtime", "rust"),
        ("x-stainless-runtime-version", "stable"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    headers.push((
        "x-stainless-timeout".to_owned(),
        call.timeout.as_secs().to_string(),
    ));
    let cli = &config.cli.headers;
    if call.kind == CallKind::Turn {
        if !call.betas.is_empty() {
            headers.push(("anthropic-beta".to_owned(), call.betas.join(",")));
        }
        headers.extend(cli.turn.iter().cloned());
    }
    headers.extend(cli.model_call.iter().cloned());
    add_custom_headers(&mut headers, &config.custom_headers);
    if let (CallKind::Turn, Endpoint::Bedrock, Some(tier)) =
        (call.kind, call.endpoint, config.service_tier)
    {
        headers.push((
            "x-amzn-bedrock-service-tier".to_owned(),
            tier.as_str().to_owned(),
        ));
    }
    headers
}

/// Adds `ANTHROPIC_CUSTOM_HEADERS`, lower-cased, to a model call's
/// `headers`.
fn add_custom_headers(headers: &mut Vec<(String, String)>, custom: &CustomHeaders) {
    for (name, value) in &custom.0 {
        let name = name.to_ascii_lowercase();
        // `host` is always the URL's. A custom header replaces the
        // client's own of the same name in place (a gateway may want its
        // own `user-agent`); authentication is settled when the request
        // is signed.
        if name == "host" {
            continue;
        }
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value.clone(),
            None => headers.push((name, value.clone())),
        }
    }
}

/// The control plane's headers (`ListInferenceProfiles`,
/// `GetInferenceProfile`), as the AWS JS SDK sends them, before
/// authentication: no custom headers, no tier. `invocation_id` is a fresh
/// UUID per operation; `attempt` counts from 1 up to the SDK's
/// `max_attempts` (3).
pub fn control_plane_headers(
    identity: &Identity,
    host: &str,
    invocation_id: &str,
    (attempt, max_attempts): (u32, u32),
) -> Vec<(String, String)> {
    let agent = format!("bedrock-client/{}", env!("CARGO_PKG_VERSION"));
    vec![
        ("x-amz-user-agent".to_owned(), agent.clone()),
        (
            "user-agent".to_owned(),
            format!("{agent} os/{} api/bedrock", identity.os.to_lowercase()),
        ),
        ("host".to_owned(), host.to_owned()),
        ("amz-sdk-invocation-id".to_owned(), invocation_id.to_owned()),
        (
            "amz-sdk-request".to_owned(),
            format!("attempt={attempt}; max={max_attempts}"),
        ),
    ]
}

/// Whether the CLI's signer covers `name`: everything it sends except the
/// user agent (and the transport's own `connection`, `content-length`,
/// `accept-encoding`, which this client leaves to hyper).
pub fn is_signed(name: &str) -> bool {
    !matches!(
        name,
        "user-agent" | "connection" | "content-length" | "accept-encoding"
    )
}

/// Puts a model call's finished headers (host and authentication
/// included) in the order the CLI sends them: a SigV4-signed request
/// (`signed_first` is then the profile's leading names) as the signer
/// rebuilds it, those names first and the rest sorted; the others
/// (`None`) in the SDK's order with `host` last.
pub fn wire_order(
    mut headers: Vec<(String, String)>,
    signed_first: Option<&[String]>,
) -> Vec<(String, String)> {
    if let Some(leading) = signed_first {
        headers.sort_by(|(a, _), (b, _)| {
            let rank = |n: &str| {
                leading
                    .iter()
                    .position(|l| *l == n)
                    .unwrap_or(leading.len())
            };
            rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
        });
    } else {
        if let Some(at) = headers.iter().position(|(n, _)| n == "authorization") {
            let auth = headers.remove(at);
            let after_accept = headers
                .iter()
                .position(|(n, _)| n == "accept")
                .map_or(0, |i| i + 1);
            headers.insert(after_accept, auth);
        }
        if let Some(at) = headers.iter().position(|(n, _)| n == "host") {
            let host = headers.remove(at);
            headers.push(host);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Sources;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut env: BTreeMap<String, String> = [
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", "us-east-1"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.insert("CLAUDE_CODE_USE_MANTLE".to_owned(), "1".to_owned());
        Config::load(&Sources {
            env,
            ..Sources::default()
        })
        .unwrap()
    }

    fn names(headers: &[(String, String)]) -> Vec<&str> {
        headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn turn(endpoint: Endpoint, betas: &[String]) -> ModelCall<'_> {
        ModelCall {
            endpoint,
            kind: CallKind::Turn,
            betas,
            timeout: Duration::from_secs(600),
        }
    }

    #[test]
    fn signed_turns_go_out_in_the_signers_order() {
        let config = config(&[
            ("ANTHROPIC_BEDROCK_SERVICE_TIER", "priority"),
            (
                "ANTHROPIC_CUSTOM_HEADERS",
                "X-Amzn-Bedrock-GuardrailIdentifier: gr-abc123\nX-Amzn-Bedrock-GuardrailVersion: 1",
            ),
        ]);
        let betas = ["claude-code-20250219".to_owned()];
        let mut headers = model_call_headers(
            &config,
            &Identity::new_session(),
            &turn(Endpoint::Bedrock, &betas),
        );
        headers.push(("host".into(), "127.0.0.1:18080".into()));
        for signer in ["x-amz-date", "x-amz-content-sha256", "authorization"] {
            headers.push((signer.into(), String::new()));
        }
        // The real CLI's order in golden/i_tier_headers, seq 5.
        assert_eq!(
            names(&wire_order(headers, Some(&config.cli.headers.signed_first))),
            [
                "accept",
                "authorization",
                "content-type",
                "host",
                "user-agent",
                "anthropic-beta",
                "anthropic-dangerous-direct-browser-access",
                "anthropic-version",
                "x-amz-content-sha256",
                "x-amz-date",
                "x-amzn-bedrock-guardrailidentifier",
                "x-amzn-bedrock-guardrailversion",
                "x-amzn-bedrock-service-tier",
                "x-app",
                "x-claude-code-session-id",
                "x-stainless-arch",
                "x-stainless-lang",
                "x-stainless-os",
                "x-stainless-package-version",
                "x-stainless-retry-count",
                "x-stainless-runtime",
                "x-stainless-runtime-version",
                "x-stainless-timeout",
            ]
        );
    }

    #[test]
    fn bearer_requests_keep_the_sdks_order() {
        let config = config(&[]);
        let mut headers = model_call_headers(
            &config,
            &Identity::new_session(),
            &turn(Endpoint::Mantle, &[]),
        );
        headers.push(("host".into(), "127.0.0.1:18080".into()));
        headers.push(("authorization".into(), "Bearer k".into()));
        // golden/f_bearer, seq 5 (minus the transport's own headers).
        assert_eq!(
            names(&wire_order(headers, None)),
            [
                "accept",
                "authorization",
                "content-type",
                "user-agent",
                "x-claude-code-session-id",
                "x-stainless-arch",
                "x-stainless-lang",
                "x-stainless-os",
                "x-stainless-package-version",
                "x-stainless-retry-count",
                "x-stainless-runtime",
                "x-stainless-runtime-version",
                "x-stainless-timeout",
                "anthropic-dangerous-direct-browser-access",
                "anthropic-version",
                "x-app",
                "host",
            ]
        );
    }

    #[test]
    fn probes_carry_no_betas_and_no_tier_but_the_custom_headers() {
        let config = config(&[
            ("ANTHROPIC_BEDROCK_SERVICE_TIER", "flex"),
            ("ANTHROPIC_CUSTOM_HEADERS", "X-Gateway: on"),
        ]);
        let betas = ["b".to_owned()];
        let probe = ModelCall {
            endpoint: Endpoint::Bedrock,
            kind: CallKind::Probe,
            betas: &betas,
            timeout: Duration::from_secs(8),
        };
        let headers = model_call_headers(&config, &Identity::new_session(), &probe);
        assert!(headers.contains(&("x-stainless-timeout".into(), "8".into())));
        assert!(headers.contains(&("x-gateway".into(), "on".into())));
        for absent in [
            "anthropic-beta",
            "anthropic-dangerous-direct-browser-access",
            "x-amzn-bedrock-service-tier",
        ] {
            assert!(!names(&headers).contains(&absent), "{absent}");
        }
        // The tier is a Bedrock header: never on Mantle.
        let headers = model_call_headers(
            &config,
            &Identity::new_session(),
            &turn(Endpoint::Mantle, &[]),
        );
        assert!(!names(&headers).contains(&"x-amzn-bedrock-service-tier"));
        let headers = model_call_headers(
            &config,
            &Identity::new_session(),
            &turn(Endpoint::Bedrock, &[]),
        );
        assert!(headers.contains(&("x-amzn-bedrock-service-tier".into(), "flex".into())));
    }

    #[test]
    fn a_custom_header_replaces_the_clients_own_but_never_host() {
        let config = config(&[(
            "ANTHROPIC_CUSTOM_HEADERS",
            "User-Agent: gateway-client/1\nHost: elsewhere.example\nX-Extra: 1",
        )]);
        let probe = ModelCall {
            endpoint: Endpoint::Bedrock,
            kind: CallKind::Probe,
            betas: &[],
            timeout: Duration::from_secs(8),
        };
        let headers = model_call_headers(&config, &Identity::new_session(), &probe);
        let agents: Vec<_> = headers.iter().filter(|(n, _)| n == "user-agent").collect();
        assert_eq!(
            agents,
            [&("user-agent".to_owned(), "gateway-client/1".to_owned())]
        );
        assert!(!names(&headers).contains(&"host"));
        assert!(headers.contains(&("x-extra".into(), "1".into())));
    }

    #[test]
    fn the_user_agent_is_never_signed() {
        assert!(!is_signed("user-agent"));
        assert!(is_signed("x-stainless-timeout"));
        assert!(is_signed("x-amzn-bedrock-guardrailidentifier"));
    }
}
