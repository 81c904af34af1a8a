//! The saved-conversation browser (Ctrl+R), and opening saved conversations.
//!
//! First as a pure state machine (`App::update`: every key, asserted on state and effects), then
//! end to end through the real loop (`Session::run` on a `TestBackend`, the fake server, a
//! temporary store): search, open, continue with the whole history; rename and delete; and
//! `--resume` / `--continue` (`Start::Resume`, `Start::Continue`).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "common/session.rs"]
mod session;

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::buffer::Buffer;
use tern::api::Role;
use tern::app::{
    Action, App, BrowserMode, BrowserRow, BrowserState, Effect, NoticeKind, Overlay, ScrollBy,
};
use tern::driver::Start;
use tern::store::WriteCommand;
use tern::store::{ConversationSummary, MessageStatus};

use common::stored::{self, saved_conversation};
use common::*;
use session::{Rig, User, quit, request_history, screen_text, status_line};

// ─── Reducer: helpers ────────────────────────────────────────────────────────────────────

const HAIKU: &str = "claude-haiku-4.5";

fn id(i: usize) -> String {
    format!("c0de{i:012x}")
}

fn row(id: &str, title: &str) -> BrowserRow {
    let mut conversation = stored::conversation(id, title, stored::T0);
    conversation.last_model = Some(HAIKU.to_owned());
    BrowserRow {
        summary: ConversationSummary {
            conversation,
            message_count: 2,
            models: vec![HAIKU.to_owned()],
            total_input_tokens: 10,
            total_output_tokens: 20,
            preview: "an answer".to_owned(),
            branches: 1,
        },
        snippet: None,
        hit_message: None,
    }
}

fn rows(n: usize) -> Vec<BrowserRow> {
    (0..n)
        .map(|i| row(&id(i), &format!("Conversation {i}")))
        .collect()
}

fn row_ids(app: &App) -> Vec<String> {
    browser(app)
        .rows
        .iter()
        .map(|r| r.summary.conversation.id.clone())
        .collect()
}

#[track_caller]
fn browser(app: &App) -> &BrowserState {
    match &app.overlay {
        Overlay::Browser(b) => b,
        other => panic!("the browser is not open: {other:?}"),
    }
}

/// Open `id` (titled `title`, answered by `model`) in a tab, as the driver does after
/// `Effect::OpenConversation`.
fn open_saved_chat(app: &mut App, id: &str, title: &str, model: &str) {
    let (conversation, messages) = saved_conversation(id, title, model);
    let _ = open_saved(app, conversation, messages);
}

/// Ctrl+R, then the answer to its first query; the answer's effects.
fn open_browser_with(app: &mut App, rows: Vec<BrowserRow>) -> Vec<Effect> {
    let effects = app.update(ctrl('r'));
    assert_eq!(
        effects,
        [Effect::BrowserQuery {
            generation: 1,
            query: String::new()
        }]
    );
    app.update(Action::BrowserRows {
        generation: 1,
        rows: Ok(rows),
    })
}

fn preview(id: String) -> Action {
    Action::BrowserPreview {
        messages: saved_conversation(&id, "t", HAIKU).1,
        id,
    }
}

fn query(generation: u64, query: &str) -> Effect {
    Effect::BrowserQuery {
        generation,
        query: query.to_owned(),
    }
}

// ─── Reducer: opening, querying ──────────────────────────────────────────────────────────

#[test]
fn ctrl_r_opens_the_browser_and_asks_for_generation_1_with_an_empty_query() {
    let mut app = new_app();
    assert_eq!(app.update(ctrl('r')), [query(1, "")]);
    assert_eq!(
        *browser(&app),
        BrowserState {
            generation: 1,
            loading: true,
            ..BrowserState::default()
        }
    );

    // The list arrives: shown, and the first row's preview is asked for.
    let effects = app.update(Action::BrowserRows {
        generation: 1,
        rows: Ok(rows(3)),
    });
    assert_eq!(effects, [Effect::BrowserPreview(id(0))]);
    let b = browser(&app);
    assert!(!b.loading);
    assert_eq!(b.rows, rows(3));
    assert_eq!(b.selected, 0);

    // An empty store: nothing to preview.
    let mut app = new_app();
    assert!(open_browser_with(&mut app, Vec::new()).is_empty());
    assert_eq!(browser(&app).preview, None);
    assert!(!browser(&app).loading);
}

#[test]
fn typing_backspace_and_paste_bump_the_generation_and_query_again() {
    let mut app = new_app();
    open_browser_with(&mut app, rows(5));
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(browser(&app).selected, 2);

    assert_eq!(app.update(key(KeyCode::Char('p'))), [query(2, "p")]);
    assert_eq!(browser(&app).selected, 0, "a new query starts at the top");
    assert!(browser(&app).loading);
    // Shifted letters are text too.
    assert_eq!(
        app.update(press(KeyCode::Char('E'), KeyModifiers::SHIFT)),
        [query(3, "pE")]
    );
    assert_eq!(app.update(key(KeyCode::Backspace)), [query(4, "p")]);
    assert_eq!(app.update(key(KeyCode::Backspace)), [query(5, "")]);
    // Nothing left to delete: no new query.
    assert!(io(app.update(key(KeyCode::Backspace))).is_empty());
    assert_eq!(browser(&app).generation, 5);
    // A paste adds its first line only.
    assert_eq!(
        app.update(Action::Paste("peli\r\ncans and more".into())),
        [query(6, "peli")]
    );
    assert_eq!(app.update(key(KeyCode::Char(' '))), [query(7, "peli ")]);
    // Control chords are not text.
    assert!(io(app.update(ctrl('x'))).is_empty());
    assert_eq!(browser(&app).query, "peli ");
    // Readline's habits: Ctrl+W drops the last word, Ctrl+U the whole query.
    for c in "cans".chars() {
        let _ = app.update(key(KeyCode::Char(c)));
    }
    assert_eq!(app.update(ctrl('w')), [query(12, "peli ")]);
    assert_eq!(app.update(ctrl('w')), [query(13, "")]);
    let _ = app.update(key(KeyCode::Char('z')));
    assert_eq!(app.update(ctrl('u')), [query(15, "")]);
    assert!(
        io(app.update(ctrl('u'))).is_empty(),
        "nothing left to clear"
    );
    // The conversation's own input is untouched by all of it.
    assert_eq!(app.pane().input_text(), "");
}

#[test]
fn rows_for_an_older_query_are_ignored() {
    let mut app = new_app();
    open_browser_with(&mut app, rows(2));
    let _ = app.update(key(KeyCode::Char('a'))); // generation 2
    let _ = app.update(key(KeyCode::Char('b'))); // generation 3

    for stale in [2, 1] {
        let effects = app.update(Action::BrowserRows {
            generation: stale,
            rows: Ok(vec![row(&id(9), "stale")]),
        });
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(row_ids(&app), [id(0), id(1)], "generation {stale} applied");
        assert!(browser(&app).loading, "still waiting for generation 3");
    }
    let stale_error = app.update(Action::BrowserRows {
        generation: 2,
        rows: Err("database is locked".into()),
    });
    assert!(stale_error.is_empty());
    assert_eq!(browser(&app).error, None);

    let effects = app.update(Action::BrowserRows {
        generation: 3,
        rows: Ok(vec![row(&id(7), "ab match")]),
    });
    assert_eq!(effects, [Effect::BrowserPreview(id(7))]);
    assert_eq!(row_ids(&app), [id(7)]);
    assert!(!browser(&app).loading);

    // A failing query shows its error; the next good answer clears it.
    let _ = app.update(key(KeyCode::Char('c'))); // generation 4
    let _ = app.update(Action::BrowserRows {
        generation: 4,
        rows: Err("database is locked".into()),
    });
    assert_eq!(browser(&app).error.as_deref(), Some("database is locked"));
    assert!(!browser(&app).loading);
    let _ = app.update(key(KeyCode::Backspace)); // generation 5
    let _ = app.update(Action::BrowserRows {
        generation: 5,
        rows: Ok(rows(1)),
    });
    assert_eq!(browser(&app).error, None);

    // Once closed, late answers change nothing.
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(app.overlay, Overlay::None);
    let late = app.update(Action::BrowserRows {
        generation: 5,
        rows: Ok(rows(4)),
    });
    assert!(late.is_empty());
    assert!(io(app.update(preview(id(0)))).is_empty());
    assert_eq!(app.overlay, Overlay::None);
}

// ─── Reducer: selection and previews ─────────────────────────────────────────────────────

#[test]
fn the_selection_moves_and_previews_follow_the_selected_id() {
    let mut app = new_app();
    assert_eq!(
        open_browser_with(&mut app, rows(25)),
        [Effect::BrowserPreview(id(0))]
    );
    let _ = app.update(preview(id(0)));
    assert_eq!(
        browser(&app).preview.as_ref().map(|(p, _)| p.clone()),
        Some(id(0))
    );

    // (key, selected after, preview asked for)
    let steps = [
        (KeyCode::Up, 0, None),
        (KeyCode::PageUp, 0, None),
        (KeyCode::Down, 1, Some(1)),
        (KeyCode::Up, 0, Some(0)),
        (KeyCode::PageDown, 10, Some(10)),
        (KeyCode::PageDown, 20, Some(20)),
        (KeyCode::PageDown, 24, Some(24)),
        (KeyCode::PageDown, 24, None),
        (KeyCode::Down, 24, None),
        (KeyCode::PageUp, 14, Some(14)),
        (KeyCode::Up, 13, Some(13)),
        (KeyCode::PageUp, 3, Some(3)),
        (KeyCode::PageUp, 0, Some(0)),
    ];
    for (key_code, selected, asked) in steps {
        let effects = app.update(key(key_code));
        assert_eq!(browser(&app).selected, selected, "after {key_code:?}");
        let expected: Vec<Effect> = asked
            .map(|i| Effect::BrowserPreview(id(i)))
            .into_iter()
            .collect();
        assert_eq!(effects, expected, "after {key_code:?} to {selected}");
        // The driver answers.
        if let Some(i) = asked {
            let _ = app.update(preview(id(i)));
        }
    }

    // Moving away clears the preview at once: another row's preview is never shown while the
    // selected one loads. A late preview of the row left is dropped.
    assert_eq!(
        app.update(key(KeyCode::Down)),
        [Effect::BrowserPreview(id(1))]
    );
    assert!(browser(&app).preview.is_none());
    assert_eq!(
        app.update(key(KeyCode::Up)),
        [Effect::BrowserPreview(id(0))]
    );
    let _ = app.update(preview(id(1)));
    assert!(
        browser(&app).preview.is_none(),
        "the late preview was dropped"
    );
    let _ = app.update(preview(id(0)));
    assert_eq!(
        browser(&app).preview.as_ref().map(|(p, _)| p.clone()),
        Some(id(0))
    );

    // Only the selected conversation's preview is taken.
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(preview(id(5)));
    assert!(
        browser(&app).preview.is_none(),
        "a preview of another row is dropped"
    );
    let _ = app.update(preview(id(1)));
    let (shown, messages) = browser(&app).preview.clone().expect("a preview");
    assert_eq!(shown, id(1));
    assert_eq!(messages.len(), 2);

    // New rows whose selected row is the one already previewed: no new request.
    let _ = app.update(key(KeyCode::Char('x'))); // generation 2, selection back to 0
    let mut same_first = rows(3);
    same_first.swap(0, 1);
    let effects = app.update(Action::BrowserRows {
        generation: 2,
        rows: Ok(same_first),
    });
    assert!(effects.is_empty(), "{effects:?}");
    // A different one at the top: asked for.
    let _ = app.update(key(KeyCode::Char('y'))); // generation 3
    let effects = app.update(Action::BrowserRows {
        generation: 3,
        rows: Ok(vec![row(&id(8), "other")]),
    });
    assert_eq!(effects, [Effect::BrowserPreview(id(8))]);
}

#[test]
fn a_shorter_answer_keeps_the_selection_inside_the_list() {
    let mut app = new_app();
    open_browser_with(&mut app, rows(5));
    for _ in 0..4 {
        let _ = app.update(key(KeyCode::Down));
    }
    assert_eq!(browser(&app).selected, 4);
    // Same generation, fewer rows (the store changed under it).
    let _ = app.update(Action::BrowserRows {
        generation: 1,
        rows: Ok(rows(2)),
    });
    assert_eq!(browser(&app).selected, 1);
    let _ = app.update(Action::BrowserRows {
        generation: 1,
        rows: Ok(Vec::new()),
    });
    assert_eq!(browser(&app).selected, 0);
    assert_eq!(browser(&app).preview, None);
}

// ─── Reducer: open, rename, delete, export, close ────────────────────────────────────────

#[test]
fn enter_opens_the_selected_conversation_and_closes_the_browser() {
    let mut app = new_app();
    // Nothing to open: Enter does nothing, the browser stays.
    open_browser_with(&mut app, Vec::new());
    assert!(io(app.update(key(KeyCode::Enter))).is_empty());
    assert!(matches!(app.overlay, Overlay::Browser(_)));
    let _ = app.update(key(KeyCode::Esc));

    open_browser_with(&mut app, rows(3));
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::OpenConversation(id(1))]
    );
    assert_eq!(app.overlay, Overlay::None);

    // The driver loads it: it replaces the empty start tab, with its own model and history.
    let (conversation, messages) = saved_conversation(&id(1), "Conversation 1", HAIKU);
    let effects = io(open_saved(&mut app, conversation, messages));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        std::mem::take(&mut app.scrolls),
        [tern::app::Scroll {
            conversation: id(1),
            by: ScrollBy::Bottom
        }]
    );
    assert_eq!(app.panes.len(), 1);
    assert_eq!(app.pane().id(), id(1));
    assert_eq!(app.pane().model, HAIKU);
    assert!(app.pane().saved);

    // The next turn continues it with the whole history and its model.
    let (conversation, _, body) = the_send(&submit(&mut app, "follow-up"));
    assert_eq!(conversation, id(1));
    assert_eq!(body.model, HAIKU);
    let roles: Vec<Role> = body.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
}

#[test]
fn opening_a_second_saved_conversation_adds_a_tab_with_its_model() {
    let mut app = new_app();
    open_saved_chat(&mut app, &id(1), "First", HAIKU);
    open_saved_chat(&mut app, &id(2), "Second", "claude-opus-4.6");
    assert_eq!(app.panes.len(), 2);
    assert_eq!(app.active, 1);
    assert_eq!(app.pane().model, "claude-opus-4.6");
    assert_eq!(app.panes[0].model, HAIKU);
    // Opening one that is already open focuses it.
    open_saved_chat(&mut app, &id(1), "First", HAIKU);
    assert_eq!(app.panes.len(), 2);
    assert_eq!(app.active, 0);
}

#[test]
fn f2_renames_the_row_and_its_open_tab() {
    let mut app = new_app();
    open_saved_chat(&mut app, &id(1), "Old title", HAIKU);
    open_browser_with(
        &mut app,
        vec![row(&id(0), "Another"), row(&id(1), "Old title")],
    );
    let _ = app.update(key(KeyCode::Down));

    assert!(io(app.update(key(KeyCode::F(2)))).is_empty());
    assert_eq!(browser(&app).mode, BrowserMode::Rename("Old title".into()));
    // Esc leaves the rename, not the browser.
    assert!(io(app.update(key(KeyCode::Esc))).is_empty());
    assert_eq!(browser(&app).mode, BrowserMode::List);
    assert_eq!(
        browser(&app).rows[1].summary.conversation.title,
        "Old title"
    );

    let _ = app.update(key(KeyCode::F(2)));
    for _ in 0.."Old title".len() {
        assert!(io(app.update(key(KeyCode::Backspace))).is_empty());
    }
    // While renaming, letters are the title, not a search.
    for c in "  Pelicans ".chars() {
        assert!(io(app.update(key(KeyCode::Char(c)))).is_empty());
    }
    assert_eq!(browser(&app).generation, 1);
    assert_eq!(browser(&app).query, "");
    assert_eq!(
        browser(&app).mode,
        BrowserMode::Rename("  Pelicans ".into())
    );
    let effects = io(app.update(key(KeyCode::Enter)));
    assert_eq!(
        effects,
        [Effect::Save(WriteCommand::Rename {
            id: id(1),
            title: "Pelicans".into()
        })]
    );
    let b = browser(&app);
    assert_eq!(b.mode, BrowserMode::List);
    assert_eq!(b.rows[1].summary.conversation.title, "Pelicans");
    assert_eq!(b.rows[0].summary.conversation.title, "Another");
    assert_eq!(app.pane().conversation.title, "Pelicans");
    let notice = app.notice.as_ref().map(|n| n.text.as_str());
    assert_eq!(notice, Some("renamed"));

    // A blank title changes nothing.
    let _ = app.update(key(KeyCode::F(2)));
    for _ in 0.."Pelicans".len() {
        let _ = app.update(key(KeyCode::Backspace));
    }
    let _ = app.update(key(KeyCode::Char(' ')));
    assert!(io(app.update(key(KeyCode::Enter))).is_empty());
    assert_eq!(browser(&app).mode, BrowserMode::List);
    assert_eq!(browser(&app).rows[1].summary.conversation.title, "Pelicans");

    // Later saves of the open tab carry the new title.
    let _ = app.update(key(KeyCode::Esc));
    let effects = submit(&mut app, "/temp 0.5");
    let [Effect::Save(WriteCommand::UpdateConversation(c))] = effects.as_slice() else {
        panic!("{effects:#?}")
    };
    assert_eq!(c.title, "Pelicans");
}

#[test]
fn delete_asks_first_and_y_deletes_the_row_and_closes_its_tab() {
    let mut app = new_app();
    open_saved_chat(&mut app, &id(1), "Doomed", HAIKU);
    assert_eq!(app.pane().id(), id(1));
    open_browser_with(&mut app, rows(3));
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(preview(id(1)));

    // Any key but y keeps it: n, Esc (which leaves the question, not the browser), Enter.
    for other in [KeyCode::Char('n'), KeyCode::Esc, KeyCode::Enter] {
        assert!(io(app.update(key(KeyCode::Delete))).is_empty());
        assert_eq!(browser(&app).mode, BrowserMode::ConfirmDelete);
        assert!(io(app.update(key(other))).is_empty(), "{other:?}");
        assert_eq!(browser(&app).mode, BrowserMode::List, "{other:?}");
        assert_eq!(row_ids(&app), [id(0), id(1), id(2)]);
        assert_eq!(app.pane().id(), id(1));
    }

    let _ = app.update(key(KeyCode::Delete));
    let effects = io(app.update(key(KeyCode::Char('y'))));
    assert_eq!(
        effects,
        [
            Effect::BrowserPreview(id(2)),
            Effect::Save(WriteCommand::DeleteConversation(id(1))),
        ]
    );
    let b = browser(&app);
    assert_eq!(b.mode, BrowserMode::List);
    assert_eq!(row_ids(&app), [id(0), id(2)]);
    assert_eq!(browser(&app).selected, 1);
    assert_eq!(b.preview, None, "the deleted row's preview is gone");
    // Its tab closed; a fresh one took its place.
    assert_eq!(app.panes.len(), 1);
    assert_ne!(app.pane().id(), id(1));
    assert!(!app.pane().saved);
    let notice = app.notice.as_ref().map(|n| (n.kind, n.text.as_str()));
    assert_eq!(notice, Some((NoticeKind::Info, "conversation deleted")));

    // Deleting the last row moves the selection up; with no rows Delete asks nothing.
    let _ = app.update(key(KeyCode::Delete));
    assert_eq!(
        io(app.update(key(KeyCode::Char('Y')))),
        [
            Effect::BrowserPreview(id(0)),
            Effect::Save(WriteCommand::DeleteConversation(id(2))),
        ]
    );
    assert_eq!(browser(&app).selected, 0);
    let _ = app.update(key(KeyCode::Delete));
    let _ = app.update(key(KeyCode::Char('y')));
    assert!(browser(&app).rows.is_empty());
    assert!(io(app.update(key(KeyCode::Delete))).is_empty());
    assert_eq!(browser(&app).mode, BrowserMode::List);
}

#[test]
fn deleting_a_streaming_conversation_saves_nothing_of_it_afterwards() {
    let mut app = new_app();
    open_saved_chat(&mut app, &id(1), "Busy", HAIKU);
    let (_, request, _) = the_send(&submit(&mut app, "a long answer please"));
    api(
        &mut app,
        request,
        tern::app::ApiEvent::Text("so far".into()),
    );
    assert!(app.pane().is_busy());
    open_browser_with(&mut app, vec![row(&id(1), "Busy")]);
    let _ = app.update(key(KeyCode::Delete));
    let effects = app.update(key(KeyCode::Char('y')));
    assert!(effects.contains(&Effect::Cancel(request)), "{effects:#?}");
    let delete = effects
        .iter()
        .position(|e| *e == Effect::Save(WriteCommand::DeleteConversation(id(1))))
        .expect("the delete");
    // The store refuses a message of a deleted conversation ("not saved: ... no saved
    // conversation matches"), so nothing of it may be written after the delete.
    let after: Vec<&Effect> = effects[delete + 1..]
        .iter()
        .filter(|e| matches!(e, Effect::Save(WriteCommand::UpsertMessage(m)) if m.conversation_id == id(1)))
        .collect();
    assert!(after.is_empty(), "saved after the delete: {after:#?}");
}

#[test]
fn ctrl_s_exports_the_selected_conversation() {
    let mut app = new_app();
    open_browser_with(&mut app, Vec::new());
    assert!(io(app.update(ctrl('s'))).is_empty(), "nothing selected");
    let _ = app.update(key(KeyCode::Esc));
    open_browser_with(&mut app, rows(3));
    let _ = app.update(key(KeyCode::Down));
    let _ = app.update(key(KeyCode::Down));
    assert_eq!(app.update(ctrl('s')), [Effect::Export(id(2))]);
    assert!(
        matches!(app.overlay, Overlay::Browser(_)),
        "the browser stays open"
    );
    assert_eq!(browser(&app).query, "", "Ctrl+S is not typed");
}

#[test]
fn esc_and_ctrl_c_close_the_browser_and_ctrl_q_quits() {
    for close in [key(KeyCode::Esc), ctrl('c')] {
        let mut app = new_app();
        open_browser_with(&mut app, rows(2));
        assert!(io(app.update(close)).is_empty());
        assert_eq!(app.overlay, Overlay::None);
        assert!(!app.should_quit);
        assert_eq!(app.pane().input_text(), "");
    }
    let mut app = new_app();
    open_browser_with(&mut app, rows(2));
    assert_eq!(app.update(ctrl('q')), [Effect::Quit]);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.should_quit);
}

// ─── End to end through Session::run ─────────────────────────────────────────────────────

/// Whether some row of the frame shows `word` in a style other than the text just before it
/// (a highlighted match), apart from rows containing any of `skip`.
fn highlighted(buffer: &Buffer, word: &str, skip: &[&str]) -> bool {
    let width = usize::from(buffer.area.width);
    let letters: Vec<char> = word.chars().collect();
    buffer.content().chunks(width).any(|row| {
        let text: String = row.iter().map(|c| c.symbol()).collect();
        if skip.iter().any(|s| text.contains(s)) {
            return false;
        }
        (1..row.len().saturating_sub(letters.len())).any(|x| {
            let spells = letters
                .iter()
                .enumerate()
                .all(|(i, l)| row[x + i].symbol().eq_ignore_ascii_case(&l.to_string()));
            spells
                && row[x].style() != row[x - 1].style()
                && (1..letters.len()).all(|i| row[x + i].style() == row[x].style())
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_a_saved_conversation_open_it_and_continue_with_its_history() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        // Conversation 1, with haiku.
        use_haiku(&mut user).await;
        user.ask_until("tell me about pelicans", "Echo from claude-haiku-4.5")
            .await;
        // Close its tab (it stays saved); conversation 2 in a fresh one, with the default model.
        user.ctrl('x');
        user.wait_for("a fresh tab", |t| {
            !t.contains("pelicans") && status_line(t).starts_with(" claude-sonnet-4.6 ")
        })
        .await;
        user.ask_until("how do otters sleep", "Echo from claude-sonnet-4.6")
            .await;

        user.ctrl('r');
        let text = user
            .wait_for("both conversations listed", |t| {
                t.contains("Saved conversations") && t.contains("2 recent")
            })
            .await;
        assert!(text.contains("tell me about pelicans"), "{text}");
        user.type_str("pelican");
        let frame = user
            .wait_for_frame("one match", |t| {
                t.contains("› pelican▏") && t.contains("1 matching")
            })
            .await;
        let text = screen_text(&frame);
        let popup: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("Saved conversations"))
            .collect();
        assert!(
            popup.iter().any(|l| l.contains("tell me about pelicans")),
            "{text}"
        );
        // The otter conversation's title shows only in the tab bar above the popup.
        assert!(
            !popup.iter().any(|l| l.contains("how do otters sleep")),
            "{text}"
        );
        // The matched word is highlighted in the snippet (not in the search box or title).
        assert!(
            highlighted(&frame, "pelicans", &["› pelican", "Saved conversations"]),
            "no highlighted match:\n{text}"
        );
        assert!(
            !highlighted(&frame, "about", &["› pelican", "Saved conversations"]),
            "words that did not match are not highlighted:\n{text}"
        );

        user.key(KeyCode::Enter);
        let text = user
            .wait_for("the conversation open in a tab", |t| {
                !t.contains("Saved conversations")
                    && t.contains("Echo from claude-haiku-4.5")
                    && status_line(t).starts_with(" claude-haiku-4.5 ")
            })
            .await;
        assert!(text.contains("tell me about pelicans"), "{text}");
        assert!(
            text.contains("2:tell me about pelicans"),
            "a second tab:\n{text}"
        );

        user.ask("and their beaks?").await;
        quit(user)
    })
    .await;

    let requests = rig.message_requests();
    assert_eq!(requests.len(), 3);
    let last = &requests[2];
    assert_eq!(last["model"], HAIKU, "the conversation's model");
    let store = rig.store();
    let pelicans = store.search("pelicans", 1).unwrap()[0]
        .conversation_id
        .clone();
    let (conversation, messages) = store.load(&pelicans).unwrap();
    assert_eq!(conversation.title, "tell me about pelicans");
    assert_eq!(messages.len(), 4);
    let earlier_reply = tern::api::types::plain_text(&messages[1].content);
    assert!(earlier_reply.starts_with("# Echo from claude-haiku-4.5"));
    assert_eq!(
        request_history(last),
        [
            ("user".to_owned(), "tell me about pelicans".to_owned()),
            ("assistant".to_owned(), earlier_reply),
            ("user".to_owned(), "and their beaks?".to_owned()),
        ]
    );
    assert_eq!(messages[3].model.as_deref(), Some(HAIKU));
    assert_eq!(messages[3].status, MessageStatus::Complete);
    // Opening did not copy it: still two conversations.
    assert_eq!(store.count().unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_and_delete_from_the_browser_reach_the_store() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.ask_until("keep me", "Echo from").await;
        user.ctrl('n');
        user.ask("delete me").await;

        user.ctrl('r');
        // Newest first: "delete me" is selected.
        user.wait_for("the list", |t| t.contains("2 recent")).await;
        user.key(KeyCode::Down);
        user.key(KeyCode::F(2));
        user.wait_text("rename › keep me").await;
        for _ in 0.."keep me".len() {
            user.key(KeyCode::Backspace);
        }
        user.type_str("Kept, renamed");
        user.key(KeyCode::Enter);
        user.wait_for("the new title", |t| {
            t.contains("› ▏") && t.contains("Kept, renamed")
        })
        .await;
        // The new title is searchable: "renamed" is in no message.
        user.type_str("renamed");
        user.wait_for("the title match", |t| {
            t.contains("1 matching") && t.contains("Kept, renamed")
        })
        .await;
        for _ in 0.."renamed".len() {
            user.key(KeyCode::Backspace);
        }
        user.wait_for("the list again", |t| t.contains("2 recent"))
            .await;

        user.key(KeyCode::Up);
        user.key(KeyCode::Delete);
        user.wait_text("delete this conversation? y to delete")
            .await;
        user.key(KeyCode::Char('y'));
        let text = user
            .wait_for("one left", |t| {
                t.contains("1 recent") && t.contains("conversation deleted")
            })
            .await;
        assert!(!text.contains("delete me"), "its tab closed too:\n{text}");
        user.key(KeyCode::Esc);
        quit(user)
    })
    .await;
    let store = rig.store();
    let list = store.list(0, 10).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].conversation.title, "Kept, renamed");
    assert_eq!(list[0].message_count, 2);
    assert!(store.search("delete", 10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_streaming_conversation_from_the_browser_saves_cleanly() {
    let rig = Rig::new().await;
    // `Rig::run` fails if any save failed (the writer's flush reports it).
    rig.run(Start::New, |mut user| async move {
        user.send("a long one scenario:slow words:400");
        user.wait_for("streaming", |t| status_line(t).contains("streaming"))
            .await;
        user.ctrl('r');
        user.wait_for("the list", |t| t.contains("1 recent")).await;
        user.key(KeyCode::Delete);
        user.key(KeyCode::Char('y'));
        user.wait_for("deleted", |t| t.contains("0 recent")).await;
        user.key(KeyCode::Esc);
        quit(user)
    })
    .await;
    assert_eq!(rig.store().count().unwrap(), 0);
}

/// `/model claude-haiku-4.5`, until the status bar shows it.
async fn use_haiku(user: &mut User) {
    user.send("/model claude-haiku-4.5");
    user.wait_for("haiku for the next turn", |t| {
        status_line(t).starts_with(" claude-haiku-4.5 ")
    })
    .await;
}

/// Pelicans in tab 1, otters in a second tab, then back in tab 1 one more pelican turn:
/// pelicans is the most recently updated, otters the most recently created.
async fn pelicans_then_otters(mut user: User) -> User {
    user.ask("tell me about pelicans").await;
    user.ctrl('n');
    user.wait_text("2:New conversation").await;
    user.ask("how do otters sleep").await;
    user.alt(KeyCode::Char('1'));
    user.wait_for("tab 1", |t| t.contains("│ tell me about pelicans"))
        .await;
    user.ask("and their beaks?").await;
    user
}

/// Session 1 of the resume tests: [`pelicans_then_otters`] with haiku (the second tab inherits
/// it). Returns (pelicans id, otters id).
async fn two_conversations(rig: &Rig) -> (String, String) {
    rig.run(Start::New, |mut user| async move {
        use_haiku(&mut user).await;
        quit(pelicans_then_otters(user).await)
    })
    .await;
    let store = rig.store();
    let find = |word: &str| store.search(word, 1).unwrap()[0].conversation_id.clone();
    (find("pelicans"), find("otters"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_and_resume_open_the_right_conversation_and_send_its_whole_history() {
    let rig = Rig::new().await;
    let (pelicans, otters) = two_conversations(&rig).await;
    assert_ne!(pelicans, otters);
    assert_eq!(rig.store().most_recent().unwrap(), Some(pelicans.clone()));

    // --continue: the most recently updated (pelicans), not the most recently created.
    rig.run(Start::Continue, |mut user| async move {
        let text = user
            .wait_for("pelicans open", |t| t.contains("│ and their beaks?"))
            .await;
        assert!(
            status_line(&text).starts_with(" claude-haiku-4.5 "),
            "{text}"
        );
        user.ask("one more about pelicans").await;
        quit(user)
    })
    .await;
    let requests = rig.message_requests();
    let last = requests.last().unwrap();
    assert_eq!(last["model"], HAIKU);
    let history = request_history(last);
    let texts: Vec<&str> = history.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts.len(), 5, "{history:#?}");
    assert_eq!(texts[0], "tell me about pelicans");
    assert_eq!(texts[2], "and their beaks?");
    assert_eq!(texts[4], "one more about pelicans");
    let (_, saved) = rig.store().load(&pelicans).unwrap();
    let saved_texts: Vec<String> = saved
        .iter()
        .map(|m| tern::api::types::plain_text(&m.content))
        .collect();
    assert_eq!(
        texts[..4],
        saved_texts[..4],
        "the history is what was saved"
    );

    // --resume PREFIX (any case): that conversation, with its own model (sonnet was not used:
    // the second tab inherited haiku).
    let prefix = otters[..5].to_uppercase();
    rig.run(Start::Resume(prefix), |mut user| async move {
        let text = user
            .wait_for("otters open", |t| t.contains("│ how do otters sleep"))
            .await;
        assert!(!text.contains("pelicans"), "{text}");
        user.ask("more otters").await;
        quit(user)
    })
    .await;
    let requests = rig.message_requests();
    let last = requests.last().unwrap();
    assert_eq!(last["model"], HAIKU);
    let history = request_history(last);
    let roles: Vec<&str> = history.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(history[0].1, "how do otters sleep");
    assert_eq!(history[2].1, "more otters");
    let store = rig.store();
    assert_eq!(store.count().unwrap(), 2, "resuming creates nothing new");
    assert_eq!(store.load(&otters).unwrap().1.len(), 4);
    assert_eq!(store.most_recent().unwrap(), Some(otters));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_an_unknown_prefix_fails_and_continue_on_an_empty_store_starts_fresh() {
    let rig = Rig::new().await;
    let session = rig
        .session(Start::Continue)
        .expect("nothing to continue is fine");
    assert_eq!(session.app.panes.len(), 1);
    assert!(!session.app.pane().saved);
    assert!(session.app.pane().messages.is_empty());
    drop(session);

    let Err(err) = rig.session(Start::Resume("zzzz".into())) else {
        panic!("an unknown id must not open")
    };
    assert!(
        format!("{err:#}").contains("no saved conversation matches \"zzzz\""),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_change_keeps_the_conversation_most_recent() {
    let rig = Rig::new().await;
    rig.run(Start::New, |user| async move {
        let mut user = pelicans_then_otters(user).await;
        // Pelicans is now the most recent; changing its temperature must not make it older.
        user.send("/temp 0.5");
        user.wait_text("temperature 0.5").await;
        quit(user)
    })
    .await;
    let store = rig.store();
    let pelicans = store.search("pelicans", 1).unwrap()[0]
        .conversation_id
        .clone();
    let (conversation, _) = store.load(&pelicans).unwrap();
    assert_eq!(conversation.params.temperature, Some(0.5));
    assert_eq!(
        store.most_recent().unwrap(),
        Some(pelicans),
        "--continue would open the otters instead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsent_draft_survives_quitting_and_comes_back_with_its_conversation() {
    let rig = Rig::new().await;
    rig.run(Start::New, |mut user| async move {
        user.ask("tell me about pelicans").await;
        user.type_str("and what about their");
        user.wait_text("and what about their").await;
        // A draft makes quitting ask once; the second press goes.
        user.ctrl('q');
        user.wait_text("again to quit").await;
        quit(user)
    })
    .await;
    let id = rig.store().most_recent().unwrap().expect("saved");
    assert_eq!(rig.store().draft(&id).unwrap(), "and what about their");

    // Resumed, the draft is back in the input; sending it clears it in the store.
    rig.run(Start::Continue, |mut user| async move {
        user.wait_for("the draft restored", |t| {
            t.contains("│ tell me about pelicans") && t.contains("and what about their")
        })
        .await;
        user.type_str(" beaks?");
        user.key(KeyCode::Enter);
        user.wait_ready_with("│ and what about their beaks?").await;
        quit(user)
    })
    .await;
    assert_eq!(rig.store().draft(&id).unwrap(), "");
}

#[test]
fn enter_on_a_search_hit_opens_the_conversation_at_the_hit() {
    let mut app = new_app();
    let mut hit = row(&id(0), "Conversation 0");
    hit.snippet = Some("a \u{1}tern\u{2} in flight".into());
    hit.hit_message = Some("m7".into());
    open_browser_with(&mut app, vec![hit]);
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::OpenConversationAt {
            conversation: id(0),
            message: "m7".into()
        }]
    );
}
