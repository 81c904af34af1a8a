//! Helpers shared by the chat TUI tests: fixed settings, key presses, and API events.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tern::api::{ApiError, ContentBlock, Message, MessagesRequest, StatusError, Usage};
use tern::app::{Action, ApiEvent, App, Effect, KeyMap, RequestId, Settings};
use tern::store::StoredMessage;
use tern::store::WriteCommand;

pub mod stored;

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
        request: Default::default(),
        tools_configured: false,
        tool_choice: Default::default(),
        disable_parallel_tool_use: false,
        max_tool_steps: tern::config::DEFAULT_MAX_TOOL_STEPS,
        tool_result_max_bytes: tern::config::DEFAULT_TOOL_RESULT_MAX_BYTES,
        tools: Vec::new(),
    }
}

/// A fresh app with the default settings and a key, its wall clock at [`stored::T0`], its ids
/// seeded: every id and timestamp it makes is the same on every run.
pub fn new_app() -> App {
    app_with(settings(true), stored::T0)
}

/// A fresh app with `settings`, its wall clock at `now_ms`, its ids seeded.
pub fn app_with(settings: Settings, now_ms: i64) -> App {
    App::new(
        settings,
        std::time::Instant::now(),
        now_ms,
        tern::app::Ids::seeded(1),
    )
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

/// Type `text` key by key (a newline becomes Alt+Enter, as a user would add a line). Typing
/// does no I/O (it may move a timer: the token count waits for the input to be still).
pub fn type_str(app: &mut App, text: &str) {
    for c in text.chars() {
        let effects = io(if c == '\n' {
            app.update(alt(KeyCode::Enter))
        } else {
            app.update(key(KeyCode::Char(c)))
        });
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

/// The driver's answer to `Effect::OpenConversation`: the saved conversation opens in a tab.
pub fn open_saved(
    app: &mut App,
    conversation: tern::store::Conversation,
    messages: Vec<StoredMessage>,
) -> Vec<Effect> {
    app.update(Action::OpenSaved {
        conversation,
        messages,
    })
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

/// `message_start`: the server has counted `input` tokens (and a placeholder 1 out).
pub fn started(input: u64) -> ApiEvent {
    ApiEvent::Started {
        usage: usage(input, 1),
    }
}

/// The request failed with `error` (the client kept no partial message of its own).
pub fn failed(error: ApiError) -> ApiEvent {
    ApiEvent::Failed {
        error,
        partial: None,
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
    let mut effects = api(app, request, started(u.input_tokens));
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

/// The screen with its styles, for snapshots where colour carries meaning: each row as text,
/// then under it a mask of the same width naming each cell's style by a letter (blank: the
/// terminal's default), then a legend of the letters. Letters go by first appearance, so a
/// changed colour changes its legend line and a restyled cell its mask.
pub fn styled_screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    styled_rows_text(buffer, 0..buffer.area.height)
}

/// [`styled_screen_text`] of the rows in `rows` only (numbered as on the screen).
pub fn styled_rows_text(buffer: &ratatui::buffer::Buffer, rows: std::ops::Range<u16>) -> String {
    use std::fmt::Write as _;
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let width = usize::from(buffer.area.width.max(1));
    let mut styles: Vec<CellStyle> = Vec::new();
    let mut out = String::new();
    let rows = buffer
        .content()
        .chunks(width)
        .enumerate()
        .skip(usize::from(rows.start))
        .take(usize::from(rows.end.saturating_sub(rows.start)));
    for (y, row) in rows {
        let mut mask = String::new();
        let mut letter = ' ';
        let mut covered = 0;
        for cell in row {
            // The cells a wide character covers take its letter.
            if covered > 0 {
                covered -= 1;
            } else {
                let style = CellStyle::of(cell);
                letter = if style.is_default() {
                    ' '
                } else {
                    let at = styles.iter().position(|s| *s == style).unwrap_or_else(|| {
                        styles.push(style);
                        styles.len() - 1
                    });
                    char::from(*LETTERS.get(at).expect("at most 62 styles on a screen"))
                };
                covered = tern::render::display_width(cell.symbol()).saturating_sub(1);
            }
            mask.push(letter);
        }
        let _ = writeln!(out, "{y:>2} \"{}\"", row_text(row));
        let _ = writeln!(out, "   \"{mask}\"");
    }
    for (style, letter) in styles.iter().zip(LETTERS) {
        let _ = writeln!(out, "{}  {style}", char::from(*letter));
    }
    out
}

/// What a cell looks like apart from its text.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CellStyle {
    fg: ratatui::style::Color,
    bg: ratatui::style::Color,
    modifier: ratatui::style::Modifier,
}

impl CellStyle {
    /// A blank cell's foreground and text modifiers do not show: they are left out, so masks
    /// follow what the eye sees.
    fn of(cell: &ratatui::buffer::Cell) -> CellStyle {
        use ratatui::style::{Color, Modifier};
        let style = CellStyle {
            fg: cell.fg,
            bg: cell.bg,
            modifier: cell.modifier,
        };
        if cell.symbol() != " " || cell.modifier.contains(Modifier::REVERSED) {
            return style;
        }
        CellStyle {
            fg: Color::Reset,
            modifier: cell.modifier & (Modifier::UNDERLINED | Modifier::CROSSED_OUT),
            ..style
        }
    }

    fn is_default(&self) -> bool {
        use ratatui::style::{Color, Modifier};
        self.fg == Color::Reset && self.bg == Color::Reset && self.modifier == Modifier::empty()
    }
}

/// `fg #e06c75 bg #282c34 bold italic`: the colours that are set, then the modifiers.
impl std::fmt::Display for CellStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ratatui::style::Color;
        let color = |c: Color| match c {
            Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
            Color::Indexed(i) => format!("color{i}"),
            named => format!("{named:?}").to_lowercase(),
        };
        let mut parts = Vec::new();
        if self.fg != Color::Reset {
            parts.push(format!("fg {}", color(self.fg)));
        }
        if self.bg != Color::Reset {
            parts.push(format!("bg {}", color(self.bg)));
        }
        parts.extend(
            self.modifier
                .iter_names()
                .map(|(name, _)| name.to_lowercase()),
        );
        f.write_str(&parts.join(" "))
    }
}
