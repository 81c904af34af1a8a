//! Inline content: text runs, inline code, breaks, inline HTML, task markers, links, images.
//!
//! Inline events only collect styled spans into `inline`; nothing is laid out until the block
//! ends and [`Renderer::flush_inline`] wraps the spans with the containers' prefixes. Text that
//! arrives outside a paragraph (directly in a tight list item) opens an implicit block first,
//! so every span has a block to belong to. Inside a table cell the spans go to the cell
//! instead, and breaks become spaces.

use pulldown_cmark::LinkType;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use super::renderer::Renderer;
use crate::render::wrap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inline {
    None,
    /// Paragraph, heading or HTML block content.
    Block,
    /// Text directly inside a (tight) list item.
    Implicit,
}

impl Renderer<'_, '_> {
    fn ensure_inline(&mut self) {
        if self.inline_kind == Inline::None && !self.in_cell {
            self.begin_block(false);
            self.inline_kind = Inline::Implicit;
            self.take_task();
        }
    }

    pub(super) fn take_task(&mut self) {
        if let Some(done) = self.task.take() {
            let (mark, style) = if done {
                ("[x] ", self.theme.success)
            } else {
                ("[ ] ", self.theme.list_marker)
            };
            self.inline.push(Span::styled(mark, style));
        }
    }

    pub(super) fn task_marker(&mut self, done: bool) {
        self.task = Some(done);
        if self.inline_kind != Inline::None {
            self.take_task();
        }
    }

    fn push_text(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        let clean = crate::sanitize::strip_controls(text);
        self.inline.push(Span::styled(clean.into_owned(), style));
    }

    /// Text in the current style, `patch`ed if given.
    pub(super) fn text(&mut self, text: &str, patch: Option<Style>) {
        self.ensure_inline();
        let style = match patch {
            Some(p) => self.style().patch(p),
            None => self.style(),
        };
        self.push_text(text, style);
    }

    /// `<br>` breaks the line; other inline tags are shown, dim.
    pub(super) fn inline_html(&mut self, html: &str) {
        self.ensure_inline();
        let tag = html.trim().to_ascii_lowercase();
        if matches!(tag.as_str(), "<br>" | "<br/>" | "<br />") {
            self.line_break(true);
        } else {
            let style = self.style().patch(self.theme.dim);
            self.push_text(html, style);
        }
    }

    /// A soft break is a space; a hard one a newline, except in a table cell.
    pub(super) fn line_break(&mut self, hard: bool) {
        self.ensure_inline();
        let style = self.style();
        let sep = if hard && !self.in_cell { "\n" } else { " " };
        self.inline.push(Span::styled(sep, style));
    }

    pub(super) fn start_link(&mut self, url: String, link_type: LinkType) {
        self.ensure_inline();
        let link = self.theme.link;
        self.push_style(|s| s.patch(link));
        self.links.push((url, link_type, self.inline.len()));
    }

    /// Closes a link: its URL follows in dim unless the text already shows it.
    pub(super) fn end_link(&mut self) {
        self.styles.pop();
        if let Some((url, link_type, start)) = self.links.pop() {
            let shown: String = self.inline[start.min(self.inline.len())..]
                .iter()
                .map(|s| s.content.as_ref())
                .collect();
            let same = url == shown
                || url.strip_prefix("mailto:") == Some(shown.as_str())
                || matches!(link_type, LinkType::Autolink | LinkType::Email);
            if !url.is_empty() && !same {
                let style = self.style().patch(self.theme.link_url);
                self.push_text(&format!(" ({url})"), style);
            }
        }
    }

    /// An image is shown as `[image: alt] (url)`.
    pub(super) fn start_image(&mut self, url: String) {
        self.ensure_inline();
        let dim = self.style().patch(self.theme.dim);
        self.inline.push(Span::styled("[image: ", dim));
        self.push_style(|s| s.add_modifier(Modifier::ITALIC));
        self.links.push((url, LinkType::Inline, self.inline.len()));
    }

    pub(super) fn end_image(&mut self) {
        self.styles.pop();
        if let Some((url, _, _)) = self.links.pop() {
            let dim = self.style().patch(self.theme.dim);
            self.inline.push(Span::styled("]", dim));
            if !url.is_empty() {
                let style = self.style().patch(self.theme.link_url);
                self.push_text(&format!(" ({url})"), style);
            }
        }
    }

    /// Wraps the collected inline spans into output lines.
    pub(super) fn flush_inline(&mut self) {
        if self.inline_kind == Inline::None {
            return;
        }
        self.inline_kind = Inline::None;
        let spans = std::mem::take(&mut self.inline);
        // Trailing hard breaks and spaces add nothing.
        let first = self.first_prefix();
        let rest = self.rest_prefix();
        let added = wrap::wrap_into(&mut self.out, &spans, self.width, &first, &rest);
        if added > 0 {
            self.consume_markers();
        }
    }
}
