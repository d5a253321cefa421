//! Framing: client bytes -> lines. Pure, no I/O.
//!
//! Sits between the connection's socket reads (`conn.rs`) and the command
//! parser (`command.rs`). It implements section 1 of the protocol:
//!
//! - lines end with LF, CRLF, CR NUL (telnet's Enter) or a lone CR;
//! - telnet IAC sequences are removed *before* lines are split, so an LF inside
//!   a subnegotiation never ends a line; a DO is answered with WONT and a WILL
//!   with DONT, once per option;
//! - terminal escape sequences (arrow keys, colours pasted with text, window
//!   titles: CSI, SS3, OSC and their kin) are removed whole, not just their
//!   ESC byte, even when split across reads; they are bounded in length and
//!   never run past the end of a line;
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
const BEL: u8 = 0x07;
const ESC: u8 = 0x1b;

/// Longest control sequence (CSI, SS3, `ESC ( B`) in bytes after its
/// introducer. The longest real one, a colour given as two RGB triples
/// (`ESC [38;2;255;255;255;48;2;255;255;255m`), has 35; past this the
/// sequence is taken to be over and what follows is text again, so a stray
/// `ESC [` cannot hide the rest of a line.
const MAX_CONTROL_SEQUENCE: u16 = 64;

/// Longest string sequence (OSC, DCS, ...) in bytes: room for a window
/// title or a hyperlink's address (`ESC ]8;;<url> ESC \`), and the same
/// bound as the default line.
const MAX_STRING_SEQUENCE: u16 = 1024;

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

/// Where the decoder is inside a terminal escape sequence (ECMA-48). What
/// a person's terminal sends for a key (`ESC [ A` for the up arrow) or
/// pastes with coloured text (`ESC [31m`) means nothing in a chat line, and
/// removing only the ESC left `[A` behind; so the whole sequence goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Ordinary data.
    None,
    /// Just saw ESC; it is not in the line (yet): the next byte decides.
    Esc,
    /// `ESC [` (CSI) or `ESC O` (SS3): parameter and intermediate bytes
    /// (0x20-0x3F) up to a final byte (0x40-0x7E); the count so far.
    Control(u16),
    /// `ESC` and intermediate bytes (0x20-0x2F) up to a final byte
    /// (0x30-0x7E), as in `ESC ( B` (which `tput sgr0` prints).
    Designate(u16),
    /// `ESC ]` (OSC), `ESC P` (DCS), `ESC X`, `ESC ^`, `ESC _`: text up to
    /// BEL or ST (`ESC \`); the count so far.
    Text(u16),
    /// ESC inside such a text: `\` ends it, anything else starts anew.
    TextEsc,
}

/// What a byte was to the escape-sequence reader.
enum Seq {
    /// Part of a sequence: dropped.
    Taken,
    /// Not part of one: the byte is ordinary data.
    Data,
    /// Follows an ESC that starts no sequence: that ESC is ordinary data
    /// (a control character, removed from text later; it makes a name
    /// invalid), and so is this byte.
    DataAfterEsc,
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
    /// Inside a terminal escape sequence (kept across reads).
    escape: Escape,
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
            escape: Escape::None,
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
        self.escape = Escape::None; // an unfinished sequence is dropped
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
            b'\r' | b'\n' => {
                // A sequence never eats a line end: an unfinished one (or a
                // lone ESC) ends with its line and is dropped.
                self.escape = Escape::None;
                self.after_cr = b == b'\r';
                self.terminate()
            }
            _ => match self.escape_byte(b) {
                Seq::Taken => None,
                Seq::Data => self.plain(b),
                Seq::DataAfterEsc => {
                    // At most one of the two makes a frame: if the ESC fills
                    // the line (TooLong), `b` (no line end) is discarded.
                    let esc = self.push(ESC);
                    let this = self.plain(b);
                    esc.or(this)
                }
            },
        }
    }

    /// Feeds a byte (not a line end) to the escape-sequence reader.
    fn escape_byte(&mut self, b: u8) -> Seq {
        let (next, seq) = match self.escape {
            Escape::None => (Escape::None, Seq::Data),
            Escape::Esc => match b {
                b'[' | b'O' => (Escape::Control(0), Seq::Taken),
                b']' | b'P' | b'X' | b'^' | b'_' => (Escape::Text(0), Seq::Taken),
                // Not 0x20: Esc then a space is more likely a person's typo.
                0x21..=0x2f => (Escape::Designate(0), Seq::Taken),
                _ => (Escape::None, Seq::DataAfterEsc),
            },
            Escape::Control(n) => match b {
                0x40..=0x7e => (Escape::None, Seq::Taken),
                0x20..=0x3f if n < MAX_CONTROL_SEQUENCE => (Escape::Control(n + 1), Seq::Taken),
                // Not part of a control sequence, or too long for one: the
                // sequence is over and this byte is data again.
                _ => (Escape::None, Seq::Data),
            },
            Escape::Designate(n) => match b {
                0x30..=0x7e => (Escape::None, Seq::Taken),
                0x20..=0x2f if n < MAX_CONTROL_SEQUENCE => (Escape::Designate(n + 1), Seq::Taken),
                _ => (Escape::None, Seq::Data),
            },
            Escape::Text(n) => match b {
                BEL => (Escape::None, Seq::Taken),
                ESC => (Escape::TextEsc, Seq::Taken),
                // Printable ASCII and UTF-8 (a title may have any letter).
                0x20..=0x7e | 0x80..=0xff if n < MAX_STRING_SEQUENCE => (Escape::Text(n + 1), Seq::Taken),
                _ => (Escape::None, Seq::Data),
            },
            Escape::TextEsc if b == b'\\' => (Escape::None, Seq::Taken),
            Escape::TextEsc => {
                // The text ended without ST; this ESC may start a sequence.
                self.escape = Escape::Esc;
                return self.escape_byte(b);
            }
        };
        self.escape = next;
        seq
    }

    /// An ordinary data byte (no line end, no part of a sequence).
    fn plain(&mut self, b: u8) -> Option<Frame> {
        match b {
            // Held back until the next byte says whether a sequence starts.
            ESC => {
                self.escape = Escape::Esc;
                None
            }
            _ if self.discarding => None,
            BACKSPACE | DEL => {
                self.erase_char();
                None
            }
            _ => self.push(b),
        }
    }

    /// Adds a byte to the line, or starts discarding it at `max_line`.
    fn push(&mut self, b: u8) -> Option<Frame> {
        if self.discarding {
            return None;
        }
        if self.line.len() >= self.max_line {
            self.discarding = true;
            self.line = Vec::new(); // give the memory back now
            return Some(Frame::TooLong);
        }
        self.line.push(b);
        None
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
    fn arrow_keys_and_colours_are_removed_whole() {
        assert_eq!(lines(b"\x1b[A\n"), vec![], "a line of only an arrow key is blank");
        assert_eq!(lines(b"WHO\x1b[D\x1b[C\x1bOA\n"), vec![line("WHO")]);
        assert_eq!(
            lines(b"ALL \x1b[31mred\x1b[0m and \x1b[38;2;255;0;0;48;2;0;0;255mrgb\n"),
            vec![line("ALL red and rgb")]
        );
        // tput sgr0 prints ESC ( B ESC [ m; bracketed paste wraps a paste.
        assert_eq!(lines(b"ALL \x1b(B\x1b[mplain \x1b[200~pasted\x1b[201~\n"), vec![line("ALL plain pasted")]);
        assert_eq!(lines(b"ALL \x1b[?25l\x1b[<0;12;5Mmouse\n"), vec![line("ALL mouse")]);
    }

    #[test]
    fn titles_and_links_end_at_bel_or_st() {
        let input = b"ALL \x1b]0;title\x07a \x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\ \x1bPq#0\x1b\\b\n";
        assert_eq!(lines(input), vec![line("ALL a link b")]);
        // An ESC in a title that is not ST ends the title and starts anew.
        assert_eq!(lines(b"ALL \x1b]0;t\x1b[1mbold\n"), vec![line("ALL bold")]);
    }

    #[test]
    fn a_sequence_split_across_reads_is_removed_whole() {
        let input = b"ALL \x1b[38;5;196mred\x1b]0;ti\xc3\xa9tle\x1b\\!\n";
        for cut in 1..input.len() {
            let mut d = Decoder::new(1024);
            let (used, frame) = d.decode(&input[..cut]);
            assert_eq!((used, frame), (cut, None), "cut at {cut}");
            assert_eq!(d.decode(&input[cut..]), (input.len() - cut, Some(line("ALL red!"))), "cut at {cut}");
        }
    }

    #[test]
    fn a_sequence_never_eats_a_line_end() {
        assert_eq!(lines(b"ALL a\x1b[12\nWHO\n"), vec![line("ALL a"), line("WHO")]);
        assert_eq!(lines(b"ALL a\x1b]0;no end\r\0WHO\r\n"), vec![line("ALL a"), line("WHO")]);
        assert_eq!(lines(b"ALL a\x1b\rWHO\x1b"), vec![line("ALL a")]);
        let mut d = Decoder::new(1024);
        assert_eq!(d.decode(b"WHO\x1b["), (5, None));
        assert_eq!(d.finish(), Some(line("WHO")), "the end of the stream drops it too");
    }

    #[test]
    fn an_unterminated_sequence_is_bounded() {
        // A control sequence that never ends is over after 64 bytes.
        let mut input = b"ALL \x1b[".to_vec();
        input.extend_from_slice(&[b'1'; 70]);
        input.extend_from_slice(b"x\n");
        assert_eq!(lines(&input), vec![line("ALL 111111x")]);
        // A title that never ends: the rest is data again, and too long.
        let mut input = b"ALL \x1b]0;".to_vec();
        input.extend_from_slice(&[b't'; 3000]);
        input.extend_from_slice(b"\nWHO\n");
        assert_eq!(lines(&input), vec![Frame::TooLong, line("WHO")]);
    }

    #[test]
    fn an_esc_that_starts_no_sequence_stays_a_control_character() {
        // The text filter removes it later; in a name it makes the name invalid.
        assert_eq!(lines(b"JOIN a\x1bb\n"), vec![line("JOIN a\x1bb")]);
        assert_eq!(lines(b"ALL x\x1b\x1b[Ay\n"), vec![line("ALL x\x1by")]);
        assert_eq!(lines(b"ALL x\x1b y\n"), vec![line("ALL x\x1b y")]);
        // Backspace after it erases it, as it would any character.
        assert_eq!(lines(b"WHO\x1b\x7f\n"), vec![line("WHO")]);
    }

    #[test]
    fn telnet_commands_inside_a_sequence_do_not_break_it() {
        assert_eq!(lines(&[b'W', b'H', b'O', ESC, IAC, 241, b'[', IAC, DO, 1, b'A', b'\n']), vec![line("WHO")]);
    }

    #[test]
    fn sequences_do_not_count_against_max_line() {
        let mut input = vec![b'y'; 10];
        input.extend_from_slice(b"\x1b[31m\x1b[A\x1b]0;t\x07\n");
        assert_eq!(decode_all(10, &input).0, vec![line("yyyyyyyyyy")]);
        // A lone ESC is a character: the 11th byte.
        input.truncate(10);
        input.extend_from_slice(b"\x1bz\n");
        assert_eq!(decode_all(10, &input).0, vec![Frame::TooLong]);
    }

    #[test]
    fn finish_returns_an_unterminated_last_line() {
        let mut d = Decoder::new(1024);
        assert_eq!(d.decode(b"WHO"), (3, None));
        assert_eq!(d.finish(), Some(line("WHO")));
        assert_eq!(d.finish(), None);
    }
}
