//! A real TCP proxy for the sandbox's links, to inject the faults a WAN has: one sits on every
//! directed link (the pulling node's peer URL points at it, it forwards to the served node), so
//! pulls, pages and notifications all cross it. At run time a test can:
//!
//! - **cut** the link: existing connections are reset (RST) and new ones are reset on accept;
//! - **delay** every chunk of every response (and each request once);
//! - **drop mid-transfer**: a response longer than N bytes is cut after N bytes and the connection
//!   reset, so a page is lost halfway through its body;
//! - **replay** earlier requests (the last K, newest first, each twice): a duplicated notification
//!   triggers an extra pull, a duplicated page request makes the peer serve the page again;
//! - **deliver stale responses**: the next N responses are replaced by an earlier response to the
//!   same path, so the puller receives a page again, out of order (possibly one holding a version
//!   deleted since).
//!
//! A **plain** proxy ([`LinkProxy::plain`]) only forwards and counts bytes, with no framing and
//! no faults: the federation benchmarks measure the bytes on a link through it without paying
//! for the framing.
//!
//! It speaks just enough HTTP/1.1 ([`crate::http`]) to find message boundaries; bytes are
//! forwarded exactly as received.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::{Message, Reader};

/// How many requests and responses a proxy remembers for replays and stale deliveries.
const REMEMBER: usize = 32;
/// Larger responses are not remembered (a sandbox of 90 nodes has 420 proxies relaying pages
/// of megabytes; remembering them all would take gigabytes).
const REMEMBER_BYTES: usize = 64 * 1024;
/// Responses are written in chunks of this size (each delayed, each counted).
const CHUNK: usize = 16 * 1024;

/// The faults in force on one proxy. `heal` clears them all.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub cut: bool,
    /// Before each response chunk and before forwarding each request.
    pub delay: Duration,
    /// Responses longer than this are cut after this many bytes and the connection reset.
    pub drop_after: Option<usize>,
    /// How many of the next responses `drop_after` would cut are let through whole: a test can
    /// let exactly so many pages cross, then none (a backfill stopped at a known point).
    pub pass_whole: u32,
    /// How many of the next responses are replaced by an earlier one to the same path.
    pub stale: u32,
}

/// What a proxy did, for tests to check that the faults they asked for happened.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    /// Connections reset: refused while cut, reset by a cut, or dropped mid-transfer.
    pub resets: AtomicU64,
    pub dropped_mid_transfer: AtomicU64,
    pub stale_served: AtomicU64,
    pub replayed: AtomicU64,
    /// Bytes forwarded from the client (requests) and from the target (responses), HTTP heads
    /// included: everything on the wire.
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
}

impl Stats {
    /// `(bytes up, bytes down, connections)`.
    pub fn traffic(&self) -> (u64, u64, u64) {
        (
            self.bytes_up.load(Ordering::Relaxed),
            self.bytes_down.load(Ordering::Relaxed),
            self.connections.load(Ordering::Relaxed),
        )
    }
}

struct Shared {
    target: SocketAddr,
    faults: Mutex<Faults>,
    /// Bumped by every cut (and when the proxy goes away): connections watching it reset.
    generation: watch::Sender<u64>,
    requests: Mutex<VecDeque<Message>>,
    /// `(method and path of the request, response)`.
    responses: Mutex<VecDeque<(String, Message)>>,
    stats: Stats,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// One proxy in front of `target`. Dropping it stops it and resets its connections.
pub struct LinkProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl LinkProxy {
    /// Starts a proxy on a fresh loopback port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> io::Result<LinkProxy> {
        let (listener, addr, shared) = Self::bind(target).await?;
        let s2 = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                s2.stats.connections.fetch_add(1, Ordering::Relaxed);
                if lock(&s2.faults).cut {
                    reset(&s2, client);
                    continue;
                }
                tokio::spawn(connection(Arc::clone(&s2), client));
            }
        });
        Ok(LinkProxy { addr, shared, accept })
    }

    /// Starts a plain proxy to `target`: it forwards bytes both ways as they come and counts
    /// them ([`Stats::traffic`]). Only [`cut`](Self::cut) acts on it (at the TCP level, so it
    /// works on TLS links too); the other faults need the framing proxy.
    pub async fn plain(target: SocketAddr) -> io::Result<LinkProxy> {
        let (listener, addr, shared) = Self::bind(target).await?;
        let s2 = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                if lock(&s2.faults).cut {
                    reset(&s2, client);
                    continue;
                }
                let shared = Arc::clone(&s2);
                tokio::spawn(async move {
                    let mut cut = shared.generation.subscribe();
                    let Ok(server) = TcpStream::connect(shared.target).await else {
                        reset(&shared, client);
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                    // Either side closing ends the connection (HTTP/1.1 keep-alive: the client
                    // closes idle connections; a half-close is never needed here).
                    let was_cut = tokio::select! {
                        _ = pump(&client, &server, &shared.stats.bytes_up) => false,
                        _ = pump(&server, &client, &shared.stats.bytes_down) => false,
                        _ = cut.changed() => true,
                    };
                    if was_cut {
                        let _ = server.set_zero_linger();
                        reset(&shared, client);
                    }
                });
            }
        });
        Ok(LinkProxy { addr, shared, accept })
    }

    async fn bind(target: SocketAddr) -> io::Result<(TcpListener, SocketAddr, Arc<Shared>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            faults: Mutex::new(Faults::default()),
            generation: watch::channel(0).0,
            requests: Mutex::new(VecDeque::new()),
            responses: Mutex::new(VecDeque::new()),
            stats: Stats::default(),
        });
        Ok((listener, addr, shared))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut lock(&self.shared.faults));
    }

    /// Cuts the link: resets every open connection and every new one until [`heal`](Self::heal).
    pub fn cut(&self) {
        self.update(|f| f.cut = true);
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Delays every response chunk (and each request) by `d`.
    pub fn delay(&self, d: Duration) {
        self.update(|f| f.delay = d);
    }

    /// Cuts every response longer than `bytes` after `bytes` and resets its connection.
    pub fn drop_after(&self, bytes: usize) {
        self.update(|f| f.drop_after = Some(bytes));
    }

    /// Lets the next `n` responses that `drop_after` would cut through whole.
    pub fn pass_whole(&self, n: u32) {
        self.update(|f| f.pass_whole += n);
    }

    /// Replaces the next `n` responses by earlier responses to the same method and path.
    pub fn stale_responses(&self, n: u32) {
        self.update(|f| f.stale += n);
    }

    /// Clears every fault.
    pub fn heal(&self) {
        self.update(|f| *f = Faults::default());
    }

    /// Sends the last `k` requests seen again, newest first, each twice, over a fresh
    /// connection to the target (responses are read and discarded). Returns how many were sent.
    pub async fn replay(&self, k: usize) -> usize {
        let requests: Vec<Message> = lock(&self.shared.requests).iter().rev().take(k).cloned().collect();
        let mut sent = 0;
        let Ok(mut upstream) = TcpStream::connect(self.shared.target).await else { return 0 };
        for req in requests.iter().flat_map(|r| [r, r]) {
            let (r, mut w) = upstream.split();
            let mut reader = Reader::new(r);
            if w.write_all(&req.raw).await.is_err() {
                break;
            }
            match tokio::time::timeout(Duration::from_secs(30), reader.next(Some(&req.method))).await {
                Ok(Ok(Some(resp))) if !resp.close && !req.close => {}
                _ => match TcpStream::connect(self.shared.target).await {
                    Ok(s) => upstream = s,
                    Err(_) => break,
                },
            }
            sent += 1;
            self.shared.stats.replayed.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.generation.send_modify(|g| *g += 1);
    }
}

/// Closes a connection with a reset (RST) rather than an orderly close.
fn reset(shared: &Shared, stream: TcpStream) {
    shared.stats.resets.fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Why a relayed connection ended.
enum End {
    Closed,
    Dropped,
}

async fn connection(shared: Arc<Shared>, mut client: TcpStream) {
    let mut cut = shared.generation.subscribe();
    let Ok(mut upstream) = TcpStream::connect(shared.target).await else {
        // The served node is down: the puller sees a reset, as from a closed port.
        reset(&shared, client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let end = tokio::select! {
        end = relay(&shared, &mut client, &mut upstream) => end,
        _ = cut.changed() => Ok(End::Dropped),
    };
    match end {
        Ok(End::Closed) => {}
        Ok(End::Dropped) | Err(_) => {
            let _ = upstream.set_zero_linger();
            reset(&shared, client);
        }
    }
}

async fn relay(shared: &Shared, client: &mut TcpStream, upstream: &mut TcpStream) -> io::Result<End> {
    let (cr, mut cw) = client.split();
    let (ur, mut uw) = upstream.split();
    let (mut from_client, mut from_upstream) = (Reader::new(cr), Reader::new(ur));
    loop {
        let Some(req) = from_client.next(None).await? else { return Ok(End::Closed) };
        {
            let mut r = lock(&shared.requests);
            r.push_back(req.clone());
            if r.len() > REMEMBER {
                r.pop_front();
            }
        }
        let key = format!("{} {}", req.method, req.path());
        let faults = lock(&shared.faults).clone();
        if faults.cut {
            return Ok(End::Dropped);
        }
        if faults.stale > 0
            && let Some(old) = earlier_response(shared, &key)
        {
            shared.stats.stale_served.fetch_add(1, Ordering::Relaxed);
            if !write(shared, &mut cw, &old.raw, &faults).await? {
                return Ok(End::Dropped);
            }
            if old.close || req.close {
                return Ok(End::Closed);
            }
            continue;
        }
        if !faults.delay.is_zero() {
            tokio::time::sleep(faults.delay).await;
        }
        uw.write_all(&req.raw).await?;
        shared.stats.bytes_up.fetch_add(req.raw.len() as u64, Ordering::Relaxed);
        let Some(resp) = from_upstream.next(Some(&req.method)).await? else { return Ok(End::Dropped) };
        if resp.start.starts_with('2') && resp.raw.len() <= REMEMBER_BYTES {
            let mut r = lock(&shared.responses);
            r.push_back((key, resp.clone()));
            if r.len() > REMEMBER {
                r.pop_front();
            }
        }
        if !write(shared, &mut cw, &resp.raw, &faults).await? {
            return Ok(End::Dropped);
        }
        if resp.close || req.close {
            return Ok(End::Closed);
        }
    }
}

/// An earlier response to `key`, consuming one stale delivery; the oldest remembered one, so
/// the delivery is as out of order as the proxy can make it.
fn earlier_response(shared: &Shared, key: &str) -> Option<Message> {
    let old = lock(&shared.responses).iter().find(|(k, _)| k == key).map(|(_, m)| m.clone())?;
    let mut f = lock(&shared.faults);
    if f.stale == 0 {
        return None;
    }
    f.stale -= 1;
    Some(old)
}

/// Writes a response in chunks, each after the delay; stops after `drop_after` bytes. Returns
/// whether the whole response was written.
async fn write<W: AsyncWrite + Unpin>(shared: &Shared, w: &mut W, raw: &[u8], faults: &Faults) -> io::Result<bool> {
    let mut limit = faults.drop_after.filter(|&n| raw.len() > n);
    if limit.is_some() {
        let mut live = lock(&shared.faults);
        if live.pass_whole > 0 {
            live.pass_whole -= 1;
            limit = None;
        }
    }
    let upto = limit.unwrap_or(raw.len());
    for chunk in raw[..upto].chunks(CHUNK) {
        if !faults.delay.is_zero() {
            tokio::time::sleep(faults.delay).await;
        }
        w.write_all(chunk).await?;
        shared.stats.bytes_down.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    w.flush().await?;
    if limit.is_some() {
        shared.stats.dropped_mid_transfer.fetch_add(1, Ordering::Relaxed);
        return Ok(false);
    }
    Ok(true)
}

/// Copies what `from` sends to `to`, counting the bytes, until `from` closes.
async fn pump(from: &TcpStream, to: &TcpStream, counter: &AtomicU64) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        from.readable().await?;
        let n = match from.try_read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        let mut off = 0;
        while off < n {
            to.writable().await?;
            match to.try_write(&buf[off..n]) {
                Ok(k) => off += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::LinkProxy;

    /// A server answering every request on a connection with `body` (keep-alive).
    async fn server(body: &'static str) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(n) = s.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..i + 4);
                            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                            if s.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    async fn get(addr: std::net::SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"GET /x/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await?;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await??;
        Ok(out)
    }

    #[tokio::test]
    async fn forwards_cuts_drops_and_heals() {
        let body = "0123456789abcdefghij";
        let proxy = LinkProxy::start(server(body).await).await.expect("proxy");
        let whole = get(proxy.addr()).await.expect("forwarded");
        assert!(whole.ends_with(body.as_bytes()));

        proxy.drop_after(30);
        match get(proxy.addr()).await {
            Ok(part) => assert_eq!(part.len(), 30, "cut after 30 bytes"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        }
        assert_eq!(proxy.stats().dropped_mid_transfer.load(std::sync::atomic::Ordering::Relaxed), 1);

        proxy.cut();
        assert!(get(proxy.addr()).await.map(|b| b.is_empty()).unwrap_or(true), "nothing crosses a cut link");
        proxy.heal();
        assert!(get(proxy.addr()).await.expect("healed").ends_with(body.as_bytes()));

        // Stale: the next response is the earliest remembered one for the same path.
        proxy.stale_responses(1);
        assert!(get(proxy.addr()).await.expect("stale").ends_with(body.as_bytes()));
        assert_eq!(proxy.stats().stale_served.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(proxy.replay(2).await, 4, "the last two requests, twice each");
    }

    #[tokio::test]
    async fn plain_and_framed_proxies_count_the_bytes_on_the_wire() {
        let body = "0123456789abcdefghij";
        let target = server(body).await;
        for proxy in [LinkProxy::plain(target).await.expect("plain"), LinkProxy::start(target).await.expect("framed")] {
            // The test server keeps the connection open (a plain proxy does not close it
            // either): read until the body has arrived.
            let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
            s.write_all(b"GET /x/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.expect("request");
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            while !got.ends_with(body.as_bytes()) {
                let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                    .await
                    .expect("in time")
                    .expect("read");
                assert!(n > 0, "closed before the body");
                got.extend_from_slice(&buf[..n]);
            }
            let (up, down, connections) = proxy.stats().traffic();
            let request = b"GET /x/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".len() as u64;
            assert_eq!(up, request);
            assert_eq!(down, got.len() as u64);
            assert_eq!(connections, 1);
        }
    }
}
