//! Framing: client bytes -> lines. Pure, no I/O.
//!
//! Sits between the connection's socket reads (`conn.rs`) and the command
//! parser (`command.rs`). It implements section 1 of the protocol:
//!
//! - lines end with LF, CRLF, CR NUL (telnet's Enter) or a lone CR;
//! - telnet IAC sequences are removed *before* lines are split, so an LF inside
//!   a subnegotiation never ends a line; a DO is answered with WONT and a WILL
//!   with DONT, once per option;
//! - backspace (0x08) and DEL (0x7F) erase the character before them;
//! - a line longer than `max_line` bytes is discarded up to its terminator
//!   without being buffered, and reported once as [`Frame::TooLong`];
//! - invalid UTF-8 becomes U+FFFD; empty and all-blank lines are dropped.
//!
//! The decoder is pull-based: [`Decoder::decode`] consumes bytes until it has
//! one complete frame and says how many bytes it used. The caller can stop
//! between frames (a connection waiting for a commit or its flood budget) and
//! keep the unused bytes for later, so nothing is ever decoded ahead.

/// Telnet bytes (RFC 854).
const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

const BACKSPACE: u8 = 0x08;
const DEL: u8 = 0x7f;

/// One unit of client input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete, non-blank line, terminator removed, as valid UTF-8.
    Line(String),
    /// A line went past `max_line`; the rest of it up to its terminator is
    /// being thrown away. Reported once per such line, as soon as it is known.
    TooLong,
}

/// Where the decoder is inside the telnet byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    /// Ordinary data.
    Data,
    /// Just saw IAC.
    Iac,
    /// Saw IAC WILL/WONT/DO/DONT; the option byte comes next.
    Option(u8),
    /// Inside IAC SB ... ; its bytes are dropped.
    Sub,
    /// Saw IAC inside a subnegotiation (IAC SE ends it, IAC IAC is data).
    SubIac,
}

/// Turns a client's byte stream into [`Frame`]s.
#[derive(Debug)]
pub struct Decoder {
    max_line: usize,
    /// The line being assembled; allocated only while a line is partial.
    line: Vec<u8>,
    /// Discarding an over-long line until its terminator.
    discarding: bool,
    /// The previous byte was CR: a following LF or NUL belongs to it.
    after_cr: bool,
    telnet: Telnet,
    /// Options already answered (DO -> WONT in `refused_do`, WILL -> DONT in
    /// `refused_will`), one bit per option, so each is answered only once.
    refused_do: [u64; 4],
    refused_will: [u64; 4],
    /// Telnet answers waiting to be sent back to the client.
    replies: Vec<u8>,
}

impl Decoder {
    /// A decoder that accepts lines of at most `max_line` bytes.
    pub fn new(max_line: usize) -> Decoder {
        Decoder {
            max_line,
            line: Vec::new(),
            discarding: false,
            after_cr: false,
            telnet: Telnet::Data,
            refused_do: [0; 4],
            refused_will: [0; 4],
            replies: Vec::new(),
        }
    }

    /// Consumes bytes from `input` until one frame is complete.
    ///
    /// Returns the number of bytes used and the frame, if one was completed.
    /// When it returns `None`, all of `input` was used and more bytes are
    /// needed.
    pub fn decode(&mut self, input: &[u8]) -> (usize, Option<Frame>) {
        for (i, &b) in input.iter().enumerate() {
            if let Some(frame) = self.byte(b) {
                return (i + 1, Some(frame));
            }
        }
        (input.len(), None)
    }

    /// Ends the stream: a last line without terminator still counts (a
    /// person's `printf 'WHO' | nc` expects an answer).
    pub fn finish(&mut self) -> Option<Frame> {
        self.after_cr = false;
        self.telnet = Telnet::Data;
        if self.discarding {
            self.discarding = false;
            return None;
        }
        self.end_line()
    }

    /// Telnet answers produced so far; the caller sends them to the client.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.replies)
    }

    /// True when telnet answers are waiting.
    pub fn has_replies(&self) -> bool {
        !self.replies.is_empty()
    }

    /// True while part of a line is buffered (used to free idle memory).
    pub fn is_idle(&self) -> bool {
        self.line.is_empty() && !self.discarding
    }

    fn byte(&mut self, b: u8) -> Option<Frame> {
        match self.telnet {
            Telnet::Data => {
                if b == IAC {
                    self.telnet = Telnet::Iac;
                    None
                } else {
                    self.data(b)
                }
            }
            Telnet::Iac => match b {
                IAC => {
                    // IAC IAC is a literal 0xFF data byte.
                    self.telnet = Telnet::Data;
                    self.data(b)
                }
                WILL | WONT | DO | DONT => {
                    self.telnet = Telnet::Option(b);
                    None
                }
                SB => {
                    self.telnet = Telnet::Sub;
                    None
                }
                _ => {
                    // A two-byte command (NOP, AYT, GA, ...): nothing to do.
                    self.telnet = Telnet::Data;
                    None
                }
            },
            Telnet::Option(verb) => {
                self.telnet = Telnet::Data;
                self.negotiate(verb, b);
                None
            }
            Telnet::Sub => {
                if b == IAC {
                    self.telnet = Telnet::SubIac;
                }
                None
            }
            Telnet::SubIac => {
                self.telnet = if b == SE { Telnet::Data } else { Telnet::Sub };
                None
            }
        }
    }

    /// We offer no telnet options and accept none: refuse each once.
    fn negotiate(&mut self, verb: u8, option: u8) {
        let (set, answer) = match verb {
            DO => (&mut self.refused_do, WONT),
            WILL => (&mut self.refused_will, DONT),
            _ => return, // WONT/DONT need no answer
        };
        let (word, bit) = (usize::from(option / 64), 1u64 << (option % 64));
        if set[word] & bit == 0 {
            set[word] |= bit;
            self.replies.extend_from_slice(&[IAC, answer, option]);
        }
    }

    fn data(&mut self, b: u8) -> Option<Frame> {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        match b {
            b'\n' | 0 if after_cr => None, // second half of CRLF / CR NUL
            b'\r' => {
                self.after_cr = true;
                self.terminate()
            }
            b'\n' => self.terminate(),
            _ if self.discarding => None,
            BACKSPACE | DEL => {
                self.erase_char();
                None
            }
            _ => {
                if self.line.len() >= self.max_line {
                    self.discarding = true;
                    self.line = Vec::new(); // give the memory back now
                    return Some(Frame::TooLong);
                }
                self.line.push(b);
                None
            }
        }
    }

    fn terminate(&mut self) -> Option<Frame> {
        if self.discarding {
            self.discarding = false;
            return None;
        }
        self.end_line()
    }

    fn end_line(&mut self) -> Option<Frame> {
        if self.line.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.line);
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if text.trim().is_empty() {
            return None;
        }
        Some(Frame::Line(text))
    }

    /// Removes the last character (not just the last byte) of the line.
    fn erase_char(&mut self) {
        while let Some(b) = self.line.pop() {
            // Stop after removing a byte that starts a character.
            if b & 0xC0 != 0x80 {
                break;
            }
        }
    }
}

/// Decodes a whole byte string at once; for tests and fuzzing.
pub fn decode_all(max_line: usize, mut input: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    let mut d = Decoder::new(max_line);
    let mut frames = Vec::new();
    while !input.is_empty() {
        let (used, frame) = d.decode(input);
        input = &input[used..];
        frames.extend(frame);
    }
    (frames, d.take_replies())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Frame> {
        decode_all(1024, input).0
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_string())
    }

    #[test]
    fn all_terminators_end_a_line() {
        assert_eq!(lines(b"A\nB\r\nC\r\0D\rE\n"), vec![line("A"), line("B"), line("C"), line("D"), line("E")]);
    }

    #[test]
    fn cr_nul_pairs_are_two_lines() {
        assert_eq!(lines(b"PING a\r\0PING b\r\0"), vec![line("PING a"), line("PING b")]);
    }

    #[test]
    fn crlf_split_across_reads_is_one_terminator() {
        let mut d = Decoder::new(1024);
        assert_eq!(d.decode(b"WHO\r"), (4, Some(line("WHO"))));
        assert_eq!(d.decode(b"\nPING\n"), (6, Some(line("PING"))));
    }

    #[test]
    fn partial_line_waits_for_more_bytes() {
        let mut d = Decoder::new(1024);
        assert_eq!(d.decode(b"PI"), (2, None));
        assert_eq!(d.decode(b"NG\nWHO\n"), (3, Some(line("PING"))));
    }

    #[test]
    fn blank_lines_are_ignored() {
        assert_eq!(lines(b"\n\r\n  \n\t \r\0WHO\n"), vec![line("WHO")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(lines(b"ALL a\xfeb\xc3\n"), vec![line("ALL a\u{fffd}b\u{fffd}")]);
        // 0xFF would be telnet IAC
    }

    #[test]
    fn backspace_and_del_erase_one_character() {
        assert_eq!(lines(b"WHX\x08O\n"), vec![line("WHO")]);
        assert_eq!(lines(b"ALL \xc3\xa9\x7fe\n"), vec![line("ALL e")]);
        assert_eq!(lines(b"\x08\x08WHO\n"), vec![line("WHO")]);
    }

    #[test]
    fn long_line_is_reported_once_and_discarded() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\nWHO\n");
        assert_eq!(decode_all(1024, &input).0, vec![Frame::TooLong, line("WHO")]);
    }

    #[test]
    fn line_of_exactly_max_bytes_is_accepted() {
        let mut input = vec![b'y'; 10];
        input.push(b'\n');
        assert_eq!(decode_all(10, &input).0, vec![line("yyyyyyyyyy")]);
        input.insert(0, b'y');
        assert_eq!(decode_all(10, &input).0, vec![Frame::TooLong]);
    }

    #[test]
    fn long_line_is_not_buffered() {
        let mut d = Decoder::new(16);
        let (_, f) = d.decode(&[b'z'; 100]);
        assert_eq!(f, Some(Frame::TooLong));
        let (used, f) = d.decode(&[b'z'; 100_000]);
        assert_eq!((used, f), (100_000, None));
        assert_eq!(d.line.capacity(), 0);
        assert_eq!(d.decode(b"\nWHO\n"), (5, Some(line("WHO"))));
    }

    #[test]
    fn telnet_do_and_will_are_refused_once_per_option() {
        let input = [IAC, DO, 1, IAC, WILL, 31, IAC, DO, 1, IAC, DONT, 3, b'W', b'H', b'O', b'\n'];
        let (frames, replies) = decode_all(1024, &input);
        assert_eq!(frames, vec![line("WHO")]);
        assert_eq!(replies, vec![IAC, WONT, 1, IAC, DONT, 31]);
    }

    #[test]
    fn subnegotiation_is_removed_even_with_newlines_inside() {
        let mut input = vec![b'W', IAC, SB, 24, b'\n', b'x', IAC, IAC, b'\r', IAC, SE, b'H', b'O', b'\n'];
        input.extend_from_slice(&[IAC, 241, b'P', b'I', b'N', b'G', b'\n']); // IAC NOP
        assert_eq!(lines(&input), vec![line("WHO"), line("PING")]);
    }

    #[test]
    fn iac_iac_is_a_data_byte() {
        assert_eq!(lines(&[b'A', b'L', b'L', b' ', b'x', IAC, IAC, b'\n']), vec![line("ALL x\u{fffd}")]);
    }

    #[test]
    fn finish_returns_an_unterminated_last_line() {
        let mut d = Decoder::new(1024);
        assert_eq!(d.decode(b"WHO"), (3, None));
        assert_eq!(d.finish(), Some(line("WHO")));
        assert_eq!(d.finish(), None);
    }
}
