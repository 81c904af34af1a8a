//! `image` and `document` blocks: checked as the API checks them, and what each one holds.
//!
//! The fake exists to catch a client that sends what the real API refuses, and attachments
//! are where a client most easily sends the wrong thing (a media type taken from a file name,
//! an image too large, a PDF behind a password), so the bytes themselves are read: the
//! format is told from them, an image's size from its header (no pixels are decoded, so even
//! an 8000×8000 image costs nothing), a PDF's pages and encryption from its trailer and page
//! tree. What was found is kept as [`Media`] so the limits that span a request (how many, how
//! many pages, the smaller edge limit of many-image requests, citations on all documents or
//! none) are checked once every block is known, and so the `attachments` scenario can say what
//! arrived without decoding anything twice.
//!
//! Messages follow the API's own where they are known (`…image.source.base64: image exceeds
//! 5 MB maximum: …`, `too many images and documents: 101 + 0 > 100`).

use std::fmt::Write as _;
use std::io::Cursor;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::validate::{Refusal, invalid};

/// The longest base64 string one image may be (5 MiB).
const MAX_IMAGE_BASE64: usize = 5 * 1024 * 1024;
/// The longest edge of an image, in pixels.
const MAX_IMAGE_EDGE: u32 = 8000;
/// The longest edge of each image when a request has more than [`MANY_IMAGES`] of them.
const MAX_MANY_IMAGE_EDGE: u32 = 2000;
/// Above this many images a request is a many-image request.
const MANY_IMAGES: usize = 20;
/// Images and PDF documents one request may carry.
const MAX_MEDIA: usize = 100;
/// PDF pages one request may carry, across its documents.
const MAX_PDF_PAGES: u32 = 100;

/// The media types an image may have.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// One image or document of a request, as it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Media {
    /// The index of the message it is in.
    pub message: usize,
    /// Where the block is (`messages.0.content.1`), for the errors found once every block is
    /// known.
    pub path: String,
    pub kind: MediaKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MediaKind {
    Image(ImageSource),
    Document {
        title: Option<String>,
        citations: bool,
        source: DocumentSource,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ImageSource {
    /// Base64 bytes of this media type, checked against them, and the size they decode to.
    Base64 {
        media_type: &'static str,
        width: u32,
        height: u32,
    },
    /// An https URL, not fetched.
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DocumentSource {
    /// A base64 PDF of this many pages.
    Pdf { pages: u32 },
    /// Plain text, its lines counted as a text editor counts them.
    Text { lines: usize, chars: usize },
    /// Content blocks given as they are.
    Content { blocks: usize },
    /// A PDF at an https URL, not fetched.
    Url(String),
}

impl Media {
    fn is_image(&self) -> bool {
        matches!(self.kind, MediaKind::Image(_))
    }

    /// Its pages when it is a PDF read from its bytes, else 0.
    fn pdf_pages(&self) -> u32 {
        match self.kind {
            MediaKind::Document {
                source: DocumentSource::Pdf { pages },
                ..
            } => pages,
            _ => 0,
        }
    }

    /// Whether it counts against the per-request limit: images and PDFs (a URL document is a
    /// PDF), not text.
    fn is_counted_document(&self) -> bool {
        matches!(
            self.kind,
            MediaKind::Document {
                source: DocumentSource::Pdf { .. } | DocumentSource::Url(_),
                ..
            }
        )
    }
}

/// `fields` has no key outside `allowed`.
fn only(fields: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), Refusal> {
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(extra) => Err(invalid(format!(
            "{path}.{extra}: Extra inputs are not permitted"
        ))),
        None => Ok(()),
    }
}

/// The object at `fields[key]`, which is required.
fn object<'a>(
    fields: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, Refusal> {
    match fields.get(key) {
        None | Some(Value::Null) => Err(invalid(format!("{path}.{key}: Field required"))),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(invalid(format!(
            "{path}.{key}: Input should be a valid dictionary or object to extract fields from"
        ))),
    }
}

/// The string at `fields[key]`, which is required.
fn string<'a>(fields: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, Refusal> {
    match fields.get(key) {
        None | Some(Value::Null) => Err(invalid(format!("{path}.{key}: Field required"))),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(invalid(format!(
            "{path}.{key}: Input should be a valid string"
        ))),
    }
}

/// The string at `fields[key]`, when there is one.
fn optional_string(
    fields: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, Refusal> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(format!(
            "{path}.{key}: Input should be a valid string"
        ))),
    }
}

/// A source's `type`, one of `tags`.
fn source_tag<'a>(
    source: &'a Map<String, Value>,
    tags: &[&str],
    path: &str,
) -> Result<&'a str, Refusal> {
    let expected = || {
        tags.iter()
            .map(|tag| format!("'{tag}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match source.get("type").and_then(Value::as_str) {
        None => Err(invalid(format!(
            "{path}: Unable to extract tag using discriminator 'type'"
        ))),
        Some(tag) if tags.contains(&tag) => Ok(tag),
        Some(tag) => Err(invalid(format!(
            "{path}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {}",
            expected()
        ))),
    }
}

/// A base64 `data` field: present, not empty, within `max` characters when given, decoded.
fn base64_data(
    source: &Map<String, Value>,
    path: &str,
    what: &str,
    max: Option<usize>,
) -> Result<Vec<u8>, Refusal> {
    let data = string(source, "data", path)?;
    if data.is_empty() {
        return Err(invalid(format!("{path}: {what} cannot be empty")));
    }
    if let Some(max) = max
        && data.len() > max
    {
        return Err(invalid(format!(
            "{path}: {what} exceeds 5 MB maximum: {} bytes > {max} bytes",
            data.len()
        )));
    }
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| invalid(format!("{path}: invalid base64 data")))
}

/// An `https` URL with a host (never fetched).
fn https_url(source: &Map<String, Value>, path: &str) -> Result<String, Refusal> {
    let url = string(source, "url", path)?;
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.scheme() == "https" && parsed.host_str().is_some() => {
            Ok(url.to_string())
        }
        Ok(_) => Err(invalid(format!(
            "{path}.url: Only HTTPS URLs are supported"
        ))),
        Err(_) => Err(invalid(format!("{path}.url: Input should be a valid URL"))),
    }
}

/// An `image` block at `path`: a base64 source whose bytes are the image its media type
/// says, within the API's size limits, or an https URL.
pub(super) fn check_image(block: &Value, path: &str) -> Result<MediaKind, Refusal> {
    let path = format!("{path}.image");
    let Some(fields) = block.as_object() else {
        return Err(invalid(format!(
            "{path}: Input should be a valid dictionary"
        )));
    };
    only(fields, &["type", "source", "cache_control"], &path)?;
    let source = object(fields, "source", &path)?;
    let source_path = format!("{path}.source");
    match source_tag(source, &["base64", "url"], &source_path)? {
        "url" => {
            let path = format!("{source_path}.url");
            only(source, &["type", "url"], &path)?;
            Ok(MediaKind::Image(ImageSource::Url(https_url(
                source, &path,
            )?)))
        }
        _ => {
            let path = format!("{source_path}.base64");
            only(source, &["type", "media_type", "data"], &path)?;
            let declared = string(source, "media_type", &path)?;
            let Some(media_type) = IMAGE_TYPES.into_iter().find(|known| *known == declared) else {
                return Err(invalid(format!(
                    "{path}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                )));
            };
            let bytes = base64_data(source, &path, "image", Some(MAX_IMAGE_BASE64))?;
            let (width, height) = image_size(&bytes, media_type, &path)?;
            if width > MAX_IMAGE_EDGE || height > MAX_IMAGE_EDGE {
                return Err(invalid(format!(
                    "{path}.data: At least one of the image dimensions exceed max allowed size: {MAX_IMAGE_EDGE} pixels"
                )));
            }
            Ok(MediaKind::Image(ImageSource::Base64 {
                media_type,
                width,
                height,
            }))
        }
    }
}

/// The width and height in `bytes`' header, when the bytes are an image of `media_type`.
fn image_size(bytes: &[u8], media_type: &str, path: &str) -> Result<(u32, u32), Refusal> {
    let unreadable = || invalid(format!("{path}.data: Could not process image"));
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    let Some(format) = reader.format() else {
        return Err(unreadable());
    };
    let actual = format.to_mime_type();
    if actual != media_type {
        return Err(invalid(format!(
            "{path}: The image was specified using the {media_type} media type, but the image appears to be a {actual} image"
        )));
    }
    reader.into_dimensions().map_err(|_| unreadable())
}

/// A `document` block at `path`: a base64 PDF (readable, not encrypted), plain text, content
/// blocks or an https URL, with an optional string `title` and `context` and
/// `citations: {"enabled": bool}`.
pub(super) fn check_document(block: &Value, path: &str) -> Result<MediaKind, Refusal> {
    let block_path = path;
    let path = format!("{path}.document");
    let Some(fields) = block.as_object() else {
        return Err(invalid(format!(
            "{path}: Input should be a valid dictionary"
        )));
    };
    only(
        fields,
        &[
            "type",
            "source",
            "title",
            "context",
            "citations",
            "cache_control",
        ],
        &path,
    )?;
    let title = optional_string(fields, "title", &path)?;
    optional_string(fields, "context", &path)?;
    let citations = match fields.get("citations") {
        None | Some(Value::Null) => false,
        Some(Value::Object(config)) => {
            let path = format!("{path}.citations");
            only(config, &["enabled"], &path)?;
            match config.get("enabled") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(enabled)) => *enabled,
                Some(_) => {
                    return Err(invalid(format!(
                        "{path}.enabled: Input should be a valid boolean"
                    )));
                }
            }
        }
        Some(_) => {
            return Err(invalid(format!(
                "{path}.citations: Input should be a valid dictionary or object to extract fields from"
            )));
        }
    };
    let source = object(fields, "source", &path)?;
    let source_path = format!("{path}.source");
    let source = match source_tag(source, &["base64", "text", "content", "url"], &source_path)? {
        "base64" => {
            // The API names a base64 document a `pdf` in its messages.
            let path = format!("{block_path}.pdf.source.base64");
            only(source, &["type", "media_type", "data"], &path)?;
            if string(source, "media_type", &path)? != "application/pdf" {
                return Err(invalid(format!(
                    "{path}.media_type: Input should be 'application/pdf'"
                )));
            }
            let bytes = base64_data(source, &path, "document", None)?;
            DocumentSource::Pdf {
                pages: pdf_pages(&bytes, &path)?,
            }
        }
        "text" => {
            let path = format!("{source_path}.text");
            only(source, &["type", "media_type", "data"], &path)?;
            if string(source, "media_type", &path)? != "text/plain" {
                return Err(invalid(format!(
                    "{path}.media_type: Input should be 'text/plain'"
                )));
            }
            let data = string(source, "data", &path)?;
            DocumentSource::Text {
                lines: line_count(data),
                chars: data.chars().count(),
            }
        }
        "content" => {
            let path = format!("{source_path}.content");
            only(source, &["type", "content"], &path)?;
            DocumentSource::Content {
                blocks: content_blocks(source.get("content"), &path)?,
            }
        }
        _ => {
            let path = format!("{source_path}.url");
            only(source, &["type", "url"], &path)?;
            DocumentSource::Url(https_url(source, &path)?)
        }
    };
    Ok(MediaKind::Document {
        title,
        citations,
        source,
    })
}

/// The pages of the PDF in `bytes`, refused when it is not a PDF or is encrypted.
fn pdf_pages(bytes: &[u8], path: &str) -> Result<u32, Refusal> {
    let metadata = lopdf::Document::load_metadata_mem(bytes);
    // A PDF whose password is not empty cannot even be read for its pages; its trailer
    // still says it is encrypted.
    let encrypted = match &metadata {
        Ok(metadata) => metadata.encrypted,
        Err(_) => memchr::memmem::find(bytes, b"/Encrypt").is_some(),
    };
    if encrypted {
        return Err(invalid(format!(
            "{path}.data: The PDF specified is encrypted (password-protected); encrypted PDFs are not supported."
        )));
    }
    metadata
        .map(|metadata| metadata.page_count)
        .map_err(|_| invalid(format!("{path}.data: The PDF specified was not valid.")))
}

/// Lines as an editor shows them: one more than the newlines unless the text ends with one.
fn line_count(text: &str) -> usize {
    let newlines = text.matches('\n').count();
    newlines + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// A content source's `content`: a string, or a list of text and image blocks.
fn content_blocks(content: Option<&Value>, path: &str) -> Result<usize, Refusal> {
    let blocks = match content {
        None | Some(Value::Null) => return Err(invalid(format!("{path}.content: Field required"))),
        Some(Value::String(_)) => return Ok(1),
        Some(Value::Array(blocks)) => blocks,
        Some(_) => {
            return Err(invalid(format!(
                "{path}.content: Input should be a valid string or a list of content blocks"
            )));
        }
    };
    for (at, block) in blocks.iter().enumerate() {
        let block_path = format!("{path}.content.{at}");
        match block.get("type").and_then(Value::as_str) {
            Some("text") => match block.get("text").and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "{block_path}.text: text content blocks must contain non-whitespace text"
                    )));
                }
                None => return Err(invalid(format!("{block_path}.text: Field required"))),
            },
            Some("image") => {
                check_image(block, &block_path)?;
            }
            None => return Err(invalid(format!("{block_path}.type: Field required"))),
            Some(other) => {
                return Err(invalid(format!(
                    "{block_path}: Input tag '{other}' found using 'type' does not match any of the expected tags: 'text', 'image'"
                )));
            }
        }
    }
    Ok(blocks.len())
}

/// The limits that span the request: how many images and PDFs, how many PDF pages, the edge
/// limit of a many-image request, and citations on every document or on none.
pub(super) fn check_request(media: &[Media]) -> Result<(), Refusal> {
    let images = media.iter().filter(|m| m.is_image()).count();
    let documents = media.iter().filter(|m| m.is_counted_document()).count();
    if images + documents > MAX_MEDIA {
        return Err(invalid(format!(
            "too many images and documents: {images} + {documents} > {MAX_MEDIA}"
        )));
    }
    let pages: u32 = media.iter().map(Media::pdf_pages).sum();
    if pages > MAX_PDF_PAGES {
        return Err(invalid(format!(
            "A maximum of {MAX_PDF_PAGES} PDF pages may be provided."
        )));
    }
    if images > MANY_IMAGES {
        let too_big = media.iter().find(|m| {
            matches!(m.kind, MediaKind::Image(ImageSource::Base64 { width, height, .. })
                if width > MAX_MANY_IMAGE_EDGE || height > MAX_MANY_IMAGE_EDGE)
        });
        if let Some(image) = too_big {
            return Err(invalid(format!(
                "{}.image.source.base64.data: At least one of the image dimensions exceed max allowed size for many-image requests: {MAX_MANY_IMAGE_EDGE} pixels",
                image.path
            )));
        }
    }
    let citations: Vec<bool> = media
        .iter()
        .filter_map(|m| match m.kind {
            MediaKind::Document { citations, .. } => Some(citations),
            MediaKind::Image(_) => None,
        })
        .collect();
    if citations.contains(&true) && citations.contains(&false) {
        return Err(invalid(
            "citations: citations must be enabled on all of a request's documents or on none of them",
        ));
    }
    Ok(())
}

/// What the request carried, for the `attachments` scenario: a first line
/// `attachments: N in this turn, M in the request`, then a line per image or document of the
/// user turn at index `turn`, in order, then `request: I images, D documents, P PDF pages`.
/// See [`Scenario::Attachments`](super::super::Scenario::Attachments) for each line's format.
pub(super) fn describe(media: &[Media], turn: Option<usize>) -> String {
    let here: Vec<&Media> = media.iter().filter(|m| Some(m.message) == turn).collect();
    let mut text = format!(
        "attachments: {} in this turn, {} in the request\n",
        here.len(),
        media.len()
    );
    for item in &here {
        text.push_str(&describe_one(item));
        text.push('\n');
    }
    let images = media.iter().filter(|m| m.is_image()).count();
    let pages: u32 = media.iter().map(Media::pdf_pages).sum();
    let _ = write!(
        text,
        "request: {images} images, {} documents, {pages} PDF pages",
        media.len() - images
    );
    text
}

/// One line: `image image/png 640×480`, `image url https://…`, or `document`, its media type
/// (or `url`, `content`), its quoted title (or `untitled`), what it holds, and
/// `citations=on|off`.
fn describe_one(media: &Media) -> String {
    match &media.kind {
        MediaKind::Image(ImageSource::Base64 {
            media_type,
            width,
            height,
        }) => format!("image {media_type} {width}×{height}"),
        MediaKind::Image(ImageSource::Url(url)) => format!("image url {url}"),
        MediaKind::Document {
            title,
            citations,
            source,
        } => {
            let title = title
                .as_ref()
                .map_or_else(|| "untitled".to_string(), |title| format!("{title:?}"));
            let plural = |n: usize, one: &str| {
                if n == 1 {
                    format!("1 {one}")
                } else {
                    format!("{n} {one}s")
                }
            };
            let (kind, holds) = match source {
                DocumentSource::Pdf { pages } => {
                    ("application/pdf", plural(*pages as usize, "page"))
                }
                DocumentSource::Text { lines, chars } => (
                    "text/plain",
                    format!("{} {chars} chars", plural(*lines, "line")),
                ),
                DocumentSource::Content { blocks } => ("content", plural(*blocks, "block")),
                DocumentSource::Url(url) => ("url", url.clone()),
            };
            let on = if *citations { "on" } else { "off" };
            format!("document {kind} {title} {holds} citations={on}")
        }
    }
}

#[cfg(test)]
mod tests;
