//! What the tests that drive the real `tandem` binary share: the binary, loopback ports, and a
//! child process that is killed when dropped; fixtures and configuration writers come from
//! `tandem-testkit`.
#![allow(dead_code, unused_imports)] // each test crate uses its own subset

use std::net::TcpListener;
use std::process::Child;

pub use tandem_testkit::config::NodeToml;
pub use tandem_testkit::fixtures::{AMBER, GREEN, TAXII, reported_indicator};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tandem")
}

/// How long an eventually-true condition may take: generous, since the machine may be loaded.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `cond` every 100 ms until it holds; fails the test naming `what` after [`WAIT`].
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    wait_until_within(what, WAIT, cond)
}

/// [`wait_until`] with a bound of its own.
pub fn wait_until_within(what: &str, within: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < within, "timed out waiting until {what} ({within:?})");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A `tandem` process, killed and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tandem serve --config <config>` (logs at `warn`, output discarded), not waiting.
pub fn spawn_serve(config: &std::path::Path) -> Child {
    std::process::Command::new(bin())
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve")
}

/// Waits, up to a minute, until something accepts connections on `port` of loopback.
pub fn wait_listening(port: u16) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// [`spawn_serve`], then waits until the node accepts connections on `port`.
pub fn serve_on(config: &std::path::Path, port: u16) -> Child {
    let mut child = spawn_serve(config);
    if wait_listening(port) {
        return child;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("node on port {port} did not start");
}

/// A node served by `tandem serve` from a temporary directory: its configuration file, port and
/// process. Stopping kills the process; starting again serves the same data. Dropped, it stops.
pub struct ServedNode {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl ServedNode {
    /// Writes the configuration `toml` builds for a free port; the node is not started yet.
    pub fn new(toml: impl FnOnce(u16) -> NodeToml) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = dir.path().join("node.toml");
        toml(port).write(&config).expect("write config");
        ServedNode { dir, config, port, child: None }
    }

    /// Starts the node and waits until it accepts connections.
    pub fn start(&mut self) {
        self.child = Some(serve_on(&self.config, self.port));
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `path` on the node, over plain HTTP on loopback.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The configuration file's path as text, for `--config`.
    pub fn config_arg(&self) -> &str {
        self.config.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for ServedNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A temporary directory holding `node.toml`: a USA node with user `usa` (password
/// `dev-only-password`) on a free port, for commands that open the store without serving.
pub fn usa_node_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("node.toml");
    NodeToml::new("USA", free_port())
        .member("USA")
        .user("usa", "USA", "dev-only-password")
        .write(&config)
        .expect("config");
    (dir, config)
}

/// Runs `tandem ARGS` (logs at `warn`) to completion.
pub fn tandem(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin()).args(args).env("RUST_LOG", "warn").output().expect("run tandem")
}

/// A finished command's stdout then stderr, for assertion messages.
pub fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// A path as the `&str` an argument list takes.
pub fn p(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// `tandem cert --config <config>`: the node's certificate from its node key.
pub fn make_cert(config: &std::path::Path) {
    let out = tandem(&["cert", "--config", p(config)]);
    assert!(out.status.success(), "tandem cert: {}", text(&out));
}

/// The `[node]` lines serving TLS with the certificate `tandem cert` writes into `./data`.
pub const TLS_LINES: &str = "tls_cert = \"./data/tls.crt\"\ntls_key = \"./data/tls.key\"\n";

/// A client for the test's own nodes over https. It accepts any node key: what a node's
/// certificate must carry is checked between the nodes themselves (peers pin roster keys),
/// which is what these tests exercise; the test's client only reads and writes.
pub fn client_builder() -> reqwest::blocking::ClientBuilder {
    let any = std::sync::Arc::new(|_: &[u8; 32]| true);
    let tls = tandem_tls::client_config(None, any).expect("tls client configuration");
    reqwest::blocking::Client::builder().use_preconfigured_tls(tls)
}

pub fn client() -> reqwest::blocking::Client {
    client_builder().build().expect("client")
}

/// `tandem watch add` as user `usa`: a zone over Deir ez-Zor governorate whose alerts go to
/// `webhook_url`, signed with the tests' webhook secret; panics if the command fails.
#[allow(dead_code)] // not every test binary that includes `common` adds a zone
pub fn add_webhook_zone(config: &str, webhook_url: &str) {
    let out = tandem(&[
        "watch",
        "add",
        "--config",
        config,
        "--user",
        "usa",
        "--name",
        "Deir ez-Zor",
        "--governorate",
        "SY-DY",
        "--webhook-url",
        webhook_url,
        "--webhook-secret",
        "webhook-secret-for-tests",
    ]);
    assert!(out.status.success(), "watch add: {}", text(&out));
}

/// The body of one HTTP/1.1 request read from `reader` (headers up to the blank line, then
/// `Content-Length` bytes), for the tests' small webhook receivers; `None` when the connection
/// ends first.
#[allow(dead_code)] // not every test binary that includes `common` runs a receiver
pub fn read_request_body(reader: &mut impl std::io::BufRead) -> Option<Vec<u8>> {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}
