//! Vector clocks (protocol section 4, CLOCK): causal order between users.
//!
//! A clock maps a user (folded name) to a counter. Sending a message ticks
//! the sender's own entry and the message carries a copy of the sender's
//! clock; delivering a message to a user merges the message's clock into the
//! user's (element-wise maximum) and then ticks the user's own entry.
//! Pure: `store.rs` persists clocks, handlers apply these rules.

use std::collections::BTreeMap;
use std::fmt;

/// A vector clock, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock(BTreeMap<String, u64>);

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Increments `who`'s own entry (a send, or the receive after a merge).
    pub fn tick(&mut self, who: &str) {
        match self.0.get_mut(who) {
            Some(n) => *n += 1,
            None => {
                self.0.insert(who.to_string(), 1);
            }
        }
    }

    /// Element-wise maximum with `other`.
    pub fn merge(&mut self, other: &Clock) {
        for (name, &n) in &other.0 {
            match self.0.get_mut(name) {
                Some(mine) => *mine = (*mine).max(n),
                None => {
                    self.0.insert(name.clone(), n);
                }
            }
        }
    }

    /// The clock rule for a delivery to `who`: merge, then tick.
    pub fn receive(&mut self, who: &str, message: &Clock) {
        self.merge(message);
        self.tick(who);
    }

    /// `who`'s entry (0 when absent).
    pub fn get(&self, who: &str) -> u64 {
        self.0.get(who).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the wire/storage form `alice=3,bob=1` (`-` or empty: empty).
    /// Malformed entries are skipped: a damaged row must not crash the server.
    pub fn parse(s: &str) -> Clock {
        let mut c = Clock::new();
        for item in s.split(',') {
            if let Some((name, n)) = item.split_once('=') {
                if let Ok(n) = n.parse() {
                    if !name.is_empty() {
                        c.0.insert(name.to_string(), n);
                    }
                }
            }
        }
        c
    }
}

/// `alice=3,bob=1`, sorted by name; `-` when empty.
impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("-");
        }
        for (i, (name, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}={n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_clock_prints_a_dash_and_parses_back() {
        assert_eq!(Clock::new().to_string(), "-");
        assert_eq!(Clock::parse("-"), Clock::new());
        assert_eq!(Clock::parse(""), Clock::new());
    }

    #[test]
    fn round_trip_is_sorted_by_name() {
        let c = Clock::parse("bob=1,alice=3");
        assert_eq!(c.to_string(), "alice=3,bob=1");
        assert_eq!(Clock::parse(&c.to_string()), c);
    }

    #[test]
    fn malformed_entries_are_skipped() {
        assert_eq!(Clock::parse("a=1,b=x,=3,c").to_string(), "a=1");
    }

    #[test]
    fn three_user_exchange_by_hand() {
        let (mut a, mut b, mut c) = (Clock::new(), Clock::new(), Clock::new());
        // alice sends to bob: alice {a1}; bob receives: {a1,b1}
        a.tick("alice");
        let m1 = a.clone();
        b.receive("bob", &m1);
        assert_eq!(b.to_string(), "alice=1,bob=1");
        // bob sends to carol: bob {a1,b2}; carol receives: {a1,b2,c1}
        b.tick("bob");
        let m2 = b.clone();
        c.receive("carol", &m2);
        assert_eq!(c.to_string(), "alice=1,bob=2,carol=1");
        // carol broadcasts: carol {a1,b2,c2}; alice {a2,b2,c2}; bob {a1,b3,c2}
        c.tick("carol");
        let m3 = c.clone();
        a.receive("alice", &m3);
        b.receive("bob", &m3);
        assert_eq!(a.to_string(), "alice=2,bob=2,carol=2");
        assert_eq!(b.to_string(), "alice=1,bob=3,carol=2");
        assert_eq!(m3.get("carol"), 2);
    }
}
