//! The domain: what a message is and what users are told happens. No SQL
//! (`store/` reads and writes these), no wire text (each connection's
//! [`crate::dialect::Dialect`] renders them).

use crate::clock::Clock;

/// The kind of a logged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    All,
    Msg,
    Mcast,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::All => "ALL",
            MessageKind::Msg => "MSG",
            MessageKind::Mcast => "MCAST",
        }
    }

    /// The kind as stored (`ALL`, `MSG`, `MCAST`); anything else reads as ALL.
    pub fn parse(s: &str) -> MessageKind {
        match s {
            "MSG" => MessageKind::Msg,
            "MCAST" => MessageKind::Mcast,
            _ => MessageKind::All,
        }
    }
}

/// A message as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub kind: MessageKind,
    pub ts: String,
    /// Sender's display name.
    pub from: String,
    /// `*` for a broadcast, the recipient for MSG, the comma list for MCAST.
    pub to: String,
    /// The sender's clock when it was sent.
    pub clock: Clock,
    /// `clock` written out (`alice=3,bob=1`) for CLOCK ON lines: filled in
    /// when read back from the store; a live message's is written out by
    /// `state::Outgoing`, only if a recipient has CLOCK ON.
    pub clock_text: String,
    pub text: String,
}

/// Something users are told about as it happens. Handlers and the console
/// produce events; `state.rs` fans them out, rendered once per dialect in
/// the audience.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A user joined.
    Joined { ts: &'a str, name: &'a str },
    /// A user left, and why (empty: no reason given).
    Left { ts: &'a str, name: &'a str, reason: &'a str },
    /// The operator, or the server, has something to say.
    Notice { ts: &'a str, text: &'a str },
}
