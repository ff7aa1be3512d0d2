//! The user hub's REST routes for the signed-in user, as an axum [`Router`] for the host to nest
//! at its root. The host serves the tenant-scoped contact routes itself, over [`UserApi`].
//!
//! | route | needs | does |
//! |---|---|---|
//! | `GET /v1/me/profile` | user | the caller's profile (created empty on first use) |
//! | `PATCH /v1/me/profile` `{display_name?, avatar_url?, locale?, time_zone?}` | user | changes the given fields (`""` clears one); the profile |
//! | `PATCH /v1/me/preferences` `{key: value, ...}` | user | merges into the preferences (`null` removes a key); the profile |
//!
//! The host's auth middleware authenticates the caller and puts a [`AuthContext`] into the
//! request extensions before these handlers run; without one they answer 401. Profiles belong to
//! users: a caller authenticated with an API key gets 403. Errors are the JSON bodies of
//! `nave_hub_core::http`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::{get, patch};
use axum::{Json, Router};
use nave_hub_core::{AuthContext, Error, Principal, Result};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::api::UserApi;
use crate::types::{Profile, ProfileChange};

/// The OpenAPI description of these routes, for the host to merge into its document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_my_profile, update_my_profile, set_my_preferences),
    components(schemas(Profile, ProfileChange)),
    tags((name = "users", description = "The signed-in user's profile and preferences"))
)]
pub struct UserApiDoc;

/// The routes above over `api`.
pub fn router(api: Arc<dyn UserApi>) -> Router {
    Router::new()
        .route(
            "/v1/me/profile",
            get(get_my_profile).patch(update_my_profile),
        )
        .route("/v1/me/preferences", patch(set_my_preferences))
        .with_state(api)
}

/// The caller, from the [`AuthContext`] the host's auth middleware put into the request
/// extensions, and their user id.
struct Me(AuthContext, Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Me {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let ctx = parts
            .extensions
            .get::<AuthContext>()
            .cloned()
            .ok_or_else(|| Error::unauthenticated("send `Authorization: Bearer <access token>`"))?;
        match ctx.principal {
            Principal::User(id) => Ok(Me(ctx, id)),
            Principal::Anonymous => Err(Error::unauthenticated(
                "send `Authorization: Bearer <access token>`",
            )),
            Principal::ApiKey(_) | Principal::System => Err(Error::permission_denied(
                "profiles belong to users; sign in as the user",
            )),
        }
    }
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/v1/me/profile", tag = "users",
    responses(
        (status = 200, body = Profile),
        (status = 401, description = "`unauthenticated`: not signed in"),
        (status = 403, description = "`permission_denied`: signed in with an API key, not as a user"),
    ))]
async fn get_my_profile(
    State(api): State<Arc<dyn UserApi>>,
    Me(ctx, id): Me,
) -> Result<Json<Profile>> {
    Ok(Json(api.get_profile(&ctx, id).await?))
}

/// Changes the signed-in user's profile; fields left out stay, `""` clears one.
#[utoipa::path(patch, path = "/v1/me/profile", tag = "users", request_body = ProfileChange,
    responses(
        (status = 200, body = Profile),
        (status = 400, description = "`invalid_argument`: `fields` names each bad field and how to fix it"),
        (status = 401, description = "`unauthenticated`: not signed in"),
        (status = 403, description = "`permission_denied`: signed in with an API key, not as a user"),
    ))]
async fn update_my_profile(
    State(api): State<Arc<dyn UserApi>>,
    Me(ctx, id): Me,
    Json(change): Json<ProfileChange>,
) -> Result<Json<Profile>> {
    Ok(Json(api.update_profile(&ctx, id, change).await?))
}

/// Merges into the signed-in user's preferences: `null` removes a key, other values set it.
#[utoipa::path(patch, path = "/v1/me/preferences", tag = "users", request_body = Object,
    responses(
        (status = 200, body = Profile),
        (status = 400, description = "`invalid_argument`: a bad key, more than 64 keys or more than 16 KiB"),
        (status = 401, description = "`unauthenticated`: not signed in"),
        (status = 403, description = "`permission_denied`: signed in with an API key, not as a user"),
    ))]
async fn set_my_preferences(
    State(api): State<Arc<dyn UserApi>>,
    Me(ctx, id): Me,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<Profile>> {
    Ok(Json(api.set_preferences(&ctx, id, patch).await?))
}
