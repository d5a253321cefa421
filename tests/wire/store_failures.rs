//! Storage failure never takes the server down and never lies (issue 4):
//! while another process holds the database's write lock (the server waits
//! 20 ms for it), whatever must be stored answers `ERR STORAGE ...` and
//! changes nothing, live chat goes on, and once the lock is gone storing
//! works again.
use crate::common::*;
use std::time::Duration;

fn assert_storage_error(reply: &str, what: &str) {
    assert!(reply.starts_with("ERR STORAGE "), "{what}: {reply:?}");
}

#[test]
fn a_locked_database_refuses_to_store_while_live_chat_goes_on() {
    let s = Server::start();
    let (mut alice, mut carol) = bob_offline(&s);
    let lock = DbLock::hold(&s.db_path());

    assert_storage_error(&alice.ask("MSG bob while locked"), "MSG to an offline user");
    // Nothing is sent to anyone unless the offline copy is saved.
    assert_storage_error(&alice.ask("MCAST bob,carol while locked"), "MCAST with an offline user");
    carol.expect_silence(Duration::from_millis(300));

    // Live messages need no promise from the disk.
    assert_eq!(alice.ask("MSG carol live"), "OK MSG carol delivered");
    carol.event_ts("MSG", "alice live");
    assert_eq!(alice.ask("ALL live for all"), "OK ALL delivered=1");
    carol.event_ts("ALL", "alice live for all");
    assert_eq!(alice.ask("PING still there"), "PONG still there");
    assert_eq!(carol.ask("WHO"), "OK WHO 2 alice carol");

    lock.release();
    assert_eq!(alice.ask("MSG bob after the lock"), "OK MSG bob stored");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=1");
    bob.event_ts("MSG", "alice after the lock");
    assert_eq!(bob.ask("PING"), "PONG");
}

#[test]
fn register_on_a_locked_database_sets_no_password() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let lock = DbLock::hold(&s.db_path());
    assert_storage_error(&alice.ask("REGISTER never-saved"), "REGISTER");
    lock.release();
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let mut alice = s.connect();
    assert_eq!(alice.ask("JOIN alice"), "OK JOIN alice pending=0");
    assert_eq!(alice.ask("REGISTER saved-now"), "OK REGISTER");
}

#[test]
fn the_server_keeps_running_through_a_long_lock() {
    let s = Server::start();
    let (mut alice, _carol) = bob_offline(&s);
    let lock = DbLock::hold(&s.db_path());
    for i in 1..=10 {
        assert_storage_error(&alice.ask(&format!("MSG bob try {i}")), "MSG to an offline user");
        assert_eq!(alice.ask(&format!("PING {i}")), format!("PONG {i}"));
    }
    lock.release();
    assert_eq!(alice.ask("MSG bob at last"), "OK MSG bob stored");
}

#[test]
fn a_name_that_joined_during_a_lock_is_still_known_after_a_restart() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let lock = DbLock::hold(&s.db_path());
    let mut dave = s.join("dave");
    alice.event_ts("JOINED", "dave");
    assert_eq!(dave.ask("QUIT"), "OK LEAVE");
    assert!(dave.closed_within(WAIT));
    alice.event_ts("LEFT", "dave");
    lock.release();
    // Before the restart dave is known: a message to him is stored.
    assert_eq!(alice.ask("MSG dave before the restart"), "OK MSG dave stored");

    let s = Server::start_in(s.kill(), &[], "");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("MSG dave hello"), "OK MSG dave stored");
}

#[test]
fn a_clock_never_goes_backwards_across_a_restart() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut carol = s.join("carol");
    alice.event_ts("JOINED", "carol");
    let lock = DbLock::hold(&s.db_path());
    assert_eq!(alice.ask("MSG carol live while locked"), "OK MSG carol delivered");
    carol.event_ts("MSG", "alice live while locked");
    lock.release();
    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=1");
    assert_eq!(carol.ask("CLOCK"), "OK CLOCK alice=1,carol=1");
    // The next pass that writes (this broadcast is logged) also saves what
    // the failed commit left in memory; its reply comes after that commit.
    assert_eq!(alice.ask("ALL sync"), "OK ALL delivered=1");
    carol.event_ts("ALL", "alice sync");

    let s = Server::start_in(s.kill(), &[], "");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=2");
    let mut carol = s.join("carol");
    assert_eq!(carol.ask("CLOCK"), "OK CLOCK alice=2,carol=2");
}

#[test]
fn a_message_delivered_during_a_lock_is_not_delivered_again() {
    let s = Server::start();
    let (mut alice, _carol) = bob_offline(&s);
    assert_eq!(alice.ask("MSG bob only once"), "OK MSG bob stored");

    let lock = DbLock::hold(&s.db_path());
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=1");
    bob.event_ts("MSG", "alice only once");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    lock.release();

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
}
