//! How a connection speaks: the protocol of the listener it came in on.
//!
//! Every server line is rendered for a dialect, so one fan-out can serve a
//! mixed audience: an event goes to each connection in its own dialect,
//! rendered once per dialect however many connections speak it, and a
//! reply goes to its connection in that connection's dialect. One variant
//! today, chatd's line protocol (`reply.rs` holds its formats); the IRC
//! listener adds `Irc`.

use crate::message::{Event, Message};
use crate::reply::{self, Reply};

/// A wire protocol chatd speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// chatd's own line protocol (docs/protocol.md).
    #[default]
    Chatd,
}

impl Dialect {
    /// Every dialect, for caches indexed by dialect.
    pub const ALL: [Dialect; 1] = [Dialect::Chatd];

    /// The dialect's place in [`Dialect::ALL`].
    pub fn index(self) -> usize {
        match self {
            Dialect::Chatd => 0,
        }
    }

    /// The dialect a listener serves, by the name its setting uses.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Chatd => "chatd",
        }
    }

    /// What a new connection is sent before anything else, if anything.
    pub fn greeting(self) -> Option<String> {
        match self {
            Dialect::Chatd => Some(reply::hello()),
        }
    }

    /// An event as this dialect's wire line.
    pub fn event(self, event: &Event) -> String {
        match self {
            Dialect::Chatd => match *event {
                Event::Joined { ts, name } => reply::joined(ts, name),
                Event::Left { ts, name, reason } => reply::left(ts, name, reason),
                Event::Notice { ts, text } => reply::notice(ts, text),
            },
        }
    }

    /// A reply to one client as this dialect's wire line(s).
    pub fn reply(self, r: &Reply) -> String {
        match self {
            Dialect::Chatd => reply::render(r),
        }
    }

    /// A message as its recipient sees it; with `clock`, carrying the
    /// message's vector clock (CLOCK ON).
    pub fn message(self, m: &Message, clock: bool) -> String {
        match self {
            Dialect::Chatd => reply::message(m, clock),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_render_as_the_chatd_protocol_says() {
        let d = Dialect::Chatd;
        let ts = "2026-11-21T12:01:02Z";
        assert_eq!(d.event(&Event::Joined { ts, name: "bob" }), "JOINED 2026-11-21T12:01:02Z bob\r\n");
        assert_eq!(
            d.event(&Event::Left { ts, name: "bob", reason: "kicked" }),
            "LEFT 2026-11-21T12:01:02Z bob kicked\r\n"
        );
        assert_eq!(d.event(&Event::Left { ts, name: "bob", reason: "" }), "LEFT 2026-11-21T12:01:02Z bob\r\n");
        assert_eq!(d.event(&Event::Notice { ts, text: "hi" }), "NOTICE 2026-11-21T12:01:02Z hi\r\n");
        assert!(d.greeting().is_some_and(|g| g.starts_with("HELLO chatd ")));
        for (i, d) in Dialect::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
    }
}
