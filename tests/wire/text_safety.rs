//! Protocol section 5, text safety: in message text and LEAVE reasons,
//! control characters (C0 except TAB, DEL, C1) and the bidi override and
//! isolate marks are removed before delivery; text that is empty after that
//! gets `ERR SYNTAX`.
use crate::common::*;

/// alice and bob online, each having read the other's JOINED.
fn pair(s: &Server) -> (Client, Client) {
    let mut alice = s.join("alice");
    let bob = s.join_seen_by("bob", &mut [&mut alice]);
    (alice, bob)
}

/// True if `s` holds any character the contract says must not be delivered.
fn has_unsafe(s: &str) -> bool {
    s.chars().any(|c| {
        (c < ' ' && c != '\t')
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

/// Whole sequences are removed by framing (tests/escape_sequences.rs);
/// what is left of a broken one loses its control bytes here.
#[test]
fn terminal_escape_sequences_are_removed() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"ALL \x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07done\n");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob red done");
    bob.send_raw(b"ALL \x1b\x01x\x1b[31\x02y\n");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob xy");
}

#[test]
fn c0_controls_except_tab_are_removed_and_tab_is_kept() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    let mut line = b"MSG alice a".to_vec();
    for b in 0u8..0x20 {
        if ![b'\n', b'\r', 0x08].contains(&b) {
            line.push(b); // terminators and backspace act before text safety
        }
    }
    line.extend_from_slice(b"z\n");
    bob.send_raw(&line);
    assert_eq!(bob.line(), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob a\tz");
}

#[test]
fn c1_controls_are_removed() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    // U+0085 NEL, U+009B CSI, U+0090 DCS, U+009C ST, as proper UTF-8.
    bob.send("ALL a\u{85}b\u{9b}31mc\u{90}d\u{9c}e");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob ab31mcde");
}

#[test]
fn a_raw_c1_byte_is_not_passed_through() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    // 0x9B alone is an 8-bit CSI to some terminals; as UTF-8 it is invalid.
    bob.send_raw(b"ALL x\x9b31my\n");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    let line = alice.event();
    assert_eq!(line, "ALL <ts> bob x\u{fffd}31my");
}

#[test]
fn bidi_override_and_isolate_marks_are_removed() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    let marks = "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}";
    bob.send(&format!("ALL pay {marks}001$ to {marks}me"));
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob pay 001$ to me");
}

#[test]
fn other_unicode_is_kept() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    // Left-to-right mark U+200E and zero-width joiner are not in the list.
    let text = "\u{e9}\u{200e}\u{200d}\u{a0}\u{2028}x";
    bob.send(&format!("ALL {text}"));
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), format!("ALL <ts> bob {text}"));
}

#[test]
fn text_that_is_empty_after_cleaning_is_a_syntax_error_and_nothing_is_sent() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"ALL \x1b\x07\x01\n");
    assert_eq!(bob.line(), "ERR SYNTAX usage: ALL <text>");
    bob.send_raw("MSG alice \u{202e}\u{2066}\n".as_bytes());
    assert_eq!(bob.line(), "ERR SYNTAX usage: MSG <name> <text>");
    bob.send_raw("MCAST alice \u{85}\x1b \x1b\n".as_bytes());
    assert_eq!(bob.line(), "ERR SYNTAX usage: MCAST <name,name,...> <text>");
    assert_eq!(bob.ask("ALL marker"), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob marker");
}

#[test]
fn msg_and_mcast_text_are_cleaned_too() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"MSG alice \x1b[5mblink\x1b\x07\n");
    assert_eq!(bob.line(), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob blink");
    bob.send_raw("MCAST alice \u{202e}olleh\n".as_bytes());
    assert_eq!(bob.line(), "OK MCAST delivered=alice stored=-");
    assert_eq!(alice.event(), "MCAST <ts> bob alice olleh");
}

#[test]
fn leave_reasons_are_cleaned() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw("QUIT \x1b[31mbye\u{202e}\u{9b} now\n".as_bytes());
    assert_eq!(bob.line(), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob bye now");
}

#[test]
fn a_reason_of_only_controls_becomes_no_reason() {
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"LEAVE \x1b\x07\n");
    assert_eq!(bob.line(), "OK LEAVE");
    assert_eq!(alice.event(), "LEFT <ts> bob");
}

#[test]
fn what_the_server_echoes_back_is_cleaned_too() {
    let s = Server::start();
    let mut alice = s.join("alice");
    alice.send_raw(b"MSG \x1bzed hi\n");
    let e = alice.line();
    assert_eq!(e, "ERR NO_SUCH_USER zed");
    alice.send_raw(b"\x1b\x01bogus\n");
    let e = alice.line();
    assert_err(&e, "UNKNOWN_COMMAND");
    assert!(!has_unsafe(&e), "{e:?}");
    alice.send_raw(b"PING \x1b\x02x\n");
    assert_eq!(alice.line(), "PONG x");
}

#[test]
fn nothing_unsafe_reaches_another_user_from_any_byte_value() {
    let s = Server::start_conf(&no_flood(""));
    let (mut alice, mut bob) = pair(&s);
    // Every byte value that is not a terminator, backspace or telnet IAC,
    // one message each, plus all of them in one message.
    let mut all = b"ALL all:".to_vec();
    let mut sent = 0;
    for b in 0u8..=0xfe {
        if [b'\n', b'\r', 0x08, 0x7f].contains(&b) {
            continue;
        }
        bob.send_raw(&[b"ALL <", &[b][..], b">\n"].concat());
        all.push(b);
        sent += 1;
    }
    all.push(b'\n');
    bob.send_raw(&all);
    for _ in 0..=sent {
        assert_eq!(bob.line(), "OK ALL delivered=1");
        let l = alice.line();
        assert!(!has_unsafe(&l), "{l:?}");
    }
}

#[test]
fn text_starts_without_spaces_after_cleaning() {
    // Section 2 removes leading spaces of the text; section 5 then removes
    // control characters, which can leave new leading spaces behind:
    // `ALL \x07  hi` is delivered as `ALL <ts> bob   hi` today.
    let s = Server::start();
    let (mut alice, mut bob) = pair(&s);
    bob.send_raw(b"ALL \x07  hi\n");
    assert_eq!(bob.line(), "OK ALL delivered=1");
    assert_eq!(alice.event(), "ALL <ts> bob hi");
}
