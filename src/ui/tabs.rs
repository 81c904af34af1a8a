//! The tab row: one tab per open conversation, its title, a spinner while it streams, a dot
//! when it has unread text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::format::fit;
use crate::render::Theme;
use crate::render::wrap::display_width;
use crate::sanitize::for_terminal;

use super::text::{render_line, spinner};

/// The tab row. When the tabs do not fit, a window of whole tabs around the active one is
/// shown (widened one tab to each side in turn), with `‹` / `›` where tabs are hidden.
pub(super) fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let tabs: Vec<Span> = app
        .panes
        .iter()
        .enumerate()
        .map(|(i, pane)| {
            let title = fit(&for_terminal(&pane.conversation.title), 24);
            let marker = if pane.is_busy() {
                format!(" {}", spinner(app))
            } else if pane.unread {
                " ●".to_owned()
            } else {
                String::new()
            };
            let style = if i == app.active {
                theme.tab_active
            } else if pane.is_busy() {
                theme.tab_busy
            } else {
                theme.tab_inactive
            };
            Span::styled(format!(" {}:{title}{marker} ", i + 1), style)
        })
        .collect();
    // Each tab is followed by a one-column gap; a marker takes one column.
    let widths: Vec<usize> = tabs.iter().map(|t| display_width(&t.content) + 1).collect();
    let (first, last) = tab_window(&widths, app.active, usize::from(area.width));
    let mut spans = Vec::new();
    if first > 0 {
        spans.push(Span::styled("‹", theme.accent));
    }
    for tab in &tabs[first..=last] {
        spans.push(tab.clone());
        spans.push(Span::raw(" "));
    }
    render_line(&Line::from(spans), area, buf);
    if last + 1 < tabs.len() && area.width >= 1 {
        let x = area.x + area.width - 1;
        render_line(
            &Line::from(Span::styled("›", theme.accent)),
            Rect::new(x, area.y, 1, 1),
            buf,
        );
    }
}

/// The first and last tab to show so that `active` is among them: as many whole tabs as fit in
/// `width` with the markers of hidden tabs (one column per side that has any).
fn tab_window(widths: &[usize], active: usize, width: usize) -> (usize, usize) {
    let n = widths.len();
    let active = active.min(n.saturating_sub(1));
    let cost = |first: usize, last: usize| {
        widths[first..=last].iter().sum::<usize>()
            + usize::from(first > 0)
            + usize::from(last + 1 < n)
    };
    let (mut first, mut last) = (active, active);
    loop {
        let right = last + 1 < n && cost(first, last + 1) <= width;
        if right {
            last += 1;
        }
        let left = first > 0 && cost(first - 1, last) <= width;
        if left {
            first -= 1;
        }
        if !right && !left {
            return (first, last);
        }
    }
}
