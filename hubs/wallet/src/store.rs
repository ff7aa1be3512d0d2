//! The wallet hub's tables, behind one [`WalletStore`] over [`Db`].
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

use std::collections::BTreeMap;

use nave_hub_core::db::HubMigrations;
use nave_hub_core::events::AppendEvent;
use nave_hub_core::{AuthContext, Backend, Db, DbConfig, Error, NewEvent, Result, on_db};
use uuid::Uuid;

use crate::accounts;

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

/// What an idempotency key was first used for.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ClaimRow {
    operation: String,
    request_hash: String,
    transaction_id: Option<String>,
    hold_id: Option<String>,
}

/// An idempotency key to claim for a write.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The tenant id, or `platform`.
    pub scope: String,
    /// The caller's key.
    pub key: String,
    /// `credit`, `debit`, `hold`, `capture` or `release`.
    pub operation: &'static str,
    /// Hash of the request, to tell a replay from a reuse.
    pub request_hash: String,
}

/// The hold part of a write.
#[derive(Debug, Clone)]
pub enum HoldChange {
    /// Stores a new hold.
    Place(HoldRow),
    /// Settles a hold that is still `held`; `hold_settled` otherwise. With `unexpired_at`, also
    /// `hold_expired` when the hold expired at or before that instant.
    Settle {
        id: String,
        status: &'static str,
        captured: Option<i64>,
        now_ms: i64,
        unexpired_at: Option<i64>,
    },
}

/// One money movement to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The idempotency key, for requested movements (not for expiries).
    pub claim: Option<Claim>,
    /// The hold it places or settles.
    pub hold: Option<HoldChange>,
    /// The transaction's id.
    pub id: Uuid,
    /// The tenant whose wallet moves.
    pub tenant_id: Uuid,
    /// The transaction kind's wire name.
    pub kind: &'static str,
    /// Credit source, debit reason or hold reason.
    pub reason: String,
    /// Free text.
    pub memo: String,
    /// The hold it concerns.
    pub hold_id: Option<Uuid>,
    /// Account → signed amount; sums to zero.
    pub postings: Vec<(String, i64)>,
    /// When.
    pub now_ms: i64,
    /// The event to append; the store adds the transaction id and the balances after it.
    pub event: NewEvent,
}

/// What [`WalletStore::write`] did.
#[derive(Debug)]
pub enum Written {
    /// Recorded a new transaction.
    New(Box<TxRow>, Vec<PostingRow>),
    /// The key was used before for the same request, which produced these; nothing changed.
    Replay {
        transaction_id: Option<String>,
        hold_id: Option<String>,
    },
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

/// Adds `$2` to an account, creating it if missing; for increments and platform accounts.
const ADD: &str = "INSERT INTO balances (account, balance, updated_at_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance, \
     updated_at_ms = excluded.updated_at_ms RETURNING balance";
/// Takes from a tenant account only if it stays ≥ 0: the check and the change are one statement.
const TAKE: &str = "UPDATE balances SET balance = balance + $1, updated_at_ms = $2 \
     WHERE account = $3 AND balance + $1 >= 0 RETURNING balance";

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

    /// Records one money movement, all or nothing (see the module docs for the steps).
    pub async fn write(&self, ctx: &AuthContext, entry: &Entry) -> Result<Written> {
        // Both tenant accounts take part in every transaction (with 0 when unchanged): that locks
        // them, so the balances stored with the transaction are exact, and orders the statement.
        let available = accounts::available(entry.tenant_id);
        let held = accounts::held(entry.tenant_id);
        let mut deltas: BTreeMap<&str, i64> = BTreeMap::new();
        deltas.insert(&available, 0);
        deltas.insert(&held, 0);
        // Zero legs are left out, so e.g. a full release does not lock `platform:revenue`.
        for (account, amount) in entry.postings.iter().filter(|(_, a)| *a != 0) {
            *deltas.entry(account).or_insert(0) += amount;
        }
        let id = entry.id.to_string();
        let tenant_id = entry.tenant_id.to_string();
        let hold_id = entry.hold_id.map(|h| h.to_string());
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            if let Some(claim) = &entry.claim {
                let claimed = sqlx::query(
                    "INSERT INTO idempotency_keys (scope, idempotency_key, operation, \
                     request_hash, transaction_id, hold_id, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (scope, idempotency_key) DO NOTHING",
                )
                .bind(&claim.scope)
                .bind(&claim.key)
                .bind(claim.operation)
                .bind(&claim.request_hash)
                .bind(&id)
                .bind(&hold_id)
                .bind(entry.now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    let first = sqlx::query_as::<_, ClaimRow>(
                        "SELECT operation, request_hash, transaction_id, hold_id \
                         FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
                    )
                    .bind(&claim.scope)
                    .bind(&claim.key)
                    .fetch_one(&mut *tx)
                    .await?;
                    if first.operation != claim.operation || first.request_hash != claim.request_hash {
                        return Err(Error::conflict(format!(
                            "idempotency key reused with a different request: `{}` was first \
                             used for another {}; use a new key for a new request",
                            claim.key, first.operation
                        )));
                    }
                    return Ok(Written::Replay {
                        transaction_id: first.transaction_id,
                        hold_id: first.hold_id,
                    });
                }
            }
            match &entry.hold {
                None => {}
                Some(HoldChange::Place(row)) => {
                    sqlx::query(&format!(
                        "INSERT INTO holds ({HOLD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ))
                    .bind(&row.id)
                    .bind(&row.tenant_id)
                    .bind(row.amount)
                    .bind(&row.reason)
                    .bind(&row.status)
                    .bind(row.captured)
                    .bind(row.created_at_ms)
                    .bind(row.expires_at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                Some(HoldChange::Settle { id: hold, status, captured, now_ms, unexpired_at }) => {
                    let settled = sqlx::query(
                        "UPDATE holds SET status = $1, captured = $2, settled_at_ms = $3 \
                         WHERE id = $4 AND status = 'held' \
                         AND ($5 IS NULL OR expires_at_ms IS NULL OR expires_at_ms > $5)",
                    )
                    .bind(*status)
                    .bind(*captured)
                    .bind(*now_ms)
                    .bind(hold)
                    .bind(*unexpired_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if settled == 0 {
                        let now: Option<String> =
                            sqlx::query_scalar("SELECT status FROM holds WHERE id = $1")
                                .bind(hold)
                                .fetch_optional(&mut *tx)
                                .await?;
                        return Err(not_settleable(hold, now.as_deref()));
                    }
                }
            }
            let mut after = BTreeMap::new();
            for (account, delta) in &deltas {
                let balance: Option<i64> = if *delta < 0 && accounts::is_tenant(account) {
                    sqlx::query_scalar(TAKE)
                        .bind(*delta)
                        .bind(entry.now_ms)
                        .bind(*account)
                        .fetch_optional(&mut *tx)
                        .await?
                } else {
                    Some(
                        sqlx::query_scalar(ADD)
                            .bind(*account)
                            .bind(*delta)
                            .bind(entry.now_ms)
                            .fetch_one(&mut *tx)
                            .await?,
                    )
                };
                let Some(balance) = balance else {
                    let has: Option<i64> =
                        sqlx::query_scalar("SELECT balance FROM balances WHERE account = $1")
                            .bind(*account)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Err(short(account, *account == available, has.unwrap_or(0), -delta));
                };
                after.insert(*account, balance);
            }
            let row = TxRow {
                id: id.clone(),
                tenant_id: tenant_id.clone(),
                kind: entry.kind.to_owned(),
                reason: entry.reason.clone(),
                memo: entry.memo.clone(),
                idempotency_key: entry.claim.as_ref().map(|c| c.key.clone()),
                hold_id: hold_id.clone(),
                actor: ctx.actor(),
                correlation_id: ctx.correlation_id.clone(),
                created_at_ms: entry.now_ms,
                available_change: deltas[available.as_str()],
                held_change: deltas[held.as_str()],
                available_after: after[available.as_str()],
                held_after: after[held.as_str()],
            };
            sqlx::query(&format!(
                "INSERT INTO transactions ({TX_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&row.id)
            .bind(&row.tenant_id)
            .bind(&row.kind)
            .bind(&row.reason)
            .bind(&row.memo)
            .bind(&row.idempotency_key)
            .bind(&row.hold_id)
            .bind(&row.actor)
            .bind(&row.correlation_id)
            .bind(row.created_at_ms)
            .bind(row.available_change)
            .bind(row.held_change)
            .bind(row.available_after)
            .bind(row.held_after)
            .execute(&mut *tx)
            .await?;
            let mut postings = Vec::new();
            for (account, amount) in deltas.iter().filter(|(_, a)| **a != 0) {
                sqlx::query(
                    "INSERT INTO postings (transaction_id, account, amount) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(*account)
                .bind(*amount)
                .execute(&mut *tx)
                .await?;
                postings.push(PostingRow { account: (*account).to_owned(), amount: *amount });
            }
            let mut event = entry.event.clone();
            if let Some(payload) = event.payload.as_object_mut() {
                payload.insert("transaction_id".into(), id.clone().into());
                payload.insert("available_after".into(), row.available_after.into());
                payload.insert("held_after".into(), row.held_after.into());
            }
            tx.append_event(&event.in_tenant(entry.tenant_id).record(ctx, entry.now_ms))
                .await?;
            tx.commit().await?;
            Ok(Written::New(Box::new(row), postings))
        })
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

/// Why a hold could not be settled: it is missing, already settled or expired.
fn not_settleable(hold: &str, status: Option<&str>) -> Error {
    match status {
        None => Error::not_found(format!("no hold `{hold}`")),
        Some("held") => Error::failed_precondition(
            "hold_expired",
            format!("hold `{hold}` has expired and can no longer be captured; place a new hold"),
        ),
        Some(status) => Error::failed_precondition(
            "hold_settled",
            format!("hold `{hold}` is already {status}: a hold is captured or released only once"),
        ),
    }
}

/// The refusal for a tenant account that does not cover a decrement.
fn short(account: &str, is_available: bool, has: i64, needs: i64) -> Error {
    if is_available {
        Error::failed_precondition(
            "insufficient_funds",
            format!(
                "the wallet has {has} available and this needs {needs}: top up the wallet or \
                 charge less"
            ),
        )
    } else {
        // Held money only leaves through a hold that is still `held`, which covers it.
        Error::internal_msg(format!(
            "ledger inconsistency: account {account} holds {has} but a settlement takes {needs}"
        ))
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
    fn settlement_refusals_say_why() {
        assert_eq!(not_settleable("h", None).code(), "not_found");
        assert_eq!(
            not_settleable("h", Some("held")).reasons()[0].code,
            "hold_expired"
        );
        let settled = not_settleable("h", Some("captured"));
        assert_eq!(settled.reasons()[0].code, "hold_settled");
        assert!(settled.to_string().contains("already captured"));
        let short = short("tenant:x:available", true, 3, 5);
        assert_eq!(short.reasons()[0].code, "insufficient_funds");
        assert!(
            short
                .to_string()
                .contains("has 3 available and this needs 5")
        );
    }

    #[test]
    fn only_database_conflicts_are_transient() {
        assert!(!is_transient(&Error::conflict("idempotency key reused")));
        assert!(!is_transient(&Error::internal_msg("boom")));
        assert!(!is_transient(&Error::from(sqlx::Error::RowNotFound)));
    }
}
