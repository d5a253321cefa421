//! Vector clocks on disk and in text. The clock book itself (`clock.rs`)
//! is presence's; the store reads it from disk at start, and at each
//! commit writes the clocks the book says changed. Here: the compact form
//! a clock is stored in (user numbers and counters as varints) and reading
//! it back, which users' clocks wait to be written, and a clock written
//! out by name (`alice=3,bob=1`) for CLOCK and CLOCK ON.

use super::users::{DirtySet, Users};
use crate::clock::{Clock, Clocks, UserId};
use rusqlite::{params, Connection};
use std::cell::RefCell;

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

/// Every known user's clock as on disk: the book presence starts with.
pub(super) fn load(db: &Connection, users: &Users) -> rusqlite::Result<Clocks> {
    let mut book = Clocks::new();
    for i in 0..users.all().len() {
        book.add(UserId(i as u32), Clock::new());
    }
    let mut stmt = db.prepare("SELECT user, counts FROM clocks")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (disk_id, counts) in rows {
        if let Some(id) = users.by_disk_id(disk_id) {
            book.add(id, decode(users, &counts));
        }
    }
    Ok(book)
}

/// Writes rows from [`StoredClocks::rows`] (inside the pass's transaction).
pub(super) fn save(db: &Connection, rows: &[(i64, Vec<u8>)]) -> rusqlite::Result<()> {
    let mut up = db.prepare_cached("INSERT OR REPLACE INTO clocks (user, counts) VALUES (?1, ?2)")?;
    for (user, counts) in rows {
        up.execute(params![user, counts])?;
    }
    Ok(())
}

/// The store's side of the clocks: whose wait to be written, and the name
/// order they are written out in.
#[derive(Debug, Default)]
pub(super) struct StoredClocks {
    /// Users whose clock changed (as the book named them at a commit) and
    /// is not on disk yet: written at the next commit, and kept for the one
    /// after if that commit fails.
    dirty: DirtySet,
    /// Each user's place in name order (index: UserId), for writing clocks
    /// sorted by name; worked out again when users were added.
    name_ranks: RefCell<Vec<u32>>,
}

impl StoredClocks {
    /// Takes note of the clocks the book changed since it was last asked.
    pub(super) fn note_changes(&mut self, book: &mut Clocks) {
        let dirty = &mut self.dirty;
        book.settle(|id| dirty.insert(id));
    }

    /// Clocks changed and not yet on disk.
    pub(super) fn has_unsaved(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The changed clocks as rows to write: (number on disk, clock as stored).
    pub(super) fn rows(&self, users: &Users, book: &mut Clocks) -> Vec<(i64, Vec<u8>)> {
        self.dirty.iter().map(|&id| (users.get(id).disk_id, encode(users, book.get(id)))).collect()
    }

    /// The pass committed with the changed clocks in it.
    pub(super) fn saved(&mut self) {
        self.dirty.clear();
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
