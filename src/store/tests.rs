//! Unit tests that need the store's insides: the maintained aggregates against a recount, the
//! search index against its content, the v1 upgrade, and errors that need a private pragma.
//! Public behaviour (round trips, processes, crashes) is tested in `tests/store.rs`.

use proptest::prelude::*;
use rusqlite::Connection;

use super::summary::recompute_summary;
use super::write::next_seq;
use super::*;
use crate::api::types::{ContentBlock, Usage};

const V1_FIXTURE: &str = include_str!("../../tests/fixtures/store-v1.sql");

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("tern.db")).unwrap();
    (dir, store)
}

fn conversation(id: &str) -> Conversation {
    Conversation {
        id: id.into(),
        title: format!("conversation {id}"),
        created_at: 1_000,
        updated_at: 1_000,
        system: None,
        params: Params::default(),
        last_model: None,
        active_leaf: None,
    }
}

/// The `sql` of every schema object, sorted, for comparing two databases' layouts.
fn schema_of(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every conversation's aggregates, as (id, count, in, out, models, preview); the count is
/// message count × 1000 + branches.
fn aggregates(conn: &Connection) -> Vec<(String, i64, i64, i64, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT id, message_count * 1000 + branches, total_input_tokens, total_output_tokens,
                    models, preview
             FROM conversations ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Each message's attachment links, as (message id, sha256), sorted.
fn links(conn: &Connection) -> Vec<(String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT m.id, l.sha256 FROM message_attachments AS l
             JOIN messages AS m ON m.pk = l.message_pk ORDER BY 1, 2",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Links match the files the messages name, every linked file's bytes are there, and no file
/// a message linked lingers once nothing names it.
fn assert_attachments_consistent(store: &Store) {
    let mut named = Vec::new();
    let mut stmt = store.conn.prepare("SELECT id FROM messages").unwrap();
    let ids: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for id in ids {
        let m = store.message(&id).unwrap().unwrap();
        for sha in attachments::named(&m.content) {
            named.push((id.clone(), sha.to_owned()));
        }
    }
    named.sort();
    named.dedup();
    assert_eq!(links(&store.conn), named);
    let count = |sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count(
            "SELECT count(*) FROM message_attachments AS l WHERE NOT EXISTS
                (SELECT 1 FROM attachment_data AS d WHERE d.sha256 = l.sha256)"
        ),
        0,
        "a linked file without its bytes"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM attachments AS a WHERE linked = 1 AND NOT EXISTS
                (SELECT 1 FROM message_attachments AS l WHERE l.sha256 = a.sha256)"
        ),
        0,
        "a file nothing names any more was kept"
    );
    assert_eq!(
        count("SELECT count(*) FROM attachments"),
        count("SELECT count(*) FROM attachment_data")
    );
}

fn assert_consistent(store: &Store) {
    assert_eq!(store.check_integrity().unwrap(), Vec::<String>::new());
    assert_attachments_consistent(store);
    let kept = aggregates(&store.conn);
    let ids: Vec<String> = kept.iter().map(|a| a.0.clone()).collect();
    for id in &ids {
        recompute_summary(&store.conn, id).unwrap();
    }
    let recounted = aggregates(&store.conn);
    // Models are kept in order of first write, recounted in seq order; compare as sets.
    let norm = |rows: Vec<(String, i64, i64, i64, String, String)>| {
        rows.into_iter()
            .map(|(id, n, i, o, models, preview)| {
                let mut m: Vec<String> = serde_json::from_str(&models).unwrap();
                m.sort();
                (id, n, i, o, m, preview)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(norm(kept), norm(recounted));
}

#[test]
fn fresh_and_upgraded_databases_have_the_same_schema() {
    let (_dir, store) = temp_store();
    let v1 = Connection::open_in_memory().unwrap();
    v1.execute_batch(V1_FIXTURE).unwrap();
    let fixture_v1_schema = schema_of(&v1);
    let plain = Connection::open_in_memory().unwrap();
    plain.execute_batch(schema::V1_SCHEMA).unwrap();
    assert_eq!(
        fixture_v1_schema,
        schema_of(&plain),
        "fixture is not schema v1"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(V1_FIXTURE)
        .unwrap();
    let upgraded = Store::open(&path).unwrap();
    assert_eq!(schema_of(&upgraded.conn), schema_of(&store.conn));
    assert_eq!(
        schema::version(&upgraded.conn).unwrap(),
        schema::CURRENT_VERSION
    );
    assert!(
        schema_of(&upgraded.conn)
            .iter()
            .any(|s| s.starts_with("table messages_fts: CREATE VIRTUAL TABLE"))
    );
    assert_consistent(&upgraded);
}

#[test]
fn upgrade_keeps_every_row_and_indexes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(V1_FIXTURE)
        .unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.count().unwrap(), 3);

    let (c, messages) = store.load("1a2b3c4d5e6f7081").unwrap();
    assert_eq!(c.title, "Borrow checker questions");
    assert_eq!(c.system.as_deref(), Some("Answer briefly."));
    assert_eq!(c.last_model.as_deref(), Some("claude-sonnet-4.5"));
    assert_eq!((c.created_at, c.updated_at), (1714560000000, 1714560300000));
    assert_eq!(messages.len(), 4);
    assert_eq!(
        crate::api::types::plain_text(&messages[0].content),
        "Why does the borrow checker reject this?\n```rust\nlet r = &mut v; v.push(1);\n```"
    );
    assert_eq!(
        messages[1].usage,
        Some(Usage {
            input_tokens: 120,
            output_tokens: 45,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: None,
            ..Default::default()
        })
    );
    assert_eq!(messages[0].usage, None);
    assert_eq!(messages[1].model.as_deref(), Some("claude-sonnet-4.5"));
    assert_eq!(messages[3].status, MessageStatus::Stopped);
    assert_eq!(messages[1].updated_at, messages[1].created_at);

    let (_, cafe) = store.load("9f8e7d6c5b4a3921").unwrap();
    assert_eq!(cafe[1].status, MessageStatus::Error);
    assert_eq!(cafe[1].content, vec![ContentBlock::text("")]);

    let summary = store.summary("1a2b3c4d5e6f7081").unwrap();
    assert_eq!(summary.message_count, 4);
    assert_eq!(summary.total_input_tokens, 420);
    assert_eq!(summary.total_output_tokens, 57);
    assert_eq!(summary.models, ["claude-sonnet-4.5", "claude-opus-4.5"]);
    assert_eq!(
        summary.preview,
        "Two-phase borrows allow `v.push(v.len())`, but not"
    );
    assert_eq!(store.summary("0000aaaa0000bbbb").unwrap().message_count, 0);

    // The new index covers the old text.
    let hits = store.search("cafe plait", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message_id, "m000000000000005");
    assert_eq!(store.search("two-phase", 10).unwrap().len(), 2);
    // Titles of old conversations are searchable too, and drafts start empty.
    let titles = store.search_titles("borrow", 10).unwrap();
    assert_eq!(titles.len(), 1);
    assert_eq!(titles[0].conversation_id, "1a2b3c4d5e6f7081");
    assert_eq!(store.draft("1a2b3c4d5e6f7081").unwrap(), "");
    assert_consistent(&store);

    // Opening again does not upgrade again.
    drop(store);
    let again = Store::open(&path).unwrap();
    assert_eq!(again.count().unwrap(), 3);
}

#[test]
fn a_v2_database_upgrades_to_one_path_per_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        // A file as schema v2 left it: the v1 fixture taken one step, no parent links.
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch(V1_FIXTURE).unwrap();
        // As the store migrates: tables are rebuilt with foreign keys off.
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        let tx = conn.transaction().unwrap();
        schema::MIGRATIONS[1](&tx).unwrap();
        // A tool result (a user message of `tool_result` blocks), as tools wrote it then.
        tx.execute(
            "INSERT INTO messages (id, conversation_id, seq, role, status, created_at, updated_at,
                                   content)
             VALUES ('m000000000000007', '9f8e7d6c5b4a3921', 2, 'user', 'complete', 1714646500000,
                     1714646500000, ?1)",
            [r#"[{"type":"tool_result","tool_use_id":"toolu_9","content":"steamed milk froth"}]"#],
        )
        .unwrap();
        super::summary::recompute_all_summaries(&tx).unwrap();
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.commit().unwrap();
        let unlinked: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE parent_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();

        assert_eq!(unlinked, 7, "every v2 row is without a parent");
    }
    let store = Store::open(&path).unwrap();
    let id = "1a2b3c4d5e6f7081";
    let (conversation, messages) = store.load(id).unwrap();
    let (_, tree) = store.load_tree(id).unwrap();
    assert_eq!(messages, tree, "a line: the path is the whole tree");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].parent_id, None);
    for pair in messages.windows(2) {
        assert_eq!(pair[1].parent_id.as_deref(), Some(pair[0].id.as_str()));
    }
    assert_eq!(
        conversation.active_leaf.as_deref(),
        Some(messages[3].id.as_str())
    );
    assert_eq!(store.summary(id).unwrap().branches, 1);
    assert_eq!(store.summary("0000aaaa0000bbbb").unwrap().branches, 0);
    assert_eq!(store.load("0000aaaa0000bbbb").unwrap().0.active_leaf, None);
    // The tool result is searchable, on its message, and old text still is.
    let hits = store.search("froth", 5).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message_id, "m000000000000007");
    assert_eq!(store.search("cafe plait", 10).unwrap().len(), 1);
    let (_, cafe) = store.load("9f8e7d6c5b4a3921").unwrap();
    assert_eq!(cafe[2].parent_id.as_deref(), Some(cafe[1].id.as_str()));
    assert_consistent(&store);
}

/// One tool turn of conversation `conv` from `seq` on, as the app saves it: a reply that calls
/// `files__read` on `notes/quokka.md`, then the user message of its results (a string, and an
/// array of text and an image), linked after `parent`.
fn tool_turn(conv: &str, seq: i64, parent: Option<&str>) -> [StoredMessage; 2] {
    let mut call = StoredMessage::assistant_streaming(conv, seq, "claude-sonnet-4.5");
    call.parent_id = parent.map(str::to_owned);
    call.status = MessageStatus::Complete;
    call.stop_reason = Some("tool_use".into());
    call.content = vec![
        ContentBlock::text("Let me read it."),
        ContentBlock::ToolUse {
            id: "toolu_1".into(),
            name: "files__read".into(),
            input: serde_json::json!({"path": "notes/quokka.md"}),
            extra: Default::default(),
        },
        ContentBlock::ToolUse {
            id: "toolu_2".into(),
            name: "files__stat".into(),
            input: serde_json::json!({"path": "notes"}),
            extra: Default::default(),
        },
    ];
    let mut results = StoredMessage::user(conv, seq + 1, "");
    results.parent_id = Some(call.id.clone());
    results.content = vec![
        ContentBlock::Unknown(serde_json::json!({
            "type": "tool_result", "tool_use_id": "toolu_1",
            "content": [
                {"type": "text", "text": "Kittiwakes nest on sea cliffs."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "Zm9vYmFyYmF6cXV1eA"}},
                {"type": "text", "text": "Puffins burrow."}
            ]
        })),
        ContentBlock::Unknown(serde_json::json!({
            "type": "tool_result", "tool_use_id": "toolu_2",
            "content": "no such directory: cormorant", "is_error": true
        })),
    ];
    [call, results]
}

#[test]
fn tool_results_and_call_inputs_are_searchable() {
    let (_dir, mut store) = temp_store();
    store.create_conversation(&conversation("c")).unwrap();
    let question = StoredMessage::user("c", 0, "what is in my notes?");
    store.upsert_message(&question).unwrap();
    let [call, results] = tool_turn("c", 1, Some(&question.id));
    store.upsert_message(&call).unwrap();
    store.upsert_message(&results).unwrap();

    // A result's text, from array content and from string content: the hit is the results
    // message, and its snippet shows the result.
    for (query, snippet) in [
        ("kittiwakes", "Kittiwakes"),
        ("puffins burrow", "Puffins"),
        ("cormorant", "cormorant"),
    ] {
        let hits = store.search(query, 5).unwrap();
        assert_eq!(hits.len(), 1, "{query}: {hits:?}");
        assert_eq!(hits[0].message_id, results.id, "{query}");
        assert_eq!(hits[0].conversation_id, "c");
        assert!(hits[0].snippet.contains(snippet), "{query}: {hits:?}");
    }
    // A call's argument finds the call; its text still finds it too.
    let hits = store.search("quokka.md", 5).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message_id, call.id);
    assert_eq!(
        store.search("let me read", 5).unwrap()[0].message_id,
        call.id
    );
    // Images are not text.
    assert!(store.search("Zm9vYmFyYmF6cXV1eA", 5).unwrap().is_empty());
    assert!(store.search("base64", 5).unwrap().is_empty());
    assert_consistent(&store);

    // Rewritten and deleted, the index follows.
    let mut edited = results.clone();
    edited.content.truncate(1);
    store.upsert_message(&edited).unwrap();
    assert!(store.search("cormorant", 5).unwrap().is_empty());
    assert_eq!(store.search("kittiwakes", 5).unwrap().len(), 1);
    assert_consistent(&store);
    store.delete_conversation("c").unwrap();
    assert!(store.search("kittiwakes", 5).unwrap().is_empty());
    assert_consistent(&store);
}

#[test]
fn a_streaming_reply_with_a_tool_call_is_indexed_once_it_ends() {
    let (_dir, mut store) = temp_store();
    store.create_conversation(&conversation("c")).unwrap();
    let [mut call, _] = tool_turn("c", 0, None);
    call.status = MessageStatus::Streaming;
    store.upsert_message(&call).unwrap();
    assert!(store.search("quokka", 5).unwrap().is_empty());
    call.status = MessageStatus::Complete;
    store.upsert_message(&call).unwrap();
    assert_eq!(store.search("quokka", 5).unwrap().len(), 1);
    assert_consistent(&store);
}

/// A database file as schema v6 left it, with one conversation holding a question and a tool
/// turn written as v6's write path did (its triggers indexed only text blocks).
fn v6_file_with_a_tool_turn(path: &std::path::Path) -> (StoredMessage, [StoredMessage; 2]) {
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let tx = conn.transaction().unwrap();
    for step in &schema::MIGRATIONS[..6] {
        step(&tx).unwrap();
    }
    tx.pragma_update(None, "user_version", 6).unwrap();
    let c = conversation("c6");
    tx.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![c.id, c.title, c.created_at, c.updated_at],
    )
    .unwrap();
    let question = StoredMessage::user("c6", 0, "what is in my notes?");
    let turn = tool_turn("c6", 1, Some(&question.id));
    for m in std::iter::once(&question).chain(&turn) {
        tx.execute(
            "INSERT INTO messages (id, conversation_id, seq, parent_id, role, status, created_at,
                                   updated_at, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                m.id,
                m.conversation_id,
                m.seq,
                m.parent_id,
                m.role.as_str(),
                m.status.as_str(),
                m.created_at,
                m.updated_at,
                serde_json::to_string(&m.content).unwrap(),
            ],
        )
        .unwrap();
    }
    recompute_summary(&tx, "c6").unwrap();
    tx.commit().unwrap();
    // v6 indexed the question and the call's text, not the results.
    let indexed = |q: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
            [q],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(
        (indexed("notes"), indexed("kittiwakes"), indexed("quokka")),
        (1, 0, 0)
    );
    (question, turn)
}

#[test]
fn a_v6_database_upgrades_and_its_tool_results_become_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    let (question, [call, results]) = v6_file_with_a_tool_turn(&path);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        schema::version(&store.conn).unwrap(),
        schema::CURRENT_VERSION
    );
    assert_eq!(
        store.search("kittiwakes", 5).unwrap()[0].message_id,
        results.id
    );
    assert_eq!(
        store.search("cormorant", 5).unwrap()[0].message_id,
        results.id
    );
    assert_eq!(store.search("quokka", 5).unwrap()[0].message_id, call.id);
    // What was indexed before is still found, once.
    let notes: Vec<String> = store
        .search("notes", 5)
        .unwrap()
        .into_iter()
        .map(|h| h.message_id)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.contains(&question.id) && notes.contains(&call.id));
    assert_eq!(store.load("c6").unwrap().1.len(), 3);
    assert_consistent(&store);
    // The upgraded file has the schema of a new one.
    let (_fresh_dir, fresh) = temp_store();
    assert_eq!(schema_of(&store.conn), schema_of(&fresh.conn));
}

#[test]
fn a_failed_upgrade_rolls_back_and_keeps_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(V1_FIXTURE).unwrap();
        // Something the v2 step trips over.
        conn.execute_batch("CREATE TABLE messages_v2 (x);").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match Store::open(&path) {
        Err(StoreError::Migration { from: 1, to, .. }) => assert_eq!(to, schema::CURRENT_VERSION),
        other => panic!("expected a migration error, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), 1);
}

#[test]
fn a_full_disk_is_reported_as_such_and_nothing_half_written() {
    let (_dir, mut store) = temp_store();
    store.create_conversation(&conversation("c")).unwrap();
    let pages: i64 = store
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    store
        .conn
        .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))
        .unwrap();
    let mut big = StoredMessage::user("c", 0, "x ".repeat(200_000));
    big.id = "big".into();
    match store.upsert_message(&big) {
        Err(StoreError::DiskFull { path }) => assert_eq!(path, store.path()),
        other => panic!("expected DiskFull, got {other:?}"),
    }
    assert!(store.message("big").unwrap().is_none());
    assert_eq!(store.summary("c").unwrap().message_count, 0);
    assert_consistent(&store);
}

#[test]
fn a_message_never_moves_to_another_conversation() {
    // Its parent and children stay where they are: a move would break both trees.
    let (_dir, mut store) = temp_store();
    store.create_conversation(&conversation("a")).unwrap();
    store.create_conversation(&conversation("b")).unwrap();
    let mut m = StoredMessage::user("a", 0, "hello");
    m.usage = Some(Usage {
        input_tokens: 5,
        output_tokens: 7,
        ..Usage::default()
    });
    store.upsert_message(&m).unwrap();
    m.conversation_id = "b".into();
    assert!(matches!(
        store.upsert_message(&m),
        Err(StoreError::AlreadyExists(id)) if id == m.id
    ));
    let (a, b) = (store.summary("a").unwrap(), store.summary("b").unwrap());
    assert_eq!((a.message_count, a.total_output_tokens), (1, 7));
    assert_eq!(b.message_count, 0);
    assert_consistent(&store);
}

#[test]
fn streaming_snapshots_are_not_indexed_until_they_end() {
    let (_dir, mut store) = temp_store();
    store.create_conversation(&conversation("c")).unwrap();
    let mut m = StoredMessage::assistant_streaming("c", 1, "m");
    m.content = vec![ContentBlock::text("quokka")];
    store.upsert_message(&m).unwrap();
    assert!(store.search("quokka", 5).unwrap().is_empty());
    let fts_rows: i64 = store
        .conn
        .query_row("SELECT count(*) FROM messages_fts_docsize", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fts_rows, 0);
    m.status = MessageStatus::Complete;
    store.upsert_message(&m).unwrap();
    assert_eq!(store.search("quokka", 5).unwrap().len(), 1);
    // Back to streaming (a regenerate reusing the id) takes it out again.
    m.status = MessageStatus::Streaming;
    store.upsert_message(&m).unwrap();
    assert!(store.search("quokka", 5).unwrap().is_empty());
    assert_consistent(&store);
}

#[derive(Debug, Clone)]
enum Op {
    Upsert {
        /// Files attached before the text (by index into [`FILES`]).
        files: Vec<usize>,
        conv: usize,
        msg: usize,
        seq: i64,
        words: Vec<usize>,
        status: usize,
        usage: Option<(u16, u16, Option<u16>)>,
        model: Option<usize>,
    },
    Delete(usize),
    Recreate(usize),
    /// Delete the branch of message `msg` in conversation `conv`.
    DeleteBranch(usize, usize),
    /// Make message `msg` the active leaf of conversation `conv`.
    SetLeaf(usize, usize),
    /// A new message `msg` in `conv` answering message `parent`, at the next seq.
    Answer {
        conv: usize,
        msg: usize,
        parent: usize,
    },
}

const WORDS: [&str; 6] = ["alpha", "beta", "gamma", "délta", "東京", "x\"y"];
const FILES: [&str; 3] = ["one.txt", "two.txt", "three.txt"];
const MODELS: [&str; 3] = ["claude-sonnet-4.5", "claude-opus-4.6", "claude-haiku-4.5"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            0..3usize,
            0..6usize,
            0..5i64,
            proptest::collection::vec(0..WORDS.len(), 0..4),
            0..MessageStatus::ALL.len(),
            proptest::option::of((any::<u16>(), any::<u16>(), proptest::option::of(any::<u16>()))),
            proptest::option::of(0..MODELS.len()),
            proptest::collection::vec(0..FILES.len(), 0..3),
        )
            .prop_map(|(conv, msg, seq, words, status, usage, model, files)| Op::Upsert {
                files,
                conv,
                msg,
                seq,
                words,
                status,
                usage,
                model,
            }),
        1 => (0..3usize).prop_map(Op::Delete),
        1 => (0..3usize).prop_map(Op::Recreate),
        2 => (0..3usize, 0..6usize).prop_map(|(c, m)| Op::DeleteBranch(c, m)),
        1 => (0..3usize, 0..6usize).prop_map(|(c, m)| Op::SetLeaf(c, m)),
        6 => (0..3usize, 6..12usize, 0..12usize)
            .prop_map(|(conv, msg, parent)| Op::Answer { conv, msg, parent }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever sequence of writes happens, the kept aggregates equal a recount and the search
    /// index matches the messages exactly (FTS5's own integrity check).
    #[test]
    fn aggregates_and_index_survive_any_write_sequence(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, mut store) = temp_store();
        for c in 0..3 {
            store.create_conversation(&conversation(&format!("c{c}"))).unwrap();
        }
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Upsert { files, conv, msg, seq, words, status, usage, model } => {
                    let text: Vec<&str> = words.iter().map(|&w| WORDS[w]).collect();
                    let mut m = StoredMessage::user(format!("c{conv}"), seq, text.join(" "));
                    for (i, &f) in files.iter().enumerate() {
                        let a = file(FILES[f], FILES[f].as_bytes());
                        store.put_attachment(&a.sha256, &a.media_type, FILES[f].as_bytes()).unwrap();
                        m.content.insert(i, ContentBlock::Attachment(a));
                    }
                    m.id = format!("m{msg}");
                    m.status = MessageStatus::ALL[status];
                    m.usage = usage.map(|(i, o, c)| Usage {
                        input_tokens: u64::from(i),
                        output_tokens: u64::from(o),
                        cache_creation_input_tokens: None,
                        cache_read_input_tokens: c.map(u64::from),
                        ..Default::default()
                    });
                    m.model = model.map(|i| MODELS[i].to_owned());
                    m.updated_at = step as i64;
                    match store.upsert_message(&m) {
                        Ok(())
                        | Err(
                            StoreError::NotFound(_)
                            | StoreError::Conflict { .. }
                            | StoreError::AlreadyExists(_)
                            | StoreError::Reparent { .. },
                        ) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                Op::Answer { conv, msg, parent } => {
                    let id = format!("c{conv}");
                    let seq = next_seq(&store.conn, &id).unwrap();
                    let mut m = StoredMessage::assistant_streaming(&id, seq, MODELS[msg % 3]);
                    m.id = format!("m{msg}");
                    m.parent_id = Some(format!("m{parent}"));
                    m.status = MessageStatus::Complete;
                    m.content = vec![ContentBlock::text(WORDS[msg % WORDS.len()])];
                    match store.upsert_message(&m) {
                        Ok(())
                        | Err(
                            StoreError::NotFound(_)
                            | StoreError::Conflict { .. }
                            | StoreError::AlreadyExists(_)
                            | StoreError::Reparent { .. },
                        ) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                Op::DeleteBranch(c, msg) => {
                    match store.delete_branch(&format!("c{c}"), &format!("m{msg}")) {
                        Ok(()) | Err(StoreError::NotFound(_) | StoreError::NoSuchMessage { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                Op::SetLeaf(c, msg) => {
                    match store.set_active_leaf(&format!("c{c}"), &format!("m{msg}")) {
                        Ok(()) | Err(StoreError::NotFound(_) | StoreError::NoSuchMessage { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                Op::Delete(c) => match store.delete_conversation(&format!("c{c}")) {
                    Ok(()) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => panic!("{e}"),
                },
                Op::Recreate(c) => match store.create_conversation(&conversation(&format!("c{c}"))) {
                    Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
                    Err(e) => panic!("{e}"),
                },
            }
        }
        assert_consistent(&store);
        // Every conversation loads as one path ending at its leaf, inside its tree.
        for c in 0..3 {
            let id = format!("c{c}");
            let Ok((conversation, path)) = store.load(&id) else { continue };
            let (_, tree) = store.load_tree(&id).unwrap();
            prop_assert_eq!(tree.len() as u64, store.summary(&id).unwrap().message_count);
            prop_assert_eq!(path.last().map(|m| m.id.clone()), conversation.active_leaf);
            for pair in path.windows(2) {
                prop_assert_eq!(pair[1].parent_id.as_deref(), Some(pair[0].id.as_str()));
            }
            prop_assert!(path.iter().all(|m| tree.contains(m)));
        }
    }
}

#[test]
fn an_immutable_open_reads_a_file_at_any_path() {
    assert_eq!(
        uri_path(std::path::Path::new("/tmp/a b?c#d%é")),
        "/tmp/a%20b%3Fc%23d%25%C3%A9"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd ?#% name").join("tern.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.create_conversation(&conversation("c")).unwrap();
    }
    let store = Store::open_immutable(&path).unwrap();
    assert!(store.is_read_only());
    assert_eq!(store.count().unwrap(), 1);
    assert_eq!(store.search_titles("conversation", 5).unwrap().len(), 1);
}

// ─── Attached files ──────────────────────────────────────────────────────────────────────

/// A text file `name` holding `bytes`, as a reference.
fn file(name: &str, bytes: &[u8]) -> crate::attach::Attachment {
    crate::attach::Attachment {
        sha256: crate::attach::sha256_hex(bytes),
        kind: crate::attach::AttachmentKind::Text,
        media_type: "text/plain".into(),
        name: name.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        pages: None,
        lines: Some(1),
        original: None,
        citations: false,
    }
}

/// A prompt `id` in `conv` attaching `files` before its text.
fn prompt_with(
    conv: &str,
    id: &str,
    seq: i64,
    files: &[&crate::attach::Attachment],
) -> StoredMessage {
    let mut m = StoredMessage::user(conv, seq, "look");
    m.id = id.into();
    for (i, a) in files.iter().enumerate() {
        m.content.insert(i, ContentBlock::Attachment((*a).clone()));
    }
    m
}

fn file_rows(conn: &Connection) -> Vec<(String, i64, i64)> {
    let mut stmt = conn
        .prepare(
            "SELECT a.sha256, a.linked, length(d.data) FROM attachments AS a
             JOIN attachment_data AS d USING (sha256) ORDER BY a.sha256",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_same_bytes_put_twice_are_one_row() {
    let (_dir, mut store) = temp_store();
    let a = file("a.txt", b"same bytes");
    store
        .put_attachment(&a.sha256, "text/plain", b"same bytes")
        .unwrap();
    store.create_conversation(&conversation("c")).unwrap();
    store
        .upsert_message(&prompt_with("c", "m", 0, &[&a]))
        .unwrap();
    assert_eq!(file_rows(&store.conn), [(a.sha256.clone(), 1, 10)]);
    // Put again (attached to the next prompt): still one row, pending again until named.
    let failed = store
        .apply_batch(&[
            WriteCommand::PutAttachment {
                sha256: a.sha256.clone(),
                media_type: "text/plain".into(),
                bytes: b"same bytes".as_slice().into(),
            },
            WriteCommand::PutAttachment {
                sha256: a.sha256.clone(),
                media_type: "text/plain".into(),
                bytes: b"same bytes".as_slice().into(),
            },
        ])
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(file_rows(&store.conn), [(a.sha256.clone(), 0, 10)]);
    // Named twice in one message, linked once.
    let mut m = prompt_with("c", "n", 1, &[&a, &a]);
    m.parent_id = Some("m".into());
    store.upsert_message(&m).unwrap();
    assert_eq!(file_rows(&store.conn), [(a.sha256.clone(), 1, 10)]);
    assert_eq!(links(&store.conn).len(), 2);
    assert_consistent(&store);
    // Logging a put does not print the bytes.
    let put = WriteCommand::PutAttachment {
        sha256: "ab".into(),
        media_type: "image/png".into(),
        bytes: vec![7u8; 5000].into(),
    };
    assert_eq!(
        format!("{put:?}"),
        r#"PutAttachment { sha256: "ab", media_type: "image/png", bytes: <5000 bytes> }"#
    );
}

#[test]
fn unsent_files_are_kept_a_day_then_swept_by_a_delete() {
    let (_dir, mut store) = temp_store();
    let (old, fresh) = (
        file("old.txt", b"never sent"),
        file("new.txt", b"being written"),
    );
    store
        .put_attachment(&old.sha256, "text/plain", b"never sent")
        .unwrap();
    store
        .put_attachment(&fresh.sha256, "text/plain", b"being written")
        .unwrap();
    store
        .conn
        .execute(
            "UPDATE attachments SET created_at = ?2 WHERE sha256 = ?1",
            rusqlite::params![old.sha256, now_ms() - PENDING_GRACE_MS - 1_000],
        )
        .unwrap();
    store.create_conversation(&conversation("c")).unwrap();
    store
        .upsert_message(&StoredMessage::user("c", 0, "hi"))
        .unwrap();
    store.delete_conversation("c").unwrap();
    let kept: Vec<String> = file_rows(&store.conn).into_iter().map(|r| r.0).collect();
    assert_eq!(kept, std::slice::from_ref(&fresh.sha256));
    assert_consistent(&store);
}

#[test]
fn a_rewrite_that_drops_a_file_frees_it_and_links_follow_the_blocks() {
    let (_dir, mut store) = temp_store();
    let (a, b) = (file("a.txt", b"aaa"), file("b.txt", b"bbb"));
    store
        .put_attachment(&a.sha256, "text/plain", b"aaa")
        .unwrap();
    store
        .put_attachment(&b.sha256, "text/plain", b"bbb")
        .unwrap();
    store.create_conversation(&conversation("c")).unwrap();
    store
        .upsert_message(&prompt_with("c", "m", 0, &[&a, &b]))
        .unwrap();
    assert_eq!(links(&store.conn).len(), 2);
    store
        .upsert_message(&prompt_with("c", "m", 0, &[&b]))
        .unwrap();
    assert_eq!(links(&store.conn), [("m".to_owned(), b.sha256.clone())]);
    assert!(store.attachment_bytes(&a.sha256).unwrap().is_none());
    assert_consistent(&store);
    // A link goes with its message, also on a connection with foreign keys off.
    store
        .conn
        .pragma_update(None, "foreign_keys", false)
        .unwrap();
    store.delete_conversation("c").unwrap();
    assert!(links(&store.conn).is_empty());
    assert!(store.attachment_bytes(&b.sha256).unwrap().is_none());
    store
        .conn
        .pragma_update(None, "foreign_keys", true)
        .unwrap();
    assert_consistent(&store);
}

#[test]
fn a_v7_database_upgrades_to_v8_and_finds_attached_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        let tx = conn.transaction().unwrap();
        for step in &schema::MIGRATIONS[..7] {
            step(&tx).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        // Written as v7's write path did: its triggers index the text.
        tx.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c7', 't', 1, 1)",
            [],
        )
        .unwrap();
        let m = StoredMessage::user("c7", 0, "puffins of the north");
        tx.execute(
            "INSERT INTO messages (id, conversation_id, seq, role, status, created_at,
                                   updated_at, content)
             VALUES (?1, 'c7', 0, 'user', 'complete', 1, 1, ?2)",
            rusqlite::params![m.id, serde_json::to_string(&m.content).unwrap()],
        )
        .unwrap();
        recompute_summary(&tx, "c7").unwrap();
        tx.commit().unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(schema::version(&store.conn).unwrap(), 8);
    assert_eq!(store.search("puffins", 5).unwrap().len(), 1);
    let (_fresh_dir, fresh) = temp_store();
    assert_eq!(schema_of(&store.conn), schema_of(&fresh.conn));
    // The upgraded file keeps files and indexes their names.
    let a = file("field-notes.md", b"# puffins");
    store
        .put_attachment(&a.sha256, "text/plain", b"# puffins")
        .unwrap();
    let mut m = prompt_with("c7", "m8", 1, &[&a]);
    m.parent_id = store.load("c7").unwrap().1.last().map(|m| m.id.clone());
    store.upsert_message(&m).unwrap();
    assert_eq!(store.search("field-notes", 5).unwrap()[0].message_id, "m8");
    // The name, not what the file holds.
    assert_eq!(store.search("puffins", 5).unwrap().len(), 1);
    assert_consistent(&store);
}
