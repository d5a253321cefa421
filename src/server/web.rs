//! The browser client's HTTP connections: accepted on an `http_listen`
//! listener, they read one request head (bounded in size by
//! `web::http::MAX_HEAD` and in time by join_timeout), and either get an
//! answer (a page file or an error) and are closed once it is written, or
//! are upgraded to a WebSocket and become ordinary client connections
//! (`accept.rs`'s `add_conn`). The WebSocket ping sweep lives here too.

use super::tokens::Source;
use super::Server;
use crate::conn::{Close, Transport};
use crate::tls::Socket;
use crate::web::http::{self, Parsed, Policy, Route};
use crate::web::ws::WsStream;
use mio::Interest;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most HTTP connections reading their head at once: more are closed at
/// accept (a page load makes three, a WebSocket one).
const MAX_PENDING: usize = 256;

/// An HTTP connection before its answer is written or its upgrade done.
#[derive(Debug)]
pub struct HttpConn {
    id: u64,
    /// Plain TCP (`http_listen`) or TLS (`https_listen`).
    sock: Socket,
    peer: SocketAddr,
    /// The listener it came in on (its policy).
    listener: usize,
    /// The request head so far.
    head: Vec<u8>,
    /// The answer, and how much of it is written; once set, nothing more is read.
    answer: Option<(Vec<u8>, usize)>,
}

impl Server {
    /// Accepts every waiting connection of HTTP listener `index`.
    pub(super) fn accept_http(&mut self, index: usize) {
        while let Some((mut tcp, peer)) = self.next_accepted(index) {
            let tls = self.listeners[index].tls;
            if self.http_conns.len() >= MAX_PENDING {
                log::warn!("{peer}: http refused, {MAX_PENDING} requests pending");
                if !tls {
                    let _ = tcp.write(&http::plain(503, "too many requests at once; try again"));
                }
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let Some(mut sock) = self.open_socket(index, tcp, peer) else { continue };
            let entry = self.http_conns.vacant_entry();
            let key = entry.key();
            if let Err(e) = self.poll.registry().register(sock.tcp(), Source::Http(key).token(), Interest::READABLE) {
                log::warn!("#{id} {peer}: cannot register: {e}");
                continue;
            }
            entry.insert(HttpConn { id, sock, peer, listener: index, head: Vec::new(), answer: None });
            let deadline = Instant::now() + Duration::from_secs(self.config.join_timeout);
            self.http_deadlines.push_back((deadline, key, id));
            // Bytes may already be there.
            self.http_ready(key);
        }
    }

    /// Reads an HTTP connection's head and answers it, or writes more of
    /// its answer.
    pub(super) fn http_ready(&mut self, key: usize) {
        let Some(c) = self.http_conns.get_mut(key) else { return };
        if c.answer.is_none() {
            let mut buf = [0u8; 2048];
            let mut eof = false;
            loop {
                match c.sock.read(&mut buf) {
                    Ok(0) => {
                        // `printf 'GET / ...' | nc -N`: the head may be whole.
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        c.head.extend_from_slice(&buf[..n]);
                        if c.head.len() > http::MAX_HEAD {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return self.drop_http(key, &format!("read error: {e}")),
                }
            }
            let head = match http::parse_head(&c.head) {
                Parsed::Partial if eof => return self.drop_http(key, "closed before its request was complete"),
                Parsed::Partial => return,
                Parsed::Bad(status) => {
                    log::info!("#{} {}: http {status}: bad request head", c.id, c.peer);
                    http::plain(status, "that request cannot be read")
                }
                Parsed::Head(head) => {
                    let listener = c.listener;
                    let policy = self.policy(listener);
                    let route = http::route(&head, &policy);
                    let c = &self.http_conns[key];
                    match route {
                        Route::Upgrade(response) => return self.upgrade(key, head.len, response),
                        Route::Answer(bytes) => {
                            let status = String::from_utf8_lossy(&bytes[9..12.min(bytes.len())]).into_owned();
                            log::debug!("#{} {}: http {} {} -> {status}", c.id, c.peer, head.method, head.path);
                            if status != "200" && status != "204" {
                                log::info!("#{} {}: http {} {} -> {status}", c.id, c.peer, head.method, head.path);
                            }
                            bytes
                        }
                    }
                }
            };
            let c = &mut self.http_conns[key];
            c.answer = Some((head, 0));
            c.head = Vec::new();
        }
        self.write_answer(key);
    }

    /// Writes what is left of an answer; closes the connection when done.
    fn write_answer(&mut self, key: usize) {
        let Some(c) = self.http_conns.get_mut(key) else { return };
        let Some((bytes, done)) = c.answer.as_mut() else { return };
        loop {
            // The answer, then what TLS still holds of it.
            let step =
                if *done < bytes.len() { c.sock.write(&bytes[*done..]) } else { c.sock.send_pending().map(|()| 0) };
            match step {
                Ok(0) if *done < bytes.len() => return self.drop_http(key, "write returned 0"),
                Ok(0) => break,
                Ok(n) => *done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let token = Source::Http(key).token();
                    if let Err(e) = self.poll.registry().reregister(c.sock.tcp(), token, Interest::WRITABLE) {
                        self.drop_http(key, &format!("reregister: {e}"));
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.drop_http(key, &format!("write error: {e}")),
            }
        }
        let mut c = self.http_conns.remove(key);
        let _ = self.poll.registry().deregister(c.sock.tcp());
        if let Socket::Tls(t) = &mut c.sock {
            t.close_notify();
        }
        let _ = c.sock.tcp().shutdown(std::net::Shutdown::Write);
    }

    fn drop_http(&mut self, key: usize, why: &str) {
        if let Some(mut c) = self.http_conns.try_remove(key) {
            log::debug!("#{} {}: http connection dropped: {why}", c.id, c.peer);
            let _ = self.poll.registry().deregister(c.sock.tcp());
        }
    }

    /// The Origin and Host rules of HTTP listener `index`.
    fn policy(&self, index: usize) -> Policy {
        let listener = self.listeners.get(index);
        let loopback = listener.and_then(|l| l.socket.local_addr().ok()).is_some_and(|a| a.ip().is_loopback());
        let tls = listener.is_some_and(|l| l.tls);
        Policy { loopback, tls, origins: self.config.http_origins.clone() }
    }

    /// `GET /ws` accepted: the connection becomes a client whose transport
    /// is a WebSocket; its 101 goes out ahead of HELLO.
    fn upgrade(&mut self, key: usize, head_len: usize, response: Vec<u8>) {
        let mut c = self.http_conns.remove(key);
        let _ = self.poll.registry().deregister(c.sock.tcp());
        if self.state.conns.len() >= self.max_clients {
            log::warn!("{}: WebSocket refused, server full", c.peer);
            let _ = c.sock.write(&http::plain(503, "too many connections; try again later"));
            return;
        }
        let leftover = c.head.split_off(head_len.min(c.head.len()));
        let ws = WsStream::new(c.sock, leftover, self.config.max_line);
        self.add_conn(Transport::Ws(Box::new(ws)), c.peer, self.listeners[c.listener].dialect, &response);
        if self.next_ping.is_none() && self.config.ws_ping_interval > 0 {
            self.next_ping = Some(Instant::now() + self.ping_every());
        }
    }

    /// Closes HTTP connections whose request head did not come in time.
    pub(super) fn expire_http(&mut self) {
        let now = Instant::now();
        while let Some(&(deadline, key, id)) = self.http_deadlines.front() {
            if deadline > now {
                break;
            }
            self.http_deadlines.pop_front();
            if let Some(c) = self.http_conns.get_mut(key).filter(|c| c.id == id) {
                log::info!("#{} {}: http request not complete within {} s", c.id, c.peer, self.config.join_timeout);
                if c.answer.is_none() {
                    let _ = c.sock.write(&http::plain(408, "the request took too long"));
                }
                self.drop_http(key, "timeout");
            }
        }
    }

    /// The next HTTP deadline, for the poll timeout.
    pub(super) fn http_deadline(&self) -> Option<Instant> {
        self.http_deadlines.front().map(|&(when, _, _)| when)
    }

    /// How often the WebSockets are looked at: half the ping interval, so
    /// a quiet one is pinged between one and one and a half intervals.
    fn ping_every(&self) -> Duration {
        Duration::from_secs(self.config.ws_ping_interval.max(1)) / 2
    }

    /// Pings WebSockets quiet for ws_ping_interval; closes those quiet for
    /// two ("ping timeout"). A ping keeps proxies from cutting an idle
    /// connection and finds a vanished browser in about a minute.
    pub(super) fn ping_websockets(&mut self) {
        let Some(when) = self.next_ping else { return };
        let now = Instant::now();
        if now < when {
            return;
        }
        let interval = Duration::from_secs(self.config.ws_ping_interval);
        let mut ping = Vec::new();
        let mut dead = Vec::new();
        let mut any = false;
        for (key, conn) in self.state.conns.iter_mut() {
            let Transport::Ws(w) = &mut conn.transport else { continue };
            any = true;
            let quiet = now.saturating_duration_since(w.last_rx);
            if quiet >= 2 * interval {
                dead.push(key);
            } else if quiet >= interval && !w.ping_sent {
                w.ping_sent = true;
                ping.push(key);
            }
        }
        for key in ping {
            self.state.send_raw(key, &crate::web::ws::ping_frame());
        }
        for key in dead {
            self.state.close(key, Close::WsError(1001, "ping timeout"));
        }
        self.next_ping = any.then(|| now + self.ping_every());
    }
}
