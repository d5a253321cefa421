//! Console commands (protocol section 8), for stdin and the admin socket.
//!
//! Each returns the reply lines (without terminators); the last one is
//! `OK <COMMAND> ...` or `ERR <CODE> ...`. EXIT only answers here: the loop
//! sees [`Outcome::Exit`] and shuts down.

use crate::config::Config;
use crate::conn::Close;
use crate::console::{AdminCommand, HELP};
use crate::reply;
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

/// The old name, which `server.rs` still uses; remove it once the server
/// names `ConsoleCtx`.
pub type AdminCtx<'a> = ConsoleCtx<'a>;

/// Runs one console line; returns the reply lines and what to do next.
pub fn run(ctx: &mut ConsoleCtx, line: &str) -> (Vec<String>, Outcome) {
    let cmd = match crate::console::parse(line) {
        Ok(cmd) => cmd,
        Err((code, text)) => return (vec![format!("ERR {code} {text}")], Outcome::Continue),
    };
    let mut out = Vec::new();
    let outcome = match cmd {
        AdminCommand::Exit => {
            out.push("OK EXIT".to_string());
            Outcome::Exit
        }
        AdminCommand::ActiveUsers => {
            active_users(ctx, &mut out);
            Outcome::Continue
        }
        AdminCommand::DeleteBackup => {
            out.push(match ctx.store.delete_log() {
                Ok((removed, kept)) => {
                    log::info!("console: DELETE BACKUP removed {removed}, kept {kept}");
                    format!("OK DELETE BACKUP removed={removed} kept={kept}")
                }
                Err(e) => format!("ERR STORAGE the log could not be deleted: {}", e.0),
            });
            Outcome::Continue
        }
        AdminCommand::Users => {
            users(ctx, &mut out);
            Outcome::Continue
        }
        AdminCommand::Kick { name, reason } => {
            out.push(kick(ctx, &name, reason));
            Outcome::Continue
        }
        AdminCommand::Notice { text } => {
            match crate::text::sanitize_nonblank(&text) {
                Some(text) => {
                    let ts = ctx.state.ts();
                    let n = ctx.state.broadcast(None, &reply::notice(&ts, text.trim()));
                    out.push(format!("OK NOTICE {n}"));
                }
                None => out.push("ERR SYNTAX usage: NOTICE <text>".to_string()),
            }
            Outcome::Continue
        }
        AdminCommand::History { n } => {
            let n = n.unwrap_or(ctx.config.history_default).min(ctx.config.history_max);
            match ctx.store.history(None, n) {
                Ok(messages) => {
                    out.extend(messages.iter().map(|m| reply::history(m, false).trim_end().to_string()));
                    out.push(format!("OK HISTORY {}", messages.len()));
                }
                Err(e) => out.push(format!("ERR STORAGE {}", e.0)),
            }
            Outcome::Continue
        }
        AdminCommand::Stats => {
            out.push(format!(
                "OK STATS uptime={}s connections={} joined={} messages={} commits={} unlogged={} store_bytes={}",
                ctx.started.elapsed().as_secs(),
                ctx.state.conns.len(),
                ctx.state.joined_count(),
                ctx.store.messages_logged,
                ctx.store.commits,
                ctx.store.unlogged(),
                ctx.store.size_bytes()
            ));
            Outcome::Continue
        }
        AdminCommand::Help => {
            out.extend(HELP.iter().map(|(usage, what)| format!("HELP {usage:<22} {what}")));
            out.push("OK HELP".to_string());
            Outcome::Continue
        }
    };
    (out, outcome)
}

/// `ACTIVE <name> <address> <joined-at>` per joined user, sorted by name.
fn active_users(ctx: &ConsoleCtx, out: &mut Vec<String>) {
    let names = ctx.state.who();
    for name in &names {
        let Some(conn) = ctx.state.online(name).and_then(|k| ctx.state.conns.get(k)) else { continue };
        out.push(format!("ACTIVE {name} {} {}", conn.peer, conn.joined_at.as_deref().unwrap_or("-")));
    }
    out.push(format!("OK ACTIVE USERS {}", names.len()));
}

/// `USER <name> last_seen=<ts|online> password=<yes|no>` per known user.
fn users(ctx: &ConsoleCtx, out: &mut Vec<String>) {
    let users = ctx.store.users();
    for u in &users {
        let seen = if ctx.state.online(&u.name).is_some() { "online" } else { u.last_seen.as_str() };
        let password = if u.password.is_some() { "yes" } else { "no" };
        out.push(format!("USER {} last_seen={seen} password={password}", u.name));
    }
    out.push(format!("OK USERS {}", users.len()));
}

/// Disconnects a user; they get a NOTICE first, the others `LEFT ... kicked`.
fn kick(ctx: &mut ConsoleCtx, name: &str, reason: Option<String>) -> String {
    let Some(key) = ctx.state.online(name) else {
        return format!("ERR NO_SUCH_USER {name} is not online");
    };
    let reason = reason.and_then(|r| crate::text::sanitize_nonblank(&r)).map(|r| r.trim().to_string());
    let shown = ctx.state.name_of(key).unwrap_or(name).to_string();
    let ts = ctx.state.ts();
    let why = match &reason {
        Some(r) => format!("you were kicked: {r}"),
        None => "you were kicked".to_string(),
    };
    ctx.state.send(key, &reply::notice(&ts, &why));
    ctx.state.close(key, Close::Kicked(reason));
    log::info!("console: kicked {shown}");
    format!("OK KICK {shown}")
}
