//! Password rules and argon2id hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use nave_hub_core::{Error, FieldViolation, Result};

use crate::config::PasswordCost;

/// Shortest accepted password, in characters (NIST SP 800-63B asks for at least 8; we ask 12).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes; bounds the hashing work a request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the rules, returning every broken rule.
pub fn check_new_password(password: &str, email: &str) -> Vec<FieldViolation> {
    let mut problems = Vec::new();
    let violation = |message: String| FieldViolation {
        field: "password".into(),
        message,
    };
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        problems.push(violation(format!(
            "must be at least {MIN_PASSWORD_CHARS} characters long (it has {chars}); a few unrelated words make a good one"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        problems.push(violation(format!(
            "must be at most {MAX_PASSWORD_BYTES} bytes long"
        )));
    }
    if !email.is_empty() && password.trim().eq_ignore_ascii_case(email.trim()) {
        problems.push(violation("must not be your email address".into()));
    }
    problems
}

/// Hashes passwords with argon2id and verifies them against stored PHC strings.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    /// Hasher with the configured cost; verification uses the parameters stored in each hash.
    argon2: Argon2<'static>,
}

impl PasswordHashing {
    /// A hasher at the given cost.
    pub fn new(cost: PasswordCost) -> Result<Self> {
        let params = match cost {
            PasswordCost::Default => Params::default(),
            PasswordCost::InsecureFastForTests => {
                Params::new(Params::MIN_M_COST, 1, 1, None).map_err(Error::internal)?
            }
        };
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    /// Returns the PHC string (`$argon2id$v=19$...`) of `password` with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(Error::internal)?;
        Ok(self
            .argon2
            .hash_password(password.as_bytes(), &salt)
            .map_err(Error::internal)?
            .to_string())
    }

    /// Whether `password` matches the stored `hash`.
    pub fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
        Ok(self
            .argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    }

    /// Hashing runs on the blocking pool: it takes tens of milliseconds of CPU by design.
    pub async fn hash_blocking(&self, password: String) -> Result<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash(&password))
            .await
            .map_err(Error::internal)?
    }

    /// Verification on the blocking pool.
    pub async fn verify_blocking(&self, password: String, hash: String) -> Result<bool> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.verify(&password, &hash))
            .await
            .map_err(Error::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_explain_what_is_wrong() {
        let problems = check_new_password("short", "a@b.c");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("at least 12"));
        assert!(check_new_password("correct horse battery", "a@b.c").is_empty());
        assert_eq!(
            check_new_password("alice@example.com", "alice@example.com").len(),
            1
        );
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = PasswordHashing::new(PasswordCost::InsecureFastForTests).unwrap();
        let hash = h.hash("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("correct horse battery", &hash).unwrap());
        assert!(!h.verify("correct horse battery!", &hash).unwrap());
        assert_ne!(hash, h.hash("correct horse battery").unwrap(), "salted");
    }
}
