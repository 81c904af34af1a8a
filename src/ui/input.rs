//! The input box: the text being written, the hint above it (stop key, oversize warning) and
//! the placeholder when it is empty. Its height follows the text, up to a third of the screen.

use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crate::app::{App, KeyAction, Overlay, Pane};
use crate::format::fit;
use crate::render::Theme;
use crate::render::wrap::display_width;

/// Rows the input box takes: its wrapped text and the border, at least two.
pub(super) fn height(pane: &Pane, area: Rect) -> u16 {
    let width = usize::from(area.width.saturating_sub(2).max(1));
    let rows: usize = pane
        .input
        .lines()
        .iter()
        .map(|l| display_width(l).div_ceil(width).max(1))
        .sum();
    let max = (area.height / 3).max(2);
    (rows as u16 + 1).clamp(2, max)
}

/// The input box of the active pane.
pub(super) fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let pane = app.pane();
    let oversize = pane
        .confirmed_oversize
        .as_ref()
        .filter(|o| o.prompt == pane.input_text());
    let room = usize::from(area.width).saturating_sub(4);
    let hint = if pane.selection.is_some() {
        let long = "selecting · ↑↓ move · ←→ branch · e edit · r regen · y copy · f fork · d delete · Esc done";
        let short = "select · ↑↓ ←→ · e r y f d · Esc done";
        let text = if display_width(long) <= room {
            long
        } else {
            short
        };
        Span::styled(format!(" {} ", fit(text, room)), theme.accent)
    } else if pane.editing.is_some() {
        let text = format!(
            "editing your message · {} sends it as a new branch · {} cancels",
            app.settings.keymap.label(KeyAction::Send),
            app.settings.keymap.label(KeyAction::Stop)
        );
        Span::styled(format!(" {} ", fit(&text, room)), theme.accent)
    } else if pane.is_busy() {
        Span::styled(
            format!(
                " {} stops the reply ",
                app.settings.keymap.label(KeyAction::Stop)
            ),
            theme.dim,
        )
    } else if let Some(oversize) = oversize {
        let text = oversize.describe(&app.settings.keymap.label(KeyAction::Send));
        Span::styled(format!(" ⚠ {} ", fit(&text, room)), theme.warning)
    } else {
        Span::raw("")
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(if app.overlay == Overlay::None {
            theme.border_focused
        } else {
            theme.border
        })
        .title(hint);
    let inner = block.inner(area);
    block.render(area, buf);
    let inner = inner.inner(Margin::new(1, 0));
    pane.input.render(inner, buf);
    if pane.input.is_empty() && inner.width > 2 {
        let keys = &app.settings.keymap;
        let asking = pane.messages.last().is_some_and(|m| {
            m.calls
                .iter()
                .any(|c| c.state == crate::app::tools::CallState::Asking)
        });
        let (hint, style) = if asking {
            (
                "A tool call waits — y run once · a always · n refuse · e edit · Esc stops"
                    .to_owned(),
                theme.warning,
            )
        } else if pane.tool_cap_reached {
            (
                format!(
                    "The tool loop paused — {} goes on, or type a message",
                    keys.label(KeyAction::Send)
                ),
                theme.warning,
            )
        } else {
            (
                format!(
                    "Message — {} sends, {} adds a line, {} help",
                    keys.label(KeyAction::Send),
                    keys.label(KeyAction::Newline),
                    keys.label(KeyAction::Help)
                ),
                theme.dim,
            )
        };
        let width = usize::from(inner.width - 1);
        Line::from(Span::styled(fit(&hint, width), style))
            .render(Rect::new(inner.x + 1, inner.y, inner.width - 1, 1), buf);
    }
}
