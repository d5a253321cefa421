//! Clocks at start: each user's row as last written (`clocks.rs` says
//! when), plus what the log holds after it.
//!
//! A user's clock is a function of the log. Its own entry counts the
//! messages it sent and received; every other entry is the largest that
//! entry was in the clocks of the messages it received (a merge never
//! raises one's own entry: no message can know more of a user than the
//! user itself). Both are sums and maxima, so the order the messages are
//! applied in does not matter, and a row written as of message `S` is
//! brought up to date by the messages after `S`:
//!
//! - the messages it sent;
//! - each MSG or MCAST naming it that is not waiting in its queue: it was
//!   delivered live, or (if the message came before the row) the row
//!   already counts its delivery, which wrote the row;
//! - each ALL by someone else, if it was joined when the row was written
//!   (joining and leaving write the row, so it stayed so since).
//!
//! Rows are exact as of their own `as_of`, or of `meta.clocks_as_of` if
//! that is later (a snapshot wrote every row that was behind), so only the
//! messages after the latter are read: about a second of them.

use super::clocks;
use super::users::Users;
use crate::clock::{Clock, Clocks, UserId};
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};

/// The book worked out at start, and what must be written before the
/// first message after it: the rows that were behind or said "joined"
/// (nobody is joined after a start), as of `last_id`.
pub(super) struct Rebuilt {
    pub book: Clocks,
    /// The id every row is exact as of (`meta.clocks_as_of`).
    pub as_of: i64,
    /// The newest id in use (by a message, or named by a row).
    pub last_id: i64,
    /// Users whose row is behind or says joined.
    pub stale: Vec<UserId>,
}

/// A user's row as read, with what the log after it adds.
struct Account {
    clock: Clock,
    /// The row includes the messages up to this id.
    since: i64,
    joined: bool,
    /// The row's own entry, and the messages sent and received after
    /// `since`: the own entry is their sum.
    own: u64,
    events: u64,
}

/// Reads every user's row and the messages after them (see the module).
pub(super) fn load(db: &Connection, users: &Users) -> rusqlite::Result<Rebuilt> {
    let as_of: i64 = db.query_row("SELECT value FROM meta WHERE key = 'clocks_as_of'", [], |r| r.get(0))?;
    let mut accounts: Vec<Account> = (0..users.all().len())
        .map(|_| Account { clock: Clock::new(), since: as_of, joined: false, own: 0, events: 0 })
        .collect();
    let mut last_id = as_of;
    {
        let mut stmt = db.prepare("SELECT user, counts, as_of, joined FROM clocks")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(id) = users.by_disk_id(r.get(0)?) else { continue };
            let row_as_of: i64 = r.get(2)?;
            last_id = last_id.max(row_as_of);
            let clock = clocks::decode(users, &r.get::<_, Vec<u8>>(1)?);
            let own = clock.get(id);
            accounts[id.0 as usize] = Account { clock, since: row_as_of.max(as_of), joined: r.get(3)?, own, events: 0 };
        }
    }
    let max_message: i64 = db.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| r.get(0))?;
    last_id = last_id.max(max_message);

    // Stored messages after the snapshot not delivered yet.
    let mut waiting: HashSet<(UserId, i64)> = HashSet::new();
    {
        let mut stmt = db.prepare("SELECT folded, message_id FROM pending WHERE message_id > ?1")?;
        let mut rows = stmt.query(params![as_of])?;
        while let Some(r) = rows.next()? {
            if let Some(id) = users.id(&r.get::<_, String>(0)?) {
                waiting.insert((id, r.get(1)?));
            }
        }
    }

    // The messages after the snapshot, oldest first; broadcasts are kept
    // for the joined users, applied below.
    let mut broadcasts: Vec<(i64, UserId, Clock)> = Vec::new();
    let mut touched: HashSet<UserId> = HashSet::new();
    {
        let mut stmt =
            db.prepare("SELECT id, kind, sender, recipients, clock FROM messages WHERE id > ?1 ORDER BY id")?;
        let mut rows = stmt.query(params![as_of])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let Some(sender) = users.id(&r.get::<_, String>(2)?) else { continue };
            let clock = clocks::decode(users, &r.get::<_, Vec<u8>>(4)?);
            let a = &mut accounts[sender.0 as usize];
            if id > a.since {
                a.events += 1;
                touched.insert(sender);
            }
            if kind == "ALL" {
                broadcasts.push((id, sender, clock));
                continue;
            }
            for name in r.get::<_, String>(3)?.split(',') {
                let Some(to) = users.id(name) else { continue };
                let a = &mut accounts[to.0 as usize];
                if id > a.since && !waiting.contains(&(to, id)) {
                    a.clock.merge(&clock);
                    a.events += 1;
                    touched.insert(to);
                }
            }
        }
    }
    receive_broadcasts(&mut accounts, &broadcasts, &mut touched);

    let mut book = Clocks::new();
    let mut stale = Vec::new();
    for (i, a) in accounts.into_iter().enumerate() {
        let id = UserId(i as u32);
        let mut clock = a.clock;
        if a.events > 0 {
            // Set after the merges, which may have raised it, never past this.
            clock.set(id, a.own + a.events);
        }
        if touched.contains(&id) || a.joined {
            stale.push(id);
        }
        book.add(id, clock);
    }
    Ok(Rebuilt { book, as_of, last_id, stale })
}

/// Every broadcast after a joined user's row reached them, but their own:
/// worked from the newest broadcast back, so that each user takes the
/// maximum and count of the broadcasts after their row in one step.
fn receive_broadcasts(accounts: &mut [Account], broadcasts: &[(i64, UserId, Clock)], touched: &mut HashSet<UserId>) {
    let mut joined: Vec<usize> = (0..accounts.len()).filter(|&i| accounts[i].joined).collect();
    joined.sort_unstable_by_key(|&i| std::cmp::Reverse(accounts[i].since));
    let mut newest = broadcasts.iter().rev().peekable();
    let (mut max, mut count) = (Clock::new(), 0u64);
    let mut sent_by: HashMap<UserId, u64> = HashMap::new();
    for i in joined {
        while let Some((_, from, clock)) = newest.next_if(|(id, _, _)| *id > accounts[i].since) {
            max.merge(clock);
            count += 1;
            *sent_by.entry(*from).or_default() += 1;
        }
        let id = UserId(i as u32);
        let received = count - sent_by.get(&id).copied().unwrap_or(0);
        if received > 0 {
            let a = &mut accounts[i];
            a.clock.merge(&max);
            a.events += received;
            touched.insert(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::{Clock, Clocks, UserId};
    use crate::message::{Message, MessageKind};
    use crate::store::tests::temp_db;
    use crate::store::{Commit, Store, UnloggedLimit};
    use std::time::Duration;

    const USERS: usize = 6;
    const LIMIT: UnloggedLimit = UnloggedLimit { messages: 1000, bytes: 1 << 20 };

    fn name(u: usize) -> String {
        format!("u{u}")
    }

    fn entries(book: &mut Clocks, u: usize) -> Vec<(UserId, u64)> {
        book.get(UserId(u as u32)).entries().collect()
    }

    /// The server's use of the store and the book, as the handlers do it.
    struct Sim {
        store: Store,
        book: Clocks,
        online: [bool; USERS],
        /// Snapshots as often as they may start, two rows a commit.
        snapshots: bool,
        /// Every user's clock as of the last commit.
        committed: Vec<Vec<(UserId, u64)>>,
    }

    impl Sim {
        fn open(path: &std::path::Path, snapshots: bool) -> Sim {
            let (mut store, mut book) = Store::open(path).unwrap();
            if snapshots {
                store.clocks.snapshot_often(Duration::ZERO, 2);
            }
            let committed = (0..USERS).map(|u| entries(&mut book, u)).collect();
            Sim { store, book, online: [false; USERS], snapshots, committed }
        }

        fn id(&self, u: usize) -> UserId {
            self.store.id(&name(u)).unwrap()
        }

        fn message(&mut self, from: usize, kind: MessageKind, to: String, clock: Clock) -> Message {
            let text = format!("from {from}");
            Message { id: 0, kind, ts: "t".into(), from: name(from), to, clock, clock_text: String::new(), text }
        }

        fn join(&mut self, u: usize, deliver: usize) {
            let id = self.store.user_joined(&name(u), "t");
            self.book.join(id);
            self.online[u] = true;
            let waiting = self.store.pending_after(&name(u), 0, 100).unwrap();
            let delivered: Vec<&Message> = waiting.iter().take(deliver).collect();
            for m in &delivered {
                self.book.receive(id, &m.clock);
            }
            let ids: Vec<i64> = delivered.iter().map(|m| m.id).collect();
            if !ids.is_empty() {
                self.store.remove_pending(&name(u), &ids);
            }
        }

        fn leave(&mut self, u: usize) {
            self.book.leave(self.id(u));
            self.store.user_left(&name(u), "t");
            self.online[u] = false;
        }

        fn all(&mut self, from: usize) {
            let me = self.id(from);
            let clock = self.book.next_send(me);
            let m = self.message(from, MessageKind::All, "*".into(), clock.clone());
            self.store.log_live_message(&m, &[], LIMIT);
            self.book.broadcast(me, &clock);
        }

        /// MSG (one name) or MCAST: live to those online, stored for the others.
        fn private(&mut self, from: usize, to: &[usize]) {
            let me = self.id(from);
            let clock = self.book.next_send(me);
            let kind = if to.len() == 1 { MessageKind::Msg } else { MessageKind::Mcast };
            let names: Vec<String> = to.iter().map(|&u| name(u)).collect();
            let m = self.message(from, kind, names.join(","), clock.clone());
            let participants: Vec<String> = std::iter::once(name(from)).chain(names.iter().cloned()).collect();
            let offline: Vec<usize> = to.iter().copied().filter(|&u| !self.online[u]).collect();
            if offline.is_empty() {
                self.store.log_live_message(&m, &participants, LIMIT);
            } else {
                let id = self.store.log_message(&m, &participants).unwrap();
                for &u in &offline {
                    self.store.add_pending(&name(u), id).unwrap();
                }
            }
            self.book.sent(me, &clock);
            for &u in to.iter().filter(|&&u| self.online[u]) {
                let id = self.id(u);
                self.book.receive(id, &clock);
            }
        }

        fn commit(&mut self) {
            assert_eq!(self.store.commit(&mut self.book), Commit::Done);
            self.committed = (0..USERS).map(|u| entries(&mut self.book, u)).collect();
        }

        /// Killed: nothing after the last commit survives. Every clock
        /// after the start must be what it was after that commit.
        fn crash_and_check(self, path: &std::path::Path, step: usize) -> Sim {
            let (committed, snapshots) = (self.committed.clone(), self.snapshots);
            drop(self);
            let mut sim = Sim::open(path, snapshots);
            for (u, want) in committed.iter().enumerate() {
                assert_eq!(&entries(&mut sim.book, u), want, "user {u} after a crash at step {step}");
            }
            sim
        }
    }

    /// A long seeded mix of joins (with some stored messages delivered),
    /// leaves, broadcasts, private messages to online and offline users,
    /// commits, snapshots, DELETE BACKUP, clean stops and crashes: after
    /// every start, every clock is what it was after the last commit.
    #[test]
    fn clocks_after_a_crash_are_those_of_the_last_commit() {
        mix("rebuild", true, 0x9e37_79b9_7f4a_7c15);
    }

    /// The same without snapshots: rows written at JOIN, LEAVE and stored
    /// deliveries only, the rebuild reading the whole log.
    #[test]
    fn clocks_after_a_crash_without_snapshots_are_those_of_the_last_commit() {
        mix("rebuild-nosnap", false, 0x2545_f491_4f6c_dd1d);
    }

    fn mix(tag: &str, snapshots: bool, mut seed: u64) {
        let p = temp_db(tag);
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut sim = Sim::open(&p, snapshots);
        for u in 0..USERS {
            sim.join(u, 0);
        }
        sim.commit();
        let (mut crashes, mut rebuilt_rows) = (0, 0);
        for step in 0..6000 {
            let u = next(USERS);
            match next(20) {
                0..=2 if sim.online[u] => sim.leave(u),
                0..=2 => sim.join(u, next(4)),
                3..=6 if sim.online[u] => sim.all(u),
                7..=11 if sim.online[u] => {
                    let to: Vec<usize> = (0..USERS).filter(|_| next(3) == 0).collect();
                    if !to.is_empty() {
                        sim.private(u, &to);
                    }
                }
                12..=15 => sim.commit(),
                16 => {
                    crashes += 1;
                    rebuilt_rows += sim.store.log.last_id() as usize;
                    sim = sim.crash_and_check(&p, step);
                }
                17 if next(10) == 0 => {
                    for v in 0..USERS {
                        if sim.online[v] {
                            sim.leave(v);
                        }
                    }
                    assert_eq!(sim.store.commit_final(&mut sim.book), Commit::Done);
                    sim.committed = (0..USERS).map(|v| entries(&mut sim.book, v)).collect();
                    sim = sim.crash_and_check(&p, step);
                    assert_eq!(sim.store.clocks.as_of(), sim.store.log.last_id(), "a clean stop leaves no log to read");
                }
                18 if next(20) == 0 => {
                    sim.store.delete_log(&mut sim.book).unwrap();
                    sim.commit();
                }
                _ => {}
            }
        }
        assert!(crashes > 100, "the mix crashed {crashes} times");
        assert!(rebuilt_rows > 0);
    }

    /// The rows a rebuild found behind are written at once: a message after
    /// the start is never taken for one a user still joined before received.
    #[test]
    fn a_start_after_a_crash_writes_the_joined_users_as_left() {
        let p = temp_db("rebuild-joined");
        let mut sim = Sim::open(&p, false);
        sim.join(0, 0);
        sim.join(1, 0);
        sim.commit();
        // Killed with both joined, and nothing logged since their rows.
        let mut sim = sim.crash_and_check(&p, 0);
        // 0 broadcasts; 1 is not joined in this run.
        sim.join(0, 0);
        sim.all(0);
        sim.commit();
        let sim = sim.crash_and_check(&p, 1);
        assert_eq!(sim.committed[1], [], "1 got no broadcast");
    }
}
