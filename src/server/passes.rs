//! The passes of one loop iteration, in the order `Server::run` calls them:
//! the run pass (read, decode, dispatch), group commit, offline deliveries,
//! the flush pass and the close pass.

use super::tokens::Source;
use super::{Server, DELIVERY_POLL_MAX, DELIVERY_POLL_MIN, DRAIN_TIME, LINES_PER_PASS, OUTPUT_PER_PASS, STAGE_TIME};
use crate::conn::{Close, Flushed, Input, WRITE_CAP};
use crate::framing::Frame;
use crate::handlers;
use crate::reply::{Code, Error, Reply};
use crate::session::Wait;
use crate::state::State;
use crate::store::Commit;
use mio::Interest;
use std::cmp::Reverse;
use std::time::Instant;

impl Server {
    /// Reads and handles input of every connection listed in `to_run`.
    /// Connections with new input go first; those that used up their turn
    /// in the last pass follow.
    /// After STAGE_TIME the connections not yet run wait for the next pass,
    /// ahead of those that had their turn.
    pub(super) fn run_pass(&mut self) {
        let mut keys = std::mem::take(&mut self.to_run);
        keys.append(&mut self.to_run_again);
        let deadline = Instant::now() + STAGE_TIME;
        let mut again = Vec::new();
        for (i, &key) in keys.iter().enumerate() {
            if Instant::now() >= deadline {
                self.to_run_again = keys[i..].to_vec(); // still listed (queued_run)
                break;
            }
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            conn.queued_run = false;
            if self.run_conn(key) {
                if let Some(conn) = self.state.conns.get_mut(key) {
                    conn.queued_run = true;
                    again.push(key);
                }
            }
        }
        self.to_run_again.append(&mut again);
    }

    /// Handles one connection's turn: up to LINES_PER_PASS lines, at most
    /// READ_PER_PASS bytes read, at most OUTPUT_PER_PASS lines of output
    /// caused. Returns true if it has more input to handle on the next pass.
    fn run_conn(&mut self, key: usize) -> bool {
        let mut budget = LINES_PER_PASS;
        let mut read = 0;
        let output_before = self.state.queued_lines;
        loop {
            let Some(conn) = self.state.conns.get_mut(key) else { return false };
            if conn.closing.is_some() || conn.throttled || conn.session.wait != Wait::No {
                return false;
            }
            if budget == 0 || self.state.queued_lines - output_before >= OUTPUT_PER_PASS {
                return true;
            }
            let input = conn.next_frame(&mut self.scratch, &mut read, self.config.flood_rate, self.config.flood_burst);
            if let Some(answers) = conn.take_telnet_replies() {
                // Telnet negotiation bytes and WebSocket pongs are not
                // text; they bypass reply.rs and the framing.
                self.state.send_raw(key, &answers);
                if self.state.conns.get(key).is_none_or(|c| c.closing.is_some()) {
                    return false; // sendq exceeded by the answers
                }
            }
            match input {
                Input::Frame(frame) => {
                    budget -= 1;
                    crate::delivery::before_line(&mut self.state, &mut self.store, key);
                    self.handle(key, frame);
                }
                Input::Drained => {
                    // Reading may have left the transport with records to
                    // send (a TLS handshake's replies).
                    if self.state.conns.get(key).is_some_and(|c| c.transport.pending() > 0) {
                        self.state.schedule_flush(key);
                    }
                    return false;
                }
                Input::Later => return true,
                Input::Throttled(wait) => {
                    let id = conn_id(&self.state, key);
                    self.throttled.push(Reverse((Instant::now() + wait, key, id)));
                    return false;
                }
                Input::Eof(last) => {
                    if let Some(frame) = last {
                        self.handle(key, frame);
                    }
                    let why = self.state.conns.get(key).map_or(Close::Closed, |c| c.end_reason());
                    self.state.close(key, why);
                    return false;
                }
                Input::Failed(e) => {
                    if let Some(conn) = self.state.conns.get(key) {
                        log::info!("{}: read error: {e}", conn.label());
                    }
                    self.state.close(key, Close::Error);
                    return false;
                }
            }
        }
    }

    /// One frame of a connection: a line for the handlers, or the error
    /// for a line too long.
    fn handle(&mut self, key: usize, frame: Frame) {
        match frame {
            Frame::TooLong => {
                let e = Error::new(
                    Code::LineTooLong,
                    format!("lines are limited to {} bytes; the rest of that line was discarded", self.config.max_line),
                );
                self.state.reply(key, &Reply::Err(&e));
            }
            Frame::Line(line) => handlers::dispatch(&mut self.ctx(key), &line),
        }
    }

    /// Answers from the password worker: continue the JOIN or REGISTER that
    /// waited for them, then let the connection's later lines run.
    pub(super) fn auth_results(&mut self) {
        for done in self.auth.results() {
            let Some(conn) = self.state.conns.get_mut(done.key) else { continue };
            if conn.id != done.id {
                continue; // that connection is gone and its slot reused
            }
            let step = std::mem::replace(&mut conn.session.wait, Wait::No);
            handlers::password_answered(&mut self.ctx(done.key), step, done.outcome);
            self.schedule_run(done.key);
        }
    }

    /// Group commit: one transaction for the pass's store writes, then its
    /// outcome applied to the replies that promised durability.
    pub(super) fn commit(&mut self) {
        let outcome = self.store.commit(self.state.clocks_mut());
        self.committed(outcome);
    }

    /// A commit's outcome: each durable reply of its pass goes out, or
    /// `ERR STORAGE` in its place, and its connection's later lines run
    /// again. SQLite's commit returns the outcome at once, so this runs
    /// right after it; a remote store would report it later, through the
    /// waker (as the password worker reports its answers), and each pass's
    /// replies would wait for the outcome of that pass's commit.
    fn committed(&mut self, outcome: Commit) {
        for reply in std::mem::take(&mut self.after_commit) {
            if let Some(key) = handlers::release(&mut self.state, reply, &outcome) {
                self.schedule_run(key);
            }
        }
    }

    /// Offline deliveries (`delivery.rs`): acknowledged messages leave the
    /// queue, the next ones are fed. Every pass, and when `delivery_poll`
    /// is due: acknowledgements arrive without an event to wake the loop.
    pub(super) fn advance_deliveries(&mut self) {
        if self.state.delivering.is_empty() {
            return;
        }
        let mut moved = false;
        for key in std::mem::take(&mut self.state.delivering) {
            let step = crate::delivery::advance(&mut self.state, &mut self.store, key);
            moved |= step.moved;
            if !step.done {
                self.state.delivering.push(key);
            } else if let Some(conn) = self.state.conns.get_mut(key) {
                conn.session.delivery = None;
            }
        }
        let wait = if moved { DELIVERY_POLL_MIN } else { (self.delivery_poll.1 * 2).min(DELIVERY_POLL_MAX) };
        self.delivery_poll = (Instant::now() + wait, wait);
    }

    /// Writes queued output; WRITABLE interest only while bytes remain.
    /// Connections that sent lines this pass go first: their users wait
    /// for the replies. After STAGE_TIME the rest wait for the next pass,
    /// in front, unless their queue is half full.
    pub(super) fn flush_pass(&mut self) {
        let conns = &self.state.conns;
        let (mut keys, bulk): (Vec<usize>, Vec<usize>) = std::mem::take(&mut self.state.to_flush)
            .into_iter()
            .partition(|&k| conns.get(k).is_some_and(|c| c.answered));
        keys.extend(bulk);
        let deadline = Instant::now() + STAGE_TIME;
        let mut rest = Vec::new();
        let mut late = false;
        for (i, key) in keys.into_iter().enumerate() {
            // The clock is read every 16 connections, not for each: a
            // broadcast's flush is one write per recipient, and reading
            // the time was a tenth of what the loop itself spent on it.
            if i % 16 == 0 && !late {
                late = Instant::now() >= deadline;
            }
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            // Past the deadline only a connection whose queue is half full
            // is still written: deferring its flush must never be what
            // drops a client for max_sendq.
            if late && conn.unsent() < self.config.max_sendq / 2 {
                rest.push(key); // still listed (queued_flush)
                continue;
            }
            conn.queued_flush = false;
            conn.answered = false;
            if conn.closing.as_ref().is_some_and(|c| !c.flush_first()) {
                continue;
            }
            let result = conn.flush(WRITE_CAP);
            let want_write = match result {
                Ok(Flushed::All) => false,
                Ok(Flushed::Blocked) => true,
                Ok(Flushed::Capped) => {
                    // Listed again for the next pass.
                    conn.queued_flush = true;
                    self.state.to_flush.push(key);
                    false
                }
                Err(e) => {
                    log::info!("{}: write error: {e}", conn.label());
                    self.state.close(key, Close::Error);
                    continue;
                }
            };
            if want_write != conn.want_write {
                let interest = if want_write { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
                if let Err(e) = conn.transport.reregister(self.poll.registry(), Source::Client(key).token(), interest) {
                    // Without the interest it asked for, the connection
                    // would never be written again (or never read): drop it.
                    log::warn!("{}: reregister: {e}", conn.label());
                    self.state.close(key, Close::Error);
                    continue;
                }
                conn.want_write = want_write;
            }
        }
        // The deferred ones first next pass.
        rest.append(&mut self.state.to_flush);
        self.state.to_flush = rest;
    }

    /// Removes connections marked closing and announces their LEFT.
    pub(super) fn close_pass(&mut self) {
        let now = Instant::now();
        let mut keys = std::mem::take(&mut self.state.to_close);
        keys.append(&mut self.draining);
        let deadline = now + STAGE_TIME;
        for (i, &key) in keys.iter().enumerate() {
            if Instant::now() >= deadline {
                // The rest next pass (still marked closing).
                self.state.to_close.extend_from_slice(&keys[i..]);
                break;
            }
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            let why = conn.closing.clone().unwrap_or(Close::Error);
            if why.flush_first() && conn.unsent() > 0 {
                // So OK LEAVE, ERR TIMEOUT or the replies to a half-closed
                // client's last lines arrive.
                let _ = conn.flush(WRITE_CAP);
            }
            let deadline = *conn.drain_deadline.get_or_insert(now + DRAIN_TIME);
            // Stored messages on their way leave the queue only once the
            // peer has them: wait (bounded) for its acknowledgements.
            crate::delivery::advance(&mut self.state, &mut self.store, key);
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            let unacked = conn
                .session
                .delivery
                .as_ref()
                .is_some_and(|d| d.awaits_ack() || (crate::delivery::keeps_feeding(Some(&why)) && !d.fed_all()));
            let done = !why.flush_first() || (conn.unsent() == 0 && !unacked) || now >= deadline;
            let label = conn.label();
            if handlers::end_session(&mut self.state, &mut self.store, key, Some(&why.reason())) {
                log::info!("{label}: left ({})", describe(&why));
            }
            if !done {
                self.draining.push(key); // output still going out: look again next pass
                continue;
            }
            let mut conn = self.state.conns.remove(key);
            conn.say_goodbye(Some(&why));
            conn.transport.close(self.poll.registry());
            log::info!("{label}: closed ({})", describe(&why));
        }
    }
}

fn describe(why: &Close) -> String {
    match why {
        Close::Leave(_) => "left".to_string(),
        other => other.reason(),
    }
}

/// A connection's serial number (0 if it is gone).
fn conn_id(state: &State, key: usize) -> u64 {
    state.conns.get(key).map_or(0, |c| c.id)
}
