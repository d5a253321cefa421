//! The load generator's receive path: what one server line means, read
//! straight from the bytes.
//!
//! W1 hands the generator millions of lines a second, so nothing here
//! allocates, splits into `&str`s or goes through `str::parse`. A line's end
//! is found sixteen bytes at a time (SSE2, which every x86-64 has; eight
//! bytes at a time elsewhere); a bench payload's spaces and digits are found
//! with 16-byte compares and its numbers read eight digits at once, with no
//! branch per byte. Anything unusual (a long number, a short line) is read
//! byte by byte instead, which is the reference the tests hold the fast
//! ways to. The meaning is what chatd-bench always gave a line.

/// What one server line means to the load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A message from a bench client (chatd `ALL`, IRC `PRIVMSG`).
    Delivery(Payload),
    /// A message whose text is not a bench payload: no delivery.
    Malformed,
    /// chatd `OK JOIN`: logged in.
    JoinOk,
    /// chatd `OK ALL`, IRC `PONG`: a send acknowledged.
    Ack,
    /// chatd `JOINED`, IRC `JOIN`: a join announced.
    Joined,
    /// chatd `ERR`.
    Err,
    /// IRC `PING`: to be answered `PONG <token>`.
    Ping(&'a [u8]),
    /// IRC 376 or 422 (end of MOTD, or none): registered.
    Registered,
    /// IRC 366 (end of NAMES): in the channel.
    InChannel,
    /// Anything else.
    Other,
}

/// A bench message text: `<sender> <seq> <send-time-us> [padding]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    pub sender: usize,
    pub seq: i64,
    pub sent_us: u64,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The first zero byte of `v`, as its high bit (the lowest set high bit is
/// exact: a borrow reaches only bytes above a zero byte).
#[inline(always)]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// The index of the first `b` in `hay`, eight bytes at a time.
#[inline]
pub fn find_byte(b: u8, hay: &[u8]) -> Option<usize> {
    let pattern = LO * u64::from(b);
    let mut words = hay.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let zero = zero_bytes(u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ pattern);
        if zero != 0 {
            return Some(base + (zero.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words.remainder().iter().position(|&x| x == b).map(|p| base + p)
}

/// The index of the first `\n` in `hay`, and whether every byte before it
/// is ASCII: one pass, sixteen bytes at a time (SSE2, which every x86-64 has).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn line_end(hay: &[u8]) -> Option<(usize, bool)> {
    // SAFETY: every x86-64 processor has SSE2.
    unsafe { line_end_sse2(hay) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn line_end_sse2(hay: &[u8]) -> Option<(usize, bool)> {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let newline = _mm_set1_epi8(b'\n' as i8);
    let mut high = _mm_set1_epi8(0); // the bytes seen before the newline, or-ed
    let mut base = 0;
    while base + 16 <= hay.len() {
        // SAFETY: the 16 bytes at `base` are in `hay`; loadu needs no alignment.
        let v = unsafe { _mm_loadu_si128(hay.as_ptr().add(base).cast()) };
        let at = _mm_movemask_epi8(_mm_cmpeq_epi8(v, newline)) as u32;
        if at != 0 {
            let before = (at & at.wrapping_neg()) - 1; // the bytes before it
            let high = _mm_movemask_epi8(high) as u32 | (_mm_movemask_epi8(v) as u32 & before);
            return Some((base + at.trailing_zeros() as usize, high == 0));
        }
        high = _mm_or_si128(high, v);
        base += 16;
    }
    let (at, ascii) = line_end_swar(&hay[base..])?;
    Some((base + at, ascii && _mm_movemask_epi8(high) == 0))
}

/// `line_end` elsewhere: eight bytes at a time.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn line_end(hay: &[u8]) -> Option<(usize, bool)> {
    line_end_swar(hay)
}

/// The index of the first `\n` in `hay`, and whether every byte before it
/// is ASCII: one pass, eight bytes at a time.
#[inline]
fn line_end_swar(hay: &[u8]) -> Option<(usize, bool)> {
    let pattern = LO * u64::from(b'\n');
    let mut words = hay.chunks_exact(8);
    let mut base = 0;
    let mut high = 0; // the high bits seen before the newline
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let zero = zero_bytes(w ^ pattern);
        if zero != 0 {
            let before = ((zero & zero.wrapping_neg()) >> 7) - 1; // the bytes before it
            return Some((base + (zero.trailing_zeros() / 8) as usize, (high | (w & before)) & HI == 0));
        }
        high |= w;
        base += 8;
    }
    let tail = words.remainder();
    let p = tail.iter().position(|&x| x == b'\n')?;
    Some((base + p, high & HI == 0 && tail[..p].is_ascii()))
}

/// The first space-separated word of `s`, and what follows that space.
#[inline]
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    match find_byte(b' ', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &s[s.len()..]),
    }
}

/// A decimal number that ends at a space or at the end of `s`; the rest
/// after that space. No sign; at most 19 digits, so no overflow.
#[inline]
fn number(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    let mut i = 0;
    while let Some(&d) = s.get(i) {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(d)); // checked below
        i += 1;
    }
    if i == 0 || i > 19 {
        return None;
    }
    match s.get(i) {
        None => Some((n, &s[i..])),
        Some(b' ') => Some((n, &s[i + 1..])),
        Some(_) => None,
    }
}

/// Eight digit values, one a byte, the first (lowest) byte the most
/// significant: their number.
#[inline(always)]
fn eight_digits(v: u64) -> u64 {
    let v = v.wrapping_mul(10 << 8 | 1) >> 8 & 0x00ff_00ff_00ff_00ff; // pairs
    let v = v.wrapping_mul(100 << 16 | 1) >> 16 & 0x0000_ffff_0000_ffff; // fours
    v.wrapping_mul(10000 << 32 | 1) >> 32
}

/// The number in the `len` (1..=8) digits at `s[at..]`, eight bytes of
/// which are in `s`.
#[inline(always)]
fn digits_at(s: &[u8], at: usize, len: u32) -> Option<u64> {
    let v = u64::from_le_bytes(*s.get(at..)?.first_chunk::<8>()?);
    // The digits' values in the top `len` bytes, zeros (leading) below.
    Some(eight_digits((v & 0x0f0f_0f0f_0f0f_0f0f) << (8 * (8 - len))))
}

/// Where the spaces and the digits are in 16 bytes, as bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn spaces_and_digits16(s: &[u8; 16]) -> (u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: every x86-64 processor has SSE2; the load reads `s`'s bytes.
    unsafe {
        let v = _mm_loadu_si128(s.as_ptr().cast());
        let spaces = _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8));
        // Signed compares: a byte above 0x7f is below '0'.
        let digits =
            _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(b'/' as i8)), _mm_cmplt_epi8(v, _mm_set1_epi8(b':' as i8)));
        (u64::from(_mm_movemask_epi8(spaces) as u16), u64::from(_mm_movemask_epi8(digits) as u16))
    }
}

/// `spaces_and_digits16` elsewhere, a byte at a time.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn spaces_and_digits16(s: &[u8; 16]) -> (u64, u64) {
    let (mut spaces, mut digits) = (0, 0);
    for (i, b) in s.iter().enumerate() {
        spaces |= u64::from(*b == b' ') << i;
        digits |= u64::from(b.is_ascii_digit()) << i;
    }
    (spaces, digits)
}

/// Where the spaces and the digits are in `s` (at most 64 bytes), as bits.
#[inline(always)]
fn spaces_and_digits<const N: usize>(s: &[u8; N]) -> (u64, u64) {
    let (mut spaces, mut digits) = (0, 0);
    for (i, block) in s.chunks_exact(16).enumerate() {
        let (sp, dg) = spaces_and_digits16(block.try_into().expect("16 bytes"));
        spaces |= sp << (16 * i);
        digits |= dg << (16 * i);
    }
    (spaces, digits)
}

/// The ends of the first `N` spaces in `spaces` (64 for one that is not there).
#[inline(always)]
fn space_ends<const N: usize>(mut spaces: u64) -> [u32; N] {
    let mut ends = [64; N];
    for end in &mut ends {
        *end = spaces.trailing_zeros();
        spaces &= spaces.wrapping_sub(1);
    }
    ends
}

/// The three numbers of a text whose bits from `start` are in `spaces` and
/// `digits`, if they have at most eight digits each and their spaces are
/// among those bits; None is "not sure".
#[inline(always)]
fn three_numbers(text: &[u8], start: u32, spaces: u64, digits: u64, [end1, end2, end3]: [u32; 3]) -> Option<Payload> {
    if end3 >= 64 {
        return None;
    }
    // Digits and those three spaces only, and no field empty or over eight.
    let bits = ((1u64 << end3) - 1) & !((1u64 << start) - 1);
    let (len1, len2, len3) = (end1.wrapping_sub(start), end2 - end1 - 1, end3 - end2 - 1);
    if (digits | spaces) & bits != bits
        || !(1..=8).contains(&len1)
        || !(1..=8).contains(&len2)
        || !(1..=8).contains(&len3)
    {
        return None;
    }
    let sender = digits_at(text, start as usize, len1)?;
    let seq = digits_at(text, end1 as usize + 1, len2)?;
    let sent_us = digits_at(text, end2 as usize + 1, len3)?;
    Some(Payload { sender: sender as usize, seq: seq as i64, sent_us })
}

/// A bench message text, if it is one.
#[inline(always)]
pub fn payload(text: &[u8]) -> Option<Payload> {
    payload_fast(text).or_else(|| payload_slow(text))
}

/// `payload` digit by digit: the reference.
#[inline(never)]
fn payload_slow(text: &[u8]) -> Option<Payload> {
    let (sender, rest) = number(text)?;
    let (seq, rest) = number(rest)?;
    let (sent_us, _) = number(rest)?;
    Some(Payload { sender: usize::try_from(sender).ok()?, seq: i64::try_from(seq).ok()?, sent_us })
}

/// `payload` without a branch per byte, for a text whose three numbers have
/// at most eight digits each and end in its first 32 bytes (bench texts are
/// 40 bytes or more). None is "not sure": `payload_slow` then decides.
#[inline(always)]
fn payload_fast(text: &[u8]) -> Option<Payload> {
    let (spaces, digits) = spaces_and_digits(text.first_chunk::<32>()?);
    three_numbers(text, 0, spaces, digits, space_ends(spaces))
}

/// The payload of an `ALL <ts> <from> <text>` line, from what follows `ALL `.
#[inline(always)]
pub fn all_payload(rest: &[u8]) -> Option<Payload> {
    all_payload_fast(rest).or_else(|| payload_slow(word(word(rest).1).1))
}

/// The payload of a chatd line, if it is a bench line in the usual form
/// (`chatd` has the last word: None is "not sure").
#[inline(always)]
pub fn chatd_delivery(line: &[u8]) -> Option<Payload> {
    all_payload_fast(line.strip_prefix(b"ALL ")?)
}

/// `all_payload` from one look at the first 64 bytes, where the first five
/// spaces end the timestamp, the name and the three numbers (a bench line
/// is that long). None is "not sure".
#[inline(always)]
fn all_payload_fast(rest: &[u8]) -> Option<Payload> {
    let (spaces, digits) = spaces_and_digits(rest.first_chunk::<64>()?);
    let [_ts, from, end1, end2, end3] = space_ends(spaces);
    three_numbers(rest, from + 1, spaces, digits, [end1, end2, end3])
}

/// Whether chatd-bench reads `line` at all: it always skipped lines that
/// are not UTF-8. `ascii` (from `line_end`) is the fast way to say yes.
#[inline]
pub fn readable(line: &[u8], ascii: bool) -> bool {
    ascii || std::str::from_utf8(line).is_ok()
}

/// One chatd line (without its line end).
#[inline]
pub fn chatd(line: &[u8]) -> Line<'_> {
    // The hot case first: ALL <ts> <from> <text>.
    if let Some(rest) = line.strip_prefix(b"ALL ") {
        return all_payload(rest).map_or(Line::Malformed, Line::Delivery);
    }
    let (kind, rest) = word(line);
    match kind {
        b"OK" if rest.starts_with(b"ALL ") => Line::Ack,
        b"OK" if rest.starts_with(b"JOIN ") => Line::JoinOk,
        b"JOINED" => Line::Joined,
        b"ERR" => Line::Err,
        _ => Line::Other,
    }
}

/// One IRC line (without its line end).
pub fn irc(line: &[u8]) -> Line<'_> {
    let (first, rest) = word(line);
    if first == b"PING" {
        return Line::Ping(line.strip_prefix(b"PING ").unwrap_or(b":x"));
    }
    let (command, rest) = word(rest);
    match command {
        b"PRIVMSG" => match rest.windows(2).position(|w| w == b" :") {
            Some(i) => payload(&rest[i + 2..]).map_or(Line::Malformed, Line::Delivery),
            None => Line::Other,
        },
        b"PONG" => Line::Ack,
        b"JOIN" => Line::Joined,
        b"376" | b"422" => Line::Registered,
        b"366" => Line::InChannel,
        _ => Line::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(sender: usize, seq: i64, sent_us: u64) -> Line<'static> {
        Line::Delivery(Payload { sender, seq, sent_us })
    }

    #[test]
    fn a_chatd_all_line_is_a_delivery() {
        let line = b"ALL 2026-11-21T12:01:02Z b7 7 42 1234567 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(chatd(line), delivery(7, 42, 1234567));
        assert_eq!(chatd_delivery(line), Some(Payload { sender: 7, seq: 42, sent_us: 1234567 }));
        assert_eq!(
            chatd_delivery(b"OK ALL delivered=99 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            None
        );
        let line = b"ALL 2026-11-21T12:01:02Z a-rather-long-name 7 42 1234567 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(chatd(line), delivery(7, 42, 1234567));
        // No padding at all is still a payload.
        assert_eq!(chatd(b"ALL 2026-11-21T12:01:02Z b0 0 0 0"), delivery(0, 0, 0));
    }

    #[test]
    fn chatd_replies_and_events() {
        assert_eq!(chatd(b"JOINED 2026-11-21T12:01:02Z b12"), Line::Joined);
        assert_eq!(chatd(b"OK ALL delivered=99"), Line::Ack);
        assert_eq!(chatd(b"OK JOIN b3 pending=0"), Line::JoinOk);
        assert_eq!(chatd(b"ERR FLOOD slow down"), Line::Err);
        assert_eq!(chatd(b"ERR"), Line::Err);
        assert_eq!(chatd(b"OK NAMES 3"), Line::Other);
        assert_eq!(chatd(b"OK"), Line::Other);
        assert_eq!(chatd(b"LEFT 2026-11-21T12:01:02Z b1"), Line::Other);
        assert_eq!(chatd(b""), Line::Other);
    }

    #[test]
    fn a_malformed_payload_is_no_delivery() {
        for line in [
            &b"ALL 2026-11-21T12:01:02Z b7 hello there"[..],
            b"ALL 2026-11-21T12:01:02Z b7 7 42",
            b"ALL 2026-11-21T12:01:02Z b7 7 42 12x3 xxxx",
            b"ALL 2026-11-21T12:01:02Z b7 7 -42 123 xxxx",
            b"ALL 2026-11-21T12:01:02Z b7 7  42 123",
            b"ALL 2026-11-21T12:01:02Z b7 7 42 99999999999999999999999 xxxx",
            b"ALL 2026-11-21T12:01:02Z b7 7 9223372036854775808 1 xxxx",
            b"ALL 2026-11-21T12:01:02Z b7",
            b"ALL 2026-11-21T12:01:02Z",
            b"ALL ",
            b"ALL 2026-11-21T12:01:02Z b7 \xff\xfe 1 2",
        ] {
            assert_eq!(chatd(line), Line::Malformed, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn an_irc_privmsg_is_a_delivery() {
        let line = b":b3!~b3@localhost PRIVMSG #bench :3 17 991 xxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(irc(line), delivery(3, 17, 991));
        assert_eq!(irc(b":b3!~b3@localhost PRIVMSG #bench :hello 1 2"), Line::Malformed);
        assert_eq!(irc(b":b3!~b3@localhost PRIVMSG #bench hello"), Line::Other);
    }

    #[test]
    fn irc_replies_and_events() {
        assert_eq!(irc(b"PING :irc.example.net"), Line::Ping(b":irc.example.net"));
        assert_eq!(irc(b"PING"), Line::Ping(b":x"));
        assert_eq!(irc(b":irc.example.net PONG irc.example.net :a3"), Line::Ack);
        assert_eq!(irc(b":b9!~b9@localhost JOIN :#bench"), Line::Joined);
        assert_eq!(irc(b":irc.example.net 376 b1 :End of MOTD command"), Line::Registered);
        assert_eq!(irc(b":irc.example.net 422 b1 :MOTD File is missing"), Line::Registered);
        assert_eq!(irc(b":irc.example.net 366 b1 #bench :End of NAMES list"), Line::InChannel);
        assert_eq!(irc(b":irc.example.net 001 b1 :Welcome"), Line::Other);
        assert_eq!(irc(b""), Line::Other);
    }

    #[test]
    fn lines_that_are_not_utf8_are_not_read() {
        for (text, ascii, utf8) in [
            (&b"ALL 2026 b1 1 2 3 xxxxxxxxxxxxxxxxxxxxxxx\r\nALL \xff"[..], true, true),
            ("ALL 2026 b1 1 2 3 \u{e9}t\u{e9}\r\n".as_bytes(), false, true),
            (b"ALL 2026 b1 1 2 3 \xff\r\n", false, false),
            (b"\xff\n", false, false),
            (b"ALL 2026 b1 1 2 3 xxxxxxxx\xff\n", false, false),
        ] {
            let (end, is_ascii) = line_end(text).expect("a line");
            assert_eq!(is_ascii, ascii, "{text:?}");
            assert_eq!(readable(&text[..end], is_ascii), utf8, "{text:?}");
        }
    }

    #[test]
    fn the_fast_payload_readers_agree_with_the_slow_one() {
        let pad = "x".repeat(64);
        let (mut fast_texts, mut fast_lines) = (0, 0);
        for sender in ["0", "7", "42", "59999", "12345678", "123456789", "", "x", "4x"] {
            for seq in ["0", "199", "1234567", "12345678", "123456789", "-1", "", "1 "] {
                for sent in ["0", "99999999", "100000000", "123456", "", "9z", "18446744073709551616"] {
                    for sep in [" ", "  ", "\t", ""] {
                        let text = format!("{sender} {seq} {sent}{sep}{pad}");
                        for len in [text.len(), 40, 32, 31, 20] {
                            let text = &text.as_bytes()[..len.min(text.len())];
                            let slow = payload_slow(text);
                            if let Some(fast) = payload_fast(text) {
                                assert_eq!(Some(fast), slow, "{}", String::from_utf8_lossy(text));
                                fast_texts += 1;
                            }
                            assert_eq!(payload(text), slow, "{}", String::from_utf8_lossy(text));
                            // The same text in ALL lines, its numbers at every offset.
                            for (ts, from) in
                                [("2026-11-21T12:01:02Z", "b1"), ("", ""), ("t", "b12345"), ("ts", "a-long-name")]
                            {
                                for extra in 0..24 {
                                    let ts = format!("{ts}{}", "0".repeat(extra));
                                    let mut rest = format!("{ts} {from} ").into_bytes();
                                    rest.extend_from_slice(text);
                                    if let Some(fast) = all_payload_fast(&rest) {
                                        assert_eq!(Some(fast), slow, "{}", String::from_utf8_lossy(&rest));
                                        fast_lines += 1;
                                    }
                                    assert_eq!(all_payload(&rest), slow, "{}", String::from_utf8_lossy(&rest));
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(fast_texts > 100 && fast_lines > 1000, "{fast_texts} {fast_lines}");
        let text = format!("59999 1234567 99999999 {pad}");
        let want = Payload { sender: 59999, seq: 1234567, sent_us: 99999999 };
        assert_eq!(payload_fast(text.as_bytes()), Some(want));
        assert_eq!(all_payload_fast(format!("2026-11-21T12:01:02Z b59999 {text}").as_bytes()), Some(want));
        // What the fast ways leave to the slow one.
        let long = Payload { sender: 1, seq: 2, sent_us: 123456789 };
        assert_eq!(payload_fast(format!("1 2 123456789 {pad}").as_bytes()), None);
        assert_eq!(payload(format!("1 2 123456789 {pad}").as_bytes()), Some(long));
        assert_eq!(all_payload_fast(format!("2026-11-21T12:01:02Z b1 1 2 123456789 {pad}").as_bytes()), None);
        assert_eq!(all_payload(format!("2026-11-21T12:01:02Z b1 1 2 123456789 {pad}").as_bytes()), Some(long));
        assert_eq!(payload_fast(b"1 2 3 xxxxxxxxxxxxxx"), None);
        assert_eq!(payload(b"1 2 3 xxxxxxxxxxxxxx"), Some(Payload { sender: 1, seq: 2, sent_us: 3 }));
    }

    #[test]
    fn numbers_of_any_length() {
        let mut n: u64 = 0;
        for digits in 1..=19 {
            n = n * 10 + digits % 10;
            for after in [" xxxxxxxxxxxxxxxx", " 1", " ", ""] {
                let text = format!("{n}{after}");
                let rest = after.strip_prefix(' ').unwrap_or(after);
                assert_eq!(number(text.as_bytes()), Some((n, rest.as_bytes())), "{text}");
                for bad in ["x", ":", "/", "\u{e9}", "\r", "-"] {
                    let text = format!("{n}{bad}{after}");
                    assert_eq!(number(text.as_bytes()), None, "{text}");
                }
            }
        }
        assert_eq!(number(b"10000000000000000000 xxxx"), None); // 20 digits
        assert_eq!(number(b"00000007 xxxx"), Some((7, &b"xxxx"[..])));
        assert_eq!(number(b" 7 xxxxxxxxx"), None);
        assert_eq!(number(b""), None);
    }

    #[test]
    fn find_byte_finds_the_first_one_anywhere() {
        for len in 0..70 {
            for at in 0..len {
                let mut hay = vec![b'x'; len];
                hay[at] = b'\n';
                if at + 3 < len {
                    hay[at + 3] = b'\n';
                }
                assert_eq!(find_byte(b'\n', &hay), Some(at), "len {len} at {at}");
                assert_eq!(line_end(&hay), Some((at, true)), "len {len} at {at}");
                assert_eq!(line_end_swar(&hay), Some((at, true)), "len {len} at {at}");
                // A non-ASCII byte counts before the newline, not after.
                for bad in 0..len {
                    let mut hay = hay.clone();
                    hay[bad] = 0xe9;
                    if bad != at {
                        assert_eq!(line_end(&hay), Some((at, bad > at)), "len {len} at {at} bad {bad}");
                        assert_eq!(line_end_swar(&hay), Some((at, bad > at)), "len {len} at {at} bad {bad}");
                    }
                }
            }
            assert_eq!(find_byte(b'\n', &vec![b'x'; len]), None);
            assert_eq!(line_end(&vec![b'x'; len]), None);
            assert_eq!(line_end_swar(&vec![b'x'; len]), None);
        }
        // Bytes that differ from '\n' by a borrow's worth do not match.
        assert_eq!(find_byte(b'\n', b"\x0b\x09\x8a\x0a"), Some(3));
        assert_eq!(find_byte(b'\n', b"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0a"), Some(9));
    }
}
