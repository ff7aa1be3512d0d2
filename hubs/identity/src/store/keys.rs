//! Signing keys.

use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Result, on_db};

use super::IdentityStore;

/// A row of `signing_keys`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// Key id, sent as the token header's `kid`.
    pub kid: String,
    /// Ed25519 private key as stored: sealed (see `crate::seal`), or plain PKCS#8 DER in rows
    /// written without a seal key. The column keeps its old name; the first byte tells which.
    pub private_key_der: Vec<u8>,
    /// Ed25519 public key, 32 bytes.
    pub public_key: Vec<u8>,
    /// When it was created.
    pub created_at_ms: i64,
    /// When a newer key replaced it for signing.
    pub retired_at_ms: Option<i64>,
}

impl IdentityStore {
    /// Retires the current signing key(s) and stores `key` as the one that signs from now on.
    pub async fn add_signing_key(&self, key: &KeyRow, event: Option<&EventRecord>) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE signing_keys SET retired_at_ms = $1 WHERE retired_at_ms IS NULL")
                .bind(key.created_at_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO signing_keys (kid, private_key_der, public_key, created_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&key.kid)
            .bind(&key.private_key_der)
            .bind(&key.public_key)
            .bind(key.created_at_ms)
            .execute(&mut *tx)
            .await?;
            if let Some(event) = event {
                tx.append_event(event).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Keys that signed or may still verify: unretired ones and those retired after `cutoff_ms`,
    /// newest first.
    pub async fn live_signing_keys(&self, cutoff_ms: i64) -> Result<Vec<KeyRow>> {
        Ok(on_db!(self.db(), pool => sqlx::query_as::<_, KeyRow>(
            "SELECT kid, private_key_der, public_key, created_at_ms, retired_at_ms \
             FROM signing_keys WHERE retired_at_ms IS NULL OR retired_at_ms > $1 \
             ORDER BY created_at_ms DESC, kid DESC",
        )
        .bind(cutoff_ms)
        .fetch_all(pool)
        .await)?)
    }

    /// Every signing key's kid and stored private key, retired ones included.
    pub async fn all_private_keys(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, (String, Vec<u8>)>(
            "SELECT kid, private_key_der FROM signing_keys ORDER BY created_at_ms, kid",
        )
        .fetch_all(pool)
        .await)?,
        )
    }

    /// Replaces the stored private key of `kid` if it still holds `old` (another replica may
    /// have re-sealed it meanwhile); returns whether it did.
    pub async fn replace_private_key(&self, kid: &str, old: &[u8], new: &[u8]) -> Result<bool> {
        let done = on_db!(self.db(), pool => sqlx::query(
            "UPDATE signing_keys SET private_key_der = $1 WHERE kid = $2 AND private_key_der = $3",
        )
        .bind(new)
        .bind(kid)
        .bind(old)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done == 1)
    }
}
