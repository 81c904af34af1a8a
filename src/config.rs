//! Configuration: built-in defaults < `config.toml` < environment < command-line flags.
//!
//! The file is parsed strictly (`deny_unknown_fields`) so a typo is an error naming the file, line
//! and field rather than a silently ignored setting. The API key is resolved lazily (it may come
//! from `api_key_command`) and only ever lives in an [`ApiKey`], whose `Debug` is redacted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::{ApiError, ApiKey, ClientConfig};

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

/// A model tern knows about: its context window and (estimated) prices in USD per million tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub context_window: u64,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
    pub builtin: bool,
}

/// APIFree's six models, with list-price estimates.
pub fn builtin_models() -> Vec<ModelSpec> {
    [
        ("claude-sonnet-4", 3.0, 15.0),
        ("claude-opus-4.6", 5.0, 25.0),
        ("claude-sonnet-4.6", 3.0, 15.0),
        ("claude-opus-4.5", 5.0, 25.0),
        ("claude-sonnet-4.5", 3.0, 15.0),
        ("claude-haiku-4.5", 1.0, 5.0),
    ]
    .into_iter()
    .map(|(id, input, output)| ModelSpec {
        id: id.to_owned(),
        context_window: 200_000,
        input_price: Some(input),
        output_price: Some(output),
        builtin: true,
    })
    .collect()
}

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
    pub keys: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileModel {
    pub context_window: Option<u64>,
    pub input_price: Option<f64>,
    pub output_price: Option<f64>,
}

/// Settings given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub model: Option<String>,
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
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
    pub system: Option<String>,
    pub anthropic_version: String,
    pub anthropic_beta: Vec<String>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_retries: u32,
    pub models: Vec<ModelSpec>,
    pub theme: String,
    pub keys: BTreeMap<String, String>,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// Things the user should hear about (e.g. a world-readable file holding a key).
    pub warnings: Vec<String>,
}

/// Where `config.toml` lives by default (`$XDG_CONFIG_HOME/tern/config.toml` on Linux).
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tern").map(|d| d.config_dir().join("config.toml"))
}

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
    pub fn load_lenient_with(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
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
    pub fn load_with(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
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
        file: FileConfig,
        path: Option<PathBuf>,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        if let (Some(path), Some(_)) = (&path, &file.api_key)
            && let Some(warning) = readable_by_others(path)
        {
            warnings.push(warning);
        }

        let mut models = builtin_models();
        for id in file.extra_models.iter().flatten() {
            add_model(&mut models, id);
        }
        for (id, spec) in file.models.iter().flatten() {
            let model = add_model(&mut models, id);
            if let Some(w) = spec.context_window {
                model.context_window = w;
            }
            if spec.input_price.is_some() {
                model.input_price = spec.input_price;
            }
            if spec.output_price.is_some() {
                model.output_price = spec.output_price;
            }
        }

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
            system: overrides.system.clone().or(file.system),
            anthropic_version: file
                .anthropic_version
                .unwrap_or_else(|| DEFAULT_ANTHROPIC_VERSION.to_owned()),
            anthropic_beta: file.anthropic_beta.unwrap_or_default(),
            connect_timeout: Duration::from_secs(
                file.connect_timeout_secs
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
            ),
            first_byte_timeout: Duration::from_secs(
                file.first_byte_timeout_secs
                    .unwrap_or(DEFAULT_FIRST_BYTE_TIMEOUT_SECS),
            ),
            idle_timeout: Duration::from_secs(
                file.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS),
            ),
            max_retries: file.max_retries.unwrap_or(2),
            models,
            theme: env("TERN_THEME")
                .or(file.theme)
                .unwrap_or_else(|| "dark".to_owned()),
            keys: file.keys.unwrap_or_default(),
            file: path,
            warnings,
        };
        config.validate()?;
        Ok(config)
    }

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
        Ok(())
    }

    /// Whether a key is available without running a command.
    pub fn has_key(&self) -> bool {
        self.api_key.is_some() || self.api_key_command.is_some()
    }

    /// The key from the environment, the file, or `api_key_command`.
    pub async fn resolve_key(&self) -> Result<ApiKey, ApiError> {
        if let Some(key) = &self.api_key {
            return Ok(ApiKey::new(key.trim()));
        }
        let Some(command) = &self.api_key_command else {
            return Err(ApiError::MissingKey);
        };
        let output = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .await
            .map_err(|e| ApiError::KeyCommand(format!("it could not be started: {e}")))?;
        key_from_command_output(&output)
    }

    pub fn client_config(&self, api_key: ApiKey) -> ClientConfig {
        ClientConfig {
            base_url: self.base_url.clone(),
            api_key,
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

    /// A warning when requests (and the key) would go in clear text over `http://` to a host
    /// other than this machine (127.0.0.0/8, ::1, localhost).
    pub fn cleartext_warning(&self) -> Option<String> {
        cleartext_warning(&self.base_url)
    }

    /// The same warning, short enough for the app's status line.
    pub fn cleartext_notice(&self) -> Option<String> {
        cleartext_host(&self.base_url)
            .map(|host| format!("warning: plain http: the API key goes to {host} in clear text"))
    }
}

fn cleartext_warning(base_url: &str) -> Option<String> {
    cleartext_host(base_url).map(|_| {
        format!(
            "{} is plain http: the API key and every message travel in clear text; \
             use https:// unless this network is yours",
            crate::api::client::without_credentials(base_url)
        )
    })
}

/// The host of an `http://` URL that is not this machine.
fn cleartext_host(base_url: &str) -> Option<String> {
    let url = reqwest::Url::parse(base_url).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    let local = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    (!local).then(|| host.to_owned())
}

/// The key is the first line of the command's stdout (`pass show` prints the secret first,
/// then metadata lines); a failure says how the command ended and what it said on stderr.
fn key_from_command_output(output: &std::process::Output) -> Result<ApiKey, ApiError> {
    if !output.status.success() {
        let how = match output.status.code() {
            Some(code) => format!("it exited with status {code}"),
            None => exit_signal(&output.status).map_or_else(
                || "it failed".to_owned(),
                |s| format!("it was killed by signal {s}"),
            ),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ApiError::KeyCommand(match stderr_tail(&stderr) {
            Some(tail) => format!("{how}: {tail}"),
            None => format!("{how}, printing nothing on stderr"),
        }));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout.lines().next().unwrap_or_default().trim();
    if key.is_empty() {
        return Err(ApiError::KeyCommand(
            "it printed nothing on the first line of stdout".into(),
        ));
    }
    Ok(ApiKey::new(key))
}

/// The last few non-empty lines a command wrote on stderr, on one line, cleaned for the
/// terminal and kept short.
fn stderr_tail(stderr: &str) -> Option<String> {
    const LINES: usize = 3;
    const CHARS: usize = 300;
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let joined = lines[lines.len().saturating_sub(LINES)..].join(" / ");
    let clean = crate::sanitize::strip_controls(&joined);
    let count = clean.chars().count();
    Some(if count > CHARS {
        let tail: String = clean.chars().skip(count - CHARS).collect();
        format!("…{tail}")
    } else {
        clean.into_owned()
    })
}

#[cfg(unix)]
fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn exit_signal(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

fn add_model<'a>(models: &'a mut Vec<ModelSpec>, id: &str) -> &'a mut ModelSpec {
    let index = match models.iter().position(|m| m.id == id) {
        Some(i) => i,
        None => {
            models.push(ModelSpec {
                id: id.to_owned(),
                context_window: 200_000,
                input_price: None,
                output_price: None,
                builtin: false,
            });
            models.len() - 1
        }
    };
    &mut models[index]
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
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

#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<String> {
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
fn readable_by_others(_: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(
        file: Option<&str>,
        env: &[(&str, &str)],
        overrides: Overrides,
    ) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let mut overrides = overrides;
        let path = dir.path().join("config.toml");
        std::fs::write(&path, file.unwrap_or("")).unwrap();
        overrides.config_file = Some(path);
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with(&overrides, &|k| env.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.model, DEFAULT_MODEL);
        assert_eq!(c.max_tokens, 4096);
        assert_eq!(c.max_retries, 2);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.first_byte_timeout, Duration::from_secs(30));
        assert_eq!(c.idle_timeout, Duration::from_secs(90));
        assert_eq!(c.models.len(), 6);
        assert!(!c.has_key());
    }

    #[test]
    fn precedence_flag_env_file_default() {
        let file = "model = \"from-file\"\nbase_url = \"http://file\"\napi_key = \"file-key\"\nmax_tokens = 100\n";
        let c = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(
            (c.model.as_str(), c.base_url.as_str(), c.max_tokens),
            ("from-file", "http://file", 100)
        );
        let c = load(
            Some(file),
            &[
                ("TERN_MODEL", "from-env"),
                ("APIFREE_BASE_URL", "http://env"),
            ],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            (c.model.as_str(), c.base_url.as_str()),
            ("from-env", "http://env")
        );
        let flags = Overrides {
            model: Some("from-flag".into()),
            max_tokens: Some(7),
            ..Default::default()
        };
        let c = load(Some(file), &[("TERN_MODEL", "from-env")], flags).unwrap();
        assert_eq!((c.model.as_str(), c.max_tokens), ("from-flag", 7));
    }

    #[tokio::test]
    async fn key_sources() {
        let c = load(
            Some("api_key = \"file\""),
            &[("APIFREE_API_KEY", "env")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.resolve_key().await.unwrap().expose(), "env");
        let c = load(
            Some("api_key_command = \"echo  from-cmd \""),
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.resolve_key().await.unwrap().expose(), "from-cmd");
        let c = load(
            Some("api_key_command = \"exit 3\""),
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert!(matches!(
            c.resolve_key().await,
            Err(ApiError::KeyCommand(_))
        ));
        let c = load(None, &[], Overrides::default()).unwrap();
        assert!(matches!(c.resolve_key().await, Err(ApiError::MissingKey)));
        assert!(!format!("{c:?}").contains("env"));
    }

    #[test]
    fn invalid_file_names_line_and_field() {
        let err = load(
            Some("model = \"x\"\nmax_tokenz = 5\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("config.toml"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("max_tokenz"), "{text}");
        let err = load(Some("max_tokens = \"lots\"\n"), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn lenient_load_warns_and_uses_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "model = \"x\"\nmax_tokenz = 5\n").unwrap();
        let overrides = Overrides {
            config_file: Some(path),
            ..Default::default()
        };
        let env = |k: &str| (k == "APIFREE_BASE_URL").then(|| "http://127.0.0.1:1".to_owned());
        assert!(Config::load_with(&overrides, &env).is_err());
        let c = Config::load_lenient_with(&overrides, &env).unwrap();
        assert_eq!(c.model, DEFAULT_MODEL, "nothing from the broken file");
        assert_eq!(
            c.base_url, "http://127.0.0.1:1",
            "the environment still applies"
        );
        assert_eq!(c.file, None);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("max_tokenz"), "{:?}", c.warnings);
        // A broken environment is still an error.
        let bad_env = |k: &str| (k == "APIFREE_BASE_URL").then(|| "ftp://x".to_owned());
        assert!(Config::load_lenient_with(&overrides, &bad_env).is_err());
    }

    #[test]
    fn extra_models_and_prices() {
        let file = "extra_models = [\"my-model\"]\n[models.\"claude-haiku-4.5\"]\ninput_price = 0.5\n[models.other]\ncontext_window = 1000\n";
        let c = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(c.models.len(), 8);
        assert_eq!(
            c.model_spec("claude-haiku-4.5").unwrap().input_price,
            Some(0.5)
        );
        assert_eq!(c.model_spec("other").unwrap().context_window, 1000);
        assert!(!c.model_spec("my-model").unwrap().builtin);
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_file_warns() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "api_key = \"k\"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let overrides = Overrides {
            config_file: Some(path.clone()),
            ..Default::default()
        };
        let c = Config::load_with(&overrides, &|_| None).unwrap();
        assert_eq!(c.warnings.len(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Config::load_with(&overrides, &|_| None).unwrap();
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn out_of_range_values_are_errors() {
        assert!(load(Some("temperature = 3.0"), &[], Overrides::default()).is_err());
        for (text, field) in [
            ("temperature = 1.5", "temperature"),
            ("top_p = 1.01", "top_p"),
        ] {
            let err = load(Some(text), &[], Overrides::default()).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
            assert!(err.to_string().contains("between 0 and 1"), "{err}");
        }
        let flag = Overrides {
            temperature: Some(1.2),
            ..Default::default()
        };
        assert!(load(None, &[], flag).is_err());
        assert!(
            load(
                Some("temperature = 1.0\ntop_p = 0"),
                &[],
                Overrides::default()
            )
            .is_ok()
        );
        assert!(load(Some("base_url = \"ftp://x\""), &[], Overrides::default()).is_err());
    }

    #[test]
    fn plain_http_warns_only_for_other_hosts() {
        for url in [
            "http://10.255.255.1:9",
            "http://api.example.com/v1",
            "http://[2001:db8::1]:80",
            "http://localhost.example.com",
        ] {
            let warning = cleartext_warning(url).unwrap_or_else(|| panic!("{url} warns"));
            assert!(
                warning.contains(url) && warning.contains("clear text"),
                "{warning}"
            );
        }
        for url in [
            "https://api.apifree.ai",
            "http://127.0.0.1:8787",
            "http://127.1.2.3",
            "http://localhost:8787",
            "http://LOCALHOST.",
            "http://app.localhost",
            "http://[::1]:8787",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert_eq!(cleartext_warning(url), None, "{url}");
        }
        let warning = cleartext_warning("http://u:SECRETPW@192.0.2.2:8787").unwrap();
        assert!(!warning.contains("SECRETPW"), "{warning}");
        assert!(
            warning.starts_with("http://192.0.2.2:8787 is plain http"),
            "{warning}"
        );
    }
}
