//! [`BillingApi`]: everything the billing hub does, as one async trait.
//!
//! [`crate::LocalBilling`] implements it over the hub's own database and
//! [`crate::grpc::BillingClient`] over gRPC. Every method takes the caller's [`AuthContext`].
//!
//! Who may call what:
//!
//! | method | callers |
//! |---|---|
//! | `import_snapshot` | platform admins (and the platform itself) |
//! | `tenant_billing` | the platform, platform admins, the tenant's admins and owners |
//! | `list_plans` | anyone signed in |
//! | `check_and_count`, `release`, `count_once`, `release_once`, `set_usage` | the platform itself (`Principal::System`) |
//! | `can_install` | the platform itself, the tenant's admins and owners |
//! | `list_events` | platform admins; a tenant's admins and owners for that tenant's events |
//!
//! A tenant the caller is not scoped to is reported as `not_found`, like one without a plan, so
//! ids of other workspaces do not leak; a lower role in the right tenant gets
//! `permission_denied`.

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use uuid::Uuid;

use crate::types::{ImportReport, Metric, Plan, Snapshot, TenantBilling, Usage};

/// The billing hub: imported plans and entitlements, usage per period, quota checks.
#[async_trait]
pub trait BillingApi: Send + Sync {
    /// Replaces every plan and tenant plan with `snapshot`, atomically.
    ///
    /// The snapshot is checked first and every problem is reported at once, each with its field
    /// path (`plans[2].code`, `tenants[0].plan`); a refused or failed import changes nothing.
    /// Importing the snapshot already in force (same digest) changes nothing and reports
    /// `changed: false`. Usage counters are kept across imports.
    async fn import_snapshot(&self, ctx: &AuthContext, snapshot: Snapshot) -> Result<ImportReport>;

    /// The tenant's plan, its current period and its usage; `not_found` if it has no plan.
    async fn tenant_billing(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<TenantBilling>;

    /// Every plan, by code.
    async fn list_plans(&self, ctx: &AuthContext) -> Result<Vec<Plan>>;

    /// Counts `amount` of `metric` for the tenant if the total stays within its plan's limit for
    /// the current period, and returns the new usage. Otherwise fails with the precondition
    /// `quota_exceeded` and counts nothing. Safe under any concurrency.
    async fn check_and_count(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage>;

    /// Gives back `amount` of counted usage in the current period (e.g. a saga compensating);
    /// never goes below 0.
    async fn release(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage>;

    /// [`Self::check_and_count`] once per `key` (e.g. `message:<id>`): counting again under a
    /// key this tenant's metric has counted counts nothing and returns the usage as it is, so a
    /// caller that retries after a crash cannot count the same thing twice. A refused count keeps
    /// no key. Keys are kept for the period they were counted in and the next one.
    async fn count_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
        key: &str,
    ) -> Result<Usage>;

    /// Gives back what [`Self::count_once`] counted under `key`, to the period it was counted
    /// in, once: a second call, or a key that counted nothing, gives nothing back.
    async fn release_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        key: &str,
    ) -> Result<Usage>;

    /// Sets a metric's usage, e.g. the current number of installations, whatever the limit.
    async fn set_usage(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        used: u64,
    ) -> Result<Usage>;

    /// The guard for a new installation: succeeds when the plan allows `app` and one more
    /// installation. Fails with every reason at once: `app_not_in_plan`,
    /// `installation_limit_reached`.
    async fn can_install(&self, ctx: &AuthContext, tenant_id: Uuid, app: &str) -> Result<()>;

    /// Reads the hub's event log (platform admins; tenant admins for their tenant's events).
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
