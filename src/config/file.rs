//! `config.toml`: where it lives, its fields as the user writes them, and reading it strictly.
//!
//! Parsing is `deny_unknown_fields`, so a typo is an error naming the file, line and field
//! rather than a silently ignored setting. Apart from the merge (`load.rs`): this is what the
//! file may say and how it is read, not which layer wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// `config.toml` as written by the user.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub api_key: Option<String>,
    pub api_key_command: Option<String>,
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub system: Option<String>,
    pub anthropic_version: Option<String>,
    pub anthropic_beta: Option<Vec<String>>,
    pub connect_timeout_secs: Option<u64>,
    pub first_byte_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_retries: Option<u32>,
    pub extra_models: Option<Vec<String>>,
    pub models: Option<BTreeMap<String, FileModel>>,
    pub theme: Option<String>,
    /// Image thumbnails in the transcript: `auto`, `on` or `off`.
    pub images: Option<super::Images>,
    pub keys: Option<BTreeMap<String, String>>,
    pub thinking: Option<super::Thinking>,
    pub effort: Option<super::Effort>,
    pub stop_sequences: Option<Vec<String>>,
    pub top_k: Option<u32>,
    pub user_id: Option<String>,
    pub service_tier: Option<super::ServiceTier>,
    pub prompt_cache: Option<super::PromptCache>,
    pub extra_body: Option<toml::Table>,
    pub auth: Option<crate::api::AuthScheme>,
    pub mcp_servers: Option<BTreeMap<String, super::tools::FileMcpServer>>,
    /// `auto`, `any`, `none` or a tool's name.
    pub tool_choice: Option<String>,
    pub disable_parallel_tool_use: Option<bool>,
    pub max_tool_steps: Option<u32>,
    pub tool_result_max_bytes: Option<usize>,
}

/// A `[models.ID]` table: what the file says of one model.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileModel {
    pub context_window: Option<u64>,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
    /// USD per million tokens written to the cache for 5 minutes (default 1.25× input).
    pub cache_write_5m_price: Option<f64>,
    /// USD per million tokens written to the cache for an hour (default 2× input).
    pub cache_write_1h_price: Option<f64>,
    /// USD per million tokens read from the cache (default 0.1× input).
    pub cache_read_price: Option<f64>,
    /// Whether the model takes `thinking = "adaptive"`.
    pub adaptive_thinking: Option<bool>,
    /// Whether the model takes a thinking budget.
    pub budget_thinking: Option<bool>,
    /// The `effort` levels the model takes (`[]`: none).
    pub effort_levels: Option<Vec<super::Effort>>,
}

/// Where `config.toml` lives by default (`$XDG_CONFIG_HOME/tern/config.toml` on Linux).
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tern").map(|d| d.config_dir().join("config.toml"))
}

/// Read and parse the file at `path`.
pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_file(path, &text)
}

/// Parse `config.toml` text; errors carry the line, column and field.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let position = e.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rfind('\n')
                .map_or(before.len(), |nl| before.len() - nl - 1)
                + 1;
            format!("line {line}, column {column}: ")
        });
        ConfigError::Parse {
            path: path.to_owned(),
            message: format!(
                "{}{}",
                position.unwrap_or_default(),
                e.message().trim().replace('\n', " ")
            ),
        }
    })
}

/// A warning when the file at `path` (which holds a key) can be read by other users.
#[cfg(unix)]
pub(super) fn readable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "{} holds api_key and is readable by other users; run: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub(super) fn readable_by_others(_: &Path) -> Option<String> {
    None
}
