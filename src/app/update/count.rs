//! Token counts of the next request: when to ask for one, and what to keep of the answer.
//!
//! A count is asked for once the draft has been still for [`COUNT_AFTER`] (each change moves
//! the one [`Timer::CountTokens`]), and when a reply ends with a draft typed meanwhile. Only a
//! request ending with a prompt is counted (the one Enter sends; after a reply, its usage
//! sizes the history). It is never asked for while a reply streams, for a request already
//! counted, or once the endpoint is known to lack count_tokens; the driver says so
//! ([`TokenCount::Absent`]) and remembers it per base URL. Nothing waits for an answer: a send goes out with or without one.

use super::slash::is_command_word;
use crate::app::context::CountBasis;
use crate::app::*;

impl App {
    /// Counting is possible: there is a key, and the endpoint was not found to lack it.
    fn counting(&self) -> bool {
        self.settings.has_key && !self.count_tokens_absent
    }

    /// After each update: when the shown draft changed since its count was asked for, wait
    /// for it to be still (the timer moves with each change).
    pub(super) fn schedule_count(&mut self, effects: &mut Vec<Effect>) {
        if !self.counting() || self.should_quit {
            return;
        }
        let pane = &mut self.panes[self.active];
        if pane.is_busy() {
            return;
        }
        let draft = pane.input_text();
        if pane.token_counts.scheduled_for.as_deref() == Some(draft.as_str()) {
            return;
        }
        // A new conversation with nothing typed has no request to count.
        let something = !pane.messages.is_empty() || !prompt_of(&draft).is_empty();
        pane.token_counts.scheduled_for = Some(draft);
        if something {
            effects.push(Effect::Schedule {
                timer: Timer::CountTokens,
                after: COUNT_AFTER,
            });
        }
    }

    /// Ask for the count of the request pane `index` would send with its draft now, unless
    /// it is counted already. (One asked for and not answered may have failed, silently: it
    /// does not stop a new one.)
    pub(super) fn count_tokens(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if !self.counting() || index >= self.panes.len() || self.panes[index].is_busy() {
            return;
        }
        let settings = self.settings.clone();
        let pane = &mut self.panes[index];
        let draft = pane.input_text();
        // A command is not sent, so there is nothing to count.
        let command =
            !draft.starts_with("//") && draft.strip_prefix('/').is_some_and(is_command_word);
        let prompt = if command { "" } else { prompt_of(&draft) }.to_owned();
        pane.token_counts.scheduled_for = Some(draft);
        let basis = CountBasis::of(pane, &prompt);
        if pane.token_counts.counted(&basis) {
            return;
        }
        let body = request_with_prompt(pane, &settings, &prompt);
        // Only a request that ends with a prompt is one Enter sends (and the 4.6 models
        // refuse one ending with a reply); after a reply, its usage sizes the history.
        if body
            .messages
            .last()
            .is_none_or(|m| m.role != crate::api::Role::User)
        {
            return;
        }
        let counts = &mut pane.token_counts;
        counts.generation += 1;
        counts.pending = Some((counts.generation, basis));
        effects.push(Effect::CountTokens {
            conversation: pane.conversation.id.clone(),
            generation: counts.generation,
            prompt,
            body,
        });
    }

    /// The endpoint's answer to the count numbered `generation` of `conversation`.
    pub(super) fn on_tokens_counted(
        &mut self,
        conversation: &str,
        generation: u64,
        prompt: &str,
        result: TokenCount,
    ) {
        if result == TokenCount::Absent {
            self.count_tokens_absent = true;
        }
        let Some(pane) = self.panes.iter_mut().find(|p| p.id() == conversation) else {
            return;
        };
        let counts = &mut pane.token_counts;
        let Some((asked, basis)) = counts.pending.take() else {
            return;
        };
        if asked != generation || basis.prompt() != prompt {
            counts.pending = Some((asked, basis)); // an older count's answer
            return;
        }
        match result {
            TokenCount::Counted(n) => counts.last = Some((basis, n)),
            TokenCount::Absent => {}
        }
    }
}
