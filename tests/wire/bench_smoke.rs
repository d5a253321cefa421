//! chatd-bench works against the real server and counts what it should:
//! a few hundred messages, no loss, no duplicates, no reordering. (A smoke
//! run, not a measurement: speed is never asserted in tests.)
use crate::common::*;
use std::process::Command;
use std::time::{Duration, Instant};

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

/// The scale workload in a tiny configuration: 20 users, 10 senders at 5/s
/// for a second, connected from 2 source addresses. Every receiver must get
/// every other sender's messages once and in order, and the server's CPU
/// time (read from /proc by PID) must be there to divide.
#[test]
fn scale_run_checks_every_receiver_and_reads_the_server_cpu() {
    let s = Server::start_conf(&no_flood(""));
    let pid = s.child.id().to_string();
    let line = bench(
        &s,
        &["-c", "20", "--senders", "10", "--rate", "5", "--seconds", "1", "--sources", "2", "--pid", &pid, "scale"],
    );
    assert_eq!(field(&line, "source_addrs="), "2", "{line}");
    let sent: u64 = field(&line, "sent=").parse().unwrap();
    assert!((1..=50).contains(&sent), "{line}");
    assert_eq!(field(&line, "expected="), (sent * 19).to_string(), "{line}");
    assert_eq!(field(&line, "deliveries="), (sent * 19).to_string(), "{line}");
    assert_eq!(field(&line, "receivers_complete="), "20/20", "{line}");
    for key in ["lost=", "dup=", "reordered=", "errors="] {
        assert_eq!(field(&line, key), "0", "{key} in {line}");
    }
    assert_eq!(field(&line, "check="), "ok", "{line}");
    assert!(field(&line, "cpu_us_per_delivery=").parse::<f64>().is_ok(), "{line}");
    assert!(field(&line, "p99_ms=").parse::<f64>().is_ok(), "{line}");
}

/// The scale check is real: against a relay that drops one delivery and
/// duplicates another, it says FAILED, with the two receivers short of
/// complete.
#[test]
fn scale_check_fails_when_a_delivery_is_lost_or_duplicated() {
    let addr = faulty_relay(20);
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .arg("-a")
        .arg(addr.to_string())
        .args(["-t", "60", "-c", "20", "--senders", "10", "--rate", "5", "--seconds", "1", "scale"])
        .output()
        .expect("run chatd-bench");
    assert!(out.status.success(), "chatd-bench failed: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(field(&line, "check="), "FAILED", "{line}");
    assert_eq!(field(&line, "lost="), "1", "{line}");
    assert_eq!(field(&line, "dup="), "1", "{line}");
    // The message after the lost one comes out of sequence.
    assert_eq!(field(&line, "reordered="), "1", "{line}");
    assert_eq!(field(&line, "receivers_complete="), "18/20", "{line}");
}

#[test]
fn idle_run_spreads_connections_over_source_addresses() {
    let s = Server::start_conf(&no_flood(""));
    let line = bench(&s, &["-c", "30", "--seconds", "0.2", "--sources", "3", "idle"]);
    assert_eq!(field(&line, "joined="), "30", "{line}");
    assert_eq!(field(&line, "source_addrs="), "3", "{line}");
    assert_eq!(field(&line, "broadcast_reached="), "29/29", "{line}");
}

/// A relay in chatd's format for `n` clients that loses the 3rd message on
/// its way to its first receiver and sends the 5th twice to its last (two
/// different clients, so neither fault hides the other): one thread
/// per connection, every thread ends when its client disconnects, the
/// accepting one after `n` clients or 60 s.
fn faulty_relay(n: usize) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    /// Each joined client's name and writer, and the ALL messages so far.
    #[derive(Default)]
    struct Joined(Vec<(String, TcpStream)>, usize);
    let joined: Arc<Mutex<Joined>> = Arc::default();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut accepted = 0;
        while accepted < n && Instant::now() < deadline {
            let Ok((sock, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            accepted += 1;
            sock.set_nonblocking(false).unwrap();
            let joined = Arc::clone(&joined);
            std::thread::spawn(move || {
                let mut out = sock.try_clone().unwrap();
                let mut name = String::new();
                for line in BufReader::new(sock).lines() {
                    let Ok(line) = line else { break };
                    if let Some(n) = line.strip_prefix("JOIN ") {
                        name = n.to_string();
                        let _ = write!(out, "OK JOIN {name} pending=0\r\n");
                        joined.lock().unwrap().0.push((name.clone(), out.try_clone().unwrap()));
                    } else if let Some(text) = line.strip_prefix("ALL ") {
                        let mut g = joined.lock().unwrap();
                        g.1 += 1;
                        let k = g.1;
                        let msg = format!("ALL 2026-01-01T00:00:00Z {name} {text}\r\n");
                        let receivers = g.0.iter().filter(|(to, _)| *to != name).count();
                        let mut others = 0;
                        for (_, w) in g.0.iter_mut().filter(|(to, _)| *to != name) {
                            others += 1;
                            // The first receiver of one message and the last of
                            // another: never the same client, whoever sends them.
                            let copies = match (k, others) {
                                (3, 1) => 0,                   // lost
                                (5, o) if o == receivers => 2, // duplicated
                                _ => 1,
                            };
                            for _ in 0..copies {
                                let _ = w.write_all(msg.as_bytes());
                            }
                        }
                        let _ = write!(out, "OK ALL delivered={others}\r\n");
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn source_addresses_need_ipv4_and_a_sane_count() {
    for (args, says) in [
        (&["-a", "[::1]:5000", "--sources", "2", "idle"][..], "IPv4"),
        (&["-a", "127.0.0.1:5000", "--sources", "251", "idle"][..], "0..250"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A chatd with a TLS listener (`flag`: `--tls-listen` or
/// `--irc-tls-listen`) and the certificate it presents; its address.
fn tls_server(flag: &str, toml: &str) -> (Server, std::net::SocketAddr, std::path::PathBuf) {
    let dir = TempDir::new();
    let (cert, key) = dev_cert(&dir, "cert");
    let args = [flag, "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let s = Server::start_in(dir, &args, toml);
    let addr = s.tls_addr();
    (s, addr, cert)
}

/// chatd-bench --tls against chatd's TLS listener: a broadcast run big
/// enough to span many TLS records per read (20 senders x 50 messages of
/// 300 B), and an idle run whose one broadcast reaches everybody.
#[test]
fn tls_runs_deliver_every_message_once_in_order() {
    let (_s, addr, cert) = tls_server("--tls-listen", &no_flood(""));
    let tls = ["--tls", "--tls-ca", cert.to_str().unwrap()];
    let line = bench_at(addr, &[&tls[..], &["-c", "20", "-m", "50", "-s", "300", "broadcast"]].concat());
    assert_eq!(field(&line, "deliveries="), "19000", "{line}"); // 20 senders x 50 x 19 others
    for key in ["lost=", "dup=", "reordered=", "errors="] {
        assert_eq!(field(&line, key), "0", "{key} in {line}");
    }
    let line = bench_at(addr, &[&tls[..], &["-c", "30", "--seconds", "0.2", "idle"]].concat());
    assert_eq!(field(&line, "joined="), "30", "{line}");
    assert_eq!(field(&line, "broadcast_reached="), "29/29", "{line}");
}

/// chatd-bench --tls --irc against chatd's IRC-over-TLS listener.
#[test]
fn tls_irc_run_delivers_every_message_once_in_order() {
    let (_s, addr, cert) = tls_server("--irc-tls-listen", &no_flood("irc_channel = \"#bench\""));
    let tls = ["--tls", "--tls-ca", cert.to_str().unwrap(), "--irc"];
    let line = bench_at(addr, &[&tls[..], &["-c", "5", "-m", "20", "broadcast"]].concat());
    assert_eq!(field(&line, "deliveries="), "400", "{line}");
    for key in ["lost=", "dup=", "reordered=", "errors="] {
        assert_eq!(field(&line, key), "0", "{key} in {line}");
    }
}

/// The server's certificate is checked: trusting another one, no client
/// gets through its handshake, and the run says so (errors, all lost).
#[test]
fn tls_run_refuses_a_certificate_it_was_not_told_to_trust() {
    let (s, addr, _) = tls_server("--tls-listen", &no_flood(""));
    let (other, _) = dev_cert(&s.dir, "other");
    let line = bench_at(addr, &["--tls", "--tls-ca", other.to_str().unwrap(), "-c", "3", "-m", "5", "broadcast"]);
    assert_eq!(field(&line, "deliveries="), "0", "{line}");
    assert_eq!(field(&line, "lost="), "30", "{line}");
    assert_eq!(field(&line, "errors="), "3", "{line}");
}

/// --tls without a certificate to trust is a usage error; a file that
/// holds none is an error naming it.
#[test]
fn tls_needs_a_certificate_to_trust() {
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench")).args(["--tls", "broadcast"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-ca"), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = TempDir::new();
    let empty = dir.path("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args(["-a", "127.0.0.1:9", "--tls", "--tls-ca", empty.to_str().unwrap(), "broadcast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-ca") && err.contains("no certificate"), "{err}");
}
