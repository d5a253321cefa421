//! The first minute of a new user: HELLO, JOIN, talk, leave.
use crate::common::*;

#[test]
fn two_users_can_talk() {
    let s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    let joined = alice.line();
    assert!(joined.starts_with("JOINED ") && joined.ends_with(" bob"), "{joined}");
    assert_eq!(bob.ask("ALL hello  there"), "OK ALL delivered=1");
    let f = fields(&alice.line(), 3);
    assert_eq!((f[0].as_str(), f[2].as_str(), f[3].as_str()), ("ALL", "bob", "hello  there"));
    assert_ts(&f[1]);
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));
    let left = bob.line();
    assert!(left.starts_with("LEFT ") && left.ends_with(" alice"), "{left}");
}
