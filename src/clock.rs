//! Vector clocks (protocol section 4, CLOCK): causal order between users.
//!
//! A clock maps a user to a counter. Sending a message ticks the sender's
//! own entry and the message carries a copy of the sender's clock;
//! delivering a message to a user merges the message's clock into the
//! user's (element-wise maximum) and then ticks the user's own entry.
//!
//! Users are numbered ([`UserId`], given out by `store.rs`), and a clock is
//! a short vector of (user, counter) sorted by user, so the merge done for
//! every delivery is one linear pass over integers. Names appear only when
//! a clock is written out (`store.rs` formats `alice=3,bob=1`). Pure.

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
    pub fn entries(&self) -> impl Iterator<Item = (UserId, u64)> + '_ {
        self.ids.iter().copied().zip(self.counts.iter().copied())
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
}
