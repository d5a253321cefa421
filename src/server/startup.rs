//! Start-up: the listeners (bound, or passed by systemd), the store, the
//! signal descriptor and the password worker, before the loop runs. Every
//! failure here is a [`StartError`]: `main` prints it as one line and exits 2.

use super::tokens::{Source, ADMIN_LISTENER, MAX_LISTENERS, SIGNALS, WAKER};
use super::{Listener, Server, DELIVERY_POLL_MIN, READ_CHUNK};
use crate::auth::Worker;
use crate::config::Config;
use crate::console::AdminSocket;
use crate::dialect::Dialect;
use crate::signals::Signals;
use crate::state::State;
use crate::store::Store;
use mio::net::TcpListener;
use mio::unix::SourceFd;
use mio::{Interest, Poll};
use std::collections::{BinaryHeap, VecDeque};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

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
            Some(fds) => activated_listeners(fds.map_err(StartError)?, &mut warnings)?,
            None => bind_listeners(&config, &mut warnings)?,
        };
        listeners.extend(bind_http_listeners(&config, &mut warnings)?);
        if listeners.len() > MAX_LISTENERS {
            return Err(StartError(format!(
                "{} listening sockets: chatd serves at most {MAX_LISTENERS}",
                listeners.len()
            )));
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(&mut l.socket, Source::Listener(i).token(), Interest::READABLE)
                .map_err(|e| StartError(format!("cannot register listener: {e}")))?;
        }
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) if listeners.iter().any(|l| l.tls) => {
                Some(crate::tls::Tls::load(cert, key).map_err(StartError)?)
            }
            _ => None,
        };
        let (store, clocks) = Store::open_with(&config.db, config.wal_limit).map_err(StartError)?;
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
            state: State::new(max_sendq, clocks),
            store,
            tls,
            auth,
            after_commit: Vec::new(),
            to_run: Vec::new(),
            to_run_again: Vec::new(),
            delivery_poll: (Instant::now(), DELIVERY_POLL_MIN),
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
            busy_since_trim: false,
            last_trim: Instant::now(),
            last_fanout: Instant::now(),
            linger_until: None,
            http_conns: slab::Slab::new(),
            http_deadlines: VecDeque::new(),
            next_ping: None,
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

/// Binds the configured listen addresses: each setting's, with its
/// protocol and whether it speaks TLS.
fn bind_listeners(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<Listener>, StartError> {
    let mut listeners = Vec::new();
    let default_listen = config.listen == crate::config::DEFAULT_LISTEN;
    let groups =
        [(&config.listen, Dialect::Chatd, false, default_listen), (&config.tls_listen, Dialect::Chatd, true, false)];
    for (specs, dialect, tls, defaults) in groups {
        for spec in specs {
            let addrs = crate::config::parse_addr(spec).map_err(StartError)?;
            for addr in addrs {
                match TcpListener::bind(addr) {
                    Ok(l) => {
                        if let Err(e) = crate::os::set_backlog(&l, crate::os::LISTEN_BACKLOG) {
                            warnings.push(format!("{addr}: cannot raise the listen backlog: {e}"));
                        }
                        listeners.push(Listener { socket: l, dialect, tls, http: false });
                    }
                    // A machine without IPv6 still runs on the default listeners.
                    Err(e) if defaults && addr.is_ipv6() && crate::os::is_no_ipv6(&e) => {
                        warnings.push(format!("IPv6 listener {addr} not available ({e}); continuing without it"));
                    }
                    Err(e) => return Err(StartError(format!("cannot listen on {addr}: {e}"))),
                }
            }
        }
    }
    bind_irc(config, &mut listeners, warnings)?;
    Ok(listeners)
}

/// Binds the IRC listeners (`irc_listen`). The defaults (loopback, port
/// 6667) are a convenience: if one cannot be bound (another IRC server
/// has the port), chatd warns and goes on without it; an address the
/// operator chose must work.
fn bind_irc(config: &Config, listeners: &mut Vec<Listener>, warnings: &mut Vec<String>) -> Result<(), StartError> {
    crate::irc::configure(crate::irc::Settings {
        server_name: config.irc_server_name.clone(),
        channel: config.irc_channel.clone(),
    });
    let default_irc = config.irc_listen == crate::config::DEFAULT_IRC_LISTEN;
    for spec in &config.irc_listen {
        for addr in crate::config::parse_addr(spec).map_err(StartError)? {
            match TcpListener::bind(addr) {
                Ok(l) => listeners.push(Listener { socket: l, dialect: Dialect::Irc, tls: false, http: false }),
                Err(e) if default_irc => {
                    warnings.push(format!(
                        "IRC listener {addr} not available ({e}); continuing without it (see irc_listen)"
                    ));
                }
                Err(e) => return Err(StartError(format!("cannot listen for IRC on {addr}: {e}"))),
            }
        }
    }
    // IRC over TLS (the usual port is 6697): none by default.
    for spec in &config.irc_tls_listen {
        for addr in crate::config::parse_addr(spec).map_err(StartError)? {
            let l = TcpListener::bind(addr)
                .map_err(|e| StartError(format!("cannot listen for IRC over TLS on {addr}: {e}")))?;
            listeners.push(Listener { socket: l, dialect: Dialect::Irc, tls: true, http: false });
        }
    }
    Ok(())
}

/// Binds the browser client's addresses (`http_listen`). The default ones
/// are a convenience: one that cannot be bound (the port is taken, no
/// IPv6) is a warning, not a reason to refuse to start.
fn bind_http_listeners(config: &Config, warnings: &mut Vec<String>) -> Result<Vec<Listener>, StartError> {
    let mut listeners = Vec::new();
    let default = config.http_listen == crate::config::DEFAULT_HTTP_LISTEN;
    for spec in &config.http_listen {
        for addr in crate::config::parse_addr(spec).map_err(StartError)? {
            match TcpListener::bind(addr) {
                Ok(l) => {
                    if let Err(e) = crate::os::set_backlog(&l, crate::os::LISTEN_BACKLOG) {
                        warnings.push(format!("{addr}: cannot raise the listen backlog: {e}"));
                    }
                    listeners.push(Listener { socket: l, dialect: Dialect::Chatd, tls: false, http: true });
                }
                Err(e) if default => warnings.push(format!("web page not served on {addr}: {e}")),
                Err(e) => return Err(StartError(format!("cannot serve the web page on {addr}: {e}"))),
            }
        }
    }
    // The page over TLS (`https://`, its WebSocket `wss://`): none by default.
    for spec in &config.https_listen {
        for addr in crate::config::parse_addr(spec).map_err(StartError)? {
            let l = TcpListener::bind(addr)
                .map_err(|e| StartError(format!("cannot serve the web page over TLS on {addr}: {e}")))?;
            if let Err(e) = crate::os::set_backlog(&l, crate::os::LISTEN_BACKLOG) {
                warnings.push(format!("{addr}: cannot raise the listen backlog: {e}"));
            }
            listeners.push(Listener { socket: l, dialect: Dialect::Chatd, tls: true, http: true });
        }
    }
    Ok(listeners)
}

/// Takes the listening sockets systemd passed (socket activation); they
/// serve chatd's line protocol.
fn activated_listeners(
    fds: Vec<std::net::TcpListener>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Listener>, StartError> {
    if fds.is_empty() {
        return Err(StartError("LISTEN_FDS is set but passes no sockets".into()));
    }
    warnings.push(format!("using {} listening socket(s) from systemd; listen settings ignored", fds.len()));
    fds.into_iter()
        .map(|l| {
            l.set_nonblocking(true).map_err(|e| StartError(format!("passed socket is not usable: {e}")))?;
            Ok(Listener { socket: TcpListener::from_std(l), dialect: Dialect::Chatd, tls: false, http: false })
        })
        .collect()
}
