//! Flood control (protocol section 6): a token bucket per connection.
//!
//! Each line a connection sends takes one token; tokens come back at
//! `flood_rate` per second up to `flood_burst`. When the bucket is empty the
//! server stops reading that connection until a token is back: commands are
//! delayed in order, never dropped. Pure: the caller passes the time.

use std::time::{Duration, Instant};

/// One connection's budget of lines.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens now; a new connection starts with a full budget.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl TokenBucket {
    pub fn new(burst: u32, now: Instant) -> TokenBucket {
        TokenBucket { tokens: f64::from(burst), at: now }
    }

    /// Whether a token is available now; if not, how long until one is.
    /// `rate` 0 means flood control is off.
    pub fn ready(&mut self, rate: u32, burst: u32, now: Instant) -> Result<(), Duration> {
        if rate == 0 {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * f64::from(rate)).min(f64::from(burst));
        self.at = now;
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / f64::from(rate)))
        }
    }

    /// Spends one token for a line (after `ready` said yes).
    pub fn spend(&mut self, rate: u32) {
        if rate > 0 {
            self.tokens -= 1.0;
        }
    }

    /// `ready` then `spend`.
    pub fn take(&mut self, rate: u32, burst: u32, now: Instant) -> Result<(), Duration> {
        self.ready(rate, burst, now)?;
        self.spend(rate);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_burst_passes_then_the_rate_applies() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(40, t0);
        for _ in 0..40 {
            assert_eq!(b.take(20, 40, t0), Ok(()));
        }
        let wait = b.take(20, 40, t0).unwrap_err();
        assert!(wait > Duration::from_millis(49) && wait <= Duration::from_millis(50), "{wait:?}");
        assert_eq!(b.take(20, 40, t0 + Duration::from_millis(50)), Ok(()));
        assert!(b.take(20, 40, t0 + Duration::from_millis(50)).is_err());
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, t0);
        let later = t0 + Duration::from_secs(3600);
        assert!(b.take(20, 2, later).is_ok());
        assert!(b.take(20, 2, later).is_ok());
        assert!(b.take(20, 2, later).is_err());
    }

    #[test]
    fn rate_zero_turns_it_off() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1, t0);
        for _ in 0..1000 {
            assert_eq!(b.take(0, 1, t0), Ok(()));
        }
    }
}
