//! The words between the app and the driver: the [`Action`]s that happen to the app, the
//! [`Effect`]s it asks for, and the two things that are neither I/O nor state (a [`Scroll`]
//! for the view, a [`Timer`] the driver keeps).
//!
//! Every variant says what it means and who answers it, so a new effect is read here once and
//! carried out in `driver/effects.rs`.

use std::time::Duration;

use crossterm::event::KeyEvent;

use super::overlay::BrowserRow;
use super::state::{Notice, RequestId};
use crate::api::{ApiError, Message, MessagesRequest, RetryNotice, Usage};
use crate::store::{Conversation, StoredMessage, WriteCommand};

/// A stream update for one request.
#[derive(Debug, Clone, PartialEq)]
#[deny(missing_docs)]
pub enum ApiEvent {
    /// The request failed in a way worth retrying; the next attempt comes after the delay.
    Retrying(RetryNotice),
    /// The reply began (`message_start`), with the server's first usage.
    Started {
        /// Input and cache counts; the output count is a placeholder until the end.
        usage: Usage,
    },
    /// More of the reply's text.
    Text(String),
    /// More of the reply's thinking (`thinking_delta`), shown as it streams; the signature
    /// comes with the finished reply.
    Thinking(String),
    /// Updated counts (`message_delta`).
    Usage(Usage),
    /// The whole reply, as the stream assembled it.
    Finished(Box<Message>),
    /// The request or the stream failed.
    Failed {
        /// What went wrong, for the error block.
        error: ApiError,
        /// What had arrived before it failed, if anything.
        partial: Option<Box<Message>>,
    },
}

/// Everything that can happen to the app.
#[derive(Debug)]
#[deny(missing_docs)]
pub enum Action {
    /// A key press (or repeat; releases change nothing).
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// Mouse wheel: lines, negative is up.
    Wheel(i32),
    /// The terminal changed size (the next frame redraws everything).
    Resize,
    /// A timer the app asked for ([`Effect::Schedule`]) is due.
    Timer(Timer),
    /// A stream update (answers `Effect::Send`).
    Api {
        /// The conversation the request was made for.
        conversation: String,
        /// Which request: updates of a stopped or replaced one are dropped.
        request: RequestId,
        /// What happened.
        event: ApiEvent,
    },
    /// The ids the endpoint's Models API listed, added to the picker.
    ModelsFetched(Vec<String>),
    /// What the Models API said of each model (capabilities, when it lists them): what the
    /// request rules read of a model from then on.
    ModelsDescribed(Vec<crate::api::types::ModelInfo>),
    /// `$EDITOR` closed (answers `Effect::Editor`): the edited text, or why it failed.
    EditorClosed(Result<String, String>),
    /// Something to tell the user in the status line.
    Notify(Notice),
    /// Open a saved conversation in a new tab (or focus it if open).
    OpenSaved {
        /// The conversation's row.
        conversation: Conversation,
        /// Its messages in order.
        messages: Vec<StoredMessage>,
    },
    /// SIGTERM / SIGHUP: save and leave.
    Terminate,
    /// The store refused a message of this conversation: another tern appended to it first.
    SaveConflict {
        /// The conversation's id.
        conversation: String,
        /// The id of the message the store refused.
        message: String,
    },
    /// A conversation as stored, reloaded after a conflict (answers `Effect::Reload`).
    Reloaded {
        /// The conversation's row as stored.
        conversation: Conversation,
        /// Its messages as stored.
        messages: Vec<StoredMessage>,
    },
    /// The draft the store kept for a conversation (the answer to a load; see
    /// `WriteCommand::SetDraft`). Fills that pane's input only if it is still empty.
    RestoreDraft {
        /// The conversation's id.
        conversation: String,
        /// The unsent text.
        text: String,
    },
    /// Rows for the browser's query number `generation` (older answers are dropped).
    BrowserRows {
        /// The query number the rows answer.
        generation: u64,
        /// The rows, or why the store could not give them.
        rows: Result<Vec<BrowserRow>, String>,
    },
    /// The messages of a conversation previewed in the browser.
    BrowserPreview {
        /// The conversation's id.
        id: String,
        /// Its latest messages.
        messages: Vec<StoredMessage>,
    },
    /// What the endpoint counted for a request (answers `Effect::CountTokens`; a count that
    /// failed is not answered: the estimate stands, and nothing is redrawn for it).
    TokensCounted {
        /// The conversation the request was built for.
        conversation: String,
        /// The count's number, carried back: an answer to an older count is dropped.
        generation: u64,
        /// The draft counted as the next prompt ("" for the history alone).
        prompt: String,
        /// The count, or why there is none.
        result: TokenCount,
    },
    /// Show the branch of `conversation` holding `message` (after a search hit opened it).
    ShowMessage {
        /// The conversation.
        conversation: String,
        /// The message whose branch to show.
        message: String,
    },
    /// An earlier run found the endpoint without count_tokens (sent once at startup, from the
    /// store): no count is asked for.
    CountTokensAbsent,
    /// The MCP servers have started (those that could): their tools (answers
    /// `Effect::StartTools`).
    ToolsReady {
        /// Every tool of the servers that are up.
        tools: Vec<super::tools::Tool>,
        /// One line per server that failed to start, for the user.
        problems: Vec<String>,
    },
    /// A tool call ended (answers `Effect::CallTool`; a cancelled call is not answered).
    ToolFinished {
        /// The conversation whose reply made the call.
        conversation: String,
        /// The `tool_use` id.
        call: String,
        /// The result, or why there is none (the call failed, its server is down).
        result: Result<super::tools::ToolOutcome, String>,
    },
    /// The terminal shows images: image attachments get thumbnails from now on.
    ThumbnailsOn,
    /// The decoded, scaled-down pixels of an image attachment, for the view (the driver hands
    /// them to the view's thumbnails; the app's state never holds them).
    ThumbnailLoaded {
        /// The attachment's SHA-256.
        sha256: String,
        /// The thumbnail's pixels.
        image: std::sync::Arc<image::DynamicImage>,
    },
    /// The files of an `Effect::Attach` were prepared (a glob may name several), or not.
    Attached {
        /// The conversation whose prompt they go with.
        conversation: String,
        /// The job number of the effect.
        job: u64,
        /// One result per file, in order.
        results: Vec<Result<crate::attach::Attachment, crate::attach::AttachError>>,
    },
    /// A paste that named only existing files (the driver checked): offer to attach them.
    PastedFiles(super::attach::PasteOffer),
    /// The paths completing a word after `/attach`.
    PathCompleted {
        /// The conversation whose draft asked.
        conversation: String,
        /// What completes it.
        completion: super::attach::PathCompletion,
    },
}

/// The endpoint's answer to a token count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[deny(missing_docs)]
pub enum TokenCount {
    /// The request's input tokens, exactly.
    Counted(u64),
    /// The endpoint has no count_tokens (now or remembered from before): ask no more.
    Absent,
}

/// A scroll of a conversation's view. Not an [`Effect`]: scrolling is the view's business, not
/// I/O, so the app queues these in [`App::scrolls`](super::App::scrolls) and the view takes them after each update
/// (`ViewState::sync`), the same way in the driver and in every test harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scroll {
    /// The conversation whose view scrolls.
    pub conversation: String,
    /// How far.
    pub by: ScrollBy,
}

/// How far to scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[deny(missing_docs)]
pub enum ScrollBy {
    /// Lines; negative is up.
    Lines(i32),
    /// Screens; negative is up.
    Pages(i32),
    /// To the first line.
    Top,
    /// To the end, following new text again.
    Bottom,
    /// Just enough to show the path's message at this index (its top when it is taller than
    /// the view).
    Message(usize),
}

/// What the app asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
#[deny(missing_docs)]
pub enum Effect {
    /// Stream a request; answer with `Action::Api` events tagged with `request`.
    Send {
        /// The conversation the reply belongs to.
        conversation: String,
        /// The request's id, carried back on every event.
        request: RequestId,
        /// The request body as the API takes it.
        body: MessagesRequest,
    },
    /// Stop a request: its task ends and sends nothing more.
    Cancel(RequestId),
    /// A write for the store's owner task, in the store's own terms.
    Save(WriteCommand),
    /// Put `text` on the clipboard; answer with a notice naming `what` was copied.
    Copy {
        /// What to copy (cleaned for the clipboard first).
        text: String,
        /// How the notice names it ("reply", "code block").
        what: String,
    },
    /// Lend the terminal to `$EDITOR` with this text; answer with `Action::EditorClosed`.
    Editor(String),
    /// List (empty query) or search saved conversations; answer with `Action::BrowserRows`.
    BrowserQuery {
        /// The query number, carried back with the rows.
        generation: u64,
        /// The search text; empty lists every conversation.
        query: String,
    },
    /// Load a conversation for the browser's preview; answer with `Action::BrowserPreview`.
    BrowserPreview(String),
    /// Load an open conversation again as stored; answer with `Action::Reloaded`.
    Reload(String),
    /// Load a saved conversation and open it; answer with `Action::OpenSaved`.
    OpenConversation(String),
    /// Open a saved conversation on the branch holding `message` (a search hit); answer with
    /// `Action::OpenSaved`, then `Action::ShowMessage`.
    OpenConversationAt {
        /// The conversation.
        conversation: String,
        /// The message to show.
        message: String,
    },
    /// Write a conversation as Markdown to a file in the current directory.
    Export(String),
    /// Send `Action::Timer(timer)` once `after` has passed. Asking again for a timer that is
    /// still pending moves it: there is at most one of each.
    Schedule {
        /// Which timer.
        timer: Timer,
        /// How long from now.
        after: Duration,
    },
    /// Leave the app (after the effects before it have been carried out).
    Quit,
    /// Count the input tokens of `body` (`POST /v1/messages/count_tokens`) in the background;
    /// answer with `Action::TokensCounted`. Nothing waits for it: a send goes out regardless.
    CountTokens {
        /// The conversation the request is built for.
        conversation: String,
        /// The count's number, carried back.
        generation: u64,
        /// The draft counted as the next prompt ("" for the history alone), carried back.
        prompt: String,
        /// The request that would be sent with `prompt` next.
        body: MessagesRequest,
    },
    /// Start the configured MCP servers in the background; answer with `Action::ToolsReady`.
    StartTools,
    /// Run a tool; answer with `Action::ToolFinished`.
    CallTool {
        /// The conversation whose reply made the call, carried back.
        conversation: String,
        /// The `tool_use` id, carried back.
        call: String,
        /// The tool's name as the model sees it (`server__tool`).
        name: String,
        /// Its arguments (a JSON object).
        arguments: serde_json::Map<String, serde_json::Value>,
    },
    /// Cancel a running tool call (its server is told); nothing is answered.
    CancelTool {
        /// The `tool_use` id.
        call: String,
    },
    /// Decode and scale down an image attachment's bytes off the UI thread; answer with
    /// `Action::ThumbnailLoaded` (nothing when its bytes are not found or do not decode).
    LoadThumbnail {
        /// The attachment's SHA-256.
        sha256: String,
    },
    /// Read and prepare a file to attach, off the UI thread, and put its bytes in the store;
    /// answer with `Action::Attached`.
    Attach {
        /// The conversation whose prompt it goes with, carried back.
        conversation: String,
        /// The job number, carried back.
        job: u64,
        /// Where to read it.
        source: super::attach::AttachSource,
    },
    /// List the paths completing the word at `word_start` of `draft`; answer with
    /// `Action::PathCompleted`.
    CompletePath {
        /// The conversation, carried back.
        conversation: String,
        /// The draft, carried back.
        draft: String,
        /// Where the word starts (a byte offset).
        word_start: usize,
    },
}

/// The app's wake-ups. The app decides when it wants one; the driver only keeps the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[deny(missing_docs)]
pub enum Timer {
    /// The status-line notice has been shown for [`NOTICE_TTL`](super::NOTICE_TTL).
    NoticeExpiry,
    /// The next spinner frame, while a request waits for its first text.
    Spinner,
    /// The input has been still for [`COUNT_AFTER`](super::COUNT_AFTER): count the tokens of
    /// the request it would send.
    CountTokens,
}
