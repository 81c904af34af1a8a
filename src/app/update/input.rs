//! The input line and the key-bound commands: editing, prompt recall, paste, and what each
//! bound key does outside a popup.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::api::Role;
use crate::app::keymap::KeyAction;
use crate::app::*;

impl App {
    pub(super) fn on_input_key(&mut self, key: KeyEvent) {
        let conversation = self.pane().id().to_owned();
        let empty = self.pane().input.is_empty();
        match key.code {
            KeyCode::Up if (empty || self.history_cursor.is_some()) && self.recall(true) => {
                return;
            }
            KeyCode::Down if self.history_cursor.is_some() => {
                self.recall(false);
                return;
            }
            KeyCode::Home if empty => {
                self.scrolls.push(Scroll {
                    conversation,
                    by: ScrollBy::Top,
                });
                return;
            }
            KeyCode::End if empty => {
                self.scrolls.push(Scroll {
                    conversation,
                    by: ScrollBy::Bottom,
                });
                return;
            }
            KeyCode::Backspace if key.modifiers.is_empty() && self.detach_last_on_backspace() => {
                return;
            }
            // Readline's kill to the start of the line (the text area would undo instead).
            KeyCode::Char('u') if key.modifiers == KeyModifiers::CONTROL => {
                self.history_cursor = None;
                self.pane_mut().input.delete_line_by_head();
                return;
            }
            _ => {}
        }
        self.history_cursor = None;
        self.pane_mut().input.input(key);
    }

    /// Step through earlier prompts; `false` when there is nothing to recall.
    pub(super) fn recall(&mut self, older: bool) -> bool {
        if self.prompt_history.is_empty() {
            return false;
        }
        let last = self.prompt_history.len() - 1;
        let next = match (self.history_cursor, older) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        self.history_cursor = next;
        let text = next
            .map(|i| self.prompt_history[i].clone())
            .unwrap_or_default();
        let pane = self.pane_mut();
        pane.input = new_input();
        pane.input.insert_str(&text);
        true
    }

    pub(super) fn on_paste(&mut self, text: &str, effects: &mut Vec<Effect>) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        match &mut self.overlay {
            Overlay::ModelPicker(picker) | Overlay::CodePicker { picker, .. } => {
                picker.filter.push_str(text.lines().next().unwrap_or(""));
                picker.selected = 0;
            }
            Overlay::Browser(browser) => {
                if browser.mode == BrowserMode::List {
                    browser.query.push_str(text.lines().next().unwrap_or(""));
                    effects.push(browser.requery());
                }
            }
            Overlay::Help { .. } => {}
            Overlay::None => {
                self.history_cursor = None;
                self.pane_mut().input.insert_str(&text);
            }
        }
    }

    /// Ctrl+C on a draft: clear it, but keep it one ↑ away.
    pub(super) fn clear_draft(&mut self) {
        let text = self.pane().input_text();
        if self.prompt_history.last() != Some(&text) {
            self.prompt_history.push(text);
        }
        self.history_cursor = None;
        self.pane_mut().input = new_input();
        self.notify(Notice::info("draft cleared — ↑ brings it back"));
    }

    pub(super) fn run_command(&mut self, command: KeyAction, effects: &mut Vec<Effect>) {
        let conversation = self.pane().id().to_owned();
        let scroll = |by| Scroll {
            conversation: conversation.clone(),
            by,
        };
        match command {
            KeyAction::Send => self.send(effects),
            KeyAction::Newline => self.pane_mut().input.insert_newline(),
            KeyAction::Stop => {
                if self.pane().columns.iter().any(|c| c.request.is_some()) {
                    self.stop_columns(None, effects);
                } else if self.pane().is_busy() {
                    self.stop(self.active, effects);
                } else if self.pane().editing.is_some() {
                    self.cancel_edit();
                }
            }
            KeyAction::SelectMessages => self.select_messages(),
            KeyAction::Interrupt => self.interrupt(effects),
            KeyAction::Quit => {
                if self.confirmed(KeyAction::Quit, "quit", self.quit_risk()) {
                    self.quit(effects);
                }
            }
            KeyAction::ModelPicker => self.open_model_picker(),
            KeyAction::Browser => self.open_browser(effects),
            KeyAction::NewConversation => {
                let mut pane = self.new_pane();
                pane.model = self.pane().model.clone();
                self.panes.push(pane);
                self.switch_to(self.panes.len() - 1, effects);
            }
            KeyAction::CloseConversation => self.close_conversation(effects),
            KeyAction::NextTab => self.switch_to((self.active + 1) % self.panes.len(), effects),
            KeyAction::PrevTab => {
                let index = (self.active + self.panes.len() - 1) % self.panes.len();
                self.switch_to(index, effects)
            }
            KeyAction::PageUp => self.scrolls.push(scroll(ScrollBy::Pages(-1))),
            KeyAction::PageDown => self.scrolls.push(scroll(ScrollBy::Pages(1))),
            KeyAction::ScrollUp => self.scrolls.push(scroll(ScrollBy::Lines(-1))),
            KeyAction::ScrollDown => self.scrolls.push(scroll(ScrollBy::Lines(1))),
            KeyAction::Top => self.scrolls.push(scroll(ScrollBy::Top)),
            KeyAction::Bottom => self.scrolls.push(scroll(ScrollBy::Bottom)),
            KeyAction::Editor => effects.push(Effect::Editor(self.pane().input_text())),
            KeyAction::CopyReply => self.copy_reply(effects),
            KeyAction::CopyCode => self.copy_code(),
            KeyAction::Retry => self.retry(effects),
            KeyAction::ToggleThinking => {
                let pane = self.pane_mut();
                pane.show_thinking = !pane.show_thinking;
            }
            KeyAction::PasteImage => {
                self.start_attach(crate::app::attach::AttachSource::Clipboard, effects)
            }
            KeyAction::Complete => {
                self.complete(effects);
            }
            KeyAction::Help => self.overlay = Overlay::Help { scroll: 0 },
        }
    }

    /// Stop, else clear (undoably), else quit on a second press: a double tap during a reply
    /// stops it and asks, and never loses the draft or leaves.
    fn interrupt(&mut self, effects: &mut Vec<Effect>) {
        if self.pane().is_busy() {
            self.stop(self.active, effects);
        } else if !self.pane().input.is_empty() {
            self.clear_draft();
        } else {
            let risk = self.quit_risk().unwrap_or_default();
            if self.confirmed(KeyAction::Interrupt, "quit", Some(risk)) {
                self.quit(effects);
            }
        }
    }

    /// The model picker, on the pane's current model.
    pub(super) fn open_model_picker(&mut self) {
        let current = self.pane().model.clone();
        let selected = self.models.iter().position(|m| *m == current).unwrap_or(0);
        self.overlay = Overlay::ModelPicker(PickerState {
            filter: String::new(),
            selected,
        });
    }

    /// The browser, asking for its first rows.
    fn open_browser(&mut self, effects: &mut Vec<Effect>) {
        let browser = BrowserState {
            generation: 1,
            loading: true,
            ..Default::default()
        };
        self.overlay = Overlay::Browser(Box::new(browser));
        effects.push(Effect::BrowserQuery {
            generation: 1,
            query: String::new(),
        });
    }

    /// Close this tab, asking first if that would cut a reply short or lose a draft.
    fn close_conversation(&mut self, effects: &mut Vec<Effect>) {
        let pane = self.pane();
        let risk = if pane.is_busy() {
            Some("a reply is streaming".to_owned())
        } else if pane.has_draft() {
            Some("it has an unsent draft".to_owned())
        } else {
            None
        };
        if self.confirmed(KeyAction::CloseConversation, "close this tab", risk) {
            self.close(self.active, true, effects);
        }
    }

    fn copy_reply(&mut self, effects: &mut Vec<Effect>) {
        let last = self
            .pane()
            .messages
            .iter()
            .rev()
            .find(|m| m.role() == Role::Assistant && !m.text.is_empty());
        match last {
            Some(message) => effects.push(Effect::Copy {
                text: message.text.clone(),
                what: "the last reply".into(),
            }),
            None => self.notify(Notice::info("no reply to copy yet")),
        }
    }

    /// The code-block chooser, or a notice when there is no code to copy.
    fn copy_code(&mut self) {
        let blocks = self.code_choices();
        if blocks.is_empty() {
            self.notify(Notice::info("no code blocks in this conversation"));
        } else {
            self.overlay = Overlay::CodePicker {
                picker: PickerState::default(),
                blocks,
            };
        }
    }

    /// Code blocks of the pane's replies, newest reply first.
    pub(super) fn code_choices(&self) -> Vec<CodeChoice> {
        let mut out = Vec::new();
        let replies = self
            .pane()
            .messages
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, m)| m.role() == Role::Assistant);
        for (index, message) in replies {
            for (n, block) in crate::render::code_blocks(&message.text)
                .into_iter()
                .enumerate()
            {
                let first = block
                    .code
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let lang = if block.lang.is_empty() {
                    "text"
                } else {
                    &block.lang
                };
                out.push(CodeChoice {
                    label: format!("msg {} · #{} {lang} · {}", index + 1, n + 1, first.trim()),
                    code: block.code,
                });
            }
        }
        out
    }
}
