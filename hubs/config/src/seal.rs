//! Sealing of secret settings at rest (ChaCha20-Poly1305), as the identity hub seals its keys.
//!
//! A sealed value is one version byte ([`SEALED_V1`]), a 12-byte random nonce and the ciphertext
//! with its tag. The scope and key are the associated data, so a sealed value copied onto another
//! scope or setting does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use nave_hub_core::{Error, Result};

/// First byte of a value sealed with ChaCha20-Poly1305, 12-byte nonce, AAD = `scope|key`.
const SEALED_V1: u8 = 0x01;
const NONCE_LEN: usize = 12;

/// Seals and opens secret values; without a key it refuses to seal.
#[derive(Clone)]
pub struct Sealer {
    /// `None` when the operator configured no seal key.
    cipher: Option<ChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("sealing", &self.cipher.is_some())
            .finish()
    }
}

fn aad(scope: &str, key: &str) -> Vec<u8> {
    format!("{scope}|{key}").into_bytes()
}

impl Sealer {
    /// A sealer over `key`, or one that refuses to seal when `None`.
    pub fn new(key: Option<&[u8; 32]>) -> Self {
        Self {
            cipher: key.map(|k| ChaCha20Poly1305::new(Key::from_slice(k))),
        }
    }

    /// The sealed form of `clear`, the value of setting `key` at `scope` (a storage key).
    pub fn seal(&self, scope: &str, key: &str, clear: &str) -> Result<Vec<u8>> {
        let Some(cipher) = &self.cipher else {
            return Err(Error::failed_precondition(
                "no_seal_key",
                format!(
                    "`{key}` is a secret and this config hub has no seal key to store it with; \
                     configure the platform's master key and retry"
                ),
            ));
        };
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = aad(scope, key);
        let payload = Payload {
            msg: clear.as_bytes(),
            aad: &aad,
        };
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Error::internal_msg(format!("could not seal the secret `{key}`")))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The clear value of a sealed secret; an internal error naming the likely cause when it
    /// does not open (seal key changed or removed, or the row was altered or moved).
    pub fn open(&self, scope: &str, key: &str, sealed: &[u8]) -> Result<String> {
        let broken = || {
            Error::internal_msg(format!(
                "the sealed secret `{key}` at {scope} does not open with the configured seal \
                 key: the seal key changed or was removed since it was stored (or the row was \
                 altered); configure the master key it was sealed with"
            ))
        };
        let Some(cipher) = &self.cipher else {
            return Err(broken());
        };
        if sealed.first() != Some(&SEALED_V1) || sealed.len() < 1 + NONCE_LEN {
            return Err(broken());
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let aad = aad(scope, key);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let clear = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| broken())?;
        String::from_utf8(clear).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_at_their_own_scope_and_key_only() {
        let a = Sealer::new(Some(&[7; 32]));
        let sealed = a.seal("global", "k", "hunter2").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_ne!(a.seal("global", "k", "hunter2").unwrap(), sealed);
        assert_eq!(a.open("global", "k", &sealed).unwrap(), "hunter2");
        assert!(a.open("tenant:x", "k", &sealed).is_err());
        assert!(a.open("global", "j", &sealed).is_err());
        assert!(
            Sealer::new(Some(&[8; 32]))
                .open("global", "k", &sealed)
                .is_err()
        );
        assert!(Sealer::new(None).open("global", "k", &sealed).is_err());
    }

    #[test]
    fn without_a_key_nothing_is_sealed() {
        let err = Sealer::new(None).seal("global", "k", "v").unwrap_err();
        assert_eq!(err.reasons()[0].code, "no_seal_key");
    }
}
