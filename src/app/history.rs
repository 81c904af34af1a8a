//! The history sent with a turn: one rule, shared by the app (`Pane::build_request`) and by
//! `tern -c -p`, so a conversation is sent back the same way wherever it continues.
//!
//! The rule, as the UI states it:
//! - **A reply with text is sent back as what was said**, whatever ended it: complete, stopped
//!   with Esc, cut off or failed mid-stream, interrupted. The model sees the text the user saw.
//! - **A reply with no text is left out** (it failed before any arrived), and its prompt, left
//!   without an answer, is joined with the next prompt into one user turn (blank line between):
//!   roles always alternate and nothing the user wrote is dropped.
//! - Of several replies to one prompt (retries), the last one with text counts.
//! - Replies after the last prompt are left out: the request asks for the reply to that prompt,
//!   so a retry replaces a failed reply instead of continuing it.

use crate::api::types::MessageContent;
use crate::api::{RequestMessage, Role};

/// The `messages` of a request from a conversation's turns, in order, as `(role, text)`.
pub fn request_messages<'a>(
    turns: impl IntoIterator<Item = (Role, &'a str)>,
) -> Vec<RequestMessage> {
    let mut out = Vec::new();
    // Prompts not answered yet, and the answer to them so far.
    let mut prompts: Vec<&str> = Vec::new();
    let mut answer: Option<&str> = None;
    for (role, text) in turns {
        match role {
            Role::User => {
                if let Some(answer) = answer.take() {
                    out.push(turn(Role::User, prompts.join("\n\n")));
                    out.push(turn(Role::Assistant, answer.to_owned()));
                    prompts.clear();
                }
                prompts.push(text);
            }
            // A reply before any prompt answers nothing.
            Role::Assistant if prompts.is_empty() => {}
            Role::Assistant => {
                if !text.trim().is_empty() {
                    answer = Some(text);
                }
            }
        }
    }
    if !prompts.is_empty() {
        out.push(turn(Role::User, prompts.join("\n\n")));
    }
    out
}

fn turn(role: Role, text: String) -> RequestMessage {
    RequestMessage {
        role,
        content: MessageContent::Text(text),
    }
}

/// The advice of a failed reply whose text so far stays in the conversation (it replaces the
/// bare "retry" of a stream that broke: the error block names the retry key below it).
pub fn partial_reply_advice() -> String {
    "the partial reply is kept and sent as context with your next message; retrying replaces it"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles_and_texts(turns: &[(Role, &str)]) -> Vec<(Role, String)> {
        request_messages(turns.iter().copied())
            .into_iter()
            .map(|m| match m.content {
                MessageContent::Text(t) => (m.role, t),
                MessageContent::Blocks(_) => unreachable!(),
            })
            .collect()
    }

    use Role::{Assistant as A, User as U};

    #[test]
    fn replies_with_text_are_sent_whatever_ended_them() {
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "partial"), (U, "q2")]),
            [(U, "q1".into()), (A, "partial".into()), (U, "q2".into())]
        );
    }

    #[test]
    fn a_reply_without_text_joins_its_prompt_with_the_next() {
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, ""), (U, "q2"), (A, " \n"), (U, "q3")]),
            [(U, "q1\n\nq2\n\nq3".into())]
        );
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "a1"), (U, "q2"), (A, ""), (U, "q3")]),
            [(U, "q1".into()), (A, "a1".into()), (U, "q2\n\nq3".into())]
        );
    }

    #[test]
    fn retries_count_once_and_a_trailing_reply_is_replaced() {
        // A retry after a failure with text: the last reply with text counts.
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "cut"), (A, "whole"), (U, "q2")]),
            [(U, "q1".into()), (A, "whole".into()), (U, "q2".into())]
        );
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "cut"), (A, ""), (U, "q2")]),
            [(U, "q1".into()), (A, "cut".into()), (U, "q2".into())]
        );
        // Retrying: the failed reply after the last prompt is left out.
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "a1"), (U, "q2"), (A, "cut")]),
            [(U, "q1".into()), (A, "a1".into()), (U, "q2".into())]
        );
        assert_eq!(
            roles_and_texts(&[(A, "orphan"), (U, "q")]),
            [(U, "q".into())]
        );
        assert!(roles_and_texts(&[]).is_empty());
    }

    #[test]
    fn roles_always_alternate_and_start_with_the_user() {
        // Every sequence of prompts and replies (with or without text).
        for n in 0..10u32 {
            for mask in 0..(1u32 << n) {
                let turns: Vec<(Role, &str)> = (0..n)
                    .map(|i| match (mask >> i) & 1 {
                        0 => (U, "q"),
                        _ if i % 3 == 0 => (A, ""),
                        _ => (A, "a"),
                    })
                    .collect();
                let sent = request_messages(turns.iter().copied());
                for (i, m) in sent.iter().enumerate() {
                    let expected = if i % 2 == 0 { U } else { A };
                    assert_eq!(m.role, expected, "{turns:?} → {sent:?}");
                }
                if let Some(last) = sent.last() {
                    assert_eq!(last.role, U, "{turns:?}");
                }
            }
        }
    }
}
