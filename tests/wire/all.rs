//! ALL (protocol section 4): every other joined user gets
//! `ALL <ts> <from> <text>`, the sender `OK ALL delivered=<count>`; the
//! sender is not echoed, and users who have not joined get nothing.
use crate::common::*;

#[test]
fn everyone_else_gets_it_and_the_sender_is_not_echoed() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let mut carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    assert_eq!(alice.ask("ALL hello room"), "OK ALL delivered=2");
    assert_eq!(bob.event(), "ALL <ts> alice hello room");
    assert_eq!(carol.event(), "ALL <ts> alice hello room");
    // PONG right after the OK: no ALL came back to alice.
    alice.assert_nothing_pending("no-echo");
}

#[test]
fn alone_in_the_room_nothing_is_delivered() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("ALL anyone?"), "OK ALL delivered=0");
    alice.assert_nothing_pending("alone");
}

#[test]
fn connections_that_have_not_joined_get_nothing() {
    let s = Server::start();
    let mut lurker = s.connect();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(alice.ask("ALL members only"), "OK ALL delivered=1");
    assert_eq!(bob.event(), "ALL <ts> alice members only");
    // The lurker saw no JOINED either.
    lurker.assert_nothing_pending("lurker");
}

#[test]
fn the_count_follows_joins_and_leaves() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    assert_eq!(alice.ask("ALL one"), "OK ALL delivered=2");
    drop(carol);
    assert_eq!(bob.event(), "ALL <ts> alice one");
    assert_eq!(bob.event(), "LEFT <ts> carol connection closed");
    assert_eq!(alice.event(), "LEFT <ts> carol connection closed");
    assert_eq!(alice.ask("ALL two"), "OK ALL delivered=1");
    assert_eq!(bob.event(), "ALL <ts> alice two");
}

#[test]
fn unicode_text_passes_unchanged() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let text = "caf\u{e9} \u{65e5}\u{672c}\u{8a9e} \u{1f642} \u{2013} \u{fc}ber";
    assert_eq!(alice.ask(&format!("ALL {text}")), "OK ALL delivered=1");
    assert_eq!(bob.event(), format!("ALL <ts> alice {text}"));
}

#[test]
fn broadcasts_from_several_senders_each_reach_the_others() {
    let s = Server::start();
    let mut a = s.join("a");
    let mut b = s.join_seen_by("b", &mut [&mut a]);
    let mut c = s.join_seen_by("c", &mut [&mut a, &mut b]);
    assert_eq!(a.ask("ALL from a"), "OK ALL delivered=2");
    assert_eq!(b.event(), "ALL <ts> a from a");
    assert_eq!(c.event(), "ALL <ts> a from a");
    assert_eq!(b.ask("ALL from b"), "OK ALL delivered=2");
    assert_eq!(a.event(), "ALL <ts> b from b");
    assert_eq!(c.event(), "ALL <ts> b from b");
    assert_eq!(c.ask("ALL from c"), "OK ALL delivered=2");
    assert_eq!(a.event(), "ALL <ts> c from c");
    assert_eq!(b.event(), "ALL <ts> c from c");
}
