//! The event loop: one thread, one `mio::Poll`. [`Server::run`] reads as
//! the passes, in order; each stage has its own file here: `startup.rs`
//! (listeners, store, signals), `tokens.rs` (what each poll token stands
//! for), `accept.rs` (new connections), `passes.rs` (run, commit,
//! deliveries, flush, close), `timers.rs` (how long to sleep, what is due),
//! `console.rs` (stdin and admin-socket I/O), `shutdown.rs`.
//!
//! Each pass of [`Server::run`]:
//! 1. poll; accept on listeners; note which connections are readable or
//!    writable (readiness is edge-triggered, so it is remembered on the
//!    connection until the socket says `WouldBlock`);
//! 2. run pass: read and decode each readable connection's lines and
//!    dispatch them to `handlers/`; one connection's turn is bounded in
//!    lines, bytes read and output caused, and the pass in time, so one busy
//!    client cannot hold up the rest (those with new input go first);
//! 3. group commit: the store writes of the pass are committed in one
//!    transaction, before anything of the pass reaches a socket; only then
//!    are the replies that promise durability (`OK MSG bob stored`) queued,
//!    or `ERR STORAGE` if the commit failed;
//! 4. offline deliveries (`delivery.rs`) take acknowledgements and feed
//!    the next stored messages; flush pass: write every connection's queued
//!    output, at most `conn::WRITE_CAP` bytes each, replies to this pass's
//!    lines first; WRITABLE interest only while bytes remain;
//! 5. close pass: connections marked closing (by a handler, a failed read,
//!    or sendq) are removed here, never from inside a handler, once their
//!    last output is out (and their stored messages acknowledged, bounded
//!    by DRAIN_TIME), and their `LEFT` is announced.
//!
//! Timers (join_timeout, flood control, the systemd watchdog) bound the poll
//! timeout. Password hashing (`auth.rs`) and the stdin console
//! (`console.rs`) run on threads that wake the loop through one
//! `mio::Waker`; SIGTERM/SIGINT arrive on a signalfd (`signals.rs`).
//! EXIT or a signal ends the loop: [`Server::run`] then tells every user,
//! flushes for a bounded time, and closes the store.

mod accept;
mod console;
mod passes;
mod shutdown;
mod startup;
mod timers;
mod tokens;
mod web;

pub use startup::StartError;

use crate::auth::Worker;
use crate::config::Config;
use crate::console::{AdminConn, AdminSocket, StdinEvent};
use crate::dialect::Dialect;
use crate::handlers::{Ctx, Durable};
use crate::signals::Signals;
use crate::state::State;
use crate::store::Store;
use mio::net::TcpListener;
use mio::{Events, Poll};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokens::Source;

/// Lines handled per connection per pass before the others get their turn.
const LINES_PER_PASS: usize = 64;
/// Lines one connection's commands may queue (for everyone) per pass: a
/// client broadcasting to thousands gets its turn, then the others theirs.
const OUTPUT_PER_PASS: u64 = 16 * 1024;
/// Longest stretch the run, flush and close passes each work through their
/// lists before leaving the rest for the next pass: a pass stays short
/// however many connections have work, so a client waiting for a reply
/// (served first in the next pass) never waits behind bulk fan-out.
const STAGE_TIME: Duration = Duration::from_millis(2);
/// How often an offline delivery looks for acknowledgements: soon while
/// they come, backing off to the slower figure while they do not.
const DELIVERY_POLL_MIN: Duration = Duration::from_millis(1);
const DELIVERY_POLL_MAX: Duration = Duration::from_millis(100);
/// Size of the one read buffer shared by all connections.
const READ_CHUNK: usize = 16 * 1024;
/// How long EXIT and SIGTERM wait for output to reach the users.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);
/// At most how often an idle loop hands free heap memory back.
const TRIM_EVERY: Duration = Duration::from_secs(1);
/// How long a closing connection may take to receive its last replies.
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// Fan-out flushes are at most this often: a pass whose output goes to
/// many connections (a broadcast) within this time of the last such flush
/// waits for the rest of it, and the messages that come meanwhile go out
/// in the same writes. One broadcast to N users is N write calls (and N
/// wake-ups of their readers), the bulk of what a message costs at a
/// steady load; waiting at most this long lets the next ones share them.
/// Replies to one client (a request, its answer) never wait: see
/// `LINGER_FANOUT`.
const FLUSH_LINGER: Duration = Duration::from_millis(1);
/// Connections a pass must have output for to be a fan-out.
const LINGER_FANOUT: usize = 16;

/// A listening socket and the protocol it serves: `listen` is chatd's line
/// protocol; `irc_listen` and `http_listen` add listeners of other dialects.
struct Listener {
    socket: TcpListener,
    dialect: Dialect,
    /// Connections speak TLS first (`tls_listen`).
    tls: bool,
    /// An `http_listen` listener: its connections start as HTTP requests
    /// (`web.rs`), and those upgraded to a WebSocket speak `dialect`.
    http: bool,
}

/// A running server.
pub struct Server {
    config: Config,
    poll: Poll,
    listeners: Vec<Listener>,
    state: State,
    store: Store,
    /// The certificate TLS listeners present, when there are any.
    tls: Option<crate::tls::Tls>,
    auth: Worker,
    /// Replies waiting for this pass's commit.
    after_commit: Vec<Durable>,
    /// Connections with new input to process in the next run pass, and
    /// those that used up their turn in the last one (run after them).
    to_run: Vec<usize>,
    to_run_again: Vec<usize>,
    /// When offline deliveries look for acknowledgements next, and how long
    /// the wait is (shorter while they move).
    delivery_poll: (Instant, Duration),
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
    /// The loop has done work since it last gave memory back, and when
    /// that was.
    busy_since_trim: bool,
    last_trim: Instant,
    /// When output last went to many connections at once, and until when
    /// this pass's output waits for more to share its writes (FLUSH_LINGER).
    last_fanout: Instant,
    linger_until: Option<Instant>,
    /// HTTP connections not yet answered or upgraded (`web.rs`), and their
    /// deadlines for a complete request: (deadline, key, id).
    http_conns: slab::Slab<web::HttpConn>,
    http_deadlines: VecDeque<(Instant, usize, u64)>,
    /// When the WebSockets are next looked at for pings.
    next_ping: Option<Instant>,
}

impl Server {
    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter(|l| !l.http).filter_map(|l| l.socket.local_addr().ok()).collect()
    }

    /// Serves until EXIT, SIGTERM or SIGINT (then shuts down cleanly and
    /// returns `Ok`), or a fatal poll error.
    pub fn run(&mut self) -> io::Result<()> {
        self.start_serving();
        let mut events = Events::with_capacity(1024);
        while !self.exit {
            let timeout = self.poll_timeout();
            let timeout = self.trim_if_idle(timeout, !events.is_empty());
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match Source::of(event.token()) {
                    Source::Waker => {
                        self.auth_results();
                        self.stdin_lines();
                    }
                    Source::Signals => self.on_signals(),
                    Source::AdminListener => self.accept_admin(),
                    Source::Listener(i) if self.listeners.get(i).is_some_and(|l| l.http) => self.accept_http(i),
                    Source::Listener(i) => self.accept(i),
                    Source::Http(key) => self.http_ready(key),
                    Source::Admin(key) => self.admin_ready(key),
                    Source::Client(key) => self.conn_ready(key, event),
                }
            }
            self.expire_joins();
            self.expire_http();
            self.ping_websockets();
            self.release_throttled();
            self.run_pass();
            if self.linger() {
                continue;
            }
            // Commit before anything of this pass is seen: a recipient never
            // sees a message (or a clock) that a crash could take back.
            self.commit();
            self.advance_deliveries();
            self.flush_pass();
            // After the flush, so a closing connection's last replies are out;
            // its LEFT goes to the others in the next pass.
            self.close_pass();
            if self.accept_paused {
                self.retry_accept();
            }
            // Leaves, and stored messages the peers acknowledged.
            if self.store.has_pending_writes(self.state.clocks()) {
                self.commit();
            }
            self.watchdog_ping();
        }
        self.shutdown();
        Ok(())
    }

    /// True while this pass's output waits for more to go out in the same
    /// writes (see FLUSH_LINGER): a fan-out soon after the last one.
    fn linger(&mut self) -> bool {
        let now = Instant::now();
        if let Some(until) = self.linger_until {
            if now < until && !self.exit {
                return true;
            }
            self.linger_until = None;
            self.last_fanout = now;
            return false;
        }
        if self.state.to_flush.len() < LINGER_FANOUT {
            return false;
        }
        let until = self.last_fanout + FLUSH_LINGER;
        if now < until && !self.exit {
            self.linger_until = Some(until);
            return true;
        }
        self.last_fanout = now;
        false
    }

    /// Logs what start-up found, starts the stdin console, tells systemd
    /// the server is ready.
    fn start_serving(&mut self) {
        for w in self.warnings.drain(..) {
            log::warn!("{w}");
        }
        for l in &self.listeners {
            if l.http {
                // Not "listening on": scripts and the tests read that line
                // for the line protocol's address.
                if let Ok(addr) = l.socket.local_addr() {
                    log::info!("web page at {}://{addr}/", if l.tls { "https" } else { "http" });
                }
                continue;
            }
            match (l.socket.local_addr(), l.dialect) {
                (Ok(addr), dialect) if l.tls => log::info!("TLS listener on {addr} ({})", dialect.name()),
                // Operators' scripts and the tests read this line as it is.
                (Ok(addr), Dialect::Chatd) => log::info!("listening on {addr}"),
                // Not "listening on": that line means the line protocol.
                (Ok(addr), Dialect::Irc) => log::info!("IRC clients on {addr}"),
                (Err(_), _) => {}
            }
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

    /// SIGTERM/SIGINT: the first starts a clean shutdown; one more while
    /// shutting down exits at once. SIGHUP reloads the TLS certificate.
    fn on_signals(&mut self) {
        for signo in self.signals.read() {
            if signo == libc::SIGHUP {
                self.reload_tls();
                continue;
            }
            if self.exit {
                log::warn!("{} during shutdown: exiting now", crate::signals::name(signo));
                std::process::exit(128 + signo);
            }
            log::info!("{}: shutting down", crate::signals::name(signo));
            self.exit = true;
        }
    }

    /// SIGHUP: the TLS certificate and key are read again (a renewal);
    /// new connections get them, open ones keep theirs. A file that is not
    /// usable leaves the old ones in place.
    fn reload_tls(&mut self) {
        match self.tls.as_mut() {
            None => log::info!("SIGHUP: no TLS listener, nothing to reload"),
            Some(tls) => match tls.reload() {
                Ok(()) => log::info!("SIGHUP: TLS certificate and key reloaded"),
                Err(e) => log::error!("SIGHUP: keeping the old TLS certificate: {e}"),
            },
        }
    }

    /// What a handler may touch, for connection `key`.
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

    /// Lists a connection for the next run pass.
    fn schedule_run(&mut self, key: usize) {
        if let Some(conn) = self.state.conns.get_mut(key) {
            if !conn.queued_run {
                conn.queued_run = true;
                self.to_run.push(key);
            }
        }
    }
}
