//! Thumbnails of image attachments under their chips, where the terminal shows images.
//!
//! The layout is decided from the attachment's reference alone (its width and height), so a
//! message's rows do not change when its thumbnail arrives: [`rows_for`] gives the rows the
//! message lines reserve (blank lines under the chip), [`slots`] where they are, and the
//! transcript draws each thumbnail over its rows once they are all on screen.
//!
//! The pixels come from the driver (decoded and scaled down off the loop), the protocol
//! objects are made here and cached per image and size: all view state. Nothing from outside
//! writes raw escape sequences: the only ones in a thumbnail's cells are those ratatui-image
//! produces from decoded pixels, and the terminal backend lets them through only in the areas
//! recorded in [`ImageAreas`] for the frame being drawn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use image::DynamicImage;
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::widgets::Widget;
use ratatui_image::picker::Picker;
use ratatui_image::protocol::Protocol;
use ratatui_image::{Image, Resize};

use crate::api::ContentBlock;
use crate::attach::{Attachment, AttachmentKind};

/// The rows a thumbnail takes at most.
pub const THUMB_ROWS: u16 = 8;

/// A thumbnail's size in cells (columns, rows) in a body `width` columns wide, for an image
/// attachment. A cell is taken to be about twice as tall as it is wide.
pub fn rows_for(attachment: &Attachment, width: u16) -> Option<(u16, u16)> {
    if attachment.kind != AttachmentKind::Image {
        return None;
    }
    let (w, h) = match (attachment.width, attachment.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (f64::from(w), f64::from(h)),
        _ => (1.0, 1.0),
    };
    let rows = f64::from(THUMB_ROWS);
    let max_cols = f64::from(width.max(1));
    let cols = (rows * 2.0 * w / h).round().clamp(1.0, max_cols);
    let rows = (cols * h / (2.0 * w)).ceil().clamp(1.0, rows);
    Some((cols as u16, rows as u16))
}

/// Where a thumbnail goes among a body's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The first reserved line (from the start of the chips).
    pub line: usize,
    pub sha256: String,
    pub cols: u16,
    pub rows: u16,
}

/// The thumbnails of a prompt's attachments, as the chips lay them out: one line per chip,
/// then an image's reserved rows.
pub fn slots(content: &[ContentBlock], width: u16) -> Vec<Slot> {
    let mut line = 0;
    let mut out = Vec::new();
    for a in content.iter().filter_map(|b| match b {
        ContentBlock::Attachment(a) => Some(a),
        _ => None,
    }) {
        line += 1;
        if let Some((cols, rows)) = rows_for(a, width) {
            out.push(Slot {
                line,
                sha256: a.sha256.clone(),
                cols,
                rows,
            });
            line += usize::from(rows);
        }
    }
    out
}

/// The areas of the frame being drawn that hold a thumbnail, shared with the terminal backend.
#[derive(Clone, Default)]
pub struct ImageAreas(Arc<Mutex<Vec<Rect>>>);

impl ImageAreas {
    /// Whether the cell at (`x`, `y`) is part of a thumbnail.
    pub fn contains(&self, x: u16, y: u16) -> bool {
        self.0.lock().is_ok_and(|areas| {
            areas
                .iter()
                .any(|a| a.contains(ratatui::layout::Position::new(x, y)))
        })
    }

    fn clear(&self) {
        if let Ok(mut areas) = self.0.lock() {
            areas.clear();
        }
    }

    fn push(&self, area: Rect) {
        if let Ok(mut areas) = self.0.lock() {
            areas.push(area);
        }
    }
}

/// The view's thumbnails: the protocol the terminal speaks, the pixels the driver decoded and
/// the protocol objects made from them.
pub struct Thumbnails {
    picker: Picker,
    images: HashMap<String, Arc<DynamicImage>>,
    protocols: HashMap<(String, u16, u16), Protocol>,
    areas: ImageAreas,
}

impl Thumbnails {
    pub fn new(picker: Picker, areas: ImageAreas) -> Thumbnails {
        Thumbnails {
            picker,
            images: HashMap::new(),
            protocols: HashMap::new(),
            areas,
        }
    }

    /// The driver decoded an image's thumbnail.
    pub fn insert(&mut self, sha256: String, image: Arc<DynamicImage>) {
        self.images.insert(sha256, image);
    }

    /// A new frame: no thumbnail is drawn yet.
    pub(super) fn begin_frame(&mut self) {
        self.areas.clear();
    }

    /// Draw the thumbnail of `sha256` in `area` (its reserved rows), if it has arrived.
    pub(super) fn draw(&mut self, sha256: &str, area: Rect, buf: &mut Buffer) {
        let Some(image) = self.images.get(sha256) else {
            return;
        };
        let key = (sha256.to_owned(), area.width, area.height);
        if !self.protocols.contains_key(&key) {
            let size = Size::new(area.width, area.height);
            let Ok(protocol) =
                self.picker
                    .new_protocol(DynamicImage::clone(image), size, Resize::Fit(None))
            else {
                return;
            };
            self.protocols.insert(key.clone(), protocol);
        }
        let Some(protocol) = self.protocols.get(&key) else {
            return;
        };
        let drawn = protocol.size();
        let at = Rect::new(area.x, area.y, drawn.width, drawn.height).intersection(area);
        self.areas.push(at);
        Image::new(protocol).render(at, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32) -> Attachment {
        Attachment {
            sha256: format!("{width}x{height}"),
            kind: AttachmentKind::Image,
            media_type: "image/png".into(),
            name: "a.png".into(),
            size: 10,
            width: Some(width),
            height: Some(height),
            pages: None,
            lines: None,
            original: None,
            citations: false,
        }
    }

    #[test]
    fn a_thumbnail_is_eight_rows_high_and_as_wide_as_its_aspect_allows() {
        assert_eq!(rows_for(&image(800, 800), 80), Some((16, 8)));
        assert_eq!(rows_for(&image(1600, 800), 80), Some((32, 8)));
        // Capped by the pane: narrower, and only as tall as it then needs.
        assert_eq!(rows_for(&image(1600, 400), 40), Some((40, 5)));
        assert_eq!(rows_for(&image(100, 4000), 80), Some((1, 8)));
        let mut pdf = image(10, 10);
        pdf.kind = AttachmentKind::Pdf;
        assert_eq!(rows_for(&pdf, 80), None);
    }

    #[test]
    fn slots_follow_the_chips() {
        let mut pdf = image(1, 1);
        pdf.kind = AttachmentKind::Pdf;
        let content = vec![
            ContentBlock::Attachment(image(800, 800)),
            ContentBlock::Attachment(pdf),
            ContentBlock::Attachment(image(1600, 800)),
        ];
        let slots = slots(&content, 80);
        assert_eq!(slots.len(), 2);
        assert_eq!((slots[0].line, slots[0].rows), (1, 8));
        // chip, 8 rows, the PDF's chip, then this chip.
        assert_eq!((slots[1].line, slots[1].cols), (11, 32));
    }
}
