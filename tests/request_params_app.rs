//! The app's per-conversation request parameters: `/think`, `/effort`, `/stop`, `/top_k` set
//! them, the header shows them, the next request carries them by the API's rules (a notice says
//! what was left out), the configuration seeds them, and the store keeps them.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use serde_json::json;
use tern::app::{Action, App, NoticeKind};
use tern::config::{Effort, Thinking};
use tern::store::{Conversation, Store};

use common::*;

/// `/command` typed and entered; the notice it left.
fn command(app: &mut App, line: &str) -> String {
    submit(app, line);
    app.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn body_of_next_send(app: &mut App) -> serde_json::Value {
    let effects = submit(app, "hello");
    serde_json::to_value(the_send(&effects).2).unwrap()
}

#[test]
fn slash_commands_set_the_params_and_the_request_carries_them() {
    let mut app = new_app();
    app.pane_mut().conversation.params.max_tokens = Some(8000);
    assert!(command(&mut app, "/think 2048").contains("thinking 2k"));
    assert!(command(&mut app, "/effort low").contains("effort low"));
    assert!(command(&mut app, "/stop \"###\" END \"two words\"").contains("stop at"));
    let params = &app.pane().conversation.params;
    assert_eq!(params.thinking, Thinking::Budget(2048));
    assert_eq!(params.effort, Some(Effort::Low));
    assert_eq!(params.stop_sequences, ["###", "END", "two words"]);
    let body = body_of_next_send(&mut app);
    assert_eq!(
        body["thinking"],
        json!({"type":"enabled","budget_tokens":2048})
    );
    assert_eq!(body["output_config"], json!({"effort":"low"}));
    assert_eq!(body["stop_sequences"], json!(["###", "END", "two words"]));
}

#[test]
fn clearing_and_bad_arguments() {
    let mut app = new_app();
    command(&mut app, "/stop END");
    assert!(command(&mut app, "/stop").contains("cleared"));
    assert!(app.pane().conversation.params.stop_sequences.is_empty());
    command(&mut app, "/top_k 5");
    assert_eq!(app.pane().conversation.params.top_k, Some(5));
    command(&mut app, "/top_k off");
    assert_eq!(app.pane().conversation.params.top_k, None);
    command(&mut app, "/effort max");
    command(&mut app, "/effort off");
    assert_eq!(app.pane().conversation.params.effort, None);
    for bad in [
        "/think 100",
        "/think on",
        "/effort huge",
        "/top_k 0",
        "/stop \"open",
    ] {
        command(&mut app, bad);
        let notice = app.notice.as_ref().unwrap();
        assert_eq!(notice.kind, NoticeKind::Error, "{bad}: {}", notice.text);
        assert!(
            notice.text.starts_with("usage") || notice.text.contains("at least"),
            "{bad}: {}",
            notice.text
        );
        // A refused command stays in the input, to be fixed.
        assert_eq!(app.pane().input_text(), bad);
        app.pane_mut().input = tern::app::new_input();
    }
    let body = body_of_next_send(&mut app);
    for field in ["thinking", "output_config", "stop_sequences", "top_k"] {
        assert!(body.get(field).is_none(), "{field}: {body}");
    }
}

#[test]
fn a_budget_at_or_over_max_tokens_raises_max_tokens() {
    let mut app = new_app();
    let notice = command(&mut app, "/think 8192");
    assert!(notice.contains("max_tokens raised to 9216"), "{notice}");
    assert_eq!(app.pane().conversation.params.max_tokens, Some(9216));
    command(&mut app, "/max 4000");
    assert_eq!(app.notice.as_ref().unwrap().kind, NoticeKind::Error);
    assert_eq!(app.pane().conversation.params.max_tokens, Some(9216));
}

#[test]
fn the_rules_apply_when_the_request_is_built_and_are_said() {
    let mut app = new_app();
    command(&mut app, "/model claude-haiku-4.5");
    command(&mut app, "/think adaptive");
    command(&mut app, "/temp 0.2");
    command(&mut app, "/effort high");
    let body = body_of_next_send(&mut app);
    assert_eq!(
        body["thinking"],
        json!({"type":"enabled","budget_tokens":2048})
    );
    assert!(body.get("temperature").is_none(), "{body}");
    assert!(body.get("output_config").is_none(), "{body}");
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("no adaptive thinking"), "{notice}");
    assert!(notice.contains("temperature 0.2"), "{notice}");
    assert!(notice.contains("takes no effort"), "{notice}");
}

#[test]
fn the_models_api_teaches_capabilities() {
    let mut app = new_app();
    command(&mut app, "/model gateway-thinker");
    command(&mut app, "/think adaptive");
    let info: tern::api::types::ModelInfo = serde_json::from_value(json!({
        "id": "gateway-thinker",
        "capabilities": {"thinking": {"supported": true, "types": {
            "adaptive": {"supported": true}, "enabled": {"supported": true},
            "disabled": {"supported": true}}}}
    }))
    .unwrap();
    let _ = app.update(Action::ModelsDescribed(vec![info]));
    let body = body_of_next_send(&mut app);
    assert_eq!(body["thinking"], json!({"type":"adaptive"}));
}

#[test]
fn new_conversations_start_from_the_configuration() {
    let mut settings = settings(true);
    settings.request.thinking = Thinking::Adaptive;
    settings.request.top_k = Some(3);
    settings.request.user_id = Some("u-1".into());
    settings
        .request
        .extra_body
        .insert("route".into(), json!("eu"));
    let mut app = app_with(settings, stored::T0);
    let params = &app.pane().conversation.params;
    assert_eq!(
        (params.thinking, params.top_k),
        (Thinking::Adaptive, Some(3))
    );
    command(&mut app, "/think off");
    let body = body_of_next_send(&mut app);
    assert_eq!(body["top_k"], 3);
    assert_eq!(body["metadata"], json!({"user_id":"u-1"}));
    assert_eq!(body["route"], "eu");
}

#[test]
fn the_header_shows_the_params() {
    use ratatui::{Terminal, backend::TestBackend};
    let mut app = new_app();
    app.pane_mut().conversation.params.max_tokens = Some(8192);
    command(&mut app, "/think 4096");
    command(&mut app, "/effort max");
    command(&mut app, "/top_k 9");
    let theme = tern::render::Theme::builtin("dark").unwrap();
    let mut view = tern::ui::ViewState::new(theme, time::UtcOffset::UTC);
    view.sync(&mut app);
    let mut terminal = Terminal::new(TestBackend::new(120, 10)).unwrap();
    terminal
        .draw(|frame| tern::ui::draw(&app, &mut view, frame))
        .unwrap();
    let header = screen_text(terminal.backend().buffer());
    let first = header
        .lines()
        .find(|l| l.contains("claude-sonnet-4.6"))
        .unwrap();
    assert!(first.contains("think 4k"), "{first}");
    assert!(first.contains("effort max"), "{first}");
    assert!(first.contains("top_k 9"), "{first}");
}

#[test]
fn the_store_keeps_the_params() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let mut c = Conversation::new("params");
    c.params.thinking = Thinking::Budget(2048);
    c.params.effort = Some(Effort::Medium);
    c.params.top_k = Some(4);
    c.params.stop_sequences = vec!["END".into()];
    store.create_conversation(&c).unwrap();
    let (loaded, _) = store.load(&c.id).unwrap();
    assert_eq!(loaded.params, c.params);
    c.params.thinking = Thinking::Adaptive;
    c.params.stop_sequences.clear();
    store.update_conversation(&c).unwrap();
    assert_eq!(store.load(&c.id).unwrap().0.params, c.params);
    // A conversation saved before these parameters existed loads with them unset.
    let old: Conversation = serde_json::from_value(json!({
        "id": "x", "title": "t", "created_at": 0, "updated_at": 0,
        "params": {"max_tokens": 10}
    }))
    .unwrap();
    assert_eq!(old.params.thinking, Thinking::Off);
    assert!(old.params.stop_sequences.is_empty());
}
