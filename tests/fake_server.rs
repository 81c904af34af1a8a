//! The fake server, seen from outside: real HTTP over 127.0.0.1, checked against what the real
//! Messages API sends (status codes, headers, error bodies, event order and JSON shapes).
//!
//! Each test starts its own server (random port), so scenario counters never leak between
//! tests. Replies use small `words:N` to keep the whole file fast.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};
use tern::fake::{FakeConfig, FakeServer, Scenario};

const MODEL: &str = "claude-sonnet-4.5";

async fn start() -> FakeServer {
    start_with(FakeConfig::default()).await
}

async fn start_with(config: FakeConfig) -> FakeServer {
    FakeServer::start(config).await.expect("fake server starts")
}

/// A request offering the `get_weather` tool.
fn with_tools(prompt: &str, stream: bool) -> Value {
    let mut body = request_body(prompt, stream);
    body["tools"] = json!([{
        "name": "get_weather",
        "description": "Get the current weather",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
    }]);
    body
}

fn request_body(prompt: &str, stream: bool) -> Value {
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": prompt}],
        "stream": stream,
    })
}

async fn post_raw(server: &FakeServer, key: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/messages", server.base_url()))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("request is answered")
}

async fn post(server: &FakeServer, body: &Value) -> reqwest::Response {
    post_raw(server, Some("test-key"), body.to_string().into_bytes()).await
}

async fn ask(server: &FakeServer, prompt: &str, stream: bool) -> reqwest::Response {
    post(server, &request_body(prompt, stream)).await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// One SSE event: the `event:` name when there was one, and the parsed `data:`.
#[derive(Debug)]
struct SseEvent {
    name: Option<String>,
    data: Value,
}

/// A small SSE parser for the tests: blank-line separated events, LF or CRLF, comments skipped.
/// It also checks that every payload puts `type` first, as the real API does.
fn parse_sse(text: &str) -> Vec<SseEvent> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_string());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    assert!(value.starts_with(r#"{"type":""#), "type first: {value}");
                    data = Some(serde_json::from_str(value).expect("data is JSON"));
                }
            }
            data.map(|data| SseEvent { name, data })
        })
        .collect()
}

fn types(events: &[SseEvent]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e.data["type"].as_str().unwrap_or("?"))
        .collect()
}

/// The concatenated deltas of one kind (`text`, `thinking`, `partial_json`) for block `index`.
fn joined(events: &[SseEvent], index: u64, field: &str) -> String {
    events
        .iter()
        .filter(|e| e.data["type"] == "content_block_delta" && e.data["index"] == index)
        .filter_map(|e| e.data["delta"][field].as_str())
        .collect()
}

async fn stream_events(server: &FakeServer, prompt: &str) -> Vec<SseEvent> {
    let response = ask(server, prompt, true).await;
    assert_eq!(response.status(), 200);
    parse_sse(&response.text().await.expect("complete body"))
}

/// Asserts the real API's event order for a complete stream (`message_start`, `ping`, then per
/// block start, deltas, stop with consecutive indexes, then `message_delta`, `message_stop`).
fn assert_well_formed(events: &[SseEvent]) {
    let kinds = types(events);
    assert_eq!(kinds[..2], ["message_start", "ping"], "{kinds:?}");
    assert_eq!(kinds[kinds.len() - 2..], ["message_delta", "message_stop"]);
    let mut open_block: Option<u64> = None;
    let mut next_index = 0;
    for event in events {
        if let Some(name) = &event.name {
            assert_eq!(
                event.data["type"],
                name.as_str(),
                "event name matches data.type"
            );
        }
        match event.data["type"].as_str() {
            Some("content_block_start") => {
                assert_eq!(open_block, None);
                assert_eq!(event.data["index"], next_index);
                open_block = Some(next_index);
                next_index += 1;
            }
            Some("content_block_delta") => {
                assert_eq!(event.data["index"].as_u64(), open_block)
            }
            Some("content_block_stop") => {
                assert_eq!(event.data["index"].as_u64(), open_block);
                open_block = None;
            }
            _ => {}
        }
    }
    assert!(next_index > 0, "at least one block");
}

#[tokio::test]
async fn ok_stream_follows_the_protocol() {
    let server = start().await;
    let prompt = "hello there fake server";
    let response = ask(&server, prompt, true).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    assert_eq!(header(&response, "request-id"), Some("req_fake_1"));
    assert_eq!(header(&response, "transfer-encoding"), Some("chunked"));
    let events = parse_sse(&response.text().await.unwrap());
    assert_well_formed(&events);
    assert!(events.iter().all(|e| e.name.is_some()));

    let start = &events[0].data["message"];
    assert_eq!(start["id"], "msg_fake_1");
    assert_eq!(start["model"], MODEL);
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["usage"]["input_tokens"], 4);
    assert_eq!(start["usage"]["output_tokens"], 1);

    let text = joined(&events, 0, "text");
    for part in [
        "# Echo from claude-sonnet-4.5",
        "> hello there fake server",
        "- this list, with `inline code`",
        "```rust\nfn main() {",
    ] {
        assert!(text.contains(part), "missing {part:?} in {text}");
    }
    let deltas = events
        .iter()
        .filter(|e| e.data["type"] == "content_block_delta")
        .count();
    assert!(deltas > 5, "the reply is split into several deltas");

    let delta = &events[events.len() - 2].data;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"]["output_tokens"],
        text.split_whitespace().count()
    );
    assert_eq!(delta["usage"]["input_tokens"], 4);
}

#[tokio::test]
async fn non_stream_reply_is_the_same_message_as_json() {
    let server = start().await;
    let streamed = stream_events(&server, "same words").await;
    let response = ask(&server, "same words", false).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "request-id"), Some("req_fake_2"));
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["id"], "msg_fake_2");
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["model"], MODEL);
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["content"][0]["type"], "text");
    assert_eq!(message["content"][0]["text"], joined(&streamed, 0, "text"));
    assert_eq!(message["usage"]["input_tokens"], 2);
}

#[tokio::test]
async fn input_tokens_count_system_and_every_message() {
    let server = start().await;
    let body = json!({
        "model": MODEL,
        "max_tokens": 1024,
        "system": "you are terse",
        "messages": [
            {"role": "user", "content": "one two"},
            {"role": "assistant", "content": [{"type": "text", "text": "three"}]},
            {"role": "user", "content": [{"type": "text", "text": "four five six"}]},
        ],
    });
    let message: Value = post(&server, &body).await.json().await.unwrap();
    assert_eq!(message["usage"]["input_tokens"], 9);
    let text = message["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("> four five six"),
        "echoes the last user message"
    );
}

/// Sends `body` and asserts an Anthropic-shaped error whose message mentions `mention`.
async fn expect_error(
    server: &FakeServer,
    key: Option<&str>,
    body: &str,
    status: u16,
    error_type: &str,
    mention: &str,
) {
    let response = post_raw(server, key, body.as_bytes().to_vec()).await;
    assert_eq!(response.status(), status, "{error_type} {mention}");
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let request_id = header(&response, "request-id").unwrap().to_string();
    let raw = response.text().await.unwrap();
    assert!(
        raw.starts_with(r#"{"type":"error","error":{"type":"#),
        "{raw}"
    );
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["error"]["type"], error_type);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(mention),
        "{message:?} should mention {mention:?}"
    );
    assert_eq!(body["request_id"], request_id.as_str());
}

#[tokio::test]
async fn validation_errors_come_in_order_with_anthropic_bodies() {
    let server = start_with(FakeConfig {
        api_key: Some("right".into()),
        ..FakeConfig::default()
    })
    .await;
    let good = request_body("hi", false).to_string();
    let auth = "authentication_error";
    let invalid = "invalid_request_error";
    // Each case is valid up to the check it targets, and invalid after it.
    expect_error(&server, None, "not json", 401, auth, "Authorization").await;
    expect_error(&server, Some("wrong"), &good, 401, auth, "invalid API key").await;
    expect_error(
        &server,
        Some("right"),
        "{nope",
        400,
        invalid,
        "invalid JSON body",
    )
    .await;
    expect_error(
        &server,
        Some("right"),
        r#"{"messages":[]}"#,
        400,
        invalid,
        "model",
    )
    .await;
    let no_messages = r#"{"model":"claude-sonnet-4.5"}"#;
    expect_error(
        &server,
        Some("right"),
        no_messages,
        400,
        invalid,
        "messages",
    )
    .await;
    let empty_messages = r#"{"model":"claude-sonnet-4.5","messages":[]}"#;
    expect_error(
        &server,
        Some("right"),
        empty_messages,
        400,
        invalid,
        "messages",
    )
    .await;
    let no_max_tokens =
        r#"{"model":"claude-sonnet-4.5","messages":[{"role":"user","content":"x"}]}"#;
    expect_error(
        &server,
        Some("right"),
        no_max_tokens,
        400,
        invalid,
        "max_tokens: Field required",
    )
    .await;
    let unknown_model =
        r#"{"model":"gpt-nope","max_tokens":10,"messages":[{"role":"user","content":"x"}]}"#;
    expect_error(
        &server,
        Some("right"),
        unknown_model,
        404,
        "not_found_error",
        "gpt-nope",
    )
    .await;
    let bogus = request_body("x scenario:bogus", false).to_string();
    expect_error(&server, Some("right"), &bogus, 400, invalid, "bogus").await;

    let response = post_raw(&server, Some("right"), good.into_bytes()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn models_endpoint_lists_the_known_models() {
    let server = start().await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/v1/models?limit=5", server.base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let ids: Vec<_> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "claude-sonnet-4",
            "claude-opus-4.6",
            "claude-sonnet-4.6",
            "claude-opus-4.5",
            "claude-sonnet-4.5",
            "claude-haiku-4.5"
        ]
    );
    assert_eq!(page["data"][1]["type"], "model");
    assert_eq!(page["data"][1]["display_name"], "Claude Opus 4.6");
    assert!(
        page["data"][1]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(page["has_more"], false);
    assert_eq!(page["first_id"], "claude-sonnet-4");
    assert_eq!(page["last_id"], "claude-haiku-4.5");

    let recorded = &server.requests()[0];
    assert_eq!(recorded.method, "GET");
    assert_eq!(recorded.path, "/v1/models");
    assert_eq!(recorded.query.as_deref(), Some("limit=5"));

    let unauthenticated = client
        .get(format!("{}/v1/models", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let without = start_with(FakeConfig {
        models_endpoint: false,
        ..FakeConfig::default()
    })
    .await;
    let response = client
        .get(format!("{}/v1/models", without.base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn rate_limit_fails_once_then_succeeds_then_starts_over() {
    let server = start().await;
    for round in 0..2 {
        let response = ask(&server, "go scenario:rate-limit", true).await;
        assert_eq!(response.status(), 429, "round {round}");
        assert_eq!(header(&response, "retry-after"), Some("1"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(body["error"].get("details").is_none());

        let response = ask(&server, "go scenario:rate-limit", true).await;
        assert_eq!(response.status(), 200, "round {round}");
        assert_well_formed(&parse_sse(&response.text().await.unwrap()));
    }
}

#[tokio::test]
async fn overloaded_fails_twice_then_succeeds() {
    let server = start().await;
    for _ in 0..2 {
        let response = ask(&server, "scenario:overloaded", false).await;
        assert_eq!(response.status(), 529);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "overloaded_error");
    }
    let response = ask(&server, "scenario:overloaded", false).await;
    assert_eq!(response.status(), 200);
    let response = ask(&server, "scenario:overloaded", false).await;
    assert_eq!(
        response.status(),
        529,
        "the count starts over after a success"
    );
}

#[tokio::test]
async fn permanent_errors_repeat_with_their_own_bodies() {
    let server = start().await;
    for _ in 0..2 {
        let response = ask(&server, "scenario:spend-limit", true).await;
        assert_eq!(response.status(), 429);
        assert_eq!(header(&response, "retry-after"), None);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(
            body["error"]["details"]["error_code"],
            "enforced_spend_limit_reached"
        );

        let response = ask(&server, "scenario:server-error", true).await;
        assert_eq!(response.status(), 500);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "api_error");

        let response = ask(&server, "scenario:html-502", true).await;
        assert_eq!(response.status(), 502);
        assert_eq!(header(&response, "content-type"), Some("text/html"));
        assert!(header(&response, "request-id").is_some());
        assert_eq!(
            response.text().await.unwrap(),
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
        );

        let response = ask(&server, "scenario:openai-error", true).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("type").is_none(), "no Anthropic envelope");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "400");
        assert_eq!(body["error"]["param"], Value::Null);

        let response = ask(&server, "scenario:too-large", true).await;
        assert_eq!(response.status(), 413);
        let text = response.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
}

#[tokio::test]
async fn default_scenario_applies_unless_the_prompt_names_one() {
    let server = start_with(FakeConfig {
        default_scenario: Scenario::ServerError,
        ..FakeConfig::default()
    })
    .await;
    assert_eq!(ask(&server, "plain", true).await.status(), 500);
    assert_eq!(ask(&server, "plain scenario:ok", true).await.status(), 200);
    // Only the last user message counts.
    let body = json!({
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "scenario:ok"},
            {"role": "assistant", "content": "sure"},
            {"role": "user", "content": "again"},
        ],
    });
    assert_eq!(post(&server, &body).await.status(), 500);
}

#[tokio::test]
async fn long_reply_has_exactly_the_requested_words() {
    let server = start().await;
    let mut body = request_body("story scenario:long words:20000", true);
    body["max_tokens"] = json!(64_000);
    let response = post(&server, &body).await;
    let events = parse_sse(&response.text().await.unwrap());
    assert_well_formed(&events);
    let text = joined(&events, 0, "text");
    assert_eq!(text.split_whitespace().count(), 20_000);
    assert!(text.matches("\n\n").count() > 100, "paragraphs");
    let delta = &events[events.len() - 2].data;
    assert_eq!(delta["usage"]["output_tokens"], 20_000);

    let message: Value = ask(&server, "scenario:long words:300", false)
        .await
        .json()
        .await
        .unwrap();
    let text = message["content"][0]["text"].as_str().unwrap();
    assert_eq!(text.split_whitespace().count(), 300);
}

#[tokio::test]
async fn slow_reply_drips_the_whole_text() {
    let server = start_with(FakeConfig {
        delay: Duration::from_millis(2),
        ..FakeConfig::default()
    })
    .await;
    let events = stream_events(&server, "scenario:slow words:40").await;
    assert_well_formed(&events);
    assert_eq!(joined(&events, 0, "text").split_whitespace().count(), 40);
}

#[tokio::test]
async fn paced_reply_sends_a_group_of_words_per_delta() {
    let server = start().await;
    let deltas = |events: &[SseEvent]| -> Vec<usize> {
        events
            .iter()
            .filter(|e| e.data["type"] == "content_block_delta")
            .map(|e| {
                e.data["delta"]["text"]
                    .as_str()
                    .unwrap()
                    .split_whitespace()
                    .count()
            })
            .collect()
    };
    let events = stream_events(&server, "scenario:paced words:30 rate:1000").await;
    assert_well_formed(&events);
    assert_eq!(deltas(&events), vec![1; 30], "one word per delta");

    let events = stream_events(&server, "scenario:paced words:30 group:4 rate:0").await;
    assert_well_formed(&events);
    assert_eq!(deltas(&events), [vec![4; 7], vec![2]].concat());
}

#[tokio::test]
async fn cut_stream_ends_without_the_terminating_chunk() {
    let server = start().await;
    let mut response = ask(&server, "scenario:cut words:40", true).await;
    assert_eq!(response.status(), 200);
    let mut body = Vec::new();
    let error = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => panic!("the body ended cleanly"),
            Err(error) => break error,
        }
    };
    assert!(error.is_body() || error.is_decode(), "{error:?}");
    let events = parse_sse(std::str::from_utf8(&body).unwrap());
    let kinds = types(&events);
    assert!(kinds.contains(&"content_block_delta"), "some text first");
    assert!(!kinds.contains(&"message_stop"));
    assert!(!kinds.contains(&"message_delta"));

    // Not streamed: the body stops short of its content-length.
    let response = ask(&server, "scenario:cut words:40", false).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.is_err());
}

#[test]
fn cut_is_a_real_cut_on_the_wire() {
    let server = FakeServer::start_background(FakeConfig::default()).unwrap();
    let complete = raw_exchange(&server, "scenario:ok");
    assert!(complete.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(complete.contains("\r\nrequest-id: req_fake_1\r\n"));
    assert!(
        complete.ends_with("\r\n0\r\n\r\n"),
        "a complete body ends with the last chunk"
    );

    let cut = raw_exchange(&server, "scenario:cut words:40");
    assert!(cut.contains("event: content_block_delta"));
    assert!(!cut.ends_with("0\r\n\r\n"), "{cut}");
    assert!(!cut.contains("message_stop"));
}

/// Sends one streamed request over a plain socket and reads until the server closes.
fn raw_exchange(server: &FakeServer, prompt: &str) -> String {
    let body = request_body(prompt, true).to_string();
    let mut socket = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        socket,
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test]
async fn midstream_error_arrives_after_some_text() {
    let server = start().await;
    let events = stream_events(&server, "scenario:midstream-error").await;
    let kinds = types(&events);
    assert_eq!(kinds[..3], ["message_start", "ping", "content_block_start"]);
    assert!(kinds.contains(&"content_block_delta"));
    assert!(!kinds.contains(&"message_stop"));
    let last = events.last().unwrap();
    assert_eq!(last.name.as_deref(), Some("error"));
    assert_eq!(
        last.data,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );

    let response = ask(&server, "scenario:midstream-error", false).await;
    assert_eq!(response.status(), 529);
}

#[tokio::test]
async fn hang_opens_the_stream_then_stays_silent_until_shutdown() {
    let server = start().await;
    let mut response = ask(&server, "scenario:hang", true).await;
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    while !body.contains("event: ping") {
        let chunk = response.chunk().await.unwrap().expect("more data");
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(types(&parse_sse(&body)), ["message_start", "ping"]);
    let next = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
    assert!(next.is_err(), "nothing after the ping: {next:?}");

    server.shutdown();
    assert!(
        response.chunk().await.is_err(),
        "shutdown cuts the connection"
    );
}

#[tokio::test]
async fn hang_without_stream_sends_no_headers() {
    let server = start().await;
    let result = reqwest::Client::new()
        .post(format!("{}/v1/messages", server.base_url()))
        .bearer_auth("k")
        .json(&request_body("scenario:hang", false))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
}

#[tokio::test]
async fn thinking_block_comes_before_the_text_block() {
    let server = start().await;
    let events = stream_events(&server, "why? scenario:thinking").await;
    assert_well_formed(&events);
    let starts: Vec<_> = events
        .iter()
        .filter(|e| e.data["type"] == "content_block_start")
        .map(|e| e.data["content_block"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["thinking", "text"]);
    assert!(joined(&events, 0, "thinking").contains(MODEL));
    assert!(joined(&events, 1, "text").contains(MODEL));
    let stop_at = events
        .iter()
        .position(|e| e.data["type"] == "content_block_stop")
        .unwrap();
    assert_eq!(events[stop_at - 1].data["delta"]["type"], "signature_delta");
    assert!(events[stop_at - 2].data["delta"]["type"] == "thinking_delta");

    let message: Value = ask(&server, "scenario:thinking", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["content"][0]["type"], "thinking");
    assert!(
        !message["content"][0]["signature"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(message["content"][1]["type"], "text");
}

#[tokio::test]
async fn tool_use_streams_partial_json_from_an_empty_fragment() {
    let server = start().await;
    let events = parse_sse(
        &post(&server, &with_tools("weather? scenario:tool-use", true))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_well_formed(&events);
    let tool_start = events
        .iter()
        .find(|e| e.data["type"] == "content_block_start" && e.data["index"] == 1)
        .unwrap();
    assert_eq!(tool_start.data["content_block"]["type"], "tool_use");
    assert_eq!(tool_start.data["content_block"]["input"], json!({}));
    assert_eq!(tool_start.data["content_block"]["id"], "toolu_fake_1");
    let fragments: Vec<_> = events
        .iter()
        .filter(|e| e.data["index"] == 1 && e.data["type"] == "content_block_delta")
        .map(|e| {
            assert_eq!(e.data["delta"]["type"], "input_json_delta");
            e.data["delta"]["partial_json"].as_str().unwrap()
        })
        .collect();
    assert_eq!(fragments[0], "");
    assert!(fragments.len() > 3);
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert!(input.is_object());
    assert_eq!(
        events[events.len() - 2].data["delta"]["stop_reason"],
        "tool_use"
    );

    let message: Value = post(&server, &with_tools("scenario:tool-use", false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][1]["input"], input);
}

#[tokio::test]
async fn escapes_are_json_escaped_on_the_wire() {
    let server = start().await;
    let response = ask(&server, "scenario:escapes", true).await;
    let raw = response.text().await.unwrap();
    assert!(
        !raw.contains('\u{1b}') && !raw.contains('\u{7}'),
        "no raw control bytes"
    );
    assert!(raw.contains(r"\u001b[31m"));
    let events = parse_sse(&raw);
    assert_well_formed(&events);
    let text = joined(&events, 0, "text");
    for hostile in [
        "\u{1b}[31m",
        "\u{1b}]52;c;",
        "\u{1b}]0;pwned\u{7}",
        "\r",
        "\u{7}",
    ] {
        assert!(text.contains(hostile), "{hostile:?}");
    }
}

#[tokio::test]
async fn no_event_lines_sends_only_data_with_crlf() {
    let server = start().await;
    let raw = ask(&server, "scenario:no-event-lines", true)
        .await
        .text()
        .await
        .unwrap();
    assert!(!raw.contains("event:"));
    assert!(raw.contains(": keep-alive\r\n"));
    assert!(
        !raw.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    let events = parse_sse(&raw);
    assert_well_formed(&events);
    assert!(events.iter().all(|e| e.name.is_none()));
}

#[tokio::test]
async fn max_tokens_stops_mid_sentence() {
    let server = start().await;
    let events = stream_events(&server, "scenario:max-tokens words:13").await;
    assert_well_formed(&events);
    assert_eq!(
        events[events.len() - 2].data["delta"]["stop_reason"],
        "max_tokens"
    );
    let text = joined(&events, 0, "text");
    assert_eq!(text.split_whitespace().count(), 13);
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_bodies() {
    let server = start().await;
    let sent = request_body("record me", true);
    post(&server, &sent).await.text().await.unwrap();
    ask(&server, "and me", false).await.text().await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/messages");
    assert_eq!(first.query, None);
    assert_eq!(first.header("Authorization"), Some("Bearer test-key"));
    assert_eq!(first.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        first
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_lowercase())
    );
    assert_eq!(first.json(), Some(sent));
    assert_eq!(
        requests[1].json().unwrap()["messages"][0]["content"],
        "and me"
    );
    // A poller asks only for what it has not seen.
    assert_eq!(server.requests_since(1), requests[1..]);
    assert_eq!(server.requests_since(2), []);
    assert_eq!(server.requests_since(9), []);
}

#[test]
fn background_server_serves_sync_callers_and_stops_on_drop() {
    let server = FakeServer::start_background(FakeConfig::default()).unwrap();
    let addr = server.addr();
    assert_eq!(server.base_url(), format!("http://{addr}"));
    let response = raw_exchange(&server, "hi scenario:thinking");
    assert!(response.contains("thinking_delta"));
    assert_eq!(server.requests().len(), 1);
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "listener closed"
    );
}

/// POSTs `body` to `path` with a Bearer key.
async fn post_to(server: &FakeServer, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .bearer_auth("k")
        .json(body)
        .send()
        .await
        .expect("request is answered")
}

/// The message of a 400 `invalid_request_error` answer to `body` (panics on anything else).
async fn refusal_of(server: &FakeServer, body: &Value) -> String {
    let response = post(server, body).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 400, "{body}: {answer}");
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    answer["error"]["message"].as_str().unwrap().to_string()
}

/// `request_body("hi", false)` with `extra`'s fields set.
fn body_with(extra: Value) -> Value {
    let mut body = request_body("hi", false);
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

#[tokio::test]
async fn requests_the_real_api_refuses_are_refused() {
    let server = start().await;
    let user = |text: &str| json!({"role": "user", "content": text});
    let tool_call = json!({"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    ]});
    let mark = json!({"type": "ephemeral"});
    let marked = json!({"type": "text", "text": "x", "cache_control": mark});
    let cases = [
        (json!({"temperature": 1.2}), "temperature"),
        (json!({"temperature": -0.5}), "temperature"),
        (json!({"top_p": 1.5}), "top_p"),
        (json!({"top_k": -3}), "top_k"),
        (json!({"top_k": "many"}), "top_k"),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 512}}),
            "budget_tokens",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 1024}),
            "max_tokens",
        ),
        (json!({"thinking": {"type": "adaptive"}}), "adaptive"),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096, "temperature": 0.3}),
            "temperature",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096, "top_k": 10}),
            "top_k",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096, "top_p": 0.5}),
            "top_p",
        ),
        (
            json!({"system": [marked, marked, marked, marked, marked]}),
            "maximum of 4",
        ),
        (
            json!({"system": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "10m"}}]}),
            "ttl",
        ),
        (json!({"stop_sequences": ["END", ""]}), "non-whitespace"),
        (json!({"stop_sequences": [3]}), "stop_sequences.0"),
        (
            json!({"metadata": {"user_id": "u", "email": "e"}}),
            "metadata.email",
        ),
        (json!({"service_tier": "priority"}), "service_tier"),
        (json!({"output_config": {"effort": "high"}}), "effort"),
        (
            json!({"model": "claude-opus-4.5", "output_config": {"effort": "max"}}),
            "effort",
        ),
        (
            json!({"model": "claude-opus-4.6", "output_config": {"effort": "extreme"}}),
            "effort",
        ),
        (json!({"messages": [user("a"), user("b")]}), "alternate"),
        (
            json!({"messages": [{"role": "assistant", "content": "a"}, user("b")]}),
            "first message",
        ),
        (
            json!({"messages": [user("a"), tool_call.clone(), user("b")]}),
            "without `tool_result`",
        ),
        (
            json!({"messages": [user("a"), {"role": "assistant", "content": "ok"}, {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_9", "content": "sunny"},
            ]}]}),
            "unexpected `tool_use_id`",
        ),
        (
            json!({"messages": [user("a"), {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "made-up"},
            {"type": "text", "text": "ok"},
        ]}, user("b")]}),
            "Invalid `signature`",
        ),
        (
            json!({"messages": [user("a"), {"role": "assistant", "content": [
            {"type": "redacted_thinking", "data": "redacted-thinking-data"},
            {"type": "text", "text": "ok"},
        ]}, user("b")]}),
            "redacted_thinking",
        ),
        (
            json!({"messages": [user("a"), {"role": "assistant", "content": [{"type": "text", "text": ""}]}, user("b")]}),
            "non-whitespace",
        ),
    ];
    for (extra, mention) in cases {
        let message = refusal_of(&server, &body_with(extra.clone())).await;
        assert!(message.contains(mention), "{extra}: {message:?}");
    }
    let fine = [
        json!({"temperature": 0, "top_p": 1, "top_k": 5}),
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 1025, "temperature": 1, "top_p": 0.95}),
        json!({"model": "claude-opus-4.6", "thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}),
        json!({"thinking": {"type": "disabled"}, "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}, "service_tier": "auto"}),
        json!({"system": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1h"}}, marked, marked, marked]}),
    ];
    for extra in fine {
        let body = body_with(extra.clone());
        assert_eq!(post(&server, &body).await.status(), 200, "{extra}");
    }
}

#[tokio::test]
async fn x_api_key_is_accepted_like_bearer() {
    let server = start_with(FakeConfig {
        api_key: Some("right".into()),
        ..FakeConfig::default()
    })
    .await;
    let send = |key: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/messages", server.base_url()))
            .header("x-api-key", key)
            .json(&request_body("hi", false))
            .send()
    };
    assert_eq!(send("right").await.unwrap().status(), 200);
    assert_eq!(send("wrong").await.unwrap().status(), 401);
}

/// Streams `body` and returns the assistant turn the events build (blocks as the SDKs
/// accumulate them: tool input parsed, thinking and signature joined).
async fn streamed_turn(server: &FakeServer, body: &Value) -> (Value, Vec<SseEvent>) {
    let response = post(server, body).await;
    assert_eq!(response.status(), 200, "{body}");
    let events = parse_sse(&response.text().await.unwrap());
    assert_well_formed(&events);
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_input = String::new();
    for event in &events {
        let data = &event.data;
        match data["type"].as_str().unwrap() {
            "content_block_start" => {
                blocks.push(data["content_block"].clone());
                json_input.clear();
            }
            "content_block_delta" => {
                let block = blocks.last_mut().unwrap();
                let delta = &data["delta"];
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
                        json_input.push_str(delta["partial_json"].as_str().unwrap())
                    }
                    "citations_delta" => block["citations"]
                        .as_array_mut()
                        .unwrap()
                        .push(delta["citation"].clone()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" if !json_input.is_empty() => {
                blocks.last_mut().unwrap()["input"] = serde_json::from_str(&json_input).unwrap();
                json_input.clear();
            }
            _ => {}
        }
    }
    (json!({"role": "assistant", "content": blocks}), events)
}

fn thinking_body(prompt: &str) -> Value {
    let mut body = request_body(prompt, true);
    body["max_tokens"] = json!(4096);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    body
}

#[tokio::test]
async fn thinking_comes_back_verified_and_a_changed_copy_is_refused() {
    let server = start().await;
    let mut body = thinking_body("why is the sky blue?");
    let (turn, events) = streamed_turn(&server, &body).await;
    assert_eq!(turn["content"][0]["type"], "thinking");
    assert_eq!(turn["content"][1]["type"], "text");
    assert!(!turn["content"][0]["signature"].as_str().unwrap().is_empty());
    let stop_at = events
        .iter()
        .position(|e| e.data["type"] == "content_block_stop")
        .unwrap();
    assert_eq!(events[stop_at - 1].data["delta"]["type"], "signature_delta");

    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(turn.clone());
    messages.push(json!({"role": "user", "content": "and at sunset?"}));
    let (next, _) = streamed_turn(&server, &body).await;
    assert_eq!(next["content"][0]["type"], "thinking");

    let mut changed = body.clone();
    changed["messages"][1]["content"][0]["thinking"] = json!("I changed my mind.");
    assert!(
        refusal_of(&server, &changed)
            .await
            .contains("Invalid `signature`")
    );
    let mut resigned = body.clone();
    resigned["messages"][1]["content"][0]["signature"] = json!("EqQBCgIYAhIM");
    assert!(
        refusal_of(&server, &resigned)
            .await
            .contains("messages.1.content.0")
    );

    // Without thinking on, the reply has none.
    let (plain, _) = streamed_turn(&server, &request_body("hi", true)).await;
    assert_eq!(plain["content"][0]["type"], "text");
}

#[tokio::test]
async fn adaptive_thinking_and_effort_on_a_four_six_model() {
    let server = start().await;
    let mut body = request_body("think adaptively", true);
    body["model"] = json!("claude-opus-4.6");
    body["thinking"] = json!({"type": "adaptive"});
    body["output_config"] = json!({"effort": "max"});
    let (turn, _) = streamed_turn(&server, &body).await;
    assert_eq!(turn["content"][0]["type"], "thinking");
}

#[tokio::test]
async fn redacted_thinking_round_trips_and_a_forged_one_is_refused() {
    let server = start().await;
    let mut body = thinking_body("secret scenario:redacted");
    let (turn, _) = streamed_turn(&server, &body).await;
    let kinds: Vec<_> = turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["thinking", "redacted_thinking", "text"]);
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(turn);
    messages.push(json!({"role": "user", "content": "go on"}));
    assert_eq!(post(&server, &body).await.status(), 200);
    body["messages"][1]["content"][1]["data"] = json!("EmwKAhgBEgy3va3pzix");
    assert!(
        refusal_of(&server, &body)
            .await
            .contains("redacted_thinking")
    );
}

#[tokio::test]
async fn a_tool_loop_keeps_its_thinking_or_is_refused() {
    let server = start().await;
    let mut body = thinking_body("weather in SF? scenario:tool-use");
    body["tools"] = with_tools("", true)["tools"].clone();
    let (turn, events) = streamed_turn(&server, &body).await;
    assert_eq!(
        events[events.len() - 2].data["delta"]["stop_reason"],
        "tool_use"
    );
    let call = turn["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()
        .clone();
    assert_eq!(call["name"], "get_weather");
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(turn);
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call["id"], "content": "18 °C and foggy"},
    ]}));
    let (answer, _) = streamed_turn(&server, &body).await;
    assert!(
        answer["content"][1]["text"]
            .as_str()
            .unwrap()
            .contains("18 °C")
    );

    let mut without_thinking = body.clone();
    without_thinking["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let message = refusal_of(&server, &without_thinking).await;
    assert!(message.contains("Expected `thinking`"), "{message}");

    // Without tools the scenario cannot call one.
    let (plain, _) = streamed_turn(&server, &request_body("scenario:tool-use", true)).await;
    assert!(
        plain["content"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] == "text")
    );
}

#[tokio::test]
async fn server_tool_and_citations_send_their_blocks() {
    let server = start().await;
    let (turn, events) =
        streamed_turn(&server, &request_body("terns? scenario:server-tool", true)).await;
    let blocks = turn["content"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "server_tool_use");
    assert_eq!(blocks[0]["name"], "web_search");
    assert!(
        blocks[0]["input"]["query"]
            .as_str()
            .unwrap()
            .contains("terns")
    );
    assert_eq!(blocks[1]["type"], "web_search_tool_result");
    assert_eq!(blocks[1]["tool_use_id"], blocks[0]["id"]);
    assert_eq!(blocks[1]["content"][0]["type"], "web_search_result");
    let cited: Vec<_> = blocks
        .iter()
        .filter(|b| b["citations"].is_array())
        .collect();
    assert_eq!(cited.len(), 2);
    assert_eq!(
        cited[0]["citations"][0]["type"],
        "web_search_result_location"
    );
    let delta = &events[events.len() - 2].data;
    assert_eq!(delta["usage"]["server_tool_use"]["web_search_requests"], 1);

    let message: Value = ask(&server, "scenario:citations", false)
        .await
        .json()
        .await
        .unwrap();
    let blocks = message["content"].as_array().unwrap();
    assert!(blocks.len() > 3, "split into several text blocks");
    assert!(blocks.iter().all(|b| b["type"] == "text"));
    let cited = blocks
        .iter()
        .filter(|b| b["citations"][0]["type"] == "char_location")
        .count();
    assert_eq!(cited, 3);

    // The turn goes back as it came and is accepted.
    let mut body = request_body("terns? scenario:server-tool", true);
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(turn);
    messages.push(json!({"role": "user", "content": "thanks"}));
    assert_eq!(post(&server, &body).await.status(), 200);
}

#[tokio::test]
async fn refusal_and_pause_turn_stop_as_the_api_does() {
    let server = start().await;
    let message: Value = ask(&server, "scenario:refusal", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["stop_reason"], "refusal");
    assert_eq!(message["stop_details"]["type"], "refusal");

    let mut body = request_body("news? scenario:pause-turn", true);
    let (paused, events) = streamed_turn(&server, &body).await;
    assert_eq!(
        events[events.len() - 2].data["delta"]["stop_reason"],
        "pause_turn"
    );
    let call_id = paused["content"][1]["id"].clone();
    assert_eq!(paused["content"][1]["type"], "server_tool_use");
    // Sent back as it is, the turn is finished.
    body["messages"].as_array_mut().unwrap().push(paused);
    let (finished, events) = streamed_turn(&server, &body).await;
    assert_eq!(
        events[events.len() - 2].data["delta"]["stop_reason"],
        "end_turn"
    );
    assert_eq!(finished["content"][0]["type"], "web_search_tool_result");
    assert_eq!(finished["content"][0]["tool_use_id"], call_id);
}

#[tokio::test]
async fn stop_sequences_and_max_tokens_end_the_reply() {
    let server = start().await;
    let mut body = request_body("say STOP now", false);
    body["stop_sequences"] = json!(["STOP", "never"]);
    let message: Value = post(&server, &body).await.json().await.unwrap();
    assert_eq!(message["stop_reason"], "stop_sequence");
    assert_eq!(message["stop_sequence"], "STOP");
    let text = message["content"][0]["text"].as_str().unwrap();
    assert!(
        text.ends_with("> say ") && !text.contains("STOP"),
        "{text:?}"
    );

    let mut body = request_body("scenario:long words:500", true);
    body["max_tokens"] = json!(37);
    let events = parse_sse(&post(&server, &body).await.text().await.unwrap());
    assert_well_formed(&events);
    let delta = &events[events.len() - 2].data;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"]["output_tokens"], 37);
    assert_eq!(joined(&events, 0, "text").split_whitespace().count(), 37);

    // max-tokens without words:N fills max_tokens exactly.
    let mut body = request_body("scenario:max-tokens", false);
    body["max_tokens"] = json!(50);
    let message: Value = post(&server, &body).await.json().await.unwrap();
    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!(message["usage"]["output_tokens"], 50);
}

/// A conversation of `turns` user turns, the last one marked as a cache breakpoint, after a
/// system prompt marked too.
fn cached_conversation(turns: usize) -> Value {
    let mut messages = Vec::new();
    for turn in 0..turns {
        if turn > 0 {
            messages.push(json!({"role": "assistant", "content": format!("answer {turn}")}));
        }
        let mut block = json!({"type": "text", "text": format!("question number {turn}")});
        if turn + 1 == turns {
            block["cache_control"] = json!({"type": "ephemeral"});
        }
        messages.push(json!({"role": "user", "content": [block]}));
    }
    json!({
        "model": MODEL,
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "you are a terse assistant", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": messages,
    })
}

#[tokio::test]
async fn prompt_caching_reads_what_an_earlier_turn_wrote() {
    let server = start_with(FakeConfig {
        min_cacheable_tokens: Some(0),
        ..FakeConfig::default()
    })
    .await;
    let usage = |message: &Value| message["usage"].clone();
    let first: Value = post(&server, &cached_conversation(1))
        .await
        .json()
        .await
        .unwrap();
    let first = usage(&first);
    assert_eq!(first["cache_read_input_tokens"], 0);
    assert_eq!(first["cache_creation"]["ephemeral_1h_input_tokens"], 5);
    assert_eq!(first["cache_creation"]["ephemeral_5m_input_tokens"], 3);
    assert_eq!(first["cache_creation_input_tokens"], 8);
    assert_eq!(first["input_tokens"], 0);

    let second: Value = post(&server, &cached_conversation(2))
        .await
        .json()
        .await
        .unwrap();
    let second = usage(&second);
    assert_eq!(second["cache_read_input_tokens"], 8);
    assert_eq!(second["cache_creation"]["ephemeral_5m_input_tokens"], 5);
    assert_eq!(second["cache_creation"]["ephemeral_1h_input_tokens"], 0);
    assert_eq!(second["input_tokens"], 0);

    // The stream reports the same split at its start and end.
    let mut streamed = cached_conversation(2);
    streamed["stream"] = json!(true);
    let events = parse_sse(&post(&server, &streamed).await.text().await.unwrap());
    assert_eq!(
        events[0].data["message"]["usage"]["cache_read_input_tokens"],
        13
    );
    assert_eq!(
        events[events.len() - 2].data["usage"]["cache_read_input_tokens"],
        13
    );

    // Below the model's real minimum (1,024 for a Sonnet) nothing is cached.
    let strict = start().await;
    for _ in 0..2 {
        let message: Value = post(&strict, &cached_conversation(2))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(message["usage"]["cache_read_input_tokens"], 0);
        assert_eq!(message["usage"]["cache_creation_input_tokens"], 0);
        assert_eq!(message["usage"]["input_tokens"], 13);
    }
}

#[tokio::test]
async fn count_tokens_counts_like_usage_and_can_be_missing() {
    let server = start().await;
    let mut body = cached_conversation(2);
    body.as_object_mut().unwrap().remove("max_tokens");
    let response = post_to(&server, "/v1/messages/count_tokens", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"input_tokens": 13})
    );

    // What only a Messages body takes is an extra input here, as the real endpoint says.
    for (field, value) in [("max_tokens", json!(1024)), ("stream", json!(true))] {
        let mut with = body.clone();
        with[field] = value;
        let response = post_to(&server, "/v1/messages/count_tokens", &with).await;
        assert_eq!(response.status(), 400, "{field}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error["error"]["message"],
            format!("{field}: Extra inputs are not permitted")
        );
    }

    body["temperature"] = json!(3);
    let response = post_to(&server, "/v1/messages/count_tokens", &body).await;
    assert_eq!(response.status(), 400);

    let without = start_with(FakeConfig {
        count_tokens_endpoint: false,
        ..FakeConfig::default()
    })
    .await;
    let response = post_to(
        &without,
        "/v1/messages/count_tokens",
        &cached_conversation(1),
    )
    .await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn models_carry_limits_and_capabilities() {
    let server = start().await;
    let page: Value = reqwest::Client::new()
        .get(format!("{}/v1/models", server.base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let model = |id: &str| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let opus = model("claude-opus-4.6");
    assert_eq!(opus["max_tokens"], 128_000);
    assert_eq!(opus["max_input_tokens"], 1_000_000);
    let caps = &opus["capabilities"];
    assert_eq!(caps["thinking"]["types"]["adaptive"]["supported"], true);
    assert_eq!(caps["thinking"]["types"]["enabled"]["supported"], true);
    assert_eq!(caps["effort"]["supported"], true);
    assert_eq!(caps["effort"]["max"]["supported"], true);
    let sonnet = model("claude-sonnet-4.5");
    assert_eq!(
        sonnet["capabilities"]["thinking"]["types"]["adaptive"]["supported"],
        false
    );
    assert_eq!(sonnet["capabilities"]["effort"]["supported"], false);
    assert_eq!(sonnet["max_tokens"], 64_000);
    let opus_45 = model("claude-opus-4.5");
    assert_eq!(opus_45["capabilities"]["effort"]["high"]["supported"], true);
    assert_eq!(opus_45["capabilities"]["effort"]["max"]["supported"], false);
}
