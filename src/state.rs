//! Who is online and how lines reach them: the delivery half of the seam
//! between handlers and the world (the store is the other half).
//!
//! Handlers ask this module who is online and where a user is
//! ([`State::locate`]), and hand it lines to deliver; it appends them to
//! connections' outbound buffers and lists those connections for the loop's
//! flush pass. It never touches a socket, so a future multi-node chatd can
//! put presence and fan-out behind these same calls.
//!
//! Presence keeps the vector-clock book too (`clock.rs`): the book's joined
//! users are exactly the online ones, since [`State::join`] and
//! [`State::part`] change both, so a broadcast's clock rules reach the
//! users the broadcast reached.

use crate::clock::{Clock, Clocks, UserId};
use crate::conn::{Close, Conn};
use crate::delivery::Delivery;
use crate::dialect::Dialect;
use crate::message::{Event, Message};
use crate::names;
use crate::outbuf::{Shared, SHARE_FROM};
use crate::reply::Reply;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// Where a user is, as presence knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// Joined on this server, on this connection.
    Here(usize),
    /// Not joined anywhere.
    Away,
}

/// The server's connections and the name index.
pub struct State {
    /// Every connection, keyed by its mio token.
    pub conns: slab::Slab<Conn>,
    /// Joined users: folded name -> connection key.
    online: HashMap<String, usize>,
    /// Every known user's vector clock; its joined users are `online`'s.
    clocks: Clocks,
    /// Bytes of unsent output before a client is dropped.
    max_sendq: usize,
    /// Connections with output to flush, and connections to close, after
    /// this event batch (each listed once, see `Conn::queued_flush`).
    pub to_flush: Vec<usize>,
    pub to_close: Vec<usize>,
    /// Connections with an offline delivery in progress (`delivery.rs`),
    /// advanced by the loop every pass until done.
    pub delivering: Vec<usize>,
    /// Lines queued for any connection since start: the loop bounds how
    /// many one connection's lines may cause in one pass.
    pub queued_lines: u64,
    /// The formatted timestamp of the current second.
    ts_cache: (u64, String),
    /// The last line fanned out, framed for WebSocket connections: a
    /// broadcast is framed once, not once per browser (`send_line`).
    ws_framed: Option<(Shared, Shared)>,
}

impl State {
    /// Presence with nobody joined, and the clock book as the store read
    /// it at start.
    pub fn new(max_sendq: usize, clocks: Clocks) -> State {
        State {
            conns: slab::Slab::new(),
            online: HashMap::new(),
            clocks,
            max_sendq,
            to_flush: Vec::new(),
            to_close: Vec::new(),
            delivering: Vec::new(),
            queued_lines: 0,
            ts_cache: (u64::MAX, String::new()),
            ws_framed: None,
        }
    }

    /// The protocol timestamp of now (`2026-11-21T12:01:02Z`).
    pub fn ts(&mut self) -> String {
        let now = SystemTime::now();
        let secs = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if self.ts_cache.0 != secs {
            self.ts_cache = (secs, crate::reply::timestamp(now.into()));
        }
        self.ts_cache.1.clone()
    }

    /// Queues a line for one connection, already rendered in its dialect
    /// (its greeting, a durable reply; others go through [`State::reply`]
    /// and [`State::tell`]). A connection whose unsent output would pass
    /// max_sendq is marked to be dropped instead: the others never wait
    /// for it.
    pub fn send(&mut self, key: usize, line: &str) {
        self.send_bytes(key, line.as_bytes());
    }

    /// Queues a reply for one connection, in its dialect.
    pub fn reply(&mut self, key: usize, reply: &Reply) {
        let Some(conn) = self.conns.get(key) else { return };
        let line = conn.dialect.reply_to(reply, &conn.session);
        self.send(key, &line);
    }

    /// Tells one connection of an event, in its dialect.
    pub fn tell(&mut self, key: usize, event: &Event) {
        let Some(dialect) = self.conns.get(key).map(|c| c.dialect) else { return };
        self.send(key, &dialect.event(event));
    }

    /// `send` for bytes that are not a text line (telnet answers).
    pub fn send_bytes(&mut self, key: usize, bytes: &[u8]) {
        self.send_with(key, |conn, max| conn.queue(bytes, max));
    }

    /// `send` for bytes that go to the socket as they are, whatever the
    /// transport (telnet answers, WebSocket pongs and pings).
    pub fn send_raw(&mut self, key: usize, bytes: &[u8]) {
        self.send_with(key, |conn, max| conn.queue_raw(bytes, max));
    }

    /// `send` for a line shared with other connections (not copied).
    pub fn send_shared(&mut self, key: usize, line: &Shared) {
        self.send_with(key, |conn, max| conn.queue_shared(line, max));
    }

    fn send_with(&mut self, key: usize, queue: impl FnOnce(&mut Conn, usize) -> bool) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        if conn.closing.as_ref().is_some_and(|c| *c != Close::Closed) {
            // A connection on its way out gets nothing more; one whose peer
            // only half-closed still gets the replies to its last lines and
            // its stored messages.
            return;
        }
        if queue(conn, self.max_sendq) {
            self.queued_lines += 1;
            self.schedule_flush(key);
        } else {
            conn.discard_output();
            self.close(key, Close::SendqExceeded);
        }
    }

    /// Lists a connection for the next flush pass (once).
    pub fn schedule_flush(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.queued_flush {
                conn.queued_flush = true;
                self.to_flush.push(key);
            }
        }
    }

    /// Starts feeding a joined connection its stored messages.
    pub fn start_delivery(&mut self, key: usize, delivery: Delivery) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.session.delivery = Some(Box::new(delivery));
            if !self.delivering.contains(&key) {
                self.delivering.push(key);
            }
        }
    }

    /// Marks a connection to be closed after this event batch; the first
    /// reason given wins.
    pub fn close(&mut self, key: usize, why: Close) {
        // A dialect may say goodbye first (IRC's `ERROR :Closing Link`).
        let farewell = self.conns.get(key).filter(|c| c.closing.is_none()).and_then(|c| c.dialect.farewell(&why));
        if let Some(line) = farewell {
            self.send(key, &line);
        }
        if let Some(conn) = self.conns.get_mut(key) {
            if conn.closing.is_none() {
                conn.closing = Some(why);
                self.to_close.push(key);
            }
        }
    }

    /// The display name of a joined connection.
    pub fn name_of(&self, key: usize) -> Option<&str> {
        self.conns.get(key).and_then(|c| c.session.name.as_deref())
    }

    /// Where a user is, by name in any case: joined here (and on which
    /// connection), or not joined (known or not is the store's to say). A
    /// cluster adds "joined on another node" as one more variant.
    pub fn locate(&self, name: &str) -> Where {
        match self.online(name) {
            Some(key) => Where::Here(key),
            None => Where::Away,
        }
    }

    /// The connection of an online user, by name in any case.
    pub fn online(&self, name: &str) -> Option<usize> {
        self.online.get(&names::fold(name)).copied()
    }

    /// The online user's name as they spelled it at JOIN.
    pub fn display_name(&self, name: &str) -> Option<&str> {
        self.online(name).and_then(|k| self.name_of(k))
    }

    /// Puts a connection online as user `id`, named `name`, and the user
    /// in the clock book's joined set (every broadcast reaches them from
    /// now on); false if the name is online on another connection.
    #[must_use]
    pub fn join(&mut self, key: usize, name: &str, id: UserId) -> bool {
        let folded = names::fold(name);
        if self.online.contains_key(&folded) {
            return false;
        }
        if let Some(conn) = self.conns.get_mut(key) {
            conn.session.name = Some(name.to_string());
            conn.session.user = Some(id);
            self.online.insert(folded, key);
            self.clocks.join(id);
        }
        true
    }

    /// Takes a connection offline, and its user out of the clock book's
    /// joined set; returns the name it had.
    pub fn part(&mut self, key: usize) -> Option<String> {
        let session = &mut self.conns.get_mut(key)?.session;
        let name = session.name.take()?;
        if let Some(id) = session.user {
            self.clocks.leave(id);
        }
        self.online.remove(&names::fold(&name));
        Some(name)
    }

    /// The clock book (`clock.rs`): every known user's vector clock, for
    /// the clock rules of a message and for the store to save at commit.
    /// Users join and leave it only through [`State::join`] and
    /// [`State::part`].
    pub fn clocks(&self) -> &Clocks {
        &self.clocks
    }

    /// [`State::clocks`], to apply the clock rules.
    pub fn clocks_mut(&mut self) -> &mut Clocks {
        &mut self.clocks
    }

    /// Tells every joined user but `except` of an event, each in its own
    /// dialect (rendered once per dialect); returns how many.
    pub fn broadcast(&mut self, except: Option<usize>, event: &Event) -> usize {
        let keys = self.joined_keys(except);
        let mut lines: [Option<Shared>; Dialect::ALL.len()] = Default::default();
        for &k in &keys {
            let Some(dialect) = self.conns.get(k).map(|c| c.dialect) else { continue };
            // Borrowed, not cloned: a reference count touched per recipient
            // costs a join storm (5000 users) a tenth of its time.
            let line = lines[dialect.index()].get_or_insert_with(|| Shared::from(dialect.event(event).into_bytes()));
            self.send_line(k, line);
        }
        keys.len()
    }

    /// Every joined connection but `except`.
    pub fn joined_keys(&self, except: Option<usize>) -> Vec<usize> {
        self.online.values().copied().filter(|&k| Some(k) != except).collect()
    }

    /// Delivers a message event to a connection, in its dialect, with its
    /// vector clock if that connection asked for CLOCK ON.
    pub fn deliver(&mut self, key: usize, m: &mut Outgoing) {
        let Some(conn) = self.conns.get(key) else { return };
        let (dialect, clock) = (conn.dialect, conn.session.marked());
        if dialect.per_recipient(m.message) {
            let to = conn.session.name.clone().unwrap_or_default();
            let line = dialect.message_to(m.message, clock, &to);
            self.send(key, &line);
            return;
        }
        self.send_line(key, m.line(dialect, clock));
    }

    /// Queues a rendered line: shared with the other recipients when long,
    /// copied when short (cheaper than counting references).
    fn send_line(&mut self, key: usize, line: &Shared) {
        if self.conns.get(key).is_some_and(Conn::is_ws) {
            // Framed once per line, however many browsers it goes to.
            let (source, framed) = match self.ws_framed.take() {
                Some((source, framed)) if Arc::ptr_eq(&source, line) => (source, framed),
                _ => (Arc::clone(line), Shared::from(crate::web::ws::frame_lines(line))),
            };
            if framed.len() >= SHARE_FROM {
                self.send_with(key, |conn, max| conn.queue_raw_shared(&framed, max));
            } else {
                self.send_with(key, |conn, max| conn.queue_raw(&framed, max));
            }
            self.ws_framed = Some((source, framed));
            return;
        }
        if line.len() >= SHARE_FROM {
            self.send_shared(key, line);
        } else {
            self.send_bytes(key, line);
        }
    }

    /// Every joined user's name, sorted case-insensitively.
    pub fn who(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.online.values().filter_map(|&k| self.name_of(k)).map(str::to_string).collect();
        names.sort_by_key(|n| names::fold(n));
        names
    }

    /// How many users are joined.
    pub fn joined_count(&self) -> usize {
        self.online.len()
    }
}

/// A message on its way out, rendered at most once per dialect and clock
/// variant (with and without the vector clock) however many recipients it
/// has, and shared between their output buffers when long (`outbuf.rs`).
pub struct Outgoing<'m> {
    pub message: &'m Message,
    /// For a live message, which has no written-out clock yet: writes it
    /// out (`alice=3,bob=1`), once, if a recipient has CLOCK ON.
    write_clock: Option<&'m dyn Fn(&Clock) -> String>,
    /// Rendered lines by dialect, without and with the clock.
    lines: [[Option<Shared>; 2]; Dialect::ALL.len()],
}

impl<'m> Outgoing<'m> {
    /// A message read back from the store (its clock written out).
    pub fn new(message: &'m Message) -> Outgoing<'m> {
        Outgoing { message, write_clock: None, lines: Default::default() }
    }

    /// A message being sent now: most are never shown with their clock.
    pub fn live(message: &'m Message, write_clock: &'m dyn Fn(&Clock) -> String) -> Outgoing<'m> {
        Outgoing { message, write_clock: Some(write_clock), lines: Default::default() }
    }

    fn line(&mut self, dialect: Dialect, clock: bool) -> &Shared {
        let slot = &mut self.lines[dialect.index()][usize::from(clock)];
        slot.get_or_insert_with(|| {
            let text = match self.write_clock {
                Some(write) if clock && self.message.clock_text.is_empty() => {
                    let mut m = self.message.clone();
                    m.clock_text = write(&m.clock);
                    dialect.message(&m, true)
                }
                _ => dialect.message(self.message, clock),
            };
            Shared::from(text.into_bytes())
        })
    }
}
