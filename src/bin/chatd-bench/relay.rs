//! `chatd-bench relay`: a bare relay, to show the load generator's own ceiling.
//!
//! One mio thread doing the least chatd-bench's chatd client needs for the
//! broadcast and latency workloads: `JOIN <name>` gets `OK JOIN <name>
//! pending=0`; `ALL <text>` goes to every other joined client as `ALL <ts>
//! <name> <text>` (a constant timestamp as long as chatd's, so a delivery is
//! as many bytes) and the sender gets `OK ALL delivered=<n>`; `PING [t]` gets
//! `PONG [t]`. No storage, no clocks, no checks. Output is coalesced: one
//! write per connection per poll pass; TCP_NODELAY. Bounded: a client whose
//! output passes 4 MiB or whose line passes 64 KiB is dropped, and the relay
//! exits after `limit` (or when killed).

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX);
const MAX_OUT: usize = 4 << 20;
const MAX_LINE: usize = 64 << 10;
/// As long as chatd's timestamps (`2026-11-21T12:01:02Z`).
const TS: &str = "2026-01-01T00:00:00Z";

struct Conn {
    sock: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    name: Option<String>,
    /// Listed in `Relay::pending` (output to write, or to be closed).
    pending: bool,
    dead: bool,
}

struct Relay {
    poll: Poll,
    listener: TcpListener,
    conns: Slab<Conn>,
    joined: Vec<usize>,
    pending: Vec<usize>,
    deliveries: u64,
    /// The read buffer, shared by every connection.
    rbuf: Vec<u8>,
}

/// The shared read buffer's size.
const READ_BUF: usize = 256 << 10;

/// Serves on `addr` for `limit`; returns a summary line.
pub fn serve(addr: SocketAddr, limit: Duration) -> io::Result<String> {
    let poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr)?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut r = Relay {
        poll,
        listener,
        conns: Slab::new(),
        joined: Vec::new(),
        pending: Vec::new(),
        deliveries: 0,
        rbuf: vec![0; READ_BUF],
    };
    let start = Instant::now();
    let mut events = Events::with_capacity(1024);
    while start.elapsed() < limit {
        match r.poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for e in events.iter() {
            match e.token() {
                LISTENER => r.accept()?,
                Token(k) if e.is_readable() => r.read(k), // lists k too
                Token(k) => mark(&mut r.conns, &mut r.pending, k),
            }
        }
        r.flush()?;
    }
    Ok(format!("relay secs={:.2} deliveries={}", start.elapsed().as_secs_f64(), r.deliveries))
}

/// Lists connection `k` for this pass's flush.
fn mark(conns: &mut Slab<Conn>, pending: &mut Vec<usize>, k: usize) {
    if let Some(c) = conns.get_mut(k).filter(|c| !c.pending) {
        c.pending = true;
        pending.push(k);
    }
}

/// Appends to `k`'s output, dropping `k` past `MAX_OUT`; false if dropped.
#[inline]
fn push(conns: &mut Slab<Conn>, pending: &mut Vec<usize>, k: usize, bytes: &[u8]) -> bool {
    let c = &mut conns[k];
    c.dead |= c.out.len() + bytes.len() > MAX_OUT;
    let alive = !c.dead;
    if alive {
        c.out.extend_from_slice(bytes);
    }
    if !c.pending {
        c.pending = true;
        pending.push(k);
    }
    alive
}

impl Relay {
    fn accept(&mut self) -> io::Result<()> {
        loop {
            let mut sock = match self.listener.accept() {
                Ok((sock, _)) => sock,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            };
            sock.set_nodelay(true)?;
            let entry = self.conns.vacant_entry();
            // Edge-triggered: WRITABLE is reported only when a full socket buffer drains.
            self.poll.registry().register(&mut sock, Token(entry.key()), Interest::READABLE | Interest::WRITABLE)?;
            let (inbuf, out) = (Vec::new(), Vec::new());
            entry.insert(Conn { sock, inbuf, out, name: None, pending: false, dead: false });
        }
    }

    /// Reads what `k` sent and handles each complete line, a buffer at a
    /// time; a partial line waits in `k`'s `inbuf`.
    fn read(&mut self, k: usize) {
        let Some(c) = self.conns.get_mut(k) else { return };
        let mut buf = std::mem::take(&mut self.rbuf);
        let mut filled = c.inbuf.len(); // at most MAX_LINE, well under READ_BUF
        buf[..filled].copy_from_slice(&c.inbuf);
        c.inbuf.clear();
        while !self.conns[k].dead {
            let c = &mut self.conns[k];
            let room = buf.len() - filled;
            match c.sock.read(&mut buf[filled..]) {
                Ok(0) => c.dead = true,
                Ok(n) => {
                    filled += n;
                    let mut start = 0;
                    while let Some(pos) = buf[start..filled].iter().position(|&b| b == b'\n') {
                        let line = &buf[start..start + pos];
                        self.line(k, line.strip_suffix(b"\r").unwrap_or(line));
                        start += pos + 1;
                    }
                    buf.copy_within(start..filled, 0);
                    filled -= start;
                    let c = &mut self.conns[k];
                    c.dead |= filled > MAX_LINE;
                    // Less than asked for: drained for now (edge-triggered
                    // readiness comes again with new data).
                    if n < room {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => c.dead = true,
            }
        }
        let c = &mut self.conns[k];
        if !c.dead {
            c.inbuf.extend_from_slice(&buf[..filled]);
        }
        self.rbuf = buf;
        mark(&mut self.conns, &mut self.pending, k);
    }

    fn line(&mut self, k: usize, line: &[u8]) {
        let (cmd, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &line[line.len()..]),
        };
        let Relay { conns, pending, joined, deliveries, .. } = self;
        let reply = match cmd {
            b"JOIN" if conns[k].name.is_none() && !arg.is_empty() => {
                let name = String::from_utf8_lossy(arg).into_owned();
                let reply = format!("OK JOIN {name} pending=0\r\n");
                conns[k].name = Some(name);
                joined.push(k);
                reply
            }
            b"ALL" if conns[k].name.is_some() => {
                let name = conns[k].name.as_deref().unwrap_or_default();
                let mut msg = Vec::with_capacity(TS.len() + name.len() + arg.len() + 8);
                for part in [b"ALL ", TS.as_bytes(), b" ", name.as_bytes(), b" ", arg, b"\r\n"] {
                    msg.extend_from_slice(part);
                }
                let mut n = 0;
                for &to in joined.iter().filter(|&&to| to != k) {
                    n += u64::from(push(conns, pending, to, &msg));
                }
                *deliveries += n;
                format!("OK ALL delivered={n}\r\n")
            }
            b"PING" if arg.is_empty() => "PONG\r\n".to_string(),
            b"PING" => format!("PONG {}\r\n", String::from_utf8_lossy(arg)),
            _ => "ERR RELAY unsupported\r\n".to_string(),
        };
        push(&mut self.conns, &mut self.pending, k, reply.as_bytes());
    }

    /// Writes each listed connection's output once; closes the dead.
    fn flush(&mut self) -> io::Result<()> {
        for k in std::mem::take(&mut self.pending) {
            let c = &mut self.conns[k];
            c.pending = false;
            if !c.dead && !c.out.is_empty() {
                match c.sock.write(&c.out) {
                    Ok(n) if n == c.out.len() => c.out.clear(),
                    Ok(n) => drop(c.out.drain(..n)),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(_) => c.dead = true,
                }
            }
            if c.dead {
                let mut c = self.conns.remove(k); // its output goes with it
                self.poll.registry().deregister(&mut c.sock)?;
                self.joined.retain(|&j| j != k);
            }
        }
        Ok(())
    }
}
