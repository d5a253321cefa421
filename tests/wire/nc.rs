//! A person at `nc localhost 5000`: these tests drive the real OpenBSD
//! netcat (`/usr/bin/nc`) against the server and check what it prints.
//! `nc -N` shuts down its sending side after the end of its standard input
//! and keeps printing what the server sends until the server closes.
use crate::common::*;
use std::io::Write;
use std::process::{Command, Stdio};

const NC: &str = "/usr/bin/nc";

/// Runs `nc [flags] host port` with `input` on its standard input; returns
/// what it printed, as lines without their CRLF (checked).
fn nc(s: &Server, flags: &[&str], input: &str) -> Vec<String> {
    let host = s.addr.ip().to_string();
    let port = s.addr.port().to_string();
    let mut args: Vec<&str> = flags.to_vec();
    args.extend([host.as_str(), port.as_str()]);
    let (status, out, err) = run_program(NC, &args, input.as_bytes());
    assert!(status.is_some(), "nc did not finish; printed {:?}", String::from_utf8_lossy(&out));
    assert!(err.is_empty(), "nc complained: {err}");
    crlf_lines(&out)
}

fn crlf_lines(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8(out.to_vec()).expect("UTF-8 from the server");
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    text.split_terminator("\r\n")
        .map(|l| {
            assert!(!l.contains('\n'), "bare LF in {l:?}");
            l.to_string()
        })
        .collect()
}

#[test]
fn a_scripted_session_through_nc() {
    let s = Server::start();
    let out = nc(&s, &["-N"], "JOIN ncuser\nWHO\nPING 1\nQUIT\n");
    assert!(out[0].starts_with("HELLO chatd "), "{out:?}");
    assert_eq!(out[1..], ["OK JOIN ncuser pending=0", "OK WHO 1 ncuser", "PONG 1", "OK LEAVE"]);
}

#[test]
fn nc_with_crlf_line_endings() {
    let s = Server::start();
    let out = nc(&s, &["-N", "-C"], "join ncuser\nwho\nquit bye\n");
    assert_eq!(out[1..], ["OK JOIN ncuser pending=0", "OK WHO 1 ncuser", "OK LEAVE"]);
}

#[test]
fn another_user_sees_an_nc_user_talk_and_leave() {
    let s = Server::start();
    let mut bob = s.join("bob");
    let out = nc(&s, &["-N"], "JOIN ncuser\nALL hello from nc\nMSG bob psst\nLEAVE gone fishing\n");
    assert_eq!(out[1..], ["OK JOIN ncuser pending=0", "OK ALL delivered=1", "OK MSG bob delivered", "OK LEAVE"]);
    assert_eq!(bob.event(), "JOINED <ts> ncuser");
    assert_eq!(bob.event(), "ALL <ts> ncuser hello from nc");
    assert_eq!(bob.event(), "MSG <ts> ncuser psst");
    assert_eq!(bob.event(), "LEFT <ts> ncuser gone fishing");
}

#[test]
fn an_nc_user_receives_messages_while_connected() {
    let s = Server::start();
    let mut bob = s.join("bob");
    let mut child = Command::new(NC)
        .args([s.addr.ip().to_string(), s.addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nc");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"JOIN ncuser\n").expect("write to nc");
    stdin.flush().expect("flush");
    assert_eq!(bob.event(), "JOINED <ts> ncuser");
    assert_eq!(bob.ask("MSG ncuser hi there"), "OK MSG ncuser delivered");
    assert_eq!(bob.ask("ALL  everyone"), "OK ALL delivered=1");
    stdin.write_all(b"QUIT\n").expect("write to nc");
    drop(stdin);
    assert_eq!(bob.event(), "LEFT <ts> ncuser");
    // The server closed the connection, so nc ends by itself.
    if poll_until(WAIT, || child.try_wait().expect("wait")).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("nc did not end after QUIT");
    }
    let out = child.wait_with_output().expect("nc output");
    let lines: Vec<String> = crlf_lines(&out.stdout).iter().map(|l| mask_ts(l)).collect();
    assert_eq!(lines[1..], ["OK JOIN ncuser pending=0", "MSG <ts> bob hi there", "ALL <ts> bob everyone", "OK LEAVE"]);
}

#[test]
fn replies_are_sent_even_when_the_client_stops_sending_without_quit() {
    // `printf 'PING x\n' | nc -N host port`: nc half-closes right after the
    // PING, and the PONG must still reach it (it once printed nothing).
    let s = Server::start();
    let out = nc(&s, &["-N"], "PING x\n");
    assert!(out.first().is_some_and(|l| l.starts_with("HELLO chatd ")), "{out:?}");
    assert_eq!(out[1..], ["PONG x"]);
}

#[test]
fn a_last_line_without_terminator_is_answered() {
    // `printf 'JOIN x\nWHO' | nc -N host port`: at end of input the server
    // handles the unterminated WHO (framing::Decoder::finish) and its reply
    // is sent before the connection closes (it once never left).
    let s = Server::start();
    let out = nc(&s, &["-N"], "JOIN ncuser\nWHO");
    assert_eq!(out[1..], ["OK JOIN ncuser pending=0", "OK WHO 1 ncuser"]);
}

#[test]
fn the_others_see_an_nc_user_who_disconnects_without_quit() {
    let s = Server::start();
    let mut bob = s.join("bob");
    nc(&s, &["-N"], "JOIN ncuser\nALL bye\n");
    assert_eq!(bob.event(), "JOINED <ts> ncuser");
    assert_eq!(bob.event(), "ALL <ts> ncuser bye");
    assert_eq!(bob.event(), "LEFT <ts> ncuser connection closed");
}
