//! The tool loop in the reducer: tools offered, each call asked about, run, refused, edited
//! or stopped, the results going back as one user turn, and the step cap.

use std::sync::Arc;

use crossterm::event::KeyCode;
use serde_json::{Value, json};
use tern::api::types::MessageContent;
use tern::api::{ContentBlock, Message, Role};
use tern::app::tools::{DECLINED, STOPPED, Tool, ToolOutcome, ToolsState};
use tern::app::{Action, ApiEvent, App, Effect, RequestId};

use super::common::*;

fn tool(name: &str, runs_unasked: bool) -> Tool {
    Tool {
        name: name.to_owned(),
        description: Some(format!("the {name} tool")),
        input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        runs_unasked,
    }
}

/// An app whose MCP servers are configured and not started yet.
fn app_with_tools() -> App {
    let mut app = new_app();
    Arc::make_mut(&mut app.settings).tools_configured = true;
    app.tools_state = ToolsState::NotStarted;
    app
}

/// The first prompt starts the servers; once they are up, its request goes out.
fn first_prompt(app: &mut App, tools: Vec<Tool>) -> (RequestId, tern::api::MessagesRequest) {
    let effects = io(submit(app, "read my notes"));
    assert!(effects.contains(&Effect::StartTools), "{effects:#?}");
    assert!(sends(&effects).is_empty(), "the reply waits for the tools");
    assert!(app.pane().is_busy());
    let effects = io(app.update(Action::ToolsReady {
        tools,
        problems: Vec::new(),
    }));
    let (_, request, body) = the_send(&effects);
    (request, body)
}

fn call_block(id: &str, name: &str, input: Value) -> ContentBlock {
    serde_json::from_value(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
        .unwrap()
}

/// The reply to `request` says a word and calls tools.
fn calls(app: &mut App, request: RequestId, blocks: Vec<ContentBlock>) -> Vec<Effect> {
    let mut content = vec![ContentBlock::text("Let me look.")];
    content.extend(blocks);
    let effects = api(app, request, ApiEvent::Text("Let me look.".into()));
    assert!(effects.is_empty() || sends(&effects).is_empty());
    io(api(
        app,
        request,
        ApiEvent::Finished(Box::new(Message {
            id: "msg_tools".into(),
            kind: "message".into(),
            role: Role::Assistant,
            content,
            model: app.pane().model.clone(),
            stop_reason: Some("tool_use".into()),
            usage: usage(10, 5),
            ..Message::default()
        })),
    ))
}

fn tool_calls(effects: &[Effect]) -> Vec<(String, String, Value)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CallTool {
                call,
                name,
                arguments,
                ..
            } => Some((call.clone(), name.clone(), Value::Object(arguments.clone()))),
            _ => None,
        })
        .collect()
}

fn ok(text: &str) -> ToolOutcome {
    ToolOutcome {
        content: vec![json!({"type": "text", "text": text})],
        is_error: false,
        summary: text.to_owned(),
    }
}

fn finish_call(app: &mut App, call: &str, result: Result<ToolOutcome, String>) -> Vec<Effect> {
    let conversation = app.pane().id().to_owned();
    io(app.update(Action::ToolFinished {
        conversation,
        call: call.to_owned(),
        result,
    }))
}

/// The last user turn of `body` as JSON blocks (less the cache breakpoint on its last block).
fn last_user_blocks(body: &tern::api::MessagesRequest) -> Vec<Value> {
    let last = body.messages.last().unwrap();
    assert_eq!(last.role, Role::User);
    match &last.content {
        MessageContent::Blocks(blocks) => blocks
            .iter()
            .map(|b| {
                let mut v = serde_json::to_value(b).unwrap();
                v.as_object_mut().unwrap().remove("cache_control");
                v
            })
            .collect(),
        MessageContent::Text(t) => vec![json!({"type": "text", "text": t})],
    }
}

#[test]
fn the_request_offers_the_tools_once_the_servers_are_up() {
    let mut app = app_with_tools();
    let (_, body) = first_prompt(&mut app, vec![tool("files__read_file", false)]);
    let tools = body.tools.unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "files__read_file");
    assert_eq!(tools[0]["input_schema"]["type"], "object");
    assert_eq!(tools[0]["description"], "the files__read_file tool");
    // The API's default choice is not sent.
    assert_eq!(body.tool_choice, None);
}

#[test]
fn without_servers_the_prompt_goes_at_once_and_offers_nothing() {
    let mut app = new_app();
    let (_, _, body) = the_send(&io(submit(&mut app, "hi")));
    assert_eq!(body.tools, None);
}

#[test]
fn a_call_waits_for_yes_then_its_result_goes_back_and_the_loop_goes_on() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(&mut app, vec![tool("files__read_file", false)]);
    let effects = calls(
        &mut app,
        request,
        vec![call_block(
            "toolu_1",
            "files__read_file",
            json!({"path": "a.txt"}),
        )],
    );
    assert!(tool_calls(&effects).is_empty(), "nothing runs unasked");
    assert!(app.pane().is_busy(), "no prompt slips in before the answer");
    let effects = io(app.update(key(KeyCode::Char('y'))));
    assert_eq!(
        tool_calls(&effects),
        [(
            "toolu_1".into(),
            "files__read_file".into(),
            json!({"path": "a.txt"})
        )]
    );
    let effects = finish_call(&mut app, "toolu_1", Ok(ok("the notes")));
    // The results are saved as a user message, then the next turn goes out.
    let saved = saved_messages(&effects);
    assert!(saved.iter().any(|m| m.role == Role::User));
    let (_, _, body) = the_send(&effects);
    let n = body.messages.len();
    assert_eq!(body.messages[n - 2].role, Role::Assistant);
    let assistant = serde_json::to_value(&body.messages[n - 2].content).unwrap();
    assert_eq!(assistant[1]["type"], "tool_use");
    assert_eq!(assistant[1]["id"], "toolu_1");
    let results = last_user_blocks(&body);
    assert_eq!(
        results,
        [json!({
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": "the notes"}],
        })]
    );
}

#[test]
fn no_refuses_with_an_error_result_and_always_runs_the_rest_unasked() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(
        &mut app,
        vec![tool("files__read_file", false), tool("files__write", false)],
    );
    let _ = calls(
        &mut app,
        request,
        vec![
            call_block("toolu_1", "files__write", json!({"path": "x"})),
            call_block("toolu_2", "files__read_file", json!({"path": "a"})),
            call_block("toolu_3", "files__read_file", json!({"path": "b"})),
        ],
    );
    assert!(tool_calls(&io(app.update(key(KeyCode::Char('n'))))).is_empty());
    // `a` runs this call and the other one of the same tool.
    let effects = io(app.update(key(KeyCode::Char('a'))));
    let ran: Vec<String> = tool_calls(&effects).into_iter().map(|c| c.0).collect();
    assert_eq!(ran, ["toolu_2", "toolu_3"]);
    let _ = finish_call(&mut app, "toolu_3", Ok(ok("b")));
    let effects = finish_call(&mut app, "toolu_2", Ok(ok("a")));
    let (_, request, body) = the_send(&effects);
    // All results in one user turn, in the calls' order.
    let results = last_user_blocks(&body);
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["toolu_1", "toolu_2", "toolu_3"]);
    assert_eq!(results[0]["is_error"], true);
    assert_eq!(results[0]["content"][0]["text"], DECLINED);
    // Allowed always, in this conversation: the next call of it runs at once.
    let effects = calls(
        &mut app,
        request,
        vec![call_block(
            "toolu_4",
            "files__read_file",
            json!({"path": "c"}),
        )],
    );
    assert_eq!(tool_calls(&effects).len(), 1);
}

#[test]
fn a_tool_its_server_approves_runs_at_once_and_an_unknown_one_fails_at_once() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(&mut app, vec![tool("everything__echo", true)]);
    let effects = calls(
        &mut app,
        request,
        vec![
            call_block("toolu_1", "everything__echo", json!({"text": "hi"})),
            call_block("toolu_2", "nobody__here", json!({})),
        ],
    );
    assert_eq!(tool_calls(&effects).len(), 1);
    let effects = finish_call(&mut app, "toolu_1", Err("the server said no".into()));
    let (_, _, body) = the_send(&effects);
    let results = last_user_blocks(&body);
    assert_eq!(results[0]["is_error"], true);
    assert_eq!(results[0]["content"][0]["text"], "the server said no");
    assert_eq!(results[1]["is_error"], true);
    assert!(
        results[1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no tool named nobody__here")
    );
}

#[test]
fn esc_cancels_running_calls_and_the_next_prompt_carries_their_results() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(&mut app, vec![tool("slow__sleep", true)]);
    let _ = calls(
        &mut app,
        request,
        vec![call_block("toolu_1", "slow__sleep", json!({"ms": 10000}))],
    );
    let effects = io(app.update(key(KeyCode::Esc)));
    assert!(
        effects.contains(&Effect::CancelTool {
            call: "toolu_1".into()
        }),
        "{effects:#?}"
    );
    assert!(sends(&effects).is_empty(), "the loop does not go on");
    assert!(!app.pane().is_busy());
    // A late answer of the cancelled call changes nothing.
    assert!(finish_call(&mut app, "toolu_1", Ok(ok("late"))).is_empty());
    let (_, _, body) = the_send(&io(submit(&mut app, "never mind")));
    let last = last_user_blocks(&body);
    assert_eq!(last[0]["type"], "tool_result");
    assert_eq!(last[0]["content"][0]["text"], STOPPED);
    assert_eq!(last[1], json!({"type": "text", "text": "never mind"}));
}

#[test]
fn the_loop_pauses_at_the_step_cap_and_enter_goes_on() {
    let mut app = app_with_tools();
    Arc::make_mut(&mut app.settings).max_tool_steps = 2;
    let (mut request, _) = first_prompt(&mut app, vec![tool("everything__echo", true)]);
    for step in 1..=2 {
        let id = format!("toolu_{step}");
        let _ = calls(
            &mut app,
            request,
            vec![call_block(
                &id,
                "everything__echo",
                json!({"text": "again"}),
            )],
        );
        let effects = finish_call(&mut app, &id, Ok(ok("again")));
        if step == 2 {
            assert!(sends(&effects).is_empty(), "paused after 2 steps");
            assert!(app.pane().tool_cap_reached);
        } else {
            request = the_send(&effects).1;
        }
    }
    let (_, _, body) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert_eq!(last_user_blocks(&body)[0]["tool_use_id"], "toolu_2");
}

#[test]
fn e_edits_the_arguments_and_the_result_says_so() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(&mut app, vec![tool("files__read_file", false)]);
    let _ = calls(
        &mut app,
        request,
        vec![call_block(
            "toolu_1",
            "files__read_file",
            json!({"path": "a.txt"}),
        )],
    );
    let _ = io(app.update(key(KeyCode::Char('e'))));
    assert!(app.pane().input_text().contains("\"a.txt\""));
    app.pane_mut().input = tern::app::new_input();
    type_str(&mut app, "{\"path\": ");
    assert!(tool_calls(&io(app.update(key(KeyCode::Enter)))).is_empty());
    type_str(&mut app, "\"b.txt\"}");
    let effects = io(app.update(key(KeyCode::Enter)));
    assert_eq!(tool_calls(&effects)[0].2, json!({"path": "b.txt"}));
    let (_, _, body) = the_send(&finish_call(&mut app, "toolu_1", Ok(ok("bee"))));
    let result = &last_user_blocks(&body)[0];
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains(r#"{"path":"b.txt"}"#)
    );
    assert_eq!(result["content"][1]["text"], "bee");
}

#[test]
fn tools_sets_the_choice_and_thinking_turns_a_forced_one_into_auto() {
    let mut app = app_with_tools();
    let (request, _) = first_prompt(&mut app, vec![tool("files__read_file", false)]);
    let _ = reply(&mut app, request, "done", usage(1, 1));
    let _ = io(submit(&mut app, "/tools nope"));
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("no tool named nope")
    );
    app.pane_mut().input = tern::app::new_input();
    let _ = io(submit(&mut app, "/tools files__read_file"));
    let (_, request, body) = the_send(&io(submit(&mut app, "go")));
    assert_eq!(
        body.tool_choice,
        Some(json!({"type": "tool", "name": "files__read_file"}))
    );
    let _ = reply(&mut app, request, "ok", usage(1, 1));
    let _ = io(submit(&mut app, "/think adaptive"));
    let (_, _, body) = the_send(&io(submit(&mut app, "think first")));
    assert_eq!(body.tool_choice, Some(json!({"type": "auto"})));
}

#[test]
fn a_server_that_failed_to_start_stays_said_while_a_call_waits() {
    let mut app = app_with_tools();
    let _ = io(submit(&mut app, "read my notes"));
    let effects = io(app.update(Action::ToolsReady {
        tools: vec![tool("files__read_file", false)],
        problems: vec!["MCP server gone: command not found: no-such-mcp-server".into()],
    }));
    let (_, request, _) = the_send(&effects);
    let _ = calls(
        &mut app,
        request,
        vec![call_block(
            "toolu_1",
            "files__read_file",
            json!({"path": "a"}),
        )],
    );
    let notice = app.notice.as_ref().unwrap();
    assert!(notice.text.contains("command not found"), "{notice:?}");
    assert!(app.pane().tool_calls_open());
}
