//! The request shape a model takes, from its catalogue entry: `max_tokens`,
//! `thinking`, `output_config.effort`, the betas per endpoint, and Mantle's
//! `context_management`. A model the catalogue does not know (an unknown
//! id) gets the plain shape: no thinking, the CLI's own beta only.

use bedrock_eventstream::anthropic::RawJson;

use super::{MessagesRequest, Thinking};
use crate::catalogue::{Catalogue, Model, ThinkingKind};
use crate::endpoint::Endpoint;
use crate::profile::Requests;

/// Shapes `request` (the prompt, system and caching already set) for a
/// turn on `model` at `endpoint`, from `catalogue`'s shapes (a model it
/// does not know gets `requests`' defaults); `one_million` adds the
/// 1M-context beta first, as the CLI lists it, unless the model's own
/// window is 1M.
pub fn turn_request(
    mut request: MessagesRequest,
    catalogue: &Catalogue,
    requests: &Requests,
    model: Option<&Model>,
    endpoint: Endpoint,
    one_million: bool,
) -> MessagesRequest {
    match model {
        Some(model) => {
            let shape = catalogue.shape(model);
            request.max_tokens = model.max_tokens;
            request.thinking = shape.thinking.map(|kind| match kind {
                ThinkingKind::Adaptive => Thinking::Adaptive {
                    display: shape.display.clone(),
                },
                ThinkingKind::Budget => Thinking::Budget {
                    budget_tokens: model.max_tokens.saturating_sub(1),
                },
            });
            request.output_config = model
                .effort
                .as_ref()
                .map(|effort| serde_json::json!({ "effort": effort }));
            if model.system_turn {
                request.insert_system_turn(format!(
                    "# Environment\nYou are powered by the model named {}.",
                    model.display
                ));
            }
            match endpoint {
                Endpoint::Bedrock => {
                    request.header_betas = shape.header_betas.clone();
                    request.body_betas = shape.body_betas.clone();
                }
                Endpoint::Mantle => {
                    request.header_betas = shape.mantle_betas.clone();
                    request.body_betas = Vec::new();
                }
            }
        }
        None => {
            request.max_tokens = requests.default_max_tokens;
            request.thinking = None;
            request.output_config = None;
            request.header_betas = vec![requests.claude_code_beta.clone()];
            request.body_betas = Vec::new();
        }
    }
    // Text, so the keys go out in the CLI's order whatever serde_json's
    // features (a `Value` sorts them without `preserve_order`).
    request.context_management = (endpoint == Endpoint::Mantle && request.thinking.is_some())
        .then(|| RawJson::from_text(CLEAR_THINKING).expect("CLEAR_THINKING is JSON"));
    if one_million && !model.is_some_and(|m| m.native_1m) {
        request.ask_for_context_1m(endpoint);
    }
    request
}

/// The `context_management` of a Mantle turn that thinks, as the CLI
/// writes it.
const CLEAR_THINKING: &str = r#"{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}"#;

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::request::{CallKind, Message};

    fn base() -> MessagesRequest {
        let mut request = MessagesRequest::probe(Vec::new(), "u".into());
        request.messages = vec![Message::user("hi")];
        request
    }

    fn body(
        catalogue: &Catalogue,
        name: &str,
        endpoint: Endpoint,
        one_million: bool,
    ) -> (Value, Vec<String>) {
        let model = catalogue.find(name);
        let requests = crate::profile::newest().requests;
        let request = turn_request(base(), catalogue, &requests, model, endpoint, one_million);
        let body = request.to_body(endpoint, CallKind::Turn, name, true);
        (
            serde_json::from_slice(&body).unwrap(),
            request.header_betas_for(endpoint),
        )
    }

    /// The bytes, not just the value: `type` before `keep`, as the CLI
    /// writes them, in a build without serde_json's `preserve_order`
    /// (`cargo test -p bedrock-client`) as in one with it.
    #[test]
    fn context_management_goes_out_in_the_clis_key_order() {
        let catalogue = crate::profile::newest().catalogue;
        let name = "anthropic.claude-opus-5-5";
        let requests = crate::profile::newest().requests;
        let request = turn_request(
            base(),
            &catalogue,
            &requests,
            catalogue.find(name),
            Endpoint::Mantle,
            false,
        );
        let body = String::from_utf8(request.to_body(Endpoint::Mantle, CallKind::Turn, name, true))
            .unwrap();
        assert!(
            body.contains(
                r#""context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},"#
            ),
            "{body}"
        );
    }

    #[test]
    fn recorded_models_get_the_clis_shapes() {
        let catalogue = crate::profile::newest().catalogue;
        // golden/a_happy seq 5.
        let (opus, header) = body(
            &catalogue,
            "us.anthropic.claude-opus-5-5",
            Endpoint::Bedrock,
            false,
        );
        assert_eq!(opus["max_tokens"], 128000);
        assert_eq!(
            opus["thinking"],
            serde_json::json!({"type": "adaptive", "display": "omitted"})
        );
        assert_eq!(
            opus["output_config"],
            serde_json::json!({"effort": "medium"})
        );
        assert_eq!(
            opus["anthropic_beta"],
            serde_json::json!([
                "interleaved-thinking-2025-05-14",
                "tool-search-tool-2025-10-19",
                "thinking-token-count-2026-05-13"
            ])
        );
        assert_eq!(
            header.join(","),
            "claude-code-20250219,thinking-token-count-2026-05-13,effort-2025-11-24"
        );
        // golden/b_tiers_pinned: Opus 4.5 thinks on a budget, no effort.
        let (opus45, header) = body(
            &catalogue,
            "us.anthropic.claude-opus-4-5-20251101-v1:0",
            Endpoint::Bedrock,
            false,
        );
        assert_eq!(
            opus45["thinking"],
            serde_json::json!({"budget_tokens": 31999, "type": "enabled"})
        );
        assert!(opus45.get("output_config").is_none());
        assert_eq!(header, ["claude-code-20250219"]);
        // golden/k_1m_suffix.
        let (sonnet, header) = body(
            &catalogue,
            "us.anthropic.claude-sonnet-4-6",
            Endpoint::Bedrock,
            true,
        );
        assert_eq!(sonnet["anthropic_beta"][0], "context-1m-2025-08-07");
        assert_eq!(sonnet["thinking"], serde_json::json!({"type": "adaptive"}));
        assert_eq!(header.join(","), "claude-code-20250219,effort-2025-11-24");
        // Opus 4.7's window is 1M of its own: `[1m]` sends no beta (the CLI
        // 2.1.332, scenarios/customers/model-picker-non-bedrock-id).
        let (opus47, _) = body(
            &catalogue,
            "global.anthropic.claude-opus-4-7",
            Endpoint::Bedrock,
            true,
        );
        let betas = opus47["anthropic_beta"].as_array().expect("betas");
        assert!(
            !betas.iter().any(|b| b == "context-1m-2025-08-07"),
            "{betas:?}"
        );
        // golden/m_mantle_only and golden/o (Haiku on Mantle).
        let (mantle, header) = body(
            &catalogue,
            "anthropic.claude-opus-5-5",
            Endpoint::Mantle,
            false,
        );
        assert_eq!(
            header.join(","),
            "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,thinking-token-count-2026-05-13,tool-search-tool-2025-10-19,effort-2025-11-24"
        );
        assert_eq!(
            mantle["context_management"],
            serde_json::json!({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]})
        );
        assert!(mantle.get("anthropic_beta").is_none());
        let (_, header) = body(
            &catalogue,
            "anthropic.claude-haiku-4-5",
            Endpoint::Mantle,
            false,
        );
        assert_eq!(
            header.join(","),
            "interleaved-thinking-2025-05-14,context-management-2025-06-27,claude-code-20250219,tool-search-tool-2025-10-19"
        );
        // conformance/golden/claude-code: the ladders' models.
        let (opus47, _) = body(
            &catalogue,
            "us.anthropic.claude-opus-4-7",
            Endpoint::Bedrock,
            false,
        );
        assert_eq!(
            opus47["output_config"],
            serde_json::json!({"effort": "xhigh"})
        );
        assert_eq!(opus47["thinking"]["display"], "omitted");
        let (haiku, header) = body(
            &catalogue,
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            Endpoint::Bedrock,
            false,
        );
        assert_eq!(
            haiku["anthropic_beta"],
            serde_json::json!(["tool-search-tool-2025-10-19"])
        );
        assert_eq!(haiku["thinking"]["budget_tokens"], 31999);
        assert_eq!(header, ["claude-code-20250219"]);
        let (sonnet37, header) = body(
            &catalogue,
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            Endpoint::Bedrock,
            false,
        );
        assert!(sonnet37.get("thinking").is_none());
        assert_eq!(
            sonnet37["anthropic_beta"],
            serde_json::json!(["claude-code-20250219"])
        );
        assert_eq!(header, ["claude-code-20250219"]);
    }

    #[test]
    fn unknown_models_get_the_plain_shape() {
        let catalogue = crate::profile::newest().catalogue;
        let (plain, header) = body(
            &catalogue,
            "us.anthropic.claude-future-9",
            Endpoint::Bedrock,
            false,
        );
        assert_eq!(plain["max_tokens"], 32000);
        assert!(plain.get("thinking").is_none() && plain.get("anthropic_beta").is_none());
        assert_eq!(header, ["claude-code-20250219"]);
    }
}
