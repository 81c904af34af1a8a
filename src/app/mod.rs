//! The application core: state, the actions that change it, and the effects it asks for.
//!
//! `App::update(Action) -> Vec<Effect>` is the only place state changes, and it does no I/O:
//! network, disk, clipboard and the editor are effects the driver (`src/driver/`) carries out,
//! reporting back as actions over one channel. That keeps every behaviour unit-testable without
//! a terminal or a network (atuin-ai's FSM is the model).

mod action;
pub mod attach;
pub mod cache;
mod conflict;
mod context;
pub mod help;
pub mod history;
mod ids;
mod keymap;
mod overlay;
mod pane;
mod state;
pub mod tools;
mod tree;
mod update;

pub use action::*;
pub use context::{
    COUNT_AFTER, CountBasis, Oversize, TokenCounts, TokenEstimate, estimate_tokens, prompt_of,
    request_estimate, request_with_prompt,
};
pub use keymap::{KeyAction, KeyMap, KeySpec};
pub use overlay::*;
pub use pane::*;
pub use state::*;
pub use update::Thumbnails;
