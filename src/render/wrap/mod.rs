//! Word wrapping of styled spans by display width.
//!
//! Why a hand-written wrapper instead of `textwrap` plus re-mapping spans onto its output, or
//! ratatui's `Paragraph::wrap`:
//! - the chat pane pre-wraps every message once into owned `Line<'static>`s and caches them
//!   (a frame only slices them), so the wrapper must produce lines, hanging indents (list
//!   markers, quote bars, code gutters) and styles in one pass;
//! - it measures exactly what ratatui's buffer draws: one grapheme at a time with
//!   `unicode-width` (plus ratatui's half-width sound-mark rule), so CJK and emoji line up and no
//!   line is ever wider than asked;
//! - the common case (ASCII words) never touches the grapheme segmenter, and each output line
//!   merges adjacent same-style text into one span, which keeps allocation low.
//!
//! Rules: words break at spaces and tabs; a word longer than the line is broken at grapheme
//! boundaries; a run of CJK (wide, non-emoji) text may break between any two graphemes, so it
//! fills the line instead of jumping to the next one; spaces at a soft break are dropped, spaces
//! after a hard break (`\n`) are kept; tabs expand to the next multiple of [`TAB_WIDTH`] columns
//! counted from the start of the line's content (after the indent); control characters never
//! reach the output, and bidi or invisible characters become dim `⟨U+XXXX⟩` markers (the one
//! place the TUI lays such text out, so every transcript line gets them). A grapheme wider
//! than the whole line (a CJK character at width 1) is drawn as `…` so the width promise
//! holds. Indents wider than the line are clipped so at least one column is left for content.
//! Width 0 yields no lines.
//!
//! Files: `width.rs` measures; `words.rs` word-wraps prose ([`wrap_spans`] and the rest);
//! `hard.rs` cuts code lines into rows (the code blocks' wrapper); this file holds what both
//! share (the line buffer, indents, the clean pieces of a span).

mod hard;
#[cfg(test)]
pub(crate) mod tests;
mod width;
mod words;

use std::borrow::Cow;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

pub(crate) use hard::wrap_hard_into;
pub(crate) use width::spans_width;
pub use width::{display_width, grapheme_width};
pub(crate) use words::wrap_into;

/// Tab stops are every this many columns.
pub const TAB_WIDTH: usize = 4;

/// Drawn instead of a grapheme that is wider than the whole line.
const TOO_WIDE: &str = "…";

const SPACES: &str = "                                                                                                                                ";

/// `n` spaces, borrowed when short enough (no allocation).
pub(crate) fn spaces(n: usize) -> Cow<'static, str> {
    if n <= SPACES.len() {
        Cow::Borrowed(&SPACES[..n])
    } else {
        Cow::Owned(" ".repeat(n))
    }
}

/// A span's text without controls, with a dim `⟨U+XXXX⟩` piece for each bidi or invisible
/// character (see [`crate::sanitize::layout_pieces`]).
fn clean_pieces<'a>(span: &'a Span<'_>) -> impl Iterator<Item = (Style, Cow<'a, str>)> {
    crate::sanitize::layout_pieces(&span.content)
        .into_iter()
        .map(|(text, marker)| {
            let style = if marker {
                span.style.add_modifier(Modifier::DIM)
            } else {
                span.style
            };
            (style, text)
        })
}

/// Accumulates one output line, merging adjacent spans of equal style.
#[derive(Default)]
pub(crate) struct LineBuf {
    spans: Vec<Span<'static>>,
}

impl LineBuf {
    pub(crate) fn push(&mut self, s: &str, style: Style) {
        if s.is_empty() {
            return;
        }
        if let Some(last) = self.spans.last_mut()
            && last.style == style
        {
            last.content.to_mut().push_str(s);
            return;
        }
        self.spans.push(Span::styled(s.to_owned(), style));
    }

    /// Pushes a span that may stay borrowed (`'static` prefixes, padding).
    pub(crate) fn push_cow(&mut self, s: Cow<'static, str>, style: Style) {
        if s.is_empty() {
            return;
        }
        if let Some(last) = self.spans.last_mut()
            && last.style == style
            && matches!(last.content, Cow::Owned(_))
        {
            last.content.to_mut().push_str(&s);
            return;
        }
        self.spans.push(Span::styled(s, style));
    }

    pub(crate) fn push_spans(&mut self, spans: &[Span<'static>]) {
        for s in spans {
            self.push_cow(s.content.clone(), s.style);
        }
    }

    pub(crate) fn take(&mut self) -> Line<'static> {
        Line::from(std::mem::take(&mut self.spans))
    }
}

/// Clips `prefix` to at most `max` columns.
pub(crate) fn clip_spans(prefix: &[Span<'static>], max: usize) -> (Vec<Span<'static>>, usize) {
    let mut out = Vec::new();
    let mut w = 0;
    for span in prefix {
        let mut kept = String::new();
        for g in span.content.graphemes(true) {
            let gw = grapheme_width(g);
            if w + gw > max {
                break;
            }
            w += gw;
            kept.push_str(g);
        }
        if !kept.is_empty() {
            out.push(Span::styled(kept, span.style));
        }
        if w >= max {
            break;
        }
    }
    (out, w)
}

/// An indent that fits a line of `width`, leaving at least one column for content.
pub(crate) fn fit_indent<'a>(
    prefix: &'a [Span<'static>],
    width: usize,
) -> (Cow<'a, [Span<'static>]>, usize) {
    let w = spans_width(prefix);
    if w < width {
        (Cow::Borrowed(prefix), w)
    } else {
        let (clipped, w) = clip_spans(prefix, width.saturating_sub(1));
        (Cow::Owned(clipped), w)
    }
}

/// Word-wraps `spans` to `width` columns with no indent.
pub fn wrap_spans(spans: &[Span<'_>], width: u16) -> Vec<Line<'static>> {
    wrap_spans_indented(spans, width, &[], &[])
}

/// Word-wraps `spans` to `width` columns; the first output line starts with `first_indent`,
/// the others with `subsequent_indent` (hanging indents for list items and quotes).
pub fn wrap_spans_indented(
    spans: &[Span<'_>],
    width: u16,
    first_indent: &[Span<'static>],
    subsequent_indent: &[Span<'static>],
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    wrap_into(
        &mut out,
        spans,
        usize::from(width),
        first_indent,
        subsequent_indent,
    );
    out
}
