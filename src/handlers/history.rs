//! Reading back: HISTORY and CLOCK.

use super::{unreadable, Caller, Ctx, ReadStep};
use crate::message::Message;
use crate::reply::{Error, Reply};
use crate::store::{Read, StoreError};

/// `HISTORY [n]` -> `HISTORY <ts> <from> <to> <text>` lines, oldest first,
/// then `OK HISTORY <count>`. `n` defaults to history_default and is capped
/// at history_max. (history_on_join's replay is in `delivery.rs`.)
pub fn history(ctx: &mut Ctx, me: &Caller, n: Option<usize>) -> Result<(), Error> {
    let n = n.unwrap_or(ctx.config.history_default).min(ctx.config.history_max);
    ctx.read(Read::History { name: &me.name, n }, ReadStep::History)
}

/// The second half of `history`, once the store has read the messages.
pub(super) fn answered(ctx: &mut Ctx, messages: Result<Vec<Message>, StoreError>) -> Result<(), Error> {
    let messages = messages.map_err(|e| unreadable(ctx, "history", e))?;
    let clock = ctx.state.conns.get(ctx.key).is_some_and(|c| c.session.clock_on);
    for m in &messages {
        ctx.reply(&Reply::HistoryLine { message: m, clock });
    }
    ctx.reply(&Reply::History { count: messages.len() });
    Ok(())
}

/// `CLOCK` -> `OK CLOCK <name=counter,...>`; `CLOCK ON|OFF` switches the
/// clock field of events and HISTORY lines on this connection.
pub fn clock(ctx: &mut Ctx, me: &Caller, on: Option<bool>) -> Result<(), Error> {
    match on {
        None => {
            let clock = ctx.store.format_clock(ctx.state.clocks_mut().get(me.id));
            ctx.reply(&Reply::Clock { clock: &clock });
        }
        Some(on) => {
            if let Some(conn) = ctx.state.conns.get_mut(ctx.key) {
                conn.session.clock_on = on;
            }
            ctx.reply(&Reply::ClockSwitched { on });
        }
    }
    Ok(())
}
