//! Request bodies: one [`MessagesRequest`] written the way each endpoint
//! takes it. Invoke bodies never carry `model` or `stream` (the path says
//! both), and carry `anthropic_version: bedrock-2023-05-31` and the betas
//! in `anthropic_beta`; Mantle bodies are the Anthropic API's, with
//! `model` and `stream` and the betas in the header only. Fields go out in
//! the real CLI's order, which differs between probes and turns.
//!
//! Prompt caching follows the caching variables: markers on the system
//! blocks and on the last message's last block, `{"type":"ephemeral"}`,
//! with `"ttl":"1h"` under `ENABLE_PROMPT_CACHING_1H`, none under
//! `DISABLE_PROMPT_CACHING`. Probes carry none.

use bedrock_eventstream::anthropic::RawJson;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::CallKind;
use crate::config::PromptCaching;
use crate::endpoint::Endpoint;
use crate::profile::Requests;

/// How the CLI's first system block (its attribution line, which carries
/// no caching marker) begins.
const BILLING_HEADER_PREFIX: &str = "x-anthropic-billing-header:";

/// The beta a `[1m]` model asks for.
pub const CONTEXT_1M_BETA: &str = "context-1m-2025-08-07";

/// The `anthropic_version` of Invoke bodies.
pub const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// A block of text (system prompt or message content).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextBlock {
    #[serde(rename = "type")]
    kind: &'static str,
    /// The text.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

impl TextBlock {
    /// A text block with no caching marker.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            kind: "text",
            text: text.into(),
            cache_control: None,
        }
    }

    /// Whether it carries a caching marker.
    pub fn is_cached(&self) -> bool {
        self.cache_control.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<&'static str>,
}

/// A message's content: a plain string, or blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// `"content": "text"`.
    Text(String),
    /// `"content": [{"type":"text",…}]`.
    Blocks(Vec<TextBlock>),
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// `user`, `assistant`, or (as the CLI sends its environment block)
    /// `system`.
    pub role: String,
    /// What it says.
    pub content: Content,
}

impl Message {
    /// A user message of plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: "user".to_owned(),
            content: Content::Text(text.into()),
        }
    }

    /// An assistant message of one text block, as the CLI sends an answer
    /// back in a later turn's history.
    pub fn assistant_block(text: impl Into<String>) -> Self {
        Self {
            role: "assistant".to_owned(),
            content: Content::Blocks(vec![TextBlock::new(text)]),
        }
    }

    /// A user message of one text block, as the CLI sends a prompt, with
    /// prompt caching on or off (conformance's `prompt-caching-disabled`).
    pub fn user_block(text: impl Into<String>) -> Self {
        Self {
            role: "user".to_owned(),
            content: Content::Blocks(vec![TextBlock::new(text)]),
        }
    }
}

/// `thinking`, written in the CLI's key order (`type` first for adaptive,
/// `budget_tokens` first for a budget: golden/a_happy, golden/b).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thinking {
    /// `{"type":"adaptive"}`, with `"display":"omitted"` when set.
    Adaptive {
        /// `display`, e.g. `omitted`.
        display: Option<String>,
    },
    /// `{"budget_tokens":N,"type":"enabled"}`.
    Budget {
        /// `budget_tokens`.
        budget_tokens: u32,
    },
}

impl Serialize for Thinking {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Thinking::Adaptive { display } => {
                map.serialize_entry("type", "adaptive")?;
                if let Some(display) = display {
                    map.serialize_entry("display", display)?;
                }
            }
            Thinking::Budget { budget_tokens } => {
                map.serialize_entry("budget_tokens", budget_tokens)?;
                map.serialize_entry("type", "enabled")?;
            }
        }
        map.end()
    }
}

/// What a model call asks for, independent of the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagesRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// The system prompt's blocks.
    pub system: Vec<TextBlock>,
    /// Tool definitions, as the Messages API takes them.
    pub tools: Vec<Value>,
    /// `metadata.user_id`.
    pub user_id: String,
    /// `max_tokens`.
    pub max_tokens: u32,
    /// `thinking`, when the model thinks.
    pub thinking: Option<Thinking>,
    /// `context_management` (Mantle turns only: Invoke does not take it),
    /// kept as its text: sent with its keys in the order written, whatever
    /// serde_json's features.
    pub context_management: Option<RawJson>,
    /// `output_config` (effort).
    pub output_config: Option<Value>,
    /// Betas the `anthropic-beta` header carries.
    pub header_betas: Vec<String>,
    /// Betas an Invoke body's `anthropic_beta` carries; on Mantle they
    /// join the header's.
    pub body_betas: Vec<String>,
}

impl MessagesRequest {
    /// The startup probe: `max_tokens: 1`, one message `"."`, the system
    /// prompt unmarked, no betas.
    pub fn probe(system: Vec<TextBlock>, user_id: String) -> Self {
        Self {
            messages: vec![Message::user(".")],
            system,
            tools: Vec::new(),
            user_id,
            max_tokens: 1,
            thinking: None,
            context_management: None,
            output_config: None,
            header_betas: Vec::new(),
            body_betas: Vec::new(),
        }
    }

    /// Sets the caching markers as `caching` says: on every system block
    /// but an attribution line (`x-anthropic-billing-header: …`), and on
    /// the last message's last block (a plain-text last message is turned
    /// into one block to carry it). With the CLI's system prompt that is
    /// its three markers.
    pub fn mark_for_caching(&mut self, caching: PromptCaching) {
        let marker = match caching {
            PromptCaching::Off => None,
            PromptCaching::Default => Some(CacheControl {
                kind: "ephemeral",
                ttl: None,
            }),
            PromptCaching::OneHour => Some(CacheControl {
                kind: "ephemeral",
                ttl: Some("1h"),
            }),
        };
        for block in &mut self.system {
            // The CLI never marks its attribution block.
            if !block.text.starts_with(BILLING_HEADER_PREFIX) {
                block.cache_control = marker;
            }
        }
        let Some(last) = self.messages.last_mut() else {
            return;
        };
        if let Content::Text(text) = &last.content {
            if marker.is_none() {
                return;
            }
            last.content = Content::Blocks(vec![TextBlock::new(text.clone())]);
        }
        if let Content::Blocks(blocks) = &mut last.content
            && let Some(block) = blocks.last_mut()
        {
            block.cache_control = marker;
        }
    }

    /// Applies the turn limits the CLI reads beyond the seed: a lower
    /// `max_tokens` (a thinking budget follows it, one below), a thinking
    /// budget, no thinking, another effort.
    pub fn limit(&mut self, limits: &crate::config::TurnLimits) {
        if let Some(max) = limits.max_output_tokens {
            self.max_tokens = self.max_tokens.min(max);
        }
        if let Some(Thinking::Budget { budget_tokens }) = &mut self.thinking {
            *budget_tokens = limits
                .max_thinking_tokens
                .unwrap_or(u32::MAX)
                .min(self.max_tokens.saturating_sub(1));
        }
        if limits.thinking_off {
            self.thinking = None;
        }
        if let (Some(effort), Some(_)) = (&limits.effort, &self.output_config) {
            self.output_config = Some(serde_json::json!({ "effort": effort }));
        }
    }

    /// Inserts the CLI's `role: "system"` message (its environment
    /// section) after the conversation's first message. Where that makes
    /// it the last message (a first turn), the caching marker moves to it
    /// from the message before, as the CLI marks the last message; without
    /// a marker its content is plain text (conformance's
    /// `prompt-caching-disabled`, and every turn after the first:
    /// `conversation-two-turns`).
    pub fn insert_system_turn(&mut self, text: impl Into<String>) {
        let at = self.messages.len().min(1);
        let marker = if at == self.messages.len() {
            self.messages.last_mut().and_then(|m| match &mut m.content {
                Content::Blocks(blocks) => blocks.last_mut().and_then(|b| b.cache_control.take()),
                Content::Text(_) => None,
            })
        } else {
            None
        };
        let content = match marker {
            Some(marker) => Content::Blocks(vec![TextBlock {
                cache_control: Some(marker),
                ..TextBlock::new(text)
            }]),
            None => Content::Text(text.into()),
        };
        self.messages.insert(
            at,
            Message {
                role: "system".to_owned(),
                content,
            },
        );
    }

    /// Asks for thinking display updates, as the CLI does when it prints
    /// `stream-json` events: adaptive thinking's `display` (where set)
    /// becomes `updates`, and `beta` goes last in the header's and the
    /// body's lists.
    pub fn ask_for_display_updates(&mut self, beta: &str) {
        let Some(Thinking::Adaptive {
            display: Some(display),
        }) = &mut self.thinking
        else {
            return;
        };
        "updates".clone_into(display);
        self.header_betas.push(beta.to_owned());
        self.body_betas.push(beta.to_owned());
    }

    /// Asks for the 1M-token context window on `endpoint`: the beta goes
    /// first (as the CLI lists it, golden/k_1m_suffix), in the body on
    /// Invoke and in the header on Mantle; once.
    pub fn ask_for_context_1m(&mut self, endpoint: Endpoint) {
        let betas = match endpoint {
            Endpoint::Bedrock => &mut self.body_betas,
            Endpoint::Mantle => &mut self.header_betas,
        };
        if !betas.iter().any(|b| b == CONTEXT_1M_BETA) {
            betas.insert(0, CONTEXT_1M_BETA.to_owned());
        }
    }

    /// The `anthropic-beta` header's values on `endpoint`. On Mantle the
    /// body's betas join the header's, after them: a caller that needs
    /// the CLI's exact Mantle order (which interleaves the two) puts them
    /// all in `header_betas` in that order.
    pub fn header_betas_for(&self, endpoint: Endpoint) -> Vec<String> {
        let mut betas = self.header_betas.clone();
        if endpoint == Endpoint::Mantle {
            for beta in &self.body_betas {
                if !betas.contains(beta) {
                    betas.push(beta.clone());
                }
            }
        }
        betas
    }

    /// The requests Claude Code sends again (2.1.328 and 2.1.332 alike),
    /// in order, after a 400 that no other recovery explains (the
    /// on-demand throughput refusal, a malformed request): in a first round
    /// the original loses, one after another and for good, the
    /// thinking-token-count beta (as `requests` names it), adaptive
    /// thinking's `display` and the `role: "system"` messages; a second
    /// round does the same from the original without the tool-search beta
    /// (and the deferred tools it serves), when it had one. A step whose
    /// part is absent is skipped (conformance's on-demand-400: Sonnet 4.5
    /// is sent twice, Opus 4.7 six times).
    pub fn resends_after_400(&self, requests: &Requests) -> Vec<MessagesRequest> {
        let mut rounds = vec![self.clone()];
        let mut without_tool_search = self.clone();
        if without_tool_search.remove_beta(&requests.tool_search_beta) {
            without_tool_search
                .tools
                .retain(|t| t.get("defer_loading") != Some(&Value::Bool(true)));
            rounds.push(without_tool_search);
        }
        let mut resends = Vec::new();
        for (round, mut request) in rounds.into_iter().enumerate() {
            if round > 0 {
                resends.push(request.clone());
            }
            if request.remove_beta(&requests.thinking_token_count_beta) {
                resends.push(request.clone());
            }
            let display = match &mut request.thinking {
                Some(Thinking::Adaptive { display }) => display.take().is_some(),
                _ => false,
            };
            if request.remove_beta(&requests.display_updates_beta) || display {
                resends.push(request.clone());
            }
            let before = request.messages.len();
            request.messages.retain(|m| m.role != "system");
            if request.messages.len() != before {
                resends.push(request.clone());
            }
        }
        resends
    }

    /// Takes `beta` out of both lists; whether it was in either.
    fn remove_beta(&mut self, beta: &str) -> bool {
        let before = self.header_betas.len() + self.body_betas.len();
        self.header_betas.retain(|b| b != beta);
        self.body_betas.retain(|b| b != beta);
        self.header_betas.len() + self.body_betas.len() != before
    }

    /// The body for `endpoint`: `model` and `stream` go into Mantle bodies
    /// only.
    pub fn to_body(
        &self,
        endpoint: Endpoint,
        kind: CallKind,
        model: &str,
        stream: bool,
    ) -> Vec<u8> {
        let wire = Wire {
            request: self,
            endpoint,
            kind,
            model,
            stream,
        };
        serde_json::to_vec(&wire).expect("a request body always serialises")
    }
}

#[derive(Serialize)]
struct Metadata<'a> {
    user_id: &'a str,
}

/// A request written for one endpoint and call kind, fields in the CLI's
/// order.
struct Wire<'a> {
    request: &'a MessagesRequest,
    endpoint: Endpoint,
    kind: CallKind,
    model: &'a str,
    stream: bool,
}

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.request;
        let mantle = self.endpoint == Endpoint::Mantle;
        let metadata = Metadata {
            user_id: &r.user_id,
        };
        let mut map = serializer.serialize_map(None)?;
        if mantle {
            map.serialize_entry("model", self.model)?;
        }
        match self.kind {
            CallKind::Probe => {
                map.serialize_entry("max_tokens", &r.max_tokens)?;
                map.serialize_entry("messages", &r.messages)?;
                map.serialize_entry("system", &r.system)?;
                map.serialize_entry("metadata", &metadata)?;
            }
            CallKind::Turn => {
                map.serialize_entry("messages", &r.messages)?;
                if !r.system.is_empty() {
                    map.serialize_entry("system", &r.system)?;
                }
                if !r.tools.is_empty() {
                    map.serialize_entry("tools", &r.tools)?;
                }
                map.serialize_entry("metadata", &metadata)?;
                map.serialize_entry("max_tokens", &r.max_tokens)?;
                if let Some(thinking) = &r.thinking {
                    map.serialize_entry("thinking", thinking)?;
                }
                if mantle {
                    if let Some(context) = &r.context_management {
                        map.serialize_entry("context_management", context)?;
                    }
                } else if !r.body_betas.is_empty() {
                    map.serialize_entry("anthropic_beta", &r.body_betas)?;
                }
                if let Some(output) = &r.output_config {
                    map.serialize_entry("output_config", output)?;
                }
            }
        }
        if mantle {
            if self.kind == CallKind::Turn {
                map.serialize_entry("stream", &self.stream)?;
            }
        } else {
            map.serialize_entry("anthropic_version", BEDROCK_ANTHROPIC_VERSION)?;
        }
        map.end()
    }
}

/// What a turn's resends after a 400 took away from its request: the
/// session leaves it out of every later turn too, as the CLI does
/// (conformance's `conversation-two-turns`: the second turn goes out as
/// the first turn's last resend did, with no 400 before it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    betas: Vec<String>,
    display: bool,
    system_turn: bool,
    deferred_tools: bool,
}

impl Dropped {
    /// What `sent` (the last request a turn sent) lacks of `original`.
    pub fn between(original: &MessagesRequest, sent: &MessagesRequest) -> Self {
        let kept =
            |beta: &String| sent.header_betas.contains(beta) || sent.body_betas.contains(beta);
        let display_of = |r: &MessagesRequest| {
            matches!(&r.thinking, Some(Thinking::Adaptive { display: Some(_) }))
        };
        let system_turns = |r: &MessagesRequest| r.messages.iter().any(|m| m.role == "system");
        Self {
            betas: original
                .header_betas
                .iter()
                .chain(&original.body_betas)
                .filter(|b| !kept(b))
                .cloned()
                .collect(),
            display: display_of(original) && !display_of(sent),
            system_turn: system_turns(original) && !system_turns(sent),
            deferred_tools: original.tools.len() > sent.tools.len(),
        }
    }

    /// Adds what `later` dropped.
    pub fn add(&mut self, later: Dropped) {
        for beta in later.betas {
            if !self.betas.contains(&beta) {
                self.betas.push(beta);
            }
        }
        self.display |= later.display;
        self.system_turn |= later.system_turn;
        self.deferred_tools |= later.deferred_tools;
    }

    /// Leaves out of `request` what was dropped.
    pub fn apply(&self, request: &mut MessagesRequest) {
        for beta in &self.betas {
            request.remove_beta(beta);
        }
        if self.display
            && let Some(Thinking::Adaptive { display }) = &mut request.thinking
        {
            *display = None;
        }
        if self.system_turn {
            request.messages.retain(|m| m.role != "system");
        }
        if self.deferred_tools {
            request
                .tools
                .retain(|t| t.get("defer_loading") != Some(&Value::Bool(true)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const USER_ID: &str = r#"{"device_id":"d","account_uuid":"","session_id":"s"}"#;

    #[test]
    fn limits_lower_max_tokens_set_the_budget_and_turn_thinking_off() {
        let limits = |max_output_tokens, max_thinking_tokens| crate::config::TurnLimits {
            max_output_tokens,
            max_thinking_tokens,
            ..Default::default()
        };
        let mut budget = turn();
        budget.thinking = Some(Thinking::Budget {
            budget_tokens: 31999,
        });
        // The CLI with --model sonnet: the budget follows max_tokens, or
        // takes MAX_THINKING_TOKENS; a higher CLAUDE_CODE_MAX_OUTPUT_TOKENS
        // leaves the model's max_tokens.
        for (max_output, max_thinking, want) in [
            (Some(4096), None, (4096, 4095)),
            (None, Some(2048), (32000, 2048)),
            (Some(200_000), None, (32000, 31999)),
        ] {
            let mut request = budget.clone();
            request.limit(&limits(max_output, max_thinking));
            let Some(Thinking::Budget { budget_tokens }) = request.thinking else {
                panic!("budget thinking kept");
            };
            assert_eq!((request.max_tokens, budget_tokens), want);
        }
        let mut adaptive = turn();
        adaptive.output_config = Some(json!({"effort": "medium"}));
        adaptive.limit(&crate::config::TurnLimits {
            thinking_off: true,
            effort: Some("low".into()),
            ..Default::default()
        });
        assert_eq!(adaptive.thinking, None);
        assert_eq!(adaptive.output_config, Some(json!({"effort": "low"})));
    }

    fn turn() -> MessagesRequest {
        MessagesRequest {
            messages: vec![Message::user("say hi")],
            system: vec![TextBlock::new("one"), TextBlock::new("two")],
            tools: vec![
                json!({"name": "Read", "input_schema": {"type": "object"}}),
                json!({"name": "Later", "input_schema": {"type": "object"}, "defer_loading": true}),
            ],
            user_id: USER_ID.to_owned(),
            max_tokens: 32000,
            thinking: Some(Thinking::Adaptive {
                display: Some("omitted".into()),
            }),
            context_management: Some(RawJson::from_text(r#"{"edits": []}"#).unwrap()),
            output_config: Some(json!({"effort": "medium"})),
            header_betas: vec!["claude-code-20250219".into()],
            body_betas: vec!["interleaved-thinking-2025-05-14".into()],
        }
    }

    fn keys(body: &[u8]) -> Vec<String> {
        // Key order as written: parse the top level by hand.
        let text = std::str::from_utf8(body).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        let mut keys: Vec<(usize, String)> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (text.find(&format!("\"{k}\":")).unwrap(), k.clone()))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    #[test]
    fn the_invoke_probe_is_byte_for_byte_the_clis_shape() {
        let probe = MessagesRequest::probe(vec![TextBlock::new("sys")], USER_ID.to_owned());
        let body = probe.to_body(Endpoint::Bedrock, CallKind::Probe, "ignored", false);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"max_tokens":1,"messages":[{"role":"user","content":"."}],"system":[{"type":"text","text":"sys"}],"metadata":{"user_id":"{\"device_id\":\"d\",\"account_uuid\":\"\",\"session_id\":\"s\"}"},"anthropic_version":"bedrock-2023-05-31"}"#
        );
        let body = probe.to_body(
            Endpoint::Mantle,
            CallKind::Probe,
            "anthropic.claude-opus-5-5",
            false,
        );
        assert_eq!(
            keys(&body),
            ["model", "max_tokens", "messages", "system", "metadata"]
        );
    }

    #[test]
    fn turns_follow_the_clis_field_order_per_endpoint() {
        let request = turn();
        // golden/a_happy seq 5 and golden/m_mantle_only seq 2.
        assert_eq!(
            keys(&request.to_body(Endpoint::Bedrock, CallKind::Turn, "m", true)),
            [
                "messages",
                "system",
                "tools",
                "metadata",
                "max_tokens",
                "thinking",
                "anthropic_beta",
                "output_config",
                "anthropic_version"
            ]
        );
        let mantle = request.to_body(
            Endpoint::Mantle,
            CallKind::Turn,
            "anthropic.claude-opus-5-5",
            true,
        );
        assert_eq!(
            keys(&mantle),
            [
                "model",
                "messages",
                "system",
                "tools",
                "metadata",
                "max_tokens",
                "thinking",
                "context_management",
                "output_config",
                "stream"
            ]
        );
        let value: Value = serde_json::from_slice(&mantle).unwrap();
        assert_eq!(value["stream"], true);
        assert_eq!(
            request.header_betas_for(Endpoint::Mantle),
            ["claude-code-20250219", "interleaved-thinking-2025-05-14"]
        );
        assert_eq!(
            request.header_betas_for(Endpoint::Bedrock),
            ["claude-code-20250219"]
        );
    }

    #[test]
    fn caching_markers_follow_the_variables() {
        let markers = |caching| {
            let mut request = turn();
            request.mark_for_caching(caching);
            let body: Value = serde_json::from_slice(&request.to_body(
                Endpoint::Bedrock,
                CallKind::Turn,
                "m",
                true,
            ))
            .unwrap();
            let mut found = Vec::new();
            for block in body["system"].as_array().unwrap() {
                found.push(block["cache_control"].clone());
            }
            found.push(body["messages"][0]["content"][0]["cache_control"].clone());
            found
        };
        assert_eq!(
            markers(PromptCaching::Default),
            vec![json!({"type": "ephemeral"}); 3]
        );
        assert_eq!(
            markers(PromptCaching::OneHour),
            vec![json!({"type": "ephemeral", "ttl": "1h"}); 3]
        );
        assert_eq!(markers(PromptCaching::Off), vec![Value::Null; 3]);
        // The CLI's attribution block stays unmarked (golden/a_happy: three
        // markers for three system blocks and a message).
        let mut request = turn();
        request.system.insert(
            0,
            TextBlock::new(
                "x-anthropic-billing-header: cc_version=2.1.328; cc_entrypoint=sdk-cli;",
            ),
        );
        request.mark_for_caching(PromptCaching::Default);
        let marked: Vec<bool> = request.system.iter().map(TextBlock::is_cached).collect();
        assert_eq!(marked, [false, true, true]);
        let mut request = turn();
        request.mark_for_caching(PromptCaching::Off);
        assert_eq!(
            request.messages[0].content,
            Content::Text("say hi".into()),
            "no marker, no change of shape"
        );
    }

    #[test]
    fn resends_after_a_400_go_in_the_clis_two_rounds() {
        let requests = crate::profile::newest().requests;
        let mut request = turn();
        request.header_betas = vec![
            "claude-code-20250219".into(),
            requests.thinking_token_count_beta.clone(),
        ];
        request.body_betas = vec![
            "interleaved-thinking-2025-05-14".into(),
            requests.tool_search_beta.clone(),
            requests.thinking_token_count_beta.clone(),
        ];
        request.messages.insert(
            0,
            Message {
                role: "system".into(),
                content: Content::Text("env".into()),
            },
        );
        let shown = |r: &MessagesRequest| {
            (
                r.body_betas.join(","),
                r.header_betas.join(","),
                r.thinking.clone(),
                r.messages.len(),
                r.tools.len(),
            )
        };
        let omitted = Some(Thinking::Adaptive {
            display: Some("omitted".into()),
        });
        let plain = Some(Thinking::Adaptive { display: None });
        let resends: Vec<_> = request
            .resends_after_400(&requests)
            .iter()
            .map(shown)
            .collect();
        let both = "claude-code-20250219";
        assert_eq!(
            resends,
            [
                (
                    "interleaved-thinking-2025-05-14,tool-search-tool-2025-10-19".into(),
                    both.into(),
                    omitted.clone(),
                    2,
                    2
                ),
                (
                    "interleaved-thinking-2025-05-14,tool-search-tool-2025-10-19".into(),
                    both.into(),
                    plain.clone(),
                    2,
                    2
                ),
                (
                    "interleaved-thinking-2025-05-14,tool-search-tool-2025-10-19".into(),
                    both.into(),
                    plain.clone(),
                    1,
                    2
                ),
                (
                    "interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13".into(),
                    "claude-code-20250219,thinking-token-count-2026-05-13".into(),
                    omitted.clone(),
                    2,
                    1
                ),
                (
                    "interleaved-thinking-2025-05-14".into(),
                    both.into(),
                    omitted,
                    2,
                    1
                ),
                (
                    "interleaved-thinking-2025-05-14".into(),
                    both.into(),
                    plain.clone(),
                    2,
                    1
                ),
                (
                    "interleaved-thinking-2025-05-14".into(),
                    both.into(),
                    plain,
                    1,
                    1
                ),
            ]
        );
        // A model that thinks on a budget, without the tool-search beta:
        // nothing to drop, nothing sent again.
        let mut budget = turn();
        budget.thinking = Some(Thinking::Budget {
            budget_tokens: 31999,
        });
        assert!(
            budget
                .resends_after_400(&crate::profile::newest().requests)
                .is_empty()
        );
        let budget = serde_json::to_string(&Thinking::Budget {
            budget_tokens: 31999,
        })
        .unwrap();
        assert_eq!(budget, r#"{"budget_tokens":31999,"type":"enabled"}"#);
    }
}
