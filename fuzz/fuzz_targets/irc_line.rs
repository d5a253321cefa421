//! Fuzz target: an IRC client line -> `irc::parse::Line` (`src/irc/parse.rs`),
//! and the numerics that echo a client's words back rendered from it
//! (`src/irc/render.rs`).
//!
//! The input is tried as one line (invalid UTF-8 replaced, as framing
//! does) and as the lines framing makes of it at the IRC limit. The parser
//! must never panic, must keep the limits (510-byte body, bounded tags, 15
//! parameters), and what it returns must be what the handlers expect: a
//! command word without spaces, middle parameters that are single words.
//! An answer that echoes a parameter must stay one line.
#![no_main]

use chatd::framing::{decode_all, Frame};
use chatd::irc::parse::{parse, ParseError, MAX_BODY, MAX_PARAMS, MAX_TAGS};
use chatd::irc::render::{irc, IrcReply};
use chatd::session::Session;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    for frame in decode_all(chatd::irc::MAX_LINE, data).0 {
        if let Frame::Line(line) = frame {
            check(&line);
        }
    }
});

fn check(line: &str) {
    match parse(line) {
        Ok(l) => {
            assert!(!l.command.is_empty() && !l.command.contains(' '), "{l:?}");
            assert!(l.params.len() <= MAX_PARAMS, "{l:?}");
            if let Some(tags) = l.tags {
                assert!(tags.len() < MAX_TAGS && !tags.contains(' '), "{l:?}");
            }
            let (last, middle) = l.params.split_last().map_or((None, &[][..]), |(a, b)| (Some(a), b));
            for p in middle {
                assert!(!p.is_empty() && !p.contains(' ') && !p.starts_with(':'), "{l:?}");
            }
            let body: usize = l.command.len() + l.params.iter().map(|p| p.len()).sum::<usize>();
            assert!(body <= MAX_BODY, "{l:?}");
            let _ = last;
            // Words echoed back in numerics, as the handlers clean them.
            let session = Session::default();
            for p in &l.params {
                let shown: String = chatd::text::sanitize(p).chars().take(50).collect();
                for r in [
                    IrcReply::NoSuchNick { nick: &shown },
                    IrcReply::NoSuchChannel { channel: &shown },
                    IrcReply::UnknownCommand { command: &shown },
                    IrcReply::CapInvalid { sub: &shown },
                ] {
                    let wire = irc(&r, &session);
                    let body = wire.strip_suffix("\r\n").expect("CRLF");
                    assert!(!body.contains(['\r', '\n', '\0']), "{wire:?}");
                    assert!(body.len() <= 512, "{wire:?}");
                }
            }
        }
        Err(ParseError::Empty) => {
            let rest = line.trim_start_matches(' ');
            let rest = match rest.strip_prefix('@') {
                Some(t) => t.split_once(' ').map_or("", |(_, r)| r).trim_start_matches(' '),
                None => rest,
            };
            let rest = match rest.strip_prefix(':') {
                Some(p) => p.split_once(' ').map_or("", |(_, r)| r).trim_start_matches(' '),
                None => rest,
            };
            assert!(rest.split(' ').next().unwrap_or("").is_empty(), "{line:?} has a command");
        }
        Err(ParseError::TooLong) => assert!(line.len() > MAX_BODY, "{line:?} is not long"),
    }
}
