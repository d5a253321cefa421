//! Protocol section 1, framing over the wire: line terminators, blank lines,
//! invalid UTF-8, backspace/DEL editing, and CRLF on every server line.
//!
//! PING is the probe throughout: it works before JOIN and echoes its token,
//! so `PONG <token>` shows exactly what line the server parsed.
use crate::common::*;

#[test]
fn lf_crlf_and_cr_nul_each_end_a_line() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING lf\nPING crlf\r\nPING crnul\r\0");
    assert_eq!(c.line(), "PONG lf");
    assert_eq!(c.line(), "PONG crlf");
    assert_eq!(c.line(), "PONG crnul");
    c.assert_nothing_pending("end");
}

#[test]
fn two_cr_nul_lines_in_one_write_are_two_lines() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING a\r\0PING b\r\0");
    assert_eq!(c.line(), "PONG a");
    assert_eq!(c.line(), "PONG b");
    c.assert_nothing_pending("end");
}

#[test]
fn the_terminator_is_not_part_of_the_line() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    bob.send_raw(b"ALL one\r\nALL two\r\0ALL three\n");
    for _ in 0..3 {
        assert!(bob.line().starts_with("OK ALL delivered=1"));
    }
    assert_eq!(alice.event(), "ALL <ts> bob one");
    assert_eq!(alice.event(), "ALL <ts> bob two");
    assert_eq!(alice.event(), "ALL <ts> bob three");
}

#[test]
fn a_terminator_split_across_writes_ends_one_line_only() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[b"PING a\r", b"\nPING b\r", b"\0PING c", b"\n"]);
    assert_eq!(c.line(), "PONG a");
    assert_eq!(c.line(), "PONG b");
    assert_eq!(c.line(), "PONG c");
    c.assert_nothing_pending("end");
}

#[test]
fn a_line_arriving_in_pieces_is_assembled() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[b"PI", b"NG sl", b"ow", b"\r\n"]);
    assert_eq!(c.line(), "PONG slow");
}

#[test]
fn empty_and_blank_lines_are_ignored_silently() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"\n\r\n\r\0   \n\t\t\r\n \t \r\0");
    c.assert_nothing_pending("after-blanks");
    let mut alice = s.join("alice");
    alice.send_raw(b"\n  \r\n\t\n");
    alice.assert_nothing_pending("joined");
}

#[test]
fn invalid_utf8_becomes_replacement_characters_and_the_line_still_counts() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING a\xfeb\xc3\n");
    assert_eq!(c.line(), "PONG a\u{fffd}b\u{fffd}");
    // An overlong encoding and a lone continuation byte.
    c.send_raw(b"PING \xc0\xafx\x80\n");
    let pong = c.line();
    assert!(pong.starts_with("PONG \u{fffd}") && pong.ends_with("x\u{fffd}"), "{pong:?}");
}

#[test]
fn invalid_utf8_in_message_text_reaches_others_as_replacement_characters() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    bob.send_raw(b"MSG alice caf\xe9 ok\n");
    assert_eq!(bob.line(), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob caf\u{fffd} ok");
}

#[test]
fn backspace_and_del_erase_the_character_before_them() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PINX\x08G a\n");
    assert_eq!(c.line(), "PONG a");
    c.send_raw(b"PING abc\x7f\x7f\n");
    assert_eq!(c.line(), "PONG a");
    // A multi-byte character is erased whole, not byte by byte.
    c.send_raw("PING x\u{e9}\x7fy\n".as_bytes());
    assert_eq!(c.line(), "PONG xy");
    c.send_raw("PING \u{65e5}\u{672c}\x08!\n".as_bytes());
    assert_eq!(c.line(), "PONG \u{65e5}!");
}

#[test]
fn backspace_at_the_start_of_a_line_erases_nothing() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"\x08\x7f\x08PING ok\n");
    assert_eq!(c.line(), "PONG ok");
}

#[test]
fn backspace_typed_one_key_at_a_time_edits_the_line() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[b"P", b"O", b"\x7f", b"I", b"N", b"G", b" ", b"q", b"\x08", b"t", b"\r\0"]);
    assert_eq!(c.line(), "PONG t");
}

#[test]
fn a_line_erased_to_nothing_is_a_blank_line() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"WHO\x7f\x7f\x7f\r\n");
    c.assert_nothing_pending("erased");
}

#[test]
fn every_server_line_ends_with_crlf() {
    // Client::line() fails on any line without CRLF; read a variety here.
    let s = Server::start();
    let mut c = s.connect();
    c.send("HELP");
    let (help, ok) = c.until("OK HELP");
    assert!(!help.is_empty() && ok == "OK HELP");
    assert_eq!(c.ask("PING"), "PONG");
    assert_err(&c.ask("WHO"), "NOT_JOINED");
    assert_err(&c.ask("bogus"), "UNKNOWN_COMMAND");
}

#[test]
fn a_lone_cr_also_ends_a_line() {
    // Not in the contract's list, but what the server does (framing.rs) and
    // what a client in raw mode sending only CR expects.
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING a\rPING b\r");
    assert_eq!(c.line(), "PONG a");
    assert_eq!(c.line(), "PONG b");
    c.assert_nothing_pending("end");
}
