//! How the console treats awkward operator input: overlong stdin lines, and
//! text that is empty once cleaned (protocol section 5 applied to NOTICE and
//! KICK reasons).
use crate::common::*;
use std::time::Duration;

#[test]
fn overlong_stdin_line_is_not_split_into_commands() {
    let mut s = Operated::start(Via::Stdin);
    let mut alice = s.join("alice");
    let line = format!("NOTICE {}EXIT", "x".repeat(4089));
    s.type_line(&line);
    // Whatever the reply to the long line, the server must not run its tail.
    let mut replies = Vec::new();
    while let Some(l) = s.stdout_line(Duration::from_millis(500)) {
        replies.push(l);
    }
    assert!(!replies.iter().any(|l| l == "OK EXIT"), "the tail of the line ran as EXIT: {replies:?}");
    assert!(s.child.try_wait().expect("try_wait").is_none(), "chatd exited");
    assert_eq!(alice.ask("PING"), "PONG");
}

#[test]
fn notice_empty_after_cleaning_is_refused() {
    let mut s = Operated::start(Via::Socket);
    let mut alice = s.join("alice");
    assert_eq!(s.console("NOTICE \u{1b}\u{202e}"), ["ERR SYNTAX usage: NOTICE <text>"]);
    alice.expect_silence(Duration::from_millis(300));
}

#[test]
fn kick_reason_empty_after_cleaning_is_plain_kicked() {
    let mut s = Operated::start(Via::Socket);
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(s.console("KICK bob \u{1b}"), ["OK KICK bob"]);
    assert_eq!(mask_ts(&bob.line()), "NOTICE <ts> you were kicked");
    assert_eq!(mask_ts(&alice.line()), "LEFT <ts> bob kicked");
}
