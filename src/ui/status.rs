//! The status bar: model, what the pane is doing, token and cost figures that give way whole
//! when the bar is narrow, and a notice or the help key on the right.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::api::Usage;
use crate::app::{App, KeyAction, NoticeKind, Pane, Phase, Tokens};
use crate::format::{fit, format_tokens};
use crate::render::Theme;
use crate::render::wrap::display_width;
use crate::sanitize::for_terminal;

use super::text::{format_in_out, render_line, spinner};

fn phase_text(app: &App, pane: &Pane, now: Instant) -> (String, bool) {
    let spin = spinner(app);
    let live = pane.columns.iter().filter(|c| c.request.is_some()).count();
    match &pane.phase {
        Phase::Idle if live > 0 => (
            format!(
                "{spin} comparing: {live} of {} streaming",
                pane.columns.len()
            ),
            false,
        ),
        Phase::Idle if !pane.columns.is_empty() => ("ready · /pick N".into(), false),
        Phase::Idle if pane.waiting_for_tools => ("starting MCP servers".into(), false),
        Phase::Idle if pane.tool_calls_open() => {
            let asking = pane.messages.last().is_some_and(|m| {
                m.calls
                    .iter()
                    .any(|c| c.state == crate::app::tools::CallState::Asking)
            });
            let what = if asking {
                "a tool call waits"
            } else {
                "running tools"
            };
            (what.into(), false)
        }
        Phase::Idle if pane.tool_cap_reached => ("tool loop paused".into(), false),
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
        Phase::Waiting {
            thinking_since: Some(since),
            ..
        } => (
            format!(
                "{spin} thinking {:.0}s",
                now.duration_since(*since).as_secs_f64()
            ),
            false,
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

/// The status bar; `totals` and `cost` are the pane's, cached by its view.
pub(super) fn draw(
    app: &App,
    theme: &Theme,
    stats: (Tokens, Option<f64>),
    area: Rect,
    buf: &mut Buffer,
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
    let width = usize::from(area.width);
    let essential = display_width(&model.content) + 3 + display_width(&state.content);
    let right = right_side(app, width.saturating_sub(essential + 3).max(8), theme, base);
    let right_width = display_width(&right.content);
    let optional = segments(app, pane, stats, theme, base);
    let shown = fit_by_rank(&optional, width.saturating_sub(essential + right_width));
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

/// Optional segments in the order they are shown, each with its rank: when the bar is too
/// narrow, segments are dropped whole, the highest rank first. Kept longest are the context
/// fill (it warns before a turn cannot fit) and the cost; then the last turn's tokens; then
/// the cache counts (last turn and conversation); the conversation's token totals go first
/// (the cost already sums them up). Nothing is shown before a reply or the endpoint has
/// counted tokens.
fn segments(
    app: &App,
    pane: &Pane,
    (totals, cost): (Tokens, Option<f64>),
    theme: &Theme,
    base: Style,
) -> Vec<(u8, Span<'static>)> {
    let last = pane.last_usage();
    // The endpoint's count of the next request, when it counted this history: exact before
    // the reply, where the last reply's usage is the size of the history without the draft.
    let counted = pane.token_counts.current(pane);
    let mut optional = Vec::new();
    if let Some((_, tokens)) = last {
        optional.push((
            2,
            Span::styled(format!("last {}", format_in_out(&tokens, true)), base),
        ));
        if let Some(cache) = cache_counts(&tokens.usage, &totals.usage) {
            optional.push((3, Span::styled(cache, base)));
        }
        optional.push((
            4,
            Span::styled(format!("total {}", format_in_out(&totals, true)), base),
        ));
    }
    let meter = match (counted, last) {
        (Some(n), _) => Some((n, app.model_spec(&pane.model))),
        (None, Some((model_id, tokens))) => Some((
            tokens.usage.total_input() + tokens.usage.output_tokens,
            app.model_spec(model_id)
                .or_else(|| app.model_spec(&pane.model)),
        )),
        (None, None) => None,
    };
    if let Some((used, Some(spec))) = meter {
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
    optional
}

/// `cache r 1.2k/8.4k · w 300/2.1k`: tokens read from and written to the prompt cache by the
/// last turn, then by the whole conversation; a counter that is zero in both is left out.
fn cache_counts(last: &Usage, total: &Usage) -> Option<String> {
    let cache: Vec<String> = [
        (
            "r",
            last.cache_read_input_tokens,
            total.cache_read_input_tokens,
        ),
        (
            "w",
            last.cache_creation_input_tokens,
            total.cache_creation_input_tokens,
        ),
    ]
    .into_iter()
    .filter_map(|(what, last, total)| {
        let total = total.filter(|n| *n > 0)?;
        let last = format_tokens(last.unwrap_or(0));
        Some(format!("{what} {last}/{}", format_tokens(total)))
    })
    .collect();
    (!cache.is_empty()).then(|| format!("cache {}", cache.join(" · ")))
}

/// The right end: the current notice cut to `room`, or the help key.
fn right_side(app: &App, room: usize, theme: &Theme, base: Style) -> Span<'static> {
    match &app.notice {
        Some(notice) => Span::styled(
            format!(" {} ", fit(&for_terminal(&notice.text), room)),
            match notice.kind {
                NoticeKind::Info => base.patch(theme.success),
                NoticeKind::Error => base.patch(theme.error),
            },
        ),
        None => Span::styled(
            format!(" {} help ", app.settings.keymap.label(KeyAction::Help)),
            base.patch(theme.dim),
        ),
    }
}

/// Which segments fit in `room` columns (each after a 3-column separator), taken by rank
/// until one does not fit.
fn fit_by_rank(segments: &[(u8, Span)], room: usize) -> Vec<bool> {
    let mut by_rank: Vec<usize> = (0..segments.len()).collect();
    by_rank.sort_by_key(|&i| segments[i].0);
    let mut shown = vec![false; segments.len()];
    let mut used = 0;
    for i in by_rank {
        let w = 3 + display_width(&segments[i].1.content);
        // A segment that does not fit ends it: none of a higher rank takes its place.
        if used + w > room {
            break;
        }
        used += w;
        shown[i] = true;
    }
    shown
}
