//! Token counting and prompt caching, emulated: what a request's input costs, and how much of
//! it a previous request already put in the cache.
//!
//! A request is read as the real API reads it for caching: a sequence of blocks (tools, then
//! the system prompt, then every message's content blocks), each with a token count (its
//! whitespace-separated words, as everywhere in the fake) and the hash of the whole prefix up
//! to it. A `cache_control` marks a breakpoint; the top-level `cache_control` marks the last
//! block. A later request reads from the cache the longest prefix that ends at a block within
//! 20 blocks before one of its breakpoints and that an earlier request cached, and writes each
//! breakpoint after that, whose prefix is at least the model's minimum cacheable length,
//! counting each stretch of blocks under the TTL of the breakpoint that ends it. The model and
//! (for the messages) the thinking settings are part of the hash, as changing either
//! invalidates the real cache. Entries never expire: a fake server lives for one test or one
//! session, much less than five minutes of idle time in practice.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::reply::InputUsage;
use super::wire::CacheCreation;

/// How far before a breakpoint the real API looks for an earlier cached prefix.
const LOOKBACK_BLOCKS: usize = 20;

/// A breakpoint's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ttl {
    FiveMinutes,
    OneHour,
}

impl Ttl {
    fn of(mark: &Value) -> Option<Ttl> {
        if mark.is_null() {
            return None;
        }
        Some(match mark.get("ttl").and_then(Value::as_str) {
            Some("1h") => Ttl::OneHour,
            _ => Ttl::FiveMinutes,
        })
    }
}

/// One cacheable block of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    /// The hash of every block up to and including this one.
    pub prefix_hash: u64,
    pub tokens: u64,
    pub breakpoint: Option<Ttl>,
}

/// Calls `visit` with every piece of text in a message `content` (a string or blocks).
pub(crate) fn visit_text<'a>(content: &'a Value, visit: &mut impl FnMut(&'a str)) {
    match content {
        Value::String(text) => visit(text),
        Value::Array(blocks) => {
            for block in blocks {
                for key in ["text", "thinking"] {
                    if let Some(text) = block.get(key).and_then(Value::as_str) {
                        visit(text);
                    }
                }
                if let Some(nested) = block.get("content") {
                    visit_text(nested, visit);
                }
            }
        }
        _ => {}
    }
}

fn words(content: &Value) -> u64 {
    let mut words = 0;
    visit_text(content, &mut |text| {
        words += text.split_whitespace().count() as u64
    });
    words
}

/// A tool definition's tokens: the words of its name and description.
fn tool_words(tool: &Value) -> u64 {
    ["name", "description"]
        .iter()
        .filter_map(|key| tool.get(*key).and_then(Value::as_str))
        .map(|text| text.split_whitespace().count() as u64)
        .sum()
}

/// `block` without its `cache_control`, the part that identifies its content.
fn content_of(block: &Value) -> Value {
    let mut block = block.clone();
    if let Some(object) = block.as_object_mut() {
        object.remove("cache_control");
    }
    block
}

/// The request's blocks in caching order, for `model`.
pub(crate) fn units(body: &Value, model: &str) -> Vec<Unit> {
    let mut hasher = DefaultHasher::new();
    model.hash(&mut hasher);
    let mut units = Vec::new();
    let mut push =
        |hasher: &mut DefaultHasher, block: &Value, tokens: u64, mark: Option<&Value>| {
            content_of(block).to_string().hash(hasher);
            units.push(Unit {
                prefix_hash: hasher.finish(),
                tokens,
                breakpoint: mark.and_then(Ttl::of),
            });
        };
    let as_list =
        |value: Option<&Value>| value.and_then(Value::as_array).cloned().unwrap_or_default();
    for tool in as_list(body.get("tools")) {
        push(
            &mut hasher,
            &tool,
            tool_words(&tool),
            tool.get("cache_control"),
        );
    }
    match body.get("system") {
        Some(system @ Value::String(_)) => push(&mut hasher, system, words(system), None),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                let tokens = words(&Value::Array(vec![block.clone()]));
                push(&mut hasher, block, tokens, block.get("cache_control"));
            }
        }
        _ => {}
    }
    body.get("thinking").map(Value::to_string).hash(&mut hasher);
    for message in as_list(body.get("messages")) {
        message
            .get("role")
            .and_then(Value::as_str)
            .hash(&mut hasher);
        match message.get("content") {
            Some(Value::Array(blocks)) => {
                for block in blocks {
                    let tokens = words(&Value::Array(vec![block.clone()]));
                    push(&mut hasher, block, tokens, block.get("cache_control"));
                }
            }
            Some(content) => push(&mut hasher, content, words(content), None),
            None => {}
        }
    }
    if let (Some(mark), Some(last)) = (body.get("cache_control"), units.last_mut())
        && last.breakpoint.is_none()
    {
        last.breakpoint = Ttl::of(mark);
    }
    units
}

/// Every input token of the request, cached or not (what count_tokens reports).
pub(crate) fn total_tokens(units: &[Unit]) -> u64 {
    units.iter().map(|unit| unit.tokens).sum()
}

/// Splits the input of `units` into cache reads, cache writes and the rest, and records the
/// new writes in `cache`.
pub(crate) fn account(units: &[Unit], min_cacheable: u64, cache: &mut HashSet<u64>) -> InputUsage {
    let prefix: Vec<u64> = units
        .iter()
        .scan(0, |sum, unit| {
            *sum += unit.tokens;
            Some(*sum)
        })
        .collect();
    let breakpoints: Vec<usize> = (0..units.len())
        .filter(|&at| units[at].breakpoint.is_some())
        .collect();
    let read_end = (0..units.len()).rev().find(|&at| {
        cache.contains(&units[at].prefix_hash)
            && breakpoints
                .iter()
                .any(|&bp| bp >= at && bp - at <= LOOKBACK_BLOCKS)
    });
    let read = read_end.map_or(0, |at| prefix[at]);
    let mut written_to = read;
    let mut creation = CacheCreation::default();
    for &bp in &breakpoints {
        if read_end.is_some_and(|end| bp <= end) || prefix[bp] < min_cacheable {
            continue;
        }
        let tokens = prefix[bp] - written_to;
        match units[bp].breakpoint {
            Some(Ttl::OneHour) => creation.ephemeral_1h_input_tokens += tokens,
            _ => creation.ephemeral_5m_input_tokens += tokens,
        }
        written_to = prefix[bp];
        cache.insert(units[bp].prefix_hash);
    }
    let total = prefix.last().copied().unwrap_or(0);
    InputUsage {
        input_tokens: total - written_to,
        cache_read_input_tokens: read,
        cache_creation: creation,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(words: usize, cached: bool) -> Value {
        let text = vec!["w"; words].join(" ");
        if cached {
            json!({"type": "text", "text": text, "cache_control": {"type": "ephemeral"}})
        } else {
            json!({"type": "text", "text": text})
        }
    }

    #[test]
    fn units_count_every_block_in_order() {
        let body = json!({
            "tools": [{"name": "get_weather", "description": "the weather now"}],
            "system": [text(3, true)],
            "messages": [
                {"role": "user", "content": "one two"},
                {"role": "assistant", "content": [text(4, false)]},
            ],
        });
        let units = units(&body, "m");
        let tokens: Vec<u64> = units.iter().map(|u| u.tokens).collect();
        assert_eq!(tokens, [4, 3, 2, 4]);
        assert_eq!(units[1].breakpoint, Some(Ttl::FiveMinutes));
        assert_eq!(total_tokens(&units), 13);
    }

    #[test]
    fn a_second_turn_reads_what_the_first_wrote() {
        let mut cache = HashSet::new();
        let first = json!({"system": [text(10, true)], "messages": [
            {"role": "user", "content": [text(5, true)]},
        ]});
        let usage = account(&units(&first, "m"), 0, &mut cache);
        assert_eq!(usage.cache_read_input_tokens, 0);
        assert_eq!(usage.cache_creation.ephemeral_5m_input_tokens, 15);
        assert_eq!(usage.input_tokens, 0);

        // The breakpoint moved to the new user turn: the old prefix is found by lookback.
        let second = json!({"system": [text(10, true)], "messages": [
            {"role": "user", "content": [text(5, false)]},
            {"role": "assistant", "content": [text(7, false)]},
            {"role": "user", "content": [text(3, true)]},
        ]});
        let usage = account(&units(&second, "m"), 0, &mut cache);
        assert_eq!(usage.cache_read_input_tokens, 15);
        assert_eq!(usage.cache_creation.ephemeral_5m_input_tokens, 10);
        assert_eq!(usage.input_tokens, 0);

        // Another model has its own cache.
        let usage = account(&units(&second, "other"), 0, &mut cache);
        assert_eq!(usage.cache_read_input_tokens, 0);
    }

    #[test]
    fn short_prefixes_are_not_cached_and_ttls_are_split() {
        let mut cache = HashSet::new();
        let body = json!({"system": [
            {"type": "text", "text": "a b c", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ], "messages": [{"role": "user", "content": [text(4, true)]}]});
        let usage = account(&units(&body, "m"), 100, &mut cache);
        assert_eq!(usage.input_tokens, 7);
        assert_eq!(usage.cache_creation, CacheCreation::default());
        let usage = account(&units(&body, "m"), 0, &mut cache);
        assert_eq!(usage.cache_creation.ephemeral_1h_input_tokens, 3);
        assert_eq!(usage.cache_creation.ephemeral_5m_input_tokens, 4);
    }
}
