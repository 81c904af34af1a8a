//! Writer leases: how one process tells whether another process's streaming reply is still alive.
//!
//! A reply is saved as `status = 'streaming'` snapshots while it arrives. If the process dies
//! (crash, `kill -9`, power loss) the last snapshot stays `streaming` forever, so the next open
//! marks such messages `interrupted`. With two tern processes on one database, the *other*
//! process's live stream must not be marked. Timing ("not updated for N seconds") cannot tell a
//! dead writer from a model that is thinking quietly, so liveness comes from the kernel instead:
//!
//! - a store that writes a streaming snapshot first takes a lease: it creates
//!   `<db>-leases/<token>` and holds an exclusive lock on it (`File::try_lock`: `flock` on Unix)
//!   for as long as the store lives, and stamps the row with `writer = <token>`;
//! - on open, for each token among the streaming rows, the opener tries the same lock without
//!   waiting. Locked → the writer is alive, leave its rows alone. Lock acquired or file missing →
//!   the writer is gone (the kernel drops file locks when a process dies, even on SIGKILL), so
//!   its rows become `interrupted`.
//!
//! These locks belong to the open file, not the process, so a second store in the same process
//! sees the first one's lease as held, which is right. Rows with no token (written where leases
//! are unavailable: no file locks, an unwritable directory, or imported/old data) fall back to
//! age: they are marked once their snapshot is older than [`STALE_AFTER_MS`]. A wrong mark is
//! harmless anyway: the live writer's next snapshot sets the status back.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Snapshots without a lease token are treated as abandoned once this old (unix ms).
pub const STALE_AFTER_MS: i64 = 30_000;

/// A held lease; released (and its file removed) on drop.
#[derive(Debug)]
pub(crate) struct Lease {
    token: String,
    path: PathBuf,
    _file: File,
}

/// The directory holding the lease files of the database at `db`.
pub(crate) fn lease_dir(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push("-leases");
    db.with_file_name(name)
}

/// Tokens are our own 16-hex ids; anything else in the column is not a file name we will touch.
fn valid_token(token: &str) -> bool {
    token.len() == 16 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Lease {
    /// Create and lock a new lease file next to the database.
    pub(crate) fn acquire(db: &Path) -> io::Result<Lease> {
        let dir = lease_dir(db);
        std::fs::create_dir_all(&dir)?;
        let token = super::model::new_id();
        let path = dir.join(&token);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        if let Err(err) = try_lock(&file) {
            let _ = std::fs::remove_file(&path);
            return Err(err);
        }
        Ok(Lease {
            token,
            path,
            _file: file,
        })
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Remove while still holding the lock; the lock goes when the file handle closes.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the writer holding `token` is still alive: `Some(true)` alive, `Some(false)` gone,
/// `None` cannot tell (bad token, unsupported platform, I/O trouble).
pub(crate) fn writer_alive(db: &Path, token: &str) -> Option<bool> {
    if !valid_token(token) {
        return None;
    }
    let path = lease_dir(db).join(token);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
    };
    match try_lock(&file) {
        Ok(()) => {
            // The owner died without cleaning up; tidy its file (we hold its lock now).
            let _ = std::fs::remove_file(&path);
            Some(false)
        }
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Some(true),
        Err(_) => None,
    }
}

/// Take the file's exclusive lock without waiting (`flock` on Unix, `LockFileEx` on Windows);
/// `WouldBlock` when another open file holds it.
fn try_lock(file: &File) -> io::Result<()> {
    file.try_lock().map_err(|err| match err {
        std::fs::TryLockError::WouldBlock => io::ErrorKind::WouldBlock.into(),
        std::fs::TryLockError::Error(err) => err,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_held_lease_is_alive_and_a_dropped_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tern.db");
        let lease = Lease::acquire(&db).unwrap();
        let token = lease.token().to_owned();
        assert_eq!(writer_alive(&db, &token), Some(true));
        // Checking twice does not steal it.
        assert_eq!(writer_alive(&db, &token), Some(true));
        drop(lease);
        assert_eq!(writer_alive(&db, &token), Some(false));
        assert!(!lease_dir(&db).join(&token).exists());
    }

    #[test]
    fn an_abandoned_unlocked_file_means_dead_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tern.db");
        std::fs::create_dir_all(lease_dir(&db)).unwrap();
        let token = "0123456789abcdef";
        std::fs::write(lease_dir(&db).join(token), b"").unwrap();
        assert_eq!(writer_alive(&db, token), Some(false));
        assert!(!lease_dir(&db).join(token).exists());
    }

    #[test]
    fn odd_tokens_are_not_paths() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tern.db");
        assert_eq!(writer_alive(&db, "../../etc/passwd"), None);
        assert_eq!(writer_alive(&db, ""), None);
        assert_eq!(lease_dir(&db), dir.path().join("tern.db-leases"));
    }
}
