//! TLS on a listener (issue 17): `tls_listen` serves the line protocol over
//! TLS with `tls_cert`/`tls_key`; a TLS user and a plain nc user are in one
//! conversation; a protected name's password works over TLS; SIGHUP
//! reloads the certificate for new connections and keeps the old one if
//! the new files are broken; clients that do not speak TLS, or never
//! finish the handshake, end only their own connection.
use crate::common::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// A server with a plain listener and a TLS one.
struct Tls {
    s: Server,
    /// The TLS listener.
    addr: SocketAddr,
    /// The certificate it presents, and its key.
    cert: PathBuf,
    key: PathBuf,
}

fn tls_server(toml: &str) -> Tls {
    let dir = TempDir::new();
    let (cert, key) = dev_cert(&dir, "cert");
    let args =
        ["--tls-listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let s = Server::start_in(dir, &args, toml);
    Tls { addr: s.tls_addr(), s, cert, key }
}

#[test]
fn a_tls_user_and_a_plain_user_chat_both_ways() {
    let Tls { s, addr, cert, .. } = tls_server("");
    let mut secure = TlsClient::connect(addr, &cert);
    assert!(secure.ask("JOIN sec").starts_with("OK JOIN sec "));
    let mut plain = s.join("plain");
    assert_eq!(mask_ts(&secure.line()), "JOINED <ts> plain");
    assert_eq!(plain.ask("ALL hello over there"), "OK ALL delivered=1");
    assert_eq!(mask_ts(&secure.line()), "ALL <ts> plain hello over there");
    assert_eq!(secure.ask("MSG plain and back, encrypted"), "OK MSG plain delivered");
    assert_eq!(plain.event(), "MSG <ts> sec and back, encrypted");
    assert_eq!(secure.ask("WHO"), "OK WHO 2 plain sec");
    assert_eq!(secure.ask("QUIT"), "OK LEAVE");
    assert!(secure.closed_within(WAIT));
    assert_eq!(plain.event(), "LEFT <ts> sec");
}

#[test]
fn a_protected_name_joins_with_its_password_over_tls() {
    let Tls { s: _s, addr, cert, .. } = tls_server("");
    let mut first = TlsClient::connect(addr, &cert);
    assert!(first.ask("JOIN vault").starts_with("OK JOIN vault "));
    assert_eq!(first.ask("REGISTER correct-horse"), "OK REGISTER");
    assert_eq!(first.ask("QUIT"), "OK LEAVE");
    let mut wrong = TlsClient::connect(addr, &cert);
    assert!(wrong.ask("JOIN vault nope").starts_with("ERR AUTH"));
    let mut right = TlsClient::connect(addr, &cert);
    assert!(right.ask("JOIN vault correct-horse").starts_with("OK JOIN vault "));
}

#[test]
fn sighup_gives_new_connections_the_new_certificate_and_keeps_open_ones() {
    let Tls { s, addr, cert, key } = tls_server("");
    let before = cert_der(&cert);
    let mut open = TlsClient::connect(addr, &cert);
    assert!(open.ask("JOIN stays").starts_with("OK JOIN stays "));
    assert_eq!(open.server_cert(), before);

    // A renewal: new files in place, then SIGHUP.
    let (new_cert, new_key) = dev_cert(&s.dir, "renewed");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    s.send_signal(libc::SIGHUP);
    s.wait_log("TLS certificate and key reloaded");
    let renewed = TlsClient::connect(addr, &cert);
    assert_eq!(renewed.server_cert(), cert_der(&new_cert));
    assert_ne!(renewed.server_cert(), before);
    assert_eq!(open.ask("PING still"), "PONG still", "an open connection is not touched");

    // A broken file: logged once, the certificate just loaded stays.
    std::fs::write(&cert, "not a certificate\n").unwrap();
    s.send_signal(libc::SIGHUP);
    let line = s.wait_log("keeping the old TLS certificate");
    assert!(line.contains("tls_cert"), "{line}");
    std::fs::copy(&new_cert, s.dir.path("trusted.pem")).unwrap();
    let after = TlsClient::connect(addr, &s.dir.path("trusted.pem"));
    assert_eq!(after.server_cert(), cert_der(&new_cert));
    assert_eq!(open.ask("PING still"), "PONG still");
}

#[test]
fn a_plain_text_client_on_the_tls_port_is_told_and_closed_alone() {
    let Tls { s, addr, cert, .. } = tls_server("");
    let mut other = TlsClient::connect(addr, &cert);
    assert!(other.ask("JOIN other").starts_with("OK JOIN other "));
    let mut typist = Client::connect_raw(addr);
    typist.send("JOIN typist");
    let line = typist.line();
    assert!(line.starts_with("ERR TLS this port speaks TLS"), "{line}");
    assert!(typist.closed_within(WAIT));
    let logged = s.wait_log("read error: TLS");
    assert!(logged.contains("127.0.0.1:"), "the log line names the peer: {logged}");
    assert_eq!(other.ask("PING fine"), "PONG fine");
}

#[test]
fn a_tls_client_on_the_plain_port_is_closed_with_one_log_line() {
    let Tls { s, addr, cert, .. } = tls_server("");
    let mut other = s.join("other");
    // What a TLS client sends first: a handshake record.
    let mut hello = TcpStream::connect(s.addr).unwrap();
    hello.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]).unwrap();
    let mut c = Client::from_stream(hello);
    assert!(c.closed_within(WAIT));
    s.wait_log("a TLS handshake on a port without TLS");
    assert_eq!(other.ask("PING fine"), "PONG fine");
    let mut secure = TlsClient::connect(addr, &cert);
    assert_eq!(secure.ask("PING tls"), "PONG tls", "the TLS port is not disturbed");
}

#[test]
fn garbage_and_a_stalled_handshake_end_only_their_connections() {
    let Tls { s, addr, cert, .. } = tls_server("join_timeout = 1");
    let mut user = TlsClient::connect(addr, &cert);
    assert!(user.ask("JOIN user").starts_with("OK JOIN user "));
    // Random bytes that start like a TLS record, then nonsense.
    let mut rng = Rng::new(17);
    let mut junk = vec![0x16, 0x03, 0x03, 0x01, 0x00];
    junk.extend((0..4096).map(|_| rng.byte()));
    let mut garbage = TcpStream::connect(addr).unwrap();
    let _ = garbage.write_all(&junk);
    // A client that connects and never sends its half of the handshake.
    let mut stalled = Client::connect_raw(addr);
    // And one that sends a ClientHello and then never reads.
    let mut greedy = TcpStream::connect(addr).unwrap();
    greedy.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let _ = greedy.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]);
    for i in 0..20 {
        assert_eq!(user.ask(&format!("PING {i}")), format!("PONG {i}"));
    }
    assert!(stalled.closed_within(Duration::from_secs(5)), "the join timeout ends a handshake that never finishes");
    let mut g = Client::from_stream(garbage);
    assert!(g.closed_within(WAIT));
    assert_eq!(user.ask("PING last"), "PONG last");
    s.assert_no_panic_logged();
}

#[test]
fn openssl_s_client_chats_with_an_nc_user() {
    use std::process::{Command, Stdio};
    let Tls { s, addr, cert, .. } = tls_server("");
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-quiet", "-verify_return_error", "-CAfile"])
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client (apt-get install openssl)");
    let mut to_openssl = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let next = || lines.recv_timeout(WAIT).expect("a line from openssl s_client").trim_end().to_string();
    assert!(next().starts_with("HELLO chatd "));
    writeln!(to_openssl, "JOIN ossl").unwrap();
    assert!(next().starts_with("OK JOIN ossl "));
    let mut nc_user = s.join("ncuser");
    assert_eq!(mask_ts(&next()), "JOINED <ts> ncuser");
    writeln!(to_openssl, "ALL hi from openssl").unwrap();
    assert_eq!(next(), "OK ALL delivered=1");
    assert_eq!(nc_user.event(), "ALL <ts> ossl hi from openssl");
    assert_eq!(nc_user.ask("MSG ossl hi from nc"), "OK MSG ossl delivered");
    assert_eq!(mask_ts(&next()), "MSG <ts> ncuser hi from nc");
    writeln!(to_openssl, "QUIT").unwrap();
    assert_eq!(next(), "OK LEAVE");
    drop(to_openssl);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_tls_listener_without_a_usable_certificate_is_a_start_error() {
    let dir = TempDir::new();
    let (code, lines) = run_to_exit(&dir, &["--tls-listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("needs tls_cert and tls_key"), "{lines:?}");

    std::fs::write(dir.path("bad.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let bad = dir.path("bad.pem");
    let (code, lines) = run_to_exit(
        &dir,
        &["--tls-listen", "127.0.0.1:0", "--tls-cert", bad.to_str().unwrap(), "--tls-key", bad.to_str().unwrap()],
    );
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("tls_cert") && lines[0].contains("bad.pem"), "{lines:?}");
}

#[test]
fn stored_messages_reach_a_tls_user_in_order_and_leave_the_queue() {
    let Tls { s, addr, cert, .. } = tls_server(&no_flood(""));
    let mut bob = TlsClient::connect(addr, &cert);
    assert!(bob.ask("JOIN bob").starts_with("OK JOIN bob "));
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    let mut alice = s.join("alice");
    let burst: String = (0..2000).map(|i| format!("MSG bob stored number {i} {}\n", "x".repeat(200))).collect();
    alice.send_raw(burst.as_bytes());
    for _ in 0..2000 {
        assert_eq!(alice.line(), "OK MSG bob stored");
    }
    let mut bob = TlsClient::connect(addr, &cert);
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=2000");
    for i in 0..2000 {
        let line = bob.line();
        assert!(line.ends_with(&format!("alice stored number {i} {}", "x".repeat(200))), "{i}: {line}");
    }
    assert_eq!(bob.ask("PING done"), "PONG done");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    let mut again = TlsClient::connect(addr, &cert);
    assert_eq!(again.ask("JOIN bob"), "OK JOIN bob pending=0", "every delivered message left the queue");
}

#[test]
fn an_irc_client_over_tls_registers_and_chats_with_an_nc_user() {
    let dir = TempDir::new();
    let (cert, key) = dev_cert(&dir, "cert");
    let args =
        ["--irc-tls-listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let s = Server::start_in(dir, &args, "");
    let line = s.wait_log("TLS listener on ");
    assert!(line.ends_with("(irc)"), "{line}");
    let addr: SocketAddr = line.split("TLS listener on ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let mut irc = TlsClient::connect_raw(addr, &cert);
    irc.send("NICK secirc");
    irc.send("USER secirc 0 * :Over TLS");
    let mut welcome = Vec::new();
    loop {
        let l = irc.line();
        let end = l.split(' ').nth(1) == Some("366");
        welcome.push(l);
        if end {
            break;
        }
    }
    assert!(welcome.iter().any(|l| l.split(' ').nth(1) == Some("001")), "{welcome:?}");
    let mut plain = s.join("plain");
    assert_eq!(plain.ask("ALL hello irc"), "OK ALL delivered=1");
    let got = loop {
        let l = irc.line();
        if l.contains("PRIVMSG") {
            break l;
        }
    };
    assert!(got.contains(":plain!") && got.ends_with("PRIVMSG #chatd :hello irc"), "{got}");
    irc.send("PRIVMSG plain :and back over TLS");
    assert_eq!(plain.event(), "MSG <ts> secirc and back over TLS");
}

/// The browser client over TLS (`https_listen`): the page is served, its
/// WebSocket (`wss://`) takes the page's own https origin only, and a
/// browser-protocol user chats with an nc user.
#[test]
fn the_page_and_its_websocket_over_tls_chat_with_an_nc_user() {
    use std::io::{Read, Write};
    use tungstenite::client::IntoClientRequest;
    use tungstenite::http::HeaderValue;
    use tungstenite::Message;
    let dir = TempDir::new();
    let (cert, key) = dev_cert(&dir, "cert");
    let args = ["--https", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let s = Server::start_in(dir, &args, "");
    let line = s.wait_log("web page at https://");
    let addr: SocketAddr =
        line.split("web page at https://").nth(1).unwrap().trim().trim_end_matches('/').parse().unwrap();

    // The page, over TLS, with its security headers.
    let mut page = tls_stream(addr, &cert);
    page.sock.set_read_timeout(Some(WAIT)).unwrap();
    page.write_all(format!("GET / HTTP/1.1\r\nHost: localhost:{}\r\n\r\n", addr.port()).as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = page.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    assert!(answer.contains("Content-Security-Policy:") && answer.contains("<html"), "{answer:.400}");

    // The WebSocket: a plain http origin is refused on the TLS listener.
    let open = |origin: &str| {
        let mut req = format!("wss://localhost:{}/ws", addr.port()).into_client_request().unwrap();
        req.headers_mut().insert("Origin", HeaderValue::from_str(origin).unwrap());
        req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("text.chatd"));
        let stream = tls_stream(addr, &cert);
        stream.sock.set_read_timeout(Some(WAIT)).unwrap();
        tungstenite::client(req, stream).map_err(|e| e.to_string())
    };
    assert!(open(&format!("http://localhost:{}", addr.port())).is_err(), "an http origin on wss");
    let (mut ws, _) = open(&format!("https://localhost:{}", addr.port())).expect("wss upgrade");
    fn next<S: std::io::Read + std::io::Write>(ws: &mut tungstenite::WebSocket<S>) -> String {
        loop {
            if let Message::Text(t) = ws.read().expect("a message") {
                return t.to_string();
            }
        }
    }
    assert!(next(&mut ws).starts_with("HELLO chatd "));
    let mut plain = s.join("plain");
    ws.send(Message::text("JOIN browser")).unwrap();
    assert!(next(&mut ws).starts_with("OK JOIN browser "));
    assert_eq!(plain.event(), "JOINED <ts> browser");
    assert_eq!(plain.ask("MSG browser hello over wss"), "OK MSG browser delivered");
    assert_eq!(mask_ts(&next(&mut ws)), "MSG <ts> plain hello over wss");
    ws.send(Message::text("ALL and back")).unwrap();
    assert_eq!(next(&mut ws), "OK ALL delivered=1");
    assert_eq!(plain.event(), "ALL <ts> browser and back");
}
