//! The identity hub's tables, behind one [`IdentityStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). Writes that change state append their event in the same
//! transaction, and every transaction starts with a write, so SQLite takes its write lock up
//! front instead of failing to upgrade a read lock under contention.

mod api_keys;
mod keys;
mod sessions;
mod throttle;
mod users;

use nave_hub_core::db::HubMigrations;
use nave_hub_core::{Db, DbConfig, Error, Result};

pub use api_keys::ApiKeyRow;
pub use keys::KeyRow;
pub use sessions::{NewRefresh, Rotation};
pub use users::UserRow;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The identity hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// Typed access to the identity tables.
#[derive(Debug, Clone)]
pub struct IdentityStore {
    /// The hub's own database.
    db: Db,
}

impl IdentityStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        Ok(Self {
            db: Db::connect(config, MIGRATIONS).await?,
        })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// Maps a unique-constraint violation to a conflict with `message`; other errors stay internal.
fn unique_as_conflict(message: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(message),
        _ => Error::from(e),
    }
}
