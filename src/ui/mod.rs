//! The view: `draw(&App, &mut ViewState, frame)` reads application state and never changes it.
//!
//! `ViewState` holds only view concerns (line caches, scroll anchors, theme), so the reducer stays
//! pure and the frame cost stays bounded by what is on screen.

mod browser;
mod transcript;

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use crate::app::{App, Command, Overlay, Pane, Phase, PickerState, fuzzy_match};
use crate::format::{fit, format_tokens};
use crate::render::wrap::display_width;
use crate::sanitize::for_terminal;

use transcript::render_line;
pub use transcript::{
    Anchor, KeyHints, PaneView, PreviewCache, RenderCtx, ViewState, message_lines, plain_lines,
};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// `12 in · 340 out`, with `~` on an estimated output count; the input side is left out when
/// nothing counted it. `total_input` folds the cache counters into the input.
pub fn format_in_out(tokens: &crate::app::Tokens, total_input: bool) -> String {
    let usage = &tokens.usage;
    let input = if total_input {
        usage.total_input()
    } else {
        usage.input_tokens
    };
    let mark = if tokens.estimated { "~" } else { "" };
    let output = format!("{mark}{} out", format_tokens(usage.output_tokens));
    if tokens.estimated && input == 0 {
        output
    } else {
        format!("{} in · {output}", format_tokens(input))
    }
}

/// Draw one frame.
pub fn draw(app: &App, view: &mut ViewState, frame: &mut Frame) {
    let area = frame.area();
    let pane = app.pane();
    let (theme, utc_offset, pane_view, preview) = view.split(pane.id());
    let keys = KeyHints::from(app);
    let ctx = RenderCtx {
        theme,
        offset: utc_offset,
        keys: &keys,
    };
    frame.buffer_mut().set_style(
        area,
        Style::default().bg(theme.background).patch(theme.text),
    );
    let input_height = input_height(pane, area);
    let [tabs, header, body, input, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(input_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(app, theme, tabs, frame.buffer_mut());
    draw_pane_header(app, theme, header, frame.buffer_mut());
    if pane.messages.is_empty() {
        draw_welcome(app, theme, body, frame.buffer_mut());
    } else {
        let area = body.inner(ratatui::layout::Margin::new(1, 0));
        pane_view.draw(pane, area, frame.buffer_mut(), &ctx);
    }
    draw_input(app, theme, input, frame.buffer_mut());
    let stats = pane_view.stats(app, pane);
    draw_status(app, theme, stats, status, frame.buffer_mut());
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => draw_help(app, theme, *scroll, area, frame.buffer_mut()),
        Overlay::ModelPicker(picker) => {
            let current = pane.model.as_str();
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
            draw_picker(
                "Model for the next turn",
                picker,
                &items,
                &no_match,
                theme,
                area,
                frame.buffer_mut(),
            );
        }
        Overlay::Browser(browser) => {
            browser::draw_browser(app, browser, &ctx, preview, area, frame.buffer_mut())
        }
        Overlay::CodePicker { picker, blocks } => {
            let items: Vec<(String, bool)> = blocks
                .iter()
                .filter(|b| fuzzy_match(&b.label, &picker.filter))
                .map(|b| (b.label.clone(), false))
                .collect();
            draw_picker(
                "Copy a code block",
                picker,
                &items,
                "nothing matches",
                theme,
                area,
                frame.buffer_mut(),
            );
        }
    }
}

fn input_height(pane: &Pane, area: Rect) -> u16 {
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

/// The tab row. When the tabs do not fit, a window of whole tabs around the active one is
/// shown (widened one tab to each side in turn), with `‹` / `›` where tabs are hidden.
fn draw_tabs(
    app: &App,
    theme: &crate::render::Theme,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let tabs: Vec<Span> = app
        .panes
        .iter()
        .enumerate()
        .map(|(i, pane)| {
            let title = fit(&for_terminal(&pane.conversation.title), 24);
            let marker = if pane.is_busy() {
                format!(" {}", SPINNER[app.spinner_frame() % SPINNER.len()])
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

fn draw_pane_header(
    app: &App,
    theme: &crate::render::Theme,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let pane = app.pane();
    let c = &pane.conversation;
    let mut spans = vec![Span::raw(" ")];
    spans.extend(marked(&pane.model, theme.accent));
    if let Some(t) = c.params.temperature {
        spans.push(Span::styled(format!(" · temp {t}"), theme.dim));
    }
    if let Some(p) = c.params.top_p {
        spans.push(Span::styled(format!(" · top_p {p}"), theme.dim));
    }
    spans.push(Span::styled(
        format!(" · max {}", pane.max_tokens(&app.settings)),
        theme.dim,
    ));
    // The system prompt takes what room is left.
    if let Some(system) = c.system.as_deref().filter(|s| !s.trim().is_empty()) {
        let used: usize = spans.iter().map(|s| display_width(&s.content)).sum();
        let room = usize::from(area.width).saturating_sub(used + " · system: ".len());
        if room >= 8 {
            let one_line = for_terminal(system)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            spans.push(Span::styled(
                format!(" · system: {}", fit(&one_line, room)),
                theme.dim,
            ));
        }
    }
    render_line(&Line::from(spans), area, buf);
}

/// Outside text as spans for one line: clean text in `style`, bidi and invisible characters
/// as `⟨U+XXXX⟩` markers in a dim style of their own.
pub(crate) fn marked(text: &str, style: Style) -> Vec<Span<'static>> {
    crate::sanitize::layout_pieces(text)
        .into_iter()
        .map(|(piece, marker)| {
            let piece = piece.replace(['\n', '\t'], " ");
            if marker {
                Span::styled(piece, style.add_modifier(ratatui::style::Modifier::DIM))
            } else {
                Span::styled(piece, style)
            }
        })
        .collect()
}

fn draw_welcome(
    app: &App,
    theme: &crate::render::Theme,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let keys = &app.settings.keymap;
    let mut lines = vec![
        Line::from(Span::styled("tern", theme.heading)),
        Line::from(Span::styled(
            "Chat with Claude models from your terminal.",
            theme.text,
        )),
        Line::default(),
        Line::from(vec![
            Span::styled("Type a message and press ", theme.text),
            Span::styled(keys.label(Command::Send), theme.accent),
            Span::styled(" · ", theme.dim),
            Span::styled(keys.label(Command::Newline), theme.accent),
            Span::styled(" adds a line · ", theme.text),
            Span::styled(keys.label(Command::Help), theme.accent),
            Span::styled(" lists every key", theme.text),
        ]),
        Line::from(vec![
            Span::styled(keys.label(Command::ModelPicker), theme.accent),
            Span::styled(" changes the model · ", theme.text),
            Span::styled(keys.label(Command::Browser), theme.accent),
            Span::styled(" opens saved conversations · ", theme.text),
            Span::styled(keys.label(Command::Quit), theme.accent),
            Span::styled(" quits", theme.text),
        ]),
        Line::default(),
        Line::from(Span::styled(
            format!("Endpoint: {}", app.settings.base_url),
            theme.dim,
        )),
    ];
    if !app.settings.has_key {
        let config = app
            .settings
            .config_file
            .clone()
            .unwrap_or_else(|| "config.toml".into());
        lines.extend([
            Line::default(),
            Line::from(Span::styled("No API key is set yet.", theme.warning)),
            Line::from(Span::styled(
                "Quit, then set one and start tern again:",
                theme.text,
            )),
            Line::from(Span::styled(
                "  export APIFREE_API_KEY=your-key",
                theme.inline_code,
            )),
            Line::from(Span::styled(
                format!("  or put api_key_command = \"pass show apifree\" in {config}"),
                theme.text,
            )),
            Line::default(),
            Line::from(Span::styled(
                "No key? Try tern against its built-in fake server:",
                theme.text,
            )),
            Line::from(vec![
                Span::styled("  tern-fake-server", theme.inline_code),
                Span::styled("  (installed next to tern)", theme.dim),
            ]),
            Line::from(Span::styled(
                "  then run the export line it prints, and tern again",
                theme.text,
            )),
            Line::default(),
            Line::from(Span::styled(
                "Saved conversations stay readable without a key.",
                theme.dim,
            )),
        ]);
    }
    if let Some(problem) = &app.store_problem {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!("⚠ {problem}"),
            theme.warning,
        )));
    }
    let width = area.width.saturating_sub(4);
    let height = wrapped_rows(&lines, width).min(area.height);
    let top = area.y + area.height.saturating_sub(height) / 3;
    Paragraph::new(lines).wrap(Wrap { trim: false }).render(
        Rect::new(area.x + 2, top, area.width.saturating_sub(4), height),
        buf,
    );
}

fn draw_input(
    app: &App,
    theme: &crate::render::Theme,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let pane = app.pane();
    let oversize = pane
        .confirmed_oversize
        .as_ref()
        .filter(|o| o.prompt == pane.input_text());
    let hint = if pane.is_busy() {
        Span::styled(
            format!(
                " {} stops the reply ",
                app.settings.keymap.label(Command::Stop)
            ),
            theme.dim,
        )
    } else if let Some(oversize) = oversize {
        let text = oversize.describe(&app.settings.keymap.label(Command::Send));
        let room = usize::from(area.width).saturating_sub(4);
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
    let inner = inner.inner(ratatui::layout::Margin::new(1, 0));
    pane.input.render(inner, buf);
    if pane.input.is_empty() && inner.width > 2 {
        let keys = &app.settings.keymap;
        let hint = format!(
            "Message — {} sends, {} adds a line, {} help",
            keys.label(Command::Send),
            keys.label(Command::Newline),
            keys.label(Command::Help)
        );
        let width = usize::from(inner.width - 1);
        Line::from(Span::styled(fit(&hint, width), theme.dim))
            .render(Rect::new(inner.x + 1, inner.y, inner.width - 1, 1), buf);
    }
}

fn phase_text(app: &App, pane: &Pane, now: Instant) -> (String, bool) {
    let spin = SPINNER[app.spinner_frame() % SPINNER.len()];
    match &pane.phase {
        Phase::Idle => ("ready".into(), false),
        Phase::Waiting { retry: Some(r), .. } => (
            format!(
                "{spin} retry {}/{} in {:.1}s: {}",
                r.attempt,
                r.max_retries,
                r.delay.as_secs_f64(),
                r.cause.headline()
            ),
            true,
        ),
        Phase::Waiting { since, .. } => (
            format!(
                "{spin} waiting {:.0}s",
                now.duration_since(*since).as_secs_f64()
            ),
            false,
        ),
        Phase::Streaming {
            first_text, chars, ..
        } => {
            let secs = now.duration_since(*first_text).as_secs_f64().max(0.25);
            // ~4 characters per token while the exact count is not known yet.
            (
                format!("{spin} streaming ~{:.0} tok/s", *chars as f64 / 4.0 / secs),
                false,
            )
        }
    }
}

fn draw_status(
    app: &App,
    theme: &crate::render::Theme,
    (totals, cost): (crate::app::Tokens, Option<f64>),
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let pane = app.pane();
    let base = Style::default().bg(theme.status_bg).fg(theme.status_fg);
    buf.set_style(area, base);
    let sep = Span::styled(" │ ", base.patch(theme.dim));
    let (state, warn) = phase_text(app, pane, app.now);
    let model = Span::styled(
        format!(" {} ", for_terminal(&pane.model)),
        base.patch(theme.accent),
    );
    let state = Span::styled(
        for_terminal(&state).into_owned(),
        if warn {
            base.patch(theme.warning)
        } else {
            base
        },
    );
    // Optional segments in the order they are shown, each with its rank: when the bar is too
    // narrow, segments are dropped whole, the highest rank first. Kept longest are the context
    // fill (it warns before a turn cannot fit) and the cost; then the last turn's tokens; then
    // the conversation's token totals (the cost already sums them up); the cache counts of the
    // last turn go first.
    let mut optional: Vec<(u8, Span)> = Vec::new();
    if let Some((model_id, tokens)) = pane.last_usage() {
        let usage = tokens.usage;
        optional.push((
            2,
            Span::styled(format!("last {}", format_in_out(&tokens, false)), base),
        ));
        let cache: Vec<String> = [
            ("r", usage.cache_read_input_tokens),
            ("w", usage.cache_creation_input_tokens),
        ]
        .into_iter()
        .filter_map(|(what, n)| Some(format!("{what} {}", format_tokens(n.filter(|n| *n > 0)?))))
        .collect();
        if !cache.is_empty() {
            optional.push((
                4,
                Span::styled(format!("cache {}", cache.join(" · ")), base),
            ));
        }
        optional.push((
            3,
            Span::styled(format!("total {}", format_in_out(&totals, true)), base),
        ));
        if let Some(spec) = app
            .model_spec(model_id)
            .or_else(|| app.model_spec(&pane.model))
        {
            let used = usage.total_input() + usage.output_tokens;
            let pct = used as f64 * 100.0 / spec.context_window.max(1) as f64;
            optional.push((
                0,
                Span::styled(
                    format!("ctx {pct:.0}% of {}", format_tokens(spec.context_window)),
                    if pct > 80.0 {
                        base.patch(theme.warning)
                    } else {
                        base
                    },
                ),
            ));
        }
        if let Some(cost) = cost {
            optional.push((
                1,
                Span::styled(format!("~${cost:.4} est."), base.patch(theme.dim)),
            ));
        }
    }
    let width = usize::from(area.width);
    let essential = display_width(&model.content) + 3 + display_width(&state.content);
    let right = match &app.notice {
        Some((notice, _)) => Span::styled(
            format!(
                " {} ",
                fit(
                    &for_terminal(&notice.text),
                    width.saturating_sub(essential + 3).max(8)
                )
            ),
            match notice.kind {
                crate::app::NoticeKind::Info => base.patch(theme.success),
                crate::app::NoticeKind::Error => base.patch(theme.error),
            },
        ),
        None => Span::styled(
            format!(" {} help ", app.settings.keymap.label(Command::Help)),
            base.patch(theme.dim),
        ),
    };
    let right_width = display_width(&right.content);
    let mut used = essential + right_width;
    let mut by_rank: Vec<usize> = (0..optional.len()).collect();
    by_rank.sort_by_key(|&i| optional[i].0);
    let mut shown = vec![false; optional.len()];
    for i in by_rank {
        let w = 3 + display_width(&optional[i].1.content);
        if used + w <= width {
            used += w;
            shown[i] = true;
        }
    }
    let mut spans = vec![model, sep.clone(), state];
    for ((_, segment), shown) in optional.into_iter().zip(shown) {
        if shown {
            spans.push(sep.clone());
            spans.push(segment);
        }
    }
    render_line(&Line::from(spans), area, buf);
    if width > right_width {
        let w = right_width as u16;
        let rect = Rect::new(area.x + area.width - w, area.y, w, 1);
        buf.set_style(rect, base);
        render_line(&Line::from(right), rect, buf);
    }
}

/// Rows `lines` take when wrapped at `width` (an estimate by display width).
fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| l.width().div_ceil(width).max(1))
        .sum::<usize>()
        .min(usize::from(u16::MAX)) as u16
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
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
fn clear_popup(rect: Rect, buf: &mut ratatui::buffer::Buffer) {
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

fn popup_block<'a>(title: &'a str, theme: &crate::render::Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(ratatui::widgets::BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(Span::styled(format!(" {title} "), theme.accent))
        .style(Style::default().bg(theme.background).patch(theme.text))
}

fn draw_picker(
    title: &str,
    picker: &PickerState,
    items: &[(String, bool)],
    no_match: &str,
    theme: &crate::render::Theme,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
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

/// Every binding, for the help overlay (and its snapshot test).
/// Rows are `keys  description`, the key column as wide as the widest key list (capped), and
/// descriptions wrapped at `width` under their own column.
pub fn help_lines(app: &App, theme: &crate::render::Theme, width: u16) -> Vec<Line<'static>> {
    let keymap = &app.settings.keymap;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let key_column = Command::ALL
        .iter()
        .map(|c| {
            let keys: Vec<String> = keymap
                .keys_for(*c)
                .iter()
                .map(ToString::to_string)
                .collect();
            display_width(&keys.join(" / "))
        })
        .chain([24])
        .max()
        .unwrap_or(24)
        .min(usize::from(width / 2).max(12));
    let row = |keys: String, what: &str| {
        let keys = fit(&keys, key_column);
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
    };
    for command in Command::ALL {
        let keys: Vec<String> = keymap
            .keys_for(command)
            .iter()
            .map(ToString::to_string)
            .collect();
        lines.extend(row(
            if keys.is_empty() {
                "unbound".into()
            } else {
                keys.join(" / ")
            },
            command.description(),
        ));
    }
    for (keys, what) in [
        ("Alt+1..9", "go to tab 1..8; Alt+9 the last tab"),
        ("↑ / ↓ (empty input)", "recall earlier prompts"),
        ("Ctrl+W (input)", "delete the word before the cursor"),
        (
            "Home / End (empty input)",
            "jump to the top / follow the bottom",
        ),
        ("mouse wheel", "scroll (hold Shift to select text)"),
    ] {
        lines.extend(row(keys.into(), what));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "Commands typed in the input (//text sends /text):",
        theme.heading,
    )));
    for (cmd, what) in [
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
    ] {
        lines.extend(row(cmd.into(), what));
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

fn draw_help(
    app: &App,
    theme: &crate::render::Theme,
    scroll: u16,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let width = area.width.saturating_sub(4).min(96);
    let lines = help_lines(app, theme, width.saturating_sub(4).max(1));
    let rows = lines.len().min(usize::from(u16::MAX)) as u16;
    let rect = centered(area, width, rows + 2);
    clear_popup(rect, buf);
    let block = popup_block("Keys", theme)
        .title_bottom(Span::styled(" ↑↓ scroll · Esc closes ", theme.dim));
    let max_scroll = rows.saturating_sub(rect.height.saturating_sub(2));
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    block.render(rect, buf);
    Paragraph::new(lines)
        .scroll((scroll.min(max_scroll), 0))
        .render(inner, buf);
}
