//! Handlers: one file per area, each command a function
//! `(&mut Ctx, [&Caller,] args) -> Result<(), Error>`.
//!
//! [`dispatch`] parses a line with the command table (`command.rs`) and
//! calls the handler of the command it built; the handlers of commands
//! that need a JOIN also get the [`Caller`]. An `Err` becomes the
//! `ERR <CODE> ...` reply. Handlers reach the outside world only through
//! `Ctx`: `state` (who is online, delivery), `store` (what must last), the
//! password worker, and typed replies ([`Reply`]) that `ctx.reply` renders
//! in the caller's dialect: no handler writes wire text.

mod accounts;
pub mod console;
mod history;
pub mod irc;
mod messaging;
mod session;

pub use accounts::password_answered;
pub use session::end as end_session;

use crate::auth::{Job, Worker};
use crate::clock::UserId;
use crate::command::{self, Command, Parsed, Spec};
use crate::config::Config;
use crate::reply::{Code, Error, Reply};
use crate::session::{AuthStep, Wait};
use crate::state::State;
use crate::store::{Answer, Commit, Read, Store, StoreError};

/// A reply that promises durability: sent only once this pass's
/// transaction has committed, or replaced by `ERR STORAGE` if it failed
/// ([`release`]).
#[derive(Debug)]
pub struct Durable {
    pub key: usize,
    pub id: u64,
    /// The reply to send after a successful commit, already rendered in
    /// the connection's dialect.
    pub ok: String,
}

/// Applies the outcome of a pass's commit to one of its durable replies:
/// the reply goes out if the pass committed, `ERR STORAGE` in its place if
/// not, and the connection's later lines, which waited for it, may run
/// again. Returns the connection's key for the loop to run them, or `None`
/// if the connection is gone. The loop calls this for every durable reply
/// of the pass once the store has reported the outcome (SQLite: as its
/// commit returns).
pub fn release(state: &mut State, reply: Durable, outcome: &Commit) -> Option<usize> {
    let conn = state.conns.get_mut(reply.key)?;
    if conn.id != reply.id {
        return None; // that connection is gone and its slot reused
    }
    conn.session.wait = Wait::No;
    let line = match outcome {
        Commit::Done => reply.ok,
        Commit::Failed(_) => conn.dialect.reply_to(&Reply::Err(&not_saved()), &conn.session),
    };
    state.send(reply.key, &line);
    Some(reply.key)
}

/// What a durable reply becomes when the pass's commit failed.
fn not_saved() -> Error {
    Error::new(Code::Storage, "not saved: the server's storage is failing; nothing was sent")
}

/// What a handler may touch.
pub struct Ctx<'a> {
    /// The calling connection's key.
    pub key: usize,
    pub state: &'a mut State,
    pub store: &'a mut Store,
    pub config: &'a Config,
    pub auth: &'a Worker,
    /// Durable replies of this pass, released by the loop once the pass's
    /// commit has an outcome ([`release`]).
    pub after_commit: &'a mut Vec<Durable>,
}

impl Ctx<'_> {
    /// Queues a reply for the caller, in its dialect.
    pub fn reply(&mut self, reply: &Reply) {
        self.state.reply(self.key, reply);
    }

    /// Queues a reply that may only be sent once this pass has committed.
    /// The caller's later lines wait until then, so replies stay in order.
    pub fn reply_after_commit(&mut self, reply: &Reply) {
        if let Some(conn) = self.state.conns.get_mut(self.key) {
            conn.session.wait = Wait::Commit;
            let ok = conn.dialect.reply_to(reply, &conn.session);
            self.after_commit.push(Durable { key: self.key, id: conn.id, ok });
        }
    }

    /// Reads from the store for the calling command, which carries on in
    /// `then`, its second half, with the answer (`read_answered`). SQLite
    /// answers at once, so `then` runs before this returns. A remote store
    /// would answer later, through the loop's waker: the connection's later
    /// lines would wait meanwhile (a `Wait::Store(then)` beside
    /// `Wait::Auth`), and the loop would hand the answer to
    /// `read_answered`, as it hands the password worker's to
    /// `password_answered` (docs/architecture.md).
    pub fn read(&mut self, read: Read<'_>, then: ReadStep) -> Result<(), Error> {
        let answer = self.store.read(read);
        read_answered(self, then, answer)
    }

    /// Hands a password job to the worker thread; the caller's later lines
    /// wait for the answer.
    pub fn submit_auth(&mut self, step: AuthStep, job: Job) -> Result<(), Error> {
        let Some(conn) = self.state.conns.get_mut(self.key) else { return Ok(()) };
        if !self.auth.submit(self.key, conn.id, job) {
            log::error!("password worker is gone");
            return Err(Error::new(Code::Storage, "passwords cannot be checked right now; try again later"));
        }
        conn.session.wait = Wait::Auth(step);
        Ok(())
    }

    /// The caller, if this connection has joined: its name and user number
    /// are set together at JOIN (`session::enter`) and kept until it closes.
    pub fn caller(&self) -> Option<Caller> {
        let conn = self.state.conns.get(self.key)?;
        Some(Caller { name: conn.session.name.clone()?, id: conn.session.user? })
    }

    /// How the caller is named in log lines.
    pub fn label(&self) -> String {
        self.state.conns.get(self.key).map(|c| c.label()).unwrap_or_default()
    }
}

/// Who sent a command that needs a JOIN, resolved once by [`dispatch`]:
/// such handlers take a `&Caller` and so cannot run for a connection that
/// has not joined.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The name as spelled at JOIN.
    pub name: String,
    pub id: UserId,
}

/// The second half of a command that read from the store ([`Ctx::read`]):
/// what it does with the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadStep {
    /// JOIN of this name, with the count of its stored messages.
    Join(String),
    /// HISTORY, with the messages.
    History,
}

/// The store answered a command's read: the command carries on.
fn read_answered(ctx: &mut Ctx, then: ReadStep, answer: Answer) -> Result<(), Error> {
    match (then, answer) {
        (ReadStep::Join(name), Answer::PendingCount(count)) => session::joined(ctx, &name, count),
        (ReadStep::History, Answer::History(messages)) => history::answered(ctx, messages),
        (then, _) => {
            // Not reached: `Store::read` answers each read with its own kind.
            log::error!("{}: {then:?} got the answer to another read", ctx.label());
            Err(Error::new(Code::Storage, "the server's storage gave an unexpected answer; try again"))
        }
    }
}

/// Runs one client line, read in its connection's dialect.
pub fn dispatch(ctx: &mut Ctx, line: &str) {
    if ctx.state.conns.get(ctx.key).is_some_and(|c| c.dialect == crate::dialect::Dialect::Irc) {
        return irc::dispatch(ctx, line);
    }
    let caller = ctx.caller();
    let result = command::parse(line, caller.is_some()).and_then(|parsed| run(ctx, parsed, caller));
    if let Err(e) = result {
        log::debug!("{}: {}", ctx.label(), e);
        ctx.reply(&Reply::Err(&e));
    }
}

/// Calls the command's handler: the one arm of this exhaustive match that
/// names it. `parse` refused rows that need a JOIN unless there is a
/// caller; their arms take it as `Some(me)`, so a row whose `needs` said
/// otherwise would still be refused as `parse` refuses, never run for a
/// made-up caller.
fn run(ctx: &mut Ctx, parsed: Parsed, caller: Option<Caller>) -> Result<(), Error> {
    let spec = parsed.spec;
    match (parsed.command, caller) {
        (Command::Join { name, password }, _) => session::join(ctx, &name, password),
        (Command::Leave { reason }, _) => session::leave(ctx, reason.as_deref()),
        (Command::Help { topic }, _) => session::help(ctx, topic.as_deref()),
        (Command::Ping { token }, _) => session::ping(ctx, token.as_deref()),
        (Command::Who, Some(_)) => session::who(ctx),
        (Command::Msg { to, text }, Some(me)) => messaging::msg(ctx, &me, spec, &to, &text),
        (Command::Mcast { to, text, loose_tail }, Some(me)) => {
            messaging::mcast(ctx, &me, spec, &to, &text, loose_tail.as_deref())
        }
        (Command::All { text }, Some(me)) => messaging::all(ctx, &me, spec, &text),
        (Command::History { n }, Some(me)) => history::history(ctx, &me, n),
        (Command::Clock { on }, Some(me)) => history::clock(ctx, &me, on),
        (Command::Register { password }, Some(_)) => accounts::register(ctx, password),
        (_, None) => Err(command::not_joined()),
    }
}

/// Sanitized message text (protocol section 5) with the leading spaces that
/// removed characters uncovered also removed (section 2), or `ERR SYNTAX`
/// with the command's usage when nothing printable is left.
fn clean_text(text: &str, spec: &Spec) -> Result<String, Error> {
    let clean = crate::text::sanitize_nonblank(text).map(|t| t.trim_start_matches([' ', '\t']).to_string());
    clean.ok_or_else(|| command::syntax(spec.usage))
}

/// `ERR STORAGE` for a failed write (the store has logged it).
fn storage(what: &str, _e: StoreError) -> Error {
    Error::new(Code::Storage, format!("{what} could not be saved; the server's storage is failing"))
}

/// `ERR STORAGE` for a failed read. The store logs failed writes but not
/// reads, so the log line, naming the connection, is written here.
fn unreadable(ctx: &Ctx, what: &str, e: StoreError) -> Error {
    log::error!("{}: cannot read {what}: {}", ctx.label(), e.0);
    Error::new(Code::Storage, format!("{what} cannot be read right now; the server's storage is failing"))
}
