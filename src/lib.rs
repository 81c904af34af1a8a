//! tern: a terminal chat client for Anthropic Messages-compatible APIs.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration tests,
//! benches and the fake server reach the same code the user runs.
//!
//! The four paths a newcomer looks for first, file by file. The app decides (`app`, pure: it
//! returns effects as data), the driver does the I/O (`driver`), the view only reads (`ui`).
//! Every action and effect is listed, each variant documented, in `app/action.rs`; the state
//! they change is `app/state.rs` (the app) and `app/pane.rs` (a tab).
//!
//! - **A key press becomes an action**: `driver/input.rs` (terminal events) →
//!   `driver/event_loop.rs` (`to_action`, then `App::update`) → `app/update/mod.rs` (`on_key`) →
//!   `app/keymap.rs` (the key's bound command) → `app/update/input.rs` (what the command does;
//!   popups in `app/update/overlay.rs` and `app/update/browser.rs`) → the effects it returns run
//!   in `driver/effects.rs`.
//! - **A stream delta lands in a pane**: `driver/effects.rs` (`Effect::Send` spawns the task) →
//!   `driver/stream.rs` (the request's task) → `api/client.rs`, `api/sse.rs`, `api/stream.rs`
//!   (HTTP, SSE frames, the accumulated message) → `Action::Api` on the app channel →
//!   `driver/event_loop.rs` → `app/update/stream.rs` (`on_api`: the pane's message grows, its
//!   version is bumped) → `driver/pacing.rs` (when the frame that shows it is drawn).
//! - **A message is drawn**: `driver/event_loop.rs` (`draw`) → `ui/mod.rs` (the frame's layout)
//!   → `ui/transcript.rs` (line cache, viewport; the streaming tail via `render/stream.rs`) →
//!   `ui/message.rs` (header, body, notes) → `render/markdown/` (blocks to wrapped, themed
//!   lines, with `render/wrap/` and `render/highlight.rs`) → `driver/terminal.rs` (every cell
//!   checked on its way to the terminal).
//! - **A message is saved**: `app/update/stream.rs` (`Effect::Save` with the message's
//!   snapshot) → `driver/effects.rs` (`save`) → `store/writer.rs` (the owner thread, batched) →
//!   `store/write.rs` (one checked transaction; `store/schema.rs` keeps the search index by
//!   triggers); a failure comes back as an action (`driver/session.rs`), and a conflict with
//!   another tern is handled in `app/conflict.rs`.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod attach;
pub mod cli;
pub mod config;
pub mod driver;
pub mod fake;
pub mod format;
pub mod mcp;
pub mod oneshot;
pub mod pricing;
pub mod render;
pub mod review;
pub mod sanitize;
pub mod store;
pub mod ui;
