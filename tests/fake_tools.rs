//! The fake server, tools and attachments, seen from outside: what it refuses about `tools`,
//! `tool_choice`, `tool_use` and `tool_result`, and about `image` and `document` blocks and
//! request sizes (as the real API does), the `call-tool` scenario that calls a named tool and
//! quotes what comes back, and the `attachments` scenario that says what a request carried.
//!
//! Each test starts its own server on a random port and drives it over real HTTP.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use serde_json::{Value, json};
use tern::fake::mcp::TINY_PNG;
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
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
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
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
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

/// An image of `width`×`height` in `format`, encoded, as base64.
fn image_data(format: image::ImageFormat, width: u32, height: u32) -> String {
    use base64::Engine as _;
    let pixels = image::RgbImage::from_pixel(width, height, image::Rgb([10, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(out.into_inner())
}

fn png_block(width: u32, height: u32) -> Value {
    json!({"type": "image", "source": {"type": "base64", "media_type": "image/png",
        "data": image_data(image::ImageFormat::Png, width, height)}})
}

/// A PDF of `pages` blank pages, written by hand; with `encrypt`, its trailer names a
/// security handler.
fn pdf_data(pages: usize, encrypt: bool) -> String {
    use base64::Engine as _;
    let kids: Vec<String> = (0..pages).map(|n| format!("{} 0 R", 3 + n)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    ];
    objects.extend(
        (0..pages).map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_string()),
    );
    if encrypt {
        objects.push(format!(
            "<< /Filter /Standard /V 1 /R 2 /O ({0}) /U ({0}) /P -4 >>",
            "x".repeat(32)
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    let encrypt = if encrypt {
        format!(" /Encrypt {} 0 R /ID [<00> <00>]", objects.len())
    } else {
        String::new()
    };
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R{encrypt} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn pdf_block(title: &str, pages: usize) -> Value {
    json!({"type": "document", "title": title, "source": {"type": "base64",
        "media_type": "application/pdf", "data": pdf_data(pages, false)}})
}

fn text_block(title: &str, text: &str) -> Value {
    json!({"type": "document", "title": title, "source": {"type": "text",
        "media_type": "text/plain", "data": text}})
}

/// A conversation whose last user turn holds `blocks` and then `prompt`.
fn with_attachments(blocks: Vec<Value>, prompt: &str) -> Value {
    let mut content = blocks;
    content.push(json!({"type": "text", "text": prompt}));
    body_with(json!({"messages": [{"role": "user", "content": content}]}))
}

#[tokio::test]
async fn attachments_says_what_the_turn_and_the_request_carried() {
    let server = start().await;
    let source = "fn main() {\n    println!(\"hi\");\n}\n";
    let mut text = text_block("main.rs", source);
    text["citations"] = json!({"enabled": false});
    let body = body_with(json!({"messages": [
        {"role": "user", "content": [png_block(20, 10), {"type": "text", "text": "look"}]},
        {"role": "assistant", "content": "A small picture."},
        {"role": "user", "content": [
            png_block(640, 480),
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                "data": image_data(image::ImageFormat::Jpeg, 1568, 1176)}},
            pdf_block("paper.pdf", 3),
            text,
            {"type": "text", "text": "what are these? scenario:attachments"},
        ]},
    ]}));
    let response = post(&server, &body).await;
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(
        reply["content"][0]["text"],
        "attachments: 4 in this turn, 5 in the request\n\
         image image/png 640×480\n\
         image image/jpeg 1568×1176\n\
         document application/pdf \"paper.pdf\" 3 pages citations=off\n\
         document text/plain \"main.rs\" 3 lines 34 chars citations=off\n\
         request: 3 images, 2 documents, 3 PDF pages"
    );
}

#[tokio::test]
async fn attachments_the_api_refuses_are_refused() {
    let server = start().await;
    let jpeg = image_data(image::ImageFormat::Jpeg, 8, 8);
    let mislabelled = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": jpeg}});
    let mut cited = pdf_block("a.pdf", 1);
    cited["citations"] = json!({"enabled": true});
    let big_base64 = "A".repeat(5 * 1024 * 1024 + 4);
    let cases = [
        (
            with_attachments(vec![mislabelled.clone()], "hi"),
            "messages.0.content.0.image.source.base64: The image was specified using the image/png media type, but the image appears to be a image/jpeg image",
        ),
        (
            with_attachments(
                vec![json!({"type": "tern_attachment", "sha256": "ab", "kind": "image"})],
                "hi",
            ),
            "messages.0.content.0: Input tag 'tern_attachment' found using 'type' does not match any of the expected tags",
        ),
        (
            body_with(json!({"messages": [
                {"role": "user", "content": "draw"},
                {"role": "assistant", "content": [png_block(4, 4)]},
                {"role": "user", "content": "again"},
            ]})),
            "messages.1.content.0: `image` blocks may only appear in user messages",
        ),
        (
            body_with(json!({"messages": [
                {"role": "user", "content": "read"},
                {"role": "assistant", "content": [pdf_block("a.pdf", 1)]},
                {"role": "user", "content": "again"},
            ]})),
            "messages.1.content.0: `document` blocks may only appear in user messages",
        ),
        (
            with_attachments(vec![cited, text_block("b.txt", "b")], "hi"),
            "citations must be enabled on all of a request's documents or on none",
        ),
        (
            with_attachments((0..101).map(|_| png_block(1, 1)).collect(), "hi"),
            "too many images and documents: 101 + 0 > 100",
        ),
        (
            with_attachments(vec![pdf_block("a.pdf", 51), pdf_block("b.pdf", 50)], "hi"),
            "A maximum of 100 PDF pages may be provided.",
        ),
        (
            with_attachments(
                (0..20)
                    .map(|_| png_block(1, 1))
                    .chain([png_block(2001, 1)])
                    .collect(),
                "hi",
            ),
            "messages.0.content.20.image.source.base64.data: At least one of the image dimensions exceed max allowed size for many-image requests: 2000 pixels",
        ),
        (
            with_attachments(vec![png_block(8001, 1)], "hi"),
            "messages.0.content.0.image.source.base64.data: At least one of the image dimensions exceed max allowed size: 8000 pixels",
        ),
        (
            with_attachments(
                vec![
                    json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": big_base64}}),
                ],
                "hi",
            ),
            "messages.0.content.0.image.source.base64: image exceeds 5 MB maximum: 5242884 bytes > 5242880 bytes",
        ),
        (
            with_attachments(
                vec![json!({"type": "document", "source": {"type": "base64",
                    "media_type": "application/pdf", "data": pdf_data(1, true)}})],
                "hi",
            ),
            "messages.0.content.0.pdf.source.base64.data: The PDF specified is encrypted",
        ),
        (
            body_with(json!({"messages": [
                {"role": "user", "content": "shoot"},
                {"role": "assistant", "content": [call("toolu_1")]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [mislabelled]}]},
            ]})),
            "messages.2.content.0.tool_result.content.0.image.source.base64: The image was specified using the image/png media type",
        ),
    ];
    for (body, mention) in cases {
        let message = refusal_of(&server, &body).await;
        assert!(
            message.contains(mention),
            "{message:?} should mention {mention:?}"
        );
    }
    // Twenty images of any size, and a hundred images and PDFs in all, pass.
    assert_accepted(
        &server,
        vec![
            json!({"messages": [{"role": "user", "content":
                (0..19).map(|_| png_block(1, 1)).chain([png_block(2001, 1), json!({"type": "text", "text": "hi"})]).collect::<Vec<_>>()}]}),
            json!({"messages": [{"role": "user", "content":
                (0..99).map(|_| png_block(1, 1)).chain([pdf_block("a.pdf", 100), json!({"type": "text", "text": "hi"})]).collect::<Vec<_>>()}]}),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_body_over_32_mb_gets_the_apis_413() {
    let server = start().await;
    // Just over the limit, and well over it (the server reads the body to its end before
    // answering, so the client, still sending, reads the answer).
    for length in [32_000_001, 40_000_000] {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/messages", server.base_url()))
            .bearer_auth("test-key")
            .header("content-type", "application/json")
            .body(vec![b' '; length])
            .send()
            .await
            .expect("the refusal is read, not a reset connection");
        assert_eq!(response.status(), 413, "{length}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["type"], "error");
        assert_eq!(answer["error"]["type"], "request_too_large");
        assert_eq!(
            answer["error"]["message"],
            "Request exceeds the maximum allowed number of bytes."
        );
    }
}
