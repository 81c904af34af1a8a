//! Rendering: model markdown → pre-wrapped, themed ratatui lines.
//!
//! The chat pane never lays text out while drawing: each message is rendered once into
//! `Vec<Line<'static>>` at the pane's width and cached by (message id, version, width,
//! [`Theme::id`]); a frame only slices the visible rows, so scrolling and redrawing never
//! re-wrap text. This module produces those lines:
//! - [`theme`]: the app palette ([`Theme`]), loaded from TOML (built-in or user files);
//! - [`wrap`]: word wrapping of styled spans by display width (CJK, emoji, tabs), and the hard
//!   wrapping of code lines;
//! - [`highlight`]: syntect highlighting, loaded lazily on the first code block;
//! - [`markdown`]: [`render_markdown`] and [`code_blocks`] (numbered like the screen shows them),
//!   one file per block kind;
//! - [`stream`]: [`MarkdownStream`], which keeps the lines of finished blocks of a streaming
//!   reply and re-renders only the unfinished tail;
//! - [`tool`]: [`tool_use_lines`], a tool call's name and input as a block.
//! - [`server_tool`]: a server-tool call (a web search) as one line, and the cited sources.
//!
//! All model text passes through [`crate::sanitize`] before it becomes a span. Every function
//! here is total: any input and any width (including 0 and 1) gives lines no wider than the
//! width, without panicking.

pub mod highlight;
pub mod markdown;
pub mod server_tool;
pub mod stream;
pub mod theme;
pub mod tool;
pub mod wrap;

pub use highlight::{HighlightCache, highlight_code};
pub use markdown::{CodeBlock, code_blocks, render_markdown};
pub use server_tool::{server_tool_lines, source_lines};
pub use stream::MarkdownStream;
pub use theme::{Theme, ThemeError};
pub use tool::{tool_call_state_lines, tool_result_lines, tool_use_lines};
pub use wrap::{display_width, wrap_spans, wrap_spans_indented};
