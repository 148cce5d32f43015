//! Webhook delivery to an `https://` receiver whose certificate a private CA issued: delivered
//! when the node trusts that CA (`[node] outbound_ca_file`), refused without it, the refusal
//! recorded as a failed attempt and retried per the backoff, never delivered unverified.

mod common;

use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// A CA the test makes, and a receiver certificate for `127.0.0.1` and `localhost` it issued.
struct PrivateCa {
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

fn private_ca() -> PrivateCa {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Tandem test receivers CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let ca = ca_params.self_signed(&ca_key).expect("ca certificate");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("leaf params");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf certificate");
    PrivateCa { ca_pem: ca.pem(), leaf_der: leaf.der().to_vec(), leaf_key_der: leaf_key.serialize_der() }
}

/// An HTTPS receiver on loopback serving `ca`'s leaf: records the incident id of each delivery it
/// answered 200, and counts handshakes the client broke off (a refused certificate).
struct Receiver {
    port: u16,
    delivered: Arc<Mutex<Vec<String>>>,
    refused_handshakes: Arc<Mutex<usize>>,
}

fn https_receiver(ca: &PrivateCa) -> Receiver {
    let chain = vec![rustls::pki_types::CertificateDer::from(ca.leaf_der.clone())];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ca.leaf_key_der.clone().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("receiver tls config"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let port = listener.local_addr().expect("addr").port();
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let refused_handshakes = Arc::new(Mutex::new(0));
    let (record, refused) = (delivered.clone(), refused_handshakes.clone());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else { continue };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // Drive the handshake first, so a client that refuses our certificate is counted.
            while tls.conn.is_handshaking() {
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    *refused.lock().expect("refused") += 1;
                    break;
                }
            }
            if tls.conn.is_handshaking() {
                continue;
            }
            let mut reader = BufReader::new(tls);
            let Some(body) = read_request_body(&mut reader) else {
                continue;
            };
            let mut tls = reader.into_inner();
            if tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").is_ok() {
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                record.lock().expect("record").push(v["incident"].as_str().unwrap_or_default().to_string());
            }
        }
    });
    Receiver { port, delivered, refused_handshakes }
}

/// A USA node with a webhook zone on Deir ez-Zor pointing at `hook`; `trust` writes the CA file
/// and names it as `outbound_ca_file`.
fn node_with_hook(hook: &str, ca_pem: Option<&str>) -> ServedNode {
    let mut node = ServedNode::new(|port| {
        let mut toml = NodeToml::new("USA", port);
        if ca_pem.is_some() {
            toml = toml.node_key("outbound_ca_file = \"receivers-ca.pem\"");
        }
        toml.member("USA").user("usa", "USA", "dev-only")
    });
    if let Some(pem) = ca_pem {
        std::fs::write(node.dir.path().join("receivers-ca.pem"), pem).expect("write ca file");
    }
    add_webhook_zone(node.config_arg(), hook);
    node.start();
    node
}

fn post_incident(node: &ServedNode, n: u32) -> String {
    let id = format!("incident--5b0e7c1a-2f4d-4e6a-9c3b-{n:012}");
    let incident = tandem_testkit::fixtures::incident_in(&id, "clash", "SY-DY", 1);
    let r = reqwest::blocking::Client::new()
        .post(node.url("/api/collections/intel/objects/"))
        .basic_auth("usa", Some("dev-only"))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": [incident] }).to_string())
        .send()
        .expect("post incident");
    assert_eq!(r.status().as_u16(), 202);
    id
}

fn deliveries(node: &ServedNode) -> Vec<Value> {
    let out = tandem(&["watch", "deliveries", "--json", "--config", node.config_arg()]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("delivery json")).collect()
}

#[test]
fn a_receiver_under_a_configured_private_ca_is_delivered_to() {
    let ca = private_ca();
    let receiver = https_receiver(&ca);
    let node = node_with_hook(&format!("https://localhost:{}/hook", receiver.port), Some(&ca.ca_pem));
    let id = post_incident(&node, 1);
    wait_until("the delivery is recorded as delivered", || {
        deliveries(&node).first().is_some_and(|d| d["status"] == "delivered")
    });
    let d = deliveries(&node);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0]["attempts"].as_u64(), d[0]["last_status"].as_u64()), (Some(1), Some(200)), "{d:?}");
    assert_eq!(*receiver.delivered.lock().expect("delivered"), [id], "the receiver got the alert, once");
}

#[test]
fn without_the_ca_the_receiver_is_refused_recorded_and_retried_with_backoff() {
    let ca = private_ca();
    let receiver = https_receiver(&ca);
    let node = node_with_hook(&format!("https://127.0.0.1:{}/hook", receiver.port), None);
    post_incident(&node, 2);
    // Retry::default: the first attempt at once, the second 2 s after it (base 2 s, doubling).
    wait_until("two failed attempts are recorded", || {
        deliveries(&node).first().is_some_and(|d| d["attempts"].as_u64() >= Some(2))
    });
    let d = deliveries(&node);
    assert_eq!(d.len(), 1, "{d:?}");
    let entry = &d[0];
    assert_eq!(entry["status"], "pending", "still retried, not dead after two attempts: {entry}");
    let error = entry["last_error"].as_str().unwrap_or_default();
    assert!(entry["last_status"].is_null(), "no HTTP status: the request never left the handshake: {entry}");
    assert!(error.contains("UnknownIssuer"), "the refusal says why: {entry}");
    let log = entry["log"].as_array().cloned().unwrap_or_default();
    assert!(log.len() >= 2 && log.iter().all(|l| l["status"].is_null()), "one failed line per attempt: {entry}");
    // The second attempt waited for the backoff after the first.
    let at = |l: &Value| tandem_model::Timestamp::parse(l["at"].as_str().unwrap_or_default()).expect("log time");
    let gap = at(&log[1]).as_micros() - at(&log[0]).as_micros();
    assert!(gap >= 1_900_000, "the retry came {gap} µs after the first attempt, before the 2 s backoff: {entry}");
    let next_at = tandem_model::Timestamp::parse(entry["next_at"].as_str().unwrap_or_default()).expect("next_at");
    assert!(next_at.as_micros() > at(&log[log.len() - 1]).as_micros(), "the next retry is scheduled later: {entry}");
    assert!(receiver.delivered.lock().expect("delivered").is_empty(), "nothing was delivered unverified");
    assert!(*receiver.refused_handshakes.lock().expect("refused") >= 2, "each attempt broke off the handshake");
}
