//! [`LocalApp`]: the app hub running in this process, over its own database.
//!
//! - this module: opening the hub, who may call what, row conversions and the [`AppApi`] impl;
//! - `listings`: the catalogue and its versions;
//! - `guards`: the checks before a subscription, over the billing and wallet hubs' `Api`s;
//! - `subscriptions`: subscriptions' records and their life cycle.

mod guards;
mod listings;
mod subscriptions;

use std::sync::Arc;

use async_trait::async_trait;
use nave_billing::BillingApi;
use nave_hub_core::clock::from_millis;
use nave_hub_core::events::EventRecord;
use nave_hub_core::ids::stored_id;
use nave_hub_core::saga::SagaRunner;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, NewEvent, Principal,
    Result, Role,
};
use nave_wallet::WalletApi;
use uuid::Uuid;

use crate::api::AppApi;
use crate::store::{AppStore, ListingRow, SubscriptionRow, VersionRow};
use crate::types::{
    AppRole, AppVersion, Fee, GuardReport, Listing, ListingChange, NewListing, NewSubscription,
    NewVersion, Subscription, SubscriptionStatus, Visibility,
};

/// Settings of the app hub. The host fills this in; nothing here reads the environment.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The platform's one currency (ISO 4217), the wallet hub's; install fees are in it.
    pub currency: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            currency: "EUR".into(),
        }
    }
}

/// The other hubs the app hub asks, through their `Api`s (local or gRPC), never their tables.
#[derive(Clone)]
pub struct Dependencies {
    /// Plans and installation limits (the `app_not_in_plan` and `installation_limit_reached`
    /// guards; the installations gauge kept equal to the active subscriptions).
    pub billing: Arc<dyn BillingApi>,
    /// Balances (the `insufficient_funds` guard).
    pub wallet: Arc<dyn WalletApi>,
}

impl std::fmt::Debug for Dependencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dependencies { billing, wallet }")
    }
}

/// The app hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalApp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: AppStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    config: AppConfig,
    deps: Dependencies,
}

impl LocalApp {
    /// Opens the hub: connects to its database and runs migrations.
    pub async fn open(
        db: &DbConfig,
        config: AppConfig,
        deps: Dependencies,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let store = AppStore::open(db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                config,
                deps,
            }),
        })
    }

    /// A saga runner over this hub's database, for running the subscription saga in this
    /// process (see [`crate::saga::Subscriber`]).
    pub fn saga_runner(&self) -> SagaRunner {
        SagaRunner::new(self.inner.store.db().clone(), self.inner.clock.clone())
    }

    fn store(&self) -> &AppStore {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn record(&self, ctx: &AuthContext, event: NewEvent) -> EventRecord {
        event.record(ctx, self.now_ms())
    }
}

/// The platform itself (the host, sagas) acting for `ctx`'s request: same correlation id.
pub(crate) fn as_system(ctx: &AuthContext) -> AuthContext {
    AuthContext::system().with_correlation_id(ctx.correlation_id.clone())
}

/// Succeeds for the platform itself only.
fn require_system(ctx: &AuthContext, what: &str) -> Result<()> {
    match ctx.principal {
        Principal::System => Ok(()),
        Principal::Anonymous => Err(Error::unauthenticated("sign in first")),
        _ => Err(Error::permission_denied(format!(
            "only the platform itself may {what}: subscribe through the subscription saga"
        ))),
    }
}

/// Succeeds for the platform, platform admins and callers holding at least `role` in the tenant.
fn require_role(ctx: &AuthContext, tenant_id: Uuid, role: Role) -> Result<()> {
    if ctx.principal == Principal::System {
        return Ok(());
    }
    ctx.require_tenant_role(tenant_id, role)
}

fn listing_of(row: &ListingRow) -> Result<Listing> {
    let owner = row.owner_tenant_id.as_deref().map(stored_id).transpose()?;
    Ok(Listing {
        id: stored_id(&row.id)?,
        name: row.name.clone(),
        display_name: row.display_name.clone(),
        description: row.description.clone(),
        publisher: row.publisher.clone(),
        role: AppRole::parse("role", &row.role).map_err(|e| Error::internal_msg(e.to_string()))?,
        icon_url: row.icon_url.clone(),
        install_fee: Fee {
            amount: row.fee_amount,
            currency: row.fee_currency.clone(),
        },
        visibility: if owner.is_some() {
            Visibility::Private
        } else {
            Visibility::Public
        },
        owner_tenant_id: owner,
        unlisted: row.unlisted != 0,
        latest_version: row.latest_version.clone(),
        created_by: row.created_by.clone(),
        created_at: from_millis(row.created_at_ms)?,
        updated_at: from_millis(row.updated_at_ms)?,
    })
}

fn version_of(row: &VersionRow) -> Result<AppVersion> {
    Ok(AppVersion {
        app_id: stored_id(&row.listing_id)?,
        version: row.version.clone(),
        sha256: row.sha256.clone(),
        role: AppRole::parse("role", &row.role).map_err(|e| Error::internal_msg(e.to_string()))?,
        uploaded_by: row.uploaded_by.clone(),
        uploaded_at: from_millis(row.uploaded_at_ms)?,
    })
}

fn subscription_of(row: &SubscriptionRow) -> Result<Subscription> {
    Ok(Subscription {
        id: stored_id(&row.id)?,
        tenant_id: stored_id(&row.tenant_id)?,
        app_id: stored_id(&row.listing_id)?,
        app_name: row.app_name.clone(),
        version: row.version.clone(),
        previous_version: row.previous_version.clone(),
        status: SubscriptionStatus::parse(&row.status)?,
        fee: Fee {
            amount: row.fee_amount,
            currency: row.fee_currency.clone(),
        },
        hold_id: row.hold_id.as_deref().map(stored_id).transpose()?,
        fee_captured: row.fee_captured != 0,
        installation_id: row.installation_id.as_deref().map(stored_id).transpose()?,
        failure: row.failure.clone(),
        created_by: row.created_by.clone(),
        created_at: from_millis(row.created_at_ms)?,
        updated_at: from_millis(row.updated_at_ms)?,
    })
}

#[async_trait]
impl AppApi for LocalApp {
    #[tracing::instrument(skip_all, fields(app = %request.name, correlation_id = %ctx.correlation_id))]
    async fn create_listing(&self, ctx: &AuthContext, request: NewListing) -> Result<Listing> {
        self.do_create_listing(ctx, request).await
    }

    #[tracing::instrument(skip_all, fields(app = %app_id, correlation_id = %ctx.correlation_id))]
    async fn update_listing(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        change: ListingChange,
    ) -> Result<Listing> {
        self.do_update_listing(ctx, app_id, change).await
    }

    async fn get_listing(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Listing> {
        listing_of(&self.visible_listing(ctx, app_id).await?)
    }

    async fn find_listing(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
        name: &str,
    ) -> Result<Listing> {
        self.do_find_listing(ctx, tenant_id, name).await
    }

    async fn list_catalogue(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<Vec<Listing>> {
        self.do_list_catalogue(ctx, tenant_id).await
    }

    #[tracing::instrument(skip_all, fields(app = %app_id, correlation_id = %ctx.correlation_id))]
    async fn record_version(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        request: NewVersion,
    ) -> Result<AppVersion> {
        self.do_record_version(ctx, app_id, request).await
    }

    async fn list_versions(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Vec<AppVersion>> {
        self.do_list_versions(ctx, app_id).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, app = %app_id, correlation_id = %ctx.correlation_id))]
    async fn check_guards(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        app_id: Uuid,
    ) -> Result<GuardReport> {
        self.do_check_guards(ctx, tenant_id, app_id).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant_id, subscription = %request.id, correlation_id = %ctx.correlation_id))]
    async fn create_subscription(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: NewSubscription,
    ) -> Result<Subscription> {
        self.do_create_subscription(ctx, tenant_id, request).await
    }

    #[tracing::instrument(skip_all, fields(subscription = %subscription_id, correlation_id = %ctx.correlation_id))]
    async fn activate_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        installation_id: Uuid,
    ) -> Result<Subscription> {
        self.do_activate(ctx, subscription_id, installation_id)
            .await
    }

    #[tracing::instrument(skip_all, fields(subscription = %subscription_id, correlation_id = %ctx.correlation_id))]
    async fn fail_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        reason: String,
    ) -> Result<Subscription> {
        self.do_fail(ctx, subscription_id, reason).await
    }

    async fn list_subscriptions(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
    ) -> Result<Vec<Subscription>> {
        require_role(ctx, tenant_id, Role::Viewer)?;
        self.store()
            .subscriptions(&tenant_id.to_string())
            .await?
            .iter()
            .map(subscription_of)
            .collect()
    }

    async fn get_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription> {
        subscription_of(
            &self
                .visible_subscription(ctx, subscription_id, Role::Viewer)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, fields(subscription = %subscription_id, correlation_id = %ctx.correlation_id))]
    async fn set_version(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        version: String,
    ) -> Result<Subscription> {
        self.do_set_version(ctx, subscription_id, version).await
    }

    #[tracing::instrument(skip_all, fields(subscription = %subscription_id, correlation_id = %ctx.correlation_id))]
    async fn cancel_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription> {
        self.do_cancel(ctx, subscription_id).await
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
