//! The database seen from outside the server, as an operator would: SQL
//! through python3's sqlite3 module, another process holding its write
//! lock; and the store tests' starting point (a known user who is offline).

use super::{wait_until, Client, Server, WAIT};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

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
        wait_until(WAIT, "the lock holder to exit", || self.child.try_wait().ok().flatten());
    }
}

impl Drop for DbLock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
