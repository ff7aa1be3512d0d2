//! [`AppApi`]: everything the app hub does, as one async trait.
//!
//! [`crate::LocalApp`] implements it over the hub's own database and [`crate::grpc::AppClient`]
//! over gRPC. Every method takes the caller's [`AuthContext`].
//!
//! Who may call what:
//!
//! | method | callers |
//! |---|---|
//! | `create_listing`, `update_listing` | public listings: platform admins; private ones: the owner tenant's admins and owners |
//! | `record_version` | the platform (the host, on upload), platform admins; a private listing's tenant admins |
//! | `list_catalogue(None)` | platform admins (every listing, unlisted ones too) |
//! | `list_catalogue(Some(t))`, `find_listing` | members of `t`: public and `t`'s private listings |
//! | `get_listing`, `list_versions` | anyone signed in for public listings; members of the owner tenant for private ones |
//! | `check_guards` | members of the tenant (who is not an admin gets the `not_tenant_admin` guard) |
//! | `list_subscriptions`, `get_subscription` | members of the tenant, platform admins |
//! | `set_version`, `cancel_subscription` | the tenant's admins and owners, platform admins, the platform |
//! | `create_subscription`, `activate_subscription`, `fail_subscription` | the platform only: steps of the subscription saga |
//! | `list_events` | platform admins; a tenant's admins for that tenant's events |
//!
//! A tenant the caller has no scope in, and a private listing of another tenant, are reported
//! as `not_found`, so ids of other workspaces do not leak.
//!
//! The subscription saga ([`crate::saga`]) runs where the [`crate::saga::Installer`] is — in the
//! host process, next to the wasm runtime — and drives the hub through `check_guards`,
//! `create_subscription`, `activate_subscription` and `fail_subscription`, which is why those
//! are part of this trait (and of gRPC) while `subscribe` itself is not.

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result};
use uuid::Uuid;

use crate::types::{
    AppVersion, GuardReport, Listing, ListingChange, NewListing, NewSubscription, NewVersion,
    Subscription,
};

/// The app hub: the catalogue, its versions and tenants' subscriptions.
#[async_trait]
pub trait AppApi: Send + Sync {
    /// Adds a listing: public when `owner_tenant_id` is `None`, else private to that tenant.
    /// A private name is unique within its tenant and may not shadow a public one; a public
    /// name may not be used by any listing yet (`conflict`).
    async fn create_listing(&self, ctx: &AuthContext, request: NewListing) -> Result<Listing>;

    /// Changes a listing's fields; `unlisted: true` hides it from new subscriptions.
    async fn update_listing(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        change: ListingChange,
    ) -> Result<Listing>;

    /// One listing.
    async fn get_listing(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Listing>;

    /// The listing named `name` as `tenant` sees it (its private one or the public one), or the
    /// public one when `tenant` is `None`.
    async fn find_listing(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
        name: &str,
    ) -> Result<Listing>;

    /// The catalogue, by name: for a tenant, the listed public apps and its own private ones;
    /// without one (platform admins), every listing.
    async fn list_catalogue(
        &self,
        ctx: &AuthContext,
        tenant_id: Option<Uuid>,
    ) -> Result<Vec<Listing>>;

    /// Records an uploaded version. Idempotent on (app, version, sha256); the same version with
    /// another digest is a `conflict`, a role other than the listing's `invalid_argument`.
    async fn record_version(
        &self,
        ctx: &AuthContext,
        app_id: Uuid,
        request: NewVersion,
    ) -> Result<AppVersion>;

    /// A listing's versions, newest first (semver order).
    async fn list_versions(&self, ctx: &AuthContext, app_id: Uuid) -> Result<Vec<AppVersion>>;

    /// Evaluates every guard of a new subscription and returns all failures together as
    /// `failed_precondition` with the codes `not_tenant_admin`, `app_unlisted`,
    /// `app_has_no_version`, `app_not_in_plan`, `installation_limit_reached` and
    /// `insufficient_funds`.
    async fn check_guards(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        app_id: Uuid,
    ) -> Result<GuardReport>;

    /// Records a `pending` subscription (saga step). Idempotent on `request.id`.
    async fn create_subscription(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
        request: NewSubscription,
    ) -> Result<Subscription>;

    /// Marks a pending subscription `active` with its installation and the fee captured (saga
    /// step); a replay on the active subscription returns it.
    async fn activate_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        installation_id: Uuid,
    ) -> Result<Subscription>;

    /// Marks a pending subscription `failed` (saga compensation); a replay returns it as it is.
    async fn fail_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        reason: String,
    ) -> Result<Subscription>;

    /// A tenant's subscriptions, newest first.
    async fn list_subscriptions(
        &self,
        ctx: &AuthContext,
        tenant_id: Uuid,
    ) -> Result<Vec<Subscription>>;

    /// One subscription.
    async fn get_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription>;

    /// Pins another version of the app (upgrade or rollback) on an active subscription and
    /// records the previous one; the version must exist on the listing. The host applies it to
    /// the runtime installation.
    async fn set_version(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
        version: String,
    ) -> Result<Subscription>;

    /// Marks a subscription `cancelled`. The host calls the spoke's `uninstall()` and removes the
    /// runtime installation (see [`crate::saga::Subscriber::unsubscribe`]).
    async fn cancel_subscription(
        &self,
        ctx: &AuthContext,
        subscription_id: Uuid,
    ) -> Result<Subscription>;

    /// Reads the hub's event log.
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
