//! MSG (protocol section 4, live half): `MSG <name> <text>` -> the recipient
//! gets `MSG <ts> <from> <text>`, the sender `OK MSG <name> delivered`. A
//! user who has left stays known, and a message to them is `OK MSG <name>
//! stored` (its delivery at the next JOIN is in store_offline.rs); a name
//! that never joined is `ERR NO_SUCH_USER <name>`.
use crate::common::*;

#[test]
fn a_private_message_reaches_only_its_recipient() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let mut carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    assert_eq!(alice.ask("MSG bob hello bob"), "OK MSG bob delivered");
    assert_eq!(bob.event(), "MSG <ts> alice hello bob");
    carol.assert_nothing_pending("carol");
    bob.assert_nothing_pending("bob");
    alice.assert_nothing_pending("alice");
}

#[test]
fn the_recipient_name_is_matched_in_any_case_and_shown_as_they_joined() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("Bob", &mut [&mut alice]);
    assert_eq!(alice.ask("MSG BOB hi"), "OK MSG Bob delivered");
    assert_eq!(alice.ask("MSG bob again"), "OK MSG Bob delivered");
    assert_eq!(bob.event(), "MSG <ts> alice hi");
    assert_eq!(bob.event(), "MSG <ts> alice again");
}

#[test]
fn a_message_to_oneself_is_delivered() {
    let s = Server::start();
    let mut alice = s.join("alice");
    alice.send("MSG alice note to self");
    // The event and the reply are both for alice; the event is queued first.
    assert_eq!(alice.event(), "MSG <ts> alice note to self");
    assert_eq!(alice.line(), "OK MSG alice delivered");
}

#[test]
fn a_name_that_never_joined_is_no_such_user() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("MSG zed hi"), "ERR NO_SUCH_USER zed");
    assert_eq!(alice.ask("MSG ZeD hi"), "ERR NO_SUCH_USER ZeD");
    // Not even a valid name: the same answer.
    assert_eq!(alice.ask("MSG no!body hi"), "ERR NO_SUCH_USER no!body");
}

#[test]
fn a_user_who_left_is_still_known_and_the_message_is_stored() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob");
    assert_eq!(alice.ask("MSG bob are you there"), "OK MSG bob stored");
}

#[test]
fn the_timestamp_is_the_utc_time_of_the_event() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let before = now_ts();
    alice.ok("MSG bob t");
    let line = bob.line();
    let after = now_ts();
    let f = fields(&line, 3);
    assert_eq!(f[0], "MSG");
    assert_ts(&f[1]);
    // Fixed-width RFC 3339 UTC strings sort as times do.
    assert!(before <= f[1] && f[1] <= after, "{before} <= {} <= {after}", f[1]);
}

/// Now, in the protocol's `<ts>` form.
fn now_ts() -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc().format(f).expect("format")
}

#[test]
fn many_messages_arrive_in_order() {
    let s = Server::start_conf(&no_flood(""));
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let mut batch = String::new();
    for i in 0..200 {
        batch.push_str(&format!("MSG bob number {i}\n"));
    }
    alice.send_raw(batch.as_bytes());
    for i in 0..200 {
        assert_eq!(alice.line(), "OK MSG bob delivered");
        assert_eq!(bob.event(), format!("MSG <ts> alice number {i}"));
    }
}

/// Issue 13: the chat habit `name: text` (or `name, text`). A name never
/// holds `:` or `,`, so one of them after the name is dropped.
#[test]
fn a_name_followed_by_a_colon_or_comma_is_that_name() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut newbie = s.join_seen_by("newbie", &mut [&mut alice]);
    assert_eq!(alice.ask("MSG newbie: hi"), "OK MSG newbie delivered");
    assert_eq!(newbie.event(), "MSG <ts> alice hi");
    assert_eq!(alice.ask("MSG NEWBIE, welcome: glad you came"), "OK MSG newbie delivered");
    assert_eq!(newbie.event(), "MSG <ts> alice welcome: glad you came");
    // Offline too: stored under the name, not under `newbie:`.
    assert_eq!(newbie.ask("QUIT"), "OK LEAVE");
    assert!(newbie.closed_within(WAIT));
    alice.event_ts("LEFT", "newbie");
    assert_eq!(alice.ask("MSG newbie: see you"), "OK MSG newbie stored");
    // An unknown name is reported without the colon; only one is dropped.
    assert_eq!(alice.ask("MSG nobody: hi"), "ERR NO_SUCH_USER nobody");
    assert_eq!(alice.ask("MSG newbie:: hi"), "ERR NO_SUCH_USER newbie:");
    assert_eq!(alice.ask("MSG newbie:hi"), "ERR SYNTAX usage: MSG <name> <text>");
}
