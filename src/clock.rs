//! Vector clocks (protocol section 4, CLOCK): causal order between users.
//!
//! A clock maps a user to a counter. Sending a message ticks the sender's
//! own entry and the message carries a copy of the sender's clock;
//! delivering a message to a user merges the message's clock into the
//! user's (element-wise maximum) and then ticks the user's own entry.
//!
//! Users are numbered ([`UserId`], given out by the store), and a clock is
//! a short vector of (user, counter) sorted by user, so the merge done for
//! every delivery is one linear pass over integers. Names appear only when
//! a clock is written out (`store/clocks.rs` formats `alice=3,bob=1`).
//!
//! The book of every user's clock, [`Clocks`], belongs to presence
//! (`state.rs`), which joins and leaves users in it as they join and leave;
//! the store reads it from disk at start and saves the clocks that changed
//! with each commit. Pure.

use std::rc::Rc;

/// A user's number, stable for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u32);

/// A vector clock: users sorted by number, and their counters.
///
/// The user list sits behind an `Rc` so that clocks naming the same users
/// (everyone who talks in one room ends up so) share it: the merge done for
/// every delivery then sees the same pointer and is one element-wise
/// maximum over two arrays of counters, which the compiler vectorises.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ids: Rc<Vec<UserId>>,
    counts: Vec<u64>,
}

impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        self.ids == other.ids && self.counts == other.counts
    }
}

impl Eq for Clock {}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Increments `who`'s own entry (a send, or the receive after a merge).
    pub fn tick(&mut self, who: UserId) {
        match self.ids.binary_search(&who) {
            Ok(i) => self.counts[i] += 1,
            Err(i) => {
                Rc::make_mut(&mut self.ids).insert(i, who);
                self.counts.insert(i, 1);
            }
        }
    }

    /// Element-wise maximum with `other`.
    pub fn merge(&mut self, other: &Clock) {
        if Rc::ptr_eq(&self.ids, &other.ids) || self.ids == other.ids {
            self.ids = Rc::clone(&other.ids); // share from now on
            for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
                *mine = (*mine).max(*theirs);
            }
            return;
        }
        let (a, b) = (&self.ids, &other.ids);
        let mut ids = Vec::with_capacity(a.len() + b.len());
        let mut counts = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if j == b.len() || (i < a.len() && a[i] < b[j]) {
                ids.push(a[i]);
                counts.push(self.counts[i]);
                i += 1;
            } else if i == a.len() || b[j] < a[i] {
                ids.push(b[j]);
                counts.push(other.counts[j]);
                j += 1;
            } else {
                ids.push(a[i]);
                counts.push(self.counts[i].max(other.counts[j]));
                i += 1;
                j += 1;
            }
        }
        // If the result names exactly `other`'s users, share its list.
        self.ids = if ids == **b { Rc::clone(b) } else { Rc::new(ids) };
        self.counts = counts;
    }

    /// The clock rule for a delivery to `who`: merge, then tick.
    pub fn receive(&mut self, who: UserId, message: &Clock) {
        self.merge(message);
        self.tick(who);
    }

    /// `who`'s entry (0 when absent).
    pub fn get(&self, who: UserId) -> u64 {
        self.ids.binary_search(&who).map(|i| self.counts[i]).unwrap_or(0)
    }

    /// Sets `who`'s entry (used when reading a clock back from text).
    pub fn set(&mut self, who: UserId, n: u64) {
        match self.ids.binary_search(&who) {
            Ok(i) => self.counts[i] = n,
            Err(i) => {
                Rc::make_mut(&mut self.ids).insert(i, who);
                self.counts.insert(i, n);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The entries, sorted by user number.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (UserId, u64)> + '_ {
        self.ids.iter().copied().zip(self.counts.iter().copied())
    }
}

/// Every known user's clock, with broadcasts applied lazily.
///
/// An ALL reaches every joined user, and would merge the message's clock
/// into each of them: with a hundred users talking, a hundred merges of a
/// hundred entries for every message. The book keeps instead, for the
/// joined users, an accumulator: the element-wise maximum of every
/// broadcast since they joined. A joined user's clock is then the maximum
/// of its own `base` and its accumulator, with its own entry kept apart
/// (`own`, one increment per delivery). The clock is worked out
/// ([`Clocks::get`]) when it is read, for a private message, a LEAVE, and
/// once a pass for every user whose clock moved, so it can be saved.
///
/// Users who joined while the accumulator held broadcasts they never got
/// start a new one (a cohort); every broadcast goes into all the cohorts.
/// [`Clocks::settle`] folds the accumulators into the users once a pass,
/// after which one empty cohort is left. The result is the same clock,
/// entry for entry, as merging at every delivery (see the tests).
///
/// `settle` also names every user whose clock changed since the last one,
/// so the store can save them: the book marks a send, a receive and a
/// leave as it applies them (a flag on the user, no hashing), and a
/// broadcast's receivers when it folds the accumulators.
#[derive(Debug, Default)]
pub struct Clocks {
    users: Vec<Entry>,
    /// Accumulators of the joined users' cohorts; the last is the one new
    /// joiners enter while it is empty.
    cohorts: Vec<Clock>,
    /// Joined users (position in this list: `Entry::slot`).
    joined: Vec<UserId>,
    /// Users whose clock a send, a receive or a leave changed since the
    /// last settle (those with `Entry::changed` set).
    changed: Vec<UserId>,
    /// A broadcast went out since the last settle or `take_changes`.
    unreported_broadcast: bool,
}

/// Cohorts kept before a join folds them (see [`Clocks::join`]): every
/// broadcast merges into each.
const MAX_COHORTS: usize = 8;

#[derive(Debug, Default)]
struct Entry {
    /// The clock up to the last time it was worked out (own entry included).
    base: Clock,
    /// The user's own entry, always current.
    own: u64,
    /// Joined: index of the cohort and place in `Clocks::joined`.
    cohort: Option<usize>,
    slot: usize,
    /// Listed in `Clocks::changed`.
    changed: bool,
}

impl Clocks {
    pub fn new() -> Clocks {
        Clocks { cohorts: vec![Clock::new()], ..Clocks::default() }
    }

    /// Adds a user (the next number) with the clock read from disk.
    pub fn add(&mut self, id: UserId, clock: Clock) {
        let i = id.0 as usize;
        if i >= self.users.len() {
            self.users.resize_with(i + 1, Entry::default);
        }
        self.users[i] = Entry { own: clock.get(id), base: clock, cohort: None, slot: 0, changed: false };
    }

    /// Lists a user whose clock changed, for the next settle.
    fn mark(&mut self, id: UserId) {
        let e = &mut self.users[id.0 as usize];
        if !e.changed {
            e.changed = true;
            self.changed.push(id);
        }
    }

    /// A user's clock as it is now.
    pub fn get(&mut self, id: UserId) -> &Clock {
        self.work_out(id);
        &self.users[id.0 as usize].base
    }

    /// Folds the user's accumulator and own entry into its base. A user
    /// the book does not know yet (new since start) has an empty clock.
    fn work_out(&mut self, id: UserId) {
        let i = id.0 as usize;
        if i >= self.users.len() {
            self.users.resize_with(i + 1, Entry::default);
        }
        let e = &mut self.users[i];
        if let Some(c) = e.cohort {
            if !self.cohorts[c].is_empty() {
                e.base.merge(&self.cohorts[c]);
            }
        }
        let seen = e.base.get(id);
        e.own = e.own.max(seen);
        if seen != e.own {
            e.base.set(id, e.own);
        }
    }

    /// The user joined: from now on every broadcast reaches them. A user
    /// the book does not know yet (new since start) has an empty clock.
    pub fn join(&mut self, id: UserId) {
        let i = id.0 as usize;
        if i >= self.users.len() {
            self.users.resize_with(i + 1, Entry::default);
        }
        if self.users[i].cohort.is_some() {
            return;
        }
        // The newest accumulator holds broadcasts this user never got.
        if self.cohorts.last().is_none_or(|c| !c.is_empty()) {
            if self.cohorts.len() >= MAX_COHORTS {
                self.fold();
            } else {
                self.cohorts.push(Clock::new());
            }
        }
        let e = &mut self.users[id.0 as usize];
        e.cohort = Some(self.cohorts.len() - 1);
        e.slot = self.joined.len();
        self.joined.push(id);
    }

    /// The user is joined: broadcasts reach them.
    pub fn is_joined(&self, id: UserId) -> bool {
        self.users.get(id.0 as usize).is_some_and(|e| e.cohort.is_some())
    }

    /// The user left: their clock is worked out (and saved with the next
    /// commit) and no broadcast reaches them.
    pub fn leave(&mut self, id: UserId) {
        self.work_out(id);
        self.mark(id);
        let e = &mut self.users[id.0 as usize];
        if e.cohort.take().is_none() {
            return;
        }
        let slot = e.slot;
        self.joined.swap_remove(slot);
        if let Some(&moved) = self.joined.get(slot) {
            self.users[moved.0 as usize].slot = slot;
        }
    }

    /// The clock a message from `id` would carry: theirs with their own
    /// entry ticked. Nothing changes until [`Clocks::sent`].
    pub fn next_send(&mut self, id: UserId) -> Clock {
        let mut clock = self.get(id).clone();
        clock.tick(id);
        clock
    }

    /// `id` sent a message carrying `clock` (from [`Clocks::next_send`]).
    pub fn sent(&mut self, id: UserId, clock: &Clock) {
        let e = &mut self.users[id.0 as usize];
        e.own = clock.get(id);
        e.base = clock.clone();
        self.mark(id);
    }

    /// A delivery to one user (MSG, MCAST, a stored message): merge, then tick.
    pub fn receive(&mut self, id: UserId, message: &Clock) {
        self.work_out(id);
        let e = &mut self.users[id.0 as usize];
        e.base.merge(message);
        e.own = e.own.max(e.base.get(id)) + 1;
        e.base.set(id, e.own);
        self.mark(id);
    }

    /// `id` sent `clock` to every joined user (ALL): the sender's clock is
    /// the message's, each receiver ticks its own entry, and the merges
    /// wait in the accumulators.
    pub fn broadcast(&mut self, id: UserId, clock: &Clock) {
        self.sent(id, clock);
        self.unreported_broadcast = true;
        for acc in &mut self.cohorts {
            acc.merge(clock);
        }
        for &r in &self.joined {
            if r != id {
                self.users[r.0 as usize].own += 1;
            }
        }
    }

    /// Folds the accumulators into the joined users' clocks and calls
    /// `moved` for every user whose clock changed since the last settle: a
    /// broadcast reached them, or they sent, received or left (they must be
    /// saved). A user may be named twice. One empty cohort is left, for
    /// everyone joined.
    pub fn settle(&mut self, mut moved: impl FnMut(UserId)) {
        if self.broadcasts_pending() {
            for &id in &self.joined {
                let c = self.users[id.0 as usize].cohort.unwrap_or(0);
                if !self.cohorts[c].is_empty() {
                    moved(id);
                }
            }
            self.fold();
        }
        self.unreported_broadcast = false;
        for id in self.changed.drain(..) {
            self.users[id.0 as usize].changed = false;
            moved(id);
        }
    }

    /// Folds the accumulators into the joined users' clocks, leaving one
    /// empty cohort for everyone joined.
    fn fold(&mut self) {
        for i in 0..self.joined.len() {
            let id = self.joined[i];
            self.work_out(id);
            self.users[id.0 as usize].cohort = Some(0);
        }
        self.cohorts.truncate(1);
        self.cohorts[0] = Clock::new();
    }

    /// Broadcasts wait in the accumulators.
    fn broadcasts_pending(&self) -> bool {
        self.cohorts.len() > 1 || !self.cohorts[0].is_empty()
    }

    /// Calls `moved` for every user who sent, received or left since the
    /// last call, and returns whether a broadcast went out meanwhile (then
    /// every joined user's clock moved). Unlike [`Clocks::settle`] this
    /// folds nothing: the store asks it every pass, and a pass with one
    /// broadcast should not cost a merge per joined user.
    pub fn take_changes(&mut self, mut moved: impl FnMut(UserId)) -> bool {
        for id in self.changed.drain(..) {
            self.users[id.0 as usize].changed = false;
            moved(id);
        }
        std::mem::take(&mut self.unreported_broadcast)
    }

    /// The joined users.
    pub fn joined(&self) -> &[UserId] {
        &self.joined
    }

    /// True when clocks changed since [`Clocks::take_changes`] (or
    /// [`Clocks::settle`]) was last called.
    pub fn unsettled(&self) -> bool {
        self.unreported_broadcast || !self.changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UserId = UserId(0);
    const B: UserId = UserId(1);
    const C: UserId = UserId(2);

    fn clock(entries: &[(UserId, u64)]) -> Clock {
        let mut c = Clock::new();
        for &(who, n) in entries {
            c.set(who, n);
        }
        c
    }

    #[test]
    fn tick_adds_or_increments() {
        let mut c = Clock::new();
        c.tick(B);
        c.tick(A);
        c.tick(B);
        assert_eq!(c.entries().collect::<Vec<_>>(), [(A, 1), (B, 2)]);
    }

    #[test]
    fn merge_is_elementwise_max_and_keeps_order() {
        let mut x = clock(&[(A, 3), (C, 1)]);
        x.merge(&clock(&[(A, 1), (B, 4), (C, 2)]));
        assert_eq!(x.entries().collect::<Vec<_>>(), [(A, 3), (B, 4), (C, 2)]);
        let mut y = clock(&[(B, 5)]);
        y.merge(&clock(&[(A, 1)]));
        assert_eq!(y.entries().collect::<Vec<_>>(), [(A, 1), (B, 5)]);
        let mut z = clock(&[(A, 2), (B, 2)]);
        z.merge(&clock(&[(B, 7)]));
        assert_eq!(z.entries().collect::<Vec<_>>(), [(A, 2), (B, 7)]);
    }

    #[test]
    fn three_user_exchange_by_hand() {
        let (mut a, mut b, mut c) = (Clock::new(), Clock::new(), Clock::new());
        // a sends to b: a {a1}; b receives: {a1,b1}
        a.tick(A);
        let m1 = a.clone();
        b.receive(B, &m1);
        assert_eq!(b.entries().collect::<Vec<_>>(), [(A, 1), (B, 1)]);
        // b sends to c: b {a1,b2}; c receives: {a1,b2,c1}
        b.tick(B);
        let m2 = b.clone();
        c.receive(C, &m2);
        assert_eq!(c.entries().collect::<Vec<_>>(), [(A, 1), (B, 2), (C, 1)]);
        // c broadcasts: c {a1,b2,c2}; a {a2,b2,c2}; b {a1,b3,c2}
        c.tick(C);
        let m3 = c.clone();
        a.receive(A, &m3);
        b.receive(B, &m3);
        assert_eq!(a.entries().collect::<Vec<_>>(), [(A, 2), (B, 2), (C, 2)]);
        assert_eq!(b.entries().collect::<Vec<_>>(), [(A, 1), (B, 3), (C, 2)]);
        assert_eq!(m3.get(C), 2);
        assert_eq!(m3.get(UserId(9)), 0);
    }

    /// The book against the plain rule (merge at every delivery), over a
    /// long seeded mix of joins, leaves, broadcasts, private messages and
    /// settles: every clock must match, entry for entry, at every step.
    #[test]
    fn the_book_matches_merging_at_every_delivery() {
        const USERS: usize = 12;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut book = Clocks::new();
        let mut plain = vec![Clock::new(); USERS];
        let mut online = [false; USERS];
        for i in 0..USERS {
            book.add(UserId(i as u32), Clock::new());
        }
        for step in 0..20_000 {
            let u = next(USERS);
            let id = UserId(u as u32);
            match next(10) {
                0 | 1 => {
                    online[u] = !online[u];
                    if online[u] {
                        book.join(id);
                    } else {
                        book.leave(id);
                    }
                }
                2..=5 if online[u] => {
                    let m = book.next_send(id);
                    plain[u].tick(id);
                    assert_eq!(m, plain[u], "step {step}: message clock");
                    book.broadcast(id, &m);
                    for (r, on) in online.iter().enumerate() {
                        if *on && r != u {
                            plain[r].receive(UserId(r as u32), &m);
                        }
                    }
                }
                6 | 7 if online[u] => {
                    let to = next(USERS);
                    let m = book.next_send(id);
                    plain[u].tick(id);
                    book.sent(id, &m);
                    if to != u {
                        book.receive(UserId(to as u32), &m);
                        plain[to].receive(UserId(to as u32), &m);
                    }
                }
                8 => book.settle(|_| {}),
                _ => {}
            }
            let v = next(USERS);
            assert_eq!(*book.get(UserId(v as u32)), plain[v], "step {step}: clock of user {v}");
        }
        book.settle(|_| {});
        assert!(!book.unsettled());
        for (u, clock) in plain.iter().enumerate() {
            assert_eq!(book.get(UserId(u as u32)), clock);
        }
    }

    #[test]
    fn settle_names_every_user_a_broadcast_reached() {
        let mut book = Clocks::new();
        for i in 0..4 {
            book.add(UserId(i), Clock::new());
        }
        book.join(A);
        book.join(B);
        let m = book.next_send(A);
        book.broadcast(A, &m);
        book.join(C); // after the broadcast: not reached
        let mut moved = Vec::new();
        book.settle(|id| moved.push(id));
        moved.sort();
        moved.dedup();
        assert_eq!(moved, [A, B]);
        assert_eq!(book.get(C).entries().collect::<Vec<_>>(), []);
        assert_eq!(book.get(B).entries().collect::<Vec<_>>(), [(A, 1), (B, 1)]);
    }

    #[test]
    fn settle_names_sends_receives_and_leaves_once_each() {
        let mut book = Clocks::new();
        for id in [A, B, C] {
            book.join(id); // new to the book: an empty clock
        }
        assert!(!book.unsettled(), "joining changes no clock");
        let m = book.next_send(A);
        book.sent(A, &m);
        book.receive(B, &m);
        book.receive(B, &m);
        book.leave(C);
        assert!(book.unsettled());
        let mut moved = Vec::new();
        book.settle(|id| moved.push(id));
        moved.sort();
        assert_eq!(moved, [A, B, C]);
        assert!(!book.unsettled());
        book.settle(|id| panic!("{id:?} named again"));
    }
}
