//! Vector clocks survive SIGKILL (issue 14; PROTOCOL.md, CLOCK): after a
//! crash at any moment, every clock is exactly what it was after the last
//! committed message. chatd no longer writes clocks per delivery but works
//! them out at start from snapshots and the log (docs/storage.md), so this
//! kills a real server with SIGKILL at random moments while five users
//! send ALL, MSG and MCAST as fast as it takes them, restarts it on the
//! same files, and at the end compares every user's `CLOCK` with a clock
//! the test works out itself from the rules and the messages:
//!
//! - a user's own entry counts the messages it sent and received;
//! - every other entry is the largest it was in a received message's clock.
//!
//! Which messages were committed is what HISTORY shows after the last
//! restart (with CLOCK ON, each with its clock); every message a client
//! received before a kill must be among them, with the same clock.
use crate::common::*;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

const USERS: [&str; 5] = ["ann", "bo", "cy", "di", "ed"];
const ROUNDS: u64 = 4;
/// Lines each user sends at most in a round.
const LINES: usize = 400;

type Clock = BTreeMap<String, u64>;

/// `[ann=1,bo=2]`, `ann=1,bo=2` or `-`.
fn parse_clock(text: &str) -> Clock {
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(|e| e.split_once('='))
        .map(|(name, n)| (name.to_string(), n.parse().expect("counter")))
        .collect()
}

fn write_clock(clock: &Clock) -> String {
    if clock.is_empty() {
        return "-".into();
    }
    clock.iter().map(|(name, n)| format!("{name}={n}")).collect::<Vec<_>>().join(",")
}

/// A message as the log has it: sender, recipients (`*` for ALL), clock.
#[derive(Debug, Clone, PartialEq)]
struct Logged {
    from: String,
    to: String,
    clock: Clock,
}

/// One user's load for a round: random ALL, MSG and MCAST lines (to
/// themselves now and then), each text unique, written without waiting
/// for replies until the server dies or LINES are sent; and everything the
/// server sends back, read until the connection ends.
fn load(stream: TcpStream, me: usize, round: u64) -> (thread::JoinHandle<()>, thread::JoinHandle<Vec<String>>) {
    let mut writer = stream.try_clone().expect("clone");
    let send = thread::spawn(move || {
        let mut rng = Rng::new(round * 131 + me as u64 + 7);
        for k in 0..LINES {
            let text = format!("r{round}-{}-{k}", USERS[me]);
            let line = match rng.below(3) {
                0 => format!("ALL {text}\n"),
                1 => format!("MSG {} {text}\n", USERS[rng.below(USERS.len())]),
                _ => {
                    let (a, b) = (rng.below(USERS.len()), rng.below(USERS.len()));
                    let to = if a == b { USERS[a].to_string() } else { format!("{},{}", USERS[a], USERS[b]) };
                    format!("MCAST {to} {text}\n")
                }
            };
            if writer.write_all(line.as_bytes()).is_err() {
                return;
            }
            if rng.below(8) == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let read = thread::spawn(move || {
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        BufReader::new(stream).lines().map_while(Result::ok).collect()
    });
    (send, read)
}

/// `ALL <ts> [clock] <from> <text>`, `MSG <ts> [clock] <from> <text>`,
/// `MCAST <ts> [clock] <from> <to> <text>`: (text, from, clock).
fn received(line: &str) -> Option<(String, String, Clock)> {
    let f: Vec<&str> = line.split(' ').collect();
    match f.first()? {
        &"ALL" | &"MSG" if f.len() == 5 => Some((f[4].into(), f[3].into(), parse_clock(f[2]))),
        &"MCAST" if f.len() == 6 => Some((f[5].into(), f[3].into(), parse_clock(f[2]))),
        _ => None,
    }
}

#[test]
fn every_clock_survives_sigkill_under_load() {
    let conf = no_flood("history_max = 100000");
    let mut dir = Some(TempDir::new());
    let mut rng = Rng::new(14);
    // What clients received live, by text: sender and clock.
    let mut seen: HashMap<String, (String, Clock)> = HashMap::new();
    for round in 0..ROUNDS {
        let s = Server::start_in(dir.take().expect("dir"), &[], &conf);
        // Everyone is joined before anyone sends, and until the kill.
        let mut clients: Vec<Client> = USERS.iter().map(|name| s.join(name)).collect();
        for c in &mut clients {
            c.send("CLOCK ON");
            c.until("OK CLOCK ON"); // after the JOINED lines of those after them
        }
        let loads: Vec<_> =
            clients.iter().enumerate().map(|(i, c)| load(c.stream.try_clone().expect("clone"), i, round)).collect();
        thread::sleep(Duration::from_millis(40 + rng.below(300) as u64));
        dir = Some(s.kill());
        for (send, read) in loads {
            send.join().expect("sender");
            for line in read.join().expect("reader") {
                if let Some((text, from, clock)) = received(&line) {
                    seen.insert(text, (from, clock));
                }
            }
        }
    }

    let s = Server::start_in(dir.take().expect("dir"), &[], &conf);
    let mut clients: Vec<Client> = USERS.iter().map(|name| s.join(name)).collect();
    // The committed log: the union of what each user may see in HISTORY.
    let mut log: BTreeMap<String, Logged> = BTreeMap::new();
    for c in &mut clients {
        c.send("CLOCK ON");
        c.until("OK CLOCK ON");
        c.send("HISTORY 100000");
        let (lines, end) = c.until("OK HISTORY");
        assert_eq!(end, format!("OK HISTORY {}", lines.len()));
        for line in lines {
            // HISTORY <ts> [clock] <from> <to> <text>
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 6, "{line}");
            let m = Logged { from: f[3].into(), to: f[4].into(), clock: parse_clock(f[2]) };
            log.insert(f[5].into(), m);
        }
    }
    for round in 0..ROUNDS {
        let n = log.keys().filter(|t| t.starts_with(&format!("r{round}-"))).count();
        assert!(n > 0, "round {round} committed no message before its kill");
    }
    // Nothing a client saw was lost, and it had the clock the log has.
    for (text, (from, clock)) in &seen {
        let m = log.get(text).unwrap_or_else(|| panic!("{text}, received before a kill, is not in the log"));
        assert_eq!((&m.from, &m.clock), (from, clock), "{text}");
    }
    // Each user's clock from the rules.
    for (i, name) in USERS.iter().enumerate() {
        let mut clock = Clock::new();
        let mut own = 0;
        for m in log.values() {
            let to_me = if m.to == "*" { m.from != *name } else { m.to.split(',').any(|r| r == *name) };
            own += u64::from(m.from == *name) + u64::from(to_me);
            if to_me {
                for (who, &n) in &m.clock {
                    let e = clock.entry(who.clone()).or_default();
                    *e = (*e).max(n);
                }
            }
        }
        clock.remove(*name);
        if own > 0 {
            clock.insert(name.to_string(), own);
        }
        clients[i].send("CLOCK");
        let (_, got) = clients[i].until("OK CLOCK");
        assert_eq!(got, format!("OK CLOCK {}", write_clock(&clock)), "{name}");
    }
    eprintln!("{} messages committed over {ROUNDS} kills; {} seen live", log.len(), seen.len());
}
