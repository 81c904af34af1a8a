//! The help popup: frames and colours the help's lines, which the app lays out (`app::help`),
//! since the reducer counts them to clamp the scroll.

use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::help::{self, HelpStyles};
use crate::app::{App, KeyMap};
use crate::render::Theme;

use super::popup::{centered, clear_popup, popup_block};

/// Every line of the help at `width`, in `theme`'s colours (and for its snapshot test).
pub fn lines(app: &App, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    help::lines(&app.settings.keymap, &styles(theme), width)
}

/// The help's parts in `theme`'s colours.
fn styles(theme: &Theme) -> HelpStyles {
    HelpStyles {
        keys: theme.accent,
        text: theme.text,
        heading: theme.heading,
        note: theme.dim,
    }
}

/// The popup's lines, its frame on `area`, and how far it can scroll there.
fn layout(keymap: &KeyMap, theme: &Theme, area: Rect) -> (Vec<Line<'static>>, Rect, u16) {
    let width = help::popup_width(area.width);
    let lines = help::lines(keymap, &styles(theme), help::text_width(width));
    let rows = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let rect = centered(area, width, help::popup_height(rows));
    let max_scroll = rows.saturating_sub(rect.height.saturating_sub(2));
    (lines, rect, max_scroll)
}

/// The help popup, scrolled `scroll` rows (clamped to the end: the screen may have grown since
/// the reducer clamped it).
pub(super) fn draw(app: &App, theme: &Theme, scroll: u16, area: Rect, buf: &mut Buffer) {
    let (lines, rect, max_scroll) = layout(&app.settings.keymap, theme, area);
    clear_popup(rect, buf);
    let block = popup_block("Keys", theme)
        .title_bottom(Span::styled(" ↑↓ scroll · Esc closes ", theme.dim));
    let inner = block.inner(rect).inner(Margin::new(1, 0));
    block.render(rect, buf);
    Paragraph::new(lines)
        .scroll((scroll.min(max_scroll), 0))
        .render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reducer clamps the scroll where the drawn popup's last page begins, on any screen.
    #[test]
    fn the_reducers_limit_is_the_drawn_popups() {
        let keymap = KeyMap::default();
        let theme = Theme::builtin("dark").expect("the dark theme is built in");
        for columns in [0, 1, 5, 20, 41, 60, 80, 99, 140] {
            for rows in 0..=40 {
                let drawn = layout(&keymap, &theme, Rect::new(0, 0, columns, rows)).2;
                assert_eq!(
                    help::max_scroll(&keymap, (columns, rows)),
                    drawn,
                    "on {columns}x{rows}"
                );
            }
        }
    }
}
