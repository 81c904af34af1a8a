//! Will the next request fit the model's context window? Checked before sending, so an
//! oversized turn is caught before the round trip and the server's error.
//!
//! Exact where the endpoint can say: once the input has been still for [`COUNT_AFTER`] (and
//! after each reply), the app asks `POST /v1/messages/count_tokens` for the request it would
//! send ([`TokenCounts`] keeps the answer with what it counted, a [`CountBasis`]). A count
//! holds while the history, model and settings it was made for are unchanged; the warning
//! uses it when the prompt is the one counted, the context meter whatever the draft.
//!
//! Otherwise estimated. The history up to the last finished reply has an exact size: that
//! reply's usage (its input plus its output). Text after it (later turns and the new prompt)
//! is estimated: about four characters a token, one token per wide (CJK) character. The
//! reply's `max_tokens` counts too, since newer models reject a request whose input plus
//! `max_tokens` exceeds the window. The estimate is rough on purpose; the user is asked, never
//! blocked, and a send never waits for a count.

use std::time::Duration;

use crate::api::types::MessageContent;
use crate::api::{ContentBlock, MessagesRequest, RequestMessage, Role};

use super::history::Turn;
use super::{ChatMessage, Settings};
use crate::store::MessageStatus;

use super::{App, Pane};

/// Tokens `text` is likely to take.
pub fn estimate_tokens(text: &str) -> u64 {
    let mut estimate = TokenEstimate::default();
    estimate.add(text);
    estimate.tokens()
}

/// [`estimate_tokens`] of a text that grows, fed only what is new.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenEstimate {
    narrow: u64,
    wide: u64,
}

impl TokenEstimate {
    pub fn add(&mut self, more: &str) {
        for c in more.chars() {
            match unicode_width::UnicodeWidthChar::width(c) {
                Some(2..) => self.wide += 1,
                _ => self.narrow += 1,
            }
        }
    }

    pub fn tokens(&self) -> u64 {
        self.narrow.div_ceil(4) + self.wide
    }
}

/// Estimated input tokens of the request that would send `prompt` next in `pane`.
pub fn request_estimate(pane: &Pane, prompt: &str) -> u64 {
    let base = pane
        .messages
        .iter()
        .rposition(|m| m.status() == MessageStatus::Complete && m.stored.usage.is_some());
    let (known, rest) = match base {
        Some(i) => {
            let usage = pane.messages[i].stored.usage.unwrap_or_default();
            (
                usage.total_input() + usage.output_tokens,
                &pane.messages[i + 1..],
            )
        }
        None => (
            pane.conversation
                .system
                .as_deref()
                .map_or(0, estimate_tokens),
            &pane.messages[..],
        ),
    };
    known + rest.iter().map(|m| estimate_tokens(&m.text)).sum::<u64>() + estimate_tokens(prompt)
}

/// How long the input must be still before its request is counted.
pub const COUNT_AFTER: Duration = Duration::from_millis(600);

/// What a count was made for: the pane's history (its length and last message's version),
/// model, system prompt and parameters, and the prompt. Another basis is another request.
#[derive(Debug, Clone, PartialEq)]
pub struct CountBasis {
    model: String,
    turns: usize,
    last: Option<(String, u64)>,
    system: Option<String>,
    params: crate::store::Params,
    prompt: String,
}

impl CountBasis {
    pub fn of(pane: &Pane, prompt: &str) -> CountBasis {
        CountBasis {
            model: pane.model.clone(),
            turns: pane.messages.len(),
            last: pane
                .messages
                .last()
                .map(|m| (m.stored.id.clone(), m.version)),
            system: pane.conversation.system.clone(),
            params: pane.conversation.params.clone(),
            prompt: prompt.to_owned(),
        }
    }

    /// The prompt counted.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// Whether it was made for `pane` as it is now, whatever the prompt (no copies: the view
    /// asks on every frame).
    fn is_for(&self, pane: &Pane) -> bool {
        self.model == pane.model
            && self.turns == pane.messages.len()
            && self.last.as_ref().map(|(id, v)| (id.as_str(), *v))
                == pane
                    .messages
                    .last()
                    .map(|m| (m.stored.id.as_str(), m.version))
            && self.system == pane.conversation.system
            && self.params == pane.conversation.params
    }
}

/// A pane's token counts: the one asked for, and the last answer with what it counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenCounts {
    /// The draft a count was last scheduled or asked for: a count is scheduled again only
    /// once the draft differs.
    pub scheduled_for: Option<String>,
    /// The number of the last count asked for.
    pub generation: u64,
    /// The last count asked for, until it is answered (one that failed never is).
    pub pending: Option<(u64, CountBasis)>,
    /// The last count and what it counted.
    pub last: Option<(CountBasis, u64)>,
}

impl TokenCounts {
    /// The exact input tokens of the request that would send `prompt` next in `pane`.
    pub fn exact(&self, pane: &Pane, prompt: &str) -> Option<u64> {
        let (basis, n) = self.last.as_ref()?;
        (basis.prompt == prompt && basis.is_for(pane)).then_some(*n)
    }

    /// The last count made for `pane`'s history as it is now (whatever draft it counted).
    pub fn current(&self, pane: &Pane) -> Option<u64> {
        let (basis, n) = self.last.as_ref()?;
        basis.is_for(pane).then_some(*n)
    }

    /// Whether the last count is the one for `basis`.
    pub fn counted(&self, basis: &CountBasis) -> bool {
        self.last.as_ref().is_some_and(|(b, _)| b == basis)
    }
}

/// The prompt a draft would send: a blank draft sends nothing, `//text` sends `/text`.
pub fn prompt_of(draft: &str) -> &str {
    if draft.trim().is_empty() {
        ""
    } else if draft.starts_with("//") {
        &draft[1..]
    } else {
        draft
    }
}

/// The request Enter on `prompt` would send in `pane` (`""`: the history alone, its last
/// reply included). The pane's own request with its messages built again by the history's
/// rule with `prompt` as the next turn: replies after the last prompt go back only once a
/// prompt follows them, and an unanswered prompt is joined with the next one.
pub fn request_with_prompt(pane: &Pane, settings: &Settings, prompt: &str) -> MessagesRequest {
    let (mut request, _) = pane.build_request_noted(settings);
    let contents: Vec<_> = pane.messages.iter().map(ChatMessage::content).collect();
    let draft = [ContentBlock::text(prompt)];
    let next = Turn {
        role: Role::User,
        content: if prompt.is_empty() { &[] } else { &draft },
        model: None,
        refused: false,
    };
    let turns = pane
        .messages
        .iter()
        .zip(&contents)
        .map(|(m, content)| Turn {
            role: m.role(),
            content,
            model: m.stored.model.as_deref(),
            refused: m.stored.stop_reason.as_deref() == Some("refusal"),
        });
    let mut messages = super::history::request_messages(turns.chain([next]), &pane.model);
    let empty = |m: &RequestMessage| match &m.content {
        MessageContent::Text(text) => text.is_empty(),
        MessageContent::Blocks(blocks) => blocks.is_empty(),
    };
    if messages.last().is_some_and(empty) {
        messages.pop();
    }
    request.messages = messages;
    request
}

/// A prompt that would not fit the context window, with the figures shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversize {
    pub prompt: String,
    pub model: String,
    /// Input tokens of the request: counted by the endpoint when `exact`, else estimated.
    pub input: u64,
    pub exact: bool,
    pub max_tokens: u64,
    pub window: u64,
}

impl Oversize {
    /// The whole story, for the input box while the prompt is unchanged (what to do first, so
    /// a narrow screen cuts only the figures).
    pub fn describe(&self, send_key: &str) -> String {
        format!(
            "{send_key} sends anyway · {}{} tokens + {} for the reply exceed the {} context window of {}",
            if self.exact { "" } else { "~" },
            crate::format::format_tokens(self.input),
            crate::format::format_tokens(self.max_tokens),
            crate::format::format_tokens(self.window),
            self.model,
        )
    }
}

/// The request that would send `prompt` next does not fit the active model's window, and the
/// user was not already told about this very text.
pub fn oversize(app: &App, prompt: &str) -> Option<Oversize> {
    let pane = app.pane();
    if pane
        .confirmed_oversize
        .as_ref()
        .is_some_and(|o| o.prompt == prompt)
    {
        return None;
    }
    let spec = app.model_spec(&pane.model)?;
    let exact = pane.token_counts.exact(pane, prompt);
    let input = exact.unwrap_or_else(|| request_estimate(pane, prompt));
    let max_tokens = u64::from(pane.max_tokens(&app.settings));
    (input + max_tokens > spec.context_window).then(|| Oversize {
        prompt: prompt.to_owned(),
        model: pane.model.clone(),
        input,
        exact: exact.is_some(),
        max_tokens,
        window: spec.context_window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_characters_a_token_and_one_per_wide_character() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("日本語"), 3);
        assert_eq!(estimate_tokens("hi 日本"), 3);
    }

    #[test]
    fn an_estimate_fed_piece_by_piece_is_the_estimate_of_the_whole() {
        let text = "The Arctic tern 日本 flies far, every year.";
        let mut estimate = TokenEstimate::default();
        for piece in ["The Arc", "tic tern 日", "本 flies far,", " every year."] {
            estimate.add(piece);
        }
        assert_eq!(estimate.tokens(), estimate_tokens(text));
    }

    #[test]
    fn a_draft_sends_what_enter_would_send() {
        assert_eq!(prompt_of("  \n "), "");
        assert_eq!(prompt_of("//usr"), "/usr");
        assert_eq!(prompt_of("hi"), "hi");
    }
}
