//! Text blocks: paragraphs, headings, horizontal rules, and HTML blocks (with the rarer blocks
//! rendered the same way: footnote definitions, definition lists, metadata).
//!
//! They are leaves of the container stack: each opens a block (unit, separator), lets
//! [`super::inline`] collect its text, and wraps that text when it ends. A heading keeps its
//! `#` marks so the level reads without colour; a rule is the one block that is drawn whole
//! when it starts.

use std::borrow::Cow;

use pulldown_cmark::HeadingLevel;
use ratatui::style::Modifier;
use ratatui::text::Span;

use super::inline::Inline;
use super::renderer::Renderer;
use crate::render::wrap::{self, LineBuf};

impl Renderer<'_, '_> {
    pub(super) fn start_paragraph(&mut self, offset: usize) {
        if self.in_cell {
            return;
        }
        self.open_block(offset);
        self.inline_kind = Inline::Block;
        self.take_task();
    }

    pub(super) fn end_paragraph(&mut self) {
        if !self.in_cell {
            self.flush_inline();
        }
    }

    pub(super) fn start_heading(&mut self, level: HeadingLevel, offset: usize) {
        self.open_block(offset);
        self.inline_kind = Inline::Block;
        let n = heading_number(level);
        let mut style = self.base_style().patch(self.theme.heading);
        if n == 1 {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        if n >= 3 {
            style = style.add_modifier(Modifier::ITALIC);
        }
        self.styles.push(style);
        let hashes = &"###### "[6 - n..];
        self.inline.push(Span::styled(hashes, style));
    }

    pub(super) fn end_heading(&mut self) {
        self.styles.pop();
        self.flush_inline();
    }

    /// HTML blocks and the blocks shown like them: their text as a paragraph.
    pub(super) fn start_text_block(&mut self, offset: usize) {
        self.open_block(offset);
        self.inline_kind = Inline::Block;
    }

    pub(super) fn end_text_block(&mut self) {
        // HTML blocks end with a newline that would make an empty line.
        while let Some(last) = self.inline.last_mut() {
            let trimmed = last.content.trim_end_matches('\n');
            if trimmed.is_empty() {
                self.inline.pop();
            } else {
                if trimmed.len() != last.content.len() {
                    last.content = Cow::Owned(trimmed.to_string());
                }
                break;
            }
        }
        self.flush_inline();
    }

    /// A horizontal rule across the width left by the containers.
    pub(super) fn rule(&mut self, offset: usize) {
        self.open_block(offset);
        let first = self.first_prefix();
        let (first, w) = wrap::fit_indent(&first, self.width);
        let mut line = LineBuf::default();
        line.push_spans(&first);
        let n = self.width.saturating_sub(w).max(1);
        line.push(&"─".repeat(n), self.theme.rule);
        self.out.push(line.take());
        self.consume_markers();
    }
}

fn heading_number(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
