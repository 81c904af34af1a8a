//! The help's content and layout: every key binding (as configured), the other keys and the
//! slash commands, laid out in rows for a width.
//!
//! The app owns this, not the view, because the reducer clamps the help's scroll to its last
//! page and so must count its lines on the current screen; the view (`ui::help`) only frames
//! these lines and colours them. One function lays the rows out for both, so the count and the
//! drawing cannot disagree (wrapping depends on the text, never on its style).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::format::fit;
use crate::render::wrap::display_width;
use crate::render::{wrap_spans, wrap_spans_indented};

use super::{KeyAction, KeyMap};

/// Keys that are not commands of the key map: fixed keys, and keys whose meaning depends on
/// where the cursor is.
const OTHER_KEYS: [(&str, &str); 5] = [
    ("Alt+1..9", "go to tab 1..8; Alt+9 the last tab"),
    ("↑ / ↓ (empty input)", "recall earlier prompts"),
    ("Ctrl+W (input)", "delete the word before the cursor"),
    (
        "Home / End (empty input)",
        "jump to the top / follow the bottom",
    ),
    ("mouse wheel", "scroll (hold Shift to select text)"),
];

/// The slash commands typed in the input.
const SLASH_COMMANDS: [(&str, &str); 20] = [
    (
        "/system TEXT",
        "system prompt for this conversation (empty clears)",
    ),
    ("/temp T", "temperature 0–1 (`default` unsets)"),
    ("/top_p P", "nucleus sampling 0–1 (`default` unsets)"),
    (
        "/top_k K",
        "sample from the K likeliest tokens (`off` unsets)",
    ),
    ("/max N", "max_tokens for replies"),
    (
        "/think off|adaptive|N",
        "thinking: off, adaptive, or N budget tokens",
    ),
    ("/effort L", "effort low|medium|high|max (`off` unsets)"),
    (
        "/stop SEQ…",
        "stop sequences (quote spaces: /stop \"###\" END; alone clears)",
    ),
    (
        "/model ID",
        "model for the next turn (unlisted ids are used as typed)",
    ),
    ("/title TEXT", "rename the conversation"),
    (
        "/continue",
        "go on with a reply cut off (max_tokens, stopped, failed) or paused",
    ),
    (
        "/regen [MODEL]",
        "a new reply to the last prompt (the old one stays, as a branch)",
    ),
    (
        "/edit",
        "edit your last message; sending makes a new branch",
    ),
    (
        "/branch prev|next",
        "the last reply's previous / next version",
    ),
    (
        "/compare A B…|off",
        "send each prompt to 2–4 models at once, side by side (F5…F8 stop, then pick, one)",
    ),
    ("/pick N", "go on with the compare's Nth reply"),
    (
        "/tools [auto|any|none|NAME]",
        "the tools offered (MCP servers); how the model may call them",
    ),
    (
        "/attach PATH…",
        "attach images, PDFs, text files (Tab completes; ~ and globs)",
    ),
    (
        "/detach [N|NAME]",
        "remove an attachment, or all (Backspace at the start: the last)",
    ),
    (
        "/cite on|off",
        "ask for citations of the attached documents",
    ),
];

/// The keys of a tool call waiting for the user.
pub const TOOL_CALL_KEYS: [(&str, &str); 5] = [
    ("y", "run the call once"),
    (
        "a",
        "run it, and this tool without asking for the rest of the conversation",
    ),
    ("n", "refuse: the model is told the user declined"),
    (
        "e",
        "edit its arguments (JSON) in the input; Enter runs, Esc goes back",
    ),
    ("Esc", "stop the tool loop (running calls are cancelled)"),
];

/// The heading over the tool call keys.
const TOOL_CALL_HEADING: &str = "When a tool call waits:";

/// The keys of message selection (entered with `select_messages`).
pub const SELECTION_KEYS: [(&str, &str); 8] = [
    ("↑ ↓ / k j", "previous / next message (g G: first / last)"),
    ("← → / h l", "previous / next version of it (branch)"),
    ("e", "edit your message (or the one this reply answers)"),
    (
        "r / R",
        "regenerate this reply (or the reply to this message); R: pick a model first",
    ),
    ("y", "copy the message"),
    ("f", "fork: a new tab with the conversation up to here"),
    ("d d", "delete this message and everything below it"),
    ("Esc / Enter / q", "leave selection"),
];

/// The heading over the selection keys.
const SELECTION_HEADING: &str = "In message selection:";

/// The heading over the slash commands.
const COMMANDS_HEADING: &str = "Commands typed in the input (//text sends /text):";

/// The closing note.
const REBIND_NOTE: &str =
    "Keys are rebindable in config.toml under [keys], e.g. model_picker = \"ctrl+k\"";

/// The popup is this wide at most, and leaves this many columns of the screen around it.
const MAX_POPUP_WIDTH: u16 = 96;
const SCREEN_MARGIN: u16 = 4;
/// Rows and columns the popup's frame takes from its text: a border each side, and a blank
/// column inside each side border.
const FRAME_ROWS: u16 = 2;
const FRAME_COLUMNS: u16 = 4;

/// The styles of the help's parts (the view passes its theme's; counting needs none).
#[derive(Debug, Clone, Copy, Default)]
pub struct HelpStyles {
    pub keys: Style,
    pub text: Style,
    pub heading: Style,
    pub note: Style,
}

/// The help popup's width on a screen `columns` wide, frame included.
pub fn popup_width(columns: u16) -> u16 {
    columns.saturating_sub(SCREEN_MARGIN).min(MAX_POPUP_WIDTH)
}

/// The width the help's text is laid out at inside a popup `popup_width` wide.
pub fn text_width(popup_width: u16) -> u16 {
    popup_width.saturating_sub(FRAME_COLUMNS).max(1)
}

/// The popup's height for `rows` lines of text, frame included.
pub fn popup_height(rows: u16) -> u16 {
    rows.saturating_add(FRAME_ROWS)
}

/// How far the help can scroll on a `columns`×`rows` screen: its lines past the last full page.
/// The popup keeps one row free above and below it, then its frame takes two more.
pub fn max_scroll(keymap: &KeyMap, (columns, rows): (u16, u16)) -> u16 {
    let width = text_width(popup_width(columns));
    let lines = lines(keymap, &HelpStyles::default(), width).len();
    let lines = u16::try_from(lines).unwrap_or(u16::MAX);
    lines.saturating_sub(rows.saturating_sub(2 + FRAME_ROWS))
}

/// Every line of the help at `width`. Rows are `keys  description`, the key column as wide as
/// the widest key list (capped), and descriptions wrapped at `width` under their own column.
pub fn lines(keymap: &KeyMap, styles: &HelpStyles, width: u16) -> Vec<Line<'static>> {
    let key_column = key_column(keymap, width);
    let row = |keys: &str, what: &str| help_row(keys, what, key_column, width, styles);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for command in KeyAction::ALL {
        let keys = bound_keys(keymap, command);
        let keys = if keys.is_empty() { "unbound" } else { &keys };
        lines.extend(row(keys, command.description()));
    }
    for (keys, what) in OTHER_KEYS {
        lines.extend(row(keys, what));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(SELECTION_HEADING, styles.heading)));
    for (keys, what) in SELECTION_KEYS {
        lines.extend(row(keys, what));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(TOOL_CALL_HEADING, styles.heading)));
    for (keys, what) in TOOL_CALL_KEYS {
        lines.extend(row(keys, what));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(COMMANDS_HEADING, styles.heading)));
    for (command, what) in SLASH_COMMANDS {
        lines.extend(row(command, what));
    }
    lines.extend(wrap_spans(&[Span::styled(REBIND_NOTE, styles.note)], width));
    lines
}

/// The key column's width: the widest key list (24 at least), at most half of `width` (but 12).
fn key_column(keymap: &KeyMap, width: u16) -> usize {
    KeyAction::ALL
        .iter()
        .map(|c| display_width(&bound_keys(keymap, *c)))
        .chain([24])
        .max()
        .unwrap_or(24)
        .min(usize::from(width / 2).max(12))
}

/// The keys bound to `command`, `Ctrl+P / F2`; empty when none is.
fn bound_keys(keymap: &KeyMap, command: KeyAction) -> String {
    let keys: Vec<String> = keymap
        .keys_for(command)
        .iter()
        .map(ToString::to_string)
        .collect();
    keys.join(" / ")
}

/// One help row: `keys` right-aligned in a `key_column`-wide column, `what` wrapped beside it.
fn help_row(
    keys: &str,
    what: &str,
    key_column: usize,
    width: u16,
    styles: &HelpStyles,
) -> Vec<Line<'static>> {
    let keys = fit(keys, key_column);
    let pad = key_column - display_width(&keys);
    let first = [Span::styled(
        format!("{}{keys}  ", " ".repeat(pad)),
        styles.keys,
    )];
    let rest = [Span::raw(" ".repeat(key_column + 2))];
    wrap_spans_indented(
        &[Span::styled(what.to_owned(), styles.text)],
        width,
        &first,
        &rest,
    )
}
