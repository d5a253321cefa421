//! Protocol sections 1 and 6, a line far past `max_line`: 10 MiB without a
//! newline is discarded as it arrives, not buffered, so the server's memory
//! stays bounded; once the newline comes the client gets exactly one
//! `ERR LINE_TOO_LONG` and the connection works as before.
//!
//! Memory is read from the server's `/proc/<pid>/status`: `VmRSS` (resident
//! now) and `VmHWM` (the peak resident size), before and after.
use crate::common::*;
use std::time::Duration;

const HUGE: usize = 10 << 20;
/// Far below the 10 MiB a buffering server would hold, far above the
/// allocator's noise.
const MAX_GROWTH: u64 = 4 << 20;

#[test]
fn a_10_mib_line_without_newline_leaves_memory_bounded_and_the_connection_usable() {
    let s = Server::start_conf(&no_flood(""));
    let mut c = s.connect();
    c.stream.set_write_timeout(Some(WAIT)).expect("write timeout");
    // Let the connection's buffers exist before the baseline.
    assert_eq!(c.ask("PING warm"), "PONG warm");
    let rss_before = s.proc_status_bytes("VmRSS");
    let hwm_before = s.proc_status_bytes("VmHWM");

    // Something a buffering server would later parse as commands.
    let chunk = b"PING x ".repeat((64 << 10) / 7);
    let mut sent = 0;
    while sent < HUGE {
        let n = chunk.len().min(HUGE - sent);
        c.send_raw(&chunk[..n]);
        sent += n;
    }
    // The error comes as soon as the line passes the limit, long before its
    // end; nothing else comes while the rest is discarded.
    assert_err(&c.line(), "LINE_TOO_LONG");
    c.expect_silence(Duration::from_millis(200));
    c.send_raw(b"\nPING after\n");
    assert_eq!(c.line(), "PONG after");

    let rss_after = s.proc_status_bytes("VmRSS");
    let hwm_after = s.proc_status_bytes("VmHWM");
    let rss_growth = rss_after.saturating_sub(rss_before);
    // The peak during the test, above the resident size before it.
    let peak_growth = hwm_after.saturating_sub(hwm_before.max(rss_before));
    eprintln!(
        "VmRSS {} -> {} KiB, VmHWM {} -> {} KiB",
        rss_before >> 10,
        rss_after >> 10,
        hwm_before >> 10,
        hwm_after >> 10
    );
    assert!(rss_growth < MAX_GROWTH, "resident memory grew by {} KiB for a discarded line", rss_growth >> 10);
    assert!(peak_growth < MAX_GROWTH, "peak memory grew by {} KiB for a discarded line", peak_growth >> 10);

    // Exactly one error, and the connection is as good as new.
    c.assert_nothing_pending("end");
    assert_eq!(c.ask("JOIN alice"), "OK JOIN alice pending=0");
    assert_eq!(c.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn several_huge_lines_at_once_on_several_connections_leave_memory_bounded() {
    // Four clients each send 4 MiB without a newline at the same time: the
    // server's memory must not grow with their sum either.
    let s = Server::start_conf(&no_flood(""));
    let mut clients: Vec<Client> = (0..4).map(|_| s.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        assert_eq!(c.ask(&format!("PING warm{i}")), format!("PONG warm{i}"));
    }
    let rss_before = s.proc_status_bytes("VmRSS");
    let hwm_before = s.proc_status_bytes("VmHWM");
    let chunk = vec![b'y'; 256 << 10];
    for _ in 0..16 {
        for c in clients.iter_mut() {
            c.send_raw(&chunk);
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        c.send_raw(format!("\nPING after{i}\n").as_bytes());
        assert_err(&c.line(), "LINE_TOO_LONG");
        assert_eq!(c.line(), format!("PONG after{i}"));
    }
    let rss_growth = s.proc_status_bytes("VmRSS").saturating_sub(rss_before);
    let peak_growth = s.proc_status_bytes("VmHWM").saturating_sub(hwm_before.max(rss_before));
    assert!(rss_growth < MAX_GROWTH, "resident memory grew by {} KiB", rss_growth >> 10);
    assert!(peak_growth < MAX_GROWTH, "peak memory grew by {} KiB", peak_growth >> 10);
}
