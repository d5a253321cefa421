//! Processes: waiting for something to happen (`wait_until`, the one
//! polling loop), running a program to completion on given input (nc, or
//! chatd with flags that make it exit), chatd expected to refuse to start,
//! and reading a pipe line by line.

use super::{bin, TempDir, WAIT};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Calls `ready` every 20 ms until it returns `Some`, for at most `within`;
/// returns that value, or `None` once `within` has passed. For a wait whose
/// end the caller handles (kill what it started, report what it has).
pub fn poll_until<T>(within: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`poll_until`] for what must happen: panics, saying it waited `within`
/// for `what`, if `ready` has not returned `Some` by then.
pub fn wait_until<T>(within: Duration, what: &str, ready: impl FnMut() -> Option<T>) -> T {
    poll_until(within, ready).unwrap_or_else(|| panic!("waited {within:?} for {what}"))
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
    let status = match poll_until(WAIT, || child.try_wait().expect("wait")) {
        Some(status) => status.code(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let _ = writer.join();
    (status, out_reader.join().unwrap_or_default(), err_reader.join().unwrap_or_default())
}

/// Runs chatd in `dir` (database `dir/chatd.db` unless `args` names one)
/// expecting it to exit by itself within WAIT; returns the exit code and the
/// stderr lines.
pub fn run_to_exit(dir: &TempDir, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut cmd = Command::new(bin());
    cmd.current_dir(&dir.0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.args(["-l", "127.0.0.1:0", "--irc-listen", "127.0.0.1:0"]);
    if !args.iter().any(|a| *a == "-d" || *a == "--db") {
        cmd.arg("-d").arg(dir.path("chatd.db"));
    }
    cmd.args(args);
    let mut child = cmd.spawn().expect("start chatd");
    let status = poll_until(WAIT, || child.try_wait().expect("wait for chatd")).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("chatd kept running; expected it to refuse to start");
    });
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
    (status.code(), stderr.lines().map(str::to_string).collect())
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
