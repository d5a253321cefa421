//! One client connection: its socket, input and output buffers, and session.
//!
//! `server.rs` reads into it and flushes it; `state.rs` appends outbound lines
//! to it. Handlers never touch the socket. Buffers are allocated while in use
//! and given back when empty, so an idle connection costs little memory.

use crate::flood::TokenBucket;
use crate::framing::Decoder;
use mio::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

/// Most bytes written to one connection per flush pass, so one client with a
/// large backlog cannot starve the others (redis uses the same figure).
pub const WRITE_CAP: usize = 64 * 1024;

/// Why a connection is being closed; the text goes into `LEFT <ts> <name> ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// LEAVE/QUIT, with the user's reason.
    Leave(Option<String>),
    /// The peer closed its side (end of file): replies to its last lines
    /// are still sent, as a half-closed `nc -N` expects.
    Closed,
    /// The socket failed: nothing more can be sent.
    Error,
    /// Unsent output passed max_sendq.
    SendqExceeded,
    /// Never joined within join_timeout.
    Timeout,
    /// Too many wrong passwords on this connection.
    AuthFailures,
    /// KICK from the console, with the operator's reason.
    Kicked(Option<String>),
}

impl Close {
    /// The reason shown to other users.
    pub fn reason(&self) -> String {
        match self {
            Close::Kicked(Some(r)) => format!("kicked: {r}"),
            other => other.reason_str().to_string(),
        }
    }

    fn reason_str(&self) -> &str {
        match self {
            Close::Kicked(_) => "kicked",
            Close::Leave(r) => r.as_deref().unwrap_or(""),
            Close::Closed | Close::Error => "connection closed",
            Close::SendqExceeded => "sendq exceeded",
            Close::Timeout => "join timeout",
            Close::AuthFailures => "too many failed passwords",
        }
    }

    /// Whether queued output should still be sent before closing.
    pub fn flush_first(&self) -> bool {
        !matches!(self, Close::SendqExceeded | Close::Error)
    }
}

/// Why a connection's later lines are held back, in order, for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// Nothing: lines are handled as they come.
    No,
    /// A password is being hashed or checked off the loop thread.
    Auth(AuthStep),
    /// A reply that promises durability waits for this pass's commit.
    Commit,
}

/// What the connection will do with the password worker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// JOIN of this protected name.
    Join(String),
    /// REGISTER of a new password.
    Register,
}

/// Output buffer capacity kept between passes while the connection is busy:
/// a few passes' worth of writes (in W1 a receiver gets about 90 KB a pass).
/// A larger buffer, after a burst such as a long HISTORY, is freed at once.
const KEEP_OUTPUT: usize = 4 * WRITE_CAP;

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    /// Nothing left to send.
    All,
    /// The socket would block: wait for a writable event.
    Blocked,
    /// WRITE_CAP reached with bytes left: continue on the next pass.
    Capped,
}

/// A connection and its session.
#[derive(Debug)]
pub struct Conn {
    /// Serial number for log lines (slab keys are reused, these are not).
    pub id: u64,
    pub sock: TcpStream,
    pub peer: SocketAddr,
    pub connected_at: Instant,
    /// Display name once joined.
    pub name: Option<String>,
    /// The joined user's number in the store.
    pub user: Option<crate::clock::UserId>,
    /// When it joined (protocol timestamp), for ACTIVE USERS.
    pub joined_at: Option<String>,
    /// Set when the connection is to be closed after this event batch.
    pub closing: Option<Close>,
    /// A closing connection still writing its last output gives up then.
    pub drain_deadline: Option<Instant>,
    /// Bytes read from the socket not yet decoded; `inpos` is how far.
    pub inbuf: Vec<u8>,
    pub inpos: usize,
    pub decoder: Decoder,
    /// The socket may have more bytes to read (edge-triggered readiness).
    pub readable: bool,
    /// The peer sent end of file.
    pub eof: bool,
    /// Lines this connection may send before flood control delays it.
    pub flood: TokenBucket,
    /// Waiting for its flood budget: not read until the timer fires.
    pub throttled: bool,
    /// Unsent output: `out[outpos..]`.
    out: Vec<u8>,
    outpos: usize,
    /// Bytes ever queued and ever written: marks in the output stream.
    queued_total: u64,
    written_total: u64,
    /// Offline delivery in progress (`delivery.rs`): boxed, since most
    /// connections have none.
    pub delivery: Option<Box<crate::delivery::Delivery>>,
    /// Lines are held back while this is not `Wait::No`.
    pub wait: Wait,
    /// Failed password attempts on this connection.
    pub auth_failures: u32,
    /// CLOCK ON: events carry the message's vector clock.
    pub clock_on: bool,
    /// WRITABLE interest is registered.
    pub want_write: bool,
    /// Already listed for the server's run and flush passes.
    pub queued_run: bool,
    pub queued_flush: bool,
}

impl Conn {
    pub fn new(id: u64, sock: TcpStream, peer: SocketAddr, max_line: usize, flood_burst: u32) -> Conn {
        let now = Instant::now();
        Conn {
            id,
            sock,
            peer,
            connected_at: now,
            name: None,
            user: None,
            joined_at: None,
            closing: None,
            drain_deadline: None,
            inbuf: Vec::new(),
            inpos: 0,
            decoder: Decoder::new(max_line),
            readable: false,
            eof: false,
            flood: TokenBucket::new(flood_burst, now),
            throttled: false,
            out: Vec::new(),
            outpos: 0,
            queued_total: 0,
            written_total: 0,
            delivery: None,
            wait: Wait::No,
            auth_failures: 0,
            clock_on: false,
            want_write: false,
            queued_run: false,
            queued_flush: false,
        }
    }

    /// How this connection is named in log lines.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("#{} {} ({})", self.id, self.peer, n),
            None => format!("#{} {}", self.id, self.peer),
        }
    }

    /// Bytes queued and not yet written.
    pub fn unsent(&self) -> usize {
        self.out.len() - self.outpos
    }

    /// Appends output; false (and nothing appended) if that would pass
    /// `max_sendq` bytes of unsent output.
    pub fn queue(&mut self, bytes: &[u8], max_sendq: usize) -> bool {
        if self.unsent() + bytes.len() > max_sendq {
            return false;
        }
        if self.outpos > 0 && self.out.len() + bytes.len() > self.out.capacity() {
            // Reuse the room of what was written rather than grow.
            self.out.drain(..self.outpos);
            self.outpos = 0;
        }
        self.out.extend_from_slice(bytes);
        self.queued_total += bytes.len() as u64;
        true
    }

    /// Position in the output stream after everything queued so far.
    pub fn queued_total(&self) -> u64 {
        self.queued_total
    }

    /// Position in the output stream up to which the peer's TCP has
    /// acknowledged every byte; `None` if the socket cannot tell (it failed).
    pub fn acked_total(&self) -> Option<u64> {
        let in_flight = crate::os::unacked_bytes(&self.sock).ok()?;
        Some(self.written_total.saturating_sub(in_flight as u64))
    }

    /// Bytes queued that the peer has not acknowledged: unsent, or sent and
    /// not yet acknowledged.
    pub fn unacked_output(&self) -> u64 {
        self.queued_total - self.acked_total().unwrap_or(self.written_total)
    }

    /// Drops all unsent output (the connection is being dropped).
    pub fn discard_output(&mut self) {
        self.out = Vec::new();
        self.outpos = 0;
    }

    /// Writes queued output, at most `cap` bytes.
    pub fn flush(&mut self, cap: usize) -> io::Result<Flushed> {
        let mut written = 0;
        while self.outpos < self.out.len() {
            if written >= cap {
                return Ok(Flushed::Capped);
            }
            let end = self.out.len().min(self.outpos + (cap - written));
            match self.sock.write(&self.out[self.outpos..end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.outpos += n;
                    written += n;
                    self.written_total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // All sent. The buffer is kept for the next pass: growing it again
        // for every pass of a busy connection costs a page fault for every
        // page (a fifth of W1's time). `release_idle_output` frees it once
        // the server is idle.
        self.out.clear();
        if self.out.capacity() > KEEP_OUTPUT {
            self.out = Vec::new();
        }
        self.outpos = 0;
        Ok(Flushed::All)
    }

    /// Frees the output buffer if it holds nothing to send.
    pub fn release_idle_output(&mut self) {
        if self.unsent() == 0 {
            self.discard_output();
        }
    }

    /// Reads once from the socket into the input buffer.
    /// `Ok(0)` is end of file; `WouldBlock` means drained.
    pub fn read_some(&mut self, scratch: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(scratch)?;
        self.inbuf.extend_from_slice(&scratch[..n]);
        Ok(n)
    }

    /// True when all read bytes have been decoded.
    pub fn input_consumed(&self) -> bool {
        self.inpos >= self.inbuf.len()
    }

    /// Forgets decoded input and frees the buffer.
    pub fn reset_input(&mut self) {
        self.inbuf = Vec::new();
        self.inpos = 0;
    }
}
