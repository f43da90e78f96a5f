//! A scenario served to a client outside this process (`bedrock-harness
//! serve --scenario`, its times moved to the present with
//! `timeshift::scenario_at`): the environment lines that give that
//! client the scenario's configuration.

use super::format::Scenario;
use super::setup::{mock_endpoints, scenario_client_basics};

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
    use crate::scenario::timeshift::scenario_at;
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
        let (moved, _, _) = scenario_at(&scenario, now).unwrap();
        assert_eq!(
            moved.server.credentials[0].expires_at.unwrap().0,
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
