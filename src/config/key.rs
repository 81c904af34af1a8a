//! The API key: from the environment or the file, or the first line a command prints
//! (`api_key_command`, run only when a request needs it).
//!
//! Apart because it is the one place a secret is read; the key only ever lives in an
//! [`ApiKey`], whose `Debug` is redacted, and a failing command is reported by how it ended and
//! the tail of its stderr, cleaned for the terminal, never by its output.

use crate::api::{ApiError, ApiKey};

use super::Config;

impl Config {
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
