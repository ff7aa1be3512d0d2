//! The tenant and installation scopes of the config routes: the same six operations as the
//! global ones, after the workspace (slug or id) and the installation were checked.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use nave_config::{Change, Resolved, Scope};
use nave_tenant::Permission;
use uuid::Uuid;

use super::{
    At, ChangeList, HistoryQuery, RollbackBody, SetBody, SettingList, bad_query, get_at,
    history_at, list_at, rollback_at, set_at, unset_at,
};
use crate::App;
use crate::api::ApiJson;
use crate::api::auth::Caller;
use crate::error::Result;

/// A workspace's scope; members (and platform admins) get this far, the hub checks the role.
async fn tenant(app: &App, caller: Caller, tenant: &str) -> Result<At> {
    let access = caller
        .in_tenant(app, tenant, Permission::ViewTenant)
        .await?;
    Ok(At {
        ctx: access.ctx,
        scope: Scope::Tenant(access.tenant.id),
    })
}

/// An installation's scope, when the workspace has that installation.
async fn installation(app: &App, caller: Caller, tenant: &str, id: Uuid) -> Result<At> {
    let access = caller
        .in_tenant(app, tenant, Permission::ViewTenant)
        .await?;
    app.registry.tenant_installation(&access.tenant_key(), id)?;
    Ok(At {
        ctx: access.ctx,
        scope: Scope::Installation {
            tenant_id: access.tenant.id,
            installation_id: id,
        },
    })
}

/// Every setting's value for a workspace: its own, else the global one, else the default.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/config/settings", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id")),
    responses(
        (status = 200, body = SettingList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such workspace (or installation)", body = nave_hub_core::ErrorBody),
    ))]
pub async fn list_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant_ref): Path<String>,
) -> Result<Json<SettingList>> {
    let at = tenant(&app, caller, &tenant_ref).await?;
    list_at(&app, at).await
}

/// Every setting's value for an installation: its own, else its workspace's, else the global one, else the default.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations/{id}/config/settings", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation")),
    responses(
        (status = 200, body = SettingList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: no such workspace (or installation)", body = nave_hub_core::ErrorBody),
    ))]
pub async fn list_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id)): Path<(String, Uuid)>,
) -> Result<Json<SettingList>> {
    let at = installation(&app, caller, &tenant_ref, id).await?;
    list_at(&app, at).await
}

/// One setting's value for a workspace.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/config/settings/{key}", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("key" = String, Path, description = "The setting, e.g. `spoke.deadline_ms`")),
    responses(
        (status = 200, body = Resolved),
        (status = 400, description = "`invalid_argument`: unknown setting", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn get_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, key)): Path<(String, String)>,
) -> Result<Json<Resolved>> {
    let at = tenant(&app, caller, &tenant_ref).await?;
    get_at(&app, at, &key).await
}

/// One setting's value for an installation.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation"), ("key" = String, Path, description = "The setting, e.g. `spoke.deadline_ms`")),
    responses(
        (status = 200, body = Resolved),
        (status = 400, description = "`invalid_argument`: unknown setting", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn get_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id, key)): Path<(String, Uuid, String)>,
) -> Result<Json<Resolved>> {
    let at = installation(&app, caller, &tenant_ref, id).await?;
    get_at(&app, at, &key).await
}

/// Sets a setting for a workspace, over the global value, as a new version.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/config/settings/{key}", tag = "config", request_body = SetBody,
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: unknown setting, a value outside its kind or range, or a scope it may not be set at", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners (platform admins only for prices and abuse limits)", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`conflict`: not at `expected_version` any more", body = nave_hub_core::ErrorBody),
    ))]
pub async fn set_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, key)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<Json<Change>> {
    let at = tenant(&app, caller, &tenant_ref).await?;
    set_at(&app, at, &key, body).await
}

/// Sets a setting for one installation, over its workspace's value, as a new version; the next spoke call uses it.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", tag = "config", request_body = SetBody,
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: unknown setting, a value outside its kind or range, or a scope it may not be set at", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`: admins and owners (platform admins only for prices and abuse limits)", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
        (status = 409, description = "`conflict`: not at `expected_version` any more", body = nave_hub_core::ErrorBody),
    ))]
pub async fn set_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id, key)): Path<(String, Uuid, String)>,
    ApiJson(body): ApiJson<SetBody>,
) -> Result<Json<Change>> {
    let at = installation(&app, caller, &tenant_ref, id).await?;
    set_at(&app, at, &key, body).await
}

/// Removes a workspace's value of a setting, so the global one applies again.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/config/settings/{key}", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: not set here", body = nave_hub_core::ErrorBody),
    ))]
pub async fn unset_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, key)): Path<(String, String)>,
) -> Result<Json<Change>> {
    let at = tenant(&app, caller, &tenant_ref).await?;
    unset_at(&app, at, &key).await
}

/// Removes an installation's value of a setting, so its workspace's applies again.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: not set here", body = nave_hub_core::ErrorBody),
    ))]
pub async fn unset_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id, key)): Path<(String, Uuid, String)>,
) -> Result<Json<Change>> {
    let at = installation(&app, caller, &tenant_ref, id).await?;
    unset_at(&app, at, &key).await
}

/// The changes of a workspace's value of a setting, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/config/settings/{key}/history", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("key" = String, Path, description = "The setting"), HistoryQuery),
    responses(
        (status = 200, body = ChangeList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn history_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, key)): Path<(String, String)>,
    query: std::result::Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ChangeList>> {
    let Query(query) = query.map_err(bad_query)?;
    let at = tenant(&app, caller, &tenant_ref).await?;
    history_at(&app, at, &key, query).await
}

/// The changes of an installation's value of a setting, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}/history", tag = "config",
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation"), ("key" = String, Path, description = "The setting"), HistoryQuery),
    responses(
        (status = 200, body = ChangeList),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`", body = nave_hub_core::ErrorBody),
    ))]
pub async fn history_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id, key)): Path<(String, Uuid, String)>,
    query: std::result::Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ChangeList>> {
    let Query(query) = query.map_err(bad_query)?;
    let at = installation(&app, caller, &tenant_ref, id).await?;
    history_at(&app, at, &key, query).await
}

/// Restores a workspace's value of a setting as it was right after an earlier version.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/config/settings/{key}/rollback", tag = "config", request_body = RollbackBody,
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: that version's value is no longer valid", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: not a version of this setting here", body = nave_hub_core::ErrorBody),
    ))]
pub async fn rollback_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, key)): Path<(String, String)>,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<Json<Change>> {
    let at = tenant(&app, caller, &tenant_ref).await?;
    rollback_at(&app, at, &key, body).await
}

/// Restores an installation's value of a setting as it was right after an earlier version.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/installations/{id}/config/settings/{key}/rollback", tag = "config", request_body = RollbackBody,
    params(("tenant" = String, Path, description = "The tenant's slug or id"), ("id" = Uuid, Path, description = "The installation"), ("key" = String, Path, description = "The setting")),
    responses(
        (status = 200, body = Change),
        (status = 400, description = "`invalid_argument`: that version's value is no longer valid", body = nave_hub_core::ErrorBody),
        (status = 401, description = "`unauthenticated`", body = nave_hub_core::ErrorBody),
        (status = 403, description = "`permission_denied`", body = nave_hub_core::ErrorBody),
        (status = 404, description = "`not_found`: not a version of this setting here", body = nave_hub_core::ErrorBody),
    ))]
pub async fn rollback_installation(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant_ref, id, key)): Path<(String, Uuid, String)>,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<Json<Change>> {
    let at = installation(&app, caller, &tenant_ref, id).await?;
    rollback_at(&app, at, &key, body).await
}
