//! Turning a file into what is sent: reading it whole and once, telling its type from its
//! bytes, and refusing what the API cannot take with a message that names the file.

use std::path::Path;
use std::sync::Arc;

use super::{AttachError, Attachment, AttachmentKind, MAX_FILE_BYTES, human_size, sha256_hex};

/// An attachment ready to send: its reference and its bytes as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub attachment: Attachment,
    pub bytes: Arc<[u8]>,
}

/// Read the file at `path` and prepare it.
pub fn prepare_path(path: &Path) -> Result<Prepared, AttachError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| read_error(&shown, &e))?;
    if meta.is_dir() {
        return Err(AttachError::Directory { name: shown });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(AttachError::TooLarge {
            name: shown,
            size: human_size(meta.len()),
            limit: human_size(MAX_FILE_BYTES),
            what: "tern reads to attach",
        });
    }
    let bytes = std::fs::read(path).map_err(|e| read_error(&shown, &e))?;
    prepare(&name, bytes)
}

fn read_error(name: &str, error: &std::io::Error) -> AttachError {
    match error.kind() {
        std::io::ErrorKind::NotFound => AttachError::NotFound { name: name.into() },
        _ => AttachError::Unreadable {
            name: name.into(),
            reason: error.to_string(),
        },
    }
}

/// Prepare the bytes of a file called `name`.
pub fn prepare(name: &str, bytes: Vec<u8>) -> Result<Prepared, AttachError> {
    if bytes.is_empty() {
        return Err(AttachError::Empty { name: name.into() });
    }
    let (kind, media_type) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (AttachmentKind::Image, "image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        (AttachmentKind::Image, "image/jpeg")
    } else if bytes.starts_with(b"%PDF-") {
        (AttachmentKind::Pdf, "application/pdf")
    } else if std::str::from_utf8(&bytes).is_ok() && !bytes.contains(&0) {
        (AttachmentKind::Text, "text/plain")
    } else {
        return Err(AttachError::Unsupported {
            name: name.into(),
            kind: "binary data".into(),
        });
    };
    let lines = (kind == AttachmentKind::Text)
        .then(|| u32::try_from(bytecount_lines(&bytes)).unwrap_or(u32::MAX));
    let attachment = Attachment {
        sha256: sha256_hex(&bytes),
        kind,
        media_type: media_type.into(),
        name: name.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        pages: None,
        lines,
        original: None,
        citations: false,
    };
    Ok(Prepared {
        attachment,
        bytes: bytes.into(),
    })
}

fn bytecount_lines(bytes: &[u8]) -> usize {
    let newlines = memchr::memchr_iter(b'\n', bytes).count();
    newlines + usize::from(!bytes.ends_with(b"\n"))
}
