//! Headless end to end: the real loop (`Session::run`) on a `TestBackend`, keys fed through a
//! channel, replies from the fake server on 127.0.0.1, saves into a temporary store.
//!
//! Each test scripts a user (television `tests/app.rs`, atuin-ai's harness): press keys, wait
//! for what should appear in the drawn frames (`Session::frames`), and finally check what the
//! server received and what the store holds. Waiting has a generous timeout; nothing asserts on
//! durations.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "common/session.rs"]
mod session;

use crossterm::event::{KeyCode, KeyModifiers};
use tern::api::Role;
use tern::driver::Start;
use tern::store::{MessageStatus, StoredMessage};

use session::{Rig, quit, request_history, status_line};

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Input words of a request as the fake server counts them (its reported `input_tokens`).
fn input_words(body: &serde_json::Value) -> u64 {
    let system = body["system"].as_str().map_or(0, words);
    system
        + request_history(body)
            .iter()
            .map(|(_, t)| words(t))
            .sum::<u64>()
}

/// `(in, out)` from "last 12 in · 34 out" in the status line.
fn last_usage_shown(text: &str) -> Option<(u64, u64)> {
    usage_after(status_line(text), "last ")
}

/// `(in, out)` from "total 12 in · 34 out" in the status line.
fn total_usage_shown(text: &str) -> Option<(u64, u64)> {
    usage_after(status_line(text), "total ")
}

fn usage_after(status: &str, label: &str) -> Option<(u64, u64)> {
    let rest = &status[status.find(label)? + label.len()..];
    let (input, rest) = rest.split_once(" in · ")?;
    let output = rest.split_once(" out")?.0;
    Some((input.parse().ok()?, output.parse().ok()?))
}

/// No C0/C1 control character other than the row separators of `screen_text`.
fn control_free(text: &str) -> bool {
    !text.chars().any(|c| c != '\n' && c.is_control())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_streams_a_reply_with_model_and_token_counts() {
    let rig = Rig::new().await;
    let mut shown = None;
    let shown_out = &mut shown;
    rig.run(Start::New, |mut user| async move {
        user.wait_text("Type a message and press Enter").await;
        let text = user
            .ask_until("hello tern, how are you?", "That is all, from")
            .await;
        assert!(text.contains("Echo from claude-sonnet-4.6"), "{text}");
        assert!(text.contains("hello tern, how are you?"), "{text}");
        assert!(text.contains("fn main() {"), "{text}");
        let status = status_line(&text);
        assert!(status.starts_with(" claude-sonnet-4.6 "), "{status}");
        let (input, output) = last_usage_shown(&text).expect("token counts in the status bar");
        *shown_out = Some((input, output));
        assert!(
            status.contains(&format!("total {input} in · {output} out")),
            "{status}"
        );
        // The reply's header shows the same counts.
        assert!(
            text.contains(&format!("{input} in · {output} out")),
            "{text}"
        );
        quit(user)
    })
    .await;

    let requests = rig.message_requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0];
    assert_eq!(body["model"], "claude-sonnet-4.6");
    assert_eq!(body["stream"], true);
    assert_eq!(
        request_history(body),
        [("user".to_owned(), "hello tern, how are you?".to_owned())]
    );

    // The counts shown are the server's: input words of the request, output words of the reply.
    let (_, messages) = rig.latest();
    let reply = &messages[1];
    let usage = reply.usage.expect("usage saved");
    assert_eq!(shown, Some((usage.input_tokens, usage.output_tokens)));
    assert_eq!(usage.input_tokens, input_words(body));
    assert_eq!(
        usage.output_tokens,
        words(&tern::api::types::plain_text(&reply.content))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_picker_switches_the_next_request_with_the_full_history() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.ask_until("first question", "Echo from claude-sonnet-4.6")
            .await;
        user.ctrl('p');
        user.wait_text("Model for the next turn").await;
        user.type_str("haiku");
        user.wait_for("the filtered list", |t| {
            t.contains("› haiku") && !t.contains("claude-opus-4.6")
        })
        .await;
        user.key(KeyCode::Enter);
        let text = user
            .wait_for("the new model in the status bar", |t| {
                status_line(t).starts_with(" claude-haiku-4.5 ")
            })
            .await;
        assert!(
            !text.contains("Model for the next turn"),
            "picker closed:\n{text}"
        );
        user.ask_until("second question", "Echo from claude-haiku-4.5")
            .await;
        quit(user)
    })
    .await;

    let requests = rig.message_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["model"], "claude-sonnet-4.6");
    assert_eq!(requests[1]["model"], "claude-haiku-4.5");
    let history = request_history(&requests[1]);
    let roles: Vec<&str> = history.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(history[0].1, "first question");
    assert!(
        history[1].1.starts_with("# Echo from claude-sonnet-4.6"),
        "{history:?}"
    );
    assert_eq!(history[2].1, "second question");

    // The store has both turns with the models that wrote them.
    let store = rig.store();
    let id = store.most_recent().unwrap().unwrap();
    let (conversation, messages) = store.load(&id).unwrap();
    assert_eq!(conversation.title, "first question");
    assert_eq!(conversation.last_model.as_deref(), Some("claude-haiku-4.5"));
    let shape: Vec<(Role, MessageStatus, Option<&str>)> = messages
        .iter()
        .map(|m| (m.role, m.status, m.model.as_deref()))
        .collect();
    assert_eq!(
        shape,
        [
            (Role::User, MessageStatus::Complete, None),
            (
                Role::Assistant,
                MessageStatus::Complete,
                Some("claude-sonnet-4.6")
            ),
            (Role::User, MessageStatus::Complete, None),
            (
                Role::Assistant,
                MessageStatus::Complete,
                Some("claude-haiku-4.5")
            ),
        ]
    );
    let summary = store.summary(&id).unwrap();
    assert_eq!(summary.models, ["claude-sonnet-4.6", "claude-haiku-4.5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_stops_a_slow_reply_and_keeps_its_text() {
    let rig = Rig::new().await;
    let mut partial = String::new();
    let partial_out = &mut partial;
    rig.run(Start::New, |mut user| async move {
        user.send("tell me a long story scenario:slow");
        user.wait_for("some streamed text", |t| {
            status_line(t).contains("streaming") && t.contains("Esc stops the reply")
        })
        .await;
        user.key(KeyCode::Esc);
        let text = user.wait_text("■ stopped").await;
        assert!(status_line(&text).contains("ready"), "{text}");
        assert!(!text.contains("Esc stops the reply"), "{text}");
        // The text that arrived stays on screen after the stop.
        let story: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("▌claude-sonnet-4.6"))
            .skip(1)
            .take_while(|l| !l.contains("■ stopped"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert!(!story.is_empty(), "no partial text:\n{text}");
        *partial_out = story.join(" ");

        // The app keeps working.
        user.ask_until("and now a short one", "Echo from claude-sonnet-4.6")
            .await;
        quit(user)
    })
    .await;

    let (_, messages) = rig.latest();
    assert_eq!(messages.len(), 4);
    let stopped = &messages[1];
    assert_eq!(stopped.status, MessageStatus::Stopped);
    let text = tern::api::types::plain_text(&stopped.content);
    assert!(
        words(&text) < 200,
        "the whole story arrived; nothing was stopped"
    );
    let first_words: Vec<&str> = partial.split_whitespace().take(3).collect();
    assert!(
        text.starts_with(&first_words.join(" ")),
        "saved {text:?}, shown {partial:?}"
    );
    // The stopped text is part of the next turn's history.
    let requests = rig.message_requests();
    let history = request_history(&requests[1]);
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[1].1, text);
    assert_eq!(messages[3].status, MessageStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_midstream_error_shows_an_error_block_and_the_app_keeps_working() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("please fail scenario:midstream-error");
        let text = user
            .wait_text("✖ the API became overloaded mid-reply")
            .await;
        assert!(text.contains("overloaded_error"), "{text}");
        assert!(text.contains("Ctrl+T retries this turn"), "{text}");
        assert!(status_line(&text).contains("ready"), "{text}");
        let text = user
            .ask_until("now answer", "Echo from claude-sonnet-4.6")
            .await;
        assert!(text.contains("now answer"), "{text}");
        quit(user)
    })
    .await;

    let (_, messages) = rig.latest();
    let failed = &messages[1];
    assert_eq!(failed.status, MessageStatus::Error);
    assert!(
        !tern::api::types::plain_text(&failed.content).is_empty(),
        "the text before the error is kept"
    );
    assert!(failed.error.as_deref().unwrap_or("").contains("overloaded"));
    assert_eq!(messages[3].status, MessageStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_shows_an_error_block_and_retry_works() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("cut me off scenario:cut");
        let text = user.wait_text("✖ the reply was cut off").await;
        assert!(
            text.contains("→ the partial reply is kept and sent as context"),
            "{text}"
        );
        user.ask_until("after the cut", "Echo from claude-sonnet-4.6")
            .await;
        quit(user)
    })
    .await;

    let requests = rig.message_requests();
    assert_eq!(requests.len(), 2, "a cut after text is not retried");
    // The text that arrived before the cut is sent back as what was said.
    let history = request_history(&requests[1]);
    let roles: Vec<&str> = history.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"], "{history:?}");
    assert!(!history[1].1.is_empty(), "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_t_retries_a_failed_turn() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("unlucky scenario:midstream-error");
        user.wait_text("✖ the API became overloaded mid-reply")
            .await;
        user.ctrl('t');
        // The retry sends the same prompt, so the same scenario fails again: a second block.
        user.wait_for("a second error block", |t| {
            t.matches("✖ the API became overloaded").count() >= 2
                && status_line(t).contains("ready")
        })
        .await;
        quit(user)
    })
    .await;
    let requests = rig.message_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(request_history(&requests[0]), request_history(&requests[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_model_never_reach_the_screen() {
    let rig = Rig::new().await;
    let seen = rig
        .run(Start::New, |mut user| async move {
            let text = user
                .ask_until("be hostile scenario:escapes", "The end, from")
                .await;
            assert!(text.contains("red text"), "{text}");
            assert!(
                !text.contains("pwned"),
                "the title sequence leaked:\n{text}"
            );
            assert!(
                !text.contains("cm0gLXJmIH4="),
                "the OSC 52 payload leaked:\n{text}"
            );
            assert!(text.contains("overwrittenVISIBLE"), "{text}");
            quit(user)
        })
        .await;
    assert!(seen.len() > 1);
    for frame in &seen {
        assert!(
            control_free(frame),
            "a control character reached a cell:\n{frame:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_q_ends_the_loop_and_the_store_holds_the_conversation() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        let before = user.ask_until("remember me", "Echo from").await;
        // Compose the second prompt in the "editor".
        user.type_str("draft");
        user.ctrl('e');
        user.wait_text("draft (edited)").await;
        user.key(KeyCode::Enter);
        let (first_total, _) = total_usage_shown(&before).expect("totals after the first reply");
        user.wait_for("the second reply", |t| {
            status_line(t).contains("│ ready")
                && total_usage_shown(t).is_some_and(|(input, _)| input > first_total)
        })
        .await;
        quit(user)
    })
    .await;

    let (conversation, messages) = rig.latest();
    assert_eq!(conversation.title, "remember me");
    assert_eq!(
        conversation.last_model.as_deref(),
        Some("claude-sonnet-4.6")
    );
    let texts: Vec<String> = messages
        .iter()
        .map(|m| tern::api::types::plain_text(&m.content))
        .collect();
    assert_eq!(texts[0], "remember me");
    assert!(texts[1].contains("Echo from claude-sonnet-4.6"));
    assert_eq!(texts[2], "draft (edited)");
    assert!(texts[3].contains("> draft (edited)"));
    for m in &messages {
        assert_eq!(m.status, MessageStatus::Complete, "{m:?}");
        if m.role == Role::Assistant {
            assert_eq!(m.model.as_deref(), Some("claude-sonnet-4.6"));
            assert!(m.usage.is_some());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_streams_into_a_background_tab() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("background story scenario:slow words:80");
        user.wait_for("the stream to start", |t| {
            status_line(t).contains("streaming")
        })
        .await;
        user.ctrl('n');
        let text = user.wait_text("2:New conversation").await;
        assert!(
            status_line(&text).contains("│ ready"),
            "tab 2 is idle:\n{text}"
        );
        // Tab 1 finishes while tab 2 is shown: it is marked unread.
        user.wait_text("1:background story scenar… ●").await;
        user.press(KeyCode::Char('1'), KeyModifiers::ALT);
        let text = user
            .wait_for("tab 1 shown", |t| t.contains("▌claude-sonnet-4.6"))
            .await;
        assert!(!text.contains('●'), "shown tabs are not unread:\n{text}");
        quit(user)
    })
    .await;
    let (_, messages) = rig.latest();
    assert_eq!(messages[1].status, MessageStatus::Complete);
    assert_eq!(
        words(&tern::api::types::plain_text(&messages[1].content)),
        80
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrolling_up_during_a_reply_holds_the_view_until_end() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("a long one scenario:long words:600");
        user.wait_for("the long reply", |t| {
            status_line(t).contains("│ ready") && last_usage_shown(t).is_some()
        })
        .await;
        user.send("and a slow one scenario:slow words:300");
        user.wait_for("the stream to start", |t| {
            status_line(t).contains("streaming")
        })
        .await;
        for _ in 0..4 {
            user.wheel(true);
        }
        let held = user.wait_text("↓ new text below (End)").await;
        assert!(
            status_line(&held).contains("streaming"),
            "the marker shows while text arrives:\n{held}"
        );
        user.key(KeyCode::End);
        let text = user
            .wait_for("the bottom followed again", |t| {
                !t.contains("new text below") && t.contains("and a slow one")
            })
            .await;
        assert!(text.contains("▌claude-sonnet-4.6"), "{text}");
        user.key(KeyCode::Esc);
        user.wait_text("■ stopped").await;
        quit(user)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_mid_reply_saves_the_partial_text_as_stopped() {
    let rig = Rig::new().await;
    let mut shown = String::new();
    let shown_out = &mut shown;
    rig.run(Start::New, |mut user| async move {
        user.send("interrupt me scenario:slow words:400");
        *shown_out = user
            .wait_for("a few words", |t| {
                status_line(t).contains("streaming") && t.contains("▌claude-sonnet-4.6")
            })
            .await;
        // The first press asks (a reply is streaming), the second confirms.
        user.ctrl('q');
        quit(user)
    })
    .await;
    let (_, messages) = rig.latest();
    assert_eq!(messages.len(), 2);
    let reply = &messages[1];
    assert_eq!(reply.status, MessageStatus::Stopped, "{reply:?}");
    let text = tern::api::types::plain_text(&reply.content);
    assert!(!text.is_empty(), "the partial text was not saved");
    assert!(words(&text) < 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_of_a_reply_goes_back_exactly_with_the_next_turn() {
    let rig = Rig::new().await;
    let prompts = [
        "look it up scenario:server-tool",
        "and privately? scenario:redacted",
        "with sources scenario:citations",
        "thanks",
    ];
    let server = &rig.server;
    rig.run(Start::New, |mut user| async move {
        user.send("/think 2048");
        user.wait_text("think 2k").await;
        // A frame from before the request was answered also reads "ready" beside the right
        // count; the total usage it shows is the one before this reply.
        let mut total_before = None;
        for (n, prompt) in prompts.iter().enumerate() {
            user.send(prompt);
            let asked = n + 1;
            let text = user
                .wait_for(&format!("reply {asked} done"), |t| {
                    status_line(t).contains("│ ready")
                        && total_usage_shown(t).is_some()
                        && total_usage_shown(t) != total_before
                        && server
                            .requests()
                            .iter()
                            .filter(|r| r.path == "/v1/messages")
                            .count()
                            == asked
                })
                .await;
            assert!(!text.contains("Error"), "{text}");
            total_before = total_usage_shown(&text);
        }
        quit(user)
    })
    .await;
    let (_, messages) = rig.latest();
    let bodies = rig.message_requests();
    assert_eq!(bodies.len(), prompts.len(), "every turn was accepted");
    let kinds = |m: &StoredMessage| -> Vec<String> {
        m.content.iter().map(|b| b.kind().to_owned()).collect()
    };
    let replies: Vec<&StoredMessage> = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect();
    assert_eq!(
        kinds(replies[0])[..4],
        [
            "thinking",
            "server_tool_use",
            "web_search_tool_result",
            "text"
        ],
        "{:?}",
        replies[0].content
    );
    assert!(kinds(replies[1]).contains(&"redacted_thinking".to_owned()));
    assert!(
        replies[2].content.iter().any(|b| matches!(
            b,
            tern::api::ContentBlock::Text { citations: Some(c), .. } if !c.is_empty()
        )),
        "{:?}",
        replies[2].content
    );
    // Request N+1 carries every reply so far, block for block, as it was saved.
    for (turn, body) in bodies.iter().enumerate().skip(1) {
        let sent = body["messages"].as_array().unwrap();
        for (i, reply) in replies[..turn].iter().enumerate() {
            let assistant = &sent[2 * i + 1];
            assert_eq!(assistant["role"], "assistant");
            assert_eq!(
                assistant["content"],
                serde_json::to_value(&reply.content).unwrap(),
                "turn {turn}, reply {i}"
            );
        }
    }
}

/// `(last, total)` from "cache r LAST/TOTAL" in the status line (tokens read from the cache,
/// as shown: `359`, `1.3k`).
fn cache_reads_shown(text: &str) -> Option<(String, String)> {
    let status = status_line(text);
    let at = status.find("│ cache r ")? + "│ cache r ".len();
    let (last, total) = status[at..].split_whitespace().next()?.split_once('/')?;
    Some((last.to_owned(), total.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twenty_turn_conversation_reads_its_history_from_the_prompt_cache() {
    let server = tern::fake::FakeServer::start(tern::fake::FakeConfig {
        min_cacheable_tokens: Some(0),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let session = tern::driver::Session::new(
        session::config(&server, dir.path()),
        Start::New,
        time::UtcOffset::UTC,
        Some(dir.path().join("tern.db")),
    )
    .unwrap();
    session::drive(session, |mut user| async move {
        user.wait_text("Type a message and press Enter").await;
        for turn in 1..=20 {
            let text = user.ask(&format!("question number {turn} of twenty")).await;
            if turn == 1 {
                assert_eq!(cache_reads_shown(&text), None, "{}", status_line(&text));
            } else {
                let (last, total) = cache_reads_shown(&text)
                    .unwrap_or_else(|| panic!("turn {turn}: {}", status_line(&text)));
                assert!(
                    last != "0" && total != "0",
                    "turn {turn}: {}",
                    status_line(&text)
                );
            }
        }
        quit(user)
    })
    .await;

    let bodies = session::message_bodies(&server);
    assert_eq!(bodies.len(), 20);
    for body in &bodies {
        let marks = body.to_string().matches("\"cache_control\"").count();
        assert!((1..=4).contains(&marks), "{body}");
    }
    let store = tern::store::Store::open(dir.path().join("tern.db")).unwrap();
    let id = store.most_recent().unwrap().unwrap();
    let (_, messages) = store.load(&id).unwrap();
    let replies: Vec<_> = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect();
    assert_eq!(replies.len(), 20);
    for (turn, reply) in replies.iter().enumerate().skip(1) {
        let usage = reply.usage.unwrap();
        assert!(
            usage.cache_read_input_tokens.unwrap_or(0) > 0,
            "turn {}: the server read nothing from the cache: {usage:?}",
            turn + 1
        );
    }
    // The marks live only in the requests, never in what is saved.
    for m in &messages {
        assert!(
            !serde_json::to_string(&m.content)
                .unwrap()
                .contains("cache_control")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_reasons_continue_resume_and_explain_a_refusal() {
    let rig = Rig::new().await;
    let server = &rig.server;
    // Ready after the n-th request, with `shown` on screen: a frame from before the request
    // was answered also reads "ready", so the count alone would pass on it.
    let asked = |n: usize, shown: &'static str| {
        move |t: &str| {
            status_line(t).contains("│ ready")
                && t.contains(shown)
                && server
                    .requests()
                    .iter()
                    .filter(|r| r.path == "/v1/messages")
                    .count()
                    == n
        }
    };
    rig.run(Start::New, |mut user| async move {
        user.send("a poem scenario:max-tokens words:30");
        let text = user
            .wait_for("cut off", asked(1, "cut off at max_tokens"))
            .await;
        assert!(text.contains("cut off at max_tokens"), "{text}");
        user.send("/continue");
        let continued = asked(2, "");
        let text = user
            .wait_for("continued", |t| {
                continued(t) && !t.contains("cut off at max_tokens")
            })
            .await;
        assert!(!text.contains("cut off at max_tokens"), "{text}");
        // A paused turn is resumed without asking.
        user.send("look it up scenario:pause-turn");
        let text = user.wait_for("resumed", asked(4, "sources")).await;
        assert!(text.contains("⌕ web search: look it up"), "{text}");
        assert!(text.contains("sources"), "{text}");
        user.send("something bad scenario:refusal");
        let text = user.wait_for("refused", asked(5, "declined")).await;
        assert!(text.contains("declined"), "{text}");
        user.send("something else");
        let text = user
            .wait_for("after the refusal", asked(6, "something else"))
            .await;
        assert!(!text.contains("Error"), "{text}");
        quit(user)
    })
    .await;
    let bodies = rig.message_requests();
    let roles = |body: &serde_json::Value| -> Vec<String> {
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap().to_owned())
            .collect()
    };
    // The continuation: the cut-off reply, then a user turn asking for the rest.
    assert_eq!(roles(&bodies[1]), ["user", "assistant", "user"]);
    // The resume: the paused reply as the final message.
    assert_eq!(
        roles(&bodies[3]).last().map(String::as_str),
        Some("assistant")
    );
    // After the refusal, its exchange is left out.
    let last = bodies[5]["messages"].as_array().unwrap();
    assert!(
        !last.iter().any(|m| m.to_string().contains("something bad")),
        "{last:?}"
    );
    let (_, messages) = rig.latest();
    let replies: Vec<&StoredMessage> = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect();
    assert_eq!(
        replies.len(),
        4,
        "continued and resumed replies stay one message each"
    );
    assert_eq!(replies[0].stop_reason.as_deref(), Some("end_turn"));
    assert!(words(&tern::api::types::plain_text(&replies[0].content)) > 30);
    let kinds: Vec<&str> = replies[1].content.iter().map(|b| b.kind()).collect();
    assert!(
        kinds.contains(&"server_tool_use") && kinds.contains(&"web_search_tool_result"),
        "{kinds:?}"
    );
    assert_eq!(replies[2].stop_reason.as_deref(), Some("refusal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_streams_each_model_saves_siblings_and_survives_a_failing_one() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.send("/compare claude-haiku-4.5 no-such-model claude-opus-4.6");
        user.wait_text("compare claude-haiku-4.5").await;
        user.send("name a seabird");
        let text = user
            .wait_for("compare done", |t| {
                status_line(t).contains("ready · /pick N")
            })
            .await;
        assert!(text.contains("1 claude-haiku-4.5"), "{text}");
        assert!(text.contains("3 claude-opus-4.6"), "{text}");
        assert!(
            text.contains("not_found_error") || text.contains("not found"),
            "{text}"
        );
        user.send("/pick 3");
        let text = user.wait_text("going on with claude-opus-4.6").await;
        assert!(text.contains("‹3/3›"), "{text}");
        quit(user)
    })
    .await;
    let store = rig.store();
    let (conversation, tree) = {
        let id = store.most_recent().unwrap().unwrap();
        store.load_tree(&id).unwrap()
    };
    let prompt = tree.iter().find(|m| m.role == Role::User).unwrap();
    let replies: Vec<&StoredMessage> = tree
        .iter()
        .filter(|m| m.parent_id.as_deref() == Some(prompt.id.as_str()))
        .collect();
    assert_eq!(replies.len(), 3, "three siblings under the prompt");
    assert_eq!(
        replies
            .iter()
            .filter(|m| m.status == tern::store::MessageStatus::Complete)
            .count(),
        2
    );
    assert_eq!(
        conversation.active_leaf.as_deref(),
        Some(replies[2].id.as_str())
    );
    let bodies = rig.message_requests();
    let mut models: Vec<&str> = bodies
        .iter()
        .map(|b| b["model"].as_str().unwrap())
        .collect();
    models.sort();
    assert_eq!(
        models,
        ["claude-haiku-4.5", "claude-opus-4.6", "no-such-model"]
    );
}

/// A rig whose config runs the fixture MCP server over stdio as `fx`.
async fn with_fixture_tools() -> Rig {
    let fixture = env!("CARGO_BIN_EXE_tern-fake-server");
    Rig::new().await.with_config(&format!(
        "[mcp_servers.fx]\ncommand = {fixture:?}\nargs = [\"mcp-stdio\"]\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_runs_on_its_mcp_server_once_allowed_and_its_result_goes_back() {
    let rig = with_fixture_tools().await;
    rig.run(Start::New, |mut user| async move {
        user.send(r#"say it scenario:call-tool tool:fx__echo args:{"text":"hello from fx"}"#);
        let text = user.wait_text("▶ run it?").await;
        assert!(text.contains("tool call: fx__echo"), "{text}");
        assert!(text.contains("\"hello from fx\""), "{text}");
        user.key(KeyCode::Char('y'));
        let text = user.wait_ready_with("Tool result for toolu_").await;
        assert!(text.contains("↳ fx__echo"), "{text}");
        // Refused: the model hears that the user declined.
        user.send(r#"again scenario:call-tool tool:fx__echo args:{"text":"no"}"#);
        user.wait_text("▶ run it?").await;
        user.key(KeyCode::Char('n'));
        let text = user.wait_ready_with("(error)").await;
        assert!(text.contains("declined"), "{text}");
        quit(user)
    })
    .await;
    let bodies = rig.message_requests();
    let tools = bodies[0]["tools"].as_array().unwrap();
    let echo = tools.iter().find(|t| t["name"] == "fx__echo").unwrap();
    assert_eq!(echo["input_schema"]["type"], "object");
    let results = bodies[1]["messages"].as_array().unwrap().last().unwrap();
    let result = &results["content"][0];
    assert_eq!(result["type"], "tool_result");
    let call = &bodies[1]["messages"].as_array().unwrap()[1]["content"][1];
    assert_eq!(result["tool_use_id"], call["id"]);
    assert_eq!(result["content"][0]["text"], "hello from fx");
    // What was said is saved: call, results, answer, in order on one path.
    let (_, messages) = rig.latest();
    let results_saved = messages
        .iter()
        .filter(|m| m.role == Role::User && !tern::app::tools::results_of(&m.content).is_empty())
        .count();
    assert_eq!(results_saved, 2, "{messages:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_cancels_a_running_tool_call_and_the_conversation_goes_on() {
    let rig = with_fixture_tools().await;
    rig.run(Start::New, |mut user| async move {
        user.send(r#"wait scenario:call-tool tool:fx__slow args:{"ms":60000}"#);
        user.wait_text("▶ run it?").await;
        user.key(KeyCode::Char('y'));
        user.wait_text("⋯ running").await;
        user.key(KeyCode::Esc);
        let text = user.wait_text("↳ fx__slow").await;
        assert!(text.contains("stopped the tool loop"), "{text}");
        // The next prompt is accepted by the (strict) server.
        let text = user.ask_until("and now?", "That is all").await;
        assert!(!text.contains("Error"), "{text}");
        quit(user)
    })
    .await;
    let bodies = rig.message_requests();
    assert_eq!(bodies.len(), 2);
    let last = bodies[1]["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["content"][0]["type"], "tool_result");
    assert_eq!(last["content"][0]["is_error"], true);
}
