//! The node's Ed25519 signing key, kept in `node.key` in the data directory.
//!
//! It exists so that everything a node vouches for (audit checkpoints today, federation
//! messages tomorrow) is signed by one key that peers and auditors know by its public form,
//! `ed25519:<base64>`. The file holds the 32-byte seed in standard base64 and a newline; it is
//! created on first use with mode 0600 and never rewritten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// The key file's name inside the data directory.
pub const NODE_KEY_FILE: &str = "node.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an Ed25519 seed (32 bytes, raw or base64)")]
    Malformed { path: PathBuf },
    #[error("public key {0:?}: expected ed25519:<base64 of 32 bytes>")]
    BadPublicKey(String),
}

/// The path of the node key in `data_dir`.
pub fn node_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(NODE_KEY_FILE)
}

/// Reads the node key; fails when it does not exist.
pub fn load_node_key(data_dir: &Path) -> Result<SigningKey, KeyError> {
    load_key_file(&node_key_path(data_dir))
}

/// Reads a key file in the node key's format (the roster authority's key uses it too).
pub fn load_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let bytes = fs::read(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
    warn_if_readable_by_others(path);
    parse_seed(&bytes).ok_or(KeyError::Malformed { path: path.to_path_buf() })
}

/// Creates a new key file (mode 0600) in the node key's format; an existing file is an error,
/// never overwritten.
pub fn create_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    write_new(path, &key).map_err(io)?;
    Ok(key)
}

/// Writes `key` to `path` only if no file is there, all at once: the key goes to a private
/// temporary file first, which is then hard-linked into place (a link never replaces an
/// existing file). A reader therefore sees no key file or a whole one, never a half-written
/// one, even while another process creates it.
fn write_new(path: &Path, key: &SigningKey) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        rand::random::<u64>()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        let text = format!("{}\n", STANDARD.encode(key.to_bytes()));
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    linked
}

/// Reads the node key, creating it (and the data directory) on first use.
pub fn load_or_create_node_key(data_dir: &Path) -> Result<SigningKey, KeyError> {
    let path = node_key_path(data_dir);
    if path.exists() {
        return load_node_key(data_dir);
    }
    let io = |source| KeyError::Io { path: path.clone(), source };
    fs::create_dir_all(data_dir).map_err(io)?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    match write_new(&path, &key) {
        Ok(()) => {
            tracing::info!(path = %path.display(), public_key = %public_key_string(&key.verifying_key()), "created the node key");
            Ok(key)
        }
        // Another process created it between our check and our open: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_node_key(data_dir),
        Err(e) => Err(io(e)),
    }
}

fn parse_seed(bytes: &[u8]) -> Option<SigningKey> {
    if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
        return Some(SigningKey::from_bytes(&seed));
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let seed: [u8; 32] = STANDARD.decode(text).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the node key is accessible to other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// `ed25519:<base64>`: how a public key appears in configs, rosters and reports.
pub fn public_key_string(key: &VerifyingKey) -> String {
    format!("ed25519:{}", STANDARD.encode(key.as_bytes()))
}

/// The inverse of [`public_key_string`].
pub fn parse_public_key(s: &str) -> Result<VerifyingKey, KeyError> {
    let bad = || KeyError::BadPublicKey(s.to_string());
    let b64 = s.trim().strip_prefix("ed25519:").ok_or_else(bad)?;
    let bytes: [u8; 32] = STANDARD.decode(b64).map_err(|_| bad())?.try_into().map_err(|_| bad())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = load_or_create_node_key(&data).unwrap();
        let b = load_or_create_node_key(&data).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(node_key_path(&data)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let s = public_key_string(&a.verifying_key());
        assert!(s.starts_with("ed25519:"));
        assert_eq!(parse_public_key(&s).unwrap(), a.verifying_key());
        assert!(parse_public_key("ed25519:AAAA").is_err());
        assert!(parse_public_key("rsa:abc").is_err());
    }

    #[test]
    fn creators_racing_readers_never_see_half_a_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
                let handles: Vec<_> =
                    (0..8).map(|_| s.spawn(|| load_or_create_node_key(&data).map(|k| k.to_bytes()))).collect();
                handles.into_iter().map(|h| h.join().unwrap().expect("a whole key, never a half-written one")).collect()
            });
            assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key for everyone");
            let leftovers = fs::read_dir(&data).unwrap().count();
            assert_eq!(leftovers, 1, "only the key file remains");
        }
    }

    #[test]
    fn raw_seed_accepted() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(node_key_path(dir.path()), [7u8; 32]).unwrap();
        let k = load_node_key(dir.path()).unwrap();
        assert_eq!(k.to_bytes(), [7u8; 32]);
        fs::write(node_key_path(dir.path()), b"garbage").unwrap();
        assert!(matches!(load_node_key(dir.path()), Err(KeyError::Malformed { .. })));
    }
}
