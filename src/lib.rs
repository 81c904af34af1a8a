//! tern: a terminal chat client for Anthropic Messages-compatible APIs.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that integration tests,
//! benches and the fake server reach the same code the user runs.

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod driver;
pub mod fake;
pub mod format;
pub mod oneshot;
pub mod pricing;
pub mod render;
pub mod review;
pub mod sanitize;
pub mod store;
pub mod ui;
