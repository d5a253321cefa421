//! A connection's unsent output: the last stage before the socket.
//!
//! Lines are appended by `state.rs` and written by `conn.rs` with one
//! `writev` of the front chunks. Short lines are copied into an owned chunk;
//! a long line fanned out to many connections (a broadcast) is shared
//! between their buffers as one reference-counted copy ([`Shared`]), so a
//! broadcast to a thousand users is one line in memory, not a thousand,
//! whatever those users' reading speed. Counts and bounds are in bytes owed
//! to the peer either way.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;

/// A line shared between the buffers of every connection it goes to.
pub type Shared = Arc<[u8]>;

/// Lines at least this long are shared rather than copied when they go to
/// more than one connection: shorter ones cost less to copy than to count.
pub const SHARE_FROM: usize = 256;

/// An owned chunk takes appended lines up to this size before the next
/// one starts, so a large backlog is many moderate allocations, not one
/// growing copy.
const CHUNK: usize = 64 * 1024;

/// Chunks handed to one `writev`.
const MAX_IOV: usize = 64;

#[derive(Debug)]
enum Chunk {
    Own(Vec<u8>),
    Shared(Shared),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Own(v) => v,
            Chunk::Shared(s) => s,
        }
    }
}

/// Unsent output, in order: the chunks in `chunks`, then `tail`.
///
/// `tail` is the owned chunk lines are appended to, kept outside the deque
/// so that a connection with ordinary output (most of them) makes one
/// allocation, not two, and reuses it pass after pass once written.
#[derive(Debug, Default)]
pub struct OutBuf {
    chunks: VecDeque<Chunk>,
    tail: Vec<u8>,
    /// Bytes of the front chunk (the deque's first, or `tail` when the
    /// deque is empty) already written.
    head: usize,
    /// Bytes not yet written.
    unsent: usize,
}

impl OutBuf {
    /// Bytes not yet written.
    pub fn len(&self) -> usize {
        self.unsent
    }

    pub fn is_empty(&self) -> bool {
        self.unsent == 0
    }

    /// Appends a copy of `bytes`.
    pub fn push(&mut self, bytes: &[u8]) {
        self.unsent += bytes.len();
        if !self.tail.is_empty() && self.tail.len() + bytes.len() > CHUNK.max(self.tail.capacity()) {
            // Full: it joins the queue and a new tail starts at full size
            // (a connection with this much output is a busy one).
            let full = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK.max(bytes.len())));
            self.chunks.push_back(Chunk::Own(full));
        }
        self.tail.extend_from_slice(bytes);
    }

    /// Appends a shared line (no copy).
    pub fn push_shared(&mut self, line: &Shared) {
        self.unsent += line.len();
        if !self.tail.is_empty() {
            // What was appended before the line goes before it.
            let before = std::mem::take(&mut self.tail);
            self.chunks.push_back(Chunk::Own(before));
        }
        self.chunks.push_back(Chunk::Shared(Arc::clone(line)));
    }

    /// Writes at most `cap` bytes to `w` in one `writev`; returns how many.
    pub fn write_to(&mut self, w: &mut impl Write, cap: usize) -> io::Result<usize> {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let mut n = 0;
        let mut room = cap;
        let pieces = self.chunks.iter().map(Chunk::bytes).chain(std::iter::once(&self.tail[..]));
        for (i, bytes) in pieces.enumerate().take(MAX_IOV) {
            if room == 0 {
                break;
            }
            let bytes = if i == 0 { &bytes[self.head..] } else { bytes };
            if bytes.is_empty() {
                continue;
            }
            let take = bytes.len().min(room);
            iov[n] = IoSlice::new(&bytes[..take]);
            n += 1;
            room -= take;
        }
        // One piece (the usual case: a tail of short lines) goes by plain
        // write, a send(2) on a socket: writev(2) takes the file-system
        // path (fdget_pos, iovec import), measurably dearer per call when
        // a broadcast is one call per recipient.
        let written = match n {
            1 => w.write(&iov[0])?,
            _ => w.write_vectored(&iov[..n])?,
        };
        self.consume(written);
        Ok(written)
    }

    /// Drops `n` written bytes from the front.
    fn consume(&mut self, mut n: usize) {
        self.unsent -= n;
        while n > 0 {
            let left = match self.chunks.front() {
                Some(front) => front.bytes().len() - self.head,
                None => self.tail.len() - self.head,
            };
            if n < left {
                self.head += n;
                return;
            }
            n -= left;
            self.head = 0;
            if self.chunks.pop_front().is_none() {
                // The tail is all written: keep its room for the next lines,
                // unless a burst (a long HELP, a big HISTORY) made it large.
                if self.tail.capacity() > CHUNK {
                    self.tail = Vec::new();
                } else {
                    self.tail.clear();
                }
                return;
            }
        }
        if self.unsent == 0 && self.chunks.is_empty() && self.head == self.tail.len() {
            self.tail.clear();
            self.head = 0;
        }
    }

    /// Drops everything unsent and every buffer (the connection is being
    /// dropped, or is idle).
    pub fn clear(&mut self) {
        *self = OutBuf::default();
    }

    /// Frees the kept chunk if nothing is left to send (an idle connection
    /// costs no output memory).
    pub fn release_idle(&mut self) {
        if self.unsent == 0 {
            self.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        /// Like a socket: takes from every slice in order, up to the limit.
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.limit - n);
                self.got.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn own_and_shared_lines_come_out_in_order_through_short_writes() {
        let mut out = OutBuf::default();
        let shared: Shared = Arc::from(&b"a long shared line\r\n"[..]);
        let mut expected = Vec::new();
        for i in 0..5000 {
            if i % 7 == 0 {
                out.push_shared(&shared);
                expected.extend_from_slice(&shared);
            } else {
                let line = format!("line {i}\r\n");
                out.push(line.as_bytes());
                expected.extend_from_slice(line.as_bytes());
            }
        }
        assert_eq!(out.len(), expected.len());
        let mut w = Trickle { got: Vec::new(), limit: 1000 };
        while !out.is_empty() {
            let before = out.len();
            let n = out.write_to(&mut w, 3000).unwrap();
            assert!(n <= 3000 && n > 0);
            assert_eq!(out.len(), before - n);
        }
        assert_eq!(w.got, expected);
    }

    #[test]
    fn the_cap_is_respected_across_chunks() {
        let mut out = OutBuf::default();
        for _ in 0..3 {
            out.push(&vec![b'x'; CHUNK]);
        }
        let mut w = Trickle { got: Vec::new(), limit: usize::MAX };
        assert_eq!(out.write_to(&mut w, CHUNK + 10).unwrap(), CHUNK + 10);
        assert_eq!(out.len(), 2 * CHUNK - 10);
        out.release_idle();
        assert_eq!(out.len(), 2 * CHUNK - 10, "nothing dropped while unsent");
        out.write_to(&mut w, usize::MAX).unwrap();
        assert!(out.is_empty());
        assert_eq!(w.got.len(), 3 * CHUNK);
    }

    #[test]
    fn the_tail_keeps_its_room_unless_a_burst_made_it_large() {
        let mut out = OutBuf::default();
        let mut w = Trickle { got: Vec::new(), limit: usize::MAX };
        out.push(b"OK WHO 1 alice\r\n");
        out.write_to(&mut w, usize::MAX).unwrap();
        assert!(out.is_empty());
        assert!(out.tail.capacity() > 0, "kept for the next lines");
        out.push(&vec![b'x'; 4 * CHUNK]);
        while !out.is_empty() {
            out.write_to(&mut w, usize::MAX).unwrap();
        }
        assert_eq!(out.tail.capacity(), 0, "a burst's buffer is given back");
        assert_eq!(w.got.len(), 16 + 4 * CHUNK);
    }
}
