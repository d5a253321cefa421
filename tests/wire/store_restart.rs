//! Stored messages survive the server (issue 4): a message acknowledged
//! with `OK MSG <name> stored` is delivered after a graceful restart, and
//! after `kill -9` of the server right after that reply (protocol section 7:
//! `stored` is sent only after the commit).
use crate::common::*;

/// alice and bob have joined once; bob is offline, alice is online.
fn bob_offline(s: &Server) -> Client {
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    s.join("alice")
}

#[test]
fn stored_messages_survive_a_graceful_restart() {
    let s = Server::start();
    let mut alice = bob_offline(&s);
    assert_eq!(alice.ask("MSG bob one"), "OK MSG bob stored");
    assert_eq!(alice.ask("MCAST bob two"), "OK MCAST delivered=- stored=bob");
    assert_eq!(alice.ask("MSG bob three"), "OK MSG bob stored");
    let sent = alice.history("HISTORY");
    assert_eq!(sent.len(), 3, "{sent:?}");
    let (t1, t2, t3) = (ts_of(&sent[0]), ts_of(&sent[1]), ts_of(&sent[2]));
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let s = Server::start_in(s.stop(), &[], "");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=3");
    assert_eq!(bob.line(), format!("MSG {t1} alice one"));
    assert_eq!(bob.line(), format!("MCAST {t2} alice bob two"));
    assert_eq!(bob.line(), format!("MSG {t3} alice three"));
}

#[test]
fn a_stored_message_survives_kill_9_right_after_the_reply() {
    let s = Server::start();
    let mut alice = bob_offline(&s);
    assert_eq!(alice.ask("MSG bob acknowledged, then the server died"), "OK MSG bob stored");
    let dir = s.kill();

    let s = Server::start_in(dir, &[], "");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=1");
    bob.event_ts("MSG", "alice acknowledged, then the server died");
}

#[test]
fn every_acknowledged_message_of_a_burst_survives_kill_9() {
    let s = Server::start();
    let mut alice = bob_offline(&s);
    // One write, so the server handles them in as few passes as it likes.
    let burst: String = (1..=20).map(|i| format!("MSG bob number {i}\n")).collect();
    alice.send_raw(burst.as_bytes());
    for _ in 1..=20 {
        assert_eq!(alice.line(), "OK MSG bob stored");
    }
    let dir = s.kill();

    let s = Server::start_in(dir, &[], "");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=20");
    for i in 1..=20 {
        bob.event_ts("MSG", &format!("alice number {i}"));
    }
}

#[test]
fn messages_stored_across_several_crashes_all_arrive() {
    let mut s = Server::start();
    drop(bob_offline(&s));
    for i in 1..=3 {
        let mut alice = s.connect();
        assert_eq!(alice.ask("JOIN alice"), "OK JOIN alice pending=0");
        assert_eq!(alice.ask(&format!("MSG bob before crash {i}")), "OK MSG bob stored");
        s = Server::start_in(s.kill(), &[], "");
    }
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=3");
    for i in 1..=3 {
        bob.event_ts("MSG", &format!("alice before crash {i}"));
    }
}
