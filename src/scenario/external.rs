//! A scenario's account served to a client outside this process
//! (`bedrock-harness serve --scenario`): its times moved to the present,
//! and the environment lines that give that client the scenario's
//! configuration.

use std::time::SystemTime;

use bedrock_mock_server::{ServerConfig, Timestamp};

use super::format::Scenario;
use super::run::{default_start, mock_endpoints, scenario_client_basics};

/// The scenario's server state with every time moved by the distance
/// from the scenario's clock start to `now`: a real client signs with the
/// real time, so a credential that expired an hour before the scenario
/// starts has expired an hour ago.
pub fn server_at(scenario: &Scenario, now: SystemTime) -> ServerConfig {
    let start = scenario.clock.start.map_or_else(default_start, |t| t.0);
    let shift = |t: &mut Option<Timestamp>| {
        if let Some(Timestamp(time)) = t {
            *time = match now.duration_since(start) {
                Ok(ahead) => time.checked_add(ahead),
                Err(behind) => time.checked_sub(behind.duration()),
            }
            .unwrap_or(*time);
        }
    };
    let mut config = scenario.server.clone();
    for credential in config
        .credentials
        .iter_mut()
        .chain(config.next_credentials.iter_mut())
    {
        shift(&mut credential.expires_at);
        shift(&mut credential.revoked_at);
    }
    for key in config
        .api_keys
        .iter_mut()
        .chain(config.sso_tokens.iter_mut())
    {
        shift(&mut key.expires_at);
    }
    config
}

/// `NAME=value` lines that point a client at `uri` and give it the
/// scenario's environment: the endpoints, the shorthand credentials, the
/// scenario's `client.env` and its settings files' `env` blocks (which
/// the real CLI would read from its settings), `{mock}` filled in.
pub fn client_env_lines(scenario: &Scenario, uri: &str) -> Vec<String> {
    // `${HOME}` stays for the shell to expand (`serve` double-quotes it).
    let fill = |text: &str| text.replace("{mock}", uri).replace("{home}", "${HOME}");
    let mut lines: Vec<String> = mock_endpoints(uri)
        .into_iter()
        .chain(scenario_client_basics(scenario))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let from_settings = scenario.client.settings.env();
    for (name, value) in from_settings.chain(scenario.client.env.clone()) {
        let line = format!("{name}={}", fill(&value));
        lines.retain(|l| !l.starts_with(&format!("{name}=")));
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_mock_server::EXAMPLE_API_KEY;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn times_move_with_the_clock_and_env_lines_carry_the_scenario() {
        let scenario = super::super::load::parse(
            Path::new("x.toml"),
            r#"
schema = 1
name = "x"
description = "d"
source = "s"
[client]
credentials = "api-key"
env = { CLAUDE_CODE_USE_BEDROCK = "1", ANTHROPIC_BEDROCK_MANTLE_BASE_URL = "{mock}/custom" }
settings.user = { env = { AWS_REGION = "eu-west-1" } }
[clock]
start = "2026-11-25T12:00:00Z"
[[server.credentials]]
access_key_id = "ASIAOLD"
secret_access_key = "old-secret-key"
session_token = "old-session-token"
expires_at = "2026-11-25T11:00:00Z"
[expect]
exit = 0
"#,
        )
        .unwrap();
        let start = scenario.clock.start.unwrap().0;
        let now = start + Duration::from_secs(86_400);
        let config = server_at(&scenario, now);
        assert_eq!(
            config.credentials[0].expires_at.unwrap().0,
            now - Duration::from_secs(3600)
        );
        let lines = client_env_lines(&scenario, "http://127.0.0.1:9");
        assert!(
            lines.contains(
                &"ANTHROPIC_BEDROCK_MANTLE_BASE_URL=http://127.0.0.1:9/custom".to_owned()
            ),
            "{lines:?}"
        );
        assert!(lines.contains(&"AWS_REGION=eu-west-1".to_owned()));
        assert!(lines.contains(&format!("AWS_BEARER_TOKEN_BEDROCK={EXAMPLE_API_KEY}")));
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("ANTHROPIC_BEDROCK_MANTLE_BASE_URL="))
                .count(),
            1
        );
    }
}
