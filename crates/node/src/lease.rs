//! Leases: background work that must run once per node, not once per process, when several
//! `tandem serve` processes share one PostgreSQL database (the webhook worker, which would
//! otherwise deliver each alert once per process; the alerter, whose alerts are already
//! persisted once by compare-and-set but whose work need not be repeated).
//!
//! A lease is one meta key (`node/lease/<name>`: holder id and expiry) taken and renewed with
//! [`tandem_store::MetaStore::cas_meta`], so it works on any backend through `Arc<dyn Store>`
//! and inherits that method's conformance-tested atomicity. The holder renews every third of
//! the time to live; when it dies, another process takes the lease once it expires (failover
//! within one TTL). A holder that cannot renew stops counting itself the holder a third of a TTL
//! before its lease expires, so two processes never both believe they hold it as long as their
//! clocks agree within that margin (NTP). A session-level PostgreSQL advisory lock would fail
//! over faster but is invisible through the backend-neutral trait; this needs nothing new there.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_model::Timestamp;
use tandem_store::{Result, Store};
use tokio::sync::watch;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(15);

pub struct Lease {
    store: Arc<dyn Store>,
    key: String,
    holder: String,
    ttl: Duration,
}

impl Lease {
    /// The lease on `name` for a new holder (this process).
    pub fn new(store: Arc<dyn Store>, name: &str, ttl: Duration) -> Self {
        Lease { store, key: format!("node/lease/{name}"), holder: uuid::Uuid::new_v4().to_string(), ttl }
    }

    fn ttl_micros(&self) -> i64 {
        i64::try_from(self.ttl.as_micros()).unwrap_or(i64::MAX / 4)
    }

    /// One attempt to take or renew the lease: whether this process holds it now, and until
    /// when (microseconds).
    pub fn try_hold(&self) -> Result<Option<i64>> {
        let now = Timestamp::now().as_micros();
        let current = self.store.get_meta(&self.key)?;
        let free = match &current {
            None => true,
            Some(v) => {
                v["holder"].as_str() == Some(self.holder.as_str()) || v["expires"].as_i64().is_none_or(|e| e <= now)
            }
        };
        if !free {
            return Ok(None);
        }
        let until = now + self.ttl_micros();
        let mine = json!({"holder": self.holder, "expires": until});
        Ok(self.store.cas_meta(&self.key, current.as_ref(), Some(&mine))?.then_some(until))
    }

    /// Gives the lease up if this process holds it (a clean shutdown: the next holder need not
    /// wait for it to expire).
    pub fn release(&self) -> Result<()> {
        let current: Option<Value> = self.store.get_meta(&self.key)?;
        if let Some(v) = current.as_ref().filter(|v| v["holder"].as_str() == Some(self.holder.as_str())) {
            self.store.cas_meta(&self.key, Some(v), None)?;
        }
        Ok(())
    }

    /// Keeps trying to hold the lease until `stop` flips, publishing whether this process holds
    /// it; releases it on the way out.
    pub fn run(self, mut stop: watch::Receiver<bool>) -> (watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(false);
        let lease = Arc::new(self);
        let task = tokio::spawn(async move {
            let mut held_until: i64 = 0;
            loop {
                let l = Arc::clone(&lease);
                let attempt = tokio::task::spawn_blocking(move || l.try_hold()).await;
                let now = Timestamp::now().as_micros();
                let failed = match attempt {
                    Ok(Ok(Some(until))) => {
                        held_until = until;
                        None
                    }
                    Ok(Ok(None)) => {
                        held_until = 0;
                        None
                    }
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(e) => Some(e.to_string()),
                };
                let held = match failed {
                    None => held_until > 0,
                    Some(error) => {
                        tracing::warn!(key = %lease.key, %error, "cannot take or renew a lease");
                        // Still ours until shortly before it expires, never beyond.
                        now < held_until - lease.ttl_micros() / 3
                    }
                };
                tx.send_if_modified(|h| std::mem::replace(h, held) != held);
                tokio::select! {
                    _ = tokio::time::sleep(lease.ttl / 3) => {}
                    _ = stop.changed() => break,
                }
            }
            tx.send_replace(false);
            let l = Arc::clone(&lease);
            let _ = tokio::task::spawn_blocking(move || l.release()).await;
        });
        (rx, task)
    }
}

/// Runs the task `start` makes only while `held` is true: started when the lease is taken,
/// stopped (through the stop channel it is handed) when the lease is lost or `stop` flips.
pub fn gated<F>(
    mut held: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    start: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(watch::Receiver<bool>) -> tokio::task::JoinHandle<()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            while !*held.borrow_and_update() {
                tokio::select! {
                    r = held.changed() => if r.is_err() { return },
                    _ = stop.changed() => return,
                }
                if *stop.borrow() {
                    return;
                }
            }
            let (tx, rx) = watch::channel(false);
            let task = start(rx);
            let stopping = loop {
                tokio::select! {
                    r = held.changed() => if r.is_err() || !*held.borrow() { break false },
                    _ = stop.changed() => break true,
                }
            };
            let _ = tx.send(true);
            let _ = task.await;
            if stopping || *stop.borrow() {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(tandem_store::SqliteStore::open(dir.path()).expect("open"));
        (dir, store)
    }

    /// One holder at a time; the holder renews; another takes it once it expired or was
    /// released.
    #[test]
    fn one_holder_and_failover_after_expiry() {
        let (_dir, store) = store();
        let ttl = Duration::from_millis(300);
        let a = Lease::new(Arc::clone(&store), "webhooks", ttl);
        let b = Lease::new(Arc::clone(&store), "webhooks", ttl);
        assert!(a.try_hold().unwrap().is_some());
        assert!(b.try_hold().unwrap().is_none(), "held by a");
        assert!(a.try_hold().unwrap().is_some(), "a renews");
        assert!(Lease::new(Arc::clone(&store), "alerter", ttl).try_hold().unwrap().is_some(), "another name");
        // a dies (stops renewing): b takes over once the lease expired.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while b.try_hold().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "b never took the lease");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(a.try_hold().unwrap().is_none(), "a lost it");
        b.release().unwrap();
        assert!(a.try_hold().unwrap().is_some(), "released: taken at once");
    }

    /// Work gated on two processes' leases runs in exactly one of them, and moves to the other
    /// when the first stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gated_work_runs_in_one_process_and_fails_over() {
        let (_dir, store) = store();
        let ttl = Duration::from_millis(300);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = |running: Arc<std::sync::atomic::AtomicUsize>| {
            move |mut stop: watch::Receiver<bool>| {
                let running = Arc::clone(&running);
                tokio::spawn(async move {
                    running.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = stop.changed().await;
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            }
        };
        let (stop_a, stopped_a) = watch::channel(false);
        let (held_a, lease_a) = Lease::new(Arc::clone(&store), "w", ttl).run(stopped_a.clone());
        let work_a = gated(held_a, stopped_a, start(Arc::clone(&running)));
        let (stop_b, stopped_b) = watch::channel(false);
        let (held_b, lease_b) = Lease::new(Arc::clone(&store), "w", ttl).run(stopped_b.clone());
        let work_b = gated(held_b.clone(), stopped_b, start(Arc::clone(&running)));
        let eventually = |what: &'static str, f: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !f() {
                assert!(std::time::Instant::now() < deadline, "never: {what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        eventually("one runs", &|| running.load(std::sync::atomic::Ordering::SeqCst) == 1);
        std::thread::sleep(ttl * 2);
        assert_eq!(running.load(std::sync::atomic::Ordering::SeqCst), 1, "never both");
        let b_first = *held_b.borrow();
        // The holder stops; the other takes over.
        let (stop, lease, work) = if b_first { (stop_b, lease_b, work_b) } else { (stop_a, lease_a, work_a) };
        let _ = stop.send(true);
        let _ = lease.await;
        let _ = work.await;
        eventually("the other runs", &|| running.load(std::sync::atomic::Ordering::SeqCst) == 1);
    }
}
