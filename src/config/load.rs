//! The merge: built-in defaults < `config.toml` < environment < command-line flags, then the
//! checks every resolved configuration passes (whatever layer a value came from).
//!
//! Apart from the file's format (`file.rs`) so the precedence of each setting reads as one
//! expression, in one place.

use std::path::PathBuf;
use std::time::Duration;

use super::file::{FileConfig, default_config_path, read_file, readable_by_others};
use super::models::with_file_models;
use super::{
    Config, ConfigError, DEFAULT_ANTHROPIC_VERSION, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT_SECS,
    DEFAULT_FIRST_BYTE_TIMEOUT_SECS, DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_MAX_TOKENS, DEFAULT_MODEL,
    Overrides, SAMPLING_RANGE,
};

/// An environment lookup: the real one, or a map in tests.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Config {
    /// Resolve from the real environment and the default or given file.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::load_with(overrides, &env)
    }

    /// Like [`Config::load`], for commands that only read saved conversations or list models: a
    /// config file that cannot be read or is invalid becomes a warning, and the built-in
    /// defaults (with the environment and flags) stand in for it.
    pub fn load_lenient(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::load_lenient_with(overrides, &env)
    }

    /// [`Config::load_lenient`] with an explicit environment lookup (for tests).
    pub fn load_lenient_with(overrides: &Overrides, env: Env) -> Result<Config, ConfigError> {
        let error = match Self::load_with(overrides, env) {
            Ok(config) => return Ok(config),
            Err(error) => error,
        };
        // Without the file; if that fails too, the problem is in the environment or flags.
        let Ok(mut config) = Self::resolve(FileConfig::default(), None, overrides, env) else {
            return Err(error);
        };
        config.warnings.push(format!(
            "{error}; using the built-in defaults for this command (commands that send refuse \
             the file until it is fixed)"
        ));
        Ok(config)
    }

    /// Resolve with an explicit environment lookup (for tests).
    pub fn load_with(overrides: &Overrides, env: Env) -> Result<Config, ConfigError> {
        let (file, path) = match &overrides.config_file {
            Some(path) => (read_file(path)?, Some(path.clone())),
            None => match default_config_path() {
                Some(path) if path.exists() => (read_file(&path)?, Some(path)),
                _ => (FileConfig::default(), None),
            },
        };
        Self::resolve(file, path, overrides, env)
    }

    /// Merge the file (read from `path`, if any) with the environment and the flags.
    fn resolve(
        mut file: FileConfig,
        path: Option<PathBuf>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        if let (Some(path), Some(_)) = (&path, &file.api_key)
            && let Some(warning) = readable_by_others(path)
        {
            warnings.push(warning);
        }
        let extra_body = extra_body(file.extra_body.take(), &mut warnings);
        let secs = |value: Option<u64>, default| Duration::from_secs(value.unwrap_or(default));
        let tools = super::ToolConfig {
            servers: super::tools::servers(file.mcp_servers.take())?,
            tool_choice: match file.tool_choice.take() {
                Some(word) => {
                    super::ToolChoice::parse(&word).map_err(|message| ConfigError::Invalid {
                        field: "tool_choice",
                        message,
                    })?
                }
                None => super::ToolChoice::Auto,
            },
            disable_parallel_tool_use: file.disable_parallel_tool_use.unwrap_or(false),
            max_tool_steps: file.max_tool_steps.unwrap_or(super::DEFAULT_MAX_TOOL_STEPS),
            tool_result_max_bytes: file
                .tool_result_max_bytes
                .unwrap_or(super::DEFAULT_TOOL_RESULT_MAX_BYTES),
        };
        let config = Config {
            base_url: crate::api::client::normalize_base_url(
                &env("APIFREE_BASE_URL")
                    .or(file.base_url)
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            )
            .to_owned(),
            api_key: env("APIFREE_API_KEY").or(file.api_key),
            api_key_command: file.api_key_command,
            model: overrides
                .model
                .clone()
                .or_else(|| env("TERN_MODEL"))
                .or(file.model)
                .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            max_tokens: overrides
                .max_tokens
                .or(file.max_tokens)
                .unwrap_or(DEFAULT_MAX_TOKENS),
            temperature: overrides.temperature.or(file.temperature),
            top_p: overrides.top_p.or(file.top_p),
            request: super::RequestDefaults {
                thinking: overrides.thinking.or(file.thinking).unwrap_or_default(),
                effort: overrides.effort.or(file.effort),
                stop_sequences: overrides
                    .stop_sequences
                    .clone()
                    .or(file.stop_sequences)
                    .unwrap_or_default(),
                top_k: overrides.top_k.or(file.top_k),
                user_id: file.user_id,
                service_tier: file.service_tier,
                prompt_cache: file.prompt_cache.unwrap_or_default(),
                extra_body,
            },
            auth: file.auth.unwrap_or_default(),
            system: overrides.system.clone().or(file.system),
            anthropic_version: file
                .anthropic_version
                .unwrap_or_else(|| DEFAULT_ANTHROPIC_VERSION.to_owned()),
            anthropic_beta: file.anthropic_beta.unwrap_or_default(),
            connect_timeout: secs(file.connect_timeout_secs, DEFAULT_CONNECT_TIMEOUT_SECS),
            first_byte_timeout: secs(
                file.first_byte_timeout_secs,
                DEFAULT_FIRST_BYTE_TIMEOUT_SECS,
            ),
            idle_timeout: secs(file.idle_timeout_secs, DEFAULT_IDLE_TIMEOUT_SECS),
            max_retries: file.max_retries.unwrap_or(2),
            models: with_file_models(file.extra_models.as_deref(), file.models.as_ref()),
            theme: env("TERN_THEME")
                .or(file.theme)
                .unwrap_or_else(|| "dark".to_owned()),
            images: file.images.unwrap_or_default(),
            keys: file.keys.unwrap_or_default(),
            tools,
            file: path,
            warnings,
        };
        config.validate()?;
        Ok(config)
    }

    /// The checks every resolved configuration passes, naming the setting that fails.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return invalid("base_url", "must start with http:// or https://");
        }
        for (field, timeout) in [
            ("connect_timeout_secs", self.connect_timeout),
            ("first_byte_timeout_secs", self.first_byte_timeout),
            ("idle_timeout_secs", self.idle_timeout),
        ] {
            if timeout.is_zero() {
                return invalid(field, "must be at least 1");
            }
        }
        if self.max_tokens == 0 {
            return invalid("max_tokens", "must be at least 1");
        }
        if let Some(t) = self.temperature
            && !SAMPLING_RANGE.contains(&t)
        {
            return invalid("temperature", "must be between 0 and 1");
        }
        if let Some(p) = self.top_p
            && !SAMPLING_RANGE.contains(&p)
        {
            return invalid("top_p", "must be between 0 and 1");
        }
        if self.model.trim().is_empty() {
            return invalid("model", "must not be empty");
        }
        if let Err(message) = self.request.thinking.check(self.max_tokens) {
            return invalid("thinking", &message);
        }
        if self.tools.max_tool_steps == 0 {
            return invalid("max_tool_steps", "must be at least 1");
        }
        if self.tools.tool_result_max_bytes < 1024 {
            return invalid("tool_result_max_bytes", "must be at least 1024");
        }
        if self.request.top_k == Some(0) {
            return invalid("top_k", "must be at least 1");
        }
        if self
            .request
            .stop_sequences
            .iter()
            .any(|s| s.trim().is_empty())
        {
            return invalid("stop_sequences", "a stop sequence must not be blank");
        }
        if self
            .request
            .user_id
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            return invalid("user_id", "must not be empty (leave it out to send none)");
        }
        Ok(())
    }
}

/// `[extra_body]` as JSON, without the keys that name a field tern sets itself (the typed
/// field wins; one warning names each dropped key).
fn extra_body(
    table: Option<toml::Table>,
    warnings: &mut Vec<String>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (key, value) in table.into_iter().flatten() {
        if crate::api::MessagesRequest::FIELDS.contains(&key.as_str()) {
            warnings.push(format!(
                "extra_body.{key} is ignored: tern sets `{key}` itself (use its own setting)"
            ));
            continue;
        }
        match serde_json::to_value(&value) {
            Ok(json) => {
                out.insert(key, json);
            }
            Err(e) => warnings.push(format!("extra_body.{key} is ignored: {e}")),
        }
    }
    out
}
