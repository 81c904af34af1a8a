//! Rendering: model markdown → pre-wrapped, themed ratatui lines.
pub mod theme;

pub use theme::{Theme, ThemeError};
pub mod wrap;
pub mod highlight;
