//! The conversation pane: messages rendered to lines, cached, and drawn a viewport at a time.
//!
//! Each message's lines are cached keyed by (message id, version, width, theme, whether the
//! pane shows thinking whole). Scrolling is
//! anchored on (message, line) rather than a global line number, so nothing needs the height of
//! messages that are not on screen: a frame renders only what it shows, and its cost does not grow
//! with the conversation. `None` as the anchor means "follow the bottom"; scrolling back down to
//! the end returns to following. The streaming reply keeps a [`MarkdownStream`] so a delta
//! re-renders only the unfinished tail. What one message looks like is `super::message`'s; this
//! file only caches, scrolls and draws those lines.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::api::Role;
use crate::app::{App, ChatMessage, Pane, ScrollBy, Tokens};
use crate::pricing;
use crate::render::{MarkdownStream, Theme, wrap};
use crate::store::MessageStatus;

use super::RenderCtx;
use super::message::{header_line, indent, reply_body, status_lines, thinking_lines, user_body};
use super::text::render_line;

/// Top line of the viewport: message index and line within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub message: usize,
    pub line: usize,
}

/// A message's rendered lines: `top` (the header and a reply's thinking) is rebuilt on each
/// change, `head` never changes once written (for a streaming reply it grows as markdown blocks
/// complete), `tail` is rebuilt on each change (the unfinished block, status and error lines).
/// The frame draws `top`, `head`, then `tail`.
struct Entry {
    id: String,
    version: u64,
    top: Vec<Line<'static>>,
    head: Vec<Line<'static>>,
    tail: Vec<Line<'static>>,
    /// Lines of the stream's stable part already copied into `head`.
    stable_used: usize,
    /// Thumbnails over reserved lines, `line` counted from the entry's first line.
    thumbs: Vec<super::thumbnail::Slot>,
}

impl Entry {
    fn len(&self) -> usize {
        self.top.len() + self.head.len() + self.tail.len()
    }

    fn line(&self, i: usize) -> Option<&Line<'static>> {
        let i_head = i.checked_sub(self.top.len());
        match i_head {
            None => self.top.get(i),
            Some(j) if j < self.head.len() => self.head.get(j),
            Some(j) => self.tail.get(j - self.head.len()),
        }
    }
}

/// What the cached totals were computed for: message count, last message id and version.
type StatsKey = (usize, String, u64);

/// View state of one pane: the line cache and the scroll position.
#[derive(Default)]
pub struct PaneView {
    entries: Vec<Option<Entry>>,
    width: u16,
    theme_id: u64,
    show_thinking: bool,
    /// `None`: follow the bottom.
    pub anchor: Option<Anchor>,
    /// New text arrived below while the reader was scrolled up.
    pub new_below: bool,
    seen: (usize, u64),
    /// The streaming reply's incremental renderer: message id, bytes fed so far, renderer.
    stream: Option<(String, usize, MarkdownStream)>,
    pub height: u16,
    /// Conversation totals and estimated cost, keyed by (message count, last id, last version).
    stats: Option<(StatsKey, Tokens, Option<f64>)>,
    /// A message to bring into view once the pane has been drawn (its size is known).
    pending_show: Option<usize>,
    /// A compare's replies, rendered per column.
    pub columns: super::columns::ColumnLines,
}
impl PaneView {
    /// Token totals and estimated cost of the pane, recomputed only when its messages change.
    pub fn stats(&mut self, app: &App, pane: &Pane) -> (Tokens, Option<f64>) {
        // The last id too: another branch's reply can have the same length and version.
        let last = pane.messages.last();
        let key = (
            pane.messages.len(),
            last.map_or_else(String::new, |m| m.stored.id.clone()),
            last.map_or(0, |m| m.version),
        );
        match &self.stats {
            Some((k, usage, cost)) if *k == key => (*usage, *cost),
            _ => {
                let usage = pane.totals();
                let turns = pane
                    .messages
                    .iter()
                    .filter_map(|m| Some((m.stored.model.as_deref()?, m.tokens()?.usage)));
                let cache = app.settings.request.prompt_cache;
                let cost = pricing::estimated_cost(turns, |id| app.model_spec(id), cache);
                self.stats = Some((key, usage, cost));
                (usage, cost)
            }
        }
    }

    fn sync(&mut self, pane: &Pane, width: u16, theme: &Theme) {
        if width != self.width
            || theme.id() != self.theme_id
            || pane.show_thinking != self.show_thinking
        {
            self.entries.clear();
            self.stream = None;
            self.width = width;
            self.theme_id = theme.id();
            self.show_thinking = pane.show_thinking;
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
                    top: Vec::new(),
                    head: Vec::new(),
                    tail: Vec::new(),
                    stable_used: 0,
                    thumbs: Vec::new(),
                },
            };
            entry.version = message.version;
            let before = index.checked_sub(1).map(|i| &pane.messages[i]);
            self.render_into(&mut entry, message, before, pane.show_thinking, ctx);
            self.entries[index] = Some(entry);
        }
        self.entries[index].as_ref().expect("entry filled above")
    }

    fn height_of(&mut self, pane: &Pane, index: usize, ctx: &RenderCtx) -> usize {
        self.entry(pane, index, ctx).len()
    }

    fn render_into(
        &mut self,
        entry: &mut Entry,
        message: &ChatMessage,
        before: Option<&ChatMessage>,
        show_thinking: bool,
        ctx: &RenderCtx,
    ) {
        let theme = ctx.theme;
        let width = self.width.max(4);
        let body_width = width.saturating_sub(2).max(2);
        entry.tail.clear();
        // The header shows usage only once finished; the thinking folds once the text starts.
        entry.top = vec![header_line(message, ctx)];
        entry
            .top
            .extend(thinking_lines(message, show_thinking, body_width, theme));
        match message.role() {
            Role::User => {
                entry.head.extend(
                    user_body(message, before, body_width, theme, ctx.images)
                        .into_iter()
                        .map(|l| indent(l, 2)),
                );
                entry.thumbs.clear();
                if ctx.images && crate::app::tools::results_of(&message.stored.content).is_empty() {
                    let first = entry.top.len();
                    entry.thumbs = super::thumbnail::slots(&message.stored.content, body_width);
                    for slot in &mut entry.thumbs {
                        slot.line += first;
                    }
                }
            }
            Role::Assistant if message.status() == MessageStatus::Streaming => {
                if !matches!(&self.stream, Some((id, fed, _)) if *id == message.stored.id && *fed <= message.text.len())
                {
                    self.stream = Some((message.stored.id.clone(), 0, MarkdownStream::new()));
                    entry.head.clear();
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
                    entry.head.clear();
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
                entry.head.clear();
                entry.head.extend(
                    reply_body(message, body_width, theme)
                        .into_iter()
                        .map(|l| indent(l, 2)),
                );
            }
        }
        entry.tail.extend(status_lines(message, body_width, ctx));
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
            // Not drawn yet (a conversation just opened): its size is known at the first draw.
            if let ScrollBy::Message(index) = by {
                self.pending_show = Some(index);
            }
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
            ScrollBy::Message(index) => {
                self.show_message(pane, index, height, ctx);
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

    /// Scroll just enough that message `index` is in view: its top when it is above the view
    /// or taller than it, else its end at the bottom.
    fn show_message(&mut self, pane: &Pane, index: usize, height: usize, ctx: &RenderCtx) {
        if index >= pane.messages.len() {
            return;
        }
        // What is below is the rest of the conversation (another branch), not new text.
        self.new_below = false;
        self.seen = (
            pane.messages.len(),
            pane.messages.last().map_or(0, |m| m.version),
        );
        let top = match self.anchor {
            Some(a) => a,
            None => self.bottom_anchor(pane, height, ctx),
        };
        let above = index < top.message || (index == top.message && top.line > 0);
        // Lines from the view's top to the end of the message.
        let mut to_end = 0;
        for i in top.message..=index.max(top.message) {
            to_end += self.height_of(pane, i, ctx);
        }
        to_end = to_end.saturating_sub(top.line);
        let own = self.height_of(pane, index, ctx);
        let at = if above || own >= height {
            Anchor {
                message: index,
                line: 0,
            }
        } else if to_end > height {
            // Move down until the message's end is on the last row.
            let mut at = top;
            let mut excess = to_end - height;
            while excess > 0 {
                let h = self.height_of(pane, at.message, ctx);
                let step = (h - at.line).min(excess);
                excess -= step;
                at.line += step;
                if at.line >= h {
                    at.message += 1;
                    at.line = 0;
                }
            }
            at
        } else {
            return;
        };
        if self.fits_from(pane, at, height, ctx) {
            self.anchor = None;
        } else {
            self.anchor = Some(at);
        }
    }

    /// Draw the visible slice of `pane` into `area`, and the thumbnails whose rows are all in
    /// it.
    pub fn draw(
        &mut self,
        pane: &Pane,
        area: Rect,
        buf: &mut Buffer,
        ctx: &RenderCtx,
        thumbnails: Option<&mut super::Thumbnails>,
    ) {
        self.height = area.height;
        self.sync(pane, area.width, ctx.theme);
        let height = usize::from(area.height);
        if height == 0 || pane.messages.is_empty() {
            return;
        }
        if let Some(index) = self.pending_show.take() {
            self.show_message(pane, index, height, ctx);
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
        let mut pending = Vec::new();
        let mut y = area.y;
        let bottom = area.y + area.height;
        while y < bottom && at.message < pane.messages.len() {
            let selected = pane.selection == Some(at.message);
            let entry = self.entry(pane, at.message, ctx);
            if thumbnails.is_some() {
                for slot in entry.thumbs.iter().filter(|s| s.line >= at.line) {
                    let top = usize::from(y) + slot.line - at.line;
                    if top + usize::from(slot.rows) <= usize::from(bottom) {
                        // Under the chip's indent, in the reserved rows.
                        let x = area.x + 2;
                        let cols = slot.cols.min(area.width.saturating_sub(2));
                        let rect = Rect::new(x, top as u16, cols, slot.rows);
                        pending.push((slot.sha256.clone(), rect));
                    }
                }
            }
            let mut i = at.line;
            while y < bottom
                && let Some(line) = entry.line(i)
            {
                render_line(line, Rect::new(area.x, y, area.width, 1), buf);
                // The selected message: a bar down its left edge (the lines keep their cache).
                // In the margin left of the pane when there is one.
                if selected && !line.spans.is_empty() {
                    buf.set_string(area.x.saturating_sub(1), y, "▐", ctx.theme.accent);
                }
                y += 1;
                i += 1;
            }
            at.message += 1;
            at.line = 0;
        }
        if let Some(thumbnails) = thumbnails {
            for (sha256, rect) in pending {
                thumbnails.draw(&sha256, rect, buf);
            }
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
