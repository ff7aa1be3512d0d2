//! The tenant hub's REST routes, as an axum [`Router`] for the host to nest at its root.
//! `{tenant}` is the tenant's slug or id.
//!
//! | route | needs | does |
//! |---|---|---|
//! | `POST /v1/tenants` `{slug, name}` | user | 201 + tenant; the caller is its owner |
//! | `GET /v1/tenants` | user | the caller's tenants with their role |
//! | `GET /v1/tenants/{tenant}` | member, platform admin | the tenant |
//! | `GET /v1/tenants/{tenant}/members` | member, platform admin | members |
//! | `POST /v1/tenants/{tenant}/members` `{user_id, role}` | `manage_members` | 201 + member |
//! | `PATCH /v1/tenants/{tenant}/members/{user_id}` `{role}` | `manage_members` | member |
//! | `DELETE /v1/tenants/{tenant}/members/{user_id}` | `manage_members` | 204 |
//! | `POST /v1/tenants/{tenant}/leave` | member | 204 |
//! | `POST /v1/tenants/{tenant}/transfer-ownership` `{user_id}` | owner | 204 |
//! | `POST /v1/tenants/{tenant}/invitations` `{email, role}` | `manage_members` | 201 + invitation and its token |
//! | `GET /v1/tenants/{tenant}/invitations` | `manage_members`, platform admin | invitations |
//! | `DELETE /v1/tenants/{tenant}/invitations/{id}` | `manage_members` | 204 |
//! | `POST /v1/invitations/accept` `{token}` | user | member |
//!
//! Callers authenticate with `Authorization: Bearer <access token or API key>`, checked by the
//! identity hub. Only owners grant `owner` or touch owners; the last owner cannot leave, be
//! removed or be demoted (409). Tenants the caller may not see answer 404, like missing ones.
//! Errors are the JSON bodies of `nave_hub_core::http`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use nave_hub_core::{AuthContext, Error, Principal, Result, Role};
use nave_identity::IdentityApi;
use serde::Deserialize;
use uuid::Uuid;

use crate::api::TenantApi;
use crate::types::{CreatedInvitation, Invitation, Member, NewInvitation, NewTenant, Tenant};

/// How the identity hub marks API keys (its `nave_identity` secrets module is private).
const API_KEY_PREFIX: &str = "nave_ak_";

#[derive(Clone)]
struct RestState {
    api: Arc<dyn TenantApi>,
    identity: Arc<dyn IdentityApi>,
}

/// The OpenAPI description of these routes, for the host's `/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_tenant,
        list_my_tenants,
        get_tenant,
        list_members,
        add_member,
        set_role,
        remove_member,
        leave,
        transfer_ownership,
        create_invitation,
        list_invitations,
        revoke_invitation,
        accept_invitation,
    ),
    components(schemas(
        Tenant,
        Member,
        NewTenant,
        NewInvitation,
        Invitation,
        CreatedInvitation,
        crate::types::InvitationStatus,
        Role,
        AddMemberBody,
        RoleBody,
        UserBody,
        TokenBody,
        nave_hub_core::ErrorBody,
    ))
)]
pub struct TenantApiDoc;

/// The routes above over `api`, authenticating callers with `identity`.
pub fn router(api: Arc<dyn TenantApi>, identity: Arc<dyn IdentityApi>) -> Router {
    Router::new()
        .route("/v1/tenants", post(create_tenant).get(list_my_tenants))
        .route("/v1/tenants/{tenant}", get(get_tenant))
        .route(
            "/v1/tenants/{tenant}/members",
            get(list_members).post(add_member),
        )
        .route(
            "/v1/tenants/{tenant}/members/{user_id}",
            patch(set_role).delete(remove_member),
        )
        .route("/v1/tenants/{tenant}/leave", post(leave))
        .route(
            "/v1/tenants/{tenant}/transfer-ownership",
            post(transfer_ownership),
        )
        .route(
            "/v1/tenants/{tenant}/invitations",
            post(create_invitation).get(list_invitations),
        )
        .route(
            "/v1/tenants/{tenant}/invitations/{id}",
            delete(revoke_invitation),
        )
        .route("/v1/invitations/accept", post(accept_invitation))
        .with_state(RestState { api, identity })
}

/// Authenticates the bearer credential: a user's access token or a tenant API key.
async fn caller(state: &RestState, headers: &HeaderMap) -> Result<AuthContext> {
    let mut ctx = AuthContext::anonymous();
    if let Some(id) = headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
    {
        ctx.correlation_id = id.to_owned();
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            Error::unauthenticated("send `Authorization: Bearer <access token or API key>`")
        })?;
    if bearer.starts_with(API_KEY_PREFIX) {
        let key = state.identity.verify_api_key(&ctx, bearer).await?;
        ctx.principal = Principal::ApiKey(key.id);
        return Ok(ctx.in_tenant(key.tenant_id, key.role.parse()?));
    }
    let claims = state.identity.verify_access_token(&ctx, bearer).await?;
    ctx.principal = Principal::User(claims.user_id);
    ctx.platform_admin = claims.platform_admin;
    Ok(ctx)
}

/// Creates a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant, responses((status = 201, body = Tenant), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn create_tenant(
    State(s): State<RestState>,
    headers: HeaderMap,
    Json(body): Json<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>)> {
    let ctx = caller(&s, &headers).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.api.create_tenant(&ctx, body).await?),
    ))
}

/// The caller's workspaces, with their role in each.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", responses((status = 200, body = [Tenant]), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody)))]
async fn list_my_tenants(
    State(s): State<RestState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Tenant>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_my_tenants(&ctx).await?))
}

/// One workspace.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), responses((status = 200, body = Tenant), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn get_tenant(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Tenant>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.get_tenant(&ctx, &tenant).await?))
}

/// A workspace's members.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/members", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), responses((status = 200, body = [Member]), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn list_members(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Member>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_members(&ctx, &tenant).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddMemberBody {
    user_id: Uuid,
    role: Role,
}

/// Adds a user as a member (`manage_members`; only owners grant `owner`).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/members", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), request_body = AddMemberBody, responses((status = 201, body = Member), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn add_member(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Json(body): Json<AddMemberBody>,
) -> Result<(StatusCode, Json<Member>)> {
    let ctx = caller(&s, &headers).await?;
    let member = s
        .api
        .add_member(&ctx, &tenant, body.user_id, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RoleBody {
    role: Role,
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/members/{user_id}", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id"), ("user_id" = Uuid, Path, description = "The member's user id")), request_body = RoleBody, responses((status = 200, body = Member), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn set_role(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path((tenant, user_id)): Path<(String, Uuid)>,
    Json(body): Json<RoleBody>,
) -> Result<Json<Member>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(
        s.api.set_role(&ctx, &tenant, user_id, body.role).await?,
    ))
}

/// Removes a member (never the last owner).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/members/{user_id}", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id"), ("user_id" = Uuid, Path, description = "The member's user id")), responses((status = 204, description = "removed"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn remove_member(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path((tenant, user_id)): Path<(String, Uuid)>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.remove_member(&ctx, &tenant, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller leaves the workspace (not its last owner).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/leave", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), responses((status = 204, description = "left"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn leave(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.leave(&ctx, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UserBody {
    user_id: Uuid,
}

/// Makes another member owner; the caller becomes admin.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/transfer-ownership", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), request_body = UserBody, responses((status = 204, description = "transferred"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn transfer_ownership(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Json(body): Json<UserBody>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api
        .transfer_ownership(&ctx, &tenant, body.user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites an email address; the token is in this answer only.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/invitations", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), request_body = NewInvitation, responses((status = 201, body = CreatedInvitation), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn create_invitation(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Json(body): Json<NewInvitation>,
) -> Result<(StatusCode, Json<CreatedInvitation>)> {
    let ctx = caller(&s, &headers).await?;
    let created = s.api.create_invitation(&ctx, &tenant, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A workspace's invitations, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/invitations", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id")), responses((status = 200, body = [Invitation]), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn list_invitations(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Invitation>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_invitations(&ctx, &tenant).await?))
}

/// Withdraws a pending invitation.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/invitations/{id}", tag = "tenants", params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The invitation id")), responses((status = 204, description = "revoked"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody)))]
async fn revoke_invitation(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.revoke_invitation(&ctx, &tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenBody {
    token: String,
}

/// Accepts an invitation: the caller joins with its role.
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "tenants", request_body = TokenBody, responses((status = 200, body = Member), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`: no such tenant, or not yours", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn accept_invitation(
    State(s): State<RestState>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> Result<Json<Member>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.accept_invitation(&ctx, &body.token).await?))
}
