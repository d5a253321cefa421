//! WHO (protocol section 4): `OK WHO <count> <name> ...`, every joined user,
//! sorted case-insensitively, including the caller.
use crate::common::*;

#[test]
fn alone_who_lists_the_caller() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn names_are_sorted_case_insensitively_and_shown_as_joined() {
    let s = Server::start();
    let names = ["carol", "Bob", "alice", "DAVE", "eve", "Zed", "x9", "X1", "9lives", "0"];
    let mut clients = Vec::new();
    for name in names {
        clients.push(s.join(name));
    }
    // "0" joined last, so no JOINED lines are waiting for it.
    let who = clients.last_mut().expect("a client").ask("WHO");
    assert_eq!(who, "OK WHO 10 0 9lives alice Bob carol DAVE eve X1 x9 Zed");
    // Every user gets the same list (carol first reads the JOINED of the others).
    clients[0].send("WHO");
    let (joined, carols) = clients[0].until("OK WHO");
    let others: Vec<String> = names[1..].iter().map(|n| format!("JOINED <ts> {n}")).collect();
    assert_eq!(joined.iter().map(|l| mask_ts(l)).collect::<Vec<_>>(), others);
    assert_eq!(carols, who);
}

#[test]
fn only_joined_users_are_listed() {
    let s = Server::start();
    let _lurker = s.connect();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn users_who_leave_disappear_from_the_list() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let carol = s.join_seen_by("carol", &mut [&mut alice, &mut bob]);
    assert_eq!(alice.ask("WHO"), "OK WHO 3 alice bob carol");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob");
    assert_eq!(alice.ask("WHO"), "OK WHO 2 alice carol");
    drop(carol);
    assert_eq!(alice.event(), "LEFT <ts> carol connection closed");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
}

#[test]
fn underscore_and_dash_sort_before_letters() {
    // The contract says only "case-insensitively": folding to lower case puts
    // `_` (0x5F) before letters, folding to upper case would put it after
    // them. The server folds to lower case; this pins it (docs/protocol.md
    // should say so).
    let s = Server::start();
    let mut c = Vec::new();
    for name in ["b", "A", "_u", "-d"] {
        c.push(s.join(name));
    }
    assert_eq!(c[3].ask("WHO"), "OK WHO 4 -d _u A b");
}
