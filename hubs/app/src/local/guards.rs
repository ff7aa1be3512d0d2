//! The guards before a subscription. Every guard is evaluated, and all failures come back
//! together as one `failed_precondition`, each with its code, so a tenant can fix them all at
//! once. The plan and the balance are asked of the billing and wallet hubs through their `Api`s.

use nave_hub_core::{AuthContext, Error, Precondition, Principal, Result, Role};
use uuid::Uuid;

use super::{LocalApp, as_system, listing_of};
use crate::types::GuardReport;

fn reason(code: &str, message: String) -> Precondition {
    Precondition {
        code: code.to_owned(),
        message,
    }
}

/// Whether the caller may subscribe the tenant to apps: its admins and owners, platform admins
/// and the platform itself.
fn is_tenant_admin(ctx: &AuthContext, tenant_id: Uuid) -> bool {
    ctx.principal == Principal::System
        || ctx.platform_admin
        || ctx
            .tenant
            .is_some_and(|s| s.tenant_id == tenant_id && s.role.includes(Role::Admin))
}

impl LocalApp {
    pub(super) async fn do_check_guards(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        app_id: Uuid,
    ) -> Result<GuardReport> {
        // Not a member: the tenant does not exist for the caller (no guard, nothing leaks).
        super::require_role(ctx, tenant_id, Role::Viewer)?;
        let listing = listing_of(&self.visible_listing(ctx, app_id).await?)?;
        if listing
            .owner_tenant_id
            .is_some_and(|owner| owner != tenant_id)
        {
            // A platform admin sees every listing, but another tenant's private app is not
            // available to this tenant.
            return Err(Error::not_found(format!("no app `{app_id}`")));
        }
        let system = as_system(ctx);
        let mut reasons = Vec::new();
        if !is_tenant_admin(ctx, tenant_id) {
            reasons.push(reason(
                "not_tenant_admin",
                "only the tenant's admins and owners may subscribe to apps: ask one of them".into(),
            ));
        }
        if listing.unlisted {
            reasons.push(reason(
                "app_unlisted",
                format!(
                    "`{}` is unlisted and takes no new subscriptions",
                    listing.name
                ),
            ));
        }
        if listing.latest_version.is_none() {
            reasons.push(reason(
                "app_has_no_version",
                format!(
                    "no version of `{}` was uploaded yet: upload its spoke first",
                    listing.name
                ),
            ));
        }
        match self
            .inner
            .deps
            .billing
            .can_install(&system, tenant_id, &listing.name)
            .await
        {
            Ok(()) => {}
            Err(Error::FailedPrecondition { reasons: r, .. }) => reasons.extend(r),
            Err(Error::NotFound(_)) => reasons.push(reason(
                "app_not_in_plan",
                "the tenant has no billing plan, so no app is included: get a plan first".into(),
            )),
            Err(other) => return Err(other),
        }
        let fee = listing.install_fee.clone();
        if fee.amount > 0 {
            let balance = self.inner.deps.wallet.balance(&system, tenant_id).await?;
            if balance.available < fee.amount {
                reasons.push(reason(
                    "insufficient_funds",
                    format!(
                        "installing `{}` costs {} {} and the wallet has {} available: top it up",
                        listing.name, fee.amount, fee.currency, balance.available
                    ),
                ));
            }
        }
        if !reasons.is_empty() {
            return Err(Error::failed_preconditions(reasons));
        }
        Ok(GuardReport {
            ok: true,
            tenant_id,
            app_id,
            app_name: listing.name,
            latest_version: listing.latest_version.unwrap_or_default(),
            fee,
        })
    }
}
