//! The renderer's state and its event dispatch.
//!
//! [`Renderer`] is one mutable value that the block-kind files extend with their own
//! `impl Renderer` blocks; its fields are `pub(super)` for them and for [`super::render_with`],
//! and private to everything outside `markdown`. This file holds what every kind shares: the
//! container stack (`levels`), the style stack, the line prefixes the containers imply, the
//! blank line between blocks, and the top-level units the streaming renderer resumes from.
//! [`Renderer::event`], [`Renderer::start`] and [`Renderer::end`] only route each
//! pulldown-cmark event to the kind that owns it, so each stays a table a reader can scan.

use std::borrow::Cow;

use pulldown_cmark::{Event, LinkType, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::code::CodeState;
use super::inline::Inline;
use super::list::ListState;
use super::table::TableState;
use super::{CodeProgress, Ctx, Unit};
use crate::render::highlight::HighlightCache;
use crate::render::theme::Theme;
use crate::render::wrap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LevelKind {
    Root,
    Quote,
    Item,
}

/// A container on the stack: the root, a block quote or a list item.
pub(super) struct Level {
    pub(super) kind: LevelKind,
    /// Marker still to be drawn on the first line of this item.
    pub(super) marker: Option<Span<'static>>,
    /// Indent for every other line.
    pub(super) indent: Span<'static>,
    /// Child blocks so far.
    pub(super) blocks: usize,
    /// Child blocks that are not lists.
    pub(super) non_list: usize,
}

pub(super) struct Renderer<'a, 'c> {
    pub(super) src: &'a str,
    pub(super) width: usize,
    pub(super) theme: &'a Theme,
    pub(super) cache: Option<&'c mut HighlightCache>,
    pub(super) out: Vec<Line<'static>>,
    pub(super) units: Vec<Unit>,
    pub(super) ctx_in: &'a Ctx,
    pub(super) levels: Vec<Level>,
    pub(super) lists: Vec<ListState>,
    pub(super) inline_kind: Inline,
    pub(super) inline: Vec<Span<'static>>,
    pub(super) styles: Vec<Style>,
    /// (url, link type, index in `inline` where the link text starts)
    pub(super) links: Vec<(String, LinkType, usize)>,
    pub(super) task: Option<bool>,
    pub(super) code: Option<CodeState>,
    pub(super) table: Option<TableState>,
    pub(super) in_cell: bool,
    pub(super) code_blocks: usize,
    /// The continuation list of `ctx_in` may still be the first block.
    pub(super) cont_pending: bool,
    /// `ctx_in.code_skip`, until the first top-level block starts.
    pub(super) skip_pending: Option<usize>,
    pub(super) code_progress: Option<CodeProgress>,
}

impl<'a, 'c> Renderer<'a, 'c> {
    pub(super) fn new(
        src: &'a str,
        width: usize,
        theme: &'a Theme,
        ctx: &'a Ctx,
        cache: Option<&'c mut HighlightCache>,
    ) -> Self {
        Renderer {
            src,
            width,
            theme,
            cache,
            out: Vec::new(),
            units: Vec::new(),
            ctx_in: ctx,
            levels: vec![Level {
                kind: LevelKind::Root,
                marker: None,
                indent: Span::raw(""),
                blocks: usize::from(ctx.has_prev),
                non_list: 0,
            }],
            lists: Vec::new(),
            inline_kind: Inline::None,
            inline: Vec::new(),
            styles: Vec::new(),
            links: Vec::new(),
            task: None,
            code: None,
            table: None,
            in_cell: false,
            code_blocks: ctx.code_blocks,
            cont_pending: ctx.list_cont.is_some(),
            skip_pending: ctx.code_skip,
            code_progress: None,
        }
    }

    // ----- event dispatch ----------------------------------------------------------------

    pub(super) fn event(&mut self, event: Event<'_>, offset: usize) {
        if self.code_takes(&event) {
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag, offset),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t, None),
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.text(&t, Some(self.theme.inline_code));
            }
            // Inside an HTML block: raw lines, shown dim.
            Event::Html(t) => self.text(&t, Some(self.theme.dim)),
            Event::InlineHtml(t) => self.inline_html(&t),
            Event::SoftBreak => self.line_break(false),
            Event::HardBreak => self.line_break(true),
            Event::Rule => self.rule(offset),
            Event::TaskListMarker(done) => self.task_marker(done),
            Event::FootnoteReference(t) => {
                self.text(&format!("[^{t}]"), Some(self.theme.dim));
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>, offset: usize) {
        match tag {
            Tag::Paragraph => self.start_paragraph(offset),
            Tag::Heading { level, .. } => self.start_heading(level, offset),
            Tag::BlockQuote(_) => self.start_quote(offset),
            Tag::CodeBlock(kind) => self.start_code(&kind, offset),
            Tag::HtmlBlock
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.start_text_block(offset),
            Tag::List(start) => self.start_list(start, offset),
            Tag::Item => self.start_item(offset),
            Tag::Table(aligns) => self.start_table(aligns, offset),
            Tag::TableHead | Tag::TableRow => self.start_row(),
            Tag::TableCell => self.start_cell(),
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Superscript | Tag::Subscript => self.push_style(|s| s),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => self.start_link(dest_url.to_string(), link_type),
            Tag::Image { dest_url, .. } => self.start_image(dest_url.to_string()),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.end_paragraph(),
            TagEnd::Heading(_) => self.end_heading(),
            TagEnd::HtmlBlock
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.end_text_block(),
            TagEnd::BlockQuote(_) => self.end_quote(),
            TagEnd::CodeBlock => self.end_code(),
            TagEnd::List(_) => self.end_list(),
            TagEnd::Item => self.end_item(),
            TagEnd::Table => self.end_table(),
            TagEnd::TableHead => self.end_head(),
            TagEnd::TableRow => {}
            TagEnd::TableCell => self.end_cell(),
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {
                self.styles.pop();
            }
            TagEnd::Link => self.end_link(),
            TagEnd::Image => self.end_image(),
        }
    }

    // ----- containers and styles ---------------------------------------------------------

    pub(super) fn at_root(&self) -> bool {
        self.levels.len() == 1
    }

    fn in_quote(&self) -> bool {
        self.levels.iter().any(|l| l.kind == LevelKind::Quote)
    }

    pub(super) fn base_style(&self) -> Style {
        if self.in_quote() {
            self.theme.text.patch(self.theme.quote)
        } else {
            self.theme.text
        }
    }

    pub(super) fn style(&self) -> Style {
        self.styles
            .last()
            .copied()
            .unwrap_or_else(|| self.base_style())
    }

    pub(super) fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    pub(super) fn line_start(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    pub(super) fn ctx_here(&self) -> Ctx {
        Ctx {
            code_blocks: self.code_blocks,
            has_prev: self.levels[0].blocks > 0,
            list_cont: None,
            code_skip: None,
        }
    }

    // ----- prefixes and separators -------------------------------------------------------

    /// Indent for the first line of the next block (pending markers included).
    pub(super) fn first_prefix(&self) -> Vec<Span<'static>> {
        self.levels[1..]
            .iter()
            .map(|l| l.marker.clone().unwrap_or_else(|| l.indent.clone()))
            .collect()
    }

    pub(super) fn rest_prefix(&self) -> Vec<Span<'static>> {
        self.levels[1..].iter().map(|l| l.indent.clone()).collect()
    }

    pub(super) fn consume_markers(&mut self) {
        for l in &mut self.levels {
            l.marker = None;
        }
    }

    pub(super) fn blank_line(&mut self) {
        let mut prefix = self.rest_prefix();
        // Trailing indent whitespace is noise on an empty line; quote bars stay.
        while let Some(last) = prefix.last_mut() {
            let trimmed = last.content.trim_end();
            if trimmed.is_empty() {
                prefix.pop();
            } else {
                if trimmed.len() != last.content.len() {
                    last.content = Cow::Owned(trimmed.to_string());
                }
                break;
            }
        }
        let (prefix, _) = wrap::fit_indent(&prefix, self.width);
        self.out.push(Line::from(prefix.into_owned()));
    }

    /// Called when a block starts inside the current container: emits the separator.
    pub(super) fn begin_block(&mut self, is_list: bool) {
        let level = self.levels.last_mut().expect("root level");
        let sep = level.blocks > 0
            && match level.kind {
                LevelKind::Root | LevelKind::Quote => true,
                LevelKind::Item => !is_list,
            };
        level.blocks += 1;
        if !is_list {
            level.non_list += 1;
        }
        if sep {
            self.blank_line();
        }
    }

    /// Starts a top-level unit here if we are at the root.
    pub(super) fn unit_here(&mut self, offset: usize) {
        if self.at_root() {
            self.skip_pending = None;
            let ctx = self.ctx_here();
            self.units.push(Unit {
                src: self.line_start(offset),
                line: self.out.len(),
                ctx,
            });
        }
    }

    /// The common opening of a non-list block at `offset`: a unit if at the root, the pending
    /// inline text flushed, the separator.
    pub(super) fn open_block(&mut self, offset: usize) {
        self.unit_here(offset);
        self.flush_inline();
        self.begin_block(false);
    }
}
