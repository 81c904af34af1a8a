//! Syntax highlighting of code blocks with syntect, converted to ratatui styles.
//!
//! Why it is shaped this way:
//! - **Lazy, once.** The `SyntaxSet` and `ThemeSet` live in `LazyLock`s and are touched only
//!   when a code block in a known language is drawn, so startup never pays for them; blocks
//!   with no language (or `text`) never load syntect at all. [`is_loaded`] lets tests check.
//! - **Our own style conversion** (gitui's `syntact_style_to_tui`, not `syntect-tui`, which pins
//!   ratatui 0.29): foreground and bold/italic/underline come from the syntect theme, the
//!   background always from the app theme's `code_bg`, so code blocks look the same in every
//!   syntect theme. Adjacent tokens of equal style are merged to keep span counts low.
//! - **Line at a time with explicit state** (`ParseState` + `HighlightState`, fed lines *with*
//!   their `\n`), so multi-line constructs work and the state after any line can be kept.
//!   [`HighlightCache`] uses that: while a reply streams, the unfinished code block is
//!   re-rendered on every delta, and the cache resumes from the last complete line it has seen
//!   instead of re-highlighting the block from the top.
//! - **Bounded work.** Lines longer than [`MAX_LINE`] bytes and blocks beyond [`MAX_BLOCK`]
//!   bytes are shown plain: regex highlighting can be super-linear on pathological lines
//!   (minified JSON), and a frame must never stall on it.
//! - The default syntax set has no TOML or TypeScript grammar; aliases map them to the nearest
//!   grammar that does exist (TOML → Java Properties, TS/TSX/JSX → JavaScript), which colours
//!   comments, strings and keys correctly for the common cases.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::highlighting::{
    FontStyle, HighlightIterator, HighlightState, Highlighter, Theme as SynTheme, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use super::theme::Theme;

/// Longer lines are not highlighted (shown in the plain code style).
pub const MAX_LINE: usize = 4 * 1024;
/// Bytes of one block that are highlighted; the rest is plain.
pub const MAX_BLOCK: usize = 256 * 1024;

static LOADED: AtomicBool = AtomicBool::new(false);

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(|| {
    LOADED.store(true, Ordering::Relaxed);
    SyntaxSet::load_defaults_newlines()
});

static THEMES: LazyLock<ThemeSet> = LazyLock::new(|| {
    LOADED.store(true, Ordering::Relaxed);
    ThemeSet::load_defaults()
});

/// Whether syntect's syntaxes or themes have been loaded in this process.
pub fn is_loaded() -> bool {
    LOADED.load(Ordering::Relaxed)
}

/// Languages that mean "no highlighting" and must not load syntect.
fn is_plain(lang: &str) -> bool {
    matches!(
        lang,
        "" | "text" | "txt" | "plain" | "plaintext" | "output" | "console-output" | "log"
    )
}

/// Maps common fence names to a token syntect's default set knows.
fn alias(lang: &str) -> &str {
    match lang {
        "ts" | "typescript" | "tsx" | "jsx" | "mjs" | "cjs" | "javascript" | "node" => "js",
        "toml" | "ini" | "cfg" | "conf" | "dotenv" | "env" => "properties",
        "shell" | "console" | "zsh" | "shellscript" | "sh-session" | "bash" | "sh" | "fish" => {
            "bash"
        }
        "python3" | "py3" | "python" => "py",
        "rust" => "rs",
        "golang" => "go",
        "csharp" | "c#" => "cs",
        "jsonc" | "json5" | "jsonl" | "ndjson" | "geojson" => "json",
        "yml" => "yaml",
        "vue" | "svelte" => "html",
        "objc" | "objective-c" => "m",
        "objcpp" | "objective-c++" => "mm",
        "patch" => "diff",
        "dockerfile" | "docker" => "bash",
        "c++" | "hpp" | "cxx" => "cpp",
        other => other,
    }
}

/// The syntect grammar for a fence language, or `None` (plain). Loads syntect unless the
/// language is empty/plain.
fn find_syntax(lang: &str) -> Option<&'static SyntaxReference> {
    let lower = lang.trim().to_ascii_lowercase();
    if is_plain(&lower) || lower.len() > 64 {
        return None;
    }
    let ss = &*SYNTAXES;
    ss.find_syntax_by_token(alias(&lower))
        .or_else(|| ss.find_syntax_by_token(&lower))
        .filter(|s| s.name != "Plain Text")
}

fn syntect_theme(theme: &Theme) -> Option<&'static SynTheme> {
    THEMES.themes.get(&theme.syntax_theme)
}

/// The style of code that is not highlighted.
pub(crate) fn plain_style(theme: &Theme) -> Style {
    theme.code.bg(theme.code_bg)
}

fn convert(style: syntect::highlighting::Style, bg: Color) -> Style {
    let mut out = Style::default().bg(bg);
    let fg = style.foreground;
    if fg.a > 0 {
        out = out.fg(Color::Rgb(fg.r, fg.g, fg.b));
    }
    if style.font_style.contains(FontStyle::BOLD) {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.font_style.contains(FontStyle::ITALIC) {
        out = out.add_modifier(Modifier::ITALIC);
    }
    if style.font_style.contains(FontStyle::UNDERLINE) {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    out
}

fn push_merged(spans: &mut Vec<Span<'static>>, text: &str, style: Style) {
    if text.is_empty() {
        return;
    }
    if let Some(last) = spans.last_mut()
        && last.style == style
    {
        last.content.to_mut().push_str(text);
        return;
    }
    spans.push(Span::styled(text.to_owned(), style));
}

/// Parser + highlighter state for one block, advanced a line at a time.
#[derive(Clone)]
struct State {
    parse: ParseState,
    highlight: HighlightState,
}

/// Highlights one code block line by line.
struct BlockHighlighter {
    highlighter: Option<Highlighter<'static>>,
    state: Option<State>,
    plain: Style,
    bg: Color,
    /// Bytes highlighted so far (for [`MAX_BLOCK`]).
    seen: usize,
    /// Reused buffer for a line plus its `\n`.
    buf: String,
}

impl BlockHighlighter {
    fn new(lang: &str, theme: &Theme) -> Self {
        let plain = plain_style(theme);
        let mut me = BlockHighlighter {
            highlighter: None,
            state: None,
            plain,
            bg: theme.code_bg,
            seen: 0,
            buf: String::new(),
        };
        if let Some(syntax) = find_syntax(lang)
            && let Some(syn_theme) = syntect_theme(theme)
        {
            let highlighter = Highlighter::new(syn_theme);
            let highlight = HighlightState::new(&highlighter, ScopeStack::new());
            me.state = Some(State {
                parse: ParseState::new(syntax),
                highlight,
            });
            me.highlighter = Some(highlighter);
        }
        me
    }

    /// Highlights `line` (without its `\n`) into `out`, advancing the state.
    fn line(&mut self, line: &str, out: &mut Vec<Span<'static>>) {
        out.clear();
        self.seen += line.len() + 1;
        let (Some(highlighter), Some(state)) = (&self.highlighter, &mut self.state) else {
            push_merged(out, line, self.plain);
            return;
        };
        if line.len() > MAX_LINE || self.seen > MAX_BLOCK {
            push_merged(out, line, self.plain);
            return;
        }
        self.buf.clear();
        self.buf.push_str(line);
        self.buf.push('\n');
        let Ok(ops) = state.parse.parse_line(&self.buf, &SYNTAXES) else {
            // A grammar error: the rest of the block is plain.
            self.state = None;
            push_merged(out, line, self.plain);
            return;
        };
        for (style, text) in
            HighlightIterator::new(&mut state.highlight, &ops, &self.buf, highlighter)
        {
            let text = text.strip_suffix('\n').unwrap_or(text);
            push_merged(out, text, convert(style, self.bg));
        }
    }
}

/// Splits code into lines the way code blocks show them: a final `\n` does not start a line.
pub(crate) fn code_lines(code: &str) -> impl Iterator<Item = &str> {
    code.lines()
}

/// Highlights `code` written in `lang` with the theme's syntax theme: one [`Line`] per source
/// line, every span on the theme's `code_bg`. Unknown languages get the plain code style.
pub fn highlight_code(code: &str, lang: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The code is complete: its last line is highlighted even without a final newline.
    let owned;
    let code = if code.is_empty() || code.ends_with('\n') {
        code
    } else {
        owned = format!("{code}\n");
        &owned
    };
    for_each_line(code, lang, theme, None, |spans| {
        out.push(Line::from(spans.to_vec()))
    });
    out
}

/// Calls `f` with the highlighted spans of each line of `code`.
///
/// A last line without its `\n` (only an unfinished block at the very end of the text has
/// one) is shown in the plain code style: while a reply streams that line changes on every
/// delta, and highlighting it each time would cost a syntect line parse per frame. It gets its
/// colours when its newline arrives.
///
/// Without a `cache`, whole blocks are looked up in (and added to) a process-wide cache keyed
/// by content, language and theme, so re-rendering at another width does not run syntect
/// again. With a `cache` (streaming), highlighting resumes after the longest run of complete
/// lines already seen for this block.
pub(crate) fn for_each_line(
    code: &str,
    lang: &str,
    theme: &Theme,
    cache: Option<&mut HighlightCache>,
    mut f: impl FnMut(&[Span<'static>]),
) {
    let code = crate::sanitize::strip_controls(code);
    let complete_end = code.rfind('\n').map_or(0, |i| i + 1);
    let (complete, partial) = code.split_at(complete_end);
    match cache {
        None => {
            let lines = block_lines(complete, lang, theme);
            for line in lines.iter() {
                f(line);
            }
        }
        Some(cache) => {
            let entry = cache.entry(complete, lang, theme);
            for line in &entry.lines {
                f(line);
            }
            let mut spans = Vec::new();
            for line in code_lines(&complete[entry.text.len()..]) {
                entry.hl.line(line, &mut spans);
                f(&spans);
                entry.lines.push(spans.clone());
            }
            entry.text.clear();
            entry.text.push_str(complete);
        }
    }
    if !partial.is_empty() {
        let mut spans = Vec::new();
        push_merged(&mut spans, partial, plain_style(theme));
        f(&spans);
    }
}

type BlockLines = Arc<Vec<Vec<Span<'static>>>>;

/// Highlighted lines of a block of complete lines, from the process-wide cache if possible.
fn block_lines(complete: &str, lang: &str, theme: &Theme) -> BlockLines {
    if complete.is_empty() {
        return Arc::default();
    }
    let key = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (complete, lang, theme.id()).hash(&mut h);
        h.finish()
    };
    if let Some(lines) = BLOCKS
        .lock()
        .ok()
        .and_then(|mut c| c.get(key, complete, lang, theme.id()))
    {
        return lines;
    }
    let mut hl = BlockHighlighter::new(lang, theme);
    let mut spans = Vec::new();
    let mut lines = Vec::new();
    for line in code_lines(complete) {
        hl.line(line, &mut spans);
        lines.push(spans.clone());
    }
    let lines = Arc::new(lines);
    if let Ok(mut c) = BLOCKS.lock() {
        c.insert(key, complete, lang, theme.id(), lines.clone());
    }
    lines
}

/// Lines kept by the process-wide block cache before the least recently used blocks go.
const BLOCK_CACHE_LINES: usize = 50_000;

static BLOCKS: LazyLock<Mutex<BlockCache>> = LazyLock::new(Mutex::default);

#[derive(Default)]
struct BlockCache {
    map: HashMap<u64, BlockEntry>,
    lines: usize,
    clock: u64,
}

struct BlockEntry {
    code: String,
    lang: String,
    theme_id: u64,
    lines: BlockLines,
    used: u64,
}

impl BlockCache {
    fn get(&mut self, key: u64, code: &str, lang: &str, theme_id: u64) -> Option<BlockLines> {
        self.clock += 1;
        let e = self.map.get_mut(&key)?;
        if e.code != code || e.lang != lang || e.theme_id != theme_id {
            return None;
        }
        e.used = self.clock;
        Some(e.lines.clone())
    }

    fn insert(&mut self, key: u64, code: &str, lang: &str, theme_id: u64, lines: BlockLines) {
        if lines.len() > BLOCK_CACHE_LINES {
            return;
        }
        self.clock += 1;
        self.lines += lines.len();
        if let Some(old) = self.map.insert(
            key,
            BlockEntry {
                code: code.to_string(),
                lang: lang.to_string(),
                theme_id,
                lines,
                used: self.clock,
            },
        ) {
            self.lines -= old.lines.len();
        }
        while self.lines > BLOCK_CACHE_LINES {
            let Some((&oldest, _)) = self.map.iter().min_by_key(|(_, e)| e.used) else {
                break;
            };
            if let Some(e) = self.map.remove(&oldest) {
                self.lines -= e.lines.len();
            }
        }
    }
}

/// Empties the process-wide cache of highlighted blocks (benchmarks use it to measure cold
/// rendering).
pub fn clear_block_cache() {
    if let Ok(mut c) = BLOCKS.lock() {
        *c = BlockCache::default();
    }
}

/// Remembers highlighted lines of recent code blocks so a growing block is highlighted
/// incrementally. Keyed by language, theme id and content prefix; holds a few entries.
#[derive(Default)]
pub struct HighlightCache {
    entries: Vec<CacheEntry>,
    clock: u64,
}

struct CacheEntry {
    lang: String,
    theme_id: u64,
    /// The complete lines (with their `\n`) highlighted so far.
    text: String,
    lines: Vec<Vec<Span<'static>>>,
    hl: BlockHighlighter,
    used: u64,
}

impl std::fmt::Debug for HighlightCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HighlightCache")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl HighlightCache {
    const CAPACITY: usize = 4;

    fn entry(&mut self, code: &str, lang: &str, theme: &Theme) -> &mut CacheEntry {
        self.clock += 1;
        let best = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.lang == lang && e.theme_id == theme.id() && code.starts_with(&e.text)
            })
            .max_by_key(|(_, e)| e.text.len())
            .map(|(i, _)| i);
        let idx = match best {
            Some(i) => i,
            None => {
                if self.entries.len() >= Self::CAPACITY
                    && let Some((oldest, _)) =
                        self.entries.iter().enumerate().min_by_key(|(_, e)| e.used)
                {
                    self.entries.swap_remove(oldest);
                }
                self.entries.push(CacheEntry {
                    lang: lang.to_string(),
                    theme_id: theme.id(),
                    text: String::new(),
                    lines: Vec::new(),
                    hl: BlockHighlighter::new(lang, theme),
                    used: 0,
                });
                self.entries.len() - 1
            }
        };
        let clock = self.clock;
        let entry = &mut self.entries[idx];
        entry.used = clock;
        entry
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn rust_is_coloured_and_keeps_text() {
        let theme = Theme::builtin("dark").unwrap();
        let code = "fn main() {\n    let x = \"hi\"; // note\n}\n";
        let lines = highlight_code(code, "rust", &theme);
        assert_eq!(
            text(&lines),
            ["fn main() {", "    let x = \"hi\"; // note", "}"]
        );
        let fg: Vec<_> = lines[1].spans.iter().map(|s| s.style.fg).collect();
        assert!(
            fg.iter().collect::<std::collections::HashSet<_>>().len() >= 3,
            "{fg:?}"
        );
        for l in &lines {
            for s in &l.spans {
                assert_eq!(s.style.bg, Some(theme.code_bg));
            }
        }
    }

    #[test]
    fn aliases_resolve() {
        for lang in [
            "rs", "py", "js", "ts", "sh", "bash", "json", "yaml", "toml", "c", "go", "Rust",
        ] {
            assert!(find_syntax(lang).is_some(), "{lang}");
        }
        assert!(find_syntax("no-such-lang").is_none());
        assert!(find_syntax("").is_none());
    }

    #[test]
    fn unknown_language_is_plain() {
        let theme = Theme::builtin("light").unwrap();
        let lines = highlight_code("a b\nc", "klingon", &theme);
        assert_eq!(text(&lines), ["a b", "c"]);
        assert_eq!(lines[0].spans.len(), 1);
        assert_eq!(lines[0].spans[0].style, plain_style(&theme));
    }

    #[test]
    fn escapes_in_code_are_removed() {
        let theme = Theme::default();
        let lines = highlight_code("echo \u{1b}[31mred\u{7}\n", "sh", &theme);
        assert_eq!(text(&lines), ["echo red"]);
    }

    #[test]
    fn cache_matches_fresh_highlighting_as_code_grows() {
        let theme = Theme::default();
        let full = "/* a\n multi-line comment */\nfn f() -> u8 {\n    1\n}\nlet s = \"x\";\n";
        let mut cache = HighlightCache::default();
        for end in 0..=full.len() {
            let code = &full[..end];
            let mut got = Vec::new();
            for_each_line(code, "rs", &theme, Some(&mut cache), |s| {
                got.push(s.to_vec())
            });
            let mut want = Vec::new();
            for_each_line(code, "rs", &theme, None, |s| want.push(s.to_vec()));
            assert_eq!(got, want, "prefix {end}");
        }
        assert!(cache.entries.len() <= HighlightCache::CAPACITY);
    }

    #[test]
    fn unfinished_last_line_is_plain_until_its_newline() {
        let theme = Theme::default();
        let mut got = Vec::new();
        for_each_line("let a = 1;\nlet b", "rs", &theme, None, |s| {
            got.push(s.to_vec())
        });
        assert!(got[0].len() > 1);
        assert_eq!(got[1], vec![Span::styled("let b", plain_style(&theme))]);
        // the public function treats its input as complete
        let lines = highlight_code("let b = 2;", "rs", &theme);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].spans.len() > 1);
    }

    #[test]
    fn block_cache_returns_the_same_lines() {
        let theme = Theme::default();
        let code = "fn cached() -> u32 { 42 }\n";
        let a = highlight_code(code, "rs", &theme);
        let b = highlight_code(code, "rs", &theme);
        clear_block_cache();
        let c = highlight_code(code, "rs", &theme);
        assert_eq!(a, b);
        assert_eq!(a, c);
        let light = Theme::builtin("light").unwrap();
        assert_ne!(highlight_code(code, "rs", &light), a);
    }

    #[test]
    fn very_long_lines_stay_plain() {
        let theme = Theme::default();
        let long = "x".repeat(MAX_LINE + 1);
        let lines = highlight_code(&format!("{long}\nfn a() {{}}\n"), "rs", &theme);
        assert_eq!(lines[0].spans.len(), 1);
        assert_eq!(lines[0].spans[0].style, plain_style(&theme));
    }
}
