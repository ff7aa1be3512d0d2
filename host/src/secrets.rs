//! Sealing of secret settings at rest (ChaCha20-Poly1305 with a key from the operator).
//!
//! A sealed value reads `sealed:v1:<base64 of nonce and ciphertext>`. The key comes from the
//! operator config; when none is configured the host generates one into its data folder, so a
//! copy of the database alone does not reveal secrets.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const PREFIX: &str = "sealed:v1:";

/// Seals and opens secret values with the operator's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// The master key, kept to derive the keys of other sealed stores from it.
    key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            key: *key,
        }
    }

    /// A key for another sealed store (e.g. the identity hub's signing keys), derived from the
    /// master key and `purpose`, so no two stores share a key.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(b"nave key derivation v1\0");
        hash.update(purpose.as_bytes());
        hash.update([0]);
        hash.update(self.key);
        hash.finalize().into()
    }

    /// The configured key (base64), or the one in `data_dir/secret.key`, created when missing.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<SecretBox> {
        let encoded = match configured {
            Some(value) => value.trim().to_owned(),
            None => {
                let path = data_dir.join("secret.key");
                crate::app::read_or_create_private_file(&path, || {
                    let mut key = [0u8; 32];
                    rand::rng().fill_bytes(&mut key);
                    B64.encode(key)
                })?
            }
        };
        let bytes = B64
            .decode(encoded.as_bytes())
            .context("the secret key must be base64 (e.g. `openssl rand -base64 32`)")?;
        let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!(
                "the secret key must be 32 bytes, base64-encoded; it is {} bytes",
                bytes.len()
            );
        };
        Ok(SecretBox::new(&key))
    }

    /// Seals `plain` with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value sealed by [`SecretBox::seal`] with the same key.
    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let Some(encoded) = sealed.strip_prefix(PREFIX) else {
            bail!("not a sealed value");
        };
        let bytes = B64.decode(encoded).context("sealed value is not base64")?;
        if bytes.len() < 12 {
            bail!("sealed value is truncated");
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                anyhow::anyhow!(
                    "sealed value does not open with this key (was the secret key changed?)"
                )
            })?;
        String::from_utf8(plain).context("sealed value is not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let a = SecretBox::new(&[7; 32]);
        let b = SecretBox::new(&[8; 32]);
        let sealed = a.seal("page-token-123");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("page-token-123"));
        assert_eq!(a.open(&sealed).unwrap(), "page-token-123");
        assert!(b.open(&sealed).is_err());
        assert_ne!(a.seal("x"), a.seal("x"), "each seal uses a fresh nonce");
    }

    #[test]
    fn a_generated_key_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = SecretBox::load(None, dir.path()).unwrap().seal("s");
        let again = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "s");
    }

    #[test]
    fn a_short_key_is_refused_with_its_length() {
        let err =
            SecretBox::load(Some(&B64.encode([1u8; 16])), Path::new("/nonexistent")).unwrap_err();
        assert!(err.to_string().contains("16 bytes"), "{err}");
    }
}
