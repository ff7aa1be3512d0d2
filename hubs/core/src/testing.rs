//! Test support for hub crates (feature `testing`): a fresh database per test on either backend.
//!
//! SQLite always runs, in a temporary folder. PostgreSQL runs when `NAVE_TEST_POSTGRES_URL` points
//! at a server where the role may create databases (e.g.
//! `postgres://nave:nave@127.0.0.1:5432/postgres`): each [`TestDb`] creates `nave_test_<uuid>` and
//! drops it again when dropped, even if the test panicked.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::db::{Backend, DbConfig};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "NAVE_TEST_POSTGRES_URL";

/// The backends tests should cover here: SQLite, plus PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_admin_url().is_some() {
        all.push(Backend::Postgres);
    }
    all
}

fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh, empty database that disappears with this value.
pub struct TestDb {
    /// How a hub connects to it.
    pub config: DbConfig,
    /// Which backend it is.
    pub backend: Backend,
    /// Keeps the SQLite folder alive.
    _dir: Option<tempfile::TempDir>,
    /// Server and name to drop the PostgreSQL database on drop.
    postgres: Option<(PgConnectOptions, String)>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestDb({:?})", self.backend)
    }
}

impl TestDb {
    /// Creates a database on `backend`.
    ///
    /// # Panics
    /// If the database cannot be created, or PostgreSQL is asked for without `NAVE_TEST_POSTGRES_URL`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder for a SQLite test database");
                Self {
                    config: DbConfig::sqlite_in(dir.path(), "test"),
                    backend,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let url = postgres_admin_url()
                    .unwrap_or_else(|| panic!("set {POSTGRES_URL_VAR} to test on PostgreSQL"));
                let admin: PgConnectOptions = url
                    .parse()
                    .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a PostgreSQL URL: {e}"));
                let name = format!("nave_test_{}", crate::ids::new_id().simple());
                let mut conn = PgConnection::connect_with(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VAR}: {e}"));
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
                let _ = conn.close().await;
                Self {
                    config: DbConfig::Postgres {
                        options: Box::new(admin.clone().database(&name)),
                    },
                    backend,
                    _dir: None,
                    postgres: Some((admin, name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside a runtime that is shutting down, so use a thread with its own.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}
