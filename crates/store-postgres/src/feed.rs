//! The feed signal across processes: `LISTEN`/`NOTIFY` on a channel of the store's schema.
//!
//! It exists because a process learns of another process's writes only by reading the feed
//! position, which a node does once a second; a stream client on one process would wait up to
//! that long for a write taken by another. Every transaction that moves the node's clock sends
//! the new position on the schema's channel ([`ADVANCE_AND_NOTIFY`]; PostgreSQL delivers it at
//! `COMMIT`, so a listener never hears of a position before it is readable). [`follow`] holds one
//! connection that listens and hands each position to the caller; when the connection is lost it
//! reconnects with a backoff and reads the clock once, so a write made meanwhile is still
//! signalled. The caller's poll stays as the fallback while no connection can be had.
//!
//! The channel is named after the schema (`tf_` and the MD5 of `current_schema()`, within the
//! 63 bytes a channel name may have), so nodes in different schemas of one server never wake
//! each other.

use std::sync::Arc;
use std::time::Duration;

use tandem_model::Timestamp;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

/// Moves the clock to `$1` and notifies the schema's channel with it, in one statement.
pub(crate) const ADVANCE_AND_NOTIFY: &str = "WITH moved AS (UPDATE clock SET last = $1 WHERE id = 1 RETURNING last) \
     SELECT pg_notify('tf_' || md5(current_schema()), last::text) FROM moved";

const CHANNEL: &str = "SELECT 'tf_' || md5(current_schema())";

/// The longest wait between two attempts to (re)connect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Called with each feed position another (or this) process committed.
pub type OnPosition = Arc<dyn Fn(Timestamp) + Send + Sync>;

/// Listens for feed positions on the store at `url` until `stop` flips (or its sender is
/// gone), calling `on_position` for each, and once with the clock's value after every
/// (re)connection. Runs on the caller's runtime; never returns an error (a lost connection is
/// logged and retried, with the caller's poll carrying the signal meanwhile).
pub async fn follow(url: String, on_position: OnPosition, mut stop: watch::Receiver<bool>) {
    let config: tokio_postgres::Config = match url.parse() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "feed notifications off: invalid PostgreSQL url");
            return;
        }
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        match listen(&config, &on_position, &mut stop).await {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Closed) => {
                tracing::warn!("feed notification connection closed; reconnecting (the poll carries the signal)")
            }
            Err(e) => {
                tracing::warn!(error = %e, "feed notifications unavailable; retrying (the poll carries the signal)")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum Ended {
    Stopped,
    Closed,
}

async fn listen(
    config: &tokio_postgres::Config,
    on_position: &OnPosition,
    stop: &mut watch::Receiver<bool>,
) -> Result<Ended, tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // The connection's driver keeps only the highest position heard (a watch channel: bounded
    // however fast positions arrive), and ends with the connection.
    let (heard_tx, mut heard) = watch::channel(0i64);
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => match n.payload().parse::<i64>() {
                    Ok(at) => {
                        heard_tx.send_modify(|p| *p = (*p).max(at));
                    }
                    Err(_) => tracing::warn!(payload = n.payload(), "feed notification that is no position"),
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    let setup = async {
        let channel: String = client.query_one(CHANNEL, &[]).await?.try_get(0)?;
        // The channel is `tf_` and hex digits: safe to quote as an identifier.
        client.batch_execute(&format!("LISTEN \"{channel}\"")).await?;
        // Writes committed before LISTEN took effect were not heard: catch up once.
        let last: i64 = client.query_one("SELECT last FROM clock WHERE id = 1", &[]).await?.try_get(0)?;
        Ok::<i64, tokio_postgres::Error>(last)
    };
    let last = match setup.await {
        Ok(last) => last,
        Err(e) => {
            driver.abort();
            return Err(e);
        }
    };
    if last > 0 {
        on_position(Timestamp::from_micros(last));
    }
    tracing::debug!("listening for feed notifications");
    let ended = loop {
        tokio::select! {
            changed = heard.changed() => {
                if changed.is_err() {
                    break Ended::Closed;
                }
                let at = *heard.borrow_and_update();
                on_position(Timestamp::from_micros(at));
            }
            _ = stop.changed() => break Ended::Stopped,
        }
    };
    drop(client);
    match ended {
        Ended::Stopped => {
            driver.abort();
            Ok(Ended::Stopped)
        }
        Ended::Closed => match driver.await {
            Ok(Err(e)) => Err(e),
            _ => Ok(Ended::Closed),
        },
    }
}

#[cfg(all(test, feature = "testdb"))]
mod tests {
    use std::sync::Mutex;

    use tandem_store::{Incoming, ObjectStore};

    use super::*;
    use crate::PgStore;

    fn indicator(n: u32) -> Incoming {
        let object = serde_json::json!({"type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]});
        Incoming::new(tandem_model::check_object(&object).expect("valid"))
    }

    /// A listener on one store hears a write committed through another store (another
    /// process's pool) on the same schema, with no poll anywhere; a listener on another
    /// schema hears nothing.
    #[test]
    fn a_write_through_another_store_is_heard() {
        let (url, other) = (crate::testdb::fresh_url(), crate::testdb::fresh_url());
        let writer = PgStore::open(&url).expect("writer");
        drop(PgStore::open(&other).expect("other schema"));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let heard: Arc<Mutex<Vec<Timestamp>>> = Arc::default();
        let heard_elsewhere: Arc<Mutex<Vec<Timestamp>>> = Arc::default();
        let (stop_tx, stop) = watch::channel(false);
        let record = |into: &Arc<Mutex<Vec<Timestamp>>>| -> OnPosition {
            let into = Arc::clone(into);
            Arc::new(move |at| into.lock().expect("lock").push(at))
        };
        let tasks = [
            rt.spawn(follow(url.clone(), record(&heard), stop.clone())),
            rt.spawn(follow(other.clone(), record(&heard_elsewhere), stop.clone())),
        ];
        // Listening before the write: the catch-up read of an empty clock says nothing.
        std::thread::sleep(Duration::from_secs(1));
        let started = std::time::Instant::now();
        let outcome = writer.put("c", "USA", vec![indicator(1)]).expect("put");
        let Some(tandem_store::PutOutcome::Added { date_added, .. }) = outcome.first() else {
            panic!("not added: {outcome:?}")
        };
        let deadline = started + Duration::from_secs(30);
        while !heard.lock().expect("lock").contains(date_added) {
            assert!(std::time::Instant::now() < deadline, "the write was never heard: {:?}", heard.lock());
            std::thread::sleep(Duration::from_millis(5));
        }
        println!("heard a write through another store after {:?}", started.elapsed());
        assert!(heard_elsewhere.lock().expect("lock").is_empty(), "another schema's listener heard nothing");
        stop_tx.send(true).expect("stop");
        for t in tasks {
            rt.block_on(t).expect("listener ended");
        }
    }
}
