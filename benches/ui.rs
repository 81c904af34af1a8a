//! Frame cost: drawing a huge conversation, and one streamed delta plus a redraw; the
//! request of a long conversation; opening a tree of branches and switching between them.
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tern::api::{ContentBlock, Role};
use tern::app::{Action, ApiEvent, App, Effect};
use tern::store::{Conversation, MessageStatus, StoredMessage};
use tern::ui::{ViewState, draw};

mod support;
use support::{CompareRig, body, conversation, conversation_with, settings};

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x50");
    for messages in [10usize, 10_000] {
        let app = conversation(messages);
        let mut view = ViewState::new(tern::render::Theme::default(), time::UtcOffset::UTC);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        terminal.draw(|f| draw(&app, &mut view, f)).unwrap();
        group.bench_function(format!("{messages}_messages"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| draw(black_box(&app), &mut view, f))
                    .unwrap();
            })
        });
    }
    group.finish();
}

/// The request for the next turn of a 1,000-turn conversation whose replies all thought: built
/// (what `App::update` does on a send) and dropped; then built and encoded as the driver sends
/// it (`stream` set, JSON bytes): the request's whole per-send cost but the driver's own copy.
fn request_for_a_long_conversation(c: &mut Criterion) {
    let app = conversation_with(2_001, true); // 1,000 turns and the new prompt
    c.bench_function("build_request_1000_turns_with_thinking", |b| {
        b.iter(|| black_box(app.pane().build_request(&app.settings)))
    });
    c.bench_function("build_and_encode_request_1000_turns_with_thinking", |b| {
        b.iter(|| {
            let mut request = app.pane().build_request(&app.settings);
            request.stream = Some(true);
            black_box(serde_json::to_vec(&request).unwrap())
        })
    });
}

fn streaming_delta(c: &mut Criterion) {
    for (w, h) in [(200, 50), (120, 40)] {
        streaming_delta_at(c, w, h);
    }
}

fn streaming_delta_at(c: &mut Criterion, width: u16, height: u16) {
    let mut app = conversation(10);
    let mut view = ViewState::new(tern::render::Theme::default(), time::UtcOffset::UTC);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    for ch in "go".chars() {
        let _ = app.update(Action::Key(KeyEvent::new(
            KeyCode::Char(ch),
            KeyModifiers::NONE,
        )));
    }
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let (conversation, request) = effects
        .iter()
        .find_map(|e| match e {
            Effect::Send {
                conversation,
                request,
                ..
            } => Some((conversation.clone(), *request)),
            _ => None,
        })
        .expect("a request");
    let send = |app: &mut App, text: &str| {
        app.update(Action::Api {
            conversation: conversation.clone(),
            request,
            event: ApiEvent::Text(text.to_owned()),
        })
    };
    // 50 KB in progress, in paragraph-sized deltas.
    let mut fed = 0;
    let mut i = 0;
    while fed < 50_000 {
        let chunk = body(i);
        fed += chunk.len();
        send(&mut app, &chunk);
        i += 1;
    }
    send(&mut app, "\n\nA paragraph in progress:");
    terminal.draw(|f| draw(&app, &mut view, f)).unwrap();
    // Paragraphs of ~40 deltas (~600 bytes), as replies have, so the unfinished tail stays
    // realistic however many iterations criterion runs.
    let mut n = 0u64;
    c.bench_function(
        &format!("delta_and_redraw_50KB_reply_{width}x{height}"),
        |b| {
            b.iter(|| {
                n += 1;
                let delta = if n.is_multiple_of(40) {
                    " end.\n\nNext "
                } else {
                    " the tern dives"
                };
                send(&mut app, black_box(delta));
                terminal.draw(|f| draw(&app, &mut view, f)).unwrap();
            })
        },
    );
}

/// A conversation of 1,000 messages over 101 branches: a line of 500, and at every fifth
/// prompt of it another reply opening a branch of five more messages.
fn branched_messages() -> (Conversation, Vec<StoredMessage>) {
    let conversation = Conversation::new("branches");
    let mut messages = Vec::new();
    let message = |id: String, seq: usize, parent: Option<String>, role: Role| StoredMessage {
        id,
        conversation_id: conversation.id.clone(),
        seq: seq as i64,
        parent_id: parent,
        role,
        content: vec![ContentBlock::text(body(seq))],
        model: (role == Role::Assistant).then(|| "claude-sonnet-4.6".to_owned()),
        usage: None,
        stop_reason: None,
        status: MessageStatus::Complete,
        error: None,
        response: None,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
    };
    let role = |i: usize| {
        if i.is_multiple_of(2) {
            Role::User
        } else {
            Role::Assistant
        }
    };
    for i in 0..500usize {
        let parent = i.checked_sub(1).map(|p| format!("m{p}"));
        messages.push(message(format!("m{i}"), i, parent, role(i)));
    }
    let mut seq = 500;
    for branch in 0..100 {
        let mut parent = format!("m{}", branch * 5 * 2 % 500);
        for step in 0..5 {
            let id = format!("b{branch}_{step}");
            messages.push(message(id.clone(), seq, Some(parent), role(step + 1)));
            parent = id;
            seq += 1;
        }
    }
    (conversation, messages)
}

/// Opening that conversation, and switching a reply near its top to its other version (so
/// almost the whole path changes) and drawing the next frame, at 200×50.
fn branches(c: &mut Criterion) {
    let (conversation, messages) = branched_messages();
    c.bench_function("open_1000_messages_101_branches", |b| {
        b.iter_batched(
            || {
                let app = App::new(
                    settings(),
                    Instant::now(),
                    tern::store::now_ms(),
                    tern::app::Ids::seeded(1),
                );
                (app, conversation.clone(), messages.clone())
            },
            |(mut app, conversation, messages)| {
                let _ = app.update(Action::OpenSaved {
                    conversation,
                    messages,
                });
                app
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let mut app = App::new(
        settings(),
        Instant::now(),
        tern::store::now_ms(),
        tern::app::Ids::seeded(1),
    );
    let _ = app.update(Action::OpenSaved {
        conversation,
        messages,
    });
    // The first reply: its sibling opens a branch, so a switch replaces the path below it.
    let first_reply = 1;
    assert!(app.pane().siblings(first_reply).1 >= 2);
    let mut view = ViewState::new(tern::render::Theme::default(), time::UtcOffset::UTC);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    terminal.draw(|f| draw(&app, &mut view, f)).unwrap();
    let _ = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    let left = || Action::Key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
    c.bench_function("switch_branch_and_draw_1000_messages_200x50", |b| {
        b.iter(|| {
            app.pane_mut().selection = Some(first_reply);
            let _ = app.update(black_box(left()));
            view.sync(&mut app);
            terminal.draw(|f| draw(&app, &mut view, f)).unwrap();
        })
    });
}

/// A compare of three models at 200×50, each reply 20 KB in progress: one delta to every
/// column and a redraw per iteration; and the same with one reply streaming beside an idle
/// one, for the ratio (each column renders only its unfinished block again).
fn compare_columns(c: &mut Criterion) {
    for (models, streaming) in [(3, 3), (2, 1)] {
        let mut rig = CompareRig::new(models, streaming);
        c.bench_function(
            &format!("compare_{streaming}_streaming_delta_and_redraw_200x50"),
            |b| b.iter(|| rig.frame()),
        );
    }
}

criterion_group!(
    benches,
    compare_columns,
    frame,
    streaming_delta,
    request_for_a_long_conversation,
    branches
);
criterion_main!(benches);
