//! A fixture MCP server, built with the official SDK's server side, for the tests and for
//! trying tern's tools without npm: `tern-fake-server mcp-stdio` (a child process speaking MCP
//! on stdin and stdout) or `tern-fake-server mcp-http` (streamable HTTP on 127.0.0.1), or
//! [`McpHttpFixture::start`] in a test's process.
//!
//! Its tools play what a client must handle: `echo` and `add` answer, `fail` reports an error
//! result, `slow` sleeps until it is cancelled, `crash` kills the server mid-call, `image`
//! returns a PNG, `env` tells a variable and the working directory, `hostile` returns terminal
//! escapes. What happened is written as one line per
//! event (`started pid N`, `slow started`, `slow cancelled`…) to the `--log` file (and kept in
//! memory for the in-process server), so a test can see that a cancellation arrived.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServiceExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A 1×1 PNG, base64.
pub const TINY_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// What `crash` does on the standalone server.
pub const CRASH_STDERR: &str = "fake mcp: crashing as asked";

/// How the fixture behaves.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct McpFixtureOptions {
    /// Append one line per event (start, calls, cancellations) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Write LINE on stderr at start (what a server says before it fails).
    #[arg(long, value_name = "LINE")]
    pub stderr_line: Option<String>,
    /// Exit with CODE right after start (after --stderr-line), before any handshake.
    #[arg(long, value_name = "CODE")]
    pub exit_at_start: Option<i32>,
    /// Answer every line with text that is not JSON-RPC, never a handshake.
    #[arg(long)]
    pub garbage: bool,
    /// Start a child process (`sleep 600`) in the server's process group, as `npx` starts
    /// node; its pid is logged as `grandchild pid N`.
    #[arg(long)]
    pub grandchild: bool,
    /// Also offer a tool whose name is too long for the API.
    #[arg(long)]
    pub long_tool_name: bool,
}

/// A tool name over the API's 64 characters (with any server prefix).
pub const LONG_TOOL_NAME: &str =
    "a_tool_whose_name_is_much_too_long_for_the_api_to_accept_it_at_all";

/// Where events go: the log file and, for an in-process server, memory.
#[derive(Clone, Default)]
struct Events {
    file: Option<PathBuf>,
    memory: Arc<Mutex<Vec<String>>>,
}

impl Events {
    fn record(&self, event: &str) {
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.to_owned());
        if let Some(path) = &self.file
            && let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        {
            let _ = writeln!(file, "{event}");
        }
    }
}

/// The server's handler (one per session for HTTP).
#[derive(Clone)]
struct Fixture {
    events: Events,
    long_tool_name: bool,
    /// What `crash` does: exit the process, or (in a test's process) stop the HTTP server.
    crash: Crash,
}

#[derive(Clone)]
enum Crash {
    Exit,
    Stop(Arc<dyn Fn() + Send + Sync>),
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn tools(long_tool_name: bool) -> Vec<Tool> {
    let none = || schema(json!({"type": "object", "properties": {}}));
    let mut tools = vec![
        Tool::new(
            "echo",
            "Return the text given",
            schema(json!({
                "type": "object",
                "properties": {"text": {"type": "string", "description": "What to return"}},
                "required": ["text"]
            })),
        ),
        Tool::new(
            "add",
            "Add two numbers",
            schema(json!({
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"]
            })),
        ),
        Tool::new("fail", "Report an error result", none()),
        Tool::new(
            "slow",
            "Sleep for ms milliseconds (until cancelled)",
            schema(json!({
                "type": "object",
                "properties": {"ms": {"type": "integer", "minimum": 0}},
                "required": ["ms"]
            })),
        ),
        Tool::new("crash", "Stop the server in the middle of the call", none()),
        Tool::new("image", "Return a 1x1 PNG", none()),
        Tool::new(
            "env",
            "Return the value of an environment variable and the working directory",
            schema(json!({
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"]
            })),
        ),
        Tool::new(
            "hostile",
            "Return text with terminal escape sequences",
            none(),
        ),
    ];
    if long_tool_name {
        tools.push(Tool::new(LONG_TOOL_NAME, "Never offered", none()));
    }
    tools
}

fn text(text: impl Into<String>) -> CallToolResponse {
    CallToolResult::success(vec![ContentBlock::text(text)]).into()
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("tern-fake-mcp", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools(self.long_tool_name)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        self.events.record(&format!(
            "call {} {}",
            request.name,
            Value::Object(args.clone())
        ));
        // Over HTTP, the headers the client sent (a fixture's secrets are test values).
        if let Some(parts) = context.extensions.get::<hyper::http::request::Parts>()
            && let Some(value) = parts.headers.get("authorization")
        {
            self.events.record(&format!(
                "authorization {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        match request.name.as_ref() {
            "echo" => match args.get("text").and_then(Value::as_str) {
                Some(t) => Ok(text(t)),
                None => Err(ErrorData::invalid_params("echo needs text", None)),
            },
            "add" => {
                let number = |key: &str| args.get(key).and_then(Value::as_f64);
                match (number("a"), number("b")) {
                    (Some(a), Some(b)) => Ok(text((a + b).to_string())),
                    _ => Err(ErrorData::invalid_params("add needs numbers a and b", None)),
                }
            }
            "fail" => Ok(CallToolResult::error(vec![ContentBlock::text(
                "the tool failed, as asked",
            )])
            .into()),
            "slow" => {
                let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(60_000);
                self.events.record("slow started");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {
                        Ok(text(format!("slept {ms} ms")))
                    }
                    () = context.ct.cancelled() => {
                        self.events.record("slow cancelled");
                        Err(ErrorData::internal_error("cancelled", None))
                    }
                }
            }
            "crash" => {
                self.events.record("crash");
                match &self.crash {
                    Crash::Exit => {
                        crate::term_eprintln!("{CRASH_STDERR}");
                        std::process::exit(3)
                    }
                    Crash::Stop(stop) => {
                        stop();
                        // Never answered: the connection goes with the server.
                        std::future::pending().await
                    }
                }
            }
            "image" => Ok(CallToolResult::success(vec![
                ContentBlock::text("a tiny image:"),
                ContentBlock::image(TINY_PNG, "image/png"),
            ])
            .into()),
            "env" => {
                let name = args.get("name").and_then(Value::as_str).unwrap_or_default();
                let value = std::env::var(name).unwrap_or_default();
                let cwd = std::env::current_dir().unwrap_or_default();
                Ok(text(format!("{name}={value}\ncwd={}", cwd.display())))
            }
            "hostile" => Ok(text(
                "\u{1b}]0;owned\u{7}\u{1b}[2Jred \u{1b}[31malert\u{202e}",
            )),
            other => Err(ErrorData::invalid_params(
                format!("no tool called {other}"),
                None,
            )),
        }
    }
}

/// `tern-fake-server mcp-stdio`: serve MCP on stdin and stdout until stdin ends.
pub async fn serve_stdio(options: McpFixtureOptions) -> anyhow::Result<()> {
    let events = Events {
        file: options.log.clone(),
        ..Events::default()
    };
    events.record(&format!("started pid {}", std::process::id()));
    if let Some(line) = &options.stderr_line {
        crate::term_eprintln!("{line}");
    }
    if let Some(code) = options.exit_at_start {
        std::process::exit(code);
    }
    // Kept until the server ends; a group kill must take it down.
    let _grandchild = if options.grandchild {
        let child = std::process::Command::new("sleep")
            .arg("600")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        events.record(&format!("grandchild pid {}", child.id()));
        Some(child)
    } else {
        None
    };
    if options.garbage {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut out = tokio::io::stdout();
        while let Ok(Some(_)) = lines.next_line().await {
            out.write_all(b"this is not JSON-RPC\n").await?;
            out.flush().await?;
        }
        return Ok(());
    }
    let fixture = Fixture {
        events: events.clone(),
        long_tool_name: options.long_tool_name,
        crash: Crash::Exit,
    };
    let service = fixture.serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    events.record("stdin closed");
    // The stdin reader may still block the runtime's shutdown: leave at once.
    std::process::exit(0)
}

/// A streamable-HTTP fixture server on 127.0.0.1, in this process.
pub struct McpHttpFixture {
    url: String,
    events: Events,
    service: StreamableHttpService<Fixture, LocalSessionManager>,
    /// The thread of a background server.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl McpHttpFixture {
    /// Serve on `port` (0 picks one) on the current runtime; `crash` stops this server.
    pub async fn start(options: McpFixtureOptions, port: u16) -> std::io::Result<McpHttpFixture> {
        Self::start_with(options, port, false).await
    }

    /// Like [`McpHttpFixture::start`], but `crash` exits the process (the standalone server).
    pub async fn start_standalone(
        options: McpFixtureOptions,
        port: u16,
    ) -> std::io::Result<McpHttpFixture> {
        Self::start_with(options, port, true).await
    }

    /// Like [`McpHttpFixture::start`], on a runtime of its own in its own thread, for
    /// synchronous tests (the ones that run the `tern` binary).
    pub fn start_background(
        options: McpFixtureOptions,
        port: u16,
    ) -> std::io::Result<McpHttpFixture> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (started, fixture) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tern-fake-mcp".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match Self::start_with(options, port, false).await {
                        Ok(fixture) => {
                            let stop = fixture.service.config.cancellation_token.clone();
                            let _ = started.send(Ok(fixture));
                            stop.cancelled().await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                        }
                    }
                });
            })?;
        let mut fixture = fixture
            .recv()
            .map_err(|_| std::io::Error::other("the fixture's thread ended before it started"))??;
        fixture.thread = Some(thread);
        Ok(fixture)
    }

    async fn start_with(
        options: McpFixtureOptions,
        port: u16,
        exits: bool,
    ) -> std::io::Result<McpHttpFixture> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let events = Events {
            file: options.log.clone(),
            ..Events::default()
        };
        events.record(&format!("started pid {}", std::process::id()));
        let config = StreamableHttpServerConfig::default();
        let stop_token = config.cancellation_token.clone();
        let crash = if exits {
            Crash::Exit
        } else {
            let token = stop_token.clone();
            Crash::Stop(Arc::new(move || token.cancel()))
        };
        let fixture = Fixture {
            events: events.clone(),
            long_tool_name: options.long_tool_name,
            crash,
        };
        let service = StreamableHttpService::new(
            move || Ok(fixture.clone()),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let serving = service.clone();
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = stop_token.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                };
                let service = hyper_util::service::TowerToHyperService::new(serving.clone());
                let stop = stop_token.clone();
                tokio::spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        () = stop.cancelled() => {}
                    }
                });
            }
        });
        Ok(McpHttpFixture {
            url: format!("http://{addr}/mcp"),
            events,
            service,
            thread: None,
        })
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every event so far (`started pid N`, `call echo {...}`, `slow cancelled`…).
    pub fn events(&self) -> Vec<String> {
        self.events
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stop accepting and close every session. Idempotent.
    pub fn shutdown(&self) {
        self.service.config.cancellation_token.cancel();
    }
}

impl Drop for McpHttpFixture {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(thread) = self.thread.take() {
            // The thread only serves; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}
