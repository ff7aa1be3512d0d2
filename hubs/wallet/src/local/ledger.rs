//! Money movements: credits, debits, holds and their settlement (capture, release, expiry).
//!
//! Each builds one [`Entry`] — postings that sum to zero, the idempotency claim, the hold change
//! and the event — and hands it to the store, which records it in one database transaction.
//! A refused or failed movement leaves no trace, its idempotency key included, so it can be
//! retried with the same key once the cause is fixed (e.g. after a top-up).

use nave_hub_core::clock::add_ms;
use nave_hub_core::ids::{new_id, stored_id};
use nave_hub_core::{AuthContext, Error, NewEvent, Result};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use super::{Checks, LocalWallet, hold_of, request_hash, require_platform, require_system};
use super::{retrying, transaction_of};
use crate::accounts::{self, FUNDING, PROMOTIONS, REVENUE};
use crate::store::{Claim, Entry, HoldChange, HoldRow, Written};
use crate::types::{Credit, CreditSource, Debit, Hold, HoldStatus, NewHold, Transaction};

/// Holds settled per database round trip by [`LocalWallet::do_expire_holds`].
const EXPIRY_BATCH: i64 = 100;

impl LocalWallet {
    /// Records `entry`, retrying transient conflicts.
    async fn write(&self, ctx: &AuthContext, entry: Entry) -> Result<Written> {
        retrying(|| self.store().write(ctx, &entry)).await
    }

    /// The transaction a write recorded, or the one a replayed key recorded first.
    async fn written_transaction(&self, written: Written) -> Result<Transaction> {
        match written {
            Written::New(row, postings) => transaction_of(&row, &postings),
            Written::Replay { transaction_id, .. } => {
                let id = transaction_id.ok_or_else(|| {
                    Error::internal_msg("idempotency key without its transaction")
                })?;
                let (row, postings) = self.store().transaction(&id).await?.ok_or_else(|| {
                    Error::internal_msg(format!("idempotency key names missing transaction {id}"))
                })?;
                transaction_of(&row, &postings)
            }
        }
    }

    pub(super) async fn do_credit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Credit,
    ) -> Result<Transaction> {
        require_platform(ctx)?;
        let mut checks = Checks::default();
        checks.amount("amount", request.amount);
        checks.memo(&request.memo);
        checks.key(&request.idempotency_key);
        checks.done()?;
        let from = match request.source {
            CreditSource::TopUp => FUNDING,
            CreditSource::Promotion => PROMOTIONS,
        };
        let hash = request_hash(&json!({
            "amount": request.amount,
            "source": request.source.as_str(),
            "memo": request.memo,
        }));
        let entry = Entry {
            claim: Some(claim(tenant_id, request.idempotency_key, "credit", hash)),
            hold: None,
            id: new_id(),
            tenant_id,
            kind: "credit",
            reason: request.source.as_str().to_owned(),
            event: NewEvent::new(
                "wallet.credited",
                json!({
                    "tenant_id": tenant_id,
                    "amount": request.amount,
                    "source": request.source.as_str(),
                    "memo": request.memo,
                }),
            ),
            memo: request.memo,
            hold_id: None,
            postings: vec![
                (from.to_owned(), -request.amount),
                (accounts::available(tenant_id), request.amount),
            ],
            now_ms: self.now_ms(),
        };
        let written = self.write(ctx, entry).await?;
        self.written_transaction(written).await
    }

    pub(super) async fn do_debit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Debit,
    ) -> Result<Transaction> {
        require_system(ctx, "charge a wallet")?;
        let mut checks = Checks::default();
        checks.amount("amount", request.amount);
        checks.reason(&request.reason);
        checks.memo(&request.memo);
        checks.key(&request.idempotency_key);
        checks.done()?;
        let reason = request.reason.trim().to_owned();
        let hash = request_hash(&json!({
            "amount": request.amount,
            "reason": reason,
            "memo": request.memo,
        }));
        let entry = Entry {
            claim: Some(claim(tenant_id, request.idempotency_key, "debit", hash)),
            hold: None,
            id: new_id(),
            tenant_id,
            kind: "debit",
            event: NewEvent::new(
                "wallet.debited",
                json!({
                    "tenant_id": tenant_id,
                    "amount": request.amount,
                    "reason": reason,
                    "memo": request.memo,
                }),
            ),
            reason,
            memo: request.memo,
            hold_id: None,
            postings: vec![
                (accounts::available(tenant_id), -request.amount),
                (REVENUE.to_owned(), request.amount),
            ],
            now_ms: self.now_ms(),
        };
        let written = self.write(ctx, entry).await?;
        self.written_transaction(written).await
    }

    pub(super) async fn do_hold(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: NewHold,
    ) -> Result<Hold> {
        require_system(ctx, "place a hold")?;
        let mut checks = Checks::default();
        checks.amount("amount", request.amount);
        checks.reason(&request.reason);
        checks.key(&request.idempotency_key);
        if request.expires_in_secs == Some(0) {
            checks.fail(
                "expires_in_secs",
                "must be more than 0; leave it out for a hold that never expires".into(),
            );
        }
        checks.done()?;
        let reason = request.reason.trim().to_owned();
        let now_ms = self.now_ms();
        let hold_id = new_id();
        let expires_at_ms = request
            .expires_in_secs
            .map(|s| add_ms(now_ms, Duration::from_secs(s)));
        let hash = request_hash(&json!({
            "amount": request.amount,
            "reason": reason,
            "expires_in_secs": request.expires_in_secs,
        }));
        let row = HoldRow {
            id: hold_id.to_string(),
            tenant_id: tenant_id.to_string(),
            amount: request.amount,
            reason: reason.clone(),
            status: HoldStatus::Held.as_str().to_owned(),
            captured: None,
            created_at_ms: now_ms,
            expires_at_ms,
        };
        let entry = Entry {
            claim: Some(claim(tenant_id, request.idempotency_key, "hold", hash)),
            hold: Some(HoldChange::Place(row.clone())),
            id: new_id(),
            tenant_id,
            kind: "hold",
            event: NewEvent::new(
                "wallet.hold_placed",
                json!({
                    "tenant_id": tenant_id,
                    "hold_id": hold_id,
                    "amount": request.amount,
                    "reason": reason,
                    "expires_at_ms": expires_at_ms,
                }),
            ),
            reason,
            memo: String::new(),
            hold_id: Some(hold_id),
            postings: vec![
                (accounts::available(tenant_id), -request.amount),
                (accounts::held(tenant_id), request.amount),
            ],
            now_ms,
        };
        match self.write(ctx, entry).await? {
            Written::New(..) => hold_of(&row),
            Written::Replay { hold_id, .. } => {
                let id = hold_id
                    .ok_or_else(|| Error::internal_msg("idempotency key without its hold"))?;
                let row = self.store().hold(&id).await?.ok_or_else(|| {
                    Error::internal_msg(format!("idempotency key names missing hold {id}"))
                })?;
                hold_of(&row)
            }
        }
    }

    /// Captures (`capture = Some(amount)`) or releases (`capture = None`) a hold.
    pub(super) async fn do_settle(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        capture: Option<Option<i64>>,
        idempotency_key: String,
    ) -> Result<Transaction> {
        let operation = if capture.is_some() {
            "capture"
        } else {
            "release"
        };
        require_system(ctx, &format!("{operation} a hold"))?;
        let mut checks = Checks::default();
        if let Some(Some(amount)) = capture {
            checks.amount("amount", amount);
        }
        checks.key(&idempotency_key);
        checks.done()?;
        let hold = self
            .store()
            .hold(&hold_id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(format!("no hold `{hold_id}`")))?;
        let tenant_id = stored_id(&hold.tenant_id)?;
        let charged = match capture {
            Some(Some(amount)) if amount > hold.amount => {
                return Err(Error::invalid(
                    "amount",
                    format!(
                        "at most the held {} can be captured, got {amount}",
                        hold.amount
                    ),
                ));
            }
            Some(amount) => amount.unwrap_or(hold.amount),
            None => 0,
        };
        let rest = hold.amount - charged;
        let now_ms = self.now_ms();
        let hash = request_hash(&json!({
            "hold_id": hold_id,
            "amount": capture.flatten(),
        }));
        let (kind, status, event) = if capture.is_some() {
            (
                "capture",
                HoldStatus::Captured,
                NewEvent::new(
                    "wallet.hold_captured",
                    json!({
                        "tenant_id": tenant_id,
                        "hold_id": hold_id,
                        "amount": charged,
                        "released": rest,
                    }),
                ),
            )
        } else {
            (
                "release",
                HoldStatus::Released,
                NewEvent::new(
                    "wallet.hold_released",
                    json!({ "tenant_id": tenant_id, "hold_id": hold_id, "amount": rest }),
                ),
            )
        };
        let entry = Entry {
            claim: Some(claim(tenant_id, idempotency_key, operation, hash)),
            hold: Some(HoldChange::Settle {
                id: hold.id.clone(),
                status: status.as_str(),
                captured: capture.map(|_| charged),
                now_ms,
                // A hold past its expiry may still be released, but no longer charged.
                unexpired_at: capture.map(|_| now_ms),
            }),
            id: new_id(),
            tenant_id,
            kind,
            reason: hold.reason.clone(),
            memo: String::new(),
            hold_id: Some(hold_id),
            postings: vec![
                (accounts::held(tenant_id), -hold.amount),
                (REVENUE.to_owned(), charged),
                (accounts::available(tenant_id), rest),
            ],
            now_ms,
            event,
        };
        let written = self.write(ctx, entry).await?;
        self.written_transaction(written).await
    }

    pub(super) async fn do_expire_holds(&self, ctx: &AuthContext) -> Result<u32> {
        require_system(ctx, "expire holds")?;
        let now_ms = self.now_ms();
        let mut expired = 0u32;
        loop {
            let batch = self.store().expired_holds(now_ms, EXPIRY_BATCH).await?;
            let full = batch.len() as i64 == EXPIRY_BATCH;
            for hold in batch {
                let tenant_id = stored_id(&hold.tenant_id)?;
                let hold_id = stored_id(&hold.id)?;
                let entry = Entry {
                    claim: None,
                    hold: Some(HoldChange::Settle {
                        id: hold.id.clone(),
                        status: HoldStatus::Expired.as_str(),
                        captured: None,
                        now_ms,
                        unexpired_at: None,
                    }),
                    id: new_id(),
                    tenant_id,
                    kind: "expiry",
                    reason: hold.reason.clone(),
                    memo: "hold expired".into(),
                    hold_id: Some(hold_id),
                    postings: vec![
                        (accounts::held(tenant_id), -hold.amount),
                        (accounts::available(tenant_id), hold.amount),
                    ],
                    now_ms,
                    event: NewEvent::new(
                        "wallet.hold_expired",
                        json!({ "tenant_id": tenant_id, "hold_id": hold_id, "amount": hold.amount }),
                    ),
                };
                match self.write(ctx, entry).await {
                    Ok(_) => expired += 1,
                    // Captured or released meanwhile: nothing left to expire.
                    Err(e) if e.reasons().iter().any(|r| r.code == "hold_settled") => {}
                    Err(e) => return Err(e),
                }
            }
            if !full {
                return Ok(expired);
            }
        }
    }
}

fn claim(tenant_id: Uuid, key: String, operation: &'static str, request_hash: String) -> Claim {
    Claim {
        scope: tenant_id.to_string(),
        key,
        operation,
        request_hash,
    }
}
