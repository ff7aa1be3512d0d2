//! Accounts: credentials and TOTP state.

use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Result, on_db};

use super::{IdentityStore, unique_as_conflict};

/// A row of `users`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Account id (uuid).
    pub id: String,
    /// Normalized email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Platform administrator flag.
    pub platform_admin: bool,
    /// Confirmed TOTP secret (base32), when MFA is on.
    pub totp_secret: Option<String>,
    /// Secret of an enrolment not yet confirmed.
    pub totp_pending_secret: Option<String>,
    /// When MFA was turned on.
    pub totp_enabled_at_ms: Option<i64>,
    /// Time step of the last accepted code, against replays.
    pub totp_last_step: Option<i64>,
    /// Creation time.
    pub created_at_ms: i64,
}

const COLUMNS: &str = "id, email, password_hash, platform_admin, totp_secret, totp_pending_secret, \
                       totp_enabled_at_ms, totp_last_step, created_at_ms";

impl IdentityStore {
    /// Inserts a new account; `conflict` if the email is taken.
    pub async fn insert_user(&self, user: &UserRow, event: &EventRecord) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, platform_admin, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.platform_admin)
            .bind(user.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(unique_as_conflict(
                "an account with this email already exists; log in instead",
            ))?;
            tx.append_event(event).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account with this normalized email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
        Ok(on_db!(self.db(), pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(email)
            .fetch_optional(pool)
            .await)?)
    }

    /// The account with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        Ok(on_db!(self.db(), pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Whether any platform administrator exists.
    pub async fn has_platform_admin(&self) -> Result<bool> {
        let n: i64 = on_db!(self.db(), pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE platform_admin = TRUE",
        )
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }

    /// Stores the secret of a started (unconfirmed) TOTP enrolment.
    pub async fn set_pending_totp(
        &self,
        user_id: &str,
        secret: &str,
        event: &EventRecord,
    ) -> Result<()> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET totp_pending_secret = $1 WHERE id = $2")
                .bind(secret)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.append_event(event).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turns MFA on with the pending secret, if that secret is still the pending one.
    pub async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        now_ms: i64,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
                 totp_enabled_at_ms = $1, totp_last_step = $2 \
                 WHERE id = $3 AND totp_pending_secret = $4",
            )
            .bind(now_ms)
            .bind(step)
            .bind(user_id)
            .bind(secret)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                tx.append_event(event).await?;
                tx.commit().await?;
            }
            Ok(done == 1)
        })
    }

    /// Records the step of an accepted login code; false if a code of that step or later was
    /// already used (a concurrent replay).
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = on_db!(self.db(), pool => sqlx::query(
            "UPDATE users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }
}
