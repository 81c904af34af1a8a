//! What a reply did on the server's side, as the transcript shows it: one dim line per
//! server-tool call (`⌕ web search: QUERY · 5 results`), and the sources its text cites,
//! numbered, after the text.
//!
//! These blocks are kept as received (`ContentBlock::Unknown`) so they go back exactly; this
//! module only reads them. Every string in them came from the server, so each goes through
//! [`crate::sanitize`] before it is laid out.

use ratatui::text::{Line, Span};
use serde_json::Value;

use super::theme::Theme;
use super::wrap;
use crate::api::ContentBlock;

/// One line per server-tool call in `content`, with what its result held.
pub fn server_tool_lines(
    content: &[ContentBlock],
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for block in content {
        let ContentBlock::Unknown(call) = block else {
            continue;
        };
        if call.get("type").and_then(Value::as_str) != Some("server_tool_use") {
            continue;
        }
        let name = call.get("name").and_then(Value::as_str).unwrap_or("tool");
        let input = call.get("input");
        let what = input
            .and_then(|i| i.get("query").or_else(|| i.get("url")))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| input.map(Value::to_string))
            .unwrap_or_default();
        let mut text = format!("⌕ {}: {what}", name.replace('_', " "));
        match result_of(content, call.get("id")) {
            Some(Outcome::Found(n)) => {
                text.push_str(&format!(" · {n} result{}", if n == 1 { "" } else { "s" }))
            }
            Some(Outcome::Failed(code)) => text.push_str(&format!(" · failed ({code})")),
            None => {}
        }
        let text = crate::sanitize::strip_controls(&text).into_owned();
        wrap::wrap_into(
            &mut out,
            &[Span::styled(text, theme.dim)],
            usize::from(width),
            &[],
            &[Span::raw("  ")],
        );
    }
    out
}

enum Outcome {
    Found(usize),
    Failed(String),
}

/// What the result block answering call `id` holds.
fn result_of(content: &[ContentBlock], id: Option<&Value>) -> Option<Outcome> {
    content.iter().find_map(|block| {
        let ContentBlock::Unknown(result) = block else {
            return None;
        };
        let kind = result.get("type").and_then(Value::as_str)?;
        if !kind.ends_with("_tool_result") || result.get("tool_use_id") != id {
            return None;
        }
        match result.get("content") {
            Some(Value::Array(items)) => Some(Outcome::Found(items.len())),
            Some(error) => {
                let code = error.get("error_code").and_then(Value::as_str);
                Some(Outcome::Failed(code.unwrap_or("error").to_owned()))
            }
            None => None,
        }
    })
}

/// The sources the reply's text cites, each once, numbered: `[1] title · url`.
pub fn source_lines(content: &[ContentBlock], width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    let citations = content.iter().filter_map(|block| match block {
        ContentBlock::Text {
            citations: Some(c), ..
        } => Some(c),
        _ => None,
    });
    for citation in citations.flatten() {
        let field = |name: &str| citation.get(name).and_then(Value::as_str).unwrap_or("");
        let title = match field("title") {
            "" => field("document_title"),
            title => title,
        };
        let source = (title.to_owned(), field("url").to_owned());
        let named = !source.0.is_empty() || !source.1.is_empty();
        if named && !sources.contains(&source) {
            sources.push(source);
        }
    }
    let mut out = Vec::new();
    if sources.is_empty() {
        return out;
    }
    out.push(Line::from(Span::styled("sources", theme.dim)));
    for (n, (title, url)) in sources.iter().enumerate() {
        let parts: Vec<&str> = [title.as_str(), url.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let text = format!("[{}] {}", n + 1, parts.join(" · "));
        let text = crate::sanitize::strip_controls(&text).into_owned();
        wrap::wrap_into(
            &mut out,
            &[Span::styled(text, theme.dim)],
            usize::from(width),
            &[],
            &[Span::raw("    ")],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block(v: Value) -> ContentBlock {
        serde_json::from_value(v).unwrap()
    }

    fn texts(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn a_search_shows_its_query_and_result_count_and_the_cited_sources() {
        let content = vec![
            block(
                json!({"type": "server_tool_use", "id": "s1", "name": "web_search",
                "input": {"query": "tern migration\u{1b}[2J"}}),
            ),
            block(
                json!({"type": "web_search_tool_result", "tool_use_id": "s1",
                "content": [{"type": "web_search_result"}, {"type": "web_search_result"}]}),
            ),
            block(
                json!({"type": "text", "text": "They fly far.", "citations": [
                    {"type": "web_search_result_location", "url": "https://a.example", "title": "A"},
                    {"type": "web_search_result_location", "url": "https://a.example", "title": "A"},
                    {"type": "char_location", "document_title": "Notes"},
                ]}),
            ),
        ];
        let theme = Theme::default();
        assert_eq!(
            texts(&server_tool_lines(&content, 80, &theme)),
            ["⌕ web search: tern migration · 2 results"]
        );
        assert_eq!(
            texts(&source_lines(&content, 80, &theme)),
            ["sources", "[1] A · https://a.example", "[2] Notes"]
        );
    }

    #[test]
    fn a_failed_search_says_why_and_a_pending_one_says_nothing_more() {
        let content = vec![
            block(
                json!({"type": "server_tool_use", "id": "s1", "name": "web_search",
                "input": {"query": "q"}}),
            ),
            block(
                json!({"type": "web_search_tool_result", "tool_use_id": "s1",
                "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}}),
            ),
            block(
                json!({"type": "server_tool_use", "id": "s2", "name": "web_fetch",
                "input": {"url": "https://b.example"}}),
            ),
        ];
        assert_eq!(
            texts(&server_tool_lines(&content, 80, &Theme::default())),
            [
                "⌕ web search: q · failed (max_uses_exceeded)",
                "⌕ web fetch: https://b.example"
            ]
        );
    }
}
