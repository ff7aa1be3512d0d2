//! [`LocalTenant`]: the tenant hub running in this process, over its own database.
//!
//! - this module: opening the hub, who the caller is in a tenant ([`LocalTenant::authorize`]),
//!   row conversions and the [`TenantApi`] impl;
//! - `tenants`: creating and reading workspaces, `role_of`/`check`, the event log;
//! - `members`: adding, changing, removing members, leaving, transferring ownership;
//! - `invitations`: creating, listing, revoking and accepting invitations.

mod invitations;
mod members;
mod tenants;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nave_hub_core::clock::from_millis;
use nave_hub_core::events::EventRecord;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{
    AuthContext, Clock, DbConfig, Error, EventLog, EventPage, EventScope, NewEvent, Principal,
    Result, Role,
};
use uuid::Uuid;

use crate::api::TenantApi;
use crate::permissions::{Permission, allows};
use crate::store::{MemberRow, TenantRow, TenantStore};
use crate::types::{CreatedInvitation, Invitation, Member, NewInvitation, NewTenant, Tenant};

/// Settings of the tenant hub. The host fills this in; nothing here reads the environment.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// How long an invitation can be accepted.
    pub invitation_ttl: Duration,
}

impl Default for TenantConfig {
    fn default() -> Self {
        Self {
            invitation_ttl: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// The tenant hub in this process. Cheap to clone; clones share one hub.
#[derive(Clone, Debug)]
pub struct LocalTenant {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: TenantStore,
    events: EventLog,
    clock: Arc<dyn Clock>,
    config: TenantConfig,
}

/// The caller's standing in one tenant, once authorized.
#[derive(Debug)]
struct Access {
    /// The tenant.
    tenant: TenantRow,
    /// Its id, parsed.
    tenant_id: Uuid,
    /// The caller's role; `None` for a platform admin who is not a member.
    role: Option<Role>,
}

impl Access {
    fn is_owner(&self) -> bool {
        self.role == Some(Role::Owner)
    }
}

impl LocalTenant {
    /// Opens the hub: connects to its database and runs migrations.
    pub async fn open(db: &DbConfig, config: TenantConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = TenantStore::open(db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                events: EventLog::new(store.db().clone()),
                store,
                clock,
                config,
            }),
        })
    }

    fn store(&self) -> &TenantStore {
        &self.inner.store
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn record(&self, ctx: &AuthContext, event: NewEvent) -> EventRecord {
        event.record(ctx, self.now_ms())
    }

    /// Finds a tenant by slug or id.
    async fn find(&self, tenant: &str) -> Result<Option<TenantRow>> {
        match Uuid::parse_str(tenant.trim()) {
            Ok(id) => self.store().tenant_by_id(&id.to_string()).await,
            Err(_) => self.store().tenant_by_slug(tenant.trim()).await,
        }
    }

    /// The caller's role in a tenant: a user's membership, an API key's scope, or owner powers
    /// for the platform itself (`system`).
    async fn caller_role(&self, ctx: &AuthContext, tenant: &TenantRow) -> Result<Option<Role>> {
        Ok(match ctx.principal {
            Principal::Anonymous => None,
            Principal::System => Some(Role::Owner),
            Principal::User(user) => match self
                .store()
                .membership(&tenant.id, &user.to_string())
                .await?
            {
                Some(row) => Some(row.role.parse()?),
                None => None,
            },
            Principal::ApiKey(_) => ctx
                .tenant
                .filter(|scope| scope.tenant_id.to_string() == tenant.id)
                .map(|scope| scope.role),
        })
    }

    /// Checks that the caller may do `permission` in `tenant`.
    ///
    /// Anonymous callers get `unauthenticated`; callers who are not members get `not_found`, the
    /// same as for a tenant that does not exist, except platform admins, who may read any tenant
    /// (and, with `admin_reads`, also read what `permission` guards). A member whose role lacks
    /// the permission gets `permission_denied`.
    async fn authorize(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        permission: Permission,
        admin_reads: bool,
    ) -> Result<Access> {
        if ctx.principal == Principal::Anonymous {
            return Err(Error::unauthenticated("sign in first"));
        }
        let hidden = || Error::not_found(format!("no tenant `{tenant}`"));
        let row = self.find(tenant).await?.ok_or_else(hidden)?;
        let role = self.caller_role(ctx, &row).await?;
        match role {
            Some(role) if allows(role, permission) => {}
            Some(role) => {
                return Err(Error::permission_denied(format!(
                    "your role `{role}` in this tenant does not allow `{permission}`"
                )));
            }
            None if ctx.platform_admin && (permission.is_read_only() || admin_reads) => {}
            None if ctx.platform_admin => {
                return Err(Error::permission_denied(
                    "platform administrators may read any tenant but change only tenants they are members of",
                ));
            }
            None => return Err(hidden()),
        }
        Ok(Access {
            tenant_id: stored_id(&row.id)?,
            tenant: row,
            role,
        })
    }
}

fn tenant_of(row: &TenantRow, role: Option<Role>) -> Result<Tenant> {
    Ok(Tenant {
        id: stored_id(&row.id)?,
        slug: row.slug.clone(),
        name: row.name.clone(),
        created_at: from_millis(row.created_at_ms)?,
        role,
    })
}

fn member_of(row: &MemberRow) -> Result<Member> {
    Ok(Member {
        tenant_id: stored_id(&row.tenant_id)?,
        user_id: stored_id(&row.user_id)?,
        role: row.role.parse()?,
        joined_at: from_millis(row.created_at_ms)?,
    })
}

#[async_trait]
impl TenantApi for LocalTenant {
    async fn create_tenant(&self, ctx: &AuthContext, request: NewTenant) -> Result<Tenant> {
        self.do_create_tenant(ctx, request).await
    }

    async fn get_tenant(&self, ctx: &AuthContext, tenant: &str) -> Result<Tenant> {
        let access = self
            .authorize(ctx, tenant, Permission::ViewTenant, false)
            .await?;
        tenant_of(&access.tenant, access.role)
    }

    async fn list_my_tenants(&self, ctx: &AuthContext) -> Result<Vec<Tenant>> {
        self.do_list_my_tenants(ctx).await
    }

    async fn list_members(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Member>> {
        let access = self
            .authorize(ctx, tenant, Permission::ViewMembers, false)
            .await?;
        let rows = self.store().members(&access.tenant.id).await?;
        rows.iter().map(member_of).collect()
    }

    async fn add_member(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        self.do_add_member(ctx, tenant, user_id, role).await
    }

    async fn set_role(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        self.do_set_role(ctx, tenant, user_id, role).await
    }

    async fn remove_member(&self, ctx: &AuthContext, tenant: &str, user_id: Uuid) -> Result<()> {
        self.do_remove_member(ctx, tenant, user_id).await
    }

    async fn leave(&self, ctx: &AuthContext, tenant: &str) -> Result<()> {
        self.do_leave(ctx, tenant).await
    }

    async fn transfer_ownership(&self, ctx: &AuthContext, tenant: &str, to: Uuid) -> Result<()> {
        self.do_transfer_ownership(ctx, tenant, to).await
    }

    async fn create_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        request: NewInvitation,
    ) -> Result<CreatedInvitation> {
        self.do_create_invitation(ctx, tenant, request).await
    }

    async fn list_invitations(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Invitation>> {
        self.do_list_invitations(ctx, tenant).await
    }

    async fn revoke_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        invitation_id: Uuid,
    ) -> Result<()> {
        self.do_revoke_invitation(ctx, tenant, invitation_id).await
    }

    async fn accept_invitation(&self, ctx: &AuthContext, token: &str) -> Result<Member> {
        self.do_accept_invitation(ctx, token).await
    }

    async fn role_of(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
    ) -> Result<Option<Role>> {
        self.do_role_of(ctx, user_id, tenant_id).await
    }

    async fn check(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
        permission: Permission,
    ) -> Result<Role> {
        let role = self
            .do_role_of(ctx, user_id, tenant_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no tenant `{tenant_id}`")))?;
        if allows(role, permission) {
            Ok(role)
        } else {
            Err(Error::permission_denied(format!(
                "the role `{role}` does not allow `{permission}`"
            )))
        }
    }

    async fn authorize(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        permission: Permission,
    ) -> Result<Tenant> {
        let access = self.authorize(ctx, tenant, permission, false).await?;
        tenant_of(&access.tenant, access.role)
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        self.do_list_events(ctx, scope, after_seq, limit).await
    }
}

#[async_trait]
impl nave_identity::Memberships for LocalTenant {
    async fn role_of(&self, user_id: Uuid, tenant_id: Uuid) -> Result<Option<Role>> {
        TenantApi::role_of(self, &AuthContext::system(), user_id, tenant_id).await
    }
}
