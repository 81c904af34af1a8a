//! The review commands end to end: the real `tern` binary (`-p`, `list`, `show`, `search`,
//! `export`, `import`) with an isolated home, against the fake server on 127.0.0.1.
//!
//! Conversations come from real `tern -p` runs where the saving itself is under test, and are
//! written straight into the home's store (with chosen ids and times) where the listing,
//! prefix resolution or search is, so those checks are exact.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/cli.rs"]
mod cli;
mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tern::api::{ContentBlock, Usage};
use tern::fake::FakeServer;
use tern::store::{Conversation, MessageStatus, Store, StoredMessage};

use cli::{Home, server};
use common::stored::{self, T0, conversation, user_message};
use common::usage;

fn home(server: &FakeServer) -> Home {
    Home::new(&server.base_url())
}

// ─── Seeding the store ───────────────────────────────────────────────────────────────────

const HAIKU: &str = "claude-haiku-4.5";
const OPUS: &str = "claude-opus-4.6";
const SONNET: &str = "claude-sonnet-4.6";

/// A finished reply `seq` of `c` by `model`, with its usage, written at `at`.
fn answer(
    c: &Conversation,
    seq: i64,
    model: &str,
    content: Vec<ContentBlock>,
    u: Usage,
    at: i64,
) -> StoredMessage {
    let mut m = stored::answer(&c.id, seq, model, content, at);
    m.usage = Some(u);
    m
}

/// Save `c` with `messages` as one line: a message without a parent follows the one before.
fn save(store: &mut Store, mut c: Conversation, messages: &[StoredMessage]) {
    c.last_model = messages.iter().rev().find_map(|m| m.model.clone());
    store.create_conversation(&c).unwrap();
    let mut previous: Option<String> = None;
    for m in messages {
        let mut m = m.clone();
        if m.parent_id.is_none() {
            m.parent_id = previous.clone();
        }
        store.upsert_message(&m).unwrap();
        previous = Some(m.id);
    }
}

/// One turn: the question, the model that answered, its answer and usage.
type Turn<'a> = (&'a str, &'a str, &'a str, Usage);

/// Save conversation `id` titled `title`, created at `at`: turn `i`'s question at `at + 2s·i`,
/// its answer a second later.
fn save_turns(store: &mut Store, id: &str, title: &str, at: i64, turns: &[Turn]) {
    let c = conversation(id, title, at);
    let mut messages = Vec::new();
    for (i, (question, model, reply, u)) in (0..).zip(turns) {
        let asked = at + 2_000 * i;
        messages.push(user_message(id, 2 * i, question, asked));
        let content = vec![ContentBlock::text(*reply)];
        messages.push(answer(&c, 2 * i + 1, model, content, *u, asked + 1_000));
    }
    save(store, c, &messages);
}

const PELICANS: &str = "aaaa1111000000c1";
const OTTERS: &str = "aaaa2222000000c2";
const MIXED: &str = "bbbb3333000000c3";

/// Three conversations, newest first: MIXED (haiku then opus), OTTERS (sonnet), PELICANS
/// (haiku). Two ids share the prefix `aaaa`.
fn seed_three(home: &Home) {
    let mut store = home.store();
    let pelicans = (
        "tell me about pelicans",
        HAIKU,
        "Pelicans scoop fish with a throat pouch.",
        usage(5, 7),
    );
    save_turns(&mut store, PELICANS, "Pelican facts", T0, &[pelicans]);
    let otters = (
        "how do otters sleep",
        SONNET,
        "Sea otters hold paws while sleeping.",
        usage(4, 6),
    );
    save_turns(&mut store, OTTERS, "Otter habits", T0 + 10_000, &[otters]);
    save_turns(
        &mut store,
        MIXED,
        "Mixed models",
        T0 + 20_000,
        &[
            (
                "first question",
                HAIKU,
                "first answer, written by haiku",
                usage(2, 5),
            ),
            (
                "second question",
                OPUS,
                "second answer, written by opus",
                usage(12, 5),
            ),
        ],
    );
}

/// One conversation with every kind of block, cache counters, a system prompt, parameters, and
/// stopped and failed replies: what an export must carry through an import.
fn seed_rich(home: &Home) -> String {
    let mut store = home.store();
    let mut c = conversation("cafe0000000000r1", "Rich: lifetimes & tools", T0);
    c.system = Some("Be brief.\nUse examples.".into());
    c.params.max_tokens = Some(1024);
    c.params.temperature = Some(0.5);
    c.params.top_p = Some(0.9);
    let mut thought = answer(
        &c,
        1,
        HAIKU,
        vec![
            ContentBlock::Thinking {
                thinking: "They ask about lifetimes.".into(),
                signature: "sig-abc".into(),
            },
            ContentBlock::RedactedThinking {
                data: "opaque".into(),
            },
            ContentBlock::text("A lifetime:\n\n```rust\nfn f<'a>(x: &'a str) {}\n```"),
        ],
        Usage {
            input_tokens: 10,
            output_tokens: 20,
            cache_creation_input_tokens: Some(3),
            cache_read_input_tokens: Some(4),
            ..Default::default()
        },
        T0 + 1_000,
    );
    let first = user_message(&c.id, 0, "what is a lifetime?", T0);
    thought.parent_id = Some(first.id.clone());
    let mut tool = answer(
        &c,
        3,
        OPUS,
        vec![
            ContentBlock::text("Let me look."),
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"location": "Oslo", "unit": "celsius"}),
                extra: Default::default(),
            },
            ContentBlock::Unknown(json!({"type": "server_tool_use", "id": "x", "extra": [1, 2]})),
        ],
        usage(30, 8),
        T0 + 3_000,
    );
    tool.stop_reason = Some("tool_use".into());
    tool.status = MessageStatus::Stopped;
    let mut failed = answer(
        &c,
        5,
        OPUS,
        vec![ContentBlock::text("half a rep")],
        usage(40, 3),
        T0 + 5_000,
    );
    failed.status = MessageStatus::Error;
    failed.stop_reason = None;
    failed.error = Some(
        "the API became overloaded mid-reply\noverloaded_error · request-id req_1\nretry".into(),
    );
    let messages = [
        first,
        thought,
        user_message(&c.id, 2, "and the weather?", T0 + 2_000),
        tool,
        user_message(&c.id, 4, "once more", T0 + 4_000),
        failed,
    ];
    let id = c.id.clone();
    save(&mut store, c, &messages);
    id
}

// ─── Helpers ─────────────────────────────────────────────────────────────────────────────

/// The conversation ids of `tern list --json`, in order.
fn listed_ids(home: &Home) -> Vec<String> {
    let list = home.run(&["list", "--json"]).success().json();
    list.as_array()
        .expect("an array")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The one saved conversation of `home`, as `tern show ID --json` prints it.
fn the_only_conversation(home: &Home) -> Value {
    let ids = listed_ids(home);
    assert_eq!(ids.len(), 1, "{ids:?}");
    home.run(&["show", &ids[0], "--json"]).success().json()
}

/// The text blocks of a JSON message, joined.
fn text_of(message: &Value) -> String {
    message["content"]
        .as_array()
        .expect("content blocks")
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect()
}

/// An export without its `exported_at` stamp, for comparing two exports.
fn without_stamp(mut doc: Value) -> Value {
    doc.as_object_mut()
        .expect("an export object")
        .remove("exported_at")
        .expect("an exported_at stamp");
    doc
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

// ─── tern -p saves the exchange ──────────────────────────────────────────────────────────

#[test]
fn print_saves_the_prompt_and_the_reply_with_model_and_usage() {
    let server = server();
    let home = home(&server);
    let run = home.run(&["-p", "tell me about pelicans"]);
    run.success();
    let printed = run.stdout();

    let doc = the_only_conversation(&home);
    assert_eq!(doc["format"], "tern.conversation.v1");
    let c = &doc["conversation"];
    assert_eq!(c["title"], "tell me about pelicans");
    assert_eq!(c["last_model"], SONNET);
    assert_eq!(c["params"]["max_tokens"], 4096);
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{doc:#}");
    let (question, reply) = (&messages[0], &messages[1]);
    assert_eq!(question["role"], "user");
    assert_eq!(question["seq"], 0);
    assert_eq!(question["status"], "complete");
    assert_eq!(text_of(question), "tell me about pelicans");
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["seq"], 1);
    assert_eq!(reply["model"], SONNET);
    assert_eq!(reply["status"], "complete");
    assert_eq!(reply["stop_reason"], "end_turn");
    assert!(reply["error"].is_null(), "{reply:#}");
    // Exactly what was printed, and what the server counted.
    assert_eq!(text_of(reply), printed.trim_end());
    let words = printed.split_whitespace().count() as u64;
    assert_eq!(reply["usage"]["output_tokens"], words);
    assert_eq!(reply["usage"]["input_tokens"], 4, "the prompt's words");

    // The list row agrees.
    let list = home.run(&["list", "--json"]).success().json();
    assert_eq!(list[0]["message_count"], 2);
    assert_eq!(list[0]["models"], json!([SONNET]));
    assert_eq!(list[0]["input_tokens"], 4);
    assert_eq!(list[0]["output_tokens"], words);
}

#[test]
fn print_saves_flags_and_titles_from_the_first_line_of_stdin() {
    let server = server();
    let home = home(&server);
    home.run_with_stdin(
        &[
            "-m",
            HAIKU,
            "-s",
            "be terse",
            "--max-tokens",
            "77",
            "--temperature",
            "0.5",
            "-p",
            "summarise",
        ],
        "\n  piped   first line\nsecond line\n",
    )
    .success();
    let doc = the_only_conversation(&home);
    let c = &doc["conversation"];
    assert_eq!(c["title"], "piped first line");
    assert_eq!(c["system"], "be terse");
    assert_eq!(c["params"]["max_tokens"], 77);
    assert_eq!(c["params"]["temperature"], 0.5);
    assert!(c["params"]["top_p"].is_null());
    assert_eq!(c["last_model"], HAIKU);
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(
        text_of(&messages[0]),
        "\n  piped   first line\nsecond line\n\nsummarise",
        "stdin (its end trimmed), a blank line, then the words"
    );
    assert_eq!(messages[1]["model"], HAIKU);
}

#[test]
fn no_save_saves_nothing() {
    let server = server();
    let home = home(&server);
    let run = home.run(&["--no-save", "-p", "keep this off the record"]);
    run.success();
    assert!(run.stdout().contains("keep this off the record"));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(listed_ids(&home), Vec::<String>::new());
    let search = home.run(&["search", "--json", "record"]).success().json();
    assert_eq!(search, json!([]));
}

#[test]
fn a_failed_print_saves_the_partial_reply_as_an_error() {
    let server = server();
    let home = home(&server);
    let run = home.run(&["-p", "x scenario:midstream-error"]);
    let line = run
        .stderr()
        .lines()
        .find(|l| l.starts_with("tern: error:"))
        .map(str::to_owned);
    assert!(!run.ok());
    let printed = run.stdout();
    assert!(!printed.trim().is_empty(), "the partial reply was printed");

    let doc = the_only_conversation(&home);
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["status"], "complete");
    let reply = &messages[1];
    assert_eq!(reply["status"], "error", "{reply:#}");
    assert_eq!(reply["model"], SONNET);
    assert_eq!(
        text_of(reply),
        printed.trim_end(),
        "the partial text is kept"
    );
    let error = reply["error"].as_str().expect("the error text is saved");
    assert!(
        error.contains("overloaded") && error.contains("req_fake_1"),
        "{error}; stderr said {line:?}"
    );

    // `show` marks it as an error for people too.
    let shown = home
        .run(&["show", doc["conversation"]["id"].as_str().unwrap()])
        .success()
        .stdout();
    assert!(
        shown.contains("> **Error:** the API became overloaded"),
        "{shown}"
    );
}

#[test]
fn a_print_refused_before_any_text_saves_the_prompt_and_the_error() {
    let server = server();
    let home = home(&server);
    let run = home.run(&["-m", "claude-nope", "-p", "which model?"]);
    assert!(!run.ok());
    let doc = the_only_conversation(&home);
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(text_of(&messages[0]), "which model?");
    let reply = &messages[1];
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["model"], "claude-nope");
    assert_eq!(reply["content"], json!([]));
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.contains("404") && error.contains("claude-nope"),
        "{error}"
    );
}

#[test]
fn a_killed_print_reads_back_as_interrupted() {
    let server = server();
    let home = home(&server);
    let mut child = home.spawn(&["-p", "wait for me scenario:hang"]);
    // The prompt and an empty streaming reply are written before the request goes out; wait
    // until the server has the request, so both rows exist.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() {
        assert!(Instant::now() < deadline, "tern never sent its request");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let doc = the_only_conversation(&home);
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["status"], "interrupted", "{doc:#}");
    let shown = home
        .run(&["show", doc["conversation"]["id"].as_str().unwrap()])
        .success()
        .stdout();
    assert!(shown.contains("*(interrupted"), "{shown}");
}

#[test]
fn two_print_processes_at_once_both_save() {
    let server = server();
    let home = home(&server);
    let prompts = [
        "first racer scenario:slow words:20",
        "second racer scenario:slow words:20",
    ];
    let children: Vec<_> = prompts.iter().map(|p| home.spawn(&["-p", p])).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .count(),
            20
        );
    }
    let list = home.run(&["list", "--json"]).success().json();
    let mut titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, prompts);
    for c in list.as_array().unwrap() {
        let doc = home
            .run(&["show", c["id"].as_str().unwrap(), "--json"])
            .success()
            .json();
        let messages = doc["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{doc:#}");
        assert_eq!(messages[1]["status"], "complete");
        assert_eq!(text_of(&messages[1]).split_whitespace().count(), 20);
    }
    assert_eq!(
        home.store().check_integrity().unwrap(),
        Vec::<String>::new()
    );
}

// ─── tern list ───────────────────────────────────────────────────────────────────────────

#[test]
fn list_shows_newest_first_as_text() {
    let home = Home::offline();
    seed_three(&home);
    let text = home.run(&["list"]).success().stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for column in ["ID", "UPDATED", "MSGS", "TOKENS", "MODELS", "TITLE"] {
        assert!(lines[0].contains(column), "{text}");
    }
    let expect = [
        (
            "bbbb3333",
            "Mixed models",
            "4",
            "14/10",
            "claude-haiku-4.5,claude…",
        ),
        ("aaaa2222", "Otter habits", "2", "4/6", SONNET),
        ("aaaa1111", "Pelican facts", "2", "5/7", HAIKU),
    ];
    for (line, (id, title, count, tokens, models)) in lines[1..].iter().zip(expect) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], id, "{line}");
        assert_eq!(
            fields[1], "2023-11-14",
            "an old date is shown as a date: {line}"
        );
        assert_eq!(fields[2], count, "{line}");
        assert_eq!(fields[3], tokens, "{line}");
        assert_eq!(fields[4], models, "{line}");
        assert!(line.ends_with(title), "{line}");
    }

    let text = home.run(&["list", "-n", "1"]).success().stdout();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("bbbb3333"),
        "{text}"
    );
}

#[test]
fn list_json_has_every_field() {
    let home = Home::offline();
    seed_three(&home);
    let list = home.run(&["list", "--json"]).success().json();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        json!({
            "id": MIXED,
            "title": "Mixed models",
            "created_at": rfc3339(T0 + 20_000),
            "updated_at": rfc3339(T0 + 23_000),
            "message_count": 4,
            "models": [HAIKU, OPUS],
            "input_tokens": 14,
            "output_tokens": 10,
            "last_model": OPUS,
            "branches": 1,
        })
    );
    assert_eq!(rows[0]["created_at"], "2023-11-14T22:13:40Z");
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [MIXED, OTTERS, PELICANS]);
    assert_eq!(rows[2]["updated_at"], rfc3339(T0 + 1_000));

    let two = home.run(&["list", "--json", "-n", "2"]).success().json();
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(two[1]["id"], OTTERS);
}

#[test]
fn list_on_an_empty_store_says_so() {
    let home = Home::offline();
    let text = home.run(&["list"]).success().stdout();
    assert!(text.starts_with("No saved conversations yet."), "{text}");
    assert_eq!(text.lines().count(), 1);
    assert_eq!(home.run(&["list", "--json"]).success().json(), json!([]));
}

// ─── tern show ───────────────────────────────────────────────────────────────────────────

#[test]
fn show_prints_every_turn_with_its_model_by_unique_prefix() {
    let home = Home::offline();
    seed_three(&home);
    let text = home.run(&["show", "bbbb"]).success().stdout();
    assert!(text.starts_with("# Mixed models\n"), "{text}");
    assert!(
        text.contains(&format!("- Conversation: `{MIXED}`")),
        "{text}"
    );
    assert!(
        text.contains("- Models: claude-haiku-4.5, claude-opus-4.6"),
        "{text}"
    );
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        [
            "## User · 2023-11-14 22:13 UTC",
            "## Assistant · claude-haiku-4.5 · 2023-11-14 22:13 UTC",
            "## User · 2023-11-14 22:13 UTC",
            "## Assistant · claude-opus-4.6 · 2023-11-14 22:13 UTC",
        ]
    );
    let order: Vec<usize> = [
        "first question",
        "first answer, written by haiku",
        "second question",
        "second answer, written by opus",
    ]
    .iter()
    .map(|t| {
        text.find(t)
            .unwrap_or_else(|| panic!("{t} missing:\n{text}"))
    })
    .collect();
    assert!(order.is_sorted(), "turns out of order:\n{text}");

    // Case and surrounding spaces do not matter; a full id works as well as a prefix.
    assert_eq!(home.run(&["show", " AAAA1 "]).success().stdout(), {
        home.run(&["show", PELICANS]).success().stdout()
    });

    // `--json`: the active path, as a line.
    let doc = home.run(&["show", "bbbb3", "--json"]).success().json();
    assert_eq!(doc["format"], "tern.conversation.v1");
    assert_eq!(doc["conversation"]["id"], MIXED);
    let models: Vec<&Value> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["model"])
        .collect();
    assert_eq!(
        models,
        [&Value::Null, &json!(HAIKU), &Value::Null, &json!(OPUS)]
    );
}

#[test]
fn ambiguous_and_unknown_prefixes_fail_with_one_clear_line() {
    let home = Home::offline();
    seed_three(&home);
    for args in [
        &["show", "aaaa"][..],
        &["show", "aaaa", "--json"],
        &["export", "aaaa"],
        &["export", "AAAA", "--format", "json"],
    ] {
        let run = home.run(args);
        let line = run.one_error_line();
        assert!(
            line.contains("\"aaaa\" matches several conversations")
                && line.contains(PELICANS)
                && line.contains(OTTERS)
                && line.contains("type more of the id")
                && !line.contains(MIXED),
            "{args:?}: {line}"
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout());
    }
    for args in [
        &["show", "zzzz"][..],
        &["show", "bbbb33330000000c3x"],
        &["export", "zzzz", "-o", "never.md"],
        &["show", ""],
    ] {
        let run = home.run(args);
        let line = run.one_error_line();
        assert!(
            line.contains("no saved conversation matches"),
            "{args:?}: {line}"
        );
        assert!(run.stdout.is_empty());
    }
    assert!(!home.path().join("never.md").exists());
}

// ─── tern search ─────────────────────────────────────────────────────────────────────────

#[test]
fn search_finds_words_of_replies_and_prompts_by_prefix() {
    let home = Home::offline();
    seed_three(&home);

    // A word only in a reply: the reply's model is named, the match bracketed.
    let text = home.run(&["search", "throat"]).success().stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("aaaa1111  Pelican facts  (claude-haiku-4.5, 2023-11-14)"),
        "{text}"
    );
    assert_eq!(
        lines[1].trim(),
        "Pelicans scoop fish with a [throat] pouch."
    );

    // A word only in a prompt is "you".
    let text = home.run(&["search", "sleep"]).success().stdout();
    assert!(
        text.starts_with("aaaa2222  Otter habits  (you, 2023-11-14)"),
        "{text}"
    );
    assert!(text.contains("how do otters [sleep]"), "{text}");

    // Prefixes match; case does not matter; every word must occur. Titles count too
    // ("Pelican facts").
    for (query, hits) in [
        ("peli", 3),
        ("PELICAN", 3),
        ("thro", 1),
        ("pelicans pouch", 1),
        ("pelicans otters", 0),
        ("answer written", 2),
        ("answer opus", 1),
    ] {
        let found = home.run(&["search", "--json", query]).success().json();
        assert_eq!(found.as_array().unwrap().len(), hits, "{query}: {found:#}");
    }
    // Several words may also come as separate arguments.
    let found = home
        .run(&["search", "--json", "answer", "opus"])
        .success()
        .json();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["conversation_id"], MIXED);
}

#[test]
fn search_json_has_every_field_and_clean_snippets() {
    let home = Home::offline();
    seed_three(&home);
    let found = home.run(&["search", "--json", "otters"]).success().json();
    let hits = found.as_array().unwrap();
    assert_eq!(hits.len(), 2, "{found:#}");
    for hit in hits {
        let keys: Vec<&str> = hit
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "conversation_id",
                "match",
                "message_id",
                "model",
                "rank",
                "role",
                "snippet",
                "title",
                "updated_at"
            ]
        );
        assert_eq!(hit["conversation_id"], OTTERS);
        assert_eq!(hit["match"], "message");
        assert_eq!(hit["title"], "Otter habits");
        assert!(hit["rank"].is_number());
        let snippet = hit["snippet"].as_str().unwrap();
        assert!(
            !snippet.contains(['\u{1}', '\u{2}']),
            "match markers leaked: {snippet:?}"
        );
        assert!(snippet.to_lowercase().contains("otters"), "{snippet}");
    }
    let user = hits
        .iter()
        .find(|h| h["role"] == "user")
        .expect("the prompt");
    assert!(user["model"].is_null());
    assert_eq!(user["updated_at"], rfc3339(T0 + 10_000));
    assert_eq!(user["snippet"], "how do otters sleep");
    let reply = hits
        .iter()
        .find(|h| h["role"] == "assistant")
        .expect("the reply");
    assert_eq!(reply["model"], SONNET);
    assert_eq!(reply["updated_at"], rfc3339(T0 + 11_000));
    assert_ne!(user["message_id"], reply["message_id"]);
    // `-n` caps the hits.
    let one = home
        .run(&["search", "--json", "-n", "1", "otters"])
        .success()
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
}

#[test]
fn search_without_hits_says_so() {
    let home = Home::offline();
    seed_three(&home);
    let text = home.run(&["search", "zeppelin"]).success().stdout();
    assert_eq!(text, "No titles or messages match \"zeppelin\".\n");
    assert_eq!(
        home.run(&["search", "--json", "zeppelin"]).success().json(),
        json!([])
    );
    // On an empty store too.
    let empty = Home::offline();
    let text = empty.run(&["search", "anything"]).success().stdout();
    assert!(text.starts_with("No titles or messages match"), "{text}");
}

#[test]
fn search_finds_titles_also_after_a_rename() {
    let home = Home::offline();
    seed_three(&home);
    // "habits" is only in a title.
    let text = home.run(&["search", "habits"]).success().stdout();
    assert_eq!(text, "aaaa2222  Otter [habits]  (title, 2023-11-14)\n");
    let found = home.run(&["search", "--json", "habit"]).success().json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found:#}");
    assert_eq!(found[0]["match"], "title");
    assert_eq!(found[0]["conversation_id"], OTTERS);
    assert_eq!(found[0]["snippet"], "Otter habits");
    assert!(found[0]["message_id"].is_null());

    home.store().rename(OTTERS, "Sea mammal naps").unwrap();
    let found = home.run(&["search", "--json", "habits"]).success().json();
    assert_eq!(found, json!([]));
    let found = home.run(&["search", "--json", "mammal"]).success().json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found:#}");
    assert_eq!(found[0]["title"], "Sea mammal naps");
    // A title match comes before message matches.
    let found = home.run(&["search", "--json", "pelican"]).success().json();
    let kinds: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["match"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["title", "message", "message"], "{found:#}");
}

#[test]
fn hostile_search_queries_never_fail() {
    let home = Home::offline();
    seed_three(&home);
    // (query, whether it must still find the pelicans)
    let queries: &[(&str, bool)] = &[
        ("\"", false),
        ("\"pelicans", true),
        ("pelicans\"", true),
        ("\"pelicans\"", true),
        ("\"\"\"", false),
        ("*", false),
        ("peli*", true),
        ("AND", false),
        ("pelicans AND", false),
        ("OR pelicans", false),
        ("NOT", false),
        ("NEAR(pelicans pouch)", false),
        ("NEAR", false),
        ("(", false),
        (")", false),
        ("(pelicans)", true),
        ("((pelicans", true),
        ("title:pelican", false),
        ("content:pelicans", false),
        ("^pelicans", true),
        ("-pelicans", true),
        ("pelicans -otters", false),
        ("+", false),
        ("'", false),
        ("\\", false),
        ("{pelicans}", true),
        ("[", false),
        ("pelicans;", true),
        ("'; DROP TABLE messages; --", false),
        ("", false),
        ("   ", false),
        ("\u{1}\u{2}", false),
        ("🦩 pelicans", true),
    ];
    for &(query, finds) in queries {
        for json in [true, false] {
            let mut args = vec!["search"];
            if json {
                args.push("--json");
            }
            args.extend(["--", query]);
            let run = home.run(&args);
            assert!(
                run.ok() && run.stderr.is_empty(),
                "{query:?} failed: {}",
                run.stderr()
            );
            if json {
                let hits = run.json();
                let hits = hits.as_array().expect("an array");
                assert_eq!(
                    hits.iter().any(|h| h["conversation_id"] == PELICANS),
                    finds,
                    "{query:?}: {hits:#?}"
                );
            }
        }
    }
    // The store is intact afterwards.
    assert_eq!(listed_ids(&home).len(), 3);
    assert_eq!(
        home.store().check_integrity().unwrap(),
        Vec::<String>::new()
    );
}

// ─── tern export / import ────────────────────────────────────────────────────────────────

#[test]
fn export_markdown_has_the_title_and_every_turn_with_its_model() {
    let home = Home::offline();
    let id = seed_rich(&home);
    let md = home
        .run(&["export", &id[..6], "--format", "md"])
        .success()
        .stdout();
    // The default format is Markdown too.
    assert_eq!(home.run(&["export", &id]).success().stdout(), md);
    assert!(md.starts_with("# Rich: lifetimes & tools\n"), "{md}");
    for needle in [
        "- Parameters: max_tokens 1024, temperature 0.5, top_p 0.9",
        "## System prompt\n\n```text\nBe brief.\nUse examples.\n```",
        "## User · 2023-11-14 22:13 UTC\n\nwhat is a lifetime?",
        "## Assistant · claude-haiku-4.5 · 2023-11-14 22:13 UTC",
        "<details>\n<summary>Thinking</summary>\n\nThey ask about lifetimes.",
        "*(redacted thinking)*",
        "```rust\nfn f<'a>(x: &'a str) {}\n```",
        "<sub>17 input tokens · 20 output tokens · stop: end_turn</sub>",
        "## Assistant · claude-opus-4.6 · 2023-11-14 22:13 UTC",
        "**Tool call:** `get_weather`",
        "\"location\": \"Oslo\"",
        "*(stopped before the end)*",
        "half a rep",
        "> **Error:** the API became overloaded mid-reply",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert_eq!(md.matches("## Assistant · ").count(), 3, "{md}");
    assert_eq!(md.matches("## User · ").count(), 3, "{md}");
}

#[test]
fn export_to_a_file_never_overwrites_and_takes_the_format_from_the_extension() {
    let home = Home::offline();
    seed_three(&home);
    let dir = home.path().to_path_buf();
    let run = |args: &[&str]| {
        let out = home.command(args).current_dir(&dir).output().unwrap();
        cli::Run {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    };
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();

    // `.json` without --format is JSON; the full path written is named.
    let wrote = run(&["export", PELICANS, "-o", "p.json"]);
    wrote.success();
    let full = dir.join("p.json");
    assert!(
        wrote
            .stderr()
            .contains(&format!("wrote {}", full.display())),
        "{}",
        wrote.stderr()
    );
    let json: Value = serde_json::from_str(&read("p.json")).unwrap();
    assert_eq!(json["format"], "tern.conversation.v2");

    // An existing file is refused, and left as it was.
    std::fs::write(&full, "precious").unwrap();
    let line = run(&["export", PELICANS, "-o", "p.json"]).one_error_line();
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    assert!(line.contains(&full.display().to_string()), "{line}");
    assert_eq!(read("p.json"), "precious");
    // --force replaces it.
    run(&["export", PELICANS, "-o", "p.json", "--force"]).success();
    assert!(read("p.json").starts_with('{'));

    // Other extensions are markdown; --format wins over the extension.
    run(&["export", PELICANS, "-o", "p.md"]).success();
    assert!(
        read("p.md").starts_with("# Pelican facts"),
        "{}",
        read("p.md")
    );
    run(&["export", PELICANS, "-o", "p.txt"]).success();
    assert!(read("p.txt").starts_with("# Pelican facts"));
    run(&["export", PELICANS, "--format", "json", "-o", "q.md"]).success();
    assert!(read("q.md").starts_with('{'));
    // --force needs a file.
    assert!(!run(&["export", PELICANS, "--force"]).ok());
}

#[test]
fn the_browser_export_picks_a_free_name_and_says_the_full_path() {
    let dir = tempfile::tempdir().unwrap();
    let first = tern::review::write_new_file(dir.path(), "tern-abc", "md", "one").unwrap();
    assert_eq!(first, dir.path().join("tern-abc.md"));
    let second = tern::review::write_new_file(dir.path(), "tern-abc", "md", "two").unwrap();
    assert_eq!(second, dir.path().join("tern-abc-2.md"));
    std::fs::write(dir.path().join("tern-abc-3.md"), "someone else's").unwrap();
    let fourth = tern::review::write_new_file(dir.path(), "tern-abc", "md", "four").unwrap();
    assert_eq!(fourth, dir.path().join("tern-abc-4.md"));
    assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tern-abc-3.md")).unwrap(),
        "someone else's"
    );
    // A relative directory comes back as a full path.
    let here = tern::review::write_new_file(&dir.path().join("."), "x", "md", "").unwrap();
    assert!(here.is_absolute());
}

#[test]
fn export_json_to_a_file_imports_into_a_fresh_home_losslessly() {
    let server = server();
    let first = home(&server);
    let rich = seed_rich(&first);
    // Two real exchanges with wire-made blocks as well: thinking, and a tool call.
    first
        .run(&["-p", "ponder this scenario:thinking"])
        .success();
    first
        .run(&["-p", "the weather scenario:tool-use"])
        .success();
    let ids = listed_ids(&first);
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&rich));

    let second = home(&server);
    for id in &ids {
        let file = first.path().join(format!("{id}.json"));
        let file_arg = file.to_str().unwrap();
        let run = first.run(&["export", id, "--format", "json", "-o", file_arg]);
        run.success();
        assert!(
            run.stdout.is_empty(),
            "-o writes the file only: {}",
            run.stdout()
        );
        assert!(run.stderr().contains("wrote"), "{}", run.stderr());
        let exported: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(exported["format"], "tern.conversation.v2");

        let run = second.run(&["import", file_arg]);
        run.success();
        assert_eq!(run.stdout().trim(), id, "import prints the (kept) id");

        // Export again from the new home: the same conversation, messages, blocks, models,
        // usage, statuses and errors.
        let again = second
            .run(&["export", id, "--format", "json"])
            .success()
            .json();
        assert_eq!(without_stamp(again), without_stamp(exported), "{id}");
        // And `show --json` is the same document.
        let shown = second.run(&["show", id, "--json"]).success().json();
        let original = first.run(&["show", id, "--json"]).success().json();
        assert_eq!(without_stamp(shown), without_stamp(original));
    }
    // The lists agree, order and aggregates included.
    assert_eq!(
        first.run(&["list", "--json"]).success().json(),
        second.run(&["list", "--json"]).success().json()
    );
    let thinking = second.run(&["search", "--json", "ponder"]).success().json();
    assert!(
        !thinking.as_array().unwrap().is_empty(),
        "imported text is searchable"
    );
}

#[test]
fn importing_twice_is_refused_and_changes_nothing() {
    let source = Home::offline();
    let id = seed_rich(&source);
    let json = source
        .run(&["export", &id, "--format", "json"])
        .success()
        .stdout();

    let target = Home::offline();
    // `-` reads stdin.
    let run = target.run_with_stdin(&["import", "-"], &json);
    run.success();
    assert_eq!(run.stdout().trim(), id);
    let before = target.run(&["show", &id, "--json"]).success().json();

    let file = target.path().join("again.json");
    std::fs::write(&file, &json).unwrap();
    for run in [
        target.run(&["import", file.to_str().unwrap()]),
        target.run_with_stdin(&["import", "-"], &json),
    ] {
        let line = run.one_error_line();
        assert!(line.contains("already exists"), "{line}");
        assert!(line.contains("not overwritten"), "{line}");
    }
    assert_eq!(listed_ids(&target), [id.as_str()]);
    let after = target.run(&["show", &id, "--json"]).success().json();
    assert_eq!(without_stamp(after), without_stamp(before));
}

#[test]
fn importing_something_else_is_a_clear_error() {
    let home = Home::offline();
    let dir = home.path();
    let cases = [
        (
            "garbage.json",
            "this is not json",
            "not a tern conversation export",
        ),
        (
            "other.json",
            r#"{"format": "tern.conversation.v9", "conversation": {"id": "x", "title": "t", "created_at": 0, "updated_at": 0}}"#,
            "unknown format",
        ),
        ("empty.json", "", "not a tern conversation export"),
    ];
    for (name, body, expect) in cases {
        let file = dir.join(name);
        std::fs::write(&file, body).unwrap();
        let line = home
            .run(&["import", file.to_str().unwrap()])
            .one_error_line();
        assert!(line.contains(expect), "{name}: {line}");
    }
    let line = home
        .run(&["import", dir.join("missing.json").to_str().unwrap()])
        .one_error_line();
    assert!(
        line.contains("cannot read") && line.contains("missing.json"),
        "{line}"
    );
    assert_eq!(listed_ids(&home), Vec::<String>::new());
}

// ─── Output sanitising ───────────────────────────────────────────────────────────────────

/// Terminal control characters other than the line ends a terminal adds (`\r\n`).
fn controls(out: &[u8]) -> Vec<char> {
    let text = String::from_utf8_lossy(out).replace("\r\n", "\n");
    text.chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect()
}

#[test]
fn a_reply_full_of_escape_sequences_is_raw_on_a_pipe_and_clean_on_a_terminal() {
    let server = server();
    let home = home(&server);
    home.run(&["-p", "be hostile scenario:escapes"]).success();
    let id = listed_ids(&home).remove(0);

    // Piped (documented): the model's exact text, escapes included; no failure.
    let piped = home.run(&["show", &id]);
    piped.success();
    assert!(
        piped.stdout().contains("\u{1b}[31mred text"),
        "{}",
        piped.stdout()
    );
    // JSON is exact and valid.
    let doc = home.run(&["show", &id, "--json"]).success().json();
    let reply = text_of(&doc["messages"][1]);
    assert!(reply.contains("\u{1b}]0;pwned\u{7}"), "{reply:?}");
    assert!(reply.contains("\u{9b}31m"), "{reply:?}");
    let exported = home
        .run(&["export", &id, "--format", "json"])
        .success()
        .json();
    assert_eq!(text_of(&exported["messages"][1]), reply);

    // On a terminal: the text, but no control sequence reaches it.
    for args in [
        &["show", &id][..],
        &["export", &id],
        &["export", &id, "--format", "md"],
    ] {
        let run = home.run_on_tty(args);
        run.success();
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(out.contains("red text back to normal"), "{args:?}: {out:?}");
        assert!(out.contains("overwrittenVISIBLE"), "{args:?}: {out:?}");
        assert!(!out.contains("pwned"), "{args:?}: {out:?}");
        assert!(!out.contains("cm0gLXJmIH4="), "{args:?}: {out:?}");
        assert_eq!(
            controls(&run.stdout),
            Vec::<char>::new(),
            "{args:?}: {out:?}"
        );
    }
    // `search` highlights with its own escapes on a terminal, and nothing else.
    let run = home.run_on_tty(&["search", "red"]);
    run.success();
    let out = String::from_utf8_lossy(&run.stdout)
        .replace("\u{1b}[1;33m", "")
        .replace("\u{1b}[0m", "");
    assert!(out.contains("red"), "{out:?}");
    assert_eq!(controls(out.as_bytes()), Vec::<char>::new(), "{out:?}");
}

/// An export whose title and model carry terminal escapes (a crafted file, or text pasted into
/// `/title`).
fn hostile_export() -> String {
    let home = Home::offline();
    seed_three(&home);
    let mut doc = home.run(&["show", PELICANS, "--json"]).success().json();
    doc["conversation"]["title"] = json!("evil \u{1b}]0;pwned\u{7} title");
    doc["messages"][1]["model"] = json!("mod\u{1b}[31mel");
    doc.to_string()
}

#[test]
fn list_and_show_on_a_terminal_strip_escapes_from_titles_and_models() {
    let home = Home::offline();
    home.run_with_stdin(&["import", "-"], &hostile_export())
        .success();
    for args in [&["list"][..], &["show", PELICANS]] {
        let run = home.run_on_tty(args);
        run.success();
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(out.contains("title"), "{args:?}: {out:?}");
        assert!(!out.contains("pwned"), "{args:?}: {out:?}");
        assert_eq!(
            controls(&run.stdout),
            Vec::<char>::new(),
            "{args:?}: {out:?}"
        );
    }
    // JSON stays exact.
    let list = home.run(&["list", "--json"]).success().json();
    assert_eq!(list[0]["title"], "evil \u{1b}]0;pwned\u{7} title");
}

#[test]
fn search_on_a_terminal_strips_escapes_from_titles_and_models() {
    let home = Home::offline();
    home.run_with_stdin(&["import", "-"], &hostile_export())
        .success();
    let run = home.run_on_tty(&["search", "pelicans"]);
    run.success();
    // Only tern's own highlight may remain.
    let out = String::from_utf8_lossy(&run.stdout)
        .replace("\u{1b}[1;33m", "")
        .replace("\u{1b}[0m", "");
    assert!(out.contains("evil"), "{out:?}");
    assert!(
        !out.contains("pwned"),
        "the title's OSC sequence leaked: {out:?}"
    );
    assert_eq!(controls(out.as_bytes()), Vec::<char>::new(), "{out:?}");
}

// ─── Trees: show marks alternatives, show --tree, tree export, list ───────────────────────

const TREE: &str = "d00d0000000000t1";

/// A conversation with a regenerated first reply: `which bird` answered by haiku (`2…`), then
/// again by opus (`3…`), whose branch goes on with `how far` (`4…`) and a six-line answer
/// (`5…`), the active leaf.
fn seed_branched(home: &Home) {
    let mut store = home.store();
    let c = conversation(TREE, "Which bird", T0);
    store.create_conversation(&c).unwrap();
    let id = |n: u8| format!("{n}{}", "0".repeat(15));
    let mut at = T0;
    let mut add = |n: u8, parent: Option<u8>, model: Option<&str>, text: &str| {
        at += 1_000;
        let seq = i64::from(n);
        let mut m = match model {
            None => user_message(TREE, seq, text, at),
            Some(model) => answer(
                &c,
                seq,
                model,
                vec![ContentBlock::text(text)],
                usage(1, 1),
                at,
            ),
        };
        m.id = id(n);
        m.parent_id = parent.map(id);
        store.upsert_message(&m).unwrap();
    };
    add(1, None, None, "which bird migrates farthest");
    add(2, Some(1), Some(HAIKU), "the arctic tern");
    add(3, Some(1), Some(OPUS), "the bar-tailed godwit");
    add(4, Some(3), None, "how far");
    add(5, Some(4), Some(OPUS), "one\ntwo\nthree\nfour\nfive\nsix");
}

const TREE_TEXT: &str = "\
# Which bird

d00d0000000000t1 · 5 messages · 2 branches · * marks the active path

* user · 10000000
    which bird migrates farthest
    assistant · claude-haiku-4.5 · 20000000 ‹1/2›
      the arctic tern
  * assistant · claude-opus-4.6 · 30000000 ‹2/2›
      the bar-tailed godwit
  * user · 40000000
      how far
  * assistant · claude-opus-4.6 · 50000000
      one
      two
      three
      four
      … (2 more lines)
";

#[test]
fn show_prints_the_active_path_and_marks_alternatives() {
    let home = Home::offline();
    seed_branched(&home);
    let text = home.run(&["show", "d00d"]).success().stdout();
    assert!(!text.contains("arctic tern"), "another branch:\n{text}");
    for needle in [
        "## User · 2023-11-14 22:13 UTC\n\nwhich bird",
        "## Assistant · claude-opus-4.6 · 2023-11-14 22:13 UTC ‹2/2›\n\n\
         *(alternative 2 of 2; `tern show d00d0000 --tree` shows them all)*\n\n\
         the bar-tailed godwit",
        "how far",
        "six",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!(text.matches('‹').count(), 1, "{text}");
    // --json: the same path, as a line.
    let doc = home.run(&["show", "d00d", "--json"]).success().json();
    let texts: Vec<String> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(text_of)
        .collect();
    assert_eq!(texts[1], "the bar-tailed godwit");
    assert_eq!(texts.len(), 4);
}

#[test]
fn show_tree_prints_every_branch_indented_where_it_forks() {
    let home = Home::offline();
    seed_branched(&home);
    assert_eq!(
        home.run(&["show", "d00d", "--tree"]).success().stdout(),
        TREE_TEXT
    );
    // --tree --json is the tree export.
    let doc = home
        .run(&["show", "d00d", "--tree", "--json"])
        .success()
        .json();
    assert_eq!(doc["format"], "tern.conversation.v2");
    assert_eq!(doc["messages"].as_array().unwrap().len(), 5);
}

#[test]
fn a_tree_exported_as_json_imports_with_its_branches_and_active_path() {
    let home = Home::offline();
    seed_branched(&home);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.json");
    home.run(&["export", "d00d", "-o", file.to_str().unwrap()])
        .success();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["conversation"]["active_leaf"], "5000000000000000");
    assert_eq!(doc["messages"][2]["parent_id"], "1000000000000000");

    let fresh = Home::offline();
    let run = fresh.run(&["import", file.to_str().unwrap()]);
    assert_eq!(run.success().stdout().trim(), TREE);
    assert_eq!(
        fresh.run(&["show", "d00d", "--tree"]).success().stdout(),
        TREE_TEXT
    );
    assert_eq!(
        fresh.run(&["show", "d00d"]).success().stdout(),
        home.run(&["show", "d00d"]).success().stdout()
    );
    // Markdown export is the active path, with the note where alternatives exist.
    let md = fresh
        .run(&["export", "d00d", "--format", "md"])
        .success()
        .stdout();
    assert!(md.contains("*(alternative 2 of 2;"), "{md}");
    assert!(!md.contains("arctic"), "{md}");
}

#[test]
fn list_shows_how_many_branches_a_conversation_has() {
    let home = Home::offline();
    seed_three(&home);
    seed_branched(&home);
    let text = home.run(&["list"]).success().stdout();
    let line = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(&id[..8]))
            .unwrap_or_else(|| panic!("{id} missing:\n{text}"))
            .to_owned()
    };
    assert!(line(TREE).ends_with("Which bird  (2 branches)"), "{text}");
    assert!(line(MIXED).ends_with("Mixed models"), "{text}");
    let rows = home.run(&["list", "--json"]).success().json();
    let branches = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["branches"]
            .clone()
    };
    assert_eq!(branches(TREE), 2);
    assert_eq!(branches(MIXED), 1);
}

// ─── Tool calls and their results ─────────────────────────────────────────────────────────

const TOOLS: &str = "7001000000000c7a";

/// A conversation with one tool turn as the app saves it: a reply calling two tools, the user
/// message of their results (one of text and an image, with escapes a server could send; one an
/// error), and the answer that follows.
fn seed_tools(home: &Home) {
    let mut store = home.store();
    let c = conversation(TOOLS, "Notes about birds", T0);
    let question = user_message(TOOLS, 0, "what do my notes say?", T0);
    let mut call = answer(
        &c,
        1,
        SONNET,
        vec![
            ContentBlock::text("Let me read them."),
            ContentBlock::ToolUse {
                id: "toolu_01".into(),
                name: "files__read".into(),
                input: json!({"path": "notes/birds.md"}),
                extra: Default::default(),
            },
            ContentBlock::ToolUse {
                id: "toolu_02".into(),
                name: "files__stat".into(),
                input: json!({"path": "notes/fish"}),
                extra: Default::default(),
            },
        ],
        usage(20, 9),
        T0 + 1_000,
    );
    call.stop_reason = Some("tool_use".into());
    let mut results = user_message(TOOLS, 2, "", T0 + 2_000);
    results.content = vec![
        ContentBlock::Unknown(json!({
            "type": "tool_result", "tool_use_id": "toolu_01",
            "content": [
                {"type": "text", "text": "Kittiwakes nest on \u{1b}]0;pwned\u{7}sea cliffs."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "aGlkZGVuIGltYWdl"}},
            ]
        })),
        ContentBlock::Unknown(json!({
            "type": "tool_result", "tool_use_id": "toolu_02",
            "content": "no such directory: notes/fish", "is_error": true
        })),
        // One whose call is not in the conversation, with nothing to say.
        ContentBlock::Unknown(json!({
            "type": "tool_result", "tool_use_id": "toolu_gone", "content": []
        })),
    ];
    let last = answer(
        &c,
        3,
        SONNET,
        vec![ContentBlock::text(
            "Your notes say kittiwakes nest on cliffs.",
        )],
        usage(60, 12),
        T0 + 3_000,
    );
    save(&mut store, c, &[question, call, results, last]);
}

#[test]
fn show_and_export_print_tool_calls_and_their_results_by_name() {
    let home = Home::offline();
    seed_tools(&home);
    let md = home.run(&["show", TOOLS]).success().stdout();
    for needle in [
        "## Assistant · claude-sonnet-4.6 · 2023-11-14 22:13 UTC\n\nLet me read them.\n\n\
         **Tool call:** `files__read`\n\n```json\n{\n  \"path\": \"notes/birds.md\"\n}\n```",
        "**Tool call:** `files__stat`",
        "## Tool results · 2023-11-14 22:13 UTC\n\n",
        "**↳ `files__read`**\n\n```text\nKittiwakes nest on \u{1b}]0;pwned\u{7}sea cliffs.\n\
         [image image/png]\n```",
        "**↳ `files__stat` (error)**\n\n```text\nno such directory: notes/fish\n```",
        "**↳ `toolu_gone`**\n\n*(no output)*",
        "Your notes say kittiwakes",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert_eq!(md.matches("## User · ").count(), 1, "{md}");
    assert!(!md.contains("aGlkZGVuIGltYWdl"), "image data: {md}");
    // Export writes the same Markdown.
    assert_eq!(
        home.run(&["export", TOOLS, "--format", "md"])
            .success()
            .stdout(),
        md
    );

    // The tree: a line for each call and each result.
    let tree = home.run(&["show", TOOLS, "--tree"]).success().stdout();
    for needle in [
        "* assistant · claude-sonnet-4.6 · 70010000\n\
         \x20   Let me read them.\n\
         \x20   tool call: files__read {\"path\":\"notes/birds.md\"}\n\
         \x20   tool call: files__stat {\"path\":\"notes/fish\"}\n",
        "* tool results · 70010000\n\
         \x20   ↳ files__read: Kittiwakes nest on \u{1b}]0;pwned\u{7}sea cliffs.\n\
         \x20   [image image/png]\n\
         \x20   ↳ files__stat (error): no such directory: notes/fish\n\
         \x20   ↳ toolu_gone (no output)\n",
    ] {
        assert!(tree.contains(needle), "missing {needle:?} in\n{tree}");
    }

    // On a terminal the result's escape is gone, its text is not.
    for args in [
        &["show", TOOLS][..],
        &["show", TOOLS, "--tree"],
        &["export", TOOLS, "--format", "md"],
    ] {
        let run = home.run_on_tty(args);
        run.success();
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(out.contains("files__read"), "{args:?}: {out:?}");
        assert!(out.contains("sea cliffs"), "{args:?}: {out:?}");
        assert!(!out.contains("pwned"), "{args:?}: {out:?}");
        assert_eq!(
            controls(&run.stdout),
            Vec::<char>::new(),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn tool_calls_and_results_round_trip_through_json_export_and_import() {
    let home = Home::offline();
    seed_tools(&home);
    let exported = home
        .run(&["export", TOOLS, "--format", "json"])
        .success()
        .json();
    let results = &exported["messages"][2]["content"];
    assert_eq!(results[0]["type"], "tool_result");
    assert_eq!(
        results[0]["content"][1]["source"]["data"],
        "aGlkZGVuIGltYWdl"
    );
    assert_eq!(results[1]["is_error"], true);
    assert_eq!(exported["messages"][1]["content"][1]["type"], "tool_use");

    let fresh = Home::offline();
    fresh
        .run_with_stdin(&["import", "-"], &exported.to_string())
        .success();
    let again = fresh
        .run(&["export", TOOLS, "--format", "json"])
        .success()
        .json();
    assert_eq!(without_stamp(again), without_stamp(exported));
    assert_eq!(
        fresh.run(&["show", TOOLS]).success().stdout(),
        home.run(&["show", TOOLS]).success().stdout()
    );
    // What the tools said is searchable in the new home, on the results message.
    let hits = fresh
        .run(&["search", "--json", "kittiwakes cliffs"])
        .success()
        .json();
    let ids: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["message_id"].as_str())
        .collect();
    assert!(ids.contains(&format!("{TOOLS}-2").as_str()), "{hits}");
    let hits = fresh.run(&["search", "--json", "fish"]).success().json();
    assert_eq!(
        hits.as_array().unwrap().len(),
        2,
        "the call and its result: {hits}"
    );
}

// ─── Attachments ────────────────────────────────────────────────────────────────────────────

const FILES: &str = "f11e5000000000f5";

/// What a prompt with three files holds, as the app saves it: a scaled photo, a PDF whose name
/// carries an escape (names are outside text), and a source file; their bytes saved first.
fn seed_files(home: &Home) -> [tern::attach::Attachment; 3] {
    use tern::attach::{Attachment, AttachmentKind, Original};
    use tern::store::WriteCommand;
    let mut store = home.store();
    let file = |name: &str, kind, media: &str, bytes: &[u8]| Attachment {
        sha256: tern::attach::sha256_hex(bytes),
        kind,
        media_type: media.into(),
        name: name.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        pages: None,
        lines: None,
        original: None,
        citations: false,
    };
    let photo = Attachment {
        size: 1_200_000,
        width: Some(1568),
        height: Some(1176),
        original: Some(Original {
            size: 4_800_000,
            width: 4000,
            height: 3000,
        }),
        ..file(
            "shot.jpg",
            AttachmentKind::Image,
            "image/jpeg",
            b"\xff\xd8\xff photo",
        )
    };
    let paper = Attachment {
        pages: Some(12),
        ..file(
            "paper\u{1b}]0;pwned\u{7}.pdf",
            AttachmentKind::Pdf,
            "application/pdf",
            b"%PDF-1.7 twelve pages",
        )
    };
    let code = Attachment {
        lines: Some(2),
        ..file(
            "main.rs",
            AttachmentKind::Text,
            "text/plain",
            b"fn main() {}\n// two\n",
        )
    };
    let bytes: [&[u8]; 3] = [
        b"\xff\xd8\xff photo",
        b"%PDF-1.7 twelve pages",
        b"fn main() {}\n// two\n",
    ];
    for (a, b) in [&photo, &paper, &code].into_iter().zip(bytes) {
        store
            .apply_batch(&[WriteCommand::PutAttachment {
                sha256: a.sha256.clone(),
                media_type: a.media_type.clone(),
                bytes: b.into(),
            }])
            .unwrap();
    }
    let c = conversation(FILES, "Three files", T0);
    let mut question = user_message(FILES, 0, "what are these?", T0);
    question.content = vec![
        ContentBlock::Attachment(photo.clone()),
        ContentBlock::Attachment(paper.clone()),
        ContentBlock::Attachment(code.clone()),
        ContentBlock::text("what are these?"),
    ];
    let reply = answer(
        &c,
        1,
        SONNET,
        vec![ContentBlock::text("A photo, a paper and a program.")],
        usage(3000, 9),
        T0 + 1_000,
    );
    save(&mut store, c, &[question, reply]);
    [photo, paper, code]
}

#[test]
fn show_export_and_tree_name_each_attachment() {
    let home = Home::offline();
    seed_files(&home);
    let md = home.run(&["show", FILES]).success().stdout();
    let needle = "## User · 2023-11-14 22:13 UTC\n\n\
         **Attached:** ▣ shot.jpg 1.2 MB 1568×1176 (scaled from 4000×3000)\n\n\
         **Attached:** ▤ paper\u{1b}]0;pwned\u{7}.pdf 21 B 12 pages\n\n\
         **Attached:** ▤ main.rs 20 B 2 lines\n\n\
         what are these?\n\n";
    assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    assert_eq!(
        home.run(&["export", FILES, "--format", "md"])
            .success()
            .stdout(),
        md
    );
    let tree = home.run(&["show", FILES, "--tree"]).success().stdout();
    let needle = "* user · f11e5000\n\
         \x20   ▣ shot.jpg 1.2 MB 1568×1176 (scaled from 4000×3000)\n\
         \x20   ▤ paper\u{1b}]0;pwned\u{7}.pdf 21 B 12 pages\n\
         \x20   ▤ main.rs 20 B 2 lines\n\
         \x20   what are these?\n";
    assert!(tree.contains(needle), "missing {needle:?} in\n{tree}");
    // `show --json` keeps the references, never the bytes.
    for args in [
        &["show", FILES, "--json"][..],
        &["show", FILES, "--json", "--tree"],
    ] {
        let doc = home.run(args).success().json();
        assert_eq!(doc["messages"][0]["content"][0]["type"], "tern_attachment");
        assert_eq!(doc["messages"][0]["content"][1]["pages"], 12);
        assert!(doc.get("attachments").is_none(), "{args:?}: {doc}");
    }
    // On a terminal the name's escape is gone, the name is not.
    for args in [
        &["show", FILES][..],
        &["show", FILES, "--tree"],
        &["export", FILES, "--format", "md"],
    ] {
        let run = home.run_on_tty(args);
        run.success();
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(out.contains("shot.jpg 1.2 MB"), "{args:?}: {out:?}");
        assert!(out.contains("paper"), "{args:?}: {out:?}");
        assert!(!out.contains("pwned\u{7}"), "{args:?}: {out:?}");
        assert_eq!(
            controls(&run.stdout),
            Vec::<char>::new(),
            "{args:?}: {out:?}"
        );
    }
    // Searching a file name finds the prompt.
    let hits = home.run(&["search", "--json", "main.rs"]).success().json();
    assert_eq!(hits[0]["message_id"], format!("{FILES}-0"), "{hits}");
}

#[test]
fn attachments_travel_with_a_json_export_into_another_home() {
    let home = Home::offline();
    let files = seed_files(&home);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("files.json");
    home.run(&["export", FILES, "-o", file.to_str().unwrap()])
        .success();
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported["attachments"].as_object().unwrap().len(), 3);

    let fresh = Home::offline();
    fresh.run(&["import", file.to_str().unwrap()]).success();
    let again = fresh
        .run(&["export", FILES, "--format", "json"])
        .success()
        .json();
    assert_eq!(without_stamp(again), without_stamp(exported.clone()));
    let store = fresh.store();
    for a in &files {
        assert_eq!(
            store.attachment_bytes(&a.sha256).unwrap(),
            home.store().attachment_bytes(&a.sha256).unwrap(),
            "{}",
            a.name
        );
    }
    // One file whose bytes were changed on the way is refused, naming it; nothing is imported.
    let other = Home::offline();
    let mut bad = exported;
    bad["attachments"][&files[2].sha256]["data"] = json!("Zm4gbWFpbigpIHt9Cg==");
    let line = other
        .run_with_stdin(&["import", "-"], &bad.to_string())
        .one_error_line();
    assert!(line.contains("main.rs"), "{line}");
    assert!(listed_ids(&other).is_empty());
}
