//! Display width, measured the way ratatui's buffer draws.
//!
//! One grapheme at a time with `unicode-width`, plus ratatui's half-width sound-mark rule, so
//! CJK and emoji line up and no line is ever wider than asked. Printable ASCII, the common
//! case, is measured by its length and never touches the grapheme segmenter.

use ratatui::text::Span;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

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

pub(super) fn is_plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Wide graphemes that are not emoji: CJK ideographs, kana, hangul, full-width forms. Lines may
/// break between two of them.
fn is_cjk(g: &str) -> bool {
    g.chars().next().is_some_and(|c| c < '\u{1f000}') && grapheme_width(g) == 2
}

/// Width and "contains CJK" of a word piece.
pub(super) fn measure(s: &str) -> (usize, bool) {
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
