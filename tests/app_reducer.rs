//! `App::update` as a pure state machine: every action, asserted on state and on the effects it
//! asks for. No terminal, no network, no clock but `app.now` (atuin-ai `fsm/tests.rs` style).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "app_reducer/attachments.rs"]
mod attachments;
mod common;
#[path = "app_reducer/thumbnails.rs"]
mod thumbnails;
#[path = "app_reducer/tool_loop.rs"]
mod tool_loop;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tern::api::types::{MessageContent, SystemPrompt};
use tern::api::{ContentBlock, Message, RetryNotice, Role};
use tern::app::{
    Action, ApiEvent, App, CodeChoice, Effect, ErrorInfo, Notice, NoticeKind, Overlay, Phase,
    PickerState, Scroll, ScrollBy, Timer,
};
use tern::store::WriteCommand;
use tern::store::{Conversation, MessageStatus, StoredMessage};

use common::stored;
use common::*;

/// (role, text) of each message of a request body.
fn history(body: &tern::api::MessagesRequest) -> Vec<(Role, String)> {
    body.messages
        .iter()
        .map(|m| {
            let text = match &m.content {
                MessageContent::Text(t) => t.clone(),
                MessageContent::Blocks(blocks) => tern::api::types::plain_text(blocks),
            };
            (m.role, text)
        })
        .collect()
}

fn notice(app: &App) -> Option<(NoticeKind, String)> {
    app.notice.as_ref().map(|n| (n.kind, n.text.clone()))
}

#[track_caller]
fn assert_notice(app: &App, kind: NoticeKind, contains: &str) {
    match notice(app) {
        Some((k, text)) => {
            assert_eq!(k, kind, "notice {text:?}");
            assert!(
                text.contains(contains),
                "notice {text:?} lacks {contains:?}"
            );
        }
        None => panic!("no notice (wanted {contains:?})"),
    }
}

/// Send `prompt`, let the reply finish with `answer`; returns the request id used.
fn turn(app: &mut App, prompt: &str, answer: &str) -> u64 {
    let (_, request, _) = the_send(&submit(app, prompt));
    reply(app, request, answer, usage(10, 20));
    assert!(!app.pane().is_busy());
    request
}

fn last(app: &App) -> &tern::app::ChatMessage {
    app.pane().messages.last().expect("a message")
}

/// A saved chat `id`: one question, one answer by `model`.
fn saved_chat(id: &str, model: &str) -> (Conversation, Vec<StoredMessage>) {
    stored::saved_conversation(id, "Saved chat", model)
}

// ─── Sending ──────────────────────────────────────────────────────────────────────────────

#[test]
fn enter_saves_conversation_and_user_message_before_sending() {
    let mut app = new_app();
    let effects = submit(&mut app, "What is a tern?");

    let kinds: Vec<&str> = effects
        .iter()
        .map(|e| match e {
            Effect::Save(WriteCommand::CreateConversation(_)) => "create",
            Effect::Save(WriteCommand::UpsertMessage(m)) if m.role == Role::User => "user",
            Effect::Save(WriteCommand::UpsertMessage(_)) => "reply",
            Effect::Send { .. } => "send",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["create", "user", "reply", "send"]);
    // And the view follows the new reply (a view command, not an effect).
    let bottom = ScrollBy::Bottom;
    assert!(matches!(app.scrolls.as_slice(), [Scroll { by, .. }] if *by == bottom));

    let Effect::Save(WriteCommand::CreateConversation(conversation)) = &effects[0] else {
        unreachable!()
    };
    assert_eq!(conversation.title, "What is a tern?");
    assert_eq!(conversation.last_model.as_deref(), Some(DEFAULT_MODEL));
    assert_eq!(conversation.id, app.pane().id());

    let user = &saved_messages(&effects)[0];
    assert_eq!(user.status, MessageStatus::Complete);
    assert_eq!(
        tern::api::types::plain_text(&user.content),
        "What is a tern?"
    );

    let (conversation_id, request, body) = the_send(&effects);
    assert_eq!(conversation_id, app.pane().id());
    assert_eq!(request, 1);
    assert_eq!(body.model, DEFAULT_MODEL);
    assert_eq!(body.max_tokens, 4096);
    assert_eq!(history(&body), [(Role::User, "What is a tern?".into())]);

    // A placeholder reply waits for the stream; the input is empty again.
    let pane = app.pane();
    assert!(pane.saved);
    assert_eq!(pane.request(), Some(1));
    assert!(matches!(pane.phase, Phase::Waiting { retry: None, .. }));
    assert_eq!(pane.messages.len(), 2);
    let placeholder = &pane.messages[1];
    assert_eq!(placeholder.role(), Role::Assistant);
    assert_eq!(placeholder.status(), MessageStatus::Streaming);
    assert_eq!(placeholder.stored.model.as_deref(), Some(DEFAULT_MODEL));
    assert!(placeholder.text.is_empty());
    assert_eq!(placeholder.stored.seq, pane.messages[0].stored.seq + 1);
    assert!(pane.input.is_empty());
    assert!(app.is_waiting());
}

#[test]
fn the_next_send_carries_the_whole_history_and_no_new_conversation() {
    let mut app = new_app();
    turn(&mut app, "first question", "first answer");
    let effects = submit(&mut app, "second question");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Save(WriteCommand::CreateConversation(_)))),
        "{effects:#?}"
    );
    let (_, request, body) = the_send(&effects);
    assert_eq!(request, 2);
    assert_eq!(
        history(&body),
        [
            (Role::User, "first question".into()),
            (Role::Assistant, "first answer".into()),
            (Role::User, "second question".into()),
        ]
    );
    let seqs: Vec<i64> = app.pane().messages.iter().map(|m| m.stored.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
}

#[test]
fn empty_or_blank_input_sends_nothing() {
    let mut app = new_app();
    assert!(io(app.update(key(KeyCode::Enter))).is_empty());
    type_str(&mut app, "   ");
    assert!(io(app.update(key(KeyCode::Enter))).is_empty());
    assert!(app.pane().messages.is_empty());
    assert!(!app.pane().saved);
}

#[test]
fn enter_while_a_reply_streams_keeps_the_input() {
    let mut app = new_app();
    submit(&mut app, "first");
    type_str(&mut app, "queued thought");
    let effects = app.update(key(KeyCode::Enter));
    assert!(sends(&effects).is_empty(), "{effects:#?}");
    assert!(saved_messages(&effects).is_empty());
    assert_eq!(app.pane().input_text(), "queued thought");
    assert_eq!(app.pane().messages.len(), 2);
    assert_notice(&app, NoticeKind::Info, "Esc stops it");
}

#[test]
fn alt_enter_ctrl_j_and_shift_enter_add_lines() {
    let mut app = new_app();
    type_str(&mut app, "one");
    assert!(io(app.update(alt(KeyCode::Enter))).is_empty());
    type_str(&mut app, "two");
    assert!(io(app.update(ctrl('j'))).is_empty());
    type_str(&mut app, "three");
    assert!(io(app.update(press(KeyCode::Enter, KeyModifiers::SHIFT))).is_empty());
    type_str(&mut app, "four");
    assert_eq!(app.pane().input_text(), "one\ntwo\nthree\nfour");
    let (_, _, body) = the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(history(&body)[0].1, "one\ntwo\nthree\nfour");
}

#[test]
fn key_releases_and_resizes_change_nothing() {
    let mut app = new_app();
    let mut release = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(io(app.update(Action::Key(release))).is_empty());
    assert!(io(app.update(Action::Resize)).is_empty());
    assert!(app.pane().input.is_empty());
}

#[test]
fn thinking_deltas_grow_a_thinking_block_saved_with_the_reply() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "think first"));
    api(&mut app, request, ApiEvent::Thinking("Let me ".into()));
    api(&mut app, request, ApiEvent::Thinking("see.".into()));
    api(&mut app, request, ApiEvent::Text("Answer".into()));
    let saved = saved_messages(&app.update(key(KeyCode::Esc)));
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].content,
        [
            ContentBlock::Thinking {
                thinking: "Let me see.".into(),
                signature: String::new(),
            },
            ContentBlock::text("Answer"),
        ]
    );
}

// ─── Stopping, interrupting, quitting ────────────────────────────────────────────────────

#[test]
fn esc_while_streaming_cancels_and_keeps_the_text_as_stopped() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "tell me a story"));
    api(&mut app, request, ApiEvent::Text("Once upon".into()));
    let effects = app.update(key(KeyCode::Esc));

    assert_eq!(effects[0], Effect::Cancel(request));
    let saved = saved_messages(&effects);
    assert_eq!(saved.len(), 1, "{effects:#?}");
    assert_eq!(saved[0].status, MessageStatus::Stopped);
    assert_eq!(tern::api::types::plain_text(&saved[0].content), "Once upon");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Quit)));

    let pane = app.pane();
    assert_eq!(pane.request(), None);
    assert_eq!(pane.phase, Phase::Idle);
    assert_eq!(last(&app).status(), MessageStatus::Stopped);
    assert_eq!(last(&app).text, "Once upon");

    // Late events of the stopped request are ignored.
    assert!(api(&mut app, request, ApiEvent::Text(" a time".into())).is_empty());
    assert!(api(&mut app, request, finished(DEFAULT_MODEL, "x", usage(1, 1))).is_empty());
    assert_eq!(last(&app).text, "Once upon");
    assert_eq!(last(&app).status(), MessageStatus::Stopped);

    // A stopped reply with text is part of the next turn's history.
    let (_, _, body) = the_send(&submit(&mut app, "go on"));
    assert_eq!(
        history(&body),
        [
            (Role::User, "tell me a story".into()),
            (Role::Assistant, "Once upon".into()),
            (Role::User, "go on".into()),
        ]
    );
}

#[test]
fn ctrl_c_while_streaming_stops_the_reply_and_keeps_the_input() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hello"));
    type_str(&mut app, "draft");
    let effects = app.update(ctrl('c'));
    assert_eq!(effects[0], Effect::Cancel(request));
    assert!(!app.should_quit);
    assert_eq!(last(&app).status(), MessageStatus::Stopped);
    assert_eq!(app.pane().input_text(), "draft");
}

#[test]
fn esc_when_idle_does_nothing() {
    let mut app = new_app();
    type_str(&mut app, "draft");
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(app.pane().input_text(), "draft");
    assert!(!app.should_quit);
}

#[test]
fn ctrl_c_clears_a_draft_and_up_brings_it_back() {
    let mut app = new_app();
    type_str(&mut app, "a long\ncareful draft");
    assert!(io(app.update(ctrl('c'))).is_empty());
    assert!(app.pane().input.is_empty());
    assert!(!app.should_quit);
    assert_notice(&app, NoticeKind::Info, "draft cleared — ↑ brings it back");

    assert!(io(app.update(key(KeyCode::Up))).is_empty());
    assert_eq!(app.pane().input_text(), "a long\ncareful draft");
}

#[test]
fn ctrl_c_on_an_empty_input_quits_only_when_pressed_again_within_a_second() {
    let mut app = new_app();
    assert!(io(app.update(ctrl('c'))).is_empty());
    assert!(!app.should_quit);
    assert_notice(&app, NoticeKind::Info, "press Ctrl+C again to quit");

    // Too late: it asks again.
    app.now += Duration::from_millis(1500);
    assert!(io(app.update(ctrl('c'))).is_empty());
    assert!(!app.should_quit);

    app.now += Duration::from_millis(900);
    assert_eq!(app.update(ctrl('c')), [Effect::Quit]);
    assert!(app.should_quit);
}

#[test]
fn ctrl_c_twice_during_a_reply_stops_it_and_does_not_quit() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hello"));
    api(&mut app, request, ApiEvent::Text("Hel".into()));
    let first = app.update(ctrl('c'));
    assert_eq!(first[0], Effect::Cancel(request));
    let second = io(app.update(ctrl('c')));
    assert!(second.is_empty(), "{second:?}");
    assert!(!app.should_quit);
    assert_eq!(last(&app).status(), MessageStatus::Stopped);
    assert_notice(&app, NoticeKind::Info, "press Ctrl+C again to quit");
    // Only a third press, right after, quits.
    assert_eq!(app.update(ctrl('c')), [Effect::Quit]);
}

#[test]
fn ctrl_q_with_nothing_at_risk_quits_at_once() {
    let mut app = new_app();
    turn(&mut app, "one", "answer");
    assert_eq!(app.update(ctrl('q')), [Effect::Quit]);
    assert!(app.should_quit);
}

#[test]
fn ctrl_q_with_a_streaming_reply_asks_once() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hello"));
    assert!(io(app.update(ctrl('q'))).is_empty());
    assert!(!app.should_quit);
    assert!(app.pane().is_busy(), "the reply goes on");
    assert_notice(
        &app,
        NoticeKind::Info,
        "press Ctrl+Q again to quit: a reply is streaming",
    );

    // Any other key in between cancels the question.
    let _ = app.update(alt(KeyCode::Up));
    assert!(io(app.update(ctrl('q'))).is_empty());
    assert!(!app.should_quit);

    app.now += Duration::from_millis(600);
    let effects = app.update(ctrl('q'));
    assert_eq!(effects[0], Effect::Cancel(request));
    assert_eq!(effects.last(), Some(&Effect::Quit));
    assert!(app.should_quit);
}

#[test]
fn ctrl_q_with_a_draft_in_any_tab_asks_once() {
    let mut app = new_app();
    type_str(&mut app, "half a thought");
    let _ = app.update(ctrl('n'));
    assert!(io(app.update(ctrl('q'))).is_empty());
    assert!(!app.should_quit);
    assert_notice(
        &app,
        NoticeKind::Info,
        "press Ctrl+Q again to quit: tab 1 has an unsent draft",
    );
    assert_eq!(app.update(ctrl('q')), [Effect::Quit]);
}

#[test]
fn ctrl_q_quits_and_stops_every_stream_even_from_a_popup() {
    let mut app = new_app();
    let (_, first, _) = the_send(&submit(&mut app, "one"));
    let _ = app.update(ctrl('n'));
    let (_, second, _) = the_send(&submit(&mut app, "two"));
    let _ = app.update(key(KeyCode::F(1)));
    assert!(io(app.update(ctrl('q'))).is_empty(), "asks first");
    let effects = app.update(ctrl('q'));
    assert!(effects.contains(&Effect::Cancel(first)));
    assert!(effects.contains(&Effect::Cancel(second)));
    assert_eq!(effects.last(), Some(&Effect::Quit));
    assert_eq!(saved_messages(&effects).len(), 2);
    assert!(app.should_quit);
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.is_waiting());
}

#[test]
fn terminate_stops_streams_saves_partial_text_and_quits() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "long story"));
    api(&mut app, request, ApiEvent::Text("The beginning".into()));
    let effects = app.update(Action::Terminate);
    assert_eq!(effects[0], Effect::Cancel(request));
    let saved = saved_messages(&effects);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].status, MessageStatus::Stopped);
    assert_eq!(
        tern::api::types::plain_text(&saved[0].content),
        "The beginning"
    );
    assert_eq!(effects.last(), Some(&Effect::Quit));
    assert!(app.should_quit);
}

#[test]
fn terminate_when_idle_just_quits() {
    let mut app = new_app();
    assert_eq!(app.update(Action::Terminate), [Effect::Quit]);
    assert!(app.should_quit);
}

// ─── Stream events ────────────────────────────────────────────────────────────────────────

#[test]
fn stream_events_fill_the_reply_status_and_usage() {
    let mut app = new_app();
    let t0 = app.now;
    let (_, request, _) = the_send(&submit(&mut app, "hi"));

    let _ = app.update(Action::Api {
        conversation: app.pane().id().to_owned(),
        request,
        event: ApiEvent::Retrying(RetryNotice {
            attempt: 1,
            max_retries: 2,
            delay: Duration::from_millis(500),
            cause: unauthorized(),
        }),
    });
    assert!(matches!(
        &app.pane().phase,
        Phase::Waiting { retry: Some(r), .. } if r.attempt == 1 && r.max_retries == 2
    ));

    api(&mut app, request, started(12));
    assert_eq!(last(&app).stored.usage, Some(usage(12, 1)));
    assert!(matches!(app.pane().phase, Phase::Waiting { .. }));

    app.now = t0 + Duration::from_millis(300);
    let v = last(&app).version;
    api(&mut app, request, ApiEvent::Text("Hello".into()));
    assert_eq!(last(&app).text, "Hello");
    assert!(last(&app).version > v);
    assert_eq!(
        app.pane().phase,
        Phase::Streaming {
            request,
            since: t0,
            first_text: t0 + Duration::from_millis(300),
            chars: 5,
        }
    );
    api(&mut app, request, ApiEvent::Text(", wörld".into()));
    assert_eq!(last(&app).text, "Hello, wörld");
    assert!(matches!(
        app.pane().phase,
        Phase::Streaming { chars: 12, .. }
    ));
    assert_eq!(last(&app).status(), MessageStatus::Streaming);

    api(&mut app, request, ApiEvent::Usage(usage(12, 7)));
    assert_eq!(last(&app).stored.usage, Some(usage(12, 7)));

    let effects = api(
        &mut app,
        request,
        finished(DEFAULT_MODEL, "Hello, world!", usage(12, 8)),
    );
    let saved = saved_messages(&effects);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].status, MessageStatus::Complete);
    assert_eq!(saved[0].stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(saved[0].usage, Some(usage(12, 8)));

    let message = last(&app);
    assert_eq!(message.status(), MessageStatus::Complete);
    // The accumulated message is the truth once the stream is done.
    assert_eq!(message.text, "Hello, world!");
    assert_eq!(message.stored.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(app.pane().phase, Phase::Idle);
    assert_eq!(app.pane().request(), None);
    assert!(!app.is_waiting());
    let (model, tokens) = app.pane().last_usage().unwrap();
    assert_eq!(
        (model, tokens.usage, tokens.estimated),
        (DEFAULT_MODEL, usage(12, 8), false)
    );

    turn(&mut app, "again", "more");
    let totals = app.pane().totals();
    assert_eq!(
        (totals.usage.input_tokens, totals.usage.output_tokens),
        (12 + 10, 8 + 20)
    );
    assert!(!totals.estimated);
}

#[test]
fn output_tokens_are_estimated_from_the_text_until_the_server_counts_them() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hi"));
    api(&mut app, request, started(12));
    api(&mut app, request, ApiEvent::Text("x".repeat(40)));
    let tokens = last(&app).tokens().unwrap();
    assert_eq!(
        (tokens.usage.input_tokens, tokens.usage.output_tokens),
        (12, 10)
    );
    assert!(tokens.estimated);
    let (_, shown) = app.pane().last_usage().unwrap();
    assert_eq!((shown.usage.output_tokens, shown.estimated), (10, true));
    assert!(app.pane().totals().estimated);

    // The server's count replaces the estimate, even when smaller.
    api(&mut app, request, ApiEvent::Usage(usage(12, 7)));
    let tokens = last(&app).tokens().unwrap();
    assert_eq!((tokens.usage.output_tokens, tokens.estimated), (7, false));
    api(
        &mut app,
        request,
        finished(DEFAULT_MODEL, &"x".repeat(40), usage(12, 7)),
    );
    assert!(!app.pane().totals().estimated);
}

#[test]
fn a_stopped_reply_keeps_an_estimate_also_when_reopened() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hi"));
    api(&mut app, request, started(12));
    api(&mut app, request, ApiEvent::Text("y".repeat(41)));
    let effects = app.update(key(KeyCode::Esc));
    let tokens = last(&app).tokens().unwrap();
    assert_eq!((tokens.usage.output_tokens, tokens.estimated), (11, true));

    // Reopened from the store (which keeps the server's 1), still estimated.
    let stopped = saved_messages(&effects).remove(0);
    let user = app.pane().messages[0].stored.clone();
    let conversation = app.pane().conversation.clone();
    // Another session: other ids (the same seed would make its empty tab this conversation).
    let mut other = App::new(
        settings(true),
        Instant::now(),
        stored::T0,
        tern::app::Ids::seeded(2),
    );
    let _ = other.update(Action::OpenSaved {
        conversation,
        messages: vec![user, stopped],
    });
    let tokens = other.pane().messages[1].tokens().unwrap();
    assert_eq!((tokens.usage.output_tokens, tokens.estimated), (11, true));

    // A reply with no text and no usage has no figures at all.
    let (_, request, _) = the_send(&submit(&mut app, "again"));
    assert_eq!(last(&app).tokens(), None);
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(last(&app).tokens(), None);
    let _ = request;
}

#[test]
fn events_for_unknown_requests_or_conversations_are_ignored() {
    let mut app = new_app();
    let (conversation, request, _) = the_send(&submit(&mut app, "hi"));
    let before = last(&app).version;
    for (conversation, request) in [
        (conversation.clone(), request + 1),
        ("no-such-conversation".to_owned(), request),
    ] {
        let effects = app.update(Action::Api {
            conversation,
            request,
            event: ApiEvent::Text("ghost".into()),
        });
        assert!(effects.is_empty());
        let effects = app.update(Action::Api {
            conversation: "x".into(),
            request,
            event: failed(unauthorized()),
        });
        assert!(effects.is_empty());
    }
    assert_eq!(last(&app).version, before);
    assert!(last(&app).text.is_empty());
    assert!(app.pane().is_busy());
}

#[test]
fn a_failed_request_shows_an_error_and_keeps_the_prompt() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hi"));
    let effects = api(&mut app, request, failed(unauthorized()));
    let saved = saved_messages(&effects);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].status, MessageStatus::Error);
    let stored_error = saved[0].error.clone().expect("the error is saved");

    let message = last(&app);
    assert_eq!(message.status(), MessageStatus::Error);
    let info = message.error.clone().expect("error info");
    assert_eq!(info, ErrorInfo::from_api(&unauthorized()));
    assert!(info.headline.contains("authentication failed"), "{info:?}");
    assert!(info.details.iter().any(|d| d.contains("HTTP 401")));
    assert!(info.details.iter().any(|d| d.contains("invalid x-api-key")));
    assert!(
        info.details
            .iter()
            .any(|d| d.contains("req_011CTestRequest"))
    );
    assert!(info.advice.contains("APIFREE_API_KEY"));
    assert_eq!(ErrorInfo::from_stored(&stored_error), info);

    assert_eq!(app.pane().phase, Phase::Idle);
    assert!(!app.pane().is_busy());
    assert_eq!(app.pane().messages[0].text, "hi");
}

#[test]
fn a_midstream_failure_keeps_the_partial_text_and_usage() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hi"));
    api(&mut app, request, ApiEvent::Text("Half a rep".into()));
    let partial = Message {
        content: vec![ContentBlock::text("Half a rep")],
        usage: usage(5, 3),
        role: Role::Assistant,
        ..Message::default()
    };
    let effects = api(
        &mut app,
        request,
        ApiEvent::Failed {
            error: overloaded_midstream(),
            partial: Some(Box::new(partial)),
        },
    );
    let saved = saved_messages(&effects);
    assert_eq!(saved[0].status, MessageStatus::Error);
    assert_eq!(
        tern::api::types::plain_text(&saved[0].content),
        "Half a rep"
    );
    assert_eq!(saved[0].usage, Some(usage(5, 3)));
    let message = last(&app);
    assert_eq!(message.text, "Half a rep");
    assert_eq!(message.stored.usage, Some(usage(5, 3)));
    assert!(
        message
            .error
            .as_ref()
            .is_some_and(|e| e.headline.contains("overloaded mid-reply"))
    );
}

#[test]
fn a_reply_with_text_is_sent_back_however_it_ended_and_one_without_is_left_out() {
    let mut app = new_app();
    // Failed mid-stream after some text: sent back as what was said, and the words say so.
    let (_, request, _) = the_send(&submit(&mut app, "first"));
    api(&mut app, request, ApiEvent::Text("Half a rep".into()));
    api(&mut app, request, failed(overloaded_midstream()));
    let advice = last(&app).error.clone().unwrap().advice;
    assert!(
        advice.contains("the partial reply is kept and sent as context"),
        "{advice}"
    );
    let (_, request, body) = the_send(&submit(&mut app, "second"));
    assert_eq!(
        history(&body),
        [
            (Role::User, "first".into()),
            (Role::Assistant, "Half a rep".into()),
            (Role::User, "second".into()),
        ]
    );
    // Failed before any text: nothing is said to be kept, the reply is left out, and its
    // prompt joins the next one so two user turns never follow each other.
    api(&mut app, request, failed(overloaded_midstream()));
    let advice = last(&app).error.clone().unwrap().advice;
    assert!(!advice.contains("partial"), "{advice}");
    let (_, request, body) = the_send(&submit(&mut app, "third"));
    assert_eq!(
        history(&body),
        [
            (Role::User, "first".into()),
            (Role::Assistant, "Half a rep".into()),
            (Role::User, "second\n\nthird".into()),
        ]
    );
    // Stopped with Esc after some text: sent back the same way.
    api(&mut app, request, ApiEvent::Text("Stopped he".into()));
    let _ = app.update(key(KeyCode::Esc));
    let (_, _, body) = the_send(&submit(&mut app, "fourth"));
    let texts: Vec<String> = history(&body).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "first",
            "Half a rep",
            "second\n\nthird",
            "Stopped he",
            "fourth"
        ]
    );
}

#[test]
fn ctrl_t_retries_a_failed_turn_without_the_failed_reply() {
    let mut app = new_app();
    turn(&mut app, "first", "answer one");
    let (_, request, _) = the_send(&submit(&mut app, "second"));
    api(&mut app, request, ApiEvent::Text("garbl".into()));
    api(&mut app, request, failed(overloaded_midstream()));
    let effects = app.update(ctrl('t'));
    let (_, retry, body) = the_send(&effects);
    assert_ne!(retry, request);
    assert_eq!(
        history(&body),
        [
            (Role::User, "first".into()),
            (Role::Assistant, "answer one".into()),
            (Role::User, "second".into()),
        ]
    );
    // The retry is a new placeholder after the failed reply, which stays visible.
    let placeholder = saved_messages(&effects);
    assert_eq!(placeholder.len(), 1);
    assert_eq!(placeholder[0].status, MessageStatus::Streaming);
    let pane = app.pane();
    assert_eq!(pane.messages.len(), 5);
    assert_eq!(pane.messages[3].status(), MessageStatus::Error);
    assert_eq!(pane.messages[4].status(), MessageStatus::Streaming);
    assert_eq!(pane.request(), Some(retry));

    // Retrying while that runs does nothing; finishing it makes it part of the history.
    assert!(io(app.update(ctrl('t'))).is_empty());
    reply(&mut app, retry, "answer two", usage(1, 1));
    let (_, _, body) = the_send(&submit(&mut app, "third"));
    assert_eq!(
        history(&body)
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>(),
        ["first", "answer one", "second", "answer two", "third"]
    );
}

#[test]
fn ctrl_t_after_a_good_turn_only_explains() {
    let mut app = new_app();
    assert!(io(app.update(ctrl('t'))).is_empty());
    assert_notice(&app, NoticeKind::Info, "nothing to retry");
    turn(&mut app, "q", "a");
    assert!(io(app.update(ctrl('t'))).is_empty());
    assert_eq!(app.pane().messages.len(), 2);
}

// ─── Flushing the streaming reply ─────────────────────────────────────────────────────────

#[test]
fn the_streaming_reply_is_saved_at_most_once_a_second_and_at_the_end() {
    let mut app = new_app();
    let t0 = app.now;
    let (_, request, _) = the_send(&submit(&mut app, "stream please"));
    let mut flushes = Vec::new();
    for (ms, piece) in [
        (100, "a"),
        (500, "b"),
        (999, "c"),
        (1000, "d"),
        (1500, "e"),
        (1999, "f"),
        (2100, "g"),
        (2200, "h"),
    ] {
        app.now = t0 + Duration::from_millis(ms);
        let saved = saved_messages(&api(&mut app, request, ApiEvent::Text(piece.into())));
        assert!(saved.len() <= 1);
        if let Some(m) = saved.first() {
            assert_eq!(m.status, MessageStatus::Streaming);
            flushes.push((ms, tern::api::types::plain_text(&m.content)));
        }
    }
    assert_eq!(
        flushes,
        [(1000, "abcd".to_owned()), (2100, "abcdefg".to_owned())]
    );
    app.now = t0 + Duration::from_millis(2300);
    let saved = saved_messages(&api(
        &mut app,
        request,
        finished(DEFAULT_MODEL, "abcdefgh", usage(1, 8)),
    ));
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].status, MessageStatus::Complete);
    assert_eq!(tern::api::types::plain_text(&saved[0].content), "abcdefgh");
}

#[test]
fn stop_and_error_flush_immediately() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "one"));
    assert!(saved_messages(&api(&mut app, request, ApiEvent::Text("x".into()))).is_empty());
    assert_eq!(saved_messages(&app.update(key(KeyCode::Esc))).len(), 1);

    let (_, request, _) = the_send(&submit(&mut app, "two"));
    assert!(saved_messages(&api(&mut app, request, ApiEvent::Text("y".into()))).is_empty());
    let saved = saved_messages(&api(&mut app, request, failed(overloaded_midstream())));
    assert_eq!(saved.len(), 1);
    assert_eq!(tern::api::types::plain_text(&saved[0].content), "y");
}

// ─── Model picker ─────────────────────────────────────────────────────────────────────────

#[test]
fn ctrl_p_opens_the_picker_on_the_current_model() {
    let mut app = new_app();
    assert!(io(app.update(ctrl('p'))).is_empty());
    let current = app.models.iter().position(|m| m == DEFAULT_MODEL).unwrap();
    assert_eq!(
        app.overlay,
        Overlay::ModelPicker(PickerState {
            filter: String::new(),
            selected: current,
        })
    );
}

#[test]
fn picker_filter_and_enter_change_the_model_of_the_next_turn() {
    let mut app = new_app();
    turn(&mut app, "first", "answer");
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "haiku");
    let Overlay::ModelPicker(picker) = &app.overlay else {
        panic!("picker closed: {:?}", app.overlay)
    };
    assert_eq!(picker.filter, "haiku");
    assert_eq!(picker.selected, 0);
    assert_eq!(app.filtered_models("haiku"), ["claude-haiku-4.5"]);

    let effects = io(app.update(key(KeyCode::Enter)));
    assert_eq!(app.overlay, Overlay::None);
    assert_eq!(app.pane().model, "claude-haiku-4.5");
    // The conversation exists already, so its new model is saved.
    let [Effect::Save(WriteCommand::UpdateConversation(c))] = effects.as_slice() else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.last_model.as_deref(), Some("claude-haiku-4.5"));
    assert_notice(&app, NoticeKind::Info, "claude-haiku-4.5");

    let (_, _, body) = the_send(&submit(&mut app, "second"));
    assert_eq!(body.model, "claude-haiku-4.5");
    assert_eq!(
        history(&body),
        [
            (Role::User, "first".into()),
            (Role::Assistant, "answer".into()),
            (Role::User, "second".into()),
        ]
    );
    assert_eq!(last(&app).stored.model.as_deref(), Some("claude-haiku-4.5"));
    // Earlier replies keep the model that wrote them.
    assert_eq!(
        app.pane().messages[1].stored.model.as_deref(),
        Some(DEFAULT_MODEL)
    );
}

#[test]
fn picker_arrows_move_and_wrap_within_the_filtered_list() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "sonnet");
    let matching = app.filtered_models("sonnet");
    assert_eq!(
        matching,
        ["claude-sonnet-4", "claude-sonnet-4.6", "claude-sonnet-4.5"]
    );
    let selected = |app: &App| match &app.overlay {
        Overlay::ModelPicker(p) => p.selected,
        other => panic!("{other:?}"),
    };
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(selected(&app), 2);
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(selected(&app), 0, "Down wraps to the top");
    let _ = app.update(key(KeyCode::Up));
    assert_eq!(selected(&app), 2, "Up wraps to the bottom");
    let _ = app.update(key(KeyCode::Up));
    // Backspace widens the filter and resets the selection.
    let _ = app.update(key(KeyCode::Backspace));
    assert!(
        matches!(&app.overlay, Overlay::ModelPicker(p) if p.filter == "sonne" && p.selected == 0)
    );
    let _ = app.update(key(KeyCode::Char('t')));
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::Enter));
    assert_eq!(app.pane().model, "claude-sonnet-4.6");
}

#[test]
fn picker_esc_cancels_also_with_a_filter_matching_nothing() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "zzz");
    assert!(app.filtered_models("zzz").is_empty());
    assert!(matches!(app.overlay, Overlay::ModelPicker(_)));
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(app.overlay, Overlay::None);
    assert_eq!(app.pane().model, DEFAULT_MODEL);
    // Keys typed in the picker never reached the input.
    assert!(app.pane().input.is_empty());

    // Ctrl+C closes it too, without quitting.
    let _ = app.update(ctrl('p'));
    let _ = app.update(ctrl('c'));
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.should_quit);
}

#[test]
fn picker_on_a_new_conversation_saves_nothing_yet() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "opus4.5");
    let effects = io(app.update(key(KeyCode::Enter)));
    assert!(effects.is_empty(), "{effects:#?}");
    assert_eq!(app.pane().model, "claude-opus-4.5");
    let effects = submit(&mut app, "hi");
    let Effect::Save(WriteCommand::CreateConversation(c)) = &effects[0] else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.last_model.as_deref(), Some("claude-opus-4.5"));
    assert_eq!(the_send(&effects).2.model, "claude-opus-4.5");
}

#[test]
fn models_fetched_from_the_endpoint_join_the_picker_once() {
    let mut app = new_app();
    let before = app.models.len();
    assert!(
        app.update(Action::ModelsFetched(vec![
            "claude-haiku-4.5".into(),
            "gateway-special".into(),
        ]))
        .is_empty()
    );
    assert_eq!(app.models.len(), before + 1);
    assert_eq!(
        app.models.last().map(String::as_str),
        Some("gateway-special")
    );
    assert_eq!(app.filtered_models("special"), ["gateway-special"]);
}

#[test]
fn paste_into_the_picker_filters_with_the_first_line() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    let _ = app.update(Action::Paste("haiku\r\nrest".into()));
    assert!(matches!(&app.overlay, Overlay::ModelPicker(p) if p.filter == "haiku"));
}

// ─── Tabs ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn ctrl_n_opens_a_tab_with_the_current_model_and_alt_digits_switch() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "haiku");
    let _ = app.update(key(KeyCode::Enter));
    assert!(io(app.update(ctrl('n'))).is_empty());
    assert_eq!(app.panes.len(), 2);
    assert_eq!(app.active, 1);
    assert_eq!(app.pane().model, "claude-haiku-4.5");
    assert!(app.pane().messages.is_empty());
    assert_ne!(app.panes[0].id(), app.panes[1].id());

    let _ = app.update(ctrl('n'));
    assert_eq!(app.active, 2);
    let _ = app.update(alt(KeyCode::Char('1')));
    assert_eq!(app.active, 0);
    let _ = app.update(alt(KeyCode::Char('3')));
    assert_eq!(app.active, 2);
    // No tab 8: nothing happens, and the digit does not reach the input.
    let _ = app.update(alt(KeyCode::Char('1')));
    assert!(io(app.update(alt(KeyCode::Char('8')))).is_empty());
    assert_eq!(app.active, 0);
    assert!(app.pane().input.is_empty());
    // Alt+9 is the last tab, however many there are (as in browsers).
    assert!(io(app.update(alt(KeyCode::Char('9')))).is_empty());
    assert_eq!(app.active, 2);
    assert!(app.pane().input.is_empty());

    let _ = app.update(alt(KeyCode::Right));
    assert_eq!(app.active, 0, "Alt+→ wraps");
    let _ = app.update(alt(KeyCode::Left));
    assert_eq!(app.active, 2, "Alt+← wraps");
    let _ = app.update(alt(KeyCode::Left));
    assert_eq!(app.active, 1);
}

#[test]
fn each_tab_keeps_its_own_input_and_requests() {
    let mut app = new_app();
    let (c1, r1, _) = the_send(&submit(&mut app, "tab one"));
    let _ = app.update(ctrl('n'));
    type_str(&mut app, "typed in two");
    let _ = app.update(alt(KeyCode::Char('1')));
    assert!(app.pane().input.is_empty());
    assert!(app.pane().is_busy());
    let _ = app.update(alt(KeyCode::Char('2')));
    assert_eq!(app.pane().input_text(), "typed in two");
    // Tab two is idle: it can send while tab one streams.
    let (c2, r2, body) = the_send(&app.update(key(KeyCode::Enter)));
    assert_ne!(c1, c2);
    assert_ne!(r1, r2);
    assert_eq!(history(&body), [(Role::User, "typed in two".into())]);
}

#[test]
fn a_background_tab_receiving_text_is_marked_unread_until_shown() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "in the background"));
    let _ = app.update(ctrl('n'));
    assert_eq!(app.active, 1);
    api(&mut app, request, ApiEvent::Text("arriving".into()));
    assert!(app.panes[0].unread);
    assert!(!app.panes[1].unread);
    assert_eq!(app.panes[0].messages[1].text, "arriving");

    let _ = app.update(alt(KeyCode::Char('1')));
    assert!(!app.panes[0].unread);
    // Text for the shown tab does not mark it.
    api(&mut app, request, ApiEvent::Text(" more".into()));
    assert!(!app.panes[0].unread);

    // Finishing in the background marks it again.
    let _ = app.update(alt(KeyCode::Char('2')));
    api(
        &mut app,
        request,
        finished(DEFAULT_MODEL, "done", usage(1, 1)),
    );
    assert!(app.panes[0].unread);
    let _ = app.update(alt(KeyCode::Left));
    assert!(!app.panes[0].unread);
}

#[test]
fn ctrl_w_deletes_the_word_before_the_cursor_and_never_closes_the_tab() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "hello"));
    type_str(&mut app, "keep this draft");
    assert!(io(app.update(ctrl('w'))).is_empty());
    assert_eq!(app.pane().input_text(), "keep this ");
    assert_eq!(app.panes.len(), 1);
    assert_eq!(app.pane().request(), Some(request), "the reply goes on");
}

#[test]
fn ctrl_x_closes_an_idle_tab_at_once() {
    let mut app = new_app();
    turn(&mut app, "first", "answer");
    let kept = app.pane().id().to_owned();
    let _ = app.update(ctrl('n'));
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(app.panes.len(), 1);
    assert_eq!(app.pane().id(), kept);
}

#[test]
fn closing_a_tab_with_a_draft_asks_first() {
    let mut app = new_app();
    let _ = app.update(ctrl('n'));
    type_str(&mut app, "half a thought");
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(app.panes.len(), 2);
    assert_notice(
        &app,
        NoticeKind::Info,
        "press Ctrl+X again to close this tab: it has an unsent draft",
    );
    let _ = app.update(ctrl('x'));
    assert_eq!(app.panes.len(), 1);
    assert_eq!(notice(&app), None, "the answered question goes away");
}

#[test]
fn closing_a_busy_tab_asks_once_and_a_second_press_within_a_second_closes_it() {
    let mut app = new_app();
    let _ = app.update(ctrl('n'));
    let (_, request, _) = the_send(&submit(&mut app, "doomed"));
    let closed = app.pane().id().to_owned();
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(app.panes.len(), 2);
    assert!(app.pane().is_busy());
    assert_notice(
        &app,
        NoticeKind::Info,
        "press Ctrl+X again to close this tab: a reply is streaming",
    );
    // Too late: it asks again.
    app.now += Duration::from_millis(1200);
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(app.panes.len(), 2);

    app.now += Duration::from_millis(300);
    let effects = app.update(ctrl('x'));
    assert_eq!(effects[0], Effect::Cancel(request));
    assert_eq!(saved_messages(&effects)[0].status, MessageStatus::Stopped);
    assert_eq!(app.panes.len(), 1);
    assert_eq!(app.active, 0);
    assert!(app.panes.iter().all(|p| p.id() != closed));
    assert!(
        api(&mut app, request, ApiEvent::Text("late".into())).is_empty(),
        "events of a closed tab are ignored"
    );

    // Closing the last tab leaves a fresh, empty one.
    let only = app.pane().id().to_owned();
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(app.panes.len(), 1);
    assert_ne!(app.pane().id(), only);
    assert!(app.pane().messages.is_empty());
}

// ─── Drafts ──────────────────────────────────────────────────────────────────────────────

fn draft(conversation: &str, text: &str) -> Effect {
    Effect::Save(WriteCommand::SetDraft {
        id: conversation.to_owned(),
        draft: text.to_owned(),
    })
}

#[test]
fn a_saved_tab_left_with_a_draft_hands_it_to_the_store_and_sending_clears_it() {
    let mut app = new_app();
    turn(&mut app, "first", "answer");
    let id = app.pane().id().to_owned();
    type_str(&mut app, "unsent");
    assert_eq!(app.update(ctrl('n')), [draft(&id, "unsent")]);
    // A new tab has no row to keep a draft in yet: leaving it hands nothing over.
    type_str(&mut app, "elsewhere");
    assert!(io(app.update(alt(KeyCode::Char('1')))).is_empty());
    assert_eq!(app.pane().input_text(), "unsent");
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.contains(&draft(&id, "")), "{effects:#?}");
    // Nothing kept any more: leaving again hands nothing over.
    let (_, request, _) = the_send(&effects);
    reply(&mut app, request, "ok", usage(1, 1));
    assert!(io(app.update(alt(KeyCode::Char('2')))).is_empty());
}

#[test]
fn quitting_or_a_signal_hands_every_saved_draft_to_the_store() {
    let mut app = new_app();
    turn(&mut app, "first", "answer");
    let id = app.pane().id().to_owned();
    type_str(&mut app, "later");
    let _ = app.update(ctrl('q'));
    assert_eq!(app.update(ctrl('q')), [draft(&id, "later"), Effect::Quit]);

    let mut app = new_app();
    turn(&mut app, "first", "answer");
    let id = app.pane().id().to_owned();
    type_str(&mut app, "later");
    assert_eq!(
        app.update(Action::Terminate),
        [draft(&id, "later"), Effect::Quit]
    );
}

#[test]
fn a_restored_draft_fills_the_empty_input_of_its_conversation() {
    let mut app = new_app();
    let (conversation, messages) = saved_chat("c0ffee0000000006", DEFAULT_MODEL);
    let _ = open_saved(&mut app, conversation, messages);
    let restore = |text: &str, id: &str| Action::RestoreDraft {
        conversation: id.to_owned(),
        text: text.to_owned(),
    };
    assert!(io(app.update(restore("where was I", "c0ffee0000000006"))).is_empty());
    assert_eq!(app.pane().input_text(), "where was I");
    // Never over what the user typed since, never into another conversation.
    let _ = app.update(restore("older", "c0ffee0000000006"));
    let _ = app.update(restore("stray", "0000000000000000"));
    assert_eq!(app.pane().input_text(), "where was I");
    // The store holds it, so sending clears it there.
    let effects = app.update(key(KeyCode::Enter));
    assert!(
        effects.contains(&draft("c0ffee0000000006", "")),
        "{effects:#?}"
    );
}

// ─── Input: history, paste, editor ───────────────────────────────────────────────────────

#[test]
fn up_on_an_empty_input_recalls_earlier_prompts() {
    let mut app = new_app();
    turn(&mut app, "alpha", "a");
    turn(&mut app, "beta", "b");
    turn(&mut app, "beta", "b again");
    assert_eq!(app.prompt_history, ["alpha", "beta"]);

    let _ = app.update(key(KeyCode::Up));
    assert_eq!(app.pane().input_text(), "beta");
    let _ = app.update(key(KeyCode::Up));
    assert_eq!(app.pane().input_text(), "alpha");
    let _ = app.update(key(KeyCode::Up));
    assert_eq!(app.pane().input_text(), "alpha", "stays at the oldest");
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(app.pane().input_text(), "beta");
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(
        app.pane().input_text(),
        "",
        "past the newest is empty again"
    );

    // Recalled text can be edited and sent.
    let _ = app.update(key(KeyCode::Up));
    type_str(&mut app, "!");
    assert_eq!(app.pane().input_text(), "beta!");
    let (_, _, body) = the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(history(&body).last().unwrap().1, "beta!");
}

#[test]
fn up_in_a_non_empty_input_moves_the_cursor_instead() {
    let mut app = new_app();
    turn(&mut app, "alpha", "a");
    type_str(&mut app, "line one\nline two");
    let _ = app.update(key(KeyCode::Up));
    assert_eq!(app.pane().input_text(), "line one\nline two");
    assert_eq!(app.history_cursor, None);
    assert_eq!(app.pane().input.cursor().0, 0, "cursor on the first row");
}

#[test]
fn up_with_no_history_does_nothing() {
    let mut app = new_app();
    assert!(io(app.update(key(KeyCode::Up))).is_empty());
    assert!(app.pane().input.is_empty());
}

#[test]
fn paste_inserts_multi_line_text_with_line_ends_normalised() {
    let mut app = new_app();
    type_str(&mut app, "see: ");
    assert!(io(app.update(Action::Paste("fn a() {}\r\nfn b() {}\rend".into()))).is_empty());
    assert_eq!(app.pane().input_text(), "see: fn a() {}\nfn b() {}\nend");
    assert_eq!(app.pane().input.lines().len(), 3);
    let (_, _, body) = the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(history(&body)[0].1, "see: fn a() {}\nfn b() {}\nend");
}

#[test]
fn paste_while_help_is_open_is_dropped() {
    let mut app = new_app();
    let _ = app.update(key(KeyCode::F(1)));
    let _ = app.update(Action::Paste("ignored".into()));
    assert!(app.pane().input.is_empty());
}

#[test]
fn ctrl_e_hands_the_input_to_the_editor_and_takes_the_result_back() {
    let mut app = new_app();
    type_str(&mut app, "draft");
    assert_eq!(app.update(ctrl('e')), [Effect::Editor("draft".into())]);
    assert!(io(app.update(Action::EditorClosed(Ok("edited\ntext\n".into())))).is_empty());
    assert_eq!(app.pane().input_text(), "edited\ntext");

    let _ = app.update(Action::EditorClosed(Err("vi exited with 1".into())));
    assert_eq!(app.pane().input_text(), "edited\ntext", "input unchanged");
    assert_notice(&app, NoticeKind::Error, "vi exited with 1");
}

// ─── Slash commands ───────────────────────────────────────────────────────────────────────

#[test]
fn slash_system_sets_and_clears_the_system_prompt() {
    let mut app = new_app();
    let effects = submit(&mut app, "/system You are terse.");
    assert!(
        effects.is_empty(),
        "not saved before the first turn: {effects:#?}"
    );
    assert!(app.pane().input.is_empty());
    assert!(app.pane().messages.is_empty(), "commands are not messages");
    assert_eq!(
        app.pane().conversation.system.as_deref(),
        Some("You are terse.")
    );
    assert_notice(&app, NoticeKind::Info, "system prompt set");

    let (_, _, body) = the_send(&submit(&mut app, "hi"));
    assert_eq!(
        body.system.as_ref().and_then(SystemPrompt::text).as_deref(),
        Some("You are terse.")
    );
    reply(&mut app, 1, "hello", usage(1, 1));

    // Once saved, a change is written.
    let effects = submit(&mut app, "/system");
    let [Effect::Save(WriteCommand::UpdateConversation(c))] = effects.as_slice() else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.system, None);
    assert_notice(&app, NoticeKind::Info, "cleared");
    let (_, _, body) = the_send(&submit(&mut app, "again"));
    assert_eq!(body.system, None);
}

#[test]
fn slash_temp_top_p_and_max_set_the_sampling_parameters() {
    let mut app = new_app();
    submit(&mut app, "/temp 0.7");
    submit(&mut app, "/top_p 0.9");
    submit(&mut app, "/max 256");
    let params = app.pane().conversation.params.clone();
    assert_eq!(params.temperature, Some(0.7));
    assert_eq!(params.top_p, Some(0.9));
    assert_eq!(params.max_tokens, Some(256));
    assert_notice(&app, NoticeKind::Info, "max_tokens 256");

    let (_, _, body) = the_send(&submit(&mut app, "hi"));
    assert_eq!(body.temperature, Some(0.7));
    assert_eq!(body.top_p, Some(0.9));
    assert_eq!(body.max_tokens, 256);

    // `default` unsets; aliases work.
    submit(&mut app, "/temperature default");
    submit(&mut app, "/topp off");
    assert_eq!(app.pane().conversation.params.temperature, None);
    assert_eq!(app.pane().conversation.params.top_p, None);
    assert_notice(&app, NoticeKind::Info, "top_p default");
}

#[test]
fn slash_commands_with_bad_values_explain_and_change_nothing() {
    let mut app = new_app();
    submit(&mut app, "/temp 0.5");
    for (command, expected) in [
        ("/temp 2.5", "from 0 to 1"),
        ("/temp 1.5", "from 0 to 1"),
        ("/temp warm", "from 0 to 1"),
        ("/top_p 1.5", "from 0 to 1"),
        ("/max 0", "usage: /max N"),
        ("/max lots", "usage: /max N"),
        ("/max -5", "usage: /max N"),
    ] {
        let effects = submit(&mut app, command);
        assert!(effects.is_empty(), "{command}: {effects:#?}");
        assert_notice(&app, NoticeKind::Error, expected);
        assert!(app.pane().messages.is_empty(), "{command} was sent");
        assert_eq!(
            app.pane().input_text(),
            command,
            "the typo stays to be fixed"
        );
        let _ = app.update(ctrl('c'));
    }
    let params = app.pane().conversation.params.clone();
    assert_eq!(params.temperature, Some(0.5));
    assert_eq!(params.top_p, None);
    assert_eq!(params.max_tokens, Some(4096));
}

#[test]
fn slash_model_switches_the_model_of_the_next_turn() {
    let mut app = new_app();
    let effects = submit(&mut app, "/model claude-opus-4.6");
    assert!(effects.is_empty());
    assert_eq!(app.pane().model, "claude-opus-4.6");
    assert!(app.pane().input.is_empty());
    assert_eq!(the_send(&submit(&mut app, "hi")).2.model, "claude-opus-4.6");
}

#[test]
fn slash_title_renames_the_conversation() {
    let mut app = new_app();
    turn(&mut app, "first prompt", "answer");
    assert_eq!(app.pane().conversation.title, "first prompt");
    let effects = submit(&mut app, "/title Terns and gulls");
    let [Effect::Save(WriteCommand::UpdateConversation(c))] = effects.as_slice() else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.title, "Terns and gulls");
    assert_eq!(app.pane().conversation.title, "Terns and gulls");
    assert_notice(&app, NoticeKind::Info, "renamed");
}

#[test]
fn slash_title_before_the_first_message_survives_it() {
    let mut app = new_app();
    submit(&mut app, "/title My own title");
    assert_eq!(app.pane().conversation.title, "My own title");
    let effects = submit(&mut app, "first prompt");
    let Effect::Save(WriteCommand::CreateConversation(c)) = &effects[0] else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.title, "My own title");
    assert_eq!(app.pane().conversation.title, "My own title");
}

#[test]
fn a_slash_command_with_a_bad_value_keeps_the_input() {
    let mut app = new_app();
    submit(&mut app, "/temp 3");
    assert_notice(&app, NoticeKind::Error, "from 0 to 1");
    assert_eq!(app.pane().input_text(), "/temp 3");
}

#[test]
fn text_starting_with_a_path_is_sent() {
    let mut app = new_app();
    let (_, _, body) = the_send(&submit(&mut app, "/etc/hosts has what format?"));
    assert_eq!(history(&body)[0].1, "/etc/hosts has what format?");
}

#[test]
fn an_unknown_slash_command_is_never_sent_and_the_known_ones_are_listed() {
    for typed in ["/help", "/clear", "/tmep 0.5", "/Model x"] {
        let mut app = new_app();
        let effects = submit(&mut app, typed);
        assert!(effects.is_empty(), "{typed}: {effects:#?}");
        let name = typed.split_whitespace().next().unwrap();
        assert_notice(
            &app,
            NoticeKind::Error,
            &format!(
                "unknown command {name} — known: /system /temp /top_p /top_k /max /think /effort /stop /model /title"
            ),
        );
        assert!(app.pane().messages.is_empty(), "{typed} was sent");
        assert_eq!(app.pane().input_text(), typed, "kept, to fix in place");
    }
}

#[test]
fn every_listed_command_is_known() {
    for name in ["system", "temp", "top_p", "max", "model", "title"] {
        let mut app = new_app();
        submit(&mut app, &format!("/{name}"));
        let text = notice(&app).map(|(_, t)| t).unwrap_or_default();
        assert!(!text.contains("unknown command"), "/{name}: {text}");
    }
}

#[test]
fn a_double_slash_sends_the_text_with_one_slash() {
    let mut app = new_app();
    let (_, _, body) = the_send(&submit(&mut app, "//help is what many apps use"));
    assert_eq!(history(&body)[0].1, "/help is what many apps use");
    assert_eq!(app.pane().conversation.title, "/help is what many apps use");
}

#[test]
fn slash_model_with_an_unlisted_id_is_used_and_says_so() {
    let mut app = new_app();
    assert!(submit(&mut app, "/model my-gateway/llama-4").is_empty());
    assert_eq!(app.pane().model, "my-gateway/llama-4");
    assert_notice(&app, NoticeKind::Info, "not in the known list");
    assert_eq!(
        the_send(&submit(&mut app, "hi")).2.model,
        "my-gateway/llama-4"
    );

    // A listed one (configured, or fetched from the endpoint) draws no remark.
    let _ = app.update(Action::ModelsFetched(vec!["gateway-extra".into()]));
    for listed in ["claude-haiku-4.5", "gateway-extra"] {
        submit(&mut app, &format!("/model {listed}"));
        let (_, text) = notice(&app).unwrap();
        assert!(!text.contains("not in the known list"), "{text}");
    }
}

#[test]
fn enter_on_an_unlisted_id_typed_in_the_picker_uses_it() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "gpt-oss-120b");
    assert!(app.filtered_models("gpt-oss-120b").is_empty());
    let _ = app.update(key(KeyCode::Enter));
    assert_eq!(app.overlay, Overlay::None);
    assert_eq!(app.pane().model, "gpt-oss-120b");
    assert_notice(
        &app,
        NoticeKind::Info,
        "gpt-oss-120b is not in the known list",
    );
    // It is offered from now on.
    assert_eq!(app.filtered_models("gpt-oss"), ["gpt-oss-120b"]);
}

// ─── Copying ─────────────────────────────────────────────────────────────────────────────

const CODE_REPLY: &str =
    "Two blocks:\n\n```rust\nfn main() {}\n```\n\nand\n\n```sh\necho hi\n```\n";

#[test]
fn ctrl_y_copies_the_last_reply() {
    let mut app = new_app();
    assert!(io(app.update(ctrl('y'))).is_empty());
    assert_notice(&app, NoticeKind::Info, "no reply to copy");

    turn(&mut app, "q1", "first reply");
    turn(&mut app, "q2", "second reply");
    assert_eq!(
        app.update(ctrl('y')),
        [Effect::Copy {
            text: "second reply".into(),
            what: "the last reply".into(),
        }]
    );
    // A failed reply without text is skipped.
    let (_, request, _) = the_send(&submit(&mut app, "q3"));
    api(&mut app, request, failed(unauthorized()));
    assert!(matches!(
        app.update(ctrl('y')).as_slice(),
        [Effect::Copy { text, .. }] if text == "second reply"
    ));
}

#[test]
fn ctrl_o_lists_code_blocks_and_enter_copies_the_chosen_one() {
    let mut app = new_app();
    assert!(io(app.update(ctrl('o'))).is_empty());
    assert_notice(&app, NoticeKind::Info, "no code blocks");
    assert_eq!(app.overlay, Overlay::None);

    turn(&mut app, "older", "```py\nprint(1)\n```");
    turn(&mut app, "code please", CODE_REPLY);
    assert!(io(app.update(ctrl('o'))).is_empty());
    let Overlay::CodePicker { blocks, picker } = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(picker, &PickerState::default());
    // Newest reply first, its blocks in order.
    assert_eq!(
        blocks,
        &[
            CodeChoice {
                label: "msg 4 · #1 rust · fn main() {}".into(),
                code: "fn main() {}".into(),
            },
            CodeChoice {
                label: "msg 4 · #2 sh · echo hi".into(),
                code: "echo hi".into(),
            },
            CodeChoice {
                label: "msg 2 · #1 py · print(1)".into(),
                code: "print(1)".into(),
            },
        ]
    );
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::Copy {
            text: "fn main() {}".into(),
            what: "the code block".into(),
        }]
    );
    assert_eq!(app.overlay, Overlay::None);

    // Filter, move, choose.
    let _ = app.update(ctrl('o'));
    type_str(&mut app, "msg4");
    let _ = app.update(key(KeyCode::Down));
    assert!(matches!(
        app.update(key(KeyCode::Enter)).as_slice(),
        [Effect::Copy { text, .. }] if text == "echo hi"
    ));

    // Esc closes without copying.
    let _ = app.update(ctrl('o'));
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(app.overlay, Overlay::None);
}

// ─── Help and scrolling ──────────────────────────────────────────────────────────────────

#[test]
fn f1_opens_help_and_esc_f1_q_or_enter_close_it() {
    for close in [
        key(KeyCode::Esc),
        key(KeyCode::F(1)),
        key(KeyCode::Char('q')),
        key(KeyCode::Enter),
        ctrl('c'),
    ] {
        let mut app = new_app();
        assert!(io(app.update(key(KeyCode::F(1)))).is_empty());
        assert_eq!(app.overlay, Overlay::Help { scroll: 0 });
        let _ = app.update(key(KeyCode::Down));
        let _ = app.update(key(KeyCode::PageDown));
        assert_eq!(app.overlay, Overlay::Help { scroll: 11 });
        let _ = app.update(key(KeyCode::Up));
        assert_eq!(app.overlay, Overlay::Help { scroll: 10 });
        let effects = app.update(close);
        assert!(effects.is_empty());
        assert_eq!(app.overlay, Overlay::None);
        assert!(!app.should_quit);
        assert!(
            app.pane().input.is_empty(),
            "keys in help never reach the input"
        );
    }
}

#[test]
fn scrolling_keys_and_the_wheel_ask_the_view_to_scroll() {
    let mut app = new_app();
    let id = app.pane().id().to_owned();
    let scroll = |by| Scroll {
        conversation: id.clone(),
        by,
    };
    for (action, by) in [
        (key(KeyCode::PageUp), ScrollBy::Pages(-1)),
        (key(KeyCode::PageDown), ScrollBy::Pages(1)),
        (key(KeyCode::Home), ScrollBy::Top),
        (key(KeyCode::End), ScrollBy::Bottom),
        (press(KeyCode::Home, KeyModifiers::CONTROL), ScrollBy::Top),
        (press(KeyCode::End, KeyModifiers::CONTROL), ScrollBy::Bottom),
        (alt(KeyCode::Up), ScrollBy::Lines(-1)),
        (alt(KeyCode::Down), ScrollBy::Lines(1)),
        (Action::Wheel(-3), ScrollBy::Lines(-3)),
        (Action::Wheel(3), ScrollBy::Lines(3)),
    ] {
        let name = format!("{action:?}");
        assert!(io(app.update(action)).is_empty(), "{name}");
        assert_eq!(std::mem::take(&mut app.scrolls), [scroll(by)], "{name}");
    }
}

#[test]
fn home_and_end_edit_a_non_empty_input_instead_of_scrolling() {
    let mut app = new_app();
    type_str(&mut app, "abc");
    let _ = app.update(key(KeyCode::Home));
    type_str(&mut app, ">");
    let _ = app.update(key(KeyCode::End));
    type_str(&mut app, "<");
    assert_eq!(app.pane().input_text(), ">abc<");
    assert!(app.scrolls.is_empty());
    // PgUp scrolls whatever the input holds.
    let _ = app.update(key(KeyCode::PageUp));
    assert!(matches!(
        app.scrolls.as_slice(),
        [Scroll {
            by: ScrollBy::Pages(-1),
            ..
        }]
    ));
}

#[test]
fn ctrl_r_opens_the_conversation_browser_and_asks_for_its_rows() {
    let mut app = new_app();
    let effects = app.update(ctrl('r'));
    let [Effect::BrowserQuery { generation, query }] = effects.as_slice() else {
        panic!("{effects:#?}")
    };
    assert!(query.is_empty());
    assert!(matches!(&app.overlay, Overlay::Browser(b) if b.generation == *generation));
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(app.overlay, Overlay::None);
}

// ─── Notices and ticks ───────────────────────────────────────────────────────────────────

fn schedules(effects: &[Effect]) -> Vec<(Timer, Duration)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Schedule { timer, after } => Some((*timer, *after)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_notice_asks_for_its_expiry_and_goes_when_it_fires() {
    let mut app = new_app();
    let effects = app.update(Action::Notify(Notice::info("hello")));
    assert_notice(&app, NoticeKind::Info, "hello");
    assert_eq!(
        schedules(&effects),
        [(Timer::NoticeExpiry, tern::app::NOTICE_TTL)]
    );
    // A later notice moves the expiry (the driver keeps one deadline per timer).
    let effects = app.update(Action::Notify(Notice::error("later")));
    assert_eq!(
        schedules(&effects),
        [(Timer::NoticeExpiry, tern::app::NOTICE_TTL)]
    );
    assert!(
        schedules(&app.update(key(KeyCode::Char('x'))))
            .iter()
            .all(|(timer, _)| *timer == Timer::CountTokens),
        "no notice, no notice timer"
    );
    assert_notice(&app, NoticeKind::Error, "later");
    let _ = app.update(Action::Timer(Timer::NoticeExpiry));
    assert!(app.notice.is_none());
}

#[test]
fn the_spinner_is_scheduled_only_while_a_request_waits_and_follows_the_clock() {
    let mut app = new_app();
    let t0 = app.now;
    let frame = app.spinner_frame();
    app.now = t0 + tern::app::SPINNER_EVERY;
    assert_eq!(app.spinner_frame(), frame + 1, "one step per frame time");
    app.now = t0;

    type_str(&mut app, "hi");
    let effects = app.update(key(KeyCode::Enter));
    let (_, request, _) = the_send(&effects);
    let spinner = [(Timer::Spinner, tern::app::SPINNER_EVERY)];
    assert_eq!(schedules(&effects), spinner, "waiting: the first frame");
    assert!(
        schedules(&app.update(key(KeyCode::Char('x')))).is_empty(),
        "one spinner timer pending at a time"
    );
    assert_eq!(
        schedules(&app.update(Action::Timer(Timer::Spinner))),
        spinner
    );
    let _ = api(&mut app, request, ApiEvent::Text("Hel".into()));
    assert!(
        schedules(&app.update(Action::Timer(Timer::Spinner))).is_empty(),
        "streaming: the deltas redraw, no timer"
    );
}

// ─── Opening saved conversations ─────────────────────────────────────────────────────────

#[test]
fn open_saved_replaces_the_empty_start_tab_with_its_model_and_history() {
    let mut app = new_app();
    let (conversation, messages) = saved_chat("c0ffee0000000001", "claude-opus-4.5");
    let effects = io(open_saved(&mut app, conversation, messages));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        std::mem::take(&mut app.scrolls),
        [Scroll {
            conversation: "c0ffee0000000001".into(),
            by: ScrollBy::Bottom,
        }]
    );
    assert_eq!(app.panes.len(), 1);
    let pane = app.pane();
    assert_eq!(pane.id(), "c0ffee0000000001");
    assert_eq!(pane.model, "claude-opus-4.5");
    assert!(pane.saved);
    assert_eq!(pane.messages.len(), 2);
    assert_eq!(pane.messages[1].text, "earlier answer");

    // The next turn continues it: no new conversation, the saved history, the saved model.
    let effects = submit(&mut app, "follow-up");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Save(WriteCommand::CreateConversation(_))))
    );
    let (conversation, _, body) = the_send(&effects);
    assert_eq!(conversation, "c0ffee0000000001");
    assert_eq!(body.model, "claude-opus-4.5");
    assert_eq!(
        history(&body),
        [
            (Role::User, "earlier question".into()),
            (Role::Assistant, "earlier answer".into()),
            (Role::User, "follow-up".into()),
        ]
    );
    assert_eq!(saved_messages(&effects)[0].seq, 2);
}

#[test]
fn open_saved_uses_a_new_tab_when_the_current_one_is_used_and_focuses_open_ones() {
    let mut app = new_app();
    type_str(&mut app, "unsent draft");
    let (conversation, messages) = saved_chat("c0ffee0000000002", "claude-haiku-4.5");
    let _ = app.update(Action::OpenSaved {
        conversation: conversation.clone(),
        messages: messages.clone(),
    });
    assert_eq!(app.panes.len(), 2, "the draft's tab is kept");
    assert_eq!(app.active, 1);
    assert_eq!(app.panes[0].input_text(), "unsent draft");

    let _ = app.update(alt(KeyCode::Char('1')));
    let _ = open_saved(&mut app, conversation, messages);
    assert_eq!(app.panes.len(), 2, "not opened twice");
    assert_eq!(app.active, 1);
}

#[test]
fn open_saved_without_a_model_falls_back_to_the_default() {
    let mut app = new_app();
    let (mut conversation, messages) = saved_chat("c0ffee0000000003", "x");
    conversation.last_model = None;
    let _ = open_saved(&mut app, conversation, messages);
    assert_eq!(app.pane().model, DEFAULT_MODEL);
}

#[test]
fn an_interrupted_saved_reply_can_be_retried() {
    let mut app = new_app();
    let (conversation, mut messages) = saved_chat("c0ffee0000000005", DEFAULT_MODEL);
    messages[1].status = MessageStatus::Interrupted;
    messages[1].content = vec![ContentBlock::text("half an ans")];
    let _ = open_saved(&mut app, conversation, messages);
    assert_eq!(app.pane().messages[1].text, "half an ans");
    let (_, _, body) = the_send(&app.update(ctrl('t')));
    assert_eq!(history(&body), [(Role::User, "earlier question".into())]);
}

#[test]
fn a_saved_error_reply_keeps_its_error_and_can_be_retried() {
    let mut app = new_app();
    let (conversation, mut messages) = saved_chat("c0ffee0000000004", DEFAULT_MODEL);
    let info = ErrorInfo::from_api(&unauthorized());
    messages[1].status = MessageStatus::Error;
    messages[1].content.clear();
    messages[1].error = Some(info.to_stored());
    let _ = open_saved(&mut app, conversation, messages);
    assert_eq!(app.pane().messages[1].error.as_ref(), Some(&info));
    let (_, _, body) = the_send(&app.update(ctrl('t')));
    assert_eq!(history(&body), [(Role::User, "earlier question".into())]);
}

/// An app whose default model has a context window of 1000 tokens and replies of 100.
fn small_window_app() -> App {
    let mut settings = settings(true);
    settings.max_tokens = 100;
    for model in &mut settings.models {
        if model.id == DEFAULT_MODEL {
            model.context_window = 1000;
        }
    }
    app_with(settings, stored::T0)
}

#[test]
fn a_request_too_big_for_the_context_window_asks_before_it_is_sent() {
    let mut app = small_window_app();
    turn(&mut app, "hi", "hello");

    // ~5000 characters (well over 1000 tokens): not sent, the input is kept, the user is told.
    let long = "lorem ipsum dolor sit amet ".repeat(190);
    let effects = submit(&mut app, &long);
    assert!(sends(&effects).is_empty(), "{effects:?}");
    assert!(saved_messages(&effects).is_empty(), "{effects:?}");
    assert_eq!(app.pane().input_text(), long);
    assert_notice(&app, NoticeKind::Error, "context window");
    assert_notice(&app, NoticeKind::Error, "Enter sends anyway");
    assert_eq!(app.pane().messages.len(), 2);
    let oversize = app
        .pane()
        .confirmed_oversize
        .clone()
        .expect("the figures are kept");
    assert_eq!((oversize.max_tokens, oversize.window), (100, 1000));
    assert!(oversize.input > 1000, "{oversize:?}");

    // A second Enter sends it anyway.
    let (_, request, body) = the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(history(&body).last().unwrap().1, long);
    reply(&mut app, request, "ok", usage(1400, 20));

    // The server's count says the history alone is over the window: the next short prompt is
    // held too; changing it asks again, and Enter on the same text sends.
    let effects = submit(&mut app, "and now?");
    assert!(sends(&effects).is_empty(), "{effects:?}");
    assert_notice(&app, NoticeKind::Error, "context window");
    type_str(&mut app, "!");
    assert!(sends(&app.update(key(KeyCode::Enter))).is_empty());
    the_send(&app.update(key(KeyCode::Enter)));
    assert_eq!(app.pane().confirmed_oversize, None);
}

#[test]
fn a_request_that_fits_is_sent_at_once() {
    let mut app = small_window_app();
    // ~2000 characters: about 500 tokens plus 100 for the reply fit in 1000.
    let text = "lorem ipsum dolor sit amet ".repeat(70);
    the_send(&submit(&mut app, &text));
    assert_eq!(notice(&app), None);
}

// ─── Another tern on the same conversation ────────────────────────────────────────────────

#[test]
fn each_new_message_names_the_one_it_follows() {
    let mut app = new_app();
    let effects = submit(&mut app, "first");
    let saved = saved_messages(&effects);
    assert_eq!(saved.len(), 2, "the prompt and the placeholder reply");
    assert_eq!(
        saved[0].parent_id, None,
        "the first message follows nothing"
    );
    assert_eq!(saved[1].parent_id.as_deref(), Some(saved[0].id.as_str()));
    let (_, request, _) = the_send(&effects);
    reply(&mut app, request, "answer", usage(1, 1));
    let saved = saved_messages(&submit(&mut app, "second"));
    assert_eq!(
        saved[0].parent_id.as_deref(),
        Some(app.pane().messages[1].stored.id.as_str())
    );
}

#[test]
fn a_refused_turn_is_dropped_reloaded_and_its_prompt_given_back() {
    let mut app = new_app();
    let (conversation, messages) = saved_chat("c0ffee0000000001", DEFAULT_MODEL);
    let _ = app.update(Action::OpenSaved {
        conversation: conversation.clone(),
        messages: messages.clone(),
    });
    let effects = submit(&mut app, "my question");
    let (_, request, _) = the_send(&effects);
    let refused = saved_messages(&effects);
    api(
        &mut app,
        request,
        ApiEvent::Text("an answer to a stale hist".into()),
    );
    type_str(&mut app, "half typed");

    // The store refused the prompt: another tern appended first.
    let effects = io(app.update(Action::SaveConflict {
        conversation: conversation.id.clone(),
        message: refused[0].id.clone(),
    }));
    assert_eq!(
        effects,
        [
            Effect::Cancel(request),
            Effect::Reload(conversation.id.clone())
        ]
    );
    assert!(!app.pane().is_busy());
    assert_eq!(app.pane().phase, Phase::Idle);
    assert_eq!(app.pane().messages.len(), 2, "the refused turn is gone");
    assert_eq!(app.pane().input_text(), "my question\n\nhalf typed");
    assert_notice(&app, NoticeKind::Error, "changed in another tern");
    assert_notice(&app, NoticeKind::Error, "back in the input");
    // The reply's refusal, arriving next, was handled with it.
    let again = app.update(Action::SaveConflict {
        conversation: conversation.id.clone(),
        message: refused[1].id.clone(),
    });
    assert!(again.is_empty(), "{again:?}");

    // The conversation as stored now: the other tern's turn.
    let mut on_disk = messages;
    let mut theirs = stored::user_message(&conversation.id, 2, "their question", stored::T0);
    theirs.parent_id = Some(on_disk[1].id.clone());
    let mut answer = stored::answer(
        &conversation.id,
        3,
        DEFAULT_MODEL,
        vec![ContentBlock::text("their answer")],
        stored::T0,
    );
    answer.parent_id = Some(theirs.id.clone());
    on_disk.extend([theirs, answer.clone()]);
    let effects = app.update(Action::Reloaded {
        conversation: conversation.clone(),
        messages: on_disk,
    });
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(app.scrolls.last(), Some(Scroll { .. })));
    assert_eq!(app.pane().messages.len(), 4);

    // Sending again follows what the other tern wrote.
    app.pane_mut().input = tern::app::new_input();
    let effects = submit(&mut app, "my question");
    let saved = saved_messages(&effects);
    assert_eq!(saved[0].seq, 4);
    assert_eq!(saved[0].parent_id.as_deref(), Some(answer.id.as_str()));
    let (_, _, body) = the_send(&effects);
    let texts: Vec<String> = history(&body).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "earlier question",
            "earlier answer",
            "their question",
            "their answer",
            "my question"
        ]
    );
}

#[test]
fn conflicts_and_reloads_for_unknown_or_busy_conversations_change_nothing() {
    let mut app = new_app();
    assert!(
        app.update(Action::SaveConflict {
            conversation: "nope".into(),
            message: "m".into(),
        })
        .is_empty()
    );
    let effects = submit(&mut app, "q");
    let id = app.pane().id().to_owned();
    let (conversation, messages) = saved_chat(&id, DEFAULT_MODEL);
    // Busy again (a new send): a late reload does not replace the live turn.
    assert!(app.pane().is_busy());
    assert!(
        app.update(Action::Reloaded {
            conversation,
            messages,
        })
        .is_empty()
    );
    assert_eq!(app.pane().messages.len(), 2);
    assert_eq!(saved_messages(&effects).len(), 2);
}

#[test]
fn a_reply_another_tern_is_still_writing_holds_the_next_prompt_until_it_ends() {
    let mut app = new_app();
    let id = "c0ffee0000000042";
    let (conversation, mut messages) = saved_chat(id, DEFAULT_MODEL);
    // Another process is streaming the answer to a second prompt (its lease is alive, so the
    // store left it `streaming`).
    let mut second = stored::user_message(id, 2, "second question", stored::T0);
    second.parent_id = Some(messages[1].id.clone());
    let mut live = StoredMessage::assistant_streaming_at(
        stored::message_id(id, 3),
        id,
        3,
        DEFAULT_MODEL,
        stored::T0,
    );
    live.parent_id = Some(second.id.clone());
    messages.push(second);
    live.content = vec![ContentBlock::text("word0 word1")];
    messages.push(live.clone());
    let _ = app.update(Action::OpenSaved {
        conversation: conversation.clone(),
        messages: messages.clone(),
    });

    // Sending now would answer a history that is still changing: reload instead, keep the text.
    let effects = submit(&mut app, "my question");
    assert!(sends(&effects).is_empty(), "{effects:?}");
    assert!(saved_messages(&effects).is_empty(), "{effects:?}");
    assert!(effects.contains(&Effect::Reload(id.into())), "{effects:?}");
    assert_eq!(app.pane().input_text(), "my question");
    assert_notice(&app, NoticeKind::Info, "another tern is still writing");

    // Once it has ended, Enter sends after the whole reply.
    live.status = MessageStatus::Complete;
    live.content = vec![ContentBlock::text("word0 word1 word2 word3")];
    *messages.last_mut().unwrap() = live;
    let _ = app.update(Action::Reloaded {
        conversation,
        messages,
    });
    let (_, _, body) = the_send(&app.update(key(KeyCode::Enter)));
    let texts: Vec<String> = history(&body).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "earlier question",
            "earlier answer",
            "second question",
            "word0 word1 word2 word3",
            "my question"
        ]
    );
}

#[test]
fn ctrl_w_and_ctrl_u_edit_the_picker_filter_and_ctrl_u_kills_to_the_line_start() {
    let mut app = new_app();
    let _ = app.update(ctrl('p'));
    type_str(&mut app, "claude haiku");
    let _ = app.update(ctrl('w'));
    let Overlay::ModelPicker(picker) = &app.overlay else {
        panic!("the picker is open");
    };
    assert_eq!(picker.filter, "claude ");
    let _ = app.update(ctrl('u'));
    let Overlay::ModelPicker(picker) = &app.overlay else {
        panic!("the picker is open");
    };
    assert_eq!(picker.filter, "");
    let _ = app.update(key(KeyCode::Esc));

    // In the input, Ctrl+U deletes from the cursor back to the start of the line.
    type_str(&mut app, "/help");
    let _ = app.update(ctrl('u'));
    assert_eq!(app.pane().input_text(), "");
    type_str(&mut app, "/clear");
    assert_eq!(app.pane().input_text(), "/clear");
}

// ─── Purity: time and ids come in ────────────────────────────────────────────────────────

/// Two apps given the same clock and id seed, fed the same actions (send, stream, stop, a new
/// tab, a whole reply, a rename), end in the same state and ask for the same effects (ids and
/// timestamps included): `update` makes neither of its own.
#[test]
fn a_seeded_clock_and_ids_give_identical_runs() {
    let start = Instant::now();
    let run = || {
        let mut app = App::new(
            settings(true),
            start,
            1_700_000_000_000,
            tern::app::Ids::seeded(42),
        );
        let mut effects = Vec::new();
        let later = |app: &mut App, ms: u64| {
            app.now += Duration::from_millis(ms);
            app.now_ms += ms as i64;
        };
        let (_, request, _) = the_send(&submit(&mut app, "first"));
        later(&mut app, 2_000);
        effects.extend(api(&mut app, request, started(3)));
        effects.extend(api(&mut app, request, ApiEvent::Text("partial".into())));
        effects.extend(app.update(ctrl('c')));
        effects.extend(app.update(ctrl('n')));
        later(&mut app, 1_500);
        effects.extend(submit(&mut app, "second"));
        let (_, request, _) = the_send(&effects);
        later(&mut app, 700);
        effects.extend(api(&mut app, request, started(5)));
        for delta in ["a whole ", "reply, ", "in three deltas"] {
            later(&mut app, 40);
            effects.extend(api(&mut app, request, ApiEvent::Text(delta.into())));
        }
        let text = "a whole reply, in three deltas";
        effects.extend(api(&mut app, request, ApiEvent::Usage(usage(5, 7))));
        effects.extend(api(
            &mut app,
            request,
            finished(DEFAULT_MODEL, text, usage(5, 7)),
        ));
        later(&mut app, 9_000);
        effects.extend(submit(&mut app, "/title Seeded and repeatable"));
        // What the user sees and what would be saved, tab by tab.
        let tabs: Vec<_> = (app.panes.iter())
            .map(|p| {
                let messages: Vec<_> = p.messages.iter().map(|m| m.snapshot(app.now_ms)).collect();
                let shown: Vec<_> = p.messages.iter().map(|m| m.text.clone()).collect();
                (p.conversation.clone(), p.phase.clone(), messages, shown)
            })
            .collect();
        let notice = app.notice.as_ref().cloned();
        (effects, tabs, notice, app.active)
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second);
    let (effects, tabs, notice, _) = first;
    assert!(effects.iter().any(|e| matches!(e, Effect::Send { .. })));
    assert_eq!(notice.map(|n| n.kind), Some(NoticeKind::Info));
    assert_eq!(tabs[1].0.title, "Seeded and repeatable");
    assert_eq!(tabs[1].3[1], "a whole reply, in three deltas");
    // The ids are the seeded ones, not the same one twice.
    let ids: std::collections::HashSet<_> = (tabs.iter())
        .flat_map(|(c, _, m, _)| {
            std::iter::once(c.id.clone()).chain(m.iter().map(|m| m.id.clone()))
        })
        .collect();
    assert_eq!(ids.len(), 2 + 4);
    // The times are the app's clock, not the wall's.
    let created: Vec<i64> = tabs.iter().map(|(c, ..)| c.created_at).collect();
    assert_eq!(created, [1_700_000_000_000, 1_700_000_002_000]);
    let written: Vec<i64> = tabs[1].2.iter().map(|m| m.created_at).collect();
    assert_eq!(written, [1_700_000_003_500, 1_700_000_003_500]);
}

/// The help's scroll stops at its end in state, not only on screen: after paging past the end,
/// one PgUp moves the text at once.
#[test]
fn help_scroll_is_clamped_to_its_end() {
    let mut app = new_app();
    app.screen = (80, 24);
    let _ = app.update(key(KeyCode::F(1)));
    for _ in 0..10 {
        let _ = app.update(key(KeyCode::PageDown));
    }
    let Overlay::Help { scroll: end } = app.overlay else {
        panic!("help is open")
    };
    let theme = tern::render::Theme::builtin("dark").unwrap();
    let rows = tern::ui::help_lines(&app, &theme, 80 - 8).len() as u16;
    assert_eq!(
        end,
        rows - (24 - 2 - 2),
        "the last page shows the last line"
    );
    let _ = app.update(key(KeyCode::PageUp));
    assert_eq!(app.overlay, Overlay::Help { scroll: end - 10 });
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::PageDown));
    assert_eq!(app.overlay, Overlay::Help { scroll: end });
}

// ─── Thinking on screen ──────────────────────────────────────────────────────────────────

/// The thinking phase is timed from its first delta to the first text, in the app's clock;
/// the pane says it is thinking meanwhile.
#[test]
fn the_thinking_phase_is_timed_from_its_first_delta_to_the_first_text() {
    let mut app = new_app();
    let t0 = app.now;
    let (_, request, _) = the_send(&submit(&mut app, "think first"));
    assert!(matches!(
        app.pane().phase,
        Phase::Waiting {
            thinking_since: None,
            ..
        }
    ));
    app.now = t0 + Duration::from_secs(2);
    api(&mut app, request, ApiEvent::Thinking("Let me ".into()));
    app.now = t0 + Duration::from_secs(5);
    api(&mut app, request, ApiEvent::Thinking("see.".into()));
    assert!(
        matches!(app.pane().phase, Phase::Waiting { thinking_since: Some(t), .. } if t == t0 + Duration::from_secs(2))
    );
    assert!(app.is_waiting(), "the thinking counter ticks");
    app.now = t0 + Duration::from_secs(14);
    api(&mut app, request, ApiEvent::Text("Answer".into()));
    assert_eq!(last(&app).thought_for, Some(Duration::from_secs(12)));
    // The thinking counts in the estimated output until the server's count arrives.
    let tokens = last(&app).tokens().unwrap();
    assert!(tokens.estimated);
    assert_eq!(
        tokens.usage.output_tokens,
        tern::app::estimate_tokens("Answer") + tern::app::estimate_tokens("Let me see.")
    );
}

/// Stopped while it still thinks: it thought until the stop.
#[test]
fn a_reply_stopped_while_thinking_thought_until_then() {
    let mut app = new_app();
    let t0 = app.now;
    let (_, request, _) = the_send(&submit(&mut app, "think first"));
    api(&mut app, request, ApiEvent::Thinking("Hmm".into()));
    app.now = t0 + Duration::from_secs(3);
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(last(&app).thought_for, Some(Duration::from_secs(3)));
}

/// Alt+T shows or folds the thinking of the conversation: a flag on the pane, the view reads it.
#[test]
fn alt_t_toggles_the_panes_thinking_display() {
    let mut app = new_app();
    assert!(!app.pane().show_thinking);
    assert!(io(app.update(alt(KeyCode::Char('t')))).is_empty());
    assert!(app.pane().show_thinking);
    assert!(app.pane().input.is_empty(), "the key is not typed");
    let _ = app.update(alt(KeyCode::Char('t')));
    assert!(!app.pane().show_thinking);
}

// ─── Stop reasons: continue, resume, refusal ──────────────────────────────────────────────

/// A finished message of `blocks` that stopped for `stop_reason`.
fn finished_with(blocks: Vec<ContentBlock>, stop_reason: &str, u: tern::api::Usage) -> ApiEvent {
    ApiEvent::Finished(Box::new(Message {
        id: "msg_test".into(),
        kind: "message".into(),
        role: Role::Assistant,
        content: blocks,
        model: "m".into(),
        stop_reason: Some(stop_reason.into()),
        usage: u,
        ..Message::default()
    }))
}

fn block(v: serde_json::Value) -> ContentBlock {
    serde_json::from_value(v).unwrap()
}

#[test]
fn continue_goes_on_with_a_reply_cut_off_at_max_tokens_in_the_same_message() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "write a poem"));
    api(&mut app, request, ApiEvent::Text("Roses are".into()));
    let cut = vec![ContentBlock::text("Roses are")];
    api(
        &mut app,
        request,
        finished_with(cut, "max_tokens", usage(10, 4)),
    );
    assert_eq!(last(&app).stored.stop_reason.as_deref(), Some("max_tokens"));

    let effects = submit(&mut app, "/continue");
    let (_, more, body) = the_send(&effects);
    // The partial reply goes back after its prompt, then a user turn asks for the rest.
    let sent = history(&body);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], (Role::User, "write a poem".into()));
    assert_eq!(sent[1], (Role::Assistant, "Roses are".into()));
    assert_eq!(sent[2].0, Role::User);
    assert!(sent[2].1.contains("cut off"), "{:?}", sent[2].1);
    // No new message: the reply itself streams on.
    assert_eq!(app.pane().messages.len(), 2);
    assert_eq!(last(&app).status(), MessageStatus::Streaming);

    api(&mut app, more, started(30));
    api(&mut app, more, ApiEvent::Text(" red.".into()));
    assert_eq!(last(&app).text, "Roses are red.");
    let rest = vec![ContentBlock::text(" red.")];
    let effects = api(
        &mut app,
        more,
        finished_with(rest, "end_turn", usage(30, 3)),
    );
    let reply = last(&app);
    assert_eq!(reply.status(), MessageStatus::Complete);
    assert_eq!(
        reply.stored.content,
        vec![ContentBlock::text("Roses are red.")]
    );
    assert_eq!(reply.stored.stop_reason.as_deref(), Some("end_turn"));
    // Both requests' tokens are the reply's.
    let u = reply.stored.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (40, 7));
    let saved = saved_messages(&effects);
    assert_eq!(saved.last().unwrap().content, reply.stored.content);

    // The next turn sends it as one reply.
    let (_, _, body) = the_send(&submit(&mut app, "thanks"));
    assert_eq!(
        history(&body),
        [
            (Role::User, "write a poem".into()),
            (Role::Assistant, "Roses are red.".into()),
            (Role::User, "thanks".into()),
        ]
    );
}

#[test]
fn continue_works_on_a_stopped_reply_and_explains_otherwise() {
    let mut app = new_app();
    assert!(io(submit(&mut app, "/continue")).is_empty());
    assert_notice(&app, NoticeKind::Info, "nothing to continue");
    turn(&mut app, "q", "a whole answer");
    assert!(io(submit(&mut app, "/continue")).is_empty());
    assert_notice(&app, NoticeKind::Info, "nothing to continue");

    let (_, request, _) = the_send(&submit(&mut app, "again"));
    api(&mut app, request, ApiEvent::Text("half an ".into()));
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(last(&app).status(), MessageStatus::Stopped);
    let (_, more, body) = the_send(&submit(&mut app, "/continue"));
    let sent = history(&body);
    assert_eq!(sent[3], (Role::Assistant, "half an ".into()));
    api(&mut app, more, ApiEvent::Text("answer".into()));
    let rest = vec![ContentBlock::text("answer")];
    api(&mut app, more, finished_with(rest, "end_turn", usage(1, 1)));
    assert_eq!(
        last(&app).stored.content,
        vec![ContentBlock::text("half an answer")]
    );
    assert_eq!(app.pane().messages.len(), 4);
}

#[test]
fn a_paused_turn_is_resumed_as_is_and_its_blocks_joined() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "search the web"));
    let call = block(serde_json::json!({
        "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
        "input": {"query": "q"}
    }));
    let paused = vec![ContentBlock::text("Let me search."), call.clone()];
    let effects = api(
        &mut app,
        request,
        finished_with(paused.clone(), "pause_turn", usage(5, 5)),
    );
    // Resumed at once: the paused content is the final assistant message, unchanged.
    let (_, resumed, body) = the_send(&effects);
    assert_ne!(resumed, request);
    let last_sent = body.messages.last().unwrap();
    assert_eq!(last_sent.role, Role::Assistant);
    assert_eq!(last_sent.content, MessageContent::Blocks(paused.clone()));
    assert_eq!(body.messages.len(), 2);

    let result = block(serde_json::json!({
        "type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []
    }));
    let rest = vec![result.clone(), ContentBlock::text("Found it.")];
    api(
        &mut app,
        resumed,
        finished_with(rest, "end_turn", usage(7, 3)),
    );
    let reply = last(&app);
    assert_eq!(
        reply.stored.content,
        vec![
            ContentBlock::text("Let me search."),
            call,
            result,
            ContentBlock::text("Found it.")
        ]
    );
    assert_eq!(reply.stored.usage.unwrap().output_tokens, 8);
    assert!(!app.pane().is_busy());
}

#[test]
fn paused_turns_are_resumed_a_few_times_in_a_row_then_left_to_continue() {
    let mut app = new_app();
    let (_, mut request, _) = the_send(&submit(&mut app, "search"));
    let mut sends = 0;
    loop {
        let paused = vec![ContentBlock::text(format!("step {sends}."))];
        let effects = api(
            &mut app,
            request,
            finished_with(paused, "pause_turn", usage(1, 1)),
        );
        match sends_of(&effects) {
            Some(next) => request = next,
            None => break,
        }
        sends += 1;
        assert!(sends < 20, "resumed without end");
    }
    assert_eq!(sends, 5);
    assert_eq!(last(&app).stored.stop_reason.as_deref(), Some("pause_turn"));
    // `/continue` resumes it again.
    assert!(sends_of(&submit(&mut app, "/continue")).is_some());
}

fn sends_of(effects: &[Effect]) -> Option<tern::app::RequestId> {
    sends(effects).first().map(|(_, request, _)| *request)
}

#[test]
fn a_refused_exchange_is_not_sent_again_and_can_be_retried() {
    let mut app = new_app();
    turn(&mut app, "hello", "hi");
    let (_, request, _) = the_send(&submit(&mut app, "something bad"));
    api(&mut app, request, ApiEvent::Text("I".into()));
    let refused = vec![ContentBlock::text("I")];
    api(
        &mut app,
        request,
        finished_with(refused, "refusal", usage(1, 1)),
    );

    // Retrying asks the same prompt again (on whatever model is chosen now).
    let (_, retry, body) = the_send(&app.update(ctrl('t')));
    assert_eq!(
        history(&body).last().unwrap(),
        &(Role::User, "something bad".into())
    );
    let again = vec![ContentBlock::text("I")];
    api(
        &mut app,
        retry,
        finished_with(again, "refusal", usage(1, 1)),
    );

    // The next prompt goes without the refused exchange.
    let (_, _, body) = the_send(&submit(&mut app, "something else"));
    assert_eq!(
        history(&body),
        [
            (Role::User, "hello".into()),
            (Role::Assistant, "hi".into()),
            (Role::User, "something else".into()),
        ]
    );
}

#[test]
fn a_continued_stopped_reply_keeps_the_estimate_of_what_it_had() {
    let mut app = new_app();
    let (_, request, _) = the_send(&submit(&mut app, "q"));
    api(&mut app, request, started(10));
    api(&mut app, request, ApiEvent::Text("word ".repeat(40)));
    let _ = app.update(key(KeyCode::Esc));
    let before = last(&app).tokens().unwrap().usage.output_tokens;
    assert!(before >= 40, "{before}");
    let (_, more, _) = the_send(&submit(&mut app, "/continue"));
    let rest = vec![ContentBlock::text("end")];
    api(
        &mut app,
        more,
        finished_with(rest, "end_turn", usage(100, 5)),
    );
    let u = last(&app).stored.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (110, before + 5));
}

// ─── Branches: regenerate, edit, switch, select ─────────────────────────────────────────

/// The texts of the active path.
fn path(app: &App) -> Vec<String> {
    app.pane().messages.iter().map(|m| m.text.clone()).collect()
}

fn marks(app: &App) -> Vec<Option<(usize, usize)>> {
    app.pane().messages.iter().map(|m| m.branch).collect()
}

#[test]
fn regen_makes_a_sibling_reply_and_the_next_turn_sends_the_active_path_only() {
    let mut app = new_app();
    turn(&mut app, "q1", "a1");
    turn(&mut app, "q2", "first answer");
    let effects = submit(&mut app, "/regen claude-opus-4.6");
    let (_, request, body) = the_send(&effects);
    assert_eq!(body.model, "claude-opus-4.6");
    assert_eq!(
        history(&body),
        [
            (Role::User, "q1".into()),
            (Role::Assistant, "a1".into()),
            (Role::User, "q2".into()),
        ]
    );
    // The new reply is the first answer's sibling: same parent, a later seq.
    let saved = saved_messages(&effects);
    let q2 = app.pane().messages[2].stored.id.clone();
    assert_eq!(saved[0].parent_id.as_deref(), Some(q2.as_str()));
    reply(&mut app, request, "second answer", usage(1, 1));
    assert_eq!(path(&app), ["q1", "a1", "q2", "second answer"]);
    assert_eq!(marks(&app), [None, None, None, Some((2, 2))]);
    assert!(app.pane().next_seq() > 4);

    // Back to the first answer: the next turn carries it, not the second.
    io(submit(&mut app, "/branch prev"));
    assert_eq!(path(&app), ["q1", "a1", "q2", "first answer"]);
    assert_eq!(marks(&app)[3], Some((1, 2)));
    let (_, _, body) = the_send(&submit(&mut app, "q3"));
    let sent: Vec<String> = history(&body).into_iter().map(|(_, t)| t).collect();
    assert_eq!(sent, ["q1", "a1", "q2", "first answer", "q3"]);
}

#[test]
fn edit_sends_a_sibling_prompt_and_esc_gives_the_draft_back() {
    let mut app = new_app();
    turn(&mut app, "q1", "a1");
    turn(&mut app, "q2", "a2");
    // From selection, `e` puts the prompt in the input; Esc gives the draft back.
    type_str(&mut app, "half typed");
    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Char('e'))));
    assert_eq!(app.pane().input_text(), "q2");
    assert!(app.pane().editing.is_some());
    let _ = io(app.update(key(KeyCode::Esc)));
    assert!(app.pane().editing.is_none());
    assert_eq!(app.pane().input_text(), "half typed");
    app.pane_mut().input = tern::app::new_input();

    let _ = io(submit(&mut app, "/edit"));
    assert_eq!(app.pane().input_text(), "q2");
    type_str(&mut app, ", better");
    let effects = io(app.update(key(KeyCode::Enter)));
    let (_, request, body) = the_send(&effects);
    let sent: Vec<String> = history(&body).into_iter().map(|(_, t)| t).collect();
    assert_eq!(sent, ["q1", "a1", "q2, better"]);
    let a1 = app.pane().messages[1].stored.id.clone();
    let new_prompt = &saved_messages(&effects)[0];
    assert_eq!(new_prompt.parent_id.as_deref(), Some(a1.as_str()));
    reply(&mut app, request, "a2'", usage(1, 1));
    assert_eq!(path(&app), ["q1", "a1", "q2, better", "a2'"]);
    assert_eq!(marks(&app)[2], Some((2, 2)));
    // The old branch is still there, whole.
    io(submit(&mut app, "/branch prev"));
    assert_eq!(path(&app), ["q1", "a1", "q2", "a2"]);
}

#[test]
fn selection_mode_moves_switches_copies_regenerates_and_forks() {
    let mut app = new_app();
    turn(&mut app, "q1", "a1");
    turn(&mut app, "q2", "a2");
    let (_, request, _) = the_send(&submit(&mut app, "/regen"));
    reply(&mut app, request, "a2 again", usage(1, 1));

    let _ = io(app.update(ctrl('s')));
    assert_eq!(app.pane().selection, Some(3));
    // ← shows the earlier version, → the later one again.
    let _ = io(app.update(key(KeyCode::Left)));
    assert_eq!(path(&app)[3], "a2");
    let _ = io(app.update(key(KeyCode::Right)));
    assert_eq!(path(&app)[3], "a2 again");
    // ↑ twice: a1. y copies it.
    let _ = io(app.update(key(KeyCode::Up)));
    let _ = io(app.update(key(KeyCode::Up)));
    assert_eq!(app.pane().selection, Some(1));
    let copied = io(app.update(key(KeyCode::Char('y'))));
    assert!(
        matches!(&copied[..], [Effect::Copy { text, .. }] if text == "a1"),
        "{copied:?}"
    );
    // Keys do not reach the input while selecting.
    assert_eq!(app.pane().input_text(), "");
    // f: a new tab with q1, a1, saved as a conversation of its own.
    let forked = io(app.update(key(KeyCode::Char('f'))));
    assert_eq!(app.panes.len(), 2);
    assert_eq!(path(&app), ["q1", "a1"]);
    assert!(matches!(
        forked[0],
        Effect::Save(WriteCommand::CreateConversation(_))
    ));
    assert_eq!(saved_messages(&forked).len(), 2);
    assert_ne!(app.pane().id(), app.panes[0].id());
    // Back in the first tab, r on a1 answers q1 again, as a sibling of a1.
    let _ = app.update(alt(KeyCode::Char('1')));
    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Up)));
    let _ = io(app.update(key(KeyCode::Up)));
    let effects = io(app.update(key(KeyCode::Char('r'))));
    let (_, _, body) = the_send(&effects);
    assert_eq!(history(&body), [(Role::User, "q1".into())]);
    assert_eq!(app.pane().selection, None);
}

#[test]
fn branches_wait_while_a_reply_streams() {
    let mut app = new_app();
    turn(&mut app, "q", "a");
    let (_, _request, _) = the_send(&submit(&mut app, "again"));
    assert!(io(submit(&mut app, "/regen")).is_empty());
    assert_notice(&app, NoticeKind::Info, "still arriving");
}

#[test]
fn d_twice_in_selection_deletes_a_branch_and_shows_its_sibling() {
    let mut app = new_app();
    turn(&mut app, "q1", "a1");
    turn(&mut app, "q2", "a2");
    let (_, request, _) = the_send(&submit(&mut app, "/regen"));
    reply(&mut app, request, "a2 again", usage(1, 1));
    let before = app.pane().branch_count();
    assert_eq!(before, 2);

    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    assert_notice(&app, NoticeKind::Error, "d again deletes");
    // Another key lets it go.
    let _ = io(app.update(key(KeyCode::Char('x'))));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    assert_eq!(path(&app), ["q1", "a1", "q2", "a2"]);
    assert_eq!(marks(&app)[3], None);
    assert_eq!(app.pane().branch_count(), 1);

    // Deleting a prompt takes its reply with it: the path ends at the message before.
    let _ = io(app.update(key(KeyCode::Up)));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    assert_eq!(path(&app), ["q1", "a1"]);
    assert_notice(&app, NoticeKind::Info, "deleted 2 messages");
    assert_eq!(app.pane().selection, Some(1));
}

#[test]
fn shift_r_in_selection_regenerates_with_the_model_picked() {
    let mut app = new_app();
    turn(&mut app, "q", "a");
    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Char('R'))));
    assert!(matches!(app.overlay, Overlay::ModelPicker(_)));
    // The picker says what the pick is for.
    let mut view = tern::ui::ViewState::new(tern::render::Theme::default(), time::UtcOffset::UTC);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| tern::ui::draw(&app, &mut view, frame))
        .unwrap();
    let screen = common::screen_text(terminal.backend().buffer());
    assert!(screen.contains("Regenerate the reply with"), "{screen}");
    type_str(&mut app, "claude-opus-4.6");
    let (_, _, body) = the_send(&io(app.update(key(KeyCode::Enter))));
    assert_eq!(body.model, "claude-opus-4.6");
    assert_eq!(history(&body), [(Role::User, "q".into())]);
    // Esc in the picker regenerates nothing.
    let _ = io(app.update(key(KeyCode::Esc)));
    let mut app = new_app();
    turn(&mut app, "q", "a");
    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Char('R'))));
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(app.pane().regen_after_pick, None);
}

#[test]
fn a_search_hit_in_another_branch_opens_on_that_branch() {
    let mut app = new_app();
    turn(&mut app, "q", "first answer");
    let first = app.pane().messages[1].stored.id.clone();
    let (_, request, _) = the_send(&submit(&mut app, "/regen"));
    reply(&mut app, request, "second answer", usage(1, 1));
    assert_eq!(path(&app), ["q", "second answer"]);
    let conversation = app.pane().id().to_owned();
    let effects = io(app.update(Action::ShowMessage {
        conversation: conversation.clone(),
        message: first.clone(),
    }));
    assert_eq!(path(&app), ["q", "first answer"]);
    assert_eq!(
        effects,
        [Effect::Save(WriteCommand::SetActiveLeaf {
            conversation: conversation.clone(),
            leaf: first.clone(),
        })]
    );
    // A hit already on the path moves nothing.
    let effects = io(app.update(Action::ShowMessage {
        conversation,
        message: first,
    }));
    assert!(effects.is_empty(), "{effects:?}");
}

// ─── Compare ─────────────────────────────────────────────────────────────────────────────

#[test]
fn compare_sends_the_prompt_to_each_model_and_pick_keeps_one() {
    let mut app = new_app();
    turn(&mut app, "q1", "a1");
    assert!(
        sends(&submit(
            &mut app,
            "/compare claude-haiku-4.5 claude-opus-4.6"
        ))
        .is_empty()
    );
    assert_notice(&app, NoticeKind::Info, "compare");
    let effects = submit(&mut app, "which bird?");
    let sent = sends(&effects);
    assert_eq!(sent.len(), 2);
    let models: Vec<&str> = sent.iter().map(|(_, _, b)| b.model.as_str()).collect();
    assert_eq!(models, ["claude-haiku-4.5", "claude-opus-4.6"]);
    for (_, _, body) in &sent {
        let texts: Vec<String> = history(body).into_iter().map(|(_, t)| t).collect();
        assert_eq!(texts, ["q1", "a1", "which bird?"]);
    }
    // Both replies are saved as siblings under the prompt; the path ends at the prompt.
    let saved = saved_messages(&effects);
    let prompt = saved[0].id.clone();
    assert_eq!(saved.len(), 3);
    assert!(
        saved[1..]
            .iter()
            .all(|m| m.parent_id.as_deref() == Some(prompt.as_str()))
    );
    assert_eq!(path(&app), ["q1", "a1", "which bird?"]);
    assert!(app.pane().is_busy());

    // Each streams independently.
    let (haiku, opus) = (sent[0].1, sent[1].1);
    api(&mut app, haiku, ApiEvent::Text("A tern.".into()));
    api(&mut app, opus, ApiEvent::Text("A puffin".into()));
    let column = |app: &App, i: usize| {
        let id = &app.pane().columns[i].message;
        app.pane().message(id).unwrap().text.clone()
    };
    assert_eq!(
        (column(&app, 0), column(&app, 1)),
        ("A tern.".into(), "A puffin".into())
    );
    api(
        &mut app,
        haiku,
        finished("claude-haiku-4.5", "A tern.", usage(5, 3)),
    );
    assert!(app.pane().is_busy(), "one column still streams");
    // /pick waits for them all.
    assert!(io(submit(&mut app, "/pick 2")).is_empty());
    assert_notice(&app, NoticeKind::Error, "still arriving");
    app.pane_mut().input = tern::app::new_input();
    api(
        &mut app,
        opus,
        finished("claude-opus-4.6", "A puffin.", usage(5, 3)),
    );
    assert!(!app.pane().is_busy());

    // F6 on a finished column picks it, as /pick 2 does.
    let effects = io(app.update(key(KeyCode::F(6))));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Save(WriteCommand::SetActiveLeaf { .. })))
    );
    assert_eq!(path(&app), ["q1", "a1", "which bird?", "A puffin."]);
    assert_eq!(marks(&app)[3], Some((2, 2)));
    assert!(app.pane().columns.is_empty());
    assert_eq!(app.pane().model, "claude-opus-4.6");
}

#[test]
fn a_failing_column_does_not_stop_the_others_and_esc_stops_all() {
    let mut app = new_app();
    io(submit(
        &mut app,
        "/compare claude-haiku-4.5 claude-opus-4.6 claude-sonnet-4.5",
    ));
    let sent = sends(&submit(&mut app, "hi"));
    assert_eq!(sent.len(), 3);
    api(&mut app, sent[0].1, failed(unauthorized()));
    api(&mut app, sent[1].1, ApiEvent::Text("partial".into()));
    let first = app.pane().columns[0].message.clone();
    assert_eq!(
        app.pane().message(&first).unwrap().status(),
        MessageStatus::Error
    );
    assert!(app.pane().is_busy());
    // F6 stops the second column only.
    let effects = io(app.update(key(KeyCode::F(6))));
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Cancel(_)))
            .count(),
        1
    );
    assert!(app.pane().is_busy(), "the third still streams");
    let effects = io(app.update(key(KeyCode::Esc)));
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Cancel(_)))
            .count(),
        1
    );
    assert!(!app.pane().is_busy());
    let second = app.pane().columns[1].message.clone();
    assert_eq!(
        app.pane().message(&second).unwrap().status(),
        MessageStatus::Stopped
    );
    // A prompt sent without picking goes on from the first reply (which failed, so its
    // prompt joins the next one).
    let (_, _, body) = sends(&submit(&mut app, "next"))[0].clone();
    assert_eq!(history(&body).last().unwrap().1, "hi\n\nnext");
}

#[test]
fn compare_needs_two_to_four_models_and_turns_off() {
    let mut app = new_app();
    io(submit(&mut app, "/compare claude-haiku-4.5"));
    assert_notice(&app, NoticeKind::Error, "2 to 4");
    // The typo stays in the input to fix.
    assert_eq!(app.pane().input_text(), "/compare claude-haiku-4.5");
    app.pane_mut().input = tern::app::new_input();
    io(submit(&mut app, "/compare a b"));
    assert_eq!(app.pane().compare, ["a", "b"]);
    io(submit(&mut app, "/compare off"));
    assert!(app.pane().compare.is_empty());
    assert_eq!(sends(&submit(&mut app, "hi")).len(), 1);
}

#[test]
fn fork_waits_for_the_reply_and_the_first_message_alone_is_not_deleted_here() {
    let mut app = new_app();
    turn(&mut app, "q", "a");
    let _ = the_send(&submit(&mut app, "slow one"));
    let _ = io(app.update(ctrl('s')));
    assert!(io(app.update(key(KeyCode::Char('f')))).is_empty());
    assert_eq!(app.panes.len(), 1);
    assert_notice(&app, NoticeKind::Info, "still arriving");

    let mut app = new_app();
    turn(&mut app, "q", "a");
    let _ = io(app.update(ctrl('s')));
    let _ = io(app.update(key(KeyCode::Char('g'))));
    let _ = io(app.update(key(KeyCode::Char('d'))));
    assert_notice(&app, NoticeKind::Info, "whole conversation");
    let _ = io(app.update(key(KeyCode::Char('d'))));
    assert_eq!(path(&app), ["q", "a"]);
}

#[test]
fn pick_refuses_a_failed_reply_and_branch_looks_only_at_the_last_exchange() {
    let mut app = new_app();
    io(submit(&mut app, "/compare claude-haiku-4.5 no-such-model"));
    let sent = sends(&submit(&mut app, "q"));
    api(
        &mut app,
        sent[0].1,
        finished("claude-haiku-4.5", "a", usage(1, 1)),
    );
    api(&mut app, sent[1].1, failed(unauthorized()));
    io(submit(&mut app, "/pick 2"));
    assert_notice(&app, NoticeKind::Error, "reply 2 failed");
    app.pane_mut().input = tern::app::new_input();
    io(submit(&mut app, "/pick 1"));
    io(submit(&mut app, "/compare off"));
    // A later exchange without alternatives: /branch does not reach up to the compare.
    turn(&mut app, "later", "answer");
    let before = path(&app);
    io(submit(&mut app, "/branch prev"));
    assert_notice(&app, NoticeKind::Info, "no other versions");
    assert_eq!(path(&app), before);
}

#[test]
fn the_spinner_turns_while_compare_columns_wait_for_their_first_text() {
    let mut app = new_app();
    io(submit(
        &mut app,
        "/compare claude-haiku-4.5 claude-opus-4.6",
    ));
    type_str(&mut app, "q");
    let effects = app.update(key(KeyCode::Enter));
    let spinner = |effects: &[Effect]| {
        effects.iter().any(|e| {
            matches!(
                e,
                Effect::Schedule {
                    timer: tern::app::Timer::Spinner,
                    ..
                }
            )
        })
    };
    assert!(spinner(&effects), "{effects:?}");
    assert!(app.is_waiting());
    let requests: Vec<_> = sends(&effects).into_iter().map(|(_, r, _)| r).collect();
    for request in requests {
        api(&mut app, request, ApiEvent::Text("x".into()));
    }
    assert!(!app.is_waiting());
}
