//! Protocol section 6, max_clients: when the server holds `max_clients`
//! connections (joined or not), the next one gets `ERR SERVER_FULL ...` and
//! is closed. Every test sets `max_clients = 2`.
use crate::common::*;

#[test]
fn the_third_connection_is_refused_and_closed() {
    let s = Server::start_conf("max_clients = 2\n");
    let mut a = s.join("alice");
    let _b = s.connect();
    let mut c = Client::connect_raw(s.addr);
    assert_err(&c.line(), "SERVER_FULL");
    assert!(c.closed_within(WAIT));
    // The two that are in are unaffected.
    assert_eq!(a.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn connections_that_have_not_joined_count_too() {
    let s = Server::start_conf("max_clients = 2\n");
    let _a = s.connect();
    let _b = s.connect();
    let mut c = Client::connect_raw(s.addr);
    assert_err(&c.line(), "SERVER_FULL");
    assert!(c.closed_within(WAIT));
}

#[test]
fn a_slot_is_free_again_once_a_connection_has_gone() {
    let s = Server::start_conf("max_clients = 2\n");
    let mut a = s.join("alice");
    let mut b = s.join("bob");
    assert_eq!(a.event(), "JOINED <ts> bob");
    let mut refused = Client::connect_raw(s.addr);
    assert_err(&refused.line(), "SERVER_FULL");
    assert_eq!(b.ask("QUIT"), "OK LEAVE");
    assert!(b.closed_within(WAIT));
    assert_eq!(a.event(), "LEFT <ts> bob");
    let mut c = s.connect();
    assert_eq!(c.ask("JOIN carol"), "OK JOIN carol pending=0");
    assert_eq!(a.event(), "JOINED <ts> carol");
}

#[test]
fn a_refused_connection_is_not_announced_and_cannot_send() {
    let s = Server::start_conf("max_clients = 2\n");
    let mut a = s.join("alice");
    let _b = s.connect();
    let mut c = Client::connect_raw(s.addr);
    assert_err(&c.line(), "SERVER_FULL");
    // Whatever it sends is not handled (it may fail to arrive at all).
    let _ = std::io::Write::write_all(&mut c.stream, b"JOIN carol\nALL hi\n");
    a.assert_nothing_pending("nothing");
    assert_eq!(a.ask("WHO"), "OK WHO 1 alice");
}
