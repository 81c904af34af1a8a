//! Keys of the saved-conversation browser (Ctrl+R): moving, searching, opening, renaming,
//! deleting and exporting, and the preview of the selected row.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::*;
use crate::store::WriteCommand;

use super::overlay::edit_line;

impl App {
    /// Rows for the browser's query `generation`; an answer to an older query is dropped.
    pub(super) fn on_browser_rows(
        &mut self,
        generation: u64,
        rows: Result<Vec<BrowserRow>, String>,
        effects: &mut Vec<Effect>,
    ) {
        if let Overlay::Browser(browser) = &mut self.overlay
            && browser.generation == generation
        {
            browser.loading = false;
            match rows {
                Ok(rows) => {
                    browser.rows = rows;
                    browser.error = None;
                }
                Err(e) => browser.error = Some(e),
            }
            browser.selected = browser.selected.min(browser.rows.len().saturating_sub(1));
            request_preview(browser, effects);
        }
    }

    /// A preview arrived: shown only if its row is still the selected one.
    pub(super) fn on_browser_preview(
        &mut self,
        id: String,
        messages: Vec<crate::store::StoredMessage>,
    ) {
        if let Overlay::Browser(browser) = &mut self.overlay
            && browser
                .selected_row()
                .is_some_and(|r| r.summary.conversation.id == id)
        {
            browser.preview = Some((id, messages));
        }
    }

    pub(super) fn on_browser_key(&mut self, key: KeyEvent, close: bool, effects: &mut Vec<Effect>) {
        let Overlay::Browser(browser) = &mut self.overlay else {
            return;
        };
        match browser.mode {
            BrowserMode::Rename(_) => return self.on_rename_key(key, effects),
            BrowserMode::ConfirmDelete => return self.on_delete_key(key, effects),
            BrowserMode::List => {}
        }
        if close {
            self.overlay = Overlay::None;
            return;
        }
        let count = browser.rows.len();
        let before = browser.selected;
        let mut query_changed = false;
        match key.code {
            KeyCode::Enter => {
                if let Some(row) = browser.selected_row() {
                    let conversation = row.summary.conversation.id.clone();
                    // A search hit opens on the branch that holds it.
                    effects.push(match row.hit_message.clone() {
                        Some(message) => Effect::OpenConversationAt {
                            conversation,
                            message,
                        },
                        None => Effect::OpenConversation(conversation),
                    });
                    self.overlay = Overlay::None;
                }
                return;
            }
            KeyCode::Up => browser.selected = browser.selected.saturating_sub(1),
            KeyCode::Down => browser.selected = (browser.selected + 1).min(count.saturating_sub(1)),
            KeyCode::PageUp => browser.selected = browser.selected.saturating_sub(10),
            KeyCode::PageDown => {
                browser.selected = (browser.selected + 10).min(count.saturating_sub(1))
            }
            KeyCode::F(2) => {
                if let Some(row) = browser.selected_row() {
                    browser.mode = BrowserMode::Rename(row.summary.conversation.title.clone());
                }
            }
            KeyCode::Delete if browser.selected_row().is_some() => {
                browser.mode = BrowserMode::ConfirmDelete;
            }
            KeyCode::Char('s') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(row) = browser.selected_row() {
                    effects.push(Effect::Export(row.summary.conversation.id.clone()));
                }
            }
            _ => query_changed = edit_line(&mut browser.query, key),
        }
        if query_changed {
            effects.push(browser.requery());
        } else if browser.selected != before {
            request_preview(browser, effects);
        }
    }

    /// Typing a new title for the selected row: Enter renames it (and its open tab), Esc
    /// gives up.
    fn on_rename_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let Overlay::Browser(browser) = &mut self.overlay else {
            return;
        };
        let BrowserMode::Rename(title) = &mut browser.mode else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                let title = title.trim().to_owned();
                browser.mode = BrowserMode::List;
                if let Some(row) = browser.rows.get_mut(browser.selected)
                    && !title.is_empty()
                {
                    row.summary.conversation.title = title.clone();
                    let id = row.summary.conversation.id.clone();
                    for pane in self.panes.iter_mut().filter(|p| p.id() == id) {
                        pane.conversation.title = title.clone();
                    }
                    effects.push(Effect::Save(WriteCommand::Rename { id, title }));
                    self.notify(Notice::info("renamed"));
                }
            }
            KeyCode::Esc => browser.mode = BrowserMode::List,
            _ => {
                edit_line(title, key);
            }
        }
    }

    /// "Delete this conversation?": `y` deletes it, any other key keeps it.
    fn on_delete_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let Overlay::Browser(browser) = &mut self.overlay else {
            return;
        };
        browser.mode = BrowserMode::List;
        if !matches!(key.code, KeyCode::Char('y' | 'Y')) || browser.selected >= browser.rows.len() {
            return;
        }
        let row = browser.rows.remove(browser.selected);
        browser.selected = browser.selected.min(browser.rows.len().saturating_sub(1));
        browser.preview = None;
        let id = row.summary.conversation.id;
        request_preview(browser, effects);
        // Close (and stop) an open tab of it first, so its last save precedes the delete
        // instead of failing after it.
        if let Some(index) = self.panes.iter().position(|p| p.id() == id) {
            self.close(index, false, effects);
        }
        effects.push(Effect::Save(WriteCommand::DeleteConversation(id)));
        self.notify(Notice::info("conversation deleted"));
    }
}

/// Ask for the selected row's preview unless it is already shown.
pub(super) fn request_preview(browser: &mut BrowserState, effects: &mut Vec<Effect>) {
    let Some(id) = browser
        .selected_row()
        .map(|r| r.summary.conversation.id.clone())
    else {
        browser.preview = None;
        return;
    };
    if browser
        .preview
        .as_ref()
        .is_none_or(|(shown, _)| *shown != id)
    {
        // Never show another conversation's preview while this one loads.
        browser.preview = None;
        effects.push(Effect::BrowserPreview(id));
    }
}
