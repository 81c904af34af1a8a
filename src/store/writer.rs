//! The owner task: one thread owns the write connection and applies commands in order.
//!
//! The UI never waits on disk: [`StoreWriter`]'s methods push a command onto an unbounded
//! channel and return at once. One dedicated thread (not a tokio worker, since every write
//! blocks on SQLite) receives them in order, so a later snapshot can never be overwritten by an
//! earlier one, and no locks are needed around the connection.
//!
//! Each time it wakes, the thread takes everything queued (up to [`MAX_BATCH`]) and:
//! - drops every upsert of a message that a later upsert in the same batch replaces (snapshots
//!   are full, so only the last one matters; the kept one stays at its own position);
//! - writes the rest in one transaction with a savepoint per command ([`Store::apply_batch`]),
//!   so a burst costs one commit and a failing command does not take the others with it.
//!
//! Failures are reported two ways: immediately, to the `on_error` callback given to
//! [`StoreWriter::spawn_with_errors`] (the app forwards them to its event channel so the user
//! sees "not saved: disk full"), and collectively, as the result of the next
//! [`StoreWriter::flush`]. A failed snapshot needs no retry queue: the next snapshot of the same
//! message carries everything again.

use std::path::Path;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use super::model::{Conversation, StoredMessage};
use super::write::WriteCommand;
use super::{Store, StoreError};

/// The most commands written in one transaction.
pub const MAX_BATCH: usize = 256;

// Writes dominate the queue; boxing them would add an allocation per snapshot for nothing.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Write(WriteCommand),
    Flush(oneshot::Sender<Result<(), StoreError>>),
}

/// A write that failed in the owner task.
#[derive(Debug)]
pub struct WriteFailure {
    /// What was being done, e.g. "saving message 1a2b… of conversation 9f8e…".
    pub what: String,
    pub conversation_id: String,
    pub message_id: Option<String>,
    pub error: StoreError,
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.what, self.error)
    }
}

/// Handle to the owner task. Cheap to clone; the task ends when the last handle is dropped,
/// after writing everything already sent.
#[derive(Debug, Clone)]
pub struct StoreWriter {
    tx: mpsc::UnboundedSender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Write(c) => f.debug_tuple("Write").field(&c.describe()).finish(),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl StoreWriter {
    /// Open the database at `path` and start the owner task. Failures are reported only through
    /// [`StoreWriter::flush`]; use [`StoreWriter::spawn_with_errors`] to hear about them at once.
    pub fn spawn(path: impl AsRef<Path>) -> Result<StoreWriter, StoreError> {
        Self::spawn_with_errors(path, |_| {})
    }

    /// Like [`StoreWriter::spawn`], calling `on_error` (on the owner thread) for each failed
    /// write as it happens. Keep it quick: forward it to a channel.
    pub fn spawn_with_errors(
        path: impl AsRef<Path>,
        on_error: impl FnMut(&WriteFailure) + Send + 'static,
    ) -> Result<StoreWriter, StoreError> {
        let store = Store::open(path)?;
        Self::from_store(store, on_error)
    }

    /// Start the owner task on an already open store.
    pub fn from_store(
        store: Store,
        on_error: impl FnMut(&WriteFailure) + Send + 'static,
    ) -> Result<StoreWriter, StoreError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let path = store.path().to_path_buf();
        thread::Builder::new()
            .name("tern-store".into())
            .spawn(move || run(store, rx, on_error))
            .map_err(|source| StoreError::Io { path, source })?;
        Ok(StoreWriter { tx })
    }

    /// Queue any write (what the app's `Effect::Save` carries). Never blocks; `Err` only if
    /// the owner task is gone.
    pub fn write(&self, command: WriteCommand) -> Result<(), StoreError> {
        self.send(command)
    }

    fn send(&self, command: WriteCommand) -> Result<(), StoreError> {
        self.tx
            .send(Msg::Write(command))
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Queue a new conversation. Never blocks; `Err` only if the owner task is gone.
    pub fn create_conversation(&self, conversation: Conversation) -> Result<(), StoreError> {
        self.send(WriteCommand::CreateConversation(conversation))
    }

    /// Queue a header update (see [`Store::update_conversation`]).
    pub fn update_conversation(&self, conversation: Conversation) -> Result<(), StoreError> {
        self.send(WriteCommand::UpdateConversation(conversation))
    }

    /// Queue a message snapshot (see [`Store::upsert_message`]).
    pub fn upsert_message(&self, message: StoredMessage) -> Result<(), StoreError> {
        self.send(WriteCommand::UpsertMessage(message))
    }

    /// Queue a title change.
    pub fn rename(
        &self,
        id: impl Into<String>,
        title: impl Into<String>,
    ) -> Result<(), StoreError> {
        self.send(WriteCommand::Rename {
            id: id.into(),
            title: title.into(),
        })
    }

    /// Queue a draft (the unsent input) of a conversation; `""` clears it.
    pub fn set_draft(
        &self,
        id: impl Into<String>,
        draft: impl Into<String>,
    ) -> Result<(), StoreError> {
        self.send(WriteCommand::SetDraft {
            id: id.into(),
            draft: draft.into(),
        })
    }

    /// Queue the bytes of an attached file (see [`WriteCommand::PutAttachment`]): send it before
    /// the message that names them, so they are saved first.
    pub fn put_attachment(
        &self,
        sha256: impl Into<String>,
        media_type: impl Into<String>,
        bytes: std::sync::Arc<[u8]>,
    ) -> Result<(), StoreError> {
        self.send(WriteCommand::PutAttachment {
            sha256: sha256.into(),
            media_type: media_type.into(),
            bytes,
        })
    }

    /// Queue the deletion of a conversation and its messages.
    pub fn delete(&self, id: impl Into<String>) -> Result<(), StoreError> {
        self.send(WriteCommand::DeleteConversation(id.into()))
    }

    /// Queue any command.
    pub fn send_command(&self, command: WriteCommand) -> Result<(), StoreError> {
        self.send(command)
    }

    /// Resolves once everything sent before it (from any clone) is committed.
    ///
    /// `Err(WritesFailed)` if writes failed since the previous flush (the first error inside);
    /// `Err(WriterStopped)` if the owner task is gone.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Msg::Flush(reply))
            .map_err(|_| StoreError::WriterStopped)?;
        done.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// Failures since the last flush.
#[derive(Default)]
struct Failures {
    count: usize,
    first: Option<StoreError>,
}

impl Failures {
    fn take(&mut self) -> Result<(), StoreError> {
        let count = std::mem::take(&mut self.count);
        match self.first.take() {
            Some(first) => Err(StoreError::WritesFailed {
                failed: count,
                first: Box::new(first),
            }),
            None => Ok(()),
        }
    }
}

fn run(
    mut store: Store,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut on_error: impl FnMut(&WriteFailure),
) {
    let mut failures = Failures::default();
    let mut pending: Vec<WriteCommand> = Vec::new();
    // This is a plain thread outside any runtime, where blocking_recv is the right call.
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write(command) => pending.push(command),
                Msg::Flush(reply) => {
                    write_pending(&mut store, &mut pending, &mut failures, &mut on_error);
                    let _ = reply.send(failures.take());
                }
            }
            taken += 1;
            if taken < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        write_pending(&mut store, &mut pending, &mut failures, &mut on_error);
    }
}

/// Drop upserts (and drafts) that a later one of the same message (conversation) replaces;
/// keep the order of the rest. A branch switch or delete is a barrier: an upsert before it is
/// kept, since whether the message already exists then decides what the branch command does
/// (and whether the message's insert moves the active leaf).
pub(crate) fn coalesce(commands: &mut Vec<WriteCommand>) {
    let mut seen = std::collections::HashSet::new();
    let mut keep = vec![true; commands.len()];
    for (i, command) in commands.iter().enumerate().rev() {
        let key = match command {
            WriteCommand::UpsertMessage(m) => Some((false, m.id.as_str())),
            WriteCommand::SetDraft { id, .. } => Some((true, id.as_str())),
            WriteCommand::SetActiveLeaf { .. } | WriteCommand::DeleteBranch { .. } => {
                seen.retain(|&(draft, _)| draft);
                None
            }
            _ => None,
        };
        if let Some(key) = key
            && !seen.insert(key)
        {
            keep[i] = false;
        }
    }
    let mut flags = keep.into_iter();
    commands.retain(|_| flags.next().unwrap_or(true));
}

fn write_pending(
    store: &mut Store,
    pending: &mut Vec<WriteCommand>,
    failures: &mut Failures,
    on_error: &mut impl FnMut(&WriteFailure),
) {
    if pending.is_empty() {
        return;
    }
    coalesce(pending);
    let mut report = |command: &WriteCommand, error: StoreError| {
        let failure = WriteFailure {
            what: command.describe(),
            conversation_id: command.conversation_id().to_owned(),
            message_id: command.message_id().map(str::to_owned),
            error,
        };
        on_error(&failure);
        failures.count += 1;
        if failures.first.is_none() {
            failures.first = Some(failure.error);
        }
    };
    match store.apply_batch(pending) {
        Ok(failed) => {
            for (index, error) in failed {
                report(&pending[index], error);
            }
        }
        Err(_) => {
            // The batch transaction itself failed (lock timeout, full disk at commit): try each
            // command on its own, so each gets its own result.
            for command in pending.iter() {
                let result = match command {
                    WriteCommand::CreateConversation(c) => store.create_conversation(c),
                    WriteCommand::UpdateConversation(c) => store.update_conversation(c),
                    WriteCommand::Rename { id, title } => store.rename(id, title),
                    WriteCommand::DeleteConversation(id) => store.delete_conversation(id),
                    WriteCommand::UpsertMessage(m) => store.upsert_message(m),
                    WriteCommand::SetDraft { id, draft } => store.set_draft(id, draft),
                    other @ (WriteCommand::SetEndpointFact { .. }
                    | WriteCommand::SetActiveLeaf { .. }
                    | WriteCommand::DeleteBranch { .. }
                    | WriteCommand::PutAttachment { .. }) => {
                        store.write_tx(|conn| super::write::apply(conn, other, None))
                    }
                };
                if let Err(error) = result {
                    report(command, error);
                }
            }
        }
    }
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(id: &str, text: &str) -> WriteCommand {
        let mut m = StoredMessage::user("c", 0, text);
        m.id = id.into();
        WriteCommand::UpsertMessage(m)
    }

    fn text_of(c: &WriteCommand) -> String {
        match c {
            WriteCommand::UpsertMessage(m) => crate::api::types::plain_text(&m.content),
            other => other.describe(),
        }
    }

    #[test]
    fn coalesce_keeps_the_last_snapshot_in_its_place() {
        let mut cmds = vec![
            upsert("a", "a1"),
            upsert("b", "b1"),
            WriteCommand::Rename {
                id: "c".into(),
                title: "t".into(),
            },
            upsert("a", "a2"),
            upsert("a", "a3"),
        ];
        coalesce(&mut cmds);
        let texts: Vec<String> = cmds.iter().map(text_of).collect();
        assert_eq!(texts, ["b1", "renaming conversation c", "a3"]);
    }

    #[test]
    fn coalesce_keeps_an_upsert_before_a_branch_command() {
        let leaf = WriteCommand::SetActiveLeaf {
            conversation: "c".into(),
            leaf: "a".into(),
        };
        let mut cmds = vec![
            upsert("a", "a1"),
            leaf,
            upsert("a", "a2"),
            upsert("a", "a3"),
        ];
        coalesce(&mut cmds);
        let texts: Vec<String> = cmds.iter().map(text_of).collect();
        assert_eq!(
            texts,
            ["a1", "switching conversation c to the branch of a", "a3"]
        );
    }

    #[test]
    fn failures_are_counted_and_taken_once() {
        let mut f = Failures::default();
        assert!(f.take().is_ok());
        f.count = 2;
        f.first = Some(StoreError::NotFound("x".into()));
        match f.take() {
            Err(StoreError::WritesFailed { failed: 2, first }) => {
                assert!(matches!(*first, StoreError::NotFound(_)));
            }
            other => panic!("{other:?}"),
        }
        assert!(f.take().is_ok());
    }
}
