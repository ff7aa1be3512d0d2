//! Who is calling, and what they may do.
//!
//! [`authenticate`] turns the `Authorization: Bearer` credential — a user's access token or a
//! tenant's API key — into an [`AuthContext`] (checked by the identity hub) and puts it in the
//! request's extensions; without a credential the context is anonymous and each route decides.
//! Handlers take a [`Caller`] (anyone signed in) and check tenant permissions with
//! [`Caller::in_tenant`], which asks the tenant hub once per request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use nave_hub_core::{AuthContext, Principal};
use nave_tenant::{Permission, Tenant};

use super::CorrelationId;
use crate::App;
use crate::error::{Error, Result};

/// Middleware: the bearer credential, checked, as an [`AuthContext`] in the extensions.
///
/// A credential that does not verify is refused here (401), so a client never mistakes a bad
/// token for an anonymous call.
pub async fn authenticate(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Result<Response> {
    let mut ctx = AuthContext::anonymous();
    if let Some(id) = request.extensions().get::<CorrelationId>() {
        ctx.correlation_id = id.0.clone();
    }
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        ctx.source_ip = Some(peer.ip());
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    nave_hub_core::Error::unauthenticated(
                        "the Authorization header must be `Bearer <access token or API key>`",
                    )
                })
        })
        .transpose()?;
    if let Some(bearer) = bearer {
        ctx = verify(&app, ctx, bearer).await?;
    }
    request.extensions_mut().insert(ctx);
    Ok(next.run(request).await)
}

/// Checks an access token or API key with the identity hub.
async fn verify(app: &App, mut ctx: AuthContext, bearer: &str) -> Result<AuthContext> {
    let identity = &app.hubs.identity;
    if bearer.starts_with(nave_identity::API_KEY_PREFIX) {
        let key = identity.verify_api_key(&ctx, bearer).await?;
        ctx.principal = Principal::ApiKey(key.id);
        return Ok(ctx.in_tenant(key.tenant_id, key.role.parse()?));
    }
    let claims = identity.verify_access_token(&ctx, bearer).await?;
    ctx.principal = Principal::User(claims.user_id);
    ctx.platform_admin = claims.platform_admin;
    Ok(ctx)
}

/// A signed-in caller (a user or an API key); anonymous requests get 401.
#[derive(Debug, Clone)]
pub struct Caller(pub AuthContext);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        match parts.extensions.get::<AuthContext>() {
            Some(ctx) if ctx.principal != Principal::Anonymous => Ok(Caller(ctx.clone())),
            _ => Err(nave_hub_core::Error::unauthenticated(
                "sign in: send `Authorization: Bearer <access token or API key>`",
            )
            .into()),
        }
    }
}

/// A caller cleared for one permission in one tenant.
#[derive(Debug, Clone)]
pub struct TenantCaller {
    /// The caller, scoped to the tenant with their role (none for a platform admin who only reads).
    pub ctx: AuthContext,
    /// The tenant, found by slug or id.
    pub tenant: Tenant,
}

impl TenantCaller {
    /// The tenant's id as the host's stores key it.
    pub fn tenant_key(&self) -> String {
        self.tenant.id.to_string()
    }
}

impl Caller {
    /// Resolves `tenant` (slug or id) and checks this caller may do `permission` there, through
    /// the tenant hub. Tenants the caller may not see answer 404, like missing ones.
    pub async fn in_tenant(
        self,
        app: &App,
        tenant: &str,
        permission: Permission,
    ) -> Result<TenantCaller> {
        let found = app
            .hubs
            .tenant
            .authorize(&self.0, tenant, permission)
            .await?;
        let ctx = match found.role {
            Some(role) => self.0.in_tenant(found.id, role),
            None => self.0,
        };
        Ok(TenantCaller { ctx, tenant: found })
    }

    /// Succeeds for platform admins only.
    pub fn platform_admin(&self) -> Result<()> {
        if self.0.platform_admin {
            Ok(())
        } else {
            Err(nave_hub_core::Error::permission_denied(
                "only platform admins may do this (it changes the catalogue every tenant shares)",
            )
            .into())
        }
    }
}

/// A platform admin; others get 401 (anonymous) or 403, before any body is read.
#[derive(Debug, Clone)]
pub struct PlatformAdmin(pub AuthContext);

impl<S: Send + Sync> FromRequestParts<S> for PlatformAdmin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.platform_admin()?;
        Ok(PlatformAdmin(caller.0))
    }
}

/// Middleware of hub routes that take a tenant id (`/v1/tenants/{id}/…` or `?tenant=<id>`),
/// after [`authenticate`]: scopes a signed-in user to that tenant with their role there, as
/// the tenant hub says, so the hub can check the role itself. Strangers get the tenant hub's
/// `not_found`; API keys are scoped already; slugs are left to the hub's route (which asks
/// for the id).
pub async fn scope_tenant(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Result<Response> {
    let Some(ctx) = request.extensions().get::<AuthContext>().cloned() else {
        return Ok(next.run(request).await);
    };
    if ctx.principal == Principal::Anonymous || ctx.tenant.is_some() {
        return Ok(next.run(request).await);
    }
    let uri = request.uri();
    let in_path = uri
        .path()
        .strip_prefix("/v1/tenants/")
        .and_then(|rest| rest.split('/').next());
    let in_query = uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("tenant="))
    });
    let tenant = in_path
        .or(in_query)
        .filter(|t| uuid::Uuid::parse_str(t).is_ok())
        .map(str::to_owned);
    if let Some(tenant) = tenant {
        let found = app
            .hubs
            .tenant
            .authorize(&ctx, &tenant, Permission::ViewTenant)
            .await?;
        if let Some(role) = found.role {
            request
                .extensions_mut()
                .insert(ctx.in_tenant(found.id, role));
        }
    }
    Ok(next.run(request).await)
}
