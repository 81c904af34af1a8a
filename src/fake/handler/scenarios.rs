//! Each [`Scenario`]'s answer to a validated request ([`Turn`]): a reply at some pace and with
//! some ending, or a refusal shaped as the real API (or a gateway in front of it) sends it.
//!
//! One match names every scenario, so a new one is a compile error until it is answered here;
//! each arm is a line, the longer answers are functions of their own below it.

use std::time::Duration;

use serde_json::json;

use super::super::ServerState;
use super::super::reply::{self, Block, LONG_GROUPS, Reply, SHORT_GROUPS};
use super::super::scenario::Scenario;
use super::super::wire::ApiError;
use super::answer::{Answer, Ending, SseStyle};

/// The body of the `html-502` scenario, as nginx sends it.
const HTML_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

/// The body of the `openai-error` scenario, in OpenAI's field order.
const OPENAI_ERROR: &str = r#"{"error":{"message":"Invalid request: this error uses the OpenAI envelope (tern fake server)","type":"invalid_request_error","param":null,"code":"400"}}"#;

/// The body of the `too-large` scenario, as a proxy in front of the API sends it.
const TOO_LARGE: &str =
    "413 Request Entity Too Large: the request exceeds the maximum allowed number of bytes\n";

/// Delay between deltas for `slow` when the server has no delay configured.
const SLOW_DEFAULT_DELAY: Duration = Duration::from_millis(50);

/// A validated `POST /v1/messages`: what the scenarios build their reply from.
pub(super) struct Turn<'a> {
    pub(super) number: u64,
    pub(super) model: &'a str,
    pub(super) prompt: String,
    /// `words:N` from the prompt.
    pub(super) words: Option<usize>,
    pub(super) stream: bool,
    pub(super) input_tokens: u64,
    /// The server's configured delay between deltas.
    pub(super) delay: Duration,
}

impl Turn<'_> {
    fn reply(&self, blocks: Vec<Block>, stop_reason: &'static str) -> Reply {
        Reply {
            id: format!("msg_fake_{}", self.number),
            model: self.model.to_string(),
            input_tokens: self.input_tokens,
            blocks,
            stop_reason,
        }
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

/// `cut`: prose whose body stops halfway through its deltas.
fn cut_halfway(turn: &Turn<'_>) -> Answer {
    let reply = turn.prose_reply(60, SHORT_GROUPS);
    let half = (reply.delta_count() / 2).max(1);
    turn.ending(reply, Ending::CutAfter(half))
}

/// `tool-use`: a reply that stops to call a tool.
fn tool_use(turn: &Turn<'_>) -> Answer {
    let blocks = reply::tool_use_blocks(format!("toolu_fake_{}", turn.number));
    turn.complete(turn.reply(blocks, "tool_use"))
}

/// `max-tokens`: prose cut off mid-sentence by the token limit.
fn max_tokens(turn: &Turn<'_>) -> Answer {
    let text = reply::prose(turn.words.unwrap_or(60), false);
    turn.complete(turn.reply(vec![Block::text(text, SHORT_GROUPS)], "max_tokens"))
}
