//! Protocol section 4, before a successful JOIN: only JOIN, HELP, PING and
//! LEAVE/QUIT are accepted; anything else gets
//! `ERR NOT_JOINED join first: JOIN <name>`; an unknown word gets
//! `ERR UNKNOWN_COMMAND` with a hint of what to type.
use crate::common::*;

const NOT_JOINED: &str = "ERR NOT_JOINED join first: JOIN <name>";

#[test]
fn the_first_line_is_hello_with_name_version_and_a_hint() {
    let s = Server::start();
    let mut c = Client::connect_raw(s.addr);
    let hello = c.line();
    let f = fields(&hello, 3);
    assert_eq!((f[0].as_str(), f[1].as_str(), f[2].as_str()), ("HELLO", "chatd", env!("CARGO_PKG_VERSION")));
    assert!(f[3].contains("JOIN <name>"), "{hello}");
}

#[test]
fn commands_that_need_a_name_are_refused_before_join() {
    let s = Server::start();
    let mut bob = s.join("bob");
    let mut c = s.connect();
    for line in ["MSG bob hi", "MCAST bob hi", "ALL hi", "WHO", "who", "Msg bob hi"] {
        assert_eq!(c.ask(line), NOT_JOINED, "{line}");
    }
    // Refused before their arguments are even looked at.
    for line in ["MSG", "MCAST", "ALL", "WHO extra"] {
        assert_eq!(c.ask(line), NOT_JOINED, "{line}");
    }
    // Nothing reached bob, and the connection still works.
    bob.assert_nothing_pending("quiet");
    assert_eq!(c.ask("JOIN carol"), "OK JOIN carol pending=0");
}

#[test]
fn ping_works_before_join() {
    let s = Server::start();
    let mut c = s.connect();
    assert_eq!(c.ask("PING"), "PONG");
    assert_eq!(c.ask("ping hello"), "PONG hello");
}

#[test]
fn help_works_before_join() {
    let s = Server::start();
    let mut c = s.connect();
    c.send("HELP");
    let (lines, ok) = c.until("OK ");
    assert_eq!(ok, "OK HELP");
    assert!(lines.iter().all(|l| l.starts_with("HELP ")), "{lines:?}");
    let text = lines.join("\n");
    assert!(text.contains("JOIN <name>"), "{text}");
}

#[test]
fn quit_before_join_says_ok_and_closes() {
    let s = Server::start();
    let mut watcher = s.join("watcher");
    let mut c = s.connect();
    assert_eq!(c.ask("QUIT"), "OK LEAVE");
    assert!(c.closed_within(WAIT));
    let mut d = s.connect();
    assert_eq!(d.ask("leave not today"), "OK LEAVE");
    assert!(d.closed_within(WAIT));
    // No one had joined on those connections, so no LEFT.
    watcher.assert_nothing_pending("no-left");
}

#[test]
fn an_unknown_word_before_join_hints_at_join() {
    let s = Server::start();
    let mut c = s.connect();
    let e = c.ask("hello");
    assert_err(&e, "UNKNOWN_COMMAND");
    assert!(e.contains("hello") && e.contains("JOIN <name>"), "{e}");
    let e = c.ask("NICK alice");
    assert_err(&e, "UNKNOWN_COMMAND");
    assert!(e.contains("JOIN <name>"), "{e}");
}

#[test]
fn an_unknown_word_after_join_hints_at_all_and_msg() {
    let s = Server::start();
    let mut c = s.join("alice");
    let e = c.ask("hello everyone");
    assert_err(&e, "UNKNOWN_COMMAND");
    assert!(e.contains("ALL <text>") && e.contains("MSG <name>"), "{e}");
}

#[test]
fn the_commands_of_later_versions_are_not_joined_or_unknown_never_silent() {
    // HISTORY, REGISTER and CLOCK are being built elsewhere; whatever this
    // server makes of them before JOIN, it must answer with an error.
    let s = Server::start();
    let mut c = s.connect();
    for line in ["HISTORY", "REGISTER secret12", "CLOCK"] {
        let e = c.ask(line);
        assert!(e.starts_with("ERR NOT_JOINED ") || e.starts_with("ERR UNKNOWN_COMMAND "), "{line}: {e}");
    }
}
