//! The event loop: one thread, one `mio::Poll`.
//!
//! Each pass of [`Server::run`]:
//! 1. poll; accept on listeners; note which connections are readable or
//!    writable (readiness is edge-triggered, so it is remembered on the
//!    connection until the socket says `WouldBlock`);
//! 2. run pass: read and decode each readable connection's lines and
//!    dispatch them to `handlers/`, at most [`LINES_PER_PASS`] per connection
//!    so one busy client cannot hold up the rest;
//! 3. flush pass: write every connection's queued output, at most
//!    `conn::WRITE_CAP` bytes each; WRITABLE interest only while bytes remain;
//! 4. close pass: connections marked closing (by a handler, a failed read,
//!    or sendq) are removed here, never from inside a handler, and their
//!    `LEFT` is announced.
//!
//! Timers (join_timeout) bound the poll timeout.

use crate::config::Config;
use crate::conn::{Close, Conn, Flushed, WRITE_CAP};
use crate::framing::Frame;
use crate::handlers::{self, Ctx};
use crate::reply::{self, Code, Error};
use crate::state::State;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Lines handled per connection per pass before the others get their turn.
const LINES_PER_PASS: usize = 64;
/// Size of the one read buffer shared by all connections.
const READ_CHUNK: usize = 16 * 1024;
/// Listener tokens count down from the top; connection tokens are slab keys.
const LISTENER_BASE: usize = usize::MAX - 64;

/// A running server.
pub struct Server {
    config: Config,
    poll: Poll,
    listeners: Vec<TcpListener>,
    state: State,
    /// Connections with input to process in the next run pass.
    to_run: Vec<usize>,
    /// join_timeout deadlines, in connection order: (deadline, key, id).
    join_deadlines: VecDeque<(Instant, usize, u64)>,
    /// Connections waiting for their flood budget: (when, key, id).
    throttled: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    scratch: Vec<u8>,
    next_id: u64,
    /// Start-up warnings, logged once logging is up.
    warnings: Vec<String>,
}

/// A fatal start-up problem: `main` prints it as one line and exits 2.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Server {
    /// Binds the listeners. Nothing is logged before this succeeds, so a bad
    /// address is reported as one line by `main`.
    pub fn bind(config: Config) -> Result<Server, StartError> {
        let poll = Poll::new().map_err(|e| StartError(format!("cannot create poll: {e}")))?;
        let mut listeners = Vec::new();
        let mut warnings = Vec::new();
        let default_listen = config.listen == crate::config::DEFAULT_LISTEN;
        for spec in &config.listen {
            let addrs = crate::config::parse_addr(spec).map_err(StartError)?;
            for addr in addrs {
                match TcpListener::bind(addr) {
                    Ok(l) => listeners.push(l),
                    // A machine without IPv6 still runs on the default listeners.
                    Err(e) if default_listen && addr.is_ipv6() && no_ipv6(&e) => {
                        warnings.push(format!("IPv6 listener {addr} not available ({e}); continuing without it"));
                    }
                    Err(e) => return Err(StartError(format!("cannot listen on {addr}: {e}"))),
                }
            }
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(l, Token(LISTENER_BASE + i), Interest::READABLE)
                .map_err(|e| StartError(format!("cannot register listener: {e}")))?;
        }
        let max_sendq = config.max_sendq;
        Ok(Server {
            config,
            poll,
            listeners,
            state: State::new(max_sendq),
            to_run: Vec::new(),
            join_deadlines: VecDeque::new(),
            throttled: BinaryHeap::new(),
            scratch: vec![0; READ_CHUNK],
            next_id: 1,
            warnings,
        })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Runs until a fatal poll error.
    pub fn run(&mut self) -> io::Result<()> {
        for w in self.warnings.drain(..) {
            log::warn!("{w}");
        }
        for addr in self.local_addrs() {
            log::info!("listening on {addr}");
        }
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                let key = event.token().0;
                if key >= LISTENER_BASE {
                    self.accept(key - LISTENER_BASE);
                    continue;
                }
                let Some(conn) = self.state.conns.get_mut(key) else { continue };
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    conn.readable = true;
                    if !conn.queued_run {
                        conn.queued_run = true;
                        self.to_run.push(key);
                    }
                }
                if event.is_writable() && !conn.queued_flush {
                    conn.queued_flush = true;
                    self.state.to_flush.push(key);
                }
            }
            self.expire_joins();
            self.release_throttled();
            self.run_pass();
            self.flush_pass();
            self.close_pass();
        }
    }

    /// Block until something happens, unless work is left over from the last
    /// pass; wake for the next join deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.to_run.is_empty() || !self.state.to_flush.is_empty() || !self.state.to_close.is_empty() {
            return Some(Duration::ZERO);
        }
        let join = self.join_deadlines.front().map(|&(when, _, _)| when);
        let flood = self.throttled.peek().map(|Reverse((when, _, _))| *when);
        let next = match (join, flood) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Round up so the timer has passed when poll returns.
        next.map(|when| when.saturating_duration_since(Instant::now()) + Duration::from_millis(1))
    }

    fn accept(&mut self, index: usize) {
        loop {
            let (sock, peer) = match self.listeners[index].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors and the like: leave the rest in the
                    // backlog rather than spin on it.
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            self.add_conn(sock, peer);
        }
    }

    fn add_conn(&mut self, mut sock: TcpStream, peer: SocketAddr) {
        if self.state.conns.len() >= self.config.max_clients {
            refuse_full(&mut sock, peer);
            return;
        }
        // Replies are coalesced per pass; Nagle would only add latency.
        if let Err(e) = sock.set_nodelay(true) {
            log::debug!("{peer}: set_nodelay: {e}");
        }
        let id = self.next_id;
        self.next_id += 1;
        let entry = self.state.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(&mut sock, Token(key), Interest::READABLE) {
            log::warn!("#{id} {peer}: cannot register: {e}");
            return;
        }
        let conn = entry.insert(Conn::new(id, sock, peer, self.config.max_line, self.config.flood_burst));
        log::info!("{}: connected", conn.label());
        let deadline = conn.connected_at + Duration::from_secs(self.config.join_timeout);
        self.join_deadlines.push_back((deadline, key, id));
        // Bytes may already be waiting; reading finds out.
        conn.readable = true;
        conn.queued_run = true;
        self.to_run.push(key);
        self.state.send(key, &reply::hello());
    }

    /// Closes connections that have not joined within join_timeout.
    fn expire_joins(&mut self) {
        let now = Instant::now();
        while let Some(&(deadline, key, id)) = self.join_deadlines.front() {
            if deadline > now {
                break;
            }
            self.join_deadlines.pop_front();
            let Some(conn) = self.state.conns.get(key) else { continue };
            if conn.id != id || conn.name.is_some() || conn.closing.is_some() {
                continue;
            }
            let err =
                Error::new(Code::Timeout, format!("no JOIN within {} seconds; goodbye", self.config.join_timeout));
            self.state.send(key, &err.line());
            self.state.close(key, Close::Timeout);
        }
    }

    /// Connections whose flood budget has refilled are run again.
    fn release_throttled(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((when, key, id))) = self.throttled.peek() {
            if when > now {
                break;
            }
            self.throttled.pop();
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            if conn.id != id || !conn.throttled {
                continue;
            }
            conn.throttled = false;
            if !conn.queued_run {
                conn.queued_run = true;
                self.to_run.push(key);
            }
        }
    }

    /// Reads and handles input of every connection listed in `to_run`.
    fn run_pass(&mut self) {
        let keys = std::mem::take(&mut self.to_run);
        for key in keys {
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            conn.queued_run = false;
            if self.run_conn(key) {
                if let Some(conn) = self.state.conns.get_mut(key) {
                    if !conn.queued_run {
                        conn.queued_run = true;
                        self.to_run.push(key);
                    }
                }
            }
        }
    }

    /// Handles up to LINES_PER_PASS lines of one connection. Returns true if
    /// it has more input to handle on the next pass.
    fn run_conn(&mut self, key: usize) -> bool {
        let mut budget = LINES_PER_PASS;
        loop {
            let Some(conn) = self.state.conns.get_mut(key) else { return false };
            if conn.closing.is_some() || conn.throttled {
                return false;
            }
            if conn.input_consumed() {
                conn.reset_input();
                if conn.eof {
                    let last = conn.decoder.finish();
                    if let Some(frame) = last {
                        self.handle(key, frame);
                    }
                    self.state.close(key, Close::Closed);
                    return false;
                }
                if !conn.readable {
                    return false;
                }
                match conn.read_some(&mut self.scratch) {
                    Ok(0) => conn.eof = true,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        conn.readable = false;
                        return false;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::info!("{}: read error: {e}", conn.label());
                        self.state.close(key, Close::Closed);
                        return false;
                    }
                }
                continue;
            }
            if budget == 0 {
                return true;
            }
            // The next line must fit the flood budget; if not, stop reading
            // this connection until it does (delayed, never dropped).
            let rate = self.config.flood_rate;
            if let Err(wait) = conn.flood.ready(rate, self.config.flood_burst, Instant::now()) {
                conn.throttled = true;
                self.throttled.push(Reverse((Instant::now() + wait, key, conn.id)));
                return false;
            }
            let (used, frame) = conn.decoder.decode(&conn.inbuf[conn.inpos..]);
            conn.inpos += used;
            if conn.decoder.has_replies() {
                let answers = conn.decoder.take_replies();
                // Telnet negotiation bytes are not text; they bypass reply.rs.
                if !conn.queue(&answers, self.config.max_sendq) {
                    self.state.close(key, Close::SendqExceeded);
                    return false;
                }
                if !conn.queued_flush {
                    conn.queued_flush = true;
                    self.state.to_flush.push(key);
                }
            }
            if let Some(frame) = frame {
                conn.flood.spend(rate);
                budget -= 1;
                self.handle(key, frame);
            }
        }
    }

    fn handle(&mut self, key: usize, frame: Frame) {
        match frame {
            Frame::TooLong => {
                let e = Error::new(
                    Code::LineTooLong,
                    format!("lines are limited to {} bytes; the rest of that line was discarded", self.config.max_line),
                );
                self.state.send(key, &e.line());
            }
            Frame::Line(line) => {
                let mut ctx = Ctx { key, state: &mut self.state, config: &self.config };
                handlers::dispatch(&mut ctx, &line);
            }
        }
    }

    /// Writes queued output; WRITABLE interest only while bytes remain.
    fn flush_pass(&mut self) {
        let keys = std::mem::take(&mut self.state.to_flush);
        for key in keys {
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            conn.queued_flush = false;
            if conn.closing.as_ref().is_some_and(|c| !c.flush_first()) {
                continue;
            }
            let result = conn.flush(WRITE_CAP);
            let want_write = match result {
                Ok(Flushed::All) => false,
                Ok(Flushed::Blocked) => true,
                Ok(Flushed::Capped) => {
                    conn.queued_flush = true;
                    self.state.to_flush.push(key);
                    false
                }
                Err(e) => {
                    log::info!("{}: write error: {e}", conn.label());
                    self.state.close(key, Close::Closed);
                    continue;
                }
            };
            if want_write != conn.want_write {
                let interest = if want_write { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
                if let Err(e) = self.poll.registry().reregister(&mut conn.sock, Token(key), interest) {
                    log::warn!("{}: reregister: {e}", conn.label());
                }
                conn.want_write = want_write;
            }
        }
    }

    /// Removes connections marked closing and announces their LEFT.
    fn close_pass(&mut self) {
        while let Some(key) = self.state.to_close.pop() {
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            let why = conn.closing.clone().unwrap_or(Close::Closed);
            if why.flush_first() && conn.unsent() > 0 {
                // One last non-blocking try, so OK LEAVE or ERR TIMEOUT arrives.
                let _ = conn.flush(WRITE_CAP);
            }
            let label = conn.label();
            let name = self.state.part(key);
            let mut conn = self.state.conns.remove(key);
            let _ = self.poll.registry().deregister(&mut conn.sock);
            let _ = conn.sock.shutdown(std::net::Shutdown::Both);
            log::info!("{label}: closed ({})", describe(&why));
            if let Some(name) = name {
                let ts = self.state.ts();
                self.state.broadcast(None, &reply::left(&ts, &name, why.reason()));
            }
        }
    }
}

fn describe(why: &Close) -> &str {
    match why {
        Close::Leave(_) => "left",
        other => other.reason(),
    }
}

/// The error kinds that mean "this machine has no IPv6".
fn no_ipv6(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc_errno::EAFNOSUPPORT) | Some(libc_errno::EADDRNOTAVAIL))
}

/// Linux errno values (std does not name them).
mod libc_errno {
    pub const EAFNOSUPPORT: i32 = 97;
    pub const EADDRNOTAVAIL: i32 = 99;
}

/// Tells a connection over max_clients why it is being closed.
fn refuse_full(sock: &mut TcpStream, peer: SocketAddr) {
    use std::io::Write;
    log::warn!("{peer}: refused, server full");
    let e = Error::new(Code::ServerFull, "too many connections; try again later");
    let _ = sock.write(e.line().as_bytes());
    let _ = sock.shutdown(std::net::Shutdown::Both);
}
