//! The pane header: the model for the next turn (every model of a compare) and the
//! conversation's settings (sampling,
//! thinking, effort, stop sequences, max tokens, the system prompt in whatever room is left).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::format::fit;
use crate::render::Theme;
use crate::render::wrap::display_width;
use crate::sanitize::for_terminal;

use super::text::{marked, render_line};

/// The header row of the active pane.
pub(super) fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let pane = app.pane();
    let c = &pane.conversation;
    let mut spans = vec![Span::raw(" ")];
    if pane.compare.is_empty() {
        spans.extend(marked(&pane.model, theme.accent));
    } else {
        // A compare: every model the next prompt goes to.
        spans.push(Span::styled("compare ", theme.dim));
        for (i, model) in pane.compare.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", theme.dim));
            }
            spans.extend(marked(model, theme.accent));
        }
    }
    if let Some(t) = c.params.temperature {
        spans.push(Span::styled(format!(" · temp {t}"), theme.dim));
    }
    if let Some(p) = c.params.top_p {
        spans.push(Span::styled(format!(" · top_p {p}"), theme.dim));
    }
    if let Some(k) = c.params.top_k {
        spans.push(Span::styled(format!(" · top_k {k}"), theme.dim));
    }
    if let Some(think) = c.params.thinking.label() {
        spans.push(Span::styled(format!(" · {think}"), theme.dim));
    }
    if let Some(effort) = c.params.effort {
        spans.push(Span::styled(
            format!(" · effort {}", effort.as_str()),
            theme.dim,
        ));
    }
    if !c.params.stop_sequences.is_empty() {
        let n = c.params.stop_sequences.len();
        spans.push(Span::styled(
            format!(" · {n} stop{}", if n == 1 { "" } else { "s" }),
            theme.dim,
        ));
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
