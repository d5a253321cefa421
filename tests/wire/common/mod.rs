//! Test harness: starts the real `chatd` binary on a free loopback port with
//! a temporary database, and talks to it over TCP.
//!
//! The server is asked to listen on port 0; the harness reads the port from
//! its "listening on" log line, so tests never race for ports. Every server is
//! killed by its PID when the `Server` value is dropped.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for an expected line before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "chatd-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running chatd process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every stderr line so far arrives here (log lines).
    pub log: mpsc::Receiver<String>,
    pub dir: TempDir,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chatd")
}

impl Server {
    /// Starts chatd with default settings on 127.0.0.1:0.
    pub fn start() -> Server {
        Server::start_with(&[], "")
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

    /// Stops the server (SIGKILL) and hands back its directory.
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

/// A TCP client that speaks the line protocol.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects without reading anything.
    pub fn connect_raw(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        Client { stream, buf: Vec::new() }
    }

    /// Sends one line with LF.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next line (CRLF checked and removed); panics after WAIT.
    pub fn line(&mut self) -> String {
        self.try_line(WAIT).unwrap_or_else(|| panic!("no line within {WAIT:?}; buffered: {:?}", self.buf))
    }

    /// The next line within `wait`, or None.
    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        read_crlf_line(&mut self.stream, &mut self.buf, wait)
    }

    /// Reads lines until one starts with `prefix`; returns it. Lines before
    /// it are returned too, in order, as the first element.
    pub fn until(&mut self, prefix: &str) -> (Vec<String>, String) {
        let mut before = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return (before, l);
            }
            before.push(l);
        }
    }

    /// Sends a command and returns its reply line.
    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }

    /// Asserts nothing arrives within `wait`.
    pub fn expect_silence(&mut self, wait: Duration) {
        if let Some(l) = self.try_line(wait) {
            panic!("expected no line, got {l:?}");
        }
    }

    /// True once the server has closed the connection (reads EOF).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        wait_closed(&mut self.stream, &mut self.buf, wait)
    }
}

/// The next CRLF-terminated line from `stream` (CRLF checked and removed),
/// using `buf` for bytes read past it; None after `wait` or at end of file.
/// Client sockets and the admin socket share it.
fn read_crlf_line(stream: &mut impl Read, buf: &mut Vec<u8>, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let mut raw: Vec<u8> = buf.drain(..=i).collect();
            assert!(raw.ends_with(b"\r\n"), "server line without CRLF: {raw:?}");
            raw.truncate(raw.len() - 2);
            return Some(String::from_utf8(raw).expect("server sent invalid UTF-8"));
        }
        if Instant::now() >= deadline {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
}

/// True once the peer has closed `stream` (end of file or an error) within
/// `wait`; bytes read meanwhile are kept in `buf`.
fn wait_closed(stream: &mut impl Read, buf: &mut Vec<u8>, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// The `<ts>` field must be RFC 3339 UTC with seconds.
pub fn assert_ts(ts: &str) {
    let b = ts.as_bytes();
    let ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && ts.chars().filter(|c| c.is_ascii_digit()).count() == 14;
    assert!(ok, "bad timestamp {ts:?}");
}

/// Splits an event line into its first `n` fields and the rest.
pub fn fields(line: &str, n: usize) -> Vec<String> {
    line.splitn(n + 1, ' ').map(str::to_string).collect()
}

/// Whether a path exists (for db files).
pub fn exists(p: &Path) -> bool {
    p.exists()
}

// ---------------------------------------------------------------------------
// Additions for the protocol tests (issue 3).
// ---------------------------------------------------------------------------

/// A TOML config that turns flood control off, for tests that send many
/// lines quickly; `extra` is appended (more keys, one per line).
pub fn no_flood(extra: &str) -> String {
    format!("flood_rate = 0\n{extra}")
}

impl Server {
    /// Starts chatd with default flags and this TOML config.
    pub fn start_conf(toml: &str) -> Server {
        Server::start_with(&[], toml)
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
}

// ---- helpers for the durable-store tests (issue 4) ------------------------

impl Server {
    /// Stops the server and hands back its directory for a restart: SIGTERM
    /// first (the graceful way), SIGKILL if it is still running after WAIT.
    pub fn stop(mut self) -> TempDir {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill()
    }

    /// Connects and sends `JOIN <name> <password>`, returning the client and
    /// the reply line.
    pub fn join_with_password(&self, name: &str, password: &str) -> (Client, String) {
        let mut c = self.connect();
        let reply = c.ask(&format!("JOIN {name} {password}"));
        (c, reply)
    }

    /// Every log line received so far.
    pub fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Client {
    /// The next line with its `<ts>` field (the second word of an event)
    /// checked by [`assert_ts`] and replaced by the literal `<ts>`, so a test
    /// can compare whole event lines: `MSG <ts> alice hi`.
    pub fn event(&mut self) -> String {
        mask_ts(&self.line())
    }

    /// Sends `PING <token>` and reads up to its `PONG <token>`; returns the
    /// lines before it. A barrier: everything the server had queued for this
    /// client before the PING has arrived once this returns.
    pub fn sync(&mut self, token: &str) -> Vec<String> {
        self.send(&format!("PING {token}"));
        let (before, _) = self.until(&format!("PONG {token}"));
        before
    }

    /// Asserts that the next line is `PONG <token>` after sending PING:
    /// nothing else was waiting for this client.
    pub fn assert_nothing_pending(&mut self, token: &str) {
        assert_eq!(self.ask(&format!("PING {token}")), format!("PONG {token}"));
    }

    /// Reads raw bytes until the bytes read so far (from the start of this
    /// call's buffer) contain `needle`; returns everything up to and
    /// including it. For telnet answers, which are not lines.
    pub fn raw_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return self.buf.drain(..i + needle.len()).collect();
            }
            assert!(Instant::now() < deadline, "no {needle:?} within {WAIT:?}; buffered: {:?}", self.buf);
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("connection closed before {needle:?}; buffered: {:?}", self.buf),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Sends bytes one write at a time with a short pause between them, so
    /// the server sees them in separate reads (as from a slow typist).
    pub fn send_slowly(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.send_raw(p);
            self.stream.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Reads the next line and asserts it is `<kind> <ts> <rest>` with a
    /// valid `<ts>`; returns the `<ts>`.
    pub fn event_ts(&mut self, kind: &str, rest: &str) -> String {
        let line = self.line();
        let ts = ts_of(&line);
        assert_eq!(line, format!("{kind} {ts} {rest}"));
        ts
    }

    /// Sends `HISTORY [n]` and returns the HISTORY lines, checking that the
    /// reply is closed by `OK HISTORY <count>` with the right count.
    pub fn history(&mut self, command: &str) -> Vec<String> {
        self.send(command);
        self.history_reply()
    }

    /// Reads HISTORY lines up to `OK HISTORY <count>` (also used after JOIN
    /// with history_on_join).
    pub fn history_reply(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if l.starts_with("OK HISTORY") {
                assert_eq!(l, format!("OK HISTORY {}", lines.len()));
                return lines;
            }
            assert!(l.starts_with("HISTORY "), "not a HISTORY line: {l:?}");
            lines.push(l);
            assert!(lines.len() <= 1000, "HISTORY reply does not end");
        }
    }
}

/// Replaces the `<ts>` field of an event line (its second word) by the
/// literal `<ts>` after checking it with [`assert_ts`]. Lines of other kinds
/// (OK, ERR, PONG, HELP, HELLO) are returned unchanged.
pub fn mask_ts(line: &str) -> String {
    const EVENTS: [&str; 7] = ["ALL", "MSG", "MCAST", "JOINED", "LEFT", "NOTICE", "HISTORY"];
    let mut parts = line.splitn(3, ' ');
    let kind = parts.next().unwrap_or("");
    if !EVENTS.contains(&kind) {
        return line.to_string();
    }
    let ts = parts.next().unwrap_or("");
    assert_ts(ts);
    match parts.next() {
        Some(rest) => format!("{kind} <ts> {rest}"),
        None => format!("{kind} <ts>"),
    }
}

/// Asserts an error reply: `ERR <code> <free text>` with some free text.
pub fn assert_err(line: &str, code: &str) {
    let prefix = format!("ERR {code} ");
    assert!(line.starts_with(&prefix) && line.len() > prefix.len(), "expected ERR {code} ...: {line:?}");
}

/// Runs a program to completion with `stdin` as its input, killing it after
/// WAIT. Returns (exit status, stdout, stderr); status is None if killed.
pub fn run_program(program: &str, args: &[&str], stdin: &[u8]) -> (Option<i32>, Vec<u8>, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
        // dropping `input` closes the program's stdin
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + WAIT;
    let status = loop {
        match child.try_wait().expect("wait") {
            Some(st) => break st.code(),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let _ = writer.join();
    (status, out_reader.join().unwrap_or_default(), err_reader.join().unwrap_or_default())
}

/// The `<ts>` (second field) of an event or HISTORY line, checked.
pub fn ts_of(line: &str) -> String {
    let ts = line.split(' ').nth(1).unwrap_or_else(|| panic!("no <ts> in {line:?}"));
    assert_ts(ts);
    ts.to_string()
}

/// Runs chatd in `dir` (database `dir/chatd.db` unless `args` names one)
/// expecting it to exit by itself within WAIT; returns the exit code and the
/// stderr lines.
pub fn run_to_exit(dir: &TempDir, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut cmd = Command::new(bin());
    cmd.current_dir(&dir.0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.args(["-l", "127.0.0.1:0"]);
    if !args.iter().any(|a| *a == "-d" || *a == "--db") {
        cmd.arg("-d").arg(dir.path("chatd.db"));
    }
    cmd.args(args);
    let mut child = cmd.spawn().expect("start chatd");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chatd") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chatd kept running; expected it to refuse to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
    (status.code(), stderr.lines().map(str::to_string).collect())
}

/// Runs a Python snippet with `db` bound to an sqlite3 connection to `path`
/// and returns what it prints (trimmed). For looking inside the database
/// from outside the server, as an operator would.
pub fn python_sql(path: &Path, code: &str) -> String {
    let script = format!("import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1], timeout=5)\n{code}\n");
    let out = Command::new("python3").arg("-c").arg(script).arg(path).output().expect("run python3");
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Another process holding the database's write lock (`BEGIN EXCLUSIVE`)
/// until dropped or released.
pub struct DbLock {
    child: Child,
}

impl DbLock {
    /// Starts python3, takes the lock, and returns once it is held.
    pub fn hold(path: &Path) -> DbLock {
        let script = "import sqlite3, sys\n\
            db = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)\n\
            db.execute('BEGIN EXCLUSIVE')\n\
            print('locked', flush=True)\n\
            sys.stdin.readline()\n\
            db.execute('ROLLBACK')\n\
            db.close()\n";
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let got = rx.recv_timeout(WAIT).unwrap_or_default();
        if got.trim() != "locked" {
            let _ = child.kill();
            let _ = child.wait();
            panic!("python3 could not lock the database");
        }
        DbLock { child }
    }

    /// Releases the lock and waits for the process to end.
    pub fn release(mut self) {
        drop(self.child.stdin.take()); // EOF: the script rolls back and exits
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the lock holder did not exit");
    }
}

impl Drop for DbLock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client {
    /// The next `n` lines, sorted: for a reply and an event whose relative
    /// order the protocol leaves open (a sender's own copy of an MCAST).
    pub fn lines_sorted(&mut self, n: usize) -> Vec<String> {
        let mut lines: Vec<String> = (0..n).map(|_| self.line()).collect();
        lines.sort();
        lines
    }
}

// ---- operations: console on pipes, admin socket, exit status, signals ------
//
// The harness above starts chatd with stdin and stdout on /dev/null. The
// operations tests need the console: `Operated` starts chatd with both on
// pipes (and an admin socket in its temporary directory), and speaks to the
// console over either. `Server::spawn_custom` lets a test change the child's
// Command before it starts (environment, inherited file descriptors).

use std::os::unix::net::UnixStream;
use std::process::{ChildStdin, ExitStatus};

impl Server {
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
        if !args.iter().any(|a| *a == "-d" || *a == "--db") {
            cmd.arg("-d").arg(dir.path("chatd.db"));
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
        Server { child, addr, log, dir }
    }

    /// Waits (at most `within`) for the process to end; panics if it does not.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "chatd still running after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (libc::SIGTERM, ...) to this server, by its PID.
    pub fn send_signal(&self, signal: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's PID; the child is not reaped yet
        // (Drop or wait_exit reap it), so the PID cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }
}

/// Every line a reader produces, on a channel, from a thread.
pub fn lines_of(reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

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

/// Replaces the `<ts>` field (the second word) of an event line with
/// `<ts>`, after checking it is RFC 3339 UTC.
pub fn blank_ts(line: &str) -> String {
    let mut f: Vec<&str> = line.splitn(3, ' ').collect();
    assert!(f.len() >= 2, "no <ts> field in {line:?}");
    assert_ts(f[1]);
    f[1] = "<ts>";
    f.join(" ")
}

// ---- helpers for the hardening tests ----------------------------------------

impl Server {
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

    /// True while the server process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Panics if a log line so far reports a panic (of any server thread).
    pub fn assert_no_panic_logged(&self) {
        let panics: Vec<String> = self.log_so_far().into_iter().filter(|l| l.contains("panicked")).collect();
        assert!(panics.is_empty(), "the server logged a panic: {panics:?}");
    }
}

/// A small seeded pseudo-random generator (xorshift64*), so random test
/// input is the same on every run and a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Store tests' starting point: bob is known and offline; alice and carol
/// are online (alice has read carol's JOINED).
pub fn bob_offline(s: &Server) -> (Client, Client) {
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    let mut alice = s.join("alice");
    let carol = s.join("carol");
    alice.event_ts("JOINED", "carol");
    (alice, carol)
}
