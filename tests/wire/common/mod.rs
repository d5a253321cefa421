//! The harness of the wire tests: starts the real `chatd` binary on a free
//! loopback port with a temporary database, and talks to it the ways its
//! users and operators do. Split by role, as redis splits `tests/support/`:
//!
//! - `server.rs`: a running chatd (`Server`): start, join users, read its
//!   log, signal, stop, restart on the same files;
//! - `client.rs`: a TCP user (`Client`): send lines, read replies and
//!   events, barriers (`sync`, `assert_nothing_pending`);
//! - `irc.rs`: an IRC user (`IrcClient`) on the server's IRC listener;
//! - `console.rs`: the operator's console on stdin/stdout or the admin
//!   socket (`Operated`, `AdminClient`, `Via`);
//! - `process.rs`: other programs (nc, chatd runs that end by themselves),
//!   and `wait_until`, the one polling loop;
//! - `db.rs`: the database seen from outside (python3's sqlite3, a held
//!   write lock) and the store tests' starting point;
//! - `asserts.rs`: checking and masking what the server says (`<ts>`,
//!   `ERR` replies, event lines);
//! - `rng.rs`: a seeded generator for replayable random input;
//! - `tempdir.rs`: a temporary directory per server;
//! - `tls.rs`: a test certificate, and a user over TLS (`TlsClient`).
//! - `web.rs`: the browser client's side: raw HTTP requests and a
//!   WebSocket user (`WsClient`, tungstenite's blocking client).
//!
//! The server is asked to listen on port 0; the harness reads the port from
//! its "listening on" log line, so tests never race for ports. Every server
//! is killed by its PID when the `Server` value is dropped.

use std::time::Duration;

mod asserts;
mod client;
mod console;
mod db;
mod irc;
mod process;
mod rng;
mod server;
mod tempdir;
mod tls;
mod web;

pub use asserts::*;
pub use client::*;
pub use console::*;
pub use db::*;
pub use irc::*;
pub use process::*;
pub use rng::*;
pub use server::*;
pub use tempdir::*;
pub use tls::*;
pub use web::*;

/// How long a test waits for an expected line, exit or event before failing.
pub const WAIT: Duration = Duration::from_secs(10);
