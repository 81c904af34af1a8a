//! `tern mcp list` and `tern mcp call`: the configured servers checked by hand, outside the app.
//!
//! Both start servers, so both stop them before returning, also on Ctrl+C or SIGTERM: no
//! server outlives the command. Whatever a server sent is printed through `crate::sanitize`.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use super::{Mcp, McpError, ServerState, ServerStatus};
use crate::config::McpServerConfig;
use crate::format::fit;
use crate::{sanitize, term_eprintln};

/// `tern mcp …`.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Start every enabled server and list it with its state and tools
    List {
        /// One JSON object: {"servers": [{name, transport, target, enabled, state, message,
        /// tools: [{name, tool, description, input_schema}]}], "warnings": [...]}
        #[arg(long)]
        json: bool,
    },
    /// Call one tool of one server and print its result's text
    Call {
        /// The server's name (its [mcp_servers.NAME] table)
        server: String,
        /// The tool's name as the server gives it (without the `server__` prefix)
        tool: String,
        /// The arguments, a JSON object
        #[arg(default_value = "{}")]
        arguments: String,
    },
}

/// The widest a tool's description is shown in `tern mcp list`.
const DESCRIPTION_WIDTH: usize = 80;

/// Run `command` against the configured `servers`. Exit 0 when it worked, 1 when a server
/// failed or the tool reported an error, 2 for a usage error, 130/143 on a signal.
pub async fn run(servers: Vec<McpServerConfig>, command: &McpCommand) -> ExitCode {
    let mcp = Mcp::new(servers);
    let code = tokio::select! {
        code = run_with(&mcp, command) => code,
        code = signalled() => code,
    };
    mcp.shutdown().await;
    code
}

/// The exit code of the first of SIGINT or SIGTERM.
async fn signalled() -> ExitCode {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            return tokio::select! {
                _ = int.recv() => ExitCode::from(130),
                _ = term.recv() => ExitCode::from(143),
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::from(130)
}

async fn run_with(mcp: &Mcp, command: &McpCommand) -> ExitCode {
    match command {
        McpCommand::List { json } => list(mcp, *json).await,
        McpCommand::Call {
            server,
            tool,
            arguments,
        } => call(mcp, server, tool, arguments).await,
    }
}

async fn list(mcp: &Mcp, as_json: bool) -> ExitCode {
    let (_, notices) = mcp.tools().await;
    let statuses = mcp.statuses().await;
    let failed = statuses
        .iter()
        .any(|s| matches!(s.state, ServerState::Failed(_) | ServerState::Crashed(_)));
    // A server's failure is in its entry; the other notices are warnings (tools left out).
    let warnings: Vec<_> = notices
        .iter()
        .filter(|n| {
            statuses
                .iter()
                .any(|s| s.name == n.server && s.state == ServerState::Up)
        })
        .collect();
    if as_json {
        let document = json!({
            "servers": statuses.iter().map(status_json).collect::<Vec<_>>(),
            "warnings": warnings
                .iter()
                .map(|n| json!({"server": n.server, "message": n.message}))
                .collect::<Vec<_>>(),
        });
        if let Err(e) = sanitize::print_json(&document.to_string()) {
            term_eprintln!("tern: error: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
    } else {
        for warning in &warnings {
            term_eprintln!("tern: warning: {}", warning.message);
        }
        let text = if statuses.is_empty() {
            "No MCP servers are configured: add a [mcp_servers.NAME] table to the config \
             (command = \"…\" for a local server, url = \"…\" for a remote one).\n"
                .to_owned()
        } else {
            statuses
                .iter()
                .map(status_text)
                .collect::<Vec<_>>()
                .join("\n")
        };
        if let Err(e) = sanitize::print(&text) {
            term_eprintln!("tern: error: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn state_message(state: &ServerState) -> Option<&str> {
    match state {
        ServerState::Failed(message) | ServerState::Crashed(message) => Some(message),
        ServerState::Disabled | ServerState::NotStarted | ServerState::Up => None,
    }
}

fn status_json(status: &ServerStatus) -> Value {
    json!({
        "name": status.name,
        "transport": status.transport,
        "target": status.target,
        "enabled": status.enabled,
        "state": match status.state {
            ServerState::Disabled => "disabled",
            ServerState::NotStarted => "not_started",
            ServerState::Up => "up",
            ServerState::Failed(_) => "failed",
            ServerState::Crashed(_) => "stopped",
        },
        "message": state_message(&status.state),
        "tools": status.tools.iter().map(|t| json!({
            "name": t.name,
            "tool": t.tool,
            "description": t.description,
            "input_schema": t.input_schema,
        })).collect::<Vec<_>>(),
    })
}

/// `files (stdio: npx -y … /tmp): up, 3 tools`, then a line per tool (or the failure).
fn status_text(status: &ServerStatus) -> String {
    let mut text = format!(
        "{} ({}: {}): {}",
        status.name,
        status.transport,
        status.target,
        status.state.label()
    );
    if status.state == ServerState::Up {
        let n = status.tools.len();
        text.push_str(&format!(", {n} tool{}", if n == 1 { "" } else { "s" }));
    }
    text.push('\n');
    if let Some(message) = state_message(&status.state) {
        for line in message.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    let width = status.tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for tool in &status.tools {
        let description = tool
            .description
            .as_deref()
            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            .map(|d| fit(d.trim(), DESCRIPTION_WIDTH))
            .unwrap_or_default();
        text.push_str(format!("  {:<width$}  {description}", tool.name).trim_end());
        text.push('\n');
    }
    text
}

async fn call(mcp: &Mcp, server: &str, tool: &str, arguments: &str) -> ExitCode {
    let arguments = match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            term_eprintln!("tern: error: the arguments must be a JSON object, like '{{\"a\": 1}}'");
            return ExitCode::from(2);
        }
        Err(e) => {
            term_eprintln!("tern: error: the arguments are not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    let name = match mcp.tool_name(server, tool).await {
        Ok(name) => name,
        Err(e) => return failed(&e),
    };
    match mcp.call(&name, arguments).await {
        Ok(output) => {
            let mut text = output.summary;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            if let Err(e) = sanitize::print(&text) {
                term_eprintln!("tern: error: cannot write to stdout: {e}");
                return ExitCode::FAILURE;
            }
            if output.is_error {
                term_eprintln!("tern: {name} reported an error");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn failed(error: &McpError) -> ExitCode {
    term_eprintln!("tern: error: {error}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::ToolSpec;

    #[test]
    fn a_server_as_text() {
        let status = ServerStatus {
            name: "files".into(),
            transport: "stdio",
            target: "npx -y files /tmp".into(),
            enabled: true,
            state: ServerState::Up,
            tools: vec![ToolSpec {
                name: "files__read".into(),
                server: "files".into(),
                tool: "read".into(),
                description: Some("\nRead a file.\nMore words.".into()),
                input_schema: json!({"type": "object"}),
            }],
            pid: None,
        };
        assert_eq!(
            status_text(&status),
            "files (stdio: npx -y files /tmp): up, 1 tool\n  files__read  Read a file.\n"
        );
        let failed = ServerStatus {
            state: ServerState::Failed("did not start\n  stderr: boom".into()),
            tools: Vec::new(),
            ..status
        };
        assert_eq!(
            status_text(&failed),
            "files (stdio: npx -y files /tmp): failed\n  did not start\n    stderr: boom\n"
        );
        assert_eq!(status_json(&failed)["state"], "failed");
    }
}
