//! Attached files' bytes: stored once by SHA-256, linked from the messages that name them,
//! freed with the last of those.
//!
//! A message holds only a reference (`tern_attachment`: hash, name, size); the bytes sit in
//! `attachment_data` under their hash, so a file attached to ten prompts is kept once, and a
//! message row stays small to load and rewrite. `attachments` is the small row beside them (media
//! type, size, when it was last put, whether a message linked it since), so that putting the same
//! file again or looking for rows to free never reads megabytes.
//!
//! **Links** (`message_attachments`: message row → hash) are kept by the message write: each
//! upsert compares the hashes its blocks name with the links its row has. They go with their
//! message (`ON DELETE CASCADE`, and explicitly on delete, which also works with foreign keys off).
//! A link does not require the bytes: a message may name a file whose bytes are gone, and then
//! says so when it is sent ([`crate::attach::MissingBytes`]).
//!
//! **Freeing** happens when messages are deleted (a conversation, a branch) or a rewrite drops a
//! reference: a file no message names any more is deleted if a message linked it after it was
//! last put (`linked = 1`). A file put and not yet named (attached to a prompt that is not sent
//! yet, maybe by another tern on the same file) has `linked = 0` and is kept for
//! [`PENDING_GRACE_MS`] after it was put; putting it again restarts that time. Deletes also sweep
//! such rows older than that (a prompt never sent), through a partial index.
//!
//! One race is left: tern A puts a file, tern B puts the same file, A sends and then deletes that
//! conversation before B sends. A's link marked the file linked, so the delete frees it and B's
//! prompt finds the bytes missing (it says so; attaching again puts them back).

use std::collections::BTreeSet;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::api::types::ContentBlock;

/// How long bytes put but not named by any message are kept (a prompt being written).
pub const PENDING_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// The hashes `content`'s attachment blocks name.
pub(crate) fn named(content: &[ContentBlock]) -> BTreeSet<&str> {
    content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Attachment(a) => Some(a.sha256.as_str()),
            _ => None,
        })
        .collect()
}

/// Store `bytes` under `sha256` unless they are there already; either way they count as just
/// put (kept [`PENDING_GRACE_MS`] until a message names them).
pub(crate) fn put(
    conn: &Connection,
    sha256: &str,
    media_type: &str,
    bytes: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO attachments (sha256, media_type, size, created_at, linked)
         VALUES (?1, ?2, ?3, ?4, 0)
         ON CONFLICT (sha256) DO UPDATE SET created_at = excluded.created_at, linked = 0",
    )?
    .execute(params![
        sha256,
        media_type,
        i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        now
    ])?;
    if !has_bytes(conn, sha256)? {
        conn.prepare_cached("INSERT INTO attachment_data (sha256, data) VALUES (?1, ?2)")?
            .execute(params![sha256, bytes])?;
    }
    Ok(())
}

/// Whether the bytes of `sha256` are saved.
pub(crate) fn has_bytes(conn: &Connection, sha256: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM attachment_data WHERE sha256 = ?1")?
        .query_row([sha256], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The bytes saved under `sha256`, if any.
pub(crate) fn bytes(conn: &Connection, sha256: &str) -> Result<Option<Arc<[u8]>>, StoreError> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM attachment_data WHERE sha256 = ?1")?
        .query_row([sha256], |row| row.get(0))
        .optional()?;
    Ok(data.map(Arc::from))
}

/// Make message row `pk`'s links the hashes its `content` names (`new`: the row was just
/// inserted, so it has none yet). A new link marks its file linked; a dropped one may free it.
pub(crate) fn relink(
    conn: &Connection,
    pk: i64,
    content: &[ContentBlock],
    new: bool,
    now: i64,
) -> Result<(), StoreError> {
    let wanted = named(content);
    if new && wanted.is_empty() {
        return Ok(());
    }
    let existing: BTreeSet<String> = if new {
        BTreeSet::new()
    } else {
        links_of(conn, pk)?.into_iter().collect()
    };
    let mut dropped = Vec::new();
    for sha in &existing {
        if !wanted.contains(sha.as_str()) {
            conn.prepare_cached(
                "DELETE FROM message_attachments WHERE message_pk = ?1 AND sha256 = ?2",
            )?
            .execute(params![pk, sha])?;
            dropped.push(sha.clone());
        }
    }
    for sha in wanted {
        if !existing.contains(sha) {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO message_attachments (message_pk, sha256) VALUES (?1, ?2)",
            )?
            .execute(params![pk, sha])?;
            conn.prepare_cached("UPDATE attachments SET linked = 1 WHERE sha256 = ?1")?
                .execute([sha])?;
        }
    }
    free(conn, &dropped, now)
}

/// The hashes message row `pk` links.
fn links_of(conn: &Connection, pk: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT sha256 FROM message_attachments WHERE message_pk = ?1")?;
    let rows = stmt.query_map([pk], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Remove the links of the messages `message_where` selects (an SQL condition on `messages`
/// with `?1`), before they are deleted; the hashes they named, to [`free`] afterwards.
pub(crate) fn unlink(
    conn: &Connection,
    message_where: &str,
    arg: &str,
) -> Result<Vec<String>, StoreError> {
    let messages = format!("SELECT pk FROM messages WHERE {message_where}");
    let shas: Vec<String> = {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT DISTINCT sha256 FROM message_attachments WHERE message_pk IN ({messages})"
        ))?;
        let rows = stmt.query_map([arg], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if !shas.is_empty() {
        conn.prepare_cached(&format!(
            "DELETE FROM message_attachments WHERE message_pk IN ({messages})"
        ))?
        .execute([arg])?;
    }
    Ok(shas)
}

/// Delete each of `candidates` that no message names any more, if a message linked it since it
/// was last put or it was put over [`PENDING_GRACE_MS`] ago.
pub(crate) fn free(conn: &Connection, candidates: &[String], now: i64) -> Result<(), StoreError> {
    let before = now.saturating_sub(PENDING_GRACE_MS);
    for sha in candidates {
        let freed = conn
            .prepare_cached(
                "DELETE FROM attachments WHERE sha256 = ?1 AND (linked = 1 OR created_at < ?2)
                 AND NOT EXISTS (SELECT 1 FROM message_attachments WHERE sha256 = ?1)",
            )?
            .execute(params![sha, before])?;
        if freed > 0 {
            conn.prepare_cached("DELETE FROM attachment_data WHERE sha256 = ?1")?
                .execute([sha])?;
        }
    }
    Ok(())
}

/// Free `candidates` (see [`free`]), and files put over [`PENDING_GRACE_MS`] ago that no
/// message ever named (a prompt never sent).
pub(crate) fn free_after_delete(
    conn: &Connection,
    mut candidates: Vec<String>,
    now: i64,
) -> Result<(), StoreError> {
    let before = now.saturating_sub(PENDING_GRACE_MS);
    {
        let mut stmt = conn.prepare_cached(
            "SELECT sha256 FROM attachments WHERE linked = 0 AND created_at < ?1",
        )?;
        let rows = stmt.query_map([before], |row| row.get::<_, String>(0))?;
        for sha in rows {
            candidates.push(sha?);
        }
    }
    free(conn, &candidates, now)
}
