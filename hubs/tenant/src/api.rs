//! [`TenantApi`]: everything the tenant hub does, as one async trait.
//!
//! [`crate::LocalTenant`] implements it over the hub's own database and
//! [`crate::grpc::TenantClient`] over gRPC. Every method takes the caller's [`AuthContext`].
//! Methods taking `tenant: &str` accept the tenant's slug or its id. A tenant the caller may not
//! see (not a member, not a platform admin) is reported as `not_found`, exactly like one that does
//! not exist, so ids and slugs of other workspaces do not leak.

use async_trait::async_trait;
use nave_hub_core::{AuthContext, EventPage, EventScope, Result, Role};
use uuid::Uuid;

use crate::permissions::Permission;
use crate::types::{CreatedInvitation, Invitation, Member, NewInvitation, NewTenant, Tenant};

/// The tenant hub: workspaces, memberships, roles and invitations.
#[async_trait]
pub trait TenantApi: Send + Sync {
    /// Creates a workspace; the calling user becomes its owner.
    async fn create_tenant(&self, ctx: &AuthContext, request: NewTenant) -> Result<Tenant>;

    /// One workspace, for its members and platform admins.
    async fn get_tenant(&self, ctx: &AuthContext, tenant: &str) -> Result<Tenant>;

    /// The calling user's workspaces, with their role in each.
    async fn list_my_tenants(&self, ctx: &AuthContext) -> Result<Vec<Tenant>>;

    /// The members of a workspace (any member; platform admins).
    async fn list_members(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Member>>;

    /// Adds a user as a member (`manage_members`; only owners grant `owner`).
    async fn add_member(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member>;

    /// Changes a member's role (`manage_members`; only owners grant `owner` or change an owner;
    /// the last owner cannot be demoted).
    async fn set_role(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member>;

    /// Removes a member (`manage_members`; only owners remove owners; never the last owner).
    async fn remove_member(&self, ctx: &AuthContext, tenant: &str, user_id: Uuid) -> Result<()>;

    /// The calling user leaves the workspace (not if they are its last owner).
    async fn leave(&self, ctx: &AuthContext, tenant: &str) -> Result<()>;

    /// Makes another member an owner and the calling owner an admin.
    async fn transfer_ownership(&self, ctx: &AuthContext, tenant: &str, to: Uuid) -> Result<()>;

    /// Invites an email address with a role (`manage_members`; only owners invite owners).
    async fn create_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        request: NewInvitation,
    ) -> Result<CreatedInvitation>;

    /// A workspace's invitations, newest first (`manage_members`; platform admins).
    async fn list_invitations(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Invitation>>;

    /// Withdraws a pending invitation (`manage_members`).
    async fn revoke_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        invitation_id: Uuid,
    ) -> Result<()>;

    /// Accepts an invitation: the calling user joins with the invitation's role.
    async fn accept_invitation(&self, ctx: &AuthContext, token: &str) -> Result<Member>;

    /// The role of `user_id` in `tenant_id`, `None` if not a member. Allowed to that user, to
    /// platform admins and to the platform itself (other hubs and the host).
    async fn role_of(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
    ) -> Result<Option<Role>>;

    /// Succeeds with the user's role when they may do `permission` in the tenant; fails with
    /// `not_found` for non-members and `permission_denied` for a role without it. Same callers
    /// as [`TenantApi::role_of`].
    async fn check(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
        permission: Permission,
    ) -> Result<Role>;

    /// Resolves `tenant` (slug or id) for the caller of `ctx` — a user, an API key scoped to it,
    /// a platform admin or the platform — and checks they may do `permission` there. Returns the
    /// tenant with the caller's role. The gateway calls this once per tenant-scoped request.
    ///
    /// Fails with `unauthenticated` for anonymous callers, `not_found` for tenants the caller may
    /// not see (exactly like missing ones) and `permission_denied` for a role without
    /// `permission`. Platform admins who are not members hold the read-only permissions only.
    async fn authorize(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        permission: Permission,
    ) -> Result<Tenant>;

    /// Reads the hub's event log (platform admins; tenant admins for their tenant's events).
    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage>;
}
