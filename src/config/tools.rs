//! Tools: the `[mcp_servers.NAME]` tables and the settings of the tool loop.
//!
//! A server is either a command (stdio) or a URL (streamable HTTP), never both; its name
//! prefixes its tools (`NAME__tool`), so it keeps to the characters the API allows in a tool
//! name. Header and environment values may be secrets (`Authorization = "Bearer …"`): their
//! `Debug` shows the names only, so no log or error message can carry them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// How many model turns one prompt may take in the tool loop before tern asks to go on.
pub const DEFAULT_MAX_TOOL_STEPS: u32 = 25;
/// A tool result longer than this (bytes of text) is cut, with a note saying so.
pub const DEFAULT_TOOL_RESULT_MAX_BYTES: usize = 100_000;
/// How long a starting server may take to list its tools before it is reported as failed.
pub const DEFAULT_MCP_STARTUP_TIMEOUT_SECS: u64 = 30;
/// How long one tool call may run before it is cancelled and reported as failed.
pub const DEFAULT_MCP_CALL_TIMEOUT_SECS: u64 = 300;
/// The API's longest tool name; a server's name and `__` take part of it.
pub const MAX_TOOL_NAME: usize = 64;
/// Between a server's name and its tool's in the name the model sees.
pub const TOOL_NAME_SEPARATOR: &str = "__";

/// A `[mcp_servers.NAME]` table as the user writes it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMcpServer {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<PathBuf>,
    pub url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub approve: Option<Approval>,
    pub enabled: Option<bool>,
    /// Start with tern rather than on first use.
    pub startup: Option<bool>,
    pub startup_timeout_secs: Option<u64>,
    pub call_timeout_secs: Option<u64>,
}

/// Which of a server's tools run without asking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Approval {
    /// Every call is shown and waits for the user (the default).
    #[default]
    Ask,
    /// Every call runs at once.
    Always,
    /// These tools (their names as the server gives them) run at once; the rest ask.
    Tools(Vec<String>),
}

impl Approval {
    /// Whether a call of `tool` (the server's own name for it) runs without asking.
    pub fn runs_unasked(&self, tool: &str) -> bool {
        match self {
            Approval::Ask => false,
            Approval::Always => true,
            Approval::Tools(names) => names.iter().any(|n| n == tool),
        }
    }
}

impl<'de> Deserialize<'de> for Approval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Tools(Vec<String>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Word(w) if w == "ask" => Ok(Approval::Ask),
            Raw::Word(w) if w == "always" => Ok(Approval::Always),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "approve is \"ask\", \"always\" or a list of tool names, not \"{w}\""
            ))),
            Raw::Tools(names) => Ok(Approval::Tools(names)),
        }
    }
}

/// How a server is reached.
#[derive(Clone, PartialEq, Eq)]
pub enum McpTransport {
    /// A child process speaking MCP on its stdin and stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    /// Streamable HTTP at `url`, with these headers on every request.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

impl std::fmt::Debug for McpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpTransport::Stdio {
                command,
                args,
                env,
                cwd,
            } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", args)
                .field("env", &env.keys().collect::<Vec<_>>())
                .field("cwd", cwd)
                .finish(),
            McpTransport::Http { url, headers } => f
                .debug_struct("Http")
                .field("url", url)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// One configured MCP server, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerConfig {
    /// The table's name: the prefix of its tools.
    pub name: String,
    pub transport: McpTransport,
    pub approve: Approval,
    pub enabled: bool,
    pub startup: bool,
    pub startup_timeout: Duration,
    pub call_timeout: Duration,
}

/// What the request's `tool_choice` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides (the API's default).
    #[default]
    Auto,
    /// The model must call some tool.
    Any,
    /// The model must not call tools (they are still described to it).
    None,
    /// The model must call this tool (its namespaced name).
    Tool(String),
}

impl ToolChoice {
    /// `auto`, `any`, `none`, or a tool's name.
    pub fn parse(word: &str) -> Result<ToolChoice, String> {
        match word.trim() {
            "" => Err("tool_choice is auto, any, none or a tool's name".to_owned()),
            "auto" => Ok(ToolChoice::Auto),
            "any" => Ok(ToolChoice::Any),
            "none" => Ok(ToolChoice::None),
            name => Ok(ToolChoice::Tool(name.to_owned())),
        }
    }

    /// The word `/tools` and the status show.
    pub fn label(&self) -> &str {
        match self {
            ToolChoice::Auto => "auto",
            ToolChoice::Any => "any",
            ToolChoice::None => "none",
            ToolChoice::Tool(name) => name,
        }
    }

    /// The request's `tool_choice` object. `disable_parallel` goes on every choice but
    /// `none`, which takes no such field.
    pub fn to_json(&self, disable_parallel: bool) -> serde_json::Value {
        let mut choice = match self {
            ToolChoice::Auto => serde_json::json!({ "type": "auto" }),
            ToolChoice::Any => serde_json::json!({ "type": "any" }),
            ToolChoice::None => return serde_json::json!({ "type": "none" }),
            ToolChoice::Tool(name) => serde_json::json!({ "type": "tool", "name": name }),
        };
        if disable_parallel {
            choice["disable_parallel_tool_use"] = serde_json::Value::Bool(true);
        }
        choice
    }

    /// Whether this choice makes the model call a tool (which thinking does not allow).
    pub fn forces_a_call(&self) -> bool {
        matches!(self, ToolChoice::Any | ToolChoice::Tool(_))
    }
}

/// The settings of tools as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolConfig {
    /// In the file's order of names (sorted).
    pub servers: Vec<McpServerConfig>,
    pub tool_choice: ToolChoice,
    pub disable_parallel_tool_use: bool,
    pub max_tool_steps: u32,
    pub tool_result_max_bytes: usize,
}

impl Default for ToolConfig {
    fn default() -> Self {
        ToolConfig {
            servers: Vec::new(),
            tool_choice: ToolChoice::Auto,
            disable_parallel_tool_use: false,
            max_tool_steps: DEFAULT_MAX_TOOL_STEPS,
            tool_result_max_bytes: DEFAULT_TOOL_RESULT_MAX_BYTES,
        }
    }
}

/// Whether `name` may prefix tool names: letters, digits, `-` and `_` (no `__`, which
/// separates it from the tool), short enough to leave room for the tool's own name.
fn valid_server_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "server name \"{name}\" may hold only letters, digits, - and _"
        ));
    }
    if name.contains(TOOL_NAME_SEPARATOR) {
        return Err(format!(
            "server name \"{name}\" must not contain \"__\" (it separates the server from the tool)"
        ));
    }
    if name.len() > MAX_TOOL_NAME / 2 {
        return Err(format!(
            "server name \"{name}\" is longer than {} characters",
            MAX_TOOL_NAME / 2
        ));
    }
    Ok(())
}

/// The servers of the file's `[mcp_servers]`, checked.
pub(super) fn servers(
    file: Option<BTreeMap<String, FileMcpServer>>,
) -> Result<Vec<McpServerConfig>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        field: "mcp_servers",
        message,
    };
    let secs = |value: Option<u64>, default: u64, what: &str, name: &str| match value {
        Some(0) => Err(invalid(format!("{name}: {what} must be at least 1"))),
        value => Ok(Duration::from_secs(value.unwrap_or(default))),
    };
    let mut servers = Vec::new();
    for (name, server) in file.unwrap_or_default() {
        valid_server_name(&name).map_err(invalid)?;
        let transport = match (server.command, server.url) {
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err(invalid(format!("{name}: command must not be empty")));
                }
                if server.headers.is_some() {
                    return Err(invalid(format!(
                        "{name}: headers go with url, not with command"
                    )));
                }
                McpTransport::Stdio {
                    command,
                    args: server.args.unwrap_or_default(),
                    env: server.env.unwrap_or_default(),
                    cwd: server.cwd,
                }
            }
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(invalid(format!(
                        "{name}: url must start with http:// or https://"
                    )));
                }
                if server.args.is_some() || server.env.is_some() || server.cwd.is_some() {
                    return Err(invalid(format!(
                        "{name}: args, env and cwd go with command, not with url"
                    )));
                }
                McpTransport::Http {
                    url,
                    headers: server.headers.unwrap_or_default(),
                }
            }
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "{name}: give either command (a local server) or url (a remote one), not both"
                )));
            }
            (None, None) => {
                return Err(invalid(format!(
                    "{name}: needs command (a local server) or url (a remote one)"
                )));
            }
        };
        servers.push(McpServerConfig {
            startup_timeout: secs(
                server.startup_timeout_secs,
                DEFAULT_MCP_STARTUP_TIMEOUT_SECS,
                "startup_timeout_secs",
                &name,
            )?,
            call_timeout: secs(
                server.call_timeout_secs,
                DEFAULT_MCP_CALL_TIMEOUT_SECS,
                "call_timeout_secs",
                &name,
            )?,
            name,
            transport,
            approve: server.approve.unwrap_or_default(),
            enabled: server.enabled.unwrap_or(true),
            startup: server.startup.unwrap_or(false),
        });
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<McpServerConfig>, String> {
        #[derive(Deserialize)]
        struct File {
            mcp_servers: BTreeMap<String, FileMcpServer>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        servers(Some(file.mcp_servers)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_command_server_and_a_url_server() {
        let servers = parse(
            r#"
            [mcp_servers.files]
            command = "npx"
            args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
            env = { LOG_LEVEL = "warn" }
            approve = ["read_file"]
            [mcp_servers.remote]
            url = "https://example.com/mcp"
            headers = { Authorization = "Bearer secret-token" }
            approve = "always"
            enabled = false
            "#,
        )
        .unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].name, "files");
        assert!(servers[0].approve.runs_unasked("read_file"));
        assert!(!servers[0].approve.runs_unasked("write_file"));
        assert!(servers[0].enabled);
        assert_eq!(servers[1].approve, Approval::Always);
        assert!(!servers[1].enabled);
        let debug = format!("{servers:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
        assert!(!debug.contains("warn\""), "{debug}");
        assert!(debug.contains("Authorization"), "{debug}");
    }

    #[test]
    fn bad_servers_are_refused_with_their_name() {
        for (text, expected) in [
            ("[mcp_servers.a]\nargs = []", "a: needs command"),
            (
                "[mcp_servers.a]\ncommand = \"x\"\nurl = \"http://h\"",
                "not both",
            ),
            ("[mcp_servers.a]\nurl = \"ftp://h\"", "must start with http"),
            (
                "[mcp_servers.a__b]\ncommand = \"x\"",
                "must not contain \"__\"",
            ),
            ("[mcp_servers.\"a b\"]\ncommand = \"x\"", "only letters"),
            (
                "[mcp_servers.a]\ncommand = \"x\"\napprove = \"sometimes\"",
                "approve is",
            ),
            (
                "[mcp_servers.a]\ncommand = \"x\"\ncall_timeout_secs = 0",
                "at least 1",
            ),
            (
                "[mcp_servers.a]\ncommand = \"x\"\nport = 1",
                "unknown field",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn tool_choice_words_and_json() {
        assert_eq!(ToolChoice::parse("any"), Ok(ToolChoice::Any));
        assert_eq!(
            ToolChoice::parse("files__read_file"),
            Ok(ToolChoice::Tool("files__read_file".into()))
        );
        assert!(ToolChoice::parse(" ").is_err());
        assert_eq!(
            ToolChoice::Auto.to_json(true),
            serde_json::json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            ToolChoice::None.to_json(true),
            serde_json::json!({"type": "none"})
        );
        assert_eq!(
            ToolChoice::Tool("x__y".into()).to_json(false),
            serde_json::json!({"type": "tool", "name": "x__y"})
        );
        assert!(ToolChoice::Any.forces_a_call() && !ToolChoice::None.forces_a_call());
    }
}
