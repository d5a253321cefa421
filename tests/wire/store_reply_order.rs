//! Durability keeps replies in order (issue 4): `OK MSG <name> stored`
//! waits for the commit, and the commands sent after it on the same
//! connection wait too, so every reply comes back in the order of the
//! commands, whether or not it had to wait for the disk or a password hash.
use crate::common::*;

#[test]
fn replies_after_a_stored_reply_come_in_command_order() {
    let s = Server::start();
    let (mut alice, mut carol) = bob_offline(&s);
    alice.send_raw(
        b"MSG bob one\n\
          PING a\n\
          MSG carol live\n\
          MCAST bob,carol two\n\
          WHO\n\
          MSG bob three\n\
          HISTORY 2\n\
          PING z\n",
    );
    assert_eq!(alice.line(), "OK MSG bob stored");
    assert_eq!(alice.line(), "PONG a");
    assert_eq!(alice.line(), "OK MSG carol delivered");
    assert_eq!(alice.line(), "OK MCAST delivered=carol stored=bob");
    assert_eq!(alice.line(), "OK WHO 2 alice carol");
    assert_eq!(alice.line(), "OK MSG bob stored");
    carol.event_ts("MSG", "alice live");
    let t2 = carol.event_ts("MCAST", "alice bob,carol two");
    // HISTORY already shows the stored message sent just before it.
    let last_two = alice.history_reply();
    assert_eq!(last_two.len(), 2, "{last_two:?}");
    let t3 = ts_of(&last_two[1]);
    assert_eq!(last_two, [format!("HISTORY {t2} alice bob,carol two"), format!("HISTORY {t3} alice bob three")]);
    assert_eq!(alice.line(), "PONG z");
}

#[test]
fn a_burst_of_stored_messages_and_pings_keeps_its_order() {
    let s = Server::start();
    let (mut alice, _carol) = bob_offline(&s);
    let burst: String = (1..=12).map(|i| format!("MSG bob m{i}\nPING p{i}\n")).collect();
    alice.send_raw(burst.as_bytes());
    for i in 1..=12 {
        assert_eq!(alice.line(), "OK MSG bob stored", "reply to MSG bob m{i}");
        assert_eq!(alice.line(), format!("PONG p{i}"));
    }
}

#[test]
fn replies_after_register_come_in_command_order() {
    let s = Server::start();
    let (mut alice, _carol) = bob_offline(&s);
    alice.send_raw(b"REGISTER pass-word-1\nPING after-register\nMSG bob hi\nREGISTER pass-word-2\nPING end\n");
    assert_eq!(alice.line(), "OK REGISTER");
    assert_eq!(alice.line(), "PONG after-register");
    assert_eq!(alice.line(), "OK MSG bob stored");
    assert_eq!(alice.line(), "OK REGISTER");
    assert_eq!(alice.line(), "PONG end");
}
