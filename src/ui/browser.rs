//! The saved-conversation browser popup: search box, result list, preview of the selection.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::app::{App, BrowserMode, BrowserRow, BrowserState};
use crate::format::{fit, format_tokens, relative_time};
use crate::render::{Theme, wrap::display_width};
use crate::sanitize::for_terminal;
use crate::store::search::snippet_runs;

use super::popup::{clear_popup, popup_block};
use super::text::render_line;
use super::{PreviewCache, RenderCtx};

fn one_line(text: &str) -> String {
    for_terminal(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The browser popup over most of `area`.
pub(super) fn draw(
    app: &App,
    browser: &BrowserState,
    ctx: &RenderCtx,
    preview: &mut PreviewCache,
    area: Rect,
    buf: &mut Buffer,
) {
    let theme = ctx.theme;
    let rect = Rect::new(
        area.x + area.width / 20,
        area.y + area.height / 12,
        area.width - area.width / 10,
        area.height - area.height / 6,
    );
    clear_popup(rect, buf);
    let footer = match &browser.mode {
        BrowserMode::List => {
            " type to search · ↑↓ · Enter open · F2 rename · Del delete · Ctrl+S export · Esc "
        }
        BrowserMode::Rename(_) => " new title, Enter to save · Esc cancels ",
        BrowserMode::ConfirmDelete => {
            " delete this conversation? y to delete, any other key keeps it "
        }
    };
    let block =
        popup_block("Saved conversations", theme).title_bottom(Span::styled(footer, theme.dim));
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    search_line(browser, theme).render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
    let body = Rect::new(inner.x, inner.y + 2, inner.width, inner.height - 2);
    let (list_area, preview_area) = if body.width >= 90 {
        let [l, p] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(body);
        (l, Some(p))
    } else {
        (body, None)
    };
    if let Some(error) = &browser.error {
        Paragraph::new(Span::styled(error.clone(), theme.error))
            .wrap(Wrap { trim: false })
            .render(list_area, buf);
    } else if browser.rows.is_empty() && !browser.loading {
        let text = if browser.query.is_empty() {
            "No saved conversations yet."
        } else {
            "Nothing matches."
        };
        Line::from(Span::styled(text, theme.dim)).render(list_area, buf);
    }
    draw_rows(app, browser, theme, list_area, buf);
    if let Some(area) = preview_area {
        draw_preview(browser, ctx, preview, area, buf);
    }
}

fn draw_rows(app: &App, browser: &BrowserState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let per_page = usize::from(area.height / 2).max(1);
    let first = browser.selected.saturating_sub(per_page - 1);
    let width = usize::from(area.width.saturating_sub(1));
    for (slot, (index, row)) in browser
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(per_page)
        .enumerate()
    {
        let y = area.y + (slot as u16) * 2;
        let selected = index == browser.selected;
        let rect = Rect::new(area.x, y, area.width.saturating_sub(1), 2);
        if selected {
            buf.set_style(rect, theme.selection);
        }
        let summary = &row.summary;
        let c = &summary.conversation;
        let when = relative_time(app.now_ms, c.updated_at);
        let title_width = width.saturating_sub(display_width(&when) + 3);
        let title = fit(&one_line(&c.title), title_width);
        let pad = width.saturating_sub(display_width(&title) + display_width(&when) + 2);
        let title_style = if selected {
            theme.accent
        } else {
            theme.text.add_modifier(ratatui::style::Modifier::BOLD)
        };
        Line::from(vec![
            Span::styled(format!(" {title}"), title_style),
            Span::raw(" ".repeat(pad)),
            Span::styled(when, theme.dim),
        ])
        .render(Rect::new(rect.x, y, rect.width, 1), buf);
        let second = second_line(row, width, theme);
        if y + 1 < area.y + area.height {
            second.render(Rect::new(rect.x, y + 1, rect.width, 1), buf);
        }
    }
}

/// The selected conversation's end, drawn as the transcript draws it, filling the pane.
fn draw_preview(
    browser: &BrowserState,
    ctx: &RenderCtx,
    cache: &mut PreviewCache,
    area: Rect,
    buf: &mut Buffer,
) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(ctx.theme.border);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some((id, messages)) = &browser.preview else {
        return;
    };
    let inner = inner.inner(Margin::new(1, 0));
    let lines = cache.lines(id, messages, inner.width, usize::from(inner.height), ctx);
    for (y, line) in (inner.y..).zip(lines) {
        render_line(line, Rect::new(inner.x, y, inner.width, 1), buf);
    }
}

/// The search box, or the rename box while renaming.
fn search_line(browser: &BrowserState, theme: &Theme) -> Line<'static> {
    let status = if browser.loading {
        "searching…".to_owned()
    } else if browser.query.is_empty() {
        format!("{} recent", browser.rows.len())
    } else {
        format!("{} matching", browser.rows.len())
    };
    match &browser.mode {
        BrowserMode::Rename(title) => Line::from(vec![
            Span::styled("rename › ", theme.warning),
            Span::styled(title.clone(), theme.text),
            Span::styled("▏", theme.accent),
        ]),
        _ => Line::from(vec![
            Span::styled("› ", theme.accent),
            Span::styled(browser.query.clone(), theme.text),
            Span::styled("▏", theme.accent),
            Span::styled(format!("   {status}"), theme.dim),
        ]),
    }
}

/// A row's second line: the search snippet with its matches marked, or the conversation's
/// models, message count and tokens.
fn second_line(row: &BrowserRow, width: usize, theme: &Theme) -> Line<'static> {
    let summary = &row.summary;
    match &row.snippet {
        Some(snippet) => {
            let mut spans = vec![Span::raw("   ")];
            let mut used = 3;
            for (run, matched) in snippet_runs(snippet) {
                let run: String = for_terminal(run)
                    .chars()
                    .map(|c| if c.is_whitespace() { ' ' } else { c })
                    .collect();
                let text = fit(&run, width.saturating_sub(used));
                used += display_width(&text);
                spans.push(Span::styled(
                    text,
                    if matched {
                        theme.search_match
                    } else {
                        theme.dim
                    },
                ));
                if used >= width {
                    break;
                }
            }
            Line::from(spans)
        }
        None => {
            let branches = match summary.branches {
                0 | 1 => String::new(),
                n => format!(" · {n} branches"),
            };
            let facts = format!(
                "   {} msgs{branches} · {} tokens · {}",
                summary.message_count,
                format_tokens(summary.total_input_tokens + summary.total_output_tokens),
                one_line(&summary.models.join(", ")),
            );
            Line::from(Span::styled(fit(&facts, width), theme.dim))
        }
    }
}
