//! `POST /v1/messages` and `POST /v1/messages/count_tokens`: the body checked as the real
//! endpoint checks it (`validate.rs`), then, for messages, the prompt's `scenario:` and
//! `words:` read and the validated request handed on as a [`Turn`] for its scenario to answer.
//!
//! Apart from the scenarios (`scenarios.rs`) so that what every request passes through first
//! reads in one place.

use serde_json::Value;

use super::super::cache::{self, visit_text};
use super::super::scenario::Directives;
use super::super::wire::TokenCount;
use super::super::{RecordedRequest, ServerState};
use super::answer::Answer;
use super::scenarios::{Turn, answer_scenario};
use super::validate::{self, Endpoint, Refusal};

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Answer {
        Answer::error(refusal.status, refusal.error_type, refusal.message)
    }
}

/// The body as JSON, or the API's answer to a body that is not.
fn parse(request: &RecordedRequest) -> Result<Value, Refusal> {
    serde_json::from_slice::<Value>(&request.body).map_err(|_| Refusal {
        status: 400,
        error_type: "invalid_request_error",
        message: "invalid JSON body".to_string(),
    })
}

/// `POST /v1/messages`: validate, pick the scenario, plan the reply.
pub(super) fn respond_messages(
    state: &ServerState,
    request: &RecordedRequest,
    number: u64,
) -> Answer {
    let body = match parse(request) {
        Ok(body) => body,
        Err(refusal) => return refusal.into(),
    };
    let checked = match validate::check(&body, Endpoint::Messages, &state.config.models) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.into(),
    };
    let prompt = last_user_text(checked.messages);
    // In a tool loop the last user turns hold only tool results: the directives stay those of
    // the prompt that started the loop.
    let (origin, own_text) = origin_prompt(checked.messages);
    let directives = Directives::parse(&own_text);
    let scenario = match directives.scenario {
        Some(Ok(scenario)) => scenario,
        Some(Err(error)) => return Answer::error(400, "invalid_request_error", error.to_string()),
        None => state.config.default_scenario,
    };
    let min_cacheable = state
        .config
        .min_cacheable_tokens
        .unwrap_or(checked.spec.min_cacheable_tokens);
    let last = checked.messages.last();
    let continues = last
        .and_then(|message| message.get("role"))
        .and_then(Value::as_str)
        == Some("assistant");
    let paused_call =
        last.and_then(|message| message.get("content"))
            .and_then(Value::as_array)
            .and_then(|blocks| {
                blocks.iter().rev().find(|block| {
                    block.get("type").and_then(Value::as_str) == Some("server_tool_use")
                })
            })
            .and_then(|block| block.get("id"))
            .and_then(Value::as_str)
            .map(String::from);
    let turn = Turn {
        state,
        number,
        model: checked.model,
        words: directives.words,
        stream: checked.stream,
        units: cache::units(&body, checked.model),
        min_cacheable,
        max_tokens: checked.max_tokens,
        thinking: checked.thinking,
        stop_sequences: checked.stop_sequences,
        tools: checked.tools,
        tool_choice: checked.tool_choice,
        messages: checked.messages,
        media: &checked.media,
        origin,
        directives: &directives,
        continues,
        paused_call,
        delay: state.config.delay,
        prompt,
    };
    answer_scenario(state, &turn, scenario)
}

/// `POST /v1/messages/count_tokens`: the same checks (without `max_tokens`) and the same
/// count as a reply's usage, all of it, cached or not.
pub(super) fn respond_count_tokens(state: &ServerState, request: &RecordedRequest) -> Answer {
    let body = match parse(request) {
        Ok(body) => body,
        Err(refusal) => return refusal.into(),
    };
    match validate::check(&body, Endpoint::CountTokens, &state.config.models) {
        Ok(checked) => {
            let units = cache::units(&body, checked.model);
            let input_tokens = cache::total_tokens(&units).max(1);
            Answer::json(200, &TokenCount { input_tokens })
        }
        Err(refusal) => refusal.into(),
    }
}

/// The last `user` message with text of its own (outside `tool_result` blocks): its index and
/// that text, blocks joined by newlines.
fn origin_prompt(messages: &[Value]) -> (usize, String) {
    messages
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, message)| message.get("role").and_then(Value::as_str) == Some("user"))
        .find_map(|(index, message)| {
            let text = match message.get("content")? {
                Value::String(text) => text.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|block| block.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => return None,
            };
            (!text.is_empty()).then_some((index, text))
        })
        .unwrap_or_default()
}

/// The text of the last `user` message, blocks joined by newlines.
fn last_user_text(messages: &[Value]) -> String {
    let Some(content) = messages
        .iter()
        .rev()
        .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|message| message.get("content"))
    else {
        return String::new();
    };
    let mut pieces = Vec::new();
    visit_text(content, &mut |text| pieces.push(text));
    pieces.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_prompt_is_the_last_user_text() {
        let messages = json!([
            {"role": "user", "content": "one two three"},
            {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "x", "content": "five six"},
                {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
            ]},
        ]);
        assert_eq!(last_user_text(messages.as_array().unwrap()), "five six");
        assert_eq!(
            origin_prompt(messages.as_array().unwrap()),
            (0, "one two three".to_string())
        );
    }
}
