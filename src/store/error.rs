//! What can go wrong with the conversation database, in words a user can act on.
//!
//! SQLite reports most trouble as a numeric code on a generic error; the variants that matter to
//! a user (locked, read-only, full, damaged) are pulled out here, each carrying the file name, so
//! the UI can match on them and the Display text says what happened and what to do. Everything
//! else stays a [`StoreError::Sqlite`].
//!
//! Internally the store works with `StoreError::Sqlite` and calls [`StoreError::at`] once at the
//! public boundary, where the path is known, to turn the codes into those variants.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// An error from the conversation store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file (or its directory) could not be created or opened.
    #[error(
        "cannot open the conversation database {}: {source}. Check that the path is a file in a directory you can write to.",
        path.display()
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// A file-system operation next to the database failed (creating its directory, a lease).
    #[error("cannot access {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not an SQLite database, or it is damaged.
    #[error(
        "{} is damaged or is not a database. tern left it untouched: move it aside (or restore a backup) and tern will start a new one.",
        path.display()
    )]
    Corrupt { path: PathBuf },

    /// Another process held the database lock for longer than the busy timeout.
    #[error(
        "the conversation database {} stayed locked by another program for more than 5 seconds. Close other programs using it (a stuck tern, an sqlite3 shell) and try again.",
        path.display()
    )]
    Locked { path: PathBuf },

    /// The file, its directory, or the file system is read-only.
    #[error(
        "the conversation database {} is read-only, so conversations cannot be saved. Make the file and its directory writable (or use another data directory).",
        path.display()
    )]
    ReadOnly { path: PathBuf },

    /// The disk (or the database's size limit) is full.
    #[error(
        "the disk holding {} is full, so the last change was not saved. Free some space; tern saves again on the next change.",
        path.display()
    )]
    DiskFull { path: PathBuf },

    /// The file is an SQLite database that tern did not create.
    #[error(
        "{} is an SQLite database, but not a tern one. tern will not modify it; point tern at another file.",
        path.display()
    )]
    NotTern { path: PathBuf },

    /// The database was written by a newer tern with a schema this build does not know.
    #[error(
        "{} was written by a newer version of tern (schema {found}; this build knows up to {supported}). Update tern; the file was not modified.",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// A read-only open found a database that needs an upgrade first.
    #[error(
        "{} uses an older schema (version {found}, current {current}). Run tern once normally to upgrade it.",
        path.display()
    )]
    NeedsUpgrade {
        path: PathBuf,
        found: i64,
        current: i64,
    },

    /// Upgrading the schema failed; the transaction was rolled back, the file is as it was.
    #[error(
        "could not upgrade {} from schema version {from} to {to}: {source}. The file was left as it was.",
        path.display()
    )]
    Migration {
        path: PathBuf,
        from: i64,
        to: i64,
        #[source]
        source: rusqlite::Error,
    },

    /// No conversation has this id (or id prefix).
    #[error("no saved conversation matches {0:?}")]
    NotFound(String),

    /// The prefix matches more than one conversation.
    #[error("{prefix:?} matches several conversations ({}); type more of the id", matches.join(", "))]
    AmbiguousId {
        prefix: String,
        matches: Vec<String>,
    },

    /// A new message was refused: its parent is no longer in the conversation (deleted by
    /// another tern meanwhile), or another writer saved a message at or after its `seq`.
    #[error(
        "conversation {conversation_id} was changed by another tern: message {message_id} {}; it was not saved",
        if *parent_found {
            format!("comes before its newest message {}", found.as_deref().unwrap_or("(none)"))
        } else {
            format!("follows {expected}, which is no longer in it")
        }
    )]
    Conflict {
        conversation_id: String,
        message_id: String,
        /// The parent the message was written after (`""` for a root).
        expected: String,
        /// Whether that parent is still a message of the conversation.
        parent_found: bool,
        /// The conversation's newest message when the write was refused.
        found: Option<String>,
    },

    /// A rewrite of a stored message named another parent: a message's place in its
    /// conversation's tree never changes.
    #[error(
        "message {message_id} is stored after another message; its place in the conversation cannot change; it was not saved"
    )]
    Reparent { message_id: String },

    /// A branch operation named a message that is not in the conversation.
    #[error(
        "conversation {conversation_id} has no message {message_id} (deleted by another tern?); nothing was changed"
    )]
    NoSuchMessage {
        conversation_id: String,
        message_id: String,
    },

    /// An import would overwrite an existing conversation or message.
    #[error("a conversation or message with id {0:?} already exists; it was not overwritten")]
    AlreadyExists(String),

    /// A JSON import is not a tern conversation export.
    #[error("cannot import: {0}")]
    Import(String),

    /// A stored row could not be decoded (written by a broken tool or a damaged file).
    #[error("a saved {what} ({id}) could not be read: {reason}")]
    Decode {
        what: &'static str,
        id: String,
        reason: String,
    },

    /// The background writer task is gone (its thread ended); later writes are not saved.
    #[error("the background save task has stopped; recent changes may not have been saved")]
    WriterStopped,

    /// Writes sent to the background writer failed since the last flush.
    #[error("{failed} save(s) failed; the first: {first}")]
    WritesFailed {
        failed: usize,
        #[source]
        first: Box<StoreError>,
    },

    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Give a bare SQLite error its meaning for a user, naming `path`.
    pub(crate) fn at(self, path: &Path) -> StoreError {
        let StoreError::Sqlite(err) = self else {
            return self;
        };
        let path = path.to_path_buf();
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Locked { path }
            }
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { path },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt { path }
            }
            Some(ErrorCode::CannotOpen) => StoreError::Open { path, source: err },
            _ => StoreError::Sqlite(err),
        }
    }

    /// True for errors that may go away by themselves (lock held by another process, full disk):
    /// the owner task's next snapshot retries them.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Locked { .. } | StoreError::DiskFull { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn codes_become_variants_that_name_the_file() {
        let p = Path::new("/data/tern.db");
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_BUSY).at(p),
            StoreError::Locked { .. }
        ));
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_READONLY).at(p),
            StoreError::ReadOnly { .. }
        ));
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_FULL).at(p),
            StoreError::DiskFull { .. }
        ));
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_NOTADB).at(p),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_CORRUPT).at(p),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            sqlite(rusqlite::ffi::SQLITE_CONSTRAINT).at(p),
            StoreError::Sqlite(_)
        ));
        let msg = sqlite(rusqlite::ffi::SQLITE_FULL).at(p).to_string();
        assert!(
            msg.contains("/data/tern.db") && msg.contains("Free some space"),
            "{msg}"
        );
        assert!(
            StoreError::NotFound("x".into())
                .at(p)
                .to_string()
                .contains("\"x\"")
        );
    }
}
