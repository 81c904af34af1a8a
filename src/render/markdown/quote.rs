//! Block quotes: a container that draws a bar on every line inside it.
//!
//! A quote is a level on the container stack, so nested blocks (lists, code, other quotes)
//! get the bar through the shared line prefixes without knowing they are quoted; the quote's
//! text style comes from [`super::renderer::Renderer::base_style`].

use ratatui::style::Modifier;
use ratatui::text::Span;

use super::renderer::{Level, LevelKind, Renderer};

const QUOTE_BAR: &str = "│ ";

impl Renderer<'_, '_> {
    pub(super) fn start_quote(&mut self, offset: usize) {
        self.open_block(offset);
        let style = self.theme.quote.remove_modifier(Modifier::ITALIC);
        self.levels.push(Level {
            kind: LevelKind::Quote,
            marker: None,
            indent: Span::styled(QUOTE_BAR, style),
            blocks: 0,
            non_list: 0,
        });
    }

    pub(super) fn end_quote(&mut self) {
        self.flush_inline();
        if self.levels.len() > 1 {
            self.levels.pop();
        }
    }
}
