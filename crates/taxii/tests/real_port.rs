//! The server on a real loopback port: raw HTTP/1.1, and, when `TANDEM_PYTHON` names a Python
//! with `taxii2-client` 2.3.0 and `stix2` installed, the real Python clients
//! (`tests/python/clients.py`).

mod common;

use std::time::Duration;

use common::*;
use tandem_taxii::TaxiiConfig;
/// One HTTP/1.1 exchange over a plain blocking socket (the request asks the server to close).
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let request = request.to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_a_real_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let f = fixture_with(TaxiiConfig { public_url: Some(format!("http://{addr}/")), ..config() });
    let app = f.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let resp = raw(
        addr,
        &format!(
            "GET /taxii2/ HTTP/1.1\r\nHost: {addr}\r\nAccept: application/taxii+json;version=2.1\r\n\
             Authorization: {}\r\nConnection: close\r\n\r\n",
            basic("alice")
        ),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("content-type: application/taxii+json;version=2.1"));
    assert!(resp.contains(&format!("\"api_roots\":[\"http://{addr}/api/\"]")), "{resp}");

    let resp =
        raw(addr, &format!("GET /api/ HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n")).await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(resp.contains("WWW-Authenticate") || resp.contains("www-authenticate"));

    if let Ok(python) = std::env::var("TANDEM_PYTHON") {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/clients.py");
        let base = format!("http://{addr}");
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(python).args([script, &base, "alice", PASSWORD, COLL]).output()
        })
        .await
        .unwrap()
        .expect("running the python clients");
        assert!(
            out.status.success(),
            "python clients failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
