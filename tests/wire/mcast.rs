//! MCAST (protocol section 4, live half): a comma-separated list,
//! de-duplicated case-insensitively, at most 32 names; any unknown name ->
//! `ERR NO_SUCH_USER <name>` and nothing is sent to anyone; each recipient
//! gets `MCAST <ts> <from> <recipients> <text>`; the sender
//! `OK MCAST delivered=<a,b|-> stored=<c|->`.
use crate::common::*;

/// alice, bob, carol and dave online, every JOINED read.
fn four(s: &Server) -> (Client, Client, Client, Client) {
    let mut a = s.join("alice");
    let mut b = s.join_seen_by("bob", &mut [&mut a]);
    let mut c = s.join_seen_by("carol", &mut [&mut a, &mut b]);
    let d = s.join_seen_by("dave", &mut [&mut a, &mut b, &mut c]);
    (a, b, c, d)
}

#[test]
fn each_recipient_gets_the_full_list() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, mut dave) = four(&s);
    assert_eq!(alice.ask("MCAST bob,carol lunch?"), "OK MCAST delivered=bob,carol stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol lunch?");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol lunch?");
    dave.assert_nothing_pending("dave");
    alice.assert_nothing_pending("alice");
}

#[test]
fn duplicates_are_removed_case_insensitively() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, _dave) = four(&s);
    assert_eq!(alice.ask("MCAST bob,Carol,BOB,carol,bob hi"), "OK MCAST delivered=bob,carol stored=-");
    // Each recipient gets it once.
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol hi");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol hi");
    bob.assert_nothing_pending("bob");
    carol.assert_nothing_pending("carol");
}

#[test]
fn recipients_are_listed_as_they_joined_in_the_order_given() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("Bob", &mut [&mut alice]);
    let mut carol = s.join_seen_by("CAROL", &mut [&mut alice, &mut bob]);
    assert_eq!(alice.ask("MCAST carol,bob x"), "OK MCAST delivered=CAROL,Bob stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice CAROL,Bob x");
    assert_eq!(carol.event(), "MCAST <ts> alice CAROL,Bob x");
}

#[test]
fn a_single_recipient_is_fine() {
    let s = Server::start();
    let (mut alice, mut bob, _c, _d) = four(&s);
    assert_eq!(alice.ask("MCAST bob solo"), "OK MCAST delivered=bob stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob solo");
}

#[test]
fn the_sender_may_be_a_recipient() {
    let s = Server::start();
    let (mut alice, mut bob, _c, _d) = four(&s);
    alice.send("MCAST alice,bob us two");
    assert_eq!(alice.event(), "MCAST <ts> alice alice,bob us two");
    assert_eq!(alice.line(), "OK MCAST delivered=alice,bob stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice alice,bob us two");
}

#[test]
fn any_unknown_name_fails_the_whole_command_and_nothing_is_sent() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, mut dave) = four(&s);
    assert_eq!(alice.ask("MCAST bob,zed,carol hi"), "ERR NO_SUCH_USER zed");
    assert_eq!(alice.ask("MCAST bob,carol,zed hi"), "ERR NO_SUCH_USER zed");
    assert_eq!(alice.ask("MCAST zed,bob hi"), "ERR NO_SUCH_USER zed");
    // A marker sent afterwards is the first thing each of them sees.
    assert_eq!(alice.ask("MCAST bob,carol,dave marker"), "OK MCAST delivered=bob,carol,dave stored=-");
    for c in [&mut bob, &mut carol, &mut dave] {
        assert_eq!(c.event(), "MCAST <ts> alice bob,carol,dave marker");
    }
}

#[test]
fn a_name_that_never_joined_is_unknown_and_nothing_is_sent() {
    let s = Server::start();
    let (mut alice, mut bob, _carol, _d) = four(&s);
    assert_eq!(alice.ask("MCAST bob,zed hi"), "ERR NO_SUCH_USER zed");
    bob.assert_nothing_pending("bob");
}

#[test]
fn a_space_after_a_comma_is_part_of_the_list() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, _d) = four(&s);
    assert_eq!(alice.ask("MCAST bob, carol hi both"), "OK MCAST delivered=bob,carol stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol hi both");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol hi both");
}

#[test]
fn thirty_two_names_are_allowed() {
    let s = Server::start_conf(&no_flood(""));
    let mut sender = s.join("sender");
    let mut users = Vec::new();
    for i in 0..32 {
        let c = s.join(&format!("u{i}"));
        assert_eq!(sender.event(), format!("JOINED <ts> u{i}"));
        users.push(c);
    }
    let names: Vec<String> = (0..32).map(|i| format!("u{i}")).collect();
    let list = names.join(",");
    assert_eq!(sender.ask(&format!("MCAST {list} to all 32")), format!("OK MCAST delivered={list} stored=-"));
    for (i, u) in users.iter_mut().enumerate() {
        // Each user saw the JOINED of those after them first.
        let (joined, ev) = u.until("MCAST ");
        let later: Vec<String> = (i + 1..32).map(|j| format!("JOINED <ts> u{j}")).collect();
        assert_eq!(joined.iter().map(|l| mask_ts(l)).collect::<Vec<_>>(), later, "u{i}");
        assert_eq!(mask_ts(&ev), format!("MCAST <ts> sender {list} to all 32"), "u{i}");
    }
}

#[test]
fn thirty_three_names_are_refused_and_nothing_is_sent() {
    let s = Server::start_conf(&no_flood(""));
    let mut sender = s.join("sender");
    let mut users = Vec::new();
    for i in 0..33 {
        let c = s.join(&format!("u{i}"));
        assert_eq!(sender.event(), format!("JOINED <ts> u{i}"));
        users.push(c);
    }
    let names: Vec<String> = (0..33).map(|i| format!("u{i}")).collect();
    let e = sender.ask(&format!("MCAST {} too many", names.join(",")));
    assert_eq!(e, "ERR SYNTAX at most 32 names (got 33); usage: MCAST <name,name,...> <text>");
    let last = users.last_mut().expect("u32");
    last.assert_nothing_pending("u32");
}

#[test]
fn the_limit_counts_names_after_de_duplication() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, _d) = four(&s);
    let mut list = Vec::new();
    for _ in 0..20 {
        list.push("bob");
        list.push("CAROL");
    }
    assert_eq!(alice.ask(&format!("MCAST {} forty", list.join(","))), "OK MCAST delivered=bob,carol stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol forty");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol forty");
}

#[test]
fn an_empty_list_is_a_syntax_error() {
    let s = Server::start();
    let (mut alice, _bob, _carol, _dave) = four(&s);
    assert_eq!(alice.ask("MCAST ,,, hi"), "ERR SYNTAX usage: MCAST <name,name,...> <text>");
}

#[test]
fn empty_items_in_the_list_are_skipped() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, _d) = four(&s);
    assert_eq!(alice.ask("MCAST ,bob,,carol hey"), "OK MCAST delivered=bob,carol stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol hey");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol hey");
}

/// Issue 13: `MCAST alice, bob, hi there` reads `hi` as a third name (the
/// contract allows spaces after commas). That stays an error, but one that
/// says how MCAST read the line, when the unknown name is the list's last
/// word and only a comma before it made it a name.
#[test]
fn an_unknown_last_name_after_a_comma_and_space_says_how_the_list_was_read() {
    let s = Server::start();
    let (mut alice, mut bob, mut carol, _dave) = four(&s);
    const HINT: &str = "(MCAST reads names up to the first word without a comma after it)";
    assert_eq!(alice.ask("MCAST bob, carol, hi there"), format!("ERR NO_SUCH_USER hi {HINT}"));
    assert_eq!(alice.ask("MCAST bob, hi there"), format!("ERR NO_SUCH_USER hi {HINT}"));
    assert_eq!(alice.ask("MCAST bob, carol,zed hi"), format!("ERR NO_SUCH_USER zed {HINT}"));
    // A name the user plainly meant as one keeps the plain error: one with
    // a comma after it, one with the comma next to it, one in a list
    // without spaces.
    assert_eq!(alice.ask("MCAST bob, zed, carol hi"), "ERR NO_SUCH_USER zed");
    assert_eq!(alice.ask("MCAST bob ,zed hi"), "ERR NO_SUCH_USER zed");
    assert_eq!(alice.ask("MCAST bob,zed hi"), "ERR NO_SUCH_USER zed");
    // MSG's unknown-name error is as it was.
    assert_eq!(alice.ask("MSG zed, hi"), "ERR NO_SUCH_USER zed");
    // Nothing was sent to anyone; written without the stray comma it works.
    assert_eq!(alice.ask("MCAST bob, carol hi there"), "OK MCAST delivered=bob,carol stored=-");
    assert_eq!(bob.event(), "MCAST <ts> alice bob,carol hi there");
    assert_eq!(carol.event(), "MCAST <ts> alice bob,carol hi there");
}
