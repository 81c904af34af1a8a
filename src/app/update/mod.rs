//! `App::update`: every state change, as a pure function of the action (plus `App::now`).
//!
//! This file dispatches actions and holds what several concerns share (tabs, drafts, the
//! second-press question, quitting); each concern has its own file: the input line and its
//! key-bound commands (`input`), slash commands (`slash`), a turn and its stream (`stream`),
//! the popups (`overlay`), the saved-conversation browser (`browser`) and the tool loop
//! (`tools`).

mod attach;
mod branch;
mod browser;
mod compare;
mod count;
mod input;
mod overlay;
mod slash;
mod stream;
mod thumbnail;
mod tools;

pub use thumbnail::Thumbnails;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::KeyAction;
use crate::app::*;
use crate::store::WriteCommand;

impl App {
    #[must_use = "the effects are what the driver must carry out"]
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.dispatch(action, &mut effects);
        self.schedule_timers(&mut effects);
        self.ask_thumbnails(&mut effects);
        effects
    }

    fn dispatch(&mut self, action: Action, effects: &mut Vec<Effect>) {
        match action {
            Action::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key, effects),
            Action::Key(_) | Action::Resize => {}
            Action::Paste(text) => self.on_paste(&text, effects),
            Action::Wheel(lines) => self.scrolls.push(Scroll {
                conversation: self.pane().id().to_owned(),
                by: ScrollBy::Lines(lines),
            }),
            Action::Timer(Timer::NoticeExpiry) => self.notice = None,
            // Nothing to change: the frame drawn after it shows the next spinner step.
            Action::Timer(Timer::Spinner) => self.spinner_scheduled = false,
            Action::Api {
                conversation,
                request,
                event,
            } => self.on_api(&conversation, request, event, effects),
            Action::ModelsDescribed(infos) => {
                let models = &mut std::sync::Arc::make_mut(&mut self.settings).models;
                crate::config::learn_models(models, &infos);
            }
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
            } => self.open_saved(conversation, messages, effects),
            Action::Terminate => self.quit(effects),
            Action::SaveConflict {
                conversation,
                message,
            } => self.on_save_conflict(&conversation, &message, effects),
            Action::Reloaded {
                conversation,
                messages,
            } => self.on_reloaded(conversation, messages),
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
                self.on_browser_rows(generation, rows, effects)
            }
            Action::BrowserPreview { id, messages } => self.on_browser_preview(id, messages),
            Action::Timer(Timer::CountTokens) => self.count_tokens(self.active, effects),
            Action::CountTokensAbsent => self.count_tokens_absent = true,
            Action::ShowMessage {
                conversation,
                message,
            } => self.show_message(&conversation, &message, effects),
            Action::TokensCounted {
                conversation,
                generation,
                prompt,
                result,
            } => self.on_tokens_counted(&conversation, generation, &prompt, result),
            Action::ToolsReady { tools, problems } => self.on_tools_ready(tools, problems, effects),
            Action::ToolFinished {
                conversation,
                call,
                result,
            } => self.on_tool_finished(&conversation, &call, result, effects),
            Action::ThumbnailsOn => self.thumbnails_on(),
            // The driver gives these to the view; nothing here changes.
            Action::ThumbnailLoaded { .. } => {}
            Action::Attached {
                conversation,
                job,
                results,
            } => self.on_attached(&conversation, job, results),
            Action::PastedFiles(offer) => self.on_pasted_files(offer, effects),
            Action::PathCompleted {
                conversation,
                completion,
            } => self.on_path_completed(&conversation, completion),
        }
    }

    /// The wake-ups this state needs: a new notice's expiry (moving any earlier one, so it
    /// is the latest notice that expires), the spinner's next frame while a request waits
    /// for its first text, and a token count once a changed draft is still.
    fn schedule_timers(&mut self, effects: &mut Vec<Effect>) {
        if std::mem::take(&mut self.notice_unscheduled) {
            effects.push(Effect::Schedule {
                timer: Timer::NoticeExpiry,
                after: NOTICE_TTL,
            });
        }
        if self.is_waiting() && !self.spinner_scheduled {
            self.spinner_scheduled = true;
            effects.push(Effect::Schedule {
                timer: Timer::Spinner,
                after: SPINNER_EVERY,
            });
        }
        self.schedule_count(effects);
    }

    /// Open a saved conversation in a new tab (in place of an untouched empty one), or focus
    /// its tab if it is open.
    fn open_saved(
        &mut self,
        conversation: crate::store::Conversation,
        messages: Vec<crate::store::StoredMessage>,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(i) = self.panes.iter().position(|p| p.id() == conversation.id) {
            self.switch_to(i, effects);
        } else {
            let pane = Pane::from_saved(&self.settings, conversation, messages, self.now);
            let replace_empty = self.pane().messages.is_empty()
                && !self.pane().saved
                && self.pane().input.is_empty();
            if replace_empty {
                self.panes[self.active] = pane;
            } else {
                self.panes.push(pane);
                self.switch_to(self.panes.len() - 1, effects);
            }
        }
        self.scrolls.push(Scroll {
            conversation: self.pane().id().to_owned(),
            by: ScrollBy::Bottom,
        });
    }

    /// Show `notice` in the status line (its expiry is scheduled when the update ends).
    pub(crate) fn notify(&mut self, notice: Notice) {
        self.notice = Some(notice);
        self.notice_unscheduled = true;
    }

    pub(super) fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.settings.keymap.command_for(&key);
        // A held key repeats: that is not the deliberate second press a question waits for.
        if key.kind == KeyEventKind::Repeat
            && matches!(
                command,
                Some(KeyAction::Quit | KeyAction::Interrupt | KeyAction::CloseConversation)
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
        if self.pane().selection.is_some() {
            self.on_selection_key(key, effects);
            return;
        }
        if self.on_paste_offer_key(key, effects) {
            return;
        }
        if self.on_tool_key(key, effects) {
            return;
        }
        // F5..F8 stop one column of a compare while it streams, and pick it once it is done.
        if let KeyCode::F(n @ 5..=8) = key.code
            && self.pane().columns.len() > usize::from(n - 5)
        {
            let at = usize::from(n - 5);
            if self.pane().columns[at].request.is_some() {
                self.stop_columns(Some(at), effects);
            } else {
                self.pick_column(at, effects);
            }
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
            Some(KeyAction::Complete) if !self.complete(effects) => self.on_input_key(key),
            Some(command) => self.run_command(command, effects),
            None => self.on_input_key(key),
        }
    }

    pub(super) fn switch_to(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if index != self.active {
            self.keep_draft(self.active, effects);
        }
        self.active = index;
        self.panes[index].unread = false;
    }

    /// Hand a saved conversation's draft to the store if it changed since it was last kept
    /// (a conversation not saved yet has no row to keep it in).
    pub(super) fn keep_draft(&mut self, index: usize, effects: &mut Vec<Effect>) {
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
            effects.push(Effect::Save(WriteCommand::SetDraft {
                id: pane.conversation.id.clone(),
                draft: text,
            }));
        }
    }

    /// What quitting now would lose or cut short, for the question asked first.
    pub(super) fn quit_risk(&self) -> Option<String> {
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
    pub(super) fn confirmed(
        &mut self,
        command: KeyAction,
        what: &str,
        risk: Option<String>,
    ) -> bool {
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

    /// Close tab `index` (its reply stopped and saved; its draft kept unless `keep_draft` is
    /// false, as for a conversation about to be deleted).
    pub(super) fn close(&mut self, index: usize, keep_draft: bool, effects: &mut Vec<Effect>) {
        self.stop(index, effects);
        if keep_draft {
            self.keep_draft(index, effects);
        }
        self.panes.remove(index);
        if self.panes.is_empty() {
            let pane = self.new_pane();
            self.panes.push(pane);
        }
        self.active = index.min(self.panes.len() - 1);
        self.panes[self.active].unread = false;
    }

    pub(super) fn quit(&mut self, effects: &mut Vec<Effect>) {
        self.confirm = None;
        for index in 0..self.panes.len() {
            self.stop(index, effects);
            self.stop_pane_columns(index, effects);
            self.keep_draft(index, effects);
        }
        self.should_quit = true;
        effects.push(Effect::Quit);
    }
}
