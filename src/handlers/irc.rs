//! IRC commands: registration (CAP, PASS, NICK, USER), then each IRC
//! command mapped onto chatd's handlers: `PRIVMSG #chatd` is ALL,
//! `PRIVMSG nick` MSG, `PRIVMSG a,b` MCAST, QUIT is LEAVE, registration is
//! JOIN. What only IRC has (WHO, WHOIS, MODE, LUSERS, ...) is answered
//! here from presence. Lines are parsed by `irc/parse.rs`; every answer is
//! a typed [`Reply`] or [`IrcReply`] rendered by `irc/render.rs`.

use super::{messaging, session, Caller, Ctx};
use crate::auth::Job;
use crate::command::{self, Spec};
use crate::irc::parse::{self, Line, ParseError};
use crate::irc::render::{self, IrcReply, UserInfo};
use crate::irc::{self as irc_mod, IrcSession};
use crate::names::{self, NameError};
use crate::reply::{Code, Error, Reply};
use crate::session::AuthStep;

/// Told to a sender whose text had bytes that are not UTF-8 (framing
/// turned them into U+FFFD, as for every protocol; the message went out).
const NOT_UTF8: &str =
    "your message had bytes that are not UTF-8: they were sent as \u{fffd}; set your client's charset to UTF-8";

/// Longest AWAY message and real name kept, in characters.
const AWAY_LEN: usize = 200;

/// Runs one line from an IRC client.
pub fn dispatch(ctx: &mut Ctx, raw: &str) {
    let line = match parse::parse(raw) {
        Ok(line) => line,
        Err(ParseError::Empty) => return,
        Err(ParseError::TooLong) => return say(ctx, &IrcReply::InputTooLong),
    };
    let verb = line.verb();
    let caller = ctx.caller();
    let result = match (verb.as_str(), caller) {
        ("CAP", _) => cap(ctx, &line),
        ("NICK", me) => nick(ctx, &line, me),
        ("USER", None) => user(ctx, &line),
        ("PASS", None) => pass(ctx, &line),
        ("USER" | "PASS", Some(_)) => answer(ctx, &IrcReply::AlreadyRegistered),
        ("AUTHENTICATE", None) => authenticate(ctx, &line),
        ("AUTHENTICATE", Some(_)) => answer(ctx, &IrcReply::SaslAlready),
        ("PING", _) => ping(ctx, &line),
        ("PONG", _) => Ok(()),
        ("QUIT", _) => session::leave(ctx, line.param(0)),
        ("HELP", _) => help(ctx, line.param(0)),
        ("PRIVMSG", Some(me)) => privmsg(ctx, &me, &line, false),
        ("NOTICE", Some(me)) => privmsg(ctx, &me, &line, true),
        ("JOIN", Some(_)) => join(ctx, &line),
        ("PART", Some(_)) => answer(ctx, &IrcReply::CannotPart),
        ("NAMES", Some(_)) => names(ctx, line.param(0)),
        ("WHO", Some(_)) => who(ctx, line.param(0)),
        ("WHOIS", Some(_)) => whois(ctx, &line),
        ("ISON", Some(_)) => ison(ctx, &line),
        ("USERHOST", Some(_)) => userhost(ctx, &line),
        ("LUSERS", Some(_)) => lusers(ctx),
        ("MOTD", Some(_)) => answer(ctx, &IrcReply::Motd),
        ("AWAY", Some(_)) => away(ctx, line.param(0)),
        ("MODE", Some(_)) => mode(ctx, &line),
        ("TOPIC", Some(_)) => topic(ctx, &line),
        ("KICK", Some(_)) => {
            let channel = shown(line.param(0).unwrap_or("*"), 50);
            answer(ctx, &IrcReply::NoOperators { channel: &channel })
        }
        ("TIME", Some(_)) => {
            let now = ctx.state.ts();
            answer(ctx, &IrcReply::Time { now: &now })
        }
        ("VERSION", Some(_)) => answer(ctx, &IrcReply::Version),
        ("LIST", Some(_)) => list(ctx),
        ("HISTORY", Some(me)) => history(ctx, &me, &line),
        ("REGISTER", Some(_)) => match line.param(0).filter(|p| !p.is_empty()) {
            Some(p) => super::accounts::register(ctx, p.to_string()),
            None => answer(ctx, &IrcReply::NeedMoreParams { command: "REGISTER" }),
        },
        // Before registration only the rows above with `_` or `None` work.
        (_, None) => answer(ctx, &IrcReply::NotRegistered),
        (_, Some(_)) => {
            let command = shown(line.command, 32);
            answer(ctx, &IrcReply::UnknownCommand { command: &command })
        }
    };
    if let Err(e) = result {
        log::debug!("{}: {}", ctx.label(), e);
        ctx.reply(&Reply::Err(&e));
    }
}

/// `say`, as a command's whole answer.
fn answer(ctx: &mut Ctx, r: &IrcReply) -> Result<(), Error> {
    say(ctx, r);
    Ok(())
}

/// A client's word as echoed back in a numeric: control characters
/// removed, at most `max` characters.
fn shown(word: &str, max: usize) -> String {
    crate::text::sanitize(word).chars().take(max).collect()
}

/// `HELP [subject]`: the index, one command's help, or 524.
fn help(ctx: &mut Ctx, subject: Option<&str>) -> Result<(), Error> {
    match subject.filter(|p| !p.is_empty()) {
        Some(subject) if render::help_for(&subject.to_ascii_uppercase()).is_none() => {
            let subject = shown(subject, 32);
            answer(ctx, &IrcReply::HelpNotFound { subject: &subject })
        }
        subject => answer(ctx, &IrcReply::Help { subject: subject.unwrap_or("") }),
    }
}

/// Queues an IRC-only answer for the caller.
fn say(ctx: &mut Ctx, r: &IrcReply) {
    let Some(conn) = ctx.state.conns.get(ctx.key) else { return };
    let line = render::irc(r, &conn.session);
    ctx.state.send(ctx.key, &line);
}

/// The caller's IRC state (made on first use).
fn irc<'a>(ctx: &'a mut Ctx) -> Option<&'a mut IrcSession> {
    let conn = ctx.state.conns.get_mut(ctx.key)?;
    Some(conn.session.irc.get_or_insert_with(Default::default))
}

fn need(ctx: &mut Ctx, line: &Line, n: usize) -> bool {
    if line.params.len() < n || line.params[..n].iter().any(|p| p.is_empty()) {
        let command = line.verb();
        say(ctx, &IrcReply::NeedMoreParams { command: &command });
        return false;
    }
    true
}

/// `CAP LS [302]`, `CAP REQ :caps`, `CAP LIST`, `CAP END`: server-time
/// is offered; registration waits from the first LS or REQ until END.
fn cap(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 1) {
        return Ok(());
    }
    let registered = ctx.caller().is_some();
    let sub = line.params[0].to_ascii_uppercase();
    match sub.as_str() {
        "LS" => {
            if let Some(i) = irc(ctx) {
                i.cap_negotiating |= !registered;
                i.cap_302 |= line.param(1).and_then(|v| v.parse::<u32>().ok()).is_some_and(|v| v >= 302);
            }
            say(ctx, &IrcReply::CapLs);
        }
        "REQ" => {
            let list = line.param(1).unwrap_or("");
            let wanted: Vec<&str> = list.split(' ').filter(|c| !c.is_empty()).collect();
            let ack = !wanted.is_empty() && wanted.iter().all(|c| irc_mod::CAPS.contains(&c.trim_start_matches('-')));
            if let Some(i) = irc(ctx) {
                i.cap_negotiating |= !registered;
                if ack {
                    for c in &wanted {
                        i.set(c.trim_start_matches('-'), !c.starts_with('-'));
                    }
                }
            }
            say(ctx, &IrcReply::CapAck { list, ack });
        }
        "LIST" => {
            let enabled = irc(ctx).map(|i| i.caps.clone()).unwrap_or_default();
            say(ctx, &IrcReply::CapList { enabled: &enabled });
        }
        "END" => {
            if let Some(i) = irc(ctx) {
                i.cap_negotiating = false;
            }
            return try_register(ctx);
        }
        _ => {
            let sub = shown(line.params[0], 32);
            say(ctx, &IrcReply::CapInvalid { sub: &sub });
        }
    }
    Ok(())
}

/// `NICK <nick>`: a chatd name (1-8 of `A-Z a-z 0-9 _ -`), free across
/// both protocols. After registration the nick is the user's identity: the
/// same spelling is a no-op, another is refused (447).
fn nick(ctx: &mut Ctx, line: &Line, me: Option<Caller>) -> Result<(), Error> {
    let Some(wanted) = line.param(0).filter(|n| !n.is_empty()) else {
        say(ctx, &IrcReply::NoNickGiven);
        return Ok(());
    };
    let shown = shown(wanted, 32);
    if let Some(me) = me {
        if me.name != wanted {
            // Taken says more than "not allowed" (and is what clients expect).
            let taken = ctx.state.online(wanted).is_some_and(|k| k != ctx.key);
            if taken {
                say(ctx, &IrcReply::NickInUse { nick: &shown });
            } else {
                say(ctx, &IrcReply::NickChangeRefused { nick: &shown });
            }
        }
        return Ok(());
    }
    if let Err(e) = names::validate(wanted) {
        let why = match e {
            NameError::TooLong => "at most 8 characters",
            NameError::Invalid => "use 1-8 letters, digits, _ or -",
        };
        say(ctx, &IrcReply::ErroneousNick { nick: &shown, why });
        return Ok(());
    }
    session::free_if_closing(ctx, wanted);
    if ctx.state.online(wanted).is_some() {
        say(ctx, &IrcReply::NickInUse { nick: wanted });
        return Ok(());
    }
    if let Some(i) = irc(ctx) {
        i.nick = Some(wanted.to_string());
    }
    try_register(ctx)
}

/// `USER <user> <mode> <unused> :<real name>`.
fn user(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 4) {
        return Ok(());
    }
    let clean = |s: &str| shown(s, AWAY_LEN);
    let (user, real) = (clean(line.params[0]), clean(line.params[3]));
    if let Some(i) = irc(ctx) {
        i.user = Some((user, real));
    }
    try_register(ctx)
}

/// `PASS <password>`: the password of a protected name, used at
/// registration.
fn pass(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 1) {
        return Ok(());
    }
    if let Some(i) = irc(ctx) {
        i.pass = Some(line.params[0].to_string());
    }
    Ok(())
}

/// Registers once NICK and USER are in and CAP negotiation is over: a
/// chatd JOIN of the nick (with PASS's password). Its `OK JOIN` is the
/// welcome (001-005); [`welcome`] adds the rest.
fn try_register(ctx: &mut Ctx) -> Result<(), Error> {
    if ctx.caller().is_some() {
        return Ok(());
    }
    let Some(i) = irc(ctx) else { return Ok(()) };
    if i.cap_negotiating || i.user.is_none() {
        return Ok(());
    }
    if i.sasl.is_some() {
        return Ok(()); // SASL under way: registration waits for its answer
    }
    let Some(nick) = i.nick.clone() else { return Ok(()) };
    let pass = i.pass.clone();
    let proven = i.account.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&nick));
    session::free_if_closing(ctx, &nick);
    // SASL PLAIN proved this name's password: no second check.
    let joined = if proven { session::enter(ctx, &nick) } else { session::join(ctx, &nick, pass) };
    match joined {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Some(i) = irc(ctx) {
                i.nick = None; // the client picks another, or sends PASS and NICK again
            }
            match e.code {
                Code::NameTaken => say(ctx, &IrcReply::NickInUse { nick: &nick }),
                Code::AuthRequired => say(
                    ctx,
                    &IrcReply::PasswordMismatch {
                        text: &format!(
                            "{nick} is protected by a password: connect with it as the server password (PASS), or pick another nick"
                        ),
                    },
                ),
                _ => return Err(e),
            }
            Ok(())
        }
    }
}

/// After the chatd JOIN of an IRC user (`session::joined`): LUSERS, MOTD,
/// the channel's JOIN, topic and names, and how many stored messages
/// follow. Nothing for a line-protocol connection.
pub fn welcome(ctx: &mut Ctx, pending: usize) {
    irc_mod::note_users(ctx.state.joined_count()); // LUSERS' max counts every join
    if ctx.state.conns.get(ctx.key).is_none_or(|c| c.dialect != crate::dialect::Dialect::Irc) {
        return;
    }
    if let Some(i) = irc(ctx) {
        i.pass = None; // used; not kept in memory
    }
    let _ = lusers(ctx); // these answer, and never fail
    say(ctx, &IrcReply::Motd);
    say(ctx, &IrcReply::JoinEcho);
    let _ = names(ctx, None);
    if pending > 0 {
        let text = format!("{pending} message(s) were stored for you while you were away; here they come");
        say(ctx, &IrcReply::Notice { text: &text });
    }
}

/// `AUTHENTICATE PLAIN`, then `AUTHENTICATE <base64>` (in chunks of 400,
/// `+` for an empty last one): `authzid NUL authcid NUL password`. The
/// password of `authcid`, a protected chatd name, is checked on the
/// password worker ([`sasl_checked`] continues); registering as that name
/// then needs no PASS. `AUTHENTICATE *` aborts.
fn authenticate(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 1) {
        return Ok(());
    }
    let arg = line.params[0];
    let Some(i) = irc(ctx) else { return Ok(()) };
    if i.account.is_some() {
        say(ctx, &IrcReply::SaslAlready);
        return Ok(());
    }
    if arg == "*" {
        i.sasl = None;
        say(ctx, &IrcReply::SaslAborted);
        return try_register(ctx);
    }
    let Some(buf) = i.sasl.as_mut() else {
        if arg.eq_ignore_ascii_case("PLAIN") {
            i.sasl = Some(String::new());
            say(ctx, &IrcReply::AuthenticateGo);
        } else {
            say(ctx, &IrcReply::SaslMechanisms);
        }
        return Ok(());
    };
    if arg != "+" {
        buf.push_str(arg);
    }
    if buf.len() > irc_mod::MAX_SASL {
        return sasl_failed(ctx);
    }
    if arg.len() == 400 {
        return Ok(()); // more chunks follow
    }
    let encoded = i.sasl.take().unwrap_or_default();
    let Some((name, password)) = plain(&encoded) else { return sasl_failed(ctx) };
    let hash = ctx.store.user(&name).and_then(|u| u.password.clone());
    let Some(hash) = hash else { return sasl_failed(ctx) }; // unknown, or no password to prove
    if let Some(i) = irc(ctx) {
        i.sasl = Some(String::new()); // registration waits for the answer
    }
    let submitted = ctx.submit_auth(AuthStep::Sasl(name), Job::Verify { password, hash });
    if submitted.is_err() {
        if let Some(i) = irc(ctx) {
            i.sasl = None; // no answer will come: registration must not wait for one
        }
    }
    submitted
}

/// The name and password of a SASL PLAIN message, if it is one.
fn plain(encoded: &str) -> Option<(String, String)> {
    use base64ct::Encoding;
    let bytes = base64ct::Base64::decode_vec(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (_authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || names::validate(authcid).is_err() || password.is_empty() {
        return None;
    }
    Some((authcid.to_string(), password.to_string()))
}

fn sasl_failed(ctx: &mut Ctx) -> Result<(), Error> {
    if let Some(i) = irc(ctx) {
        i.sasl = None;
    }
    say(ctx, &IrcReply::SaslFailed);
    try_register(ctx)
}

/// The password worker checked a SASL PLAIN password: 900/903, or 904
/// (counted with the connection's other wrong passwords).
pub fn sasl_checked(ctx: &mut Ctx, name: &str, matched: bool) -> Result<(), Error> {
    if let Some(i) = irc(ctx) {
        i.sasl = None;
        if matched {
            i.account = Some(name.to_string());
        }
    }
    if matched {
        log::info!("{}: SASL PLAIN as {name}", ctx.label());
        say(ctx, &IrcReply::SaslOk { account: name });
        return try_register(ctx);
    }
    let Some(conn) = ctx.state.conns.get_mut(ctx.key) else { return Ok(()) };
    conn.session.auth_failures += 1;
    if conn.session.auth_failures >= super::accounts::MAX_AUTH_FAILURES {
        ctx.state.close(ctx.key, crate::conn::Close::AuthFailures);
    }
    say(ctx, &IrcReply::SaslFailed);
    try_register(ctx)
}

fn ping(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need_any(ctx, line) {
        return Ok(());
    }
    let token = crate::text::sanitize(line.params[0]);
    ctx.reply(&Reply::Pong { token: Some(&token) });
    Ok(())
}

/// At least one parameter, possibly empty (`PING :`).
fn need_any(ctx: &mut Ctx, line: &Line) -> bool {
    if line.params.is_empty() {
        let command = line.verb();
        say(ctx, &IrcReply::NeedMoreParams { command: &command });
        return false;
    }
    true
}

/// A client's text as chatd text: a CTCP ACTION (`/me waves`) is kept as
/// `/me waves`; other CTCP requests (VERSION, PING...) are not messages
/// and are dropped (`None`).
fn ctcp_in(text: &str) -> Option<String> {
    let Some(body) = text.strip_prefix('\u{1}') else { return Some(text.to_string()) };
    let body = body.strip_suffix('\u{1}').unwrap_or(body);
    body.strip_prefix("ACTION ").map(|a| format!("/me {a}"))
}

/// `PRIVMSG <targets> :<text>` (and NOTICE, which never gets an error
/// back): the channel is ALL, one nick MSG, several nicks MCAST.
fn privmsg(ctx: &mut Ctx, me: &Caller, line: &Line, notice: bool) -> Result<(), Error> {
    let verb = line.verb();
    let Some(targets) = line.param(0).filter(|t| !t.is_empty()) else {
        if !notice {
            say(ctx, &IrcReply::NoRecipient { command: &verb });
        }
        return Ok(());
    };
    let Some(text) = line.param(1).filter(|t| !t.is_empty()) else {
        if !notice {
            say(ctx, &IrcReply::NoTextToSend);
        }
        return Ok(());
    };
    let Some(text) = ctcp_in(text) else { return Ok(()) };
    let mut nicks: Vec<String> = Vec::new();
    let mut to_channel = false;
    for t in targets.split(',').filter(|t| !t.is_empty()) {
        if irc_mod::is_channel(t) {
            to_channel = true;
        } else if t.starts_with(['#', '&']) {
            if !notice {
                let shown = shown(t, 50);
                say(ctx, &IrcReply::NoSuchChannel { channel: &shown });
            }
        } else if ctx.state.online(t).is_none() && ctx.store.id(t).is_none() {
            if !notice {
                let shown = shown(t, 32);
                say(ctx, &IrcReply::NoSuchNick { nick: &shown });
            }
        } else if !nicks.iter().any(|n| n.eq_ignore_ascii_case(t)) {
            nicks.push(t.to_string());
        }
    }
    let result = send(ctx, me, to_channel, &nicks, &text);
    match result {
        Err(e) if notice => {
            log::debug!("{}: NOTICE not sent: {e}", ctx.label());
            Ok(())
        }
        Err(e) if e.code == Code::Syntax => {
            say(ctx, &IrcReply::NoTextToSend);
            Ok(())
        }
        other => {
            if !notice {
                away_replies(ctx, &nicks);
                if other.is_ok() && text.contains('\u{fffd}') {
                    say(ctx, &IrcReply::Notice { text: NOT_UTF8 });
                }
            }
            other
        }
    }
}

fn spec(name: &str) -> Result<&'static Spec, Error> {
    command::lookup(name).ok_or_else(|| Error::new(Code::UnknownCommand, name.to_string()))
}

fn send(ctx: &mut Ctx, me: &Caller, to_channel: bool, nicks: &[String], text: &str) -> Result<(), Error> {
    if to_channel {
        messaging::all(ctx, me, spec("ALL")?, text)?;
    }
    match nicks {
        [] => Ok(()),
        [one] => messaging::msg(ctx, me, spec("MSG")?, one, text),
        many => {
            let many = &many[..many.len().min(command::MAX_MCAST)];
            messaging::mcast(ctx, me, spec("MCAST")?, many, text, None)
        }
    }
}

/// 301 for each IRC recipient who is away.
fn away_replies(ctx: &mut Ctx, nicks: &[String]) {
    for n in nicks {
        let Some(key) = ctx.state.online(n) else { continue };
        let Some(conn) = ctx.state.conns.get(key) else { continue };
        let Some(text) = conn.session.irc.as_ref().and_then(|i| i.away.clone()) else { continue };
        let nick = conn.session.name.clone().unwrap_or_default();
        say(ctx, &IrcReply::Away { nick: &nick, text: &text });
    }
}

/// `JOIN <channels>`: the one channel is already joined (nothing to say);
/// any other gets 403 naming the room there is.
fn join(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 1) {
        return Ok(());
    }
    for c in line.params[0].split(',') {
        if c.is_empty() || c == "0" || irc_mod::is_channel(c) {
            continue;
        }
        let shown = shown(c, 50);
        say(ctx, &IrcReply::NoSuchChannel { channel: &shown });
    }
    Ok(())
}

/// `NAMES [channel]`: 353 and 366 for the channel, only 366 for others.
fn names(ctx: &mut Ctx, channel: Option<&str>) -> Result<(), Error> {
    let ours = irc_mod::settings().channel.clone();
    match channel {
        Some(c) if !c.is_empty() && !c.split(',').any(irc_mod::is_channel) => {
            let shown = shown(c, 50);
            say(ctx, &IrcReply::Names { channel: &shown, names: None });
        }
        _ => {
            let names = ctx.state.who();
            say(ctx, &IrcReply::Names { channel: &ours, names: Some(&names) });
        }
    }
    Ok(())
}

/// One online user as WHO/WHOIS show them.
fn info(ctx: &Ctx, name: &str) -> Option<UserInfo> {
    let conn = ctx.state.conns.get(ctx.state.online(name)?)?;
    let nick = conn.session.name.clone()?;
    let irc = conn.session.irc.as_deref();
    let (user, realname) = match irc.and_then(|i| i.user.clone()) {
        Some((u, r)) => (u, r),
        None => (nick.clone(), "chatd line-protocol user".to_string()),
    };
    let user: String = user.chars().filter(|c| c.is_ascii_graphic()).take(10).collect();
    Some(UserInfo {
        user: if user.is_empty() { nick.clone() } else { user },
        nick,
        realname,
        away: irc.and_then(|i| i.away.clone()),
        via: if conn.dialect == crate::dialect::Dialect::Irc { "IRC" } else { "chatd's line protocol" },
    })
}

/// `WHO [mask]`: the channel (or `*`, or nothing) lists everyone; a nick
/// lists that user if online.
fn who(ctx: &mut Ctx, mask: Option<&str>) -> Result<(), Error> {
    let mask = mask.unwrap_or("*");
    let everyone = mask == "*" || mask.is_empty() || irc_mod::is_channel(mask);
    let users: Vec<UserInfo> = if everyone {
        ctx.state.who().iter().filter_map(|n| info(ctx, n)).collect()
    } else {
        info(ctx, mask).into_iter().collect()
    };
    let mask = shown(mask, 50);
    answer(ctx, &IrcReply::Who { mask: &mask, users: &users })
}

/// `WHOIS [server] <nick>`.
fn whois(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    let Some(nick) = line.params.last().copied().filter(|n| !n.is_empty()) else {
        say(ctx, &IrcReply::NoNickGiven);
        return Ok(());
    };
    let shown = shown(nick, 32);
    match info(ctx, nick) {
        Some(u) => say(ctx, &IrcReply::Whois { user: &u }),
        None => say(ctx, &IrcReply::NoSuchNick { nick: &shown }),
    }
    say(ctx, &IrcReply::EndOfWhois { nick: &shown });
    Ok(())
}

/// The online users among the nicks of the parameters (ISON, USERHOST).
fn online_among(ctx: &Ctx, line: &Line) -> Vec<String> {
    line.params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter_map(|n| ctx.state.display_name(n).map(str::to_string))
        .collect()
}

fn ison(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if need(ctx, line, 1) {
        let nicks = online_among(ctx, line);
        say(ctx, &IrcReply::Ison { nicks: &nicks });
    }
    Ok(())
}

fn userhost(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if need(ctx, line, 1) {
        let nicks: Vec<(String, bool)> = online_among(ctx, line)
            .into_iter()
            .take(5)
            .map(|n| {
                let away = info(ctx, &n).is_some_and(|u| u.away.is_some());
                (n, away)
            })
            .collect();
        say(ctx, &IrcReply::Userhost { nicks: &nicks });
    }
    Ok(())
}

fn lusers(ctx: &mut Ctx) -> Result<(), Error> {
    let users = ctx.state.joined_count();
    let max = irc_mod::note_users(users);
    answer(ctx, &IrcReply::Lusers { users, max })
}

/// `AWAY [text]`: shown to those who PRIVMSG or WHOIS this user.
fn away(ctx: &mut Ctx, text: Option<&str>) -> Result<(), Error> {
    let text = text.map(crate::text::sanitize).map(|t| t.trim().chars().take(AWAY_LEN).collect::<String>());
    let text = text.filter(|t| !t.is_empty());
    let away = text.is_some();
    if let Some(i) = irc(ctx) {
        i.away = text;
    }
    answer(ctx, &IrcReply::AwaySet { away })
}

/// `MODE <target> [modes]`: the channel is `+nt`, users `+`; nothing can
/// be changed. `MODE #chatd b` lists no bans.
fn mode(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if !need(ctx, line, 1) {
        return Ok(());
    }
    let target = line.params[0];
    if target.starts_with(['#', '&']) && !irc_mod::is_channel(target) {
        let shown = shown(target, 50);
        say(ctx, &IrcReply::NoSuchChannel { channel: &shown });
    } else if irc_mod::is_channel(target) && line.param(1).is_some_and(|m| m.trim_start_matches('+') == "b") {
        say(ctx, &IrcReply::BanListEnd);
    } else if irc_mod::is_channel(target) && line.param(1).is_some() {
        say(ctx, &IrcReply::NoOperators { channel: &irc_mod::settings().channel });
    } else {
        say(ctx, &IrcReply::Modes { target });
    }
    Ok(())
}

/// `TOPIC [channel]`: the topic says what the room is; no one sets it.
fn topic(ctx: &mut Ctx, line: &Line) -> Result<(), Error> {
    if line.param(1).is_some() {
        say(ctx, &IrcReply::NoOperators { channel: &irc_mod::settings().channel });
    } else {
        say(ctx, &IrcReply::Topic);
    }
    Ok(())
}

/// `LIST`: the one channel.
fn list(ctx: &mut Ctx) -> Result<(), Error> {
    let users = ctx.state.joined_count();
    answer(ctx, &IrcReply::List { users })
}

/// `HISTORY [n]` (chatd's command, sent raw: `/quote HISTORY 20`): the
/// messages come as PRIVMSGs with their time, then a NOTICE.
fn history(ctx: &mut Ctx, me: &Caller, line: &Line) -> Result<(), Error> {
    let n = match line.param(0) {
        None => None,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                say(ctx, &IrcReply::Notice { text: "usage: HISTORY [n], n a positive number" });
                return Ok(());
            }
        },
    };
    super::history::history(ctx, me, n)
}

#[cfg(test)]
mod tests {
    use super::ctcp_in;

    #[test]
    fn actions_are_kept_and_other_ctcp_dropped() {
        assert_eq!(ctcp_in("hi").as_deref(), Some("hi"));
        assert_eq!(ctcp_in("\u{1}ACTION waves\u{1}").as_deref(), Some("/me waves"));
        assert_eq!(ctcp_in("\u{1}VERSION\u{1}"), None);
    }
}
