//! A database chatd must not use (issue 4): a file that is not a chatd
//! database, or one written by a newer chatd, makes the server refuse to
//! start: exit status 2, exactly one clear line on stderr, the file untouched.
use crate::common::*;
use std::path::Path;

/// Runs chatd on the directory's chatd.db, expecting a refusal; returns the
/// one stderr line.
fn refused(dir: &TempDir) -> String {
    let db = dir.path("chatd.db");
    let before = std::fs::read(&db).expect("read the database file");
    let (code, stderr) = run_to_exit(dir, &[]);
    assert_eq!(code, Some(2), "exit status; stderr: {stderr:?}");
    assert_eq!(stderr.len(), 1, "expected one line on stderr, got {stderr:?}");
    let line = stderr[0].clone();
    assert!(line.starts_with("chatd: "), "{line}");
    assert!(line.contains(&db.display().to_string()), "the line does not name the file: {line}");
    assert_eq!(std::fs::read(&db).expect("read the database file"), before, "the file was changed");
    line
}

fn sql(db: &Path, statements: &str) {
    python_sql(db, &format!("db.executescript({statements:?})\ndb.commit()"));
}

#[test]
fn a_sqlite_file_of_another_program_is_refused() {
    let dir = TempDir::new();
    sql(&dir.path("chatd.db"), "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB);");
    let line = refused(&dir);
    assert!(line.contains("not a chatd database"), "{line}");
}

#[test]
fn a_sqlite_file_with_a_schema_version_but_another_application_id_is_refused() {
    let dir = TempDir::new();
    sql(&dir.path("chatd.db"), "CREATE TABLE users (x); PRAGMA user_version = 1;");
    let line = refused(&dir);
    assert!(line.contains("not a chatd database"), "{line}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let dir = TempDir::new();
    // Deterministic noise, 8 KiB.
    let mut x: u32 = 0x2545_f491;
    let noise: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(dir.path("chatd.db"), noise).expect("write noise");
    let line = refused(&dir);
    assert!(line.contains("not a database"), "{line}");
}

#[test]
fn a_database_from_a_newer_chatd_is_refused() {
    let s = Server::start();
    drop(s.join("alice"));
    let dir = s.stop();
    sql(&dir.path("chatd.db"), "PRAGMA user_version = 99;");
    let line = refused(&dir);
    assert!(line.contains("newer"), "{line}");
}

#[test]
fn a_database_in_a_missing_directory_is_refused() {
    let dir = TempDir::new();
    let db = dir.path("no-such-dir/chatd.db");
    let (code, stderr) = run_to_exit(&dir, &["-d", db.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(2), "exit status; stderr: {stderr:?}");
    assert_eq!(stderr.len(), 1, "expected one line on stderr, got {stderr:?}");
    assert!(stderr[0].starts_with("chatd: ") && stderr[0].contains(&db.display().to_string()), "{stderr:?}");
}

#[test]
fn a_refused_database_can_be_replaced_and_the_server_starts() {
    let dir = TempDir::new();
    sql(&dir.path("chatd.db"), "CREATE TABLE photos (id INTEGER PRIMARY KEY);");
    refused(&dir);
    std::fs::remove_file(dir.path("chatd.db")).expect("remove");
    let s = Server::start_in(dir, &[], "");
    let mut alice = s.join("alice");
    assert_eq!(alice.ask("HISTORY"), "OK HISTORY 0");
}
