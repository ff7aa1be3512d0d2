//! [`TenantClient`]: the [`TenantApi`] of a tenant hub in another process.

use std::future::Future;

use async_trait::async_trait;
use nave_hub_core::grpc::{self, ServiceToken};
use nave_hub_core::{AuthContext, Error, EventPage, EventScope, Result, Role};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::*;
use super::pb::{self, tenant_client::TenantClient as Stub};
use crate::api::TenantApi;
use crate::permissions::Permission;
use crate::types::{CreatedInvitation, Invitation, Member, NewInvitation, NewTenant, Tenant};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_from_pb, scope_to_pb};

/// Calls a remote tenant hub; behaves exactly like a `LocalTenant`, errors included.
#[derive(Debug, Clone)]
pub struct TenantClient {
    /// The generated stub over a shared HTTP/2 channel (cheap to clone per call).
    stub: Stub<Channel>,
    /// Sent with every call when set.
    token: ServiceToken,
}

impl TenantClient {
    /// Connects to `url` (e.g. `http://tenant:50053`).
    pub async fn connect(url: &str, token: ServiceToken) -> Result<Self> {
        Ok(Self::from_channel(
            grpc::connect("tenant", url).await?,
            token,
        ))
    }

    /// Uses an existing channel (e.g. a lazily connecting one).
    pub fn from_channel(channel: Channel, token: ServiceToken) -> Self {
        Self {
            stub: Stub::new(channel),
            token,
        }
    }

    async fn call<Q, R, F, Fut>(&self, ctx: &AuthContext, message: Q, rpc: F) -> Result<R>
    where
        F: FnOnce(Stub<Channel>, Request<Q>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<R>, Status>>,
    {
        grpc::unary(&self.token, ctx, self.stub.clone(), message, rpc).await
    }
}

fn tenant_req(tenant: &str) -> pb::TenantRequest {
    pb::TenantRequest {
        tenant: tenant.to_owned(),
    }
}

fn member_req(tenant: &str, user_id: Uuid) -> pb::MemberRequest {
    pb::MemberRequest {
        tenant: tenant.to_owned(),
        user_id: user_id.to_string(),
    }
}

fn member_role_req(tenant: &str, user_id: Uuid, role: Role) -> pb::MemberRoleRequest {
    pb::MemberRoleRequest {
        tenant: tenant.to_owned(),
        user_id: user_id.to_string(),
        role: role.as_str().to_owned(),
    }
}

#[async_trait]
impl TenantApi for TenantClient {
    async fn create_tenant(&self, ctx: &AuthContext, request: NewTenant) -> Result<Tenant> {
        let m = pb::CreateTenantRequest {
            slug: request.slug,
            name: request.name,
        };
        tenant_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.create_tenant(r).await })
                .await?,
        )
    }

    async fn get_tenant(&self, ctx: &AuthContext, tenant: &str) -> Result<Tenant> {
        let m = tenant_req(tenant);
        tenant_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.get_tenant(r).await })
                .await?,
        )
    }

    async fn list_my_tenants(&self, ctx: &AuthContext) -> Result<Vec<Tenant>> {
        let list = self
            .call(ctx, pb::Empty {}, |mut s, r| async move {
                s.list_my_tenants(r).await
            })
            .await?;
        list.tenants.into_iter().map(tenant_from_pb).collect()
    }

    async fn list_members(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Member>> {
        let m = tenant_req(tenant);
        let list = self
            .call(ctx, m, |mut s, r| async move { s.list_members(r).await })
            .await?;
        list.members.into_iter().map(member_from_pb).collect()
    }

    async fn add_member(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        let m = member_role_req(tenant, user_id, role);
        member_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.add_member(r).await })
                .await?,
        )
    }

    async fn set_role(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        user_id: Uuid,
        role: Role,
    ) -> Result<Member> {
        let m = member_role_req(tenant, user_id, role);
        member_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.set_role(r).await })
                .await?,
        )
    }

    async fn remove_member(&self, ctx: &AuthContext, tenant: &str, user_id: Uuid) -> Result<()> {
        let m = member_req(tenant, user_id);
        self.call(ctx, m, |mut s, r| async move { s.remove_member(r).await })
            .await?;
        Ok(())
    }

    async fn leave(&self, ctx: &AuthContext, tenant: &str) -> Result<()> {
        let m = tenant_req(tenant);
        self.call(ctx, m, |mut s, r| async move { s.leave(r).await })
            .await?;
        Ok(())
    }

    async fn transfer_ownership(&self, ctx: &AuthContext, tenant: &str, to: Uuid) -> Result<()> {
        let m = member_req(tenant, to);
        self.call(
            ctx,
            m,
            |mut s, r| async move { s.transfer_ownership(r).await },
        )
        .await?;
        Ok(())
    }

    async fn create_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        request: NewInvitation,
    ) -> Result<CreatedInvitation> {
        let m = pb::CreateInvitationRequest {
            tenant: tenant.to_owned(),
            email: request.email,
            role: request.role.as_str().to_owned(),
        };
        created_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.create_invitation(r).await },
            )
            .await?,
        )
    }

    async fn list_invitations(&self, ctx: &AuthContext, tenant: &str) -> Result<Vec<Invitation>> {
        let m = tenant_req(tenant);
        let list = self
            .call(
                ctx,
                m,
                |mut s, r| async move { s.list_invitations(r).await },
            )
            .await?;
        list.invitations
            .into_iter()
            .map(invitation_from_pb)
            .collect()
    }

    async fn revoke_invitation(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        invitation_id: Uuid,
    ) -> Result<()> {
        let m = pb::InvitationRequest {
            tenant: tenant.to_owned(),
            invitation_id: invitation_id.to_string(),
        };
        self.call(
            ctx,
            m,
            |mut s, r| async move { s.revoke_invitation(r).await },
        )
        .await?;
        Ok(())
    }

    async fn accept_invitation(&self, ctx: &AuthContext, token: &str) -> Result<Member> {
        let m = pb::AcceptInvitationRequest {
            token: token.to_owned(),
        };
        member_from_pb(
            self.call(
                ctx,
                m,
                |mut s, r| async move { s.accept_invitation(r).await },
            )
            .await?,
        )
    }

    async fn role_of(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
    ) -> Result<Option<Role>> {
        let m = pb::RoleOfRequest {
            user_id: user_id.to_string(),
            tenant_id: tenant_id.to_string(),
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.role_of(r).await })
            .await?;
        reply.role.as_deref().map(|r| role("role", r)).transpose()
    }

    async fn check(
        &self,
        ctx: &AuthContext,
        user_id: Uuid,
        tenant_id: Uuid,
        permission: Permission,
    ) -> Result<Role> {
        let m = pb::CheckRequest {
            user_id: user_id.to_string(),
            tenant_id: tenant_id.to_string(),
            permission: permission.as_str().to_owned(),
        };
        let reply = self
            .call(ctx, m, |mut s, r| async move { s.check(r).await })
            .await?;
        let role_name = reply
            .role
            .ok_or_else(|| Error::internal_msg("tenant hub allowed a check without a role"))?;
        role("role", &role_name)
    }

    async fn authorize(
        &self,
        ctx: &AuthContext,
        tenant: &str,
        permission: Permission,
    ) -> Result<Tenant> {
        let m = pb::AuthorizeRequest {
            tenant: tenant.to_owned(),
            permission: permission.as_str().to_owned(),
        };
        tenant_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.authorize(r).await })
                .await?,
        )
    }

    async fn list_events(
        &self,
        ctx: &AuthContext,
        scope: EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<EventPage> {
        let m = common::ListEventsRequest {
            scope: Some(scope_to_pb(scope)),
            after_seq,
            limit,
        };
        page_from_pb(
            self.call(ctx, m, |mut s, r| async move { s.list_events(r).await })
                .await?,
        )
    }
}
