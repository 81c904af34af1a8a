//! Markdown → pre-wrapped, themed `Line<'static>`s.
//!
//! Why it is shaped this way:
//! - **A stack machine over pulldown-cmark events** (`renderer.rs`). `levels` holds the
//!   containers (root, block quotes, list items) and gives every output line its indent (quote
//!   bars, list markers, hanging indents); `styles` holds the inline style; `lists` the
//!   numbering. Output is wrapped at `width` as it is produced, so the chat pane only slices
//!   cached lines.
//! - **One file per block kind.** The renderer only dispatches events; each kind opens, fills
//!   and closes its block in its own file: `blocks.rs` (paragraphs, headings, rules, HTML and
//!   other text blocks), `quote.rs`, `list.rs`, `code.rs`, `table.rs`, and `inline.rs` for the
//!   text inside them. Supporting a new construct means a new arm in the dispatch and one file.
//! - **Separation rules depend only on what came before.** A blank line separates blocks
//!   (except before a nested list inside an item); between list items there is a blank line only
//!   when the previous item held more than one non-list block. CommonMark's tight/loose
//!   distinction is ignored on purpose: it can change when a later item arrives, and then lines
//!   already shown would change. This is what lets [`super::stream::MarkdownStream`] keep the
//!   lines of completed top-level blocks (and completed top-level list items) and re-render only
//!   the tail; `render_with` reports where each top-level unit starts (source offset, output
//!   line, and the context needed to render from there on) for exactly that purpose.
//! - **Model text is data:** every piece of text goes through [`crate::sanitize::strip_controls`]
//!   after parsing, since entities like `&#27;` decode to control characters; the wrapper then
//!   shows bidi and invisible characters as dim `⟨U+XXXX⟩` markers.

mod blocks;
mod code;
mod inline;
mod list;
mod quote;
mod renderer;
mod table;
#[cfg(test)]
mod tests;

use pulldown_cmark::{Options, Parser};
use ratatui::text::Line;

use super::highlight::HighlightCache;
use super::theme::Theme;
use renderer::Renderer;

pub use code::{CodeBlock, code_blocks};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders markdown `text` into lines at most `width` columns wide.
pub fn render_markdown(text: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let text = crate::sanitize::strip_controls(text);
    render_with(&text, usize::from(width), theme, &Ctx::default(), None).lines
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
