//! The event loop: one thread, one `mio::Poll`.
//!
//! Each pass of [`Server::run`]:
//! 1. poll; accept on listeners; note which connections are readable or
//!    writable (readiness is edge-triggered, so it is remembered on the
//!    connection until the socket says `WouldBlock`);
//! 2. run pass: read and decode each readable connection's lines and
//!    dispatch them to `handlers/`, at most [`LINES_PER_PASS`] per connection
//!    so one busy client cannot hold up the rest;
//! 3. group commit: the store writes of the pass are committed in one
//!    transaction, before anything of the pass reaches a socket; only then
//!    are the replies that promise durability (`OK MSG bob stored`) queued,
//!    or `ERR STORAGE` if the commit failed;
//! 4. flush pass: write every connection's queued output, at most
//!    `conn::WRITE_CAP` bytes each; WRITABLE interest only while bytes
//!    remain. Stored messages written out leave the offline queue;
//! 5. close pass: connections marked closing (by a handler, a failed read,
//!    or sendq) are removed here, never from inside a handler, once their
//!    last output is out, and their `LEFT` is announced.
//!
//! Timers (join_timeout, flood control, the systemd watchdog) bound the poll
//! timeout. Password hashing (`auth.rs`) and the stdin console
//! (`console.rs`) run on threads that wake the loop through one
//! `mio::Waker`; SIGTERM/SIGINT arrive on a signalfd (`signals.rs`).
//! EXIT or a signal ends the loop: [`Server::run`] then tells every user,
//! flushes for a bounded time, and closes the store.

use crate::auth::{Outcome, Worker};
use crate::config::Config;
use crate::conn::{AuthStep, Close, Conn, Flushed, Wait, WRITE_CAP};
use crate::console::{AdminConn, AdminSocket, StdinEvent};
use crate::framing::Frame;
use crate::handlers::admin::{self as admin_cmd, AdminCtx};
use crate::handlers::{self, Ctx, Durable};
use crate::reply::{self, Code, Error};
use crate::signals::Signals;
use crate::state::State;
use crate::store::Store;
use mio::net::{TcpListener, TcpStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Lines handled per connection per pass before the others get their turn.
const LINES_PER_PASS: usize = 64;
/// Size of the one read buffer shared by all connections.
const READ_CHUNK: usize = 16 * 1024;
/// Tokens: client connections are slab keys from 0; admin connections are
/// slab keys from ADMIN_BASE; the rest are fixed at the top.
const ADMIN_BASE: usize = usize::MAX / 2;
const LISTENER_BASE: usize = usize::MAX - 64;
const ADMIN_LISTENER: Token = Token(usize::MAX - 2);
const SIGNALS: Token = Token(usize::MAX - 1);
/// The password worker and the stdin reader wake the loop with this token.
const WAKER: Token = Token(usize::MAX);
/// How long EXIT and SIGTERM wait for output to reach the users.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);
/// At most how often an idle loop hands free heap memory back.
const TRIM_EVERY: Duration = Duration::from_secs(1);
/// How long a closing connection may take to receive its last replies.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A running server.
pub struct Server {
    config: Config,
    poll: Poll,
    listeners: Vec<TcpListener>,
    state: State,
    store: Store,
    auth: Worker,
    /// Replies waiting for this pass's commit.
    after_commit: Vec<Durable>,
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
    waker: Arc<mio::Waker>,
    signals: Signals,
    /// Lines typed on stdin, while it is open.
    stdin: Option<mpsc::Receiver<StdinEvent>>,
    admin: Option<AdminSocket>,
    admin_conns: slab::Slab<AdminConn>,
    started: Instant,
    /// Set by EXIT or a signal: the loop ends after this pass.
    exit: bool,
    /// The systemd watchdog: how often, and when next.
    watchdog: Option<(Duration, Instant)>,
    /// max_clients, lowered to fit the descriptor limit.
    max_clients: usize,
    /// Accept hit the descriptor limit: retry when one is freed.
    accept_paused: bool,
    /// Closing connections whose last output is still being written.
    draining: Vec<usize>,
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
    /// Binds the listeners and opens the store. Nothing is logged before
    /// this succeeds, so a bad address or database is reported as one line
    /// by `main`.
    pub fn bind(config: Config) -> Result<Server, StartError> {
        // Before any thread starts, so every thread inherits the signal mask.
        let signals = Signals::open().map_err(|e| StartError(format!("cannot set up signal handling: {e}")))?;
        let poll = Poll::new().map_err(|e| StartError(format!("cannot create poll: {e}")))?;
        let mut warnings = Vec::new();
        let mut listeners = match crate::systemd::listen_fds() {
            Some(fds) => activated_listeners(fds, &mut warnings)?,
            None => bind_listeners(&config, &mut warnings)?,
        };
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(l, Token(LISTENER_BASE + i), Interest::READABLE)
                .map_err(|e| StartError(format!("cannot register listener: {e}")))?;
        }
        let store = Store::open_with(&config.db, config.wal_limit).map_err(StartError)?;
        let mut admin = match &config.admin_socket {
            Some(path) => Some(AdminSocket::bind(path).map_err(StartError)?),
            None => None,
        };
        if let Some(a) = admin.as_mut() {
            poll.registry()
                .register(&mut a.listener, ADMIN_LISTENER, Interest::READABLE)
                .map_err(|e| StartError(format!("cannot register admin socket: {e}")))?;
        }
        poll.registry()
            .register(&mut SourceFd(&signals.as_raw_fd()), SIGNALS, Interest::READABLE)
            .map_err(|e| StartError(format!("cannot register signals: {e}")))?;
        let waker = Arc::new(
            mio::Waker::new(poll.registry(), WAKER).map_err(|e| StartError(format!("cannot create waker: {e}")))?,
        );
        let auth =
            Worker::start(waker.clone()).map_err(|e| StartError(format!("cannot start password worker: {e}")))?;
        let max_sendq = config.max_sendq;
        let max_clients = fit_max_clients(config.max_clients, &mut warnings);
        Ok(Server {
            config,
            poll,
            listeners,
            state: State::new(max_sendq),
            store,
            auth,
            after_commit: Vec::new(),
            to_run: Vec::new(),
            join_deadlines: VecDeque::new(),
            throttled: BinaryHeap::new(),
            scratch: vec![0; READ_CHUNK],
            next_id: 1,
            warnings,
            waker,
            signals,
            stdin: None,
            admin,
            admin_conns: slab::Slab::new(),
            started: Instant::now(),
            exit: false,
            watchdog: None,
            max_clients,
            accept_paused: false,
            draining: Vec::new(),
        })
    }
}

/// Descriptors kept for the listeners, the store, the console and one
/// connection to refuse with SERVER_FULL.
const RESERVED_FDS: u64 = 64;

/// max_clients, lowered if the descriptor limit (raised to its hard limit
/// first) cannot hold that many connections.
fn fit_max_clients(wanted: usize, warnings: &mut Vec<String>) -> usize {
    match crate::os::raise_nofile_limit() {
        Ok(limit) => {
            let room = limit.saturating_sub(RESERVED_FDS).max(1) as usize;
            if room < wanted {
                warnings.push(format!(
                    "max_clients lowered from {wanted} to {room}: the descriptor limit is {limit} (raise LimitNOFILE / ulimit -n)"
                ));
            }
            wanted.min(room)
        }
        Err(e) => {
            warnings.push(format!("cannot read the descriptor limit: {e}"));
            wanted
        }
    }
}

/// Binds the configured listen addresses.
fn bind_listeners(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<TcpListener>, StartError> {
    let mut listeners = Vec::new();
    let default_listen = config.listen == crate::config::DEFAULT_LISTEN;
    for spec in &config.listen {
        let addrs = crate::config::parse_addr(spec).map_err(StartError)?;
        for addr in addrs {
            match TcpListener::bind(addr) {
                Ok(l) => {
                    if let Err(e) = crate::os::set_backlog(&l, crate::os::LISTEN_BACKLOG) {
                        warnings.push(format!("{addr}: cannot raise the listen backlog: {e}"));
                    }
                    listeners.push(l);
                }
                // A machine without IPv6 still runs on the default listeners.
                Err(e) if default_listen && addr.is_ipv6() && crate::os::is_no_ipv6(&e) => {
                    warnings.push(format!("IPv6 listener {addr} not available ({e}); continuing without it"));
                }
                Err(e) => return Err(StartError(format!("cannot listen on {addr}: {e}"))),
            }
        }
    }
    Ok(listeners)
}

/// Takes the listening sockets systemd passed (socket activation).
fn activated_listeners(
    fds: Vec<std::net::TcpListener>,
    warnings: &mut Vec<String>,
) -> Result<Vec<TcpListener>, StartError> {
    if fds.is_empty() {
        return Err(StartError("LISTEN_FDS is set but passes no sockets".into()));
    }
    warnings.push(format!("using {} listening socket(s) from systemd; listen settings ignored", fds.len()));
    fds.into_iter()
        .map(|l| {
            l.set_nonblocking(true).map_err(|e| StartError(format!("passed socket is not usable: {e}")))?;
            Ok(TcpListener::from_std(l))
        })
        .collect()
}

impl Server {
    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Serves until EXIT, SIGTERM or SIGINT (then shuts down cleanly and
    /// returns `Ok`), or a fatal poll error.
    pub fn run(&mut self) -> io::Result<()> {
        for w in self.warnings.drain(..) {
            log::warn!("{w}");
        }
        for addr in self.local_addrs() {
            log::info!("listening on {addr}");
        }
        self.stdin = match crate::console::spawn_stdin(self.waker.clone()) {
            Ok(rx) => Some(rx),
            Err(e) => {
                log::warn!("stdin console not available: {e}");
                None
            }
        };
        crate::systemd::notify("READY=1");
        self.watchdog = crate::systemd::watchdog_interval().map(|every| (every, Instant::now()));
        let mut events = Events::with_capacity(1024);
        let mut busy_since_trim = false;
        let mut last_trim = Instant::now();
        while !self.exit {
            let mut timeout = self.poll_timeout();
            let idle = timeout.is_none_or(|t| t >= Duration::from_millis(50));
            if idle && busy_since_trim {
                let due = TRIM_EVERY.saturating_sub(last_trim.elapsed());
                if due.is_zero() {
                    for (_, conn) in self.state.conns.iter_mut() {
                        conn.release_idle_output();
                    }
                    crate::os::release_free_memory();
                    (busy_since_trim, last_trim) = (false, Instant::now());
                } else {
                    timeout = Some(timeout.map_or(due, |t| t.min(due))); // wake up to trim
                }
            }
            busy_since_trim |= !idle || !events.is_empty();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {
                        self.auth_results();
                        self.stdin_lines();
                    }
                    SIGNALS => self.on_signals(),
                    ADMIN_LISTENER => self.accept_admin(),
                    Token(key) if key >= LISTENER_BASE => self.accept(key - LISTENER_BASE),
                    Token(key) if key >= ADMIN_BASE => self.admin_ready(key - ADMIN_BASE),
                    Token(key) => self.conn_ready(key, event),
                }
            }
            self.expire_joins();
            self.release_throttled();
            self.run_pass();
            // Commit before anything of this pass is seen: a recipient never
            // sees a message (or a clock) that a crash could take back.
            self.commit();
            self.flush_pass();
            // After the flush, so a closing connection's last replies are out;
            // its LEFT goes to the others in the next pass.
            self.close_pass();
            if self.accept_paused {
                self.retry_accept();
            }
            // Leaves, and deliveries of stored messages just written out.
            if self.store.has_pending_writes() {
                self.commit();
            }
            self.watchdog_ping();
        }
        self.shutdown();
        Ok(())
    }

    /// Notes a client socket's readiness for the run and flush passes.
    fn conn_ready(&mut self, key: usize, event: &mio::event::Event) {
        let Some(conn) = self.state.conns.get_mut(key) else { return };
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            conn.readable = true;
            self.schedule_run(key);
        }
        if event.is_writable() {
            self.state.schedule_flush(key);
        }
    }

    fn watchdog_ping(&mut self) {
        if let Some((every, next)) = self.watchdog {
            if Instant::now() >= next {
                crate::systemd::notify("WATCHDOG=1");
                self.watchdog = Some((every, Instant::now() + every));
            }
        }
    }

    /// SIGTERM/SIGINT: the first starts a clean shutdown; one more while
    /// shutting down exits at once.
    fn on_signals(&mut self) {
        for signo in self.signals.read() {
            if self.exit {
                log::warn!("{} during shutdown: exiting now", crate::signals::name(signo));
                std::process::exit(128 + signo);
            }
            log::info!("{}: shutting down", crate::signals::name(signo));
            self.exit = true;
        }
    }

    // ---- the console: stdin and the admin socket ---------------------------

    fn admin_ctx(&mut self) -> AdminCtx<'_> {
        AdminCtx { state: &mut self.state, store: &mut self.store, config: &self.config, started: self.started }
    }

    /// Runs one console line; returns its reply lines.
    fn console_line(&mut self, line: &str) -> Vec<String> {
        log::info!("console: {}", line.trim());
        let (reply, outcome) = admin_cmd::run(&mut self.admin_ctx(), line);
        if outcome == admin_cmd::Outcome::Exit {
            self.exit = true;
        }
        // DELETE BACKUP and friends answer only for what is committed.
        self.commit();
        reply
    }

    /// Lines typed on stdin; replies go to stdout.
    fn stdin_lines(&mut self) {
        use std::io::Write;
        let events: Vec<StdinEvent> = match &self.stdin {
            Some(rx) => rx.try_iter().collect(),
            None => return,
        };
        for event in events {
            match event {
                StdinEvent::Line(line) if line.trim().is_empty() => {}
                StdinEvent::Line(_) | StdinEvent::TooLong => {
                    let reply = match event {
                        StdinEvent::Line(line) => self.console_line(&line),
                        _ => vec![format!(
                            "ERR LINE_TOO_LONG console lines are limited to {} bytes; that line was ignored",
                            crate::console::CONSOLE_MAX_LINE
                        )],
                    };
                    let mut out = std::io::stdout().lock();
                    for l in reply {
                        let _ = writeln!(out, "{l}");
                    }
                    let _ = out.flush();
                }
                StdinEvent::Eof => {
                    log::info!("stdin closed: console disabled (the admin socket, if any, still works)");
                    self.stdin = None;
                }
            }
        }
    }

    fn accept_admin(&mut self) {
        let Some(admin) = self.admin.as_mut() else { return };
        loop {
            match admin.listener.accept() {
                Ok((mut stream, _)) => {
                    let entry = self.admin_conns.vacant_entry();
                    let token = Token(ADMIN_BASE + entry.key());
                    if self.poll.registry().register(&mut stream, token, Interest::READABLE).is_ok() {
                        entry.insert(AdminConn::new(stream));
                        log::info!("admin socket: operator connected");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("admin socket accept: {e}");
                    return;
                }
            }
        }
    }

    fn admin_ready(&mut self, key: usize) {
        let Some(conn) = self.admin_conns.get_mut(key) else { return };
        let lines = conn.read_lines();
        for line in lines {
            let reply = self.console_line(&line);
            if let Some(conn) = self.admin_conns.get_mut(key) {
                for l in reply {
                    conn.queue(&format!("{l}\r\n"));
                }
            }
        }
        let Some(conn) = self.admin_conns.get_mut(key) else { return };
        let done = conn.flush();
        if conn.closed {
            let mut conn = self.admin_conns.remove(key);
            let _ = self.poll.registry().deregister(&mut conn.stream);
            return;
        }
        if done == conn.want_write {
            let interest = if done { Interest::READABLE } else { Interest::READABLE | Interest::WRITABLE };
            let _ = self.poll.registry().reregister(&mut conn.stream, Token(ADMIN_BASE + key), interest);
            conn.want_write = !done;
        }
    }

    /// The end: every joined user gets a NOTICE, output is flushed for at
    /// most SHUTDOWN_FLUSH, the store commits and closes.
    fn shutdown(&mut self) {
        crate::systemd::notify("STOPPING=1");
        let ts = self.state.ts();
        let n = self.state.broadcast(None, &reply::notice(&ts, "server shutting down"));
        log::info!("shutting down: told {n} user(s)");
        for conn in self.state.conns.iter_mut() {
            conn.1.wait = Wait::No;
        }
        self.commit();
        // Admin replies (OK EXIT) first: they are small and local.
        for (_, conn) in self.admin_conns.iter_mut() {
            conn.flush();
        }
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        let mut events = Events::with_capacity(1024);
        loop {
            self.flush_pass();
            let pending = self.state.conns.iter().any(|(_, c)| c.unsent() > 0);
            let now = Instant::now();
            if !pending || now >= deadline {
                if pending {
                    log::warn!("shutdown: some output could not be delivered in time");
                }
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            if self.poll.poll(&mut events, Some(wait)).is_ok() {
                for event in events.iter() {
                    match event.token() {
                        SIGNALS => self.on_signals(),
                        Token(key) if key < ADMIN_BASE => self.conn_ready(key, event),
                        _ => {}
                    }
                }
            }
            // Capped connections re-list themselves; blocked ones wait for events.
            let capped: Vec<usize> =
                self.state.conns.iter().filter(|(_, c)| c.unsent() > 0 && !c.want_write).map(|(k, _)| k).collect();
            for key in capped {
                self.state.schedule_flush(key);
            }
        }
        for key in self.state.conns.iter().map(|(k, _)| k).collect::<Vec<_>>() {
            if let Some(name) = self.state.part(key) {
                self.store.user_left(&name, &ts);
            }
        }
        if let Err(e) = self.store.commit() {
            log::error!("shutdown: last commit failed: {}", e.0);
        }
        log::info!("shutdown complete");
    }

    /// Block until something happens, unless work is left over from the last
    /// pass; wake for the next join deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.to_run.is_empty() || !self.state.to_flush.is_empty() || !self.state.to_close.is_empty() {
            return Some(Duration::ZERO);
        }
        let join = self.join_deadlines.front().map(|&(when, _, _)| when);
        let flood = self.throttled.peek().map(|Reverse((when, _, _))| *when);
        let watchdog = self.watchdog.map(|(_, next)| next);
        // Out of descriptors, or connections draining: look again shortly.
        let soon =
            (self.accept_paused || !self.draining.is_empty()).then(|| Instant::now() + Duration::from_millis(50));
        let store = self.store.retry_at();
        let next = [join, flood, watchdog, soon, store].into_iter().flatten().min();
        // Round up so the timer has passed when poll returns.
        next.map(|when| when.saturating_duration_since(Instant::now()) + Duration::from_millis(1))
    }

    fn accept(&mut self, index: usize) {
        loop {
            let (sock, peer) = match self.listeners[index].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if crate::os::is_resource_exhaustion(&e) => {
                    // Out of descriptors: leave the rest in the backlog and
                    // retry once a connection closes (or in a moment), rather
                    // than spin on the same error.
                    if !self.accept_paused {
                        log::warn!("accept paused: {e}");
                        self.accept_paused = true;
                    }
                    return;
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            self.add_conn(sock, peer);
        }
    }

    /// Accept was out of descriptors: try every listener again.
    fn retry_accept(&mut self) {
        self.accept_paused = false;
        for i in 0..self.listeners.len() {
            self.accept(i);
        }
    }

    fn add_conn(&mut self, mut sock: TcpStream, peer: SocketAddr) {
        if self.state.conns.len() >= self.max_clients {
            refuse_full(&mut sock, peer);
            return;
        }
        // Replies are coalesced per pass; Nagle would only add latency.
        if let Err(e) = sock.set_nodelay(true) {
            log::debug!("{peer}: set_nodelay: {e}");
        }
        // So a peer that vanished without a FIN is noticed.
        if let Err(e) = crate::os::set_keepalive(&sock) {
            log::debug!("{peer}: keepalive: {e}");
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
        self.schedule_run(key);
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
            self.schedule_run(key);
        }
    }

    /// Reads and handles input of every connection listed in `to_run`.
    fn run_pass(&mut self) {
        let keys = std::mem::take(&mut self.to_run);
        for key in keys {
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            conn.queued_run = false;
            if self.run_conn(key) {
                self.schedule_run(key);
            }
        }
    }

    /// Handles up to LINES_PER_PASS lines of one connection. Returns true if
    /// it has more input to handle on the next pass.
    fn run_conn(&mut self, key: usize) -> bool {
        let mut budget = LINES_PER_PASS;
        loop {
            let Some(conn) = self.state.conns.get_mut(key) else { return false };
            if conn.closing.is_some() || conn.throttled || conn.wait != Wait::No {
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
                        self.state.close(key, Close::Error);
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
            if frame.is_some() {
                conn.flood.spend(rate);
            }
            if conn.decoder.has_replies() {
                // Telnet negotiation bytes are not text; they bypass reply.rs.
                let answers = conn.decoder.take_replies();
                self.state.send_bytes(key, &answers);
                if self.state.conns.get(key).is_none_or(|c| c.closing.is_some()) {
                    return false; // sendq exceeded by the answers
                }
            }
            if let Some(frame) = frame {
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
            Frame::Line(line) => handlers::dispatch(&mut self.ctx(key), &line),
        }
    }

    fn ctx(&mut self, key: usize) -> Ctx<'_> {
        Ctx {
            key,
            state: &mut self.state,
            store: &mut self.store,
            config: &self.config,
            auth: &self.auth,
            after_commit: &mut self.after_commit,
        }
    }

    /// Answers from the password worker: continue the JOIN or REGISTER that
    /// waited for them, then let the connection's later lines run.
    fn auth_results(&mut self) {
        for done in self.auth.results() {
            let Some(conn) = self.state.conns.get_mut(done.key) else { continue };
            if conn.id != done.id {
                continue; // that connection is gone and its slot reused
            }
            let step = std::mem::replace(&mut conn.wait, Wait::No);
            let mut ctx = self.ctx(done.key);
            let result = match (step, done.outcome) {
                (Wait::Auth(AuthStep::Join(name)), Outcome::Verified(ok)) => {
                    handlers::join_checked(&mut ctx, &name, ok)
                }
                (Wait::Auth(AuthStep::Register), Outcome::Hashed(hash)) => handlers::registered(&mut ctx, hash),
                (step, outcome) => {
                    log::error!("#{}: unexpected password result {outcome:?} while {step:?}", done.id);
                    Ok(())
                }
            };
            if let Err(e) = result {
                ctx.reply(&e.line());
            }
            self.schedule_run(done.key);
        }
    }

    /// Lists a connection for the next run pass.
    fn schedule_run(&mut self, key: usize) {
        if let Some(conn) = self.state.conns.get_mut(key) {
            if !conn.queued_run {
                conn.queued_run = true;
                self.to_run.push(key);
            }
        }
    }

    /// Group commit: one transaction for the pass's store writes, then the
    /// replies that promised durability, or `ERR STORAGE` in their place.
    fn commit(&mut self) {
        let result = self.store.commit();
        for d in std::mem::take(&mut self.after_commit) {
            let Some(conn) = self.state.conns.get_mut(d.key) else { continue };
            if conn.id != d.id {
                continue;
            }
            conn.wait = Wait::No;
            let line = match &result {
                Ok(()) => d.ok,
                Err(_) => {
                    Error::new(Code::Storage, "not saved: the server's storage is failing; nothing was sent").line()
                }
            };
            self.state.send(d.key, &line);
            self.schedule_run(d.key);
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
            let written = conn.take_written_marks();
            if !written.is_empty() {
                if let Some(name) = conn.name.clone() {
                    self.store.remove_pending(&name, &written);
                }
            }
            let want_write = match result {
                Ok(Flushed::All) => false,
                Ok(Flushed::Blocked) => true,
                Ok(Flushed::Capped) => {
                    // Listed again for the next pass.
                    conn.queued_flush = true;
                    self.state.to_flush.push(key);
                    false
                }
                Err(e) => {
                    log::info!("{}: write error: {e}", conn.label());
                    self.state.close(key, Close::Error);
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
        let now = Instant::now();
        let mut keys = std::mem::take(&mut self.state.to_close);
        keys.append(&mut self.draining);
        for key in keys {
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            let why = conn.closing.clone().unwrap_or(Close::Error);
            if why.flush_first() && conn.unsent() > 0 {
                // So OK LEAVE, ERR TIMEOUT or the replies to a half-closed
                // client's last lines arrive.
                let _ = conn.flush(WRITE_CAP);
            }
            let deadline = *conn.drain_deadline.get_or_insert(now + DRAIN_TIME);
            let done = !why.flush_first() || conn.unsent() == 0 || now >= deadline;
            let label = conn.label();
            if let Some(name) = self.state.part(key) {
                log::info!("{label}: left ({})", describe(&why));
                let ts = self.state.ts();
                self.store.user_left(&name, &ts);
                self.state.broadcast(None, &reply::left(&ts, &name, &why.reason()));
            }
            if !done {
                self.draining.push(key); // output still going out: look again next pass
                continue;
            }
            let mut conn = self.state.conns.remove(key);
            let _ = self.poll.registry().deregister(&mut conn.sock);
            let _ = conn.sock.shutdown(std::net::Shutdown::Both);
            log::info!("{label}: closed ({})", describe(&why));
        }
    }
}

fn describe(why: &Close) -> String {
    match why {
        Close::Leave(_) => "left".to_string(),
        other => other.reason(),
    }
}

/// Tells a connection over max_clients why it is being closed.
fn refuse_full(sock: &mut TcpStream, peer: SocketAddr) {
    use std::io::Write;
    log::warn!("{peer}: refused, server full");
    let e = Error::new(Code::ServerFull, "too many connections; try again later");
    let _ = sock.write(e.line().as_bytes());
    let _ = sock.shutdown(std::net::Shutdown::Both);
}
