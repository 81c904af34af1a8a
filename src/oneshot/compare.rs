//! `tern -p --compare A,B[,…]`: one prompt to several models at once, each reply kept.
//!
//! Each model gets its own request ([`super::build_request`] / [`super::continue_request`] with
//! that model), so each model's capability rules apply. The requests run concurrently on the
//! one thread of the runtime (no spawning: the futures borrow the client and the log). The
//! prompt is saved once and each reply as a sibling under it, with its own placeholder,
//! progress and outcome, as a single `-p` saves its one reply; the active path ends on the
//! first model's reply.
//!
//! Replies never interleave. As labelled sections they stream: the first reply to bring text
//! writes live under its label, the others keep theirs until it ends, then follow in the order
//! their text came (see [`Stage`]). One JSON object per line (`--json`) is written as each
//! reply finishes; `--columns` on a terminal prints the columns side by side once all have
//! finished, since a column cannot grow under text already written. Model text reaches
//! stdout through [`crate::sanitize`] as the rest of `-p` does: exact in a pipe, cleaned on a
//! terminal.
//!
//! A failure stops only its model. A signal stops them all: it is passed to every request
//! through a watch channel, and each saves its partial reply as stopped.

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::watch;

use super::{
    Continue, Interrupt, Interrupts, OneShotError, Outcome, Sink, Stop, new_conversation,
    record_reply, resolve_target, run_into,
};
use crate::api::{ApiError, Client, Message, MessagesRequest, RetryNotice};
use crate::store::{Conversation, MessageStatus, Store, StoreError, StoredMessage, data_dir};

/// How the replies are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A labelled section per reply, in order of arrival.
    Sections,
    /// Side by side, `width` columns in all, once every reply has finished.
    Columns { width: usize },
    /// One JSON object per reply, one a line, in order of arrival.
    Json,
}

/// The exit status when at least one model failed (the others may have answered).
pub const SOME_FAILED: u8 = 1;

/// The exit status when no model failed and one declined to answer, as for a single `-p`.
pub const REFUSED: u8 = 3;

/// Saves a compared exchange: the prompt once, each model's reply as a sibling under it.
pub struct CompareLog {
    store: Store,
    replies: Vec<StoredMessage>,
}

impl CompareLog {
    /// A new conversation: the prompt, then a placeholder reply per request, in the order
    /// given; the first is the active leaf. `None` (with a warning) if the store fails.
    pub fn begin(
        path: Option<&Path>,
        requests: &[MessagesRequest],
        prompt: &str,
    ) -> Option<CompareLog> {
        let attempt = || -> Result<CompareLog, StoreError> {
            let mut store = Store::open(data_dir(path)?)?;
            let conversation = new_conversation(&requests[0], prompt);
            store.create_conversation(&conversation)?;
            let user = StoredMessage::user(conversation.id.clone(), 0, prompt);
            store.upsert_message(&user)?;
            let replies = placeholders(&conversation, &user, 1, requests);
            for reply in &replies {
                store.upsert_message(reply)?;
            }
            store.set_active_leaf(&conversation.id, &replies[0].id)?;
            Ok(CompareLog { store, replies })
        };
        super::saved_or_warned(attempt())
    }

    /// Continue a saved conversation: `build` makes each model's request from it and its
    /// history, and (unless `no_save`) the prompt and the placeholders are appended in the
    /// transaction that read the history (see [`super::PrintLog::resume`]).
    pub fn resume(
        path: Option<&Path>,
        target: Continue<'_>,
        prompt: &str,
        no_save: bool,
        models: &[String],
        build: impl Fn(&Conversation, &[StoredMessage], &str) -> MessagesRequest,
    ) -> anyhow::Result<(Vec<MessagesRequest>, Option<CompareLog>)> {
        let build_all = |conversation: &Conversation, history: &[StoredMessage]| {
            models
                .iter()
                .map(|model| build(conversation, history, model))
                .collect::<Vec<_>>()
        };
        if !no_save {
            match data_dir(path).and_then(Store::open) {
                Ok(mut store) => {
                    let id = resolve_target(&store, target)?;
                    let (_, _, (requests, replies)) =
                        store.append_after_load(&id, |conversation, history, seq| {
                            let requests = build_all(conversation, history);
                            let mut user =
                                StoredMessage::user(conversation.id.clone(), seq, prompt);
                            user.parent_id = history.last().map(|m| m.id.clone());
                            let replies = placeholders(conversation, &user, seq + 1, &requests);
                            let mut new = vec![user];
                            new.extend(replies.iter().cloned());
                            (new, (requests, replies))
                        })?;
                    store.set_active_leaf(&id, &replies[0].id)?;
                    return Ok((requests, Some(CompareLog { store, replies })));
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
        Ok((build_all(&conversation, &history), None))
    }

    /// The conversation the exchange is saved in.
    pub fn conversation_id(&self) -> &str {
        &self.replies[0].conversation_id
    }

    fn progress(&mut self, index: usize, partial: &Message) {
        record_reply(
            &mut self.store,
            &mut self.replies[index],
            partial,
            MessageStatus::Streaming,
            None,
        );
    }

    fn finish(&mut self, index: usize, outcome: &Outcome) {
        let (status, error) = outcome.status();
        record_reply(
            &mut self.store,
            &mut self.replies[index],
            &outcome.message,
            status,
            error,
        );
    }

    /// Every reply has ended: the conversation goes on with the first model (the latest write,
    /// the last model's reply, named that one).
    fn close(mut self) {
        let id = self.conversation_id().to_owned();
        let first = self.replies[0].model.clone();
        let updated = self.store.load(&id).and_then(|(mut conversation, _)| {
            conversation.last_model = first;
            self.store.update_conversation(&conversation)
        });
        if let Err(e) = updated {
            crate::term_eprintln!("tern: warning: the conversation's model was not saved: {e}");
        }
    }
}

/// A streaming placeholder per request under `user`, from `seq` on.
fn placeholders(
    conversation: &Conversation,
    user: &StoredMessage,
    seq: i64,
    requests: &[MessagesRequest],
) -> Vec<StoredMessage> {
    (seq..)
        .zip(requests)
        .map(|(seq, request)| {
            let mut reply = StoredMessage::assistant_streaming(
                conversation.id.clone(),
                seq,
                request.model.clone(),
            );
            reply.parent_id = Some(user.id.clone());
            reply
        })
        .collect()
}

/// One model's reply, once it ended.
pub struct Answer {
    pub model: String,
    pub outcome: Outcome,
    /// The reply text as printed (text blocks joined, a paragraph after a tool call).
    pub text: String,
    /// From the request to the first text (streamed replies only).
    pub first_token: Option<Duration>,
    /// From the request to the end.
    pub elapsed: Duration,
}

impl Answer {
    /// The request failed (an API error; a stop is not a failure).
    pub fn failed(&self) -> bool {
        matches!(self.outcome.error, Some(OneShotError::Api(_)))
    }

    fn api_error(&self) -> Option<&ApiError> {
        match &self.outcome.error {
            Some(OneShotError::Api(e)) => Some(e),
            _ => None,
        }
    }

    /// Output tokens: the server's count, or, for a reply that did not finish (the server
    /// counts at the end), a guess from its text (marked `true`).
    fn tokens(&self) -> (u64, bool) {
        let counted = self.outcome.message.usage.output_tokens;
        let guess = (self.text.chars().count() / 4) as u64;
        if self.outcome.status().0 != MessageStatus::Complete && guess > counted {
            (guess, true)
        } else {
            (counted, false)
        }
    }

    /// Output tokens per second after the first token, when that can be told.
    fn tokens_per_second(&self) -> Option<f64> {
        let first = self.first_token?;
        let streaming = self.elapsed.checked_sub(first)?.as_secs_f64();
        let (tokens, _) = self.tokens();
        (streaming > 0.0 && tokens > 0).then(|| tokens as f64 / streaming)
    }

    /// The one-line stderr summary: time to first token, tokens/s, tokens.
    pub fn summary(&self) -> String {
        let first = match self.first_token {
            Some(d) => format!("first token {:.2}s", d.as_secs_f64()),
            None if self.text.is_empty() => "no text".to_owned(),
            None => "not streamed".to_owned(),
        };
        let rate = self
            .tokens_per_second()
            .map_or_else(String::new, |r| format!(" · {r:.1} tokens/s"));
        let tokens = match self.tokens() {
            (n, true) => format!("~{n}"),
            (n, false) => n.to_string(),
        };
        let (status, _) = self.outcome.status();
        let ended = match status {
            MessageStatus::Complete => String::new(),
            other => format!(" ({})", other.as_str()),
        };
        format!(
            "{}: {first}{rate} · {tokens} tokens in {:.2}s{ended}",
            self.model,
            self.elapsed.as_secs_f64()
        )
    }

    /// The `--json` object.
    pub fn json(&self, conversation: Option<&str>, message_id: Option<&str>) -> serde_json::Value {
        let (status, _) = self.outcome.status();
        let error = match &self.outcome.error {
            Some(OneShotError::Api(e)) => serde_json::json!({
                "message": e.to_string(),
                "status": e.status(),
                "advice": e.advice(),
            }),
            Some(e) => serde_json::json!({ "message": e.to_string() }),
            None => serde_json::Value::Null,
        };
        serde_json::json!({
            "model": self.model,
            "text": self.text,
            "status": status.as_str(),
            "stop_reason": self.outcome.message.stop_reason,
            "usage": self.outcome.message.usage,
            "first_token_ms": self.first_token.map(|d| d.as_millis() as u64),
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "error": error,
            "conversation": conversation,
            "message_id": message_id,
        })
    }
}

/// Collects one reply's text, noting when the first of it came, and passes it to the stage
/// when there is one.
struct Section<'a> {
    index: usize,
    stage: Option<&'a RefCell<Stage>>,
    started: Instant,
    first_token: Option<Duration>,
    text: String,
}

impl Sink for Section<'_> {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        if !text.is_empty() {
            self.first_token
                .get_or_insert_with(|| self.started.elapsed());
            self.text.push_str(text);
            if let Some(stage) = self.stage {
                stage.borrow_mut().write(self.index, text)?;
            }
        }
        Ok(())
    }

    fn wrote(&self) -> bool {
        !self.text.is_empty()
    }
}

impl Stop for watch::Receiver<Option<Interrupt>> {
    async fn signal(&mut self) -> Interrupt {
        match self.wait_for(Option::is_some).await {
            Ok(signal) => signal.unwrap_or(Interrupt::Int),
            // No sender left: no signal will come.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Ask one model (the request at `index`), resuming a paused turn as a single `-p` does;
/// saves its progress and outcome in `log`.
async fn ask(
    client: &Client,
    index: usize,
    request: &MessagesRequest,
    stream: bool,
    mut stop: watch::Receiver<Option<Interrupt>>,
    log: &RefCell<Option<CompareLog>>,
    stage: Option<&RefCell<Stage>>,
) -> (usize, Answer) {
    let model = request.model.clone();
    let mut section = Section {
        index,
        stage,
        started: Instant::now(),
        first_token: None,
        text: String::new(),
    };
    let mut on_retry = |notice: &RetryNotice| crate::term_eprintln!("tern: {model}: {notice}");
    let save = |partial: &Message| {
        if let Some(log) = log.borrow_mut().as_mut() {
            log.progress(index, partial);
        }
    };
    let mut save_first = save;
    let mut outcome = run_into(
        client,
        request,
        stream,
        &mut save_first,
        &mut stop,
        &mut on_retry,
        &mut section,
    )
    .await;
    let mut resumes = 0;
    while outcome.paused() && resumes < crate::app::history::MAX_AUTO_RESUMES {
        resumes += 1;
        if section.wrote() {
            let _ = section.write("\n\n");
        }
        let resume = outcome.resume_request(request);
        let before = outcome.message.content.clone();
        let mut save_more = |partial: &Message| {
            let mut so_far = partial.clone();
            so_far.content = crate::app::history::joined_reply(&before, so_far.content);
            save(&so_far);
        };
        let more = run_into(
            client,
            &resume,
            stream,
            &mut save_more,
            &mut stop,
            &mut on_retry,
            &mut section,
        )
        .await;
        outcome = outcome.then(more);
    }
    if let Some(log) = log.borrow_mut().as_mut() {
        log.finish(index, &outcome);
    }
    let answer = Answer {
        model,
        outcome,
        text: section.text,
        first_token: section.first_token.filter(|_| stream),
        elapsed: section.started.elapsed(),
    };
    (index, answer)
}

/// What a compared run ended with.
pub struct Finished {
    /// In the order of the models given.
    pub answers: Vec<Answer>,
    /// The signal that stopped them all.
    pub interrupted: Option<Interrupt>,
    /// Writing to stdout failed (the reader went away, `| head`).
    pub output_error: Option<std::io::Error>,
}

impl Finished {
    /// The exit status: a signal's code, else [`SOME_FAILED`] if any model failed, else 3 if
    /// any declined to answer, else success (also when stdout went away: the reader has what
    /// it wanted).
    pub fn exit_code(&self) -> u8 {
        if let Some(signal) = self.interrupted {
            return signal.exit_code();
        }
        if self.answers.iter().any(Answer::failed) {
            return SOME_FAILED;
        }
        if self
            .answers
            .iter()
            .any(|a| a.outcome.message.stop_reason.as_deref() == Some("refusal"))
        {
            return REFUSED;
        }
        0
    }
}

/// Each model's request for `prompt`: in a new conversation, or continuing `target`; and the
/// log that saves the exchange (none with `no_save`).
pub fn start(
    config: &crate::config::Config,
    flags: &crate::cli::RequestArgs,
    models: &[String],
    target: Option<Continue<'_>>,
    prompt: &str,
    no_save: bool,
) -> anyhow::Result<(Vec<MessagesRequest>, Option<CompareLog>)> {
    let path = Store::default_path();
    let Some(target) = target else {
        let requests: Vec<MessagesRequest> = models
            .iter()
            .map(|model| {
                let mut config = config.clone();
                config.model = model.clone();
                super::build_request(&config, prompt)
            })
            .collect();
        let log = if no_save {
            None
        } else {
            CompareLog::begin(path.as_deref(), &requests, prompt)
        };
        return Ok((requests, log));
    };
    CompareLog::resume(
        path.as_deref(),
        target,
        prompt,
        no_save,
        models,
        |conversation, history, model| {
            let mut flags = flags.clone();
            flags.model = Some(model.to_owned());
            super::continue_request(config, &flags, conversation, history, prompt)
        },
    )
}

/// Send each request at once and show the replies by `layout`; every reply is saved in `log`.
pub async fn run(
    client: &Client,
    requests: &[MessagesRequest],
    stream: bool,
    log: Option<CompareLog>,
    interrupts: &mut Interrupts,
    layout: Layout,
) -> Finished {
    let (stop_tx, stop_rx) = watch::channel(None);
    let ids: Option<(String, Vec<String>)> = log.as_ref().map(|l| {
        (
            l.conversation_id().to_owned(),
            l.replies.iter().map(|r| r.id.clone()).collect(),
        )
    });
    let log = RefCell::new(log);
    let stage = (layout == Layout::Sections).then(|| {
        RefCell::new(Stage::new(
            requests.iter().map(|r| r.model.clone()).collect(),
        ))
    });
    let mut pending: FuturesUnordered<_> = requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
            ask(
                client,
                i,
                request,
                stream,
                stop_rx.clone(),
                &log,
                stage.as_ref(),
            )
        })
        .collect();
    let mut answers: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    let mut interrupted = None;
    let mut output_error = None;
    loop {
        let (index, answer) = tokio::select! {
            signal = interrupts.recv(), if interrupted.is_none() => {
                interrupted = Some(signal);
                let _ = stop_tx.send(Some(signal));
                continue;
            }
            next = pending.next() => match next {
                Some(done) => done,
                None => break,
            },
        };
        if stage.is_none() {
            report(&answer);
        }
        if output_error.is_none() {
            let conversation = ids.as_ref().map(|(c, _)| c.as_str());
            let message = ids.as_ref().map(|(_, m)| m[index].as_str());
            let shown = match (layout, &stage) {
                (Layout::Sections, Some(stage)) => stage.borrow_mut().finish(index, &answer),
                (Layout::Json, _) => {
                    crate::sanitize::print_json(&answer.json(conversation, message).to_string())
                }
                _ => Ok(()),
            };
            if let Err(e) = shown {
                // Nobody reads on: stop the others, whose replies are saved as stopped.
                let _ = stop_tx.send(Some(Interrupt::Int));
                output_error = Some(e);
            }
        }
        answers[index] = Some(answer);
    }
    drop(pending);
    if let Some(stage) = stage {
        // The sections not shown because writing failed: their summaries still go to stderr.
        stage.into_inner().report_unshown();
    }
    if let Some(log) = log.into_inner() {
        log.close();
    }
    let answers: Vec<Answer> = answers.into_iter().flatten().collect();
    if let (Layout::Columns { width }, None) = (layout, &output_error)
        && let Err(e) = print_columns(&answers, width)
    {
        output_error = Some(e);
    }
    Finished {
        answers,
        interrupted,
        output_error,
    }
}

/// The stderr lines for a finished reply: its summary, or its error.
fn report(answer: &Answer) {
    for line in report_lines(answer) {
        crate::term_eprintln!("{line}");
    }
}

fn report_lines(answer: &Answer) -> Vec<String> {
    let summary = format!("tern: {}", answer.summary());
    match answer.api_error() {
        Some(e) => {
            let error = format!("tern: error: {}: {e} — {}", answer.model, e.advice());
            if answer.first_token.is_some() {
                vec![error, summary]
            } else {
                vec![error]
            }
        }
        None => vec![summary],
    }
}

/// Stdout for the sections layout: who writes live and what the others keep meanwhile.
///
/// The first reply to bring text takes the stage: its label, then its text as it comes. The
/// others keep their text until the live one ends; then they follow in the order their text
/// came (a reply that failed before any text, in the order it ended): one that has ended is
/// printed whole, and the first still streaming catches up and goes on live. A reply's stderr
/// summary is written when its section closes, so it never lands inside another's text.
struct Stage {
    live: Option<usize>,
    out: crate::sanitize::TermStream,
    ends_with_newline: bool,
    sections: Vec<Staged>,
    arrivals: u64,
}

/// One reply's part of the [`Stage`].
struct Staged {
    model: String,
    /// Text not yet written.
    kept: String,
    /// When its first text came (or it ended without any), in arrival order.
    arrived: Option<u64>,
    /// Once the reply has ended: the line saying how (if not plainly), and its summary.
    ended: Option<(Option<String>, Vec<String>)>,
    shown: bool,
}

impl Stage {
    fn new(models: Vec<String>) -> Self {
        Stage {
            live: None,
            out: crate::sanitize::TermStream::stdout(),
            ends_with_newline: true,
            sections: models
                .into_iter()
                .map(|model| Staged {
                    model,
                    kept: String::new(),
                    arrived: None,
                    ended: None,
                    shown: false,
                })
                .collect(),
            arrivals: 0,
        }
    }

    fn arrive(&mut self, index: usize) {
        let next = self.arrivals;
        if self.sections[index].arrived.is_none() {
            self.sections[index].arrived = Some(next);
            self.arrivals += 1;
        }
    }

    /// Text from the reply at `index`: written if it is live (or nobody is), kept otherwise.
    fn write(&mut self, index: usize, text: &str) -> std::io::Result<()> {
        self.arrive(index);
        match self.live {
            Some(live) if live == index => self.emit(text),
            Some(_) => {
                self.sections[index].kept.push_str(text);
                Ok(())
            }
            None => {
                self.sections[index].kept.push_str(text);
                self.go_live(index)
            }
        }
    }

    /// The reply at `index` ended: its section closes if it is live, and the next goes on.
    fn finish(&mut self, index: usize, answer: &Answer) -> std::io::Result<()> {
        self.arrive(index);
        self.sections[index].ended = Some((ending(answer), report_lines(answer)));
        match self.live {
            Some(live) if live == index => {
                self.close(index)?;
                self.hand_over()
            }
            Some(_) => Ok(()),
            None => self.hand_over(),
        }
    }

    /// Sections in arrival order while the stage is free: ended ones whole, then the first
    /// still streaming goes live.
    fn hand_over(&mut self) -> std::io::Result<()> {
        while self.live.is_none() {
            let Some(next) = (0..self.sections.len())
                .filter(|&i| !self.sections[i].shown)
                .filter_map(|i| Some((self.sections[i].arrived?, i)))
                .min()
                .map(|(_, i)| i)
            else {
                return Ok(());
            };
            self.go_live(next)?;
            if self.sections[next].ended.is_some() {
                self.close(next)?;
            }
        }
        Ok(())
    }

    /// `── MODEL ──`, then what the reply at `index` has kept; it writes live from now on.
    fn go_live(&mut self, index: usize) -> std::io::Result<()> {
        self.live = Some(index);
        // A fresh sanitizer: one reply's unfinished escape never reaches into the next.
        self.out = crate::sanitize::TermStream::stdout();
        let label = format!("── {} ──\n", self.sections[index].model);
        self.emit(&label)?;
        let kept = std::mem::take(&mut self.sections[index].kept);
        self.emit(&kept)
    }

    /// The end of the live section: a newline if the text had none, how it ended, a blank
    /// line; then its summary on stderr.
    fn close(&mut self, index: usize) -> std::io::Result<()> {
        self.live = None;
        self.sections[index].shown = true;
        let (line, summary) = self.sections[index].ended.take().unwrap_or_default();
        let mut tail = String::new();
        if !self.ends_with_newline {
            tail.push('\n');
        }
        if let Some(line) = line {
            tail.push_str(&line);
            tail.push('\n');
        }
        tail.push('\n');
        let written = self.emit(&tail);
        for line in summary {
            crate::term_eprintln!("{line}");
        }
        written
    }

    fn emit(&mut self, text: &str) -> std::io::Result<()> {
        let written = self.out.write(text)?;
        if let Some(last) = written.chars().last() {
            self.ends_with_newline = last == '\n';
        }
        Ok(())
    }

    /// Summaries of replies whose sections were never shown (stdout went away first).
    fn report_unshown(self) {
        for section in self.sections.into_iter().filter(|s| !s.shown) {
            for line in section
                .ended
                .map(|(_, summary)| summary)
                .unwrap_or_default()
            {
                crate::term_eprintln!("{line}");
            }
        }
    }
}

/// The line that ends a section when the reply did not simply finish.
fn ending(answer: &Answer) -> Option<String> {
    if let Some(e) = answer.api_error() {
        return Some(format!("[error: {e}]"));
    }
    match answer.outcome.status().0 {
        MessageStatus::Stopped => Some("[stopped]".to_owned()),
        _ => match answer.outcome.message.stop_reason.as_deref() {
            Some("max_tokens") => Some("[stopped at max_tokens]".to_owned()),
            Some("refusal") => Some("[the model declined to answer]".to_owned()),
            _ => None,
        },
    }
}

/// One ended reply as a section (its summary is already on stderr).
fn print_section(answer: &Answer) -> std::io::Result<()> {
    let mut stage = Stage::new(vec![answer.model.clone()]);
    stage.arrive(0);
    stage.sections[0].kept = answer.text.clone();
    stage.sections[0].ended = Some((ending(answer), Vec::new()));
    stage.hand_over()
}

/// The narrowest column worth printing; below it the replies are printed as sections.
const MIN_COLUMN: usize = 16;

const GUTTER: &str = " │ ";
const GUTTER_WIDTH: usize = 3;

/// The replies side by side, in the order given, wrapped to their share of `width`.
fn print_columns(answers: &[Answer], width: usize) -> std::io::Result<()> {
    let n = answers.len().max(1);
    let column = width.saturating_sub(GUTTER_WIDTH * (n - 1)) / n;
    if column < MIN_COLUMN {
        crate::term_eprintln!(
            "tern: note: {width} columns are too few for {n} replies side by side; printing them one after another"
        );
        for answer in answers {
            print_section(answer)?;
        }
        return Ok(());
    }
    let blocks: Vec<Vec<String>> = answers.iter().map(|a| column_lines(a, column)).collect();
    let mut out = crate::sanitize::TermText::stdout();
    out.push(&columns_text(&blocks, column));
    out.print()
}

/// One reply as the lines of a column `width` wide: its model, a rule, its text wrapped, how
/// it ended.
fn column_lines(answer: &Answer, width: usize) -> Vec<String> {
    let mut text = crate::sanitize::for_terminal(&answer.text).replace('\t', "    ");
    if let Some(line) = ending(answer) {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&crate::sanitize::for_terminal(&line));
    }
    let mut lines = wrap(&crate::sanitize::for_terminal(&answer.model), width);
    lines.push("─".repeat(width));
    lines.extend(wrap(text.trim_end(), width));
    lines
}

/// `text` wrapped to `width` display columns (the app's word wrap), a line per row.
fn wrap(text: &str, width: usize) -> Vec<String> {
    use ratatui::text::Span;
    let width = u16::try_from(width).unwrap_or(u16::MAX);
    let mut rows = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            rows.push(String::new());
            continue;
        }
        for wrapped in crate::render::wrap::wrap_spans(&[Span::raw(line)], width) {
            rows.push(wrapped.spans.iter().map(|s| s.content.as_ref()).collect());
        }
    }
    rows
}

/// Columns of `width` side by side, padded, joined by a gutter, trailing spaces trimmed.
fn columns_text(blocks: &[Vec<String>], width: usize) -> String {
    use crate::render::wrap::display_width;
    let rows = blocks.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = String::new();
    for row in 0..rows {
        let mut line = String::new();
        for (i, block) in blocks.iter().enumerate() {
            if i > 0 {
                line.push_str(GUTTER);
            }
            let cell = block.get(row).map_or("", String::as_str);
            line.push_str(cell);
            line.push_str(&" ".repeat(width.saturating_sub(display_width(cell))));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_sit_side_by_side_and_wrap() {
        let blocks = vec![wrap("one two three four", 9), wrap("词词词词词词", 9)];
        assert_eq!(blocks[0], ["one two", "three", "four"]);
        assert_eq!(blocks[1], ["词词词词", "词词"]);
        assert_eq!(
            columns_text(&blocks, 9),
            "one two   │ 词词词词\nthree     │ 词词\nfour      │\n"
        );
    }
}
