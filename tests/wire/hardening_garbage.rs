//! Robustness: binary garbage and random input over the wire (about 2.5 MiB
//! over eight connections at once: uniform random bytes, telnet-heavy bytes,
//! NULs and CRs, one 1 MiB run without a newline, a soup of real command
//! words with odd arguments, broken UTF-8 with backspaces, and random bytes
//! in tiny writes) do not crash the server: afterwards it is still running,
//! has logged no panic, and fresh clients can join and chat.
//!
//! The input comes from a seeded generator, so every run sends the same
//! bytes; set CHATD_GARBAGE_SEED to try another seed.
use crate::common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 0x00c4_a7d0_2026;
/// How long one connection may take to send its input and read to the end.
const CONN_TIME: Duration = Duration::from_secs(60);

/// How one connection's input is made.
#[derive(Debug, Clone, Copy)]
enum Profile {
    /// Uniform random bytes.
    Random,
    /// Mostly telnet command bytes: IAC, SB, SE, WILL, WONT, DO, DONT.
    Telnet,
    /// Mostly NUL, CR and LF.
    NulCr,
    /// One run without CR or LF, then a PING.
    HugeRun,
    /// Command words with odd arguments and every kind of terminator.
    Soup,
    /// Random bytes from a connection that has joined.
    JoinedRandom,
    /// Broken and whole UTF-8, backspace and DEL, frequent newlines.
    Utf8,
    /// Random bytes, written a few bytes at a time.
    Tiny,
}

/// (profile, bytes, joins first)
const PLAN: [(Profile, usize, bool); 8] = [
    (Profile::Random, 512 << 10, false),
    (Profile::Telnet, 256 << 10, false),
    (Profile::NulCr, 256 << 10, false),
    (Profile::HugeRun, 1 << 20, false),
    (Profile::Soup, 128 << 10, true),
    (Profile::JoinedRandom, 256 << 10, true),
    (Profile::Utf8, 128 << 10, true),
    (Profile::Tiny, 16 << 10, false),
];

fn seed() -> u64 {
    std::env::var("CHATD_GARBAGE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED)
}

fn garbage(profile: Profile, len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    match profile {
        Profile::Random | Profile::JoinedRandom | Profile::Tiny => {
            while out.len() < len {
                out.push(rng.byte());
            }
        }
        Profile::Telnet => {
            const TELNET: [u8; 9] = [255, 255, 255, 250, 240, 251, 252, 253, 254];
            while out.len() < len {
                let b = match rng.below(10) {
                    0..=5 => rng.pick(&TELNET),
                    6 => b'\n',
                    _ => rng.byte(),
                };
                out.push(b);
            }
        }
        Profile::NulCr => {
            const BYTES: [u8; 6] = [0, 0, b'\r', b'\n', b'\r', 255];
            while out.len() < len {
                let b = if rng.below(4) == 0 { rng.byte() } else { rng.pick(&BYTES) };
                out.push(b);
            }
        }
        Profile::HugeRun => {
            while out.len() < len {
                let b = rng.byte();
                // No terminator, and no IAC (an IAC SB would swallow the
                // PING below into a subnegotiation).
                if !matches!(b, b'\r' | b'\n' | 255) {
                    out.push(b);
                }
            }
            out.extend_from_slice(b"\nPING tail\n");
        }
        Profile::Soup => {
            while out.len() < len {
                soup_line(rng, &mut out);
            }
        }
        Profile::Utf8 => {
            const PIECES: [&[u8]; 14] = [
                "é".as_bytes(),
                "€".as_bytes(),
                "𝄞".as_bytes(),
                "\u{202e}".as_bytes(),
                b"\xc3",
                b"\xe2\x82",
                b"\xf0\x9d",
                b"\x80\x80",
                b"\xc0\xaf",
                b"\xed\xa0\x80",
                b"\x08",
                b"\x7f",
                b"ALL ",
                b" ",
            ];
            while out.len() < len {
                if rng.below(16) == 0 {
                    out.push(b'\n');
                } else {
                    out.extend_from_slice(rng.pick(&PIECES));
                }
            }
        }
    }
    out
}

/// One line of real command words and odd arguments. Leaves out REGISTER
/// (a password hash per line would only slow the test down) and LEAVE/QUIT
/// (the connection would end early).
fn soup_line(rng: &mut Rng, out: &mut Vec<u8>) {
    const WORDS: [&str; 14] =
        ["JOIN", "join", "MSG", "msg", "MCAST", "ALL", "all", "WHO", "HISTORY", "CLOCK", "HELP", "PING", "Mcast", ""];
    const ARGS: [&str; 24] = [
        "g1",
        "g6",
        "g7",
        "G6",
        "nobody",
        "ninechars",
        "a,b",
        "g1,g2,g1",
        ",,,",
        "g1,",
        ",g2",
        "0",
        "-1",
        "5",
        "500",
        "99999999999999999999999",
        "ON",
        "off",
        "é",
        "\u{202e}x",
        "\x1b[31m",
        "\t",
        "a\u{0}b",
        "\u{fffd}",
    ];
    const ENDS: [&[u8]; 5] = [b"\n", b"\r\n", b"\r\0", b"\r", b"\n\n"];
    out.extend_from_slice(rng.pick(&WORDS).as_bytes());
    for _ in 0..rng.below(5) {
        out.extend_from_slice(if rng.below(4) == 0 { b"  " } else { b" " });
        out.extend_from_slice(rng.pick(&ARGS).as_bytes());
    }
    out.extend_from_slice(rng.pick(&ENDS));
}

/// Sends `input` in random-sized writes (1 to 4 KiB, or 1 to 16 bytes for
/// Tiny), then half-closes; reads everything the server says until end of
/// file. Returns the bytes read and whether end of file was reached.
fn run_conn(addr: std::net::SocketAddr, input: Vec<u8>, tiny: bool, seed: u64) -> (Vec<u8>, bool) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_write_timeout(Some(CONN_TIME)).expect("write timeout");
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("read timeout");
    let mut reader = stream.try_clone().expect("clone");
    let deadline = Instant::now() + CONN_TIME;
    let drain = thread::spawn(move || {
        let mut got = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        while Instant::now() < deadline {
            match reader.read(&mut chunk) {
                Ok(0) => return (got, true),
                Ok(n) => got.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                // A reset is an end too (the server may close a connection
                // whose output it dropped).
                Err(_) => return (got, true),
            }
        }
        (got, false)
    });
    let mut rng = Rng::new(seed);
    let mut writer = stream;
    let mut rest = &input[..];
    while !rest.is_empty() && Instant::now() < deadline {
        let n = if tiny { 1 + rng.below(16) } else { 1 + rng.below(4096) }.min(rest.len());
        if writer.write_all(&rest[..n]).is_err() {
            break; // the server closed this one: that is allowed
        }
        rest = &rest[n..];
        if tiny {
            writer.flush().expect("flush");
            thread::sleep(Duration::from_micros(200));
        }
    }
    let _ = writer.shutdown(Shutdown::Write);
    drain.join().expect("reader thread")
}

#[test]
fn random_bytes_on_many_connections_do_not_crash_the_server() {
    let seed = seed();
    eprintln!("garbage seed {seed} (CHATD_GARBAGE_SEED)");
    let mut s = Server::start_conf(&no_flood(""));
    let mut rng = Rng::new(seed);
    let mut handles = Vec::new();
    for (i, &(profile, len, joins)) in PLAN.iter().enumerate() {
        let mut input = Vec::new();
        if joins {
            input.extend_from_slice(format!("JOIN g{}\n", i + 1).as_bytes());
        }
        input.extend(garbage(profile, len, &mut rng));
        let conn_seed = rng.next_u64();
        let tiny = matches!(profile, Profile::Tiny);
        let addr = s.addr;
        handles.push((profile, thread::spawn(move || run_conn(addr, input, tiny, conn_seed))));
    }
    for (profile, h) in handles {
        let (out, eof) = h.join().expect("connection thread");
        assert!(eof, "{profile:?}: the server neither finished nor closed within {CONN_TIME:?}");
        assert!(out.starts_with(b"HELLO chatd "), "{profile:?}: no HELLO");
        let text = String::from_utf8_lossy(&out);
        let count = |prefix: &str| text.split("\r\n").filter(|l| l.starts_with(prefix)).count();
        eprintln!(
            "{profile:?}: {} bytes back, {} OK, {} ERR, {} other lines",
            out.len(),
            count("OK "),
            count("ERR "),
            text.split("\r\n").count() - count("OK ") - count("ERR ")
        );
        if let Profile::HugeRun = profile {
            // The one deterministic transcript: HELLO, one error, the PING.
            let text = String::from_utf8(out).expect("UTF-8");
            let lines: Vec<&str> = text.split("\r\n").collect();
            assert_eq!(lines.len(), 4, "{lines:?}");
            assert_err(lines[1], "LINE_TOO_LONG");
            assert_eq!(lines[2..], ["PONG tail", ""]);
        }
    }

    assert!(s.is_running(), "the server died");
    s.assert_no_panic_logged();
    let mut alice = s.join("alice");
    let mut bob = s.join_seen_by("bob", &mut [&mut alice]);
    assert_eq!(alice.ask("ALL after the storm"), "OK ALL delivered=1");
    assert_eq!(bob.event(), "ALL <ts> alice after the storm");
    assert_eq!(bob.ask("MSG alice fine here"), "OK MSG alice delivered");
    assert_eq!(alice.event(), "MSG <ts> bob fine here");
    // Every garbage connection is gone: only the two newcomers are online.
    assert_eq!(alice.ask("WHO"), "OK WHO 2 alice bob");
    assert!(s.is_running(), "the server died");
    s.assert_no_panic_logged();
}
