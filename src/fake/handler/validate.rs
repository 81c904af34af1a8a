//! The checks a request body must pass before any scenario answers it, as strict as the real
//! Messages API, with messages shaped like its own (`field.path: what is wrong`).
//!
//! The fake exists to catch the client sending what the real API refuses, so every refusal the
//! client could provoke is here: sampling values and their limits with thinking on, thinking
//! budgets and modes per model, effort levels per model, cache breakpoints (at most four, TTL
//! `5m`/`1h`, longer TTLs first), thinking blocks whose signature does not match their text,
//! redacted thinking the server never issued, tool definitions (name pattern, object schema,
//! unique names) and `tool_choice` shapes, tool calls left unanswered, answers to no call or
//! not first in their turn, tool blocks without tools, blocks in a turn of the wrong role or
//! of a type the API does not know in a user turn, and the shape of the conversation. Images
//! and documents are read to their bytes, so their checks live apart (`media.rs`), called from
//! here in order. On one point it is stricter than the real API, which merges consecutive
//! turns of one role: it refuses them, since a client that sends two user turns in a row has
//! lost a reply. Unknown top-level fields pass, as gateway-specific fields must, and so do
//! unknown blocks in an assistant turn, which a client keeps from a reply and sends back.
//! Every other rule sits in this one file, in the order the API checks them, so the order of
//! the errors stays the API's.

use serde_json::{Map, Value};

use super::super::catalog::{self, ModelSpec};
use super::super::signature;
use super::media::{self, Media};

/// The largest thinking budget's lower bound.
const MIN_THINKING_BUDGET: u64 = 1024;
/// How many `cache_control` breakpoints one request may carry.
const MAX_BREAKPOINTS: usize = 4;

/// A refusal: status, error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub status: u16,
    pub error_type: &'static str,
    pub message: String,
}

pub(super) fn invalid(message: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        error_type: "invalid_request_error",
        message: message.into(),
    }
}

/// The fields of a Messages body that count_tokens refuses as extra inputs.
const MESSAGES_ONLY: [&str; 8] = [
    "max_tokens",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "metadata",
    "service_tier",
];

/// Which endpoint the body was sent to: count_tokens takes no `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Messages,
    CountTokens,
}

/// How the request asked the model to think.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Thinking {
    Off,
    Budget(u64),
    Adaptive,
}

/// A body that passed every check, with what the answer needs from it.
#[derive(Debug)]
pub(super) struct Checked<'a> {
    pub model: &'a str,
    pub spec: ModelSpec,
    /// The request's `max_tokens`; the model's maximum for count_tokens.
    pub max_tokens: u64,
    pub thinking: Thinking,
    pub stop_sequences: Vec<String>,
    pub tools: &'a [Value],
    pub tool_choice: ToolChoice,
    pub messages: &'a [Value],
    pub stream: bool,
    /// The request's images and documents, in order (those inside tool results too).
    pub media: Vec<Media>,
}

/// Checks `body` for `endpoint`, in the order the real endpoint does (JSON, required fields,
/// the model, then everything else).
pub(super) fn check<'a>(
    body: &'a Value,
    endpoint: Endpoint,
    known_models: &[String],
) -> Result<Checked<'a>, Refusal> {
    let Some(body) = body.as_object() else {
        return Err(invalid("invalid JSON body: expected an object"));
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("model: Field required"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages: Field required"))?;
    if messages.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    let max_tokens =
        match (endpoint, body.get("max_tokens")) {
            (Endpoint::Messages, None) => return Err(invalid("max_tokens: Field required")),
            (Endpoint::Messages, Some(value)) => Some(value.as_u64().ok_or_else(|| {
                invalid("max_tokens: Input should be a valid non-negative integer")
            })?),
            (Endpoint::CountTokens, _) => None,
        };
    if endpoint == Endpoint::CountTokens
        && let Some(field) = MESSAGES_ONLY.iter().find(|f| body.contains_key(**f))
    {
        return Err(invalid(format!("{field}: Extra inputs are not permitted")));
    }
    if !known_models.iter().any(|known| known == model) {
        return Err(Refusal {
            status: 404,
            error_type: "not_found_error",
            message: format!(
                "model: {model} not found; known models: {}",
                known_models.join(", ")
            ),
        });
    }
    let spec = catalog::spec(model);
    if let Some(max) = max_tokens
        && max > spec.max_tokens
    {
        return Err(invalid(format!(
            "max_tokens: {max} > {}, which is the maximum allowed number of output tokens for {model}",
            spec.max_tokens
        )));
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    };
    check_system(body.get("system"))?;
    let tools = check_tools(body.get("tools"))?;
    let tool_choice = check_tool_choice(body.get("tool_choice"), tools)?;
    check_sampling(body)?;
    let thinking = check_thinking(body, model, &spec, max_tokens)?;
    if thinking != Thinking::Off {
        check_sampling_with_thinking(body)?;
    }
    let stop_sequences = check_stop_sequences(body.get("stop_sequences"))?;
    check_metadata(body.get("metadata"))?;
    check_service_tier(body.get("service_tier"))?;
    check_output_config(body.get("output_config"), model, &spec)?;
    let media = check_messages(messages, thinking)?;
    check_tools_defined(messages, tools)?;
    check_prefill(messages, &spec)?;
    check_cache_control(body, tools, messages)?;
    Ok(Checked {
        model,
        spec,
        max_tokens: max_tokens.unwrap_or(spec.max_tokens),
        thinking,
        stop_sequences,
        tools,
        tool_choice,
        messages,
        stream,
        media,
    })
}

fn check_system(system: Option<&Value>) -> Result<(), Refusal> {
    match system {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            for (index, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(invalid(format!(
                        "system.{index}.type: Input should be 'text'"
                    )));
                }
                check_text(block, &format!("system.{index}"))?;
            }
            Ok(())
        }
        Some(_) => Err(invalid(
            "system: Input should be a valid string or a list of text blocks",
        )),
    }
}

/// The longest tool name the API takes.
const MAX_TOOL_NAME: usize = 64;

/// Whether `name` matches the API's `^[a-zA-Z0-9_-]{1,64}$`.
fn valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `tool` is a client tool (no `type`, or `custom`), as opposed to a server tool such
/// as `web_search_20250305`.
pub(super) fn is_custom_tool(tool: &Value) -> bool {
    tool.get("type")
        .and_then(Value::as_str)
        .is_none_or(|kind| kind == "custom")
}

/// Each tool named within the API's pattern, a client tool with an object `input_schema`,
/// and no name twice.
fn check_tools(tools: Option<&Value>) -> Result<&[Value], Refusal> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(&[]),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid("tools: Input should be a valid list")),
    };
    let mut names = std::collections::HashSet::new();
    for (index, tool) in tools.iter().enumerate() {
        let custom = is_custom_tool(tool);
        let path = if custom {
            format!("tools.{index}.custom")
        } else {
            format!("tools.{index}")
        };
        let name = match tool.get("name") {
            None | Some(Value::Null) => {
                return Err(invalid(format!("{path}.name: Field required")));
            }
            Some(Value::String(name)) => name,
            Some(_) => {
                return Err(invalid(format!(
                    "{path}.name: Input should be a valid string"
                )));
            }
        };
        if !valid_tool_name(name) {
            return Err(invalid(format!(
                "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,{MAX_TOOL_NAME}}}$'"
            )));
        }
        if custom {
            match tool.get("input_schema") {
                None | Some(Value::Null) => {
                    return Err(invalid(format!("{path}.input_schema: Field required")));
                }
                Some(Value::Object(schema)) => {
                    if schema.get("type").and_then(Value::as_str) != Some("object") {
                        return Err(invalid(format!(
                            "{path}.input_schema.type: Input should be 'object'"
                        )));
                    }
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "{path}.input_schema: Input should be a valid dictionary"
                    )));
                }
            }
        }
        if !names.insert(name.as_str()) {
            return Err(invalid("tools: Tool names must be unique."));
        }
    }
    Ok(tools)
}

/// How the request lets the model use its tools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ToolChoice {
    /// `auto` (also when absent), `any`, `tool` or `none`.
    pub kind: ToolChoiceKind,
    /// `disable_parallel_tool_use: true`: at most one call per reply.
    pub one_call: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum ToolChoiceKind {
    #[default]
    Auto,
    Any,
    Tool(String),
    None,
}

/// `tool_choice`: one of the four shapes, no field another shape owns, `tool` naming one of
/// `tools`, and only with tools.
fn check_tool_choice(choice: Option<&Value>, tools: &[Value]) -> Result<ToolChoice, Refusal> {
    let Some(choice) = choice.filter(|c| !c.is_null()) else {
        return Ok(ToolChoice::default());
    };
    let Some(fields) = choice.as_object() else {
        return Err(invalid(
            "tool_choice: Input should be a valid dictionary or object to extract fields from",
        ));
    };
    let kind = match fields.get("type").and_then(Value::as_str) {
        None => {
            return Err(invalid(
                "tool_choice: Unable to extract tag using discriminator 'type'",
            ));
        }
        Some(kind @ ("auto" | "any" | "tool" | "none")) => kind,
        Some(other) => {
            return Err(invalid(format!(
                "tool_choice: Input tag '{other}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
            )));
        }
    };
    let allowed: &[&str] = match kind {
        "tool" => &["type", "name", "disable_parallel_tool_use"],
        "none" => &["type"],
        _ => &["type", "disable_parallel_tool_use"],
    };
    if let Some(extra) = fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(invalid(format!(
            "tool_choice.{kind}.{extra}: Extra inputs are not permitted"
        )));
    }
    let one_call = match fields.get("disable_parallel_tool_use") {
        None => false,
        Some(Value::Bool(one)) => *one,
        Some(_) => {
            return Err(invalid(format!(
                "tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid boolean"
            )));
        }
    };
    let kind = match kind {
        "auto" => ToolChoiceKind::Auto,
        "any" => ToolChoiceKind::Any,
        "none" => ToolChoiceKind::None,
        _ => match fields.get("name") {
            None | Some(Value::Null) => {
                return Err(invalid("tool_choice.tool.name: Field required"));
            }
            Some(Value::String(name)) => ToolChoiceKind::Tool(name.clone()),
            Some(_) => {
                return Err(invalid(
                    "tool_choice.tool.name: Input should be a valid string",
                ));
            }
        },
    };
    if tools.is_empty() {
        return Err(invalid(
            "tool_choice: `tool_choice` may only be specified while providing tools.",
        ));
    }
    if let ToolChoiceKind::Tool(name) = &kind
        && !tools
            .iter()
            .any(|tool| tool.get("name").and_then(Value::as_str) == Some(name))
    {
        return Err(invalid(format!(
            "tool_choice.tool.name: Tool '{name}' not found in `tools`."
        )));
    }
    Ok(ToolChoice { kind, one_call })
}

/// A number in 0..=1 for `temperature` and `top_p`, an integer ≥ 0 for `top_k`.
fn check_sampling(body: &Map<String, Value>) -> Result<(), Refusal> {
    for field in ["temperature", "top_p"] {
        let Some(value) = body.get(field) else {
            continue;
        };
        let Some(number) = value.as_f64() else {
            return Err(invalid(format!("{field}: Input should be a valid number")));
        };
        if number < 0.0 {
            return Err(invalid(format!(
                "{field}: Input should be greater than or equal to 0"
            )));
        }
        if number > 1.0 {
            return Err(invalid(format!(
                "{field}: Input should be less than or equal to 1"
            )));
        }
    }
    if let Some(top_k) = body.get("top_k") {
        match top_k.as_i64() {
            None => return Err(invalid("top_k: Input should be a valid integer")),
            Some(k) if k < 0 => {
                return Err(invalid("top_k: Input should be greater than or equal to 0"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn check_thinking(
    body: &Map<String, Value>,
    model: &str,
    spec: &ModelSpec,
    max_tokens: Option<u64>,
) -> Result<Thinking, Refusal> {
    let Some(thinking) = body.get("thinking").filter(|t| !t.is_null()) else {
        return Ok(Thinking::Off);
    };
    match thinking.get("type").and_then(Value::as_str) {
        Some("disabled") => Ok(Thinking::Off),
        Some("adaptive") if spec.adaptive_thinking => Ok(Thinking::Adaptive),
        Some("adaptive") => Err(invalid(format!(
            "thinking.type: 'adaptive' thinking is not supported by {model}; use 'enabled' with budget_tokens"
        ))),
        Some("enabled") => {
            let budget = match thinking.get("budget_tokens") {
                None => return Err(invalid("thinking.enabled.budget_tokens: Field required")),
                Some(budget) => budget.as_u64().ok_or_else(|| {
                    invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
                })?,
            };
            if budget < MIN_THINKING_BUDGET {
                return Err(invalid(format!(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
                )));
            }
            if let Some(max) = max_tokens
                && max <= budget
            {
                return Err(invalid(
                    "`max_tokens` must be greater than `thinking.budget_tokens`",
                ));
            }
            Ok(Thinking::Budget(budget))
        }
        _ => Err(invalid(
            "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'",
        )),
    }
}

/// With thinking on: `temperature` only 1, no `top_k`, `top_p` 0.95–1, no forced tool use.
fn check_sampling_with_thinking(body: &Map<String, Value>) -> Result<(), Refusal> {
    if body
        .get("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| t != 1.0)
    {
        return Err(invalid(
            "`temperature` may only be set to 1 when thinking is enabled",
        ));
    }
    if body.contains_key("top_k") {
        return Err(invalid("`top_k` is not supported when thinking is enabled"));
    }
    if body
        .get("top_p")
        .and_then(Value::as_f64)
        .is_some_and(|p| p < 0.95)
    {
        return Err(invalid(
            "`top_p` must be between 0.95 and 1 when thinking is enabled",
        ));
    }
    let forced = body
        .get("tool_choice")
        .and_then(|choice| choice.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|kind| kind == "any" || kind == "tool");
    if forced {
        return Err(invalid(
            "Thinking may not be enabled when tool_choice forces tool use.",
        ));
    }
    Ok(())
}

fn check_stop_sequences(sequences: Option<&Value>) -> Result<Vec<String>, Refusal> {
    let sequences = match sequences {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(sequences)) => sequences,
        Some(_) => return Err(invalid("stop_sequences: Input should be a valid list")),
    };
    sequences
        .iter()
        .enumerate()
        .map(|(index, sequence)| match sequence.as_str() {
            None => Err(invalid(format!(
                "stop_sequences.{index}: Input should be a valid string"
            ))),
            Some(text) if text.trim().is_empty() => Err(invalid(
                "stop_sequences: each stop sequence must contain non-whitespace",
            )),
            Some(text) => Ok(text.to_string()),
        })
        .collect()
}

fn check_metadata(metadata: Option<&Value>) -> Result<(), Refusal> {
    let metadata = match metadata {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(metadata)) => metadata,
        Some(_) => return Err(invalid("metadata: Input should be a valid dictionary")),
    };
    for (key, value) in metadata {
        if key != "user_id" {
            return Err(invalid(format!(
                "metadata.{key}: Extra inputs are not permitted"
            )));
        }
        if !(value.is_string() || value.is_null()) {
            return Err(invalid("metadata.user_id: Input should be a valid string"));
        }
    }
    Ok(())
}

fn check_service_tier(tier: Option<&Value>) -> Result<(), Refusal> {
    match tier {
        None => Ok(()),
        Some(Value::String(tier)) if tier == "auto" || tier == "standard_only" => Ok(()),
        Some(_) => Err(invalid(
            "service_tier: Input should be 'auto' or 'standard_only'",
        )),
    }
}

fn check_output_config(
    config: Option<&Value>,
    model: &str,
    spec: &ModelSpec,
) -> Result<(), Refusal> {
    let Some(config) = config.filter(|c| !c.is_null()) else {
        return Ok(());
    };
    if !config.is_object() {
        return Err(invalid("output_config: Input should be a valid dictionary"));
    }
    let Some(effort) = config.get("effort").filter(|e| !e.is_null()) else {
        return Ok(());
    };
    let Some(level) = effort
        .as_str()
        .filter(|level| catalog::EFFORT_LEVELS.contains(level))
    else {
        return Err(invalid(
            "output_config.effort: Input should be 'low', 'medium', 'high' or 'max'",
        ));
    };
    if spec.effort_levels == 0 {
        return Err(invalid(format!(
            "output_config.effort: the effort parameter is not supported by {model}"
        )));
    }
    if !spec.supports_effort(level) {
        return Err(invalid(format!(
            "output_config.effort: effort '{level}' is not supported by {model}"
        )));
    }
    Ok(())
}

/// A text block's `text`: present and not blank.
fn check_text(block: &Value, path: &str) -> Result<(), Refusal> {
    match block.get("text").and_then(Value::as_str) {
        None => Err(invalid(format!("{path}.text: Field required"))),
        Some(text) if text.trim().is_empty() => Err(invalid(format!(
            "{path}.text: text content blocks must contain non-whitespace text"
        ))),
        Some(_) => Ok(()),
    }
}

/// The content blocks of a message (a string counts as one text block).
fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn block_type(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The ids of the `tool_use` blocks of `message`.
fn tool_use_ids(message: &Value) -> Vec<&str> {
    blocks(message)
        .iter()
        .filter(|block| block_type(block) == "tool_use")
        .filter_map(|block| block.get("id").and_then(Value::as_str))
        .collect()
}

/// The `tool_use_id`s of the `tool_result` blocks of `message`.
fn tool_result_ids(message: &Value) -> Vec<&str> {
    blocks(message)
        .iter()
        .filter(|block| block_type(block) == "tool_result")
        .filter_map(|block| block.get("tool_use_id").and_then(Value::as_str))
        .collect()
}

/// The conversation's shape and every block of it; the images and documents found, in order.
fn check_messages(messages: &[Value], thinking: Thinking) -> Result<Vec<Media>, Refusal> {
    let mut previous_role = None;
    let mut media = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let Some(role @ ("user" | "assistant")) = message.get("role").and_then(Value::as_str)
        else {
            return Err(invalid(format!(
                "messages.{index}.role: Input should be 'user' or 'assistant'"
            )));
        };
        if index == 0 && role != "user" {
            return Err(invalid(
                "messages: first message must use the \"user\" role",
            ));
        }
        if previous_role == Some(role) {
            return Err(invalid(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row (messages.{})",
                index - 1
            )));
        }
        previous_role = Some(role);
        let last = index + 1 == messages.len();
        check_content(message, index, role, last, &mut media)?;
    }
    media::check_request(&media)?;
    check_tool_pairs(messages)?;
    if thinking != Thinking::Off {
        check_thinking_in_tool_loop(messages)?;
    }
    Ok(media)
}

/// A final assistant message: refused by models without prefill (a paused server-tool turn
/// sent back to be resumed is not prefill), and never ending in white space.
fn check_prefill(messages: &[Value], spec: &ModelSpec) -> Result<(), Refusal> {
    let Some(last) = messages.last() else {
        return Ok(());
    };
    if last.get("role").and_then(Value::as_str) != Some("assistant") {
        return Ok(());
    }
    let resumes_a_tool = blocks(last)
        .iter()
        .any(|block| block_type(block) == "server_tool_use");
    if !spec.prefill && !resumes_a_tool {
        return Err(invalid(
            "This model does not support assistant message prefill. The conversation must end with a user message.",
        ));
    }
    let ends_in_space = match last.get("content") {
        Some(Value::String(text)) => text.ends_with(char::is_whitespace),
        _ => blocks(last).last().is_some_and(|block| {
            block_type(block) == "text"
                && block
                    .get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.ends_with(char::is_whitespace))
        }),
    };
    if ends_in_space {
        return Err(invalid(
            "messages: final assistant content cannot end with trailing whitespace",
        ));
    }
    Ok(())
}

/// The block types a message may hold: the user's, the assistant's, and those both may.
const BLOCK_TYPES: [&str; 16] = [
    "text",
    "image",
    "document",
    "search_result",
    "tool_result",
    "container_upload",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
];

/// The block types only a user turn may hold.
const USER_ONLY: [&str; 5] = [
    "image",
    "document",
    "search_result",
    "tool_result",
    "container_upload",
];

fn check_content(
    message: &Value,
    index: usize,
    role: &str,
    last: bool,
    media: &mut Vec<Media>,
) -> Result<(), Refusal> {
    let empty = || {
        invalid(format!(
            "messages.{index}: all messages must have non-empty content except for the optional final assistant message"
        ))
    };
    let blocks = match message.get("content") {
        Some(Value::String(text)) if text.trim().is_empty() && !(last && role == "assistant") => {
            return Err(empty());
        }
        Some(Value::String(_)) => return Ok(()),
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(invalid(format!(
                "messages.{index}.content: Input should be a valid string or a list of content blocks"
            )));
        }
    };
    if blocks.is_empty() && !(last && role == "assistant") {
        return Err(empty());
    }
    for (at, block) in blocks.iter().enumerate() {
        let path = format!("messages.{index}.content.{at}");
        let kind = block_type(block);
        let known = BLOCK_TYPES.contains(&kind);
        if known && kind != "text" && USER_ONLY.contains(&kind) != (role == "user") {
            let side = if role == "user" { "assistant" } else { "user" };
            return Err(invalid(format!(
                "{path}: `{kind}` blocks may only appear in {side} messages"
            )));
        }
        // Blocks the API may add to replies, which a client keeps and sends back, pass in an
        // assistant turn; a user turn holds only what the API reads from a user.
        if !known && !kind.is_empty() && role == "user" {
            let expected = BLOCK_TYPES.map(|tag| format!("'{tag}'")).join(", ");
            return Err(invalid(format!(
                "{path}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {expected}"
            )));
        }
        match kind {
            "" => return Err(invalid(format!("{path}.type: Field required"))),
            "text" => check_text(block, &path)?,
            "thinking" => check_thinking_block(block, &path)?,
            "redacted_thinking" => {
                let data = block.get("data").and_then(Value::as_str);
                if !data.is_some_and(signature::verify_redacted) {
                    return Err(invalid(format!(
                        "{path}: Invalid `data` in `redacted_thinking` block"
                    )));
                }
            }
            "tool_use" | "server_tool_use" => {
                for field in ["id", "name"] {
                    if block.get(field).and_then(Value::as_str).is_none() {
                        return Err(invalid(format!("{path}.{field}: Field required")));
                    }
                }
                if !block.get("input").is_some_and(Value::is_object) {
                    return Err(invalid(format!(
                        "{path}.input: Input should be a valid dictionary"
                    )));
                }
            }
            "tool_result" => check_tool_result(block, &path, index, media)?,
            "image" => media.push(Media {
                message: index,
                kind: media::check_image(block, &path)?,
                path,
            }),
            "document" => media.push(Media {
                message: index,
                kind: media::check_document(block, &path)?,
                path,
            }),
            _ => {}
        }
    }
    Ok(())
}

/// The block types a `tool_result`'s `content` list may hold.
const TOOL_RESULT_BLOCKS: [&str; 5] = [
    "text",
    "image",
    "document",
    "search_result",
    "tool_reference",
];

/// A `tool_result`: a string `tool_use_id`, `content` a string or a list of content blocks,
/// `is_error` a boolean.
fn check_tool_result(
    block: &Value,
    path: &str,
    index: usize,
    media: &mut Vec<Media>,
) -> Result<(), Refusal> {
    match block.get("tool_use_id") {
        None | Some(Value::Null) => {
            return Err(invalid(format!("{path}.tool_use_id: Field required")));
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(invalid(format!(
                "{path}.tool_use_id: Input should be a valid string"
            )));
        }
    }
    match block.get("content") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(Value::Array(parts)) => {
            for (at, part) in parts.iter().enumerate() {
                let part_path = format!("{path}.content.{at}");
                match block_type(part) {
                    "" => return Err(invalid(format!("{part_path}.type: Field required"))),
                    "text" => check_text(part, &part_path)?,
                    kind @ ("image" | "document") => {
                        // The API names the block's type in paths inside a tool result.
                        let path = format!("{path}.tool_result.content.{at}");
                        let kind = if kind == "image" {
                            media::check_image(part, &path)?
                        } else {
                            media::check_document(part, &path)?
                        };
                        media.push(Media {
                            message: index,
                            path,
                            kind,
                        });
                    }
                    kind if TOOL_RESULT_BLOCKS.contains(&kind) => {}
                    kind => {
                        return Err(invalid(format!(
                            "{part_path}: Input tag '{kind}' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'search_result', 'tool_reference'"
                        )));
                    }
                }
            }
        }
        Some(_) => {
            return Err(invalid(format!(
                "{path}.content: Input should be a valid string or a list of content blocks"
            )));
        }
    }
    match block.get("is_error") {
        None | Some(Value::Null | Value::Bool(_)) => Ok(()),
        Some(_) => Err(invalid(format!(
            "{path}.is_error: Input should be a valid boolean"
        ))),
    }
}

/// A thinking block must come back exactly as this server signed it.
fn check_thinking_block(block: &Value, path: &str) -> Result<(), Refusal> {
    let Some(thinking) = block.get("thinking").and_then(Value::as_str) else {
        return Err(invalid(format!("{path}.thinking: Field required")));
    };
    let Some(signature) = block.get("signature").and_then(Value::as_str) else {
        return Err(invalid(format!("{path}.signature: Field required")));
    };
    if signature::verify_thinking(thinking, signature) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{path}: Invalid `signature` in `thinking` block"
        )))
    }
}

/// Every `tool_use` answered in the next (user) message, every `tool_result` answering one.
fn check_tool_pairs(messages: &[Value]) -> Result<(), Refusal> {
    for (index, message) in messages.iter().enumerate() {
        let calls = tool_use_ids(message);
        if !calls.is_empty() {
            let answers = messages
                .get(index + 1)
                .map(tool_result_ids)
                .unwrap_or_default();
            let missing: Vec<&str> = calls
                .iter()
                .copied()
                .filter(|id| !answers.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(invalid(format!(
                    "messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    missing.join(", ")
                )));
            }
        }
        let calls_before = index
            .checked_sub(1)
            .map(|before| tool_use_ids(&messages[before]))
            .unwrap_or_default();
        let content = blocks(message);
        let leading = content
            .iter()
            .take_while(|block| block_type(block) == "tool_result")
            .count();
        if let Some(late) = content[leading..]
            .iter()
            .position(|block| block_type(block) == "tool_result")
        {
            return Err(invalid(format!(
                "messages.{index}.content.{}: `tool_result` blocks must come first in the user message content, before any other block. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                leading + late
            )));
        }
        for (at, block) in content.iter().enumerate() {
            if block_type(block) != "tool_result" {
                continue;
            }
            let id = block
                .get("tool_use_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !calls_before.contains(&id) {
                return Err(invalid(format!(
                    "messages.{index}.content.{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )));
            }
        }
    }
    Ok(())
}

/// `tool_use` and `tool_result` blocks only in a request that offers tools.
fn check_tools_defined(messages: &[Value], tools: &[Value]) -> Result<(), Refusal> {
    if !tools.is_empty() {
        return Ok(());
    }
    let uses_tools = messages.iter().flat_map(blocks).any(|block| {
        let kind = block_type(block);
        kind == "tool_use" || kind == "tool_result"
    });
    if uses_tools {
        return Err(invalid(
            "Requests which include `tool_use` or `tool_result` blocks must define tools.",
        ));
    }
    Ok(())
}

/// With thinking on, the assistant turn that opened the current tool loop must start with its
/// thinking, which the client must therefore have kept.
fn check_thinking_in_tool_loop(messages: &[Value]) -> Result<(), Refusal> {
    let [.., assistant, last] = messages else {
        return Ok(());
    };
    if tool_result_ids(last).is_empty() || tool_use_ids(assistant).is_empty() {
        return Ok(());
    }
    let first = blocks(assistant).first().map_or("", block_type);
    if first == "thinking" || first == "redacted_thinking" {
        return Ok(());
    }
    Err(invalid(format!(
        "messages.{}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceding the lastmost set of `tool_use` and `tool_result` blocks).",
        messages.len() - 2
    )))
}

/// Every `cache_control` in evaluation order (tools, system, messages, then the top-level
/// automatic one): valid, at most four, and no `1h` after a `5m`.
fn check_cache_control(
    body: &Map<String, Value>,
    tools: &[Value],
    messages: &[Value],
) -> Result<(), Refusal> {
    let mut marks: Vec<(String, &Value)> = Vec::new();
    for (index, tool) in tools.iter().enumerate() {
        if let Some(mark) = tool.get("cache_control") {
            marks.push((format!("tools.{index}"), mark));
        }
    }
    if let Some(Value::Array(system)) = body.get("system") {
        for (index, block) in system.iter().enumerate() {
            if let Some(mark) = block.get("cache_control") {
                marks.push((format!("system.{index}"), mark));
            }
        }
    }
    for (index, message) in messages.iter().enumerate() {
        for (at, block) in blocks(message).iter().enumerate() {
            if let Some(mark) = block.get("cache_control") {
                marks.push((format!("messages.{index}.content.{at}"), mark));
            }
        }
    }
    if let Some(mark) = body.get("cache_control") {
        marks.push((String::new(), mark));
    }
    marks.retain(|(_, mark)| !mark.is_null());
    let mut seen_short = false;
    for (path, mark) in &marks {
        let field = if path.is_empty() {
            "cache_control".to_string()
        } else {
            format!("{path}.cache_control")
        };
        if mark.get("type").and_then(Value::as_str) != Some("ephemeral") {
            return Err(invalid(format!(
                "{field}.type: Input should be 'ephemeral'"
            )));
        }
        match mark.get("ttl") {
            None | Some(Value::Null) => seen_short = true,
            Some(Value::String(ttl)) if ttl == "5m" => seen_short = true,
            Some(Value::String(ttl)) if ttl == "1h" => {
                if seen_short {
                    return Err(invalid(format!(
                        "{field}.ttl: a cache_control with ttl '1h' must not come after one with ttl '5m' (tools, then system, then messages)"
                    )));
                }
            }
            Some(_) => {
                return Err(invalid(format!(
                    "{field}.ephemeral.ttl: Input should be '5m' or '1h'"
                )));
            }
        }
    }
    if marks.len() > MAX_BREAKPOINTS {
        return Err(invalid(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
            marks.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
