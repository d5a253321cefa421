//! Programs other than a serving chatd: any program run to completion on
//! given input (nc, or chatd with flags that make it exit), chatd expected
//! to refuse to start, and reading a pipe line by line.

use super::{bin, TempDir, WAIT};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
