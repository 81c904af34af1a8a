//! `tern-fake-server`: the test suite's fake Messages endpoint, run standalone so anyone can try
//! the TUI (and every failure it must handle) without an API key.
//!
//! It prints the environment to point `tern` at it, the scenarios and how to trigger them, then
//! logs one line per request until Ctrl+C. `mcp-stdio` and `mcp-http` serve the fixture MCP
//! server instead (`tern::fake::mcp`), for `[mcp_servers]` without npm.

#![forbid(unsafe_code)]

use std::time::Duration;

use clap::Parser;
use tern::fake::mcp::{McpFixtureOptions, McpHttpFixture};
use tern::fake::{FakeConfig, FakeServer, RecordedRequest, Scenario};

/// Serve a fake Anthropic Messages-compatible API on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(version, after_help = scenario_help())]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accept only this key, as Bearer or x-api-key (default: accept any non-empty key).
    #[arg(long)]
    key: Option<String>,
    /// Scenario for prompts that do not name one.
    #[arg(long, default_value_t = Scenario::Ok)]
    scenario: Scenario,
    /// Delay between streamed deltas, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Answer 404 to GET /v1/models, like gateways without it.
    #[arg(long)]
    no_models_endpoint: bool,
    /// GET /v1/models also lists models whose ids and names hold escape sequences and bidi
    /// characters, like a hostile endpoint.
    #[arg(long)]
    hostile_models: bool,
    /// Answer 404 to POST /v1/messages/count_tokens, like gateways without it.
    #[arg(long)]
    no_count_tokens: bool,
    /// Cache any prefix of at least N tokens (words) at a cache_control breakpoint, instead
    /// of each model's real minimum (1,024 or 4,096); 0 caches every prefix.
    #[arg(long, value_name = "N")]
    cache_min_tokens: Option<u64>,
    /// An extra model id to accept (repeatable), besides the six defaults.
    #[arg(long = "model", value_name = "ID")]
    extra_models: Vec<String>,
    /// Also print each request's whole JSON body (one line), to see what a client sent: its
    /// tools, tool_choice and tool results included.
    #[arg(long)]
    log_bodies: bool,
    #[command(subcommand)]
    mcp: Option<McpMode>,
}

/// The fixture MCP server instead of the Messages endpoint.
#[derive(Debug, clap::Subcommand)]
enum McpMode {
    /// Serve the fixture MCP server on stdin and stdout (`command = "tern-fake-server"`,
    /// `args = ["mcp-stdio"]` in a [mcp_servers.NAME] table)
    McpStdio(McpFixtureOptions),
    /// Serve the fixture MCP server over streamable HTTP on 127.0.0.1 and print its URL
    McpHttp {
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[command(flatten)]
        options: McpFixtureOptions,
    },
}

fn scenario_help() -> String {
    let mut help = String::from(
        "Scenarios (put `scenario:NAME` in a prompt to pick one for that request; \
         `words:N` sets the reply length; call-tool also reads `tool:NAME`, `args:{JSON}`, \
         `calls:N` and `steps:N`, from the prompt that started the tool loop). Any reply starts with a signed thinking block when \
         the request turns thinking on, stops at a stop sequence and at max_tokens:\n",
    );
    for scenario in Scenario::ALL {
        help.push_str(&format!(
            "  {:<16} {}\n",
            scenario.name(),
            scenario.description()
        ));
    }
    help
}

/// How often the request log checks for new requests.
const LOG_POLL: Duration = Duration::from_millis(100);

// One thread serves one user easily (the app itself runs on one).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.mcp {
        Some(McpMode::McpStdio(options)) => return tern::fake::mcp::serve_stdio(options).await,
        Some(McpMode::McpHttp { port, options }) => {
            let server = McpHttpFixture::start_standalone(options, port).await?;
            tern::term_println!("tern fake MCP server listening: url = \"{}\"", server.url());
            tern::term_println!("Ctrl+C to stop.");
            tokio::signal::ctrl_c().await?;
            server.shutdown();
            return Ok(());
        }
        None => {}
    }
    let mut config = FakeConfig {
        port: args.port,
        api_key: args.key.clone(),
        default_scenario: args.scenario,
        delay: Duration::from_millis(args.delay_ms),
        models_endpoint: !args.no_models_endpoint,
        hostile_models: args.hostile_models,
        count_tokens_endpoint: !args.no_count_tokens,
        min_cacheable_tokens: args.cache_min_tokens,
        ..FakeConfig::default()
    };
    config.models.extend(args.extra_models);
    let server = FakeServer::start(config).await?;

    tern::term_println!(
        "tern fake server listening: export APIFREE_BASE_URL={} APIFREE_API_KEY={}",
        server.base_url(),
        args.key.as_deref().unwrap_or("anything")
    );
    tern::term_println!("default scenario: {}", args.scenario);
    tern::sanitize::print(&scenario_help())?;
    tern::term_println!("Ctrl+C to stop.");

    let mut logged = 0;
    let mut poll = tokio::time::interval(LOG_POLL);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = poll.tick() => {
                let requests = server.requests_since(logged);
                for request in &requests {
                    tern::term_println!("{}", log_line(request));
                    if args.log_bodies && let Some(body) = request.json() {
                        // Serialized JSON escapes control characters: safe to print.
                        tern::term_println!("  body {body}");
                    }
                }
                logged += requests.len();
            }
        }
    }
    server.shutdown();
    Ok(())
}

/// `POST /v1/messages model=claude-sonnet-4.5 stream=true "first words of the prompt…"`.
fn log_line(request: &RecordedRequest) -> String {
    let mut line = format!("{} {}", request.method, request.path);
    if let Some(body) = request.json() {
        if let Some(model) = body.get("model").and_then(|m| m.as_str()) {
            line.push_str(&format!(" model={model}"));
        }
        let stream = body
            .get("stream")
            .and_then(|s| s.as_bool())
            .unwrap_or(false);
        line.push_str(&format!(" stream={stream}"));
        let prompt = body
            .get("messages")
            .and_then(|m| m.as_array())
            .and_then(|m| m.last())
            .and_then(|m| m.get("content"))
            .map(|content| match content.as_str() {
                Some(text) => text.to_string(),
                None => content.to_string(),
            })
            .unwrap_or_default();
        // `{:?}` escapes control characters, so a hostile prompt cannot drive this terminal.
        let preview: String = prompt.chars().take(60).collect();
        line.push_str(&format!(" {preview:?}"));
        line.push_str(&tool_summary(&body));
    }
    line
}

/// ` tools=a,b tool_choice=auto results=toolu_1,toolu_2(error)`: the tools offered, the
/// `tool_choice`, and the `tool_result`s the last message sends back (each part only when
/// present), so a tool loop can be followed from the log.
fn tool_summary(body: &serde_json::Value) -> String {
    let mut summary = String::new();
    let names = |blocks: Option<&Vec<serde_json::Value>>, key: &str, kind: Option<&str>| {
        blocks
            .into_iter()
            .flatten()
            .filter(|block| {
                kind.is_none_or(|kind| block.get("type").and_then(|t| t.as_str()) == Some(kind))
            })
            .filter_map(|block| {
                let name = block.get(key)?.as_str()?;
                let failed = block.get("is_error").and_then(|e| e.as_bool()) == Some(true);
                Some(if failed {
                    format!("{name}(error)")
                } else {
                    name.to_string()
                })
            })
            .collect::<Vec<_>>()
    };
    let tools = names(body.get("tools").and_then(|t| t.as_array()), "name", None);
    if !tools.is_empty() {
        summary.push_str(&format!(" tools={}", tools.join(",")));
    }
    if let Some(choice) = body.get("tool_choice") {
        let kind = choice.get("type").and_then(|t| t.as_str()).unwrap_or("?");
        summary.push_str(&format!(" tool_choice={kind}"));
        if let Some(name) = choice.get("name").and_then(|n| n.as_str()) {
            summary.push_str(&format!(":{name}"));
        }
        if choice
            .get("disable_parallel_tool_use")
            .and_then(|d| d.as_bool())
            == Some(true)
        {
            summary.push_str(",one-call");
        }
    }
    let last = body
        .get("messages")
        .and_then(|m| m.as_array())
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .and_then(|c| c.as_array());
    let results = names(last, "tool_use_id", Some("tool_result"));
    if !results.is_empty() {
        summary.push_str(&format!(" results={}", results.join(",")));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_tools_choice_and_results() {
        let body = serde_json::json!({
            "model": "m",
            "tools": [{"name": "files__read_file"}, {"name": "files__list"}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "messages": [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true},
            ]}],
        });
        assert_eq!(
            tool_summary(&body),
            " tools=files__read_file,files__list tool_choice=auto,one-call results=toolu_1,toolu_2(error)"
        );
        assert_eq!(tool_summary(&serde_json::json!({"messages": []})), "");
    }
}
