//! Branches: regenerate a reply, edit a prompt, switch between siblings, and the
//! message-selection mode that reaches any message to do so (or to copy it, or fork from it).
//!
//! Each is a change of the pane's active path (see `app::tree`): a regenerated reply or an
//! edited prompt is written after a shorter path, so it becomes a sibling of what was there,
//! and nothing is ever overwritten. Selection mode is modal on its pane: while it is on, keys
//! move the selection instead of editing the input.

use crossterm::event::{KeyCode, KeyEvent};

use crate::api::Role;
use crate::app::attach::{Pending, PendingAttachment};
use crate::app::keymap::KeyAction;
use crate::app::*;
use crate::store::WriteCommand;

impl App {
    /// Whether the pane is free for a branch change; says why not.
    fn branch_ready(&mut self) -> bool {
        if !self.pane().columns.is_empty() && !self.pane().is_busy() {
            self.notify(Notice::info("pick a reply of the compare first: /pick N"));
            return false;
        }
        if self.pane().is_busy() {
            let key = self.settings.keymap.label(KeyAction::Stop);
            self.notify(Notice::info(format!(
                "a reply is still arriving; {key} stops it"
            )));
            return false;
        }
        true
    }

    /// `/regen [MODEL]`: a new reply to the last prompt, the old one kept as its sibling.
    pub(super) fn regenerate_last(&mut self, model: Option<String>, effects: &mut Vec<Effect>) {
        match self
            .pane()
            .messages
            .iter()
            .rposition(|m| m.role() == Role::Assistant)
        {
            Some(index) => self.regenerate(index, model, effects),
            None => self.notify(Notice::info("no reply to regenerate yet")),
        }
    }

    /// A new reply in place of the path's message `index` (a reply: its prompt is answered
    /// again; a prompt: it is answered again), with `model` if given.
    pub(super) fn regenerate(
        &mut self,
        index: usize,
        model: Option<String>,
        effects: &mut Vec<Effect>,
    ) {
        if !self.branch_ready() {
            return;
        }
        let Some(prompt) = prompt_at(self.pane(), index) else {
            self.notify(Notice::info("nothing to regenerate: no prompt before it"));
            return;
        };
        if let Some(model) = model {
            self.choose_model(model, effects);
        }
        let pane = self.pane_mut();
        pane.selection = None;
        pane.branch_at(prompt + 1);
        self.start_reply(self.active, effects);
    }

    /// `/edit`: the last prompt into the input, to be sent as its sibling.
    pub(super) fn edit_last(&mut self) {
        match self
            .pane()
            .messages
            .iter()
            .rposition(|m| m.role() == Role::User)
        {
            Some(index) => self.edit(index),
            None => self.notify(Notice::info("no message of yours to edit yet")),
        }
    }

    /// Put the path's prompt at `index` (or the prompt a reply there answers) in the input:
    /// sending it makes a sibling of that prompt and a new reply from there.
    pub(super) fn edit(&mut self, index: usize) {
        if !self.branch_ready() {
            return;
        }
        let Some(prompt) = prompt_at(self.pane(), index) else {
            return;
        };
        let messages = &self.pane().messages;
        let (id, text) = {
            let m = &messages[prompt];
            (m.stored.id.clone(), m.text.clone())
        };
        // The prompt's files come back as chips: the edit may keep or drop each.
        let chips = messages[prompt]
            .stored
            .content
            .iter()
            .filter_map(|b| match b {
                crate::api::ContentBlock::Attachment(a) => Some(PendingAttachment {
                    job: 0,
                    state: Pending::Ready(a.clone()),
                }),
                _ => None,
            })
            .collect();
        let key = self.settings.keymap.label(KeyAction::Send);
        let pane = self.pane_mut();
        let draft = pane.input_text();
        pane.selection = None;
        let attachments = std::mem::replace(&mut pane.attachments, chips);
        pane.editing = Some(Editing {
            message: id,
            draft,
            attachments,
        });
        pane.input = new_input();
        pane.input.insert_str(&text);
        self.notify(Notice::info(format!(
            "editing your message: {key} sends it as a new branch · Esc cancels"
        )));
    }

    /// Esc while editing: the input gets its draft back.
    pub(super) fn cancel_edit(&mut self) {
        let pane = self.pane_mut();
        if let Some(editing) = pane.editing.take() {
            pane.input = new_input();
            pane.input.insert_str(&editing.draft);
            pane.attachments = editing.attachments;
            self.notify(Notice::info("edit cancelled"));
        }
    }

    /// Before a send while editing: leave the path at the edited prompt, so the prompt sent
    /// becomes its sibling.
    pub(super) fn branch_for_edit(&mut self) {
        if self.pane().editing.is_some() {
            self.notice = None;
        }
        let pane = self.pane_mut();
        if let Some(editing) = pane.editing.take()
            && let Some(index) = pane
                .messages
                .iter()
                .position(|m| m.stored.id == editing.message)
        {
            pane.branch_at(index);
        }
    }

    /// `/branch prev|next`: the last reply's previous or next sibling.
    pub(super) fn branch_last(&mut self, step: isize, effects: &mut Vec<Effect>) {
        if !self.branch_ready() {
            return;
        }
        let pane = self.pane();
        let last_reply = pane
            .messages
            .iter()
            .rposition(|m| m.role() == Role::Assistant);
        // The reply, or else the prompt it answers: nothing further up.
        let index = last_reply.and_then(|r| {
            [Some(r), r.checked_sub(1)]
                .into_iter()
                .flatten()
                .find(|&i| pane.siblings(i).1 > 1)
        });
        match index {
            Some(index) => self.switch_branch(index, step, effects),
            None => {
                self.notify(Notice::info(
                    "the last reply has no other versions · /regen or /edit makes one",
                ));
            }
        }
    }

    /// Show the sibling `step` away from the path's message `index`.
    pub(super) fn switch_branch(&mut self, index: usize, step: isize, effects: &mut Vec<Effect>) {
        if !self.branch_ready() {
            return;
        }
        let pane = self.pane_mut();
        let Some(leaf) = pane.switch_sibling(index, step) else {
            return;
        };
        pane.confirmed_oversize = None;
        let conversation = pane.conversation.id.clone();
        let (at, of) = pane.siblings(index);
        if pane.saved {
            effects.extend(save_active_leaf(&conversation, leaf));
        }
        self.notify(Notice::info(format!("branch {at} of {of}")));
        self.scrolls.push(Scroll {
            conversation,
            by: ScrollBy::Message(index),
        });
    }

    /// Show the branch of `conversation` that holds `message` (a search hit), scrolled to it.
    pub(super) fn show_message(
        &mut self,
        conversation: &str,
        message: &str,
        effects: &mut Vec<Effect>,
    ) {
        let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation) else {
            return;
        };
        if pane.is_busy() {
            return;
        }
        let before = pane.messages.last().map(|m| m.stored.id.clone());
        let Some(leaf) = pane.show_message(message) else {
            return;
        };
        if before.as_ref() != Some(&leaf) {
            effects.extend(save_active_leaf(conversation, leaf));
        }
        if let Some(index) = pane.messages.iter().position(|m| m.stored.id == message) {
            self.scrolls.push(Scroll {
                conversation: conversation.to_owned(),
                by: ScrollBy::Message(index),
            });
        }
    }

    /// Enter message selection on the last message.
    pub(super) fn select_messages(&mut self) {
        let pane = self.pane_mut();
        if pane.messages.is_empty() {
            self.notify(Notice::info("no messages to select yet"));
            return;
        }
        pane.selection = Some(pane.messages.len() - 1);
    }

    /// A key in selection mode.
    pub(super) fn on_selection_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let pane = self.pane();
        let Some(index) = pane.selection.filter(|&i| i < pane.messages.len()) else {
            self.pane_mut().selection = None;
            return;
        };
        let last = pane.messages.len() - 1;
        let move_to = |to: usize, app: &mut App| {
            app.pane_mut().selection = Some(to);
            app.scrolls.push(Scroll {
                conversation: app.pane().id().to_owned(),
                by: ScrollBy::Message(to),
            });
        };
        // `d` asks for a second `d`; any other key lets it go.
        if key.code != KeyCode::Char('d') && std::mem::take(&mut self.pane_mut().delete_armed) {
            self.notice = None;
        }
        match key.code {
            KeyCode::Char('d') => self.delete_selected(index, effects),
            KeyCode::Up | KeyCode::Char('k') => move_to(index.saturating_sub(1), self),
            KeyCode::Down | KeyCode::Char('j') => move_to((index + 1).min(last), self),
            KeyCode::Home | KeyCode::Char('g') => move_to(0, self),
            KeyCode::End | KeyCode::Char('G') => move_to(last, self),
            KeyCode::Left | KeyCode::Char('h') => self.switch_branch(index, -1, effects),
            KeyCode::Right | KeyCode::Char('l') => self.switch_branch(index, 1, effects),
            KeyCode::Char('e') => self.edit(index),
            KeyCode::Char('r') => self.regenerate(index, None, effects),
            KeyCode::Char('R') => {
                // The picker's choice regenerates it (Esc there changes nothing).
                let pane = self.pane_mut();
                pane.regen_after_pick = Some(index);
                self.open_model_picker();
            }
            KeyCode::Char('y') => {
                let message = &self.pane().messages[index];
                let what = match message.role() {
                    Role::User => "your message",
                    Role::Assistant => "the reply",
                };
                effects.push(Effect::Copy {
                    text: message.text.clone(),
                    what: what.into(),
                });
            }
            KeyCode::Char('f') => self.fork(index, effects),
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
                self.pane_mut().selection = None;
                self.notice = None;
                let conversation = self.pane().id().to_owned();
                self.scrolls.push(Scroll {
                    conversation,
                    by: ScrollBy::Bottom,
                });
            }
            _ => {}
        }
    }

    /// `d` on the path's message `index`: the first press asks, the second deletes it and
    /// every message under it (on every branch), in the pane and in the store.
    fn delete_selected(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if !self.branch_ready() {
            return;
        }
        if index == 0 && self.pane().siblings(0).1 == 1 {
            let key = self.settings.keymap.label(KeyAction::Browser);
            self.notify(Notice::info(format!(
                "that is the whole conversation: delete it from the list ({key}, Del)"
            )));
            return;
        }
        let pane = self.pane_mut();
        if !pane.delete_armed {
            pane.delete_armed = true;
            self.notify(Notice::error("d again deletes this and all below it"));
            return;
        }
        pane.delete_armed = false;
        let Some((deleted, leaf)) = pane.delete_branch(index) else {
            return;
        };
        let conversation = pane.conversation.id.clone();
        pane.selection = pane
            .messages
            .len()
            .checked_sub(1)
            .map(|last| index.min(last));
        if pane.saved {
            effects.extend(save_delete_branch(&conversation, &deleted[0]));
            if let Some(leaf) = leaf {
                effects.extend(save_active_leaf(&conversation, leaf));
            }
        }
        let n = deleted.len();
        self.notify(Notice::info(format!(
            "deleted {n} message{}",
            if n == 1 { "" } else { "s" }
        )));
    }

    /// A new tab holding a copy of the path up to message `index`, saved as a conversation of
    /// its own ("fork of …"), to go on from there.
    fn fork(&mut self, index: usize, effects: &mut Vec<Effect>) {
        // A reply still arriving has no content to copy yet.
        if !self.branch_ready() {
            return;
        }
        let now_ms = self.now_ms;
        let source = self.pane();
        let copied: Vec<_> = source.messages[..=index]
            .iter()
            .map(|m| m.stored.clone())
            .collect();
        let title = format!("fork of {}", source.conversation.title);
        let (system, params, model) = (
            source.conversation.system.clone(),
            source.conversation.params.clone(),
            source.model.clone(),
        );
        let mut pane = self.new_pane();
        pane.model = model.clone();
        pane.conversation.title = title.chars().take(120).collect();
        pane.conversation.system = system;
        pane.conversation.params = params;
        pane.conversation.last_model = Some(model);
        pane.conversation.updated_at = now_ms;
        pane.title_from_user = true;
        pane.saved = true;
        effects.push(Effect::Save(WriteCommand::CreateConversation(
            pane.conversation.clone(),
        )));
        let mut parent = None;
        for (seq, mut message) in copied.into_iter().enumerate() {
            message.id = self.ids.next_id();
            message.conversation_id = pane.conversation.id.clone();
            message.seq = seq as i64;
            message.parent_id = parent.replace(message.id.clone());
            effects.push(Effect::Save(WriteCommand::UpsertMessage(message.clone())));
            pane.push_message(message);
        }
        self.pane_mut().selection = None;
        self.panes.push(pane);
        self.switch_to(self.panes.len() - 1, effects);
        self.notify(Notice::info("forked into a new tab"));
    }
}

/// The prompt at or before the path's message `index`: the message itself, or the prompt a
/// reply there answers.
fn prompt_at(pane: &Pane, index: usize) -> Option<usize> {
    let last = pane.messages.len().checked_sub(1)?;
    pane.messages[..=index.min(last)]
        .iter()
        .rposition(|m| m.role() == Role::User)
}

/// The write that makes `leaf` the conversation's active leaf in the store.
fn save_active_leaf(conversation: &str, leaf: String) -> Option<Effect> {
    Some(Effect::Save(WriteCommand::SetActiveLeaf {
        conversation: conversation.to_owned(),
        leaf,
    }))
}

/// The write that deletes `message` and its subtree from the store.
fn save_delete_branch(conversation: &str, message: &str) -> Option<Effect> {
    Some(Effect::Save(WriteCommand::DeleteBranch {
        conversation: conversation.to_owned(),
        message: message.to_owned(),
    }))
}
