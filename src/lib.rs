//! chatd: a line-based chat server you can talk to with `nc` or `telnet`.
//!
//! # Layout
//!
//! The path of a client line, in file order (docs/architecture.md draws it):
//!
//! - [`server`]: the mio event loop, one file per stage: start-up, tokens,
//!   accept, the passes (run, commit, deliveries, flush, close), timers,
//!   console I/O, shutdown
//! - [`conn`]: one connection: its transport and byte path (next frame in,
//!   flush out)
//! - [`session`]: a connection's protocol state (name, waits, CLOCK ON)
//! - [`framing`]: bytes -> lines (CRLF, telnet IAC, terminal escapes, max
//!   line, UTF-8); pure
//! - [`command`]: line -> [`command::Command`] through one table; pure
//! - [`handlers`]: one file per area (session, messaging, history, accounts,
//!   console), each command a function
//! - [`state`]: presence (who is joined, where a name is, the vector-clock
//!   book) and fan-out to outbound buffers
//! - [`delivery`]: stored messages fed to a joined user as their peer
//!   acknowledges them
//! - [`store`]: the SQLite file: users, clocks, message log (and live
//!   messages kept while it fails), offline queue (the only SQL; one file
//!   per concern)
//! - [`reply`]: typed replies, and chatd's format of every server line
//! - [`dialect`]: how a connection speaks; renders replies, events and
//!   messages for it
//! - [`irc`]: the IRC dialect: its line parser and renderer (its commands
//!   are `handlers/irc.rs`; docs/irc.md)
//! - [`outbuf`]: a connection's unsent output, long broadcast lines shared
//! - [`web`]: the browser client: HTTP request heads, the embedded page,
//!   the WebSocket transport under the line protocol
//!
//! The nouns under it: [`message`] (Message, Event: no SQL, no wire text).
//! Beside the flow: [`config`] (defaults, TOML, flags), [`console`] (the
//! operator's commands, from stdin and the admin socket), [`auth`]
//! (Argon2id on a worker thread), [`clock`] (vector clocks), [`flood`]
//! (token bucket), [`names`] (name rules), [`text`] (text safety),
//! [`signals`] (SIGTERM/SIGINT), [`systemd`] (sd_notify, LISTEN_FDS),
//! [`os`] (descriptor limit, keepalive, unacknowledged bytes). `main.rs`
//! wires them together. The wire protocol is documented in
//! `docs/protocol.md`.

pub mod auth;
pub mod clock;
pub mod command;
pub mod config;
pub mod conn;
pub mod console;
pub mod delivery;
pub mod dialect;
pub mod flood;
pub mod framing;
pub mod handlers;
pub mod irc;
pub mod message;
pub mod names;
pub mod os;
pub mod outbuf;
pub mod reply;
pub mod server;
pub mod session;
pub mod signals;
pub mod state;
pub mod store;
pub mod systemd;
pub mod text;
pub mod tls;
pub mod web;
