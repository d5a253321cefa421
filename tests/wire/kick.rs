//! KICK from the console: the kicked user gets a NOTICE and is disconnected,
//! the others see `LEFT <ts> <name> kicked` (or `kicked: <reason>`).
use crate::common::*;

fn kick_without_reason(via: Via) {
    let mut s = Operated::start(via);
    let mut alice = s.join("alice");
    let mut bob = s.join("Bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> Bob");
    // The name is matched case-insensitively and answered as spelt at JOIN.
    assert_eq!(s.console("kick BOB"), ["OK KICK Bob"]);
    assert_eq!(mask_ts(&bob.line()), "NOTICE <ts> you were kicked");
    assert!(bob.closed_within(WAIT), "kicked user still connected");
    assert_eq!(mask_ts(&alice.line()), "LEFT <ts> Bob kicked");
    assert_eq!(alice.ask("WHO"), "OK WHO 1 alice");
    // The name is free again.
    s.join("bob");
}

fn kick_with_reason(via: Via) {
    let mut s = Operated::start(via);
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(s.console("KICK bob   too  loud"), ["OK KICK bob"]);
    assert_eq!(mask_ts(&bob.line()), "NOTICE <ts> you were kicked: too  loud");
    assert!(bob.closed_within(WAIT), "kicked user still connected");
    assert_eq!(mask_ts(&alice.line()), "LEFT <ts> bob kicked: too  loud");
}

fn kick_someone_not_online(via: Via) {
    let mut s = Operated::start(via);
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    let mut carol = s.join("carol");
    assert_eq!(s.console("KICK alice"), ["ERR NO_SUCH_USER alice is not online"]);
    assert_eq!(s.console("KICK nobody"), ["ERR NO_SUCH_USER nobody is not online"]);
    assert_eq!(s.console("KICK"), ["ERR SYNTAX usage: KICK <name> [reason]"]);
    carol.expect_silence(std::time::Duration::from_millis(200));
}

#[test]
fn kick_without_reason_on_stdin() {
    kick_without_reason(Via::Stdin);
}

#[test]
fn kick_without_reason_on_socket() {
    kick_without_reason(Via::Socket);
}

#[test]
fn kick_with_reason_on_stdin() {
    kick_with_reason(Via::Stdin);
}

#[test]
fn kick_with_reason_on_socket() {
    kick_with_reason(Via::Socket);
}

#[test]
fn kick_someone_not_online_on_stdin() {
    kick_someone_not_online(Via::Stdin);
}

#[test]
fn kick_someone_not_online_on_socket() {
    kick_someone_not_online(Via::Socket);
}
