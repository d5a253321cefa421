//! Passwords (issue 4): REGISTER protects a name; JOIN of a protected name
//! needs the password; it outlives a restart; the database holds only an
//! Argon2id hash; five wrong passwords close the connection.
use crate::common::*;
use std::time::Duration;

/// A password distinctive enough to search the database file for.
const PASSWORD: &str = "Kq7-walrus-Zt9";

/// alice joins, registers PASSWORD and leaves.
fn registered_alice(s: &Server) {
    let mut alice = s.join("alice");
    assert_eq!(alice.ask(&format!("REGISTER {PASSWORD}")), "OK REGISTER");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));
}

fn assert_syntax(reply: &str, what: &str) {
    assert!(reply.starts_with("ERR SYNTAX ") && reply.contains("REGISTER <password>"), "{what}: {reply:?}");
}

#[test]
fn a_password_is_6_to_64_characters() {
    let s = Server::start();
    let mut alice = s.join("alice");
    assert_syntax(&alice.ask("REGISTER"), "no password");
    assert_syntax(&alice.ask("REGISTER 12345"), "5 characters");
    assert_syntax(&alice.ask(&format!("REGISTER {}", "x".repeat(65))), "65 characters");
    assert_syntax(&alice.ask("REGISTER ééééé"), "5 characters in 10 bytes");
    assert_syntax(&alice.ask("REGISTER two words"), "a space");
    // None of those set a password.
    let mut other = s.connect();
    assert!(other.ask("JOIN alice").starts_with("ERR NAME_TAKEN "));
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));
    assert_eq!(other.ask("JOIN alice"), "OK JOIN alice pending=0");

    // The bounds themselves are fine, counted in characters.
    assert_eq!(other.ask("REGISTER 123456"), "OK REGISTER");
    assert_eq!(other.ask(&format!("REGISTER {}", "x".repeat(64))), "OK REGISTER");
    assert_eq!(other.ask(&format!("REGISTER {}", "é".repeat(64))), "OK REGISTER");
}

#[test]
fn register_needs_a_join_first() {
    let s = Server::start();
    let mut c = s.connect();
    assert!(c.ask(&format!("REGISTER {PASSWORD}")).starts_with("ERR NOT_JOINED "));
}

#[test]
fn join_of_a_protected_name_needs_the_right_password() {
    let s = Server::start();
    registered_alice(&s);
    let mut c = s.connect();
    assert!(c.ask("JOIN alice").starts_with("ERR AUTH_REQUIRED "));
    assert!(c.ask("JOIN alice wrong-password").starts_with("ERR AUTH_FAILED "));
    assert!(c.ask(&format!("JOIN alice {}", PASSWORD.to_lowercase())).starts_with("ERR AUTH_FAILED "));
    assert_eq!(c.ask(&format!("JOIN Alice {PASSWORD}")), format!("OK JOIN Alice pending=0"));
}

#[test]
fn register_again_changes_the_password() {
    let s = Server::start();
    registered_alice(&s);
    let (mut alice, reply) = s.join_with_password("alice", PASSWORD);
    assert_eq!(reply, "OK JOIN alice pending=0");
    assert_eq!(alice.ask("REGISTER new-password"), "OK REGISTER");
    assert_eq!(alice.ask("QUIT"), "OK LEAVE");
    assert!(alice.closed_within(WAIT));
    let (_, reply) = s.join_with_password("alice", PASSWORD);
    assert!(reply.starts_with("ERR AUTH_FAILED "), "{reply}");
    let (_, reply) = s.join_with_password("alice", "new-password");
    assert_eq!(reply, "OK JOIN alice pending=0");
}

#[test]
fn the_password_outlives_a_restart() {
    let s = Server::start();
    registered_alice(&s);
    let s = Server::start_in(s.kill(), &[], "");
    let mut c = s.connect();
    assert!(c.ask("JOIN alice").starts_with("ERR AUTH_REQUIRED "));
    assert!(c.ask("JOIN alice not-it").starts_with("ERR AUTH_FAILED "));
    assert_eq!(c.ask(&format!("JOIN alice {PASSWORD}")), "OK JOIN alice pending=0");
}

#[test]
fn the_database_holds_an_argon2id_hash_never_the_password() {
    let s = Server::start();
    registered_alice(&s);
    let (_alice, reply) = s.join_with_password("alice", PASSWORD);
    assert_eq!(reply, "OK JOIN alice pending=0");

    // The stored value, as an operator's sqlite3 would show it.
    let hash = python_sql(
        &s.db_path(),
        "print(db.execute(\"SELECT password FROM users WHERE folded = 'alice'\").fetchone()[0])",
    );
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));

    // Every byte on disk: the database file and its write-ahead log (the
    // server is killed, so nothing is checkpointed away first).
    let logged = s.log_so_far();
    let dir = s.kill();
    let mut files = 0;
    for name in ["chatd.db", "chatd.db-wal", "chatd.db-journal"] {
        let Ok(bytes) = std::fs::read(dir.path(name)) else { continue };
        files += 1;
        assert!(!contains(&bytes, PASSWORD.as_bytes()), "{name} contains the password");
        assert!(!contains(&bytes, "Kq7-walrus".as_bytes()), "{name} contains part of the password");
    }
    assert!(files >= 1, "no database file found");
    // Nor does the log.
    assert!(logged.iter().all(|l| !l.contains(PASSWORD)), "the log shows the password");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn five_wrong_passwords_close_the_connection() {
    let s = Server::start();
    registered_alice(&s);
    let mut c = s.connect();
    for i in 1..=4 {
        let reply = c.ask(&format!("JOIN alice wrong-{i}"));
        assert!(reply.starts_with("ERR AUTH_FAILED "), "attempt {i}: {reply}");
    }
    // Still open after four.
    assert_eq!(c.ask("PING four"), "PONG four");
    let reply = c.ask("JOIN alice wrong-5");
    assert!(reply.starts_with("ERR AUTH_FAILED "), "attempt 5: {reply}");
    assert!(c.closed_within(WAIT), "still open after 5 failures");

    // The name itself is not locked: the right password still works.
    let mut c = s.connect();
    assert_eq!(c.ask(&format!("JOIN alice {PASSWORD}")), "OK JOIN alice pending=0");
    c.expect_silence(Duration::from_millis(200));
}
