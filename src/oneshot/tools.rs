//! The tool loop of `tern -p`: no one is there to ask, so a call runs only when the command
//! line allowed it (`--allow-tool`) or its server's `approve` does; any other call is refused
//! with an error result the model reads, and said on stderr.
//!
//! Why it is shaped so:
//! - One model turn at a time, as the app does it: a reply that ends with `tool_use` has its
//!   calls run side by side, all results go back in one user turn (in the calls' order), and
//!   the next turn goes out, until the model stops calling tools or `max_tool_steps` turns
//!   have asked for tools.
//! - Every step is saved as it happens (the reply, then its results, then a placeholder for
//!   the next reply), so a crash or a signal leaves a conversation the history rule sends
//!   back as the API accepts it.
//! - stdout carries only the model's text (each step's, a blank line between steps); every
//!   call is one line on stderr, through the sanitizing path like all outside text.
//! - A signal mid-call drops the calls' futures, which cancels them on their servers; the
//!   calls that had not ended get a result saying so, and what there is is saved.

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde_json::Value;

use super::{Interrupt, Interrupts, Outcome, Output, PrintLog, Sink, report_retry, run_into};
use crate::api::types::MessageContent;
use crate::api::{Client, ContentBlock, Message, MessagesRequest, RequestMessage, Role};
use crate::app::tools::{STOPPED, ToolOutcome};
use crate::mcp::{Mcp, ToolSpec};
use crate::store::{MessageStatus, StoredMessage};

/// The exit status of `tern -p` when the tool loop stopped at `max_tool_steps`.
pub const CAPPED: u8 = 4;

/// The tools `--allow-tool` lets run: exact namespaced names, or prefixes given as a pattern
/// ending in `*` (`server__*`: every tool of that server). A `*` anywhere else is literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    patterns: Vec<String>,
}

impl Allowed {
    pub fn new(patterns: Vec<String>) -> Allowed {
        Allowed { patterns }
    }

    /// Whether `name` (namespaced, `server__tool`) matches one of the patterns.
    pub fn allows(&self, name: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pattern == name,
            })
    }
}

/// Start the configured servers and return their tools; each server that failed (or a tool
/// left out) is said once on stderr. A signal first: nothing is left running.
pub async fn start(mcp: &Mcp, interrupts: &mut Interrupts) -> Result<Vec<ToolSpec>, Interrupt> {
    let (tools, notices) = tokio::select! {
        biased;
        signal = interrupts.recv() => return Err(signal),
        started = mcp.tools() => started,
    };
    for notice in notices {
        let prefix = format!("MCP server {}", notice.server);
        if notice.message.starts_with(&prefix) {
            crate::term_eprintln!("tern: warning: {}", notice.message);
        } else {
            crate::term_eprintln!("tern: warning: {prefix}: {}", notice.message);
        }
    }
    Ok(tools)
}

/// How `-p` runs the tools the model calls.
pub struct ToolLoop<'a> {
    pub mcp: &'a Mcp,
    pub allowed: &'a Allowed,
    /// Model turns that may ask for tools before the loop stops.
    pub max_steps: u32,
    /// A result's text is cut to this many bytes.
    pub max_bytes: usize,
    pub prompt_cache: crate::config::PromptCache,
}

/// How a `-p` exchange ended.
pub struct Finished {
    /// The last reply (complete, partial on error or signal) and how it ended.
    pub outcome: Outcome,
    /// The loop stopped at `max_tool_steps` with the model still calling tools.
    pub capped: bool,
    /// The conversation it is saved in.
    pub saved_in: Option<String>,
}

/// Send `request`, print the reply, and (with `tools`) run the tool loop to its end; every
/// step saved in `log` as it happens, the last reply finished there.
pub async fn converse(
    client: &Client,
    mut request: MessagesRequest,
    stream: bool,
    mut log: Option<PrintLog>,
    interrupts: &mut Interrupts,
    tools: Option<ToolLoop<'_>>,
) -> Finished {
    let saved_in = log.as_ref().map(|l| l.conversation_id().to_owned());
    let mut output = Steps {
        out: Output::new(),
        gap: false,
    };
    let mut steps = 0;
    loop {
        let mut outcome = turn(client, &request, stream, &mut log, interrupts, &mut output).await;
        let calls = tool_calls(&outcome.message);
        let tools = match &tools {
            Some(tools)
                if outcome.error.is_none()
                    && outcome.interrupted.is_none()
                    && outcome.message.stop_reason.as_deref() == Some("tool_use")
                    && !calls.is_empty() =>
            {
                tools
            }
            _ => {
                if let Some(log) = log {
                    let (status, api_error) = outcome.status();
                    log.finish(&outcome.message, status, api_error);
                }
                return Finished {
                    outcome,
                    capped: false,
                    saved_in,
                };
            }
        };
        steps += 1;
        if let Some(log) = &mut log {
            log.record(&outcome.message, MessageStatus::Complete, None);
        }
        let (results, interrupted) = run_calls(tools, &calls, interrupts).await;
        if let Some(log) = &mut log {
            log.save_results(results.clone());
        }
        if let Some(signal) = interrupted {
            outcome.interrupted = Some(signal);
            return Finished {
                outcome,
                capped: false,
                saved_in,
            };
        }
        if steps >= tools.max_steps {
            let kept = if saved_in.is_some() {
                "; the calls and their results are saved: `tern -c -p \"go on\"` continues"
            } else {
                ""
            };
            crate::term_eprintln!(
                "tern: stopped the tool loop after {steps} model turns that called tools \
                 (max_tool_steps = {}); raise max_tool_steps in the config file for more{kept}",
                tools.max_steps
            );
            return Finished {
                outcome,
                capped: true,
                saved_in,
            };
        }
        request = next_request(&request, &outcome.message, results, tools.prompt_cache);
        if let Some(log) = &mut log {
            log.next_reply(&request.model);
        }
        output.gap = true;
    }
}

/// One model turn: the reply printed as it arrives (a paused turn sent back and finished, as
/// in the app), its progress saved about once a second.
async fn turn(
    client: &Client,
    request: &MessagesRequest,
    stream: bool,
    log: &mut Option<PrintLog>,
    interrupts: &mut Interrupts,
    output: &mut Steps,
) -> Outcome {
    let mut on_retry = report_retry;
    let mut save_progress = |partial: &Message| {
        if let Some(log) = log.as_mut() {
            log.progress(partial);
        }
    };
    let mut outcome = run_into(
        client,
        request,
        stream,
        &mut save_progress,
        interrupts,
        &mut on_retry,
        output,
    )
    .await;
    let mut resumes = 0;
    while outcome.paused() && resumes < crate::app::history::MAX_AUTO_RESUMES {
        resumes += 1;
        // The resumed text starts a new paragraph.
        output.gap = true;
        let resume = outcome.resume_request(request);
        let before = outcome.message.content.clone();
        let mut save_more = |partial: &Message| {
            let mut so_far = partial.clone();
            so_far.content = crate::app::history::joined_reply(&before, so_far.content);
            save_progress(&so_far);
        };
        let more = run_into(
            client,
            &resume,
            stream,
            &mut save_more,
            interrupts,
            &mut on_retry,
            output,
        )
        .await;
        outcome = outcome.then(more);
    }
    outcome
}

/// Reply text on stdout; after a step, the next text starts after a blank line.
struct Steps {
    out: Output,
    /// A step (or a paused turn) ended: a blank line comes before more text.
    gap: bool,
}

impl Sink for Steps {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut self.gap) && self.out.wrote() {
            // The last step's text ended its line (`finish`): one more makes the blank line.
            self.out.write("\n")?;
        }
        self.out.write(text)
    }

    fn wrote(&self) -> bool {
        self.out.wrote()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.finish()
    }
}

/// A `tool_use` of a reply.
struct Call {
    id: String,
    name: String,
    input: Value,
}

fn tool_calls(message: &Message) -> Vec<Call> {
    message
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::ToolUse {
                id, name, input, ..
            } => Some(Call {
                id: id.clone(),
                name: name.clone(),
                input: input.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The error result of a call nobody allowed.
fn refusal(name: &str) -> String {
    format!(
        "tern -p runs only tools allowed with --allow-tool (or approve = \"always\"); {name} was not"
    )
}

/// Run the allowed calls side by side, refuse the others; the `tool_result` blocks in the
/// calls' order, and the signal that stopped them, if one did (the calls still running are
/// then cancelled and answered as stopped).
async fn run_calls(
    tools: &ToolLoop<'_>,
    calls: &[Call],
    interrupts: &mut Interrupts,
) -> (Vec<ContentBlock>, Option<Interrupt>) {
    let mut outcomes: Vec<Option<ToolOutcome>> = vec![None; calls.len()];
    let mut running = FuturesUnordered::new();
    for (index, call) in calls.iter().enumerate() {
        if tools.allowed.allows(&call.name) || tools.mcp.runs_unasked(&call.name) {
            let arguments = match &call.input {
                Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            let mcp = tools.mcp;
            let name = call.name.as_str();
            running.push(async move { (index, mcp.call(name, arguments).await) });
        } else {
            report(
                call,
                &format!("refused (not allowed; --allow-tool {} runs it)", call.name),
            );
            outcomes[index] = Some(ToolOutcome::error(refusal(&call.name)));
        }
    }
    let mut interrupted = None;
    while !running.is_empty() {
        tokio::select! {
            biased;
            signal = interrupts.recv() => {
                interrupted = Some(signal);
                break;
            }
            Some((index, result)) = running.next() => {
                let outcome = match result {
                    Ok(output) => ToolOutcome {
                        content: output.content,
                        is_error: output.is_error,
                        summary: output.summary,
                    }
                    .truncated(tools.max_bytes),
                    Err(e) => ToolOutcome::error(e.to_string()),
                };
                let said = if outcome.is_error {
                    format!("error: {}", one_line(&outcome.summary))
                } else {
                    format!("ok ({} chars)", outcome.summary.chars().count())
                };
                report(&calls[index], &said);
                outcomes[index] = Some(outcome);
            }
        }
    }
    // Dropped: a call still running is cancelled on its server.
    drop(running);
    let results = calls
        .iter()
        .zip(outcomes)
        .map(|(call, outcome)| {
            let outcome = outcome.unwrap_or_else(|| {
                report(call, "stopped");
                ToolOutcome::error(STOPPED)
            });
            ContentBlock::Unknown(outcome.block(&call.id, None))
        })
        .collect();
    (results, interrupted)
}

/// The longest arguments (characters of JSON) a call's line shows.
const ARGUMENTS_SHOWN: usize = 200;

/// `tern: tool NAME {"args"} → WHAT` on stderr.
fn report(call: &Call, what: &str) {
    let mut arguments = call.input.to_string();
    if arguments.chars().count() > ARGUMENTS_SHOWN {
        arguments = arguments.chars().take(ARGUMENTS_SHOWN).collect::<String>() + "…";
    }
    crate::term_eprintln!("tern: tool {} {arguments} → {what}", call.name);
}

/// A message of several lines (a server's stderr tail) on one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `request` followed by the reply that called tools and the user turn of their results,
/// its cache marks placed anew.
fn next_request(
    request: &MessagesRequest,
    reply: &Message,
    results: Vec<ContentBlock>,
    cache: crate::config::PromptCache,
) -> MessagesRequest {
    let mut next = request.clone();
    crate::app::cache::clear_message_marks(&mut next);
    next.messages
        .push(RequestMessage::assistant_blocks(reply.content.clone()));
    next.messages.push(RequestMessage {
        role: Role::User,
        content: MessageContent::Blocks(results),
    });
    crate::app::cache::place_cache_breakpoints(&mut next, cache);
    next
}

impl PrintLog {
    /// Save the results of the current reply's calls as one user message after it.
    fn save_results(&mut self, results: Vec<ContentBlock>) {
        let mut message = StoredMessage::user(
            self.reply.conversation_id.clone(),
            self.reply.seq + 1,
            String::new(),
        );
        message.content = results;
        message.parent_id = Some(self.reply.id.clone());
        if let Err(e) = self.store.upsert_message(&message) {
            crate::term_eprintln!("tern: warning: the tool results were not saved: {e}");
        }
        self.results = Some(message);
    }

    /// A placeholder for the reply to the results just saved; it becomes the current reply.
    fn next_reply(&mut self, model: &str) {
        let Some(results) = self.results.take() else {
            return;
        };
        let mut reply = StoredMessage::assistant_streaming(
            results.conversation_id.clone(),
            results.seq + 1,
            model,
        );
        reply.parent_id = Some(results.id);
        if let Err(e) = self.store.upsert_message(&reply) {
            crate::term_eprintln!("tern: warning: the reply was not saved: {e}");
        }
        self.reply = reply;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_names_and_trailing_star_prefixes() {
        let allowed = Allowed::new(vec!["fx__*".into(), "files__read".into(), "a*b".into()]);
        assert!(allowed.allows("fx__echo"));
        assert!(allowed.allows("files__read"));
        assert!(!allowed.allows("files__read_all"));
        assert!(!allowed.allows("fy__echo"));
        assert!(allowed.allows("a*b"));
        assert!(!allowed.allows("axb"));
        assert!(!Allowed::default().allows("fx__echo"));
    }

    #[test]
    fn a_multi_line_error_is_one_line() {
        assert_eq!(one_line("failed\n  stderr: x\n\n"), "failed · stderr: x");
    }
}
