//! A compare's replies side by side (stacked when the terminal is too narrow for columns),
//! each under a header with its model and how it is doing: time to first token, tokens a
//! second, tokens and cost.
//!
//! Each column shows the end of its reply, as the transcript follows the bottom. Its lines
//! are cached by (message, version, width), so a frame re-renders only the columns whose reply
//! changed; a streaming reply is rendered incrementally (only its unfinished block again), so
//! three columns cost about three times one column's delta, not a full render each.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::app::{App, ChatMessage, Column, Pane, TokenEstimate, Tokens};
use crate::format::{fit, format_tokens};
use crate::pricing;
use crate::render::MarkdownStream;
use crate::store::MessageStatus;

use super::RenderCtx;
use super::message::{column_status_lines, reply_body};
use super::text::render_line;

/// Columns narrower than this are stacked instead.
const MIN_COLUMN_WIDTH: u16 = 32;

/// One column's rendered reply: while it streams, a [`MarkdownStream`] fed only the new text,
/// its finished blocks kept in `head` and the unfinished one in `tail`, as the transcript does.
struct Rendered {
    id: String,
    version: u64,
    width: u16,
    /// Bytes of the text fed so far, and the renderer, while the reply streams.
    stream: Option<(usize, MarkdownStream)>,
    stable_used: usize,
    head: Vec<Line<'static>>,
    tail: Vec<Line<'static>>,
    /// The reply's tokens as of `version`.
    tokens: Option<Tokens>,
    /// The estimate of the text so far, and how many bytes of it that counts (fed only the
    /// new text, as the renderer is).
    estimate: (usize, TokenEstimate),
}

/// Rendered lines of the columns' replies, one entry a column.
#[derive(Default)]
pub struct ColumnLines(Vec<Rendered>);

impl ColumnLines {
    /// Column `at`'s lines (finished part, then the rest), brought up to date.
    fn lines(
        &mut self,
        at: usize,
        message: &ChatMessage,
        width: u16,
        ctx: &RenderCtx,
    ) -> (&[Line<'static>], &[Line<'static>], Option<Tokens>) {
        let entry = &mut self.0[at];
        if entry.id != message.stored.id || entry.width != width {
            *entry = Rendered {
                id: message.stored.id.clone(),
                version: u64::MAX,
                width,
                stream: None,
                stable_used: 0,
                head: Vec::new(),
                tail: Vec::new(),
                tokens: None,
                estimate: Default::default(),
            };
        }
        if entry.version != message.version {
            entry.version = message.version;
            let (counted, estimate) = &mut entry.estimate;
            match message.text.get(*counted..) {
                Some(more) => estimate.add(more),
                None => {
                    *estimate = TokenEstimate::default();
                    estimate.add(&message.text);
                }
            }
            *counted = message.text.len();
            let text_tokens = estimate.tokens();
            entry.tokens = message.tokens_given(|| text_tokens);
            entry.tail.clear();
            if message.status() == MessageStatus::Streaming {
                if !matches!(&entry.stream, Some((fed, _)) if *fed <= message.text.len()) {
                    entry.stream = Some((0, MarkdownStream::new()));
                    entry.head.clear();
                    entry.stable_used = 0;
                }
                let Some((fed, stream)) = entry.stream.as_mut() else {
                    unreachable!("set above")
                };
                if let Some(new) = message.text.get(*fed..) {
                    stream.push(new);
                    *fed = message.text.len();
                }
                let (stable, tail) = stream.lines(width, ctx.theme);
                if stable.len() < entry.stable_used {
                    entry.head.clear();
                    entry.stable_used = 0;
                }
                entry
                    .head
                    .extend(stable[entry.stable_used..].iter().cloned());
                entry.stable_used = stable.len();
                entry.tail.extend(tail.iter().cloned());
            } else {
                entry.stream = None;
                entry.head = if message.text.is_empty() {
                    Vec::new()
                } else {
                    reply_body(message, width, ctx.theme)
                };
            }
            entry.tail.extend(column_status_lines(message, width, ctx));
        }
        (&entry.head, &entry.tail, entry.tokens)
    }

    /// One entry for each of `n` columns.
    fn resize(&mut self, n: usize) {
        self.0.resize_with(n, || Rendered {
            id: String::new(),
            version: u64::MAX,
            width: 0,
            stream: None,
            stable_used: 0,
            head: Vec::new(),
            tail: Vec::new(),
            tokens: None,
            estimate: Default::default(),
        });
        self.0.truncate(n);
    }
}

/// Draw `pane`'s compare columns into `area`.
pub fn draw(
    app: &App,
    pane: &Pane,
    cache: &mut ColumnLines,
    area: Rect,
    buf: &mut Buffer,
    ctx: &RenderCtx,
) {
    cache.resize(pane.columns.len());
    let n = pane.columns.len() as u16;
    if n == 0 || area.width == 0 || area.height == 0 {
        return;
    }
    let side_by_side = area.width / n >= MIN_COLUMN_WIDTH;
    let areas: Vec<Rect> = if side_by_side {
        Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, u32::from(n))))
            .spacing(1)
            .split(area)
            .to_vec()
    } else {
        Layout::vertical((0..n).map(|_| Constraint::Ratio(1, u32::from(n))))
            .split(area)
            .to_vec()
    };
    if side_by_side {
        // A rule in each gap, so the columns' text does not run together.
        for rect in &areas[..areas.len() - 1] {
            let x = rect.x + rect.width;
            for y in area.y..area.y + area.height {
                buf.set_string(x, y, "│", ctx.theme.border);
            }
        }
    }
    for (i, (column, rect)) in pane.columns.iter().zip(areas).enumerate() {
        let Some(message) = pane.message(&column.message) else {
            continue;
        };
        let style = if column.request.is_some() {
            ctx.theme.assistant_label
        } else {
            ctx.theme.dim.add_modifier(Modifier::BOLD)
        };
        let body = Rect::new(
            rect.x,
            rect.y + 1,
            rect.width,
            rect.height.saturating_sub(1),
        );
        let (head, tail, tokens) = cache.lines(i, message, body.width, ctx);
        let header = header(app, i, column, tokens);
        render_line(
            &Line::from(Span::styled(fit(&header, usize::from(rect.width)), style)),
            Rect::new(rect.x, rect.y, rect.width, 1),
            buf,
        );
        // The end of the reply, as the transcript follows the bottom.
        let skip = (head.len() + tail.len()).saturating_sub(usize::from(body.height));
        for (row, line) in head.iter().chain(tail).skip(skip).enumerate() {
            render_line(
                line,
                Rect::new(body.x, body.y + row as u16, body.width, 1),
                buf,
            );
        }
    }
}

/// `1 claude-haiku-4.5 · F5 picks · 310 out · $0.0012 · first 0.4 s · 52 tok/s` (`F5 stops`
/// while it streams).
fn header(app: &App, i: usize, column: &Column, tokens: Option<Tokens>) -> String {
    let model = crate::sanitize::for_terminal(&column.model).into_owned();
    // Most telling first, as a narrow column cuts the end: tokens and cost, then speed.
    let mut parts = vec![format!("{} {model}", i + 1)];
    parts.push(if column.request.is_some() {
        format!("F{} stops", i + 5)
    } else {
        format!("F{} picks", i + 5)
    });
    if let Some(tokens) = tokens {
        let mark = if tokens.estimated { "~" } else { "" };
        parts.push(format!(
            "{mark}{} out",
            format_tokens(tokens.usage.output_tokens)
        ));
        let cost = pricing::estimated_cost(
            [(column.model.as_str(), tokens.usage)],
            |id| app.model_spec(id),
            app.settings.request.prompt_cache,
        );
        if let Some(cost) = cost {
            parts.push(format!("${cost:.4}"));
        }
    }
    if let Some(first) = column.first_text {
        let ttft = first.saturating_duration_since(column.since).as_secs_f64();
        parts.push(format!("first {ttft:.1} s"));
    }
    if let (Some(first), Some(tokens)) = (column.first_text, tokens) {
        let until = column.ended.unwrap_or(app.now);
        let secs = until.saturating_duration_since(first).as_secs_f64();
        if secs > 0.05 {
            parts.push(format!(
                "{:.0} tok/s",
                tokens.usage.output_tokens as f64 / secs
            ));
        }
    }
    parts.join(" · ")
}
