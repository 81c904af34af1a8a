//! Prompt-cache breakpoints, placed on a built request (the app's and `tern -p`'s alike) so a
//! conversation reads its history from the cache instead of paying for it each turn.
//!
//! The API caches the prefix tools → system → messages up to a block marked `cache_control`
//! and reads the longest marked prefix it has seen. So each request marks: the system prompt
//! (which changes least), the last block of the last user turn (what the next turn will read),
//! and the last block of the user turn before it (what this turn reads, written by the last
//! request), at most [`MAX_BREAKPOINTS`]; all with one `ttl`, so no 1-hour mark can follow a
//! 5-minute one. Thinking blocks cannot carry a mark: the last block that can gets it.
//!
//! The marks exist only in the request, re-placed every turn: the saved conversation never
//! holds them, so what is stored stays what the API sent. A text block carries its mark in its
//! `cache_control` field, any other block as a JSON key. With caching on, every plain-text
//! user turn is sent as one text block, marked or not, so its bytes stay the same from turn to
//! turn.

use serde_json::{Value, json};

use crate::api::types::{MessageContent, SystemPrompt};
use crate::api::{ContentBlock, MessagesRequest, Role};
use crate::config::PromptCache;

/// The most breakpoints the API takes in one request.
pub const MAX_BREAKPOINTS: usize = 4;

/// Mark `request`'s system prompt and its last two user turns for the cache, by `cache`
/// (nothing when it is off).
pub fn place_cache_breakpoints(request: &mut MessagesRequest, cache: PromptCache) {
    let Some(ttl) = cache.ttl() else {
        return;
    };
    let mark = json!({"type": "ephemeral", "ttl": ttl});
    let mut left = MAX_BREAKPOINTS - already_marked(request);
    if left > 0
        && let Some(system) = request.system.take()
    {
        request.system = Some(mark_system(system, &mark, &mut left));
    }
    // One shape for every turn, marked or not, so a turn's bytes do not change when its mark
    // moves on (a bare string and a text block are different prefixes to a strict cache).
    for message in &mut request.messages {
        if let MessageContent::Text(text) = &mut message.content
            && !text.is_empty()
        {
            message.content =
                MessageContent::Blocks(vec![ContentBlock::text(std::mem::take(text))]);
        }
    }
    let users: Vec<usize> = (0..request.messages.len())
        .rev()
        .filter(|&i| request.messages[i].role == Role::User)
        .take(2)
        .collect();
    for i in users {
        if left == 0 {
            break;
        }
        if mark_last_block(&mut request.messages[i].content, &mark) {
            left -= 1;
        }
    }
}

/// Take the marks off `request`'s messages (the system prompt keeps its own), so a request
/// that grew by a turn has them placed anew by [`place_cache_breakpoints`].
pub fn clear_message_marks(request: &mut MessagesRequest) {
    for message in &mut request.messages {
        let MessageContent::Blocks(blocks) = &mut message.content else {
            continue;
        };
        for block in blocks {
            match block {
                ContentBlock::Text { cache_control, .. } => *cache_control = None,
                ContentBlock::ToolUse { extra, .. } => {
                    extra.remove("cache_control");
                }
                ContentBlock::Unknown(Value::Object(object)) => {
                    object.remove("cache_control");
                }
                _ => {}
            }
        }
    }
}

/// Breakpoints the request carries before tern places its own (`tools` set by hand).
fn already_marked(request: &MessagesRequest) -> usize {
    let tools = request.tools.iter().flatten();
    tools
        .filter(|t| t.get("cache_control").is_some())
        .count()
        .min(MAX_BREAKPOINTS)
}

fn mark_system(system: SystemPrompt, mark: &Value, left: &mut usize) -> SystemPrompt {
    let mut blocks = match system {
        SystemPrompt::Text(text) if text.is_empty() => return SystemPrompt::Text(text),
        SystemPrompt::Text(text) => vec![json!({"type": "text", "text": text})],
        SystemPrompt::Blocks(blocks) => blocks,
    };
    if let Some(last) = blocks.last_mut().and_then(Value::as_object_mut)
        && !last.contains_key("cache_control")
    {
        last.insert("cache_control".into(), mark.clone());
        *left -= 1;
    }
    SystemPrompt::Blocks(blocks)
}

/// Put `mark` on the last block of `content` that can carry it; whether one could.
fn mark_last_block(content: &mut MessageContent, mark: &Value) -> bool {
    let MessageContent::Blocks(blocks) = content else {
        return false;
    };
    let Some(block) = blocks.iter_mut().rev().find(|b| can_carry(b)) else {
        return false;
    };
    match block {
        ContentBlock::Text { cache_control, .. } => *cache_control = Some(mark.clone()),
        ContentBlock::ToolUse { extra, .. } => {
            extra.insert("cache_control".into(), mark.clone());
        }
        ContentBlock::Unknown(Value::Object(object)) => {
            object.insert("cache_control".into(), mark.clone());
        }
        _ => return false,
    }
    true
}

/// Thinking blocks cannot be marked, nor an empty text block (the API rejects both).
fn can_carry(block: &ContentBlock) -> bool {
    match block {
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => false,
        ContentBlock::Text { text, .. } => !text.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RequestMessage;

    fn request(system: Option<&str>, turns: &[(Role, Vec<ContentBlock>)]) -> MessagesRequest {
        MessagesRequest {
            model: "m".into(),
            system: system.map(|s| SystemPrompt::Text(s.into())),
            messages: turns
                .iter()
                .map(|(role, blocks)| RequestMessage {
                    role: *role,
                    content: MessageContent::Blocks(blocks.clone()),
                })
                .collect(),
            max_tokens: 10,
            ..Default::default()
        }
    }

    /// Where the marks are: `(message index, block index)`, and the system's.
    fn marks(request: &MessagesRequest) -> (bool, Vec<(usize, usize)>) {
        let v = serde_json::to_value(request).unwrap();
        let system = v["system"]
            .as_array()
            .is_some_and(|b| b.iter().any(|b| b.get("cache_control").is_some()));
        let mut at = Vec::new();
        for (i, m) in v["messages"].as_array().unwrap().iter().enumerate() {
            if let Some(blocks) = m["content"].as_array() {
                for (j, b) in blocks.iter().enumerate() {
                    if let Some(c) = b.get("cache_control") {
                        assert_eq!(c, &json!({"type":"ephemeral","ttl":"5m"}));
                        at.push((i, j));
                    }
                }
            }
        }
        (system, at)
    }

    fn t(s: &str) -> ContentBlock {
        ContentBlock::text(s)
    }

    #[test]
    fn system_and_the_last_two_user_turns_are_marked() {
        let turns = [
            (Role::User, vec![t("a")]),
            (Role::Assistant, vec![t("b")]),
            (Role::User, vec![t("c"), t("d")]),
            (Role::Assistant, vec![t("e")]),
            (Role::User, vec![t("f")]),
        ];
        let mut req = request(Some("sys"), &turns);
        place_cache_breakpoints(&mut req, PromptCache::FiveMinutes);
        assert_eq!(marks(&req), (true, vec![(2, 1), (4, 0)]));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v["system"],
            json!([{"type":"text","text":"sys","cache_control":{"type":"ephemeral","ttl":"5m"}}])
        );
        assert_eq!(v["messages"][4]["content"][0]["text"], "f");
    }

    #[test]
    fn plain_turns_keep_one_shape_when_their_mark_moves_on() {
        let mut req = MessagesRequest {
            messages: vec![
                RequestMessage::user("a"),
                RequestMessage::assistant_blocks(vec![t("b")]),
                RequestMessage::user("c"),
                RequestMessage::assistant_blocks(vec![t("d")]),
                RequestMessage::user("e"),
            ],
            ..Default::default()
        };
        place_cache_breakpoints(&mut req, PromptCache::FiveMinutes);
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v["messages"][0]["content"],
            json!([{"type":"text","text":"a"}])
        );
    }

    #[test]
    fn a_lone_plain_prompt_becomes_a_marked_block() {
        let mut req = MessagesRequest {
            messages: vec![RequestMessage::user("hi")],
            ..Default::default()
        };
        place_cache_breakpoints(&mut req, PromptCache::OneHour);
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v["messages"][0]["content"],
            json!([{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}])
        );
        assert!(v.get("system").is_none());
    }

    #[test]
    fn thinking_is_skipped_for_the_last_block_that_can_carry_a_mark() {
        let thinking = ContentBlock::Thinking {
            thinking: "t".into(),
            signature: "s".into(),
        };
        let tool_result =
            ContentBlock::Unknown(json!({"type":"tool_result","tool_use_id":"x","content":"ok"}));
        let turns = [(Role::User, vec![tool_result, t(""), thinking])];
        let mut req = request(None, &turns);
        place_cache_breakpoints(&mut req, PromptCache::FiveMinutes);
        assert_eq!(marks(&req), (false, vec![(0, 0)]));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["messages"][0]["content"][0]["tool_use_id"], "x");
        assert_eq!(
            crate::api::types::plain_text(&[t("x")]),
            "x",
            "marked text still reads as text"
        );
        // A turn of thinking only carries none.
        let turns = [(
            Role::User,
            vec![ContentBlock::RedactedThinking { data: "d".into() }],
        )];
        let mut req = request(None, &turns);
        place_cache_breakpoints(&mut req, PromptCache::FiveMinutes);
        assert_eq!(marks(&req), (false, vec![]));
    }

    #[test]
    fn never_more_than_four_and_none_when_off() {
        let marked = json!({"name":"x","cache_control":{"type":"ephemeral"}});
        let turns = [
            (Role::User, vec![t("a")]),
            (Role::Assistant, vec![t("b")]),
            (Role::User, vec![t("c")]),
        ];
        let mut req = request(Some("sys"), &turns);
        req.tools = Some(vec![marked.clone(), marked.clone()]);
        place_cache_breakpoints(&mut req, PromptCache::FiveMinutes);
        assert_eq!(marks(&req), (true, vec![(2, 0)]), "2 on tools + 2");
        let mut req = request(Some("sys"), &turns);
        let before = req.clone();
        place_cache_breakpoints(&mut req, PromptCache::Off);
        assert_eq!(req, before);
    }
}
