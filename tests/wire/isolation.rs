//! Protocol section 7, "no client can hold the server": a client streaming
//! bytes without end, with or without line ends, costs the others no
//! noticeable delay. Functional checks with generous bounds (a second), not
//! speed targets: `scripts/bench-isolation.py` measures the latencies.
use crate::common::*;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Round trips of `PING` from `probe` until `stop`; returns the slowest.
fn slowest_pong(probe: &mut Client, stop: &AtomicBool) -> (Duration, usize) {
    let mut worst = Duration::ZERO;
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        assert_eq!(probe.ask(&format!("PING p{n}")), format!("PONG p{n}"));
        worst = worst.max(t.elapsed());
        n += 1;
        thread::sleep(Duration::from_millis(10));
    }
    (worst, n)
}

#[test]
fn a_client_streaming_100_mib_without_a_newline_does_not_hold_another_clients_pong() {
    let s = Server::start();
    let mut probe = s.join("probe");
    let mut streamer = s.connect();
    streamer.stream.set_write_timeout(Some(Duration::from_secs(60))).expect("write timeout");
    let mut out = streamer.stream.try_clone().expect("clone");
    let stop = Arc::new(AtomicBool::new(false));
    let done = stop.clone();
    let writer = thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            out.write_all(&chunk).expect("stream");
        }
        done.store(true, Ordering::Relaxed);
    });
    let (worst, pings) = slowest_pong(&mut probe, &stop);
    writer.join().expect("writer");
    eprintln!("{pings} PINGs while 100 MiB streamed; slowest PONG {worst:?}");
    assert!(pings > 0);
    assert!(worst < Duration::from_secs(1), "a PONG took {worst:?} while another client streamed");
    // The streamer's line is discarded, with one error, and it still works.
    streamer.send_raw(b"\nPING after\n");
    assert_err(&streamer.line(), "LINE_TOO_LONG");
    assert_eq!(streamer.line(), "PONG after");
}

#[test]
fn a_client_sending_lines_without_end_does_not_hold_another_clients_pong() {
    let s = Server::start_conf(&no_flood(""));
    let mut probe = s.join("probe");
    // Not joined, so its going (if it is dropped for not reading fast
    // enough) is no event for the probe.
    let talker = s.connect();
    talker.stream.set_write_timeout(Some(Duration::from_secs(60))).expect("write timeout");
    let mut out = talker.stream.try_clone().expect("clone");
    // Its replies are read and dropped, so only its input is the load.
    let mut replies = talker.stream.try_clone().expect("clone");
    thread::spawn(move || std::io::copy(&mut replies, &mut std::io::sink()));
    let stop = Arc::new(AtomicBool::new(false));
    let done = stop.clone();
    let writer = thread::spawn(move || {
        let chunk = "PING x\nWHO\nPING y\n".repeat(4096);
        for _ in 0..200 {
            if out.write_all(chunk.as_bytes()).is_err() {
                break; // dropped for not reading its replies fast enough: fine
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    let (worst, pings) = slowest_pong(&mut probe, &stop);
    writer.join().expect("writer");
    eprintln!("{pings} PINGs while 2.4 M lines streamed; slowest PONG {worst:?}");
    assert!(pings > 0);
    assert!(worst < Duration::from_secs(1), "a PONG took {worst:?} while another client streamed commands");
}
