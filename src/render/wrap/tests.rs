//! Tests of both wrappers, plus the helpers other render tests measure lines with.

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
