//! The `tern` binary: parse the command line, load the configuration, dispatch.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use tern::api::{Client, Message, MessagesRequest};
use tern::cli::{Cli, CliCommand};
use tern::config::Config;
use tern::{oneshot, review, term_eprintln, term_println};

fn main() -> ExitCode {
    // Read before any thread starts: the local offset is unavailable to multi-threaded programs.
    let utc_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let cli = Cli::from_env();
    // Commands that only read saved conversations or list models work with a broken config
    // file (built-in defaults and a warning); the app and `-p` refuse it.
    let reads_only = cli.prompt().is_none()
        && matches!(
            cli.command,
            Some(
                CliCommand::List { .. }
                    | CliCommand::Show { .. }
                    | CliCommand::Search { .. }
                    | CliCommand::Export { .. }
                    | CliCommand::Models { .. }
            )
        );
    let loaded = if reads_only {
        Config::load_lenient(&cli.overrides())
    } else {
        Config::load(&cli.overrides())
    };
    let config = match loaded {
        Ok(config) => config,
        Err(e) => {
            term_eprintln!("tern: error: {e}");
            return ExitCode::from(2);
        }
    };
    for warning in &config.warnings {
        term_eprintln!("tern: warning: {warning}");
    }
    // One thread runs the UI and the streams: deltas reach the loop without cross-thread
    // wakeups (measured: a quarter less CPU for a paced reply). Disk writes have their own
    // thread; store reads run on the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            term_eprintln!("tern: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli, config, utc_offset))
}

async fn dispatch(cli: Cli, config: Config, utc_offset: time::UtcOffset) -> ExitCode {
    if let Some(words) = cli.prompt() {
        return print_mode(&cli, &config, &words).await;
    }
    match &cli.command {
        Some(CliCommand::Models { json }) => models(&config, *json).await,
        Some(CliCommand::Mcp { command }) => {
            tern::mcp::cli::run(config.tools.servers.clone(), command).await
        }
        Some(command) => {
            let path = tern::store::Store::default_path();
            let path = path.as_deref();
            let result = match command {
                CliCommand::List { json, limit } => review::list(path, *limit, *json),
                CliCommand::Show { id, json, tree } => review::show(path, id, *json, *tree),
                CliCommand::Search { query, json, limit } => {
                    review::search(path, &query.join(" "), *limit, *json)
                }
                CliCommand::Export {
                    id,
                    format,
                    output,
                    force,
                } => review::export(path, id, *format, output.as_deref(), *force),
                CliCommand::Import { file } => review::import(path, file),
                CliCommand::Models { .. } | CliCommand::Mcp { .. } => {
                    unreachable!("handled above")
                }
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    term_eprintln!("tern: error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            if let Some(problem) = tui_cannot_start(&cli) {
                term_eprintln!("tern: error: {problem}");
                return ExitCode::from(2);
            }
            let start = match (&cli.resume, cli.continue_last) {
                (Some(id), _) => tern::driver::Start::Resume(id.clone()),
                (None, true) => tern::driver::Start::Continue,
                (None, false) => tern::driver::Start::New,
            };
            match tern::driver::run(config, start, utc_offset).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    term_eprintln!("tern: error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Why the full-screen app should not start for this command line, in words that say what to
/// type instead: stray words (a prompt without `-p`, or a mistyped command), or no terminal.
fn tui_cannot_start(cli: &Cli) -> Option<String> {
    use std::io::IsTerminal;
    if !cli.rest.is_empty() {
        let words = cli.rest.join(" ");
        let words = tern::sanitize::strip_controls(&words);
        return Some(format!(
            "`{words}` is not a command (commands: {}); to send it as a prompt, use -p: \
             tern -p \"{words}\"",
            tern::cli::command_names().join(", ")
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Some(
            "stdin is not a terminal, and the full-screen app needs one; \
             to send piped text as a prompt, use -p: echo hi | tern -p"
                .to_owned(),
        );
    }
    if !tern::sanitize::stdout_is_terminal() {
        return Some(
            "stdout is not a terminal, and the full-screen app needs one; \
             for one reply on stdout, use -p: tern -p \"PROMPT\" > reply.txt"
                .to_owned(),
        );
    }
    None
}

async fn client_for(config: &Config) -> Result<Client, tern::api::ApiError> {
    let key = config.resolve_key().await?;
    Client::new(config.client_config(key))
}

fn report(err: &dyn std::fmt::Display, advice: &str) {
    term_eprintln!("tern: error: {err} — {advice}");
}

async fn print_mode(cli: &Cli, config: &Config, words: &str) -> ExitCode {
    if !cli.attach.is_empty() && cli.compare.is_some() {
        term_eprintln!("tern: error: --attach does not go with --compare yet: ask one model");
        return ExitCode::from(2);
    }
    // Files first: a bad one stops the run before anything is read, saved or sent.
    let attached = match oneshot::attach::Attached::prepare(&cli.attach) {
        Ok(attached) => attached,
        Err(e) => {
            term_eprintln!("tern: error: {e}");
            return ExitCode::from(2);
        }
    };
    let prompt = match print_prompt(
        words,
        !attached.is_empty(),
        oneshot::attach::Attached::reads_stdin(&cli.attach),
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(warning) = config.cleartext_warning() {
        term_eprintln!("tern: warning: {warning}");
    }
    let client = match client_for(config).await {
        Ok(c) => c,
        Err(e) => {
            report(&e, e.advice());
            return ExitCode::FAILURE;
        }
    };
    // Caught from here on: a signal after the prompt is saved still saves the reply as stopped.
    let mut interrupts = match oneshot::Interrupts::new() {
        Ok(i) => i,
        Err(e) => {
            term_eprintln!("tern: error: cannot watch for Ctrl+C: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(models) = &cli.compare {
        return compare_mode(cli, config, &prompt, &models.0, &client, &mut interrupts).await;
    }
    // The configured MCP servers start first: their tools go in the request.
    let mcp = tern::mcp::Mcp::new(config.tools.servers.clone());
    let tools = if mcp.is_empty() {
        Vec::new()
    } else {
        match oneshot::tools::start(&mcp, &mut interrupts).await {
            Ok(tools) => tools,
            Err(signal) => {
                mcp.shutdown().await;
                term_eprintln!("tern: stopped by {}", signal.name());
                return ExitCode::from(signal.exit_code());
            }
        }
    };
    let offered: Vec<serde_json::Value> = tools.iter().map(|t| t.to_api()).collect();
    let (mut request, log) = match print_request(cli, config, &prompt, &attached, offered) {
        Ok(started) => started,
        Err(code) => {
            mcp.shutdown().await;
            return code;
        }
    };
    if let Err(e) = attached.resolve(&mut request) {
        mcp.shutdown().await;
        term_eprintln!("tern: error: {e}");
        return ExitCode::FAILURE;
    }
    let allowed = oneshot::tools::Allowed::new(cli.allow_tool.clone());
    let tool_loop = (!tools.is_empty()).then_some(oneshot::tools::ToolLoop {
        mcp: &mcp,
        allowed: &allowed,
        max_steps: config.tools.max_tool_steps,
        max_bytes: config.tools.tool_result_max_bytes,
        prompt_cache: config.request.prompt_cache,
    });
    let max_tokens = request.max_tokens;
    let finished = oneshot::tools::converse(
        &client,
        request,
        !cli.no_stream,
        log,
        &mut interrupts,
        tool_loop,
    )
    .await;
    mcp.shutdown().await;
    if finished.capped {
        return ExitCode::from(oneshot::tools::CAPPED);
    }
    print_exit(&finished.outcome, finished.saved_in.as_deref(), max_tokens)
}

/// The prompt of `-p` (its words after piped stdin, unless stdin was attached); the exit code
/// when there is none (files alone make a prompt).
fn print_prompt(words: &str, files: bool, stdin_attached: bool) -> Result<String, ExitCode> {
    let prompt = if stdin_attached {
        words.trim().to_owned()
    } else {
        match oneshot::gather_prompt(words) {
            Ok(p) => p,
            Err(e) => {
                term_eprintln!("tern: error: cannot read stdin: {e}");
                return Err(ExitCode::FAILURE);
            }
        }
    };
    if prompt.trim().is_empty() && !files {
        term_eprintln!(
            "tern: error: nothing to send: give a prompt after -p or pipe text into tern"
        );
        return Err(ExitCode::from(2));
    }
    Ok(prompt)
}

/// The request for `prompt`, in a new conversation or continuing one (`--resume`,
/// `--continue`), and the log that saves the exchange (none with `--no-save`).
fn print_request(
    cli: &Cli,
    config: &Config,
    prompt: &str,
    attached: &oneshot::attach::Attached,
    tools: Vec<serde_json::Value>,
) -> Result<(MessagesRequest, Option<oneshot::PrintLog>), ExitCode> {
    let store_path = tern::store::Store::default_path();
    let over_limits = |request: &MessagesRequest| {
        tern::attach::check_limits(request).map_err(|e| {
            term_eprintln!("tern: error: {e}");
            ExitCode::from(2)
        })
    };
    let Some(target) = continue_target(cli) else {
        let mut request = oneshot::build_request_with(config, prompt, tools);
        attached.add_to_request(&mut request);
        over_limits(&request)?;
        let log = if cli.no_save {
            None
        } else {
            oneshot::PrintLog::begin(store_path.as_deref(), &request, prompt, attached)
        };
        return Ok((request, log));
    };
    let (request, log) = oneshot::PrintLog::resume(
        store_path.as_deref(),
        target,
        prompt,
        attached,
        cli.no_save,
        |conversation, history| {
            let mut request = oneshot::continue_request_with(
                config,
                &cli.request,
                conversation,
                history,
                prompt,
                tools,
            );
            attached.add_to_request(&mut request);
            tern::attach::set_citations(&mut request, conversation.params.citations);
            request
        },
    )
    .map_err(|e| {
        term_eprintln!("tern: error: {e:#}");
        ExitCode::FAILURE
    })?;
    over_limits(&request)?;
    Ok((request, log))
}

/// The saved conversation `-p` continues (`--resume ID`, `--continue`), if any.
fn continue_target(cli: &Cli) -> Option<oneshot::Continue<'_>> {
    match (&cli.resume, cli.continue_last) {
        (Some(id), _) => Some(oneshot::Continue::Id(id)),
        (None, true) => Some(oneshot::Continue::Latest),
        (None, false) => None,
    }
}

/// `-p --compare`: the prompt to each model at once, each reply shown and saved as a sibling.
async fn compare_mode(
    cli: &Cli,
    config: &Config,
    prompt: &str,
    models: &[String],
    client: &Client,
    interrupts: &mut oneshot::Interrupts,
) -> ExitCode {
    use oneshot::compare::{self, Layout};
    let layout = if cli.json {
        Layout::Json
    } else if cli.columns && tern::sanitize::stdout_is_terminal() {
        Layout::Columns {
            width: tern::sanitize::stdout_columns().unwrap_or(80),
        }
    } else {
        if cli.columns {
            term_eprintln!(
                "tern: note: --columns needs stdout to be a terminal; printing each reply as it finishes"
            );
        }
        Layout::Sections
    };
    let started = compare::start(
        config,
        &cli.request,
        models,
        continue_target(cli),
        prompt,
        cli.no_save,
    );
    let (requests, log) = match started {
        Ok(started) => started,
        Err(e) => {
            term_eprintln!("tern: error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let saved_in = log.as_ref().map(|l| l.conversation_id().to_owned());
    let finished = compare::run(client, &requests, !cli.no_stream, log, interrupts, layout).await;
    let kept = saved_in.map_or(String::new(), |id| {
        format!(
            "; the replies were saved in conversation {}",
            &id[..id.len().min(8)]
        )
    });
    if let Some(signal) = finished.interrupted {
        term_eprintln!("tern: stopped by {}{kept}", signal.name());
    } else if let Some(e) = &finished.output_error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        term_eprintln!("tern: error: cannot write the replies: {e}");
        return ExitCode::FAILURE;
    }
    let failed = finished.answers.iter().filter(|a| a.failed()).count();
    if failed > 0 && finished.interrupted.is_none() && finished.output_error.is_none() {
        term_eprintln!(
            "tern: {failed} of {} models failed{kept}",
            finished.answers.len()
        );
    }
    ExitCode::from(finished.exit_code())
}

/// What `-p` says last and exits with: the signal that stopped it, the error, or success;
/// where the partial reply was saved when one arrived.
fn print_exit(outcome: &oneshot::Outcome, saved_in: Option<&str>, max_tokens: u32) -> ExitCode {
    let arrived = !outcome.message.text().trim().is_empty();
    let kept = match (saved_in, arrived) {
        (Some(id), true) => format!(
            "the partial reply was saved in conversation {}",
            &id[..id.len().min(8)]
        ),
        _ => String::new(),
    };
    if let Some(signal) = outcome.interrupted {
        let kept = if kept.is_empty() {
            String::new()
        } else {
            format!("; {kept}")
        };
        term_eprintln!("tern: stopped by {}{kept}", signal.name());
        return ExitCode::from(signal.exit_code());
    }
    finish_print(&outcome.message, max_tokens);
    match &outcome.error {
        None if outcome.message.stop_reason.as_deref() == Some("refusal") => {
            ExitCode::from(REFUSED)
        }
        None => ExitCode::SUCCESS,
        Some(oneshot::OneShotError::Api(e)) if kept.is_empty() => {
            report(e, e.advice());
            ExitCode::FAILURE
        }
        Some(oneshot::OneShotError::Api(e)) => {
            report(e, &format!("{}; {kept}", e.advice()));
            ExitCode::FAILURE
        }
        // The reader went away (`| head`): it has what it wanted; say nothing, as cat does.
        Some(oneshot::OneShotError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Some(e) => {
            term_eprintln!("tern: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status of `tern -p` when the model declined to answer.
const REFUSED: u8 = 3;

/// Say on stderr why the reply stopped, when it was not a plain end.
fn finish_print(message: &Message, max_tokens: u32) {
    match message.stop_reason.as_deref() {
        Some("max_tokens") => term_eprintln!(
            "tern: note: the reply stopped at max_tokens ({max_tokens}); raise --max-tokens for a longer one"
        ),
        Some("pause_turn") => term_eprintln!(
            "tern: note: the server paused this turn again after {} resumes; `tern -c -p` goes on",
            tern::app::history::MAX_AUTO_RESUMES
        ),
        Some("model_context_window_exceeded") => term_eprintln!(
            "tern: note: the reply filled the model's context window; start a new conversation or use a model with a larger one"
        ),
        Some("refusal") => {
            let field = |name: &str| {
                message
                    .stop_details
                    .as_ref()
                    .and_then(|d| d.get(name))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            let category = field("category").map_or(String::new(), |c| format!(" ({c})"));
            let explanation = field("explanation").map_or(String::new(), |e| format!(": {e}"));
            term_eprintln!("tern: the model declined to answer{category}{explanation}");
            term_eprintln!("tern: rephrase the prompt, or try another model with -m");
        }
        _ => {}
    }
}

async fn models(config: &Config, json: bool) -> ExitCode {
    let mut ids: Vec<String> = Vec::new();
    let mut source = "built-in list";
    if config.has_key()
        && let Ok(client) = client_for(config).await
    {
        if let Some(warning) = config.cleartext_warning() {
            term_eprintln!("tern: warning: {warning}");
        }
        match client.models().await {
            Ok(Some(list)) if !list.is_empty() => {
                ids = list.into_iter().map(|m| m.id).collect();
                source = "the endpoint";
            }
            Ok(Some(_)) => term_eprintln!(
                "tern: note: the endpoint listed no models; showing the built-in list"
            ),
            Ok(None) => term_eprintln!(
                "tern: note: the endpoint has no /v1/models (HTTP 404/405); showing the built-in list"
            ),
            Err(e) => term_eprintln!("tern: note: could not list models from the endpoint: {e}"),
        }
    }
    for spec in &config.models {
        if !ids.contains(&spec.id) {
            ids.push(spec.id.clone());
        }
    }
    if json {
        let doc = serde_json::json!({ "source": source, "models": ids });
        let _ = tern::sanitize::print_json(&doc.to_string());
    } else {
        for id in &ids {
            let mark = if *id == config.model {
                "  (default)"
            } else {
                ""
            };
            term_println!("{id}{mark}");
        }
    }
    ExitCode::SUCCESS
}
