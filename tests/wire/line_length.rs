//! Protocol section 1 and 6, the line-length bound (`max_line`, default 1024
//! bytes before the terminator): a longer line is discarded up to its
//! terminator, answered with exactly one `ERR LINE_TOO_LONG`, and the
//! connection stays usable.
use crate::common::*;

/// `PING ` followed by filler, `len` bytes in all.
fn ping_of_len(len: usize) -> Vec<u8> {
    let mut v = b"PING ".to_vec();
    v.resize(len, b'x');
    v
}

#[test]
fn a_line_of_exactly_1024_bytes_is_accepted() {
    let s = Server::start();
    let mut c = s.connect();
    let mut line = ping_of_len(1024);
    line.extend_from_slice(b"\r\n");
    c.send_raw(&line);
    assert_eq!(c.line(), format!("PONG {}", "x".repeat(1019)));
}

#[test]
fn a_line_of_1025_bytes_gets_one_line_too_long_and_the_connection_stays_usable() {
    let s = Server::start();
    let mut c = s.connect();
    let mut line = ping_of_len(1025);
    line.extend_from_slice(b"\n");
    c.send_raw(&line);
    assert_err(&c.line(), "LINE_TOO_LONG");
    c.assert_nothing_pending("after");
    assert!(c.ask("JOIN alice").starts_with("OK JOIN alice "));
}

#[test]
fn a_huge_line_gets_exactly_one_error_and_nothing_of_it_is_parsed() {
    let s = Server::start();
    let mut c = s.connect();
    // 1 MiB that would be a valid PING if it were ever cut into pieces.
    let mut line = b"PING ".to_vec();
    while line.len() < (1 << 20) {
        line.extend_from_slice(b"PING ");
    }
    line.extend_from_slice(b"\nPING after\n");
    c.send_raw(&line);
    assert_err(&c.line(), "LINE_TOO_LONG");
    assert_eq!(c.line(), "PONG after");
    c.assert_nothing_pending("end");
}

#[test]
fn the_error_text_names_the_limit() {
    let s = Server::start();
    let mut c = s.connect();
    let mut line = vec![b'a'; 2000];
    line.push(b'\n');
    c.send_raw(&line);
    let e = c.line();
    assert_err(&e, "LINE_TOO_LONG");
    assert!(e.contains("1024"), "{e}");
}

#[test]
fn a_too_long_line_sent_in_pieces_is_reported_once() {
    let s = Server::start();
    let mut c = s.connect();
    let piece = vec![b'z'; 700];
    c.send_slowly(&[&piece, &piece, &piece, &piece, b"\r\0PING ok\r\0"]);
    assert_err(&c.line(), "LINE_TOO_LONG");
    assert_eq!(c.line(), "PONG ok");
    c.assert_nothing_pending("end");
}

#[test]
fn each_too_long_line_gets_its_own_error() {
    let s = Server::start();
    let mut c = s.connect();
    let mut input = Vec::new();
    for _ in 0..3 {
        input.extend_from_slice(&[b'q'; 1500]);
        input.extend_from_slice(b"\r\n");
    }
    c.send_raw(&input);
    for _ in 0..3 {
        assert_err(&c.line(), "LINE_TOO_LONG");
    }
    c.assert_nothing_pending("end");
}

#[test]
fn max_line_from_the_config_file_is_enforced() {
    let s = Server::start_conf("max_line = 16\n");
    let mut c = s.connect();
    c.send("PING 0123456789a"); // 16 bytes
    assert_eq!(c.line(), "PONG 0123456789a");
    c.send("PING 0123456789ab"); // 17 bytes
    let e = c.line();
    assert_err(&e, "LINE_TOO_LONG");
    assert!(e.contains("16"), "{e}");
    c.send("JOIN alice");
    assert!(c.line().starts_with("OK JOIN alice "));
    c.send("ALL this text is far too long");
    assert_err(&c.line(), "LINE_TOO_LONG");
    assert_eq!(c.ask("ALL short"), "OK ALL delivered=0");
}

#[test]
fn a_too_long_line_is_not_delivered_to_anyone() {
    let s = Server::start_conf("max_line = 32\n");
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    bob.send(&format!("ALL {}", "y".repeat(40)));
    assert_err(&bob.line(), "LINE_TOO_LONG");
    assert_eq!(bob.ask("ALL fits"), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob fits");
}
