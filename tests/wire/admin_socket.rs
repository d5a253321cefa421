//! The admin socket (`--admin-socket PATH` or `admin_socket` in the config):
//! mode 0600, a stale socket file is replaced at start, a live one or a
//! non-socket is refused (one stderr line, status 2), several operators may
//! be connected, and the file is removed at exit.
use crate::common::*;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::{Command, Stdio};

#[test]
fn socket_has_mode_0600() {
    let s = Operated::start(Via::Socket);
    let meta = std::fs::symlink_metadata(s.admin_path()).expect("admin socket exists");
    assert!(meta.file_type().is_socket(), "{meta:?}");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
}

#[test]
fn socket_from_the_config_file() {
    let dir = TempDir::new();
    let path = dir.path("from-config.sock");
    let toml = format!("admin_socket = {:?}\n", path.to_str().expect("utf-8"));
    let _s = Server::start_in(dir, &[], &toml);
    let mut admin = AdminClient::connect(&path);
    assert_eq!(admin.ask("ACTIVE USERS"), ["OK ACTIVE USERS 0"]);
}

#[test]
fn stale_socket_is_replaced() {
    let dir = TempDir::new();
    let path = dir.path("admin.sock");
    // A socket file nobody listens on any more, as a killed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind stale socket"));
    assert!(path.exists());
    let path_arg = path.to_str().expect("utf-8").to_string();
    let s = Server::start_in(dir, &["--admin-socket", &path_arg], "");
    let mut admin = AdminClient::connect(&path);
    assert_eq!(admin.ask("STATS")[0].split(' ').take(2).collect::<Vec<_>>(), ["OK", "STATS"]);
    let mode = std::fs::metadata(&path).expect("socket").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    drop(s);
}

/// Runs chatd expecting it to fail at start: (exit code, stderr lines).
fn start_fails(args: &[&str]) -> (Option<i32>, Vec<String>) {
    let dir = TempDir::new();
    let out = Command::new(bin())
        .current_dir(&dir.0)
        .args(["-l", "127.0.0.1:0", "-d"])
        .arg(dir.path("chatd.db"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run chatd");
    let err = String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect();
    (out.status.code(), err)
}

#[test]
fn socket_of_a_running_server_is_refused() {
    let s = Operated::start(Via::Socket);
    let path = s.admin_path();
    let shown = path.to_str().expect("utf-8");
    let (code, err) = start_fails(&["--admin-socket", shown]);
    assert_eq!(code, Some(2));
    assert_eq!(err, [format!("chatd: admin socket {shown} is in use by a running server")]);
    // The running server's socket is untouched.
    let mut admin = AdminClient::connect(&path);
    assert_eq!(admin.ask("USERS"), ["OK USERS 0"]);
}

#[test]
fn a_file_that_is_not_a_socket_is_refused() {
    let dir = TempDir::new();
    let path = dir.path("not-a-socket");
    std::fs::write(&path, "keep me\n").expect("write file");
    let shown = path.to_str().expect("utf-8");
    let (code, err) = start_fails(&["--admin-socket", shown]);
    assert_eq!(code, Some(2));
    assert_eq!(err, [format!("chatd: admin socket {shown} exists and is not a socket")]);
    assert_eq!(std::fs::read_to_string(&path).expect("file still there"), "keep me\n");
}

#[test]
fn socket_in_a_missing_directory_is_refused() {
    let dir = TempDir::new();
    let path = dir.path("no/such/dir/admin.sock");
    let shown = path.to_str().expect("utf-8");
    let (code, err) = start_fails(&["--admin-socket", shown]);
    assert_eq!(code, Some(2));
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with(&format!("chatd: cannot create admin socket {shown}: ")), "{err:?}");
}

#[test]
fn several_operators_and_several_commands_per_connection() {
    let mut s = Operated::start(Via::Socket);
    let mut alice = s.join("alice");
    let mut first = AdminClient::connect(&s.admin_path());
    let mut second = AdminClient::connect(&s.admin_path());
    assert_eq!(first.ask("NOTICE one"), ["OK NOTICE 1"]);
    assert_eq!(second.ask("NOTICE two"), ["OK NOTICE 1"]);
    assert_eq!(first.ask("ACTIVE USERS").last().map(String::as_str), Some("OK ACTIVE USERS 1"));
    // Two commands in one write are answered in order; blank lines are ignored.
    first.send("USERS\n\nSTATS");
    assert_eq!(first.try_line(WAIT).as_deref(), Some("USER alice last_seen=online password=no"));
    assert_eq!(first.try_line(WAIT).as_deref(), Some("OK USERS 1"));
    assert!(first.try_line(WAIT).expect("STATS reply").starts_with("OK STATS uptime="));
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> one");
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> two");
    // An operator hanging up does not disturb the others.
    drop(first);
    s.wait_log("console: STATS");
    assert_eq!(second.ask("HISTORY"), ["OK HISTORY 0"]);
    // Replies go back where the command came from: nothing on stdout.
    assert_eq!(s.stdout_line(std::time::Duration::from_millis(200)), None);
}

#[test]
fn socket_is_removed_at_exit() {
    let mut s = Operated::start(Via::Socket);
    let path = s.admin_path();
    let mut other = AdminClient::connect(&path);
    assert_eq!(s.console("EXIT"), ["OK EXIT"]);
    assert!(s.wait_exit(WAIT).success());
    assert!(!path.exists(), "admin socket left behind");
    assert!(other.closed_within(WAIT));
}

#[test]
fn socket_is_removed_after_sigterm() {
    let mut s = Operated::start(Via::Socket);
    let path = s.admin_path();
    assert!(path.exists());
    s.send_signal(libc::SIGTERM);
    assert!(s.wait_exit(WAIT).success());
    assert!(!path.exists(), "admin socket left behind");
}

#[test]
fn an_overlong_line_closes_that_operator_only() {
    let mut s = Operated::start(Via::Socket);
    let mut rude = AdminClient::connect(&s.admin_path());
    // Longer than the 4096-byte limit before its newline.
    rude.send(&"y".repeat(10_000));
    assert!(rude.closed_within(WAIT), "overlong admin line did not close the connection");
    assert_eq!(s.console("ACTIVE USERS"), ["OK ACTIVE USERS 0"]);
}
