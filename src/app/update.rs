//! `App::update`: every state change, as a pure function of the action (plus `App::now`).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::Role;
use crate::api::types::plain_text;
use crate::store::{MessageStatus, StoredMessage, title_from_prompt};

use super::keymap::Command;
use super::state::*;

/// Replies are flushed to the store at least this often while streaming.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The slash commands, as listed when an unknown one is typed (aliases work but are not shown).
const SLASH_COMMANDS: [&str; 6] = ["system", "temp", "top_p", "max", "model", "title"];

impl App {
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut effects = Vec::new();
        match action {
            Action::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key, &mut effects),
            Action::Key(_) | Action::Resize => {}
            Action::Paste(text) => self.on_paste(&text, &mut effects),
            Action::Wheel(lines) => effects.push(Effect::Scroll {
                conversation: self.pane().id().to_owned(),
                by: ScrollBy::Lines(lines),
            }),
            Action::Tick => {
                self.expire_notice();
            }
            Action::Api {
                conversation,
                request,
                event,
            } => self.on_api(&conversation, request, event, &mut effects),
            Action::ModelsFetched(ids) => {
                for id in ids {
                    if !self.models.contains(&id) {
                        self.models.push(id);
                    }
                }
            }
            Action::EditorClosed(Ok(text)) => {
                let pane = self.pane_mut();
                pane.input = new_input();
                pane.input.insert_str(text.trim_end_matches('\n'));
            }
            Action::EditorClosed(Err(e)) => self.notify(Notice::error(format!("editor: {e}"))),
            Action::Notify(notice) => self.notify(notice),
            Action::OpenSaved {
                conversation,
                messages,
            } => {
                if let Some(i) = self.panes.iter().position(|p| p.id() == conversation.id) {
                    self.switch_to(i, &mut effects);
                } else {
                    let pane = Pane::from_saved(&self.settings, conversation, messages, self.now);
                    let replace_empty = self.pane().messages.is_empty()
                        && !self.pane().saved
                        && self.pane().input.is_empty();
                    if replace_empty {
                        self.panes[self.active] = pane;
                    } else {
                        self.panes.push(pane);
                        self.switch_to(self.panes.len() - 1, &mut effects);
                    }
                }
                effects.push(Effect::Scroll {
                    conversation: self.pane().id().to_owned(),
                    by: ScrollBy::Bottom,
                });
            }
            Action::Terminate => self.quit(&mut effects),
            Action::SaveConflict {
                conversation,
                message,
            } => self.on_save_conflict(&conversation, &message, &mut effects),
            Action::Reloaded {
                conversation,
                messages,
            } => self.on_reloaded(conversation, messages, &mut effects),
            Action::RestoreDraft { conversation, text } => {
                if let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation) {
                    if pane.input.is_empty() {
                        pane.input = new_input();
                        pane.input.insert_str(&text);
                    }
                    pane.kept_draft = text;
                }
            }
            Action::BrowserRows { generation, rows } => {
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
                    request_preview(browser, &mut effects);
                }
            }
            Action::BrowserPreview { id, messages } => {
                if let Overlay::Browser(browser) = &mut self.overlay
                    && browser
                        .selected_row()
                        .is_some_and(|r| r.summary.conversation.id == id)
                {
                    browser.preview = Some((id, messages));
                }
            }
        }
        effects
    }

    pub fn notify(&mut self, notice: Notice) {
        self.notice = Some((notice, self.now));
    }

    fn expire_notice(&mut self) {
        if let Some((_, at)) = &self.notice
            && self.now.duration_since(*at) > NOTICE_TTL
        {
            self.notice = None;
        }
    }

    fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        self.expire_notice();
        let command = self.settings.keymap.command_for(&key);
        // A held key repeats: that is not the deliberate second press a question waits for.
        if key.kind == KeyEventKind::Repeat
            && matches!(
                command,
                Some(Command::Quit | Command::Interrupt | Command::CloseConversation)
            )
        {
            return;
        }
        // A question ("press Ctrl+Q again to quit") lasts until any other key.
        if self
            .confirm
            .as_ref()
            .is_some_and(|c| Some(c.command) != command)
        {
            self.confirm = None;
        }
        if self.overlay != Overlay::None {
            self.on_overlay_key(key, effects);
            return;
        }
        if key.modifiers.contains(KeyModifiers::ALT)
            && let KeyCode::Char(d @ '1'..='9') = key.code
        {
            // Alt+9 is the last tab, as in browsers.
            let index = match d {
                '9' => self.panes.len() - 1,
                _ => d as usize - '1' as usize,
            };
            if index < self.panes.len() {
                self.switch_to(index, effects);
            }
            return;
        }
        match command {
            Some(command) => self.run_command(command, effects),
            None => self.on_input_key(key, effects),
        }
    }

    fn on_input_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
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
                effects.push(Effect::Scroll {
                    conversation,
                    by: ScrollBy::Top,
                });
                return;
            }
            KeyCode::End if empty => {
                effects.push(Effect::Scroll {
                    conversation,
                    by: ScrollBy::Bottom,
                });
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
    fn recall(&mut self, older: bool) -> bool {
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

    fn on_paste(&mut self, text: &str, effects: &mut Vec<Effect>) {
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

    fn switch_to(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if index != self.active {
            self.keep_draft(self.active, effects);
        }
        self.active = index;
        self.panes[index].unread = false;
    }

    /// Hand a saved conversation's draft to the store if it changed since it was last kept
    /// (a conversation not saved yet has no row to keep it in).
    fn keep_draft(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let pane = &mut self.panes[index];
        if !pane.saved {
            return;
        }
        let text = if pane.has_draft() {
            pane.input_text()
        } else {
            String::new()
        };
        if text != pane.kept_draft {
            pane.kept_draft = text.clone();
            effects.push(Effect::Save(SaveOp::Draft {
                conversation: pane.conversation.id.clone(),
                text,
            }));
        }
    }

    /// What quitting now would lose or cut short, for the question asked first.
    fn quit_risk(&self) -> Option<String> {
        let busy = self.panes.iter().filter(|p| p.is_busy()).count();
        match busy {
            0 => {}
            1 => return Some("a reply is streaming".into()),
            n => return Some(format!("{n} replies are streaming")),
        }
        let drafts: Vec<String> = (self.panes.iter().enumerate())
            .filter(|(_, p)| p.has_draft())
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        match drafts.as_slice() {
            [] => None,
            [_] if self.panes.len() == 1 => Some("there is an unsent draft".into()),
            [tab] => Some(format!("tab {tab} has an unsent draft")),
            tabs => Some(format!("tabs {} have unsent drafts", tabs.join(", "))),
        }
    }

    /// Whether `command` may go ahead: at once without `risk`; else only as the second press
    /// within [`CONFIRM_WITHIN`], the first one asking ("press Ctrl+Q again to quit: …"; an
    /// empty risk asks without a reason).
    fn confirmed(&mut self, command: Command, what: &str, risk: Option<String>) -> bool {
        let Some(risk) = risk else {
            self.confirm = None;
            return true;
        };
        let conversation = self.pane().id().to_owned();
        if let Some(asked) = self.confirm.take()
            && asked.command == command
            && asked.conversation == conversation
            && self.now.saturating_duration_since(asked.at) <= CONFIRM_WITHIN
        {
            self.notice = None; // the question is answered
            return true;
        }
        self.confirm = Some(Confirm {
            command,
            conversation,
            at: self.now,
        });
        let key = self.settings.keymap.label(command);
        let reason = if risk.is_empty() {
            String::new()
        } else {
            format!(": {risk}")
        };
        self.notify(Notice::info(format!("press {key} again to {what}{reason}")));
        false
    }

    /// Ctrl+C on a draft: clear it, but keep it one ↑ away.
    fn clear_draft(&mut self) {
        let text = self.pane().input_text();
        if self.prompt_history.last() != Some(&text) {
            self.prompt_history.push(text);
        }
        self.history_cursor = None;
        self.pane_mut().input = new_input();
        self.notify(Notice::info("draft cleared — ↑ brings it back"));
    }

    fn run_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        let conversation = self.pane().id().to_owned();
        let scroll = |by| Effect::Scroll {
            conversation: conversation.clone(),
            by,
        };
        match command {
            Command::Send => self.send(effects),
            Command::Newline => self.pane_mut().input.insert_newline(),
            Command::Stop => {
                if self.pane().is_busy() {
                    self.stop(self.active, effects);
                }
            }
            // Stop, else clear (undoably), else quit on a second press: a double tap during a
            // reply stops it and asks, and never loses the draft or leaves.
            Command::Interrupt => {
                if self.pane().is_busy() {
                    self.stop(self.active, effects);
                } else if !self.pane().input.is_empty() {
                    self.clear_draft();
                } else {
                    let risk = self.quit_risk().unwrap_or_default();
                    if self.confirmed(Command::Interrupt, "quit", Some(risk)) {
                        self.quit(effects);
                    }
                }
            }
            Command::Quit => {
                if self.confirmed(Command::Quit, "quit", self.quit_risk()) {
                    self.quit(effects);
                }
            }
            Command::ModelPicker => {
                let current = self.pane().model.clone();
                let selected = self.models.iter().position(|m| *m == current).unwrap_or(0);
                self.overlay = Overlay::ModelPicker(PickerState {
                    filter: String::new(),
                    selected,
                });
            }
            Command::Browser => {
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
            Command::NewConversation => {
                let mut pane = Pane::new(&self.settings, self.now);
                pane.model = self.pane().model.clone();
                self.panes.push(pane);
                self.switch_to(self.panes.len() - 1, effects);
            }
            Command::CloseConversation => {
                let pane = self.pane();
                let risk = if pane.is_busy() {
                    Some("a reply is streaming".to_owned())
                } else if pane.has_draft() {
                    Some("it has an unsent draft".to_owned())
                } else {
                    None
                };
                if self.confirmed(Command::CloseConversation, "close this tab", risk) {
                    self.close(self.active, true, effects);
                }
            }
            Command::NextTab => self.switch_to((self.active + 1) % self.panes.len(), effects),
            Command::PrevTab => {
                let index = (self.active + self.panes.len() - 1) % self.panes.len();
                self.switch_to(index, effects)
            }
            Command::PageUp => effects.push(scroll(ScrollBy::Pages(-1))),
            Command::PageDown => effects.push(scroll(ScrollBy::Pages(1))),
            Command::ScrollUp => effects.push(scroll(ScrollBy::Lines(-1))),
            Command::ScrollDown => effects.push(scroll(ScrollBy::Lines(1))),
            Command::Top => effects.push(scroll(ScrollBy::Top)),
            Command::Bottom => effects.push(scroll(ScrollBy::Bottom)),
            Command::Editor => effects.push(Effect::Editor(self.pane().input_text())),
            Command::CopyReply => {
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
            Command::CopyCode => {
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
            Command::Retry => self.retry(effects),
            Command::Help => self.overlay = Overlay::Help { scroll: 0 },
        }
    }

    /// Code blocks of the pane's replies, newest reply first.
    fn code_choices(&self) -> Vec<CodeChoice> {
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

    fn on_overlay_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.settings.keymap.command_for(&key);
        if matches!(command, Some(Command::Quit)) {
            if self.confirmed(Command::Quit, "quit", self.quit_risk()) {
                self.overlay = Overlay::None;
                self.quit(effects);
            }
            return;
        }
        let close = matches!(command, Some(Command::Stop | Command::Interrupt));
        match &mut self.overlay {
            Overlay::None => {}
            Overlay::Help { scroll } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
                KeyCode::PageDown => *scroll = scroll.saturating_add(10),
                _ if close
                    || matches!(
                        key.code,
                        KeyCode::F(1) | KeyCode::Char('q') | KeyCode::Enter
                    ) =>
                {
                    self.overlay = Overlay::None
                }
                _ => {}
            },
            Overlay::ModelPicker(picker) => {
                let count = self
                    .models
                    .iter()
                    .filter(|m| fuzzy_match(m, &picker.filter))
                    .count();
                match picker_key(picker, key, count, close) {
                    PickerOutcome::Close => self.overlay = Overlay::None,
                    PickerOutcome::Choose(i) => {
                        let filter = picker.filter.clone();
                        let chosen = self.filtered_models(&filter).get(i).map(|s| s.to_string());
                        self.overlay = Overlay::None;
                        if let Some(model) = chosen {
                            self.choose_model(model, effects);
                        }
                    }
                    // An id the list does not know (a gateway may offer more): use it as typed.
                    PickerOutcome::Typed(id) => match model_id(&id) {
                        Ok(model) => {
                            self.overlay = Overlay::None;
                            self.choose_model(model, effects);
                        }
                        Err(e) => self.notify(Notice::error(e)),
                    },
                    PickerOutcome::Stay => {}
                }
            }
            Overlay::Browser(_) => self.on_browser_key(key, close, effects),
            Overlay::CodePicker { picker, blocks } => {
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
    }

    fn on_browser_key(&mut self, key: KeyEvent, close: bool, effects: &mut Vec<Effect>) {
        let Overlay::Browser(browser) = &mut self.overlay else {
            return;
        };
        match &mut browser.mode {
            BrowserMode::Rename(title) => {
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
                            effects.push(Effect::Save(SaveOp::Rename { id, title }));
                            self.notice = Some((Notice::info("renamed"), self.now));
                        }
                    }
                    KeyCode::Esc => browser.mode = BrowserMode::List,
                    _ => {
                        edit_line(title, key);
                    }
                }
                return;
            }
            BrowserMode::ConfirmDelete => {
                browser.mode = BrowserMode::List;
                if matches!(key.code, KeyCode::Char('y' | 'Y'))
                    && browser.selected < browser.rows.len()
                {
                    let row = browser.rows.remove(browser.selected);
                    browser.selected = browser.selected.min(browser.rows.len().saturating_sub(1));
                    browser.preview = None;
                    let id = row.summary.conversation.id;
                    request_preview(browser, effects);
                    // Close (and stop) an open tab of it first, so its last save precedes
                    // the delete instead of failing after it.
                    if let Some(index) = self.panes.iter().position(|p| p.id() == id) {
                        self.close(index, false, effects);
                    }
                    effects.push(Effect::Save(SaveOp::Delete(id)));
                    self.notify(Notice::info("conversation deleted"));
                }
                return;
            }
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
                    effects.push(Effect::OpenConversation(
                        row.summary.conversation.id.clone(),
                    ));
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

    /// Any id is accepted (gateways offer more than any list); an unlisted one is said so, and
    /// offered in the picker from then on.
    fn choose_model(&mut self, model: String, effects: &mut Vec<Effect>) {
        let known = self.models.contains(&model);
        if !known {
            self.models.push(model.clone());
        }
        let pane = self.pane_mut();
        pane.model = model.clone();
        pane.conversation.last_model = Some(model.clone());
        self.conversation_changed(effects);
        self.notify(Notice::info(if known {
            format!("next turn goes to {model}")
        } else {
            format!("{model} is not in the known list; the next turn goes to it as typed")
        }));
    }

    /// The active conversation's settings changed: stamp it and save its header.
    fn conversation_changed(&mut self, effects: &mut Vec<Effect>) {
        let now_ms = self.now_ms;
        let pane = self.pane_mut();
        pane.conversation.updated_at = now_ms;
        if pane.saved {
            effects.push(Effect::Save(SaveOp::UpdateConversation(
                pane.conversation.clone(),
            )));
        }
    }

    fn send(&mut self, effects: &mut Vec<Effect>) {
        let mut text = self.pane().input_text();
        if text.trim().is_empty() {
            return;
        }
        if text.starts_with("//") {
            // `//text` is the way to send a line that starts with a slash.
            text.remove(0);
        } else if let Some(rest) = text.strip_prefix('/')
            && is_command_word(rest)
        {
            match self.slash_command(rest, effects) {
                Slash::Done => {
                    self.pane_mut().input = new_input();
                    return;
                }
                // Keep the text so the typo can be fixed in place.
                Slash::Invalid => return,
                Slash::Unknown(name) => {
                    let known: Vec<String> =
                        SLASH_COMMANDS.iter().map(|c| format!("/{c}")).collect();
                    self.notify(Notice::error(format!(
                        "unknown command /{name} — known: {}",
                        known.join(" ")
                    )));
                    return;
                }
            }
        }
        if self.pane().is_busy() {
            let key = self.settings.keymap.label(Command::Stop);
            self.notify(Notice::info(format!(
                "a reply is still arriving; {key} stops it (your message is kept)"
            )));
            return;
        }
        // Another tern is still writing a reply here (the store keeps a live writer's reply
        // `streaming`): a turn sent now would carry a history that is still changing. Reload to
        // show how far it got; Enter sends once it has ended.
        if self
            .pane()
            .messages
            .iter()
            .any(|m| m.status() == MessageStatus::Streaming)
        {
            effects.push(Effect::Reload(self.pane().id().to_owned()));
            let key = self.settings.keymap.label(Command::Send);
            self.notify(Notice::info(format!(
                "another tern is still writing a reply here: reloaded; {key} sends once it has ended"
            )));
            return;
        }
        // Too big for the context window: say so once; Enter on the same text sends.
        if let Some(oversize) = super::context::oversize(self, &text) {
            self.pane_mut().confirmed_oversize = Some(oversize);
            let key = self.settings.keymap.label(Command::Send);
            self.notify(Notice::error(format!(
                "over the context window · {key} sends anyway"
            )));
            return;
        }
        self.pane_mut().confirmed_oversize = None;
        self.history_cursor = None;
        if self.prompt_history.last() != Some(&text) {
            self.prompt_history.push(text.clone());
        }
        let now_ms = self.now_ms;
        let pane = self.pane_mut();
        pane.input = new_input();
        pane.conversation.updated_at = now_ms;
        if !pane.saved {
            if !pane.title_from_user {
                pane.conversation.title = title_from_prompt(&text);
            }
            pane.conversation.last_model = Some(pane.model.clone());
            pane.saved = true;
            effects.push(Effect::Save(SaveOp::CreateConversation(
                pane.conversation.clone(),
            )));
        }
        let seq = next_seq(pane);
        let user = follows(
            pane,
            StoredMessage::user(pane.conversation.id.clone(), seq, text),
        );
        effects.push(Effect::Save(SaveOp::Message(user.clone())));
        pane.messages.push(ChatMessage::new(user));
        self.keep_draft(self.active, effects);
        self.start_reply(self.active, effects);
    }

    /// Append an empty streaming reply and ask the driver to fill it.
    fn start_reply(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let request = self.next_request;
        self.next_request += 1;
        let settings = self.settings.clone();
        let now = self.now;
        let pane = &mut self.panes[index];
        let body = pane.build_request(&settings);
        let seq = next_seq(pane);
        let reply = follows(
            pane,
            StoredMessage::assistant_streaming(
                pane.conversation.id.clone(),
                seq,
                pane.model.clone(),
            ),
        );
        effects.push(Effect::Save(SaveOp::Message(reply.clone())));
        pane.messages.push(ChatMessage::new(reply));
        pane.request = Some(request);
        pane.phase = Phase::Waiting {
            since: now,
            retry: None,
        };
        pane.last_flush = now;
        effects.push(Effect::Send {
            conversation: pane.conversation.id.clone(),
            request,
            body,
        });
        effects.push(Effect::Scroll {
            conversation: pane.conversation.id.clone(),
            by: ScrollBy::Bottom,
        });
    }

    /// `/system`, `/temp`, `/max`, `/top_p`, `/model`, `/title`.
    fn slash_command(&mut self, rest: &str, effects: &mut Vec<Effect>) -> Slash {
        let (name, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let arg = arg.trim();
        let pane = self.pane_mut();
        let params = &mut pane.conversation.params;
        let notice = match name {
            "system" => {
                pane.conversation.system = (!arg.is_empty()).then(|| arg.to_owned());
                Ok(if arg.is_empty() {
                    "system prompt cleared".to_owned()
                } else {
                    "system prompt set".to_owned()
                })
            }
            "temp" | "temperature" => parse_opt(arg, crate::config::SAMPLING_RANGE).map(|v| {
                params.temperature = v;
                format!(
                    "temperature {}",
                    v.map_or("default".into(), |v| v.to_string())
                )
            }),
            "top_p" | "topp" => parse_opt(arg, crate::config::SAMPLING_RANGE).map(|v| {
                params.top_p = v;
                format!("top_p {}", v.map_or("default".into(), |v| v.to_string()))
            }),
            "max" | "max_tokens" => match arg.parse::<u32>() {
                Ok(n) if n > 0 => {
                    params.max_tokens = Some(n);
                    Ok(format!("max_tokens {n}"))
                }
                _ => Err("usage: /max N (a positive number of tokens)".to_owned()),
            },
            "title" | "rename" if !arg.is_empty() => {
                pane.conversation.title = arg.chars().take(120).collect();
                pane.title_from_user = true;
                Ok("renamed".to_owned())
            }
            "title" | "rename" => Err("usage: /title TEXT".to_owned()),
            "model" if !arg.is_empty() => match model_id(arg) {
                Ok(model) => {
                    self.choose_model(model, effects);
                    return Slash::Done;
                }
                Err(e) => Err(e),
            },
            "model" => Err("usage: /model ID (or Ctrl+P to pick one)".to_owned()),
            _ => return Slash::Unknown(name.to_owned()),
        };
        match notice {
            Ok(text) => {
                self.conversation_changed(effects);
                self.notify(Notice::info(text));
                Slash::Done
            }
            Err(text) => {
                self.notify(Notice::error(text));
                Slash::Invalid
            }
        }
    }

    fn retry(&mut self, effects: &mut Vec<Effect>) {
        let pane = self.pane();
        if pane.is_busy() {
            return;
        }
        let failed = pane.messages.last().is_some_and(|m| {
            m.role() == Role::Assistant
                && matches!(
                    m.status(),
                    MessageStatus::Error | MessageStatus::Interrupted
                )
        });
        if failed {
            self.start_reply(self.active, effects);
        } else {
            self.notify(Notice::info("nothing to retry: the last turn did not fail"));
        }
    }

    /// Stop the pane's reply now, keeping what arrived, marked stopped.
    fn stop(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let pane = &mut self.panes[index];
        let Some(request) = pane.request.take() else {
            return;
        };
        effects.push(Effect::Cancel(request));
        pane.phase = Phase::Idle;
        if let Some(message) = pane.messages.last_mut()
            && message.status() == MessageStatus::Streaming
        {
            message.stored.status = MessageStatus::Stopped;
            message.version += 1;
            effects.push(Effect::Save(SaveOp::Message(message.snapshot())));
        }
    }

    /// Close tab `index` (its reply stopped and saved; its draft kept unless `keep_draft` is
    /// false, as for a conversation about to be deleted).
    fn close(&mut self, index: usize, keep_draft: bool, effects: &mut Vec<Effect>) {
        self.stop(index, effects);
        if keep_draft {
            self.keep_draft(index, effects);
        }
        self.panes.remove(index);
        if self.panes.is_empty() {
            self.panes.push(Pane::new(&self.settings, self.now));
        }
        self.active = index.min(self.panes.len() - 1);
        self.panes[self.active].unread = false;
    }

    fn quit(&mut self, effects: &mut Vec<Effect>) {
        self.confirm = None;
        for index in 0..self.panes.len() {
            self.stop(index, effects);
            self.keep_draft(index, effects);
        }
        self.should_quit = true;
        effects.push(Effect::Quit);
    }

    fn on_api(
        &mut self,
        conversation: &str,
        request: RequestId,
        event: ApiEvent,
        effects: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let active = self.active;
        let Some(index) = self
            .panes
            .iter()
            .position(|p| p.id() == conversation && p.request == Some(request))
        else {
            return; // a request that was stopped or closed
        };
        let pane = &mut self.panes[index];
        let Some(message) = pane.messages.last_mut() else {
            return;
        };
        match event {
            ApiEvent::Retrying(notice) => {
                if let Phase::Waiting { retry, .. } = &mut pane.phase {
                    *retry = Some(notice);
                }
            }
            ApiEvent::Started { usage } => {
                message.stored.usage = Some(usage);
                message.version += 1;
            }
            ApiEvent::Text(text) => {
                match &mut pane.phase {
                    Phase::Streaming { chars, .. } => *chars += text.chars().count(),
                    phase => {
                        let since = match phase {
                            Phase::Waiting { since, .. } => *since,
                            _ => now,
                        };
                        *phase = Phase::Streaming {
                            since,
                            first_text: now,
                            chars: text.chars().count(),
                        };
                    }
                }
                message.text.push_str(&text);
                message.version += 1;
                if index != active {
                    pane.unread = true;
                }
                if now.duration_since(pane.last_flush) >= FLUSH_EVERY {
                    pane.last_flush = now;
                    effects.push(Effect::Save(SaveOp::Message(message.snapshot())));
                }
            }
            ApiEvent::Usage(usage) => {
                message.stored.usage = Some(usage);
                message.usage_final = true;
                message.version += 1;
            }
            ApiEvent::Finished(reply) => {
                message.stored.content = reply.content;
                message.stored.usage = Some(reply.usage);
                message.usage_final = true;
                message.stored.stop_reason = reply.stop_reason;
                message.stored.status = MessageStatus::Complete;
                message.text = plain_text(&message.stored.content);
                message.version += 1;
                effects.push(Effect::Save(SaveOp::Message(message.snapshot())));
                pane.request = None;
                pane.phase = Phase::Idle;
                if index != active {
                    pane.unread = true;
                }
            }
            ApiEvent::Failed { error, partial } => {
                if let Some(partial) = partial {
                    if partial.usage != Default::default() {
                        message.stored.usage = Some(partial.usage);
                    }
                    let others: Vec<_> = partial
                        .content
                        .into_iter()
                        .filter(|b| !matches!(b, crate::api::ContentBlock::Text { .. }))
                        .collect();
                    message.stored.content = others;
                }
                message.stored.status = MessageStatus::Error;
                let mut info = ErrorInfo::from_api(&error);
                if !message.text.trim().is_empty() {
                    info.advice = super::history::partial_reply_advice();
                }
                message.error = Some(info);
                message.version += 1;
                effects.push(Effect::Save(SaveOp::Message(message.snapshot())));
                pane.request = None;
                pane.phase = Phase::Idle;
                if index != active {
                    pane.unread = true;
                }
            }
        }
    }
}

/// Ask for the selected row's preview unless it is already shown.
fn request_preview(browser: &mut BrowserState, effects: &mut Vec<Effect>) {
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

fn next_seq(pane: &Pane) -> i64 {
    pane.messages.last().map_or(0, |m| m.stored.seq + 1)
}

/// `message` as the one after the pane's last: the store appends it only if that is still the
/// conversation's last message (another tern may have written since).
fn follows(pane: &Pane, mut message: StoredMessage) -> StoredMessage {
    message.parent_id = pane.messages.last().map(|m| m.stored.id.clone());
    message
}

fn parse_opt(arg: &str, range: std::ops::RangeInclusive<f64>) -> Result<Option<f64>, String> {
    if arg.is_empty() || arg == "default" || arg == "off" {
        return Ok(None);
    }
    match arg.parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(Some(v)),
        _ => Err(format!(
            "expected a number from {} to {} (or `default`)",
            range.start(),
            range.end()
        )),
    }
}

/// Whether a line after its `/` starts with a command name (letters, digits, `_`, `-`), as
/// `/help` does and `/etc/hosts` or `/ 2` do not: only those are taken as commands.
fn is_command_word(rest: &str) -> bool {
    let name = rest.split(char::is_whitespace).next().unwrap_or("");
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A model id as typed: trimmed, one word, printable.
fn model_id(typed: &str) -> Result<String, String> {
    let id = typed.trim();
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a model id is one word, without spaces or control characters".into());
    }
    Ok(id.to_owned())
}

/// What a `/command` line turned out to be.
enum Slash {
    Done,
    Invalid,
    Unknown(String),
}

enum PickerOutcome {
    Stay,
    Close,
    Choose(usize),
    /// Enter on a filter that matches nothing: the filter text itself.
    Typed(String),
}

/// Shared list-popup keys: type to filter, arrows to move, Enter to choose, Esc to close.
fn picker_key(picker: &mut PickerState, key: KeyEvent, count: usize, close: bool) -> PickerOutcome {
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
fn edit_line(text: &mut String, key: KeyEvent) -> bool {
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
