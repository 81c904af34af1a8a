//! What the fake model "says": reply content, and the two wire forms of it.
//!
//! A reply is planned once as a list of blocks, each holding its full text and the byte offsets
//! where it is split into deltas. The same plan then becomes either one JSON `Message` or a lazy
//! sequence of SSE events, so the streamed and non-streamed answers can never disagree, and a
//! 200,000-word reply costs one `String` plus a vector of offsets rather than a string per delta.

use std::iter::once;

use serde_json::value::RawValue;

use super::wire::{self, ApiError, ContentBlock, Delta, Event, StopDelta, Usage};

/// The kind of a planned content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Text,
    /// `content` is the thinking text; the signature arrives as one `signature_delta`.
    Thinking {
        signature: String,
    },
    /// `content` is the input object as JSON text, streamed as `input_json_delta` fragments.
    ToolUse {
        id: String,
        name: String,
    },
}

/// One content block of a planned reply.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub kind: BlockKind,
    pub content: String,
    /// End offsets of the deltas within `content`, ascending, the last one `content.len()`.
    /// A leading `0` yields an empty first delta (tool input streams start with `""`).
    pub cuts: Vec<usize>,
}

/// `{}`, the input of a `tool_use` block in its `content_block_start`.
fn empty_object() -> &'static RawValue {
    serde_json::from_str("{}").unwrap_or(RawValue::NULL)
}

impl Block {
    pub fn text(content: String, group_sizes: &[usize]) -> Block {
        let cuts = word_cuts(&content, group_sizes);
        Block {
            kind: BlockKind::Text,
            content,
            cuts,
        }
    }

    /// The delta strings, in order.
    pub fn deltas(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = once(0).chain(self.cuts.iter().copied());
        starts
            .zip(self.cuts.iter().copied())
            .map(|(start, end)| self.content.get(start..end).unwrap_or_default())
    }

    /// The block with `content` as its text: empty for `content_block_start`, full for a
    /// finished `Message`.
    fn wire<'a>(&'a self, content: &'a str) -> ContentBlock<'a> {
        match &self.kind {
            BlockKind::Text => ContentBlock::Text { text: content },
            BlockKind::Thinking { signature } => ContentBlock::Thinking {
                thinking: content,
                signature: if content.is_empty() { "" } else { signature },
            },
            BlockKind::ToolUse { id, name } => ContentBlock::ToolUse {
                id,
                name,
                input: serde_json::from_str(content).unwrap_or_else(|_| empty_object()),
            },
        }
    }

    fn delta<'a>(&self, piece: &'a str) -> Delta<'a> {
        match &self.kind {
            BlockKind::Text => Delta::Text { text: piece },
            BlockKind::Thinking { .. } => Delta::Thinking { thinking: piece },
            BlockKind::ToolUse { .. } => Delta::InputJson {
                partial_json: piece,
            },
        }
    }
}

/// A whole planned reply.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub id: String,
    pub model: String,
    pub input_tokens: u64,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
}

impl Reply {
    /// Output tokens, counted as whitespace-separated words of every block (at least 1, as the
    /// real API never reports 0 for a finished message).
    pub fn output_tokens(&self) -> u64 {
        let words: usize = self
            .blocks
            .iter()
            .map(|block| block.content.split_whitespace().count())
            .sum();
        (words as u64).max(1)
    }

    /// How many `content_block_delta` events the full stream has.
    pub fn delta_count(&self) -> usize {
        self.blocks.iter().map(|block| block.cuts.len()).sum()
    }

    fn usage(&self, output_tokens: u64) -> Usage {
        Usage {
            input_tokens: self.input_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens,
        }
    }

    /// The non-streamed form: one `Message` object.
    pub fn message(&self) -> wire::Message<'_> {
        wire::Message {
            id: &self.id,
            kind: "message",
            role: "assistant",
            content: self
                .blocks
                .iter()
                .map(|block| block.wire(&block.content))
                .collect(),
            model: &self.model,
            stop_reason: Some(self.stop_reason),
            stop_sequence: None,
            usage: self.usage(self.output_tokens()),
        }
    }

    /// The `message_start` event followed by a `ping`, as the real API opens a stream.
    pub fn opening_events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        let message = wire::Message {
            id: &self.id,
            kind: "message",
            role: "assistant",
            content: Vec::new(),
            model: &self.model,
            stop_reason: None,
            stop_sequence: None,
            usage: self.usage(1),
        };
        [Event::MessageStart { message }, Event::Ping].into_iter()
    }

    /// Every block's `content_block_start`, deltas and `content_block_stop`, lazily.
    pub fn block_events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        self.blocks.iter().enumerate().flat_map(|(index, block)| {
            let start = Event::ContentBlockStart {
                index,
                content_block: block.wire(""),
            };
            let deltas = block.deltas().map(move |piece| Event::ContentBlockDelta {
                index,
                delta: block.delta(piece),
            });
            let signature = match &block.kind {
                BlockKind::Thinking { signature } => Some(Event::ContentBlockDelta {
                    index,
                    delta: Delta::Signature { signature },
                }),
                _ => None,
            };
            let stop = Event::ContentBlockStop { index };
            once(start).chain(deltas).chain(signature).chain(once(stop))
        })
    }

    /// `message_delta` (stop reason, cumulative usage) and `message_stop`.
    pub fn closing_events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        let delta = Event::MessageDelta {
            delta: StopDelta {
                stop_reason: self.stop_reason,
                stop_sequence: None,
            },
            usage: self.usage(self.output_tokens()),
        };
        [delta, Event::MessageStop].into_iter()
    }

    /// The full, well-formed event sequence.
    #[cfg(test)]
    pub fn events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        self.opening_events()
            .chain(self.block_events())
            .chain(self.closing_events())
    }
}

/// The error of the `midstream-error` scenario, as an event or a 529 body.
pub(crate) fn overloaded() -> ApiError {
    ApiError {
        error_type: "overloaded_error",
        message: "Overloaded".to_string(),
        details: None,
    }
}

/// Delta group sizes, in words, for short replies: a few words per delta.
pub(crate) const SHORT_GROUPS: &[usize] = &[3, 2, 4, 3, 5];
/// Delta group sizes for long replies: more words per delta, so huge replies stay cheap.
pub(crate) const LONG_GROUPS: &[usize] = &[6, 9, 7, 10, 8];

/// Offsets that split `text` into groups of words, the group sizes cycling through `sizes`.
/// Each delta after the first starts with the whitespace before its first word, as the real
/// API's deltas do (`"Hello"`, `" there"`).
pub(crate) fn word_cuts(text: &str, sizes: &[usize]) -> Vec<usize> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut cuts = Vec::new();
    let mut group_sizes = sizes.iter().copied().map(|size| size.max(1)).cycle();
    let mut group_size = group_sizes.next().unwrap_or(1);
    let mut words_in_group = 0;
    let mut in_word = false;
    let mut whitespace_start = 0;
    for (at, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                whitespace_start = at;
                in_word = false;
            }
        } else if !in_word {
            in_word = true;
            if words_in_group == group_size {
                cuts.push(whitespace_start);
                words_in_group = 0;
                group_size = group_sizes.next().unwrap_or(1);
            }
            words_in_group += 1;
        }
    }
    cuts.push(text.len());
    cuts
}

/// The sentences long replies are made of: readable, varied, and about terns.
const SENTENCES: &[&str] = &[
    "The Arctic tern flies from the far north to the far south and back every year.",
    "Over a lifetime that adds up to roughly the distance to the Moon and back three times.",
    "Terns hunt by hovering above the water and then plunging in after small fish.",
    "Their long, pointed wings make them look light and quick against a grey sky.",
    "Colonies nest on open shingle, where the parents defend their eggs with loud dives.",
    "A tern that sees a gull near the nest will chase it until it leaves.",
    "Young terns learn to fish over several weeks, following their parents along the shore.",
    "Some tern species rest on the open ocean for months without coming to land.",
    "Because they follow two summers a year, they see more daylight than any other animal.",
    "Ringing studies have found Arctic terns that were more than thirty years old.",
    "Their calls are sharp and harsh, and a busy colony is never quiet.",
    "On calm evenings they skim the surface, dipping their bills to drink.",
];

/// Sentences per paragraph in long replies.
const SENTENCES_PER_PARAGRAPH: usize = 5;

/// Exactly `words` words of prose in paragraphs. With `finish_sentence`, the last word gets a
/// full stop if it lacks one; without, the text stops mid-sentence (a `max_tokens` reply).
pub(crate) fn prose(words: usize, finish_sentence: bool) -> String {
    if words == 0 {
        return String::new();
    }
    let mut text = String::with_capacity(words * 7);
    let mut written = 0;
    let mut sentence_count = 0;
    'outer: for sentence in SENTENCES.iter().cycle() {
        sentence_count += 1;
        for word in sentence.split(' ') {
            if written > 0 && !text.ends_with('\n') {
                text.push(' ');
            }
            text.push_str(word);
            written += 1;
            if written == words {
                break 'outer;
            }
        }
        if sentence_count % SENTENCES_PER_PARAGRAPH == 0 {
            text.push_str("\n\n");
        }
    }
    if finish_sentence && !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// The `ok` reply: deterministic markdown that echoes the prompt and names the model.
pub(crate) fn ok_markdown(prompt: &str, model: &str, extra_words: Option<usize>) -> String {
    let quoted = if prompt.trim().is_empty() {
        "> (no text)".to_string()
    } else {
        prompt
            .lines()
            .map(|line| format!("> {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut text = format!(
        "# Echo from {model}\n\
         \n\
         You said:\n\
         \n\
         {quoted}\n\
         \n\
         This is the **tern fake server**, answering as `{model}`. Things to check:\n\
         \n\
         - a heading above\n\
         - this list, with `inline code`\n\
         - a fenced code block below\n\
         \n\
         ```rust\n\
         fn main() {{\n    println!(\"hello from {model}\");\n}}\n\
         ```\n\
         \n\
         That is all, from `{model}`."
    );
    if let Some(words) = extra_words {
        text.push_str("\n\n## More\n\n");
        text.push_str(&prose(words, true));
    }
    text
}

/// The `escapes` reply: hostile terminal control sequences, one of them split across two
/// deltas so a streaming sanitizer must carry state between chunks.
pub(crate) fn escapes_block(model: &str) -> Block {
    let pieces = [
        "Here is some hostile output.\n\n".to_string(),
        "Red: \u{1b}[31mred text\u{1b}[0m back to normal.\n".to_string(),
        "Clipboard: \u{1b}]52;c;".to_string(),
        "cm0gLXJmIH4=\u{7} (an OSC 52 write, split across two deltas).\n".to_string(),
        "Title: \u{1b}]0;pwned\u{7}\n".to_string(),
        "Carriage return: overwritten\rVISIBLE\n".to_string(),
        "Bell: \u{7}\u{7}\n".to_string(),
        "C1 CSI: \u{9b}31mstill red?\u{9b}0m\n".to_string(),
        format!("The end, from `{model}`."),
    ];
    text_in_pieces(pieces)
}

/// A text block sent one piece per delta (so a sequence can be split across two).
fn text_in_pieces(pieces: impl IntoIterator<Item = String>) -> Block {
    let mut content = String::new();
    let mut cuts = Vec::new();
    for piece in pieces {
        content.push_str(&piece);
        cuts.push(content.len());
    }
    Block {
        kind: BlockKind::Text,
        content,
        cuts,
    }
}

/// The `bidi` reply: bidi overrides and invisible characters a reader must be shown, next to an
/// emoji ZWJ sequence that must stay whole. One override is split across two deltas.
pub(crate) fn bidi_block(model: &str) -> Block {
    let pieces = [
        "Hidden characters ahead.\n\n".to_string(),
        "Override: access\u{202e}nimda\u{202c} granted.\n".to_string(),
        "Isolate: \u{2067}left\u{2069} and zero\u{200b}width\u{2060}joiners\u{feff}.\n".to_string(),
        "Family: \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} stays one emoji.\n".to_string(),
        format!("The end, from `{model}`."),
    ];
    text_in_pieces(pieces)
}

/// The error of the `hostile-error` scenario: a window title, a screen clear, a clipboard
/// write and bidi characters in both `type` and `message`.
pub(crate) fn hostile_error() -> ApiError {
    ApiError {
        error_type: "invalid_request_error\u{1b}]0;pwned-type\u{7}\u{202e}",
        message: "bad request\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\u{1b}]52;c;ZXZpbA==\u{7} \u{9b}31m \u{202e}gnp.exe\u{202c} hidden\u{200b}\u{feff}".to_string(),
        details: None,
    }
}

/// Extra `GET /v1/models` entries for a hostile endpoint: escape sequences and bidi characters
/// in ids and display names.
pub(crate) fn hostile_models() -> Vec<wire::ModelInfo<'static>> {
    [
        (
            "evil\u{1b}]0;pwned\u{7}\u{1b}[2J-model",
            "Evil \u{1b}]52;c;ZXZpbA==\u{7}Model",
        ),
        (
            "rtl\u{202e}ledom\u{202c}-x",
            "RTL \u{2066}Model\u{2069}\u{200b}",
        ),
    ]
    .into_iter()
    .map(|(id, name)| wire::ModelInfo {
        kind: "model",
        id,
        display_name: name.to_string(),
        created_at: "1970-01-01T00:00:00Z",
    })
    .collect()
}

/// A fixed, base64-looking thinking signature.
const SIGNATURE: &str = "EqQBCgIYAhIMRmFrZVNpZ25hdHVyZRoMdGVybi1mYWtlLXNlcnZlcg==";

/// The `thinking` reply: a thinking block, then a text block.
pub(crate) fn thinking_blocks(prompt: &str, model: &str) -> Vec<Block> {
    let gist: String = prompt.chars().take(60).collect();
    let thinking = format!(
        "The user wrote \"{gist}\". I should answer briefly, in markdown, \
         and say which model I am ({model}). No tool is needed for this."
    );
    let text =
        format!("I thought it over. Short answer: this is `{model}`, via the tern fake server.");
    vec![
        Block {
            kind: BlockKind::Thinking {
                signature: SIGNATURE.to_string(),
            },
            cuts: word_cuts(&thinking, SHORT_GROUPS),
            content: thinking,
        },
        Block::text(text, SHORT_GROUPS),
    ]
}

/// The `tool-use` reply: a text block, then a `get_weather` call whose input is streamed as
/// JSON fragments, the first one empty.
pub(crate) fn tool_use_blocks(tool_id: String) -> Vec<Block> {
    let input = r#"{"location": "San Francisco, CA", "unit": "celsius"}"#.to_string();
    // The input is ASCII, so every offset is a char boundary.
    let cuts = once(0)
        .chain((11..input.len()).step_by(11))
        .chain(once(input.len()))
        .collect();
    vec![
        Block::text(
            "Let me check the weather for you.".to_string(),
            SHORT_GROUPS,
        ),
        Block {
            kind: BlockKind::ToolUse {
                id: tool_id,
                name: "get_weather".to_string(),
            },
            content: input,
            cuts,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn joined(block: &Block) -> String {
        block.deltas().collect()
    }

    #[test]
    fn word_cuts_split_between_words_and_cover_the_text() {
        let text = "one two  three\nfour five six seven";
        let block = Block::text(text.to_string(), &[2, 3]);
        let deltas: Vec<_> = block.deltas().collect();
        assert_eq!(deltas, ["one two", "  three\nfour five", " six seven"]);
        assert_eq!(joined(&block), text);
        assert!(word_cuts("", &[2]).is_empty());
        assert_eq!(word_cuts("   ", &[2]), [3]);
    }

    #[test]
    fn prose_has_exact_word_count_and_paragraphs() {
        for words in [0, 1, 7, 100, 2000] {
            let text = prose(words, true);
            assert_eq!(text.split_whitespace().count(), words, "{words}");
        }
        let text = prose(200, true);
        assert!(text.contains("\n\n"));
        assert!(text.ends_with('.'));
        assert!(!text.contains(" \n") && !text.contains("\n "));
        assert!(!prose(13, false).ends_with('.'));
    }

    #[test]
    fn ok_markdown_has_the_promised_parts() {
        let text = ok_markdown("hi\nthere", "claude-haiku-4.5", None);
        assert!(text.starts_with("# Echo from claude-haiku-4.5"));
        assert!(text.contains("> hi\n> there"));
        assert!(text.contains("- this list, with `inline code`"));
        assert!(text.contains("```rust\nfn main() {"));
        let longer = ok_markdown("hi", "m", Some(30));
        assert_eq!(
            longer.split_whitespace().count(),
            ok_markdown("hi", "m", None).split_whitespace().count() + 32
        );
    }

    #[test]
    fn tool_input_streams_from_an_empty_fragment_to_valid_json() {
        let blocks = tool_use_blocks("toolu_fake_1".into());
        let tool = &blocks[1];
        assert_eq!(tool.deltas().next(), Some(""));
        let input: Value = serde_json::from_str(&joined(tool)).unwrap();
        assert_eq!(input["location"], "San Francisco, CA");
    }

    #[test]
    fn escapes_split_an_osc_sequence_across_deltas() {
        let block = escapes_block("m");
        let deltas: Vec<_> = block.deltas().collect();
        assert!(deltas.iter().any(|d| d.ends_with("\u{1b}]52;c;")));
        assert!(block.content.contains("\u{1b}]0;pwned\u{7}"));
    }

    #[test]
    fn events_are_in_protocol_order() {
        let reply = Reply {
            id: "msg_fake_1".into(),
            model: "m".into(),
            input_tokens: 3,
            blocks: thinking_blocks("why?", "m"),
            stop_reason: "end_turn",
        };
        let names: Vec<_> = reply.events().map(|e| e.name()).collect();
        assert_eq!(names[..3], ["message_start", "ping", "content_block_start"]);
        assert_eq!(names[names.len() - 2..], ["message_delta", "message_stop"]);
        let all: Vec<Value> = reply
            .events()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        let signature_at = all
            .iter()
            .position(|e| e["delta"]["type"] == "signature_delta")
            .unwrap();
        assert_eq!(all[signature_at + 1]["type"], "content_block_stop");
        assert_eq!(all[signature_at + 1]["index"], 0);
        assert_eq!(all[2]["content_block"]["signature"], "");
        let message = serde_json::to_value(reply.message()).unwrap();
        assert_eq!(message["content"][0]["signature"], SIGNATURE);
        assert_eq!(message["usage"]["output_tokens"], reply.output_tokens());
    }
}
