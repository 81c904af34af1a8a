//! The I/O behind attachments: preparing files on the blocking pool (reading, decoding and
//! scaling a 12-megapixel photo takes a while, and the loop must keep drawing), putting their
//! bytes in the store, completing paths, reading the clipboard's image, and writing the bytes
//! into a request just before it goes out.
//!
//! This session's prepared bytes are also kept in memory ([`AttachmentBytes`]), so a prompt is
//! never held up by, nor depends on, the store: bytes from earlier sessions (a resumed
//! conversation) are read from the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::api::{ApiError, MessagesRequest};
use crate::app::Action;
use crate::app::attach::{AttachSource, PasteOffer, PathCompletion};
use crate::attach::{AttachError, Attachment, Prepared};
use crate::store::{Store, StoreWriter};

use super::effects::Driver;

/// The bytes this session prepared, by SHA-256.
#[derive(Clone, Default)]
pub(crate) struct AttachmentBytes(Arc<Mutex<HashMap<String, Arc<[u8]>>>>);

impl AttachmentBytes {
    fn put(&self, sha256: &str, bytes: Arc<[u8]>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(sha256.to_owned(), bytes);
        }
    }

    pub(super) fn get(&self, sha256: &str) -> Option<Arc<[u8]>> {
        self.0.lock().ok()?.get(sha256).cloned()
    }
}

impl Driver {
    /// `Effect::Attach`: prepare the files off the loop and answer with `Action::Attached`.
    pub(crate) fn attach(&mut self, conversation: String, job: u64, source: AttachSource) {
        let tx = self.tx.clone();
        let bytes = self.attachment_bytes.clone();
        let writer = self.writer.clone();
        tokio::spawn(async move {
            let results = tokio::task::spawn_blocking(move || prepare_source(&source))
                .await
                .unwrap_or_else(|e| {
                    vec![Err(AttachError::Other(format!("preparing failed: {e}")))]
                });
            let results = results
                .into_iter()
                .map(|r| r.map(|prepared| keep(prepared, &bytes, writer.as_ref())))
                .collect();
            let _ = tx.send(Action::Attached {
                conversation,
                job,
                results,
            });
        });
    }

    /// `Effect::CompletePath`: list what completes the word, off the loop.
    pub(crate) fn complete_path(&self, conversation: String, draft: String, word_start: usize) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let word = draft.get(word_start..).unwrap_or("").to_owned();
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let candidates =
                tokio::task::spawn_blocking(move || crate::attach::paths::complete(&word, &cwd))
                    .await
                    .unwrap_or_default();
            let _ = tx.send(Action::PathCompleted {
                conversation,
                completion: PathCompletion {
                    draft,
                    word_start,
                    candidates,
                },
            });
        });
    }

    /// What writes a request's attachments in, for a task to take along.
    pub(crate) fn resolver(&mut self) -> Resolver {
        Resolver {
            bytes: self.attachment_bytes.clone(),
            reader: self.reader().ok(),
            writer: self.writer.clone(),
        }
    }
}

/// Writes the bytes of a request's attachments in: this session's from memory, older ones
/// from the store.
pub(crate) struct Resolver {
    bytes: AttachmentBytes,
    reader: Option<Arc<Mutex<Store>>>,
    writer: Option<StoreWriter>,
}

impl Resolver {
    /// `body` ready to send (as it was when it has no attachments).
    pub(crate) async fn resolve(
        self,
        mut body: MessagesRequest,
    ) -> Result<MessagesRequest, ApiError> {
        if crate::attach::attachments_of(&body).next().is_none() {
            return Ok(body);
        }
        if let Some(writer) = &self.writer {
            // The bytes this session put are committed before they are read back.
            let _ = writer.flush().await;
        }
        let Resolver { bytes, reader, .. } = self;
        tokio::task::spawn_blocking(move || {
            resolve(&mut body, &bytes, reader.as_deref())
                .map(|()| body)
                .map_err(|e| ApiError::Attachment(e.to_string()))
        })
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::Attachment(format!(
                "preparing the request failed: {e}"
            )))
        })
    }
}

/// Remember a prepared file's bytes and hand them to the store; its reference goes on.
fn keep(prepared: Prepared, bytes: &AttachmentBytes, writer: Option<&StoreWriter>) -> Attachment {
    let Prepared {
        attachment,
        bytes: data,
    } = prepared;
    bytes.put(&attachment.sha256, data.clone());
    if let Some(writer) = writer {
        let _ = writer.write(crate::store::WriteCommand::PutAttachment {
            sha256: attachment.sha256.clone(),
            media_type: attachment.media_type.clone(),
            bytes: data,
        });
    }
    attachment
}

/// Write the bytes of every attachment of `body` in.
pub(crate) fn resolve(
    body: &mut MessagesRequest,
    bytes: &AttachmentBytes,
    store: Option<&Mutex<Store>>,
) -> Result<(), crate::attach::MissingBytes> {
    crate::attach::resolve(body, |sha| {
        bytes.get(sha).or_else(|| {
            let store = store?.lock().ok()?;
            store.attachment_bytes(sha).ok().flatten()
        })
    })
}

/// The files a source names, each prepared.
fn prepare_source(source: &AttachSource) -> Vec<Result<Prepared, AttachError>> {
    match source {
        AttachSource::Path(word) => match crate::attach::paths::expand(word) {
            Ok(paths) => paths
                .iter()
                .map(|p| crate::attach::prepare_path(p))
                .collect(),
            Err(e) => vec![Err(e)],
        },
        AttachSource::Clipboard => vec![
            super::clipboard::clipboard_image()
                .map_err(AttachError::Other)
                .and_then(|bytes| crate::attach::prepare("clipboard.png", bytes)),
        ],
    }
}

/// A terminal paste as the app takes it: an offer to attach when it names only existing
/// files, else text.
pub(crate) fn paste_action(text: String) -> Action {
    match crate::attach::paths::existing_files(&text) {
        Some(files) => Action::PastedFiles(PasteOffer { text, files }),
        None => Action::Paste(text),
    }
}
