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

/// Rows the input box takes: its attachment chips, its wrapped text and the border, at least
/// two.
pub(super) fn height(pane: &Pane, area: Rect) -> u16 {
    let width = usize::from(area.width.saturating_sub(2).max(1));
    let rows: usize = pane
        .input
        .lines()
        .iter()
        .map(|l| display_width(l).div_ceil(width).max(1))
        .sum();
    let chips = chip_rows(pane, area.width.saturating_sub(2)).len();
    let max = (area.height / 3).max(2);
    ((rows + chips) as u16 + 1).clamp(2, max.max(chips as u16 + 2))
}

/// The most rows of chips shown; more attachments are counted on the last row.
const MAX_CHIP_ROWS: usize = 3;

/// The pending attachments as chips, laid out in rows of `width` cells: what each is, its size
/// and shape (`▣ shot.png 1.2 MB 1568×980`), or `⋯ NAME` while it is prepared.
fn chip_rows(pane: &Pane, width: u16) -> Vec<Vec<(String, bool)>> {
    let width = usize::from(width.max(8));
    let mut rows: Vec<Vec<(String, bool)>> = Vec::new();
    let mut used = 0;
    for (i, pending) in pane.attachments.iter().enumerate() {
        let (text, ready) = match pending.ready() {
            Some(a) => (
                crate::sanitize::for_terminal(&a.to_string()).into_owned(),
                true,
            ),
            None => (
                format!("⋯ {}", crate::sanitize::for_terminal(pending.name())),
                false,
            ),
        };
        let text = fit(&text, width);
        let needed = display_width(&text) + if used == 0 { 0 } else { 2 };
        if rows.is_empty() || used + needed > width {
            if rows.len() == MAX_CHIP_ROWS {
                let more = format!("+{} more", pane.attachments.len() - i);
                if let Some(last) = rows.last_mut() {
                    last.push((more, false));
                }
                break;
            }
            rows.push(Vec::new());
            used = 0;
        }
        used += display_width(&text) + if used == 0 { 0 } else { 2 };
        if let Some(row) = rows.last_mut() {
            row.push((text, ready));
        }
    }
    rows
}

/// The input box of the active pane.
pub(super) fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let pane = app.pane();
    let oversize = pane
        .confirmed_oversize
        .as_ref()
        .filter(|o| o.prompt == pane.input_text());
    let room = usize::from(area.width).saturating_sub(4);
    let hint = if let Some(offer) = &pane.paste_offer {
        let names: Vec<String> = offer
            .files
            .iter()
            .map(|f| {
                let name = f.trim_end_matches('/').rsplit('/').next().unwrap_or(f);
                crate::sanitize::for_terminal(name).into_owned()
            })
            .collect();
        let text = format!(
            "attach {}? {} attaches · {} pastes the text",
            names.join(", "),
            app.settings.keymap.label(KeyAction::Send),
            app.settings.keymap.label(KeyAction::Stop)
        );
        Span::styled(format!(" {} ", fit(&text, room)), theme.warning)
    } else if pane.selection.is_some() {
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
    let chips = chip_rows(pane, inner.width);
    let inner = draw_chips(&chips, theme, inner, buf);
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
        } else if !pane.attachments.is_empty() {
            (
                format!(
                    "Message — {} sends it with the attachments, Backspace takes the last off",
                    keys.label(KeyAction::Send),
                ),
                theme.dim,
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

/// The chip rows at the top of `area`; the rest of it is returned.
fn draw_chips(rows: &[Vec<(String, bool)>], theme: &Theme, area: Rect, buf: &mut Buffer) -> Rect {
    let height = (rows.len() as u16).min(area.height.saturating_sub(1));
    for (y, row) in rows.iter().take(usize::from(height)).enumerate() {
        let mut spans = Vec::new();
        for (i, (text, ready)) in row.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            let style = if *ready { theme.accent } else { theme.dim };
            spans.push(Span::styled(text.clone(), style));
        }
        Line::from(spans).render(Rect::new(area.x, area.y + y as u16, area.width, 1), buf);
    }
    Rect::new(area.x, area.y + height, area.width, area.height - height)
}
