//! Hard wrapping of code lines: rows cut at the width, never at words.
//!
//! Code must not be reflowed (indentation and alignment carry meaning), so a source line is
//! cut wherever the row is full and continues on the next row after `cont_indent` (the code
//! block's `↪` gutter). Tabs expand against the source line's own columns, not the row's, so a
//! wrapped line keeps its tab stops. ASCII text skips the grapheme segmenter: code is mostly
//! ASCII and this is the hot path of a long streaming code block.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

use super::width::{grapheme_width, is_plain_ascii};
use super::{LineBuf, TAB_WIDTH, TOO_WIDE, clean_pieces, fit_indent, spaces};

/// Hard-wraps one line of code (no word breaking) to `width`: the first row starts with
/// `first_indent`, continuation rows with `cont_indent`. Tabs expand against the start of the
/// source line. With `pad`, each row is filled to the full width with that style (code blocks
/// draw as a solid block). Returns how many rows were added.
pub(crate) fn wrap_hard_into(
    out: &mut Vec<Line<'static>>,
    spans: &[Span<'_>],
    width: usize,
    first_indent: &[Span<'static>],
    cont_indent: &[Span<'static>],
    pad: Option<Style>,
) -> usize {
    if width == 0 {
        return 0;
    }
    let (first, first_w) = fit_indent(first_indent, width);
    let (cont, cont_w) = fit_indent(cont_indent, width);
    let before = out.len();
    let mut rows = Rows {
        out,
        width,
        cont: &cont,
        cont_w,
        pad,
        line: LineBuf::default(),
        avail: width.saturating_sub(first_w).max(1),
        col: 0,
        src_col: 0,
    };
    rows.line.push_spans(&first);
    for (style, text) in spans.iter().flat_map(clean_pieces) {
        rows.push_piece(&text, style);
    }
    rows.finish_row();
    rows.out.len() - before
}

/// The rows of one source line being cut.
struct Rows<'o, 'p> {
    out: &'o mut Vec<Line<'static>>,
    width: usize,
    cont: &'p [Span<'static>],
    cont_w: usize,
    pad: Option<Style>,
    line: LineBuf,
    /// Content columns available on this row.
    avail: usize,
    /// Content columns used on this row.
    col: usize,
    /// Column in the source line, for tab stops.
    src_col: usize,
}

impl Rows<'_, '_> {
    fn finish_row(&mut self) {
        if let Some(style) = self.pad
            && self.col < self.avail
        {
            self.line.push_cow(spaces(self.avail - self.col), style);
        }
        self.out.push(self.line.take());
    }

    fn next_row(&mut self) {
        self.finish_row();
        self.line.push_spans(self.cont);
        self.avail = self.width.saturating_sub(self.cont_w).max(1);
        self.col = 0;
    }

    fn push_tab(&mut self, style: Style) {
        let mut tw = TAB_WIDTH - self.src_col % TAB_WIDTH;
        self.src_col += tw;
        while tw > 0 {
            if self.col == self.avail {
                self.next_row();
            }
            let n = tw.min(self.avail - self.col);
            self.line.push_cow(spaces(n), style);
            self.col += n;
            tw -= n;
        }
    }

    /// Pushes one clean piece of text, cutting rows where it does not fit. Runs of graphemes
    /// that fit are pushed as one slice.
    fn push_piece(&mut self, text: &str, style: Style) {
        let mut run_start = 0;
        let mut pos = 0;
        let ascii = is_plain_ascii(text);
        let mut ascii_iter;
        let mut uni_iter;
        let graphemes: &mut dyn Iterator<Item = &str> = if ascii {
            ascii_iter = (0..text.len()).map(|i| &text[i..i + 1]);
            &mut ascii_iter
        } else {
            uni_iter = text.graphemes(true);
            &mut uni_iter
        };
        for g in graphemes {
            if g == "\n" || g == "\r\n" || g == "\t" {
                self.line.push(&text[run_start..pos], style);
                if g == "\t" {
                    self.push_tab(style);
                }
                pos += g.len();
                run_start = pos;
                continue;
            }
            let gw = if ascii { 1 } else { grapheme_width(g) };
            if gw > 0 && self.col + gw > self.avail {
                self.line.push(&text[run_start..pos], style);
                self.next_row();
                run_start = pos;
                if gw > self.avail {
                    self.line.push(TOO_WIDE, style);
                    self.col += 1;
                    self.src_col += gw;
                    pos += g.len();
                    run_start = pos;
                    continue;
                }
            }
            self.col += gw;
            self.src_col += gw;
            pos += g.len();
        }
        self.line.push(&text[run_start..pos], style);
    }
}
