//! `tern -p`: one prompt, one reply on stdout, errors on stderr, a non-zero exit on failure.
//!
//! The reply is written and flushed per delta. When stdout is a terminal, model text goes through
//! [`TermStream`] (see [`crate::sanitize`]) so escape sequences in a reply cannot drive the
//! user's terminal and hidden characters show; when it is a pipe, bytes pass unchanged (the
//! reader asked for the model's exact output).
//!
//! SIGINT and SIGTERM are caught ([`Interrupts`]) rather than left to kill the process: the run
//! stops reading, prints what had already arrived (so what is saved is exactly what was printed),
//! and returns, so the caller saves the reply as stopped and exits 130 or 143 as a killed
//! process would. `-c` / `--resume` send the saved history by the same rule as the app
//! ([`crate::app::history`]).
//!
//! [`PrintLog`] saves the exchange as it happens, as the app does: the prompt and a placeholder
//! reply before the request goes out, the reply so far about once a second, the outcome at the
//! end; a store that cannot be written costs a warning, never the reply.
//!
//! With MCP servers configured, [`tools`] offers their tools and runs the tool loop, a step
//! at a time, each saved as it happens.

use std::io::{IsTerminal, Read};
use std::path::Path;

use crate::api::{
    ApiError, Client, ContentBlock, Delta, Message, MessageStream, MessagesRequest, RequestMessage,
    RetryNotice, StreamEvent,
};
use crate::app::history::Turn;
use crate::cli::RequestArgs;
use crate::config::Config;
use crate::sanitize::TermStream;
use crate::store::{
    Conversation, MessageStatus, Store, StoreError, StoredMessage, data_dir, now_ms,
    title_from_prompt,
};

pub mod attach;
pub mod compare;
pub mod tools;

/// Join the `-p` words with piped stdin (stdin first, then the instruction).
pub fn gather_prompt(words: &str) -> std::io::Result<String> {
    let mut piped = String::new();
    if !std::io::stdin().is_terminal() {
        std::io::stdin().read_to_string(&mut piped)?;
    }
    let piped = piped.trim_end();
    let words = words.trim();
    Ok(match (piped.is_empty(), words.is_empty()) {
        (true, _) => words.to_owned(),
        (false, true) => piped.to_owned(),
        (false, false) => format!("{piped}\n\n{words}"),
    })
}

/// The request for a new conversation: everything from the configuration (flags included),
/// by the API's rules for the model ([`crate::config::apply_rules`]; its notes go to stderr).
pub fn build_request(config: &Config, prompt: &str) -> MessagesRequest {
    build_request_with(config, prompt, Vec::new())
}

/// [`build_request`] offering `tools` (request entries) by the configured `tool_choice`.
pub fn build_request_with(
    config: &Config,
    prompt: &str,
    tools: Vec<serde_json::Value>,
) -> MessagesRequest {
    let mut request = MessagesRequest {
        model: config.model.clone(),
        messages: vec![RequestMessage::user(prompt)],
        system: config
            .system
            .clone()
            .map(crate::api::types::SystemPrompt::Text),
        max_tokens: config.max_tokens,
        temperature: config.temperature,
        top_p: config.top_p,
        top_k: config.request.top_k,
        stop_sequences: stops(config.request.stop_sequences.clone()),
        ..Default::default()
    };
    finish_request(
        config,
        &mut request,
        tools,
        config.request.thinking,
        config.request.effort,
    );
    request
}

fn stops(list: Vec<String>) -> Option<Vec<String>> {
    (!list.is_empty()).then_some(list)
}

/// The configuration's fixed fields, the tools, then thinking and effort by the model's
/// capabilities; what the rules changed is said on stderr.
fn finish_request(
    config: &Config,
    request: &mut MessagesRequest,
    tools: Vec<serde_json::Value>,
    thinking: crate::config::Thinking,
    effort: Option<crate::config::Effort>,
) {
    config.fixed_fields(request);
    crate::app::tools::offer(
        request,
        tools,
        &config.tools.tool_choice,
        config.tools.disable_parallel_tool_use,
    );
    let caps = config.capabilities(&request.model);
    for note in crate::config::apply_rules(request, thinking, effort, &caps) {
        crate::term_eprintln!("tern: note: {note}");
    }
    crate::app::cache::place_cache_breakpoints(request, config.request.prompt_cache);
}

/// The request that continues a saved conversation: its whole history, every block (by the rule in
/// [`crate::app::history`]) and then `prompt`. Model, system prompt and parameters come from the
/// flags, else from the conversation, else (max tokens) from the configuration; `metadata`,
/// `service_tier` and `extra_body` always from the configuration.
pub fn continue_request(
    config: &Config,
    flags: &RequestArgs,
    conversation: &Conversation,
    history: &[StoredMessage],
    prompt: &str,
) -> MessagesRequest {
    continue_request_with(config, flags, conversation, history, prompt, Vec::new())
}

/// [`continue_request`] offering `tools` (request entries) by the configured `tool_choice`.
pub fn continue_request_with(
    config: &Config,
    flags: &RequestArgs,
    conversation: &Conversation,
    history: &[StoredMessage],
    prompt: &str,
    tools: Vec<serde_json::Value>,
) -> MessagesRequest {
    let prompt = [crate::api::ContentBlock::text(prompt)];
    let turns = history
        .iter()
        .map(|m| Turn {
            role: m.role,
            content: &m.content,
            model: m.model.as_deref(),
            refused: m.stop_reason.as_deref() == Some("refusal"),
        })
        .chain([Turn {
            role: crate::api::Role::User,
            content: &prompt,
            model: None,
            refused: false,
        }]);
    let params = &conversation.params;
    let model = flags
        .model
        .clone()
        .or_else(|| conversation.last_model.clone())
        .unwrap_or_else(|| config.model.clone());
    let mut request = MessagesRequest {
        messages: crate::app::history::request_messages(turns, &model),
        model,
        system: flags
            .system
            .clone()
            .or_else(|| conversation.system.clone())
            .filter(|s| !s.trim().is_empty())
            .map(crate::api::types::SystemPrompt::Text),
        max_tokens: flags
            .max_tokens
            .or(params.max_tokens)
            .unwrap_or(config.max_tokens),
        temperature: flags.temperature.or(params.temperature),
        top_p: flags.top_p.or(params.top_p),
        top_k: flags.top_k.or(params.top_k),
        stop_sequences: stops(if flags.stop.is_empty() {
            params.stop_sequences.clone()
        } else {
            flags.stop.clone()
        }),
        ..Default::default()
    };
    let thinking = flags.thinking.unwrap_or(params.thinking);
    finish_request(
        config,
        &mut request,
        tools,
        thinking,
        flags.effort.or(params.effort),
    );
    request
}

/// Which saved conversation `tern -c -p` / `tern --resume ID -p` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue<'a> {
    /// The most recently updated one (`-c`).
    Latest,
    /// The one whose id starts with this (`--resume ID`).
    Id(&'a str),
}

fn resolve_target(store: &Store, target: Continue<'_>) -> anyhow::Result<String> {
    match target {
        Continue::Id(prefix) => Ok(store.resolve(prefix)?),
        Continue::Latest => store.most_recent()?.ok_or_else(|| {
            anyhow::anyhow!(
                "there is no saved conversation to continue; start one with `tern -p \"...\"`"
            )
        }),
    }
}

/// Saves a `tern -p` exchange: the prompt before the request, the reply after.
pub struct PrintLog {
    store: Store,
    reply: StoredMessage,
    /// The results of the reply's tool calls, once saved ([`tools`]).
    results: Option<StoredMessage>,
}

impl PrintLog {
    /// Write the conversation and the user's message; `None` (with a warning) if the store fails.
    pub fn begin(
        path: Option<&Path>,
        request: &MessagesRequest,
        prompt: &str,
        attached: &attach::Attached,
    ) -> Option<PrintLog> {
        let attempt = || -> Result<PrintLog, StoreError> {
            let mut store = Store::open(data_dir(path)?)?;
            let title = match attached.files.first() {
                Some(file) if prompt.trim().is_empty() => &file.attachment.name,
                _ => prompt,
            };
            let conversation = new_conversation(request, title);
            store.create_conversation(&conversation)?;
            attached.save(&mut store)?;
            let mut user = StoredMessage::user(conversation.id.clone(), 0, prompt);
            attached.add_to_message(&mut user);
            store.upsert_message(&user)?;
            let mut reply = StoredMessage::assistant_streaming(
                conversation.id.clone(),
                1,
                request.model.clone(),
            );
            reply.parent_id = Some(user.id.clone());
            store.upsert_message(&reply)?;
            Ok(PrintLog {
                store,
                reply,
                results: None,
            })
        };
        saved_or_warned(attempt())
    }

    /// Continue a saved conversation: `build` makes the request from it and its history, and
    /// (unless `no_save`) the prompt and a placeholder reply are appended in the same
    /// transaction that read the history, so another tern writing the same conversation can
    /// never slip a turn in between. Returns the request and the log that saves the reply
    /// (`None` when not saving, or, with a warning, when the store is read-only).
    pub fn resume(
        path: Option<&Path>,
        target: Continue<'_>,
        prompt: &str,
        attached: &attach::Attached,
        no_save: bool,
        build: impl FnOnce(&Conversation, &[StoredMessage]) -> MessagesRequest,
    ) -> anyhow::Result<(MessagesRequest, Option<PrintLog>)> {
        if !no_save {
            match data_dir(path).and_then(Store::open) {
                Ok(mut store) => {
                    let id = resolve_target(&store, target)?;
                    attached.save(&mut store)?;
                    let (_, _, (request, reply)) =
                        store.append_after_load(&id, |conversation, history, seq| {
                            let request = build(conversation, history);
                            let mut user =
                                StoredMessage::user(conversation.id.clone(), seq, prompt);
                            attached.add_to_message(&mut user);
                            user.parent_id = history.last().map(|m| m.id.clone());
                            let mut reply = StoredMessage::assistant_streaming(
                                conversation.id.clone(),
                                seq + 1,
                                request.model.clone(),
                            );
                            reply.parent_id = Some(user.id.clone());
                            (vec![user, reply.clone()], (request, reply))
                        })?;
                    return Ok((
                        request,
                        Some(PrintLog {
                            store,
                            reply,
                            results: None,
                        }),
                    ));
                }
                Err(e @ StoreError::ReadOnly { .. }) => {
                    crate::term_eprintln!("tern: warning: this exchange is not saved: {e}");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let store = Store::open_for_reading(data_dir(path)?)?;
        let id = resolve_target(&store, target)?;
        let (conversation, history) = store.load(&id)?;
        Ok((build(&conversation, &history), None))
    }

    /// The conversation the exchange is saved in.
    pub fn conversation_id(&self) -> &str {
        &self.reply.conversation_id
    }

    /// Record the outcome: the (possibly partial) reply, how it ended and, on failure, the error.
    pub fn finish(mut self, message: &Message, status: MessageStatus, error: Option<&ApiError>) {
        self.record(message, status, error);
    }

    /// Save the reply so far (still streaming), so a crash loses at most the last second.
    pub fn progress(&mut self, partial: &Message) {
        self.record(partial, MessageStatus::Streaming, None);
    }

    fn record(&mut self, message: &Message, status: MessageStatus, error: Option<&ApiError>) {
        record_reply(&mut self.store, &mut self.reply, message, status, error);
    }
}

/// A new conversation for `prompt`, its system prompt and parameters those of `request`.
fn new_conversation(request: &MessagesRequest, prompt: &str) -> Conversation {
    let mut conversation = Conversation::new(title_from_prompt(prompt));
    conversation.system = request.system.as_ref().and_then(|s| s.text());
    conversation.params.max_tokens = Some(request.max_tokens);
    conversation.params.temperature = request.temperature;
    conversation.params.top_p = request.top_p;
    conversation.params.top_k = request.top_k;
    conversation.params.stop_sequences = request.stop_sequences.clone().unwrap_or_default();
    conversation.params.thinking = match request.thinking {
        Some(crate::api::types::ThinkingParam::Enabled { budget_tokens }) => {
            crate::config::Thinking::Budget(budget_tokens)
        }
        Some(crate::api::types::ThinkingParam::Adaptive) => crate::config::Thinking::Adaptive,
        _ => crate::config::Thinking::Off,
    };
    conversation.params.effort = request
        .output_config
        .as_ref()
        .and_then(|o| o.effort.as_deref()?.parse().ok());
    conversation.last_model = Some(request.model.clone());
    conversation
}

/// Save `message` as the snapshot of `reply` (how it ended: `status`, `error`); a failed
/// write costs a warning.
fn record_reply(
    store: &mut Store,
    reply: &mut StoredMessage,
    message: &Message,
    status: MessageStatus,
    error: Option<&ApiError>,
) {
    reply.content = message.content.clone();
    if message.usage != Default::default() {
        reply.usage = Some(message.usage);
    }
    reply.stop_reason = message.stop_reason.clone();
    reply.status = status;
    reply.error = error.map(|e| crate::app::ErrorInfo::from_api(e).to_stored());
    reply.updated_at = now_ms();
    if let Err(e) = store.upsert_message(reply) {
        crate::term_eprintln!("tern: warning: the reply was not saved: {e}");
    }
}

/// The log that saves the exchange, or `None` after a warning that it is not saved (a
/// failed save never stops the reply from printing).
pub(crate) fn saved_or_warned<T>(attempt: Result<T, StoreError>) -> Option<T> {
    match attempt {
        Ok(log) => Some(log),
        Err(e) => {
            crate::term_eprintln!("tern: warning: this exchange is not saved: {e}");
            None
        }
    }
}

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl+C).
    Int,
    /// SIGTERM.
    Term,
}

impl Interrupt {
    /// The exit code of a process the signal killed (128 + its number), as shells expect.
    pub fn exit_code(self) -> u8 {
        match self {
            Interrupt::Int => 130,
            Interrupt::Term => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Int => "SIGINT",
            Interrupt::Term => "SIGTERM",
        }
    }
}

/// SIGINT and SIGTERM, caught from creation on (create it before anything is saved).
pub struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    pub fn new() -> std::io::Result<Interrupts> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Interrupts {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupts {})
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Interrupt {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => Interrupt::Int,
                _ = self.term.recv() => Interrupt::Term,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Interrupt::Int
        }
    }
}

/// What ends a run early: a signal caught by [`Interrupts`], or (for `--compare`) the one that
/// stopped every model.
pub(crate) trait Stop {
    /// The signal, once it comes.
    async fn signal(&mut self) -> Interrupt;
}

impl Stop for Interrupts {
    async fn signal(&mut self) -> Interrupt {
        self.recv().await
    }
}

/// Where a run writes the reply text as it arrives.
pub(crate) trait Sink {
    /// Write `text` (from the model).
    fn write(&mut self, text: &str) -> std::io::Result<()>;
    /// Whether anything was written yet.
    fn wrote(&self) -> bool;
    /// The reply ended.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes reply text to stdout (sanitised when stdout is a terminal) and ends it with a newline.
struct Output {
    out: TermStream,
    ends_with_newline: bool,
    wrote: bool,
}

impl Output {
    fn new() -> Self {
        Output {
            out: TermStream::stdout(),
            ends_with_newline: true,
            wrote: false,
        }
    }
}

impl Sink for Output {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        let written = self.out.write(text)?;
        if !written.is_empty() {
            self.ends_with_newline = written.ends_with('\n');
            self.wrote = true;
        }
        Ok(())
    }

    fn wrote(&self) -> bool {
        self.wrote
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.wrote && !self.ends_with_newline {
            self.write("\n")?;
        }
        Ok(())
    }
}

/// Why a one-shot run failed.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("cannot write the reply: {0}")]
    Io(#[from] std::io::Error),
}

/// The outcome: the message (complete, or partial on error or signal) and the error if any.
pub struct Outcome {
    pub message: Message,
    pub error: Option<OneShotError>,
    /// The signal that stopped the run; `message` is then what was printed.
    pub interrupted: Option<Interrupt>,
}

impl Outcome {
    /// The server paused the turn (a long server-tool run) and it ended cleanly.
    pub fn paused(&self) -> bool {
        self.error.is_none()
            && self.interrupted.is_none()
            && self.message.stop_reason.as_deref() == Some("pause_turn")
    }

    /// `request` again with this paused reply as its final message, as it arrived, so the
    /// server finishes the turn.
    pub fn resume_request(&self, request: &MessagesRequest) -> MessagesRequest {
        let mut resume = request.clone();
        resume
            .messages
            .push(crate::api::RequestMessage::assistant_blocks(
                self.message.content.clone(),
            ));
        resume
    }

    /// This reply continued by `more`: its blocks and usage added, and how `more` ended.
    pub fn then(self, more: Outcome) -> Outcome {
        let mut message = more.message;
        message.content = crate::app::history::joined_reply(&self.message.content, message.content);
        message.usage = self.message.usage.plus(message.usage);
        Outcome {
            message,
            error: more.error,
            interrupted: more.interrupted,
        }
    }

    /// Stopped by `signal` before any reply arrived.
    pub(crate) fn stopped(signal: Interrupt) -> Outcome {
        Outcome {
            message: Message::default(),
            error: None,
            interrupted: Some(signal),
        }
    }

    /// Failed before any reply arrived.
    fn failed(error: ApiError) -> Outcome {
        Outcome {
            message: Message::default(),
            error: Some(error.into()),
            interrupted: None,
        }
    }

    /// How the reply ended, as it is saved: stopped by a signal or by stdout going away
    /// (`| head`), failed with the API error, or complete.
    pub fn status(&self) -> (crate::store::MessageStatus, Option<&ApiError>) {
        use crate::store::MessageStatus;
        match (&self.interrupted, &self.error) {
            (Some(_), _) | (None, Some(OneShotError::Io(_))) => (MessageStatus::Stopped, None),
            (None, Some(OneShotError::Api(e))) => (MessageStatus::Error, Some(e)),
            (None, None) => (MessageStatus::Complete, None),
        }
    }
}

fn report_retry(notice: &RetryNotice) {
    crate::term_eprintln!("tern: {notice}");
}

/// How often a streaming reply is handed to `on_progress` (to be saved).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Send the request and print the reply as it arrives; `on_progress` receives the partial reply
/// at most once a second while it streams (the caller saves it). A signal from `interrupts`
/// ends the run early with [`Outcome::interrupted`] set.
pub async fn run(
    client: &Client,
    request: &MessagesRequest,
    stream: bool,
    on_progress: &mut dyn FnMut(&Message),
    interrupts: &mut Interrupts,
) -> Outcome {
    let mut on_retry = report_retry;
    let mut output = Output::new();
    run_into(
        client,
        request,
        stream,
        on_progress,
        interrupts,
        &mut on_retry,
        &mut output,
    )
    .await
}

/// [`run`], writing the reply to `output`, stopped by `stop`, retries told to `on_retry`.
pub(crate) async fn run_into(
    client: &Client,
    request: &MessagesRequest,
    stream: bool,
    on_progress: &mut dyn FnMut(&Message),
    stop: &mut impl Stop,
    on_retry: &mut (dyn FnMut(&RetryNotice) + Send),
    output: &mut impl Sink,
) -> Outcome {
    if !stream {
        let created = tokio::select! {
            signal = stop.signal() => return Outcome::stopped(signal),
            created = client.create(request, on_retry) => created,
        };
        return match created {
            Ok(message) => print_whole(message, output),
            Err(e) => Outcome::failed(e),
        };
    }
    let started = tokio::select! {
        signal = stop.signal() => return Outcome::stopped(signal),
        started = client.stream(request, on_retry) => started,
    };
    match started {
        Ok(reply) => print_stream(reply, on_progress, stop, output).await,
        Err(e) => Outcome::failed(e),
    }
}

/// A non-streamed reply, printed at once.
fn print_whole(message: Message, output: &mut impl Sink) -> Outcome {
    let printed = output.write(&message.text()).and_then(|_| output.finish());
    Outcome {
        error: printed.err().map(OneShotError::from),
        message,
        interrupted: None,
    }
}

/// A streamed reply, printed as it arrives, until it ends, fails, or a signal comes.
async fn print_stream(
    mut reply: MessageStream,
    on_progress: &mut dyn FnMut(&Message),
    stop: &mut impl Stop,
    output: &mut impl Sink,
) -> Outcome {
    let mut error = None;
    let mut interrupted = None;
    let mut printer = Printer::default();
    let mut last_progress = std::time::Instant::now();
    loop {
        let event = tokio::select! {
            biased;
            signal = stop.signal() => {
                interrupted = Some(signal);
                break;
            }
            event = reply.next() => event,
        };
        let Some(event) = event else { break };
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = std::time::Instant::now();
            on_progress(&reply.snapshot());
        }
        if let Err(e) = printer.print(event, output) {
            error = Some(e);
            break;
        }
    }
    if interrupted.is_some() {
        print_decoded(&mut reply, &mut printer, output);
    }
    if let Err(e) = output.finish() {
        error.get_or_insert(e.into());
    }
    Outcome {
        message: reply.snapshot(),
        error,
        interrupted,
    }
}

/// Events already decoded are in the snapshot: print them too, without waiting for more, so
/// the saved reply is exactly what was printed. (`next` is cancel-safe: an event is either
/// returned or still queued.)
fn print_decoded(reply: &mut MessageStream, printer: &mut Printer, output: &mut impl Sink) {
    use futures_util::FutureExt as _;
    while let Some(Some(event)) = reply.next().now_or_never() {
        if printer.print(event, output).is_err() {
            break;
        }
    }
}

/// Prints the text of stream events. Consecutive text blocks are one text (a cited answer
/// comes as many blocks, split mid-sentence), written as they come, as the SDKs join them;
/// only text after another kind of block (a tool call and its result) starts a new paragraph.
#[derive(Default)]
struct Printer {
    /// A block other than text began after some text was written.
    after_other_block: bool,
}

impl Printer {
    fn print(
        &mut self,
        event: Result<StreamEvent, ApiError>,
        output: &mut impl Sink,
    ) -> Result<(), OneShotError> {
        let written = match event {
            Ok(StreamEvent::BlockStart {
                block: ContentBlock::Text { .. },
                ..
            }) => {
                if std::mem::take(&mut self.after_other_block) && output.wrote() {
                    output.write("\n\n")
                } else {
                    Ok(())
                }
            }
            Ok(StreamEvent::BlockStart { .. }) => {
                self.after_other_block = output.wrote();
                Ok(())
            }
            Ok(StreamEvent::BlockDelta {
                delta: Delta::Text(text),
                ..
            }) => output.write(&text),
            Ok(_) => Ok(()),
            Err(e) => return Err(e.into()),
        };
        written.map_err(OneShotError::from)
    }
}
