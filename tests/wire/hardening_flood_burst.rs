//! Protocol section 6, flood control at its defaults (20 lines per second,
//! bursts of 40): lines past the budget are delayed, never dropped, and are
//! handled in the order they were sent. This test sends 100 lines in one
//! write, so it takes about 3 seconds by design.
use crate::common::*;
use std::time::{Duration, Instant};

const LINES: usize = 100;

#[test]
fn a_burst_of_100_lines_is_answered_in_full_and_in_order() {
    let s = Server::start(); // default flood_rate and flood_burst
    let mut bob = s.join("bob");
    let mut alice = s.join_seen_by("alice", &mut [&mut bob]);
    // Every 10th line is a broadcast, so the order of delivery to others is
    // checked along with the order of replies.
    let line = |i: usize| if i.is_multiple_of(10) { format!("ALL burst {i}") } else { format!("PING {i}") };
    let mut burst = String::new();
    for i in 1..=LINES {
        burst.push_str(&line(i));
        burst.push('\n');
    }
    let start = Instant::now();
    alice.send_raw(burst.as_bytes());
    for i in 1..=LINES {
        let want = if i.is_multiple_of(10) { "OK ALL delivered=1".to_string() } else { format!("PONG {i}") };
        assert_eq!(alice.line(), want, "reply to line {i}");
    }
    let took = start.elapsed();
    for i in (10..=LINES).step_by(10) {
        assert_eq!(bob.event(), format!("ALL <ts> alice burst {i}"));
    }
    // Nothing more is waiting on either side: no line was answered twice.
    alice.assert_nothing_pending("after-burst");
    bob.assert_nothing_pending("bob-after");
    // A lower bound only, so a slow machine cannot fail it: 60 lines past the
    // burst at 20 per second need about 3 seconds, so flood control really
    // delayed them (rather than, say, letting everything through).
    assert!(took >= Duration::from_secs(2), "100 lines answered in {took:?}: flood control did not delay them");
    eprintln!("100 lines answered in {took:?}");
}

#[test]
fn a_throttled_connection_does_not_delay_others() {
    // While alice's burst is being held back, bob's lines are answered at
    // once, in between: the server stops reading alice, not everyone.
    let s = Server::start();
    let mut bob = s.join("bob");
    let mut alice = s.join_seen_by("alice", &mut [&mut bob]);
    let mut burst = String::new();
    for i in 1..=LINES {
        burst.push_str(&format!("PING a{i}\n"));
    }
    alice.send_raw(burst.as_bytes());
    // Wait until alice's budget is spent (her first 40 or so replies).
    for i in 1..=40 {
        assert_eq!(alice.line(), format!("PONG a{i}"));
    }
    // bob's ALL reaches alice before the rest of her own replies: it is
    // queued for her the moment bob's line is handled, while most of her
    // burst still waits for tokens.
    assert_eq!(bob.ask("ALL while you wait"), "OK ALL delivered=1");
    let mut seen_all_at = None;
    let mut next = 41;
    while next <= LINES {
        let l = alice.line();
        if l.starts_with("ALL ") {
            assert_eq!(mask_ts(&l), "ALL <ts> bob while you wait");
            seen_all_at = Some(next);
        } else {
            assert_eq!(l, format!("PONG a{next}"));
            next += 1;
        }
    }
    let at = seen_all_at.unwrap_or_else(|| {
        assert_eq!(alice.event(), "ALL <ts> bob while you wait");
        LINES + 1
    });
    assert!(at < LINES, "bob's ALL arrived only after alice's whole burst (before reply {at})");
    alice.assert_nothing_pending("end");
}
