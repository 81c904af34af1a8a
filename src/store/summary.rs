//! The per-conversation aggregates the browser lists (message count, token totals, models,
//! preview, branches), kept true by every message write, and the active leaf a new message
//! becomes.
//!
//! A write adjusts them by the difference between the old and the new snapshot of the message,
//! so it costs the same whether the conversation has 2 messages or 2,000; only a message that
//! moved, changed parent or changed model (rare) makes them be recounted. The branch count is
//! the number of leaves: a new message adds one unless its parent was a leaf until then (one
//! indexed look-up of a sibling). Apart from the write path
//! (`write.rs`) because this is the one place that knows what the aggregates mean.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::model::{StoredMessage, preview_of};
use super::write::sql_u64;
use crate::api::types::Usage;

/// The stored snapshot of message `id` that a write replaces, for the aggregate deltas.
pub(super) fn replaced_row(conn: &Connection, id: &str) -> Result<Option<OldRow>, StoreError> {
    let old = conn
        .prepare_cached(
            "SELECT conversation_id, seq, parent_id, model,
                    coalesce(input_tokens, 0) + coalesce(cache_creation_input_tokens, 0)
                        + coalesce(cache_read_input_tokens, 0),
                    coalesce(output_tokens, 0)
             FROM messages WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(OldRow {
                conversation_id: row.get(0)?,
                seq: row.get(1)?,
                parent_id: row.get(2)?,
                model: row.get(3)?,
                input: row.get(4)?,
                output: row.get(5)?,
            })
        })
        .optional()?;
    Ok(old)
}

/// Apply the write of `m` (row `pk`) to its conversation's aggregates: by deltas when it
/// replaces `old` in place, by a recount when it moved or its model changed.
pub(super) fn update_aggregates(
    conn: &Connection,
    m: &StoredMessage,
    pk: i64,
    old: Option<&OldRow>,
) -> Result<(), StoreError> {
    let usage = m.usage.as_ref();
    match old {
        None => bump_conversation(conn, m, pk, 1, total_in(usage), total_out(usage)),
        Some(old)
            if old.conversation_id == m.conversation_id
                && old.seq == m.seq
                && old.parent_id == m.parent_id
                && (old.model.is_none() || old.model == m.model) =>
        {
            let d_in = total_in(usage) - old.input;
            let d_out = total_out(usage) - old.output;
            bump_conversation(conn, m, pk, 0, d_in, d_out)
        }
        Some(old) => {
            // Moved to another conversation, position or parent, or its model changed: rare, and the
            // deltas cannot say what the list should show now, so recount.
            recompute_summary(conn, &old.conversation_id)?;
            recompute_summary(conn, &m.conversation_id)?;
            bump_conversation(conn, m, pk, 0, 0, 0)
        }
    }
}

impl OldRow {
    pub(super) fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    pub(super) fn parent_id(&self) -> Option<&str> {
        self.parent_id.as_deref()
    }
}

/// What the aggregates counted of a stored message before it is rewritten.
pub(super) struct OldRow {
    conversation_id: String,
    seq: i64,
    parent_id: Option<String>,
    model: Option<String>,
    input: i64,
    output: i64,
}

/// Apply a message write to its conversation's aggregates; a new message (`added`) also
/// becomes the conversation's active leaf.
fn bump_conversation(
    conn: &Connection,
    m: &StoredMessage,
    pk: i64,
    added: i64,
    d_in: i64,
    d_out: i64,
) -> Result<(), StoreError> {
    // Last in `load` order (seq, then insertion), so what the preview shows is what ends the
    // conversation when it is opened.
    let latest: bool = conn
        .prepare_cached(
            "SELECT NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1
                AND (seq > ?2 OR (seq = ?2 AND pk > ?3)))",
        )?
        .query_row(params![m.conversation_id, m.seq, pk], |row| row.get(0))?;
    // The preview is the start of the latest message that has text. The common case, the
    // latest message with text, needs no reading; otherwise (a reply that has no text yet, an
    // older message edited) look back from the end.
    let preview = match preview_of(&m.content) {
        preview if latest && !preview.is_empty() => preview,
        _ => latest_preview(conn, &m.conversation_id)?,
    };
    let model = m.model.as_deref().filter(|_| latest);
    let new_leaves = if added == 0 { 0 } else { new_leaves(conn, m)? };
    let changed = conn
        .prepare_cached(
            "UPDATE conversations SET
                message_count = message_count + ?2,
                total_input_tokens = total_input_tokens + ?3,
                total_output_tokens = total_output_tokens + ?4,
                updated_at = max(updated_at, ?5),
                last_model = coalesce(?6, last_model),
                models = CASE
                    WHEN ?7 IS NULL OR EXISTS (SELECT 1 FROM json_each(models) WHERE value = ?7)
                    THEN models ELSE json_insert(models, '$[#]', ?7) END,
                preview = ?8,
                branches = branches + ?9,
                active_leaf = CASE WHEN ?2 = 1 THEN ?10 ELSE active_leaf END
             WHERE id = ?1",
        )?
        .execute(params![
            m.conversation_id,
            added,
            d_in,
            d_out,
            m.updated_at,
            model,
            m.model,
            preview,
            new_leaves,
            m.id,
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound(m.conversation_id.clone()));
    }
    Ok(())
}

/// How many leaves a new message adds: none when its parent had no child until now (the
/// parent stops being a leaf, the message is one), else one.
fn new_leaves(conn: &Connection, m: &StoredMessage) -> Result<i64, StoreError> {
    let Some(parent) = &m.parent_id else {
        return Ok(1);
    };
    let sibling: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE parent_id = ?1 AND id <> ?2
                AND conversation_id = ?3)",
        )?
        .query_row(params![parent, m.id, m.conversation_id], |row| row.get(0))?;
    Ok(i64::from(sibling))
}

/// The number of leaves (messages no message of the conversation names as parent) of the
/// conversation whose id is the SQL expression `id`.
pub(crate) fn leaves_sql(id: &str) -> String {
    format!(
        "SELECT count(*) FROM messages AS m WHERE m.conversation_id = {id} AND NOT EXISTS (
            SELECT 1 FROM messages AS k WHERE k.parent_id = m.id AND k.conversation_id = {id})"
    )
}

/// Recount one conversation's aggregates from its messages.
pub(crate) fn recompute_summary(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    recompute_counts(conn, id)?;
    conn.prepare_cached(&format!(
        "UPDATE conversations SET branches = ({}) WHERE id = ?1",
        leaves_sql("?1")
    ))?
    .execute([id])?;
    Ok(())
}

/// Recount the aggregates schema v2 has (all but the branch count).
fn recompute_counts(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(SUMMARY_SQL)?.execute([id])?;
    let preview = latest_preview(conn, id)?;
    conn.prepare_cached("UPDATE conversations SET preview = ?2 WHERE id = ?1")?
        .execute(params![id, preview])?;
    Ok(())
}

/// Recount every conversation's v2 aggregates (used by the v2 upgrade; v6 counts branches).
pub(crate) fn recompute_all_summaries(conn: &Connection) -> rusqlite::Result<()> {
    let ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT id FROM conversations")?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in ids {
        recompute_counts(conn, &id)?;
    }
    Ok(())
}

const SUMMARY_SQL: &str = "
UPDATE conversations SET
    message_count = (SELECT count(*) FROM messages WHERE conversation_id = ?1),
    total_input_tokens = (SELECT coalesce(sum(coalesce(input_tokens, 0)
            + coalesce(cache_creation_input_tokens, 0) + coalesce(cache_read_input_tokens, 0)), 0)
        FROM messages WHERE conversation_id = ?1),
    total_output_tokens = (SELECT coalesce(sum(output_tokens), 0)
        FROM messages WHERE conversation_id = ?1),
    models = (SELECT json_group_array(model) FROM (
        SELECT model FROM messages WHERE conversation_id = ?1 AND model IS NOT NULL
        GROUP BY model ORDER BY min(seq), min(pk)))
WHERE id = ?1";

/// The preview of the latest message that has text.
fn latest_preview(conn: &Connection, id: &str) -> rusqlite::Result<String> {
    let mut stmt = conn.prepare_cached(
        "SELECT content FROM messages WHERE conversation_id = ?1 ORDER BY seq DESC, pk DESC",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        let json: String = row.get(0)?;
        let Ok(content) = serde_json::from_str::<Vec<crate::api::types::ContentBlock>>(&json)
        else {
            continue;
        };
        let preview = preview_of(&content);
        if !preview.is_empty() {
            return Ok(preview);
        }
    }
    Ok(String::new())
}

/// Input tokens of every kind (cache writes and reads too); 0 when unknown.
fn total_in(usage: Option<&Usage>) -> i64 {
    usage.map_or(0, |u| sql_u64(u.total_input()))
}

/// Output tokens; 0 when unknown.
fn total_out(usage: Option<&Usage>) -> i64 {
    usage.map_or(0, |u| sql_u64(u.output_tokens))
}
