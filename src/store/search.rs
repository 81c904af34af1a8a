//! Turning what a person types into an FTS5 query that can never be a syntax error.
//!
//! FTS5 has its own query language (`AND`, `OR`, `NOT`, `NEAR`, `"phrases"`, `col:`, `^`, `*`,
//! parentheses), and a stray quote or bracket in user text is a syntax error. Users type words,
//! code and paths, not query syntax, so every whitespace-separated piece becomes one quoted
//! string (inner `"` doubled) followed by `*`: a prefix match on that text, with whatever
//! punctuation it contains acting as a token separator, exactly as when the text was indexed.
//! Pieces are joined by spaces, which FTS5 reads as AND. Pieces with no letter or digit would be
//! empty phrases and are dropped; if nothing remains there is no query at all.

/// At most this many words are searched for (the rest are ignored).
pub const MAX_TERMS: usize = 32;

/// Roughly how many words of context a snippet shows.
pub const SNIPPET_TOKENS: i64 = 16;

/// The FTS5 query for `input`, or `None` if it contains no searchable word.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| c.is_whitespace() || c == '\0')
        .filter(|piece| piece.chars().any(char::is_alphanumeric))
        .take(MAX_TERMS)
        .map(|piece| format!("\"{}\"*", piece.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" "))
    }
}

/// Split a snippet into `(text, is_match)` runs using the match markers, for highlighting.
/// Unbalanced markers are tolerated (a stray end is dropped; an open match runs to the end).
pub fn snippet_runs(snippet: &str) -> Vec<(&str, bool)> {
    let mut runs = Vec::new();
    let mut in_match = false;
    let mut start = 0;
    for (i, c) in snippet.char_indices() {
        let marker = match c {
            super::MATCH_START => Some(true),
            super::MATCH_END => Some(false),
            _ => None,
        };
        if let Some(next) = marker {
            if i > start {
                runs.push((&snippet[start..i], in_match));
            }
            in_match = next;
            start = i + c.len_utf8();
        }
    }
    if start < snippet.len() {
        runs.push((&snippet[start..], in_match));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_prefix_terms() {
        assert_eq!(
            fts_query("borrow checker").as_deref(),
            Some(r#""borrow"* "checker"*"#)
        );
        assert_eq!(
            fts_query(r#"say "hi""#).as_deref(),
            Some(r#""say"* """hi"""*"#)
        );
        assert_eq!(
            fts_query("NOT a OR b").as_deref(),
            Some(r#""NOT"* "a"* "OR"* "b"*"#)
        );
        assert_eq!(fts_query("-x").as_deref(), Some(r#""-x"*"#));
        assert_eq!(fts_query("  * ( ) - \" ").as_deref(), None);
        assert_eq!(fts_query("").as_deref(), None);
        assert_eq!(fts_query("a\0b").as_deref(), Some(r#""a"* "b"*"#));
    }

    #[test]
    fn terms_are_capped() {
        let q = fts_query(&"w ".repeat(100)).unwrap();
        assert_eq!(q.matches('*').count(), MAX_TERMS);
    }

    #[test]
    fn snippet_runs_follow_markers() {
        assert_eq!(
            snippet_runs("a \u{1}b\u{2} c"),
            vec![("a ", false), ("b", true), (" c", false)]
        );
        assert_eq!(snippet_runs("\u{1}x"), vec![("x", true)]);
        assert_eq!(snippet_runs("x\u{2}y"), vec![("x", false), ("y", false)]);
        assert!(snippet_runs("").is_empty());
    }
}
