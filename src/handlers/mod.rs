//! Handlers: one file per area, each command a function
//! `(&mut Ctx, args) -> Result<(), Error>`.
//!
//! [`dispatch`] parses a line with the command table and calls the handler;
//! an `Err` becomes the `ERR <CODE> ...` reply. Handlers reach the outside
//! world only through `Ctx`: `state` (who is online, delivery), `store`
//! (what must last), the password worker, and the formats of `reply.rs`.

mod accounts;
pub mod admin;
mod history;
mod messaging;
mod session;

pub use accounts::{join_checked, registered};

use crate::auth::{Job, Worker};
use crate::command::{self, Command};
use crate::config::Config;
use crate::conn::{AuthStep, Wait};
use crate::reply::{Code, Error};
use crate::state::State;
use crate::store::{Store, StoreError};

/// A reply that promises durability: sent only once this pass's
/// transaction has committed, or replaced by `ERR STORAGE` if it failed.
#[derive(Debug)]
pub struct Durable {
    pub key: usize,
    pub id: u64,
    /// The reply to send after a successful commit.
    pub ok: String,
}

/// What a handler may touch.
pub struct Ctx<'a> {
    /// The calling connection's key.
    pub key: usize,
    pub state: &'a mut State,
    pub store: &'a mut Store,
    pub config: &'a Config,
    pub auth: &'a Worker,
    /// Durable replies of this pass, released by `server.rs` after commit.
    pub after_commit: &'a mut Vec<Durable>,
}

impl Ctx<'_> {
    /// Queues a line for the caller.
    pub fn reply(&mut self, line: &str) {
        self.state.send(self.key, line);
    }

    /// Queues a reply that may only be sent once this pass has committed.
    /// The caller's later lines wait until then, so replies stay in order.
    pub fn reply_after_commit(&mut self, ok: String) {
        if let Some(conn) = self.state.conns.get_mut(self.key) {
            conn.wait = Wait::Commit;
            self.after_commit.push(Durable { key: self.key, id: conn.id, ok });
        }
    }

    /// Hands a password job to the worker thread; the caller's later lines
    /// wait for the answer.
    pub fn submit_auth(&mut self, step: AuthStep, job: Job) -> Result<(), Error> {
        let Some(conn) = self.state.conns.get_mut(self.key) else { return Ok(()) };
        if !self.auth.submit(self.key, conn.id, job) {
            log::error!("password worker is gone");
            return Err(Error::new(Code::Storage, "passwords cannot be checked right now; try again later"));
        }
        conn.wait = Wait::Auth(step);
        Ok(())
    }

    /// The caller's display name; handlers that need a JOIN are only called
    /// for joined connections (the command table checks), so this is set.
    pub fn me(&self) -> String {
        self.state.name_of(self.key).unwrap_or("?").to_string()
    }

    /// The caller's user number (joined connections only, see `me`).
    pub fn my_id(&self) -> crate::clock::UserId {
        self.state.conns.get(self.key).and_then(|c| c.user).unwrap_or(crate::clock::UserId(u32::MAX))
    }

    /// How the caller is named in log lines.
    pub fn label(&self) -> String {
        self.state.conns.get(self.key).map(|c| c.label()).unwrap_or_default()
    }
}

/// Runs one client line.
pub fn dispatch(ctx: &mut Ctx, line: &str) {
    let joined = ctx.state.name_of(ctx.key).is_some();
    let result = command::parse(line, joined).and_then(|parsed| match parsed.command {
        Command::Join { name, password } => session::join(ctx, &name, password),
        Command::Leave { reason } => session::leave(ctx, reason.as_deref()),
        Command::Who => session::who(ctx),
        Command::Help { topic } => session::help(ctx, topic.as_deref()),
        Command::Ping { token } => session::ping(ctx, token.as_deref()),
        Command::Msg { to, text } => messaging::msg(ctx, &to, &text),
        Command::Mcast { to, text, loose_tail } => messaging::mcast(ctx, &to, &text, loose_tail.as_deref()),
        Command::All { text } => messaging::all(ctx, &text),
        Command::History { n } => history::history(ctx, n),
        Command::Clock { on } => history::clock(ctx, on),
        Command::Register { password } => accounts::register(ctx, password),
    });
    if let Err(e) = result {
        log::debug!("{}: {}", ctx.label(), e);
        ctx.reply(&e.line());
    }
}

/// Sanitized message text (protocol section 5) with the leading spaces that
/// removed characters uncovered also removed (section 2), or `ERR SYNTAX`
/// with the command's usage when nothing printable is left.
fn clean_text(text: &str, command: &str) -> Result<String, Error> {
    let clean = crate::text::sanitize_nonblank(text).map(|t| t.trim_start_matches([' ', '\t']).to_string());
    clean.ok_or_else(|| match command::lookup(command) {
        Some(spec) => command::syntax(spec.usage),
        None => Error::new(Code::Syntax, "text is empty"),
    })
}

/// `ERR STORAGE` for a failed store operation (already logged by the store).
fn storage(what: &str, _e: StoreError) -> Error {
    Error::new(Code::Storage, format!("{what} could not be saved; the server's storage is failing"))
}
