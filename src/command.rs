//! Commands: a line -> a [`Command`], through one table (protocol section 2).
//!
//! [`TABLE`] is the single source for every client command: its name, how
//! its arguments are cut ([`Arity`]), who may send it ([`Needs`]), its usage
//! and HELP text, and how its [`Command`] is built from the arguments, read
//! in order through an [`Args`] cursor. [`parse`] checks a line against its
//! row once, so the handlers in `handlers/` can trust what they get; each
//! `Command` variant has exactly one handler (`handlers::dispatch`, an
//! exhaustive match the compiler checks). Pure: no I/O, no state beyond "has
//! this connection joined".
//!
//! Adding a command takes three places: its variant and row here, its
//! handler (with the dispatch arm that names it), and its `Reply` variant
//! with its chatd format in `reply.rs`. The README, `docs/protocol.md` and the fuzz target name it
//! too; the wire test `command_table.rs` fails until they do.

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

/// Who may send a command. An enum rather than a bool: peers of another
/// kind (an IRC listener, cluster nodes) will add rows of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Anyone, joined or not.
    Nothing,
    /// A joined connection; refused with NOT_JOINED before a JOIN.
    Join,
}

/// How a command's arguments are cut from the rest of its line. [`parse`]
/// checks the count against it before the row's builder runs, so a wrong
/// count is always `ERR SYNTAX usage: <usage>`, whatever the builder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    /// Fewest and most arguments; a text argument counts as one.
    pub min: usize,
    pub max: usize,
    /// The last argument is the rest of the line (leading spaces removed,
    /// inner and trailing spacing kept).
    pub text: bool,
    /// The first argument is a comma list that may have spaces next to its
    /// commas (`alice, bob hi`); they are glued before the line is cut.
    pub list: bool,
}

impl Arity {
    /// `min` to `max` words.
    pub const fn words(min: usize, max: usize) -> Arity {
        Arity { min, max, text: false, list: false }
    }

    /// `min` to `max` arguments, the last of which is the rest of the line.
    pub const fn text(min: usize, max: usize) -> Arity {
        Arity { min, max, text: true, list: false }
    }

    /// A comma list of names, then text (MCAST).
    pub const fn list_then_text() -> Arity {
        Arity { min: 2, max: 2, text: true, list: true }
    }
}

/// One row of the command table.
#[derive(Debug)]
pub struct Spec {
    /// The command word, upper case.
    pub name: &'static str,
    pub arity: Arity,
    pub needs: Needs,
    /// Shown in `ERR SYNTAX` and HELP.
    pub usage: &'static str,
    /// What it does, for HELP.
    pub help: &'static str,
    /// Builds the command from its arguments (already counted by `arity`).
    /// `Err` is the reply, `ERR SYNTAX usage: ...` for a value it cannot
    /// read (`HISTORY x`).
    build: fn(&mut Args<'_>) -> Result<Command, Error>,
}

impl Spec {
    /// Refused with NOT_JOINED before a successful JOIN.
    pub fn needs_join(&self) -> bool {
        self.needs == Needs::Join
    }
}

/// Every command the server knows, in HELP order. A `static`, so that each
/// row has one address: `Parsed::spec` points at the row that took a line.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    Spec { name: "JOIN", arity: Arity::words(1, 2), needs: Needs::Nothing,
        usage: "JOIN <name> [password]", help: "take a name (1-8 letters, digits, _ or -) and enter the chat",
        build: |a| Ok(Command::Join { name: a.word()?.into(), password: a.optional_word().map(String::from) }) },
    Spec { name: "MSG", arity: Arity::text(2, 2), needs: Needs::Join,
        usage: "MSG <name> <text>", help: "send a private message to one user (stored if they are offline; MSG bob: hi works too)",
        build: |a| Ok(Command::Msg { to: addressee(a.word()?).into(), text: a.text()?.into() }) },
    Spec { name: "MCAST", arity: Arity::list_then_text(), needs: Needs::Join,
        usage: "MCAST <name,name,...> <text>", help: "send one message to several users (at most 32; the names end at the first word without a comma after it)",
        build: mcast },
    Spec { name: "ALL", arity: Arity::text(1, 1), needs: Needs::Join,
        usage: "ALL <text>", help: "send a message to everyone online",
        build: |a| Ok(Command::All { text: a.text()?.into() }) },
    Spec { name: "WHO", arity: Arity::words(0, 0), needs: Needs::Join,
        usage: "WHO", help: "list who is online",
        build: |_| Ok(Command::Who) },
    Spec { name: "HISTORY", arity: Arity::words(0, 1), needs: Needs::Join,
        usage: "HISTORY [n]", help: "show the last n messages you may see (default 20)",
        build: |a| Ok(Command::History { n: a.optional(count)? }) },
    Spec { name: "REGISTER", arity: Arity::words(1, 1), needs: Needs::Join,
        usage: "REGISTER <password> (one word, 6-64 characters)", help: "protect your name with a password",
        build: |a| Ok(Command::Register { password: a.word()?.into() }) },
    Spec { name: "CLOCK", arity: Arity::words(0, 1), needs: Needs::Join,
        usage: "CLOCK [ON|OFF]", help: "show your vector clock; ON adds message clocks to what you receive",
        build: |a| Ok(Command::Clock { on: a.optional(switch)? }) },
    Spec { name: "LEAVE", arity: Arity::text(0, 1), needs: Needs::Nothing,
        usage: "LEAVE [reason]", help: "say goodbye and disconnect (QUIT works too)",
        build: |a| Ok(Command::Leave { reason: a.optional_text().map(String::from) }) },
    Spec { name: "QUIT", arity: Arity::text(0, 1), needs: Needs::Nothing,
        usage: "QUIT [reason]", help: "same as LEAVE",
        build: |a| Ok(Command::Leave { reason: a.optional_text().map(String::from) }) },
    Spec { name: "HELP", arity: Arity::text(0, 1), needs: Needs::Nothing,
        usage: "HELP [command]", help: "show this list, or one command",
        build: |a| Ok(Command::Help { topic: a.optional_text().map(String::from) }) },
    Spec { name: "PING", arity: Arity::text(0, 1), needs: Needs::Nothing,
        usage: "PING [token]", help: "check the server is there; it answers PONG [token]",
        build: |a| Ok(Command::Ping { token: a.optional_text().map(String::from) }) },
];

/// Finds a command by its word, case-insensitively.
pub fn lookup(word: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name.eq_ignore_ascii_case(word))
}

/// A line that passed its row: the row, for handlers that cite its usage,
/// and the command built from it.
#[derive(Debug)]
pub struct Parsed {
    pub spec: &'static Spec,
    pub command: Command,
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses one line for a connection that has (`joined`) or has not joined.
/// The command word is looked up without control characters (`LEAVE\0` is
/// LEAVE); arguments keep theirs, so a name with one is refused as invalid
/// and the handlers clean message text (protocol section 5).
pub fn parse(line: &str, joined: bool) -> Result<Parsed, Error> {
    let line = line.trim_start_matches(is_space);
    let (word, rest) = split_word(line, is_space);
    let word = crate::text::sanitize(word);
    let Some(spec) = lookup(&word) else {
        return Err(unknown(&word, joined));
    };
    if spec.needs_join() && !joined {
        return Err(not_joined());
    }
    let glued = spec.arity.list.then(|| glue_list(rest));
    let (rest, loose_tail) = match &glued {
        Some((list, loose)) => (list.as_str(), *loose),
        None => (rest, None),
    };
    let mut args = Args::split(rest, spec.arity, spec.usage, is_space)?;
    args.loose_tail = loose_tail;
    let command = (spec.build)(&mut args)?;
    args.finish()?;
    Ok(Parsed { spec, command })
}

/// The arguments of one line, cut by its row's [`Arity`] and read in order
/// by the row's builder, as mini-redis's `Parse` reads a frame. Reading
/// past the end is `ERR SYNTAX usage: ...`, never a panic, so a builder out
/// of step with its row's arity refuses lines instead of crashing on them.
#[derive(Debug)]
pub struct Args<'a> {
    pieces: std::vec::IntoIter<&'a str>,
    usage: &'static str,
    /// See `Command::Mcast`; set by `parse` for a row whose arity has a list.
    loose_tail: Option<&'a str>,
}

impl<'a> Args<'a> {
    /// Cuts `rest` (what follows the command word, leading separators
    /// removed) into arguments as `arity` says, `sep` being the separator.
    /// `ERR SYNTAX usage: <usage>` when there are too few or too many.
    pub fn split(
        mut rest: &'a str,
        arity: Arity,
        usage: &'static str,
        sep: fn(char) -> bool,
    ) -> Result<Args<'a>, Error> {
        let mut pieces = Vec::with_capacity(arity.max);
        loop {
            if rest.trim_matches(sep).is_empty() {
                break;
            }
            if arity.text && pieces.len() + 1 == arity.max {
                pieces.push(rest);
                break;
            }
            if pieces.len() == arity.max {
                return Err(syntax(usage));
            }
            let (w, r) = split_word(rest, sep);
            pieces.push(w);
            rest = r;
        }
        if pieces.len() < arity.min {
            return Err(syntax(usage));
        }
        Ok(Args { pieces: pieces.into_iter(), usage, loose_tail: None })
    }

    /// The next argument, which must be there.
    pub fn word(&mut self) -> Result<&'a str, Error> {
        self.pieces.next().ok_or_else(|| self.syntax())
    }

    /// The next argument, if there is one.
    pub fn optional_word(&mut self) -> Option<&'a str> {
        self.pieces.next()
    }

    /// The text argument, which must be there: the rest of the line, as
    /// the row's arity cut it.
    pub fn text(&mut self) -> Result<&'a str, Error> {
        self.word()
    }

    /// The text argument, if there is one.
    pub fn optional_text(&mut self) -> Option<&'a str> {
        self.pieces.next()
    }

    /// The next argument if there is one, read by `read`; one it cannot
    /// read is `ERR SYNTAX usage: ...` (`HISTORY x`).
    pub fn optional<T>(&mut self, read: fn(&str) -> Option<T>) -> Result<Option<T>, Error> {
        match self.pieces.next() {
            None => Ok(None),
            Some(arg) => read(arg).map(Some).ok_or_else(|| self.syntax()),
        }
    }

    /// The comma list (a row whose arity has `list`), with its loose tail
    /// (see `Command::Mcast`).
    pub fn list(&mut self) -> Result<(&'a str, Option<&'a str>), Error> {
        Ok((self.word()?, self.loose_tail.take()))
    }

    /// The row's usage, for errors about one argument.
    pub fn usage(&self) -> &'static str {
        self.usage
    }

    /// `ERR SYNTAX usage: <usage>`.
    pub fn syntax(&self) -> Error {
        syntax(self.usage)
    }

    /// `Ok` once every argument has been read. A builder that leaves one
    /// is out of step with its row's arity: the line is refused rather than
    /// half read.
    pub fn finish(self) -> Result<(), Error> {
        if self.pieces.as_slice().is_empty() {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }
}

/// `alice, bob hi` -> `alice,bob hi`: people type a space after a comma.
/// Words are joined while the list ends with, or the next word starts with,
/// a comma. Also returns the last word joined, if it was joined only
/// because the list before it ended with a comma (see `Command::Mcast`).
fn glue_list(rest: &str) -> (String, Option<&str>) {
    let (first, mut tail) = split_word(rest, is_space);
    let mut list = first.to_string();
    let mut loose = None;
    loop {
        let (next, after) = split_word(tail, is_space);
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

/// `ERR SYNTAX usage: <usage>`, the reply to any malformed command.
pub fn syntax(usage: &str) -> Error {
    Error::new(Code::Syntax, format!("usage: {usage}"))
}

/// `ERR NOT_JOINED`: a command that needs a JOIN, before one.
pub fn not_joined() -> Error {
    Error::new(Code::NotJoined, "join first: JOIN <name>")
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

/// Splits off the first word, `sep` being the separator; the rest loses
/// its leading separators.
pub fn split_word(s: &str, sep: fn(char) -> bool) -> (&str, &str) {
    match s.find(sep) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(sep)),
        None => (s, ""),
    }
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

/// A positive count (`HISTORY 10`).
pub fn count(s: &str) -> Option<usize> {
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

/// MCAST's builder: the list, then the text.
fn mcast(a: &mut Args<'_>) -> Result<Command, Error> {
    let (list, loose_tail) = a.list()?;
    let text = a.text()?;
    Ok(Command::Mcast { to: recipients(list, a)?, text: text.into(), loose_tail: loose_tail.map(String::from) })
}

/// The MCAST list: comma-separated, empty items skipped, duplicates removed
/// case-insensitively (first spelling kept); at most MAX_MCAST names.
fn recipients(list: &str, a: &Args<'_>) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        return Err(a.syntax());
    }
    if out.len() > MAX_MCAST {
        return Err(Error::new(
            Code::Syntax,
            format!("at most {MAX_MCAST} names (got {}); usage: {}", out.len(), a.usage()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line, true).unwrap_or_else(|e| panic!("{line:?}: {e}")).command
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
        assert_eq!(parse("HELP", false).map(|p| p.command), Ok(Command::Help { topic: None }));
        assert_eq!(parse("help msg", false).map(|p| p.command), Ok(Command::Help { topic: Some("msg".into()) }));
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

    /// The row's usage with a word for each required argument (`MSG x x`).
    fn fewest(spec: &Spec) -> String {
        let required = spec.usage.split(' ').skip(1).take_while(|w| w.starts_with('<')).count();
        std::iter::once(spec.name).chain(std::iter::repeat_n("x", required)).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn every_row_builds_from_the_arguments_its_usage_requires() {
        for spec in TABLE {
            let line = fewest(spec);
            let parsed = parse(&line, true).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert!(std::ptr::eq(parsed.spec, spec), "{line:?} parsed as {}", parsed.spec.name);
            assert_eq!(spec.arity.min, line.split(' ').count() - 1, "{}: usage and arity disagree", spec.name);
        }
    }

    #[test]
    fn a_row_is_refused_before_join_exactly_when_it_needs_one() {
        for spec in TABLE {
            let refused = parse(&fewest(spec), false).is_err_and(|e| e.code == Code::NotJoined);
            assert_eq!(refused, spec.needs_join(), "{}", spec.name);
        }
    }

    #[test]
    fn reading_past_the_arguments_is_a_syntax_error_not_a_panic() {
        let mut args = Args::split("a", Arity::words(0, 2), "X [a] [b]", is_space).unwrap();
        assert_eq!(args.word(), Ok("a"));
        assert_eq!(args.optional_word(), None);
        assert_eq!(args.text(), Err(syntax("X [a] [b]")));
        assert_eq!(args.list().map(|l| l.0), Err(syntax("X [a] [b]")));
    }

    #[test]
    fn arguments_left_unread_are_refused() {
        let mut args = Args::split("a b", Arity::words(0, 2), "X [a] [b]", is_space).unwrap();
        assert_eq!(args.word(), Ok("a"));
        assert_eq!(args.finish(), Err(syntax("X [a] [b]")));
    }

    #[test]
    fn arity_cuts_words_and_text() {
        let pieces = |rest, arity| -> Result<Vec<&str>, Error> {
            let args = Args::split(rest, arity, "X", is_space)?;
            Ok(args.pieces.collect())
        };
        assert_eq!(pieces("a  b\tc ", Arity::text(2, 2)), Ok(vec!["a", "b\tc "]));
        assert_eq!(pieces("a  b ", Arity::words(0, 2)), Ok(vec!["a", "b"]));
        assert_eq!(pieces("a b c", Arity::words(0, 2)), Err(syntax("X")));
        assert_eq!(pieces("   ", Arity::text(1, 1)), Err(syntax("X")));
    }
}
