//! Thumbnails: asked for once per image, only when the terminal shows images, and laid out
//! under their chips (rows reserved only then; without them the transcript is as it was).

use std::sync::Arc;

use tern::app::{Action, App, Effect};
use tern::attach::{Attachment, AttachmentKind};

use super::common::*;

fn image(name: &str, sha: &str) -> Attachment {
    Attachment {
        sha256: sha.into(),
        kind: AttachmentKind::Image,
        media_type: "image/png".into(),
        name: name.into(),
        size: 1_200_000,
        width: Some(1600),
        height: Some(800),
        pages: None,
        lines: None,
        original: None,
        citations: false,
    }
}

fn loads(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::LoadThumbnail { sha256 } => Some(sha256.clone()),
            _ => None,
        })
        .collect()
}

/// Send `text` with `attachments` attached; the effects of each step, flattened.
fn send_with(app: &mut App, text: &str, attachments: Vec<Attachment>) -> Vec<Effect> {
    let mut all = Vec::new();
    for a in attachments {
        let effects = submit(app, &format!("/attach {}", a.name));
        let job = effects
            .iter()
            .find_map(|e| match e {
                Effect::Attach { job, .. } => Some(*job),
                _ => None,
            })
            .unwrap();
        let conversation = app.pane().id().to_owned();
        all.extend(app.update(Action::Attached {
            conversation,
            job,
            results: vec![Ok(a)],
        }));
        all.extend(effects);
    }
    let sent = submit(app, text);
    let (_, request, _) = the_send(&sent);
    all.extend(sent);
    all.extend(reply(app, request, "seen", usage(10, 1)));
    all
}

#[test]
fn a_thumbnail_is_asked_for_once_per_image_and_only_when_images_show() {
    let mut app = new_app();
    let effects = send_with(&mut app, "look", vec![image("a.png", "sha-a")]);
    assert!(loads(&effects).is_empty(), "images are off: nothing asked");
    assert_eq!(loads(&app.update(Action::ThumbnailsOn)), ["sha-a"]);
    assert!(loads(&app.update(Action::Resize)).is_empty());
    // The same image again, and a new one: only the new one is asked for.
    let effects = send_with(
        &mut app,
        "again",
        vec![image("a.png", "sha-a"), image("b.png", "sha-b")],
    );
    assert_eq!(loads(&effects), ["sha-b"]);
    assert!(loads(&app.update(Action::Resize)).is_empty());
}

fn draw(app: &App, view: &mut tern::ui::ViewState) -> ratatui::buffer::Buffer {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 30)).unwrap();
    terminal
        .draw(|frame| tern::ui::draw(app, view, frame))
        .unwrap();
    terminal.backend().buffer().clone()
}

fn row_of(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
}

#[test]
fn thumbnail_rows_are_reserved_under_the_chip_only_when_images_show() {
    let mut app = new_app();
    let _ = send_with(&mut app, "look at this", vec![image("a.png", "sha-a")]);
    let theme = tern::render::Theme::default;
    let mut off = tern::ui::ViewState::new(theme(), time::UtcOffset::UTC);
    let screen = screen_text(&draw(&app, &mut off));
    // Without thumbnails the text follows the chip at once.
    assert_eq!(
        row_of(&screen, "  look at this"),
        row_of(&screen, "a.png") + 1,
        "{screen}"
    );
    let mut on = tern::ui::ViewState::new(theme(), time::UtcOffset::UTC);
    // Halfblocks stand in for the terminal's protocol here (a test backend shows no image).
    on.thumbnails = Some(tern::ui::Thumbnails::new(
        ratatui_image::picker::Picker::halfblocks(),
        tern::ui::ImageAreas::default(),
    ));
    let screen = screen_text(&draw(&app, &mut on));
    let chip = row_of(&screen, "a.png");
    // A 2:1 image: 32 columns, 8 rows.
    assert_eq!(
        row_of(&screen, "  look at this"),
        chip + 1 + usize::from(tern::ui::THUMB_ROWS),
        "{screen}"
    );
    // Once its pixels arrive the thumbnail is drawn over those rows.
    let pixels = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        320,
        160,
        image::Rgb([250, 10, 10]),
    ));
    on.thumbnails
        .as_mut()
        .unwrap()
        .insert("sha-a".into(), Arc::new(pixels));
    let buffer = draw(&app, &mut on);
    let x = buffer
        .content
        .iter()
        .position(|c| [c.fg, c.bg].contains(&ratatui::style::Color::Rgb(250, 10, 10)));
    let first = x.map(|i| i / 60);
    assert_eq!(first, Some(chip + 1), "{}", screen_text(&buffer));
}
