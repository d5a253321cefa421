//! The token space of the one `mio::Poll`: every source of readiness has a
//! token, decoded once into a [`Source`] so the loop matches on names, not
//! on ranges of numbers.
//!
//! Client connections are slab keys from 0; admin-socket connections are
//! slab keys from `ADMIN_BASE`; HTTP connections not yet upgraded (or
//! answered) are slab keys from `HTTP_BASE`; listeners and the fixed sources sit at the
//! top of the range.

use mio::Token;

const ADMIN_BASE: usize = usize::MAX / 2;
const HTTP_BASE: usize = usize::MAX / 4 * 3;
const LISTENER_BASE: usize = usize::MAX - 64;
/// Most listeners (their tokens sit between `LISTENER_BASE` and the fixed ones).
pub const MAX_LISTENERS: usize = 60;
pub const ADMIN_LISTENER: Token = Token(usize::MAX - 2);
pub const SIGNALS: Token = Token(usize::MAX - 1);
/// The password worker and the stdin reader wake the loop with this token.
pub const WAKER: Token = Token(usize::MAX);

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The password worker or the stdin reader has results.
    Waker,
    /// SIGTERM or SIGINT arrived on the signalfd.
    Signals,
    /// The admin socket has connections to accept.
    AdminListener,
    /// Listener number `i` has connections to accept.
    Listener(usize),
    /// An admin-socket connection (its slab key).
    Admin(usize),
    /// An HTTP connection reading its request head or writing its answer.
    Http(usize),
    /// A client connection (its slab key in `State::conns`).
    Client(usize),
}

impl Source {
    /// The source a token stands for.
    pub fn of(token: Token) -> Source {
        match token {
            WAKER => Source::Waker,
            SIGNALS => Source::Signals,
            ADMIN_LISTENER => Source::AdminListener,
            Token(t) if t >= LISTENER_BASE => Source::Listener(t - LISTENER_BASE),
            Token(t) if t >= HTTP_BASE => Source::Http(t - HTTP_BASE),
            Token(t) if t >= ADMIN_BASE => Source::Admin(t - ADMIN_BASE),
            Token(t) => Source::Client(t),
        }
    }

    /// The token that stands for this source.
    pub fn token(self) -> Token {
        match self {
            Source::Waker => WAKER,
            Source::Signals => SIGNALS,
            Source::AdminListener => ADMIN_LISTENER,
            Source::Listener(i) => Token(LISTENER_BASE + i),
            Source::Admin(key) => Token(ADMIN_BASE + key),
            Source::Http(key) => Token(HTTP_BASE + key),
            Source::Client(key) => Token(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_round_trips_through_its_token() {
        for s in [
            Source::Waker,
            Source::Signals,
            Source::AdminListener,
            Source::Listener(0),
            Source::Listener(MAX_LISTENERS - 1),
            Source::Admin(0),
            Source::Admin(7),
            Source::Http(0),
            Source::Http(99),
            Source::Client(0),
            Source::Client(12345),
        ] {
            assert_eq!(Source::of(s.token()), s);
        }
    }
}
