//! Turning what a person types into an FTS5 query that can never be a syntax error, and keeping
//! broad queries cheap.
//!
//! FTS5 has its own query language (`AND`, `OR`, `NOT`, `NEAR`, `"phrases"`, `col:`, `^`, `*`,
//! parentheses), and a stray quote or bracket in user text is a syntax error. Users type words,
//! code and paths, not query syntax, so every whitespace-separated piece becomes one quoted
//! string (inner `"` doubled): whatever punctuation it contains acts as a token separator,
//! exactly as when the text was indexed. Pieces are joined by spaces, which FTS5 reads as AND.
//! Pieces with no letter or digit would be empty phrases and are dropped; if nothing remains
//! there is no query at all.
//!
//! Each piece is a prefix query (`"borrow"*` finds "borrowing"), except ASCII pieces shorter
//! than [`MIN_PREFIX`] letters, which match whole words: `"t"*` would merge the posting lists of
//! every word starting with t (half a second on 200,000 messages) to find what is in every
//! message anyway. Three-letter prefixes have their own index (`prefix = '3'`), so as-you-type
//! search is fast from the third letter on.
//!
//! Ranking is bounded too: bm25 is computed per matching message, so a query that matches
//! everything ("the") would score all of them. [`RANK_WINDOW`] caps that: when more messages
//! match, only the most recent `RANK_WINDOW` of them are ranked, which for a chat history is
//! the part people are looking for anyway.

/// Broad queries rank only this many of the most recently written matching messages.
pub const RANK_WINDOW: usize = 2_000;

/// ASCII pieces shorter than this match whole words only, not as prefixes.
pub const MIN_PREFIX: usize = 3;

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
        .map(|piece| {
            let quoted = piece.replace('"', "\"\"");
            let letters = piece.chars().filter(|c| c.is_alphanumeric()).count();
            if letters < MIN_PREFIX && piece.is_ascii() {
                format!("\"{quoted}\"")
            } else {
                format!("\"{quoted}\"*")
            }
        })
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
        let q = |s: &str| fts_query(s);
        assert_eq!(
            q("borrow checker").as_deref(),
            Some(r#""borrow"* "checker"*"#)
        );
        assert_eq!(q(r#"say "hi""#).as_deref(), Some(r#""say"* """hi""""#));
        assert_eq!(q("NOT a OR b").as_deref(), Some(r#""NOT"* "a" "OR" "b""#));
        assert_eq!(q("-x").as_deref(), Some(r#""-x""#));
        assert_eq!(q("-xyz").as_deref(), Some(r#""-xyz"*"#));
        // Short non-ASCII words (CJK has no spaces) stay prefixes.
        assert_eq!(q("日本").as_deref(), Some(r#""日本"*"#));
        assert_eq!(q("  * ( ) - \" ").as_deref(), None);
        assert_eq!(q("").as_deref(), None);
        assert_eq!(q("ab\0cd").as_deref(), Some(r#""ab" "cd""#));
    }

    #[test]
    fn terms_are_capped() {
        let q = fts_query(&"word ".repeat(100)).unwrap();
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
