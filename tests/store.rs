//! The conversation store through its public API: round trips, search, prefixes, errors that
//! must leave files alone, two writers (threads and processes), crash recovery after SIGKILL,
//! the owner task, and export/import.
//!
//! Tests that need a second process re-run this test binary with `TERN_STORE_CHILD` set; the
//! `child_process_entry` test is the entry point and does nothing when the variable is unset.
#![allow(clippy::disallowed_macros)] // child processes talk to the parent over stdout
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[path = "common/stored.rs"]
mod stored;

use proptest::prelude::*;
use serde_json::json;
use stored::conversation;
use tern::api::types::{
    CacheCreation, ContentBlock, Role, ServerToolUse, ServiceTier, Usage, plain_text,
};
use tern::store::{
    Conversation, EXPORT_FORMAT, MATCH_END, MATCH_START, MessageStatus, Params, ResponseMeta,
    Store, StoreError, StoreWriter, StoredMessage, WriteCommand, title_from_prompt,
};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.db");
    (dir, path)
}

/// A new store in a temporary directory (removed when the guard drops).
fn new_store() -> (tempfile::TempDir, Store) {
    let (dir, path) = temp_db();
    (dir, Store::open(path).unwrap())
}

fn text_message(conv: &str, id: &str, seq: i64, role: Role, text: &str) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        conversation_id: conv.into(),
        seq,
        parent_id: None,
        role,
        content: vec![ContentBlock::text(text)],
        model: None,
        usage: None,
        stop_reason: None,
        status: MessageStatus::Complete,
        error: None,
        response: None,
        created_at: 1_000 + seq,
        updated_at: 1_000 + seq,
    }
}

fn assert_healthy(store: &Store) {
    assert_eq!(store.check_integrity().unwrap(), Vec::<String>::new());
}

/// A conversation using every field and every kind of content block.
fn everything(id: &str) -> (Conversation, Vec<StoredMessage>) {
    let conv = Conversation {
        id: id.into(),
        title: "Everything 🦀 «quoted» \"title\"".into(),
        created_at: 1_714_560_000_123,
        updated_at: 1_714_560_999_999,
        system: Some("You are terse.\nTwo lines.".into()),
        params: Params {
            max_tokens: Some(4096),
            temperature: Some(0.7),
            top_p: Some(0.95),
            ..Params::default()
        },
        last_model: Some("claude-opus-4.6".into()),
        active_leaf: Some(format!("{id}-4")),
    };
    let user = StoredMessage {
        id: format!("{id}-u"),
        conversation_id: id.into(),
        seq: 0,
        parent_id: None,
        role: Role::User,
        content: vec![
            ContentBlock::text("Look this up: `rg --json` 日本語\n\n```sh\necho \"hi\"\n```"),
            ContentBlock::Unknown(
                json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}),
            ),
        ],
        model: None,
        usage: None,
        stop_reason: None,
        status: MessageStatus::Complete,
        error: None,
        response: None,
        created_at: 1_714_560_000_200,
        updated_at: 1_714_560_000_201,
    };
    let reply = StoredMessage {
        id: format!("{id}-a"),
        conversation_id: id.into(),
        seq: 1,
        parent_id: Some(format!("{id}-u")),
        role: Role::Assistant,
        content: vec![
            ContentBlock::Thinking {
                thinking: "They want ripgrep output.".into(),
                signature: "EqQBCkgIARABGAIiQ...".into(),
            },
            ContentBlock::RedactedThinking {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4a".into(),
            },
            ContentBlock::ToolUse {
                id: "toolu_01".into(),
                name: "web_search".into(),
                input: json!({"query": "rg --json", "max": 3, "nested": {"a": [1, 2.5, null, true]}}),
                extra: Default::default(),
            },
            ContentBlock::Unknown(
                json!({"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "result"}], "is_error": false}),
            ),
            ContentBlock::Unknown(
                json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
            ),
            ContentBlock::Text {
                text: "Use `rg --json`.".into(),
                citations: Some(vec![
                    json!({"type": "web_search_result_location", "url": "https://example.com", "cited_text": "x"}),
                ]),
                cache_control: None,
            },
            ContentBlock::Unknown(
                json!({"type": "some_future_block", "payload": {"deep": ["v", 1]}}),
            ),
        ],
        model: Some("claude-opus-4.6".into()),
        usage: Some(Usage {
            input_tokens: 1234,
            output_tokens: 567,
            cache_creation_input_tokens: Some(89),
            cache_read_input_tokens: Some(1000),
            cache_creation: Some(CacheCreation {
                ephemeral_5m_input_tokens: 80,
                ephemeral_1h_input_tokens: 9,
            }),
            server_tool_use: Some(ServerToolUse {
                web_search_requests: Some(1),
                web_fetch_requests: None,
            }),
            service_tier: Some(ServiceTier::Standard),
        }),
        stop_reason: Some("end_turn".into()),
        status: MessageStatus::Complete,
        error: None,
        response: Some(Box::new(ResponseMeta {
            id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
            model: "claude-opus-4-6-20260205".into(),
            stop_sequence: None,
            stop_details: Some(json!({"type": "end_turn_details", "note": ["kept", 1]})),
            container: Some(json!({"id": "container_011", "expires_at": "2026-12-01T13:00:00Z"})),
        })),
        created_at: 1_714_560_000_300,
        updated_at: 1_714_560_000_900,
    };
    let mut messages = vec![user, reply];
    // One message in every other status, with and without usage and errors.
    for (i, status) in [
        MessageStatus::Stopped,
        MessageStatus::Error,
        MessageStatus::Interrupted,
    ]
    .into_iter()
    .enumerate()
    {
        let seq = 2 + i as i64;
        let mut m = text_message(id, &format!("{id}-{seq}"), seq, Role::Assistant, "partial");
        m.parent_id = Some(messages.last().unwrap().id.clone());
        m.status = status;
        m.model = Some("claude-sonnet-4.5".into());
        m.usage = Some(Usage {
            input_tokens: 10,
            output_tokens: 0,
            cache_creation_input_tokens: None,
            cache_read_input_tokens: Some(3),
            ..Default::default()
        });
        if status == MessageStatus::Error {
            m.error = Some(
                "HTTP 529 overloaded_error: Overloaded (request req_011). Retry later.".into(),
            );
            m.stop_reason = None;
            m.content.clear();
        }
        messages.push(m);
    }
    (conv, messages)
}

fn save(store: &mut Store, conv: &Conversation, messages: &[StoredMessage]) {
    store.create_conversation(conv).unwrap();
    for m in messages {
        store.upsert_message(m).unwrap();
    }
    store.update_conversation(conv).unwrap();
}

#[test]
fn every_field_and_block_kind_round_trips() {
    let (_dir, path) = temp_db();
    let (conv, messages) = everything("c0ffee0000000001");
    {
        let mut store = Store::open(&path).unwrap();
        save(&mut store, &conv, &messages);
        assert_eq!(
            store.load(&conv.id).unwrap(),
            (conv.clone(), messages.clone())
        );
        assert_eq!(
            store.message(&messages[1].id).unwrap().as_ref(),
            Some(&messages[1])
        );
    }
    // And from a fresh connection, and a read-only one.
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.load(&conv.id).unwrap(),
        (conv.clone(), messages.clone())
    );
    let ro = Store::open_readonly(&path).unwrap();
    assert_eq!(ro.load(&conv.id).unwrap(), (conv.clone(), messages.clone()));
    assert_healthy(&store);

    let summary = store.summary(&conv.id).unwrap();
    assert_eq!(summary.conversation, conv);
    assert_eq!(summary.message_count, 5);
    assert_eq!(summary.total_input_tokens, 1234 + 89 + 1000 + 3 * 13);
    assert_eq!(summary.total_output_tokens, 567);
    assert_eq!(summary.models, ["claude-opus-4.6", "claude-sonnet-4.5"]);
    assert_eq!(summary.preview, "partial");
}

#[test]
fn snapshots_replace_each_other_and_keep_aggregates_exact() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c1", "t", 10))
        .unwrap();
    store
        .upsert_message(&text_message(
            "c1",
            "u",
            0,
            Role::User,
            "Tell me about terns",
        ))
        .unwrap();
    assert_eq!(store.summary("c1").unwrap().preview, "Tell me about terns");

    let mut reply =
        StoredMessage::assistant_streaming_at("r".into(), "c1", 1, "claude-sonnet-4.5", 2_000);
    reply.parent_id = Some("u".into());
    store.upsert_message(&reply).unwrap();
    // No text yet: the preview still shows the question.
    assert_eq!(store.summary("c1").unwrap().preview, "Tell me about terns");
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!("Arctic terns fly far, part {i}. "));
        reply.content = vec![ContentBlock::text(text.clone())];
        reply.updated_at = 2_000 + i;
        reply.usage = Some(Usage {
            input_tokens: 100,
            output_tokens: i as u64,
            ..Usage::default()
        });
        store.upsert_message(&reply).unwrap();
    }
    reply.status = MessageStatus::Complete;
    reply.stop_reason = Some("end_turn".into());
    store.upsert_message(&reply).unwrap();

    let summary = store.summary("c1").unwrap();
    assert_eq!(summary.message_count, 2);
    assert_eq!(summary.total_input_tokens, 100);
    assert_eq!(summary.total_output_tokens, 19);
    assert_eq!(summary.models, ["claude-sonnet-4.5"]);
    assert_eq!(
        summary.conversation.last_model.as_deref(),
        Some("claude-sonnet-4.5")
    );
    assert_eq!(summary.conversation.updated_at, 2_019);
    assert!(summary.preview.starts_with("Arctic terns fly far, part 0."));
    assert!(summary.preview.chars().count() <= 161);
    let (_, messages) = store.load("c1").unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(plain_text(&messages[1].content), text);

    // An older snapshot time never moves updated_at backwards.
    let mut late = text_message("c1", "u", 0, Role::User, "Tell me about terns!");
    late.updated_at = 5;
    store.upsert_message(&late).unwrap();
    assert_eq!(store.summary("c1").unwrap().conversation.updated_at, 2_019);
    assert_healthy(&store);
}

#[test]
fn writes_to_missing_conversations_are_not_found() {
    let (_dir, mut store) = new_store();
    assert!(matches!(
        store.upsert_message(&text_message("nope", "m", 0, Role::User, "x")),
        Err(StoreError::NotFound(id)) if id == "nope"
    ));
    assert!(matches!(
        store.rename("nope", "t"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_conversation("nope"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_conversation(&conversation("nope", "t", 0)),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.load("nope"), Err(StoreError::NotFound(_))));
    store
        .create_conversation(&conversation("c", "t", 0))
        .unwrap();
    assert!(matches!(
        store.create_conversation(&conversation("c", "t", 0)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_healthy(&store);
}

#[test]
fn search_follows_edits_renames_and_deletes() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c1", "Birds", 1))
        .unwrap();
    store
        .create_conversation(&conversation("c2", "Fish", 2))
        .unwrap();
    store
        .upsert_message(&text_message(
            "c1",
            "a",
            0,
            Role::User,
            "The albatross glides",
        ))
        .unwrap();
    store
        .upsert_message(&text_message(
            "c2",
            "b",
            0,
            Role::User,
            "The barracuda hunts",
        ))
        .unwrap();
    assert_eq!(store.search("albatross", 10).unwrap().len(), 1);

    // Edit: old text gone, new text found.
    store
        .upsert_message(&text_message(
            "c1",
            "a",
            0,
            Role::User,
            "The cormorant dives",
        ))
        .unwrap();
    assert!(store.search("albatross", 10).unwrap().is_empty());
    let hits = store.search("cormorant", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "Birds");

    store.rename("c1", "Seabirds").unwrap();
    assert_eq!(store.search("cormorant", 10).unwrap()[0].title, "Seabirds");
    // Renaming does not reorder the list.
    assert_eq!(store.most_recent().unwrap().as_deref(), Some("c2"));

    // Delete: its messages leave the index, the others stay.
    store.delete_conversation("c1").unwrap();
    assert!(store.search("cormorant", 10).unwrap().is_empty());
    assert_eq!(store.search("barracuda", 10).unwrap().len(), 1);
    assert!(store.message("a").unwrap().is_none());
    assert_eq!(store.count().unwrap(), 1);
    assert_healthy(&store);
}

#[test]
fn the_browser_lists_newest_first_and_searches_with_a_snippet() {
    let (_dir, mut store) = new_store();
    for (id, title, at) in [
        ("c1", "Pelican migration", 1),
        ("c2", "Gulls", 2),
        ("c3", "Owls", 3),
    ] {
        store
            .create_conversation(&conversation(id, title, at))
            .unwrap();
    }
    store
        .upsert_message(&text_message("c2", "m", 0, Role::User, "a pelican flew by"))
        .unwrap();

    let ids = |rows: &[tern::store::BrowserRow]| -> Vec<String> {
        rows.iter()
            .map(|r| r.summary.conversation.id.clone())
            .collect()
    };
    let listed = store.browse("  ", 2).unwrap();
    // c2 was updated last (its message).
    assert_eq!(
        ids(&listed),
        ["c2", "c3"],
        "an empty query lists the newest"
    );
    assert!(listed.iter().all(|r| r.snippet.is_none()));

    let found = store.browse("pelican", 10).unwrap();
    assert_eq!(ids(&found), ["c1", "c2"], "title match first");
    assert_eq!(
        found[0].snippet, None,
        "a title match has no message snippet"
    );
    let snippet = found[1].snippet.as_deref().unwrap();
    assert!(
        snippet.contains(&format!("{MATCH_START}pelican{MATCH_END}")),
        "{snippet:?}"
    );
    // The hit names its message, so opening it can show the branch that holds it.
    assert_eq!(found[1].hit_message.as_deref(), Some("m"));
    assert_eq!(found[0].hit_message, None);
    assert_eq!(
        tern::store::export_file_stem("0123456789abcdef"),
        "tern-01234567"
    );
    assert_eq!(tern::store::export_file_stem("ab"), "tern-ab");
}

#[test]
fn titles_are_searchable_also_after_a_rename() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c1", "Pelican migration", 1))
        .unwrap();
    store
        .create_conversation(&conversation("c2", "Untitled", 2))
        .unwrap();
    store
        .upsert_message(&text_message("c2", "m", 0, Role::User, "about the pelican"))
        .unwrap();

    let titles = store.search_titles("pelic", 10).unwrap();
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert_eq!(titles[0].conversation_id, "c1");
    assert_eq!(
        titles[0].highlighted,
        format!("{MATCH_START}Pelican{MATCH_END} migration")
    );
    // The browser lists the title match first, then the message match.
    let found = store.search_conversations("pelican", 10).unwrap();
    let ids: Vec<&str> = found
        .iter()
        .map(|m| m.summary.conversation.id.as_str())
        .collect();
    assert_eq!(ids, ["c1", "c2"]);
    assert!(found[0].title_match.is_some() && found[0].hits.is_empty());
    assert!(found[1].title_match.is_none() && found[1].hits.len() == 1);

    store.rename("c1", "Heron nesting").unwrap();
    assert!(store.search_titles("pelican", 10).unwrap().is_empty());
    assert_eq!(store.search_titles("heron", 10).unwrap().len(), 1);
    // A header update that keeps the title changes nothing; one that changes it reindexes.
    let mut c2 = store.load("c2").unwrap().0;
    store.update_conversation(&c2).unwrap();
    assert!(store.search_titles("untitled", 10).unwrap().len() == 1);
    c2.title = "Gulls".into();
    store.update_conversation(&c2).unwrap();
    assert!(store.search_titles("untitled", 10).unwrap().is_empty());
    assert_eq!(store.search_titles("gulls", 10).unwrap().len(), 1);

    store.delete_conversation("c1").unwrap();
    assert!(store.search_titles("heron", 10).unwrap().is_empty());
    assert!(store.search_titles("\"(", 10).unwrap().is_empty());
    assert_healthy(&store);
}

#[test]
fn drafts_are_kept_per_conversation_and_survive_reopening() {
    let (_dir, path) = temp_db();
    {
        let mut store = Store::open(&path).unwrap();
        store
            .create_conversation(&conversation("a", "A", 1))
            .unwrap();
        store
            .create_conversation(&conversation("b", "B", 2))
            .unwrap();
        assert_eq!(store.draft("a").unwrap(), "");
        store.set_draft("a", "half a thought\nsecond line").unwrap();
        assert!(matches!(
            store.set_draft("nope", "x"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(store.draft("nope"), Err(StoreError::NotFound(_))));
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.draft("a").unwrap(), "half a thought\nsecond line");
    assert_eq!(store.draft("b").unwrap(), "");
    // A draft does not reorder the list, and is not a message.
    assert_eq!(store.most_recent().unwrap().as_deref(), Some("b"));
    assert_eq!(store.summary("a").unwrap().message_count, 0);
    store.set_draft("a", "").unwrap();
    assert_eq!(store.draft("a").unwrap(), "");
}

#[tokio::test]
async fn the_writer_keeps_the_last_draft() {
    let (_dir, path) = temp_db();
    Store::open(&path)
        .unwrap()
        .create_conversation(&conversation("a", "A", 1))
        .unwrap();
    let writer = StoreWriter::spawn(&path).unwrap();
    for text in ["h", "he", "hel", "hello"] {
        writer.set_draft("a", text).unwrap();
    }
    writer.flush().await.unwrap();
    assert_eq!(Store::open(&path).unwrap().draft("a").unwrap(), "hello");
}

#[test]
fn search_ranks_prefixes_accents_and_marks_matches() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c", "Rust", 1))
        .unwrap();
    let texts = [
        "The borrow checker is about borrowing: borrow, borrow, borrow.",
        "Lifetimes and the borrow checker.",
        "Un café au lait à Zürich, s'il vous plaît.",
        "Nothing relevant here at all.",
    ];
    for (i, t) in texts.iter().enumerate() {
        let mut m = text_message("c", &format!("m{i}"), i as i64, Role::Assistant, t);
        m.model = Some("claude-haiku-4.5".into());
        store.upsert_message(&m).unwrap();
    }
    let hits = store.search("borrow", 10).unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].message_id, "m0", "more occurrences rank first");
    assert!(hits[0].rank <= hits[1].rank);
    assert_eq!(hits[0].role, Role::Assistant);
    assert_eq!(hits[0].model.as_deref(), Some("claude-haiku-4.5"));
    assert!(
        hits[1]
            .snippet
            .contains(&format!("{MATCH_START}borrow{MATCH_END}")),
        "{:?}",
        hits[1].snippet
    );

    // Every word must match, each as a prefix; case and accents do not matter.
    assert_eq!(store.search("BORR check", 10).unwrap().len(), 2);
    assert_eq!(store.search("borrow lifetimes", 10).unwrap().len(), 1);
    assert_eq!(store.search("cafe zurich", 10).unwrap()[0].message_id, "m2");
    assert_eq!(store.search("CAFÉ", 10).unwrap().len(), 1);
    assert!(store.search("borrow zurich", 10).unwrap().is_empty());
    assert_eq!(store.search("borrow", 1).unwrap().len(), 1);

    let grouped = store.search_conversations("borrow", 10).unwrap();
    assert_eq!(grouped.len(), 1);
    assert_eq!(grouped[0].summary.conversation.id, "c");
    assert_eq!(grouped[0].hits.len(), 2);
    assert_eq!(grouped[0].rank, grouped[0].hits[0].rank);
}

#[test]
fn hostile_queries_are_plain_text_not_syntax() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    store
        .upsert_message(&text_message(
            "c",
            "m",
            0,
            Role::User,
            "error: can't find \"foo-bar\" in (a AND b) OR NOT c* NEAR x:y 東京タワー",
        ))
        .unwrap();
    for q in [
        "\"",
        "\"\"",
        "foo\"",
        "*",
        "foo*",
        "-",
        "-foo",
        "foo-bar",
        "AND",
        "OR",
        "NOT",
        "a AND",
        "NEAR(a b)",
        "(",
        ")",
        "(a",
        "x:y",
        "body:foo",
        "^foo",
        "{a b}",
        "+",
        "'",
        "can't",
        "\\",
        "%_",
        "\0",
        "東京",
        "🦀",
        "é\u{301}",
        "",
        "   ",
    ] {
        if let Err(e) = store.search(q, 10) {
            panic!("query {q:?} failed: {e}");
        }
    }
    // And they find what they say.
    assert_eq!(store.search("\"foo-bar\"", 10).unwrap().len(), 1);
    assert_eq!(store.search("can't", 10).unwrap().len(), 1);
    assert_eq!(store.search("(a AND b)", 10).unwrap().len(), 1);
    assert_eq!(store.search("東京", 10).unwrap().len(), 1);
    assert!(store.search("*", 10).unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_query_text_searches_without_error(q in "\\PC{0,40}|[\"*()^:+\\-{} a-zA-Z]{0,20}") {
        let (_dir, path) = temp_db();
        let store = Store::open(&path).unwrap();
        prop_assert!(store.search(&q, 5).is_ok());
        prop_assert!(store.search_conversations(&q, 5).is_ok());
    }
}

#[test]
fn broad_queries_rank_only_the_newest_matches() {
    let (_dir, mut store) = new_store();
    let window = tern::store::search::RANK_WINDOW;
    let mut batch = vec![WriteCommand::CreateConversation(conversation("c", "t", 1))];
    // The oldest message is the best bm25 match of all, but falls outside the window.
    batch.push(WriteCommand::UpsertMessage(text_message(
        "c",
        "oldest",
        0,
        Role::User,
        "common common common common rarity",
    )));
    for i in 1..=window as i64 + 50 {
        batch.push(WriteCommand::UpsertMessage(text_message(
            "c",
            &format!("m{i}"),
            i,
            Role::User,
            "common words in a longer message that mentions the word only once",
        )));
    }
    assert!(store.apply_batch(&batch).unwrap().is_empty());

    let hits = store.search("common", 20).unwrap();
    assert_eq!(hits.len(), 20);
    assert!(hits.iter().all(|h| h.message_id != "oldest"));
    let newest_window: Vec<String> = (51..=window as i64 + 50).map(|i| format!("m{i}")).collect();
    assert!(hits.iter().all(|h| newest_window.contains(&h.message_id)));
    // Asking for more than the window ranks everything; a narrower query finds the old one.
    let all = store.search("common", usize::MAX).unwrap();
    assert_eq!(all.len(), window + 51);
    assert_eq!(all[0].message_id, "oldest");
    assert_eq!(
        store.search("common rarity", 5).unwrap()[0].message_id,
        "oldest"
    );
}

#[test]
fn id_prefixes_resolve_uniquely() {
    let (_dir, mut store) = new_store();
    for id in ["abc0000000000001", "abc0000000000002", "abd0000000000000"] {
        store.create_conversation(&conversation(id, id, 1)).unwrap();
    }
    assert_eq!(store.resolve("abd").unwrap(), "abd0000000000000");
    assert_eq!(store.resolve(" ABD0 ").unwrap(), "abd0000000000000");
    assert_eq!(
        store.resolve("abc0000000000002").unwrap(),
        "abc0000000000002"
    );
    match store.resolve("abc") {
        Err(StoreError::AmbiguousId { prefix, matches }) => {
            assert_eq!(prefix, "abc");
            assert_eq!(matches, ["abc0000000000001", "abc0000000000002"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(store.resolve("ab"), Err(StoreError::AmbiguousId { matches, .. }) if matches.len() == 3)
    );
    assert!(matches!(store.resolve("abe"), Err(StoreError::NotFound(_))));
    assert!(matches!(store.resolve("zzz"), Err(StoreError::NotFound(_))));
    assert!(matches!(store.resolve(""), Err(StoreError::NotFound(_))));
    let msg = store.resolve("abc").unwrap_err().to_string();
    assert!(
        msg.contains("abc0000000000001") && msg.contains("more of the id"),
        "{msg}"
    );
}

#[test]
fn list_pages_newest_first() {
    let (_dir, mut store) = new_store();
    assert_eq!(store.most_recent().unwrap(), None);
    assert!(store.list(0, 10).unwrap().is_empty());
    for i in 0..25 {
        store
            .create_conversation(&conversation(&format!("c{i:02}"), "t", 100 + i))
            .unwrap();
    }
    // A message bumps an old conversation to the top.
    let mut m = text_message("c03", "m", 0, Role::User, "bump");
    m.updated_at = 10_000;
    store.upsert_message(&m).unwrap();
    assert_eq!(store.count().unwrap(), 25);
    assert_eq!(store.most_recent().unwrap().as_deref(), Some("c03"));
    let first = store.list(0, 10).unwrap();
    let ids: Vec<&str> = first.iter().map(|s| s.conversation.id.as_str()).collect();
    assert_eq!(ids[..3], ["c03", "c24", "c23"]);
    assert_eq!(first[0].message_count, 1);
    let all: Vec<String> = (0..3)
        .flat_map(|page| store.list(page * 10, 10).unwrap())
        .map(|s| s.conversation.id)
        .collect();
    assert_eq!(all.len(), 25);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "pages overlap");
    assert!(store.list(100, 10).unwrap().is_empty());
}

#[test]
fn export_json_imports_back_exactly() {
    let (_dir, mut store) = new_store();
    let (conv, messages) = everything("0123456789abcdef");
    save(&mut store, &conv, &messages);
    let json = store.export_json(&conv.id).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], EXPORT_FORMAT);
    assert_eq!(value["messages"].as_array().unwrap().len(), messages.len());

    let (_dir2, other_path) = temp_db();
    let mut other = Store::open(&other_path).unwrap();
    assert_eq!(other.import_json(&json).unwrap(), conv.id);
    assert_eq!(
        other.load(&conv.id).unwrap(),
        (conv.clone(), messages.clone())
    );
    assert_eq!(
        other.summary(&conv.id).unwrap(),
        store.summary(&conv.id).unwrap()
    );
    assert_eq!(
        other.search("ripgrep rg", 5).unwrap().len(),
        store.search("ripgrep rg", 5).unwrap().len()
    );
    // Exporting the import gives the same document (bar the export time).
    let mut again: serde_json::Value =
        serde_json::from_str(&other.export_json(&conv.id).unwrap()).unwrap();
    let mut first = value.clone();
    again["exported_at"] = json!(0);
    first["exported_at"] = json!(0);
    assert_eq!(again, first);

    // Importing twice never overwrites.
    assert!(matches!(
        other.import_json(&json),
        Err(StoreError::AlreadyExists(_))
    ));
    let mut wrong = value.clone();
    wrong["format"] = json!("something.else.v9");
    assert!(matches!(
        other.import_json(&wrong.to_string()),
        Err(StoreError::Import(_))
    ));
    assert!(matches!(
        other.import_json("{not json"),
        Err(StoreError::Import(_))
    ));
    // A message claiming another conversation is refused, and nothing is half-imported.
    let mut mixed = value.clone();
    mixed["conversation"]["id"] = json!("feedfacefeedface");
    assert!(matches!(
        other.import_json(&mixed.to_string()),
        Err(StoreError::Import(_))
    ));
    assert!(matches!(
        other.load("feedfacefeedface"),
        Err(StoreError::NotFound(_))
    ));
    assert_healthy(&other);
}

#[test]
fn markdown_export_is_readable() {
    let (_dir, mut store) = new_store();
    let (conv, messages) = everything("0123456789abcdef");
    save(&mut store, &conv, &messages);
    let md = store.export_markdown(&conv.id).unwrap();
    assert!(
        md.starts_with("# Everything 🦀 «quoted» \"title\"\n"),
        "{md}"
    );
    for needle in [
        "- Models: claude-opus-4.6, claude-sonnet-4.5",
        "- Parameters: max_tokens 4096, temperature 0.7, top_p 0.95",
        "```text\nYou are terse.\nTwo lines.\n```",
        "## User · 2024-05-01 10:40 UTC",
        "```sh\necho \"hi\"\n```",
        "## Assistant · claude-opus-4.6 (served by claude-opus-4-6-20260205) · 2024-05-01 10:40 UTC",
        "<summary>Thinking</summary>",
        "**Tool call:** `web_search`",
        "Use `rg --json`.",
        "> **Error:** HTTP 529 overloaded_error",
        "*(interrupted: tern exited while this reply was arriving)*",
        "2323 input tokens · 567 output tokens · stop: end_turn",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
}

#[test]
fn batches_apply_each_command_or_report_it() {
    let (_dir, mut store) = new_store();
    let failures = store
        .apply_batch(&[
            WriteCommand::CreateConversation(conversation("c", "t", 1)),
            WriteCommand::UpsertMessage(text_message("c", "m1", 0, Role::User, "one")),
            WriteCommand::UpsertMessage(text_message("missing", "m2", 0, Role::User, "two")),
            WriteCommand::Rename {
                id: "c".into(),
                title: "renamed".into(),
            },
        ])
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, 2);
    assert!(matches!(failures[0].1, StoreError::NotFound(_)));
    let (c, messages) = store.load("c").unwrap();
    assert_eq!(c.title, "renamed");
    assert_eq!(messages.len(), 1);
    assert!(store.message("m2").unwrap().is_none());
    assert_healthy(&store);
}

#[test]
fn titles_come_from_the_first_line() {
    assert_eq!(
        title_from_prompt("\n  How do I   parse JSON in Rust?\nDetails…"),
        "How do I parse JSON in Rust?"
    );
}

// ---------------------------------------------------------------------------------------------
// Files that must not be touched.

#[test]
fn a_corrupt_file_is_reported_and_left_alone() {
    let (_dir, path) = temp_db();
    let garbage: Vec<u8> = (0..16_384u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    match Store::open(&path) {
        Err(StoreError::Corrupt { path: p }) => assert_eq!(p, path),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    let msg = Store::open(&path).unwrap_err().to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("untouched"),
        "{msg}"
    );
    assert!(matches!(
        Store::open_readonly(&path),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_damaged_database_is_reported_and_left_alone() {
    let (_dir, path) = temp_db();
    {
        let mut store = Store::open(&path).unwrap();
        store
            .create_conversation(&conversation("c", "t", 1))
            .unwrap();
        for i in 0..200 {
            store
                .upsert_message(&text_message(
                    "c",
                    &format!("m{i}"),
                    i,
                    Role::User,
                    &"words ".repeat(200),
                ))
                .unwrap();
        }
    }
    // Scribble over everything after the first page (the header stays valid).
    let mut bytes = std::fs::read(&path).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (i % 256) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let outcome = Store::open(&path).and_then(|s| s.load("c").map(|_| s));
    assert!(
        matches!(outcome, Err(StoreError::Corrupt { .. })),
        "expected Corrupt, got {outcome:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn someone_elses_database_is_not_adopted() {
    let (_dir, path) = temp_db();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::NotTern { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match Store::open(&path) {
        Err(StoreError::TooNew {
            found: 99,
            supported,
            ..
        }) => assert_eq!(supported, tern::store::schema::CURRENT_VERSION),
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_reported_as_locked() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    store
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    // Another program holds the write lock (waits the 5 s busy timeout, then gives up).
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    match store.rename("c", "renamed") {
        Err(StoreError::Locked { path: p }) => assert_eq!(p, path),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Readers are not blocked by a writer (WAL).
    assert_eq!(store.load("c").unwrap().0.title, "t");
    other.execute_batch("ROLLBACK").unwrap();
    store.rename("c", "renamed").unwrap();
    assert_eq!(store.load("c").unwrap().0.title, "renamed");
}

#[test]
fn a_directory_in_the_way_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    // Missing parent directories are created.
    let nested = dir.path().join("a/b/c/tern.db");
    Store::open(&nested).unwrap();
    assert!(nested.exists());
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_reported_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("tern.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .create_conversation(&conversation("c", "t", 1))
            .unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();
    // Root ignores file permissions, so check as an unprivileged user in a child process.
    let outcome = if is_root() {
        let out = child_command("open", &path)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find_map(|l| l.split_once("OPEN ").map(|(_, rest)| rest.to_owned()))
            .unwrap_or_else(|| panic!("no result from child: {stdout}"))
    } else {
        describe_open(&path)
    };
    assert!(outcome.starts_with("ReadOnly:"), "{outcome}");
    assert!(
        outcome.contains("read-only") && outcome.contains("tern.db"),
        "{outcome}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(unix)]
use std::os::unix::process::CommandExt as _;

fn describe_open(path: &Path) -> String {
    match Store::open(path) {
        Ok(_) => "Ok".into(),
        Err(e) => {
            let kind = format!("{e:?}");
            let kind = kind.split([' ', '(', '{']).next().unwrap_or("").to_owned();
            format!("{kind}: {e}")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Two writers.

#[test]
fn two_connections_in_two_threads_interleave_writes() {
    let (_dir, path) = temp_db();
    {
        let mut store = Store::open(&path).unwrap();
        store
            .create_conversation(&conversation("shared", "t", 1))
            .unwrap();
    }
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                let own = format!("own{t}");
                store
                    .create_conversation(&conversation(&own, "t", 1))
                    .unwrap();
                for i in 0..150i64 {
                    // Each turn follows whatever the shared conversation ends with then.
                    store
                        .append_after_load("shared", |_, path, seq| {
                            let mut m = text_message(
                                "shared",
                                &format!("s{t}-{i}"),
                                seq,
                                Role::User,
                                &format!("shared word{t} {i}"),
                            );
                            m.parent_id = path.last().map(|p| p.id.clone());
                            m.usage = Some(Usage {
                                input_tokens: 1,
                                output_tokens: 2,
                                ..Usage::default()
                            });
                            (vec![m], ())
                        })
                        .unwrap();
                    let mut own_m = text_message(&own, &format!("o{t}-{i}"), i, Role::User, "own");
                    own_m.parent_id = (i > 0).then(|| format!("o{t}-{}", i - 1));
                    store.upsert_message(&own_m).unwrap();
                    // A reader in the same thread sees its own writes.
                    if i % 50 == 0 {
                        assert!(store.message(&format!("s{t}-{i}")).unwrap().is_some());
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let shared = store.summary("shared").unwrap();
    assert_eq!(shared.message_count, 300);
    assert_eq!(
        (shared.total_input_tokens, shared.total_output_tokens),
        (300, 600)
    );
    // One line of 300 turns, interleaved by the two writers.
    let (_, messages) = store.load("shared").unwrap();
    let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (0..300).collect::<Vec<_>>());
    assert_eq!(shared.branches, 1);
    assert_eq!(store.load("own1").unwrap().1.len(), 150);
    assert_eq!(store.summary("own0").unwrap().message_count, 150);
    assert_eq!(store.summary("own1").unwrap().message_count, 150);
    assert_eq!(store.search("word1", 500).unwrap().len(), 150);
    assert_healthy(&store);
}

/// `m` as the message that follows `parent`.
fn after(mut m: StoredMessage, parent: &str) -> StoredMessage {
    m.parent_id = Some(parent.into());
    m
}

#[test]
fn two_writers_answering_the_same_message_make_siblings() {
    let (_dir, path) = temp_db();
    let mut first = Store::open(&path).unwrap();
    first
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    first
        .upsert_message(&text_message("c", "u0", 0, Role::User, "hello"))
        .unwrap();
    first
        .upsert_message(&after(
            text_message("c", "a1", 1, Role::Assistant, "hi"),
            "u0",
        ))
        .unwrap();
    // Two writers both loaded u0, a1. The first appends its turn.
    let mut second = Store::open(&path).unwrap();
    first
        .upsert_message(&after(
            text_message("c", "first-u2", 2, Role::User, "from the first"),
            "a1",
        ))
        .unwrap();
    // The second's turn follows a1 too, at a later seq: a sibling, and the new active path.
    second
        .upsert_message(&after(
            text_message("c", "second-u3", 3, Role::User, "from the second"),
            "a1",
        ))
        .unwrap();
    let ids = |store: &Store| -> Vec<String> {
        store
            .load("c")
            .unwrap()
            .1
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(ids(&first), ["u0", "a1", "second-u3"]);
    let (_, tree) = first.load_tree("c").unwrap();
    let all: Vec<&str> = tree.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(all, ["u0", "a1", "first-u2", "second-u3"]);
    let summary = first.summary("c").unwrap();
    assert_eq!((summary.message_count, summary.branches), (4, 2));
    // The first writer's reply lands on its own branch and makes it the active one again;
    // rewrites of stored messages go through from either store and leave the leaf alone.
    let mut a4 = after(
        text_message("c", "first-a4", 4, Role::Assistant, "par"),
        "first-u2",
    );
    first.upsert_message(&a4).unwrap();
    assert_eq!(ids(&second), ["u0", "a1", "first-u2", "first-a4"]);
    second.set_active_leaf("c", "second-u3").unwrap();
    a4.content = vec![ContentBlock::text("partial, then whole")];
    second.upsert_message(&a4).unwrap();
    assert_eq!(ids(&first), ["u0", "a1", "second-u3"]);
    assert_eq!(first.summary("c").unwrap().branches, 2);
    assert_healthy(&first);
}

#[test]
fn an_append_after_a_missing_parent_or_a_taken_seq_is_refused_as_a_conflict() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    store
        .create_conversation(&conversation("other", "t", 1))
        .unwrap();
    store
        .upsert_message(&text_message("c", "u0", 0, Role::User, "hello"))
        .unwrap();
    store
        .upsert_message(&after(
            text_message("c", "a1", 1, Role::Assistant, "hi"),
            "u0",
        ))
        .unwrap();
    // The parent is gone (another tern deleted its branch meanwhile).
    match store.upsert_message(&after(
        text_message("c", "u2", 2, Role::User, "late"),
        "gone",
    )) {
        Err(StoreError::Conflict {
            conversation_id,
            message_id,
            expected,
            parent_found,
            found,
        }) => {
            assert_eq!((conversation_id.as_str(), message_id.as_str()), ("c", "u2"));
            assert_eq!(expected, "gone");
            assert!(!parent_found);
            assert_eq!(found.as_deref(), Some("a1"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A parent of another conversation is no parent either.
    store
        .upsert_message(&text_message("other", "o0", 0, Role::User, "x"))
        .unwrap();
    assert!(matches!(
        store.upsert_message(&after(text_message("c", "u3", 3, Role::User, "x"), "o0")),
        Err(StoreError::Conflict {
            parent_found: false,
            ..
        })
    ));
    // A seq that does not come after every stored one (another writer took it).
    let behind = after(text_message("c", "x", 1, Role::User, "x"), "a1");
    let err = store.upsert_message(&behind).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                parent_found: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("another tern"), "{err}");
    let (_, messages) = store.load_tree("c").unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(store.summary("c").unwrap().branches, 1);
    assert_healthy(&store);
}

#[test]
fn appending_in_the_loading_transaction_sees_the_latest_history() {
    let (_dir, mut store) = new_store();
    store
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    store
        .upsert_message(&text_message("c", "u0", 0, Role::User, "hello"))
        .unwrap();
    let (conv, before, seen) = store
        .append_after_load("c", |conv, messages, seq| {
            let last = messages.last().unwrap();
            assert_eq!(seq, 1);
            let user = after(
                text_message(&conv.id, "u1", seq, Role::User, "again"),
                &last.id,
            );
            (vec![user], messages.len())
        })
        .unwrap();
    assert_eq!((conv.id.as_str(), before.len(), seen), ("c", 1, 1));
    assert_eq!(store.load("c").unwrap().1.len(), 2);
    // A refused append rolls the whole transaction back.
    let result = store.append_after_load("c", |conv, _, _| {
        let ok = after(text_message(&conv.id, "u2", 2, Role::User, "x"), "u1");
        let bad = after(text_message(&conv.id, "u3", 3, Role::User, "y"), "gone");
        (vec![ok, bad], ())
    });
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(store.load("c").unwrap().1.len(), 2);
    assert!(matches!(
        store.append_after_load("missing", |_, _, _| (Vec::new(), ())),
        Err(StoreError::NotFound(_))
    ));
    // On a branched conversation it sees the active path, and the seq after every branch.
    store
        .upsert_message(&after(
            text_message("c", "u1b", 2, Role::User, "other"),
            "u0",
        ))
        .unwrap();
    store.set_active_leaf("c", "u1").unwrap();
    let (_, path, seq) = store
        .append_after_load("c", |_, _, seq| (Vec::new(), seq))
        .map(|(c, m, seq)| (c, m.into_iter().map(|m| m.id).collect::<Vec<_>>(), seq))
        .unwrap();
    assert_eq!((path, seq), (vec!["u0".to_owned(), "u1".to_owned()], 3));
}

#[test]
fn two_processes_write_side_by_side() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    let mut child = child_command("write", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut store = Store::open(&path).unwrap();
        store
            .create_conversation(&conversation("parent", "t", 1))
            .unwrap();
        for i in 0..CHILD_WRITES {
            store
                .upsert_message(&text_message(
                    "parent",
                    &format!("p{i}"),
                    i,
                    Role::User,
                    "from the parent",
                ))
                .unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.summary("parent").unwrap().message_count,
        CHILD_WRITES as u64
    );
    assert_eq!(
        store.summary("child").unwrap().message_count,
        CHILD_WRITES as u64
    );
    assert_eq!(
        store.search("from the child", 1000).unwrap().len(),
        CHILD_WRITES as usize
    );
    assert_healthy(&store);
}

// ---------------------------------------------------------------------------------------------
// Crash recovery.

#[test]
fn a_reply_streaming_in_a_killed_process_becomes_interrupted() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    let mut child = spawn_streaming_child(&path);

    // While the child lives, its stream is live: another open must not touch it.
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.recovered_on_open(), 0);
        let m = store.message("reply").unwrap().unwrap();
        assert_eq!(m.status, MessageStatus::Streaming);
    }

    child.kill().unwrap(); // SIGKILL: no destructors, no clean-up.
    child.wait().unwrap();

    let store = Store::open(&path).unwrap();
    assert_eq!(store.recovered_on_open(), 1);
    let (_, messages) = store.load("crash").unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].status, MessageStatus::Complete);
    assert_eq!(messages[1].status, MessageStatus::Interrupted);
    assert_eq!(
        plain_text(&messages[1].content),
        "A partial reply that was cut"
    );
    // Interrupted replies are searchable.
    assert_eq!(
        store.search("partial cut", 5).unwrap()[0].message_id,
        "reply"
    );
    assert_healthy(&store);
    drop(store);
    // And it is done once.
    assert_eq!(Store::open(&path).unwrap().recovered_on_open(), 0);
}

#[test]
fn a_live_stream_of_another_store_in_this_process_is_left_alone() {
    let (_dir, path) = temp_db();
    let mut writer = Store::open(&path).unwrap();
    writer
        .create_conversation(&conversation("c", "t", 1))
        .unwrap();
    // Written at 0, ancient: age alone would call it dead.
    let reply = StoredMessage::assistant_streaming_at("r".into(), "c", 0, "m", 0);
    writer.upsert_message(&reply).unwrap();
    let reader = Store::open(&path).unwrap();
    assert_eq!(reader.recovered_on_open(), 0);
    assert_eq!(
        reader.message(&reply.id).unwrap().unwrap().status,
        MessageStatus::Streaming
    );
    drop(reader);
    // The writer goes away without finishing (its lease goes with it).
    drop(writer);
    let after = Store::open(&path).unwrap();
    assert_eq!(after.recovered_on_open(), 1);
    assert_eq!(
        after.message(&reply.id).unwrap().unwrap().status,
        MessageStatus::Interrupted
    );
}

const CHILD_WRITES: i64 = 200;

fn child_command(mode: &str, path: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("TERN_STORE_CHILD", mode)
    .env("TERN_STORE_DB", path);
    cmd
}

fn spawn_streaming_child(path: &Path) -> Child {
    let mut child = child_command("stream", path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            // libtest's "test child_process_entry ... " may precede it on the line.
            Some(Ok(line)) if line.ends_with("READY") => break,
            Some(Ok(_)) => continue,
            other => panic!("child ended before it was ready: {other:?}"),
        }
    }
    child
}

/// Entry point of the child processes (does nothing in a normal test run).
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var("TERN_STORE_CHILD") else {
        return;
    };
    let path = PathBuf::from(std::env::var("TERN_STORE_DB").unwrap());
    match mode.as_str() {
        "open" => println!("OPEN {}", describe_open(&path)),
        "write" => {
            let mut store = Store::open(&path).unwrap();
            store
                .create_conversation(&conversation("child", "t", 1))
                .unwrap();
            for i in 0..CHILD_WRITES {
                store
                    .upsert_message(&text_message(
                        "child",
                        &format!("c{i}"),
                        i,
                        Role::User,
                        "from the child",
                    ))
                    .unwrap();
            }
        }
        "stream" => {
            let mut store = Store::open(&path).unwrap();
            store
                .create_conversation(&conversation("crash", "t", 1))
                .unwrap();
            store
                .upsert_message(&text_message("crash", "question", 0, Role::User, "Go on"))
                .unwrap();
            let mut reply = StoredMessage::assistant_streaming_at(
                "reply".into(),
                "crash",
                1,
                "claude-sonnet-4.5",
                stored::T0,
            );
            reply.parent_id = Some("question".into());
            reply.content = vec![ContentBlock::text("A partial reply that was cut")];
            store.upsert_message(&reply).unwrap();
            println!("READY");
            // Wait to be killed (bounded, in case the parent died first).
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        other => panic!("unknown child mode {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The owner task.

#[tokio::test]
async fn the_writer_task_applies_in_order_and_reports_failures() {
    let (_dir, path) = temp_db();
    let (err_tx, mut err_rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = StoreWriter::spawn_with_errors(&path, move |f| {
        let _ = err_tx.send((f.what.clone(), f.message_id.clone(), f.error.to_string()));
    })
    .unwrap();
    writer
        .create_conversation(conversation("c", "t", 1))
        .unwrap();
    writer
        .upsert_message(text_message("c", "q", 0, Role::User, "question"))
        .unwrap();
    let mut reply =
        StoredMessage::assistant_streaming_at("r".into(), "c", 1, "claude-sonnet-4.5", 2);
    reply.parent_id = Some("q".into());
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!("chunk {i} "));
        reply.content = vec![ContentBlock::text(text.clone())];
        writer.upsert_message(reply.clone()).unwrap();
    }
    reply.status = MessageStatus::Complete;
    writer.upsert_message(reply.clone()).unwrap();
    let clone = writer.clone();
    clone.rename("c", "renamed").unwrap();
    writer.flush().await.unwrap();

    // Read through a separate connection, as the UI does.
    let store = Store::open(&path).unwrap();
    let (c, messages) = store.load("c").unwrap();
    assert_eq!(c.title, "renamed");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1], reply);
    assert_eq!(store.search("chunk 299", 5).unwrap().len(), 1);

    // A failing write is reported at once and by the next flush, and does not stop the task.
    writer
        .upsert_message(text_message("missing", "lost", 0, Role::User, "x"))
        .unwrap();
    writer
        .upsert_message(text_message(
            "c",
            "after",
            2,
            Role::User,
            "after the failure",
        ))
        .unwrap();
    match writer.flush().await {
        Err(StoreError::WritesFailed { failed: 1, first }) => {
            assert!(matches!(*first, StoreError::NotFound(_)));
        }
        other => panic!("expected WritesFailed, got {other:?}"),
    }
    let (what, message_id, error) = err_rx.recv().await.unwrap();
    assert!(what.contains("saving message lost"), "{what}");
    assert_eq!(message_id.as_deref(), Some("lost"));
    assert!(error.contains("missing"), "{error}");
    writer.flush().await.unwrap();
    assert!(store.message("after").unwrap().is_some());

    writer.delete("c").unwrap();
    writer.flush().await.unwrap();
    assert_eq!(store.count().unwrap(), 0);
    assert_healthy(&store);
}

#[test]
fn the_writer_reports_an_unopenable_database_at_spawn() {
    let (_dir, path) = temp_db();
    std::fs::write(&path, b"this is not sqlite at all, not even close........").unwrap();
    assert!(matches!(
        StoreWriter::spawn(&path),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn the_default_path_is_in_the_data_dir() {
    if let Some(path) = Store::default_path() {
        assert!(
            path.ends_with("tern/tern.db") || path.ends_with("tern.db"),
            "{path:?}"
        );
        if let Ok(xdg) = std::env::var("XDG_DATA_HOME")
            && cfg!(target_os = "linux")
        {
            assert_eq!(path, Path::new(&xdg).join("tern/tern.db"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Trees: siblings, the active path, branch deletes, tree export.

/// Conversation `c`: a prompt `u0` with two replies `a1`, `a2` (regenerated), then `u3` after
/// `a1` with its reply `a4`, and an edited prompt `u5` (a sibling of `u0`). Active: `u5`.
///
/// ```text
/// u0 ─┬─ a1 ── u3 ── a4
///     └─ a2
/// u5
/// ```
fn seed_tree(store: &mut Store) {
    store
        .create_conversation(&conversation("c", "Tree", 1))
        .unwrap();
    let turns: [(&str, Option<&str>, Role, &str); 6] = [
        ("u0", None, Role::User, "which bird migrates farthest"),
        ("a1", Some("u0"), Role::Assistant, "the arctic tern"),
        ("a2", Some("u0"), Role::Assistant, "the bar-tailed godwit"),
        ("u3", Some("a1"), Role::User, "how far"),
        (
            "a4",
            Some("u3"),
            Role::Assistant,
            "seventy thousand kilometres",
        ),
        ("u5", None, Role::User, "which bird dives deepest"),
    ];
    for (seq, (id, parent, role, text)) in turns.into_iter().enumerate() {
        let mut m = text_message("c", id, seq as i64, role, text);
        m.parent_id = parent.map(str::to_owned);
        if role == Role::Assistant {
            m.model = Some(format!("model-{id}"));
        }
        store.upsert_message(&m).unwrap();
    }
}

fn path_ids(store: &Store, id: &str) -> Vec<String> {
    let (conversation, messages) = store.load(id).unwrap();
    let ids: Vec<String> = messages.into_iter().map(|m| m.id).collect();
    assert_eq!(conversation.active_leaf.as_ref(), ids.last());
    ids
}

#[test]
fn siblings_share_a_parent_and_load_gives_the_active_path() {
    let (_dir, mut store) = new_store();
    seed_tree(&mut store);
    // Each insert became the leaf: the last one is the edited prompt, a path of its own.
    assert_eq!(path_ids(&store, "c"), ["u5"]);
    let (_, tree) = store.load_tree("c").unwrap();
    let all: Vec<&str> = tree.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(all, ["u0", "a1", "a2", "u3", "a4", "u5"]);
    assert_eq!(tree[2].parent_id.as_deref(), Some("u0"));
    let summary = store.summary("c").unwrap();
    assert_eq!((summary.message_count, summary.branches), (6, 3));

    store.set_active_leaf("c", "a4").unwrap();
    assert_eq!(path_ids(&store, "c"), ["u0", "a1", "u3", "a4"]);
    // The leaf may be inside the tree: the path ends there.
    store.set_active_leaf("c", "a2").unwrap();
    assert_eq!(path_ids(&store, "c"), ["u0", "a2"]);
    // It survives reopening, and a header update does not move it.
    let (header, _) = store.load("c").unwrap();
    let mut stale = header.clone();
    stale.active_leaf = Some("u5".into());
    stale.title = "Renamed".into();
    store.update_conversation(&stale).unwrap();
    let path = store.path().to_path_buf();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(path_ids(&store, "c"), ["u0", "a2"]);
    assert_eq!(store.summary("c").unwrap().conversation.title, "Renamed");

    // A new message moves the leaf to itself.
    let mut a6 = text_message("c", "a6", 6, Role::Assistant, "a third answer");
    a6.parent_id = Some("u0".into());
    store.upsert_message(&a6).unwrap();
    assert_eq!(path_ids(&store, "c"), ["u0", "a6"]);
    assert_eq!(store.summary("c").unwrap().branches, 4);

    // A leaf that is not a message of the conversation is refused, and changes nothing.
    store
        .create_conversation(&conversation("d", "Other", 1))
        .unwrap();
    store
        .upsert_message(&text_message("d", "d0", 0, Role::User, "elsewhere"))
        .unwrap();
    for (conversation, leaf) in [("c", "d0"), ("c", "nope")] {
        match store.set_active_leaf(conversation, leaf) {
            Err(StoreError::NoSuchMessage {
                conversation_id,
                message_id,
            }) => assert_eq!((conversation_id.as_str(), message_id.as_str()), ("c", leaf)),
            other => panic!("expected NoSuchMessage, got {other:?}"),
        }
    }
    assert!(matches!(
        store.set_active_leaf("missing", "u0"),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(path_ids(&store, "c"), ["u0", "a6"]);
    // The same through the command the app sends.
    let failed = store
        .apply_batch(&[
            WriteCommand::SetActiveLeaf {
                conversation: "c".into(),
                leaf: "u3".into(),
            },
            WriteCommand::SetActiveLeaf {
                conversation: "c".into(),
                leaf: "d0".into(),
            },
        ])
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, 1);
    assert_eq!(path_ids(&store, "c"), ["u0", "a1", "u3"]);
    assert_healthy(&store);
}

#[test]
fn deleting_a_branch_removes_its_subtree_only() {
    let (_dir, mut store) = new_store();
    seed_tree(&mut store);
    store.set_active_leaf("c", "a4").unwrap();
    let before = store.summary("c").unwrap();
    assert_eq!(store.search("seventy", 5).unwrap().len(), 1);
    assert_eq!(store.search("arctic", 5).unwrap().len(), 1);

    // a1's branch holds the active leaf: the path then ends at a1's parent.
    store.delete_branch("c", "a1").unwrap();
    let (_, tree) = store.load_tree("c").unwrap();
    let all: Vec<&str> = tree.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(all, ["u0", "a2", "u5"]);
    assert_eq!(path_ids(&store, "c"), ["u0"]);
    assert!(store.search("seventy", 5).unwrap().is_empty());
    assert!(store.search("arctic", 5).unwrap().is_empty());
    assert_eq!(store.search("godwit", 5).unwrap().len(), 1);
    let after = store.summary("c").unwrap();
    assert_eq!((after.message_count, after.branches), (3, 2));
    assert_eq!(after.models, ["model-a2"]);
    assert_eq!(after.conversation.title, before.conversation.title);

    // A branch off the active path leaves the leaf where it is.
    store.set_active_leaf("c", "a2").unwrap();
    store.delete_branch("c", "u5").unwrap();
    assert_eq!(path_ids(&store, "c"), ["u0", "a2"]);
    assert_eq!(store.summary("c").unwrap().branches, 1);

    // Unknown messages are refused, through the command as well.
    assert!(matches!(
        store.delete_branch("c", "a1"),
        Err(StoreError::NoSuchMessage { .. })
    ));
    let failed = store
        .apply_batch(&[WriteCommand::DeleteBranch {
            conversation: "c".into(),
            message: "u0".into(),
        }])
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    // Deleting the root leaves an empty conversation, still titled and listed.
    let (conversation, messages) = store.load("c").unwrap();
    assert!(messages.is_empty());
    assert_eq!(conversation.active_leaf, None);
    let empty = store.summary("c").unwrap();
    assert_eq!((empty.message_count, empty.branches), (0, 0));
    assert_eq!(empty.conversation.title, "Tree");
    assert_eq!(empty.total_input_tokens, 0);
    assert_eq!(empty.preview, "");
    assert_healthy(&store);
}

#[test]
fn the_json_export_round_trips_the_tree_and_its_active_leaf() {
    let (_dir, mut store) = new_store();
    seed_tree(&mut store);
    store.set_active_leaf("c", "a4").unwrap();
    let json = store.export_json("c").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["format"], EXPORT_FORMAT);
    assert_eq!(doc["conversation"]["active_leaf"], "a4");
    assert_eq!(doc["messages"].as_array().unwrap().len(), 6);
    assert_eq!(doc["messages"][2]["parent_id"], "u0");

    let (_dir2, mut other) = new_store();
    assert_eq!(other.import_json(&json).unwrap(), "c");
    assert_eq!(other.load_tree("c").unwrap(), store.load_tree("c").unwrap());
    assert_eq!(other.load("c").unwrap(), store.load("c").unwrap());
    assert_eq!(path_ids(&other, "c"), ["u0", "a1", "u3", "a4"]);
    let summary = other.summary("c").unwrap();
    assert_eq!((summary.message_count, summary.branches), (6, 3));
    assert_healthy(&other);

    // `show --json` gives the active path as a line, which imports as that one path.
    let line = store.export_path_json("c").unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["format"], tern::store::LINE_FORMAT);
    assert_eq!(doc["messages"].as_array().unwrap().len(), 4);
    // As tern wrote lines before trees: no parents, no leaf; linked in seq order.
    doc["conversation"]["id"] = json!("line");
    doc["conversation"]
        .as_object_mut()
        .unwrap()
        .remove("active_leaf");
    for m in doc["messages"].as_array_mut().unwrap() {
        m["conversation_id"] = json!("line");
        m["id"] = json!(format!("line-{}", m["id"].as_str().unwrap()));
        m.as_object_mut().unwrap().remove("parent_id");
    }
    assert_eq!(other.import_json(&doc.to_string()).unwrap(), "line");
    assert_eq!(
        path_ids(&other, "line"),
        ["line-u0", "line-a1", "line-u3", "line-a4"]
    );
    assert_eq!(other.summary("line").unwrap().branches, 1);

    // A tree whose parent is not an earlier message of it is refused, and nothing is written.
    let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad["conversation"]["id"] = json!("bad");
    for m in bad["messages"].as_array_mut().unwrap() {
        m["conversation_id"] = json!("bad");
        m["id"] = json!(format!("bad-{}", m["id"].as_str().unwrap()));
    }
    let err = other.import_json(&bad.to_string()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Import(e) if e.contains("bad-a1 follows u0")),
        "{err}"
    );
    assert!(matches!(other.load("bad"), Err(StoreError::NotFound(_))));
}

// ---------------------------------------------------------------------------------------------
// Attachments: bytes stored once by hash, linked from the messages that name them, freed with
// the last of those, carried by the JSON export.

/// A reference to `bytes` named `name`, as a prepared file gives it (built by hand: what
/// preparing reads from a file is not under test here).
fn attachment(name: &str, bytes: &[u8]) -> tern::attach::Attachment {
    use tern::attach::{Attachment, AttachmentKind};
    let pdf = bytes.starts_with(b"%PDF-");
    Attachment {
        sha256: tern::attach::sha256_hex(bytes),
        kind: if pdf {
            AttachmentKind::Pdf
        } else {
            AttachmentKind::Text
        },
        media_type: if pdf { "application/pdf" } else { "text/plain" }.into(),
        name: name.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        pages: pdf.then_some(1),
        lines: (!pdf).then_some(3),
        original: None,
        citations: false,
    }
}

const PDF: &[u8] = b"%PDF-1.4\n% a paper about kittiwakes\n%%EOF\n";
const NOTES: &[u8] = b"fn main() {\n    println!(\"hello\");\n}\n";

fn put_command(bytes: &[u8]) -> WriteCommand {
    let a = attachment("x", bytes);
    WriteCommand::PutAttachment {
        sha256: a.sha256,
        media_type: a.media_type,
        bytes: bytes.into(),
    }
}

fn put(store: &mut Store, bytes: &[u8]) -> String {
    let failed = store.apply_batch(&[put_command(bytes)]).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    tern::attach::sha256_hex(bytes)
}

/// Conversation `id` with one prompt carrying `files` (bytes put first, as the app does) and
/// the text `text`, and a reply.
fn save_with_files(store: &mut Store, id: &str, files: &[(&str, &[u8])], text: &str) {
    store
        .create_conversation(&conversation(id, "Files", 1_000))
        .unwrap();
    let mut prompt = text_message(id, &format!("{id}-u"), 0, Role::User, text);
    let mut content = Vec::new();
    for (name, bytes) in files {
        put(store, bytes);
        content.push(ContentBlock::Attachment(attachment(name, bytes)));
    }
    content.push(ContentBlock::text(text));
    prompt.content = content;
    store.upsert_message(&prompt).unwrap();
    let mut reply = text_message(id, &format!("{id}-a"), 1, Role::Assistant, "read them");
    reply.parent_id = Some(prompt.id.clone());
    store.upsert_message(&reply).unwrap();
}

#[test]
fn attachment_bytes_are_kept_once_by_hash_and_read_back() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let sha = put(&mut store, PDF);
    // The same file again (another prompt, another process) changes nothing.
    assert_eq!(put(&mut store, PDF), sha);
    assert_eq!(store.attachment_bytes(&sha).unwrap().as_deref(), Some(PDF));
    assert_eq!(store.attachment_bytes(&"0".repeat(64)).unwrap(), None);
    // Through the owner task too, in order before the message that names it.
    let writer = StoreWriter::from_store(store, |_| {}).unwrap();
    let notes = attachment("main.rs", NOTES);
    writer
        .put_attachment(notes.sha256.clone(), notes.media_type.clone(), NOTES.into())
        .unwrap();
    writer
        .create_conversation(conversation("w", "w", 1))
        .unwrap();
    let mut m = text_message("w", "w-u", 0, Role::User, "see");
    m.content.insert(0, ContentBlock::Attachment(notes.clone()));
    writer.upsert_message(m.clone()).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(writer.flush())
        .unwrap();
    drop(writer);
    let store = Store::open_readonly(&path).unwrap();
    assert_eq!(
        store.attachment_bytes(&notes.sha256).unwrap().as_deref(),
        Some(NOTES)
    );
    assert_eq!(store.load("w").unwrap().1, [m]);
    assert_healthy(&store);
}

#[test]
fn attachment_bytes_go_with_the_last_message_that_names_them() {
    let (_dir, mut store) = new_store();
    save_with_files(&mut store, "one", &[("paper.pdf", PDF)], "summarise");
    save_with_files(&mut store, "two", &[("paper.pdf", PDF)], "again");
    let sha = tern::attach::sha256_hex(PDF);
    // Put for a prompt not sent yet (maybe by another tern): nothing names it, it stays.
    let pending = put(&mut store, NOTES);

    store.delete_conversation("one").unwrap();
    assert_eq!(store.attachment_bytes(&sha).unwrap().as_deref(), Some(PDF));
    assert!(store.attachment_bytes(&pending).unwrap().is_some());
    store.delete_conversation("two").unwrap();
    assert_eq!(store.attachment_bytes(&sha).unwrap(), None);
    assert!(
        store.attachment_bytes(&pending).unwrap().is_some(),
        "a pending attachment survives a delete"
    );

    // A branch delete frees what only that branch named.
    save_with_files(&mut store, "three", &[("paper.pdf", PDF)], "first");
    let mut edit = text_message("three", "three-e", 2, Role::User, "edited");
    edit.content
        .insert(0, ContentBlock::Attachment(attachment("main.rs", NOTES)));
    store.upsert_message(&edit).unwrap();
    store.delete_branch("three", "three-u").unwrap();
    assert_eq!(store.attachment_bytes(&sha).unwrap(), None);
    assert!(store.attachment_bytes(&pending).unwrap().is_some());
    store.delete_branch("three", "three-e").unwrap();
    assert_eq!(store.attachment_bytes(&pending).unwrap(), None);
    assert_healthy(&store);
}

#[test]
fn attachment_names_are_searchable() {
    let (_dir, mut store) = new_store();
    save_with_files(
        &mut store,
        "f",
        &[("paper.pdf", PDF), ("kittiwake_notes.rs", NOTES)],
        "what do these say?",
    );
    for query in [
        "paper.pdf",
        "paper",
        "kittiwake_notes",
        "notes.rs",
        "what say",
    ] {
        let hits = store.search(query, 5).unwrap();
        assert_eq!(hits.len(), 1, "{query}: {hits:?}");
        assert_eq!(hits[0].message_id, "f-u", "{query}");
    }
    // The reference's other fields are not text to find.
    assert!(store.search("application", 5).unwrap().is_empty());
    assert!(
        store
            .search(&tern::attach::sha256_hex(PDF), 5)
            .unwrap()
            .is_empty()
    );
    store.delete_conversation("f").unwrap();
    assert!(store.search("paper", 5).unwrap().is_empty());
    assert_healthy(&store);
}

#[test]
fn the_json_export_carries_attachment_bytes_and_imports_them() {
    let (_dir, mut store) = new_store();
    save_with_files(
        &mut store,
        "f",
        &[("paper.pdf", PDF), ("main.rs", NOTES), ("same.pdf", PDF)],
        "compare",
    );
    let json = store.export_json("f").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let pdf = tern::attach::sha256_hex(PDF);
    let notes = tern::attach::sha256_hex(NOTES);
    let files = doc["attachments"].as_object().unwrap();
    assert_eq!(files.len(), 2, "each file once: {files:?}");
    assert_eq!(files[&pdf]["media_type"], "application/pdf");
    assert_eq!(doc["messages"][0]["content"][0]["type"], "tern_attachment");
    // `tern show --json` keeps the references only.
    let line: serde_json::Value =
        serde_json::from_str(&store.export_path_json("f").unwrap()).unwrap();
    assert!(line.get("attachments").is_none(), "{line}");
    assert_eq!(line["messages"][0]["content"][0]["sha256"], pdf.as_str());

    let (_dir2, mut fresh) = new_store();
    assert_eq!(fresh.import_json(&json).unwrap(), "f");
    assert_eq!(fresh.load_tree("f").unwrap(), store.load_tree("f").unwrap());
    assert_eq!(fresh.attachment_bytes(&pdf).unwrap().as_deref(), Some(PDF));
    assert_eq!(
        fresh.attachment_bytes(&notes).unwrap().as_deref(),
        Some(NOTES)
    );
    assert_eq!(fresh.search("main.rs", 5).unwrap().len(), 1);
    // And the imported bytes are linked: they go with the conversation.
    fresh.delete_conversation("f").unwrap();
    assert_eq!(fresh.attachment_bytes(&pdf).unwrap(), None);
    assert_healthy(&fresh);
    // A conversation without attachments exports as before: no attachments key.
    save_with_files(&mut store, "plain", &[], "nothing attached");
    let plain: serde_json::Value =
        serde_json::from_str(&store.export_json("plain").unwrap()).unwrap();
    assert!(plain.get("attachments").is_none(), "{plain}");
}

#[test]
fn an_import_with_a_wrong_or_missing_attachment_is_refused_naming_it() {
    let (_dir, mut store) = new_store();
    save_with_files(
        &mut store,
        "f",
        &[("paper.pdf", PDF), ("main.rs", NOTES)],
        "hm",
    );
    let doc: serde_json::Value = serde_json::from_str(&store.export_json("f").unwrap()).unwrap();
    let notes = tern::attach::sha256_hex(NOTES);
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);

    let mut corrupt = doc.clone();
    corrupt["attachments"][&notes]["data"] = json!(b64(b"fn main() {}\n"));
    let mut missing = doc.clone();
    missing["attachments"]
        .as_object_mut()
        .unwrap()
        .remove(&notes);
    let mut garbled = doc.clone();
    garbled["attachments"][&notes]["data"] = json!("not base64 at all!");
    let (_dir2, mut fresh) = new_store();
    for (bad, says) in [
        (corrupt, "does not match"),
        (missing, "missing"),
        (garbled, "base64"),
    ] {
        let err = fresh.import_json(&bad.to_string()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Import(_)), "{err:?}");
        assert!(text.contains("main.rs"), "{text}");
        assert!(text.contains(says), "{text}");
        // Nothing is half imported.
        assert!(matches!(fresh.load("f"), Err(StoreError::NotFound(_))));
        assert_eq!(
            fresh
                .attachment_bytes(&tern::attach::sha256_hex(PDF))
                .unwrap(),
            None
        );
    }
    // A file without the bytes imports where they are already saved (a `show --json` line
    // into the database it came from, say).
    let mut line: serde_json::Value =
        serde_json::from_str(&store.export_path_json("f").unwrap()).unwrap();
    line["conversation"]["id"] = json!("g");
    for m in line["messages"].as_array_mut().unwrap() {
        m["conversation_id"] = json!("g");
        m["id"] = json!(format!("g-{}", m["id"].as_str().unwrap()));
    }
    assert_eq!(store.import_json(&line.to_string()).unwrap(), "g");
    store.delete_conversation("f").unwrap();
    assert_eq!(
        store.attachment_bytes(&notes).unwrap().as_deref(),
        Some(NOTES),
        "still named by the import"
    );
    assert_healthy(&store);
}
