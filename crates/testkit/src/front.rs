//! A round-robin HTTP front for several `tandem serve` processes of one node on a shared
//! database: the load balancer of the README's PostgreSQL section, in a test. Consecutive
//! requests go to the processes in turn, whatever connection they arrive on (a keep-alive
//! client cannot pin itself to one process): each request is sent to its process on a
//! connection of its own, and the whole response relayed back.
//!
//! As a load balancer with health checks would: a process that refuses the connection is skipped
//! (nothing was sent, so the request may go elsewhere). A request that was sent but got no whole
//! answer (its process died) is retried on the next process only when it is idempotent (GET,
//! HEAD, OPTIONS); any other request gets a 502 and is never sent twice. Responses are buffered
//! whole, so the front is not for the live stream. Runs on a thread and runtime of its own, so
//! blocking tests can use it; it stops when dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::http::{Message, Reader};

/// How long one process may take to accept a connection, and to answer a request whole.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// What the front did, per process in the order given to [`RoundRobin::start`].
#[derive(Debug, Default)]
struct Counts {
    answered: Vec<AtomicU64>,
    /// Connections the process refused (it was down): the request went to the next one.
    refused: Vec<AtomicU64>,
    /// Requests sent to a process that answered nothing whole.
    lost: AtomicU64,
    /// Lost requests sent again to the next process (idempotent ones only).
    retried: AtomicU64,
}

struct Shared {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    counts: Counts,
}

/// A running front; see the module doc.
pub struct RoundRobin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RoundRobin {
    /// A front on a fresh loopback port to `backends` (at least one).
    pub fn start(backends: Vec<SocketAddr>) -> io::Result<RoundRobin> {
        assert!(!backends.is_empty(), "a front needs a process behind it");
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counts = Counts {
            answered: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            refused: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            ..Counts::default()
        };
        let shared = Arc::new(Shared { backends, next: AtomicUsize::new(0), counts });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let s2 = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                let accept = async {
                    loop {
                        match listener.accept().await {
                            Ok((client, _)) => {
                                tokio::spawn(connection(Arc::clone(&s2), client));
                            }
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        Ok(RoundRobin { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests each process answered, in the order of the backends given.
    pub fn answered(&self) -> Vec<u64> {
        self.shared.counts.answered.iter().map(|n| n.load(Ordering::Relaxed)).collect()
    }

    /// Connections each process refused.
    pub fn refused(&self) -> Vec<u64> {
        self.shared.counts.refused.iter().map(|n| n.load(Ordering::Relaxed)).collect()
    }

    /// `(lost, retried)`: requests sent that got no whole answer, and those sent again.
    pub fn lost_and_retried(&self) -> (u64, u64) {
        let c = &self.shared.counts;
        (c.lost.load(Ordering::Relaxed), c.retried.load(Ordering::Relaxed))
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One client connection: its requests one after the other, each to the next process.
async fn connection(shared: Arc<Shared>, client: TcpStream) {
    let _ = client.set_nodelay(true);
    let (read, mut write) = client.into_split();
    let mut requests = Reader::new(read);
    while let Ok(Some(request)) = requests.next(None).await {
        let (raw, close) = match forward(&shared, &request).await {
            Ok(response) => (response.raw, response.close || request.close),
            Err(status) => (refusal(status), true),
        };
        if write.write_all(&raw).await.is_err() || close {
            return;
        }
    }
}

/// The response to `request` from the first process, in turn, that answers it whole.
async fn forward(shared: &Shared, request: &Message) -> Result<Message, u16> {
    let n = shared.backends.len();
    let first = shared.next.fetch_add(1, Ordering::Relaxed) % n;
    let idempotent = matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS");
    for i in 0..n {
        let at = (first + i) % n;
        let up = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(shared.backends[at])).await {
            Ok(Ok(up)) => up,
            _ => {
                shared.counts.refused[at].fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let _ = up.set_nodelay(true);
        let (read, mut write) = up.into_split();
        // A process may answer (413) and close before reading the whole body: read anyway.
        let _ = write.write_all(&request.raw).await;
        let mut responses = Reader::new(read);
        match tokio::time::timeout(ANSWER_TIMEOUT, responses.next(Some(&request.method))).await {
            Ok(Ok(Some(response))) => {
                shared.counts.answered[at].fetch_add(1, Ordering::Relaxed);
                return Ok(response);
            }
            _ => {
                shared.counts.lost.fetch_add(1, Ordering::Relaxed);
                if !idempotent {
                    // Sent, not answered: the process may have acted on it. Never send it twice.
                    return Err(502);
                }
                shared.counts.retried.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Err(503)
}

fn refusal(status: u16) -> Vec<u8> {
    let (reason, text) = match status {
        502 => ("Bad Gateway", "the process died with this request in flight; not retried"),
        _ => ("Service Unavailable", "no process is serving"),
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::RoundRobin;

    /// A process on loopback that answers every request with its `name` (closing after each),
    /// or, when `die` is set, reads a request and closes without answering.
    fn backend(name: &'static str, die: bool) -> std::net::SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                if !die {
                    let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}", name.len());
                    let _ = conn.write_all(answer.as_bytes());
                }
            }
        });
        addr
    }

    /// Sends `requests` on one keep-alive connection; the bodies (or status lines) answered.
    fn send(front: &RoundRobin, requests: &[&str]) -> Vec<String> {
        let mut conn = std::net::TcpStream::connect(front.addr()).expect("connect");
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
        let mut out = Vec::new();
        for r in requests {
            conn.write_all(r.as_bytes()).expect("write");
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // Every answer here is small and framed by a content-length: read until it is whole.
            loop {
                let n = conn.read(&mut buf).expect("read");
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .expect("content-length");
                    if body.len() >= len {
                        let status = head.lines().next().unwrap_or_default().to_string();
                        out.push(if status.contains(" 200 ") { body.to_string() } else { status });
                        break;
                    }
                }
                assert!(n > 0, "the front closed early");
            }
        }
        out
    }

    const GET: &str = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    const POST: &str = "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";

    #[test]
    fn requests_alternate_on_one_connection_and_a_dead_process_is_skipped() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
        let front = RoundRobin::start(vec![backend("a", false), backend("b", false), dead]).expect("front");
        assert_eq!(send(&front, &[GET, POST, GET, GET, GET, GET]), ["a", "b", "a", "a", "b", "a"]);
        assert_eq!(front.answered(), vec![4, 2, 0]);
        assert_eq!(front.refused(), vec![0, 0, 2], "the dead process's turns went to the next one");
    }

    #[test]
    fn a_lost_get_is_retried_and_a_lost_post_is_not() {
        let front = RoundRobin::start(vec![backend("dies", true), backend("b", false)]).expect("front");
        assert_eq!(send(&front, &[GET]), ["b"], "lost on the first, answered by the next");
        assert_eq!(send(&front, &[GET]), ["b"], "its own turn");
        assert_eq!(send(&front, &[POST])[0], "HTTP/1.1 502 Bad Gateway");
        assert_eq!(front.lost_and_retried(), (2, 1));
    }
}
