//! The store: one SQLite file, and the only SQL in chatd.
//!
//! Handlers call it for what must outlive a connection or a restart: known
//! users (name, password hash, vector clock, last seen), the message log, and
//! the queue of messages waiting for offline users.
//!
//! Group commit: the first write of a loop pass opens a transaction, and
//! `server.rs` calls [`Store::commit`] once per pass, before the replies that
//! promise durability are released. One fsync per pass, never one per
//! message. A failed write never brings the server down: it is logged, the
//! pass's transaction is rolled back, and the commands that needed it answer
//! `ERR STORAGE`.
//!
//! Known users are also kept in memory (a few hundred bytes each), so a JOIN
//! or a delivery never waits for a read; writes go through to SQLite.

mod checkpoint;
mod schema;

use crate::clock::{Clock, Clocks, UserId};
pub use crate::message::{Message, MessageKind as Kind};
use crate::names;
use checkpoint::Checkpointer;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// A clock on disk: for each entry, the user's number (`users.id`) then
/// the counter, each an unsigned LEB128 varint. About 3 bytes an entry,
/// against 10 for `alice=3,`; written for every message and, each pass, for
/// every user whose clock moved.
fn encode_entries(entries: impl ExactSizeIterator<Item = (i64, u64)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4);
    for (id, n) in entries {
        put_varint(&mut out, id as u64);
        put_varint(&mut out, n);
    }
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads the (user number, counter) pairs back; stops at a damaged tail.
fn decode_entries(mut bytes: &[u8]) -> Vec<(i64, u64)> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (Some(id), Some(n)) = (varint(&mut bytes), varint(&mut bytes)) else { break };
        out.push((id as i64, n));
    }
    out
}

/// After a failed commit, how long background writes wait before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// A known user.
#[derive(Debug, Clone)]
pub struct User {
    /// Identity: the name in lower case.
    pub folded: String,
    /// Display name, as last spelled at JOIN.
    pub name: String,
    /// Argon2id PHC string, when the name is protected.
    pub password: Option<String>,
    pub last_seen: String,
    /// Stable number on disk (`users.id`), which clocks on disk refer to.
    disk_id: i64,
}

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

/// The open database.
pub struct Store {
    db: Connection,
    /// Known users, indexed by their `UserId`, and the index by folded name.
    users: Vec<User>,
    ids: HashMap<String, UserId>,
    /// UserId by number on disk, for reading clocks back.
    by_disk_id: HashMap<i64, UserId>,
    /// Users whose row (name, password, last seen), or whose clock (as the
    /// clock book named them at a commit), changed in memory and is not yet
    /// on disk: written at the next commit, and kept for the one after if
    /// that commit fails, so memory and disk never part ways.
    dirty_users: DirtySet,
    dirty_clocks: DirtySet,
    /// Stored messages written to their recipient, not yet removed on disk.
    delivered: HashSet<(String, i64)>,
    /// Password changes of this pass: (user, previous hash), undone in
    /// memory if the commit fails.
    password_undo: Vec<(UserId, Option<String>)>,
    /// After a failed commit, background writes (the dirty rows above) wait
    /// until then, so a locked database does not stall every pass.
    retry_at: Option<std::time::Instant>,
    /// A transaction is open.
    in_tx: bool,
    /// A write of this pass failed: the pass's transaction will be rolled back.
    failed: Option<StoreError>,
    /// The database file, for its size in STATS.
    path: std::path::PathBuf,
    /// Live messages whose log write has not reached the disk yet.
    unlogged: Unlogged,
    /// Since start: messages logged and transactions committed.
    pub messages_logged: u64,
    pub commits: u64,
    /// The thread that flushes the WAL to disk and keeps it under
    /// `wal_limit` (store/checkpoint.rs).
    checkpointer: Option<Checkpointer>,
    /// Each user's place in name order (index: UserId), for writing clocks
    /// sorted by name; worked out again when users were added.
    name_ranks: std::cell::RefCell<Vec<u32>>,
}

/// Users changed since the last successful commit: a flag per user and the
/// list of those flagged, so marking one (done for every delivery) costs no
/// hashing.
#[derive(Debug, Default)]
struct DirtySet {
    flags: Vec<bool>,
    list: Vec<UserId>,
}

impl DirtySet {
    fn insert(&mut self, id: UserId) {
        let i = id.0 as usize;
        if i >= self.flags.len() {
            self.flags.resize(i + 1, false);
        }
        if !self.flags[i] {
            self.flags[i] = true;
            self.list.push(id);
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &UserId> {
        self.list.iter()
    }

    fn clear(&mut self) {
        for id in self.list.drain(..) {
            self.flags[id.0 as usize] = false;
        }
    }
}

impl Drop for Store {
    /// Stops the checkpointer first (after removing the commit hook that
    /// reports to it): the main connection is then the last one, and
    /// closing it checkpoints the WAL fully and removes it.
    fn drop(&mut self) {
        if let Some(c) = self.checkpointer.take() {
            c.unwatch(&self.db);
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
        let shown = path.display();
        let db = schema::open(path, wal_limit)?;
        let mut store = Store {
            db,
            users: Vec::new(),
            ids: HashMap::new(),
            by_disk_id: HashMap::new(),
            dirty_users: DirtySet::default(),
            dirty_clocks: DirtySet::default(),
            delivered: HashSet::new(),
            password_undo: Vec::new(),
            retry_at: None,
            in_tx: false,
            failed: None,
            path: path.to_path_buf(),
            unlogged: Unlogged::default(),
            messages_logged: 0,
            commits: 0,
            checkpointer: None,
            name_ranks: std::cell::RefCell::new(Vec::new()),
        };
        let read = |e: StoreError| format!("cannot read users from {shown}: {}", e.0);
        store.load_users().map_err(read)?;
        let clocks = store.load_clocks().map_err(read)?;
        let checkpointer =
            Checkpointer::start(path, wal_limit).map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        checkpointer.watch(&store.db);
        store.checkpointer = Some(checkpointer);
        Ok((store, clocks))
    }

    fn load_users(&mut self) -> Result<()> {
        let mut stmt = self.db.prepare("SELECT folded, name, password, last_seen, id FROM users ORDER BY id")?;
        let users = stmt
            .query_map([], |r| {
                Ok(User {
                    folded: r.get(0)?,
                    name: r.get(1)?,
                    password: r.get(2)?,
                    last_seen: r.get(3)?,
                    disk_id: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        for user in users {
            self.add_user(user);
        }
        Ok(())
    }

    /// Every known user's clock, as on disk. Clocks name other users: read
    /// once every user has a number.
    fn load_clocks(&self) -> Result<Clocks> {
        let mut book = Clocks::new();
        for i in 0..self.users.len() {
            book.add(UserId(i as u32), Clock::new());
        }
        let mut stmt = self.db.prepare("SELECT user, counts FROM clocks")?;
        let clocks = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (disk_id, counts) in clocks {
            if let Some(&id) = self.by_disk_id.get(&disk_id) {
                book.add(id, self.decode_clock(&counts));
            }
        }
        Ok(book)
    }

    fn add_user(&mut self, user: User) -> UserId {
        let id = UserId(self.users.len() as u32);
        self.ids.insert(user.folded.clone(), id);
        self.by_disk_id.insert(user.disk_id, id);
        self.users.push(user);
        id
    }

    // ---- transactions ------------------------------------------------------

    /// Runs a write inside this pass's transaction. After a failure, later
    /// writes of the same pass are refused (they would be rolled back).
    fn write<T>(&mut self, what: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = (|| {
            if !self.in_tx {
                // May wait briefly while the checkpointer empties the WAL.
                if let Some(c) = &self.checkpointer {
                    c.before_write();
                }
                self.db.execute_batch("BEGIN")?;
                self.in_tx = true;
            }
            f(&self.db)
        })();
        result.map_err(|e| {
            let err = StoreError(e.to_string());
            log::error!("store: {what} failed: {e}");
            self.failed = Some(err.clone());
            err
        })
    }

    /// When changes that a failed commit left in memory (here, or clocks
    /// in the book) will be written again (the loop wakes up for it even
    /// when idle).
    pub fn retry_at(&self, clocks: &Clocks) -> Option<std::time::Instant> {
        self.retry_at.filter(|_| self.has_unsaved() || clocks.unsettled())
    }

    /// Changes held in memory and not yet on disk.
    fn has_unsaved(&self) -> bool {
        !(self.dirty_users.is_empty()
            && self.dirty_clocks.is_empty()
            && self.delivered.is_empty()
            && self.unlogged.kept.is_empty())
    }

    /// True when this pass has writes waiting for [`Store::commit`] (with
    /// the clocks that changed in the book among them).
    pub fn has_pending_writes(&self, clocks: &Clocks) -> bool {
        let backing_off = self.retry_at.is_some_and(|t| std::time::Instant::now() < t);
        let dirty = self.has_unsaved() || clocks.unsettled();
        self.in_tx || self.failed.is_some() || (dirty && !backing_off)
    }

    /// Commits this pass's writes in one transaction, with the clocks that
    /// changed in `clocks` (the book presence keeps), and returns what
    /// became of them: the outcome the pass's durable replies wait for. On
    /// failure everything of the pass is rolled back (the error is logged);
    /// changes kept in memory are written again by a later commit.
    pub fn commit(&mut self, clocks: &mut Clocks) -> Commit {
        let dirty = &mut self.dirty_clocks;
        clocks.settle(|id| dirty.insert(id));
        let saving = self.has_pending_writes(clocks);
        if saving {
            self.save_dirty(clocks);
            let _ = self.write_unlogged(); // a failure is in self.failed
        }
        let result = match self.failed.take() {
            Some(e) => Err(e),
            None if self.in_tx => {
                self.commits += 1;
                self.db.execute_batch("COMMIT").map_err(|e| {
                    log::error!("store: commit failed: {e}");
                    StoreError(e.to_string())
                })
            }
            None => Ok(()),
        };
        if result.is_err() && !self.db.is_autocommit() {
            if let Err(e) = self.db.execute_batch("ROLLBACK") {
                log::error!("store: rollback failed: {e}");
            }
        }
        self.in_tx = false;
        if let Some(c) = &self.checkpointer {
            c.after_write();
        }
        match &result {
            Ok(()) if saving => {
                if self.retry_at.take().is_some() {
                    log::info!("store: writing again");
                }
                // Nothing ran between save_dirty and COMMIT: all of it is on disk.
                self.dirty_users.clear();
                self.dirty_clocks.clear();
                self.delivered.clear();
                self.password_undo.clear();
                self.unlogged.committed();
            }
            Ok(()) => {} // backing off: nothing was written, the dirty rows wait
            Err(_) => {
                for (folded, old) in self.password_undo.drain(..).rev() {
                    self.users[folded.0 as usize].password = old;
                }
                self.unlogged.rolled_back();
                self.retry_at = Some(std::time::Instant::now() + RETRY_AFTER);
            }
        }
        match result {
            Ok(()) => Commit::Done,
            Err(e) => Commit::Failed(e),
        }
    }

    /// Writes the rows changed in memory into this pass's transaction. They
    /// stay listed until a commit has succeeded.
    fn save_dirty(&mut self, book: &mut Clocks) {
        let delivered: Vec<(String, i64)> = self.delivered.iter().cloned().collect();
        let users: Vec<User> = self.dirty_users.iter().map(|&id| self.users[id.0 as usize].clone()).collect();
        let ids: Vec<UserId> = self.dirty_clocks.iter().copied().collect();
        let clocks: Vec<(i64, Vec<u8>)> = ids
            .into_iter()
            .map(|id| {
                let counts = encode_clock(&self.users, book.get(id));
                (self.users[id.0 as usize].disk_id, counts)
            })
            .collect();
        let _ = self.write("saving users", |db| {
            let mut up = db.prepare_cached(
                "INSERT INTO users (folded, id, name, password, created_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (folded) DO UPDATE SET name = excluded.name, password = excluded.password,
                     last_seen = excluded.last_seen",
            )?;
            for u in &users {
                up.execute(params![u.folded, u.disk_id, u.name, u.password, u.last_seen])?;
            }
            let mut up = db.prepare_cached("INSERT OR REPLACE INTO clocks (user, counts) VALUES (?1, ?2)")?;
            for (user, counts) in &clocks {
                up.execute(params![user, counts])?;
            }
            let mut del = db.prepare_cached("DELETE FROM pending WHERE folded = ?1 AND message_id = ?2")?;
            for (folded, id) in &delivered {
                del.execute(params![folded, id])?;
            }
            Ok(())
        });
    }

    // ---- users ---------------------------------------------------------------

    /// A known user's number, by name in any case.
    pub fn id(&self, name: &str) -> Option<UserId> {
        self.ids.get(&names::fold(name)).copied()
    }

    /// A known user (one that has joined at least once), by name in any case.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.id(name).map(|id| &self.users[id.0 as usize])
    }

    /// Records a JOIN: a new name becomes known; a known one gets its
    /// spelling and last-seen time updated. Saved with the pass's commit.
    pub fn user_joined(&mut self, name: &str, ts: &str) -> UserId {
        let id = match self.id(name) {
            Some(id) => id,
            None => {
                // Users are loaded in number order and added at the end.
                let disk_id = self.users.last().map_or(0, |u| u.disk_id) + 1;
                self.add_user(User {
                    folded: names::fold(name),
                    name: String::new(),
                    password: None,
                    last_seen: String::new(),
                    disk_id,
                })
            }
        };
        let user = &mut self.users[id.0 as usize];
        user.name = name.to_string();
        user.last_seen = ts.to_string();
        self.dirty_users.insert(id);
        id
    }

    /// Records when a user was last online.
    pub fn user_left(&mut self, name: &str, ts: &str) {
        if let Some(id) = self.id(name) {
            self.users[id.0 as usize].last_seen = ts.to_string();
            self.dirty_users.insert(id);
        }
    }

    /// Sets a user's password hash; on disk once the pass commits (and
    /// undone in memory if that commit fails).
    pub fn set_password(&mut self, name: &str, hash: &str) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(id) = self.id(name) else {
            return Err(StoreError(format!("{name} is not a known user")));
        };
        let old = self.users[id.0 as usize].password.replace(hash.to_string());
        self.password_undo.push((id, old));
        self.dirty_users.insert(id);
        // Open the transaction now, so this pass's commit writes the row.
        self.write("setting a password", |_| Ok(()))
    }

    /// Every known user, sorted by name.
    pub fn users(&self) -> Vec<&User> {
        let mut all: Vec<&User> = self.users.iter().collect();
        all.sort_by(|a, b| a.folded.cmp(&b.folded));
        all
    }

    // ---- vector clocks -------------------------------------------------------

    /// A clock as written out: `alice=3,bob=1`, sorted by name; `-` if empty.
    /// Done for every message sent, so the users' order by name is kept
    /// (worked out again only after a new user appears) and no entry is
    /// formatted through an allocation of its own.
    pub fn format_clock(&self, clock: &Clock) -> String {
        if clock.is_empty() {
            return "-".to_string();
        }
        let mut ranks = self.name_ranks.borrow_mut();
        if ranks.len() != self.users.len() {
            let mut order: Vec<usize> = (0..self.users.len()).collect();
            order.sort_unstable_by(|&a, &b| self.users[a].folded.cmp(&self.users[b].folded));
            ranks.resize(order.len(), 0);
            for (rank, &id) in order.iter().enumerate() {
                ranks[id] = rank as u32;
            }
        }
        let mut entries: Vec<(u32, UserId, u64)> =
            clock.entries().map(|(id, n)| (ranks[id.0 as usize], id, n)).collect();
        entries.sort_unstable_by_key(|e| e.0);
        write_clock(&self.users, entries.into_iter().map(|(_, id, n)| (id, n)))
    }

    /// Reads a clock back from disk; numbers that are not known users and
    /// a damaged tail are skipped (a damaged row must not stop the server).
    fn decode_clock(&self, counts: &[u8]) -> Clock {
        let mut clock = Clock::new();
        for (disk_id, n) in decode_entries(counts) {
            if let Some(&id) = self.by_disk_id.get(&disk_id) {
                clock.set(id, n);
            }
        }
        clock
    }

    // ---- the message log -----------------------------------------------------

    /// Logs a message; `participants` (sender and recipients of MSG/MCAST)
    /// may see it in HISTORY. Returns its id. For a message whose sender is
    /// told it is stored: a failure is the caller's `ERR STORAGE`, and the
    /// message is not kept (see [`Store::log_live_message`] for the others).
    pub fn log_message(&mut self, m: &Message, participants: &[String]) -> Result<i64> {
        self.messages_logged += 1;
        let counts = encode_clock(&self.users, &m.clock);
        // Kept messages are older: they take their place in the log first.
        self.write_unlogged()?;
        let row = Row { ts: &m.ts, kind: m.kind, from: &m.from, to: &m.to, counts: &counts, text: &m.text };
        self.write("logging a message", |db| insert_message(db, &row, participants))
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
        self.unlogged.limit = limit;
        let kept = Kept {
            ts: m.ts.clone(),
            kind: m.kind,
            from: m.from.clone(),
            to: m.to.clone(),
            counts: encode_clock(&self.users, &m.clock),
            text: m.text.clone(),
            participants: participants.to_vec(),
        };
        // Tried at once, as any message is, even while backing off after a
        // failed commit: the storage may be back, and then this pass's
        // commit saves it with everything else before anyone sees it.
        let written = self.write_unlogged().is_ok()
            && self.write("logging a message", |db| insert_message(db, &kept.row(), &kept.participants)).is_ok();
        if written {
            self.unlogged.in_tx.push(kept);
        } else {
            // This pass's transaction is lost (or there is none): the live
            // messages already in it go back to the queue before this one.
            self.unlogged.rolled_back();
            self.unlogged.keep(kept);
        }
    }

    /// Live messages waiting to be written to the log (STATS `unlogged=`).
    pub fn unlogged(&self) -> usize {
        self.unlogged.kept.len()
    }

    /// Writes the kept live messages not yet in this pass's transaction.
    fn write_unlogged(&mut self) -> Result<()> {
        let from = self.unlogged.kept_in_tx;
        if from == self.unlogged.kept.len() {
            return Ok(());
        }
        let kept = std::mem::take(&mut self.unlogged.kept);
        let result = self.write("writing kept live messages", |db| {
            for k in &kept[from..] {
                insert_message(db, &k.row(), &k.participants)?;
            }
            Ok(())
        });
        self.unlogged.kept = kept;
        if result.is_ok() {
            self.unlogged.kept_in_tx = self.unlogged.kept.len();
        }
        result
    }

    /// Queues a logged message for an offline recipient.
    pub fn add_pending(&mut self, name: &str, message_id: i64) -> Result<()> {
        let folded = names::fold(name);
        self.write("storing an offline message", |db| {
            db.prepare_cached("INSERT OR IGNORE INTO pending (folded, message_id) VALUES (?1, ?2)")?
                .execute(params![folded, message_id])
        })?;
        Ok(())
    }

    /// How many messages wait for a user (those delivered but not yet
    /// removed on disk not counted).
    pub fn pending_count(&self, name: &str) -> Result<usize> {
        let folded = names::fold(name);
        let on_disk: i64 = self
            .db
            .prepare_cached("SELECT count(*) FROM pending WHERE folded = ?1")?
            .query_row(params![folded], |r| r.get(0))?;
        let gone = self.delivered.iter().filter(|(f, _)| *f == folded).count();
        Ok(usize::try_from(on_disk).unwrap_or(0).saturating_sub(gone))
    }

    /// Up to `limit` of the messages waiting for a user with an id above
    /// `after`, oldest first: offline delivery reads its queue a window at
    /// a time, so a queue of any length costs little memory.
    pub fn pending_after(&self, name: &str, after: i64, limit: usize) -> Result<Vec<Message>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT m.id, m.kind, m.ts, m.sender, m.recipients, m.clock, m.body
             FROM pending p JOIN messages m ON m.id = p.message_id
             WHERE p.folded = ?1 AND p.message_id > ?2 ORDER BY p.message_id LIMIT ?3",
        )?;
        let folded = names::fold(name);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![folded, after, limit], row_to_message)?;
        let mut out = self.read_clocks(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        // Delivered already, though not yet removed on disk.
        out.retain(|m| !self.delivered.contains(&(folded.clone(), m.id)));
        Ok(out)
    }

    /// Removes delivered messages from a user's queue (they stay in the
    /// log); on disk with the next commit that succeeds.
    pub fn remove_pending(&mut self, name: &str, ids: &[i64]) {
        let folded = names::fold(name);
        self.delivered.extend(ids.iter().map(|&id| (folded.clone(), id)));
    }

    /// The last `n` messages `name` may see (every broadcast, and every
    /// MSG/MCAST they sent or received), oldest first. `None`: the whole log.
    pub fn history(&self, name: Option<&str>, n: usize) -> Result<Vec<Message>> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let mut out = match name {
            Some(name) => {
                let mut stmt = self.db.prepare_cached(
                    "SELECT id, kind, ts, sender, recipients, clock, body FROM messages
                     WHERE id IN (SELECT id FROM messages WHERE kind = 'ALL' ORDER BY id DESC LIMIT ?2)
                        OR id IN (SELECT message_id FROM participants WHERE folded = ?1
                                  ORDER BY message_id DESC LIMIT ?2)
                     ORDER BY id DESC LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![names::fold(name), n], row_to_message)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            }
            None => {
                let mut stmt = self.db.prepare_cached(
                    "SELECT id, kind, ts, sender, recipients, clock, body FROM messages ORDER BY id DESC LIMIT ?1",
                )?;
                let rows = stmt.query_map(params![n], row_to_message)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            }
        };
        out.reverse();
        Ok(self.read_clocks(out))
    }

    /// Messages as read, with their clocks decoded and written out.
    fn read_clocks(&self, rows: Vec<(Message, Vec<u8>)>) -> Vec<Message> {
        rows.into_iter()
            .map(|(mut m, counts)| {
                m.clock = self.decode_clock(&counts);
                m.clock_text = self.format_clock(&m.clock);
                m
            })
            .collect()
    }

    /// DELETE BACKUP: deletes the conversation log but every message still
    /// waiting for an offline recipient. Returns (removed, kept).
    pub fn delete_log(&mut self) -> Result<(usize, usize)> {
        // Kept live messages are part of the log: deleted with it.
        self.write_unlogged()?;
        let removed = self.write("deleting the log", |db| {
            db.execute("DELETE FROM participants WHERE message_id NOT IN (SELECT message_id FROM pending)", [])?;
            db.execute("DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM pending)", [])
        })?;
        let kept: i64 = self.db.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        Ok((removed, kept as usize))
    }

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

/// A clock as stored (see `encode_entries`).
fn encode_clock(users: &[User], clock: &Clock) -> Vec<u8> {
    encode_entries(clock.entries().map(|(id, n)| (users[id.0 as usize].disk_id, n)))
}

/// One row of the message log, borrowed from where it is kept.
struct Row<'a> {
    ts: &'a str,
    kind: Kind,
    from: &'a str,
    to: &'a str,
    /// The clock as stored (see `encode_entries`).
    counts: &'a [u8],
    text: &'a str,
}

/// Inserts a message and who may see it; returns its id.
fn insert_message(db: &Connection, m: &Row<'_>, participants: &[String]) -> rusqlite::Result<i64> {
    db.prepare_cached(
        "INSERT INTO messages (ts, kind, sender, recipients, clock, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![m.ts, m.kind.as_str(), m.from, m.to, m.counts, m.text])?;
    let id = db.last_insert_rowid();
    let mut stmt = db.prepare_cached("INSERT OR IGNORE INTO participants (folded, message_id) VALUES (?1, ?2)")?;
    for p in participants {
        stmt.execute(params![names::fold(p), id])?;
    }
    Ok(id)
}

/// How many live messages, and how many bytes of them, may wait in memory
/// for the log (settings `max_unlogged`, `max_unlogged_bytes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnloggedLimit {
    pub messages: usize,
    pub bytes: usize,
}

/// A live message waiting for the log, as it will be written.
#[derive(Debug)]
struct Kept {
    ts: String,
    kind: Kind,
    from: String,
    to: String,
    counts: Vec<u8>,
    text: String,
    participants: Vec<String>,
}

impl Kept {
    fn row(&self) -> Row<'_> {
        Row { ts: &self.ts, kind: self.kind, from: &self.from, to: &self.to, counts: &self.counts, text: &self.text }
    }

    /// What it holds, for the byte limit (the payload, not the allocator's
    /// overhead).
    fn bytes(&self) -> usize {
        let names: usize = self.participants.iter().map(String::len).sum();
        self.ts.len() + self.from.len() + self.to.len() + self.counts.len() + self.text.len() + names
    }
}

/// Live messages (delivered, promised nobody) whose log write has not
/// reached the disk: while commits fail, live chat goes on, and these are
/// written, oldest first and before anything newer, by the next commit
/// that succeeds.
#[derive(Debug, Default)]
struct Unlogged {
    /// Waiting, oldest first.
    kept: Vec<Kept>,
    /// Their `Kept::bytes`, summed.
    bytes: usize,
    /// How many of `kept` (from the front) are in this pass's transaction.
    kept_in_tx: usize,
    /// Live messages written in this pass's transaction: back to `kept`
    /// if it does not commit.
    in_tx: Vec<Kept>,
    /// Dropped since the last time the kept ones were written, for being
    /// past `limit`.
    dropped: u64,
    /// The config's, given with every live message (before it is needed).
    limit: UnloggedLimit,
}

impl Unlogged {
    /// Queues a message for the log, or drops it past the limit (the
    /// server log says so once, and how many when writing works again).
    fn keep(&mut self, k: Kept) {
        let size = k.bytes();
        if self.kept.len() < self.limit.messages && self.bytes + size <= self.limit.bytes {
            self.bytes += size;
            self.kept.push(k);
            return;
        }
        if self.dropped == 0 {
            log::warn!(
                "store: {} live messages ({} bytes) wait for the log, the most max_unlogged and max_unlogged_bytes \
                 allow; more are delivered but will be missing from the log",
                self.kept.len(),
                self.bytes
            );
        }
        self.dropped += 1;
    }

    /// This pass's transaction was rolled back: its live messages are not
    /// on disk, and none of the kept ones are.
    fn rolled_back(&mut self) {
        self.kept_in_tx = 0;
        for k in std::mem::take(&mut self.in_tx) {
            self.keep(k);
        }
    }

    /// This pass's transaction committed.
    fn committed(&mut self) {
        self.in_tx.clear();
        let written = std::mem::take(&mut self.kept_in_tx);
        if written > 0 {
            for k in self.kept.drain(..written) {
                self.bytes -= k.bytes();
            }
            log::info!("store: {written} live messages kept while the store was failing are in the log now");
        }
        if self.dropped > 0 && self.kept.is_empty() {
            log::warn!(
                "store: {} live messages are missing from the log: they came while the store was failing, \
                 past max_unlogged or max_unlogged_bytes",
                self.dropped
            );
            self.dropped = 0;
        }
    }
}

impl Drop for Unlogged {
    /// At exit with the store still failing: say what the log lacks.
    fn drop(&mut self) {
        let lost = self.kept.len() as u64 + self.dropped;
        if lost > 0 {
            log::error!("store: {lost} live messages were never written to the log (the store kept failing)");
        }
    }
}

/// A clock in the `name=n,...` form, entries in the order given.
fn write_clock(users: &[User], entries: impl Iterator<Item = (UserId, u64)>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, (id, n)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&users[id.0 as usize].folded);
        let _ = write!(out, "={n}");
    }
    out
}

/// A message row, and its clock as stored (decoded by `Store::read_clocks`).
fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Message, Vec<u8>)> {
    let m = Message {
        id: r.get(0)?,
        kind: Kind::parse(&r.get::<_, String>(1)?),
        ts: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        clock: Clock::new(),
        clock_text: String::new(),
        text: r.get(6)?,
    };
    Ok((m, r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default()))
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

    pub(super) fn msg(kind: Kind, from: &str, to: &str, text: &str) -> Message {
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
    fn history_hides_private_messages_of_others() {
        let p = temp_db("vis");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.log_message(&msg(Kind::All, "a", "*", "hi all"), &[]).unwrap();
        s.log_message(&msg(Kind::Msg, "a", "b", "a to b"), &["a".into(), "b".into()]).unwrap();
        s.log_message(&msg(Kind::Mcast, "b", "a,c", "b to a,c"), &["b".into(), "a".into(), "c".into()]).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts =
            |who: &str| -> Vec<String> { s.history(Some(who), 10).unwrap().into_iter().map(|m| m.text).collect() };
        assert_eq!(texts("a"), ["hi all", "a to b", "b to a,c"]);
        assert_eq!(texts("C"), ["hi all", "b to a,c"]);
        assert_eq!(texts("d"), ["hi all"]);
        assert_eq!(s.history(None, 2).unwrap().len(), 2);
    }

    #[test]
    fn users_and_clocks_survive_reopening() {
        let p = temp_db("users");
        {
            let (mut s, mut clocks) = Store::open(&p).unwrap();
            let alice = s.user_joined("Alice", "t1");
            let bob = s.user_joined("bob", "t1");
            // As presence does at JOIN: new users enter the book.
            clocks.join(alice);
            clocks.join(bob);
            let c = clocks.next_send(alice);
            clocks.sent(alice, &c);
            clocks.receive(bob, &c);
            s.set_password("ALICE", "$argon2id$fake").unwrap();
            assert_eq!(s.commit(&mut clocks), Commit::Done);
        }
        let (s, mut clocks) = Store::open(&p).unwrap();
        let u = s.user("alice").expect("known");
        assert_eq!(u.name, "Alice");
        assert_eq!(u.password.as_deref(), Some("$argon2id$fake"));
        assert_eq!(s.format_clock(clocks.get(s.id("alice").unwrap())), "alice=1");
        assert_eq!(s.format_clock(clocks.get(s.id("BOB").unwrap())), "alice=1,bob=1");
    }

    #[test]
    fn clocks_are_written_by_name_sorted_and_read_back() {
        let p = temp_db("clocktext");
        let (mut s, _) = Store::open(&p).unwrap();
        let zed = s.user_joined("zed", "t");
        let amy = s.user_joined("Amy", "t");
        let mut c = crate::clock::Clock::new();
        c.tick(zed);
        c.tick(amy);
        c.tick(amy);
        assert_eq!(s.format_clock(&c), "amy=2,zed=1");
        assert_eq!(s.format_clock(&crate::clock::Clock::new()), "-");
        let stored = encode_clock(&s.users, &c);
        assert_eq!(stored.len(), 4, "two entries of a one-byte number and a one-byte counter");
        assert_eq!(s.decode_clock(&stored), c);
        // A number that is no known user is skipped; a damaged tail ends the clock.
        let mut damaged = encode_entries([(99, 5), (1, 300)].into_iter());
        damaged.push(0x80);
        assert_eq!(s.format_clock(&s.decode_clock(&damaged)), "zed=300");
    }

    #[test]
    fn uncommitted_writes_are_lost_and_a_failed_pass_rolls_back() {
        let p = temp_db("rollback");
        {
            let (mut s, mut clocks) = Store::open(&p).unwrap();
            s.user_joined("bob", "t");
            assert_eq!(s.commit(&mut clocks), Commit::Done);
            s.log_message(&msg(Kind::All, "bob", "*", "never committed"), &[]).unwrap();
            s.failed = Some(StoreError("simulated".into()));
            assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
            assert!(s.history(None, 10).unwrap().is_empty());
            s.log_message(&msg(Kind::All, "bob", "*", "after"), &[]).unwrap();
        } // dropped without commit
        let (s, _) = Store::open(&p).unwrap();
        assert!(s.user("bob").is_some());
        assert!(s.history(None, 10).unwrap().is_empty());
    }

    #[test]
    fn live_messages_of_a_failed_pass_are_written_first_by_the_next_commit() {
        let p = temp_db("unlogged");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        let limit = UnloggedLimit { messages: 10, bytes: 1 << 20 };
        let live = |text: &str, ts: &str| Message { ts: ts.into(), ..msg(Kind::All, "a", "*", text) };
        s.log_live_message(&live("one", "t1"), &[], limit);
        // A later write of the same pass fails: the pass is rolled back.
        s.failed = Some(StoreError("simulated".into()));
        s.log_live_message(&live("two", "t2"), &[], limit);
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        assert_eq!(s.unlogged(), 2);
        assert!(s.history(None, 10).unwrap().is_empty());
        // The next message goes in after them, each with its own time.
        s.log_live_message(&live("three", "t3"), &[], limit);
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.unlogged(), 0);
        let log: Vec<(String, String)> = s.history(None, 10).unwrap().into_iter().map(|m| (m.ts, m.text)).collect();
        let want = [("t1", "one"), ("t2", "two"), ("t3", "three")].map(|(t, m)| (t.to_string(), m.to_string()));
        assert_eq!(log, want);
    }

    #[test]
    fn kept_live_messages_are_bounded_by_count_and_bytes() {
        let p = temp_db("unlogged-bound");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.failed = Some(StoreError("simulated".into()));
        let by_count = UnloggedLimit { messages: 2, bytes: 1 << 20 };
        for text in ["a", "b", "c"] {
            s.log_live_message(&msg(Kind::All, "x", "*", text), &[], by_count);
        }
        assert_eq!((s.unlogged(), s.unlogged.dropped), (2, 1));
        let kept_bytes = s.unlogged.bytes;
        let by_bytes = UnloggedLimit { messages: 100, bytes: kept_bytes + 10 };
        s.log_live_message(&msg(Kind::All, "x", "*", &"long".repeat(10)), &[], by_bytes);
        assert_eq!((s.unlogged(), s.unlogged.dropped), (2, 2));
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        // Written by the retry; the count of dropped ones is reported and reset.
        s.retry_at = Some(std::time::Instant::now());
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.history(None, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["a", "b"]);
        assert_eq!((s.unlogged(), s.unlogged.bytes, s.unlogged.dropped), (0, 0, 0));
    }

    #[test]
    fn delete_log_takes_the_kept_live_messages_too() {
        let p = temp_db("unlogged-delete");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.failed = Some(StoreError("simulated".into()));
        s.log_live_message(&msg(Kind::All, "x", "*", "kept"), &[], UnloggedLimit { messages: 5, bytes: 1 << 20 });
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        assert_eq!(s.delete_log().unwrap(), (1, 0));
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!((s.unlogged(), s.history(None, 10).unwrap().len()), (0, 0));
    }

    #[test]
    fn pending_messages_are_oldest_first_and_removable() {
        let p = temp_db("pending");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        let a = s.log_message(&msg(Kind::Msg, "a", "b", "one"), &[]).unwrap();
        let b = s.log_message(&msg(Kind::Msg, "a", "b", "two"), &[]).unwrap();
        s.add_pending("B", b).unwrap();
        s.add_pending("b", a).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.pending_after("b", 0, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(s.pending_after("b", a, 10).unwrap()[0].text, "two", "read from after an id");
        assert_eq!(s.pending_after("b", 0, 1).unwrap().len(), 1, "at most the limit");
        s.remove_pending("b", &[a]);
        // Gone at once for readers, before the removal is on disk.
        assert_eq!(s.pending_count("b").unwrap(), 1);
        assert_eq!(s.pending_after("b", 0, 10).unwrap()[0].text, "two");
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.pending_count("b").unwrap(), 1);
    }

    #[test]
    fn delete_log_keeps_messages_waiting_for_offline_users() {
        let p = temp_db("delete");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.log_message(&msg(Kind::All, "a", "*", "old"), &[]).unwrap();
        s.log_message(&msg(Kind::Msg, "a", "b", "read"), &["a".into(), "b".into()]).unwrap();
        let waiting = s.log_message(&msg(Kind::Msg, "a", "c", "waiting"), &["a".into(), "c".into()]).unwrap();
        s.add_pending("c", waiting).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.delete_log().unwrap(), (2, 1));
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.pending_after("c", 0, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["waiting"]);
        assert_eq!(s.history(Some("a"), 10).unwrap().len(), 1);
    }

    #[test]
    fn the_wal_stays_bounded_under_back_to_back_commits_and_shrinks_when_idle() {
        let p = temp_db("wal");
        let wal = format!("{}-wal", p.display());
        let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let limit = crate::config::MIN_WAL_LIMIT;
        let (mut s, mut clocks) = Store::open_with(&p, limit).unwrap();
        let alice = s.user_joined("alice", "t");
        clocks.join(alice);
        s.user_joined("bob", "t");
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        // One stored MSG per commit, as a client waiting for each reply
        // sends them: the most log per message. Unbounded, 2000 of them
        // leave some 45 MB of log.
        let mut largest = 0;
        for i in 0..2000 {
            let c = clocks.next_send(alice);
            clocks.sent(alice, &c);
            let id = s
                .log_message(&msg(Kind::Msg, "alice", "bob", &format!("number {i}")), &["alice".into(), "bob".into()])
                .unwrap();
            s.add_pending("bob", id).unwrap();
            assert_eq!(s.commit(&mut clocks), Commit::Done, "a checkpoint never makes a commit fail");
            largest = largest.max(size());
        }
        // Generous: the loop stops at three quarters of the limit, and
        // only a disk stalled for a second lets it write on.
        assert!(largest <= 2 * limit, "the WAL reached {largest} bytes with wal_limit {limit}");
        assert_eq!(s.pending_count("bob").unwrap(), 2000);
        // Idle: the file is truncated within about IDLE_TRUNCATE.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(size(), 0, "an idle store keeps no log");
        drop(s);
        let (s, _) = Store::open(&p).unwrap();
        assert_eq!(s.pending_count("bob").unwrap(), 2000, "everything is in the database file");
    }
}
