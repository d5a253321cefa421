//! The message log and what hangs off it: every ALL, MSG and MCAST with
//! who may see it in HISTORY (its participants), the queue of messages
//! waiting for offline users (and those delivered, not yet removed on
//! disk), HISTORY's reads, DELETE BACKUP, and the live messages kept in
//! memory while the log cannot take them.

use super::{Db, Message, MessageKind, Result};
use crate::clock::Clock;
use crate::names;
use rusqlite::{params, Connection};
use std::collections::HashSet;

/// The log's state in memory: what the next commits still owe the disk.
#[derive(Debug, Default)]
pub(super) struct Log {
    /// Stored messages written to their recipient, not yet removed on disk.
    delivered: HashSet<(String, i64)>,
    /// Live messages whose log write has not reached the disk yet.
    unlogged: Unlogged,
    /// The id the next message gets.
    next_id: NextId,
}

/// Message ids: given out by the store, one above the last ever given, so
/// an id is never used twice, not even after DELETE BACKUP removed the
/// newest messages. Clocks are rebuilt from "the messages after id N"
/// (`store/rebuild.rs`), which must never miss a newer message with a
/// reused smaller id (SQLite's own choice, max + 1, would reuse them).
#[derive(Debug, Default, Clone, Copy)]
struct NextId {
    /// For the next message of this pass.
    next: i64,
    /// As of the last commit: where `next` goes back to if this pass's
    /// transaction is rolled back.
    committed: i64,
}

impl Log {
    /// The log's state for a database whose highest id in use (by a
    /// message, or by a clock snapshot that named it) is `last_id`.
    pub(super) fn new(last_id: i64) -> Log {
        let next = last_id + 1;
        Log { next_id: NextId { next, committed: next }, ..Log::default() }
    }

    /// The id of the newest message logged (in this pass's transaction
    /// too); 0 if none ever was.
    pub(super) fn last_id(&self) -> i64 {
        self.next_id.next - 1
    }

    /// Inserts a message with the next id, which it returns.
    fn insert(&mut self, db: &mut Db, row: &Row<'_>, participants: &[String]) -> Result<i64> {
        let id = self.next_id.next;
        db.write("logging a message", |c| insert_message(c, id, row, participants))?;
        self.next_id.next += 1;
        Ok(id)
    }

    /// Logs a message whose sender is told it is stored; returns its id.
    /// `counts`: its clock as stored.
    pub(super) fn log_message(
        &mut self,
        db: &mut Db,
        m: &Message,
        counts: &[u8],
        participants: &[String],
    ) -> Result<i64> {
        // Kept messages are older: they take their place in the log first.
        self.write_unlogged(db)?;
        let row = Row { ts: &m.ts, kind: m.kind, from: &m.from, to: &m.to, counts, text: &m.text };
        self.insert(db, &row, participants)
    }

    /// Logs a live message, or keeps it for a later commit (see
    /// `Store::log_live_message`).
    pub(super) fn log_live(
        &mut self,
        db: &mut Db,
        m: &Message,
        counts: Vec<u8>,
        participants: &[String],
        limit: UnloggedLimit,
    ) {
        self.unlogged.limit = limit;
        let kept = Kept {
            ts: m.ts.clone(),
            kind: m.kind,
            from: m.from.clone(),
            to: m.to.clone(),
            counts,
            text: m.text.clone(),
            participants: participants.to_vec(),
        };
        // Tried at once, as any message is, even while backing off after a
        // failed commit: the storage may be back, and then this pass's
        // commit saves it with everything else before anyone sees it.
        let written = self.write_unlogged(db).is_ok() && self.insert(db, &kept.row(), &kept.participants).is_ok();
        if written {
            self.unlogged.in_tx.push(kept);
        } else {
            // This pass's transaction is lost (or there is none): the live
            // messages already in it go back to the queue before this one.
            self.unlogged.rolled_back();
            self.unlogged.keep(kept);
        }
    }

    /// Live messages waiting to be written to the log.
    pub(super) fn unlogged(&self) -> usize {
        self.unlogged.kept.len()
    }

    /// Writes the kept live messages not yet in this pass's transaction.
    pub(super) fn write_unlogged(&mut self, db: &mut Db) -> Result<()> {
        let unlogged = &mut self.unlogged;
        let from = unlogged.kept_in_tx;
        if from == unlogged.kept.len() {
            return Ok(());
        }
        let (kept, first) = (&unlogged.kept, self.next_id.next);
        db.write("writing kept live messages", |c| {
            for (id, k) in (first..).zip(&kept[from..]) {
                insert_message(c, id, &k.row(), &k.participants)?;
            }
            Ok(())
        })?;
        self.next_id.next += (kept.len() - from) as i64;
        unlogged.kept_in_tx = unlogged.kept.len();
        Ok(())
    }

    /// How many messages wait for a user (those delivered but not yet
    /// removed on disk not counted).
    pub(super) fn pending_count(&self, db: &Connection, name: &str) -> Result<usize> {
        let folded = names::fold(name);
        let on_disk: i64 = db
            .prepare_cached("SELECT count(*) FROM pending WHERE folded = ?1")?
            .query_row(params![folded], |r| r.get(0))?;
        let gone = self.delivered.iter().filter(|(f, _)| *f == folded).count();
        Ok(usize::try_from(on_disk).unwrap_or(0).saturating_sub(gone))
    }

    /// Up to `limit` of the messages waiting for a user with an id above
    /// `after`, oldest first, with their clocks as stored; those delivered
    /// already, though not yet removed on disk, left out.
    pub(super) fn pending_after(
        &self,
        db: &Connection,
        name: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(Message, Vec<u8>)>> {
        let mut stmt = db.prepare_cached(
            "SELECT m.id, m.kind, m.ts, m.sender, m.recipients, m.clock, m.body
             FROM pending p JOIN messages m ON m.id = p.message_id
             WHERE p.folded = ?1 AND p.message_id > ?2 ORDER BY p.message_id LIMIT ?3",
        )?;
        let folded = names::fold(name);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![folded, after, limit], row_to_message)?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        out.retain(|(m, _)| !self.delivered.contains(&(folded.clone(), m.id)));
        Ok(out)
    }

    /// Delivered messages leave a user's queue; on disk with the next
    /// commit that succeeds.
    pub(super) fn remove_pending(&mut self, name: &str, ids: &[i64]) {
        let folded = names::fold(name);
        self.delivered.extend(ids.iter().map(|&id| (folded.clone(), id)));
    }

    /// DELETE BACKUP: deletes the conversation log but every message still
    /// waiting for an offline recipient. Returns (removed, kept).
    pub(super) fn delete_log(&mut self, db: &mut Db) -> Result<(usize, usize)> {
        // Kept live messages are part of the log: deleted with it.
        self.write_unlogged(db)?;
        let removed = db.write("deleting the log", |c| {
            c.execute("DELETE FROM participants WHERE message_id NOT IN (SELECT message_id FROM pending)", [])?;
            c.execute("DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM pending)", [])
        })?;
        let kept: i64 = db.conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        Ok((removed, kept as usize))
    }

    /// Changes held in memory and not yet on disk: delivered messages still
    /// in the queue on disk, live messages not in the log.
    pub(super) fn has_unsaved(&self) -> bool {
        !(self.delivered.is_empty() && self.unlogged.kept.is_empty())
    }

    /// Removes the delivered messages from the queue on disk (inside the
    /// pass's transaction).
    pub(super) fn save(&self, db: &Connection) -> rusqlite::Result<()> {
        let mut del = db.prepare_cached("DELETE FROM pending WHERE folded = ?1 AND message_id = ?2")?;
        for (folded, id) in &self.delivered {
            del.execute(params![folded, id])?;
        }
        Ok(())
    }

    /// The pass committed, with everything this holds written in it.
    pub(super) fn saved(&mut self) {
        self.next_id.committed = self.next_id.next;
        self.delivered.clear();
        self.unlogged.committed();
    }

    /// The pass's commit failed: its live messages go back to waiting.
    pub(super) fn rolled_back(&mut self) {
        self.next_id.next = self.next_id.committed;
        self.unlogged.rolled_back();
    }
}

/// Queues a logged message for an offline recipient.
pub(super) fn add_pending(db: &mut Db, name: &str, message_id: i64) -> Result<()> {
    let folded = names::fold(name);
    db.write("storing an offline message", |c| {
        c.prepare_cached("INSERT OR IGNORE INTO pending (folded, message_id) VALUES (?1, ?2)")?
            .execute(params![folded, message_id])
    })?;
    Ok(())
}

/// The last `n` messages `name` may see (every broadcast, and every
/// MSG/MCAST they sent or received), oldest first, with their clocks as
/// stored. `None`: the whole log.
pub(super) fn history(db: &Connection, name: Option<&str>, n: usize) -> Result<Vec<(Message, Vec<u8>)>> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let mut out = match name {
        Some(name) => {
            let mut stmt = db.prepare_cached(
                "SELECT id, kind, ts, sender, recipients, clock, body FROM messages
                 WHERE id IN (SELECT id FROM messages WHERE kind = 'ALL' ORDER BY id DESC LIMIT ?2)
                    OR id IN (SELECT message_id FROM participants WHERE folded = ?1
                              ORDER BY message_id DESC LIMIT ?2)
                 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![names::fold(name), n], row_to_message)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
        None => {
            let mut stmt = db.prepare_cached(
                "SELECT id, kind, ts, sender, recipients, clock, body FROM messages ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![n], row_to_message)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    out.reverse();
    Ok(out)
}

/// How many live messages, and how many bytes of them, may wait in memory
/// for the log (settings `max_unlogged`, `max_unlogged_bytes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnloggedLimit {
    pub messages: usize,
    pub bytes: usize,
}

/// A live message waiting for the log, as it will be written.
#[derive(Debug)]
struct Kept {
    ts: String,
    kind: MessageKind,
    from: String,
    to: String,
    counts: Vec<u8>,
    text: String,
    participants: Vec<String>,
}

impl Kept {
    fn row(&self) -> Row<'_> {
        Row { ts: &self.ts, kind: self.kind, from: &self.from, to: &self.to, counts: &self.counts, text: &self.text }
    }

    /// What it holds, for the byte limit (the payload, not the allocator's
    /// overhead).
    fn bytes(&self) -> usize {
        let names: usize = self.participants.iter().map(String::len).sum();
        self.ts.len() + self.from.len() + self.to.len() + self.counts.len() + self.text.len() + names
    }
}

/// Live messages (delivered, promised nobody) whose log write has not
/// reached the disk: while commits fail, live chat goes on, and these are
/// written, oldest first and before anything newer, by the next commit
/// that succeeds.
#[derive(Debug, Default)]
struct Unlogged {
    /// Waiting, oldest first.
    kept: Vec<Kept>,
    /// Their `Kept::bytes`, summed.
    bytes: usize,
    /// How many of `kept` (from the front) are in this pass's transaction.
    kept_in_tx: usize,
    /// Live messages written in this pass's transaction: back to `kept`
    /// if it does not commit.
    in_tx: Vec<Kept>,
    /// Dropped since the last time the kept ones were written, for being
    /// past `limit`.
    dropped: u64,
    /// The config's, given with every live message (before it is needed).
    limit: UnloggedLimit,
}

impl Unlogged {
    /// Queues a message for the log, or drops it past the limit (the
    /// server log says so once, and how many when writing works again).
    fn keep(&mut self, k: Kept) {
        let size = k.bytes();
        if self.kept.len() < self.limit.messages && self.bytes + size <= self.limit.bytes {
            self.bytes += size;
            self.kept.push(k);
            return;
        }
        if self.dropped == 0 {
            log::warn!(
                "store: {} live messages ({} bytes) wait for the log, the most max_unlogged and max_unlogged_bytes \
                 allow; more are delivered but will be missing from the log",
                self.kept.len(),
                self.bytes
            );
        }
        self.dropped += 1;
    }

    /// This pass's transaction was rolled back: its live messages are not
    /// on disk, and none of the kept ones are.
    fn rolled_back(&mut self) {
        self.kept_in_tx = 0;
        for k in std::mem::take(&mut self.in_tx) {
            self.keep(k);
        }
    }

    /// This pass's transaction committed.
    fn committed(&mut self) {
        self.in_tx.clear();
        let written = std::mem::take(&mut self.kept_in_tx);
        if written > 0 {
            for k in self.kept.drain(..written) {
                self.bytes -= k.bytes();
            }
            log::info!("store: {written} live messages kept while the store was failing are in the log now");
        }
        if self.dropped > 0 && self.kept.is_empty() {
            log::warn!(
                "store: {} live messages are missing from the log: they came while the store was failing, \
                 past max_unlogged or max_unlogged_bytes",
                self.dropped
            );
            self.dropped = 0;
        }
    }
}

impl Drop for Unlogged {
    /// At exit with the store still failing: say what the log lacks.
    fn drop(&mut self) {
        let lost = self.kept.len() as u64 + self.dropped;
        if lost > 0 {
            log::error!("store: {lost} live messages were never written to the log (the store kept failing)");
        }
    }
}

/// One row of the message log, borrowed from where it is kept.
struct Row<'a> {
    ts: &'a str,
    kind: MessageKind,
    from: &'a str,
    to: &'a str,
    /// The clock as stored (see `clocks::encode_entries`).
    counts: &'a [u8],
    text: &'a str,
}

/// Inserts a message with its id, and who may see it.
fn insert_message(db: &Connection, id: i64, m: &Row<'_>, participants: &[String]) -> rusqlite::Result<()> {
    db.prepare_cached(
        "INSERT INTO messages (id, ts, kind, sender, recipients, clock, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, m.ts, m.kind.as_str(), m.from, m.to, m.counts, m.text])?;
    let mut stmt = db.prepare_cached("INSERT OR IGNORE INTO participants (folded, message_id) VALUES (?1, ?2)")?;
    for p in participants {
        stmt.execute(params![names::fold(p), id])?;
    }
    Ok(())
}

/// A message row, and its clock as stored (decoded by the store, which
/// knows the users it names).
fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Message, Vec<u8>)> {
    let m = Message {
        id: r.get(0)?,
        kind: MessageKind::parse(&r.get::<_, String>(1)?),
        ts: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        clock: Clock::new(),
        clock_text: String::new(),
        text: r.get(6)?,
    };
    Ok((m, r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use crate::message::{Message, MessageKind};
    use crate::store::tests::{msg, temp_db};
    use crate::store::{Commit, Store, StoreError, UnloggedLimit};

    #[test]
    fn history_hides_private_messages_of_others() {
        let p = temp_db("vis");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.log_message(&msg(MessageKind::All, "a", "*", "hi all"), &[]).unwrap();
        s.log_message(&msg(MessageKind::Msg, "a", "b", "a to b"), &["a".into(), "b".into()]).unwrap();
        s.log_message(&msg(MessageKind::Mcast, "b", "a,c", "b to a,c"), &["b".into(), "a".into(), "c".into()]).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts =
            |who: &str| -> Vec<String> { s.history(Some(who), 10).unwrap().into_iter().map(|m| m.text).collect() };
        assert_eq!(texts("a"), ["hi all", "a to b", "b to a,c"]);
        assert_eq!(texts("C"), ["hi all", "b to a,c"]);
        assert_eq!(texts("d"), ["hi all"]);
        assert_eq!(s.history(None, 2).unwrap().len(), 2);
    }

    #[test]
    fn live_messages_of_a_failed_pass_are_written_first_by_the_next_commit() {
        let p = temp_db("unlogged");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        let limit = UnloggedLimit { messages: 10, bytes: 1 << 20 };
        let live = |text: &str, ts: &str| Message { ts: ts.into(), ..msg(MessageKind::All, "a", "*", text) };
        s.log_live_message(&live("one", "t1"), &[], limit);
        // A later write of the same pass fails: the pass is rolled back.
        s.db.failed = Some(StoreError("simulated".into()));
        s.log_live_message(&live("two", "t2"), &[], limit);
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        assert_eq!(s.unlogged(), 2);
        assert!(s.history(None, 10).unwrap().is_empty());
        // The next message goes in after them, each with its own time.
        s.log_live_message(&live("three", "t3"), &[], limit);
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.unlogged(), 0);
        let log: Vec<(String, String)> = s.history(None, 10).unwrap().into_iter().map(|m| (m.ts, m.text)).collect();
        let want = [("t1", "one"), ("t2", "two"), ("t3", "three")].map(|(t, m)| (t.to_string(), m.to_string()));
        assert_eq!(log, want);
    }

    #[test]
    fn kept_live_messages_are_bounded_by_count_and_bytes() {
        let p = temp_db("unlogged-bound");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.db.failed = Some(StoreError("simulated".into()));
        let by_count = UnloggedLimit { messages: 2, bytes: 1 << 20 };
        for text in ["a", "b", "c"] {
            s.log_live_message(&msg(MessageKind::All, "x", "*", text), &[], by_count);
        }
        assert_eq!((s.unlogged(), s.log.unlogged.dropped), (2, 1));
        let kept_bytes = s.log.unlogged.bytes;
        let by_bytes = UnloggedLimit { messages: 100, bytes: kept_bytes + 10 };
        s.log_live_message(&msg(MessageKind::All, "x", "*", &"long".repeat(10)), &[], by_bytes);
        assert_eq!((s.unlogged(), s.log.unlogged.dropped), (2, 2));
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        // Written by the retry; the count of dropped ones is reported and reset.
        s.retry_at = Some(std::time::Instant::now());
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.history(None, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["a", "b"]);
        assert_eq!((s.unlogged(), s.log.unlogged.bytes, s.log.unlogged.dropped), (0, 0, 0));
    }

    #[test]
    fn delete_log_takes_the_kept_live_messages_too() {
        let p = temp_db("unlogged-delete");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.db.failed = Some(StoreError("simulated".into()));
        s.log_live_message(
            &msg(MessageKind::All, "x", "*", "kept"),
            &[],
            UnloggedLimit { messages: 5, bytes: 1 << 20 },
        );
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        assert_eq!(s.delete_log(&mut clocks).unwrap(), (1, 0));
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!((s.unlogged(), s.history(None, 10).unwrap().len()), (0, 0));
    }

    #[test]
    fn pending_messages_are_oldest_first_and_removable() {
        let p = temp_db("pending");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        let a = s.log_message(&msg(MessageKind::Msg, "a", "b", "one"), &[]).unwrap();
        let b = s.log_message(&msg(MessageKind::Msg, "a", "b", "two"), &[]).unwrap();
        s.add_pending("B", b).unwrap();
        s.add_pending("b", a).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.pending_after("b", 0, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(s.pending_after("b", a, 10).unwrap()[0].text, "two", "read from after an id");
        assert_eq!(s.pending_after("b", 0, 1).unwrap().len(), 1, "at most the limit");
        s.remove_pending("b", &[a]);
        // Gone at once for readers, before the removal is on disk.
        assert_eq!(s.pending_count("b").unwrap(), 1);
        assert_eq!(s.pending_after("b", 0, 10).unwrap()[0].text, "two");
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.pending_count("b").unwrap(), 1);
    }

    #[test]
    fn delete_log_keeps_messages_waiting_for_offline_users() {
        let p = temp_db("delete");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.log_message(&msg(MessageKind::All, "a", "*", "old"), &[]).unwrap();
        s.log_message(&msg(MessageKind::Msg, "a", "b", "read"), &["a".into(), "b".into()]).unwrap();
        let waiting = s.log_message(&msg(MessageKind::Msg, "a", "c", "waiting"), &["a".into(), "c".into()]).unwrap();
        s.add_pending("c", waiting).unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        assert_eq!(s.delete_log(&mut clocks).unwrap(), (2, 1));
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        let texts: Vec<String> = s.pending_after("c", 0, 10).unwrap().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["waiting"]);
        assert_eq!(s.history(Some("a"), 10).unwrap().len(), 1);
    }
}
