//! The end: EXIT or a signal stops the loop; every joined user is told,
//! output is flushed for a bounded time, and the store commits and closes.

use super::tokens::Source;
use super::{Server, DELIVERY_POLL_MIN, SHUTDOWN_FLUSH};
use crate::message::Event;
use crate::session::Wait;
use crate::store::Commit;
use mio::Events;
use std::time::{Duration, Instant};

impl Server {
    /// The end: every joined user gets a NOTICE, output is flushed for at
    /// most SHUTDOWN_FLUSH, the store commits and closes.
    pub(super) fn shutdown(&mut self) {
        crate::systemd::notify("STOPPING=1");
        let ts = self.state.ts();
        let n = self.state.broadcast(None, &Event::Notice { ts: &ts, text: "server shutting down" });
        log::info!("shutting down: told {n} user(s)");
        for (_, conn) in self.state.conns.iter_mut() {
            conn.session.wait = Wait::No;
            if let Some(d) = conn.session.delivery.as_mut() {
                d.stop_feeding();
            }
        }
        self.commit();
        // Admin replies (OK EXIT) first: they are small and local.
        for (_, conn) in self.admin_conns.iter_mut() {
            conn.flush();
        }
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        let mut events = Events::with_capacity(1024);
        loop {
            self.advance_deliveries();
            self.flush_pass();
            let pending = !self.state.delivering.is_empty() || self.state.conns.iter().any(|(_, c)| c.unsent() > 0);
            let now = Instant::now();
            if !pending || now >= deadline {
                if pending {
                    log::warn!("shutdown: some output could not be delivered in time");
                }
                break;
            }
            let wait = (deadline - now).min(if self.state.delivering.is_empty() {
                Duration::from_millis(50)
            } else {
                DELIVERY_POLL_MIN
            });
            if self.poll.poll(&mut events, Some(wait)).is_ok() {
                for event in events.iter() {
                    match Source::of(event.token()) {
                        Source::Signals => self.on_signals(),
                        Source::Client(key) => self.conn_ready(key, event),
                        _ => {}
                    }
                }
            }
            // Capped connections re-list themselves; blocked ones wait for events.
            let capped: Vec<usize> =
                self.state.conns.iter().filter(|(_, c)| c.unsent() > 0 && !c.want_write).map(|(k, _)| k).collect();
            for key in capped {
                self.state.schedule_flush(key);
            }
        }
        for key in self.state.conns.iter().map(|(k, _)| k).collect::<Vec<_>>() {
            // Everyone is leaving: no LEFT to anyone.
            crate::handlers::end_session(&mut self.state, &mut self.store, key, None);
            if let Some(conn) = self.state.conns.get_mut(key) {
                conn.say_goodbye(None);
            }
        }
        if let Commit::Failed(e) = self.store.commit_final(self.state.clocks_mut()) {
            log::error!("shutdown: last commit failed: {}", e.0);
        }
        log::info!("shutdown complete");
    }
}
