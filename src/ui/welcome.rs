//! What an empty conversation shows: the keys to start with, the endpoint, and how to get going
//! without an API key.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::{App, KeyAction};
use crate::render::Theme;

/// The welcome text, a third of the way down `area`.
pub(super) fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let mut lines = intro(app, theme);
    if !app.settings.has_key {
        lines.extend(without_a_key(app, theme));
    }
    if let Some(problem) = &app.store_problem {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!("⚠ {problem}"),
            theme.warning,
        )));
    }
    let width = area.width.saturating_sub(4);
    let height = wrapped_rows(&lines, width).min(area.height);
    let top = area.y + area.height.saturating_sub(height) / 3;
    Paragraph::new(lines).wrap(Wrap { trim: false }).render(
        Rect::new(area.x + 2, top, area.width.saturating_sub(4), height),
        buf,
    );
}

/// What tern is, the first keys to know, and the endpoint.
fn intro(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let keys = &app.settings.keymap;
    vec![
        Line::from(Span::styled("tern", theme.heading)),
        Line::from(Span::styled(
            "Chat with Claude models from your terminal.",
            theme.text,
        )),
        Line::default(),
        Line::from(vec![
            Span::styled("Type a message and press ", theme.text),
            Span::styled(keys.label(KeyAction::Send), theme.accent),
            Span::styled(" · ", theme.dim),
            Span::styled(keys.label(KeyAction::Newline), theme.accent),
            Span::styled(" adds a line · ", theme.text),
            Span::styled(keys.label(KeyAction::Help), theme.accent),
            Span::styled(" lists every key", theme.text),
        ]),
        Line::from(vec![
            Span::styled(keys.label(KeyAction::ModelPicker), theme.accent),
            Span::styled(" changes the model · ", theme.text),
            Span::styled(keys.label(KeyAction::Browser), theme.accent),
            Span::styled(" opens saved conversations · ", theme.text),
            Span::styled(keys.label(KeyAction::Quit), theme.accent),
            Span::styled(" quits", theme.text),
        ]),
        Line::default(),
        Line::from(Span::styled(
            format!("Endpoint: {}", app.settings.base_url),
            theme.dim,
        )),
    ]
}

/// How to set a key, or to try tern against the fake server without one.
fn without_a_key(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let config = app
        .settings
        .config_file
        .clone()
        .unwrap_or_else(|| "config.toml".into());
    vec![
        Line::default(),
        Line::from(Span::styled("No API key is set yet.", theme.warning)),
        Line::from(Span::styled(
            "Quit, then set one and start tern again:",
            theme.text,
        )),
        Line::from(Span::styled(
            "  export APIFREE_API_KEY=your-key",
            theme.inline_code,
        )),
        Line::from(Span::styled(
            format!("  or put api_key_command = \"pass show apifree\" in {config}"),
            theme.text,
        )),
        Line::default(),
        Line::from(Span::styled(
            "No key? Try tern against its built-in fake server:",
            theme.text,
        )),
        Line::from(vec![
            Span::styled("  tern-fake-server", theme.inline_code),
            Span::styled("  (installed next to tern)", theme.dim),
        ]),
        Line::from(Span::styled(
            "  then run the export line it prints, and tern again",
            theme.text,
        )),
        Line::default(),
        Line::from(Span::styled(
            "Saved conversations stay readable without a key.",
            theme.dim,
        )),
    ]
}

/// Rows `lines` take when wrapped at `width` (an estimate by display width).
fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| l.width().div_ceil(width).max(1))
        .sum::<usize>()
        .min(usize::from(u16::MAX)) as u16
}
