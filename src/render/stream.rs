//! Incremental rendering of a reply that is still arriving.
//!
//! Why it is shaped this way: re-rendering a 50 KB reply on every delta costs milliseconds and
//! grows with the reply; the lines of a markdown block that is finished never change again. So
//! [`MarkdownStream`] keeps two parts:
//! - **stable** lines: the rendered top-level units (blocks, or items of a top-level list) that
//!   are complete, never touched again until the width or theme changes;
//! - **tail** lines: the rest, re-rendered from its source on the next [`MarkdownStream::lines`]
//!   call after a [`MarkdownStream::push`] (so a burst of deltas costs one render per frame).
//!
//! When is a unit complete? Not "after a blank line" (a blank line inside a fenced code block,
//! a list item or an HTML block does not end anything), but when the parser has seen the *next*
//! top-level unit start on a line that is itself complete. Block structure in CommonMark is
//! decided line by line, so once that line is complete no later text can pull it back into the
//! previous unit (setext underlines and table delimiter rows only change the unit they belong
//! to). The tail is parsed on its own, starting from a context recorded at the boundary (code
//! block numbering, whether a block precedes it, and how to continue a top-level list), and the
//! renderer's separation rules depend only on what came before (see `markdown`), so
//! `stable ++ tail` always equals `render_markdown(text)`; a property test checks this at every
//! step with random split points.
//!
//! Three more details:
//! - a top-level fenced code block that is still arriving commits its header and every
//!   complete line (a code line's rows never change once its newline is there); the tail is then
//!   re-parsed from the fence with a context that skips the lines already shown, so only the unfinished line is laid out
//!   again, and the syntect state for the block is kept in a [`HighlightCache`], so each code
//!   line is highlighted once, when it completes;
//! - link reference definitions (`[x]: url`) act on the whole document, so once one appears the
//!   stream stops committing and renders everything as tail (correct, just slower, and rare in
//!   model output);
//! - text is sanitized as it is pushed, with a streaming [`Sanitizer`], so an escape sequence
//!   split across two deltas is still removed whole (invisible characters are kept for the
//!   wrapper, which shows them as dim markers).

use ratatui::text::Line;

use super::highlight::HighlightCache;
use super::markdown::{Ctx, render_with};
use super::theme::Theme;
use crate::sanitize::Sanitizer;

/// Markdown of a streaming reply, rendered incrementally. See the module docs.
#[derive(Debug, Default)]
pub struct MarkdownStream {
    /// Sanitized source received so far.
    text: String,
    sanitizer: Sanitizer,
    stable: Vec<Line<'static>>,
    /// Bytes of `text` covered by `stable`.
    stable_src: usize,
    /// Context for rendering `text[stable_src..]`.
    stable_ctx: Ctx,
    tail: Vec<Line<'static>>,
    /// `tail` no longer matches `text`.
    dirty: bool,
    /// (width, theme id) the lines were rendered for.
    key: Option<(u16, u64)>,
    /// Reference definitions seen: render everything as tail.
    no_commit: bool,
    cache: HighlightCache,
}

impl MarkdownStream {
    pub fn new() -> Self {
        MarkdownStream {
            // Invisible characters stay in `text`; the wrapper marks them in a dim style.
            sanitizer: Sanitizer::for_layout(),
            ..Self::default()
        }
    }

    /// A stream that already holds `text` (e.g. a partial reply restored from disk).
    pub fn with_text(text: &str) -> Self {
        let mut s = Self::new();
        s.push(text);
        s
    }

    /// Appends a delta of the reply. Control characters and escape sequences are removed here
    /// (also when a sequence is split across deltas).
    pub fn push(&mut self, delta: &str) {
        if delta.is_empty() {
            return;
        }
        let before = self.text.len();
        self.sanitizer.push(delta, &mut self.text);
        if self.text.len() != before {
            self.dirty = true;
        }
    }

    /// The (sanitized) text received so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Forgets everything (a regenerated reply).
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Rendered lines at `width` with `theme`: `(stable, tail)`. `stable` only grows between
    /// calls with the same width and theme (callers may keep line counts of it); `tail` is
    /// replaced whenever text was pushed. Together they equal
    /// [`render_markdown`](super::render_markdown) of [`MarkdownStream::text`].
    pub fn lines(&mut self, width: u16, theme: &Theme) -> (&[Line<'static>], &[Line<'static>]) {
        let key = (width, theme.id());
        if self.key != Some(key) {
            self.key = Some(key);
            self.reset_rendering();
        }
        if self.dirty {
            self.render_tail(width, theme);
        }
        (&self.stable, &self.tail)
    }

    /// Number of lines [`MarkdownStream::lines`] would return in total (after calling it).
    pub fn line_count(&self) -> usize {
        self.stable.len() + self.tail.len()
    }

    /// All lines as one vector (for a reply that just finished, to move into a cache).
    pub fn to_lines(&mut self, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let (stable, tail) = self.lines(width, theme);
        let mut all = Vec::with_capacity(stable.len() + tail.len());
        all.extend_from_slice(stable);
        all.extend_from_slice(tail);
        all
    }

    fn reset_rendering(&mut self) {
        self.stable.clear();
        self.stable_src = 0;
        self.stable_ctx = Ctx::default();
        self.tail.clear();
        self.dirty = true;
    }

    fn render_tail(&mut self, width: u16, theme: &Theme) {
        self.dirty = false;
        let width = usize::from(width);
        let tail_text = &self.text[self.stable_src..];
        let mut r = render_with(
            tail_text,
            width,
            theme,
            &self.stable_ctx,
            Some(&mut self.cache),
        );
        if r.has_ref_defs && !self.no_commit {
            self.no_commit = true;
            if self.stable_src > 0 {
                self.reset_rendering();
                self.dirty = false;
                r = render_with(
                    &self.text,
                    width,
                    theme,
                    &Ctx::default(),
                    Some(&mut self.cache),
                );
            }
        }
        let tail_text = &self.text[self.stable_src..];
        // Commit every unit before the last one whose first line is complete; if that last
        // one is a fenced code block, also its header and complete lines.
        let mut lines = r.lines;
        if let (false, Some(last_nl)) = (self.no_commit, tail_text.rfind('\n'))
            && let Some(j) = r.units.iter().rposition(|u| u.src <= last_nl)
        {
            let code = r.code_progress.filter(|p| p.unit == j);
            let unit = r.units.swap_remove(j);
            let (end, ctx) = match code {
                Some(p) => (
                    p.rows_end,
                    Ctx {
                        code_skip: Some(p.lines_complete),
                        ..unit.ctx
                    },
                ),
                None => (unit.line, unit.ctx),
            };
            if code.is_some() || j >= 1 {
                let end = end.min(lines.len());
                self.stable.extend(lines.drain(..end));
                self.stable_src += unit.src;
                self.stable_ctx = ctx;
            }
        }
        self.tail = lines;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render_markdown;
    use proptest::prelude::*;

    fn check_equal(stream: &mut MarkdownStream, width: u16, theme: &Theme) {
        let want = render_markdown(stream.text(), width, theme);
        let text = stream.text().to_string();
        let got = stream.to_lines(width, theme);
        assert_eq!(got, want, "text: {text:?}");
    }

    const DOC: &str = "# Title\n\nSome *intro* text that is long enough to wrap.\n\n\
        1. first\n2. second\n\n3. third with\n\n   a paragraph\n\n   ```rust\n   fn x() {}\n   ```\n\
        4. fourth\n\n- a\n  - nested\n- b\n\n> quote line\n> more\n\n\
        ```python\ndef f():\n\n    return 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nend\n";

    #[test]
    fn char_by_char_equals_full_render_at_every_step() {
        let theme = Theme::default();
        let mut s = MarkdownStream::new();
        for (i, c) in DOC.char_indices() {
            s.push(&DOC[i..i + c.len_utf8()]);
            check_equal(&mut s, 40, &theme);
        }
        // most of it was committed along the way
        let (stable, tail) = s.lines(40, &theme);
        assert!(stable.len() > tail.len());
    }

    #[test]
    fn stable_only_grows_and_tail_is_small() {
        let theme = Theme::default();
        let mut s = MarkdownStream::new();
        let mut last_stable = 0;
        for para in 0..200 {
            s.push(&format!("Paragraph {para} with some words in it.\n\n"));
            let (stable, tail) = s.lines(60, &theme);
            assert!(stable.len() >= last_stable);
            last_stable = stable.len();
            assert!(tail.len() <= 3, "tail {}", tail.len());
        }
    }

    #[test]
    fn streaming_code_block_commits_complete_lines() {
        let theme = Theme::default();
        let mut s = MarkdownStream::new();
        s.push("Intro.\n\n```rust\n");
        for i in 0..100 {
            s.push(&format!("let x{i} = "));
            check_equal(&mut s, 50, &theme);
            s.push(&format!("{i};\n"));
            let (_, tail) = s.lines(50, &theme);
            assert!(tail.is_empty(), "line {i}: tail {}", tail.len());
        }
        s.push("```\n\nAfter the code.\n\n- a\n");
        check_equal(&mut s, 50, &theme);
        // the block keeps its number when the tail restarts inside it
        s.push("\n```sh\nls\n");
        check_equal(&mut s, 50, &theme);
        s.push("```\n");
        check_equal(&mut s, 50, &theme);
        assert!(s.text().ends_with("```\n"));
    }

    #[test]
    fn width_and_theme_changes_rerender() {
        let dark = Theme::builtin("dark").unwrap();
        let light = Theme::builtin("light").unwrap();
        let mut s = MarkdownStream::with_text(DOC);
        check_equal(&mut s, 30, &dark);
        check_equal(&mut s, 80, &dark);
        check_equal(&mut s, 80, &light);
        s.push("more text\n");
        check_equal(&mut s, 25, &light);
    }

    #[test]
    fn reference_definitions_fall_back_to_full_render() {
        let theme = Theme::default();
        let mut s = MarkdownStream::new();
        for chunk in [
            "see [the docs][d].\n\n",
            "para two\n\n",
            "para three\n\n",
            "[d]: https://x.y\n",
        ] {
            s.push(chunk);
            check_equal(&mut s, 40, &theme);
        }
    }

    #[test]
    fn escape_split_across_deltas_is_removed() {
        let theme = Theme::default();
        let mut s = MarkdownStream::new();
        s.push("a\u{1b}]0;ti");
        s.push("tle\u{7}b\u{1b}[3");
        s.push("1mc\n");
        assert_eq!(s.text(), "abc\n");
        check_equal(&mut s, 20, &theme);
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Hello *world* and **bold** text.\n".to_string()),
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just("# Heading\n".to_string()),
            Just("Setext\n---\n".to_string()),
            Just("- item\n".to_string()),
            Just("* other bullet\n".to_string()),
            Just("  - nested\n".to_string()),
            Just("1. one\n".to_string()),
            Just("2) two\n".to_string()),
            Just("   continuation para\n".to_string()),
            Just("> quoted\n".to_string()),
            Just("```rust\nfn main() {}\n".to_string()),
            Just("```\n".to_string()),
            Just("    indented code\n".to_string()),
            Just("| a | b |\n|---|:-:|\n| 1 | 2 |\n".to_string()),
            Just("---\n".to_string()),
            Just("- [ ] task\n- [x] done\n".to_string()),
            Just("<div>\nhtml\n</div>\n".to_string()),
            Just("<!--\ncomment\n\nstill\n-->\n".to_string()),
            Just("text with `code` and [link](http://a.b)\n".to_string()),
            Just("中文 text 👋\twith tab\n".to_string()),
            Just("line with hard break  \nnext\n".to_string()),
            "[a-z *_`#>|\\-\\[\\]()\n]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn random_splits_equal_full_render(
            parts in proptest::collection::vec(fragment(), 1..14),
            cuts in proptest::collection::vec(0usize..400, 0..12),
            width in 1u16..60,
        ) {
            let text: String = parts.concat();
            let theme = Theme::default();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            points.push(text.len());
            points.sort_unstable();
            let mut s = MarkdownStream::new();
            let mut at = 0;
            for p in points {
                let mut p = p;
                while !text.is_char_boundary(p) { p += 1; }
                if p < at { continue; }
                s.push(&text[at..p]);
                at = p;
                let want = render_markdown(&text[..at], width, &theme);
                let got = s.to_lines(width, &theme);
                prop_assert_eq!(got, want, "text so far: {:?}", &text[..at]);
            }
        }
    }
}
