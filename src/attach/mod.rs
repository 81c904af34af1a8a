//! Files the user attaches to a prompt: images, PDFs and text files.
//!
//! An attachment lives in two places on purpose. Its **bytes** (as sent, after any downscale)
//! are stored once in the database under their SHA-256, so the same file attached twice is kept
//! once. A message holds only an [`Attachment`] (a `tern_attachment` block: the hash, the
//! media type, the name and what a person wants to see: size, dimensions, pages). The app's
//! state, the transcript and the store's message rows stay small; the megabytes are read only
//! where a request is written ([`resolve`]), by the driver or by `-p`.
//!
//! Blocks on the wire: an image is an `image` block (base64, the media type read from the
//! bytes); a PDF a `document` block (base64); a text file a `document` block of plain text
//! titled with the file name. A document rather than a text block because the model then reads
//! the file as a file, apart from what the user wrote, under its name, and can cite it.
//! Citations are a per-request switch (the API wants them on for all documents of a request or
//! for none), so the request builder sets them on every document block at once.

pub mod paths;
pub mod prepare;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::types::{ContentBlock, MessageContent, MessagesRequest};

pub use prepare::{Prepared, prepare, prepare_path};

/// The largest base64 string the API takes for one image (5 MiB).
pub const MAX_IMAGE_BASE64: u64 = 5 * 1024 * 1024;
/// The longest edge, in pixels, the API uses; larger images are scaled down before sending.
pub const MAX_IMAGE_EDGE: u32 = 1568;
/// Images and PDFs one request may carry.
pub const MAX_MEDIA_PER_REQUEST: usize = 100;
/// PDF pages one request may carry.
pub const MAX_PDF_PAGES: u32 = 100;
/// The largest request body the API takes (32 MB).
pub const MAX_REQUEST_BYTES: u64 = 32 * 1000 * 1000;
/// The largest file tern reads to attach: an image this big may still shrink to fit, anything
/// bigger is refused before it is read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What an attachment is, which decides the block it is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Pdf,
    Text,
}

/// The file before it was scaled down to what the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

/// A file attached to a message, by reference to its bytes in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The SHA-256 of the bytes as sent, lowercase hex: their key in the store.
    pub sha256: String,
    pub kind: AttachmentKind,
    /// Read from the bytes, never from the name (`image/png`, `application/pdf`, `text/plain`).
    pub media_type: String,
    /// The file name shown and sent as a document's title.
    pub name: String,
    /// Bytes as sent.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A PDF's pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// A text file's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u32>,
    /// Set when the image was scaled down to be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
    /// Ask for citations of this document (set on every document of a request at once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub citations: bool,
}

impl Attachment {
    /// The chip's mark: `▣` for a picture, `▤` for a document.
    pub fn mark(&self) -> char {
        match self.kind {
            AttachmentKind::Image => '▣',
            AttachmentKind::Pdf | AttachmentKind::Text => '▤',
        }
    }

    /// What a person wants to know of it after the name: `1.2 MB 1568×980`, `12 pages`,
    /// `3.4 KB 120 lines`.
    pub fn details(&self) -> String {
        let size = human_size(self.size);
        match self.kind {
            AttachmentKind::Image => match (self.width, self.height) {
                (Some(w), Some(h)) => format!("{size} {w}×{h}"),
                _ => size,
            },
            AttachmentKind::Pdf => match self.pages {
                Some(1) => format!("{size} 1 page"),
                Some(n) => format!("{size} {n} pages"),
                None => size,
            },
            AttachmentKind::Text => match self.lines {
                Some(1) => format!("{size} 1 line"),
                Some(n) => format!("{size} {n} lines"),
                None => size,
            },
        }
    }

    /// How it was scaled, when it was: `scaled from 4000×3000`.
    pub fn scaled_note(&self) -> Option<String> {
        self.original
            .map(|o| format!("scaled from {}×{}", o.width, o.height))
    }

    /// The block the API reads, from the attachment's bytes.
    pub fn wire_block(&self, bytes: &[u8]) -> Value {
        use base64::Engine as _;
        let base64 = || base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut block = match self.kind {
            AttachmentKind::Image => {
                return json!({"type": "image", "source": {
                    "type": "base64", "media_type": self.media_type, "data": base64()}});
            }
            AttachmentKind::Pdf => json!({"type": "document", "source": {
                "type": "base64", "media_type": "application/pdf", "data": base64()}}),
            AttachmentKind::Text => json!({"type": "document", "source": {
                "type": "text", "media_type": "text/plain",
                "data": String::from_utf8_lossy(bytes)}}),
        };
        block["title"] = json!(self.name);
        if self.citations {
            block["citations"] = json!({"enabled": true});
        }
        block
    }

    /// How many bytes its block adds to a request body (base64 is 4/3 of the bytes).
    pub fn wire_size(&self) -> u64 {
        match self.kind {
            AttachmentKind::Text => self.size,
            AttachmentKind::Image | AttachmentKind::Pdf => self.size.div_ceil(3) * 4,
        }
    }
}

impl fmt::Display for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.mark(), self.name, self.details())
    }
}

/// `1.2 MB`, `340 KB`, `12 B` (powers of 1000, as file managers show them).
pub fn human_size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.0} KB", b / 1e3)
    } else if bytes < 1_000_000_000 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} GB", b / 1e9)
    }
}

/// Why a file cannot be attached: one line naming the file and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("{name}: no such file — check the path (Tab completes it)")]
    NotFound { name: String },
    #[error("{name} is a directory — attach the files in it (/attach {name}/*.rs)")]
    Directory { name: String },
    #[error("{name} cannot be read ({reason}) — check its permissions")]
    Unreadable { name: String, reason: String },
    #[error("{name} changed while it was read — attach it again once it is written")]
    Changed { name: String },
    #[error("{name} is empty — there is nothing to send")]
    Empty { name: String },
    #[error("{name} is {size}, over the {limit} {what}")]
    TooLarge {
        name: String,
        size: String,
        limit: String,
        what: &'static str,
    },
    #[error(
        "{name} is {kind}, which the API does not read — attach images (PNG, JPEG, GIF, WebP), PDFs or text"
    )]
    Unsupported { name: String, kind: String },
    #[error("{name} is not a readable {kind} ({reason}) — is the file complete?")]
    Corrupt {
        name: String,
        kind: &'static str,
        reason: String,
    },
    #[error("{name} is {width}×{height} pixels, more than tern decodes — scale it down first")]
    TooManyPixels {
        name: String,
        width: u32,
        height: u32,
    },
    #[error(
        "{name} is password-protected — the API cannot open it; attach an unprotected copy (qpdf --decrypt)"
    )]
    Encrypted { name: String },
    #[error(
        "{name} has {pages} pages — the API reads at most {MAX_PDF_PAGES}; split it (qpdf --pages)"
    )]
    TooManyPages { name: String, pages: u32 },
    #[error("{0}")]
    Other(String),
}

/// A request that breaks one of the API's limits on attachments, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "{count} images and PDFs in this conversation — the API takes at most {MAX_MEDIA_PER_REQUEST} per request"
    )]
    TooManyMedia { count: usize },
    #[error(
        "{pages} PDF pages in this conversation — the API takes at most {MAX_PDF_PAGES} per request"
    )]
    TooManyPages { pages: u32 },
    #[error(
        "the attachments in this conversation come to {size} — the API takes at most 32 MB per request"
    )]
    TooLarge { size: String },
}

/// The attachments of a request's messages, in order.
pub fn attachments_of(request: &MessagesRequest) -> impl Iterator<Item = &Attachment> {
    request
        .messages
        .iter()
        .flat_map(|m| match &m.content {
            MessageContent::Blocks(blocks) => blocks.as_slice(),
            MessageContent::Text(_) => &[],
        })
        .filter_map(|b| match b {
            ContentBlock::Attachment(a) => Some(a),
            _ => None,
        })
}

/// Whether `request` keeps within the API's limits on attachments (checked before sending,
/// so nothing is half-sent).
pub fn check_limits(request: &MessagesRequest) -> Result<(), LimitError> {
    check_totals(attachments_of(request))
}

/// [`check_limits`] for the attachments one request would carry.
pub fn check_totals<'a>(
    attachments: impl IntoIterator<Item = &'a Attachment>,
) -> Result<(), LimitError> {
    let mut media = 0;
    let mut pages = 0;
    let mut size = 0;
    for a in attachments {
        if a.kind != AttachmentKind::Text {
            media += 1;
        }
        pages += a.pages.unwrap_or(0);
        size += a.wire_size();
    }
    if media > MAX_MEDIA_PER_REQUEST {
        return Err(LimitError::TooManyMedia { count: media });
    }
    if pages > MAX_PDF_PAGES {
        return Err(LimitError::TooManyPages { pages });
    }
    if size > MAX_REQUEST_BYTES {
        return Err(LimitError::TooLarge {
            size: human_size(size),
        });
    }
    Ok(())
}

/// Give every document of `request` citations, or none (the API takes no mix).
pub fn set_citations(request: &mut MessagesRequest, on: bool) {
    for message in &mut request.messages {
        if let MessageContent::Blocks(blocks) = &mut message.content {
            for block in blocks {
                if let ContentBlock::Attachment(a) = block {
                    a.citations = on && a.kind != AttachmentKind::Image;
                }
            }
        }
    }
}

/// An attachment's bytes are missing where the request is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bytes of {name} are no longer saved — detach it or start a new branch without it")]
pub struct MissingBytes {
    pub name: String,
}

/// Replace every attachment of `request` with the block the API reads, its bytes from
/// `bytes_of` (by SHA-256).
pub fn resolve(
    request: &mut MessagesRequest,
    mut bytes_of: impl FnMut(&str) -> Option<std::sync::Arc<[u8]>>,
) -> Result<(), MissingBytes> {
    for message in &mut request.messages {
        if let MessageContent::Blocks(blocks) = &mut message.content {
            for block in blocks {
                if let ContentBlock::Attachment(a) = block {
                    let bytes = bytes_of(&a.sha256).ok_or_else(|| MissingBytes {
                        name: a.name.clone(),
                    })?;
                    *block = ContentBlock::Unknown(a.wire_block(&bytes));
                }
            }
        }
    }
    Ok(())
}

/// The SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        use fmt::Write as _;
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::RequestMessage;
    use std::sync::Arc;

    fn image(sha: &str, size: u64) -> Attachment {
        Attachment {
            sha256: sha.into(),
            kind: AttachmentKind::Image,
            media_type: "image/png".into(),
            name: "shot.png".into(),
            size,
            width: Some(1568),
            height: Some(980),
            pages: None,
            lines: None,
            original: None,
            citations: false,
        }
    }

    fn pdf(pages: u32) -> Attachment {
        Attachment {
            kind: AttachmentKind::Pdf,
            media_type: "application/pdf".into(),
            name: "paper.pdf".into(),
            pages: Some(pages),
            width: None,
            height: None,
            ..image("p", 1000)
        }
    }

    fn request(blocks: Vec<ContentBlock>) -> MessagesRequest {
        MessagesRequest {
            model: "m".into(),
            max_tokens: 10,
            messages: vec![RequestMessage {
                role: crate::api::Role::User,
                content: MessageContent::Blocks(blocks),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn chips_say_size_and_shape() {
        assert_eq!(
            image("a", 1_200_000).to_string(),
            "▣ shot.png 1.2 MB 1568×980"
        );
        assert_eq!(pdf(12).to_string(), "▤ paper.pdf 1 KB 12 pages");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(3_400), "3 KB");
    }

    #[test]
    fn a_stored_attachment_block_round_trips() {
        let block = ContentBlock::Attachment(image("abc", 10));
        let json = serde_json::to_value(&block).unwrap();
        assert_eq!(json["type"], "tern_attachment");
        let back: ContentBlock = serde_json::from_value(json).unwrap();
        assert_eq!(back, block);
    }

    #[test]
    fn resolve_writes_the_blocks_the_api_reads() {
        let text = Attachment {
            kind: AttachmentKind::Text,
            media_type: "text/plain".into(),
            name: "main.rs".into(),
            ..image("t", 4)
        };
        let mut req = request(vec![
            ContentBlock::Attachment(image("i", 3)),
            ContentBlock::Attachment(pdf(2)),
            ContentBlock::Attachment(text),
            ContentBlock::text("what are these?"),
        ]);
        set_citations(&mut req, true);
        resolve(&mut req, |sha| Some(Arc::from(sha.as_bytes().repeat(3)))).unwrap();
        let v = serde_json::to_value(&req.messages[0]).unwrap();
        assert_eq!(
            v["content"][0],
            json!({"type":"image","source":{"type":"base64","media_type":"image/png","data":"aWlp"}})
        );
        assert_eq!(v["content"][1]["source"]["media_type"], "application/pdf");
        assert_eq!(v["content"][1]["citations"], json!({"enabled": true}));
        assert_eq!(v["content"][1]["title"], "paper.pdf");
        assert_eq!(
            v["content"][2]["source"],
            json!({"type":"text","media_type":"text/plain","data":"ttt"})
        );
        assert_eq!(v["content"][2]["title"], "main.rs");
        assert_eq!(v["content"][3]["text"], "what are these?");
    }

    #[test]
    fn resolve_names_missing_bytes() {
        let mut req = request(vec![ContentBlock::Attachment(image("gone", 3))]);
        let err = resolve(&mut req, |_| None).unwrap_err();
        assert!(err.to_string().contains("shot.png"));
    }

    #[test]
    fn limits_are_named() {
        let many: Vec<_> = (0..101)
            .map(|i| ContentBlock::Attachment(image(&i.to_string(), 10)))
            .collect();
        assert!(matches!(
            check_limits(&request(many)),
            Err(LimitError::TooManyMedia { count: 101 })
        ));
        let pages = vec![
            ContentBlock::Attachment(pdf(60)),
            ContentBlock::Attachment(pdf(41)),
        ];
        let err = check_limits(&request(pages)).unwrap_err();
        assert!(err.to_string().contains("at most 100"), "{err}");
        let big: Vec<_> = (0..9)
            .map(|i| ContentBlock::Attachment(image(&i.to_string(), 3_900_000)))
            .collect();
        assert!(matches!(
            check_limits(&request(big)),
            Err(LimitError::TooLarge { .. })
        ));
        let fine = vec![ContentBlock::Attachment(pdf(100))];
        assert_eq!(check_limits(&request(fine)), Ok(()));
    }

    #[test]
    fn sha256_is_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
