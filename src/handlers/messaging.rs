//! Messaging commands: MSG, MCAST, ALL (live delivery).

use super::{clean_text, Ctx};
use crate::reply::{self, Code, Error};

fn no_such_user(name: &str) -> Error {
    let name: String = crate::text::sanitize(name).chars().take(32).collect();
    Error::new(Code::NoSuchUser, name)
}

/// `MSG <name> <text>` -> recipient gets `MSG <ts> <from> <text>`, sender
/// `OK MSG <name> delivered`.
pub fn msg(ctx: &mut Ctx, to: &str, text: &str) -> Result<(), Error> {
    let text = clean_text(text, "MSG")?;
    let target = ctx.state.online(to).ok_or_else(|| no_such_user(to))?;
    let to_name = ctx.state.name_of(target).unwrap_or(to).to_string();
    let me = ctx.me();
    let ts = ctx.state.ts();
    log::debug!("{}: MSG {} {}", ctx.label(), to_name, text);
    ctx.state.send(target, &reply::msg(&ts, &me, &text));
    ctx.reply(&reply::ok("MSG", &format!("{to_name} delivered")));
    Ok(())
}

/// `MCAST <names> <text>` -> each recipient gets `MCAST <ts> <from>
/// <recipients> <text>`; sender gets `OK MCAST delivered=<..> stored=<..>`.
/// Any unknown name fails the whole command before anything is sent.
pub fn mcast(ctx: &mut Ctx, to: &[String], text: &str) -> Result<(), Error> {
    let text = clean_text(text, "MCAST")?;
    let mut targets = Vec::with_capacity(to.len());
    for name in to {
        let key = ctx.state.online(name).ok_or_else(|| no_such_user(name))?;
        targets.push((key, ctx.state.name_of(key).unwrap_or(name).to_string()));
    }
    let recipients: Vec<String> = targets.iter().map(|(_, n)| n.clone()).collect();
    let list = reply::list_field(&recipients);
    let me = ctx.me();
    let ts = ctx.state.ts();
    log::debug!("{}: MCAST {} {}", ctx.label(), list, text);
    let line = reply::mcast(&ts, &me, &list, &text);
    for (key, _) in &targets {
        ctx.state.send(*key, &line);
    }
    ctx.reply(&reply::ok("MCAST", &format!("delivered={list} stored=-")));
    Ok(())
}

/// `ALL <text>` -> every other joined user gets `ALL <ts> <from> <text>`;
/// sender gets `OK ALL delivered=<count>`.
pub fn all(ctx: &mut Ctx, text: &str) -> Result<(), Error> {
    let text = clean_text(text, "ALL")?;
    let me = ctx.me();
    let ts = ctx.state.ts();
    log::debug!("{}: ALL {}", ctx.label(), text);
    let n = ctx.state.broadcast(Some(ctx.key), &reply::all(&ts, &me, &text));
    ctx.reply(&reply::ok("ALL", &format!("delivered={n}")));
    Ok(())
}
