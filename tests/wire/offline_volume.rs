//! Offline delivery at volume (protocol section 4, JOIN): a queue of any
//! length reaches a reader of any speed without tripping the send-queue
//! bound; commands are answered while it drains; a JOIN after a partial
//! read gets exactly the rest; a server killed during a drain loses nothing.
use crate::common::*;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// Sends `count` numbered MSGs to the offline `to` from `senders` clients
/// at once (group commit gathers them), each sender's numbers in order.
/// Returns every text sent, by sender.
fn store_for(s: &Server, to: &str, senders: usize, count: usize) -> Vec<Vec<String>> {
    static SENDERS: AtomicUsize = AtomicUsize::new(0);
    let per = count / senders;
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let mut c = s.join(&format!("snd{}", SENDERS.fetch_add(1, Ordering::Relaxed)));
            let to = to.to_string();
            thread::spawn(move || {
                let texts: Vec<String> =
                    (0..per).map(|n| format!("s{i} n{n:05} padding to make a line of about eighty bytes")).collect();
                // Pipelined in chunks: each reply waits for its commit.
                for chunk in texts.chunks(200) {
                    let batch: String = chunk.iter().map(|t| format!("MSG {to} {t}\n")).collect();
                    c.send_raw(batch.as_bytes());
                    for _ in chunk {
                        let (_, ok) = c.until("OK MSG");
                        assert_eq!(ok, format!("OK MSG {to} stored"));
                    }
                }
                texts
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("sender")).collect()
}

/// Makes `name` known and offline.
fn known_offline(s: &Server, name: &str) {
    let mut c = s.join(name);
    assert_eq!(c.ask("QUIT"), "OK LEAVE");
    assert!(c.closed_within(WAIT));
}

/// The text of a stored `MSG <ts> <from> <text>` line.
fn text_of(line: &str) -> String {
    assert!(line.starts_with("MSG "), "{line}");
    line.splitn(4, ' ').nth(3).unwrap_or_default().to_string()
}

#[test]
fn thirty_thousand_stored_messages_reach_a_slow_reader_in_order() {
    let s = Server::start_conf(&no_flood(""));
    known_offline(&s, "bob");
    let sent = store_for(&s, "bob", 10, 30_000);

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=30000");
    // A command while the queue drains is answered in between.
    bob.send("PING midway");
    let mut got: HashMap<String, Vec<String>> = HashMap::new();
    let mut pong = false;
    let mut n = 0;
    while n < 30_000 {
        let l = bob.line();
        if l == "PONG midway" {
            pong = true;
            continue;
        }
        let text = text_of(&l);
        got.entry(text[..3].trim().to_string()).or_default().push(text);
        n += 1;
        if n % 1000 == 0 {
            thread::sleep(Duration::from_millis(20)); // a slow reader
        }
    }
    if !pong {
        assert_eq!(bob.line(), "PONG midway");
    }
    // Every message once, each sender's in the order sent.
    for (i, texts) in sent.iter().enumerate() {
        assert_eq!(got.get(&format!("s{i}")), Some(texts), "sender {i}");
    }
    // Still joined, nothing more pending.
    assert_eq!(bob.ask("PING end"), "PONG end");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
}

#[test]
fn a_join_after_a_partial_read_gets_exactly_the_rest() {
    let s = Server::start_conf(&no_flood(""));
    known_offline(&s, "bob");
    let sent: Vec<String> = store_for(&s, "bob", 1, 5000).remove(0);

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=5000");
    let mut seen: Vec<String> = (0..700).map(|_| text_of(&bob.line())).collect();
    // QUIT half way: every message before OK LEAVE was delivered.
    bob.send("QUIT");
    let (before, _) = bob.until("OK LEAVE");
    seen.extend(before.iter().map(|l| text_of(l)));
    assert!(bob.closed_within(WAIT));
    assert!(seen.len() < 5000, "the whole queue went out before QUIT: the test proves nothing");

    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), format!("OK JOIN bob pending={}", 5000 - seen.len()));
    let rest: Vec<String> = (seen.len()..5000).map(|_| text_of(&bob.line())).collect();
    seen.extend(rest);
    assert_eq!(seen, sent);
    bob.assert_nothing_pending("done");
}

/// Reads message lines from a raw socket, slowly (about 2 MB/s, so that
/// the drain is under way when the server dies), until it closes; returns
/// their texts (a torn last line is dropped: it never arrived whole).
fn read_until_closed(mut stream: std::net::TcpStream) -> Vec<String> {
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
        thread::sleep(Duration::from_millis(2));
    }
    let text = String::from_utf8_lossy(&bytes);
    text.split_inclusive('\n')
        .filter(|l| l.ends_with("\r\n") && l.starts_with("MSG "))
        .map(|l| text_of(l.trim_end()))
        .collect()
}

#[test]
fn a_server_killed_during_the_drain_loses_no_stored_message() {
    const USERS: usize = 4;
    const EACH: usize = 2000;
    let mut rng = Rng::new(0x5eed_0ff1);
    let mut s = Server::start_conf(&no_flood(""));
    let names: Vec<String> = (0..USERS).map(|i| format!("rcv{i}")).collect();
    for n in &names {
        known_offline(&s, n);
    }
    let mut owed: Vec<Vec<String>> = names.iter().map(|n| store_for(&s, n, 2, EACH).concat()).collect();
    let mut got: Vec<Vec<String>> = vec![Vec::new(); USERS];
    let mut duplicates = 0;
    for round in 0..3 {
        // Everyone joins and reads; the last two also talk while reading.
        let readers: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut c = s.connect();
                c.send(&format!("JOIN {name}"));
                if i >= USERS / 2 {
                    c.send_raw("PING a\nWHO\nPING b\n".repeat(50).as_bytes());
                }
                let stream = c.stream.try_clone().expect("clone");
                thread::spawn(move || {
                    let _keep = c;
                    read_until_closed(stream)
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(20 + rng.below(100) as u64));
        let dir = s.kill();
        for (i, r) in readers.into_iter().enumerate() {
            got[i].extend(r.join().expect("reader"));
        }
        eprintln!("round {round}: killed; received so far {:?}", got.iter().map(Vec::len).collect::<Vec<_>>());
        s = Server::start_in(dir, &[], &no_flood(""));
    }
    // After the last restart, drain to the end.
    for (i, name) in names.iter().enumerate() {
        let mut c = s.connect();
        let ok = c.ask(&format!("JOIN {name}"));
        let pending: usize = ok.rsplit('=').next().and_then(|n| n.parse().ok()).expect("pending=<n>");
        for _ in 0..pending {
            got[i].push(text_of(&c.line()));
        }
        c.assert_nothing_pending("end");
    }
    for i in 0..USERS {
        let mut received = got[i].clone();
        let total = received.len();
        received.sort();
        received.dedup();
        duplicates += total - received.len();
        owed[i].sort();
        assert_eq!(received, owed[i], "{}: lost {}", names[i], owed[i].len().saturating_sub(received.len()));
    }
    eprintln!("{} deliveries owed, 0 lost, {duplicates} duplicated", USERS * EACH);
}

#[test]
fn a_client_that_half_closes_after_join_still_gets_every_stored_message() {
    // What `printf 'JOIN bob\n' | nc -N localhost 5000` does.
    let s = Server::start_conf(&no_flood(""));
    known_offline(&s, "bob");
    let sent: Vec<String> = store_for(&s, "bob", 2, 3000).concat();
    let mut bob = s.connect();
    bob.send("JOIN bob");
    bob.stream.shutdown(std::net::Shutdown::Write).expect("half-close");
    assert_eq!(bob.line(), "OK JOIN bob pending=3000");
    let mut got: Vec<String> = (0..3000).map(|_| text_of(&bob.line())).collect();
    assert!(bob.closed_within(WAIT));
    got.sort();
    let mut sent = sent;
    sent.sort();
    assert_eq!(got, sent);
    let mut bob = s.connect();
    assert_eq!(bob.ask("JOIN bob"), "OK JOIN bob pending=0");
}
