//! A `tool_use` block as the transcript shows it: `tool call: NAME`, then the input as
//! pretty-printed JSON in a dim block drawn like a code block.
//!
//! tern does not run tools, so the call is shown for the reader to see what the model asked
//! for. The JSON is laid out by `serde_json` (it escapes control characters inside strings);
//! the name and the text still go through [`crate::sanitize`], which every server string does.
//! Rows are hard-wrapped like code (nothing hidden, `↪` on continuation rows) and padded with
//! the code background so the block reads as one.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::theme::Theme;
use super::wrap;

/// The lines of one tool call, at most `width` columns wide.
pub fn tool_use_lines(name: &str, input: &Value, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut out = Vec::new();
    if width == 0 {
        return out;
    }
    let name = crate::sanitize::strip_controls(name);
    wrap::wrap_into(
        &mut out,
        &[
            Span::styled("tool call: ", theme.dim),
            Span::styled(name.into_owned(), theme.accent.add_modifier(Modifier::BOLD)),
        ],
        width,
        &[],
        &[],
    );
    let json = serde_json::to_string_pretty(input).unwrap_or_else(|_| input.to_string());
    let json = crate::sanitize::strip_controls(&json);
    let style = theme.dim.bg(theme.code_bg);
    let gutter = [Span::styled(" ", style)];
    let cont = [Span::styled("↪", style)];
    for row in json.lines() {
        wrap::wrap_hard_into(
            &mut out,
            &[Span::styled(row.to_owned(), style)],
            width,
            &gutter,
            &cont,
            Some(style),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::wrap::tests::{cell_width, text_of};

    #[test]
    fn shows_the_name_and_pretty_input() {
        let theme = Theme::default();
        let input = serde_json::json!({"location": "San Francisco, CA", "unit": "celsius"});
        let lines = tool_use_lines("get_weather", &input, 40, &theme);
        let text: Vec<String> = lines.iter().map(text_of).collect();
        assert_eq!(text[0], "tool call: get_weather");
        assert_eq!(text[1].trim_end(), " {");
        assert_eq!(text[2].trim_end(), r#"   "location": "San Francisco, CA","#);
        assert_eq!(text[3].trim_end(), r#"   "unit": "celsius""#);
        assert_eq!(text[4].trim_end(), " }");
        // The block is padded to the width on the code background.
        for line in &lines[1..] {
            assert_eq!(cell_width(line), 40, "{line:?}");
            assert!(line.spans.iter().all(|s| s.style.bg == Some(theme.code_bg)));
        }
    }

    #[test]
    fn never_wider_than_asked_and_never_a_control_character() {
        let theme = Theme::default();
        let input = serde_json::json!({"k\u{1b}[2J": "\u{1b}]52;c;ZXZpbA==\u{7} and a long value"});
        for width in [0u16, 1, 2, 5, 13, 80] {
            for line in tool_use_lines("evil\u{1b}]0;t\u{7}name", &input, width, &theme) {
                assert!(cell_width(&line) <= usize::from(width), "{line:?}");
                let text = text_of(&line);
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
        }
    }
}
