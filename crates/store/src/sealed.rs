//! Secrets sealed before they are stored: a webhook's signing secret, an external feed's
//! password or token. The store holds only `sealed:v1:<key id>:<nonce>:<ciphertext>`
//! (CHACHA20-POLY1305 with a random nonce per value, the value's context — what it is the
//! secret of — as associated data, so a sealed value cannot be moved to another field); the
//! key is a file in the node's data directory beside its signing key ([`FILE`], created 0600 on
//! first use), never in the store, so a copy of the database alone reveals no secret.
//!
//! A value without the `sealed:` prefix is one stored in clear by an older version: it is
//! accepted as it is by [`SealKey::open`] and re-sealed by the node at start (each owner of
//! such values migrates its own).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The key file's name in the data directory.
pub const FILE: &str = "secrets.key";
const PREFIX: &str = "sealed:v1:";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "the secrets key {} is missing (the node makes it on first use; restore it with the data directory's backup)",
        .0.display()
    )]
    Missing(PathBuf),
    #[error("the secrets key {} cannot be read or written: {}", .0.display(), .1)]
    Io(PathBuf, #[source] std::io::Error),
    #[error("the secrets key {} is not 64 hexadecimal digits", .0.display())]
    Malformed(PathBuf),
    #[error(
        "a secret was sealed with key {found}, but the secrets key {} is key {ours}: restore the key file it was sealed with",
        .path.display()
    )]
    WrongKey { path: PathBuf, found: String, ours: String },
    #[error(
        "a sealed secret does not open with the secrets key {} (damaged, or moved from another field)",
        .0.display()
    )]
    Damaged(PathBuf),
    #[error("no random numbers for a nonce")]
    Random,
}

/// The node's secrets key.
pub struct SealKey {
    key: LessSafeKey,
    id: String,
    path: PathBuf,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey").field("id", &self.id).field("path", &self.path).finish_non_exhaustive()
    }
}

impl SealKey {
    /// The key in `dir` ([`FILE`]), made (32 random bytes, mode 0600) if there is none yet,
    /// and `dir` with it, as the node key is: on PostgreSQL nothing else makes the data
    /// directory before a command such as `tandem feed add` seals a secret.
    pub fn load_or_create(dir: &Path) -> Result<SealKey, SealError> {
        let path = dir.join(FILE);
        match Self::load(dir) {
            Err(SealError::Missing(_)) => {}
            other => return other,
        }
        std::fs::create_dir_all(dir).map_err(|e| SealError::Io(path.clone(), e))?;
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SealError::Random)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        match open.open(&path) {
            Ok(mut f) => {
                f.write_all(format!("{hex}\n").as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| SealError::Io(path.clone(), e))?;
            }
            // Another process made it first: use that one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(SealError::Io(path, e)),
        }
        Self::load(dir)
    }

    /// The key in `dir`; an error naming the file when it is missing or malformed.
    pub fn load(dir: &Path) -> Result<SealKey, SealError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SealError::Missing(path)),
            Err(e) => return Err(SealError::Io(path, e)),
        };
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SealError::Malformed(path));
        }
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| SealError::Malformed(path.clone()))?;
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| SealError::Malformed(path.clone()))?;
        // The key id: the first 8 bytes of the key's SHA-256, to name the key a value needs.
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let id = digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(SealKey { key: LessSafeKey::new(key), id, path })
    }

    /// Where the key is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `secret` sealed for `context` (what it is the secret of, e.g. `webhook`).
    pub fn seal(&self, context: &str, secret: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| SealError::Damaged(self.path.clone()))?;
        Ok(format!("{PREFIX}{}:{}:{}", self.id, B64.encode(nonce), B64.encode(data)))
    }

    /// The secret in `stored` (sealed for `context`, or a clear value from before sealing).
    pub fn open(&self, context: &str, stored: &str) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_string()) };
        let damaged = || SealError::Damaged(self.path.clone());
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(nonce), Some(ct)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(damaged());
        };
        if id != self.id {
            return Err(SealError::WrongKey { path: self.path.clone(), found: id.to_string(), ours: self.id.clone() });
        }
        let nonce: [u8; NONCE_LEN] = B64.decode(nonce).ok().and_then(|n| n.try_into().ok()).ok_or_else(damaged)?;
        let mut data = B64.decode(ct).map_err(|_| damaged())?;
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| damaged())?;
        String::from_utf8(plain.to_vec()).map_err(|_| damaged())
    }
}

/// Whether `stored` is sealed (a value from before sealing is not, and is re-sealed at start).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time_and_the_context_bound() {
        let dir = tempfile::tempdir().unwrap();
        let key = SealKey::load_or_create(dir.path()).unwrap();
        let (a, b) = (
            key.seal("webhook", "s3cret-s3cret-s3cret").unwrap(),
            key.seal("webhook", "s3cret-s3cret-s3cret").unwrap(),
        );
        assert!(is_sealed(&a) && a != b, "a random nonce per value");
        assert!(!a.contains("s3cret"));
        assert_eq!(key.open("webhook", &a).unwrap(), "s3cret-s3cret-s3cret");
        assert!(matches!(key.open("feed-password", &a), Err(SealError::Damaged(_))), "bound to its context");
        assert_eq!(key.open("webhook", "clear-from-before").unwrap(), "clear-from-before");
        // The same file opens what it sealed after a restart.
        let again = SealKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open("webhook", &b).unwrap(), "s3cret-s3cret-s3cret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_data_directory_is_made_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node").join("data");
        let key = SealKey::load_or_create(&data).unwrap();
        assert_eq!(key.path(), data.join(FILE));
        let sealed = key.seal("ctx", "secret").unwrap();
        assert_eq!(SealKey::load(&data).unwrap().open("ctx", &sealed).unwrap(), "secret");
    }

    #[test]
    fn a_missing_malformed_or_other_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = SealKey::load(dir.path()).unwrap_err();
        assert!(matches!(err, SealError::Missing(_)) && err.to_string().contains(FILE), "{err}");
        let sealed = SealKey::load_or_create(dir.path()).unwrap().seal("webhook", "x").unwrap();
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        let other = SealKey::load_or_create(dir.path()).unwrap();
        let err = other.open("webhook", &sealed).unwrap_err();
        assert!(matches!(err, SealError::WrongKey { .. }) && err.to_string().contains(FILE), "{err}");
        let ours = other.seal("webhook", "x").unwrap();
        let flipped = if ours.ends_with('A') { 'B' } else { 'A' };
        let tampered = format!("{}{flipped}", &ours[..ours.len() - 1]);
        assert!(matches!(other.open("webhook", &tampered), Err(SealError::Damaged(_))), "tampering is detected");
        std::fs::write(dir.path().join(FILE), "not a key\n").unwrap();
        let err = SealKey::load(dir.path()).unwrap_err();
        assert!(matches!(err, SealError::Malformed(_)) && err.to_string().contains(FILE), "{err}");
    }
}
