//! The store: one SQLite file, and the only SQL in chatd. This file is its
//! face, the calls handlers and the loop make, and the group commit that
//! every write goes through; what it keeps is in one file per concern:
//!
//! - `schema.rs`: opening the file, its checks, the migrations;
//! - `users.rs`: known users, in memory and on disk;
//! - `clocks.rs`: vector clocks on disk and written out by name;
//! - `log.rs`: the message log, the offline queue, HISTORY, and the live
//!   messages kept while the log fails;
//! - `checkpoint.rs`: the thread that keeps the write-ahead log small.
//!
//! Handlers call it for what must outlive a connection or a restart: known
//! users (name, password hash, last seen) and their vector clocks, the
//! message log, and the queue of messages waiting for offline users. The
//! clock book itself is presence's (`state.rs`): the store reads it at
//! start and writes the clocks it says changed.
//!
//! Group commit: the first write of a loop pass opens a transaction, and
//! the loop calls [`Store::commit`] once per pass, before anything of the
//! pass reaches a socket; the [`Commit`] it returns releases the replies
//! that promise durability. One commit per pass, never one per message. A
//! failed write never brings the server down: it is logged, the pass's
//! transaction is rolled back, and the commands that needed it answer
//! `ERR STORAGE`.
//!
//! Known users are also kept in memory (a few hundred bytes each), so a JOIN
//! or a delivery never waits for a read; writes go through to SQLite.

mod checkpoint;
mod clocks;
mod log; // (so the logging crate is `::log` in this file)
mod rebuild;
mod schema;
mod users;

use crate::clock::{Clock, Clocks, UserId};
use crate::message::{Message, MessageKind};
use checkpoint::Checkpointer;
use clocks::StoredClocks;
pub use log::UnloggedLimit;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
pub use users::User;
use users::Users;

/// After a failed commit, how long background writes wait before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// A storage failure, already logged; the text is for `ERR STORAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// What became of a pass's writes: the outcome its durable replies wait
/// for (`OK MSG bob stored`, `OK REGISTER`). SQLite's [`Store::commit`]
/// returns it at once; a remote store would report it later, through the
/// loop's waker, and the loop would apply it the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Commit {
    /// Every write of the pass is in the log (or it had none): its replies
    /// may go out.
    Done,
    /// Nothing of the pass was kept; the error is logged already. Its
    /// replies become `ERR STORAGE`.
    Failed(StoreError),
}

/// A read a command waits for, because its answer decides the command's
/// reply ([`Store::read`]). Reads that feed a connection in the background
/// (the offline queue, history_on_join) are not these.
#[derive(Debug, Clone, Copy)]
pub enum Read<'a> {
    /// How many stored messages wait for a user (JOIN's `pending=`).
    PendingCount { name: &'a str },
    /// The last `n` messages `name` may see, oldest first (HISTORY).
    History { name: &'a str, n: usize },
}

/// The answer to a [`Read`], of the same kind.
#[derive(Debug)]
pub enum Answer {
    PendingCount(Result<usize>),
    History(Result<Vec<Message>>),
}

/// The open database.
pub struct Store {
    /// The connection and this pass's transaction.
    db: Db,
    users: Users,
    /// Which clocks wait to be written, and the name order of clock text.
    clocks: StoredClocks,
    /// What the log still owes the disk.
    log: log::Log,
    /// After a failed commit, background writes (the changes kept in
    /// memory) wait until then, so a locked database does not stall every
    /// pass.
    retry_at: Option<Instant>,
    /// The database file, for its size in STATS.
    path: PathBuf,
    /// Since start: messages logged and transactions committed.
    pub messages_logged: u64,
    pub commits: u64,
}

/// The connection, and the transaction this pass's writes go into: every
/// write goes through [`Db::write`].
struct Db {
    conn: Connection,
    /// A transaction is open.
    in_tx: bool,
    /// A write of this pass failed: the pass's transaction will be rolled back.
    failed: Option<StoreError>,
    /// The thread that flushes the WAL to disk and keeps it under
    /// `wal_limit` (store/checkpoint.rs).
    checkpointer: Option<Checkpointer>,
}

impl Db {
    /// Runs a write inside this pass's transaction. After a failure, later
    /// writes of the same pass are refused (they would be rolled back).
    fn write<T>(&mut self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.refuse_after_failure()?;
        let result = (|| {
            if !self.in_tx {
                // May wait briefly while the checkpointer empties the WAL.
                if let Some(c) = &self.checkpointer {
                    c.before_write();
                }
                self.conn.prepare_cached("BEGIN")?.execute([])?;
                self.in_tx = true;
            }
            f(&self.conn)
        })();
        result.map_err(|e| {
            let err = StoreError(e.to_string());
            ::log::error!("store: {what} failed: {e}");
            self.failed = Some(err.clone());
            err
        })
    }

    /// A write of this pass failed: later ones would be rolled back with it.
    fn refuse_after_failure(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Drop for Db {
    /// Stops the checkpointer first (after removing the commit hook that
    /// reports to it): the main connection is then the last one, and
    /// closing it checkpoints the WAL fully and removes it.
    fn drop(&mut self) {
        if let Some(c) = self.checkpointer.take() {
            c.unwatch(&self.conn);
        }
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database, with the
    /// default `wal_limit`. Refuses a file that is not a chatd database or
    /// comes from a newer chatd. Returns the store and every known user's
    /// clock as last saved: the clock book, which presence keeps
    /// (`State`) and hands back to [`Store::commit`].
    pub fn open(path: &Path) -> std::result::Result<(Store, Clocks), String> {
        Store::open_with(path, crate::config::DEFAULT_WAL_LIMIT)
    }

    /// [`Store::open`], keeping the write-ahead log under `wal_limit` bytes.
    pub fn open_with(path: &Path, wal_limit: u64) -> std::result::Result<(Store, Clocks), String> {
        let conn = schema::open(path, wal_limit)?;
        let read = |e: rusqlite::Error| format!("cannot read users from {}: {e}", path.display());
        let users = Users::load(&conn).map_err(read)?;
        let rebuilt = rebuild::load(&conn, &users).map_err(read)?;
        let checkpointer =
            Checkpointer::start(path, wal_limit).map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        checkpointer.watch(&conn);
        let mut store = Store {
            db: Db { conn, in_tx: false, failed: None, checkpointer: Some(checkpointer) },
            users,
            clocks: StoredClocks::new(rebuilt.as_of),
            log: log::Log::new(rebuilt.last_id),
            retry_at: None,
            path: path.to_path_buf(),
            messages_logged: 0,
            commits: 0,
        };
        let mut book = rebuilt.book;
        store
            .settle_rebuilt(&rebuilt.stale, &mut book)
            .map_err(|e| format!("cannot write clocks to {}: {}", path.display(), e.0))?;
        Ok((store, book))
    }

    /// After a start that found rows behind the log or users still joined
    /// (the last run did not stop cleanly): writes them as worked out, as
    /// of the newest message, before any new message could be taken for
    /// one they received.
    fn settle_rebuilt(&mut self, stale: &[UserId], book: &mut Clocks) -> Result<()> {
        if stale.is_empty() && self.log.last_id() == self.clocks.as_of() {
            return Ok(());
        }
        ::log::info!(
            "store: {} clocks brought up to date from the log (the last run did not stop cleanly)",
            stale.len()
        );
        for &id in stale {
            self.clocks.row_due(id);
        }
        match self.commit_with(book, true) {
            Commit::Done => Ok(()),
            Commit::Failed(e) => Err(e),
        }
    }

    // ---- group commit --------------------------------------------------------

    /// Commits this pass's writes in one transaction, with the clocks that
    /// changed in `book` (the clock book presence keeps), and returns what
    /// became of them: the outcome the pass's durable replies wait for. On
    /// failure everything of the pass is rolled back (the error is logged);
    /// changes kept in memory are written again by a later commit.
    pub fn commit(&mut self, book: &mut Clocks) -> Commit {
        self.commit_with(book, false)
    }

    /// The last commit, at a clean stop: with every clock that is behind,
    /// so the next start reads no log.
    pub fn commit_final(&mut self, book: &mut Clocks) -> Commit {
        self.commit_with(book, true)
    }

    /// [`Store::commit`]; `all_clocks`: with a whole snapshot of the clocks.
    fn commit_with(&mut self, book: &mut Clocks, all_clocks: bool) -> Commit {
        self.clocks.note_changes(book);
        let saving = self.has_pending_writes(book) || all_clocks;
        if saving {
            // Kept live messages first: the clocks written are as of them.
            let _ = self.log.write_unlogged(&mut self.db); // a failure is in db.failed
            self.save_changes(book, all_clocks);
        }
        let result = match self.db.failed.take() {
            Some(e) => Err(e),
            None if self.db.in_tx => {
                self.commits += 1;
                self.db.conn.prepare_cached("COMMIT").and_then(|mut c| c.execute([])).map(drop).map_err(|e| {
                    ::log::error!("store: commit failed: {e}");
                    StoreError(e.to_string())
                })
            }
            None => Ok(()),
        };
        if result.is_err() && !self.db.conn.is_autocommit() {
            if let Err(e) = self.db.conn.execute_batch("ROLLBACK") {
                ::log::error!("store: rollback failed: {e}");
            }
        }
        self.db.in_tx = false;
        if let Some(c) = &self.db.checkpointer {
            c.after_write();
        }
        match result {
            Ok(()) if saving => {
                if self.retry_at.take().is_some() {
                    ::log::info!("store: writing again");
                }
                // Nothing ran between save_changes and COMMIT: all of it is on disk.
                self.users.saved();
                self.clocks.saved();
                self.log.saved();
                Commit::Done
            }
            Ok(()) => Commit::Done, // backing off: nothing was written, the changes wait
            Err(e) => {
                self.users.rolled_back();
                self.clocks.rolled_back();
                self.log.rolled_back();
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                Commit::Failed(e)
            }
        }
    }

    /// Writes the changes held in memory into this pass's transaction:
    /// users' rows, clocks, messages gone from the offline queue. They stay
    /// listed until a commit has succeeded.
    fn save_changes(&mut self, book: &mut Clocks, all_clocks: bool) {
        let (users, log, clocks) = (&self.users, &self.log, &mut self.clocks);
        let last_id = log.last_id();
        let _ = self.db.write("saving users", |c| {
            users.save(c)?;
            clocks.save(c, users, book, last_id, all_clocks)?;
            log.save(c)
        });
    }

    /// Changes held in memory and not yet on disk.
    fn has_unsaved(&self) -> bool {
        self.users.has_unsaved() || self.clocks.has_unsaved(self.log.last_id()) || self.log.has_unsaved()
    }

    /// True when this pass has writes waiting for [`Store::commit`] (with
    /// the clocks that changed in the book among them).
    pub fn has_pending_writes(&self, book: &Clocks) -> bool {
        let backing_off = self.retry_at.is_some_and(|t| Instant::now() < t);
        let dirty = self.has_unsaved() || book.unsettled();
        self.db.in_tx || self.db.failed.is_some() || (dirty && !backing_off)
    }

    /// When changes that a failed commit left in memory (here, or clocks
    /// in the book) will be written again (the loop wakes up for it even
    /// when idle).
    pub fn retry_at(&self, book: &Clocks) -> Option<Instant> {
        self.retry_at.filter(|_| self.has_unsaved() || book.unsettled())
    }

    // ---- users ---------------------------------------------------------------

    /// A known user's number, by name in any case.
    pub fn id(&self, name: &str) -> Option<UserId> {
        self.users.id(name)
    }

    /// A known user (one that has joined at least once), by name in any case.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.id(name).map(|id| self.users.get(id))
    }

    /// Records a JOIN: a new name becomes known; a known one gets its
    /// spelling and last-seen time updated. Saved with the pass's commit.
    /// Returns the user's number, for presence and the clock book.
    pub fn user_joined(&mut self, name: &str, ts: &str) -> UserId {
        let id = self.users.joined(name, ts);
        self.clocks.row_due(id); // from now on, broadcasts reach them
        id
    }

    /// Records when a user was last online.
    pub fn user_left(&mut self, name: &str, ts: &str) {
        self.users.left(name, ts);
        if let Some(id) = self.users.id(name) {
            self.clocks.row_due(id); // from now on, broadcasts do not reach them
        }
    }

    /// Sets a user's password hash; on disk once the pass commits (and
    /// undone in memory if that commit fails).
    pub fn set_password(&mut self, name: &str, hash: &str) -> Result<()> {
        self.db.refuse_after_failure()?;
        self.users.set_password(name, hash)?;
        // Open the transaction now, so this pass's commit writes the row.
        self.db.write("setting a password", |_| Ok(()))
    }

    /// Every known user, sorted by name.
    pub fn users(&self) -> Vec<&User> {
        self.users.sorted()
    }

    /// A clock as written out: `alice=3,bob=1`, sorted by name; `-` if empty.
    pub fn format_clock(&self, clock: &Clock) -> String {
        self.clocks.format(&self.users, clock)
    }

    // ---- reads on a command's path ---------------------------------------------

    /// Answers a read a command waits for. SQLite answers at once, and
    /// this returns the answer; a remote store would answer later, through
    /// the loop's waker, and the command would wait for it (see
    /// `handlers::Ctx::read`, which makes every such read).
    pub fn read(&self, read: Read<'_>) -> Answer {
        match read {
            Read::PendingCount { name } => Answer::PendingCount(self.pending_count(name)),
            Read::History { name, n } => Answer::History(self.history(Some(name), n)),
        }
    }

    // ---- the message log -----------------------------------------------------

    /// Logs a message; `participants` (sender and recipients of MSG/MCAST)
    /// may see it in HISTORY. Returns its id. For a message whose sender is
    /// told it is stored: a failure is the caller's `ERR STORAGE`, and the
    /// message is not kept (see [`Store::log_live_message`] for the others).
    pub fn log_message(&mut self, m: &Message, participants: &[String]) -> Result<i64> {
        self.messages_logged += 1;
        let counts = clocks::encode(&self.users, &m.clock);
        self.log.log_message(&mut self.db, m, &counts, participants)
    }

    /// Logs a message that was delivered live and promised nobody it is
    /// stored (ALL; MSG and MCAST to online users only). If the log cannot
    /// take it now (a locked database, a full disk), it is kept in memory,
    /// up to `limit`, and written with the next commit that succeeds, in
    /// order and with its own timestamp, so HISTORY has no hole once the
    /// storage is back. Past the limit it is dropped and the server log
    /// says how many were.
    pub fn log_live_message(&mut self, m: &Message, participants: &[String], limit: UnloggedLimit) {
        self.messages_logged += 1;
        let counts = clocks::encode(&self.users, &m.clock);
        self.log.log_live(&mut self.db, m, counts, participants, limit);
    }

    /// Live messages waiting to be written to the log (STATS `unlogged=`).
    pub fn unlogged(&self) -> usize {
        self.log.unlogged()
    }

    /// Queues a logged message for an offline recipient.
    pub fn add_pending(&mut self, name: &str, message_id: i64) -> Result<()> {
        log::add_pending(&mut self.db, name, message_id)
    }

    /// How many messages wait for a user (those delivered but not yet
    /// removed on disk not counted). For JOIN through [`Store::read`].
    fn pending_count(&self, name: &str) -> Result<usize> {
        self.log.pending_count(&self.db.conn, name)
    }

    /// Up to `limit` of the messages waiting for a user with an id above
    /// `after`, oldest first: offline delivery reads its queue a window at
    /// a time, so a queue of any length costs little memory.
    pub fn pending_after(&self, name: &str, after: i64, limit: usize) -> Result<Vec<Message>> {
        let rows = self.log.pending_after(&self.db.conn, name, after, limit)?;
        Ok(self.with_clocks(rows))
    }

    /// Removes delivered messages from a user's queue (they stay in the
    /// log); on disk with the next commit that succeeds.
    pub fn remove_pending(&mut self, name: &str, ids: &[i64]) {
        self.log.remove_pending(name, ids);
        // The log cannot tell when they were delivered: the row says.
        if let Some(id) = self.users.id(name) {
            self.clocks.row_due(id);
        }
    }

    /// The last `n` messages `name` may see (every broadcast, and every
    /// MSG/MCAST they sent or received), oldest first. `None`: the whole log.
    /// For history_on_join and the console; a user's HISTORY reads through
    /// [`Store::read`].
    pub fn history(&self, name: Option<&str>, n: usize) -> Result<Vec<Message>> {
        let rows = log::history(&self.db.conn, name, n)?;
        Ok(self.with_clocks(rows))
    }

    /// Messages as read, with their clocks decoded and written out.
    fn with_clocks(&self, rows: Vec<(Message, Vec<u8>)>) -> Vec<Message> {
        rows.into_iter()
            .map(|(mut m, counts)| {
                m.clock = clocks::decode(&self.users, &counts);
                m.clock_text = self.format_clock(&m.clock);
                m
            })
            .collect()
    }

    /// DELETE BACKUP: deletes the conversation log but every message still
    /// waiting for an offline recipient. Returns (removed, kept).
    /// Every clock that is behind is written first, as of the newest
    /// message: clocks are rebuilt from the messages after their rows
    /// (`rebuild.rs`), and those are about to go.
    pub fn delete_log(&mut self, book: &mut Clocks) -> Result<(usize, usize)> {
        self.log.write_unlogged(&mut self.db)?;
        self.clocks.note_changes(book);
        let (users, clocks, last_id) = (&self.users, &mut self.clocks, self.log.last_id());
        self.db.write("writing clocks", |c| clocks.save(c, users, book, last_id, true))?;
        self.log.delete_log(&mut self.db)
    }

    // ---- the file --------------------------------------------------------------

    /// Bytes on disk: the database file and its write-ahead log.
    pub fn size_bytes(&self) -> u64 {
        self.file_size("") + self.wal_bytes()
    }

    /// Bytes of the write-ahead log (`<db>-wal`) on disk now.
    pub fn wal_bytes(&self) -> u64 {
        self.file_size("-wal")
    }

    /// Size of the database file with `suffix` added to its name; 0 if
    /// there is none (no WAL after a clean close).
    fn file_size(&self, suffix: &str) -> u64 {
        let mut p = self.path.clone().into_os_string();
        p.push(suffix);
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn temp_db(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("chatd-store-{}-{tag}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    pub(super) fn msg(kind: MessageKind, from: &str, to: &str, text: &str) -> Message {
        Message {
            id: 0,
            kind,
            ts: "2026-11-21T12:00:00Z".into(),
            from: from.into(),
            to: to.into(),
            clock: crate::clock::Clock::new(),
            clock_text: String::new(),
            text: text.into(),
        }
    }

    #[test]
    fn uncommitted_writes_are_lost_and_a_failed_pass_rolls_back() {
        let p = temp_db("rollback");
        {
            let (mut s, mut clocks) = Store::open(&p).unwrap();
            s.user_joined("bob", "t");
            assert_eq!(s.commit(&mut clocks), Commit::Done);
            s.log_message(&msg(MessageKind::All, "bob", "*", "never committed"), &[]).unwrap();
            s.db.failed = Some(StoreError("simulated".into()));
            assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
            assert!(s.history(None, 10).unwrap().is_empty());
            s.log_message(&msg(MessageKind::All, "bob", "*", "after"), &[]).unwrap();
        } // dropped without commit
        let (s, _) = Store::open(&p).unwrap();
        assert!(s.user("bob").is_some());
        assert!(s.history(None, 10).unwrap().is_empty());
    }
}
