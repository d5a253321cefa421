//! Fuzz target: client bytes -> frames (`src/framing.rs`).
//!
//! The first input byte picks `max_line` (small, so over-long lines are
//! common, or the default 1024), the second seeds how the rest is cut into
//! reads. Checks that cutting does not change the result, and the
//! invariants every frame must keep whatever the bytes.
#![no_main]

use chatd::framing::{decode_all, Decoder, Frame};
use libfuzzer_sys::fuzz_target;

const IAC: u8 = 255;
const DONT: u8 = 254;
const WONT: u8 = 252;

fuzz_target!(|data: &[u8]| {
    let [first, second, input @ ..] = data else { return };
    let max_line = if first & 0x80 != 0 { 1024 } else { 1 + usize::from(first % 64) };

    // All at once.
    let (whole, whole_replies) = decode_all(max_line, input);

    // The same bytes in pieces of 1 to 32 bytes, as separate reads.
    let mut d = Decoder::new(max_line);
    let mut frames = Vec::new();
    let mut replies = Vec::new();
    let mut rng = u32::from(*second) | 0x100;
    let mut rest = input;
    while !rest.is_empty() {
        rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let cut = (1 + (rng >> 16) as usize % 32).min(rest.len());
        let mut piece = &rest[..cut];
        rest = &rest[cut..];
        while !piece.is_empty() {
            let (used, frame) = d.decode(piece);
            assert!(used <= piece.len(), "used {used} of {}", piece.len());
            assert!(used > 0 || frame.is_some(), "no progress and no frame");
            if frame.is_none() {
                assert_eq!(used, piece.len(), "stopped early without a frame");
            }
            piece = &piece[used..];
            frames.extend(frame);
        }
        if rng & 1 == 0 {
            replies.extend(d.take_replies());
        }
    }
    replies.extend(d.take_replies());
    assert_eq!(frames, whole, "cutting the input into reads changed the frames");
    assert_eq!(replies, whole_replies, "cutting the input into reads changed the telnet answers");

    let last = d.finish();
    assert_eq!(d.finish(), None, "finish twice gave two frames");
    assert!(!matches!(last, Some(Frame::TooLong)), "finish reported TooLong");
    for frame in frames.iter().chain(last.iter()) {
        if let Frame::Line(line) = frame {
            check_line(line, max_line);
        }
    }
    check_replies(&replies);
});

fn check_line(line: &str, max_line: usize) {
    assert!(!line.trim().is_empty(), "blank line {line:?} was passed on");
    assert!(!line.contains(['\n', '\r']), "terminator inside {line:?}");
    assert!(!line.contains(['\u{8}', '\u{7f}']), "backspace or DEL left in {line:?}");
    // Each input byte gives at most one character (an invalid one becomes
    // one U+FFFD), so the limit in bytes bounds the characters.
    let chars = line.chars().count();
    assert!(chars <= max_line, "line of {chars} characters with max_line {max_line}");
    assert!(line.len() <= 3 * max_line, "line of {} bytes with max_line {max_line}", line.len());
}

/// Telnet answers are IAC WONT/DONT <option> triples, each at most once.
fn check_replies(replies: &[u8]) {
    assert_eq!(replies.len() % 3, 0, "telnet answers {replies:?}");
    let mut seen = std::collections::HashSet::new();
    for t in replies.chunks(3) {
        assert!(t[0] == IAC && (t[1] == WONT || t[1] == DONT), "bad telnet answer {t:?}");
        assert!(seen.insert((t[1], t[2])), "telnet answer {t:?} sent twice");
    }
}
