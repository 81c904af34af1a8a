//! A turn: sending a prompt, the reply streaming into its pane, stopping and retrying it.

use crate::api::types::plain_text;
use crate::api::{ContentBlock, Role};
use crate::app::history::{Continuation, MAX_AUTO_RESUMES, joined_reply};
use crate::app::keymap::KeyAction;
use crate::app::*;
use crate::store::WriteCommand;
use crate::store::{MessageStatus, StoredMessage, title_from_prompt};

use super::slash::{SLASH_COMMANDS, Slash, is_command_word};

impl App {
    pub(super) fn send(&mut self, effects: &mut Vec<Effect>) {
        let mut text = self.pane().input_text();
        if text.trim().is_empty() && self.pane().attachments.is_empty() {
            self.go_on_with_tools(effects);
            return;
        }
        if text.trim().is_empty() {
            // Attachments alone make a prompt.
            text.clear();
        } else if text.starts_with("//") {
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
                Slash::Kept => return,
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
        if self.held_back(&text, effects) {
            return;
        }
        let Some(attachments) = self.ready_attachments() else {
            return;
        };
        if let Err(limit) = self.pane().attachment_limits(&attachments) {
            self.notify(Notice::error(format!(
                "{limit} · /detach removes attachments (your message is kept)"
            )));
            return;
        }
        self.branch_for_edit();
        self.settle_compare();
        self.pane_mut().confirmed_oversize = None;
        self.history_cursor = None;
        if !text.is_empty() && self.prompt_history.last() != Some(&text) {
            self.prompt_history.push(text.clone());
        }
        let now_ms = self.now_ms;
        let id = self.ids.next_id();
        let pane = self.pane_mut();
        pane.input = new_input();
        pane.attachments.clear();
        pane.conversation.updated_at = now_ms;
        if !pane.saved {
            if !pane.title_from_user {
                pane.conversation.title = match attachments.first() {
                    Some(first) if text.trim().is_empty() => title_from_prompt(&first.name),
                    _ => title_from_prompt(&text),
                };
            }
            pane.conversation.last_model = Some(pane.model.clone());
            pane.saved = true;
            effects.push(Effect::Save(WriteCommand::CreateConversation(
                pane.conversation.clone(),
            )));
        }
        let seq = pane.next_seq();
        let mut user = follows(
            pane,
            StoredMessage::user_at(id, pane.conversation.id.clone(), seq, text, now_ms),
        );
        if !attachments.is_empty() {
            // Attachments first, as the API advises; an empty text block would be refused.
            user.content
                .retain(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()));
            user.content
                .splice(0..0, attachments.into_iter().map(ContentBlock::Attachment));
        }
        effects.push(Effect::Save(WriteCommand::UpsertMessage(user.clone())));
        pane.push_message(user);
        self.keep_draft(self.active, effects);
        if self.pane().compare.is_empty() {
            self.reply_when_tools_ready(self.active, effects);
        } else {
            self.start_compare(self.active, effects);
        }
    }

    /// Whether `text` must wait (a reply still arriving, another tern writing here, too big
    /// for the context window unconfirmed); the user is told why.
    fn held_back(&mut self, text: &str, effects: &mut Vec<Effect>) -> bool {
        if self.pane().is_busy() {
            let key = self.settings.keymap.label(KeyAction::Stop);
            self.notify(Notice::info(format!(
                "a reply is still arriving; {key} stops it (your message is kept)"
            )));
            return true;
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
            let key = self.settings.keymap.label(KeyAction::Send);
            self.notify(Notice::info(format!(
                "another tern is still writing a reply here: reloaded; {key} sends once it has ended"
            )));
            return true;
        }
        // Too big for the context window: say so once; Enter on the same text sends.
        if let Some(oversize) = crate::app::context::oversize(self, text) {
            self.pane_mut().confirmed_oversize = Some(oversize);
            let key = self.settings.keymap.label(KeyAction::Send);
            self.notify(Notice::error(format!(
                "over the context window · {key} sends anyway"
            )));
            return true;
        }
        false
    }

    /// Append an empty streaming reply and ask the driver to fill it.
    pub(super) fn start_reply(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let request = self.next_request;
        self.next_request += 1;
        let settings = self.settings.clone();
        let now_ms = self.now_ms;
        let id = self.ids.next_id();
        let pane = &mut self.panes[index];
        let (body, notes) = pane.build_request_noted(&settings);
        let seq = pane.next_seq();
        let reply = follows(
            pane,
            StoredMessage::assistant_streaming_at(
                id,
                pane.conversation.id.clone(),
                seq,
                pane.model.clone(),
                now_ms,
            ),
        );
        effects.push(Effect::Save(WriteCommand::UpsertMessage(reply.clone())));
        pane.push_message(reply);
        self.send_request(index, request, body, &notes, effects);
    }

    /// Go on with the pane's last reply (`how` says in which way) as a new request whose blocks
    /// and usage add to it; `resumes` counts paused turns resumed in a row. False (and nothing
    /// sent) when the reply has nothing to continue from.
    pub(super) fn continue_reply(
        &mut self,
        index: usize,
        how: Continuation,
        resumes: u32,
        effects: &mut Vec<Effect>,
    ) -> bool {
        let settings = self.settings.clone();
        let now_ms = self.now_ms;
        let pane = &mut self.panes[index];
        let Some((body, notes)) = pane.build_continuation(&settings, how) else {
            return false;
        };
        let Some(message) = pane.messages.last_mut() else {
            return false;
        };
        // The blocks as they stand (a stopped reply's text joined into one), so the
        // continuation's follow them; its tokens as shown (a stopped reply's output was never
        // counted by the server: the estimate is all there is).
        let usage_before = message.tokens().map(|t| t.usage).unwrap_or_default();
        message.stored.content = message.content().into_owned();
        message.set_text(plain_text(&message.stored.content));
        pane.continuing = Some(Continuing {
            how,
            blocks_before: message.stored.content.len(),
            usage_before,
            resumes,
        });
        message.stored.status = MessageStatus::Streaming;
        message.stored.stop_reason = None;
        message.error = None;
        message.usage_final = false;
        message.version += 1;
        effects.push(Effect::Save(WriteCommand::UpsertMessage(
            message.snapshot(now_ms),
        )));
        let request = self.next_request;
        self.next_request += 1;
        self.send_request(index, request, body, &notes, effects);
        true
    }

    /// Send `body` as `request` for pane `index`, which waits for it from now; say what the
    /// API's rules changed (`notes`).
    fn send_request(
        &mut self,
        index: usize,
        request: RequestId,
        body: crate::api::MessagesRequest,
        notes: &[String],
        effects: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let pane = &mut self.panes[index];
        pane.phase = Phase::Waiting {
            request,
            since: now,
            retry: None,
            thinking_since: None,
        };
        pane.last_flush = now;
        effects.push(Effect::Send {
            conversation: pane.conversation.id.clone(),
            request,
            body,
        });
        self.scrolls.push(Scroll {
            conversation: pane.conversation.id.clone(),
            by: ScrollBy::Bottom,
        });
        if !notes.is_empty() {
            self.notify(Notice::info(notes.join("; ")));
        }
    }

    /// `/continue`: go on with the last reply where it was cut off or paused.
    pub(super) fn continue_last(&mut self, effects: &mut Vec<Effect>) {
        if self.pane().is_busy() {
            let key = self.settings.keymap.label(KeyAction::Stop);
            self.notify(Notice::info(format!(
                "a reply is still arriving; {key} stops it"
            )));
            return;
        }
        let Some(how) = self.pane().messages.last().and_then(continuable) else {
            self.notify(Notice::info(
                "nothing to continue: the last reply was not cut off or paused",
            ));
            return;
        };
        if !self.continue_reply(self.active, how, 0, effects) {
            let key = self.settings.keymap.label(KeyAction::Retry);
            self.notify(Notice::info(format!(
                "nothing to continue from: the reply has no text yet · {key} retries it"
            )));
        }
    }

    pub(super) fn retry(&mut self, effects: &mut Vec<Effect>) {
        let pane = self.pane();
        if pane.is_busy() {
            return;
        }
        // A refusal is retried too: on another model, or after the prompt was changed.
        let failed = pane.messages.last().is_some_and(|m| {
            m.role() == Role::Assistant
                && (matches!(
                    m.status(),
                    MessageStatus::Error | MessageStatus::Interrupted
                ) || m.stored.stop_reason.as_deref() == Some("refusal"))
        });
        if failed {
            self.start_reply(self.active, effects);
        } else {
            self.notify(Notice::info("nothing to retry: the last turn did not fail"));
        }
    }

    /// Stop the pane's reply now, keeping what arrived, marked stopped.
    pub(super) fn stop(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if self.stop_tool_loop(index, effects) {
            return;
        }
        let (now, now_ms) = (self.now, self.now_ms);
        let pane = &mut self.panes[index];
        let thinking_since = match pane.phase {
            Phase::Waiting { thinking_since, .. } => thinking_since,
            _ => None,
        };
        let Some(request) = pane.end_request() else {
            return;
        };
        effects.push(Effect::Cancel(request));
        if let Some(message) = pane.messages.last_mut()
            && message.status() == MessageStatus::Streaming
        {
            if let Some(t) = thinking_since {
                message.thought_for = Some(now.saturating_duration_since(t));
            }
            message.stored.status = MessageStatus::Stopped;
            message.version += 1;
            effects.push(Effect::Save(WriteCommand::UpsertMessage(
                message.snapshot(now_ms),
            )));
        }
    }

    /// A stream update for `request`; dropped unless that request is still its pane's.
    pub(super) fn on_api(
        &mut self,
        conversation: &str,
        request: RequestId,
        event: ApiEvent,
        effects: &mut Vec<Effect>,
    ) {
        let column = self.panes.iter().any(|p| {
            p.id() == conversation && p.columns.iter().any(|c| c.request == Some(request))
        });
        if column {
            self.on_column_api(conversation, request, event, effects);
            return;
        }
        let Some(index) = self
            .panes
            .iter()
            .position(|p| p.id() == conversation && p.request() == Some(request))
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
                message.stored.usage = Some(so_far(&pane.continuing, usage));
                message.version += 1;
            }
            ApiEvent::Text(text) => self.on_text(index, &text, effects),
            ApiEvent::Thinking(more) => {
                if let Phase::Waiting { thinking_since, .. } = &mut pane.phase {
                    thinking_since.get_or_insert(self.now);
                }
                grow_thinking(&mut message.stored.content, more);
                message.version += 1;
            }
            ApiEvent::Usage(usage) => {
                message.stored.usage = Some(so_far(&pane.continuing, usage));
                message.usage_final = true;
                message.version += 1;
            }
            ApiEvent::Finished(reply) => {
                let continuing = pane.continuing.clone();
                let reply = *reply;
                message.stored.response = Some(Box::new(crate::store::ResponseMeta::of(&reply)));
                message.stored.content = match &continuing {
                    Some(c) => {
                        joined_reply(&message.stored.content[..c.blocks_before], reply.content)
                    }
                    None => reply.content,
                };
                message.stored.usage = Some(so_far(&continuing, reply.usage));
                message.usage_final = true;
                message.stored.stop_reason = reply.stop_reason;
                message.stored.status = MessageStatus::Complete;
                message.text = plain_text(&message.stored.content);
                let paused = message.stored.stop_reason.as_deref() == Some("pause_turn");
                let calls_tools = message.stored.stop_reason.as_deref() == Some("tool_use")
                    && message
                        .stored
                        .content
                        .iter()
                        .any(|b| matches!(b, crate::api::ContentBlock::ToolUse { .. }));
                self.end_reply(index, effects);
                let resumes = continuing.map_or(0, |c| c.resumes);
                if paused && resumes < MAX_AUTO_RESUMES {
                    self.continue_reply(index, Continuation::Resume, resumes + 1, effects);
                } else if calls_tools && self.tools_state != crate::app::tools::ToolsState::Off {
                    self.begin_tool_calls(index, effects);
                }
            }
            ApiEvent::Failed { error, partial } => {
                let before = pane.continuing.as_ref().map_or(0, |c| c.blocks_before);
                if let Some(partial) = partial {
                    if partial.usage != Default::default() {
                        message.stored.usage = Some(so_far(&pane.continuing, partial.usage));
                    }
                    let others = partial
                        .content
                        .into_iter()
                        .filter(|b| !matches!(b, crate::api::ContentBlock::Text { .. }));
                    message.stored.content.truncate(before);
                    message.stored.content.extend(others);
                }
                message.stored.status = MessageStatus::Error;
                let mut info = ErrorInfo::from_api(&error);
                if !message.text.trim().is_empty() {
                    info.advice = crate::app::history::partial_reply_advice();
                }
                message.error = Some(info);
                self.end_reply(index, effects);
            }
        }
    }

    /// Text of the reply in pane `index`: the phase moves to streaming, the text grows, and it
    /// is saved at most every [`FLUSH_EVERY`].
    fn on_text(&mut self, index: usize, text: &str, effects: &mut Vec<Effect>) {
        let (now, now_ms) = (self.now, self.now_ms);
        let unread = index != self.active;
        let pane = &mut self.panes[index];
        let Some(message) = pane.messages.last_mut() else {
            return;
        };
        match pane.phase {
            Phase::Streaming { ref mut chars, .. } => *chars += text.chars().count(),
            Phase::Waiting {
                request,
                since,
                thinking_since,
                ..
            } => {
                message.thought_for = thinking_since.map(|t| now.saturating_duration_since(t));
                pane.phase = Phase::Streaming {
                    request,
                    since,
                    first_text: now,
                    chars: text.chars().count(),
                };
            }
            Phase::Idle => return, // text for no request: `on_api` lets none through
        }
        message.append_text(text);
        message.version += 1;
        pane.unread |= unread;
        if now.duration_since(pane.last_flush) >= FLUSH_EVERY {
            pane.last_flush = now;
            effects.push(Effect::Save(WriteCommand::UpsertMessage(
                message.snapshot(now_ms),
            )));
        }
    }

    /// The reply in pane `index` ended (finished or failed, its message already filled in):
    /// save it, free the pane, and mark the tab unread if it is not the one shown.
    fn end_reply(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let (now_ms, unread) = (self.now_ms, index != self.active);
        let now = self.now;
        let pane = &mut self.panes[index];
        if let Some(message) = pane.messages.last_mut() {
            // It ended while still thinking (stopped, failed, or no text): it thought till now.
            if let Phase::Waiting {
                thinking_since: Some(t),
                ..
            } = pane.phase
            {
                message.thought_for = Some(now.saturating_duration_since(t));
            }
            message.version += 1;
            effects.push(Effect::Save(WriteCommand::UpsertMessage(
                message.snapshot(now_ms),
            )));
        }
        pane.end_request();
        pane.unread |= unread;
        self.count_tokens(index, effects);
    }
}

/// How `/continue` goes on with `reply`, if it can: a paused turn is resumed; one cut off (by
/// `max_tokens`, a stop, a failure or tern closing) with text so far is continued.
fn continuable(reply: &ChatMessage) -> Option<Continuation> {
    if reply.role() != Role::Assistant {
        return None;
    }
    match (reply.status(), reply.stored.stop_reason.as_deref()) {
        (MessageStatus::Complete, Some("pause_turn")) => Some(Continuation::Resume),
        (MessageStatus::Complete, Some("max_tokens")) => Some(Continuation::CutOff),
        (MessageStatus::Stopped | MessageStatus::Error | MessageStatus::Interrupted, _) => {
            Some(Continuation::CutOff)
        }
        _ => None,
    }
}

/// A reply's usage with `more` of its request: added to what it had when continuing.
fn so_far(continuing: &Option<Continuing>, more: crate::api::Usage) -> crate::api::Usage {
    continuing.as_ref().map_or(more, |c| c.usage(more))
}

/// A thinking delta: grows the last block while it is thinking, else starts one, so the
/// partial reply saved while streaming (or when it fails or is stopped) keeps it.
pub(super) fn grow_thinking(content: &mut Vec<crate::api::ContentBlock>, more: String) {
    match content.last_mut() {
        Some(crate::api::ContentBlock::Thinking { thinking, .. }) => thinking.push_str(&more),
        _ => content.push(crate::api::ContentBlock::Thinking {
            thinking: more,
            signature: String::new(),
        }),
    }
}

/// Replies are flushed to the store at least this often while streaming.
pub(super) const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// `message` as the one after the pane's last: its parent is the active path's last message
/// (the store refuses it if that is gone, or its `seq` is taken: another tern wrote since).
pub(super) fn follows(pane: &Pane, mut message: StoredMessage) -> StoredMessage {
    message.parent_id = pane.messages.last().map(|m| m.stored.id.clone());
    message
}
