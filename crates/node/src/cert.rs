//! A node's TLS certificate, made from its node key: the one code behind `tandem cert`, the
//! demo and the test sandbox, so what tests run is what operators make.
//!
//! The certificate carries the node key (`node.key`), whose public half is the member's
//! `public_key` in the roster: peers accept this node's certificate because of that key, never
//! because of a CA or a name. The names are for ordinary clients.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;

/// Where the certificate and key go: `node.tls_cert`/`node.tls_key` when set, else `tls.crt`
/// and `tls.key` in the data directory.
pub fn paths(config: &Config) -> (PathBuf, PathBuf) {
    let dir = &config.node.data_dir;
    (
        config.node.tls_cert.clone().unwrap_or_else(|| dir.join("tls.crt")),
        config.node.tls_key.clone().unwrap_or_else(|| dir.join("tls.key")),
    )
}

/// The names a certificate is made for by default: localhost, loopback, the listen address
/// when it names one, and the host of `public_url`.
pub fn default_hosts(config: &Config) -> Vec<String> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ip = config.node.listen.ip();
    if !ip.is_unspecified() {
        hosts.push(ip.to_string());
    }
    if let Some(u) = &config.node.public_url
        && let Some(host) = u.split("://").nth(1).and_then(|r| r.split(['/', ':']).next())
        && !host.is_empty()
    {
        hosts.push(host.to_string());
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Makes the node's certificate for `hosts` with its node key (created if needed) and writes
/// it and the key (PKCS#8 PEM, owner-only) to [`paths`], and the web certificate browsers are
/// served (ECDSA P-256, a new key) to [`Config::web_tls_paths`]. Returns the node's two paths.
pub fn write(config: &Config, hosts: &[String]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let key = crate::federation::node_key(config)?;
    let made = tandem_tls::cert::generate(&key, hosts)?;
    let (cert_path, key_path) = paths(config);
    for p in [&cert_path, &key_path] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    write_private(&key_path, made.key_pem.as_bytes())?;
    std::fs::write(&cert_path, made.cert_pem).with_context(|| format!("writing {}", cert_path.display()))?;
    // The browsers' certificate (they cannot verify Ed25519), beside it unless configured.
    let mut placed = config.clone();
    placed.node.tls_cert = Some(cert_path.clone());
    let (web_cert, web_key) = placed.web_tls_paths();
    let web = tandem_tls::cert::generate_web(hosts)?;
    for p in [&web_cert, &web_key] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    write_private(&web_key, web.key_pem.as_bytes())?;
    std::fs::write(&web_cert, web.cert_pem).with_context(|| format!("writing {}", web_cert.display()))?;
    Ok((cert_path, key_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    f.sync_all().with_context(|| format!("writing {}", path.display()))
}
