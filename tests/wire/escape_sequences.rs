//! Issue 13, terminal escape sequences typed or pasted at nc or telnet:
//! the arrow keys send `ESC [ A` (or `ESC O A`), pasted colours arrive as
//! `ESC [31m`, titles and links as `ESC ] ... BEL`. Framing removes each
//! sequence whole (not only its ESC), even split across writes; a line of
//! nothing else is blank; a sequence never eats a line end and is bounded.
//!
//! PING echoes its token, so `PONG <token>` shows the line the server parsed.
use crate::common::*;

#[test]
fn an_arrow_key_in_a_line_is_removed_whole() {
    let s = Server::start();
    let mut c = s.connect();
    // Up arrow typed before the command: no more `ERR UNKNOWN_COMMAND [A`.
    c.send_raw(b"\x1b[APING up\n");
    assert_eq!(c.line(), "PONG up");
    c.send_raw(b"PING left\x1b[D right\x1bOC\n");
    assert_eq!(c.line(), "PONG left right");
}

#[test]
fn a_line_of_only_arrow_keys_is_ignored_like_a_blank_line() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"\x1b[A\n\x1b[B\x1b[C\r\n\x1bOD\r\0  \x1b[A  \n");
    c.assert_nothing_pending("nothing");
}

#[test]
fn pasted_colours_reach_the_others_as_plain_text() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    bob.send_raw(b"ALL \x1b[1;31mred\x1b[0m and \x1b(B\x1b[mplain \x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\\n");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob red and plain link");
    bob.send_raw(b"MSG alice \x1b]0;a title\x07hi\n");
    assert_eq!(bob.line(), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob hi");
}

#[test]
fn a_sequence_split_across_writes_is_removed_whole() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[b"PING a\x1b", b"[", b"3", b"1m", b"b\x1b]0;ti", b"tle\x1b", b"\\c\n"]);
    assert_eq!(c.line(), "PONG abc");
}

#[test]
fn an_unfinished_sequence_does_not_eat_the_line_end() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING one\x1b[12\nPING two\x1b]0;no end\r\nPING three\x1b\r\0PING four\n");
    assert_eq!(c.line(), "PONG one");
    assert_eq!(c.line(), "PONG two");
    assert_eq!(c.line(), "PONG three");
    assert_eq!(c.line(), "PONG four");
}

#[test]
fn an_endless_sequence_stops_after_a_bound_and_the_rest_is_text() {
    let s = Server::start();
    let mut c = s.connect();
    // A control sequence is over after 64 bytes of parameters.
    let mut line = b"PING x\x1b[".to_vec();
    line.extend_from_slice(&[b'7'; 70]);
    line.extend_from_slice(b"y\n");
    c.send_raw(&line);
    assert_eq!(c.line(), "PONG x777777y");
    // A title that never ends cannot hide a line from the length limit.
    let mut line = b"PING \x1b]0;".to_vec();
    line.extend_from_slice(&[b't'; 5000]);
    line.push(b'\n');
    c.send_raw(&line);
    assert_err(&c.line(), "LINE_TOO_LONG");
    c.assert_nothing_pending("after");
}

#[test]
fn an_esc_that_starts_no_sequence_is_still_a_control_character() {
    let s = Server::start();
    let mut c = s.connect();
    // In a name it makes the name invalid, as before; in text it is removed.
    c.send_raw(b"JOIN a\x1bb\n");
    assert_err(&c.line(), "NAME_INVALID");
    c.send_raw(b"PING a\x1bb\n");
    assert_eq!(c.line(), "PONG ab");
}

#[test]
fn a_name_typed_with_an_arrow_key_in_it_joins_without_it() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"JOIN bo\x1b[Db\n");
    assert_eq!(c.line(), "OK JOIN bob pending=0");
}
