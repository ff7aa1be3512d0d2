//! Reads: balances, statements, the invariant check and the event log.

use nave_hub_core::clock::from_millis;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{AuthContext, Error, EventPage, EventScope, Principal, Result, Role};
use uuid::Uuid;

use super::{LocalWallet, may_read, require_platform};
use crate::accounts;
use crate::store::TxRow;
use crate::types::{Balance, InvariantReport, StatementEntry, StatementPage, TransactionKind};

/// Statement entries per page when the caller does not say.
const DEFAULT_PAGE: u32 = 50;
/// The most statement entries per page.
const MAX_PAGE: u32 = 200;

impl LocalWallet {
    pub(super) async fn do_balance(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Balance> {
        may_read(ctx, tenant_id)?;
        let available = accounts::available(tenant_id);
        let held = accounts::held(tenant_id);
        let mut balance = Balance {
            tenant_id,
            currency: self.inner.config.currency.clone(),
            available: 0,
            held: 0,
        };
        for (account, amount) in self.store().balances(&available, &held).await? {
            if account == available {
                balance.available = amount;
            } else {
                balance.held = amount;
            }
        }
        Ok(balance)
    }

    pub(super) async fn do_statement(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<StatementPage> {
        may_read(ctx, tenant_id)?;
        let limit = match limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let tenant = tenant_id.to_string();
        let before = match after {
            None => i64::MAX,
            Some(id) => self
                .store()
                .seq_of(&tenant, &id.to_string())
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "after",
                        format!(
                            "`{id}` is not a transaction of this wallet: pass the `next` of the \
                             previous page"
                        ),
                    )
                })?,
        };
        let rows = self
            .store()
            .statement(&tenant, before, i64::from(limit) + 1)
            .await?;
        let more = rows.len() > limit as usize;
        let entries = rows
            .iter()
            .take(limit as usize)
            .map(entry_of)
            .collect::<Result<Vec<_>>>()?;
        let next = if more {
            entries.last().map(|e| e.transaction_id)
        } else {
            None
        };
        Ok(StatementPage { entries, next })
    }

    pub(super) async fn do_check_invariants(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<InvariantReport> {
        require_platform(ctx)?;
        let found = self.store().invariants(tenant_id).await?;
        let report = InvariantReport {
            transactions_balanced: found.unbalanced_transactions == 0,
            balances_match_postings: found.mismatched_accounts == 0,
            no_negative_tenant_balance: found.negative_tenant_accounts == 0,
            checked_accounts: u64::try_from(found.checked_accounts).unwrap_or(0),
        };
        if !report.all_hold() {
            tracing::error!(?found, ?tenant_id, "wallet ledger invariants broken");
        }
        Ok(report)
    }

    pub(super) async fn do_list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin || ctx.principal == Principal::System => {}
            EventScope::Tenant(tenant) => ctx.require_tenant_role(tenant, Role::Admin)?,
            _ => ctx.require_platform_admin()?,
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}

fn entry_of(row: &TxRow) -> Result<StatementEntry> {
    Ok(StatementEntry {
        transaction_id: stored_id(&row.id)?,
        kind: TransactionKind::parse(&row.kind)?,
        reason: row.reason.clone(),
        memo: row.memo.clone(),
        amount: row.available_change,
        held_change: row.held_change,
        available_after: row.available_after,
        held_after: row.held_after,
        created_at: from_millis(row.created_at_ms)?,
    })
}
