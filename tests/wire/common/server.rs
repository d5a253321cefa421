//! A running chatd (`Server`): started on 127.0.0.1:0 in its own temporary
//! directory with its stderr (the log) read by the harness; joining users,
//! reading the log, signals, stopping and restarting on the same files.

use super::{lines_of, wait_until, Client, TempDir, WAIT};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The chatd binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chatd")
}

/// A TOML config that turns flood control off, for tests that send many
/// lines quickly; `extra` is appended (more keys, one per line).
pub fn no_flood(extra: &str) -> String {
    format!("flood_rate = 0\n{extra}")
}

/// A running chatd process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every stderr line so far arrives here (log lines).
    pub log: mpsc::Receiver<String>,
    pub dir: TempDir,
    /// The IRC listener's address, once read from the log (`irc_addr`).
    irc: std::cell::OnceCell<SocketAddr>,
}

impl Server {
    // ---- starting ----

    /// Starts chatd with default settings on 127.0.0.1:0.
    pub fn start() -> Server {
        Server::start_with(&[], "")
    }

    /// Starts chatd with default flags and this TOML config.
    pub fn start_conf(toml: &str) -> Server {
        Server::start_with(&[], toml)
    }

    /// Starts chatd with extra flags and a TOML config (empty: none).
    pub fn start_with(args: &[&str], toml: &str) -> Server {
        Server::start_in(TempDir::new(), args, toml)
    }

    /// Starts chatd in a given directory (its database lives there), so a
    /// test can restart a server on the same files.
    pub fn start_in(dir: TempDir, args: &[&str], toml: &str) -> Server {
        let mut cmd = Server::command_in(&dir, args);
        if !toml.is_empty() {
            let conf = dir.path("chatd.toml");
            std::fs::write(&conf, toml).expect("write config");
            cmd.arg("-c").arg(conf);
        }
        Server::launch(dir, cmd)
    }

    /// The Command `start_in` runs (flags, temp db, RUST_LOG, stdio), not
    /// yet started (`-c` from `start_in` goes after the test's flags).
    pub fn command_in(dir: &TempDir, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.current_dir(&dir.0)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if !args.iter().any(|a| *a == "-l" || *a == "--listen") {
            cmd.args(["-l", "127.0.0.1:0"]);
        }
        // The page on a port of its own, never the default 5080.
        if !args.contains(&"--http") {
            cmd.args(["--http", "127.0.0.1:0"]);
        }
        if !args.iter().any(|a| *a == "-d" || *a == "--db") {
            cmd.arg("-d").arg(dir.path("chatd.db"));
        }
        // IRC on a port of its own, never the shared default 6667.
        if !args.contains(&"--irc-listen") {
            cmd.args(["--irc-listen", "127.0.0.1:0"]);
        }
        cmd.args(args);
        cmd
    }

    /// Like `start_in`, but `setup` may change the Command (stdio,
    /// environment, `pre_exec`) before the child starts.
    pub fn spawn_custom(dir: TempDir, args: &[&str], setup: impl FnOnce(&mut Command)) -> Server {
        let mut cmd = Server::command_in(&dir, args);
        setup(&mut cmd);
        Server::launch(dir, cmd)
    }

    /// Starts `cmd` (its stderr is piped here) and waits for its
    /// "listening on" log line.
    pub fn launch(dir: TempDir, mut cmd: Command) -> Server {
        cmd.stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chatd");
        let stderr = child.stderr.take().expect("stderr");
        let early = lines_of(stderr);
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        let addr = loop {
            match early.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => match line.split("listening on ").nth(1) {
                    Some(a) => break a.trim().parse().expect("listen address"),
                    None => seen.push(line),
                },
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("chatd did not start listening; stderr: {seen:?}");
                }
            }
        };
        // `log` starts at the first line, so wait_log also finds what was
        // logged before; the "listening on" line that gave `addr` is taken.
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in seen.into_iter().chain(early.iter()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, addr, log, dir, irc: std::cell::OnceCell::new() }
    }

    /// The IRC listener's address, from its "IRC clients on" log line
    /// (logged right after the line protocol's).
    pub fn irc_addr(&self) -> SocketAddr {
        *self.irc.get_or_init(|| {
            let line = self.wait_log("IRC clients on ");
            line.split("IRC clients on ").nth(1).expect("addr").trim().parse().expect("IRC address")
        })
    }

    // ---- users ----

    /// Connects a client and reads its HELLO line.
    pub fn connect(&self) -> Client {
        let mut c = Client::connect_raw(self.addr);
        let hello = c.line();
        assert!(hello.starts_with("HELLO chatd "), "{hello}");
        c
    }

    /// Connects and joins as `name`, asserting success.
    pub fn join(&self, name: &str) -> Client {
        let mut c = self.connect();
        c.send(&format!("JOIN {name}"));
        let ok = c.line();
        assert!(ok.starts_with(&format!("OK JOIN {name} ")), "{ok}");
        c
    }

    /// Joins `name` and has every client in `others` read its `JOINED` line,
    /// so later assertions on those clients start from a clean slate.
    pub fn join_seen_by(&self, name: &str, others: &mut [&mut Client]) -> Client {
        let c = self.join(name);
        for o in others.iter_mut() {
            assert_eq!(o.event(), format!("JOINED <ts> {name}"));
        }
        c
    }

    /// Connects and sends `JOIN <name> <password>`, returning the client and
    /// the reply line.
    pub fn join_with_password(&self, name: &str, password: &str) -> (Client, String) {
        let mut c = self.connect();
        let reply = c.ask(&format!("JOIN {name} {password}"));
        (c, reply)
    }

    // ---- the log ----

    /// Waits for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line containing {needle:?}"),
            }
        }
    }

    /// The browser client's address, from its "web page at" log line
    /// (taken from the log: call it once).
    pub fn http_addr(&self) -> SocketAddr {
        let line = self.wait_log("web page at http://");
        let addr = line.split("web page at http://").nth(1).expect("address").trim().trim_end_matches('/');
        addr.parse().expect("web page address")
    }

    /// Every log line received so far.
    pub fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Panics if a log line so far reports a panic (of any server thread).
    pub fn assert_no_panic_logged(&self) {
        let panics: Vec<String> = self.log_so_far().into_iter().filter(|l| l.contains("panicked")).collect();
        assert!(panics.is_empty(), "the server logged a panic: {panics:?}");
    }

    // ---- the process ----

    /// True while the server process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A size field of the server's `/proc/<pid>/status` (`VmRSS`, `VmHWM`,
    /// ...), in bytes. Linux only, as is the server.
    pub fn proc_status_bytes(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {path}"));
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad line in {path}: {line:?}"));
        kb * 1024
    }

    /// Sends a signal (libc::SIGTERM, ...) to this server, by its PID.
    pub fn send_signal(&self, signal: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's PID; the child is not reaped yet
        // (Drop or wait_exit reap it), so the PID cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits (at most `within`) for the process to end; panics if it does not.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        wait_until(within, "chatd to exit", || self.child.try_wait().expect("try_wait"))
    }

    /// Stops the server the graceful way (SIGTERM) and hands back its
    /// directory for a restart; panics if it has not exited within WAIT.
    pub fn stop(mut self) -> TempDir {
        self.send_signal(libc::SIGTERM);
        self.wait_exit(WAIT);
        self.kill()
    }

    /// Stops the server (SIGKILL) at once and hands back its directory.
    pub fn kill(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, TempDir(PathBuf::new()));
        std::mem::forget(self);
        dir
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path("chatd.db")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
