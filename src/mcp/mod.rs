//! MCP: the one place tern talks to tool servers. The official SDK (`rmcp`) speaks the
//! protocol; this module decides when servers run and how their tools look to the model.
//!
//! Why it is shaped so:
//! - [`Mcp`] is a cheap handle (an `Arc`) the driver clones into tasks. Each server sits behind
//!   its own async lock, held only while it starts: a slow or hung server never blocks another,
//!   and calls to one server run side by side (parallel tool calls).
//! - Servers start lazily (first [`Mcp::tools`] or [`Mcp::call`]) or at launch
//!   ([`Mcp::start_eager`]), each bounded by its startup timeout. A failure is kept in the
//!   server's state and returned once as an [`McpNotice`], so the app reports it once and the
//!   other servers keep working.
//! - A call is a future: dropping it (Esc) or its timeout sends MCP's `notifications/cancelled`
//!   (rmcp does that for a dropped request). A server that dies is seen as its transport
//!   closing; it is restarted once, on the next call.
//! - A stdio server runs in its own process group with its stderr captured in a small ring
//!   (`server.rs`), never shown on the terminal the TUI owns; the group is killed on
//!   [`Mcp::shutdown`] and on the drop of the last handle, so `npx`'s node child goes too.
//! - Everything a server sends (names, descriptions, results, errors) is data: returned as it
//!   came, and sanitized where it is shown. Header and environment values are secrets: they
//!   reach the transport only, never a message.

pub mod cli;
mod content;
mod server;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::join_all;
use rmcp::ServiceError;
use rmcp::model::CallToolRequestParams;

use crate::config::{McpServerConfig, McpTransport, TOOL_NAME_SEPARATOR};

pub use content::{api_tool_name, tool_output};
use server::{Server, Slot};

/// A tool as the model sees it: `name` is `server__tool` (namespaced, within the API's
/// `^[a-zA-Z0-9_-]{1,64}$`; a tool whose name cannot be made to fit is skipped with a warning),
/// `input_schema` exactly as the server gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub server: String,
    /// The server's own name for it (what `tools/call` is sent).
    pub tool: String,
    pub description: Option<String>,
    pub input_schema: serde_json::Value,
}

impl ToolSpec {
    /// The tool in a request's `tools`: `{"name", "description"?, "input_schema"}`.
    pub fn to_api(&self) -> serde_json::Value {
        let mut tool = serde_json::json!({
            "name": self.name,
            "input_schema": self.input_schema,
        });
        if let Some(description) = &self.description {
            tool["description"] = serde_json::Value::String(description.clone());
        }
        tool
    }
}

/// What a call returned, ready for a `tool_result` block and for the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// API blocks: `{"type":"text","text"}` and
    /// `{"type":"image","source":{"type":"base64","media_type","data"}}`.
    pub content: Vec<serde_json::Value>,
    /// The server's `isError`.
    pub is_error: bool,
    /// Text for the screen: the text joined, an image as `[image image/png 12.3 KB]`,
    /// resources named.
    pub summary: String,
}

/// Why a tool could not be called. Every message names the server and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// No configured server provides this (namespaced) tool.
    #[error(
        "no MCP server provides the tool {0}: see `tern mcp list` for the tools there are, \
         and [mcp_servers] in the config for the servers"
    )]
    NotConfigured(String),
    /// The server is configured with `enabled = false`.
    #[error(
        "MCP server {server} is disabled: set enabled = true in [mcp_servers.{server}] to use it"
    )]
    Disabled { server: String },
    /// The server did not start (not installed, exited, hung, refused the handshake).
    #[error(
        "MCP server {server} did not start: {message}{}",
        tail_lines(stderr_tail)
    )]
    Start {
        server: String,
        message: String,
        stderr_tail: String,
    },
    /// The server stopped while tern used it; it is restarted on the next call.
    #[error(
        "MCP server {server} stopped (it will be restarted on the next call){}",
        tail_lines(stderr_tail)
    )]
    Crashed { server: String, stderr_tail: String },
    /// The call took longer than the server's `call_timeout_secs`; it was cancelled.
    #[error(
        "MCP server {server} did not answer within {}: the call was cancelled \
         (raise call_timeout_secs in [mcp_servers.{server}] if the tool needs longer)",
        seconds(after)
    )]
    Timeout { server: String, after: Duration },
    /// The server answered something the protocol does not allow here.
    #[error("MCP server {server} sent an answer tern cannot use: {message}")]
    Protocol { server: String, message: String },
    /// The server refused the call with a protocol error (unknown tool, bad arguments…).
    #[error("MCP server {server} refused the call of {tool}: {message}")]
    ToolFailed {
        server: String,
        tool: String,
        message: String,
    },
}

impl McpError {
    /// The server the error is about, when there is one.
    pub fn server(&self) -> Option<&str> {
        match self {
            McpError::NotConfigured(_) => None,
            McpError::Disabled { server }
            | McpError::Start { server, .. }
            | McpError::Crashed { server, .. }
            | McpError::Timeout { server, .. }
            | McpError::Protocol { server, .. }
            | McpError::ToolFailed { server, .. } => Some(server),
        }
    }
}

/// `\n  stderr: line` for each line of a server's stderr tail (nothing when it is empty).
fn tail_lines(tail: &str) -> String {
    tail.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("\n  stderr: {line}"))
        .collect()
}

/// `30 s`, `1.5 s`.
fn seconds(duration: &Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// A server's failure or warning, for the app to show once: its first line says what happened,
/// the lines after it are the server's stderr tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpNotice {
    pub server: String,
    pub message: String,
}

/// Where a configured server is, for `tern mcp list` (and later the app).
#[derive(Debug, Clone, PartialEq)]
pub enum ServerState {
    /// `enabled = false`: never started.
    Disabled,
    /// Enabled, not started yet (servers start on first use unless `startup = true`).
    NotStarted,
    /// Running; its tools are listed.
    Up,
    /// It did not start; the message says why (with its stderr tail).
    Failed(String),
    /// It stopped after starting; it is restarted on the next call.
    Crashed(String),
}

impl ServerState {
    /// `disabled`, `not started`, `up`, `failed`, `stopped`.
    pub fn label(&self) -> &'static str {
        match self {
            ServerState::Disabled => "disabled",
            ServerState::NotStarted => "not started",
            ServerState::Up => "up",
            ServerState::Failed(_) => "failed",
            ServerState::Crashed(_) => "stopped",
        }
    }
}

/// One configured server as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStatus {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// The command line (`npx -y pkg dir`) or the URL; never a header or environment value.
    pub target: String,
    pub enabled: bool,
    pub state: ServerState,
    /// Its tools (while up, or the last seen when it stopped), sorted by name.
    pub tools: Vec<ToolSpec>,
    /// The process id of a running stdio server.
    pub pid: Option<u32>,
}

/// Cheap to clone; owns the server connections; lives on the current tokio runtime.
#[derive(Clone)]
pub struct Mcp {
    inner: Arc<Inner>,
}

struct Inner {
    servers: Vec<Server>,
    /// Namespaced tool name → (index in `servers`, the server's own tool name), for the tools
    /// of servers that have started.
    routes: RwLock<BTreeMap<String, (usize, String)>>,
}

impl std::fmt::Debug for Mcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mcp")
            .field(
                "servers",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| &s.config.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Mcp {
    /// Every configured server, none started.
    pub fn new(servers: Vec<McpServerConfig>) -> Mcp {
        Mcp {
            inner: Arc::new(Inner {
                servers: servers.into_iter().map(Server::new).collect(),
                routes: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    /// Whether no server is enabled (then there are no tools to offer).
    pub fn is_empty(&self) -> bool {
        !self.inner.servers.iter().any(|s| s.config.enabled)
    }

    /// Start every enabled server not yet started (concurrently, each bounded by its
    /// startup timeout) and return the tools of those that are up, sorted by name, plus one
    /// notice per server that failed (reported once: a later call does not repeat it) and per
    /// tool skipped for its name.
    pub async fn tools(&self) -> (Vec<ToolSpec>, Vec<McpNotice>) {
        let notices = self.start_where(|_| true).await;
        let mut tools = Vec::new();
        for server in &self.inner.servers {
            tools.extend(server.tools().await);
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        (tools, notices)
    }

    /// Start only the servers with `startup = true` (called at launch, in the background).
    pub async fn start_eager(&self) -> Vec<McpNotice> {
        self.start_where(|config| config.startup).await
    }

    async fn start_where(&self, pick: impl Fn(&McpServerConfig) -> bool) -> Vec<McpNotice> {
        let starts = self
            .inner
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.config.enabled && pick(&s.config))
            .map(|(index, server)| async move {
                let notices = server.start_if_new().await;
                self.route(index).await;
                notices
            });
        join_all(starts).await.into_iter().flatten().collect()
    }

    /// Record the tools of server `index` in the routes.
    async fn route(&self, index: usize) {
        let tools = self.inner.servers[index].tools().await;
        let mut routes = self
            .inner
            .routes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        routes.retain(|_, (i, _)| *i != index);
        for tool in tools {
            routes.insert(tool.name, (index, tool.tool));
        }
    }

    /// The server (its index) and its own tool name for a namespaced `name`, starting the
    /// server when it has not started yet.
    async fn resolve(&self, name: &str) -> Result<(usize, String), McpError> {
        if let Some(route) = self.lookup(name) {
            return Ok(route);
        }
        let not_configured = || McpError::NotConfigured(name.to_owned());
        let (prefix, _) = name
            .split_once(TOOL_NAME_SEPARATOR)
            .ok_or_else(not_configured)?;
        let index = self
            .inner
            .servers
            .iter()
            .position(|s| s.config.name == prefix)
            .ok_or_else(not_configured)?;
        let server = &self.inner.servers[index];
        if !server.config.enabled {
            return Err(McpError::Disabled {
                server: server.config.name.clone(),
            });
        }
        server.ready().await?;
        self.route(index).await;
        self.lookup(name).ok_or_else(not_configured)
    }

    fn lookup(&self, name: &str) -> Option<(usize, String)> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned()
    }

    /// Call a namespaced tool. Dropping the future cancels the call: the server is sent MCP's
    /// `notifications/cancelled`. Bounded by the server's `call_timeout`. A server that
    /// crashed is restarted once on the next call.
    pub async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ToolOutput, McpError> {
        let (index, tool) = self.resolve(name).await?;
        let server = &self.inner.servers[index];
        let conn = server.ready().await?;
        let server_name = server.config.name.clone();
        let params = CallToolRequestParams::new(tool.clone()).with_arguments(arguments);
        let call = conn.peer().call_tool(params);
        let Ok(result) = tokio::time::timeout(server.config.call_timeout, call).await else {
            return Err(McpError::Timeout {
                server: server_name,
                after: server.config.call_timeout,
            });
        };
        match result {
            Ok(result) => Ok(tool_output(&result)),
            Err(ServiceError::McpError(error)) => Err(McpError::ToolFailed {
                server: server_name,
                tool,
                message: error.message.into_owned(),
            }),
            Err(ServiceError::TransportClosed | ServiceError::TransportSend(_)) => {
                let stderr_tail = server.crashed(&conn).await;
                Err(McpError::Crashed {
                    server: server_name,
                    stderr_tail,
                })
            }
            Err(ServiceError::UnexpectedResponse) => Err(McpError::Protocol {
                server: server_name,
                message: format!(
                    "the call of {tool} did not end with a result (it asked for input or \
                     started a task, which tern does not support)"
                ),
            }),
            Err(other) => Err(McpError::Protocol {
                server: server_name,
                message: other.to_string(),
            }),
        }
    }

    /// The namespaced name of `server`'s tool `tool` (the server's own name for it), starting
    /// that server alone when it has not started yet.
    pub async fn tool_name(&self, server: &str, tool: &str) -> Result<String, McpError> {
        let Some(index) = self
            .inner
            .servers
            .iter()
            .position(|s| s.config.name == server)
        else {
            let names: Vec<&str> = self
                .inner
                .servers
                .iter()
                .map(|s| s.config.name.as_str())
                .collect();
            return Err(McpError::NotConfigured(format!(
                "{server}{TOOL_NAME_SEPARATOR}{tool} (no server is called {server}; {})",
                if names.is_empty() {
                    "none is configured".to_owned()
                } else {
                    format!("the servers are {}", names.join(", "))
                }
            )));
        };
        let entry = &self.inner.servers[index];
        if !entry.config.enabled {
            return Err(McpError::Disabled {
                server: server.to_owned(),
            });
        }
        entry.ready().await?;
        self.route(index).await;
        entry
            .tools()
            .await
            .into_iter()
            .find(|t| t.tool == tool)
            .map(|t| t.name)
            .ok_or_else(|| McpError::NotConfigured(format!("{server}{TOOL_NAME_SEPARATOR}{tool}")))
    }

    /// Whether `name`'s server lets it run without asking (its `approve`).
    pub fn runs_unasked(&self, name: &str) -> bool {
        let (index, tool) = match self.lookup(name) {
            Some(route) => route,
            None => {
                let Some((prefix, tool)) = name.split_once(TOOL_NAME_SEPARATOR) else {
                    return false;
                };
                let Some(index) = self
                    .inner
                    .servers
                    .iter()
                    .position(|s| s.config.name == prefix)
                else {
                    return false;
                };
                (index, tool.to_owned())
            }
        };
        let config = &self.inner.servers[index].config;
        config.enabled && config.approve.runs_unasked(&tool)
    }

    /// State per configured server, in the config's order. Starts nothing.
    pub async fn statuses(&self) -> Vec<ServerStatus> {
        let mut statuses = Vec::new();
        for server in &self.inner.servers {
            statuses.push(server.status().await);
        }
        statuses
    }

    /// Stop every server process (and its children). Also happens, without waiting, on the
    /// drop of the last clone.
    pub async fn shutdown(&self) {
        join_all(self.inner.servers.iter().map(Server::stop)).await;
    }
}

/// `npx -y pkg dir` or the URL: what `tern mcp list` shows of a server (no secrets).
fn target(transport: &McpTransport) -> String {
    match transport {
        McpTransport::Stdio { command, args, .. } => {
            let mut line = command.clone();
            for arg in args {
                line.push(' ');
                line.push_str(arg);
            }
            line
        }
        McpTransport::Http { url, .. } => url.clone(),
    }
}

impl Slot {
    fn state(&self, enabled: bool) -> ServerState {
        match self {
            _ if !enabled => ServerState::Disabled,
            Slot::Idle => ServerState::NotStarted,
            Slot::Up(_) => ServerState::Up,
            Slot::Failed { error, .. } => ServerState::Failed(error.to_string()),
            Slot::Crashed { stderr_tail, .. } => ServerState::Crashed(format!(
                "it stopped; it is restarted on the next call{}",
                tail_lines(stderr_tail)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_in_a_request() {
        let spec = ToolSpec {
            name: "files__read".into(),
            server: "files".into(),
            tool: "read".into(),
            description: Some("Read a file".into()),
            input_schema: serde_json::json!({"type": "object"}),
        };
        assert_eq!(
            spec.to_api(),
            serde_json::json!({
                "name": "files__read",
                "description": "Read a file",
                "input_schema": {"type": "object"}
            })
        );
        let bare = ToolSpec {
            description: None,
            ..spec
        };
        assert!(bare.to_api().get("description").is_none());
    }

    #[test]
    fn errors_name_the_server_and_its_stderr() {
        let error = McpError::Start {
            server: "files".into(),
            message: "command not found: npx — is it installed?".into(),
            stderr_tail: "one\n\ntwo".into(),
        };
        assert_eq!(
            error.to_string(),
            "MCP server files did not start: command not found: npx — is it installed?\n  \
             stderr: one\n  stderr: two"
        );
        let timeout = McpError::Timeout {
            server: "s".into(),
            after: Duration::from_millis(1500),
        };
        assert!(timeout.to_string().contains("within 1.5 s"), "{timeout}");
        assert_eq!(timeout.server(), Some("s"));
    }

    #[test]
    fn routes_of_servers_not_started_follow_the_prefix() {
        let mcp = Mcp::new(vec![
            McpServerConfig {
                name: "a".into(),
                transport: McpTransport::Http {
                    url: "http://127.0.0.1:9/mcp".into(),
                    headers: BTreeMap::new(),
                },
                approve: crate::config::Approval::Tools(vec!["read".into()]),
                enabled: true,
                startup: false,
                startup_timeout: Duration::from_secs(1),
                call_timeout: Duration::from_secs(1),
            },
            McpServerConfig {
                name: "b".into(),
                transport: McpTransport::Http {
                    url: "http://127.0.0.1:9/mcp".into(),
                    headers: BTreeMap::new(),
                },
                approve: crate::config::Approval::Always,
                enabled: false,
                startup: false,
                startup_timeout: Duration::from_secs(1),
                call_timeout: Duration::from_secs(1),
            },
        ]);
        assert!(!mcp.is_empty());
        assert!(mcp.runs_unasked("a__read"));
        assert!(!mcp.runs_unasked("a__write"));
        assert!(
            !mcp.runs_unasked("b__read"),
            "a disabled server runs nothing"
        );
        assert!(!mcp.runs_unasked("c__read"));
        assert!(!mcp.runs_unasked("read"));
    }
}
