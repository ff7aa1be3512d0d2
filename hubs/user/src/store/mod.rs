//! The user hub's tables, behind one [`UserStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). Each read-modify-write transaction starts with a write to the row
//! it changes (bumping its `revision`): that locks the row on PostgreSQL and takes SQLite's write
//! lock before anything is read, so concurrent changes queue instead of losing updates, and the
//! event recording a change commits with it.
//!
//! - this module: opening, profiles;
//! - `contacts`: contacts and their channel identities.

mod contacts;

pub use contacts::{ActivityRow, ContactRow, IdentityRow};

use nave_hub_core::db::{BeginWrite, HubMigrations};
use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Db, DbConfig, Result, on_db};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The user hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `profiles`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProfileRow {
    pub user_id: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    /// A JSON object.
    pub preferences: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const PROFILE_COLS: &str = "user_id, display_name, avatar_url, locale, time_zone, preferences, created_at_ms, updated_at_ms";

/// Typed access to the user hub's tables.
#[derive(Debug, Clone)]
pub struct UserStore {
    /// The hub's own database.
    db: Db,
    /// What runs for every message (the contact's counters), on SQLite.
    writer: Option<nave_hub_core::writer::SqliteWriter>,
}

impl UserStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        let db = Db::connect(config, MIGRATIONS).await?;
        let writer = nave_hub_core::writer::SqliteWriter::for_hub(config, "user")?;
        Ok(Self { db, writer })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The user's profile, created empty (at `now_ms`) if it does not exist yet.
    pub async fn profile(&self, user_id: &str, now_ms: i64) -> Result<ProfileRow> {
        let select = format!("SELECT {PROFILE_COLS} FROM profiles WHERE user_id = $1");
        on_db!(&self.db, pool => {
            if let Some(row) = sqlx::query_as::<_, ProfileRow>(&select)
                .bind(user_id)
                .fetch_optional(pool)
                .await?
            {
                return Ok(row);
            }
            sqlx::query(
                "INSERT INTO profiles (user_id, created_at_ms, updated_at_ms) VALUES ($1, $2, $2) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(now_ms)
            .execute(pool)
            .await?;
            Ok(sqlx::query_as::<_, ProfileRow>(&select)
                .bind(user_id)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Changes a profile (created first if missing) in one transaction: `change` edits the row
    /// and returns the event recording the edit, or `None` when nothing changed (then nothing is
    /// written). Returns the profile as it now is.
    pub async fn change_profile<F>(
        &self,
        user_id: &str,
        now_ms: i64,
        change: F,
    ) -> Result<ProfileRow>
    where
        F: FnOnce(&mut ProfileRow) -> Result<Option<EventRecord>> + Send,
    {
        let select = format!("SELECT {PROFILE_COLS} FROM profiles WHERE user_id = $1");
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO profiles (user_id, created_at_ms, updated_at_ms) VALUES ($1, $2, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET revision = profiles.revision + 1",
            )
            .bind(user_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            let mut row = sqlx::query_as::<_, ProfileRow>(&select)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            let Some(event) = change(&mut row)? else {
                // Nothing changed: the revision bump is rolled back with the transaction.
                return Ok(row);
            };
            row.updated_at_ms = now_ms;
            sqlx::query(
                "UPDATE profiles SET display_name = $1, avatar_url = $2, locale = $3, \
                 time_zone = $4, preferences = $5, updated_at_ms = $6 WHERE user_id = $7",
            )
            .bind(&row.display_name)
            .bind(&row.avatar_url)
            .bind(&row.locale)
            .bind(&row.time_zone)
            .bind(&row.preferences)
            .bind(row.updated_at_ms)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            tx.append_event(&event).await?;
            tx.commit().await?;
            Ok(row)
        })
    }
}
