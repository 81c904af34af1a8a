//! `tern -p` end to end: the real binary against the fake server on 127.0.0.1.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;

use tern::fake::{FakeConfig, FakeServer};

use cli::{Home, Run, last_body, run_command};

fn server(key: Option<&str>) -> FakeServer {
    FakeServer::start_background(FakeConfig {
        api_key: key.map(str::to_owned),
        ..FakeConfig::default()
    })
    .expect("fake server starts")
}

/// Run `tern` with an isolated home (no user config, no saved data), the key `key` and
/// optional stdin, against `server`.
fn tern(server: &FakeServer, key: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let home = Home::new(&server.base_url());
    let mut cmd = home.command(args);
    cmd.env("APIFREE_API_KEY", key);
    run_command(cmd, stdin)
}

#[test]
fn streams_the_reply_and_sends_the_right_request() {
    let server = server(Some("k"));
    let run = tern(&server, "k", &["-p", "hi there"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hi there"), "{}", run.stdout());
    assert!(run.stdout().ends_with('\n'));
    let requests = server.requests();
    let request = requests.last().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(request.header("authorization"), Some("Bearer k"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("anthropic-beta"), None);
    let body = request.json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "claude-sonnet-4.6");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role":"user","content":[{"type":"text","text":"hi there",
            "cache_control":{"type":"ephemeral","ttl":"5m"}}]}]),
        "prompt caching is on by default"
    );
    for unset in [
        "system",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "metadata",
    ] {
        assert!(body.get(unset).is_none(), "{unset} was sent: {body}");
    }
}

#[test]
fn flags_and_stdin_reach_the_request() {
    let server = server(None);
    let run = tern(
        &server,
        "k",
        &[
            "-m",
            "claude-haiku-4.5",
            "-s",
            "be terse",
            "--max-tokens",
            "77",
            "--temperature",
            "0.5",
            "--top-p",
            "0.9",
            "-p",
            "summarise",
        ],
        Some("piped text\n"),
    );
    assert!(run.ok(), "stderr: {}", run.stderr());
    let body = last_body(&server);
    assert_eq!(body["model"], "claude-haiku-4.5");
    assert_eq!(
        body["system"],
        serde_json::json!([{"type":"text","text":"be terse",
            "cache_control":{"type":"ephemeral","ttl":"5m"}}])
    );
    assert_eq!(body["max_tokens"], 77);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(
        body["messages"][0]["content"][0]["text"],
        "piped text\n\nsummarise"
    );
}

#[test]
fn no_stream_sends_a_plain_request() {
    let server = server(None);
    let run = tern(&server, "k", &["--no-stream", "-p", "hello"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hello"));
    assert!(last_body(&server).get("stream").is_none());
}

#[test]
fn stdin_alone_is_the_prompt() {
    let server = server(None);
    let run = tern(&server, "k", &["-p"], Some("only stdin"));
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert_eq!(
        last_body(&server)["messages"][0]["content"][0]["text"],
        "only stdin"
    );
}

#[test]
fn empty_prompt_is_a_usage_error() {
    let server = server(None);
    let run = tern(&server, "k", &["-p"], None);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stderr().contains("nothing to send"));
    assert!(server.requests().is_empty());
}

/// One clear line on stderr, non-zero exit, no raw JSON, no panic.
fn assert_clean_failure(run: &Run, expect: &[&str]) {
    assert!(!run.ok());
    let stderr = run.stderr();
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("tern: error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "stderr: {stderr}");
    for word in expect {
        assert!(
            error_lines[0].contains(word),
            "missing {word:?} in {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("{\""), "raw JSON in {stderr}");
    assert!(!stderr.contains("<html"), "raw HTML in {stderr}");
}

#[test]
fn wrong_key() {
    let server = server(Some("right"));
    let run = tern(&server, "wrong", &["-p", "hi"], None);
    assert_clean_failure(
        &run,
        &[
            "authentication failed",
            "401",
            "request-id req_fake_",
            "APIFREE_API_KEY",
        ],
    );
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[test]
fn missing_key_names_the_variable() {
    let server = server(None);
    let run = tern(&server, "", &["-p", "hi"], None);
    assert_clean_failure(&run, &["no API key", "APIFREE_API_KEY"]);
}

#[test]
fn unknown_model() {
    let server = server(None);
    let run = tern(&server, "k", &["-m", "claude-nope", "-p", "hi"], None);
    assert_clean_failure(
        &run,
        &["model not found", "404", "claude-nope", "request-id"],
    );
}

#[test]
fn html_502_reads_as_gateway_error() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:html-502"], None);
    assert_clean_failure(&run, &["the gateway returned 502 Bad Gateway"]);
    assert_eq!(server.requests().len(), 3, "two retries");
    assert_eq!(run.stderr().matches("retrying in").count(), 2);
}

#[test]
fn midstream_error_keeps_the_partial_text() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:midstream-error"], None);
    assert_clean_failure(&run, &["overloaded", "request-id"]);
    assert!(!run.stdout().is_empty(), "the partial reply was printed");
}

#[test]
fn cut_connection_is_a_truncation() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:cut words:200"], None);
    assert_clean_failure(&run, &["cut off"]);
}

#[test]
fn rate_limit_then_success_reports_the_wait() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:rate-limit"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("rate limited") && stderr.contains("retrying in 1.0s (retry 1/2)"),
        "{stderr}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("x-stainless-retry-count"), Some("1"));
}

#[test]
fn overloaded_twice_then_success() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:overloaded"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert_eq!(
        run.stderr().matches("overloaded; retrying").count(),
        2,
        "{}",
        run.stderr()
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn spend_limit_is_not_retried() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "x scenario:spend-limit"], None);
    assert_clean_failure(&run, &["spend limit"]);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn gateway_without_event_lines_still_works() {
    let server = server(None);
    let run = tern(&server, "k", &["-p", "hello scenario:no-event-lines"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("hello"));
}

#[test]
fn a_hung_stream_times_out() {
    let server = server(None);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "idle_timeout_secs = 1\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let run = tern(
        &server,
        "k",
        &["--config", &config, "-p", "x scenario:hang"],
        None,
    );
    assert_clean_failure(&run, &["stalled", "nothing arrived for 1s"]);
}

#[test]
fn broken_config_is_a_clear_error() {
    let server = server(None);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "model = \"x\"\nmax_tokenz = 1\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let run = tern(&server, "k", &["--config", &config, "-p", "hi"], None);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        run.stderr().contains("line 2") && run.stderr().contains("max_tokenz"),
        "{}",
        run.stderr()
    );
}

#[test]
fn models_lists_the_endpoint_models() {
    let server = server(None);
    let run = tern(&server, "k", &["models"], None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("claude-opus-4.6"));
    assert!(run.stdout().contains("claude-sonnet-4.6  (default)"));
    assert_eq!(server.requests()[0].path, "/v1/models");
}

#[test]
fn help_lists_the_interface() {
    let server = server(None);
    let run = tern(&server, "k", &["--help"], None);
    assert!(run.ok());
    for word in [
        "--print",
        "--continue",
        "--resume",
        "--model",
        "--system",
        "--max-tokens",
        "--temperature",
        "--top-p",
        "--no-stream",
        "list",
        "show",
        "search",
        "export",
        "models",
        "APIFREE_API_KEY",
    ] {
        assert!(run.stdout().contains(word), "--help lacks {word}");
    }
}

/// A one-off HTTP server on 127.0.0.1 that answers every request (at most a few) with `body`
/// as an event stream, written in one piece: for byte layouts the fake server does not make.
fn replay_server(body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body_len = loop {
                let Ok(n) = stream.read(&mut buf) else { return };
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buf[..n]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break end + 4 + length;
                }
            };
            while request.len() < body_len {
                let Ok(n) = stream.read(&mut buf) else { return };
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

fn replay_tern(body: String) -> Run {
    let home = Home::new(&replay_server(body));
    let mut cmd = home.command(&["-p", "hi"]);
    cmd.env("APIFREE_API_KEY", "k");
    run_command(cmd, None)
}

fn sse(events: &[serde_json::Value]) -> String {
    events.iter().map(|e| format!("data: {e}\n\n")).collect()
}

fn start_event() -> serde_json::Value {
    serde_json::json!({"type":"message_start","message":{"id":"msg_r","type":"message","role":"assistant",
        "content":[],"model":"claude-sonnet-4.6","stop_reason":null,"stop_sequence":null,
        "usage":{"input_tokens":5,"output_tokens":1}}})
}

fn text_block(index: usize, text: &str, cited: bool) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut events = vec![
        json!({"type":"content_block_start","index":index,"content_block":{"type":"text","text":""}}),
    ];
    if cited {
        events.push(json!({"type":"content_block_delta","index":index,"delta":{"type":"citations_delta",
            "citation":{"type":"web_search_result_location","cited_text":"c","url":"https://example.org/","title":"t","encrypted_index":"x"}}}));
    }
    events.push(json!({"type":"content_block_delta","index":index,"delta":{"type":"text_delta","text":text}}));
    events.push(json!({"type":"content_block_stop","index":index}));
    events
}

#[test]
fn a_cited_answer_split_into_text_blocks_prints_as_one_text() {
    use serde_json::json;
    let mut events = vec![start_event()];
    events.extend(text_block(0, "Tern eggs hatch after ", false));
    events.extend(text_block(1, "about three weeks", true));
    events.extend(text_block(2, ", and both parents feed the chicks.", false));
    events.push(json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}));
    events.push(json!({"type":"message_stop"}));
    let run = replay_tern(sse(&events));
    run.success();
    assert_eq!(
        run.stdout(),
        "Tern eggs hatch after about three weeks, and both parents feed the chicks.\n"
    );
}

#[test]
fn a_gateway_error_without_event_lines_is_shown_with_its_message() {
    let mut events = vec![start_event()];
    events.push(serde_json::json!({"error":{"code":502,"message":"Provider returned error"}}));
    let run = replay_tern(sse(&events));
    assert_clean_failure(&run, &["Provider returned error"]);
}

#[test]
fn text_and_an_error_in_one_read_keep_the_text() {
    let mut events = vec![start_event()];
    events.extend(text_block(0, "Partial answer", false));
    events.push(serde_json::json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}));
    let run = replay_tern(sse(&events));
    assert_clean_failure(&run, &["overloaded"]);
    assert_eq!(run.stdout(), "Partial answer\n");
}

#[test]
fn text_after_a_tool_call_starts_a_new_paragraph() {
    use serde_json::json;
    let mut events = vec![start_event()];
    events.extend(text_block(0, "I'll look that up.", false));
    events.push(json!({"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"terns"}}}));
    events.push(json!({"type":"content_block_stop","index":1}));
    events.extend(text_block(2, "Terns migrate far.", false));
    events.push(json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}));
    events.push(json!({"type":"message_stop"}));
    let run = replay_tern(sse(&events));
    run.success();
    assert_eq!(run.stdout(), "I'll look that up.\n\nTerns migrate far.\n");
}

#[test]
fn a_paused_turn_is_resumed_and_a_refusal_explained() {
    let server = server(None);
    let run = tern(
        &server,
        "k",
        &["-p", "look it up scenario:pause-turn"],
        None,
    );
    assert!(run.ok(), "stderr: {}", run.stderr());
    let bodies: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/messages")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "paused once, then resumed");
    let resumed = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(resumed.last().unwrap()["role"], "assistant");
    assert!(run.stdout().contains("Let me search the web for that."));
    assert!(!run.stderr().contains("paused"), "{}", run.stderr());

    // Text after the search starts a new paragraph.
    assert!(run.stdout().contains("that.\n\n"), "{:?}", run.stdout());

    let run = tern(&server, "k", &["-p", "bad scenario:refusal"], None);
    assert_eq!(run.status.code(), Some(3), "stderr: {}", run.stderr());
    assert!(
        run.stderr().contains("declined to answer"),
        "{}",
        run.stderr()
    );
}

// ─── --compare ───────────────────────────────────────────────────────────────────────────

/// The models of the `POST /v1/messages` requests `server` received, in order.
fn asked_models(server: &FakeServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/messages")
        .map(|r| r.json().unwrap()["model"].as_str().unwrap().to_owned())
        .collect()
}

/// The one saved conversation of `home`: its header and whole tree.
fn the_tree(home: &Home) -> (tern::store::Conversation, Vec<tern::store::StoredMessage>) {
    let store = home.store();
    let list = store.list(0, 10).unwrap();
    assert_eq!(list.len(), 1, "one conversation saved");
    store.load_tree(&list[0].conversation.id).unwrap()
}

#[test]
fn compare_answers_with_each_model_and_saves_siblings() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let run = home.run(&[
        "-p",
        "--compare",
        "claude-haiku-4.5,claude-opus-4.6",
        "hello terns",
    ]);
    run.success();
    let mut asked = asked_models(&server);
    asked.sort();
    assert_eq!(asked, ["claude-haiku-4.5", "claude-opus-4.6"]);
    let stdout = run.stdout();
    for model in ["claude-haiku-4.5", "claude-opus-4.6"] {
        let label = format!("── {model} ──\n# Echo from {model}");
        assert!(stdout.contains(&label), "no section for {model}: {stdout}");
        let summary = format!("tern: {model}: first token ");
        assert!(run.stderr().contains(&summary), "{}", run.stderr());
    }

    let (conversation, tree) = the_tree(&home);
    assert_eq!(tree.len(), 3, "{tree:#?}");
    let user = &tree[0];
    assert_eq!(user.role, tern::api::Role::User);
    let replies: Vec<_> = tree[1..].iter().collect();
    for (reply, model) in replies.iter().zip(["claude-haiku-4.5", "claude-opus-4.6"]) {
        assert_eq!(reply.parent_id.as_deref(), Some(user.id.as_str()));
        assert_eq!(reply.model.as_deref(), Some(model));
        assert_eq!(reply.status, tern::store::MessageStatus::Complete);
        assert!(
            tern::api::types::plain_text(&reply.content).contains(&format!("Echo from {model}")),
            "{reply:?}"
        );
    }
    // The conversation goes on from the first model's reply, with that model.
    assert_eq!(
        conversation.active_leaf.as_deref(),
        Some(replies[0].id.as_str())
    );
    assert_eq!(conversation.last_model.as_deref(), Some("claude-haiku-4.5"));
}

#[test]
fn compare_continues_a_saved_conversation_for_each_model() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    home.run(&["-p", "first question"]).success();
    let run = home.run(&[
        "-c",
        "-p",
        "--compare",
        "claude-haiku-4.5,claude-sonnet-4.5",
        "second question",
    ]);
    run.success();
    let bodies: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/messages")
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(bodies.len(), 3);
    for body in &bodies[1..] {
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "the history, then the prompt: {body}");
        assert_eq!(messages[2]["content"][0]["text"], "second question");
    }
    let (conversation, tree) = the_tree(&home);
    assert_eq!(tree.len(), 5);
    let prompt = &tree[2];
    assert_eq!(prompt.parent_id.as_deref(), Some(tree[1].id.as_str()));
    assert!(
        tree[3..]
            .iter()
            .all(|m| m.parent_id.as_deref() == Some(prompt.id.as_str()))
    );
    assert_eq!(
        conversation.active_leaf.as_deref(),
        Some(tree[3].id.as_str())
    );
}

#[test]
fn compare_with_one_model_failing_lets_the_other_finish() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let run = home.run(&["-p", "--compare", "claude-nope,claude-haiku-4.5", "hi"]);
    assert_eq!(run.status.code(), Some(1), "stderr: {}", run.stderr());
    let stdout = run.stdout();
    assert!(
        stdout.contains("── claude-nope ──\n[error: model not found (HTTP 404"),
        "{stdout}"
    );
    assert!(
        stdout.contains("That is all, from `claude-haiku-4.5`."),
        "{stdout}"
    );
    let stderr = run.stderr();
    assert!(
        stderr.contains("tern: error: claude-nope: model not found"),
        "{stderr}"
    );
    assert!(stderr.contains("tern: 1 of 2 models failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (_, tree) = the_tree(&home);
    let status = |model: &str| {
        tree.iter()
            .find(|m| m.model.as_deref() == Some(model))
            .map(|m| m.status)
    };
    assert_eq!(
        status("claude-nope"),
        Some(tern::store::MessageStatus::Error)
    );
    assert_eq!(
        status("claude-haiku-4.5"),
        Some(tern::store::MessageStatus::Complete)
    );
}

#[test]
fn compare_json_is_one_object_per_model() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let run = home.run(&[
        "-p",
        "--json",
        "--compare",
        "claude-haiku-4.5,claude-opus-4.6,claude-nope",
        "hi",
    ]);
    assert_eq!(run.status.code(), Some(1), "stderr: {}", run.stderr());
    let objects: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 3, "{}", run.stdout());
    let (_, tree) = the_tree(&home);
    for object in &objects {
        let model = object["model"].as_str().unwrap();
        let saved = tree
            .iter()
            .find(|m| m.model.as_deref() == Some(model))
            .unwrap();
        assert_eq!(object["message_id"], saved.id.as_str());
        assert_eq!(object["conversation"], saved.conversation_id.as_str());
        if model == "claude-nope" {
            assert_eq!(object["status"], "error");
            assert_eq!(object["error"]["status"], 404);
            assert_eq!(object["text"], "");
        } else {
            assert_eq!(object["status"], "complete");
            assert_eq!(object["stop_reason"], "end_turn");
            assert!(object["error"].is_null());
            assert!(object["usage"]["output_tokens"].as_u64().unwrap() > 0);
            assert_eq!(
                object["text"].as_str().unwrap(),
                tern::api::types::plain_text(&saved.content)
            );
        }
    }
}

#[test]
fn compare_columns_off_a_terminal_prints_sections() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let run = home.run(&[
        "-p",
        "--columns",
        "--compare",
        "claude-haiku-4.5,claude-opus-4.6",
        "hi",
    ]);
    run.success();
    assert!(
        run.stderr()
            .contains("note: --columns needs stdout to be a terminal"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout().contains("── claude-haiku-4.5 ──\n"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains(" │ "), "{}", run.stdout());
}

#[test]
fn compare_columns_on_a_terminal_sit_side_by_side() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let cmd = home.command(&[
        "-p",
        "--columns",
        "--compare",
        "claude-haiku-4.5,claude-opus-4.6",
        "hi \u{1b}]0;title\u{7} scenario:escapes",
    ]);
    let run = home.run_command_on_tty(
        cmd,
        cli::Tty {
            size: Some((90, 30)),
            stderr: false,
        },
    );
    run.success();
    let screen = run.stdout();
    let header = screen.lines().next().unwrap();
    assert!(
        header.starts_with("claude-haiku-4.5") && header.contains(" │ claude-opus-4.6"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .all(|l| unicode_width(l.trim_end_matches('\r')) <= 90),
        "{screen}"
    );
    assert!(
        !screen.contains('\u{1b}'),
        "escape sequences reached the terminal: {screen:?}"
    );
}

fn unicode_width(s: &str) -> usize {
    tern::render::wrap::display_width(s)
}

#[test]
fn compare_takes_no_model_flag() {
    let server = server(None);
    let run = tern(
        &server,
        "k",
        &[
            "-m",
            "claude-opus-4.6",
            "--compare",
            "claude-haiku-4.5,claude-sonnet-4.6",
            "-p",
            "x",
        ],
        None,
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        run.stderr().contains("cannot be used with"),
        "{}",
        run.stderr()
    );
    assert!(server.requests().is_empty());
}

/// `tern -p --compare` of two models, each streaming `words` words slowly; the server, the
/// home and the running child.
fn compare_slowly(words: usize) -> (FakeServer, Home, std::process::Child) {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let child = home.spawn(&[
        "-p",
        "--compare",
        "claude-haiku-4.5,claude-opus-4.6",
        &format!("scenario:slow words:{words}"),
    ]);
    (server, home, child)
}

#[test]
fn compare_sections_stream_live_and_never_interleave() {
    let (_server, home, mut child) = compare_slowly(60);
    // Read until the first label and some text after it have come (the prose has no newline
    // before its end).
    let mut pipe = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let has_text = |seen: &[u8]| {
        let seen = String::from_utf8_lossy(seen);
        seen.split_once(" ──\n")
            .is_some_and(|(_, after)| !after.trim().is_empty())
    };
    while !has_text(&seen) {
        let mut chunk = [0u8; 256];
        let n = std::io::Read::read(&mut pipe, &mut chunk).unwrap();
        assert!(
            n > 0,
            "stdout ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..n]);
    }
    assert!(seen.starts_with("── claude-".as_bytes()));
    // Sixty words at 50 ms each take seconds: the first reply is on stdout while both stream.
    let (_, tree) = the_tree(&home);
    for reply in &tree[1..] {
        assert_eq!(
            reply.status,
            tern::store::MessageStatus::Streaming,
            "the first reply is written as it comes, not once it has ended"
        );
    }
    std::io::Read::read_to_end(&mut pipe, &mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(seen).unwrap();
    let (_, tree) = the_tree(&home);
    for reply in &tree[1..] {
        let model = reply.model.as_deref().unwrap();
        let text = tern::api::types::plain_text(&reply.content);
        let section = format!("── {model} ──\n{text}\n\n");
        assert!(
            stdout.contains(&section),
            "{model}, whole and apart: {stdout}"
        );
    }
    assert_eq!(stdout.matches("── claude-").count(), 2, "{stdout}");
}

#[test]
fn compare_stopped_by_sigint_saves_every_partial_reply_as_stopped() {
    use tern::store::{MessageStatus, Store};
    let (_server, home, mut child) = compare_slowly(400);
    // Wait until both replies have saved some text (progress is saved while they stream).
    let saved_text = || -> bool {
        let Ok(store) = Store::open_readonly(home.store_path()) else {
            return false;
        };
        let Ok(list) = store.list(0, 1) else {
            return false;
        };
        let Some(row) = list.first() else {
            return false;
        };
        let Ok((_, tree)) = store.load_tree(&row.conversation.id) else {
            return false;
        };
        tree.len() == 3
            && tree[1..]
                .iter()
                .all(|m| !tern::api::types::plain_text(&m.content).is_empty())
    };
    while !saved_text() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tern ended before the signal: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    let (_, tree) = the_tree(&home);
    for reply in &tree[1..] {
        assert_eq!(reply.status, MessageStatus::Stopped, "{reply:?}");
        let model = reply.model.as_deref().unwrap();
        let text = tern::api::types::plain_text(&reply.content);
        let section = format!("── {model} ──\n{text}\n[stopped]\n");
        assert!(
            stdout.contains(&section),
            "{model}: what is saved is what was printed: {stdout}"
        );
    }
}

/// The fixture MCP server on stdio as `fx`, logging to `fx.log` in the home (with a child
/// process of its own, as `npx` has node), after the top-level config lines `extra` and
/// followed by the server's lines `table`; the config's path and the log's.
fn with_fixture(home: &Home, extra: &str, table: &str) -> (String, std::path::PathBuf) {
    let fixture = env!("CARGO_BIN_EXE_tern-fake-server");
    let log = home.path().join("fx.log");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{extra}\n[mcp_servers.fx]\ncommand = {fixture:?}\nargs = [\"mcp-stdio\", \"--log\", \
             {:?}, \"--grandchild\"]\n{table}\n",
            log.to_str().unwrap()
        ),
    )
    .unwrap();
    (config.to_str().unwrap().to_owned(), log)
}

/// Every process the fixture logged (the server and its child) has ended: none outlives tern.
fn no_fixture_left(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let pids: Vec<u32> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("started pid ")
                .or_else(|| l.strip_prefix("grandchild pid "))
        })
        .map(|pid| pid.trim().parse().unwrap())
        .collect();
    assert!(pids.len() >= 2, "the fixture and its child started: {text}");
    for pid in pids {
        // tern has exited: a process still there now outlived it (a zombie counts as gone).
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
            });
        let start = std::time::Instant::now();
        let mut state = state;
        while !matches!(state.as_deref(), None | Some("Z" | "X")) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "process {pid} outlived tern"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
            state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
                });
        }
    }
}

fn message_bodies(server: &FakeServer) -> Vec<serde_json::Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/messages")
        .map(|r| r.json().unwrap())
        .collect()
}

#[test]
fn an_allowed_tool_call_runs_its_result_goes_back_and_every_step_is_saved() {
    use tern::api::Role;
    use tern::store::MessageStatus;
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "", "");
    let prompt = r#"say it scenario:call-tool tool:fx__echo args:{"text":"hello from fx"}"#;
    let run = home.run(&[
        "--config",
        &config,
        "--allow-tool",
        "fx__echo",
        "-p",
        prompt,
    ]);
    assert!(run.ok(), "{}", run.stderr());
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert!(
        stdout.starts_with("Let me call `fx__echo` for you.\n\nTool result for toolu_"),
        "each step's text, a blank line between: {stdout:?}"
    );
    assert!(stdout.ends_with(": hello from fx\n"), "{stdout:?}");
    assert!(
        stderr.contains("tern: tool fx__echo {\"text\":\"hello from fx\"} → ok (13 chars)\n"),
        "{stderr}"
    );
    let bodies = message_bodies(&server);
    assert_eq!(bodies.len(), 2);
    let echo = bodies[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "fx__echo")
        .unwrap();
    assert_eq!(
        echo["input_schema"]["required"],
        serde_json::json!(["text"])
    );
    assert!(
        bodies[0].get("tool_choice").is_none(),
        "auto is the default"
    );
    let messages = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    let call = messages[1]["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap();
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], call["id"]);
    assert_eq!(result["content"][0]["text"], "hello from fx");
    assert!(result.get("is_error").is_none());
    // Saved: prompt, the reply that called, its results, the answer, one path.
    let (_, tree) = the_tree(&home);
    assert_eq!(tree.len(), 4, "{tree:#?}");
    let roles: Vec<Role> = tree.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    assert_eq!(tree[1].stop_reason.as_deref(), Some("tool_use"));
    let results = tern::app::tools::results_of(&tree[2].content);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].1, "hello from fx");
    assert!(tern::api::types::plain_text(&tree[3].content).contains("hello from fx"));
    for (i, m) in tree.iter().enumerate() {
        assert_eq!(m.status, MessageStatus::Complete, "{m:?}");
        if i > 0 {
            assert_eq!(m.parent_id.as_ref(), Some(&tree[i - 1].id));
        }
    }
    no_fixture_left(&log);
    // The strict server takes the saved history back.
    let run = home.run(&["--config", &config, "-c", "-p", "and now?"]);
    assert!(run.ok(), "{}", run.stderr());
    no_fixture_left(&log);
}

#[test]
fn a_call_not_allowed_is_refused_said_on_stderr_and_the_model_hears_it() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "tool_choice = \"any\"", "");
    let prompt = r#"scenario:call-tool tool:fx__echo args:{"text":"no"}"#;
    let run = home.run(&["--config", &config, "-p", prompt]);
    assert!(run.ok(), "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "tern: tool fx__echo {\"text\":\"no\"} → refused (not allowed; --allow-tool fx__echo runs it)\n"
        ),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout().contains(
            "(error): tern -p runs only tools allowed with --allow-tool (or approve = \"always\"); \
             fx__echo was not"
        ),
        "{}",
        run.stdout()
    );
    assert_eq!(
        message_bodies(&server)[0]["tool_choice"],
        serde_json::json!({"type": "any"}),
        "the configured tool_choice, as the app sends it"
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(!log_text.contains("call echo"), "never run: {log_text}");
    no_fixture_left(&log);
}

#[test]
fn a_server_with_approve_always_runs_its_calls_without_the_flag() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "", "approve = \"always\"");
    let prompt = r#"scenario:call-tool tool:fx__echo args:{"text":"yes"}"#;
    let run = home.run(&["--config", &config, "-p", prompt]);
    assert!(run.ok(), "{}", run.stderr());
    assert!(run.stderr().contains("→ ok (3 chars)"), "{}", run.stderr());
    assert!(run.stdout().ends_with(": yes\n"), "{}", run.stdout());
    no_fixture_left(&log);
}

#[test]
fn a_server_glob_allows_parallel_calls_and_a_failing_tool_is_an_error_result() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "", "");
    let run = home.run(&[
        "--config",
        &config,
        "-p",
        r#"scenario:call-tool tool:fx__add args:{"a":2,"b":3} calls:2"#,
        "--allow-tool",
        "fx__*",
    ]);
    assert!(run.ok(), "{}", run.stderr());
    assert_eq!(
        run.stderr()
            .matches("tern: tool fx__add {\"a\":2,\"b\":3} → ok (1 chars)\n")
            .count(),
        2,
        "{}",
        run.stderr()
    );
    let bodies = message_bodies(&server);
    let results = bodies[1]["messages"].as_array().unwrap()[2]["content"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(results.len(), 2, "both results in one user turn");
    assert_eq!(results[0]["tool_use_id"], "toolu_fake_1_1");
    assert_eq!(results[1]["tool_use_id"], "toolu_fake_1_2");
    assert_eq!(results[1]["content"][0]["text"], "5");

    let run = home.run(&[
        "--config",
        &config,
        "--allow-tool",
        "fx__*",
        "-p",
        "scenario:call-tool tool:fx__fail",
    ]);
    assert!(run.ok(), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("tern: tool fx__fail {} → error: the tool failed, as asked\n"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().contains("(error): the tool failed, as asked"));
    no_fixture_left(&log);
}

#[test]
fn the_step_cap_stops_the_loop_and_the_conversation_goes_on_after() {
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "max_tool_steps = 2", "");
    let run = home.run(&[
        "--config",
        &config,
        "--allow-tool",
        "fx__echo",
        "-p",
        r#"scenario:call-tool tool:fx__echo args:{"text":"again"} steps:5"#,
    ]);
    assert_eq!(run.status.code(), Some(4), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("(max_tool_steps = 2); raise max_tool_steps"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stderr().matches("→ ok").count(), 2, "{}", run.stderr());
    assert_eq!(message_bodies(&server).len(), 2, "two model turns");
    assert!(run.stdout().contains("Round 2 of 5"), "{}", run.stdout());
    let (_, tree) = the_tree(&home);
    assert_eq!(
        tree.len(),
        5,
        "prompt, then call and results twice: {tree:#?}"
    );
    no_fixture_left(&log);
    let run = home.run(&["--config", &config, "-c", "-p", "stop there"]);
    assert!(run.ok(), "{}", run.stderr());
}

#[test]
fn sigint_mid_call_cancels_it_saves_what_there_is_and_exits_130() {
    use tern::store::{MessageStatus, Store};
    let server = server(None);
    let home = Home::new(&server.base_url());
    let (config, log) = with_fixture(&home, "", "");
    let child = home.spawn(&[
        "--config",
        &config,
        "--allow-tool",
        "fx__slow",
        "-p",
        r#"scenario:call-tool tool:fx__slow args:{"ms":60000}"#,
    ]);
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("slow started")
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the call never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("tern: tool fx__slow {\"ms\":60000} → stopped\n"),
        "{stderr}"
    );
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    no_fixture_left(&log);
    let store = Store::open_readonly(home.store_path()).unwrap();
    let id = store.most_recent().unwrap().unwrap();
    let (_, messages) = store.load(&id).unwrap();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert_eq!(messages[1].status, MessageStatus::Complete);
    let results = tern::app::tools::results_of(&messages[2].content);
    assert!(results[0].2, "an error result");
    assert!(results[0].1.contains("stopped"), "{results:?}");
    drop(store);
    let run = home.run(&["--config", &config, "-c", "-p", "and now?"]);
    assert!(run.ok(), "{}", run.stderr());
}

#[test]
fn attached_files_go_first_are_saved_once_and_a_bad_one_sends_nothing() {
    use base64::Engine as _;
    let server = server(None);
    let home = Home::new(&server.base_url());
    let png = base64::engine::general_purpose::STANDARD
        .decode(tern::fake::mcp::TINY_PNG)
        .unwrap();
    let image = home.path().join("dot.png");
    let source = home.path().join("main.rs");
    std::fs::write(&image, &png).unwrap();
    std::fs::write(&source, "fn main() {}\n").unwrap();
    let (image, source) = (image.display().to_string(), source.display().to_string());
    let mut cmd = home.command(&[
        "-a",
        &image,
        "-a",
        &source,
        "-p",
        "what? scenario:attachments",
    ]);
    cmd.env("APIFREE_API_KEY", "k");
    let run = run_command(cmd, None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(
        run.stdout().contains("attachments: 2 in this turn"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("image image/png 1×1"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("document text/plain \"main.rs\""),
        "{}",
        run.stdout()
    );
    let body = last_body(&server);
    let content = &body["messages"][0]["content"];
    assert_eq!(content[0]["type"], "image");
    assert_eq!(content[1]["type"], "document");
    assert_eq!(content[2]["text"], "what? scenario:attachments");
    // Saved as references, the bytes once; the same file again in a continued turn is read
    // back from the store by a new process.
    let mut cmd = home.command(&["-c", "-a", &image, "-p", "again scenario:attachments"]);
    cmd.env("APIFREE_API_KEY", "k");
    let run = run_command(cmd, None);
    assert!(run.ok(), "stderr: {}", run.stderr());
    assert!(
        run.stdout().contains("1 in this turn, 3 in the request"),
        "{}",
        run.stdout()
    );
    // A missing file stops the run before anything is sent or saved.
    let requests = server.requests().len();
    let missing = home.path().join("nope.png").display().to_string();
    let mut cmd = home.command(&["-a", &missing, "-p", "x"]);
    cmd.env("APIFREE_API_KEY", "k");
    let run = run_command(cmd, None);
    assert_eq!(run.status.code(), Some(2), "stderr: {}", run.stderr());
    assert!(
        run.stderr().contains("nope.png: no such file"),
        "{}",
        run.stderr()
    );
    assert_eq!(server.requests().len(), requests, "nothing was sent");
}
