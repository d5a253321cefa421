//! The server console (protocol section 8): where operator lines come from
//! and how they parse.
//!
//! Two sources feed the same commands: standard input, read by a small
//! thread that wakes the loop (end of file disables it and nothing else),
//! and an optional admin Unix socket (mode 0600) whose connections live in
//! the loop beside the clients. `handlers/admin.rs` carries the commands out.

use mio::net::{UnixListener, UnixStream};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

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
    ("STATS", "uptime, connections, joined users, messages and commits since start, store and WAL size"),
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

/// What the stdin thread hands to the loop.
#[derive(Debug)]
pub enum StdinEvent {
    Line(String),
    /// A line longer than CONSOLE_MAX_LINE, thrown away whole.
    TooLong,
    Eof,
}

/// Longest operator line, on stdin and on the admin socket.
pub const CONSOLE_MAX_LINE: usize = 4096;

/// Starts the thread that reads standard input line by line and wakes the
/// loop for each line; it ends at end of file.
pub fn spawn_stdin(waker: Arc<mio::Waker>) -> io::Result<mpsc::Receiver<StdinEvent>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name("chatd-stdin".into()).spawn(move || {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let event = match read_bounded_line(&mut lock, &mut buf) {
                Ok(0) | Err(_) => StdinEvent::Eof,
                Ok(_) if buf.len() > CONSOLE_MAX_LINE => StdinEvent::TooLong,
                Ok(_) => StdinEvent::Line(String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string()),
            };
            let eof = matches!(event, StdinEvent::Eof);
            if tx.send(event).is_err() || waker.wake().is_err() || eof {
                break;
            }
        }
    })?;
    Ok(rx)
}

/// Reads one line into `buf`, keeping at most CONSOLE_MAX_LINE + 1 bytes of
/// it: a longer line is read to its end and thrown away (`buf` then holds
/// more than CONSOLE_MAX_LINE bytes, so the caller can tell). Returns the
/// bytes read, 0 at end of file.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(total);
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (CONSOLE_MAX_LINE + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..used.min(room)]);
        input.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

/// Longest admin socket line; a longer one closes that admin connection.
const ADMIN_MAX_LINE: usize = CONSOLE_MAX_LINE;

/// One admin socket connection.
pub struct AdminConn {
    pub stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pub want_write: bool,
    pub closed: bool,
}

impl AdminConn {
    pub fn new(stream: UnixStream) -> AdminConn {
        AdminConn { stream, inbuf: Vec::new(), out: Vec::new(), want_write: false, closed: false }
    }

    /// Reads what is there (to `WouldBlock`) and returns the complete lines.
    pub fn read_lines(&mut self) -> Vec<String> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
            if self.inbuf.len() > ADMIN_MAX_LINE && !self.inbuf.contains(&b'\n') {
                self.closed = true;
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(i) = self.inbuf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.inbuf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_string();
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    }

    pub fn queue(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// Writes what it can; true when everything is out.
    pub fn flush(&mut self) -> bool {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => {
                    self.closed = true;
                    return true;
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return true;
                }
            }
        }
        true
    }
}

/// The admin socket: a listener bound with mode 0600, replacing a stale
/// socket file, and removed again when dropped.
pub struct AdminSocket {
    pub listener: UnixListener,
    path: PathBuf,
}

impl AdminSocket {
    pub fn bind(path: &Path) -> Result<AdminSocket, String> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let shown = path.display();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(format!("admin socket {shown} exists and is not a socket"));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(format!("admin socket {shown} is in use by a running server"));
            }
            std::fs::remove_file(path).map_err(|e| format!("cannot remove stale admin socket {shown}: {e}"))?;
        }
        // Bind under a umask that leaves no window with a wider mode.
        let listener = with_umask(0o177, || UnixListener::bind(path))
            .map_err(|e| format!("cannot create admin socket {shown}: {e}"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot set mode of admin socket {shown}: {e}"))?;
        Ok(AdminSocket { listener, path: path.to_path_buf() })
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn with_umask<T>(mask: libc::mode_t, f: impl FnOnce() -> T) -> T {
    // SAFETY: umask only swaps the process file-creation mask. chatd's other
    // threads (password worker, stdin reader) create no files.
    let old = unsafe { libc::umask(mask) };
    let result = f();
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    result
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
    fn a_long_stdin_line_is_read_whole_and_flagged() {
        let long = format!("NOTICE {}EXIT\nSTATS\n", "x".repeat(CONSOLE_MAX_LINE));
        let mut input = io::BufReader::with_capacity(64, long.as_bytes());
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut input, &mut buf).unwrap() > CONSOLE_MAX_LINE);
        assert_eq!(buf.len(), CONSOLE_MAX_LINE + 1);
        buf.clear();
        read_bounded_line(&mut input, &mut buf).unwrap();
        assert_eq!(buf, b"STATS\n");
        buf.clear();
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), 0);
    }

    #[test]
    fn unknown_words_are_refused() {
        assert_eq!(parse("ACTIVE").unwrap_err().0, "UNKNOWN_COMMAND");
        assert_eq!(parse("REBOOT").unwrap_err().0, "UNKNOWN_COMMAND");
        assert_eq!(parse("EXIT now").unwrap_err().0, "SYNTAX");
    }
}
