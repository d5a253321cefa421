//! Messaging commands: MSG, MCAST, ALL.
//!
//! Every message is logged with its vector clock. A recipient who is online
//! gets it now; a known recipient who is offline gets it at their next JOIN,
//! and the sender's `stored` reply waits for the commit that makes it true.

use super::{clean_text, storage, Caller, Ctx};
use crate::clock::{Clock, UserId};
use crate::command::Spec;
use crate::message::{Message, MessageKind};
use crate::reply::{Code, Error, Reply};
use crate::state::{Outgoing, Where};
use crate::store::{Store, UnloggedLimit};

fn no_such_user(name: &str) -> Error {
    let name: String = crate::text::sanitize(name).chars().take(32).collect();
    Error::new(Code::NoSuchUser, name)
}

/// A recipient: online now (with its connection) or known and offline.
struct Recipient {
    name: String,
    id: UserId,
    key: Option<usize>,
}

/// A recipient by name: joined here if presence says so (on that
/// connection), else a known user (the store's) who is offline.
fn resolve(ctx: &Ctx, name: &str) -> Result<Recipient, Error> {
    if let Where::Here(key) = ctx.state.locate(name) {
        if let Some(conn) = ctx.state.conns.get(key) {
            if let (Some(name), Some(id)) = (&conn.session.name, conn.session.user) {
                return Ok(Recipient { name: name.clone(), id, key: Some(key) });
            }
        }
    }
    match (ctx.store.id(name), ctx.store.user(name)) {
        (Some(id), Some(u)) => Ok(Recipient { name: u.name.clone(), id, key: None }),
        _ => Err(no_such_user(name)),
    }
}

/// A new message from the caller, carrying the caller's clock with their
/// own entry ticked (recorded once the message is on its way).
fn compose(ctx: &mut Ctx, me: &Caller, kind: MessageKind, to: String, text: String) -> Message {
    let clock = ctx.state.clocks_mut().next_send(me.id);
    Message { id: 0, kind, ts: ctx.state.ts(), from: me.name.clone(), to, clock, clock_text: String::new(), text }
}

/// Logs a private message (MSG, MCAST), queues it for the offline
/// recipients, delivers it to the online ones, and applies the clock rules.
/// Returns the names delivered to and stored for.
fn send(ctx: &mut Ctx, me: &Caller, m: &Message, to: &[Recipient]) -> Result<(Vec<String>, Vec<String>), Error> {
    let offline: Vec<&Recipient> = to.iter().filter(|r| r.key.is_none()).collect();
    // Who may see it in HISTORY: sender and recipients.
    let participants: Vec<String> = std::iter::once(&m.from).chain(to.iter().map(|r| &r.name)).cloned().collect();
    if offline.is_empty() {
        // Live only, nothing promised: kept for the log if it fails now.
        ctx.store.log_live_message(m, &participants, unlogged_limit(ctx));
    } else {
        // Nothing is sent to anyone unless the offline copies are saved.
        let id = ctx.store.log_message(m, &participants).map_err(|e| storage("the message", e))?;
        for r in &offline {
            ctx.store.add_pending(&r.name, id).map_err(|e| storage("the message", e))?;
        }
    }
    ctx.state.clocks_mut().sent(me.id, &m.clock);
    let online: Vec<&Recipient> = to.iter().filter(|r| r.key.is_some()).collect();
    deliver(ctx, m, online.iter().filter_map(|r| r.key));
    for r in &online {
        ctx.state.clocks_mut().receive(r.id, &m.clock);
    }
    let delivered = online.iter().map(|r| r.name.clone()).collect();
    Ok((delivered, offline.iter().map(|r| r.name.clone()).collect()))
}

/// How many live messages may wait in memory for a failing log.
fn unlogged_limit(ctx: &Ctx) -> UnloggedLimit {
    UnloggedLimit { messages: ctx.config.max_unlogged, bytes: ctx.config.max_unlogged_bytes }
}

/// Queues a message being sent now for these connections; its clock is
/// written out only if one of them has CLOCK ON.
fn deliver(ctx: &mut Ctx, m: &Message, keys: impl Iterator<Item = usize>) {
    let store: &Store = ctx.store;
    let write_clock = |c: &Clock| store.format_clock(c);
    let mut out = Outgoing::live(m, &write_clock);
    for key in keys {
        ctx.state.deliver(key, &mut out);
    }
}

/// `MSG <name> <text>` -> `OK MSG <name> delivered`, or `OK MSG <name>
/// stored` once committed when the recipient is offline.
pub fn msg(ctx: &mut Ctx, me: &Caller, spec: &Spec, to: &str, text: &str) -> Result<(), Error> {
    let text = clean_text(text, spec)?;
    let r = resolve(ctx, to)?;
    let m = compose(ctx, me, MessageKind::Msg, r.name.clone(), text);
    log::debug!("{}: MSG {} {}", ctx.label(), r.name, m.text);
    let (_, stored) = send(ctx, me, &m, std::slice::from_ref(&r))?;
    if stored.is_empty() {
        ctx.reply(&Reply::MsgDelivered { to: &r.name });
    } else {
        ctx.reply_after_commit(&Reply::MsgStored { to: &r.name });
    }
    Ok(())
}

/// `MCAST <names> <text>` -> each recipient gets `MCAST <ts> <from>
/// <recipients> <text>`; the sender `OK MCAST delivered=<..> stored=<..>`.
/// Any unknown name fails the whole command before anything is sent; when
/// it came from `loose_tail` (`MCAST alice, bob, hi there` reads `hi` as a
/// name), the error says how MCAST reads its line.
pub fn mcast(
    ctx: &mut Ctx,
    me: &Caller,
    spec: &Spec,
    to: &[String],
    text: &str,
    loose_tail: Option<&str>,
) -> Result<(), Error> {
    let text = clean_text(text, spec)?;
    let from_tail = |name: &str| loose_tail.is_some_and(|t| t.split(',').any(|n| n.eq_ignore_ascii_case(name)));
    let recipients = to
        .iter()
        .map(|n| {
            resolve(ctx, n).map_err(|mut e| {
                if from_tail(n) {
                    e.text.push_str(" (MCAST reads names up to the first word without a comma after it)");
                }
                e
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = recipients.iter().map(|r| r.name.clone()).collect();
    let m = compose(ctx, me, MessageKind::Mcast, names.join(","), text);
    log::debug!("{}: MCAST {} {}", ctx.label(), m.to, m.text);
    let (delivered, stored) = send(ctx, me, &m, &recipients)?;
    let ok = Reply::Mcast { delivered: &delivered, stored: &stored };
    if stored.is_empty() {
        ctx.reply(&ok);
    } else {
        ctx.reply_after_commit(&ok);
    }
    Ok(())
}

/// `ALL <text>` -> every other joined user gets `ALL <ts> <from> <text>`;
/// the sender `OK ALL delivered=<count>`. Not queued for offline users; if
/// the log cannot take it now, live delivery goes on and the store keeps it
/// for the next commit that works (nothing is promised).
pub fn all(ctx: &mut Ctx, me: &Caller, spec: &Spec, text: &str) -> Result<(), Error> {
    let text = clean_text(text, spec)?;
    let m = compose(ctx, me, MessageKind::All, "*".to_string(), text);
    log::debug!("{}: ALL {}", ctx.label(), m.text);
    ctx.store.log_live_message(&m, &[], unlogged_limit(ctx));
    let receivers = ctx.state.joined_keys(Some(ctx.key));
    deliver(ctx, &m, receivers.iter().copied());
    // Every joined user but the sender got it: the clock rules for all
    // (presence's clock book holds exactly the joined users).
    ctx.state.clocks_mut().broadcast(me.id, &m.clock);
    let delivered = receivers.len();
    ctx.reply(&Reply::All { delivered });
    Ok(())
}
