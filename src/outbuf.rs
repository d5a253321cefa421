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

/// Unsent output, in order.
#[derive(Debug, Default)]
pub struct OutBuf {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    head: usize,
    /// Bytes not yet written.
    unsent: usize,
    /// An emptied owned chunk kept for the next lines of a busy connection
    /// (growing a fresh one every pass costs a page fault per page).
    spare: Option<Vec<u8>>,
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
        if let Some(Chunk::Own(last)) = self.chunks.back_mut() {
            if last.len() + bytes.len() <= CHUNK.max(last.capacity()) {
                last.extend_from_slice(bytes);
                return;
            }
        }
        let mut chunk = self.spare.take().unwrap_or_default();
        chunk.extend_from_slice(bytes);
        self.chunks.push_back(Chunk::Own(chunk));
    }

    /// Appends a shared line (no copy).
    pub fn push_shared(&mut self, line: &Shared) {
        self.unsent += line.len();
        self.chunks.push_back(Chunk::Shared(Arc::clone(line)));
    }

    /// Writes at most `cap` bytes to `w` in one `writev`; returns how many.
    pub fn write_to(&mut self, w: &mut impl Write, cap: usize) -> io::Result<usize> {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let mut n = 0;
        let mut room = cap;
        for (i, chunk) in self.chunks.iter().enumerate().take(MAX_IOV) {
            if room == 0 {
                break;
            }
            let bytes = chunk.bytes();
            let bytes = if i == 0 { &bytes[self.head..] } else { bytes };
            let take = bytes.len().min(room);
            iov[n] = IoSlice::new(&bytes[..take]);
            n += 1;
            room -= take;
        }
        let written = w.write_vectored(&iov[..n])?;
        self.consume(written);
        Ok(written)
    }

    /// Drops `n` written bytes from the front.
    fn consume(&mut self, mut n: usize) {
        self.unsent -= n;
        while n > 0 {
            let Some(front) = self.chunks.front() else { return };
            let left = front.bytes().len() - self.head;
            if n < left {
                self.head += n;
                return;
            }
            n -= left;
            self.head = 0;
            if let Some(Chunk::Own(mut v)) = self.chunks.pop_front() {
                if v.capacity() <= CHUNK && self.spare.is_none() {
                    v.clear();
                    self.spare = Some(v);
                }
            }
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
}
