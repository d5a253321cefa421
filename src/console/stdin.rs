//! The console's first source: standard input, read by a small thread
//! that hands each line to the loop and wakes it (`server.rs` runs the
//! line, see `console/mod.rs`). End of file disables it and nothing else.

use super::CONSOLE_MAX_LINE;
use std::io::{self, BufRead};
use std::sync::mpsc;
use std::sync::Arc;

/// What the stdin thread hands to the loop.
#[derive(Debug)]
pub enum StdinEvent {
    Line(String),
    /// A line longer than CONSOLE_MAX_LINE, thrown away whole.
    TooLong,
    Eof,
}

/// Starts the thread that reads standard input line by line and wakes the
/// loop for each line; it ends at end of file.
pub fn spawn_stdin(waker: Arc<mio::Waker>) -> io::Result<mpsc::Receiver<StdinEvent>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name("chatd-stdin".into()).spawn(move || {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let event = match read_bounded_line(&mut lock, &mut buf) {
                Ok(0) | Err(_) => StdinEvent::Eof,
                Ok(_) if buf.len() > CONSOLE_MAX_LINE => StdinEvent::TooLong,
                Ok(_) => StdinEvent::Line(String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string()),
            };
            let eof = matches!(event, StdinEvent::Eof);
            if tx.send(event).is_err() || waker.wake().is_err() || eof {
                break;
            }
        }
    })?;
    Ok(rx)
}

/// Reads one line into `buf`, keeping at most CONSOLE_MAX_LINE + 1 bytes of
/// it: a longer line is read to its end and thrown away (`buf` then holds
/// more than CONSOLE_MAX_LINE bytes, so the caller can tell). Returns the
/// bytes read, 0 at end of file.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(total);
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (CONSOLE_MAX_LINE + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..used.min(room)]);
        input.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_stdin_line_is_read_whole_and_flagged() {
        let long = format!("NOTICE {}EXIT\nSTATS\n", "x".repeat(CONSOLE_MAX_LINE));
        let mut input = io::BufReader::with_capacity(64, long.as_bytes());
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut input, &mut buf).unwrap() > CONSOLE_MAX_LINE);
        assert_eq!(buf.len(), CONSOLE_MAX_LINE + 1);
        buf.clear();
        read_bounded_line(&mut input, &mut buf).unwrap();
        assert_eq!(buf, b"STATS\n");
        buf.clear();
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), 0);
    }
}
