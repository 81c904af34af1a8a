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
    pub output_tokens: u64,
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
    pub usage: Usage,
}

/// A content block, in `content_block_start` (empty) or in a finished `Message`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentBlock<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a RawValue,
    },
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
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Serialize)]
pub(crate) struct StopDelta<'a> {
    pub stop_reason: &'a str,
    pub stop_sequence: Option<&'a str>,
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
