//! Saved conversations: one SQLite file, written as the conversation happens.
//!
//! Shape, and why:
//!
//! - **One file, SQLite in WAL mode** ([`Store`]). WAL lets readers (the conversation browser,
//!   `tern list`, a second tern) read while the writer writes; `busy_timeout` plus short
//!   `BEGIN IMMEDIATE` transactions let two tern processes write the same file side by side.
//!   `synchronous = NORMAL`: a process crash loses nothing committed; a power cut may lose the
//!   last commits but never corrupts earlier ones.
//! - **Messages are full snapshots** keyed by id ([`Store::upsert_message`]). The app writes the
//!   user message before the request goes out and the reply about once a second while it
//!   streams; each write replaces the previous snapshot, so a crash loses at most the last
//!   second, and retrying a failed write is just writing the next snapshot.
//! - **One owner task writes** ([`StoreWriter`]): the UI sends commands down a channel and never
//!   waits on disk; commands are applied in order (no stale overwrite), queued snapshots of the
//!   same message collapse into the last one, and failures come back to the UI.
//! - **Lists never scan messages**: per-conversation aggregates (count, tokens, models, preview)
//!   are kept in the `conversations` row by the write path, and an index on `updated_at` serves
//!   the newest-first pages.
//! - **Attached files are kept once** by their SHA-256, apart from the messages, which hold
//!   only a reference; a file goes with the last message naming it (see `attachments`).
//! - **Full-text search** with FTS5 over the text blocks, fed by triggers from a view over the
//!   stored JSON, so text is stored once, and over titles; see [`schema`] for the layout and
//!   [`search`] for how user text becomes a query that cannot be a syntax error.
//! - **A conversation is a tree** ([`Store::load_tree`]): each message names its parent;
//!   siblings are alternatives (a regenerated reply, an edited prompt). The conversation keeps
//!   the end of its active path (`active_leaf`), which every new message becomes;
//!   [`Store::load`] gives that path, root first, so whatever sends or prints "the
//!   conversation" reads one line.
//! - **Appends are checked** ([`StoreError::Conflict`]): a new message's parent must be in its
//!   conversation and its `seq` must come after every stored one, so two tern processes
//!   answering the same message make siblings, never an interleaved line (see `write`).
//! - **Crash recovery** on open: replies left `streaming` by a process that died become
//!   `interrupted`; a live stream of another process is recognised by its lease ([`lease`]).
//! - **A file that is not ours, damaged or newer is never modified**: opening probes it read-only
//!   first and stops with [`StoreError::Corrupt`], [`StoreError::NotTern`] or
//!   [`StoreError::TooNew`]; upgrades run in one transaction that rolls back on failure.

mod attachments;
mod error;
mod export;
pub mod lease;
pub mod model;
mod read;
pub mod schema;
pub mod search;
mod stored_error;
mod summary;
#[cfg(test)]
mod tests;
mod write;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use attachments::PENDING_GRACE_MS;
pub use error::StoreError;
pub use export::{EXPORT_FORMAT, LINE_FORMAT, export_file_stem};
pub use model::{
    BrowserRow, Conversation, ConversationMatch, ConversationSummary, MATCH_END, MATCH_START,
    MessageStatus, Params, ResponseMeta, SearchHit, StoredMessage, TitleHit, UnknownStatus, new_id,
    now_ms, title_from_prompt,
};
pub use read::HITS_PER_CONVERSATION;
pub use stored_error::ErrorInfo;
pub use write::WriteCommand;
pub use writer::{StoreWriter, WriteFailure};

/// How long a statement waits for another process's lock before giving up with
/// [`StoreError::Locked`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The endpoint fact that its `POST /v1/messages/count_tokens` is not there (value `"absent"`).
pub const NO_COUNT_TOKENS: &str = "count_tokens";

/// A connection to the conversation database. Synchronous; writes take `&mut self`.
///
/// The app writes through one [`StoreWriter`] (which owns a `Store` on its own thread) and reads
/// through another `Store` opened by the browser or the CLI.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// This store's writer lease, taken on the first streaming snapshot it writes.
    lease: LeaseState,
    recovered: usize,
    /// Opened for writing and fully initialised (only then may drop run `PRAGMA optimize`).
    ready_to_write: bool,
}

#[derive(Debug)]
enum LeaseState {
    NotTaken,
    Held(lease::Lease),
    Unavailable,
}

/// Open a connection; a failure to open is `Open` unless it says more (corrupt, read-only…).
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    Connection::open_with_flags(path, flags).map_err(|source| {
        match StoreError::Sqlite(source).at(path) {
            StoreError::Sqlite(source) => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        }
    })
}

/// `path` for an SQLite `file:` URI: every byte but unreserved ones and `/` percent-encoded.
fn uri_path(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt as _;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut out = String::new();
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The database path the review commands and `tern -p` were given, or why there is none.
pub fn data_dir(path: Option<&Path>) -> Result<&Path, StoreError> {
    path.ok_or_else(|| StoreError::Io {
        path: "<data dir>".into(),
        source: std::io::Error::other("no data directory could be determined ($HOME unset?)"),
    })
}

impl Store {
    /// Where the database lives by default: the platform data directory
    /// (`$XDG_DATA_HOME/tern/tern.db` on Linux). `None` if no home directory is known.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "tern").map(|dirs| dirs.data_dir().join("tern.db"))
    }

    /// Open (or create) the database at `path` for reading and writing.
    ///
    /// Creates missing parent directories, upgrades an older schema in place, and marks replies
    /// abandoned by a dead process as interrupted. A file that is damaged, not a tern database,
    /// or from a newer tern is left byte-for-byte untouched and reported as an error.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = connect(&path, flags)?;
        let mut store = Store {
            conn,
            path,
            lease: LeaseState::NotTaken,
            recovered: 0,
            ready_to_write: false,
        };
        store.init(false)?;
        Ok(store)
    }

    /// Open the database to read it, also where it cannot be written: like [`Store::open`]
    /// (which upgrades and recovers), but a file, directory or file system that is read-only is
    /// opened read-only instead of refused. [`Store::is_read_only`] tells which it was.
    pub fn open_for_reading(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        match Store::open(path) {
            Err(StoreError::ReadOnly { .. }) => match Store::open_readonly(path) {
                // In a directory nobody may write, a WAL database cannot even be read (its
                // `-shm` index cannot be made); nothing can change it there either, so read it
                // as an immutable file.
                Err(StoreError::ReadOnly { .. }) => Store::open_immutable(path),
                other => other,
            },
            other => other,
        }
    }

    /// Open a file that nothing can be writing, read-only, without locks or the WAL index.
    fn open_immutable(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let uri = format!("file:{}?immutable=1", uri_path(path));
        let conn =
            Connection::open_with_flags(&uri, flags).map_err(|source| match StoreError::Sqlite(
                source,
            )
            .at(path)
            {
                StoreError::Sqlite(source) => StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                },
                other => other,
            })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            lease: LeaseState::Unavailable,
            recovered: 0,
            ready_to_write: false,
        };
        store.init(true)?;
        Ok(store)
    }

    /// Whether this store was opened read-only (it refuses writes).
    pub fn is_read_only(&self) -> bool {
        !self.ready_to_write
    }

    /// Open an existing database for reading only (no upgrade, no recovery, no writes).
    ///
    /// Useful for tools that must not change the file, and for reading where writing is
    /// impossible ([`Store::open_for_reading`]).
    pub fn open_readonly(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = connect(&path, flags)?;
        let mut store = Store {
            conn,
            path,
            // Never writes, so never leases (and skips the optimize on drop).
            lease: LeaseState::Unavailable,
            recovered: 0,
            ready_to_write: false,
        };
        store.init(true)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many abandoned streaming replies this open marked as interrupted.
    pub fn recovered_on_open(&self) -> usize {
        self.recovered
    }

    fn init(&mut self, readonly: bool) -> Result<(), StoreError> {
        let path = self.path.clone();
        let at = |e: rusqlite::Error| StoreError::Sqlite(e).at(&path);
        // SQLite quietly opens a file it may not write read-only; tern needs to write, so say so
        // now, before anything reads (a WAL file cannot even be read without its `-shm`).
        if !readonly && self.conn.is_readonly(rusqlite::MAIN_DB).map_err(at)? {
            return Err(StoreError::ReadOnly { path });
        }
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(at)?;
        // Probe: reading the schema is the first access to the file. A damaged file or one that is
        // not a database fails here, before anything could write to it.
        let tables = schema::table_names(&self.conn).map_err(at)?;
        let version = schema::version(&self.conn).map_err(at)?;
        if version > schema::CURRENT_VERSION {
            return Err(StoreError::TooNew {
                path,
                found: version,
                supported: schema::CURRENT_VERSION,
            });
        }
        if version == 0 && !tables.is_empty() {
            return Err(StoreError::NotTern { path });
        }
        if readonly {
            if version < schema::CURRENT_VERSION {
                return Err(StoreError::NeedsUpgrade {
                    path,
                    found: version,
                    current: schema::CURRENT_VERSION,
                });
            }
            self.conn
                .pragma_update(None, "query_only", true)
                .map_err(at)?;
            return Ok(());
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;")
            .map_err(at)?;
        if version < schema::CURRENT_VERSION {
            // Before switching to WAL, so a failed upgrade leaves the file exactly as it was.
            self.migrate()?;
        }
        // WAL is a property of the file: set once, it stays. Where WAL is impossible (some
        // network file systems) or an old-mode connection is open, SQLite keeps the rollback
        // journal, which works with less concurrency; that is not worth refusing to start.
        let _mode: Option<String> = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .or_else(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy) => Ok(None),
                _ => Err(e),
            })
            .map_err(at)?;
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(at)?;
        self.recovered = self.recover_abandoned().map_err(|e| e.at(&path))?;
        self.ready_to_write = true;
        Ok(())
    }

    /// Run the pending migrations in one immediate transaction (foreign keys are off).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let to = schema::CURRENT_VERSION;
        let mut from = schema::version(&self.conn).map_err(|e| StoreError::Sqlite(e).at(&path))?;
        let fail = |from: i64, source: rusqlite::Error| match StoreError::Sqlite(source).at(&path) {
            StoreError::Sqlite(source) => StoreError::Migration {
                path: path.clone(),
                from,
                to,
                source,
            },
            other => other,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| fail(from, e))?;
        // Another process may have upgraded it while we waited for the lock.
        from = schema::version(&tx).map_err(|e| fail(from, e))?;
        if from >= to {
            return Ok(());
        }
        let steps = usize::try_from(from).unwrap_or(0)..schema::MIGRATIONS.len();
        for step in &schema::MIGRATIONS[steps] {
            step(&tx).map_err(|e| fail(from, e))?;
        }
        tx.pragma_update(None, "user_version", to)
            .map_err(|e| fail(from, e))?;
        let violations: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .map_err(|e| fail(from, e))?;
        if violations > 0 {
            return Err(fail(
                from,
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "{violations} rows break foreign keys after the upgrade"
                    )),
                ),
            ));
        }
        tx.commit().map_err(|e| fail(from, e))
    }

    /// Mark streaming replies whose writer is gone as interrupted; returns how many.
    fn recover_abandoned(&mut self) -> Result<usize, StoreError> {
        let writers: Vec<Option<String>> = {
            let mut stmt = self
                .conn
                .prepare("SELECT DISTINCT writer FROM messages WHERE status = 'streaming'")?;
            let rows = stmt.query_map([], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let stale_before = now_ms() - lease::STALE_AFTER_MS;
        let mut marked = 0;
        for writer in writers {
            let alive = writer
                .as_deref()
                .and_then(|token| lease::writer_alive(&self.path, token));
            let changed = match alive {
                Some(true) => 0,
                Some(false) => self.conn.execute(
                    "UPDATE messages SET status = 'interrupted', writer = NULL \
                     WHERE status = 'streaming' AND writer = ?1",
                    [&writer],
                )?,
                None => self.conn.execute(
                    "UPDATE messages SET status = 'interrupted', writer = NULL \
                     WHERE status = 'streaming' AND writer IS ?1 AND updated_at < ?2",
                    rusqlite::params![writer, stale_before],
                )?,
            };
            marked += changed;
        }
        Ok(marked)
    }

    /// The lease token to stamp on streaming snapshots, taking the lease on first use.
    fn writer_token(&mut self) -> Option<String> {
        if let LeaseState::NotTaken = self.lease {
            self.lease = match lease::Lease::acquire(&self.path) {
                Ok(lease) => LeaseState::Held(lease),
                Err(_) => LeaseState::Unavailable,
            };
        }
        match &self.lease {
            LeaseState::Held(lease) => Some(lease.token().to_owned()),
            _ => None,
        }
    }

    /// Check the file: SQLite's `integrity_check`, foreign keys, and the full-text index against
    /// the messages. Returns the problems found (empty when all is well).
    pub fn check_integrity(&self) -> Result<Vec<String>, StoreError> {
        let at = |e: rusqlite::Error| StoreError::Sqlite(e).at(&self.path);
        let mut problems: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(at)?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(at)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(at)?
        };
        problems.retain(|p| p != "ok");
        let fk: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(at)?;
        if fk > 0 {
            problems.push(format!("{fk} rows break foreign keys"));
        }
        for table in ["messages_fts", "titles_fts"] {
            if let Err(err) = self.conn.execute(
                &format!("INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"),
                [],
            ) {
                match err.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ReadOnly) => {}
                    _ => problems.push(format!("full-text index {table}: {err}")),
                }
            }
        }
        Ok(problems)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SQLite's advice for long-lived connections: let it refresh planner statistics on close.
        // Only for a store that opened fine for writing: never on a file we refused to touch.
        // A failure (another process busy) changes nothing.
        if self.ready_to_write {
            let _ = self.conn.execute_batch("PRAGMA optimize;");
        }
    }
}
