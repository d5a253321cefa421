//! The server console (protocol section 8): operator commands and how they
//! parse.
//!
//! Two sources feed the same commands: standard input (`stdin.rs`, a small
//! thread that wakes the loop) and the optional admin Unix socket
//! (`admin_socket.rs`, connections that live in the loop beside the
//! clients). `server.rs` hands each of their lines to `handlers/console.rs`,
//! which parses it here and carries it out.

mod admin_socket;
mod stdin;

pub use admin_socket::{AdminConn, AdminSocket};
pub use stdin::{spawn_stdin, StdinEvent};

/// Longest operator line, on stdin and on the admin socket.
pub const CONSOLE_MAX_LINE: usize = 4096;

/// An operator command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
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

/// The console's commands, for HELP: (usage, what it does).
pub const HELP: &[(&str, &str)] = &[
    ("EXIT", "tell every user, flush, close the store, exit 0"),
    ("ACTIVE USERS", "list joined users: name, address, joined-at"),
    ("DELETE BACKUP", "delete the conversation log, keeping messages still waiting for offline users"),
    ("USERS", "list every known user: last seen, password set"),
    ("KICK <name> [reason]", "disconnect a user"),
    ("NOTICE <text>", "send NOTICE <ts> <text> to every joined user"),
    ("HISTORY [n]", "the last n messages of the whole log (default 20)"),
    ("STATS", "uptime, connections, joined users, messages, commits, store size"),
    ("HELP", "this list"),
];

/// Parses a console line. Words are case-insensitive; `Err` is the text of
/// an `ERR` reply.
pub fn parse(line: &str) -> Result<AdminCommand, (&'static str, String)> {
    let line = line.trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim_start()),
        None => (line, ""),
    };
    let syntax = |usage: &str| ("SYNTAX", format!("usage: {usage}"));
    let no_args = |cmd: AdminCommand, usage: &str| if rest.is_empty() { Ok(cmd) } else { Err(syntax(usage)) };
    match word.to_ascii_uppercase().as_str() {
        "EXIT" => no_args(AdminCommand::Exit, "EXIT"),
        "ACTIVE" if rest.eq_ignore_ascii_case("users") => Ok(AdminCommand::ActiveUsers),
        "DELETE" if rest.eq_ignore_ascii_case("backup") => Ok(AdminCommand::DeleteBackup),
        "USERS" => no_args(AdminCommand::Users, "USERS"),
        "STATS" => no_args(AdminCommand::Stats, "STATS"),
        "HELP" => Ok(AdminCommand::Help),
        "KICK" => {
            let (name, reason) = match rest.split_once(char::is_whitespace) {
                Some((n, r)) => (n, Some(r.trim().to_string()).filter(|r| !r.is_empty())),
                None => (rest, None),
            };
            if name.is_empty() {
                return Err(syntax("KICK <name> [reason]"));
            }
            Ok(AdminCommand::Kick { name: name.to_string(), reason })
        }
        "NOTICE" if !rest.is_empty() => Ok(AdminCommand::Notice { text: rest.to_string() }),
        "NOTICE" => Err(syntax("NOTICE <text>")),
        "HISTORY" if rest.is_empty() => Ok(AdminCommand::History { n: None }),
        "HISTORY" => match rest.parse::<usize>() {
            Ok(n) if n > 0 => Ok(AdminCommand::History { n: Some(n) }),
            _ => Err(syntax("HISTORY [n]")),
        },
        _ => Err((
            "UNKNOWN_COMMAND",
            format!("{word} {rest} is not a console command; HELP lists them").replace("  ", " "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_case_insensitive() {
        assert_eq!(parse("exit"), Ok(AdminCommand::Exit));
        assert_eq!(parse("Active Users"), Ok(AdminCommand::ActiveUsers));
        assert_eq!(parse("delete   backup"), Ok(AdminCommand::DeleteBackup));
        assert_eq!(parse("stats"), Ok(AdminCommand::Stats));
    }

    #[test]
    fn kick_takes_a_name_and_optional_reason() {
        assert_eq!(parse("KICK bob"), Ok(AdminCommand::Kick { name: "bob".into(), reason: None }));
        assert_eq!(
            parse("kick bob  too loud"),
            Ok(AdminCommand::Kick { name: "bob".into(), reason: Some("too loud".into()) })
        );
        assert_eq!(parse("KICK").unwrap_err().0, "SYNTAX");
    }

    #[test]
    fn notice_and_history_arguments() {
        assert_eq!(parse("NOTICE back in 5"), Ok(AdminCommand::Notice { text: "back in 5".into() }));
        assert_eq!(parse("NOTICE").unwrap_err().0, "SYNTAX");
        assert_eq!(parse("HISTORY 3"), Ok(AdminCommand::History { n: Some(3) }));
        assert_eq!(parse("HISTORY x").unwrap_err().0, "SYNTAX");
    }

    #[test]
    fn unknown_words_are_refused() {
        assert_eq!(parse("ACTIVE").unwrap_err().0, "UNKNOWN_COMMAND");
        assert_eq!(parse("REBOOT").unwrap_err().0, "UNKNOWN_COMMAND");
        assert_eq!(parse("EXIT now").unwrap_err().0, "SYNTAX");
    }
}
