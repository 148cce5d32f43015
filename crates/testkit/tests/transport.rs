//! Transport security and connection bounds of a node's listener (issue 15): TAXII over https
//! with HSTS, mutual TLS between peers pinned to the roster keys, peer accounts refused without
//! their own node's certificate, and the header, body and per-address bounds against slow or
//! greedy clients. Every wait is "eventually" with a generous bound; the figures are printed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tandem_testkit::fixtures::{TAXII, fresh_id, green};
use tandem_testkit::sandbox::{PASSWORD, Sandbox, SandboxBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn taxii_over_https_carries_hsts() {
    let sb = SandboxBuilder::new().node("USA").build().await.unwrap();
    assert_eq!(sb.scheme(), "https");
    let r = sb.get("USA", "analyst", "/taxii2/").await.unwrap();
    assert_eq!(r.status(), 200);
    let hsts = r.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    // Plain HTTP on a TLS listener gets no answer.
    let plain = reqwest::Client::new().get(format!("http://{}/taxii2/", sb.addr("USA").unwrap())).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    sb.shutdown().await;
}

#[tokio::test]
async fn peers_pull_over_mutual_tls() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").link("USA", "IRQ").build().await.unwrap();
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let (id, version) = (a["id"].as_str().unwrap(), a["modified"].as_str().unwrap());
    assert!(sb.wait_for(WAIT, |sb| sb.holds("IRQ", id, version)).await, "IRQ never pulled over mTLS");
    let peers = sb.get("IRQ", "analyst", "/api/tandem/peers/").await.unwrap().text().await.unwrap();
    assert!(peers.contains("https://"), "IRQ's peer link is not https: {peers}");
    sb.shutdown().await;
}

/// `GET path` on `member`'s node as `user` with `client`: the status.
async fn status(sb: &Sandbox, client: &reqwest::Client, member: &str, user: &str, path: &str) -> u16 {
    let r = client
        .get(sb.url(member, path).unwrap())
        .basic_auth(user, Some(PASSWORD))
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn a_peer_account_needs_its_own_nodes_certificate() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").node("SYR").build().await.unwrap();
    let path = "/api/collections/intel/objects/";
    // IRQ's node, presenting its own certificate, is served.
    assert_eq!(status(&sb, &sb.client_as("IRQ").unwrap(), "USA", "sync-IRQ", path).await, 200);
    // IRQ's peer password with SYR's certificate (a compromised SYR, or a stolen password).
    assert_eq!(status(&sb, &sb.client_as("SYR").unwrap(), "USA", "sync-IRQ", path).await, 403);
    // IRQ's peer password with no certificate at all.
    assert_eq!(status(&sb, sb.http(), "USA", "sync-IRQ", path).await, 403);
    // Analysts log in with passwords alone.
    assert_eq!(status(&sb, sb.http(), "USA", "analyst", path).await, 200);
    // The refusals are audited as failed authentications.
    let path = tandem_audit::audit_path(&sb.data_dir("USA").unwrap());
    let audited = |reason: &str| {
        let records = tandem_audit::read(&path, 0, 100_000).unwrap_or_default();
        records.iter().any(|r| r.to_json().to_string().contains(reason))
    };
    assert!(
        sb.wait_for(WAIT, |_| audited("not this peer member's roster key")
            && audited("must present its node's client certificate"))
            .await,
        "the refusals are not in the audit log"
    );
    sb.shutdown().await;
}

/// A node presenting another member's certificate with a peer account's password is refused
/// before its request is processed: the refusals do not even spend the account's notification
/// burst (a processed notification takes a token; `tandem_sync::rate::NOTIFY_BURST` is 10), so
/// the real peer's next notification is still served at once, and a refused write stores
/// nothing.
#[tokio::test]
async fn another_members_certificate_is_refused_before_the_request_is_processed() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").node("SYR").link("USA", "IRQ").build().await.unwrap();
    let notify = sb.url("USA", "/api/tandem/notify/").unwrap();
    let syr = sb.client_as("SYR").unwrap();
    for _ in 0..3 * tandem_sync::rate::NOTIFY_BURST as usize {
        let r = syr.post(&notify).basic_auth("sync-IRQ", Some(PASSWORD)).send().await.unwrap();
        assert_eq!(r.status(), 403, "IRQ's peer account with SYR's certificate");
    }
    let r = sb.client_as("IRQ").unwrap().post(&notify).basic_auth("sync-IRQ", Some(PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 202, "the real IRQ node's notification after the refused ones");

    let forged = green(&fresh_id("indicator"));
    let r = syr
        .post(sb.url("USA", "/api/collections/intel/objects/").unwrap())
        .basic_auth("sync-IRQ", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(serde_json::json!({ "objects": [forged.clone()] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let id = forged["id"].as_str().unwrap();
    assert!(!sb.versions("USA").unwrap().iter().any(|(i, _)| i == id), "a refused write was stored");
    sb.shutdown().await;
}

/// A raw TCP connection to `to` from the loopback address `from`.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends `bytes` one a second until the server closes the connection (or every byte went);
/// returns how long the server kept it open.
async fn trickle(stream: &mut TcpStream, bytes: &[u8]) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    for b in bytes {
        if stream.write_all(&[*b]).await.is_err() {
            return start.elapsed();
        }
        // Whatever the server answers (an error status), it must then close.
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {
                let closed =
                    tokio::time::timeout(WAIT, async { while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {} })
                        .await
                        .is_ok();
                assert!(closed, "the server answered but kept the connection open");
                return start.elapsed();
            }
            Err(_) => {}
        }
    }
    panic!("the server read every slow byte for {:?} without closing", start.elapsed());
}

fn short_timeouts(c: &mut tandem_node::config::NodeConfig) {
    c.header_timeout_secs = 2;
    c.body_timeout_secs = 2;
}

#[tokio::test]
async fn a_header_sent_at_one_byte_a_second_is_cut() {
    // Plain and TLS: the same accept loop; over TLS the handshake itself is what trickles.
    for plain in [true, false] {
        let mut b = SandboxBuilder::new().node("USA").tune(short_timeouts);
        if plain {
            b = b.plain_http();
        }
        let sb = b.build().await.unwrap();
        let head = if plain {
            format!("GET /taxii2/ HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n", "a".repeat(200)).into_bytes()
        } else {
            // A TLS record header announcing a 512-byte handshake message, then its bytes.
            let mut record = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
            record.resize(5 + 512, 0);
            record
        };
        let mut stream = connect_from("127.0.0.1", sb.addr("USA").unwrap()).await;
        let open = trickle(&mut stream, &head).await;
        println!("slow header ({}): closed after {:.1} s (header_timeout_secs = 2)", sb.scheme(), open.as_secs_f64());
        // The node still serves others.
        assert_eq!(sb.get("USA", "analyst", "/taxii2/").await.unwrap().status(), 200);
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let sb = SandboxBuilder::new().node("USA").plain_http().tune(short_timeouts).build().await.unwrap();
    let mut stream = connect_from("127.0.0.1", sb.addr("USA").unwrap()).await;
    let mut buf = [0u8; 64];
    let start = Instant::now();
    let closed = tokio::time::timeout(WAIT, stream.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "a silent connection was never closed");
    println!("silent connection: closed after {:.1} s", start.elapsed().as_secs_f64());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_body_sent_at_one_byte_a_second_is_cut() {
    let sb = SandboxBuilder::new().node("USA").plain_http().tune(short_timeouts).build().await.unwrap();
    let auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("analyst:{PASSWORD}"));
    let head = format!(
        "POST /api/collections/intel/objects/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nAccept: {TAXII}\r\nContent-Type: {TAXII}\r\nContent-Length: 1000\r\n\r\n"
    );
    let mut stream = connect_from("127.0.0.1", sb.addr("USA").unwrap()).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let open = trickle(&mut stream, &[b' '; 1000]).await;
    println!("slow body: closed after {:.1} s (body_timeout_secs = 2, body_min_rate = 1024)", open.as_secs_f64());
    sb.shutdown().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let sb = SandboxBuilder::new()
        .node("USA")
        .plain_http()
        .tune(|c| c.max_connections_per_address = 4)
        .build()
        .await
        .unwrap();
    let addr = sb.addr("USA").unwrap();
    // 127.0.0.2 holds its four connections open (a slow client)...
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.2", addr).await;
        s.write_all(b"GET /taxii2/ HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // ...so its fifth is closed at once, unanswered,
    let mut fifth = connect_from("127.0.0.2", addr).await;
    let _ = fifth.write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 256];
    let refused = tokio::time::timeout(WAIT, fifth.read(&mut buf)).await;
    assert!(matches!(refused, Ok(Ok(0)) | Ok(Err(_))), "the fifth connection of one address was served");
    // while another address is served, and the first again once it lets go.
    let other =
        reqwest::Client::builder().local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let r = other.get(format!("http://{addr}/taxii2/")).basic_auth("analyst", Some(PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(held);
    let again =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let start = Instant::now();
    loop {
        let r = again.get(format!("http://{addr}/taxii2/")).basic_auth("analyst", Some(PASSWORD)).send().await;
        if r.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(start.elapsed() < WAIT, "the address was never served again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn a_node_accepts_a_peer_server_only_with_that_members_roster_key() {
    use tandem_sync::client::{PeerClient, PeerSpec, Timeouts};
    let sb = SandboxBuilder::new().node("USA").node("IRQ").node("SYR").build().await.unwrap();
    // IRQ's node's client, as its puller builds it: its certificate, the roster's keys.
    let tls = sb.peer_tls("IRQ").unwrap();
    let spec = |member: &str| PeerSpec {
        member: member.into(),
        url: sb.peer_url("USA").unwrap(),
        username: Some("sync-IRQ".into()),
        password: Some(PASSWORD.into()),
        token: None,
    };
    // USA's node reached as USA: its certificate carries USA's roster key.
    let usa = PeerClient::with_tls(spec("USA"), Timeouts::default(), &tls).unwrap();
    assert!(usa.api_root().await.is_ok());
    // The same server taken for SYR's (a redirected DNS name, a man in the middle): refused in
    // the handshake, before any credential is sent.
    let syr = PeerClient::with_tls(spec("SYR"), Timeouts::default(), &tls).unwrap();
    let err = format!("{:?}", syr.api_root().await.unwrap_err());
    assert!(err.contains("ApplicationVerificationFailure"), "{err}");
    sb.shutdown().await;
}
