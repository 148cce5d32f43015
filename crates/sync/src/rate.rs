//! A token bucket per account, for `POST {root}tandem/notify/`.
//!
//! A notification makes this node pull from the notifying peer; without a limit any account
//! could make the node hammer its peer (2,000 notifications once cost 552 pulls in 10 s). A
//! legitimate peer never needs more than a few a second: its sender keeps one notification in
//! flight and coalesces the rest, and this node's puller coalesces what arrives during a pass.
//! A peer over the limit gets 429 with `Retry-After`, waits, and notifies once more; the 15 s
//! poll stays as the fallback, so nothing is lost, only delayed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Notifications one account may send in a burst.
pub const NOTIFY_BURST: f64 = 10.0;
/// Notifications per second one account may send once its burst is spent.
pub const NOTIFY_PER_SEC: f64 = 4.0;
/// The most accounts tracked at once (a bound on memory; only peer accounts reach the bucket).
const MAX_ACCOUNTS: usize = 4096;

/// Per-account token buckets.
pub struct RateLimiter {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(burst: f64, per_sec: f64) -> Self {
        assert!(burst >= 1.0 && per_sec > 0.0, "a rate limit must let something through");
        RateLimiter { burst, per_sec, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `account`'s bucket: `Ok(())`, or `Err(wait)` until one is free.
    pub fn take(&self, account: &str) -> Result<(), Duration> {
        self.take_at(account, Instant::now())
    }

    fn take_at(&self, account: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        if buckets.len() >= MAX_ACCOUNTS && !buckets.contains_key(account) {
            // Full buckets carry no state worth keeping.
            let (burst, per_sec) = (self.burst, self.per_sec);
            buckets
                .retain(|_, (tokens, at)| *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst);
        }
        let (tokens, at) = buckets.entry(account.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_sec))
        }
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(NOTIFY_BURST, NOTIFY_PER_SEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate_per_account() {
        let l = RateLimiter::new(3.0, 2.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take_at("a", t0).is_ok());
        }
        let wait = l.take_at("a", t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500), "{wait:?}");
        // Another account has its own bucket.
        assert!(l.take_at("b", t0).is_ok());
        // Half a second refills one token at 2/s, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.take_at("a", t1).is_ok());
        assert!(l.take_at("a", t1).is_err());
        // A long pause refills up to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        let granted = (0..10).filter(|_| l.take_at("a", t2).is_ok()).count();
        assert_eq!(granted, 3);
    }
}
