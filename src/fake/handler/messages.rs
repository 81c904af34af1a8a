//! `POST /v1/messages`: the request checked in the order the real endpoint checks it (JSON,
//! `model`, `messages`, a known model), then the prompt's `scenario:` and `words:` read, and
//! the validated request handed on as a [`Turn`] for its scenario to answer.
//!
//! Apart from the scenarios (`scenarios.rs`) so the strict validation, which every scenario
//! passes through first, reads as one list of refusals.

use serde_json::Value;

use super::super::scenario::Directives;
use super::super::{RecordedRequest, ServerState};
use super::answer::Answer;
use super::scenarios::{Turn, answer_scenario};

/// `POST /v1/messages`: validate, pick the scenario, plan the reply.
pub(super) fn respond_messages(
    state: &ServerState,
    request: &RecordedRequest,
    number: u64,
) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return Answer::error(400, "invalid_request_error", "invalid JSON body");
    };
    if !body.is_object() {
        return Answer::error(
            400,
            "invalid_request_error",
            "invalid JSON body: expected an object",
        );
    }
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return Answer::error(400, "invalid_request_error", "model: Field required");
    };
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Answer::error(400, "invalid_request_error", "messages: Field required");
    };
    if messages.is_empty() {
        return Answer::error(
            400,
            "invalid_request_error",
            "messages: at least one message is required",
        );
    }
    if !state.config.models.iter().any(|known| known == model) {
        return Answer::error(
            404,
            "not_found_error",
            format!(
                "model: {model} not found; known models: {}",
                state.config.models.join(", ")
            ),
        );
    }

    let prompt = last_user_text(messages);
    let directives = Directives::parse(&prompt);
    let scenario = match directives.scenario {
        Some(Ok(scenario)) => scenario,
        Some(Err(error)) => return Answer::error(400, "invalid_request_error", error.to_string()),
        None => state.config.default_scenario,
    };
    let turn = Turn {
        number,
        model,
        words: directives.words,
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        input_tokens: input_words(&body).max(1) as u64,
        delay: state.config.delay,
        prompt,
    };
    answer_scenario(state, &turn, scenario)
}

/// Calls `visit` with every piece of text in a message `content` (a string or blocks).
fn visit_text<'a>(content: &'a Value, visit: &mut impl FnMut(&'a str)) {
    match content {
        Value::String(text) => visit(text),
        Value::Array(blocks) => {
            for block in blocks {
                for key in ["text", "thinking"] {
                    if let Some(text) = block.get(key).and_then(Value::as_str) {
                        visit(text);
                    }
                }
                if let Some(nested) = block.get("content") {
                    visit_text(nested, visit);
                }
            }
        }
        _ => {}
    }
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

/// The fake input token count: whitespace-separated words of `system` and every message.
fn input_words(body: &Value) -> usize {
    let mut words = 0;
    let mut count = |text: &str| words += text.split_whitespace().count();
    if let Some(system) = body.get("system") {
        visit_text(system, &mut count);
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            if let Some(content) = message.get("content") {
                visit_text(content, &mut count);
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn input_words_count_system_and_all_text() {
        let body = json!({
            "system": [{"type": "text", "text": "be terse"}],
            "messages": [
                {"role": "user", "content": "one two three"},
                {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "x", "content": "five six"},
                    {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                ]},
            ],
        });
        assert_eq!(input_words(&body), 8);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(last_user_text(messages), "five six");
    }
}
