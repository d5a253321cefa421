//! The server console (protocol section 8): every command, typed on stdin
//! (replies on stdout) and sent over the admin socket (replies on the same
//! connection), with exact reply lines. Command words are case-insensitive.
//! EXIT is in shutdown.rs, KICK in kick.rs, DELETE BACKUP in delete_backup.rs.
use crate::common::*;

/// Each test runs once per console source.
macro_rules! on_both {
    ($body:ident, $stdin:ident, $socket:ident) => {
        #[test]
        fn $stdin() {
            $body(Via::Stdin);
        }
        #[test]
        fn $socket() {
            $body(Via::Socket);
        }
    };
}

fn help(via: Via) {
    let mut s = Operated::start(via);
    let expected = [
        "HELP EXIT                   tell every user, flush, close the store, exit 0",
        "HELP ACTIVE USERS           list joined users: name, address, joined-at",
        "HELP DELETE BACKUP          delete the conversation log, keeping messages still waiting for offline users",
        "HELP USERS                  list every known user: last seen, password set",
        "HELP KICK <name> [reason]   disconnect a user",
        "HELP NOTICE <text>          send NOTICE <ts> <text> to every joined user",
        "HELP HISTORY [n]            the last n messages of the whole log (default 20)",
        "HELP STATS                  uptime, connections, joined users, messages and commits since start, store and WAL size",
        "HELP HELP                   this list",
        "OK HELP",
    ];
    assert_eq!(s.console("HELP"), expected);
    assert_eq!(s.console("help"), expected);
}
on_both!(help, help_on_stdin, help_on_socket);

/// `ACTIVE <name> <peer> <joined-at>` with the `<ts>` masked.
fn mask_active(line: &str) -> String {
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 3 + 1, "{line:?}");
    assert_ts(f[3]);
    format!("{} {} {} <ts>", f[0], f[1], f[2])
}

fn active_users(via: Via) {
    let mut s = Operated::start(via);
    assert_eq!(s.console("ACTIVE USERS"), ["OK ACTIVE USERS 0"]);
    let bob = s.join("Bob");
    let alice = s.join("alice");
    let _lurker = s.connect(); // connected but not joined: not listed
    let reply = s.console("Active Users");
    assert_eq!(reply.len(), 3, "{reply:?}");
    let peer = |c: &Client| c.stream.local_addr().expect("local addr").to_string();
    assert_eq!(mask_active(&reply[0]), format!("ACTIVE alice {} <ts>", peer(&alice)));
    assert_eq!(mask_active(&reply[1]), format!("ACTIVE Bob {} <ts>", peer(&bob)));
    assert_eq!(reply[2], "OK ACTIVE USERS 2");
    assert_eq!(s.console("active   users"), reply.iter().map(String::as_str).collect::<Vec<_>>());
}
on_both!(active_users, active_users_on_stdin, active_users_on_socket);

fn users(via: Via) {
    let mut s = Operated::start(via);
    assert_eq!(s.console("USERS"), ["OK USERS 0"]);
    let mut carol = s.join("carol");
    assert_eq!(carol.ask("REGISTER secret123"), "OK REGISTER");
    let mut bob = s.join("bob");
    assert_eq!(bob.ask("QUIT"), "OK LEAVE");
    assert!(bob.closed_within(WAIT));
    s.wait_log("closed (left)");
    let reply = s.console("users");
    assert_eq!(reply.len(), 3, "{reply:?}");
    let seen = reply[0].strip_prefix("USER bob last_seen=").and_then(|r| r.strip_suffix(" password=no"));
    assert_ts(seen.unwrap_or_else(|| panic!("{:?}", reply[0])));
    assert_eq!(reply[1..], ["USER carol last_seen=online password=yes", "OK USERS 2"]);
    assert_eq!(s.console("USERS now"), ["ERR SYNTAX usage: USERS"]);
}
on_both!(users, users_on_stdin, users_on_socket);

fn notice(via: Via) {
    let mut s = Operated::start(via);
    assert_eq!(s.console("NOTICE nobody hears this"), ["OK NOTICE 0"]);
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(s.console("Notice back in  5 minutes"), ["OK NOTICE 2"]);
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> back in  5 minutes");
    assert_eq!(mask_ts(&bob.line()), "NOTICE <ts> back in  5 minutes");
    // Text safety applies to the operator's text too.
    assert_eq!(s.console("NOTICE red \u{1b}[31malert\u{202e}!"), ["OK NOTICE 2"]);
    assert_eq!(mask_ts(&alice.line()), "NOTICE <ts> red [31malert!");
    assert_eq!(s.console("NOTICE"), ["ERR SYNTAX usage: NOTICE <text>"]);
    alice.expect_silence(std::time::Duration::from_millis(200));
}
on_both!(notice, notice_on_stdin, notice_on_socket);

fn history(via: Via) {
    let mut s = Operated::start(via);
    assert_eq!(s.console("HISTORY"), ["OK HISTORY 0"]);
    let mut alice = s.join("alice");
    let mut bob = s.join("bob");
    assert_eq!(mask_ts(&alice.line()), "JOINED <ts> bob");
    assert_eq!(alice.ask("ALL hello  all"), "OK ALL delivered=1");
    assert_eq!(alice.ask("MSG bob just you"), "OK MSG bob delivered");
    bob.send("MCAST alice,bob both of us");
    let (events, ok) = bob.until("OK MCAST");
    assert_eq!(events.len(), 3, "{events:?}"); // the ALL, the MSG, and bob is a recipient too
    assert!(ok.starts_with("OK MCAST delivered="), "{ok}");
    let all = [
        "HISTORY <ts> alice * hello  all",
        "HISTORY <ts> alice bob just you",
        "HISTORY <ts> bob alice,bob both of us",
        "OK HISTORY 3",
    ];
    let masked = |reply: Vec<String>| -> Vec<String> { reply.iter().map(|l| mask_ts(l)).collect() };
    assert_eq!(masked(s.console("history")), all);
    assert_eq!(masked(s.console("HISTORY 2")), [all[1], all[2], "OK HISTORY 2"]);
    assert_eq!(masked(s.console("HISTORY 500000")), all);
    assert_eq!(s.console("HISTORY 0"), ["ERR SYNTAX usage: HISTORY [n]"]);
    assert_eq!(s.console("HISTORY x"), ["ERR SYNTAX usage: HISTORY [n]"]);
}
on_both!(history, history_on_stdin, history_on_socket);

fn stats(via: Via) {
    let mut s = Operated::start(via);
    let mut alice = s.join("alice");
    let _lurker = s.connect();
    assert_eq!(alice.ask("ALL anyone?"), "OK ALL delivered=0");
    let reply = s.console("sTaTs");
    assert_eq!(reply.len(), 1, "{reply:?}");
    let f: Vec<&str> = reply[0].split(' ').collect();
    assert_eq!(f[..2], ["OK", "STATS"], "{reply:?}");
    let keys: Vec<&str> = f[2..].iter().map(|kv| kv.split('=').next().unwrap_or("")).collect();
    assert_eq!(
        keys,
        [
            "uptime",
            "connections",
            "joined",
            "messages_since_start",
            "commits_since_start",
            "unlogged",
            "store_bytes",
            "wal_bytes"
        ],
        "{reply:?}"
    );
    let value = |key: &str| f.iter().find_map(|kv| kv.strip_prefix(&format!("{key}="))).expect(key);
    let uptime = value("uptime").strip_suffix('s').expect("uptime in seconds");
    assert!(uptime.parse::<u64>().expect("uptime") < 60, "{reply:?}");
    assert_eq!((value("connections"), value("joined"), value("messages_since_start")), ("2", "1", "1"), "{reply:?}");
    assert!(value("commits_since_start").parse::<u64>().expect("commits") >= 1, "{reply:?}");
    assert_eq!(value("unlogged"), "0", "{reply:?}");
    let size = std::fs::metadata(s.db_path()).expect("db").len();
    let store = value("store_bytes").parse::<u64>().expect("store_bytes");
    let wal = value("wal_bytes").parse::<u64>().expect("wal_bytes");
    // The database file and its log; a checkpoint since moves pages from
    // the log to the file, never adds to their sum.
    assert!(store >= size && store >= wal, "{reply:?}");
    assert_eq!(s.console("STATS please"), ["ERR SYNTAX usage: STATS"]);
}
on_both!(stats, stats_on_stdin, stats_on_socket);

fn unknown_and_malformed(via: Via) {
    let mut s = Operated::start(via);
    assert_eq!(s.console("frobnicate"), ["ERR UNKNOWN_COMMAND frobnicate is not a console command; HELP lists them"]);
    assert_eq!(s.console("ACTIVE"), ["ERR UNKNOWN_COMMAND ACTIVE is not a console command; HELP lists them"]);
    assert_eq!(s.console("EXIT now"), ["ERR SYNTAX usage: EXIT"]);
    assert_eq!(s.console("KICK"), ["ERR SYNTAX usage: KICK <name> [reason]"]);
    // The console is still there, and so is the server.
    assert_eq!(s.console("ACTIVE USERS"), ["OK ACTIVE USERS 0"]);
    s.join("alice");
}
on_both!(unknown_and_malformed, unknown_and_malformed_on_stdin, unknown_and_malformed_on_socket);
