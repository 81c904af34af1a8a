//! Stream events and the accumulator that builds the final message from them.
//!
//! Events are dispatched on the JSON `type` (gateways drop `event:` lines); the SSE event name is
//! only a fallback. Parsing goes through one flat borrowed struct instead of serde's internally
//! tagged enums, which would buffer every event: the text-delta path stays allocation-light.
//! The accumulator follows the official Python SDK (`message_start` opens the snapshot, blocks
//! are appended and grown by index, a second `message_start` is ignored, tool input is the
//! accumulated `input_json_delta` text, and a reply cut inside it keeps what parses in jiter's
//! partial mode, the parser the SDK uses; `message_delta` sets the stop reason and usage), with
//! these deliberate differences:
//! - a stream that ends without `message_stop` is an error (truncated), never a finished reply;
//! - tool input that is not valid JSON at a normal end is an error, not a value stored anyway;
//! - a delta of a type it does not know is kept on its block (string fields appended, others
//!   set), so a newer block type such as `compaction` loses nothing;
//! - at a clean end of the body, a last event without its blank line (or its last newline) is
//!   still read when its data is whole JSON (recorded streams end so); a cut one is not;
//! - an event with no `type` but an `error` object (a gateway's bare `data: {"error": ...}`) is
//!   an error event.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::sse::SseDecoder;
use super::types::{CacheCreation, ContentBlock, Message, ServerToolUse, ServiceTier, Usage};

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
        /// `Some(Value::Null)` when the delta clears it, `None` when it does not say.
        stop_details: Option<Value>,
        /// The same for the code-execution container.
        container: Option<Value>,
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
    /// A delta type this client does not know, with its fields as received.
    Unknown(serde_json::Map<String, Value>),
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
    #[serde(default)]
    pub cache_creation: Option<CacheCreation>,
    #[serde(default)]
    pub server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    pub service_tier: Option<ServiceTier>,
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
        if self.cache_creation.is_some() {
            usage.cache_creation = self.cache_creation;
        }
        if self.server_tool_use.is_some() {
            usage.server_tool_use = self.server_tool_use;
        }
        if self.service_tier.is_some() {
            usage.service_tier = self.service_tier;
        }
    }
}

/// A field that may be present as `null`: `Some(Value::Null)` then, `None` when absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
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
    #[serde(default, deserialize_with = "present")]
    stop_details: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    container: Option<Value>,
}

#[derive(Deserialize, Default)]
struct RawError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// Gateways (OpenRouter) send a numeric or string `code` instead of a `type`.
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

impl RawError {
    fn into_event(self) -> StreamEvent {
        let code = match self.code {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(format!("error {n}")),
            _ => None,
        };
        StreamEvent::Error {
            error_type: self.kind.or(code).unwrap_or_else(|| "error".to_owned()),
            message: self.message.unwrap_or_default(),
        }
    }
}

/// The event nearly every byte of a reply comes in, a text delta with exactly the fields the
/// API writes (`{"type":"content_block_delta","index":N,"delta":{"type":"text_delta",
/// "text":"…"}}`, in that order, any spacing), read without the general parser; the text is
/// still decoded by `serde_json`. Anything else, or anything more, is `None`: the general
/// path reads it.
fn text_delta(data: &[u8]) -> Option<StreamEvent> {
    let mut json = Cursor { data, at: 0 };
    for token in [
        &b"{"[..],
        br#""type""#,
        b":",
        br#""content_block_delta""#,
        b",",
        br#""index""#,
        b":",
    ] {
        json.token(token)?;
    }
    let index = json.index()?;
    for token in [
        &b","[..],
        br#""delta""#,
        b":",
        b"{",
        br#""type""#,
        b":",
        br#""text_delta""#,
        b",",
        br#""text""#,
        b":",
    ] {
        json.token(token)?;
    }
    let text = json.string()?;
    json.token(b"}")?;
    json.token(b"}")?;
    json.token(b"")?;
    (json.at == data.len()).then_some(StreamEvent::BlockDelta {
        index,
        delta: Delta::Text(text),
    })
}

/// A position in an event's JSON, for [`text_delta`].
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// White space, then exactly `token`.
    fn token(&mut self, token: &[u8]) -> Option<()> {
        while self.data.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
        let found = self.data.get(self.at..)?.starts_with(token);
        found.then(|| self.at += token.len())
    }

    /// A block index: white space, then up to nine digits.
    fn index(&mut self) -> Option<usize> {
        self.token(b"")?;
        let rest = &self.data[self.at..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        self.at += digits;
        std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
    }

    /// A string literal (white space before it), decoded by `serde_json`.
    fn string(&mut self) -> Option<String> {
        self.token(b"\"")?;
        let start = self.at - 1;
        loop {
            match self.data.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => break,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        serde_json::from_slice(self.data.get(start..self.at)?).ok()
    }
}

/// Parse one SSE event's data. Empty data gives `Ok(None)`.
pub fn parse_event(name: Option<&str>, data: &[u8]) -> Result<Option<StreamEvent>, ApiError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(event) = text_delta(data) {
        return Ok(Some(event));
    }
    parse_any_event(name, data)
}

/// [`parse_event`] by the general parser, for every kind of event.
fn parse_any_event(name: Option<&str>, data: &[u8]) -> Result<Option<StreamEvent>, ApiError> {
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
                // Rare: read the event again as a tree to keep every field of the delta.
                _ => match serde_json::from_slice::<Value>(data) {
                    Ok(Value::Object(mut event)) => match event.remove("delta") {
                        Some(Value::Object(fields)) => Delta::Unknown(fields),
                        _ => Delta::Unknown(Default::default()),
                    },
                    _ => Delta::Unknown(Default::default()),
                },
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
            let (stop_reason, stop_sequence, stop_details, container) = raw
                .delta
                .map(|d| (d.stop_reason, d.stop_sequence, d.stop_details, d.container))
                .unwrap_or_default();
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                stop_details,
                container,
                usage: raw.usage,
            }
        }
        "message_stop" => StreamEvent::MessageStop,
        "ping" => StreamEvent::Ping,
        "error" => raw.error.unwrap_or_default().into_event(),
        // A gateway's error as a bare `data: {"error": {...}}`, no type and no event name.
        "" if raw.error.is_some() => raw.error.unwrap_or_default().into_event(),
        other => StreamEvent::Unknown(other.to_owned()),
    };
    Ok(Some(event))
}

/// Builds the final [`Message`] from stream events, as the official SDKs do.
#[derive(Debug, Default)]
pub struct Accumulator {
    message: Message,
    blocks: Vec<Option<ContentBlock>>,
    /// `input_json_delta` text per block index; parsed into the block's `input` at the end.
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

    /// Apply one event. `error` events become [`ApiError::Stream`]; tool input that is not
    /// valid JSON when the reply ends normally is an [`ApiError::Protocol`].
    pub fn apply(&mut self, event: &StreamEvent) -> Result<(), ApiError> {
        if self.stopped {
            // What follows `message_stop` (a gateway's next reply) is not part of this one,
            // whether it came in the same read or not.
            return Ok(());
        }
        match event {
            StreamEvent::MessageStart(message) => {
                // A second `message_start` (a gateway bug) is ignored, as the Python SDK does:
                // the reply so far is kept.
                if !self.started {
                    self.started = true;
                    self.message = (**message).clone();
                    self.blocks = self.message.content.drain(..).map(Some).collect();
                }
            }
            StreamEvent::BlockStart { index, block } => {
                // The start's `input` stays unless `input_json_delta` text replaces it
                // (programmatic tool calls deliver their input here, with no deltas).
                *self.slot(*index) = Some(block.clone());
            }
            StreamEvent::BlockDelta { index, delta } => self.apply_delta(*index, delta),
            StreamEvent::BlockStop { .. } => {}
            StreamEvent::MessageDelta {
                stop_reason,
                stop_sequence,
                stop_details,
                container,
                usage,
            } => {
                if stop_reason.is_some() {
                    self.message.stop_reason.clone_from(stop_reason);
                }
                // Said in the delta, null included, as the SDKs take it.
                if let Some(details) = stop_details {
                    self.message.stop_details = Some(details.clone()).filter(|v| !v.is_null());
                }
                if let Some(container) = container {
                    self.message.container = Some(container.clone()).filter(|v| !v.is_null());
                }
                if stop_sequence.is_some() {
                    self.message.stop_sequence.clone_from(stop_sequence);
                }
                if let Some(usage) = usage {
                    usage.apply_to(&mut self.message.usage);
                }
                if stop_reason.is_some() {
                    self.check_tool_input()?;
                }
            }
            StreamEvent::MessageStop => {
                self.check_tool_input()?;
                self.stopped = true;
            }
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
            (ContentBlock::Unknown(Value::Object(block)), Delta::Unknown(fields)) => {
                merge_delta(block, fields)
            }
            _ => {}
        }
    }

    /// At a normal end (a stop reason other than `max_tokens`, or `message_stop`) every tool
    /// input must be whole JSON; a reply cut by `max_tokens` keeps what parses.
    fn check_tool_input(&self) -> Result<(), ApiError> {
        if self.message.stop_reason.as_deref() == Some("max_tokens") {
            return Ok(());
        }
        for (index, text) in self.json.iter().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_str::<Value>(text) {
                let name = match self.blocks.get(index) {
                    Some(Some(ContentBlock::ToolUse { name, .. })) => name.as_str(),
                    Some(Some(ContentBlock::Unknown(v))) => {
                        v.get("name").and_then(Value::as_str).unwrap_or("?")
                    }
                    _ => "?",
                };
                let excerpt: String = text.chars().take(120).collect();
                return Err(ApiError::Protocol(format!(
                    "the model's input for tool `{name}` is not valid JSON ({e}): {excerpt}"
                )));
            }
        }
        Ok(())
    }

    /// The message as accumulated so far (complete or not).
    pub fn snapshot(&self) -> Message {
        let mut message = self.message.clone();
        message.content = self
            .blocks
            .iter()
            .enumerate()
            .filter_map(|(index, block)| {
                let mut block = block.clone()?;
                if let Some(text) = self.json.get(index).filter(|t| !t.is_empty()) {
                    let input = parse_partial(text);
                    match &mut block {
                        ContentBlock::ToolUse { input: slot, .. } => *slot = input,
                        ContentBlock::Unknown(Value::Object(map)) => {
                            map.insert("input".into(), input);
                        }
                        _ => {}
                    }
                }
                Some(block)
            })
            .collect();
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

/// Tool input text as the Python SDK reads it: whole JSON, or else what jiter's partial mode
/// makes of a cut prefix (an unfinished string or number is left out); `{}` when even that fails.
fn parse_partial(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    jiter::JsonValue::parse_with_config(text.as_bytes(), false, jiter::PartialMode::On)
        .map_or_else(|_| Value::Object(Default::default()), |v| from_jiter(&v))
}

fn from_jiter(value: &jiter::JsonValue) -> Value {
    use jiter::JsonValue as J;
    match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Int(i) => Value::from(*i),
        J::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        J::Str(s) => Value::String(s.to_string()),
        J::Array(items) => Value::Array(items.iter().map(from_jiter).collect()),
        J::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), from_jiter(v)))
                .collect(),
        ),
    }
}

/// A delta of a type this client does not know, applied to its block as received: a string
/// field is appended to the block's string of that name, any other field is set.
fn merge_delta(
    block: &mut serde_json::Map<String, Value>,
    fields: &serde_json::Map<String, Value>,
) {
    for (key, value) in fields {
        if key == "type" {
            continue;
        }
        match (block.get_mut(key), value) {
            (Some(Value::String(have)), Value::String(more)) => have.push_str(more),
            _ => {
                block.insert(key.clone(), value.clone());
            }
        }
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

    /// The body ended cleanly: a last event missing its blank line is applied if its data is
    /// whole JSON (a cut one is dropped: the reply then reads as truncated).
    pub fn finish(&mut self, on_event: &mut dyn FnMut(StreamEvent)) -> Result<(), ApiError> {
        let mut result = Ok(());
        let accumulator = &mut self.accumulator;
        self.sse.finish(&mut |name, data| {
            if let Ok(Some(event)) = parse_event(name, data) {
                result = accumulator.apply(&event);
                if result.is_ok() {
                    on_event(event);
                }
            }
        });
        result
    }
}

#[cfg(test)]
mod tests;
