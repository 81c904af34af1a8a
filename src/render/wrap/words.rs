//! Word wrapping: words break at spaces and tabs, long words and CJK runs at graphemes.
//!
//! [`wrap_into`] splits the clean text into words and whitespace in one pass over the bytes;
//! a [`Wrapper`] places each word on the current line or the next, and breaks a word only when
//! it is wider than a line or is CJK text (which may break between any two graphemes, so it
//! fills the line instead of jumping to the next one). Spaces at a soft break are dropped,
//! spaces after a hard break (`\n`) are kept, and tabs count from the start of the line's
//! content, after the indent.

use std::borrow::Cow;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

use super::width::{grapheme_width, measure};
use super::{LineBuf, TAB_WIDTH, TOO_WIDE, clean_pieces, fit_indent, spaces};

/// Like [`super::wrap_spans_indented`], appending to `out`. Returns how many lines were added.
pub(crate) fn wrap_into(
    out: &mut Vec<Line<'static>>,
    spans: &[Span<'_>],
    width: usize,
    first_indent: &[Span<'static>],
    subsequent_indent: &[Span<'static>],
) -> usize {
    if width == 0 {
        return 0;
    }
    let clean: Vec<(Style, Cow<'_, str>)> = spans.iter().flat_map(clean_pieces).collect();
    let (first, first_w) = fit_indent(first_indent, width);
    let (rest, rest_w) = fit_indent(subsequent_indent, width);
    let before = out.len();
    let mut w = Wrapper {
        out,
        width,
        first: &first,
        first_w,
        rest: &rest,
        rest_w,
        line: LineBuf::default(),
        open: false,
        col: 0,
        avail: 0,
        on_first: true,
        ws: Vec::new(),
        word: Vec::new(),
        word_w: 0,
        word_cjk: false,
    };
    for (style, text) in &clean {
        let mut rest_text: &str = text;
        while !rest_text.is_empty() {
            let cut = rest_text
                .bytes()
                .position(|b| matches!(b, b' ' | b'\t' | b'\n'))
                .unwrap_or(rest_text.len());
            if cut > 0 {
                let piece = &rest_text[..cut];
                let (pw, cjk) = measure(piece);
                w.word.push((*style, piece));
                w.word_w += pw;
                w.word_cjk |= cjk;
            }
            if let Some(&sep) = rest_text.as_bytes().get(cut) {
                w.flush_word();
                match sep {
                    b'\n' => w.hard_break(),
                    b'\t' => w.ws.push((*style, true)),
                    _ => w.ws.push((*style, false)),
                }
                rest_text = &rest_text[cut + 1..];
            } else {
                rest_text = "";
            }
        }
    }
    w.flush_word();
    if w.open {
        w.end_line();
    }
    out.len() - before
}

struct Wrapper<'o, 'p, 's> {
    out: &'o mut Vec<Line<'static>>,
    width: usize,
    first: &'p [Span<'static>],
    first_w: usize,
    rest: &'p [Span<'static>],
    rest_w: usize,
    line: LineBuf,
    /// The current line has its indent and may take content.
    open: bool,
    /// Content columns used on the current line (after the indent).
    col: usize,
    /// Content columns available on the current line.
    avail: usize,
    on_first: bool,
    /// Pending whitespace before the next word: (style, is_tab).
    ws: Vec<(Style, bool)>,
    /// The word being collected, as styled pieces.
    word: Vec<(Style, &'s str)>,
    word_w: usize,
    word_cjk: bool,
}

impl Wrapper<'_, '_, '_> {
    fn start_line(&mut self) {
        let (prefix, pw) = if self.on_first {
            (self.first, self.first_w)
        } else {
            (self.rest, self.rest_w)
        };
        self.line.push_spans(prefix);
        self.avail = self.width.saturating_sub(pw).max(1);
        self.col = 0;
        self.open = true;
    }

    fn end_line(&mut self) {
        self.out.push(self.line.take());
        self.open = false;
        self.on_first = false;
    }

    /// Ends the current line because it is full; the next starts without the pending spaces.
    fn soft_break(&mut self) {
        self.end_line();
        self.ws.clear();
        self.start_line();
    }

    fn hard_break(&mut self) {
        if !self.open {
            self.start_line();
        }
        self.end_line();
        self.ws.clear();
    }

    /// Width the pending whitespace would take at the current column.
    fn ws_width(&self) -> usize {
        let mut c = self.col;
        for &(_, tab) in &self.ws {
            c += if tab { TAB_WIDTH - c % TAB_WIDTH } else { 1 };
        }
        c - self.col
    }

    /// Emits pending whitespace, never past the end of the line.
    fn emit_ws(&mut self) {
        let ws = std::mem::take(&mut self.ws);
        for (style, tab) in ws {
            let w = if tab {
                TAB_WIDTH - self.col % TAB_WIDTH
            } else {
                1
            };
            let w = w.min(self.avail.saturating_sub(self.col));
            if w == 0 {
                break;
            }
            self.line.push_cow(spaces(w), style);
            self.col += w;
        }
    }

    fn flush_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        if !self.open {
            self.start_line();
        }
        let ws_w = self.ws_width();
        if self.col + ws_w + self.word_w <= self.avail {
            self.emit_ws();
            let word = std::mem::take(&mut self.word);
            for &(style, piece) in &word {
                self.line.push(piece, style);
            }
            self.col += self.word_w;
            self.word = word;
        } else if self.col > 0 && self.word_w <= self.avail && !self.word_cjk {
            self.soft_break();
            let word = std::mem::take(&mut self.word);
            for &(style, piece) in &word {
                self.line.push(piece, style);
            }
            self.col += self.word_w;
            self.word = word;
        } else {
            // Break the word at grapheme boundaries, filling the current line first.
            if self.col + ws_w < self.avail {
                self.emit_ws();
            } else if self.col > 0 {
                self.soft_break();
            }
            self.ws.clear();
            let word = std::mem::take(&mut self.word);
            for &(style, piece) in &word {
                self.emit_broken(piece, style);
            }
            self.word = word;
        }
        self.word.clear();
        self.word_w = 0;
        self.word_cjk = false;
    }

    fn emit_broken(&mut self, piece: &str, style: Style) {
        let mut run_start = 0;
        let mut pos = 0;
        for g in piece.graphemes(true) {
            let gw = grapheme_width(g);
            if gw > 0 && self.col + gw > self.avail {
                self.line.push(&piece[run_start..pos], style);
                if self.col > 0 {
                    self.soft_break();
                }
                run_start = pos;
                if gw > self.avail {
                    self.line.push(TOO_WIDE, style);
                    self.col += 1;
                    pos += g.len();
                    run_start = pos;
                    continue;
                }
            }
            self.col += gw;
            pos += g.len();
        }
        self.line.push(&piece[run_start..pos], style);
    }
}
