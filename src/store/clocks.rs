//! Vector clocks on disk and in text. The clock book itself (`clock.rs`)
//! is presence's; the store works it out at start (`rebuild.rs`) and
//! writes users' clocks now and then, not at every delivery. Here: the
//! compact form a clock is stored in (user numbers and counters as
//! varints) and reading it back, when each user's clock is written
//! ([`StoredClocks`]), and a clock written out by name (`alice=3,bob=1`)
//! for CLOCK and CLOCK ON.

use super::users::{DirtySet, Users};
use crate::clock::{Clock, Clocks, UserId};
use rusqlite::{params, Connection};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// A clock on disk: for each entry, the user's number (`users.id`) then
/// the counter, each an unsigned LEB128 varint. About 3 bytes an entry,
/// against 10 for `alice=3,`; written for every message and, each pass, for
/// every user whose clock moved.
pub(super) fn encode_entries(entries: impl ExactSizeIterator<Item = (i64, u64)>) -> Vec<u8> {
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

/// A clock as stored (see [`encode_entries`]).
pub(super) fn encode(users: &Users, clock: &Clock) -> Vec<u8> {
    encode_entries(clock.entries().map(|(id, n)| (users.get(id).disk_id, n)))
}

/// Reads a clock back from disk; numbers that are not known users and a
/// damaged tail are skipped (a damaged row must not stop the server).
pub(super) fn decode(users: &Users, counts: &[u8]) -> Clock {
    let mut clock = Clock::new();
    for (disk_id, n) in decode_entries(counts) {
        if let Some(id) = users.by_disk_id(disk_id) {
            clock.set(id, n);
        }
    }
    clock
}

/// How often at most a snapshot starts (see [`StoredClocks`]).
const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

/// Rows per second snapshots write on average, at most: with many users
/// joined and talking, a snapshot waits longer than SNAPSHOT_EVERY (10 s
/// for 20 000 of them), so that writing clocks stays a small part of what
/// the server does; a rebuild after a crash reads that much more log.
const SNAPSHOT_ROWS_PER_SECOND: f64 = 2000.0;

/// Rows a snapshot writes per commit, so that one of 50 000 users does not
/// hold a loop pass for the whole of it.
const SNAPSHOT_ROWS_PER_COMMIT: usize = 2048;

/// The store's side of the clocks: when each user's clock is written, and
/// the name order clocks are written out in.
///
/// A clock is a function of the log (`store/rebuild.rs` works it out at
/// start), so clocks are not written at every delivery: a broadcast to
/// 10 000 users would be 10 000 row writes. A user's row (the clock, the
/// newest message it includes, whether they were joined) is written
///
/// - at the commit after they JOINed or LEFT, or a stored message reached
///   them: the log alone cannot say who was joined when (for broadcasts)
///   nor when a stored message was delivered;
/// - by a snapshot, at most once a second while messages come (less often
///   when many rows are behind: SNAPSHOT_ROWS_PER_SECOND): every user whose
///   clock changed since their row was written, a chunk per commit;
///   once all are, `meta.clocks_as_of` says every row is exact as of the
///   message the snapshot started at, so the rebuild at start reads only
///   the messages after it;
/// - for everyone at a clean stop and by DELETE BACKUP (before the
///   messages a rebuild would read are gone).
#[derive(Debug)]
pub(super) struct StoredClocks {
    /// Users whose clock changed since their row was written; with
    /// `broadcasts`, every joined user too.
    dirty: DirtySet,
    broadcasts: bool,
    /// How many users were joined when last seen (the rows `broadcasts`
    /// stands for).
    joined: usize,
    /// Users whose row the next commit must write, whether or not their
    /// clock changed: they joined or left, or a stored message reached them.
    due: DirtySet,
    /// The snapshot under way, if one is.
    snapshot: Option<Snapshot>,
    /// Every row is exact as of this message id, or of its own later one.
    as_of: i64,
    /// When the last snapshot finished; how often one may start, and how
    /// many rows it writes per commit (constants but in tests).
    last_snapshot: Instant,
    every: Duration,
    rows_per_commit: usize,
    /// Rows written in this pass's transaction, and the snapshot it
    /// completes: applied once it commits.
    in_tx: Vec<UserId>,
    completes: Option<i64>,
    /// Each user's place in name order (index: UserId), for writing clocks
    /// sorted by name; worked out again when users were added.
    name_ranks: RefCell<Vec<u32>>,
}

/// A snapshot being written: the users whose row was behind when it
/// started, and the message it started at.
#[derive(Debug)]
struct Snapshot {
    left: Vec<UserId>,
    as_of: i64,
}

/// One clock row as written.
struct ClockRow {
    user: i64,
    counts: Vec<u8>,
    joined: bool,
}

impl StoredClocks {
    /// For a database whose rows are all exact as of message `as_of`.
    pub(super) fn new(as_of: i64) -> StoredClocks {
        StoredClocks {
            dirty: DirtySet::default(),
            broadcasts: false,
            joined: 0,
            due: DirtySet::default(),
            snapshot: None,
            as_of,
            last_snapshot: Instant::now(),
            every: SNAPSHOT_EVERY,
            rows_per_commit: SNAPSHOT_ROWS_PER_COMMIT,
            in_tx: Vec::new(),
            completes: None,
            name_ranks: RefCell::default(),
        }
    }

    /// Takes note of the clocks the book changed since it was last asked.
    pub(super) fn note_changes(&mut self, book: &mut Clocks) {
        let dirty = &mut self.dirty;
        self.broadcasts |= book.take_changes(|id| dirty.insert(id));
        self.joined = book.joined().len();
    }

    /// The user's row must be written by the next commit.
    pub(super) fn row_due(&mut self, id: UserId) {
        self.due.insert(id);
    }

    /// Rows the next commit must write.
    pub(super) fn has_unsaved(&self, last_id: i64) -> bool {
        !self.due.is_empty() || self.snapshot.is_some() || self.snapshot_wanted(last_id)
    }

    /// Time for a snapshot: a second since the last, and messages since.
    fn snapshot_wanted(&self, last_id: i64) -> bool {
        let rows = self.dirty.len() + if self.broadcasts { self.joined } else { 0 };
        let every = self.every.max(Duration::from_secs_f64(rows as f64 / SNAPSHOT_ROWS_PER_SECOND));
        last_id > self.as_of && rows > 0 && self.last_snapshot.elapsed() >= every
    }

    /// Writes (inside the pass's transaction) the rows due, and the next
    /// chunk of the snapshot under way, starting one if it is time; with
    /// `all`, the whole snapshot at once. `last_id`: the newest message in
    /// the log, this pass's included, which every row written is as of.
    pub(super) fn save(
        &mut self,
        db: &Connection,
        users: &Users,
        book: &mut Clocks,
        last_id: i64,
        all: bool,
    ) -> rusqlite::Result<()> {
        if self.snapshot.is_none() && self.completes.is_none() && (all || self.snapshot_wanted(last_id)) {
            if std::mem::take(&mut self.broadcasts) {
                for &id in book.joined() {
                    self.dirty.insert(id);
                }
            }
            // Users whose row is not behind are exact as of now.
            self.snapshot = Some(Snapshot { left: self.dirty.iter().copied().collect(), as_of: last_id });
        }
        let first = self.in_tx.len();
        self.in_tx.extend(self.due.iter().copied());
        if let Some(s) = &mut self.snapshot {
            let take = if all { s.left.len() } else { s.left.len().min(self.rows_per_commit) };
            self.in_tx.extend(s.left.drain(s.left.len() - take..));
            if s.left.is_empty() {
                self.completes = Some(s.as_of);
                self.snapshot = None;
            }
        }
        let rows: Vec<ClockRow> = self.in_tx[first..]
            .iter()
            .map(|&id| ClockRow {
                user: users.get(id).disk_id,
                counts: encode(users, book.get(id)),
                joined: book.is_joined(id),
            })
            .collect();
        let mut up =
            db.prepare_cached("INSERT OR REPLACE INTO clocks (user, counts, as_of, joined) VALUES (?1, ?2, ?3, ?4)")?;
        for r in &rows {
            up.execute(params![r.user, r.counts, last_id, r.joined])?;
        }
        if let Some(as_of) = self.completes {
            db.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'clocks_as_of'")?.execute(params![as_of])?;
        }
        Ok(())
    }

    /// The pass committed with the rows [`StoredClocks::save`] wrote.
    pub(super) fn saved(&mut self) {
        self.dirty.remove_all(&self.in_tx);
        self.in_tx.clear();
        self.due.clear();
        if let Some(as_of) = self.completes.take() {
            self.as_of = as_of;
            self.last_snapshot = Instant::now();
        }
    }

    /// Every row is exact as of this message id, or of its own later one.
    pub(super) fn as_of(&self) -> i64 {
        self.as_of
    }

    /// Snapshots as often as allowed, in chunks of `rows` (tests).
    #[cfg(test)]
    pub(super) fn snapshot_often(&mut self, every: Duration, rows: usize) {
        (self.every, self.rows_per_commit) = (every, rows);
    }

    /// The pass's commit failed: the rows due stay due; a snapshot under
    /// way starts again later (the messages it was as of are rolled back).
    pub(super) fn rolled_back(&mut self) {
        self.in_tx.clear();
        self.completes = None;
        self.snapshot = None;
    }

    /// A clock as written out: `alice=3,bob=1`, sorted by name; `-` if empty.
    /// Done for every message sent, so the users' order by name is kept
    /// (worked out again only after a new user appears) and no entry is
    /// formatted through an allocation of its own.
    pub(super) fn format(&self, users: &Users, clock: &Clock) -> String {
        if clock.is_empty() {
            return "-".to_string();
        }
        let users = users.all();
        let mut ranks = self.name_ranks.borrow_mut();
        if ranks.len() != users.len() {
            let mut order: Vec<usize> = (0..users.len()).collect();
            order.sort_unstable_by(|&a, &b| users[a].folded.cmp(&users[b].folded));
            ranks.resize(order.len(), 0);
            for (rank, &id) in order.iter().enumerate() {
                ranks[id] = rank as u32;
            }
        }
        let mut entries: Vec<(u32, UserId, u64)> =
            clock.entries().map(|(id, n)| (ranks[id.0 as usize], id, n)).collect();
        entries.sort_unstable_by_key(|e| e.0);
        write_clock(users, entries.into_iter().map(|(_, id, n)| (id, n)))
    }
}

/// A clock in the `name=n,...` form, entries in the order given.
fn write_clock(users: &[super::User], entries: impl Iterator<Item = (UserId, u64)>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_db;
    use crate::store::Store;

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
        let stored = encode(&s.users, &c);
        assert_eq!(stored.len(), 4, "two entries of a one-byte number and a one-byte counter");
        assert_eq!(decode(&s.users, &stored), c);
        // A number that is no known user is skipped; a damaged tail ends the clock.
        let mut damaged = encode_entries([(99, 5), (1, 300)].into_iter());
        damaged.push(0x80);
        assert_eq!(s.format_clock(&decode(&s.users, &damaged)), "zed=300");
    }
}
