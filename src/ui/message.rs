//! One message as lines: its header (author, time, tokens), a reply's thinking (dim: whole
//! while it streams or when shown, else folded to one line), its body (typed text as typed,
//! replies as markdown, tool calls), and the notes after it (stopped, interrupted, errors).
//!
//! The transcript caches these lines; the browser's preview draws them uncached through
//! [`message_lines`], so both read the same.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::api::Role;
use crate::app::ChatMessage;
use crate::render::{Theme, render_markdown, wrap};
use crate::sanitize::{for_terminal, strip_controls};
use crate::store::MessageStatus;

use super::RenderCtx;
use super::text::format_in_out;

pub(super) fn indent(line: Line<'static>, by: usize) -> Line<'static> {
    let mut spans = Vec::with_capacity(line.spans.len() + 1);
    spans.push(Span::raw(" ".repeat(by)));
    spans.extend(line.spans);
    Line::from(spans).style(line.style)
}

/// Literal text (what the user typed), sanitised and wrapped by display width.
pub fn plain_lines(text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    // Invisible characters stay: the wrapper shows them as dim markers.
    let clean = strip_controls(text);
    let mut out = Vec::new();
    for raw in clean.split('\n') {
        let span = Span::styled(raw.to_owned(), style);
        let wrapped = wrap::wrap_spans(&[span], width);
        if wrapped.is_empty() {
            out.push(Line::default());
        } else {
            out.extend(wrapped);
        }
    }
    out
}

/// A message drawn whole, as the transcript draws it once it is finished (header, body, status
/// lines, a blank line), for views that show messages without the pane's cache (the browser's
/// preview). The lines are at most `width` columns wide.
pub fn message_lines(message: &ChatMessage, width: u16, ctx: &RenderCtx) -> Vec<Line<'static>> {
    let body_width = width.max(4).saturating_sub(2).max(2);
    let body = match message.role() {
        Role::User => user_body(message, None, body_width, ctx.theme, false),
        Role::Assistant => reply_body(message, body_width, ctx.theme),
    };
    let mut lines = vec![header_line(message, ctx)];
    lines.extend(thinking_lines(message, false, body_width, ctx.theme));
    lines.extend(body.into_iter().map(|l| indent(l, 2)));
    lines.extend(status_lines(message, body_width, ctx));
    lines
}

/// A reply's thinking, dim, between its header and its body. Shown whole (`▾ thinking`, then the
/// text through the same sanitising and wrapping as typed text) while it is the only thing that
/// has arrived or when `expanded`; otherwise one line: how long it thought (when this app saw it)
/// and about how many tokens. A redacted block has nothing to show but that it is there.
pub(super) fn thinking_lines(
    message: &ChatMessage,
    expanded: bool,
    body_width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    use crate::api::ContentBlock;
    let mut lines = Vec::new();
    if message.role() != Role::Assistant {
        return lines;
    }
    let thinking = message.thinking_text();
    let live = message.status() == MessageStatus::Streaming && message.text.is_empty();
    if !thinking.is_empty() {
        if expanded || live {
            lines.push(Line::from(Span::styled("  ▾ thinking", theme.dim)));
            lines.extend(
                plain_lines(&thinking, body_width, theme.dim)
                    .into_iter()
                    .map(|l| indent(l, 2)),
            );
            lines.push(Line::default());
        } else {
            let time = message
                .thought_for
                .map(|d| match d.as_secs_f64().round() {
                    0.0 => " for <1 s".to_owned(),
                    s => format!(" for {s:.0} s"),
                })
                .unwrap_or_default();
            let tokens = crate::app::estimate_tokens(&thinking);
            lines.push(Line::from(Span::styled(
                format!("  ▸ thought{time} · ~{tokens} tokens"),
                theme.dim,
            )));
        }
    }
    let redacted = message
        .stored
        .content
        .iter()
        .any(|b| matches!(b, ContentBlock::RedactedThinking { .. }));
    if redacted {
        lines.push(Line::from(Span::styled(
            "  ▸ thinking redacted by the provider",
            theme.dim,
        )));
    }
    lines
}

/// What the user sent: the text as typed, or the results of the tools the reply `before` it
/// called (each named by its call, folded to a few lines). With `thumbnails`, an image's chip
/// is followed by the blank rows its thumbnail is drawn over.
pub(super) fn user_body(
    message: &ChatMessage,
    before: Option<&ChatMessage>,
    width: u16,
    theme: &Theme,
    thumbnails: bool,
) -> Vec<Line<'static>> {
    let results = crate::app::tools::results_of(&message.stored.content);
    let chips = attachment_lines(&message.stored.content, width, theme, thumbnails);
    if results.is_empty() {
        let mut lines = chips;
        if !message.text.is_empty() {
            lines.extend(plain_lines(&message.text, width, theme.text));
        }
        return lines;
    }
    let name_of = |id: &str| {
        before
            .into_iter()
            .flat_map(|m| m.stored.content.iter())
            .find_map(|b| match b {
                crate::api::ContentBlock::ToolUse { id: call, name, .. } if call == id => {
                    Some(name.as_str())
                }
                _ => None,
            })
    };
    let mut lines = Vec::new();
    for (id, text, is_error) in results {
        lines.extend(crate::render::tool_result_lines(
            name_of(id),
            &text,
            is_error,
            width,
            theme,
        ));
    }
    if !message.text.is_empty() {
        lines.push(Line::default());
        lines.extend(plain_lines(&message.text, width, theme.text));
    }
    lines
}

/// One line per attachment of a prompt: `▣ shot.png 1.2 MB 1568×980 · scaled from 4000×3000`.
fn attachment_lines(
    content: &[crate::api::ContentBlock],
    width: u16,
    theme: &Theme,
    thumbnails: bool,
) -> Vec<Line<'static>> {
    let room = usize::from(width.max(8));
    let mut lines = Vec::new();
    for a in content.iter().filter_map(|b| match b {
        crate::api::ContentBlock::Attachment(a) => Some(a),
        _ => None,
    }) {
        let mut text = a.to_string();
        if let Some(note) = a.scaled_note() {
            text.push_str(" · ");
            text.push_str(&note);
        }
        let text = crate::sanitize::for_terminal(&text).into_owned();
        lines.push(Line::from(Span::styled(
            crate::format::fit(&text, room),
            theme.accent,
        )));
        // The same rows as `thumbnail::slots` gives the transcript.
        if let Some((_, rows)) = super::thumbnail::rows_for(a, width).filter(|_| thumbnails) {
            lines.extend((0..rows).map(|_| Line::default()));
        }
    }
    lines
}

/// A finished reply: its server-tool calls (searches) one line each, its text as markdown,
/// its tool calls (with where each stands while the loop runs), then the sources it cites.
pub(super) fn reply_body(message: &ChatMessage, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let content = &message.stored.content;
    let mut lines = crate::render::server_tool_lines(content, width, theme);
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines.extend(render_markdown(&message.text, width, theme));
    for block in content {
        if let crate::api::ContentBlock::ToolUse { name, input, .. } = block {
            if !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.extend(crate::render::tool_use_lines(name, input, width, theme));
            if let crate::api::ContentBlock::ToolUse { id, .. } = block
                && let Some(call) = message.calls.iter().find(|c| &c.id == id)
            {
                // The keys answer the first call that asks; the others wait their turn.
                let asked = message
                    .calls
                    .iter()
                    .find(|c| c.state == crate::app::tools::CallState::Asking)
                    .is_some_and(|first| first.id == call.id);
                lines.extend(crate::render::tool_call_state_lines(
                    call, asked, width, theme,
                ));
            }
        }
    }
    let sources = crate::render::source_lines(content, width, theme);
    if !sources.is_empty() {
        lines.push(Line::default());
        lines.extend(sources);
    }
    lines
}

/// What follows a message's body: placeholder, stop/interrupt/error and max_tokens notes,
/// then a blank line.
pub(super) fn status_lines(
    message: &ChatMessage,
    body_width: u16,
    ctx: &RenderCtx,
) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let mut lines = Vec::new();
    if message.role() == Role::Assistant {
        if message.status() == MessageStatus::Streaming && message.text.is_empty() {
            lines.push(Line::from(Span::styled("  …", theme.dim)));
        }
        match message.status() {
            MessageStatus::Stopped => lines.push(Line::from(Span::styled(
                "  ■ stopped · /continue goes on from here",
                theme.warning,
            ))),
            MessageStatus::Interrupted => lines.push(Line::from(Span::styled(
                format!(
                    "  ⚠ interrupted: tern closed before this reply finished · {} retries",
                    ctx.keys.retry
                ),
                theme.warning,
            ))),
            _ => {}
        }
        if let Some(error) = &message.error {
            lines.extend(error_block(error, body_width, ctx));
        }
        if message.status() == MessageStatus::Complete {
            lines.extend(stop_reason_lines(message, body_width, ctx));
        }
    }
    lines.push(Line::default());
    lines
}

/// What a finished reply's stop reason asks of the user, when it is not a plain end: a reply
/// cut off or paused can be continued, a refusal is explained, a full context window says
/// where to go on.
fn stop_reason_lines(message: &ChatMessage, width: u16, ctx: &RenderCtx) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let note = |text: String| -> Vec<Line<'static>> {
        let wrapped = wrap::wrap_spans(
            &[Span::styled(text, theme.warning)],
            width.saturating_sub(2).max(2),
        );
        wrapped
            .into_iter()
            .map(|line| {
                let mut spans = vec![Span::raw("  ")];
                spans.extend(line.spans);
                Line::from(spans)
            })
            .collect()
    };
    match message.stored.stop_reason.as_deref() {
        Some("max_tokens") => note(
            "⚠ cut off at max_tokens · /continue goes on from here · /max N raises the limit"
                .to_owned(),
        ),
        Some("pause_turn") => note(
            "⏸ the server paused this turn (a long-running tool) · /continue resumes it".to_owned(),
        ),
        Some("model_context_window_exceeded") => note(format!(
            "⚠ the reply filled the model's context window · {} starts a new conversation, \
             {} picks a model with a larger one",
            ctx.keys.new_conversation, ctx.keys.models
        )),
        Some("refusal") => refusal_block(message, width, ctx),
        _ => Vec::new(),
    }
}

/// The banner of a refused reply: the category and the server's explanation (data, shown
/// sanitized), and what happens next.
fn refusal_block(message: &ChatMessage, width: u16, ctx: &RenderCtx) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let details = message
        .stored
        .response
        .as_ref()
        .and_then(|r| r.stop_details.as_ref());
    let field = |name: &str| {
        details
            .and_then(|d| d.get(name))
            .and_then(serde_json::Value::as_str)
            .map(|s| for_terminal(s).into_owned())
            .filter(|s| !s.trim().is_empty())
    };
    let headline = match field("category") {
        Some(category) => format!("⊘ the model declined to answer ({category})"),
        None => "⊘ the model declined to answer".to_owned(),
    };
    let mut out = Vec::new();
    let bar = Span::styled("  ┃ ", theme.warning);
    let mut push = |text: String, style: Style| {
        for line in wrap::wrap_spans(&[Span::styled(text, style)], width.saturating_sub(2).max(2)) {
            let mut spans = vec![bar.clone()];
            spans.extend(line.spans);
            out.push(Line::from(spans));
        }
    };
    push(headline, theme.warning);
    if let Some(explanation) = field("explanation") {
        push(explanation, theme.text);
    }
    push(
        format!(
            "→ this exchange is left out of what is sent next · rephrase it, or {} picks \
             another model and {} retries",
            ctx.keys.models, ctx.keys.retry
        ),
        theme.dim,
    );
    out
}

pub(super) fn header_line(message: &ChatMessage, ctx: &RenderCtx) -> Line<'static> {
    let theme = ctx.theme;
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(message.stored.created_at) * 1_000_000,
    )
    .map(|t| t.to_offset(ctx.offset))
    .ok()
    .and_then(|t| {
        let fmt = time::macros::format_description!("[hour]:[minute]");
        t.format(&fmt).ok()
    })
    .unwrap_or_default();
    let mut spans = Vec::new();
    match message.role() {
        Role::User if !crate::app::tools::results_of(&message.stored.content).is_empty() => {
            spans.push(Span::styled("▌tool results", theme.dim));
        }
        Role::User => spans.push(Span::styled("▌You", theme.user_label)),
        Role::Assistant => {
            let model = message
                .stored
                .model
                .clone()
                .unwrap_or_else(|| "assistant".into());
            spans.push(Span::styled(
                format!("▌{}", for_terminal(&model)),
                theme.assistant_label,
            ));
        }
    }
    spans.push(Span::styled(format!("  {time}"), theme.dim));
    if let Some((at, of)) = message.branch {
        spans.push(Span::styled(format!("  ‹{at}/{of}›"), theme.accent));
    }
    if message.status() != MessageStatus::Streaming
        && let Some(tokens) = message.tokens()
    {
        spans.push(Span::styled(
            format!("  {}", format_in_out(&tokens, true)),
            theme.dim,
        ));
    }
    Line::from(spans)
}

/// What follows a compare column's reply: stopped, or its error, without the hints of a turn
/// (retry, continue), which apply once a reply is picked.
pub(super) fn column_status_lines(
    message: &ChatMessage,
    width: u16,
    ctx: &RenderCtx,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if message.status() == MessageStatus::Stopped {
        lines.push(Line::from(Span::styled("■ stopped", ctx.theme.warning)));
    }
    if let Some(error) = &message.error {
        let mut block = error_block(error, width, ctx);
        block.pop(); // the retry hint
        lines.extend(block);
    }
    lines
}

fn error_block(error: &crate::app::ErrorInfo, width: u16, ctx: &RenderCtx) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let mut out = Vec::new();
    let bar = Span::styled("  ┃ ", theme.error);
    let mut push = |text: String, style: Style| {
        for line in wrap::wrap_spans(&[Span::styled(text, style)], width.saturating_sub(2).max(2)) {
            let mut spans = vec![bar.clone()];
            spans.extend(line.spans);
            out.push(Line::from(spans));
        }
    };
    push(format!("✖ {}", error.headline), theme.error);
    for detail in &error.details {
        push(detail.clone(), theme.text);
    }
    if !error.advice.is_empty() {
        push(format!("→ {}", error.advice), theme.dim);
    }
    push(
        format!(
            "{} retries this turn · your message is kept",
            ctx.keys.retry
        ),
        theme.accent,
    );
    out
}
