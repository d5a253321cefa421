//! Timers: how long the loop may sleep (join deadlines, flood wake-ups,
//! the watchdog, store retries, offline deliveries), and what is due when
//! it wakes.

use super::{Server, TRIM_EVERY};
use crate::conn::Close;
use crate::reply::{Code, Error, Reply};
use std::cmp::Reverse;
use std::time::{Duration, Instant};

impl Server {
    /// Block until something happens, unless work is left over from the last
    /// pass; wake for the next join deadline.
    pub(super) fn poll_timeout(&self) -> Option<Duration> {
        if !self.to_run.is_empty() || !self.to_run_again.is_empty() {
            return Some(Duration::ZERO);
        }
        // Output waiting to share its writes: until then, new input only.
        if let Some(until) = self.linger_until {
            return Some(until.saturating_duration_since(Instant::now()));
        }
        if !self.state.to_flush.is_empty() || !self.state.to_close.is_empty() {
            return Some(Duration::ZERO);
        }
        let join = self.join_deadlines.front().map(|&(when, _, _)| when);
        let flood = self.throttled.peek().map(|Reverse((when, _, _))| *when);
        let watchdog = self.watchdog.map(|(_, next)| next);
        // Out of descriptors, or connections draining: look again shortly.
        let soon =
            (self.accept_paused || !self.draining.is_empty()).then(|| Instant::now() + Duration::from_millis(50));
        let store = self.store.retry_at(self.state.clocks());
        let delivery = (!self.state.delivering.is_empty()).then_some(self.delivery_poll.0);
        let web = [self.http_deadline(), self.next_ping];
        let next = [join, flood, watchdog, soon, store, delivery].into_iter().chain(web).flatten().min();
        // Round up so the timer has passed when poll returns.
        next.map(|when| when.saturating_duration_since(Instant::now()) + Duration::from_millis(1))
    }

    /// Tells systemd the loop is alive, when the watchdog is due.
    pub(super) fn watchdog_ping(&mut self) {
        if let Some((every, next)) = self.watchdog {
            if Instant::now() >= next {
                crate::systemd::notify("WATCHDOG=1");
                self.watchdog = Some((every, Instant::now() + every));
            }
        }
    }

    /// Closes connections that have not joined within join_timeout.
    pub(super) fn expire_joins(&mut self) {
        let now = Instant::now();
        while let Some(&(deadline, key, id)) = self.join_deadlines.front() {
            if deadline > now {
                break;
            }
            self.join_deadlines.pop_front();
            let Some(conn) = self.state.conns.get(key) else { continue };
            if conn.id != id || conn.session.name.is_some() || conn.closing.is_some() {
                continue;
            }
            let err =
                Error::new(Code::Timeout, format!("no JOIN within {} seconds; goodbye", self.config.join_timeout));
            self.state.reply(key, &Reply::Err(&err));
            self.state.close(key, Close::Timeout);
        }
    }

    /// Connections whose flood budget has refilled are run again.
    pub(super) fn release_throttled(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((when, key, id))) = self.throttled.peek() {
            if when > now {
                break;
            }
            self.throttled.pop();
            let Some(conn) = self.state.conns.get_mut(key) else { continue };
            if conn.id != id || !conn.throttled {
                continue;
            }
            conn.throttled = false;
            self.schedule_run(key);
        }
    }

    /// When the loop is about to sleep after work, gives the output buffers
    /// of idle connections and free heap pages back, at most every
    /// TRIM_EVERY; returns the poll timeout, shortened to wake for that.
    pub(super) fn trim_if_idle(&mut self, timeout: Option<Duration>, had_events: bool) -> Option<Duration> {
        let idle = timeout.is_none_or(|t| t >= Duration::from_millis(50));
        let mut timeout = timeout;
        if idle && self.busy_since_trim {
            let due = TRIM_EVERY.saturating_sub(self.last_trim.elapsed());
            if due.is_zero() {
                for (_, conn) in self.state.conns.iter_mut() {
                    conn.release_idle_output();
                }
                crate::os::release_free_memory();
                (self.busy_since_trim, self.last_trim) = (false, Instant::now());
            } else {
                timeout = Some(timeout.map_or(due, |t| t.min(due))); // wake up to trim
            }
        }
        self.busy_since_trim |= !idle || had_events;
        timeout
    }
}
