//! Session commands: JOIN, LEAVE/QUIT, WHO, HELP, PING.

use super::{Ctx, ReadStep};
use crate::auth::Job;
use crate::command::TABLE;
use crate::conn::Close;
use crate::delivery::Delivery;
use crate::message::Event;
use crate::names::{self, NameError};
use crate::reply::{Code, Error, Reply};
use crate::session::AuthStep;
use crate::state::State;
use crate::store::{Read, Store, StoreError};

/// `JOIN <name> [password]`. A protected name has its password checked off
/// the loop thread first (`accounts::join_checked` continues from there).
pub fn join(ctx: &mut Ctx, name: &str, password: Option<String>) -> Result<(), Error> {
    if let Some(current) = ctx.state.name_of(ctx.key) {
        return Err(Error::new(Code::AlreadyJoined, format!("you are already joined as {current}")));
    }
    names::validate(name).map_err(|e| match e {
        NameError::TooLong => Error::new(Code::NameTooLong, "name must be at most 8 characters"),
        NameError::Invalid => Error::new(Code::NameInvalid, "a name is 1 to 8 characters from A-Z a-z 0-9 _ -"),
    })?;
    check_free(ctx, name)?;
    if let Some(hash) = ctx.store.user(name).and_then(|u| u.password.clone()) {
        let Some(password) = password else {
            return Err(Error::new(
                Code::AuthRequired,
                format!("{name} is protected by a password: JOIN {name} <password>"),
            ));
        };
        return ctx.submit_auth(AuthStep::Join(name.to_string()), Job::Verify { password, hash });
    }
    enter(ctx, name)
}

/// `ERR NAME_TAKEN` if the name is online on another connection that is
/// not closing (see [`free_if_closing`]).
fn check_free(ctx: &mut Ctx, name: &str) -> Result<(), Error> {
    free_if_closing(ctx, name);
    match ctx.state.display_name(name) {
        Some(taken) => Err(Error::new(Code::NameTaken, format!("{taken} is online already; pick another name"))),
        None => Ok(()),
    }
}

/// A name held by a connection that is already closing (its peer gone, or
/// LEAVE) is free: that session ends now (its LEFT first), as this pass's
/// close pass would end it, so a user who reconnects at once gets their
/// name back rather than `ERR NAME_TAKEN`; the old connection's last output
/// still drains. `end` is idempotent: the close pass finds it done. Both
/// protocols' JOIN (and IRC's NICK) go through here.
pub(super) fn free_if_closing(ctx: &mut Ctx, name: &str) {
    let Some(key) = ctx.state.online(name) else { return };
    let Some(why) = ctx.state.conns.get(key).and_then(|c| c.closing.clone()) else { return };
    end(ctx.state, ctx.store, key, Some(&why.reason()));
}

/// Puts the caller online: `OK JOIN <name> pending=<n>`, `JOINED` to the
/// others, then (from `delivery.rs`, paced by the reader) the stored
/// messages oldest first and the HISTORY lines of history_on_join.
pub(super) fn enter(ctx: &mut Ctx, name: &str) -> Result<(), Error> {
    check_free(ctx, name)?; // again: a password check may have taken a while
    crate::delivery::settle(ctx.state, ctx.store, name);
    // Counted before anything changes: if the queue cannot be read, the
    // JOIN fails rather than promise `pending=0`.
    ctx.read(Read::PendingCount { name }, ReadStep::Join(name.to_string()))
}

/// The second half of `enter`, once the store has counted the user's
/// stored messages.
pub(super) fn joined(ctx: &mut Ctx, name: &str, pending: Result<usize, StoreError>) -> Result<(), Error> {
    let pending = pending.map_err(|e| {
        log::error!("{}: cannot read {name}'s stored messages: {}", ctx.label(), e.0);
        Error::new(Code::Storage, "your stored messages cannot be read right now; try JOIN again later")
    })?;
    check_free(ctx, name)?; // again: a remote store's answer may take a while
    let ts = ctx.state.ts();
    let id = ctx.store.user_joined(name, &ts);
    if !ctx.state.join(ctx.key, name, id) {
        return check_free(ctx, name); // NAME_TAKEN (checked just above, so not reached)
    }
    if let Some(conn) = ctx.state.conns.get_mut(ctx.key) {
        conn.session.joined_at = Some(std::time::SystemTime::now());
    }
    log::info!("{}: joined, {} pending", ctx.label(), pending);
    ctx.reply(&Reply::Join { name, pending });
    super::irc::welcome(ctx, pending);
    let history = ctx.config.history_on_join;
    if pending > 0 || history > 0 {
        ctx.state.start_delivery(ctx.key, Delivery::new(name, id, history));
    }
    ctx.state.broadcast(Some(ctx.key), &Event::Joined { ts: &ts, name });
    Ok(())
}

/// Takes a connection's user offline, the mirror of `enter`: the name is
/// free again (and no broadcast's clock rules count them), the last-seen
/// time is saved, and with a `reason` the others get `LEFT <ts> <name>
/// [reason]` (none when the whole server stops).
/// Returns whether the connection had joined. Called by the loop's close
/// pass and by shutdown, never from inside a handler.
pub fn end(state: &mut State, store: &mut Store, key: usize, reason: Option<&str>) -> bool {
    let Some(name) = state.part(key) else { return false };
    let ts = state.ts();
    store.user_left(&name, &ts);
    if let Some(reason) = reason {
        state.broadcast(None, &Event::Left { ts: &ts, name: &name, reason });
    }
    true
}

/// `LEAVE [reason]` -> `OK LEAVE`, then the connection closes; others get
/// `LEFT <ts> <name> [reason]` from the close pass.
pub fn leave(ctx: &mut Ctx, reason: Option<&str>) -> Result<(), Error> {
    let reason = reason.map(crate::text::sanitize).map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    ctx.reply(&Reply::Leave);
    ctx.state.close(ctx.key, Close::Leave(reason));
    Ok(())
}

/// `WHO` -> `OK WHO <count> <name> ...`, sorted case-insensitively.
pub fn who(ctx: &mut Ctx) -> Result<(), Error> {
    let names = ctx.state.who();
    ctx.reply(&Reply::Who { names: &names });
    Ok(())
}

/// `HELP [command]` -> one `HELP` line per command (or just the one asked
/// about), then `OK HELP`.
pub fn help(ctx: &mut Ctx, topic: Option<&str>) -> Result<(), Error> {
    if let Some(topic) = topic {
        let Some(spec) = crate::command::lookup(topic) else {
            let topic: String = crate::text::sanitize(topic).chars().take(32).collect();
            return Err(Error::new(Code::UnknownCommand, format!("{topic} is not a command; HELP lists them all")));
        };
        ctx.reply(&Reply::HelpCommand { usage: spec.usage, help: spec.help });
        if spec.needs_join() && ctx.state.name_of(ctx.key).is_none() {
            ctx.reply(&Reply::HelpNote { text: "(works after JOIN)" });
        }
        ctx.reply(&Reply::Help);
        return Ok(());
    }
    let joined = ctx.state.name_of(ctx.key).is_some();
    for spec in TABLE {
        ctx.reply(&Reply::HelpCommand { usage: spec.usage, help: spec.help });
    }
    let hint = if joined {
        "Plain text is not sent: start it with ALL (everyone) or MSG <name> (one person)."
    } else {
        "Start with JOIN <name>; only JOIN, HELP, PING and LEAVE/QUIT work before that."
    };
    ctx.reply(&Reply::HelpNote { text: hint });
    ctx.reply(&Reply::Help);
    Ok(())
}

/// `PING [token]` -> `PONG [token]`.
pub fn ping(ctx: &mut Ctx, token: Option<&str>) -> Result<(), Error> {
    let token = token.map(crate::text::sanitize);
    ctx.reply(&Reply::Pong { token: token.as_deref().map(str::trim).filter(|t| !t.is_empty()) });
    Ok(())
}
