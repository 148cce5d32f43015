//! A token bucket per account, for `POST {root}tandem/notify/`.
//!
//! A notification makes this node pull from the notifying peer; without a limit any account
//! could make the node hammer its peer (2,000 notifications once cost 552 pulls in 10 s).
//! A notification is free when the peer delivered something (versions stored, deletions
//! applied) since that account's previous notification: that is a peer announcing real writes,
//! and charging it would add latency to every write of a busy peer (the two-hop latency
//! benchmark sends over a hundred a second). One that follows a pull which brought nothing
//! takes a token. So a flood costs a burst and then a few pulls a second, and earning free
//! notifications takes real, stored writes. A peer over the limit gets 429 with `Retry-After`,
//! waits, and notifies once more; the 15 s poll stays as the fallback, so nothing is lost,
//! only delayed.

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
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// The peer's progress at this account's previous notification.
    progress: u64,
}

impl RateLimiter {
    pub fn new(burst: f64, per_sec: f64) -> Self {
        assert!(burst >= 1.0 && per_sec > 0.0, "a rate limit must let something through");
        RateLimiter { burst, per_sec, buckets: Mutex::new(HashMap::new()) }
    }

    /// Admits one notification from `account`, whose peer has so far delivered `progress`
    /// (versions stored plus deletions applied, a counter that only grows): free when it grew
    /// since this account's previous notification, else one token. `Err(wait)` until a token
    /// is free.
    pub fn take(&self, account: &str, progress: u64) -> Result<(), Duration> {
        self.take_at(account, progress, Instant::now())
    }

    fn take_at(&self, account: &str, progress: u64, now: Instant) -> Result<(), Duration> {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        if buckets.len() >= MAX_ACCOUNTS && !buckets.contains_key(account) {
            // Full buckets carry little worth keeping (at most one free notification each).
            let (burst, per_sec) = (self.burst, self.per_sec);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < burst);
        }
        let b = buckets.entry(account.to_string()).or_insert(Bucket { tokens: self.burst, at: now, progress: 0 });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec).min(self.burst);
        b.at = now;
        if progress > b.progress {
            b.progress = progress;
            return Ok(());
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
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
            assert!(l.take_at("a", 0, t0).is_ok());
        }
        let wait = l.take_at("a", 0, t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500), "{wait:?}");
        // Another account has its own bucket.
        assert!(l.take_at("b", 0, t0).is_ok());
        // Half a second refills one token at 2/s, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.take_at("a", 0, t1).is_ok());
        assert!(l.take_at("a", 0, t1).is_err());
        // A long pause refills up to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        let granted = (0..10).filter(|_| l.take_at("a", 0, t2).is_ok()).count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn a_peer_that_delivered_since_its_last_notification_is_not_charged() {
        let l = RateLimiter::new(1.0, 1.0);
        let t0 = Instant::now();
        assert!(l.take_at("a", 0, t0).is_ok());
        assert!(l.take_at("a", 0, t0).is_err(), "the bucket is empty");
        // Every notification after a delivery is free, however fast.
        for progress in 1..100 {
            assert!(l.take_at("a", progress, t0).is_ok());
        }
        // Without new deliveries, the empty bucket refuses again.
        assert!(l.take_at("a", 99, t0).is_err());
    }
}
