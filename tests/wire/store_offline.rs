//! Offline store-and-forward (issue 4): MSG and MCAST to a known user who is
//! offline are stored and arrive at that user's next JOIN, right after
//! `OK JOIN <name> pending=<n>`, oldest first, in their normal event form
//! with their original timestamps; once delivered they are not delivered
//! again, but HISTORY still shows them.
use crate::common::*;
use std::time::Duration;

/// Joins alice, bob and carol, then bob leaves; every JOINED/LEFT is read.
fn alice_and_carol_online_bob_offline(s: &Server) -> (Client, Client) {
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    alice.event_ts("JOINED", "bob");
    let mut carol = s.join("carol");
    alice.event_ts("JOINED", "carol");
    bob.event_ts("JOINED", "carol");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    alice.event_ts("LEFT", "bob");
    carol.event_ts("LEFT", "bob");
    (alice, carol)
}

#[test]
fn stored_messages_arrive_at_next_join_oldest_first_with_original_timestamps() {
    let s = Server::start();
    let (mut alice, mut carol) = alice_and_carol_online_bob_offline(&s);

    assert_eq!(alice.ask("MSG bob first"), "OK MSG bob stored");
    assert_eq!(alice.ask("MCAST bob,carol to  both"), "OK MCAST delivered=carol stored=bob");
    let t2 = carol.event_ts("MCAST", "alice bob,carol to  both");
    assert_eq!(alice.ask("ALL while you were away"), "OK ALL delivered=1");
    let t3 = carol.event_ts("ALL", "alice while you were away");
    assert_eq!(alice.ask("MSG bob second"), "OK MSG bob stored");

    // The sender's HISTORY tells when each message was sent.
    let sent = alice.history("HISTORY");
    assert_eq!(sent.len(), 4, "{sent:?}");
    let t1 = ts_of(&sent[0]);
    let t4 = ts_of(&sent[3]);
    assert_eq!(
        sent,
        [
            format!("HISTORY {t1} alice bob first"),
            format!("HISTORY {t2} alice bob,carol to  both"),
            format!("HISTORY {t3} alice * while you were away"),
            format!("HISTORY {t4} alice bob second"),
        ]
    );

    // Join in a later second than the last send, so that a stored message
    // re-stamped at delivery would show.
    std::thread::sleep(Duration::from_millis(1100));
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=3");
    assert_eq!(bob.line(), format!("MSG {t1} alice first"));
    assert_eq!(bob.line(), format!("MCAST {t2} alice bob,carol to  both"));
    assert_eq!(bob.line(), format!("MSG {t4} alice second"));
    let joined_at = alice.event_ts("JOINED", "bob");
    assert!(t4 < joined_at, "sent at {t4}, joined at {joined_at}");
    carol.event_ts("JOINED", "bob");

    // Delivered, and still in the log (broadcasts are in HISTORY only).
    assert_eq!(
        bob.history("HISTORY"),
        [
            format!("HISTORY {t1} alice bob first"),
            format!("HISTORY {t2} alice bob,carol to  both"),
            format!("HISTORY {t3} alice * while you were away"),
            format!("HISTORY {t4} alice bob second"),
        ]
    );
}

#[test]
fn delivered_messages_are_not_delivered_again() {
    let s = Server::start();
    let (mut alice, mut carol) = alice_and_carol_online_bob_offline(&s);
    assert_eq!(alice.ask("MSG bob only once"), "OK MSG bob stored");

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=1");
    let t = bob.event_ts("MSG", "alice only once");
    alice.event_ts("JOINED", "bob");
    carol.event_ts("JOINED", "bob");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
    assert_eq!(bob.ask("PING after"), "PONG after");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));

    // Not after a restart either.
    drop((alice, carol));
    let s = Server::start_in(s.kill(), &[], "");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
    assert_eq!(bob.history("HISTORY"), [format!("HISTORY {t} alice bob only once")]);
}

#[test]
fn mcast_reports_who_got_it_now_and_who_will_get_it_later() {
    let s = Server::start();
    let mut dave = s.join("dave");
    assert_eq!(dave.ask("QUIT"), "OK LEAVE");
    assert!(dave.closed_within(WAIT));
    let (mut alice, mut carol) = alice_and_carol_online_bob_offline(&s);

    assert_eq!(alice.ask("MCAST bob,carol,dave mixed"), "OK MCAST delivered=carol stored=bob,dave");
    let t1 = carol.event_ts("MCAST", "alice bob,carol,dave mixed");
    assert_eq!(alice.ask("MCAST dave,bob,DAVE nobody home"), "OK MCAST delivered=- stored=dave,bob");
    // The sender is a recipient too: her copy is an event, which may come
    // before or after her OK.
    alice.send("MCAST carol,alice all here");
    let t3 = carol.event_ts("MCAST", "alice carol,alice all here");
    let mut got = [alice.line(), alice.line()];
    got.sort();
    let own_copy = format!("MCAST {t3} alice carol,alice all here");
    assert_eq!(got, [own_copy.as_str(), "OK MCAST delivered=carol,alice stored=-"]);

    let mut dave = s.connect();
    assert_eq!(dave.ask("JOIN dave"), "OK JOIN dave pending=2");
    assert_eq!(dave.line(), format!("MCAST {t1} alice bob,carol,dave mixed"));
    let t2 = dave.event_ts("MCAST", "alice dave,bob nobody home");
    alice.event_ts("JOINED", "dave");
    carol.event_ts("JOINED", "dave");

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=2");
    assert_eq!(bob.line(), format!("MCAST {t1} alice bob,carol,dave mixed"));
    assert_eq!(bob.line(), format!("MCAST {t2} alice dave,bob nobody home"));
}

/// A JOIN whose stored messages cannot be counted fails rather than promise
/// `pending=0`: nobody joins, nobody is told, the name stays free, and the
/// server log says why.
#[test]
fn a_join_whose_queue_cannot_be_read_fails_and_joins_nobody() {
    let s = Server::start();
    let mut alice = s.join("alice");
    // From outside, as a broken disk or a careless operator might.
    python_sql(&s.db_path(), "db.execute('DROP TABLE pending')\ndb.commit()");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "ERR STORAGE your stored messages cannot be read right now; try JOIN again later");
    s.wait_log("cannot read bob's stored messages: ");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
    assert_eq!(bob.ask("PING"), "PONG");
    assert_err(&bob.ask("WHO"), "NOT_JOINED");
}
