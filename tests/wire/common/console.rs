//! The operator's console: `Operated` is a chatd with its stdin and stdout
//! on pipes and an admin socket in its directory; `console` sends a command
//! over either (`Via`) and reads the reply up to its `OK`/`ERR` line.

use super::client::{read_crlf_line, wait_closed};
use super::{lines_of, Server, TempDir, WAIT};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Where console commands are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The server's standard input; replies on its standard output.
    Stdin,
    /// The admin Unix socket; replies on the same connection.
    Socket,
}

/// A console reply is complete at its `OK` or `ERR` line.
fn ends_reply(line: &str) -> bool {
    line.starts_with("OK ") || line.starts_with("ERR ")
}

/// A connection to the admin socket.
pub struct AdminClient {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl AdminClient {
    pub fn connect(path: &Path) -> AdminClient {
        let stream = UnixStream::connect(path).expect("connect to admin socket");
        stream.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        AdminClient { stream, buf: Vec::new() }
    }

    pub fn send(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\n").as_bytes()).expect("write to admin socket");
    }

    /// The next line (CRLF checked and removed), or None after `wait` or at EOF.
    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        read_crlf_line(&mut self.stream, &mut self.buf, wait)
    }

    /// Sends a command and returns its reply, up to and including the
    /// `OK`/`ERR` line.
    pub fn ask(&mut self, line: &str) -> Vec<String> {
        self.send(line);
        let mut reply = Vec::new();
        loop {
            let l = self.try_line(WAIT).unwrap_or_else(|| panic!("no console reply to {line:?}; so far {reply:?}"));
            let done = ends_reply(&l);
            reply.push(l);
            if done {
                return reply;
            }
        }
    }

    /// True once the server has closed this connection.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        wait_closed(&mut self.stream, &mut self.buf, wait)
    }
}

/// A chatd whose console is reachable: stdin and stdout on pipes, and an
/// admin socket at `admin.sock` in its directory. Derefs to its `Server`.
pub struct Operated {
    pub server: Server,
    pub via: Via,
    stdin: Option<ChildStdin>,
    stdout: mpsc::Receiver<String>,
    admin: Option<AdminClient>,
}

impl Operated {
    /// Starts chatd with its console on pipes and an admin socket; `via`
    /// chooses where `console` sends commands.
    pub fn start(via: Via) -> Operated {
        Operated::start_with(via, &[])
    }

    pub fn start_with(via: Via, args: &[&str]) -> Operated {
        Operated::start_custom(via, TempDir::new(), args, |_| {})
    }

    /// The general form: a given directory, extra flags, and a `setup` of
    /// the Command as in `Server::spawn_custom`.
    pub fn start_custom(via: Via, dir: TempDir, args: &[&str], setup: impl FnOnce(&mut Command)) -> Operated {
        let sock = dir.path("admin.sock");
        let mut all: Vec<&str> = vec!["--admin-socket", sock.to_str().expect("utf-8 temp path")];
        all.extend_from_slice(args);
        let mut server = Server::spawn_custom(dir, &all, |cmd| {
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
            setup(cmd);
        });
        let stdin = server.child.stdin.take();
        let stdout = lines_of(server.child.stdout.take().expect("stdout"));
        Operated { server, via, stdin, stdout, admin: None }
    }

    pub fn admin_path(&self) -> PathBuf {
        self.server.dir.path("admin.sock")
    }

    /// Types a console line on stdin (nothing is read back).
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("write to chatd stdin");
        stdin.flush().expect("flush chatd stdin");
    }

    /// Closes the server's standard input (end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next line on the server's stdout, within `wait`.
    pub fn stdout_line(&mut self, wait: Duration) -> Option<String> {
        self.stdout.recv_timeout(wait).ok()
    }

    /// Runs a console command where `via` says; returns the reply, up to and
    /// including its `OK`/`ERR` line.
    pub fn console(&mut self, line: &str) -> Vec<String> {
        match self.via {
            Via::Stdin => {
                self.type_line(line);
                let mut reply = Vec::new();
                loop {
                    let l = self
                        .stdout_line(WAIT)
                        .unwrap_or_else(|| panic!("no console reply to {line:?} on stdout; so far {reply:?}"));
                    let done = ends_reply(&l);
                    reply.push(l);
                    if done {
                        return reply;
                    }
                }
            }
            Via::Socket => {
                let path = self.admin_path();
                self.admin.get_or_insert_with(|| AdminClient::connect(&path)).ask(line)
            }
        }
    }
}

impl std::ops::Deref for Operated {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for Operated {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}
