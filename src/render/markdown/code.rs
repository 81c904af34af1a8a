//! Code blocks: collection, numbering, the header line, hard-wrapped highlighted rows, and the
//! [`code_blocks`] extraction that copies what the screen shows.
//!
//! - **Numbered 1.. in document order** (fenced and indented, nested or not); [`code_blocks`]
//!   uses the same numbering so "copy block 2" matches what is on screen. The header shows the
//!   language and the number.
//! - **Hard-wrapped, not word-wrapped:** nothing is hidden, and continuation rows start with a
//!   dim `↪` in the gutter (the first row has a blank gutter) so a wrapped line is visibly one
//!   source line. Rows are padded with `code_bg` so the block reads as a block.
//! - **Collected whole, then highlighted.** Text events inside a block are gathered raw until
//!   the block ends ([`Renderer::code_takes`]); a top-level fenced block that is still
//!   streaming reports how many of its rows are final ([`CodeProgress`]), and a resumed render
//!   skips the rows already shown (`Ctx::code_skip`).

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use ratatui::style::Modifier;
use ratatui::text::Span;

use super::renderer::Renderer;
use super::{CodeProgress, options};
use crate::render::highlight;
use crate::render::wrap::{self, LineBuf, spaces};

/// A code block of a message, as the user would copy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The fence's language (first word of the info string), or empty.
    pub lang: String,
    /// The code, without the final newline.
    pub code: String,
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

pub(super) struct CodeState {
    lang: String,
    text: String,
    /// Lines already rendered before this text (header included).
    skip: Option<usize>,
    /// A top-level fenced block: report its progress.
    track: bool,
}

impl Renderer<'_, '_> {
    pub(super) fn start_code(&mut self, kind: &CodeBlockKind<'_>, offset: usize) {
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
            lang: fence_lang(kind),
            text: String::new(),
            skip,
            track,
        });
    }

    /// Inside a code block, text is collected raw and everything but its end is ignored.
    /// Returns whether `event` was taken.
    pub(super) fn code_takes(&mut self, event: &Event<'_>) -> bool {
        let Some(code) = self.code.as_mut() else {
            return false;
        };
        match event {
            Event::Text(t) => {
                code.text.push_str(t);
                true
            }
            Event::End(TagEnd::CodeBlock) => false,
            _ => true,
        }
    }

    pub(super) fn end_code(&mut self) {
        if let Some(code) = self.code.take() {
            self.code_block(&code);
        }
    }

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
}
