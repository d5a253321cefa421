//! The browser client on the wire: the page's HTTP answers (files, errors,
//! Origin and Host rules, bounded heads) and WebSocket users conversing
//! with nc users under every rule of the line protocol.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

#[test]
fn the_page_is_served_with_its_security_headers_and_nothing_else_is() {
    let s = Server::start();
    let web = s.http_addr();
    let page = http_get(web, "/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("\r\nContent-Security-Policy: default-src 'none'; script-src 'self';"), "{page}");
    assert!(page.contains("trusted-types 'none'") && page.contains("<script src=\"/app.js\""));
    for (path, ctype) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let r = http_get(web, path);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.contains(&format!("Content-Type: {ctype}")), "{r}");
    }
    for path in ["/index.html", "/../Cargo.toml", "/app.js/", "/%2e%2e/Cargo.toml"] {
        assert!(http_get(web, path).starts_with("HTTP/1.1 404 Not Found\r\n"), "{path}");
    }
    let rebinding = http(web, b"GET / HTTP/1.1\r\nHost: attacker.example:5080\r\n\r\n");
    assert!(rebinding.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{rebinding}");
    let post = http(web, format!("POST / HTTP/1.1\r\nHost: {web}\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    // The line protocol's port is not the page's.
    let mut nc = s.connect();
    nc.ok("JOIN carol");
}

#[test]
fn a_head_trickled_byte_by_byte_is_answered_and_an_oversized_one_refused() {
    let s = Server::start();
    let web = s.http_addr();
    let mut sock = TcpStream::connect(web).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    for b in format!("GET /style.css HTTP/1.1\r\nHost: {web}\r\n\r\n").bytes() {
        sock.write_all(&[b]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.contains(":root"), "{answer}");
    // Sent whole and half-closed at once, as `printf 'GET / ...' | nc -N` does.
    let mut sock = TcpStream::connect(web).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    sock.write_all(format!("GET /app.js HTTP/1.1\r\nHost: {web}\r\n\r\n").as_bytes()).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let mut huge = format!("GET / HTTP/1.1\r\nHost: {web}\r\nX-Filler: ").into_bytes();
    huge.resize(64 * 1024, b'a');
    let answer = http(web, &huge);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    // The server is unharmed.
    assert!(http_get(web, "/").starts_with("HTTP/1.1 200 OK"));
}

#[test]
fn a_head_that_never_ends_is_cut_at_join_timeout() {
    let s = Server::start_conf("join_timeout = 1\n");
    let web = s.http_addr();
    let mut sock = TcpStream::connect(web).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = sock.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "cut after {:?}", started.elapsed());
}

#[test]
fn a_websocket_from_another_origin_is_refused_and_the_page_s_own_accepted() {
    let s = Server::start_conf("http_origins = [\"https://chat.example.org\"]\n");
    let web = s.http_addr();
    let refused = WsClient::open(web, &[("Origin", "http://evil.example")]).err().expect("refused");
    assert!(refused.contains("403"), "{refused}");
    let refused = WsClient::open(web, &[("Origin", "http://localhost:1")]).err();
    assert!(refused.is_some_and(|r| r.contains("403")), "another port is another origin");
    let rebinding = WsClient::open(web, &[("Host", "attacker.example"), ("Origin", "http://attacker.example")]);
    assert!(rebinding.err().is_some_and(|r| r.contains("403")), "rebinding Host");
    WsClient::open(web, &[("Origin", "https://chat.example.org")]).expect("listed origin");
    let mut ws = WsClient::connect(web);
    ws.send("JOIN alice");
    assert!(ws.line().starts_with("OK JOIN alice pending=0"));
}

#[test]
fn browser_and_nc_users_converse_every_way() {
    let s = Server::start();
    let web = s.http_addr();
    let mut alice = WsClient::join(web, "alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    let mut carol = WsClient::join(web, "carol");
    assert_eq!(bob.event(), "JOINED <ts> carol");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> carol");

    alice.send("WHO");
    assert_eq!(alice.line(), "OK WHO 3 alice bob carol");
    alice.send("ALL hello from the browser");
    assert_eq!(alice.line(), "OK ALL delivered=2");
    assert_eq!(bob.event(), "ALL <ts> alice hello from the browser");
    assert_eq!(mask_ts(&carol.line()), "ALL <ts> alice hello from the browser");
    bob.ok("ALL and from nc");
    assert_eq!(mask_ts(&alice.line()), "ALL <ts> bob and from nc");
    assert_eq!(mask_ts(&carol.line()), "ALL <ts> bob and from nc");

    alice.send("MSG bob psst");
    assert_eq!(alice.line(), "OK MSG bob delivered");
    assert_eq!(bob.event(), "MSG <ts> alice psst");
    assert_eq!(bob.ok("MSG alice back"), "OK MSG alice delivered");
    assert_eq!(mask_ts(&alice.line()), "MSG <ts> bob back");

    carol.send("MCAST alice,bob group, é ✓");
    assert_eq!(carol.line(), "OK MCAST delivered=alice,bob stored=-");
    assert_eq!(mask_ts(&alice.line()), "MCAST <ts> carol alice,bob group, é ✓");
    assert_eq!(bob.event(), "MCAST <ts> carol alice,bob group, é ✓");

    alice.send("HISTORY 2");
    assert_eq!(mask_ts(&alice.line()), "HISTORY <ts> bob alice back");
    assert_eq!(mask_ts(&alice.line()), "HISTORY <ts> carol alice,bob group, é ✓");
    assert_eq!(alice.line(), "OK HISTORY 2");

    // A message with a line end in it is two lines, as from nc.
    alice.send("PING a\nPING b");
    assert_eq!((alice.line(), alice.line()), ("PONG a".to_string(), "PONG b".to_string()));

    // The name is taken across transports.
    let mut nc = s.connect();
    assert_err(&nc.ask("JOIN Alice"), "NAME_TAKEN");
    let mut ws = WsClient::connect(web);
    ws.send("JOIN BOB");
    assert_err(&ws.line(), "NAME_TAKEN");

    alice.send("LEAVE see you");
    let (lines, code) = alice.close_code();
    assert_eq!((lines, code), (vec!["OK LEAVE".to_string()], Some(CloseCode::Normal)));
    assert_eq!(bob.event(), "LEFT <ts> alice see you");
    // Closing the page counts as "connection closed".
    carol.ws.close(None).unwrap();
    assert_eq!(bob.event(), "LEFT <ts> carol connection closed");
}

#[test]
fn offline_messages_reach_a_browser_at_its_next_join_and_leave_the_queue() {
    let s = Server::start();
    let web = s.http_addr();
    let mut alice = WsClient::join(web, "alice");
    alice.send("REGISTER sesame1");
    assert_eq!(alice.line(), "OK REGISTER");
    alice.send("QUIT");
    alice.close_code();
    let mut bob = s.join("bob");
    assert_eq!(bob.ok("MSG alice while you were out"), "OK MSG alice stored");
    bob.send("MCAST alice,bob and to the group");
    let got: Vec<String> = bob.lines_sorted(2).iter().map(|l| mask_ts(l)).collect();
    assert_eq!(got, ["MCAST <ts> bob alice,bob and to the group", "OK MCAST delivered=bob stored=alice"]);

    let mut ws = WsClient::connect(web);
    ws.send("JOIN alice");
    assert_err(&ws.line(), "AUTH_REQUIRED");
    ws.send("JOIN alice wrong00");
    assert_err(&ws.line(), "AUTH_FAILED");
    ws.send("JOIN alice sesame1");
    assert_eq!(ws.line(), "OK JOIN alice pending=2");
    assert_eq!(mask_ts(&ws.line()), "MSG <ts> bob while you were out");
    assert_eq!(mask_ts(&ws.line()), "MCAST <ts> bob alice,bob and to the group");
    ws.send("PING read");
    assert_eq!(ws.line(), "PONG read");
    // Once acknowledged they are not pending any more.
    std::thread::sleep(Duration::from_millis(300));
    ws.send("LEAVE");
    ws.close_code();
    let mut again = s.connect();
    again.send("JOIN alice sesame1");
    assert_eq!(again.line(), "OK JOIN alice pending=0");
}

#[test]
fn line_limits_and_refused_frames_are_the_line_protocol_s() {
    let s = Server::start_conf("max_line = 100\n");
    let web = s.http_addr();
    let mut ws = WsClient::join(web, "alice");
    // Over max_line, under the frame cap: the same error as nc, still open.
    ws.send(&format!("ALL {}", "x".repeat(150)));
    assert_err(&ws.line(), "LINE_TOO_LONG");
    ws.send("PING still");
    assert_eq!(ws.line(), "PONG still");
    // Over the frame cap (4 x max_line): closed with 1009.
    ws.send(&"y".repeat(401));
    assert_eq!(ws.close_code().1, Some(CloseCode::Size));

    let mut ws = WsClient::join(web, "bob");
    ws.ws.send(Message::binary(b"PING x".to_vec())).unwrap();
    assert_eq!(ws.close_code().1, Some(CloseCode::Unsupported));
    let mut nc = s.join("carol");
    nc.ok("WHO");
    assert_eq!(nc.sync("x"), Vec::<String>::new(), "nobody else disturbed");
}

#[test]
fn escapes_are_removed_from_browser_text_as_from_nc() {
    let s = Server::start();
    let web = s.http_addr();
    let mut alice = WsClient::join(web, "alice");
    let mut bob = s.join("bob");
    alice.line(); // JOINED bob
    alice.send("ALL a\u{1b}[31mred\u{202e} <img src=x onerror=alert(1)>");
    assert_eq!(alice.line(), "OK ALL delivered=1");
    // The escape sequence and the bidi override go; the markup is text.
    assert_eq!(bob.event(), "ALL <ts> alice ared <img src=x onerror=alert(1)>");
}

#[test]
fn a_silent_websocket_is_pinged_then_closed() {
    let s = Server::start_conf("ws_ping_interval = 1\n");
    let web = s.http_addr();
    let mut nc = s.join("bob");
    // A raw upgrade that never answers anything.
    let mut sock = TcpStream::connect(web).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    sock.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: {web}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    // JOIN alice, one masked text frame.
    let payload = b"JOIN alice";
    let mask = [7u8, 1, 2, 3];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    sock.write_all(&frame).unwrap();
    assert_eq!(nc.event(), "JOINED <ts> alice");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(got.windows(2).any(|w| w == [0x89, 0]), "a ping was sent");
    assert_eq!(nc.event(), "LEFT <ts> alice ping timeout");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());

    // One that answers stays.
    let mut carol = WsClient::join(web, "carol");
    assert_eq!(nc.event(), "JOINED <ts> carol");
    let until = Instant::now() + Duration::from_secs(4);
    carol.ws.get_mut().set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    while Instant::now() < until {
        match carol.ws.read() {
            Ok(Message::Text(t)) => panic!("unexpected {t}"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("closed: {e}"),
        }
    }
    nc.ok("WHO");
    assert_eq!(nc.sync("y"), Vec::<String>::new(), "carol is still there");
}

#[test]
fn a_browser_that_stops_reading_is_dropped_at_max_sendq_and_others_go_on() {
    let s = Server::start_conf(&no_flood("max_sendq = 65536\n"));
    let web = s.http_addr();
    let slow = WsClient::join(web, "slow");
    let mut bob = s.join("bob");
    let mut carol = WsClient::join(web, "carol");
    bob.line(); // JOINED carol
    let text = "z".repeat(900);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut left = None;
    for i in 0..20_000 {
        bob.send(&format!("ALL {i} {text}"));
        // carol reads along, so only slow falls behind.
        let _ = carol.line();
        loop {
            let l = bob.line();
            if l.starts_with("LEFT ") {
                left = Some(mask_ts(&l));
            }
            if l.starts_with("OK ALL") {
                break;
            }
        }
        if left.is_some() || Instant::now() > deadline {
            break;
        }
    }
    assert_eq!(left.as_deref(), Some("LEFT <ts> slow sendq exceeded"));
    drop(slow);
    bob.ok("ALL after");
    // carol read one line per message: the LEFT put her one behind.
    while mask_ts(&carol.line()) != "ALL <ts> bob after" {}
}

#[test]
fn shutdown_tells_browsers_and_closes_with_going_away() {
    let s = Server::start();
    let web = s.http_addr();
    let mut ws = WsClient::join(web, "alice");
    s.send_signal(libc::SIGTERM);
    let (lines, code) = ws.close_code();
    assert_eq!(lines.iter().map(|l| mask_ts(l)).collect::<Vec<_>>(), vec!["NOTICE <ts> server shutting down"]);
    assert_eq!(code, Some(CloseCode::Away));
}

#[test]
fn flood_control_delays_a_browser_s_burst_and_drops_nothing() {
    let s = Server::start();
    let web = s.http_addr();
    let mut ws = WsClient::join(web, "alice");
    // flood_burst 40 at 20 lines/s: 60 lines take about a second more.
    let started = Instant::now();
    for i in 0..60 {
        ws.send(&format!("PING {i}"));
    }
    for i in 0..60 {
        assert_eq!(ws.line(), format!("PONG {i}"));
    }
    assert!(started.elapsed() >= Duration::from_millis(500), "not delayed: {:?}", started.elapsed());
}

#[test]
fn a_websocket_that_never_joins_gets_err_timeout_then_close_4002() {
    let s = Server::start_conf("join_timeout = 1\n");
    let web = s.http_addr();
    let mut ws = WsClient::connect(web);
    let (lines, code) = ws.close_code();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_err(&lines[0], "TIMEOUT");
    assert_eq!(code, Some(CloseCode::from(4002)));
}

#[test]
fn a_kicked_browser_gets_the_notice_then_close_4001() {
    let mut s = Operated::start(Via::Socket);
    let web = s.http_addr();
    let mut nc = s.join("bob");
    let mut ws = WsClient::join(web, "alice");
    assert_eq!(nc.event(), "JOINED <ts> alice");
    assert_eq!(s.console("KICK alice spam"), ["OK KICK alice"]);
    let (lines, code) = ws.close_code();
    assert_eq!(lines.iter().map(|l| mask_ts(l)).collect::<Vec<_>>(), ["NOTICE <ts> you were kicked: spam"]);
    assert_eq!(code, Some(CloseCode::from(4001)));
    assert_eq!(nc.event(), "LEFT <ts> alice kicked: spam");
}
