//! Will the next request fit the model's context window? Checked before sending, so an
//! oversized turn is caught before the round trip and the server's error.
//!
//! The history up to the last finished reply has an exact size: that reply's usage (its input
//! plus its output). Text after it (later turns and the new prompt) is estimated: about four
//! characters a token, one token per wide (CJK) character. The reply's `max_tokens` counts too,
//! since newer models reject a request whose input plus `max_tokens` exceeds the window. The
//! estimate is rough on purpose; the user is asked, never blocked.

use crate::store::MessageStatus;

use super::{App, Pane};

/// Tokens `text` is likely to take.
pub fn estimate_tokens(text: &str) -> u64 {
    let (mut narrow, mut wide) = (0u64, 0u64);
    for c in text.chars() {
        match unicode_width::UnicodeWidthChar::width(c) {
            Some(2..) => wide += 1,
            _ => narrow += 1,
        }
    }
    narrow.div_ceil(4) + wide
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

/// A prompt that would not fit the context window, with the figures shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversize {
    pub prompt: String,
    pub model: String,
    /// Estimated input tokens of the request.
    pub input: u64,
    pub max_tokens: u64,
    pub window: u64,
}

impl Oversize {
    /// The whole story, for the input box while the prompt is unchanged (what to do first, so
    /// a narrow screen cuts only the figures).
    pub fn describe(&self, send_key: &str) -> String {
        format!(
            "{send_key} sends anyway · ~{} tokens + {} for the reply exceed the {} context window of {}",
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
    let input = request_estimate(pane, prompt);
    let max_tokens = u64::from(pane.max_tokens(&app.settings));
    (input + max_tokens > spec.context_window).then(|| Oversize {
        prompt: prompt.to_owned(),
        model: pane.model.clone(),
        input,
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
}
