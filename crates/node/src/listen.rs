//! The node's accept loop, plain or TLS, with bounds on what one client can hold open.
//!
//! Why not `axum::serve`: it cannot hand the TLS client certificate to handlers, and it has no
//! header or body read timeouts nor connection limits, so a client sending a header at one
//! byte a second held a connection for ever and a few hundred such connections locked every
//! other user out. Here each accepted connection:
//! - is refused at once when its address already holds `per_address` connections, or the node
//!   `total` (other addresses are still served);
//! - must finish the TLS handshake and then each request's headers within `header_timeout`
//!   (hyper's header read timeout, which also closes idle keep-alive connections);
//! - must send a request body at `body_min_rate` bytes a second on average after a grace of
//!   `body_grace` ([`RateBody`]), else the body read fails and the connection is closed;
//! - gets [`Transport`] (TLS or not, the client certificate's key) and the peer address
//!   (`ConnectInfo`, for per-address login throttling) in every request's extensions, and
//!   HSTS on every response served over TLS.
//!
//! Graceful shutdown: on the shutdown signal the loop stops accepting, every connection
//! finishes its request in flight, and the loop waits for them (at most [`DRAIN`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Request, header};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tandem_taxii::transport::Transport;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};

/// How long shutdown waits for open connections to finish (a live stream never does).
const DRAIN: Duration = Duration::from_secs(10);
/// HSTS: a year, as browsers' preload lists ask.
const HSTS: &str = "max-age=31536000";

/// What one client may hold open, and how slowly it may send.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub header_timeout: Duration,
    pub body_grace: Duration,
    pub body_min_rate: u64,
    pub per_address: usize,
    pub total: usize,
}

impl Bounds {
    pub fn of(config: &crate::config::NodeConfig) -> Bounds {
        Bounds {
            header_timeout: Duration::from_secs(config.header_timeout_secs),
            body_grace: Duration::from_secs(config.body_timeout_secs),
            body_min_rate: config.body_min_rate,
            per_address: config.max_connections_per_address,
            total: config.max_connections,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes (TLS when `tls` is given).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    bounds: Bounds,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Slots::new(bounds));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are dropped, `recv` ends.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = Slots::take(&slots, addr.ip()) else {
            tracing::debug!(%addr, "connection refused: too many open connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn { addr, app: app.clone(), bounds, stop: stop_rx.clone(), _slot: slot, _open: open_tx.clone() };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => conn.serve(stream, Transport::default()).await,
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(bounds.header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => return tracing::debug!(addr = %conn.addr, error = %e, "tls handshake failed"),
                        Err(_) => return tracing::debug!(addr = %conn.addr, "tls handshake timed out"),
                    };
                    let client_key = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(tandem_tls::spki::ed25519_key);
                    conn.serve(tls, Transport { tls: true, client_key }).await
                }
            }
        });
    }
    drop(open_tx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(DRAIN, open_rx.recv()).await.is_err() {
        tracing::info!("connections still open after the drain: closing them");
    }
    Ok(())
}

/// One accepted connection and what it holds until it closes.
struct Conn {
    addr: SocketAddr,
    app: Router,
    bounds: Bounds,
    stop: watch::Receiver<bool>,
    _slot: Slot,
    _open: mpsc::Sender<()>,
}

impl Conn {
    async fn serve<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(mut self, io: I, transport: Transport) {
        let Conn { addr, app, bounds, .. } = self;
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(|body| axum::body::Body::new(RateBody::new(body, bounds)));
            req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
            req.extensions_mut().insert(transport);
            let mut app = app.clone();
            async move {
                let mut resp = match tower::Service::call(&mut app, req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                if transport.tls {
                    resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
                }
                Ok::<_, Infallible>(resp)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(bounds.header_timeout);
        let conn = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%addr, error = %e, "connection ended");
                }
            }
            _ = async { let _ = self.stop.wait_for(|s| *s).await; } => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }
}

/// Open connections per client address and in all.
struct Slots {
    bounds: Bounds,
    open: Mutex<(HashMap<IpAddr, usize>, usize)>,
}

/// One open connection's place, given back when it closes.
struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    fn new(bounds: Bounds) -> Self {
        Slots { bounds, open: Mutex::new((HashMap::new(), 0)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<IpAddr, usize>, usize)> {
        match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn take(slots: &Arc<Slots>, ip: IpAddr) -> Option<Slot> {
        let mut open = slots.lock();
        let (per, total) = &mut *open;
        let n = per.entry(ip).or_insert(0);
        if *n >= slots.bounds.per_address || *total >= slots.bounds.total {
            if *n == 0 {
                per.remove(&ip);
            }
            return None;
        }
        *n += 1;
        *total += 1;
        Some(Slot { slots: Arc::clone(slots), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        let (per, total) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
    }
}

/// A request body that must keep up a minimum rate: by `grace + received / min_rate` after
/// the request's head, the next bytes must have arrived, so a body trickling one byte at a
/// time is cut within about `grace`, while an honest upload at any useful speed never is.
struct RateBody {
    inner: Incoming,
    start: Instant,
    received: u64,
    bounds: Bounds,
    /// Armed at the first wait for data (a request whose body is never read costs nothing).
    deadline: Option<Pin<Box<Sleep>>>,
}

impl RateBody {
    fn new(inner: Incoming, bounds: Bounds) -> Self {
        RateBody { inner, start: Instant::now(), received: 0, bounds, deadline: None }
    }

    fn due(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / self.bounds.body_min_rate as f64);
        self.start + self.bounds.body_grace + earned
    }
}

impl Body for RateBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let due = this.due();
                    if let Some(d) = this.deadline.as_mut() {
                        d.as_mut().reset(due);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let due = this.due();
                let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err("request body too slow".into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
