//! Protocol section 6, join_timeout: a connection that has not joined within
//! `join_timeout` seconds gets `ERR TIMEOUT ...` and is closed; PING and HELP
//! do not extend that time; a joined connection is never timed out.
//! Every test sets `join_timeout` to 1 or 2 seconds.
use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn a_connection_that_does_not_join_gets_timeout_and_is_closed() {
    let s = Server::start_conf("join_timeout = 1\n");
    let mut c = s.connect();
    assert_err(&c.line(), "TIMEOUT");
    assert!(c.closed_within(WAIT));
}

#[test]
fn ping_and_help_do_not_extend_the_time() {
    let s = Server::start_conf("join_timeout = 2\n");
    let mut c = s.connect();
    // Keep the connection busy for up to 12 s; it must be closed long before.
    let deadline = Instant::now() + Duration::from_secs(12);
    let mut n = 0;
    let timeout = loop {
        assert!(Instant::now() < deadline, "still open after {n} PINGs");
        c.send(if n % 2 == 0 { "PING busy" } else { "HELP" });
        n += 1;
        let mut got = None;
        while let Some(l) = c.try_line(Duration::from_millis(250)) {
            if l.starts_with("ERR ") {
                got = Some(l);
                break;
            }
        }
        if let Some(l) = got {
            break l;
        }
    };
    assert_err(&timeout, "TIMEOUT");
    assert!(c.closed_within(WAIT));
}

#[test]
fn a_joined_connection_is_not_timed_out() {
    let s = Server::start_conf("join_timeout = 1\n");
    let mut alice = s.join("alice");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(alice.ask("PING still-here"), "PONG still-here");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn failed_joins_do_not_extend_the_time_either() {
    let s = Server::start_conf("join_timeout = 1\n");
    let mut taker = s.join("alice");
    let mut c = s.connect();
    assert_err(&c.ask("JOIN alice"), "NAME_TAKEN");
    assert_err(&c.ask("JOIN toolongname"), "NAME_TOO_LONG");
    let (before, e) = c.until("ERR TIMEOUT");
    assert!(before.is_empty(), "{before:?}");
    assert_err(&e, "TIMEOUT");
    assert!(c.closed_within(WAIT));
    // A connection that never joined leaves no LEFT behind.
    taker.assert_nothing_pending("no-left");
}

#[test]
fn a_timed_out_connection_makes_room_and_others_are_unaffected() {
    let s = Server::start_conf("join_timeout = 1\nmax_clients = 2\n");
    let mut alice = s.join("alice");
    let mut idle = s.connect();
    assert_err(&idle.line(), "TIMEOUT");
    assert!(idle.closed_within(WAIT));
    // The idle connection's slot is free again.
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
    assert_eq!(alice.event(), "JOINED <ts> bob");
}
