//! Protocol section 1, telnet: IAC sequences are removed before lines are
//! split (an LF inside a subnegotiation does not end a line), a DO is answered
//! with WONT and a WILL with DONT, once per option.
//!
//! The `REAL_*` constants are bytes a real telnet client sent. They were
//! captured on Debian 12 with `telnet (GNU inetutils) 2.4` (the `telnet`
//! package), run in an 80x10 tmux window as `telnet -- 127.0.0.1 -PORT` (the
//! minus before the port makes telnet negotiate options as it does on port
//! 23), talking to a small python3 relay that recorded both directions:
//!
//! - session A: relay in front of a real chatd; typed `JOIN tel`, `WHO`, then
//!   `^]` `mode character`, then `WHX`, Backspace, `O`, Enter, `PING a`,
//!   Enter, `QUIT`, Enter;
//! - session B: a fake telnetd that sent `IAC DO NAWS`, `IAC DO TTYPE`,
//!   `IAC SB TTYPE SEND IAC SE`; typed `WHO`, Enter. The window is 10 rows
//!   high, so the NAWS subnegotiation carries the byte 10, an LF.
use crate::common::*;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

/// What telnet sends as soon as it connects: DO ENCRYPT, WILL ENCRYPT,
/// DO SGA, WILL TTYPE, WILL NAWS, WILL TSPEED, WILL LFLOW, WILL LINEMODE,
/// WILL NEW-ENVIRON, DO STATUS.
const REAL_OPENING: &[u8] =
    b"\xff\xfd&\xff\xfb&\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb \xff\xfb!\xff\xfb\"\xff\xfb'\xff\xfd\x05";

/// Session A after the opening, in line mode: Enter is CR LF.
const REAL_A_LINE_MODE: &[u8] = b"JOIN tel\r\nWHO\r\n";
/// `mode character`: telnet asks again for SGA (already refused) and for ECHO.
const REAL_A_MODE_CHARACTER: &[u8] = b"\xff\xfd\x03\xff\xfd\x01";
/// Character mode, as typed (replayed one key per write): Backspace is DEL,
/// Enter is CR NUL.
const REAL_A_KEYS: &[&[u8]] =
    &[b"W", b"H", b"X", b"\x7f", b"O", b"\r\x00", b"P", b"I", b"N", b"G", b" ", b"a", b"\r\x00", b"QUIT\r\x00"];

/// Session B after the opening: the answers to the fake telnetd, the NAWS
/// subnegotiation (80 columns, 10 rows: `\0 P \0 \n`) and the terminal type,
/// then `WHO` typed in line mode.
const REAL_B_SUBNEGOTIATIONS: &[u8] = b"\xff\xfa\x1f\x00P\x00\n\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0WHO\r\n";

/// chatd's answers to REAL_OPENING: WONT for each DO, DONT for each WILL.
const ANSWERS_TO_OPENING: &[u8] =
    b"\xff\xfc&\xff\xfe&\xff\xfc\x03\xff\xfe\x18\xff\xfe\x1f\xff\xfe \xff\xfe!\xff\xfe\"\xff\xfe'\xff\xfc\x05";

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn the_answers_to_a_real_opening_are_wont_for_do_and_dont_for_will() {
    let expected: Vec<u8> = REAL_OPENING
        .chunks(3)
        .flat_map(|c| {
            let answer = if c[1] == DO { WONT } else { DONT };
            [IAC, answer, c[2]]
        })
        .collect();
    assert_eq!(expected, ANSWERS_TO_OPENING);
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(REAL_OPENING);
    assert_eq!(c.raw_until(ANSWERS_TO_OPENING), ANSWERS_TO_OPENING);
    c.assert_nothing_pending("after-opening");
}

#[test]
fn a_real_telnet_session_replayed_in_one_write() {
    let s = Server::start();
    let mut c = s.connect();
    let mut keys = Vec::new();
    for k in REAL_A_KEYS {
        keys.extend_from_slice(k);
    }
    c.send_raw(&concat(&[REAL_OPENING, REAL_A_LINE_MODE, REAL_A_MODE_CHARACTER, &keys]));
    let mut expected = ANSWERS_TO_OPENING.to_vec();
    expected.extend_from_slice(b"OK JOIN tel pending=0\r\nOK WHO 1 tel\r\n");
    expected.extend_from_slice(&[IAC, WONT, 1]); // ECHO refused; SGA not answered twice
    expected.extend_from_slice(b"OK WHO 1 tel\r\nPONG a\r\nOK LEAVE\r\n");
    assert_eq!(String::from_utf8_lossy(&c.raw_until(b"OK LEAVE\r\n")), String::from_utf8_lossy(&expected));
    assert!(c.closed_within(WAIT));
}

#[test]
fn a_real_telnet_session_replayed_packet_by_packet() {
    let s = Server::start();
    let watcher = &mut s.join("watcher");
    let mut c = s.connect();
    c.send_raw(REAL_OPENING);
    assert_eq!(c.raw_until(ANSWERS_TO_OPENING), ANSWERS_TO_OPENING);
    c.send_raw(REAL_A_LINE_MODE);
    assert_eq!(c.line(), "OK JOIN tel pending=0");
    assert_eq!(c.line(), "OK WHO 2 tel watcher");
    assert_eq!(watcher.event(), "JOINED <ts> tel");
    c.send_raw(REAL_A_MODE_CHARACTER);
    assert_eq!(c.raw_until(&[IAC, WONT, 1]), [IAC, WONT, 1]);
    c.send_slowly(REAL_A_KEYS);
    assert_eq!(c.line(), "OK WHO 2 tel watcher");
    assert_eq!(c.line(), "PONG a");
    assert_eq!(c.line(), "OK LEAVE");
    assert!(c.closed_within(WAIT));
    assert_eq!(watcher.event(), "LEFT <ts> tel");
}

#[test]
fn a_real_subnegotiation_containing_an_lf_does_not_end_a_line() {
    let s = Server::start();
    let mut c = s.connect();
    assert!(REAL_B_SUBNEGOTIATIONS.contains(&b'\n'));
    c.send_raw(&concat(&[REAL_OPENING, REAL_B_SUBNEGOTIATIONS]));
    assert_eq!(c.raw_until(ANSWERS_TO_OPENING), ANSWERS_TO_OPENING);
    // The only line the parser sees is WHO: nothing of `\0P\0` or `XTERM`.
    assert_eq!(c.line(), "ERR NOT_JOINED join first: JOIN <name>");
    c.assert_nothing_pending("after");
}

#[test]
fn a_subnegotiation_in_the_middle_of_a_line_is_cut_out() {
    let s = Server::start();
    let mut c = s.connect();
    let mut input = b"PING ab".to_vec();
    // SB NAWS with CR LF, CR NUL, DEL and an escaped IAC IAC inside.
    input.extend_from_slice(&[IAC, SB, 31, 0, b'\r', b'\n', b'\r', 0, 0x7f, IAC, IAC, b'\n', IAC, SE]);
    input.extend_from_slice(b"cd\r\n");
    c.send_raw(&input);
    assert_eq!(c.line(), "PONG abcd");
    c.assert_nothing_pending("after");
}

#[test]
fn a_subnegotiation_split_across_writes_is_still_removed() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[b"PING x", &[IAC], &[SB, 24], b"\nJOIN evil\n", &[IAC], &[SE], b"y\n"]);
    assert_eq!(c.line(), "PONG xy");
    c.assert_nothing_pending("after");
}

#[test]
fn each_option_is_answered_only_once() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(&[IAC, DO, 1, IAC, DO, 1, IAC, WILL, 31, IAC, WILL, 31]);
    assert_eq!(c.raw_until(&[IAC, DONT, 31]), [IAC, WONT, 1, IAC, DONT, 31]);
    // Asked again later, in another write: still no second answer.
    c.send_raw(&[IAC, DO, 1, IAC, WILL, 31]);
    c.assert_nothing_pending("again");
    // DO and WILL of the same option are separate questions.
    c.send_raw(&[IAC, WILL, 1, IAC, DO, 31]);
    assert_eq!(c.raw_until(&[IAC, WONT, 31]), [IAC, DONT, 1, IAC, WONT, 31]);
    c.assert_nothing_pending("end");
}

#[test]
fn wont_and_dont_need_no_answer() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(&[IAC, WONT, 1, IAC, DONT, 3, IAC, WONT, 31]);
    c.assert_nothing_pending("after");
}

#[test]
fn negotiation_split_byte_by_byte_is_answered_once() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_slowly(&[&[IAC], &[DO], &[24], b"PING z\r", &[0]]);
    assert_eq!(c.raw_until(&[IAC, WONT, 24]), [IAC, WONT, 24]);
    assert_eq!(c.line(), "PONG z");
}

#[test]
fn negotiation_inside_a_line_is_answered_and_the_line_is_kept_whole() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(&[b'P', b'I', IAC, WILL, 24, b'N', b'G', b' ', b'b', b'\r', b'\n']);
    assert_eq!(c.raw_until(&[IAC, DONT, 24]), [IAC, DONT, 24]);
    assert_eq!(c.line(), "PONG b");
}

#[test]
fn two_byte_commands_are_removed() {
    let s = Server::start();
    let mut c = s.connect();
    // NOP (241), AYT (246), GA (249) and a telnet BRK (243).
    c.send_raw(&[b'P', IAC, 241, b'I', IAC, 246, b'N', IAC, 249, b'G', IAC, 243, b' ', b'k', b'\n']);
    assert_eq!(c.line(), "PONG k");
    c.assert_nothing_pending("after");
}

#[test]
fn iac_iac_is_one_data_byte_0xff() {
    // 0xFF on its own is not UTF-8, so it becomes U+FFFD like any invalid byte.
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(&[b'P', b'I', b'N', b'G', b' ', b'a', IAC, IAC, b'b', b'\n']);
    assert_eq!(c.line(), "PONG a\u{fffd}b");
}

#[test]
fn telnet_bytes_do_not_count_toward_the_line_length() {
    let s = Server::start_conf("max_line = 16\n");
    let mut c = s.connect();
    let mut input = b"PING ".to_vec();
    input.extend_from_slice(&[IAC, SB, 24]);
    input.extend_from_slice(&[b'x'; 100]);
    input.extend_from_slice(&[IAC, SE]);
    input.extend_from_slice(b"0123456789a\r\0");
    c.send_raw(&input);
    assert_eq!(c.line(), "PONG 0123456789a");
}
