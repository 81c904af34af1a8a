//! The filterable pickers: the model for the next turn and the code block to copy. Both are a
//! filter line over a list with the selection kept in view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::{App, CodeChoice, PickerState, fuzzy_match};
use crate::format::fit;
use crate::render::Theme;
use crate::render::wrap::display_width;
use crate::sanitize::for_terminal;

use super::popup::{centered, clear_popup, popup_block};
use super::text::marked;

/// A picker titled `title` over `items` (label, whether it is the current one).
pub(super) fn draw(
    title: &str,
    picker: &PickerState,
    items: &[(String, bool)],
    no_match: &str,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = items
        .iter()
        .map(|(s, _)| display_width(&for_terminal(s)) as u16 + 6)
        .max()
        .unwrap_or(display_width(no_match) as u16 + 6)
        .clamp(46, 100);
    let rect = centered(area, width, items.len() as u16 + 5);
    clear_popup(rect, buf);
    let block = popup_block(title, theme).title_bottom(Span::styled(
        " type to filter · ↑↓ · Enter · Esc ",
        theme.dim,
    ));
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.height == 0 {
        return;
    }
    Line::from(vec![
        Span::styled("› ", theme.accent),
        Span::styled(picker.filter.clone(), theme.text),
        Span::styled("▏", theme.accent),
    ])
    .render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
    let rows = inner.height.saturating_sub(2) as usize;
    if items.is_empty() {
        let width = usize::from(inner.width.saturating_sub(2));
        Line::from(Span::styled(
            format!("  {}", fit(no_match, width)),
            theme.dim,
        ))
        .render(Rect::new(inner.x, inner.y + 2, inner.width, 1), buf);
        return;
    }
    let selected = picker.selected.min(items.len() - 1);
    let first = selected.saturating_sub(rows.saturating_sub(1));
    for (row, (i, (label, current))) in items.iter().enumerate().skip(first).take(rows).enumerate()
    {
        let y = inner.y + 2 + row as u16;
        let mark = if *current { "● " } else { "  " };
        let style = if i == selected {
            theme.selection.patch(theme.accent)
        } else {
            theme.text
        };
        let rect = Rect::new(inner.x, y, inner.width, 1);
        if i == selected {
            buf.set_style(rect, theme.selection);
        }
        let suffix = if *current { "  (current)" } else { "" };
        let mut spans = vec![Span::styled(mark, theme.success)];
        spans.extend(marked(label, style));
        spans.push(Span::styled(suffix, theme.dim));
        Line::from(spans).render(rect, buf);
    }
}

/// The model picker: the configured and listed models matching the filter, the pane's current
/// one marked; a filter that matches nothing can still be used as typed.
pub(super) fn draw_models(
    app: &App,
    picker: &PickerState,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let current = app.pane().model.as_str();
    let items: Vec<(String, bool)> = app
        .filtered_models(&picker.filter)
        .into_iter()
        .map(|m| (m.to_owned(), m == current))
        .collect();
    let typed = for_terminal(picker.filter.trim()).into_owned();
    let no_match = if typed.is_empty() {
        "nothing matches".to_owned()
    } else {
        format!("not in the list · Enter uses “{typed}” as typed")
    };
    let title = if app.pane().regen_after_pick.is_some() {
        "Regenerate the reply with"
    } else {
        "Model for the next turn"
    };
    draw(title, picker, &items, &no_match, theme, area, buf);
}

/// The code-block picker: the blocks of the conversation whose label matches the filter.
pub(super) fn draw_code_blocks(
    picker: &PickerState,
    blocks: &[CodeChoice],
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let items: Vec<(String, bool)> = blocks
        .iter()
        .filter(|b| fuzzy_match(&b.label, &picker.filter))
        .map(|b| (b.label.clone(), false))
        .collect();
    draw(
        "Copy a code block",
        picker,
        &items,
        "nothing matches",
        theme,
        area,
        buf,
    );
}
