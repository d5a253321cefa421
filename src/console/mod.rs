//! The server console (protocol section 8): the operator's commands, in
//! one table, and how a line parses against it.
//!
//! Two sources feed the same commands: standard input (`stdin.rs`, a small
//! thread that wakes the loop) and the optional admin Unix socket
//! (`admin_socket.rs`, connections that live in the loop beside the
//! clients). `server.rs` hands each of their lines to `handlers/console.rs`,
//! which parses it here and carries it out.
//!
//! [`TABLE`] works as the client's (`command.rs`) does, and shares its
//! [`Arity`] and [`Args`] cursor: one row per command with its words,
//! arity, usage, HELP text and the builder of its [`Command`], whose one
//! handler is the matching arm in `handlers/console.rs`. Unlike the client,
//! words are separated by any whitespace, and a command may be two words.
//! The README, `docs/protocol.md` and the fuzz target name every command;
//! the wire test `command_table.rs` holds them to this table.

mod admin_socket;
mod stdin;

pub use admin_socket::{AdminConn, AdminSocket};
pub use stdin::{spawn_stdin, StdinEvent};

use crate::command::{self, Args, Arity};
use crate::reply::{Code, Error};

/// Longest operator line, on stdin and on the admin socket.
pub const CONSOLE_MAX_LINE: usize = 4096;

/// An operator command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exit,
    ActiveUsers,
    DeleteBackup,
    Users,
    Kick { name: String, reason: Option<String> },
    Notice { text: String },
    History { n: Option<usize> },
    Stats,
    Help,
}

/// One row of the console table.
#[derive(Debug)]
pub struct Spec {
    /// The command, upper case: one word, or two (`ACTIVE USERS`), which
    /// must then be the whole line.
    pub name: &'static str,
    pub arity: Arity,
    /// Shown in `ERR SYNTAX` and HELP.
    pub usage: &'static str,
    /// What it does, for HELP.
    pub help: &'static str,
    /// Builds the command from its arguments (already counted by `arity`).
    build: fn(&mut Args<'_>) -> Result<Command, Error>,
}

/// Every console command, in HELP order.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    Spec { name: "EXIT", arity: Arity::words(0, 0),
        usage: "EXIT", help: "tell every user, flush, close the store, exit 0",
        build: |_| Ok(Command::Exit) },
    Spec { name: "ACTIVE USERS", arity: Arity::words(0, 0),
        usage: "ACTIVE USERS", help: "list joined users: name, address, joined-at",
        build: |_| Ok(Command::ActiveUsers) },
    Spec { name: "DELETE BACKUP", arity: Arity::words(0, 0),
        usage: "DELETE BACKUP", help: "delete the conversation log, keeping messages still waiting for offline users",
        build: |_| Ok(Command::DeleteBackup) },
    Spec { name: "USERS", arity: Arity::words(0, 0),
        usage: "USERS", help: "list every known user: last seen, password set",
        build: |_| Ok(Command::Users) },
    Spec { name: "KICK", arity: Arity::text(1, 2),
        usage: "KICK <name> [reason]", help: "disconnect a user",
        build: |a| Ok(Command::Kick { name: a.word()?.into(), reason: a.optional_text().map(str::trim).filter(|r| !r.is_empty()).map(String::from) }) },
    Spec { name: "NOTICE", arity: Arity::text(1, 1),
        usage: "NOTICE <text>", help: "send NOTICE <ts> <text> to every joined user",
        build: |a| Ok(Command::Notice { text: a.text()?.into() }) },
    Spec { name: "HISTORY", arity: Arity::words(0, 1),
        usage: "HISTORY [n]", help: "the last n messages of the whole log (default 20)",
        build: |a| Ok(Command::History { n: a.optional(command::count)? }) },
    Spec { name: "STATS", arity: Arity::words(0, 0),
        usage: "STATS", help: "uptime, connections, joined users, messages and commits since start, store and WAL size",
        build: |_| Ok(Command::Stats) },
    // HELP has always ignored what follows it rather than refuse it.
    Spec { name: "HELP", arity: Arity::text(0, 1),
        usage: "HELP", help: "this list",
        build: |a| { let _ignored = a.optional_text(); Ok(Command::Help) } },
];

/// A line that passed its row: the row, for handlers that cite its usage,
/// and the command built from it.
#[derive(Debug)]
pub struct Parsed {
    pub spec: &'static Spec,
    pub command: Command,
}

/// Parses a console line. Words are case-insensitive and separated by any
/// whitespace; `Err` is the `ERR` reply.
pub fn parse(line: &str) -> Result<Parsed, Error> {
    let line = line.trim();
    let (word, rest) = command::split_word(line, char::is_whitespace);
    for spec in TABLE {
        let args = match spec.name.split_once(' ') {
            Some((first, second)) if word.eq_ignore_ascii_case(first) && rest.eq_ignore_ascii_case(second) => "",
            None if word.eq_ignore_ascii_case(spec.name) => rest,
            _ => continue,
        };
        let mut args = Args::split(args, spec.arity, spec.usage, char::is_whitespace)?;
        let command = (spec.build)(&mut args)?;
        args.finish()?;
        return Ok(Parsed { spec, command });
    }
    let text = format!("{word} {rest} is not a console command; HELP lists them").replace("  ", " ");
    Err(Error::new(Code::UnknownCommand, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Result<Command, Error> {
        parse(line).map(|p| p.command)
    }

    fn err(line: &str) -> Error {
        parse(line).expect_err(line)
    }

    #[test]
    fn commands_are_case_insensitive() {
        assert_eq!(cmd("exit"), Ok(Command::Exit));
        assert_eq!(cmd("Active Users"), Ok(Command::ActiveUsers));
        assert_eq!(cmd("delete   backup"), Ok(Command::DeleteBackup));
        assert_eq!(cmd("stats"), Ok(Command::Stats));
    }

    #[test]
    fn kick_takes_a_name_and_optional_reason() {
        assert_eq!(cmd("KICK bob"), Ok(Command::Kick { name: "bob".into(), reason: None }));
        assert_eq!(
            cmd("kick bob  too loud"),
            Ok(Command::Kick { name: "bob".into(), reason: Some("too loud".into()) })
        );
        assert_eq!(
            cmd("KICK\tbob\u{3000}too  loud "),
            Ok(Command::Kick { name: "bob".into(), reason: Some("too  loud".into()) })
        );
        assert_eq!(err("KICK"), Error::new(Code::Syntax, "usage: KICK <name> [reason]"));
    }

    #[test]
    fn notice_and_history_arguments() {
        assert_eq!(cmd("NOTICE back in 5"), Ok(Command::Notice { text: "back in 5".into() }));
        assert_eq!(err("NOTICE"), Error::new(Code::Syntax, "usage: NOTICE <text>"));
        assert_eq!(cmd("HISTORY 3"), Ok(Command::History { n: Some(3) }));
        assert_eq!(cmd("HISTORY"), Ok(Command::History { n: None }));
        for bad in ["HISTORY x", "HISTORY 0", "HISTORY 5 6"] {
            assert_eq!(err(bad), Error::new(Code::Syntax, "usage: HISTORY [n]"), "{bad}");
        }
    }

    #[test]
    fn help_ignores_what_follows_it() {
        assert_eq!(cmd("HELP"), Ok(Command::Help));
        assert_eq!(cmd("help me  please"), Ok(Command::Help));
    }

    #[test]
    fn unknown_words_are_refused() {
        assert_eq!(err("ACTIVE").code, Code::UnknownCommand);
        assert_eq!(err("REBOOT").code, Code::UnknownCommand);
        assert_eq!(err("EXIT now"), Error::new(Code::Syntax, "usage: EXIT"));
    }

    #[test]
    fn a_two_word_command_is_the_whole_line() {
        let unknown = |text: &str| Error::new(Code::UnknownCommand, text);
        assert_eq!(err("ACTIVE"), unknown("ACTIVE is not a console command; HELP lists them"));
        assert_eq!(err("active users now"), unknown("active users now is not a console command; HELP lists them"));
        assert_eq!(
            err("DELETE  the   backup"),
            unknown("DELETE the  backup is not a console command; HELP lists them")
        );
    }

    #[test]
    fn every_command_has_usage_and_help() {
        for s in TABLE {
            assert!(s.usage.starts_with(s.name) && !s.help.is_empty(), "{}", s.name);
            assert_eq!(
                parse(s.name).map(|p| p.spec.name),
                if s.arity.min == 0 { Ok(s.name) } else { Err(err(s.name)) }
            );
        }
    }
}
