//! A fake Anthropic Messages-compatible server on 127.0.0.1, for tests and for trying the TUI
//! without a key.
//!
//! It is a real HTTP/1.1 server over a real socket, not a mock of the client's HTTP layer, so
//! the client's whole path (reqwest, chunked bodies, the SSE decoder, retries, timeouts) runs
//! against it. Each request gets a [`Scenario`]: the server's default, or the one named by
//! `scenario:NAME` in the prompt (the last user message with text of its own, so a tool loop
//! keeps the scenario of the prompt that started it), so one server can play every fault in turn.
//! Everything received is recorded for tests to inspect.
//!
//! It is as strict as the real API about what it accepts (`handler/validate.rs`), signs the
//! thinking it sends and checks it when it comes back (`signature.rs`), emulates prompt
//! caching (`cache.rs`), and knows per model what it supports (`catalog.rs`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use tern::fake::{FakeConfig, FakeServer};
//! let server = FakeServer::start(FakeConfig::default()).await?;
//! let url = format!("{}/v1/messages", server.base_url());
//! // ... send "hello scenario:rate-limit" to `url`, then inspect `server.requests()`.
//! # Ok(()) }
//! ```

mod cache;
mod catalog;
mod handler;
mod http;
pub mod mcp;
mod reply;
mod scenario;
mod signature;
mod wire;

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use scenario::{ParseScenarioError, Scenario};

/// The models the fake server knows unless configured otherwise: APIFree's dotted ids.
pub const DEFAULT_MODELS: [&str; 6] = [
    "claude-sonnet-4",
    "claude-opus-4.6",
    "claude-sonnet-4.6",
    "claude-opus-4.5",
    "claude-sonnet-4.5",
    "claude-haiku-4.5",
];

/// How a [`FakeServer`] behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// When set, any other key gets 401. When unset, any non-empty key is accepted, sent as
    /// `Authorization: Bearer KEY` or as `x-api-key: KEY`.
    pub api_key: Option<String>,
    /// Model ids that exist; others get 404 `not_found_error`.
    pub models: Vec<String>,
    /// The scenario for requests whose prompt names none.
    pub default_scenario: Scenario,
    /// Pause between streamed deltas (0 = full speed; `slow` then uses 50 ms).
    pub delay: Duration,
    /// Whether `GET /v1/models` exists (404 when false, as on gateways that lack it).
    pub models_endpoint: bool,
    /// `GET /v1/models` also lists models whose ids and display names hold terminal escape
    /// sequences and bidi characters (a hostile endpoint).
    pub hostile_models: bool,
    /// Whether `POST /v1/messages/count_tokens` exists (404 when false, as on gateways that
    /// lack it).
    pub count_tokens_endpoint: bool,
    /// The shortest prefix (in tokens, i.e. words) a cache breakpoint caches; `None` uses each
    /// model's real minimum (1,024 or 4,096), `Some(0)` caches any prefix.
    pub min_cacheable_tokens: Option<u64>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            port: 0,
            api_key: None,
            models: DEFAULT_MODELS.map(String::from).to_vec(),
            default_scenario: Scenario::Ok,
            delay: Duration::ZERO,
            models_endpoint: true,
            hostile_models: false,
            count_tokens_endpoint: true,
            min_cacheable_tokens: None,
        }
    }
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The query string, without `?`, when there was one.
    pub query: Option<String>,
    /// Header names lowercased, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        http::find_header(&self.headers, name)
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// State shared by every connection of one server.
pub(crate) struct ServerState {
    config: FakeConfig,
    requests: Mutex<Vec<RecordedRequest>>,
    request_count: AtomicU64,
    /// Failures already served per "fail N times, then succeed" scenario.
    failures: Mutex<HashMap<Scenario, u32>>,
    /// Prefix hashes written to the emulated prompt cache.
    prompt_cache: Mutex<HashSet<u64>>,
}

/// Locks `mutex`, recovering the data if a panicking thread poisoned it (the data is only
/// ever pushed to or counted, so it stays consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ServerState {
    /// 1 for the first request, then 2, 3, … (used in `req_fake_<n>` and `msg_fake_<n>`).
    fn next_request_number(&self) -> u64 {
        self.request_count.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    /// For a "fail N times, then succeed" scenario: whether this request fails. A success
    /// resets the count, so the next request starts the cycle again.
    fn should_fail(&self, scenario: Scenario) -> bool {
        let mut failures = lock(&self.failures);
        let served = failures.entry(scenario).or_insert(0);
        if *served < scenario.failures_before_success() {
            *served += 1;
            true
        } else {
            *served = 0;
            false
        }
    }
}

/// A running fake server. Dropping it (or [`FakeServer::shutdown`]) stops it and closes every
/// open connection.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: watch::Sender<bool>,
    /// The runtime thread of a server made by [`FakeServer::start_background`].
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FakeServer {
    /// Binds 127.0.0.1 and serves on the current tokio runtime. On a current-thread runtime
    /// the server only runs while the caller awaits; tests that block (e.g. waiting for a child
    /// process) should use [`FakeServer::start_background`].
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let (server, stop) = FakeServer::new(config, addr);
        tokio::spawn(accept_loop(listener, Arc::clone(&server.state), stop));
        Ok(server)
    }

    /// Binds 127.0.0.1 and serves on a runtime of its own, in its own thread, so that
    /// synchronous tests can use it.
    pub fn start_background(config: FakeConfig) -> std::io::Result<FakeServer> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (server, stop) = FakeServer::new(config, addr);
        let state = Arc::clone(&server.state);
        let thread = std::thread::Builder::new()
            .name("tern-fake-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Cannot fail: the listener is non-blocking and we are inside the runtime.
                    if let Ok(listener) = TcpListener::from_std(listener) {
                        accept_loop(listener, state, stop).await;
                    }
                });
            })?;
        *lock(&server.thread) = Some(thread);
        Ok(server)
    }

    fn new(config: FakeConfig, addr: SocketAddr) -> (FakeServer, watch::Receiver<bool>) {
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(ServerState {
            config,
            requests: Mutex::new(Vec::new()),
            request_count: AtomicU64::new(0),
            failures: Mutex::new(HashMap::new()),
            prompt_cache: Mutex::new(HashSet::new()),
        });
        let server = FakeServer {
            addr,
            state,
            stop,
            thread: Mutex::new(None),
        };
        (server, stopped)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The requests received after the first `seen`, in arrival order: what a poller has not
    /// seen yet, without copying again the bodies (attachments make them megabytes) it has.
    pub fn requests_since(&self, seen: usize) -> Vec<RecordedRequest> {
        lock(&self.state.requests)
            .get(seen..)
            .map(<[RecordedRequest]>::to_vec)
            .unwrap_or_default()
    }

    /// Stops accepting and closes open connections. Idempotent; for a background server it
    /// also waits for its thread to finish.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        if let Some(thread) = lock(&self.thread).take() {
            // The thread only runs the accept loop; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

/// Accepts connections until told to stop; each connection runs in its own task and is dropped
/// (closing its socket) when the server stops.
async fn accept_loop(
    listener: TcpListener,
    state: Arc<ServerState>,
    stopped: watch::Receiver<bool>,
) {
    loop {
        let mut stop_signal = stopped.clone();
        let accepted = tokio::select! {
            _ = stop_signal.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient accept errors (e.g. too many open files): back off briefly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let mut stop_signal = stopped.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop_signal.wait_for(|stop| *stop) => {}
                () = handler::serve_connection(stream, state) => {}
            }
        });
    }
}
