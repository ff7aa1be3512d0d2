//! Sealing of the hub's private signing keys at rest (ChaCha20-Poly1305).
//!
//! A sealed key is stored as one version byte ([`SEALED_V1`]), a 12-byte random nonce and the
//! ciphertext with its tag. The key id is the associated data, so a sealed key copied onto
//! another row does not open. Rows written before sealing hold the plain PKCS#8 DER, which always
//! starts with a SEQUENCE tag (`0x30`); that prefix tells the two apart without a migration, and
//! the hub re-seals such rows when it opens with a seal key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use nave_hub_core::{Error, Result};

/// First byte of a key sealed with ChaCha20-Poly1305, 12-byte nonce, AAD = kid.
const SEALED_V1: u8 = 0x01;
/// First byte of a plain PKCS#8 DER document (an ASN.1 SEQUENCE).
const DER_SEQUENCE: u8 = 0x30;
const NONCE_LEN: usize = 12;

/// The 32-byte key that seals the identity hub's private signing keys in its database.
///
/// The host passes the same master key it seals spoke secrets with. Its `Debug` output never
/// shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// A seal key from its 32 raw bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<[u8; 32]> for SealKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// Seals and opens stored private keys; without a seal key it stores them plain.
#[derive(Clone)]
pub struct KeySealer {
    /// `None` when the operator configured no seal key.
    cipher: Option<ChaCha20Poly1305>,
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySealer")
            .field("sealing", &self.cipher.is_some())
            .finish()
    }
}

/// How a stored private key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Plain PKCS#8 DER, from before sealing or from a hub without a seal key.
    Plain,
    /// Sealed by [`KeySealer::seal`].
    Sealed,
}

impl KeySealer {
    /// A sealer over `key`, or one that stores keys plain when `key` is `None`.
    pub fn new(key: Option<&SealKey>) -> Self {
        Self {
            cipher: key.map(|k| ChaCha20Poly1305::new(Key::from_slice(&k.0))),
        }
    }

    /// Whether new keys are sealed.
    pub fn is_sealing(&self) -> bool {
        self.cipher.is_some()
    }

    /// How the stored bytes of the key `kid` are kept.
    pub fn kind(kid: &str, stored: &[u8]) -> Result<Stored> {
        match stored.first() {
            Some(&DER_SEQUENCE) => Ok(Stored::Plain),
            Some(&SEALED_V1) => Ok(Stored::Sealed),
            Some(other) => Err(Error::internal_msg(format!(
                "signing key {kid} is stored in an unknown format (first byte {other:#04x}); \
                 was it written by a newer nave?"
            ))),
            None => Err(Error::internal_msg(format!(
                "signing key {kid} has an empty private key"
            ))),
        }
    }

    /// The stored form of the private key `der` of `kid`: sealed with a fresh nonce, or plain
    /// when there is no seal key.
    pub fn seal(&self, kid: &str, der: &[u8]) -> Result<Vec<u8>> {
        let Some(cipher) = &self.cipher else {
            return Ok(der.to_vec());
        };
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload {
            msg: der,
            aad: kid.as_bytes(),
        };
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Error::internal_msg(format!("could not seal signing key {kid}")))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The PKCS#8 DER of `kid` from its stored form, sealed or plain.
    ///
    /// Fails with an internal error naming the likely cause when a sealed key does not open:
    /// the seal key was changed or removed since the key was sealed, or the row was tampered
    /// with or moved to another kid.
    pub fn open(&self, kid: &str, stored: &[u8]) -> Result<Vec<u8>> {
        if Self::kind(kid, stored)? == Stored::Plain {
            return Ok(stored.to_vec());
        }
        let Some(cipher) = &self.cipher else {
            return Err(Error::internal_msg(format!(
                "signing key {kid} is sealed, but the identity hub has no seal key now: the seal \
                 key changed or was removed; configure the master key the keys were sealed with"
            )));
        };
        let body = &stored[1..];
        if body.len() < NONCE_LEN {
            return Err(Error::internal_msg(format!(
                "sealed signing key {kid} is truncated"
            )));
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: kid.as_bytes(),
        };
        cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| {
                Error::internal_msg(format!(
                    "sealed signing key {kid} does not open with the configured seal key: the \
                     seal key changed since it was sealed (or the row was altered); configure \
                     the master key the keys were sealed with"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = &[0x30, 0x2e, 0x02, 0x01, 0x00, 0xaa, 0xbb];

    fn message(e: Error) -> String {
        std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string())
    }

    #[test]
    fn sealed_keys_open_with_the_same_key_and_kid_only() {
        let a = KeySealer::new(Some(&SealKey::new([7; 32])));
        let sealed = a.seal("kid1", DER).unwrap();
        assert_eq!(sealed[0], SEALED_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + DER.len() + 16);
        assert_ne!(
            a.seal("kid1", DER).unwrap(),
            sealed,
            "fresh nonce each time"
        );
        assert_eq!(a.open("kid1", &sealed).unwrap(), DER);

        let moved = message(a.open("kid2", &sealed).unwrap_err());
        assert!(moved.contains("seal key changed"), "{moved}");
        let other = KeySealer::new(Some(&SealKey::new([8; 32])));
        let wrong = message(other.open("kid1", &sealed).unwrap_err());
        assert!(wrong.contains("seal key changed"), "{wrong}");
        let missing = message(KeySealer::new(None).open("kid1", &sealed).unwrap_err());
        assert!(missing.contains("seal key changed"), "{missing}");
    }

    #[test]
    fn plain_keys_pass_through_and_odd_bytes_are_refused() {
        let plain = KeySealer::new(None);
        assert_eq!(plain.seal("k", DER).unwrap(), DER);
        let sealing = KeySealer::new(Some(&SealKey::new([7; 32])));
        assert_eq!(sealing.open("k", DER).unwrap(), DER);
        assert_eq!(KeySealer::kind("k", DER).unwrap(), Stored::Plain);
        assert!(KeySealer::kind("k", &[0x02, 0x00]).is_err());
        assert!(KeySealer::kind("k", &[]).is_err());
        assert!(sealing.open("k", &[SEALED_V1, 1, 2]).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", SealKey::new([7; 32])), "SealKey(..)");
    }
}
