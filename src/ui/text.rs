//! Drawing primitives every widget shares: a fast one-line writer, outside text as marked spans,
//! token counts as the view shows them, and the spinner.
//!
//! They sit below the widgets (which never import each other) so that a widget file holds only
//! its own layout.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::app::{App, Tokens};
use crate::format::format_tokens;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// The spinner's current frame (the driver advances `App::spinner_frame` while a pane is busy).
pub(super) fn spinner(app: &App) -> &'static str {
    SPINNER[app.spinner_frame() % SPINNER.len()]
}

/// `12 in · 340 out`, with `~` on an estimated output count; the input side is left out when
/// nothing counted it. `total_input` folds the cache counters into the input.
pub fn format_in_out(tokens: &Tokens, total_input: bool) -> String {
    let usage = &tokens.usage;
    let input = if total_input {
        usage.total_input()
    } else {
        usage.input_tokens
    };
    let mark = if tokens.estimated { "~" } else { "" };
    let output = format!("{mark}{} out", format_tokens(usage.output_tokens));
    if tokens.estimated && input == 0 {
        output
    } else {
        format!("{} in · {output}", format_tokens(input))
    }
}

/// Outside text as spans for one line: clean text in `style`, bidi and invisible characters
/// as `⟨U+XXXX⟩` markers in a dim style of their own.
pub(super) fn marked(text: &str, style: Style) -> Vec<Span<'static>> {
    crate::sanitize::layout_pieces(text)
        .into_iter()
        .map(|(piece, marker)| {
            let piece = piece.replace(['\n', '\t'], " ");
            if marker {
                Span::styled(piece, style.add_modifier(Modifier::DIM))
            } else {
                Span::styled(piece, style)
            }
        })
        .collect()
}

/// Draw one line. ASCII spans (most of a transcript) are written cell by cell, skipping the
/// grapheme segmentation and width lookups `Span::render` does for every character; other spans
/// go through ratatui. This halves the cost of a dense frame (see `benches/ui.rs`).
pub(super) fn render_line(line: &Line<'_>, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    if line.style != Style::default() {
        buf.set_style(area, line.style);
    }
    let right = area.x + area.width;
    let mut x = area.x;
    for span in &line.spans {
        if x >= right {
            break;
        }
        if span.content.is_ascii() {
            let start = buf.index_of(x, area.y);
            let room = usize::from(right - x);
            let bytes = &span.content.as_bytes()[..span.content.len().min(room)];
            for (cell, byte) in buf.content[start..start + bytes.len()]
                .iter_mut()
                .zip(bytes)
            {
                // A space on a blank cell only needs its style (frames start blank).
                if *byte != b' ' || cell.symbol() != " " {
                    cell.set_char(char::from(*byte));
                }
                cell.set_style(span.style);
            }
            x += bytes.len() as u16;
        } else {
            let rect = Rect::new(x, area.y, right - x, 1);
            span.render(rect, buf);
            x = x.saturating_add(span.width() as u16).min(right);
        }
    }
}
