//! What every popup shares: its place on screen, a clean background, a rounded titled frame.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

use crate::render::Theme;
use crate::render::wrap::display_width;

/// A `width` × `height` rectangle in the middle of `area`, kept one cell inside it.
pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2)).max(1);
    let h = height.min(area.height.saturating_sub(2)).max(1);
    Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    )
}

/// Blank `rect` for a popup. A wide character drawn before the popup's left edge would
/// cover the popup's first column (the terminal draws both halves, and the cell after a wide
/// character is never sent), so such a character is blanked too. One whose first half is inside
/// is cleared with the rest, and its second half outside is already a blank cell.
pub(super) fn clear_popup(rect: Rect, buf: &mut Buffer) {
    Clear.render(rect, buf);
    let rect = rect.intersection(buf.area);
    if rect.is_empty() || rect.x == buf.area.x {
        return;
    }
    for y in rect.top()..rect.bottom() {
        let cell = &mut buf[(rect.x - 1, y)];
        if display_width(cell.symbol()) > 1 {
            cell.set_symbol(" ");
        }
    }
}

/// The frame of a popup, titled.
pub(super) fn popup_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Span::styled(format!(" {title} "), theme.accent))
        .style(Style::default().bg(theme.background).patch(theme.text))
}
