//! [`WalletApi`]: everything the wallet hub does, as one async trait.
//!
//! [`crate::LocalWallet`] implements it over the hub's own database and
//! [`crate::grpc::WalletClient`] over gRPC. Every method takes the caller's [`AuthContext`].
//!
//! Who may call what:
//!
//! | method | callers |
//! |---|---|
//! | `balance`, `statement` | platform admins, the platform (`system`), the tenant's admins and owners |
//! | `credit`, `check_invariants` | platform admins and the platform |
//! | `debit`, `hold`, `capture`, `release`, `expire_holds` | the platform only: it charges, people do not |
//! | `list_events` | platform admins; a tenant's admins for that tenant's events |
//!
//! A tenant the caller has no scope in is reported as `not_found`, so wallets of other tenants do
//! not leak. Business-rule refusals are `failed_precondition` with a reason code
//! (`insufficient_funds`, `hold_settled`, `hold_expired`).

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use uuid::Uuid;

use crate::types::{
    Balance, Credit, Debit, Hold, InvariantReport, NewHold, StatementPage, Transaction,
};

/// The wallet hub: a double-entry ledger per tenant that never lets a tenant go negative.
#[async_trait]
pub trait WalletApi: Send + Sync {
    /// A tenant's balances; 0/0 for a tenant that never had money.
    async fn balance(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<Balance>;

    /// Moves money from `platform:funding` (top-up) or `platform:promotions` to the tenant's
    /// available balance. Idempotent by `request.idempotency_key`.
    async fn credit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Credit,
    ) -> Result<Transaction>;

    /// Moves money from the tenant's available balance to `platform:revenue`; refused with
    /// `insufficient_funds` when the available balance is below the amount. Idempotent.
    async fn debit(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: Debit,
    ) -> Result<Transaction>;

    /// Moves money from available to held; same `insufficient_funds` rule as a debit. Idempotent
    /// (a replay returns the hold as it stands now).
    async fn hold(&self, ctx: &AuthContext, tenant_id: Uuid, request: NewHold) -> Result<Hold>;

    /// Charges `amount` of a hold (all of it when `None`) to revenue and gives the rest back to
    /// available. A hold is settled once: afterwards `hold_settled`; past its expiry,
    /// `hold_expired`. Idempotent.
    async fn capture(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        amount: Option<i64>,
        idempotency_key: String,
    ) -> Result<Transaction>;

    /// Gives a hold back to available; `hold_settled` if it was already settled. Idempotent.
    async fn release(
        &self,
        ctx: &AuthContext,
        hold_id: Uuid,
        idempotency_key: String,
    ) -> Result<Transaction>;

    /// Releases every hold past its expiry (status `expired`) and returns how many; for a
    /// background task.
    async fn expire_holds(&self, ctx: &AuthContext) -> Result<u32>;

    /// A tenant's transactions, newest first: `limit` entries (0 means 50, at most 200) older
    /// than the transaction `after`, or the newest when `None`.
    async fn statement(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<StatementPage>;

    /// Recomputes every balance from the postings (one tenant's accounts, or all) and reports
    /// whether the ledger is consistent.
    async fn check_invariants(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<InvariantReport>;

    /// Reads the hub's event log.
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
