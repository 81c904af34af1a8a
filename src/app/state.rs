//! The whole application state ([`App`]): the open panes, the popup, the notice, the clock the
//! driver sets, and the session's fixed [`Settings`]. A pane's own state is in `pane.rs`, the
//! popups' in `overlay.rs`, the actions and effects in `action.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, ModelSpec};

pub use super::ids::Ids;
use super::keymap::KeyMap;
use super::{Overlay, Pane, Phase, Scroll};

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
    /// Thinking, effort, stop sequences, top_k (a new conversation's), and the fields every
    /// request carries.
    pub request: crate::config::RequestDefaults,
    /// MCP servers are configured (their tools come once started).
    pub tools_configured: bool,
    /// A new conversation's `tool_choice`.
    pub tool_choice: crate::config::ToolChoice,
    pub disable_parallel_tool_use: bool,
    /// Model turns one prompt may take in the tool loop before tern asks.
    pub max_tool_steps: u32,
    pub tool_result_max_bytes: usize,
    /// The tools the started MCP servers offer (set when they are up): every request carries
    /// them.
    pub tools: Vec<super::tools::Tool>,
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
            request: config.request_defaults(),
            tools_configured: config.tools.servers.iter().any(|s| s.enabled),
            tool_choice: config.tools.tool_choice.clone(),
            disable_parallel_tool_use: config.tools.disable_parallel_tool_use,
            max_tool_steps: config.tools.max_tool_steps,
            tool_result_max_bytes: config.tools.tool_result_max_bytes,
            tools: Vec::new(),
        }
    }
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

/// The whole application state.
pub struct App {
    pub settings: Arc<Settings>,
    pub panes: Vec<Pane>,
    pub active: usize,
    pub overlay: Overlay,
    /// Models offered in the picker: configured ones, then any the endpoint listed.
    pub models: Vec<String>,
    /// What the status line tells the user, until its [`Timer::NoticeExpiry`](super::Timer::NoticeExpiry).
    pub notice: Option<Notice>,
    /// A notice was shown since the last update: its expiry is still to be scheduled.
    pub(super) notice_unscheduled: bool,
    /// A [`Timer::Spinner`](super::Timer::Spinner) is pending.
    pub(super) spinner_scheduled: bool,
    pub next_request: RequestId,
    /// The driver's clock, set before each update (keeps `update` free of I/O).
    pub now: Instant,
    /// Wall-clock time in unix ms, set with `now` (for "3m ago").
    pub now_ms: i64,
    /// Where new conversations and messages get their ids.
    pub ids: Ids,
    /// When the app started: the spinner's frame is derived from `now - started`, so any
    /// redraw (a [`Timer::Spinner`](super::Timer::Spinner) while waiting, a delta while streaming) animates it.
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
    /// The endpoint has no count_tokens: the app asks for no more counts.
    pub count_tokens_absent: bool,
    pub tools_state: super::tools::ToolsState,
    /// Which thumbnails were asked for (see `update/thumbnail.rs`).
    pub thumbnails: super::Thumbnails,
}

impl App {
    /// The app at `now` (`now_ms` the same moment in unix ms), its ids drawn from `ids`.
    pub fn new(settings: Settings, now: Instant, now_ms: i64, mut ids: Ids) -> App {
        let models = settings.models.iter().map(|m| m.id.clone()).collect();
        let tools_state = if settings.tools_configured {
            super::tools::ToolsState::NotStarted
        } else {
            super::tools::ToolsState::Off
        };
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
            count_tokens_absent: false,
            tools_state,
            thumbnails: super::Thumbnails::default(),
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
        self.panes.iter().any(|p| {
            matches!(p.phase, Phase::Waiting { .. })
                || p.columns
                    .iter()
                    .any(|c| c.request.is_some() && c.first_text.is_none())
        })
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
