//! The tenant hub's gRPC server: each rpc reads the caller's context, calls the wrapped
//! [`TenantApi`] and converts the result. No logic lives here.

use std::future::Future;
use std::sync::Arc;

use nave_hub_core::grpc::{ServiceToken, incoming_context};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{Error, Result};
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::*;
use super::pb::{self, tenant_server::Tenant, tenant_server::TenantServer};
use crate::api::TenantApi;
use crate::types::{NewInvitation, NewTenant};
use nave_hub_core::pb as common;
use nave_hub_core::wire::{page_to_pb, scope_from_pb};

type Reply<T> = std::result::Result<Response<T>, Status>;

/// Serves a [`TenantApi`] over gRPC.
#[derive(Clone)]
pub struct TenantGrpc {
    /// The implementation called for every rpc (normally a `LocalTenant`).
    api: Arc<dyn TenantApi>,
    /// Required from callers when set.
    token: ServiceToken,
}

impl TenantGrpc {
    /// Wraps `api`; callers must send `token` when it is set.
    pub fn new(api: Arc<dyn TenantApi>, token: ServiceToken) -> Self {
        Self { api, token }
    }

    /// The tonic service, for adding to a shared `tonic::transport::Server`.
    pub fn into_service(self) -> TenantServer<Self> {
        TenantServer::new(self)
    }
}

/// Serves `api` on `listener` until `shutdown` completes (bind `127.0.0.1:0` in tests).
pub async fn serve(
    listener: TcpListener,
    api: Arc<dyn TenantApi>,
    token: ServiceToken,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(TenantGrpc::new(api, token).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(Error::internal)
}

fn id(field: &str, value: &str) -> std::result::Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(Status::from)
}

fn ok<T>(message: T) -> Reply<T> {
    Ok(Response::new(message))
}

#[tonic::async_trait]
impl Tenant for TenantGrpc {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Reply<pb::TenantInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let new = NewTenant {
            slug: m.slug,
            name: m.name,
        };
        ok(tenant_to_pb(self.api.create_tenant(&ctx, new).await?))
    }

    async fn get_tenant(&self, request: Request<pb::TenantRequest>) -> Reply<pb::TenantInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        ok(tenant_to_pb(self.api.get_tenant(&ctx, &m.tenant).await?))
    }

    async fn list_my_tenants(&self, request: Request<pb::Empty>) -> Reply<pb::TenantList> {
        let ctx = incoming_context(&self.token, &request)?;
        let tenants = self.api.list_my_tenants(&ctx).await?;
        ok(pb::TenantList {
            tenants: tenants.into_iter().map(tenant_to_pb).collect(),
        })
    }

    async fn list_members(&self, request: Request<pb::TenantRequest>) -> Reply<pb::MemberList> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let members = self.api.list_members(&ctx, &m.tenant).await?;
        ok(pb::MemberList {
            members: members.into_iter().map(member_to_pb).collect(),
        })
    }

    async fn add_member(&self, request: Request<pb::MemberRoleRequest>) -> Reply<pb::Member> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let role = role("role", &m.role)?;
        ok(member_to_pb(
            self.api.add_member(&ctx, &m.tenant, user, role).await?,
        ))
    }

    async fn set_role(&self, request: Request<pb::MemberRoleRequest>) -> Reply<pb::Member> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let role = role("role", &m.role)?;
        ok(member_to_pb(
            self.api.set_role(&ctx, &m.tenant, user, role).await?,
        ))
    }

    async fn remove_member(&self, request: Request<pb::MemberRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        self.api.remove_member(&ctx, &m.tenant, user).await?;
        ok(pb::Empty {})
    }

    async fn leave(&self, request: Request<pb::TenantRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        self.api.leave(&ctx, &m.tenant).await?;
        ok(pb::Empty {})
    }

    async fn transfer_ownership(&self, request: Request<pb::MemberRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        self.api.transfer_ownership(&ctx, &m.tenant, user).await?;
        ok(pb::Empty {})
    }

    async fn create_invitation(
        &self,
        request: Request<pb::CreateInvitationRequest>,
    ) -> Reply<pb::CreatedInvitation> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let new = NewInvitation {
            email: m.email,
            role: role("role", &m.role)?,
        };
        ok(created_to_pb(
            self.api.create_invitation(&ctx, &m.tenant, new).await?,
        ))
    }

    async fn list_invitations(
        &self,
        request: Request<pb::TenantRequest>,
    ) -> Reply<pb::InvitationList> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let list = self.api.list_invitations(&ctx, &m.tenant).await?;
        ok(pb::InvitationList {
            invitations: list.into_iter().map(invitation_to_pb).collect(),
        })
    }

    async fn revoke_invitation(&self, request: Request<pb::InvitationRequest>) -> Reply<pb::Empty> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let invitation = id("invitation_id", &m.invitation_id)?;
        self.api
            .revoke_invitation(&ctx, &m.tenant, invitation)
            .await?;
        ok(pb::Empty {})
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Reply<pb::Member> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        ok(member_to_pb(
            self.api.accept_invitation(&ctx, &m.token).await?,
        ))
    }

    async fn role_of(&self, request: Request<pb::RoleOfRequest>) -> Reply<pb::RoleOfReply> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let tenant = id("tenant_id", &m.tenant_id)?;
        let role = self.api.role_of(&ctx, user, tenant).await?;
        ok(pb::RoleOfReply {
            role: role.map(|r| r.as_str().to_owned()),
        })
    }

    async fn check(&self, request: Request<pb::CheckRequest>) -> Reply<pb::RoleOfReply> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let user = id("user_id", &m.user_id)?;
        let tenant = id("tenant_id", &m.tenant_id)?;
        let permission = m.permission.parse().map_err(Status::from)?;
        let role = self.api.check(&ctx, user, tenant, permission).await?;
        ok(pb::RoleOfReply {
            role: Some(role.as_str().to_owned()),
        })
    }

    async fn authorize(&self, request: Request<pb::AuthorizeRequest>) -> Reply<pb::TenantInfo> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let permission = m.permission.parse().map_err(Status::from)?;
        ok(tenant_to_pb(
            self.api.authorize(&ctx, &m.tenant, permission).await?,
        ))
    }

    async fn list_events(
        &self,
        request: Request<common::ListEventsRequest>,
    ) -> Reply<common::EventPage> {
        let ctx = incoming_context(&self.token, &request)?;
        let m = request.into_inner();
        let scope = scope_from_pb(m.scope).map_err(Status::from)?;
        let page = self
            .api
            .list_events(&ctx, scope, m.after_seq, m.limit)
            .await?;
        ok(page_to_pb(page))
    }
}
