//! Opening the database file: the checks that it is a chatd database this
//! chatd can use (`application_id`, `user_version`), the pragmas the loop's
//! connection runs with, and the schema migrations that bring an older file
//! up to date (docs/storage.md, "Schema").

use super::clocks::encode_entries;
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// How long a write waits for a lock held by another process (a backup, an
/// operator's sqlite3) before it fails; short, because the loop waits too.
const BUSY_TIMEOUT: Duration = Duration::from_millis(20);

/// `PRAGMA application_id`: "chat", so a chatd file is recognisable.
const APPLICATION_ID: i64 = 0x6368_6174;

/// A schema migration: SQL, or code for what SQL cannot do alone.
enum Migration {
    Sql(&'static str),
    Code(fn(&Connection) -> rusqlite::Result<()>),
}

/// Schema migrations: entry `i` takes `user_version` from `i` to `i + 1`.
/// Each runs in one transaction with the version change.
const MIGRATIONS: &[Migration] = &[
    // 1: users, the message log, who may see which private message, and
    // the offline queue.
    Migration::Sql(
        "CREATE TABLE users (
        folded     TEXT PRIMARY KEY,          -- identity: the name in lower case
        name       TEXT NOT NULL,             -- as last spelled at JOIN
        password   TEXT,                      -- Argon2id PHC string, never the password
        clock      TEXT NOT NULL DEFAULT '',  -- vector clock, alice=3,bob=1
        created_at TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        id         INTEGER PRIMARY KEY,
        ts         TEXT NOT NULL,             -- RFC 3339 UTC
        kind       TEXT NOT NULL CHECK (kind IN ('ALL', 'MSG', 'MCAST')),
        sender     TEXT NOT NULL,             -- display name
        recipients TEXT NOT NULL,             -- '*', a name, or a comma list
        clock      TEXT NOT NULL,             -- the sender's clock, carried by the message
        body       TEXT NOT NULL
    );
    CREATE TABLE participants (               -- sender and recipients of MSG/MCAST
        folded     TEXT NOT NULL,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        PRIMARY KEY (folded, message_id)
    ) WITHOUT ROWID;
    CREATE TABLE pending (                    -- stored for an offline recipient
        folded     TEXT NOT NULL,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        PRIMARY KEY (folded, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX messages_broadcasts ON messages(kind, id);",
    ),
    // 2: users get a stable number, and vector clocks are stored compactly
    // by those numbers (see `encode_clock`).
    Migration::Code(migrate_to_compact_clocks),
    // 3: the index HISTORY uses to find broadcasts holds broadcasts only.
    // It held every message, so each stored MSG or MCAST rewrote one of
    // its pages too: a sixth of the WAL a one-message commit writes.
    Migration::Sql(
        "DROP INDEX messages_broadcasts;
         CREATE INDEX messages_broadcasts ON messages(kind, id) WHERE kind = 'ALL';",
    ),
    // Clocks become snapshots: a row is a user's clock as of message
    // `as_of` (and whether they were joined then, so broadcasts after it
    // reached them); `meta.clocks_as_of` is the message every row is
    // exact as of, unless its own is later. Schema 3 wrote every clock at
    // every commit, so each row is exact as of the newest message.
    Migration::Sql(
        "ALTER TABLE clocks ADD COLUMN as_of INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE clocks ADD COLUMN joined INTEGER NOT NULL DEFAULT 0;
         CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
         INSERT INTO meta (key, value) VALUES ('clocks_as_of', (SELECT coalesce(max(id), 0) FROM messages));",
    ),
];

/// Schema 2: `users.id`; users' clocks move to their own table, `clocks`;
/// clocks become blobs of (user number, counter) varints, in both tables.
fn migrate_to_compact_clocks(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(
        "ALTER TABLE users ADD COLUMN id INTEGER;
         UPDATE users SET id = n.id
             FROM (SELECT folded, row_number() OVER (ORDER BY folded) AS id FROM users) AS n
             WHERE users.folded = n.folded;
         CREATE UNIQUE INDEX users_by_id ON users(id);
         CREATE TABLE clocks (                     -- each user's vector clock
             user   INTEGER PRIMARY KEY,           -- users.id
             counts BLOB NOT NULL                  -- (user number, counter) varints
         );
         -- Rebuilt (foreign keys are off during migrations): the clock
         -- becomes a blob, and the kind check no longer uses IN (...),
         -- for which SQLite builds a temporary index on every insert.
         CREATE TABLE messages_v2 (
             id         INTEGER PRIMARY KEY,
             ts         TEXT NOT NULL,             -- RFC 3339 UTC
             kind       TEXT NOT NULL CHECK (kind = 'ALL' OR kind = 'MSG' OR kind = 'MCAST'),
             sender     TEXT NOT NULL,             -- display name
             recipients TEXT NOT NULL,             -- '*', a name, or a comma list
             body       TEXT NOT NULL,
             clock      BLOB NOT NULL              -- the sender's clock, carried by the message
         );",
    )?;
    let ids: HashMap<String, i64> = db
        .prepare("SELECT folded, id FROM users")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The text form was `alice=3,bob=1`; unknown names are dropped.
    let encode = |text: &str| {
        let mut entries: Vec<(i64, u64)> = text
            .split(',')
            .filter_map(|item| item.split_once('='))
            .filter_map(|(name, n)| Some((*ids.get(name)?, n.parse().ok()?)))
            .collect();
        entries.sort_unstable();
        encode_entries(entries.into_iter())
    };
    let users: Vec<(i64, String)> = db
        .prepare("SELECT id, clock FROM users WHERE clock != ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut put = db.prepare("INSERT INTO clocks (user, counts) VALUES (?1, ?2)")?;
    for (id, text) in &users {
        put.execute(params![id, encode(text)])?;
    }
    let mut read = db.prepare("SELECT id, ts, kind, sender, recipients, body, clock FROM messages ORDER BY id")?;
    let mut rows = read.query([])?;
    let mut copy = db.prepare(
        "INSERT INTO messages_v2 (id, ts, kind, sender, recipients, body, clock) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    while let Some(r) = rows.next()? {
        let (id, ts, kind, sender, to, body): (i64, String, String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        copy.execute(params![id, ts, kind, sender, to, body, encode(&r.get::<_, String>(6)?)])?;
    }
    drop(rows);
    drop(read);
    db.execute_batch(
        "DROP TABLE messages;
         ALTER TABLE messages_v2 RENAME TO messages;
         CREATE INDEX messages_broadcasts ON messages(kind, id);
         ALTER TABLE users DROP COLUMN clock;",
    )?;
    // What PRAGMA foreign_keys would have checked: every reference still holds.
    let broken: i64 = db.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    if broken > 0 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!("{broken} rows would lose what they refer to")),
        ));
    }
    Ok(())
}

/// Opens (creating if needed) and migrates the database. Refuses a file
/// that is not a chatd database or comes from a newer chatd; the error is
/// the one line `main` prints.
pub(super) fn open(path: &Path, wal_limit: u64) -> Result<Connection, String> {
    let shown = path.display();
    let db = Connection::open(path).map_err(|e| format!("cannot open database {shown}: {e}"))?;
    let check = |e: rusqlite::Error| format!("cannot use database {shown}: {e}");
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(check)?;
    let app_id: i64 = db.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(check)?;
    let tables: i64 = db.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(check)?;
    if (version == 0 && tables > 0) || (version > 0 && app_id != APPLICATION_ID) {
        return Err(format!("{shown} is not a chatd database"));
    }
    let latest = MIGRATIONS.len() as i64;
    if version > latest {
        return Err(format!(
            "{shown} was written by a newer chatd (schema version {version}; this chatd knows up to {latest})"
        ));
    }
    let mode: String = db.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(check)?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("database {shown}: journal mode is {mode}, not WAL");
    }
    // NORMAL: a commit is in the WAL (it survives chatd being killed)
    // without an fsync on the loop thread; the checkpointer thread makes
    // it safe from a power cut (within WAL_POLL, a second at most).
    // Autocheckpoint is off so the loop never does a checkpoint's
    // fsyncs itself.
    // journal_size_limit: when this connection starts the log over (the
    // checkpointer copied all of it), a file that grew past wal_limit
    // (a reader held the log, or one huge transaction) is cut back to
    // it. Below that the file is reused as it is: cutting it costs
    // milliseconds on the loop, and it is only regrown.
    // Foreign keys are switched on after the migrations, which may
    // rebuild a table that others refer to (SQLite's documented way).
    db.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {wal_limit};
         PRAGMA foreign_keys = OFF;"
    ))
    .map_err(check)?;
    db.busy_timeout(BUSY_TIMEOUT).map_err(check)?;
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let step = |db: &Connection| {
            let tx = db.unchecked_transaction()?;
            match migration {
                Migration::Sql(sql) => tx.execute_batch(sql)?,
                Migration::Code(f) => f(&tx)?,
            }
            tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};", i + 1))?;
            tx.commit()
        };
        step(&db).map_err(|e| format!("cannot migrate database {shown} to version {}: {e}", i + 1))?;
    }
    db.execute_batch("PRAGMA foreign_keys = ON").map_err(check)?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;
    use crate::store::tests::{msg, temp_db};
    use crate::store::{Commit, Store};

    #[test]
    fn a_schema_1_database_is_migrated_with_its_clocks() {
        let p = temp_db("v1");
        {
            let db = Connection::open(&p).unwrap();
            let Migration::Sql(v1) = &MIGRATIONS[0] else { panic!("schema 1 is SQL") };
            db.execute_batch(v1).unwrap();
            db.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;
                 INSERT INTO users (folded, name, clock, created_at, last_seen)
                     VALUES ('bob', 'Bob', 'alice=2,bob=1', 't', 't'), ('alice', 'alice', 'alice=2', 't', 't');
                 INSERT INTO messages (ts, kind, sender, recipients, clock, body)
                     VALUES ('t', 'MSG', 'alice', 'Bob', 'alice=2,ghost=7', 'hi bob');
                 INSERT INTO participants VALUES ('alice', 1), ('bob', 1);
                 INSERT INTO pending VALUES ('bob', 1);"
            ))
            .unwrap();
        }
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        assert_eq!(s.format_clock(clocks.get(s.id("bob").unwrap())), "alice=2,bob=1");
        assert_eq!(s.format_clock(clocks.get(s.id("alice").unwrap())), "alice=2");
        let log = s.history(Some("bob"), 10).unwrap();
        assert_eq!((log[0].text.as_str(), log[0].clock_text.as_str()), ("hi bob", "alice=2"));
        assert_eq!(s.pending_count("bob").unwrap(), 1, "the rebuilt log keeps what refers to it");
        let fk: i64 = s.db.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        // A new user gets the next number, and everything survives reopening.
        let carol = s.user_joined("carol", "t2");
        clocks.join(carol);
        let c = clocks.next_send(carol);
        clocks.sent(carol, &c);
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        drop(s);
        let (s, mut clocks) = Store::open(&p).unwrap();
        assert_eq!(s.format_clock(clocks.get(s.id("carol").unwrap())), "carol=1");
        assert_eq!(s.format_clock(clocks.get(s.id("bob").unwrap())), "alice=2,bob=1");
    }

    #[test]
    fn only_broadcasts_are_in_the_broadcast_index_and_history_still_uses_it() {
        let p = temp_db("bindex");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.log_message(&msg(MessageKind::All, "a", "*", "hi all"), &[]).unwrap();
        s.log_message(&msg(MessageKind::Msg, "a", "b", "a to b"), &["a".into(), "b".into()]).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let sql: String =
            s.db.conn
                .query_row("SELECT sql FROM sqlite_master WHERE name = 'messages_broadcasts'", [], |r| r.get(0))
                .unwrap();
        assert!(sql.ends_with("WHERE kind = 'ALL'"), "{sql}");
        // HISTORY's broadcast lookup reads the index alone, as before.
        let plan: Vec<String> =
            s.db.conn
                .prepare("EXPLAIN QUERY PLAN SELECT id FROM messages WHERE kind = 'ALL' ORDER BY id DESC LIMIT 20")
                .unwrap()
                .query_map([], |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
        assert!(plan.iter().any(|l| l.contains("COVERING INDEX messages_broadcasts")), "{plan:?}");
        let texts: Vec<String> = s.history(Some("c"), 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["hi all"]);
    }

    #[test]
    fn a_foreign_database_is_refused() {
        let p = temp_db("foreign");
        let db = Connection::open(&p).unwrap();
        db.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(db);
        assert!(Store::open(&p).err().unwrap().contains("not a chatd database"));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let p = temp_db("newer");
        drop(Store::open(&p).unwrap());
        let db = Connection::open(&p).unwrap();
        db.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(db);
        assert!(Store::open(&p).err().unwrap().contains("newer chatd"));
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused() {
        let p = temp_db("garbage");
        std::fs::write(&p, b"this is not a database, just some text that is long enough to have a header....").unwrap();
        let e = Store::open(&p).err().unwrap();
        assert!(e.contains("not a database"), "{e}");
    }
}
