//! JWT access tokens: Ed25519 (EdDSA) signatures, a `kid` per key, rotation, and JWKS.
//!
//! Verification pins everything an attacker could choose: the algorithm (`EdDSA` only, so
//! `alg: none` and HS256-with-the-public-key are refused before any signature check), the key (by
//! `kid`, among our own live keys only), issuer, audience, expiry and issue time (against the
//! hub's [`Clock`], so tests can move time).
//!
//! On rotation the old key stops signing but keeps verifying, and stays in the JWKS, until every
//! token it signed has expired (`access_ttl` + leeway after retirement); nobody is logged out.
//!
//! Private keys are sealed in the database when the hub has a seal key (see [`crate::seal`]);
//! only the signing key is opened, when the ring is loaded.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nave_hub_core::clock::{add_ms, from_millis};
use nave_hub_core::events::EventRecord;
use nave_hub_core::ids::{new_id, parse_id};
use nave_hub_core::{Clock, Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::seal::{KeySealer, Stored};
use crate::store::{IdentityStore, KeyRow};
use crate::types::{AccessClaims, Jwk, Jwks};

/// Clock skew tolerated between the hub and verifiers.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// How long a verifier may use its copy of the key ring before reading the database again
/// (another replica may have rotated).
const RING_MAX_AGE: Duration = Duration::from_secs(60);

/// The JWT claims nave puts in access tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// Session (refresh family) id.
    pub sid: String,
    /// Platform administrator.
    #[serde(default)]
    pub adm: bool,
}

/// What to put in a new access token.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    /// The user.
    pub user_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// Platform administrator.
    pub platform_admin: bool,
}

struct VerifyKey {
    key: DecodingKey,
    retired_at_ms: Option<i64>,
    jwk: Jwk,
}

#[derive(Default)]
struct KeyRing {
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, VerifyKey>,
    /// Newest first, as the JWKS lists them.
    order: Vec<String>,
    loaded_at_ms: i64,
}

/// Issues and verifies access tokens with the hub's signing keys.
pub struct TokenService {
    store: IdentityStore,
    clock: Arc<dyn Clock>,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    /// Seals new private keys and opens the signing one.
    sealer: KeySealer,
    ring: RwLock<KeyRing>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::internal_msg("signing key ring lock poisoned")
}

fn new_key_row(now_ms: i64, sealer: &KeySealer) -> Result<KeyRow> {
    let signing = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| Error::internal_msg(format!("encode signing key: {e}")))?;
    let kid = new_id().simple().to_string();
    Ok(KeyRow {
        private_key_der: sealer.seal(&kid, der.as_bytes())?,
        kid,
        public_key: signing.verifying_key().to_bytes().to_vec(),
        created_at_ms: now_ms,
        retired_at_ms: None,
    })
}

fn jwk_of(row: &KeyRow) -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        x: URL_SAFE_NO_PAD.encode(&row.public_key),
        kid: row.kid.clone(),
        alg: "EdDSA".into(),
        use_: "sig".into(),
    }
}

fn rejected(kind: &ErrorKind) -> Error {
    let why = match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "access token uses an algorithm nave does not accept"
        }
        ErrorKind::InvalidSignature => "access token signature is invalid",
        ErrorKind::InvalidIssuer => "access token was issued by someone else",
        ErrorKind::InvalidAudience => "access token is meant for another audience",
        ErrorKind::MissingRequiredClaim(_) => "access token lacks a required claim",
        _ => "access token is malformed",
    };
    Error::unauthenticated(why)
}

impl TokenService {
    /// A service over the store's keys; creates the first key if there is none.
    ///
    /// Fails when the signing key is sealed and does not open with `sealer`'s key. With a seal
    /// key, keys stored plain (before sealing was configured) are sealed now.
    pub async fn start(
        store: IdentityStore,
        clock: Arc<dyn Clock>,
        issuer: String,
        audience: String,
        access_ttl: Duration,
        sealer: KeySealer,
    ) -> Result<Self> {
        if !sealer.is_sealing() {
            tracing::warn!(
                "identity hub: no signing_key_seal configured; private signing keys are stored \
                 unsealed in its database"
            );
        }
        let service = Self {
            store,
            clock,
            issuer,
            audience,
            access_ttl,
            sealer,
            ring: RwLock::new(KeyRing::default()),
        };
        // Load first, so a wrong seal key fails before anything is sealed with it.
        service.reload().await?;
        service.seal_plain_keys().await?;
        if service.ring.read().map_err(poisoned)?.signer.is_none() {
            let row = new_key_row(service.clock.now_ms(), &service.sealer)?;
            service.store.add_signing_key(&row, None).await?;
            service.reload().await?;
        }
        Ok(service)
    }

    /// Seals every private key still stored plain, when there is a seal key.
    async fn seal_plain_keys(&self) -> Result<()> {
        if !self.sealer.is_sealing() {
            return Ok(());
        }
        let mut sealed = 0;
        for (kid, stored) in self.store.all_private_keys().await? {
            if KeySealer::kind(&kid, &stored)? == Stored::Plain {
                let new = self.sealer.seal(&kid, &stored)?;
                if self.store.replace_private_key(&kid, &stored, &new).await? {
                    sealed += 1;
                }
            }
        }
        if sealed > 0 {
            tracing::info!(sealed, "identity hub: sealed signing keys stored unsealed");
        }
        Ok(())
    }

    /// Keys retired before this instant verify nothing any more.
    fn cutoff_ms(&self) -> i64 {
        self.clock.now_ms() - add_ms(0, self.access_ttl + LEEWAY)
    }

    async fn reload(&self) -> Result<()> {
        let rows = self.store.live_signing_keys(self.cutoff_ms()).await?;
        let mut ring = KeyRing {
            loaded_at_ms: self.clock.now_ms(),
            ..KeyRing::default()
        };
        for row in &rows {
            let jwk = jwk_of(row);
            if row.retired_at_ms.is_none() && ring.signer.is_none() {
                let der = self.sealer.open(&row.kid, &row.private_key_der)?;
                ring.signer = Some((row.kid.clone(), EncodingKey::from_ed_der(&der)));
            }
            let key = DecodingKey::from_ed_components(&jwk.x).map_err(Error::internal)?;
            ring.order.push(row.kid.clone());
            ring.verifiers.insert(
                row.kid.clone(),
                VerifyKey {
                    key,
                    retired_at_ms: row.retired_at_ms,
                    jwk,
                },
            );
        }
        *self.ring.write().map_err(poisoned)? = ring;
        Ok(())
    }

    async fn reload_if_stale(&self) -> Result<()> {
        let loaded = self.ring.read().map_err(poisoned)?.loaded_at_ms;
        if self.clock.now_ms() - loaded > add_ms(0, RING_MAX_AGE) {
            self.reload().await?;
        }
        Ok(())
    }

    /// Starts signing with a new key; the event records the rotation.
    pub async fn rotate(&self, event: &EventRecord) -> Result<Jwk> {
        let row = new_key_row(self.clock.now_ms(), &self.sealer)?;
        self.store.add_signing_key(&row, Some(event)).await?;
        self.reload().await?;
        Ok(jwk_of(&row))
    }

    /// The kid of the key that signs now.
    pub fn current_kid(&self) -> Result<String> {
        let ring = self.ring.read().map_err(poisoned)?;
        ring.signer
            .as_ref()
            .map(|(kid, _)| kid.clone())
            .ok_or_else(|| Error::internal_msg("no signing key"))
    }

    /// Signs an access token; returns it and its expiry (unix ms).
    pub async fn issue(&self, subject: Subject) -> Result<(String, i64)> {
        self.reload_if_stale().await?;
        let now_ms = self.clock.now_ms();
        let expires_ms = add_ms(now_ms, self.access_ttl);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.user_id.to_string(),
            iat: now_ms / 1000,
            exp: expires_ms / 1000,
            jti: new_id().to_string(),
            sid: subject.session_id.to_string(),
            adm: subject.platform_admin,
        };
        let ring = self.ring.read().map_err(poisoned)?;
        let (kid, key) = ring
            .signer
            .as_ref()
            .ok_or_else(|| Error::internal_msg("no signing key"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, key).map_err(Error::internal)?;
        Ok((token, (expires_ms / 1000) * 1000))
    }

    /// Checks a token's algorithm, key, signature, issuer, audience and times.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| rejected(e.kind()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(rejected(&ErrorKind::InvalidAlgorithm));
        }
        let kid = header
            .kid
            .ok_or_else(|| Error::unauthenticated("access token has no key id (kid)"))?;
        self.reload_if_stale().await?;
        if !self
            .ring
            .read()
            .map_err(poisoned)?
            .verifiers
            .contains_key(&kid)
        {
            // Maybe another replica rotated since we last looked.
            self.reload().await?;
        }
        let now_ms = self.clock.now_ms();
        let claims = {
            let ring = self.ring.read().map_err(poisoned)?;
            let key = ring.verifiers.get(&kid).ok_or_else(|| {
                Error::unauthenticated("access token was signed with an unknown or expired key")
            })?;
            if key.retired_at_ms.is_some_and(|r| r <= self.cutoff_ms()) {
                return Err(Error::unauthenticated(
                    "access token was signed with a retired key",
                ));
            }
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            // Times are checked below against the hub's clock rather than the system time.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
                .map_err(|e| rejected(e.kind()))?
                .claims
        };
        let leeway_s = LEEWAY.as_secs() as i64;
        if claims.exp.saturating_add(leeway_s).saturating_mul(1000) <= now_ms {
            return Err(Error::unauthenticated_because(
                "token_expired",
                "access token has expired; refresh it",
            ));
        }
        if claims.iat.saturating_sub(leeway_s).saturating_mul(1000) > now_ms {
            return Err(Error::unauthenticated(
                "access token is issued in the future",
            ));
        }
        let bad = |_| Error::unauthenticated("access token is malformed");
        Ok(AccessClaims {
            user_id: parse_id("sub", &claims.sub).map_err(bad)?,
            session_id: parse_id("sid", &claims.sid).map_err(bad)?,
            token_id: parse_id("jti", &claims.jti).map_err(bad)?,
            platform_admin: claims.adm,
            issued_at: from_millis(claims.iat.saturating_mul(1000)).map_err(bad)?,
            expires_at: from_millis(claims.exp.saturating_mul(1000)).map_err(bad)?,
            kid,
        })
    }

    /// The public keys of every live signing key, newest first.
    pub async fn jwks(&self) -> Result<Jwks> {
        self.reload().await?;
        let cutoff = self.cutoff_ms();
        let ring = self.ring.read().map_err(poisoned)?;
        let keys = ring
            .order
            .iter()
            .filter_map(|kid| ring.verifiers.get(kid))
            .filter(|k| k.retired_at_ms.is_none_or(|r| r > cutoff))
            .map(|k| k.jwk.clone())
            .collect();
        Ok(Jwks { keys })
    }
}
