//! Each refusal of the validator on a minimal body, and the bodies it must let through.

use serde_json::json;

use super::*;

fn refusal(body: Value) -> String {
    let models = vec![
        "claude-sonnet-4.5".to_string(),
        "claude-opus-4.6".to_string(),
    ];
    match check(&body, Endpoint::Messages, &models) {
        Ok(_) => String::new(),
        Err(refusal) => refusal.message,
    }
}

fn with(extra: Value) -> Value {
    let mut body = json!({
        "model": "claude-sonnet-4.5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

#[test]
fn a_plain_request_passes() {
    assert_eq!(refusal(with(json!({}))), "");
}

#[test]
fn each_field_is_checked() {
    let cases = [
        (json!({"temperature": 1.5}), "temperature"),
        (json!({"top_p": -0.1}), "top_p"),
        (json!({"top_k": 2.5}), "top_k"),
        (json!({"top_k": -1}), "top_k"),
        (json!({"stop_sequences": ["ok", " "]}), "non-whitespace"),
        (json!({"stop_sequences": "END"}), "stop_sequences"),
        (json!({"metadata": {"user_id": 3}}), "metadata.user_id"),
        (json!({"metadata": {"session": "x"}}), "metadata.session"),
        (json!({"service_tier": "priority"}), "service_tier"),
        (
            json!({"output_config": {"effort": "high"}}),
            "not supported",
        ),
        (json!({"thinking": {"type": "adaptive"}}), "adaptive"),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 1000}}),
            "1024",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 4096}}),
            "max_tokens",
        ),
        (json!({"max_tokens": 100000}), "maximum allowed"),
    ];
    for (extra, mention) in cases {
        let message = refusal(with(extra.clone()));
        assert!(message.contains(mention), "{extra}: {message:?}");
    }
}

#[test]
fn thinking_limits_sampling() {
    let thinking = json!({"type": "enabled", "budget_tokens": 2048});
    let cases = [
        (json!({"temperature": 0.5}), "temperature"),
        (json!({"top_k": 5}), "top_k"),
        (json!({"top_p": 0.9}), "top_p"),
        (json!({"tool_choice": {"type": "any"}}), "tool_choice"),
    ];
    for (extra, mention) in cases {
        let mut body = with(extra.clone());
        body["thinking"] = thinking.clone();
        let message = refusal(body);
        assert!(message.contains(mention), "{extra}: {message:?}");
    }
    let mut fine = with(json!({"temperature": 1, "top_p": 0.97}));
    fine["thinking"] = thinking;
    assert_eq!(refusal(fine), "");
}

#[test]
fn conversation_shape_is_checked() {
    let two_users = json!({"messages": [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]});
    assert!(refusal(with(two_users)).contains("alternate"));
    let assistant_first = json!({"messages": [{"role": "assistant", "content": "a"}]});
    assert!(refusal(with(assistant_first)).contains("first message"));
    let empty = json!({"messages": [
        {"role": "user", "content": []},
    ]});
    assert!(refusal(with(empty)).contains("non-empty"));
    let prefill = json!({"messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": ""},
    ]});
    assert_eq!(refusal(with(prefill)), "");
}

#[test]
fn a_user_turn_holds_only_blocks_the_api_knows_and_reads_from_users() {
    let turns = |user: Value, assistant: Value| {
        with(json!({"messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [assistant]},
            {"role": "user", "content": [user, {"type": "text", "text": "b"}]},
        ]}))
    };
    let text = json!({"type": "text", "text": "t"});
    let unknown = refusal(turns(
        json!({"type": "tern_attachment", "sha256": "ab"}),
        text.clone(),
    ));
    assert!(
        unknown.starts_with("messages.2.content.0: Input tag 'tern_attachment' found using 'type' does not match any of the expected tags: 'text', 'image', 'document'"),
        "{unknown}"
    );
    let server_result =
        json!({"type": "web_search_tool_result", "tool_use_id": "x", "content": []});
    assert_eq!(
        refusal(turns(server_result, text.clone())),
        "messages.2.content.0: `web_search_tool_result` blocks may only appear in assistant messages"
    );
    // A block the API may add to a reply one day comes back in its assistant turn untouched.
    let future = json!({"type": "fallback", "model": "x"});
    assert_eq!(refusal(turns(text.clone(), future)), "");
}

#[test]
fn too_many_breakpoints_and_bad_ttls() {
    let mark = json!({"type": "ephemeral"});
    let block = json!({"type": "text", "text": "x", "cache_control": mark});
    let five = json!({"system": [block, block, block, block, block]});
    assert!(refusal(with(five)).contains("Found 5"));
    let bad_ttl = json!({"system": [
        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}},
    ]});
    assert!(refusal(with(bad_ttl)).contains("'5m' or '1h'"));
    let late_long = json!({"system": [
        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "y", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    ]});
    assert!(refusal(with(late_long)).contains("must not come after"));
}

#[test]
fn prefill_is_refused_by_the_four_six_models_and_never_ends_in_space() {
    let prefill = |model: &str, last: Value| {
        refusal(json!({
            "model": model,
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "q"}, last],
        }))
    };
    let text = json!({"role": "assistant", "content": "The answer is"});
    assert_eq!(prefill("claude-sonnet-4.5", text.clone()), "");
    assert!(
        prefill("claude-opus-4.6", text).contains("does not support assistant message prefill")
    );
    let spaced = json!({"role": "assistant", "content": [{"type": "text", "text": "The answer "}]});
    assert!(prefill("claude-sonnet-4.5", spaced).contains("trailing whitespace"));
    // A paused server-tool turn sent back is resumed, not prefilled, on every model.
    let paused = json!({"role": "assistant", "content": [
        {"type": "text", "text": "Let me search."},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
    ]});
    assert_eq!(prefill("claude-opus-4.6", paused), "");
}
