//! Reading back: HISTORY and CLOCK.

use super::{storage, Ctx};
use crate::reply::{self, Error};
use crate::store::StoreError;

/// `HISTORY [n]` -> `HISTORY <ts> <from> <to> <text>` lines, oldest first,
/// then `OK HISTORY <count>`. `n` defaults to history_default and is capped
/// at history_max.
pub fn history(ctx: &mut Ctx, n: Option<usize>) -> Result<(), Error> {
    let n = n.unwrap_or(ctx.config.history_default).min(ctx.config.history_max);
    let count = lines(ctx, n).map_err(|e| storage("history", e))?;
    ctx.reply(&reply::ok("HISTORY", &count.to_string()));
    Ok(())
}

/// history_on_join: the caller's last `n` visible messages as HISTORY
/// lines, and no `OK HISTORY`: an OK or ERR answers a command the client
/// sent, one per command (protocol section 4), and this replay answers
/// none (JOIN already had its `OK JOIN`). For the same reason a read that
/// fails is only logged: the JOIN has succeeded, so no ERR may follow it.
pub(super) fn replay(ctx: &mut Ctx, n: usize) {
    if let Err(e) = lines(ctx, n) {
        log::warn!("{}: no history replay after JOIN: {}", ctx.label(), e.0);
    }
}

/// Queues the caller's last `n` visible messages as HISTORY lines; returns
/// how many there were.
fn lines(ctx: &mut Ctx, n: usize) -> Result<usize, StoreError> {
    let me = ctx.me();
    let messages = ctx.store.history(Some(&me), n)?;
    let clock = ctx.state.conns.get(ctx.key).is_some_and(|c| c.clock_on);
    for m in &messages {
        ctx.reply(&reply::history(m, clock));
    }
    Ok(messages.len())
}

/// `CLOCK` -> `OK CLOCK <name=counter,...>`; `CLOCK ON|OFF` switches the
/// clock field of events and HISTORY lines on this connection.
pub fn clock(ctx: &mut Ctx, on: Option<bool>) -> Result<(), Error> {
    match on {
        None => {
            let clock = ctx.store.clock_text(ctx.my_id());
            ctx.reply(&reply::ok("CLOCK", &clock));
        }
        Some(on) => {
            if let Some(conn) = ctx.state.conns.get_mut(ctx.key) {
                conn.clock_on = on;
            }
            ctx.reply(&reply::ok("CLOCK", if on { "ON" } else { "OFF" }));
        }
    }
    Ok(())
}
