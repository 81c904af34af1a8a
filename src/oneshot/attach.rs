//! `tern -p -a FILE`: files prepared before anything is sent (a bad one stops the run with a
//! message naming it, and nothing is saved or sent), put in the prompt's user turn, and
//! written into the request from memory or, for a continued conversation's earlier files,
//! from the store.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;

use crate::api::types::{ContentBlock, MessageContent, MessagesRequest, Role};
use crate::attach::{AttachError, Attachment, Prepared};
use crate::store::{Store, StoredMessage};

/// The files of `-a`, prepared, in order.
#[derive(Debug, Default)]
pub struct Attached {
    pub files: Vec<Prepared>,
}

impl Attached {
    /// Prepare every `-a` word (`~` and globs expanded; `-` is stdin, which must not be text).
    pub fn prepare(words: &[String]) -> Result<Attached, AttachError> {
        let mut files = Vec::new();
        for word in words {
            if word == "-" {
                files.push(from_stdin()?);
                continue;
            }
            for path in crate::attach::paths::expand(word)? {
                files.push(crate::attach::prepare_path(&path)?);
            }
        }
        Ok(Attached { files })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether stdin was taken as a file (and so is no part of the prompt).
    pub fn reads_stdin(words: &[String]) -> bool {
        words.iter().any(|w| w == "-")
    }

    pub fn references(&self) -> Vec<Attachment> {
        self.files.iter().map(|p| p.attachment.clone()).collect()
    }

    /// Put the attachments first in the request's last user turn (an empty text is dropped).
    pub fn add_to_request(&self, request: &mut MessagesRequest) {
        if self.is_empty() {
            return;
        }
        let Some(last) = request.messages.iter_mut().rfind(|m| m.role == Role::User) else {
            return;
        };
        let blocks = match std::mem::replace(&mut last.content, MessageContent::Blocks(Vec::new()))
        {
            MessageContent::Text(text) => vec![ContentBlock::text(text)],
            MessageContent::Blocks(blocks) => blocks,
        };
        last.content = MessageContent::Blocks(self.with(blocks));
    }

    /// Put the attachments first in a saved prompt.
    pub fn add_to_message(&self, message: &mut StoredMessage) {
        if !self.is_empty() {
            message.content = self.with(std::mem::take(&mut message.content));
        }
    }

    fn with(&self, blocks: Vec<ContentBlock>) -> Vec<ContentBlock> {
        let files = self.references().into_iter().map(ContentBlock::Attachment);
        files
            .chain(
                blocks
                    .into_iter()
                    .filter(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty())),
            )
            .collect()
    }

    /// Keep the bytes in the store (the prompt that references them is saved next).
    pub fn save(&self, store: &mut Store) -> Result<(), crate::store::StoreError> {
        for file in &self.files {
            store.put_attachment(
                &file.attachment.sha256,
                &file.attachment.media_type,
                &file.bytes,
            )?;
        }
        Ok(())
    }

    /// Write every attachment of `request` in: these files from memory, earlier ones of a
    /// continued conversation from the store.
    pub fn resolve(
        &self,
        request: &mut MessagesRequest,
    ) -> Result<(), crate::attach::MissingBytes> {
        if crate::attach::attachments_of(request).next().is_none() {
            return Ok(());
        }
        let mine: HashMap<&str, Arc<[u8]>> = self
            .files
            .iter()
            .map(|f| (f.attachment.sha256.as_str(), f.bytes.clone()))
            .collect();
        let path = Store::default_path();
        let store = crate::store::data_dir(path.as_deref())
            .ok()
            .and_then(|dir| Store::open_for_reading(dir).ok());
        crate::attach::resolve(request, |sha| {
            mine.get(sha).cloned().or_else(|| {
                store
                    .as_ref()
                    .and_then(|s| s.attachment_bytes(sha).ok().flatten())
            })
        })
    }
}

/// `-a -`: stdin's bytes, which must be an image or a PDF (text on stdin is the prompt).
fn from_stdin() -> Result<Prepared, AttachError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(crate::attach::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AttachError::Unreadable {
            name: "stdin".into(),
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > crate::attach::MAX_FILE_BYTES {
        return Err(AttachError::TooLarge {
            name: "stdin".into(),
            size: format!(
                "over {}",
                crate::attach::human_size(crate::attach::MAX_FILE_BYTES)
            ),
            limit: crate::attach::human_size(crate::attach::MAX_FILE_BYTES),
            what: "tern reads to attach",
        });
    }
    let prepared = crate::attach::prepare("stdin", bytes)?;
    if prepared.attachment.kind == crate::attach::AttachmentKind::Text {
        return Err(AttachError::Other(
            "stdin is text — pipe it without `-a -` and it goes with the prompt".into(),
        ));
    }
    Ok(prepared)
}
