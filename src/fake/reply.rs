//! What the fake model "says": reply content, and the two wire forms of it.
//!
//! A reply is planned once as a list of blocks, each holding its full text and the byte offsets
//! where it is split into deltas. The same plan then becomes either one JSON `Message` or a lazy
//! sequence of SSE events, so the streamed and non-streamed answers can never disagree, and a
//! 200,000-word reply costs one `String` plus a vector of offsets rather than a string per delta.
//!
//! It is longer than the other files on purpose: every block kind the fake sends (thinking,
//! redacted, tool and server-tool calls, citations) is planned here, next to the one event
//! writer they share, so adding a kind touches one file and cannot drift from the wire form.

use std::iter::once;

use serde_json::value::RawValue;

use super::signature;
use super::wire::{
    self, ApiError, CacheCreation, Citation, ContentBlock, Delta, Event, ServerToolUsage,
    StopDelta, StopDetails, Usage, WebSearchResult,
};

/// The kind of a planned content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// With `citations`, the block opens with `"citations": []` and each citation arrives as a
    /// `citations_delta` before the text.
    Text { citations: Option<Vec<Citation>> },
    /// `content` is the thinking text; the signature arrives as one `signature_delta`.
    Thinking { signature: String },
    /// Complete in its `content_block_start`, no deltas.
    RedactedThinking { data: String },
    /// `content` is the input object as JSON text, streamed as `input_json_delta` fragments.
    ToolUse { id: String, name: String },
    /// Like [`BlockKind::ToolUse`], for a tool the server runs itself.
    ServerToolUse { id: String, name: String },
    /// Complete in its `content_block_start`, no deltas.
    WebSearchToolResult {
        tool_use_id: String,
        results: Vec<WebSearchResult>,
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
            kind: BlockKind::Text { citations: None },
            content,
            cuts,
        }
    }

    /// A text block whose text is backed by `citations`.
    pub fn cited(content: String, citations: Vec<Citation>) -> Block {
        Block {
            kind: BlockKind::Text {
                citations: Some(citations),
            },
            ..Block::text(content, SHORT_GROUPS)
        }
    }

    /// A thinking block, signed by this server.
    pub fn thinking(content: String) -> Block {
        Block {
            kind: BlockKind::Thinking {
                signature: signature::sign_thinking(&content),
            },
            cuts: word_cuts(&content, SHORT_GROUPS),
            content,
        }
    }

    /// A block with no text, sent whole in its `content_block_start`.
    pub fn whole(kind: BlockKind) -> Block {
        Block {
            kind,
            content: String::new(),
            cuts: Vec::new(),
        }
    }

    /// A (server) tool call whose JSON `input` streams in fragments of about 11 bytes, the
    /// first one empty as the real API sends it.
    pub fn tool_call(kind: BlockKind, input: String) -> Block {
        let mut cuts = vec![0];
        let mut at = 0;
        while at + 11 < input.len() {
            at += 11;
            while !input.is_char_boundary(at) {
                at += 1;
            }
            cuts.push(at);
        }
        cuts.push(input.len());
        cuts.dedup();
        Block {
            kind,
            content: input,
            cuts,
        }
    }

    /// The block's output tokens: its whitespace-separated words.
    fn tokens(&self) -> usize {
        self.content.split_whitespace().count()
    }

    /// Keeps the first `words` words (and the whitespace inside them), re-signing thinking.
    fn keep_words(&mut self, words: usize) {
        let end = self
            .content
            .split_whitespace()
            .take(words)
            .last()
            .map_or(0, |word| {
                word.as_ptr() as usize - self.content.as_ptr() as usize + word.len()
            });
        self.truncate(end);
    }

    /// Cuts `content` to its first `end` bytes (a char boundary), re-signing thinking.
    fn truncate(&mut self, end: usize) {
        self.content.truncate(end);
        self.cuts.retain(|&cut| cut < end);
        if end > 0 {
            self.cuts.push(end);
        }
        self.cuts.dedup();
        if let BlockKind::Thinking { signature } = &mut self.kind {
            *signature = signature::sign_thinking(&self.content);
        }
    }

    /// The delta strings, in order.
    pub fn deltas(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = once(0).chain(self.cuts.iter().copied());
        starts
            .zip(self.cuts.iter().copied())
            .map(|(start, end)| self.content.get(start..end).unwrap_or_default())
    }

    /// The block as `content_block_start` opens it (`finished` false: no text yet) or as a
    /// finished `Message` holds it.
    fn wire(&self, finished: bool) -> ContentBlock<'_> {
        let content = if finished { self.content.as_str() } else { "" };
        let input = || serde_json::from_str(content).unwrap_or_else(|_| empty_object());
        match &self.kind {
            BlockKind::Text { citations } => ContentBlock::Text {
                text: content,
                citations: citations
                    .as_deref()
                    .map(|all| if finished { all } else { &[] }),
            },
            BlockKind::Thinking { signature } => ContentBlock::Thinking {
                thinking: content,
                signature: if finished { signature } else { "" },
            },
            BlockKind::RedactedThinking { data } => ContentBlock::RedactedThinking { data },
            BlockKind::ToolUse { id, name } => ContentBlock::ToolUse {
                id,
                name,
                input: input(),
            },
            BlockKind::ServerToolUse { id, name } => ContentBlock::ServerToolUse {
                id,
                name,
                input: input(),
            },
            BlockKind::WebSearchToolResult {
                tool_use_id,
                results,
            } => ContentBlock::WebSearchToolResult {
                tool_use_id,
                content: results,
            },
        }
    }

    fn delta<'a>(&self, piece: &'a str) -> Delta<'a> {
        match &self.kind {
            BlockKind::Thinking { .. } => Delta::Thinking { thinking: piece },
            BlockKind::ToolUse { .. } | BlockKind::ServerToolUse { .. } => Delta::InputJson {
                partial_json: piece,
            },
            _ => Delta::Text { text: piece },
        }
    }

    /// The `citations_delta`s that precede a cited block's text.
    fn citations(&self) -> &[Citation] {
        match &self.kind {
            BlockKind::Text {
                citations: Some(citations),
            } => citations,
            _ => &[],
        }
    }
}

/// The input side of a reply's usage: what was read from the cache, written to it, and the
/// rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct InputUsage {
    pub input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation: CacheCreation,
}

/// A whole planned reply.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub id: String,
    pub model: String,
    pub input: InputUsage,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    /// The stop sequence that ended the reply, with `stop_reason: "stop_sequence"`.
    pub stop_sequence: Option<String>,
    /// Server-side web searches the reply made (`usage.server_tool_use`).
    pub web_search_requests: u64,
}

/// The `stop_details` the fake sends with a refusal.
const REFUSAL: StopDetails<'static> = StopDetails {
    kind: "refusal",
    category: None,
    explanation: Some("The tern fake server refused this request, as asked."),
};

impl Reply {
    /// A reply with no usage beyond `input` and no stop sequence.
    pub fn new(
        id: String,
        model: String,
        input: InputUsage,
        blocks: Vec<Block>,
        stop_reason: &'static str,
    ) -> Reply {
        Reply {
            id,
            model,
            input,
            blocks,
            stop_reason,
            stop_sequence: None,
            web_search_requests: 0,
        }
    }

    /// Output tokens, counted as whitespace-separated words of every block (at least 1, as the
    /// real API never reports 0 for a finished message).
    pub fn output_tokens(&self) -> u64 {
        let words: usize = self.blocks.iter().map(Block::tokens).sum();
        (words as u64).max(1)
    }

    /// How many `content_block_delta` events the full stream has.
    pub fn delta_count(&self) -> usize {
        self.blocks
            .iter()
            .map(|block| block.cuts.len() + block.citations().len())
            .sum()
    }

    /// Ends the reply where its text first holds one of `sequences`, as the model stops
    /// before writing a stop sequence; later blocks are dropped.
    pub fn stop_at(&mut self, sequences: &[String]) {
        for index in 0..self.blocks.len() {
            if !matches!(self.blocks[index].kind, BlockKind::Text { .. }) {
                continue;
            }
            let content = &self.blocks[index].content;
            let Some((at, sequence)) = sequences
                .iter()
                .filter_map(|sequence| content.find(sequence.as_str()).map(|at| (at, sequence)))
                .min_by_key(|(at, _)| *at)
            else {
                continue;
            };
            let sequence = sequence.clone();
            self.blocks[index].truncate(at);
            let empty = self.blocks[index].content.is_empty();
            self.blocks.truncate(if empty { index } else { index + 1 });
            self.stop_reason = "stop_sequence";
            self.stop_sequence = Some(sequence);
            return;
        }
    }

    /// Cuts the reply at `max_tokens` output tokens (words), as the real API stops
    /// generating; a block cut to nothing is dropped. Tool input cut this way is partial JSON.
    pub fn limit(&mut self, max_tokens: u64) {
        let mut left = usize::try_from(max_tokens).unwrap_or(usize::MAX);
        for index in 0..self.blocks.len() {
            let tokens = self.blocks[index].tokens();
            if tokens <= left {
                left -= tokens;
                continue;
            }
            self.blocks[index].keep_words(left);
            let keep = if self.blocks[index].content.is_empty() {
                index
            } else {
                index + 1
            };
            self.blocks.truncate(keep);
            self.stop_reason = "max_tokens";
            self.stop_sequence = None;
            return;
        }
    }

    fn usage(&self, output_tokens: u64) -> Usage {
        Usage {
            input_tokens: self.input.input_tokens,
            cache_creation_input_tokens: self.input.cache_creation.ephemeral_5m_input_tokens
                + self.input.cache_creation.ephemeral_1h_input_tokens,
            cache_read_input_tokens: self.input.cache_read_input_tokens,
            cache_creation: self.input.cache_creation,
            output_tokens,
            server_tool_use: (self.web_search_requests > 0).then_some(ServerToolUsage {
                web_search_requests: self.web_search_requests,
            }),
            service_tier: "standard",
        }
    }

    fn stop_details(&self) -> Option<StopDetails<'static>> {
        (self.stop_reason == "refusal").then_some(REFUSAL)
    }

    /// The non-streamed form: one `Message` object.
    pub fn message(&self) -> wire::Message<'_> {
        wire::Message {
            id: &self.id,
            kind: "message",
            role: "assistant",
            content: self.blocks.iter().map(|block| block.wire(true)).collect(),
            model: &self.model,
            stop_reason: Some(self.stop_reason),
            stop_sequence: self.stop_sequence.as_deref(),
            stop_details: self.stop_details(),
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
            stop_details: None,
            usage: Usage {
                server_tool_use: None,
                ..self.usage(1)
            },
        };
        [Event::MessageStart { message }, Event::Ping].into_iter()
    }

    /// Every block's `content_block_start`, deltas and `content_block_stop`, lazily.
    pub fn block_events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        self.blocks.iter().enumerate().flat_map(|(index, block)| {
            let start = Event::ContentBlockStart {
                index,
                content_block: block.wire(false),
            };
            let citations =
                block
                    .citations()
                    .iter()
                    .map(move |citation| Event::ContentBlockDelta {
                        index,
                        delta: Delta::Citations { citation },
                    });
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
            once(start)
                .chain(citations)
                .chain(deltas)
                .chain(signature)
                .chain(once(stop))
        })
    }

    /// `message_delta` (stop reason, cumulative usage) and `message_stop`.
    pub fn closing_events(&self) -> impl Iterator<Item = Event<'_>> + '_ {
        let delta = Event::MessageDelta {
            delta: StopDelta {
                stop_reason: self.stop_reason,
                stop_sequence: self.stop_sequence.as_deref(),
                stop_details: self.stop_details(),
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
        kind: BlockKind::Text { citations: None },
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
        lifecycle: "active",
        max_input_tokens: None,
        max_tokens: None,
        capabilities: None,
    })
    .collect()
}

/// What the fake model thinks about `prompt`: `words` words (at most), naming `model`.
pub(crate) fn thinking_text(prompt: &str, model: &str, words: usize) -> String {
    let gist: String = prompt.chars().take(60).collect();
    let mut thinking = format!(
        "The user wrote \"{gist}\". I should answer briefly, in markdown, \
         and say which model I am ({model}). No tool is needed for this."
    );
    let opening = thinking.split_whitespace().count();
    if words > opening {
        thinking.push(' ');
        thinking.push_str(&prose(words - opening, true));
    }
    let mut block = Block::thinking(thinking);
    block.keep_words(words);
    block.content
}

/// The `thinking` reply: a thinking block, then a text block.
pub(crate) fn thinking_blocks(prompt: &str, model: &str) -> Vec<Block> {
    let text =
        format!("I thought it over. Short answer: this is `{model}`, via the tern fake server.");
    vec![
        Block::thinking(thinking_text(prompt, model, 40)),
        Block::text(text, SHORT_GROUPS),
    ]
}

/// A `redacted_thinking` block whose data this server can later recognise.
pub(crate) fn redacted_block(seed: &str) -> Block {
    Block::whole(BlockKind::RedactedThinking {
        data: signature::redacted_data(seed),
    })
}

/// The `tool-use` reply: a text block, then a call of `name` with `input` (JSON text) streamed
/// as fragments, the first one empty.
pub(crate) fn tool_use_blocks(tool_id: String, name: &str, input: String) -> Vec<Block> {
    vec![
        Block::text(
            if name == "get_weather" {
                "Let me check the weather for you.".to_string()
            } else {
                format!("Let me call `{name}` for you.")
            },
            SHORT_GROUPS,
        ),
        Block::tool_call(
            BlockKind::ToolUse {
                id: tool_id,
                name: name.to_string(),
            },
            input,
        ),
    ]
}

/// The input the fake gives a `get_weather` call.
pub(crate) const WEATHER_INPUT: &str = r#"{"location": "San Francisco, CA", "unit": "celsius"}"#;

/// The pages the fake web search finds, with the `cited_text` each answer sentence cites.
const SEARCH_HITS: [(&str, &str, &str); 2] = [
    (
        "Arctic tern - Wikipedia",
        "https://en.wikipedia.org/wiki/Arctic_tern",
        "The Arctic tern flies from the far north to the far south and back every year.",
    ),
    (
        "Tern migration facts",
        "https://example.org/terns/migration",
        "Over a lifetime that adds up to roughly the distance to the Moon and back three times.",
    ),
];

/// A `server_tool_use` block searching the web for `query`.
pub(crate) fn web_search_call(id: &str, query: &str) -> Block {
    let input = serde_json::json!({ "query": query }).to_string();
    Block::tool_call(
        BlockKind::ServerToolUse {
            id: id.to_string(),
            name: "web_search".to_string(),
        },
        input,
    )
}

/// The `server-tool` reply: a web search, its results, then an answer citing them.
pub(crate) fn server_tool_blocks(id: &str, prompt: &str) -> Vec<Block> {
    let query: String = prompt.chars().take(40).collect();
    let results = SEARCH_HITS
        .iter()
        .map(|(title, url, _)| WebSearchResult {
            kind: "web_search_result",
            title: title.to_string(),
            url: url.to_string(),
            encrypted_content: signature::redacted_data(url),
            page_age: None,
        })
        .collect();
    let mut blocks = vec![
        web_search_call(id, query.trim()),
        Block::whole(BlockKind::WebSearchToolResult {
            tool_use_id: id.to_string(),
            results,
        }),
        Block::text(
            "Here is what I found on the web.\n\n".to_string(),
            SHORT_GROUPS,
        ),
    ];
    for (title, url, cited) in SEARCH_HITS {
        let citation = Citation::WebSearchResultLocation {
            cited_text: cited.to_string(),
            url: url.to_string(),
            title: title.to_string(),
            encrypted_index: signature::redacted_data(cited),
        };
        blocks.push(Block::cited(format!("{cited} "), vec![citation]));
    }
    blocks
}

/// The `citations` reply: an answer split into text blocks, each sentence citing a passage of
/// a document.
pub(crate) fn cited_blocks() -> Vec<Block> {
    let mut blocks = vec![Block::text(
        "According to the document, ".to_string(),
        SHORT_GROUPS,
    )];
    let mut at = 0;
    for sentence in &SENTENCES[..3] {
        let citation = Citation::CharLocation {
            cited_text: sentence.to_string(),
            document_index: 0,
            document_title: "Terns (tern fake server)".to_string(),
            start_char_index: at,
            end_char_index: at + sentence.len(),
        };
        at += sentence.len() + 1;
        blocks.push(Block::cited(format!("{sentence} "), vec![citation]));
    }
    blocks.push(Block::text(
        "That is all the document says.".to_string(),
        SHORT_GROUPS,
    ));
    blocks
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
        let blocks = tool_use_blocks("toolu_fake_1".into(), "get_weather", WEATHER_INPUT.into());
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
        let reply = Reply::new(
            "msg_fake_1".into(),
            "m".into(),
            InputUsage::default(),
            thinking_blocks("why?", "m"),
            "end_turn",
        );
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
        let thinking = message["content"][0]["thinking"].as_str().unwrap();
        let signature = message["content"][0]["signature"].as_str().unwrap();
        assert!(signature::verify_thinking(thinking, signature));
        assert_eq!(message["usage"]["output_tokens"], reply.output_tokens());
    }

    fn prose_reply(words: usize) -> Reply {
        let blocks = vec![
            Block::thinking(thinking_text("q", "m", 10)),
            Block::text(prose(words, true), SHORT_GROUPS),
        ];
        Reply::new(
            "id".into(),
            "m".into(),
            InputUsage::default(),
            blocks,
            "end_turn",
        )
    }

    #[test]
    fn limit_cuts_at_max_tokens_and_re_signs() {
        let mut reply = prose_reply(50);
        reply.limit(100);
        assert_eq!(reply.stop_reason, "end_turn");
        assert_eq!(reply.output_tokens(), 60);
        reply.limit(25);
        assert_eq!(reply.stop_reason, "max_tokens");
        assert_eq!(reply.output_tokens(), 25);
        let text = &reply.blocks[1];
        assert_eq!(joined(text), text.content);
        assert!(!text.content.ends_with(' '));
        reply.limit(4);
        assert_eq!(reply.blocks.len(), 1, "the emptied text block is dropped");
        let BlockKind::Thinking { signature } = &reply.blocks[0].kind else {
            panic!("thinking first");
        };
        assert!(signature::verify_thinking(
            &reply.blocks[0].content,
            signature
        ));
    }

    #[test]
    fn stop_at_ends_before_the_first_stop_sequence() {
        let mut reply = prose_reply(30);
        let sequences = vec!["far south".to_string(), "Arctic".to_string()];
        reply.stop_at(&sequences);
        assert_eq!(reply.stop_reason, "stop_sequence");
        assert_eq!(reply.stop_sequence.as_deref(), Some("Arctic"));
        assert_eq!(reply.blocks[1].content, "The ");
        assert_eq!(joined(&reply.blocks[1]), "The ");
        let mut untouched = prose_reply(5);
        untouched.stop_at(&["zebra".to_string()]);
        assert_eq!(untouched.stop_reason, "end_turn");
    }
}
