//! What the server answers ([`Reply`], [`Error`] and its [`Code`]), and
//! chatd's protocol for every line the server sends (protocol section 2):
//! the only place a line is laid out.
//!
//! Handlers and the loop write no wire text. A handler answers with a
//! `Reply` (`ctx.reply`; a failure is an `Error`, sent as [`Reply::Err`]),
//! what happens to others is an `Event` (`message.rs`), and `state.rs`
//! renders either in each connection's dialect (`dialect.rs`) before
//! appending it to outbound buffers. This file is the chatd dialect's
//! renderer: [`render`] for replies, and the greeting, event and message
//! lines `dialect.rs` calls for; another dialect (IRC) renders the same
//! values in a file of its own. Every client line ends with CRLF so telnet
//! shows it properly; console lines ([`console`]) have none, as each
//! console source adds its own.

use crate::message::{Message, MessageKind as Kind};
use std::fmt;

/// Name and version in the HELLO line.
pub const SERVER_NAME: &str = "chatd";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The error codes of `ERR <CODE> <free text>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    LineTooLong,
    UnknownCommand,
    NotJoined,
    Syntax,
    AlreadyJoined,
    NameTaken,
    NameTooLong,
    NameInvalid,
    NoSuchUser,
    Timeout,
    ServerFull,
    AuthRequired,
    AuthFailed,
    Storage,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::LineTooLong => "LINE_TOO_LONG",
            Code::UnknownCommand => "UNKNOWN_COMMAND",
            Code::NotJoined => "NOT_JOINED",
            Code::Syntax => "SYNTAX",
            Code::AlreadyJoined => "ALREADY_JOINED",
            Code::NameTaken => "NAME_TAKEN",
            Code::NameTooLong => "NAME_TOO_LONG",
            Code::NameInvalid => "NAME_INVALID",
            Code::NoSuchUser => "NO_SUCH_USER",
            Code::Timeout => "TIMEOUT",
            Code::ServerFull => "SERVER_FULL",
            Code::AuthRequired => "AUTH_REQUIRED",
            Code::AuthFailed => "AUTH_FAILED",
            Code::Storage => "STORAGE",
        }
    }
}

/// A failed command: becomes `ERR <CODE> <text>`. The command changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub text: String,
}

impl Error {
    pub fn new(code: Code, text: impl Into<String>) -> Error {
        Error { code, text: text.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.as_str(), self.text)
    }
}

/// What the server answers one client: the reply to a command it sent, or
/// to what its connection did (`Err`: a line too long, no JOIN in time).
/// Handlers build these; [`Dialect::reply`](crate::dialect::Dialect::reply)
/// writes one out in the connection's dialect ([`render`] for chatd's).
/// Most answer a command with a final `OK`/`ERR`; the `..Line`/`Help..`
/// variants are the lines before it.
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    /// `OK JOIN <name> pending=<n>`: joined; `pending` stored messages follow.
    Join { name: &'a str, pending: usize },
    /// `OK MSG <name> delivered`: the recipient is online and has it.
    MsgDelivered { to: &'a str },
    /// `OK MSG <name> stored`: saved for an offline recipient (sent only
    /// once committed).
    MsgStored { to: &'a str },
    /// `OK MCAST delivered=<names> stored=<names>`: who got it now, who
    /// will at their next JOIN (each list `-` when empty).
    Mcast { delivered: &'a [String], stored: &'a [String] },
    /// `OK ALL delivered=<count>`: how many joined users got it.
    All { delivered: usize },
    /// `OK WHO <count> <name> ...`: who is online, in the order given.
    Who { names: &'a [String] },
    /// `HISTORY <ts> [clock] <from> <to> <text>`: one message read back,
    /// with its vector clock when the connection has CLOCK ON.
    HistoryLine { message: &'a Message, clock: bool },
    /// `OK HISTORY <count>`: after the HISTORY lines.
    History { count: usize },
    /// `OK CLOCK <name=counter,...>`: the caller's vector clock, written out.
    Clock { clock: &'a str },
    /// `OK CLOCK ON|OFF`: the clock field of events switched.
    ClockSwitched { on: bool },
    /// `HELP <usage> <what>`: a command's row, usages padded so the texts
    /// line up.
    HelpCommand { usage: &'a str, help: &'a str },
    /// `HELP <text>`: a note after the rows.
    HelpNote { text: &'a str },
    /// `OK HELP`: after the HELP lines.
    Help,
    /// `PONG [token]`.
    Pong { token: Option<&'a str> },
    /// `OK LEAVE`: the connection closes next.
    Leave,
    /// `OK REGISTER`: the password is saved (sent only once committed).
    Register,
    /// `ERR <CODE> <text>`: the command failed and changed nothing.
    Err(&'a Error),
}

/// A reply as chatd's protocol writes it. Reached through
/// [`Dialect::reply`](crate::dialect::Dialect::reply), which picks the
/// connection's dialect.
pub fn render(reply: &Reply) -> String {
    match *reply {
        Reply::Join { name, pending } => ok("JOIN", &format!("{name} pending={pending}")),
        Reply::MsgDelivered { to } => ok("MSG", &format!("{to} delivered")),
        Reply::MsgStored { to } => ok("MSG", &format!("{to} stored")),
        Reply::Mcast { delivered, stored } => {
            ok("MCAST", &format!("delivered={} stored={}", list_field(delivered), list_field(stored)))
        }
        Reply::All { delivered } => ok("ALL", &format!("delivered={delivered}")),
        Reply::Who { names } => {
            let mut fields = names.len().to_string();
            for n in names {
                fields.push(' ');
                fields.push_str(n);
            }
            ok("WHO", &fields)
        }
        Reply::HistoryLine { message, clock } => history(message, clock),
        Reply::History { count } => ok("HISTORY", &count.to_string()),
        Reply::Clock { clock } => ok("CLOCK", clock),
        Reply::ClockSwitched { on } => ok("CLOCK", if on { "ON" } else { "OFF" }),
        Reply::HelpCommand { usage, help } => help_line(&format!("{usage:<30} {help}")),
        Reply::HelpNote { text } => help_line(text),
        Reply::Help => ok("HELP", ""),
        Reply::Pong { token } => pong(token),
        Reply::Leave => ok("LEAVE", ""),
        Reply::Register => ok("REGISTER", ""),
        Reply::Err(e) => {
            let mut line = err_text(e);
            line.push_str("\r\n");
            line
        }
    }
}

/// `HELLO chatd <version> <how to start>`: the first line on every connection.
pub fn hello() -> String {
    format!(
        "HELLO {SERVER_NAME} {VERSION} welcome! Type JOIN <name> to start (1-8 letters, digits, _ or -); HELP lists all commands\r\n"
    )
}

/// `OK <COMMAND> [fields]`.
fn ok(command: &str, fields: &str) -> String {
    let mut line = ok_text(command, fields);
    line.push_str("\r\n");
    line
}

/// `OK <COMMAND> [fields]` without its terminator: for clients and the console.
fn ok_text(command: &str, fields: &str) -> String {
    if fields.is_empty() {
        format!("OK {command}")
    } else {
        format!("OK {command} {fields}")
    }
}

/// `ERR <CODE> <text>` without its terminator: for clients and the console.
fn err_text(e: &Error) -> String {
    format!("ERR {} {}", e.code.as_str(), e.text)
}

/// `PONG [token]`.
fn pong(token: Option<&str>) -> String {
    match token {
        Some(t) => format!("PONG {t}\r\n"),
        None => "PONG\r\n".to_string(),
    }
}

/// `HELP <text>`: one line of the HELP reply.
fn help_line(text: &str) -> String {
    format!("HELP {text}\r\n")
}

/// `JOINED <ts> <name>`.
pub fn joined(ts: &str, name: &str) -> String {
    format!("JOINED {ts} {name}\r\n")
}

/// `LEFT <ts> <name> [reason]`.
pub fn left(ts: &str, name: &str, reason: &str) -> String {
    if reason.is_empty() {
        format!("LEFT {ts} {name}\r\n")
    } else {
        format!("LEFT {ts} {name} {reason}\r\n")
    }
}

/// `NOTICE <ts> <text>`.
pub fn notice(ts: &str, text: &str) -> String {
    format!("NOTICE {ts} {text}\r\n")
}

/// A message event as a recipient sees it: `ALL <ts> <from> <text>`,
/// `MSG <ts> <from> <text>` or `MCAST <ts> <from> <recipients> <text>`;
/// with `clock`, the message's vector clock follows `<ts>` in brackets.
pub fn message(m: &Message, clock: bool) -> String {
    let mut line = format!("{} {}", m.kind.as_str(), m.ts);
    push_clock(&mut line, m, clock);
    match m.kind {
        Kind::Mcast => line.push_str(&format!(" {} {} {}\r\n", m.from, m.to, m.text)),
        Kind::All | Kind::Msg => line.push_str(&format!(" {} {}\r\n", m.from, m.text)),
    }
    line
}

/// `HISTORY <ts> [clock] <from> <to> <text>`: one line of the HISTORY reply.
fn history(m: &Message, clock: bool) -> String {
    let mut line = format!("HISTORY {}", m.ts);
    push_clock(&mut line, m, clock);
    line.push_str(&format!(" {} {} {}\r\n", m.from, m.to, m.text));
    line
}

fn push_clock(line: &mut String, m: &Message, clock: bool) {
    if clock {
        debug_assert!(!m.clock_text.is_empty(), "clock not written out");
        line.push_str(&format!(" [{}]", m.clock_text));
    }
}

/// A list field: names joined with commas, `-` when empty.
fn list_field(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(",")
    }
}

/// The console's lines (protocol section 8), without a terminator: the
/// console adds its own (a newline on stdout, CRLF on the admin socket).
pub mod console {
    use super::{Error, Message};
    use std::net::SocketAddr;

    /// `OK <COMMAND> [fields]`.
    pub fn ok(command: &str, fields: &str) -> String {
        super::ok_text(command, fields)
    }

    /// `ERR <CODE> <text>`.
    pub fn error(e: &Error) -> String {
        super::err_text(e)
    }

    /// `HELP <usage> <what>`: one line of the HELP reply, usages padded so
    /// the texts line up.
    pub fn help(usage: &str, what: &str) -> String {
        format!("HELP {usage:<22} {what}")
    }

    /// `ACTIVE <name> <address> <joined-at>`: one line of ACTIVE USERS.
    pub fn active(name: &str, address: SocketAddr, joined_at: Option<&str>) -> String {
        format!("ACTIVE {name} {address} {}", joined_at.unwrap_or("-"))
    }

    /// `USER <name> last_seen=<ts|online> password=<yes|no>`: one line of USERS.
    pub fn user(name: &str, last_seen: &str, password: bool) -> String {
        format!("USER {name} last_seen={last_seen} password={}", if password { "yes" } else { "no" })
    }

    /// `HISTORY <ts> <from> <to> <text>`: the client's line without a
    /// clock. `trim_end` drops the CRLF and, as it always has, any blanks
    /// at the end of the text.
    pub fn history(m: &Message) -> String {
        super::history(m, false).trim_end().to_string()
    }

    /// `OK DELETE BACKUP removed=<n> kept=<m>`.
    pub fn backup_deleted(removed: usize, kept: usize) -> String {
        ok("DELETE BACKUP", &format!("removed={removed} kept={kept}"))
    }

    /// The counters of `OK STATS`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Stats {
        pub uptime_secs: u64,
        pub connections: usize,
        pub joined: usize,
        pub messages_since_start: u64,
        pub commits_since_start: u64,
        pub unlogged: usize,
        pub store_bytes: u64,
        pub wal_bytes: u64,
    }

    /// `OK STATS uptime=<s>s connections=<n> joined=<n>
    /// messages_since_start=<n> commits_since_start=<n> unlogged=<n>
    /// store_bytes=<n> wal_bytes=<n>`: counters say they count since
    /// start; sizes are of the files now (the database and its log, then
    /// the log alone).
    pub fn stats(s: &Stats) -> String {
        let fields = format!(
            "uptime={}s connections={} joined={} messages_since_start={} commits_since_start={} unlogged={} \
             store_bytes={} wal_bytes={}",
            s.uptime_secs,
            s.connections,
            s.joined,
            s.messages_since_start,
            s.commits_since_start,
            s.unlogged,
            s.store_bytes,
            s.wal_bytes
        );
        ok("STATS", &fields)
    }
}

/// The current time as the protocol writes it: RFC 3339 UTC with seconds.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_is_rfc3339_utc_seconds() {
        let t = time::macros::datetime!(2026-11-21 12:01:02.789 UTC);
        assert_eq!(timestamp(t), "2026-11-21T12:01:02Z");
    }

    fn sample(kind: Kind, to: &str) -> Message {
        Message {
            id: 1,
            kind,
            ts: "2026-11-21T12:01:02Z".into(),
            from: "alice".into(),
            to: to.into(),
            clock: crate::clock::Clock::new(),
            clock_text: "alice=3,bob=1".into(),
            text: "hi  there".into(),
        }
    }

    #[test]
    fn message_events_with_and_without_clock() {
        assert_eq!(message(&sample(Kind::Msg, "bob"), false), "MSG 2026-11-21T12:01:02Z alice hi  there\r\n");
        assert_eq!(
            message(&sample(Kind::Msg, "bob"), true),
            "MSG 2026-11-21T12:01:02Z [alice=3,bob=1] alice hi  there\r\n"
        );
        assert_eq!(
            message(&sample(Kind::Mcast, "bob,carol"), false),
            "MCAST 2026-11-21T12:01:02Z alice bob,carol hi  there\r\n"
        );
        assert_eq!(message(&sample(Kind::All, "*"), false), "ALL 2026-11-21T12:01:02Z alice hi  there\r\n");
    }

    #[test]
    fn history_lines_name_sender_and_recipients() {
        assert_eq!(history(&sample(Kind::All, "*"), false), "HISTORY 2026-11-21T12:01:02Z alice * hi  there\r\n");
        assert_eq!(
            history(&sample(Kind::Msg, "bob"), true),
            "HISTORY 2026-11-21T12:01:02Z [alice=3,bob=1] alice bob hi  there\r\n"
        );
    }

    /// A reply as a chatd connection gets it: through the dialect, as
    /// handlers send it.
    fn chatd(r: Reply) -> String {
        crate::dialect::Dialect::Chatd.reply(&r)
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn reply_join_names_the_user_and_the_pending_count() {
        assert_eq!(chatd(Reply::Join { name: "Bob", pending: 0 }), "OK JOIN Bob pending=0\r\n");
        assert_eq!(chatd(Reply::Join { name: "bob", pending: 12 }), "OK JOIN bob pending=12\r\n");
    }

    #[test]
    fn reply_msg_delivered() {
        assert_eq!(chatd(Reply::MsgDelivered { to: "Bob" }), "OK MSG Bob delivered\r\n");
    }

    #[test]
    fn reply_msg_stored() {
        assert_eq!(chatd(Reply::MsgStored { to: "Bob" }), "OK MSG Bob stored\r\n");
    }

    #[test]
    fn reply_mcast_lists_delivered_and_stored_with_a_dash_for_none() {
        let (both, one) = (names(&["bob", "Carol"]), names(&["dave"]));
        assert_eq!(
            chatd(Reply::Mcast { delivered: &both, stored: &one }),
            "OK MCAST delivered=bob,Carol stored=dave\r\n"
        );
        assert_eq!(chatd(Reply::Mcast { delivered: &[], stored: &one }), "OK MCAST delivered=- stored=dave\r\n");
        assert_eq!(chatd(Reply::Mcast { delivered: &both, stored: &[] }), "OK MCAST delivered=bob,Carol stored=-\r\n");
    }

    #[test]
    fn reply_all_counts_the_receivers() {
        assert_eq!(chatd(Reply::All { delivered: 0 }), "OK ALL delivered=0\r\n");
        assert_eq!(chatd(Reply::All { delivered: 3 }), "OK ALL delivered=3\r\n");
    }

    #[test]
    fn reply_who_counts_then_names() {
        assert_eq!(chatd(Reply::Who { names: &names(&["alice", "Bob"]) }), "OK WHO 2 alice Bob\r\n");
        assert_eq!(chatd(Reply::Who { names: &[] }), "OK WHO 0\r\n");
    }

    #[test]
    fn reply_history_line_with_and_without_clock() {
        let m = sample(Kind::Msg, "bob");
        assert_eq!(
            chatd(Reply::HistoryLine { message: &m, clock: false }),
            "HISTORY 2026-11-21T12:01:02Z alice bob hi  there\r\n"
        );
        assert_eq!(
            chatd(Reply::HistoryLine { message: &m, clock: true }),
            "HISTORY 2026-11-21T12:01:02Z [alice=3,bob=1] alice bob hi  there\r\n"
        );
    }

    #[test]
    fn reply_history_counts_the_lines() {
        assert_eq!(chatd(Reply::History { count: 0 }), "OK HISTORY 0\r\n");
        assert_eq!(chatd(Reply::History { count: 20 }), "OK HISTORY 20\r\n");
    }

    #[test]
    fn reply_clock_is_written_out() {
        assert_eq!(chatd(Reply::Clock { clock: "alice=3,bob=1" }), "OK CLOCK alice=3,bob=1\r\n");
    }

    #[test]
    fn reply_clock_switched() {
        assert_eq!(chatd(Reply::ClockSwitched { on: true }), "OK CLOCK ON\r\n");
        assert_eq!(chatd(Reply::ClockSwitched { on: false }), "OK CLOCK OFF\r\n");
    }

    #[test]
    fn reply_help_command_pads_the_usage_to_30() {
        assert_eq!(
            chatd(Reply::HelpCommand { usage: "WHO", help: "list who is online" }),
            "HELP WHO                            list who is online\r\n"
        );
        // A usage longer than the column is not cut.
        let usage = "REGISTER <password> (one word, 6-64 characters)";
        assert_eq!(
            chatd(Reply::HelpCommand { usage, help: "protect your name" }),
            "HELP REGISTER <password> (one word, 6-64 characters) protect your name\r\n"
        );
    }

    #[test]
    fn reply_help_note() {
        assert_eq!(chatd(Reply::HelpNote { text: "(works after JOIN)" }), "HELP (works after JOIN)\r\n");
    }

    #[test]
    fn reply_help_ends_the_help_lines() {
        assert_eq!(chatd(Reply::Help), "OK HELP\r\n");
    }

    #[test]
    fn reply_pong_with_and_without_token() {
        assert_eq!(chatd(Reply::Pong { token: Some("abc 1") }), "PONG abc 1\r\n");
        assert_eq!(chatd(Reply::Pong { token: None }), "PONG\r\n");
    }

    #[test]
    fn reply_leave() {
        assert_eq!(chatd(Reply::Leave), "OK LEAVE\r\n");
    }

    #[test]
    fn reply_register() {
        assert_eq!(chatd(Reply::Register), "OK REGISTER\r\n");
    }

    #[test]
    fn reply_err_has_code_and_text() {
        let e = Error::new(Code::NameTooLong, "name must be at most 8 characters");
        assert_eq!(chatd(Reply::Err(&e)), "ERR NAME_TOO_LONG name must be at most 8 characters\r\n");
        let e = Error::new(Code::ServerFull, "too many connections; try again later");
        assert_eq!(chatd(Reply::Err(&e)), "ERR SERVER_FULL too many connections; try again later\r\n");
    }

    #[test]
    fn empty_list_field_is_a_dash() {
        assert_eq!(list_field(&[]), "-");
        assert_eq!(list_field(&["a".into(), "B".into()]), "a,B");
    }

    #[test]
    fn console_lines_have_no_terminator() {
        assert_eq!(console::ok("EXIT", ""), "OK EXIT");
        assert_eq!(console::ok("KICK", "bob"), "OK KICK bob");
        assert_eq!(
            console::error(&Error::new(Code::NoSuchUser, "bob is not online")),
            "ERR NO_SUCH_USER bob is not online"
        );
        assert_eq!(
            console::help("KICK <name> [reason]", "disconnect a user"),
            "HELP KICK <name> [reason]   disconnect a user"
        );
        assert_eq!(console::user("bob", "online", true), "USER bob last_seen=online password=yes");
        assert_eq!(console::backup_deleted(3, 1), "OK DELETE BACKUP removed=3 kept=1");
        assert_eq!(console::history(&sample(Kind::All, "*")), "HISTORY 2026-11-21T12:01:02Z alice * hi  there");
    }

    #[test]
    fn hello_says_how_to_start() {
        let h = hello();
        assert!(h.starts_with("HELLO chatd "));
        assert!(h.contains("JOIN <name>"));
        assert!(h.ends_with("\r\n"));
    }
}
