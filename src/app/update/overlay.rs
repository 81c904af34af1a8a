//! Keys while a popup is open: help, the model picker, the code-block chooser (the browser has
//! its own file), and the list and line-editing keys they share.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::help;
use crate::app::keymap::KeyAction;
use crate::app::*;

use super::slash::model_id;

impl App {
    pub(super) fn on_overlay_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.settings.keymap.command_for(&key);
        if matches!(command, Some(KeyAction::Quit)) {
            if self.confirmed(KeyAction::Quit, "quit", self.quit_risk()) {
                self.overlay = Overlay::None;
                self.quit(effects);
            }
            return;
        }
        let close = matches!(command, Some(KeyAction::Stop | KeyAction::Interrupt));
        match self.overlay {
            Overlay::None => {}
            Overlay::Help { .. } => self.on_help_key(key, close),
            Overlay::ModelPicker(_) => self.on_model_picker_key(key, close, effects),
            Overlay::Browser(_) => self.on_browser_key(key, close, effects),
            Overlay::CodePicker { .. } => self.on_code_picker_key(key, close, effects),
        }
    }

    /// The help scrolls no further than its last page (on this screen's size).
    fn on_help_key(&mut self, key: KeyEvent, close: bool) {
        let end = help::max_scroll(&self.settings.keymap, self.screen);
        let Overlay::Help { scroll } = &mut self.overlay else {
            return;
        };
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1).min(end),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
            KeyCode::PageDown => *scroll = scroll.saturating_add(10).min(end),
            _ if close
                || matches!(
                    key.code,
                    KeyCode::F(1) | KeyCode::Char('q') | KeyCode::Enter
                ) =>
            {
                self.overlay = Overlay::None
            }
            _ => {}
        }
    }

    /// The model picker: choose a listed model, or type one the list does not know.
    fn on_model_picker_key(&mut self, key: KeyEvent, close: bool, effects: &mut Vec<Effect>) {
        let Overlay::ModelPicker(picker) = &mut self.overlay else {
            return;
        };
        let count = self
            .models
            .iter()
            .filter(|m| fuzzy_match(m, &picker.filter))
            .count();
        match picker_key(picker, key, count, close) {
            PickerOutcome::Close => {
                self.overlay = Overlay::None;
                self.pane_mut().regen_after_pick = None;
            }
            PickerOutcome::Choose(i) => {
                let filter = picker.filter.clone();
                let chosen = self.filtered_models(&filter).get(i).map(|s| s.to_string());
                self.overlay = Overlay::None;
                if let Some(model) = chosen {
                    self.model_picked(model, effects);
                }
            }
            // An id the list does not know (a gateway may offer more): use it as typed.
            PickerOutcome::Typed(id) => match model_id(&id) {
                Ok(model) => {
                    self.overlay = Overlay::None;
                    self.model_picked(model, effects);
                }
                Err(e) => self.notify(Notice::error(e)),
            },
            PickerOutcome::Stay => {}
        }
    }

    /// The picker chose `model`: it answers the next turn, or regenerates the reply the
    /// picker was opened for (`R` in message selection).
    fn model_picked(&mut self, model: String, effects: &mut Vec<Effect>) {
        match self.pane_mut().regen_after_pick.take() {
            Some(index) => self.regenerate(index, Some(model), effects),
            None => self.choose_model(model, effects),
        }
    }

    /// The code-block chooser: the chosen block's code goes to the clipboard.
    fn on_code_picker_key(&mut self, key: KeyEvent, close: bool, effects: &mut Vec<Effect>) {
        let Overlay::CodePicker { picker, blocks } = &mut self.overlay else {
            return;
        };
        let matching: Vec<usize> = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| fuzzy_match(&b.label, &picker.filter))
            .map(|(i, _)| i)
            .collect();
        match picker_key(picker, key, matching.len(), close) {
            PickerOutcome::Close => self.overlay = Overlay::None,
            PickerOutcome::Typed(_) | PickerOutcome::Stay => {}
            PickerOutcome::Choose(i) => {
                if let Some(block) = matching.get(i).map(|&i| blocks[i].clone()) {
                    effects.push(Effect::Copy {
                        text: block.code,
                        what: "the code block".into(),
                    });
                }
                self.overlay = Overlay::None;
            }
        }
    }
}

pub(super) enum PickerOutcome {
    Stay,
    Close,
    Choose(usize),
    /// Enter on a filter that matches nothing: the filter text itself.
    Typed(String),
}

/// Shared list-popup keys: type to filter, arrows to move, Enter to choose, Esc to close.
pub(super) fn picker_key(
    picker: &mut PickerState,
    key: KeyEvent,
    count: usize,
    close: bool,
) -> PickerOutcome {
    if close {
        return PickerOutcome::Close;
    }
    match key.code {
        KeyCode::Enter if count > 0 => {
            return PickerOutcome::Choose(picker.selected.min(count - 1));
        }
        KeyCode::Enter if !picker.filter.trim().is_empty() => {
            return PickerOutcome::Typed(picker.filter.clone());
        }
        KeyCode::Enter => {}
        KeyCode::Up => {
            picker.selected = picker
                .selected
                .checked_sub(1)
                .unwrap_or(count.saturating_sub(1))
        }
        KeyCode::Down | KeyCode::Tab => {
            picker.selected = if picker.selected + 1 >= count {
                0
            } else {
                picker.selected + 1
            }
        }
        KeyCode::PageUp | KeyCode::Home => picker.selected = 0,
        KeyCode::PageDown | KeyCode::End => picker.selected = count.saturating_sub(1),
        _ => {
            if edit_line(&mut picker.filter, key) {
                picker.selected = 0;
            }
        }
    }
    PickerOutcome::Stay
}

/// The keys of a one-line field (a filter, a search, a title), as readline has them:
/// characters, Backspace, Ctrl+W (the word before the end), Ctrl+U (everything). Whether the
/// text changed.
pub(super) fn edit_line(text: &mut String, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Backspace => text.pop().is_some(),
        KeyCode::Char('w') if ctrl => {
            let kept = text
                .trim_end()
                .trim_end_matches(|c: char| !c.is_whitespace())
                .len();
            let changed = kept < text.len();
            text.truncate(kept);
            changed
        }
        KeyCode::Char('u') if ctrl => {
            let changed = !text.is_empty();
            text.clear();
            changed
        }
        KeyCode::Char(c) if !ctrl => {
            text.push(c);
            true
        }
        _ => false,
    }
}
