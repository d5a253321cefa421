//! The WebSocket transport: RFC 6455 frames in and out of a connection's
//! socket, around chatd's lines.
//!
//! tungstenite decodes what the peer sends ([`WsStream::feed`]); it never
//! touches the socket: the bytes read are handed to it through an
//! in-memory adapter, and the pongs it owes go into the connection's output
//! like any other bytes. Only complete frames are handed to it (their
//! bounds found with its own header parser), so between messages it holds
//! nothing, and its state is dropped: an idle WebSocket costs a few hundred
//! bytes more than a TCP connection, not tungstenite's buffers. Each text message becomes one line (`\n` added)
//! for the connection's ordinary decoder, so max_line, flood control and
//! text safety apply unchanged. Outgoing lines are framed by
//! [`frame_lines`], one text frame per line without its CRLF, straight
//! into the connection's output buffer: they never sit in tungstenite, so
//! the sendq bound and the acknowledgement of offline messages count every
//! byte owed to the peer.

use crate::conn::Close;
use crate::tls::Socket;
use std::io::{self, Cursor, Read, Write};
use std::time::Instant;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame, FrameHeader};
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Error, Message};

/// tungstenite's read buffer, allocated only while frames are decoded:
/// one socket read's worth (larger input is read in several steps).
pub const READ_BUFFER: usize = 4096;

/// Frames and messages larger than this many times max_line close the
/// connection (1009); those between max_line and this get
/// `ERR LINE_TOO_LONG` like any long line.
pub const FRAME_LIMIT_LINES: usize = 4;

/// A WebSocket connection's socket and protocol state.
#[derive(Debug)]
pub struct WsStream {
    /// Plain TCP (`http_listen`) or TLS (`https_listen`).
    pub sock: Socket,
    /// tungstenite's state: kept only while a fragmented message is in
    /// progress (between messages a fresh one is the same).
    ctx: Option<Box<WebSocketContext>>,
    /// A frame not yet complete (at most the frame limit and a header).
    partial: Vec<u8>,
    /// A data frame without FIN was decoded: the message goes on.
    in_message: bool,
    max_line: usize,
    /// Bytes that came after the request head, read before the socket.
    leftover: Vec<u8>,
    /// Pongs owed to the peer, for the connection's output.
    control: Vec<u8>,
    /// Why the peer's input ended (its Close, or a frame chatd refuses).
    pub ended: Option<Close>,
    /// When the peer last sent anything, and whether a ping is unanswered.
    pub last_rx: Instant,
    pub ping_sent: bool,
}

/// In-memory stream: tungstenite reads what the socket gave and writes
/// into a buffer; it never blocks and never sees the socket.
struct Mem<'a> {
    input: &'a [u8],
    out: &'a mut Vec<u8>,
}

impl Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite's configuration for a server side with this max_line.
pub fn config(max_line: usize) -> WebSocketConfig {
    let limit = FRAME_LIMIT_LINES * max_line.max(1);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(4096)
        .max_frame_size(Some(limit))
        .max_message_size(Some(limit))
}

impl WsStream {
    /// A socket whose upgrade was answered; `leftover` is what the peer
    /// sent after its request head.
    pub fn new(sock: Socket, leftover: Vec<u8>, max_line: usize) -> WsStream {
        WsStream {
            sock,
            ctx: None,
            partial: Vec::new(),
            in_message: false,
            max_line,
            leftover,
            control: Vec::new(),
            ended: None,
            last_rx: Instant::now(),
            ping_sent: false,
        }
    }

    /// Reads raw bytes: what followed the request head first, then the socket.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.leftover.is_empty() {
            let n = buf.len().min(self.leftover.len());
            buf[..n].copy_from_slice(&self.leftover[..n]);
            self.leftover.drain(..n);
            if self.leftover.is_empty() {
                self.leftover = Vec::new();
            }
            return Ok(n);
        }
        self.sock.read(buf)
    }

    /// Decodes bytes read from the socket: each text message is appended
    /// to `lines` as a line (`\n`-terminated). After the peer's Close, or a
    /// frame chatd refuses, nothing more is decoded and [`WsStream::ended`]
    /// says why.
    pub fn feed(&mut self, bytes: &[u8], lines: &mut Vec<u8>) {
        if self.ended.is_some() || bytes.is_empty() {
            return;
        }
        self.last_rx = Instant::now();
        self.ping_sent = false;
        let joined;
        let input = if self.partial.is_empty() {
            bytes
        } else {
            self.partial.extend_from_slice(bytes);
            joined = std::mem::take(&mut self.partial);
            &joined[..]
        };
        let (end, in_message) = complete_frames(input, FRAME_LIMIT_LINES * self.max_line.max(1), self.in_message);
        if end < input.len() {
            self.partial = input[end..].to_vec();
        }
        if end > 0 {
            let max_line = self.max_line;
            let ctx =
                self.ctx.get_or_insert_with(|| Box::new(WebSocketContext::new(Role::Server, Some(config(max_line)))));
            decode(ctx, &input[..end], lines, &mut self.control, &mut self.ended);
            self.in_message = in_message;
        }
        if !self.in_message || self.ended.is_some() {
            // Nothing is left inside it: a fresh one next time is the same.
            self.ctx = None;
        }
    }

    /// Pongs owed to the peer since the last call, as raw frame bytes.
    pub fn take_control(&mut self) -> Option<Vec<u8>> {
        (!self.control.is_empty()).then(|| std::mem::take(&mut self.control))
    }
}

/// How many bytes at the start of `input` are whole frames, and whether a
/// fragmented message is in progress after them (`in_message` before).
/// A frame declaring more than `limit` bytes, or a header tungstenite
/// cannot parse, counts as whole: tungstenite refuses it from its header.
fn complete_frames(input: &[u8], limit: usize, mut in_message: bool) -> (usize, bool) {
    let mut end = 0;
    loop {
        let mut cursor = Cursor::new(&input[end..]);
        match FrameHeader::parse(&mut cursor) {
            Ok(Some((header, len))) => {
                if len > limit as u64 {
                    return (input.len(), in_message);
                }
                let frame_end = end + cursor.position() as usize + len as usize;
                if frame_end > input.len() {
                    return (end, in_message);
                }
                end = frame_end;
                if let OpCode::Data(_) = header.opcode {
                    in_message = !header.is_final;
                }
            }
            Ok(None) => return (end, in_message),
            Err(_) => return (input.len(), in_message),
        }
    }
}

/// Hands whole frames to tungstenite: each text message becomes a line in
/// `lines`, pongs go to `control`, and the peer's Close or a refused frame
/// sets `ended` (nothing after it is decoded).
fn decode(
    ctx: &mut WebSocketContext,
    input: &[u8],
    lines: &mut Vec<u8>,
    control: &mut Vec<u8>,
    ended: &mut Option<Close>,
) {
    {
        let mut mem = Mem { input, out: control };
        loop {
            let before = mem.out.len();
            match ctx.read(&mut mem) {
                Ok(Message::Text(text)) => {
                    lines.extend_from_slice(text.as_bytes());
                    lines.push(b'\n');
                }
                Ok(Message::Binary(_)) => {
                    *ended = Some(Close::WsError(1003, "binary frames are not chatd lines"));
                    return;
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => {
                    // Chatd answers the Close itself once the replies to the
                    // lines before it are out (`close_frame`).
                    mem.out.truncate(before);
                    *ended = Some(Close::WsClosed);
                    return;
                }
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    *ended = Some(refusal(&e));
                    return;
                }
            }
        }
        // A pong owed for a ping in this input.
        let _ = ctx.flush(&mut mem);
    }
}

/// What a frame tungstenite refused closes the connection with.
fn refusal(e: &Error) -> Close {
    match e {
        Error::Capacity(_) => Close::WsError(1009, "websocket frame too large"),
        Error::Utf8(_) => Close::WsError(1007, "websocket text is not UTF-8"),
        _ => Close::WsError(1002, "websocket protocol error"),
    }
}

/// Server lines (each ending in CRLF or LF) as WebSocket text frames, one
/// per line, without the line end: `piece` is called with each frame's
/// header, then its payload. Returns the frames' length in bytes.
pub fn frame_lines_with(text: &[u8], mut piece: impl FnMut(&[u8])) -> usize {
    // Nearly always one line (an event, a reply): found with one memchr.
    if let Some(line) = single_line(text) {
        return frame_one(line, &mut piece);
    }
    text.split_inclusive(|&b| b == b'\n').map(|line| frame_one(strip_line_end(line), &mut piece)).sum()
}

/// `frame_lines_with` if the frames fit in `room` bytes; `None` (and
/// nothing written) if not. One scan of the text in the usual case.
pub fn frame_lines_within(text: &[u8], room: usize, mut piece: impl FnMut(&[u8])) -> Option<usize> {
    if let Some(line) = single_line(text) {
        if FrameHeader::default().len(line.len() as u64) + line.len() > room {
            return None;
        }
        return Some(frame_one(line, &mut piece));
    }
    if framed_len(text) > room {
        return None;
    }
    Some(frame_lines_with(text, piece))
}

/// The frames' length of `frame_lines_with`, without writing them.
pub fn framed_len(text: &[u8]) -> usize {
    let header = |len: usize| FrameHeader::default().len(len as u64);
    match single_line(text) {
        Some(line) => header(line.len()) + line.len(),
        None => text.split_inclusive(|&b| b == b'\n').map(|l| strip_line_end(l).len()).map(|n| header(n) + n).sum(),
    }
}

/// `text` without its line end, if it is one line.
fn single_line(text: &[u8]) -> Option<&[u8]> {
    let body = text.strip_suffix(b"\n")?;
    // `contains` on bytes is a memchr.
    (!body.contains(&b'\n')).then(|| body.strip_suffix(b"\r").unwrap_or(body))
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// One line as one text frame: its header, then the line.
fn frame_one(line: &[u8], piece: &mut impl FnMut(&[u8])) -> usize {
    let header = FrameHeader { opcode: OpCode::Data(Data::Text), ..FrameHeader::default() };
    let mut buf = [0u8; 10];
    let mut w = &mut buf[..];
    // At most 10 bytes (no mask): it fits.
    let _ = header.format(line.len() as u64, &mut w);
    let n = 10 - w.len();
    piece(&buf[..n]);
    piece(line);
    n + line.len()
}

/// `frame_lines_with` into a new buffer.
pub fn frame_lines(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    frame_lines_with(text, |p| out.extend_from_slice(p));
    out
}

/// A server ping frame.
pub fn ping_frame() -> Vec<u8> {
    let mut out = Vec::new();
    let _ = Frame::ping(Vec::new()).format(&mut out);
    out
}

/// The Close frame that ends a connection closed for `why` (`None`: the
/// server is shutting down), if one is sent at all: after a write error or
/// a dropped output, the stream may have stopped mid-frame.
pub fn close_frame(why: Option<&Close>) -> Option<Vec<u8>> {
    let (code, reason): (u16, &str) = match why {
        None => (1001, "server shutting down"),
        Some(Close::Leave(_) | Close::Closed | Close::WsClosed) => (1000, ""),
        Some(Close::Kicked(_)) => (4001, "kicked"),
        Some(Close::Timeout) => (4002, "join timeout"),
        Some(Close::AuthFailures) => (4003, "too many failed passwords"),
        Some(Close::WsError(code, reason)) => (*code, reason),
        Some(Close::Error | Close::SendqExceeded) => return None,
    };
    let mut out = Vec::new();
    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
    let _ = Frame::close(Some(frame)).format(&mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::coding::Control;

    /// A client-side frame (masked unless `unmasked`).
    fn client_frame(opcode: OpCode, fin: bool, payload: &[u8], unmasked: bool) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let header = FrameHeader { is_final: fin, opcode, mask: (!unmasked).then_some(mask), ..FrameHeader::default() };
        let mut out = Vec::new();
        header.format(payload.len() as u64, &mut out).unwrap();
        let key = if unmasked { [0; 4] } else { mask };
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    fn text(payload: &str) -> Vec<u8> {
        client_frame(OpCode::Data(Data::Text), true, payload.as_bytes(), false)
    }

    /// A stream without a socket: feed() never reads one.
    fn ws() -> WsStream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        drop(listener);
        WsStream::new(Socket::Tcp(mio::net::TcpStream::from_std(client)), Vec::new(), 1024)
    }

    #[test]
    fn a_frame_trickled_byte_by_byte_is_one_line_once_complete() {
        let mut w = ws();
        let mut lines = Vec::new();
        let frame = text("MSG bob hello there");
        for (i, b) in frame.iter().enumerate() {
            w.feed(std::slice::from_ref(b), &mut lines);
            if i + 1 < frame.len() {
                assert!(lines.is_empty(), "nothing before the last byte ({i})");
            }
        }
        assert_eq!(lines, b"MSG bob hello there\n");
        assert!(w.ended.is_none());
        assert!(w.ctx.is_none() && w.partial.capacity() == 0, "nothing is held between messages");
    }

    #[test]
    fn a_fragmented_message_spans_reads_and_keeps_its_state_only_meanwhile() {
        let mut w = ws();
        let mut lines = Vec::new();
        w.feed(&client_frame(OpCode::Data(Data::Text), false, b"ALL one ", false), &mut lines);
        assert!(lines.is_empty() && w.ctx.is_some(), "the message goes on");
        let mut rest = client_frame(OpCode::Control(Control::Ping), true, b"", false);
        rest.extend(client_frame(OpCode::Data(Data::Continue), false, b"two ", false));
        w.feed(&rest, &mut lines);
        let last = client_frame(OpCode::Data(Data::Continue), true, b"three", false);
        let (a, b) = last.split_at(3);
        w.feed(a, &mut lines);
        assert!(lines.is_empty());
        w.feed(b, &mut lines);
        assert_eq!(lines, b"ALL one two three\n");
        assert!(w.ctx.is_none() && w.ended.is_none());
        assert_eq!(w.take_control().unwrap(), [0x8a, 0]);
        // Fragments adding up past the limit: 1009, as one big frame.
        let mut w = ws();
        w.feed(&client_frame(OpCode::Data(Data::Text), false, &[b'a'; 1000], false), &mut lines);
        for _ in 0..4 {
            assert!(w.ended.is_none());
            w.feed(&client_frame(OpCode::Data(Data::Continue), false, &[b'a'; 1000], false), &mut lines);
        }
        assert!(matches!(w.ended, Some(Close::WsError(1009, _))), "{:?}", w.ended);
    }

    #[test]
    fn fragments_with_a_ping_between_make_one_line_and_a_pong() {
        let mut w = ws();
        let mut lines = Vec::new();
        let mut input = client_frame(OpCode::Data(Data::Text), false, b"ALL hel", false);
        input.extend(client_frame(OpCode::Control(Control::Ping), true, b"p1", false));
        input.extend(client_frame(OpCode::Data(Data::Continue), true, b"lo", false));
        input.extend(text("WHO"));
        w.feed(&input, &mut lines);
        assert_eq!(lines, b"ALL hello\nWHO\n");
        let pong = w.take_control().expect("a pong");
        assert_eq!(pong, [0x8a, 2, b'p', b'1']);
        assert!(w.take_control().is_none());
    }

    #[test]
    fn refused_frames_end_the_input_with_their_close_code() {
        let cases: [(Vec<u8>, u16); 4] = [
            (client_frame(OpCode::Data(Data::Text), true, b"x", true), 1002),
            (client_frame(OpCode::Data(Data::Binary), true, b"x", false), 1003),
            (client_frame(OpCode::Data(Data::Text), true, b"caf\xc3", false), 1007),
            (client_frame(OpCode::Data(Data::Text), true, &[b'a'; 4097], false), 1009),
        ];
        for (input, code) in cases {
            let mut w = ws();
            let mut lines = Vec::new();
            let mut all = text("WHO");
            all.extend(input);
            all.extend(text("after"));
            w.feed(&all, &mut lines);
            assert_eq!(lines, b"WHO\n", "the line before is kept, nothing after ({code})");
            match &w.ended {
                Some(Close::WsError(c, _)) => assert_eq!(*c, code),
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header() {
        let mut w = ws();
        let mut lines = Vec::new();
        // Only the header of a 1 MiB frame: refused before its payload.
        let mut header = Vec::new();
        FrameHeader { opcode: OpCode::Data(Data::Text), mask: Some([0; 4]), ..FrameHeader::default() }
            .format(1 << 20, &mut header)
            .unwrap();
        w.feed(&header, &mut lines);
        assert!(matches!(w.ended, Some(Close::WsError(1009, _))), "{:?}", w.ended);
    }

    #[test]
    fn the_peer_s_close_ends_input_and_chatd_answers_it_later() {
        let mut w = ws();
        let mut lines = Vec::new();
        let mut input = text("LEAVE bye");
        input.extend(client_frame(OpCode::Control(Control::Close), true, &[0x03, 0xe8], false));
        w.feed(&input, &mut lines);
        assert_eq!(lines, b"LEAVE bye\n");
        assert_eq!(w.ended, Some(Close::WsClosed));
        assert!(w.take_control().is_none(), "the close reply is not queued ahead of replies");
        assert_eq!(close_frame(w.ended.as_ref()).unwrap(), [0x88, 2, 0x03, 0xe8]);
    }

    #[test]
    fn server_lines_become_one_unmasked_text_frame_each() {
        let framed = frame_lines(b"OK WHO 2 alice bob\r\nHELP a\r\n");
        let mut expected = vec![0x81, 18];
        expected.extend_from_slice(b"OK WHO 2 alice bob");
        expected.extend_from_slice(&[0x81, 6]);
        expected.extend_from_slice(b"HELP a");
        assert_eq!(framed, expected);
        assert_eq!(framed_len(b"OK WHO 2 alice bob\r\nHELP a\r\n"), expected.len());
        assert_eq!(frame_lines(b"PONG\r\n"), [0x81, 4, b'P', b'O', b'N', b'G']);
        assert_eq!(framed_len(b"PONG\r\n"), 6);
        let long = vec![b'x'; 300];
        let framed = frame_lines(&[&long[..], b"\r\n"].concat());
        assert_eq!(&framed[..4], &[0x81, 126, 1, 44]);
        assert_eq!(framed.len(), 304);
        assert_eq!(ping_frame(), [0x89, 0]);
        assert_eq!(close_frame(Some(&Close::SendqExceeded)), None);
        assert_eq!(close_frame(None).unwrap()[2..4], [0x03, 0xe9]);
    }
}
