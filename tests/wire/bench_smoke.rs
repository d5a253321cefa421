//! chatd-bench works against the real server and counts what it should:
//! a few hundred messages, no loss, no duplicates, no reordering. (A smoke
//! run, not a measurement: speed is never asserted in tests.)
use crate::common::*;
use std::process::Command;

fn bench(s: &Server, args: &[&str]) -> String {
    bench_at(s.addr, args)
}

fn bench_at(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .arg("-a")
        .arg(addr.to_string())
        .args(["-t", "60"])
        .args(args)
        .output()
        .expect("run chatd-bench");
    assert!(out.status.success(), "chatd-bench failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ').find_map(|f| f.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {line}"))
}

#[test]
fn broadcast_run_delivers_every_message_once_in_order() {
    let s = Server::start_conf(&no_flood(""));
    let line = bench(&s, &["-c", "5", "-m", "20", "broadcast"]);
    assert_eq!(field(&line, "deliveries="), "400", "{line}"); // 5 senders x 20 x 4 others
    for key in ["lost=", "dup=", "reordered=", "errors="] {
        assert_eq!(field(&line, key), "0", "{key} in {line}");
    }
}

#[test]
fn idle_run_reaches_every_client_with_one_broadcast() {
    let s = Server::start_conf(&no_flood(""));
    let line = bench(&s, &["-c", "50", "--seconds", "0.2", "idle"]);
    assert_eq!(field(&line, "joined="), "50", "{line}");
    assert_eq!(field(&line, "broadcast_reached="), "49/49", "{line}");
}

#[test]
fn websocket_runs_deliver_every_message_once_in_order() {
    let s = Server::start_conf(&no_flood(""));
    let web = s.http_addr();
    let line = bench_at(web, &["--ws", "-c", "5", "-m", "20", "-s", "300", "broadcast"]);
    assert_eq!(field(&line, "deliveries="), "400", "{line}");
    for key in ["lost=", "dup=", "reordered=", "errors="] {
        assert_eq!(field(&line, key), "0", "{key} in {line}");
    }
    let line = bench_at(web, &["--ws", "-c", "30", "--seconds", "0.2", "idle"]);
    assert_eq!(field(&line, "joined="), "30", "{line}");
    assert_eq!(field(&line, "broadcast_reached="), "29/29", "{line}");
}

#[test]
fn a_non_loopback_address_is_refused() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_chatd-bench")).args(["-a", "192.0.2.1:5000", "broadcast"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
