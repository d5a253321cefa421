//! LEAVE/QUIT (protocol section 4): `OK LEAVE`, then the server closes the
//! connection; others get `LEFT <ts> <name> [reason]`. A connection that
//! closes without LEAVE produces `LEFT <ts> <name> connection closed`.
use crate::common::*;
use std::net::Shutdown;

/// alice and bob online, each having read the other's JOINED.
fn pair(s: &Server) -> (Client, Client) {
    let mut alice = s.join("alice");
    let bob = s.join_seen_by("bob", &mut [&mut alice]);
    (alice, bob)
}

#[test]
fn leave_without_reason() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    assert_eq!(bob.ask("LEAVE"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    assert_eq!(alice.event(), "LEFT <ts> bob");
}

#[test]
fn leave_with_a_reason() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    assert_eq!(bob.ask("LEAVE off to lunch, back at 2"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    assert_eq!(alice.event(), "LEFT <ts> bob off to lunch, back at 2");
}

#[test]
fn quit_is_an_alias_with_and_without_reason() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    let mut carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    assert_eq!(alice.event(), "LEFT <ts> bob");
    assert_eq!(carol.event(), "LEFT <ts> bob");
    assert_eq!(carol.ask("quit   good  night "), "OK LEAVE");
    assert!(carol.closed_within(WAIT));
    assert_eq!(alice.event(), "LEFT <ts> carol good  night");
}

#[test]
fn the_leaver_gets_nothing_after_ok_leave() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    // Lines after QUIT in the same write are not handled.
    bob.send_raw(b"QUIT\nALL too late\nPING x\n");
    assert_eq!(bob.line(), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    assert_eq!(alice.event(), "LEFT <ts> bob");
    alice.assert_nothing_pending("no-late-all");
}

#[test]
fn an_abrupt_close_is_connection_closed() {
    let s = Server::start();
    let (mut alice, bob) = pair(&s);
    drop(bob);
    assert_eq!(alice.event(), "LEFT <ts> bob connection closed");
}

#[test]
fn a_half_close_without_quit_is_connection_closed() {
    let s = Server::start();
    let (mut alice, bob) = pair(&s);
    bob.stream.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(alice.event(), "LEFT <ts> bob connection closed");
}

#[test]
fn a_close_in_the_middle_of_a_line_is_connection_closed() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"ALL half a li");
    drop(bob);
    // The unterminated text may or may not be sent as a last line, but the
    // LEFT must come and say why.
    let (before, left) = alice.until("LEFT ");
    assert!(before.iter().all(|l| mask_ts(l) == "ALL <ts> bob half a li"), "{before:?}");
    assert_eq!(mask_ts(&left), "LEFT <ts> bob connection closed");
}

#[test]
fn a_connection_that_never_joined_leaves_no_trace() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let c = s.connect();
    drop(c);
    let mut d = s.connect();
    assert_eq!(d.ask("QUIT"), "OK LEAVE");
    assert!(d.closed_within(WAIT));
    alice.assert_nothing_pending("nothing");
}

#[test]
fn everyone_left_behind_sees_the_left() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    let mut carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    let dave = s.join_seen_by("dave", &mut [&mut alice, &mut bob, &mut carol]);
    drop(dave);
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.event(), "LEFT <ts> dave connection closed");
    }
}

#[test]
fn a_blank_reason_is_no_reason() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    assert_eq!(bob.ask("LEAVE     "), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob");
}
