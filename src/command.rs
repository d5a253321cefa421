//! Commands: a line -> a [`Command`], through one table (protocol section 2).
//!
//! [`TABLE`] holds every command's name, arity, whether it needs a JOIN first,
//! its usage and its HELP text. [`parse`] checks a line against it once, so the
//! handlers in `handlers/` can trust what they get. Pure: no I/O, no state
//! beyond "has this connection joined".

use crate::reply::{Code, Error};

/// Most recipients of one MCAST.
pub const MAX_MCAST: usize = 32;

/// A parsed, well-formed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `JOIN <name> [password]`
    Join { name: String, password: Option<String> },
    /// `MSG <name> <text>`
    Msg { to: String, text: String },
    /// `MCAST <name,name,...> <text>`: names de-duplicated case-insensitively.
    /// `loose_tail` is the list's last word when it joined the list only
    /// because the word before it ended with a comma (`MCAST alice, hi
    /// there` reads `hi` as a name): a person may have meant it as text, so
    /// if a name in it is unknown the error says how the line was read.
    Mcast { to: Vec<String>, text: String, loose_tail: Option<String> },
    /// `ALL <text>`
    All { text: String },
    /// `WHO`
    Who,
    /// `HISTORY [n]`: n is at least 1 (the handler caps it at history_max).
    History { n: Option<usize> },
    /// `REGISTER <password>`
    Register { password: String },
    /// `CLOCK [ON|OFF]`: `None` shows the clock, `Some(on)` switches the
    /// clock field of events on this connection.
    Clock { on: Option<bool> },
    /// `LEAVE [reason]`, alias `QUIT`
    Leave { reason: Option<String> },
    /// `HELP [command]`
    Help { topic: Option<String> },
    /// `PING [token]`
    Ping { token: Option<String> },
}

/// Which command a table row builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Join,
    Msg,
    Mcast,
    All,
    Who,
    History,
    Register,
    Clock,
    Leave,
    Help,
    Ping,
}

/// One row of the command table.
#[derive(Debug)]
pub struct Spec {
    /// The command word, upper case.
    pub name: &'static str,
    kind: Kind,
    /// Fewest and most arguments; a text argument counts as one.
    min: usize,
    max: usize,
    /// The last argument is the rest of the line (leading spaces removed).
    text: bool,
    /// Refused with NOT_JOINED before a successful JOIN.
    pub needs_join: bool,
    /// Shown in `ERR SYNTAX` and HELP.
    pub usage: &'static str,
    /// What it does, for HELP.
    pub help: &'static str,
}

/// Every command the server knows, in HELP order.
#[rustfmt::skip]
pub const TABLE: &[Spec] = &[
    Spec { name: "JOIN", kind: Kind::Join, min: 1, max: 2, text: false, needs_join: false,
        usage: "JOIN <name> [password]", help: "take a name (1-8 letters, digits, _ or -) and enter the chat" },
    Spec { name: "MSG", kind: Kind::Msg, min: 2, max: 2, text: true, needs_join: true,
        usage: "MSG <name> <text>", help: "send a private message to one user (stored if they are offline; MSG bob: hi works too)" },
    Spec { name: "MCAST", kind: Kind::Mcast, min: 2, max: 2, text: true, needs_join: true,
        usage: "MCAST <name,name,...> <text>", help: "send one message to several users (at most 32; the names end at the first word without a comma after it)" },
    Spec { name: "ALL", kind: Kind::All, min: 1, max: 1, text: true, needs_join: true,
        usage: "ALL <text>", help: "send a message to everyone online" },
    Spec { name: "WHO", kind: Kind::Who, min: 0, max: 0, text: false, needs_join: true,
        usage: "WHO", help: "list who is online" },
    Spec { name: "HISTORY", kind: Kind::History, min: 0, max: 1, text: false, needs_join: true,
        usage: "HISTORY [n]", help: "show the last n messages you may see (default 20)" },
    Spec { name: "REGISTER", kind: Kind::Register, min: 1, max: 1, text: false, needs_join: true,
        usage: "REGISTER <password> (one word, 6-64 characters)", help: "protect your name with a password" },
    Spec { name: "CLOCK", kind: Kind::Clock, min: 0, max: 1, text: false, needs_join: true,
        usage: "CLOCK [ON|OFF]", help: "show your vector clock; ON adds message clocks to what you receive" },
    Spec { name: "LEAVE", kind: Kind::Leave, min: 0, max: 1, text: true, needs_join: false,
        usage: "LEAVE [reason]", help: "say goodbye and disconnect (QUIT works too)" },
    Spec { name: "QUIT", kind: Kind::Leave, min: 0, max: 1, text: true, needs_join: false,
        usage: "QUIT [reason]", help: "same as LEAVE" },
    Spec { name: "HELP", kind: Kind::Help, min: 0, max: 1, text: true, needs_join: false,
        usage: "HELP [command]", help: "show this list, or one command" },
    Spec { name: "PING", kind: Kind::Ping, min: 0, max: 1, text: true, needs_join: false,
        usage: "PING [token]", help: "check the server is there; it answers PONG [token]" },
];

/// Finds a command by its word, case-insensitively.
pub fn lookup(word: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name.eq_ignore_ascii_case(word))
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses one line for a connection that has (`joined`) or has not joined.
/// The command word is looked up without control characters (`LEAVE\0` is
/// LEAVE); arguments keep theirs, so a name with one is refused as invalid
/// and the handlers clean message text (protocol section 5).
pub fn parse(line: &str, joined: bool) -> Result<Command, Error> {
    let line = line.trim_start_matches(is_space);
    let (word, rest) = split_word(line);
    let word = crate::text::sanitize(word);
    let Some(spec) = lookup(&word) else {
        return Err(unknown(&word, joined));
    };
    if spec.needs_join && !joined {
        return Err(Error::new(Code::NotJoined, "join first: JOIN <name>"));
    }
    let (glued, loose) = if spec.kind == Kind::Mcast { glue_list(rest) } else { (String::new(), None) };
    let rest = if spec.kind == Kind::Mcast { glued.as_str() } else { rest };
    let args = split_args(rest, spec).ok_or_else(|| syntax(spec))?;
    let mut command = build(spec, args)?;
    if let Command::Mcast { loose_tail, .. } = &mut command {
        *loose_tail = loose.map(str::to_string);
    }
    Ok(command)
}

/// `alice, bob hi` -> `alice,bob hi`: people type a space after a comma.
/// Words are joined while the list ends with, or the next word starts with,
/// a comma. Also returns the last word joined, if it was joined only
/// because the list before it ended with a comma (see `Command::Mcast`).
fn glue_list(rest: &str) -> (String, Option<&str>) {
    let (first, mut tail) = split_word(rest);
    let mut list = first.to_string();
    let mut loose = None;
    loop {
        let (next, after) = split_word(tail);
        if next.is_empty() || !(list.ends_with(',') || next.starts_with(',')) {
            break;
        }
        loose = (!next.starts_with(',')).then_some(next);
        list.push_str(next);
        tail = after;
    }
    if !tail.is_empty() {
        list = format!("{list} {tail}");
    }
    (list, loose)
}

/// `ERR SYNTAX usage: ...` for a command.
pub fn syntax(spec: &Spec) -> Error {
    Error::new(Code::Syntax, format!("usage: {}", spec.usage))
}

fn unknown(word: &str, joined: bool) -> Error {
    let word: String = crate::text::sanitize(word).chars().take(32).collect();
    let hint = if joined {
        "to talk to everyone type ALL <text>, to one person MSG <name> <text>; HELP lists all commands"
    } else {
        "type JOIN <name> to start; HELP lists all commands"
    };
    Error::new(Code::UnknownCommand, format!("{word} is not a command: {hint}"))
}

/// Splits off the first space-separated word.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(is_space) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(is_space)),
        None => (s, ""),
    }
}

/// Splits the arguments by the spec's arity; `None` when the count is wrong.
fn split_args<'a>(mut rest: &'a str, spec: &Spec) -> Option<Vec<&'a str>> {
    let mut args = Vec::with_capacity(spec.max);
    loop {
        if rest.trim_matches(is_space).is_empty() {
            break;
        }
        if spec.text && args.len() + 1 == spec.max {
            args.push(rest);
            break;
        }
        if args.len() == spec.max {
            return None;
        }
        let (w, r) = split_word(rest);
        args.push(w);
        rest = r;
    }
    (args.len() >= spec.min).then_some(args)
}

fn owned(s: Option<&&str>) -> Option<String> {
    s.map(|s| s.to_string())
}

fn build(spec: &Spec, args: Vec<&str>) -> Result<Command, Error> {
    let bad = || syntax(spec);
    Ok(match spec.kind {
        Kind::Join => Command::Join { name: args[0].to_string(), password: owned(args.get(1)) },
        Kind::Msg => Command::Msg { to: addressee(args[0]).to_string(), text: args[1].to_string() },
        Kind::Mcast => Command::Mcast { to: recipients(args[0], spec)?, text: args[1].to_string(), loose_tail: None },
        Kind::All => Command::All { text: args[0].to_string() },
        Kind::Who => Command::Who,
        Kind::History => Command::History { n: optional(args.first(), count).ok_or_else(bad)? },
        Kind::Register => Command::Register { password: args[0].to_string() },
        Kind::Clock => Command::Clock { on: optional(args.first(), switch).ok_or_else(bad)? },
        Kind::Leave => Command::Leave { reason: owned(args.first()) },
        Kind::Help => Command::Help { topic: owned(args.first()) },
        Kind::Ping => Command::Ping { token: owned(args.first()) },
    })
}

/// The MSG recipient as typed, less one `:` or `,` at its end: people
/// address someone in a chat as `bob: hi` or `bob, hi`, and no name can
/// hold either character, so `MSG bob: hi` can only mean bob. A word that
/// is nothing else (`MSG : hi`) is left as it is, to be refused as a name.
fn addressee(word: &str) -> &str {
    match word.strip_suffix([':', ',']) {
        Some(name) if !name.is_empty() => name,
        _ => word,
    }
}

/// Parses an optional argument: absent is `Some(None)`, bad is `None`.
fn optional<T>(arg: Option<&&str>, parse: fn(&str) -> Option<T>) -> Option<Option<T>> {
    match arg {
        Some(a) => parse(a).map(Some),
        None => Some(None),
    }
}

/// A positive count (`HISTORY 10`).
fn count(s: &str) -> Option<usize> {
    s.parse::<usize>().ok().filter(|&n| n > 0)
}

/// `ON` or `OFF`, in any case.
fn switch(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("on") {
        Some(true)
    } else if s.eq_ignore_ascii_case("off") {
        Some(false)
    } else {
        None
    }
}

/// The MCAST list: comma-separated, empty items skipped, duplicates removed
/// case-insensitively (first spelling kept); at most MAX_MCAST names.
fn recipients(list: &str, spec: &Spec) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        return Err(syntax(spec));
    }
    if out.len() > MAX_MCAST {
        return Err(Error::new(
            Code::Syntax,
            format!("at most {MAX_MCAST} names (got {}); usage: {}", out.len(), spec.usage),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line, true).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn err(line: &str, joined: bool) -> Code {
        parse(line, joined).expect_err(line).code
    }

    #[test]
    fn command_word_is_case_insensitive() {
        assert_eq!(ok("who"), Command::Who);
        assert_eq!(ok("Who"), Command::Who);
        assert_eq!(ok("  WHO  "), Command::Who);
    }

    #[test]
    fn join_takes_name_and_optional_password() {
        assert_eq!(ok("JOIN alice"), Command::Join { name: "alice".into(), password: None });
        assert_eq!(ok("join bob  secret1"), Command::Join { name: "bob".into(), password: Some("secret1".into()) });
        assert_eq!(err("JOIN", false), Code::Syntax);
        assert_eq!(err("JOIN a b c", false), Code::Syntax);
    }

    #[test]
    fn text_is_rest_of_line_with_inner_spacing_kept() {
        assert_eq!(ok("MSG bob    hello   there "), Command::Msg { to: "bob".into(), text: "hello   there ".into() });
        assert_eq!(ok("ALL   a  b"), Command::All { text: "a  b".into() });
    }

    #[test]
    fn missing_text_is_a_syntax_error_with_usage() {
        let e = parse("MSG bob", true).unwrap_err();
        assert_eq!(e, Error::new(Code::Syntax, "usage: MSG <name> <text>"));
        assert_eq!(err("MSG bob    ", true), Code::Syntax);
        assert_eq!(err("ALL", true), Code::Syntax);
        assert_eq!(err("MCAST a,b", true), Code::Syntax);
    }

    #[test]
    fn msg_takes_the_chat_habit_of_name_and_colon() {
        let to = |line: &str| match ok(line) {
            Command::Msg { to, .. } => to,
            other => panic!("{other:?}"),
        };
        assert_eq!(to("MSG bob: hi"), "bob");
        assert_eq!(to("MSG bob, hi"), "bob");
        assert_eq!(to("MSG bob:: hi"), "bob:", "only one is dropped");
        assert_eq!(to("MSG : hi"), ":");
        assert_eq!(to("MSG bob:hi there"), "bob:hi", "no space: not the habit");
        assert_eq!(ok("MSG bob: a: b"), Command::Msg { to: "bob".into(), text: "a: b".into() });
    }

    #[test]
    fn extra_arguments_are_a_syntax_error() {
        assert_eq!(err("WHO now", true), Code::Syntax);
    }

    fn mcast(to: &[&str], text: &str, loose_tail: Option<&str>) -> Command {
        let to = to.iter().map(|s| s.to_string()).collect();
        Command::Mcast { to, text: text.into(), loose_tail: loose_tail.map(str::to_string) }
    }

    #[test]
    fn mcast_list_is_deduplicated_case_insensitively() {
        assert_eq!(ok("MCAST bob,Carol,BOB,,dave hi"), mcast(&["bob", "Carol", "dave"], "hi", None));
    }

    #[test]
    fn mcast_list_may_have_spaces_after_commas() {
        assert_eq!(ok("MCAST alice, gina ,bob hi  both"), mcast(&["alice", "gina", "bob"], "hi  both", None));
        assert_eq!(ok("MCAST alice,gina,bob hi  both"), mcast(&["alice", "gina", "bob"], "hi  both", None));
        assert_eq!(err("MCAST alice,", true), Code::Syntax);
    }

    #[test]
    fn mcast_remembers_a_last_name_that_only_a_comma_before_it_made_one() {
        assert_eq!(ok("MCAST alice, bob, hi there"), mcast(&["alice", "bob", "hi"], "there", Some("hi")));
        assert_eq!(ok("MCAST alice, bob hi"), mcast(&["alice", "bob"], "hi", Some("bob")));
        assert_eq!(ok("MCAST alice, bob,carol hi"), mcast(&["alice", "bob", "carol"], "hi", Some("bob,carol")));
        // The comma is next to the word, or the list has no spaces: no doubt.
        assert_eq!(ok("MCAST alice, bob ,carol hi"), mcast(&["alice", "bob", "carol"], "hi", None));
        assert_eq!(ok("MCAST alice,bob hi"), mcast(&["alice", "bob"], "hi", None));
    }

    #[test]
    fn control_characters_do_not_hide_the_command_word() {
        assert_eq!(ok("LEAVE\0"), Command::Leave { reason: None });
        assert_eq!(ok("W\u{1b}HO"), Command::Who);
        // Arguments keep them: the handlers judge names and clean text.
        assert_eq!(ok("MSG bob\u{1b} hi"), Command::Msg { to: "bob\u{1b}".into(), text: "hi".into() });
    }

    #[test]
    fn mcast_allows_at_most_32_names() {
        let names: Vec<String> = (0..33).map(|i| format!("u{i}")).collect();
        let e = parse(&format!("MCAST {} hi", names.join(",")), true).unwrap_err();
        assert_eq!((e.code, e.text.starts_with("at most 32 names (got 33)")), (Code::Syntax, true), "{}", e.text);
        assert!(parse(&format!("MCAST {} hi", names[..32].join(",")), true).is_ok());
        assert_eq!(err("MCAST ,,, hi", true), Code::Syntax);
    }

    #[test]
    fn before_join_only_some_commands_are_allowed() {
        assert_eq!(err("MSG bob hi", false), Code::NotJoined);
        assert_eq!(err("WHO", false), Code::NotJoined);
        assert_eq!(err("ALL", false), Code::NotJoined);
        assert!(parse("PING", false).is_ok());
        assert_eq!(parse("HELP", false), Ok(Command::Help { topic: None }));
        assert_eq!(parse("help msg", false), Ok(Command::Help { topic: Some("msg".into()) }));
        assert!(parse("QUIT", false).is_ok());
    }

    #[test]
    fn unknown_word_says_what_to_type_instead() {
        let e = parse("hello everyone", true).unwrap_err();
        assert_eq!(e.code, Code::UnknownCommand);
        assert!(e.text.contains("ALL <text>"), "{}", e.text);
        let e = parse("hello", false).unwrap_err();
        assert!(e.text.contains("JOIN <name>"), "{}", e.text);
    }

    #[test]
    fn ping_and_leave_take_optional_text() {
        assert_eq!(ok("PING"), Command::Ping { token: None });
        assert_eq!(ok("PING abc"), Command::Ping { token: Some("abc".into()) });
        assert_eq!(ok("QUIT bye now"), Command::Leave { reason: Some("bye now".into()) });
        assert_eq!(ok("LEAVE"), Command::Leave { reason: None });
    }

    #[test]
    fn history_count_must_be_a_positive_number() {
        assert_eq!(ok("HISTORY"), Command::History { n: None });
        assert_eq!(ok("history 5"), Command::History { n: Some(5) });
        for bad in ["HISTORY 0", "HISTORY -1", "HISTORY x", "HISTORY 5 6", "HISTORY 99999999999999999999999"] {
            assert_eq!(err(bad, true), Code::Syntax, "{bad}");
        }
    }

    #[test]
    fn clock_takes_on_or_off() {
        assert_eq!(ok("CLOCK"), Command::Clock { on: None });
        assert_eq!(ok("clock on"), Command::Clock { on: Some(true) });
        assert_eq!(ok("CLOCK Off"), Command::Clock { on: Some(false) });
        assert_eq!(err("CLOCK maybe", true), Code::Syntax);
    }

    #[test]
    fn register_takes_one_password() {
        assert_eq!(ok("REGISTER s3cret!"), Command::Register { password: "s3cret!".into() });
        assert_eq!(err("REGISTER", true), Code::Syntax);
        assert_eq!(err("REGISTER two words", true), Code::Syntax);
        assert_eq!(err("REGISTER secret", false), Code::NotJoined);
    }

    #[test]
    fn every_command_has_usage_and_help() {
        for s in TABLE {
            assert!(s.usage.starts_with(s.name) && !s.help.is_empty(), "{}", s.name);
        }
    }
}
