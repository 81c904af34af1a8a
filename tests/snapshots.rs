//! Whole-screen snapshots: the app driven by actions (as the loop would), drawn with
//! `ui::draw` into a `TestBackend`, compared with insta (ratatui's snapshot recipe; gitui's
//! app-level snapshots). Review changes with `cargo insta review`. Where colour carries meaning
//! (errors, notices, the picker's current model, code) a `_styles` snapshot also holds each
//! cell's colours and modifiers (`styled_screen_text`), so a changed colour fails a test.
//!
//! Everything on screen is made stable: the app's wall clock is `FIXED_MS` (every message it
//! makes is stamped then), its ids are seeded, the clock only moves when a test moves
//! `app.now`, and the settings are fixed by hand.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tern::app::{Action, ApiEvent, App, Effect, RequestId};
use tern::render::Theme;
use tern::ui::ViewState;

use common::stored;
use common::*;

/// 2025-01-01 09:30:00 UTC: every message claims this time.
const FIXED_MS: i64 = 1_735_723_800_000;

/// The app, its view and a test terminal, driven like the real loop drives them.
struct Screen {
    app: App,
    view: ViewState,
    terminal: Terminal<TestBackend>,
}

impl Screen {
    fn new(width: u16, height: u16) -> Screen {
        Screen::with_settings(width, height, settings(true))
    }

    fn with_settings(width: u16, height: u16, settings: tern::app::Settings) -> Screen {
        let theme = Theme::builtin("dark").expect("the dark theme is built in");
        Screen {
            app: app_with(settings, FIXED_MS),
            view: ViewState::new(theme, time::UtcOffset::UTC),
            terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        }
    }

    /// Apply an action; the view catches up (scrolls, closed tabs), as in the driver.
    fn act(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.app.update(action);
        self.view.sync(&mut self.app);
        effects
    }

    fn type_str(&mut self, text: &str) {
        for c in text.chars() {
            self.act(key(KeyCode::Char(c)));
        }
    }

    /// Type `prompt`, press Enter; the request id of the reply.
    fn send(&mut self, prompt: &str) -> RequestId {
        self.type_str(prompt);
        let effects = self.act(key(KeyCode::Enter));
        the_send(&effects).1
    }

    fn event(&mut self, request: RequestId, event: ApiEvent) {
        let conversation = self
            .app
            .panes
            .iter()
            .find(|p| {
                p.request() == Some(request) || p.columns.iter().any(|c| c.request == Some(request))
            })
            .expect("a pane owns the request")
            .conversation
            .id
            .clone();
        self.act(Action::Api {
            conversation,
            request,
            event,
        });
    }

    /// The reply starts: the server has counted `input` tokens (and a placeholder 1 out).
    fn start(&mut self, request: RequestId, input: u64) {
        self.event(request, started(input));
    }

    /// Stream `chunks`, then finish with their concatenation.
    fn stream_reply(&mut self, request: RequestId, chunks: &[&str], u: tern::api::Usage) {
        self.start(request, u.input_tokens);
        for chunk in chunks {
            self.event(request, ApiEvent::Text((*chunk).to_owned()));
        }
        self.event(request, ApiEvent::Usage(u));
        let model = self.app.pane().model.clone();
        self.event(request, finished(&model, &chunks.concat(), u));
    }

    /// Ctrl+R, then `rows` as the answer to its first query; the effects of that answer.
    fn browse(&mut self, rows: Vec<tern::app::BrowserRow>) -> Vec<Effect> {
        let query = self.act(ctrl('r'));
        assert!(matches!(query.as_slice(), [Effect::BrowserQuery { .. }]));
        self.act(Action::BrowserRows {
            generation: 1,
            rows: Ok(rows),
        })
    }

    fn draw(&mut self) -> &TestBackend {
        let Screen {
            app,
            view,
            terminal,
        } = self;
        terminal
            .draw(|frame| tern::ui::draw(app, view, frame))
            .unwrap();
        terminal.backend()
    }

    fn text(&mut self) -> String {
        screen_text(self.draw().buffer())
    }

    /// The screen with its colours and modifiers (see `styled_screen_text`).
    fn styled(&mut self) -> String {
        styled_screen_text(self.draw().buffer())
    }
}

const REPLY: [&str; 6] = [
    "# Hello, world in Rust\n\nHere is the **classic** program",
    ", in full:\n\n```rust\nfn main() {\n",
    "    println!(\"Hello, world!\");\n}\n```\n\n",
    "- Save it as `main.rs`\n- Run `rustc main.rs && ./main`\n",
    "- It prints one line and exits; nothing else is needed for a first program, ",
    "and the compiler's messages are friendly when something is off.\n\nHave fun!",
];

/// A finished turn with a markdown reply holding a code block.
fn markdown_conversation(width: u16, height: u16) -> Screen {
    let mut screen = Screen::new(width, height);
    let request = screen.send("Show me hello world in Rust, please");
    screen.stream_reply(request, &REPLY, usage(1234, 96));
    screen
}

#[test]
fn empty_start_with_a_key() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = Screen::new(w, h);
        insta::assert_snapshot!(format!("empty_start_{w}x{h}"), screen.draw());
    }
}

#[test]
fn empty_start_without_a_key_explains_how_to_get_going() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = Screen::with_settings(w, h, settings(false));
        let text = screen.text();
        assert!(text.contains("No API key is set yet."), "{text}");
        assert!(text.contains("export APIFREE_API_KEY"), "{text}");
        // An installed tern has its fake server next to it; cargo is not assumed.
        assert!(text.contains("tern-fake-server"), "{text}");
        assert!(!text.contains("cargo"), "{text}");
        insta::assert_snapshot!(format!("empty_start_no_key_{w}x{h}"), screen.draw());
    }
}

#[test]
fn a_streamed_markdown_reply_with_a_code_block() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = markdown_conversation(w, h);
        let text = screen.text();
        assert!(text.contains("fn main() {"), "{text}");
        assert!(!text.contains("```"), "fences are not shown raw:\n{text}");
        assert!(
            !text.contains("**"),
            "emphasis markers are not shown raw:\n{text}"
        );
        insta::assert_snapshot!(format!("markdown_reply_{w}x{h}"), screen.draw());
    }
}

#[test]
fn a_reply_while_it_streams() {
    let mut screen = Screen::new(80, 24);
    let t0 = screen.app.now;
    let request = screen.send("Show me hello world in Rust, please");
    screen.start(request, 1234);
    screen.app.now = t0 + Duration::from_millis(500);
    screen.event(request, ApiEvent::Text(REPLY[0].into()));
    screen.event(request, ApiEvent::Text(REPLY[1].into()));
    screen.app.now = t0 + Duration::from_secs(2);
    let text = screen.text();
    assert!(text.contains("streaming ~"), "{text}");
    assert!(text.contains("Esc stops the reply"), "{text}");
    insta::assert_snapshot!("streaming_80x24", screen.draw());
}

#[test]
fn output_tokens_are_estimated_while_streaming_and_once_stopped() {
    // 120 columns: wide enough for the last turn's tokens beside the context fill and cost.
    let mut screen = Screen::new(120, 24);
    let request = screen.send("Show me hello world in Rust, please");
    screen.start(request, 1234);
    screen.event(request, ApiEvent::Text(REPLY[0].into()));
    screen.event(request, ApiEvent::Text(REPLY[1].into()));
    // The output so far is estimated from the text, not message_start's placeholder 1.
    let text = screen.text();
    assert!(text.contains("last 1.2k in · ~22 out"), "{text}");
    screen.act(key(KeyCode::Esc));
    let text = screen.text();
    assert!(text.contains("last 1.2k in · ~22 out"), "{text}");
    assert!(
        text.contains("09:30  1.2k in · ~22 out"),
        "the reply's header: {text}"
    );
}

#[test]
fn waiting_and_retrying_show_in_the_status_bar() {
    let mut screen = Screen::new(80, 24);
    let t0 = screen.app.now;
    let request = screen.send("hello");
    screen.app.now = t0 + Duration::from_secs(3);
    assert!(screen.text().contains("waiting 3s"));
    screen.event(
        request,
        ApiEvent::Retrying(tern::api::RetryNotice {
            attempt: 1,
            max_retries: 2,
            delay: Duration::from_millis(1500),
            cause: tern::api::ApiError::Status(Box::new(tern::api::StatusError {
                status: 529,
                error_type: Some("overloaded_error".into()),
                message: Some("Overloaded".into()),
                request_id: None,
                retry_after: None,
                should_retry: None,
                spend_limit: false,
            })),
        }),
    );
    insta::assert_snapshot!("retrying_80x24", screen.draw());
}

/// The model picker over a finished turn, filtered by "son", the current model selected.
fn picker_filtered(width: u16, height: u16) -> Screen {
    let mut screen = markdown_conversation(width, height);
    screen.act(ctrl('p'));
    screen.type_str("son");
    screen.act(key(KeyCode::Down));
    screen
}

#[test]
fn the_model_picker_with_a_filter() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = picker_filtered(w, h);
        let text = screen.text();
        assert!(text.contains("claude-sonnet-4.6  (current)"), "{text}");
        assert!(!text.contains("claude-haiku-4.5"), "{text}");
        insta::assert_snapshot!(format!("model_picker_{w}x{h}"), screen.draw());
    }
}

#[test]
fn the_model_picker_offers_an_unlisted_id_as_typed() {
    let mut screen = Screen::new(80, 24);
    screen.act(ctrl('p'));
    screen.type_str("gpt-oss-120b");
    let text = screen.text();
    assert!(
        text.contains("not in the list · Enter uses “gpt-oss-120b” as typed"),
        "{text}"
    );
}

/// A turn the server refused with a 401.
fn refused_401(width: u16, height: u16) -> Screen {
    let mut screen = Screen::new(width, height);
    let request = screen.send("hello?");
    screen.event(request, failed(unauthorized()));
    screen
}

#[test]
fn an_error_block_for_a_401() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = refused_401(w, h);
        let text = screen.text();
        assert!(text.contains("authentication failed"), "{text}");
        assert!(text.contains("HTTP 401 authentication_error"), "{text}");
        assert!(text.contains("Ctrl+T retries this turn"), "{text}");
        insta::assert_snapshot!(format!("error_401_{w}x{h}"), screen.draw());
    }
}

#[test]
fn an_error_mid_reply_keeps_the_partial_text() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("tell me about terns");
    screen.event(
        request,
        ApiEvent::Text("Terns are seabirds of the family Laridae. They".into()),
    );
    screen.event(request, failed(overloaded_midstream()));
    insta::assert_snapshot!("error_midstream_80x24", screen.draw());
}

#[test]
fn the_help_overlay() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut screen = Screen::new(w, h);
        screen.act(key(KeyCode::F(1)));
        let text = screen.text();
        assert!(text.contains("send the message"), "{text}");
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen.draw());
    }
}

#[test]
fn the_help_overlay_scrolled_to_the_end() {
    let mut screen = Screen::new(80, 24);
    screen.act(key(KeyCode::F(1)));
    for _ in 0..8 {
        screen.act(key(KeyCode::PageDown));
    }
    let text = screen.text();
    assert!(text.contains("/tools [auto|any|none|NAME]"), "{text}");
    insta::assert_snapshot!("help_end_80x24", screen.draw());
}

#[test]
fn a_narrow_terminal() {
    let mut screen = markdown_conversation(60, 24);
    let text = screen.text();
    assert!(text.contains("fn main() {"), "{text}");
    insta::assert_snapshot!("markdown_reply_60x24", screen.draw());

    screen.act(ctrl('p'));
    insta::assert_snapshot!("model_picker_60x24", screen.draw());
}

#[test]
fn a_narrow_terminal_error_block() {
    let mut screen = refused_401(60, 24);
    insta::assert_snapshot!("error_401_60x24", screen.draw());
}

#[test]
fn a_stopped_reply() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("tell me a story");
    screen.event(
        request,
        ApiEvent::Text("Once upon a time, in a terminal far away, there lived".into()),
    );
    screen.act(key(KeyCode::Esc));
    let text = screen.text();
    assert!(text.contains("■ stopped"), "{text}");
    assert!(text.contains("there lived"), "{text}");
    assert!(text.contains("09:30  ~14 out"), "{text}");
    insta::assert_snapshot!("stopped_80x24", screen.draw());
}

#[test]
fn scrolled_up_while_text_arrives_shows_the_new_text_marker() {
    let mut screen = markdown_conversation(80, 24);
    let request = screen.send("And in C?");
    screen.event(request, ApiEvent::Text("In C it is:\n\n".into()));
    screen.draw();
    screen.act(key(KeyCode::PageUp));
    let before = screen.text();
    assert!(
        !before.contains("new text below"),
        "nothing new yet:\n{before}"
    );
    screen.event(
        request,
        ApiEvent::Text("```c\n#include <stdio.h>\nint main(void) {\n".into()),
    );
    let text = screen.text();
    assert!(text.contains("↓ new text below (End)"), "{text}");
    assert!(!text.contains("#include"), "the view stays put:\n{text}");
    insta::assert_snapshot!("scrolled_up_new_text_80x24", screen.draw());

    // End follows the bottom again and the marker goes.
    screen.act(key(KeyCode::End));
    let text = screen.text();
    assert!(text.contains("#include <stdio.h>"), "{text}");
    assert!(!text.contains("new text below"), "{text}");
}

#[test]
fn tabs_show_busy_and_unread_markers() {
    let mut screen = markdown_conversation(80, 24);
    let request = screen.send("a slow question for tab one");
    screen.act(ctrl('n'));
    let second = screen.send("second tab");
    screen.act(ctrl('n'));
    screen.event(second, ApiEvent::Text("background text".into()));
    let text = screen.text();
    let tabs = text.lines().next().unwrap().to_owned();
    assert!(
        tabs.contains("2:second tab ●") || tabs.contains("2:second tab ⠋"),
        "{tabs}"
    );
    screen.event(
        request,
        finished(tern::config::DEFAULT_MODEL, "done", usage(1, 1)),
    );
    screen.event(
        second,
        finished(tern::config::DEFAULT_MODEL, "done", usage(1, 1)),
    );
    let text = screen.text();
    let tabs = text.lines().next().unwrap();
    assert!(tabs.contains("1:Show me hello world in … ●"), "{tabs}");
    assert!(tabs.contains("2:second tab ●"), "{tabs}");
    insta::assert_snapshot!("tabs_unread_80x24", screen.draw());
}

#[test]
fn the_code_block_chooser() {
    let mut screen = markdown_conversation(80, 24);
    screen.act(ctrl('o'));
    let text = screen.text();
    assert!(text.contains("msg 2 · #1 rust · fn main() {"), "{text}");
    insta::assert_snapshot!("code_picker_80x24", screen.draw());
}

fn with_sampling_settings(width: u16, height: u16) -> Screen {
    let mut screen = Screen::new(width, height);
    for command in [
        "/system You are a terse assistant who answers in one sentence and never more than that",
        "/temp 0.3",
        "/top_p 0.9",
        "/max 512",
    ] {
        screen.type_str(command);
        screen.act(key(KeyCode::Enter));
    }
    screen
}

#[test]
fn slash_settings_show_in_the_pane_header() {
    let mut screen = with_sampling_settings(120, 40);
    let text = screen.text();
    let header = text.lines().nth(1).unwrap();
    assert!(
        header.contains("system: You are a terse assistant who answers in one sentence an…"),
        "{header}"
    );
    assert!(
        header.contains("temp 0.3 · top_p 0.9 · max 512"),
        "{header}"
    );
    insta::assert_snapshot!("header_settings_120x40", screen.draw());
}

#[test]
fn slash_settings_stay_visible_in_an_80_column_header() {
    let mut screen = with_sampling_settings(80, 24);
    let text = screen.text();
    let header = text.lines().nth(1).unwrap();
    for part in ["temp 0.3", "top_p 0.9", "max 512"] {
        assert!(header.contains(part), "{part} missing from {header:?}");
    }
}

/// The `│`-separated segments of a status line, trimmed, the right-hand hint removed.
fn status_segments(status: &str) -> Vec<String> {
    let status = status.trim_end();
    let status = status.strip_suffix("F1 help").unwrap_or(status);
    status
        .split('│')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn the_status_bar_never_shows_a_cut_number() {
    let mut wide = markdown_conversation(200, 24);
    let full = status_segments(wide.text().lines().last().unwrap());
    assert!(
        full.iter().any(|s| s == "total 1.2k in · 96 out"),
        "{full:?}"
    );
    for width in [60, 80, 100] {
        let mut screen = markdown_conversation(width, 24);
        let text = screen.text();
        let status = text.lines().last().unwrap();
        for segment in status_segments(status) {
            assert!(
                full.contains(&segment) || segment.ends_with('…'),
                "{width} columns: segment {segment:?} is cut without a mark in {status:?}"
            );
        }
    }
}

/// Every segment in order when there is room; as the bar narrows they go whole, the totals
/// first, then the cache counts (last turn/conversation), then the last turn; the context
/// fill and the cost stay.
#[test]
fn status_segments_give_way_by_rank() {
    let status_at = |width: u16| {
        let mut screen = Screen::new(width, 24);
        let request = screen.send("hello");
        let mut u = usage(123_456, 7_890);
        u.cache_read_input_tokens = Some(45_678);
        u.cache_creation_input_tokens = Some(12_345);
        screen.stream_reply(request, &["hi there"], u);
        let text = screen.text();
        status_segments(text.lines().last().unwrap())
    };
    let full = status_at(200);
    let names: Vec<&str> = full.iter().map(|s| s.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "claude-sonnet-4.6",
            "ready",
            "last",
            "cache",
            "total",
            "ctx",
            "~$0.5487"
        ],
        "{full:?}"
    );
    assert_eq!(full[3], "cache r 45.7k/45.7k · w 12.3k/12.3k");
    let mut dropped = Vec::new();
    for width in (40..200).rev() {
        let shown = status_at(width);
        // A segment of a higher rank never takes the place of one that did not fit.
        let has = |name: &str| shown.iter().any(|s| s.starts_with(name));
        assert!(!has("total") || has("cache"), "width {width}: {shown:?}");
        assert!(!has("cache") || has("last"), "width {width}: {shown:?}");
        for segment in &full {
            let name = segment.split(' ').next().unwrap();
            if !shown.contains(segment) && !dropped.contains(&name) {
                dropped.push(name);
            }
        }
    }
    assert_eq!(dropped, ["total", "cache", "last", "~$0.5487", "ctx"]);
}

#[test]
fn help_descriptions_line_up() {
    let app = new_app();
    let theme = Theme::builtin("dark").unwrap();
    for width in [76u16, 116] {
        // Each row (and each wrapped continuation) is a key-column span, then the description.
        let columns: Vec<(String, usize)> = tern::ui::help_lines(&app, &theme, width)
            .iter()
            .filter(|line| line.spans.len() >= 2)
            .map(|line| {
                let keys = line.spans[0].content.to_string();
                let w = tern::render::display_width(&keys);
                (keys, w)
            })
            .collect();
        assert!(columns.len() > 20);
        let first = columns[0].1;
        for (keys, w) in &columns {
            assert_eq!(*w, first, "the description after {keys:?} starts elsewhere");
        }
        for line in tern::ui::help_lines(&app, &theme, width) {
            assert!(
                line.width() <= usize::from(width),
                "{line:?} is wider than {width}"
            );
        }
    }
}

/// No cell of any of these screens holds a control character (model text is data).
#[test]
fn hostile_model_text_never_reaches_the_screen() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("show me escapes");
    let chunks = [
        "Red: \u{1b}[31mred\u{1b}[0m, clipboard: \u{1b}]52;c;",
        "cm0gLXJmIH4=\u{7} title: \u{1b}]0;pwned\u{7} CR:\rX C1:\u{9b}31m!\n",
        "```\u{1b}[2J\ncode \u{1b}[1mbold\u{1b}[0m\n```\n",
    ];
    for chunk in chunks {
        screen.event(request, ApiEvent::Text(chunk.into()));
        assert_no_controls(screen.draw().buffer());
    }
    screen.event(
        request,
        finished(tern::config::DEFAULT_MODEL, &chunks.concat(), usage(1, 1)),
    );
    assert_no_controls(screen.draw().buffer());
    let text = screen.text();
    assert!(!text.contains("pwned"), "{text}");
    assert!(!text.contains("cm0gLXJmIH4"), "{text}");
}

#[track_caller]
fn assert_no_controls(buffer: &Buffer) {
    for (i, cell) in buffer.content().iter().enumerate() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "control character in cell {i}: {:?}",
            cell.symbol()
        );
    }
}

#[test]
fn wide_characters_and_tabs_line_up() {
    let mut screen = Screen::new(60, 24);
    let request = screen.send("日本語のテキストを折り返してください 🦀🦀 and\ttabs\there");
    screen.stream_reply(
        request,
        &[
            "はい。これは長い日本語の文章で、表示幅で正しく折り返されるべきです。",
            "絵文字も 🦀🐦 同じです。\n\n| 列 | 幅 |\n|---|---|\n| 漢字 | 2 |\n| a | 1 |\n\n",
            "```\nlet s = \"漢字\";\tcol\n```\n",
        ],
        usage(20, 30),
    );
    let text = screen.text();
    for line in text.lines() {
        assert_eq!(
            tern::render::display_width(line),
            60,
            "a row is not 60 columns wide: {line:?}"
        );
    }
    insta::assert_snapshot!("wide_chars_60x24", screen.draw());
}

// ─── Tabs that do not fit ────────────────────────────────────────────────────────────────

/// `n` tabs, each named with `/title`, the last one active.
fn many_tabs(width: u16, n: usize) -> Screen {
    let mut screen = Screen::new(width, 24);
    for i in 1..=n {
        if i > 1 {
            screen.act(ctrl('n'));
        }
        screen.type_str(&format!("/title Topic number {i}"));
        screen.act(key(KeyCode::Enter));
    }
    screen
}

fn tab_row(screen: &mut Screen) -> String {
    screen.text().lines().next().unwrap().to_owned()
}

#[test]
fn overflowing_tabs_keep_the_active_one_visible_with_markers() {
    let mut screen = many_tabs(80, 7);
    let row = tab_row(&mut screen);
    assert!(
        row.contains("7:Topic number 7"),
        "the active tab is shown: {row:?}"
    );
    assert!(
        row.trim_start().starts_with('‹'),
        "tabs are hidden on the left: {row:?}"
    );
    assert!(
        !row.contains('›'),
        "nothing is hidden on the right: {row:?}"
    );
    insta::assert_snapshot!("tabs_overflow_last_80x24", screen.draw());

    screen.act(alt(KeyCode::Char('1')));
    let row = tab_row(&mut screen);
    assert!(row.contains("1:Topic number 1"), "{row:?}");
    assert!(!row.contains('‹'), "{row:?}");
    assert!(
        row.trim_end().ends_with('›'),
        "tabs are hidden on the right: {row:?}"
    );

    screen.act(alt(KeyCode::Char('4')));
    let row = tab_row(&mut screen);
    assert!(row.contains("4:Topic number 4"), "{row:?}");
    assert!(
        row.trim_start().starts_with('‹') && row.trim_end().ends_with('›'),
        "{row:?}"
    );
    insta::assert_snapshot!("tabs_overflow_middle_80x24", screen.draw());

    // Alt+9 is the last tab, however many there are.
    screen.act(alt(KeyCode::Char('9')));
    assert_eq!(screen.app.active, 6);
    assert!(tab_row(&mut screen).contains("7:Topic number 7"));
}

#[test]
fn tabs_that_fit_show_no_markers() {
    let mut screen = many_tabs(120, 3);
    let row = tab_row(&mut screen);
    for i in 1..=3 {
        assert!(row.contains(&format!("{i}:Topic number {i}")), "{row:?}");
    }
    assert!(!row.contains('‹') && !row.contains('›'), "{row:?}");
}

// ─── Popups over wide characters ─────────────────────────────────────────────────────────

/// The character drawn starting at display column `col` of a `screen_text` row, if one starts
/// there (`None` when `col` is the second half of a wide character).
fn char_at(row: &str, col: usize) -> Option<char> {
    let mut at = 0;
    for c in row.chars() {
        if at == col {
            return Some(c);
        }
        at += tern::render::display_width(c.encode_utf8(&mut [0; 4]));
        if at > col {
            return None;
        }
    }
    None
}

/// Rows and columns of the popup's corners on a screen: (top, bottom, left, right).
fn popup_frame(text: &str) -> (usize, usize, usize, usize) {
    let rows: Vec<&str> = text.lines().collect();
    let top = rows.iter().position(|r| r.contains('╭')).expect("a popup");
    let bottom = rows.iter().position(|r| r.contains('╰')).expect("a popup");
    let column = |row: &str, corner: char| {
        (0..200)
            .find(|&c| char_at(row, c) == Some(corner))
            .expect("the corner")
    };
    (top, bottom, column(rows[top], '╭'), column(rows[top], '╮'))
}

/// The popup at `frame` has every corner and side cell.
#[track_caller]
fn assert_popup_borders(text: &str, frame: (usize, usize, usize, usize), what: &str) {
    let (top, bottom, left, right) = frame;
    let rows: Vec<&str> = text.lines().collect();
    for (y, row) in rows.iter().enumerate().take(bottom + 1).skip(top) {
        let (l, r) = match y {
            _ if y == top => ('╭', '╮'),
            _ if y == bottom => ('╰', '╯'),
            _ => ('│', '│'),
        };
        assert_eq!(
            char_at(row, left),
            Some(l),
            "{what}: row {y} lost its left border:\n{text}"
        );
        assert_eq!(
            char_at(row, right),
            Some(r),
            "{what}: row {y} lost its right border:\n{text}"
        );
    }
}

#[test]
fn popups_over_wide_characters_keep_every_border_cell() {
    let mut plain = Screen::new(80, 24);
    let mut screen = Screen::new(80, 24);
    let request = screen.send("日本語で書いてください");
    // Paragraphs of wide characters at both parities of the column, so one of them straddles
    // each popup edge.
    let line = "漢字仮名交じり文は表示幅が二列の文字でできている。".repeat(3);
    let reply = format!("{line}\n\na{line}\n\n{line}\n\nb{line}\n\n{line}\n\nc{line}");
    screen.stream_reply(request, &[&reply], usage(10, 500));
    for (open, what) in [
        (ctrl('p'), "model picker"),
        (key(KeyCode::F(1)), "help"),
        (ctrl('r'), "browser"),
    ] {
        // The same popup over a screen without wide characters gives its place.
        plain.act(clone_key(&open));
        let frame = popup_frame(&plain.text());
        plain.act(key(KeyCode::Esc));
        screen.act(open);
        assert_popup_borders(&screen.text(), frame, what);
        screen.act(key(KeyCode::Esc));
    }
}

fn clone_key(action: &Action) -> Action {
    match action {
        Action::Key(k) => Action::Key(*k),
        _ => unreachable!("only keys here"),
    }
}

// ─── Tool calls ──────────────────────────────────────────────────────────────────────────

fn tool_reply(name: &str, input: serde_json::Value) -> ApiEvent {
    ApiEvent::Finished(Box::new(tern::api::Message {
        id: "msg_tool".into(),
        kind: "message".into(),
        role: tern::api::Role::Assistant,
        content: vec![
            tern::api::ContentBlock::text("Let me check the weather for you."),
            tern::api::ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: name.into(),
                input,
                extra: Default::default(),
            },
        ],
        model: tern::config::DEFAULT_MODEL.into(),
        stop_reason: Some("tool_use".into()),
        usage: usage(20, 30),
        ..Default::default()
    }))
}

#[test]
fn a_tool_call_shows_its_name_and_input() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("what is the weather in SF?");
    screen.event(
        request,
        ApiEvent::Text("Let me check the weather for you.".into()),
    );
    screen.event(
        request,
        tool_reply(
            "get_weather",
            serde_json::json!({"location": "San Francisco, CA", "unit": "celsius"}),
        ),
    );
    let text = screen.text();
    assert!(text.contains("tool call: get_weather"), "{text}");
    assert!(
        text.contains(r#""location": "San Francisco, CA","#),
        "{text}"
    );
    assert!(text.contains(r#""unit": "celsius""#), "{text}");
    insta::assert_snapshot!("tool_call_80x24", screen.draw());
}

/// A screen whose MCP servers are up with one tool that asks before it runs.
fn with_a_tool(width: u16, height: u16) -> Screen {
    let mut settings = settings(true);
    settings.tools_configured = true;
    settings.tools = vec![tern::app::tools::Tool {
        name: "files__read_file".into(),
        description: Some("Read a file".into()),
        input_schema: serde_json::json!({"type": "object"}),
        runs_unasked: false,
    }];
    let mut screen = Screen::with_settings(width, height, settings);
    screen.app.tools_state = tern::app::tools::ToolsState::Ready;
    screen
}

#[test]
fn a_tool_call_asks_runs_and_shows_its_result() {
    for (width, height) in [(80, 24), (120, 40)] {
        let mut screen = with_a_tool(width, height);
        let request = screen.send("what do my notes say?");
        screen.event(
            request,
            tool_reply(
                "files__read_file",
                serde_json::json!({"path": "/home/me/notes/todo.md"}),
            ),
        );
        let asking = screen.text();
        assert!(asking.contains("▶ run it?"), "{asking}");
        insta::assert_snapshot!(format!("tool_call_asking_{width}x{height}"), asking);
        let effects = screen.act(key(KeyCode::Char('y')));
        assert!(effects.iter().any(|e| matches!(e, Effect::CallTool { .. })));
        assert!(screen.text().contains("⋯ running"));
        let conversation = screen.app.pane().id().to_owned();
        let lines: Vec<String> = (1..=9).map(|i| format!("- item {i}")).collect();
        screen.act(Action::ToolFinished {
            conversation,
            call: "toolu_1".into(),
            result: Ok(tern::app::tools::ToolOutcome {
                content: vec![serde_json::json!({"type": "text", "text": lines.join("\n")})],
                is_error: false,
                summary: lines.join("\n"),
            }),
        });
        let result = screen.text();
        assert!(result.contains("↳ files__read_file"), "{result}");
        assert!(result.contains("… 3 more lines"), "{result}");
        insta::assert_snapshot!(format!("tool_call_result_{width}x{height}"), result);
    }
}

#[test]
fn of_two_calls_only_the_first_asks_and_the_other_waits() {
    let mut screen = with_a_tool(120, 40);
    let request = screen.send("read two files");
    let call = |id: &str| tern::api::ContentBlock::ToolUse {
        id: id.into(),
        name: "files__read_file".into(),
        input: serde_json::json!({"path": id}),
        extra: Default::default(),
    };
    screen.event(
        request,
        ApiEvent::Finished(Box::new(tern::api::Message {
            content: vec![call("a"), call("b")],
            model: tern::config::DEFAULT_MODEL.into(),
            stop_reason: Some("tool_use".into()),
            ..Default::default()
        })),
    );
    let text = screen.text();
    assert_eq!(text.matches("▶ run it?").count(), 1, "{text}");
    assert!(
        text.contains("· waits: the call above is answered first"),
        "{text}"
    );
    screen.act(key(KeyCode::Char('n')));
    let text = screen.text();
    assert_eq!(text.matches("▶ run it?").count(), 1, "{text}");
    assert!(text.contains("✗ the user declined"), "{text}");
}

#[test]
fn a_hostile_tool_call_never_reaches_the_terminal() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("go");
    screen.event(
        request,
        tool_reply(
            "evil\u{1b}]0;pwned\u{7}",
            serde_json::json!({"cmd": "\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}", "k\u{9b}": 1}),
        ),
    );
    assert_no_controls(screen.draw().buffer());
    let text = screen.text();
    assert!(text.contains("tool call: evil"), "{text}");
    assert!(!text.contains("pwned"), "{text}");
}

// ─── Colours that carry meaning ──────────────────────────────────────────────────────────

/// The theme the screens are drawn with.
fn dark() -> Theme {
    Theme::builtin("dark").expect("the dark theme is built in")
}

/// The colour of the cells under the first `needle` on screen.
fn colour_at(screen: &mut Screen, needle: &str) -> Option<ratatui::style::Color> {
    let buffer = screen.draw().buffer().clone();
    let text = screen_text(&buffer);
    let (y, line) = text.lines().enumerate().find(|(_, l)| l.contains(needle))?;
    let x = tern::render::display_width(&line[..line.find(needle)?]);
    Some(buffer[(x as u16, y as u16)].fg)
}

#[test]
fn an_error_reply_is_drawn_in_the_error_colour() {
    let mut screen = refused_401(80, 24);
    assert_eq!(
        colour_at(&mut screen, "✖ authentication failed"),
        dark().error.fg
    );
    insta::assert_snapshot!("error_401_80x24_styles", screen.styled());
}

#[test]
fn notices_are_drawn_in_the_error_and_success_colours() {
    // The status bar after a command, as (its colour, its styled row).
    let notice = |command: &str, needle: &str| {
        let mut screen = Screen::new(80, 24);
        screen.type_str(command);
        screen.act(key(KeyCode::Enter));
        let colour = colour_at(&mut screen, needle);
        (colour, styled_rows_text(screen.draw().buffer(), 23..24))
    };
    let (colour, error) = notice("/model", "usage: /model ID");
    assert_eq!(colour, dark().error.fg);
    let (colour, info) = notice("/temp 0.3", "temperature 0.3");
    assert_eq!(colour, dark().success.fg);
    insta::assert_snapshot!("notices_80x24_styles", format!("{error}\n{info}"));
}

#[test]
fn the_model_picker_highlights_the_current_model() {
    let mut screen = picker_filtered(80, 24);
    let current = colour_at(&mut screen, "claude-sonnet-4.6  (current)");
    let other = colour_at(&mut screen, "claude-sonnet-4.5");
    assert_ne!(current, other, "the current model stands out");
    insta::assert_snapshot!("model_picker_80x24_styles", screen.styled());
}

#[test]
fn code_blocks_are_syntax_highlighted() {
    let mut screen = markdown_conversation(80, 24);
    let keyword = colour_at(&mut screen, "fn main");
    let name = colour_at(&mut screen, "main() {");
    let string = colour_at(&mut screen, "\"Hello, world!\"");
    assert_ne!(keyword, name, "a keyword and a name differ");
    assert_ne!(string, name, "a string and a name differ");
    insta::assert_snapshot!("markdown_reply_80x24_styles", screen.styled());
}

// ─── The browser preview ─────────────────────────────────────────────────────────────────

#[test]
fn the_browser_preview_renders_markdown_and_fills_the_pane() {
    let mut screen = Screen::new(120, 40);
    let id = "c0de00000001";
    screen.browse(vec![browser_row(
        id,
        "Hello world in Rust",
        &[DEFAULT_MODEL],
        60_000,
    )]);
    let user = stored::user_message(id, 0, "Show me hello world in Rust", FIXED_MS);
    let long = format!(
        "{}\n\nLast line of the reply.",
        (1..=12)
            .map(|i| format!("{i}. step number {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let text = format!("{}\n\n{long}", REPLY.concat());
    let answer = stored::answer(
        id,
        1,
        DEFAULT_MODEL,
        vec![tern::api::ContentBlock::text(text)],
        FIXED_MS,
    );
    screen.act(Action::BrowserPreview {
        id: id.to_owned(),
        messages: vec![user, answer],
    });
    let text = screen.text();
    assert!(text.contains("fn main() {"), "{text}");
    assert!(
        !text.contains("```"),
        "fences are rendered, not shown raw:\n{text}"
    );
    assert!(!text.contains("**"), "emphasis is rendered:\n{text}");
    assert!(text.contains("Last line of the reply."), "{text}");
    // The reply is not cut to a few lines: all twelve steps show.
    for i in 1..=12 {
        assert!(
            text.contains(&format!("step number {i}")),
            "step {i}:\n{text}"
        );
    }
    insta::assert_snapshot!("browser_preview_120x40", screen.draw());
}

/// A saved conversation's row in the browser, last updated `ago_ms` before `FIXED_MS`.
fn browser_row(id: &str, title: &str, models: &[&str], ago_ms: i64) -> tern::app::BrowserRow {
    let mut conversation = stored::conversation(id, title, FIXED_MS - ago_ms);
    conversation.last_model = models.last().map(|m| (*m).to_owned());
    tern::app::BrowserRow {
        summary: tern::store::ConversationSummary {
            conversation,
            message_count: 2 * models.len() as u64,
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            total_input_tokens: 1234,
            total_output_tokens: 96,
            preview: format!("The last answer of “{title}”."),
            branches: 1,
        },
        snippet: None,
        hit_message: None,
    }
}

/// The browser over five saved conversations of different ages: each row's title, relative
/// time, models and size; the newest selected.
#[test]
fn the_browser_lists_saved_conversations_newest_first() {
    const MINUTE: i64 = 60_000;
    let mut screen = Screen::new(100, 30);
    let rows = vec![
        browser_row(
            "c0de00000001",
            "Hello world in Rust",
            &[DEFAULT_MODEL],
            20_000,
        ),
        browser_row(
            "c0de00000002",
            "Pelican facts",
            &["claude-haiku-4.5"],
            3 * MINUTE,
        ),
        browser_row(
            "c0de00000003",
            "Mixed models, one question each",
            &["claude-haiku-4.5", "claude-opus-4.6"],
            2 * 60 * MINUTE,
        ),
        browser_row(
            "c0de00000004",
            "Otter habits",
            &[DEFAULT_MODEL],
            25 * 60 * MINUTE,
        ),
        browser_row(
            "c0de00000005",
            "A conversation from long ago",
            &["claude-opus-4.5"],
            90 * 24 * 60 * MINUTE,
        ),
    ];
    let effects = screen.browse(rows);
    assert_eq!(effects, [Effect::BrowserPreview("c0de00000001".into())]);
    let text = screen.text();
    for when in ["just now", "3m ago", "2h ago", "yesterday", "2024-10-03"] {
        assert!(text.contains(when), "{when}:\n{text}");
    }
    assert!(text.contains("5 recent"), "{text}");
    insta::assert_snapshot!("browser_list_100x30", screen.draw());
    // The selected row stands out by its colours alone.
    insta::assert_snapshot!(
        "browser_list_100x30_styles",
        styled_rows_text(screen.draw().buffer(), 2..8)
    );
}

/// A search shows each match's snippet under its row, the matched word highlighted.
#[test]
fn the_browser_shows_search_snippets_with_the_match_highlighted() {
    use tern::store::{MATCH_END, MATCH_START};
    let mut screen = Screen::new(100, 30);
    screen.act(ctrl('r'));
    screen.type_str("pelican");
    let mut rows = vec![
        browser_row(
            "c0de00000002",
            "Pelican facts",
            &["claude-haiku-4.5"],
            180_000,
        ),
        browser_row("c0de00000003", "Seabirds", &[DEFAULT_MODEL], 7_200_000),
    ];
    rows[1].snippet = Some(format!(
        "…the brown {MATCH_START}pelican{MATCH_END} dives from the air…"
    ));
    let generation = match &screen.app.overlay {
        tern::app::Overlay::Browser(b) => b.generation,
        other => panic!("the browser is open: {other:?}"),
    };
    screen.act(Action::BrowserRows {
        generation,
        rows: Ok(rows),
    });
    let text = screen.text();
    assert!(text.contains("2 matching"), "{text}");
    assert!(text.contains("the brown pelican dives"), "{text}");
    insta::assert_snapshot!("browser_search_100x30", screen.draw());
    insta::assert_snapshot!(
        "browser_search_100x30_styles",
        styled_rows_text(screen.draw().buffer(), 2..10)
    );
}

// ─── The status bar ──────────────────────────────────────────────────────────────────────

#[test]
fn the_cost_survives_a_120_column_status_bar() {
    for (w, cache) in [(120, false), (120, true), (100, true)] {
        let mut screen = Screen::new(w, 40);
        let request = screen.send("hello");
        let mut u = usage(123_456, 7_890);
        if cache {
            u.cache_read_input_tokens = Some(45_678);
            u.cache_creation_input_tokens = Some(12_345);
        }
        screen.stream_reply(request, &["hi there"], u);
        let text = screen.text();
        let status = text.lines().last().unwrap();
        assert!(
            status.contains("~$"),
            "{w} columns, cache {cache}: {status:?}"
        );
        assert!(
            status.contains("ctx "),
            "{w} columns, cache {cache}: {status:?}"
        );
    }
}

#[test]
fn a_prompt_over_the_context_window_is_held_with_the_figures_shown() {
    let mut settings = settings(true);
    settings.max_tokens = 100;
    for model in &mut settings.models {
        model.context_window = 110;
    }
    let mut screen = Screen::with_settings(80, 24, settings);
    screen.type_str("a prompt that is a little too long for this window");
    let effects = screen.act(key(KeyCode::Enter));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Send { .. })));
    let text = screen.text();
    assert!(
        text.contains("⚠ Enter sends anyway · ~13 tokens + 100 for the reply exceed the 110"),
        "{text}"
    );
    assert!(
        text.contains("over the context window · Enter sends anyway"),
        "{text}"
    );
    insta::assert_snapshot!("context_window_warning_80x24", screen.draw());
    // Editing the prompt takes the warning away; a second Enter on the same text sends.
    screen.type_str("!");
    assert!(!screen.text().contains("⚠ Enter"));
}

/// Bidi overrides and invisible characters from outside show as dim `⟨U+XXXX⟩` markers, in
/// replies, code and the model picker, and no cell holds one raw (a terminal may draw it one
/// column wide and push the picker's border out).
#[test]
fn hidden_characters_show_as_dim_markers_and_the_picker_border_stays_put() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("hide something");
    let chunks = [
        "access\u{202e}nimda\u{202c} granted, zero\u{200b}width\n\n",
        "```\nif ok\u{2067} {\u{2069} run() }\n```\n\nfamily 👨\u{200d}👩\u{200d}👧 ok\n",
    ];
    screen.stream_reply(request, &chunks, usage(3, 9));
    let buffer = screen.draw().buffer().clone();
    let text = screen_text(&buffer);
    assert!(
        text.contains("access⟨U+202E⟩nimda⟨U+202C⟩ granted"),
        "{text}"
    );
    assert!(text.contains("zero⟨U+200B⟩width"), "{text}");
    assert!(text.contains("ok⟨U+2067⟩ {⟨U+2069⟩ run()"), "{text}");
    assert!(
        text.contains("👨\u{200d}👩\u{200d}👧"),
        "an emoji sequence stays whole: {text}"
    );
    assert_no_hidden(&buffer);

    // Marker cells are dim; the text around them is not.
    let width = buffer.area.width as usize;
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("access⟨U+202E⟩"))
        .expect("the reply row");
    let col = |needle: &str| tern::render::display_width(&line[..line.find(needle).unwrap()]);
    let cell = |x: usize| &buffer.content()[row * width + x];
    let dim = ratatui::style::Modifier::DIM;
    assert!(cell(col("⟨U+202E⟩")).modifier.contains(dim));
    assert!(cell(col("⟨U+202E⟩") + 7).modifier.contains(dim));
    assert!(!cell(col("access")).modifier.contains(dim));
    assert!(!cell(col("nimda")).modifier.contains(dim));

    screen.act(Action::ModelsFetched(vec![
        "rtl\u{202e}ledom\u{202c}-x".into(),
        "claude-haiku-4.5".into(),
    ]));
    screen.act(ctrl('p'));
    let buffer = screen.draw().buffer().clone();
    let text = screen_text(&buffer);
    assert!(text.contains("rtl⟨U+202E⟩ledom⟨U+202C⟩-x"), "{text}");
    assert_no_hidden(&buffer);

    // The picker's right border is in one column on every row of the popup.
    let rows: Vec<&str> = text.lines().collect();
    let top = rows
        .iter()
        .position(|l| l.contains('╭'))
        .expect("the picker");
    let bottom = rows
        .iter()
        .position(|l| l.contains('╰'))
        .expect("the picker");
    let column_of_last = |l: &str, glyph: char| {
        l.rfind(glyph)
            .map(|at| tern::render::display_width(&l[..at]))
    };
    let edge = column_of_last(rows[top], '╮').expect("top-right corner");
    for l in &rows[top + 1..bottom] {
        assert_eq!(column_of_last(l, '│'), Some(edge), "{l:?}");
    }
    assert_eq!(column_of_last(rows[bottom], '╯'), Some(edge));
    insta::assert_snapshot!("hidden_characters_80x24", screen.draw());
}

#[track_caller]
fn assert_no_hidden(buffer: &Buffer) {
    let hidden = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}' | '\u{200c}' | '\u{2060}' | '\u{feff}');
    for (i, cell) in buffer.content().iter().enumerate() {
        assert!(
            !cell.symbol().chars().any(hidden),
            "cell {i} holds a raw hidden character: {:?}",
            cell.symbol()
        );
    }
}

#[test]
fn the_browser_row_shows_a_hostile_model_id_as_data() {
    let mut screen = Screen::new(120, 40);
    let models = ["mod\u{1b}]0;PWNMOD\u{7}el", "abc\u{202e}XYZ"];
    screen.browse(vec![browser_row("c0de00000002", "imported", &models, 0)]);
    let buffer = screen.draw().buffer().clone();
    let text = screen_text(&buffer);
    assert!(text.contains("4 msgs"), "{text}");
    assert!(text.contains("model, abc⟨U+202E⟩XYZ"), "{text}");
    assert!(!text.contains("PWNMOD"), "{text}");
    assert_no_controls(&buffer);
    assert_no_hidden(&buffer);
}

const THOUGHT: &str = "The user wants hello world in Rust. The classic program is one println! in main; \
I should show it in a code block and say how to build it with rustc.";

/// The finished reply: its signed thinking, then `text`.
fn finished_with(
    model: &str,
    blocks: Vec<tern::api::ContentBlock>,
    u: tern::api::Usage,
) -> ApiEvent {
    ApiEvent::Finished(Box::new(tern::api::Message {
        id: "msg_test".into(),
        kind: "message".into(),
        role: tern::api::Role::Assistant,
        content: blocks,
        model: model.to_owned(),
        stop_reason: Some("end_turn".into()),
        usage: u,
        ..tern::api::Message::default()
    }))
}

#[test]
fn thinking_streams_dim_then_collapses_and_one_key_expands_it() {
    let mut screen = Screen::new(80, 24);
    let t0 = screen.app.now;
    let request = screen.send("Show me hello world in Rust, please");
    screen.start(request, 1234);
    screen.app.now = t0 + Duration::from_secs(1);
    let (first, rest) = THOUGHT.split_at(40);
    screen.event(request, ApiEvent::Thinking(first.into()));
    screen.app.now = t0 + Duration::from_secs(4);
    screen.event(request, ApiEvent::Thinking(format!("{rest}\u{1b}[2J")));
    // While it thinks: the thinking text, dim, wrapped, and the phase says so.
    let text = screen.text();
    assert!(text.contains("thinking 3s"), "{text}");
    assert!(!text.contains("waiting"), "{text}");
    assert!(text.contains("The user wants hello world"), "{text}");
    assert!(!text.contains("[2J"), "controls are stripped: {text}");
    insta::assert_snapshot!("thinking_streaming_80x24", screen.draw());
    insta::assert_snapshot!("thinking_streaming_80x24_styles", screen.styled());
    // The answer starts: the thinking folds to one line.
    screen.app.now = t0 + Duration::from_secs(13);
    screen.event(request, ApiEvent::Text(REPLY[0].into()));
    let text = screen.text();
    assert!(text.contains("▸ thought for 12 s · ~"), "{text}");
    assert!(!text.contains("The user wants hello world"), "{text}");
    let model = screen.app.pane().model.clone();
    let u = usage(1234, 96);
    screen.event(request, ApiEvent::Usage(u));
    let blocks = vec![
        tern::api::ContentBlock::Thinking {
            thinking: THOUGHT.into(),
            signature: "sig".into(),
        },
        tern::api::ContentBlock::text(REPLY[0]),
    ];
    screen.event(request, finished_with(&model, blocks, u));
    let text = screen.text();
    let tokens = tern::app::estimate_tokens(THOUGHT);
    assert!(
        text.contains(&format!("▸ thought for 12 s · ~{tokens} tokens")),
        "{text}"
    );
    insta::assert_snapshot!("thinking_collapsed_80x24", screen.draw());
    // Alt+T shows it all, and again folds it.
    screen.act(alt(KeyCode::Char('t')));
    let text = screen.text();
    assert!(text.contains("▾ thinking"), "{text}");
    assert!(text.contains("The user wants hello world"), "{text}");
    insta::assert_snapshot!("thinking_expanded_80x24", screen.draw());
    screen.act(alt(KeyCode::Char('t')));
    let text = screen.text();
    assert!(text.contains("▸ thought for 12 s"), "{text}");
    assert!(!text.contains("The user wants hello world"), "{text}");
}

#[test]
fn redacted_thinking_says_so() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("hello");
    screen.start(request, 12);
    screen.event(request, ApiEvent::Text("Hi there.".into()));
    let model = screen.app.pane().model.clone();
    let blocks = vec![
        tern::api::ContentBlock::RedactedThinking {
            data: "EmwKAhgBEgy3va3pzix".into(),
        },
        tern::api::ContentBlock::text("Hi there."),
    ];
    screen.event(request, finished_with(&model, blocks, usage(12, 30)));
    let text = screen.text();
    assert!(
        text.contains("▸ thinking redacted by the provider"),
        "{text}"
    );
    assert!(!text.contains("EmwKAhgB"), "{text}");
    // Expanded, there is still nothing to read.
    screen.act(alt(KeyCode::Char('t')));
    let text = screen.text();
    assert!(
        text.contains("▸ thinking redacted by the provider"),
        "{text}"
    );
}

// ─── Stop reasons ────────────────────────────────────────────────────────────────────────

fn stopped_for(text: &str, stop_reason: &str, details: Option<serde_json::Value>) -> ApiEvent {
    ApiEvent::Finished(Box::new(tern::api::Message {
        id: "msg_stop".into(),
        kind: "message".into(),
        role: tern::api::Role::Assistant,
        content: vec![tern::api::ContentBlock::text(text)],
        model: tern::config::DEFAULT_MODEL.into(),
        stop_reason: Some(stop_reason.into()),
        stop_details: details,
        usage: usage(20, 30),
        ..Default::default()
    }))
}

#[test]
fn stop_reasons_say_what_to_do_next() {
    let mut screen = Screen::new(80, 24);
    let request = screen.send("a long poem");
    screen.event(request, stopped_for("Roses are red,", "max_tokens", None));
    let text = screen.text();
    assert!(
        text.contains("cut off at max_tokens · /continue goes on"),
        "{text}"
    );

    let request = screen.send("something bad");
    let details = serde_json::json!({
        "type": "refusal",
        "category": "cyber",
        "explanation": "This request was declined because it could enable cyber harm.\u{1b}[2J",
    });
    screen.event(request, stopped_for("I can't", "refusal", Some(details)));
    let text = screen.text();
    assert!(
        text.contains("⊘ the model declined to answer (cyber)"),
        "{text}"
    );
    assert!(text.contains("could enable cyber harm."), "{text}");
    assert!(text.contains("left out of what is sent next"), "{text}");
    assert_no_controls(screen.draw().buffer());
    insta::assert_snapshot!("stop_reasons_80x24", screen.draw());
}

// ─── Branches ────────────────────────────────────────────────────────────────────────────

/// Two turns, the second answer regenerated once, then message selection on it.
fn branched(width: u16, height: u16) -> Screen {
    let mut screen = Screen::new(width, height);
    let request = screen.send("name a bird");
    screen.stream_reply(request, &["The Arctic tern."], usage(10, 5));
    let request = screen.send("and another");
    screen.stream_reply(request, &["A puffin."], usage(20, 4));
    screen.type_str("/regen");
    let effects = screen.act(key(KeyCode::Enter));
    let request = the_send(&effects).1;
    screen.stream_reply(request, &["A kittiwake."], usage(20, 5));
    screen
}

#[test]
fn a_regenerated_reply_shows_its_place_among_its_versions() {
    for (width, height, name) in [
        (120, 40, "branch_mark_120x40"),
        (60, 24, "branch_mark_60x24"),
    ] {
        let mut screen = branched(width, height);
        let text = screen.text();
        assert!(text.contains("‹2/2›"), "{text}");
        assert!(text.contains("A kittiwake."), "{text}");
        assert!(!text.contains("A puffin."), "{text}");
        insta::assert_snapshot!(name, screen.draw());
    }
}

#[test]
fn message_selection_marks_the_message_and_says_its_keys() {
    for (width, height, name) in [(120, 40, "selection_120x40"), (60, 24, "selection_60x24")] {
        let mut screen = branched(width, height);
        screen.act(ctrl('s'));
        screen.act(key(KeyCode::Left));
        let text = screen.text();
        assert!(text.contains("A puffin."), "{text}");
        assert!(text.contains("‹1/2›"), "{text}");
        assert!(text.contains("Esc done"), "{text}");
        assert!(text.contains('▐'), "{text}");
        insta::assert_snapshot!(name, screen.draw());
    }
}

// ─── Compare ─────────────────────────────────────────────────────────────────────────────

#[test]
fn a_compare_streams_its_replies_side_by_side_or_stacked() {
    for (width, height, name) in [(120, 40, "compare_120x40"), (60, 24, "compare_60x24")] {
        let mut screen = Screen::new(width, height);
        screen.type_str("/compare claude-haiku-4.5 claude-opus-4.6 claude-sonnet-4.5");
        screen.act(key(KeyCode::Enter));
        screen.type_str("name a seabird");
        let effects = screen.act(key(KeyCode::Enter));
        let requests: Vec<_> = sends(&effects).into_iter().map(|(_, r, _)| r).collect();
        assert_eq!(requests.len(), 3);
        screen.event(requests[0], started(12));
        screen.event(requests[0], ApiEvent::Text("The **Arctic tern**.".into()));
        screen.event(
            requests[0],
            finished("claude-haiku-4.5", "The **Arctic tern**.", usage(12, 6)),
        );
        screen.event(requests[1], started(12));
        screen.event(requests[1], ApiEvent::Text("A puffin, which".into()));
        screen.event(requests[2], failed(unauthorized()));
        let text = screen.text();
        assert!(text.contains("1 claude-haiku-4.5"), "{text}");
        assert!(text.contains("2 claude-opus-4.6"), "{text}");
        assert!(text.contains("F6 stops"), "{text}");
        assert!(text.contains("Arctic tern"), "{text}");
        assert!(text.contains("A puffin, which"), "{text}");
        assert!(text.contains("compare claude-haiku-4.5"), "{text}");
        insta::assert_snapshot!(name, screen.draw());
    }
}

#[test]
fn a_search_hit_opened_in_a_new_tab_is_scrolled_into_view() {
    let mut screen = Screen::new(80, 24);
    let id = "0123456789abcdef";
    let (conversation, mut messages) = tern_saved(id, 30);
    // A sibling of the second reply, holding the hit.
    let mut hit = messages[1].clone();
    hit.id = "hit".into();
    hit.seq = 100;
    hit.content = vec![tern::api::ContentBlock::text("the zeppelin answer")];
    messages.push(hit);
    screen.act(Action::OpenSaved {
        conversation,
        messages,
    });
    screen.act(Action::ShowMessage {
        conversation: id.into(),
        message: "hit".into(),
    });
    let text = screen.text();
    assert!(text.contains("the zeppelin answer"), "{text}");
    assert!(text.contains("‹2/2›"), "{text}");
    assert!(!text.contains("new text below"), "{text}");
}

/// A saved line of `n` messages (question, answer, …), each naming its parent.
fn tern_saved(id: &str, n: usize) -> (tern::store::Conversation, Vec<tern::store::StoredMessage>) {
    let conversation = stored::conversation(id, "saved", stored::T0);
    let mut messages: Vec<tern::store::StoredMessage> = Vec::new();
    for i in 0..n {
        let mut m = if i % 2 == 0 {
            stored::user_message(id, i as i64, &format!("question {i}"), stored::T0)
        } else {
            stored::answer(
                id,
                i as i64,
                "claude-sonnet-4.6",
                vec![tern::api::ContentBlock::text(format!("answer {i}"))],
                stored::T0,
            )
        };
        m.parent_id = messages.last().map(|p| p.id.clone());
        messages.push(m);
    }
    (conversation, messages)
}

#[test]
fn the_cost_follows_the_model_of_the_reply_shown() {
    let mut screen = Screen::new(200, 24);
    let request = screen.send("hi");
    screen.stream_reply(request, &["hello"], usage(1_000, 1_000));
    let cheap = status_segments(screen.text().lines().last().unwrap());
    screen.type_str("/regen claude-opus-4.6");
    let effects = screen.act(key(KeyCode::Enter));
    let request = the_send(&effects).1;
    screen.start(request, 1_000);
    screen.event(request, ApiEvent::Text("hello".into()));
    screen.event(request, ApiEvent::Usage(usage(1_000, 1_000)));
    screen.event(
        request,
        finished("claude-opus-4.6", "hello", usage(1_000, 1_000)),
    );
    let dear = status_segments(screen.text().lines().last().unwrap());
    let cost = |segments: &[String]| segments.iter().find(|s| s.starts_with("~$")).cloned();
    assert_ne!(cost(&cheap), cost(&dear), "{cheap:?} {dear:?}");
}

/// An attachment as the reducer gets it from the driver.
fn attachment(name: &str, kind: tern::attach::AttachmentKind) -> tern::attach::Attachment {
    use tern::attach::AttachmentKind;
    let (media_type, width, height, pages, lines, size) = match kind {
        AttachmentKind::Image => ("image/png", Some(1568), Some(980), None, None, 1_234_000),
        AttachmentKind::Pdf => ("application/pdf", None, None, Some(12), None, 2_400_000),
        AttachmentKind::Text => ("text/plain", None, None, None, Some(120), 3_400),
    };
    tern::attach::Attachment {
        sha256: format!("sha-{name}"),
        kind,
        media_type: media_type.into(),
        name: name.into(),
        size,
        width,
        height,
        pages,
        lines,
        original: (kind == AttachmentKind::Image).then_some(tern::attach::Original {
            size: 6_000_000,
            width: 4000,
            height: 2500,
        }),
        citations: false,
    }
}

#[test]
fn attachment_chips_above_the_input_and_in_the_transcript() {
    use tern::attach::AttachmentKind;
    let mut screen = Screen::new(80, 24);
    screen.type_str("/attach screenshot.png paper.pdf main.rs slow.jpg");
    let effects = screen.act(key(KeyCode::Enter));
    let jobs: Vec<u64> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Attach { job, .. } => Some(*job),
            _ => None,
        })
        .collect();
    let id = screen.app.pane().id().to_owned();
    for (job, (name, kind)) in jobs.iter().zip([
        ("screenshot.png", AttachmentKind::Image),
        ("paper.pdf", AttachmentKind::Pdf),
        ("main.rs", AttachmentKind::Text),
    ]) {
        let _ = screen.act(Action::Attached {
            conversation: id.clone(),
            job: *job,
            results: vec![Ok(attachment(name, kind))],
        });
    }
    screen.type_str("What do these have in common?");
    let text = screen.text();
    assert!(text.contains("▣ screenshot.png 1.2 MB 1568×980"), "{text}");
    assert!(text.contains("⋯ slow.jpg"), "{text}");
    insta::assert_snapshot!("attachment_chips_80x24", screen.draw());
    let _ = screen.act(Action::Attached {
        conversation: id,
        job: jobs[3],
        results: vec![Ok(attachment("slow.jpg", AttachmentKind::Image))],
    });
    let request = screen.send("");
    screen.stream_reply(
        request,
        &["They are all about the same bug."],
        usage(3000, 9),
    );
    insta::assert_snapshot!("attachment_chips_sent_80x24", screen.draw());
}
