//! Stream events and the accumulator that builds the final message from them.
//!
//! Events are dispatched on the JSON `type` (gateways drop `event:` lines); the SSE event name is
//! only a fallback. Parsing goes through one flat borrowed struct instead of serde's internally
//! tagged enums, which would buffer every event: the text-delta path stays allocation-light.
//! The accumulator follows the official SDKs (`message_start` opens the snapshot, blocks are
//! appended and grown by index, `message_delta` sets the stop reason and usage) with one
//! deliberate difference:
//! a stream that ends without `message_stop` is an error (truncated), never a finished reply.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::sse::SseDecoder;
use super::types::{ContentBlock, Message, Usage};

/// One decoded stream event.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    MessageStart(Box<Message>),
    BlockStart {
        index: usize,
        block: ContentBlock,
    },
    BlockDelta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    MessageDelta {
        stop_reason: Option<String>,
        stop_sequence: Option<String>,
        usage: Option<DeltaUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error_type: String,
        message: String,
    },
    Unknown(String),
}

/// The payload of a `content_block_delta`.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    Thinking(String),
    Signature(String),
    InputJson(String),
    Citation(Value),
    Unknown(String),
}

/// Usage as `message_delta` reports it: every counter optional and cumulative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct DeltaUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl DeltaUsage {
    /// Overwrite (never add) each counter the server reported.
    pub fn apply_to(&self, usage: &mut Usage) {
        if let Some(v) = self.input_tokens {
            usage.input_tokens = v;
        }
        if let Some(v) = self.output_tokens {
            usage.output_tokens = v;
        }
        if self.cache_creation_input_tokens.is_some() {
            usage.cache_creation_input_tokens = self.cache_creation_input_tokens;
        }
        if self.cache_read_input_tokens.is_some() {
            usage.cache_read_input_tokens = self.cache_read_input_tokens;
        }
    }
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    message: Option<Box<Message>>,
    #[serde(default)]
    content_block: Option<ContentBlock>,
    #[serde(borrow, default)]
    delta: Option<RawDelta<'a>>,
    #[serde(default)]
    usage: Option<DeltaUsage>,
    #[serde(default)]
    error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawDelta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    citation: Option<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_sequence: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Parse one SSE event's data. Empty data gives `Ok(None)`.
pub fn parse_event(name: Option<&str>, data: &[u8]) -> Result<Option<StreamEvent>, ApiError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let raw: RawEvent = serde_json::from_slice(data).map_err(|e| {
        ApiError::Protocol(format!(
            "a stream event is not valid JSON ({e}): {}",
            String::from_utf8_lossy(&data[..data.len().min(120)])
        ))
    })?;
    let kind = raw.kind.as_deref().or(name).unwrap_or("");
    let missing = |field: &str| {
        ApiError::Protocol(format!("stream event `{kind}` lacks its `{field}` field"))
    };
    let event = match kind {
        "message_start" => {
            StreamEvent::MessageStart(raw.message.ok_or_else(|| missing("message"))?)
        }
        "content_block_start" => StreamEvent::BlockStart {
            index: raw.index.ok_or_else(|| missing("index"))?,
            block: raw.content_block.ok_or_else(|| missing("content_block"))?,
        },
        "content_block_delta" => {
            let delta = raw.delta.ok_or_else(|| missing("delta"))?;
            let delta = match delta.kind.as_deref().unwrap_or("") {
                "text_delta" => Delta::Text(delta.text.unwrap_or_default()),
                "thinking_delta" => Delta::Thinking(delta.thinking.unwrap_or_default()),
                "signature_delta" => Delta::Signature(delta.signature.unwrap_or_default()),
                "input_json_delta" => Delta::InputJson(delta.partial_json.unwrap_or_default()),
                "citations_delta" => Delta::Citation(delta.citation.unwrap_or(Value::Null)),
                other => Delta::Unknown(other.to_owned()),
            };
            StreamEvent::BlockDelta {
                index: raw.index.ok_or_else(|| missing("index"))?,
                delta,
            }
        }
        "content_block_stop" => StreamEvent::BlockStop {
            index: raw.index.ok_or_else(|| missing("index"))?,
        },
        "message_delta" => {
            let (stop_reason, stop_sequence) = raw
                .delta
                .map(|d| (d.stop_reason, d.stop_sequence))
                .unwrap_or_default();
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                usage: raw.usage,
            }
        }
        "message_stop" => StreamEvent::MessageStop,
        "ping" => StreamEvent::Ping,
        "error" => {
            let error = raw.error.unwrap_or_default();
            StreamEvent::Error {
                error_type: error.kind.unwrap_or_else(|| "error".to_owned()),
                message: error.message.unwrap_or_default(),
            }
        }
        other => StreamEvent::Unknown(other.to_owned()),
    };
    Ok(Some(event))
}

/// Builds the final [`Message`] from stream events, as the official SDKs do.
#[derive(Debug, Default)]
pub struct Accumulator {
    message: Message,
    blocks: Vec<Option<ContentBlock>>,
    /// `input_json_delta` fragments per block index, parsed at `content_block_stop`.
    json: Vec<String>,
    started: bool,
    stopped: bool,
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `message_stop` has arrived.
    pub fn is_complete(&self) -> bool {
        self.stopped
    }

    /// Whether any reply content (text, thinking, tool input) has arrived.
    pub fn has_content(&self) -> bool {
        self.blocks.iter().flatten().any(|b| match b {
            ContentBlock::Text { text, .. } => !text.is_empty(),
            ContentBlock::Thinking { thinking, .. } => !thinking.is_empty(),
            _ => true,
        })
    }

    pub fn usage(&self) -> Usage {
        self.message.usage
    }

    pub fn model(&self) -> &str {
        &self.message.model
    }

    /// Apply one event. `error` events become [`ApiError::Stream`].
    pub fn apply(&mut self, event: &StreamEvent) -> Result<(), ApiError> {
        match event {
            StreamEvent::MessageStart(message) => {
                if self.started {
                    return Err(ApiError::Protocol(
                        "a second message_start arrived in one stream".into(),
                    ));
                }
                self.started = true;
                self.message = (**message).clone();
                self.blocks = self.message.content.drain(..).map(Some).collect();
            }
            StreamEvent::BlockStart { index, block } => {
                let mut block = block.clone();
                if let ContentBlock::ToolUse { input, .. } = &mut block {
                    // The start shell carries `{}`; the real input arrives as JSON fragments.
                    *input = Value::Object(Default::default());
                }
                *self.slot(*index) = Some(block);
            }
            StreamEvent::BlockDelta { index, delta } => self.apply_delta(*index, delta),
            StreamEvent::BlockStop { index } => self.finish_block(*index),
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                usage,
            } => {
                if stop_reason.is_some() {
                    self.message.stop_reason.clone_from(stop_reason);
                }
                if stop_sequence.is_some() {
                    self.message.stop_sequence.clone_from(stop_sequence);
                }
                if let Some(usage) = usage {
                    usage.apply_to(&mut self.message.usage);
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Error {
                error_type,
                message,
            } => {
                return Err(ApiError::Stream {
                    error_type: error_type.clone(),
                    message: message.clone(),
                    request_id: None,
                });
            }
            StreamEvent::Ping | StreamEvent::Unknown(_) => {}
        }
        Ok(())
    }

    fn slot(&mut self, index: usize) -> &mut Option<ContentBlock> {
        if self.blocks.len() <= index {
            self.blocks.resize(index + 1, None);
        }
        &mut self.blocks[index]
    }

    fn apply_delta(&mut self, index: usize, delta: &Delta) {
        let slot = self.slot(index);
        match (slot.get_or_insert_with(|| ContentBlock::text("")), delta) {
            (ContentBlock::Text { text, .. }, Delta::Text(t)) => text.push_str(t),
            (ContentBlock::Text { citations, .. }, Delta::Citation(c)) => {
                citations.get_or_insert_with(Vec::new).push(c.clone())
            }
            (ContentBlock::Thinking { thinking, .. }, Delta::Thinking(t)) => thinking.push_str(t),
            (ContentBlock::Thinking { signature, .. }, Delta::Signature(s)) => {
                signature.clone_from(s)
            }
            (ContentBlock::ToolUse { .. } | ContentBlock::Unknown(_), Delta::InputJson(j)) => {
                if self.json.len() <= index {
                    self.json.resize(index + 1, String::new());
                }
                self.json[index].push_str(j);
            }
            _ => {}
        }
    }

    fn finish_block(&mut self, index: usize) {
        let Some(fragments) = self.json.get_mut(index).map(std::mem::take) else {
            return;
        };
        let input = if fragments.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&fragments).unwrap_or(Value::String(fragments))
        };
        match self.blocks.get_mut(index) {
            Some(Some(ContentBlock::ToolUse { input: slot, .. })) => *slot = input,
            Some(Some(ContentBlock::Unknown(Value::Object(map)))) => {
                map.insert("input".into(), input);
            }
            _ => {}
        }
    }

    /// The message as accumulated so far (complete or not).
    pub fn snapshot(&self) -> Message {
        let mut message = self.message.clone();
        message.content = self.blocks.iter().flatten().cloned().collect();
        message
    }

    /// The finished message; an error when `message_stop` never arrived.
    pub fn finish(self) -> Result<Message, ApiError> {
        if !self.stopped {
            return Err(ApiError::Truncated {
                request_id: None,
                detail: None,
            });
        }
        Ok(self.snapshot())
    }
}

/// SSE decoding + event parsing + accumulation over raw bytes, as used by the HTTP stream and the
/// benches. Events are handed out after being applied to the accumulator.
#[derive(Debug, Default)]
pub struct EventDecoder {
    sse: SseDecoder,
    pub accumulator: Accumulator,
}

impl EventDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode a chunk; each event is applied, then passed to `on_event`. Stops at the first error.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), ApiError> {
        let mut result = Ok(());
        let accumulator = &mut self.accumulator;
        self.sse.feed(chunk, &mut |name, data| {
            if result.is_err() {
                return;
            }
            result = parse_event(name, data).and_then(|event| match event {
                Some(event) => {
                    accumulator.apply(&event)?;
                    on_event(event);
                    Ok(())
                }
                None => Ok(()),
            });
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RECORDED: &str = concat!(
        "event: message_start\n",
        "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4.6\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1, \"cache_read_input_tokens\": 3}}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"ok\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0 }\n\n",
        "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello \\u4e2d\"}}\n\n",
        ": keep-alive\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"SF\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15,\"input_tokens\":null}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn decode(chunks: &[&[u8]]) -> Result<Message, ApiError> {
        let mut decoder = EventDecoder::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut |_| {})?;
        }
        decoder.accumulator.finish()
    }

    fn expected() -> Message {
        Message {
            id: "msg_1".into(),
            kind: "message".into(),
            role: crate::api::types::Role::Assistant,
            content: vec![
                ContentBlock::Thinking {
                    thinking: "hmm ok".into(),
                    signature: "sig".into(),
                },
                ContentBlock::text("Hello 中 world"),
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    input: json!({"location": "SF"}),
                },
            ],
            model: "claude-sonnet-4.6".into(),
            stop_reason: Some("tool_use".into()),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 25,
                output_tokens: 15,
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(3),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn recorded_stream_accumulates_like_the_sdk() {
        assert_eq!(decode(&[RECORDED.as_bytes()]).unwrap(), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_message() {
        let bytes = RECORDED.as_bytes();
        let want = expected();
        for split in 0..=bytes.len() {
            let got = decode(&[&bytes[..split], &bytes[split..]]).unwrap();
            assert_eq!(got, want, "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_message() {
        let chunks: Vec<&[u8]> = RECORDED.as_bytes().chunks(1).collect();
        assert_eq!(decode(&chunks).unwrap(), expected());
    }

    #[test]
    fn missing_event_lines_dispatch_on_json_type() {
        let stripped: String = RECORDED
            .lines()
            .filter(|l| !l.starts_with("event:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(decode(&[stripped.as_bytes()]).unwrap(), expected());
    }

    #[test]
    fn eof_without_message_stop_is_truncated() {
        let cut = RECORDED.find("event: message_stop").unwrap();
        let err = decode(&[&RECORDED.as_bytes()[..cut]]).unwrap_err();
        assert!(matches!(err, ApiError::Truncated { .. }), "{err:?}");
    }

    #[test]
    fn midstream_error_event_is_an_error() {
        let text = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
            "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
        );
        let err = decode(&[text.as_bytes()]).unwrap_err();
        match err {
            ApiError::Stream {
                error_type,
                message,
                ..
            } => {
                assert_eq!(error_type, "overloaded_error");
                assert_eq!(message, "Overloaded");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn named_event_with_empty_data_is_skipped() {
        assert_eq!(parse_event(Some("ping"), b"  ").unwrap(), None);
    }

    #[test]
    fn event_name_is_the_fallback_type() {
        let ev = parse_event(Some("message_stop"), b"{}").unwrap();
        assert_eq!(ev, Some(StreamEvent::MessageStop));
    }

    #[test]
    fn usage_is_overwritten_never_added() {
        let mut acc = Accumulator::new();
        for data in [
            r#"{"type":"message_start","message":{"id":"m","model":"x","content":[],"usage":{"input_tokens":0,"output_tokens":0}}}"#,
            r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":5,"input_tokens":40}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
        ] {
            let ev = parse_event(None, data.as_bytes()).unwrap().unwrap();
            acc.apply(&ev).unwrap();
        }
        let u = acc.usage();
        assert_eq!((u.input_tokens, u.output_tokens), (40, 9));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = decode(&[&bytes]);
        }

        #[test]
        fn mutated_recorded_stream_never_panics(pos in 0usize..3000, byte in proptest::prelude::any::<u8>()) {
            let mut bytes = RECORDED.as_bytes().to_vec();
            let pos = pos % bytes.len();
            bytes[pos] = byte;
            let _ = decode(&[&bytes]);
        }
    }
}
