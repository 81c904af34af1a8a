//! Application state: conversations (tabs), their messages, overlays, and the action/effect types.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::api::{ApiError, Message, MessagesRequest, RetryNotice, Role, Usage};
use crate::config::{Config, ModelSpec};
pub use crate::store::BrowserRow;
use crate::store::{Conversation, MessageStatus, StoredMessage, WriteCommand};

pub use super::ids::Ids;
use super::keymap::KeyMap;

pub type RequestId = u64;

/// What the app needs from the configuration, fixed for the session.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_model: String,
    pub max_tokens: u32,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub system: Option<String>,
    pub models: Vec<ModelSpec>,
    pub keymap: KeyMap,
    pub has_key: bool,
    pub base_url: String,
    pub config_file: Option<String>,
}

impl Settings {
    pub fn from_config(config: &Config, keymap: KeyMap) -> Settings {
        Settings {
            default_model: config.model.clone(),
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            top_p: config.top_p,
            system: config.system.clone(),
            models: config.models.clone(),
            keymap,
            has_key: config.has_key(),
            base_url: config.base_url.clone(),
            config_file: crate::config::default_config_path().map(|p| p.display().to_string()),
        }
    }
}

/// A failure as shown in an error block; its saved form belongs to the store.
pub use crate::store::ErrorInfo;

impl ErrorInfo {
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

/// About four characters per token: the usual rule of thumb for English text and code.
pub fn estimate_tokens(text: &str) -> u64 {
    text.chars().count().div_ceil(4) as u64
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
        }
    }

    /// The tokens to show for this message, if there is anything to show.
    pub fn tokens(&self) -> Option<Tokens> {
        let server = self.stored.usage;
        if self.usage_final || self.role() == Role::User {
            return server.map(|usage| Tokens {
                usage,
                estimated: false,
            });
        }
        let guess = estimate_tokens(&self.text);
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

    pub fn role(&self) -> Role {
        self.stored.role
    }

    pub fn status(&self) -> MessageStatus {
        self.stored.status
    }

    /// The snapshot to save at `now_ms`: while streaming, the text so far becomes the content.
    pub fn snapshot(&self, now_ms: i64) -> StoredMessage {
        let mut stored = self.stored.clone();
        if stored.status != MessageStatus::Complete || stored.content.is_empty() {
            let others = stored
                .content
                .iter()
                .filter(|b| !matches!(b, crate::api::ContentBlock::Text { .. }))
                .cloned();
            let mut content: Vec<_> = others.collect();
            if !self.text.is_empty() {
                content.push(crate::api::ContentBlock::text(self.text.clone()));
            }
            stored.content = content;
        }
        stored.error = self.error.as_ref().map(ErrorInfo::to_stored);
        stored.updated_at = now_ms;
        stored
    }
}

/// Where a pane's current request is. The request's id lives in the busy phases, so a pane
/// cannot be idle with a request running or busy without one.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    /// Sent, no text yet (a retry of the connection may be under way).
    Waiting {
        request: RequestId,
        since: Instant,
        retry: Option<RetryNotice>,
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
}

impl Pane {
    /// An empty tab; `id` names its conversation, created at `now_ms`.
    pub fn new(settings: &Settings, now: Instant, id: String, now_ms: i64) -> Pane {
        let mut conversation = Conversation::new_at(id, "New conversation", now_ms);
        conversation.system = settings.system.clone();
        conversation.params.max_tokens = Some(settings.max_tokens);
        conversation.params.temperature = settings.temperature;
        conversation.params.top_p = settings.top_p;
        Pane::with(
            conversation,
            settings.default_model.clone(),
            false,
            Vec::new(),
            now,
        )
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
        let messages = messages.into_iter().map(ChatMessage::new).collect();
        Pane::with(conversation, model, true, messages, now)
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
        }
    }

    pub fn id(&self) -> &str {
        &self.conversation.id
    }

    pub fn is_busy(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// The request running for this pane, if any.
    pub fn request(&self) -> Option<RequestId> {
        self.phase.request()
    }

    /// End the pane's request (the pane goes idle); the request it had, if any.
    pub fn end_request(&mut self) -> Option<RequestId> {
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

    /// The request for the next turn: the whole history (replies as text, by the rule in
    /// [`super::history`]), this pane's settings.
    pub fn build_request(&self, settings: &Settings) -> MessagesRequest {
        let messages = super::history::request_messages(
            self.messages.iter().map(|m| (m.role(), m.text.as_str())),
        );
        MessagesRequest {
            model: self.model.clone(),
            messages,
            system: self
                .conversation
                .system
                .clone()
                .filter(|s| !s.trim().is_empty())
                .map(crate::api::types::SystemPrompt::Text),
            max_tokens: self.max_tokens(settings),
            temperature: self.conversation.params.temperature,
            top_p: self.conversation.params.top_p,
            ..Default::default()
        }
    }
}

pub fn new_input() -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    input
}

/// A stream update for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiEvent {
    Retrying(RetryNotice),
    Started {
        usage: Usage,
    },
    Text(String),
    Usage(Usage),
    Finished(Box<Message>),
    Failed {
        error: ApiError,
        partial: Option<Box<Message>>,
    },
}

/// Everything that can happen to the app.
#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    /// Mouse wheel: lines, negative is up.
    Wheel(i32),
    Resize,
    /// A timer the app asked for ([`Effect::Schedule`]) is due.
    Timer(Timer),
    Api {
        conversation: String,
        request: RequestId,
        event: ApiEvent,
    },
    ModelsFetched(Vec<String>),
    EditorClosed(Result<String, String>),
    /// Something to tell the user in the status line.
    Notify(Notice),
    /// Open a saved conversation in a new tab (or focus it if open).
    OpenSaved {
        conversation: Conversation,
        messages: Vec<StoredMessage>,
    },
    /// SIGTERM / SIGHUP: save and leave.
    Terminate,
    /// The store refused a message of this conversation: another tern appended to it first.
    SaveConflict {
        conversation: String,
        message: String,
    },
    /// A conversation as stored, reloaded after a conflict (answers `Effect::Reload`).
    Reloaded {
        conversation: Conversation,
        messages: Vec<StoredMessage>,
    },
    /// The draft the store kept for a conversation (the answer to a load; see
    /// `WriteCommand::SetDraft`). Fills that pane's input only if it is still empty.
    RestoreDraft {
        conversation: String,
        text: String,
    },
    /// Rows for the browser's query number `generation` (older answers are dropped).
    BrowserRows {
        generation: u64,
        rows: Result<Vec<BrowserRow>, String>,
    },
    /// The messages of a conversation previewed in the browser.
    BrowserPreview {
        id: String,
        messages: Vec<StoredMessage>,
    },
}

/// A scroll of a conversation's view. Not an [`Effect`]: scrolling is the view's business, not
/// I/O, so the app queues these in [`App::scrolls`] and the view takes them after each update
/// (`ViewState::sync`), the same way in the driver and in every test harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scroll {
    pub conversation: String,
    pub by: ScrollBy,
}

/// How far to scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollBy {
    Lines(i32),
    Pages(i32),
    Top,
    Bottom,
}

/// What the app asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        conversation: String,
        request: RequestId,
        body: MessagesRequest,
    },
    Cancel(RequestId),
    /// A write for the store's owner task, in the store's own terms.
    Save(WriteCommand),
    Copy {
        text: String,
        what: String,
    },
    Editor(String),
    /// List (empty query) or search saved conversations; answer with `Action::BrowserRows`.
    BrowserQuery {
        generation: u64,
        query: String,
    },
    /// Load a conversation for the browser's preview; answer with `Action::BrowserPreview`.
    BrowserPreview(String),
    /// Load an open conversation again as stored; answer with `Action::Reloaded`.
    Reload(String),
    /// Load a saved conversation and open it; answer with `Action::OpenSaved`.
    OpenConversation(String),
    /// Write a conversation as Markdown to a file in the current directory.
    Export(String),
    /// Send `Action::Timer(timer)` once `after` has passed. Asking again for a timer that is
    /// still pending moves it: there is at most one of each.
    Schedule {
        timer: Timer,
        after: Duration,
    },
    Quit,
}

/// The app's wake-ups. The app decides when it wants one; the driver only keeps the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The status-line notice has been shown for [`NOTICE_TTL`].
    NoticeExpiry,
    /// The next spinner frame, while a request waits for its first text.
    Spinner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub kind: NoticeKind,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            kind: NoticeKind::Info,
        }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            kind: NoticeKind::Error,
        }
    }
}

/// How long a status-line notice stays.
pub const NOTICE_TTL: Duration = Duration::from_secs(4);

/// The spinner's frame time while a request waits for its first text.
pub const SPINNER_EVERY: Duration = Duration::from_millis(100);

/// A second press of the same key within this confirms a quit or close that would lose work.
pub const CONFIRM_WITHIN: Duration = Duration::from_secs(1);

/// A question asked by a first press ("press Ctrl+Q again to quit: …"), answered by pressing
/// the same command's key again, in the same tab, within [`CONFIRM_WITHIN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub command: super::keymap::KeyAction,
    pub conversation: String,
    pub at: Instant,
}

/// A filterable list popup (the model picker and the code-block chooser share it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PickerState {
    pub filter: String,
    pub selected: usize,
}

/// A code block offered for copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChoice {
    pub label: String,
    pub code: String,
}

/// The popup on top of the conversation, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help {
        scroll: u16,
    },
    ModelPicker(PickerState),
    CodePicker {
        picker: PickerState,
        blocks: Vec<CodeChoice>,
    },
    Browser(Box<BrowserState>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BrowserMode {
    #[default]
    List,
    Rename(String),
    ConfirmDelete,
}

/// The saved-conversation browser (Ctrl+R).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrowserState {
    pub query: String,
    /// Bumped on every query change; results carry it back.
    pub generation: u64,
    pub rows: Vec<BrowserRow>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub mode: BrowserMode,
    pub preview: Option<(String, Vec<StoredMessage>)>,
}

impl BrowserState {
    /// The query changed: ask again, tagging the answer with a new generation.
    pub fn requery(&mut self) -> Effect {
        self.generation += 1;
        self.loading = true;
        self.selected = 0;
        Effect::BrowserQuery {
            generation: self.generation,
            query: self.query.clone(),
        }
    }

    pub fn selected_row(&self) -> Option<&BrowserRow> {
        self.rows.get(self.selected)
    }
}

/// The whole application state.
pub struct App {
    pub settings: Arc<Settings>,
    pub panes: Vec<Pane>,
    pub active: usize,
    pub overlay: Overlay,
    /// Models offered in the picker: configured ones, then any the endpoint listed.
    pub models: Vec<String>,
    /// What the status line tells the user, until its [`Timer::NoticeExpiry`].
    pub notice: Option<Notice>,
    /// A notice was shown since the last update: its expiry is still to be scheduled.
    pub(super) notice_unscheduled: bool,
    /// A [`Timer::Spinner`] is pending.
    pub(super) spinner_scheduled: bool,
    pub next_request: RequestId,
    /// The driver's clock, set before each update (keeps `update` free of I/O).
    pub now: Instant,
    /// Wall-clock time in unix ms, set with `now` (for "3m ago").
    pub now_ms: i64,
    /// Where new conversations and messages get their ids.
    pub ids: Ids,
    /// When the app started: the spinner's frame is derived from `now - started`, so any
    /// redraw (a [`Timer::Spinner`] while waiting, a delta while streaming) animates it.
    pub started: Instant,
    pub should_quit: bool,
    pub prompt_history: Vec<String>,
    pub history_cursor: Option<usize>,
    /// Set when saving is unavailable (the store could not be opened).
    pub store_problem: Option<String>,
    /// The quit or close waiting for its second press.
    pub confirm: Option<Confirm>,
    /// Scrolls asked for by the last updates, for the view to take (`ViewState::sync`).
    pub scrolls: Vec<Scroll>,
    /// The terminal's size (columns, rows), set by the driver with `now`: how far the help
    /// popup can scroll depends on it.
    pub screen: (u16, u16),
}

impl App {
    /// The app at `now` (`now_ms` the same moment in unix ms), its ids drawn from `ids`.
    pub fn new(settings: Settings, now: Instant, now_ms: i64, mut ids: Ids) -> App {
        let models = settings.models.iter().map(|m| m.id.clone()).collect();
        let settings = Arc::new(settings);
        let pane = Pane::new(&settings, now, ids.next_id(), now_ms);
        App {
            panes: vec![pane],
            settings,
            active: 0,
            overlay: Overlay::None,
            models,
            notice: None,
            notice_unscheduled: false,
            spinner_scheduled: false,
            next_request: 1,
            now,
            now_ms,
            ids,
            started: now,
            should_quit: false,
            prompt_history: Vec::new(),
            history_cursor: None,
            store_problem: None,
            confirm: None,
            scrolls: Vec::new(),
            screen: (0, 0),
        }
    }

    pub fn pane(&self) -> &Pane {
        &self.panes[self.active]
    }

    pub fn pane_mut(&mut self) -> &mut Pane {
        &mut self.panes[self.active]
    }

    /// A new empty tab (not yet shown), its conversation created now.
    pub fn new_pane(&mut self) -> Pane {
        let id = self.ids.next_id();
        Pane::new(&self.settings, self.now, id, self.now_ms)
    }

    /// The spinner frame to show now (one step per [`SPINNER_EVERY`]).
    pub fn spinner_frame(&self) -> usize {
        (self.now.saturating_duration_since(self.started).as_millis() / SPINNER_EVERY.as_millis())
            as usize
    }

    /// Whether a request is waiting for its first text (the spinner and the "waiting Ns"
    /// counter tick only then; a streaming reply redraws on its own deltas).
    pub fn is_waiting(&self) -> bool {
        self.panes
            .iter()
            .any(|p| matches!(p.phase, Phase::Waiting { .. }))
    }

    pub fn model_spec(&self, id: &str) -> Option<&ModelSpec> {
        self.settings.models.iter().find(|m| m.id == id)
    }

    /// Models matching the picker filter (every filter character in order, case-insensitive).
    pub fn filtered_models(&self, filter: &str) -> Vec<&str> {
        self.models
            .iter()
            .map(String::as_str)
            .filter(|m| fuzzy_match(m, filter))
            .collect()
    }
}

pub fn fuzzy_match(candidate: &str, filter: &str) -> bool {
    let mut chars = candidate.chars().flat_map(char::to_lowercase);
    filter
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .all(|f| chars.any(|c| c == f))
}
