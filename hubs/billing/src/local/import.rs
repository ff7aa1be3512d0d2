//! Importing snapshots and listing plans.

use nave_hub_core::{AuthContext, Error, NewEvent, Principal, Result};
use serde_json::json;

use super::{LocalBilling, plan_of, plan_row};
use crate::snapshot::{canonical, digest, validate};
use crate::store::TenantPlanRow;
use crate::types::{ImportReport, Plan, Snapshot};

impl LocalBilling {
    pub(super) async fn do_import(
        &self,
        ctx: &AuthContext,
        snapshot: Snapshot,
    ) -> Result<ImportReport> {
        ctx.require_platform_admin()?;
        validate(&snapshot)?;
        let snapshot = canonical(snapshot);
        let digest = digest(&snapshot)?;
        let plans = snapshot
            .plans
            .iter()
            .map(plan_row)
            .collect::<Result<Vec<_>>>()?;
        let tenants: Vec<TenantPlanRow> = snapshot
            .tenants
            .iter()
            .map(|t| TenantPlanRow {
                tenant_id: t.tenant_id.to_string(),
                plan_code: t.plan.clone(),
                anchor_day: i64::from(t.period_anchor_day),
            })
            .collect();
        let event = NewEvent::new(
            "billing.snapshot_imported",
            json!({ "digest": digest, "plans": plans.len(), "tenants": tenants.len() }),
        );
        let record = self.record(ctx, event);
        let now = self.inner.clock.now_ms();
        let changed = self
            .store()
            .import(&digest, &plans, &tenants, now, &record)
            .await?;
        tracing::info!(%digest, changed, plans = plans.len(), tenants = tenants.len(), "billing snapshot imported");
        Ok(ImportReport {
            digest,
            changed,
            plans: plans.len(),
            tenants: tenants.len(),
        })
    }

    pub(super) async fn do_list_plans(&self, ctx: &AuthContext) -> Result<Vec<Plan>> {
        if ctx.principal == Principal::Anonymous {
            return Err(Error::unauthenticated("sign in first"));
        }
        let rows = self.store().plans().await?;
        rows.iter().map(plan_of).collect()
    }
}
