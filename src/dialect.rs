//! How a connection speaks: the protocol of the listener it came in on.
//!
//! Every server line is rendered for a dialect, so one fan-out can serve a
//! mixed audience: an event goes to each connection in its own dialect,
//! rendered once per dialect however many connections speak it, and a
//! reply goes to its connection in that connection's dialect. chatd's line
//! protocol (`reply.rs` holds its formats) and IRC (`irc/render.rs`).

use crate::message::{Event, Message};
use crate::reply::{self, Reply};
use crate::session::Session;

/// A wire protocol chatd speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// chatd's own line protocol (docs/protocol.md).
    #[default]
    Chatd,
    /// IRC (RFC 1459/2812 as clients practice it; docs/irc.md).
    Irc,
}

impl Dialect {
    /// Every dialect, for caches indexed by dialect.
    pub const ALL: [Dialect; 2] = [Dialect::Chatd, Dialect::Irc];

    /// The dialect's place in [`Dialect::ALL`].
    pub fn index(self) -> usize {
        match self {
            Dialect::Chatd => 0,
            Dialect::Irc => 1,
        }
    }

    /// The dialect a listener serves, by the name its setting uses.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Chatd => "chatd",
            Dialect::Irc => "irc",
        }
    }

    /// What a new connection is sent before anything else, if anything.
    pub fn greeting(self) -> Option<String> {
        match self {
            Dialect::Chatd => Some(reply::hello()),
            // IRC clients speak first (CAP LS, NICK, USER).
            Dialect::Irc => None,
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
            Dialect::Irc => crate::irc::render::event(event),
        }
    }

    /// A reply to one client as this dialect's wire line(s), for a client
    /// without a session yet (SERVER_FULL); see [`Dialect::reply_to`].
    pub fn reply(self, r: &Reply) -> String {
        self.reply_to(r, &Session::default())
    }

    /// A reply to the client whose session this is: IRC's numerics name
    /// the client's nick.
    pub fn reply_to(self, r: &Reply, session: &Session) -> String {
        match self {
            Dialect::Chatd => reply::render(r),
            Dialect::Irc => crate::irc::render::reply(r, session),
        }
    }

    /// What a connection closed by the server for `why` is told last, if
    /// its dialect has a line for it and no reply said it already (chatd's
    /// protocol has none: its users get a NOTICE or an ERR first).
    pub fn farewell(self, why: &crate::conn::Close) -> Option<String> {
        match self {
            Dialect::Chatd => None,
            Dialect::Irc => crate::irc::render::farewell(why),
        }
    }

    /// Bytes per line a connection of this dialect may send: chatd's
    /// `max_line`, IRC's own limit (512 bytes and the IRCv3 tags).
    pub fn max_line(self, configured: usize) -> usize {
        match self {
            Dialect::Chatd => configured,
            Dialect::Irc => crate::irc::MAX_LINE,
        }
    }

    /// Whether a message's line depends on its recipient, so that it is
    /// rendered per recipient ([`Dialect::message_to`]) rather than once.
    pub fn per_recipient(self, m: &Message) -> bool {
        match self {
            Dialect::Chatd => false,
            Dialect::Irc => crate::irc::render::per_recipient(m),
        }
    }

    /// A message as the recipient `to` sees it (see `per_recipient`).
    pub fn message_to(self, m: &Message, marked: bool, to: &str) -> String {
        match self {
            Dialect::Chatd => reply::message(m, marked),
            Dialect::Irc => crate::irc::render::message(m, marked, Some(to)),
        }
    }

    /// A message as its recipient sees it; with `clock`, carrying its
    /// marks: the message's vector clock (chatd's CLOCK ON), or its time
    /// (IRC's server-time).
    pub fn message(self, m: &Message, clock: bool) -> String {
        match self {
            Dialect::Chatd => reply::message(m, clock),
            Dialect::Irc => crate::irc::render::message(m, clock, None),
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
