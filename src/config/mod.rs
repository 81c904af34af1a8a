//! Configuration: built-in defaults < `config.toml` < environment < command-line flags.
//!
//! One file per concern, so a new setting touches the file's fields (`file.rs`) and the merge
//! (`load.rs`) and nothing else: `models.rs` (the known models and their prices), `key.rs`
//! (where the API key comes from), `cleartext.rs` (the plain-http warning), `request.rs`
//! (thinking, effort and the API's rules for them), `tools.rs` (MCP servers, the tool loop).
//! This file holds the
//! resolved [`Config`], the flags, the error and the defaults. The API key is resolved lazily
//! (it may come from `api_key_command`) and only ever lives in an [`ApiKey`], whose `Debug` is
//! redacted.

mod cleartext;
mod file;
mod key;
mod load;
mod models;
mod request;
#[cfg(test)]
mod tests;
mod tools;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::{ApiKey, ClientConfig};

pub use file::{FileConfig, FileModel, default_config_path, parse_file};
pub use models::{
    CACHE_RATIOS, CapabilityPins, ModelSpec, builtin_capabilities, builtin_models, capabilities_of,
    learn_models,
};
pub use request::{
    Capabilities, Effort, MIN_THINKING_BUDGET, PromptCache, ServiceTier, THINKING_TOP_P, Thinking,
    apply_rules, fallback_budget,
};
pub use tools::{
    Approval, DEFAULT_MAX_TOOL_STEPS, DEFAULT_TOOL_RESULT_MAX_BYTES, FileMcpServer, MAX_TOOL_NAME,
    McpServerConfig, McpTransport, TOOL_NAME_SEPARATOR, ToolChoice, ToolConfig,
};

pub const DEFAULT_BASE_URL: &str = "https://api.apifree.ai";
pub const DEFAULT_MODEL: &str = "claude-sonnet-4.6";
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
/// A streamed reply's headers come as soon as the server takes the request (the text follows
/// under the idle timeout), so a server silent this long is not going to answer.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 90;
/// The API's range for `temperature` and `top_p`, wherever they are set (flag, file, `/temp`).
pub const SAMPLING_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;

/// Settings given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub model: Option<String>,
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub thinking: Option<Thinking>,
    pub effort: Option<Effort>,
    /// `--stop` (repeatable); replaces the file's list when given.
    pub stop_sequences: Option<Vec<String>>,
    pub top_k: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: String,
    api_key: Option<String>,
    pub api_key_command: Option<String>,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Thinking, effort, stop sequences, top_k, `metadata.user_id`, tier, caching and
    /// `[extra_body]` (less any key naming a field tern sets: a warning says so).
    pub request: RequestDefaults,
    pub auth: crate::api::AuthScheme,
    pub system: Option<String>,
    pub anthropic_version: String,
    pub anthropic_beta: Vec<String>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_retries: u32,
    pub models: Vec<ModelSpec>,
    pub theme: String,
    /// Whether the transcript shows image thumbnails.
    pub images: Images,
    pub keys: BTreeMap<String, String>,
    /// MCP servers and the tool loop's settings.
    pub tools: ToolConfig,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// Things the user should hear about (e.g. a world-readable file holding a key).
    pub warnings: Vec<String>,
}

/// `images`: thumbnails of image attachments in the transcript. `auto` asks the terminal
/// (not inside tmux, which blocks images unless told otherwise); `on` asks it everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Images {
    #[default]
    Auto,
    On,
    Off,
}

impl Config {
    pub fn client_config(&self, api_key: ApiKey) -> ClientConfig {
        ClientConfig {
            base_url: self.base_url.clone(),
            api_key,
            auth: self.auth,
            anthropic_version: self.anthropic_version.clone(),
            anthropic_beta: self.anthropic_beta.clone(),
            connect_timeout: self.connect_timeout,
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            max_retries: self.max_retries,
        }
    }

    pub fn model_spec(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == id)
    }

    /// What model `id` takes (the file's `[models]`, else the built-in table).
    pub fn capabilities(&self, id: &str) -> Capabilities {
        capabilities_of(&self.models, id)
    }

    /// The warnings about request settings (an `extra_body` key that names a field tern sets),
    /// for the app to show as a notice too: stderr is hidden behind its screen.
    pub fn request_warnings(&self) -> impl Iterator<Item = &String> {
        self.warnings
            .iter()
            .filter(|w| w.starts_with("extra_body."))
    }

    /// The request settings a session starts from.
    pub fn request_defaults(&self) -> RequestDefaults {
        self.request.clone()
    }

    /// The fields every request takes from the configuration alone: `metadata`,
    /// `service_tier` and `extra_body`.
    pub fn fixed_fields(&self, request: &mut crate::api::MessagesRequest) {
        self.request.fixed_fields(request);
    }
}

/// The request settings of the configuration beyond model, sampling and max tokens: what a
/// new conversation starts with (thinking, effort, stop sequences, top_k) and what every
/// request carries (`metadata.user_id`, `service_tier`, `extra_body`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestDefaults {
    pub thinking: Thinking,
    pub effort: Option<Effort>,
    pub stop_sequences: Vec<String>,
    pub top_k: Option<u32>,
    pub user_id: Option<String>,
    pub service_tier: Option<ServiceTier>,
    /// Where the cache breakpoints go is [`crate::app::cache::place_cache_breakpoints`].
    pub prompt_cache: PromptCache,
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl RequestDefaults {
    /// Set `metadata`, `service_tier` and the `extra_body` fields on `request`.
    pub fn fixed_fields(&self, request: &mut crate::api::MessagesRequest) {
        request.metadata = self
            .user_id
            .as_ref()
            .map(|id| serde_json::json!({ "user_id": id }));
        request.service_tier = self.service_tier.map(|t| t.as_str().to_owned());
        request.extra = self.extra_body.clone();
    }
}
