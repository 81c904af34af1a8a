//! The database schema and its ordered migrations.
//!
//! The schema version lives in `PRAGMA user_version`. `MIGRATIONS[i]` takes a database from
//! version `i` to `i + 1`; a new database runs all of them from 0, so the upgrade path of old
//! files is the path every new file takes too, and cannot rot. All pending steps run in one
//! `BEGIN IMMEDIATE` transaction with foreign keys off (tables are rebuilt); any failure rolls the
//! file back to exactly what it was.
//!
//! Version 1 was the first, minimal schema: plain-text messages, no usage details, no index.
//! Version 2 added content blocks, usage, the aggregates and the message index. Version 3
//! gave conversations a stable integer key so their titles can be indexed too, and a draft
//! column. Version 4 added the JSON columns for what the protocol says besides content and
//! counts (`messages.details`, `conversations.params`). Version 5 added what tern learnt of an
//! endpoint (`endpoint_facts`, e.g. that it has no count_tokens). Version 6 made a
//! conversation a tree: each message names its parent (rows older tern left without one are
//! linked to the message before them, so an old conversation is one path), the conversation
//! remembers the end of its active path (`active_leaf`) and counts its leaves (`branches`).
//! Version 7 indexed what tools said too (tool results, tool call inputs). Version 8 (current)
//! keeps attached files (their bytes once per SHA-256, linked from the messages that name them;
//! see `attachments.rs`) and indexes their names:
//!
//! ```sql
//! conversations(pk INTEGER PK,      -- stable rowid for the title index (VACUUM keeps it)
//!               id TEXT UNIQUE, title, created_at, updated_at, system, max_tokens, temperature,
//!               top_p, last_model,
//!               -- aggregates kept by the write path, so a list page never reads messages:
//!               message_count, total_input_tokens, total_output_tokens, models JSON, preview,
//!               draft,              -- unsent input, kept across restarts ('' when none)
//!               params,             -- JSON: request parameters without a column ('{}')
//!               active_leaf,        -- last message of the active path (NULL: the newest one)
//!               branches)           -- aggregate: how many messages have no child (leaves)
//!   index conversations_by_updated(updated_at DESC, id DESC)         -- list(), most_recent()
//! titles_fts(title)                 -- FTS5, external content = conversations, kept by triggers
//! messages(pk INTEGER PK,           -- stable rowid for the FTS index (VACUUM keeps it)
//!          id TEXT UNIQUE, conversation_id → conversations ON DELETE CASCADE, seq, parent_id,
//!          role, status, model, stop_reason, input_tokens, output_tokens,
//!          cache_creation_input_tokens, cache_read_input_tokens, created_at, updated_at,
//!          writer,                  -- lease token of the process streaming it (see lease.rs)
//!          error,
//!          content TEXT,            -- JSON array of content blocks, after the small columns:
//!                                   -- they are read without the overflow pages of a big reply
//!          details TEXT)            -- JSON: the server's id, served model, stop details,
//!                                   -- container, whole usage (NULL for prompts)
//!   index messages_by_conversation(conversation_id, seq)             -- load_tree()
//!   index messages_by_parent(parent_id)                              -- children, subtrees
//!   index messages_streaming(writer) WHERE status = 'streaming'      -- crash recovery on open
//! endpoint_facts(base_url, fact,   -- what an endpoint was found to lack, so it is not asked
//!                value, updated_at) -- again (base URL without credentials; PK base_url+fact)
//! attachments(sha256 PK, media_type, size,
//!             created_at,           -- when it was last put (a prompt attaching it)
//!             linked)               -- 1: a message linked it since then (0: pending)
//!   index attachments_pending(created_at) WHERE linked = 0          -- sweeping unsent ones
//! attachment_data(sha256 PK → attachments ON DELETE CASCADE, data BLOB)  -- the bytes, apart,
//!                                   -- so the small row is rewritten without them
//! message_attachments(message_pk → messages ON DELETE CASCADE, sha256; PK both)
//!   index message_attachments_by_sha256(sha256)                      -- is it still named?
//! message_text(pk, body)            -- view: the text of non-streaming messages (text blocks,
//!                                   -- tool call inputs as JSON, tool result text, the names
//!                                   -- of attached files)
//! messages_fts(body)                -- FTS5, external content = message_text, kept by triggers
//! ```
//!
//! The full-text index reads its text through a view instead of a copy of the text: the text of
//! a reply is stored once (inside `content`), the view pulls the text out of the blocks with
//! SQLite's own JSON functions (no `json_each`: FTS5 reads external content with virtual tables
//! disabled), and the triggers feed the same expression to FTS5 on insert, update and delete.
//! A tool result's images are not text and stay out of the index. Messages are
//! indexed only once they stop streaming, so a streaming snapshot rewrite (once a second, up to
//! megabytes) costs no tokenizing; a reply becomes searchable when it completes, stops, fails or
//! is marked interrupted. Titles have their own small index (`titles_fts`, same tokenizer), so
//! a conversation is found by its title, also after a rename. Everything here is plain SQL that
//! any `sqlite3` shell can run.

use rusqlite::{Connection, Transaction};

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = 8;

/// One step: takes the database from version `index` to `index + 1`.
type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

pub(crate) const MIGRATIONS: [Migration; CURRENT_VERSION as usize] =
    [to_v1, to_v2, to_v3, to_v4, to_v5, to_v6, to_v7, to_v8];

/// Version 1, the first published schema (kept verbatim: old files were made by it).
pub const V1_SCHEMA: &str = "\
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    model TEXT,
    system TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'complete',
    input_tokens INTEGER,
    output_tokens INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE INDEX conversations_by_updated ON conversations(updated_at);
";

fn to_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(V1_SCHEMA)
}

/// v2's searchable text of a message: its `text` blocks joined by newlines ('' for anything
/// that is not a JSON array). `x` is the SQL expression holding the content JSON. Kept as v2
/// wrote it: the v7 step needs it to take out exactly what v2 put in.
fn v2_text_sql(x: &str) -> String {
    format!(
        "CASE WHEN json_valid({x}) AND json_type({x}) = 'array' THEN (\
            WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i \
                WHERE n + 1 < json_array_length({x})) \
            SELECT coalesce(group_concat(json_extract({x}, '$[' || n || '].text'), char(10)), '') \
            FROM i WHERE json_extract({x}, '$[' || n || '].type') = 'text'\
        ) ELSE '' END"
    )
}

/// v7's searchable text of a message, its blocks in order joined by newlines: a `text`
/// block's text, a `tool_use` block's input as JSON text (so an argument such as a file name
/// finds the call), and a `tool_result` block's content: a string as it is, or the `text` of
/// each of its blocks (images and the like are not text and are left out). Other blocks and
/// anything that is not a JSON array give ''. `x` is the SQL expression holding the content.
/// Kept as v7 wrote it (the v8 step redefines the index over [`message_text_sql`]).
fn v7_text_sql(x: &str) -> String {
    blocks_text_sql(x, "")
}

/// The searchable text of a message (v8 on): as [`v7_text_sql`], and an attached file's name
/// (a `tern_attachment` block's `name`; its hash and sizes are not text to find).
fn message_text_sql(x: &str) -> String {
    blocks_text_sql(
        x,
        &format!("WHEN 'tern_attachment' THEN json_extract({x}, p || '.name') "),
    )
}

/// The text of content `x`'s blocks, joined by newlines, with `more` (further `WHEN kind THEN`
/// arms) for block kinds beyond v7's.
fn blocks_text_sql(x: &str, more: &str) -> String {
    format!(
        "CASE WHEN json_valid({x}) AND json_type({x}) = 'array' THEN (\
            WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i \
                WHERE n + 1 < json_array_length({x})), \
            b(p, kind) AS (SELECT '$[' || n || ']', json_extract({x}, '$[' || n || '].type') \
                FROM i) \
            SELECT coalesce(group_concat(CASE kind \
                WHEN 'text' THEN json_extract({x}, p || '.text') \
                WHEN 'tool_use' THEN json_extract({x}, p || '.input') \
                WHEN 'tool_result' THEN CASE json_type({x}, p || '.content') \
                    WHEN 'text' THEN json_extract({x}, p || '.content') \
                    WHEN 'array' THEN (\
                        WITH RECURSIVE j(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM j \
                            WHERE m + 1 < json_array_length({x}, p || '.content')) \
                        SELECT group_concat(json_extract({x}, p || '.content[' || m || '].text'), \
                            char(10)) \
                        FROM j WHERE json_extract({x}, p || '.content[' || m || '].type') = 'text'\
                    ) END \
                {more}END, char(10)), '') FROM b\
        ) ELSE '' END"
    )
}

/// v2: content blocks instead of plain text, per-conversation aggregates, and a full-text
/// index of message text kept by triggers.
fn to_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(V2_TABLES)?;
    v2_message_index(tx)?;
    super::summary::recompute_all_summaries(tx)
}

/// v2's tables, filled from v1's and put in their place, with their indexes.
const V2_TABLES: &str = "
CREATE TABLE conversations_v2 (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    system TEXT,
    max_tokens INTEGER,
    temperature REAL,
    top_p REAL,
    last_model TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    total_input_tokens INTEGER NOT NULL DEFAULT 0,
    total_output_tokens INTEGER NOT NULL DEFAULT 0,
    models TEXT NOT NULL DEFAULT '[]',
    preview TEXT NOT NULL DEFAULT ''
);
INSERT INTO conversations_v2 (id, title, created_at, updated_at, system, last_model)
    SELECT id, title, created_at, updated_at, system, model FROM conversations;

CREATE TABLE messages_v2 (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    parent_id TEXT,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    stop_reason TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_creation_input_tokens INTEGER,
    cache_read_input_tokens INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    writer TEXT,
    error TEXT,
    content TEXT NOT NULL
);
-- v1 kept plain text; v2 keeps content blocks. v1 'partial' meant a reply cut short.
INSERT INTO messages_v2 (id, conversation_id, seq, role, status, model, input_tokens,
                         output_tokens, created_at, updated_at, content)
    SELECT id, conversation_id, seq, role,
           CASE status WHEN 'complete' THEN 'complete' WHEN 'error' THEN 'error'
                       ELSE 'stopped' END,
           model,
           CASE WHEN input_tokens IS NULL AND output_tokens IS NULL THEN NULL
                ELSE coalesce(input_tokens, 0) END,
           CASE WHEN input_tokens IS NULL AND output_tokens IS NULL THEN NULL
                ELSE coalesce(output_tokens, 0) END,
           created_at, created_at,
           json_array(json_object('type', 'text', 'text', text))
    FROM messages ORDER BY conversation_id, seq;

DROP TABLE messages;
DROP TABLE conversations;
ALTER TABLE conversations_v2 RENAME TO conversations;
ALTER TABLE messages_v2 RENAME TO messages;

CREATE INDEX conversations_by_updated ON conversations(updated_at DESC, id DESC);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE INDEX messages_streaming ON messages(writer) WHERE status = 'streaming';
";

/// v2's full-text index of message text: a view of each message's text blocks, the index over
/// it, and the triggers that keep it (a streaming message is indexed once it ends).
fn v2_message_index(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'message_text', content_rowid = 'pk',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '3'
);
{index}
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
",
        index = message_index_sql(v2_text_sql),
    ))
}

/// The view `messages_fts` reads its text from and the triggers that keep the index, for the
/// body expression `body` (a streaming message is indexed once it ends).
fn message_index_sql(body: fn(&str) -> String) -> String {
    format!(
        "
CREATE VIEW message_text(pk, body) AS
    SELECT m.pk, {view} FROM messages AS m WHERE m.status <> 'streaming';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming' BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.pk, {new});
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.status <> 'streaming' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.pk, {old});
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
WHEN old.content IS NOT new.content
    OR (old.status = 'streaming') <> (new.status = 'streaming') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body)
        SELECT 'delete', old.pk, {old} WHERE old.status <> 'streaming';
    INSERT INTO messages_fts(rowid, body)
        SELECT new.pk, {new} WHERE new.status <> 'streaming';
END;
",
        view = body("m.content"),
        new = body("new.content"),
        old = body("old.content"),
    )
}

/// The tokenizer options shared by both full-text indexes.
const TOKENIZE: &str = "tokenize = 'unicode61 remove_diacritics 2', prefix = '3'";

fn to_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "
CREATE TABLE conversations_v3 (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    system TEXT,
    max_tokens INTEGER,
    temperature REAL,
    top_p REAL,
    last_model TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    total_input_tokens INTEGER NOT NULL DEFAULT 0,
    total_output_tokens INTEGER NOT NULL DEFAULT 0,
    models TEXT NOT NULL DEFAULT '[]',
    preview TEXT NOT NULL DEFAULT '',
    draft TEXT NOT NULL DEFAULT ''
);
INSERT INTO conversations_v3 (id, title, created_at, updated_at, system, max_tokens, temperature,
                              top_p, last_model, message_count, total_input_tokens,
                              total_output_tokens, models, preview)
    SELECT id, title, created_at, updated_at, system, max_tokens, temperature, top_p, last_model,
           message_count, total_input_tokens, total_output_tokens, models, preview
    FROM conversations ORDER BY created_at, id;
DROP TABLE conversations;
ALTER TABLE conversations_v3 RENAME TO conversations;
CREATE INDEX conversations_by_updated ON conversations(updated_at DESC, id DESC);

CREATE VIRTUAL TABLE titles_fts USING fts5(
    title, content = 'conversations', content_rowid = 'pk', {TOKENIZE}
);
CREATE TRIGGER titles_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO titles_fts(rowid, title) VALUES (new.pk, new.title);
END;
CREATE TRIGGER titles_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.pk, old.title);
END;
CREATE TRIGGER titles_fts_update AFTER UPDATE OF title ON conversations
WHEN old.title IS NOT new.title BEGIN
    INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.pk, old.title);
    INSERT INTO titles_fts(rowid, title) VALUES (new.pk, new.title);
END;
INSERT INTO titles_fts(titles_fts) VALUES ('rebuild');
"
    ))
}

/// Read `PRAGMA user_version`.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Names of the user tables in the main schema (to tell an empty file from someone else's db).
pub(crate) fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names = stmt.query_map([], |row| row.get(0))?;
    names.collect()
}

/// Version 4: what the protocol says besides content and counts, as JSON. A reply's `details`
/// (the server's id, the served model, stop details, container, the whole usage); a
/// conversation's `params` (every request setting, the three old columns aside).
fn to_v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
ALTER TABLE messages ADD COLUMN details TEXT;
ALTER TABLE conversations ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
",
    )
}

/// Version 5: facts about an endpoint learnt from its answers, by base URL (see
/// `Store::endpoint_fact`).
fn to_v5(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
CREATE TABLE endpoint_facts (
    base_url TEXT NOT NULL,
    fact TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (base_url, fact)
) WITHOUT ROWID;
",
    )
}

/// Version 6: a conversation is a tree. Messages without a parent that are not their
/// conversation's first were written when a conversation was a line (v1, or tools): each gets
/// the message before it (by `seq`, then insertion) as its parent, so it loads as the one path
/// it was. `active_leaf` starts NULL (the path ends at the newest message).
fn to_v6(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
ALTER TABLE conversations ADD COLUMN active_leaf TEXT;
ALTER TABLE conversations ADD COLUMN branches INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET parent_id = (
    SELECT p.id FROM messages AS p
    WHERE p.conversation_id = messages.conversation_id
      AND (p.seq < messages.seq OR (p.seq = messages.seq AND p.pk < messages.pk))
    ORDER BY p.seq DESC, p.pk DESC LIMIT 1)
WHERE parent_id IS NULL;
CREATE INDEX messages_by_parent ON messages(parent_id);
",
    )?;
    tx.execute_batch(&format!(
        "UPDATE conversations SET branches = ({})",
        super::summary::leaves_sql("conversations.id")
    ))
}

/// Version 7: the index holds what tools said too: a `tool_result`'s text and a `tool_use`'s
/// input (see [`v7_text_sql`]). The view and triggers are redefined; only messages whose
/// body changes (those with tool blocks) are re-indexed, so a large history upgrades in a
/// moment instead of re-tokenizing all of it (200,000 messages: 35 s for a rebuild).
fn to_v7(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    // `instr` first: content is written by serde_json, so a tool block's type is spelt out
    // there, and the scan skips parsing a history without tools.
    let changed = format!(
        "FROM messages WHERE status <> 'streaming' AND instr(content, '\"tool_') > 0
            AND ({}) IS NOT ({})",
        v2_text_sql("content"),
        v7_text_sql("content")
    );
    tx.execute_batch(&format!(
        "
CREATE TEMP TABLE v7_reindex AS SELECT pk {changed};
INSERT INTO messages_fts(messages_fts, rowid, body)
    SELECT 'delete', pk, {old} FROM messages WHERE pk IN (SELECT pk FROM temp.v7_reindex);
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP VIEW message_text;
{index}
INSERT INTO messages_fts(rowid, body)
    SELECT pk, {new} FROM messages WHERE pk IN (SELECT pk FROM temp.v7_reindex);
DROP TABLE temp.v7_reindex;
",
        old = v2_text_sql("content"),
        new = v7_text_sql("content"),
        index = message_index_sql(v7_text_sql),
    ))
}

/// Version 8: attached files. Their bytes, stored once by SHA-256 (`attachments` and, apart,
/// `attachment_data`), and which message names which (`message_attachments`); the index holds
/// their names too (see [`message_text_sql`]). No tern that wrote schema 7 wrote attachment
/// blocks (they came with this version), so no message's text changes: the view and triggers
/// are redefined and nothing is re-indexed, and there are no links to fill in.
fn to_v8(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "
CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    linked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX attachments_pending ON attachments(created_at) WHERE linked = 0;
CREATE TABLE attachment_data (
    sha256 TEXT PRIMARY KEY NOT NULL REFERENCES attachments(sha256) ON DELETE CASCADE,
    data BLOB NOT NULL
);
CREATE TABLE message_attachments (
    message_pk INTEGER NOT NULL REFERENCES messages(pk) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (message_pk, sha256)
) WITHOUT ROWID;
CREATE INDEX message_attachments_by_sha256 ON message_attachments(sha256);
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP VIEW message_text;
{index}
",
        index = message_index_sql(message_text_sql),
    ))
}
