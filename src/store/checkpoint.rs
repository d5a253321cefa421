//! The store's checkpoint thread: flushes SQLite's write-ahead log to disk
//! and keeps it small, off the event loop. `store/mod.rs` starts it, calls
//! [`Checkpointer::before_write`] before opening a transaction and
//! [`Checkpointer::after_write`] once it has ended.
//!
//! Every commit of the loop appends the pages it changed to `<db>-wal`
//! (about 20 KiB for one stored MSG). A checkpoint copies them into the
//! database file, and only once *every* frame is copied can the log start
//! over from its beginning (SQLite does that at the next commit). A
//! checkpoint that copies while the loop keeps committing never gets there,
//! and the log grows without end (issue 11: 11 GiB in a minute). So:
//!
//! 1. Every [`WAL_POLL`] after a commit, the thread copies what is new
//!    (a PASSIVE checkpoint, which never blocks the writer, fsyncs the log
//!    first): little is ever left uncopied. While the log is small, at most
//!    every [`SYNC_EVERY`]: at a light load the copies' fsyncs would cost
//!    more than the messages.
//! 2. Once the log holds a quarter of `wal_limit` (and, if the last copy
//!    was slow, after copying again while the loop writes on), it closes
//!    the *gate*: the loop opens no new transaction (it waits at most
//!    [`GATE_WAIT`], then writes on anyway) while one more PASSIVE copies
//!    the last few milliseconds of commits and fsyncs.
//! 3. If the loop committed nothing meanwhile, every frame is in the
//!    database file: a RESTART checkpoint (nothing left to copy) checks no
//!    reader still uses the log, holding the gate's lock so the loop cannot
//!    open a transaction during those microseconds. The loop's next commit
//!    then writes the log from its beginning: the file is reused, not grown.
//!
//! The only checkpoints that take SQLite's writer lock are that RESTART and
//! the TRUNCATE that shrinks the file once the loop has been idle for a
//! second; both run only while the loop provably holds no transaction and
//! cannot open one, and both have nothing left to copy. So a checkpoint
//! never makes a user's command fail with SQLITE_BUSY, and the loop never
//! waits for more than one short copy. Only past three quarters of the
//! limit (the disk does not keep up) does the loop wait, up to
//! [`HARD_WAIT`], for the log to be emptied rather than let it grow. A
//! reader that holds frames of the log (an operator's open transaction, a
//! long backup) keeps any checkpoint from emptying it: then no wait would
//! help, the log grows until the reader is done, and a warning says so.
//!
//! Durability: a PASSIVE checkpoint starts by fsyncing the log, and one
//! runs within [`SYNC_EVERY`] of any commit (a small log) or [`WAL_POLL`]
//! (a larger one); with `synchronous = NORMAL` that bounds what a power
//! cut can take back (docs/storage.md).

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How soon after a commit the thread copies it into the database file
/// (and fsyncs the log): at the heaviest load (some 100 MB of log a second)
/// the log grows a few MB in between, a small part of the three quarters of
/// the limit kept in reserve, and the gated copy has only that to do.
pub const WAL_POLL: Duration = Duration::from_millis(25);

/// While the log is small (under [`quick_limit`]), copies (each with two
/// fsyncs) are at most this often: at a light, steady load every commit
/// would otherwise cost a checkpoint of its own, most of the server's CPU
/// time for a message to a few hundred users. A lone commit after a quiet
/// spell is still copied at once; a power cut takes back at most this much.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);

/// How long the loop must have committed nothing before the log file is
/// truncated to nothing (the disk space given back).
pub const IDLE_TRUNCATE: Duration = Duration::from_secs(1);

/// The longest the loop waits for a closed gate before writing on anyway.
/// The gated copy normally takes a few milliseconds (two small fsyncs);
/// past this the disk is slow and the loop must not stall on it: the
/// attempt then just fails to empty the log, and is made again.
pub const GATE_WAIT: Duration = Duration::from_millis(100);

/// The longest the loop waits, past three quarters of the limit, for the
/// log to be emptied: enough to copy and fsync that much log on a slow
/// disk; if it is not enough, the loop writes on (and says so).
pub const HARD_WAIT: Duration = Duration::from_secs(1);

/// Copies at most this many times in a row, while the loop writes on,
/// before closing the gate anyway.
const CATCH_UP_ROUNDS: usize = 4;

/// At most one warning this often that the log outgrows the disk.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What the loop and the thread share: the gate and the log's size.
struct Shared {
    gate: Mutex<Gate>,
    /// The loop waits here for the gate to open or the log to be emptied.
    to_loop: Condvar,
    /// The thread sleeps here between checkpoints.
    to_thread: Condvar,
    /// Frames in the log (in use: the file is reused, so its size says
    /// less), as SQLite reports after each of the loop's commits (see
    /// [`Checkpointer::watch`]); 0 once the thread has emptied the log. The
    /// loop's own count, so it does not depend on when the thread last ran.
    wal_frames: AtomicU64,
    /// Bytes a frame takes in the log: a page and its 24-byte header.
    frame: u64,
    /// `wal_limit`.
    limit: u64,
}

impl Shared {
    /// Bytes of log in use after the loop's last commit.
    fn in_use(&self) -> u64 {
        match self.wal_frames.load(Ordering::Relaxed) {
            0 => 0,
            n => 32 + n * self.frame,
        }
    }
}

#[derive(Debug, Default)]
struct Gate {
    /// The loop has a transaction open.
    writing: bool,
    /// The thread is emptying the log: the loop opens no transaction.
    closed: bool,
    /// Transactions the loop has ended: one that ends while the gate is
    /// closed means the log was not emptied; none since the last look
    /// means nothing is new.
    commits: u64,
    /// Times the log was emptied.
    emptied: u64,
    /// The loop, past three quarters of the limit, asks for the log to be
    /// emptied now; cleared when an attempt made for it has ended.
    drain: bool,
    /// The last attempt found a reader (a backup, an operator's sqlite3)
    /// holding the log: waiting for it would be in vain.
    pinned: bool,
    /// The loop waits on `to_loop`.
    loop_waits: bool,
    /// The thread waits on `to_thread` for the loop's transaction to end,
    /// or sleeps because nothing happens: the loop then wakes it.
    thread_waits: bool,
    stop: bool,
    /// When the loop last warned that the log could not be emptied.
    warned: Option<Instant>,
}

/// Locks the gate; a panic elsewhere while it was held does not matter
/// here (every field is valid at any time), so a poisoned lock is taken.
fn lock(m: &Mutex<Gate>) -> MutexGuard<'_, Gate> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `Condvar::wait_timeout_while`, taking the lock back if poisoned.
fn wait_while<'a>(
    cv: &Condvar,
    g: MutexGuard<'a, Gate>,
    timeout: Duration,
    cond: impl FnMut(&mut Gate) -> bool,
) -> MutexGuard<'a, Gate> {
    cv.wait_timeout_while(g, timeout, cond).map_or_else(|e| e.into_inner().0, |r| r.0)
}

impl Shared {
    /// Ends an attempt to empty the log; `answering`: it was made for the
    /// loop's drain request.
    fn open(&self, g: &mut Gate, answering: bool) {
        g.closed = false;
        if answering {
            g.drain = false;
        }
        if g.loop_waits {
            self.to_loop.notify_all();
        }
    }
}

/// A thread with its own connection that checkpoints the WAL.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens the thread's connection and starts it; `path` is the database
    /// (already created and migrated).
    pub(super) fn start(path: &Path, limit: u64) -> std::io::Result<Checkpointer> {
        let db = Connection::open(path).map_err(std::io::Error::other)?;
        // No waiting inside SQLite: a lock that is taken means "not now",
        // and the next look tries again.
        db.busy_timeout(Duration::ZERO).map_err(std::io::Error::other)?;
        let page: u64 = db.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            gate: Mutex::new(Gate::default()),
            to_loop: Condvar::new(),
            to_thread: Condvar::new(),
            wal_frames: AtomicU64::new(0),
            frame: page + 24,
            limit,
        });
        let mut wal = path.as_os_str().to_os_string();
        wal.push("-wal");
        let mut thread = Thread {
            db,
            wal: PathBuf::from(wal),
            shared: shared.clone(),
            // A first look in any case: a log left by a crash is copied
            // and emptied, and its file truncated once all is quiet.
            seen: u64::MAX,
            looked: u64::MAX,
            last_copy: Instant::now().checked_sub(SYNC_EVERY).unwrap_or_else(Instant::now),
            idle_since: Instant::now(),
            unfinished: true,
            needs_truncate: true,
            failing: false,
            sync_failing: false,
        };
        let handle = std::thread::Builder::new().name("chatd-checkpoint".into()).spawn(move || thread.run())?;
        Ok(Checkpointer { shared, thread: Some(handle) })
    }

    /// Has SQLite tell the checkpointer how many frames the log holds after
    /// each commit on `db` (the loop's connection). [`Checkpointer::unwatch`]
    /// must be called before the checkpointer is dropped.
    pub(super) fn watch(&self, db: &Connection) {
        let frames: *const AtomicU64 = &self.shared.wal_frames;
        // SAFETY: `db.handle()` is a live connection, used only on this
        // (the loop's) thread, where the hook also runs. `frames` points
        // into the Arc'd `Shared`, which `self` keeps alive until `unwatch`
        // removes the hook (Store's Drop calls it before dropping us). The
        // hook only does an atomic store.
        unsafe {
            rusqlite::ffi::sqlite3_wal_hook(db.handle(), Some(wal_committed), frames as *mut std::ffi::c_void);
        }
    }

    /// Removes the hook [`Checkpointer::watch`] set.
    pub(super) fn unwatch(&self, db: &Connection) {
        // SAFETY: as in `watch`; a null hook is SQLite's way to remove it.
        unsafe {
            rusqlite::ffi::sqlite3_wal_hook(db.handle(), None, std::ptr::null_mut());
        }
    }

    /// The loop is about to open a transaction: waits (boundedly) while
    /// the gate is closed, and past three quarters of the limit for the log
    /// to be emptied.
    pub(super) fn before_write(&self) {
        let sh = &*self.shared;
        let mut g = lock(&sh.gate);
        if g.closed {
            g.loop_waits = true;
            g = wait_while(&sh.to_loop, g, GATE_WAIT, |g| g.closed);
            g.loop_waits = false;
        }
        let wal = sh.in_use();
        if wal >= hard_limit(sh.limit) && !g.pinned {
            let (emptied, started) = (g.emptied, Instant::now());
            g.drain = true;
            g.loop_waits = true;
            sh.to_thread.notify_one();
            g = wait_while(&sh.to_loop, g, HARD_WAIT, |g| g.drain && !g.pinned && g.emptied == emptied);
            g.loop_waits = false;
            if g.emptied == emptied {
                // Once in a while: under a load the disk cannot follow,
                // this happens on every transaction.
                if g.warned.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                    g.warned = Some(Instant::now());
                    log::warn!(
                        "store: the WAL holds {wal} bytes, past three quarters of wal_limit ({}), and was not \
                         emptied within {} ms{}; writing on",
                        sh.limit,
                        started.elapsed().as_millis(),
                        if g.pinned { " (a reader holds it)" } else { "" }
                    );
                }
            } else {
                log::debug!("store: waited {} ms for the WAL to be emptied", started.elapsed().as_millis());
            }
        }
        g.writing = true;
    }

    /// The loop's transaction has ended (committed or rolled back). Cheap
    /// when it had none.
    pub(super) fn after_write(&self) {
        let mut g = lock(&self.shared.gate);
        if g.writing {
            g.writing = false;
            g.commits += 1;
            if g.thread_waits {
                self.shared.to_thread.notify_one();
            }
        }
    }
}

/// SQLite's WAL hook: called on the loop's thread after each commit with
/// the number of frames in the log. Replaces the automatic checkpoint
/// (which is off in chatd anyway).
unsafe extern "C" fn wal_committed(
    frames_seen: *mut std::ffi::c_void,
    _db: *mut rusqlite::ffi::sqlite3,
    _name: *const std::ffi::c_char,
    frames: std::ffi::c_int,
) -> std::ffi::c_int {
    // SAFETY: the pointer `watch` registered, valid until `unwatch`.
    let seen = unsafe { &*(frames_seen as *const AtomicU64) };
    seen.store(u64::try_from(frames).unwrap_or(0), Ordering::Relaxed);
    rusqlite::ffi::SQLITE_OK
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        {
            let mut g = lock(&self.shared.gate);
            g.stop = true;
            self.shared.to_thread.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where the thread starts emptying the log.
pub fn soft_limit(limit: u64) -> u64 {
    limit / 4
}

/// Below this the log is small: copies wait for [`SYNC_EVERY`]. 1 MiB for
/// the default 64 MiB limit; a heavy load passes it within milliseconds,
/// and from then on the log is copied every [`WAL_POLL`].
pub fn quick_limit(limit: u64) -> u64 {
    (limit / 64).max(256 * 1024)
}

/// Where the loop waits for the log to be emptied.
pub fn hard_limit(limit: u64) -> u64 {
    limit / 4 * 3
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// It could not do all it was asked (a lock was taken).
    busy: bool,
    /// Frames in the log, and frames of those now in the database file.
    log: i64,
    copied: i64,
}

impl Outcome {
    /// Every frame of the log (as it was when the checkpoint began) is in
    /// the database file.
    fn complete(&self) -> bool {
        !self.busy && self.copied >= self.log
    }
}

struct Thread {
    db: Connection,
    /// The log file, for its fsync behind a reader and its size in logs.
    wal: PathBuf,
    shared: Arc<Shared>,
    /// The loop's commit count at the last checkpoint: none since, nothing
    /// new to copy.
    seen: u64,
    /// The loop's commit count when the thread last looked, and when it
    /// last copied.
    looked: u64,
    last_copy: Instant,
    /// Since when the loop has committed nothing.
    idle_since: Instant,
    /// The last attempt left work: copy again at the next look.
    unfinished: bool,
    /// The log file has not been truncated since the last commit.
    needs_truncate: bool,
    /// The last checkpoint, or fsync of the log, failed (logged once,
    /// until one works again).
    failing: bool,
    sync_failing: bool,
}

impl Thread {
    fn run(&mut self) {
        loop {
            // Nothing to do until the loop commits: sleep until it does
            // (after_write wakes the thread), rather than poll.
            let resting = !self.unfinished && !self.needs_truncate;
            let (drain, commits) = {
                let sh = &*self.shared;
                let mut g = lock(&sh.gate);
                let seen = self.seen;
                let timeout = if resting { Duration::from_secs(3600) } else { WAL_POLL };
                g.thread_waits = resting;
                g = wait_while(&sh.to_thread, g, timeout, |g| {
                    // Sleep on unless told to stop, asked to drain, or
                    // (resting) woken by a commit.
                    let woken = g.stop || g.drain || (resting && g.commits != seen);
                    !woken
                });
                g.thread_waits = false;
                if g.stop {
                    return;
                }
                (g.drain, g.commits)
            };
            if commits != self.looked {
                self.looked = commits;
                self.idle_since = Instant::now();
                self.needs_truncate = true;
            }
            let uncopied = commits != self.seen;
            if uncopied || drain || self.unfinished {
                let small = self.shared.in_use() < quick_limit(self.shared.limit);
                if drain || !small || self.last_copy.elapsed() >= SYNC_EVERY {
                    self.seen = commits;
                    self.last_copy = Instant::now();
                    self.unfinished = !self.copy(drain);
                }
            } else if self.needs_truncate && self.idle_since.elapsed() >= IDLE_TRUNCATE {
                self.needs_truncate = !self.truncate_idle(commits);
            }
        }
    }

    /// Copies what is new into the database file (fsyncing the log first),
    /// and empties the log if it has grown past a quarter of the limit or
    /// the loop asked for it (`drain`). False if something was left undone
    /// (a reader holds frames, a checkpoint failed): the thread tries again
    /// in WAL_POLL.
    fn copy(&mut self, drain: bool) -> bool {
        let Some(o) = self.checkpoint("PASSIVE") else {
            self.end_attempt(drain);
            return false;
        };
        // The log as this checkpoint found it, or as the loop's last commit
        // left it if that is more (a log left by a crash has frames the
        // loop has not reported).
        let in_use = self.shared.in_use().max(if o.log > 0 { 32 + o.log as u64 * self.shared.frame } else { 0 });
        if !o.complete() {
            // SQLite fsyncs the log only when it has something it may copy;
            // behind a reader's snapshot it has not, and commits made since
            // would wait for the reader to be done to be safe on disk.
            match std::fs::File::open(&self.wal).and_then(|f| f.sync_data()) {
                Ok(()) => self.sync_failing = false,
                Err(e) if !std::mem::replace(&mut self.sync_failing, true) => {
                    log::warn!("store: fsync of {} failed (will retry): {e}", self.wal.display());
                }
                Err(_) => {}
            }
        }
        if !o.complete() && lock(&self.shared.gate).pinned {
            // A reader still holds frames, as at the last attempt: closing
            // the gate again would only slow the loop down. Again next look.
            self.end_attempt(drain);
            false
        } else if drain || in_use >= soft_limit(self.shared.limit) {
            self.catch_up(o.log);
            self.empty(drain)
        } else {
            // Incomplete: a reader held frames, maybe only the loop's
            // transaction ending as the checkpoint began. Again next look.
            o.complete()
        }
    }

    /// Before closing the gate: if the loop committed much since the last
    /// checkpoint began (`log` frames then; a slow fsync, or the thread
    /// kept off the CPU), copies that too while the loop writes on, so the
    /// copy the loop waits for stays short.
    fn catch_up(&mut self, mut log: i64) {
        let enough = (soft_limit(self.shared.limit) / 8).max(64 * 1024);
        for _ in 0..CATCH_UP_ROUNDS {
            let now = self.shared.wal_frames.load(Ordering::Relaxed) as i64;
            // Fewer than before: the log started over meanwhile.
            let behind = (now - log).max(0) as u64 * self.shared.frame;
            if behind <= enough {
                return;
            }
            match self.checkpoint("PASSIVE") {
                Some(o) if o.complete() => log = o.log,
                _ => return,
            }
        }
    }

    /// Runs `PRAGMA wal_checkpoint(mode)`; failures are logged once.
    fn checkpoint(&mut self, mode: &str) -> Option<Outcome> {
        let result = self.db.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok(Outcome { busy: r.get::<_, i64>(0)? != 0, log: r.get(1)?, copied: r.get(2)? })
        });
        match result {
            Ok(outcome) => {
                if std::mem::take(&mut self.failing) {
                    log::info!("store: checkpoints work again");
                }
                Some(outcome)
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    log::warn!("store: checkpoint failed (will retry): {e}");
                }
                None
            }
        }
    }

    /// Ends an attempt that did not empty the log.
    fn end_attempt(&self, answering: bool) {
        let mut g = lock(&self.shared.gate);
        self.shared.open(&mut g, answering);
    }

    /// Records whether a reader keeps the log from being emptied; says so
    /// in the log when that changes (an operator's open transaction or a
    /// long backup lets the file grow past wal_limit meanwhile).
    fn set_pinned(&self, g: &mut Gate, pinned: bool, frames: i64) {
        if pinned && !g.pinned {
            log::warn!(
                "store: a reader (a backup, an sqlite3 shell) keeps the WAL ({} bytes) from being emptied; \
                 it grows until the reader is done",
                32 + frames.max(0) as u64 * self.shared.frame
            );
        } else if !pinned && g.pinned {
            log::info!("store: the WAL can be emptied again");
        }
        g.pinned = pinned;
    }

    /// Empties the log (see the module docs): closes the gate, copies the
    /// last commits, and if that was all, makes the log start over.
    /// `answering`: the loop asked for it (drain) and waits.
    fn empty(&mut self, answering: bool) -> bool {
        let sh = self.shared.clone();
        let mut g = lock(&sh.gate);
        g.closed = true;
        let closed = Instant::now();
        if g.writing {
            // The loop's current pass ends its transaction soon.
            g.thread_waits = true;
            g = wait_while(&sh.to_thread, g, GATE_WAIT, |g| g.writing && !g.stop);
            g.thread_waits = false;
            if g.writing {
                sh.open(&mut g, answering);
                return false;
            }
        }
        let commits = g.commits;
        drop(g);
        let last = self.checkpoint("PASSIVE");
        let mut g = lock(&sh.gate);
        let emptied = match last {
            Some(o) if o.complete() && !g.writing && g.commits == commits => {
                // Holding the lock: the loop cannot open a transaction
                // until this is done. Nothing is left to copy; RESTART only
                // checks no reader is still in the log.
                match self.checkpoint("RESTART") {
                    Some(r) => {
                        self.set_pinned(&mut g, r.busy, o.log);
                        !r.busy
                    }
                    None => false,
                }
            }
            Some(o) => {
                if !g.writing && g.commits == commits {
                    self.set_pinned(&mut g, !o.complete(), o.log);
                }
                false
            }
            None => false,
        };
        if emptied {
            g.emptied += 1;
            sh.wal_frames.store(0, Ordering::Relaxed);
        }
        // What the gated copy covered; a commit after it is copied at the
        // next look.
        self.seen = commits;
        sh.open(&mut g, answering);
        drop(g);
        log::debug!(
            "store: WAL of {} frames {} with the gate closed for {:.1} ms",
            last.map_or(0, |o| o.log),
            if emptied { "emptied" } else { "not emptied" },
            closed.elapsed().as_secs_f64() * 1000.0
        );
        emptied
    }

    /// The loop has committed nothing for IDLE_TRUNCATE: truncates the
    /// file to nothing. TRUNCATE takes the writer lock while it cuts the
    /// file (milliseconds), so this holds the gate's lock, with the loop
    /// having no transaction open and none committed since `commits`.
    fn truncate_idle(&mut self, commits: u64) -> bool {
        let sh = self.shared.clone();
        let g = lock(&sh.gate);
        if g.writing || g.commits != commits {
            return false;
        }
        let done = self.checkpoint("TRUNCATE").is_some_and(|o| !o.busy);
        if done {
            sh.wal_frames.store(0, Ordering::Relaxed);
        }
        drop(g);
        // The file, not the log in use: after a RESTART the file keeps its
        // size until truncated.
        log::debug!(
            "store: WAL file truncated while idle: {}, now {} bytes",
            if done { "done" } else { "not done" },
            std::fs::metadata(&self.wal).map_or(0, |m| m.len())
        );
        done
    }
}

#[cfg(test)]
mod tests {
    use crate::message::MessageKind;
    use crate::store::tests::{msg, temp_db};
    use crate::store::{Commit, Store};
    use std::time::Duration;

    #[test]
    fn the_wal_stays_bounded_under_back_to_back_commits_and_shrinks_when_idle() {
        let p = temp_db("wal");
        let wal = format!("{}-wal", p.display());
        let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let limit = crate::config::MIN_WAL_LIMIT;
        let (mut s, mut clocks) = Store::open_with(&p, limit).unwrap();
        let alice = s.user_joined("alice", "t");
        clocks.join(alice);
        s.user_joined("bob", "t");
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        // One stored MSG per commit, as a client waiting for each reply
        // sends them: the most log per message. Unbounded, 2000 of them
        // leave some 45 MB of log.
        let mut largest = 0;
        for i in 0..2000 {
            let c = clocks.next_send(alice);
            clocks.sent(alice, &c);
            let id = s
                .log_message(
                    &msg(MessageKind::Msg, "alice", "bob", &format!("number {i}")),
                    &["alice".into(), "bob".into()],
                )
                .unwrap();
            s.add_pending("bob", id).unwrap();
            assert_eq!(s.commit(&mut clocks), Commit::Done, "a checkpoint never makes a commit fail");
            largest = largest.max(size());
        }
        // Generous: the loop stops at three quarters of the limit, and
        // only a disk stalled for a second lets it write on.
        assert!(largest <= 2 * limit, "the WAL reached {largest} bytes with wal_limit {limit}");
        assert_eq!(s.pending_count("bob").unwrap(), 2000);
        // Idle: the file is truncated within about IDLE_TRUNCATE.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(size(), 0, "an idle store keeps no log");
        drop(s);
        let (s, _) = Store::open(&p).unwrap();
        assert_eq!(s.pending_count("bob").unwrap(), 2000, "everything is in the database file");
    }
}
