//! The IRC dialect's renderer: chatd's [`Reply`]s, [`Event`]s and
//! messages as IRC lines, and the IRC-only answers ([`IrcReply`]) of
//! `handlers/irc.rs`. The one place an IRC line is laid out, as `reply.rs`
//! is for chatd's protocol. Every line ends with CRLF.
//!
//! Numerics go to the connection's nick (`*` before registration); users
//! are `nick!nick@<server name>`; the room is the one channel. Messages
//! carry `@time=` (server-time) when the connection asked for it, so
//! stored and replayed messages show the time they were sent.

use super::settings;
use crate::message::{Event, Message, MessageKind as Kind};
use crate::reply::{Code, Reply, VERSION};
use crate::session::Session;

/// One user as WHO and WHOIS show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub nick: String,
    pub user: String,
    pub realname: String,
    pub away: Option<String>,
    /// Which protocol they use (`irc` or `chatd`), for WHOIS.
    pub via: &'static str,
}

/// Answers only IRC has: registration, capabilities, the queries clients
/// send on their own (WHO, MODE, ...), and the numerics of IRC's errors.
#[derive(Debug, Clone)]
pub enum IrcReply<'a> {
    /// `CAP * LS :<caps>` (with `sasl=PLAIN` for `CAP LS 302`).
    CapLs,
    /// `CAP * ACK :<list>` / `CAP * NAK :<list>` (the list as asked).
    CapAck { list: &'a str, ack: bool },
    /// `CAP * LIST :<enabled>`.
    CapList { enabled: &'a [&'a str] },
    /// 410: unknown CAP subcommand.
    CapInvalid { sub: &'a str },
    /// 461.
    NeedMoreParams { command: &'a str },
    /// 421.
    UnknownCommand { command: &'a str },
    /// 451.
    NotRegistered,
    /// 462.
    AlreadyRegistered,
    /// 431.
    NoNickGiven,
    /// 432, and why.
    ErroneousNick { nick: &'a str, why: &'a str },
    /// 433.
    NickInUse { nick: &'a str },
    /// 447: chatd names are identities, not changed while connected.
    NickChangeRefused { nick: &'a str },
    /// 411.
    NoRecipient { command: &'a str },
    /// 412.
    NoTextToSend,
    /// 401.
    NoSuchNick { nick: &'a str },
    /// 403: any channel but the one.
    NoSuchChannel { channel: &'a str },
    /// 301: the target is away.
    Away { nick: &'a str, text: &'a str },
    /// 305 / 306.
    AwaySet { away: bool },
    /// 303.
    Ison { nicks: &'a [String] },
    /// 353 (when given names) then 366.
    Names { channel: &'a str, names: Option<&'a [String]> },
    /// 352 per user, then 315.
    Who { mask: &'a str, users: &'a [UserInfo] },
    /// 311, 312, 319, 301 for one user (318 follows separately).
    Whois { user: &'a UserInfo },
    /// 318.
    EndOfWhois { nick: &'a str },
    /// 251, 252, 253, 254, 255, 265, 266.
    Lusers { users: usize, max: usize },
    /// 375, 372..., 376.
    Motd,
    /// `:me JOIN #chan` then 332 (the topic).
    JoinEcho,
    /// 332.
    Topic,
    /// 324 for the channel, 221 for a user.
    Modes { target: &'a str },
    /// 368 (MODE #chan b: no bans).
    BanListEnd,
    /// 302: each nick, and whether it is away (`-`) or here (`+`).
    Userhost { nicks: &'a [(String, bool)] },
    /// 391.
    Time { now: &'a str },
    /// 351.
    Version,
    /// 464, with what to do.
    PasswordMismatch { text: &'a str },
    /// 442-like: the one channel cannot be left.
    CannotPart,
    /// 321, 322 for the channel, 323.
    List { users: usize },
    /// 482: no one is operator.
    NoOperators { channel: &'a str },
    /// 417.
    InputTooLong,
    /// `AUTHENTICATE +`: send the credentials.
    AuthenticateGo,
    /// 900 and 903: SASL PLAIN proved the password of `account`.
    SaslOk { account: &'a str },
    /// 904.
    SaslFailed,
    /// 906: the client aborted.
    SaslAborted,
    /// 907: already registered or authenticated.
    SaslAlready,
    /// 908 then 904: only PLAIN is offered.
    SaslMechanisms,
    /// 704, 705..., 706: what the IRC listener understands (`index`), or
    /// one command (a subject [`help_for`] knows).
    Help { subject: &'a str },
    /// 524: HELP on a subject (there is one help text).
    HelpNotFound { subject: &'a str },
    /// A NOTICE from the server to this user.
    Notice { text: &'a str },
}

/// `nick!nick@server`: how a user appears as a line's source.
pub fn source(nick: &str) -> String {
    format!("{nick}!{nick}@{}", settings().server_name)
}

/// Who numerics go to: the nick, or `*` before registration.
pub fn me(session: &Session) -> &str {
    session.name.as_deref().or_else(|| session.irc.as_ref().and_then(|i| i.nick.as_deref())).unwrap_or("*")
}

/// `:server <numeric> <me> <rest>`.
fn num(out: &mut String, code: &str, me: &str, rest: &str) {
    let srv = &settings().server_name;
    out.push_str(&format!(":{srv} {code} {me} {rest}\r\n"));
}

/// `:server NOTICE <me> :<text>`.
fn server_notice(out: &mut String, me: &str, text: &str) {
    let srv = &settings().server_name;
    out.push_str(&format!(":{srv} NOTICE {me} :{text}\r\n"));
}

/// The IRCv3 `@time=` value of a chatd timestamp (milliseconds added).
pub fn time_tag(ts: &str) -> String {
    match ts.strip_suffix('Z') {
        Some(base) => format!("@time={base}.000Z "),
        None => String::new(),
    }
}

/// The ISUPPORT tokens, at most 13 per 005 line.
fn isupport() -> Vec<String> {
    let s = settings();
    let chantype = s.channel.chars().next().unwrap_or('#');
    let mcast = crate::command::MAX_MCAST;
    vec![
        "AWAYLEN=200".into(),
        "CASEMAPPING=ascii".into(),
        format!("CHANLIMIT={chantype}:1"),
        "CHANMODES=,,,nt".into(),
        "CHANNELLEN=50".into(),
        format!("CHANTYPES={chantype}"),
        format!("MAXTARGETS={mcast}"),
        "NETWORK=chatd".into(),
        format!("NICKLEN={}", crate::names::MAX_NAME),
        "PREFIX=(ov)@+".into(),
        format!("TARGMAX=PRIVMSG:{mcast},NOTICE:{mcast},NAMES:1,WHOIS:1,JOIN:"),
        "USERLEN=8".into(),
    ]
}

/// A chatd reply to an IRC client. Acknowledgements IRC has no line for
/// (`OK MSG bob delivered`, `OK ALL`) are empty: IRC clients show what
/// they sent themselves.
pub fn reply(r: &Reply, session: &Session) -> String {
    let me = me(session);
    let srv = &settings().server_name;
    let mut out = String::new();
    match *r {
        Reply::Join { name, .. } => {
            num(&mut out, "001", name, &format!(":Welcome to the chatd IRC gateway, {}", source(name)));
            num(&mut out, "002", name, &format!(":Your host is {srv}, running chatd {VERSION}"));
            num(&mut out, "003", name, ":This server speaks chatd's line protocol and IRC over one set of users");
            num(&mut out, "004", name, &format!("{srv} chatd-{VERSION} i ntov"));
            for chunk in isupport().chunks(13) {
                num(&mut out, "005", name, &format!("{} :are supported by this server", chunk.join(" ")));
            }
        }
        Reply::MsgDelivered { .. } | Reply::All { .. } => {}
        Reply::MsgStored { to } => server_notice(
            &mut out,
            me,
            &format!("{to} is offline: your message is stored and reaches them when they next connect"),
        ),
        Reply::Mcast { stored, .. } => {
            if !stored.is_empty() {
                server_notice(
                    &mut out,
                    me,
                    &format!("stored for {} (offline): they get it when they next connect", stored.join(",")),
                );
            }
        }
        Reply::Who { names } => {
            let channel = &settings().channel;
            num(&mut out, "353", me, &format!("= {channel} :{}", names.join(" ")));
            num(&mut out, "366", me, &format!("{channel} :End of /NAMES list"));
        }
        Reply::HistoryLine { message, .. } => out.push_str(&message_line(message, session.marked(), Some(me), true)),
        Reply::History { count } => server_notice(&mut out, me, &format!("end of history ({count} messages)")),
        Reply::Clock { clock } => server_notice(&mut out, me, &format!("your vector clock: {clock}")),
        Reply::ClockSwitched { on } => server_notice(&mut out, me, if on { "CLOCK ON" } else { "CLOCK OFF" }),
        Reply::HelpCommand { usage, help } => server_notice(&mut out, me, &format!("{usage}: {help}")),
        Reply::HelpNote { text } => server_notice(&mut out, me, text),
        Reply::Help => {}
        Reply::Pong { token } => out.push_str(&format!(":{srv} PONG {srv} :{}\r\n", token.unwrap_or(""))),
        Reply::Leave => out.push_str(&format!("ERROR :Closing Link: {me} (Quit)\r\n")),
        Reply::Register => server_notice(
            &mut out,
            me,
            "your password is set: from now on connect with it as the server password (PASS)",
        ),
        Reply::Err(e) => match e.code {
            Code::LineTooLong => num(&mut out, "417", me, ":Input line was too long"),
            Code::UnknownCommand => num(&mut out, "421", me, &format!("{} :Unknown command", first_word(&e.text))),
            Code::NotJoined => num(&mut out, "451", me, ":You have not registered"),
            // A message with no text is 412, answered in handlers/irc.rs; other
            // usage errors (REGISTER with a short password) say what was wrong.
            Code::Syntax => server_notice(&mut out, me, &e.text),
            Code::AlreadyJoined => num(&mut out, "462", me, ":You may not reregister"),
            Code::NameTaken => {
                num(&mut out, "433", me, &format!("{} :Nickname is already in use", first_word(&e.text)))
            }
            Code::NameTooLong | Code::NameInvalid => {
                num(&mut out, "432", me, &format!("{me} :Erroneous nickname: {}", e.text))
            }
            Code::NoSuchUser => num(&mut out, "401", me, &format!("{} :No such nick/channel", e.text)),
            Code::AuthRequired | Code::AuthFailed => {
                num(&mut out, "464", me, &format!(":Password incorrect: {}", e.text))
            }
            // chatd's text says "no JOIN": on IRC, registration is the JOIN.
            Code::Timeout => out.push_str("ERROR :Closing Link: registration timed out (no NICK and USER in time)\r\n"),
            Code::ServerFull => out.push_str(&format!("ERROR :Closing Link: {}\r\n", e.text)),
            Code::Storage => server_notice(&mut out, me, &e.text),
        },
    }
    out
}

fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or("*")
}

/// `ERROR :Closing Link: ...` for a connection the server closes: kicked
/// by the console, or too many wrong passwords. (QUIT's and the
/// registration timeout's are their replies; a client dropped for its
/// send queue cannot be sent anything more.)
pub fn farewell(why: &crate::conn::Close) -> Option<String> {
    use crate::conn::Close;
    match why {
        Close::Kicked(_) | Close::AuthFailures => Some(format!("ERROR :Closing Link: {}\r\n", why.reason())),
        _ => None,
    }
}

/// An event for IRC users: JOIN and QUIT in the channel, a server NOTICE
/// to the channel.
pub fn event(e: &Event) -> String {
    let s = settings();
    match *e {
        Event::Joined { name, .. } => format!(":{} JOIN {}\r\n", source(name), s.channel),
        Event::Left { name, reason, .. } => format!(":{} QUIT :{}\r\n", source(name), quit_reason(reason)),
        Event::Notice { text, .. } => format!(":{} NOTICE {} :{}\r\n", s.server_name, s.channel, text),
    }
}

/// How a chatd LEFT reason reads in QUIT: a user's own reason as
/// `Quit: <reason>`, the server's (`connection closed`, `kicked`) as is.
fn quit_reason(reason: &str) -> String {
    match reason {
        "" => "Quit".to_string(),
        r if r == "connection closed" || r == "sendq exceeded" || r == "join timeout" || r.starts_with("kicked") => {
            r.to_string()
        }
        r => format!("Quit: {r}"),
    }
}

/// Whether a message's IRC line depends on who receives it (an MCAST says
/// who else got it, so each recipient's line differs).
pub fn per_recipient(m: &Message) -> bool {
    m.kind == Kind::Mcast
}

/// A message as an IRC recipient sees it; `tagged` adds `@time=`.
/// `recipient` names who gets it (for MCAST's "also to" list).
pub fn message(m: &Message, tagged: bool, recipient: Option<&str>) -> String {
    message_line(m, tagged, recipient, false)
}

fn message_line(m: &Message, tagged: bool, recipient: Option<&str>, history: bool) -> String {
    let mut line = if tagged { time_tag(&m.ts) } else { String::new() };
    let (target, text) = match m.kind {
        Kind::All => (settings().channel.clone(), m.text.clone()),
        Kind::Msg => (m.to.clone(), m.text.clone()),
        Kind::Mcast => {
            let me = recipient.unwrap_or("*");
            let others: Vec<&str> = m.to.split(',').filter(|n| !n.eq_ignore_ascii_case(me)).collect();
            let target = if history && m.from.eq_ignore_ascii_case(me) { m.to.clone() } else { me.to_string() };
            let text = if others.is_empty() || (history && m.from.eq_ignore_ascii_case(me)) {
                m.text.clone()
            } else {
                format!("(also to {}) {}", others.join(","), m.text)
            };
            (target, text)
        }
    };
    line.push_str(&format!(":{} PRIVMSG {} :{}\r\n", source(&m.from), target, ctcp_out(&text)));
    line
}

/// `/me waves` from a line-protocol user is an IRC action (CTCP ACTION),
/// the mirror of what `handlers/irc.rs` does with an action from IRC.
fn ctcp_out(text: &str) -> String {
    match text.strip_prefix("/me ") {
        Some(action) => format!("\u{1}ACTION {action}\u{1}"),
        None => text.to_string(),
    }
}

/// An IRC-only answer as lines.
pub fn irc(r: &IrcReply, session: &Session) -> String {
    let me = me(session);
    let s = settings();
    let (srv, channel) = (&s.server_name, &s.channel);
    let mut out = String::new();
    let o = &mut out;
    match r {
        IrcReply::CapLs => {
            let v302 = session.irc.as_ref().is_some_and(|i| i.cap_302);
            let caps: Vec<&str> =
                super::CAPS.iter().map(|&c| if c == "sasl" && v302 { "sasl=PLAIN" } else { c }).collect();
            o.push_str(&format!(":{srv} CAP {me} LS :{}\r\n", caps.join(" ")));
        }
        IrcReply::CapAck { list, ack } => {
            o.push_str(&format!(":{srv} CAP {me} {} :{list}\r\n", if *ack { "ACK" } else { "NAK" }))
        }
        IrcReply::CapList { enabled } => o.push_str(&format!(":{srv} CAP {me} LIST :{}\r\n", enabled.join(" "))),
        IrcReply::CapInvalid { sub } => num(o, "410", me, &format!("{sub} :Invalid CAP command")),
        IrcReply::NeedMoreParams { command } => num(o, "461", me, &format!("{command} :Not enough parameters")),
        IrcReply::UnknownCommand { command } => num(o, "421", me, &format!("{command} :Unknown command")),
        IrcReply::NotRegistered => num(o, "451", me, ":You have not registered"),
        IrcReply::AlreadyRegistered => num(o, "462", me, ":You may not reregister"),
        IrcReply::NoNickGiven => num(o, "431", me, ":No nickname given"),
        IrcReply::ErroneousNick { nick, why } => num(o, "432", me, &format!("{nick} :Erroneous nickname: {why}")),
        IrcReply::NickInUse { nick } => num(o, "433", me, &format!("{nick} :Nickname is already in use")),
        IrcReply::NickChangeRefused { nick } => num(
            o,
            "447",
            me,
            &format!("{nick} :Cannot change nickname: your nick is your chatd name; reconnect to use another"),
        ),
        IrcReply::NoRecipient { command } => num(o, "411", me, &format!(":No recipient given ({command})")),
        IrcReply::NoTextToSend => num(o, "412", me, ":No text to send"),
        IrcReply::NoSuchNick { nick } => num(o, "401", me, &format!("{nick} :No such nick/channel")),
        IrcReply::NoSuchChannel { channel: c } => {
            num(o, "403", me, &format!("{c} :No such channel: this server has one room, {channel}"))
        }
        IrcReply::Away { nick, text } => num(o, "301", me, &format!("{nick} :{text}")),
        IrcReply::AwaySet { away: false } => num(o, "305", me, ":You are no longer marked as being away"),
        IrcReply::AwaySet { away: true } => num(o, "306", me, ":You have been marked as being away"),
        IrcReply::Ison { nicks } => num(o, "303", me, &format!(":{}", nicks.join(" "))),
        IrcReply::Names { channel: c, names } => {
            let full = session.irc.as_ref().is_some_and(|i| i.has("userhost-in-names"));
            let names: Option<Vec<String>> =
                names.map(|n| n.iter().map(|n| if full { source(n) } else { n.clone() }).collect());
            if let Some(names) = &names {
                // Split so no line passes 512 bytes.
                let mut line = String::new();
                for n in names.iter() {
                    if line.len() + n.len() > 400 {
                        num(o, "353", me, &format!("= {c} :{line}"));
                        line.clear();
                    }
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(n);
                }
                num(o, "353", me, &format!("= {c} :{line}"));
            }
            num(o, "366", me, &format!("{c} :End of /NAMES list"));
        }
        IrcReply::Who { mask, users } => {
            for u in users.iter() {
                let here = if u.away.is_some() { "G" } else { "H" };
                num(o, "352", me, &format!("{channel} {} {srv} {srv} {} {here} :0 {}", u.user, u.nick, u.realname));
            }
            num(o, "315", me, &format!("{mask} :End of /WHO list"));
        }
        IrcReply::Whois { user: u } => {
            num(o, "311", me, &format!("{} {} {srv} * :{}", u.nick, u.user, u.realname));
            num(o, "312", me, &format!("{} {srv} :chatd {VERSION} (connected by {})", u.nick, u.via));
            num(o, "319", me, &format!("{} :{channel}", u.nick));
            if let Some(away) = &u.away {
                num(o, "301", me, &format!("{} :{away}", u.nick));
            }
        }
        IrcReply::EndOfWhois { nick } => num(o, "318", me, &format!("{nick} :End of /WHOIS list")),
        IrcReply::Lusers { users, max } => {
            num(o, "251", me, &format!(":There are {users} users and 0 invisible on 1 servers"));
            num(o, "252", me, "0 :operator(s) online");
            num(o, "254", me, "1 :channels formed");
            num(o, "255", me, &format!(":I have {users} clients and 0 servers"));
            num(o, "265", me, &format!("{users} {max} :Current local users {users}, max {max}"));
            num(o, "266", me, &format!("{users} {max} :Current global users {users}, max {max}"));
        }
        IrcReply::Motd => {
            num(o, "375", me, &format!(":- {srv} Message of the day -"));
            for line in [
                format!("This is chatd: one room, {channel}, shared with line-protocol (nc, telnet) users."),
                "PRIVMSG the channel to talk to everyone; /msg nick for one person (stored if they are offline);"
                    .to_string(),
                "/msg a,b for several. Nicks are chatd names: 1-8 letters, digits, _ or -.".to_string(),
            ] {
                num(o, "372", me, &format!(":- {line}"));
            }
            num(o, "376", me, ":End of /MOTD command");
        }
        IrcReply::JoinEcho => {
            o.push_str(&format!(":{} JOIN {channel}\r\n", source(me)));
            num(o, "332", me, &format!("{channel} :{}", topic()));
        }
        IrcReply::Topic => num(o, "332", me, &format!("{channel} :{}", topic())),
        IrcReply::Modes { target } => {
            if super::is_channel(target) {
                num(o, "324", me, &format!("{channel} +nt"));
            } else {
                num(o, "221", me, "+");
            }
        }
        IrcReply::BanListEnd => num(o, "368", me, &format!("{channel} :End of channel ban list")),
        IrcReply::Userhost { nicks } => {
            let list: Vec<String> =
                nicks.iter().map(|(n, away)| format!("{n}={}{n}@{srv}", if *away { '-' } else { '+' })).collect();
            num(o, "302", me, &format!(":{}", list.join(" ")));
        }
        IrcReply::Time { now } => num(o, "391", me, &format!("{srv} :{now}")),
        IrcReply::Version => num(o, "351", me, &format!("chatd-{VERSION}. {srv} :chatd's IRC listener")),
        IrcReply::PasswordMismatch { text } => num(o, "464", me, &format!(":{text}")),
        IrcReply::CannotPart => {
            server_notice(o, me, &format!("{channel} is the whole server and cannot be left; /quit to disconnect"))
        }
        IrcReply::List { users } => {
            num(o, "321", me, "Channel :Users  Name");
            num(o, "322", me, &format!("{channel} {users} :{}", topic()));
            num(o, "323", me, ":End of /LIST");
        }
        IrcReply::NoOperators { channel: c } => {
            num(o, "482", me, &format!("{c} :You're not channel operator (chatd has none)"))
        }
        IrcReply::InputTooLong => num(o, "417", me, ":Input line was too long"),
        IrcReply::Notice { text } => server_notice(o, me, text),
        IrcReply::AuthenticateGo => o.push_str("AUTHENTICATE +\r\n"),
        IrcReply::SaslOk { account } => {
            num(o, "900", me, &format!("{} {account} :You are now logged in as {account}", source(account)));
            num(o, "903", me, ":SASL authentication successful");
        }
        IrcReply::SaslFailed => num(o, "904", me, ":SASL authentication failed"),
        IrcReply::SaslAborted => num(o, "906", me, ":SASL authentication aborted"),
        IrcReply::SaslAlready => num(o, "907", me, ":You have already authenticated using SASL"),
        IrcReply::SaslMechanisms => {
            num(o, "908", me, "PLAIN :are available SASL mechanisms");
            num(o, "904", me, ":SASL authentication failed");
        }
        IrcReply::HelpNotFound { subject } => {
            num(o, "524", me, &format!("{subject} :No help available on this topic; HELP alone lists what works"))
        }
        IrcReply::Help { subject } => {
            let s = subject.to_ascii_uppercase();
            let (name, lines) = match help_for(&s) {
                Some(lines) => (s.as_str(), lines),
                None => ("index", help_index()),
            };
            num(o, "704", me, &format!("{name} :{}", lines[0]));
            for line in &lines[1..] {
                num(o, "705", me, &format!("{name} :{line}"));
            }
            num(o, "706", me, &format!("{name} :End of /HELP"));
        }
    }
    out
}

/// HELP's index: what the IRC listener understands.
fn help_index() -> Vec<String> {
    let channel = &settings().channel;
    vec![
        format!("chatd's IRC listener: one room, {channel}; HELP <command> for one"),
        format!("PRIVMSG {channel} :text - everyone (chatd ALL)"),
        "PRIVMSG nick :text - one person, stored if offline (chatd MSG)".to_string(),
        "PRIVMSG a,b :text - several people (chatd MCAST)".to_string(),
        "NOTICE - as PRIVMSG, never answered with an error".to_string(),
        "WHO WHOIS ISON USERHOST NAMES LIST LUSERS MOTD AWAY MODE TOPIC TIME VERSION PING QUIT".to_string(),
        "HISTORY [n] - past messages; REGISTER <password> - protect your nick (use /quote)".to_string(),
    ]
}

/// HELP on one command, if it is one the listener has help for.
pub fn help_for(subject: &str) -> Option<Vec<String>> {
    let channel = &settings().channel;
    let lines: &[&str] = match subject {
        "PRIVMSG" => &[
            "PRIVMSG <target>[,<target>...] :<text>",
            "the channel: everyone; a nick: that person (stored if offline); several nicks: all of them",
        ],
        "NOTICE" => &["NOTICE <target>[,<target>...] :<text>", "as PRIVMSG, and never answered with an error"],
        "JOIN" => &["JOIN <channel>", "there is one channel, which everyone is in already"],
        "PART" => &["PART <channel>", "the one channel cannot be left; QUIT disconnects"],
        "QUIT" => &["QUIT [:<reason>]", "disconnect; everyone sees the reason"],
        "NICK" => &["NICK <nick>", "1-8 letters, digits, _ or -; fixed once registered"],
        "AWAY" => &["AWAY [:<message>]", "mark yourself away (no message: back)"],
        "WHOIS" => &["WHOIS <nick>", "who a user is, and which protocol they use"],
        "WHO" => &["WHO [<channel>|<nick>]", "who is online"],
        "HISTORY" => &["HISTORY [<n>]", "the last n messages you may see, with their time"],
        "REGISTER" => &["REGISTER <password>", "protect your nick; then connect with PASS or SASL PLAIN"],
        _ => return None,
    };
    let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if subject == "JOIN" {
        v[1] = format!("there is one channel, {channel}, which everyone is in already");
    }
    Some(v)
}

/// The channel's topic: what the room is.
fn topic() -> &'static str {
    "Everyone on this chatd server, IRC and nc/telnet users alike"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::reply::Error;

    fn msg(kind: Kind, to: &str) -> Message {
        Message {
            id: 1,
            kind,
            ts: "2026-11-21T12:01:02Z".into(),
            from: "alice".into(),
            to: to.into(),
            clock: Clock::default(),
            clock_text: String::new(),
            text: "hi there".into(),
        }
    }

    #[test]
    fn messages_become_privmsg() {
        assert_eq!(message(&msg(Kind::All, "*"), false, None), ":alice!alice@chatd PRIVMSG #chatd :hi there\r\n");
        assert_eq!(
            message(&msg(Kind::Msg, "bob"), true, None),
            "@time=2026-11-21T12:01:02.000Z :alice!alice@chatd PRIVMSG bob :hi there\r\n"
        );
        assert_eq!(
            message(&msg(Kind::Mcast, "bob,carol"), false, Some("bob")),
            ":alice!alice@chatd PRIVMSG bob :(also to carol) hi there\r\n"
        );
        let mut me = msg(Kind::All, "*");
        me.text = "/me waves".into();
        assert_eq!(message(&me, false, None), ":alice!alice@chatd PRIVMSG #chatd :\u{1}ACTION waves\u{1}\r\n");
    }

    #[test]
    fn events_become_join_quit_notice() {
        let ts = "2026-11-21T12:01:02Z";
        assert_eq!(event(&Event::Joined { ts, name: "bob" }), ":bob!bob@chatd JOIN #chatd\r\n");
        assert_eq!(event(&Event::Left { ts, name: "bob", reason: "bye" }), ":bob!bob@chatd QUIT :Quit: bye\r\n");
        assert_eq!(event(&Event::Left { ts, name: "bob", reason: "kicked" }), ":bob!bob@chatd QUIT :kicked\r\n");
        assert_eq!(event(&Event::Notice { ts, text: "hello" }), ":chatd NOTICE #chatd :hello\r\n");
    }

    #[test]
    fn errors_become_numerics() {
        let s = Session::default();
        let e = Error::new(Code::NoSuchUser, "zed");
        assert_eq!(reply(&Reply::Err(&e), &s), ":chatd 401 * zed :No such nick/channel\r\n");
        assert_eq!(reply(&Reply::MsgDelivered { to: "bob" }, &s), "");
        assert_eq!(reply(&Reply::Pong { token: Some("x") }, &s), ":chatd PONG chatd :x\r\n");
        let w = reply(&Reply::Join { name: "bob", pending: 0 }, &s);
        assert!(w.starts_with(":chatd 001 bob :Welcome"), "{w}");
        assert!(w.contains(" NICKLEN=8 "), "{w}");
        for line in w.lines().filter(|l| l.contains(" 005 ")) {
            assert!(line.split(' ').count() <= 3 + 13 + 5, "{line}");
        }
    }

    #[test]
    fn cap_and_names() {
        let s = Session::default();
        assert_eq!(irc(&IrcReply::CapLs, &s), ":chatd CAP * LS :multi-prefix sasl server-time userhost-in-names\r\n");
        assert_eq!(irc(&IrcReply::CapAck { list: "foo", ack: false }, &s), ":chatd CAP * NAK :foo\r\n");
        let names: Vec<String> = (0..200).map(|i| format!("user{i}")).collect();
        let out = irc(&IrcReply::Names { channel: "#chatd", names: Some(&names) }, &s);
        assert!(out.lines().all(|l| l.len() <= 510), "{out}");
        assert!(out.ends_with(":chatd 366 * #chatd :End of /NAMES list\r\n"));
    }
}
