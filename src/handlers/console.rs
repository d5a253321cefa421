//! Console commands (protocol section 8), for stdin and the admin socket.
//!
//! [`run`] parses a line with the console table (`console/mod.rs`) and
//! calls the handler of the command it built: one arm each in `execute`.
//! Each handler adds its reply lines, formatted by `reply::console`
//! (without terminators); the last one is `OK <COMMAND> ...` or
//! `ERR <CODE> ...`. EXIT only answers here: the loop sees
//! [`Outcome::Exit`] and shuts down.

use crate::config::Config;
use crate::conn::Close;
use crate::console::{self, Command, Parsed, Spec, TABLE};
use crate::message::Event;
use crate::reply::{self, Code, Error};
use crate::state::State;
use crate::store::Store;
use std::time::Instant;

/// What the loop does after a console command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Exit,
}

/// What a console command may touch.
pub struct ConsoleCtx<'a> {
    pub state: &'a mut State,
    pub store: &'a mut Store,
    pub config: &'a Config,
    pub started: Instant,
}

/// Runs one console line; returns the reply lines and what to do next.
pub fn run(ctx: &mut ConsoleCtx, line: &str) -> (Vec<String>, Outcome) {
    let mut out = Vec::new();
    let result = console::parse(line).and_then(|parsed| execute(ctx, parsed, &mut out));
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            out.push(reply::console::error(&e));
            Outcome::Continue
        }
    };
    (out, outcome)
}

/// Calls the command's handler: the one arm of this exhaustive match that
/// names it.
fn execute(ctx: &mut ConsoleCtx, parsed: Parsed, out: &mut Vec<String>) -> Result<Outcome, Error> {
    match parsed.command {
        Command::Exit => {
            out.push(reply::console::ok("EXIT", ""));
            return Ok(Outcome::Exit);
        }
        Command::ActiveUsers => active_users(ctx, out),
        Command::DeleteBackup => delete_backup(ctx, out)?,
        Command::Users => users(ctx, out),
        Command::Kick { name, reason } => kick(ctx, &name, reason, out)?,
        Command::Notice { text } => notice(ctx, parsed.spec, &text, out)?,
        Command::History { n } => history(ctx, n, out)?,
        Command::Stats => stats(ctx, out),
        Command::Help => help(out),
    }
    Ok(Outcome::Continue)
}

/// `ACTIVE <name> <address> <joined-at>` per joined user, sorted by name.
fn active_users(ctx: &ConsoleCtx, out: &mut Vec<String>) {
    let names = ctx.state.who();
    for name in &names {
        let Some(conn) = ctx.state.online(name).and_then(|k| ctx.state.conns.get(k)) else { continue };
        let joined_at = conn.session.joined_at.map(|t| reply::timestamp(t.into()));
        out.push(reply::console::active(name, conn.peer, joined_at.as_deref()));
    }
    out.push(reply::console::ok("ACTIVE USERS", &names.len().to_string()));
}

/// Deletes the conversation log, keeping what offline users still wait for.
fn delete_backup(ctx: &mut ConsoleCtx, out: &mut Vec<String>) -> Result<(), Error> {
    let (removed, kept) = ctx
        .store
        .delete_log(ctx.state.clocks_mut())
        .map_err(|e| Error::new(Code::Storage, format!("the log could not be deleted: {}", e.0)))?;
    log::info!("console: DELETE BACKUP removed {removed}, kept {kept}");
    out.push(reply::console::backup_deleted(removed, kept));
    Ok(())
}

/// `USER <name> last_seen=<ts|online> password=<yes|no>` per known user.
fn users(ctx: &ConsoleCtx, out: &mut Vec<String>) {
    let users = ctx.store.users();
    for u in &users {
        let seen = if ctx.state.online(&u.name).is_some() { "online" } else { u.last_seen.as_str() };
        out.push(reply::console::user(&u.name, seen, u.password.is_some()));
    }
    out.push(reply::console::ok("USERS", &users.len().to_string()));
}

/// Disconnects a user; they get a NOTICE first, the others `LEFT ... kicked`.
fn kick(ctx: &mut ConsoleCtx, name: &str, reason: Option<String>, out: &mut Vec<String>) -> Result<(), Error> {
    let Some(key) = ctx.state.online(name) else {
        return Err(Error::new(Code::NoSuchUser, format!("{name} is not online")));
    };
    let reason = reason.and_then(|r| crate::text::sanitize_nonblank(&r)).map(|r| r.trim().to_string());
    let shown = ctx.state.name_of(key).unwrap_or(name).to_string();
    let ts = ctx.state.ts();
    let why = match &reason {
        Some(r) => format!("you were kicked: {r}"),
        None => "you were kicked".to_string(),
    };
    ctx.state.tell(key, &Event::Notice { ts: &ts, text: &why });
    ctx.state.close(key, Close::Kicked(reason));
    log::info!("console: kicked {shown}");
    out.push(reply::console::ok("KICK", &shown));
    Ok(())
}

/// `NOTICE <ts> <text>` to every joined user; `OK NOTICE <count>`.
fn notice(ctx: &mut ConsoleCtx, spec: &Spec, text: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let text = crate::text::sanitize_nonblank(text).ok_or_else(|| crate::command::syntax(spec.usage))?;
    let ts = ctx.state.ts();
    let n = ctx.state.broadcast(None, &Event::Notice { ts: &ts, text: text.trim() });
    out.push(reply::console::ok("NOTICE", &n.to_string()));
    Ok(())
}

/// The last n messages of the whole log, then `OK HISTORY <count>`.
fn history(ctx: &ConsoleCtx, n: Option<usize>, out: &mut Vec<String>) -> Result<(), Error> {
    let n = n.unwrap_or(ctx.config.history_default).min(ctx.config.history_max);
    let messages = ctx.store.history(None, n).map_err(|e| Error::new(Code::Storage, e.0))?;
    out.extend(messages.iter().map(reply::console::history));
    out.push(reply::console::ok("HISTORY", &messages.len().to_string()));
    Ok(())
}

/// `OK STATS uptime=... store_bytes=...`.
fn stats(ctx: &ConsoleCtx, out: &mut Vec<String>) {
    out.push(reply::console::stats(&reply::console::Stats {
        uptime_secs: ctx.started.elapsed().as_secs(),
        connections: ctx.state.conns.len(),
        joined: ctx.state.joined_count(),
        messages_since_start: ctx.store.messages_logged,
        commits_since_start: ctx.store.commits,
        unlogged: ctx.store.unlogged(),
        store_bytes: ctx.store.size_bytes(),
        wal_bytes: ctx.store.wal_bytes(),
    }));
}

/// `HELP <usage> <what>` per command, from the table, then `OK HELP`.
fn help(out: &mut Vec<String>) {
    out.extend(TABLE.iter().map(|spec| reply::console::help(spec.usage, spec.help)));
    out.push(reply::console::ok("HELP", ""));
}
