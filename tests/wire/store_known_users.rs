//! Known users persist (issue 4): a name that has joined once stays known,
//! across restarts, so messages to it are stored; a name that never joined
//! is refused with NO_SUCH_USER.
use crate::common::*;

#[test]
fn a_name_that_joined_once_is_known_after_a_restart() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let s = Server::start_in(s.kill(), &[], "");
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("MSG alice are you there?"), "OK MSG alice stored");
    assert_eq!(bob.ask("MSG nobody hello"), "ERR NO_SUCH_USER nobody");
}

#[test]
fn a_name_that_never_joined_is_not_known() {
    let s = Server::start();
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("MSG carol hi"), "ERR NO_SUCH_USER carol");
    // A connection that only said HELLO does not make its name known.
    let mut carol = s.connect();
    assert_eq!(carol.ask("PING"), "PONG");
    drop(carol);
    assert_eq!(bob.ask("MSG carol hi"), "ERR NO_SUCH_USER carol");
}

#[test]
fn known_names_are_case_insensitive_and_keep_their_spelling() {
    let s = Server::start();
    let mut alice = s.join("Alice");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let s = Server::start_in(s.kill(), &[], "");
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("MSG ALICE hi"), "OK MSG Alice stored");
}

#[test]
fn an_mcast_with_one_unknown_name_stores_nothing() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let mut bob = s.join("bob");
    assert_eq!(bob.ask("MCAST alice,nobody hi both"), "ERR NO_SUCH_USER nobody");

    let mut alice = s.connect();
    assert_eq!(alice.ask("JOIN alice"), "OK JOIN alice pending=0");
    bob.event_ts("JOINED", "alice");
    alice.expect_silence(std::time::Duration::from_millis(300));
}
