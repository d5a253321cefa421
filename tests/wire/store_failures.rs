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

/// The `unlogged=` field of the console's STATS line.
fn unlogged(s: &mut Operated) -> u64 {
    let reply = s.console("STATS");
    let field = reply[0].split(' ').find_map(|kv| kv.strip_prefix("unlogged=")).expect("unlogged= in STATS");
    field.parse().expect("unlogged count")
}

/// Issue 13: while commits fail, live chat goes on, and the live messages
/// (ALL, MSG and MCAST to online users) are kept and written to the log,
/// in order and with their own timestamps, by the first commit that works,
/// before anything newer: HISTORY has no hole once the storage is back.
#[test]
fn live_messages_during_a_lock_reach_the_log_once_it_is_gone() {
    let mut s = Operated::start(Via::Socket);
    let (mut alice, mut carol) = bob_offline(&s);
    assert_eq!(alice.ask("ALL before"), "OK ALL delivered=1");
    let t0 = carol.event_ts("ALL", "alice before");

    let lock = DbLock::hold(&s.db_path());
    assert_eq!(alice.ask("ALL one"), "OK ALL delivered=1");
    let t1 = carol.event_ts("ALL", "alice one");
    assert_eq!(carol.ask("MSG alice two"), "OK MSG alice delivered");
    let t2 = alice.event_ts("MSG", "carol two");
    alice.send("MCAST carol,alice three");
    let t3 = carol.event_ts("MCAST", "alice carol,alice three");
    let mine = alice.lines_sorted(2);
    assert_eq!(mine, [format!("MCAST {t3} alice carol,alice three"), "OK MCAST delivered=carol,alice stored=-".into()]);
    // A message for an offline user still cannot be promised.
    assert!(alice.ask("MSG bob not now").starts_with("ERR STORAGE "));
    assert_eq!(unlogged(&mut s), 3);
    // While they wait they are not in HISTORY (it reads the database).
    assert_eq!(alice.history("HISTORY"), [format!("HISTORY {t0} alice * before")]);

    lock.release();
    // The first write after the lock puts the kept ones in first.
    assert_eq!(alice.ask("MSG bob after"), "OK MSG bob stored");
    s.wait_log("3 live messages kept while the store was failing are in the log now");
    assert_eq!(unlogged(&mut s), 0);
    let want = [
        format!("HISTORY {t0} alice * before"),
        format!("HISTORY {t1} alice * one"),
        format!("HISTORY {t2} carol alice two"),
        format!("HISTORY {t3} alice carol,alice three"),
    ];
    let history = alice.history("HISTORY");
    assert_eq!(history[..4], want, "{history:?}");
    assert_eq!(mask_ts(&history[4]), "HISTORY <ts> alice bob after");
    assert_eq!(history.len(), 5, "{history:?}");
    // Carol may see all but the message to bob.
    assert_eq!(carol.history("HISTORY"), want);

    // They are on disk: a restart keeps them.
    let s = Server::start_in(s.server.stop(), &[], "");
    let mut alice = s.join("alice");
    assert_eq!(alice.history("HISTORY")[..4], want);
}

/// A lock that outlasts every message: the kept ones are written by the
/// server's own retry, with nobody sending anything.
#[test]
fn kept_messages_are_written_when_the_lock_goes_even_if_nobody_talks() {
    let mut s = Operated::start(Via::Socket);
    let (mut alice, mut carol) = bob_offline(&s);
    let lock = DbLock::hold(&s.db_path());
    assert_eq!(alice.ask("ALL alone in the dark"), "OK ALL delivered=1");
    let t = carol.event_ts("ALL", "alice alone in the dark");
    lock.release();
    s.wait_log("1 live messages kept while the store was failing are in the log now");
    assert_eq!(unlogged(&mut s), 0);
    assert_eq!(carol.history("HISTORY"), [format!("HISTORY {t} alice * alone in the dark")]);
}

/// Past max_unlogged, live messages are still delivered but not kept; the
/// server log says so once, and how many are missing once writing works.
#[test]
fn past_max_unlogged_messages_are_delivered_but_missing_from_the_log() {
    let dir = TempDir::new();
    std::fs::write(dir.path("chatd.toml"), "max_unlogged = 2\n").expect("write config");
    let config = dir.path("chatd.toml").display().to_string();
    let mut s = Operated::start_custom(Via::Socket, dir, &["-c", &config], |_| {});
    let (mut alice, mut carol) = bob_offline(&s);

    let lock = DbLock::hold(&s.db_path());
    let mut stamps = Vec::new();
    for i in 1..=5 {
        assert_eq!(alice.ask(&format!("ALL number {i}")), "OK ALL delivered=1");
        stamps.push(carol.event_ts("ALL", &format!("alice number {i}")));
    }
    // Said once, at the first message that could not be kept.
    s.wait_log("store: 2 live messages (");
    assert_eq!(unlogged(&mut s), 2);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!s.log_so_far().iter().any(|l| l.contains("wait for the log")), "said twice");

    lock.release();
    s.wait_log("2 live messages kept while the store was failing are in the log now");
    s.wait_log("store: 3 live messages are missing from the log");
    assert_eq!(
        carol.history("HISTORY"),
        [format!("HISTORY {} alice * number 1", stamps[0]), format!("HISTORY {} alice * number 2", stamps[1])]
    );
}
