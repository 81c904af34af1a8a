//! Helpers shared by the chat TUI tests: fixed settings, key presses, and API events.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tern::api::{ApiError, ContentBlock, Message, MessagesRequest, StatusError, Usage};
use tern::app::{Action, ApiEvent, App, Effect, KeyMap, RequestId, Settings};
use tern::store::StoredMessage;
use tern::store::WriteCommand;

pub const DEFAULT_MODEL: &str = "claude-sonnet-4.6";

/// Settings as a user with the built-in defaults would have them (the six APIFree models).
pub fn settings(has_key: bool) -> Settings {
    Settings {
        default_model: DEFAULT_MODEL.to_owned(),
        max_tokens: 4096,
        temperature: None,
        top_p: None,
        system: None,
        models: tern::config::builtin_models(),
        keymap: KeyMap::default(),
        has_key,
        base_url: "https://api.apifree.ai".to_owned(),
        config_file: Some("/home/user/.config/tern/config.toml".to_owned()),
    }
}

pub fn press(code: KeyCode, modifiers: KeyModifiers) -> Action {
    Action::Key(KeyEvent::new(code, modifiers))
}

pub fn key(code: KeyCode) -> Action {
    press(code, KeyModifiers::NONE)
}

pub fn ctrl(c: char) -> Action {
    press(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn alt(code: KeyCode) -> Action {
    press(code, KeyModifiers::ALT)
}

/// Type `text` key by key (a newline becomes Alt+Enter, as a user would add a line).
pub fn type_str(app: &mut App, text: &str) {
    for c in text.chars() {
        let effects = if c == '\n' {
            app.update(alt(KeyCode::Enter))
        } else {
            app.update(key(KeyCode::Char(c)))
        };
        assert!(effects.is_empty(), "typing {c:?} had effects: {effects:?}");
    }
}

/// Type `text` and press Enter; the I/O that asks for (timers left out: see [`io`]).
pub fn submit(app: &mut App, text: &str) -> Vec<Effect> {
    type_str(app, text);
    io(app.update(key(KeyCode::Enter)))
}

/// The effects that do I/O: without `Effect::Schedule` (a notice's expiry, the spinner), which
/// the timer tests check on their own.
pub fn io(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| !matches!(e, Effect::Schedule { .. }))
        .collect()
}

/// The `Send` effects, as (conversation, request, body).
pub fn sends(effects: &[Effect]) -> Vec<(String, RequestId, MessagesRequest)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                conversation,
                request,
                body,
            } => Some((conversation.clone(), *request, body.clone())),
            _ => None,
        })
        .collect()
}

/// The one `Send` in `effects`.
#[track_caller]
pub fn the_send(effects: &[Effect]) -> (String, RequestId, MessagesRequest) {
    let mut all = sends(effects);
    assert_eq!(all.len(), 1, "expected one Send in {effects:#?}");
    all.remove(0)
}

/// Saved message snapshots in `effects`.
pub fn saved_messages(effects: &[Effect]) -> Vec<StoredMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Save(WriteCommand::UpsertMessage(m)) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Feed an API event for `request` to whichever pane owns it (or the active one).
pub fn api(app: &mut App, request: RequestId, event: ApiEvent) -> Vec<Effect> {
    let conversation = app
        .panes
        .iter()
        .find(|p| p.request() == Some(request))
        .unwrap_or(app.pane())
        .conversation
        .id
        .clone();
    app.update(Action::Api {
        conversation,
        request,
        event,
    })
}

pub fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    }
}

/// The accumulated message of a stream that finished with `text`.
pub fn finished(model: &str, text: &str, usage: Usage) -> ApiEvent {
    ApiEvent::Finished(Box::new(Message {
        id: "msg_test".into(),
        kind: "message".into(),
        role: tern::api::Role::Assistant,
        content: vec![ContentBlock::text(text)],
        model: model.to_owned(),
        stop_reason: Some("end_turn".into()),
        usage,
        ..Message::default()
    }))
}

/// Stream `text` as one delta and finish: Started, Text, Usage, Finished.
pub fn reply(app: &mut App, request: RequestId, text: &str, u: Usage) -> Vec<Effect> {
    let model = app
        .panes
        .iter()
        .find(|p| p.request() == Some(request))
        .map(|p| p.model.clone())
        .unwrap_or_default();
    let mut effects = api(
        app,
        request,
        ApiEvent::Started {
            usage: usage(u.input_tokens, 1),
        },
    );
    effects.extend(api(app, request, ApiEvent::Text(text.to_owned())));
    effects.extend(api(app, request, ApiEvent::Usage(u)));
    effects.extend(api(app, request, finished(&model, text, u)));
    effects
}

/// A 401 as the client reports it.
pub fn unauthorized() -> ApiError {
    ApiError::Status(Box::new(StatusError {
        status: 401,
        error_type: Some("authentication_error".into()),
        message: Some("invalid x-api-key".into()),
        request_id: Some("req_011CTestRequest".into()),
        retry_after: None,
        should_retry: None,
        spend_limit: false,
    }))
}

/// The overloaded `error` event that arrives mid-stream.
pub fn overloaded_midstream() -> ApiError {
    ApiError::Stream {
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
        request_id: Some("req_fake_7".into()),
    }
}

/// The screen as text, one line per row; the cells a wide character covers are skipped.
pub fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let width = usize::from(buffer.area.width.max(1));
    buffer
        .content()
        .chunks(width)
        .map(row_text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One buffer row as text; the cells a wide character covers are skipped.
fn row_text(row: &[ratatui::buffer::Cell]) -> String {
    let mut out = String::new();
    let mut skip = 0;
    for cell in row {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        out.push_str(cell.symbol());
        skip = tern::render::display_width(cell.symbol()).saturating_sub(1);
    }
    out
}
