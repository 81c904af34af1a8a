//! The history sent with a turn: one rule, shared by the app (`Pane::build_request`) and by
//! `tern -c -p`, so a conversation is sent back the same way wherever it continues.
//!
//! **Replies go back exactly as they arrived**: every content block in its order, `thinking`
//! with its `signature` untouched, `redacted_thinking` unchanged, `tool_use`, server-tool blocks
//! (`server_tool_use` and its `*_tool_result`), text with its `citations`, and block types tern
//! does not know, as received. Anthropic's extended-thinking guide ("Preserving thinking
//! blocks") requires thinking blocks to come back complete and unmodified, and allows earlier
//! turns' thinking to be sent or left out; tern sends it, because models with preserved thinking
//! read it, the others ignore it, and the prefix stays byte-identical for the prompt cache.
//!
//! What is left out, and why:
//! - **thinking written by another model** (the reply's model is not the one asked now): the
//!   "Preserved thinking" guide says the API drops a block the current model cannot read, and a
//!   prompt cache is per model anyway, so sending it buys nothing;
//! - **what a reply that did not finish left incomplete**: a thinking block without its
//!   signature, a `tool_use` no `tool_result` answers in the next user turn, a server-tool call
//!   without its result (and a result without its call), an empty text block: the API rejects
//!   each of these;
//! - **a reply with nothing left to send** (it failed before any text, or only thought): its
//!   prompt, left without an answer, is joined with the next prompt into one user turn (blank
//!   line between two texts), so roles always alternate and nothing the user wrote is dropped;
//! - of several replies to one prompt (retries) the last one with something to send counts, and
//!   replies after the last prompt are left out: the request asks for the reply to that prompt,
//!   so a retry replaces a failed reply instead of continuing it;
//! - **a refused exchange**: a reply that ended with `stop_reason: "refusal"` and the prompt it
//!   refused (unless a later reply to that prompt was not refused). Anthropic's streaming
//!   refusals guide says the context must be reset before going on: sent again, the same turn
//!   is refused again.
//!
//! Continuing a reply ([`continuation`]) sends it after its prompt: a paused turn
//! (`pause_turn`) as the final assistant message, as the stop-reasons guide says; a reply cut
//! off (`max_tokens`, stopped, broken) followed by a user turn asking to go on from where it
//! ended, because the 4.6 models refuse a final assistant message (prefill) and thinking
//! forbids one, while this works on every model.
//!
//! A user turn keeps all its blocks (text, later tool results, images, documents); one plain
//! text block is sent as a bare string, the shape every gateway takes.

use serde_json::Value;

use crate::api::types::MessageContent;
use crate::api::{ContentBlock, RequestMessage, Role};

/// One message of a conversation, as the history reads it.
#[derive(Debug, Clone, Copy)]
pub struct Turn<'a> {
    pub role: Role,
    pub content: &'a [ContentBlock],
    /// The model that wrote it (replies); `None` when not known.
    pub model: Option<&'a str>,
    /// A reply that ended in a refusal: it and its prompt are left out.
    pub refused: bool,
}

/// The `messages` of a request to `model` from a conversation's turns, in order.
pub fn request_messages<'a>(
    turns: impl IntoIterator<Item = Turn<'a>>,
    model: &str,
) -> Vec<RequestMessage> {
    let mut out = Vec::new();
    // Prompts not answered yet, and the replies to them so far (retries), oldest first.
    let mut prompts: Vec<&[ContentBlock]> = Vec::new();
    let mut answers: Vec<Vec<ContentBlock>> = Vec::new();
    // The last reply to the prompts so far was a refusal.
    let mut refused = false;
    // The tool calls of the reply sent last: the next user turn's results answer them.
    let mut calls: Vec<String> = Vec::new();
    for turn in turns {
        match turn.role {
            Role::User => {
                // The last reply that still says something once its unanswered tool calls are
                // left out.
                let answer = answers
                    .drain(..)
                    .rev()
                    .map(|a| answered_tools(a, turn.content))
                    .find(|a| says_something(a));
                if refused {
                    prompts.clear();
                } else if let Some(answer) = answer {
                    out.push(user_turn(&prompts, &calls));
                    calls = call_ids(&answer);
                    out.push(RequestMessage::assistant_blocks(answer));
                    prompts.clear();
                }
                refused = false;
                prompts.push(turn.content);
            }
            // A reply before any prompt answers nothing.
            Role::Assistant if prompts.is_empty() => {}
            Role::Assistant if turn.refused => {
                answers.clear();
                refused = true;
            }
            Role::Assistant => {
                refused = false;
                let blocks = sendable(turn.content, turn.model.is_none_or(|m| m == model));
                if says_something(&blocks) {
                    answers.push(blocks);
                }
            }
        }
    }
    if !prompts.is_empty() {
        out.push(user_turn(&prompts, &calls));
    }
    out
}

/// The ids of a reply's `tool_use` blocks.
fn call_ids(answer: &[ContentBlock]) -> Vec<String> {
    answer
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// A `tool_result` block, and the call it answers.
fn result_for(block: &ContentBlock) -> Option<&str> {
    match block {
        ContentBlock::Unknown(v)
            if v.get("type").and_then(Value::as_str) == Some("tool_result") =>
        {
            Some(v.get("tool_use_id").and_then(Value::as_str).unwrap_or(""))
        }
        _ => None,
    }
}

/// How a reply is continued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// A paused turn: sent back as it is, as the final message.
    Resume,
    /// A reply cut off: sent, then a user turn asking for the rest.
    CutOff,
}

/// What asks the model to go on with a reply that was cut off.
pub const CONTINUE_PROMPT: &str = "Your previous reply was cut off. Continue it from exactly \
     where it stopped: no preamble, and do not repeat anything already written.";

/// The `messages` of a request that continues `reply`, the last of `turns` (which hold the
/// conversation before it): the history as [`request_messages`] sends it, then the reply's
/// sendable blocks, and for a cut-off reply the user turn asking for the rest. `None` when the
/// reply has nothing to continue from (no text, no paused call).
pub fn continuation<'a>(
    turns: impl IntoIterator<Item = Turn<'a>>,
    reply: Turn<'a>,
    model: &str,
    how: Continuation,
) -> Option<Vec<RequestMessage>> {
    let mut messages = request_messages(turns, model);
    if messages.last().is_none_or(|m| m.role != Role::User) {
        return None;
    }
    let mut blocks = match how {
        Continuation::Resume => reply.content.to_vec(),
        Continuation::CutOff => sendable(reply.content, reply.model.is_none_or(|m| m == model)),
    };
    if how == Continuation::CutOff {
        // A call with no result cannot be continued; the text before it can.
        blocks.retain(|b| !matches!(b, ContentBlock::ToolUse { .. }));
    }
    if !says_something(&blocks) {
        return None;
    }
    messages.push(RequestMessage::assistant_blocks(blocks));
    if how == Continuation::CutOff {
        messages.push(RequestMessage {
            role: Role::User,
            content: MessageContent::Text(CONTINUE_PROMPT.to_owned()),
        });
    }
    Some(messages)
}

/// Paused turns (`pause_turn`) resumed in a row before tern stops and leaves it to the user.
pub const MAX_AUTO_RESUMES: u32 = 5;

/// The blocks of a continued reply: those it had, then the continuation's, the text where one
/// ends and the next begins joined into one block (as if it had never stopped).
pub fn joined_reply(
    before: &[crate::api::ContentBlock],
    more: Vec<crate::api::ContentBlock>,
) -> Vec<crate::api::ContentBlock> {
    use crate::api::ContentBlock::Text;
    let mut out = before.to_vec();
    let mut more = more.into_iter();
    if let Some(first) = more.next() {
        match (out.last_mut(), first) {
            (
                Some(Text {
                    text,
                    citations: None,
                    ..
                }),
                Text {
                    text: next,
                    citations: None,
                    ..
                },
            ) => text.push_str(&next),
            (_, first) => out.push(first),
        }
    }
    out.extend(more);
    out
}

/// A reply worth sending: something besides thinking.
fn says_something(blocks: &[ContentBlock]) -> bool {
    blocks.iter().any(|b| !is_thinking(b))
}

/// The blocks of a reply that can go back: complete ones, and thinking only from `same_model`.
fn sendable(content: &[ContentBlock], same_model: bool) -> Vec<ContentBlock> {
    content
        .iter()
        .filter(|block| match block {
            ContentBlock::Text { text, .. } => !text.is_empty(),
            ContentBlock::Thinking { signature, .. } => same_model && !signature.is_empty(),
            ContentBlock::RedactedThinking { .. } => same_model,
            ContentBlock::ToolUse { .. } => true, // paired with results in `answered_tools`
            ContentBlock::Attachment(_) => true,
            ContentBlock::Unknown(value) => server_tool_paired(value, content),
        })
        .cloned()
        .collect()
}

fn is_thinking(block: &ContentBlock) -> bool {
    matches!(
        block,
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }
    )
}

/// A server-tool call and its result travel together: either without the other is incomplete.
fn server_tool_paired(value: &Value, content: &[ContentBlock]) -> bool {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "server_tool_use" {
        let id = value.get("id");
        content.iter().any(|b| match b {
            ContentBlock::Unknown(other) => {
                other
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(is_server_result)
                    && other.get("tool_use_id") == id
            }
            _ => false,
        })
    } else if is_server_result(kind) && value.get("tool_use_id").is_some() {
        let id = value.get("tool_use_id");
        content.iter().any(|b| match b {
            ContentBlock::Unknown(other) => {
                other.get("type").and_then(Value::as_str) == Some("server_tool_use")
                    && other.get("id") == id
            }
            _ => false,
        })
    } else {
        true
    }
}

/// `web_search_tool_result`, `web_fetch_tool_result`, `code_execution_tool_result`…
fn is_server_result(kind: &str) -> bool {
    kind.ends_with("_tool_result") && kind != "tool_result"
}

/// The reply's `tool_use` blocks that the next user turn answers (the others were cut off).
fn answered_tools(answer: Vec<ContentBlock>, next_user: &[ContentBlock]) -> Vec<ContentBlock> {
    let answered = |id: &str| next_user.iter().any(|b| result_for(b) == Some(id));
    answer
        .into_iter()
        .filter(|b| match b {
            ContentBlock::ToolUse { id, .. } => answered(id),
            _ => true,
        })
        .collect()
}

/// One user turn from the prompts it answers: their blocks in order, two plain texts next to
/// each other joined by a blank line, and a lone plain text sent as a string. Tool results
/// go first, and only those answering `calls` (the reply before): a result whose call was
/// left out would be refused.
fn user_turn(prompts: &[&[ContentBlock]], calls: &[String]) -> RequestMessage {
    let mut blocks: Vec<ContentBlock> = prompts
        .iter()
        .flat_map(|p| p.iter())
        .filter(|b| result_for(b).is_some_and(|id| calls.iter().any(|c| c == id)))
        .cloned()
        .collect();
    for block in prompts.iter().flat_map(|p| p.iter()) {
        if result_for(block).is_some() {
            continue;
        }
        match (blocks.last_mut(), block) {
            (_, ContentBlock::Text { text, .. }) if text.is_empty() => {}
            (
                Some(ContentBlock::Text {
                    text: joined,
                    citations: None,
                    ..
                }),
                ContentBlock::Text {
                    text,
                    citations: None,
                    ..
                },
            ) => {
                joined.push_str("\n\n");
                joined.push_str(text);
            }
            _ => blocks.push(block.clone()),
        }
    }
    // The lone text moves out of its block: a long prompt is copied once, not twice.
    let content = match blocks.as_mut_slice() {
        [
            ContentBlock::Text {
                text,
                citations: None,
                ..
            },
        ] => MessageContent::Text(std::mem::take(text)),
        _ => MessageContent::Blocks(blocks),
    };
    RequestMessage {
        role: Role::User,
        content,
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
    use serde_json::json;

    const MODEL: &str = "claude-sonnet-4.6";

    fn text(t: &str) -> Vec<ContentBlock> {
        vec![ContentBlock::text(t)]
    }

    /// `(role, text)` turns, replies written by [`MODEL`].
    fn roles_and_texts(turns: &[(Role, &str)]) -> Vec<(Role, String)> {
        let contents: Vec<(Role, Vec<ContentBlock>)> =
            turns.iter().map(|(r, t)| (*r, text(t))).collect();
        send(&contents)
            .into_iter()
            .map(|m| match m.content {
                MessageContent::Text(t) => (m.role, t),
                MessageContent::Blocks(b) => (m.role, crate::api::types::plain_text(&b)),
            })
            .collect()
    }

    fn send(turns: &[(Role, Vec<ContentBlock>)]) -> Vec<RequestMessage> {
        request_messages(
            turns.iter().map(|(role, content)| Turn {
                role: *role,
                content,
                model: (*role == Role::Assistant).then_some(MODEL),
                refused: false,
            }),
            MODEL,
        )
    }

    fn blocks_of(message: &RequestMessage) -> Vec<Value> {
        match &message.content {
            MessageContent::Blocks(b) => {
                b.iter().map(|b| serde_json::to_value(b).unwrap()).collect()
            }
            MessageContent::Text(t) => vec![json!(t)],
        }
    }

    fn block(v: Value) -> ContentBlock {
        serde_json::from_value(v).unwrap()
    }

    use Role::{Assistant as A, User as U};

    fn call(id: &str) -> ContentBlock {
        block(json!({"type": "tool_use", "id": id, "name": "files__read", "input": {}}))
    }

    fn result(id: &str) -> ContentBlock {
        block(json!({"type": "tool_result", "tool_use_id": id, "content": "ok"}))
    }

    #[test]
    fn tool_results_answer_the_calls_before_them_and_go_first() {
        // A loop stopped after its results: the next prompt joins them, results first.
        let turns = [
            (U, text("read it")),
            (A, vec![ContentBlock::text("Looking."), call("toolu_1")]),
            (U, vec![result("toolu_1")]),
            (U, text("thanks")),
        ];
        let sent = send(&turns);
        assert_eq!(sent.len(), 3);
        let last = blocks_of(&sent[2]);
        assert_eq!(last[0]["type"], "tool_result");
        assert_eq!(last[1]["text"], "thanks");
        // A result whose call is not sent (its reply was replaced by a retry without
        // calls) would be refused: it is left out.
        let turns = [
            (U, text("read it")),
            (A, vec![call("toolu_1")]),
            (A, text("I cannot read files.")),
            (U, vec![result("toolu_1")]),
            (U, text("ok")),
        ];
        let sent = send(&turns);
        let last = blocks_of(sent.last().unwrap());
        assert!(last.iter().all(|b| b["type"] != "tool_result"), "{last:?}");
    }

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
            roles_and_texts(&[(U, "q1"), (A, ""), (U, "q2"), (A, ""), (U, "q3")]),
            [(U, "q1\n\nq2\n\nq3".into())]
        );
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "a1"), (U, "q2"), (A, ""), (U, "q3")]),
            [(U, "q1".into()), (A, "a1".into()), (U, "q2\n\nq3".into())]
        );
    }

    #[test]
    fn retries_count_once_and_a_trailing_reply_is_replaced() {
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "cut"), (A, "whole"), (U, "q2")]),
            [(U, "q1".into()), (A, "whole".into()), (U, "q2".into())]
        );
        assert_eq!(
            roles_and_texts(&[(U, "q1"), (A, "cut"), (A, ""), (U, "q2")]),
            [(U, "q1".into()), (A, "cut".into()), (U, "q2".into())]
        );
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
    fn every_block_of_a_reply_goes_back_exactly_in_its_order() {
        let reply = vec![
            block(json!({"type":"thinking","thinking":"Let me see…","signature":"EqQBCkYIAx+/="})),
            block(json!({"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"})),
            block(
                json!({"type":"server_tool_use","id":"srvtoolu_1","name":"web_search",
                         "input":{"query":"terns"}}),
            ),
            block(
                json!({"type":"web_search_tool_result","tool_use_id":"srvtoolu_1",
                         "content":[{"type":"web_search_result","url":"https://x.test",
                                     "title":"Terns","encrypted_content":"Eq8…"}]}),
            ),
            block(
                json!({"type":"text","text":"Terns are seabirds.","citations":[
                {"type":"web_search_result_location","url":"https://x.test",
                 "title":"Terns","encrypted_index":"Eo8…","cited_text":"seabirds"}]}),
            ),
            block(json!({"type":"compaction","content":"a future block","extra":{"k":[1,2]}})),
        ];
        let sent = send(&[(U, text("q1")), (A, reply.clone()), (U, text("q2"))]);
        assert_eq!(sent.len(), 3);
        let expected: Vec<Value> = reply
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect();
        assert_eq!(blocks_of(&sent[1]), expected);
        assert_eq!(sent[1].role, A);
    }

    #[test]
    fn thinking_of_another_model_and_incomplete_blocks_are_left_out() {
        let reply = vec![
            block(json!({"type":"thinking","thinking":"signed","signature":"sig"})),
            block(json!({"type":"text","text":"answer"})),
        ];
        let other_model = request_messages(
            [
                Turn {
                    role: U,
                    content: &text("q1"),
                    model: None,
                    refused: false,
                },
                Turn {
                    role: A,
                    content: &reply,
                    model: Some("claude-opus-4.6"),
                    refused: false,
                },
                Turn {
                    role: U,
                    content: &text("q2"),
                    model: None,
                    refused: false,
                },
            ],
            MODEL,
        );
        assert_eq!(
            blocks_of(&other_model[1]),
            [json!({"type":"text","text":"answer"})]
        );

        // A reply stopped mid-way: thinking without its signature, a tool call no result
        // answers, a server-tool call without its result, an empty text.
        let cut = vec![
            block(json!({"type":"thinking","thinking":"half a thou","signature":""})),
            block(json!({"type":"text","text":""})),
            block(json!({"type":"text","text":"So far"})),
            block(json!({"type":"server_tool_use","id":"srv_2","name":"web_search","input":{}})),
            block(json!({"type":"tool_use","id":"toolu_1","name":"read","input":{"p":"/"}})),
        ];
        let sent = send(&[(U, text("q1")), (A, cut), (U, text("q2"))]);
        assert_eq!(
            blocks_of(&sent[1]),
            [json!({"type":"text","text":"So far"})]
        );
    }

    #[test]
    fn a_tool_call_answered_in_the_next_turn_goes_back_with_it() {
        let call = json!({"type":"tool_use","id":"toolu_1","name":"read","input":{"p":"/"}});
        let result = json!({"type":"tool_result","tool_use_id":"toolu_1","content":"ok"});
        let sent = send(&[
            (U, text("q1")),
            (
                A,
                vec![
                    block(json!({"type":"text","text":"Reading"})),
                    block(call.clone()),
                ],
            ),
            (U, vec![block(result.clone())]),
        ]);
        assert_eq!(
            blocks_of(&sent[1]),
            [json!({"type":"text","text":"Reading"}), call]
        );
        assert_eq!(blocks_of(&sent[2]), [result]);
    }

    #[test]
    fn a_reply_that_only_thought_is_left_out_like_an_empty_one() {
        let thought = vec![block(
            json!({"type":"thinking","thinking":"t","signature":"s"}),
        )];
        let sent = send(&[(U, text("q1")), (A, thought), (U, text("q2"))]);
        assert_eq!(sent.len(), 1);
        assert_eq!(blocks_of(&sent[0]), [json!("q1\n\nq2")]);
    }

    #[test]
    fn a_user_turn_keeps_all_its_blocks() {
        let doc = json!({"type":"document","source":{"type":"text","media_type":"text/plain",
                         "data":"notes"},"title":"notes.txt"});
        let sent = send(&[(U, vec![block(doc.clone()), ContentBlock::text("summarise")])]);
        assert_eq!(
            blocks_of(&sent[0]),
            [doc, json!({"type":"text","text":"summarise"})]
        );
    }

    #[test]
    fn roles_always_alternate_and_start_with_the_user() {
        let thought = vec![block(
            json!({"type":"thinking","thinking":"t","signature":"s"}),
        )];
        let cut_tool = vec![block(
            json!({"type":"tool_use","id":"t","name":"n","input":{}}),
        )];
        // Every sequence of prompts and replies (with text, without, only thinking, a lone
        // tool call).
        for n in 0..9u32 {
            for mask in 0..(1u32 << n) {
                let turns: Vec<(Role, Vec<ContentBlock>)> = (0..n)
                    .map(|i| match (mask >> i) & 1 {
                        0 => (U, text("q")),
                        _ => match i % 4 {
                            0 => (A, text("")),
                            1 => (A, thought.clone()),
                            2 => (A, cut_tool.clone()),
                            _ => (A, text("a")),
                        },
                    })
                    .collect();
                let sent = send(&turns);
                for (i, m) in sent.iter().enumerate() {
                    let expected = if i % 2 == 0 { U } else { A };
                    assert_eq!(m.role, expected, "{turns:?} → {sent:?}");
                    if m.role == A {
                        let blocks = blocks_of(m);
                        assert!(
                            blocks.iter().any(|b| b["type"] != "thinking"),
                            "an assistant turn with something to say: {sent:?}"
                        );
                    }
                }
                if let Some(last) = sent.last() {
                    assert_eq!(last.role, U, "{turns:?}");
                }
            }
        }
    }
}
