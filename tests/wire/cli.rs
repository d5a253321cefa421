//! Protocol section 9, the command line: bad flags, an unreadable or invalid
//! config, or an address that cannot be bound -> exactly one clear line on
//! stderr naming the problem (no log line before it), exit status 2.
//! `-h` and `-V` print to stdout and exit 0.
//!
//! Every run that is expected to fail also gets `-l 127.0.0.1:0` and a
//! temporary database, so a server that wrongly starts does no harm and is
//! killed after `WAIT`.
use crate::common::*;
use std::net::TcpListener;

/// Runs chatd with `args` in a fresh directory; returns (status, stdout, stderr).
fn chatd(dir: &TempDir, args: &[&str]) -> (Option<i32>, String, String) {
    let db = dir.path("chatd.db");
    let mut all = vec!["-d".to_string(), db.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let (status, out, err) = run_program(bin(), &all, b"");
    (status, String::from_utf8_lossy(&out).into_owned(), err)
}

/// Asserts a start-up failure: status 2, nothing on stdout, one stderr
/// line containing every one of `needles`.
fn assert_fails(dir: &TempDir, args: &[&str], needles: &[&str]) {
    let (status, out, err) = chatd(dir, args);
    assert_eq!(status, Some(2), "{args:?}: stdout {out:?} stderr {err:?}");
    assert_eq!(out, "", "{args:?}");
    assert!(err.ends_with('\n') && err.lines().count() == 1, "{args:?}: not one line: {err:?}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} does not mention {n:?}");
    }
}

#[test]
fn an_unknown_flag_is_one_line_and_status_2() {
    let dir = TempDir::new();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "--bogus"], &["bogus"]);
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-x"], &["x"]);
}

#[test]
fn a_flag_without_its_value_is_one_line_and_status_2() {
    let dir = TempDir::new();
    assert_fails(&dir, &["-l"], &["l"]);
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-c"], &["c"]);
}

#[test]
fn a_stray_argument_is_one_line_and_status_2() {
    let dir = TempDir::new();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "stray"], &["stray"]);
}

#[test]
fn an_invalid_listen_address_is_one_line_and_status_2() {
    let dir = TempDir::new();
    assert_fails(&dir, &["-l", "nonsense"], &["nonsense"]);
    assert_fails(&dir, &["-l", "127.0.0.1:99999"], &["127.0.0.1:99999"]);
}

#[test]
fn a_missing_config_file_is_one_line_and_status_2() {
    let dir = TempDir::new();
    let path = dir.path("no-such.toml").display().to_string();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-c", &path], &["no-such.toml"]);
}

#[test]
fn an_unreadable_config_file_is_one_line_and_status_2() {
    let dir = TempDir::new();
    // A directory cannot be read as a file, even by root.
    let path = dir.path("conf.d");
    std::fs::create_dir(&path).expect("mkdir");
    let path = path.display().to_string();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-c", &path], &["conf.d"]);
}

#[test]
fn a_config_with_an_unknown_key_is_one_line_and_status_2() {
    let dir = TempDir::new();
    let path = dir.path("chatd.toml");
    std::fs::write(&path, "max_lines = 5\n").expect("write");
    let path = path.display().to_string();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-c", &path], &["chatd.toml", "max_lines"]);
}

#[test]
fn a_config_with_a_bad_value_is_one_line_and_status_2() {
    let dir = TempDir::new();
    for (i, text) in
        ["max_line = \"big\"\n", "max_line = -1\n", "max_line = 0\n", "this is not toml\n", "[t\n", "a = 1\na = 2\n"]
            .iter()
            .enumerate()
    {
        let path = dir.path(&format!("bad{i}.toml"));
        std::fs::write(&path, text).expect("write");
        let path = path.display().to_string();
        let (status, out, err) = chatd(&dir, &["-l", "127.0.0.1:0", "-c", &path]);
        assert_eq!(status, Some(2), "{text:?}: {out} {err}");
        assert_eq!(err.lines().count(), 1, "{text:?}: {err:?}");
    }
}

/// Issue 13: toml's message for a syntax error runs over two lines
/// (`invalid array` / ``expected `]` ``); chatd folds it into one, and says
/// where in the file.
#[test]
fn a_config_with_a_syntax_error_is_one_line_with_line_and_column() {
    let dir = TempDir::new();
    let path = dir.path("chatd.toml");
    // The `]` is missing at the end of the file: line 3, column 1.
    std::fs::write(&path, "# chatd\nlisten = [\n").expect("write");
    let path = path.display().to_string();
    let (_, _, err) = chatd(&dir, &["-c", &path]);
    assert_eq!(err, format!("chatd: invalid config file {path}: line 3, column 1: invalid array: expected `]`\n"));
    let escape = dir.path("escape.toml");
    std::fs::write(&escape, "db = \"\\q\"\n").expect("write");
    let escape = escape.display().to_string();
    assert_fails(&dir, &["-c", &escape], &["escape.toml: line 1, column 9: invalid escape sequence: expected `b`"]);
}

/// A newline in a path given on the command line cannot split the line:
/// it is written as `\n`.
#[test]
fn a_path_with_a_newline_is_still_one_line() {
    let dir = TempDir::new();
    let path = dir.path("two\nlines.toml").display().to_string();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-c", &path], &["two\\nlines.toml"]);
    assert_fails(&dir, &["-l", "bad\naddress"], &["bad\\naddress"]);
}

/// An argument that is not UTF-8 is a bad flag like any other (Rust's
/// `std::env::args` would panic on it: several lines and status 101).
#[test]
fn an_argument_that_is_not_utf8_is_one_line_and_status_2() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new();
    let out = std::process::Command::new(bin())
        .args(["-l", "127.0.0.1:0", "-d"])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9.db"))
        .current_dir(&dir.0)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chatd");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err, "chatd: argument \"caf\\xE9.db\" is not valid UTF-8 (try chatd -h)\n");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_empty_listen_list_in_the_config_is_refused() {
    let dir = TempDir::new();
    let path = dir.path("chatd.toml");
    std::fs::write(&path, "listen = []\n").expect("write");
    let path = path.display().to_string();
    assert_fails(&dir, &["-c", &path], &["listen"]);
}

#[test]
fn an_address_already_in_use_is_one_line_and_status_2() {
    let dir = TempDir::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    assert_fails(&dir, &["-l", &addr], &[&addr]);
}

#[test]
fn one_bad_address_among_good_ones_fails_the_start() {
    let dir = TempDir::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    assert_fails(&dir, &["-l", "127.0.0.1:0", "-l", &addr], &[&addr]);
}

#[test]
fn an_address_from_the_config_file_that_is_in_use_fails_the_start() {
    let dir = TempDir::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let path = dir.path("chatd.toml");
    std::fs::write(&path, format!("listen = [\"{addr}\"]\n")).expect("write");
    let path = path.display().to_string();
    assert_fails(&dir, &["-c", &path], &[&addr]);
}

#[test]
fn help_prints_usage_to_stdout_and_exits_0() {
    let dir = TempDir::new();
    for flag in ["-h", "--help"] {
        let (status, out, err) = chatd(&dir, &[flag]);
        assert_eq!(status, Some(0), "{flag}: {err}");
        assert!(out.contains("Usage: chatd"), "{out}");
        for opt in ["--listen", "--db", "--config", "--admin-socket", "--help", "--version"] {
            assert!(out.contains(opt), "{flag}: {opt} missing from {out}");
        }
        assert_eq!(err, "", "{flag}");
    }
}

#[test]
fn version_prints_the_version_and_exits_0() {
    let dir = TempDir::new();
    for flag in ["-V", "--version"] {
        let (status, out, err) = chatd(&dir, &[flag]);
        assert_eq!(status, Some(0), "{flag}: {err}");
        assert_eq!(out, format!("chatd {}\n", env!("CARGO_PKG_VERSION")));
        assert_eq!(err, "", "{flag}");
    }
}

#[test]
fn flags_override_the_config_file() {
    // The file says a port that is taken; -l replaces it, so the start works.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let s = Server::start_with(&["-l", "127.0.0.1:0"], &format!("listen = [\"{addr}\"]\nmax_line = 16\n"));
    assert_ne!(s.addr.to_string(), addr);
    // The rest of the file still applies.
    let mut c = s.connect();
    c.send("PING 0123456789abcdef");
    assert_err(&c.line(), "LINE_TOO_LONG");
}

#[test]
fn repeated_listen_flags_open_every_listener() {
    let dir = TempDir::new();
    let s = Server::start_in(dir, &["-l", "127.0.0.1:0", "-l", "127.0.0.1:0"], "");
    let second = s.wait_log("listening on ");
    let second: std::net::SocketAddr =
        second.split("listening on ").nth(1).expect("addr").trim().parse().expect("addr");
    assert_ne!(second, s.addr);
    let mut a = s.join("alice");
    let mut b = Client::connect_raw(second);
    assert!(b.line().starts_with("HELLO chatd "));
    assert_eq!(b.ask("JOIN bob"), "OK JOIN bob pending=0");
    assert_eq!(a.event(), "JOINED <ts> bob");
}

#[test]
fn long_flag_names_work() {
    let dir = TempDir::new();
    let db = dir.path("long.db").display().to_string();
    let conf = dir.path("long.toml");
    std::fs::write(&conf, "max_line = 16\n").expect("write");
    let conf = conf.display().to_string();
    let s = Server::start_in(dir, &["--listen", "127.0.0.1:0", "--db", &db, "--config", &conf], "");
    let mut c = s.connect();
    c.send("PING 0123456789abcdef");
    assert_err(&c.line(), "LINE_TOO_LONG");
}

#[test]
fn an_ipv6_listener_works_where_the_machine_has_ipv6() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let s = Server::start_with(&["-l", "[::1]:0"], "");
    assert!(s.addr.is_ipv6(), "{}", s.addr);
    let mut c = s.connect();
    assert_eq!(c.ask("JOIN six"), "OK JOIN six pending=0");
}
