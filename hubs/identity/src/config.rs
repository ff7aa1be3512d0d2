//! The identity hub's settings. The host reads its config file and flags and fills this in;
//! nothing in this crate reads the environment.

use std::time::Duration;

use crate::seal::SealKey;

/// Settings of the identity hub.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// `iss` of issued tokens, checked on verification (e.g. the platform's public URL).
    pub issuer: String,
    /// `aud` of issued access tokens, checked on verification.
    pub audience: String,
    /// Lifetime of access tokens; short, because they are checked without a database hit by JWKS users.
    pub access_ttl: Duration,
    /// Lifetime of each refresh token; every refresh issues a new one.
    pub refresh_ttl: Duration,
    /// Whether anyone may create an account (otherwise only the bootstrap admin exists at first).
    pub allow_signup: bool,
    /// When logins get locked after failures.
    pub throttle: ThrottlePolicy,
    /// Issuer name shown in authenticator apps.
    pub totp_issuer: String,
    /// Argon2id cost; keep the default outside tests.
    pub password_cost: PasswordCost,
    /// Key that seals the private signing keys in the hub's database (the host passes its
    /// master secret key). `None` stores them unsealed and warns at open; keep the same key
    /// across restarts, since keys sealed with another one do not open.
    pub signing_key_seal: Option<SealKey>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            issuer: "nave".into(),
            audience: "nave-api".into(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            allow_signup: true,
            throttle: ThrottlePolicy::default(),
            totp_issuer: "nave".into(),
            password_cost: PasswordCost::Default,
            signing_key_seal: None,
        }
    }
}

/// Lockout after repeated login failures, per account and per source address.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures on one account before it is locked.
    pub account_failures: u32,
    /// Failures from one source address (across accounts) before it is locked.
    pub source_failures: u32,
    /// First lock duration; doubles with every further failure.
    pub base_lock: Duration,
    /// Longest lock.
    pub max_lock: Duration,
    /// Failures older than this (since the last one) are forgotten.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            source_failures: 20,
            base_lock: Duration::from_secs(30),
            max_lock: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

/// How expensive password hashing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    /// OWASP's argon2id recommendation (19 MiB, 2 passes): for every real deployment.
    Default,
    /// The cheapest valid argon2id parameters; only for tests, where hashing time dominates.
    InsecureFastForTests,
}
