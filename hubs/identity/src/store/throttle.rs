//! Login failure counters.

use nave_hub_core::{Result, on_db};

use super::IdentityStore;

impl IdentityStore {
    /// Until when `key` is locked, if it is.
    pub async fn locked_until(&self, key: &str) -> Result<Option<i64>> {
        let row: Option<Option<i64>> = on_db!(self.db(), pool => sqlx::query_scalar(
            "SELECT locked_until_ms FROM login_throttle WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        Ok(row.flatten())
    }

    /// Counts one failure for `key` (restarting the count if the last failure is older than
    /// `forget_before_ms`) and returns the new count.
    pub async fn count_failure(
        &self,
        key: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<i64> {
        // One atomic upsert, so concurrent failures are all counted on both backends.
        Ok(on_db!(self.db(), pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO login_throttle (throttle_key, failures, last_failure_ms) VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.last_failure_ms < $3 THEN 1 \
                               ELSE login_throttle.failures + 1 END, \
               last_failure_ms = $2 \
             RETURNING failures",
        )
        .bind(key)
        .bind(now_ms)
        .bind(forget_before_ms)
        .fetch_one(pool)
        .await)?)
    }

    /// Locks `key` until `until_ms`.
    pub async fn lock(&self, key: &str, until_ms: i64) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "UPDATE login_throttle SET locked_until_ms = $1 WHERE throttle_key = $2",
        )
        .bind(until_ms)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn clear_failures(&self, key: &str) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
