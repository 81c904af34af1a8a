//! Attachments in the reducer: chips put up at once and filled in by the driver's answer,
//! failures said without losing the draft or other chips, the prompt carrying the files before
//! its text, limits checked before anything is sent, pasted paths offered, Tab completion,
//! `/detach`, `/cite`, and editing a prompt with files.

use crossterm::event::{KeyCode, KeyModifiers};
use tern::api::types::MessageContent;
use tern::api::{ContentBlock, Role};
use tern::app::attach::{AttachSource, PasteOffer, PathCompletion, Pending};
use tern::app::{Action, App, Effect, NoticeKind};
use tern::attach::{AttachError, Attachment, AttachmentKind};

use super::common::*;
use super::{assert_notice, turn};

fn image(name: &str, sha: &str) -> Attachment {
    Attachment {
        sha256: sha.into(),
        kind: AttachmentKind::Image,
        media_type: "image/png".into(),
        name: name.into(),
        size: 1_200_000,
        width: Some(1568),
        height: Some(980),
        pages: None,
        lines: None,
        original: None,
        citations: false,
    }
}

fn pdf(name: &str, pages: u32) -> Attachment {
    Attachment {
        kind: AttachmentKind::Pdf,
        media_type: "application/pdf".into(),
        pages: Some(pages),
        width: None,
        height: None,
        ..image(name, &format!("pdf-{name}"))
    }
}

/// The `Effect::Attach` jobs of `effects`: (job, source).
fn attach_jobs(effects: &[Effect]) -> Vec<(u64, AttachSource)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Attach { job, source, .. } => Some((*job, source.clone())),
            _ => None,
        })
        .collect()
}

/// `/attach WORDS`, answered by the driver with `results` for each word in turn.
fn attach(app: &mut App, words: &str, results: Vec<Vec<Result<Attachment, AttachError>>>) {
    let jobs = attach_jobs(&submit(app, &format!("/attach {words}")));
    assert_eq!(jobs.len(), results.len(), "one job per word");
    let conversation = app.pane().id().to_owned();
    for ((job, _), results) in jobs.into_iter().zip(results) {
        let _ = app.update(Action::Attached {
            conversation: conversation.clone(),
            job,
            results,
        });
    }
}

fn chips(app: &App) -> Vec<String> {
    app.pane()
        .attachments
        .iter()
        .map(|a| match &a.state {
            Pending::Ready(a) => a.name.clone(),
            Pending::Preparing { what } => format!("…{what}"),
        })
        .collect()
}

#[test]
fn attach_puts_up_a_chip_at_once_and_fills_it_when_prepared() {
    let mut app = new_app();
    let effects = submit(&mut app, "/attach shot.png '~/my docs/paper.pdf'");
    let jobs = attach_jobs(&effects);
    assert_eq!(
        jobs.iter().map(|j| j.1.clone()).collect::<Vec<_>>(),
        [
            AttachSource::Path("shot.png".into()),
            AttachSource::Path("~/my docs/paper.pdf".into())
        ]
    );
    assert_eq!(chips(&app), ["…shot.png", "…~/my docs/paper.pdf"]);
    assert!(app.pane().input.is_empty(), "the command line is cleared");
    let id = app.pane().id().to_owned();
    // The second file is ready first: each chip keeps its place.
    let _ = app.update(Action::Attached {
        conversation: id.clone(),
        job: jobs[1].0,
        results: vec![Ok(pdf("paper.pdf", 12))],
    });
    let _ = app.update(Action::Attached {
        conversation: id,
        job: jobs[0].0,
        results: vec![Ok(image("shot.png", "a"))],
    });
    assert_eq!(chips(&app), ["shot.png", "paper.pdf"]);
}

#[test]
fn a_glob_brings_several_chips_and_failures_keep_the_draft_and_other_chips() {
    let mut app = new_app();
    attach(
        &mut app,
        "a.png shots/*.png",
        vec![
            vec![Ok(image("a.png", "a"))],
            vec![
                Ok(image("b.png", "b")),
                Err(AttachError::Corrupt {
                    name: "shots/c.png".into(),
                    kind: "PNG image",
                    reason: "truncated".into(),
                }),
                Ok(image("d.png", "d")),
            ],
        ],
    );
    assert_eq!(chips(&app), ["a.png", "b.png", "d.png"]);
    assert_notice(
        &app,
        NoticeKind::Error,
        "shots/c.png is not a readable PNG image",
    );
    let jobs = attach_jobs(&submit(&mut app, "/attach nope.png"));
    type_str(&mut app, "what differs?");
    let id = app.pane().id().to_owned();
    let _ = app.update(Action::Attached {
        conversation: id,
        job: jobs[0].0,
        results: vec![Err(AttachError::NotFound {
            name: "nope.png".into(),
        })],
    });
    assert_notice(&app, NoticeKind::Error, "nope.png: no such file");
    assert_eq!(
        chips(&app),
        ["a.png", "b.png", "d.png"],
        "the failed chip goes"
    );
    assert_eq!(
        app.pane().input_text(),
        "what differs?",
        "the draft is kept"
    );
}

#[test]
fn the_same_file_twice_is_one_chip() {
    let mut app = new_app();
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "same"))]]);
    attach(
        &mut app,
        "copy.png",
        vec![vec![Ok(image("copy.png", "same"))]],
    );
    assert_eq!(chips(&app), ["a.png"]);
    assert_notice(&app, NoticeKind::Info, "copy.png is attached already");
}

#[test]
fn the_prompt_carries_its_files_before_its_text_and_saves_the_references() {
    let mut app = new_app();
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "a"))]]);
    attach(&mut app, "p.pdf", vec![vec![Ok(pdf("p.pdf", 3))]]);
    let effects = submit(&mut app, "compare them");
    let user = &saved_messages(&effects)[0];
    assert_eq!(user.role, Role::User);
    assert!(matches!(&user.content[0], ContentBlock::Attachment(a) if a.name == "a.png"));
    assert!(matches!(&user.content[1], ContentBlock::Attachment(a) if a.name == "p.pdf"));
    assert_eq!(user.content[2], ContentBlock::text("compare them"));
    let (_, _, body) = the_send(&effects);
    let MessageContent::Blocks(blocks) = &body.messages[0].content else {
        panic!("blocks")
    };
    assert_eq!(
        blocks.len(),
        3,
        "the reference blocks go to the driver to resolve"
    );
    assert!(app.pane().attachments.is_empty(), "the chips went with it");
}

#[test]
fn files_alone_make_a_prompt_titled_by_the_first() {
    let mut app = new_app();
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "a"))]]);
    let effects = submit(&mut app, "");
    let user = &saved_messages(&effects)[0];
    assert_eq!(
        user.content.len(),
        1,
        "no empty text block: {:?}",
        user.content
    );
    assert_eq!(app.pane().conversation.title, "a.png");
    assert_eq!(sends(&effects).len(), 1);
}

#[test]
fn enter_waits_while_a_file_is_being_prepared() {
    let mut app = new_app();
    let jobs = attach_jobs(&submit(&mut app, "/attach big.jpg"));
    let effects = submit(&mut app, "describe it");
    assert!(sends(&effects).is_empty());
    assert_notice(&app, NoticeKind::Info, "big.jpg is still being prepared");
    assert_eq!(app.pane().input_text(), "describe it", "the draft is kept");
    let id = app.pane().id().to_owned();
    let _ = app.update(Action::Attached {
        conversation: id,
        job: jobs[0].0,
        results: vec![Ok(image("big.jpg", "b"))],
    });
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(sends(&effects).len(), 1);
}

#[test]
fn limits_are_checked_before_sending_and_nothing_is_lost() {
    let mut app = new_app();
    attach(&mut app, "a.pdf", vec![vec![Ok(pdf("a.pdf", 60))]]);
    turn(&mut app, "read it", "done");
    attach(&mut app, "b.pdf", vec![vec![Ok(pdf("b.pdf", 50))]]);
    let effects = submit(&mut app, "and this one");
    assert!(sends(&effects).is_empty());
    assert!(saved_messages(&effects).is_empty(), "nothing half-sent");
    assert_notice(&app, NoticeKind::Error, "110 PDF pages");
    assert_notice(&app, NoticeKind::Error, "at most 100");
    assert_eq!(app.pane().input_text(), "and this one");
    assert_eq!(chips(&app), ["b.pdf"]);
}

#[test]
fn detach_removes_one_or_all_and_backspace_takes_the_last_off() {
    let mut app = new_app();
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "a"))]]);
    attach(&mut app, "b.png", vec![vec![Ok(image("b.png", "b"))]]);
    attach(&mut app, "c.png", vec![vec![Ok(image("c.png", "c"))]]);
    submit(&mut app, "/detach 2");
    assert_eq!(chips(&app), ["a.png", "c.png"]);
    submit(&mut app, "/detach c.png");
    assert_eq!(chips(&app), ["a.png"]);
    submit(&mut app, "/detach 9");
    assert_notice(&app, NoticeKind::Error, "usage: /detach");
    assert_eq!(app.pane().input_text(), "/detach 9", "kept to fix");
    let _ = app.update(ctrl('u'));
    // Backspace in a non-empty draft edits the draft.
    type_str(&mut app, "x");
    let _ = app.update(key(KeyCode::Backspace));
    assert_eq!(chips(&app), ["a.png"]);
    let _ = app.update(key(KeyCode::Backspace));
    assert!(chips(&app).is_empty());
    assert_notice(&app, NoticeKind::Info, "removed a.png");
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "a"))]]);
    submit(&mut app, "/detach");
    assert!(chips(&app).is_empty());
    submit(&mut app, "/detach");
    assert_notice(&app, NoticeKind::Error, "nothing is attached");
}

#[test]
fn a_chip_detached_while_preparing_stays_gone() {
    let mut app = new_app();
    let jobs = attach_jobs(&submit(&mut app, "/attach a.png"));
    submit(&mut app, "/detach");
    let id = app.pane().id().to_owned();
    let _ = app.update(Action::Attached {
        conversation: id,
        job: jobs[0].0,
        results: vec![Ok(image("a.png", "a"))],
    });
    assert!(chips(&app).is_empty());
}

#[test]
fn cite_on_asks_citations_of_every_document_of_the_request() {
    let mut app = new_app();
    attach(&mut app, "a.pdf", vec![vec![Ok(pdf("a.pdf", 2))]]);
    turn(&mut app, "read", "ok");
    submit(&mut app, "/cite on");
    assert!(app.pane().conversation.params.citations);
    attach(&mut app, "i.png", vec![vec![Ok(image("i.png", "i"))]]);
    let (_, _, body) = the_send(&submit(&mut app, "cite it"));
    let refs: Vec<&Attachment> = tern::attach::attachments_of(&body).collect();
    assert_eq!(refs.len(), 2);
    assert!(
        refs[0].citations,
        "the earlier PDF too: the API takes no mix"
    );
    assert!(!refs[1].citations, "images take no citations");
    submit(&mut app, "/cite maybe");
    assert_notice(&app, NoticeKind::Error, "usage: /cite on|off");
}

#[test]
fn a_paste_of_existing_files_is_offered_and_esc_pastes_the_text() {
    let mut app = new_app();
    let offer = PasteOffer {
        text: "/tmp/a.png /tmp/b.pdf".into(),
        files: vec!["/tmp/a.png".into(), "/tmp/b.pdf".into()],
    };
    let _ = app.update(Action::PastedFiles(offer.clone()));
    assert!(app.pane().input.is_empty(), "nothing pasted yet");
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(attach_jobs(&effects).len(), 2);
    assert!(
        sends(&effects).is_empty(),
        "Enter attached, it did not send"
    );
    assert_eq!(chips(&app), ["…/tmp/a.png", "…/tmp/b.pdf"]);
    let _ = app.update(Action::PastedFiles(offer.clone()));
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(app.pane().input_text(), "/tmp/a.png /tmp/b.pdf");
    // Any other key pastes the text and then types.
    let mut app = new_app();
    let _ = app.update(Action::PastedFiles(offer));
    let _ = app.update(key(KeyCode::Char('!')));
    assert_eq!(app.pane().input_text(), "/tmp/a.png /tmp/b.pdf!");
}

#[test]
fn ctrl_v_attaches_the_clipboard_image() {
    let mut app = new_app();
    let effects = app.update(ctrl('v'));
    assert_eq!(
        attach_jobs(&effects)
            .into_iter()
            .map(|j| j.1)
            .collect::<Vec<_>>(),
        [AttachSource::Clipboard]
    );
    let id = app.pane().id().to_owned();
    let job = app.pane().attachments[0].job;
    let _ = app.update(Action::Attached {
        conversation: id,
        job,
        results: vec![Err(AttachError::Other("no image on the clipboard".into()))],
    });
    assert!(chips(&app).is_empty());
    assert_notice(&app, NoticeKind::Error, "no image on the clipboard");
}

#[test]
fn tab_completes_commands_and_asks_the_driver_for_paths() {
    let mut app = new_app();
    type_str(&mut app, "/att");
    let _ = app.update(key(KeyCode::Tab));
    assert_eq!(app.pane().input_text(), "/attach ");
    type_str(&mut app, "src/m");
    let effects = app.update(key(KeyCode::Tab));
    let Some(Effect::CompletePath {
        draft, word_start, ..
    }) = effects
        .iter()
        .find(|e| matches!(e, Effect::CompletePath { .. }))
    else {
        panic!("no completion asked: {effects:?}")
    };
    assert_eq!((draft.as_str(), *word_start), ("/attach src/m", 8));
    let id = app.pane().id().to_owned();
    let _ = app.update(Action::PathCompleted {
        conversation: id.clone(),
        completion: PathCompletion {
            draft: draft.clone(),
            word_start: *word_start,
            candidates: vec!["src/main.rs".into(), "src/mod.rs".into()],
        },
    });
    assert_eq!(app.pane().input_text(), "/attach src/m");
    assert_notice(&app, NoticeKind::Info, "2 matches: main.rs  mod.rs");
    type_str(&mut app, "a");
    let _ = app.update(Action::PathCompleted {
        conversation: id.clone(),
        completion: PathCompletion {
            draft: "/attach src/ma".into(),
            word_start: 8,
            candidates: vec!["src/main.rs".into()],
        },
    });
    assert_eq!(app.pane().input_text(), "/attach src/main.rs ");
    // A space in the name comes back quoted.
    let _ = app.update(key(KeyCode::Char('m')));
    let _ = app.update(Action::PathCompleted {
        conversation: id,
        completion: PathCompletion {
            draft: "/attach src/main.rs m".into(),
            word_start: 20,
            candidates: vec!["my shots/".into()],
        },
    });
    assert_eq!(app.pane().input_text(), "/attach src/main.rs 'my shots/'");
    // Tab elsewhere is the input's own.
    let mut app = new_app();
    type_str(&mut app, "plain");
    let effects = app.update(key(KeyCode::Tab));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::CompletePath { .. }))
    );
}

#[test]
fn editing_a_prompt_brings_its_files_back_and_cancel_restores_the_chips_before() {
    let mut app = new_app();
    attach(&mut app, "a.png", vec![vec![Ok(image("a.png", "a"))]]);
    turn(&mut app, "look", "a cat");
    attach(
        &mut app,
        "draft.png",
        vec![vec![Ok(image("draft.png", "d"))]],
    );
    submit(&mut app, "/edit");
    assert_eq!(chips(&app), ["a.png"]);
    assert_eq!(app.pane().input_text(), "look");
    let _ = app.update(key(KeyCode::Esc));
    assert_eq!(chips(&app), ["draft.png"]);
    submit(&mut app, "/edit");
    let _ = app.update(press(KeyCode::Backspace, KeyModifiers::NONE));
    // The cursor is at the end of "look": Backspace edits the text.
    assert_eq!(chips(&app), ["a.png"]);
}
