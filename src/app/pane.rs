//! A pane: one open conversation (a tab), its messages as shown, and where its request is.
//!
//! `ChatMessage` pairs what is saved (`StoredMessage`) with what only the view needs (the joined
//! text, a version for the line cache); `Phase` holds the request id inside the busy states, so
//! a pane cannot be idle with a request running or busy without one.

use std::time::Instant;

use ratatui_textarea::TextArea;

use super::context::{TokenEstimate, estimate_tokens};
use super::history::Turn;
use super::state::{RequestId, Settings};
use crate::api::{ApiError, ContentBlock, MessagesRequest, RetryNotice, Role, Usage};
pub use crate::store::ErrorInfo;
use crate::store::{Conversation, MessageStatus, StoredMessage};

impl ErrorInfo {
    /// A failure as shown in an error block (its saved form belongs to the store).
    pub fn from_api(err: &ApiError) -> ErrorInfo {
        ErrorInfo {
            headline: err.headline(),
            details: err.details(),
            advice: err.advice().to_owned(),
        }
    }
}

/// Token counts as shown: the server's, or (marked `estimated`) a guess from the reply's text
/// while the server has not counted it yet (streaming, stopped, failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tokens {
    pub usage: Usage,
    pub estimated: bool,
}

/// One message in a pane: what is saved, plus what the view needs.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub stored: StoredMessage,
    /// The readable text (text blocks joined). Grows in place while streaming.
    pub text: String,
    /// Bumped on every change; the view's line cache keys on it.
    pub version: u64,
    pub error: Option<ErrorInfo>,
    /// The server has sent its final output count (the usage of `message_delta` or the
    /// finished message); until then `message_start`'s placeholder is no count at all.
    pub usage_final: bool,
    /// How long the reply thought (first thinking delta to first text, or to its end), when
    /// this app saw it stream; the store does not keep it.
    pub thought_for: Option<std::time::Duration>,
    /// Its place among its siblings and how many there are (`‹2/3›`), when it has any.
    pub branch: Option<(usize, usize)>,
    /// A reply's tool calls while the loop asks about and runs them (see `tools`).
    pub calls: Vec<super::tools::ToolCall>,
    /// The token estimate of `text` while it streams, fed each delta by
    /// [`ChatMessage::append_text`] (a frame would otherwise count the whole reply again).
    streamed: TokenEstimate,
}

impl ChatMessage {
    pub fn new(stored: StoredMessage) -> ChatMessage {
        let text = crate::api::types::plain_text(&stored.content);
        let error = stored.error.as_deref().map(ErrorInfo::from_stored);
        ChatMessage {
            usage_final: stored.status == MessageStatus::Complete,
            stored,
            text,
            version: 0,
            error,
            thought_for: None,
            branch: None,
            calls: Vec::new(),
            streamed: TokenEstimate::default(),
        }
        .with_estimate()
    }

    /// `streamed` brought up to date with `text` (for a message that streams from here on).
    fn with_estimate(mut self) -> ChatMessage {
        if self.status() == MessageStatus::Streaming {
            self.streamed = TokenEstimate::default();
            self.streamed.add(&self.text);
        }
        self
    }

    /// More of a streaming reply's text.
    pub fn append_text(&mut self, more: &str) {
        self.text.push_str(more);
        self.streamed.add(more);
    }

    /// Replace the text (and the estimate a stream grows from it).
    pub fn set_text(&mut self, text: String) {
        self.text = text;
        self.streamed = TokenEstimate::default();
        self.streamed.add(&self.text);
    }

    /// The tokens to show for this message, if there is anything to show.
    pub fn tokens(&self) -> Option<Tokens> {
        if self.status() == MessageStatus::Streaming {
            return self.tokens_given(|| self.streamed.tokens());
        }
        self.tokens_given(|| estimate_tokens(&self.text))
    }

    /// [`ChatMessage::tokens`], the text's estimate from `text_tokens` (for a caller that
    /// counts a streaming reply's text as it grows).
    pub fn tokens_given(&self, text_tokens: impl FnOnce() -> u64) -> Option<Tokens> {
        let server = self.stored.usage;
        if self.usage_final || self.role() == Role::User {
            return server.map(|usage| Tokens {
                usage,
                estimated: false,
            });
        }
        // Thinking is output too (the server counts it in `output_tokens`).
        let guess = text_tokens() + estimate_tokens(&self.thinking_text());
        if server.is_none() && guess == 0 {
            return None;
        }
        let mut usage = server.unwrap_or_default();
        usage.output_tokens = usage.output_tokens.max(guess);
        Some(Tokens {
            usage,
            estimated: true,
        })
    }

    /// The reply's thinking text, its blocks joined by a blank line ("" for none).
    pub fn thinking_text(&self) -> String {
        let parts: Vec<&str> = self
            .stored
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Thinking { thinking, .. } => Some(thinking.as_str()),
                _ => None,
            })
            .collect();
        parts.join("\n\n")
    }

    pub fn role(&self) -> Role {
        self.stored.role
    }

    pub fn status(&self) -> MessageStatus {
        self.stored.status
    }

    /// The snapshot to save at `now_ms`: while streaming, the text so far becomes the content.
    pub fn snapshot(&self, now_ms: i64) -> StoredMessage {
        let mut stored = self.stored.clone();
        if let std::borrow::Cow::Owned(content) = self.content() {
            stored.content = content;
        }
        stored.error = self.error.as_ref().map(ErrorInfo::to_stored);
        stored.updated_at = now_ms;
        stored
    }

    /// The message's blocks as they stand: a finished reply's as received; while it streams
    /// (or once stopped or failed) the blocks other than text, then the text so far.
    pub fn content(&self) -> std::borrow::Cow<'_, [ContentBlock]> {
        let stored = &self.stored;
        if stored.status == MessageStatus::Complete && !stored.content.is_empty() {
            return std::borrow::Cow::Borrowed(&stored.content);
        }
        let others = stored
            .content
            .iter()
            .filter(|b| !matches!(b, ContentBlock::Text { .. }))
            .cloned();
        let mut content: Vec<_> = others.collect();
        if !self.text.is_empty() {
            content.push(ContentBlock::text(self.text.clone()));
        }
        std::borrow::Cow::Owned(content)
    }
}

/// Where a pane's current request is. The request's id lives in the busy phases, so a pane
/// cannot be idle with a request running or busy without one.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    /// Sent, no text yet (a retry of the connection may be under way, or the model is
    /// thinking: since its first thinking delta).
    Waiting {
        request: RequestId,
        since: Instant,
        retry: Option<RetryNotice>,
        thinking_since: Option<Instant>,
    },
    /// Text is arriving.
    Streaming {
        request: RequestId,
        since: Instant,
        first_text: Instant,
        chars: usize,
    },
}

impl Phase {
    /// The request this phase waits on, if busy.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            Phase::Idle => None,
            Phase::Waiting { request, .. } | Phase::Streaming { request, .. } => Some(*request),
        }
    }
}

/// One open conversation (a tab).
pub struct Pane {
    pub conversation: Conversation,
    /// Whether the conversation row exists in the store yet (it is created on the first send).
    pub saved: bool,
    /// The model the next turn goes to.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub input: TextArea<'static>,
    pub phase: Phase,
    pub last_flush: Instant,
    /// New content arrived while another tab was shown.
    pub unread: bool,
    /// The user named the conversation (`/title`), so the first prompt must not rename it.
    pub title_from_user: bool,
    /// A prompt the user was told does not fit the context window: Enter on it sends anyway.
    pub confirmed_oversize: Option<super::context::Oversize>,
    /// The draft the store holds for this conversation ("" for none), so a draft is handed to
    /// the store only when it changed.
    pub kept_draft: String,
    /// Thinking blocks are shown whole rather than folded to one line (the view reads it).
    pub show_thinking: bool,
    /// The request under way continues the last reply rather than starting one.
    pub continuing: Option<Continuing>,
    /// The endpoint's token counts of this pane's next request (see `context`).
    pub token_counts: super::context::TokenCounts,
    /// The messages of the conversation that are not on the active path, by id (see `tree`).
    pub off_path: std::collections::HashMap<String, ChatMessage>,
    /// Every message's children, path and off-path alike (see `tree`).
    pub children: super::tree::Children,
    /// Message selection mode: the selected message of the path.
    pub selection: Option<usize>,
    /// The prompt being edited (`/edit`): sending makes its sibling.
    pub editing: Option<Editing>,
    /// `d` was pressed once in selection: a second press deletes.
    pub delete_armed: bool,
    /// The model picker was opened to regenerate the path's message at this index.
    pub regen_after_pick: Option<usize>,
    /// `/compare`: the models each prompt goes to at once (empty: one model, as usual).
    pub compare: Vec<String>,
    /// The replies of the last compared prompt, side by side until one is picked or the
    /// next prompt is sent.
    pub columns: Vec<Column>,
    /// What the requests' `tool_choice` says (`/tools`).
    pub tool_choice: crate::config::ToolChoice,
    /// Tools the user allowed for the rest of this conversation (`a`).
    pub always_allowed: std::collections::BTreeSet<String>,
    /// The prompt was sent while the tools were starting: its reply starts once they are up.
    pub waiting_for_tools: bool,
    /// Model turns taken by the tool loop since the last prompt (or the last go-ahead).
    pub tool_steps: u32,
    /// The loop reached `max_tool_steps`: Enter on an empty input goes on.
    pub tool_cap_reached: bool,
    /// The call whose arguments are being edited in the input (`e`).
    pub editing_call: Option<String>,
    /// Files to go with the next prompt, as chips above the input.
    pub attachments: Vec<super::attach::PendingAttachment>,
    /// A paste of file paths, waiting for the user to attach them or paste the text.
    pub paste_offer: Option<super::attach::PasteOffer>,
}

/// One model's reply of a compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub model: String,
    /// The reply's message id (in the tree: the first column's on the path).
    pub message: String,
    /// The request still streaming it.
    pub request: Option<RequestId>,
    pub since: Instant,
    pub first_text: Option<Instant>,
    pub ended: Option<Instant>,
    pub last_flush: Instant,
}

/// What `/edit` (or `e` in selection mode) is changing: a prompt of the active path.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    /// The message being replaced by a sibling.
    pub message: String,
    /// The draft the input held before, given back if the edit is cancelled.
    pub draft: String,
    /// The attachments waiting before, given back likewise.
    pub attachments: Vec<super::attach::PendingAttachment>,
}

/// A reply being continued: what it held before, so the continuation adds to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuing {
    pub how: super::history::Continuation,
    /// The reply's blocks before the continuation (the first ones of its content).
    pub blocks_before: usize,
    /// Its usage before; the continuation's is added.
    pub usage_before: Usage,
    /// Paused turns resumed in a row without asking, this one included.
    pub resumes: u32,
}

impl Continuing {
    /// The reply's usage so far: what it had plus `more` of the continuation.
    pub fn usage(&self, more: Usage) -> Usage {
        self.usage_before.plus(more)
    }
}

impl Pane {
    /// An empty tab; `id` names its conversation, created at `now_ms`.
    pub fn new(settings: &Settings, now: Instant, id: String, now_ms: i64) -> Pane {
        let mut conversation = Conversation::new_at(id, "New conversation", now_ms);
        conversation.system = settings.system.clone();
        conversation.params.max_tokens = Some(settings.max_tokens);
        conversation.params.temperature = settings.temperature;
        conversation.params.top_p = settings.top_p;
        conversation.params.thinking = settings.request.thinking;
        conversation.params.effort = settings.request.effort;
        conversation.params.top_k = settings.request.top_k;
        conversation.params.stop_sequences = settings.request.stop_sequences.clone();
        let mut pane = Pane::with(
            conversation,
            settings.default_model.clone(),
            false,
            Vec::new(),
            now,
        );
        pane.tool_choice = settings.tool_choice.clone();
        pane
    }

    /// A pane for a saved conversation.
    pub fn from_saved(
        settings: &Settings,
        conversation: Conversation,
        messages: Vec<StoredMessage>,
        now: Instant,
    ) -> Pane {
        let model = conversation
            .last_model
            .clone()
            .unwrap_or_else(|| settings.default_model.clone());
        let leaf = conversation.active_leaf.clone();
        let mut pane = Pane::with(conversation, model, true, Vec::new(), now);
        pane.tool_choice = settings.tool_choice.clone();
        pane.set_tree(messages, leaf.as_deref());
        pane
    }

    fn with(
        conversation: Conversation,
        model: String,
        saved: bool,
        messages: Vec<ChatMessage>,
        now: Instant,
    ) -> Pane {
        Pane {
            model,
            conversation,
            saved,
            messages,
            input: new_input(),
            phase: Phase::Idle,
            last_flush: now,
            unread: false,
            title_from_user: false,
            confirmed_oversize: None,
            kept_draft: String::new(),
            show_thinking: false,
            continuing: None,
            token_counts: Default::default(),
            off_path: Default::default(),
            children: Default::default(),
            selection: None,
            editing: None,
            delete_armed: false,
            regen_after_pick: None,
            compare: Vec::new(),
            columns: Vec::new(),
            tool_choice: crate::config::ToolChoice::Auto,
            always_allowed: Default::default(),
            waiting_for_tools: false,
            tool_steps: 0,
            tool_cap_reached: false,
            editing_call: None,
            attachments: Vec::new(),
            paste_offer: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.conversation.id
    }

    pub fn is_busy(&self) -> bool {
        self.phase != Phase::Idle
            || self.columns.iter().any(|c| c.request.is_some())
            || self.waiting_for_tools
            || self.tool_calls_open()
    }

    /// The last reply has calls still asked about or running.
    pub fn tool_calls_open(&self) -> bool {
        self.messages.last().is_some_and(|m| {
            m.calls
                .iter()
                .any(|c| !matches!(c.state, super::tools::CallState::Done(_)))
        })
    }

    /// The request running for this pane, if any.
    pub fn request(&self) -> Option<RequestId> {
        self.phase.request()
    }

    /// End the pane's request (the pane goes idle); the request it had, if any.
    pub fn end_request(&mut self) -> Option<RequestId> {
        self.continuing = None;
        std::mem::replace(&mut self.phase, Phase::Idle).request()
    }

    pub fn input_text(&self) -> String {
        self.input.lines().join("\n")
    }

    /// Whether the input holds something worth keeping (not just blanks).
    pub fn has_draft(&self) -> bool {
        self.input.lines().iter().any(|l| !l.trim().is_empty())
    }

    /// Token totals over the conversation's replies; estimated if any part is.
    pub fn totals(&self) -> Tokens {
        let mut total = Tokens::default();
        for tokens in self.messages.iter().filter_map(ChatMessage::tokens) {
            let (sum, usage) = (&mut total.usage, tokens.usage);
            sum.input_tokens += usage.input_tokens;
            sum.output_tokens += usage.output_tokens;
            if let Some(c) = usage.cache_creation_input_tokens {
                *sum.cache_creation_input_tokens.get_or_insert(0) += c;
            }
            if let Some(c) = usage.cache_read_input_tokens {
                *sum.cache_read_input_tokens.get_or_insert(0) += c;
            }
            total.estimated |= tokens.estimated;
        }
        total
    }

    /// The last reply with tokens to show (counted or estimated), and its model.
    pub fn last_usage(&self) -> Option<(&str, Tokens)> {
        self.messages.iter().rev().find_map(|m| {
            let tokens = m.tokens()?;
            Some((m.stored.model.as_deref().unwrap_or(""), tokens))
        })
    }

    pub fn max_tokens(&self, settings: &Settings) -> u32 {
        self.conversation
            .params
            .max_tokens
            .unwrap_or(settings.max_tokens)
    }

    /// The request for the next turn: the whole history (every block, by the rule in
    /// [`super::history`]), this pane's settings.
    pub fn build_request(&self, settings: &Settings) -> MessagesRequest {
        self.build_request_noted(settings).0
    }

    /// [`Pane::build_request`], and what the API's rules changed of the conversation's
    /// settings for this model (for a notice): see [`crate::config::apply_rules`].
    pub fn build_request_noted(&self, settings: &Settings) -> (MessagesRequest, Vec<String>) {
        self.build_request_to(settings, &self.model)
    }

    /// [`Pane::build_request_noted`] for `model` (a compare asks several).
    pub fn build_request_to(
        &self,
        settings: &Settings,
        model: &str,
    ) -> (MessagesRequest, Vec<String>) {
        let contents: Vec<_> = self.messages.iter().map(ChatMessage::content).collect();
        let turns = self.messages.iter().zip(&contents).map(Turn::of);
        let messages = super::history::request_messages(turns, model);
        self.request_with(settings, model, messages)
    }

    /// The request that continues the pane's last message, a reply (see
    /// [`super::history::continuation`]); `None` when there is nothing to continue from.
    pub fn build_continuation(
        &self,
        settings: &Settings,
        how: super::history::Continuation,
    ) -> Option<(MessagesRequest, Vec<String>)> {
        let (reply, before) = self.messages.split_last()?;
        if reply.role() != Role::Assistant {
            return None;
        }
        let contents: Vec<_> = before.iter().map(ChatMessage::content).collect();
        let reply_content = reply.content();
        let turns = before.iter().zip(&contents).map(Turn::of);
        let messages = super::history::continuation(
            turns,
            Turn::of((reply, &reply_content)),
            &self.model,
            how,
        )?;
        Some(self.request_with(settings, &self.model, messages))
    }

    /// Whether the active path's attachments and `new` ones keep within the API's limits for
    /// one request.
    pub fn attachment_limits(
        &self,
        new: &[crate::attach::Attachment],
    ) -> Result<(), crate::attach::LimitError> {
        let sent = self
            .messages
            .iter()
            .flat_map(|m| &m.stored.content)
            .filter_map(|b| match b {
                crate::api::ContentBlock::Attachment(a) => Some(a),
                _ => None,
            });
        crate::attach::check_totals(sent.chain(new))
    }

    /// The request sending `messages` to `model` with this pane's system prompt and settings.
    fn request_with(
        &self,
        settings: &Settings,
        model: &str,
        messages: Vec<crate::api::RequestMessage>,
    ) -> (MessagesRequest, Vec<String>) {
        let params = &self.conversation.params;
        let mut request = MessagesRequest {
            model: model.to_owned(),
            messages,
            system: self
                .conversation
                .system
                .clone()
                .filter(|s| !s.trim().is_empty())
                .map(crate::api::types::SystemPrompt::Text),
            max_tokens: self.max_tokens(settings),
            temperature: params.temperature,
            top_p: params.top_p,
            top_k: params.top_k,
            stop_sequences: (!params.stop_sequences.is_empty())
                .then(|| params.stop_sequences.clone()),
            ..Default::default()
        };
        settings.request.fixed_fields(&mut request);
        crate::attach::set_citations(&mut request, params.citations);
        self.offer_tools(settings, &mut request);
        let caps = crate::config::capabilities_of(&settings.models, model);
        let notes = crate::config::apply_rules(&mut request, params.thinking, params.effort, &caps);
        super::cache::place_cache_breakpoints(&mut request, settings.request.prompt_cache);
        (request, notes)
    }
}

impl Pane {
    /// The tools of the started servers, and the conversation's `tool_choice` when it is not
    /// the API's default (a choice naming a tool that is not offered falls back to it).
    fn offer_tools(&self, settings: &Settings, request: &mut MessagesRequest) {
        super::tools::offer(
            request,
            settings.tools.iter().map(|t| t.to_api()).collect(),
            &self.tool_choice,
            settings.disable_parallel_tool_use,
        );
    }
}

impl<'a> Turn<'a> {
    /// A pane's message as the history reads it, with `content` its blocks as they stand.
    fn of((message, content): (&'a ChatMessage, &'a std::borrow::Cow<'a, [ContentBlock]>)) -> Self {
        Turn {
            role: message.role(),
            content,
            model: message.stored.model.as_deref(),
            refused: message.stored.stop_reason.as_deref() == Some("refusal"),
        }
    }
}

pub fn new_input() -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streaming_reply_counts_its_text_as_it_grows() {
        let stored = StoredMessage::assistant_streaming("c", 1, "claude-sonnet-4.6");
        let mut message = ChatMessage::new(stored);
        let deltas = [
            "Hello",
            " there,",
            " 世界",
            " — a long",
            "\n\nline ",
            "of text",
        ];
        for delta in deltas {
            message.append_text(delta);
            let counted = message
                .tokens()
                .expect("a streaming reply shows its tokens");
            assert_eq!(counted.usage.output_tokens, estimate_tokens(&message.text));
            assert!(counted.estimated);
        }
        message.set_text("replaced".into());
        assert_eq!(
            message.tokens().unwrap().usage.output_tokens,
            estimate_tokens("replaced")
        );
    }
}
