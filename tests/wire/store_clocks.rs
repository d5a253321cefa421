//! Vector clocks (issue 4, protocol section 4 CLOCK): `CLOCK` shows the
//! caller's clock, `CLOCK ON|OFF` adds or removes the message's clock in
//! events and HISTORY lines on that connection. Every expected clock below
//! is computed by hand from the rules:
//!
//! - sending MSG, MCAST or ALL ticks the sender's own entry, and the
//!   message carries a copy of the sender's clock;
//! - a delivery (live or stored, to oneself too) merges the message's clock
//!   into the recipient's (element-wise max), then ticks the recipient's entry.
//!
//! Clock keys are the folded (lower-case) names; clocks outlive restarts.
use crate::common::*;

#[test]
fn clock_on_and_off_switch_the_event_and_history_form() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    alice.event_ts("JOINED", "bob");
    assert_eq!(alice.ask("CLOCK"), "OK CLOCK -");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK -");

    assert_eq!(bob.ask("CLOCK ON"), "OK CLOCK ON");
    // alice sends: alice {alice=1}. bob receives: {alice=1,bob=1}.
    assert_eq!(alice.ask("MSG bob first"), "OK MSG bob delivered");
    let t1 = bob.event_ts("MSG", "[alice=1] alice first");

    assert_eq!(bob.ask("clock off"), "OK CLOCK OFF");
    // alice sends: {alice=2}. bob: max({alice=1,bob=1}, {alice=2}) + tick = {alice=2,bob=2}.
    assert_eq!(alice.ask("MSG bob second"), "OK MSG bob delivered");
    let t2 = bob.event_ts("MSG", "alice second");

    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=2");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK alice=2,bob=2");

    // HISTORY follows the switch too; alice's connection never turned it on.
    assert_eq!(bob.ask("Clock On"), "OK CLOCK ON");
    assert_eq!(
        bob.history("HISTORY"),
        [format!("HISTORY {t1} [alice=1] alice bob first"), format!("HISTORY {t2} [alice=2] alice bob second")]
    );
    assert_eq!(
        alice.history("HISTORY"),
        [format!("HISTORY {t1} alice bob first"), format!("HISTORY {t2} alice bob second")]
    );
    assert!(bob.ask("CLOCK maybe").starts_with("ERR SYNTAX "));
}

#[test]
fn a_three_user_exchange_follows_the_clock_rules() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    alice.event_ts("JOINED", "bob");
    let mut carol = s.join("Carol");
    alice.event_ts("JOINED", "Carol");
    bob.event_ts("JOINED", "Carol");
    assert_eq!(alice.ask("CLOCK ON"), "OK CLOCK ON");
    assert_eq!(bob.ask("CLOCK ON"), "OK CLOCK ON");

    // 1. alice -> bob.       alice {alice=1}; carries [alice=1]
    //                        bob   {alice=1,bob=1}
    assert_eq!(alice.ask("MSG bob m1"), "OK MSG bob delivered");
    bob.event_ts("MSG", "[alice=1] alice m1");

    // 2. bob -> Carol, bob.  bob   {alice=1,bob=2}; carries [alice=1,bob=2]
    //                        carol {alice=1,bob=2,carol=1}
    //                        bob   {alice=1,bob=3} (his own copy is a delivery)
    bob.send("MCAST Carol,bob m2");
    let t2 = carol.event_ts("MCAST", "bob Carol,bob m2");
    let own_copy = format!("MCAST {t2} [alice=1,bob=2] bob Carol,bob m2");
    assert_eq!(bob.lines_sorted(2), [own_copy.as_str(), "OK MCAST delivered=Carol,bob stored=-"]);

    // 3. Carol -> everyone.  carol {alice=1,bob=2,carol=2}; carries that
    //                        alice max({alice=1}, ..) + tick = {alice=2,bob=2,carol=2}
    //                        bob   max({alice=1,bob=3}, ..) + tick = {alice=1,bob=4,carol=2}
    assert_eq!(carol.ask("ALL m3"), "OK ALL delivered=2");
    let t3 = alice.event_ts("ALL", "[alice=1,bob=2,carol=2] Carol m3");
    assert_eq!(bob.line(), format!("ALL {t3} [alice=1,bob=2,carol=2] Carol m3"));

    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=2,bob=2,carol=2");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK alice=1,bob=4,carol=2");
    assert_eq!(carol.ask("CLOCK"), "OK CLOCK alice=1,bob=2,carol=2");

    // Carol's view of the log, with each message's own clock.
    assert_eq!(carol.ask("CLOCK ON"), "OK CLOCK ON");
    assert_eq!(
        carol.history("HISTORY"),
        [
            format!("HISTORY {t2} [alice=1,bob=2] bob Carol,bob m2"),
            format!("HISTORY {t3} [alice=1,bob=2,carol=2] Carol * m3"),
        ]
    );
}

#[test]
fn stored_delivery_follows_the_rules_and_clocks_outlive_a_crash() {
    let s = Server::start();
    let mut bob = s.join("Bob");
    // bob's clock gets entries before he leaves: alice -> bob gives him
    // {alice=1,bob=1}; alice is {alice=1}.
    let mut alice = s.join("alice");
    bob.event_ts("JOINED", "alice");
    assert_eq!(alice.ask("MSG bob m1"), "OK MSG Bob delivered");
    bob.event_ts("MSG", "alice m1");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK alice=1,bob=1");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    alice.event_ts("LEFT", "Bob");

    // Stored while bob is offline: alice {alice=2}, then {alice=3}. A
    // message waiting in the queue changes no clock but the sender's.
    assert_eq!(alice.ask("MSG bob m2"), "OK MSG Bob stored");
    assert_eq!(alice.ask("MCAST bob m3"), "OK MCAST delivered=- stored=Bob");
    let sent = alice.history("HISTORY 2");
    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=3");

    // kill -9 right after the replies: the clocks were committed with the messages.
    let s = Server::start_in(s.kill(), &[], "");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("CLOCK"), "OK CLOCK alice=3");

    // bob's two deliveries at JOIN:
    //   m2 [alice=2]: max({alice=1,bob=1}, {alice=2}) + tick = {alice=2,bob=2}
    //   m3 [alice=3]: max({alice=2,bob=2}, {alice=3}) + tick = {alice=3,bob=3}
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=2");
    assert_eq!(bob.line(), format!("MSG {} alice m2", ts_of(&sent[0])));
    assert_eq!(bob.line(), format!("MCAST {} alice Bob m3", ts_of(&sent[1])));
    alice.event_ts("JOINED", "bob");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK alice=3,bob=3");
    assert_eq!(bob.ask("CLOCK ON"), "OK CLOCK ON");
    assert_eq!(
        bob.history("HISTORY 2"),
        [
            format!("HISTORY {} [alice=2] alice Bob m2", ts_of(&sent[0])),
            format!("HISTORY {} [alice=3] alice Bob m3", ts_of(&sent[1])),
        ]
    );

    // And bob's clock, changed by the deliveries, outlives a graceful restart.
    drop((alice, bob));
    let s = Server::start_in(s.stop(), &[], "");
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("CLOCK"), "OK CLOCK alice=3,bob=3");
}

#[test]
fn a_broadcast_reaches_the_clocks_of_those_joined_when_it_was_sent() {
    // chatd applies ALL's clock rule lazily (clock.rs, `Clocks`): these
    // clocks, worked out by hand with the plain rule, must come out the
    // same, before and after a kill -9.
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    alice.event_ts("JOINED", "bob");

    // 1. alice ALL:  alice {alice=1}; bob {alice=1,bob=1}
    assert_eq!(alice.ask("ALL a1"), "OK ALL delivered=1");
    bob.event_ts("ALL", "alice a1");

    // 2. carol joins after it: a1 is not in her clock.
    let mut carol = s.join("carol");
    alice.event_ts("JOINED", "carol");
    bob.event_ts("JOINED", "carol");

    // 3. bob ALL [alice=1,bob=2]: alice {alice=2,bob=2}; carol {alice=1,bob=2,carol=1}
    assert_eq!(bob.ask("ALL b1"), "OK ALL delivered=2");
    alice.event_ts("ALL", "bob b1");
    carol.event_ts("ALL", "bob b1");
    assert_eq!(carol.ask("CLOCK"), "OK CLOCK alice=1,bob=2,carol=1");

    // 4. carol ALL [alice=1,bob=2,carol=2]: alice {alice=3,bob=2,carol=2};
    //    bob {alice=1,bob=3,carol=2}
    assert_eq!(carol.ask("ALL c1"), "OK ALL delivered=2");
    alice.event_ts("ALL", "carol c1");
    bob.event_ts("ALL", "carol c1");

    // 5. carol leaves; 6. alice ALL [alice=4,bob=2,carol=2]: bob {alice=4,bob=4,carol=2}
    assert_eq!(carol.ask("QUIT"), "OK LEAVE");
    alice.event_ts("LEFT", "carol");
    bob.event_ts("LEFT", "carol");
    assert_eq!(alice.ask("ALL a2"), "OK ALL delivered=1");
    bob.event_ts("ALL", "alice a2");

    let expected =
        [("alice", "alice=4,bob=2,carol=2"), ("bob", "alice=4,bob=4,carol=2"), ("carol", "alice=1,bob=2,carol=2")];
    assert_eq!(alice.ask("CLOCK"), format!("OK CLOCK {}", expected[0].1));
    assert_eq!(bob.ask("CLOCK"), format!("OK CLOCK {}", expected[1].1));

    drop((alice, bob, carol));
    let s = Server::start_in(s.kill(), &[], "");
    for (name, clock) in expected {
        let mut c = s.join(name);
        assert_eq!(c.ask("CLOCK"), format!("OK CLOCK {clock}"), "{name} after kill -9");
        assert_eq!(c.ask("QUIT"), "OK LEAVE");
        assert!(c.closed_within(WAIT));
    }
}
