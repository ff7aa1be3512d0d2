//! [`WalletStore::write`]: one money movement in one database transaction, and its steps on
//! either backend's connection.

use std::collections::BTreeMap;
use std::future::Future;

use nave_hub_core::events::AppendEvent;
use nave_hub_core::{AuthContext, Error, NewEvent, Result, on_db};
use uuid::Uuid;

use super::{HOLD_COLS, HoldRow, PostingRow, TX_COLS, TxRow, WalletStore};
use crate::accounts;

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

/// Adds `$2` to an account, creating it if missing; for increments and platform accounts.
const ADD: &str = "INSERT INTO balances (account, balance, updated_at_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance, \
     updated_at_ms = excluded.updated_at_ms RETURNING balance";
/// Takes from a tenant account only if it stays ≥ 0: the check and the change are one statement.
const TAKE: &str = "UPDATE balances SET balance = balance + $1, updated_at_ms = $2 \
     WHERE account = $3 AND balance + $1 >= 0 RETURNING balance";

impl WalletStore {
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
        let hold_id = entry.hold_id.map(|h| h.to_string());
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            if let Some(claim) = &entry.claim
                && let Some(first) = tx.claim(claim, &id, hold_id.as_deref(), entry.now_ms).await?
            {
                return replay_of(claim, first);
            }
            if let Some(change) = &entry.hold {
                tx.change_hold(change).await?;
            }
            let mut after = BTreeMap::new();
            for (account, delta) in &deltas {
                let Some(balance) = tx.post(account, *delta, entry.now_ms).await? else {
                    let has = tx.balance_of(account).await?;
                    return Err(short(account, *account == available, has, -delta));
                };
                after.insert(*account, balance);
            }
            let row = TxRow {
                id: id.clone(),
                tenant_id: entry.tenant_id.to_string(),
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
            let postings: Vec<PostingRow> = deltas
                .iter()
                .filter(|(_, amount)| **amount != 0)
                .map(|(account, amount)| PostingRow { account: (*account).to_owned(), amount: *amount })
                .collect();
            tx.insert_transaction(&row, &postings).await?;
            tx.append_event(&event_of(entry, &row).record(ctx, entry.now_ms)).await?;
            tx.commit().await?;
            Ok(Written::New(Box::new(row), postings))
        })
    }
}

/// The answer to a request whose key was claimed before: the first result if it is the same
/// request, a conflict otherwise.
fn replay_of(claim: &Claim, first: ClaimRow) -> Result<Written> {
    if first.operation != claim.operation || first.request_hash != claim.request_hash {
        return Err(Error::conflict(format!(
            "idempotency key reused with a different request: `{}` was first used for another \
             {}; use a new key for a new request",
            claim.key, first.operation
        )));
    }
    Ok(Written::Replay {
        transaction_id: first.transaction_id,
        hold_id: first.hold_id,
    })
}

/// The entry's event, with the transaction id and the tenant's balances after it.
fn event_of(entry: &Entry, row: &TxRow) -> NewEvent {
    let mut event = entry.event.clone().in_tenant(entry.tenant_id);
    if let Some(payload) = event.payload.as_object_mut() {
        payload.insert("transaction_id".into(), row.id.clone().into());
        payload.insert("available_after".into(), row.available_after.into());
        payload.insert("held_after".into(), row.held_after.into());
    }
    event
}

/// The steps of [`WalletStore::write`] on either backend's connection (a transaction's).
trait Steps {
    /// Claims an idempotency key for the transaction (and hold) about to be written; returns
    /// what the key was first used for if it was already claimed.
    fn claim(
        &mut self,
        claim: &Claim,
        transaction_id: &str,
        hold_id: Option<&str>,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<ClaimRow>>> + Send;

    /// Places or settles a hold; a hold that is not `held` (or has expired, for a capture) is
    /// refused with the reason.
    fn change_hold(&mut self, change: &HoldChange) -> impl Future<Output = Result<()>> + Send;

    /// Adds `delta` to an account and returns its new balance; `None` when a tenant account
    /// would go below zero (then nothing changed).
    fn post(
        &mut self,
        account: &str,
        delta: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<i64>>> + Send;

    /// An account's stored balance, 0 if it has none.
    fn balance_of(&mut self, account: &str) -> impl Future<Output = Result<i64>> + Send;

    /// Appends the transaction and its postings.
    fn insert_transaction(
        &mut self,
        row: &TxRow,
        postings: &[PostingRow],
    ) -> impl Future<Output = Result<()>> + Send;
}

macro_rules! impl_steps {
    ($conn:ty) => {
        impl Steps for $conn {
            async fn claim(
                &mut self,
                claim: &Claim,
                transaction_id: &str,
                hold_id: Option<&str>,
                now_ms: i64,
            ) -> Result<Option<ClaimRow>> {
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
                .bind(transaction_id)
                .bind(hold_id)
                .bind(now_ms)
                .execute(&mut *self)
                .await?
                .rows_affected();
                if claimed == 1 {
                    return Ok(None);
                }
                let first = sqlx::query_as::<_, ClaimRow>(
                    "SELECT operation, request_hash, transaction_id, hold_id \
                     FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
                )
                .bind(&claim.scope)
                .bind(&claim.key)
                .fetch_one(&mut *self)
                .await?;
                Ok(Some(first))
            }

            async fn change_hold(&mut self, change: &HoldChange) -> Result<()> {
                match change {
                    HoldChange::Place(row) => {
                        sqlx::query(&format!(
                            "INSERT INTO holds ({HOLD_COLS}) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                        ))
                        .bind(&row.id)
                        .bind(&row.tenant_id)
                        .bind(row.amount)
                        .bind(&row.reason)
                        .bind(&row.status)
                        .bind(row.captured)
                        .bind(row.created_at_ms)
                        .bind(row.expires_at_ms)
                        .execute(&mut *self)
                        .await?;
                    }
                    HoldChange::Settle {
                        id,
                        status,
                        captured,
                        now_ms,
                        unexpired_at,
                    } => {
                        let settled = sqlx::query(
                            "UPDATE holds SET status = $1, captured = $2, settled_at_ms = $3 \
                             WHERE id = $4 AND status = 'held' \
                             AND ($5 IS NULL OR expires_at_ms IS NULL OR expires_at_ms > $5)",
                        )
                        .bind(*status)
                        .bind(*captured)
                        .bind(*now_ms)
                        .bind(id)
                        .bind(*unexpired_at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected();
                        if settled == 0 {
                            let now: Option<String> =
                                sqlx::query_scalar("SELECT status FROM holds WHERE id = $1")
                                    .bind(id)
                                    .fetch_optional(&mut *self)
                                    .await?;
                            return Err(not_settleable(id, now.as_deref()));
                        }
                    }
                }
                Ok(())
            }

            async fn post(&mut self, account: &str, delta: i64, now_ms: i64) -> Result<Option<i64>> {
                if delta < 0 && accounts::is_tenant(account) {
                    return Ok(sqlx::query_scalar(TAKE)
                        .bind(delta)
                        .bind(now_ms)
                        .bind(account)
                        .fetch_optional(&mut *self)
                        .await?);
                }
                Ok(Some(
                    sqlx::query_scalar(ADD)
                        .bind(account)
                        .bind(delta)
                        .bind(now_ms)
                        .fetch_one(&mut *self)
                        .await?,
                ))
            }

            async fn balance_of(&mut self, account: &str) -> Result<i64> {
                let balance: Option<i64> =
                    sqlx::query_scalar("SELECT balance FROM balances WHERE account = $1")
                        .bind(account)
                        .fetch_optional(&mut *self)
                        .await?;
                Ok(balance.unwrap_or(0))
            }

            async fn insert_transaction(&mut self, row: &TxRow, postings: &[PostingRow]) -> Result<()> {
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
                .execute(&mut *self)
                .await?;
                for posting in postings {
                    sqlx::query(
                        "INSERT INTO postings (transaction_id, account, amount) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(&row.id)
                    .bind(&posting.account)
                    .bind(posting.amount)
                    .execute(&mut *self)
                    .await?;
                }
                Ok(())
            }
        }
    };
}
impl_steps!(sqlx::SqliteConnection);
impl_steps!(sqlx::PgConnection);

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
}
