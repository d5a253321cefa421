//! systemd integration, without systemd: socket activation (a listening
//! socket passed as fd 3 with LISTEN_FDS/LISTEN_PID), readiness and
//! stopping notifications and watchdog pings on a NOTIFY_SOCKET.
use crate::common::*;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// chatd started the way systemd starts an activated service: `fd` becomes
/// its fd 3 (SD_LISTEN_FDS_START), LISTEN_FDS=1, and LISTEN_PID is its own
/// PID, set in the child between fork and exec. With `own_pid` false,
/// LISTEN_PID names another process (PID 1) instead.
///
/// The variables are set with setenv inside `pre_exec`, and so is RUST_LOG:
/// once a Command has any `env`/`env_remove`, std execs with the environment
/// it captured before the fork and ignores setenv in `pre_exec`, so this
/// Command must not use them.
fn activated(dir: &TempDir, fd: RawFd, own_pid: bool) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(&dir.0)
        .args(["-l", "127.0.0.1:0", "-d"])
        .arg(dir.path("chatd.db"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: between fork and exec only dup2, fcntl, getpid, setenv and
    // unsetenv run (std holds its environment lock across the fork, and
    // glibc keeps malloc usable in the child of a fork).
    unsafe {
        cmd.pre_exec(move || {
            let check = |rc: libc::c_int| if rc == -1 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
            if fd == 3 {
                // dup2 onto itself would keep FD_CLOEXEC: clear it instead.
                check(libc::fcntl(3, libc::F_SETFD, 0))?;
            } else {
                check(libc::dup2(fd, 3))?;
            }
            let pid = if own_pid { libc::getpid() } else { 1 };
            let pid = std::ffi::CString::new(pid.to_string()).expect("no NUL in a number");
            check(libc::setenv(c"LISTEN_PID".as_ptr(), pid.as_ptr(), 1))?;
            check(libc::setenv(c"LISTEN_FDS".as_ptr(), c"1".as_ptr(), 1))?;
            check(libc::unsetenv(c"LISTEN_FDNAMES".as_ptr()))?;
            check(libc::setenv(c"RUST_LOG".as_ptr(), c"info".as_ptr(), 1))?;
            Ok(())
        });
    }
    cmd
}

#[test]
fn socket_activation() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let fd = listener.as_raw_fd();
    // The -l 127.0.0.1:0 given would bind another port: the passed socket wins.
    let dir = TempDir::new();
    let cmd = activated(&dir, fd, true);
    let s = Server::launch(dir, cmd);
    drop(listener); // the child has its own copy
    assert_eq!(s.addr, addr, "chatd is not listening on the passed socket");
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(bob.ask("MSG alice through systemd's socket"), "OK MSG alice delivered");
    assert_eq!(mask_ts(&alice.line()), "MSG <ts> bob through systemd's socket");
}

#[test]
fn socket_activation_is_logged() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let fd = listener.as_raw_fd();
    let dir = TempDir::new();
    let cmd = activated(&dir, fd, true);
    let s = Server::launch(dir, cmd);
    drop(listener);
    s.wait_log("using 1 listening socket(s) from systemd; listen settings ignored");
}

#[test]
fn listen_fds_for_another_process_are_ignored() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let passed = listener.local_addr().expect("addr");
    let fd = listener.as_raw_fd();
    let dir = TempDir::new();
    let cmd = activated(&dir, fd, false);
    let s = Server::launch(dir, cmd);
    assert_ne!(s.addr, passed, "chatd took a socket that was not for it");
    assert_eq!(s.addr.ip().to_string(), "127.0.0.1");
    s.join("alice");
}

/// A NOTIFY_SOCKET in the server's directory; returns (dir, socket).
fn notify_socket() -> (TempDir, UnixDatagram, String) {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let path = path.to_str().expect("utf-8").to_string();
    (dir, sock, path)
}

/// The next datagram within `wait`.
fn datagram(sock: &UnixDatagram, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    None
}

#[test]
fn ready_and_stopping_are_notified() {
    let (dir, sock, path) = notify_socket();
    let mut s = Operated::start_custom(Via::Stdin, dir, &[], |cmd| {
        cmd.env("NOTIFY_SOCKET", &path);
    });
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("READY=1"));
    // Ready means serving.
    let mut alice = s.join("alice");
    assert_eq!(datagram(&sock, Duration::from_millis(300)), None);
    assert_eq!(s.console("EXIT"), ["OK EXIT"]);
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("STOPPING=1"));
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> server shutting down");
    assert_eq!(s.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn stopping_is_notified_on_sigterm() {
    let (dir, sock, path) = notify_socket();
    let mut s = Server::spawn_custom(dir, &[], |cmd| {
        cmd.env("NOTIFY_SOCKET", &path);
    });
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("READY=1"));
    s.send_signal(libc::SIGTERM);
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("STOPPING=1"));
    assert_eq!(s.wait_exit(WAIT).code(), Some(0));
}

#[test]
fn watchdog_pings_at_half_the_interval() {
    let (dir, sock, path) = notify_socket();
    // WATCHDOG_USEC=400ms: a ping every 200 ms or so, also while idle.
    let s = Server::spawn_custom(dir, &[], |cmd| {
        cmd.env("NOTIFY_SOCKET", &path).env("WATCHDOG_USEC", "400000").env_remove("WATCHDOG_PID");
    });
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("READY=1"));
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(datagram(&sock, WAIT).as_deref(), Some("WATCHDOG=1"));
    }
    // The first ping comes right after READY, the next ones at least 200 ms
    // apart: 5 take at least 800 ms (700 leaves room for READY's own delay).
    // The upper bound is generous, so that a loaded CI machine does not fail
    // the test; it still catches pings 10 times too slow. Speed belongs in
    // the benchmarks.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(10), "5 pings took {took:?}");
    drop(s);
}

#[test]
fn watchdog_for_another_process_is_ignored() {
    let (dir, sock, path) = notify_socket();
    let s = Server::spawn_custom(dir, &[], |cmd| {
        cmd.env("NOTIFY_SOCKET", &path).env("WATCHDOG_USEC", "200000").env("WATCHDOG_PID", "1");
    });
    assert_eq!(datagram(&sock, WAIT).as_deref(), Some("READY=1"));
    assert_eq!(datagram(&sock, Duration::from_millis(600)), None);
    drop(s);
}
