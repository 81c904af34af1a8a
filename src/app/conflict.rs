//! When another tern changed the conversation first: the store refused this pane's append
//! (`StoreError::Conflict`), so the pane reloads what is stored and gives the user back what
//! they wrote.
//!
//! The store appends a message only after a parent it still has and after every stored `seq`
//! (two terns answering one message make siblings), so a pane whose copy is stale learns it at
//! its first save: its `seq` is taken, or its parent was deleted. Rather than fork or merge,
//! the pane drops its unsaved turn (cancelling its reply, which answered a
//! history that is no longer the conversation's), reloads the conversation as stored, and puts
//! the refused prompt back in the input so one Enter sends it again, this time after what the
//! other tern wrote. The conversation never holds two user turns in a row, and nothing typed is
//! lost.

use crate::api::Role;
use crate::app::*;
use crate::store::{Conversation, StoredMessage};

impl App {
    /// The store refused `message` of `conversation`: drop it and what followed, reload.
    pub(super) fn on_save_conflict(
        &mut self,
        conversation: &str,
        message: &str,
        effects: &mut Vec<Effect>,
    ) {
        let Some(index) = self.panes.iter().position(|p| p.id() == conversation) else {
            return;
        };
        let pane = &mut self.panes[index];
        // Later refusals of the same turn find their message gone: handled once.
        let Some(at) = pane.messages.iter().position(|m| m.stored.id == message) else {
            return;
        };
        if let Some(request) = pane.end_request() {
            effects.push(Effect::Cancel(request));
        }
        let refused = pane.messages.split_off(at);
        for message in &refused {
            if let Some(ids) = pane.children.get_mut(&message.stored.parent_id) {
                ids.retain(|id| *id != message.stored.id);
            }
        }
        let prompts: Vec<&str> = refused
            .iter()
            .filter(|m| m.role() == Role::User)
            .map(|m| m.text.as_str())
            .collect();
        if !prompts.is_empty() {
            let draft = pane.input_text();
            let mut text = prompts.join("\n\n");
            if !draft.trim().is_empty() {
                text.push_str("\n\n");
                text.push_str(&draft);
            }
            pane.input = new_input();
            pane.input.insert_str(&text);
        }
        effects.push(Effect::Reload(conversation.to_owned()));
        self.notify(Notice::error(if prompts.is_empty() {
            "changed in another tern: reloaded it"
        } else {
            "changed in another tern: reloaded; your message is back in the input"
        }));
    }

    /// The stored conversation, after a conflict: show it as stored.
    pub(super) fn on_reloaded(&mut self, conversation: Conversation, messages: Vec<StoredMessage>) {
        let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation.id) else {
            return;
        };
        // Already sending again: that send meets the conflict (or not) by itself.
        if pane.is_busy() {
            return;
        }
        if let Some(model) = &conversation.last_model {
            pane.model = model.clone();
        }
        let leaf = conversation.active_leaf.clone();
        pane.conversation = conversation;
        pane.saved = true;
        pane.set_tree(messages, leaf.as_deref());
        self.scrolls.push(Scroll {
            conversation: pane.id().to_owned(),
            by: ScrollBy::Bottom,
        });
    }
}
