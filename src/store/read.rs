//! The read path: list pages, whole conversations, id prefixes and full-text search.
//!
//! Every read is one statement (or two) in SQLite's autocommit mode, so under WAL it sees one
//! consistent snapshot and never blocks the writer. Lists read only `conversations` rows (the
//! aggregates are maintained by the write path); loading reads messages through the
//! `(conversation_id, seq)` index; search asks FTS5 for the best rows first and builds snippets
//! only for the rows it returns.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::model::{
    BrowserRow, Conversation, ConversationMatch, ConversationSummary, MessageStatus, Params,
    ResponseMeta, SearchHit, StoredMessage, TitleHit,
};
use super::{Store, StoreError, search};
use crate::api::types::{ContentBlock, Role, Usage};

const SUMMARY_COLUMNS: &str = "id, title, created_at, updated_at, system, max_tokens, temperature,
    top_p, last_model, message_count, total_input_tokens, total_output_tokens, models, preview,
    params, active_leaf, branches";

const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, parent_id, role, status, model,
    stop_reason, input_tokens, output_tokens, cache_creation_input_tokens,
    cache_read_input_tokens, created_at, updated_at, error, content, details";

/// A message's `details` column.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) response: Option<Box<ResponseMeta>>,
    /// The whole usage, when it holds more than the counted columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) usage: Option<Usage>,
}

/// At most this many hits per conversation in [`Store::search_conversations`].
pub const HITS_PER_CONVERSATION: usize = 3;

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let mut conversation = Conversation {
        id: row.get(0)?,
        title: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        system: row.get(4)?,
        params: Params {
            max_tokens: row
                .get::<_, Option<i64>>(5)?
                .and_then(|n| u32::try_from(n).ok()),
            temperature: row.get(6)?,
            top_p: row.get(7)?,
            ..Params::default()
        },
        last_model: row.get(8)?,
        active_leaf: row.get(15)?,
    };
    conversation
        .params
        .set_extra_json(&row.get::<_, String>(14)?);
    Ok(conversation)
}

/// A summary row, with the `models` JSON still undecoded.
fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<(ConversationSummary, String)> {
    Ok((
        ConversationSummary {
            conversation: conversation_from_row(row)?,
            message_count: to_u64(row.get(9)?),
            models: Vec::new(),
            total_input_tokens: to_u64(row.get(10)?),
            total_output_tokens: to_u64(row.get(11)?),
            preview: row.get(13)?,
            branches: to_u64(row.get(16)?),
        },
        row.get(12)?,
    ))
}

fn finish_summary((mut summary, models): (ConversationSummary, String)) -> ConversationSummary {
    // A damaged list only loses the models column, not the row.
    summary.models = serde_json::from_str(&models).unwrap_or_default();
    summary
}

/// The columns of a message row, before the text fields are decoded.
struct RawMessage {
    id: String,
    conversation_id: String,
    seq: i64,
    parent_id: Option<String>,
    role: String,
    status: String,
    model: Option<String>,
    stop_reason: Option<String>,
    tokens: [Option<i64>; 4],
    created_at: i64,
    updated_at: i64,
    error: Option<String>,
    content: String,
    details: Option<String>,
}

fn raw_message(row: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        seq: row.get(2)?,
        parent_id: row.get(3)?,
        role: row.get(4)?,
        status: row.get(5)?,
        model: row.get(6)?,
        stop_reason: row.get(7)?,
        tokens: [row.get(8)?, row.get(9)?, row.get(10)?, row.get(11)?],
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        error: row.get(14)?,
        content: row.get(15)?,
        details: row.get(16)?,
    })
}

pub(crate) fn parse_role(s: &str) -> Option<Role> {
    match s {
        "user" => Some(Role::User),
        "assistant" => Some(Role::Assistant),
        _ => None,
    }
}

impl RawMessage {
    fn decode(self) -> Result<StoredMessage, StoreError> {
        let bad = |reason: String| StoreError::Decode {
            what: "message",
            id: self.id.clone(),
            reason,
        };
        let role =
            parse_role(&self.role).ok_or_else(|| bad(format!("unknown role {:?}", self.role)))?;
        let status: MessageStatus = self.status.parse().map_err(|e| bad(format!("{e}")))?;
        let content: Vec<ContentBlock> =
            serde_json::from_str(&self.content).map_err(|e| bad(format!("content: {e}")))?;
        let [input, output, cache_creation, cache_read] = self.tokens;
        let details: Details = match &self.details {
            Some(json) => serde_json::from_str(json).map_err(|e| bad(format!("details: {e}")))?,
            None => Details::default(),
        };
        let usage = if let Some(usage) = details.usage {
            Some(usage)
        } else if self.tokens.iter().all(Option::is_none) {
            None
        } else {
            Some(Usage {
                input_tokens: input.map_or(0, to_u64),
                output_tokens: output.map_or(0, to_u64),
                cache_creation_input_tokens: cache_creation.map(to_u64),
                cache_read_input_tokens: cache_read.map(to_u64),
                ..Usage::default()
            })
        };
        Ok(StoredMessage {
            id: self.id,
            conversation_id: self.conversation_id,
            seq: self.seq,
            parent_id: self.parent_id,
            role,
            content,
            model: self.model,
            usage,
            stop_reason: self.stop_reason,
            status,
            error: self.error,
            response: details.response,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A conversation's header, its active leaf as stored.
fn header(conn: &rusqlite::Connection, id: &str) -> Result<Conversation, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE id = ?1"
    ))?
    .query_row([id], conversation_from_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(id.to_owned()))
}

/// A conversation and all its messages in `seq` order (the whole tree), on any connection (a
/// transaction too); its `active_leaf` is the leaf in effect.
pub(crate) fn load_tree(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<(Conversation, Vec<StoredMessage>), StoreError> {
    let mut conversation = header(conn, id)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 ORDER BY seq, pk"
    ))?;
    let rows = stmt.query_map([id], raw_message)?;
    let mut messages = Vec::new();
    for raw in rows {
        messages.push(raw?.decode()?);
    }
    let nodes: Vec<Node> = messages.iter().map(Node::from).collect();
    conversation.active_leaf = effective_leaf(conversation.active_leaf.as_deref(), &nodes);
    Ok((conversation, messages))
}

/// A conversation and its active path, root first, on any connection (a transaction too);
/// its `active_leaf` is the leaf in effect.
pub(crate) fn load(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<(Conversation, Vec<StoredMessage>), StoreError> {
    let mut conversation = header(conn, id)?;
    let nodes = tree_shape(conn, id)?;
    conversation.active_leaf = effective_leaf(conversation.active_leaf.as_deref(), &nodes);
    let path = path_to(&nodes, conversation.active_leaf.as_deref());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
    ))?;
    let mut messages = Vec::with_capacity(path.len());
    for index in path {
        let raw = stmt.query_row([&nodes[index].id], raw_message)?;
        messages.push(raw.decode()?);
    }
    Ok((conversation, messages))
}

/// One message's place in its conversation's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) parent_id: Option<String>,
    pub(crate) seq: i64,
}

impl From<&StoredMessage> for Node {
    fn from(m: &StoredMessage) -> Node {
        Node {
            id: m.id.clone(),
            parent_id: m.parent_id.clone(),
            seq: m.seq,
        }
    }
}

/// The shape of a conversation's tree: every message's id, parent and seq, in `seq` order.
/// Reads only the small columns, never the content.
pub(crate) fn tree_shape(conn: &rusqlite::Connection, id: &str) -> Result<Vec<Node>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, parent_id, seq FROM messages WHERE conversation_id = ?1 ORDER BY seq, pk",
    )?;
    let rows = stmt.query_map([id], |row| {
        Ok(Node {
            id: row.get(0)?,
            parent_id: row.get(1)?,
            seq: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The leaf in effect: the stored one if it is a message of the conversation, else the newest
/// message (`None` for an empty conversation).
pub(crate) fn effective_leaf(stored: Option<&str>, nodes: &[Node]) -> Option<String> {
    stored
        .filter(|leaf| nodes.iter().any(|n| n.id == *leaf))
        .or_else(|| nodes.last().map(|n| n.id.as_str()))
        .map(str::to_owned)
}

/// The indexes in `nodes` of the path from the root to `leaf`, root first. A parent that is
/// not in the conversation ends the walk (that message is taken as a root), and so does a
/// loop (only a damaged file has one).
pub(crate) fn path_to(nodes: &[Node], leaf: Option<&str>) -> Vec<usize> {
    let index: std::collections::HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut path = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = leaf.and_then(|id| index.get(id).copied());
    while let Some(i) = next {
        if !seen.insert(i) {
            break;
        }
        path.push(i);
        next = nodes[i]
            .parent_id
            .as_deref()
            .and_then(|p| index.get(p).copied());
    }
    path.reverse();
    path
}

/// Where message `nodes[i]` stands among its siblings (the messages with the same parent, by
/// seq): `(position from 1, how many)`; `(1, 1)` for a message without siblings.
pub(crate) fn sibling_position(nodes: &[Node], i: usize) -> (usize, usize) {
    let parent = &nodes[i].parent_id;
    let mut position = 0;
    let mut count = 0;
    for (j, n) in nodes.iter().enumerate() {
        if n.parent_id == *parent {
            count += 1;
            if j <= i {
                position += 1;
            }
        }
    }
    (position, count)
}

impl Store {
    fn at(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Sqlite(e).at(&self.path)
    }

    /// A page of conversations, most recently updated first.
    pub fn list(&self, offset: u64, limit: u64) -> Result<Vec<ConversationSummary>, StoreError> {
        let at = self.at();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM conversations
                 ORDER BY updated_at DESC, id DESC LIMIT ?2 OFFSET ?1"
            ))
            .map_err(&at)?;
        let rows = stmt
            .query_map(
                params![
                    i64::try_from(offset).unwrap_or(i64::MAX),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                summary_from_row,
            )
            .map_err(&at)?;
        rows.map(|r| r.map(finish_summary).map_err(&at)).collect()
    }

    /// How many conversations are saved.
    pub fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM conversations", [], |row| row.get(0))
            .map_err(self.at())?;
        Ok(to_u64(n))
    }

    /// One conversation's list row. [`StoreError::NotFound`] if there is none.
    pub fn summary(&self, id: &str) -> Result<ConversationSummary, StoreError> {
        let at = self.at();
        self.conn
            .prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM conversations WHERE id = ?1"
            ))
            .map_err(&at)?
            .query_row([id], summary_from_row)
            .optional()
            .map_err(&at)?
            .map(finish_summary)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))
    }

    /// A conversation and its active path, root first: what is shown and what the next turn
    /// sends. Its `active_leaf` is the leaf in effect (the newest message when none was set).
    /// [`StoreError::NotFound`] if there is none.
    pub fn load(&self, id: &str) -> Result<(Conversation, Vec<StoredMessage>), StoreError> {
        load(&self.conn, id).map_err(|e| e.at(&self.path))
    }

    /// A conversation and every message of its tree, in `seq` (creation) order; each names its
    /// parent, and `active_leaf` is the leaf in effect. [`StoreError::NotFound`] if there is
    /// none.
    pub fn load_tree(&self, id: &str) -> Result<(Conversation, Vec<StoredMessage>), StoreError> {
        load_tree(&self.conn, id).map_err(|e| e.at(&self.path))
    }

    /// The unsent input kept for a conversation (`""` when none). [`StoreError::NotFound`] if
    /// there is no such conversation.
    pub fn draft(&self, id: &str) -> Result<String, StoreError> {
        self.conn
            .prepare_cached("SELECT draft FROM conversations WHERE id = ?1")
            .map_err(self.at())?
            .query_row([id], |row| row.get(0))
            .optional()
            .map_err(self.at())?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))
    }

    /// What was learnt of the endpoint at `base_url` as `fact` (see
    /// [`WriteCommand::SetEndpointFact`](super::WriteCommand::SetEndpointFact)), if anything.
    pub fn endpoint_fact(&self, base_url: &str, fact: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM endpoint_facts WHERE base_url = ?1 AND fact = ?2")
            .map_err(self.at())?
            .query_row([base_url, fact], |row| row.get(0))
            .optional()
            .map_err(self.at())
    }

    /// One message by id, if it exists.
    pub fn message(&self, id: &str) -> Result<Option<StoredMessage>, StoreError> {
        let at = self.at();
        let raw = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
            ))
            .map_err(&at)?
            .query_row([id], raw_message)
            .optional()
            .map_err(&at)?;
        raw.map(RawMessage::decode).transpose()
    }

    /// The bytes of the attached file whose SHA-256 is `sha256`, if they are saved.
    pub fn attachment_bytes(&self, sha256: &str) -> Result<Option<Arc<[u8]>>, StoreError> {
        super::attachments::bytes(&self.conn, sha256).map_err(|e| e.at(&self.path))
    }

    /// The id of the most recently updated conversation (for `tern --continue`).
    pub fn most_recent(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.at())
    }

    /// The full id of the one conversation whose id starts with `prefix` (case-insensitive,
    /// surrounding spaces ignored). An exact id always wins. [`StoreError::NotFound`] if none
    /// matches, [`StoreError::AmbiguousId`] (with up to 10 candidates) if several do.
    pub fn resolve(&self, prefix: &str) -> Result<String, StoreError> {
        const SHOWN: usize = 10;
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() {
            return Err(StoreError::NotFound(prefix));
        }
        let at = self.at();
        // Ids sort as text, so the matches are the ids from `prefix` on that still start with it:
        // an index range scan, not a LIKE over the table.
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM conversations WHERE id >= ?1 ORDER BY id")
            .map_err(&at)?;
        let mut rows = stmt.query([&prefix]).map_err(&at)?;
        let mut matches = Vec::new();
        while let Some(row) = rows.next().map_err(&at)? {
            let id: String = row.get(0).map_err(&at)?;
            if !id.starts_with(&prefix) {
                break;
            }
            if id == prefix {
                return Ok(id);
            }
            matches.push(id);
            if matches.len() > SHOWN {
                break;
            }
        }
        match matches.len() {
            0 => Err(StoreError::NotFound(prefix)),
            1 => Ok(matches.remove(0)),
            _ => {
                matches.truncate(SHOWN);
                Err(StoreError::AmbiguousId { prefix, matches })
            }
        }
    }

    /// Full-text search over the text of saved messages, best match first (bm25).
    ///
    /// Each word of `query` matches words starting with it (`borrow` finds "borrowing"; one-
    /// and two-letter words match whole words); all words must occur in the message. Case and
    /// accents are ignored. Any text is accepted: quotes, `*`, `-`, `AND`, brackets are searched
    /// for as plain words, never parsed as query syntax, and a query with no words returns no
    /// hits. When more than [`search::RANK_WINDOW`] messages match, only the most recent that
    /// many are ranked. Messages still streaming are not indexed yet. Snippets mark matches with
    /// [`super::MATCH_START`] / [`super::MATCH_END`].
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let Some(fts) = search::fts_query(query) else {
            return Ok(Vec::new());
        };
        let at = self.at();
        let window = search::RANK_WINDOW.max(limit);
        // The oldest message inside the ranking window: skipping `window - 1` matches newest
        // first costs no ranking. With fewer matches than that, all are ranked.
        let floor: i64 = match i64::try_from(window - 1) {
            Ok(skip) => self
                .conn
                .prepare_cached(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
                     ORDER BY rowid DESC LIMIT 1 OFFSET ?2",
                )
                .map_err(&at)?
                .query_row(params![fts, skip], |row| row.get(0))
                .optional()
                .map_err(&at)?
                .unwrap_or(0),
            Err(_) => 0,
        };
        // FTS5 sorts by rank itself and stops at the limit, so snippets are built only for the
        // rows returned.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT m.conversation_id, c.title, m.id, m.role, m.model, m.updated_at,
                        snippet(messages_fts, 0, char(1), char(2), '…', ?3), f.rank
                 FROM messages_fts AS f
                 JOIN messages AS m ON m.pk = f.rowid
                 JOIN conversations AS c ON c.id = m.conversation_id
                 WHERE messages_fts MATCH ?1 AND f.rowid >= ?4
                 ORDER BY f.rank
                 LIMIT ?2",
            )
            .map_err(&at)?;
        let rows = stmt
            .query_map(
                params![
                    fts,
                    i64::try_from(limit).unwrap_or(i64::MAX),
                    search::SNIPPET_TOKENS,
                    floor
                ],
                |row| {
                    let role: String = row.get(3)?;
                    Ok(SearchHit {
                        conversation_id: row.get(0)?,
                        title: row.get(1)?,
                        message_id: row.get(2)?,
                        role: parse_role(&role).unwrap_or(Role::User),
                        model: row.get(4)?,
                        updated_at: row.get(5)?,
                        snippet: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        rank: row.get(7)?,
                    })
                },
            )
            .map_err(&at)?;
        rows.map(|r| r.map_err(&at)).collect()
    }

    /// Conversations whose title matches `query` (same rules as [`Store::search`]), best first.
    pub fn search_titles(&self, query: &str, limit: usize) -> Result<Vec<TitleHit>, StoreError> {
        let Some(fts) = search::fts_query(query) else {
            return Ok(Vec::new());
        };
        let at = self.at();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.title, highlight(titles_fts, 0, char(1), char(2)), c.updated_at,
                        f.rank
                 FROM titles_fts AS f JOIN conversations AS c ON c.pk = f.rowid
                 WHERE titles_fts MATCH ?1
                 ORDER BY f.rank, c.updated_at DESC
                 LIMIT ?2",
            )
            .map_err(&at)?;
        let rows = stmt
            .query_map(
                params![fts, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok(TitleHit {
                        conversation_id: row.get(0)?,
                        title: row.get(1)?,
                        highlighted: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        updated_at: row.get(3)?,
                        rank: row.get(4)?,
                    })
                },
            )
            .map_err(&at)?;
        rows.map(|r| r.map_err(&at)).collect()
    }

    /// Search, grouped by conversation for the browser: up to `limit` conversations, those whose
    /// title matches first (best title first), then the others ordered by their best message
    /// hit; each with its list row and up to [`HITS_PER_CONVERSATION`] message hits.
    ///
    /// Works from the best `limit × 10` message hits (at least 200), so a conversation whose
    /// only hits rank below that many others is not listed.
    pub fn search_conversations(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ConversationMatch>, StoreError> {
        let titles = self.search_titles(query, limit)?;
        let hits = self.search(query, limit.saturating_mul(10).max(200))?;
        let mut groups: Vec<(String, Option<String>, Vec<SearchHit>)> = titles
            .into_iter()
            .map(|t| (t.conversation_id, Some(t.highlighted), Vec::new()))
            .collect();
        for hit in hits {
            match groups
                .iter()
                .position(|(id, _, _)| *id == hit.conversation_id)
            {
                Some(i) if groups[i].2.len() < HITS_PER_CONVERSATION => groups[i].2.push(hit),
                Some(_) => {}
                None if groups.len() < limit => {
                    groups.push((hit.conversation_id.clone(), None, vec![hit]));
                }
                None => {}
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (id, title_match, hits) in groups {
            let summary = match self.summary(&id) {
                Ok(summary) => summary,
                // Deleted by another process between the two reads.
                Err(StoreError::NotFound(_)) => continue,
                Err(err) => return Err(err),
            };
            let rank = hits.first().map_or(0.0, |h| h.rank);
            out.push(ConversationMatch {
                summary,
                title_match,
                hits,
                rank,
            });
        }
        Ok(out)
    }

    /// The browser's rows: the newest `limit` conversations for an empty query, else the
    /// `limit` best matches of [`Store::search_conversations`], each with its best snippet.
    pub fn browse(&self, query: &str, limit: usize) -> Result<Vec<BrowserRow>, StoreError> {
        if query.trim().is_empty() {
            let rows = self.list(0, u64::try_from(limit).unwrap_or(u64::MAX))?;
            return Ok(rows
                .into_iter()
                .map(|summary| BrowserRow {
                    summary,
                    snippet: None,
                    hit_message: None,
                })
                .collect());
        }
        let matches = self.search_conversations(query, limit)?;
        Ok(matches
            .into_iter()
            .map(|m| BrowserRow {
                snippet: m.hits.first().map(|h| h.snippet.clone()),
                hit_message: m.hits.first().map(|h| h.message_id.clone()),
                summary: m.summary,
            })
            .collect())
    }
}
