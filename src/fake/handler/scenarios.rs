//! Each [`Scenario`]'s answer to a validated request ([`Turn`]): a reply at some pace and with
//! some ending, or a refusal shaped as the real API (or a gateway in front of it) sends it.
//!
//! One match names every scenario, so a new one is a compile error until it is answered here;
//! each arm is a line, the longer answers are functions of their own below it.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::super::cache::{self, Unit};
use super::super::reply::{self, Block, BlockKind, LONG_GROUPS, Reply, SHORT_GROUPS};
use super::super::scenario::{Directives, MAX_WORDS, Scenario};
use super::super::wire::ApiError;
use super::super::{ServerState, lock};
use super::answer::{Answer, Ending, SseStyle};
use super::media::{self, Media};
use super::validate::{Thinking, ToolChoice, ToolChoiceKind, is_custom_tool};

/// The body of the `html-502` scenario, as nginx sends it.
const HTML_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

/// The body of the `openai-error` scenario, in OpenAI's field order.
const OPENAI_ERROR: &str = r#"{"error":{"message":"Invalid request: this error uses the OpenAI envelope (tern fake server)","type":"invalid_request_error","param":null,"code":"400"}}"#;

/// The body of the `too-large` scenario, as a proxy in front of the API sends it.
const TOO_LARGE: &str =
    "413 Request Entity Too Large: the request exceeds the maximum allowed number of bytes\n";

/// Deltas a second for `paced` without `rate:N`: a fast model's pace.
const PACED_DEFAULT_RATE: u32 = 100;
/// Delay between deltas for `slow` when the server has no delay configured.
const SLOW_DEFAULT_DELAY: Duration = Duration::from_millis(50);

/// Words of thinking the fake model does before answering, when the request turns it on.
const THINKING_WORDS: usize = 40;

/// A validated `POST /v1/messages`: what the scenarios build their reply from.
pub(super) struct Turn<'a> {
    pub(super) state: &'a ServerState,
    pub(super) number: u64,
    pub(super) model: &'a str,
    pub(super) prompt: String,
    /// `words:N` from the prompt.
    pub(super) words: Option<usize>,
    pub(super) stream: bool,
    /// The request's blocks, for token counting and the prompt cache.
    pub(super) units: Vec<Unit>,
    /// The shortest prefix a breakpoint caches.
    pub(super) min_cacheable: u64,
    pub(super) max_tokens: u64,
    pub(super) thinking: Thinking,
    pub(super) stop_sequences: Vec<String>,
    pub(super) tools: &'a [Value],
    pub(super) tool_choice: ToolChoice,
    pub(super) messages: &'a [Value],
    /// The request's images and documents, in order.
    pub(super) media: &'a [Media],
    /// The index of the user turn whose own text holds the directives (the prompt that
    /// started a tool loop).
    pub(super) origin: usize,
    pub(super) directives: &'a Directives,
    /// The request ends with an assistant turn, to be continued.
    pub(super) continues: bool,
    /// The id of the last `server_tool_use` in that assistant turn.
    pub(super) paused_call: Option<String>,
    /// The server's configured delay between deltas.
    pub(super) delay: Duration,
}

impl Turn<'_> {
    /// The reply made of `blocks`, as the model would send it for this request: after its
    /// thinking when thinking is on, ended early by a stop sequence or by `max_tokens`, with
    /// its input split by the prompt cache.
    fn reply(&self, mut blocks: Vec<Block>, stop_reason: &'static str) -> Reply {
        let thought = blocks.first().is_some_and(|block| {
            matches!(
                block.kind,
                BlockKind::Thinking { .. } | BlockKind::RedactedThinking { .. }
            )
        });
        let budget = match self.thinking {
            Thinking::Off => None,
            Thinking::Adaptive => Some(THINKING_WORDS),
            Thinking::Budget(budget) => {
                Some(THINKING_WORDS.min(usize::try_from(budget).unwrap_or(usize::MAX)))
            }
        };
        if let Some(words) = budget
            && !thought
        {
            let thinking = reply::thinking_text(&self.prompt, self.model, words);
            blocks.insert(0, Block::thinking(thinking));
        }
        let mut input = cache::account(
            &self.units,
            self.min_cacheable,
            &mut lock(&self.state.prompt_cache),
        );
        if cache::total_tokens(&self.units) == 0 {
            input.input_tokens = 1;
        }
        let mut reply = Reply::new(
            format!("msg_fake_{}", self.number),
            self.model.to_string(),
            input,
            blocks,
            stop_reason,
        );
        reply.stop_at(&self.stop_sequences);
        reply.limit(self.max_tokens);
        reply
    }

    fn ok_reply(&self) -> Reply {
        let text = reply::ok_markdown(&self.prompt, self.model, self.words);
        self.reply(vec![Block::text(text, SHORT_GROUPS)], "end_turn")
    }

    /// Prose of `words:N` words (else `default_words`), split into `groups`-sized deltas.
    fn prose_reply(&self, default_words: usize, groups: &[usize]) -> Reply {
        let text = reply::prose(self.words.unwrap_or(default_words), true);
        self.reply(vec![Block::text(text, groups)], "end_turn")
    }

    /// A complete reply at the configured pace.
    fn complete(&self, reply: Reply) -> Answer {
        self.deliver(reply, self.delay, Ending::Complete, SseStyle::Named)
    }

    /// `blocks` as a complete reply that ends its turn.
    fn complete_blocks(&self, blocks: Vec<Block>) -> Answer {
        self.complete(self.reply(blocks, "end_turn"))
    }

    /// `reply` at the configured pace, ending as `ending`.
    fn ending(&self, reply: Reply, ending: Ending) -> Answer {
        self.deliver(reply, self.delay, ending, SseStyle::Named)
    }

    /// Sends `reply` as a stream or, when the request did not ask for one, as the closest
    /// non-streamed equivalent.
    fn deliver(&self, reply: Reply, delay: Duration, ending: Ending, style: SseStyle) -> Answer {
        if self.stream {
            return Answer::Stream {
                reply,
                delay,
                ending,
                style,
            };
        }
        match ending {
            Ending::Complete => Answer::Message {
                reply,
                delay,
                cut: false,
            },
            Ending::CutAfter(_) => Answer::Message {
                reply,
                delay,
                cut: true,
            },
            // A non-streamed request cannot fail mid-body; the real API answers 529.
            Ending::ErrorAfter(_) => overloaded(),
            Ending::HangAfterOpening => Answer::Silence,
        }
    }
}

/// The answer `scenario` gives to `turn`.
pub(super) fn answer_scenario(state: &ServerState, turn: &Turn<'_>, scenario: Scenario) -> Answer {
    match scenario {
        Scenario::Ok => turn.complete(turn.ok_reply()),
        Scenario::RateLimit if state.should_fail(scenario) => rate_limited(),
        Scenario::Overloaded if state.should_fail(scenario) => overloaded(),
        Scenario::RateLimit | Scenario::Overloaded => turn.complete(turn.ok_reply()),
        Scenario::Long => turn.complete(turn.prose_reply(2000, LONG_GROUPS)),
        Scenario::Slow => slow(turn),
        Scenario::Paced => paced(turn),
        Scenario::Hang => turn.ending(turn.ok_reply(), Ending::HangAfterOpening),
        Scenario::Cut => cut_halfway(turn),
        Scenario::MidstreamError => {
            turn.ending(turn.prose_reply(30, SHORT_GROUPS), Ending::ErrorAfter(3))
        }
        Scenario::SpendLimit => spend_limit(),
        Scenario::ServerError => Answer::error(500, "api_error", "Internal server error"),
        Scenario::Html502 => Answer::text(502, "text/html", HTML_502),
        Scenario::OpenaiError => Answer::text(400, "application/json", OPENAI_ERROR),
        Scenario::TooLarge => Answer::text(413, "text/plain; charset=utf-8", TOO_LARGE),
        Scenario::Thinking => {
            turn.complete_blocks(reply::thinking_blocks(&turn.prompt, turn.model))
        }
        Scenario::ToolUse => tool_use(turn),
        Scenario::CallTool => call_tool(turn),
        Scenario::Escapes => turn.complete_blocks(vec![reply::escapes_block(turn.model)]),
        Scenario::Bidi => turn.complete_blocks(vec![reply::bidi_block(turn.model)]),
        Scenario::HostileError => Answer::Error {
            status: 400,
            error: reply::hostile_error(),
            retry_after: None,
        },
        Scenario::NoEventLines => turn.deliver(
            turn.ok_reply(),
            turn.delay,
            Ending::Complete,
            SseStyle::DataOnlyCrlf,
        ),
        Scenario::MaxTokens => max_tokens(turn),
        Scenario::Redacted => redacted(turn),
        Scenario::ServerTool => server_tool(turn),
        Scenario::Citations => turn.complete_blocks(reply::cited_blocks()),
        Scenario::Refusal => refusal(turn),
        Scenario::PauseTurn => pause_turn(turn),
        Scenario::Attachments => attachments(turn),
    }
}

/// `rate-limit`: a 429 that says when to retry.
fn rate_limited() -> Answer {
    Answer::Error {
        status: 429,
        error: ApiError {
            error_type: "rate_limit_error",
            message: "Number of request tokens has exceeded your per-minute rate limit".to_string(),
            details: None,
        },
        retry_after: Some("1"),
    }
}

/// `overloaded`: the API's 529.
fn overloaded() -> Answer {
    Answer::Error {
        status: 529,
        error: reply::overloaded(),
        retry_after: None,
    }
}

/// `spend-limit`: a 429 that retrying will not cure (no `retry-after`, an error code saying why).
fn spend_limit() -> Answer {
    Answer::Error {
        status: 429,
        error: ApiError {
            error_type: "rate_limit_error",
            message: "You have reached your API usage limits. You will regain access on the 1st of next month at 00:00 UTC.".to_string(),
            details: Some(json!({"error_code": "enforced_spend_limit_reached"})),
        },
        retry_after: None,
    }
}

/// `slow`: prose at the configured pace, or at 50 ms a delta when none is configured.
fn slow(turn: &Turn<'_>) -> Answer {
    let delay = if turn.delay.is_zero() {
        SLOW_DEFAULT_DELAY
    } else {
        turn.delay
    };
    let reply = turn.prose_reply(200, SHORT_GROUPS);
    turn.deliver(reply, delay, Ending::Complete, SseStyle::Named)
}

/// `paced`: `group:N` words per delta, `rate:N` deltas a second.
fn paced(turn: &Turn<'_>) -> Answer {
    let delay = match turn.directives.rate.unwrap_or(PACED_DEFAULT_RATE) {
        0 => Duration::ZERO,
        rate => Duration::from_secs(1) / rate,
    };
    let reply = turn.prose_reply(2000, &[turn.directives.group.unwrap_or(1)]);
    turn.deliver(reply, delay, Ending::Complete, SseStyle::Named)
}

/// `cut`: prose whose body stops halfway through its deltas.
fn cut_halfway(turn: &Turn<'_>) -> Answer {
    let reply = turn.prose_reply(60, SHORT_GROUPS);
    let half = (reply.delta_count() / 2).max(1);
    turn.ending(reply, Ending::CutAfter(half))
}

/// `tool-use`: a reply that stops to call the request's first tool, or a plain reply when the
/// request has no tools (the model cannot call what it was not given).
fn tool_use(turn: &Turn<'_>) -> Answer {
    let results = tool_results(turn.messages);
    if !results.is_empty() {
        return turn.complete_blocks(vec![Block::text(quote_results(&results), SHORT_GROUPS)]);
    }
    let Some(tool) = turn.tools.iter().find(|tool| is_custom_tool(tool)) else {
        return turn.complete(turn.ok_reply());
    };
    if turn.tool_choice.kind == ToolChoiceKind::None {
        return turn.complete(turn.ok_reply());
    }
    let name = tool.get("name").and_then(Value::as_str).unwrap_or("tool");
    let input = if name == "get_weather" {
        reply::WEATHER_INPUT.to_string()
    } else {
        sample_input(tool.get("input_schema")).to_string()
    };
    let blocks = reply::tool_use_blocks(format!("toolu_fake_{}", turn.number), name, input);
    turn.complete(turn.reply(blocks, "tool_use"))
}

/// `call-tool`: calls `tool:NAME` with `args:{…}`, `calls:N` times in parallel, for `steps:N`
/// rounds; then answers the results by quoting each. Without `tool:` it calls the request's
/// first tool; without `args:` it makes up an input that fits the schema. A tool the request
/// does not offer cannot be called: the reply says so.
fn call_tool(turn: &Turn<'_>) -> Answer {
    let directives = turn.directives;
    let results = tool_results(turn.messages);
    let quoted = (!results.is_empty()).then(|| quote_results(&results));
    let rounds = turn.messages[turn.origin..]
        .iter()
        .filter(|message| !tool_results(std::slice::from_ref(message)).is_empty())
        .count();
    let steps = directives.steps.unwrap_or(1);
    if rounds >= steps {
        let text = quoted.unwrap_or_else(|| "Done.".to_string());
        return turn.complete_blocks(vec![Block::text(text, SHORT_GROUPS)]);
    }
    let custom = || turn.tools.iter().filter(|tool| is_custom_tool(tool));
    let wanted = match &turn.tool_choice.kind {
        ToolChoiceKind::Tool(forced) => Some(forced.as_str()),
        _ => directives.tool.as_deref(),
    };
    let tool = match wanted {
        Some(name) => custom().find(|tool| tool.get("name").and_then(Value::as_str) == Some(name)),
        None => custom().next(),
    };
    let Some(tool) = tool else {
        let offered: Vec<&str> = custom()
            .filter_map(|tool| tool.get("name").and_then(Value::as_str))
            .collect();
        let offered = if offered.is_empty() {
            "the request offers no tools".to_string()
        } else {
            format!("the request offers: {}", offered.join(", "))
        };
        let text = format!(
            "I cannot call `{}`: it is not among my tools ({offered}).",
            wanted.unwrap_or("a tool")
        );
        return turn.complete_blocks(vec![Block::text(text, SHORT_GROUPS)]);
    };
    let name = tool.get("name").and_then(Value::as_str).unwrap_or("tool");
    if turn.tool_choice.kind == ToolChoiceKind::None {
        let text = format!("Not calling `{name}`: tool_choice is none.");
        return turn.complete_blocks(vec![Block::text(text, SHORT_GROUPS)]);
    }
    let input = match (&directives.args, &turn.tool_choice.kind) {
        (Some(Err(error)), _) => return Answer::error(400, "invalid_request_error", error.clone()),
        // A forced tool other than the one asked for gets an input of its own.
        (_, ToolChoiceKind::Tool(forced)) if directives.tool.as_ref() != Some(forced) => {
            sample_input(tool.get("input_schema"))
        }
        (Some(Ok(args)), _) => Value::Object(args.clone()),
        (None, _) => sample_input(tool.get("input_schema")),
    };
    let calls = if turn.tool_choice.one_call {
        1
    } else {
        directives.calls.unwrap_or(1)
    };
    let intro = match calls {
        1 => format!("Let me call `{name}` for you."),
        n => format!("Let me call `{name}` {n} times at once."),
    };
    let text = match quoted {
        Some(quoted) => format!("{quoted}\n\nRound {} of {steps}: {intro}", rounds + 1),
        None => intro,
    };
    let mut blocks = vec![Block::text(text, SHORT_GROUPS)];
    for call in 1..=calls {
        blocks.push(Block::tool_call(
            BlockKind::ToolUse {
                id: format!("toolu_fake_{}_{call}", turn.number),
                name: name.to_string(),
            },
            input.to_string(),
        ));
    }
    turn.complete(turn.reply(blocks, "tool_use"))
}

/// The `tool_result` blocks of the last message, when it is a user turn.
fn tool_results(messages: &[Value]) -> Vec<&Value> {
    let Some(last) = messages
        .last()
        .filter(|message| message.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return Vec::new();
    };
    last.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
        .collect()
}

/// `Tool result for ID: TEXT` per result (`ID (error)` when `is_error`), a paragraph each, so
/// a test sees exactly what came back.
fn quote_results(results: &[&Value]) -> String {
    results
        .iter()
        .map(|result| {
            let id = result
                .get("tool_use_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mark = if result.get("is_error") == Some(&Value::Bool(true)) {
                " (error)"
            } else {
                ""
            };
            format!("Tool result for {id}{mark}: {}", result_text(result))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A result's content as text: its text blocks, `[image]` (or the block's type) for the rest.
fn result_text(result: &Value) -> String {
    let text = match result.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|part| match part.get("type").and_then(Value::as_str) {
                Some("text") => part
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                kind => format!("[{}]", kind.unwrap_or("block")),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    if text.trim().is_empty() {
        "(empty)".to_string()
    } else {
        text
    }
}

/// An input that fits a tool's `input_schema`: a sample value for each property.
fn sample_input(schema: Option<&Value>) -> Value {
    let mut input = Map::new();
    let properties = schema
        .and_then(|schema| schema.get("properties"))
        .and_then(Value::as_object);
    for (key, property) in properties.into_iter().flatten() {
        let value = match property.get("type").and_then(Value::as_str) {
            Some("string") => json!("tern"),
            Some("integer" | "number") => json!(1),
            Some("boolean") => json!(true),
            Some("array") => json!([]),
            Some("object") => json!({}),
            _ => Value::Null,
        };
        input.insert(key.clone(), value);
    }
    Value::Object(input)
}

/// `max-tokens`: prose cut off mid-sentence by the token limit (`words:N` words when that is
/// less than `max_tokens`).
fn max_tokens(turn: &Turn<'_>) -> Answer {
    let limit = usize::try_from(turn.max_tokens).unwrap_or(MAX_WORDS);
    let words = turn.words.unwrap_or(limit + 10).min(MAX_WORDS);
    let text = reply::prose(words, false);
    turn.complete(turn.reply(vec![Block::text(text, SHORT_GROUPS)], "max_tokens"))
}

/// `redacted`: thinking, a `redacted_thinking` block, then the answer.
fn redacted(turn: &Turn<'_>) -> Answer {
    let mut blocks = reply::thinking_blocks(&turn.prompt, turn.model);
    blocks.insert(
        1,
        reply::redacted_block(&format!("msg_fake_{}", turn.number)),
    );
    turn.complete_blocks(blocks)
}

/// `server-tool`: a web search the server runs, its results, and an answer citing them.
fn server_tool(turn: &Turn<'_>) -> Answer {
    let id = format!("srvtoolu_fake_{}", turn.number);
    let mut reply = turn.reply(reply::server_tool_blocks(&id, &turn.prompt), "end_turn");
    reply.web_search_requests = 1;
    turn.complete(reply)
}

/// `refusal`: the start of an answer, then the classifiers stop it.
fn refusal(turn: &Turn<'_>) -> Answer {
    let text = "I can't help with".to_string();
    turn.complete(turn.reply(vec![Block::text(text, SHORT_GROUPS)], "refusal"))
}

/// `pause-turn`: a long server-side turn paused mid-search; sent back as it is (the request
/// then ends with that assistant turn), it is finished with the results and a cited answer.
fn pause_turn(turn: &Turn<'_>) -> Answer {
    let id = format!("srvtoolu_fake_{}", turn.number);
    if turn.continues {
        let blocks = reply::server_tool_blocks(&id, &turn.prompt);
        let mut reply = turn.reply(blocks.into_iter().skip(1).collect(), "end_turn");
        for block in &mut reply.blocks {
            if let BlockKind::WebSearchToolResult { tool_use_id, .. } = &mut block.kind {
                *tool_use_id = turn.paused_call.clone().unwrap_or_else(|| id.clone());
            }
        }
        reply.web_search_requests = 1;
        return turn.complete(reply);
    }
    let query: String = turn.prompt.chars().take(40).collect();
    let blocks = vec![
        Block::text("Let me search the web for that.".to_string(), SHORT_GROUPS),
        reply::web_search_call(&id, query.trim()),
    ];
    turn.complete(turn.reply(blocks, "pause_turn"))
}

/// `attachments`: what the last user turn and the whole request carried, a line each.
fn attachments(turn: &Turn<'_>) -> Answer {
    let last_user = turn
        .messages
        .iter()
        .rposition(|message| message.get("role").and_then(Value::as_str) == Some("user"));
    let text = media::describe(turn.media, last_user);
    turn.complete_blocks(vec![Block::text(text, SHORT_GROUPS)])
}
