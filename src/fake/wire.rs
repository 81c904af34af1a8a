//! The exact JSON shapes the fake server sends, field order included.
//!
//! `serde_json::Value` sorts object keys, which would put `"type"` last; the real API writes it
//! first in every event and block, and a faithful fake must too, since naive gateways and clients sniff
//! it. Serde's derive writes fields in declaration order and an internally tagged enum writes its
//! tag first, so these types give the real layout. They borrow from the planned reply, so
//! serializing an event copies nothing.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Token usage, as sent in `message_start`, `message_delta` and a `Message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation: CacheCreation,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUsage>,
    pub service_tier: &'static str,
}

/// `usage.cache_creation`: the tokens written to the cache, by TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct CacheCreation {
    pub ephemeral_5m_input_tokens: u64,
    pub ephemeral_1h_input_tokens: u64,
}

/// `usage.server_tool_use`: how many server-side tool calls the reply made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ServerToolUsage {
    pub web_search_requests: u64,
}

/// A `Message` object: the non-streamed reply, and the shell inside `message_start`.
#[derive(Debug, Serialize)]
pub(crate) struct Message<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub content: Vec<ContentBlock<'a>>,
    pub model: &'a str,
    pub stop_reason: Option<&'a str>,
    pub stop_sequence: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_details: Option<StopDetails<'a>>,
    pub usage: Usage,
}

/// Why a reply was refused, next to `stop_reason: "refusal"`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct StopDetails<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub category: Option<&'a str>,
    pub explanation: Option<&'a str>,
}

/// A content block, in `content_block_start` (empty) or in a finished `Message`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentBlock<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<&'a [Citation]>,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a RawValue,
    },
    ServerToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a RawValue,
    },
    WebSearchToolResult {
        tool_use_id: &'a str,
        content: &'a [WebSearchResult],
    },
}

/// Where a piece of cited text comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Citation {
    CharLocation {
        cited_text: String,
        document_index: u32,
        document_title: String,
        start_char_index: usize,
        end_char_index: usize,
    },
    WebSearchResultLocation {
        cited_text: String,
        url: String,
        title: String,
        encrypted_index: String,
    },
}

/// One hit in a `web_search_tool_result` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct WebSearchResult {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub url: String,
    pub encrypted_content: String,
    pub page_age: Option<String>,
}

/// The `delta` of a `content_block_delta` event.
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub(crate) enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
    #[serde(rename = "citations_delta")]
    Citations { citation: &'a Citation },
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Serialize)]
pub(crate) struct StopDelta<'a> {
    pub stop_reason: &'a str,
    pub stop_sequence: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_details: Option<StopDetails<'a>>,
}

/// The inner `error` object of an error body or an `error` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ApiError {
    #[serde(rename = "type")]
    pub error_type: &'static str,
    pub message: String,
    /// Extra detail some errors carry, e.g. `{"error_code":"enforced_spend_limit_reached"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An HTTP error body: `{"type":"error","error":{…},"request_id":"req_…"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: &'a ApiError,
    pub request_id: &'a str,
}

/// One server-sent event's data; the variant's tag is also the SSE `event:` name.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event<'a> {
    MessageStart {
        message: Message<'a>,
    },
    ContentBlockStart {
        index: usize,
        content_block: ContentBlock<'a>,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: StopDelta<'a>,
        usage: Usage,
    },
    MessageStop,
    Ping,
    Error {
        error: ApiError,
    },
}

impl Event<'_> {
    /// The SSE `event:` name, equal to the data's `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message_start",
            Event::ContentBlockStart { .. } => "content_block_start",
            Event::ContentBlockDelta { .. } => "content_block_delta",
            Event::ContentBlockStop { .. } => "content_block_stop",
            Event::MessageDelta { .. } => "message_delta",
            Event::MessageStop => "message_stop",
            Event::Ping => "ping",
            Event::Error { .. } => "error",
        }
    }

    /// True for `content_block_delta`, the events that delays and cut-offs count.
    pub fn is_delta(&self) -> bool {
        matches!(self, Event::ContentBlockDelta { .. })
    }
}

/// A model in `GET /v1/models`.
#[derive(Debug, Serialize)]
pub(crate) struct ModelInfo<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    pub display_name: String,
    pub created_at: &'static str,
    pub lifecycle: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// `{"supported": bool}`, the leaf of every capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Supported {
    pub supported: bool,
}

/// A model's `capabilities`, with every key the Models API always sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Capabilities {
    pub batch: Supported,
    pub citations: Supported,
    pub code_execution: Supported,
    pub context_management: ContextManagement,
    pub effort: Effort,
    pub image_input: Supported,
    pub pdf_input: Supported,
    pub server_tools: ServerTools,
    pub structured_outputs: Supported,
    pub thinking: Thinking,
}

/// `capabilities.context_management`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ContextManagement {
    pub clear_thinking_20251015: Supported,
    pub clear_tool_uses_20250919: Supported,
    pub compact_20260112: Supported,
    pub supported: bool,
}

/// `capabilities.effort`: the levels `output_config.effort` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Effort {
    pub high: Supported,
    pub low: Supported,
    pub max: Supported,
    pub medium: Supported,
    pub supported: bool,
}

/// `capabilities.server_tools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ServerTools {
    pub code_execution: Supported,
    pub supported: bool,
    pub web_search: Supported,
}

/// `capabilities.thinking`: whether the model thinks, and which `thinking.type`s it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Thinking {
    pub supported: bool,
    pub types: ThinkingTypes,
}

/// `capabilities.thinking.types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ThinkingTypes {
    pub adaptive: Supported,
    pub disabled: Supported,
    pub enabled: Supported,
}

/// The `POST /v1/messages/count_tokens` answer.
#[derive(Debug, Serialize)]
pub(crate) struct TokenCount {
    pub input_tokens: u64,
}

/// The `GET /v1/models` page.
#[derive(Debug, Serialize)]
pub(crate) struct ModelPage<'a> {
    pub data: Vec<ModelInfo<'a>>,
    pub first_id: Option<&'a str>,
    pub last_id: Option<&'a str>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_comes_first() {
        let event = Event::ContentBlockDelta {
            index: 0,
            delta: Delta::Text { text: "hi\u{1b}" },
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi\u001b"}}"#
        );
        assert_eq!(event.name(), "content_block_delta");
        let error = ApiError {
            error_type: "api_error",
            message: "boom".into(),
            details: None,
        };
        let body = ErrorBody {
            kind: "error",
            error: &error,
            request_id: "req_fake_1",
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"type":"error","error":{"type":"api_error","message":"boom"},"request_id":"req_fake_1"}"#
        );
        assert_eq!(
            serde_json::to_string(&Event::MessageStop).unwrap(),
            r#"{"type":"message_stop"}"#
        );
    }
}
