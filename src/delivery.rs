//! Offline delivery (protocol section 4, JOIN): the messages stored for a
//! user while offline, fed into their connection as their peer takes them.
//!
//! JOIN tells the user how many wait (`pending=<n>`, a count) and hands the
//! connection a [`Delivery`]. The loop then calls [`advance`] for it every
//! pass until it is done: the queue is read a batch of messages at a
//! time and queued while fewer than [`FEED_WINDOW`] bytes of the
//! connection's output are unacknowledged by the peer's TCP. So a queue of
//! any length reaches a reader of any speed, costs the server one window of
//! memory, and never counts against `max_sendq`; the user's commands are
//! answered in between.
//!
//! A stored message leaves the queue, and its clock is merged into the
//! recipient's, once the peer's TCP has acknowledged its last byte
//! (`os::unacked_bytes`), not when it is written into the socket: bytes in
//! our send buffer die with the process, acknowledged ones do not. After a
//! crash a message may come twice, never not at all.

use crate::clock::{Clock, Clocks, UserId};
use crate::conn::Close;
use crate::message::Message;
use crate::reply::Reply;
use crate::state::{Outgoing, State};
use crate::store::Store;
use std::collections::VecDeque;

/// Most bytes of a connection's output left unacknowledged while its queue
/// is fed: enough to keep a fast reader busy between two passes, little
/// enough that a crash re-sends at most this much.
pub const FEED_WINDOW: u64 = 32 * 1024;

/// Messages read from the store at a time.
const READ_BATCH: usize = 64;

/// One connection's offline delivery in progress.
#[derive(Debug)]
pub struct Delivery {
    /// The recipient, as joined (the queue outlives the session's name when
    /// the connection closes with acknowledgements outstanding).
    name: String,
    user: UserId,
    /// The last message id read from the queue.
    after: i64,
    /// Read, not yet queued for the connection.
    ready: VecDeque<Message>,
    /// The whole queue has been read.
    read_all: bool,
    /// history_on_join: HISTORY lines to send once the queue is fed.
    history: usize,
    /// Queued for the connection, not yet acknowledged by the peer: (end of
    /// its line in the output stream, message id, the message's clock).
    unacked: VecDeque<(u64, i64, Clock)>,
}

/// What [`advance`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Something was acknowledged or queued.
    pub moved: bool,
    /// Nothing is left to feed or to wait for: the delivery is over.
    pub done: bool,
}

impl Delivery {
    /// A delivery for `name` (user `user`) that sends `history` HISTORY
    /// lines once its queue is fed.
    pub fn new(name: &str, user: UserId, history: usize) -> Delivery {
        Delivery {
            name: name.to_string(),
            user,
            after: 0,
            ready: VecDeque::new(),
            read_all: false,
            history,
            unacked: VecDeque::new(),
        }
    }

    /// Feeds nothing more (the server is shutting down); what was queued
    /// still leaves the queue once acknowledged.
    pub fn stop_feeding(&mut self) {
        self.ready.clear();
        self.read_all = true;
        self.history = 0;
    }

    /// Everything has been queued (the stored messages and the history).
    pub fn fed_all(&self) -> bool {
        self.read_all && self.ready.is_empty() && self.history == 0
    }

    /// Whether queued messages still wait for the peer's acknowledgement.
    pub fn awaits_ack(&self) -> bool {
        !self.unacked.is_empty()
    }
}

/// Whether a connection still gets stored messages: while open, and after
/// its peer half-closed (`printf 'JOIN bob\n' | nc -N` reads its messages),
/// but not once it asked to leave, was dropped or kicked: what is left then
/// waits for the next JOIN.
pub fn keeps_feeding(closing: Option<&Close>) -> bool {
    matches!(closing, None | Some(Close::Closed))
}

/// One step of a connection's offline delivery: takes the acknowledged
/// messages off the queue, then, while the connection still gets them
/// ([`keeps_feeding`]), feeds the next ones while the window allows.
/// Called every loop pass while the connection has a delivery.
pub fn advance(state: &mut State, store: &mut Store, key: usize) -> Step {
    step(state, store, key, true)
}

/// Takes acknowledged messages off the queue before a line of this
/// connection is handled: the segment that carried the line acknowledged
/// everything its sender had received, so a `CLOCK` sent after reading the
/// stored messages sees them counted.
pub fn before_line(state: &mut State, store: &mut Store, key: usize) {
    let awaits = state.conns.get(key).and_then(|c| c.session.delivery.as_ref()).is_some_and(|d| d.awaits_ack());
    if awaits {
        step(state, store, key, false);
    }
}

/// [`advance`], feeding only if `may_feed`. The delivery is taken out of
/// the session while the store and the connection's output are worked on,
/// and put back.
fn step(state: &mut State, store: &mut Store, key: usize, may_feed: bool) -> Step {
    let Some(conn) = state.conns.get_mut(key) else { return Step { moved: false, done: true } };
    let Some(mut d) = conn.session.delivery.take() else { return Step { moved: false, done: true } };
    // Asked once a step: one ioctl, not one per message fed.
    let acked = conn.acked_total();
    let feeding = keeps_feeding(conn.closing.as_ref());
    let mut moved = take_acknowledged(&mut d, acked, state.clocks_mut(), store);
    if feeding && may_feed {
        moved |= feed(&mut d, state, store, key, acked);
    }
    let done = !d.awaits_ack() && (!feeding || d.fed_all());
    if let Some(conn) = state.conns.get_mut(key) {
        conn.session.delivery = Some(d);
    }
    Step { moved, done }
}

/// Before a JOIN of `name` counts its queue: a closing connection of the
/// same user may have messages its peer acknowledged that the loop has not
/// taken off the queue yet; without this they would be fed again.
pub fn settle(state: &mut State, store: &mut Store, name: &str) {
    let folded = crate::names::fold(name);
    let closing: Vec<usize> = state
        .delivering
        .iter()
        .copied()
        .filter(|&k| {
            state.conns.get(k).is_some_and(|c| {
                c.closing.is_some()
                    && c.session.delivery.as_ref().is_some_and(|d| crate::names::fold(&d.name) == folded)
            })
        })
        .collect();
    for key in closing {
        advance(state, store, key);
    }
}

/// Messages whose last byte the peer acknowledged leave the queue (on disk
/// with the next commit), and their clocks reach the recipient's.
fn take_acknowledged(d: &mut Delivery, acked: Option<u64>, clocks: &mut Clocks, store: &mut Store) -> bool {
    let Some(acked) = acked else { return false };
    let mut ids = Vec::new();
    while let Some((end, id, _)) = d.unacked.front() {
        if *end > acked {
            break;
        }
        ids.push(*id);
        if let Some((_, _, clock)) = d.unacked.pop_front() {
            clocks.receive(d.user, &clock);
        }
    }
    if ids.is_empty() {
        return false;
    }
    store.remove_pending(&d.name, &ids);
    true
}

/// Queues stored messages while the connection's unacknowledged output is
/// under the window; at the end of the queue, the history_on_join lines.
/// `acked` is where the peer's acknowledgements stood at the start of the
/// step: later ones only let the next step feed more.
fn feed(d: &mut Delivery, state: &mut State, store: &mut Store, key: usize, acked: Option<u64>) -> bool {
    let mut moved = false;
    loop {
        let Some(conn) = state.conns.get(key) else { return moved };
        if !keeps_feeding(conn.closing.as_ref()) || conn.unacked_output(acked) >= FEED_WINDOW {
            return moved;
        }
        if d.ready.is_empty() && !d.read_all {
            match store.pending_after(&d.name, d.after, READ_BATCH) {
                Ok(batch) => {
                    d.read_all = batch.len() < READ_BATCH;
                    d.ready.extend(batch);
                }
                Err(e) => {
                    // Tried again next pass; the queue on disk is intact.
                    log::warn!("#{}: reading {}'s stored messages failed: {}", conn.id, d.name, e.0);
                    return moved;
                }
            }
        }
        let before = conn.queued_total();
        let Some(m) = d.ready.pop_front() else { break };
        state.deliver(key, &mut Outgoing::new(&m));
        let Some(conn) = state.conns.get(key) else { return true };
        if conn.queued_total() == before {
            // Not queued (the connection is being dropped): it stays in
            // the queue for the next JOIN.
            return moved;
        }
        d.after = m.id;
        d.unacked.push_back((conn.queued_total(), m.id, m.clock));
        moved = true;
    }
    if d.history > 0 {
        replay_history(d, state, store, key);
        moved = true;
    }
    moved
}

/// history_on_join: the user's last `n` visible messages as HISTORY lines,
/// after the stored ones, and no `OK HISTORY`: an OK or ERR answers a
/// command the client sent, one per command (protocol section 4), and this
/// replay answers none, so a client pairing commands with their final
/// replies is not thrown off.
fn replay_history(d: &mut Delivery, state: &mut State, store: &Store, key: usize) {
    let n = std::mem::take(&mut d.history);
    match store.history(Some(&d.name), n) {
        Ok(messages) => {
            let clock = state.conns.get(key).is_some_and(|c| c.session.clock_on);
            for m in &messages {
                state.reply(key, &Reply::HistoryLine { message: m, clock });
            }
        }
        Err(e) => log::warn!("reading {}'s history for history_on_join failed: {}", d.name, e.0),
    }
}
