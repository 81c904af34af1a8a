//! The conversation pane: messages rendered to lines, cached, and drawn a viewport at a time.
//!
//! Each message's lines are cached keyed by (message id, version, width, theme). Scrolling is
//! anchored on (message, line) rather than a global line number, so nothing needs the height of
//! messages that are not on screen: a frame renders only what it shows, and its cost does not grow
//! with the conversation. `None` as the anchor means "follow the bottom"; scrolling back down to
//! the end returns to following. The streaming reply keeps a [`MarkdownStream`] so a delta
//! re-renders only the unfinished tail. [`message_lines`] draws one message the same way without
//! the cache, so the browser's preview reads like the transcript.

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::api::Role;
use crate::app::{App, ChatMessage, Command, Pane, ScrollBy, Tokens};
use crate::pricing;
use crate::render::{MarkdownStream, Theme, render_markdown, wrap};
use crate::sanitize::{for_terminal, strip_controls};
use crate::store::MessageStatus;

/// Top line of the viewport: message index and line within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub message: usize,
    pub line: usize,
}

/// A message's rendered lines: `head` never changes once written (for a streaming reply it
/// grows as markdown blocks complete), `tail` is rebuilt on each change (the unfinished block,
/// status and error lines). The frame draws `head` then `tail`.
struct Entry {
    id: String,
    version: u64,
    head: Vec<Line<'static>>,
    tail: Vec<Line<'static>>,
    /// Lines of the stream's stable part already copied into `head`.
    stable_used: usize,
}

impl Entry {
    fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    fn line(&self, i: usize) -> Option<&Line<'static>> {
        self.head
            .get(i)
            .or_else(|| self.tail.get(i - self.head.len()))
    }
}

/// View state of one pane: the line cache and the scroll position.
#[derive(Default)]
pub struct PaneView {
    entries: Vec<Option<Entry>>,
    width: u16,
    theme_id: u64,
    /// `None`: follow the bottom.
    pub anchor: Option<Anchor>,
    /// New text arrived below while the reader was scrolled up.
    pub new_below: bool,
    seen: (usize, u64),
    /// The streaming reply's incremental renderer: message id, bytes fed so far, renderer.
    stream: Option<(String, usize, MarkdownStream)>,
    pub height: u16,
    /// Conversation totals and estimated cost, keyed by (message count, last version).
    stats: Option<((usize, u64), Tokens, Option<f64>)>,
}

/// All view state the frame needs that is not application state.
pub struct ViewState {
    pub theme: Theme,
    panes: HashMap<String, PaneView>,
    pub utc_offset: time::UtcOffset,
    preview: PreviewCache,
}

/// The browser preview's lines, kept while the previewed messages, width and theme stay the
/// same (the browser redraws on every key typed in its search box).
#[derive(Default)]
pub struct PreviewCache {
    /// (conversation id, message count, last change, width, height, theme id).
    key: Option<(String, usize, i64, u16, usize, u64)>,
    lines: Vec<Line<'static>>,
}

impl PreviewCache {
    /// The last `height` lines of `messages` drawn as the transcript draws them: only the
    /// messages needed to fill `height` are rendered.
    pub fn lines(
        &mut self,
        id: &str,
        messages: &[crate::store::StoredMessage],
        width: u16,
        height: usize,
        ctx: &RenderCtx,
    ) -> &[Line<'static>] {
        let key = (
            id.to_owned(),
            messages.len(),
            messages.iter().map(|m| m.updated_at).max().unwrap_or(0),
            width,
            height,
            ctx.theme.id(),
        );
        if self.key.as_ref() != Some(&key) {
            let mut chunks = Vec::new();
            let mut rows = 0;
            for stored in messages.iter().rev() {
                let lines = message_lines(&ChatMessage::new(stored.clone()), width, ctx);
                rows += lines.len();
                chunks.push(lines);
                if rows >= height {
                    break;
                }
            }
            self.lines = chunks.into_iter().rev().flatten().collect();
            self.key = Some(key);
        }
        let skip = self.lines.len().saturating_sub(height);
        &self.lines[skip..]
    }
}

impl ViewState {
    pub fn new(theme: Theme, utc_offset: time::UtcOffset) -> ViewState {
        ViewState {
            theme,
            panes: HashMap::new(),
            utc_offset,
            preview: PreviewCache::default(),
        }
    }

    pub fn pane(&mut self, id: &str) -> &mut PaneView {
        self.panes.entry(id.to_owned()).or_default()
    }

    /// The theme, the clock offset, one pane's view and the browser preview's cache, borrowed
    /// together for a frame.
    pub fn split(
        &mut self,
        id: &str,
    ) -> (&Theme, time::UtcOffset, &mut PaneView, &mut PreviewCache) {
        let view = self.panes.entry(id.to_owned()).or_default();
        (&self.theme, self.utc_offset, view, &mut self.preview)
    }

    /// Forget views of panes that are closed.
    pub fn retain(&mut self, app: &App) {
        self.panes
            .retain(|id, _| app.panes.iter().any(|p| p.conversation.id == *id));
    }

    /// Apply a scroll request to a pane's view.
    pub fn scroll(&mut self, app: &App, conversation: &str, by: ScrollBy) {
        let Some(pane) = app.panes.iter().find(|p| p.conversation.id == conversation) else {
            return;
        };
        let offset = self.utc_offset;
        let theme = self.theme.clone();
        let keys = KeyHints::from(app);
        let view = self.pane(conversation);
        let ctx = RenderCtx {
            theme: &theme,
            offset,
            keys: &keys,
        };
        view.scroll(pane, by, &ctx);
    }
}

/// Key labels shown inside messages (e.g. the retry key in an error block).
pub struct KeyHints {
    pub retry: String,
}

impl From<&App> for KeyHints {
    fn from(app: &App) -> Self {
        KeyHints {
            retry: app.settings.keymap.label(Command::Retry),
        }
    }
}

pub struct RenderCtx<'a> {
    pub theme: &'a Theme,
    pub offset: time::UtcOffset,
    pub keys: &'a KeyHints,
}

impl PaneView {
    /// Token totals and estimated cost of the pane, recomputed only when its messages change.
    pub fn stats(&mut self, app: &App, pane: &Pane) -> (Tokens, Option<f64>) {
        let key = (
            pane.messages.len(),
            pane.messages.last().map_or(0, |m| m.version),
        );
        match &self.stats {
            Some((k, usage, cost)) if *k == key => (*usage, *cost),
            _ => {
                let usage = pane.totals();
                let turns = pane
                    .messages
                    .iter()
                    .filter_map(|m| Some((m.stored.model.as_deref()?, m.tokens()?.usage)));
                let cost = pricing::estimated_cost(turns, |id| app.model_spec(id));
                self.stats = Some((key, usage, cost));
                (usage, cost)
            }
        }
    }

    fn sync(&mut self, pane: &Pane, width: u16, theme: &Theme) {
        if width != self.width || theme.id() != self.theme_id {
            self.entries.clear();
            self.stream = None;
            self.width = width;
            self.theme_id = theme.id();
        }
        if self.entries.len() > pane.messages.len() {
            self.entries.truncate(pane.messages.len());
        }
        self.entries.resize_with(pane.messages.len(), || None);
        // New text below the reader?
        let last_version = pane.messages.last().map_or(0, |m| m.version);
        let seen = (pane.messages.len(), last_version);
        if seen != self.seen {
            if self.anchor.is_some() {
                self.new_below = true;
            }
            self.seen = seen;
        }
    }

    /// The cached entry of message `index`, brought up to date.
    fn entry(&mut self, pane: &Pane, index: usize, ctx: &RenderCtx) -> &Entry {
        let message = &pane.messages[index];
        let fresh = matches!(&self.entries[index], Some(e) if e.version == message.version && e.id == message.stored.id);
        if !fresh {
            let mut entry = match self.entries[index].take() {
                // A streaming reply keeps its committed head and only extends it.
                Some(e)
                    if e.id == message.stored.id
                        && message.status() == MessageStatus::Streaming
                        && message.role() == Role::Assistant =>
                {
                    e
                }
                _ => Entry {
                    id: message.stored.id.clone(),
                    version: message.version,
                    head: vec![header_line(message, ctx)],
                    tail: Vec::new(),
                    stable_used: 0,
                },
            };
            entry.version = message.version;
            self.render_into(&mut entry, message, ctx);
            self.entries[index] = Some(entry);
        }
        self.entries[index].as_ref().expect("entry filled above")
    }

    fn height_of(&mut self, pane: &Pane, index: usize, ctx: &RenderCtx) -> usize {
        self.entry(pane, index, ctx).len()
    }

    fn render_into(&mut self, entry: &mut Entry, message: &ChatMessage, ctx: &RenderCtx) {
        let theme = ctx.theme;
        let width = self.width.max(4);
        let body_width = width.saturating_sub(2).max(2);
        entry.tail.clear();
        match message.role() {
            Role::User => entry.head.extend(
                plain_lines(&message.text, body_width, theme.text)
                    .into_iter()
                    .map(|l| indent(l, 2)),
            ),
            Role::Assistant if message.status() == MessageStatus::Streaming => {
                if !matches!(&self.stream, Some((id, fed, _)) if *id == message.stored.id && *fed <= message.text.len())
                {
                    self.stream = Some((message.stored.id.clone(), 0, MarkdownStream::new()));
                    entry.head.truncate(1);
                    entry.stable_used = 0;
                }
                let Some((_, fed, stream)) = self.stream.as_mut() else {
                    unreachable!("set above")
                };
                if let Some(new) = message.text.get(*fed..) {
                    stream.push(new);
                    *fed = message.text.len();
                }
                let (stable, tail) = stream.lines(body_width, theme);
                if stable.len() < entry.stable_used {
                    // The renderer started over (cannot happen at a fixed width; be safe).
                    entry.head.truncate(1);
                    entry.stable_used = 0;
                }
                entry.head.extend(
                    stable[entry.stable_used..]
                        .iter()
                        .cloned()
                        .map(|l| indent(l, 2)),
                );
                entry.stable_used = stable.len();
                entry
                    .tail
                    .extend(tail.iter().cloned().map(|l| indent(l, 2)));
            }
            Role::Assistant => {
                if matches!(&self.stream, Some((id, _, _)) if *id == message.stored.id) {
                    self.stream = None;
                }
                entry.head.truncate(1);
                entry.head.extend(
                    reply_body(message, body_width, theme)
                        .into_iter()
                        .map(|l| indent(l, 2)),
                );
            }
        }
        entry.tail.extend(status_lines(message, body_width, ctx));
        if message.status() != MessageStatus::Streaming {
            // Finished: the header may now show usage.
            entry.head[0] = header_line(message, ctx);
        }
    }

    /// The top of the viewport when following the bottom.
    fn bottom_anchor(&mut self, pane: &Pane, height: usize, ctx: &RenderCtx) -> Anchor {
        let mut remaining = height;
        let mut index = pane.messages.len();
        while index > 0 {
            index -= 1;
            let h = self.height_of(pane, index, ctx);
            if h >= remaining {
                return Anchor {
                    message: index,
                    line: h - remaining,
                };
            }
            remaining -= h;
        }
        Anchor {
            message: 0,
            line: 0,
        }
    }

    /// Whether everything from `anchor` down fits in `height` lines (the reader is at the end).
    fn fits_from(&mut self, pane: &Pane, anchor: Anchor, height: usize, ctx: &RenderCtx) -> bool {
        let mut total = 0;
        for index in anchor.message..pane.messages.len() {
            let h = self.height_of(pane, index, ctx);
            total += if index == anchor.message {
                h.saturating_sub(anchor.line)
            } else {
                h
            };
            if total > height {
                return false;
            }
        }
        true
    }

    pub fn scroll(&mut self, pane: &Pane, by: ScrollBy, ctx: &RenderCtx) {
        if self.width == 0 || pane.messages.is_empty() {
            return;
        }
        self.sync(pane, self.width, ctx.theme);
        let height = usize::from(self.height.max(1));
        let lines = match by {
            ScrollBy::Top => {
                self.anchor = Some(Anchor {
                    message: 0,
                    line: 0,
                });
                return;
            }
            ScrollBy::Bottom => {
                self.anchor = None;
                self.new_below = false;
                return;
            }
            ScrollBy::Lines(n) => n as isize,
            ScrollBy::Pages(n) => n as isize * (height.saturating_sub(2).max(1)) as isize,
        };
        let mut at = match self.anchor {
            Some(a) => a,
            None => self.bottom_anchor(pane, height, ctx),
        };
        if lines < 0 {
            let mut k = lines.unsigned_abs();
            while k > 0 {
                if at.line > 0 {
                    let step = at.line.min(k);
                    at.line -= step;
                    k -= step;
                } else if at.message > 0 {
                    at.message -= 1;
                    at.line = self.height_of(pane, at.message, ctx).saturating_sub(1);
                    k -= 1;
                } else {
                    break;
                }
            }
        } else {
            let mut k = lines as usize;
            while k > 0 {
                let h = self.height_of(pane, at.message, ctx);
                if at.line + 1 < h {
                    let step = (h - 1 - at.line).min(k);
                    at.line += step;
                    k -= step;
                } else if at.message + 1 < pane.messages.len() {
                    at.message += 1;
                    at.line = 0;
                    k -= 1;
                } else {
                    break;
                }
            }
        }
        if self.fits_from(pane, at, height, ctx) {
            self.anchor = None;
            self.new_below = false;
        } else {
            self.anchor = Some(at);
        }
    }

    /// Draw the visible slice of `pane` into `area`.
    pub fn draw(&mut self, pane: &Pane, area: Rect, buf: &mut Buffer, ctx: &RenderCtx) {
        self.height = area.height;
        self.sync(pane, area.width, ctx.theme);
        let height = usize::from(area.height);
        if height == 0 || pane.messages.is_empty() {
            return;
        }
        let mut at = match self.anchor {
            Some(a) if a.message < pane.messages.len() => {
                if self.fits_from(pane, a, height, ctx) {
                    self.anchor = None;
                    self.new_below = false;
                    self.bottom_anchor(pane, height, ctx)
                } else {
                    a
                }
            }
            _ => {
                self.anchor = None;
                self.bottom_anchor(pane, height, ctx)
            }
        };
        let mut y = area.y;
        let bottom = area.y + area.height;
        while y < bottom && at.message < pane.messages.len() {
            let entry = self.entry(pane, at.message, ctx);
            let mut i = at.line;
            while y < bottom
                && let Some(line) = entry.line(i)
            {
                render_line(line, Rect::new(area.x, y, area.width, 1), buf);
                y += 1;
                i += 1;
            }
            at.message += 1;
            at.line = 0;
        }
        if self.new_below && self.anchor.is_some() {
            let label = " ↓ new text below (End) ";
            let w = wrap::display_width(label) as u16;
            if area.width > w {
                let x = area.x + area.width - w - 1;
                buf.set_string(
                    x,
                    bottom - 1,
                    label,
                    ctx.theme.accent.patch(ctx.theme.selection),
                );
            }
        }
    }
}

/// Draw one line. ASCII spans (most of a transcript) are written cell by cell, skipping the
/// grapheme segmentation and width lookups `Span::render` does for every character; other spans
/// go through ratatui. This halves the cost of a dense frame (see `benches/ui.rs`).
pub(crate) fn render_line(line: &Line<'_>, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    if line.style != Style::default() {
        buf.set_style(area, line.style);
    }
    let right = area.x + area.width;
    let mut x = area.x;
    for span in &line.spans {
        if x >= right {
            break;
        }
        if span.content.is_ascii() {
            let start = buf.index_of(x, area.y);
            let room = usize::from(right - x);
            let bytes = &span.content.as_bytes()[..span.content.len().min(room)];
            for (cell, byte) in buf.content[start..start + bytes.len()]
                .iter_mut()
                .zip(bytes)
            {
                // A space on a blank cell only needs its style (frames start blank).
                if *byte != b' ' || cell.symbol() != " " {
                    cell.set_char(char::from(*byte));
                }
                cell.set_style(span.style);
            }
            x += bytes.len() as u16;
        } else {
            let rect = Rect::new(x, area.y, right - x, 1);
            span.render(rect, buf);
            x = x.saturating_add(span.width() as u16).min(right);
        }
    }
}

fn indent(line: Line<'static>, by: usize) -> Line<'static> {
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
        Role::User => plain_lines(&message.text, body_width, ctx.theme.text),
        Role::Assistant => reply_body(message, body_width, ctx.theme),
    };
    let mut lines = vec![header_line(message, ctx)];
    lines.extend(body.into_iter().map(|l| indent(l, 2)));
    lines.extend(status_lines(message, body_width, ctx));
    lines
}

/// A finished reply's text as markdown, then its tool calls.
fn reply_body(message: &ChatMessage, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = render_markdown(&message.text, width, theme);
    for block in &message.stored.content {
        if let crate::api::ContentBlock::ToolUse { name, input, .. } = block {
            if !lines.is_empty() {
                lines.push(Line::default());
            }
            lines.extend(crate::render::tool_use_lines(name, input, width, theme));
        }
    }
    lines
}

/// What follows a message's body: placeholder, thinking note, stop/interrupt/error and
/// max_tokens notes, then a blank line.
fn status_lines(message: &ChatMessage, body_width: u16, ctx: &RenderCtx) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let mut lines = Vec::new();
    if message.role() == Role::Assistant {
        if message.status() == MessageStatus::Streaming && message.text.is_empty() {
            lines.push(Line::from(Span::styled("  …", theme.dim)));
        }
        let thinking = message
            .stored
            .content
            .iter()
            .any(|b| matches!(b, crate::api::ContentBlock::Thinking { .. }));
        if thinking {
            lines.push(Line::from(Span::styled(
                "  (the model thought before answering)",
                theme.dim,
            )));
        }
        match message.status() {
            MessageStatus::Stopped => {
                lines.push(Line::from(Span::styled("  ■ stopped", theme.warning)))
            }
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
        if message.stored.stop_reason.as_deref() == Some("max_tokens") {
            lines.push(Line::from(Span::styled(
                "  ⚠ the reply hit max_tokens (raise it with /max N)",
                theme.warning,
            )));
        }
    }
    lines.push(Line::default());
    lines
}

fn header_line(message: &ChatMessage, ctx: &RenderCtx) -> Line<'static> {
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
    if let Some(tokens) = message.tokens()
        && message.status() != MessageStatus::Streaming
    {
        spans.push(Span::styled(
            format!("  {}", crate::ui::format_in_out(&tokens, true)),
            theme.dim,
        ));
    }
    Line::from(spans)
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
