//! Credential guessing against a real `tandem serve`: a hundred concurrent clients sending wrong
//! passwords leave the node's memory bounded (Argon2 verifications run a few at a time), a name
//! guessed from one address is refused with 429 and `Retry-After` without running Argon2, and the
//! node keeps serving everyone else.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PASSWORD: &str = "hostile-auth-test";

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn get(port: u16, user: &str, password: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/taxii2/"))
        .basic_auth(user, Some(password))
        .header("Accept", TAXII)
        .timeout(Duration::from_secs(120))
        .send()
        .unwrap()
}

#[test]
fn guessing_is_bounded_in_memory_and_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("node.toml");
    let mut text = format!(
        "[node]\nmember = \"USA\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"./data\"\nmax_connections_per_address = 128\n\n[[members]]\ncode = \"USA\"\nname = \"USA\"\n"
    );
    for user in ["analyst", "other"] {
        text.push_str(&format!("\n[[users]]\nname = \"{user}\"\nmember = \"USA\"\npassword = \"{PASSWORD}\"\n"));
    }
    // The hundred guessing clients share one address here: the per-address connection limit
    // (64 by default, tested in tandem-testkit's transport tests) is raised so that what is
    // measured is the cost of the guesses themselves.
    std::fs::write(&config, text).unwrap();
    let child = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _node = Proc(child);
    let start = Instant::now();
    while !reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/taxii2/"))
        .send()
        .is_ok_and(|r| r.status() == 401)
    {
        assert!(start.elapsed() < Duration::from_secs(60), "the node never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(port, "analyst", PASSWORD).status(), 200);
    let before = rss_kib(pid);

    // A hundred clients, each guessing names of its own (so that every guess that is not
    // throttled costs a real Argon2 verification).
    let threads: Vec<_> = (0..100)
        .map(|t| {
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for n in 0..4 {
                    statuses.push(get(port, &format!("guess-{t}-{n}"), "wrong").status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut peak = 0;
    while threads.iter().any(|t| !t.is_finished()) {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
    let statuses: Vec<u16> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let grown_mib = peak.saturating_sub(before) / 1024;
    println!("resident memory: {} MiB before, peak {} MiB under 100 guessing clients", before / 1024, peak / 1024);
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    // Four verification threads of about 19 MiB each (measured: 73 MiB before, 155 MiB peak;
    // 4,258 MiB before the bound).
    assert!(grown_mib < 200, "guessing grew the node by {grown_mib} MiB");

    // One name guessed from one address: 429 with Retry-After after a few failures.
    std::thread::sleep(Duration::from_secs(6)); // the address's own short slow-down passes
    let mut refused = None;
    for _ in 0..10 {
        let r = get(port, "analyst", "wrong");
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let r = refused.expect("repeated failures were never throttled");
    assert!(r.headers().get("retry-after").is_some());
    // A credential already verified is served from the cache, throttled name or not, and
    // another user still logs in from the same address.
    assert_eq!(get(port, "analyst", PASSWORD).status(), 200, "a cached credential is never throttled");
    let start = Instant::now();
    loop {
        let s = get(port, "other", PASSWORD).status();
        if s == 200 {
            break;
        }
        assert_eq!(s, 429);
        assert!(start.elapsed() < Duration::from_secs(60), "another user stayed locked out");
        std::thread::sleep(Duration::from_millis(500));
    }
}
