//! [`LocalBilling`]: the billing hub running in this process, over its own database.
//!
//! - this module: opening the hub, who may call what, row conversions and the [`BillingApi`]
//!   impl;
//! - `import`: importing snapshots, listing plans, the event log;
//! - `usage`: periods, counting, releasing and setting usage, the installation guard.

mod import;
mod usage;

use std::sync::Arc;

use async_trait::async_trait;
use nave_hub_core::events::EventRecord;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, NewEvent, Principal,
    Result, Role,
};
use uuid::Uuid;

use crate::api::BillingApi;
use crate::store::{BillingStore, PlanRow};
use crate::types::{
    AppsAllowed, Entitlements, ImportReport, Metric, Plan, Snapshot, TenantBilling, Usage,
};

/// Settings of the billing hub. The host fills this in; nothing here reads the environment.
///
/// There is nothing to set yet: plans, limits and anchor days all come from the imported
/// snapshot. The type exists so settings can be added without changing [`LocalBilling::open`].
#[derive(Debug, Clone, Default)]
pub struct BillingConfig {}

/// The billing hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalBilling {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: BillingStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    /// Kept for settings to come (see [`BillingConfig`]).
    _config: BillingConfig,
}

impl LocalBilling {
    /// Opens the hub: connects to its database and runs migrations.
    pub async fn open(db: &DbConfig, config: BillingConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = BillingStore::open(db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                _config: config,
            }),
        })
    }

    fn store(&self) -> &BillingStore {
        &self.inner.store
    }

    fn record(&self, ctx: &AuthContext, event: NewEvent) -> EventRecord {
        event.record(ctx, self.inner.clock.now_ms())
    }
}

/// Succeeds for the platform itself only (other hubs, the host, sagas).
fn require_system(ctx: &AuthContext) -> Result<()> {
    match ctx.principal {
        Principal::System => Ok(()),
        Principal::Anonymous => Err(Error::unauthenticated("sign in first")),
        _ => Err(Error::permission_denied(
            "only the platform itself counts usage: this is not an operation for users or API keys",
        )),
    }
}

/// Succeeds for the platform, platform admins and the tenant's admins and owners.
fn require_tenant_admin(ctx: &AuthContext, tenant_id: Uuid) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    ctx.require_tenant_role(tenant_id, Role::Admin)
}

/// Succeeds for the platform and the tenant's admins and owners (not platform admins: the guard
/// is asked on behalf of a tenant about to install something).
fn require_installer(ctx: &AuthContext, tenant_id: Uuid) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    match ctx.tenant {
        _ if ctx.principal == Principal::Anonymous => Err(Error::unauthenticated("sign in first")),
        Some(scope) if scope.tenant_id == tenant_id => {
            ctx.require_tenant_role(tenant_id, Role::Admin)
        }
        _ if ctx.platform_admin => Err(Error::permission_denied(
            "the installation guard is asked by the platform or by the tenant's admins",
        )),
        _ => Err(Error::not_found(format!("no tenant `{tenant_id}`"))),
    }
}

fn plan_of(row: &PlanRow) -> Result<Plan> {
    let corrupt =
        |what: &str| Error::internal_msg(format!("plan `{}`: stored {what} is corrupt", row.code));
    Ok(Plan {
        code: row.code.clone(),
        name: row.name.clone(),
        entitlements: Entitlements {
            messages_per_period: row
                .messages_per_period
                .map(u64::try_from)
                .transpose()
                .map_err(|_| corrupt("message limit"))?,
            installations: row
                .installations
                .map(u32::try_from)
                .transpose()
                .map_err(|_| corrupt("installation limit"))?,
            apps: serde_json::from_str::<AppsAllowed>(&row.apps).map_err(|_| corrupt("apps"))?,
        },
    })
}

fn plan_row(plan: &Plan) -> Result<PlanRow> {
    let e = &plan.entitlements;
    Ok(PlanRow {
        code: plan.code.clone(),
        name: plan.name.trim().to_owned(),
        messages_per_period: e.messages_per_period.map(to_db).transpose()?,
        installations: e.installations.map(i64::from),
        apps: serde_json::to_string(&e.apps).map_err(Error::internal)?,
    })
}

/// A count for a BIGINT column (checked by validation; this only guards the conversion).
fn to_db(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid("amount", format!("{n} is too large")))
}

/// A BIGINT counter read back; never negative by construction.
fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[async_trait]
impl BillingApi for LocalBilling {
    async fn import_snapshot(&self, ctx: &AuthContext, snapshot: Snapshot) -> Result<ImportReport> {
        self.do_import(ctx, snapshot).await
    }

    async fn tenant_billing(&self, ctx: &AuthContext, tenant_id: Uuid) -> Result<TenantBilling> {
        self.do_tenant_billing(ctx, tenant_id).await
    }

    async fn list_plans(&self, ctx: &AuthContext) -> Result<Vec<Plan>> {
        self.do_list_plans(ctx).await
    }

    async fn check_and_count(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage> {
        self.do_check_and_count(ctx, tenant_id, metric, amount)
            .await
    }

    async fn release(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
    ) -> Result<Usage> {
        self.do_release(ctx, tenant_id, metric, amount).await
    }

    async fn count_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        amount: u64,
        key: &str,
    ) -> Result<Usage> {
        self.do_count_once(ctx, tenant_id, metric, amount, key)
            .await
    }

    async fn release_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        key: &str,
    ) -> Result<Usage> {
        self.do_release_once(ctx, tenant_id, metric, key).await
    }

    async fn set_usage(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        used: u64,
    ) -> Result<Usage> {
        self.do_set_usage(ctx, tenant_id, metric, used).await
    }

    async fn can_install(&self, ctx: &AuthContext, tenant_id: Uuid, app: &str) -> Result<()> {
        self.do_can_install(ctx, tenant_id, app).await
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        match scope {
            _ if ctx.platform_admin => {}
            EventScope::Tenant(tenant) => ctx.require_tenant_role(tenant, Role::Admin)?,
            _ => ctx.require_platform_admin()?,
        }
        self.inner.events.read(scope, after_seq, limit).await
    }
}
