//! Handlers: one file per area, each command a function
//! `(&mut Ctx, args) -> Result<(), Error>`.
//!
//! [`dispatch`] parses a line with the command table and calls the handler;
//! an `Err` becomes the `ERR <CODE> ...` reply. Handlers reach the outside
//! world only through `Ctx`: `state` (who is online, delivery) and the
//! formats of `reply.rs`.

mod messaging;
mod session;

use crate::command::{self, Command};
use crate::config::Config;
use crate::reply::Error;
use crate::state::State;

/// What a handler may touch: the calling connection and the shared state.
pub struct Ctx<'a> {
    /// The calling connection's key.
    pub key: usize,
    pub state: &'a mut State,
    pub config: &'a Config,
}

impl Ctx<'_> {
    /// Queues a line for the caller.
    pub fn reply(&mut self, line: &str) {
        self.state.send(self.key, line);
    }

    /// The caller's display name; handlers that need a JOIN are only called
    /// for joined connections (the command table checks), so this is set.
    pub fn me(&self) -> String {
        self.state.name_of(self.key).unwrap_or("?").to_string()
    }

    /// How the caller is named in log lines.
    pub fn label(&self) -> String {
        self.state.conns.get(self.key).map(|c| c.label()).unwrap_or_default()
    }
}

/// Runs one client line.
pub fn dispatch(ctx: &mut Ctx, line: &str) {
    let joined = ctx.state.name_of(ctx.key).is_some();
    let result = command::parse(line, joined).and_then(|cmd| match cmd {
        Command::Join { name, password } => session::join(ctx, &name, password.as_deref()),
        Command::Leave { reason } => session::leave(ctx, reason.as_deref()),
        Command::Who => session::who(ctx),
        Command::Help => session::help(ctx),
        Command::Ping { token } => session::ping(ctx, token.as_deref()),
        Command::Msg { to, text } => messaging::msg(ctx, &to, &text),
        Command::Mcast { to, text } => messaging::mcast(ctx, &to, &text),
        Command::All { text } => messaging::all(ctx, &text),
    });
    if let Err(e) = result {
        log::debug!("{}: {}", ctx.label(), e);
        ctx.reply(&e.line());
    }
}

/// Sanitized message text (protocol section 5), or `ERR SYNTAX` with the
/// command's usage when nothing printable is left.
fn clean_text(text: &str, command: &str) -> Result<String, Error> {
    crate::text::sanitize_nonblank(text).ok_or_else(|| match command::lookup(command) {
        Some(spec) => command::syntax(spec),
        None => Error::new(crate::reply::Code::Syntax, "text is empty"),
    })
}
