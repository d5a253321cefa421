//! An IRC user (`IrcClient`): a `Client` on the server's IRC listener
//! that registers with NICK/USER and reads IRC lines.

use super::{Client, Server};

/// A TCP client that speaks IRC.
pub struct IrcClient {
    pub c: Client,
}

impl IrcClient {
    /// Connects to the server's IRC listener without sending anything.
    pub fn connect(s: &Server) -> IrcClient {
        IrcClient { c: Client::connect_raw(s.irc_addr()) }
    }

    /// Connects and registers as `nick`, reading the welcome up to the
    /// channel's end of names (366); returns those lines.
    pub fn register(s: &Server, nick: &str) -> (IrcClient, Vec<String>) {
        let mut c = IrcClient::connect(s);
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :Real {nick}"));
        let lines = c.until_numeric("366");
        (c, lines)
    }

    /// `register`, with the welcome lines dropped.
    pub fn join(s: &Server, nick: &str) -> IrcClient {
        IrcClient::register(s, nick).0
    }

    /// Sends one line with CRLF.
    pub fn send(&mut self, line: &str) {
        self.c.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// The next line.
    pub fn line(&mut self) -> String {
        self.c.line()
    }

    /// Lines up to and including the first whose command (or numeric) is
    /// `code`, skipping tags and source.
    pub fn until_numeric(&mut self, code: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self.c.line();
            let is = command_of(&line) == code;
            seen.push(line);
            if is {
                return seen;
            }
        }
    }

    /// The next line whose command is `code` (lines before it dropped).
    pub fn next(&mut self, code: &str) -> String {
        self.until_numeric(code).pop().expect("a line")
    }

    /// A barrier: PING with a token, and every line before its PONG.
    pub fn sync(&mut self, token: &str) -> Vec<String> {
        self.send(&format!("PING {token}"));
        let mut lines = self.until_numeric("PONG");
        let pong = lines.pop().expect("pong");
        assert!(pong.ends_with(&format!(" :{token}")), "{pong}");
        lines
    }
}

/// The command or numeric of an IRC line (after its tags and source).
pub fn command_of(line: &str) -> &str {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let mut w = words.next().unwrap_or("");
    if w.starts_with('@') {
        w = words.next().unwrap_or("");
    }
    if w.starts_with(':') {
        w = words.next().unwrap_or("");
    }
    w
}
