//! The help popup: every key binding (as configured), the other keys, and the slash commands.

use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, KeyAction, KeyMap};
use crate::format::fit;
use crate::render::Theme;
use crate::render::wrap::display_width;

use super::popup::{centered, clear_popup, popup_block};

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
const SLASH_COMMANDS: [(&str, &str); 6] = [
    (
        "/system TEXT",
        "system prompt for this conversation (empty clears)",
    ),
    ("/temp T", "temperature 0–1 (`default` unsets)"),
    ("/top_p P", "nucleus sampling 0–1 (`default` unsets)"),
    ("/max N", "max_tokens for replies"),
    (
        "/model ID",
        "model for the next turn (unlisted ids are used as typed)",
    ),
    ("/title TEXT", "rename the conversation"),
];

/// Every binding, for the help overlay (and its snapshot test).
/// Rows are `keys  description`, the key column as wide as the widest key list (capped), and
/// descriptions wrapped at `width` under their own column.
pub fn lines(app: &App, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let keymap = &app.settings.keymap;
    let key_column = KeyAction::ALL
        .iter()
        .map(|c| display_width(&bound_keys(keymap, *c)))
        .chain([24])
        .max()
        .unwrap_or(24)
        .min(usize::from(width / 2).max(12));
    let row = |keys: &str, what: &str| help_row(keys, what, key_column, width, theme);
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
    lines.push(Line::from(Span::styled(
        "Commands typed in the input (//text sends /text):",
        theme.heading,
    )));
    for (command, what) in SLASH_COMMANDS {
        lines.extend(row(command, what));
    }
    lines.extend(crate::render::wrap_spans(
        &[Span::styled(
            "Keys are rebindable in config.toml under [keys], e.g. model_picker = \"ctrl+k\"",
            theme.dim,
        )],
        width,
    ));
    lines
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
    theme: &Theme,
) -> Vec<Line<'static>> {
    let keys = fit(keys, key_column);
    let pad = key_column - display_width(&keys);
    let first = [Span::styled(
        format!("{}{keys}  ", " ".repeat(pad)),
        theme.accent,
    )];
    let rest = [Span::raw(" ".repeat(key_column + 2))];
    crate::render::wrap_spans_indented(
        &[Span::styled(what.to_owned(), theme.text)],
        width,
        &first,
        &rest,
    )
}

/// The popup's lines, its frame on `area`, and how far it can scroll there.
fn layout(app: &App, theme: &Theme, area: Rect) -> (Vec<Line<'static>>, Rect, u16) {
    let width = area.width.saturating_sub(4).min(96);
    let lines = lines(app, theme, width.saturating_sub(4).max(1));
    let rows = lines.len().min(usize::from(u16::MAX)) as u16;
    let rect = centered(area, width, rows + 2);
    let max_scroll = rows.saturating_sub(rect.height.saturating_sub(2));
    (lines, rect, max_scroll)
}

/// How far the help can scroll on a `columns`×`rows` screen (the reducer clamps to it; the
/// theme only styles the lines, so any one counts them).
pub fn max_scroll(app: &App, (columns, rows): (u16, u16)) -> u16 {
    let Some(theme) = Theme::builtin("dark") else {
        return u16::MAX;
    };
    layout(app, &theme, Rect::new(0, 0, columns, rows)).2
}

/// The help popup, scrolled `scroll` rows (clamped to the end).
pub(super) fn draw(app: &App, theme: &Theme, scroll: u16, area: Rect, buf: &mut Buffer) {
    let (lines, rect, max_scroll) = layout(app, theme, area);
    clear_popup(rect, buf);
    let block = popup_block("Keys", theme)
        .title_bottom(Span::styled(" ↑↓ scroll · Esc closes ", theme.dim));
    let inner = block.inner(rect).inner(Margin::new(1, 0));
    block.render(rect, buf);
    Paragraph::new(lines)
        .scroll((scroll.min(max_scroll), 0))
        .render(inner, buf);
}
