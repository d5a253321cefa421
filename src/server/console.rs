//! The operator console's I/O: lines typed on stdin (read by a thread) and
//! the admin socket's connections; each line runs through the console
//! handlers and its reply goes back where it came from.

use super::tokens::Source;
use super::Server;
use crate::console::{AdminConn, StdinEvent};
use crate::handlers::console::{self as console_cmd, ConsoleCtx};
use mio::Interest;
use std::io;

impl Server {
    /// What a console command may touch.
    fn console_ctx(&mut self) -> ConsoleCtx<'_> {
        ConsoleCtx { state: &mut self.state, store: &mut self.store, config: &self.config, started: self.started }
    }

    /// Runs one console line; returns its reply lines.
    fn console_line(&mut self, line: &str) -> Vec<String> {
        log::info!("console: {}", line.trim());
        let (reply, outcome) = console_cmd::run(&mut self.console_ctx(), line);
        if outcome == console_cmd::Outcome::Exit {
            self.exit = true;
        }
        // DELETE BACKUP and friends answer only for what is committed.
        self.commit();
        reply
    }

    /// Lines typed on stdin; replies go to stdout.
    pub(super) fn stdin_lines(&mut self) {
        use std::io::Write;
        let events: Vec<StdinEvent> = match &self.stdin {
            Some(rx) => rx.try_iter().collect(),
            None => return,
        };
        for event in events {
            match event {
                StdinEvent::Line(line) if line.trim().is_empty() => {}
                StdinEvent::Line(_) | StdinEvent::TooLong => {
                    let reply = match event {
                        StdinEvent::Line(line) => self.console_line(&line),
                        _ => vec![crate::reply::console::error(&crate::reply::Error::new(
                            crate::reply::Code::LineTooLong,
                            format!(
                                "console lines are limited to {} bytes; that line was ignored",
                                crate::console::CONSOLE_MAX_LINE
                            ),
                        ))],
                    };
                    let mut out = std::io::stdout().lock();
                    for l in reply {
                        let _ = writeln!(out, "{l}");
                    }
                    let _ = out.flush();
                }
                StdinEvent::Eof => {
                    log::info!("stdin closed: console disabled (the admin socket, if any, still works)");
                    self.stdin = None;
                }
            }
        }
    }

    /// New operator connections on the admin socket.
    pub(super) fn accept_admin(&mut self) {
        let Some(admin) = self.admin.as_mut() else { return };
        loop {
            match admin.listener.accept() {
                Ok((mut stream, _)) => {
                    let entry = self.admin_conns.vacant_entry();
                    let token = Source::Admin(entry.key()).token();
                    if self.poll.registry().register(&mut stream, token, Interest::READABLE).is_ok() {
                        entry.insert(AdminConn::new(stream));
                        log::info!("admin socket: operator connected");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("admin socket accept: {e}");
                    return;
                }
            }
        }
    }

    /// An operator connection is readable or writable: its lines run, its
    /// replies go out.
    pub(super) fn admin_ready(&mut self, key: usize) {
        let Some(conn) = self.admin_conns.get_mut(key) else { return };
        let lines = conn.read_lines();
        for line in lines {
            let reply = self.console_line(&line);
            if let Some(conn) = self.admin_conns.get_mut(key) {
                for l in reply {
                    conn.queue_line(&l);
                }
            }
        }
        let Some(conn) = self.admin_conns.get_mut(key) else { return };
        let done = conn.flush();
        if conn.closed {
            let mut conn = self.admin_conns.remove(key);
            let _ = self.poll.registry().deregister(&mut conn.stream);
            return;
        }
        if done == conn.want_write {
            let interest = if done { Interest::READABLE } else { Interest::READABLE | Interest::WRITABLE };
            let _ = self.poll.registry().reregister(&mut conn.stream, Source::Admin(key).token(), interest);
            conn.want_write = !done;
        }
    }
}
