//! Clean shutdown (protocol section 8): EXIT on either console, SIGTERM and
//! SIGINT all tell every joined user `NOTICE <ts> server shutting down`,
//! flush, close the store and exit with status 0. A second signal during
//! shutdown exits at once.
use crate::common::*;
use std::time::{Duration, Instant};

/// Everything a graceful shutdown promises, once it has been asked for.
fn assert_graceful(s: &mut Server, users: &mut [&mut Client]) {
    for c in users.iter_mut() {
        assert_eq!(mask_ts(&c.line()), "NOTICE <ts> server shutting down");
        assert!(c.closed_within(WAIT), "connection still open after shutdown");
    }
    let status = s.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{status:?}");
    s.wait_log(&format!("shutting down: told {} user(s)", users.len()));
    s.wait_log("shutdown complete");
    // The store was closed cleanly: SQLite checkpointed and removed its WAL.
    let wal = s.dir.path("chatd.db-wal");
    assert!(!wal.exists(), "{} left behind", wal.display());
}

#[test]
fn exit_on_stdin() {
    let mut s = Operated::start(Via::Stdin);
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    let _lurker = s.connect(); // not joined: gets no NOTICE
    assert_eq!(s.console("exit"), ["OK EXIT"]);
    assert_graceful(&mut s, &mut [&mut alice, &mut bob]);
}

#[test]
fn exit_on_admin_socket() {
    let mut s = Operated::start(Via::Socket);
    let mut alice = s.join("alice");
    assert_eq!(s.console("Exit"), ["OK EXIT"]);
    assert_graceful(&mut s, &mut [&mut alice]);
    assert!(!s.admin_path().exists(), "admin socket left behind");
}

#[test]
fn sigterm() {
    let mut s = Server::start();
    let mut alice = s.join("alice");
    s.send_signal(libc::SIGTERM);
    s.wait_log("SIGTERM: shutting down");
    assert_graceful(&mut s, &mut [&mut alice]);
}

#[test]
fn sigint() {
    let mut s = Server::start();
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    s.send_signal(libc::SIGINT);
    s.wait_log("SIGINT: shutting down");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_graceful(&mut s, &mut [&mut alice, &mut bob]);
}

#[test]
fn nobody_joined() {
    let mut s = Server::start();
    s.send_signal(libc::SIGTERM);
    assert_graceful(&mut s, &mut []);
}

#[test]
fn users_are_last_seen_at_shutdown() {
    let mut s = Operated::start(Via::Stdin);
    let mut alice = s.join("alice");
    assert_eq!(s.console("EXIT"), ["OK EXIT"]);
    assert_graceful(&mut s, &mut [&mut alice]);
    let dir = std::mem::replace(&mut s.server.dir, TempDir::new());
    drop(s);
    let mut s = Operated::start_with(Via::Stdin, &["-d", dir.path("chatd.db").to_str().expect("utf-8")]);
    let reply = s.console("USERS");
    let seen = reply[0].strip_prefix("USER alice last_seen=").and_then(|r| r.strip_suffix(" password=no"));
    assert_ts(seen.unwrap_or_else(|| panic!("{reply:?}")));
    assert_eq!(reply[1], "OK USERS 1");
}

#[test]
fn second_signal_exits_at_once() {
    // A client that never reads keeps output pending, so the shutdown
    // flush would wait its full bounded time; a second SIGTERM cuts it short.
    let mut s = Server::start_with(&[], "flood_rate = 0\nmax_sendq = 67108864\n");
    let mut sleeper = s.join("sleeper");
    let mut talker = s.join("talker");
    assert_eq!(mask_ts(&sleeper.line()), "JOINED <ts> talker");
    let text = "x".repeat(1000);
    let mut batch = String::new();
    for _ in 0..100 {
        batch.push_str(&format!("MSG sleeper {text}\n"));
    }
    // About 16 MB for the sleeper: more than the kernel buffers hold.
    for _ in 0..160 {
        talker.send_raw(batch.as_bytes());
        for _ in 0..100 {
            assert_eq!(talker.line(), "OK MSG sleeper delivered");
        }
    }
    s.send_signal(libc::SIGTERM);
    s.wait_log("shutting down: told 2 user(s)");
    let asked = Instant::now();
    s.send_signal(libc::SIGTERM);
    let status = s.wait_exit(WAIT);
    assert!(asked.elapsed() < Duration::from_secs(1), "second signal took {:?}", asked.elapsed());
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status:?}");
    s.wait_log("SIGTERM during shutdown: exiting now");
    drop(sleeper);
}
