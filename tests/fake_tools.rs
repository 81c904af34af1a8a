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

/// One SSE event's parsed `data:`.
fn parse_sse(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|block| {
            block
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .map(|data| serde_json::from_str(data).expect("data is JSON"))
        })
        .collect()
}

/// Streams `body`; returns the assistant turn the events build (tool input parsed from its
/// `input_json_delta` fragments, which must start with an empty one), the stop reason, and
/// the events.
async fn streamed_turn(server: &FakeServer, body: &Value) -> (Value, String, Vec<Value>) {
    let response = post(server, body).await;
    assert_eq!(response.status(), 200, "{body}");
    let events = parse_sse(&response.text().await.unwrap());
    let mut blocks: Vec<Value> = Vec::new();
    let mut fragments: Vec<String> = Vec::new();
    let mut stop_reason = String::new();
    for event in &events {
        match event["type"].as_str().unwrap() {
            "content_block_start" => {
                assert_eq!(event["index"], blocks.len());
                blocks.push(event["content_block"].clone());
                fragments.clear();
            }
            "content_block_delta" => {
                let block = blocks.last_mut().unwrap();
                let delta = &event["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = block["text"].as_str().unwrap().to_string();
                        block["text"] = json!(text + delta["text"].as_str().unwrap());
                    }
                    "thinking_delta" => {
                        let text = block["thinking"].as_str().unwrap().to_string();
                        block["thinking"] = json!(text + delta["thinking"].as_str().unwrap());
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        fragments.push(delta["partial_json"].as_str().unwrap().to_string())
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" if blocks.last().unwrap()["type"] == "tool_use" => {
                assert_eq!(fragments.first().map(String::as_str), Some(""));
                let block = blocks.last_mut().unwrap();
                assert_eq!(block["input"], json!({}));
                block["input"] = serde_json::from_str(&fragments.concat()).unwrap();
            }
            "message_delta" => stop_reason = event["delta"]["stop_reason"].as_str().unwrap().into(),
            _ => {}
        }
    }
    (
        json!({"role": "assistant", "content": blocks}),
        stop_reason,
        events,
    )
}

fn calls_of(turn: &Value) -> Vec<Value> {
    turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|block| block["type"] == "tool_use")
        .cloned()
        .collect()
}

fn text_of(turn: &Value) -> String {
    turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|block| block["type"] == "text")
        .map(|block| block["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `body` with `turn` and a user turn answering each call of it with `answer(call)`.
fn answered(body: &mut Value, turn: Value, answer: impl FnMut(&Value) -> Value) {
    let results: Vec<Value> = calls_of(&turn).iter().map(answer).collect();
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(turn);
    messages.push(json!({"role": "user", "content": results}));
}

const READ_NOTES: &str =
    r#"read my notes scenario:call-tool tool:files__read_file args:{"path":"notes.txt"}"#;

#[tokio::test]
async fn call_tool_calls_the_named_tool_and_quotes_the_result() {
    let server = start().await;
    let mut request = body(READ_NOTES, true);
    let (turn, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "tool_use");
    let content = turn["content"].as_array().unwrap();
    assert_eq!(content.len(), 2, "{turn}");
    assert_eq!(content[0]["type"], "text");
    assert_eq!(
        content[0]["text"],
        "Let me call `files__read_file` for you."
    );
    assert_eq!(content[1]["type"], "tool_use");
    assert_eq!(content[1]["id"], "toolu_fake_1_1");
    assert_eq!(content[1]["name"], "files__read_file");
    assert_eq!(content[1]["input"], json!({"path": "notes.txt"}));

    answered(
        &mut request,
        turn,
        |call| json!({"type": "tool_result", "tool_use_id": call["id"], "content": "Buy milk.\nCall Ann."}),
    );
    let (answer, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "end_turn");
    assert_eq!(
        text_of(&answer),
        "Tool result for toolu_fake_1_1: Buy milk.\nCall Ann."
    );

    // Without streaming, the same; an error result is marked.
    let mut request = body(READ_NOTES, false);
    let message: Value = post(&server, &request).await.json().await.unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][1]["input"], json!({"path": "notes.txt"}));
    let turn = json!({"role": "assistant", "content": message["content"]});
    answered(&mut request, turn, |call| {
        json!({"type": "tool_result", "tool_use_id": call["id"], "is_error": true,
               "content": [{"type": "text", "text": "ENOENT: no such file"}]})
    });
    let message: Value = post(&server, &request).await.json().await.unwrap();
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(
        message["content"][0]["text"],
        "Tool result for toolu_fake_3_1 (error): ENOENT: no such file"
    );
}

#[tokio::test]
async fn call_tool_makes_parallel_calls_unless_told_not_to() {
    let server = start().await;
    let prompt = format!("{READ_NOTES} calls:3");
    let mut request = body(&prompt, true);
    let (turn, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "tool_use");
    let calls = calls_of(&turn);
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["toolu_fake_1_1", "toolu_fake_1_2", "toolu_fake_1_3"]);
    assert!(
        calls
            .iter()
            .all(|c| c["input"] == json!({"path": "notes.txt"}))
    );
    assert!(text_of(&turn).contains("3 times at once"));

    answered(&mut request, turn, |call| {
        let id = call["id"].as_str().unwrap();
        if id.ends_with('2') {
            json!({"type": "tool_result", "tool_use_id": id, "content": [
                {"type": "text", "text": "a chart:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ]})
        } else {
            json!({"type": "tool_result", "tool_use_id": id, "content": format!("text of {id}")})
        }
    });
    let (answer, _, _) = streamed_turn(&server, &request).await;
    assert_eq!(
        text_of(&answer),
        "Tool result for toolu_fake_1_1: text of toolu_fake_1_1\n\n\
         Tool result for toolu_fake_1_2: a chart:\n[image]\n\n\
         Tool result for toolu_fake_1_3: text of toolu_fake_1_3"
    );

    let mut one = body(&prompt, true);
    one["tool_choice"] = json!({"type": "auto", "disable_parallel_tool_use": true});
    let (turn, _, _) = streamed_turn(&server, &one).await;
    assert_eq!(calls_of(&turn).len(), 1, "{turn}");
}

#[tokio::test]
async fn call_tool_loops_for_its_steps_with_thinking_kept() {
    let server = start().await;
    let mut request = body(&format!("{READ_NOTES} steps:3"), true);
    request["max_tokens"] = json!(4096);
    request["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    let mut seen = Vec::new();
    for round in 1..=3 {
        let (turn, stop_reason, _) = streamed_turn(&server, &request).await;
        assert_eq!(stop_reason, "tool_use", "round {round}: {turn}");
        assert_eq!(turn["content"][0]["type"], "thinking");
        if round > 1 {
            let text = text_of(&turn);
            assert!(text.contains(&format!("Round {round} of 3")), "{text}");
            assert!(text.contains(&format!("result {}", round - 1)), "{text}");
        }
        answered(&mut request, turn, |call| {
            seen.push(call["id"].as_str().unwrap().to_string());
            json!({"type": "tool_result", "tool_use_id": call["id"], "content": format!("result {round}")})
        });
    }
    let (answer, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "end_turn");
    assert_eq!(
        text_of(&answer),
        format!("Tool result for {}: result 3", seen[2])
    );
    let distinct: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 3, "{seen:?}");
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn call_tool_cannot_call_what_it_was_not_given() {
    let server = start().await;
    let (turn, stop_reason, _) = streamed_turn(
        &server,
        &body("scenario:call-tool tool:files__write args:{}", true),
    )
    .await;
    assert_eq!(stop_reason, "end_turn");
    assert!(calls_of(&turn).is_empty());
    assert_eq!(
        text_of(&turn),
        "I cannot call `files__write`: it is not among my tools (the request offers: files__read_file, files__list)."
    );

    let mut no_tools = body("scenario:call-tool tool:files__list", true);
    no_tools.as_object_mut().unwrap().remove("tools");
    let (turn, _, _) = streamed_turn(&server, &no_tools).await;
    assert!(
        text_of(&turn).contains("the request offers no tools"),
        "{turn}"
    );

    let mut none = body("scenario:call-tool tool:files__list", true);
    none["tool_choice"] = json!({"type": "none"});
    let (turn, stop_reason, _) = streamed_turn(&server, &none).await;
    assert_eq!(stop_reason, "end_turn");
    assert!(text_of(&turn).contains("tool_choice is none"), "{turn}");

    // Without `args:` the input fits the schema; a broken `args:` is the prompt's mistake.
    let (turn, _, _) =
        streamed_turn(&server, &body("scenario:call-tool tool:files__list", true)).await;
    assert_eq!(calls_of(&turn)[0]["input"], json!({"path": "tern"}));
    let response = post(
        &server,
        &body(r#"scenario:call-tool args:{"path": "#, false),
    )
    .await;
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("args:"),
        "{answer}"
    );
}

#[tokio::test]
async fn tool_use_answers_its_results_instead_of_calling_again() {
    let server = start().await;
    let mut request = body("weather? scenario:tool-use", true);
    let (turn, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "tool_use");
    answered(
        &mut request,
        turn,
        |call| json!({"type": "tool_result", "tool_use_id": call["id"], "content": "18 °C and foggy"}),
    );
    let (answer, stop_reason, _) = streamed_turn(&server, &request).await;
    assert_eq!(stop_reason, "end_turn");
    assert_eq!(
        text_of(&answer),
        "Tool result for toolu_fake_1: 18 °C and foggy"
    );
}
