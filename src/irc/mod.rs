//! The IRC dialect: what an IRC client sends (`parse.rs`) and how chatd's
//! replies, events and messages look to it (`render.rs`). The commands
//! themselves are in `handlers/irc.rs`, which maps them onto chatd's
//! handlers, so an IRC user and an nc user are in one conversation over
//! the same users, store and rules (docs/irc.md).
//!
//! chatd has one room; on IRC it is one channel ([`Settings::channel`],
//! `#chatd` by default) that every user is in. `PRIVMSG #chatd` is ALL,
//! `PRIVMSG nick` is MSG, `PRIVMSG a,b` is MCAST.

pub mod parse;
pub mod render;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What IRC lines carry that the configuration decides. Set once at start
/// ([`configure`]); the renderer reads it, so that `Dialect` stays a plain
/// value that caches can be indexed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The server's name in numerics and PONG (`irc_server_name`).
    pub server_name: String,
    /// The one channel (`irc_channel`).
    pub channel: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { server_name: DEFAULT_SERVER_NAME.to_string(), channel: DEFAULT_CHANNEL.to_string() }
    }
}

/// `irc_server_name`'s default.
pub const DEFAULT_SERVER_NAME: &str = "chatd";
/// `irc_channel`'s default.
pub const DEFAULT_CHANNEL: &str = "#chatd";

/// Bytes an IRC connection's decoder accepts per line: the tags and the
/// 510-byte body ([`parse`] checks each part); longer lines are cut off by
/// the decoder and answered with 417.
pub const MAX_LINE: usize = parse::MAX_TAGS + 1 + parse::MAX_BODY;

/// Capabilities offered in `CAP LS`: `server-time` (messages carry their
/// time), and two that cost nothing in a room without prefixes:
/// `multi-prefix` (every prefix in NAMES: there are none) and
/// `userhost-in-names` (NAMES lists `nick!user@host`); and `sasl` (PLAIN),
/// the password of a protected name before registration.
pub const CAPS: &[&str] = &["multi-prefix", "sasl", "server-time", "userhost-in-names"];

/// Most bytes of a SASL PLAIN message, base64 (IRCv3 sends it in chunks of
/// 400): a 64-character password and two names fit with room to spare.
pub const MAX_SASL: usize = 1200;

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static MAX_USERS: AtomicUsize = AtomicUsize::new(0);

/// Sets the server name and channel for this process (at start; a second
/// call keeps the first settings).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The settings in force (the defaults until [`configure`]).
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// Notes how many users are joined now; returns the most since start (LUSERS).
pub fn note_users(now: usize) -> usize {
    MAX_USERS.fetch_max(now, Ordering::Relaxed).max(now)
}

/// Whether `name` is the channel, compared as CASEMAPPING=ascii says.
pub fn is_channel(name: &str) -> bool {
    name.eq_ignore_ascii_case(&settings().channel)
}

/// Checks a channel name for `irc_channel`: `#` or `&`, then 1 to 49
/// characters without spaces, commas, colons or control characters.
pub fn valid_channel(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('#' | '&'))
        && (2..=50).contains(&name.len())
        && chars.all(|c| !c.is_control() && !matches!(c, ' ' | ',' | ':' | '\u{7}'))
}

/// Checks `irc_server_name`: a host-like word, 1 to 63 printable ASCII
/// characters without spaces.
pub fn valid_server_name(name: &str) -> bool {
    (1..=63).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic() && b != b':' && b != b'!' && b != b'@')
}

/// An IRC connection's state beside chatd's [`crate::session::Session`]:
/// registration in progress, capabilities, away message.
#[derive(Debug, Default, Clone)]
pub struct IrcSession {
    /// The nick asked for with NICK (valid and, when asked, free).
    pub nick: Option<String>,
    /// USER was sent: its user name and real name.
    pub user: Option<(String, String)>,
    /// PASS: the password for a protected name.
    pub pass: Option<String>,
    /// `CAP LS`/`REQ` was sent and `CAP END` not yet: registration waits.
    pub cap_negotiating: bool,
    /// The capabilities turned on (`CAP REQ`), in [`CAPS`] order.
    pub caps: Vec<&'static str>,
    /// AWAY's message, while away.
    pub away: Option<String>,
    /// `CAP LS 302`: capability values may be sent (`sasl=PLAIN`).
    pub cap_302: bool,
    /// SASL PLAIN under way: the base64 chunks received so far.
    pub sasl: Option<String>,
    /// The name SASL PLAIN proved the password of: registering as it needs
    /// no PASS.
    pub account: Option<String>,
}

impl IrcSession {
    /// Whether a capability is on.
    pub fn has(&self, cap: &str) -> bool {
        self.caps.contains(&cap)
    }

    /// Turns a capability on or off (one of [`CAPS`]).
    pub fn set(&mut self, cap: &str, on: bool) {
        self.caps.retain(|c| *c != cap);
        if on {
            if let Some(c) = CAPS.iter().find(|c| **c == cap) {
                self.caps.push(c);
                self.caps.sort_by_key(|c| CAPS.iter().position(|k| k == c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_turn_on_and_off() {
        let mut i = IrcSession::default();
        i.set("userhost-in-names", true);
        i.set("server-time", true);
        i.set("bogus", true);
        assert_eq!(i.caps, ["server-time", "userhost-in-names"]);
        i.set("server-time", false);
        assert!(!i.has("server-time") && i.has("userhost-in-names"));
    }

    #[test]
    fn channel_and_server_names() {
        assert!(valid_channel("#chatd"));
        assert!(valid_channel("&all"));
        assert!(!valid_channel("#"));
        assert!(!valid_channel("chatd"));
        assert!(!valid_channel("#a b"));
        assert!(!valid_channel("#a,b"));
        assert!(valid_server_name("My.Little.Server"));
        assert!(!valid_server_name("a b"));
        assert!(!valid_server_name(""));
    }
}
