//! Each refusal of an image or document block, the request-wide limits, and the description
//! the `attachments` scenario gives; images are made here with the `image` crate, PDFs are
//! written by hand.

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

/// An image of `width`×`height` in `format`, encoded.
pub(crate) fn image_bytes(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 90]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A PDF of `pages` blank pages, its cross-reference offsets right; with `encrypt`, its
/// trailer points at a (made-up) standard security handler.
pub(crate) fn pdf_bytes(pages: usize, encrypt: bool) -> Vec<u8> {
    let first_page = 3;
    let kids: Vec<String> = (0..pages)
        .map(|n| format!("{} 0 R", first_page + n))
        .collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    ];
    for _ in 0..pages {
        objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_string());
    }
    if encrypt {
        objects.push(format!(
            "<< /Filter /Standard /V 1 /R 2 /O ({}) /U ({}) /P -4 >>",
            "o".repeat(32),
            "u".repeat(32)
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    let encrypt = if encrypt {
        format!(" /Encrypt {} 0 R /ID [<00> <00>]", objects.len())
    } else {
        String::new()
    };
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R{encrypt} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn image_block(media_type: &str, bytes: &[u8]) -> Value {
    json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64(bytes)}})
}

fn png(width: u32, height: u32) -> Vec<u8> {
    image_bytes(image::ImageFormat::Png, width, height)
}

fn image_refusal(block: Value) -> String {
    check_image(&block, "messages.0.content.0")
        .unwrap_err()
        .message
}

fn document_refusal(block: Value) -> String {
    check_document(&block, "messages.0.content.0")
        .unwrap_err()
        .message
}

#[test]
fn each_image_format_is_told_from_its_bytes_with_its_size() {
    let formats = [
        (image::ImageFormat::Png, "image/png"),
        (image::ImageFormat::Jpeg, "image/jpeg"),
        (image::ImageFormat::Gif, "image/gif"),
        (image::ImageFormat::WebP, "image/webp"),
    ];
    for (format, media_type) in formats {
        let block = image_block(media_type, &image_bytes(format, 64, 48));
        assert_eq!(
            check_image(&block, "messages.0.content.0"),
            Ok(MediaKind::Image(ImageSource::Base64 {
                media_type,
                width: 64,
                height: 48
            })),
            "{media_type}"
        );
    }
}

#[test]
fn an_image_is_refused_as_the_api_refuses_it() {
    let jpeg = image_bytes(image::ImageFormat::Jpeg, 8, 8);
    let cases = [
        (
            image_block("image/png", &jpeg),
            "messages.0.content.0.image.source.base64: The image was specified using the image/png media type, but the image appears to be a image/jpeg image",
        ),
        (
            image_block("image/bmp", &png(4, 4)),
            "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
        ),
        (
            image_block("image/png", b"not an image at all"),
            "messages.0.content.0.image.source.base64.data: Could not process image",
        ),
        (
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%"}}),
            "messages.0.content.0.image.source.base64: invalid base64 data",
        ),
        (
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}),
            "messages.0.content.0.image.source.base64: image cannot be empty",
        ),
        (
            image_block("image/png", &png(8001, 2)),
            "messages.0.content.0.image.source.base64.data: At least one of the image dimensions exceed max allowed size: 8000 pixels",
        ),
        (
            json!({"type": "image", "source": {"type": "file", "file_id": "f"}}),
            "messages.0.content.0.image.source: Input tag 'file' found using 'type' does not match any of the expected tags: 'base64', 'url'",
        ),
        (
            json!({"type": "image"}),
            "messages.0.content.0.image.source: Field required",
        ),
        (
            json!({"type": "image", "source": {"type": "url", "url": "http://example.com/a.png"}}),
            "messages.0.content.0.image.source.url.url: Only HTTPS URLs are supported",
        ),
        (
            json!({"type": "image", "source": {"type": "url", "url": "not a url"}}),
            "messages.0.content.0.image.source.url.url: Input should be a valid URL",
        ),
        (
            json!({"type": "image", "name": "shot.png", "source": {"type": "url", "url": "https://example.com/a.png"}}),
            "messages.0.content.0.image.name: Extra inputs are not permitted",
        ),
    ];
    for (block, expected) in cases {
        assert_eq!(image_refusal(block.clone()), expected, "{block}");
    }
}

#[test]
fn the_base64_of_an_image_is_at_most_five_mebibytes() {
    let data = "A".repeat(MAX_IMAGE_BASE64 + 4);
    let block = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}});
    assert_eq!(
        image_refusal(block),
        "messages.0.content.0.image.source.base64: image exceeds 5 MB maximum: 5242884 bytes > 5242880 bytes"
    );
}

#[test]
fn an_https_image_url_is_taken_without_fetching() {
    let block =
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}});
    assert_eq!(
        check_image(&block, "m"),
        Ok(MediaKind::Image(ImageSource::Url(
            "https://example.com/cat.jpg".into()
        )))
    );
}

fn pdf_block(bytes: &[u8]) -> Value {
    json!({"type": "document", "title": "paper.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(bytes)}})
}

#[test]
fn documents_of_each_source_say_what_they_hold() {
    let cases = [
        (
            pdf_block(&pdf_bytes(3, false)),
            DocumentSource::Pdf { pages: 3 },
        ),
        (
            json!({"type": "document", "title": "main.rs", "citations": {"enabled": true},
                "source": {"type": "text", "media_type": "text/plain", "data": "fn main() {}\n// é\n"}}),
            DocumentSource::Text {
                lines: 2,
                chars: 18,
            },
        ),
        (
            json!({"type": "document", "title": "notes", "context": "mine",
                "source": {"type": "content", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}),
            DocumentSource::Content { blocks: 2 },
        ),
        (
            json!({"type": "document", "title": "spec", "source": {"type": "url", "url": "https://example.com/a.pdf"}}),
            DocumentSource::Url("https://example.com/a.pdf".into()),
        ),
    ];
    for (block, expected) in cases {
        let Ok(MediaKind::Document { source, .. }) = check_document(&block, "m") else {
            panic!("{block}");
        };
        assert_eq!(source, expected, "{block}");
    }
}

#[test]
fn a_document_is_refused_as_the_api_refuses_it() {
    let pdf = |media_type: &str, data: &str| json!({"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}});
    let text = |media_type: &str, data: Value| json!({"type": "document", "source": {"type": "text", "media_type": media_type, "data": data}});
    let cases = [
        (
            pdf_block(b"%PDF-1.4 and then nothing a reader can use"),
            "messages.0.content.0.pdf.source.base64.data: The PDF specified was not valid.",
        ),
        (
            pdf_block(&pdf_bytes(1, true)),
            "messages.0.content.0.pdf.source.base64.data: The PDF specified is encrypted (password-protected); encrypted PDFs are not supported.",
        ),
        (
            pdf("application/octet-stream", &b64(&pdf_bytes(1, false))),
            "messages.0.content.0.pdf.source.base64.media_type: Input should be 'application/pdf'",
        ),
        (
            pdf("application/pdf", "!!"),
            "messages.0.content.0.pdf.source.base64: invalid base64 data",
        ),
        (
            text("text/markdown", json!("# hi")),
            "messages.0.content.0.document.source.text.media_type: Input should be 'text/plain'",
        ),
        (
            text("text/plain", json!(42)),
            "messages.0.content.0.document.source.text.data: Input should be a valid string",
        ),
        (
            json!({"type": "document", "source": {"type": "content", "content": [{"type": "document"}]}}),
            "messages.0.content.0.document.source.content.content.0: Input tag 'document' found using 'type' does not match any of the expected tags: 'text', 'image'",
        ),
        (
            json!({"type": "document", "source": {"type": "zip"}}),
            "messages.0.content.0.document.source: Input tag 'zip' found using 'type' does not match any of the expected tags: 'base64', 'text', 'content', 'url'",
        ),
        (
            json!({"type": "document", "title": 3, "source": {"type": "url", "url": "https://e.com/a.pdf"}}),
            "messages.0.content.0.document.title: Input should be a valid string",
        ),
        (
            json!({"type": "document", "context": [], "source": {"type": "url", "url": "https://e.com/a.pdf"}}),
            "messages.0.content.0.document.context: Input should be a valid string",
        ),
        (
            json!({"type": "document", "citations": {"enabled": "yes"}, "source": {"type": "url", "url": "https://e.com/a.pdf"}}),
            "messages.0.content.0.document.citations.enabled: Input should be a valid boolean",
        ),
        (
            json!({"type": "document", "name": "a.pdf", "source": {"type": "url", "url": "https://e.com/a.pdf"}}),
            "messages.0.content.0.document.name: Extra inputs are not permitted",
        ),
    ];
    for (block, expected) in cases {
        assert_eq!(document_refusal(block.clone()), expected, "{block}");
    }
}

fn image_at(message: usize, width: u32, height: u32) -> Media {
    Media {
        message,
        path: format!("messages.{message}.content.0"),
        kind: MediaKind::Image(ImageSource::Base64 {
            media_type: "image/png",
            width,
            height,
        }),
    }
}

fn document_at(message: usize, source: DocumentSource, citations: bool) -> Media {
    Media {
        message,
        path: format!("messages.{message}.content.1"),
        kind: MediaKind::Document {
            title: Some("paper.pdf".into()),
            citations,
            source,
        },
    }
}

#[test]
fn a_request_takes_at_most_a_hundred_images_and_pdfs_and_a_hundred_pages() {
    let mut media: Vec<Media> = (0..99).map(|n| image_at(n, 10, 10)).collect();
    media.push(document_at(99, DocumentSource::Pdf { pages: 2 }, false));
    // Text documents do not count.
    media.push(document_at(
        99,
        DocumentSource::Text { lines: 1, chars: 1 },
        false,
    ));
    assert_eq!(check_request(&media), Ok(()));
    media.push(image_at(100, 10, 10));
    assert_eq!(
        check_request(&media).unwrap_err().message,
        "too many images and documents: 100 + 1 > 100"
    );

    let pages = vec![
        document_at(0, DocumentSource::Pdf { pages: 60 }, false),
        document_at(2, DocumentSource::Pdf { pages: 40 }, false),
    ];
    assert_eq!(check_request(&pages), Ok(()));
    let pages = vec![
        document_at(0, DocumentSource::Pdf { pages: 60 }, false),
        document_at(2, DocumentSource::Pdf { pages: 41 }, false),
    ];
    assert_eq!(
        check_request(&pages).unwrap_err().message,
        "A maximum of 100 PDF pages may be provided."
    );
}

#[test]
fn more_than_twenty_images_are_each_at_most_two_thousand_pixels() {
    let mut media: Vec<Media> = (0..20).map(|n| image_at(n, 10, 10)).collect();
    media.push(image_at(20, 2000, 2000));
    assert_eq!(check_request(&media), Ok(()), "twenty-one small enough");
    media.push(image_at(21, 4000, 100));
    assert_eq!(
        check_request(&media).unwrap_err().message,
        "messages.21.content.0.image.source.base64.data: At least one of the image dimensions exceed max allowed size for many-image requests: 2000 pixels"
    );
    let few = vec![image_at(0, 8000, 8000), image_at(1, 4000, 10)];
    assert_eq!(check_request(&few), Ok(()));
}

#[test]
fn citations_are_on_for_every_document_or_for_none() {
    let pdf = || DocumentSource::Pdf { pages: 1 };
    let text = || DocumentSource::Text { lines: 1, chars: 1 };
    for same in [false, true] {
        let media = vec![document_at(0, pdf(), same), document_at(2, text(), same)];
        assert_eq!(check_request(&media), Ok(()));
    }
    let mixed = vec![document_at(0, pdf(), true), document_at(2, text(), false)];
    assert!(
        check_request(&mixed)
            .unwrap_err()
            .message
            .contains("citations must be enabled on all of a request's documents or on none"),
    );
}

#[test]
fn the_description_lists_the_turns_blocks_and_counts_the_requests() {
    let media = vec![
        image_at(0, 100, 100),
        image_at(2, 640, 480),
        document_at(2, DocumentSource::Pdf { pages: 3 }, false),
        Media {
            message: 2,
            path: "messages.2.content.2".into(),
            kind: MediaKind::Document {
                title: Some("main \"v2\".rs".into()),
                citations: true,
                source: DocumentSource::Text {
                    lines: 42,
                    chars: 1200,
                },
            },
        },
        Media {
            message: 2,
            path: "messages.2.content.3".into(),
            kind: MediaKind::Image(ImageSource::Url("https://example.com/a.png".into())),
        },
        Media {
            message: 2,
            path: "messages.2.content.4".into(),
            kind: MediaKind::Document {
                title: None,
                citations: false,
                source: DocumentSource::Pdf { pages: 1 },
            },
        },
    ];
    assert_eq!(
        describe(&media, Some(2)),
        "attachments: 5 in this turn, 6 in the request\n\
         image image/png 640×480\n\
         document application/pdf \"paper.pdf\" 3 pages citations=off\n\
         document text/plain \"main \\\"v2\\\".rs\" 42 lines 1200 chars citations=on\n\
         image url https://example.com/a.png\n\
         document application/pdf untitled 1 page citations=off\n\
         request: 3 images, 3 documents, 4 PDF pages"
    );
    assert_eq!(
        describe(&[], Some(0)),
        "attachments: 0 in this turn, 0 in the request\nrequest: 0 images, 0 documents, 0 PDF pages"
    );
}
