//! A user over TCP (`Client`): sends lines, reads the server's CRLF lines
//! (replies and events), with barriers (`sync`, `assert_nothing_pending`)
//! so a test knows what has arrived, and raw bytes for telnet.

use super::{mask_ts, ts_of, WAIT};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A TCP client that speaks the line protocol.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects without reading anything.
    pub fn connect_raw(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// A client over a socket the test connected itself.
    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        Client { stream, buf: Vec::new() }
    }

    // ---- sending ----

    /// Sends one line with LF.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends bytes one write at a time with a short pause between them, so
    /// the server sees them in separate reads (as from a slow typist).
    pub fn send_slowly(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.send_raw(p);
            self.stream.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    // ---- reading lines ----

    /// The next line (CRLF checked and removed); panics after WAIT.
    pub fn line(&mut self) -> String {
        self.try_line(WAIT).unwrap_or_else(|| panic!("no line within {WAIT:?}; buffered: {:?}", self.buf))
    }

    /// The next line within `wait`, or None.
    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        read_crlf_line(&mut self.stream, &mut self.buf, wait)
    }

    /// Reads lines until one starts with `prefix`; returns it. Lines before
    /// it are returned too, in order, as the first element.
    pub fn until(&mut self, prefix: &str) -> (Vec<String>, String) {
        let mut before = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return (before, l);
            }
            before.push(l);
        }
    }

    /// The next `n` lines, sorted: for a reply and an event whose relative
    /// order the protocol leaves open (a sender's own copy of an MCAST).
    pub fn lines_sorted(&mut self, n: usize) -> Vec<String> {
        let mut lines: Vec<String> = (0..n).map(|_| self.line()).collect();
        lines.sort();
        lines
    }

    /// Sends a command and returns its reply line.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }

    /// Sends a command and asserts that its reply is `OK ...`; returns the
    /// reply. For a command whose effect the test checks elsewhere (on the
    /// recipient), so that an `ERR` to the sender cannot go unseen.
    pub fn ok(&mut self, line: &str) -> String {
        let reply = self.ask(line);
        assert!(reply.starts_with("OK "), "{line:?} got {reply:?}, not OK");
        reply
    }

    // ---- events ----

    /// The next line with its `<ts>` field (the second word of an event)
    /// checked by [`assert_ts`](super::assert_ts) and replaced by the literal
    /// `<ts>`, so a test can compare whole event lines: `MSG <ts> alice hi`.
    pub fn event(&mut self) -> String {
        mask_ts(&self.line())
    }

    /// Reads the next line and asserts it is `<kind> <ts> <rest>` with a
    /// valid `<ts>`; returns the `<ts>`.
    pub fn event_ts(&mut self, kind: &str, rest: &str) -> String {
        let line = self.line();
        let ts = ts_of(&line);
        assert_eq!(line, format!("{kind} {ts} {rest}"));
        ts
    }

    /// Sends `HISTORY [n]` and returns the HISTORY lines, checking that the
    /// reply is closed by `OK HISTORY <count>` with the right count.
    pub fn history(&mut self, command: &str) -> Vec<String> {
        self.send(command);
        self.history_reply()
    }

    /// Reads HISTORY lines up to `OK HISTORY <count>`. (Not after JOIN: the
    /// history_on_join replay has no `OK HISTORY`; read it with `sync`.)
    pub fn history_reply(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with("OK HISTORY") {
                assert_eq!(l, format!("OK HISTORY {}", lines.len()));
                return lines;
            }
            assert!(l.starts_with("HISTORY "), "not a HISTORY line: {l:?}");
            lines.push(l);
            assert!(lines.len() <= 1000, "HISTORY reply does not end");
        }
    }

    // ---- barriers and silence ----

    /// Sends `PING <token>` and reads up to its `PONG <token>`; returns the
    /// lines before it. A barrier: everything the server had queued for this
    /// client before the PING has arrived once this returns.
    pub fn sync(&mut self, token: &str) -> Vec<String> {
        self.send(&format!("PING {token}"));
        let (before, _) = self.until(&format!("PONG {token}"));
        before
    }

    /// Asserts that the next line is `PONG <token>` after sending PING:
    /// nothing else was waiting for this client.
    pub fn assert_nothing_pending(&mut self, token: &str) {
        assert_eq!(self.ask(&format!("PING {token}")), format!("PONG {token}"));
    }

    /// Asserts nothing arrives within `wait`.
    pub fn expect_silence(&mut self, wait: Duration) {
        if let Some(l) = self.try_line(wait) {
            panic!("expected no line, got {l:?}");
        }
    }

    /// True once the server has closed the connection (reads EOF).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        wait_closed(&mut self.stream, &mut self.buf, wait)
    }

    // ---- raw bytes ----

    /// Reads raw bytes until the bytes read so far (from the start of this
    /// call's buffer) contain `needle`; returns everything up to and
    /// including it. For telnet answers, which are not lines.
    pub fn raw_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return self.buf.drain(..i + needle.len()).collect();
            }
            assert!(Instant::now() < deadline, "no {needle:?} within {WAIT:?}; buffered: {:?}", self.buf);
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("connection closed before {needle:?}; buffered: {:?}", self.buf),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }
}

/// The next CRLF-terminated line from `stream` (CRLF checked and removed),
/// using `buf` for bytes read past it; None after `wait` or at end of file.
/// Client sockets and the admin socket share it.
pub(super) fn read_crlf_line(stream: &mut impl Read, buf: &mut Vec<u8>, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let mut raw: Vec<u8> = buf.drain(..=i).collect();
            assert!(raw.ends_with(b"\r\n"), "server line without CRLF: {raw:?}");
            raw.truncate(raw.len() - 2);
            return Some(String::from_utf8(raw).expect("server sent invalid UTF-8"));
        }
        if Instant::now() >= deadline {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
}

/// True once the peer has closed `stream` (end of file or an error) within
/// `wait`; bytes read meanwhile are kept in `buf`.
pub(super) fn wait_closed(stream: &mut impl Read, buf: &mut Vec<u8>, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}
