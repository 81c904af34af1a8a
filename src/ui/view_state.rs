//! The view's own state, kept between frames: the theme, each pane's line cache and scroll
//! position, and the browser preview's lines; plus what a frame lends every widget
//! ([`RenderCtx`]).
//!
//! None of it is application state: the reducer never sees it, and losing it only costs a
//! re-render.

use std::collections::HashMap;

use ratatui::text::Line;

use crate::app::{App, ChatMessage, KeyAction, ScrollBy};
use crate::render::Theme;

use super::message::message_lines;
use super::transcript::PaneView;

/// What [`ViewState::split`] lends a frame.
pub type Split<'a> = (
    &'a Theme,
    time::UtcOffset,
    &'a mut PaneView,
    &'a mut PreviewCache,
    Option<&'a mut super::thumbnail::Thumbnails>,
);

/// All view state the frame needs that is not application state.
pub struct ViewState {
    pub theme: Theme,
    panes: HashMap<String, PaneView>,
    pub utc_offset: time::UtcOffset,
    preview: PreviewCache,
    /// Set once at start when the terminal shows images.
    pub thumbnails: Option<super::thumbnail::Thumbnails>,
}

/// The browser preview's lines, kept while the previewed messages, width and theme stay the
/// same (the browser redraws on every key typed in its search box).
#[derive(Default)]
pub struct PreviewCache {
    /// (conversation id, message count, last change, width, height, theme id).
    key: Option<(String, usize, i64, u16, usize, u64)>,
    lines: Vec<Line<'static>>,
}

impl PreviewCache {
    /// The last `height` lines of `messages` drawn as the transcript draws them: only the
    /// messages needed to fill `height` are rendered.
    pub fn lines(
        &mut self,
        id: &str,
        messages: &[crate::store::StoredMessage],
        width: u16,
        height: usize,
        ctx: &RenderCtx,
    ) -> &[Line<'static>] {
        let key = (
            id.to_owned(),
            messages.len(),
            messages.iter().map(|m| m.updated_at).max().unwrap_or(0),
            width,
            height,
            ctx.theme.id(),
        );
        if self.key.as_ref() != Some(&key) {
            let mut chunks = Vec::new();
            let mut rows = 0;
            for stored in messages.iter().rev() {
                let lines = message_lines(&ChatMessage::new(stored.clone()), width, ctx);
                rows += lines.len();
                chunks.push(lines);
                if rows >= height {
                    break;
                }
            }
            self.lines = chunks.into_iter().rev().flatten().collect();
            self.key = Some(key);
        }
        let skip = self.lines.len().saturating_sub(height);
        &self.lines[skip..]
    }
}

impl ViewState {
    pub fn new(theme: Theme, utc_offset: time::UtcOffset) -> ViewState {
        ViewState {
            theme,
            panes: HashMap::new(),
            utc_offset,
            preview: PreviewCache::default(),
            thumbnails: None,
        }
    }

    pub fn pane(&mut self, id: &str) -> &mut PaneView {
        self.panes.entry(id.to_owned()).or_default()
    }

    /// The theme, the clock offset, one pane's view and the browser preview's cache, borrowed
    /// together for a frame.
    pub fn split(&mut self, id: &str) -> Split<'_> {
        let view = self.panes.entry(id.to_owned()).or_default();
        (
            &self.theme,
            self.utc_offset,
            view,
            &mut self.preview,
            self.thumbnails.as_mut(),
        )
    }

    /// Forget views of panes that are closed.
    pub fn retain(&mut self, app: &App) {
        self.panes
            .retain(|id, _| app.panes.iter().any(|p| p.conversation.id == *id));
    }

    /// Catch up with the app after an update: take its queued scrolls, forget closed tabs.
    pub fn sync(&mut self, app: &mut App) {
        for scroll in std::mem::take(&mut app.scrolls) {
            self.scroll(app, &scroll.conversation, scroll.by);
        }
        self.retain(app);
    }

    /// Apply a scroll request to a pane's view.
    pub fn scroll(&mut self, app: &App, conversation: &str, by: ScrollBy) {
        let Some(pane) = app.panes.iter().find(|p| p.conversation.id == conversation) else {
            return;
        };
        let offset = self.utc_offset;
        let theme = self.theme.clone();
        let images = self.thumbnails.is_some();
        let keys = KeyHints::from(app);
        let view = self.pane(conversation);
        let ctx = RenderCtx {
            theme: &theme,
            offset,
            keys: &keys,
            images,
        };
        view.scroll(pane, by, &ctx);
    }
}

/// Key labels shown inside messages (e.g. the retry key in an error block).
pub struct KeyHints {
    pub retry: String,
    pub models: String,
    pub new_conversation: String,
}

impl From<&App> for KeyHints {
    fn from(app: &App) -> Self {
        let label = |action| app.settings.keymap.label(action);
        KeyHints {
            retry: label(KeyAction::Retry),
            models: label(KeyAction::ModelPicker),
            new_conversation: label(KeyAction::NewConversation),
        }
    }
}

pub struct RenderCtx<'a> {
    pub theme: &'a Theme,
    pub offset: time::UtcOffset,
    pub keys: &'a KeyHints,
    /// Image attachments get their thumbnail's rows (the terminal shows images).
    pub images: bool,
}
