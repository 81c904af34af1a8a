//! Compare: one prompt asked of several models at once (`/compare A B …`), their replies
//! streaming side by side, one of them picked to go on with (`/pick N`).
//!
//! Each reply is an ordinary message of the tree, a sibling of the others under the prompt,
//! saved as it streams like any reply. While they are shown side by side (`Pane::columns`:
//! which messages, and which request fills each) the path ends at the prompt; `/pick N` puts
//! the Nth on it, and a prompt sent without picking goes on from the first (the store's active
//! leaf says so from the start, in case tern closes before). A column's stream is handled here rather than by the
//! single-reply code in `stream`, which also owns the pane's phase, continuations and retries
//! that a column does not have.

use crate::api::ContentBlock;
use crate::api::types::plain_text;
use crate::app::keymap::KeyAction;
use crate::app::*;
use crate::store::{MessageStatus, StoredMessage, WriteCommand};

use super::slash::model_id;
use super::stream::{FLUSH_EVERY, grow_thinking};

/// The most models one compare asks.
pub(super) const MAX_COLUMNS: usize = 4;

impl App {
    /// `/compare A B …` (2 to 4 ids) or `/compare off`.
    pub(super) fn set_compare(&mut self, arg: &str) -> Result<String, String> {
        if arg == "off" {
            self.pane_mut().compare.clear();
            return Ok("compare off: the next prompt goes to one model".to_owned());
        }
        let mut models = Vec::new();
        for word in arg.split_whitespace() {
            let id = model_id(word)?;
            if !models.contains(&id) {
                models.push(id);
            }
        }
        if !(2..=MAX_COLUMNS).contains(&models.len()) {
            return Err(format!(
                "usage: /compare MODEL MODEL [MODEL…] (2 to {MAX_COLUMNS} models) or /compare off"
            ));
        }
        let unknown: Vec<&str> = models
            .iter()
            .filter(|m| !self.models.contains(m))
            .map(String::as_str)
            .collect();
        let note = match unknown.as_slice() {
            [] => String::new(),
            ids => format!(
                " · not in the known list, sent as typed: {}",
                ids.join(", ")
            ),
        };
        let n = models.len();
        self.pane_mut().compare = models;
        Ok(format!("compare on: each prompt goes to {n} models{note}"))
    }

    /// Send the prompt just added to the path to each model of the compare: one reply each,
    /// siblings under the prompt, the first on the path.
    pub(super) fn start_compare(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let settings = self.settings.clone();
        let (now, now_ms) = (self.now, self.now_ms);
        let models = self.panes[index].compare.clone();
        let bodies: Vec<_> = models
            .iter()
            .map(|model| self.panes[index].build_request_to(&settings, model).0)
            .collect();
        let parent = self.panes[index]
            .messages
            .last()
            .map(|m| m.stored.id.clone());
        let mut columns = Vec::new();
        for (model, body) in models.into_iter().zip(bodies) {
            let request = self.next_request;
            self.next_request += 1;
            let id = self.ids.next_id();
            let pane = &mut self.panes[index];
            let mut reply = StoredMessage::assistant_streaming_at(
                id,
                pane.conversation.id.clone(),
                pane.next_seq(),
                model.clone(),
                now_ms,
            );
            reply.parent_id = parent.clone();
            effects.push(Effect::Save(WriteCommand::UpsertMessage(reply.clone())));
            columns.push(Column {
                model,
                message: reply.id.clone(),
                request: Some(request),
                since: now,
                first_text: None,
                ended: None,
                last_flush: now,
            });
            pane.add_off_path(reply);
            effects.push(Effect::Send {
                conversation: pane.conversation.id.clone(),
                request,
                body,
            });
        }
        let pane = &mut self.panes[index];
        // Until one is picked, the conversation goes on from the first model's reply.
        if let Some(first) = columns.first() {
            effects.push(Effect::Save(WriteCommand::SetActiveLeaf {
                conversation: pane.conversation.id.clone(),
                leaf: first.message.clone(),
            }));
        }
        pane.columns = columns;
        self.scrolls.push(Scroll {
            conversation: pane.conversation.id.clone(),
            by: ScrollBy::Bottom,
        });
    }

    /// A stream update for a compare column; `false` if `request` is no column's.
    pub(super) fn on_column_api(
        &mut self,
        conversation: &str,
        request: RequestId,
        event: ApiEvent,
        effects: &mut Vec<Effect>,
    ) -> bool {
        let (now, now_ms) = (self.now, self.now_ms);
        let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation) else {
            return false;
        };
        let Some(at) = pane.columns.iter().position(|c| c.request == Some(request)) else {
            return false;
        };
        let id = pane.columns[at].message.clone();
        let column = &mut pane.columns[at];
        let mut ended = false;
        if matches!(event, ApiEvent::Text(_)) {
            column.first_text.get_or_insert(now);
        }
        let flush = now.duration_since(column.last_flush) >= FLUSH_EVERY;
        if flush {
            column.last_flush = now;
        }
        let Some(message) = pane.message_mut(&id) else {
            return true;
        };
        match event {
            ApiEvent::Retrying(_) => return true,
            ApiEvent::Started { usage } => message.stored.usage = Some(usage),
            ApiEvent::Text(text) => message.append_text(&text),
            ApiEvent::Thinking(more) => grow_thinking(&mut message.stored.content, more),
            ApiEvent::Usage(usage) => {
                message.stored.usage = Some(usage);
                message.usage_final = true;
            }
            ApiEvent::Finished(reply) => {
                message.stored.response = Some(Box::new(crate::store::ResponseMeta::of(&reply)));
                message.stored.content = reply.content;
                message.stored.usage = Some(reply.usage);
                message.usage_final = true;
                message.stored.stop_reason = reply.stop_reason;
                message.stored.status = MessageStatus::Complete;
                message.text = plain_text(&message.stored.content);
                ended = true;
            }
            ApiEvent::Failed { error, partial } => {
                if let Some(partial) = partial
                    && partial.usage != Default::default()
                {
                    message.stored.usage = Some(partial.usage);
                }
                message
                    .stored
                    .content
                    .retain(|b| !matches!(b, ContentBlock::Text { .. }));
                message.stored.status = MessageStatus::Error;
                message.error = Some(ErrorInfo::from_api(&error));
                ended = true;
            }
        }
        message.version += 1;
        if ended || flush {
            effects.push(Effect::Save(WriteCommand::UpsertMessage(
                message.snapshot(now_ms),
            )));
        }
        if ended {
            let column = &mut pane.columns[at];
            column.request = None;
            column.ended = Some(now);
        }
        true
    }

    /// Stop the compare's column `at` (all of them for `None`), keeping what arrived.
    pub(super) fn stop_columns(&mut self, at: Option<usize>, effects: &mut Vec<Effect>) {
        let (now, now_ms) = (self.now, self.now_ms);
        let pane = self.pane_mut();
        let ids: Vec<(usize, String)> = pane
            .columns
            .iter()
            .enumerate()
            .filter(|(n, c)| c.request.is_some() && at.is_none_or(|at| at == *n))
            .map(|(n, c)| (n, c.message.clone()))
            .collect();
        for (n, id) in ids {
            let column = &mut pane.columns[n];
            if let Some(request) = column.request.take() {
                effects.push(Effect::Cancel(request));
            }
            column.ended = Some(now);
            if let Some(message) = pane.message_mut(&id)
                && message.status() == MessageStatus::Streaming
            {
                message.stored.status = MessageStatus::Stopped;
                message.version += 1;
                effects.push(Effect::Save(WriteCommand::UpsertMessage(
                    message.snapshot(now_ms),
                )));
            }
        }
    }

    /// Stop every column of pane `index` (quitting).
    pub(super) fn stop_pane_columns(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let active = std::mem::replace(&mut self.active, index);
        self.stop_columns(None, effects);
        self.active = active;
    }

    /// Before anything that changes the path while a compare is shown: the first reply is
    /// taken, as if picked (a prompt sent without `/pick` goes on from it).
    pub(super) fn settle_compare(&mut self) {
        let pane = self.pane_mut();
        if let Some(first) = pane.columns.first().map(|c| c.message.clone()) {
            pane.columns.clear();
            let _ = pane.show_message(&first);
        }
    }

    /// F5..F8 on a finished column: `/pick` it, saying how it went.
    pub(super) fn pick_column(&mut self, at: usize, effects: &mut Vec<Effect>) {
        let notice = match self.pick(&(at + 1).to_string(), effects) {
            Ok(text) => Notice::info(text),
            Err(text) => Notice::error(text),
        };
        self.conversation_changed(effects);
        self.notify(notice);
    }

    /// `/pick N`: go on with the compare's Nth reply; the others stay as its siblings.
    pub(super) fn pick(&mut self, arg: &str, effects: &mut Vec<Effect>) -> Result<String, String> {
        let pane = self.pane();
        if pane.columns.is_empty() {
            return Err("nothing to pick: /compare A B, then send a prompt".to_owned());
        }
        let count = pane.columns.len();
        let n = match arg.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => n,
            _ => return Err(format!("usage: /pick N (1 to {count})")),
        };
        if pane.columns.iter().any(|c| c.request.is_some()) {
            let key = self.settings.keymap.label(KeyAction::Stop);
            return Err(format!(
                "the replies are still arriving; {key} stops them, then /pick {n}"
            ));
        }
        let column = pane.columns[n - 1].clone();
        let failed = pane
            .message(&column.message)
            .is_some_and(|m| m.status() == crate::store::MessageStatus::Error);
        if failed {
            return Err(format!("reply {n} failed: pick another"));
        }
        let conversation = pane.conversation.id.clone();
        let pane = self.pane_mut();
        pane.columns.clear();
        if let Some(leaf) = pane.show_message(&column.message) {
            effects.push(Effect::Save(WriteCommand::SetActiveLeaf {
                conversation,
                leaf,
            }));
        }
        pane.model = column.model.clone();
        pane.conversation.last_model = Some(column.model.clone());
        Ok(format!("going on with {}'s reply", column.model))
    }
}
