//! Fuzz target: a line -> a command, through the client command table
//! (`src/command.rs`) for a connection that has joined and one that has
//! not, and through the console's (`src/console/mod.rs`).
//!
//! The input is tried twice: as one line (invalid UTF-8 replaced, as
//! framing does) and as the lines framing makes of it, so the parser also
//! sees what really reaches it. It must never panic, and what it returns
//! must keep the promises the handlers rely on. The matches below name
//! every command of both tables; the wire test `command_table.rs` fails
//! when one is missing or extra.
#![no_main]

use chatd::command::{lookup, parse, Command, Parsed, Spec, MAX_MCAST};
use chatd::console::Command as ConsoleCommand;
use chatd::framing::{decode_all, Frame};
use chatd::dialect::Dialect;
use chatd::reply::{Code, Error, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));
    for frame in decode_all(1024, data).0 {
        if let Frame::Line(line) = frame {
            check(&line);
        }
    }
});

fn check(line: &str) {
    // The console's errors are not checked as one line: an unknown console
    // line is echoed as it came, control characters and all (its sources
    // split lines at LF; the operator reads what they typed).
    if let Ok(parsed) = chatd::console::parse(line) {
        check_console_command(&parsed.command);
    }
    for joined in [false, true] {
        match parse(line, joined) {
            Ok(Parsed { spec, command }) => {
                let named = row_named_by(line);
                assert!(named.is_some_and(|row| std::ptr::eq(row, spec)), "{line:?} ran the row of {}", spec.name);
                // The table's needs column, not a copy of it.
                assert!(joined || !spec.needs_join(), "{command:?} accepted before JOIN from {line:?}");
                check_command(&command);
            }
            Err(e) => {
                if e.code == Code::NotJoined {
                    assert!(!joined && row_named_by(line).is_some_and(Spec::needs_join), "{e} for {line:?}");
                }
                check_error_line(&e, line);
            }
        }
    }
}

/// One wire line, whatever the input held.
fn check_error_line(e: &Error, line: &str) {
    let wire = Dialect::Chatd.reply(&Reply::Err(e));
    assert!(wire.ends_with("\r\n"), "{wire:?}");
    let body = &wire[..wire.len() - 2];
    assert!(!body.contains(['\r', '\n']), "error line split in two: {wire:?}");
    assert!(body.len() <= 512, "error line of {} bytes for {line:?}", body.len());
}

/// The table row a line's first word names, found as protocol section 2
/// says (blanks before it skipped, control characters removed from it),
/// independently of `parse`.
fn row_named_by(line: &str) -> Option<&'static Spec> {
    let word = line.trim_start_matches([' ', '\t']).split([' ', '\t']).next().unwrap_or_default();
    lookup(&chatd::text::sanitize(word))
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && !s.contains([' ', '\t'])
}

/// The promises each command's handler relies on.
fn check_command(cmd: &Command) {
    match cmd {
        Command::Join { name, password } => {
            assert!(is_word(name), "{cmd:?}");
            assert!(password.as_deref().is_none_or(is_word), "{cmd:?}");
        }
        Command::Msg { to, text } => {
            assert!(is_word(to), "{cmd:?}");
            check_text(text, cmd);
        }
        Command::Mcast { to, text, .. } => {
            assert!(!to.is_empty() && to.len() <= MAX_MCAST, "{cmd:?}");
            for (i, a) in to.iter().enumerate() {
                assert!(is_word(a) && !a.contains(','), "{cmd:?}");
                assert!(to[..i].iter().all(|b| !b.eq_ignore_ascii_case(a)), "duplicate in {cmd:?}");
            }
            check_text(text, cmd);
        }
        Command::All { text } => check_text(text, cmd),
        Command::History { n } => assert!(n.is_none_or(|n| n >= 1), "{cmd:?}"),
        Command::Register { password } => assert!(is_word(password), "{cmd:?}"),
        Command::Leave { reason } => {
            if let Some(r) = reason {
                check_text(r, cmd);
            }
        }
        Command::Who | Command::Clock { .. } | Command::Help { .. } | Command::Ping { .. } => {}
    }
}

/// A text argument: the rest of the line, leading blanks removed, not blank.
fn check_text(text: &str, cmd: &Command) {
    assert!(!text.starts_with([' ', '\t']), "{cmd:?}");
    assert!(!text.trim_matches([' ', '\t']).is_empty(), "{cmd:?}");
}

/// The promises the console's handlers rely on.
fn check_console_command(cmd: &ConsoleCommand) {
    match cmd {
        ConsoleCommand::Kick { name, reason } => {
            assert!(!name.is_empty() && !name.contains(char::is_whitespace), "{cmd:?}");
            assert!(reason.as_deref().is_none_or(|r| !r.is_empty() && r.trim() == r), "{cmd:?}");
        }
        ConsoleCommand::Notice { text } => assert!(!text.trim().is_empty(), "{cmd:?}"),
        ConsoleCommand::History { n } => assert!(n.is_none_or(|n| n >= 1), "{cmd:?}"),
        ConsoleCommand::Exit
        | ConsoleCommand::ActiveUsers
        | ConsoleCommand::DeleteBackup
        | ConsoleCommand::Users
        | ConsoleCommand::Stats
        | ConsoleCommand::Help => {}
    }
}
