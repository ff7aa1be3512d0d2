//! The database handle every hub uses: SQLite (default) or PostgreSQL, migrated at start-up.
//!
//! # Why one handle over an enum of pools
//!
//! A hub's store is one struct over [`Db`], not a trait with a SQLite and a PostgreSQL
//! implementation. Each query is written once in SQL both backends accept (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, integer millisecond timestamps, text ids) and run through
//! [`on_db!`], which expands the same code once per pool type. So the two backends cannot drift
//! apart query by query; what does differ (column types, identity columns) lives in the
//! per-backend migrations. Queries are runtime-checked (`sqlx::query_as::<_, Row>`) because the
//! compile-time macros would need a live database of *each* backend, or checked-in offline data
//! for both, at every build.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationSource, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Error, Result};

/// Migrations below this version belong to `nave-hub-core` (the event log); hubs start here.
pub const FIRST_HUB_MIGRATION: i64 = 100;

static CORE_SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static CORE_POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Where a hub's database lives.
#[derive(Debug, Clone)]
pub enum DbConfig {
    /// A SQLite file, created if missing.
    Sqlite {
        /// Path of the database file (e.g. `<data>/identity.db`).
        path: PathBuf,
    },
    /// A PostgreSQL database (one per hub, e.g. `nave_identity`).
    Postgres {
        /// Parsed connection options (host, credentials, database); boxed because they are large.
        options: Box<PgConnectOptions>,
    },
}

impl DbConfig {
    /// The default: `<data_dir>/<hub>.db`.
    pub fn sqlite_in(data_dir: &Path, hub: &str) -> Self {
        DbConfig::Sqlite {
            path: data_dir.join(format!("{hub}.db")),
        }
    }

    /// A PostgreSQL URL such as `postgres://nave:secret@db/nave_identity`.
    pub fn postgres_url(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            Error::invalid("database_url", format!("not a usable PostgreSQL URL: {e}"))
        })?;
        Ok(DbConfig::Postgres {
            options: Box::new(options),
        })
    }
}

/// Which backend a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A hub's own migrations, one set per backend (each from `sqlx::migrate!`).
#[derive(Debug, Clone, Copy)]
pub struct HubMigrations {
    /// Migrations for SQLite, versions ≥ [`FIRST_HUB_MIGRATION`].
    pub sqlite: &'static Migrator,
    /// Migrations for PostgreSQL, versions ≥ [`FIRST_HUB_MIGRATION`].
    pub postgres: &'static Migrator,
}

/// A connection pool to one hub's database.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite pool.
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of a [`Db`]; the body is expanded once per
/// backend, so one SQL text serves both.
///
/// ```ignore
/// let n: i64 = on_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM hub_events")
///     .fetch_one(pool).await)?;
/// ```
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects and runs the event-log migrations plus the hub's own.
    pub async fn connect(config: &DbConfig, hub: HubMigrations) -> Result<Self> {
        match config {
            DbConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(Error::internal)?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit
                    // survives the process being killed; a power cut may lose the last ones
                    // (never corrupts). FULL costs ~2 ms a commit on these disks.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // Another process on the file (a backup, a CLI) makes us wait, not fail.
                    .busy_timeout(Duration::from_secs(10));
                // One connection: SQLite writes one transaction at a time anyway, and a second
                // writer would wait in SQLite's busy handler, which sleeps whole milliseconds;
                // sqlx's pool queues callers in order instead. A lone connection also keeps its
                // page cache, which another connection's commit would invalidate. Nothing holds
                // the connection across an await on another query of the same hub.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    // A ping before each use is a round trip to the connection's thread that
                    // finds nothing out: a file does not drop a connection.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                merged(&CORE_SQLITE, hub.sqlite).await?.run(&pool).await?;
                Ok(Db::Sqlite(pool))
            }
            DbConfig::Postgres { options } => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with((**options).clone())
                    .await
                    .map_err(|e| Error::Unavailable(format!("cannot reach PostgreSQL: {e}")))?;
                merged(&CORE_POSTGRES, hub.postgres)
                    .await?
                    .run(&pool)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection (waits for checked-out ones to come back).
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// Starts a transaction that will write.
///
/// On SQLite this is `BEGIN IMMEDIATE`, which takes the write lock at once, waiting for it
/// under the busy timeout. A plain (deferred) transaction that reads first takes the lock only at
/// its first write, and fails at once with "database is locked", without waiting, if another
/// connection committed since its read: and a hub's SQLite file has two connections when its
/// hot paths run on a [`crate::writer::SqliteWriter`]. On PostgreSQL it is a plain `BEGIN`.
pub trait BeginWrite {
    /// The backend.
    type Database: sqlx::Database;
    /// Starts the transaction.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Database>>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }
}

/// Migrations handed to sqlx as one list, so they share one `_sqlx_migrations` table.
#[derive(Debug)]
struct Merged(Vec<Migration>);

impl MigrationSource<'static> for Merged {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>,
                > + Send,
        >,
    > {
        Box::pin(async move { Ok(self.0) })
    }
}

async fn merged(core: &Migrator, hub: &Migrator) -> Result<Migrator> {
    if let Some(m) = hub.iter().find(|m| m.version < FIRST_HUB_MIGRATION) {
        return Err(Error::internal_msg(format!(
            "hub migration {} `{}` uses a version reserved for nave-hub-core (< {FIRST_HUB_MIGRATION})",
            m.version, m.description
        )));
    }
    let all = core.iter().chain(hub.iter()).cloned().collect();
    Ok(Migrator::new(Merged(all)).await?)
}
