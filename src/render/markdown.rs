//! Markdown → pre-wrapped, themed `Line<'static>`s.
//!
//! Why it is shaped this way (codex `markdown_render.rs` is the model, STYLE-ANCHORS §5):
//! - **A stack machine over pulldown-cmark events.** `levels` holds the containers (root, block
//!   quotes, list items) and gives every output line its indent (quote bars, list markers,
//!   hanging indents); `styles` holds the inline style; `lists` the numbering. Output is
//!   wrapped at `width` as it is produced, so the chat pane only slices cached lines.
//! - **Separation rules depend only on what came before.** A blank line separates blocks
//!   (except before a nested list inside an item); between list items there is a blank line only
//!   when the previous item held more than one non-list block. CommonMark's tight/loose
//!   distinction is ignored on purpose: it can change when a later item arrives, and then lines
//!   already shown would change. This is what lets [`super::stream::MarkdownStream`] keep the
//!   lines of completed top-level blocks (and completed top-level list items) and re-render only
//!   the tail; [`render_with`] reports where each top-level unit starts (source offset, output
//!   line, and the context needed to render from there on) for exactly that purpose.
//! - **Code blocks** are numbered 1.. in document order (fenced and indented, nested or not);
//!   [`code_blocks`] uses the same numbering so "copy block 2" matches what is on screen. The
//!   header shows the language and the number. Code lines are **hard-wrapped** at the width, not
//!   word-wrapped: nothing is hidden, and continuation rows start with a dim `↪` in the gutter
//!   (the first row has a blank gutter) so a wrapped line is visibly one source line. Rows are
//!   padded with `code_bg` so the block reads as a block.
//! - **Tables** are laid out by display width. If the natural widths do not fit, the widest
//!   columns are narrowed and their cells wrap; if even 3 columns per cell do not fit, each row
//!   is shown as `header: value` lines instead.
//! - **Model text is data:** every piece of text goes through [`crate::sanitize::strip_controls`]
//!   after parsing, since entities like `&#27;` decode to control characters; the wrapper then
//!   shows bidi and invisible characters as dim `⟨U+XXXX⟩` markers.

use std::borrow::Cow;

use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::highlight::{self, HighlightCache};
use super::theme::Theme;
use super::wrap::{self, LineBuf, spaces};

/// A code block of a message, as the user would copy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The fence's language (first word of the info string), or empty.
    pub lang: String,
    /// The code, without the final newline.
    pub code: String,
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders markdown `text` into lines at most `width` columns wide.
pub fn render_markdown(text: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let text = crate::sanitize::strip_controls(text);
    render_with(&text, usize::from(width), theme, &Ctx::default(), None).lines
}

/// The code blocks of `text` in document order; block `n` on screen is `code_blocks(text)[n-1]`.
pub fn code_blocks(text: &str) -> Vec<CodeBlock> {
    let text = crate::sanitize::strip_controls(text);
    let mut out = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for event in Parser::new_ext(&text, options()) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                current = Some(CodeBlock {
                    lang: fence_lang(&kind),
                    code: String::new(),
                });
            }
            Event::Text(t) => {
                if let Some(block) = current.as_mut() {
                    block.code.push_str(&crate::sanitize::strip_controls(&t));
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(mut block) = current.take() {
                    if block.code.ends_with('\n') {
                        block.code.pop();
                    }
                    out.push(block);
                }
            }
            _ => {}
        }
    }
    out
}

/// First word of a fence's info string (`rust,ignore` → `rust`, `{.python}` → `python`).
fn fence_lang(kind: &CodeBlockKind<'_>) -> String {
    let CodeBlockKind::Fenced(info) = kind else {
        return String::new();
    };
    let info = crate::sanitize::strip_controls(info);
    let word = info
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}'))
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .trim_start_matches('.');
    word.chars().take(32).collect()
}

/// Where rendering starts: what came before, as far as the output depends on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Code blocks already numbered before this text.
    pub code_blocks: usize,
    /// A top-level block precedes this text (so the first block gets a blank line before it).
    pub has_prev: bool,
    /// This text starts with more items of a top-level list that began before it.
    pub list_cont: Option<ListCont>,
    /// This text starts with a top-level fenced code block whose header and first `n` lines
    /// are already rendered (a code block that is still streaming).
    pub code_skip: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListCont {
    /// Number of the next item (ordered lists).
    pub next_number: Option<u64>,
    /// The previous item held more than one non-list block.
    pub prev_rich: bool,
}

/// A top-level unit (a block, or one item of a top-level list) of the rendered text.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// Byte offset of the start of the line where the unit begins.
    pub src: usize,
    /// Index of the first output line belonging to it (its separator included).
    pub line: usize,
    /// Context for rendering the text from `src` on by itself.
    pub ctx: Ctx,
}

pub(crate) struct Rendered {
    pub lines: Vec<Line<'static>>,
    pub units: Vec<Unit>,
    /// The text defines link references (they act on the whole document).
    pub has_ref_defs: bool,
    /// The last top-level unit is a fenced code block: how far its rows are final.
    pub code_progress: Option<CodeProgress>,
}

/// Rendering progress of a top-level fenced code block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeProgress {
    /// Index of its unit in [`Rendered::units`].
    pub unit: usize,
    /// Output line index just after the rows of its last complete source line.
    pub rows_end: usize,
    /// Source lines of the block that are complete (end with a newline).
    pub lines_complete: usize,
}

/// Renders `text` (already sanitized) starting from `ctx`.
pub(crate) fn render_with(
    text: &str,
    width: usize,
    theme: &Theme,
    ctx: &Ctx,
    cache: Option<&mut HighlightCache>,
) -> Rendered {
    if width == 0 {
        return Rendered {
            lines: Vec::new(),
            units: Vec::new(),
            has_ref_defs: false,
            code_progress: None,
        };
    }
    let mut r = Renderer::new(text, width, theme, ctx, cache);
    let mut iter = Parser::new_ext(text, options()).into_offset_iter();
    for (event, range) in iter.by_ref() {
        r.event(event, range.start);
    }
    r.flush_inline();
    let has_ref_defs = iter.reference_definitions().iter().next().is_some();
    let code_progress = r.code_progress.filter(|p| p.unit + 1 == r.units.len());
    Rendered {
        lines: r.out,
        units: r.units,
        has_ref_defs,
        code_progress,
    }
}

const BULLETS: [&str; 3] = ["• ", "◦ ", "▪ "];
const QUOTE_BAR: &str = "│ ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    Root,
    Quote,
    Item,
}

struct Level {
    kind: LevelKind,
    /// Marker still to be drawn on the first line of this item.
    marker: Option<Span<'static>>,
    /// Indent for every other line.
    indent: Span<'static>,
    /// Child blocks so far.
    blocks: usize,
    /// Child blocks that are not lists.
    non_list: usize,
}

struct ListState {
    next: Option<u64>,
    /// Richness of the previous item; `None` before the first item.
    prev_rich: Option<bool>,
    depth: usize,
    top: bool,
    /// Output line where the list (with its separator) started, for the first item's unit.
    start_line: usize,
    start_src: usize,
    start_ctx: Ctx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inline {
    None,
    /// Paragraph, heading or HTML block content.
    Block,
    /// Text directly inside a (tight) list item.
    Implicit,
}

struct TableState {
    aligns: Vec<Alignment>,
    rows: Vec<Vec<Vec<Span<'static>>>>,
    has_header: bool,
}

struct Renderer<'a, 'c> {
    src: &'a str,
    width: usize,
    theme: &'a Theme,
    cache: Option<&'c mut HighlightCache>,
    out: Vec<Line<'static>>,
    units: Vec<Unit>,
    ctx_in: &'a Ctx,
    levels: Vec<Level>,
    lists: Vec<ListState>,
    inline_kind: Inline,
    inline: Vec<Span<'static>>,
    styles: Vec<Style>,
    /// (url, link type, index in `inline` where the link text starts)
    links: Vec<(String, LinkType, usize)>,
    task: Option<bool>,
    code: Option<CodeState>,
    table: Option<TableState>,
    in_cell: bool,
    code_blocks: usize,
    /// The continuation list of `ctx_in` may still be the first block.
    cont_pending: bool,
    /// `ctx_in.code_skip`, until the first top-level block starts.
    skip_pending: Option<usize>,
    code_progress: Option<CodeProgress>,
}

struct CodeState {
    lang: String,
    text: String,
    /// Lines already rendered before this text (header included).
    skip: Option<usize>,
    /// A top-level fenced block: report its progress.
    track: bool,
}

impl<'a, 'c> Renderer<'a, 'c> {
    fn new(
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

    fn at_root(&self) -> bool {
        self.levels.len() == 1
    }

    fn in_quote(&self) -> bool {
        self.levels.iter().any(|l| l.kind == LevelKind::Quote)
    }

    fn base_style(&self) -> Style {
        if self.in_quote() {
            self.theme.text.patch(self.theme.quote)
        } else {
            self.theme.text
        }
    }

    fn style(&self) -> Style {
        self.styles
            .last()
            .copied()
            .unwrap_or_else(|| self.base_style())
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn line_start(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        self.src[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    fn ctx_here(&self) -> Ctx {
        Ctx {
            code_blocks: self.code_blocks,
            has_prev: self.levels[0].blocks > 0,
            list_cont: None,
            code_skip: None,
        }
    }

    // ----- prefixes and separators -------------------------------------------------------

    /// Indent for the first line of the next block (pending markers included).
    fn first_prefix(&self) -> Vec<Span<'static>> {
        self.levels[1..]
            .iter()
            .map(|l| l.marker.clone().unwrap_or_else(|| l.indent.clone()))
            .collect()
    }

    fn rest_prefix(&self) -> Vec<Span<'static>> {
        self.levels[1..].iter().map(|l| l.indent.clone()).collect()
    }

    fn consume_markers(&mut self) {
        for l in &mut self.levels {
            l.marker = None;
        }
    }

    fn blank_line(&mut self) {
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
    fn begin_block(&mut self, is_list: bool) {
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
    fn unit_here(&mut self, offset: usize) {
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

    // ----- inline content ----------------------------------------------------------------

    fn ensure_inline(&mut self) {
        if self.inline_kind == Inline::None && !self.in_cell {
            self.begin_block(false);
            self.inline_kind = Inline::Implicit;
            self.take_task();
        }
    }

    fn take_task(&mut self) {
        if let Some(done) = self.task.take() {
            let (mark, style) = if done {
                ("[x] ", self.theme.success)
            } else {
                ("[ ] ", self.theme.list_marker)
            };
            self.inline.push(Span::styled(mark, style));
        }
    }

    fn push_text(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        let clean = crate::sanitize::strip_controls(text);
        self.inline.push(Span::styled(clean.into_owned(), style));
    }

    /// Wraps the collected inline spans into output lines.
    fn flush_inline(&mut self) {
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

    // ----- events ------------------------------------------------------------------------

    fn event(&mut self, event: Event<'_>, offset: usize) {
        if let Some(code) = self.code.as_mut() {
            match event {
                Event::Text(t) => {
                    code.text.push_str(&t);
                    return;
                }
                Event::End(TagEnd::CodeBlock) => {}
                _ => return,
            }
        }
        match event {
            Event::Start(tag) => self.start(tag, offset),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                self.ensure_inline();
                let style = self.style();
                self.push_text(&t, style);
            }
            Event::Code(t) => {
                self.ensure_inline();
                let style = self.style().patch(self.theme.inline_code);
                self.push_text(&t, style);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.ensure_inline();
                let style = self.style().patch(self.theme.inline_code);
                self.push_text(&t, style);
            }
            Event::Html(t) => {
                // Inside an HTML block: raw lines, shown dim.
                self.ensure_inline();
                let style = self.style().patch(self.theme.dim);
                self.push_text(&t, style);
            }
            Event::InlineHtml(t) => {
                self.ensure_inline();
                let tag = t.trim().to_ascii_lowercase();
                if matches!(tag.as_str(), "<br>" | "<br/>" | "<br />") {
                    let style = self.style();
                    let sep = if self.in_cell { " " } else { "\n" };
                    self.inline.push(Span::styled(sep, style));
                } else {
                    let style = self.style().patch(self.theme.dim);
                    self.push_text(&t, style);
                }
            }
            Event::SoftBreak => {
                self.ensure_inline();
                let style = self.style();
                self.inline.push(Span::styled(" ", style));
            }
            Event::HardBreak => {
                self.ensure_inline();
                let style = self.style();
                let sep = if self.in_cell { " " } else { "\n" };
                self.inline.push(Span::styled(sep, style));
            }
            Event::Rule => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                let first = self.first_prefix();
                let (first, w) = wrap::fit_indent(&first, self.width);
                let mut line = LineBuf::default();
                line.push_spans(&first);
                let n = self.width.saturating_sub(w).max(1);
                line.push(&"─".repeat(n), self.theme.rule);
                self.out.push(line.take());
                self.consume_markers();
            }
            Event::TaskListMarker(done) => {
                if self.inline_kind == Inline::None {
                    self.task = Some(done);
                } else {
                    self.task = Some(done);
                    self.take_task();
                }
            }
            Event::FootnoteReference(t) => {
                self.ensure_inline();
                let style = self.style().patch(self.theme.dim);
                self.push_text(&format!("[^{t}]"), style);
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>, offset: usize) {
        match tag {
            Tag::Paragraph => {
                if self.in_cell {
                    return;
                }
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                self.inline_kind = Inline::Block;
                self.take_task();
            }
            Tag::Heading { level, .. } => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
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
            Tag::BlockQuote(_) => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                let style = self.theme.quote.remove_modifier(Modifier::ITALIC);
                self.levels.push(Level {
                    kind: LevelKind::Quote,
                    marker: None,
                    indent: Span::styled(QUOTE_BAR, style),
                    blocks: 0,
                    non_list: 0,
                });
            }
            Tag::CodeBlock(kind) => {
                let fenced = matches!(kind, CodeBlockKind::Fenced(_));
                let track = fenced && self.at_root();
                let skip = if track && self.units.is_empty() {
                    self.skip_pending
                } else {
                    None
                };
                self.unit_here(offset);
                self.flush_inline();
                if skip.is_some() {
                    // Header and separator are already on screen.
                    let root = &mut self.levels[0];
                    root.blocks += 1;
                    root.non_list += 1;
                } else {
                    self.begin_block(false);
                }
                self.code = Some(CodeState {
                    lang: fence_lang(&kind),
                    text: String::new(),
                    skip,
                    track,
                });
            }
            Tag::HtmlBlock => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                self.inline_kind = Inline::Block;
            }
            Tag::List(start) => {
                self.flush_inline();
                let top = self.at_root();
                let start_line = self.out.len();
                let start_src = self.line_start(offset);
                let start_ctx = self.ctx_here();
                let depth = self.lists.len();
                let cont = if top && self.cont_pending {
                    self.ctx_in.list_cont.clone()
                } else {
                    None
                };
                self.cont_pending = false;
                let state = match cont {
                    Some(c) => {
                        // More items of a list that started before this text: no separator.
                        let root = &mut self.levels[0];
                        root.blocks = root.blocks.max(1);
                        ListState {
                            next: c.next_number,
                            prev_rich: Some(c.prev_rich),
                            depth,
                            top,
                            start_line,
                            start_src,
                            start_ctx: Ctx {
                                list_cont: Some(c),
                                ..start_ctx
                            },
                        }
                    }
                    None => {
                        self.begin_block(true);
                        ListState {
                            next: start,
                            prev_rich: None,
                            depth,
                            top,
                            start_line,
                            start_src,
                            start_ctx,
                        }
                    }
                };
                self.lists.push(state);
            }
            Tag::Item => {
                self.flush_inline();
                let Some(list) = self.lists.last() else {
                    return;
                };
                if list.top && self.at_root() {
                    let unit = match list.prev_rich {
                        None => Unit {
                            src: list.start_src,
                            line: list.start_line,
                            ctx: list.start_ctx.clone(),
                        },
                        Some(prev_rich) => Unit {
                            src: self.line_start(offset),
                            line: self.out.len(),
                            ctx: Ctx {
                                code_blocks: self.code_blocks,
                                has_prev: true,
                                list_cont: Some(ListCont {
                                    next_number: list.next,
                                    prev_rich,
                                }),
                                code_skip: None,
                            },
                        },
                    };
                    self.units.push(unit);
                }
                let list = self.lists.last_mut().expect("checked above");
                let sep = list.prev_rich == Some(true);
                let marker = match list.next.as_mut() {
                    Some(n) => {
                        let s = format!("{n}. ");
                        *n = n.saturating_add(1);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(BULLETS[list.depth % BULLETS.len()]),
                };
                if sep {
                    self.blank_line();
                }
                let w = wrap::display_width(&marker);
                self.levels.push(Level {
                    kind: LevelKind::Item,
                    marker: Some(Span::styled(marker, self.theme.list_marker)),
                    indent: Span::raw(spaces(w)),
                    blocks: 0,
                    non_list: 0,
                });
            }
            Tag::Table(aligns) => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                self.table = Some(TableState {
                    aligns,
                    rows: Vec::new(),
                    has_header: false,
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => {
                self.in_cell = true;
                self.inline.clear();
                let header = self
                    .table
                    .as_ref()
                    .is_some_and(|t| t.rows.len() == 1 && !t.has_header);
                let style = if header {
                    self.base_style().patch(self.theme.table_header)
                } else {
                    self.base_style()
                };
                self.styles.push(style);
            }
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Superscript | Tag::Subscript => self.push_style(|s| s),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                self.ensure_inline();
                let link = self.theme.link;
                self.push_style(|s| s.patch(link));
                self.links
                    .push((dest_url.to_string(), link_type, self.inline.len()));
            }
            Tag::Image { dest_url, .. } => {
                self.ensure_inline();
                let dim = self.style().patch(self.theme.dim);
                self.inline.push(Span::styled("[image: ", dim));
                self.push_style(|s| s.add_modifier(Modifier::ITALIC));
                self.links
                    .push((dest_url.to_string(), LinkType::Inline, self.inline.len()));
            }
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => {
                self.unit_here(offset);
                self.flush_inline();
                self.begin_block(false);
                self.inline_kind = Inline::Block;
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                if !self.in_cell {
                    self.flush_inline();
                }
            }
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.flush_inline();
            }
            TagEnd::HtmlBlock
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => {
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
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                if self.levels.len() > 1 {
                    self.levels.pop();
                }
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_block(&code);
                }
            }
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
            }
            TagEnd::Item => {
                self.flush_inline();
                if self
                    .levels
                    .last()
                    .is_some_and(|l| l.kind == LevelKind::Item)
                {
                    if self.levels.last().is_some_and(|l| l.marker.is_some()) {
                        // An empty item still shows its marker (without trailing space).
                        let mut first = self.first_prefix();
                        if let Some(last) = first.last_mut() {
                            last.content = Cow::Owned(last.content.trim_end().to_string());
                        }
                        let (first, _) = wrap::fit_indent(&first, self.width);
                        self.out.push(Line::from(first.into_owned()));
                        self.consume_markers();
                    }
                    let level = self.levels.pop().expect("checked");
                    if let Some(list) = self.lists.last_mut() {
                        list.prev_rich = Some(level.non_list >= 2);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.table_block(table);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.has_header = true;
                }
            }
            TagEnd::TableRow => {}
            TagEnd::TableCell => {
                self.styles.pop();
                self.in_cell = false;
                let cell = std::mem::take(&mut self.inline);
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {
                self.styles.pop();
            }
            TagEnd::Link => {
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
            TagEnd::Image => {
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
        }
    }

    // ----- code blocks -------------------------------------------------------------------

    fn code_block(&mut self, code: &CodeState) {
        self.code_blocks += 1;
        let number = self.code_blocks;
        let theme = self.theme;
        let lang = code.lang.as_str();
        let first = self.first_prefix();
        let rest = self.rest_prefix();
        if code.skip.is_none() {
            self.code_header(lang, number, &first);
        }
        let plain = highlight::plain_style(theme);
        let mut gutter = rest.clone();
        gutter.push(Span::styled(" ", plain));
        let mut cont = rest;
        cont.push(Span::styled("↪", theme.dim.bg(theme.code_bg)));
        let width = self.width;
        let skip = code.skip.unwrap_or(0);
        let complete = code.text.matches('\n').count();
        let mut rows_end = self.out.len();
        let mut i = 0;
        let out = &mut self.out;
        let cache = self.cache.as_deref_mut();
        highlight::for_each_line(&code.text, lang, theme, cache, |spans| {
            if i >= skip {
                wrap::wrap_hard_into(out, spans, width, &gutter, &cont, Some(plain));
            }
            i += 1;
            if i <= complete {
                rows_end = out.len();
            }
        });
        self.code_progress = match (code.track, self.units.len().checked_sub(1)) {
            (true, Some(unit)) => Some(CodeProgress {
                unit,
                rows_end,
                lines_complete: complete,
            }),
            _ => None,
        };
    }

    /// The header line: " rust  #1 " on the header colour, across the block.
    fn code_header(&mut self, lang: &str, number: usize, first: &[Span<'static>]) {
        let theme = self.theme;

        let (first_fit, fw) = wrap::fit_indent(first, self.width);
        let avail = self.width.saturating_sub(fw).max(1);
        let label = if lang.is_empty() { "code" } else { lang };
        let header = [
            Span::styled(
                format!(" {label} "),
                theme.code_header.add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!(" #{number} "), theme.code_header),
        ];
        let (header, hw) = wrap::clip_spans(&header, avail);
        let mut line = LineBuf::default();
        line.push_spans(&first_fit);
        line.push_spans(&header);
        line.push_cow(spaces(avail - hw), theme.code_header);
        self.out.push(line.take());
        self.consume_markers();
    }

    // ----- tables ------------------------------------------------------------------------

    fn table_block(&mut self, table: TableState) {
        let ncols = table
            .rows
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(table.aligns.len());
        if ncols == 0 {
            return;
        }
        let first = self.first_prefix();
        let rest = self.rest_prefix();
        let (_, pw) = wrap::fit_indent(&rest, self.width);
        let avail = self.width.saturating_sub(pw).max(1);
        let natural: Vec<usize> = (0..ncols)
            .map(|c| {
                table
                    .rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| wrap::spans_width(cell))
                    .max()
                    .unwrap_or(0)
                    .max(1)
            })
            .collect();
        let sep_w = 3 * (ncols - 1);
        let Some(widths) = fit_columns(&natural, avail.saturating_sub(sep_w)) else {
            self.table_records(&table, ncols, &first, &rest);
            return;
        };
        let rule_style = self.theme.rule;
        let mut first_line = true;
        for (r, row) in table.rows.iter().enumerate() {
            let cells: Vec<Vec<Line<'static>>> = (0..ncols)
                .map(|c| {
                    let mut lines = Vec::new();
                    if let Some(cell) = row.get(c) {
                        wrap::wrap_into(&mut lines, cell, widths[c], &[], &[]);
                    }
                    lines
                })
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
            for i in 0..height {
                let mut line = LineBuf::default();
                line.push_spans(if first_line { &first } else { &rest });
                first_line = false;
                for c in 0..ncols {
                    if c > 0 {
                        line.push_cow(Cow::Borrowed(" │ "), rule_style);
                    }
                    let (spans, w) = match cells[c].get(i) {
                        Some(l) => (&l.spans[..], wrap::spans_width(&l.spans)),
                        None => (&[][..], 0),
                    };
                    let pad = widths[c].saturating_sub(w);
                    let (left, right) = match table.aligns.get(c) {
                        Some(Alignment::Right) => (pad, 0),
                        Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                        _ => (0, pad),
                    };
                    line.push_cow(spaces(left), Style::default());
                    line.push_spans(spans);
                    // Trailing padding of the last column is not needed.
                    if c + 1 < ncols {
                        line.push_cow(spaces(right), Style::default());
                    }
                }
                let mut l = line.take();
                // The line fits by construction; keep the promise even if widths misbehave.
                let (fitted, _) = wrap::clip_spans(&l.spans, self.width);
                l.spans = fitted;
                self.out.push(l);
            }
            if r == 0 && table.has_header {
                let mut line = LineBuf::default();
                line.push_spans(&rest);
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                line.push(&rule.join("─┼─"), rule_style);
                self.out.push(line.take());
            }
        }
        self.consume_markers();
    }

    /// Too narrow for columns: each row becomes `header: value` lines.
    fn table_records(
        &mut self,
        table: &TableState,
        ncols: usize,
        first: &[Span<'static>],
        rest: &[Span<'static>],
    ) {
        let headers: Vec<Vec<Span<'static>>> = if table.has_header {
            table.rows.first().cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let body = if table.has_header {
            &table.rows[1.min(table.rows.len())..]
        } else {
            &table.rows[..]
        };
        let mut first_line = true;
        for (r, row) in body.iter().enumerate() {
            if r > 0 {
                let mut line = LineBuf::default();
                line.push_spans(rest);
                line.push("─", self.theme.rule);
                let mut l = line.take();
                l.spans = wrap::clip_spans(&l.spans, self.width).0;
                self.out.push(l);
            }
            for c in 0..ncols {
                let mut spans: Vec<Span<'static>> = Vec::new();
                if let Some(h) = headers.get(c) {
                    let style = self.theme.table_header;
                    spans.extend(h.iter().map(|s| Span::styled(s.content.clone(), style)));
                    spans.push(Span::styled(": ", self.theme.dim));
                }
                if let Some(cell) = row.get(c) {
                    spans.extend(cell.iter().cloned());
                }
                let p = if first_line { first } else { rest };
                first_line = false;
                wrap::wrap_into(&mut self.out, &spans, self.width, p, rest);
            }
        }
        if body.is_empty() && !headers.is_empty() {
            let mut spans = Vec::new();
            for (c, h) in headers.iter().enumerate() {
                if c > 0 {
                    spans.push(Span::styled(" │ ", self.theme.rule));
                }
                spans.extend(h.iter().cloned());
            }
            wrap::wrap_into(&mut self.out, &spans, self.width, first, rest);
        }
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

/// Column widths that fit `budget`: natural widths if they fit, else the widest columns are
/// capped (water-filling). `None` if fewer than 3 columns per cell would remain.
fn fit_columns(natural: &[usize], budget: usize) -> Option<Vec<usize>> {
    let total: usize = natural.iter().sum();
    if total <= budget {
        return Some(natural.to_vec());
    }
    let min = 3;
    if budget < natural.iter().map(|&w| w.min(min)).sum::<usize>() || budget < min * natural.len() {
        return None;
    }
    // Largest cap c with sum(min(w, c)) <= budget.
    let (mut lo, mut hi) = (min, natural.iter().copied().max().unwrap_or(min));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let sum: usize = natural.iter().map(|&w| w.min(mid)).sum();
        if sum <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut widths: Vec<usize> = natural.iter().map(|&w| w.min(lo)).collect();
    let mut left = budget - widths.iter().sum::<usize>();
    for (w, &n) in widths.iter_mut().zip(natural) {
        if left == 0 {
            break;
        }
        if *w < n {
            *w += 1;
            left -= 1;
        }
    }
    Some(widths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::wrap::tests::{cell_width, text_of};
    use proptest::prelude::*;

    fn render(text: &str, width: u16) -> Vec<Line<'static>> {
        render_markdown(text, width, &Theme::default())
    }

    fn texts(text: &str, width: u16) -> Vec<String> {
        render(text, width).iter().map(text_of).collect()
    }

    fn screen(text: &str, width: u16) -> String {
        texts(text, width)
            .iter()
            .map(|l| format!("|{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn find<'a>(lines: &'a [Line<'static>], needle: &str) -> &'a Span<'static> {
        lines
            .iter()
            .flat_map(|l| l.spans.iter())
            .find(|s| s.content.contains(needle))
            .unwrap_or_else(|| panic!("no span with {needle:?}"))
    }

    #[test]
    fn paragraphs_and_emphasis() {
        let theme = Theme::default();
        let lines = render("a *it* **bo** ~~st~~ `co`\n\nnext", 40);
        assert_eq!(
            lines.iter().map(text_of).collect::<Vec<_>>(),
            ["a it bo st co", "", "next"]
        );
        assert!(
            find(&lines, "it")
                .style
                .add_modifier
                .contains(Modifier::ITALIC)
        );
        assert!(
            find(&lines, "bo")
                .style
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert!(
            find(&lines, "st")
                .style
                .add_modifier
                .contains(Modifier::CROSSED_OUT)
        );
        assert_eq!(find(&lines, "co").style.bg, theme.inline_code.bg);
        assert_eq!(find(&lines, "a ").style.fg, theme.text.fg);
    }

    #[test]
    fn headings_show_level_and_style() {
        let theme = Theme::default();
        let lines = render("# One\n## Two\n### Three", 40);
        assert_eq!(
            lines.iter().map(text_of).collect::<Vec<_>>(),
            ["# One", "", "## Two", "", "### Three"]
        );
        let one = find(&lines, "One");
        assert_eq!(one.style.fg, theme.heading.fg);
        assert!(one.style.add_modifier.contains(Modifier::UNDERLINED));
        assert!(
            !find(&lines, "Two")
                .style
                .add_modifier
                .contains(Modifier::UNDERLINED)
        );
    }

    #[test]
    fn hard_and_soft_breaks() {
        assert_eq!(texts("one\ntwo", 40), ["one two"]);
        assert_eq!(texts("one  \ntwo", 40), ["one", "two"]);
        assert_eq!(texts("one\\\ntwo", 40), ["one", "two"]);
        assert_eq!(texts("a<br>b", 40), ["a", "b"]);
    }

    #[test]
    fn nested_lists_hang_their_indent() {
        let md = "- alpha beta gamma delta\n  - inner one two three\n    1. deep\n- last";
        assert_eq!(
            texts(md, 16),
            [
                "• alpha beta",
                "  gamma delta",
                "  ◦ inner one",
                "    two three",
                "    1. deep",
                "• last",
            ]
        );
        let lines = render(md, 16);
        assert_eq!(lines[0].spans[0].style, Theme::default().list_marker);
    }

    #[test]
    fn ordered_lists_keep_start_number_and_count_up() {
        assert_eq!(texts("7. a\n1. b\n1. c", 20), ["7. a", "8. b", "9. c"]);
        assert_eq!(texts("9. a\n10. b", 20), ["9. a", "10. b"]);
    }

    #[test]
    fn rich_items_are_spaced_simple_ones_are_not() {
        // Loose but simple: compact.
        assert_eq!(texts("- a\n\n- b", 20), ["• a", "• b"]);
        // An item with two paragraphs gets a blank line after it.
        assert_eq!(
            texts("1. a\n\n   more\n2. b", 20),
            ["1. a", "", "   more", "", "2. b"]
        );
        assert_eq!(
            texts("- [ ] todo\n- [x] done", 20),
            ["• [ ] todo", "• [x] done"]
        );
        assert_eq!(texts("-\n- b", 20), ["•", "• b"]);
    }

    #[test]
    fn block_quotes_have_bars_on_every_line() {
        let theme = Theme::default();
        let lines = render("> one two three four\n>\n> > deep", 12);
        assert_eq!(
            lines.iter().map(text_of).collect::<Vec<_>>(),
            ["│ one two", "│ three four", "│", "│ │ deep"]
        );
        assert_eq!(lines[0].spans[0].style.fg, theme.quote.fg);
        assert_eq!(
            find(&lines, "one").style.fg,
            theme.text.patch(theme.quote).fg
        );
    }

    #[test]
    fn links_show_dim_url_unless_it_is_the_text() {
        let theme = Theme::default();
        let lines = render(
            "[docs](https://d.rs) <https://a.b> [https://c.d](https://c.d)",
            80,
        );
        assert_eq!(
            text_of(&lines[0]),
            "docs (https://d.rs) https://a.b https://c.d"
        );
        assert_eq!(find(&lines, "docs").style.fg, theme.link.fg);
        assert!(
            find(&lines, "docs")
                .style
                .add_modifier
                .contains(Modifier::UNDERLINED)
        );
        assert_eq!(find(&lines, "(https://d.rs)").style.fg, theme.link_url.fg);
        assert_eq!(texts("![alt](i.png)", 40), ["[image: alt] (i.png)"]);
    }

    #[test]
    fn horizontal_rule_spans_the_width() {
        assert_eq!(texts("a\n\n---\n\nb", 5), ["a", "", "─────", "", "b"]);
        assert_eq!(texts("> ***", 5), ["│ ───"]);
    }

    #[test]
    fn code_blocks_have_numbered_headers_and_highlighting() {
        let theme = Theme::default();
        let md = "```rust\nfn main() {}\n```\n\ntext\n\n```\nplain\n```\n\n    indented\n";
        let lines = render(md, 30);
        let t: Vec<String> = lines.iter().map(text_of).collect();
        assert_eq!(t[0].trim_end(), " rust  #1");
        assert_eq!(t[1].trim_end(), " fn main() {}");
        assert_eq!(t[5].trim_end(), " code  #2");
        assert_eq!(t[6].trim_end(), " plain");
        assert_eq!(t[8].trim_end(), " code  #3");
        assert_eq!(t[9].trim_end(), " indented");
        for l in &lines {
            assert!(l.width() <= 30);
        }
        // code rows are padded to the width on the code background
        assert_eq!(lines[1].width(), 30);
        assert!(
            lines[1]
                .spans
                .iter()
                .all(|s| s.style.bg == Some(theme.code_bg))
        );
        // highlighted: more than one colour on the rust line
        let colours: std::collections::HashSet<_> =
            lines[1].spans.iter().map(|s| s.style.fg).collect();
        assert!(colours.len() > 1, "{:?}", lines[1]);
        assert_eq!(lines[0].spans[0].style.bg, theme.code_header.bg);
    }

    #[test]
    fn code_lines_are_hard_wrapped_with_a_marker() {
        let lines = render("```\nabcdefghij\n```", 6);
        let t: Vec<String> = lines.iter().map(text_of).collect();
        assert_eq!(t[1..], [" abcde", "↪fghij"]);
        assert_eq!(lines[2].spans[0].style.fg, Theme::default().dim.fg);
    }

    #[test]
    fn code_blocks_extracts_in_screen_order() {
        let md = "```rust,ignore\nfn a() {}\n```\n\n- item\n\n  ```py\n  x = 1\n  ```\n\npara\n\n    indented\n\n~~~ {.sh}\nls\n~~~\n";
        let blocks = code_blocks(md);
        assert_eq!(
            blocks,
            [
                CodeBlock {
                    lang: "rust".into(),
                    code: "fn a() {}".into()
                },
                CodeBlock {
                    lang: "py".into(),
                    code: "x = 1".into()
                },
                CodeBlock {
                    lang: String::new(),
                    code: "indented".into()
                },
                CodeBlock {
                    lang: "sh".into(),
                    code: "ls".into()
                },
            ]
        );
        let screen = texts(md, 40).join("\n");
        assert!(screen.contains("#4"));
        assert!(!screen.contains("#5"));
    }

    #[test]
    fn tables_align_by_display_width() {
        let md = "| a | 中文 |\n|---|---:|\n| xx | 1 |\n";
        let lines = render(md, 40);
        let t: Vec<String> = lines.iter().map(text_of).collect();
        assert_eq!(t, ["a  │ 中文", "───┼─────", "xx │    1"]);
        let theme = Theme::default();
        assert_eq!(lines[0].spans[0].content, "a");
        assert_eq!(lines[0].spans[0].style.fg, theme.table_header.fg);
        let widths: Vec<usize> = lines.iter().map(Line::width).collect();
        assert!(widths.iter().all(|&w| w == widths[0]));
    }

    #[test]
    fn narrow_tables_wrap_cells_then_fall_back_to_records() {
        let md = "| name | description |\n|---|---|\n| tern | a fast terminal chat client |\n";
        let t = texts(md, 22);
        assert_eq!(t[0], "name │ description");
        assert!(t.len() > 3, "{t:?}");
        for l in render(md, 22) {
            assert!(l.width() <= 22);
        }
        // far too narrow for two columns: header: value records
        assert_eq!(texts(md, 7)[..2], ["name:", "tern"]);
    }

    #[test]
    fn escapes_never_reach_spans() {
        let md = "a \u{1b}[31mred\u{1b}[0m &#27;[2J &#x9b;1m `\u{1b}]52;c;x\u{7}` ```\u{1b}[1m\n\n```x\u{1b}[1m\ny\u{7}\n```";
        for l in render(md, 30) {
            for s in &l.spans {
                assert!(!s.content.chars().any(char::is_control), "{:?}", s.content);
            }
        }
    }

    #[test]
    fn cjk_emoji_and_tabs_stay_within_width() {
        let md = "中文字符测试中文字符测试 emoji 👨‍👩‍👧‍👦👍🏽 and\ttabs\there\n\n> 日本語のテキスト\n\n- 한국어 텍스트 입니다\n";
        for width in 1..30u16 {
            for l in render(md, width) {
                assert!(cell_width(&l) <= usize::from(width), "{width}: {l:?}");
                assert!(l.width() <= usize::from(width), "{width}: {l:?}");
            }
        }
        assert_eq!(texts("a\tb", 20), ["a   b"]);
    }

    #[test]
    fn zero_width_and_empty_input() {
        assert!(render("# hi\n\ntext", 0).is_empty());
        assert!(render("", 40).is_empty());
        assert!(code_blocks("").is_empty());
    }

    #[test]
    fn plain_text_does_not_need_syntect() {
        // Only a smoke check of the path: no language, no lookup. (Whether syntect is loaded
        // is process-global, so other tests may already have loaded it.)
        let lines = render("```\nx\n```", 10);
        assert_eq!(text_of(&lines[1]).trim_end(), " x");
    }

    #[test]
    fn snapshot_sample_reply() {
        let doc = include_str!("../../assets/sample-reply.md");
        insta::assert_snapshot!("sample_reply_60", screen(doc, 60));
        insta::assert_snapshot!("sample_reply_24", screen(doc, 24));
    }

    #[test]
    fn snapshot_styles_of_a_small_reply() {
        let lines = render("## Hi\n\n**bold** and `code`\n\n> quote", 30);
        let dump: Vec<String> = lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| {
                        format!(
                            "[{}|{:?}|{:?}|{:?}]",
                            s.content, s.style.fg, s.style.bg, s.style.add_modifier
                        )
                    })
                    .collect::<String>()
            })
            .collect();
        insta::assert_snapshot!("styles_small", dump.join("\n"));
    }

    fn arb_markdown() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "\\PC{0,20}",
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just("# ".to_string()),
            Just("- ".to_string()),
            Just("1. ".to_string()),
            Just("> ".to_string()),
            Just("```".to_string()),
            Just("    ".to_string()),
            Just("| a | b |\n|---|---|\n".to_string()),
            Just("|".to_string()),
            Just("**".to_string()),
            Just("`".to_string()),
            Just("[x](y)".to_string()),
            Just("\t".to_string()),
            Just("中文".to_string()),
            Just("👨‍👩‍👧".to_string()),
            Just("\u{1b}[31m".to_string()),
            Just("&#27;".to_string()),
            Just("<br>".to_string()),
            Just("---".to_string()),
            Just("[ ] ".to_string()),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn any_input_any_width_fits_and_is_clean(md in arb_markdown(), width in 1u16..80) {
            let lines = render(&md, width);
            for l in &lines {
                prop_assert!(cell_width(l) <= usize::from(width), "{:?}", l);
                prop_assert!(l.width() <= usize::from(width), "{:?}", l);
                for s in &l.spans {
                    prop_assert!(!s.content.chars().any(char::is_control), "{:?}", s.content);
                }
            }
            let _ = code_blocks(&md);
        }

        #[test]
        fn arbitrary_strings_never_panic(md in "\\PC*", width in 0u16..200) {
            let _ = render(&md, width);
        }
    }
}
