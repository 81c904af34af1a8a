//! The domain types the store saves and hands back.
//!
//! They are plain data (no database handles inside) so the UI, the owner task and the exporters
//! can move them between threads and compare them in tests. A message is always stored as a full
//! snapshot: `upsert_message` with the same `id` replaces the earlier version, so a streaming reply
//! can be written again and again as it grows, and the last write wins.
//!
//! These types also derive serde: the JSON export (`tern.conversation.v1`) is made of them, so a
//! field added here shows up in exports (add it with `#[serde(default)]` so older files still load).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::api::types::{ContentBlock, Role, Usage};
use crate::config::{Effort, Thinking};

/// A fresh random id: 16 lowercase hex characters (64 random bits).
///
/// Short enough to type a prefix of (`tern --resume 3fa2`), long enough that two ids made on two
/// machines do not collide in practice.
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The current time as unix milliseconds (the unit of every `*_at` field).
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Request parameters saved with a conversation. `None` means "not set, use the default".
///
/// `max_tokens`, `temperature` and `top_p` have columns of their own; the later ones travel
/// together as one JSON column ([`Params::extra_json`]), so a parameter added here needs no
/// migration (give it a serde default so older rows and exports still load).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "is_off")]
    pub thinking: Thinking,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Documents are sent asking for citations (`/cite on`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub citations: bool,
}

fn is_off(thinking: &Thinking) -> bool {
    !thinking.is_on()
}

/// The parameters kept in the JSON column.
#[derive(Default, Serialize, Deserialize)]
struct ParamsExtra {
    #[serde(default, skip_serializing_if = "is_off")]
    thinking: Thinking,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effort: Option<Effort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    citations: bool,
}

impl Params {
    /// The parameters without a column of their own, as one JSON object (`{}` when unset).
    pub fn extra_json(&self) -> String {
        serde_json::to_string(&ParamsExtra {
            thinking: self.thinking,
            effort: self.effort,
            top_k: self.top_k,
            stop_sequences: self.stop_sequences.clone(),
            citations: self.citations,
        })
        .unwrap_or_else(|_| "{}".to_owned())
    }

    /// Take the parameters of [`Params::extra_json`]; a value this build cannot read (written
    /// by a newer one) leaves them unset rather than failing the load.
    pub fn set_extra_json(&mut self, json: &str) {
        let extra: ParamsExtra = serde_json::from_str(json).unwrap_or_default();
        self.thinking = extra.thinking;
        self.effort = extra.effort;
        self.top_k = extra.top_k;
        self.stop_sequences = extra.stop_sequences;
        self.citations = extra.citations;
    }
}

/// One saved conversation (its header; messages are stored separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub title: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds; bumped by every message write.
    pub updated_at: i64,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub params: Params,
    /// The model of the latest message that named one (what `--continue` picks up again).
    #[serde(default)]
    pub last_model: Option<String>,
    /// The last message of the active path (what is shown, and what the next turn sends).
    /// Written only by a new message (it becomes the leaf), [`WriteCommand::SetActiveLeaf`] and
    /// [`WriteCommand::DeleteBranch`], never by a header update. `Store::load` and
    /// `load_tree` give the leaf in effect; list rows give it as stored (`None`: the path ends
    /// at the newest message).
    ///
    /// [`WriteCommand::SetActiveLeaf`]: super::WriteCommand::SetActiveLeaf
    /// [`WriteCommand::DeleteBranch`]: super::WriteCommand::DeleteBranch
    #[serde(default)]
    pub active_leaf: Option<String>,
}

impl Conversation {
    /// A new, empty conversation with a fresh id, created now.
    pub fn new(title: impl Into<String>) -> Self {
        Conversation::new_at(new_id(), title, now_ms())
    }

    /// A new, empty conversation with this id, created at `now` (unix ms).
    pub fn new_at(id: String, title: impl Into<String>, now: i64) -> Self {
        Conversation {
            id,
            title: title.into(),
            created_at: now,
            updated_at: now,
            system: None,
            params: Params::default(),
            last_model: None,
            active_leaf: None,
        }
    }
}

/// Where a message is in its life. Stored as the lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Finished normally (`message_stop` seen, or a user message).
    #[default]
    Complete,
    /// Still arriving; the row is a snapshot that will be replaced.
    Streaming,
    /// The user stopped it; the text is what arrived.
    Stopped,
    /// The request or the stream failed; `error` says why.
    Error,
    /// The process writing it died (crash, `kill -9`, power loss) before it finished.
    Interrupted,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 5] = [
        MessageStatus::Complete,
        MessageStatus::Streaming,
        MessageStatus::Stopped,
        MessageStatus::Error,
        MessageStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Error => "error",
            MessageStatus::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the five status names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown message status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for MessageStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// One message as saved: a full snapshot, replaced as a whole by the next upsert with its `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: String,
    pub conversation_id: String,
    /// Order of creation within the conversation (ascending): a new message's is greater than
    /// every stored one's. Ties (in files from older tern) are broken by insertion order.
    pub seq: i64,
    /// The message this one answers or follows; `None` for a root (the first prompt, or an
    /// edit of it). Messages with the same parent are siblings: alternatives (edit/regenerate).
    #[serde(default)]
    pub parent_id: Option<String>,
    pub role: Role,
    pub content: Vec<ContentBlock>,
    /// The model that wrote it (assistant messages).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub status: MessageStatus,
    /// A human-readable error shown in the UI when `status` is `Error`.
    #[serde(default)]
    pub error: Option<String>,
    /// What the server said of a reply besides its content (its id, the model that served it…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Box<ResponseMeta>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the server said of a reply besides its blocks, saved whole so nothing it sent is lost:
/// export JSON carries it, `tern show` shows the served model when it is not the one asked for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseMeta {
    /// The server's message id (`msg_…`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The model the server says answered; a gateway may serve another than the one asked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The stop sequence that ended the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequence: Option<String>,
    /// Why it stopped, in detail (a refusal's category and explanation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_details: Option<serde_json::Value>,
    /// The code-execution container it ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<serde_json::Value>,
}

impl ResponseMeta {
    /// The metadata of a reply as the stream assembled it.
    pub fn of(message: &crate::api::Message) -> ResponseMeta {
        ResponseMeta {
            id: message.id.clone(),
            model: message.model.clone(),
            stop_sequence: message.stop_sequence.clone(),
            stop_details: message.stop_details.clone(),
            container: message.container.clone(),
        }
    }

    /// The served model, when it is not `asked` (for `tern show` and the reply's header).
    pub fn served_instead_of(&self, asked: Option<&str>) -> Option<&str> {
        (!self.model.is_empty() && asked.is_some_and(|a| a != self.model))
            .then_some(self.model.as_str())
    }
}

impl StoredMessage {
    /// A complete user message with one text block, written now.
    pub fn user(conversation_id: impl Into<String>, seq: i64, text: impl Into<String>) -> Self {
        StoredMessage::user_at(new_id(), conversation_id, seq, text, now_ms())
    }

    /// A complete user message with one text block, with this id, written at `now`.
    pub fn user_at(
        id: String,
        conversation_id: impl Into<String>,
        seq: i64,
        text: impl Into<String>,
        now: i64,
    ) -> Self {
        StoredMessage {
            id,
            conversation_id: conversation_id.into(),
            seq,
            parent_id: None,
            role: Role::User,
            content: vec![ContentBlock::text(text)],
            model: None,
            usage: None,
            stop_reason: None,
            status: MessageStatus::Complete,
            error: None,
            response: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// An empty assistant message that is about to stream, written now.
    pub fn assistant_streaming(
        conversation_id: impl Into<String>,
        seq: i64,
        model: impl Into<String>,
    ) -> Self {
        StoredMessage::assistant_streaming_at(new_id(), conversation_id, seq, model, now_ms())
    }

    /// An empty assistant message about to stream, with this id, written at `now`.
    pub fn assistant_streaming_at(
        id: String,
        conversation_id: impl Into<String>,
        seq: i64,
        model: impl Into<String>,
        now: i64,
    ) -> Self {
        StoredMessage {
            id,
            conversation_id: conversation_id.into(),
            seq,
            parent_id: None,
            role: Role::Assistant,
            content: Vec::new(),
            model: Some(model.into()),
            usage: None,
            stop_reason: None,
            status: MessageStatus::Streaming,
            error: None,
            response: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A row of the conversation browser: the header plus aggregates kept up to date on every write,
/// so a page of the list never reads the messages themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub message_count: u64,
    /// Distinct models that wrote messages here, in order of first use.
    pub models: Vec<String>,
    /// Input tokens of all turns, cache reads and writes included (`Usage::total_input`).
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    /// The start of the latest message that has text, whitespace collapsed (≤ 160 chars).
    pub preview: String,
    /// How many branches (leaves) the conversation's tree has: 1 for a line, 0 when empty.
    pub branches: u64,
}

/// One message that matched a full-text search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub conversation_id: String,
    pub title: String,
    pub message_id: String,
    pub role: Role,
    pub model: Option<String>,
    /// A short excerpt; every matched term is wrapped in [`MATCH_START`] … [`MATCH_END`].
    pub snippet: String,
    /// When the message was last written (unix ms).
    pub updated_at: i64,
    /// bm25 score: lower is better (FTS5 convention); hits come sorted by it.
    pub rank: f64,
}

/// Marks the start of a matched term inside [`SearchHit::snippet`].
pub const MATCH_START: char = '\u{1}';
/// Marks the end of a matched term inside [`SearchHit::snippet`].
pub const MATCH_END: char = '\u{2}';

/// A conversation whose title matched a full-text search.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleHit {
    pub conversation_id: String,
    /// The title as stored.
    pub title: String,
    /// The title with every matched term wrapped in [`MATCH_START`] … [`MATCH_END`].
    pub highlighted: String,
    /// When the conversation was last updated (unix ms).
    pub updated_at: i64,
    /// bm25 score of the title: lower is better.
    pub rank: f64,
}

/// Search hits grouped by conversation, for the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationMatch {
    pub summary: ConversationSummary,
    /// The highlighted title (see [`TitleHit::highlighted`]) when the title matched.
    pub title_match: Option<String>,
    /// Best first; at most a few per conversation (none when only the title matched).
    pub hits: Vec<SearchHit>,
    /// The best (lowest) rank of the message hits (0 when only the title matched).
    pub rank: f64,
}

/// One conversation in the browser: its list row, and the best matching snippet when searching
/// (see [`Store::browse`](super::Store::browse)).
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserRow {
    pub summary: ConversationSummary,
    /// With [`MATCH_START`] / [`MATCH_END`] around matched terms.
    pub snippet: Option<String>,
    /// The message the snippet is from (opening the row shows the branch holding it).
    pub hit_message: Option<String>,
}

/// The title used when a prompt has no visible text.
pub const UNTITLED: &str = "Untitled";

/// The widest a derived title gets, in terminal columns (the "…" included).
pub const TITLE_MAX_COLUMNS: usize = 60;

/// A conversation title from its first prompt: the first line with visible text, trimmed, runs of
/// whitespace collapsed to one space, control characters dropped, cut at a grapheme boundary so it
/// fits [`TITLE_MAX_COLUMNS`] display columns ("…" marks the cut).
pub fn title_from_prompt(prompt: &str) -> String {
    let line = prompt
        .lines()
        .map(collapse_whitespace)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if line.is_empty() {
        return UNTITLED.to_owned();
    }
    truncate_columns(&line, TITLE_MAX_COLUMNS)
}

/// Drop control characters and collapse whitespace runs into single spaces, trimmed.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if c.is_control() {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// `text` if it fits in `max` columns, else its longest grapheme prefix that fits with "…".
pub(crate) fn truncate_columns(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let w = grapheme.width();
        if used + w > budget {
            break;
        }
        used += w;
        out.push_str(grapheme);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
}

/// The preview kept for the browser: the start of the message's text blocks.
pub(crate) fn preview_of(content: &[ContentBlock]) -> String {
    const PREVIEW_CHARS: usize = 160;
    // Enough raw bytes to fill the preview after whitespace collapses, without copying a whole
    // 1 MB reply on every streaming snapshot.
    const RAW_BYTES: usize = PREVIEW_CHARS * 8;
    let mut raw = String::new();
    for block in content {
        if let ContentBlock::Text { text, .. } = block {
            let room = RAW_BYTES.saturating_sub(raw.len());
            raw.push_str(&text[..floor_char_boundary(text, room.min(text.len()))]);
            raw.push(' ');
            if raw.len() >= RAW_BYTES {
                break;
            }
        }
    }
    let collapsed = collapse_whitespace(&raw);
    match collapsed.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", collapsed[..cut].trim_end()),
        None => collapsed,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_lowercase_hex_and_differ() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 16);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn status_names_round_trip() {
        for status in MessageStatus::ALL {
            assert_eq!(status.as_str().parse::<MessageStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(status.as_str().into())
            );
        }
        assert!("partial".parse::<MessageStatus>().is_err());
    }

    #[test]
    fn title_takes_first_visible_line_collapsed() {
        assert_eq!(
            title_from_prompt("\n   \n  Explain   the\tborrow checker  \nmore"),
            "Explain the borrow checker"
        );
        assert_eq!(title_from_prompt(""), UNTITLED);
        assert_eq!(title_from_prompt(" \n\t\n"), UNTITLED);
        assert_eq!(title_from_prompt("a\u{1b}[31mred"), "a[31mred");
    }

    #[test]
    fn title_is_cut_by_columns_at_grapheme_boundaries() {
        let long = "word ".repeat(30);
        let t = title_from_prompt(&long);
        assert!(t.ends_with('…'));
        assert!(t.width() <= TITLE_MAX_COLUMNS, "{t:?}");
        assert!(t.width() >= TITLE_MAX_COLUMNS - 5, "{t:?}");

        // Wide characters: each CJK character takes two columns.
        let cjk = "漢".repeat(100);
        let t = title_from_prompt(&cjk);
        assert_eq!(t.width(), TITLE_MAX_COLUMNS - 1); // 29 × 2 columns + "…"
        assert_eq!(t.chars().filter(|&c| c == '漢').count(), 29);

        // A family emoji is one grapheme of several chars: never split.
        let family = "👨‍👩‍👧".repeat(40);
        let t = title_from_prompt(&family);
        assert!(t.width() <= TITLE_MAX_COLUMNS);
        let kept = t.trim_end_matches('…');
        assert!(!kept.is_empty());
        assert!(kept.graphemes(true).all(|g| g == "👨‍👩‍👧"), "{t:?}");

        let exact = "x".repeat(TITLE_MAX_COLUMNS);
        assert_eq!(title_from_prompt(&exact), exact);
    }

    #[test]
    fn preview_is_short_and_collapsed() {
        let content = vec![
            ContentBlock::Thinking {
                thinking: "hidden".into(),
                signature: String::new(),
            },
            ContentBlock::text("First  line\n\nsecond"),
        ];
        assert_eq!(preview_of(&content), "First line second");
        let long = vec![ContentBlock::text("é ".repeat(10_000))];
        let p = preview_of(&long);
        assert!(p.chars().count() <= 161, "{}", p.chars().count());
        assert!(p.ends_with('…'));
        assert_eq!(preview_of(&[]), "");
    }
}
