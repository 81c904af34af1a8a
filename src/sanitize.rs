//! Text from outside is data: the one path by which it reaches a terminal or the clipboard.
//!
//! Model replies, server errors, titles, model ids and imported files must never drive the
//! user's terminal. Every terminal-bound writer goes through this module, so a new output
//! cannot forget it (clippy's `disallowed-macros`/`disallowed-methods` in `clippy.toml` reject
//! `println!`, `eprintln!` and `std::io::stdout()` elsewhere):
//! - [`for_terminal`] / [`Sanitizer::for_terminal`]: escape sequences (CSI, OSC, DCS/SOS/PM/APC
//!   strings, two-byte ESC sequences) and C0/C1 controls, DEL and CR are removed whole; newline
//!   and tab stay. Bidi controls and invisible characters (see [`is_invisible`]) become a visible
//!   `⟨U+202E⟩`, as code hosts show them, so a reader sees text that would otherwise hide or
//!   reorder what is around it. A zero-width joiner right after an emoji is kept: it is part of
//!   an emoji sequence (👨‍👩‍👧) and hides nothing.
//! - [`layout_pieces`]: the same, split into text and markers, for the TUI's wrapper, which
//!   draws markers in a dim style of their own; [`strip_controls`] is its first half, for text
//!   that is laid out later.
//! - [`for_clipboard`]: controls and escape sequences removed, newline and tab kept, and the
//!   invisible characters dropped too (pasted into a shell or an editor they would hide or
//!   reorder code); emoji sequences are kept whole.
//! - [`json_for_terminal`]: JSON on a terminal, with those characters written as `\uXXXX`
//!   escapes, so the value is unchanged.
//! - writers: [`term_println!`](crate::term_println!), [`term_eprintln!`](crate::term_eprintln!), [`TermText`] and [`TermStream`] for stdout
//!   (sanitized when it is a terminal, exact bytes in a pipe: the reader asked for them) and
//!   stderr (always sanitized: it carries our messages, and a log file is read in a terminal).
//!
//! The TUI lays text out through [`layout_pieces`]; its backend also drops any control or
//! invisible character still in a cell, so a view path that forgets cannot reach the terminal.
//! The store, `export` and `--json` keep the bytes exact; only what is shown changes.
//! [`Sanitizer`] keeps state between chunks, so a sequence split across two stream deltas is
//! still removed whole (a char is never split, so markers are simple).

use std::borrow::Cow;
use std::fmt;
use std::io::{IsTerminal, Write};

/// Bidi controls and invisible characters that are shown as `⟨U+XXXX⟩`: the embeddings and
/// overrides U+202A–U+202E, the isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C,
/// zero width space/non-joiner/joiner U+200B–U+200D, word joiner U+2060 and the BOM U+FEFF.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200b}'..='\u{200f}'
            | '\u{061c}'
            | '\u{2060}'
            | '\u{feff}'
    )
}

/// C0 and C1 controls and DEL (newline and tab included: callers keep those).
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Pictographs, their variation selector and skin tones: what may precede a joiner in an
/// emoji ZWJ sequence.
fn joins_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{1f000}'..='\u{1faff}' | '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{fe0f}'
    )
}

/// Whether `c` (after `prev`) is an invisible character to mark or drop.
fn hidden(prev: Option<char>, c: char) -> bool {
    is_invisible(c) && !(c == '\u{200d}' && prev.is_some_and(joins_emoji))
}

/// Whether one-shot cleaning can return the text unchanged (quick scan, no allocation).
fn needs_work(text: &str, invisibles: Invisibles) -> bool {
    if text.is_ascii() {
        return text
            .bytes()
            .any(|b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f);
    }
    text.chars().any(|c| {
        (is_control(c) && c != '\n' && c != '\t')
            || (invisibles != Invisibles::Keep && is_invisible(c))
    })
}

/// The visible stand-in for an invisible character: `⟨U+202E⟩`.
pub fn marker(c: char) -> String {
    format!("⟨U+{:04X}⟩", u32::from(c))
}

/// What a [`Sanitizer`] does with the characters of [`is_invisible`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invisibles {
    /// Left in: the text is laid out later by code that marks them ([`layout_pieces`]).
    Keep,
    /// Replaced by [`marker`].
    Mark,
    /// Removed (the clipboard).
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Text,
    /// Just saw ESC.
    Escape,
    /// Inside `ESC [` … final byte.
    Csi,
    /// Inside a string sequence (OSC, DCS, SOS, PM, APC) until BEL or ST.
    Str,
    /// Inside a string sequence and just saw ESC (maybe the start of ST, `ESC \`).
    StrEscape,
}

/// Streaming sanitizer: feed chunks in order, get clean text out.
#[derive(Debug, Clone)]
pub struct Sanitizer {
    state: State,
    invisibles: Invisibles,
    /// The last character kept, for the emoji-joiner rule.
    prev: Option<char>,
}

impl Default for Sanitizer {
    /// The safe choice: [`Sanitizer::for_terminal`].
    fn default() -> Self {
        Self::for_terminal()
    }
}

impl Sanitizer {
    /// For a terminal: controls and sequences removed, invisible characters marked.
    pub fn for_terminal() -> Self {
        Self::with(Invisibles::Mark)
    }

    /// For text the TUI lays out: controls and sequences removed, invisible characters kept for
    /// the layout to mark in its own style ([`layout_pieces`]).
    pub fn for_layout() -> Self {
        Self::with(Invisibles::Keep)
    }

    fn with(invisibles: Invisibles) -> Self {
        Sanitizer {
            state: State::Text,
            invisibles,
            prev: None,
        }
    }

    /// Appends the clean part of `chunk` to `out`.
    pub fn push(&mut self, chunk: &str, out: &mut String) {
        for c in chunk.chars() {
            self.state = match self.state {
                State::Text => match c {
                    '\u{1b}' => State::Escape,
                    '\u{9b}' => State::Csi,
                    '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => State::Str,
                    '\n' | '\t' => {
                        self.keep(c, out);
                        State::Text
                    }
                    c if is_control(c) => State::Text,
                    c => {
                        self.keep(c, out);
                        State::Text
                    }
                },
                State::Escape => match c {
                    '[' => State::Csi,
                    ']' | 'P' | 'X' | '^' | '_' => State::Str,
                    // Intermediate bytes (e.g. `ESC ( B`): the sequence goes on.
                    '\u{20}'..='\u{2f}' => State::Escape,
                    _ => State::Text,
                },
                State::Csi => match c {
                    '\u{40}'..='\u{7e}' => State::Text,
                    '\u{20}'..='\u{3f}' => State::Csi,
                    // Anything else aborts the sequence; drop it too.
                    _ => State::Text,
                },
                State::Str => match c {
                    '\u{7}' | '\u{9c}' => State::Text,
                    '\u{1b}' => State::StrEscape,
                    _ => State::Str,
                },
                State::StrEscape => match c {
                    '\\' => State::Text,
                    '\u{1b}' => State::StrEscape,
                    _ => State::Str,
                },
            };
        }
    }

    fn keep(&mut self, c: char, out: &mut String) {
        if self.invisibles != Invisibles::Keep && hidden(self.prev, c) {
            if self.invisibles == Invisibles::Mark {
                out.push_str(&marker(c));
            }
        } else {
            out.push(c);
        }
        self.prev = Some(c);
    }
}

fn clean(text: &str, invisibles: Invisibles) -> Cow<'_, str> {
    if !needs_work(text, invisibles) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    Sanitizer::with(invisibles).push(text, &mut out);
    Cow::Owned(out)
}

/// Text for a terminal: controls and escape sequences removed (newline and tab kept), bidi and
/// invisible characters shown as `⟨U+XXXX⟩`. Borrows when there is nothing to change.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    clean(text, Invisibles::Mark)
}

/// Text for the clipboard: controls and escape sequences removed (newline and tab kept), bidi
/// and invisible characters removed (emoji sequences stay whole).
pub fn for_clipboard(text: &str) -> Cow<'_, str> {
    clean(text, Invisibles::Drop)
}

/// Controls and escape sequences removed, invisible characters left for [`layout_pieces`] to
/// mark: for text the TUI parses (markdown, code) before laying it out.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    clean(text, Invisibles::Keep)
}

/// `text` cleaned for the TUI, as `(piece, is_marker)` runs: plain text, and a `⟨U+XXXX⟩`
/// marker for each invisible character, which the caller draws in a style of its own.
pub fn layout_pieces(text: &str) -> Vec<(Cow<'_, str>, bool)> {
    match strip_controls(text) {
        Cow::Borrowed(s) => split_markers(s, Cow::Borrowed),
        Cow::Owned(s) => split_markers(&s, |t| Cow::Owned(t.to_owned())),
    }
}

fn split_markers<'a, 'b>(
    s: &'a str,
    piece: impl Fn(&'a str) -> Cow<'b, str>,
) -> Vec<(Cow<'b, str>, bool)> {
    if s.is_ascii() {
        return vec![(piece(s), false)];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev = None;
    for (i, c) in s.char_indices() {
        if hidden(prev, c) {
            if start < i {
                out.push((piece(&s[start..i]), false));
            }
            out.push((Cow::Owned(marker(c)), true));
            start = i + c.len_utf8();
        }
        prev = Some(c);
    }
    if start < s.len() || out.is_empty() {
        out.push((piece(&s[start..]), false));
    }
    out
}

/// JSON text for a terminal: the same JSON value, with controls and invisible characters
/// (which can only occur inside strings) written as `\uXXXX` escapes.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json
        .chars()
        .any(|c| (is_control(c) && c != '\n') || is_invisible(c))
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if (is_control(c) && c != '\n') || is_invisible(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

// ─── Writers ─────────────────────────────────────────────────────────────────────────────

/// Whether a `NO_COLOR` or `TERM=dumb` environment asks for no colors.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// Whether stdout is a terminal (then people-facing text on it is sanitized).
#[allow(clippy::disallowed_methods)] // the one place that asks
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Columns of the terminal stdout is, when it is one and says.
pub fn stdout_columns() -> Option<usize> {
    if !stdout_is_terminal() {
        return None;
    }
    #[cfg(unix)]
    #[allow(clippy::disallowed_methods)] // only asks the terminal its size
    if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stdout())
        && size.ws_col > 0
    {
        return Some(usize::from(size.ws_col));
    }
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// Text for stdout, built from pieces: outside text is sanitized when stdout is a terminal (and
/// exact in a pipe); highlights are ours. [`TermText::print`] writes it.
#[derive(Debug)]
pub struct TermText {
    tty: bool,
    color: bool,
    buf: String,
}

impl TermText {
    /// For stdout as it is now.
    pub fn stdout() -> TermText {
        let tty = stdout_is_terminal();
        TermText::new(tty, tty && color_allowed())
    }

    /// For a stream that is (`tty`) or is not a terminal, with or without colors.
    pub fn new(tty: bool, color: bool) -> TermText {
        TermText {
            tty,
            color,
            buf: String::new(),
        }
    }

    /// Whether the text goes to a terminal.
    pub fn is_terminal(&self) -> bool {
        self.tty
    }

    /// Append outside text.
    pub fn push(&mut self, text: &str) {
        if self.tty {
            self.buf.push_str(&for_terminal(text));
        } else {
            self.buf.push_str(text);
        }
    }

    /// Append outside text, emphasised: bold yellow on a color terminal, else `[text]`.
    pub fn highlight(&mut self, text: &str) {
        if self.color {
            self.buf.push_str("\x1b[1;33m");
            self.push(text);
            self.buf.push_str("\x1b[0m");
        } else {
            self.buf.push('[');
            self.push(text);
            self.buf.push(']');
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Write it all to stdout and flush.
    #[allow(clippy::disallowed_methods)] // the sanitizing writer itself
    pub fn print(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(self.buf.as_bytes())?;
        out.flush()
    }
}

/// Print `text` (outside text for people) to stdout: sanitized on a terminal, exact in a pipe.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = TermText::stdout();
    out.push(text);
    out.print()
}

/// Print a JSON document and a newline to stdout: exact in a pipe; on a terminal, see
/// [`json_for_terminal`].
#[allow(clippy::disallowed_methods)] // the sanitizing writer itself
pub fn print_json(json: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if stdout_is_terminal() {
        out.write_all(json_for_terminal(json).as_bytes())?;
    } else {
        out.write_all(json.as_bytes())?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// Streamed outside text for stdout (a reply as it arrives): sanitized across chunks when
/// stdout is a terminal, exact in a pipe; flushed per write.
#[derive(Debug)]
pub struct TermStream {
    sanitizer: Option<Sanitizer>,
    scratch: String,
}

impl TermStream {
    pub fn stdout() -> TermStream {
        TermStream {
            sanitizer: stdout_is_terminal().then(Sanitizer::for_terminal),
            scratch: String::new(),
        }
    }

    /// Write the clean part of `chunk`; what was written (maybe nothing).
    #[allow(clippy::disallowed_methods)] // the sanitizing writer itself
    pub fn write<'a>(&'a mut self, chunk: &'a str) -> std::io::Result<&'a str> {
        let text = match &mut self.sanitizer {
            Some(s) => {
                self.scratch.clear();
                s.push(chunk, &mut self.scratch);
                self.scratch.as_str()
            }
            None => chunk,
        };
        if !text.is_empty() {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Ok(text)
    }
}

/// One line to stdout, sanitized when stdout is a terminal. Used by [`term_println!`](crate::term_println!).
pub fn println_args(args: fmt::Arguments<'_>) {
    let mut out = TermText::stdout();
    out.push(&args.to_string());
    out.buf.push('\n');
    let _ = out.print();
}

/// One line to stderr, always sanitized. Used by [`term_eprintln!`](crate::term_eprintln!).
#[allow(clippy::disallowed_methods)] // the sanitizing writer itself
pub fn eprintln_args(args: fmt::Arguments<'_>) {
    let mut line = for_terminal(&args.to_string()).into_owned();
    line.push('\n');
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

/// `println!` for people-facing text: sanitized when stdout is a terminal.
#[macro_export]
macro_rules! term_println {
    ($($arg:tt)*) => {
        $crate::sanitize::println_args(::std::format_args!($($arg)*))
    };
}

/// `eprintln!` for every message: stderr is always sanitized.
#[macro_export]
macro_rules! term_eprintln {
    ($($arg:tt)*) => {
        $crate::sanitize::eprintln_args(::std::format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_plain_text_newlines_and_tabs() {
        assert!(matches!(for_terminal("a\tb\nc ü 中"), Cow::Borrowed(_)));
        assert!(matches!(for_clipboard("a\tb\nc ü 中"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_sequences_and_controls() {
        let dirty = "red \u{1b}[31mX\u{1b}[0m title\u{1b}]0;pwned\u{7} clip\u{1b}]52;c;aGk=\u{1b}\\ bell\u{7} cr\r del\u{7f} c1\u{9b}2J end";
        let clean = "red X title clip bell cr del c1 end";
        assert_eq!(for_terminal(dirty), clean);
        assert_eq!(for_clipboard(dirty), clean);
        assert_eq!(strip_controls(dirty), clean);
    }

    #[test]
    fn invisible_characters_are_marked_for_a_terminal_and_dropped_for_the_clipboard() {
        let text = "a\u{202e}b\u{2066}c\u{2069}d\u{200b}e\u{feff}f\u{2060}g\u{200d}h";
        assert_eq!(
            for_terminal(text),
            "a⟨U+202E⟩b⟨U+2066⟩c⟨U+2069⟩d⟨U+200B⟩e⟨U+FEFF⟩f⟨U+2060⟩g⟨U+200D⟩h"
        );
        assert_eq!(for_clipboard(text), "abcdefgh");
        assert_eq!(strip_controls(text), text, "kept for the layout to mark");
    }

    #[test]
    fn an_emoji_zwj_sequence_stays_whole() {
        let family = "👨\u{200d}👩\u{200d}👧 and 🏳\u{fe0f}\u{200d}🌈";
        assert_eq!(for_terminal(family), family);
        assert_eq!(for_clipboard(family), family);
        assert_eq!(layout_pieces(family), vec![(Cow::Borrowed(family), false)]);
    }

    #[test]
    fn layout_pieces_split_markers_out() {
        let pieces = layout_pieces("ab\u{202e}cd\u{1b}[2J\u{200b}");
        let pieces: Vec<(&str, bool)> = pieces.iter().map(|(p, m)| (&**p, *m)).collect();
        assert_eq!(
            pieces,
            [
                ("ab", false),
                ("⟨U+202E⟩", true),
                ("cd", false),
                ("⟨U+200B⟩", true)
            ]
        );
        let borrowed = layout_pieces("x\u{202e}y");
        assert!(matches!(borrowed[0].0, Cow::Borrowed("x")));
        assert!(matches!(borrowed[2].0, Cow::Borrowed("y")));
    }

    #[test]
    fn json_on_a_terminal_is_the_same_value() {
        let value = serde_json::json!({"t": "a\u{202e}b\u{9b}c\u{7f}d\u{1b}e\n"});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let shown = json_for_terminal(&json);
        assert!(
            !shown
                .chars()
                .any(|c| is_invisible(c) || (is_control(c) && c != '\n'))
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&shown).unwrap(),
            value
        );
    }

    #[test]
    fn split_sequences_are_removed_whole() {
        let text = "a\u{1b}]0;title\u{7}b\u{1b}[1;31mc\u{202e}d";
        for split in 0..=text.len() {
            if !text.is_char_boundary(split) {
                continue;
            }
            let mut s = Sanitizer::for_terminal();
            let mut out = String::new();
            s.push(&text[..split], &mut out);
            s.push(&text[split..], &mut out);
            assert_eq!(out, "abc⟨U+202E⟩d", "split at {split}");
        }
        let mut s = Sanitizer::for_terminal();
        let mut out = String::new();
        s.push("👨", &mut out);
        s.push("\u{200d}👩", &mut out);
        assert_eq!(out, "👨\u{200d}👩", "the joiner rule holds across chunks");
    }

    #[test]
    fn text_for_a_pipe_is_exact_and_for_a_terminal_clean() {
        let mut pipe = TermText::new(false, false);
        pipe.push("a\u{1b}[2J\u{202e}");
        pipe.highlight("m");
        assert_eq!(pipe.as_str(), "a\u{1b}[2J\u{202e}[m]");
        let mut tty = TermText::new(true, true);
        tty.push("a\u{1b}[2J\u{202e}");
        tty.highlight("m\u{7}");
        assert_eq!(tty.as_str(), "a⟨U+202E⟩\u{1b}[1;33mm\u{1b}[0m");
        let mut plain = TermText::new(true, false);
        plain.highlight("m");
        assert_eq!(plain.as_str(), "[m]");
    }

    proptest! {
        #[test]
        fn output_never_holds_controls_or_invisibles(s in ".*") {
            let shown = for_terminal(&s);
            prop_assert!(!shown.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
            let zwj = '\u{200d}';
            prop_assert!(!shown.chars().any(|c| is_invisible(c) && c != zwj), "{:?}", shown);
            let copied = for_clipboard(&s);
            prop_assert!(!copied.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
            let pieces: String = layout_pieces(&s).into_iter().map(|(p, _)| p).collect();
            prop_assert_eq!(pieces, shown.into_owned());
        }
    }
}
