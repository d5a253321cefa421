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

/// A user's number, stable for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u32);

/// A vector clock: (user, counter), sorted by user, counters above zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock(Vec<(UserId, u64)>);

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Increments `who`'s own entry (a send, or the receive after a merge).
    pub fn tick(&mut self, who: UserId) {
        match self.0.binary_search_by_key(&who, |e| e.0) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (who, 1)),
        }
    }

    /// Element-wise maximum with `other`.
    pub fn merge(&mut self, other: &Clock) {
        // Commonest case among people who talk to each other: the same
        // users on both sides. One tight pass, no searching.
        if self.0.len() == other.0.len() {
            let mut same = true;
            for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
                if mine.0 != theirs.0 {
                    same = false;
                    break;
                }
                mine.1 = mine.1.max(theirs.1);
            }
            if same {
                return;
            }
        }
        // Otherwise raise counters in place, and rebuild only if `other`
        // names a user this clock lacks.
        let mut missing = false;
        let mut i = 0;
        for &(who, n) in &other.0 {
            while i < self.0.len() && self.0[i].0 < who {
                i += 1;
            }
            match self.0.get_mut(i) {
                Some(e) if e.0 == who => e.1 = e.1.max(n),
                _ => missing = true,
            }
        }
        if missing {
            let (a, b) = (&self.0, &other.0);
            let mut merged = Vec::with_capacity(a.len() + b.len());
            let (mut i, mut j) = (0, 0);
            while i < a.len() || j < b.len() {
                if j == b.len() || (i < a.len() && a[i].0 < b[j].0) {
                    merged.push(a[i]);
                    i += 1;
                } else if i == a.len() || b[j].0 < a[i].0 {
                    merged.push(b[j]);
                    j += 1;
                } else {
                    merged.push((a[i].0, a[i].1.max(b[j].1)));
                    i += 1;
                    j += 1;
                }
            }
            self.0 = merged;
        }
    }

    /// The clock rule for a delivery to `who`: merge, then tick.
    pub fn receive(&mut self, who: UserId, message: &Clock) {
        self.merge(message);
        self.tick(who);
    }

    /// `who`'s entry (0 when absent).
    pub fn get(&self, who: UserId) -> u64 {
        self.0.binary_search_by_key(&who, |e| e.0).map(|i| self.0[i].1).unwrap_or(0)
    }

    /// Sets `who`'s entry (used when reading a clock back from text).
    pub fn set(&mut self, who: UserId, n: u64) {
        match self.0.binary_search_by_key(&who, |e| e.0) {
            Ok(i) => self.0[i].1 = n,
            Err(i) => self.0.insert(i, (who, n)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, sorted by user number.
    pub fn entries(&self) -> &[(UserId, u64)] {
        &self.0
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
        assert_eq!(c.entries(), &[(A, 1), (B, 2)]);
    }

    #[test]
    fn merge_is_elementwise_max_and_keeps_order() {
        let mut x = clock(&[(A, 3), (C, 1)]);
        x.merge(&clock(&[(A, 1), (B, 4), (C, 2)]));
        assert_eq!(x.entries(), &[(A, 3), (B, 4), (C, 2)]);
        let mut y = clock(&[(B, 5)]);
        y.merge(&clock(&[(A, 1)]));
        assert_eq!(y.entries(), &[(A, 1), (B, 5)]);
        let mut z = clock(&[(A, 2), (B, 2)]);
        z.merge(&clock(&[(B, 7)]));
        assert_eq!(z.entries(), &[(A, 2), (B, 7)]);
    }

    #[test]
    fn three_user_exchange_by_hand() {
        let (mut a, mut b, mut c) = (Clock::new(), Clock::new(), Clock::new());
        // a sends to b: a {a1}; b receives: {a1,b1}
        a.tick(A);
        let m1 = a.clone();
        b.receive(B, &m1);
        assert_eq!(b.entries(), &[(A, 1), (B, 1)]);
        // b sends to c: b {a1,b2}; c receives: {a1,b2,c1}
        b.tick(B);
        let m2 = b.clone();
        c.receive(C, &m2);
        assert_eq!(c.entries(), &[(A, 1), (B, 2), (C, 1)]);
        // c broadcasts: c {a1,b2,c2}; a {a2,b2,c2}; b {a1,b3,c2}
        c.tick(C);
        let m3 = c.clone();
        a.receive(A, &m3);
        b.receive(B, &m3);
        assert_eq!(a.entries(), &[(A, 2), (B, 2), (C, 2)]);
        assert_eq!(b.entries(), &[(A, 1), (B, 3), (C, 2)]);
        assert_eq!(m3.get(C), 2);
        assert_eq!(m3.get(UserId(9)), 0);
    }
}
