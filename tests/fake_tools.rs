//! The fake server and tools, seen from outside: what it refuses about `tools`, `tool_choice`,
//! `tool_use` and `tool_result` (as the real API does), and the `call-tool` scenario that calls
//! a named tool and quotes what comes back.
//!
//! Each test starts its own server on a random port and drives it over real HTTP.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use serde_json::{Value, json};
use tern::fake::{FakeConfig, FakeServer};

const MODEL: &str = "claude-sonnet-4.5";

async fn start() -> FakeServer {
    FakeServer::start(FakeConfig::default())
        .await
        .expect("fake server starts")
}

async fn post(server: &FakeServer, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", server.base_url()))
        .bearer_auth("test-key")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("request is answered")
}

/// A tool as an MCP bridge would offer it.
fn tool(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Reads a file",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    })
}

fn body(prompt: &str, stream: bool) -> Value {
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": prompt}],
        "tools": [tool("files__read_file"), tool("files__list")],
        "stream": stream,
    })
}

/// `body("hi", false)` with `extra`'s fields set (a `null` removes the field).
fn body_with(extra: Value) -> Value {
    let mut body = body("hi", false);
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
    }
    body
}

/// The message of a 400 `invalid_request_error` answer to `body` (panics on anything else).
async fn refusal_of(server: &FakeServer, body: &Value) -> String {
    let response = post(server, body).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 400, "{body}: {answer}");
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    answer["error"]["message"].as_str().unwrap().to_string()
}

async fn assert_refused(server: &FakeServer, cases: Vec<(Value, &str)>) {
    for (extra, mention) in cases {
        let message = refusal_of(server, &body_with(extra.clone())).await;
        assert!(
            message.contains(mention),
            "{extra}: {message:?} should mention {mention:?}"
        );
    }
}

async fn assert_accepted(server: &FakeServer, cases: Vec<Value>) {
    for extra in cases {
        let response = post(server, &body_with(extra.clone())).await;
        let status = response.status();
        assert_eq!(status, 200, "{extra}: {}", response.text().await.unwrap());
    }
}

#[tokio::test]
async fn tool_definitions_are_checked_like_the_api() {
    let server = start().await;
    let pattern = "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'";
    assert_refused(
        &server,
        vec![
            (json!({"tools": [tool("files.read")]}), pattern),
            (json!({"tools": [tool("read file")]}), pattern),
            (json!({"tools": [tool(&"x".repeat(65))]}), pattern),
            (
                json!({"tools": [{"name": "read", "description": "no schema"}]}),
                "tools.0.custom.input_schema: Field required",
            ),
            (
                json!({"tools": [{"name": "read", "input_schema": {"type": "string"}}]}),
                "tools.0.custom.input_schema.type: Input should be 'object'",
            ),
            (
                json!({"tools": [{"name": "read", "input_schema": {"properties": {}}}]}),
                "input_schema.type",
            ),
            (
                json!({"tools": [{"name": "read", "input_schema": "object"}]}),
                "input_schema: Input should be a valid dictionary",
            ),
            (
                json!({"tools": [tool("a"), tool("b"), tool("a")]}),
                "tools: Tool names must be unique.",
            ),
        ],
    )
    .await;
    assert_accepted(
        &server,
        vec![
            json!({"tools": [tool(&"x".repeat(64)), tool("files__read-file_2")]}),
            json!({"tools": [tool("a"), {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]}),
        ],
    )
    .await;
}

#[tokio::test]
async fn tool_choice_is_checked_like_the_api() {
    let server = start().await;
    let thinking = json!({"type": "enabled", "budget_tokens": 1024});
    assert_refused(
        &server,
        vec![
            (json!({"tool_choice": "auto"}), "tool_choice"),
            (json!({"tool_choice": {}}), "discriminator 'type'"),
            (json!({"tool_choice": {"type": "required"}}), "'required'"),
            (
                json!({"tool_choice": {"type": "tool"}}),
                "tool_choice.tool.name: Field required",
            ),
            (
                json!({"tool_choice": {"type": "tool", "name": "files__write"}}),
                "files__write",
            ),
            (
                json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": "yes"}}),
                "disable_parallel_tool_use: Input should be a valid boolean",
            ),
            (
                json!({"tool_choice": {"type": "none", "disable_parallel_tool_use": true}}),
                "tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted",
            ),
            (
                json!({"tool_choice": {"type": "any", "name": "files__list"}}),
                "tool_choice.any.name: Extra inputs are not permitted",
            ),
            (
                json!({"tools": null, "tool_choice": {"type": "auto"}}),
                "may only be specified while providing tools",
            ),
            (
                json!({"max_tokens": 2048, "thinking": thinking, "tool_choice": {"type": "tool", "name": "files__list"}}),
                "Thinking may not be enabled when tool_choice forces tool use.",
            ),
        ],
    )
    .await;
    assert_accepted(
        &server,
        vec![
            json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
            json!({"tool_choice": {"type": "any", "disable_parallel_tool_use": false}}),
            json!({"tool_choice": {"type": "tool", "name": "files__list"}}),
            json!({"tool_choice": {"type": "none"}}),
            json!({"max_tokens": 2048, "thinking": thinking, "tool_choice": {"type": "auto"}}),
        ],
    )
    .await;
}

fn call(id: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": "files__read_file", "input": {"path": "a"}})
}

fn result(id: &str) -> Value {
    json!({"type": "tool_result", "tool_use_id": id, "content": "text"})
}

/// A conversation: a prompt, an assistant turn of `calls`, a user turn of `answers`.
fn history(calls: Vec<Value>, answers: Vec<Value>) -> Value {
    json!({"messages": [
        {"role": "user", "content": "read it"},
        {"role": "assistant", "content": calls},
        {"role": "user", "content": answers},
    ]})
}

#[tokio::test]
async fn a_tool_history_is_checked_like_the_api() {
    let server = start().await;
    let text = json!({"type": "text", "text": "and then?"});
    let mut no_tools = history(vec![call("toolu_1")], vec![result("toolu_1")]);
    no_tools["tools"] = Value::Null;
    assert_refused(
        &server,
        vec![
            (
                history(vec![call("toolu_1"), call("toolu_2")], vec![result("toolu_1")]),
                "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_2. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
            ),
            (
                history(vec![call("toolu_1")], vec![result("toolu_1"), result("toolu_7")]),
                "unexpected `tool_use_id` found in `tool_result` blocks: toolu_7",
            ),
            (
                history(vec![call("toolu_1")], vec![text.clone(), result("toolu_1")]),
                "messages.2.content.1: `tool_result` blocks must come first",
            ),
            (
                no_tools,
                "Requests which include `tool_use` or `tool_result` blocks must define tools.",
            ),
        ],
    )
    .await;
    assert_accepted(
        &server,
        vec![history(
            vec![call("toolu_1"), call("toolu_2")],
            vec![result("toolu_2"), result("toolu_1"), text],
        )],
    )
    .await;
}

#[tokio::test]
async fn a_tool_result_has_the_api_shape() {
    let server = start().await;
    let answer = |result: Value| history(vec![call("toolu_1")], vec![result]);
    assert_refused(
        &server,
        vec![
            (
                answer(json!({"type": "tool_result", "tool_use_id": 7, "content": "x"})),
                "messages.2.content.0.tool_use_id: Input should be a valid string",
            ),
            (
                answer(json!({"type": "tool_result", "content": "x"})),
                "messages.2.content.0.tool_use_id: Field required",
            ),
            (
                answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": 42})),
                "messages.2.content.0.content: Input should be a valid string or a list",
            ),
            (
                answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": {"text": "x"}})),
                "messages.2.content.0.content",
            ),
            (
                answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "ok"},
                    {"type": "tool_use", "id": "toolu_2", "name": "x", "input": {}},
                ]})),
                "messages.2.content.0.content.1",
            ),
            (
                answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text"},
                ]})),
                "messages.2.content.0.content.0.text: Field required",
            ),
            (
                answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "x", "is_error": "no"})),
                "messages.2.content.0.is_error: Input should be a valid boolean",
            ),
        ],
    )
    .await;
    assert_accepted(
        &server,
        vec![
            answer(json!({"type": "tool_result", "tool_use_id": "toolu_1"})),
            answer(
                json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "x", "is_error": true}),
            ),
            answer(json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": "a picture:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ]})),
        ],
    )
    .await;
}
