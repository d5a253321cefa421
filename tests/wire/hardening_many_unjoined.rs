//! Protocol section 6, join_timeout at scale: 1 000 connections that never
//! join (some silent, some with half a line, some chatting with PING) are
//! all timed out, each with `ERR TIMEOUT` and then end of file, while a
//! joined user is served throughout and a new one can join afterwards.
use crate::common::*;

const CONNS: usize = 1000;

#[test]
fn a_thousand_connections_that_never_join_are_all_timed_out_and_the_server_still_serves() {
    // The test holds over 1 000 sockets of its own.
    let limit = chatd::os::raise_nofile_limit().expect("descriptor limit");
    assert!(limit >= 1200, "descriptor limit {limit} is too low for this test");
    let s = Server::start_conf("join_timeout = 1\n");
    let mut alice = s.join("alice");

    let mut idle = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let mut c = s.connect();
        match i % 3 {
            0 => {}                             // says nothing
            1 => c.send_raw(b"JOIN half-a-li"), // half a line, never finished
            _ => c.send(&format!("PING idle{i}")),
        }
        idle.push(c);
        if i % 250 == 0 {
            // Joined users are served while the connections pile up.
            assert_eq!(alice.ask(&format!("PING during{i}")), format!("PONG during{i}"));
        }
    }

    for (i, c) in idle.iter_mut().enumerate() {
        if i % 3 == 2 {
            assert_eq!(c.line(), format!("PONG idle{i}"), "connection {i}");
        }
        let l = c.line();
        assert_err(&l, "TIMEOUT");
        assert!(c.closed_within(WAIT), "connection {i} still open after {l:?}");
    }

    // alice was never timed out, saw no LEFT for connections that never
    // joined, and a newcomer can join and talk to her.
    alice.assert_nothing_pending("after");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(bob.ask("MSG alice still here"), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob still here");
    assert_eq!(alice.ask("WHO"), "OK WHO 2 alice bob");
}
