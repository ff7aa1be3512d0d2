//! Periods, counting, releasing and setting usage, and the installation guard.

use nave_hub_core::clock::{rfc3339, to_millis};
use nave_hub_core::{AuthContext, Error, Precondition, Result};
use uuid::Uuid;

use super::{
    LocalBilling, from_db, plan_of, require_installer, require_system, require_tenant_admin, to_db,
};
use crate::period::{Period, period_at};
use crate::store::{CounterKey, KeyedCount};
use crate::types::{Metric, Plan, TenantBilling, Usage};

/// A tenant's plan and the period `now` falls in.
struct Billed {
    tenant_id: String,
    plan: Plan,
    period: Period,
}

impl Billed {
    /// The counter of `metric`: one per period for messages; one for good for the installations
    /// gauge, which carries over (period start 0).
    fn key(&self, metric: Metric) -> CounterKey<'_> {
        CounterKey {
            tenant_id: &self.tenant_id,
            metric: metric.as_str(),
            period_start_ms: if metric.resets_each_period() {
                to_millis(self.period.start)
            } else {
                0
            },
        }
    }

    fn usage(&self, metric: Metric, used: i64) -> Usage {
        Usage {
            metric,
            used: from_db(used),
            limit: metric.limit(&self.plan.entitlements),
            period_start: self.period.start,
            period_end: self.period.end,
        }
    }
}

/// Checks a count or amount given by the caller: 1 or more (0 too, with `zero_ok`), and small
/// enough for the database.
fn amount(field: &str, n: u64, zero_ok: bool) -> Result<i64> {
    if n == 0 && !zero_ok {
        return Err(Error::invalid(field, "use 1 or more"));
    }
    i64::try_from(n).map_err(|_| Error::invalid(field, format!("{n} is too large")))
}

/// A caller's key for counting once: `message:<id>`-like, at most 200 bytes.
fn usage_key(key: &str) -> Result<&str> {
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::invalid(
            "key",
            "name what is counted, e.g. `message:<id>`, so a retry counts it once",
        ));
    }
    if key.len() > 200 {
        return Err(Error::invalid(
            "key",
            format!("{} bytes; keep it to 200", key.len()),
        ));
    }
    Ok(key)
}

impl LocalBilling {
    /// The tenant's plan and current period; `not_found` if it has none.
    async fn billed(&self, tenant_id: Uuid) -> Result<Billed> {
        let row = self
            .store()
            .tenant_plan(&tenant_id.to_string())
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no plan for tenant `{tenant_id}`: the billing system's snapshot gives it none"
                ))
            })?;
        let anchor = u8::try_from(row.anchor_day)
            .map_err(|_| Error::internal_msg(format!("anchor day {} stored", row.anchor_day)))?;
        Ok(Billed {
            tenant_id: tenant_id.to_string(),
            plan: plan_of(&row.plan)?,
            period: period_at(self.inner.clock.now(), anchor)?,
        })
    }

    pub(super) async fn do_tenant_billing(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
    ) -> Result<TenantBilling> {
        require_tenant_admin(ctx, tenant_id)?;
        let billed = self.billed(tenant_id).await?;
        let mut usage = Vec::with_capacity(Metric::ALL.len());
        for metric in Metric::ALL {
            let used = self.store().used(billed.key(metric)).await?;
            usage.push(billed.usage(metric, used));
        }
        Ok(TenantBilling {
            tenant_id,
            period_start: billed.period.start,
            period_end: billed.period.end,
            plan: billed.plan,
            usage,
        })
    }

    pub(super) async fn do_check_and_count(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        n: u64,
    ) -> Result<Usage> {
        require_system(ctx)?;
        let n = amount("amount", n, false)?;
        let billed = self.billed(tenant_id).await?;
        let limit = metric.limit(&billed.plan.entitlements);
        let db_limit = limit.map(to_db).transpose()?;
        match self.store().count(billed.key(metric), n, db_limit).await? {
            Some(used) => Ok(billed.usage(metric, used)),
            None => Err(self.over_quota(&billed, metric, n).await),
        }
    }

    pub(super) async fn do_count_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        n: u64,
        key: &str,
    ) -> Result<Usage> {
        require_system(ctx)?;
        let n = amount("amount", n, false)?;
        let key = usage_key(key)?;
        let billed = self.billed(tenant_id).await?;
        let limit = metric.limit(&billed.plan.entitlements);
        let db_limit = limit.map(to_db).transpose()?;
        match self
            .store()
            .count_once(billed.key(metric), n, db_limit, key)
            .await?
        {
            KeyedCount::Counted(used) | KeyedCount::Already(used) => Ok(billed.usage(metric, used)),
            KeyedCount::Refused => Err(self.over_quota(&billed, metric, n).await),
        }
    }

    /// `quota_exceeded`, with the usage as it is now.
    async fn over_quota(&self, billed: &Billed, metric: Metric, n: i64) -> Error {
        let used = match self.store().used(billed.key(metric)).await {
            Ok(used) => used,
            Err(error) => return error,
        };
        let of = match metric.limit(&billed.plan.entitlements) {
            Some(limit) => format!("{used} of {limit} used"),
            None => format!("{used} used, the most a counter holds"),
        };
        Error::failed_precondition(
            "quota_exceeded",
            format!(
                "{metric}: {of} (plan `{code}`), {n} more would exceed the limit; \
                 the period ends {end}",
                code = billed.plan.code,
                end = rfc3339(billed.period.end),
            ),
        )
    }

    pub(super) async fn do_release_once(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        key: &str,
    ) -> Result<Usage> {
        require_system(ctx)?;
        let key = usage_key(key)?;
        let billed = self.billed(tenant_id).await?;
        let used = self.store().release_once(billed.key(metric), key).await?;
        Ok(billed.usage(metric, used))
    }

    pub(super) async fn do_release(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        n: u64,
    ) -> Result<Usage> {
        require_system(ctx)?;
        let n = amount("amount", n, false)?;
        let billed = self.billed(tenant_id).await?;
        let used = self.store().release(billed.key(metric), n).await?;
        Ok(billed.usage(metric, used))
    }

    pub(super) async fn do_set_usage(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        metric: Metric,
        used: u64,
    ) -> Result<Usage> {
        require_system(ctx)?;
        let used = amount("used", used, true)?;
        let billed = self.billed(tenant_id).await?;
        let used = self.store().set(billed.key(metric), used).await?;
        Ok(billed.usage(metric, used))
    }

    pub(super) async fn do_can_install(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        app: &str,
    ) -> Result<()> {
        require_installer(ctx, tenant_id)?;
        if app.trim().is_empty() {
            return Err(Error::invalid("app", "name the app to install"));
        }
        let billed = self.billed(tenant_id).await?;
        let code = &billed.plan.code;
        let mut reasons = Vec::new();
        if !billed.plan.entitlements.apps.allows(app) {
            reasons.push(Precondition {
                code: "app_not_in_plan".into(),
                message: format!("the plan `{code}` does not include the app `{app}`"),
            });
        }
        let metric = Metric::Installations;
        if let Some(limit) = metric.limit(&billed.plan.entitlements) {
            let used = from_db(self.store().used(billed.key(metric)).await?);
            if used >= limit {
                reasons.push(Precondition {
                    code: "installation_limit_reached".into(),
                    message: format!(
                        "the plan `{code}` allows {limit} installations and {used} exist: \
                         remove one first"
                    ),
                });
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Error::failed_preconditions(reasons))
        }
    }
}
