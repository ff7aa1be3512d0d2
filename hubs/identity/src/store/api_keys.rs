//! API keys.

use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Result, on_db};

use super::IdentityStore;

/// A row of `api_keys`, without the secret's hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// Key id.
    pub id: String,
    /// First characters of the secret.
    pub prefix: String,
    /// Name given at creation.
    pub name: String,
    /// Tenant it acts in.
    pub tenant_id: String,
    /// Role it acts with.
    pub role: String,
    /// Creator (event-log actor form).
    pub created_by: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// Revocation time.
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, prefix, name, tenant_id, role, created_by, created_at_ms, revoked_at_ms";

impl IdentityStore {
    /// Stores a new key by the hash of its secret.
    pub async fn insert_api_key(
        &self,
        key: &ApiKeyRow,
        hash: &str,
        event: &EventRecord,
    ) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO api_keys (id, key_hash, prefix, name, tenant_id, role, created_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&key.id)
            .bind(hash)
            .bind(&key.prefix)
            .bind(&key.name)
            .bind(&key.tenant_id)
            .bind(&key.role)
            .bind(&key.created_by)
            .bind(key.created_at_ms)
            .execute(&mut *tx)
            .await?;
            tx.append_event(event).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A tenant's keys, newest first.
    pub async fn api_keys_of_tenant(&self, tenant_id: &str) -> Result<Vec<ApiKeyRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at_ms DESC, id DESC"
        );
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(tenant_id)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// The key with this id.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The key whose secret hashes to `hash`.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1");
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(hash)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Revokes a key; false if it was already revoked.
    pub async fn revoke_api_key(&self, id: &str, now_ms: i64, event: &EventRecord) -> Result<bool> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                tx.append_event(event).await?;
                tx.commit().await?;
            }
            Ok(n == 1)
        })
    }
}
