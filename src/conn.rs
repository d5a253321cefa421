//! One client connection: its transport, its byte path in both directions,
//! and its session.
//!
//! The loop asks it for the next frame ([`Conn::next_frame`]: read, decode,
//! flood control) and tells it to [`Conn::flush`]; `state.rs` appends
//! outbound lines to it. Neither the loop nor the handlers name the socket:
//! it sits in a [`Transport`], so TLS or WebSocket can be added as variants.
//! Buffers are allocated while in use and given back when empty, so an idle
//! connection costs little memory.

use crate::dialect::Dialect;
use crate::flood::TokenBucket;
use crate::framing::{Decoder, Frame};
use crate::outbuf::{OutBuf, Shared};
use crate::session::Session;
use crate::tls::Socket;
use crate::web::ws::WsStream;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most bytes written to one connection per flush pass, so one client with a
/// large backlog cannot starve the others (redis uses the same figure).
pub const WRITE_CAP: usize = 64 * 1024;

/// Most bytes read from one connection per pass, whether or not they make
/// lines: a client streaming bytes without a line end cannot hold the loop.
pub const READ_PER_PASS: usize = 64 * 1024;

/// What carries a connection's bytes: a byte stream ([`Socket`]: plain TCP,
/// or TLS over it, boxed so plain connections stay small) carrying the
/// line protocol or IRC as they are, or a WebSocket over such a stream.
/// Each says how much of the payload it was given is really acknowledged
/// by the peer (offline delivery needs that, and record bytes of its own
/// must not count).
#[derive(Debug)]
pub enum Transport {
    Stream(Socket),
    /// A WebSocket upgraded from an `http_listen` connection (`web/ws.rs`):
    /// its frames are written straight into the connection's output, so
    /// what the socket has not had acknowledged is all there is to count.
    Ws(Box<WsStream>),
}

impl Transport {
    /// The byte stream under it.
    pub fn socket(&mut self) -> &mut Socket {
        match self {
            Transport::Stream(s) => s,
            Transport::Ws(w) => &mut w.sock,
        }
    }

    fn socket_ref(&self) -> &Socket {
        match self {
            Transport::Stream(s) => s,
            Transport::Ws(w) => &w.sock,
        }
    }

    /// Registers the transport with the loop's poll.
    pub fn register(&mut self, registry: &mio::Registry, token: mio::Token, interest: mio::Interest) -> io::Result<()> {
        registry.register(self.socket().tcp(), token, interest)
    }

    /// Changes the readiness the loop waits for.
    pub fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        registry.reregister(self.socket().tcp(), token, interest)
    }

    /// Removes the transport from the poll and shuts it down both ways
    /// (TLS says goodbye first).
    pub fn close(&mut self, registry: &mio::Registry) {
        let socket = self.socket();
        let _ = registry.deregister(socket.tcp());
        socket.shutdown();
    }

    /// Payload bytes written that the peer has not acknowledged yet.
    pub fn unacked(&self) -> io::Result<usize> {
        self.socket_ref().unacked()
    }

    /// Output the transport itself holds, not yet on the socket (TLS
    /// records): counted as unsent.
    pub fn pending(&self) -> usize {
        self.socket_ref().pending()
    }

    /// Writes what the transport itself holds; `WouldBlock` if some is left.
    pub fn send_pending(&mut self) -> io::Result<()> {
        self.socket().send_pending()
    }

    /// Speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.socket_ref().is_tls()
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Stream(s) => s.read(buf),
            Transport::Ws(w) => w.read_raw(buf),
        }
    }
}

/// Output is written to the stream as it is: a WebSocket's frames are made
/// when lines are queued (`Conn::queue`).
impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket().write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.socket().write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What [`Conn::next_frame`] found.
#[derive(Debug)]
pub enum Input {
    /// A line, or a line that was too long.
    Frame(Frame),
    /// Nothing more to read until the socket is readable again.
    Drained,
    /// READ_PER_PASS bytes were read this pass: more on the next one.
    Later,
    /// Flood control: nothing is read until this much time has passed.
    Throttled(Duration),
    /// The peer closed its side after everything was decoded: the last,
    /// unterminated line if there was one.
    Eof(Option<Frame>),
    /// The socket failed.
    Failed(io::Error),
}

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
    /// A WebSocket peer sent its Close (or vanished): replies to its last
    /// lines are sent, but, unlike a half-closed TCP peer, no more stored
    /// messages: a browser drops what arrives after its Close.
    WsClosed,
    /// A WebSocket peer sent a frame chatd refuses, or stopped answering
    /// pings: the close code and the reason shown to others.
    WsError(u16, &'static str),
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
            Close::WsClosed => "connection closed",
            Close::WsError(_, reason) => reason,
        }
    }

    /// Whether queued output should still be sent before closing.
    pub fn flush_first(&self) -> bool {
        !matches!(self, Close::SendqExceeded | Close::Error)
    }
}

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

/// A client connection: its transport and byte path, and its session.
#[derive(Debug)]
pub struct Conn {
    /// Serial number for log lines (slab keys are reused, these are not).
    pub id: u64,
    pub transport: Transport,
    /// The protocol it speaks: its listener's.
    pub dialect: Dialect,
    pub peer: SocketAddr,
    /// Its protocol state: who it is, what its next lines wait for.
    pub session: Session,
    /// Set when the connection is to be closed after this event batch.
    pub closing: Option<Close>,
    /// A closing connection still writing its last output gives up then.
    pub drain_deadline: Option<Instant>,
    /// Bytes read from the socket not yet decoded; `inpos` is how far.
    inbuf: Vec<u8>,
    inpos: usize,
    decoder: Decoder,
    /// The socket may have more bytes to read (edge-triggered readiness).
    pub readable: bool,
    /// The peer sent end of file.
    eof: bool,
    /// Something was read already (the first bytes are checked for a TLS
    /// handshake sent to a port without TLS).
    seen_input: bool,
    /// Lines this connection may send before flood control delays it.
    flood: TokenBucket,
    /// Waiting for its flood budget: not read until the timer fires.
    pub throttled: bool,
    /// Unsent output.
    out: OutBuf,
    /// Bytes ever queued and ever written: marks in the output stream.
    queued_total: u64,
    written_total: u64,
    /// WRITABLE interest is registered.
    pub want_write: bool,
    /// Lines of this connection were handled in this pass: its replies are
    /// flushed ahead of bulk output.
    pub answered: bool,
    /// Already listed for the server's run and flush passes.
    pub queued_run: bool,
    pub queued_flush: bool,
}

impl Conn {
    pub fn new(
        id: u64,
        transport: Transport,
        dialect: Dialect,
        peer: SocketAddr,
        max_line: usize,
        flood_burst: u32,
    ) -> Conn {
        let now = Instant::now();
        Conn {
            id,
            transport,
            dialect,
            peer,
            session: Session::default(),
            closing: None,
            drain_deadline: None,
            inbuf: Vec::new(),
            inpos: 0,
            decoder: Decoder::new(max_line),
            readable: false,
            eof: false,
            seen_input: false,
            flood: TokenBucket::new(flood_burst, now),
            throttled: false,
            out: OutBuf::default(),
            queued_total: 0,
            written_total: 0,
            want_write: false,
            answered: false,
            queued_run: false,
            queued_flush: false,
        }
    }

    /// How this connection is named in log lines.
    pub fn label(&self) -> String {
        match &self.session.name {
            Some(n) => format!("#{} {} ({})", self.id, self.peer, n),
            None => format!("#{} {}", self.id, self.peer),
        }
    }

    /// Bytes queued and not yet written to the socket (some may wait in
    /// the transport: TLS records).
    pub fn unsent(&self) -> usize {
        self.out.len() + self.transport.pending()
    }

    /// Whether this connection is a WebSocket.
    pub fn is_ws(&self) -> bool {
        matches!(self.transport, Transport::Ws(_))
    }

    /// Appends server lines (each ending in CRLF), framed for the
    /// transport; false (and nothing appended) if that would pass
    /// `max_sendq` bytes of unsent output.
    pub fn queue(&mut self, bytes: &[u8], max_sendq: usize) -> bool {
        if self.is_ws() {
            // Framed straight into the output: no copy in between.
            let room = max_sendq.saturating_sub(self.unsent());
            let Some(len) = crate::web::ws::frame_lines_within(bytes, room, |piece| self.out.push(piece)) else {
                return false;
            };
            self.queued_total += len as u64;
            return true;
        }
        self.queue_raw(bytes, max_sendq)
    }

    /// `queue` for bytes that go out as they are (telnet answers,
    /// WebSocket control frames and the upgrade response).
    pub fn queue_raw(&mut self, bytes: &[u8], max_sendq: usize) -> bool {
        if self.unsent() + bytes.len() > max_sendq {
            return false;
        }
        self.out.push(bytes);
        self.queued_total += bytes.len() as u64;
        true
    }

    /// `queue` for a line shared with other connections (not copied).
    pub fn queue_shared(&mut self, line: &Shared, max_sendq: usize) -> bool {
        if self.is_ws() {
            // Framed per connection: a copy, as a short line is.
            return self.queue(line, max_sendq);
        }
        self.queue_raw_shared(line, max_sendq)
    }

    /// `queue_raw` for bytes shared with other connections (not copied):
    /// a line already framed for this transport.
    pub fn queue_raw_shared(&mut self, line: &Shared, max_sendq: usize) -> bool {
        if self.unsent() + line.len() > max_sendq {
            return false;
        }
        self.out.push_shared(line);
        self.queued_total += line.len() as u64;
        true
    }

    /// Position in the output stream after everything queued so far.
    pub fn queued_total(&self) -> u64 {
        self.queued_total
    }

    /// Position in the output stream up to which the peer's TCP has
    /// acknowledged every byte; `None` if the socket cannot tell (it failed).
    pub fn acked_total(&self) -> Option<u64> {
        let in_flight = self.transport.unacked().ok()?;
        Some(self.written_total.saturating_sub(in_flight as u64))
    }

    /// Bytes queued that the peer has not acknowledged (unsent, or sent and
    /// not yet acknowledged), given `acked` from [`Conn::acked_total`]; if
    /// the socket could not tell, what was written counts as acknowledged.
    pub fn unacked_output(&self, acked: Option<u64>) -> u64 {
        self.queued_total - acked.unwrap_or(self.written_total).min(self.queued_total)
    }

    /// Drops all unsent output (the connection is being dropped).
    pub fn discard_output(&mut self) {
        self.out.clear();
    }

    /// Writes queued output, at most `cap` bytes.
    pub fn flush(&mut self, cap: usize) -> io::Result<Flushed> {
        let mut written = 0;
        loop {
            if self.out.is_empty() {
                return match self.transport.send_pending() {
                    Ok(()) => Ok(Flushed::All),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Flushed::Blocked),
                    Err(e) => Err(e),
                };
            }
            if written >= cap {
                return Ok(Flushed::Capped);
            }
            match self.out.write_to(&mut self.transport, cap - written) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    self.written_total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Frees the output buffers if they hold nothing to send (the loop
    /// calls this once it is idle).
    pub fn release_idle_output(&mut self) {
        self.out.release_idle();
    }

    /// The next frame of input: decodes what is buffered first, reads the
    /// socket only when that is used up (at most READ_PER_PASS bytes per
    /// pass, counted in `read`), and spends a flood-control token per line.
    /// Telnet negotiation found on the way waits in [`Conn::take_telnet_replies`].
    pub fn next_frame(&mut self, scratch: &mut [u8], read: &mut usize, rate: u32, burst: u32) -> Input {
        loop {
            if self.inpos >= self.inbuf.len() {
                // Forget decoded input and free the buffer.
                self.inbuf = Vec::new();
                self.inpos = 0;
                if self.eof {
                    return Input::Eof(self.decoder.finish());
                }
                if !self.readable {
                    return Input::Drained;
                }
                if *read >= READ_PER_PASS {
                    return Input::Later;
                }
                match self.transport.read(scratch) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        if !std::mem::replace(&mut self.seen_input, true)
                            && !self.transport.is_tls()
                            && is_tls_handshake(&scratch[..n])
                        {
                            let e = "a TLS handshake on a port without TLS (connect to a TLS port)";
                            return Input::Failed(io::Error::new(io::ErrorKind::InvalidData, e));
                        }
                        *read += n;
                        match &mut self.transport {
                            Transport::Stream(_) => self.inbuf.extend_from_slice(&scratch[..n]),
                            Transport::Ws(w) => {
                                w.feed(&scratch[..n], &mut self.inbuf);
                                // Its Close, or a frame it refused: what was
                                // decoded before still runs, then it ends.
                                self.eof |= w.ended.is_some();
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.readable = false;
                        return Input::Drained;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Input::Failed(e),
                }
                continue;
            }
            // The next line must fit the flood budget; if not, stop reading
            // this connection until it does (delayed, never dropped).
            if let Err(wait) = self.flood.ready(rate, burst, Instant::now()) {
                self.throttled = true;
                return Input::Throttled(wait);
            }
            let (used, frame) = self.decoder.decode(&self.inbuf[self.inpos..]);
            self.inpos += used;
            if let Some(frame) = frame {
                self.flood.spend(rate);
                self.answered = true;
                return Input::Frame(frame);
            }
        }
    }

    /// Answers to the peer's telnet negotiation found while decoding, if
    /// any: bytes for the peer that are not a text line.
    /// For a WebSocket, the pongs it owes (raw frames, not text lines).
    pub fn take_telnet_replies(&mut self) -> Option<Vec<u8>> {
        if let Transport::Ws(w) = &mut self.transport {
            return w.take_control();
        }
        self.decoder.has_replies().then(|| self.decoder.take_replies())
    }

    /// Why the peer's input ended, once [`Input::Eof`] said it did.
    pub fn end_reason(&self) -> Close {
        match &self.transport {
            Transport::Stream(_) => Close::Closed,
            Transport::Ws(w) => w.ended.clone().unwrap_or(Close::WsClosed),
        }
    }

    /// The transport's last words before the socket is closed: a
    /// WebSocket's Close frame (`None`: the server is shutting down),
    /// written best effort after all other output.
    /// Not after unsent output: the stream may have stopped mid-frame.
    pub fn say_goodbye(&mut self, why: Option<&Close>) {
        if !self.out.is_empty() {
            return;
        }
        if let Transport::Ws(w) = &mut self.transport {
            if let Some(frame) = crate::web::ws::close_frame(why) {
                let _ = w.sock.write(&frame);
            }
        }
    }
}

/// The first bytes of a TLS connection: a handshake record (22) of TLS 1.x
/// (3, 0 to 4). No text line starts so.
fn is_tls_handshake(first: &[u8]) -> bool {
    matches!(first, [0x16, 0x03, 0..=4, ..])
}
