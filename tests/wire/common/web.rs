//! The browser client's side of the wire: raw HTTP requests (`http`) and a
//! WebSocket user (`WsClient`) speaking chatd's lines, one per text
//! message, through tungstenite's blocking client.

use super::WAIT;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// Sends raw bytes as a request and returns everything the server sent
/// until it closed the connection.
pub fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request).expect("send request");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read answer");
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET path` with a Host header naming `addr`.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    http(addr, format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
}

/// A WebSocket user.
pub struct WsClient {
    pub ws: WebSocket<TcpStream>,
}

impl WsClient {
    /// Opens `ws://addr/ws` as the page does (its Origin, its subprotocol)
    /// and reads HELLO.
    pub fn connect(addr: SocketAddr) -> WsClient {
        let origin = format!("http://{addr}");
        let mut c = WsClient::open(addr, &[("Origin", &origin), ("Sec-WebSocket-Protocol", "text.chatd")])
            .unwrap_or_else(|e| panic!("WebSocket refused: {e}"));
        let hello = c.line();
        assert!(hello.starts_with("HELLO chatd "), "{hello}");
        c
    }

    /// Connects and joins as `name`, asserting success.
    pub fn join(addr: SocketAddr, name: &str) -> WsClient {
        let mut c = WsClient::connect(addr);
        c.send(&format!("JOIN {name}"));
        let ok = c.line();
        assert!(ok.starts_with(&format!("OK JOIN {name} ")), "{ok}");
        c
    }

    /// Opens the WebSocket with these extra request headers; the error is
    /// the refusal (its status line).
    pub fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> Result<WsClient, String> {
        let mut req = format!("ws://{addr}/ws").into_client_request().expect("request");
        for (name, value) in headers {
            let name: tungstenite::http::HeaderName = name.parse().expect("header name");
            req.headers_mut().insert(name, HeaderValue::from_str(value).expect("header value"));
        }
        let sock = TcpStream::connect(addr).expect("connect");
        sock.set_read_timeout(Some(WAIT)).unwrap();
        match tungstenite::client(req, sock) {
            Ok((ws, _)) => Ok(WsClient { ws }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => Err(r.status().to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends one line as one text message.
    pub fn send(&mut self, line: &str) {
        self.ws.send(Message::text(line)).expect("send");
    }

    /// The next message that is not a ping or pong.
    pub fn next(&mut self) -> Result<Message, tungstenite::Error> {
        loop {
            match self.ws.read()? {
                Message::Ping(_) | Message::Pong(_) => {}
                m => return Ok(m),
            }
        }
    }

    /// The next line (text message); panics on anything else.
    pub fn line(&mut self) -> String {
        match self.next() {
            Ok(Message::Text(t)) => {
                let t = t.as_str().to_string();
                assert!(!t.contains('\n') && !t.contains('\r'), "a line per message, no line end: {t:?}");
                t
            }
            other => panic!("expected a line, got {other:?}"),
        }
    }

    /// Reads until the server's Close; returns its code (lines before it
    /// are returned too).
    pub fn close_code(&mut self) -> (Vec<String>, Option<CloseCode>) {
        let mut lines = Vec::new();
        loop {
            match self.next() {
                Ok(Message::Text(t)) => lines.push(t.as_str().to_string()),
                Ok(Message::Close(frame)) => return (lines, frame.map(|f| f.code)),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => panic!("no Close frame: {e} (after {lines:?})"),
            }
        }
    }
}
