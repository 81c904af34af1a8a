//! One configured server: its state, how it starts (a child process or streamable HTTP), and
//! how it stops.
//!
//! The state sits behind an async lock held while the server starts, so callers that need it
//! at the same moment share one start; a call holds only a clone of the connection's peer.
//! A child process leads its own process group: stopping kills the group, so the programs a
//! launcher such as `npx` starts go with it. Its stderr goes to a bounded ring (the last lines
//! explain a failure), never to the terminal.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::common::client_side_sse::ExponentialBackoff;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{Peer, RoleClient, ServiceExt};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::content::api_tool_name;
use super::{McpError, McpNotice, ServerStatus, ToolSpec, target};
use crate::config::{McpServerConfig, McpTransport};

/// The stderr kept per server: at most this many lines…
const STDERR_LINES: usize = 20;
/// …and this many bytes…
const STDERR_BYTES: usize = 4096;
/// …a line cut at this many (so one long line does not push out the others).
const STDERR_LINE_BYTES: usize = 1024;
/// How long a stopped server may take to close its stderr before its tail is read.
const STDERR_DRAIN: Duration = Duration::from_secs(2);
/// How many times a cut HTTP event stream is reopened before the server counts as stopped.
const HTTP_RECONNECTS: usize = 3;
/// How long a server may take to exit after its input is closed, before it is killed.
const GRACEFUL_STOP: Duration = Duration::from_secs(2);

/// Where a server is.
pub(super) enum Slot {
    /// Not started.
    Idle,
    Up(Arc<Conn>),
    /// It did not start; not retried (the notice went out once).
    Failed {
        error: StartError,
        reported: bool,
    },
    /// It stopped after starting; the next call starts it again. Its tools stay listed so the
    /// model's tools do not change under it.
    Crashed {
        stderr_tail: String,
        tools: Vec<ToolSpec>,
    },
}

/// Why a server did not start (an [`McpError::Start`] without the server's name).
#[derive(Debug, Clone)]
pub(super) struct StartError {
    server: String,
    message: String,
    stderr_tail: String,
}

impl StartError {
    fn to_error(&self) -> McpError {
        McpError::Start {
            server: self.server.clone(),
            message: self.message.clone(),
            stderr_tail: self.stderr_tail.clone(),
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_error())
    }
}

pub(super) struct Server {
    pub(super) config: McpServerConfig,
    slot: tokio::sync::Mutex<Slot>,
}

impl Server {
    pub(super) fn new(config: McpServerConfig) -> Server {
        Server {
            config,
            slot: tokio::sync::Mutex::new(Slot::Idle),
        }
    }

    /// Start the server when it never was; the notices of this start (a failure, skipped
    /// tools), or of an earlier failure not reported yet.
    pub(super) async fn start_if_new(&self) -> Vec<McpNotice> {
        let mut slot = self.slot.lock().await;
        match &mut *slot {
            Slot::Idle => {}
            Slot::Failed { error, reported } if !*reported => {
                *reported = true;
                return vec![self.notice(error.to_string())];
            }
            _ => return Vec::new(),
        }
        match self.start().await {
            Ok((conn, warnings)) => {
                *slot = Slot::Up(Arc::new(conn));
                warnings.into_iter().map(|w| self.notice(w)).collect()
            }
            Err(error) => {
                let notice = self.notice(error.to_string());
                *slot = Slot::Failed {
                    error,
                    reported: true,
                };
                vec![notice]
            }
        }
    }

    fn notice(&self, message: String) -> McpNotice {
        McpNotice {
            server: self.config.name.clone(),
            message,
        }
    }

    /// The running connection, starting the server if it is new or stopped (a restart is
    /// tried once per stop: if it fails, the server stays failed).
    pub(super) async fn ready(&self) -> Result<Arc<Conn>, McpError> {
        let mut slot = self.slot.lock().await;
        match &*slot {
            Slot::Up(conn) if !conn.is_closed() => return Ok(conn.clone()),
            Slot::Failed { error, .. } => return Err(error.to_error()),
            Slot::Up(_) | Slot::Idle | Slot::Crashed { .. } => {}
        }
        if let Slot::Up(conn) = &*slot {
            // It stopped between calls: stop it for good before starting anew.
            conn.kill();
        }
        match self.start().await {
            Ok((conn, _warnings)) => {
                let conn = Arc::new(conn);
                *slot = Slot::Up(conn.clone());
                Ok(conn)
            }
            Err(error) => {
                let result = error.to_error();
                // A failure seen by a call is reported by that call's error.
                *slot = Slot::Failed {
                    error,
                    reported: true,
                };
                Err(result)
            }
        }
    }

    /// `conn` stopped during a call: mark the server stopped (unless a newer connection took
    /// its place) and return its stderr tail.
    pub(super) async fn crashed(&self, conn: &Arc<Conn>) -> String {
        conn.kill();
        let stderr_tail = conn.stderr_tail().await;
        let mut slot = self.slot.lock().await;
        if let Slot::Up(current) = &*slot
            && Arc::ptr_eq(current, conn)
        {
            *slot = Slot::Crashed {
                stderr_tail: stderr_tail.clone(),
                tools: conn.tools.clone(),
            };
        }
        stderr_tail
    }

    /// The server's tools while it is up (or the last seen, when it stopped).
    pub(super) async fn tools(&self) -> Vec<ToolSpec> {
        match &*self.slot.lock().await {
            Slot::Up(conn) => conn.tools.clone(),
            Slot::Crashed { tools, .. } => tools.clone(),
            Slot::Idle | Slot::Failed { .. } => Vec::new(),
        }
    }

    pub(super) async fn status(&self) -> ServerStatus {
        let slot = self.slot.lock().await;
        let (tools, pid) = match &*slot {
            Slot::Up(conn) => (conn.tools.clone(), conn.pid),
            Slot::Crashed { tools, .. } => (tools.clone(), None),
            Slot::Idle | Slot::Failed { .. } => (Vec::new(), None),
        };
        ServerStatus {
            name: self.config.name.clone(),
            transport: match self.config.transport {
                McpTransport::Stdio { .. } => "stdio",
                McpTransport::Http { .. } => "http",
            },
            target: target(&self.config.transport),
            enabled: self.config.enabled,
            state: slot.state(self.config.enabled),
            tools,
            pid,
        }
    }

    /// Stop the server: close its connection (a child process sees its input end), give it a
    /// moment, then kill its process group.
    pub(super) async fn stop(&self) {
        let mut slot = self.slot.lock().await;
        if let Slot::Up(conn) = std::mem::replace(&mut *slot, Slot::Idle) {
            conn.close().await;
        }
        // A later use starts it again (the app may shut tools down and go on).
    }

    /// Start the server and list its tools, within its startup timeout. Also returns a
    /// warning per tool skipped for its name.
    async fn start(&self) -> Result<(Conn, Vec<String>), StartError> {
        let name = &self.config.name;
        let stderr = Arc::new(StderrRing::default());
        let fail = |message: String, stderr_tail: String| StartError {
            server: name.clone(),
            message,
            stderr_tail,
        };
        let started = tokio::time::timeout(
            self.config.startup_timeout,
            connect(&self.config, stderr.clone()),
        )
        .await;
        match started {
            Ok(Ok(mut conn)) => {
                let warnings = conn.name_tools(name);
                Ok((conn, warnings))
            }
            Ok(Err(message)) => Err(fail(message, stderr.tail_after_exit().await)),
            Err(_) => Err(fail(
                format!(
                    "it did not answer within {} (startup_timeout_secs in [mcp_servers.{name}])",
                    super::seconds(&self.config.startup_timeout)
                ),
                stderr.tail_after_exit().await,
            )),
        }
    }
}

/// A started server: the SDK's running client, its tools, and for a child process its group.
pub(super) struct Conn {
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ClientConfig>>>,
    peer: Peer<RoleClient>,
    raw_tools: Vec<rmcp::model::Tool>,
    tools: Vec<ToolSpec>,
    stderr: Arc<StderrRing>,
    pid: Option<u32>,
    /// Kills the child's process group when dropped.
    group: Option<ProcessGroup>,
}

impl Conn {
    pub(super) fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    fn is_closed(&self) -> bool {
        self.peer.is_transport_closed()
    }

    /// Name the tools for the model; a warning for each that cannot be named.
    fn name_tools(&mut self, server: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut tools: Vec<ToolSpec> = Vec::new();
        for tool in &self.raw_tools {
            let Some(name) = api_tool_name(server, &tool.name) else {
                warnings.push(format!(
                    "tool {:?} of MCP server {server} is left out: its name does not fit the \
                     API's 64 letters, digits, _ and - after \"{server}__\"",
                    tool.name
                ));
                continue;
            };
            if tools.iter().any(|t| t.name == name) {
                warnings.push(format!(
                    "tool {:?} of MCP server {server} is left out: another of its tools is \
                     also named {name} for the API",
                    tool.name
                ));
                continue;
            }
            tools.push(ToolSpec {
                name,
                server: server.to_owned(),
                tool: tool.name.to_string(),
                description: tool.description.as_ref().map(|d| d.to_string()),
                input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
            });
        }
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        self.tools = tools;
        warnings
    }

    /// Kill the child's process group now (a no-op for HTTP).
    pub(super) fn kill(&self) {
        if let Some(group) = &self.group {
            group.kill();
        }
    }

    /// The child's stderr tail, once it has closed its stderr (bounded).
    async fn stderr_tail(&self) -> String {
        self.stderr.tail_after_exit().await
    }

    /// Close the connection: the SDK closes the child's input (or ends the HTTP session),
    /// then the process group is killed whatever it did.
    async fn close(&self) {
        if let Some(mut service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(GRACEFUL_STOP, service.close()).await;
        }
        self.kill();
    }
}

/// The client tern presents in the handshake.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("tern", env!("CARGO_PKG_VERSION")),
    )
}

/// Connect to the server and list its tools (not yet named for the model).
async fn connect(config: &McpServerConfig, stderr: Arc<StderrRing>) -> Result<Conn, String> {
    let (service, pid, group) = match &config.transport {
        McpTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args).envs(env).kill_on_drop(true);
            if let Some(cwd) = cwd {
                if !cwd.is_dir() {
                    return Err(format!("its cwd {} is not a directory", cwd.display()));
                }
                cmd.current_dir(cwd);
            }
            #[cfg(unix)]
            cmd.process_group(0);
            let (child, child_stderr) = TokioChildProcess::builder(cmd)
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| spawn_error(command, &e))?;
            let pid = child.id();
            let group = pid.map(ProcessGroup);
            if let Some(child_stderr) = child_stderr {
                tokio::spawn(stderr.clone().collect(child_stderr));
            } else {
                stderr.close();
            }
            let service = client_config()
                .serve(child)
                .await
                .map_err(|e| format!("the MCP handshake failed: {e}"))?;
            (service, pid, group)
        }
        McpTransport::Http { url, headers } => {
            stderr.close();
            let mut custom = HashMap::new();
            for (name, value) in headers {
                let header = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("header {name:?} is not a valid HTTP header name"))?;
                let mut value = reqwest::header::HeaderValue::from_str(value)
                    .map_err(|_| format!("the value of header {name} is not valid in HTTP"))?;
                value.set_sensitive(true);
                custom.insert(header, value);
            }
            let mut config =
                StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(custom);
            // The SDK reconnects a cut event stream forever by default: a server that went
            // away would hold a call until its timeout. A few tries, then it has stopped.
            let mut retry = ExponentialBackoff::default();
            retry.max_times = Some(HTTP_RECONNECTS);
            retry.max_delay = Some(Duration::from_secs(2));
            config.retry_config = Arc::new(retry);
            let transport = StreamableHttpClientTransport::from_config(config);
            let service = client_config()
                .serve(transport)
                .await
                .map_err(|e| format!("the MCP handshake with {url} failed: {e}"))?;
            (service, None, None)
        }
    };
    let peer = service.peer().clone();
    let raw_tools = peer
        .list_all_tools()
        .await
        .map_err(|e| format!("it did not list its tools: {e}"))?;
    Ok(Conn {
        service: tokio::sync::Mutex::new(Some(service)),
        peer,
        raw_tools,
        tools: Vec::new(),
        stderr,
        pid,
        group,
    })
}

/// What a failed spawn means, in words that say what to do.
fn spawn_error(command: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => format!("command not found: {command} — is it installed?"),
        std::io::ErrorKind::PermissionDenied => {
            format!("{command} cannot be run (permission denied) — is it executable?")
        }
        _ => format!("{command} could not be started: {error}"),
    }
}

/// A child's process group (it leads it: the group's id is its pid), killed on drop.
struct ProcessGroup(u32);

impl ProcessGroup {
    fn kill(&self) {
        #[cfg(unix)]
        if let Some(pid) = i32::try_from(self.0)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            // ESRCH when the group is gone already: nothing to do.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last lines a server wrote on stderr, bounded in lines and bytes.
#[derive(Default)]
struct StderrRing {
    lines: Mutex<Lines>,
    closed: watch::Sender<bool>,
}

#[derive(Default)]
struct Lines {
    done: VecDeque<String>,
    bytes: usize,
    /// The line being written (cut at `STDERR_LINE_BYTES`).
    partial: Vec<u8>,
}

impl StderrRing {
    /// Read `stderr` to its end into the ring.
    async fn collect(self: Arc<Self>, mut stderr: tokio::process::ChildStderr) {
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => self.push(&buf[..n]),
            }
        }
        self.close();
    }

    fn push(&self, bytes: &[u8]) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        for &byte in bytes {
            if byte == b'\n' {
                let line = String::from_utf8_lossy(&std::mem::take(&mut lines.partial))
                    .trim_end_matches('\r')
                    .to_owned();
                lines.bytes += line.len() + 1;
                lines.done.push_back(line);
                while lines.done.len() > STDERR_LINES || lines.bytes > STDERR_BYTES {
                    let Some(old) = lines.done.pop_front() else {
                        break;
                    };
                    lines.bytes -= old.len() + 1;
                }
            } else if lines.partial.len() < STDERR_LINE_BYTES {
                lines.partial.push(byte);
            }
        }
    }

    fn close(&self) {
        self.closed.send_replace(true);
    }

    fn tail(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<String> = lines.done.iter().cloned().collect();
        if !lines.partial.is_empty() {
            out.push(String::from_utf8_lossy(&lines.partial).into_owned());
        }
        out.join("\n")
    }

    /// The tail once the writer closed stderr (it exited), or after a short wait.
    async fn tail_after_exit(&self) -> String {
        let mut closed = self.closed.subscribe();
        let _ = tokio::time::timeout(STDERR_DRAIN, closed.wait_for(|closed| *closed)).await;
        self.tail()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_lines_within_its_bounds() {
        let ring = StderrRing::default();
        for i in 0..30 {
            ring.push(format!("line {i}\n").as_bytes());
        }
        ring.push(b"no newline yet");
        let tail = ring.tail();
        assert!(!tail.contains("line 9\n"), "{tail}");
        assert!(tail.starts_with("line 10\n"), "{tail}");
        assert!(tail.ends_with("line 29\nno newline yet"), "{tail}");

        let ring = StderrRing::default();
        ring.push(&vec![b'x'; 10_000]);
        ring.push(b"\nshort\n");
        let tail = ring.tail();
        assert_eq!(
            tail.len(),
            STDERR_LINE_BYTES + "\nshort".len(),
            "a long line is cut"
        );
        for _ in 0..4 {
            ring.push(&vec![b'y'; 2000]);
            ring.push(b"\n");
        }
        let tail = ring.tail();
        assert!(tail.len() <= STDERR_BYTES, "old lines dropped for bytes");
        assert!(!tail.contains('x') && !tail.contains("short"), "{tail}");
    }
}
