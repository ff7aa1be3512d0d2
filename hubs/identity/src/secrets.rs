//! Opaque secrets (refresh tokens, API keys): generated from the OS RNG, stored only as SHA-256.
//!
//! These secrets carry 256 bits of entropy, so a fast hash is enough: nobody can guess a preimage,
//! and lookups by hash stay cheap. Passwords, which are guessable, use argon2id instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix of refresh tokens, so leaked ones are recognizable by secret scanners.
pub const REFRESH_PREFIX: &str = "nave_rt_";
/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "nave_ak_";

/// Returns `prefix` followed by 32 random bytes in base64url.
pub fn generate(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret: hex SHA-256.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashed() {
        let a = generate(API_KEY_PREFIX);
        let b = generate(API_KEY_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(API_KEY_PREFIX));
        assert_eq!(a.len(), API_KEY_PREFIX.len() + 43);
        assert_eq!(digest(&a).len(), 64);
        assert_eq!(digest(&a), digest(&a));
    }
}
