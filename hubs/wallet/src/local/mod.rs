//! [`LocalWallet`]: the wallet hub running in this process, over its own database.
//!
//! - this module: opening the hub, who may call what, input checks, retries of transient
//!   database conflicts, row conversions and the [`WalletApi`] impl;
//! - `ledger`: credits, debits, holds, captures, releases and expiries;
//! - `reads`: balances, statements, the invariant check and the event log.

mod ledger;
mod reads;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nave_hub_core::clock::from_millis;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, FieldViolation,
    Principal, Result, Role,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::WalletApi;
use crate::store::{self, HoldRow, PostingRow, TxRow, WalletStore};
use crate::types::{
    Balance, Credit, Debit, Hold, HoldStatus, InvariantReport, NewHold, Posting, StatementPage,
    Transaction, TransactionKind,
};

/// Settings of the wallet hub. The host fills this in; nothing here reads the environment.
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// The platform's one currency (ISO 4217); every amount is in its minor units.
    pub currency: String,
}

impl Default for WalletConfig {
    fn default() -> Self {
        Self {
            currency: "EUR".into(),
        }
    }
}

/// The wallet hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalWallet {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: WalletStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    config: WalletConfig,
}

/// How often a write that lost a race for a database lock is tried again before the caller gets
/// `unavailable`. With SQLite's busy timeout and PostgreSQL row locks taken in one order, these
/// are rare; the bound keeps a pathological case from spinning.
const ATTEMPTS: u32 = 5;

/// The largest amount one request may move: 10^12 minor units (ten billion euros). Far above
/// any real charge, and low enough that no sum of accepted amounts can overflow an `i64`.
const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Longest memo accepted, in characters.
const MEMO_MAX: usize = 500;
/// Longest reason accepted, in characters.
const REASON_MAX: usize = 64;
/// Longest idempotency key accepted, in characters.
const KEY_MAX: usize = 128;

impl LocalWallet {
    /// Opens the hub: connects to its database and runs migrations.
    pub async fn open(db: &DbConfig, config: WalletConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = WalletStore::open(db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                config,
            }),
        })
    }

    fn store(&self) -> &WalletStore {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}

/// Runs `op` again, a bounded number of times with a short random back-off, when it fails with a
/// transient database conflict; a conflict that outlasts the attempts is `unavailable`, never an
/// internal error.
async fn retrying<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if store::is_transient(&e) => {
                if attempt >= ATTEMPTS {
                    tracing::warn!(error = %e, "wallet write still conflicting after {ATTEMPTS} attempts");
                    return Err(Error::Unavailable(
                        "the wallet is busy with concurrent changes; retry the request with the same idempotency key".into(),
                    ));
                }
                let jitter = rand::random_range(0..10u64);
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Balances and statements: the platform, platform admins, and the tenant's admins and owners.
/// Callers without a scope in the tenant get `not_found`; members below admin `permission_denied`.
fn may_read(ctx: &AuthContext, tenant_id: Uuid) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    ctx.require_tenant_role(tenant_id, Role::Admin)
}

/// Credits and the invariant check: platform admins and the platform.
fn require_platform(ctx: &AuthContext) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    ctx.require_platform_admin()
}

/// Charges and holds: the platform only — it charges tenants for what they use; people do not.
fn require_system(ctx: &AuthContext, what: &str) -> Result<()> {
    match ctx.principal {
        Principal::System => Ok(()),
        Principal::Anonymous => Err(Error::unauthenticated("sign in first")),
        _ => Err(Error::permission_denied(format!(
            "only the platform itself may {what}; wallets are charged by the platform, not by people"
        ))),
    }
}

/// Collects the violations of every input of a request, so a client can fix them all at once.
#[derive(Debug, Default)]
struct Checks(Vec<FieldViolation>);

impl Checks {
    fn fail(&mut self, field: &str, message: String) {
        self.0.push(FieldViolation {
            field: field.to_owned(),
            message,
        });
    }

    fn amount(&mut self, field: &str, amount: i64) {
        if amount <= 0 {
            self.fail(
                field,
                format!("must be more than 0 (minor units, e.g. cents), got {amount}"),
            );
        } else if amount > MAX_AMOUNT {
            self.fail(
                field,
                format!("must be at most {MAX_AMOUNT} minor units, got {amount}"),
            );
        }
    }

    fn key(&mut self, key: &str) {
        let n = key.chars().count();
        if n == 0 || n > KEY_MAX {
            self.fail(
                "idempotency_key",
                format!(
                    "required, 1–{KEY_MAX} characters (got {n}): choose one per request and \
                     reuse it only to retry that request"
                ),
            );
        }
    }

    fn reason(&mut self, reason: &str) {
        let n = reason.trim().chars().count();
        if n == 0 || n > REASON_MAX {
            self.fail(
                "reason",
                format!("required, 1–{REASON_MAX} characters, e.g. `message` (got {n})"),
            );
        }
    }

    fn memo(&mut self, memo: &str) {
        let n = memo.chars().count();
        if n > MEMO_MAX {
            self.fail("memo", format!("at most {MEMO_MAX} characters (got {n})"));
        }
    }

    fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(self.0))
        }
    }
}

/// The fingerprint of a request stored with its idempotency key.
fn request_hash(request: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(request.to_string().as_bytes()))
}

fn transaction_of(row: &TxRow, postings: &[PostingRow]) -> Result<Transaction> {
    Ok(Transaction {
        id: stored_id(&row.id)?,
        tenant_id: stored_id(&row.tenant_id)?,
        kind: TransactionKind::parse(&row.kind)?,
        reason: row.reason.clone(),
        memo: row.memo.clone(),
        idempotency_key: row.idempotency_key.clone(),
        hold_id: row.hold_id.as_deref().map(stored_id).transpose()?,
        postings: postings
            .iter()
            .map(|p| Posting {
                account: p.account.clone(),
                amount: p.amount,
            })
            .collect(),
        actor: row.actor.clone(),
        correlation_id: row.correlation_id.clone(),
        created_at: from_millis(row.created_at_ms)?,
    })
}

fn hold_of(row: &HoldRow) -> Result<Hold> {
    Ok(Hold {
        id: stored_id(&row.id)?,
        tenant_id: stored_id(&row.tenant_id)?,
        amount: row.amount,
        reason: row.reason.clone(),
        status: HoldStatus::parse(&row.status)?,
        captured: row.captured,
        created_at: from_millis(row.created_at_ms)?,
        expires_at: row.expires_at_ms.map(from_millis).transpose()?,
    })
}

#[async_trait]
impl WalletApi for LocalWallet {
    async fn balance(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Balance> {
        self.do_balance(ctx, tenant_id).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, correlation_id = %ctx.correlation_id))]
    async fn credit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Credit,
    ) -> Result<Transaction> {
        self.do_credit(ctx, tenant_id, request).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, correlation_id = %ctx.correlation_id))]
    async fn debit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Debit,
    ) -> Result<Transaction> {
        self.do_debit(ctx, tenant_id, request).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, correlation_id = %ctx.correlation_id))]
    async fn hold(&self, ctx: &AuthContext, tenant_id: Uuid, request: NewHold) -> Result<Hold> {
        self.do_hold(ctx, tenant_id, request).await
    }

    #[tracing::instrument(skip_all, fields(hold = %hold_id, correlation_id = %ctx.correlation_id))]
    async fn capture(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        amount: Option<i64>,
        idempotency_key: String,
    ) -> Result<Transaction> {
        self.do_settle(ctx, hold_id, Some(amount), idempotency_key)
            .await
    }

    #[tracing::instrument(skip_all, fields(hold = %hold_id, correlation_id = %ctx.correlation_id))]
    async fn release(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        idempotency_key: String,
    ) -> Result<Transaction> {
        self.do_settle(ctx, hold_id, None, idempotency_key).await
    }

    #[tracing::instrument(skip_all, fields(expiring = true, correlation_id = %ctx.correlation_id))]
    async fn expire_holds(&self, ctx: &AuthContext) -> Result<u32> {
        self.do_expire_holds(ctx).await
    }

    async fn statement(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<StatementPage> {
        self.do_statement(ctx, tenant_id, after, limit).await
    }

    async fn check_invariants(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<InvariantReport> {
        self.do_check_invariants(ctx, tenant_id).await
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        self.do_list_events(ctx, scope, after_seq, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_collect_every_bad_field() {
        let mut checks = Checks::default();
        checks.amount("amount", MAX_AMOUNT + 1);
        checks.reason("x".repeat(65).as_str());
        checks.memo("");
        checks.key(&"k".repeat(128));
        let err = checks.done().unwrap_err();
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["amount", "reason"]);
        assert!(Checks::default().done().is_ok());
    }

    #[test]
    fn request_hashes_tell_requests_apart() {
        let a = request_hash(&serde_json::json!({ "amount": 1, "memo": "x" }));
        assert_eq!(
            a,
            request_hash(&serde_json::json!({ "memo": "x", "amount": 1 }))
        );
        assert_ne!(
            a,
            request_hash(&serde_json::json!({ "amount": 2, "memo": "x" }))
        );
    }

    #[test]
    fn only_the_platform_charges() {
        let tenant = nave_hub_core::ids::new_id();
        let owner = AuthContext::user(tenant).in_tenant(tenant, Role::Owner);
        assert_eq!(
            require_system(&owner, "charge").unwrap_err().code(),
            "permission_denied"
        );
        assert!(require_system(&AuthContext::system(), "charge").is_ok());
        assert!(may_read(&owner, tenant).is_ok());
        let agent = AuthContext::user(tenant).in_tenant(tenant, Role::Agent);
        assert_eq!(
            may_read(&agent, tenant).unwrap_err().code(),
            "permission_denied"
        );
    }
}
