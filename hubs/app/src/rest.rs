//! The app hub's REST routes, as an axum [`Router`] for the host to nest at its root.
//!
//! | route | needs | does |
//! |---|---|---|
//! | `GET /v1/apps` | platform admin | every listing; with `?tenant=<id>`, that tenant's catalogue (members) |
//! | `POST /v1/apps` | platform admin | publishes a public listing |
//! | `GET /v1/apps/{app}` | signed in | one listing, by id or (public) name |
//! | `PATCH /v1/apps/{app}` | the listing's editors | changes it; `{"unlisted": true}` deprecates it |
//! | `GET /v1/tenants/{t}/apps` | member | the catalogue the tenant sees |
//! | `POST /v1/tenants/{t}/apps` | tenant admin | adds a private listing |
//! | `GET /v1/tenants/{t}/subscriptions` | member | the tenant's subscriptions |
//! | `GET /v1/tenants/{t}/subscriptions/{id}` | member | one subscription |
//! | `POST /v1/tenants/{t}/apps/{app}/guards` | member | dry run of the guards: 200 `{"ok": true, ...}` or 409 with every reason |
//!
//! Subscribing (`POST /v1/tenants/{t}/subscriptions`) is served by the host, which holds the
//! installer the subscription saga needs (see [`crate::saga`]).
//!
//! The host's auth middleware puts an [`AuthContext`] into the request extensions before these
//! handlers run; without one they answer 401. Errors are the JSON bodies of `nave_hub_core::http`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use nave_hub_core::ids::parse_id;
use nave_hub_core::{AuthContext, Error, ErrorBody, Result};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::AppApi;
use crate::types::{
    AppRole, Fee, GuardReport, Listing, ListingChange, NewListing, Subscription,
    SubscriptionStatus, Visibility,
};

/// The OpenAPI description of these routes, for the host to merge into its document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_apps, publish_app, get_app, update_app, tenant_catalogue, create_private_app,
        list_subscriptions, get_subscription, check_guards
    ),
    components(schemas(
        Listing, NewListing, ListingChange, AppRole, Fee, Visibility, Subscription,
        SubscriptionStatus, GuardReport, ErrorBody
    )),
    tags((name = "apps", description = "The app catalogue, subscriptions and their guards"))
)]
pub struct AppApiDoc;

/// The routes above over `api`.
pub fn router(api: Arc<dyn AppApi>) -> Router {
    Router::new()
        .route("/v1/apps", get(list_apps).post(publish_app))
        .route("/v1/apps/{app}", get(get_app).patch(update_app))
        .route(
            "/v1/tenants/{tenant}/apps",
            get(tenant_catalogue).post(create_private_app),
        )
        .route("/v1/tenants/{tenant}/apps/{app}/guards", post(check_guards))
        .route(
            "/v1/tenants/{tenant}/subscriptions",
            get(list_subscriptions),
        )
        .route(
            "/v1/tenants/{tenant}/subscriptions/{id}",
            get(get_subscription),
        )
        .with_state(api)
}

type Api = State<Arc<dyn AppApi>>;

/// The caller, from the [`AuthContext`] the host's auth middleware put into the extensions.
struct Caller(AuthContext);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<AuthContext>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| Error::unauthenticated("send `Authorization: Bearer <access token>`"))
    }
}

/// `?tenant=<id>` of `GET /v1/apps`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct CatalogueQuery {
    /// Show the catalogue this tenant sees instead of every listing.
    tenant: Option<String>,
}

/// Resolves `{app}`: a listing id, or a name as `tenant` sees it (the public one without).
async fn resolve(
    api: &Arc<dyn AppApi>,
    ctx: &AuthContext,
    tenant: Option<Uuid>,
    app: &str,
) -> Result<Uuid> {
    match Uuid::parse_str(app) {
        Ok(id) => Ok(id),
        Err(_) => Ok(api.find_listing(ctx, tenant, app).await?.id),
    }
}

/// Every listing (platform admins), or the catalogue of `?tenant=`.
#[utoipa::path(get, path = "/v1/apps", tag = "apps", params(CatalogueQuery),
    responses(
        (status = 200, body = Vec<Listing>),
        (status = 403, description = "`permission_denied`: not a platform admin", body = ErrorBody),
        (status = 404, description = "`not_found`: not a member of that tenant", body = ErrorBody),
    ))]
async fn list_apps(
    State(api): Api,
    Caller(ctx): Caller,
    Query(q): Query<CatalogueQuery>,
) -> Result<Json<Vec<Listing>>> {
    let tenant = q
        .tenant
        .as_deref()
        .map(|t| parse_id("tenant", t))
        .transpose()?;
    Ok(Json(api.list_catalogue(&ctx, tenant).await?))
}

/// Publishes a public listing (platform admins).
#[utoipa::path(post, path = "/v1/apps", tag = "apps", request_body = NewListing,
    responses(
        (status = 201, body = Listing),
        (status = 400, description = "`invalid_argument`: `fields` names each bad field", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not a platform admin", body = ErrorBody),
        (status = 409, description = "`conflict`: the name is taken", body = ErrorBody),
    ))]
async fn publish_app(
    State(api): Api,
    Caller(ctx): Caller,
    Json(mut request): Json<NewListing>,
) -> Result<(StatusCode, Json<Listing>)> {
    if request.owner_tenant_id.is_some() {
        return Err(Error::invalid(
            "owner_tenant_id",
            "private apps are created under POST /v1/tenants/{tenant}/apps",
        ));
    }
    request.owner_tenant_id = None;
    Ok((
        StatusCode::CREATED,
        Json(api.create_listing(&ctx, request).await?),
    ))
}

/// One listing, by id or public name.
#[utoipa::path(get, path = "/v1/apps/{app}", tag = "apps",
    params(("app" = String, Path, description = "listing id or public app name")),
    responses(
        (status = 200, body = Listing),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn get_app(
    State(api): Api,
    Caller(ctx): Caller,
    Path(app): Path<String>,
) -> Result<Json<Listing>> {
    let id = resolve(&api, &ctx, None, &app).await?;
    Ok(Json(api.get_listing(&ctx, id).await?))
}

/// Changes a listing; fields left out stay.
#[utoipa::path(patch, path = "/v1/apps/{app}", tag = "apps", request_body = ListingChange,
    params(("app" = String, Path, description = "listing id or public app name")),
    responses(
        (status = 200, body = Listing),
        (status = 400, description = "`invalid_argument`", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not an editor of this listing", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn update_app(
    State(api): Api,
    Caller(ctx): Caller,
    Path(app): Path<String>,
    Json(change): Json<ListingChange>,
) -> Result<Json<Listing>> {
    let id = resolve(&api, &ctx, None, &app).await?;
    Ok(Json(api.update_listing(&ctx, id, change).await?))
}

/// The catalogue the tenant sees: listed public apps and its private ones.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/apps", tag = "apps",
    params(("tenant" = Uuid, Path)),
    responses(
        (status = 200, body = Vec<Listing>),
        (status = 404, description = "`not_found`: not a member", body = ErrorBody),
    ))]
async fn tenant_catalogue(
    State(api): Api,
    Caller(ctx): Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Listing>>> {
    let tenant = parse_id("tenant", &tenant)?;
    Ok(Json(api.list_catalogue(&ctx, Some(tenant)).await?))
}

/// Adds a listing private to the tenant (its admins).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/apps", tag = "apps", request_body = NewListing,
    params(("tenant" = Uuid, Path)),
    responses(
        (status = 201, body = Listing),
        (status = 400, description = "`invalid_argument`", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not an admin of the tenant", body = ErrorBody),
        (status = 409, description = "`conflict`: the name is taken or shadows a public app", body = ErrorBody),
    ))]
async fn create_private_app(
    State(api): Api,
    Caller(ctx): Caller,
    Path(tenant): Path<String>,
    Json(mut request): Json<NewListing>,
) -> Result<(StatusCode, Json<Listing>)> {
    request.owner_tenant_id = Some(parse_id("tenant", &tenant)?);
    Ok((
        StatusCode::CREATED,
        Json(api.create_listing(&ctx, request).await?),
    ))
}

/// The tenant's subscriptions, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subscriptions", tag = "apps",
    params(("tenant" = Uuid, Path)),
    responses(
        (status = 200, body = Vec<Subscription>),
        (status = 404, description = "`not_found`: not a member", body = ErrorBody),
    ))]
async fn list_subscriptions(
    State(api): Api,
    Caller(ctx): Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Subscription>>> {
    let tenant = parse_id("tenant", &tenant)?;
    Ok(Json(api.list_subscriptions(&ctx, tenant).await?))
}

/// One of the tenant's subscriptions.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subscriptions/{id}", tag = "apps",
    params(("tenant" = Uuid, Path), ("id" = Uuid, Path)),
    responses(
        (status = 200, body = Subscription),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn get_subscription(
    State(api): Api,
    Caller(ctx): Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Subscription>> {
    let tenant = parse_id("tenant", &tenant)?;
    let id = parse_id("id", &id)?;
    let sub = api.get_subscription(&ctx, id).await?;
    if sub.tenant_id != tenant {
        return Err(Error::not_found(format!("no subscription `{id}`")));
    }
    Ok(Json(sub))
}

/// Runs every guard of subscribing the tenant to the app, without subscribing.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/apps/{app}/guards", tag = "apps",
    params(("tenant" = Uuid, Path), ("app" = String, Path, description = "listing id or name")),
    responses(
        (status = 200, description = "every guard passed", body = GuardReport),
        (status = 404, description = "`not_found`: not a member, or no such app", body = ErrorBody),
        (status = 409, description = "`failed_precondition`: `reasons` lists every failed guard \
            (`not_tenant_admin`, `app_unlisted`, `app_has_no_version`, `app_not_in_plan`, \
            `installation_limit_reached`, `insufficient_funds`)", body = ErrorBody),
    ))]
async fn check_guards(
    State(api): Api,
    Caller(ctx): Caller,
    Path((tenant, app)): Path<(String, String)>,
) -> Result<Json<GuardReport>> {
    let tenant = parse_id("tenant", &tenant)?;
    let app = resolve(&api, &ctx, Some(tenant), &app).await?;
    Ok(Json(api.check_guards(&ctx, tenant, app).await?))
}
