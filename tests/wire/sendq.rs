//! Protocol section 6, the send queue: a connection whose unsent output
//! passes `max_sendq` (a client that does not read) is closed, the others see
//! `LEFT <ts> <name> sendq exceeded`, and the server keeps serving them.
//!
//! The sleeper's kernel socket buffers absorb some megabytes before the
//! server's own queue starts to grow, so the blaster keeps sending until the
//! LEFT arrives, in bounded batches.
use crate::common::*;

/// Most broadcast lines the blaster sends before the test gives up
/// (about 40 MB to the sleeper: far beyond any loopback socket buffers).
const MAX_LINES: usize = 1_000_000;
const BATCH: usize = 500;

#[test]
fn a_client_that_never_reads_is_dropped_and_the_others_carry_on() {
    let s = Server::start_conf(&no_flood("max_sendq = 4096\n"));
    let mut sleeper = s.join("sleeper");
    let mut blaster = s.join_seen_by("blaster", &mut [&mut sleeper]);
    let mut watcher = s.join_seen_by("watcher", &mut [&mut sleeper, &mut blaster]);
    // From here on the sleeper never reads.
    // Short lines: the server handles up to 64 lines of one connection per
    // pass, and 64 of these (about 3 KB) must fit in the readers' 4 KB queue.
    let text = "zzzzzzzzzz";
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend_from_slice(format!("ALL {text}\n").as_bytes());
    }
    let mut left = None;
    let mut watcher_saw_left = false;
    let mut sent = 0;
    while left.is_none() && sent < MAX_LINES {
        blaster.send_raw(&batch);
        sent += BATCH;
        for _ in 0..BATCH {
            let l = blaster.line();
            if l.starts_with("LEFT ") {
                left = Some(l);
                let ok = blaster.line();
                assert!(ok.starts_with("OK ALL delivered="), "{ok}");
            } else {
                assert!(l == "OK ALL delivered=2" || l == "OK ALL delivered=1", "{l}");
            }
            // The watcher keeps receiving all along.
            let w = watcher.line();
            if w.starts_with("LEFT ") {
                assert_eq!(mask_ts(&w), "LEFT <ts> sleeper sendq exceeded");
                watcher_saw_left = true;
                assert_eq!(mask_ts(&watcher.line()), format!("ALL <ts> blaster {text}"));
            } else {
                assert_eq!(mask_ts(&w), format!("ALL <ts> blaster {text}"));
            }
        }
    }
    let left = left.unwrap_or_else(|| panic!("sleeper not dropped after {sent} lines"));
    assert_eq!(mask_ts(&left), "LEFT <ts> sleeper sendq exceeded");
    assert!(watcher_saw_left);
    // The sleeper is gone: WHO, MSG and the count of ALL say so.
    assert_eq!(blaster.ask("WHO"), "OK WHO 2 blaster watcher");
    assert_eq!(blaster.ask("MSG sleeper wake up"), "OK MSG sleeper stored");
    assert_eq!(blaster.ask("ALL still here?"), "OK ALL delivered=1");
    assert_eq!(watcher.event(), "ALL <ts> blaster still here?");
    // The sleeper's connection was closed: reading drains what the kernel
    // held and then ends (or is reset).
    assert!(drain_to_eof(&mut sleeper), "sleeper's connection still open");
}

/// Reads until end of file or a reset; false if the data does not end.
fn drain_to_eof(c: &mut Client) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + WAIT;
    let mut chunk = vec![0u8; 1 << 16];
    while std::time::Instant::now() < deadline {
        match c.stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_reader_is_never_dropped_however_much_it_receives() {
    // Output that is read as it comes never passes max_sendq, even when the
    // total is many times larger.
    let s = Server::start_conf(&no_flood("max_sendq = 4096\n"));
    let mut reader = s.join("reader");
    let mut talker = s.join_seen_by("talker", &mut [&mut reader]);
    let text = "r".repeat(1000);
    for _ in 0..20 {
        let mut batch = Vec::new();
        for _ in 0..3 {
            batch.extend_from_slice(format!("ALL {text}\n").as_bytes());
        }
        talker.send_raw(&batch);
        for _ in 0..3 {
            assert_eq!(talker.line(), "OK ALL delivered=1");
            assert_eq!(reader.event(), format!("ALL <ts> talker {text}"));
        }
    }
    assert_eq!(reader.ask("WHO"), "OK WHO 2 reader talker");
}
