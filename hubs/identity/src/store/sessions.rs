//! Sessions (refresh-token families) and their refresh tokens.

use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Result, on_db};

use super::IdentityStore;

/// A refresh token found by its hash, with its session's state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshLookup {
    /// Refresh token id.
    pub token_id: String,
    /// Its session (family).
    pub session_id: String,
    /// The session's user.
    pub user_id: String,
    /// When the token expires.
    pub expires_at_ms: i64,
    /// When it was exchanged, if it was.
    pub used_at_ms: Option<i64>,
    /// When the session was revoked, if it was.
    pub session_revoked_at_ms: Option<i64>,
}

/// A new refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefresh<'a> {
    /// Token id.
    pub id: &'a str,
    /// SHA-256 of the secret.
    pub hash: &'a str,
    /// Creation time.
    pub now_ms: i64,
    /// Expiry.
    pub expires_at_ms: i64,
}

/// Outcome of exchanging a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token is now used and the new one stored.
    Rotated,
    /// The old token had been used already, or its session revoked: nothing changed.
    AlreadyUsed,
}

const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at_ms, expires_at_ms) \
     VALUES ($1, $2, $3, $4, $5)";

impl IdentityStore {
    /// Opens a session with its first refresh token.
    pub async fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        refresh: &NewRefresh<'_>,
        event: &EventRecord,
    ) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO sessions (id, user_id, created_at_ms) VALUES ($1, $2, $3)")
                .bind(session_id)
                .bind(user_id)
                .bind(refresh.now_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_REFRESH)
                .bind(refresh.id)
                .bind(session_id)
                .bind(refresh.hash)
                .bind(refresh.now_ms)
                .bind(refresh.expires_at_ms)
                .execute(&mut *tx)
                .await?;
            tx.append_event(event).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Finds a refresh token by the hash of its secret.
    pub async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshLookup>> {
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, RefreshLookup>(
            "SELECT r.id AS token_id, r.session_id, s.user_id, r.expires_at_ms, r.used_at_ms, \
                    s.revoked_at_ms AS session_revoked_at_ms \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
             WHERE r.token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(pool)
        .await)?,
        )
    }

    /// Marks `old_id` used and stores its successor, atomically; only one of two concurrent
    /// exchanges of the same token can win.
    pub async fn rotate_refresh(
        &self,
        old_id: &str,
        session_id: &str,
        new: &NewRefresh<'_>,
        event: &EventRecord,
    ) -> Result<Rotation> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "UPDATE refresh_tokens SET used_at_ms = $1 \
                 WHERE id = $2 AND used_at_ms IS NULL AND EXISTS \
                   (SELECT 1 FROM sessions s WHERE s.id = $3 AND s.revoked_at_ms IS NULL)",
            )
            .bind(new.now_ms)
            .bind(old_id)
            .bind(session_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                return Ok(Rotation::AlreadyUsed);
            }
            sqlx::query(INSERT_REFRESH)
                .bind(new.id)
                .bind(session_id)
                .bind(new.hash)
                .bind(new.now_ms)
                .bind(new.expires_at_ms)
                .execute(&mut *tx)
                .await?;
            tx.append_event(event).await?;
            tx.commit().await?;
        });
        Ok(Rotation::Rotated)
    }

    /// The user of a session and when it was revoked, if it exists.
    pub async fn session(&self, session_id: &str) -> Result<Option<(String, Option<i64>)>> {
        Ok(
            on_db!(self.db(), pool => sqlx::query_as::<_, (String, Option<i64>)>(
            "SELECT user_id, revoked_at_ms FROM sessions WHERE id = $1",
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await)?,
        )
    }

    /// Revokes one session; false if it was already revoked.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        reason: &str,
        now_ms: i64,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE sessions SET revoked_at_ms = $1, revoke_reason = $2 \
                 WHERE id = $3 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .bind(reason)
            .bind(session_id)
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

    /// Revokes every live session of a user; returns how many.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        reason: &str,
        now_ms: i64,
        event: &EventRecord,
    ) -> Result<u64> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE sessions SET revoked_at_ms = $1, revoke_reason = $2 \
                 WHERE user_id = $3 AND revoked_at_ms IS NULL",
            )
            .bind(now_ms)
            .bind(reason)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(n)
        })
    }
}
