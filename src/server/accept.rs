//! New connections: accept on a listener, refuse past max_clients, and
//! hand each accepted socket its `Conn`.

use super::tokens::Source;
use super::Server;
use crate::conn::{Conn, Transport};
use crate::dialect::Dialect;
use crate::reply::{Code, Error, Reply};
use crate::tls::Socket;
use mio::net::TcpStream;
use mio::Interest;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

impl Server {
    /// Accepts every waiting connection of listener `index`.
    pub(super) fn accept(&mut self, index: usize) {
        while let Some((sock, peer)) = self.next_accepted(index) {
            let dialect = self.listeners[index].dialect;
            let Some(socket) = self.open_socket(index, sock, peer) else { continue };
            self.add_conn(Transport::Stream(socket), peer, dialect, &[]);
        }
    }

    /// The byte stream of a connection accepted on listener `index`: the
    /// socket as it is, or TLS over it if the listener speaks TLS. `None`
    /// (logged) if TLS cannot start.
    pub(super) fn open_socket(&self, index: usize, sock: TcpStream, peer: SocketAddr) -> Option<Socket> {
        match (self.listeners[index].tls, &self.tls) {
            (true, Some(config)) => match config.accept(sock) {
                Ok(stream) => Some(Socket::Tls(Box::new(stream))),
                Err(e) => {
                    log::warn!("{peer}: cannot start TLS: {e}");
                    None
                }
            },
            _ => Some(Socket::Tcp(sock)),
        }
    }

    /// The next waiting connection of listener `index`; `None` once the
    /// backlog is empty, or accept failed (logged), or the descriptors ran
    /// out: then accepting pauses, and the rest stays in the backlog until
    /// a connection closes (or in a moment), rather than spin on the same
    /// error. Both kinds of listener accept through it.
    pub(super) fn next_accepted(&mut self, index: usize) -> Option<(TcpStream, SocketAddr)> {
        loop {
            match self.listeners.get(index)?.socket.accept() {
                Ok(pair) => return Some(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if crate::os::is_resource_exhaustion(&e) => {
                    if !self.accept_paused {
                        log::warn!("accept paused: {e}");
                        self.accept_paused = true;
                    }
                    return None;
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    return None;
                }
            }
        }
    }

    /// Accept was out of descriptors: try every listener again.
    pub(super) fn retry_accept(&mut self) {
        self.accept_paused = false;
        for i in 0..self.listeners.len() {
            if self.listeners[i].http {
                self.accept_http(i);
            } else {
                self.accept(i);
            }
        }
    }

    /// A new client connection: registered, sent `preface` (a WebSocket's
    /// upgrade response) then greeted with HELLO, and given join_timeout to
    /// JOIN.
    pub(super) fn add_conn(&mut self, mut transport: Transport, peer: SocketAddr, dialect: Dialect, preface: &[u8]) {
        let tls = transport.is_tls();
        let sock = transport.socket().tcp();
        if self.state.conns.len() >= self.max_clients {
            if tls {
                // No handshake for a refused connection: it just closes.
                log::warn!("{peer}: refused, server full");
                let _ = sock.shutdown(std::net::Shutdown::Both);
            } else {
                refuse_full(sock, peer, dialect);
            }
            return;
        }
        // Replies are coalesced per pass; Nagle would only add latency.
        if let Err(e) = sock.set_nodelay(true) {
            log::debug!("{peer}: set_nodelay: {e}");
        }
        // So a peer that vanished without a FIN is noticed.
        if let Err(e) = crate::os::set_keepalive(sock) {
            log::debug!("{peer}: keepalive: {e}");
        }
        let id = self.next_id;
        self.next_id += 1;
        let entry = self.state.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = transport.register(self.poll.registry(), Source::Client(key).token(), Interest::READABLE) {
            log::warn!("#{id} {peer}: cannot register: {e}");
            return;
        }
        let conn = entry.insert(Conn::new(
            id,
            transport,
            dialect,
            peer,
            dialect.max_line(self.config.max_line),
            self.config.flood_burst,
        ));
        log::info!("{}: connected{}", conn.label(), if conn.is_ws() { " (WebSocket)" } else { "" });
        // From now: the connection keeps no time of its own for it.
        let deadline = Instant::now() + Duration::from_secs(self.config.join_timeout);
        self.join_deadlines.push_back((deadline, key, id));
        // Bytes may already be waiting; reading finds out.
        conn.readable = true;
        self.schedule_run(key);
        if !preface.is_empty() {
            self.state.send_raw(key, preface);
        }
        if let Some(greeting) = dialect.greeting() {
            self.state.send(key, &greeting);
        }
    }
}

/// Tells a connection over max_clients why it is being closed. It has no
/// `Conn`, so the reply is rendered in its listener's dialect and written
/// to the socket at once, best effort.
fn refuse_full(sock: &mut TcpStream, peer: SocketAddr, dialect: Dialect) {
    use std::io::Write;
    log::warn!("{peer}: refused, server full");
    let e = Error::new(Code::ServerFull, "too many connections; try again later");
    let _ = sock.write(dialect.reply(&Reply::Err(&e)).as_bytes());
    let _ = sock.shutdown(std::net::Shutdown::Both);
}
