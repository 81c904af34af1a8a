//! The MCP layer against the fixture MCP server (`tern-fake-server mcp-stdio`, and the same
//! server over streamable HTTP in this process): tools, calls, errors, cancellation, timeouts,
//! crashes, servers that do not start, and no server process left behind.
//!
//! Waits poll for an event (a line in the fixture's log, a process gone) with a generous
//! deadline; nothing asserts how long anything took.
#![allow(clippy::unwrap_used)]

#[path = "common/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tern::config::{Approval, McpServerConfig, McpTransport};
use tern::fake::mcp::{CRASH_STDERR, McpFixtureOptions, McpHttpFixture, TINY_PNG};
use tern::mcp::{Mcp, McpError, ServerState};

const FIXTURE: &str = env!("CARGO_BIN_EXE_tern-fake-server");
/// How long a wait may take before the test gives up (a hung build machine, not a measure).
const PATIENCE: Duration = Duration::from_secs(60);
/// How many tools the fixture offers.
const TOOLS: usize = 8;

fn server(name: &str, transport: McpTransport) -> McpServerConfig {
    McpServerConfig {
        name: name.to_owned(),
        transport,
        approve: Approval::Ask,
        enabled: true,
        startup: false,
        startup_timeout: Duration::from_secs(30),
        call_timeout: Duration::from_secs(120),
    }
}

fn stdio(name: &str, args: &[&str]) -> McpServerConfig {
    server(
        name,
        McpTransport::Stdio {
            command: FIXTURE.to_owned(),
            args: std::iter::once("mcp-stdio")
                .chain(args.iter().copied())
                .map(String::from)
                .collect(),
            env: BTreeMap::new(),
            cwd: None,
        },
    )
}

/// A fixture on stdio logging to a file in `dir`; the server's config and the log's path.
fn logged(dir: &Path, name: &str, args: &[&str]) -> (McpServerConfig, PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let mut all = vec!["--log", log.to_str().unwrap()];
    all.extend_from_slice(args);
    (stdio(name, &all), log)
}

fn log_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Wait until `log` has a line starting with `prefix`; that line.
async fn wait_for_line(log: &Path, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(line) = log_lines(log).into_iter().find(|l| l.starts_with(prefix)) {
            return line;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no line {prefix:?} in the log: {:?}",
            log_lines(log)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pids logged as `PREFIX N`.
fn logged_pids(log: &Path, prefix: &str) -> Vec<u32> {
    log_lines(log)
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|pid| pid.trim().parse().unwrap())
        .collect()
}

/// Whether `pid` is a live process (a zombie waiting for its parent counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // `pid (comm) STATE …`; the command may hold spaces and parentheses.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        }
        Err(_) => false,
    }
}

#[track_caller]
fn wait_dead_blocking(pid: u32) {
    let start = Instant::now();
    while alive(pid) {
        assert!(start.elapsed() < PATIENCE, "process {pid} is still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("arguments are an object"),
    }
}

#[tokio::test]
async fn stdio_tools_are_namespaced_with_their_schemas() {
    let mcp = Mcp::new(vec![stdio("fx", &[])]);
    assert!(!mcp.is_empty());
    let (tools, notices) = mcp.tools().await;
    assert_eq!(notices, vec![]);
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fx__add",
            "fx__crash",
            "fx__echo",
            "fx__env",
            "fx__fail",
            "fx__hostile",
            "fx__image",
            "fx__slow"
        ]
    );
    let echo = tools.iter().find(|t| t.name == "fx__echo").unwrap();
    assert_eq!((echo.server.as_str(), echo.tool.as_str()), ("fx", "echo"));
    assert_eq!(
        echo.to_api(),
        json!({
            "name": "fx__echo",
            "description": "Return the text given",
            "input_schema": {
                "type": "object",
                "properties": {"text": {"type": "string", "description": "What to return"}},
                "required": ["text"]
            }
        })
    );
    let statuses = mcp.statuses().await;
    assert_eq!(statuses[0].state, ServerState::Up);
    let pid = statuses[0].pid.unwrap();
    assert!(alive(pid));
    mcp.shutdown().await;
    wait_dead_blocking(pid);
}

#[tokio::test]
async fn a_tool_whose_name_cannot_fit_is_left_out_with_a_warning_once() {
    let mcp = Mcp::new(vec![stdio("fx", &["--long-tool-name"])]);
    let (tools, notices) = mcp.tools().await;
    assert_eq!(tools.len(), TOOLS, "the long one is left out");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].server, "fx");
    assert!(
        notices[0].message.contains("a_tool_whose_name") && notices[0].message.contains("64"),
        "{notices:?}"
    );
    let (_, again) = mcp.tools().await;
    assert_eq!(again, vec![], "reported once");
    mcp.shutdown().await;
}

#[tokio::test]
async fn calls_return_text_images_and_error_results() {
    let mcp = Mcp::new(vec![stdio("fx", &[])]);
    // A call starts the server by itself.
    let echo = mcp
        .call("fx__echo", args(json!({"text": "hello there"})))
        .await
        .unwrap();
    assert!(!echo.is_error);
    assert_eq!(
        echo.content,
        vec![json!({"type": "text", "text": "hello there"})]
    );
    assert_eq!(echo.summary, "hello there");

    let sum = mcp
        .call("fx__add", args(json!({"a": 2, "b": 3.5})))
        .await
        .unwrap();
    assert_eq!(sum.summary, "5.5");

    let failed = mcp.call("fx__fail", Map::new()).await.unwrap();
    assert!(failed.is_error);
    assert_eq!(failed.summary, "the tool failed, as asked");

    let image = mcp.call("fx__image", Map::new()).await.unwrap();
    assert_eq!(
        image.content[1],
        json!({"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": TINY_PNG
        }})
    );
    assert_eq!(image.summary, "a tiny image:\n[image image/png 70 B]");

    let refused = mcp.call("fx__echo", Map::new()).await.unwrap_err();
    assert!(
        matches!(&refused, McpError::ToolFailed { server, tool, message }
            if server == "fx" && tool == "echo" && message.contains("echo needs text")),
        "{refused:?}"
    );
    let unknown = mcp.call("fx__nope", Map::new()).await.unwrap_err();
    assert!(
        matches!(unknown, McpError::NotConfigured(ref n) if n == "fx__nope"),
        "{unknown}"
    );
    let elsewhere = mcp.call("other__echo", Map::new()).await.unwrap_err();
    assert!(
        matches!(elsewhere, McpError::NotConfigured(_)),
        "{elsewhere}"
    );
    mcp.shutdown().await;
}

#[tokio::test]
async fn dropping_a_call_cancels_it_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = logged(dir.path(), "fx", &[]);
    let mcp = Mcp::new(vec![config]);
    {
        let call = mcp.call("fx__slow", args(json!({"ms": 600_000})));
        tokio::select! {
            result = call => panic!("the slow call ended: {result:?}"),
            _ = wait_for_line(&log, "slow started") => {}
        }
        // The call's future is dropped here, as when the user presses Esc.
    }
    wait_for_line(&log, "slow cancelled").await;
    // The server is still up and answers the next call.
    let echo = mcp
        .call("fx__echo", args(json!({"text": "still here"})))
        .await
        .unwrap();
    assert_eq!(echo.summary, "still here");
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_call_past_its_timeout_is_cancelled_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, log) = logged(dir.path(), "fx", &[]);
    config.call_timeout = Duration::from_millis(300);
    let mcp = Mcp::new(vec![config]);
    let error = mcp
        .call("fx__slow", args(json!({"ms": 600_000})))
        .await
        .unwrap_err();
    assert!(
        matches!(error, McpError::Timeout { ref server, after } if server == "fx"
            && after == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(error.to_string().contains("call_timeout_secs"), "{error}");
    wait_for_line(&log, "slow cancelled").await;
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_crashed_server_is_reported_with_its_stderr_and_restarted_on_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = logged(dir.path(), "fx", &[]);
    let mcp = Mcp::new(vec![config]);
    let (tools, _) = mcp.tools().await;
    let first = mcp.statuses().await[0].pid.unwrap();

    let error = mcp.call("fx__crash", Map::new()).await.unwrap_err();
    match &error {
        McpError::Crashed {
            server,
            stderr_tail,
        } => {
            assert_eq!(server, "fx");
            assert!(stderr_tail.contains(CRASH_STDERR), "{stderr_tail:?}");
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains(&format!("stderr: {CRASH_STDERR}")),
        "{error}"
    );
    wait_dead_blocking(first);
    let status = &mcp.statuses().await[0];
    assert!(
        matches!(status.state, ServerState::Crashed(_)),
        "{status:?}"
    );
    let (still_listed, notices) = mcp.tools().await;
    assert_eq!(
        still_listed, tools,
        "its tools stay offered until the next call"
    );
    assert_eq!(notices, vec![]);

    let echo = mcp
        .call("fx__echo", args(json!({"text": "back"})))
        .await
        .unwrap();
    assert_eq!(echo.summary, "back");
    let second = mcp.statuses().await[0].pid.unwrap();
    assert_ne!(first, second, "a new process");
    assert_eq!(logged_pids(&log, "started pid "), vec![first, second]);
    mcp.shutdown().await;
    wait_dead_blocking(second);
}

#[tokio::test]
async fn a_command_that_does_not_exist_is_reported_once_and_the_other_server_works() {
    let missing = server(
        "gone",
        McpTransport::Stdio {
            command: "tern-test-no-such-command".into(),
            args: vec![],
            env: BTreeMap::new(),
            cwd: None,
        },
    );
    let mcp = Mcp::new(vec![missing, stdio("fx", &[])]);
    let (tools, notices) = mcp.tools().await;
    assert_eq!(tools.len(), TOOLS, "the working server's tools");
    assert!(tools.iter().all(|t| t.server == "fx"));
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].server, "gone");
    assert_eq!(
        notices[0].message,
        "MCP server gone did not start: command not found: tern-test-no-such-command — is it \
         installed?"
    );
    let (_, again) = mcp.tools().await;
    assert_eq!(again, vec![], "reported once");
    let error = mcp.call("gone__anything", Map::new()).await.unwrap_err();
    assert!(
        matches!(error, McpError::Start { ref server, .. } if server == "gone"),
        "{error}"
    );
    let statuses = mcp.statuses().await;
    assert!(matches!(statuses[0].state, ServerState::Failed(_)));
    assert_eq!(statuses[1].state, ServerState::Up);
    let echo = mcp
        .call("fx__echo", args(json!({"text": "ok"})))
        .await
        .unwrap();
    assert_eq!(echo.summary, "ok");
    mcp.shutdown().await;
}

#[tokio::test]
async fn a_server_that_exits_at_start_is_reported_with_its_stderr_tail() {
    let mcp = Mcp::new(vec![stdio(
        "fx",
        &[
            "--stderr-line",
            "fatal: no such directory /nowhere",
            "--exit-at-start",
            "2",
        ],
    )]);
    let (tools, notices) = mcp.tools().await;
    assert_eq!(tools, vec![]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    let message = &notices[0].message;
    assert!(
        message.starts_with("MCP server fx did not start: "),
        "{message}"
    );
    assert!(
        message.ends_with("\n  stderr: fatal: no such directory /nowhere"),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_that_sends_garbage_is_reported_after_its_startup_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, log) = logged(dir.path(), "fx", &["--garbage"]);
    config.startup_timeout = Duration::from_millis(500);
    let mcp = Mcp::new(vec![config, stdio("ok", &[])]);
    let (tools, notices) = mcp.tools().await;
    assert!(tools.iter().all(|t| t.server == "ok") && tools.len() == TOOLS);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .message
            .contains("did not answer within 0.5 s (startup_timeout_secs"),
        "{notices:?}"
    );
    let pid = logged_pids(&log, "started pid ")[0];
    wait_dead_blocking(pid);
    mcp.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_the_server_and_the_processes_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = logged(dir.path(), "fx", &["--grandchild"]);
    let mcp = Mcp::new(vec![config]);
    mcp.tools().await;
    let server = logged_pids(&log, "started pid ")[0];
    let grandchild = logged_pids(&log, "grandchild pid ")[0];
    assert!(alive(server) && alive(grandchild));
    mcp.shutdown().await;
    wait_dead_blocking(server);
    wait_dead_blocking(grandchild);
    assert_eq!(mcp.statuses().await[0].state, ServerState::NotStarted);
}

#[tokio::test]
async fn dropping_the_last_handle_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = logged(dir.path(), "fx", &["--grandchild"]);
    let mcp = Mcp::new(vec![config]);
    let clone = mcp.clone();
    mcp.tools().await;
    drop(mcp);
    let server = logged_pids(&log, "started pid ")[0];
    let grandchild = logged_pids(&log, "grandchild pid ")[0];
    assert!(alive(server), "a clone still holds it");
    drop(clone);
    wait_dead_blocking(server);
    wait_dead_blocking(grandchild);
}

#[tokio::test]
async fn eager_servers_start_alone() {
    let mut eager = stdio("eager", &[]);
    eager.startup = true;
    let lazy = stdio("lazy", &[]);
    let mut off = stdio("off", &[]);
    off.enabled = false;
    let mcp = Mcp::new(vec![eager, lazy, off]);
    assert_eq!(mcp.start_eager().await, vec![]);
    let states: Vec<ServerState> = mcp.statuses().await.into_iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [
            ServerState::Up,
            ServerState::NotStarted,
            ServerState::Disabled
        ]
    );
    let (tools, _) = mcp.tools().await;
    assert_eq!(tools.len(), 2 * TOOLS, "the disabled server stays off");
    let error = mcp.call("off__echo", Map::new()).await.unwrap_err();
    assert!(matches!(error, McpError::Disabled { .. }), "{error}");
    assert!(!mcp.runs_unasked("eager__echo"), "approve = \"ask\" asks");
    let mut always = stdio("x", &[]);
    always.approve = Approval::Always;
    assert!(Mcp::new(vec![always]).runs_unasked("x__echo"));
    mcp.shutdown().await;
}

#[tokio::test]
async fn http_tools_calls_cancellation_and_headers() {
    let fixture = McpHttpFixture::start(McpFixtureOptions::default(), 0)
        .await
        .unwrap();
    let mut config = server(
        "web",
        McpTransport::Http {
            url: fixture.url().to_owned(),
            headers: BTreeMap::from([("Authorization".into(), "Bearer test-token".into())]),
        },
    );
    config.approve = Approval::Tools(vec!["echo".into()]);
    let mcp = Mcp::new(vec![config]);
    let (tools, notices) = mcp.tools().await;
    assert_eq!(notices, vec![]);
    assert_eq!(tools.len(), TOOLS);
    assert!(tools.iter().any(|t| t.name == "web__slow"));
    assert!(mcp.runs_unasked("web__echo") && !mcp.runs_unasked("web__slow"));

    let echo = mcp
        .call("web__echo", args(json!({"text": "over http"})))
        .await
        .unwrap();
    assert_eq!(echo.summary, "over http");
    assert!(
        fixture
            .events()
            .contains(&"authorization Bearer test-token".to_owned()),
        "{:?}",
        fixture.events()
    );
    let failed = mcp.call("web__fail", Map::new()).await.unwrap();
    assert!(failed.is_error);

    {
        let call = mcp.call("web__slow", args(json!({"ms": 600_000})));
        tokio::select! {
            result = call => panic!("the slow call ended: {result:?}"),
            () = wait_for_event(&fixture, "slow started") => {}
        }
    }
    wait_for_event(&fixture, "slow cancelled").await;
    mcp.shutdown().await;
    fixture.shutdown();
}

#[tokio::test]
async fn an_http_server_that_is_not_there_is_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let mcp = Mcp::new(vec![server(
        "web",
        McpTransport::Http {
            url: url.clone(),
            headers: BTreeMap::from([("Authorization".into(), "Bearer secret-value".into())]),
        },
    )]);
    let (tools, notices) = mcp.tools().await;
    assert_eq!(tools, vec![]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .message
            .starts_with("MCP server web did not start: "),
        "{notices:?}"
    );
    assert!(!notices[0].message.contains("secret-value"), "{notices:?}");
}

async fn wait_for_event(fixture: &McpHttpFixture, event: &str) {
    let start = Instant::now();
    while !fixture.events().iter().any(|e| e == event) {
        assert!(
            start.elapsed() < PATIENCE,
            "no event {event:?}: {:?}",
            fixture.events()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A home whose config has the fixture on stdio (logging to `fx.log` there, with a
/// grandchild) and a server that is not installed.
fn home_with_servers() -> (cli::Home, PathBuf, PathBuf) {
    let home = cli::Home::offline();
    let log = home.path().join("fx.log");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[mcp_servers.fx]\ncommand = {FIXTURE:?}\nargs = [\"mcp-stdio\", \"--log\", {:?}, \
             \"--grandchild\"]\n\n[mcp_servers.gone]\ncommand = \"tern-test-no-such-command\"\n",
            log.to_str().unwrap()
        ),
    )
    .unwrap();
    (home, config, log)
}

#[test]
fn tern_mcp_list_shows_servers_and_tools_and_leaves_no_process() {
    let (home, config, log) = home_with_servers();
    let config = config.to_str().unwrap();
    let run = home.run(&["--config", config, "mcp", "list"]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "a server failed: {}",
        run.stderr()
    );
    let out = run.stdout();
    assert!(
        out.contains(&format!("fx (stdio: {FIXTURE} mcp-stdio --log ")),
        "{out}"
    );
    assert!(out.contains("): up, 8 tools\n"), "{out}");
    assert!(
        out.contains("  fx__echo     Return the text given\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "gone (stdio: tern-test-no-such-command): failed\n  MCP server gone did not start: \
             command not found: tern-test-no-such-command — is it installed?\n"
        ),
        "{out}"
    );
    for pid in logged_pids(&log, "started pid ")
        .into_iter()
        .chain(logged_pids(&log, "grandchild pid "))
    {
        wait_dead_blocking(pid);
    }

    let run = home.run(&["--config", config, "mcp", "list", "--json"]);
    let json = run.json();
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers[0]["name"], "fx");
    assert_eq!(servers[0]["state"], "up");
    assert_eq!(servers[0]["transport"], "stdio");
    assert_eq!(servers[0]["message"], Value::Null);
    assert_eq!(servers[0]["tools"][2]["name"], "fx__echo");
    assert_eq!(servers[0]["tools"][2]["tool"], "echo");
    assert_eq!(
        servers[0]["tools"][2]["input_schema"]["required"],
        json!(["text"])
    );
    assert_eq!(servers[1]["state"], "failed");
    assert!(
        servers[1]["message"]
            .as_str()
            .unwrap()
            .contains("command not found")
    );
    assert_eq!(json["warnings"], json!([]));
    assert_eq!(logged_pids(&log, "started pid ").len(), 2);
    for pid in logged_pids(&log, "started pid ")
        .into_iter()
        .chain(logged_pids(&log, "grandchild pid "))
    {
        wait_dead_blocking(pid);
    }
}

#[test]
fn tern_mcp_call_prints_the_result_and_fails_on_an_error() {
    let (home, config, log) = home_with_servers();
    let config = config.to_str().unwrap();
    let run = home.run(&[
        "--config",
        config,
        "mcp",
        "call",
        "fx",
        "echo",
        r#"{"text":"hi"}"#,
    ]);
    run.success();
    assert_eq!(run.stdout(), "hi\n");
    assert_eq!(run.stderr(), "");
    assert_eq!(
        logged_pids(&log, "started pid ").len(),
        1,
        "only the server called is started"
    );

    let run = home.run(&["--config", config, "mcp", "call", "fx", "fail"]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stdout(), "the tool failed, as asked\n");
    assert_eq!(run.stderr(), "tern: fx__fail reported an error\n");

    let run = home.run(&["--config", config, "mcp", "call", "fx", "echo", "[1]"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.one_error_line().contains("a JSON object"));

    let run = home.run(&["--config", config, "mcp", "call", "nope", "echo"]);
    assert_eq!(run.status.code(), Some(1));
    let line = run.one_error_line();
    assert!(
        line.contains("no server is called nope; the servers are fx, gone"),
        "{line}"
    );

    let run = home.run(&["--config", config, "mcp", "call", "gone", "x"]);
    assert!(run.one_error_line().contains("command not found"));

    for pid in logged_pids(&log, "started pid ")
        .into_iter()
        .chain(logged_pids(&log, "grandchild pid "))
    {
        wait_dead_blocking(pid);
    }
}

#[test]
fn sigterm_during_tern_mcp_call_stops_the_server_and_its_children() {
    let (home, config, log) = home_with_servers();
    let mut child = home.spawn(&[
        "--config",
        config.to_str().unwrap(),
        "mcp",
        "call",
        "fx",
        "slow",
        r#"{"ms": 600000}"#,
    ]);
    let start = Instant::now();
    while !log_lines(&log).iter().any(|l| l == "slow started") {
        assert!(start.elapsed() < PATIENCE, "the slow call did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain signal to the child this test started.
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    for pid in logged_pids(&log, "started pid ")
        .into_iter()
        .chain(logged_pids(&log, "grandchild pid "))
    {
        wait_dead_blocking(pid);
    }
}

#[tokio::test]
async fn an_http_server_that_goes_away_mid_call_is_reported_not_waited_for() {
    let fixture = McpHttpFixture::start(McpFixtureOptions::default(), 0)
        .await
        .unwrap();
    let config = server(
        "web",
        McpTransport::Http {
            url: fixture.url().to_owned(),
            headers: BTreeMap::new(),
        },
    );
    // Far longer than the reconnection attempts take: the test fails on a timeout.
    assert!(config.call_timeout >= Duration::from_secs(60));
    let mcp = Mcp::new(vec![config]);
    let error = mcp.call("web__crash", Map::new()).await.unwrap_err();
    assert!(
        matches!(error, McpError::Crashed { ref server, .. } if server == "web"),
        "{error:?}"
    );
    // It is tried again on the next call, and this server is gone for good.
    let again = mcp
        .call("web__echo", args(json!({"text": "x"})))
        .await
        .unwrap_err();
    assert!(matches!(again, McpError::Start { .. }), "{again:?}");
}

/// The driver spawns these on its runtime: the handle and its futures must be `Send`.
#[test]
fn the_handle_and_its_futures_can_be_spawned() {
    fn spawnable<T: Send + 'static>(_: T) {}
    fn shared<T: Send + Sync + Clone + 'static>(_: &T) {}
    let mcp = Mcp::new(vec![stdio("fx", &[])]);
    shared(&mcp);
    let m = mcp.clone();
    spawnable(async move { m.tools().await });
    let m = mcp.clone();
    spawnable(async move { m.call("fx__echo", Map::new()).await });
    let m = mcp.clone();
    spawnable(async move { m.start_eager().await });
    let m = mcp.clone();
    spawnable(async move { m.shutdown().await });
    spawnable(async move { mcp.statuses().await });
}

#[tokio::test]
async fn a_stdio_server_gets_its_env_added_and_its_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = stdio("fx", &[]);
    let McpTransport::Stdio { env, cwd, .. } = &mut config.transport else {
        unreachable!()
    };
    env.insert("TERN_TEST_VALUE".into(), "forty two".into());
    *cwd = Some(dir.path().to_owned());
    let mcp = Mcp::new(vec![config]);
    let output = mcp
        .call("fx__env", args(json!({"name": "TERN_TEST_VALUE"})))
        .await
        .unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        output.summary,
        format!("TERN_TEST_VALUE=forty two\ncwd={}", cwd.display())
    );
    // tern's own environment is kept.
    let path = mcp
        .call("fx__env", args(json!({"name": "PATH"})))
        .await
        .unwrap();
    assert!(
        path.summary
            .starts_with(&format!("PATH={}", std::env::var("PATH").unwrap()))
    );
    mcp.shutdown().await;

    let mut missing = stdio("fx", &[]);
    if let McpTransport::Stdio { cwd, .. } = &mut missing.transport {
        *cwd = Some(dir.path().join("nowhere"));
    }
    let (_, notices) = Mcp::new(vec![missing]).tools().await;
    assert!(
        notices[0].message.contains("nowhere is not a directory"),
        "{notices:?}"
    );
}

#[test]
fn tern_mcp_call_over_http_sends_the_headers() {
    let fixture = McpHttpFixture::start_background(McpFixtureOptions::default(), 0).unwrap();
    let home = cli::Home::offline();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[mcp_servers.web]\nurl = {:?}\nheaders = {{ Authorization = \"Bearer from-config\" }}\n",
            fixture.url()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run = home.run(&[
        "--config",
        config,
        "mcp",
        "call",
        "web",
        "add",
        r#"{"a": 1, "b": 2}"#,
    ]);
    run.success();
    assert_eq!(run.stdout(), "3\n");
    assert!(
        fixture
            .events()
            .contains(&"authorization Bearer from-config".to_owned()),
        "{:?}",
        fixture.events()
    );
    let run = home.run(&["--config", config, "mcp", "list"]);
    run.success();
    assert!(
        run.stdout().starts_with(&format!(
            "web (http: {}): up, {TOOLS} tools\n",
            fixture.url()
        )),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains("from-config") && !run.stderr().contains("from-config"));
}
