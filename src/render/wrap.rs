//! Word wrapping of styled spans by display width.
//!
//! Why a hand-written wrapper instead of `textwrap` + span re-mapping (codex `wrapping.rs`) or
//! ratatui's `Paragraph::wrap`:
//! - the chat pane pre-wraps every message once into owned `Line<'static>`s and caches them
//!   (DESIGN §5, STYLE-ANCHORS §4 "approach B"), so the wrapper must produce lines, hanging
//!   indents (list markers, quote bars, code gutters) and styles in one pass;
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
//! place the TUI lays such text out, so every transcript line gets them). A grapheme wider than the whole line (a CJK character at width 1) is drawn
//! as `…` so the width promise holds. Indents wider than the line are clipped so at least one
//! column is left for content. Width 0 yields no lines.

use std::borrow::Cow;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

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

/// Display width of one grapheme cluster, the way ratatui's buffer measures it
/// (control characters count 0: they are never drawn).
pub fn grapheme_width(g: &str) -> usize {
    let bytes = g.as_bytes();
    if bytes.len() == 1 {
        return usize::from((0x20..0x7f).contains(&bytes[0]));
    }
    if g.chars().any(char::is_control) {
        return 0;
    }
    // ratatui counts half-width (han)dakuten as one cell each; unicode-width says 0.
    let marks = g
        .chars()
        .filter(|c| matches!(c, '\u{ff9e}' | '\u{ff9f}'))
        .count();
    g.width() + marks
}

/// Display width of `s` (no tabs or newlines expected: they count 0).
pub fn display_width(s: &str) -> usize {
    if is_plain_ascii(s) {
        return s.len();
    }
    s.graphemes(true).map(grapheme_width).sum()
}

fn is_plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Wide graphemes that are not emoji: CJK ideographs, kana, hangul, full-width forms. Lines may
/// break between two of them.
fn is_cjk(g: &str) -> bool {
    g.chars().next().is_some_and(|c| c < '\u{1f000}') && grapheme_width(g) == 2
}

/// Width and "contains CJK" of a word piece.
fn measure(s: &str) -> (usize, bool) {
    if is_plain_ascii(s) {
        return (s.len(), false);
    }
    let mut w = 0;
    let mut cjk = false;
    for g in s.graphemes(true) {
        let gw = grapheme_width(g);
        cjk |= gw == 2 && is_cjk(g);
        w += gw;
    }
    (w, cjk)
}

/// Total display width of `spans`.
pub(crate) fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| display_width(&s.content)).sum()
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

/// Like [`wrap_spans_indented`], appending to `out`. Returns how many lines were added.
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
    let mut line = LineBuf::default();
    line.push_spans(&first);
    let mut avail = width.saturating_sub(first_w).max(1);
    let mut col = 0; // on this row
    let mut src_col = 0; // in the source line, for tab stops
    let finish_row =
        |line: &mut LineBuf, col: usize, avail: usize, out: &mut Vec<Line<'static>>| {
            if let Some(style) = pad
                && col < avail
            {
                line.push_cow(spaces(avail - col), style);
            }
            out.push(line.take());
        };
    for (style, text) in spans.iter().flat_map(clean_pieces) {
        let mut run_start = 0;
        let mut pos = 0;
        let ascii = is_plain_ascii(&text);
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
            if g == "\n" || g == "\r\n" {
                line.push(&text[run_start..pos], style);
                pos += g.len();
                run_start = pos;
                continue;
            }
            if g == "\t" {
                line.push(&text[run_start..pos], style);
                let mut tw = TAB_WIDTH - src_col % TAB_WIDTH;
                src_col += tw;
                while tw > 0 {
                    if col == avail {
                        finish_row(&mut line, col, avail, out);
                        line.push_spans(&cont);
                        avail = width.saturating_sub(cont_w).max(1);
                        col = 0;
                    }
                    let n = tw.min(avail - col);
                    line.push_cow(spaces(n), style);
                    col += n;
                    tw -= n;
                }
                pos += 1;
                run_start = pos;
                continue;
            }
            let gw = if ascii { 1 } else { grapheme_width(g) };
            if gw > 0 && col + gw > avail {
                line.push(&text[run_start..pos], style);
                finish_row(&mut line, col, avail, out);
                line.push_spans(&cont);
                avail = width.saturating_sub(cont_w).max(1);
                col = 0;
                run_start = pos;
                if gw > avail {
                    line.push(TOO_WIDE, style);
                    col += 1;
                    src_col += gw;
                    pos += g.len();
                    run_start = pos;
                    continue;
                }
            }
            col += gw;
            src_col += gw;
            pos += g.len();
        }
        line.push(&text[run_start..pos], style);
    }
    finish_row(&mut line, col, avail, out);
    out.len() - before
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::style::{Color, Modifier};

    pub(crate) fn text_of(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(text_of).collect()
    }

    /// Width as ratatui's buffer draws it (sum of grapheme widths).
    pub(crate) fn cell_width(line: &Line<'_>) -> usize {
        line.spans.iter().map(|s| display_width(&s.content)).sum()
    }

    #[test]
    fn wraps_words_and_drops_spaces_at_breaks() {
        let lines = wrap_spans(&[Span::raw("the quick brown fox jumps")], 10);
        assert_eq!(texts(&lines), ["the quick", "brown fox", "jumps"]);
    }

    #[test]
    fn keeps_styles_across_breaks_and_merges_same_style() {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let spans = [
            Span::raw("aa "),
            Span::styled("bb cc", bold),
            Span::raw(" dd"),
        ];
        let lines = wrap_spans(&spans, 5);
        assert_eq!(texts(&lines), ["aa bb", "cc dd"]);
        assert_eq!(lines[0].spans[1].content, "bb");
        assert_eq!(lines[0].spans[1].style, bold);
        assert_eq!(lines[1].spans[0].style, bold);
        assert_eq!(lines[1].spans[0].content, "cc");
        // a word made of two styles stays one word
        let spans = [Span::raw("x "), Span::styled("ab", bold), Span::raw("cd")];
        assert_eq!(texts(&wrap_spans(&spans, 4)), ["x", "abcd"]);
    }

    #[test]
    fn breaks_long_words_at_graphemes() {
        let lines = wrap_spans(&[Span::raw("ab abcdefghij")], 4);
        assert_eq!(texts(&lines), ["ab a", "bcde", "fghi", "j"]);
        let lines = wrap_spans(&[Span::raw("e\u{301}e\u{301}e\u{301}")], 2);
        assert_eq!(texts(&lines), ["e\u{301}e\u{301}", "e\u{301}"]);
    }

    #[test]
    fn cjk_and_emoji_by_display_width() {
        let lines = wrap_spans(&[Span::raw("中文字符测试")], 5);
        assert_eq!(texts(&lines), ["中文", "字符", "测试"]);
        for l in &lines {
            assert!(l.width() <= 5);
        }
        // CJK fills the line after latin text rather than jumping to the next one.
        let lines = wrap_spans(&[Span::raw("ab 中文字")], 6);
        assert_eq!(texts(&lines), ["ab 中", "文字"]);
        let lines = wrap_spans(&[Span::raw("hi 👋👋 there")], 6);
        assert_eq!(texts(&lines), ["hi", "👋👋", "there"]);
        let family = "👨\u{200d}👩\u{200d}👧";
        let lines = wrap_spans(&[Span::raw(format!("{family}{family}{family}"))], 4);
        assert_eq!(lines.len(), 2);
        for l in &lines {
            assert!(cell_width(l) <= 4);
        }
    }

    #[test]
    fn wide_grapheme_at_width_one_is_replaced() {
        let lines = wrap_spans(&[Span::raw("中a")], 1);
        assert_eq!(texts(&lines), ["…", "a"]);
    }

    #[test]
    fn tabs_expand_to_stops() {
        let lines = wrap_spans(&[Span::raw("a\tb\tcd\te")], 40);
        assert_eq!(texts(&lines), ["a   b   cd  e"]);
        // after a hard break leading whitespace is kept
        let lines = wrap_spans(&[Span::raw("x\n\ty")], 40);
        assert_eq!(texts(&lines), ["x", "    y"]);
        // tabs count from the content start, not the indent
        let ind = [Span::raw("> ")];
        let lines = wrap_spans_indented(&[Span::raw("a\tb")], 40, &ind, &ind);
        assert_eq!(texts(&lines), ["> a   b"]);
    }

    #[test]
    fn hard_breaks_and_blank_lines() {
        let lines = wrap_spans(&[Span::raw("a\n\nb\n")], 10);
        assert_eq!(texts(&lines), ["a", "", "b"]);
        assert!(wrap_spans(&[Span::raw("")], 10).is_empty());
    }

    #[test]
    fn hanging_indent() {
        let first = [Span::styled("1. ", Style::default().fg(Color::Cyan))];
        let rest = [Span::raw("   ")];
        let lines = wrap_spans_indented(&[Span::raw("one two three four")], 10, &first, &rest);
        assert_eq!(texts(&lines), ["1. one two", "   three", "   four"]);
        assert_eq!(lines[0].spans[0].style.fg, Some(Color::Cyan));
    }

    #[test]
    fn indent_wider_than_line_is_clipped() {
        let ind = [Span::raw("│ │ │ │ ")];
        let lines = wrap_spans_indented(&[Span::raw("abc")], 3, &ind, &ind);
        assert_eq!(texts(&lines), ["│ a", "│ b", "│ c"]);
    }

    #[test]
    fn zero_width_makes_no_lines() {
        assert!(wrap_spans(&[Span::raw("abc")], 0).is_empty());
        let mut out = Vec::new();
        assert_eq!(
            wrap_hard_into(&mut out, &[Span::raw("abc")], 0, &[], &[], None),
            0
        );
    }

    #[test]
    fn controls_never_reach_output() {
        let lines = wrap_spans(&[Span::raw("a\u{1b}[31mred\r\u{7} b")], 20);
        assert_eq!(texts(&lines), ["ared b"]);
    }

    #[test]
    fn hard_wrap_code() {
        let mut out = Vec::new();
        let cont = [Span::raw("↪")];
        let first = [Span::raw(" ")];
        wrap_hard_into(
            &mut out,
            &[Span::raw("abcdefgh")],
            4,
            &first,
            &cont,
            Some(Style::default()),
        );
        assert_eq!(texts(&out), [" abc", "↪def", "↪gh "]);
        out.clear();
        wrap_hard_into(&mut out, &[Span::raw("\tx")], 8, &[], &[], None);
        assert_eq!(texts(&out), ["    x"]);
        out.clear();
        wrap_hard_into(
            &mut out,
            &[Span::raw("中中中")],
            5,
            &[],
            &[],
            Some(Style::default()),
        );
        assert_eq!(texts(&out), ["中中 ", "中   "]);
    }

    proptest! {
        #[test]
        fn never_wider_than_width(
            s in "(\\PC|[\\t\\n \u{4e00}-\u{4e10}\u{1f600}-\u{1f610}\u{301}\u{200d}]){0,120}",
            width in 1u16..30,
            indent in 0usize..6,
        ) {
            let ind = [Span::raw("▎".repeat(indent))];
            let lines = wrap_spans_indented(&[Span::raw(s.clone())], width, &ind, &ind);
            for l in &lines {
                prop_assert!(cell_width(l) <= width as usize, "{:?}", l);
                prop_assert!(l.width() <= width as usize, "{:?}", l);
            }
            let mut out = Vec::new();
            wrap_hard_into(&mut out, &[Span::raw(s)], width as usize, &ind, &ind, Some(Style::default()));
            for l in &out {
                prop_assert!(cell_width(l) <= width as usize, "{:?}", l);
                prop_assert!(l.width() <= width as usize, "{:?}", l);
            }
        }

        #[test]
        fn no_text_is_lost(words in proptest::collection::vec("[a-z]{1,12}", 0..30), width in 1u16..20) {
            let s = words.join(" ");
            let lines = wrap_spans(&[Span::raw(s.clone())], width);
            let joined: String = lines.iter().map(text_of).collect::<Vec<_>>().concat();
            prop_assert_eq!(joined.replace(' ', ""), s.replace(' ', ""));
        }
    }
}
