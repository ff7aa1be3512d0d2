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

async fn list_my_tenants(
    State(s): State<RestState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Tenant>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_my_tenants(&ctx).await?))
}

async fn get_tenant(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Tenant>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.get_tenant(&ctx, &tenant).await?))
}

async fn list_members(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Member>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_members(&ctx, &tenant).await?))
}

#[derive(Deserialize)]
struct AddMemberBody {
    user_id: Uuid,
    role: Role,
}

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

#[derive(Deserialize)]
struct RoleBody {
    role: Role,
}

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

async fn remove_member(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path((tenant, user_id)): Path<(String, Uuid)>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.remove_member(&ctx, &tenant, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn leave(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.leave(&ctx, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct UserBody {
    user_id: Uuid,
}

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

async fn list_invitations(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Invitation>>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.list_invitations(&ctx, &tenant).await?))
}

async fn revoke_invitation(
    State(s): State<RestState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers).await?;
    s.api.revoke_invitation(&ctx, &tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn accept_invitation(
    State(s): State<RestState>,
    headers: HeaderMap,
    Json(body): Json<TokenBody>,
) -> Result<Json<Member>> {
    let ctx = caller(&s, &headers).await?;
    Ok(Json(s.api.accept_invitation(&ctx, &body.token).await?))
}
