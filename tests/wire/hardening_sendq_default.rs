//! Protocol section 6, the send queue at its default size (1 MiB) and the
//! promise that "the server itself never blocks on one client": while a
//! client that never reads is blasted with broadcasts of nearly `max_line`
//! bytes, another client keeps receiving each batch within a second, and the
//! sleeper is dropped with `LEFT <ts> sleeper sendq exceeded`.
//! (sendq.rs covers the drop itself with a small max_sendq.)
use crate::common::*;
use std::time::{Duration, Instant};

const BATCH: usize = 20;
/// At about 20 KB a batch, 40 MB in all: far beyond the sleeper's kernel
/// socket buffers plus 1 MiB of server queue.
const MAX_BATCHES: usize = 2000;
/// The generous bound on how long a batch may take to reach the watcher.
const PROMPT: Duration = Duration::from_secs(1);

#[test]
fn a_non_reader_is_dropped_at_the_default_sendq_while_others_receive_within_a_second() {
    let s = Server::start_conf(&no_flood("")); // default max_sendq
    let mut sleeper = s.join("sleeper");
    let mut blaster = s.join_seen_by("blaster", &mut [&mut sleeper]);
    let mut watcher = s.join_seen_by("watcher", &mut [&mut sleeper, &mut blaster]);
    // From here on the sleeper never reads.
    let text = "w".repeat(1000);
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend_from_slice(format!("ALL {text}\n").as_bytes());
    }
    let expected_all = format!("ALL <ts> blaster {text}");
    let left = "LEFT <ts> sleeper sendq exceeded";
    let (mut watcher_left, mut blaster_left) = (0, 0);
    let mut batches = 0;
    let mut slowest = Duration::ZERO;
    while watcher_left + blaster_left == 0 && batches < MAX_BATCHES {
        let start = Instant::now();
        blaster.send_raw(&batch);
        batches += 1;
        let mut alls = 0;
        while alls < BATCH {
            let w = mask_ts(&watcher.line());
            if w == left {
                watcher_left += 1;
            } else {
                assert_eq!(w, expected_all);
                alls += 1;
            }
        }
        let took = start.elapsed();
        slowest = slowest.max(took);
        assert!(took < PROMPT, "batch {batches} took {took:?} to reach the watcher");
        let mut oks = 0;
        while oks < BATCH {
            let l = blaster.line();
            if mask_ts(&l) == left {
                blaster_left += 1;
            } else {
                assert!(l == "OK ALL delivered=2" || l == "OK ALL delivered=1", "{l}");
                oks += 1;
            }
        }
    }
    assert!(watcher_left + blaster_left > 0, "sleeper not dropped after {batches} batches of {BATCH} lines");
    eprintln!("sleeper dropped after {batches} batches; slowest batch {slowest:?}");
    // A LEFT that came after the last batch's lines is still waiting.
    for (c, n) in [(&mut blaster, &mut blaster_left), (&mut watcher, &mut watcher_left)] {
        for l in c.sync("end") {
            assert_eq!(mask_ts(&l), left);
            *n += 1;
        }
    }
    assert_eq!((blaster_left, watcher_left), (1, 1), "each sees the LEFT once");
    assert_eq!(blaster.ask("WHO"), "OK WHO 2 blaster watcher");
    let start = Instant::now();
    assert_eq!(watcher.ask("PING prompt"), "PONG prompt");
    assert!(start.elapsed() < PROMPT, "PING took {:?} after the drop", start.elapsed());
}
