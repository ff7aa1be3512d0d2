//! The identity hub's REST routes, as an axum [`Router`] for the host to nest at its root:
//!
//! | route | auth | does |
//! |---|---|---|
//! | `POST /v1/auth/signup` `{email, password}` | none | 201 + tokens |
//! | `POST /v1/auth/login` `{email, password, totp_code?}` | none | tokens |
//! | `POST /v1/auth/refresh` `{refresh_token}` | none | new tokens |
//! | `POST /v1/auth/logout` `{refresh_token}` | none | 204 |
//! | `POST /v1/auth/mfa/enroll` | user | secret + otpauth URL |
//! | `POST /v1/auth/mfa/confirm` `{code}` | user | 204 |
//! | `POST /v1/api-keys` `{name, tenant_id, role}` | tenant admin | 201 + key with its secret |
//! | `GET /v1/api-keys?tenant_id=` | tenant admin | keys, no secrets |
//! | `DELETE /v1/api-keys/{id}?tenant_id=` | tenant admin | 204 |
//! | `GET /.well-known/jwks.json` | none | public keys |
//!
//! Callers authenticate with `Authorization: Bearer <access token or API key>`. A user's role in
//! a tenant comes from [`Memberships`] (the tenant hub, once wired); an API key carries its own.
//! Errors are the JSON bodies of `nave_hub_core::http`.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use nave_hub_core::{AuthContext, Error, Principal, Result, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::IdentityApi;
use crate::secrets::API_KEY_PREFIX;
use crate::types::{ApiKey, CreatedApiKey, Jwks, LogIn, MfaEnrollment, NewApiKey, SignUp, Tokens};

/// Where a user's role in a tenant comes from.
#[async_trait]
pub trait Memberships: Send + Sync {
    /// The role of `user_id` in `tenant_id`, or `None` if not a member.
    async fn role_of(&self, user_id: Uuid, tenant_id: Uuid) -> Result<Option<Role>>;
}

/// No tenant memberships: until the tenant hub is wired, only platform admins and API keys act
/// in tenants.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMemberships;

#[async_trait]
impl Memberships for NoMemberships {
    async fn role_of(&self, _user_id: Uuid, _tenant_id: Uuid) -> Result<Option<Role>> {
        Ok(None)
    }
}

#[derive(Clone)]
struct RestState {
    api: Arc<dyn IdentityApi>,
    memberships: Arc<dyn Memberships>,
}

/// The OpenAPI description of these routes, for the host's `/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        sign_up,
        log_in,
        refresh,
        log_out,
        enroll_mfa,
        confirm_mfa,
        create_api_key,
        list_api_keys,
        revoke_api_key,
        jwks,
    ),
    components(schemas(
        SignUp,
        LogIn,
        Tokens,
        crate::types::User,
        MfaEnrollment,
        NewApiKey,
        ApiKey,
        CreatedApiKey,
        Jwks,
        crate::types::Jwk,
        RefreshBody,
        CodeBody,
        nave_hub_core::ErrorBody,
    ))
)]
pub struct IdentityApiDoc;

/// The routes above over `api`.
pub fn router(api: Arc<dyn IdentityApi>, memberships: Arc<dyn Memberships>) -> Router {
    Router::new()
        .route("/v1/auth/signup", post(sign_up))
        .route("/v1/auth/login", post(log_in))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(log_out))
        .route("/v1/auth/mfa/enroll", post(enroll_mfa))
        .route("/v1/auth/mfa/confirm", post(confirm_mfa))
        .route("/v1/api-keys", post(create_api_key).get(list_api_keys))
        .route("/v1/api-keys/{id}", delete(revoke_api_key))
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(RestState { api, memberships })
}

/// The anonymous context of a request: correlation id and client address.
fn base_context(headers: &HeaderMap, peer: Option<&ConnectInfo<SocketAddr>>) -> AuthContext {
    let mut ctx = AuthContext::anonymous();
    if let Some(id) = headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
    {
        ctx.correlation_id = id.to_owned();
    }
    ctx.source_ip = peer.map(|ConnectInfo(addr)| addr.ip());
    ctx
}

/// Authenticates the bearer credential and scopes the context to `tenant`, if given.
async fn caller(
    state: &RestState,
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
    tenant: Option<Uuid>,
) -> Result<AuthContext> {
    let mut ctx = base_context(headers, peer);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            Error::unauthenticated("send `Authorization: Bearer <access token or API key>`")
        })?;
    if bearer.starts_with(API_KEY_PREFIX) {
        let key = state.api.verify_api_key(&ctx, bearer).await?;
        ctx.principal = Principal::ApiKey(key.id);
        if tenant.is_none_or(|t| t == key.tenant_id) {
            ctx = ctx.in_tenant(key.tenant_id, key.role.parse()?);
        }
        return Ok(ctx);
    }
    let claims = state.api.verify_access_token(&ctx, bearer).await?;
    ctx.principal = Principal::User(claims.user_id);
    ctx.platform_admin = claims.platform_admin;
    if let Some(tenant) = tenant
        && let Some(role) = state.memberships.role_of(claims.user_id, tenant).await?
    {
        ctx = ctx.in_tenant(tenant, role);
    }
    Ok(ctx)
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignUp, security(()), responses((status = 201, body = Tokens), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn sign_up(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<SignUp>,
) -> Result<(StatusCode, Json<Tokens>)> {
    let ctx = base_context(&headers, peer.as_ref().map(|Extension(p)| p));
    Ok((StatusCode::CREATED, Json(s.api.sign_up(&ctx, body).await?)))
}

/// Signs in; `reason: mfa_required` asks for `totp_code`.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LogIn, security(()), responses((status = 200, body = Tokens), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 429, description = "`throttled`, with `Retry-After`", body = nave_hub_core::ErrorBody)))]
async fn log_in(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<LogIn>,
) -> Result<Json<Tokens>> {
    let ctx = base_context(&headers, peer.as_ref().map(|Extension(p)| p));
    Ok(Json(s.api.log_in(&ctx, body).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RefreshBody {
    refresh_token: String,
}

/// Exchanges a refresh token for new tokens; a reused one ends its session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody, security(()), responses((status = 200, body = Tokens), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody)))]
async fn refresh(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<RefreshBody>,
) -> Result<Json<Tokens>> {
    let ctx = base_context(&headers, peer.as_ref().map(|Extension(p)| p));
    Ok(Json(s.api.refresh(&ctx, &body.refresh_token).await?))
}

/// Ends the session of a refresh token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshBody, security(()), responses((status = 204, description = "signed out"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody)))]
async fn log_out(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<RefreshBody>,
) -> Result<StatusCode> {
    let ctx = base_context(&headers, peer.as_ref().map(|Extension(p)| p));
    s.api.log_out(&ctx, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment for the calling user.
#[utoipa::path(post, path = "/v1/auth/mfa/enroll", tag = "auth", responses((status = 200, body = MfaEnrollment), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn enroll_mfa(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Json<MfaEnrollment>> {
    let ctx = caller(&s, &headers, peer.as_ref().map(|Extension(p)| p), None).await?;
    Ok(Json(s.api.enroll_mfa(&ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeBody {
    code: String,
}

/// Completes TOTP enrolment with a current code.
#[utoipa::path(post, path = "/v1/auth/mfa/confirm", tag = "auth", request_body = CodeBody, responses((status = 204, description = "MFA is on"), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 409, description = "`conflict`", body = nave_hub_core::ErrorBody)))]
async fn confirm_mfa(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<CodeBody>,
) -> Result<StatusCode> {
    let ctx = caller(&s, &headers, peer.as_ref().map(|Extension(p)| p), None).await?;
    s.api.confirm_mfa(&ctx, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a tenant API key; its secret is in this answer only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey, responses((status = 201, body = CreatedApiKey), (status = 400, description = "`invalid_argument`", body = nave_hub_core::ErrorBody), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody)))]
async fn create_api_key(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let ctx = caller(
        &s,
        &headers,
        peer.as_ref().map(|Extension(p)| p),
        Some(body.tenant_id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(s.api.create_api_key(&ctx, body).await?),
    ))
}

#[derive(Deserialize)]
struct TenantQuery {
    tenant_id: Uuid,
}

/// A tenant's API keys, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(("tenant_id" = Uuid, Query, description = "The tenant the keys belong to")), responses((status = 200, body = [ApiKey]), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody)))]
async fn list_api_keys(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(q): Query<TenantQuery>,
) -> Result<Json<Vec<ApiKey>>> {
    let ctx = caller(
        &s,
        &headers,
        peer.as_ref().map(|Extension(p)| p),
        Some(q.tenant_id),
    )
    .await?;
    Ok(Json(s.api.list_api_keys(&ctx, q.tenant_id).await?))
}

/// Revokes an API key; it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path, description = "The key id"), ("tenant_id" = Uuid, Query, description = "The tenant the keys belong to")), responses((status = 204, description = "revoked"), (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody), (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody), (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody)))]
async fn revoke_api_key(
    State(s): State<RestState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(q): Query<TenantQuery>,
) -> Result<StatusCode> {
    let ctx = caller(
        &s,
        &headers,
        peer.as_ref().map(|Extension(p)| p),
        Some(q.tenant_id),
    )
    .await?;
    s.api.revoke_api_key(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", security(()), responses((status = 200, body = Jwks)))]
async fn jwks(State(s): State<RestState>, headers: HeaderMap) -> Result<Json<Jwks>> {
    let ctx = base_context(&headers, None);
    Ok(Json(s.api.jwks(&ctx).await?))
}
