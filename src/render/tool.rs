//! Tools in the transcript: a `tool_use` block as `tool call: NAME`, then the input as
//! pretty-printed JSON in a dim block drawn like a code block (folded after
//! [`ARGUMENT_ROWS`] rows, so one huge call does not push the conversation away); where the
//! call stands while the loop runs (the question, running, its result); and a `tool_result`,
//! named by its call, folded to [`RESULT_ROWS`] rows.
//!
//! The approval question shows exactly what will run: the arguments above it are the ones
//! the call gets. The JSON is laid out by `serde_json` (it escapes control characters inside strings);
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
    json_block(&mut out, input, width, theme);
    out
}

/// Rows of a call's arguments shown before the rest is folded.
pub const ARGUMENT_ROWS: usize = 12;
/// Rows of a tool result shown before the rest is folded.
pub const RESULT_ROWS: usize = 6;

/// `value` as pretty JSON on the code background, folded after [`ARGUMENT_ROWS`] rows.
fn json_block(out: &mut Vec<Line<'static>>, value: &Value, width: usize, theme: &Theme) {
    let json = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    let json = crate::sanitize::strip_controls(&json);
    let style = theme.dim.bg(theme.code_bg);
    let gutter = [Span::styled(" ", style)];
    let cont = [Span::styled("↪", style)];
    let rows: Vec<&str> = json.lines().collect();
    for row in rows.iter().take(ARGUMENT_ROWS) {
        wrap::wrap_hard_into(
            out,
            &[Span::styled((*row).to_owned(), style)],
            width,
            &gutter,
            &cont,
            Some(style),
        );
    }
    if rows.len() > ARGUMENT_ROWS {
        folded(out, rows.len() - ARGUMENT_ROWS, width, theme);
    }
}

/// `… N more lines`, dim.
fn folded(out: &mut Vec<Line<'static>>, more: usize, width: usize, theme: &Theme) {
    let plural = if more == 1 { "" } else { "s" };
    wrap::wrap_into(
        out,
        &[Span::styled(
            format!(" … {more} more line{plural}"),
            theme.dim,
        )],
        width,
        &[],
        &[],
    );
}

/// Where a call stands while the loop runs: the question (on the call the keys answer now,
/// `asked`; the arguments it will run with, when the user edited them), running, or its
/// result until all calls have ended.
pub fn tool_call_state_lines(
    call: &crate::app::tools::ToolCall,
    asked: bool,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    use crate::app::tools::CallState;
    let width = usize::from(width);
    let mut out = Vec::new();
    if width == 0 {
        return out;
    }
    if let Some(edited) = &call.edited {
        wrap::wrap_into(
            &mut out,
            &[Span::styled(
                "runs with the arguments you edited:",
                theme.warning,
            )],
            width,
            &[],
            &[],
        );
        json_block(&mut out, edited, width, theme);
    }
    let line = |text: String, style| vec![Span::styled(text, style)];
    let spans = match &call.state {
        CallState::Asking if !asked => line(
            "· waits: the call above is answered first".to_owned(),
            theme.dim,
        ),
        CallState::Asking => line(
            "▶ run it?  y once · a always in this conversation · n refuse · e edit · Esc stops"
                .to_owned(),
            theme.warning.add_modifier(Modifier::BOLD),
        ),
        CallState::Running => line("⋯ running".to_owned(), theme.dim),
        CallState::Done(outcome) => {
            let mut lines = result_rows(&outcome.summary, outcome.is_error, width, theme);
            out.append(&mut lines);
            return out;
        }
    };
    wrap::wrap_into(&mut out, &spans, width, &[], &[]);
    out
}

/// A `tool_result` as the transcript shows it: `↳ NAME` (its call's tool), then its text
/// folded to [`RESULT_ROWS`] rows; an error in the error colour.
pub fn tool_result_lines(
    name: Option<&str>,
    text: &str,
    is_error: bool,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut out = Vec::new();
    if width == 0 {
        return out;
    }
    let name = crate::sanitize::strip_controls(name.unwrap_or("tool")).into_owned();
    wrap::wrap_into(
        &mut out,
        &[
            Span::styled("↳ ", theme.dim),
            Span::styled(name, theme.accent),
        ],
        width,
        &[],
        &[],
    );
    out.extend(result_rows(text, is_error, width, theme));
    out
}

/// A result's text, sanitized and folded: `✗` before an error.
fn result_rows(text: &str, is_error: bool, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let clean = crate::sanitize::strip_controls(text);
    let rows: Vec<&str> = clean.trim_end().lines().collect();
    let style = if is_error { theme.error } else { theme.dim };
    if rows.is_empty() {
        let empty = if is_error {
            "✗ failed"
        } else {
            "(no output)"
        };
        wrap::wrap_into(&mut out, &[Span::styled(empty, style)], width, &[], &[]);
        return out;
    }
    for (i, row) in rows.iter().take(RESULT_ROWS).enumerate() {
        let mark = match (i, is_error) {
            (0, true) => "✗ ",
            _ => "  ",
        };
        wrap::wrap_into(
            &mut out,
            &[Span::styled(format!("{mark}{row}"), style)],
            width,
            &[],
            &[],
        );
    }
    if rows.len() > RESULT_ROWS {
        folded(&mut out, rows.len() - RESULT_ROWS, width, theme);
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
