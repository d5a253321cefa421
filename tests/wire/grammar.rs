//! Protocol section 2, line grammar: `WORD [arguments]`, the command word is
//! case-insensitive, arguments are separated by one or more spaces, the last
//! argument of MSG, MCAST, ALL and LEAVE is the rest of the line (leading
//! spaces removed, inner spacing kept); missing arguments get
//! `ERR SYNTAX <usage>`; every server line starts with an upper-case kind.
use crate::common::*;

#[test]
fn the_command_word_is_case_insensitive() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(bob.ask("who"), "OK WHO 2 alice bob");
    assert_eq!(bob.ask("Who"), "OK WHO 2 alice bob");
    assert_eq!(bob.ask("wHo"), "OK WHO 2 alice bob");
    assert_eq!(bob.ask("msg alice one"), "OK MSG alice delivered");
    assert_eq!(bob.ask("Mcast alice two"), "OK MCAST delivered=alice stored=-");
    assert_eq!(bob.ask("all three"), "OK ALL delivered=1");
    assert_eq!(bob.ask("pInG four"), "PONG four");
    assert_eq!(alice.event(), "MSG <ts> bob one");
    assert_eq!(alice.event(), "MCAST <ts> bob alice two");
    assert_eq!(alice.event(), "ALL <ts> bob three");
}

#[test]
fn arguments_are_separated_by_one_or_more_spaces() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(bob.ask("MSG    alice    hi"), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob hi");
    assert_eq!(bob.ask("   WHO   "), "OK WHO 2 alice bob");
    let mut carol = s.connect();
    assert_eq!(carol.ask("JOIN     carol"), "OK JOIN carol pending=0");
}

#[test]
fn text_is_the_rest_of_the_line_with_inner_spacing_kept() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    bob.ok("MSG alice     leading spaces go,  inner   spacing  stays");
    assert_eq!(alice.event(), "MSG <ts> bob leading spaces go,  inner   spacing  stays");
    bob.ok("ALL   a  b   c");
    assert_eq!(alice.event(), "ALL <ts> bob a  b   c");
    bob.ok("MCAST alice    x   y");
    assert_eq!(alice.event(), "MCAST <ts> bob alice x   y");
    // Text may contain the words and separators of commands.
    bob.ok("ALL MSG alice, WHO? JOIN x: ALL");
    assert_eq!(alice.event(), "ALL <ts> bob MSG alice, WHO? JOIN x: ALL");
    assert_eq!(bob.ask("QUIT   see  you"), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob see  you");
}

#[test]
fn missing_arguments_get_syntax_with_the_usage() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let cases = [
        ("MSG", "ERR SYNTAX usage: MSG <name> <text>"),
        ("MSG alice", "ERR SYNTAX usage: MSG <name> <text>"),
        ("MSG alice    ", "ERR SYNTAX usage: MSG <name> <text>"),
        ("MCAST", "ERR SYNTAX usage: MCAST <name,name,...> <text>"),
        ("MCAST alice", "ERR SYNTAX usage: MCAST <name,name,...> <text>"),
        ("ALL", "ERR SYNTAX usage: ALL <text>"),
        ("ALL     ", "ERR SYNTAX usage: ALL <text>"),
    ];
    for (line, reply) in cases {
        assert_eq!(alice.ask(line), reply, "{line:?}");
    }
    alice.assert_nothing_pending("end");
}

#[test]
fn extra_arguments_to_who_are_a_syntax_error() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("WHO is there"), "ERR SYNTAX usage: WHO");
}

#[test]
fn tabs_separate_the_command_word_too() {
    // Not in the contract's words ("spaces"), but what a person typing
    // expects; documented here so a change is a conscious one.
    let s = Server::start();
    let mut c = s.connect();
    assert_eq!(c.ask("PING\tx"), "PONG x");
}

#[test]
fn every_server_line_starts_with_an_upper_case_kind() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    let mut seen = Vec::new();
    for line in ["WHO", "MSG alice a", "MCAST alice b", "ALL c", "PING", "bogus", "MSG zed x", "HELP"] {
        bob.send(line);
    }
    let (mut lines, ok) = bob.until("OK HELP");
    lines.push(ok);
    seen.extend(lines);
    for _ in 0..3 {
        seen.push(alice.line());
    }
    let kinds = ["HELLO", "OK", "ERR", "ALL", "MSG", "MCAST", "JOINED", "LEFT", "NOTICE", "HISTORY", "HELP", "PONG"];
    for l in &seen {
        let kind = l.split(' ').next().unwrap_or("");
        assert!(kinds.contains(&kind), "unexpected kind in {l:?}");
    }
}

#[test]
fn ok_and_err_replies_come_in_command_order() {
    let s = Server::start();
    let mut alice = s.join("alice");
    alice.send_raw(b"WHO\nMSG nobody hi\nPING 1\nALL\nALL x\nbogus\n");
    assert_eq!(alice.line(), "OK WHO 1 alice");
    assert_eq!(alice.line(), "ERR NO_SUCH_USER nobody");
    assert_eq!(alice.line(), "PONG 1");
    assert_eq!(alice.line(), "ERR SYNTAX usage: ALL <text>");
    assert_eq!(alice.line(), "OK ALL delivered=0");
    assert_err(&alice.line(), "UNKNOWN_COMMAND");
}
