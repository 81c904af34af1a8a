//! Asking for thumbnails of image attachments, once the driver found that the terminal shows
//! images (`Action::ThumbnailsOn`).
//!
//! The app never holds pixels: it asks the driver (`Effect::LoadThumbnail`) once per image,
//! and the driver hands the decoded thumbnail to the view. What the shown pane holds is looked
//! at only when its messages change (another count or last message, or another pane), not on
//! every stream delta.

use std::collections::HashSet;

use crate::api::ContentBlock;
use crate::app::*;
use crate::attach::AttachmentKind;

/// Which thumbnails the app asked the driver for.
#[derive(Debug, Default)]
pub struct Thumbnails {
    /// The terminal shows images.
    pub on: bool,
    /// The images asked for, by SHA-256 (each is asked once).
    asked: HashSet<String>,
    /// What the shown pane was when last looked at: its id, message count and last message.
    seen: Option<(String, usize, String)>,
}

impl App {
    pub(super) fn thumbnails_on(&mut self) {
        self.thumbnails.on = true;
        self.thumbnails.seen = None;
    }

    /// Ask for the thumbnail of each image in the shown pane not asked for yet.
    pub(super) fn ask_thumbnails(&mut self, effects: &mut Vec<Effect>) {
        if !self.thumbnails.on {
            return;
        }
        let pane = &self.panes[self.active];
        let key = (
            pane.id().to_owned(),
            pane.messages.len(),
            pane.messages
                .last()
                .map_or_else(String::new, |m| m.stored.id.clone()),
        );
        if self.thumbnails.seen.as_ref() == Some(&key) {
            return;
        }
        let images = pane
            .messages
            .iter()
            .flat_map(|m| m.stored.content.iter())
            .filter_map(|b| match b {
                ContentBlock::Attachment(a) if a.kind == AttachmentKind::Image => Some(a),
                _ => None,
            });
        for image in images {
            if self.thumbnails.asked.insert(image.sha256.clone()) {
                effects.push(Effect::LoadThumbnail {
                    sha256: image.sha256.clone(),
                });
            }
        }
        self.thumbnails.seen = Some(key);
    }
}
