//! The wallet hub's tables, behind one [`WalletStore`] over [`Db`]: rows, reads and the
//! invariant check here; every write in `write`.
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). Every money movement goes through [`WalletStore::write`], one
//! database transaction that, in this order:
//!
//! 1. claims the idempotency key (its first statement is a write, so SQLite takes the write lock
//!    at once and PostgreSQL makes a concurrent request with the same key wait for this one);
//!    a key already there means a replay (same request) or a conflict (different request);
//! 2. places or settles the hold, if any (`... WHERE status = 'held'`, so a hold settles once);
//! 3. applies each account's change in account-name order — one fixed lock order, so concurrent
//!    transactions cannot deadlock — where a tenant account is only ever decremented by
//!    `UPDATE ... WHERE balance + delta >= 0`: the check and the decrement are one statement, so
//!    no interleaving of concurrent debits can take a tenant below zero;
//! 4. appends the transaction and its postings, and the event.
//!
//! The transaction row is inserted after the tenant's balance rows are locked, so its `seq`
//! orders the tenant's statement as the changes committed.

mod write;

use nave_hub_core::db::HubMigrations;
use nave_hub_core::{Backend, Db, DbConfig, Error, Result, on_db};
use uuid::Uuid;

use crate::accounts;

pub use write::{Claim, Entry, HoldChange, Written};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The wallet hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `transactions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TxRow {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub reason: String,
    pub memo: String,
    pub idempotency_key: Option<String>,
    pub hold_id: Option<String>,
    pub actor: String,
    pub correlation_id: String,
    pub created_at_ms: i64,
    pub available_change: i64,
    pub held_change: i64,
    pub available_after: i64,
    pub held_after: i64,
}

/// A row of `postings`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostingRow {
    pub account: String,
    pub amount: i64,
}

/// A row of `holds`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    pub id: String,
    pub tenant_id: String,
    pub amount: i64,
    pub reason: String,
    pub status: String,
    pub captured: Option<i64>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

/// The numbers behind an [`crate::InvariantReport`].
#[derive(Debug, Clone, Copy)]
pub struct Invariants {
    pub unbalanced_transactions: i64,
    pub mismatched_accounts: i64,
    pub negative_tenant_accounts: i64,
    pub checked_accounts: i64,
}

const TX_COLS: &str = "id, tenant_id, kind, reason, memo, idempotency_key, hold_id, actor, \
     correlation_id, created_at_ms, available_change, held_change, available_after, held_after";
const HOLD_COLS: &str =
    "id, tenant_id, amount, reason, status, captured, created_at_ms, expires_at_ms";

/// Typed access to the wallet tables.
#[derive(Debug, Clone)]
pub struct WalletStore {
    /// The hub's own database.
    db: Db,
}

impl WalletStore {
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

    /// The stored balances of these accounts (missing accounts are absent).
    pub async fn balances(&self, available: &str, held: &str) -> Result<Vec<(String, i64)>> {
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, (String, i64)>(
            "SELECT account, balance FROM balances WHERE account IN ($1, $2)",
        )
        .bind(available)
        .bind(held)
        .fetch_all(pool)
        .await)?)
    }

    /// One transaction with its postings, by account name.
    pub async fn transaction(&self, id: &str) -> Result<Option<(TxRow, Vec<PostingRow>)>> {
        let sql = format!("SELECT {TX_COLS} FROM transactions WHERE id = $1");
        on_db!(&self.db, pool => {
            let Some(row) = sqlx::query_as::<_, TxRow>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let postings = sqlx::query_as::<_, PostingRow>(
                "SELECT account, amount FROM postings WHERE transaction_id = $1 ORDER BY account",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            Ok(Some((row, postings)))
        })
    }

    /// The hold with this id.
    pub async fn hold(&self, id: &str) -> Result<Option<HoldRow>> {
        let sql = format!("SELECT {HOLD_COLS} FROM holds WHERE id = $1");
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, HoldRow>(&sql)
            .bind(id).fetch_optional(pool).await)?)
    }

    /// Up to `limit` holds still `held` whose expiry is at or before `now_ms`, oldest first.
    pub async fn expired_holds(&self, now_ms: i64, limit: i64) -> Result<Vec<HoldRow>> {
        let sql = format!(
            "SELECT {HOLD_COLS} FROM holds WHERE status = 'held' AND expires_at_ms IS NOT NULL \
             AND expires_at_ms <= $1 ORDER BY expires_at_ms, id LIMIT $2"
        );
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, HoldRow>(&sql)
            .bind(now_ms).bind(limit).fetch_all(pool).await)?)
    }

    /// The `seq` of one of the tenant's transactions.
    pub async fn seq_of(&self, tenant_id: &str, id: &str) -> Result<Option<i64>> {
        Ok(on_db!(&self.db, pool => sqlx::query_scalar::<_, i64>(
            "SELECT seq FROM transactions WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Up to `limit` of the tenant's transactions with `seq < before`, newest first.
    pub async fn statement(&self, tenant_id: &str, before: i64, limit: i64) -> Result<Vec<TxRow>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM transactions WHERE tenant_id = $1 AND seq < $2 \
             ORDER BY seq DESC LIMIT $3"
        );
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, TxRow>(&sql)
            .bind(tenant_id).bind(before).bind(limit).fetch_all(pool).await)?)
    }

    /// Recomputes balances from postings, for one tenant's accounts or all, in one snapshot.
    pub async fn invariants(&self, tenant_id: Option<Uuid>) -> Result<Invariants> {
        // Each count with the values for its `$n` placeholders.
        let (accounts_filter, tx_filter, binds) = match tenant_id {
            Some(t) => (
                "account IN ($1, $2)",
                "transaction_id IN (SELECT id FROM transactions WHERE tenant_id = $1)",
                vec![accounts::available(t), accounts::held(t)],
            ),
            None => ("TRUE", "TRUE", Vec::new()),
        };
        let tenant_bind: Vec<String> = tenant_id.iter().map(Uuid::to_string).collect();
        let queries = [
            (
                format!(
                    "SELECT COUNT(*) FROM (SELECT transaction_id FROM postings WHERE {tx_filter} \
                     GROUP BY transaction_id HAVING SUM(amount) <> 0) AS u"
                ),
                &tenant_bind,
            ),
            (
                format!(
                    "SELECT COUNT(*) FROM balances b WHERE {accounts_filter} AND b.balance <> \
                     COALESCE((SELECT CAST(SUM(p.amount) AS BIGINT) FROM postings p \
                     WHERE p.account = b.account), 0)"
                ),
                &binds,
            ),
            (
                format!(
                    "SELECT COUNT(DISTINCT account) FROM postings WHERE {accounts_filter} \
                     AND account NOT IN (SELECT account FROM balances)"
                ),
                &binds,
            ),
            (
                format!(
                    "SELECT COUNT(*) FROM balances WHERE {accounts_filter} \
                     AND account LIKE 'tenant:%' AND balance < 0"
                ),
                &binds,
            ),
            (
                format!("SELECT COUNT(*) FROM balances WHERE {accounts_filter}"),
                &binds,
            ),
        ];
        let postgres = self.db.backend() == Backend::Postgres;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            if postgres {
                // One snapshot for all the counts, so a concurrent write cannot skew them.
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let mut counts = [0i64; 5];
            for (n, (sql, values)) in queries.iter().enumerate() {
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                for value in values.iter() {
                    query = query.bind(value);
                }
                counts[n] = query.fetch_one(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Invariants {
                unbalanced_transactions: counts[0],
                mismatched_accounts: counts[1] + counts[2],
                negative_tenant_accounts: counts[3],
                checked_accounts: counts[4],
            })
        })
    }
}

/// Whether an error is a transient concurrency failure worth retrying: SQLite busy or locked,
/// PostgreSQL serialization failure or deadlock.
pub fn is_transient(error: &Error) -> bool {
    let Error::Internal(cause) = error else {
        return false;
    };
    let Some(sqlx::Error::Database(db)) = cause.downcast_ref::<sqlx::Error>() else {
        return false;
    };
    match db.code().as_deref() {
        Some("40001" | "40P01") => true,
        // SQLite reports extended result codes; the primary code is the low byte.
        Some(code) => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_database_conflicts_are_transient() {
        assert!(!is_transient(&Error::conflict("idempotency key reused")));
        assert!(!is_transient(&Error::internal_msg("boom")));
        assert!(!is_transient(&Error::from(sqlx::Error::RowNotFound)));
    }
}
