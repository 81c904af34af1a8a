//! The write path: every change is one short `BEGIN IMMEDIATE` transaction.
//!
//! `IMMEDIATE` takes the write lock up front, so two processes never both hold a read snapshot
//! and then race to upgrade it (the case `busy_timeout` cannot resolve). Each message write
//! adjusts its conversation's aggregates in the same transaction (see `summary`); the full-text
//! index is kept by triggers (see `schema`).
//!
//! **Appends are checked, so a conversation stays a well-formed tree.** A conversation is a tree
//! of messages (each names its `parent_id`; siblings are alternatives: a regenerated reply, an
//! edited prompt). A new message is only inserted if its parent is a message of the same
//! conversation and its `seq` comes after every stored one (so `seq` stays the order of
//! creation); otherwise it is refused with [`StoreError::Conflict`] without touching anything
//! (the parent was deleted meanwhile, or another writer took that `seq`). Two terns answering
//! the same message therefore make two siblings, never an interleaved line. The check and the
//! insert run in the same `IMMEDIATE` transaction, so no other writer can slip in between. A new
//! message becomes the conversation's active leaf in that transaction too, so a plain turn needs
//! no other write. Rewrites of a message already stored (streaming snapshots) are not appends
//! and are not checked; neither are imports, which write a new conversation in one transaction.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::attachments;
use super::model::{Conversation, StoredMessage, now_ms};
use super::summary::{replaced_row, update_aggregates};
use super::{Store, StoreError};

/// One change, as sent to the owner task ([`super::StoreWriter`]) or applied in a batch
/// ([`Store::apply_batch`]).
#[derive(Clone, PartialEq)]
pub enum WriteCommand {
    CreateConversation(Conversation),
    UpdateConversation(Conversation),
    Rename {
        id: String,
        title: String,
    },
    DeleteConversation(String),
    UpsertMessage(StoredMessage),
    /// Keep (or clear, with `""`) the unsent input of a conversation across restarts. The app
    /// hands it over when a tab is left, closed or the app quits, and clears it on send; a
    /// conversation's load answers with `Action::RestoreDraft`.
    SetDraft {
        id: String,
        draft: String,
    },
    /// Make `leaf` the last message of the conversation's active path (the user switched
    /// branch). Refused with [`StoreError::NoSuchMessage`] unless `leaf` is a message of it.
    SetActiveLeaf {
        conversation: String,
        leaf: String,
    },
    /// Delete `message` and every message below it; if the active leaf was among them, the
    /// path then ends at `message`'s parent.
    DeleteBranch {
        conversation: String,
        message: String,
    },
    /// Remember a fact about the endpoint at `base_url` (without credentials), e.g.
    /// [`super::NO_COUNT_TOKENS`]; it belongs to no conversation.
    SetEndpointFact {
        base_url: String,
        fact: String,
        value: String,
        at_ms: i64,
    },
    /// Keep the bytes of an attached file under their SHA-256 (lowercase hex, as
    /// [`crate::attach::sha256_hex`] gives it; not checked here), once: the same file put again
    /// is not stored twice. Sent when the file is prepared, before the message that names it.
    /// Kept at least a day until a message names it, then as long as one does (see
    /// `attachments.rs`).
    PutAttachment {
        sha256: String,
        media_type: String,
        bytes: Arc<[u8]>,
    },
}

// By hand, so that logging a command never prints megabytes of attached bytes.
impl std::fmt::Debug for WriteCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteCommand::CreateConversation(c) => {
                f.debug_tuple("CreateConversation").field(c).finish()
            }
            WriteCommand::UpdateConversation(c) => {
                f.debug_tuple("UpdateConversation").field(c).finish()
            }
            WriteCommand::Rename { id, title } => f
                .debug_struct("Rename")
                .field("id", id)
                .field("title", title)
                .finish(),
            WriteCommand::DeleteConversation(id) => {
                f.debug_tuple("DeleteConversation").field(id).finish()
            }
            WriteCommand::UpsertMessage(m) => f.debug_tuple("UpsertMessage").field(m).finish(),
            WriteCommand::SetDraft { id, draft } => f
                .debug_struct("SetDraft")
                .field("id", id)
                .field("draft", draft)
                .finish(),
            WriteCommand::SetActiveLeaf { conversation, leaf } => f
                .debug_struct("SetActiveLeaf")
                .field("conversation", conversation)
                .field("leaf", leaf)
                .finish(),
            WriteCommand::DeleteBranch {
                conversation,
                message,
            } => f
                .debug_struct("DeleteBranch")
                .field("conversation", conversation)
                .field("message", message)
                .finish(),
            WriteCommand::SetEndpointFact {
                base_url,
                fact,
                value,
                at_ms,
            } => f
                .debug_struct("SetEndpointFact")
                .field("base_url", base_url)
                .field("fact", fact)
                .field("value", value)
                .field("at_ms", at_ms)
                .finish(),
            WriteCommand::PutAttachment {
                sha256,
                media_type,
                bytes,
            } => f
                .debug_struct("PutAttachment")
                .field("sha256", sha256)
                .field("media_type", media_type)
                .field("bytes", &format_args!("<{} bytes>", bytes.len()))
                .finish(),
        }
    }
}

impl WriteCommand {
    /// The conversation the command changes.
    pub fn conversation_id(&self) -> &str {
        match self {
            WriteCommand::CreateConversation(c) | WriteCommand::UpdateConversation(c) => &c.id,
            WriteCommand::Rename { id, .. }
            | WriteCommand::DeleteConversation(id)
            | WriteCommand::SetDraft { id, .. } => id,
            WriteCommand::SetActiveLeaf { conversation, .. }
            | WriteCommand::DeleteBranch { conversation, .. } => conversation,
            WriteCommand::UpsertMessage(m) => &m.conversation_id,
            WriteCommand::SetEndpointFact { .. } | WriteCommand::PutAttachment { .. } => "",
        }
    }

    /// The message the command writes, if it writes one.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            WriteCommand::UpsertMessage(m) => Some(&m.id),
            WriteCommand::SetActiveLeaf { leaf: id, .. }
            | WriteCommand::DeleteBranch { message: id, .. } => Some(id),
            _ => None,
        }
    }

    /// A short name of the operation, for error reports ("saving message 1a2b…").
    pub fn describe(&self) -> String {
        match self {
            WriteCommand::CreateConversation(c) => format!("creating conversation {}", c.id),
            WriteCommand::UpdateConversation(c) => format!("updating conversation {}", c.id),
            WriteCommand::Rename { id, .. } => format!("renaming conversation {id}"),
            WriteCommand::DeleteConversation(id) => format!("deleting conversation {id}"),
            WriteCommand::SetDraft { id, .. } => format!("saving the draft of conversation {id}"),
            WriteCommand::SetActiveLeaf { conversation, leaf } => {
                format!("switching conversation {conversation} to the branch of {leaf}")
            }
            WriteCommand::DeleteBranch {
                conversation,
                message,
            } => format!("deleting the branch of {message} in conversation {conversation}"),
            WriteCommand::SetEndpointFact { base_url, fact, .. } => {
                format!("remembering {fact} for {base_url}")
            }
            WriteCommand::PutAttachment { sha256, .. } => {
                let short: String = sha256.chars().take(12).collect();
                format!("saving attached file {short}…")
            }
            WriteCommand::UpsertMessage(m) => {
                format!(
                    "saving message {} of conversation {}",
                    m.id, m.conversation_id
                )
            }
        }
    }
}

/// Clamp a token count into SQLite's signed 64-bit integer.
pub(super) fn sql_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn is_foreign_key_error(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn is_unique_error(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl Store {
    /// Run `f` in one immediate transaction; errors name the file.
    pub(crate) fn write_tx<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Sqlite(e).at(&path))?;
        let value = f(&tx).map_err(|e| e.at(&path))?;
        tx.commit().map_err(|e| StoreError::Sqlite(e).at(&path))?;
        Ok(value)
    }

    /// Save a new conversation. [`StoreError::AlreadyExists`] if its id is taken.
    pub fn create_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        self.write_tx(|conn| create_conversation(conn, conversation))
    }

    /// Replace a conversation's header (title, times, system prompt, parameters, last model).
    /// The aggregates are left alone. [`StoreError::NotFound`] if it does not exist.
    pub fn update_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        self.write_tx(|conn| update_conversation(conn, conversation))
    }

    /// Change a conversation's title. Does not touch `updated_at`, so the list order stays.
    pub fn rename(&mut self, id: &str, title: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| rename(conn, id, title))
    }

    /// Delete a conversation with all its messages and their search index entries.
    pub fn delete_conversation(&mut self, id: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| delete_conversation(conn, id))
    }

    /// Insert a message, or replace the stored snapshot with the same id. Bumps the
    /// conversation's `updated_at` (to the message's, if later) and, for its latest message,
    /// `last_model` and the preview; a new message becomes the active leaf.
    /// [`StoreError::NotFound`] if the conversation does not exist; [`StoreError::Conflict`] if
    /// the message is new and its parent is not a message of the conversation, or its `seq`
    /// does not come after every stored one (see the module notes).
    pub fn upsert_message(&mut self, message: &StoredMessage) -> Result<(), StoreError> {
        let writer = self.writer_for(message);
        self.write_tx(|conn| upsert_message(conn, message, writer.as_deref(), Check::Append))
    }

    /// Make `leaf` the end of the conversation's active path (see
    /// [`WriteCommand::SetActiveLeaf`]). Does not touch `updated_at`.
    pub fn set_active_leaf(&mut self, conversation: &str, leaf: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| set_active_leaf(conn, conversation, leaf))
    }

    /// Delete `message` and its descendants (see [`WriteCommand::DeleteBranch`]); aggregates and
    /// the search index follow. The conversation stays, also when nothing is left of it.
    pub fn delete_branch(&mut self, conversation: &str, message: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| delete_branch(conn, conversation, message))
    }

    /// Keep the bytes of an attached file (see [`WriteCommand::PutAttachment`]).
    pub fn put_attachment(
        &mut self,
        sha256: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.write_tx(|conn| attachments::put(conn, sha256, media_type, bytes, now_ms()))
    }

    /// Keep the unsent input of a conversation (`""` clears it). Does not touch `updated_at`.
    /// [`StoreError::NotFound`] if the conversation does not exist (a new conversation has no
    /// row until its first message is sent: create it first to keep its draft).
    pub fn set_draft(&mut self, id: &str, draft: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| set_draft(conn, id, draft))
    }

    /// Load a conversation and append messages after it, in one transaction: `append` sees the
    /// conversation as stored, its active path, and the `seq` that comes after every stored
    /// message, and returns the messages to add (each is checked as an append). Nothing can be
    /// written in between, so the path read is the one the new messages follow. Returns the
    /// conversation, its active path, and what `append` returned.
    pub fn append_after_load<T>(
        &mut self,
        id: &str,
        append: impl FnOnce(&Conversation, &[StoredMessage], i64) -> (Vec<StoredMessage>, T),
    ) -> Result<(Conversation, Vec<StoredMessage>, T), StoreError> {
        let writer = self.writer_token();
        let path = self.path.clone();
        let at = |e: rusqlite::Error| StoreError::Sqlite(e).at(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let (conversation, messages) = super::read::load(&tx, id).map_err(|e| e.at(&self.path))?;
        let next_seq = next_seq(&tx, id).map_err(|e| e.at(&self.path))?;
        let (new, value) = append(&conversation, &messages, next_seq);
        for m in &new {
            let writer = writer
                .as_deref()
                .filter(|_| m.status == super::MessageStatus::Streaming);
            upsert_message(&tx, m, writer, Check::Append).map_err(|e| e.at(&self.path))?;
        }
        tx.commit().map_err(at)?;
        Ok((conversation, messages, value))
    }

    /// Apply several commands in one transaction (one commit, one fsync at checkpoint), each in
    /// its own savepoint: a command that fails is rolled back alone and reported with its index;
    /// the others are kept. `Err` means the transaction itself failed and nothing was written.
    pub fn apply_batch(
        &mut self,
        commands: &[WriteCommand],
    ) -> Result<Vec<(usize, StoreError)>, StoreError> {
        let streaming = commands.iter().any(|c| {
            matches!(c, WriteCommand::UpsertMessage(m) if m.status == super::MessageStatus::Streaming)
        });
        let writer = if streaming { self.writer_token() } else { None };
        let path = self.path.clone();
        let at = |e: rusqlite::Error| StoreError::Sqlite(e).at(&path);
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let mut failures = Vec::new();
        for (index, command) in commands.iter().enumerate() {
            let sp = tx.savepoint().map_err(at)?;
            match apply(&sp, command, writer.as_deref()) {
                Ok(()) => sp.commit().map_err(at)?,
                // Dropping the savepoint rolls this command back.
                Err(err) => failures.push((index, err.at(&path))),
            }
        }
        tx.commit().map_err(at)?;
        Ok(failures)
    }

    /// The lease token for a snapshot that is still streaming (others need none).
    fn writer_for(&mut self, message: &StoredMessage) -> Option<String> {
        if message.status == super::MessageStatus::Streaming {
            self.writer_token()
        } else {
            None
        }
    }
}

pub(crate) fn apply(
    conn: &Connection,
    command: &WriteCommand,
    writer: Option<&str>,
) -> Result<(), StoreError> {
    match command {
        WriteCommand::CreateConversation(c) => create_conversation(conn, c),
        WriteCommand::UpdateConversation(c) => update_conversation(conn, c),
        WriteCommand::Rename { id, title } => rename(conn, id, title),
        WriteCommand::DeleteConversation(id) => delete_conversation(conn, id),
        WriteCommand::UpsertMessage(m) => {
            let writer = writer.filter(|_| m.status == super::MessageStatus::Streaming);
            upsert_message(conn, m, writer, Check::Append)
        }
        WriteCommand::SetDraft { id, draft } => set_draft(conn, id, draft),
        WriteCommand::SetActiveLeaf { conversation, leaf } => {
            set_active_leaf(conn, conversation, leaf)
        }
        WriteCommand::DeleteBranch {
            conversation,
            message,
        } => delete_branch(conn, conversation, message),
        WriteCommand::SetEndpointFact {
            base_url,
            fact,
            value,
            at_ms,
        } => {
            conn.prepare_cached(
                "INSERT INTO endpoint_facts (base_url, fact, value, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (base_url, fact) \
                 DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![base_url, fact, value, at_ms])?;
            Ok(())
        }
        WriteCommand::PutAttachment {
            sha256,
            media_type,
            bytes,
        } => attachments::put(conn, sha256, media_type, bytes, now_ms()),
    }
}

fn set_draft(conn: &Connection, id: &str, draft: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE conversations SET draft = ?2 WHERE id = ?1")?
        .execute(params![id, draft])?;
    if changed == 0 {
        return Err(StoreError::NotFound(id.to_owned()));
    }
    Ok(())
}

/// Whether an insert must prove it appends after its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Append,
    /// Imports: a whole new conversation written in one transaction.
    None,
}

/// The `seq` after every stored message of conversation `id` (0 when it has none).
pub(crate) fn next_seq(conn: &Connection, id: &str) -> Result<i64, StoreError> {
    let max: Option<i64> = conn
        .prepare_cached("SELECT max(seq) FROM messages WHERE conversation_id = ?1")?
        .query_row([id], |row| row.get(0))?;
    Ok(max.map_or(0, |seq| seq.saturating_add(1)))
}

/// Refuse a new message whose parent is not a message of its conversation, or whose `seq` does
/// not come after every stored one.
fn check_append(conn: &Connection, m: &StoredMessage) -> Result<(), StoreError> {
    let parent_found = match &m.parent_id {
        Some(parent) => conn
            .prepare_cached("SELECT 1 FROM messages WHERE id = ?1 AND conversation_id = ?2")?
            .query_row([parent, &m.conversation_id], |_| Ok(()))
            .optional()?
            .is_some(),
        None => true,
    };
    let next = next_seq(conn, &m.conversation_id)?;
    if parent_found && m.seq >= next {
        return Ok(());
    }
    let newest: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE conversation_id = ?1 ORDER BY seq DESC, pk DESC LIMIT 1",
        )?
        .query_row([&m.conversation_id], |row| row.get(0))
        .optional()?;
    Err(StoreError::Conflict {
        conversation_id: m.conversation_id.clone(),
        message_id: m.id.clone(),
        expected: m.parent_id.clone().unwrap_or_default(),
        parent_found,
        found: newest,
    })
}

/// Refuse unless `message` is a message of `conversation` (which must exist).
fn check_member(conn: &Connection, conversation: &str, message: &str) -> Result<(), StoreError> {
    let found = conn
        .prepare_cached("SELECT 1 FROM messages WHERE id = ?1 AND conversation_id = ?2")?
        .query_row([message, conversation], |_| Ok(()))
        .optional()?;
    if found.is_some() {
        return Ok(());
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")?
        .query_row([conversation], |_| Ok(()))
        .optional()?;
    match exists {
        Some(()) => Err(StoreError::NoSuchMessage {
            conversation_id: conversation.to_owned(),
            message_id: message.to_owned(),
        }),
        None => Err(StoreError::NotFound(conversation.to_owned())),
    }
}

fn set_active_leaf(conn: &Connection, conversation: &str, leaf: &str) -> Result<(), StoreError> {
    check_member(conn, conversation, leaf)?;
    conn.prepare_cached("UPDATE conversations SET active_leaf = ?2 WHERE id = ?1")?
        .execute([conversation, leaf])?;
    Ok(())
}

/// Delete `message` and its descendants, move the active leaf out of them, recount.
fn delete_branch(conn: &Connection, conversation: &str, message: &str) -> Result<(), StoreError> {
    check_member(conn, conversation, message)?;
    let nodes = super::read::tree_shape(conn, conversation)?;
    let stored: Option<String> = conn
        .prepare_cached("SELECT active_leaf FROM conversations WHERE id = ?1")?
        .query_row([conversation], |row| row.get(0))?;
    let leaf = super::read::effective_leaf(stored.as_deref(), &nodes);
    // The subtree, found from the shape in memory (a loop in a damaged file ends the walk).
    let mut doomed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    doomed.insert(message);
    loop {
        let before = doomed.len();
        for n in &nodes {
            if n.parent_id.as_deref().is_some_and(|p| doomed.contains(p)) {
                doomed.insert(n.id.as_str());
            }
        }
        if doomed.len() == before {
            break;
        }
    }
    let parent = nodes
        .iter()
        .find(|n| n.id == message)
        .and_then(|n| n.parent_id.clone());
    // The delete trigger takes each message out of the search index.
    let mut named = Vec::new();
    let mut delete = conn.prepare_cached("DELETE FROM messages WHERE id = ?1")?;
    for id in &doomed {
        named.extend(attachments::unlink(conn, "id = ?1", id)?);
        delete.execute([id])?;
    }
    attachments::free_after_delete(conn, named, now_ms())?;
    if leaf.as_deref().is_some_and(|l| doomed.contains(l)) {
        conn.prepare_cached("UPDATE conversations SET active_leaf = ?2 WHERE id = ?1")?
            .execute(params![conversation, parent])?;
    }
    super::summary::recompute_summary(conn, conversation)?;
    Ok(())
}

pub(crate) fn create_conversation(conn: &Connection, c: &Conversation) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO conversations (id, title, created_at, updated_at, system, max_tokens,
                                    temperature, top_p, last_model, params)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        c.id,
        c.title,
        c.created_at,
        c.updated_at,
        c.system,
        c.params.max_tokens,
        c.params.temperature,
        c.params.top_p,
        c.last_model,
        c.params.extra_json(),
    ])
    .map_err(|e| {
        if is_unique_error(&e) {
            StoreError::AlreadyExists(c.id.clone())
        } else {
            StoreError::Sqlite(e)
        }
    })?;
    Ok(())
}

fn update_conversation(conn: &Connection, c: &Conversation) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE conversations SET title = ?2, created_at = ?3, updated_at = ?4, system = ?5,
                max_tokens = ?6, temperature = ?7, top_p = ?8, last_model = ?9, params = ?10
             WHERE id = ?1",
        )?
        .execute(params![
            c.id,
            c.title,
            c.created_at,
            c.updated_at,
            c.system,
            c.params.max_tokens,
            c.params.temperature,
            c.params.top_p,
            c.last_model,
            c.params.extra_json(),
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound(c.id.clone()));
    }
    Ok(())
}

fn rename(conn: &Connection, id: &str, title: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached("UPDATE conversations SET title = ?2 WHERE id = ?1")?
        .execute(params![id, title])?;
    if changed == 0 {
        return Err(StoreError::NotFound(id.to_owned()));
    }
    Ok(())
}

fn delete_conversation(conn: &Connection, id: &str) -> Result<(), StoreError> {
    // Explicit, rather than relying on ON DELETE CASCADE, so it holds even for a connection with
    // foreign keys off. The delete trigger takes each message out of the search index.
    let named = attachments::unlink(conn, "conversation_id = ?1", id)?;
    conn.prepare_cached("DELETE FROM messages WHERE conversation_id = ?1")?
        .execute([id])?;
    let changed = conn
        .prepare_cached("DELETE FROM conversations WHERE id = ?1")?
        .execute([id])?;
    if changed == 0 {
        return Err(StoreError::NotFound(id.to_owned()));
    }
    attachments::free_after_delete(conn, named, now_ms())
}

/// A message's `details` column: what the server said besides content and the counted
/// tokens (`None` when it said nothing more, as for a prompt).
fn details_json(m: &StoredMessage) -> Result<Option<String>, StoreError> {
    let usage = m.usage.filter(|u| {
        u.cache_creation.is_some() || u.server_tool_use.is_some() || u.service_tier.is_some()
    });
    if m.response.is_none() && usage.is_none() {
        return Ok(None);
    }
    let details = super::read::Details {
        response: m.response.clone(),
        usage,
    };
    serde_json::to_string(&details)
        .map(Some)
        .map_err(|e| StoreError::Decode {
            what: "message",
            id: m.id.clone(),
            reason: e.to_string(),
        })
}

/// Insert or replace the message `m` (by id), keeping its conversation's aggregates true; a
/// new message becomes the active leaf. With [`Check::Append`], a new message must name a
/// parent of its conversation (or none) and come after every stored `seq`.
pub(crate) fn upsert_message(
    conn: &Connection,
    m: &StoredMessage,
    writer: Option<&str>,
    check: Check,
) -> Result<(), StoreError> {
    let content = serde_json::to_string(&m.content).map_err(|e| StoreError::Decode {
        what: "message",
        id: m.id.clone(),
        reason: e.to_string(),
    })?;
    let old = replaced_row(conn, &m.id)?;
    // A message never moves: not to another conversation (its id is taken there), nor under
    // another parent (its children and the branch counts would no longer hold).
    if let Some(old) = &old {
        if old.conversation_id() != m.conversation_id {
            return Err(StoreError::AlreadyExists(m.id.clone()));
        }
        if old.parent_id() != m.parent_id.as_deref() {
            return Err(StoreError::Reparent {
                message_id: m.id.clone(),
            });
        }
    }
    if old.is_none() && check == Check::Append {
        check_append(conn, m)?;
    }
    let details = details_json(m)?;
    let pk = write_message_row(conn, m, writer, &content, details.as_deref())?;
    attachments::relink(conn, pk, &m.content, old.is_none(), now_ms())?;
    update_aggregates(conn, m, pk, old.as_ref())
}

/// Insert or overwrite `m`'s row (its `content` and `details` already encoded); its primary key.
fn write_message_row(
    conn: &Connection,
    m: &StoredMessage,
    writer: Option<&str>,
    content: &str,
    details: Option<&str>,
) -> Result<i64, StoreError> {
    let usage = m.usage.as_ref();
    let pk: i64 = conn
        .prepare_cached(
            "INSERT INTO messages (id, conversation_id, seq, parent_id, role, status, model,
            stop_reason, input_tokens, output_tokens, cache_creation_input_tokens,
            cache_read_input_tokens, created_at, updated_at, writer, error, content, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (id) DO UPDATE SET
            conversation_id = excluded.conversation_id, seq = excluded.seq,
            parent_id = excluded.parent_id, role = excluded.role, status = excluded.status,
            model = excluded.model, stop_reason = excluded.stop_reason,
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
            cache_creation_input_tokens = excluded.cache_creation_input_tokens,
            cache_read_input_tokens = excluded.cache_read_input_tokens,
            created_at = excluded.created_at, updated_at = excluded.updated_at,
            writer = excluded.writer, error = excluded.error, content = excluded.content,
            details = excluded.details
         RETURNING pk",
        )?
        .query_row(
            params![
                m.id,
                m.conversation_id,
                m.seq,
                m.parent_id,
                m.role.as_str(),
                m.status.as_str(),
                m.model,
                m.stop_reason,
                usage.map(|u| sql_u64(u.input_tokens)),
                usage.map(|u| sql_u64(u.output_tokens)),
                usage
                    .and_then(|u| u.cache_creation_input_tokens)
                    .map(sql_u64),
                usage.and_then(|u| u.cache_read_input_tokens).map(sql_u64),
                m.created_at,
                m.updated_at,
                writer,
                m.error,
                content,
                details,
            ],
            |row| row.get(0),
        )
        .map_err(|e| {
            if is_foreign_key_error(&e) {
                StoreError::NotFound(m.conversation_id.clone())
            } else {
                StoreError::Sqlite(e)
            }
        })?;
    Ok(pk)
}
