//! The fake server's scenarios, and the prompt directives that pick one per request.
//!
//! A scenario is chosen by name so that a human at the TUI can trigger it by typing
//! `scenario:NAME` into a prompt, and a test can do the same without reconfiguring the server.
//! [`Scenario::ALL`] and the one `match` in `Scenario::info` are the only places that list them;
//! names, parsing and `--help` text all come from there.

use std::fmt;
use std::str::FromStr;

/// How the fake server answers one `POST /v1/messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scenario {
    #[default]
    Ok,
    Long,
    Slow,
    /// `paced`: `group:N` words per delta (default 1) at `rate:N` deltas a second (default
    /// 100; `rate:0` as fast as the socket takes them), `words:N` words (default 2000): a real
    /// model's pace, for measuring what a streamed token costs.
    Paced,
    Hang,
    Cut,
    MidstreamError,
    RateLimit,
    Overloaded,
    SpendLimit,
    ServerError,
    Html502,
    OpenaiError,
    TooLarge,
    Thinking,
    ToolUse,
    CallTool,
    Escapes,
    Bidi,
    HostileError,
    NoEventLines,
    MaxTokens,
    Redacted,
    ServerTool,
    Citations,
    Refusal,
    PauseTurn,
    /// `attachments`: a plain-text reply saying which images and documents the request
    /// carried, for tests to parse. A first line `attachments: N in this turn, M in the
    /// request` (this turn is the last user turn, tool results included), then one line per
    /// image or document of this turn, in order:
    ///
    /// - `image image/png 640×480` (the media type, and the size read from the bytes), or
    ///   `image url https://…`;
    /// - `document application/pdf "paper.pdf" 3 pages citations=off`,
    ///   `document text/plain "main.rs" 42 lines 1200 chars citations=on`,
    ///   `document content "notes" 2 blocks citations=off` or
    ///   `document url "spec" https://… citations=off` (the title as a quoted string with its
    ///   escapes, or `untitled`);
    ///
    /// and a last line `request: 3 images, 2 documents, 12 PDF pages` for the whole request.
    Attachments,
}

impl Scenario {
    /// Every scenario, in `--help` order.
    pub const ALL: [Scenario; 28] = [
        Scenario::Ok,
        Scenario::Long,
        Scenario::Slow,
        Scenario::Paced,
        Scenario::Hang,
        Scenario::Cut,
        Scenario::MidstreamError,
        Scenario::RateLimit,
        Scenario::Overloaded,
        Scenario::SpendLimit,
        Scenario::ServerError,
        Scenario::Html502,
        Scenario::OpenaiError,
        Scenario::TooLarge,
        Scenario::Thinking,
        Scenario::ToolUse,
        Scenario::CallTool,
        Scenario::Escapes,
        Scenario::Bidi,
        Scenario::HostileError,
        Scenario::NoEventLines,
        Scenario::MaxTokens,
        Scenario::Redacted,
        Scenario::ServerTool,
        Scenario::Citations,
        Scenario::Refusal,
        Scenario::PauseTurn,
        Scenario::Attachments,
    ];

    /// `(name, one-line description)`.
    fn info(self) -> (&'static str, &'static str) {
        match self {
            Scenario::Ok => (
                "ok",
                "markdown reply echoing the prompt (heading, list, inline code, rust block)",
            ),
            Scenario::Long => (
                "long",
                "long reply of readable paragraphs, `words:N` words (default 2000), full speed",
            ),
            Scenario::Slow => (
                "slow",
                "like long (default 200 words) with a delay between deltas (default 50 ms)",
            ),
            Scenario::Paced => (
                "paced",
                "`group:N` words (1) per delta, `rate:N` deltas/s (100; 0: no pause), `words:N` (2000)",
            ),
            Scenario::Hang => (
                "hang",
                "message_start and a ping, then silence until the client goes away",
            ),
            Scenario::Cut => (
                "cut",
                "part of the reply, then the connection is closed mid-body",
            ),
            Scenario::MidstreamError => (
                "midstream-error",
                "some text, then an `error` event (overloaded_error); 529 when not streaming",
            ),
            Scenario::RateLimit => (
                "rate-limit",
                "429 rate_limit_error with retry-after: 1 once, then success",
            ),
            Scenario::Overloaded => ("overloaded", "529 overloaded_error twice, then success"),
            Scenario::SpendLimit => (
                "spend-limit",
                "429 enforced_spend_limit_reached, no retry-after, every time",
            ),
            Scenario::ServerError => ("server-error", "500 api_error every time"),
            Scenario::Html502 => ("html-502", "502 with an nginx HTML page, every time"),
            Scenario::OpenaiError => ("openai-error", "400 with an OpenAI-shaped error envelope"),
            Scenario::TooLarge => ("too-large", "413 with a plain-text (non-JSON) body"),
            Scenario::Thinking => (
                "thinking",
                "a thinking block (thinking_delta + signature_delta), then a text block",
            ),
            Scenario::ToolUse => (
                "tool-use",
                "a text block, then a call of the request's first tool (input streamed as \
                 input_json_delta), stop_reason tool_use; a plain reply without tools; \
                 tool results are answered by quoting them",
            ),
            Scenario::CallTool => (
                "call-tool",
                "calls `tool:NAME` with `args:{JSON}` (`calls:N` parallel calls, `steps:N` rounds), \
                 then answers the tool_result blocks by quoting each; says so when NAME is not \
                 in the request's tools",
            ),
            Scenario::Escapes => (
                "escapes",
                "reply text full of terminal escape sequences (SGR, OSC 52, title, CR, BEL)",
            ),
            Scenario::Bidi => (
                "bidi",
                "reply text with bidi overrides and invisible characters (U+202E, U+200B, U+FEFF, …)",
            ),
            Scenario::HostileError => (
                "hostile-error",
                "400 whose error.type and error.message hold OSC 0/52, CSI 2J and bidi characters",
            ),
            Scenario::NoEventLines => (
                "no-event-lines",
                "normal reply with only `data:` lines, a `: keep-alive` comment and CRLF line ends",
            ),
            Scenario::MaxTokens => (
                "max-tokens",
                "prose cut mid-sentence at max_tokens (or after `words:N`), stop_reason max_tokens",
            ),
            Scenario::Redacted => (
                "redacted",
                "a thinking block, a redacted_thinking block, then a text block",
            ),
            Scenario::ServerTool => (
                "server-tool",
                "server_tool_use (web_search), web_search_tool_result, then text with citations",
            ),
            Scenario::Citations => (
                "citations",
                "an answer split into several text blocks, some with citations (char_location)",
            ),
            Scenario::Refusal => (
                "refusal",
                "the start of an answer, then stop_reason refusal with stop_details",
            ),
            Scenario::PauseTurn => (
                "pause-turn",
                "a web search paused with stop_reason pause_turn; sent back as is, it finishes",
            ),
            Scenario::Attachments => (
                "attachments",
                "says, a line each, which images and documents the last user turn carried (type, \
                 size, pages, lines, citations), and counts those of the whole request",
            ),
        }
    }

    /// The kebab-case name used in `scenario:NAME` and `--scenario NAME`.
    pub fn name(self) -> &'static str {
        self.info().0
    }

    /// One line for `--help` and the standalone server's banner.
    pub fn description(self) -> &'static str {
        self.info().1
    }

    /// How many requests fail before one succeeds, for the "fail N times, then succeed" scenarios.
    pub(crate) fn failures_before_success(self) -> u32 {
        match self {
            Scenario::RateLimit => 1,
            Scenario::Overloaded => 2,
            _ => 0,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not in [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario `{name}`; known: {}", known_names())]
pub struct ParseScenarioError {
    pub name: String,
}

fn known_names() -> String {
    Scenario::ALL.map(Scenario::name).join(", ")
}

impl FromStr for Scenario {
    type Err = ParseScenarioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseScenarioError {
                name: s.to_string(),
            })
    }
}

/// What a prompt asked of the fake server: `scenario:NAME`, `words:N`, `rate:N`, `group:N`, and for `call-tool`
/// `tool:NAME`, `args:{…}`, `calls:N` and `steps:N`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Directives {
    /// `Some(Ok(_))` for a known name, `Some(Err(_))` for a typo, `None` when absent.
    pub scenario: Option<Result<Scenario, ParseScenarioError>>,
    pub words: Option<usize>,
    /// `rate:N`: deltas a second for `paced` (up to [`MAX_RATE`]; 0: no pause).
    pub rate: Option<u32>,
    /// `group:N`: words per delta for `paced` (1..=[`MAX_GROUP`]).
    pub group: Option<usize>,
    /// `tool:NAME`: the tool to call.
    pub tool: Option<String>,
    /// `args:{…}`: its input, a JSON object running to its matching brace; `Err` says why it
    /// is not one.
    pub args: Option<Result<serde_json::Map<String, serde_json::Value>, String>>,
    /// `calls:N`: parallel calls per reply (1..=[`MAX_CALLS`]).
    pub calls: Option<usize>,
    /// `steps:N`: rounds of calls before the answer (1..=[`MAX_STEPS`]).
    pub steps: Option<usize>,
}

/// Upper bound for `words:N`, so a typo cannot make the server build a gigabyte reply.
pub(crate) const MAX_WORDS: usize = 2_000_000;
/// Upper bound for `rate:N`.
pub(crate) const MAX_RATE: u32 = 100_000;
/// Upper bound for `group:N`.
pub(crate) const MAX_GROUP: usize = 1_000;
/// Upper bound for `calls:N`.
pub(crate) const MAX_CALLS: usize = 16;
/// Upper bound for `steps:N`, above any client's step cap worth testing.
pub(crate) const MAX_STEPS: usize = 100;

impl Directives {
    /// Reads the first of each directive found in `text`.
    pub fn parse(text: &str) -> Directives {
        let scenario = value_after(text, "scenario:", |c| c.is_ascii_alphanumeric() || c == '-')
            .map(|name| name.parse::<Scenario>());
        let words = value_after(text, "words:", |c| c.is_ascii_digit())
            .and_then(|digits| digits.parse::<usize>().ok())
            .map(|n| n.min(MAX_WORDS));
        let count = |key: &str, max: usize| {
            directive(text, key)
                .and_then(|rest| leading(rest, |c| c.is_ascii_digit()))
                .and_then(|digits| digits.parse::<usize>().ok())
                .map(|n| n.clamp(1, max))
        };
        let tool = directive(text, "tool:")
            .and_then(|rest| leading(rest, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map(String::from);
        let rate = directive(text, "rate:")
            .and_then(|rest| leading(rest, |c| c.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
            .map(|n| n.min(MAX_RATE));
        Directives {
            scenario,
            words,
            rate,
            group: count("group:", MAX_GROUP),
            tool,
            args: directive(text, "args:").map(json_object),
            calls: count("calls:", MAX_CALLS),
            steps: count("steps:", MAX_STEPS),
        }
    }
}

/// What follows the first `key` in `text` that starts a word (so `tool:` is not found in
/// `mytool:`).
fn directive<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.match_indices(key).find_map(|(at, _)| {
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        starts_word.then(|| &text[at + key.len()..])
    })
}

/// The run of `allowed` characters that starts `rest`, when it is not empty.
fn leading(rest: &str, allowed: impl Fn(char) -> bool) -> Option<&str> {
    let end = rest.find(|c: char| !allowed(c)).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The JSON object at the start of `rest`, up to its matching brace (braces inside strings do
/// not count).
fn json_object(rest: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if !rest.starts_with('{') {
        return Err("args: expected a JSON object right after `args:`".to_string());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut end = None;
    for (at, c) in rest.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(at + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end.ok_or_else(|| "args: the JSON object has no closing brace".to_string())?;
    serde_json::from_str(&rest[..end]).map_err(|error| format!("args: not a JSON object: {error}"))
}

/// The run of `allowed` characters right after the first `key` in `text` that has one.
fn value_after<'a>(text: &'a str, key: &str, allowed: impl Fn(char) -> bool) -> Option<&'a str> {
    text.match_indices(key).find_map(|(at, _)| {
        let rest = &text[at + key.len()..];
        let end = rest.find(|c: char| !allowed(c)).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_scenario_once() {
        let names: std::collections::HashSet<_> = Scenario::ALL.map(Scenario::name).into();
        assert_eq!(names.len(), Scenario::ALL.len());
    }

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.to_string().parse::<Scenario>(), Ok(scenario));
            assert!(!scenario.description().is_empty());
        }
        assert_eq!(
            "MIDSTREAM-ERROR".parse::<Scenario>(),
            Ok(Scenario::MidstreamError)
        );
        let err = "nope".parse::<Scenario>().unwrap_err();
        assert!(err.to_string().contains("html-502"), "{err}");
    }

    #[test]
    fn directives_are_found_anywhere_in_the_prompt() {
        let d = Directives::parse("tell me a story scenario:slow words:12, please");
        assert_eq!(d.scenario, Some(Ok(Scenario::Slow)));
        assert_eq!(d.words, Some(12));

        let d = Directives::parse("scenario:bogus");
        assert!(matches!(d.scenario, Some(Err(_))));

        let d = Directives::parse("no directives: words: 5, scenario: ok");
        assert_eq!(d, Directives::default());

        assert_eq!(
            Directives::parse("words:99999999999999999999999").words,
            None
        );
        assert_eq!(Directives::parse("words:9999999999").words, Some(MAX_WORDS));

        let d = Directives::parse("scenario:paced rate:0 group:0");
        assert_eq!((d.rate, d.group), (Some(0), Some(1)));
        let d = Directives::parse("scenario:paced rate:99999999 group:5");
        assert_eq!((d.rate, d.group), (Some(MAX_RATE), Some(5)));
    }

    #[test]
    fn call_tool_directives_read_a_name_an_object_and_counts() {
        let d = Directives::parse(
            r#"please scenario:call-tool tool:files__read_file args:{"path":"a } \" {b.txt","n":{"deep":[1]}} calls:3 steps:2 thanks"#,
        );
        assert_eq!(d.scenario, Some(Ok(Scenario::CallTool)));
        assert_eq!(d.tool.as_deref(), Some("files__read_file"));
        let args = d.args.unwrap().unwrap();
        assert_eq!(args["path"], r#"a } " {b.txt"#);
        assert_eq!(args["n"]["deep"][0], 1);
        assert_eq!((d.calls, d.steps), (Some(3), Some(2)));

        let d = Directives::parse("mytool:x tool: y xargs:{} calls:0 steps:999");
        assert_eq!((d.tool, d.args), (None, None));
        assert_eq!((d.calls, d.steps), (Some(1), Some(MAX_STEPS)));

        for bad in [r#"args:{"a":1"#, "args:[1]", r#"args:{"a":}"#] {
            assert!(matches!(Directives::parse(bad).args, Some(Err(_))), "{bad}");
        }
    }
}
