//! HISTORY (issue 4): the last n messages the caller may see (every
//! broadcast, and every MSG or MCAST they sent or received), oldest first,
//! closed by `OK HISTORY <count>`; the count's default, cap and syntax; and
//! history_on_join, which replays HISTORY after JOIN and its pending messages.
use crate::common::*;

/// alice, bob and carol joined, every JOINED read.
fn three_users(s: &Server) -> (Client, Client, Client) {
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    alice.event_ts("JOINED", "bob");
    let carol = s.join("carol");
    alice.event_ts("JOINED", "carol");
    bob.event_ts("JOINED", "carol");
    (alice, bob, carol)
}

#[test]
fn a_third_user_sees_broadcasts_but_not_private_messages_of_others() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol) = three_users(&s);

    assert_eq!(alice.ask("ALL hello all"), "OK ALL delivered=2");
    let t1 = bob.event_ts("ALL", "alice hello all");
    carol.event_ts("ALL", "alice hello all");
    assert_eq!(alice.ask("MSG bob a to b"), "OK MSG bob delivered");
    let t2 = bob.event_ts("MSG", "alice a to b");
    bob.send("MCAST alice,bob b to a and b");
    let t3 = alice.event_ts("MCAST", "bob alice,bob b to a and b");
    let own_copy = format!("MCAST {t3} bob alice,bob b to a and b");
    assert_eq!(bob.lines_sorted(2), [own_copy.as_str(), "OK MCAST delivered=alice,bob stored=-"]);
    assert_eq!(carol.ask("MSG alice c to a"), "OK MSG alice delivered");
    let t4 = alice.event_ts("MSG", "carol c to a");
    assert_eq!(bob.ask("ALL bye all"), "OK ALL delivered=2");
    let t5 = alice.event_ts("ALL", "bob bye all");
    carol.event_ts("ALL", "bob bye all");

    let h1 = format!("HISTORY {t1} alice * hello all");
    let h2 = format!("HISTORY {t2} alice bob a to b");
    let h3 = format!("HISTORY {t3} bob alice,bob b to a and b");
    let h4 = format!("HISTORY {t4} carol alice c to a");
    let h5 = format!("HISTORY {t5} bob * bye all");
    let (h1, h2, h3, h4, h5) = (h1.as_str(), h2.as_str(), h3.as_str(), h4.as_str(), h5.as_str());
    assert_eq!(carol.history("HISTORY"), [h1, h4, h5]);
    assert_eq!(bob.history("HISTORY"), [h1, h2, h3, h5]);
    assert_eq!(alice.history("HISTORY"), [h1, h2, h3, h4, h5]);

    // HISTORY <n>: the last n of those, still oldest first.
    assert_eq!(alice.history("HISTORY 2"), [h4, h5]);
    assert_eq!(carol.history("history 1"), [h5]);
    assert_eq!(bob.history("HISTORY 3"), [h2, h3, h5]);
}

#[test]
fn history_is_empty_before_anything_was_said() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("HISTORY"), "OK HISTORY 0");
}

#[test]
fn history_defaults_to_the_last_20_messages() {
    let s = Server::start_with(&[], "flood_rate = 0\n");
    let mut alice = s.join("alice");
    for i in 1..=25 {
        assert_eq!(alice.ask(&format!("ALL number {i}")), "OK ALL delivered=0");
    }
    let texts = |lines: Vec<String>| -> Vec<String> {
        lines.iter().map(|l| fields(l, 3)[3].clone()).collect() // HISTORY <ts> alice * <text>
    };
    let numbers =
        |range: std::ops::RangeInclusive<i32>| -> Vec<String> { range.map(|i| format!("* number {i}")).collect() };
    assert_eq!(texts(alice.history("HISTORY")), numbers(6..=25));
    assert_eq!(texts(alice.history("HISTORY 3")), numbers(23..=25));
    assert_eq!(texts(alice.history("HISTORY 500")), numbers(1..=25));
}

#[test]
fn a_bad_count_is_a_syntax_error() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("ALL something to show"), "OK ALL delivered=0");
    for bad in ["HISTORY 0", "HISTORY x", "HISTORY -1", "HISTORY 1.5", "HISTORY 1 2"] {
        let reply = alice.ask(bad);
        assert!(reply.starts_with("ERR SYNTAX ") && reply.contains("HISTORY [n]"), "{bad:?} -> {reply:?}");
    }
    assert_eq!(alice.history("HISTORY 1").len(), 1);
}

#[test]
fn history_is_capped_at_history_max() {
    let s = Server::start_with(&[], "history_default = 3\nhistory_max = 5\n");
    let mut alice = s.join("alice");
    for i in 1..=8 {
        assert_eq!(alice.ask(&format!("ALL number {i}")), "OK ALL delivered=0");
    }
    assert_eq!(alice.history("HISTORY").len(), 3);
    let capped = alice.history("HISTORY 100");
    assert_eq!(capped.len(), 5);
    assert!(capped[0].ends_with(" alice * number 4"), "{capped:?}");
}

#[test]
fn history_on_join_replays_after_the_pending_messages() {
    let s = Server::start_with(&[], "history_on_join = 3\n");
    let mut alice = s.connect();
    assert_eq!(alice.ask("JOIN alice"), "OK JOIN alice pending=0");
    // An empty log replays nothing, and no OK HISTORY answers no command.
    assert_eq!(alice.ask("PING empty"), "PONG empty");
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
    alice.event_ts("JOINED", "bob");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    alice.event_ts("LEFT", "bob");

    assert_eq!(alice.ask("ALL before"), "OK ALL delivered=0");
    assert_eq!(alice.ask("MSG bob pending one"), "OK MSG bob stored");
    assert_eq!(alice.ask("MSG bob pending two"), "OK MSG bob stored");
    assert_eq!(alice.ask("ALL after"), "OK ALL delivered=0");
    let sent = alice.history("HISTORY");
    assert_eq!(sent.len(), 4, "{sent:?}");

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=2");
    assert_eq!(bob.line(), format!("MSG {} alice pending one", ts_of(&sent[1])));
    assert_eq!(bob.line(), format!("MSG {} alice pending two", ts_of(&sent[2])));
    // The replay is HISTORY lines only: the next line answers the next command.
    assert_eq!(bob.sync("end"), sent[1..]);
    alice.event_ts("JOINED", "bob");
}

/// Issue 13: a client that pairs each command with its one final reply
/// (OK or ERR) must not take the replay for the answer to its next command.
#[test]
fn every_reply_after_a_join_with_history_answers_its_own_command() {
    let s = Server::start_with(&[], "history_on_join = 2\n");
    let mut alice = s.connect();
    alice.send_raw(b"JOIN alice\nLEAVE\n");
    assert_eq!(alice.line(), "OK JOIN alice pending=0");
    assert_eq!(alice.line(), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    let mut alice = s.join("alice");
    for text in ["one", "two", "three"] {
        assert_eq!(alice.ask(&format!("ALL {text}")), "OK ALL delivered=0");
    }
    let mut bob = s.connect();
    bob.send_raw(b"JOIN bob\nWHO\nPING x\n");
    // The replay is fed like stored messages, as the client reads, so the
    // answers to commands sent at once may come first; either way, every
    // OK answers its own command.
    let mut replies = Vec::new();
    let mut replay = Vec::new();
    while replies.len() < 3 {
        let l = bob.line();
        if l.starts_with("HISTORY ") {
            replay.push(mask_ts(&l));
        } else {
            replies.push(l);
        }
    }
    assert_eq!(replies, ["OK JOIN bob pending=0", "OK WHO 2 alice bob", "PONG x"]);
    while replay.len() < 2 {
        replay.push(mask_ts(&bob.line()));
    }
    assert_eq!(replay, ["HISTORY <ts> alice * two", "HISTORY <ts> alice * three"]);
    assert_eq!(bob.ask("LEAVE"), "OK LEAVE");
}

/// A HISTORY that cannot be read says so, rather than that something could
/// not be saved, and the server log says why.
#[test]
fn a_history_that_cannot_be_read_says_so() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("ALL before"), "OK ALL delivered=0");
    // From outside, as a broken disk or a careless operator might.
    python_sql(&s.db_path(), "db.execute('DROP TABLE participants')\ndb.commit()");
    assert_eq!(alice.ask("HISTORY"), "ERR STORAGE history cannot be read right now; the server's storage is failing");
    s.wait_log("(alice): cannot read history: ");
    assert_eq!(alice.ask("PING"), "PONG");
}
