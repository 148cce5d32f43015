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
//! On a TLS link ([`LinkProxy::start_tls`]) the proxy is a test-only **man in the middle**, so
//! that it can see the HTTP messages it must drop, replay and withhold: it accepts TLS from the
//! pulling node presenting the *served* node's certificate and key, and forwards every request
//! over its own TLS connection to the served node presenting the *pulling* node's client
//! certificate. Both identity checks stay real end to end: the puller still accepts only the
//! served member's roster key, and the served node still checks the client certificate against
//! the peer account's roster key. The proxy never lends an identity the client did not prove: a
//! client presenting no certificate is forwarded with none, one presenting any other key is
//! reset before a byte of HTTP crosses.
//!
//! A **plain** proxy ([`LinkProxy::plain`]) only forwards and counts bytes, with no framing and
//! no faults: the federation benchmarks measure the bytes on a link through it without paying
//! for the framing (over TLS it counts the encrypted bytes, which is what crosses the wire).
//!
//! It speaks just enough HTTP/1.1 ([`crate::http`]) to find message boundaries; bytes are
//! forwarded exactly as received (as decrypted, on a TLS link).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tandem_tls::Identity;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::http::{Message, Reader};

/// How many requests and responses a proxy remembers for replays and stale deliveries.
const REMEMBER: usize = 32;
/// Larger responses are not remembered (a sandbox of 90 nodes has 420 proxies relaying pages
/// of megabytes; remembering them all would take gigabytes).
const REMEMBER_BYTES: usize = 64 * 1024;
/// Responses are written in chunks of this size (each delayed, each counted).
const CHUNK: usize = 16 * 1024;
/// The longest a TLS handshake on either side of the proxy may take.
const HANDSHAKE: Duration = Duration::from_secs(30);

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
    /// TLS links: connections whose handshake failed or whose client presented a key that is
    /// not the pulling node's (reset before any HTTP crossed).
    pub refused_tls: AtomicU64,
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

/// The two TLS sides of a man-in-the-middle proxy (see the module documentation).
struct Mitm {
    /// Serves the served node's certificate and key to the pulling node.
    acceptor: TlsAcceptor,
    /// The pulling node's key: the only client certificate the proxy forwards as.
    pulling_key: [u8; 32],
    /// Presents the pulling node's certificate; accepts only the served node's key.
    as_pulling: TlsConnector,
    /// Presents no certificate (for a client that presented none); the served node's key only.
    anonymous: TlsConnector,
}

impl Mitm {
    fn new(served: &Identity, pulling: &Identity) -> io::Result<Mitm> {
        let tls = |e: tandem_tls::TlsError| io::Error::other(e.to_string());
        let expect = || tandem_tls::verify::accept_keys(vec![served.public_key]);
        Ok(Mitm {
            acceptor: TlsAcceptor::from(Arc::new(tandem_tls::server_config(served, None).map_err(tls)?)),
            pulling_key: pulling.public_key,
            as_pulling: TlsConnector::from(Arc::new(tandem_tls::client_config(Some(pulling), expect()).map_err(tls)?)),
            anonymous: TlsConnector::from(Arc::new(tandem_tls::client_config(None, expect()).map_err(tls)?)),
        })
    }
}

/// A proxied connection: plain TCP or TLS over it, with the socket at hand for a reset.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Wire for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Wire for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl Wire for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl<W: Wire + ?Sized> Wire for Box<W> {
    fn tcp(&self) -> &TcpStream {
        (**self).tcp()
    }
}

struct Shared {
    target: SocketAddr,
    /// Set on a TLS link: the proxy terminates and re-originates TLS.
    tls: Option<Mitm>,
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
    /// Starts a proxy on a fresh loopback port forwarding plain HTTP to `target`.
    pub async fn start(target: SocketAddr) -> io::Result<LinkProxy> {
        Self::framing(target, None).await
    }

    /// Starts a proxy on a fresh loopback port in front of the TLS listener `target`, as the
    /// man in the middle the module documentation describes: `served` is the identity of the
    /// node at `target`, `pulling` the identity of the node whose connections cross this link.
    pub async fn start_tls(target: SocketAddr, served: &Identity, pulling: &Identity) -> io::Result<LinkProxy> {
        Self::framing(target, Some(Mitm::new(served, pulling)?)).await
    }

    async fn framing(target: SocketAddr, tls: Option<Mitm>) -> io::Result<LinkProxy> {
        let (listener, addr, shared) = Self::bind(target, tls).await?;
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
        let (listener, addr, shared) = Self::bind(target, None).await?;
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

    async fn bind(target: SocketAddr, tls: Option<Mitm>) -> io::Result<(TcpListener, SocketAddr, Arc<Shared>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            tls,
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
    /// On a TLS link the connection presents the pulling node's certificate, as the requests'
    /// sender did.
    pub async fn replay(&self, k: usize) -> usize {
        let requests: Vec<Message> = lock(&self.shared.requests).iter().rev().take(k).cloned().collect();
        let mut sent = 0;
        let pulling = self.shared.tls.as_ref().map(|m| m.pulling_key);
        let Ok(mut upstream) = connect_upstream(&self.shared, pulling).await else { return 0 };
        for req in requests.iter().flat_map(|r| [r, r]) {
            let (r, mut w) = tokio::io::split(&mut upstream);
            let mut reader = Reader::new(r);
            if w.write_all(&req.raw).await.is_err() {
                break;
            }
            let answered = tokio::time::timeout(Duration::from_secs(30), reader.next(Some(&req.method))).await;
            drop((reader, w));
            match answered {
                Ok(Ok(Some(resp))) if !resp.close && !req.close => {}
                _ => match connect_upstream(&self.shared, pulling).await {
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
fn reset(shared: &Shared, stream: impl Wire) {
    shared.stats.resets.fetch_add(1, Ordering::Relaxed);
    let _ = stream.tcp().set_zero_linger();
    drop(stream);
}

/// Why a relayed connection ended.
enum End {
    Closed,
    Dropped,
}

/// A new connection to the target: plain, or TLS presenting the pulling node's certificate when
/// `client_key` is its key and no certificate when `client_key` is `None` (a TLS link).
async fn connect_upstream(shared: &Shared, client_key: Option<[u8; 32]>) -> io::Result<Box<dyn Wire>> {
    secure_upstream(shared, TcpStream::connect(shared.target).await?, client_key).await
}

/// `tcp` to the target, with TLS over it on a TLS link (see [`connect_upstream`]).
async fn secure_upstream(shared: &Shared, tcp: TcpStream, client_key: Option<[u8; 32]>) -> io::Result<Box<dyn Wire>> {
    let _ = tcp.set_nodelay(true);
    let Some(mitm) = &shared.tls else { return Ok(Box::new(tcp)) };
    let connector = match client_key {
        None => &mitm.anonymous,
        Some(k) if k == mitm.pulling_key => &mitm.as_pulling,
        // Never reached: the caller refuses other keys first.
        Some(_) => return Err(io::Error::other("the proxy holds no certificate for this key")),
    };
    let name = ServerName::from(shared.target.ip());
    match tokio::time::timeout(HANDSHAKE, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(Box::new(tls)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

async fn connection(shared: Arc<Shared>, client: TcpStream) {
    let mut cut = shared.generation.subscribe();
    let _ = client.set_nodelay(true);
    let Ok(tcp) = TcpStream::connect(shared.target).await else {
        // The served node is down: the puller sees a reset (before any handshake), as from a
        // closed port.
        reset(&shared, client);
        return;
    };
    let (mut client, mut upstream): (Box<dyn Wire>, Box<dyn Wire>) = match &shared.tls {
        None => (Box::new(client), Box::new(tcp)),
        Some(mitm) => {
            let client = match tokio::time::timeout(HANDSHAKE, mitm.acceptor.accept(client)).await {
                Ok(Ok(tls)) => tls,
                _ => {
                    shared.stats.refused_tls.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let presented =
                client.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(tandem_tls::spki::ed25519_key);
            if presented.is_some_and(|k| k != mitm.pulling_key) {
                // Forwarding it as the pulling node would lend it an identity it did not prove.
                shared.stats.refused_tls.fetch_add(1, Ordering::Relaxed);
                reset(&shared, client);
                return;
            }
            match secure_upstream(&shared, tcp, presented).await {
                Ok(upstream) => (Box::new(client), upstream),
                Err(_) => {
                    reset(&shared, client);
                    return;
                }
            }
        }
    };
    let end = tokio::select! {
        end = relay(&shared, &mut client, &mut upstream) => end,
        _ = cut.changed() => Ok(End::Dropped),
    };
    match end {
        // An orderly close (TLS: close_notify, so the client sees a clean end of stream).
        Ok(End::Closed) => {
            let _ = client.shutdown().await;
            let _ = upstream.shutdown().await;
        }
        Ok(End::Dropped) | Err(_) => {
            let _ = upstream.tcp().set_zero_linger();
            reset(&shared, client);
        }
    }
}

async fn relay(shared: &Shared, client: &mut Box<dyn Wire>, upstream: &mut Box<dyn Wire>) -> io::Result<End> {
    let (cr, mut cw) = tokio::io::split(client);
    let (ur, mut uw) = tokio::io::split(upstream);
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

    /// Answers every request head read from `s` with `200` and `body` (keep-alive), calling
    /// `on_request` for each, until the connection ends.
    pub(super) async fn answer_each(
        mut s: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
        body: String,
        on_request: impl Fn(),
    ) {
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
                on_request();
                let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }

    /// A server answering every request on a connection with `body` (keep-alive).
    async fn server(body: &'static str) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(answer_each(s, body.to_string(), || {}));
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

#[cfg(test)]
mod tls_tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use ed25519_dalek::SigningKey;
    use rustls::pki_types::ServerName;
    use tandem_tls::Identity;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::LinkProxy;

    fn identity(dir: &std::path::Path, seed: u8) -> Identity {
        let made = tandem_tls::cert::generate(&SigningKey::from_bytes(&[seed; 32]), &["127.0.0.1".into()]).unwrap();
        let (cert, key) = (dir.join(format!("{seed}.crt")), dir.join(format!("{seed}.key")));
        std::fs::write(&cert, made.cert_pem).unwrap();
        std::fs::write(&key, made.key_pem).unwrap();
        Identity::load(&cert, &key).unwrap()
    }

    /// A TLS server as a node serves (its certificate, client certificates optional) that
    /// answers each request with the first byte of the client certificate's key, or `none`;
    /// counts the requests it read.
    async fn node(served: &Identity, requests: Arc<AtomicU64>) -> SocketAddr {
        let acceptor = TlsAcceptor::from(Arc::new(tandem_tls::server_config(served, None).unwrap()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, requests) = (acceptor.clone(), Arc::clone(&requests));
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let who = match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                        Some(c) => format!("key {}", tandem_tls::spki::ed25519_key(c).unwrap()[0]),
                        None => "none".to_string(),
                    };
                    let body = format!("{who} {}", "x".repeat(200));
                    super::tests::answer_each(tls, body, move || {
                        requests.fetch_add(1, Ordering::Relaxed);
                    })
                    .await;
                });
            }
        });
        addr
    }

    /// `GET` through the proxy over TLS, presenting `client` (if any) and accepting only the
    /// `expected` server key: the whole response, or the error.
    async fn get(proxy: SocketAddr, client: Option<&Identity>, expected: [u8; 32]) -> std::io::Result<String> {
        let config = tandem_tls::client_config(client, tandem_tls::verify::accept_keys(vec![expected])).unwrap();
        let tcp = TcpStream::connect(proxy).await?;
        let mut tls = TlsConnector::from(Arc::new(config)).connect(ServerName::from(proxy.ip()), tcp).await?;
        tls.write_all(b"GET /x/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await?;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await??;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[tokio::test]
    async fn a_tls_link_relays_as_the_pulling_node_and_lends_no_other_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (served, pulling, other) = (identity(dir.path(), 1), identity(dir.path(), 2), identity(dir.path(), 3));
        let requests = Arc::new(AtomicU64::new(0));
        let target = node(&served, Arc::clone(&requests)).await;
        let proxy = LinkProxy::start_tls(target, &served, &pulling).await.unwrap();

        // The pulling node's connection: the proxy serves the served node's key (the client
        // accepts nothing else) and the node sees the pulling node's client key.
        let whole = get(proxy.addr(), Some(&pulling), served.public_key).await.unwrap();
        assert!(whole.contains(&format!("key {}", pulling.public_key[0])), "{whole}");
        // No client certificate in, none out.
        let anonymous = get(proxy.addr(), None, served.public_key).await.unwrap();
        assert!(anonymous.contains("none"), "{anonymous}");
        assert_eq!(requests.load(Ordering::Relaxed), 2);

        // Another member's certificate is reset before any request reaches the node.
        let refused = get(proxy.addr(), Some(&other), served.public_key).await;
        assert!(refused.as_ref().map_or(true, |r| !r.contains("200 OK")), "{refused:?}");
        assert_eq!(proxy.stats().refused_tls.load(Ordering::Relaxed), 1);
        assert_eq!(requests.load(Ordering::Relaxed), 2, "the refused connection's request reached the node");

        // Faults act on the decrypted messages: a response cut mid-body, a stale one, replays.
        proxy.drop_after(30);
        let cut = get(proxy.addr(), Some(&pulling), served.public_key).await;
        assert!(cut.as_ref().map_or(true, |r| r.len() == 30), "{cut:?}");
        assert_eq!(proxy.stats().dropped_mid_transfer.load(Ordering::Relaxed), 1);
        proxy.heal();
        proxy.stale_responses(1);
        let stale = get(proxy.addr(), Some(&pulling), served.public_key).await.unwrap();
        assert!(stale.contains(&format!("key {}", pulling.public_key[0])), "{stale}");
        assert_eq!(proxy.stats().stale_served.load(Ordering::Relaxed), 1);
        let before = requests.load(Ordering::Relaxed);
        assert_eq!(proxy.replay(1).await, 2, "the last request, twice");
        assert_eq!(requests.load(Ordering::Relaxed), before + 2, "replays reach the node over TLS");
    }
}
