//! The IRC listener under bad and heavy input: a soup of IRC command words
//! with random arguments, tags and bytes (seeded, so every run sends the
//! same), sent from several connections at once and byte by byte, leaves
//! the server running with no panic and the other users served; flood
//! control delays a fast IRC sender's lines and loses none; a broadcast
//! reaches a hundred IRC users and the nc users alike.
use crate::common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

const WORDS: &[&str] = &[
    "CAP",
    "NICK",
    "USER",
    "PASS",
    "AUTHENTICATE",
    "PRIVMSG",
    "NOTICE",
    "JOIN",
    "PART",
    "WHO",
    "WHOIS",
    "ISON",
    "NAMES",
    "MODE",
    "TOPIC",
    "AWAY",
    "PING",
    "PONG",
    "LUSERS",
    "MOTD",
    "KICK",
    "HISTORY",
    "REGISTER",
    "HELP",
    "X",
];
const ARGS: &[&str] = &[
    "#chatd",
    "#other",
    "*",
    ":",
    "::",
    "LS",
    "302",
    "REQ",
    ":sasl server-time",
    "END",
    "PLAIN",
    "+",
    "a,b,,c",
    "nick",
    "ninechars",
    "\u{1}ACTION x\u{1}",
    "\u{2}\u{3}04",
    "0",
    "-1",
    "99999999999",
    "é",
    "\u{202e}rtl",
];

fn garbage(rng: &mut Rng, lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..lines {
        if rng.below(8) == 0 {
            out.push(b'@');
            for _ in 0..rng.below(300) {
                out.push(rng.pick(b"ab=;+/\\:x "));
            }
            out.push(b' ');
        }
        if rng.below(6) == 0 {
            out.extend_from_slice(b":pre!fix@h ");
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
        for _ in 0..rng.below(6) {
            out.extend_from_slice(b" ");
            if rng.below(5) == 0 {
                for _ in 0..rng.below(40) {
                    out.push(rng.byte());
                }
            } else {
                out.extend_from_slice(rng.pick(ARGS).as_bytes());
            }
        }
        if rng.below(20) == 0 {
            out.extend(std::iter::repeat_n(b'y', 600 + rng.below(5000)));
        }
        out.extend_from_slice(rng.pick(&[&b"\r\n"[..], b"\n", b"\r\0"]));
    }
    out
}

#[test]
fn random_irc_input_crashes_nothing_and_disturbs_no_one() {
    let s = Server::start_conf(&no_flood(""));
    let mut nc = s.join("steady");
    let mut irc = IrcClient::join(&s, "calm");
    assert_eq!(nc.event(), "JOINED <ts> calm");
    let addr = s.irc_addr();
    let threads: Vec<_> = (0..6u64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(0x1cc0_2026 + i);
                let input = garbage(&mut rng, 400);
                let mut sock = TcpStream::connect(addr).expect("connect");
                sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut reader = sock.try_clone().unwrap();
                let drain = std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                });
                if i % 3 == 0 {
                    for chunk in input.chunks(7) {
                        if sock.write_all(chunk).is_err() {
                            break;
                        }
                    }
                } else {
                    let _ = sock.write_all(&input);
                }
                let _ = sock.write_all(b"QUIT :done\r\n");
                let _ = sock.shutdown(Shutdown::Write);
                let _ = drain.join();
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a garbage thread");
    }
    s.assert_no_panic_logged();
    // Both protocols still work, and the two steady users still talk.
    irc.send("PRIVMSG steady :still here");
    let seen = nc.sync("after");
    assert!(seen.iter().any(|l| mask_ts(l) == "MSG <ts> calm still here"), "{seen:#?}");
    nc.ok("MSG calm and you");
    let lines = irc.sync("after");
    assert!(lines.contains(&":steady!steady@chatd PRIVMSG calm :and you".to_string()), "{lines:#?}");
    IrcClient::join(&s, "fresh");
}

#[test]
fn flood_control_delays_a_fast_irc_sender_and_loses_nothing() {
    let s = Server::start(); // default flood control: 20 lines/s, bursts of 40
    let mut nc = s.join("reader");
    let mut irc = IrcClient::join(&s, "fast");
    nc.event();
    let batch: String = (0..100).map(|i| format!("PRIVMSG reader :n{i}\r\n")).collect();
    irc.c.send_raw(batch.as_bytes());
    for i in 0..100 {
        assert_eq!(nc.event(), format!("MSG <ts> fast n{i}"));
    }
}

#[test]
fn a_broadcast_reaches_a_hundred_irc_users_and_the_nc_users() {
    let s = Server::start_conf(&no_flood(""));
    let mut ircs: Vec<IrcClient> = (0..100).map(|i| IrcClient::join(&s, &format!("i{i}"))).collect();
    let mut nc = s.join("ncuser");
    for (i, c) in ircs.iter_mut().enumerate() {
        // The JOINs of those after it, then the nc user's.
        for j in i + 1..100 {
            assert_eq!(c.line(), format!(":i{j}!i{j}@chatd JOIN #chatd"));
        }
        assert_eq!(c.line(), ":ncuser!ncuser@chatd JOIN #chatd");
    }
    ircs[7].send("PRIVMSG #chatd :to everyone");
    assert_eq!(nc.event(), "ALL <ts> i7 to everyone");
    for (i, c) in ircs.iter_mut().enumerate() {
        if i != 7 {
            assert_eq!(c.line(), ":i7!i7@chatd PRIVMSG #chatd :to everyone");
        }
    }
    nc.send("WHO");
    let who = nc.line();
    assert!(who.starts_with("OK WHO 101 "), "{who}");
}
