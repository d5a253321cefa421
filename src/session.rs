//! A connection's protocol state, beside its bytes (`conn.rs`): who it is
//! once joined, what its next lines wait for, what it asked for (CLOCK
//! ON), and the offline delivery it is being fed. Session start (JOIN) and
//! end (LEFT, last seen) are in `handlers/session.rs`.

use crate::clock::UserId;
use crate::delivery::Delivery;

/// What a connection is in the protocol.
#[derive(Debug, Default)]
pub struct Session {
    /// Display name once joined.
    pub name: Option<String>,
    /// The joined user's number in the store.
    pub user: Option<UserId>,
    /// When it joined (protocol timestamp), for ACTIVE USERS.
    pub joined_at: Option<std::time::SystemTime>,
    /// Lines are held back while this is not `Wait::No`.
    pub wait: Wait,
    /// Failed password attempts on this connection.
    pub auth_failures: u32,
    /// CLOCK ON: events carry the message's vector clock.
    pub clock_on: bool,
    /// Offline delivery in progress (`delivery.rs`): boxed, since most
    /// connections have none.
    pub delivery: Option<Box<Delivery>>,
    /// An IRC connection's registration and capabilities (`irc/`): boxed,
    /// since line-protocol connections have none.
    pub irc: Option<Box<crate::irc::IrcSession>>,
}

impl Session {
    /// Whether messages to this connection carry their marks: the vector
    /// clock (chatd's CLOCK ON) or the `@time=` tag (IRC's server-time).
    pub fn marked(&self) -> bool {
        self.clock_on || self.irc.as_ref().is_some_and(|i| i.has("server-time"))
    }
}

/// Why a connection's later lines are held back, in order, for now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Wait {
    /// Nothing: lines are handled as they come.
    #[default]
    No,
    /// A password is being hashed or checked off the loop thread.
    Auth(AuthStep),
    /// A reply that promises durability waits for this pass's commit.
    Commit,
}

/// What the connection will do with the password worker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// JOIN of this protected name.
    Join(String),
    /// REGISTER of a new password.
    Register,
    /// IRC's SASL PLAIN for this name (checked before registration).
    Sasl(String),
}
