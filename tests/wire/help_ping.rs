//! HELP and PING (protocol section 4): HELP is lines `HELP <text>` describing
//! every command, then `OK HELP`; PING answers `PONG [token]`.
use crate::common::*;

/// The commands of this version, each of which HELP must describe.
const COMMANDS: [&str; 8] = ["JOIN", "MSG", "MCAST", "ALL", "WHO", "LEAVE", "QUIT", "PING"];

fn help(c: &mut Client) -> Vec<String> {
    c.send("HELP");
    let (lines, ok) = c.until("OK ");
    assert_eq!(ok, "OK HELP");
    lines
}

#[test]
fn help_describes_every_command_before_and_after_join() {
    let s = Server::start();
    let mut c = s.connect();
    let before = help(&mut c);
    assert_eq!(c.ask("JOIN alice"), "OK JOIN alice pending=0");
    let after = help(&mut c);
    for lines in [&before, &after] {
        assert!(lines.len() >= COMMANDS.len(), "{lines:?}");
        for l in lines.iter() {
            assert!(l.starts_with("HELP ") && l.len() > 5, "{l:?}");
        }
        for cmd in COMMANDS.iter().chain(&["HELP"]) {
            assert!(lines.iter().any(|l| l.starts_with(&format!("HELP {cmd}"))), "no HELP line for {cmd}: {lines:?}");
        }
    }
}

#[test]
fn help_shows_the_usage_of_commands_with_arguments() {
    let s = Server::start();
    let mut c = s.join("alice");
    let text = help(&mut c).join("\n");
    for usage in ["JOIN <name>", "MSG <name> <text>", "MCAST <name,name,...> <text>", "ALL <text>", "PING [token]"] {
        assert!(text.contains(usage), "{usage} missing from {text}");
    }
}

#[test]
fn help_is_case_insensitive_and_can_show_one_command() {
    let s = Server::start();
    let mut c = s.connect();
    let plain = help(&mut c);
    c.send("help");
    let (lines, ok) = c.until("OK ");
    assert_eq!((lines, ok.as_str()), (plain, "OK HELP"));
    c.send("help msg");
    let (lines, ok) = c.until("OK ");
    assert_eq!(ok, "OK HELP");
    assert!(lines[0].starts_with("HELP MSG <name> <text>"), "{lines:?}");
    assert_eq!(lines[1..], ["HELP (works after JOIN)"]);
    assert_eq!(c.ask("HELP nosuch"), "ERR UNKNOWN_COMMAND nosuch is not a command; HELP lists them all");
}

#[test]
fn ping_without_and_with_a_token() {
    let s = Server::start();
    let mut c = s.connect();
    assert_eq!(c.ask("PING"), "PONG");
    assert_eq!(c.ask("PING 12345"), "PONG 12345");
    assert_eq!(c.ask("PING   spaced"), "PONG spaced");
    assert_eq!(c.ask("PING"), "PONG");
    let mut d = s.join("alice");
    assert_eq!(d.ask("PING after-join"), "PONG after-join");
}

#[test]
fn pings_are_answered_in_order() {
    let s = Server::start();
    let mut c = s.connect();
    c.send_raw(b"PING 1\nPING 2\nPING 3\n");
    assert_eq!(c.line(), "PONG 1");
    assert_eq!(c.line(), "PONG 2");
    assert_eq!(c.line(), "PONG 3");
}
