//! Wire types for `POST /v1/messages`, request and response.
//!
//! Optional request fields are `Option`s skipped when `None`, so only what the user set is sent.
//! Content blocks the client does not understand are kept verbatim (`ContentBlock::Unknown`) so a
//! conversation can be sent back exactly as it was received. `stop_reason` is an open string.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One content block of a message, in a request or a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        citations: Option<Vec<Value>>,
        /// A prompt-cache breakpoint, only ever in a request ([`crate::app::cache`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
        /// Every other field it arrived with (`caller`, future ones), sent back as received.
        #[serde(flatten)]
        extra: serde_json::Map<String, Value>,
    },
    /// A file the user attached, by reference to its bytes in the store; never sent as is
    /// (the request is resolved into `image` and `document` blocks first, [`crate::attach`]).
    #[serde(rename = "tern_attachment")]
    Attachment(crate::attach::Attachment),
    /// Any other block (tool results, server tools, future types), kept exactly as received.
    #[serde(untagged)]
    Unknown(Value),
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text {
            text: text.into(),
            citations: None,
            cache_control: None,
        }
    }

    /// The block's `type` name as it appears on the wire.
    pub fn kind(&self) -> &str {
        match self {
            ContentBlock::Text { .. } => "text",
            ContentBlock::Thinking { .. } => "thinking",
            ContentBlock::RedactedThinking { .. } => "redacted_thinking",
            ContentBlock::ToolUse { .. } => "tool_use",
            ContentBlock::Attachment(_) => "tern_attachment",
            ContentBlock::Unknown(v) => v.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }
}

/// The `text` of the text blocks (what a person reads as "the reply"), a new paragraph where
/// another kind of block (not thinking) came between two.
pub fn plain_text(blocks: &[ContentBlock]) -> String {
    let mut out = String::new();
    let mut after_other = false;
    for block in blocks {
        match block {
            ContentBlock::Text { text, .. } => {
                if std::mem::take(&mut after_other) && !out.is_empty() {
                    out.push_str(TEXT_AFTER_OTHER_BLOCK);
                }
                out.push_str(text);
            }
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {}
            _ => after_other = true,
        }
    }
    out
}

/// What separates text that follows another kind of block (a tool call, a search) from the
/// text before it: a new paragraph. Consecutive text blocks (a cited answer comes as many,
/// split mid-sentence) join as they are.
pub const TEXT_AFTER_OTHER_BLOCK: &str = "\n\n";

/// `content` of a request message: a bare string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// One turn sent in `messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMessage {
    pub role: Role,
    pub content: MessageContent,
}

impl RequestMessage {
    pub fn user(text: impl Into<String>) -> Self {
        RequestMessage {
            role: Role::User,
            content: MessageContent::Text(text.into()),
        }
    }
    pub fn assistant_blocks(blocks: Vec<ContentBlock>) -> Self {
        RequestMessage {
            role: Role::Assistant,
            content: MessageContent::Blocks(blocks),
        }
    }
}

/// `system`: a string or an array of text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    Text(String),
    Blocks(Vec<Value>),
}

impl SystemPrompt {
    /// The prompt's text (its text blocks joined), `None` when it has none.
    pub fn text(&self) -> Option<String> {
        let text = match self {
            SystemPrompt::Text(text) => text.clone(),
            SystemPrompt::Blocks(blocks) => blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect(),
        };
        (!text.is_empty()).then_some(text)
    }
}

/// The body of `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<RequestMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// An object (`{"type":"auto"}`) or, for gateways that accept it, a bare string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// `"auto"` or `"standard_only"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields for gateways (config `extra_body`), written into the body's top level. Keys that
    /// name a field above are removed when the configuration is read, so the typed field wins
    /// and no key is sent twice.
    #[serde(flatten, default)]
    pub extra: serde_json::Map<String, Value>,
}

impl MessagesRequest {
    /// The top-level body fields tern sets itself; `extra_body` cannot replace them.
    pub const FIELDS: [&'static str; 16] = [
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stream",
        "tools",
        "tool_choice",
        "metadata",
        "stop_sequences",
        "thinking",
        "output_config",
        "service_tier",
        "cache_control",
    ];
}

/// `thinking`: a budget (`enabled`), the model's own choice (`adaptive`), or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingParam {
    Enabled { budget_tokens: u32 },
    Adaptive,
    Disabled,
}

/// `output_config`: for now only `effort` (`low`, `medium`, `high`, `max`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OutputConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
}

/// Token counts. Counters the server omitted stay `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// The cache writes split by lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
    /// Server tools the reply used (web search, web fetch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUse>,
    /// The tier that served the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
}

/// `usage.cache_creation`: tokens written to the cache, by how long they stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CacheCreation {
    #[serde(default)]
    pub ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    pub ephemeral_1h_input_tokens: u64,
}

/// `usage.server_tool_use`: how many server-tool requests the reply made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerToolUse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fetch_requests: Option<u64>,
}

/// `usage.service_tier`; a tier this version does not know reads as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    Standard,
    Priority,
    Batch,
    #[serde(other)]
    Other,
}

impl Usage {
    /// Two requests' usage together (a reply and its continuation): every count summed; the
    /// tier is the later one's.
    pub fn plus(self, later: Usage) -> Usage {
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        let cache_creation = match (self.cache_creation, later.cache_creation) {
            (None, None) => None,
            (a, b) => {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                Some(CacheCreation {
                    ephemeral_5m_input_tokens: a.ephemeral_5m_input_tokens
                        + b.ephemeral_5m_input_tokens,
                    ephemeral_1h_input_tokens: a.ephemeral_1h_input_tokens
                        + b.ephemeral_1h_input_tokens,
                })
            }
        };
        let server_tool_use = match (self.server_tool_use, later.server_tool_use) {
            (None, None) => None,
            (a, b) => {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                Some(ServerToolUse {
                    web_search_requests: sum(a.web_search_requests, b.web_search_requests),
                    web_fetch_requests: sum(a.web_fetch_requests, b.web_fetch_requests),
                })
            }
        };
        Usage {
            input_tokens: self.input_tokens + later.input_tokens,
            output_tokens: self.output_tokens + later.output_tokens,
            cache_creation_input_tokens: sum(
                self.cache_creation_input_tokens,
                later.cache_creation_input_tokens,
            ),
            cache_read_input_tokens: sum(
                self.cache_read_input_tokens,
                later.cache_read_input_tokens,
            ),
            cache_creation,
            server_tool_use,
            service_tier: later.service_tier.or(self.service_tier),
        }
    }

    /// All input tokens the request consumed, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens
            + self.cache_creation_input_tokens.unwrap_or(0)
            + self.cache_read_input_tokens.unwrap_or(0)
    }
}

/// A complete response message (non-stream body, or the accumulated stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Message {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    #[serde(default = "assistant_role")]
    pub role: Role,
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Why the reply stopped, in detail (a refusal's category and explanation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_details: Option<Value>,
    /// The code-execution container the reply ran in (its id and expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Value>,
    #[serde(default)]
    pub usage: Usage,
}

fn message_type() -> String {
    "message".to_owned()
}

fn assistant_role() -> Role {
    Role::Assistant
}

impl Message {
    pub fn text(&self) -> String {
        plain_text(&self.content)
    }
}

/// One entry of `GET /v1/models` (Anthropic or OpenAI shaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub max_input_tokens: Option<u64>,
    /// The largest `max_tokens` the model takes.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// What the model supports (`thinking.types.adaptive.supported`, `effort.max.supported`…),
    /// kept as sent: endpoints that list it give many more keys than tern reads.
    #[serde(default)]
    pub capabilities: Option<Value>,
}

impl ModelInfo {
    fn supported(&self, path: &[&str]) -> Option<bool> {
        let mut at = self.capabilities.as_ref()?;
        for key in path {
            at = at.get(key)?;
        }
        at.get("supported")?.as_bool()
    }

    /// Whether the model takes `thinking: {"type":"adaptive"}`, if the endpoint says.
    pub fn adaptive_thinking(&self) -> Option<bool> {
        self.supported(&["thinking", "types", "adaptive"])
    }

    /// Whether the model takes `thinking: {"type":"enabled", "budget_tokens": N}`, if said.
    pub fn budget_thinking(&self) -> Option<bool> {
        self.supported(&["thinking", "types", "enabled"])
    }

    /// Whether the model takes `output_config.effort` at `level`, if the endpoint says.
    pub fn effort(&self, level: &str) -> Option<bool> {
        match self.supported(&["effort"])? {
            false => Some(false),
            true => self.supported(&["effort", level]).or(Some(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_omits_unset_fields() {
        let req = MessagesRequest {
            model: "m".into(),
            messages: vec![RequestMessage::user("hi")],
            max_tokens: 10,
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":10})
        );
    }

    #[test]
    fn request_fields_and_extra_serialize() {
        let mut extra = serde_json::Map::new();
        extra.insert("provider".into(), json!({"order": ["a"]}));
        let req = MessagesRequest {
            model: "m".into(),
            max_tokens: 2048,
            top_k: Some(5),
            stop_sequences: Some(vec!["###".into()]),
            thinking: Some(ThinkingParam::Enabled {
                budget_tokens: 1024,
            }),
            output_config: Some(OutputConfig {
                effort: Some("low".into()),
            }),
            service_tier: Some("standard_only".into()),
            metadata: Some(json!({"user_id": "u"})),
            extra,
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["top_k"], 5);
        assert_eq!(v["stop_sequences"], json!(["###"]));
        assert_eq!(
            v["thinking"],
            json!({"type":"enabled","budget_tokens":1024})
        );
        assert_eq!(v["output_config"], json!({"effort":"low"}));
        assert_eq!(v["service_tier"], "standard_only");
        assert_eq!(v["metadata"], json!({"user_id":"u"}));
        assert_eq!(v["provider"], json!({"order":["a"]}));
        assert_eq!(
            serde_json::to_value(ThinkingParam::Adaptive).unwrap(),
            json!({"type":"adaptive"})
        );
    }

    #[test]
    fn model_capabilities_are_read_when_given() {
        let info: ModelInfo = serde_json::from_value(json!({
            "id": "m", "max_tokens": 64000,
            "capabilities": {
                "thinking": {"supported": true, "types": {
                    "adaptive": {"supported": true}, "enabled": {"supported": false},
                    "disabled": {"supported": true}}},
                "effort": {"supported": true, "low": {"supported": true},
                           "max": {"supported": false}}
            }
        }))
        .unwrap();
        assert_eq!(info.adaptive_thinking(), Some(true));
        assert_eq!(info.budget_thinking(), Some(false));
        assert_eq!(info.effort("low"), Some(true));
        assert_eq!(info.effort("max"), Some(false));
        let bare: ModelInfo = serde_json::from_value(json!({"id": "m"})).unwrap();
        assert_eq!((bare.adaptive_thinking(), bare.effort("low")), (None, None));
    }

    #[test]
    fn unknown_blocks_round_trip_verbatim() {
        let raw = json!({"type":"web_search_tool_result","tool_use_id":"x","content":[{"a":1}]});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.kind(), "web_search_tool_result");
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn tool_use_keeps_unknown_fields() {
        let raw = json!({"type":"tool_use","id":"t","name":"n","input":{"a":1},
            "caller":{"type":"code_execution_20250825","tool_id":"srv"},"later":[1]});
        let block: ContentBlock = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(block.kind(), "tool_use");
        assert_eq!(serde_json::to_value(&block).unwrap(), raw);
    }

    #[test]
    fn known_blocks_parse() {
        let blocks: Vec<ContentBlock> = serde_json::from_value(json!([
            {"type":"text","text":"a"},
            {"type":"thinking","thinking":"t","signature":"s"},
            {"type":"redacted_thinking","data":"d"},
            {"type":"tool_use","id":"i","name":"n","input":{"x":1}}
        ]))
        .unwrap();
        assert_eq!(blocks[0], ContentBlock::text("a"));
        assert!(matches!(&blocks[1], ContentBlock::Thinking { signature, .. } if signature == "s"));
        assert!(matches!(&blocks[2], ContentBlock::RedactedThinking { .. }));
        assert!(matches!(&blocks[3], ContentBlock::ToolUse { input, .. } if input["x"] == 1));
    }

    #[test]
    fn system_and_content_accept_both_shapes() {
        let s: SystemPrompt = serde_json::from_value(json!([{"type":"text","text":"x"}])).unwrap();
        assert!(matches!(s, SystemPrompt::Blocks(_)));
        let m: RequestMessage = serde_json::from_value(
            json!({"role":"assistant","content":[{"type":"text","text":"y"}]}),
        )
        .unwrap();
        assert_eq!(m.role, Role::Assistant);
    }
}
