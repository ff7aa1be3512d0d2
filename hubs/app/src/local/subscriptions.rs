//! Subscriptions: the records the subscription saga makes (pending → active or failed), and
//! their life afterwards (version changes, cancellation).
//!
//! The saga's steps run as the platform, on behalf of whoever subscribed; their events name
//! that requester as the actor, so a tenant's audit log shows who subscribed, not "system".

use nave_billing::Metric;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{AuthContext, Error, NewEvent, Principal, Result, Role};
use serde_json::json;
use uuid::Uuid;

use super::{LocalApp, as_system, require_role, require_system, subscription_of};
use crate::store::SubscriptionRow;
use crate::types::{NewSubscription, Subscription, SubscriptionStatus};
use crate::validate::Checks;

/// Parses an event-log actor string (`user:<id>`, `api_key:<id>`, `system`) back to a principal.
pub(crate) fn principal_of(actor: &str) -> Option<Principal> {
    match actor {
        "system" => Some(Principal::System),
        "anonymous" => Some(Principal::Anonymous),
        other => match other.split_once(':')? {
            ("user", id) => Uuid::parse_str(id).ok().map(Principal::User),
            ("api_key", id) => Uuid::parse_str(id).ok().map(Principal::ApiKey),
            _ => None,
        },
    }
}

/// `ctx` acting as `actor` (when it parses), for recording saga events under the requester.
fn on_behalf_of(ctx: &AuthContext, actor: &str) -> AuthContext {
    let mut acting = ctx.clone();
    if let Some(principal) = principal_of(actor) {
        acting.principal = principal;
    }
    acting
}

fn not_found(id: Uuid) -> Error {
    Error::not_found(format!("no subscription `{id}`"))
}

impl LocalApp {
    /// The subscription if the caller holds at least `role` in its tenant; `not_found` otherwise.
    pub(super) async fn visible_subscription(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        role: Role,
    ) -> Result<SubscriptionRow> {
        let row = self
            .store()
            .subscription(&id.to_string())
            .await?
            .ok_or_else(|| not_found(id))?;
        let tenant = stored_id(&row.tenant_id)?;
        match require_role(ctx, tenant, role) {
            Err(e) if e.code() == "not_found" => Err(not_found(id)),
            other => other.map(|()| row),
        }
    }

    /// Keeps the billing hub's installations gauge equal to the tenant's active subscriptions,
    /// so `installation_limit_reached` counts what the tenant really has.
    async fn sync_installations(&self, ctx: &AuthContext, tenant: &str) -> Result<()> {
        let count = self.store().active_count(tenant).await?;
        let tenant_id = stored_id(tenant)?;
        let billing = &self.inner.deps.billing;
        match billing
            .set_usage(
                &as_system(ctx),
                tenant_id,
                Metric::Installations,
                count.max(0) as u64,
            )
            .await
        {
            // A tenant without a plan has no gauge to keep.
            Err(Error::NotFound(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub(super) async fn do_create_subscription(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: NewSubscription,
    ) -> Result<Subscription> {
        require_system(ctx, "record subscriptions")?;
        let id = request.id.to_string();
        if let Some(existing) = self.store().subscription(&id).await? {
            return self.replayed(existing, tenant_id, request.app_id);
        }
        let listing = self
            .store()
            .listing(&request.app_id.to_string())
            .await?
            .ok_or_else(|| Error::not_found(format!("no app `{}`", request.app_id)))?;
        let mut checks = Checks::default();
        checks.version(&request.version);
        checks.fee(request.fee.amount);
        checks.done()?;
        if self
            .store()
            .version(&listing.id, &request.version)
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                "version",
                format!(
                    "`{}` has no version {}: pick one of its recorded versions",
                    listing.name, request.version
                ),
            ));
        }
        let now = self.now_ms();
        let row = SubscriptionRow {
            id: id.clone(),
            tenant_id: tenant_id.to_string(),
            listing_id: listing.id.clone(),
            app_name: listing.name.clone(),
            version: request.version.clone(),
            previous_version: None,
            status: SubscriptionStatus::Pending.as_str().to_owned(),
            fee_amount: request.fee.amount,
            fee_currency: request.fee.currency.clone(),
            hold_id: request.hold_id.map(|h| h.to_string()),
            fee_captured: 0,
            installation_id: None,
            failure: None,
            created_by: request.requested_by.clone(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        let event = NewEvent::new(
            "app.subscription_created",
            json!({
                "subscription_id": id, "app_id": listing.id, "app": listing.name,
                "version": row.version, "fee": row.fee_amount, "hold_id": row.hold_id,
            }),
        )
        .in_tenant(tenant_id);
        let event = self.record(&on_behalf_of(ctx, &request.requested_by), event);
        if !self.store().insert_subscription(&row, &event).await? {
            // Created concurrently by a replay of the same step.
            let existing = self
                .store()
                .subscription(&id)
                .await?
                .ok_or_else(|| Error::internal_msg("subscription vanished after a conflict"))?;
            return self.replayed(existing, tenant_id, request.app_id);
        }
        subscription_of(&row)
    }

    /// A replay of `create_subscription`: the same subscription, or a conflict if the id was
    /// used for something else.
    fn replayed(
        &self,
        row: SubscriptionRow,
        tenant_id: Uuid,
        app_id: Uuid,
    ) -> Result<Subscription> {
        if row.tenant_id != tenant_id.to_string() || row.listing_id != app_id.to_string() {
            return Err(Error::conflict(format!(
                "subscription `{}` exists for another tenant or app",
                row.id
            )));
        }
        subscription_of(&row)
    }

    /// Moves a subscription from `from` to a new state made by `change`, recording `kind`.
    async fn transition(
        &self,
        ctx: &AuthContext,
        mut row: SubscriptionRow,
        from: SubscriptionStatus,
        kind: &'static str,
        payload: serde_json::Value,
        change: impl FnOnce(&mut SubscriptionRow),
    ) -> Result<Subscription> {
        change(&mut row);
        row.updated_at_ms = self.now_ms();
        let tenant_id = stored_id(&row.tenant_id)?;
        let event = self.record(ctx, NewEvent::new(kind, payload).in_tenant(tenant_id));
        if !self
            .store()
            .update_subscription(&row, from.as_str(), &event)
            .await?
        {
            return Err(Error::conflict(format!(
                "subscription `{}` changed meanwhile; read it again and retry",
                row.id
            )));
        }
        subscription_of(&row)
    }

    fn status(row: &SubscriptionRow) -> Result<SubscriptionStatus> {
        SubscriptionStatus::parse(&row.status)
    }

    pub(super) async fn do_activate(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        installation_id: Uuid,
    ) -> Result<Subscription> {
        require_system(ctx, "activate subscriptions")?;
        let row = self.visible_subscription(ctx, id, Role::Viewer).await?;
        match Self::status(&row)? {
            SubscriptionStatus::Active
                if row.installation_id.as_deref() == Some(&installation_id.to_string()) =>
            {
                return subscription_of(&row);
            }
            SubscriptionStatus::Pending => {}
            other => {
                return Err(Error::failed_precondition(
                    "subscription_not_pending",
                    format!("subscription `{id}` is {}, not pending", other.as_str()),
                ));
            }
        }
        let acting = on_behalf_of(ctx, &row.created_by);
        let captured = row.fee_amount > 0;
        let payload = json!({
            "subscription_id": id, "app": row.app_name, "version": row.version,
            "installation_id": installation_id, "fee_captured": if captured { row.fee_amount } else { 0 },
        });
        let tenant = row.tenant_id.clone();
        let sub = self
            .transition(
                &acting,
                row,
                SubscriptionStatus::Pending,
                "app.subscription_activated",
                payload,
                |r| {
                    r.status = SubscriptionStatus::Active.as_str().to_owned();
                    r.installation_id = Some(installation_id.to_string());
                    r.fee_captured = i64::from(captured);
                },
            )
            .await?;
        self.sync_installations(ctx, &tenant).await?;
        Ok(sub)
    }

    pub(super) async fn do_fail(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        reason: String,
    ) -> Result<Subscription> {
        require_system(ctx, "fail subscriptions")?;
        let row = self.visible_subscription(ctx, id, Role::Viewer).await?;
        match Self::status(&row)? {
            SubscriptionStatus::Failed => return subscription_of(&row),
            SubscriptionStatus::Pending => {}
            other => {
                return Err(Error::failed_precondition(
                    "subscription_not_pending",
                    format!("subscription `{id}` is {}, not pending", other.as_str()),
                ));
            }
        }
        let acting = on_behalf_of(ctx, &row.created_by);
        let payload = json!({ "subscription_id": id, "app": row.app_name, "reason": reason });
        self.transition(
            &acting,
            row,
            SubscriptionStatus::Pending,
            "app.subscription_failed",
            payload,
            |r| {
                r.status = SubscriptionStatus::Failed.as_str().to_owned();
                r.failure = Some(reason);
            },
        )
        .await
    }

    pub(super) async fn do_set_version(
        &self,
        ctx: &AuthContext,
        id: Uuid,
        version: String,
    ) -> Result<Subscription> {
        let row = self.visible_subscription(ctx, id, Role::Viewer).await?;
        require_role(ctx, stored_id(&row.tenant_id)?, Role::Admin)?;
        if Self::status(&row)? != SubscriptionStatus::Active {
            return Err(Error::failed_precondition(
                "subscription_not_active",
                format!(
                    "subscription `{id}` is {}: only active ones change version",
                    row.status
                ),
            ));
        }
        let mut checks = Checks::default();
        checks.version(&version);
        checks.done()?;
        if self
            .store()
            .version(&row.listing_id, &version)
            .await?
            .is_none()
        {
            return Err(Error::invalid(
                "version",
                format!(
                    "`{}` has no version {version}: pick one of its recorded versions",
                    row.app_name
                ),
            ));
        }
        if row.version == version {
            return subscription_of(&row);
        }
        let payload = json!({
            "subscription_id": id, "app": row.app_name,
            "from": row.version, "to": version, "installation_id": row.installation_id,
        });
        self.transition(
            ctx,
            row,
            SubscriptionStatus::Active,
            "app.subscription_version_changed",
            payload,
            |r| {
                r.previous_version = Some(std::mem::replace(&mut r.version, version));
            },
        )
        .await
    }

    pub(super) async fn do_cancel(&self, ctx: &AuthContext, id: Uuid) -> Result<Subscription> {
        let row = self.visible_subscription(ctx, id, Role::Viewer).await?;
        require_role(ctx, stored_id(&row.tenant_id)?, Role::Admin)?;
        let status = Self::status(&row)?;
        match status {
            SubscriptionStatus::Cancelled => return subscription_of(&row),
            SubscriptionStatus::Active => {}
            other => {
                return Err(Error::failed_precondition(
                    "subscription_not_active",
                    format!(
                        "subscription `{id}` is {}: only active ones are cancelled",
                        other.as_str()
                    ),
                ));
            }
        }
        let payload = json!({
            "subscription_id": id, "app": row.app_name, "installation_id": row.installation_id,
        });
        let tenant = row.tenant_id.clone();
        let sub = self
            .transition(
                ctx,
                row,
                status,
                "app.subscription_cancelled",
                payload,
                |r| r.status = SubscriptionStatus::Cancelled.as_str().to_owned(),
            )
            .await?;
        self.sync_installations(ctx, &tenant).await?;
        Ok(sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_parse_back_to_principals() {
        let id = nave_hub_core::ids::new_id();
        assert_eq!(
            principal_of(&format!("user:{id}")),
            Some(Principal::User(id))
        );
        assert_eq!(
            principal_of(&format!("api_key:{id}")),
            Some(Principal::ApiKey(id))
        );
        assert_eq!(principal_of("system"), Some(Principal::System));
        assert_eq!(principal_of("user:nope"), None);
    }
}
