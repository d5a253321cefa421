//! Session commands: JOIN, LEAVE/QUIT, WHO, HELP, PING.

use super::Ctx;
use crate::command::TABLE;
use crate::conn::Close;
use crate::names::{self, NameError};
use crate::reply::{self, Code, Error};

/// `JOIN <name> [password]` -> `OK JOIN <name> pending=<n>`; others get
/// `JOINED <ts> <name>`.
pub fn join(ctx: &mut Ctx, name: &str, _password: Option<&str>) -> Result<(), Error> {
    if let Some(current) = ctx.state.name_of(ctx.key) {
        return Err(Error::new(Code::AlreadyJoined, format!("you are already joined as {current}")));
    }
    names::validate(name).map_err(|e| match e {
        NameError::TooLong => Error::new(Code::NameTooLong, "name must be at most 8 characters"),
        NameError::Invalid => Error::new(Code::NameInvalid, "a name is 1 to 8 characters from A-Z a-z 0-9 _ -"),
    })?;
    if let Some(taken) = ctx.state.display_name(name) {
        let taken = taken.to_string();
        return Err(Error::new(Code::NameTaken, format!("{taken} is online already; pick another name")));
    }
    ctx.state.join(ctx.key, name);
    log::info!("{}: joined", ctx.label());
    ctx.reply(&reply::ok("JOIN", &format!("{name} pending=0")));
    let ts = ctx.state.ts();
    ctx.state.broadcast(Some(ctx.key), &reply::joined(&ts, name));
    Ok(())
}

/// `LEAVE [reason]` -> `OK LEAVE`, then the connection closes; others get
/// `LEFT <ts> <name> [reason]` from the close pass.
pub fn leave(ctx: &mut Ctx, reason: Option<&str>) -> Result<(), Error> {
    let reason = reason.map(crate::text::sanitize).map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    ctx.reply(&reply::ok("LEAVE", ""));
    ctx.state.close(ctx.key, Close::Leave(reason));
    Ok(())
}

/// `WHO` -> `OK WHO <count> <name> ...`, sorted case-insensitively.
pub fn who(ctx: &mut Ctx) -> Result<(), Error> {
    let names = ctx.state.who();
    let mut fields = names.len().to_string();
    for n in &names {
        fields.push(' ');
        fields.push_str(n);
    }
    ctx.reply(&reply::ok("WHO", &fields));
    Ok(())
}

/// `HELP` -> one `HELP` line per command, then `OK HELP`.
pub fn help(ctx: &mut Ctx) -> Result<(), Error> {
    let joined = ctx.state.name_of(ctx.key).is_some();
    for spec in TABLE {
        ctx.reply(&reply::help_line(&format!("{:<30} {}", spec.usage, spec.help)));
    }
    let hint = if joined {
        "Plain text is not sent: start it with ALL (everyone) or MSG <name> (one person)."
    } else {
        "Start with JOIN <name>; only JOIN, HELP, PING and QUIT work before that."
    };
    ctx.reply(&reply::help_line(hint));
    ctx.reply(&reply::ok("HELP", ""));
    Ok(())
}

/// `PING [token]` -> `PONG [token]`.
pub fn ping(ctx: &mut Ctx, token: Option<&str>) -> Result<(), Error> {
    let token = token.map(crate::text::sanitize);
    ctx.reply(&reply::pong(token.as_deref().map(str::trim).filter(|t| !t.is_empty())));
    Ok(())
}
