//! Model text is data: before it reaches a terminal, control characters and escape sequences go.
//!
//! Newline and tab survive (they are laid out); CR, other C0/C1 controls, DEL, and whole escape
//! sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-byte ESC sequences) are removed. The
//! [`Sanitizer`] keeps state between chunks, so a sequence split across two stream deltas is still
//! removed whole; [`sanitize`] is the one-shot form for complete text.

use std::borrow::Cow;

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
#[derive(Debug, Clone, Default)]
pub struct Sanitizer {
    state: State,
}

impl Sanitizer {
    pub fn new() -> Self {
        Self::default()
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
                        out.push(c);
                        State::Text
                    }
                    c if is_control(c) => State::Text,
                    c => {
                        out.push(c);
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
}

fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Clean `text` in one go; borrows when there is nothing to remove.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_control(c) && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    Sanitizer::new().push(text, &mut out);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_plain_text_newlines_and_tabs() {
        assert!(matches!(sanitize("a\tb\nc ü 中"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_sequences_and_controls() {
        let dirty = "red \u{1b}[31mX\u{1b}[0m title\u{1b}]0;pwned\u{7} clip\u{1b}]52;c;aGk=\u{1b}\\ bell\u{7} cr\r del\u{7f} c1\u{9b}2J end";
        assert_eq!(sanitize(dirty), "red X title clip bell cr del c1 end");
    }

    #[test]
    fn split_sequences_are_removed_whole() {
        let text = "a\u{1b}]0;title\u{7}b\u{1b}[1;31mc";
        for split in 0..=text.len() {
            if !text.is_char_boundary(split) {
                continue;
            }
            let mut s = Sanitizer::new();
            let mut out = String::new();
            s.push(&text[..split], &mut out);
            s.push(&text[split..], &mut out);
            assert_eq!(out, "abc", "split at {split}");
        }
    }

    proptest! {
        #[test]
        fn output_never_holds_controls(s in ".*") {
            let clean = sanitize(&s);
            prop_assert!(!clean.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
        }
    }
}
