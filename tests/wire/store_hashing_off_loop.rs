//! Password hashing never stalls the server (issue 4): while one client
//! sends wrong passwords in a loop (each costs an Argon2id verification),
//! another client's PINGs keep being answered promptly.
use crate::common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous: one verification takes tens to hundreds of milliseconds in a
/// debug build; a PING stuck behind even a few of them would exceed this.
const PROMPT: Duration = Duration::from_secs(1);

#[test]
fn pings_are_answered_while_wrong_passwords_are_checked() {
    let s = Server::start_with(&[], "flood_rate = 0\n");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("REGISTER right-password"), "OK REGISTER");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));

    // The guesser: three connections, five wrong passwords each, sent at
    // once so the server always has a verification queued.
    let addr = s.addr;
    let guessing = Arc::new(AtomicBool::new(true));
    let still_guessing = guessing.clone();
    let guesser = std::thread::spawn(move || {
        for round in 1..=3 {
            let mut c = Client::connect_raw(addr);
            assert!(c.line().starts_with("HELLO "));
            let guesses: String = (1..=5).map(|i| format!("JOIN alice guess-{round}-{i}\n")).collect();
            c.send_raw(guesses.as_bytes());
            for i in 1..=5 {
                let reply = c.line();
                assert!(reply.starts_with("ERR AUTH_FAILED "), "guess {round}-{i}: {reply}");
            }
            assert!(c.closed_within(WAIT));
        }
        still_guessing.store(false, Ordering::SeqCst);
    });

    let mut bob = s.connect();
    let mut answered = 0;
    while guessing.load(Ordering::SeqCst) && answered < 200 {
        let asked = Instant::now();
        bob.send(&format!("PING {answered}"));
        let pong = bob.try_line(PROMPT);
        assert_eq!(pong, Some(format!("PONG {answered}")), "no prompt answer after {:?}", asked.elapsed());
        answered += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    guesser.join().expect("guesser thread");
    assert!(answered >= 5, "only {answered} PINGs overlapped the guessing");
}
