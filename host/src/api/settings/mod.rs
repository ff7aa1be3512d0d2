//! The config hub behind REST: the declared settings, their values resolved at a scope, and
//! set / unset / history / rollback at that scope, plus a live stream of changes ([`watch`]).
//!
//! One set of routes per scope, nearest last:
//!
//! - `/v1/config/settings…` — the platform-wide (global) values;
//! - `/v1/tenants/{tenant}/config/settings…` — a workspace's (slug or id);
//! - `/v1/tenants/{tenant}/installations/{id}/config/settings…` — one installation's.
//!
//! The hub decides who may do what (see `nave_config::ConfigApi`): every signed-in caller reads
//! the global values, members read their workspace's, admins and owners write them (except
//! prices and abuse limits, which are the platform admins'), platform admins write anywhere.
//! A write that succeeds is applied to this host's live settings at once, so the next spoke
//! call or message already uses it.

mod scoped;
pub mod watch;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nave_config::{Change, ResolveAt, Resolved, Scope, SettingDefView};
use nave_hub_core::AuthContext;
use serde::{Deserialize, Serialize};

pub use scoped::*;

use super::ApiJson;
use super::auth::Caller;
use crate::App;
use crate::error::{Error, Result};

/// The declared settings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DefinitionList {
    /// By key.
    pub definitions: Vec<SettingDefView>,
}

/// Every declared setting's value at a scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingList {
    /// By key; each says which scope gave its value.
    pub settings: Vec<Resolved>,
}

/// Changes of one setting at one scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    /// Newest first.
    pub changes: Vec<Change>,
}

/// A new value for a setting.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBody {
    /// The value, as the setting's kind takes it (e.g. `1500` for `spoke.deadline_ms`).
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// Refuse with 409 `conflict` unless the setting is still at this version at this scope
    /// (the `version` of its value here; 0: never set here). Without it, the last write wins.
    pub expected_version: Option<u64>,
}

/// Which version to restore.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// A version from the setting's history at this scope; its value is set again, as a new
    /// version.
    pub to_version: u64,
}

/// How much history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// At most this many changes (1-200, default 50).
    limit: Option<u32>,
}

/// A caller and the scope a request acts at, the tenant and installation checked.
struct At {
    ctx: AuthContext,
    scope: Scope,
}

impl At {
    fn resolve_at(&self) -> ResolveAt {
        match self.scope {
            Scope::Global => ResolveAt::global(),
            Scope::Tenant(tenant) => ResolveAt::tenant(tenant),
            Scope::Installation {
                tenant_id,
                installation_id,
            } => ResolveAt::installation(tenant_id, installation_id),
        }
    }
}

fn bad_query(rejection: axum::extract::rejection::QueryRejection) -> Error {
    Error::client(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        rejection.body_text(),
    )
}

async fn list_at(app: &App, at: At) -> Result<Json<SettingList>> {
    let settings = app
        .hubs
        .config
        .resolve_all(&at.ctx, at.resolve_at(), false)
        .await?;
    Ok(Json(SettingList { settings }))
}

async fn get_at(app: &App, at: At, key: &str) -> Result<Json<Resolved>> {
    let resolved = app
        .hubs
        .config
        .resolve(&at.ctx, key, at.resolve_at(), false)
        .await?;
    Ok(Json(resolved))
}

async fn set_at(app: &App, at: At, key: &str, body: SetBody) -> Result<Json<Change>> {
    let change = app
        .hubs
        .config
        .set(&at.ctx, at.scope, key, body.value, body.expected_version)
        .await?;
    app.live.apply(&change);
    Ok(Json(change))
}

async fn unset_at(app: &App, at: At, key: &str) -> Result<Json<Change>> {
    let change = app.hubs.config.unset(&at.ctx, at.scope, key).await?;
    app.live.apply(&change);
    Ok(Json(change))
}

async fn history_at(app: &App, at: At, key: &str, query: HistoryQuery) -> Result<Json<ChangeList>> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let changes = app
        .hubs
        .config
        .history(&at.ctx, at.scope, key, limit)
        .await?;
    Ok(Json(ChangeList { changes }))
}

async fn rollback_at(app: &App, at: At, key: &str, body: RollbackBody) -> Result<Json<Change>> {
    let change = app
        .hubs
        .config
        .rollback(&at.ctx, at.scope, key, body.to_version)
        .await?;
    app.live.apply(&change);
    Ok(Json(change))
}

fn global(caller: Caller) -> At {
    At {
        ctx: caller.0,
        scope: Scope::Global,
    }
}

/// Every declared setting: its kind and range, default, scopes and who may set it.
#[utoipa::path(get, path = "/v1/config/definitions", tag = "config",
    responses(
        (status = 200, body = DefinitionList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn definitions(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<DefinitionList>> {
    let definitions = app.hubs.config.list_definitions(&caller.0).await?;
    Ok(Json(DefinitionList { definitions }))
}

/// Every setting's global value (or its default).
#[utoipa::path(get, path = "/v1/config/settings", tag = "config",
    responses(
        (status = 200, body = SettingList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn list_global(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<SettingList>> {
    list_at(&app, global(caller)).await
}

/// One setting's global value (or its default).
#[utoipa::path(get, path = "/v1/config/settings/{key}", tag = "config",
    params(("key" = String, Path, description = "The setting, e.g. `spoke.deadline_ms`")),
    responses(
        (status = 200, body = Resolved),
        (status = 400, description = "`invalid_argument`: unknown setting (the message lists the known ones)", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn get_global(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Resolved>> {
    get_at(&app, global(caller), &key).await
}

/// Sets a setting's global value, as a new version.
#[utoipa::path(put, path = "/v1/config/settings/{key}", tag = "config", request_body = SetBody,
    params(("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: unknown setting, a value outside its kind or range, or a scope it may not be set at", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: platform admins only", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`conflict`: not at `expected_version` any more", body = nave_hub_core::ErrorBody),
    ))]
pub async fn set_global(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<Json<Change>> {
    set_at(&app, global(caller), &key, body).await
}

/// Removes a setting's global value, so its default applies again.
#[utoipa::path(delete, path = "/v1/config/settings/{key}", tag = "config",
    params(("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: platform admins only", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: it is not set globally", body = nave_hub_core::ErrorBody),
    ))]
pub async fn unset_global(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Change>> {
    unset_at(&app, global(caller), &key).await
}

/// The changes of a setting's global value, newest first.
#[utoipa::path(get, path = "/v1/config/settings/{key}/history", tag = "config",
    params(("key" = String, Path, description = "The setting"), HistoryQuery),
    responses(
        (status = 200, body = ChangeList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn history_global(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
    query: std::result::Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ChangeList>> {
    let Query(query) = query.map_err(bad_query)?;
    history_at(&app, global(caller), &key, query).await
}

/// Restores the global value a setting had right after an earlier version, as a new version.
#[utoipa::path(post, path = "/v1/config/settings/{key}/rollback", tag = "config",
    request_body = RollbackBody, params(("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: that version's value is no longer valid", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: platform admins only", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: not a version of this setting here", body = nave_hub_core::ErrorBody),
    ))]
pub async fn rollback_global(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<Json<Change>> {
    rollback_at(&app, global(caller), &key, body).await
}
